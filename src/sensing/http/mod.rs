//! The sensing API: telemetry in (device token), device profiles, devices, rules and alerts
//! out (users), one file per feature.

mod alerts;
mod devices;
mod profiles;
mod rules;
mod telemetry;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use utoipa::OpenApi;

use crate::kernel::Code;
use crate::kernel::error::{AppError, AppResult};
use crate::state::AppState;

pub use super::service::{DevicePatch, change_device, worker};
pub use alerts::act;
pub use rules::{RuleChange, change_rule, remove_rule, rule_preview};

#[derive(OpenApi)]
#[openapi(
    paths(telemetry::post_telemetry, devices::list_devices, devices::create_devices,
          devices::import_devices, devices::get_device, devices::patch_device,
          devices::withdraw_consent, profiles::list_profiles, profiles::create_profile,
          profiles::patch_profile, rules::list_rules, rules::create_rule, rules::patch_rule,
          rules::preview_rule, rules::delete_rule, alerts::list_alerts, alerts::get_alert,
          alerts::ack_alert, alerts::clear_alert, super::sse::alert_stream),
    tags((name = "sensing", description = "Devices, telemetry, rules and alerts (物联感知)"))
)]
pub struct SensingApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/telemetry", post(telemetry::post_telemetry))
        .route(
            "/api/v1/devices",
            get(devices::list_devices).post(devices::create_devices),
        )
        .route("/api/v1/devices/import", post(devices::import_devices))
        .route(
            "/api/v1/devices/{id}",
            get(devices::get_device).patch(devices::patch_device),
        )
        .route(
            "/api/v1/devices/{id}/consent/withdraw",
            post(devices::withdraw_consent),
        )
        .route(
            "/api/v1/device-profiles",
            get(profiles::list_profiles).post(profiles::create_profile),
        )
        .route(
            "/api/v1/device-profiles/{id}",
            patch(profiles::patch_profile),
        )
        .route(
            "/api/v1/rules",
            get(rules::list_rules).post(rules::create_rule),
        )
        .route(
            "/api/v1/rules/{id}",
            patch(rules::patch_rule).delete(rules::delete_rule),
        )
        .route("/api/v1/rules/{id}/preview", post(rules::preview_rule))
        .route("/api/v1/alerts", get(alerts::list_alerts))
        .route("/api/v1/alerts/stream", get(super::sse::alert_stream))
        .route("/api/v1/alerts/{id}", get(alerts::get_alert))
        .route("/api/v1/alerts/{id}/ack", post(alerts::ack_alert))
        .route("/api/v1/alerts/{id}/clear", post(alerts::clear_alert))
}

fn refused(status: StatusCode, code: Code, msg: String) -> AppError {
    AppError::with_message(status, code, msg)
}

fn page(limit: Option<i64>, offset: Option<i64>) -> AppResult<(i64, i64)> {
    let (l, o) = (limit.unwrap_or(200), offset.unwrap_or(0));
    if !(1..=1000).contains(&l) || o < 0 {
        return Err(AppError::bad_request("error.bad_param"));
    }
    Ok((l, o))
}
