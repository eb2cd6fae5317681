-- linli schema 49: door-to-door sweeps (拉网式排摸, issue 23 part 2).
--
-- A campaign over a scope of places with a short form; starting it makes every household in
-- the scope a task for the grid worker of its grid (one INSERT … SELECT); answers arrive from
-- phones, possibly twice (a retry after a lost connection), and are kept once per
-- (campaign, household, client id). When the retention ends the personal answers go and the
-- aggregate counts stay in `summary`.
CREATE TABLE sweep_campaigns (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    title TEXT NOT NULL,
    questions TEXT NOT NULL,                      -- JSON: the form (key, label, kind, options)
    scope TEXT NOT NULL,                          -- JSON: the places' ids
    scope_paths TEXT NOT NULL,                    -- JSON: their paths
    scope_label TEXT NOT NULL,                    -- the places' names
    state TEXT NOT NULL,                          -- draft, open, closed
    retention_days BIGINT NOT NULL,               -- personal answers kept this long after closing
    previous_id BIGINT,                           -- the campaign this one repeats
    households BIGINT NOT NULL DEFAULT 0,         -- tasks made at the start
    summary TEXT,                                 -- JSON: the counts kept after the purge
    author_id BIGINT NOT NULL,
    author TEXT NOT NULL,
    author_path TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    closed_at BIGINT,
    purge_at BIGINT,                              -- closed_at + retention
    purged_at BIGINT
);
CREATE INDEX sweep_campaigns_street ON sweep_campaigns (street_id, state, id);
CREATE INDEX sweep_campaigns_purge ON sweep_campaigns (purge_at);

-- The grids a started campaign reaches and the grid worker each was given to.
CREATE TABLE sweep_grids (
    campaign_id BIGINT NOT NULL REFERENCES sweep_campaigns(id),
    grid_id BIGINT NOT NULL,                      -- 0 for households outside any grid
    street_id BIGINT NOT NULL,
    worker_id BIGINT,
    PRIMARY KEY (campaign_id, grid_id)
);

-- One door: a household of the scope, its building and grid, who goes there, and what she
-- found (`answers` is NULL until answered and after the purge).
CREATE TABLE sweep_tasks (
    campaign_id BIGINT NOT NULL REFERENCES sweep_campaigns(id),
    household_id BIGINT NOT NULL,
    street_id BIGINT NOT NULL,
    unit_id BIGINT NOT NULL,
    building_id BIGINT NOT NULL,
    grid_id BIGINT NOT NULL,
    place_path TEXT NOT NULL,
    assignee_id BIGINT,
    state TEXT NOT NULL,                          -- open, nobody_home, done
    attempts BIGINT NOT NULL DEFAULT 0,           -- visits that found nobody home
    answers TEXT,
    answered_at BIGINT,
    answered_by BIGINT,
    last_attempt_at BIGINT,
    PRIMARY KEY (campaign_id, household_id)
);
CREATE INDEX sweep_tasks_progress ON sweep_tasks (campaign_id, grid_id, building_id, state);
CREATE INDEX sweep_tasks_assignee ON sweep_tasks (campaign_id, assignee_id);
CREATE INDEX sweep_tasks_place ON sweep_tasks (campaign_id, place_path);

-- Every submission from a phone, once: a retry with the same client id finds its row.
CREATE TABLE sweep_submissions (
    campaign_id BIGINT NOT NULL REFERENCES sweep_campaigns(id),
    household_id BIGINT NOT NULL,
    client_id TEXT NOT NULL,
    street_id BIGINT NOT NULL,
    outcome TEXT NOT NULL,                        -- answered, nobody_home
    by_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, household_id, client_id)
);

-- Buildings a grid worker handed to a volunteer for this campaign.
CREATE TABLE sweep_handovers (
    campaign_id BIGINT NOT NULL REFERENCES sweep_campaigns(id),
    building_id BIGINT NOT NULL,
    street_id BIGINT NOT NULL,
    volunteer_id BIGINT NOT NULL,
    by_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, building_id)
);
