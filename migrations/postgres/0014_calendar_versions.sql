-- Working calendars are cached by version (meta `calendar:STREET`, changed with every edit of
-- the street's calendar); streets that already have a calendar get a first version.
INSERT INTO meta (key, value)
    SELECT 'calendar:' || street_id, 'cal_' || md5(random()::text || clock_timestamp()::text || street_id::text)
    FROM (SELECT DISTINCT street_id FROM calendar_days) d
    ON CONFLICT (key) DO NOTHING;
