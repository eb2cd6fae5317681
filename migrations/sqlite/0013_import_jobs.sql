-- Imports started from the page, so their outcome outlives the process: a job running when
-- the server stopped is marked interrupted at the next start (imports are all or nothing, so
-- nothing of it was written), and a finished one still shows what it did. Only counts are
-- kept: the row-by-row report and the refused rows hold personal data from a file that a
-- dry run promised not to store, and stay in memory.
CREATE TABLE import_jobs (
    id TEXT PRIMARY KEY,
    street_id BIGINT,
    owner_id BIGINT NOT NULL,
    scope TEXT NOT NULL,
    apply BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    state TEXT NOT NULL,
    total_rows BIGINT NOT NULL,
    n_create BIGINT NOT NULL DEFAULT 0,
    n_update BIGINT NOT NULL DEFAULT 0,
    n_unchanged BIGINT NOT NULL DEFAULT 0,
    n_refused BIGINT NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX import_jobs_state ON import_jobs (state);
