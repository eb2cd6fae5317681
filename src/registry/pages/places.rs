//! The registry's view of the hierarchy: places with their counts, and a building's or unit's
//! households.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::http::{Path, Signed};
use crate::kernel::{AppError, AppResult};
use crate::org::pages::area_map;
use crate::org::places::{self, Place, PlaceSummary};
use crate::registry::households::{self, HouseholdBrief};
use crate::state::AppState;
use crate::web::{Layout, render};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/places", get(places_index))
        .route("/places/{id}", get(place_page))
}

#[derive(Template)]
#[template(path = "registry/places.html")]
pub(crate) struct PlacesPage {
    l: Layout,
    roots: Vec<PlaceSummary>,
}

pub(crate) async fn places_index(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    if !caller.can_browse() {
        return Err(AppError::forbidden());
    }
    let scope = caller.scope.places.clone();
    let roots = state
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for p in places::roots(c, &scope)? {
                let (households, residents) = crate::registry::counts::counts_under(c, &p.path)?;
                out.push(PlaceSummary {
                    id: p.id,
                    kind: p.kind,
                    code: p.code,
                    name: p.name,
                    path: p.path,
                    households,
                    residents,
                });
            }
            Ok(out)
        })
        .await?;
    if roots.len() == 1 {
        return Ok(Redirect::to(&format!("/places/{}", roots[0].id)).into_response());
    }
    Ok(render(&PlacesPage {
        l: Layout::new(Some(&caller)),
        roots,
    }))
}

pub(crate) struct FloorRow {
    floor: i64,
    units: Vec<Place>,
}

#[derive(Template)]
#[template(path = "registry/place.html")]
pub(crate) struct PlacePage {
    l: Layout,
    place: Place,
    crumbs: Vec<Place>,
    children: Vec<PlaceSummary>,
    households_here: i64,
    residents_here: i64,
    map: Option<String>,
    floors: Vec<FloorRow>,
    households: Vec<HouseholdBrief>,
    can_read_registry: bool,
    orgs: Vec<places::Organisation>,
}

pub(crate) async fn place_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    if !caller.can_browse() {
        return Err(AppError::forbidden());
    }
    let scope = caller.scope.clone();
    let page = state
        .db
        .read(move |c| {
            let Some(place) = places::get(c, &scope.places, id)? else {
                return Ok(None);
            };
            let crumbs = places::ancestors(c, &scope.places, &place)?;
            let children = if place.kind == "building" {
                Vec::new()
            } else {
                places::children(c, &place)?
            };
            let (households_here, residents_here) =
                crate::registry::counts::counts_under(c, &place.path)?;
            let map = area_map(c, &place)?;
            let mut floors: Vec<FloorRow> = Vec::new();
            if place.kind == "building" {
                let units = places::children_full(c, place.id)?;
                for u in units {
                    let f = u.floor_no.unwrap_or(0);
                    match floors.iter_mut().find(|r| r.floor == f) {
                        Some(r) => r.units.push(u),
                        None => floors.push(FloorRow {
                            floor: f,
                            units: vec![u],
                        }),
                    }
                }
                floors.sort_by_key(|r| std::cmp::Reverse(r.floor));
            }
            let can_read = crate::org::Scope::covers(&scope.registry, &place.path);
            let households = if place.kind == "unit" && can_read {
                households::in_unit(c, &scope, place.id)?
            } else {
                Vec::new()
            };
            let orgs = places::orgs_serving(c, &place.path)?;
            Ok(Some(PlacePage {
                l: Layout::new(None),
                place,
                crumbs,
                children,
                households_here,
                residents_here,
                map,
                floors,
                households,
                can_read_registry: can_read,
                orgs,
            }))
        })
        .await?;
    let Some(mut page) = page else {
        return Err(AppError::not_found());
    };
    crate::registry::access::unit_households(&state, &caller, &page.households).await?;
    page.l = Layout::new(Some(&caller));
    Ok(render(&page))
}
