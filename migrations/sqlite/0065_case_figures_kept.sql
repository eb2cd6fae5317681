-- Figures kept, not recounted (issue 26's target: the figures page over a million cases in
-- < 300 ms). The self-governed section and the routing section were read from every case (and
-- every dispatch and return) of the period; they are now kept by triggers, as case_figures is
-- for the organisations: case_self_figures per area and day of report for self-governed cases,
-- case_routing_figures per day of report, category and the organisation the case is with now
-- (0: none) for cases dispatched at least once. A case carries its count of dispatches and
-- returns, kept by a trigger on its steps. The last statements fill both from what is there.

ALTER TABLE cases ADD COLUMN dispatches BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN returns BIGINT NOT NULL DEFAULT 0;

CREATE TABLE case_self_figures (
    street_id BIGINT NOT NULL,
    area_path TEXT NOT NULL,
    day BIGINT NOT NULL,
    handled BIGINT NOT NULL DEFAULT 0,
    open BIGINT NOT NULL DEFAULT 0,
    resolved BIGINT NOT NULL DEFAULT 0,
    closed_other BIGINT NOT NULL DEFAULT 0,
    rated BIGINT NOT NULL DEFAULT 0,
    rating_sum BIGINT NOT NULL DEFAULT 0,
    h0 BIGINT NOT NULL DEFAULT 0,
    h1 BIGINT NOT NULL DEFAULT 0,
    h2 BIGINT NOT NULL DEFAULT 0,
    h3 BIGINT NOT NULL DEFAULT 0,
    h4 BIGINT NOT NULL DEFAULT 0,
    h5 BIGINT NOT NULL DEFAULT 0,
    h6 BIGINT NOT NULL DEFAULT 0,
    h7 BIGINT NOT NULL DEFAULT 0,
    h8 BIGINT NOT NULL DEFAULT 0,
    h9 BIGINT NOT NULL DEFAULT 0,
    h10 BIGINT NOT NULL DEFAULT 0,
    h11 BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (street_id, area_path, day)
);

CREATE TRIGGER case_self_figures_insert AFTER INSERT ON cases WHEN NEW.self_governed = 1 BEGIN
    INSERT OR IGNORE INTO case_self_figures (street_id, area_path, day)
        SELECT NEW.street_id, COALESCE((SELECT g.path FROM places b JOIN places g ON g.id = b.parent_id WHERE b.id = NEW.building_id), (SELECT p.path FROM places p WHERE p.id = NEW.place_id), ''), ((NEW.created_at + 28800000) / 86400000) WHERE NEW.self_governed = 1;
    UPDATE case_self_figures SET handled = handled + 1, open = open + (CASE WHEN NEW.state NOT IN ('closed', 'rated', 'merged', 'rejected') THEN 1 ELSE 0 END), resolved = resolved + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) THEN 1 ELSE 0 END), closed_other = closed_other + (CASE WHEN NEW.state IN ('closed', 'rated', 'merged', 'rejected') AND NOT (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) THEN 1 ELSE 0 END), rated = rated + (CASE WHEN NEW.rating IS NOT NULL THEN 1 ELSE 0 END), rating_sum = rating_sum + COALESCE(NEW.rating, 0), h0 = h0 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at < 3600000 THEN 1 ELSE 0 END), h1 = h1 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 3600000 AND NEW.resolved_at - NEW.created_at < 7200000 THEN 1 ELSE 0 END), h2 = h2 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 7200000 AND NEW.resolved_at - NEW.created_at < 14400000 THEN 1 ELSE 0 END), h3 = h3 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 14400000 AND NEW.resolved_at - NEW.created_at < 28800000 THEN 1 ELSE 0 END), h4 = h4 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 28800000 AND NEW.resolved_at - NEW.created_at < 43200000 THEN 1 ELSE 0 END), h5 = h5 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 43200000 AND NEW.resolved_at - NEW.created_at < 86400000 THEN 1 ELSE 0 END), h6 = h6 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 86400000 AND NEW.resolved_at - NEW.created_at < 172800000 THEN 1 ELSE 0 END), h7 = h7 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 172800000 AND NEW.resolved_at - NEW.created_at < 259200000 THEN 1 ELSE 0 END), h8 = h8 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 259200000 AND NEW.resolved_at - NEW.created_at < 432000000 THEN 1 ELSE 0 END), h9 = h9 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 432000000 AND NEW.resolved_at - NEW.created_at < 864000000 THEN 1 ELSE 0 END), h10 = h10 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 864000000 AND NEW.resolved_at - NEW.created_at < 1728000000 THEN 1 ELSE 0 END), h11 = h11 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 1728000000 THEN 1 ELSE 0 END)
        WHERE street_id = NEW.street_id AND area_path = COALESCE((SELECT g.path FROM places b JOIN places g ON g.id = b.parent_id WHERE b.id = NEW.building_id), (SELECT p.path FROM places p WHERE p.id = NEW.place_id), '') AND day = ((NEW.created_at + 28800000) / 86400000);
