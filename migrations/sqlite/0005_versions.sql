-- linli schema 5: every change to a person keeps a version: who changed what, when, from
-- which source (form, import, api).

CREATE TABLE person_versions (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    at BIGINT NOT NULL,
    actor_id BIGINT REFERENCES users(id),
    source TEXT NOT NULL,
    changes TEXT NOT NULL                         -- JSON: {"field": [old, new]}; ID numbers and phones masked
);
CREATE INDEX person_versions_person ON person_versions (person_id, at);
