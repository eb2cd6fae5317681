-- Self-service renewal of a second factor (issue 21 part 4): the new secret waits here, under
-- the field key, until a code from the new authenticator confirms it; the old one keeps working
-- until then, so a half-done renewal never leaves the account without a second factor.
ALTER TABLE users ADD COLUMN totp_next BLOB;
