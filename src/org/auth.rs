//! Sessions (cookies for people), API tokens (Bearer, for machine clients), and turning
//! either into the [`Caller`] behind a request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::{Caller, Scope, users};
use crate::params;
use crate::store::{Conn, Result, now_ms};

/// Timeouts, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    pub idle_ms: i64,
    pub absolute_ms: i64,
    pub token_ms: i64,
}

pub use crate::kernel::ids::random_token;

/// Only this hash of a session or API token is stored; the token itself lives with the client.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Starts a session; returns the cookie value and the CSRF token bound to it.
pub fn create_session(
    c: &mut dyn Conn,
    user_id: i64,
    policy: &SessionPolicy,
) -> Result<(String, String)> {
    let token = random_token("");
    let csrf = random_token("");
    let now = now_ms();
    c.exec(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $4, $5)",
        params![token_hash(&token), user_id, csrf.clone(), now, now + policy.absolute_ms],
    )?;
    // Old expired sessions of anyone are swept here rather than by a separate job.
    c.exec("DELETE FROM sessions WHERE expires_at < $1", params![now])?;
    Ok((token, csrf))
}

pub fn end_session(c: &mut dyn Conn, token: &str) -> Result<()> {
    c.exec(
        "DELETE FROM sessions WHERE token_hash = $1",
        params![token_hash(token)],
    )?;
    Ok(())
}

pub fn create_api_token(
    c: &mut dyn Conn,
    user_id: i64,
    name: &str,
    policy: &SessionPolicy,
) -> Result<(String, i64)> {
    let token = random_token("lnl_");
    let now = now_ms();
    let expires = now + policy.token_ms;
    c.exec(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        params![user_id, name, token_hash(&token), now, expires],
    )?;
    Ok((token, expires))
}

/// Deletes the sessions and API tokens that expired before `now`: (sessions, tokens).
pub fn purge_expired(c: &mut dyn Conn, now: i64) -> Result<(u64, u64)> {
    let sessions = c.exec("DELETE FROM sessions WHERE expires_at < $1", params![now])?;
    let tokens = c.exec("DELETE FROM api_tokens WHERE expires_at < $1", params![now])?;
    Ok((sessions, tokens))
}

pub fn revoke_api_token(c: &mut dyn Conn, token: &str) -> Result<bool> {
    Ok(c.exec(
        "DELETE FROM api_tokens WHERE token_hash = $1",
        params![token_hash(token)],
    )? > 0)
}

/// How a request authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential<'a> {
    Session(&'a str),
    Bearer(&'a str),
}

/// A write that resolving a credential asks for, done afterwards so that resolving itself
/// is a read and authenticated requests do not queue on the single SQLite writer.
#[derive(Debug, PartialEq, Eq)]
pub enum Touch {
    Nothing,
    EndSession(String),
    SessionSeen(String),
    TokenUsed(String),
}

/// Resolves a credential to its caller, enforcing the session's idle and absolute timeouts.
/// Asks to touch `last_seen_at` at most once a minute.
pub fn resolve(
    c: &mut dyn Conn,
    cred: Credential<'_>,
    policy: &SessionPolicy,
) -> Result<(Option<Caller>, Touch)> {
    let now = now_ms();
    let (user_id, csrf, touch) = match cred {
        Credential::Session(token) => {
            let h = token_hash(token);
            let Some(r) = c.query_opt(
                "SELECT user_id, csrf_token, last_seen_at, expires_at FROM sessions WHERE token_hash = $1",
                params![h.clone()],
            )?
            else {
                return Ok((None, Touch::Nothing));
            };
            if r.i64(3) < now || r.i64(2) + policy.idle_ms < now {
                return Ok((None, Touch::EndSession(h)));
            }
            let touch = if now - r.i64(2) > 60_000 {
                Touch::SessionSeen(h)
            } else {
                Touch::Nothing
            };
            (r.i64(0), Some(r.str(1)), touch)
        }
        Credential::Bearer(token) => {
            let h = token_hash(token);
            let Some(r) = c.query_opt(
                "SELECT user_id, expires_at, last_used_at FROM api_tokens WHERE token_hash = $1",
                params![h.clone()],
            )?
            else {
                return Ok((None, Touch::Nothing));
            };
            if r.i64(1) < now {
                return Ok((None, Touch::Nothing));
            }
            let touch = if now - r.opt_i64(2).unwrap_or(0) > 60_000 {
                Touch::TokenUsed(h)
            } else {
                Touch::Nothing
            };
            (r.i64(0), None, touch)
        }
    };
    Ok((load_caller(c, user_id, csrf)?, touch))
}

pub fn apply_touch(c: &mut dyn Conn, touch: &Touch) -> Result<()> {
    let now = now_ms();
    match touch {
        Touch::Nothing => {}
        Touch::EndSession(h) => {
            c.exec(
                "DELETE FROM sessions WHERE token_hash = $1",
                params![h.clone()],
            )?;
        }
        Touch::SessionSeen(h) => {
            c.exec(
                "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2",
                params![now, h.clone()],
            )?;
        }
        Touch::TokenUsed(h) => {
            c.exec(
                "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2",
                params![now, h.clone()],
            )?;
        }
    }
    Ok(())
}

/// Builds the caller of an active user: grants, scope, own household.
pub fn load_caller(c: &mut dyn Conn, user_id: i64, csrf: Option<String>) -> Result<Option<Caller>> {
    let Some(u) = users::by_id(c, user_id)? else {
        return Ok(None);
    };
    if !u.active {
        return Ok(None);
    }
    let own_household = match u.person_id {
        Some(pid) => super::hooks::household_of(c, pid)?,
        None => None,
    };
    let scope = Scope::from_grants(&u.grants, own_household);
    Ok(Some(Caller {
        user_id: u.id,
        username: u.username,
        display_name: u.display_name,
        street_id: u.street_id,
        person_id: u.person_id,
        grants: u.grants,
        scope,
        csrf,
    }))
}

/// A short-lived cache of resolved callers, so that an authenticated request costs no
/// database round trip for its identity. Any change to accounts clears it.
///
/// Other processes sharing the database keep caches of their own: a clear here is signalled
/// on `cleared`, which the application tells them of (`app::bus`), and they clear theirs
/// with [`CallerCache::clear_here`].
pub struct CallerCache {
    ttl: Duration,
    map: Mutex<HashMap<String, (Caller, Instant)>>,
    /// Notified (a permit kept until taken) whenever [`CallerCache::clear`] runs.
    pub cleared: tokio::sync::Notify,
}

impl CallerCache {
    pub fn new(ttl: Duration) -> CallerCache {
        CallerCache {
            ttl,
            map: Mutex::new(HashMap::new()),
            cleared: tokio::sync::Notify::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<Caller> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(c, _)| c.clone())
    }

    pub fn put(&self, key: String, caller: Caller) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            let ttl = self.ttl;
            map.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        map.insert(key, (caller, Instant::now()));
    }

    /// Forgets every caller, here and (through `cleared`) in the other processes.
    pub fn clear(&self) {
        self.clear_here();
        self.cleared.notify_one();
    }

    /// Forgets every caller in this process only (another process told of a change).
    pub fn clear_here(&self) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
