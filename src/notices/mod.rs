//! Notices with receipts (通知公告 · 回执, issue 22 part 1): a committee tells its residents — or
//! a street its workers (工作通知) — one thing, once, and knows who has read it. The audience is
//! chosen by places, tags, households and roles; its recipients are frozen when the notice goes
//! out, so the denominator never moves; opened (`read_at`) and acknowledged (`ack_at`) are kept
//! apart; a building leader follows up who has not opened it and marks her told in person or
//! on paper. A notice can be scheduled, expires, carries attachments checked by content, and
//! prints as an A4 poster with a short link and its QR code for the notice board.
//!
//! Stands on org (accounts and roles, the scope), registry (who lives where, through
//! `registry::residents::reached`) and audit.

pub mod demo;
pub mod files;
pub mod http;
pub mod jobs;
pub mod measures;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;

pub use model::{Audience, Kind, Notice, Received, State};

use crate::http::area::{Area, Nav};
use crate::org::Caller;

/// What the notices area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::NoticesApi as utoipa::OpenApi>::openapi,
        jobs: jobs::jobs,
        nav: &[Nav {
            order: 45,
            href: "/notices",
            id: "nav-notices",
            label: "notices.nav",
            shown: |_: &Caller| true,
        }],
        cards: |s, c| Box::pin(pages::cards(s, c)),
        measures: &MEASURES,
        ..Area::new("notices", || http::router().merge(pages::router()))
    }
}

// ---- the cockpit's measures (counted by `measures`, read through the contract)

use crate::http::area::{Measure, Unit, summed};

/// The notices area's measures on the cockpit.
pub static MEASURES: [Measure; 1] = [Measure {
    id: "notices.read_rate",
    label: "cockpit.m.notices_read_rate",
    definition: "cockpit.d.notices_read_rate",
    unit: Unit::Percent,
    persons: false,
    read: |s, a| Box::pin(summed(s, a, measures::read_rate, measures::share)),
    drill: |_, _| "/notices".to_string(),
    by_org: None,
}];
