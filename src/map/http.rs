//! The map's JSON API under `/api/v1`: the street's layers, where a point lies, the street's
//! roads (street administrators), and places by name for the forms that take a place.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::layers::{self, Located, MapLayers, PickFor, Picked, Tiles};
use crate::http::{ApiJson, ErrorBody, Query, Signed};
use crate::kernel::error::{AppError, AppResult};
use crate::org::Caller;
use crate::state::AppState;

/// The map's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(map_layers, locate, put_roads, pick_places))]
pub struct MapApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/map/layers", get(map_layers))
        .route("/api/v1/map/locate", get(locate))
        .route("/api/v1/map/roads", put(put_roads))
        .route("/api/v1/places/pick", get(pick_places))
}

/// The street a caller's map shows: her own; an account of no street has no map.
fn street_of(caller: &Caller) -> AppResult<i64> {
    caller.street_id.ok_or_else(|| {
        AppError::new(
            StatusCode::FORBIDDEN,
            crate::kernel::Code::Forbidden,
            "map.err_no_street",
        )
    })
}

/// The caller's street's layers (any account of the street: they are public geography).
pub async fn layers_for(state: &AppState, caller: &Caller) -> AppResult<MapLayers> {
    let street = street_of(caller)?;
    let person = caller.person_id;
    let mut l = state
        .db
        .read(move |c| {
            let unit = match person {
                Some(p) => crate::registry::persons::home_unit(c, p)?,
                None => None,
            };
            layers::street(c, street, unit)
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    l.tiles = state.cfg.map_tile_url.clone().map(|url| Tiles {
        url,
        attribution: state.cfg.map_tile_attribution.clone(),
    });
    Ok(l)
}

/// The layers of the caller's street, each a GeoJSON FeatureCollection: its boundaries
/// (street, communities, grids), its buildings with their names and addresses (the caller's
/// own marked), its roads when uploaded, and the tile layer the street configured, if any.
/// No personal data: a building is named by its name and address only.
#[utoipa::path(get, path = "/api/v1/map/layers", tag = "map", security(("bearer" = [])),
    responses((status = 200, body = MapLayers), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn map_layers(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<MapLayers>> {
    Ok(Json(layers_for(&state, &caller).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocateQuery {
    pub lat: f64,
    pub lon: f64,
}

/// Where a point lies in the caller's street, by the rule a report's point is placed with:
/// the building it is at, else the smallest area drawn that holds it. A point outside the
/// street is refused (422) with a message saying so.
#[utoipa::path(get, path = "/api/v1/map/locate", tag = "map", params(LocateQuery), security(("bearer" = [])),
    responses((status = 200, body = Located), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn locate(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<LocateQuery>,
) -> AppResult<Json<Located>> {
    let street = street_of(&caller)?;
    let (lat, lon) = (q.lat, q.lon);
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(AppError::invalid("case.err_point"));
    }
    state
        .db
        .read(
            move |c| match crate::cases::place_at(c, street, lat, lon)? {
                Some(row) => layers::name_of(c, row.i64(0)),
                None => Ok(None),
            },
        )
        .await?
        .map(Json)
        .ok_or_else(|| AppError::invalid("case.err_point_outside"))
}

/// Replaces the street's roads (street administrators): a GeoJSON FeatureCollection of
/// LineString or MultiLineString features, each with its `name`; no features removes them.
/// Only each line and its name are kept.
#[utoipa::path(put, path = "/api/v1/map/roads", tag = "map", request_body(content = Object), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_roads(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(v): ApiJson<serde_json::Value>,
) -> AppResult<StatusCode> {
    let street = crate::org::access::street_admin(&caller)?;
    let roads = layers::check_roads(&v).map_err(AppError::invalid)?;
    state
        .db
        .write(move |c| layers::save_roads(c, street, &roads))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PickQuery {
    /// Words of a place's name or address (1–50 characters).
    #[serde(default)]
    pub q: String,
    /// What the place is for: `registry` (imports, exports: the places whose records the
    /// caller reads) or `users` (accounts and grants: the places whose accounts she manages).
    #[serde(default, rename = "for")]
    #[param(inline)]
    pub purpose: PickFor,
    /// Offer flats too (`true` for a device's place): `3号楼 101` finds flat 101 of 3号楼.
    #[serde(default)]
    pub units: bool,
}

/// Places by name or address for the forms that take a place (street › community › grid ›
/// building), each with its code path: only within what the caller may act on for that
/// purpose (403 when nothing), at most 20, the widest first.
#[utoipa::path(get, path = "/api/v1/places/pick", tag = "map", params(PickQuery), security(("bearer" = [])),
    responses((status = 200, body = [Picked]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn pick_places(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<PickQuery>,
) -> AppResult<Json<Vec<Picked>>> {
    let paths = match q.purpose {
        PickFor::Registry => caller.scope.registry.clone(),
        PickFor::Users => caller.scope.users.clone(),
    };
    if paths.is_empty() {
        return Err(AppError::forbidden());
    }
    let words = q.q.trim().to_string();
    if words.is_empty() || words.chars().count() > 50 {
        return Err(AppError::invalid("case.err_place_words"));
    }
    Ok(Json(
        state
            .db
            .read(move |c| layers::pick(c, &paths, &words, q.units, 20))
            .await?,
    ))
}
