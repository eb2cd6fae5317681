//! Setting up a real street (开通一个真实街道, issue 21): the first run (`linli init` and the
//! first-run page), places by hand and in bulk (the office's 台账 and its map), and one-time
//! account links. It stands above the other areas: retiring or moving a place asks each of
//! them (through `org::hooks`) what it keeps there.

pub mod http;
pub mod orgs;
pub mod pages;
pub mod places;
pub mod street;
pub mod transfer;
pub mod workers;

use crate::http::area::{Area, Nav};
use crate::org::Caller;

/// What the setup area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::SetupApi as utoipa::OpenApi>::openapi,
        state: |s, _| s.with(pages::FirstRun::default()),
        nav: &[Nav {
            order: 95,
            href: "/admin/places",
            id: "nav-setup",
            label: "nav.setup",
            shown: edits_places,
        }],
        ..Area::new("setup", || http::router().merge(pages::router()))
    }
}

/// Whether the caller may change places somewhere (street administrators, community workers).
pub fn edits_places(caller: &Caller) -> bool {
    !crate::org::access::place_editor_paths(caller).is_empty()
}
