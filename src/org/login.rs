//! Signing in with a password: lockout after repeated failures, timing that does not reveal
//! whether a user exists.

use super::users;
use crate::store::{Db, StoreError};

#[derive(Debug)]
pub enum LoginOutcome {
    Ok { user_id: i64 },
    BadCredentials,
    Locked { minutes: i64 },
    Inactive,
}

/// Checks a username and password. The argon2 work runs on a blocking thread, outside any
/// database transaction.
pub async fn check(
    db: &Db,
    username: &str,
    password: &str,
    max_failures: i64,
    lockout_minutes: i64,
) -> Result<LoginOutcome, StoreError> {
    let name = username.trim().to_ascii_lowercase();
    let creds = db.read(move |c| users::by_username(c, &name)).await?;
    let pw = password.to_string();
    let Some(creds) = creds else {
        // Spend the same time as a real check so that a missing account is not revealed.
        tokio::task::spawn_blocking(move || {
            users::verify_password(dummy_hash(), &pw);
        })
        .await
        .ok();
        return Ok(LoginOutcome::BadCredentials);
    };
    let now = crate::store::now_ms();
    if creds.user.locked_until > now {
        let minutes = ((creds.user.locked_until - now) / 60_000).max(1);
        return Ok(LoginOutcome::Locked { minutes });
    }
    let hash = creds.password_hash.clone();
    let ok = tokio::task::spawn_blocking(move || users::verify_password(&hash, &pw))
        .await
        .unwrap_or(false);
    let user_id = creds.user.id;
    if !ok {
        let locked = db
            .write(move |c| {
                users::record_failure(c, user_id, max_failures, lockout_minutes * 60_000)
            })
            .await?;
        return Ok(if locked {
            LoginOutcome::Locked {
                minutes: lockout_minutes,
            }
        } else {
            LoginOutcome::BadCredentials
        });
    }
    if !creds.user.active {
        return Ok(LoginOutcome::Inactive);
    }
    if creds.failed_logins > 0 {
        db.write(move |c| users::record_success(c, user_id)).await?;
    }
    Ok(LoginOutcome::Ok { user_id })
}

fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| users::hash_password("linli-dummy-password"))
}
