//! Alerts: listed (also in the FIWARE shape), one with its history, acknowledged, cleared.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::Action;
use crate::http::ErrorBody;
use crate::http::{Path, Query, Signed};
use crate::kernel::Code;
use crate::kernel::error::{AppError, AppResult};
use crate::org::Caller;
use crate::sensing::alerts::{self, Alert, AlertHistory, AlertQuery, Refusal};
use crate::sensing::rules;
use crate::sensing::service::worker;
use crate::state::AppState;

use super::page;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// active_unack, active_ack, cleared_unack or cleared_ack.
    pub state: Option<String>,
    /// critical, major, minor or warning.
    pub severity: Option<String>,
    /// threshold, event, absence or offline.
    pub kind: Option<String>,
    pub device_id: Option<i64>,
    /// Only active (true) or only cleared (false) alerts.
    pub active: Option<bool>,
    /// Only alerts updated at or after this time (unix ms).
    pub since: Option<i64>,
    /// Only alerts escalated at least this many levels.
    pub min_level: Option<i64>,
    /// Only the alerts of this case (a grouped case holds several).
    pub case_id: Option<i64>,
    /// `fiware` for the FIWARE Smart Data Models `Alert` shape.
    pub format: Option<String>,
    pub limit: Option<i64>,
    /// Skip this many (prefer `after`: an offset reads every alert it skips).
    pub offset: Option<i64>,
    /// Start after this key: the `next` of the page before.
    pub after: Option<String>,
}

/// The answer of the alerts list: linli's page of alerts, or with `format=fiware` an array of
/// FIWARE Smart Data Models `Alert` entities (documentation only; each handler builds one).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum AlertsAnswer {
    Linli(AlertList),
    Fiware(Vec<FiwareAlert>),
}

/// A FIWARE Smart Data Models `Alert` entity, as `format=fiware` answers (documentation only:
/// `alerts::fiware` builds it).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct FiwareAlert {
    /// `urn:ngsi-ld:Alert:linli:{id}`.
    pub id: String,
    /// Always `Alert`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `health`, `water`, `environment` or `security`.
    pub category: String,
    /// The rule's kind: `threshold`, `event`, `absence`, `offline`.
    pub sub_category: String,
    /// `critical`, `high`, `medium` or `low`.
    pub severity: String,
    pub description: String,
    pub date_issued: String,
    pub valid_from: String,
    /// Set once the alert is cleared.
    pub valid_to: Option<String>,
    pub date_modified: String,
    /// `urn:ngsi-ld:Device:linli:{device id}`.
    pub alert_source: String,
    /// linli's state, rule, hits, details, place and escalation level.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// The answer of one alert: linli's alert with its history, or with `format=fiware` one FIWARE
/// `Alert` entity.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
#[allow(clippy::large_enum_variant)]
pub enum AlertAnswer {
    Linli(AlertDetail),
    Fiware(FiwareAlert),
}

#[derive(Serialize, ToSchema)]
pub struct AlertList {
    pub items: Vec<Alert>,
    /// The key of the next page (for `after`), when more follow.
    pub next: Option<String>,
    /// The offset of the next page, when more follow (kept for clients that page by offset).
    pub next_offset: Option<i64>,
}

const STATES: [&str; 4] = ["active_unack", "active_ack", "cleared_unack", "cleared_ack"];

/// Alerts within the caller's scope, active first, newest first. With `format=fiware` the
/// answer is an array of FIWARE `Alert` entities.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "sensing", params(AlertsQuery), security(("bearer" = [])),
    responses((status = 200, body = AlertsAnswer), (status = 400, body = ErrorBody)))]
