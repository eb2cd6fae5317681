//! The volunteering pages: activities (list with the new-activity form, an activity's page
//! with sign-up, the code and the organiser's check-in and check-out), points (balance,
//! entries, transfer, the organiser's balances and reversal), the catalogue (redeem, new
//! items), confirming a code, the certificate of hours; and a participant's home card.

mod activities;
mod points;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::routing::{get, post};
use serde::Deserialize;

use super::service::{self, Item};
use crate::kernel::ctx;
use crate::kernel::error::AppError;
use crate::kernel::i18n::Tr;
use crate::kernel::time::local_time;
use crate::org::Caller;
use crate::state::AppState;
use crate::web::Layout;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/volunteering",
            get(activities::list_page).post(activities::create_submit),
        )
        .route("/volunteering/points", get(points::points_page))
        .route("/volunteering/transfer", post(points::transfer_submit))
        .route(
            "/volunteering/transactions/{id}/reverse",
            post(points::reverse_submit),
        )
        .route(
            "/volunteering/catalogue",
            get(points::catalogue_page).post(points::item_submit),
        )
        .route(
            "/volunteering/items/{id}/redeem",
            post(points::redeem_submit),
        )
        .route(
            "/volunteering/items/{id}/restock",
            post(points::restock_submit),
        )
        .route(
            "/volunteering/confirm",
            get(points::confirm_page).post(points::confirm_submit),
        )
        .route("/volunteering/certificate", get(points::certificate_page))
        .route("/static/volunteering.css", get(css))
        .route("/volunteering/{id}", get(activities::activity_page))
        .route("/volunteering/{id}/signup", post(activities::signup_submit))
        .route("/volunteering/{id}/cancel", post(activities::cancel_submit))
        .route("/volunteering/{id}/code", post(activities::code_submit))
        .route(
            "/volunteering/{id}/signups/{sid}/{step}",
            post(activities::step_submit),
        )
}

const CSS: &str = include_str!("../../../static/volunteering.css");

async fn css() -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

const DONE: [&str; 12] = [
    "created",
    "signed_up",
    "cancelled",
    "checked_in",
    "checked_out",
    "transferred",
    "reversed",
    "item",
    "redeemed",
    "confirmed",
    "waiting",
    "restocked",
];

fn flash(l: &mut Layout, done: Option<&str>) {
    if let Some(d) = done.filter(|d| DONE.contains(d)) {
        l.flash = Some(l.t.s(&format!("volunteering.done.{d}")).to_string());
    }
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

/// Words shared by the templates.
struct Words {
    t: Tr,
}

impl Words {
    fn skills(&self, s: &[String]) -> String {
        if s.is_empty() {
            self.t.s("volunteering.any_skill").to_string()
        } else {
            s.iter()
                .map(|x| self.t.k("callups.skill", x))
                .collect::<Vec<_>>()
                .join("、")
        }
    }
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn state(&self, s: &str) -> &'static str {
        self.t.k("volunteering.state", s)
    }
    fn kind(&self, s: &str) -> &'static str {
        self.t.k("volunteering.txn", s)
    }
    fn hours(&self, minutes: &i64) -> String {
        format!("{}.{}", minutes / 60, (minutes % 60) * 10 / 60)
    }
    fn counts(&self, i: &Item) -> String {
        self.t.fill(
            "volunteering.counts",
            &[
                ("booked", &i.booked),
                ("capacity", &i.activity.capacity),
                ("waiting", &i.waiting),
            ],
        )
    }
    fn signed(&self, amount: &i64) -> String {
        if *amount > 0 {
            format!("+{amount}")
        } else {
            amount.to_string()
        }
    }
}

#[derive(Template)]
#[template(path = "volunteering/card.html")]
struct Card {
    w: Words,
    t: Tr,
    upcoming: Vec<Item>,
    balance: i64,
}

impl Card {
    fn balance_text(&self) -> String {
        self.t
            .fill("volunteering.home_balance", &[("n", &self.balance)])
    }
}

/// A participant's card: the activities she signed up to that are still to come, and her
/// balance.
pub async fn cards(
    state: Arc<AppState>,
    caller: Caller,
) -> anyhow::Result<Vec<crate::http::area::Card>> {
    if !super::access::participates(&caller) {
        return Ok(Vec::new());
    }
    let err = |e: AppError| anyhow::anyhow!("{}", e.key);
    let upcoming = service::upcoming(&state, &caller).await.map_err(err)?;
    let balance = super::points::mine(&state, &caller)
        .await
        .map_err(err)?
        .balance;
    let t = Tr(ctx().lang);
    let html = Card {
        w: Words { t },
        t,
        upcoming,
        balance,
    }
    .render()?;
    Ok(vec![crate::http::area::Card { order: 13, html }])
}
