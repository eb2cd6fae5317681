//! Call-ups (召集, issue 23 part 5): a worker broadcasts a call to the volunteers with given
//! skills within a community, a grid or a building; each recipient (frozen when it is sent,
//! told in linli and through reach) answers coming or not available until the call closes;
//! the organiser sees who is coming and calls her through an audited reveal of her phone.
//!
//! Who the volunteers are is org's: accounts holding the `volunteer` role at a street, a
//! community or a grid. What they can do and where they can go is kept here, in a profile
//! each volunteer edits herself (`volunteers.rs`).
//!
//! Stands on org (accounts, grants, places), registry (phones parsed, purposes), reach
//! (`reach::tell`) and audit.

pub mod demo;
pub mod http;
pub mod pages;
mod reading;
pub mod service;
pub mod store;
pub mod volunteers;

use crate::http::area::{Area, Nav};
use crate::org::Caller;

fn shown(c: &Caller) -> bool {
    service::organises(c) || service::volunteers(c)
}

/// What the call-ups area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::CallupsApi as utoipa::OpenApi>::openapi,
        nav: &[Nav {
            order: 127,
            href: "/callups",
            id: "nav-callups",
            label: "callups.nav",
            shown,
        }],
        cards: |s, c| Box::pin(pages::cards(s, c)),
        ..Area::new("callups", || http::router().merge(pages::router()))
    }
}
