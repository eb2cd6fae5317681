//! Her own account (我的账户): every signed-in person, of any role, changes her password and
//! renews her second factor herself (a new phone, used recovery codes) instead of asking an
//! administrator to clear it. Each step asks again for what proves it is her — the current
//! password, or a code of the current second factor — and counts a wrong answer as a failed
//! sign-in (the account locks after [`TRIES`] in a row, as sign-in does). Every change is an
//! entry in the audit log.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Caller, totp, users};
use crate::audit::{Action, NewEntry};
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::{Code, StatusCode};
use crate::state::AppState;

/// Wrong answers in a row before the account locks (as a sign-in's).
const TRIES: i64 = 5;
const LOCK_MS: i64 = 15 * 60_000;

/// What her account page shows.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Account {
    pub username: String,
    pub display_name: String,
    /// Whether a second factor is enrolled.
    pub second_factor: bool,
    /// Unused recovery codes left.
    pub recovery_left: i64,
    /// Whether a renewal waits for the new authenticator's first code.
    pub renewing: bool,
}

/// A renewal begun: scan the URL (as a QR code) or type the secret, then confirm with a code.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Renewal {
    pub otpauth_url: String,
    pub secret: String,
}

pub async fn mine(state: &AppState, caller: &Caller) -> AppResult<Account> {
    let (id, username, display_name) = (
        caller.user_id,
        caller.username.clone(),
        caller.display_name.clone(),
    );
    Ok(state
        .db
        .read(move |c| {
            Ok(Account {
                username,
                display_name,
                second_factor: totp::enrolled(c, id)?,
                recovery_left: totp::recovery_left(c, id)?,
                renewing: totp::renewing(c, id)?,
            })
        })
        .await?)
}

fn refused(key: &str) -> AppError {
    AppError::new(StatusCode::FORBIDDEN, Code::Forbidden, key)
}

fn conflict(key: &str) -> AppError {
    AppError::new(StatusCode::CONFLICT, Code::Conflict, key)
}

/// Counts a try before it is checked; refused (423-like 403 with its own message) when the
/// account is locked.
async fn reserve(state: &AppState, user_id: i64) -> AppResult<()> {
    let ok = state
        .db
        .write(move |c| users::reserve_attempt(c, user_id, TRIES, LOCK_MS))
        .await?;
    if ok {
        Ok(())
    } else {
        Err(refused("account.err_locked"))
    }
}

async fn succeeded(state: &AppState, user_id: i64) -> AppResult<()> {
    state
        .db
        .write(move |c| users::record_success(c, user_id))
        .await?;
    Ok(())
}

async fn audit(state: &AppState, caller: &Caller, what: &str) -> AppResult<()> {
    state
        .audit
        .record(
            NewEntry::by(caller, Action::PermissionChange)
                .subjects([crate::audit::user(caller.user_id)])
                .purpose(crate::kernel::i18n::both(what, &[])),
        )
        .await?;
    Ok(())
}

/// Checks her current password (a wrong one is a failed try).
async fn check_password(state: &AppState, caller: &Caller, current: &str) -> AppResult<()> {
    let id = caller.user_id;
    reserve(state, id).await?;
    let name = caller.username.clone();
    let hash = state
        .db
        .read(move |c| users::by_username(c, &name))
        .await?
        .filter(|u| u.user.id == id)
        .map(|u| u.password_hash)
        .ok_or_else(AppError::not_found)?;
    let pw = current.to_string();
    let ok = tokio::task::spawn_blocking(move || users::verify_password(&hash, &pw))
        .await
        .unwrap_or(false);
    if !ok {
        return Err(refused("account.err_current_password"));
    }
    succeeded(state, id).await
}

