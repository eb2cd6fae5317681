-- Residents join (issue 21, part 5): a resident links an account to her registry record by
-- herself, by her name, the last six characters of her ID number and her unit, or by a
-- household's invitation code.
--
-- The blind index of (name, last six of the ID number): a keyed HMAC (store::keys), one row
-- per person, so that a match needs no clear ID number and none is stored. Filled at start for
-- persons without one and on every create or update of a person (registry's hook).
CREATE TABLE join_index (
    person_id BIGINT PRIMARY KEY,
    street_id BIGINT NOT NULL,
    bidx TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX join_index_bidx ON join_index (street_id, bidx);

-- Failed self-registrations, per client address and per unit, kept so that a restart does
-- not reset them: `kind` is 'addr' or 'unit', `target` the address (IPv6 /64) or the unit's id.
CREATE TABLE join_attempts (
    street_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (street_id, kind, target)
);
