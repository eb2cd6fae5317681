-- Sign-up sheets (接龙, issue 25 part 3): a worker's sheet with items (an optional unit price in
-- fen), an audience as for notices frozen when the sheet goes out, a deadline and a limit per
-- household; one entry per household (its quantities per item and a note); the organiser's
-- corrections kept with who, when, before, after and why.

CREATE TABLE sheets (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    title TEXT NOT NULL,
    intro TEXT NOT NULL,
    -- JSON: [{"name": "大米 5kg", "price_fen": 4500}, …]
    items TEXT NOT NULL,
    -- JSON: notices' audience (places, tags, households)
    audience TEXT NOT NULL,
    -- "中文 / English"
    audience_label TEXT NOT NULL,
    place_path TEXT NOT NULL,
    deadline_at BIGINT NOT NULL,
    household_limit BIGINT NOT NULL,
    author_id BIGINT NOT NULL,
    author TEXT NOT NULL,
    author_path TEXT NOT NULL,
    recipients BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX sheets_street ON sheets (street_id, deadline_at);

-- Who the sheet reached when it went out, with the household and flat linli knew.
CREATE TABLE sheet_recipients (
    sheet_id BIGINT NOT NULL REFERENCES sheets(id),
    street_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    household_id BIGINT,
    unit_id BIGINT,
    building_id BIGINT NOT NULL,
    place_path TEXT NOT NULL,
    PRIMARY KEY (sheet_id, person_id)
);
CREATE INDEX sheet_recipients_person ON sheet_recipients (person_id, sheet_id);

CREATE TABLE sheet_entries (
    id INTEGER PRIMARY KEY,
    sheet_id BIGINT NOT NULL REFERENCES sheets(id),
    street_id BIGINT NOT NULL,
    -- 'h:<household id>', or 'p:<person id>' for a resident without a household
    household TEXT NOT NULL,
    -- who wrote it last (a member of the household)
    person_id BIGINT NOT NULL,
    unit_id BIGINT,
    building_id BIGINT NOT NULL,
    place_path TEXT NOT NULL,
    -- JSON: the quantity of each item, in the sheet's order
    lines TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    amount_fen BIGINT NOT NULL,
    note TEXT NOT NULL,
    withdrawn_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT sheet_entries_household UNIQUE (sheet_id, household)
);

CREATE TABLE sheet_corrections (
    id INTEGER PRIMARY KEY,
    sheet_id BIGINT NOT NULL REFERENCES sheets(id),
    street_id BIGINT NOT NULL,
    entry_id BIGINT NOT NULL REFERENCES sheet_entries(id),
    by_user BIGINT NOT NULL,
    by_name TEXT NOT NULL,
    at BIGINT NOT NULL,
    before_text TEXT NOT NULL,
    after_text TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX sheet_corrections_sheet ON sheet_corrections (sheet_id, at);
