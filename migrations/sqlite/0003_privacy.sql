-- linli schema 3: notices to administrators (anomalies in the audit log), residents' requests
-- to correct their record (PIPL art. 46), and the bookkeeping of background jobs.

CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    street_id BIGINT,
    kind TEXT NOT NULL,                           -- anomaly_volume, anomaly_after_hours, anomaly_denied
    dedup_key TEXT NOT NULL UNIQUE,               -- one notice per rule, actor and window
    actor_id BIGINT,
    actor TEXT NOT NULL,
    evidence TEXT NOT NULL,                       -- JSON: counts and the audit entries concerned
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notices_street ON notices (street_id, created_at);

CREATE TABLE correction_requests (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    place_path TEXT NOT NULL,
    field TEXT NOT NULL,
    message TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',           -- open, done, rejected
    reply TEXT,
    handled_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    handled_at BIGINT
);
CREATE INDEX correction_requests_path ON correction_requests (place_path, state);

CREATE TABLE job_runs (
    job TEXT PRIMARY KEY,
    last_run_at BIGINT NOT NULL
);
