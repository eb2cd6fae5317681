-- A second factor for workers who can reveal personal data (issue 21 part 4): TOTP (RFC 6238)
-- with recovery codes, required once the street turns it on. The secret is kept under the
-- field key; a recovery code only as its hash.
ALTER TABLE users ADD COLUMN totp_secret BLOB;
ALTER TABLE users ADD COLUMN totp_at BIGINT;          -- when enrolment was confirmed; NULL: not enrolled
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;   -- the last time step accepted (no code is used twice)

CREATE TABLE totp_recovery (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- A street's own settings, one row per street.
CREATE TABLE street_settings (
    street_id BIGINT PRIMARY KEY REFERENCES places(id),
    require_totp BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
