-- Issue 20: a street's rentals in their list order (latest end first), so the page of a whole
-- street's registrations stops after 50 instead of sorting all of them; the place path rides
-- along, so a narrower scope filters that walk without reading the rows.
CREATE INDEX rentals_street_end ON rentals (street_id, end_date, id, place_path);
