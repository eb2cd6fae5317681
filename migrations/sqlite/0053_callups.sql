-- Call-ups (召集, issue 23 part 5): a volunteer's profile (her skills from a fixed list, the
-- buildings she can cover, a phone to be called on, encrypted and masked); a call to the
-- volunteers of a community, a grid or a building with given skills; its recipients frozen
-- when it is sent, each with her answer (coming, not available) until the call closes.

CREATE TABLE callup_profiles (
    user_id BIGINT PRIMARY KEY REFERENCES users(id),
    street_id BIGINT NOT NULL REFERENCES places(id),
    -- skill codes, comma-separated and enclosed: ',medical,driving,'
    skills TEXT NOT NULL DEFAULT '',
    phone_enc BLOB,
    phone_masked TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);

-- The buildings a volunteer can cover (none: anywhere her role's place reaches).
CREATE TABLE callup_cover (
    user_id BIGINT NOT NULL REFERENCES users(id),
    street_id BIGINT NOT NULL,
    building_id BIGINT NOT NULL REFERENCES places(id),
    building_path TEXT NOT NULL,
    PRIMARY KEY (user_id, building_id)
);

CREATE TABLE callups (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    title TEXT NOT NULL,
    needs TEXT NOT NULL,
    -- when: Unix ms
    starts_at BIGINT NOT NULL,
    -- where: a place of the organiser's scope, and a note (东门集合)
    place_id BIGINT NOT NULL REFERENCES places(id),
    where_note TEXT NOT NULL DEFAULT '',
    -- whom: the volunteers of a community, a grid or a building
    audience_id BIGINT NOT NULL REFERENCES places(id),
    audience_path TEXT NOT NULL,
    -- skill codes wanted (any of), enclosed in commas; empty for all
    skills TEXT NOT NULL DEFAULT '',
    wanted BIGINT NOT NULL,
    -- normal, urgent
    urgency TEXT NOT NULL,
    -- open, filled, cancelled
    state TEXT NOT NULL,
    close_reason TEXT NOT NULL DEFAULT '',
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_by_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    closed_at BIGINT
);
CREATE INDEX callups_street ON callups (street_id, audience_path);

-- Who a call was sent to, frozen when sent, and her answer: '' (none yet), coming,
-- not_available.
CREATE TABLE callup_recipients (
    callup_id BIGINT NOT NULL REFERENCES callups(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    street_id BIGINT NOT NULL,
    answer TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    answered_at BIGINT,
    PRIMARY KEY (callup_id, user_id)
);
CREATE INDEX callup_recipients_user ON callup_recipients (user_id, callup_id);
