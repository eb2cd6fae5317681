//! Mutual aid's JSON API: the board (her community's open posts, hers, her conversations,
//! the workers' moderation list), a new post, a post with a conversation, a message, the
//! poster's choice of responder, done, withdrawal, a report and its withdrawal, a worker's
//! hiding and restoring, a block and its lifting.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{Direction, Draft, Kind, Message, Post};
use super::service::{self, Board, Filter, PostView};
use crate::http::{ApiJson, ErrorBody, Path, Query, Signed};
use crate::kernel::error::AppResult;
use crate::state::AppState;

/// The mutual aid area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    board, create, detail, message, choose, done, withdraw, report, unreport, hide, restore, block,
    unblock
))]
pub struct AidApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/aid", get(board))
        .route("/api/v1/aid/posts", post(create))
        .route("/api/v1/aid/posts/{id}", get(detail))
        .route("/api/v1/aid/posts/{id}/messages", post(message))
        .route("/api/v1/aid/posts/{id}/match", post(choose))
        .route("/api/v1/aid/posts/{id}/done", post(done))
        .route("/api/v1/aid/posts/{id}/withdraw", post(withdraw))
        .route(
            "/api/v1/aid/posts/{id}/report",
            post(report).delete(unreport),
        )
        .route("/api/v1/aid/posts/{id}/hide", post(hide))
        .route("/api/v1/aid/posts/{id}/restore", post(restore))
        .route("/api/v1/aid/conversations/{id}/block", post(block))
        .route("/api/v1/aid/conversations/{id}/unblock", post(unblock))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
pub struct BoardQuery {
    /// `offer` or `request`.
    #[serde(default)]
    #[param(inline)]
    pub direction: Option<Direction>,
    /// `goods`, `lend`, `skill`, `help` or `medicine`.
    #[serde(default)]
    #[param(inline)]
    pub kind: Option<Kind>,
}

