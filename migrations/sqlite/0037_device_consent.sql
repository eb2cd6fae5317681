-- linli schema 37: device profiles carry their default rules, and a device bound to a person
-- carries her consent (issue 21, part 6): who recorded it, when, how (a paper form scanned or
-- in person), for what purpose, and when it was withdrawn. At most one consent of a device is
-- current (not withdrawn); withdrawing it unbinds the person and leaves the device on its unit.

ALTER TABLE device_profiles ADD COLUMN default_rules TEXT NOT NULL DEFAULT '[]'; -- JSON rule templates

CREATE TABLE device_consents (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    device_id BIGINT NOT NULL REFERENCES devices(id),
    person_id BIGINT NOT NULL,                    -- the person who consented (no FK: retention may erase her)
    how TEXT NOT NULL CHECK (how IN ('paper_form', 'in_person')),
    purpose TEXT NOT NULL,
    recorded_by BIGINT REFERENCES users(id),      -- NULL only for the demo's own data
    recorded_at BIGINT NOT NULL,
    scan_ref TEXT,                                -- the scanned form's file reference
    withdrawn_at BIGINT,
    withdrawn_by BIGINT REFERENCES users(id)
);
CREATE INDEX device_consents_device ON device_consents (device_id);
CREATE INDEX device_consents_person ON device_consents (person_id);
CREATE UNIQUE INDEX device_consents_current ON device_consents (device_id) WHERE withdrawn_at IS NULL;
