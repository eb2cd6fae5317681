-- The duplicate search reads the newest open cases of a category in a grid cell that lie
-- within the radius: with the point in the index, the box and the radius are checked on
-- index entries. (SQLite's indexes also carry the terms; here an index entry has a size limit
-- that a long description's terms would pass.)
DROP INDEX cases_dup_geo;
CREATE INDEX cases_dup_geo ON cases (category_id, cell, created_at, lat, lon)
    WHERE state NOT IN ('closed', 'rated', 'merged', 'rejected');
