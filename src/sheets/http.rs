//! The sheets area's JSON API: the caller's sheets, a new sheet, a sheet with its totals (her
//! entry, or the entries in the organiser's scope), a household's entry and its withdrawal,
//! an organiser's correction, and the export for the supplier.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{Draft, Entry, Item, Sheet};
use super::service::{self, List, Typed, View};
use crate::http::{ApiJson, ErrorBody, Path, Signed};
use crate::kernel::ctx;
use crate::kernel::error::AppResult;
use crate::notices::Audience;
use crate::state::AppState;

/// The sheets area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, detail, enter, withdraw, correct, close, export))]
pub struct SheetsApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/sheets", get(list).post(create))
        .route("/api/v1/sheets/{id}", get(detail))
        .route("/api/v1/sheets/{id}/entry", post(enter))
        .route("/api/v1/sheets/{id}/entry/withdraw", post(withdraw))
        .route("/api/v1/sheets/{id}/entries/{entry}/correct", post(correct))
        .route("/api/v1/sheets/{id}/close", post(close))
        .route("/api/v1/sheets/{id}/export.xlsx", get(export))
}

/// The sheets the caller manages and those she received as a resident.
#[utoipa::path(get, path = "/api/v1/sheets", tag = "sheets", security(("bearer" = [])),
    responses((status = 200, body = List), (status = 401, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<List>> {
    Ok(Json(service::list(&state, &caller).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SheetRequest)]
pub struct SheetRequest {
    pub title: String,
    #[serde(default)]
    pub intro: String,
    /// What residents sign up for, with a unit price in fen when there is one.
    pub items: Vec<Item>,
    /// Places, tags and households, as for a notice (roles are refused: a sheet is for
    /// residents).
    #[schema(value_type = Object)]
    pub audience: Audience,
    /// Unix ms.
    pub deadline_at: i64,
    /// The most a household takes, all items counted.
    pub household_limit: i64,
}

/// A new sheet, sent out at once to its audience's residents.
#[utoipa::path(post, path = "/api/v1/sheets", tag = "sheets", request_body = SheetRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Sheet), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<SheetRequest>,
) -> AppResult<(StatusCode, Json<Sheet>)> {
    let d = Draft {
        title: r.title,
        intro: r.intro,
        items: r.items,
        audience: r.audience,
        deadline_at: r.deadline_at,
        household_limit: r.household_limit,
    };
    Ok((
        StatusCode::CREATED,
        Json(service::create(&state, &caller, d).await?),
    ))
}

/// A sheet with its totals per building and overall; her household's entry for a recipient;
/// the entries of the people in her scope for an organiser (audited).
#[utoipa::path(get, path = "/api/v1/sheets/{id}", tag = "sheets", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = View), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn detail(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<View>> {
    Ok(Json(service::view(&state, &caller, id, ctx().lang).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SheetEntryRequest)]
pub struct EntryRequest {
    /// The quantity of each item, in the sheet's order.
    pub lines: Vec<i64>,
    #[serde(default)]
    pub note: String,
}

/// Writes or changes her household's entry (before the deadline: after it, 409).
#[utoipa::path(post, path = "/api/v1/sheets/{id}/entry", tag = "sheets", params(("id" = i64, Path)),
    request_body = EntryRequest, security(("bearer" = [])),
    responses((status = 200, body = Entry), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn enter(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<EntryRequest>,
) -> AppResult<Json<Entry>> {
    let t = Typed {
        lines: r.lines,
        note: r.note,
    };
    Ok(Json(service::enter(&state, &caller, id, t).await?))
}

#[derive(Serialize, ToSchema)]
#[schema(as = SheetWithdrawn)]
pub struct Withdrawn {
    pub withdrawn: bool,
}

/// Withdraws her household's entry (before the deadline: after it, 409).
#[utoipa::path(post, path = "/api/v1/sheets/{id}/entry/withdraw", tag = "sheets",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Withdrawn), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn withdraw(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Withdrawn>> {
    service::withdraw(&state, &caller, id).await?;
    Ok(Json(Withdrawn { withdrawn: true }))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SheetCorrectionRequest)]
pub struct CorrectionRequest {
    pub lines: Vec<i64>,
    #[serde(default)]
    pub note: String,
    /// Why the organiser changes a household's entry (kept and shown).
    pub reason: String,
}

/// The organiser corrects an entry, with a reason (kept: who, when, before, after).
#[utoipa::path(post, path = "/api/v1/sheets/{id}/entries/{entry}/correct", tag = "sheets",
    params(("id" = i64, Path), ("entry" = i64, Path)), request_body = CorrectionRequest,
    security(("bearer" = [])),
    responses((status = 200, body = Entry), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn correct(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, entry)): Path<(i64, i64)>,
    ApiJson(r): ApiJson<CorrectionRequest>,
) -> AppResult<Json<Entry>> {
    let t = Typed {
        lines: r.lines,
        note: r.note,
    };
    Ok(Json(
        service::correct(&state, &caller, id, entry, t, &r.reason).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SheetCloseRequest)]
pub struct CloseRequest {
    /// Why the organiser closes it before its deadline (kept and shown).
    pub reason: String,
}

/// The organiser closes a sheet before its deadline, with a reason (kept: who, when, why);
/// entries are refused after it (409).
#[utoipa::path(post, path = "/api/v1/sheets/{id}/close", tag = "sheets",
    params(("id" = i64, Path)), request_body = CloseRequest, security(("bearer" = [])),
    responses((status = 200, body = Sheet), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn close(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<CloseRequest>,
) -> AppResult<Json<Sheet>> {
    Ok(Json(service::close(&state, &caller, id, &r.reason).await?))
}

/// The entries for the supplier as XLSX, in the reader's language (organisers only; audited).
#[utoipa::path(get, path = "/api/v1/sheets/{id}/export.xlsx", tag = "sheets",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, description = "the entries as XLSX", content((Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn export(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<axum::response::Response> {
    let bytes = service::export(&state, &caller, id, ctx().lang).await?;
    Ok(crate::http::file_response(
        &format!("sheet-{id}.xlsx"),
        bytes,
    ))
}
