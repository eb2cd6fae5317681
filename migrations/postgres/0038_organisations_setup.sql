-- Organisations set up by the street (issue 21 part 3): departments, property companies,
-- owners' committees and social organisations are created, renamed and retired on a page.
-- A retired organisation keeps its history (cases, members' past grants) but takes no new
-- cases and is no longer offered for dispatch, routing or grants.
ALTER TABLE organisations ADD COLUMN retired_at BIGINT;
ALTER TABLE organisations ADD COLUMN phone TEXT;
