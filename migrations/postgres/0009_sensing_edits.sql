-- linli schema 9: sensing rules can be edited, disabled and deleted. A deleted rule keeps its
-- row — its past alerts name it — but is inactive and leaves the lists; `updated_at` is when
-- an administrator last changed it.

ALTER TABLE rules ADD COLUMN deleted_at BIGINT;
ALTER TABLE rules ADD COLUMN updated_at BIGINT;
