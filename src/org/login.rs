//! Signing in with a password, and what stands in front of it:
//!
//! - a rate per client address and a rate per account name (both per minute, in each
//!   process's memory: behind a balancer over N processes a client may try N times as often,
//!   which the two costs below, kept in the database, bound all the same);
//! - a cost per client address and account: after `login_max_failures` failed attempts from
//!   one address (an IPv6 /64) on one account, that address is refused for that account for
//!   `login_lockout_minutes`, while the account's holder, elsewhere, still signs in: one
//!   address alone cannot lock anyone out. Counted in the database (`login_attempts`), so a
//!   refusal by one process holds in every process sharing it;
//! - the account's own lock, counted in the database before the password is checked (so that
//!   parallel guesses cannot race past it): after `login_account_max_failures` failed or
//!   pending attempts from anywhere the account is locked for `login_lockout_minutes`.
//!
//! Every refusal — unknown name, wrong password, locked account, locked address, deactivated
//! account — is the same answer, and each spends one password hash's time, so that neither
//! the answer nor its timing tells whether a name exists or a password was right.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::users;
use crate::store::{Db, StoreError};

#[derive(Debug)]
pub enum LoginOutcome {
    Ok {
        user_id: i64,
    },
    /// Answered alike whatever the reason; the reason is for the audit log only.
    Refused(Refusal),
    /// Too many attempts a minute from this address or on this account name.
    RateLimited,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    BadCredentials,
    /// The account is locked (too many failures from anywhere).
    Locked,
    /// This client address is refused for this account (too many failures from it).
    ClientLocked,
    Inactive,
}

impl Refusal {
    /// How the audit log names it (`None`: a plain wrong name or password).
    pub fn purpose(self) -> Option<&'static str> {
        match self {
            Refusal::BadCredentials => None,
            Refusal::Locked => Some("locked"),
            Refusal::ClientLocked => Some("address locked"),
            Refusal::Inactive => Some("inactive"),
        }
    }
}

/// The settings of the guard, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub per_minute: u32,
    pub account_per_minute: u32,
    pub max_failures: i64,
    pub account_max_failures: i64,
    pub lockout_minutes: i64,
}

/// The in-memory part of the guard (the rates), and the limits of the rest, shared by the
/// page and the API.
pub struct Guard {
    limits: Limits,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_account: DefaultKeyedRateLimiter<String>,
}

fn quota(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least one"))
}

impl Guard {
    pub fn new(limits: Limits) -> Guard {
        Guard {
            limits,
            by_address: RateLimiter::keyed(quota(limits.per_minute)),
            by_account: RateLimiter::keyed(quota(limits.account_per_minute)),
        }
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.limits.lockout_minutes.max(1) as u64 * 60)
    }

    fn rate_ok(&self, client: IpAddr, name: &str) -> bool {
        if self.by_address.len() > 50_000 {
            self.by_address.retain_recent();
        }
        if self.by_account.len() > 50_000 {
            self.by_account.retain_recent();
        }
        self.by_address.check_key(&client).is_ok()
            && self.by_account.check_key(&name.to_string()).is_ok()
    }

    /// Counts an attempt from `client` on `name` before its password is checked; `false` when
    /// the address has spent its failures on this account. Now and then, attempts long past
    /// are forgotten in the same transaction.
    async fn reserve(&self, db: &Db, client: IpAddr, name: &str) -> Result<bool, StoreError> {
        let (client, name) = (client.to_string(), name.to_string());
        let (max, window) = (self.limits.max_failures, self.window().as_millis() as i64);
        let prune = rand::random::<u8>() == 0;
        db.write(move |c| {
            let now = crate::store::now_ms();
            if prune {
                users::prune_attempts(c, window, now)?;
            }
            users::reserve_client(c, &client, &name, max, window, now)
        })
        .await
    }

    async fn forgive(&self, db: &Db, client: IpAddr, name: &str) -> Result<(), StoreError> {
        let (client, name) = (client.to_string(), name.to_string());
        db.write(move |c| users::forgive_client(c, &client, &name))
            .await
    }
}

/// Checks a username and password from a client address. The argon2 work runs on a blocking
/// thread, outside any database transaction.
pub async fn check(
    db: &Db,
    guard: &Guard,
    client: IpAddr,
    username: &str,
    password: &str,
) -> Result<LoginOutcome, StoreError> {
    let client = client_key(client);
    let name: String = username
        .trim()
        .to_ascii_lowercase()
        .chars()
        .take(64)
        .collect();
    if !guard.rate_ok(client, &name) {
        return Ok(LoginOutcome::RateLimited);
    }
    let pw = password.to_string();
    if !guard.reserve(db, client, &name).await? {
        spend_a_hash(pw).await;
        return Ok(LoginOutcome::Refused(Refusal::ClientLocked));
    }
    let n = name.clone();
    let creds = db.read(move |c| users::by_username(c, &n)).await?;
    let Some(creds) = creds else {
        spend_a_hash(pw).await;
        return Ok(LoginOutcome::Refused(Refusal::BadCredentials));
    };
    let user_id = creds.user.id;
    let (max, lock_ms) = (
        guard.limits.account_max_failures,
        guard.limits.lockout_minutes * 60_000,
    );
    let allowed = db
        .write(move |c| users::reserve_attempt(c, user_id, max, lock_ms))
        .await?;
    if !allowed {
        spend_a_hash(pw).await;
        return Ok(LoginOutcome::Refused(Refusal::Locked));
    }
    let hash = creds.password_hash.clone();
    let ok = tokio::task::spawn_blocking(move || users::verify_password(&hash, &pw))
        .await
        .unwrap_or(false);
    if !ok {
        return Ok(LoginOutcome::Refused(Refusal::BadCredentials));
    }
    if !creds.user.active {
        return Ok(LoginOutcome::Refused(Refusal::Inactive));
    }
    guard.forgive(db, client, &name).await?;
    db.write(move |c| users::record_success(c, user_id)).await?;
    Ok(LoginOutcome::Ok { user_id })
}

/// The key a client is limited by: its IPv4 address, or its IPv6 /64 (one subscriber's
/// network, which hands out more addresses than any limiter could count).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        },
        v4 => v4,
    }
}

/// The time of one password check, against a hash no password matches.
async fn spend_a_hash(pw: String) {
    tokio::task::spawn_blocking(move || {
        users::verify_password(dummy_hash(), &pw);
    })
    .await
    .ok();
}

fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| users::hash_password("linli-dummy-password"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_keyed_by_address_or_ipv6_network() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            client_key(ip("2001:db8::1")),
            client_key(ip("2001:db8::ffff:2"))
        );
        assert_ne!(
            client_key(ip("2001:db8:0:1::1")),
            client_key(ip("2001:db8::1"))
        );
        assert_eq!(client_key(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
    }
}
