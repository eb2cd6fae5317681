//! The volunteering area's JSON API: activities (list, create, read, sign up, cancel, check in
//! and out by the organiser or by code), points (mine, transfer, reverse, balances), the
//! catalogue (list, create, redeem, my redemptions, confirm a code), the certificate of hours
//! and the street's settings.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::catalogue::{self, Offered, RedemptionView};
use super::points::{self, Balance, Certificate, Mine, Transfer};
use super::service::{self, Detail, Item, Typed};
use super::store::{Activity, Item as CatalogueItem, Redemption, Restock, Settings, Signup};
use crate::http::{ApiJson, ErrorBody, Path, Query, Signed};
use crate::kernel::error::AppResult;
use crate::state::AppState;

/// The volunteering area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    create,
    detail,
    sign_up,
    cancel,
    by_code,
    check_in,
    check_out,
    my_points,
    transfer,
    reverse,
    balances,
    items,
    create_item,
    restock,
    restocks,
    redeem,
    redemptions,
    confirm,
    certificate,
    settings,
    save_settings
))]
pub struct VolunteeringApi;

pub fn router() -> Router<Arc<AppState>> {
    let a = "/api/v1/volunteering";
    Router::new()
        .route(&format!("{a}/activities"), get(list).post(create))
        .route(&format!("{a}/activities/{{id}}"), get(detail))
        .route(&format!("{a}/activities/{{id}}/signup"), post(sign_up))
        .route(&format!("{a}/activities/{{id}}/cancel"), post(cancel))
        .route(&format!("{a}/activities/{{id}}/code"), post(by_code))
        .route(
            &format!("{a}/activities/{{id}}/signups/{{sid}}/check-in"),
            post(check_in),
        )
        .route(
            &format!("{a}/activities/{{id}}/signups/{{sid}}/check-out"),
            post(check_out),
        )
        .route(&format!("{a}/points"), get(my_points))
        .route(&format!("{a}/transfers"), post(transfer))
        .route(&format!("{a}/transactions/{{id}}/reverse"), post(reverse))
        .route(&format!("{a}/balances"), get(balances))
        .route(&format!("{a}/items"), get(items).post(create_item))
        .route(&format!("{a}/items/{{id}}/redeem"), post(redeem))
        .route(&format!("{a}/items/{{id}}/restock"), post(restock))
        .route(&format!("{a}/items/{{id}}/restocks"), get(restocks))
        .route(&format!("{a}/redemptions"), get(redemptions))
        .route(&format!("{a}/redemptions/confirm"), post(confirm))
        .route(&format!("{a}/certificate"), get(certificate))
        .route(&format!("{a}/settings"), get(settings).put(save_settings))
}

/// The activities of the caller's places (an organiser) or those she may join (a volunteer or
/// resident), soonest first.
#[utoipa::path(get, path = "/api/v1/volunteering/activities", tag = "volunteering", security(("bearer" = [])),
    responses((status = 200, body = Vec<Item>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Item>>> {
    Ok(Json(service::list(&state, &caller).await?))
}

/// Creates an activity at a community, grid or building of the organiser's places.
#[utoipa::path(post, path = "/api/v1/volunteering/activities", tag = "volunteering", request_body = Typed,
    security(("bearer" = [])),
    responses((status = 201, body = Activity), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(t): ApiJson<Typed>,
) -> AppResult<(StatusCode, Json<Activity>)> {
    Ok((
        StatusCode::CREATED,
        Json(service::create(&state, &caller, t).await?),
    ))
}

/// An activity: its organiser sees the code and who signed up (audited); a participant her
/// own sign-up.
#[utoipa::path(get, path = "/api/v1/volunteering/activities/{id}", tag = "volunteering",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Detail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn detail(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Detail>> {
    Ok(Json(service::detail(&state, &caller, id).await?))
}

/// Signs the caller up (booked, or on the waiting list when full; 409 twice or when both are
/// full).
#[utoipa::path(post, path = "/api/v1/volunteering/activities/{id}/signup", tag = "volunteering",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Signup), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn sign_up(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Signup>> {
    Ok(Json(service::sign_up(&state, &caller, id).await?))
}

