//! Cases (一网统管 · 高效处置一件事): a problem reported through any channel becomes one case,
//! routed to the organisation that must fix it, watched against a deadline in working time,
//! escalated when late, verified on site by someone other than the handler, closed and rated.
//!
//! This module is the surface; [`model`] holds the kinds and errors, [`catalogue`] the
//! categories and routing, [`query`] reading cases, [`intake`] opening them, [`figures`] the
//! organisations' figures; [`lifecycle`] the table of allowed steps,
//! [`escalation`] the deadline sweep, [`notify`] the inbox and webhooks, [`dedupe`] the
//! duplicate suggestions, [`open311`] the GeoReport v2 API, [`http`] the JSON API and
//! [`pages`] the server-rendered pages.

pub mod calendar;
pub mod dedupe;
pub mod defaults;
pub mod demo;
pub mod escalation;
pub mod hooks;
pub mod http;
pub mod icons;
pub mod jobs;
pub mod lifecycle;
pub mod measures;
pub mod mine;
pub mod notify;
pub mod open311;
pub mod pages;
pub mod photos;
pub mod placed;
pub mod places;
pub mod public;
mod published;
pub mod tasks;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::area::{Area, Nav};
use crate::kernel::error::AppError;
use crate::org::{Caller, Role, geometry};
use crate::params;
use crate::state::AppState;
use crate::store::{Conn, Row, StoreError, Val, under_paths};
use calendar::{Calendar, HOUR_MS};
use utoipa::OpenApi;

pub use lifecycle::{Action, Actor, State};

mod catalogue;
mod figures;
mod intake;
mod model;
mod query;

pub use catalogue::*;
pub use figures::*;
pub use intake::*;
pub use model::*;
pub use query::*;

/// All routes of the cases capability: the JSON API, Open311 and the pages.
/// What cases contribute to the application.
pub fn area() -> Area {
    Area {
        openapi: http::CasesApi::openapi,
        jobs: jobs::jobs,
        // Workers find the cases; a resident her own reports ("我的上报").
        nav: &[
            Nav {
                order: 10,
                href: "/cases",
                id: "nav-cases",
                label: "case.page.title",
                shown: Caller::browses_cases,
            },
            Nav {
                order: 10,
                href: "/cases",
                id: "nav-cases",
                label: "case.page.mine",
                shown: |c| !c.browses_cases(),
            },
        ],
        measures: &MEASURES,
        ..Area::new("cases", router)
    }
}

fn router() -> Router<Arc<AppState>> {
    http::router()
        .merge(open311::router())
        .merge(pages::router())
}

pub use crate::kernel::ids::CaseId;

// ---- the cockpit's measures (counted by `measures`, read through the contract)

use crate::http::area::{Measure, Unit, count as whole, summed, summed_by_org};

/// The cases' measures on the cockpit.
pub static MEASURES: [Measure; 6] = [
    Measure {
        id: "cases.open",
        label: "cockpit.m.cases_open",
        definition: "cockpit.d.cases_open",
        unit: Unit::Count,
        persons: false,
        read: |s, a| Box::pin(summed(s, a, measures::open, whole)),
        drill: |id, _| format!("/cases?place={id}&state=open"),
        by_org: Some(|s, a| Box::pin(summed_by_org(s, a, measures::open_by_org, whole))),
    },
    Measure {
        id: "cases.late",
        label: "cockpit.m.cases_late",
        definition: "cockpit.d.cases_late",
        unit: Unit::Count,
        persons: false,
        read: |s, a| Box::pin(summed(s, a, measures::late, whole)),
        drill: |id, _| format!("/cases?place={id}&late=1"),
        by_org: None,
    },
    Measure {
        id: "cases.on_time",
        label: "cockpit.m.cases_on_time",
        definition: "cockpit.d.cases_on_time",
        unit: Unit::Percent,
        persons: false,
        read: |s, a| Box::pin(summed(s, a, measures::on_time, measures::on_time_rate)),
        drill: |id, _| format!("/cases?place={id}&state=closed"),
        by_org: Some(|s, a| {
            Box::pin(summed_by_org(
                s,
                a,
                measures::on_time_by_org,
                measures::on_time_rate,
            ))
        }),
    },
    Measure {
        id: "cases.resolve_hours",
        label: "cockpit.m.cases_resolve_hours",
        definition: "cockpit.d.cases_resolve_hours",
        unit: Unit::Hours,
        persons: false,
        read: |s, a| Box::pin(summed(s, a, measures::resolve_hours, measures::median)),
        drill: |id, _| format!("/cases?place={id}&state=closed"),
        by_org: Some(|s, a| {
            Box::pin(summed_by_org(
                s,
                a,
                measures::resolve_hours_by_org,
                measures::median,
            ))
        }),
    },
    Measure {
        id: "cases.satisfaction",
        label: "cockpit.m.cases_satisfaction",
        definition: "cockpit.d.cases_satisfaction",
        unit: Unit::Rating,
        persons: false,
        read: |s, a| Box::pin(summed(s, a, measures::satisfaction, measures::mean_rating)),
        drill: |id, _| format!("/cases?place={id}&state=rated"),
        by_org: Some(|s, a| {
            Box::pin(summed_by_org(
                s,
                a,
                measures::satisfaction_by_org,
                measures::mean_rating,
            ))
        }),
    },
    Measure {
        id: "cases.self_open",
        label: "cockpit.m.cases_self_open",
        definition: "cockpit.d.cases_self_open",
        unit: Unit::Count,
        persons: false,
        read: |s, a| Box::pin(summed(s, a, measures::self_open, whole)),
        drill: |id, _| format!("/cases?place={id}&state=open"),
        by_org: None,
    },
];
