-- Gaps in sharing (issue 25): an organiser restocks a catalogue item (each restock logged:
-- how many, the stock after, who, when, a note); a sign-up sheet closed early by its
-- organiser (when, by whom, why: entries refused after); a fund entry withdrawn by its
-- proposer before it is approved (state 'withdrawn', kept in the ledger's history, never
-- counted).

CREATE TABLE vol_restocks (
    id INTEGER PRIMARY KEY,
    street_id BIGINT NOT NULL REFERENCES places(id),
    item_id BIGINT NOT NULL REFERENCES vol_items(id),
    added BIGINT NOT NULL CHECK (added > 0),
    stock_after BIGINT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    by_user BIGINT NOT NULL REFERENCES users(id),
    by_name TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX vol_restocks_item ON vol_restocks (item_id, at);

ALTER TABLE sheets ADD COLUMN closed_at BIGINT;
ALTER TABLE sheets ADD COLUMN closed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE sheets ADD COLUMN close_reason TEXT NOT NULL DEFAULT '';

ALTER TABLE fund_entries ADD COLUMN withdrawn_at BIGINT;
