-- Issue 18, finding 15: lists index one row per viewer, person and day (src/audit/lists.rs).
-- audit_list_seen marks who a viewer's lists already named today; the index rows of lists
-- appended from here on follow the rule, those before it keep every name.
CREATE TABLE audit_list_seen (
    day BIGINT NOT NULL,                          -- UTC day of the entry's time
    actor_id BIGINT NOT NULL,                     -- -1: no account
    subject TEXT NOT NULL,
    seq BIGINT NOT NULL,                          -- the list entry that indexed it
    PRIMARY KEY (day, actor_id, subject)
) WITHOUT ROWID;
INSERT INTO meta (key, value)
    SELECT 'audit_list_thin_from', CAST(COALESCE(MAX(seq) + 1, 0) AS TEXT) FROM audit_entries;
