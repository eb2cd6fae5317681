-- The case queue's order as one key (issue 20): open cases past their deadline first (the
-- deadline watcher raises `level` within a sweep of the deadline), then other open cases,
-- then ended ones; within each, higher escalation level first, then priority (1 urgent),
-- then the deadline (or, without one, the report's time). The list reads it in index order
-- and pages by (queue_key, id), so a page costs the same after 100,000 cases as after 1,000.
-- Groups: 0 open and late, 1 open, 2 ended (closed, rated, merged, rejected); 2^60 apart.
ALTER TABLE cases ADD COLUMN queue_key BIGINT GENERATED ALWAYS AS ((CASE WHEN state IN ('closed', 'rated', 'merged', 'rejected') THEN 2 WHEN clock IN ('accept', 'resolve') AND level > 0 THEN 0 ELSE 1 END) * 1152921504606846976 + (9 - level) * 72057594037927936 + priority * 4503599627370496 + COALESCE(due_at, created_at)) VIRTUAL;
CREATE INDEX cases_queue ON cases (queue_key, id, place_path, handler_org_id);

-- Open and late cases per building (or per place, for a case at none), for the case map: one
-- mark per building with its count and whether any is late, read in the size of the map, not
-- of the history. Kept by triggers in the transaction of every change to a case, so no
-- write path can forget it; `late` means open with its deadline passed (the deadline watcher
-- raises `level`), as in the queue's first group.
CREATE TABLE case_spots (
    place_id BIGINT PRIMARY KEY,                  -- the case's building, or its place without one
    street_id BIGINT NOT NULL,
    place_path TEXT NOT NULL,                     -- a case's path under it, for scoped reads by prefix
    open BIGINT NOT NULL DEFAULT 0,
    late BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX case_spots_path ON case_spots (place_path);
INSERT INTO case_spots (place_id, street_id, place_path, open, late)
    SELECT COALESCE(c.building_id, c.place_id), MIN(c.street_id), MIN(c.place_path), COUNT(*), SUM((CASE WHEN c.state NOT IN ('closed', 'rated', 'merged', 'rejected') AND c.clock IN ('accept', 'resolve') AND c.level > 0 THEN 1 ELSE 0 END))
    FROM cases c WHERE c.state NOT IN ('closed', 'rated', 'merged', 'rejected') GROUP BY COALESCE(c.building_id, c.place_id);
CREATE TRIGGER case_spots_insert AFTER INSERT ON cases BEGIN
    INSERT OR IGNORE INTO case_spots (place_id, street_id, place_path)
        VALUES (COALESCE(NEW.building_id, NEW.place_id), NEW.street_id, NEW.place_path);
    UPDATE case_spots SET open = open + (CASE WHEN NEW.state NOT IN ('closed', 'rated', 'merged', 'rejected') THEN 1 ELSE 0 END), late = late + (CASE WHEN NEW.state NOT IN ('closed', 'rated', 'merged', 'rejected') AND NEW.clock IN ('accept', 'resolve') AND NEW.level > 0 THEN 1 ELSE 0 END)
        WHERE place_id = COALESCE(NEW.building_id, NEW.place_id);
END;
CREATE TRIGGER case_spots_update AFTER UPDATE OF state, clock, level, building_id, place_id ON cases BEGIN
    UPDATE case_spots SET open = open - (CASE WHEN OLD.state NOT IN ('closed', 'rated', 'merged', 'rejected') THEN 1 ELSE 0 END), late = late - (CASE WHEN OLD.state NOT IN ('closed', 'rated', 'merged', 'rejected') AND OLD.clock IN ('accept', 'resolve') AND OLD.level > 0 THEN 1 ELSE 0 END)
        WHERE place_id = COALESCE(OLD.building_id, OLD.place_id);
    INSERT OR IGNORE INTO case_spots (place_id, street_id, place_path)
        VALUES (COALESCE(NEW.building_id, NEW.place_id), NEW.street_id, NEW.place_path);
    UPDATE case_spots SET open = open + (CASE WHEN NEW.state NOT IN ('closed', 'rated', 'merged', 'rejected') THEN 1 ELSE 0 END), late = late + (CASE WHEN NEW.state NOT IN ('closed', 'rated', 'merged', 'rejected') AND NEW.clock IN ('accept', 'resolve') AND NEW.level > 0 THEN 1 ELSE 0 END)
        WHERE place_id = COALESCE(NEW.building_id, NEW.place_id);
END;
CREATE TRIGGER case_spots_delete AFTER DELETE ON cases BEGIN
    UPDATE case_spots SET open = open - (CASE WHEN OLD.state NOT IN ('closed', 'rated', 'merged', 'rejected') THEN 1 ELSE 0 END), late = late - (CASE WHEN OLD.state NOT IN ('closed', 'rated', 'merged', 'rejected') AND OLD.clock IN ('accept', 'resolve') AND OLD.level > 0 THEN 1 ELSE 0 END)
        WHERE place_id = COALESCE(OLD.building_id, OLD.place_id);
END;
