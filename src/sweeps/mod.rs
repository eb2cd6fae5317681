//! Door-to-door sweeps (拉网式排摸, issue 23 part 2): a campaign over a scope of places with a
//! short form of what to ask at each door. Starting it makes every household of the scope a
//! door for the grid worker of its grid (one `INSERT … SELECT`); she may hand whole buildings
//! to a volunteer. Answers come from phones that may lose the connection: the page queues them
//! with an id made on the phone and retries, and the server keeps each (campaign, household,
//! client id) once. "Nobody home" records a visit and keeps the door open. Progress by grid and
//! building is counted from the doors; results are exported to XLSX; a campaign is repeated
//! and compared question by question; its personal answers are purged when its retention
//! ends, its counts kept.
//!
//! Stands on org (accounts, roles, the scope, grid workers), registry (households through
//! `registry::residents`) and audit.

pub mod demo;
pub mod http;
pub mod jobs;
pub mod measures;
pub mod model;
pub mod pages;
pub mod service;
pub mod sheet;
pub mod store;

pub use model::{Campaign, Progress, State};

use crate::http::area::{Area, Nav};
use crate::org::Caller;

/// What the sweeps area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::SweepsApi as utoipa::OpenApi>::openapi,
        jobs: jobs::jobs,
        nav: &[Nav {
            order: 47,
            href: "/sweeps",
            id: "nav-sweeps",
            label: "sweeps.nav",
            shown: |c: &Caller| c.reads_registry() || c.has(crate::org::Role::Volunteer),
        }],
        cards: |s, c| Box::pin(pages::cards(s, c)),
        measures: &MEASURES,
        ..Area::new("sweeps", || http::router().merge(pages::router()))
    }
}

// ---- the cockpit's measures (counted by `measures`, read through the contract)

use crate::http::area::{Measure, Unit, summed};

/// The sweeps area's measures on the cockpit.
pub static MEASURES: [Measure; 1] = [Measure {
    id: "sweeps.progress",
    label: "cockpit.m.sweeps_progress",
    definition: "cockpit.d.sweeps_progress",
    unit: Unit::Percent,
    persons: false,
    read: |s, a| Box::pin(summed(s, a, measures::progress, measures::share)),
    drill: |_, _| "/sweeps".to_string(),
    by_org: None,
}];
