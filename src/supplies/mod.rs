//! Emergency supplies (应急物资, issue 23 part 4): stock by place in batches with expiry
//! dates (warned of ahead, discarded when past), a minimum level that warns when crossed,
//! lending and return, and inventory counts that record differences; every move in a ledger.
//!
//! Stands on org (accounts, places) and audit.

pub mod demo;
pub mod http;
pub mod pages;
pub mod service;
pub mod store;

use crate::http::area::{Area, Nav};
use crate::org::Caller;

fn shown(c: &Caller) -> bool {
    c.reads_registry()
}

/// What the supplies area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::SuppliesApi as utoipa::OpenApi>::openapi,
        nav: &[Nav {
            order: 129,
            href: "/supplies",
            id: "nav-supplies",
            label: "supplies.nav",
            shown,
        }],
        cards: |s, c| Box::pin(pages::home_cards(s, c)),
        ..Area::new("supplies", || http::router().merge(pages::router()))
    }
}
