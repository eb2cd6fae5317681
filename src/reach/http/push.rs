//! Reach's Web Push API: the deployment's public VAPID key, and the caller's own subscribed
//! browsers (subscribe, list, unsubscribe, a test message). Any signed-in account, for her
//! own browsers only.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::{ApiJson, ErrorBody, Path, Signed};
use crate::kernel::error::AppResult;
use crate::reach::devices::{self, Device, NewDevice, PushKey};
use crate::state::AppState;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/reach/push/key", get(push_key))
        .route(
            "/api/v1/reach/push/devices",
            get(list_devices).post(add_device),
        )
        .route("/api/v1/reach/push/devices/{id}", delete(remove_device))
        .route("/api/v1/reach/push/test", post(test_push))
}

/// The deployment's public VAPID key, the `applicationServerKey` a browser subscribes with.
#[utoipa::path(get, path = "/api/v1/reach/push/key", tag = "reach", security(("bearer" = [])),
    responses((status = 200, body = PushKey), (status = 401, body = ErrorBody)))]
pub(crate) async fn push_key(
    State(state): State<Arc<AppState>>,
    Signed(_caller): Signed,
) -> AppResult<Json<PushKey>> {
    Ok(Json(devices::public_key(&state)?))
}

/// The caller's browsers subscribed to Web Push.
#[utoipa::path(get, path = "/api/v1/reach/push/devices", tag = "reach", security(("bearer" = [])),
    responses((status = 200, body = Vec<Device>), (status = 401, body = ErrorBody)))]
pub(crate) async fn list_devices(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Device>>> {
    Ok(Json(devices::mine(&state, &caller).await?))
}

/// Keeps the caller's browser's subscription (`PushSubscription.toJSON()`): her messages go
/// to it too. The same browser again replaces its row. A bad endpoint or key is refused (422).
#[utoipa::path(post, path = "/api/v1/reach/push/devices", tag = "reach", request_body = NewDevice,
    security(("bearer" = [])),
    responses((status = 201, body = Device), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_device(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(n): ApiJson<NewDevice>,
) -> AppResult<(StatusCode, Json<Device>)> {
    Ok((
        StatusCode::CREATED,
        Json(devices::subscribe(&state, &caller, n).await?),
    ))
}

/// Removes one of the caller's browsers (404 for another account's); what was still queued
/// for it fails with the reason.
#[utoipa::path(delete, path = "/api/v1/reach/push/devices/{id}", tag = "reach",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn remove_device(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    devices::unsubscribe(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many browsers a test message was queued for.
#[derive(Serialize, ToSchema)]
#[schema(as = Reach_PushTest)]
pub struct PushTest {
    pub devices: usize,
}

/// Sends the caller a test message on her subscribed browsers (through the outbox); 422 when
/// she has none.
#[utoipa::path(post, path = "/api/v1/reach/push/test", tag = "reach", security(("bearer" = [])),
    responses((status = 202, body = PushTest), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn test_push(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<(StatusCode, Json<PushTest>)> {
    let devices = devices::test(&state, &caller).await?;
    Ok((StatusCode::ACCEPTED, Json(PushTest { devices })))
}
