-- A worker's work phone (issue 19 item 16): the resident whose case it is taps it to call her
-- grid worker. A number for work, set by the user administrator; not a resident's data.
ALTER TABLE users ADD COLUMN work_phone TEXT;
