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

/// Creates an account with one grant; shared by the page and the API.
pub async fn create_user(
    state: &AppState,
    caller: &Caller,
    username: &str,
    display_name: &str,
    password: &str,
    role: &str,
    target: &str,
) -> AppResult<i64> {
    let username = users::Username::parse(username).map_err(AppError::invalid)?;
    users::check_password_policy(password).map_err(AppError::invalid)?;
    let role = Role::parse(role).ok_or_else(|| AppError::invalid("error.bad_role"))?;
    if display_name.trim().is_empty() {
        return Err(AppError::invalid("error.display_name"));
    }
    crate::kernel::text::check_line(display_name).map_err(AppError::invalid)?;
    let hash = {
        let pw = password.to_string();
        tokio::task::spawn_blocking(move || users::hash_password(&pw))
            .await
            .map_err(|e| AppError::internal("hashing", e))?
    };
    let scope = caller.scope.users.clone();
    let by = caller.user_id;
    let target = target.trim().to_string();
    let display = display_name.trim().to_string();
    let id = state
        .db
        .write_tx(move |c| -> AppResult<i64> {
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
            Ok(id)
        })
        .await?;
    state.callers.clear();
    audit_permission(state, caller, id, &format!("create {}", role.as_str())).await?;
    Ok(id)
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
        let serves = places::org_serves(c, org.id)?;
        if !serves.iter().any(|p| crate::org::Scope::covers(scope, p)) {
            return Err(AppError::invalid("error.org_not_found"));
        }
        let want = match role {
            Role::DeptHandler => "department",
            _ => "property",
        };
        if org.kind != want && !(role == Role::DeptHandler && org.kind == "social") {
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
