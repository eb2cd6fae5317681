-- Mutual aid (邻里互助): residents' offers and requests within their community — goods to
-- give, tools to lend (a return date), skills, help needed, spare medicine (an expiry date) —
-- matched with a responder, done when both parties say so; in-app conversations per (post,
-- responder) without phone numbers; reports and moderation with a reason; blocks between
-- residents. Parties are persons (a resident's linked record); accounts only to tell them.

CREATE TABLE aid_posts (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    community_id BIGINT NOT NULL,
    community_path TEXT NOT NULL,
    building_id BIGINT,
    poster_person BIGINT NOT NULL,
    poster_user BIGINT,
    -- The poster's name as others see it: 王**.
    poster_label TEXT NOT NULL,
    -- offer or request
    direction TEXT NOT NULL,
    -- goods, lend, skill, help, medicine
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    -- YYYY-MM-DD: a loan's return date, a medicine's expiry date
    return_on TEXT,
    expiry_on TEXT,
    -- open, matched, done, withdrawn, hidden (expired is read from expires_at)
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    responder_person BIGINT,
    responder_user BIGINT,
    responder_label TEXT,
    poster_done_at BIGINT,
    responder_done_at BIGINT,
    reports BIGINT NOT NULL DEFAULT 0,
    hidden_reason TEXT,
    hidden_by BIGINT,
    hidden_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX aid_posts_community ON aid_posts (community_id, state, expires_at);
CREATE INDEX aid_posts_poster ON aid_posts (poster_person, created_at);

-- One conversation per (post, responder) between the responder and the poster.
CREATE TABLE aid_conversations (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    post_id BIGINT NOT NULL REFERENCES aid_posts(id),
    responder_person BIGINT NOT NULL,
    responder_user BIGINT,
    responder_label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX aid_conversations_one ON aid_conversations (post_id, responder_person);
CREATE INDEX aid_conversations_responder ON aid_conversations (responder_person, last_at);

CREATE TABLE aid_messages (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    conversation_id BIGINT NOT NULL REFERENCES aid_conversations(id),
    sender_person BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX aid_messages_conversation ON aid_messages (conversation_id, id);

-- A resident blocks another: messages refused both ways, the other's posts hidden from her.
CREATE TABLE aid_blocks (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    blocker_person BIGINT NOT NULL,
    blocked_person BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX aid_blocks_pair ON aid_blocks (blocker_person, blocked_person);

-- A resident's report of a post, with a reason: the community's workers then read its
-- conversations.
CREATE TABLE aid_reports (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    post_id BIGINT NOT NULL REFERENCES aid_posts(id),
    reporter_person BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX aid_reports_one ON aid_reports (post_id, reporter_person);
