//! The notices pages: the feed (what I received; for a worker also what she manages), the
//! form that writes a notice, a notice with its receipts per building, a building's list of
//! who has not opened it (with "told in person / on paper"), the A4 poster, and the short link.

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/notices", get(list_page))
        .route(
            "/notices/new",
            get(new_page).post(new_submit).layer(DefaultBodyLimit::max(
                files::MAX_FILES * files::MAX_BYTES + 256 * 1024,
            )),
        )
        .route("/notices/{id}", get(notice_page))
        .route("/notices/{id}/ack", post(ack_submit))
        .route("/notices/{id}/publish", post(publish_submit))
        .route("/notices/{id}/withdraw", post(withdraw_submit))
        .route("/notices/{id}/buildings/{building}", get(building_page))
        .route("/notices/{id}/recipients/{seq}/told", post(told_submit))
        .route("/notices/{id}/print", get(print_page))
        .route("/n/{code}", get(short_link))
        .route("/static/notices.css", get(notices_css))
}

const NOTICES_CSS: &str = include_str!("../../static/notices.css");

async fn notices_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        NOTICES_CSS,
    )
        .into_response()
}

use super::files;
use super::model::{
    Audience, BuildingTotals, Draft, Kind, Notice, Piece, Received, State as NoticeState, Told,
    Unread, When, pieces,
};
use super::service::{self, Opened};
use crate::http::{ApiForm, Path, Query, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::time::local_time;
use crate::org::{Caller, Role};
use crate::state::AppState;
use crate::web::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::sync::Arc;

fn when(ms: &i64) -> String {
    local_time(*ms)
}

// ---- the feed ---------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "notices/list.html")]
pub(crate) struct ListPage {
    l: Layout,
    tab: &'static str,
    received: Vec<Received>,
    managed: Vec<Notice>,
    may_publish: bool,
    now: i64,
    next: Option<i64>,
}

impl ListPage {
    fn when(&self, ms: &i64) -> String {
        when(ms)
    }
    fn state(&self, n: &Notice) -> &'static str {
        self.l.t.s(&format!("notices.state.{}", n.state.as_str()))
    }
    fn audience(&self, n: &Notice) -> String {
        crate::kernel::i18n::pick(&n.audience_label, ctx().lang)
    }
    fn past(&self, n: &Notice) -> bool {
        n.expired(self.now)
    }
    fn acked(&self, n: &Notice) -> String {
        self.l.t.fill("notices.acked_n", &[("n", &n.acknowledged)])
    }
    fn problem(&self, p: &str) -> String {
        crate::kernel::i18n::pick(p, self.l.t.0)
    }
    fn rate(&self, n: &Notice) -> String {
        self.l.t.fill(
            "notices.rate",
            &[
                ("reached", &n.reached),
                ("of", &n.recipients),
                ("pct", &n.reached_pct()),
            ],
        )
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    tab: Option<String>,
    before: Option<i64>,
    done: Option<String>,
}

pub(crate) async fn list_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let may_publish = service::may_publish(&caller);
    let tab = if may_publish && q.tab.as_deref() != Some("received") {
        "managed"
    } else {
        "received"
    };
    let (received, managed) = if tab == "managed" {
        (
            Vec::new(),
            service::managed_list(&state, &caller, q.before).await?,
        )
    } else {
        (service::received(&state, &caller).await?, Vec::new())
    };
    let next = (managed.len() as i64 == service::LIST_LIMIT)
        .then(|| managed.last().map(|n| n.id))
        .flatten();
    let mut l = Layout::new(Some(&caller));
    if let Some(d) = q.done.as_deref().filter(|d| DONE.contains(d)) {
        l.flash = Some(l.t.s(&format!("notices.done.{d}")).to_string());
    }
    Ok(render(&ListPage {
        l,
        tab,
        received,
        managed,
        may_publish,
        now: crate::kernel::time::now_ms(),
        next,
    }))
}

const DONE: [&str; 6] = [
    "published",
    "draft",
    "scheduled",
    "withdrawn",
    "ack",
    "told",
];

// ---- writing a notice -------------------------------------------------------------------------

