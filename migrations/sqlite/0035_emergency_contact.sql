-- A person's own emergency contact (issue 19 item 4): whom a worker calls when a care alert
-- fires. The name is kept as typed; the number is encrypted like the person's own phone and
-- leaves the store masked, shown in full only through a reveal with a purpose (audited).
ALTER TABLE persons ADD COLUMN emergency_name TEXT;
ALTER TABLE persons ADD COLUMN emergency_phone_enc BLOB;
ALTER TABLE persons ADD COLUMN emergency_phone_masked TEXT;
