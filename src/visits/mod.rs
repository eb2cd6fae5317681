//! Home visits (走访 · 民情日志, issue 23 part 1) and the emergency roster (应急名册, part 3).
//!
//! A grid worker records what she learnt at each door — against a person or a household, how
//! she met them, a short form of what she found, private notes and follow-ups (a case opened
//! through the cases area, a referral, the next visit). Plans say how often the holders of a
//! registry tag are visited; each worker sees who is due and overdue in her grid *now*. The
//! roster lists, building by building, who needs help when the lift stops or the power fails —
//! read live from the registry's tags — with their helpers, and prints a sheet for a power cut.
//!
//! Stands on org (accounts and scope), registry (who lives where and holds which tags, through
//! `registry::residents`), cases (a follow-up case, through `cases::create`) and audit.

pub mod demo;
pub mod http;
pub mod measures;
pub mod model;
pub mod pages;
pub mod roster;
pub mod service;
pub mod store;

pub use model::{DueRow, NewVisit, Standing, Visit};
pub use service::{DueAsk, DueList};

use crate::http::area::{Area, Nav};
use crate::org::Caller;

/// What the visits area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::VisitsApi as utoipa::OpenApi>::openapi,
        nav: &[
            Nav {
                order: 40,
                href: "/visits",
                id: "nav-visits",
                label: "visits.nav",
                shown: service::records,
            },
            Nav {
                order: 41,
                href: "/roster",
                id: "nav-roster",
                label: "roster.nav",
                shown: service::records,
            },
            Nav {
                order: 41,
                href: "/me/visits",
                id: "nav-my-visits",
                label: "visits.mine_nav",
                shown: |c: &Caller| c.person_id.is_some() && !service::records(c),
            },
        ],
        cards: |s, c| Box::pin(pages::cards(s, c)),
        measures: &MEASURES,
        ..Area::new("visits", || http::router().merge(pages::router()))
    }
}

// ---- the cockpit's measures (counted by `measures`, read through the contract)

use crate::http::area::{Measure, Unit, count, summed};

/// Visits' measures on the cockpit.
pub static MEASURES: [Measure; 2] = [
    Measure {
        id: "visits.done",
        label: "cockpit.m.visits_done",
        definition: "cockpit.d.visits_done",
        unit: Unit::Count,
        persons: true,
        read: |s, a| Box::pin(summed(s, a, measures::done_30, count)),
        drill: |id, _| format!("/visits?place={id}&all=1"),
        by_org: None,
    },
    Measure {
        id: "visits.overdue",
        label: "cockpit.m.visits_overdue",
        definition: "cockpit.d.visits_overdue",
        unit: Unit::Count,
        persons: true,
        read: |s, a| Box::pin(summed(s, a, measures::overdue, count)),
        drill: |id, _| format!("/visits?place={id}"),
        by_org: None,
    },
];
