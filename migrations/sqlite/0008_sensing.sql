-- linli schema 8: sensing and alerts. Devices with profiles and provisioning tokens, the
-- latest state and raw readings (unique on device, key and time so retries are harmless),
-- hourly aggregates kept longer than raw readings, rules, their timers (absence and offline
-- rules fire from here, so a restart neither loses nor repeats them) and alerts.

CREATE TABLE device_profiles (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    code TEXT NOT NULL,                           -- door_magnet, water_meter, smoke, elevator ...
    name TEXT NOT NULL,
    device_type TEXT NOT NULL,
    telemetry TEXT NOT NULL,                      -- JSON [{"key": "door", "unit": ""}]
    report_interval_s BIGINT NOT NULL,            -- expected reporting interval; offline after it
    created_at BIGINT NOT NULL,
    UNIQUE (street_id, code)
);

CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    profile_id BIGINT NOT NULL REFERENCES device_profiles(id),
    serial TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    place_id BIGINT NOT NULL REFERENCES places(id), -- a unit, building or grid
    place_path TEXT NOT NULL,
    person_id BIGINT REFERENCES persons(id),
    household_id BIGINT REFERENCES households(id),
    token_hash TEXT NOT NULL UNIQUE,              -- SHA-256 of the provisioning token, for look-up
    token_enc BLOB NOT NULL,                      -- the token under the field key, shown to administrators
    active BIGINT NOT NULL DEFAULT 1,
    last_seen_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX devices_path ON devices (place_path);
CREATE INDEX devices_profile ON devices (profile_id);
CREATE INDEX devices_person ON devices (person_id);
CREATE INDEX devices_place ON devices (place_id);

CREATE TABLE device_state (
    device_id BIGINT NOT NULL REFERENCES devices(id),
    key TEXT NOT NULL,
    street_id BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    num REAL,
    txt TEXT,
    PRIMARY KEY (device_id, key)
);

CREATE TABLE readings (
    device_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    ts BIGINT NOT NULL,
    street_id BIGINT NOT NULL,
    num REAL,
    txt TEXT,
    PRIMARY KEY (device_id, key, ts)
) WITHOUT ROWID;
CREATE INDEX readings_ts ON readings (ts);

CREATE TABLE readings_hourly (
    device_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    hour BIGINT NOT NULL,                         -- unix ms at the start of the hour
    street_id BIGINT NOT NULL,
    n BIGINT NOT NULL,
    sum REAL NOT NULL,
    min REAL NOT NULL,
    max REAL NOT NULL,
    PRIMARY KEY (device_id, key, hour)
) WITHOUT ROWID;

CREATE TABLE rules (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,                           -- threshold, event, absence, offline
    severity TEXT NOT NULL,                       -- critical, major, minor, warning
    profile_id BIGINT REFERENCES device_profiles(id),
    device_id BIGINT REFERENCES devices(id),
    tag TEXT,                                     -- devices of people holding this tag
    params TEXT NOT NULL,                         -- JSON, per kind
    category TEXT NOT NULL,                       -- the case category an alert opens
    ack_minutes BIGINT NOT NULL,                  -- escalate when unacknowledged this long
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

-- Per-person parameters for a rule (a heart-rate range for one person).
CREATE TABLE rule_overrides (
    rule_id BIGINT NOT NULL REFERENCES rules(id),
    person_id BIGINT NOT NULL REFERENCES persons(id),
    street_id BIGINT NOT NULL,
    params TEXT NOT NULL,
    PRIMARY KEY (rule_id, person_id)
);

-- Threshold rules: since when, and how many readings in a row, a device breaks the rule.
CREATE TABLE rule_state (
    rule_id BIGINT NOT NULL,
    device_id BIGINT NOT NULL,
    street_id BIGINT NOT NULL,
    since BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (rule_id, device_id)
);

-- Absence and offline rules: when each (rule, device) is next due.
CREATE TABLE rule_timers (
    rule_id BIGINT NOT NULL,
    device_id BIGINT NOT NULL,
    street_id BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    armed_at BIGINT NOT NULL,
    PRIMARY KEY (rule_id, device_id)
);
CREATE INDEX rule_timers_due ON rule_timers (due_at);

CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    rule_id BIGINT NOT NULL REFERENCES rules(id),
    device_id BIGINT NOT NULL REFERENCES devices(id),
    person_id BIGINT REFERENCES persons(id),
    place_id BIGINT NOT NULL REFERENCES places(id),
    place_path TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    category TEXT NOT NULL,
    state TEXT NOT NULL,                          -- active_unack, active_ack, cleared_unack, cleared_ack
    active BIGINT NOT NULL,                       -- 1 while active_*: at most one per rule and device
    message TEXT NOT NULL,
    details TEXT NOT NULL,                        -- JSON: the reading or the silence that raised it
    hits BIGINT NOT NULL DEFAULT 1,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    acked_at BIGINT,
    acked_by BIGINT REFERENCES users(id),
    cleared_at BIGINT,
    cleared_by BIGINT REFERENCES users(id),
    escalate_at BIGINT,                           -- next escalation while unacknowledged
    level BIGINT NOT NULL DEFAULT 0,              -- 0 at the device's grid, +1 per escalation
    case_state TEXT NOT NULL DEFAULT 'none',      -- none, requested (case asked for), opened
    case_id BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX alerts_one_active ON alerts (rule_id, device_id) WHERE active = 1;
CREATE INDEX alerts_path ON alerts (place_path, id);
CREATE INDEX alerts_escalate ON alerts (escalate_at) WHERE escalate_at IS NOT NULL;

CREATE TABLE alert_events (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    alert_id BIGINT NOT NULL REFERENCES alerts(id),
    at BIGINT NOT NULL,
    action TEXT NOT NULL,                         -- raised, repeated, acknowledged, cleared, escalated, case_requested
    actor_id BIGINT REFERENCES users(id),
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_events_alert ON alert_events (alert_id);