/// A place offered in the audience picker.
pub(crate) struct Pick {
    id: i64,
    name: String,
    kind: String,
    depth: i64,
}

#[derive(Default)]
pub(crate) struct Typed {
    title: String,
    body: String,
    places: Vec<i64>,
    tags: Vec<String>,
    roles: Vec<String>,
    households: String,
    ack_wanted: bool,
    ack_by: String,
    expires_at: String,
    publish_at: String,
}

#[derive(Template)]
#[template(path = "notices/new.html")]
pub(crate) struct NewPage {
    l: Layout,
    places: Vec<Pick>,
    tags: Vec<(String, String)>,
    roles: Vec<(&'static str, &'static str)>,
    typed: Typed,
    error: Option<String>,
}

impl NewPage {
    fn picked(&self, id: &i64) -> bool {
        self.typed.places.contains(id)
    }
    fn tagged(&self, code: &str) -> bool {
        self.typed.tags.iter().any(|t| t == code)
    }
    fn roled(&self, code: &str) -> bool {
        self.typed.roles.iter().any(|r| r == code)
    }
    fn kind_name(&self, kind: &str) -> &'static str {
        self.l.t.s(&format!("kind.{kind}"))
    }
}

const WORKER_ROLES: [Role; 6] = [
    Role::StreetAdmin,
    Role::CommunityWorker,
    Role::GridWorker,
    Role::DeptHandler,
    Role::PropertyManager,
    Role::Volunteer,
];

async fn show_new(
    state: &AppState,
    caller: &Caller,
    typed: Typed,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    if !service::may_publish(caller) {
        return Err(AppError::forbidden());
    }
    let paths = caller.scope.registry.clone();
    let street = caller.street_id;
    let en = ctx().lang == crate::kernel::i18n::Lang::En;
    let (places, tags) = state
        .db
        .read(move |c| {
            let places = super::store::pickable(c, &paths)?;
            let tags = crate::registry::records::tag_names(c, street, en)?;
            Ok((places, tags))
        })
        .await?;
    let l = Layout::new(Some(caller));
    let roles = WORKER_ROLES
        .iter()
        .map(|r| (r.as_str(), l.t.s(&r.label_key())))
        .collect();
    let mut res = render(&NewPage {
        l,
        places: places
            .into_iter()
            .map(|(id, name, kind, depth)| Pick {
                id,
                name,
                kind,
                depth,
            })
            .collect(),
        tags,
        roles,
        typed,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn new_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    show_new(&state, &caller, Typed::default(), None, StatusCode::OK).await
}

/// A `datetime-local` value (`2026-12-03T09:30`) in the street's zone, as unix ms.
fn local_input(s: &str) -> Result<Option<i64>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .map_err(|_| AppError::invalid("notices.err_time"))?;
    use chrono::TimeZone;
    crate::kernel::time::zone()
        .from_local_datetime(&t)
        .earliest()
        .map(|t| Some(t.timestamp_millis()))
        .ok_or_else(|| AppError::invalid("notices.err_time"))
}

fn households(s: &str) -> Result<Vec<i64>, AppError> {
    s.split(|c: char| c == ',' || c == '，' || c == '、' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<i64>()
                .map_err(|_| AppError::invalid("notices.err_household_number"))
        })
        .collect()
}

