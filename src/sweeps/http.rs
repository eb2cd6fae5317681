//! The sweeps area's JSON API: an organiser writes, starts, closes and repeats campaigns,
//! follows their progress, compares them and exports their answers; a grid worker (or the
//! volunteer she handed a building to) reads her doors and records what each gave.

/// The sweeps area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list, create, read, start, close, repeat, progress, results, compare, doors, submit, hand_over,
    export
))]
pub struct SweepsApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/sweeps", get(list).post(create))
        .route("/api/v1/sweeps/{id}", get(read))
        .route("/api/v1/sweeps/{id}/start", post(start))
        .route("/api/v1/sweeps/{id}/close", post(close))
        .route("/api/v1/sweeps/{id}/repeat", post(repeat))
        .route("/api/v1/sweeps/{id}/progress", get(progress))
        .route("/api/v1/sweeps/{id}/results", get(results))
        .route("/api/v1/sweeps/{id}/compare", get(compare))
        .route("/api/v1/sweeps/{id}/doors", get(doors))
        .route("/api/v1/sweeps/{id}/answers", post(submit))
        .route("/api/v1/sweeps/{id}/handovers", post(hand_over))
        .route("/api/v1/sweeps/{id}/export.xlsx", get(export))
}

use super::model::{
    Answers, Campaign, Comparison, Door, Outcome, Progress, Question, Recorded, Tally,
};
use super::service::{self, NewSweep, Submission};
use crate::http::{ApiJson, ErrorBody, Path, Signed, file_response};
use crate::kernel::error::AppResult;
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// The campaigns the caller organises or knocks for, newest first.
#[utoipa::path(get, path = "/api/v1/sweeps", tag = "sweeps", security(("bearer" = [])),
    responses((status = 200, body = Vec<Campaign>), (status = 401, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Campaign>>> {
    Ok(Json(service::list(&state, &caller).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SweepRequest)]
pub struct SweepRequest {
    /// At most 60 characters.
    pub title: String,
    /// The form: 1 to 12 questions.
    pub questions: Vec<Question>,
    /// The places swept (communities, estates, buildings…), all in the caller's records.
    pub places: Vec<i64>,
    /// Days the personal answers are kept after closing (1 to 730, default 90).
    #[serde(default)]
    pub retention_days: Option<i64>,
    /// Start at once: every household becomes a door for its grid worker.
    #[serde(default)]
    pub start: bool,
}

/// Writes a campaign (a draft, or started at once). Places outside the caller's records, a form
/// without questions or a scope without households are refused (422) and nothing is kept.
#[utoipa::path(post, path = "/api/v1/sweeps", tag = "sweeps", request_body = SweepRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Campaign), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<SweepRequest>,
) -> AppResult<(StatusCode, Json<Campaign>)> {
    let c = service::create(
        &state,
        &caller,
        NewSweep {
            title: r.title,
            questions: r.questions,
            places: r.places,
            retention_days: r.retention_days,
            start: r.start,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// A campaign (404 unless the caller manages it or has doors in it).
#[utoipa::path(get, path = "/api/v1/sweeps/{id}", tag = "sweeps", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Campaign), (status = 404, body = ErrorBody)))]
pub(crate) async fn read(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Campaign>> {
    Ok(Json(service::visible(&state, &caller, id).await?))
}

/// Starts a draft: every household of its places becomes a door (one statement), given to the
/// grid worker of its grid.
#[utoipa::path(post, path = "/api/v1/sweeps/{id}/start", tag = "sweeps", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Campaign), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn start(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Campaign>> {
    Ok(Json(service::start(&state, &caller, id).await?))
}

/// Closes an open campaign: answers are refused from now on; the personal answers are purged
/// when the retention ends.
#[utoipa::path(post, path = "/api/v1/sweeps/{id}/close", tag = "sweeps", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Campaign), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn close(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Campaign>> {
    Ok(Json(service::close(&state, &caller, id).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[schema(as = SweepRepeatRequest)]
pub struct RepeatRequest {
    /// A new title (default: the same).
    #[serde(default)]
    pub title: Option<String>,
    /// Start it at once.
    #[serde(default)]
    pub start: bool,
}

/// Repeats a campaign: the same form and places, compared with this one.
#[utoipa::path(post, path = "/api/v1/sweeps/{id}/repeat", tag = "sweeps", params(("id" = i64, Path)),
    request_body = RepeatRequest, security(("bearer" = [])),
    responses((status = 201, body = Campaign), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn repeat(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<RepeatRequest>,
) -> AppResult<(StatusCode, Json<Campaign>)> {
    let c = service::repeat(&state, &caller, id, r.title, r.start).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// Progress by grid and building: doors done, nobody home at the last visit, not yet
/// visited (counted from the doors; after the purge, the counts kept).
#[utoipa::path(get, path = "/api/v1/sweeps/{id}/progress", tag = "sweeps", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Progress), (status = 404, body = ErrorBody)))]
pub(crate) async fn progress(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Progress>> {
    Ok(Json(service::progress(&state, &caller, id).await?))
}

/// Per-question tallies of the answers (for the campaign's managers).
#[utoipa::path(get, path = "/api/v1/sweeps/{id}/results", tag = "sweeps", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Tally>), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn results(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<Tally>>> {
    Ok(Json(service::results(&state, &caller, id).await?))
}

/// The campaign compared with the one it repeats, question by question.
#[utoipa::path(get, path = "/api/v1/sweeps/{id}/compare", tag = "sweeps", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Comparison), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn compare(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Comparison>> {
    Ok(Json(service::compare(&state, &caller, id).await?))
}

/// The caller's doors, by building, floor and unit; heads' names masked; audited.
#[utoipa::path(get, path = "/api/v1/sweeps/{id}/doors", tag = "sweeps", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Door>), (status = 404, body = ErrorBody)))]
pub(crate) async fn doors(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<Door>>> {
    Ok(Json(service::doors(&state, &caller, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SweepAnswerRequest)]
pub struct AnswerRequest {
    pub household_id: i64,
    /// The phone's own id for this submission (8 to 64 letters, digits, `-`, `_`): a retry
    /// with the same id is recorded once.
    pub client_id: String,
    pub outcome: Outcome,
    /// By question key: `true`/`false`, an option, a number or a short text.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub answers: Answers,
}

/// Records a door's answers, or a visit that found nobody home (the door stays open). A
/// household not in the campaign (422), a door the caller does not visit (403) or a campaign
/// not open (409) is refused. Idempotent on (campaign, household, client id).
#[utoipa::path(post, path = "/api/v1/sweeps/{id}/answers", tag = "sweeps", params(("id" = i64, Path)),
    request_body = AnswerRequest, security(("bearer" = [])),
    responses((status = 200, body = Recorded), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<AnswerRequest>,
) -> AppResult<Json<Recorded>> {
    Ok(Json(
        service::submit(
            &state,
            &caller,
            id,
            Submission {
                household_id: r.household_id,
                client_id: r.client_id,
                outcome: r.outcome,
                answers: r.answers,
            },
        )
        .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SweepHandoverRequest)]
pub struct HandoverRequest {
    pub building_id: i64,
    /// The volunteer's username; empty or absent gives the building back to the grid worker.
    #[serde(default)]
    pub volunteer: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = SweepHandover)]
pub struct Handover {
    pub building_id: i64,
    /// The volunteer's name, or none (back with the grid worker).
    pub volunteer: Option<String>,
}

/// Hands a building's doors to a volunteer of the street (or back to the grid worker).
#[utoipa::path(post, path = "/api/v1/sweeps/{id}/handovers", tag = "sweeps", params(("id" = i64, Path)),
    request_body = HandoverRequest, security(("bearer" = [])),
    responses((status = 200, body = Handover), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn hand_over(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<HandoverRequest>,
) -> AppResult<Json<Handover>> {
    let v = service::hand_over(&state, &caller, id, r.building_id, r.volunteer).await?;
    Ok(Json(Handover {
        building_id: r.building_id,
        volunteer: v,
    }))
}

/// The answers as an XLSX sheet, one row per door (no names, no ID numbers; not kept by the
/// browser; audited with every household it names). Gone (410) after the purge.
#[utoipa::path(get, path = "/api/v1/sweeps/{id}/export.xlsx", tag = "sweeps", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 410, body = ErrorBody)))]
pub(crate) async fn export(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let bytes = service::export(&state, &caller, id).await?;
    Ok(file_response(&format!("sweep-{id}.xlsx"), bytes).into_response())
}
