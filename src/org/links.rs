//! One-time links for accounts (issue 21): a new account is activated, and a forgotten password
//! replaced, only by whoever holds the link — no administrator ever sets or learns another
//! person's password. Only the token's hash is stored; a link works once and expires.

use crate::org::auth::{random_token, token_hash};
use crate::params;
use crate::store::{Conn, Result};

/// How long a link lasts: activation a week (the letter may take days), a reset a day.
pub const ACTIVATE_MS: i64 = 7 * 24 * 3600 * 1000;
pub const RESET_MS: i64 = 24 * 3600 * 1000;
/// A sign-in's second step (the password checked, the code to come): five minutes.
pub const SECOND_FACTOR_MS: i64 = 5 * 60 * 1000;

/// What a link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Activate,
    Reset,
    /// The second step of a sign-in: the password is checked, a code is still due.
    SecondFactor,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Activate => "activate",
            Purpose::Reset => "reset",
            Purpose::SecondFactor => "second_factor",
        }
    }

    fn ttl(self) -> i64 {
        match self {
            Purpose::Activate => ACTIVATE_MS,
            Purpose::Reset => RESET_MS,
            Purpose::SecondFactor => SECOND_FACTOR_MS,
        }
    }
}

/// Issues a link for `user_id`; earlier unused links of the account stop working. Returns the
/// token (shown once) and when it expires.
pub fn issue(
    c: &mut dyn Conn,
    user_id: i64,
    street_id: Option<i64>,
    purpose: Purpose,
    by: Option<i64>,
    now: i64,
) -> Result<(String, i64)> {
    c.exec(
        "UPDATE account_links SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        params![user_id, now],
    )?;
    let token = random_token("");
    let expires = now + purpose.ttl();
    c.exec(
        "INSERT INTO account_links (street_id, user_id, purpose, token_hash, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![
            street_id,
            user_id,
            purpose.as_str(),
            token_hash(&token),
            by,
            now,
            expires
        ],
    )?;
    Ok((token, expires))
}

/// What a token is, looked up without using it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// Good: the account and what the link is for, and its username.
    Valid {
        link_id: i64,
        user_id: i64,
        username: String,
        purpose: String,
    },
    Used,
    Expired,
    Unknown,
}

pub fn find(c: &mut dyn Conn, token: &str, now: i64) -> Result<Found> {
    let Some(r) = c.query_opt(
        "SELECT l.id, l.user_id, u.username, l.purpose, l.expires_at, l.used_at FROM account_links l \
         JOIN users u ON u.id = l.user_id WHERE l.token_hash = $1",
        params![token_hash(token)],
    )?
    else {
        return Ok(Found::Unknown);
    };
    if r.opt_i64(5).is_some() {
        return Ok(Found::Used);
    }
    if r.i64(4) <= now {
        return Ok(Found::Expired);
    }
    Ok(Found::Valid {
        link_id: r.i64(0),
        user_id: r.i64(1),
        username: r.str(2),
        purpose: r.str(3),
    })
}

/// Marks a link used; false when another request used it first.
pub fn consume(c: &mut dyn Conn, link_id: i64, now: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE account_links SET used_at = $2 WHERE id = $1 AND used_at IS NULL",
        params![link_id, now],
    )? == 1)
}

/// Whether an account is still waiting for its first sign-in (an activation link, never used).
pub fn awaiting_activation(c: &mut dyn Conn, user_id: i64) -> Result<bool> {
    Ok(c
        .query_opt(
            "SELECT 1 FROM account_links WHERE user_id = $1 AND purpose = 'activate' AND used_at IS NULL",
            params![user_id],
        )?
        .is_some())
}
