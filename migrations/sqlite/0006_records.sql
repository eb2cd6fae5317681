-- linli schema 6: the rest of the registry's records — owners of housing units with their
-- shares, rental registrations (出租房备案) and their tenants, vehicles, the tags an
-- administrator defines, a version of every change to these records, and exports of a
-- search result (the search's filter kept with the request).

-- Imports and searches find units by their address.
CREATE INDEX places_address ON places (address);

-- Search by any part of a name: every character and pair of characters of each name, with
-- the person's place path, in the order results are shown (see registry/grams.rs).
CREATE TABLE person_grams (
    gram TEXT NOT NULL,
    place_path TEXT NOT NULL,
    person_id BIGINT NOT NULL,
    PRIMARY KEY (gram, place_path, person_id)
) WITHOUT ROWID;
CREATE INDEX person_grams_person ON person_grams (person_id);

CREATE TABLE unit_owners (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    unit_id BIGINT NOT NULL REFERENCES places(id),
    place_path TEXT NOT NULL,                     -- the unit's path, for scoped reads by prefix
    person_id BIGINT NOT NULL REFERENCES persons(id),
    share_pct REAL NOT NULL,                      -- 0 < share <= 100; a unit's shares add up to at most 100
    since TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (unit_id, person_id)
);
CREATE INDEX unit_owners_person ON unit_owners (person_id);
CREATE INDEX unit_owners_path ON unit_owners (place_path);

CREATE TABLE rentals (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    unit_id BIGINT NOT NULL REFERENCES places(id),
    place_path TEXT NOT NULL,
    reg_no TEXT NOT NULL,                         -- 备案编号
    landlord_id BIGINT NOT NULL REFERENCES persons(id),
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    state TEXT NOT NULL,                          -- active, ended, cancelled
    notes TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (street_id, reg_no)
);
CREATE INDEX rentals_path ON rentals (place_path, state);
CREATE INDEX rentals_unit ON rentals (unit_id);

CREATE TABLE rental_tenants (
    street_id BIGINT NOT NULL REFERENCES places(id),
    rental_id BIGINT NOT NULL REFERENCES rentals(id),
    person_id BIGINT NOT NULL REFERENCES persons(id),
    PRIMARY KEY (rental_id, person_id)
);
CREATE INDEX rental_tenants_person ON rental_tenants (person_id);

CREATE TABLE vehicles (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    plate TEXT NOT NULL,                          -- normalised: 沪A12345, 沪AD12345
    new_energy BIGINT NOT NULL,
    owner_id BIGINT NOT NULL REFERENCES persons(id),
    place_path TEXT NOT NULL,                     -- the owner's place, for scoped reads
    parking TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (street_id, plate)
);
CREATE INDEX vehicles_path ON vehicles (place_path);
CREATE INDEX vehicles_owner ON vehicles (owner_id);

CREATE TABLE tag_defs (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    code TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    created_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    UNIQUE (street_id, code),
    UNIQUE (street_id, name_zh)
);

CREATE TABLE record_versions (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    entity TEXT NOT NULL,                         -- unit, household, rental, vehicle, owner
    entity_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor_id BIGINT REFERENCES users(id),
    source TEXT NOT NULL,                         -- form, import, api
    changes TEXT NOT NULL                         -- JSON: {"field": [old, new]}
);
CREATE INDEX record_versions_entity ON record_versions (entity, entity_id, at);

ALTER TABLE export_requests ADD COLUMN filter TEXT;  -- JSON of the search's filters; NULL: everyone under the place