/// Cancels the caller's sign-up before she checks in; the first waiting moves up.
#[utoipa::path(post, path = "/api/v1/volunteering/activities/{id}/cancel", tag = "volunteering",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn cancel(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    service::cancel(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[schema(as = VolunteeringCodeRequest)]
pub struct CodeRequest {
    pub code: String,
}

/// The code shown at the place: checks the caller in, or out when she is in (earning her
/// points). Five wrong codes and she must ask the organiser.
#[utoipa::path(post, path = "/api/v1/volunteering/activities/{id}/code", tag = "volunteering",
    params(("id" = i64, Path)), request_body = CodeRequest, security(("bearer" = [])),
    responses((status = 200, body = Signup), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn by_code(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<CodeRequest>,
) -> AppResult<Json<Signup>> {
    Ok(Json(service::by_code(&state, &caller, id, &r.code).await?))
}

/// The organiser checks a booked person in.
#[utoipa::path(post, path = "/api/v1/volunteering/activities/{id}/signups/{sid}/check-in", tag = "volunteering",
    params(("id" = i64, Path), ("sid" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Signup), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn check_in(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, sid)): Path<(i64, i64)>,
) -> AppResult<Json<Signup>> {
    Ok(Json(
        service::confirm_step(&state, &caller, id, sid, false).await?,
    ))
}

/// The organiser checks a person out, earning her hours × rate points (409 before check-in).
#[utoipa::path(post, path = "/api/v1/volunteering/activities/{id}/signups/{sid}/check-out", tag = "volunteering",
    params(("id" = i64, Path), ("sid" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Signup), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn check_out(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, sid)): Path<(i64, i64)>,
) -> AppResult<Json<Signup>> {
    Ok(Json(
        service::confirm_step(&state, &caller, id, sid, true).await?,
    ))
}

