-- Community funds (楼道基金 · 公共资金, issue 25 part 4): a fund per building or estate, its
-- named representatives and how many of them must approve an entry; income, expenses and
-- reversals in fen, counted in the balance only once approved and never changed after; the
-- representatives' approvals (one each, never the proposer's own); receipts as photos.

CREATE TABLE funds (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    place_id BIGINT NOT NULL REFERENCES places(id),
    place_path TEXT NOT NULL,
    name TEXT NOT NULL,
    -- approvals an entry needs (N of the M representatives)
    required BIGINT NOT NULL,
    created_by BIGINT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT funds_place_name UNIQUE (place_id, name)
);
CREATE INDEX funds_path ON funds (street_id, place_path);

CREATE TABLE fund_representatives (
    fund_id BIGINT NOT NULL REFERENCES funds(id),
    street_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (fund_id, user_id)
);
CREATE INDEX fund_representatives_user ON fund_representatives (user_id);

CREATE TABLE fund_entries (
    id INTEGER PRIMARY KEY,
    fund_id BIGINT NOT NULL REFERENCES funds(id),
    street_id BIGINT NOT NULL,
    -- income, expense, reversal
    kind TEXT NOT NULL,
    -- +1 money in, -1 money out (a reversal takes the opposite of what it reverses)
    sign BIGINT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    purpose TEXT NOT NULL,
    -- proposed, approved
    state TEXT NOT NULL,
    reverses_id BIGINT REFERENCES fund_entries(id),
    by_user BIGINT NOT NULL,
    by_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    approved_at BIGINT,
    CONSTRAINT fund_entries_reverses UNIQUE (reverses_id)
);
CREATE INDEX fund_entries_fund ON fund_entries (fund_id, state, approved_at);

CREATE TABLE fund_approvals (
    entry_id BIGINT NOT NULL REFERENCES fund_entries(id),
    street_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    at BIGINT NOT NULL,
    CONSTRAINT fund_approvals_once PRIMARY KEY (entry_id, user_id)
);

CREATE TABLE fund_receipts (
    id INTEGER PRIMARY KEY,
    entry_id BIGINT NOT NULL REFERENCES fund_entries(id),
    fund_id BIGINT NOT NULL,
    street_id BIGINT NOT NULL,
    mime TEXT NOT NULL,
    size BIGINT NOT NULL,
    bytes BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX fund_receipts_entry ON fund_receipts (entry_id);
