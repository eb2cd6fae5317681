//! The sheets pages: the caller's sheets, a new sheet (its audience picked from the places
//! notices offer), a sheet (totals per building and overall; her household's entry with the
//! form to change or withdraw it; for the organiser the entries in her scope, the form to
//! correct one with a reason, the corrections kept, and the export), and a home card for a
//! resident with open sheets waiting.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::model::{self, Draft, Item};
use super::service::{self, List, Typed, View};
use crate::http::{ApiForm, Path, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::time::local_time;
use crate::notices::Audience;
use crate::org::Caller;
use crate::state::AppState;
use crate::web::{Layout, render};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/sheets", get(list_page))
        .route("/sheets/new", get(new_page).post(new_submit))
        .route("/sheets/{id}", get(sheet_page))
        .route("/sheets/{id}/entry", post(entry_submit))
        .route("/sheets/{id}/entries/{entry}/correct", post(correct_submit))
        .route("/sheets/{id}/close", post(close_submit))
        .route("/sheets/{id}/export.xlsx", get(export_download))
}

type Form = Vec<(String, String)>;

fn field<'a>(f: &'a Form, name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

#[derive(Template)]
#[template(path = "sheets/list.html")]
struct ListPage {
    l: Layout,
    list: List,
}

impl ListPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
}

async fn list_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let list = service::list(&state, &caller).await?;
    Ok(render(&ListPage {
        l: Layout::new(Some(&caller)),
        list,
    }))
}

/// A place offered in the audience picker.
struct Pick {
    id: i64,
    name: String,
    kind: String,
    depth: i64,
}

#[derive(Template)]
#[template(path = "sheets/new.html")]
struct NewPage {
    l: Layout,
    places: Vec<Pick>,
    form: Form,
    error: Option<String>,
}

impl NewPage {
    fn v(&self, name: &str) -> &str {
        field(&self.form, name)
    }
    fn picked(&self, id: &i64) -> bool {
        let id = id.to_string();
        self.form.iter().any(|(k, v)| k == "place" && *v == id)
    }
    fn kind_name(&self, kind: &str) -> &'static str {
        self.l.t.s(&format!("kind.{kind}"))
    }
}

async fn show_new(
    state: &AppState,
    caller: &Caller,
    form: Form,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let places = service::pickable(state, caller).await?;
    let mut res = render(&NewPage {
        l: Layout::new(Some(caller)),
        places: places
            .into_iter()
            .map(|(id, name, kind, depth)| Pick {
                id,
                name,
                kind,
                depth,
            })
            .collect(),
        form,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

async fn new_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let form = vec![("household_limit".to_string(), "1".to_string())];
    show_new(&state, &caller, form, None, StatusCode::OK).await
}

/// A `datetime-local` value (`2026-12-03T09:30`) in the street's zone, as unix ms.
fn local_input(s: &str) -> AppResult<i64> {
    use chrono::TimeZone;
    let t = chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M")
        .map_err(|_| AppError::invalid("sheets.err_deadline"))?;
    crate::kernel::time::zone()
        .from_local_datetime(&t)
        .earliest()
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| AppError::invalid("sheets.err_deadline"))
}

/// Yuan typed by a person ("45", "45.5", "45.00") as fen.
fn fen(s: &str) -> AppResult<i64> {
    let bad = || AppError::invalid("sheets.err_price");
    let s = s.trim().trim_start_matches(['¥', '￥']);
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || frac.len() > 2 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let w: i64 = whole.parse().map_err(|_| bad())?;
    let f: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    w.checked_mul(100)
        .and_then(|w| w.checked_add(f))
        .ok_or_else(bad)
}

/// Items typed one a line, a price after a bar: "大米 5kg | 45.00".
fn items(s: &str) -> AppResult<Vec<Item>> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(['|', '｜']) {
            Some((name, price)) => Ok(Item {
                name: name.trim().to_string(),
                price_fen: Some(fen(price)?),
            }),
            None => Ok(Item {
                name: l.to_string(),
                price_fen: None,
            }),
        })
        .collect()
}

async fn new_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<Form>,
) -> AppResult<Response> {
    check_csrf(&caller, field(&f, "csrf"))?;
    let made = async {
        let d = Draft {
            title: field(&f, "title").to_string(),
            intro: field(&f, "intro").to_string(),
            items: items(field(&f, "items"))?,
            audience: Audience {
                places: f
                    .iter()
                    .filter(|(k, _)| k == "place")
                    .filter_map(|(_, v)| v.parse().ok())
                    .collect(),
                ..Audience::default()
            },
            deadline_at: local_input(field(&f, "deadline"))?,
            household_limit: field(&f, "household_limit")
                .trim()
                .parse()
                .map_err(|_| AppError::invalid("sheets.err_limit"))?,
        };
        service::create(&state, &caller, d).await
    }
    .await;
    match made {
        Ok(s) => Ok(Redirect::to(&format!("/sheets/{}", s.id)).into_response()),
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let msg = e.message(ctx().lang);
            show_new(&state, &caller, f, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "sheets/sheet.html")]
struct SheetPage {
    l: Layout,
    v: View,
    done: Option<&'static str>,
    error: Option<String>,
}

impl SheetPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn yuan(&self, fen: &i64) -> String {
        model::yuan(*fen)
    }
    fn priced(&self) -> bool {
        self.v.sheet.items.iter().any(|i| i.price_fen.is_some())
    }
    fn q(&self, lines: &[i64], i: &usize) -> i64 {
        lines.get(*i).copied().unwrap_or(0)
    }
    fn mine_of(&self, i: &usize) -> i64 {
        self.v
            .mine
            .as_ref()
            .and_then(|e| e.lines.get(*i).copied())
            .unwrap_or(0)
    }
    fn limit(&self) -> String {
        self.l
            .t
            .fill("sheets.limit_text", &[("n", &self.v.sheet.household_limit)])
    }
    fn audience(&self) -> String {
        crate::kernel::i18n::pick(&self.v.sheet.audience_label, ctx().lang)
    }
    fn done_text(&self, k: &str) -> &'static str {
        self.l.t.k("sheets.done", k)
    }
}

