-- The duplicate search reads the newest open cases of a category in a grid cell that lie in a
-- box around the point, within the radius. With the point in the index, the box and the circle
-- are checked on index entries alone and the table is read only for the candidates kept, not for
-- every case of the cell outside them (in a busy cell most of them).
DROP INDEX cases_dup_geo;
CREATE INDEX cases_dup_geo ON cases (category_id, cell, created_at, lat, lon)
    WHERE state NOT IN ('closed', 'rated', 'merged', 'rejected');
