//! The funds area's JSON API: the caller's funds, a new fund, a fund's ledger with its running
//! balance, proposing income and expenses, reversing, approving, receipts, and the export.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{Entry, Fund, Kind};
use super::service::{self, Listed, View};
use crate::http::{ApiJson, ErrorBody, Path, Signed};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::state::AppState;

/// The funds area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    create,
    detail,
    propose,
    approve,
    reverse,
    withdraw,
    add_receipt,
    receipt,
    export_csv,
    export_xlsx
))]
pub struct FundsApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/funds", get(list).post(create))
        .route("/api/v1/funds/{id}", get(detail))
        .route("/api/v1/funds/{id}/entries", post(propose))
        .route("/api/v1/funds/{id}/entries/{entry}/approve", post(approve))
        .route("/api/v1/funds/{id}/entries/{entry}/reverse", post(reverse))
        .route(
            "/api/v1/funds/{id}/entries/{entry}/withdraw",
            post(withdraw),
        )
        .route(
            "/api/v1/funds/{id}/entries/{entry}/receipts",
            post(add_receipt),
        )
        .route("/api/v1/funds/receipts/{id}", get(receipt))
        .route("/api/v1/funds/{id}/export.csv", get(export_csv))
        .route("/api/v1/funds/{id}/export.xlsx", get(export_xlsx))
}

/// The funds the caller sees: of her place, those she represents, those she keeps.
#[utoipa::path(get, path = "/api/v1/funds", tag = "funds", security(("bearer" = [])),
    responses((status = 200, body = Vec<Listed>), (status = 401, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Listed>>> {
    Ok(Json(service::list(&state, &caller).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = FundRequest)]
pub struct FundRequest {
    /// A building, grid or community the caller keeps.
    pub place_id: i64,
    pub name: String,
    /// Representatives' account ids (residents of the place), two to nine.
    pub representatives: Vec<i64>,
    /// Approvals an entry needs: at least one, fewer than the representatives.
    pub required: i64,
}

/// A new fund with its representatives and rule.
#[utoipa::path(post, path = "/api/v1/funds", tag = "funds", request_body = FundRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Fund), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<FundRequest>,
) -> AppResult<(StatusCode, Json<Fund>)> {
    let f = service::create(
        &state,
        &caller,
        r.place_id,
        &r.name,
        r.representatives,
        r.required,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(f)))
}

/// A fund's ledger: approved entries with the running balance, then those proposed.
#[utoipa::path(get, path = "/api/v1/funds/{id}", tag = "funds", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = View), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn detail(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<View>> {
    Ok(Json(service::view(&state, &caller, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = FundEntryRequest)]
pub struct EntryRequest {
    /// income or expense.
    pub kind: String,
    pub amount_fen: i64,
    pub purpose: String,
}

/// Proposes income or an expense (it counts once approved; an expense beyond the balance:
/// 409).
#[utoipa::path(post, path = "/api/v1/funds/{id}/entries", tag = "funds", params(("id" = i64, Path)),
    request_body = EntryRequest, security(("bearer" = [])),
    responses((status = 201, body = Entry), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn propose(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<EntryRequest>,
) -> AppResult<(StatusCode, Json<Entry>)> {
    let kind = Kind::parse(&r.kind)
        .filter(|k| *k != Kind::Reversal)
        .ok_or_else(|| AppError::invalid("funds.err_kind"))?;
    let e = service::propose(&state, &caller, id, kind, r.amount_fen, &r.purpose).await?;
    Ok((StatusCode::CREATED, Json(e)))
}

/// A representative approves an entry (once; never her own).
#[utoipa::path(post, path = "/api/v1/funds/{id}/entries/{entry}/approve", tag = "funds",
    params(("id" = i64, Path), ("entry" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Entry), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn approve(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, entry)): Path<(i64, i64)>,
) -> AppResult<Json<Entry>> {
    Ok(Json(service::approve(&state, &caller, id, entry).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = FundReversalRequest)]
pub struct ReversalRequest {
    pub reason: String,
}

/// Proposes the reversal of an approved entry, with the reason.
#[utoipa::path(post, path = "/api/v1/funds/{id}/entries/{entry}/reverse", tag = "funds",
    params(("id" = i64, Path), ("entry" = i64, Path)), request_body = ReversalRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Entry), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn reverse(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, entry)): Path<(i64, i64)>,
    ApiJson(r): ApiJson<ReversalRequest>,
) -> AppResult<(StatusCode, Json<Entry>)> {
    let e = service::reverse(&state, &caller, id, entry, &r.reason).await?;
    Ok((StatusCode::CREATED, Json(e)))
}

