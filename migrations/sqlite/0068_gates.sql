-- Gates, visitors and parking (出入口管理 · 访客 · 停车自治, issue 28). An estate (小区) is the
-- `estate` text of buildings within a community; gates keep their own row per estate
-- (`gate_estates`, keyed by the community and the estate's name) so that its gates, spaces,
-- retention and rules have one stable id. Passages carry no image and no name: a gate, a time,
-- in or out, how (card, qr, plate, resident) and the credential as the device sent it; they
-- are purged after the estate's retention (30 days unless set).

CREATE TABLE gate_estates (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    community_id BIGINT NOT NULL REFERENCES places(id),
    community_path TEXT NOT NULL,
    name TEXT NOT NULL,
    retention_days BIGINT NOT NULL DEFAULT 30,
    created_at BIGINT NOT NULL,
    UNIQUE (community_id, name),
    CHECK (retention_days BETWEEN 1 AND 365)
);

CREATE TABLE gates (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    estate_id BIGINT NOT NULL REFERENCES gate_estates(id),
    device_id BIGINT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- pedestrian or barrier
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX gates_estate ON gates (estate_id);

CREATE TABLE gate_passages (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    estate_id BIGINT NOT NULL,
    gate_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    -- in or out
    direction TEXT NOT NULL,
    -- card, qr, plate, resident
    by_kind TEXT NOT NULL,
    credential TEXT NOT NULL,
    -- 1: an unknown plate, recorded as a visitor
    visitor BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX gate_passages_estate ON gate_passages (estate_id, at);

CREATE TABLE gate_passes (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    estate_id BIGINT NOT NULL REFERENCES gate_estates(id),
    -- invited (by a resident, signed) or walkin (a delivery or service visitor the guard let in)
    kind TEXT NOT NULL,
    host_person BIGINT,
    host_unit TEXT NOT NULL,
    visitor TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    entries BIGINT NOT NULL,
    used BIGINT NOT NULL DEFAULT 0,
    created_by BIGINT,
    created_at BIGINT NOT NULL,
    CHECK (used <= entries)
);
CREATE INDEX gate_passes_estate ON gate_passes (estate_id, valid_until);
CREATE INDEX gate_passes_host ON gate_passes (host_person, created_at);

CREATE TABLE parking_spaces (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    estate_id BIGINT NOT NULL REFERENCES gate_estates(id),
    code TEXT NOT NULL,
    -- owned, rented, shared, visitor
    kind TEXT NOT NULL,
    row_no BIGINT NOT NULL,
    col_no BIGINT NOT NULL,
    occupied BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (estate_id, code)
);

CREATE TABLE parking_assignments (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    estate_id BIGINT NOT NULL,
    space_id BIGINT NOT NULL REFERENCES parking_spaces(id),
    plate TEXT NOT NULL,
    holder TEXT NOT NULL,
    created_by BIGINT,
    created_at BIGINT NOT NULL,
    CONSTRAINT parking_assignments_space UNIQUE (space_id)
);
CREATE INDEX parking_assignments_plate ON parking_assignments (estate_id, plate);

-- A vehicle inside: open while out_at is NULL. Purged with the passages.
CREATE TABLE parking_stays (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    estate_id BIGINT NOT NULL,
    plate TEXT NOT NULL,
    visitor BIGINT NOT NULL,
    space_id BIGINT,
    in_at BIGINT NOT NULL,
    out_at BIGINT
);
CREATE INDEX parking_stays_open ON parking_stays (estate_id, plate, out_at);

-- Vehicles inside per estate and China hour (hour = (ms + 8h) / 1h): the most seen and the
-- last count, kept after the passages are purged (counts, no plates).
CREATE TABLE parking_hours (
    street_id BIGINT NOT NULL REFERENCES places(id),
    estate_id BIGINT NOT NULL,
    hour BIGINT NOT NULL,
    peak BIGINT NOT NULL,
    last BIGINT NOT NULL,
    PRIMARY KEY (estate_id, hour)
);

-- Self-governed rules: each records the owners' vote that made it.
CREATE TABLE gate_rules (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    estate_id BIGINT NOT NULL REFERENCES gate_estates(id),
    -- time_shared, visitor_limit, fee
    kind TEXT NOT NULL,
    vote_id BIGINT NOT NULL,
    -- time_shared: minutes of the day from, until; visitor_limit: minutes; fee: fen per hour
    a BIGINT NOT NULL DEFAULT 0,
    b BIGINT NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT '',
    created_by BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX gate_rules_estate ON gate_rules (estate_id);
