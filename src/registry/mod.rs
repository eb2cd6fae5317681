//! The registry of who lives where (实有人口): persons with their protected ID numbers and
//! phones, households, housing units with owners, rental registrations, vehicles, tags, the
//! imports and exports that speak Excel, and the statistics other parts reuse.

pub mod access;
pub mod corrections;
pub mod counts;
pub mod criteria;
pub mod export;
pub mod grams;
pub mod households;
pub mod http;
pub mod idnum;
pub mod import;
pub mod import_jobs;
pub mod jobs;
pub mod measures;
pub mod pages;
pub mod persons;
pub mod placed;
pub mod plate;
pub mod records;
pub mod residents;
pub mod stats;

use crate::http::area::{Area, Nav};
use crate::org::Caller;

/// What the registry contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: http::openapi,
        jobs: jobs::jobs,
        nav: &[
            Nav {
                order: 50,
                href: "/persons",
                id: "nav-persons",
                label: "nav.persons",
                shown: Caller::reads_registry,
            },
            Nav {
                order: 60,
                href: "/rentals",
                id: "nav-rentals",
                label: "nav.rentals",
                shown: Caller::reads_registry,
            },
            Nav {
                order: 70,
                href: "/vehicles",
                id: "nav-vehicles",
                label: "nav.vehicles",
                shown: Caller::reads_registry,
            },
            Nav {
                order: 80,
                href: "/stats",
                id: "nav-stats",
                label: "nav.stats",
                shown: Caller::can_browse,
            },
            Nav {
                order: 90,
                href: "/admin/tags",
                id: "nav-tags",
                label: "nav.tags",
                shown: Caller::reads_registry,
            },
            Nav {
                order: 100,
                href: "/imports",
                id: "nav-imports",
                label: "nav.imports",
                shown: Caller::reads_registry,
            },
        ],
        measures: &MEASURES,
        ..Area::new("registry", || http::router().merge(pages::router()))
    }
}

// ---- the cockpit's measures (counted by `measures`, read through the contract)

use std::sync::Arc;

use crate::http::area::{Measure, MeasureAsk, Reading, Unit};
use crate::state::AppState;

/// Persons counted at each grid and over the viewer's places: residents, or holders of `tag`.
async fn persons(
    state: Arc<AppState>,
    ask: MeasureAsk,
    tag: Option<&'static str>,
) -> anyhow::Result<Reading> {
    let (grids, total) = state
        .db
        .read(move |c| measures::persons(c, ask.street_id, &ask.grids, &ask.roots, tag))
        .await?;
    Ok(Reading { grids, total })
}

/// The registry's measures on the cockpit: all count persons.
pub static MEASURES: [Measure; 3] = [
    Measure {
        id: "registry.residents",
        label: "cockpit.m.registry_residents",
        definition: "cockpit.d.registry_residents",
        unit: Unit::Count,
        persons: true,
        read: |s, a| Box::pin(persons(s, a, None)),
        drill: |_, path| format!("/persons?under={}", measures::enc(path)),
        by_org: None,
    },
    Measure {
        id: "registry.elderly_alone",
        label: "cockpit.m.registry_elderly_alone",
        definition: "cockpit.d.registry_elderly_alone",
        unit: Unit::Count,
        persons: true,
        read: |s, a| Box::pin(persons(s, a, Some("elderly_alone"))),
        drill: |_, path| format!("/persons?under={}&tag=elderly_alone", measures::enc(path)),
        by_org: None,
    },
    Measure {
        id: "registry.disabled",
        label: "cockpit.m.registry_disabled",
        definition: "cockpit.d.registry_disabled",
        unit: Unit::Count,
        persons: true,
        read: |s, a| Box::pin(persons(s, a, Some("disabled"))),
        drill: |_, path| format!("/persons?under={}&tag=disabled", measures::enc(path)),
        by_org: None,
    },
];
