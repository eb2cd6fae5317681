//! Owners' votes under Civil Code art. 278 (业主表决, issue 22 part 4): a vote on one of the
//! article's nine matters in a stairwell, a building or an estate, its electorate taken from
//! the registry's owners when it opens, ballots online, on paper and by proxy (one per elector
//! across channels), and the count of area and heads in exact integers.
//!
//! The electorate's rules are in [`electorate`], the count's in [`model`]: an elector is a set
//! of units with the same owners (a person owning several units alone counts once, with all
//! her area; co-owners of a unit are one elector; the developer's unsold units one together);
//! participation needs two thirds of the area and of the owners, approval more than half of
//! those taking part — three quarters for items 6–8 — and abstentions take part without
//! approving. A secret ballot keeps who took part (`vote_participation`) apart from how
//! (`vote_tally`, counts only).
//!
//! Stands on org (callers, the access policy), registry (owners, through
//! `registry::residents::owners_under`), the hierarchy's `places`, cases' photo checks (for
//! scans and proxies' evidence) and audit.

pub mod demo;
pub mod electorate;
pub mod files;
pub mod http;
pub mod jobs;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;

pub use model::{Channel, Choice, Matter, Outcome, ScopeKind, Tally, Totals, count};

use crate::http::area::{Area, Nav};
use crate::org::Caller;

/// What the votes area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::VotesApi as utoipa::OpenApi>::openapi,
        jobs: jobs::jobs,
        nav: &[Nav {
            order: 45,
            href: "/votes",
            id: "nav-votes",
            label: "votes.nav",
            // Workers only: a resident's phone bar has room for two entries in English; she
            // reaches her votes from her home page (`home-votes`).
            shown: Caller::reads_registry,
        }],
        ..Area::new("votes", || http::router().merge(pages::router()))
    }
}