END;

CREATE TRIGGER case_self_figures_update AFTER UPDATE OF state, self_governed, rating, resolved_at, created_at, building_id, place_id ON cases
WHEN OLD.self_governed = 1 OR NEW.self_governed = 1 BEGIN
    UPDATE case_self_figures SET handled = handled - 1, open = open - (CASE WHEN OLD.state NOT IN ('closed', 'rated', 'merged', 'rejected') THEN 1 ELSE 0 END), resolved = resolved - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) THEN 1 ELSE 0 END), closed_other = closed_other - (CASE WHEN OLD.state IN ('closed', 'rated', 'merged', 'rejected') AND NOT (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) THEN 1 ELSE 0 END), rated = rated - (CASE WHEN OLD.rating IS NOT NULL THEN 1 ELSE 0 END), rating_sum = rating_sum - COALESCE(OLD.rating, 0), h0 = h0 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at < 3600000 THEN 1 ELSE 0 END), h1 = h1 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 3600000 AND OLD.resolved_at - OLD.created_at < 7200000 THEN 1 ELSE 0 END), h2 = h2 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 7200000 AND OLD.resolved_at - OLD.created_at < 14400000 THEN 1 ELSE 0 END), h3 = h3 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 14400000 AND OLD.resolved_at - OLD.created_at < 28800000 THEN 1 ELSE 0 END), h4 = h4 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 28800000 AND OLD.resolved_at - OLD.created_at < 43200000 THEN 1 ELSE 0 END), h5 = h5 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 43200000 AND OLD.resolved_at - OLD.created_at < 86400000 THEN 1 ELSE 0 END), h6 = h6 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 86400000 AND OLD.resolved_at - OLD.created_at < 172800000 THEN 1 ELSE 0 END), h7 = h7 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 172800000 AND OLD.resolved_at - OLD.created_at < 259200000 THEN 1 ELSE 0 END), h8 = h8 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 259200000 AND OLD.resolved_at - OLD.created_at < 432000000 THEN 1 ELSE 0 END), h9 = h9 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 432000000 AND OLD.resolved_at - OLD.created_at < 864000000 THEN 1 ELSE 0 END), h10 = h10 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 864000000 AND OLD.resolved_at - OLD.created_at < 1728000000 THEN 1 ELSE 0 END), h11 = h11 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 1728000000 THEN 1 ELSE 0 END)
        WHERE street_id = OLD.street_id AND area_path = COALESCE((SELECT g.path FROM places b JOIN places g ON g.id = b.parent_id WHERE b.id = OLD.building_id), (SELECT p.path FROM places p WHERE p.id = OLD.place_id), '') AND day = ((OLD.created_at + 28800000) / 86400000) AND OLD.self_governed = 1;
    INSERT OR IGNORE INTO case_self_figures (street_id, area_path, day)
        SELECT NEW.street_id, COALESCE((SELECT g.path FROM places b JOIN places g ON g.id = b.parent_id WHERE b.id = NEW.building_id), (SELECT p.path FROM places p WHERE p.id = NEW.place_id), ''), ((NEW.created_at + 28800000) / 86400000) WHERE NEW.self_governed = 1;
    UPDATE case_self_figures SET handled = handled + 1, open = open + (CASE WHEN NEW.state NOT IN ('closed', 'rated', 'merged', 'rejected') THEN 1 ELSE 0 END), resolved = resolved + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) THEN 1 ELSE 0 END), closed_other = closed_other + (CASE WHEN NEW.state IN ('closed', 'rated', 'merged', 'rejected') AND NOT (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) THEN 1 ELSE 0 END), rated = rated + (CASE WHEN NEW.rating IS NOT NULL THEN 1 ELSE 0 END), rating_sum = rating_sum + COALESCE(NEW.rating, 0), h0 = h0 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at < 3600000 THEN 1 ELSE 0 END), h1 = h1 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 3600000 AND NEW.resolved_at - NEW.created_at < 7200000 THEN 1 ELSE 0 END), h2 = h2 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 7200000 AND NEW.resolved_at - NEW.created_at < 14400000 THEN 1 ELSE 0 END), h3 = h3 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 14400000 AND NEW.resolved_at - NEW.created_at < 28800000 THEN 1 ELSE 0 END), h4 = h4 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 28800000 AND NEW.resolved_at - NEW.created_at < 43200000 THEN 1 ELSE 0 END), h5 = h5 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 43200000 AND NEW.resolved_at - NEW.created_at < 86400000 THEN 1 ELSE 0 END), h6 = h6 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 86400000 AND NEW.resolved_at - NEW.created_at < 172800000 THEN 1 ELSE 0 END), h7 = h7 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 172800000 AND NEW.resolved_at - NEW.created_at < 259200000 THEN 1 ELSE 0 END), h8 = h8 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 259200000 AND NEW.resolved_at - NEW.created_at < 432000000 THEN 1 ELSE 0 END), h9 = h9 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 432000000 AND NEW.resolved_at - NEW.created_at < 864000000 THEN 1 ELSE 0 END), h10 = h10 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 864000000 AND NEW.resolved_at - NEW.created_at < 1728000000 THEN 1 ELSE 0 END), h11 = h11 + (CASE WHEN (NEW.state IN ('closed', 'rated') AND NEW.resolved_at IS NOT NULL) AND NEW.resolved_at - NEW.created_at >= 1728000000 THEN 1 ELSE 0 END)
        WHERE street_id = NEW.street_id AND area_path = COALESCE((SELECT g.path FROM places b JOIN places g ON g.id = b.parent_id WHERE b.id = NEW.building_id), (SELECT p.path FROM places p WHERE p.id = NEW.place_id), '') AND day = ((NEW.created_at + 28800000) / 86400000) AND NEW.self_governed = 1;
