//! The nearby area's JSON API: the communities a caller reads, a community's public reports
//! and figures, one report, its public photos, "me too", follows, and the unfollow link of a
//! message (without signing in).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use serde::Deserialize;
use utoipa::ToSchema;

use super::follows::Follow;
use super::service::{self, Community, Figures, LinkView, ReportView, Reports};
use crate::cases::http::SupportCount;
use crate::http::{ApiJson, ErrorBody, Path, Query, Signed};
use crate::kernel::error::AppResult;
use crate::state::AppState;

/// The nearby area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_communities,
    community_reports,
    community_figures,
    get_report,
    report_photo,
    support_report,
    follow_report,
    unfollow_report,
    list_follows,
    follow_area,
    end_follow,
    look_link,
    unfollow_link
))]
pub struct NearbyApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/nearby", get(list_communities))
        .route(
            "/api/v1/nearby/communities/{id}/reports",
            get(community_reports),
        )
        .route(
            "/api/v1/nearby/communities/{id}/figures",
            get(community_figures),
        )
        .route("/api/v1/nearby/reports/{id}", get(get_report))
        .route("/api/v1/nearby/reports/{id}/support", post(support_report))
        .route(
            "/api/v1/nearby/reports/{id}/follow",
            post(follow_report).delete(unfollow_report),
        )
        .route("/api/v1/nearby/photos/{id}", get(report_photo))
        .route(
            "/api/v1/nearby/follows",
            get(list_follows).post(follow_area),
        )
        .route("/api/v1/nearby/follows/{id}", delete(end_follow))
        .route(
            "/api/v1/nearby/links/{token}",
            get(look_link).post(unfollow_link),
        )
}

/// The communities whose public page the caller reads: her own (a resident), those she works
/// in (a worker), those her organisation serves.
#[utoipa::path(get, path = "/api/v1/nearby", tag = "nearby", security(("bearer" = [])),
    responses((status = 200, body = Vec<Community>), (status = 401, body = ErrorBody)))]
pub(crate) async fn list_communities(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Community>>> {
    Ok(Json(service::communities(&state, &caller).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ReportsQuery {
    /// Only this category (its code).
    pub category: Option<String>,
}

/// A community's public reports: open ones and those fixed in the last 30 days, of public
/// categories, without personal data (the building at most; the description masked), with
/// their state and dates and approved photos.
#[utoipa::path(get, path = "/api/v1/nearby/communities/{id}/reports", tag = "nearby",
    params(("id" = i64, Path), ReportsQuery), security(("bearer" = [])),
    responses((status = 200, body = Reports), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn community_reports(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<ReportsQuery>,
) -> AppResult<Json<Reports>> {
    Ok(Json(
        service::reports(&state, &caller, id, q.category).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct FiguresQuery {
    /// 30, 90 (the default) or 365 days.
    pub days: Option<i64>,
}

/// The organisations' figures for a community's cases: received, open, fixed, on time,
/// median hours to a fix, satisfaction. No case and no person.
#[utoipa::path(get, path = "/api/v1/nearby/communities/{id}/figures", tag = "nearby",
    params(("id" = i64, Path), FiguresQuery), security(("bearer" = [])),
    responses((status = 200, body = Figures), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn community_figures(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<FiguresQuery>,
) -> AppResult<Json<Figures>> {
    Ok(Json(service::figures(&state, &caller, id, q.days).await?))
}

/// One public report of a community the caller reads.
#[utoipa::path(get, path = "/api/v1/nearby/reports/{id}", tag = "nearby", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = ReportView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_report(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<ReportView>> {
    Ok(Json(service::report(&state, &caller, id).await?))
}

/// A public photo's thumbnail (allowed by the reporter, approved by a worker; no location).
#[utoipa::path(get, path = "/api/v1/nearby/photos/{id}", tag = "nearby", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "the JPEG thumbnail", content_type = "image/jpeg"),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn report_photo(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let rel = service::photo(&state, &caller, id).await?;
    let bytes = tokio::fs::read(state.cfg.data_dir.join(&rel))
        .await
        .map_err(|e| crate::kernel::error::AppError::internal("reading a photo", e))?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "image/jpeg"),
            (axum::http::header::CACHE_CONTROL, "private, no-store"),
        ],
        bytes,
    )
        .into_response())
}

/// "Me too": the caller has the same problem (once per account; not on her own report).
#[utoipa::path(post, path = "/api/v1/nearby/reports/{id}/support", tag = "nearby",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 201, body = SupportCount), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn support_report(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<(StatusCode, Json<SupportCount>)> {
    let supports = service::support(&state, &caller, id).await?;
    Ok((StatusCode::CREATED, Json(SupportCount { supports })))
}

/// Follows a report: its steps reach the caller on the channels she chose.
#[utoipa::path(post, path = "/api/v1/nearby/reports/{id}/follow", tag = "nearby",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 201, body = Follow), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn follow_report(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<(StatusCode, Json<Follow>)> {
    Ok((
        StatusCode::CREATED,
        Json(service::follow_case(&state, &caller, id).await?),
    ))
}

/// Stops following a report (her own too).
#[utoipa::path(delete, path = "/api/v1/nearby/reports/{id}/follow", tag = "nearby",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn unfollow_report(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    service::unfollow_case(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the caller follows.
#[utoipa::path(get, path = "/api/v1/nearby/follows", tag = "nearby", security(("bearer" = [])),
    responses((status = 200, body = Vec<Follow>), (status = 401, body = ErrorBody)))]
pub(crate) async fn list_follows(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Follow>>> {
    Ok(Json(service::my_follows(&state, &caller).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = NearbyAreaFollow)]
pub struct AreaRequest {
    /// A community the caller reads, or a grid in one.
    pub area_id: i64,
    /// A category's code; empty or absent for every category.
    #[serde(default)]
    pub category: String,
}

/// Follows an area and a category: reports there reach the caller as they move.
#[utoipa::path(post, path = "/api/v1/nearby/follows", tag = "nearby", request_body = AreaRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Follow), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn follow_area(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<AreaRequest>,
) -> AppResult<(StatusCode, Json<Follow>)> {
    Ok((
        StatusCode::CREATED,
        Json(service::follow_area(&state, &caller, r.area_id, r.category).await?),
    ))
}

/// Ends one of the caller's follows.
#[utoipa::path(delete, path = "/api/v1/nearby/follows/{id}", tag = "nearby", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn end_follow(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    service::unfollow(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a message's link is about, without signing in (the link is the authority); an
/// altered or forged link is refused (403).
#[utoipa::path(get, path = "/api/v1/nearby/links/{token}", tag = "nearby", params(("token" = String, Path)),
    responses((status = 200, body = LinkView), (status = 403, body = ErrorBody)))]
pub(crate) async fn look_link(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> AppResult<Json<LinkView>> {
    Ok(Json(service::look(&state, token).await?))
}

/// Unfollows by a message's link, without signing in: once (a second use is 409), never
/// with an altered link (403).
#[utoipa::path(post, path = "/api/v1/nearby/links/{token}", tag = "nearby", params(("token" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn unfollow_link(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> AppResult<StatusCode> {
    service::unfollow_by_link(&state, token).await?;
    Ok(StatusCode::NO_CONTENT)
}
