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
        measures: &measures::MEASURES,
        ..Area::new("cases", router)
    }
}

fn router() -> Router<Arc<AppState>> {
    http::router()
        .merge(open311::router())
        .merge(pages::router())
}

pub use crate::kernel::ids::CaseId;
