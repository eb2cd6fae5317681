//! Worker pages: the alerts list with live updates (SSE), the devices of a grid on its map,
//! a device page with a chart of recent readings (SVG drawn on the server), and the street's
//! rules. Administrators change devices and rules on their pages, register devices one by one
//! or from a CSV file, and keep the street's device profiles. One file per feature.

mod alert_pages;
mod device_pages;
mod profile_pages;
mod rule_pages;

pub use device_pages::chart;

use std::fmt::Write;
use std::sync::Arc;

use crate::http::{Path, Query};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::alerts::{self, Alert, AlertHistory, AlertQuery};
use super::devices::{self, Device, DeviceQuery, LatestValue, Profile};
use super::http::{DevicePatch, worker};
use super::rules::{Rule, RuleKind, RulePatch, RulePreview};
use crate::http::{ApiForm, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::Tr;
use crate::org::{Caller, Scope, places};
use crate::registry::access::Field;
use crate::state::AppState;
use crate::web::Layout;
use crate::web::{esc, map};

pub const SENSING_JS: &str = include_str!("../../../static/sensing.js");

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/alerts", get(alert_pages::alerts_page))
        .route("/alerts/{id}", get(alert_pages::alert_page))
        .route("/alerts/{id}/ack", post(alert_pages::ack_form))
        .route("/alerts/{id}/clear", post(alert_pages::clear_form))
        .route("/alerts/{id}/reveal", post(alert_pages::reveal_form))
        .route("/devices", get(device_pages::devices_page))
        .route(
            "/devices/new",
            get(device_pages::new_device_page).post(device_pages::new_device_form),
        )
        .route(
            "/devices/import",
            get(device_pages::import_page).post(device_pages::import_form),
        )
        .route(
            "/devices/{id}",
            get(device_pages::device_page).post(device_pages::device_form),
        )
        .route(
            "/devices/{id}/consent/withdraw",
            post(device_pages::withdraw_form),
        )
        .route("/device-profiles", get(profile_pages::profiles_page))
        .route(
            "/device-profiles/new",
            get(profile_pages::new_profile_page).post(profile_pages::new_profile_form),
        )
        .route(
            "/device-profiles/{id}",
            get(profile_pages::profile_page).post(profile_pages::profile_form),
        )
        .route("/rules", get(rule_pages::rules_page))
        .route(
            "/rules/{id}",
            get(rule_pages::rule_page).post(rule_pages::rule_form),
        )
        .route("/rules/{id}/delete", post(rule_pages::rule_delete_form))
        .route("/static/sensing.js", get(asset_js))
}

async fn asset_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SENSING_JS,
    )
}

pub(super) fn render(t: &impl Template) -> Response {
    render_status(t, StatusCode::OK)
}

/// A page answered with `status` (a form shown again with what was wrong).
pub(super) fn render_status(t: &impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => AppError::internal("rendering a page", e).into_response(),
    }
}

/// The form's fields by name (the last value of a name wins), trimmed.
pub(super) fn field(form: &[(String, String)], name: &str) -> String {
    form.iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

/// A refusal of a form: shown again on its page when the caller can fix it; other errors as
/// they are.
pub(super) fn form_error(e: AppError) -> Result<(String, StatusCode), AppError> {
    if e.status.is_client_error()
        && !matches!(e.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN)
    {
        Ok((e.message(ctx().lang), e.status))
    } else {
        Err(e)
    }
}

/// Local time (China Standard Time) for pages.
pub fn when(ms: i64) -> String {
    use chrono::TimeZone;
    super::rules::cst()
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}
