-- linli schema 28: a real street set up by its own office (issue 21). Places are created,
-- renamed, moved and retired by pages, the API and imports; each change keeps a version.
-- Accounts get one-time links (activation, a new password) instead of passwords set by others.

ALTER TABLE places ADD COLUMN retired_at BIGINT;

CREATE TABLE place_versions (
    id INTEGER PRIMARY KEY,
    street_id BIGINT,
    place_id BIGINT NOT NULL REFERENCES places(id),
    at BIGINT NOT NULL,
    actor_id BIGINT REFERENCES users(id),
    source TEXT NOT NULL,                         -- form, api, import, init
    changes TEXT NOT NULL                         -- JSON: {"field": [old, new]}
);
CREATE INDEX place_versions_place ON place_versions (place_id, at);

CREATE TABLE account_links (
    id INTEGER PRIMARY KEY,
    street_id BIGINT REFERENCES places(id),
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,                        -- activate, reset
    token_hash TEXT NOT NULL UNIQUE,              -- SHA-256 of the token; the token is shown once
    created_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX account_links_user ON account_links (user_id);
