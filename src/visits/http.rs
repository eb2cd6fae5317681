//! The visits area's JSON API: visits recorded and read, the due list of a grid, plans and the
//! street's setting; a resident's own visits; the emergency roster by building, its helpers,
//! their phones revealed with a purpose, and the printable sheet.

/// The visits area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    recent,
    record,
    detail,
    due,
    of_person,
    mine,
    plans,
    create_plan,
    end_plan,
    settings,
    set_settings,
    roster_buildings,
    roster_building,
    roster_print,
    add_helper,
    remove_helper,
    reveal_helper
))]
pub struct VisitsApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/visits", get(recent).post(record))
        .route("/api/v1/visits/due", get(due))
        .route("/api/v1/visits/settings", get(settings).put(set_settings))
        .route("/api/v1/visits/persons/{id}", get(of_person))
        .route("/api/v1/visits/{id}", get(detail))
        .route("/api/v1/me/visits", get(mine))
        .route("/api/v1/visit-plans", get(plans).post(create_plan))
        .route("/api/v1/visit-plans/{id}/end", post(end_plan))
        .route("/api/v1/roster", get(roster_buildings))
        .route("/api/v1/roster/buildings/{id}", get(roster_building))
        .route("/api/v1/roster/buildings/{id}/print", post(roster_print))
        .route("/api/v1/roster/persons/{id}/helpers", post(add_helper))
        .route("/api/v1/roster/helpers/{id}/remove", post(remove_helper))
        .route("/api/v1/roster/helpers/{id}/reveal", post(reveal_helper))
}

