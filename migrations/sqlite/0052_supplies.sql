-- Emergency supplies (应急物资, issue 23 part 4): stock kept at a place (a community's store,
-- a grid's cupboard, a building's box), in batches with their expiry dates, a minimum level
-- that warns when crossed, lending and return, inventory counts that record differences, and
-- a ledger of every move.

CREATE TABLE supply_items (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    place_id BIGINT NOT NULL REFERENCES places(id),
    place_path TEXT NOT NULL,
    name TEXT NOT NULL,
    -- water, food, medical, power, tools, shelter, other
    category TEXT NOT NULL,
    -- 箱, 瓶, 件 …
    unit TEXT NOT NULL,
    min_level BIGINT NOT NULL DEFAULT 0,
    -- the sum of its batches' remaining quantities, kept with every move
    quantity BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (place_id, name)
);
CREATE INDEX supply_items_path ON supply_items (street_id, place_path);

CREATE TABLE supply_batches (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    item_id BIGINT NOT NULL REFERENCES supply_items(id),
    received BIGINT NOT NULL,
    remaining BIGINT NOT NULL,
    -- YYYY-MM-DD, or none for what does not expire
    expires_on TEXT,
    received_at BIGINT NOT NULL
);
CREATE INDEX supply_batches_item ON supply_batches (item_id, remaining);

CREATE TABLE supply_loans (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    item_id BIGINT NOT NULL REFERENCES supply_items(id),
    quantity BIGINT NOT NULL,
    returned BIGINT NOT NULL DEFAULT 0,
    -- who has it: an organisation or a team, as typed
    borrower TEXT NOT NULL,
    due_on TEXT,
    lent_by_name TEXT NOT NULL,
    lent_at BIGINT NOT NULL,
    closed_at BIGINT
);
CREATE INDEX supply_loans_item ON supply_loans (item_id, closed_at);

-- Which batches a loan took from (first to expire, first out), so a return goes back to them.
CREATE TABLE supply_loan_parts (
    loan_id BIGINT NOT NULL REFERENCES supply_loans(id),
    batch_id BIGINT NOT NULL REFERENCES supply_batches(id),
    quantity BIGINT NOT NULL,
    returned BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (loan_id, batch_id)
);

-- Every move: received, lent, returned, counted (the difference), discarded.
CREATE TABLE supply_moves (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    item_id BIGINT NOT NULL REFERENCES supply_items(id),
    kind TEXT NOT NULL,
    -- + in, - out
    delta BIGINT NOT NULL,
    quantity_after BIGINT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    by_name TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX supply_moves_item ON supply_moves (item_id, id);