/// The caller's balance (the sum of her entries) and her newest entries.
#[utoipa::path(get, path = "/api/v1/volunteering/points", tag = "volunteering", security(("bearer" = [])),
    responses((status = 200, body = Mine), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn my_points(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Mine>> {
    Ok(Json(points::mine(&state, &caller).await?))
}

/// A transaction written.
#[derive(Serialize, ToSchema)]
#[schema(as = VolunteeringTxnId)]
pub struct TxnId {
    pub txn_id: i64,
}

/// Passes points to another person of the street (409 when the street does not allow it or
/// the balance does not cover it).
#[utoipa::path(post, path = "/api/v1/volunteering/transfers", tag = "volunteering", request_body = Transfer,
    security(("bearer" = [])),
    responses((status = 201, body = TxnId), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn transfer(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(t): ApiJson<Transfer>,
) -> AppResult<(StatusCode, Json<TxnId>)> {
    let txn_id = points::transfer(&state, &caller, t).await?;
    Ok((StatusCode::CREATED, Json(TxnId { txn_id })))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = VolunteeringReverseRequest)]
pub struct ReverseRequest {
    pub reason: String,
}

/// Reverses a transaction of the caller's places with a reason (once; never a reversal).
#[utoipa::path(post, path = "/api/v1/volunteering/transactions/{id}/reverse", tag = "volunteering",
    params(("id" = i64, Path)), request_body = ReverseRequest, security(("bearer" = [])),
    responses((status = 201, body = TxnId), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn reverse(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ReverseRequest>,
) -> AppResult<(StatusCode, Json<TxnId>)> {
    let txn_id = points::reverse(&state, &caller, id, &r.reason).await?;
    Ok((StatusCode::CREATED, Json(TxnId { txn_id })))
}

/// The balances of the people of the organiser's places, highest first (audited).
#[utoipa::path(get, path = "/api/v1/volunteering/balances", tag = "volunteering", security(("bearer" = [])),
    responses((status = 200, body = Vec<Balance>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn balances(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Balance>>> {
    Ok(Json(points::balances(&state, &caller).await?))
}

/// The catalogue: the organiser's communities', or those the caller may join.
#[utoipa::path(get, path = "/api/v1/volunteering/items", tag = "volunteering", security(("bearer" = [])),
    responses((status = 200, body = Vec<Offered>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn items(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Offered>>> {
    Ok(Json(catalogue::list(&state, &caller).await?))
}

/// Puts an item in a community's catalogue (offered by the committee or a shop).
#[utoipa::path(post, path = "/api/v1/volunteering/items", tag = "volunteering",
    request_body = catalogue::Typed, security(("bearer" = [])),
    responses((status = 201, body = CatalogueItem), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn create_item(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(t): ApiJson<catalogue::Typed>,
) -> AppResult<(StatusCode, Json<CatalogueItem>)> {
    Ok((
        StatusCode::CREATED,
        Json(catalogue::create(&state, &caller, t).await?),
    ))
}

/// Restocks an item of the organiser's communities: pieces added to its stock, the restock
/// logged (422 when the stock would pass 100,000).
#[utoipa::path(post, path = "/api/v1/volunteering/items/{id}/restock", tag = "volunteering",
    params(("id" = i64, Path)), request_body = catalogue::RestockTyped, security(("bearer" = [])),
    responses((status = 200, body = CatalogueItem), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn restock(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(t): ApiJson<catalogue::RestockTyped>,
) -> AppResult<Json<CatalogueItem>> {
    Ok(Json(catalogue::restock(&state, &caller, id, t).await?))
}

/// An item's restocks, newest first (an organiser of its community).
#[utoipa::path(get, path = "/api/v1/volunteering/items/{id}/restocks", tag = "volunteering",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<Restock>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn restocks(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<Restock>>> {
    Ok(Json(catalogue::restocks(&state, &caller, id).await?))
}

/// Redeems one piece (409 when the balance does not cover it or none is left); the answer
/// carries the code to show when collecting it.
#[utoipa::path(post, path = "/api/v1/volunteering/items/{id}/redeem", tag = "volunteering",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 201, body = Redemption), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn redeem(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<(StatusCode, Json<Redemption>)> {
    Ok((
        StatusCode::CREATED,
        Json(catalogue::redeem(&state, &caller, id).await?),
    ))
}

/// The caller's redemptions with their codes, newest first.
#[utoipa::path(get, path = "/api/v1/volunteering/redemptions", tag = "volunteering", security(("bearer" = [])),
    responses((status = 200, body = Vec<RedemptionView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn redemptions(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<RedemptionView>>> {
    Ok(Json(catalogue::mine(&state, &caller).await?))
}

/// Confirms a redemption code (the committee's worker or the shop's; 404 for another's,
/// 409 when already confirmed or withdrawn).
#[utoipa::path(post, path = "/api/v1/volunteering/redemptions/confirm", tag = "volunteering",
    request_body = CodeRequest, security(("bearer" = [])),
    responses((status = 200, body = RedemptionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn confirm(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<CodeRequest>,
) -> AppResult<Json<RedemptionView>> {
    Ok(Json(catalogue::confirm(&state, &caller, &r.code).await?))
}

#[derive(Deserialize, IntoParams, Default)]
pub struct Period {
    /// `YYYY-MM-DD` (default: 1 January this year).
    pub from: Option<String>,
    /// `YYYY-MM-DD`, included (default: today).
    pub to: Option<String>,
}

/// The caller's certificate of hours for a period.
#[utoipa::path(get, path = "/api/v1/volunteering/certificate", tag = "volunteering", params(Period),
    security(("bearer" = [])),
    responses((status = 200, body = Certificate), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn certificate(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(p): Query<Period>,
) -> AppResult<Json<Certificate>> {
    Ok(Json(
        points::certificate(&state, &caller, p.from.as_deref(), p.to.as_deref()).await?,
    ))
}

/// The street's rules for points.
#[utoipa::path(get, path = "/api/v1/volunteering/settings", tag = "volunteering", security(("bearer" = [])),
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn settings(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Settings>> {
    Ok(Json(points::settings(&state, &caller).await?))
}

/// Saves the street's rules for points (its administrator).
#[utoipa::path(put, path = "/api/v1/volunteering/settings", tag = "volunteering", request_body = Settings,
    security(("bearer" = [])),
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn save_settings(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(s): ApiJson<Settings>,
) -> AppResult<Json<Settings>> {
    Ok(Json(points::save_settings(&state, &caller, s).await?))
}
