//! The call-ups area's JSON API: calls sent, listed and read (the organiser with the counts
//! and who answered; a volunteer her own), answered, closed; a volunteer's phone revealed with
//! a purpose; a volunteer's own profile; the volunteers of the organiser's places.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use utoipa::ToSchema;

use super::service::{self, Detail, Item, Purpose, Revealed, Typed};
use super::store::Call;
use super::volunteers::{self, Profile, ProfileEdit, VolunteerFilter, VolunteerView};
use crate::http::{ApiJson, ErrorBody, Path, Query, Signed};
use crate::kernel::error::AppResult;
use crate::state::AppState;

/// The call-ups area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    create,
    detail,
    answer,
    close,
    reveal,
    profile,
    save_profile,
    volunteers_list
))]
pub struct CallupsApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/callups", get(list).post(create))
        .route("/api/v1/callups/profile", get(profile).put(save_profile))
        .route("/api/v1/callups/volunteers", get(volunteers_list))
        .route("/api/v1/callups/{id}", get(detail))
        .route("/api/v1/callups/{id}/answer", post(answer))
        .route("/api/v1/callups/{id}/close", post(close))
        .route(
            "/api/v1/callups/{id}/recipients/{user}/reveal",
            post(reveal),
        )
}

/// The calls of the caller's places (an organiser) or those sent to her (a volunteer, with
/// her answer), open first.
#[utoipa::path(get, path = "/api/v1/callups", tag = "callups", security(("bearer" = [])),
    responses((status = 200, body = Vec<Item>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Item>>> {
    Ok(Json(service::list(&state, &caller).await?))
}

/// Sends a call to the volunteers of a community, grid or building with any of the skills
/// (all of them when none is named); its recipients are frozen now.
#[utoipa::path(post, path = "/api/v1/callups", tag = "callups", request_body = Typed,
    security(("bearer" = [])),
    responses((status = 201, body = Call), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(t): ApiJson<Typed>,
) -> AppResult<(StatusCode, Json<Call>)> {
    Ok((
        StatusCode::CREATED,
        Json(service::create(&state, &caller, t).await?),
    ))
}

/// A call: the organiser sees the counts and who answered (phones masked; the look is
/// audited); a recipient her own answer.
#[utoipa::path(get, path = "/api/v1/callups/{id}", tag = "callups", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Detail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn detail(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Detail>> {
    Ok(Json(service::detail(&state, &caller, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CallupAnswerRequest)]
pub struct AnswerRequest {
    /// `coming` or `not_available`.
    pub answer: String,
    #[serde(default)]
    pub note: String,
}

/// A recipient's answer (changeable until the call closes; 409 after).
#[utoipa::path(post, path = "/api/v1/callups/{id}/answer", tag = "callups", params(("id" = i64, Path)),
    request_body = AnswerRequest, security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn answer(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<AnswerRequest>,
) -> AppResult<StatusCode> {
    service::answer(&state, &caller, id, &r.answer, &r.note).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CallupCloseRequest)]
pub struct CloseRequest {
    /// `filled` or `cancelled`.
    pub outcome: String,
    pub reason: String,
}

/// Closes a call, filled or cancelled, with a reason (a cancelled call is told to its
/// recipients).
#[utoipa::path(post, path = "/api/v1/callups/{id}/close", tag = "callups", params(("id" = i64, Path)),
    request_body = CloseRequest, security(("bearer" = [])),
    responses((status = 200, body = Call), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn close(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<CloseRequest>,
) -> AppResult<Json<Call>> {
    Ok(Json(
        service::close(&state, &caller, id, &r.outcome, &r.reason).await?,
    ))
}

/// A recipient's phone for the call's organiser, with a purpose (audited as a reveal).
#[utoipa::path(post, path = "/api/v1/callups/{id}/recipients/{user}/reveal", tag = "callups",
    params(("id" = i64, Path), ("user" = i64, Path)), request_body = Purpose, security(("bearer" = [])),
    responses((status = 200, body = Revealed), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn reveal(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, user)): Path<(i64, i64)>,
    ApiJson(p): ApiJson<Purpose>,
) -> AppResult<Json<Revealed>> {
    Ok(Json(service::reveal(&state, &caller, id, user, &p).await?))
}

/// The caller's own volunteer profile: skills, buildings, phone (masked), affiliation
/// (resident, party member registered here, a unit's staff), weekly availability, and the
/// buildings and units she may choose from.
#[utoipa::path(get, path = "/api/v1/callups/profile", tag = "callups", security(("bearer" = [])),
    responses((status = 200, body = Profile), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn profile(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Profile>> {
    Ok(Json(volunteers::own(&state, &caller).await?))
}

/// Saves the caller's own volunteer profile: skills and buildings whole; phone,
/// affiliation and availability when given (a unit's staff must name an organisation of
/// her street, 422 otherwise).
#[utoipa::path(put, path = "/api/v1/callups/profile", tag = "callups", request_body = ProfileEdit,
    security(("bearer" = [])),
    responses((status = 200, body = Profile), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn save_profile(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(e): ApiJson<ProfileEdit>,
) -> AppResult<Json<Profile>> {
    Ok(Json(volunteers::save(&state, &caller, e).await?))
}

/// The volunteers the caller's calls can reach, with their skills, buildings, affiliation
/// and availability (phones masked; the look is audited); by affiliation and by a weekly
/// slot she is free in.
#[utoipa::path(get, path = "/api/v1/callups/volunteers", tag = "callups", params(VolunteerFilter),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<VolunteerView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn volunteers_list(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(f): Query<VolunteerFilter>,
) -> AppResult<Json<Vec<VolunteerView>>> {
    Ok(Json(
        volunteers::filtered(&state, &caller, f).await?.volunteers,
    ))
}
