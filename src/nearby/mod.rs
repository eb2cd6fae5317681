//! Nearby (身边事, issue 24 part 3): residents see and follow what happens around them — a
//! community's public reports on a map and in a list (open ones and those fixed in the last
//! 30 days, of public categories, without personal data), "me too" instead of a duplicate,
//! following a report (her own without asking) or an area and a category with updates by the
//! channels she chose and an unfollow link in every message, and the organisations' figures
//! public per community ("对下负责").
//!
//! Stands on cases (read through `cases::public`, which keeps supports, public photos and the
//! reporter's updates; cases never names this area: a step reaches the followers through
//! `cases::hooks::on_step`, registered in `app::wire`), reach (`reach::tell`) and org.

pub mod follows;
pub mod http;
pub mod pages;
pub mod service;

use crate::http::area::{Area, Nav};
use crate::org::Caller;

/// Who sees the nearby pages in the navigation: residents and volunteers of a street (workers
/// reach them by address; their phone navigation is full already).
/// Residents and volunteers see their community's public page; the community's and the grids'
/// workers see it too, to know what their residents see.
fn shown(c: &Caller) -> bool {
    use crate::org::Role;
    c.street_id.is_some()
        && [
            Role::Resident,
            Role::Volunteer,
            Role::CommunityWorker,
            Role::GridWorker,
        ]
        .iter()
        .any(|r| c.has(*r))
}

/// What cases runs on every step: the followers told (see [`follows::on_case_step`]).
pub const ON_CASE_STEP: crate::cases::hooks::OnStep = follows::on_case_step;

/// What the nearby area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::NearbyApi as utoipa::OpenApi>::openapi,
        nav: &[Nav {
            order: 11,
            href: "/nearby",
            id: "nav-nearby",
            label: "nearby.nav",
            shown,
        }],
        cards: |s, c| Box::pin(pages::home_cards(s, c)),
        ..Area::new("nearby", || http::router().merge(pages::router()))
    }
}
