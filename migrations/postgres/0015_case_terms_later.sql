-- A case opened inside a write transaction (a sensor alert) before the word segmenter was
-- loaded is stored with the character pairs of its description only; the cases job completes
-- its terms once the segmenter is loaded.
ALTER TABLE cases ADD COLUMN terms_partial INTEGER NOT NULL DEFAULT 0;
CREATE INDEX cases_terms_partial ON cases (id) WHERE terms_partial = 1;
