-- The cockpit (issue 27). Open cases that have passed a deadline, kept per place by triggers
-- on cases (the cases area's table: its measure "late" reads it instead of the cases), and the
-- cockpit's daily snapshots of every measure per grid, written by its job once a day (the
-- trend charts); the job's watermark is the floor's job_runs.

CREATE TABLE case_late_open (
    street_id BIGINT NOT NULL,
    place_path TEXT NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (street_id, place_path)
);

CREATE TRIGGER case_late_open_insert AFTER INSERT ON cases
WHEN NEW.late = 1 AND NEW.state NOT IN ('closed', 'rated', 'merged', 'rejected') BEGIN
    INSERT OR IGNORE INTO case_late_open (street_id, place_path) VALUES (NEW.street_id, NEW.place_path);
    UPDATE case_late_open SET n = n + 1 WHERE street_id = NEW.street_id AND place_path = NEW.place_path;
END;

CREATE TRIGGER case_late_open_update AFTER UPDATE OF state, late, place_path, street_id ON cases
WHEN (OLD.late = 1 AND OLD.state NOT IN ('closed', 'rated', 'merged', 'rejected'))
  OR (NEW.late = 1 AND NEW.state NOT IN ('closed', 'rated', 'merged', 'rejected')) BEGIN
    UPDATE case_late_open SET n = n - 1 WHERE street_id = OLD.street_id AND place_path = OLD.place_path
        AND OLD.late = 1 AND OLD.state NOT IN ('closed', 'rated', 'merged', 'rejected');
    INSERT OR IGNORE INTO case_late_open (street_id, place_path)
        SELECT NEW.street_id, NEW.place_path WHERE NEW.late = 1 AND NEW.state NOT IN ('closed', 'rated', 'merged', 'rejected');
    UPDATE case_late_open SET n = n + 1 WHERE street_id = NEW.street_id AND place_path = NEW.place_path
        AND NEW.late = 1 AND NEW.state NOT IN ('closed', 'rated', 'merged', 'rejected');
END;

CREATE TRIGGER case_late_open_delete AFTER DELETE ON cases
WHEN OLD.late = 1 AND OLD.state NOT IN ('closed', 'rated', 'merged', 'rejected') BEGIN
    UPDATE case_late_open SET n = n - 1 WHERE street_id = OLD.street_id AND place_path = OLD.place_path;
END;

INSERT INTO case_late_open (street_id, place_path, n)
    SELECT street_id, place_path, COUNT(*) FROM cases
    WHERE late = 1 AND state NOT IN ('closed', 'rated', 'merged', 'rejected')
    GROUP BY street_id, place_path;

CREATE TABLE cockpit_daily (
    street_id BIGINT NOT NULL,
    measure TEXT NOT NULL,
    place_id BIGINT NOT NULL,                     -- a grid, or the street itself for the total
    day TEXT NOT NULL,                            -- YYYY-MM-DD, China time
    value DOUBLE PRECISION,
    PRIMARY KEY (street_id, measure, place_id, day)
);