pub(crate) async fn new_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    m: axum::extract::Multipart,
) -> AppResult<Response> {
    let (uploads, fields) = super::http::read_files(m).await?;
    let mut typed = Typed::default();
    let (mut csrf, mut action) = (String::new(), String::new());
    for (k, v) in fields {
        match k.as_str() {
            "csrf" => csrf = v,
            "title" => typed.title = v,
            "body" => typed.body = v,
            "place" => {
                if let Ok(id) = v.parse() {
                    typed.places.push(id);
                }
            }
            "tag" => typed.tags.push(v),
            "role" => typed.roles.push(v),
            "households" => typed.households = v,
            "ack_wanted" => typed.ack_wanted = true,
            "ack_by" => typed.ack_by = v,
            "expires_at" => typed.expires_at = v,
            "publish_at" => typed.publish_at = v,
            "action" => action = v,
            _ => {}
        }
    }
    check_csrf(&caller, &csrf)?;
    let draft = (|| -> AppResult<Draft> {
        let publish_at = local_input(&typed.publish_at)?;
        let when = match (action.as_str(), publish_at) {
            ("draft", _) => When::Draft,
            (_, Some(t)) => When::At(t),
            _ => When::Now,
        };
        Ok(Draft {
            title: typed.title.clone(),
            body: typed.body.clone(),
            audience: Audience {
                places: typed.places.clone(),
                tags: typed.tags.clone(),
                households: households(&typed.households)?,
                roles: typed.roles.clone(),
            },
            ack_wanted: typed.ack_wanted,
            ack_by: local_input(&typed.ack_by)?,
            expires_at: local_input(&typed.expires_at)?,
            when,
        })
    })();
    let result = match draft {
        Ok(d) => service::create_with_files(&state, &caller, d, uploads).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(n) => {
            let done = match n.state {
                NoticeState::Published => "published",
                NoticeState::Scheduled => "scheduled",
                _ => "draft",
            };
            Ok(Redirect::to(&format!("/notices/{}?done={done}", n.id)).into_response())
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let msg = e.message(ctx().lang);
            show_new(&state, &caller, typed, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

// ---- one notice -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "notices/notice.html")]
pub(crate) struct NoticePage {
    l: Layout,
    o: Opened,
    body: Vec<Piece>,
    now: i64,
    short: String,
}

impl NoticePage {
    fn n(&self) -> &Notice {
        &self.o.notice
    }
    fn when(&self, ms: &i64) -> String {
        when(ms)
    }
    fn state(&self) -> &'static str {
        self.l
            .t
            .s(&format!("notices.state.{}", self.o.notice.state.as_str()))
    }
    fn audience(&self) -> String {
        crate::kernel::i18n::pick(&self.o.notice.audience_label, ctx().lang)
    }
    fn is_recipient(&self) -> bool {
        self.o.receipt.is_some()
    }
    fn acked_at(&self) -> Option<i64> {
        self.o.receipt.and_then(|r| r.1)
    }
    fn may_ack(&self) -> bool {
        self.n().ack_wanted
            && self.n().state == NoticeState::Published
            && self.is_recipient()
            && self.acked_at().is_none()
    }
    fn is_draft(&self) -> bool {
        matches!(self.n().state, NoticeState::Draft | NoticeState::Scheduled)
    }
    fn is_published(&self) -> bool {
        self.n().state == NoticeState::Published
    }
    fn buildings(&self) -> &[BuildingTotals] {
        self.o.buildings.as_deref().unwrap_or(&[])
    }
    fn follows(&self) -> bool {
        self.o.buildings.is_some()
    }
    /// The totals the caller reads: the notice's when she manages it, her buildings' sums
    /// otherwise.
    fn totals(&self) -> (i64, i64, i64, i64, i64) {
        if self.o.manages {
            let n = self.n();
            (
                n.recipients,
                n.read,
                n.acknowledged,
                n.told,
                n.recipients - n.reached,
            )
        } else {
            self.buildings().iter().fold((0, 0, 0, 0, 0), |t, b| {
                (
                    t.0 + b.recipients,
                    t.1 + b.read,
                    t.2 + b.acknowledged,
                    t.3 + b.told,
                    t.4 + b.unreached,
                )
            })
        }
    }
    fn pct(&self, part: &i64, whole: &i64) -> i64 {
        super::model::pct(*part, *whole)
    }
    fn building_name(&self, b: &BuildingTotals) -> String {
        if b.building_id == 0 {
            let key = if self.n().kind == Kind::Workers {
                "notices.workers_row"
            } else {
                "notices.no_building"
            };
            self.l.t.s(key).to_string()
        } else {
            b.name.clone()
        }
    }
    fn file_size(&self, bytes: &i64) -> String {
        if *bytes >= 1024 * 1024 {
            format!("{:.1} MB", *bytes as f64 / (1024.0 * 1024.0))
        } else {
            format!("{} KB", (*bytes + 1023) / 1024)
        }
    }
    fn ack_deadline(&self) -> String {
        match self.n().ack_by {
            Some(t) => self.l.t.fill("notices.ack_by", &[("when", &local_time(t))]),
            None => String::new(),
        }
    }
    fn expired(&self) -> bool {
        self.n().expired(self.now)
    }
    fn problem(&self, p: &str) -> String {
        crate::kernel::i18n::pick(p, self.l.t.0)
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

pub(crate) async fn notice_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let o = service::open(&state, &caller, id).await?;
    let mut l = Layout::new(Some(&caller));
    if let Some(d) = q.done.as_deref().filter(|d| DONE.contains(d)) {
        l.flash = Some(l.t.s(&format!("notices.done.{d}")).to_string());
    }
    let body = pieces(&o.notice.body);
    let short = short_url(&state, &headers, &o.notice.code);
    Ok(render(&NoticePage {
        l,
        o,
        body,
        now: crate::kernel::time::now_ms(),
        short,
    }))
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// An action's refusal (a conflict, a bad value) shown as a page with its message; anything
/// else as the error it is.
fn back(e: AppError) -> AppResult<Response> {
    if matches!(
        e.status,
        StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY | StatusCode::GONE
    ) {
        Ok(crate::web::error_page(e.status, &e.message(ctx().lang)))
    } else {
        Err(e)
    }
}

pub(crate) async fn ack_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match service::acknowledge(&state, &caller, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/notices/{id}?done=ack")).into_response()),
        Err(e) => back(e),
    }
}

pub(crate) async fn publish_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match service::publish(&state, &caller, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/notices/{id}?done=published")).into_response()),
        Err(e) => back(e),
    }
}

pub(crate) async fn withdraw_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match service::withdraw(&state, &caller, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/notices/{id}?done=withdrawn")).into_response()),
        Err(e) => back(e),
    }
}

// ---- a building's unread list -----------------------------------------------------------------

#[derive(Template)]
#[template(path = "notices/building.html")]
pub(crate) struct BuildingPage {
    l: Layout,
    notice: Notice,
    building: i64,
    name: String,
    unread: Vec<Unread>,
}

impl BuildingPage {
    fn how(&self, u: &Unread) -> String {
        match (&u.told_how, &u.told_by, u.told_at) {
            (Some(how), by, Some(at)) => self.l.t.fill(
                "notices.told_line",
                &[
                    ("how", &self.l.t.s(&format!("notices.told.{how}"))),
                    ("by", &by.clone().unwrap_or_default()),
                    ("when", &local_time(at)),
                ],
            ),
            _ => String::new(),
        }
    }
    fn waiting_line(&self) -> String {
        let n = self.unread.iter().filter(|u| u.told_at.is_none()).count();
        self.l.t.fill("notices.unread_waiting", &[("n", &n)])
    }
}

pub(crate) async fn building_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, building)): Path<(i64, i64)>,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let totals = service::buildings(&state, &caller, id).await?;
    let b = totals
        .iter()
        .find(|b| b.building_id == building)
        .ok_or_else(AppError::not_found)?;
    let unread = service::unread(&state, &caller, id, building).await?;
    let notice = service::open(&state, &caller, id).await?.notice;
    let mut l = Layout::new(Some(&caller));
    if let Some(d) = q.done.as_deref().filter(|d| DONE.contains(d)) {
        l.flash = Some(l.t.s(&format!("notices.done.{d}")).to_string());
    }
    let name = if building == 0 {
        l.t.s(if notice.kind == Kind::Workers {
            "notices.workers_row"
        } else {
            "notices.no_building"
        })
        .to_string()
    } else {
        b.name.clone()
    };
    Ok(render(&BuildingPage {
        l,
        notice,
        building,
        name,
        unread,
    }))
}

