-- Each running linli process announces itself (a random id, refreshed every 30 seconds), so
-- that work a process started is judged by whether that process still runs rather than by
-- another's restart: several processes may share one PostgreSQL database. An import left
-- running by a process that stopped announcing itself is marked interrupted.
CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    seen_at BIGINT NOT NULL
);
ALTER TABLE import_jobs ADD COLUMN instance TEXT NOT NULL DEFAULT '';
