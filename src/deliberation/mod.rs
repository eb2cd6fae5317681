//! Deliberation and meetings (议事, issue 22 part 3): verified residents propose within a
//! building, an estate or a community of their home; residents of that scope support a
//! proposal (once each) until a threshold set per street puts it on the queue of the
//! residents' council (议事会) or the building's meeting; comments are moderated (hidden with a
//! reason, kept and shown as such; reported by residents; limited per account); bodies with
//! members and terms hold meetings with an agenda, attendance, minutes and decisions, each
//! with a responsible party, a due date and progress. Every proposal has a public timeline
//! from proposed to done (or rejected with the reason, or withdrawn).
//!
//! Stands on org (accounts, organisations, the places' hierarchy), registry (a resident's home
//! through `registry::residents`) and audit.

pub mod demo;
pub mod http;
pub mod pages;
pub mod service;
pub mod store;

use crate::http::area::{Area, Nav};
use crate::org::Caller;

/// A proposal's states, in the order of its life.
pub const STATES: [&str; 7] = [
    "proposed",
    "supported",
    "on_agenda",
    "decided",
    "done",
    "rejected",
    "withdrawn",
];

/// Workers reach proposals from the navigation; a resident from her home page's card
/// (`templates/deliberation/home_card.html`): a fourth entry in her phone's bar would not fit
/// a 375-pixel screen in English.
fn shown(c: &Caller) -> bool {
    service::is_worker(c)
}

/// What the deliberation area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::DeliberationApi as utoipa::OpenApi>::openapi,
        nav: &[
            Nav {
                order: 125,
                href: "/proposals",
                id: "nav-proposals",
                label: "deliberation.nav",
                shown,
            },
            Nav {
                order: 126,
                href: "/meetings",
                id: "nav-meetings",
                label: "deliberation.nav_meetings",
                shown,
            },
        ],
        cards: |s, c| Box::pin(pages::home_cards(s, c)),
        ..Area::new("deliberation", || http::router().merge(pages::router()))
    }
}
