-- linli schema 7: cases (一网统管): the service catalogue, the working calendar, cases with
-- every step of their life, notifications (an in-app inbox per user, webhooks per
-- organisation) and Open311 integration keys. Times are unix milliseconds; booleans 0/1.

CREATE TABLE case_categories (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    code TEXT NOT NULL,                           -- Open311 service_code
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    group_code TEXT NOT NULL,                     -- environment, facilities, order, safety, care
    fields TEXT NOT NULL DEFAULT '[]',            -- JSON: [{key, type, label_zh, label_en, required, options}]
    accept_hours BIGINT NOT NULL,                 -- working hours to accept (受理时限)
    resolve_hours BIGINT NOT NULL,                -- working hours to resolve (办结时限)
    priority BIGINT NOT NULL DEFAULT 2,           -- 1 urgent, 2 normal, 3 low
    dup_radius_m BIGINT NOT NULL DEFAULT 100,
    verify_required BIGINT NOT NULL DEFAULT 1,
    public BIGINT NOT NULL DEFAULT 1,             -- listed over Open311 (care cases are not)
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    UNIQUE (street_id, code)
);

-- The organisation responsible for a category at a place and everything under it; the most
-- specific place wins.
CREATE TABLE category_routes (
    street_id BIGINT NOT NULL REFERENCES places(id),
    category_id BIGINT NOT NULL REFERENCES case_categories(id),
    place_id BIGINT NOT NULL REFERENCES places(id),
    place_path TEXT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organisations(id),
    PRIMARY KEY (category_id, place_id)
);

-- Exceptions to the Monday–Friday week: public holidays and make-up working days (调休).
CREATE TABLE calendar_days (
    street_id BIGINT NOT NULL REFERENCES places(id),
    day TEXT NOT NULL,                            -- YYYY-MM-DD
    kind TEXT NOT NULL,                           -- holiday, workday
    name TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (street_id, day)
);

CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    category_id BIGINT NOT NULL REFERENCES case_categories(id),
    channel TEXT NOT NULL,                        -- resident, hotline, patrol, sensor, api, open311
    state TEXT NOT NULL,
    hold_from TEXT,                               -- the state to resume after on_hold
    priority BIGINT NOT NULL,
    description TEXT NOT NULL,
    terms TEXT NOT NULL DEFAULT '',               -- the description segmented once (jieba), for duplicates
    address TEXT NOT NULL DEFAULT '',
    place_id BIGINT NOT NULL REFERENCES places(id),
    place_path TEXT NOT NULL,
    building_id BIGINT,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    extra TEXT NOT NULL DEFAULT '{}',             -- JSON: the category's extra fields
    reporter_id BIGINT REFERENCES users(id),
    reporter_name TEXT NOT NULL DEFAULT '',
    reporter_contact TEXT NOT NULL DEFAULT '',
    open311_key_id BIGINT,
    token TEXT NOT NULL UNIQUE,                   -- Open311 token
    suggested_org_id BIGINT REFERENCES organisations(id),
    handler_org_id BIGINT REFERENCES organisations(id),
    handler_user_id BIGINT REFERENCES users(id),
    resolver_id BIGINT REFERENCES users(id),
    verifier_id BIGINT REFERENCES users(id),
    master_id BIGINT REFERENCES cases(id),
    extension_hours BIGINT,                       -- a pending request for more time
    clock TEXT NOT NULL DEFAULT 'accept',         -- accept, resolve, none: which deadline runs
    clock_start BIGINT NOT NULL,
    warn_at BIGINT,                               -- 80% of the running deadline
    due_at BIGINT,
    remaining_ms BIGINT,                          -- working time left when put on hold
    warned BIGINT NOT NULL DEFAULT 0,
    level BIGINT NOT NULL DEFAULT 0,              -- 0 grid, 1 community, 2 street, 3 district
    late BIGINT NOT NULL DEFAULT 0,
    next_alarm_at BIGINT,                         -- when the escalation sweep must look again
    rating BIGINT,
    rating_comment TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    resolved_at BIGINT,
    closed_at BIGINT
);
CREATE INDEX cases_path ON cases (place_path, state);
CREATE INDEX cases_state ON cases (street_id, state, created_at);
CREATE INDEX cases_handler ON cases (handler_org_id, state);
CREATE INDEX cases_reporter ON cases (reporter_id);
CREATE INDEX cases_alarm ON cases (next_alarm_at);
-- Duplicate candidates: same category, near a point or in the same building.
CREATE INDEX cases_dup_geo ON cases (category_id, lat);
CREATE INDEX cases_dup_building ON cases (category_id, building_id);

CREATE TABLE case_events (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    case_id BIGINT NOT NULL REFERENCES cases(id),
    at BIGINT NOT NULL,
    actor_id BIGINT REFERENCES users(id),
    actor TEXT NOT NULL,                          -- a name, or "system"
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX case_events_case ON case_events (case_id, id);

-- Reporters of merged duplicates, told when the master case closes.
CREATE TABLE case_followers (
    street_id BIGINT NOT NULL REFERENCES places(id),
    case_id BIGINT NOT NULL REFERENCES cases(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    PRIMARY KEY (case_id, user_id)
);

CREATE TABLE inbox (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,                           -- dispatched, supervision, escalated, warning, resolved, closed, ...
    case_id BIGINT REFERENCES cases(id),
    note TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX inbox_user ON inbox (user_id, id);

CREATE TABLE org_webhooks (
    org_id BIGINT PRIMARY KEY REFERENCES organisations(id),
    street_id BIGINT NOT NULL REFERENCES places(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    org_id BIGINT NOT NULL REFERENCES organisations(id),
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT,                               -- NULL once delivered or given up
    delivered_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_next ON webhook_deliveries (next_at);

CREATE TABLE open311_keys (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,                -- SHA-256 of the key; the key itself is never stored
    created_at BIGINT NOT NULL
);

-- Photos of a case, stored as files under the data folder; EXIF location is kept only when
-- the uploader agreed (otherwise it is stripped from the stored file).
CREATE TABLE case_photos (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    case_id BIGINT NOT NULL REFERENCES cases(id),
    file TEXT NOT NULL,                           -- relative to the data folder
    thumb TEXT NOT NULL,
    content_type TEXT NOT NULL,                   -- image/jpeg, image/png (sniffed, not trusted)
    bytes BIGINT NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    uploaded_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX case_photos_case ON case_photos (case_id, id);
