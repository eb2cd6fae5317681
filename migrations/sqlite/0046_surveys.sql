-- linli schema 46: surveys (问卷, issue 22 part 2), kept small.
--
-- A survey: its words, its questions (JSON: kind, prompt, options, required), its audience as
-- notices choose one (JSON of places, tags, households and roles) and its life: draft →
-- published → closed, answerable between `opens_at` and `closes_at`. `recipients` is the
-- denominator, frozen at publication; `answered` is kept beside it. A satisfaction survey
-- (kind `satisfaction`) names its community (`place_path`): its scale answers feed the case
-- figures.
CREATE TABLE surveys (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    kind TEXT NOT NULL,                           -- general, satisfaction (社区满意度调查)
    title TEXT NOT NULL,
    intro TEXT NOT NULL,
    questions TEXT NOT NULL,                      -- JSON: [{kind, prompt, options, required}]
    audience TEXT NOT NULL,                       -- JSON: places, tags, households, roles
    audience_label TEXT NOT NULL,                 -- the audience in words, both languages
    place_path TEXT NOT NULL,                     -- the audience's first place (its community)
    anonymous BIGINT NOT NULL DEFAULT 0,          -- 1: answers are kept without who gave them
    state TEXT NOT NULL,                          -- draft, published, closed
    opens_at BIGINT,
    closes_at BIGINT NOT NULL,
    published_at BIGINT,
    closed_at BIGINT,
    recipients BIGINT NOT NULL DEFAULT 0,
    answered BIGINT NOT NULL DEFAULT 0,
    author_id BIGINT NOT NULL,
    author TEXT NOT NULL,
    author_path TEXT NOT NULL,                    -- the author's place: who else manages it
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX surveys_street ON surveys (street_id, state, id);

-- Who a published survey was put to, frozen at publication: a resident by her record, or a
-- worker's account (a survey naming roles).
CREATE TABLE survey_recipients (
    survey_id BIGINT NOT NULL REFERENCES surveys(id),
    seq BIGINT NOT NULL,
    street_id BIGINT NOT NULL,
    person_id BIGINT,
    user_id BIGINT,
    place_path TEXT NOT NULL,
    PRIMARY KEY (survey_id, seq)
);
CREATE INDEX survey_recipients_person ON survey_recipients (person_id, survey_id);
CREATE INDEX survey_recipients_user ON survey_recipients (user_id, survey_id);

-- That a recipient has answered (one answer per recipient and per account: the keys refuse a
-- second). Kept apart from the answers, so that an anonymous survey's answers name nobody.
CREATE TABLE survey_answered (
    survey_id BIGINT NOT NULL REFERENCES surveys(id),
    seq BIGINT NOT NULL,
    street_id BIGINT NOT NULL,
    user_id BIGINT,                               -- the account that answered (none: on paper)
    PRIMARY KEY (survey_id, seq),
    UNIQUE (survey_id, user_id)
);

-- One answer sheet. For an anonymous survey `person_id`, `user_id` and `answered_at` stay
-- empty and the id is drawn at random, so neither a column nor the order of rows tells who.
CREATE TABLE survey_responses (
    id INTEGER PRIMARY KEY,                       -- given, not drawn by the database
    survey_id BIGINT NOT NULL REFERENCES surveys(id),
    street_id BIGINT NOT NULL,
    person_id BIGINT,
    user_id BIGINT,
    answered_at BIGINT
);
CREATE INDEX survey_responses_survey ON survey_responses (survey_id);

-- The answers of a sheet: a chosen option (single: one row; multiple: one row per option), a
-- scale's value 1–5, or a free text.
CREATE TABLE survey_answers (
    response_id BIGINT NOT NULL REFERENCES survey_responses(id),
    survey_id BIGINT NOT NULL,
    street_id BIGINT NOT NULL,
    question BIGINT NOT NULL,
    choice BIGINT,
    value BIGINT,
    text TEXT
);
CREATE INDEX survey_answers_survey ON survey_answers (survey_id, question);
CREATE INDEX survey_answers_response ON survey_answers (response_id);
