-- Categories about people (群租, family disputes, care for the elderly) are never published,
-- whatever their public flag says: the demo catalogue's codes for them are marked here, others
-- by the street administrator.
ALTER TABLE case_categories ADD COLUMN about_people BIGINT NOT NULL DEFAULT 0;
UPDATE case_categories SET about_people = 1, public = 0
    WHERE code IN ('group_rental', 'elderly_care', 'family_dispute');
-- The reporter's phone or e-mail (hotline, Open311) encrypted under the field key, like persons'
-- phones, with its masked form for display. Contacts stored in clear before this are encrypted
-- (and the clear column emptied) when linli next starts: the key is not in the database.
ALTER TABLE cases ADD COLUMN reporter_contact_enc BLOB;
ALTER TABLE cases ADD COLUMN reporter_contact_masked TEXT NOT NULL DEFAULT '';
