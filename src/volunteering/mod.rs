//! Volunteers and points (志愿服务 · 云端积分, issue 25 part 1): activities a worker
//! organises in her community, with sign-ups, a waiting list, check-in and check-out by the
//! organiser or by a code shown at the place; a double-entry points ledger (earned by the hour
//! at check-out, spent on a catalogue's items, passed between people where the street allows,
//! reversed with a reason, never edited); redemption codes the committee or a shop confirms;
//! a printable certificate of hours.
//!
//! Stands on org (accounts, grants, places, organisations), call-ups (who organises, the
//! skills' list, times as typed), reach (`reach::tell`) and audit.

pub mod access;
pub mod catalogue;
pub mod demo;
pub mod http;
pub mod ledger;
pub mod measures;
pub mod pages;
pub mod points;
pub mod service;
pub mod store;

use crate::http::area::{Area, Nav};
use crate::org::Caller;

fn shown(c: &Caller) -> bool {
    access::organises(c) || access::participates(c)
}

fn shown_confirm(c: &Caller) -> bool {
    !shown(c) && catalogue::confirms(c)
}

/// What the volunteering area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::VolunteeringApi as utoipa::OpenApi>::openapi,
        nav: &[
            Nav {
                order: 128,
                href: "/volunteering",
                id: "nav-volunteering",
                label: "volunteering.nav",
                shown,
            },
            Nav {
                order: 129,
                href: "/volunteering/confirm",
                id: "nav-volunteering-confirm",
                label: "volunteering.confirm_title",
                shown: shown_confirm,
            },
        ],
        cards: |s, c| Box::pin(pages::cards(s, c)),
        measures: &MEASURES,
        ..Area::new("volunteering", || http::router().merge(pages::router()))
    }
}

// ---- the cockpit's measures (counted by `measures`, read through the contract)

use crate::http::area::{Measure, Unit, summed};

/// The volunteering area's measures on the cockpit.
pub static MEASURES: [Measure; 1] = [Measure {
    id: "volunteering.hours",
    label: "cockpit.m.volunteering_hours",
    definition: "cockpit.d.volunteering_hours",
    unit: Unit::Hours,
    persons: false,
    read: |s, a| Box::pin(summed(s, a, measures::minutes, measures::hours)),
    drill: |_, _| "/volunteering".to_string(),
    by_org: None,
}];
