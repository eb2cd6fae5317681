-- The duplicate search reads, per way of being near, the newest open cases of a category:
-- in the same building, or in a grid cell and within the radius. Both indexes now carry
-- everything a candidate is ranked on (state, point, building, street, terms), so the search
-- reads a few adjacent index pages instead of one table page per candidate, and the radius is
-- checked on index entries: the table is read only for the descriptions of the suggestions
-- shown. (PostgreSQL's index carries the point only: its index entries have a size limit that
-- a long description's terms would pass.)
DROP INDEX cases_dup_geo;
DROP INDEX cases_dup_building;
CREATE INDEX cases_dup_building ON cases (category_id, building_id, created_at, state, lat, lon, street_id, terms)
    WHERE state NOT IN ('closed', 'rated', 'merged', 'rejected');
CREATE INDEX cases_dup_geo ON cases (category_id, cell, created_at, lat, lon, state, building_id, street_id, terms)
    WHERE state NOT IN ('closed', 'rated', 'merged', 'rejected');
