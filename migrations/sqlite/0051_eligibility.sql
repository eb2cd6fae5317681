-- Policy finds the person (政策找人, issue 23 part 6): eligibility rules over registry
-- attributes, every definition kept as a version; the to-dos they produce for workers, one per
-- rule and person, closed with an outcome.

CREATE TABLE elig_rules (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    name TEXT NOT NULL,
    -- what the eligible person may have (高龄津贴, a subsidy check, a vaccination reminder)
    benefit TEXT NOT NULL,
    -- the condition as typed ("age >= 80 and tag = disabled"), parsed on every save
    condition TEXT NOT NULL,
    -- whether the resident is told (on her home page) as well as her worker
    tell_resident BIGINT NOT NULL DEFAULT 0,
    resident_text TEXT NOT NULL DEFAULT '',
    -- draft, on, off
    state TEXT NOT NULL DEFAULT 'draft',
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_by BIGINT,
    updated_at BIGINT NOT NULL,
    last_run_at BIGINT,
    UNIQUE (street_id, name)
);

CREATE TABLE elig_rule_versions (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    rule_id BIGINT NOT NULL REFERENCES elig_rules(id),
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    benefit TEXT NOT NULL,
    condition TEXT NOT NULL,
    tell_resident BIGINT NOT NULL,
    resident_text TEXT NOT NULL,
    state TEXT NOT NULL,
    changed_by BIGINT,
    changed_by_name TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    UNIQUE (rule_id, version)
);

CREATE TABLE elig_todos (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    rule_id BIGINT NOT NULL REFERENCES elig_rules(id),
    -- the rule's version that found her
    rule_version BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    place_path TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- open, applied, not_eligible, declined
    state TEXT NOT NULL DEFAULT 'open',
    outcome_note TEXT NOT NULL DEFAULT '',
    closed_by BIGINT,
    closed_by_name TEXT,
    closed_at BIGINT,
    UNIQUE (rule_id, person_id)
);
CREATE INDEX elig_todos_open ON elig_todos (street_id, state, place_path);
CREATE INDEX elig_todos_person ON elig_todos (person_id, state);
