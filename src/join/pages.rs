//! The join pages: the public page where a resident joins (by herself or with her household's
//! invitation code), and the worker's page of who has joined per building, from which she
//! prints invitation letters (A4, four a page, each with its QR code).
//!
//! The public forms carry a token of their own, set in a cookie for `/join` and echoed in a
//! hidden field (as the sign-in form does), and are limited per client address.

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/join", get(join_page))
        .route("/join/register", post(register_submit))
        .route("/join/code", post(code_submit))
        .route("/join/redeem", post(redeem_submit))
        .route("/join/admin", get(admin_page))
        .route("/join/admin/letters", post(letters_submit))
        .route("/static/join.css", get(join_css))
}

use super::service::{self, BuildingFigures, CodeHousehold, IssueFor, Letter};
use super::store::Spot;
use crate::http::{ApiForm, ClientAddr, Signed, check_csrf};
use crate::http::{Query, blank_as_none};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::Tr;
use crate::org::Caller;
use crate::state::AppState;
use crate::web::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::net::IpAddr;
use std::sync::Arc;

/// The cookie the public join forms' token is kept in.
pub const JOIN_CSRF_COOKIE: &str = "linli_join_csrf";

const JOIN_CSS: &str = include_str!("../../static/join.css");

async fn join_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JOIN_CSS,
    )
        .into_response()
}

/// Sets a fresh form token on a rendered page.
fn with_token(mut res: Response, token: &str, status: StatusCode) -> Response {
    *res.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{JOIN_CSRF_COOKIE}={token}; Path=/join; HttpOnly; SameSite=Strict"
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn token_ok(headers: &HeaderMap, sent: &str) -> bool {
    let kept = crate::http::cookie(headers, JOIN_CSRF_COOKIE).unwrap_or("");
    !kept.is_empty() && crate::kernel::ct_eq(kept.as_bytes(), sent.as_bytes())
}

/// What the self-registration form keeps when it is shown again (never the ID tail or the
/// password).
#[derive(Default)]
pub(crate) struct Typed {
    name: String,
    building_id: Option<i64>,
    room: String,
    address: String,
    username: String,
}

#[derive(Template)]
#[template(path = "join/join.html")]
pub(crate) struct JoinPage {
    l: Layout,
    token: String,
    streets: Vec<(String, Vec<Spot>)>,
    typed: Typed,
    code: String,
    /// Which form the message is about: `code` or `self`.
    about: &'static str,
    error: Option<String>,
}

impl JoinPage {
    fn picked(&self, id: &i64) -> bool {
        self.typed.building_id == Some(*id)
    }
}

async fn show_join(
    state: &AppState,
    typed: Typed,
    code: String,
    about: &'static str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let streets = match service::buildings(state).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let token = crate::org::auth::random_token("");
    let page = JoinPage {
        l: Layout::new(None),
        token: token.clone(),
        streets,
        typed,
        code,
        about,
        error,
    };
    with_token(render(&page), &token, status)
}

#[derive(Deserialize, Default)]
pub(crate) struct JoinQuery {
    code: Option<String>,
}

pub(crate) async fn join_page(
    State(state): State<Arc<AppState>>,
    Query(q): Query<JoinQuery>,
) -> Response {
    let code = q.code.unwrap_or_default().chars().take(40).collect();
    show_join(&state, Typed::default(), code, "", None, StatusCode::OK).await
}

fn message(e: &AppError) -> String {
    e.message(ctx().lang)
}

/// Refuses a public request past the per-minute rate or without the form's token.
fn guard(
    state: &AppState,
    client: IpAddr,
    headers: &HeaderMap,
    token: &str,
) -> Result<(), AppError> {
    super::limit(state, client)?;
    if !token_ok(headers, token) {
        return Err(AppError::csrf());
    }
    Ok(())
}

#[derive(Deserialize)]
pub(crate) struct RegisterForm {
    #[serde(default)]
    join_csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default, deserialize_with = "blank_as_none")]
    building_id: Option<i64>,
    #[serde(default)]
    room: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    id_tail: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

