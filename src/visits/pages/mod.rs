//! The visits pages: a grid worker's due list (phone-first, by building and floor), the form
//! that records a visit, a visit, the plans and the street's setting, a resident's own visits;
//! the roster by building, a building's roster with its helpers, and the sheet printed for a
//! power cut.

mod roster_pages;
mod visit_pages;

use roster_pages::*;
use visit_pages::*;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/visits", get(due_page))
        .route("/visits/new", get(new_page).post(new_submit))
        .route("/visits/plans", get(plans_page).post(plan_submit))
        .route("/visits/plans/{id}/end", post(plan_end_submit))
        .route("/visits/settings", post(settings_submit))
        .route("/visits/persons/{id}", get(person_page))
        .route("/visits/{id}", get(visit_page))
        .route("/me/visits", get(mine_page))
        .route("/roster", get(roster_page))
        .route("/roster/buildings/{id}", get(building_page))
        .route(
            "/roster/buildings/{id}/print",
            get(print_ask_page).post(print_page),
        )
        .route("/roster/persons/{id}/helpers", post(helper_submit))
        .route("/roster/helpers/{id}/remove", post(helper_remove_submit))
        .route("/roster/helpers/{id}/reveal", post(helper_reveal_submit))
        .route("/static/visits.css", get(visits_css))
}

const VISITS_CSS: &str = include_str!("../../../static/visits.css");

async fn visits_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        VISITS_CSS,
    )
        .into_response()
}

use super::http::DueQuery;
use super::model::{DueRow, HOWS, NEEDS, NewPlan, NewVisit, Plan, RATINGS, Visit};
use super::roster::{self, BuildingCount, NewHelper, Purpose, Sheet};
use super::service::{self, DueList};
use crate::http::{ApiForm, Path, Query, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::time::local_time;
use crate::org::Caller;
use crate::state::AppState;
use crate::web::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::sync::Arc;

const DONE: [&str; 6] = ["recorded", "plan", "ended", "settings", "helper", "removed"];

fn flash(l: &mut Layout, done: Option<&str>) {
    if let Some(d) = done.filter(|d| DONE.contains(d)) {
        l.flash = Some(l.t.s(&format!("visits.done.{d}")).to_string());
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

// ---- the home card ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "visits/card.html")]
struct CardView {
    t: crate::kernel::i18n::Tr,
    worker: bool,
    overdue: i64,
    due: i64,
    last: Option<Visit>,
}

impl CardView {
    fn counts(&self) -> String {
        self.t.fill(
            "visits.counts",
            &[("overdue", &self.overdue), ("due", &self.due)],
        )
    }
    fn last_line(&self, v: &Visit) -> String {
        self.t.fill(
            "visits.card_last",
            &[("on", &v.visited_on), ("by", &v.visitor_name)],
        )
    }
}

/// A worker's card: how many are overdue and due in her places (counts only, nobody named);
/// a resident's: when she was last visited and by whom.
pub async fn cards(
    state: Arc<AppState>,
    caller: Caller,
) -> anyhow::Result<Vec<crate::http::area::Card>> {
    let err = |e: AppError| anyhow::anyhow!("{}", e.key);
    let t = crate::kernel::i18n::Tr(ctx().lang);
    let view = if service::records(&caller) && caller.street_id.is_some() {
        let list = service::due_unaudited(&state, &caller, &service::DueAsk::default())
            .await
            .map_err(err)?;
        CardView {
            t,
            worker: true,
            overdue: list.overdue,
            due: list.due,
            last: None,
        }
    } else if caller.person_id.is_some() {
        let mine = service::mine(&state, &caller).await.map_err(err)?;
        let Some(last) = mine.into_iter().next() else {
            return Ok(Vec::new());
        };
        CardView {
            t,
            worker: false,
            overdue: 0,
            due: 0,
            last: Some(last),
        }
    } else {
        return Ok(Vec::new());
    };
    let html = view.render().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(vec![crate::http::area::Card { order: 15, html }])
}
