-- Joint handling (联合处置, issue 26 part 2). A case keeps one lead organisation (its handler);
-- the dispatcher adds co-handling organisations, each with a task of its own: what it must do,
-- its own acceptance and deadline in working time, its own done. A consultation (会商) records
-- who took part, what was decided and who does what, and creates the tasks. The lead may
-- resolve the case only when every task is done or released with a reason.
--
-- A task's clock lives on its row as a case's does (clock, warn_at, due_at, warned, level,
-- next_alarm_at), so the deadline watcher warns and escalates each task once, across restarts.
CREATE TABLE case_consultations (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    case_id BIGINT NOT NULL REFERENCES cases(id),
    held_at BIGINT NOT NULL,
    participants TEXT NOT NULL,
    decision TEXT NOT NULL,
    created_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX case_consultations_case ON case_consultations (case_id);

CREATE TABLE case_tasks (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    case_id BIGINT NOT NULL REFERENCES cases(id),
    org_id BIGINT NOT NULL REFERENCES organisations(id),
    consultation_id BIGINT REFERENCES case_consultations(id),
    task TEXT NOT NULL,
    -- open (waits to be accepted), accepted, done, released, declined
    state TEXT NOT NULL DEFAULT 'open',
    hours BIGINT NOT NULL,
    created_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    accepted_at BIGINT,
    done_at BIGINT,
    ended_at BIGINT,
    note TEXT NOT NULL DEFAULT '',
    clock TEXT NOT NULL DEFAULT 'accept',
    clock_start BIGINT NOT NULL,
    warn_at BIGINT,
    due_at BIGINT,
    warned BIGINT NOT NULL DEFAULT 0,
    level BIGINT NOT NULL DEFAULT 0,
    late BIGINT NOT NULL DEFAULT 0,
    next_alarm_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX case_tasks_case ON case_tasks (case_id);
CREATE INDEX case_tasks_org ON case_tasks (org_id, state);
-- Open tasks past their deadline, per street (the figures' "overdue now").
CREATE INDEX case_tasks_open ON case_tasks (street_id, due_at) WHERE state IN ('open', 'accepted');
CREATE INDEX case_tasks_alarm ON case_tasks (next_alarm_at) WHERE next_alarm_at IS NOT NULL;

-- Task figures by organisation and day the task was set (China time), kept by triggers so
-- the figures page reads a few hundred rows however many tasks there were.
-- added = open + done + released (+ declined); late counts tasks that passed their deadline.
CREATE TABLE case_task_figures (
    street_id BIGINT NOT NULL,
    org_id BIGINT NOT NULL,
    day BIGINT NOT NULL,
    added BIGINT NOT NULL DEFAULT 0,
    open BIGINT NOT NULL DEFAULT 0,
    done BIGINT NOT NULL DEFAULT 0,
    on_time BIGINT NOT NULL DEFAULT 0,
    late BIGINT NOT NULL DEFAULT 0,
    released BIGINT NOT NULL DEFAULT 0,
    declined BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (street_id, day, org_id)
);

CREATE TRIGGER case_task_figures_insert AFTER INSERT ON case_tasks BEGIN
    INSERT OR IGNORE INTO case_task_figures (street_id, org_id, day)
        VALUES (NEW.street_id, NEW.org_id, (NEW.created_at + 28800000) / 86400000);
    UPDATE case_task_figures SET added = added + 1,
        open = open + (CASE WHEN NEW.state IN ('open', 'accepted') THEN 1 ELSE 0 END),
        done = done + (CASE WHEN NEW.state = 'done' THEN 1 ELSE 0 END),
        on_time = on_time + (CASE WHEN NEW.state = 'done' AND NEW.late = 0 THEN 1 ELSE 0 END),
        late = late + NEW.late,
        released = released + (CASE WHEN NEW.state = 'released' THEN 1 ELSE 0 END),
        declined = declined + (CASE WHEN NEW.state = 'declined' THEN 1 ELSE 0 END)
    WHERE street_id = NEW.street_id AND org_id = NEW.org_id AND day = (NEW.created_at + 28800000) / 86400000;
END;

CREATE TRIGGER case_task_figures_update AFTER UPDATE OF state, late ON case_tasks BEGIN
    UPDATE case_task_figures SET
        open = open - (CASE WHEN OLD.state IN ('open', 'accepted') THEN 1 ELSE 0 END) + (CASE WHEN NEW.state IN ('open', 'accepted') THEN 1 ELSE 0 END),
        done = done - (CASE WHEN OLD.state = 'done' THEN 1 ELSE 0 END) + (CASE WHEN NEW.state = 'done' THEN 1 ELSE 0 END),
        on_time = on_time - (CASE WHEN OLD.state = 'done' AND OLD.late = 0 THEN 1 ELSE 0 END) + (CASE WHEN NEW.state = 'done' AND NEW.late = 0 THEN 1 ELSE 0 END),
        late = late - OLD.late + NEW.late,
        released = released - (CASE WHEN OLD.state = 'released' THEN 1 ELSE 0 END) + (CASE WHEN NEW.state = 'released' THEN 1 ELSE 0 END),
        declined = declined - (CASE WHEN OLD.state = 'declined' THEN 1 ELSE 0 END) + (CASE WHEN NEW.state = 'declined' THEN 1 ELSE 0 END)
    WHERE street_id = NEW.street_id AND org_id = NEW.org_id AND day = (NEW.created_at + 28800000) / 86400000;
END;
