//! Device profiles: listed (workers), created and changed (street administrators).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::http::ErrorBody;
use crate::http::{ApiJson, Path, Signed};
use crate::kernel::error::AppResult;
use crate::sensing::devices::Profile;
use crate::sensing::service::{self, ProfileBody, ProfilePatch};
use crate::state::AppState;

/// The device profiles of the caller's street.
#[utoipa::path(get, path = "/api/v1/device-profiles", tag = "sensing", security(("bearer" = [])),
    responses((status = 200, body = Vec<Profile>), (status = 403, body = ErrorBody)))]
pub(super) async fn list_profiles(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Profile>>> {
    Ok(Json(service::profiles(&state, &caller).await?))
}

/// Creates a device profile of the caller's street (street administrators): its code, name,
/// device kind, what it measures (telemetry keys with units), reporting interval and default
/// rules. Each default rule becomes a rule of the street watching the profile's devices.
#[utoipa::path(post, path = "/api/v1/device-profiles", tag = "sensing", request_body = ProfileBody, security(("bearer" = [])),
    responses((status = 201, body = Profile), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn create_profile(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(body): ApiJson<ProfileBody>,
) -> AppResult<Response> {
    let p = service::create_profile(&state, &caller, body).await?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}

/// Changes a device profile of the caller's street (street administrators); its code stays.
/// Default rules added become rules of the profile; those already made stay as the rules pages
/// keep them.
#[utoipa::path(patch, path = "/api/v1/device-profiles/{id}", tag = "sensing", params(("id" = i64, Path)),
    request_body = ProfilePatch, security(("bearer" = [])),
    responses((status = 200, body = Profile), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn patch_profile(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ProfilePatch>,
) -> AppResult<Json<Profile>> {
    Ok(Json(
        service::change_profile(&state, &caller, id, body).await?,
    ))
}