END;

CREATE TRIGGER case_self_figures_delete AFTER DELETE ON cases WHEN OLD.self_governed = 1 BEGIN
    UPDATE case_self_figures SET handled = handled - 1, open = open - (CASE WHEN OLD.state NOT IN ('closed', 'rated', 'merged', 'rejected') THEN 1 ELSE 0 END), resolved = resolved - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) THEN 1 ELSE 0 END), closed_other = closed_other - (CASE WHEN OLD.state IN ('closed', 'rated', 'merged', 'rejected') AND NOT (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) THEN 1 ELSE 0 END), rated = rated - (CASE WHEN OLD.rating IS NOT NULL THEN 1 ELSE 0 END), rating_sum = rating_sum - COALESCE(OLD.rating, 0), h0 = h0 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at < 3600000 THEN 1 ELSE 0 END), h1 = h1 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 3600000 AND OLD.resolved_at - OLD.created_at < 7200000 THEN 1 ELSE 0 END), h2 = h2 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 7200000 AND OLD.resolved_at - OLD.created_at < 14400000 THEN 1 ELSE 0 END), h3 = h3 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 14400000 AND OLD.resolved_at - OLD.created_at < 28800000 THEN 1 ELSE 0 END), h4 = h4 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 28800000 AND OLD.resolved_at - OLD.created_at < 43200000 THEN 1 ELSE 0 END), h5 = h5 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 43200000 AND OLD.resolved_at - OLD.created_at < 86400000 THEN 1 ELSE 0 END), h6 = h6 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 86400000 AND OLD.resolved_at - OLD.created_at < 172800000 THEN 1 ELSE 0 END), h7 = h7 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 172800000 AND OLD.resolved_at - OLD.created_at < 259200000 THEN 1 ELSE 0 END), h8 = h8 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 259200000 AND OLD.resolved_at - OLD.created_at < 432000000 THEN 1 ELSE 0 END), h9 = h9 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 432000000 AND OLD.resolved_at - OLD.created_at < 864000000 THEN 1 ELSE 0 END), h10 = h10 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 864000000 AND OLD.resolved_at - OLD.created_at < 1728000000 THEN 1 ELSE 0 END), h11 = h11 - (CASE WHEN (OLD.state IN ('closed', 'rated') AND OLD.resolved_at IS NOT NULL) AND OLD.resolved_at - OLD.created_at >= 1728000000 THEN 1 ELSE 0 END)
        WHERE street_id = OLD.street_id AND area_path = COALESCE((SELECT g.path FROM places b JOIN places g ON g.id = b.parent_id WHERE b.id = OLD.building_id), (SELECT p.path FROM places p WHERE p.id = OLD.place_id), '') AND day = ((OLD.created_at + 28800000) / 86400000);
END;

CREATE TABLE case_routing_figures (
    street_id BIGINT NOT NULL,
    day BIGINT NOT NULL,
    category_id BIGINT NOT NULL,
    org_id BIGINT NOT NULL,
    dispatched BIGINT NOT NULL DEFAULT 0,
    returned BIGINT NOT NULL DEFAULT 0,
    rerouted BIGINT NOT NULL DEFAULT 0,
    troubled BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (street_id, day, category_id, org_id)
);

