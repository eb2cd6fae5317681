//! Worker pages: the alerts list with live updates (SSE), the devices of a grid on its map,
//! and a device page with a chart of recent readings (SVG drawn on the server).

use std::fmt::Write;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::alerts::{self, Alert, AlertHistory, AlertQuery};
use super::devices::{self, Device, DeviceQuery, LatestValue};
use super::http::worker;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::org::places;
use crate::web::pages::Layout;
use crate::web::{ApiForm, Signed, check_csrf, esc, map};

pub const SENSING_JS: &str = include_str!("../../static/sensing.js");

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/alerts", get(alerts_page))
        .route("/alerts/{id}", get(alert_page))
        .route("/alerts/{id}/ack", post(ack_form))
        .route("/alerts/{id}/clear", post(clear_form))
        .route("/devices", get(devices_page))
        .route("/devices/{id}", get(device_page))
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

fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => AppError::internal("rendering a page", e).into_response(),
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

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    l: Layout,
    alerts: Vec<Alert>,
    active_only: bool,
}

impl AlertsPage {
    fn when(&self, ms: &i64) -> String {
        when(*ms)
    }
}

#[derive(Deserialize)]
struct AlertsPageQuery {
    all: Option<String>,
}

async fn alerts_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<AlertsPageQuery>,
) -> AppResult<Response> {
    worker(&caller)?;
    let active_only = q.all.is_none();
    let aq = AlertQuery {
        active: active_only.then_some(true),
        limit: 300,
        ..AlertQuery::default()
    };
    let scope = caller.scope.registry.clone();
    let alerts = state.db.read(move |c| alerts::list(c, &scope, &aq)).await?;
    Ok(render(&AlertsPage {
        l: Layout::new(Some(&caller)),
        alerts,
        active_only,
    }))
}

#[derive(Template)]
#[template(path = "alert.html")]
struct AlertPage {
    l: Layout,
    a: Alert,
    history: Vec<AlertHistory>,
}

impl AlertPage {
    fn when(&self, ms: &i64) -> String {
        when(*ms)
    }
}

async fn alert_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    worker(&caller)?;
    let scope = caller.scope.registry.clone();
    let (a, history) = state
        .db
        .read(move |c| {
            let Some(a) = alerts::get(c, &scope, id)? else {
                return Ok(None);
            };
            Ok(Some((a, alerts::history(c, id)?)))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(render(&AlertPage {
        l: Layout::new(Some(&caller)),
        a,
        history,
    }))
}

#[derive(Deserialize)]
struct ActionForm {
    csrf: String,
    #[serde(default)]
    note: String,
}

async fn ack_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<ActionForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    super::http::act(&state, &caller, id, true, f.note).await?;
    Ok(Redirect::to(&format!("/alerts/{id}")).into_response())
}

