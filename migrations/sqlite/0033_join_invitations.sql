-- Invitation codes, one per household: shown once when issued, kept only as a keyed hash,
-- single use, and expiring. Issuing a new code for a household withdraws its unused ones.
CREATE TABLE join_invitations (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    household_id BIGINT NOT NULL,
    unit_id BIGINT NOT NULL,
    place_path TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    issued_by BIGINT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    used_by BIGINT,
    withdrawn_at BIGINT
);
CREATE UNIQUE INDEX join_invitations_code ON join_invitations (code_hash);
CREATE INDEX join_invitations_household ON join_invitations (household_id);
