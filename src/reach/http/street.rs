//! Reach's API for the street administrator's channels beyond setting them: the duty roster
//! read back, a robot taken out of use, and test messages sent at once.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};

use crate::http::{ApiJson, ErrorBody, Path, Signed};
use crate::kernel::error::AppResult;
use crate::reach::admin::{self, ChannelTest, DutyRow, TestResult};
use crate::state::AppState;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/reach/robots/{id}", delete(remove_robot))
        .route("/api/v1/reach/robots/{id}/test", post(test_robot))
        .route("/api/v1/reach/settings/test", post(test_channel))
}

/// The street's communities with their duty workers and the workers each may take (routed
/// with `PUT /api/v1/reach/duty` in `http.rs`).
#[utoipa::path(get, path = "/api/v1/reach/duty", tag = "reach", security(("bearer" = [])),
    responses((status = 200, body = Vec<DutyRow>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(crate) async fn duty_roster(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<DutyRow>>> {
    Ok(Json(admin::duty_roster(&state, &caller).await?))
}

/// Takes a group robot out of use (the outbox still names it).
#[utoipa::path(delete, path = "/api/v1/reach/robots/{id}", tag = "reach",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn remove_robot(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    admin::remove_robot(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test message to a group robot now and says what it answered.
#[utoipa::path(post, path = "/api/v1/reach/robots/{id}/test", tag = "reach",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = TestResult), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn test_robot(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<TestResult>> {
    Ok(Json(admin::test_robot(&state, &caller, id).await?))
}

/// Sends a test e-mail or SMS now with the street's saved SMTP server or SMS gateway, to an
/// address typed here, and says what the server answered.
#[utoipa::path(post, path = "/api/v1/reach/settings/test", tag = "reach",
    request_body = ChannelTest, security(("bearer" = [])),
    responses((status = 200, body = TestResult), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn test_channel(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(t): ApiJson<ChannelTest>,
) -> AppResult<Json<TestResult>> {
    Ok(Json(admin::test_channel(&state, &caller, t).await?))
}