async fn clear_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<ActionForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    super::http::act(&state, &caller, id, false, f.note).await?;
    Ok(Redirect::to(&format!("/alerts/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    l: Layout,
    devices: Vec<Device>,
    map: Option<String>,
}

impl DevicesPage {
    fn when(&self, ms: &i64) -> String {
        when(*ms)
    }
}

#[derive(Deserialize)]
struct DevicesPageQuery {
    grid: Option<i64>,
}

async fn devices_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DevicesPageQuery>,
) -> AppResult<Response> {
    worker(&caller)?;
    let keys = state.keys.clone();
    let now = state.sensing.clock.now_ms();
    let scope = caller.scope.registry.clone();
    let (devices, map) = state
        .db
        .read(move |c| {
            // The grid to draw: the one asked for, or the caller's own when she has one.
            let grid = match q.grid {
                Some(id) => places::get(c, &scope, id)?,
                None => match scope.as_slice() {
                    [one] => places::by_path(c, one)?,
                    _ => None,
                },
            }
            .filter(|p| p.kind == "grid");
            let dq = DeviceQuery {
                under: grid.as_ref().map(|g| g.path.clone()),
                limit: 1000,
                ..DeviceQuery::default()
            };
            let devices = devices::list(c, &scope, &[], &keys, &dq, now)?;
            let map = match &grid {
                Some(g) => grid_map(c, g, &devices, &scope)?,
                None => None,
            };
            Ok((devices, map))
        })
        .await?;
    Ok(render(&DevicesPage {
        l: Layout::new(Some(&caller)),
        devices,
        map,
    }))
}

/// The grid's boundary and its buildings, each labelled with its devices and active alerts.
fn grid_map(
    c: &mut dyn crate::store::Conn,
    grid: &places::Place,
    devices: &[Device],
    scope: &[String],
) -> crate::store::Result<Option<String>> {
    let full = places::by_id_unscoped(c, grid.id)?;
    let buildings = places::children_full(c, grid.id)?;
    let active = alerts::list(
        c,
        scope,
        &AlertQuery {
            active: Some(true),
            limit: 1000,
            ..AlertQuery::default()
        },
    )?;
    let areas: Vec<map::Area> = full
        .and_then(|g| g.geojson.clone().map(|geo| (g, geo)))
        .map(|(g, geo)| map::Area {
            label: g.name,
            href: None,
            geojson: geo,
            highlight: true,
        })
        .into_iter()
        .collect();
    let spots: Vec<map::Spot> = buildings
        .iter()
        .filter_map(|b| {
            let under = |p: &str| p == b.path || p.starts_with(&format!("{}/", b.path));
            let n = devices.iter().filter(|d| under(&d.place_path)).count();
            if n == 0 {
                return None;
            }
            let a = active.iter().filter(|a| under(&a.place_path)).count();
            let label = if a > 0 {
                format!("{} · {n} 台设备 · {a} 条告警", b.name)
            } else {
                format!("{} · {n} 台设备", b.name)
            };
            Some(map::Spot {
                label,
                href: Some(format!("/devices?grid={}#b{}", grid.id, b.id)),
                geojson: b.geojson.clone()?,
            })
        })
        .collect();
    Ok(map::render(&areas, &spots, &grid.name))
}

#[derive(Template)]
#[template(path = "device.html")]
struct DevicePage {
    l: Layout,
    d: Device,
    latest: Vec<LatestValue>,
    alerts: Vec<Alert>,
    charts: Vec<(String, String)>,
}

impl DevicePage {
    fn when(&self, ms: &i64) -> String {
        when(*ms)
    }
}

async fn device_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    worker(&caller)?;
    let keys = state.keys.clone();
    let now = state.sensing.clock.now_ms();
    let (scope, admin) = (caller.scope.registry.clone(), caller.scope.users.clone());
    let page = state
        .db
        .read(move |c| {
            let Some(d) = devices::get(c, &scope, &admin, &keys, id, now)? else {
                return Ok(None);
            };
            let latest = devices::latest(c, id)?;
            let alerts = alerts::list(
                c,
                &scope,
                &AlertQuery {
                    device_id: Some(id),
                    limit: 20,
                    ..AlertQuery::default()
                },
            )?;
            let mut charts = Vec::new();
            for v in latest.iter().filter(|v| v.num.is_some()) {
                let pts = devices::series(c, id, &v.key, now - 7 * 86_400_000, 500)?;
                if let Some(svg) = chart(&pts, &v.key) {
                    charts.push((v.key.clone(), svg));
                }
            }
            Ok(Some((d, latest, alerts, charts)))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    let (d, latest, alerts, charts) = page;
    Ok(render(&DevicePage {
        l: Layout::new(Some(&caller)),
        d,
        latest,
        alerts,
        charts,
    }))
}

/// A line chart of (time, value) points as inline SVG, with the range and time span marked.
pub fn chart(pts: &[(i64, f64)], title: &str) -> Option<String> {
    if pts.len() < 2 {
        return None;
    }
    let (w, h, pad) = (640.0, 180.0, 28.0);
    let (t0, t1) = (pts[0].0 as f64, pts[pts.len() - 1].0 as f64);
    let lo = pts.iter().map(|p| p.1).fold(f64::MAX, f64::min);
    let hi = pts.iter().map(|p| p.1).fold(f64::MIN, f64::max);
    let span_t = (t1 - t0).max(1.0);
    let span_v = if hi > lo { hi - lo } else { 1.0 };
    let x = |t: f64| pad + (t - t0) / span_t * (w - 2.0 * pad);
    let y = |v: f64| h - pad - (v - lo) / span_v * (h - 2.0 * pad);
    let mut path = String::new();
    for (i, (t, v)) in pts.iter().enumerate() {
        let _ = write!(
            path,
            "{}{:.1},{:.1}",
            if i == 0 { "M" } else { " L" },
            x(*t as f64),
            y(*v)
        );
    }
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><title>{t}</title><rect x="0" y="0" width="{w}" height="{h}" fill="#fff"/><line x1="{pad}" y1="{yb}" x2="{xr}" y2="{yb}" stroke="#ccc"/><line x1="{pad}" y1="{pad}" x2="{pad}" y2="{yb}" stroke="#ccc"/><path d="{path}" fill="none" stroke="#1f6feb" stroke-width="1.5"/><text x="2" y="{ty}" font-size="11">{hi}</text><text x="2" y="{yb}" font-size="11">{lo}</text><text x="{pad}" y="{h}" font-size="11">{a}</text><text x="{xr}" y="{h}" font-size="11" text-anchor="end">{b}</text></svg>"##,
        t = esc(title),
        yb = h - pad,
        xr = w - pad,
        ty = pad,
        hi = fmt_num(hi),
        lo = fmt_num(lo),
        a = esc(&when(pts[0].0)),
        b = esc(&when(pts[pts.len() - 1].0)),
    );
    Some(s)
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e12 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}
