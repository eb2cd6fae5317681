//! The inbox over the API.

use super::*;

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/inbox", tag = "cases", security(("bearer" = [])),
    responses((status = 200, body = [InboxItem]), (status = 401, body = ErrorBody)))]
pub async fn list_inbox(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<InboxItem>>> {
    let uid = caller.user_id;
    Ok(Json(
        state.db.read(move |c| notify::inbox(c, uid, 200)).await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct MarkedRead {
    /// How many notifications were unread and are now read.
    pub marked: u64,
}

/// Marks all the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/inbox/read-all", tag = "cases", security(("bearer" = [])),
    responses((status = 200, body = MarkedRead), (status = 401, body = ErrorBody)))]
pub async fn read_all_inbox(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<MarkedRead>> {
    let uid = caller.user_id;
    let now = now_ms();
    let marked = state
        .db
        .write(move |c| notify::mark_all_read(c, uid, now))
        .await?;
    Ok(Json(MarkedRead { marked }))
}

/// Marks one of the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/inbox/{id}/read", tag = "cases", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn read_inbox(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let uid = caller.user_id;
    let now = now_ms();
    if state
        .db
        .write(move |c| notify::mark_read(c, uid, id, now))
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::not_found())
    }
}
