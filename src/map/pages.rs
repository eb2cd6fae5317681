//! The street's map page (a map with pan and zoom drawn by the vendored Leaflet from the
//! street's own layers, the server-drawn SVG map without script), and the static files:
//! Leaflet 1.9.4 (BSD-2-Clause, static/leaflet/LICENSE), the map script, the place picker.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Query};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::http::{Path, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::Tr;
use crate::state::AppState;
use crate::web::{Layout, map};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/map", get(map_page))
        .route("/map/roads", axum::routing::post(roads_upload))
        .route("/static/leaflet/leaflet.js", get(leaflet_js))
        .route("/static/leaflet/leaflet.css", get(leaflet_css))
        .route("/static/leaflet/images/{file}", get(leaflet_image))
        .route("/static/map.js", get(map_js))
        .route("/static/map.css", get(map_css))
        .route("/static/place-pick.js", get(place_pick_js))
}

const LEAFLET_JS: &str = include_str!("../../static/leaflet/leaflet.js");
const LEAFLET_CSS: &str = include_str!("../../static/leaflet/leaflet.css");
const MAP_JS: &str = include_str!("../../static/map.js");
const MAP_CSS: &str = include_str!("../../static/map.css");
const PLACE_PICK_JS: &str = include_str!("../../static/place-pick.js");
/// Leaflet's own images (the layer switch's icon, the default marker).
const LEAFLET_IMAGES: &[(&str, &[u8])] = &[
    (
        "layers.png",
        include_bytes!("../../static/leaflet/images/layers.png"),
    ),
    (
        "layers-2x.png",
        include_bytes!("../../static/leaflet/images/layers-2x.png"),
    ),
    (
        "marker-icon.png",
        include_bytes!("../../static/leaflet/images/marker-icon.png"),
    ),
    (
        "marker-icon-2x.png",
        include_bytes!("../../static/leaflet/images/marker-icon-2x.png"),
    ),
    (
        "marker-shadow.png",
        include_bytes!("../../static/leaflet/images/marker-shadow.png"),
    ),
];

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn leaflet_js() -> Response {
    asset("text/javascript; charset=utf-8", LEAFLET_JS)
}
async fn leaflet_css() -> Response {
    asset("text/css; charset=utf-8", LEAFLET_CSS)
}
async fn map_js() -> Response {
    asset("text/javascript; charset=utf-8", MAP_JS)
}
async fn map_css() -> Response {
    asset("text/css; charset=utf-8", MAP_CSS)
}
async fn place_pick_js() -> Response {
    asset("text/javascript; charset=utf-8", PLACE_PICK_JS)
}
async fn leaflet_image(Path(file): Path<String>) -> Response {
    match LEAFLET_IMAGES.iter().find(|(n, _)| *n == file) {
        Some((_, bytes)) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            *bytes,
        )
            .into_response(),
        None => AppError::not_found().into_response(),
    }
}

#[derive(Template)]
#[template(path = "map/map.html")]
struct MapPage {
    l: Layout,
    street: String,
    /// The server-drawn map, shown when the script does not run.
    fallback: Option<String>,
    /// The caller's own building's name, if she has one.
    own: Option<String>,
    /// For a street administrator: the roads layer's line count, to replace it by upload.
    roads: Option<usize>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct MapQuery {
    done: Option<String>,
}

/// The street's map: boundaries, buildings by name (her own marked), roads when uploaded;
/// pan and zoom with the script, the SVG map without it.
async fn map_page(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<MapQuery>,
) -> AppResult<Response> {
    map_page_with(&state, &caller, q.done.as_deref() == Some("roads"), None).await
}

async fn map_page_with(
    state: &AppState,
    caller: &crate::org::Caller,
    done: bool,
    error: Option<String>,
) -> AppResult<Response> {
    let layers = super::http::layers_for(state, caller).await?;
    let t = Tr(ctx().lang);
    let feature_list = |v: &serde_json::Value| -> Vec<serde_json::Value> {
        v.get("features")
            .and_then(serde_json::Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let prop = |f: &serde_json::Value, k: &str| -> String {
        f["properties"][k]
            .as_str()
            .map(str::to_string)
            .unwrap_or_default()
    };
    let areas_all = feature_list(&layers.areas);
    // Grids where drawn, else communities, else the street itself.
    let mut areas: Vec<map::Area> = Vec::new();
    for kind in ["grid", "community", "street"] {
        if areas.is_empty() {
            areas = areas_all
                .iter()
                .filter(|f| prop(f, "kind") == kind)
                .map(|f| map::Area {
                    label: prop(f, "name"),
                    href: None,
                    geojson: f["geometry"].to_string(),
                    highlight: false,
                })
                .collect();
        }
    }
    let mut own = None;
    let spots: Vec<map::Spot> = feature_list(&layers.buildings)
        .iter()
        .map(|f| {
            let mine = f["properties"]["own"].as_bool() == Some(true);
            if mine {
                own = Some(prop(f, "name"));
            }
            map::Spot {
                label: if mine {
                    format!("{} · {}", prop(f, "name"), t.s("map.own"))
                } else {
                    prop(f, "name")
                },
                href: None,
                geojson: f["geometry"].to_string(),
                class: if mine {
                    map::OWN_BUILDING
                } else {
                    map::BUILDING
                },
            }
        })
        .collect();
    let title = format!("{} · {}", layers.street_name, t.s("map.title"));
    let roads = crate::org::access::is_street_admin(caller)
        .then(|| layers.roads.as_ref().map_or(0, |r| feature_list(r).len()));
    let mut l = Layout::new(Some(caller));
    if done {
        l.flash = Some(t.s("map.roads_done").to_string());
    }
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = MapPage {
        l,
        fallback: map::render(&areas, &spots, &title),
        street: layers.street_name,
        own,
        roads,
        error,
    };
    match page.render() {
        Ok(html) => Ok((status, Html(html)).into_response()),
        Err(e) => Err(AppError::internal("rendering a page", e)),
    }
}

/// A street administrator replaces the roads layer with an uploaded GeoJSON file (the same
/// check as `PUT /api/v1/map/roads`).
async fn roads_upload(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    Signed(caller): Signed,
    mut mp: Multipart,
) -> AppResult<Response> {
    let street = crate::org::access::street_admin(&caller)?;
    let mut csrf = String::new();
    let mut file = Vec::new();
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|_| AppError::bad_request("error.bad_form"))?
    {
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "file" => file = crate::http::upload_bytes(field).await?.to_vec(),
            _ => {}
        }
    }
    check_csrf(&caller, &csrf)?;
    let t = Tr(ctx().lang);
    let checked = serde_json::from_slice::<serde_json::Value>(&file)
        .map_err(|_| "map.err_roads_json")
        .and_then(|v| super::layers::check_roads(&v));
    match checked {
        Ok(roads) => {
            state
                .db
                .write(move |c| super::layers::save_roads(c, street, &roads))
                .await?;
            Ok(axum::response::Redirect::to("/map?done=roads").into_response())
        }
        Err(key) => map_page_with(&state, &caller, false, Some(t.s(key).to_string())).await,
    }
}