pub(super) async fn list_alerts(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<AlertsQuery>,
) -> AppResult<Response> {
    worker(&caller)?;
    let (limit, offset) = page(q.limit, q.offset)?;
    if q.state.as_deref().is_some_and(|s| !STATES.contains(&s))
        || q.severity
            .as_deref()
            .is_some_and(|s| !rules::SEVERITIES.contains(&s))
        || q.kind
            .as_deref()
            .is_some_and(|k| rules::RuleKind::parse(k).is_none())
        || q.format
            .as_deref()
            .is_some_and(|f| f != "fiware" && f != "linli")
        || q.after
            .as_deref()
            .is_some_and(|a| alerts::parse_page_key(a).is_none())
    {
        return Err(AppError::bad_request("error.bad_param"));
    }
    let aq = AlertQuery {
        state: q.state,
        severity: q.severity,
        kind: q.kind,
        device_id: q.device_id,
        active: q.active,
        since: q.since,
        min_level: q.min_level,
        case_id: q.case_id,
        limit: limit + 1,
        offset,
        after: q.after,
    };
    let scope = caller.scope.registry.clone();
    let items = state.db.read(move |c| alerts::list(c, &scope, &aq)).await?;
    let mut items = Alert::localised(items, crate::kernel::ctx().lang);
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    crate::sensing::audit_listed(
        &state,
        &caller,
        items.iter().map(|a| a.person_id),
        [],
        Action::List,
    )
    .await?;
    if q.format.as_deref() == Some("fiware") {
        let v: Vec<serde_json::Value> = items.iter().map(alerts::fiware).collect();
        return Ok(Json(v).into_response());
    }
    let next = items.last().filter(|_| more).map(alerts::page_key);
    Ok(Json(AlertList {
        items,
        next,
        next_offset: more.then_some(offset + limit),
    })
    .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct AlertDetail {
    pub alert: Alert,
    pub history: Vec<AlertHistory>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `fiware` for the FIWARE Smart Data Models `Alert` shape.
    pub format: Option<String>,
}

/// One alert with its history.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "sensing", params(("id" = i64, Path), FormatQuery), security(("bearer" = [])),
    responses((status = 200, body = AlertAnswer), (status = 404, body = ErrorBody)))]
pub(super) async fn get_alert(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(f): Query<FormatQuery>,
) -> AppResult<Response> {
    worker(&caller)?;
    let scope = caller.scope.registry.clone();
    let (mut alert, history) = state
        .db
        .read(move |c| {
            let Some(a) = alerts::get(c, &scope, id)? else {
                return Ok(None);
            };
            Ok(Some((a, alerts::history(c, id)?)))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    crate::sensing::audit_listed(&state, &caller, [alert.person_id], [], Action::Read).await?;
    alert.localise(crate::kernel::ctx().lang);
    if f.format.as_deref() == Some("fiware") {
        return Ok(Json(alerts::fiware(&alert)).into_response());
    }
    Ok(Json(AlertDetail { alert, history }).into_response())
}

#[derive(Deserialize, ToSchema, Default)]
pub struct AlertAction {
    /// What was done or found (optional).
    #[serde(default)]
    pub note: String,
}

/// The optional `{"note": …}` body of an acknowledgement or clearing.
fn note_of(body: &[u8]) -> AppResult<String> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(String::new());
    }
    serde_json::from_slice::<AlertAction>(body)
        .map(|a| a.note)
        .map_err(|_| AppError::new(StatusCode::BAD_REQUEST, Code::BadJson, "error.bad_json"))
}

pub async fn act(
    state: &Arc<AppState>,
    caller: &Caller,
    id: i64,
    ack: bool,
    note: String,
) -> AppResult<Alert> {
    worker(caller)?;
    let scope = caller.scope.registry.clone();
    let user = caller.user_id;
    let now = crate::sensing::of(state).clock.now_ms();
    let note: String = note.chars().take(500).collect();
    let r = state
        .db
        .write(move |c| {
            if ack {
                alerts::acknowledge(c, &scope, id, user, &note, now)
            } else {
                alerts::clear(c, &scope, id, user, &note, now)
            }
        })
        .await?;
    match r {
        Ok(changes) => {
            let alert = changes.first().map(|e| e.alert.clone());
            crate::sensing::of(state).publish(changes);
            alert.ok_or_else(AppError::not_found)
        }
        Err(Refusal::NotFound) => Err(AppError::not_found()),
        Err(Refusal::AlreadyAcknowledged) => Err(AppError::new(
            StatusCode::CONFLICT,
            Code::Conflict,
            "alert.already_acked",
        )),
        Err(Refusal::AlreadyCleared) => Err(AppError::new(
            StatusCode::CONFLICT,
            Code::Conflict,
            "alert.already_cleared",
        )),
    }
}

/// Acknowledges an alert (active_unack → active_ack, cleared_unack → cleared_ack); stops
/// its escalation.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/ack", tag = "sensing", params(("id" = i64, Path)),
    request_body(content = AlertAction, description = "optional"), security(("bearer" = [])),
    responses((status = 200, body = Alert), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn ack_alert(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> AppResult<Json<Alert>> {
    let note = note_of(&body)?;
    Ok(Json(act(&state, &caller, id, true, note).await?))
}

/// Clears an active alert (active_unack → cleared_unack, active_ack → cleared_ack).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/clear", tag = "sensing", params(("id" = i64, Path)),
    request_body(content = AlertAction, description = "optional"), security(("bearer" = [])),
    responses((status = 200, body = Alert), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn clear_alert(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> AppResult<Json<Alert>> {
    let note = note_of(&body)?;
    Ok(Json(act(&state, &caller, id, false, note).await?))
}
