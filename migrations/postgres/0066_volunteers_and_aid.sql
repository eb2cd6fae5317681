-- A volunteer's affiliation and availability (issue 25 part 1), kept in her call-up profile:
-- a resident, a party member registered in the community (在职党员报到: her employer or party
-- organisation as typed, the date she registered), or staff of a unit in the area (驻区单位:
-- an organisation of the street); and the weekly slots she is free (weekday x morning,
-- afternoon, evening, enclosed in commas like skills: ',mon_morning,sat_evening,') with a note.

ALTER TABLE callup_profiles ADD COLUMN affiliation TEXT NOT NULL DEFAULT 'resident';
ALTER TABLE callup_profiles ADD COLUMN party_org TEXT NOT NULL DEFAULT '';
ALTER TABLE callup_profiles ADD COLUMN party_registered_on TEXT;
ALTER TABLE callup_profiles ADD COLUMN unit_org_id BIGINT REFERENCES organisations(id);
ALTER TABLE callup_profiles ADD COLUMN availability TEXT NOT NULL DEFAULT '';
ALTER TABLE callup_profiles ADD COLUMN availability_note TEXT NOT NULL DEFAULT '';

-- Mutual aid's gaps (issue 25 part 2): a hidden post remembers the state it was hidden from,
-- so that a worker who restores it (with a reason, audited) puts it back as it was; an open
-- post past its time is marked expired by a job (aid's `expire` job) and its poster told
-- once, when it was marked.
ALTER TABLE aid_posts ADD COLUMN hidden_from TEXT;
ALTER TABLE aid_posts ADD COLUMN restored_reason TEXT;
ALTER TABLE aid_posts ADD COLUMN restored_by BIGINT;
ALTER TABLE aid_posts ADD COLUMN restored_at BIGINT;
ALTER TABLE aid_posts ADD COLUMN expired_at BIGINT;