#[derive(Deserialize)]
pub(crate) struct ToldForm {
    #[serde(default)]
    csrf: String,
    how: Told,
    #[serde(default)]
    building: i64,
}

pub(crate) async fn told_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, seq)): Path<(i64, i64)>,
    ApiForm(f): ApiForm<ToldForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match service::tell(&state, &caller, id, seq, f.how).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "/notices/{id}/buildings/{}?done=told#r{seq}",
            f.building
        ))
        .into_response()),
        Err(e) => back(e),
    }
}

// ---- the poster and the short link ------------------------------------------------------------

#[derive(Template)]
#[template(path = "notices/print.html")]
pub(crate) struct PrintPage {
    l: Layout,
    notice: Notice,
    body: Vec<Piece>,
    short: String,
    qr: String,
}

impl PrintPage {
    fn when(&self, ms: &i64) -> String {
        when(ms)
    }
}

/// The short link as residents reach it: the configured public address, else the one this
/// request came to.
fn short_url(state: &AppState, headers: &HeaderMap, code: &str) -> String {
    let base = match state.cfg.public_url.as_deref() {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .filter(|h| {
                    h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
                })
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    format!("{base}/n/{code}")
}

pub(crate) async fn print_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let o = service::open(&state, &caller, id).await?;
    if !o.manages || o.notice.kind != Kind::Residents {
        return Err(AppError::not_found());
    }
    let short = short_url(&state, &headers, &o.notice.code);
    let qr = crate::web::qr_svg(&short);
    let body = pieces(&o.notice.body);
    Ok(render(&PrintPage {
        l: Layout::new(Some(&caller)),
        notice: o.notice,
        body,
        short,
        qr,
    }))
}

