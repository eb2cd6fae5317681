//! Mutual aid (邻里互助): residents' offers and requests within their community — goods to
//! give, tools to lend (with a return date), skills, help needed (shopping for an elderly
//! neighbour, a lift to hospital), spare medicine (with its expiry date and a fixed warning
//! that prescription medicine needs a doctor). Matched by kind and by the distance between
//! buildings; contact through in-app conversations that never show a phone number; done
//! when both parties say so; expiry; reports and moderation with a reason; blocks.
//!
//! Stands on org (accounts, the scope, places' shapes), registry (where a resident lives,
//! `registry::residents`), privacy (numbers masked in free text), cases (the great-circle
//! distance), reach (`reach::tell`) and audit.

pub mod demo;
pub mod http;
pub mod jobs;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;

pub use model::{Direction, Kind, Post, State};

use crate::http::area::{Area, Nav};

/// What the mutual aid area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::AidApi as utoipa::OpenApi>::openapi,
        jobs: jobs::jobs,
        nav: &[Nav {
            order: 48,
            href: "/aid",
            id: "nav-aid",
            label: "aid.nav",
            shown: service::may_take_part,
        }],
        cards: |s, c| Box::pin(pages::home_cards(s, c)),
        ..Area::new("aid", || http::router().merge(pages::router()))
    }
}
