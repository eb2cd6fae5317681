//! Telemetry in: readings posted by a device with its provisioning token.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::Serialize;
use utoipa::ToSchema;

use super::refused;
use crate::http::ErrorBody;
use crate::kernel::Code;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::both;
use crate::sensing::ingest;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct TelemetryAccepted {
    /// Readings in the request (duplicates of device, key and time are stored once).
    pub accepted: usize,
}

/// Readings from a device, acknowledged only after they are committed. The body is one
/// reading `{"ts": ms, "values": {"key": value}}` (`ts` optional), an array of them, or bare
/// `{"key": value}` — the ThingsBoard device API shape. Authenticated by the device's
/// provisioning token; a deactivated device's token is refused with 403 `inactive_device`.
/// Refusals are counted in `/metrics` by reason.
#[utoipa::path(post, path = "/api/v1/telemetry", tag = "sensing", security(("bearer" = [])),
    request_body(content = Object, description = "A reading, or an array of readings"),
    responses((status = 200, body = TelemetryAccepted), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub(super) async fn post_telemetry(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Json<TelemetryAccepted>> {
    let s = &crate::sensing::of(&state);
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        s.metrics.refuse("http", "no_token");
        return Err(refused(
            StatusCode::UNAUTHORIZED,
            Code::NoToken,
            both("sensing.ingest.no_token", &[]),
        ));
    };
    let Some(dev) = s.device_by_token(&state.db, token).await? else {
        s.metrics.refuse("http", "bad_token");
        return Err(refused(
            StatusCode::UNAUTHORIZED,
            Code::BadToken,
            both("sensing.ingest.bad_token", &[]),
        ));
    };
    if !dev.active {
        s.metrics.refuse("http", "inactive_device");
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            Code::InactiveDevice,
            "error.device_inactive",
        ));
    }
    let now = s.clock.now_ms();
    let readings = match ingest::parse(&body, now) {
        Ok(r) => r,
        Err(e) => {
            s.metrics.refuse("http", e.reason.as_str());
            let status = if e.reason == Code::TooMany {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            return Err(refused(status, e.reason, e.message));
        }
    };
    let n = readings.len();
    s.commit(&state, dev, readings, now).await?;
    Ok(Json(TelemetryAccepted { accepted: n }))
}
