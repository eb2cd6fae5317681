-- Accounts that joined: which account, which person, how (self or invitation) and when. The
-- building a joined person counts under is where she lives now (the registry's), so an account
-- whose person moves household counts where she moved to.
CREATE TABLE join_accounts (
    user_id BIGINT PRIMARY KEY,
    person_id BIGINT NOT NULL,
    street_id BIGINT NOT NULL,
    how TEXT NOT NULL,
    joined_at BIGINT NOT NULL
);
CREATE INDEX join_accounts_street ON join_accounts (street_id);
CREATE INDEX join_accounts_person ON join_accounts (person_id);
