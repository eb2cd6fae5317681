//! The organisation area's use cases that the pages, the API and the command line share: creating an account, and auditing sign-ins and permission changes.

use crate::kernel::error::{AppError, AppResult};
use crate::org::places::{self};
use crate::org::{Caller, Role, login, users};
use crate::state::AppState;

/// Logs a sign-in attempt: success, failure, lockout or a deactivated account.
pub async fn audit_login(
    state: &AppState,
    username: &str,
    outcome: &Result<login::LoginOutcome, crate::store::StoreError>,
) -> AppResult<()> {
    use crate::audit::{Action, NewEntry};
    let name: String = username
        .trim()
        .to_ascii_lowercase()
        .chars()
        .take(64)
        .collect();
    let entry = match outcome {
        Ok(login::LoginOutcome::Ok { user_id }) => {
            let mut e = NewEntry::anonymous(Action::Login, &name);
            e.actor_id = Some(*user_id);
            e
        }
        Ok(login::LoginOutcome::Refused(why)) => {
            let e = NewEntry::anonymous(Action::LoginFailed, &name);
            match why.purpose() {
                Some(p) => e.purpose(p),
                None => e,
            }
        }
        // Not logged: a flood past the rate would otherwise flood the log.
        Ok(login::LoginOutcome::RateLimited) => return Ok(()),
        Err(_) => return Ok(()),
    };
    state.audit.record(entry).await?;
    Ok(())
}

/// A one-time link just issued: the token is shown once and never stored.
#[derive(Clone, Debug)]
pub struct IssuedLink {
    pub token: String,
    pub expires_at: i64,
}

impl IssuedLink {
    /// The link to hand over: absolute when linli knows its public address.
    pub fn url(&self, public_url: Option<&str>) -> String {
        let base = public_url.unwrap_or("").trim_end_matches('/');
        format!("{base}/activate?token={}", self.token)
    }
}

/// Creates an account with one grant; shared by the page, the API and the workers' import.
/// Without a password (the rule for accounts made by an administrator) the account gets a
/// one-time activation link and the person sets her own password with it.
#[allow(clippy::too_many_arguments)]
pub async fn create_user(
    state: &AppState,
    caller: &Caller,
    username: &str,
    display_name: &str,
    password: Option<&str>,
    role: &str,
    target: &str,
) -> AppResult<(i64, Option<IssuedLink>)> {
    let username = users::Username::parse(username).map_err(AppError::invalid)?;
    if let Some(pw) = password {
        users::check_password_policy(pw).map_err(AppError::invalid)?;
    }
    let role = Role::parse(role).ok_or_else(|| AppError::invalid("error.bad_role"))?;
    if display_name.trim().is_empty() {
        return Err(AppError::invalid("error.display_name"));
    }
    crate::kernel::text::check_line(display_name).map_err(AppError::invalid)?;
    let with_link = password.is_none();
    let pw = password.map(str::to_string);
    let hash = tokio::task::spawn_blocking(move || match pw {
        Some(pw) => users::hash_password(&pw),
        None => users::unusable_hash().to_string(),
    })
    .await
    .map_err(|e| AppError::internal("hashing", e))?;
    let scope = caller.scope.users.clone();
    let by = caller.user_id;
    let target = target.trim().to_string();
    let display = display_name.trim().to_string();
    let (id, link) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, Option<IssuedLink>)> {
            let (place_id, org_id, street_id) = resolve_target(c, &scope, role, &target)?;
            let id = users::create(
                c,
                users::NewUser {
                    username: &username,
                    display_name: &display,
                    password_hash: &hash,
                    street_id,
                    person_id: None,
                    created_by: Some(by),
                },
            )?;
            users::add_grant(c, id, role, place_id, org_id, street_id, Some(by))?;
            let link = if with_link {
                let (token, expires_at) = super::links::issue(
                    c,
                    id,
                    street_id,
                    super::links::Purpose::Activate,
                    Some(by),
                    crate::store::now_ms(),
                )?;
                Some(IssuedLink { token, expires_at })
            } else {
                None
            };
            Ok((id, link))
        })
        .await?;
    state.callers.clear();
    audit_permission(state, caller, id, &format!("create {}", role.as_str())).await?;
    Ok((id, link))
}

/// Issues a one-time link with which the account's holder sets a new password (an
/// administrator never sets or learns it); earlier unused links stop working, and the
/// account's sessions end when the link is used.
pub async fn issue_reset(state: &AppState, caller: &Caller, user_id: i64) -> AppResult<IssuedLink> {
    crate::org::access::require_user_admin(caller)?;
    let scope = caller.scope.users.clone();
    let by = caller.user_id;
    let link = state
        .db
        .write_tx(move |c| -> AppResult<IssuedLink> {
            if !users::is_managed(c, &scope, user_id)? {
                return Err(AppError::not_found());
            }
            let street = users::by_id(c, user_id)?
                .ok_or_else(AppError::not_found)?
                .street_id;
            let (token, expires_at) = super::links::issue(
                c,
                user_id,
                street,
                super::links::Purpose::Reset,
                Some(by),
                crate::store::now_ms(),
            )?;
            Ok(IssuedLink { token, expires_at })
        })
        .await?;
    audit_permission(state, caller, user_id, "issue reset link").await?;
    Ok(link)
}

