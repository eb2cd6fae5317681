-- linli schema 55: reach — Web Push (issue 24 part 1): the browsers an account subscribed,
-- several per account (a phone that added linli to its home screen, a desktop).

-- One browser's push subscription (RFC 8030): the push service's endpoint and the browser's
-- keys for RFC 8291 (p256dh, auth), encrypted together with the field key as JSON; the
-- endpoint's blind index makes the same browser subscribing again one row, not two.
-- AUTOINCREMENT: an id is never reused, so an old delivery never names a newer browser.
CREATE TABLE reach_push_subs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    street_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    sub BLOB NOT NULL,                               -- encrypted {endpoint, p256dh, auth}
    endpoint_index TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,                              -- the push service's host, for lists
    label TEXT NOT NULL,                             -- the device as the browser named it
    created_at BIGINT NOT NULL,
    last_sent_at BIGINT
);
CREATE INDEX reach_push_subs_user ON reach_push_subs (user_id);