async fn show_sheet(
    state: &AppState,
    caller: &Caller,
    id: i64,
    done: Option<&'static str>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let v = service::view(state, caller, id, ctx().lang).await?;
    let mut res = render(&SheetPage {
        l: Layout::new(Some(caller)),
        v,
        done,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

#[derive(serde::Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn sheet_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    crate::http::Query(q): crate::http::Query<DoneQuery>,
) -> AppResult<Response> {
    let done = match q.done.as_deref() {
        Some("entered") => Some("entered"),
        Some("withdrawn") => Some("withdrawn"),
        Some("corrected") => Some("corrected"),
        Some("closed") => Some("closed"),
        _ => None,
    };
    show_sheet(&state, &caller, id, done, None, StatusCode::OK).await
}

/// Quantities typed in fields `q0`, `q1`, … (empty counts none).
fn lines(f: &Form, n: usize) -> AppResult<Vec<i64>> {
    (0..n)
        .map(|i| {
            let s = field(f, &format!("q{i}")).trim();
            if s.is_empty() {
                Ok(0)
            } else {
                s.parse::<i64>()
                    .map_err(|_| AppError::invalid("sheets.err_quantity"))
            }
        })
        .collect()
}

fn answer(r: AppResult<&'static str>, id: i64) -> Result<Response, AppError> {
    r.map(|k| Redirect::to(&format!("/sheets/{id}?done={k}")).into_response())
}

async fn entry_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<Form>,
) -> AppResult<Response> {
    check_csrf(&caller, field(&f, "csrf"))?;
    let n = f
        .iter()
        .filter(|(k, _)| k.starts_with('q') && k[1..].parse::<usize>().is_ok())
        .count();
    let r = if field(&f, "action") == "withdraw" {
        service::withdraw(&state, &caller, id)
            .await
            .map(|_| "withdrawn")
    } else {
        match lines(&f, n) {
            Ok(lines) => service::enter(
                &state,
                &caller,
                id,
                Typed {
                    lines,
                    note: field(&f, "note").to_string(),
                },
            )
            .await
            .map(|_| "entered"),
            Err(e) => Err(e),
        }
    };
    match answer(r, id) {
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let msg = e.message(ctx().lang);
            show_sheet(&state, &caller, id, None, Some(msg), e.status).await
        }
        other => other,
    }
}

async fn correct_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, entry)): Path<(i64, i64)>,
    ApiForm(f): ApiForm<Form>,
) -> AppResult<Response> {
    check_csrf(&caller, field(&f, "csrf"))?;
    let n = f
        .iter()
        .filter(|(k, _)| k.starts_with('q') && k[1..].parse::<usize>().is_ok())
        .count();
    let r = match lines(&f, n) {
        Ok(lines) => service::correct(
            &state,
            &caller,
            id,
            entry,
            Typed {
                lines,
                note: field(&f, "note").to_string(),
            },
            field(&f, "reason"),
        )
        .await
        .map(|_| "corrected"),
        Err(e) => Err(e),
    };
    match answer(r, id) {
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let msg = e.message(ctx().lang);
            show_sheet(&state, &caller, id, None, Some(msg), e.status).await
        }
        other => other,
    }
}

async fn close_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<Form>,
) -> AppResult<Response> {
    check_csrf(&caller, field(&f, "csrf"))?;
    let r = service::close(&state, &caller, id, field(&f, "reason"))
        .await
        .map(|_| "closed");
    match answer(r, id) {
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let msg = e.message(ctx().lang);
            show_sheet(&state, &caller, id, None, Some(msg), e.status).await
        }
        other => other,
    }
}

async fn export_download(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let bytes = service::export(&state, &caller, id, ctx().lang).await?;
    Ok(crate::http::file_response(
        &format!("sheet-{id}.xlsx"),
        bytes,
    ))
}

#[derive(Template)]
#[template(path = "sheets/home_card.html")]
struct HomeCard {
    text: String,
    title: &'static str,
}

/// A resident's card: the open sheets waiting for her household.
pub async fn home_cards(
    state: Arc<AppState>,
    caller: Caller,
) -> anyhow::Result<Vec<crate::http::area::Card>> {
    let n = service::waiting(&state, &caller)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?;
    if n == 0 {
        return Ok(Vec::new());
    }
    let t = crate::kernel::i18n::Tr(ctx().lang);
    let html = HomeCard {
        text: t.fill("sheets.home_text", &[("n", &n)]),
        title: t.s("sheets.home_title"),
    }
    .render()?;
    Ok(vec![crate::http::area::Card { order: 38, html }])
}
