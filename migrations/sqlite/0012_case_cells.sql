-- Nearby open cases for duplicate suggestions are read by grid cell (1/200 of a degree, about
-- 550 m), newest first, instead of walking every open case of the category: the cell is
-- computed from the point (truncated, as linli computes it) and indexed with the category.
ALTER TABLE cases ADD COLUMN cell BIGINT;
UPDATE cases SET cell = CAST(lat * 200 AS INTEGER) * 100000 + CAST(lon * 200 AS INTEGER)
    WHERE lat IS NOT NULL AND lon IS NOT NULL;
DROP INDEX cases_dup_geo;
CREATE INDEX cases_dup_geo ON cases (category_id, cell, created_at)
    WHERE state NOT IN ('closed', 'rated', 'merged', 'rejected');
