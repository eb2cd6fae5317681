//! The JSON API of a resident's rights and of protected data: reveals with a purpose, her access log and data, corrections, and exports with approval.

/// Privacy's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    reveal,
    my_access_log,
    my_access_counts,
    my_data,
    create_correction,
    list_corrections,
    close_correction,
    create_export,
    list_exports,
    decide_export,
    download_export
))]
pub struct PrivacyApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/persons/{id}/reveal", axum::routing::post(reveal))
        .route("/api/v1/me/access-log", get(my_access_log))
        .route("/api/v1/me/access-log/counts", get(my_access_counts))
        .route("/api/v1/me/data", get(my_data))
        .route(
            "/api/v1/me/corrections",
            axum::routing::post(create_correction),
        )
        .route("/api/v1/corrections", get(list_corrections))
        .route(
            "/api/v1/corrections/{id}",
            axum::routing::post(close_correction),
        )
        .route("/api/v1/exports", get(list_exports).post(create_export))
        .route(
            "/api/v1/exports/{id}/decision",
            axum::routing::post(decide_export),
        )
        .route("/api/v1/exports/{id}/download", get(download_export))
}

use crate::http::Created;
use crate::http::ErrorBody;
use crate::http::{ApiJson, Signed, file_response};
use crate::http::{Path, Query};
use crate::kernel::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema)]
pub struct RevealRequest {
    pub field: crate::registry::access::Field,
    /// One of home_visit, service, emergency, verification, other.
    pub purpose: String,
    /// Free text; required with `other`.
    #[serde(default)]
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct Revealed {
    pub value: String,
}

/// Reveals one masked field of one person, for a stated purpose. The reveal is written to the
/// audit log before the value is sent.
#[utoipa::path(post, path = "/api/v1/persons/{id}/reveal", tag = "registry", params(("id" = i64, Path)), request_body = RevealRequest,
    security(("bearer" = [])),
    responses((status = 200, body = Revealed), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn reveal(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<RevealRequest>,
) -> AppResult<Json<Revealed>> {
    let value =
        crate::registry::access::reveal(&state, &caller, id, r.field, &r.purpose, &r.note).await?;
    Ok(Json(Revealed { value }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessLogQuery {
    /// Only these kinds, comma-separated (e.g. `reveal,export`) [default: all].
    pub kind: Option<String>,
    /// Entries older than this one: the `seq` of the last entry of the page before.
    pub before: Option<u64>,
    /// Entries per page, at most 500 [default: 200].
    pub limit: Option<i64>,
}

/// Who looked at the signed-in resident's record and household: when, which role and
/// organisation, what, and why. Newest first, a page at a time: when older entries remain, the
/// `Link` header names the next page (`rel="next"`, i.e. `before` = the last entry's `seq`).
/// `kind=reveal,export` lists only her data shown in full or exported;
/// `/api/v1/me/access-log/counts` gives how many of each kind there are.
#[utoipa::path(get, path = "/api/v1/me/access-log", tag = "session", params(AccessLogQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<crate::audit::Access>,
        headers(("Link" = String, description = "the next (older) page: `<…?before=SEQ…>; rel=\"next\"`"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn my_access_log(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<AccessLogQuery>,
) -> AppResult<Response> {
    let query = super::access_query(q.kind.as_deref(), q.before, q.limit)?;
    let limit = query.limit;
    // Kinds as parsed (known names only), so the link carries nothing the caller made up.
    let kinds: Vec<&str> = query.kinds.iter().map(|k| k.as_str()).collect();
    let page = crate::registry::access::my_accesses(&state, &caller, query.clone()).await?;
    let mut res = Json(page.entries).into_response();
    if let Some(next) = page.next_before {
        let mut link = format!("</api/v1/me/access-log?before={next}&limit={limit}");
        if !kinds.is_empty() {
            link.push_str(&format!("&kind={}", kinds.join(",")));
        }
        link.push_str(">; rel=\"next\"");
        if let Ok(v) = axum::http::HeaderValue::from_str(&link) {
            res.headers_mut().insert(axum::http::header::LINK, v);
        }
    }
    Ok(res)
}

#[derive(Serialize, ToSchema)]
pub struct AccessCounts {
    /// All entries of the access log.
    pub total: i64,
    /// Per kind, reveals and exports first; kinds with none are left out.
    pub kinds: Vec<crate::audit::AccessCount>,
}

/// How many entries of each kind the signed-in resident's access log holds, over all of it.
#[utoipa::path(get, path = "/api/v1/me/access-log/counts", tag = "session", security(("bearer" = [])),
    responses((status = 200, body = AccessCounts), (status = 401, body = ErrorBody)))]
pub(crate) async fn my_access_counts(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<AccessCounts>> {
    let kinds = crate::registry::access::my_access_counts(&state, &caller).await?;
    Ok(Json(AccessCounts {
        total: kinds.iter().map(|k| k.count).sum(),
        kinds,
    }))
}

/// A copy of the signed-in resident's own data (PIPL art. 45).
#[utoipa::path(get, path = "/api/v1/me/data", tag = "session", security(("bearer" = [])),
    responses((status = 200, body = crate::registry::access::OwnData), (status = 404, body = ErrorBody)))]
pub(crate) async fn my_data(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<crate::registry::access::OwnData>> {
    Ok(Json(
        crate::registry::access::own_data(&state, &caller).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct CorrectionRequest {
    /// name, id_number, phone, address, household or other.
    pub field: String,
    pub message: String,
}

/// A resident asks for a correction of their own record (PIPL art. 46).
#[utoipa::path(post, path = "/api/v1/me/corrections", tag = "registry", request_body = CorrectionRequest, security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_correction(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<CorrectionRequest>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id =
        crate::registry::access::request_correction(&state, &caller, &r.field, &r.message).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Correction requests within the caller's registry scope.
#[utoipa::path(get, path = "/api/v1/corrections", tag = "registry", security(("bearer" = [])),
    responses((status = 200, body = Vec<crate::registry::corrections::Correction>)))]
pub(crate) async fn list_corrections(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<crate::registry::corrections::Correction>>> {
    let scope = caller.scope.registry.clone();
    let list = state
        .db
        .read(move |c| crate::registry::corrections::in_scope(c, &scope, false))
        .await?;
    crate::registry::access::listed_people(&state, &caller, list.iter().map(|r| r.person_id))
        .await?;
    Ok(Json(list))
}

#[derive(Deserialize, ToSchema)]
pub struct CloseCorrection {
    /// done or rejected.
    pub state: String,
    #[serde(default)]
    pub reply: String,
}

/// Closes a correction request with a reply the resident sees.
#[utoipa::path(post, path = "/api/v1/corrections/{id}", tag = "registry", params(("id" = i64, Path)), request_body = CloseCorrection, security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn close_correction(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<CloseCorrection>,
) -> AppResult<StatusCode> {
    let done = match r.state.as_str() {
        "done" => true,
        "rejected" => false,
        _ => return Err(AppError::invalid("error.correction_state")),
    };
    crate::registry::access::close_correction(&state, &caller, id, done, &r.reply).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ExportBody {
    /// The place whose residents to export, by path.
    pub place: String,
    /// Full ID numbers and phones; always needs an approval one level up.
    #[serde(default)]
    pub unmasked: bool,
    pub reason: String,
    /// Export only a search's result: the filters of `GET /api/v1/persons` (q, address, tag,
    /// age_min, age_max, presence). Without it, everyone under the place.
    #[serde(default)]
    pub filter: Option<crate::registry::persons::Search>,
}

/// Asks for an export of residents (masked and within the limit: approved at once).
#[utoipa::path(post, path = "/api/v1/exports", tag = "registry", request_body = ExportBody, security(("bearer" = [])),
    responses((status = 201, body = crate::registry::export::ExportRequest), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_export(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(b): ApiJson<ExportBody>,
) -> AppResult<(StatusCode, Json<crate::registry::export::ExportRequest>)> {
    let r = crate::registry::access::request_export(
        &state, &caller, &b.place, b.unmasked, &b.reason, b.filter,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[derive(Serialize, ToSchema)]
pub struct ExportLists {
    pub mine: Vec<crate::registry::export::ExportRequest>,
    /// Requests from below that the caller may approve or reject.
    pub awaiting: Vec<crate::registry::export::ExportRequest>,
}

/// The caller's export requests and those awaiting the caller's decision.
#[utoipa::path(get, path = "/api/v1/exports", tag = "registry", security(("bearer" = [])), responses((status = 200, body = ExportLists)))]
pub(crate) async fn list_exports(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<ExportLists>> {
    let (uid, scope) = (caller.user_id, caller.scope.registry.clone());
    let (mine, awaiting) = state
        .db
        .read(move |c| {
            Ok((
                crate::registry::export::mine(c, uid)?,
                crate::registry::export::awaiting(c, &scope, uid)?,
            ))
        })
        .await?;
    Ok(Json(ExportLists { mine, awaiting }))
}

#[derive(Deserialize, ToSchema)]
pub struct Decision {
    pub approve: bool,
    /// Required when rejecting.
    #[serde(default)]
    pub comment: String,
}

/// Approves or rejects an export request (a user one level up the hierarchy).
#[utoipa::path(post, path = "/api/v1/exports/{id}/decision", tag = "registry", params(("id" = i64, Path)), request_body = Decision, security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn decide_export(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(d): ApiJson<Decision>,
) -> AppResult<StatusCode> {
    crate::registry::access::decide_export(&state, &caller, id, d.approve, &d.comment).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Downloads an approved export as CSV (its requester only, until it expires).
#[utoipa::path(get, path = "/api/v1/exports/{id}/download", tag = "registry", params(("id" = i64, Path), FormatQuery), security(("bearer" = [])),
    responses((status = 200, description = "CSV, or XLSX with `format=xlsx`", content((Vec<u8> = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn download_export(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(f): Query<FormatQuery>,
) -> AppResult<Response> {
    let xlsx = f.format.as_deref() == Some("xlsx");
    let (name, bytes) = crate::registry::access::download_export(&state, &caller, id, xlsx).await?;
    Ok(file_response(&name, bytes))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// csv (default) or xlsx.
    pub format: Option<String>,
}
