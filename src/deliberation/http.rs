//! The deliberation area's JSON API: proposals (list, propose, read with the timeline,
//! support, withdraw, reject, comment, hide, report), the thresholds, bodies and their
//! members, meetings (agenda, attendance, minutes, decisions) and decisions' progress.

/// The deliberation area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_proposals,
    create_proposal,
    get_proposal,
    support,
    withdraw,
    reject,
    add_comment,
    hide_comment,
    report_comment,
    list_reports,
    get_thresholds,
    put_threshold,
    list_bodies,
    create_body,
    add_member,
    create_meeting,
    get_meeting,
    add_agenda,
    put_attendance,
    put_minutes,
    add_decision,
    add_progress,
    upload_photo,
    get_photo
))]
pub struct DeliberationApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v1/proposals",
            get(list_proposals).post(create_proposal),
        )
        .route("/api/v1/proposals/reports", get(list_reports))
        .route(
            "/api/v1/proposals/thresholds",
            get(get_thresholds).put(put_threshold),
        )
        .route("/api/v1/proposals/{id}", get(get_proposal))
        .route("/api/v1/proposals/{id}/support", post(support))
        .route("/api/v1/proposals/{id}/withdraw", post(withdraw))
        .route("/api/v1/proposals/{id}/reject", post(reject))
        .route("/api/v1/proposals/{id}/photos", post(upload_photo))
        .route("/api/v1/proposals/{id}/photos/{pid}", get(get_photo))
        .route("/api/v1/proposals/{id}/comments", post(add_comment))
        .route(
            "/api/v1/proposals/{id}/comments/{cid}/hide",
            post(hide_comment),
        )
        .route(
            "/api/v1/proposals/{id}/comments/{cid}/report",
            post(report_comment),
        )
        .route("/api/v1/bodies", get(list_bodies).post(create_body))
        .route("/api/v1/bodies/{id}/members", post(add_member))
        .route("/api/v1/meetings", post(create_meeting))
        .route("/api/v1/meetings/{id}", get(get_meeting))
        .route("/api/v1/meetings/{id}/agenda", post(add_agenda))
        .route("/api/v1/meetings/{id}/attendance", put(put_attendance))
        .route("/api/v1/meetings/{id}/minutes", put(put_minutes))
        .route("/api/v1/meetings/{id}/decisions", post(add_decision))
        .route("/api/v1/decisions/{id}/progress", post(add_progress))
}

use super::service::{
    self, BodyView, MeetingView, NewBody, NewDecision, NewMeeting, NewMember, ProposalList,
    ProposalView, Threshold,
};
use super::store::{Body, Comment, Decision, Meeting, Member, Proposal, Report};
use crate::http::{ApiJson, ErrorBody, Path, Query, Signed};
use crate::kernel::error::AppResult;
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::Deserialize;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams, Default)]
pub struct ListQuery {
    /// Only proposals in this state.
    #[serde(default)]
    pub state: Option<String>,
}

