//! The join area's JSON API: a resident registers by herself or redeems an invitation code
//! (no sign-in: the same limits as the pages), a worker issues codes and reads who joined.

/// The join area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(register, look_up_code, redeem, buildings, issue))]
pub struct JoinApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/join/register", post(register))
        .route("/api/v1/join/code", post(look_up_code))
        .route("/api/v1/join/redeem", post(redeem))
        .route("/api/v1/join/buildings", get(buildings))
        .route("/api/v1/join/invitations", post(issue))
}

use super::service::{self, BuildingFigures, CodeHousehold, IssueFor, Joined, Letter};
use crate::http::{ApiJson, ClientAddr, ErrorBody, Signed};
use crate::kernel::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// Her name as in the registry.
    pub name: String,
    /// The last six characters of her ID number (digits, the last may be X).
    pub id_tail: String,
    /// Her unit: a building's id (from the join page's list) and the room number …
    #[serde(default)]
    pub building_id: Option<i64>,
    #[serde(default)]
    pub room: Option<String>,
    /// … or the unit's full address.
    #[serde(default)]
    pub address: Option<String>,
    pub username: String,
    pub password: String,
}

/// A resident opens an account by herself: her name, the last six characters of her ID number
/// and her unit must name a resident of that unit. Every refusal is the same answer (422
/// `invalid`); after repeated failures from an address or on a unit, 429.
#[utoipa::path(post, path = "/api/v1/join/register", tag = "join", request_body = RegisterRequest,
    responses((status = 201, body = Joined), (status = 400, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub(crate) async fn register(
    State(state): State<Arc<AppState>>,
    ClientAddr(client): ClientAddr,
    ApiJson(r): ApiJson<RegisterRequest>,
) -> AppResult<(StatusCode, Json<Joined>)> {
    super::limit(&state, client)?;
    let j = service::register_self(
        &state,
        client,
        service::SelfRegistration {
            name: r.name,
            id_tail: r.id_tail,
            unit: service::UnitChoice {
                building_id: r.building_id,
                room: r.room,
                address: r.address,
            },
            username: r.username,
            password: r.password,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(j)))
}

#[derive(Deserialize, ToSchema)]
pub struct CodeRequest {
    /// As printed on the letter, e.g. `ABCD-EFGH-JKLM` (case, spaces and dashes do not matter).
    pub code: String,
}

/// The household an invitation code opens: its unit and its members, names masked, to choose
/// from. 410 `gone` for a code used, replaced or expired (the message says what to do).
#[utoipa::path(post, path = "/api/v1/join/code", tag = "join", request_body = CodeRequest,
    responses((status = 200, body = CodeHousehold), (status = 400, body = ErrorBody),
              (status = 410, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub(crate) async fn look_up_code(
    State(state): State<Arc<AppState>>,
    ClientAddr(client): ClientAddr,
    ApiJson(r): ApiJson<CodeRequest>,
) -> AppResult<Json<CodeHousehold>> {
    super::limit(&state, client)?;
    Ok(Json(service::look_up_code(&state, client, &r.code).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct RedeemRequest {
    pub code: String,
    /// Which member of the household she is (from `/api/v1/join/code`).
    pub person_id: i64,
    pub username: String,
    pub password: String,
}

/// Redeems an invitation code: a resident's account linked to the member she chose. The code
/// is used up.
#[utoipa::path(post, path = "/api/v1/join/redeem", tag = "join", request_body = RedeemRequest,
    responses((status = 201, body = Joined), (status = 400, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 410, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub(crate) async fn redeem(
    State(state): State<Arc<AppState>>,
    ClientAddr(client): ClientAddr,
    ApiJson(r): ApiJson<RedeemRequest>,
) -> AppResult<(StatusCode, Json<Joined>)> {
    super::limit(&state, client)?;
    let j = service::redeem(
        &state,
        client,
        &r.code,
        r.person_id,
        &r.username,
        &r.password,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(j)))
}

/// Who has joined, per building of the caller's scope: households, households with a member
/// who joined, accounts, codes waiting. Counts only.
#[utoipa::path(get, path = "/api/v1/join/buildings", tag = "join", security(("bearer" = [])),
    responses((status = 200, body = Vec<BuildingFigures>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn buildings(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<BuildingFigures>>> {
    Ok(Json(service::figures(&state, &caller).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct IssueRequest {
    /// Every household under this place (a building, or a grid …) …
    #[serde(default)]
    pub place_id: Option<i64>,
    /// … or this one household.
    #[serde(default)]
    pub household_id: Option<i64>,
    /// Days until the codes expire (1–90, default 30).
    #[serde(default)]
    pub days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct IssueResponse {
    /// One per household. The codes are shown this once: they are kept only hashed.
    pub letters: Vec<Letter>,
}

/// Issues an invitation code per household (a household's earlier unused code is withdrawn).
#[utoipa::path(post, path = "/api/v1/join/invitations", tag = "join", request_body = IssueRequest,
    security(("bearer" = [])),
    responses((status = 201, body = IssueResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn issue(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<IssueRequest>,
) -> AppResult<(StatusCode, Json<IssueResponse>)> {
    let target = match (r.place_id, r.household_id) {
        (Some(p), None) => IssueFor::Place(p),
        (None, Some(h)) => IssueFor::Household(h),
        _ => return Err(AppError::invalid("join.issue_target")),
    };
    let letters = service::issue(&state, &caller, target, r.days).await?;
    Ok((StatusCode::CREATED, Json(IssueResponse { letters })))
}
