-- Issue 19, item 5 (alert storms): a rule has an owner (whoever last created or changed it),
-- told when its alerts are grouped into one case; the grouping looks up a rule's recent
-- alert-opened cases in a grid. An alert's case_state may now also be 'grouped' (it joined
-- the grouped case of its rule and grid, case_id).
ALTER TABLE rules ADD COLUMN owner_id BIGINT;
CREATE INDEX alerts_rule_first ON alerts (rule_id, first_at);