/// `/n/<code>`: the notice a poster's QR code names (after signing in).
pub(crate) async fn short_link(
    State(state): State<Arc<AppState>>,
    Signed(_caller): Signed,
    Path(code): Path<String>,
) -> AppResult<Response> {
    let id = service::by_code(&state, &code).await?;
    Ok(Redirect::to(&format!("/notices/{id}")).into_response())
}

// ---- the home page's card ---------------------------------------------------------------------

/// The most notices the home page's card lists.
const CARD_ITEMS: usize = 3;

#[derive(Template)]
#[template(path = "notices/card.html")]
pub(crate) struct CardView {
    t: crate::kernel::i18n::Tr,
    received: Vec<Received>,
    unread: i64,
    managed: Vec<Notice>,
    may_publish: bool,
    resident: bool,
}

impl CardView {
    fn when(&self, ms: &i64) -> String {
        when(ms)
    }
    fn unread_line(&self) -> String {
        self.t.fill("notices.card_unread", &[("n", &self.unread)])
    }
    fn rate(&self, n: &Notice) -> String {
        self.t.fill(
            "notices.rate",
            &[
                ("reached", &n.reached),
                ("of", &n.recipients),
                ("pct", &n.reached_pct()),
            ],
        )
    }
}

/// The home page's notices card: the notices she received (unread and current first), and,
/// for a worker who writes notices, how her latest ones are reaching people.
pub async fn cards(
    state: Arc<AppState>,
    caller: Caller,
) -> anyhow::Result<Vec<crate::http::area::Card>> {
    let err = |e: AppError| anyhow::anyhow!("{}", e.key);
    let now = crate::kernel::time::now_ms();
    let mut received = service::received(&state, &caller).await.map_err(err)?;
    let unread = service::unread_count(&state, &caller).await.map_err(err)?;
    received.retain(|r| !r.notice.expired(now) || r.read_at.is_none());
    received.sort_by_key(|r| {
        (
            r.read_at.is_some(),
            !(r.notice.ack_wanted && r.ack_at.is_none()),
            std::cmp::Reverse(r.notice.published_at),
        )
    });
    received.truncate(CARD_ITEMS);
    let may_publish = service::may_publish(&caller);
    let mut managed = if may_publish {
        service::managed_list(&state, &caller, None)
            .await
            .map_err(err)?
    } else {
        Vec::new()
    };
    managed.retain(|n| n.state == NoticeState::Published);
    managed.truncate(CARD_ITEMS);
    let resident = caller.person_id.is_some();
    if received.is_empty() && managed.is_empty() && !may_publish && !resident {
        return Ok(Vec::new());
    }
    let view = CardView {
        t: crate::kernel::i18n::Tr(ctx().lang),
        received,
        unread,
        managed,
        may_publish,
        resident,
    };
    let html = view.render().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(vec![crate::http::area::Card { order: 10, html }])
}