/// A verified resident's proposals in her building, estate and community (with the scopes she
/// may propose in), or a worker's queue within her places.
#[utoipa::path(get, path = "/api/v1/proposals", tag = "deliberation", params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = ProposalList), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn list_proposals(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<ProposalList>> {
    let only = q.state.filter(|s| !s.is_empty());
    Ok(Json(service::list(&state, &caller, only).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct ProposalRequest {
    /// building, estate or community: one of the caller's home's.
    pub scope: String,
    pub title: String,
    /// Plain text; links are shown as links, HTML is refused.
    pub body: String,
    /// A place within the scope it is about.
    #[serde(default)]
    pub place_id: Option<i64>,
}

/// A verified resident proposes within her building, estate or community.
#[utoipa::path(post, path = "/api/v1/proposals", tag = "deliberation", request_body = ProposalRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Proposal), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn create_proposal(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<ProposalRequest>,
) -> AppResult<(StatusCode, Json<Proposal>)> {
    let p = service::create(
        &state,
        &caller,
        service::NewProposal {
            scope: r.scope,
            title: r.title,
            body: r.body,
            place_id: r.place_id,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// One proposal with its timeline, comments and decisions (404 outside the caller's scope).
#[utoipa::path(get, path = "/api/v1/proposals/{id}", tag = "deliberation", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = ProposalView), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn get_proposal(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<ProposalView>> {
    Ok(Json(service::get(&state, &caller, id).await?))
}

/// Supports a proposal (a resident of its scope, once).
#[utoipa::path(post, path = "/api/v1/proposals/{id}/support", tag = "deliberation", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Proposal), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub(crate) async fn support(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Proposal>> {
    Ok(Json(service::support(&state, &caller, id).await?))
}

/// The author withdraws her proposal (before it is on an agenda).
#[utoipa::path(post, path = "/api/v1/proposals/{id}/withdraw", tag = "deliberation", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Proposal), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub(crate) async fn withdraw(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Proposal>> {
    Ok(Json(service::withdraw(&state, &caller, id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct ProposalReasonRequest {
    pub reason: String,
}

/// A worker rejects an open proposal with a reason (shown on its timeline).
#[utoipa::path(post, path = "/api/v1/proposals/{id}/reject", tag = "deliberation", params(("id" = i64, Path)),
    request_body = ProposalReasonRequest, security(("bearer" = [])),
    responses((status = 200, body = Proposal), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn reject(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ProposalReasonRequest>,
) -> AppResult<Json<Proposal>> {
    Ok(Json(service::reject(&state, &caller, id, &r.reason).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct ProposalCommentRequest {
    pub body: String,
}

/// Comments on a proposal (at most 10 in 10 minutes per account: 429 past that).
#[utoipa::path(post, path = "/api/v1/proposals/{id}/comments", tag = "deliberation", params(("id" = i64, Path)),
    request_body = ProposalCommentRequest, security(("bearer" = [])),
    responses((status = 201, body = Comment), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub(crate) async fn add_comment(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ProposalCommentRequest>,
) -> AppResult<(StatusCode, Json<Comment>)> {
    Ok((
        StatusCode::CREATED,
        Json(service::comment(&state, &caller, id, &r.body).await?),
    ))
}

/// A worker or a council member hides a comment with a reason (kept and shown).
#[utoipa::path(post, path = "/api/v1/proposals/{id}/comments/{cid}/hide", tag = "deliberation",
    params(("id" = i64, Path), ("cid" = i64, Path)), request_body = ProposalReasonRequest, security(("bearer" = [])),
    responses((status = 200, body = Comment), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn hide_comment(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, cid)): Path<(i64, i64)>,
    ApiJson(r): ApiJson<ProposalReasonRequest>,
) -> AppResult<Json<Comment>> {
    Ok(Json(
        service::hide(&state, &caller, id, cid, &r.reason).await?,
    ))
}

/// Reports a comment to the workers (once per account).
#[utoipa::path(post, path = "/api/v1/proposals/{id}/comments/{cid}/report", tag = "deliberation",
    params(("id" = i64, Path), ("cid" = i64, Path)), request_body = ProposalReasonRequest, security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn report_comment(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, cid)): Path<(i64, i64)>,
    ApiJson(r): ApiJson<ProposalReasonRequest>,
) -> AppResult<StatusCode> {
    service::report(&state, &caller, id, cid, &r.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Open reports of comments within the worker's places.
#[utoipa::path(get, path = "/api/v1/proposals/reports", tag = "deliberation", security(("bearer" = [])),
    responses((status = 200, body = Vec<Report>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn list_reports(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Report>>> {
    Ok(Json(service::reports(&state, &caller).await?))
}

/// The supports each scope kind needs in the caller's street (building 5, estate 20,
/// community 30 unless set).
#[utoipa::path(get, path = "/api/v1/proposals/thresholds", tag = "deliberation", security(("bearer" = [])),
    responses((status = 200, body = Vec<Threshold>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn get_thresholds(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Threshold>>> {
    Ok(Json(service::thresholds(&state, &caller).await?))
}

/// A street administrator sets one scope kind's threshold (for proposals made from now on).
#[utoipa::path(put, path = "/api/v1/proposals/thresholds", tag = "deliberation", request_body = Threshold,
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn put_threshold(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(t): ApiJson<Threshold>,
) -> AppResult<StatusCode> {
    service::set_threshold(&state, &caller, t).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The bodies within the worker's places, with members and meetings.
#[utoipa::path(get, path = "/api/v1/bodies", tag = "deliberation", security(("bearer" = [])),
    responses((status = 200, body = Vec<BodyView>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn list_bodies(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<BodyView>>> {
    Ok(Json(service::bodies(&state, &caller).await?))
}

/// A worker sets up a body: a residents' council (at a community), an owners' committee, or a
/// building's residents.
#[utoipa::path(post, path = "/api/v1/bodies", tag = "deliberation", request_body = NewBody,
    security(("bearer" = [])),
    responses((status = 201, body = Body), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_body(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(n): ApiJson<NewBody>,
) -> AppResult<(StatusCode, Json<Body>)> {
    Ok((
        StatusCode::CREATED,
        Json(service::create_body(&state, &caller, n).await?),
    ))
}

/// Adds a member with her term to a body.
#[utoipa::path(post, path = "/api/v1/bodies/{id}/members", tag = "deliberation", params(("id" = i64, Path)),
    request_body = NewMember, security(("bearer" = [])),
    responses((status = 201, body = Member), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn add_member(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(n): ApiJson<NewMember>,
) -> AppResult<(StatusCode, Json<Member>)> {
    Ok((
        StatusCode::CREATED,
        Json(service::add_member(&state, &caller, id, n).await?),
    ))
}

/// Calls a meeting of a body.
#[utoipa::path(post, path = "/api/v1/meetings", tag = "deliberation", request_body = NewMeeting,
    security(("bearer" = [])),
    responses((status = 201, body = Meeting), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn create_meeting(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(n): ApiJson<NewMeeting>,
) -> AppResult<(StatusCode, Json<Meeting>)> {
    Ok((
        StatusCode::CREATED,
        Json(service::create_meeting(&state, &caller, n).await?),
    ))
}

/// A meeting: its body, members, attendance, agenda, decisions and the queue of supported
/// proposals waiting for an agenda.
#[utoipa::path(get, path = "/api/v1/meetings/{id}", tag = "deliberation", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = MeetingView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_meeting(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<MeetingView>> {
    Ok(Json(service::meeting(&state, &caller, id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct MeetingAgendaRequest {
    pub proposal_id: i64,
}

/// Puts a supported proposal on the meeting's agenda (it moves to `on_agenda`).
#[utoipa::path(post, path = "/api/v1/meetings/{id}/agenda", tag = "deliberation", params(("id" = i64, Path)),
    request_body = MeetingAgendaRequest, security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn add_agenda(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<MeetingAgendaRequest>,
) -> AppResult<StatusCode> {
    service::add_to_agenda(&state, &caller, id, r.proposal_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct MeetingAttendanceRequest {
    pub member_id: i64,
    /// in_person, online or absent.
    pub mode: String,
}

/// Records a member's attendance.
#[utoipa::path(put, path = "/api/v1/meetings/{id}/attendance", tag = "deliberation", params(("id" = i64, Path)),
    request_body = MeetingAttendanceRequest, security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn put_attendance(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<MeetingAttendanceRequest>,
) -> AppResult<StatusCode> {
    service::set_attendance(&state, &caller, id, r.member_id, &r.mode).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct MeetingMinutesRequest {
    pub minutes: String,
}

/// Records the meeting's minutes.
#[utoipa::path(put, path = "/api/v1/meetings/{id}/minutes", tag = "deliberation", params(("id" = i64, Path)),
    request_body = MeetingMinutesRequest, security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn put_minutes(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<MeetingMinutesRequest>,
) -> AppResult<StatusCode> {
    service::set_minutes(&state, &caller, id, &r.minutes).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A decision of the meeting; deciding a proposal on its agenda moves it to `decided`.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/decisions", tag = "deliberation", params(("id" = i64, Path)),
    request_body = NewDecision, security(("bearer" = [])),
    responses((status = 201, body = Decision), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_decision(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(n): ApiJson<NewDecision>,
) -> AppResult<(StatusCode, Json<Decision>)> {
    Ok((
        StatusCode::CREATED,
        Json(service::decide(&state, &caller, id, n).await?),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct DecisionProgressRequest {
    pub note: String,
    /// Marks the decision done (and its proposal).
    #[serde(default)]
    pub done: bool,
}

/// A progress update on a decision.
#[utoipa::path(post, path = "/api/v1/decisions/{id}/progress", tag = "deliberation", params(("id" = i64, Path)),
    request_body = DecisionProgressRequest, security(("bearer" = [])),
    responses((status = 200, body = Decision), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_progress(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<DecisionProgressRequest>,
) -> AppResult<Json<Decision>> {
    Ok(Json(
        service::progress(&state, &caller, id, &r.note, r.done).await?,
    ))
}

/// Reads a multipart upload: the `photo` field and the form's `csrf` token.
pub async fn read_photo(mut m: axum::extract::Multipart) -> AppResult<(Vec<u8>, String)> {
    let (mut raw, mut csrf) = (None, String::new());
    while let Some(field) = m
        .next_field()
        .await
        .map_err(|_| crate::kernel::error::AppError::bad_request("error.bad_form"))?
    {
        let name = field.name().unwrap_or("").to_string();
        let data = crate::http::upload_bytes(field).await?;
        match name.as_str() {
            "photo" => raw = Some(data.to_vec()),
            "csrf" => csrf = String::from_utf8_lossy(&data).to_string(),
            _ => {}
        }
    }
    let raw = raw.ok_or_else(|| crate::kernel::error::AppError::invalid("case.err_photo_empty"))?;
    Ok((raw, csrf))
}

/// The author adds a photo to her open proposal (multipart: `photo`). JPEG or PNG by content,
/// at most 5 MB, three per proposal; its location and metadata are removed.
#[utoipa::path(post, path = "/api/v1/proposals/{id}/photos", tag = "deliberation", params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", content = String), security(("bearer" = [])),
    responses((status = 201, body = super::store::Photo), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn upload_photo(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    m: axum::extract::Multipart,
) -> AppResult<(StatusCode, Json<super::store::Photo>)> {
    let (raw, _) = read_photo(m).await?;
    Ok((
        StatusCode::CREATED,
        Json(service::add_photo(&state, &caller, id, raw).await?),
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct PhotoQuery {
    /// `1` for the thumbnail.
    pub thumb: Option<u8>,
}

/// A photo of a proposal the caller may read (`?thumb=1` for its thumbnail).
#[utoipa::path(get, path = "/api/v1/proposals/{id}/photos/{pid}", tag = "deliberation",
    params(("id" = i64, Path), ("pid" = i64, Path), PhotoQuery), security(("bearer" = [])),
    responses((status = 200, description = "the photo (JPEG or PNG), or its JPEG thumbnail", content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"))), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_photo(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, pid)): Path<(i64, i64)>,
    Query(q): Query<PhotoQuery>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let (bytes, ctype) = service::photo(&state, &caller, id, pid, q.thumb == Some(1)).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, ctype),
            (
                axum::http::header::CACHE_CONTROL,
                "private, no-store".to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}
