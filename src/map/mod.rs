//! The street's map and its places by name (issue 19 items 11 and 15): the street's own layers
//! for a map with pan and zoom (boundaries, buildings with their names, roads when uploaded),
//! the resident's own building marked, a point checked against the street, an optional tile
//! layer the street configures; and places found by name or address for the forms that take a
//! place (imports, exports, accounts, grants), within what the caller may act on. It stands on
//! org, registry and cases (where a point lies is cases' own rule) and no area uses it.

use std::sync::Arc;

use axum::Router;

use crate::http::area::{Area, Nav};
use crate::org::Caller;
use crate::state::AppState;

pub mod http;
pub mod layers;
pub mod pages;

pub fn area() -> Area {
    Area {
        openapi: <http::MapApi as utoipa::OpenApi>::openapi,
        // After the daily work: behind 更多 on a phone (the report form carries the map too).
        nav: &[Nav {
            order: 105,
            href: "/map",
            id: "nav-map",
            label: "map.nav",
            shown: has_street,
        }],
        ..Area::new("map", router)
    }
}

/// Workers of a street see the map in the navigation (behind 更多 on a phone); a resident's
/// navigation stays at its three entries, and she reaches the map from the report form.
fn has_street(caller: &Caller) -> bool {
    caller.street_id.is_some() && caller.browses_cases()
}

fn router() -> Router<Arc<AppState>> {
    http::router().merge(pages::router())
}
