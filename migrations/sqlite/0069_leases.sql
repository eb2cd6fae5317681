-- Several linli processes may share one PostgreSQL database (issue 29). A periodic job, or a
-- long-running task that must run in one process only, runs under a lease: one row per job
-- naming the process that holds it until `expires_at` (unix ms), renewed every few seconds
-- while it runs. A process that dies stops renewing, and another takes the lease over once it
-- has expired; each takeover increments `token` (the fencing token), so a holder that was
-- paused past its lease finds on its next renewal that it lost it, and stops.
CREATE TABLE job_leases (
    job TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    token BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Failed sign-ins from one client address (an IPv6 /64) on one account name, in the database
-- rather than in one process's memory, so that an address refused by one process is refused
-- by all (`org::login`). Keyed by what was typed, before any account or street is known.
CREATE TABLE login_attempts (
    client TEXT NOT NULL,
    name TEXT NOT NULL,
    count BIGINT NOT NULL,
    since BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (client, name)
);
CREATE INDEX login_attempts_since ON login_attempts (since);
