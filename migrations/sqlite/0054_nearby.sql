-- Residents see and follow what happens nearby (issue 24 part 3).
--
-- Cases' part: "me too" supports counted on a case (one per account, never the reporter's
-- own), and a photo's consent to be shown on the public page (given by its uploader) and its
-- approval by a worker (faces and plates not shown unless approved).
CREATE TABLE case_supports (
    street_id BIGINT NOT NULL REFERENCES places(id),
    case_id BIGINT NOT NULL REFERENCES cases(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_supports_user ON case_supports (user_id);
ALTER TABLE case_photos ADD COLUMN public_ok BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_photos ADD COLUMN approved_by BIGINT REFERENCES users(id);
ALTER TABLE case_photos ADD COLUMN approved_at BIGINT;

-- Nearby's part: what a resident follows (a report, or an area and a category), told of by
-- reach on the channels she chose; each follow has its own nonce, and the unfollow link in
-- every message is signed over it with the street's secret (a fresh nonce on following again
-- voids the old links).
CREATE TABLE nearby_follows (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    -- case: a report; area: a community or grid (and a category, '' for any)
    kind TEXT NOT NULL,
    case_id BIGINT REFERENCES cases(id),
    area_id BIGINT REFERENCES places(id),
    area_path TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    -- 1: followed without asking (her own report)
    auto BIGINT NOT NULL DEFAULT 0,
    active BIGINT NOT NULL DEFAULT 1,
    nonce TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE UNIQUE INDEX nearby_follows_case ON nearby_follows (case_id, user_id) WHERE kind = 'case';
CREATE UNIQUE INDEX nearby_follows_area ON nearby_follows (user_id, area_id, category) WHERE kind = 'area';
CREATE INDEX nearby_follows_paths ON nearby_follows (street_id, kind, active);
CREATE INDEX nearby_follows_user ON nearby_follows (user_id, active);

-- The secret a street's unfollow links are signed with (HMAC-SHA256), made on first use.
CREATE TABLE nearby_secrets (
    street_id BIGINT PRIMARY KEY REFERENCES places(id),
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