/// Its proposer withdraws an entry not yet approved (it never counts; kept as withdrawn).
/// 403 for anyone else who sees the fund; 409 once approved or withdrawn.
#[utoipa::path(post, path = "/api/v1/funds/{id}/entries/{entry}/withdraw", tag = "funds",
    params(("id" = i64, Path), ("entry" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Entry), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn withdraw(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, entry)): Path<(i64, i64)>,
) -> AppResult<Json<Entry>> {
    Ok(Json(service::withdraw(&state, &caller, id, entry).await?))
}

#[derive(Serialize, ToSchema)]
#[schema(as = FundReceiptCreated)]
pub struct ReceiptCreated {
    pub id: i64,
}

/// Reads the first file of a multipart form (field `photo`).
pub(super) async fn photo_of(mut m: axum::extract::Multipart) -> AppResult<Vec<u8>> {
    while let Some(f) = m
        .next_field()
        .await
        .map_err(|_| AppError::bad_request("error.bad_form"))?
    {
        if f.name() == Some("photo") {
            return Ok(crate::http::upload_bytes(f).await?.to_vec());
        }
    }
    Err(AppError::invalid("funds.err_receipt_type"))
}

/// A receipt photo (multipart field `photo`, JPEG or PNG, at most 2 MB) for an entry not yet
/// approved.
#[utoipa::path(post, path = "/api/v1/funds/{id}/entries/{entry}/receipts", tag = "funds",
    params(("id" = i64, Path), ("entry" = i64, Path)),
    request_body(content_type = "multipart/form-data", content = Vec<u8>), security(("bearer" = [])),
    responses((status = 201, body = ReceiptCreated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_receipt(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, entry)): Path<(i64, i64)>,
    m: axum::extract::Multipart,
) -> AppResult<(StatusCode, Json<ReceiptCreated>)> {
    let bytes = photo_of(m).await?;
    let rid = service::add_receipt(&state, &caller, id, entry, bytes).await?;
    Ok((StatusCode::CREATED, Json(ReceiptCreated { id: rid })))
}

/// A receipt photo, for those who see its fund.
#[utoipa::path(get, path = "/api/v1/funds/receipts/{id}", tag = "funds", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "the photo", content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"))),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn receipt(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let (mime, bytes) = service::receipt(&state, &caller, id).await?;
    Ok(photo_response(mime, bytes))
}

pub(super) fn photo_response(mime: String, bytes: Vec<u8>) -> Response {
    use axum::http::header;
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// The approved ledger with its running balance as CSV (UTF-8 with a byte-order mark).
#[utoipa::path(get, path = "/api/v1/funds/{id}/export.csv", tag = "funds", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "the ledger as CSV", content((String = "text/csv"))),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn export_csv(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let bytes = service::export(&state, &caller, id, false, ctx().lang).await?;
    Ok(crate::http::csv_response(&format!("fund-{id}.csv"), bytes))
}

/// The approved ledger with its running balance as XLSX.
#[utoipa::path(get, path = "/api/v1/funds/{id}/export.xlsx", tag = "funds", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "the ledger as XLSX", content((Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn export_xlsx(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let bytes = service::export(&state, &caller, id, true, ctx().lang).await?;
    Ok(crate::http::file_response(
        &format!("fund-{id}.xlsx"),
        bytes,
    ))
}
