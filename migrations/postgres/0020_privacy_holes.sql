-- Categories about people (群租, family disputes, care for the elderly) are never published,
-- whatever their public flag says: the demo catalogue's codes for them are marked here, others
-- by the street administrator.
ALTER TABLE case_categories ADD COLUMN about_people BIGINT NOT NULL DEFAULT 0;
UPDATE case_categories SET about_people = 1, public = 0
    WHERE code IN ('group_rental', 'elderly_care', 'family_dispute');