/// Changes her password: the current one first, the new one by the password policy and not the
/// same. Every session and API token of the account ends (she signs in again with the new one).
pub async fn change_password(
    state: &AppState,
    caller: &Caller,
    current: &str,
    new: &str,
) -> AppResult<()> {
    users::check_password_policy(new).map_err(AppError::invalid)?;
    if new == current {
        return Err(AppError::invalid("account.err_same_password"));
    }
    check_password(state, caller, current).await?;
    let id = caller.user_id;
    let pw = new.to_string();
    let hash = tokio::task::spawn_blocking(move || users::hash_password(&pw))
        .await
        .map_err(|e| AppError::internal("hashing a password", e))?;
    state
        .db
        .write(move |c| users::set_password(c, id, &hash))
        .await?;
    state.callers.clear();
    audit(state, caller, "account.purpose.password").await
}

/// Checks a code of her current second factor, or one of her recovery codes (used up).
async fn check_code(state: &AppState, caller: &Caller, code: &str) -> AppResult<()> {
    let id = caller.user_id;
    if !state.db.read(move |c| totp::enrolled(c, id)).await? {
        return Err(conflict("account.err_no_second_factor"));
    }
    reserve(state, id).await?;
    let (keys, code) = (state.keys.clone(), code.to_string());
    let now = crate::kernel::time::now_ms();
    let checked = state
        .db
        .write(move |c| totp::check(c, &keys, id, &code, (now / 1000) as u64, now))
        .await?;
    match checked {
        totp::Checked::Code | totp::Checked::Recovery => succeeded(state, id).await,
        _ => Err(refused("account.err_code")),
    }
}

/// Begins a renewal of her second factor (a new phone): proved by a current code or a recovery
/// code; the old factor keeps working until the new one is confirmed.
pub async fn renew_second_factor(
    state: &AppState,
    caller: &Caller,
    code: &str,
) -> AppResult<Renewal> {
    check_code(state, caller, code).await?;
    let (keys, id, name) = (state.keys.clone(), caller.user_id, caller.username.clone());
    let (otpauth_url, secret) = state
        .db
        .write(move |c| totp::begin_renewal(c, &keys, id, &name))
        .await?;
    audit(state, caller, "account.purpose.renew_begun").await?;
    Ok(Renewal {
        otpauth_url,
        secret,
    })
}

/// The renewal as it stands (to show the same secret again), if one is under way.
pub async fn renewal(state: &AppState, caller: &Caller) -> AppResult<Option<Renewal>> {
    // A page view: read only, the writer is not taken.
    let (keys, id) = (state.keys.clone(), caller.user_id);
    Ok(state
        .db
        .read(move |c| totp::renewal_secret(c, &keys, id))
        .await?
        .map(|secret| Renewal {
            otpauth_url: totp::url_of(&secret, &caller.username),
            secret,
        }))
}

/// Confirms the renewal with a code of the new authenticator; returns the new recovery codes
/// (shown once).
pub async fn confirm_second_factor(
    state: &AppState,
    caller: &Caller,
    code: &str,
) -> AppResult<Vec<String>> {
    let id = caller.user_id;
    if !state.db.read(move |c| totp::renewing(c, id)).await? {
        return Err(conflict("account.err_no_renewal"));
    }
    reserve(state, id).await?;
    let (keys, code) = (state.keys.clone(), code.to_string());
    let now = crate::kernel::time::now_ms();
    let codes = state
        .db
        .write(move |c| totp::confirm_renewal(c, &keys, id, &code, (now / 1000) as u64, now))
        .await?
        .ok_or_else(|| refused("account.err_new_code"))?;
    succeeded(state, id).await?;
    audit(state, caller, "account.purpose.renewed").await?;
    Ok(codes)
}

/// New recovery codes (the old ones void), proved by a current code or a recovery code.
pub async fn new_recovery_codes(
    state: &AppState,
    caller: &Caller,
    code: &str,
) -> AppResult<Vec<String>> {
    check_code(state, caller, code).await?;
    let id = caller.user_id;
    let codes = state
        .db
        .write(move |c| totp::new_recovery_codes(c, id))
        .await?;
    audit(state, caller, "account.purpose.recovery").await?;
    Ok(codes)
}
