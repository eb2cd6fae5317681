-- Volunteers and points (志愿服务 · 云端积分, issue 25 part 1): activities a worker organises
-- in her community, sign-ups with a waiting list, check-in and check-out; a double-entry
-- points ledger (transactions of entries summing to zero; balances are sums, never stored);
-- a catalogue of items offered by the committee or a shop, redeemed with a code the offerer
-- confirms; the street's settings.

CREATE TABLE vol_settings (
    street_id BIGINT PRIMARY KEY REFERENCES places(id),
    -- points may pass between people (0/1)
    transfers BIGINT NOT NULL DEFAULT 0,
    -- residents of an activity's community may sign up, not only volunteers (0/1)
    residents BIGINT NOT NULL DEFAULT 1,
    updated_at BIGINT NOT NULL
);

CREATE TABLE vol_activities (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    community_id BIGINT NOT NULL REFERENCES places(id),
    community_path TEXT NOT NULL,
    -- where: the community, a grid or a building of it
    place_id BIGINT NOT NULL REFERENCES places(id),
    place_path TEXT NOT NULL,
    title TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    capacity BIGINT NOT NULL,
    -- skill codes wanted, enclosed in commas (callups' list); empty for any
    skills TEXT NOT NULL DEFAULT '',
    -- points per hour of service
    rate BIGINT NOT NULL,
    -- the code shown at the place for checking in and out oneself
    code TEXT NOT NULL,
    -- open, cancelled
    state TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_by_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- bumped at the start of a sign-up's transaction, so sign-ups to one activity queue
    lock_n BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX vol_activities_place ON vol_activities (place_path, ends_at);
CREATE INDEX vol_activities_community ON vol_activities (community_path, ends_at);

-- One row per person and activity; state: booked, waiting, cancelled.
CREATE TABLE vol_signups (
    id INTEGER PRIMARY KEY,
    activity_id BIGINT NOT NULL REFERENCES vol_activities(id),
    street_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id),
    state TEXT NOT NULL,
    signed_at BIGINT NOT NULL,
    checked_in_at BIGINT,
    checked_out_at BIGINT,
    minutes BIGINT NOT NULL DEFAULT 0,
    points BIGINT NOT NULL DEFAULT 0,
    txn_id BIGINT,
    code_fails BIGINT NOT NULL DEFAULT 0,
    UNIQUE (activity_id, user_id)
);
CREATE INDEX vol_signups_user ON vol_signups (user_id, activity_id);

-- kind: issuing (owner: a community), person (owner: an account), committee (owner: a
-- community, what its catalogue takes in), shop (owner: an organisation).
CREATE TABLE vol_accounts (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    owner_id BIGINT NOT NULL,
    -- where the owner belongs (a person: the place of her grant), for organisers' lists
    place_path TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    -- bumped at the start of a spending transaction, so spends from one account queue
    lock_n BIGINT NOT NULL DEFAULT 0,
    UNIQUE (kind, owner_id)
);
CREATE INDEX vol_accounts_street ON vol_accounts (street_id, kind, place_path);

-- kind: earn, spend, transfer, reverse. Nothing is edited: a mistake is a reversing
-- transaction (reverses_id) with a reason.
CREATE TABLE vol_txns (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    -- the community whose workers may reverse it
    community_path TEXT NOT NULL DEFAULT '',
    reverses_id BIGINT UNIQUE REFERENCES vol_txns(id),
    reason TEXT NOT NULL DEFAULT '',
    created_by BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE vol_entries (
    id INTEGER PRIMARY KEY,
    txn_id BIGINT NOT NULL REFERENCES vol_txns(id),
    street_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES vol_accounts(id),
    amount BIGINT NOT NULL
);
-- A balance is SUM(amount) over an account's entries: read from this index alone.
CREATE INDEX vol_entries_account ON vol_entries (account_id, amount);
CREATE INDEX vol_entries_txn ON vol_entries (txn_id);

-- offer: committee (the community's) or shop (org_id).
CREATE TABLE vol_items (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    community_id BIGINT NOT NULL REFERENCES places(id),
    community_path TEXT NOT NULL,
    offer TEXT NOT NULL,
    org_id BIGINT REFERENCES organisations(id),
    title TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    cost BIGINT NOT NULL,
    stock BIGINT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX vol_items_street ON vol_items (street_id, community_path);

-- state: issued, confirmed.
CREATE TABLE vol_redemptions (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    item_id BIGINT NOT NULL REFERENCES vol_items(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    code TEXT NOT NULL,
    cost BIGINT NOT NULL,
    txn_id BIGINT NOT NULL REFERENCES vol_txns(id),
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    confirmed_by BIGINT,
    UNIQUE (street_id, code)
);
CREATE INDEX vol_redemptions_user ON vol_redemptions (user_id, id);
