//! The supplies pages: the stock of the caller's places with its warnings and the form for a
//! new item, and an item's page (batches, loans, moves, and the forms to receive, lend, take
//! back, count and discard). A home card for keepers when something needs attention.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::service::{self, CATEGORIES, Detail, List, Typed};
use crate::http::{ApiForm, Path, Query, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::time::local_time;
use crate::org::Caller;
use crate::state::AppState;
use crate::web::{Layout, render};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/supplies", get(list_page).post(create_submit))
        .route("/supplies/{id}", get(item_page))
        .route("/supplies/{id}/{action}", post(action_submit))
        .route("/supplies/loans/{id}/return", post(return_submit))
}

#[derive(Template)]
#[template(path = "supplies/list.html")]
struct ListPage {
    l: Layout,
    list: List,
    places: Vec<(i64, String)>,
    categories: &'static [&'static str],
    form: ItemForm,
    error: Option<String>,
}

impl ListPage {
    fn cat(&self, c: &str) -> &'static str {
        self.l.t.k("supplies.category", c)
    }
    fn warn(&self, w: &str) -> &'static str {
        self.l.t.k("supplies.warning", w)
    }
    fn overdue(&self) -> String {
        self.l
            .t
            .fill("supplies.overdue_loans", &[("n", &self.list.overdue_loans)])
    }
}

#[derive(Deserialize, Default, Clone)]
struct ItemForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    place_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    min_level: String,
}

async fn show_list(
    state: &AppState,
    caller: &Caller,
    form: ItemForm,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let list = service::list(state, caller).await?;
    let places = service::places(state, caller).await?;
    let mut res = render(&ListPage {
        l: Layout::new(Some(caller)),
        list,
        places,
        categories: &CATEGORIES,
        form,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

async fn list_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    show_list(&state, &caller, ItemForm::default(), None, StatusCode::OK).await
}

fn number(s: &str, key: &str) -> AppResult<i64> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(0);
    }
    s.parse::<i64>().map_err(|_| AppError::invalid(key))
}

async fn create_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<ItemForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let made = async {
        let t = Typed {
            place_id: number(&f.place_id, "supplies.err_place")?,
            name: f.name.clone(),
            category: f.category.clone(),
            unit: f.unit.clone(),
            min_level: number(&f.min_level, "supplies.err_min")?,
        };
        service::create(&state, &caller, t).await
    }
    .await;
    match made {
        Ok(i) => Ok(Redirect::to(&format!("/supplies/{}", i.id)).into_response()),
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let msg = e.message(ctx().lang);
            show_list(&state, &caller, f, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "supplies/item.html")]
struct ItemPage {
    l: Layout,
    d: Detail,
    done: Option<String>,
    error: Option<String>,
}

impl ItemPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn cat(&self, c: &str) -> &'static str {
        self.l.t.k("supplies.category", c)
    }
    fn warn(&self, w: &str) -> &'static str {
        self.l.t.k("supplies.warning", w)
    }
    fn kind(&self, k: &str) -> &'static str {
        self.l.t.k("supplies.move", k)
    }
    fn said(&self, k: &str) -> &'static str {
        self.l.t.k("supplies.done", k)
    }
}

#[derive(Deserialize, Default)]
struct ItemQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn show_item(
    state: &AppState,
    caller: &Caller,
    id: i64,
    done: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let d = service::detail(state, caller, id).await?;
    let mut res = render(&ItemPage {
        l: Layout::new(Some(caller)),
        d,
        done: done.filter(|d| {
            [
                "received",
                "lent",
                "returned",
                "counted",
                "discarded",
                "min",
            ]
            .contains(&d.as_str())
        }),
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

async fn item_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<ItemQuery>,
) -> AppResult<Response> {
    show_item(&state, &caller, id, q.done, None, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    expires_on: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    borrower: String,
    #[serde(default)]
    due_on: String,
}

async fn action_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, action)): Path<(i64, String)>,
    ApiForm(f): ApiForm<MoveForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let n = || number(&f.quantity, "supplies.err_qty");
    let done = match action.as_str() {
        "receive" => service::receive(&state, &caller, id, n()?, &f.expires_on, &f.note)
            .await
            .map(|_| "received"),
        "lend" => service::lend(&state, &caller, id, n()?, &f.borrower, &f.due_on)
            .await
            .map(|_| "lent"),
        "count" => service::count(&state, &caller, id, n()?, &f.note)
            .await
            .map(|_| "counted"),
        "discard" => service::discard_expired(&state, &caller, id)
            .await
            .map(|_| "discarded"),
        "min" => service::set_min(&state, &caller, id, n()?)
            .await
            .map(|_| "min"),
        _ => return Err(AppError::not_found()),
    };
    match done {
        Ok(k) => Ok(Redirect::to(&format!("/supplies/{id}?done={k}")).into_response()),
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let msg = e.message(ctx().lang);
            show_item(&state, &caller, id, None, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

async fn return_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(loan): Path<i64>,
    ApiForm(f): ApiForm<MoveForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let n = number(&f.quantity, "supplies.err_qty")?;
    match service::give_back(&state, &caller, loan, n).await {
        Ok(l) => {
            Ok(Redirect::to(&format!("/supplies/{}?done=returned", l.item_id)).into_response())
        }
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let msg = e.message(ctx().lang);
            Err(crate::kernel::AppError::with_message(e.status, e.code, msg))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "supplies/home_card.html")]
struct HomeCard {
    text: String,
    title: &'static str,
}

pub async fn home_cards(
    state: Arc<AppState>,
    caller: Caller,
) -> anyhow::Result<Vec<crate::http::area::Card>> {
    if !caller.reads_registry() || caller.street_id.is_none() {
        return Ok(Vec::new());
    }
    let n = service::attention(&state, &caller)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?;
    if n == 0 {
        return Ok(Vec::new());
    }
    let t = crate::kernel::i18n::Tr(ctx().lang);
    let html = HomeCard {
        text: t.fill("supplies.home_text", &[("n", &n)]),
        title: t.s("supplies.home_title"),
    }
    .render()?;
    Ok(vec![crate::http::area::Card { order: 36, html }])
}
