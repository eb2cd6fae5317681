-- Issue 20: population figures kept, not recomputed per request. Every resident (not 'left')
-- counts once under each place above their unit (district … building), per dimension: all,
-- sex, age (band as of the street's counted day), presence, residence, hukou, tag (valid on
-- that day); households count under the places above their unit. Rows are per street (the
-- tenant key): a district's figure is the sum over its streets. Writes that move a figure
-- adjust these rows in their own transaction (registry::counts); the registry's job recounts
-- a street when its day is not today (age bands and tag validity move with the calendar).
CREATE TABLE population_counts (
    street_id BIGINT NOT NULL REFERENCES places(id),
    path TEXT NOT NULL,
    dim TEXT NOT NULL,
    key TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (path, dim, key, street_id)
) WITHOUT ROWID;
CREATE INDEX population_counts_street ON population_counts (street_id);

-- The day each street's counts hold for (YYYY-MM-DD, China Standard Time); no row: never
-- counted, and the figures are read from the records.
CREATE TABLE population_days (
    street_id BIGINT PRIMARY KEY REFERENCES places(id),
    day TEXT NOT NULL,
    counted_at BIGINT NOT NULL
);
