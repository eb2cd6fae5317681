-- Duplicate candidates are open cases only, newest first: partial indexes that hold exactly
-- those rows, newest first per category (carrying the point) and per building, so intake reads
-- a few index entries instead of every case of the category ever reported nearby.
DROP INDEX cases_dup_geo;
DROP INDEX cases_dup_building;
CREATE INDEX cases_dup_building ON cases (category_id, building_id, created_at)
    WHERE state NOT IN ('closed', 'rated', 'merged', 'rejected');
CREATE INDEX cases_dup_geo ON cases (category_id, created_at, lat, lon)
    WHERE state NOT IN ('closed', 'rated', 'merged', 'rejected');