CREATE TRIGGER case_routing_figures_insert AFTER INSERT ON cases WHEN NEW.dispatches > 0 BEGIN
    INSERT OR IGNORE INTO case_routing_figures (street_id, day, category_id, org_id)
        SELECT NEW.street_id, ((NEW.created_at + 28800000) / 86400000), NEW.category_id, COALESCE(NEW.handler_org_id, 0) WHERE NEW.dispatches > 0;
    UPDATE case_routing_figures SET dispatched = dispatched + 1, returned = returned + (CASE WHEN NEW.returns > 0 THEN 1 ELSE 0 END), rerouted = rerouted + (CASE WHEN NEW.dispatches > 1 THEN 1 ELSE 0 END), troubled = troubled + (CASE WHEN NEW.returns > 0 OR NEW.dispatches > 1 THEN 1 ELSE 0 END)
        WHERE street_id = NEW.street_id AND day = ((NEW.created_at + 28800000) / 86400000) AND category_id = NEW.category_id AND org_id = COALESCE(NEW.handler_org_id, 0);
END;

CREATE TRIGGER case_routing_figures_update AFTER UPDATE OF dispatches, returns, category_id, handler_org_id, created_at ON cases
WHEN OLD.dispatches > 0 OR NEW.dispatches > 0 BEGIN
    UPDATE case_routing_figures SET dispatched = dispatched - 1, returned = returned - (CASE WHEN OLD.returns > 0 THEN 1 ELSE 0 END), rerouted = rerouted - (CASE WHEN OLD.dispatches > 1 THEN 1 ELSE 0 END), troubled = troubled - (CASE WHEN OLD.returns > 0 OR OLD.dispatches > 1 THEN 1 ELSE 0 END)
        WHERE street_id = OLD.street_id AND day = ((OLD.created_at + 28800000) / 86400000) AND category_id = OLD.category_id AND org_id = COALESCE(OLD.handler_org_id, 0) AND OLD.dispatches > 0;
    INSERT OR IGNORE INTO case_routing_figures (street_id, day, category_id, org_id)
        SELECT NEW.street_id, ((NEW.created_at + 28800000) / 86400000), NEW.category_id, COALESCE(NEW.handler_org_id, 0) WHERE NEW.dispatches > 0;
    UPDATE case_routing_figures SET dispatched = dispatched + 1, returned = returned + (CASE WHEN NEW.returns > 0 THEN 1 ELSE 0 END), rerouted = rerouted + (CASE WHEN NEW.dispatches > 1 THEN 1 ELSE 0 END), troubled = troubled + (CASE WHEN NEW.returns > 0 OR NEW.dispatches > 1 THEN 1 ELSE 0 END)
        WHERE street_id = NEW.street_id AND day = ((NEW.created_at + 28800000) / 86400000) AND category_id = NEW.category_id AND org_id = COALESCE(NEW.handler_org_id, 0) AND NEW.dispatches > 0;
END;

CREATE TRIGGER case_routing_figures_delete AFTER DELETE ON cases WHEN OLD.dispatches > 0 BEGIN
    UPDATE case_routing_figures SET dispatched = dispatched - 1, returned = returned - (CASE WHEN OLD.returns > 0 THEN 1 ELSE 0 END), rerouted = rerouted - (CASE WHEN OLD.dispatches > 1 THEN 1 ELSE 0 END), troubled = troubled - (CASE WHEN OLD.returns > 0 OR OLD.dispatches > 1 THEN 1 ELSE 0 END)
        WHERE street_id = OLD.street_id AND day = ((OLD.created_at + 28800000) / 86400000) AND category_id = OLD.category_id AND org_id = COALESCE(OLD.handler_org_id, 0);
END;

CREATE TRIGGER case_route_counts AFTER INSERT ON case_events WHEN NEW.action IN ('dispatch', 'return') BEGIN
    UPDATE cases SET dispatches = dispatches + (CASE WHEN NEW.action = 'dispatch' THEN 1 ELSE 0 END),
        returns = returns + (CASE WHEN NEW.action = 'return' THEN 1 ELSE 0 END)
    WHERE id = NEW.case_id;
END;

-- The fill: the counts from the steps already recorded (the update triggers above add each
-- dispatched case to case_routing_figures), and each self-governed case touched once so that
-- its trigger counts it (a column set to itself fires the trigger on both backends).
UPDATE cases SET
    dispatches = (SELECT COUNT(*) FROM case_events e WHERE e.case_id = cases.id AND e.action = 'dispatch'),
    returns = (SELECT COUNT(*) FROM case_events e WHERE e.case_id = cases.id AND e.action = 'return')
WHERE id IN (SELECT case_id FROM case_events WHERE action IN ('dispatch', 'return'));
UPDATE cases SET self_governed = self_governed WHERE self_governed = 1;
