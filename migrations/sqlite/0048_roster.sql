-- linli schema 48: the emergency roster's helpers (应急名册, issue 23 part 3).
--
-- Who is on the roster is not stored: it is read live from the registry's tags (独居老人,
-- 残疾人, 卧床, 透析, 居家吸氧), so it follows every tag change. What the roster keeps is who
-- helps each of them: family, neighbours, volunteers, with a phone encrypted at rest.
CREATE TABLE roster_helpers (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    person_id BIGINT NOT NULL,                    -- the person helped
    name TEXT NOT NULL,
    relation TEXT NOT NULL,                       -- family, neighbour, volunteer, other
    phone_enc BLOB NOT NULL,
    phone_masked TEXT NOT NULL,
    reach TEXT NOT NULL DEFAULT '',               -- how to reach them: "601室, has a key"
    created_by BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX roster_helpers_person ON roster_helpers (person_id);
CREATE INDEX roster_helpers_street ON roster_helpers (street_id);
