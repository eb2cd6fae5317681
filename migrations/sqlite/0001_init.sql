-- linli schema 1: the hierarchy, organisations, accounts, households and persons.
-- Every tenant-owned table carries street_id (the 街道 that owns the row), so a district can
-- later be distributed by street. Times are unix milliseconds; booleans are 0/1.

CREATE TABLE places (
    id INTEGER PRIMARY KEY,
    street_id BIGINT REFERENCES places(id),      -- NULL only on rows above street level
    parent_id BIGINT REFERENCES places(id),
    kind TEXT NOT NULL,                           -- district, street, community, grid, building, unit
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,                           -- materialised path of codes: 310115/310115004/c01
    depth BIGINT NOT NULL,
    geojson TEXT,
    address TEXT,
    estate TEXT,
    floors BIGINT,
    stairwells BIGINT,
    floor_no BIGINT,
    stairwell_no BIGINT,
    area_m2 REAL,
    unit_use TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX places_path ON places (path);
CREATE INDEX places_parent ON places (parent_id);
CREATE INDEX places_street_kind ON places (street_id, kind);

CREATE TABLE organisations (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    kind TEXT NOT NULL,                           -- department, property, social
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (street_id, code)
);

CREATE TABLE org_places (
    street_id BIGINT NOT NULL REFERENCES places(id),
    org_id BIGINT NOT NULL REFERENCES organisations(id),
    place_id BIGINT NOT NULL REFERENCES places(id),
    PRIMARY KEY (org_id, place_id)
);

CREATE TABLE households (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    unit_id BIGINT NOT NULL REFERENCES places(id),
    place_path TEXT NOT NULL,                     -- the unit's path, for scoped reads by prefix
    head_person_id BIGINT,
    registered BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX households_path ON households (place_path);
CREATE INDEX households_unit ON households (unit_id);

CREATE TABLE persons (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    household_id BIGINT REFERENCES households(id),
    unit_id BIGINT REFERENCES places(id),
    place_path TEXT NOT NULL,
    name TEXT NOT NULL,
    sex TEXT NOT NULL,                            -- M, F
    birth_date TEXT NOT NULL,                     -- YYYY-MM-DD, derived from the ID number
    id_number_enc BLOB,                           -- AEAD ciphertext (nonce || ct)
    id_number_bidx TEXT,                          -- keyed hash for exact look-up
    id_number_masked TEXT,
    phone_enc BLOB,
    phone_bidx TEXT,
    phone_masked TEXT,
    relation TEXT NOT NULL DEFAULT 'head',
    hukou_registered BIGINT NOT NULL DEFAULT 1,
    residence TEXT NOT NULL DEFAULT 'permanent',
    presence TEXT NOT NULL DEFAULT 'both',
    notes TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- (place_path, residence) covers the resident counts of the hierarchy browser.
CREATE INDEX persons_path ON persons (place_path, residence);
CREATE INDEX persons_household ON persons (household_id);
CREATE INDEX persons_unit ON persons (unit_id);
CREATE INDEX persons_id_bidx ON persons (id_number_bidx);
CREATE INDEX persons_phone_bidx ON persons (phone_bidx);
CREATE UNIQUE INDEX persons_street_id_number ON persons (street_id, id_number_bidx);

CREATE TABLE person_tags (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    person_id BIGINT NOT NULL REFERENCES persons(id),
    tag TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX person_tags_person ON person_tags (person_id);
CREATE INDEX person_tags_tag ON person_tags (street_id, tag);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    street_id BIGINT REFERENCES places(id),       -- home street; NULL for district-level users
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    person_id BIGINT REFERENCES persons(id),      -- residents: their own registry record
    lang TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE user_roles (
    id INTEGER PRIMARY KEY,
    street_id BIGINT REFERENCES places(id),
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    place_id BIGINT REFERENCES places(id),
    org_id BIGINT REFERENCES organisations(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX user_roles_user ON user_roles (user_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,                  -- SHA-256 of the cookie value; the value itself is never stored
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
