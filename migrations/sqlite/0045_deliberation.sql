-- Deliberation (issue 22 part 3): residents' proposals within a building, an estate or a
-- community, supports (one per person), a public timeline, comments with moderation and
-- reports; bodies (residents' council, owners' committee, a building's residents) with members
-- and terms, their meetings (agenda, attendance, minutes) and decisions with progress.

-- Supports a proposal needs per scope kind, per street (defaults in code when no row).
CREATE TABLE delib_thresholds (
    street_id BIGINT NOT NULL,
    scope_kind TEXT NOT NULL,
    supports BIGINT NOT NULL,
    PRIMARY KEY (street_id, scope_kind)
);

CREATE TABLE proposals (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    -- building, estate or community
    scope_kind TEXT NOT NULL,
    -- the building, or the community (of an estate, too)
    scope_place_id BIGINT NOT NULL,
    scope_path TEXT NOT NULL,
    scope_estate TEXT,
    scope_name TEXT NOT NULL,
    place_id BIGINT,
    author_user_id BIGINT NOT NULL,
    author_person_id BIGINT NOT NULL,
    -- the author as shown: "3号楼 张**"
    author_label TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    -- proposed, supported, on_agenda, decided, done, rejected, withdrawn
    state TEXT NOT NULL,
    supports BIGINT NOT NULL,
    threshold BIGINT NOT NULL,
    reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX proposals_scope ON proposals (street_id, scope_path, state);

CREATE TABLE proposal_supports (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    proposal_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX proposal_supports_once ON proposal_supports (proposal_id, person_id);

-- The public timeline of a proposal.
CREATE TABLE proposal_events (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    proposal_id BIGINT NOT NULL,
    -- proposed, supported, on_agenda, decided, progress, done, rejected, withdrawn
    kind TEXT NOT NULL,
    note TEXT,
    meeting_id BIGINT,
    decision_id BIGINT,
    at BIGINT NOT NULL
);
CREATE INDEX proposal_events_of ON proposal_events (proposal_id, at);

CREATE TABLE proposal_photos (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    proposal_id BIGINT NOT NULL,
    file TEXT NOT NULL,
    thumb TEXT,
    mime TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX proposal_photos_of ON proposal_photos (proposal_id);

CREATE TABLE proposal_comments (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    proposal_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    person_id BIGINT,
    author_label TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    hidden_at BIGINT,
    hidden_by BIGINT,
    hidden_by_label TEXT,
    hidden_reason TEXT
);
CREATE INDEX proposal_comments_of ON proposal_comments (proposal_id, created_at);
-- The rate limit counts an account's comments in a window.
CREATE INDEX proposal_comments_by_user ON proposal_comments (user_id, created_at);

CREATE TABLE comment_reports (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    comment_id BIGINT NOT NULL,
    proposal_id BIGINT NOT NULL,
    scope_path TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    handled_at BIGINT
);
CREATE UNIQUE INDEX comment_reports_once ON comment_reports (comment_id, user_id);
CREATE INDEX comment_reports_open ON comment_reports (street_id, handled_at);

-- A body that meets: council (议事会), owners_committee (业委会), building (楼栋居民会议).
CREATE TABLE delib_bodies (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    place_id BIGINT NOT NULL,
    place_path TEXT NOT NULL,
    org_id BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX delib_bodies_street ON delib_bodies (street_id, place_path);

CREATE TABLE delib_members (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    body_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    duty TEXT,
    user_id BIGINT,
    term_start TEXT NOT NULL,
    term_end TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX delib_members_body ON delib_members (body_id);
CREATE INDEX delib_members_user ON delib_members (user_id);

CREATE TABLE delib_meetings (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    body_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    location TEXT NOT NULL,
    minutes TEXT,
    minutes_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX delib_meetings_body ON delib_meetings (body_id, starts_at);

CREATE TABLE delib_agenda (
    street_id BIGINT NOT NULL,
    meeting_id BIGINT NOT NULL,
    proposal_id BIGINT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (meeting_id, proposal_id)
);
CREATE INDEX delib_agenda_proposal ON delib_agenda (proposal_id);

CREATE TABLE delib_attendance (
    street_id BIGINT NOT NULL,
    meeting_id BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    -- in_person, online, absent
    mode TEXT NOT NULL,
    PRIMARY KEY (meeting_id, member_id)
);

CREATE TABLE delib_decisions (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    meeting_id BIGINT NOT NULL,
    proposal_id BIGINT,
    text TEXT NOT NULL,
    responsible_org_id BIGINT,
    responsible_name TEXT NOT NULL,
    due_date TEXT NOT NULL,
    -- open or done
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    done_at BIGINT
);
CREATE INDEX delib_decisions_meeting ON delib_decisions (meeting_id);
CREATE INDEX delib_decisions_proposal ON delib_decisions (proposal_id);

CREATE TABLE delib_progress (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL,
    decision_id BIGINT NOT NULL,
    note TEXT NOT NULL,
    by_label TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX delib_progress_decision ON delib_progress (decision_id, at);
