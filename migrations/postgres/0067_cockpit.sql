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

CREATE FUNCTION case_late_open_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.late = 1 AND OLD.state NOT IN ('closed', 'rated', 'merged', 'rejected') THEN
        UPDATE case_late_open SET n = n - 1 WHERE street_id = OLD.street_id AND place_path = OLD.place_path;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.late = 1 AND NEW.state NOT IN ('closed', 'rated', 'merged', 'rejected') THEN
        INSERT INTO case_late_open (street_id, place_path, n) VALUES (NEW.street_id, NEW.place_path, 1)
            ON CONFLICT (street_id, place_path) DO UPDATE SET n = case_late_open.n + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER case_late_open_track AFTER INSERT OR DELETE OR UPDATE OF state, late, place_path, street_id
    ON cases FOR EACH ROW EXECUTE FUNCTION case_late_open_track();

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
