-- linli schema 4: graded approval (分级审批) of bulk or unmasked exports of personal data.

CREATE TABLE export_requests (
    id INTEGER PRIMARY KEY,
    street_id BIGINT,
    requester_id BIGINT NOT NULL REFERENCES users(id),
    place_id BIGINT NOT NULL REFERENCES places(id),
    place_path TEXT NOT NULL,
    requester_scope TEXT NOT NULL,                -- the requester's place: approval comes from above it
    unmasked BIGINT NOT NULL,
    reason TEXT NOT NULL,
    records BIGINT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',        -- pending, approved, rejected
    decided_by BIGINT REFERENCES users(id),
    decided_at BIGINT,
    comment TEXT,
    expires_at BIGINT,                            -- an approved export downloads until then
    created_at BIGINT NOT NULL
);
CREATE INDEX export_requests_path ON export_requests (place_path, state);
