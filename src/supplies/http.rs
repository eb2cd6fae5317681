//! The supplies area's JSON API: the stock of the caller's places, an item's batches, loans
//! and moves, and the moves themselves (receive, lend, return, count, discard what expired).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::{self, Detail, List, Typed};
use super::store::{Item, Loan};
use crate::http::{ApiJson, ErrorBody, Path, Signed};
use crate::kernel::error::AppResult;
use crate::state::AppState;

/// The supplies area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list, create, detail, receive, lend, give_back, count, discard, set_min
))]
pub struct SuppliesApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/supplies", get(list).post(create))
        .route("/api/v1/supplies/{id}", get(detail))
        .route("/api/v1/supplies/{id}/receive", post(receive))
        .route("/api/v1/supplies/{id}/lend", post(lend))
        .route("/api/v1/supplies/{id}/count", post(count))
        .route("/api/v1/supplies/{id}/discard-expired", post(discard))
        .route("/api/v1/supplies/{id}/min", post(set_min))
        .route("/api/v1/supply-loans/{id}/return", post(give_back))
}

/// The stock of the caller's places, with what needs attention.
#[utoipa::path(get, path = "/api/v1/supplies", tag = "supplies", security(("bearer" = [])),
    responses((status = 200, body = List), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<List>> {
    Ok(Json(service::list(&state, &caller).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SupplyItemRequest)]
pub struct ItemRequest {
    /// A community or grid within the caller's places.
    pub place_id: i64,
    pub name: String,
    /// water, food, medical, power, tools, shelter or other.
    pub category: String,
    /// 箱, 瓶, 件 …
    pub unit: String,
    #[serde(default)]
    pub min_level: i64,
}

/// A new item kept at a place (nothing in stock until received).
#[utoipa::path(post, path = "/api/v1/supplies", tag = "supplies", request_body = ItemRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Item), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<ItemRequest>,
) -> AppResult<(StatusCode, Json<Item>)> {
    let t = Typed {
        place_id: r.place_id,
        name: r.name,
        category: r.category,
        unit: r.unit,
        min_level: r.min_level,
    };
    Ok((
        StatusCode::CREATED,
        Json(service::create(&state, &caller, t).await?),
    ))
}

/// An item with its batches, loans and last moves.
#[utoipa::path(get, path = "/api/v1/supplies/{id}", tag = "supplies", params(("id" = i64, Path)),
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

#[derive(Serialize, ToSchema)]
#[schema(as = SupplyQuantity)]
pub struct Quantity {
    /// The item's quantity after the move, or what a count or a discard moved.
    pub quantity: i64,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SupplyReceive)]
pub struct ReceiveRequest {
    pub quantity: i64,
    /// YYYY-MM-DD; empty or absent for what does not expire.
    #[serde(default)]
    pub expires_on: String,
    #[serde(default)]
    pub note: String,
}

/// Stock received, as a batch with its expiry date.
#[utoipa::path(post, path = "/api/v1/supplies/{id}/receive", tag = "supplies", params(("id" = i64, Path)),
    request_body = ReceiveRequest, security(("bearer" = [])),
    responses((status = 200, body = Quantity), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn receive(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ReceiveRequest>,
) -> AppResult<Json<Quantity>> {
    let quantity =
        service::receive(&state, &caller, id, r.quantity, &r.expires_on, &r.note).await?;
    Ok(Json(Quantity { quantity }))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SupplyLend)]
pub struct LendRequest {
    pub quantity: i64,
    /// Who takes it: a team or an organisation.
    pub borrower: String,
    #[serde(default)]
    pub due_on: String,
}

#[derive(Serialize, ToSchema)]
#[schema(as = SupplyLent)]
pub struct Lent {
    pub loan_id: i64,
}

/// Lends part of the stock (the batches that expire first go out first).
#[utoipa::path(post, path = "/api/v1/supplies/{id}/lend", tag = "supplies", params(("id" = i64, Path)),
    request_body = LendRequest, security(("bearer" = [])),
    responses((status = 200, body = Lent), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn lend(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<LendRequest>,
) -> AppResult<Json<Lent>> {
    let loan_id = service::lend(&state, &caller, id, r.quantity, &r.borrower, &r.due_on).await?;
    Ok(Json(Lent { loan_id }))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SupplyReturn)]
pub struct ReturnRequest {
    pub quantity: i64,
}

/// Part or all of a loan back (into the batches it came from).
#[utoipa::path(post, path = "/api/v1/supply-loans/{id}/return", tag = "supplies", params(("id" = i64, Path)),
    request_body = ReturnRequest, security(("bearer" = [])),
    responses((status = 200, body = Loan), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn give_back(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ReturnRequest>,
) -> AppResult<Json<Loan>> {
    Ok(Json(
        service::give_back(&state, &caller, id, r.quantity).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SupplyCount)]
pub struct CountRequest {
    pub counted: i64,
    #[serde(default)]
    pub note: String,
}

/// An inventory count: the difference from the books is booked and kept (answered).
#[utoipa::path(post, path = "/api/v1/supplies/{id}/count", tag = "supplies", params(("id" = i64, Path)),
    request_body = CountRequest, security(("bearer" = [])),
    responses((status = 200, body = Quantity), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn count(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<CountRequest>,
) -> AppResult<Json<Quantity>> {
    let quantity = service::count(&state, &caller, id, r.counted, &r.note).await?;
    Ok(Json(Quantity { quantity }))
}

/// Discards what is past its expiry date (answered: how much).
#[utoipa::path(post, path = "/api/v1/supplies/{id}/discard-expired", tag = "supplies", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Quantity), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn discard(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Quantity>> {
    let quantity = service::discard_expired(&state, &caller, id).await?;
    Ok(Json(Quantity { quantity }))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SupplyMin)]
pub struct MinRequest {
    pub min_level: i64,
}

/// The minimum level below which the item is warned of.
#[utoipa::path(post, path = "/api/v1/supplies/{id}/min", tag = "supplies", params(("id" = i64, Path)),
    request_body = MinRequest, security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn set_min(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<MinRequest>,
) -> AppResult<StatusCode> {
    service::set_min(&state, &caller, id, r.min_level).await?;
    Ok(StatusCode::NO_CONTENT)
}
