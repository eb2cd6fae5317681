-- The audit anomaly scan's own state (src/audit/anomaly.rs). Each run reads only the entries
-- appended since the last one (its watermark is `audit_scan_upto` in meta) and folds them in
-- here, so its cost follows the new entries instead of the log's history.

-- Which people and households each account looked at, and when last: an account's rows with
-- `last_at` within the hour are the distinct records the volume rule counts. Rows are kept
-- for two hours. The index covers the volume rule's count and street, so it reads no table rows.
CREATE TABLE audit_actor_subjects (
    actor_id BIGINT NOT NULL,
    subject TEXT NOT NULL,                        -- person:ID or household:ID
    last_at BIGINT NOT NULL,
    street_id BIGINT,
    PRIMARY KEY (actor_id, subject)
) WITHOUT ROWID;
CREATE INDEX audit_actor_subjects_recent ON audit_actor_subjects (actor_id, last_at, street_id);

-- Accounts that touched personal data lately, and when last: the rules look at these only.
CREATE TABLE audit_actors_active (
    actor_id BIGINT PRIMARY KEY,
    last_at BIGINT NOT NULL
);

-- Denied accesses are few among millions of entries: an index of their own lets the denied
-- rule read the last hour's instead of walking the log.
CREATE INDEX audit_entries_denied ON audit_entries (at) WHERE action = 'denied';
