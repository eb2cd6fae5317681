-- linli schema 47: home visits (走访 · 民情日志, issue 23 part 1).
--
-- A visit plan: the persons holding `tag` are visited at least every `every_months` months
-- (独居老人 monthly, 残疾人 quarterly). A person under several plans follows the shortest.
CREATE TABLE visit_plans (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    tag TEXT NOT NULL,
    every_months BIGINT NOT NULL,
    soon_days BIGINT NOT NULL DEFAULT 7,          -- listed as due this many days ahead
    starts_on TEXT NOT NULL,                      -- YYYY-MM-DD, China time: the first period's start
    active BIGINT NOT NULL DEFAULT 1,
    created_by BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX visit_plans_street ON visit_plans (street_id, active);

-- A visit, to a person or to a household: who, when (and its China date), how, what was
-- found (a short form), private notes, follow-ups (a case opened, a referral, a next visit).
CREATE TABLE visits (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    person_id BIGINT,                             -- a visit to one person
    household_id BIGINT,                          -- or to a household (every member visited)
    place_path TEXT NOT NULL,                     -- the home's path when visited
    visitor_id BIGINT NOT NULL,
    visitor_name TEXT NOT NULL,
    visited_at BIGINT NOT NULL,
    visited_on TEXT NOT NULL,                     -- YYYY-MM-DD in China time
    how TEXT NOT NULL,                            -- door, phone, outside
    health TEXT NOT NULL,                         -- good, fair, poor
    living TEXT NOT NULL,                         -- good, fair, poor
    needs TEXT NOT NULL,                          -- codes, comma-separated
    notes TEXT NOT NULL,                          -- the worker's private notes
    referral TEXT NOT NULL,
    next_on TEXT,
    case_id BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX visits_street ON visits (street_id, visited_at);

-- Who a visit reached: the person, or every member of the household then.
CREATE TABLE visit_persons (
    visit_id BIGINT NOT NULL REFERENCES visits(id),
    person_id BIGINT NOT NULL,
    street_id BIGINT NOT NULL,
    PRIMARY KEY (visit_id, person_id)
);
CREATE INDEX visit_persons_person ON visit_persons (person_id, visit_id);

-- Each person's latest visit, kept as visits are recorded, so the due list of a grid reads one
-- row per person instead of grouping every visit.
CREATE TABLE visit_last (
    person_id BIGINT PRIMARY KEY,
    street_id BIGINT NOT NULL,
    visit_id BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    last_on TEXT NOT NULL,
    visitor_name TEXT NOT NULL,
    next_on TEXT
);
CREATE INDEX visit_last_street ON visit_last (street_id, next_on);

-- A street's choices about visits: whether a resident reads the notes of her visits.
CREATE TABLE visit_settings (
    street_id BIGINT PRIMARY KEY REFERENCES places(id),
    notes_to_resident BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