use super::model::{NewPlan, NewVisit, Plan, Visit, parse_day};
use super::roster::{self, BuildingCount, NewHelper, Purpose, Revealed, Sheet};
use super::service::{self, DueAsk, DueList};
use crate::http::{ApiJson, Created, ErrorBody, Path, Query, Signed};
use crate::kernel::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// The latest visits recorded at homes in the caller's scope (names masked, no notes).
#[utoipa::path(get, path = "/api/v1/visits", tag = "visits", security(("bearer" = [])),
    responses((status = 200, body = Vec<Visit>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn recent(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Visit>>> {
    Ok(Json(service::recent(&state, &caller).await?))
}

/// Records a visit to a person or a household in the caller's scope (outside it: 404, and the
/// attempt is audited). A case asked for opens in the same transaction.
#[utoipa::path(post, path = "/api/v1/visits", tag = "visits", request_body = NewVisit,
    security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn record(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(v): ApiJson<NewVisit>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = service::record(&state, &caller, &v).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// One visit with its notes (audited under the persons it reached).
#[utoipa::path(get, path = "/api/v1/visits/{id}", tag = "visits", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Visit), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn detail(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Visit>> {
    Ok(Json(service::detail(&state, &caller, id).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct DueQuery {
    /// Judge on this day (YYYY-MM-DD, China time) instead of today: who will be due then.
    #[serde(default)]
    pub on: Option<String>,
    /// Narrow to a place (a building, a grid) within the caller's scope.
    #[serde(default)]
    pub place: Option<i64>,
    /// Also list those visited recently enough.
    #[serde(default)]
    pub all: Option<bool>,
}

impl DueQuery {
    pub fn ask(&self) -> AppResult<DueAsk> {
        let on = match self.on.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(parse_day(s).ok_or_else(|| AppError::invalid("visits.err_on"))?),
        };
        Ok(DueAsk {
            on,
            place_id: self.place,
            all: self.all.unwrap_or(false),
        })
    }
}

/// Who is due and overdue for a visit in the caller's places now (her current grid), ordered
/// by building, floor and unit; names masked; audited with the persons listed.
#[utoipa::path(get, path = "/api/v1/visits/due", tag = "visits", params(DueQuery),
    security(("bearer" = [])),
    responses((status = 200, body = DueList), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn due(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DueQuery>,
) -> AppResult<Json<DueList>> {
    Ok(Json(service::due(&state, &caller, &q.ask()?).await?))
}

/// The visits that reached a person in the caller's scope, newest first, without notes.
#[utoipa::path(get, path = "/api/v1/visits/persons/{id}", tag = "visits",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<Visit>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn of_person(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<Visit>>> {
    Ok(Json(service::of_person(&state, &caller, id).await?))
}

/// The visits that reached the signed-in resident: when, how, by whom (the notes only when her
/// street allows it).
#[utoipa::path(get, path = "/api/v1/me/visits", tag = "visits", security(("bearer" = [])),
    responses((status = 200, body = Vec<Visit>), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn mine(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Visit>>> {
    Ok(Json(service::mine(&state, &caller).await?))
}

/// The street's visit plans.
#[utoipa::path(get, path = "/api/v1/visit-plans", tag = "visits", security(("bearer" = [])),
    responses((status = 200, body = Vec<Plan>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn plans(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Plan>>> {
    Ok(Json(service::plans(&state, &caller).await?))
}

/// A new plan (street administrators): a tag's holders visited every 1–12 months.
#[utoipa::path(post, path = "/api/v1/visit-plans", tag = "visits", request_body = NewPlan,
    security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn create_plan(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(p): ApiJson<NewPlan>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = service::create_plan(&state, &caller, &p).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[schema(as = Visits_Done)]
pub struct Done {
    pub ok: bool,
}

/// Ends a plan (street administrators).
#[utoipa::path(post, path = "/api/v1/visit-plans/{id}/end", tag = "visits",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Done), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub(crate) async fn end_plan(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Done>> {
    service::retire_plan(&state, &caller, id).await?;
    Ok(Json(Done { ok: true }))
}

/// The street's choices about visits.
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(as = Visits_Settings)]
pub struct Settings {
    /// Residents read the notes of their visits.
    pub notes_to_resident: bool,
}

/// The street's settings for visits.
#[utoipa::path(get, path = "/api/v1/visits/settings", tag = "visits", security(("bearer" = [])),
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn settings(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Settings>> {
    Ok(Json(Settings {
        notes_to_resident: service::settings(&state, &caller).await?,
    }))
}

/// Changes the street's settings for visits (street administrators).
#[utoipa::path(put, path = "/api/v1/visits/settings", tag = "visits", request_body = Settings,
    security(("bearer" = [])),
    responses((status = 200, body = Settings), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn set_settings(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(s): ApiJson<Settings>,
) -> AppResult<Json<Settings>> {
    service::set_settings(&state, &caller, s.notes_to_resident).await?;
    Ok(Json(s))
}

/// The buildings of the caller's scope with people on the emergency roster (counts only).
#[utoipa::path(get, path = "/api/v1/roster", tag = "roster", security(("bearer" = [])),
    responses((status = 200, body = Vec<BuildingCount>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn roster_buildings(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<BuildingCount>>> {
    Ok(Json(roster::buildings(&state, &caller).await?))
}

/// A building's emergency roster: who is on it now (from the registry's tags), their units,
/// needs and helpers; names and phones masked; audited with the persons on it.
#[utoipa::path(get, path = "/api/v1/roster/buildings/{id}", tag = "roster",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Sheet), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn roster_building(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Sheet>> {
    Ok(Json(roster::building(&state, &caller, id).await?))
}

/// A building's sheet for a power cut, with names and helpers' phones whole (never an ID
/// number), given a purpose; audited as an export with every person on it.
#[utoipa::path(post, path = "/api/v1/roster/buildings/{id}/print", tag = "roster",
    params(("id" = i64, Path)), request_body = Purpose, security(("bearer" = [])),
    responses((status = 200, body = Sheet), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn roster_print(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(p): ApiJson<Purpose>,
) -> AppResult<Json<Sheet>> {
    Ok(Json(roster::print(&state, &caller, id, &p).await?))
}

/// Adds a helper (family, neighbour, volunteer) to a person on the roster.
#[utoipa::path(post, path = "/api/v1/roster/persons/{id}/helpers", tag = "roster",
    params(("id" = i64, Path)), request_body = NewHelper, security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_helper(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(h): ApiJson<NewHelper>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = roster::add_helper(&state, &caller, id, &h).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Removes a helper.
#[utoipa::path(post, path = "/api/v1/roster/helpers/{id}/remove", tag = "roster",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Done), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn remove_helper(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Done>> {
    roster::remove_helper(&state, &caller, id).await?;
    Ok(Json(Done { ok: true }))
}

/// A helper's name and phone, after the reveal is logged with its purpose.
#[utoipa::path(post, path = "/api/v1/roster/helpers/{id}/reveal", tag = "roster",
    params(("id" = i64, Path)), request_body = Purpose, security(("bearer" = [])),
    responses((status = 200, body = Revealed), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn reveal_helper(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(p): ApiJson<Purpose>,
) -> AppResult<Json<Revealed>> {
    Ok(Json(roster::reveal_helper(&state, &caller, id, &p).await?))
}
