-- linli schema 2: the tamper-evident audit log (RFC 9162 Merkle tree) and its signed heads.
-- Entries hold no personal data: actors by account, subjects by pseudonymous id.

CREATE TABLE audit_entries (
    seq INTEGER PRIMARY KEY,                      -- the leaf index, from 0 (the rowid: no extra index)
    street_id BIGINT,
    at BIGINT NOT NULL,
    actor_id BIGINT,
    action TEXT NOT NULL,
    body TEXT NOT NULL,                           -- canonical JSON: the bytes the leaf hashes
    leaf_hash BLOB NOT NULL
);
CREATE INDEX audit_entries_actor ON audit_entries (actor_id, at);

-- Which entries concern which person or household, for "who looked at my data".
CREATE TABLE audit_subjects (
    subject TEXT NOT NULL,                        -- person:ID, household:ID, user:ID
    seq BIGINT NOT NULL,
    PRIMARY KEY (subject, seq)
) WITHOUT ROWID;

-- Hashes of complete subtrees (level >= 1), so proofs need no full recomputation.
CREATE TABLE audit_nodes (
    level BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- Signed tree heads.
CREATE TABLE audit_heads (
    size BIGINT PRIMARY KEY,
    root BLOB NOT NULL,
    at BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    signature BLOB NOT NULL
);
