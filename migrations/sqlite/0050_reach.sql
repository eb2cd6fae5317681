-- linli schema 50: reach — messages out of linli and care alerts that escalate (issue 24).

-- A street's outbound channels (issue 24 part 1): its SMTP server and its SMS gateway's request
-- template. Secrets (the SMTP password) are encrypted with the field key, like phones.
CREATE TABLE reach_settings (
    street_id BIGINT PRIMARY KEY REFERENCES places(id),
    smtp_host TEXT NOT NULL DEFAULT '',
    smtp_port BIGINT NOT NULL DEFAULT 587,
    smtp_security TEXT NOT NULL DEFAULT 'starttls',  -- starttls, tls, plain
    smtp_user TEXT NOT NULL DEFAULT '',
    smtp_pass BLOB,                                 -- encrypted
    smtp_from TEXT NOT NULL DEFAULT '',
    sms_url TEXT NOT NULL DEFAULT '',
    sms_headers TEXT NOT NULL DEFAULT '{}',          -- JSON object of header → value template
    sms_format TEXT NOT NULL DEFAULT 'json',         -- json, form
    sms_body TEXT NOT NULL DEFAULT '',               -- with {phone} and {text}
    sms_success TEXT NOT NULL DEFAULT '',            -- e.g. json:code=0, contains:OK, or empty (2xx)
    updated_at BIGINT NOT NULL,
    updated_by BIGINT
);

-- A user's own addresses per channel (email, sms), encrypted, with a masked copy for lists.
CREATE TABLE reach_addresses (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    channel TEXT NOT NULL,
    address BLOB NOT NULL,
    masked TEXT NOT NULL,
    enabled BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, channel)
);

-- A user's quiet hours (minutes of the day in China time; urgent messages ignore them) and
-- the language her messages are written in.
CREATE TABLE reach_prefs (
    user_id BIGINT PRIMARY KEY,
    street_id BIGINT NOT NULL,
    quiet_from BIGINT,
    quiet_to BIGINT,
    lang TEXT NOT NULL DEFAULT 'zh',
    updated_at BIGINT NOT NULL
);

-- A group robot of 企业微信, 钉钉 or 飞书 for a committee's or department's group, at a place.
CREATE TABLE reach_robots (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    place_id BIGINT NOT NULL,
    place_path TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,                              -- wecom, dingtalk, feishu
    url TEXT NOT NULL,
    secret BLOB,                                    -- 钉钉's signing secret, encrypted
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);
CREATE INDEX reach_robots_place ON reach_robots (street_id, place_path);

-- A cared-for person's contacts for care alerts (family, helper), in order, each with the
-- consent recorded (who agreed, when, how) and a timeout before the chain goes on.
CREATE TABLE reach_contacts (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    position BIGINT NOT NULL,
    relation TEXT NOT NULL,                          -- family, helper
    name TEXT NOT NULL,
    channel TEXT NOT NULL,                           -- email, sms
    address BLOB NOT NULL,
    masked TEXT NOT NULL,
    timeout_min BIGINT NOT NULL,
    consent_at BIGINT NOT NULL,
    consent_note TEXT NOT NULL,
    recorded_by BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX reach_contacts_person ON reach_contacts (person_id, position);

-- The community's duty worker (值班), the chain's last step.
CREATE TABLE reach_duty (
    place_id BIGINT PRIMARY KEY,
    street_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    timeout_min BIGINT NOT NULL DEFAULT 15,
    updated_at BIGINT NOT NULL
);

-- One message, written in the transaction of the event that caused it; `idem` is the
-- caller's idempotency key (the same event never makes a second message).
CREATE TABLE reach_messages (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    idem TEXT NOT NULL,
    sender_id BIGINT,
    source TEXT NOT NULL,
    urgency TEXT NOT NULL,                           -- normal, urgent
    key TEXT NOT NULL,                               -- catalogue key ('' with text)
    args TEXT NOT NULL,                              -- JSON object
    text TEXT NOT NULL,
    link TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (street_id, idem)
);

-- One message to one target on one channel: the outbox. At most one per (message, channel,
-- target), so a retried event or a restart never sends twice to the same channel.
CREATE TABLE reach_deliveries (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    message_id BIGINT NOT NULL REFERENCES reach_messages(id),
    target TEXT NOT NULL,                            -- user:5, contact:3, robot:2
    channel TEXT NOT NULL,                           -- email, sms, wecom, dingtalk, feishu
    lang TEXT NOT NULL,
    state TEXT NOT NULL,                             -- queued, sending, sent, failed
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    claimed_at BIGINT,
    last_error TEXT NOT NULL DEFAULT '',
    sent_at BIGINT,
    tap_id BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (message_id, channel, target)
);
CREATE INDEX reach_deliveries_due ON reach_deliveries (state, next_at);
CREATE INDEX reach_deliveries_street ON reach_deliveries (street_id, id);

-- A care alert's escalation chain: its plan (steps of targets with timeouts), the step it is
-- at and when it goes on; stopped by the first answer.
CREATE TABLE reach_chains (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    alert_id BIGINT NOT NULL UNIQUE,
    person_id BIGINT,
    case_id BIGINT,
    place_path TEXT NOT NULL,
    what TEXT NOT NULL,                              -- the alert in words, both languages
    plan TEXT NOT NULL,                              -- JSON: [{who, targets, timeout_min}]
    step BIGINT NOT NULL,
    state TEXT NOT NULL,                             -- running, answered, exhausted
    next_at BIGINT,
    answer TEXT,                                     -- on_it, fine
    answered_by TEXT,
    answered_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX reach_chains_due ON reach_chains (state, next_at);

-- One-tap links: single use, expiring, signed (HMAC over id, expiry and a nonce kept here).
CREATE TABLE reach_taps (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    chain_id BIGINT NOT NULL REFERENCES reach_chains(id),
    step BIGINT NOT NULL,
    target TEXT NOT NULL,
    label TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    answer TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX reach_taps_chain ON reach_taps (chain_id);
