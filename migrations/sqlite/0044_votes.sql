-- Owners' votes under Civil Code art. 278 (业主表决, issue 22 part 4): a vote on one of the
-- nine matters of the article in a stairwell, a building or an estate; its electorate frozen
-- when it opens (electors with their exclusive area in square centimetres, and the persons who
-- own for each); who took part, by which channel (one row per elector, whatever the channel);
-- and the tally by choice, kept apart from who took part so that a secret ballot cannot be
-- linked back (no elector, no time, no row per ballot).

CREATE TABLE votes (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    title TEXT NOT NULL,
    matter TEXT NOT NULL,                         -- item1 … item9 (art. 278's items)
    scope_kind TEXT NOT NULL,                     -- stairwell, building, estate
    building_id BIGINT REFERENCES places(id),     -- the building (stairwell, building)
    stairwell_no BIGINT,
    estate TEXT,
    place_path TEXT NOT NULL,                     -- the place every unit of the scope lies under
    scope_label TEXT NOT NULL,
    secret BIGINT NOT NULL,
    opens_at BIGINT NOT NULL,
    closes_at BIGINT NOT NULL,
    frozen_at BIGINT,                             -- when the electorate was taken
    template TEXT,
    created_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    CHECK (closes_at > opens_at)
);
CREATE INDEX votes_path ON votes (place_path);
CREATE INDEX votes_open ON votes (frozen_at, opens_at);

CREATE TABLE vote_electors (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    vote_id BIGINT NOT NULL REFERENCES votes(id),
    area_cm2 BIGINT NOT NULL,                     -- round(area_m2 × 10,000) summed over its units
    units BIGINT NOT NULL,
    developer BIGINT NOT NULL,                    -- 1: the units with no owner on record
    label TEXT NOT NULL,                          -- building and units, e.g. 3号楼 1单元101室
    names TEXT NOT NULL                           -- the owners' names, masked (张**、李**)
);
CREATE INDEX vote_electors_vote ON vote_electors (vote_id, id);

CREATE TABLE vote_elector_persons (
    street_id BIGINT NOT NULL REFERENCES places(id),
    vote_id BIGINT NOT NULL REFERENCES votes(id),
    elector_id BIGINT NOT NULL REFERENCES vote_electors(id),
    person_id BIGINT NOT NULL,
    PRIMARY KEY (vote_id, person_id, elector_id)
);
CREATE INDEX vote_elector_persons_elector ON vote_elector_persons (elector_id);

-- Who took part: one row per elector across channels (the unique key), never changed.
CREATE TABLE vote_participation (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    vote_id BIGINT NOT NULL REFERENCES votes(id),
    elector_id BIGINT NOT NULL REFERENCES vote_electors(id),
    channel TEXT NOT NULL,                        -- online, paper, proxy
    cast_by BIGINT,                               -- the owner who cast it or gave the proxy
    proxy_name TEXT,
    entered_by BIGINT REFERENCES users(id),       -- the account that recorded it
    evidence TEXT,                                -- the scan or proxy's file, under the data folder
    evidence_type TEXT,
    choice TEXT,                                  -- for, against, abstain; NULL on a secret ballot
    at BIGINT NOT NULL,
    CONSTRAINT vote_participation_once UNIQUE (vote_id, elector_id)
);

-- How: the count per choice, updated in the ballot's transaction.
CREATE TABLE vote_tally (
    street_id BIGINT NOT NULL REFERENCES places(id),
    vote_id BIGINT NOT NULL REFERENCES votes(id),
    choice TEXT NOT NULL,
    heads BIGINT NOT NULL,
    area_cm2 BIGINT NOT NULL,
    PRIMARY KEY (vote_id, choice)
);

CREATE TRIGGER vote_participation_immutable BEFORE UPDATE ON vote_participation
BEGIN
    SELECT RAISE(ABORT, 'ballots are immutable');
END;
CREATE TRIGGER vote_participation_kept BEFORE DELETE ON vote_participation
BEGIN
    SELECT RAISE(ABORT, 'ballots are immutable');
END;
