//! Community funds (楼道基金 · 公共资金, issue 25 part 4): a fund per building or estate —
//! a corridor's scrap money that buys a sofa for the stairwell — with income and expense
//! entries in fen, receipts as photos, and every entry approved by the fund's rule (N of its
//! M named representatives, never the proposer) before it counts; a running balance its
//! members see; nothing changed after approval (a mistake is a reversing entry with a
//! reason; before it, the proposer may withdraw her entry); overspending refused; CSV and XLSX exports. The rule is written in `model`.
//!
//! Stands on org (accounts, places, the scope), registry (where a member lives), cases (the
//! photo checks, `cases::photos`), notices (the place picker) and audit.

pub mod demo;
pub mod http;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;

pub use model::{Entry, Fund, Kind};

use crate::http::area::{Area, Nav};
use crate::org::Caller;

/// What the funds area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::FundsApi as utoipa::OpenApi>::openapi,
        nav: &[Nav {
            order: 48,
            href: "/funds",
            id: "nav-funds",
            label: "funds.nav",
            shown: |c: &Caller| c.person_id.is_some() || service::may_open(c),
        }],
        cards: |s, c| Box::pin(pages::home_cards(s, c)),
        ..Area::new("funds", || http::router().merge(pages::router()))
    }
}
