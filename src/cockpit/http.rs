//! The cockpit's JSON API: every measure with its values per grid, its definition and the
//! time it was read; a measure's daily trend.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::service;
use crate::http::area::Unit;
use crate::http::{ErrorBody, Path, Query, Signed};
use crate::kernel::ctx;
use crate::kernel::error::AppResult;
use crate::kernel::i18n::Tr;
use crate::state::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(cockpit, trend),
    components(schemas(CockpitView, MeasureView, GridValue, OrgValue, TrendView, TrendPoint))
)]
pub struct CockpitApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/cockpit", get(cockpit))
        .route("/api/v1/cockpit/{measure}/trend", get(trend))
}

#[derive(Serialize, ToSchema)]
pub struct GridValue {
    pub place_id: i64,
    pub name: String,
    pub path: String,
    /// `null`: nothing to measure (a rate without cases).
    pub value: Option<f64>,
    /// The list behind the value.
    pub href: String,
}

#[derive(Serialize, ToSchema)]
pub struct MeasureView {
    pub id: String,
    pub label: String,
    pub definition: String,
    /// count, percent, hours or rating.
    pub unit: String,
    /// Counts persons (shown as "<5" below 5 outside the office).
    pub persons: bool,
    pub total: Option<f64>,
    pub grids: Vec<GridValue>,
    /// Per handling organisation, for the measures of what organisations handle (cases);
    /// absent for the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_org: Option<Vec<OrgValue>>,
}

#[derive(Serialize, ToSchema)]
pub struct OrgValue {
    pub org_id: i64,
    pub name: String,
    pub value: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct CockpitView {
    pub street: String,
    /// When the figures were read (ms since the epoch).
    pub as_of: i64,
    pub measures: Vec<MeasureView>,
}

fn unit(u: Unit) -> &'static str {
    match u {
        Unit::Count => "count",
        Unit::Percent => "percent",
        Unit::Hours => "hours",
        Unit::Rating => "rating",
    }
}

/// Every measure for the caller's grids (street and community offices only).
#[utoipa::path(get, path = "/api/v1/cockpit", tag = "cockpit", security(("bearer" = [])),
    responses((status = 200, body = CockpitView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn cockpit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<CockpitView>> {
    let v = service::viewer(&caller)?;
    let b = service::board(&state, &v).await?;
    let t = Tr(ctx().lang);
    let measures = b
        .figures
        .iter()
        .map(|f| MeasureView {
            id: f.measure.id.to_string(),
            label: t.s(f.measure.label).to_string(),
            definition: t.s(f.measure.definition).to_string(),
            unit: unit(f.measure.unit).to_string(),
            persons: f.measure.persons,
            total: f.total,
            grids: b
                .grids
                .iter()
                .zip(&f.grids)
                .map(|(g, v)| GridValue {
                    place_id: g.id,
                    name: g.name.clone(),
                    path: g.path.clone(),
                    value: *v,
                    href: (f.measure.drill)(g.id, &g.path),
                })
                .collect(),
            by_org: f.measure.by_org.is_some().then(|| {
                f.by_org
                    .iter()
                    .map(|(id, value)| OrgValue {
                        org_id: *id,
                        name: b.org_names.get(id).cloned().unwrap_or_default(),
                        value: *value,
                    })
                    .collect()
            }),
        })
        .collect();
    Ok(Json(CockpitView {
        street: b.street_name.clone(),
        as_of: b.as_of,
        measures,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendQuery {
    /// 7, 30 or 90 (default 30).
    pub days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct TrendPoint {
    /// YYYY-MM-DD, China time.
    pub day: String,
    pub value: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct TrendView {
    pub measure: String,
    pub days: i64,
    pub points: Vec<TrendPoint>,
}

/// A measure's daily snapshots over the caller's places.
#[utoipa::path(get, path = "/api/v1/cockpit/{measure}/trend", tag = "cockpit",
    params(("measure" = String, Path), TrendQuery), security(("bearer" = [])),
    responses((status = 200, body = TrendView), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn trend(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(measure): Path<String>,
    Query(q): Query<TrendQuery>,
) -> AppResult<Json<TrendView>> {
    let v = service::viewer(&caller)?;
    let m = service::measure(&measure)?;
    let days = q.days.unwrap_or(30);
    let points = service::trend(&state, &v, m, days).await?;
    Ok(Json(TrendView {
        measure: m.id.to_string(),
        days,
        points: points
            .into_iter()
            .map(|(day, value)| TrendPoint { day, value })
            .collect(),
    }))
}
