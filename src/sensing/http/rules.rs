//! The rules of a street: listed, added, changed (with a preview of what a change would fire),
//! deleted.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::{self, Action, NewEntry};
use crate::http::ErrorBody;
use crate::http::{ApiJson, Path, Signed};
use crate::kernel::Code;
use crate::kernel::error::{AppError, AppResult};
use crate::org::Caller;
use crate::sensing::alerts;
use crate::sensing::devices;
use crate::sensing::rules::{self, NewRule, Rule, RulePatch, RulePreview};
use crate::sensing::service::worker;
use crate::state::AppState;

#[utoipa::path(get, path = "/api/v1/rules", tag = "sensing", security(("bearer" = [])),
    responses((status = 200, body = Vec<Rule>)))]
pub(super) async fn list_rules(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Rule>>> {
    worker(&caller)?;
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    Ok(Json(
        state.db.read(move |c| rules::list(c, &[street])).await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct CreatedRule {
    pub id: i64,
    /// Timers armed in all after the rule was added.
    pub timers: i64,
}

/// Adds a rule to the caller's street (administrators). Absence and offline rules are armed
/// for their devices at once.
#[utoipa::path(post, path = "/api/v1/rules", tag = "sensing", request_body = NewRule, security(("bearer" = [])),
    responses((status = 201, body = CreatedRule), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn create_rule(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(rule): ApiJson<NewRule>,
) -> AppResult<Response> {
    let street = crate::org::access::street_admin(&caller)?;
    let user = caller.user_id;
    rule.validate()
        .map_err(|m| AppError::with_message(StatusCode::UNPROCESSABLE_ENTITY, Code::Invalid, m))?;
    let now = crate::sensing::of(&state).clock.now_ms();
    let id = state
        .db
        .write_tx(move |c| -> AppResult<i64> {
            if let Some(pid) = rule.profile_id
                && devices::profile_by_id(c, street, pid)?.is_none()
            {
                return Err(AppError::invalid("error.device_profile"));
            }
            if let Some(did) = rule.device_id
                && !devices::in_street(c, street, did)?
            {
                return Err(AppError::invalid("error.rule_device"));
            }
            let id = rules::create(c, street, &rule, now)?;
            rules::set_owner(c, id, user)?;
            Ok(id)
        })
        .await?;
    crate::sensing::of(&state).reload_rules(&state.db).await?;
    crate::sensing::of(&state).rules_changed_here();
    let timers = rules::sync_now(&state).await?;
    Ok((StatusCode::CREATED, Json(CreatedRule { id, timers })).into_response())
}

/// Changes a rule of the caller's street (administrators): name, severity, parameters (a
/// JSON merge patch), case category, acknowledgement time, per-person parameters, or
/// `active`. Checked as a new rule is. Armed timers move to the new periods at once; a
/// disabled rule's timers are disarmed and its active alerts cleared; when the watched key or
/// awaited value changes, its active alerts are cleared and its timers start again. A change of
/// per-person parameters is written to the audit log under those people. A change that would
/// fire at once for some devices (a shortened absence period) is saved only with
/// `"confirm": true`; without it the answer is 409 with its preview and nothing is saved. The
/// caller becomes the rule's owner, told when its alerts are grouped into one case.
#[utoipa::path(patch, path = "/api/v1/rules/{id}", tag = "sensing", params(("id" = i64, Path)),
    request_body = RulePatch, security(("bearer" = [])),
    responses((status = 200, body = Rule), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = RulePreview, description = "not saved: the change would fire now; send it again with confirm"),
              (status = 422, body = ErrorBody)))]
pub(super) async fn patch_rule(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<RulePatch>,
) -> AppResult<Response> {
    Ok(match change_rule(&state, &caller, id, body).await? {
        RuleChange::Saved(rule) => Json(*rule).into_response(),
        RuleChange::Unconfirmed(p) => (StatusCode::CONFLICT, Json(p)).into_response(),
    })
}

/// What a change to a rule would do now, without saving it (administrators): for how many
/// devices the changed rule would fire at once. The body is the change as `PATCH` takes it.
#[utoipa::path(post, path = "/api/v1/rules/{id}/preview", tag = "sensing", params(("id" = i64, Path)),
    request_body = RulePatch, security(("bearer" = [])),
    responses((status = 200, body = RulePreview), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn preview_rule(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<RulePatch>,
) -> AppResult<Json<RulePreview>> {
    Ok(Json(rule_preview(&state, &caller, id, body).await?))
}

/// The preview of a change to a rule (for the API and the rule page); nothing is saved.
pub async fn rule_preview(
    state: &Arc<AppState>,
    caller: &Caller,
    id: i64,
    patch: RulePatch,
) -> AppResult<RulePreview> {
    let street = crate::org::access::street_admin(caller)?;
    let now = crate::sensing::of(state).clock.now_ms();
    state
        .db
        .read(move |c| -> crate::store::Result<AppResult<RulePreview>> {
            let Some(old) = rules::get(c, street, id)? else {
                return Ok(Err(AppError::not_found()));
            };
            let new = match patch.apply(&old) {
                Ok(n) => n,
                Err(m) => {
                    return Ok(Err(AppError::with_message(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Code::Invalid,
                        m,
                    )));
                }
            };
            Ok(Ok(rules::preview(c, &old, &new, now)?))
        })
        .await?
}

/// A rule as changed, the alert changes to publish and the people whose own parameters changed.
type Changed = (Rule, Vec<alerts::AlertEvent>, Vec<i64>);

/// What became of a change to a rule.
pub enum RuleChange {
    Saved(Box<Rule>),
    /// Not saved: it would fire now and was not confirmed.
    Unconfirmed(RulePreview),
}

/// Applies a [`RulePatch`] in one transaction, then tells the live streams, reloads the rules
/// and brings the timers in line (for the API and the rule page). A change that would fire at
/// once is saved only when confirmed.
pub async fn change_rule(
    state: &Arc<AppState>,
    caller: &Caller,
    id: i64,
    patch: RulePatch,
) -> AppResult<RuleChange> {
    let street = crate::org::access::street_admin(caller)?;
    let now = crate::sensing::of(state).clock.now_ms();
    let user = caller.user_id;
    let done = state
        .db
        .write_tx(move |c| -> AppResult<Result<Changed, RulePreview>> {
            let old = rules::get(c, street, id)?.ok_or_else(AppError::not_found)?;
            let new = patch.apply(&old).map_err(|m| {
                AppError::with_message(StatusCode::UNPROCESSABLE_ENTITY, Code::Invalid, m)
            })?;
            if let Some(o) = &patch.overrides {
                for p in o {
                    if crate::registry::residents::resident(c, p.person_id)?
                        .is_none_or(|r| r.street_id != street)
                    {
                        return Err(AppError::invalid("error.rule_person"));
                    }
                }
            }
            if patch.confirm != Some(true) {
                let preview = rules::preview(c, &old, &new, now)?;
                if preview.confirm_needed {
                    return Ok(Err(preview));
                }
            }
            rules::update(c, &new, patch.overrides.is_some(), now)?;
            rules::set_owner(c, id, user)?;
            let events = match (old.active, new.active) {
                (true, false) => rules::retire(c, id, Some(user), now, "rule disabled")?,
                (true, true) => {
                    let otherwise = rules::watches_otherwise(&old, &new);
                    rules::rearm(c, &new, otherwise, Some(user), now)?
                }
                // Enabled again: the synchronisation below arms its timers from now.
                (false, _) => Vec::new(),
            };
            let mut people: Vec<i64> = Vec::new();
            if patch.overrides.is_some() {
                people.extend(old.overrides.keys().chain(new.overrides.keys()));
                people.sort_unstable();
                people.dedup();
            }
            Ok(Ok((new, events, people)))
        })
        .await?;
    let (rule, events, people) = match done {
        Ok(v) => v,
        Err(preview) => return Ok(RuleChange::Unconfirmed(preview)),
    };
    rules_changed(state, events).await?;
    if !people.is_empty() {
        state
            .audit
            .record(
                NewEntry::by(caller, Action::Change)
                    .subjects(people.into_iter().map(audit::person))
                    .purpose(format!("sensing rule {id}: own parameters changed")),
            )
            .await?;
    }
    Ok(RuleChange::Saved(Box::new(rule)))
}

/// Deletes a rule of the caller's street (administrators). Nothing fires for it any more: its
/// timers are disarmed and its active alerts cleared (the cases they opened stay open). Its
/// past alerts keep naming it; its per-person parameters are deleted with it (written to the
/// audit log under those people).
#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "sensing", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204, description = "deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn delete_rule(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    remove_rule(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a rule (for the API and the rule page).
pub async fn remove_rule(state: &Arc<AppState>, caller: &Caller, id: i64) -> AppResult<()> {
    let street = crate::org::access::street_admin(caller)?;
    let now = crate::sensing::of(state).clock.now_ms();
    let user = caller.user_id;
    let (events, people) = state
        .db
        .write_tx(move |c| -> AppResult<(Vec<alerts::AlertEvent>, Vec<i64>)> {
            let old = rules::get(c, street, id)?.ok_or_else(AppError::not_found)?;
            rules::delete(c, id, now)?;
            let events = rules::retire(c, id, Some(user), now, "rule deleted")?;
            let mut people: Vec<i64> = old.overrides.keys().copied().collect();
            people.sort_unstable();
            Ok((events, people))
        })
        .await?;
    rules_changed(state, events).await?;
    if !people.is_empty() {
        state
            .audit
            .record(
                NewEntry::by(caller, Action::Change)
                    .subjects(people.into_iter().map(audit::person))
                    .purpose(format!("sensing rule {id} deleted with its own parameters")),
            )
            .await?;
    }
    Ok(())
}

/// After a rule changed: publishes the alerts it cleared, reloads the rules, re-synchronises
/// the timers and wakes the timer loop.
pub(super) async fn rules_changed(
    state: &Arc<AppState>,
    events: Vec<alerts::AlertEvent>,
) -> AppResult<()> {
    crate::sensing::of(state).publish(events);
    crate::sensing::of(state).reload_rules(&state.db).await?;
    crate::sensing::of(state).rules_changed_here();
    rules::sync_now(state).await?;
    crate::sensing::of(state).wake.notify_one();
    Ok(())
}
