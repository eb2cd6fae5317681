//! The JSON API of setting up a street: places created, changed, moved, retired, their
//! versions, and the places' import and export.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::{ApiJson, ErrorBody, Path, Query, Signed};
use crate::kernel::{AppError, AppResult};
use crate::org::place_edit::{Fields, PlaceVersion};
use crate::org::places::Place;
use crate::state::AppState;

use super::places::{self as svc, NewPlace};
use super::transfer;

mod orgs;

/// The setup area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_place,
    update_place,
    move_place,
    retire_place,
    place_versions,
    import_places,
    export_places,
    orgs::list_orgs,
    orgs::create_org,
    orgs::get_org,
    orgs::update_org,
    orgs::retire_org,
    orgs::add_route,
    orgs::remove_route,
    orgs::import_workers
))]
pub struct SetupApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/places", post(create_place))
        .route("/api/v1/places/{id}", axum::routing::patch(update_place))
        .route("/api/v1/places/{id}/move", post(move_place))
        .route("/api/v1/places/{id}/retire", post(retire_place))
        .route("/api/v1/places/{id}/versions", get(place_versions))
        .route("/api/v1/places/import", post(import_places))
        .route("/api/v1/places/export", get(export_places))
        .route(
            "/api/v1/organisations",
            get(orgs::list_orgs).post(orgs::create_org),
        )
        .route(
            "/api/v1/organisations/{id}",
            get(orgs::get_org).patch(orgs::update_org),
        )
        .route("/api/v1/organisations/{id}/retire", post(orgs::retire_org))
        .route("/api/v1/users/import", post(orgs::import_workers))
        .route("/api/v1/organisations/{id}/routes", post(orgs::add_route))
        .route(
            "/api/v1/organisations/{id}/routes/{category_id}/{place_id}",
            axum::routing::delete(orgs::remove_route),
        )
}

/// A place's fields, as the API takes them: every one optional (on a change, what is left out
/// stays as it is).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceFields {
    pub name: Option<String>,
    /// A building's address (门牌).
    pub address: Option<String>,
    /// A building's estate (小区).
    pub estate: Option<String>,
    pub floors: Option<i64>,
    pub stairwells: Option<i64>,
    /// A unit's floor.
    pub floor_no: Option<i64>,
    /// A unit's stairwell (单元).
    pub stairwell_no: Option<i64>,
    /// A unit's floor area in square metres (建筑面积).
    pub area_m2: Option<f64>,
    /// A unit's use: `self_occupied`, `rented`, `vacant` or `commercial`.
    pub unit_use: Option<String>,
    /// A GeoJSON geometry (WGS-84): a Polygon for a community or grid, a Point or Polygon
    /// for a building.
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<serde_json::Value>,
}

