//! Policy finds the person (政策找人, issue 23 part 6): eligibility rules over the registry's
//! attributes ("age >= 80" → 高龄津贴; a disability tag → a subsidy check; a newborn → a
//! vaccination reminder) produce to-dos for the workers who keep those persons' records and,
//! where the rule says so, a word to the resident on her home page. A rule's reach is
//! previewed before it is switched on (a count per community, a masked sample); every change
//! to its definition is kept as a version; a to-do is closed with an outcome (applied, not
//! eligible, declined).
//!
//! Stands on org (accounts, places), registry (who matches, through `registry::criteria`) and
//! audit.

pub mod condition;
pub mod demo;
pub mod http;
pub mod jobs;
pub mod pages;
pub mod service;
pub mod store;

use crate::http::area::{Area, Nav};
use crate::org::Caller;

fn shown(c: &Caller) -> bool {
    c.reads_registry()
}

/// What the eligibility area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::EligibilityApi as utoipa::OpenApi>::openapi,
        jobs: jobs::jobs,
        nav: &[Nav {
            order: 128,
            href: "/eligibility",
            id: "nav-eligibility",
            label: "eligibility.nav",
            shown,
        }],
        cards: |s, c| Box::pin(pages::home_cards(s, c)),
        ..Area::new("eligibility", || http::router().merge(pages::router()))
    }
}