/// Logs a change to an account's access.
pub(crate) async fn audit_permission(
    state: &AppState,
    caller: &Caller,
    user_id: i64,
    what: &str,
) -> AppResult<()> {
    use crate::audit::{Action, NewEntry};
    state
        .audit
        .record(
            NewEntry::by(caller, Action::PermissionChange)
                .subjects([crate::audit::user(user_id)])
                .purpose(what),
        )
        .await?;
    Ok(())
}

/// Finds the place (by path) or organisation (by code) a grant is for, within the
/// administrator's scope and of a kind the role accepts.
pub fn resolve_target(
    c: &mut dyn crate::store::Conn,
    scope: &[String],
    role: Role,
    target: &str,
) -> AppResult<(Option<i64>, Option<i64>, Option<i64>)> {
    if role.needs_org() {
        let org = places::org_by_code(c, target)?
            .ok_or_else(|| AppError::invalid("error.org_not_found"))?;
        if !super::orgs::is_active(c, org.street_id, org.id)? {
            return Err(AppError::invalid("error.org_not_found"));
        }
        let serves = places::org_serves(c, org.id)?;
        if !serves.iter().any(|p| crate::org::Scope::covers(scope, p)) {
            return Err(AppError::invalid("error.org_not_found"));
        }
        let want = match role {
            Role::DeptHandler => "department",
            _ => "property",
        };
        // Departments, social organisations and owners' committees take cases through their
        // handlers; property companies through their managers.
        let also = matches!(org.kind.as_str(), "social" | "owners_committee");
        if org.kind != want && !(role == Role::DeptHandler && also) {
            return Err(AppError::invalid("error.org_kind"));
        }
        return Ok((None, Some(org.id), Some(org.street_id)));
    }
    let place = places::by_path(c, target)?
        .filter(|p| crate::org::Scope::covers(scope, &p.path))
        .ok_or_else(|| AppError::invalid("error.place_not_found"))?;
    if !role.place_kinds().contains(&place.kind.as_str()) {
        return Err(AppError::invalid("error.place_kind"));
    }
    Ok((Some(place.id), None, place.street_id.or(Some(place.id))))
}

/// Turns the street's second-factor rule on or off (street administrators).
pub async fn set_second_factor_required(
    state: &AppState,
    caller: &Caller,
    on: bool,
) -> AppResult<()> {
    let street = crate::org::access::street_admin(caller)?;
    state
        .db
        .write(move |c| crate::org::totp::set_required(c, street, on, crate::store::now_ms()))
        .await?;
    state.callers.clear();
    use crate::audit::{Action, NewEntry};
    state
        .audit
        .record(
            NewEntry::by(caller, Action::PermissionChange).purpose(if on {
                "require second factor"
            } else {
                "stop requiring second factor"
            }),
        )
        .await?;
    Ok(())
}

/// Whether the caller's street requires a second factor (street administrators).
pub async fn second_factor_required(state: &AppState, caller: &Caller) -> AppResult<bool> {
    let street = crate::org::access::street_admin(caller)?;
    Ok(state
        .db
        .read(move |c| crate::org::totp::required(c, street))
        .await?)
}

/// An account's second factor: (enrolled, recovery codes left).
pub async fn second_factor_of(
    state: &AppState,
    caller: &Caller,
    user_id: i64,
) -> AppResult<(bool, i64)> {
    crate::org::access::require_user_admin(caller)?;
    let scope = caller.scope.users.clone();
    state
        .db
        .read(move |c| {
            if !users::is_managed(c, &scope, user_id)? {
                return Ok(None);
            }
            Ok(Some((
                crate::org::totp::enrolled(c, user_id)?,
                crate::org::totp::recovery_left(c, user_id)?,
            )))
        })
        .await?
        .ok_or_else(AppError::not_found)
}

/// Clears an account's second factor (a lost phone): it enrols again at its next sign-in.
pub async fn clear_second_factor(state: &AppState, caller: &Caller, user_id: i64) -> AppResult<()> {
    crate::org::access::require_user_admin(caller)?;
    let scope = caller.scope.users.clone();
    state
        .db
        .write_tx(move |c| -> AppResult<()> {
            if !users::is_managed(c, &scope, user_id)? {
                return Err(AppError::not_found());
            }
            crate::org::totp::remove(c, user_id)?;
            Ok(())
        })
        .await?;
    audit_permission(state, caller, user_id, "clear second factor").await
}