pub(crate) async fn register_submit(
    State(state): State<Arc<AppState>>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiForm(f): ApiForm<RegisterForm>,
) -> Response {
    let typed = Typed {
        name: f.name,
        building_id: f.building_id,
        room: f.room,
        address: f.address,
        username: f.username,
    };
    if let Err(e) = guard(&state, client, &headers, &f.join_csrf) {
        let status = e.status;
        return show_join(
            &state,
            typed,
            String::new(),
            "self",
            Some(message(&e)),
            status,
        )
        .await;
    }
    if f.password != f.password2 {
        let msg = Tr(ctx().lang).s("join.password_mismatch").to_string();
        return show_join(
            &state,
            typed,
            String::new(),
            "self",
            Some(msg),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let r = service::SelfRegistration {
        name: typed.name.clone(),
        id_tail: f.id_tail,
        unit: service::UnitChoice {
            building_id: typed.building_id,
            room: Some(typed.room.clone()).filter(|s| !s.trim().is_empty()),
            address: Some(typed.address.clone()).filter(|s| !s.trim().is_empty()),
        },
        username: typed.username.clone(),
        password: f.password,
    };
    match service::register_self(&state, client, r).await {
        Ok(j) => signed_in_done(&state, &headers, j).await,
        Err(e) => {
            let status = e.status;
            show_join(
                &state,
                typed,
                String::new(),
                "self",
                Some(message(&e)),
                status,
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "join/done.html")]
pub(crate) struct DonePage {
    l: Layout,
    username: String,
}

impl DonePage {
    fn intro(&self) -> String {
        self.l
            .t
            .fill("join.done_intro", &[("username", &self.username)])
    }
}

/// Signs the new account in and shows where to go next.
async fn signed_in_done(state: &AppState, headers: &HeaderMap, j: service::Joined) -> Response {
    let policy = state.session_policy();
    let old = crate::http::cookie(headers, crate::http::SESSION_COOKIE).map(str::to_string);
    let user_id = j.user_id;
    let created = state
        .db
        .write(move |c| {
            if let Some(old) = old {
                crate::org::auth::end_session(c, &old)?;
            }
            crate::org::auth::create_session(c, user_id, &policy)
        })
        .await;
    let token = match created {
        Ok((token, _)) => token,
        Err(e) => return AppError::from(e).into_response(),
    };
    let mut res = render(&DonePage {
        l: Layout::new(None),
        username: j.username,
    });
    *res.status_mut() = StatusCode::CREATED;
    if let Ok(v) = HeaderValue::from_str(&crate::org::pages::session_cookie(state, &token)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("linli_join_csrf=; Path=/join; Max-Age=0"),
    );
    res
}

#[derive(Template)]
#[template(path = "join/choose.html")]
pub(crate) struct ChoosePage {
    l: Layout,
    token: String,
    code: String,
    household: CodeHousehold,
    username: String,
    chosen: Option<i64>,
    error: Option<String>,
}

impl ChoosePage {
    fn until(&self) -> String {
        crate::kernel::time::local_time(self.household.expires_at)
            .chars()
            .take(10)
            .collect()
    }
    fn is_chosen(&self, id: &i64) -> bool {
        self.chosen == Some(*id)
    }
    fn intro(&self) -> String {
        self.l.t.fill(
            "join.choose_intro",
            &[("unit", &self.household.unit), ("date", &self.until())],
        )
    }
}

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    join_csrf: String,
    #[serde(default)]
    code: String,
}

pub(crate) async fn code_submit(
    State(state): State<Arc<AppState>>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiForm(f): ApiForm<CodeForm>,
) -> Response {
    let looked = match guard(&state, client, &headers, &f.join_csrf) {
        Ok(()) => service::look_up_code(&state, client, &f.code).await,
        Err(e) => Err(e),
    };
    match looked {
        Ok(h) => show_choose(h, f.code, String::new(), None, None, StatusCode::OK),
        Err(e) => {
            let status = e.status;
            let code = f.code.chars().take(40).collect();
            show_join(
                &state,
                Typed::default(),
                code,
                "code",
                Some(message(&e)),
                status,
            )
            .await
        }
    }
}

fn show_choose(
    household: CodeHousehold,
    code: String,
    username: String,
    chosen: Option<i64>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let token = crate::org::auth::random_token("");
    let page = ChoosePage {
        l: Layout::new(None),
        token: token.clone(),
        code,
        household,
        username,
        chosen,
        error,
    };
    with_token(render(&page), &token, status)
}

#[derive(Deserialize)]
pub(crate) struct RedeemForm {
    #[serde(default)]
    join_csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default, deserialize_with = "blank_as_none")]
    person_id: Option<i64>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

pub(crate) async fn redeem_submit(
    State(state): State<Arc<AppState>>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiForm(f): ApiForm<RedeemForm>,
) -> Response {
    let result = match guard(&state, client, &headers, &f.join_csrf) {
        Err(e) => Err(e),
        Ok(()) => match f.person_id {
            None => Err(AppError::invalid("join.pick_member")),
            Some(_) if f.password != f.password2 => {
                Err(AppError::invalid("join.password_mismatch"))
            }
            Some(pid) => {
                service::redeem(&state, client, &f.code, pid, &f.username, &f.password).await
            }
        },
    };
    match result {
        Ok(j) => signed_in_done(&state, &headers, j).await,
        Err(e) => {
            let status = e.status;
            let msg = message(&e);
            // A code that still opens its household: the choice is shown again with the
            // message; otherwise back to the join page, which says what to do.
            if status != StatusCode::GONE
                && status != StatusCode::TOO_MANY_REQUESTS
                && e.key != "join.code_unknown"
                && e.key != "error.csrf"
                && let Ok(h) = service::look_up_code(&state, client, &f.code).await
            {
                return show_choose(h, f.code, f.username, f.person_id, Some(msg), status);
            }
            let code = f.code.chars().take(40).collect();
            show_join(&state, Typed::default(), code, "code", Some(msg), status).await
        }
    }
}

// ---- the worker's pages ---------------------------------------------------------------------

#[derive(Template)]
#[template(path = "join/admin.html")]
pub(crate) struct AdminPage {
    l: Layout,
    buildings: Vec<BuildingFigures>,
    totals: (i64, i64, i64, i64),
    days: i64,
    error: Option<String>,
}

pub(crate) async fn admin_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    admin_with(&state, &caller, None, StatusCode::OK).await
}

async fn admin_with(
    state: &AppState,
    caller: &Caller,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let buildings = service::figures(state, caller).await?;
    let totals = buildings.iter().fold((0, 0, 0, 0), |t, b| {
        (
            t.0 + b.households,
            t.1 + b.households_joined,
            t.2 + b.accounts,
            t.3 + b.open_codes,
        )
    });
    let mut res = render(&AdminPage {
        l: Layout::new(Some(caller)),
        buildings,
        totals,
        days: service::DEFAULT_DAYS,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

#[derive(Deserialize)]
pub(crate) struct LettersForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, deserialize_with = "blank_as_none")]
    place_id: Option<i64>,
    #[serde(default, deserialize_with = "blank_as_none")]
    household_id: Option<i64>,
    #[serde(default, deserialize_with = "blank_as_none")]
    days: Option<i64>,
}

/// A letter as printed: the household's, with its QR code.
pub(crate) struct PrintedLetter {
    letter: Letter,
    qr: String,
}

#[derive(Template)]
#[template(path = "join/letters.html")]
pub(crate) struct LettersPage {
    l: Layout,
    url: String,
    sheets: Vec<Vec<PrintedLetter>>,
    count: usize,
    until: String,
}

impl LettersPage {
    fn ready(&self) -> String {
        self.l.t.fill("join.letters_ready", &[("n", &self.count)])
    }
    fn to(&self, p: &PrintedLetter) -> String {
        let unit = match &p.letter.address {
            Some(a) if !a.is_empty() => a.clone(),
            _ => format!("{}{}", p.letter.building, p.letter.unit),
        };
        self.l.t.fill("join.letter_to", &[("unit", &unit)])
    }
    fn rules(&self) -> String {
        self.l.t.fill("join.letter_rules", &[("date", &self.until)])
    }
}

/// Letters on one A4 sheet.
const PER_SHEET: usize = 4;

/// The address of the join page as residents reach it: the configured public address, else
/// the one this request came to.
fn join_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = state.cfg.public_url.as_deref() {
        return format!("{}/join", u.trim_end_matches('/'));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("http://{host}/join")
}

pub use crate::web::qr_svg;

/// Renders the letters of freshly issued codes, four to an A4 sheet.
pub fn letters_page(l: Layout, url: String, letters: Vec<Letter>) -> Response {
    let until = letters
        .first()
        .map(|x| {
            crate::kernel::time::local_time(x.expires_at)
                .chars()
                .take(10)
                .collect()
        })
        .unwrap_or_default();
    let count = letters.len();
    let mut sheets: Vec<Vec<PrintedLetter>> = Vec::with_capacity(count.div_ceil(PER_SHEET));
    for letter in letters {
        let qr = qr_svg(&format!("{url}?code={}", letter.code));
        if sheets.last().is_none_or(|s| s.len() == PER_SHEET) {
            sheets.push(Vec::with_capacity(PER_SHEET));
        }
        if let Some(s) = sheets.last_mut() {
            s.push(PrintedLetter { letter, qr });
        }
    }
    let mut res = render(&LettersPage {
        l,
        url,
        sheets,
        count,
        until,
    });
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub(crate) async fn letters_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    headers: HeaderMap,
    ApiForm(f): ApiForm<LettersForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let target = match (f.place_id, f.household_id) {
        (Some(p), None) => IssueFor::Place(p),
        (None, Some(h)) => IssueFor::Household(h),
        _ => {
            let msg = Tr(ctx().lang).s("join.issue_target").to_string();
            return admin_with(&state, &caller, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    match service::issue(&state, &caller, target, f.days).await {
        Ok(letters) => Ok(letters_page(
            Layout::new(Some(&caller)),
            join_url(&state, &headers),
            letters,
        )),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let msg = message(&e);
            admin_with(&state, &caller, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}
