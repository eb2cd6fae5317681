-- Who created an account and who granted each of its roles: an unmasked or large export must be
-- approved by someone who did not create or empower the requester's account in the last 30 days
-- (one administrator alone must not be able to make an account, request with it and approve).
ALTER TABLE users ADD COLUMN created_by BIGINT REFERENCES users(id);
ALTER TABLE user_roles ADD COLUMN granted_by BIGINT REFERENCES users(id);