/// Her community's open posts (those answering her own first, then the nearest), her posts,
/// her conversations with unread counts; for a worker, her communities' posts to moderate.
#[utoipa::path(get, path = "/api/v1/aid", tag = "aid", params(BoardQuery), security(("bearer" = [])),
    responses((status = 200, body = Board), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn board(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<BoardQuery>,
) -> AppResult<Json<Board>> {
    let f = Filter {
        direction: q.direction,
        kind: q.kind,
    };
    Ok(Json(service::board(&state, &caller, f).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = AidPostRequest)]
pub struct PostRequest {
    /// `offer` or `request`.
    pub direction: String,
    /// `goods`, `lend`, `skill`, `help` or `medicine`.
    pub kind: String,
    pub title: String,
    #[serde(default)]
    pub body: String,
    /// A loan's return date, `YYYY-MM-DD` (required for `lend`).
    #[serde(default)]
    pub return_on: Option<String>,
    /// A medicine's expiry date, `YYYY-MM-DD` (required for a medicine offer; not past).
    #[serde(default)]
    pub expiry_on: Option<String>,
    /// Days the post stays up (1–60, 30 when left out).
    #[serde(default)]
    pub days: Option<i64>,
    /// The community, when given: it must be the resident's own.
    #[serde(default)]
    pub community_id: Option<i64>,
}

/// A new post in the resident's own community.
#[utoipa::path(post, path = "/api/v1/aid/posts", tag = "aid", request_body = PostRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Post), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<PostRequest>,
) -> AppResult<(StatusCode, Json<Post>)> {
    let d = Draft {
        direction: r.direction,
        kind: r.kind,
        title: r.title,
        body: r.body,
        return_on: r.return_on,
        expiry_on: r.expiry_on,
        days: r.days,
    };
    Ok((
        StatusCode::CREATED,
        Json(service::create(&state, &caller, d, r.community_id).await?),
    ))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
pub struct DetailQuery {
    /// The conversation to open (the reader's latest when left out).
    #[serde(default)]
    pub conversation: Option<i64>,
}

/// A post, the conversations the caller may open and one of them (read: its messages are
/// marked read; a worker's reading of a reported post's conversation is audited).
#[utoipa::path(get, path = "/api/v1/aid/posts/{id}", tag = "aid", params(("id" = i64, Path), DetailQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PostView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn detail(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<DetailQuery>,
) -> AppResult<Json<PostView>> {
    Ok(Json(
        service::view(&state, &caller, id, q.conversation).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = AidMessageRequest)]
pub struct MessageRequest {
    pub body: String,
    /// The conversation (required of the poster; a neighbour writes in her own).
    #[serde(default)]
    pub conversation_id: Option<i64>,
}

/// A message to the other party (refused, 403, between residents of whom one blocked the
/// other). Phone and ID numbers typed into it are masked.
#[utoipa::path(post, path = "/api/v1/aid/posts/{id}/messages", tag = "aid", params(("id" = i64, Path)),
    request_body = MessageRequest, security(("bearer" = [])),
    responses((status = 201, body = Message), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn message(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<MessageRequest>,
) -> AppResult<(StatusCode, Json<Message>)> {
    Ok((
        StatusCode::CREATED,
        Json(service::send(&state, &caller, id, r.conversation_id, &r.body).await?),
    ))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = AidMatchRequest)]
pub struct MatchRequest {
    /// The conversation whose responder the poster chooses.
    pub conversation_id: i64,
}

/// The poster chooses a responder (open → matched).
#[utoipa::path(post, path = "/api/v1/aid/posts/{id}/match", tag = "aid", params(("id" = i64, Path)),
    request_body = MatchRequest, security(("bearer" = [])),
    responses((status = 200, body = Post), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn choose(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<MatchRequest>,
) -> AppResult<Json<Post>> {
    Ok(Json(
        service::choose(&state, &caller, id, r.conversation_id).await?,
    ))
}

/// A party says it is done (matched → done once both have; 403 for anyone else).
#[utoipa::path(post, path = "/api/v1/aid/posts/{id}/done", tag = "aid", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Post), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn done(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Post>> {
    Ok(Json(service::done(&state, &caller, id).await?))
}

/// The poster takes her post down.
#[utoipa::path(post, path = "/api/v1/aid/posts/{id}/withdraw", tag = "aid", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Post), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn withdraw(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Post>> {
    Ok(Json(service::withdraw(&state, &caller, id).await?))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[schema(as = AidReasonRequest)]
pub struct ReasonRequest {
    pub reason: String,
}

/// A resident reports a post with a reason (the workers may then read its conversations).
#[utoipa::path(post, path = "/api/v1/aid/posts/{id}/report", tag = "aid", params(("id" = i64, Path)),
    request_body = ReasonRequest, security(("bearer" = [])),
    responses((status = 200, body = Post), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn report(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ReasonRequest>,
) -> AppResult<Json<Post>> {
    Ok(Json(service::report(&state, &caller, id, &r.reason).await?))
}

/// A reporter takes her report back (409 when she made none).
#[utoipa::path(delete, path = "/api/v1/aid/posts/{id}/report", tag = "aid", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Post), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn unreport(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Post>> {
    Ok(Json(service::unreport(&state, &caller, id).await?))
}

/// A worker of the post's community puts a hidden post back as it was, with a reason its
/// poster is told.
#[utoipa::path(post, path = "/api/v1/aid/posts/{id}/restore", tag = "aid", params(("id" = i64, Path)),
    request_body = ReasonRequest, security(("bearer" = [])),
    responses((status = 200, body = Post), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn restore(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ReasonRequest>,
) -> AppResult<Json<Post>> {
    Ok(Json(
        service::restore(&state, &caller, id, &r.reason).await?,
    ))
}

/// A worker of the post's community hides it with a reason its poster reads.
#[utoipa::path(post, path = "/api/v1/aid/posts/{id}/hide", tag = "aid", params(("id" = i64, Path)),
    request_body = ReasonRequest, security(("bearer" = [])),
    responses((status = 200, body = Post), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn hide(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ReasonRequest>,
) -> AppResult<Json<Post>> {
    Ok(Json(service::hide(&state, &caller, id, &r.reason).await?))
}

#[derive(Serialize, ToSchema)]
#[schema(as = AidBlocked)]
pub struct Blocked {
    pub blocked: bool,
    pub post_id: i64,
}

/// A party of a conversation blocks the other: messages are refused both ways and the
/// other's posts no longer shown to her.
#[utoipa::path(post, path = "/api/v1/aid/conversations/{id}/block", tag = "aid", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Blocked), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn block(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Blocked>> {
    let post_id = service::block(&state, &caller, id).await?;
    Ok(Json(Blocked {
        blocked: true,
        post_id,
    }))
}

/// A party of a conversation lifts her block of the other (409 when she had none; the
/// other's block of her stays).
#[utoipa::path(post, path = "/api/v1/aid/conversations/{id}/unblock", tag = "aid", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Blocked), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn unblock(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Blocked>> {
    let post_id = service::unblock(&state, &caller, id).await?;
    Ok(Json(Blocked {
        blocked: false,
        post_id,
    }))
}
