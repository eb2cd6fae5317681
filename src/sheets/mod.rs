//! Sign-up sheets (接龙, issue 25 part 3): the WeChat "chain" done properly. A worker writes a
//! sheet — items with an optional unit price in fen, an audience as for notices, a deadline, a
//! limit per household — and its residents sign up once per household (the flat taken from
//! the household linli knows), change or withdraw until the deadline; the totals per building
//! and overall are on the sheet; the organiser exports the entries for the supplier as XLSX
//! and corrects an entry with a reason, the correction kept and shown; she may close the sheet
//! before its deadline, with a reason (kept and shown; entries refused after).
//!
//! Stands on org (accounts, the scope), registry (households, names, the XLSX writer),
//! notices (the audience and whom it reaches, `notices::service::resolve`) and audit.

pub mod demo;
pub mod http;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;
pub mod view;

pub use model::{Entry, Item, Sheet};

use crate::http::area::{Area, Nav};
use crate::org::Caller;

/// What the sheets area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::SheetsApi as utoipa::OpenApi>::openapi,
        nav: &[Nav {
            order: 47,
            href: "/sheets",
            id: "nav-sheets",
            label: "sheets.nav",
            shown: |c: &Caller| c.person_id.is_some() || service::may_write(c),
        }],
        cards: |s, c| Box::pin(pages::home_cards(s, c)),
        ..Area::new("sheets", || http::router().merge(pages::router()))
    }
}
