//! The eligibility area's JSON API: rules (list, create, read with versions, change, switch
//! on or off), a preview of a condition's reach, and the to-dos (list, close).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::service::{self, Preview, RuleView, TodoList, TodoView, Typed};
use super::store::{Rule, TodoFilter};
use crate::http::{ApiJson, ErrorBody, Path, Query, Signed};
use crate::kernel::error::AppResult;
use crate::state::AppState;

/// The eligibility area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_rules,
    create_rule,
    get_rule,
    put_rule,
    switch_rule,
    preview,
    list_todos,
    close_todo
))]
pub struct EligibilityApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v1/eligibility/rules",
            get(list_rules).post(create_rule),
        )
        .route(
            "/api/v1/eligibility/rules/{id}",
            get(get_rule).put(put_rule),
        )
        .route("/api/v1/eligibility/rules/{id}/state", post(switch_rule))
        .route("/api/v1/eligibility/preview", post(preview))
        .route("/api/v1/eligibility/todos", get(list_todos))
        .route("/api/v1/eligibility/todos/{id}/close", post(close_todo))
}

/// A rule's definition.
#[derive(Deserialize, ToSchema)]
#[schema(as = EligibilityRuleRequest)]
pub struct RuleRequest {
    pub name: String,
    /// What the eligible person may have (高龄津贴).
    pub benefit: String,
    /// The condition, e.g. `age >= 80 and tag = elderly_alone` or `年龄 >= 80 且 标签 = 独居老人`.
    pub condition: String,
    /// Tell the resident on her home page as well.
    #[serde(default)]
    pub tell_resident: bool,
    /// What she is told (required when `tell_resident`).
    #[serde(default)]
    pub resident_text: String,
}

impl From<RuleRequest> for Typed {
    fn from(r: RuleRequest) -> Typed {
        Typed {
            name: r.name,
            benefit: r.benefit,
            condition: r.condition,
            tell_resident: r.tell_resident,
            resident_text: r.resident_text,
        }
    }
}

/// The street's rules, with their to-dos counted by state.
#[utoipa::path(get, path = "/api/v1/eligibility/rules", tag = "eligibility",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Rule>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn list_rules(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Rule>>> {
    Ok(Json(service::rules(&state, &caller).await?))
}

/// A new rule (a draft until switched on); a street administrator's.
#[utoipa::path(post, path = "/api/v1/eligibility/rules", tag = "eligibility",
    request_body = RuleRequest, security(("bearer" = [])),
    responses((status = 201, body = Rule), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn create_rule(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<RuleRequest>,
) -> AppResult<(StatusCode, Json<Rule>)> {
    Ok((
        StatusCode::CREATED,
        Json(service::create(&state, &caller, r.into()).await?),
    ))
}

/// A rule with every version of its definition.
#[utoipa::path(get, path = "/api/v1/eligibility/rules/{id}", tag = "eligibility",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = RuleView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_rule(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<RuleView>> {
    Ok(Json(service::rule(&state, &caller, id).await?))
}

/// A changed definition: a new version, the old ones kept.
#[utoipa::path(put, path = "/api/v1/eligibility/rules/{id}", tag = "eligibility",
    params(("id" = i64, Path)), request_body = RuleRequest, security(("bearer" = [])),
    responses((status = 200, body = Rule), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn put_rule(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<RuleRequest>,
) -> AppResult<Json<Rule>> {
    Ok(Json(service::update(&state, &caller, id, r.into()).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = EligibilitySwitch)]
pub struct SwitchRequest {
    /// `on` or `off`.
    pub state: String,
}

#[derive(Serialize, ToSchema)]
#[schema(as = EligibilitySwitched)]
pub struct Switched {
    pub rule: Rule,
    /// To-dos added by switching it on.
    pub added: i64,
}

/// Switches a rule on (it finds its persons at once, then every hour) or off.
#[utoipa::path(post, path = "/api/v1/eligibility/rules/{id}/state", tag = "eligibility",
    params(("id" = i64, Path)), request_body = SwitchRequest, security(("bearer" = [])),
    responses((status = 200, body = Switched), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn switch_rule(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<SwitchRequest>,
) -> AppResult<Json<Switched>> {
    let on = match r.state.as_str() {
        "on" => true,
        "off" => false,
        _ => {
            return Err(crate::kernel::AppError::invalid("eligibility.err_switch"));
        }
    };
    let (rule, added) = service::switch(&state, &caller, id, on).await?;
    Ok(Json(Switched { rule, added }))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = EligibilityPreviewRequest)]
pub struct PreviewRequest {
    pub condition: String,
}

/// What a condition reaches now within the caller's places: a count per community and a
/// masked sample of ten (an audited list).
#[utoipa::path(post, path = "/api/v1/eligibility/preview", tag = "eligibility",
    request_body = PreviewRequest, security(("bearer" = [])),
    responses((status = 200, body = Preview), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn preview(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<PreviewRequest>,
) -> AppResult<Json<Preview>> {
    Ok(Json(service::preview(&state, &caller, r.condition).await?))
}

#[derive(Deserialize, IntoParams, Default)]
pub struct TodoQuery {
    /// open, applied, not_eligible or declined; all when absent.
    #[serde(default)]
    pub state: Option<String>,
    /// Only this rule's.
    #[serde(default)]
    pub rule: Option<i64>,
}

/// The to-dos of the persons whose records the caller keeps, in building order.
#[utoipa::path(get, path = "/api/v1/eligibility/todos", tag = "eligibility",
    params(TodoQuery), security(("bearer" = [])),
    responses((status = 200, body = TodoList), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn list_todos(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<TodoQuery>,
) -> AppResult<Json<TodoList>> {
    let f = TodoFilter {
        state: q.state.filter(|s| !s.is_empty()),
        rule_id: q.rule,
    };
    Ok(Json(service::todos(&state, &caller, f).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = EligibilityClose)]
pub struct CloseRequest {
    /// applied, not_eligible or declined.
    pub outcome: String,
    #[serde(default)]
    pub note: String,
}

/// Closes a to-do with its outcome.
#[utoipa::path(post, path = "/api/v1/eligibility/todos/{id}/close", tag = "eligibility",
    params(("id" = i64, Path)), request_body = CloseRequest, security(("bearer" = [])),
    responses((status = 200, body = TodoView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn close_todo(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<CloseRequest>,
) -> AppResult<Json<TodoView>> {
    Ok(Json(
        service::close(&state, &caller, id, r.outcome, r.note).await?,
    ))
}
