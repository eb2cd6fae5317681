//! Reach's pages: an account's own channels and quiet hours; the street's outbox (state,
//! tries, last error) for its administrators; the one-tap link's landing page (no sign-in);
//! and the home card that tells a sender her messages failed.

pub mod contacts;
pub mod street;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .merge(street::router())
        .merge(contacts::router())
        .route("/reach/me", get(me_page).post(me_submit))
        .route("/reach/outbox", get(outbox_page))
        .route("/reach/outbox/{id}/retry", post(retry_submit))
        .route("/reach/t/{token}", get(tap_page).post(tap_submit))
        .route("/reach/sw.js", get(service_worker))
        .route("/static/reach.js", get(page_js))
        .route("/reach/push/test", post(push_test_submit))
        .route("/reach/push/{id}/remove", post(push_remove_submit))
}

/// The service worker and the settings page's script, compiled into the binary.
const SW_JS: &str = include_str!("../../static/reach-sw.js");
const PAGE_JS: &str = include_str!("../../static/reach.js");

/// Served under /reach/ but registered for the whole site (`Service-Worker-Allowed: /`), so a
/// tap on a notification opens any of linli's pages in the app's window; never cached long,
/// so that a new version reaches browsers at their next visit.
async fn service_worker() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
            (
                axum::http::HeaderName::from_static("service-worker-allowed"),
                "/",
            ),
        ],
        SW_JS,
    )
}

async fn page_js() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        PAGE_JS,
    )
}

use super::chains::Tap;
use super::devices::Device;
use super::model::Channel;
use super::outbox::Delivery;
use super::service::{self, MineUpdate};
use super::settings::Mine;
use crate::http::{ApiForm, MaybeSigned, Path, Query, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::time::local_time;
use crate::org::Caller;
use crate::state::AppState;
use crate::web::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::sync::Arc;

// ---- my channels ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "reach/me.html")]
pub(crate) struct MePage {
    l: Layout,
    mine: Mine,
    devices: Vec<Device>,
    failed: Vec<Delivery>,
    error: Option<String>,
}

impl MePage {
    fn masked(&self, ch: &str) -> String {
        self.mine
            .addresses
            .iter()
            .find(|a| a.channel.as_str() == ch)
            .map(|a| a.masked.clone())
            .unwrap_or_default()
    }
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn channel(&self, c: &Channel) -> &'static str {
        self.l.t.s(&format!("reach.channel.{}", c.as_str()))
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct DoneQuery {
    done: Option<String>,
    state: Option<String>,
}

pub(crate) async fn me_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let mut l = Layout::new(Some(&caller));
    match q.done.as_deref() {
        Some("saved") => l.flash = Some(l.t.s("reach.saved").to_string()),
        Some("push_test") => l.flash = Some(l.t.s("reach.push_tested").to_string()),
        Some("push_removed") => l.flash = Some(l.t.s("reach.push_removed_flash").to_string()),
        _ => {}
    }
    Ok(render(&MePage {
        mine: service::mine(&state, &caller).await?,
        devices: super::devices::mine(&state, &caller).await?,
        failed: service::my_failed(&state, &caller).await?,
        l,
        error: None,
    }))
}

#[derive(Deserialize)]
pub(crate) struct MeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    sms: String,
    #[serde(default)]
    quiet_from: String,
    #[serde(default)]
    quiet_to: String,
    #[serde(default)]
    lang: String,
}

pub(crate) async fn me_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<MeForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    // An address field left as its masked form keeps the stored address.
    let mine = service::mine(&state, &caller).await?;
    let keep = |ch: Channel, v: String| {
        let masked = mine
            .addresses
            .iter()
            .find(|a| a.channel == ch)
            .map(|a| a.masked.clone());
        if masked.as_deref() == Some(v.trim()) {
            None
        } else {
            Some(v)
        }
    };
    let u = MineUpdate {
        email: keep(Channel::Email, f.email),
        sms: keep(Channel::Sms, f.sms),
        quiet_from: Some(f.quiet_from),
        quiet_to: Some(f.quiet_to),
        lang: Some(if f.lang.is_empty() {
            "zh".into()
        } else {
            f.lang
        }),
    };
    match service::set_mine(&state, &caller, u).await {
        Ok(_) => Ok(Redirect::to("/reach/me?done=saved").into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let l = Layout::new(Some(&caller));
            let mut res = render(&MePage {
                mine,
                devices: super::devices::mine(&state, &caller).await?,
                failed: service::my_failed(&state, &caller).await?,
                error: Some(e.message(ctx().lang)),
                l,
            });
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(e),
    }
}

/// Sends a test message to the caller's browsers; with none, the page says so.
pub(crate) async fn push_test_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<CsrfOnly>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match super::devices::test(&state, &caller).await {
        Ok(_) => Ok(Redirect::to("/reach/me?done=push_test").into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let l = Layout::new(Some(&caller));
            let mut res = render(&MePage {
                mine: service::mine(&state, &caller).await?,
                devices: super::devices::mine(&state, &caller).await?,
                failed: service::my_failed(&state, &caller).await?,
                error: Some(e.message(ctx().lang)),
                l,
            });
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(e),
    }
}