impl PlaceFields {
    fn into_fields(self) -> Fields {
        Fields {
            name: self.name,
            address: self.address.map(|s| s.trim().to_string()),
            estate: self.estate.map(|s| s.trim().to_string()),
            floors: self.floors,
            stairwells: self.stairwells,
            floor_no: self.floor_no,
            stairwell_no: self.stairwell_no,
            area_m2: self.area_m2,
            unit_use: self.unit_use.map(|s| s.trim().to_string()),
            geojson: self.geometry.map(|g| g.to_string()),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlaceRequest {
    /// The place to create it under; the new place's kind is the one below its parent's.
    pub parent_id: i64,
    /// Its code: letters, digits, `-` and `_`; one segment of its path, never changed.
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub fields: PlaceFields,
}

/// Creates a community, grid, building or unit (street administrators; community workers
/// within their community).
#[utoipa::path(post, path = "/api/v1/places", tag = "places", request_body = NewPlaceRequest, security(("bearer" = [])),
    responses((status = 201, body = Place), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn create_place(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(req): ApiJson<NewPlaceRequest>,
) -> AppResult<Response> {
    let mut fields = req.fields.into_fields();
    fields.name = None;
    let place = svc::create(
        &state,
        &caller,
        NewPlace {
            parent_id: req.parent_id,
            code: req.code,
            name: req.name,
            fields,
        },
        "api",
    )
    .await?;
    Ok((StatusCode::CREATED, Json(place)).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct PlaceChanged {
    pub place: Place,
    /// The fields that changed.
    pub changed: Vec<String>,
}

/// Changes a place's name and fields (its code and kind never change).
#[utoipa::path(patch, path = "/api/v1/places/{id}", tag = "places", params(("id" = i64, Path)), request_body = PlaceFields,
    security(("bearer" = [])),
    responses((status = 200, body = PlaceChanged), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn update_place(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<PlaceFields>,
) -> AppResult<Json<PlaceChanged>> {
    let (place, changes) = svc::update(&state, &caller, id, req.into_fields(), "api").await?;
    Ok(Json(PlaceChanged {
        place,
        changed: changes.keys().cloned().collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// The new parent: of the kind the old parent was, in the same street.
    pub parent_id: i64,
}

/// Moves a place (a grid to another community, a building to another grid) with everything
/// under it; residents, cases and devices there move with it.
#[utoipa::path(post, path = "/api/v1/places/{id}/move", tag = "places", params(("id" = i64, Path)), request_body = MoveRequest,
    security(("bearer" = [])),
    responses((status = 200, body = Place), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn move_place(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<MoveRequest>,
) -> AppResult<Json<Place>> {
    Ok(Json(
        svc::move_to(&state, &caller, id, req.parent_id, "api").await?,
    ))
}

/// Retires a place and everything under it; refused with the counts while residents, open
/// cases or devices remain there.
#[utoipa::path(post, path = "/api/v1/places/{id}/retire", tag = "places", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Place), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn retire_place(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Place>> {
    Ok(Json(svc::retire(&state, &caller, id, "api").await?))
}

/// The changes to a place, newest first (at most 100).
#[utoipa::path(get, path = "/api/v1/places/{id}/versions", tag = "places", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<PlaceVersion>), (status = 404, body = ErrorBody)))]
pub(crate) async fn place_versions(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<PlaceVersion>>> {
    Ok(Json(svc::versions(&state, &caller, id).await?.1))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The path of the street or community the file's places go under.
    pub scope: String,
    /// `xlsx`, `csv` (buildings and units) or `geojson` (boundaries and footprints).
    pub format: String,
    /// Only check and report; write nothing.
    pub dry_run: Option<bool>,
    /// For GeoJSON: `wgs84` (default) or `gcj02` (converted to WGS-84 when stored).
    pub crs: Option<String>,
}

/// Imports places: buildings and units from the office's 台账 (XLSX or CSV), or grid
/// boundaries and building footprints from GeoJSON. All or nothing: any refused row or
/// feature writes nothing, and the report says why, row by row.
#[utoipa::path(post, path = "/api/v1/places/import", tag = "places", params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"), security(("bearer" = [])),
    responses((status = 200, body = transfer::ImportReport), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = transfer::ImportReport)))]
pub(crate) async fn import_places(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<ImportQuery>,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let format = transfer::Format::parse(&q.format)
        .ok_or_else(|| AppError::bad_request("setup.error.format"))?;
    let crs = transfer::Crs::parse(q.crs.as_deref().unwrap_or("wgs84"))
        .ok_or_else(|| AppError::bad_request("setup.error.crs"))?;
    let report = transfer::import(
        &state,
        &caller,
        &q.scope,
        format,
        crs,
        body.to_vec(),
        q.dry_run.unwrap_or(false),
        "api",
    )
    .await?;
    let status = if report.refused.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// The path of the place whose places are exported.
    pub scope: String,
    /// `xlsx` (buildings and units, the import's columns) or `geojson` (shapes).
    pub format: String,
}

/// Exports places as the import reads them, so a street can round-trip its own map.
#[utoipa::path(get, path = "/api/v1/places/export", tag = "places", params(ExportQuery), security(("bearer" = [])),
    responses((status = 200, content((Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (Vec<u8> = "application/geo+json"))), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn export_places(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    let format = transfer::Format::parse(&q.format)
        .filter(|f| *f != transfer::Format::Csv)
        .ok_or_else(|| AppError::bad_request("setup.error.format"))?;
    let (name, bytes) = transfer::export(&state, &caller, &q.scope, format).await?;
    Ok(crate::http::file_response(&name, bytes))
}
