-- Places of one kind under a path (issue 20): the grids a map draws and the counts by kind on
-- the home page read this index's range instead of every place under the street (20,000 units
-- of a street: 4 ms a map before, under 1 ms after).
CREATE INDEX places_kind_path ON places (kind, path, retired_at);