/// Removes one of the caller's browsers from the list (the browser itself may still hold the
/// subscription: the push service then answers 410 and nothing more is sent).
pub(crate) async fn push_remove_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfOnly>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    super::devices::unsubscribe(&state, &caller, id).await?;
    Ok(Redirect::to("/reach/me?done=push_removed").into_response())
}

// ---- the street's outbox --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "reach/outbox.html")]
pub(crate) struct OutboxPage {
    l: Layout,
    list: Vec<Delivery>,
    counts: Vec<(String, i64)>,
    filter: String,
}

impl OutboxPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn channel(&self, c: &Channel) -> &'static str {
        self.l.t.s(&format!("reach.channel.{}", c.as_str()))
    }
    fn state_word(&self, s: &str) -> &'static str {
        self.l.t.s(&format!("reach.state.{s}"))
    }
}

pub(crate) async fn outbox_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let filter = q.state.filter(|s| !s.is_empty());
    let list = service::outbox_list(&state, &caller, filter.clone(), None).await?;
    let counts = service::counts(&state, &caller).await?;
    let mut l = Layout::new(Some(&caller));
    if q.done.as_deref() == Some("retry") {
        l.flash = Some(l.t.s("reach.retried").to_string());
    }
    Ok(render(&OutboxPage {
        l,
        list,
        counts,
        filter: filter.unwrap_or_default(),
    }))
}

#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn retry_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfOnly>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::retry(&state, &caller, id).await?;
    Ok(Redirect::to("/reach/outbox?done=retry").into_response())
}

// ---- the one-tap link -----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "reach/tap.html")]
pub(crate) struct TapPage {
    l: Layout,
    token: String,
    /// open, used, answered_before, expired, forged, answered
    state: &'static str,
    message: String,
    what: String,
    place: String,
}

fn tap_page_of(caller: Option<&Caller>, token: String, t: &Tap) -> TapPage {
    let (state, message) = super::http::tap_words(t);
    let (what, place) = match t {
        Tap::Open { what, place } => (crate::kernel::i18n::pick(what, ctx().lang), place.clone()),
        _ => (String::new(), String::new()),
    };
    TapPage {
        l: Layout::new(caller),
        token,
        state,
        message,
        what,
        place,
    }
}

fn tap_status(state: &str) -> StatusCode {
    match state {
        "forged" => StatusCode::FORBIDDEN,
        "expired" => StatusCode::GONE,
        "used" | "answered_before" => StatusCode::CONFLICT,
        _ => StatusCode::OK,
    }
}

pub(crate) async fn tap_page(
    State(state): State<Arc<AppState>>,
    MaybeSigned(caller): MaybeSigned,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let t = service::look(&state, token.clone()).await?;
    let page = tap_page_of(caller.as_ref(), token, &t);
    let mut res = render(&page);
    *res.status_mut() = tap_status(page.state);
    Ok(res)
}

#[derive(Deserialize)]
pub(crate) struct TapForm {
    #[serde(default)]
    answer: String,
}

/// The answer: no sign-in and no session token, since the signed single-use link is the
/// whole authority (a family member has no account).
pub(crate) async fn tap_submit(
    State(state): State<Arc<AppState>>,
    MaybeSigned(caller): MaybeSigned,
    Path(token): Path<String>,
    ApiForm(f): ApiForm<TapForm>,
) -> AppResult<Response> {
    if !matches!(f.answer.as_str(), "on_it" | "fine") {
        return Err(AppError::invalid("reach.err.answer"));
    }
    match service::answer(&state, token.clone(), f.answer).await? {
        Ok(done) => {
            let mut page = tap_page_of(caller.as_ref(), token, &Tap::Forged);
            page.state = "answered";
            page.message = page.l.t.fill(
                "reach.tap.thanks",
                &[(
                    "answer",
                    &page.l.t.s(&format!("reach.answer.{}", done.answer)),
                )],
            );
            Ok(render(&page))
        }
        Err(t) => {
            let page = tap_page_of(caller.as_ref(), token, &t);
            let mut res = render(&page);
            *res.status_mut() = tap_status(page.state);
            Ok(res)
        }
    }
}

// ---- the home card --------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "reach/card.html")]
pub(crate) struct CardView {
    t: crate::kernel::i18n::Tr,
    failed: usize,
}

impl CardView {
    fn line(&self) -> String {
        self.t.fill("reach.card_failed", &[("n", &self.failed)])
    }
}

/// Tells a sender on her home page that messages she sent could not be delivered.
pub async fn cards(
    state: Arc<AppState>,
    caller: Caller,
) -> anyhow::Result<Vec<crate::http::area::Card>> {
    let failed = service::my_failed(&state, &caller)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?
        .len();
    if failed == 0 {
        return Ok(Vec::new());
    }
    let view = CardView {
        t: crate::kernel::i18n::Tr(ctx().lang),
        failed,
    };
    let html = view.render().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(vec![crate::http::area::Card { order: 5, html }])
}
