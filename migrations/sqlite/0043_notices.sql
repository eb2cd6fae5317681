-- linli schema 43: notices to residents and to workers, with receipts (issue 22, part 1).
--
-- The audit's anomaly notices to administrators were kept in a table called `notices`; they
-- are security notices, and the word now belongs to what a committee tells its residents.
ALTER TABLE notices RENAME TO security_notices;
DROP INDEX notices_street;
CREATE INDEX security_notices_street ON security_notices (street_id, created_at);

-- A notice: its words, the audience as chosen (JSON of places, tags, households and roles) and
-- as it reads, and its life: draft → scheduled → published → withdrawn; it expires at
-- `expires_at`. `recipients` is the denominator, frozen at publication.
CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    kind TEXT NOT NULL,                           -- residents, workers (工作通知)
    code TEXT NOT NULL UNIQUE,                    -- the short link /n/<code>
    title TEXT NOT NULL,
    body TEXT NOT NULL,                           -- plain text; links are found when shown
    audience TEXT NOT NULL,                       -- JSON: places, tags, households, roles
    audience_label TEXT NOT NULL,                 -- the audience in words, both languages
    ack_wanted BIGINT NOT NULL DEFAULT 0,         -- 1: please acknowledge (确认收到)
    ack_by BIGINT,                                -- the deadline to acknowledge, if any
    state TEXT NOT NULL,                          -- draft, scheduled, published, withdrawn
    publish_at BIGINT,                            -- when a scheduled notice goes out
    published_at BIGINT,
    expires_at BIGINT,
    withdrawn_at BIGINT,
    recipients BIGINT NOT NULL DEFAULT 0,
    read_count BIGINT NOT NULL DEFAULT 0,         -- opened by the recipient
    ack_count BIGINT NOT NULL DEFAULT 0,          -- acknowledged
    told_count BIGINT NOT NULL DEFAULT 0,         -- told in person or on paper
    reached_count BIGINT NOT NULL DEFAULT 0,      -- opened, or told: delivered
    problem TEXT,                                 -- why a scheduled notice did not go out
    author_id BIGINT NOT NULL,
    author TEXT NOT NULL,                         -- the author's name as shown
    author_path TEXT NOT NULL,                    -- the author's place: who else manages it
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX notices_street ON notices (street_id, state, published_at);
CREATE INDEX notices_due ON notices (state, publish_at);

-- Who a published notice went to, one row per resident (or worker's account), frozen at
-- publication. Read (opened) and acknowledged are kept apart; a building leader's "told in
-- person / on paper" counts as delivered and is shown as such.
CREATE TABLE notice_recipients (
    notice_id BIGINT NOT NULL REFERENCES notices(id),
    seq BIGINT NOT NULL,
    street_id BIGINT NOT NULL,
    person_id BIGINT,                             -- a resident (residents' notices)
    user_id BIGINT,                               -- an account (workers' notices)
    building_id BIGINT NOT NULL,                  -- 0 when the recipient has no building
    unit_id BIGINT,
    place_path TEXT NOT NULL,
    read_at BIGINT,
    ack_at BIGINT,
    told_at BIGINT,
    told_how TEXT,                                -- in_person, paper
    told_by BIGINT,
    told_by_name TEXT,
    PRIMARY KEY (notice_id, seq)
);
CREATE INDEX notice_recipients_person ON notice_recipients (person_id, notice_id);
CREATE INDEX notice_recipients_user ON notice_recipients (user_id, notice_id);
CREATE INDEX notice_recipients_building ON notice_recipients (notice_id, building_id, place_path);

-- A notice's receipts per building, kept as they change (the publisher's page reads a few
-- hundred rows, not every recipient): building 0 gathers recipients without one.
CREATE TABLE notice_buildings (
    notice_id BIGINT NOT NULL REFERENCES notices(id),
    building_id BIGINT NOT NULL,
    street_id BIGINT NOT NULL,
    recipients BIGINT NOT NULL,
    read_count BIGINT NOT NULL DEFAULT 0,
    ack_count BIGINT NOT NULL DEFAULT 0,
    told_count BIGINT NOT NULL DEFAULT 0,
    unreached BIGINT NOT NULL,
    PRIMARY KEY (notice_id, building_id)
);

-- Attachments: PDF or pictures, their type checked by content, stored as files.
CREATE TABLE notice_files (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    notice_id BIGINT NOT NULL REFERENCES notices(id),
    name TEXT NOT NULL,
    mime TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    stored TEXT NOT NULL,                         -- the file's name in the data folder
    created_at BIGINT NOT NULL
);
CREATE INDEX notice_files_notice ON notice_files (notice_id);
