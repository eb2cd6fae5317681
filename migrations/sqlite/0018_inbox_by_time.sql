-- A user's messages newest first by when they happened, not by the order rows were written (a
-- demo's history, or a sweep catching up after downtime, writes older events after newer ones).
CREATE INDEX inbox_user_time ON inbox (user_id, created_at, id);
