//! Server-rendered pages: one template struct per page, checked at compile time.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::http::{Path, Query};
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::map;
use crate::http::AppState;
use crate::http::{
    ApiForm, LANG_COOKIE, LOGIN_CSRF_COOKIE, MaybeSigned, SESSION_COOKIE, Signed, check_csrf,
};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::{Lang, Tr};
use crate::org::places::{self, Place, PlaceSummary};
use crate::org::{Caller, Grant, Role, login, users};
use crate::registry::households::{self, Figures, Household, HouseholdBrief};

/// What the layout needs on every page.
pub struct Layout {
    pub t: Tr,
    pub lang: &'static str,
    pub html_lang: &'static str,
    pub here: String,
    pub user: Option<NavUser>,
    pub csrf: String,
    pub flash: Option<String>,
}

pub struct NavUser {
    pub name: String,
    pub role_key: String,
    /// The main navigation entries this user sees: (href, id, label key).
    pub links: Vec<(&'static str, &'static str, &'static str)>,
}

impl Layout {
    pub fn new(caller: Option<&Caller>) -> Layout {
        let c = ctx();
        Layout {
            t: Tr(c.lang),
            lang: c.lang.code(),
            html_lang: c.lang.html_lang(),
            here: form_urlencoded::byte_serialize(c.path.as_bytes()).collect(),
            user: caller.map(|c| NavUser {
                name: c.display_name.clone(),
                role_key: c.primary_role().label_key(),
                links: super::nav()
                    .iter()
                    .filter(|n| (n.shown)(c))
                    .map(|n| (n.href, n.id, n.label))
                    .collect(),
            }),
            csrf: caller.and_then(|c| c.csrf.clone()).unwrap_or_default(),
            flash: None,
        }
    }
}

pub(crate) fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => AppError::internal("rendering a page", e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    l: Layout,
    status: u16,
    message: String,
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    let page = ErrorPage {
        l: Layout::new(None),
        status: status.as_u16(),
        message: message.to_string(),
    };
    let mut res = render(&page);
    *res.status_mut() = status;
    res
}

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .merge(super::records::router())
        .route("/", get(home))
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(switch_lang))
        .route("/places", get(places_index))
        .route("/places/{id}", get(place_page))
        .route("/households/{id}", get(household_page))
        .route("/persons", get(persons_page))
        .route("/persons/{id}", get(person_page))
        .route("/persons/{id}/edit", post(person_edit))
        .route("/persons/{id}/reveal", post(reveal_page))
        .route("/me/access-log", get(access_log_page))
        .route("/me/data", get(my_data_download))
        .route("/me/corrections", post(correction_create))
        .route("/corrections/{id}", post(correction_close))
        .route("/notices/{id}/read", post(notice_read))
        .route(
            "/imports",
            get(imports_page)
                .post(import_upload)
                .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024)),
        )
        .route("/imports/jobs/{id}", get(import_job_page))
        .route("/imports/jobs/{id}/progress", get(import_job_progress))
        .route("/imports/jobs/{id}/refused.xlsx", get(import_job_refused))
        .route("/exports", get(exports_page).post(export_create))
        .route("/exports/{id}/decision", post(export_decide))
        .route("/exports/{id}/download", get(export_download))
        .route("/admin/users", get(users_page).post(user_create))
        .route("/admin/users/{id}", get(user_page))
        .route("/admin/users/{id}/grants", post(grant_add))
        .route("/admin/users/{id}/grants/{gid}/delete", post(grant_remove))
        .route("/admin/users/{id}/password", post(user_password))
        .route("/admin/users/{id}/active", post(user_active))
}

// ---------------------------------------------------------------- sign-in

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    l: Layout,
    next: String,
    username: String,
    error: Option<String>,
    login_csrf: String,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only same-site relative targets are followed after sign-in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

fn login_page(
    next: String,
    username: String,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let token = crate::org::auth::random_token("");
    let page = LoginPage {
        l: Layout::new(None),
        next,
        username,
        error,
        login_csrf: token.clone(),
    };
    let mut res = render(&page);
    *res.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict"
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn login_form(MaybeSigned(caller): MaybeSigned, Query(q): Query<NextQuery>) -> Response {
    if caller.is_some() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    login_page(
        safe_next(q.next.as_deref()),
        String::new(),
        None,
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    login_csrf: String,
}

fn session_cookie(state: &AppState, token: &str) -> String {
    let secure = if state.cfg.tls() { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        state.cfg.session_max_hours * 3600
    )
}

async fn login_submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiForm(f): ApiForm<LoginForm>,
) -> Response {
    let t = Tr(ctx().lang);
    let next = safe_next(f.next.as_deref());
    let cookie_token = crate::http::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if cookie_token.is_empty() || cookie_token != f.login_csrf {
        return login_page(
            next,
            f.username,
            Some(t.s("error.csrf").into()),
            StatusCode::FORBIDDEN,
        );
    }
    if state.login_limiter.check_key(&addr.ip()).is_err() {
        return login_page(
            next,
            f.username,
            Some(t.s("error.rate_limited").into()),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    if f.username.trim().is_empty() || f.password.is_empty() {
        return login_page(
            next,
            f.username,
            Some(t.s("login.missing").into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let outcome = login::check(
        &state.db,
        &f.username,
        &f.password,
        state.cfg.login_max_failures,
        state.cfg.login_lockout_minutes,
    )
    .await;
    let user_id = match outcome {
        Ok(login::LoginOutcome::Ok { user_id }) => user_id,
        Ok(login::LoginOutcome::BadCredentials) => {
            return login_page(
                next,
                f.username,
                Some(t.s("login.bad").into()),
                StatusCode::UNAUTHORIZED,
            );
        }
        Ok(login::LoginOutcome::Locked { minutes }) => {
            return login_page(
                next,
                f.username,
                Some(t.n("login.locked", minutes)),
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
        Ok(login::LoginOutcome::Inactive) => {
            return login_page(
                next,
                f.username,
                Some(t.s("login.inactive").into()),
                StatusCode::FORBIDDEN,
            );
        }
        Err(e) => return AppError::from(e).into_response(),
    };
    let policy = state.session_policy();
    // A fresh session id at every login (no fixation); an old cookie's session ends.
    let old = crate::http::cookie(&headers, SESSION_COOKIE).map(str::to_string);
    let created = state
        .db
        .write(move |c| {
            if let Some(old) = old {
                crate::org::auth::end_session(c, &old)?;
            }
            crate::org::auth::create_session(c, user_id, &policy)
        })
        .await;
    match created {
        Ok((token, _csrf)) => {
            let mut res = Redirect::to(&next).into_response();
            if let Ok(v) = HeaderValue::from_str(&session_cookie(&state, &token)) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_static("linli_login_csrf=; Path=/login; Max-Age=0"),
            );
            res
        }
        Err(e) => AppError::from(e).into_response(),
    }
}

/// Logs a sign-in attempt: success, failure, lockout or a deactivated account.
pub async fn audit_login(
    state: &AppState,
    username: &str,
    outcome: &Result<login::LoginOutcome, crate::store::StoreError>,
) -> AppResult<()> {
    use crate::audit::{Action, NewEntry};
    let name: String = username
        .trim()
        .to_ascii_lowercase()
        .chars()
        .take(64)
        .collect();
    let entry = match outcome {
        Ok(login::LoginOutcome::Ok { user_id }) => {
            let mut e = NewEntry::anonymous(Action::Login, &name);
            e.actor_id = Some(*user_id);
            e
        }
        Ok(login::LoginOutcome::BadCredentials) => NewEntry::anonymous(Action::LoginFailed, &name),
        Ok(login::LoginOutcome::Locked { .. }) => {
            NewEntry::anonymous(Action::LoginFailed, &name).purpose("locked")
        }
        Ok(login::LoginOutcome::Inactive) => {
            NewEntry::anonymous(Action::LoginFailed, &name).purpose("inactive")
        }
        Err(_) => return Ok(()),
    };
    state.audit.record(entry).await?;
    Ok(())
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    headers: HeaderMap,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    if let Some(token) = crate::http::cookie(&headers, SESSION_COOKIE).map(str::to_string) {
        state
            .db
            .write(move |c| crate::org::auth::end_session(c, &token))
            .await?;
    }
    state.callers.clear();
    state
        .audit
        .record(crate::audit::NewEntry::by(
            &caller,
            crate::audit::Action::Logout,
        ))
        .await?;
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("linli_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(res)
}

async fn switch_lang(Path(code): Path<String>, Query(q): Query<NextQuery>) -> Response {
    let lang = Lang::parse(&code).unwrap_or_default();
    let mut res = Redirect::to(&safe_next(q.next.as_deref())).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        lang.code()
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

// ---------------------------------------------------------------- home

struct GrantView {
    role_key: String,
    place: Option<String>,
    org: Option<String>,
}

fn grant_views(grants: &[Grant]) -> Vec<GrantView> {
    grants
        .iter()
        .map(|g| GrantView {
            role_key: g.role.label_key(),
            place: g.place.as_ref().map(|p| p.name.clone()),
            org: g.org.as_ref().map(|o| o.name.clone()),
        })
        .collect()
}

struct AreaView {
    place: Place,
    figures: Figures,
    kinds: Vec<(String, i64)>,
    map: Option<String>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    l: Layout,
    role: &'static str,
    grants: Vec<GrantView>,
    areas: Vec<AreaView>,
    served: Vec<Place>,
    household: Option<Household>,
    helpers: Vec<String>,
    notices: Vec<crate::audit::anomaly::Notice>,
    corrections: Vec<crate::registry::corrections::Correction>,
    /// For callers of a street (cases belong to one).
    cases: Option<CasesCard>,
}

/// The home page's cases: for workers, the open and late cases they see and their unread
/// messages, each a link to its queue; for residents, reporting and their latest reports.
struct CasesCard {
    worker: bool,
    open: i64,
    late: i64,
    unread: i64,
    /// A resident's own open reports and those waiting for their rating, late first (at most
    /// [`HOME_REPORTS`]).
    recent: Vec<crate::cases::pages::Row>,
}

/// A resident's open reports the home page lists.
const HOME_REPORTS: i64 = 3;

impl CasesCard {
    fn read(
        c: &mut dyn crate::store::Conn,
        caller: &Caller,
        lang: crate::kernel::i18n::Lang,
    ) -> Result<Option<CasesCard>, crate::cases::CaseError> {
        use crate::cases::{Filter, Viewer};
        if caller.street_id.is_none() {
            return Ok(None);
        }
        let viewer = Viewer::of(caller);
        let worker = viewer.is_worker();
        let now = crate::store::now_ms();
        let open = Filter {
            state: Some("open".into()),
            mine: (!worker).then_some(true),
            ..Filter::default()
        };
        let late = Filter {
            late: Some(true),
            ..open.clone()
        };
        let recent = if worker {
            Vec::new()
        } else {
            // Open reports, and closed ones still waiting for the reporter's rating.
            let mine = Filter {
                state: Some("open,closed".into()),
                limit: Some(HOME_REPORTS),
                ..open.clone()
            };
            let cases = crate::cases::list(c, &viewer, &mine, now)?;
            crate::cases::pages::rows(&cases, crate::kernel::i18n::Tr(lang), caller.user_id)
        };
        Ok(Some(CasesCard {
            worker,
            open: crate::cases::count(c, &viewer, &open, now)?,
            late: crate::cases::count(c, &viewer, &late, now)?,
            unread: crate::cases::notify::unread(c, caller.user_id)?,
            recent,
        }))
    }
}

async fn home(State(state): State<Arc<AppState>>, Signed(caller): Signed) -> AppResult<Response> {
    let role = caller.primary_role();
    let c2 = caller.clone();
    let lang = ctx().lang;
    let (areas, served, household, helpers, notices, corrections, cases) = state
        .db
        .read(move |c| {
            let mut areas = Vec::new();
            let mut served = Vec::new();
            let mut helpers = Vec::new();
            for g in &c2.grants {
                if g.role.reads_registry()
                    && let Some(pr) = &g.place
                    && let Some(place) = places::by_path(c, &pr.path)?
                {
                    let figures = households::figures(c, &place.path)?;
                    let mut kinds = places::kind_counts(c, &place.path)?;
                    kinds.retain(|(k, _)| k != &place.kind);
                    kinds.sort_by_key(|(k, _)| kind_order(k));
                    let map = area_map(c, &place)?;
                    areas.push(AreaView {
                        place,
                        figures,
                        kinds,
                        map,
                    });
                }
                if let Some(o) = &g.org {
                    for p in &o.serves {
                        if let Some(pl) = places::by_path(c, p)? {
                            served.push(pl);
                        }
                    }
                }
                if g.role == Role::Volunteer
                    && let Some(pr) = &g.place
                {
                    helpers.extend(workers_for(c, &pr.path)?);
                }
            }
            let household = match c2.scope.own_household {
                Some(h) => households::get(c, &c2.scope, h)?,
                None => None,
            };
            if let Some(h) = &household {
                helpers.extend(workers_for(c, &h.unit_path)?);
            }
            let notices = match notice_streets(&c2) {
                Some(streets) => crate::audit::anomaly::notices(c, streets.as_deref(), 20)?,
                None => Vec::new(),
            };
            let corrections = crate::registry::corrections::in_scope(c, &c2.scope.registry, true)?;
            // Its errors are the cases module's, answered after the read.
            let cases = CasesCard::read(c, &c2, lang);
            Ok((
                areas,
                served,
                household,
                helpers,
                notices,
                corrections,
                cases,
            ))
        })
        .await?;
    let cases = cases?;
    crate::registry::access::listed_people(
        &state,
        &caller,
        corrections.iter().map(|r| r.person_id),
    )
    .await?;
    Ok(render(&HomePage {
        l: Layout::new(Some(&caller)),
        role: role.as_str(),
        grants: grant_views(&caller.grants),
        areas,
        served,
        household,
        helpers,
        notices,
        corrections,
        cases,
    }))
}

fn kind_order(k: &str) -> usize {
    [
        "district",
        "street",
        "community",
        "grid",
        "building",
        "unit",
    ]
    .iter()
    .position(|x| *x == k)
    .unwrap_or(9)
}

/// The grid and community workers responsible for a place: whom a resident can turn to.
fn workers_for(c: &mut dyn crate::store::Conn, path: &str) -> crate::store::Result<Vec<String>> {
    let parts: Vec<&str> = path.split('/').collect();
    let mut out = Vec::new();
    for i in (1..=parts.len()).rev() {
        let prefix = parts[..i].join("/");
        let rows = c.query(
            "SELECT u.display_name, r.role FROM user_roles r JOIN users u ON u.id = r.user_id \
             JOIN places p ON p.id = r.place_id WHERE p.path = $1 AND r.role IN ('grid_worker', 'community_worker') \
             AND u.active = 1 ORDER BY r.role DESC, u.display_name",
            crate::params![prefix],
        )?;
        for r in rows {
            let label = format!(
                "{} · {}",
                r.str(0),
                Tr(ctx().lang).s(&format!("role.{}", r.str(1)))
            );
            if !out.contains(&label) {
                out.push(label);
            }
        }
    }
    Ok(out)
}

/// The map of a community (its grids) or grid (its boundary and buildings).
fn area_map(c: &mut dyn crate::store::Conn, place: &Place) -> crate::store::Result<Option<String>> {
    let kids = places::children_full(c, place.id)?;
    let (areas, spots): (Vec<map::Area>, Vec<map::Spot>) = match place.kind.as_str() {
        "grid" => (
            place
                .geojson
                .iter()
                .map(|g| map::Area {
                    label: place.name.clone(),
                    href: None,
                    geojson: g.clone(),
                    highlight: true,
                })
                .collect(),
            kids.iter()
                .filter_map(|b| {
                    Some(map::Spot {
                        label: b.name.clone(),
                        href: Some(format!("/places/{}", b.id)),
                        geojson: b.geojson.clone()?,
                        class: map::BUILDING,
                    })
                })
                .collect(),
        ),
        "street" | "community" | "district" => (
            kids.iter()
                .filter_map(|k| {
                    Some(map::Area {
                        label: k.name.clone(),
                        href: Some(format!("/places/{}", k.id)),
                        geojson: k.geojson.clone()?,
                        highlight: false,
                    })
                })
                .collect(),
            Vec::new(),
        ),
        _ => (Vec::new(), Vec::new()),
    };
    Ok(map::render(&areas, &spots, &place.name))
}

// ---------------------------------------------------------------- hierarchy browser

#[derive(Template)]
#[template(path = "places.html")]
struct PlacesPage {
    l: Layout,
    roots: Vec<PlaceSummary>,
}

async fn places_index(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    if !caller.can_browse() {
        return Err(AppError::forbidden());
    }
    let scope = caller.scope.places.clone();
    let roots = state
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for p in places::roots(c, &scope)? {
                let (households, residents) = places::counts_under(c, &p.path)?;
                out.push(PlaceSummary {
                    id: p.id,
                    kind: p.kind,
                    code: p.code,
                    name: p.name,
                    path: p.path,
                    households,
                    residents,
                });
            }
            Ok(out)
        })
        .await?;
    if roots.len() == 1 {
        return Ok(Redirect::to(&format!("/places/{}", roots[0].id)).into_response());
    }
    Ok(render(&PlacesPage {
        l: Layout::new(Some(&caller)),
        roots,
    }))
}

struct FloorRow {
    floor: i64,
    units: Vec<Place>,
}

#[derive(Template)]
#[template(path = "place.html")]
struct PlacePage {
    l: Layout,
    place: Place,
    crumbs: Vec<Place>,
    children: Vec<PlaceSummary>,
    households_here: i64,
    residents_here: i64,
    map: Option<String>,
    floors: Vec<FloorRow>,
    households: Vec<HouseholdBrief>,
    can_read_registry: bool,
    orgs: Vec<places::Organisation>,
}

async fn place_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    if !caller.can_browse() {
        return Err(AppError::forbidden());
    }
    let scope = caller.scope.clone();
    let page = state
        .db
        .read(move |c| {
            let Some(place) = places::get(c, &scope.places, id)? else {
                return Ok(None);
            };
            let crumbs = places::ancestors(c, &scope.places, &place)?;
            let children = if place.kind == "building" {
                Vec::new()
            } else {
                places::children(c, &place)?
            };
            let (households_here, residents_here) = places::counts_under(c, &place.path)?;
            let map = area_map(c, &place)?;
            let mut floors: Vec<FloorRow> = Vec::new();
            if place.kind == "building" {
                let units = places::children_full(c, place.id)?;
                for u in units {
                    let f = u.floor_no.unwrap_or(0);
                    match floors.iter_mut().find(|r| r.floor == f) {
                        Some(r) => r.units.push(u),
                        None => floors.push(FloorRow {
                            floor: f,
                            units: vec![u],
                        }),
                    }
                }
                floors.sort_by_key(|r| std::cmp::Reverse(r.floor));
            }
            let can_read = crate::org::Scope::covers(&scope.registry, &place.path);
            let households = if place.kind == "unit" && can_read {
                households::in_unit(c, &scope, place.id)?
            } else {
                Vec::new()
            };
            let orgs = places::orgs_serving(c, &place.path)?;
            Ok(Some(PlacePage {
                l: Layout::new(None),
                place,
                crumbs,
                children,
                households_here,
                residents_here,
                map,
                floors,
                households,
                can_read_registry: can_read,
                orgs,
            }))
        })
        .await?;
    let Some(mut page) = page else {
        return Err(AppError::not_found());
    };
    crate::registry::access::unit_households(&state, &caller, &page.households).await?;
    page.l = Layout::new(Some(&caller));
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "household.html")]
struct HouseholdPage {
    l: Layout,
    h: Household,
    can_reveal: bool,
    purposes: &'static [&'static str],
    /// A value just revealed: (person, field, value).
    revealed: Option<(i64, &'static str, String)>,
    error: Option<String>,
}

impl HouseholdPage {
    fn shown(&self, person: &i64, field: &str) -> Option<&str> {
        match &self.revealed {
            Some((p, f, v)) if p == person && *f == field => Some(v.as_str()),
            _ => None,
        }
    }
}

async fn household_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let h = crate::registry::access::household(&state, &caller, id).await?;
    Ok(render(&HouseholdPage {
        l: Layout::new(Some(&caller)),
        h,
        can_reveal: caller.reads_registry(),
        purposes: &crate::registry::access::PURPOSES,
        revealed: None,
        error: None,
    }))
}

#[derive(Deserialize)]
struct RevealForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    note: String,
    household: i64,
}

async fn reveal_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(person): Path<i64>,
    ApiForm(f): ApiForm<RevealForm>,
) -> AppResult<Response> {
    use crate::registry::access::{self, Field};
    check_csrf(&caller, &f.csrf)?;
    let field = match f.field.as_str() {
        "id_number" => Field::IdNumber,
        "phone" => Field::Phone,
        _ => return Err(AppError::bad_request("error.bad_form")),
    };
    let h = access::household(&state, &caller, f.household).await?;
    if !h.members.iter().any(|m| m.id == person) {
        return Err(AppError::not_found());
    }
    let (revealed, error, status) =
        match access::reveal(&state, &caller, person, field, &f.purpose, &f.note).await {
            Ok(v) => (Some((person, field.as_str(), v)), None, StatusCode::OK),
            Err(e) if e.status.is_client_error() => (None, Some(e.message(ctx().lang)), e.status),
            Err(e) => return Err(e),
        };
    let mut res = render(&HouseholdPage {
        l: Layout::new(Some(&caller)),
        h,
        can_reveal: true,
        purposes: &access::PURPOSES,
        revealed,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

// ---------------------------------------------------------------- residents' own data

#[derive(Template)]
#[template(path = "access_log.html")]
struct AccessLogPage {
    l: Layout,
    rows: Vec<crate::audit::Access>,
    has_record: bool,
    corrections: Vec<crate::registry::corrections::Correction>,
    fields: &'static [&'static str],
    error: Option<String>,
}

pub(crate) use crate::kernel::time::local_time;

impl AccessLogPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
}

impl HomePage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
}

async fn access_log_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    access_log_with(&state, &caller, None, StatusCode::OK).await
}

async fn access_log_with(
    state: &AppState,
    caller: &Caller,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let rows = crate::registry::access::my_accesses(state, caller).await?;
    let corrections = match caller.person_id {
        Some(pid) => {
            state
                .db
                .read(move |c| crate::registry::corrections::of_person(c, pid))
                .await?
        }
        None => Vec::new(),
    };
    let mut res = render(&AccessLogPage {
        l: Layout::new(Some(caller)),
        rows,
        has_record: caller.person_id.is_some(),
        corrections,
        fields: &crate::registry::corrections::FIELDS,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

#[derive(Deserialize)]
struct CorrectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    message: String,
}

async fn correction_create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<CorrectionForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match crate::registry::access::request_correction(&state, &caller, &f.field, &f.message).await {
        Ok(_) => Ok(Redirect::to("/me/access-log").into_response()),
        Err(e) if e.status.is_client_error() => {
            access_log_with(&state, &caller, Some(e.message(ctx().lang)), e.status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    reply: String,
}

async fn correction_close(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CloseForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    crate::registry::access::close_correction(&state, &caller, id, f.state == "done", &f.reply)
        .await?;
    Ok(Redirect::to("/").into_response())
}

async fn notice_read(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let streets = notice_streets(&caller).ok_or_else(AppError::forbidden)?;
    crate::audit::anomaly::mark_read(&state.db, streets, id).await?;
    Ok(Redirect::to("/").into_response())
}

/// The streets whose notices a caller reads: `None` when none, `Some(None)` for all.
pub fn notice_streets(caller: &Caller) -> Option<Option<Vec<i64>>> {
    if caller.has(Role::DistrictAdmin) {
        return Some(None);
    }
    let streets: Vec<i64> = caller
        .grants
        .iter()
        .filter(|g| g.role == Role::StreetAdmin)
        .filter_map(|g| g.place.as_ref().map(|p| p.id))
        .collect();
    (!streets.is_empty()).then_some(Some(streets))
}

async fn my_data_download(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let data = crate::registry::access::own_data(&state, &caller).await?;
    let body = serde_json::to_vec_pretty(&data)
        .map_err(|e| AppError::internal("serialising own data", e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"linli-my-data.json\"",
            ),
        ],
        body,
    )
        .into_response())
}

// ---------------------------------------------------------------- user management

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    l: Layout,
    users: Vec<users::User>,
    roles: Vec<&'static str>,
    error: Option<String>,
    form: NewUserForm,
}

#[derive(Deserialize, Default, Clone)]
struct NewUserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    target: String,
}

/// Logs a change to an account's access.
async fn audit_permission(
    state: &AppState,
    caller: &Caller,
    user_id: i64,
    what: &str,
) -> AppResult<()> {
    use crate::audit::{Action, NewEntry};
    state
        .audit
        .record(
            NewEntry::by(caller, Action::PermissionChange)
                .subjects([crate::audit::user(user_id)])
                .purpose(what),
        )
        .await?;
    Ok(())
}

fn require_admin(caller: &Caller) -> AppResult<()> {
    if caller.can_manage_users() {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

async fn users_page_with(
    state: &AppState,
    caller: &Caller,
    error: Option<String>,
    form: NewUserForm,
    status: StatusCode,
) -> AppResult<Response> {
    let scope = caller.scope.users.clone();
    let list = state
        .db
        .read(move |c| users::list_managed(c, &scope))
        .await?;
    let mut res = render(&UsersPage {
        l: Layout::new(Some(caller)),
        users: list,
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        error,
        form,
    });
    *res.status_mut() = status;
    Ok(res)
}

async fn users_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    require_admin(&caller)?;
    users_page_with(
        &state,
        &caller,
        None,
        NewUserForm::default(),
        StatusCode::OK,
    )
    .await
}

/// Creates an account with one grant; shared by the page and the API.
pub async fn create_user(
    state: &AppState,
    caller: &Caller,
    username: &str,
    display_name: &str,
    password: &str,
    role: &str,
    target: &str,
) -> AppResult<i64> {
    let username = users::Username::parse(username).map_err(AppError::invalid)?;
    users::check_password_policy(password).map_err(AppError::invalid)?;
    let role = Role::parse(role).ok_or_else(|| AppError::invalid("error.bad_role"))?;
    if display_name.trim().is_empty() {
        return Err(AppError::invalid("error.display_name"));
    }
    let hash = {
        let pw = password.to_string();
        tokio::task::spawn_blocking(move || users::hash_password(&pw))
            .await
            .map_err(|e| AppError::internal("hashing", e))?
    };
    let scope = caller.scope.users.clone();
    let target = target.trim().to_string();
    let display = display_name.trim().to_string();
    let id = state
        .db
        .write_tx(move |c| -> AppResult<i64> {
            let (place_id, org_id, street_id) = resolve_target(c, &scope, role, &target)?;
            let id = users::create(
                c,
                users::NewUser {
                    username: &username,
                    display_name: &display,
                    password_hash: &hash,
                    street_id,
                    person_id: None,
                },
            )?;
            users::add_grant(c, id, role, place_id, org_id, street_id)?;
            Ok(id)
        })
        .await?;
    state.callers.clear();
    audit_permission(state, caller, id, &format!("create {}", role.as_str())).await?;
    Ok(id)
}

/// Finds the place (by path) or organisation (by code) a grant is for, within the
/// administrator's scope and of a kind the role accepts.
fn resolve_target(
    c: &mut dyn crate::store::Conn,
    scope: &[String],
    role: Role,
    target: &str,
) -> AppResult<(Option<i64>, Option<i64>, Option<i64>)> {
    if role.needs_org() {
        let org = places::org_by_code(c, target)?
            .ok_or_else(|| AppError::invalid("error.org_not_found"))?;
        let serves = places::org_serves(c, org.id)?;
        if !serves.iter().any(|p| crate::org::Scope::covers(scope, p)) {
            return Err(AppError::invalid("error.org_not_found"));
        }
        let want = match role {
            Role::DeptHandler => "department",
            _ => "property",
        };
        if org.kind != want && !(role == Role::DeptHandler && org.kind == "social") {
            return Err(AppError::invalid("error.org_kind"));
        }
        return Ok((None, Some(org.id), Some(org.street_id)));
    }
    let place = places::by_path(c, target)?
        .filter(|p| crate::org::Scope::covers(scope, &p.path))
        .ok_or_else(|| AppError::invalid("error.place_not_found"))?;
    if !role.place_kinds().contains(&place.kind.as_str()) {
        return Err(AppError::invalid("error.place_kind"));
    }
    Ok((Some(place.id), None, place.street_id.or(Some(place.id))))
}

async fn user_create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<NewUserForm>,
) -> AppResult<Response> {
    require_admin(&caller)?;
    check_csrf(&caller, &f.csrf)?;
    match create_user(
        &state,
        &caller,
        &f.username,
        &f.display_name,
        &f.password,
        &f.role,
        &f.target,
    )
    .await
    {
        Ok(id) => Ok(Redirect::to(&format!("/admin/users/{id}")).into_response()),
        Err(e) if e.status.is_client_error() => {
            let msg = e.message(ctx().lang);
            let mut form = f.clone();
            form.password.clear();
            users_page_with(&state, &caller, Some(msg), form, e.status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    l: Layout,
    u: users::User,
    grants: Vec<(i64, GrantView)>,
    roles: Vec<&'static str>,
    error: Option<String>,
}

async fn load_managed(state: &AppState, caller: &Caller, id: i64) -> AppResult<users::User> {
    require_admin(caller)?;
    let scope = caller.scope.users.clone();
    state
        .db
        .read(move |c| {
            if !users::is_managed(c, &scope, id)? {
                return Ok(None);
            }
            users::by_id(c, id)
        })
        .await?
        .ok_or_else(AppError::not_found)
}

async fn user_page_with(
    state: &AppState,
    caller: &Caller,
    id: i64,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let u = load_managed(state, caller, id).await?;
    let grants = u
        .grants
        .iter()
        .map(|g| (g.id, grant_views(std::slice::from_ref(g)).remove(0)))
        .collect();
    let mut res = render(&UserPage {
        l: Layout::new(Some(caller)),
        u,
        grants,
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

async fn user_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    user_page_with(&state, &caller, id, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct GrantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    target: String,
}

async fn grant_add(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<GrantForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    load_managed(&state, &caller, id).await?;
    let Some(role) = Role::parse(&f.role) else {
        let msg = Tr(ctx().lang).s("error.bad_role").to_string();
        return user_page_with(
            &state,
            &caller,
            id,
            Some(msg),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let scope = caller.scope.users.clone();
    let target = f.target.trim().to_string();
    let r = state
        .db
        .write_tx(move |c| -> AppResult<()> {
            let (place_id, org_id, street_id) = resolve_target(c, &scope, role, &target)?;
            users::add_grant(c, id, role, place_id, org_id, street_id)?;
            Ok(())
        })
        .await;
    state.callers.clear();
    if r.is_ok() {
        audit_permission(&state, &caller, id, &format!("grant {}", f.role)).await?;
    }
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/admin/users/{id}")).into_response()),
        Err(e) if e.status.is_client_error() => {
            user_page_with(&state, &caller, id, Some(e.message(ctx().lang)), e.status).await
        }
        Err(e) => Err(e),
    }
}

async fn grant_remove(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, gid)): Path<(i64, i64)>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    load_managed(&state, &caller, id).await?;
    state
        .db
        .write(move |c| users::remove_grant(c, id, gid))
        .await?;
    state.callers.clear();
    Ok(Redirect::to(&format!("/admin/users/{id}")).into_response())
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

async fn user_password(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<PasswordForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    load_managed(&state, &caller, id).await?;
    if let Err(key) = users::check_password_policy(&f.password) {
        let msg = Tr(ctx().lang).s(key).to_string();
        return user_page_with(
            &state,
            &caller,
            id,
            Some(msg),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let pw = f.password.clone();
    let hash = tokio::task::spawn_blocking(move || users::hash_password(&pw))
        .await
        .map_err(|e| AppError::internal("hashing", e))?;
    state
        .db
        .write(move |c| users::set_password(c, id, &hash))
        .await?;
    state.callers.clear();
    Ok(Redirect::to(&format!("/admin/users/{id}")).into_response())
}

#[derive(Deserialize)]
struct ActiveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    active: String,
}

async fn user_active(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<ActiveForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    load_managed(&state, &caller, id).await?;
    if id == caller.user_id {
        let msg = Tr(ctx().lang).s("error.self_deactivate").to_string();
        return user_page_with(
            &state,
            &caller,
            id,
            Some(msg),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let active = f.active == "1";
    state
        .db
        .write(move |c| users::set_active(c, id, active))
        .await?;
    state.callers.clear();
    Ok(Redirect::to(&format!("/admin/users/{id}")).into_response())
}

// ---------------------------------------------------------------- exports with graded approval

#[derive(Template)]
#[template(path = "exports.html")]
struct ExportsPage {
    l: Layout,
    mine: Vec<crate::registry::export::ExportRequest>,
    awaiting: Vec<crate::registry::export::ExportRequest>,
    place: String,
    limit: i64,
    error: Option<String>,
}

#[derive(Deserialize)]
struct ExportsQuery {
    place: Option<String>,
}

async fn exports_with(
    state: &AppState,
    caller: &Caller,
    place: String,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    let (uid, scope) = (caller.user_id, caller.scope.registry.clone());
    let (mine, awaiting) = state
        .db
        .read(move |c| {
            Ok((
                crate::registry::export::mine(c, uid)?,
                crate::registry::export::awaiting(c, &scope, uid)?,
            ))
        })
        .await?;
    let mut res = render(&ExportsPage {
        l: Layout::new(Some(caller)),
        mine,
        awaiting,
        place,
        limit: state.cfg.export_max_records,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

async fn exports_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<ExportsQuery>,
) -> AppResult<Response> {
    let place = q
        .place
        .unwrap_or_else(|| caller.scope.registry.first().cloned().unwrap_or_default());
    exports_with(&state, &caller, place, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct ExportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    unmasked: Option<String>,
    #[serde(default)]
    reason: String,
    /// Set when the export is of a search's result: its filters follow.
    #[serde(default)]
    search: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    presence: Option<String>,
    #[serde(default)]
    age_min: Option<String>,
    #[serde(default)]
    age_max: Option<String>,
}

impl ExportForm {
    fn filter(&self) -> Option<crate::registry::persons::Search> {
        self.search.as_ref()?;
        let text = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let num = |v: &Option<String>| v.as_deref().and_then(|s| s.trim().parse::<i64>().ok());
        Some(crate::registry::persons::Search {
            q: text(&self.q),
            address: text(&self.address),
            tag: text(&self.tag),
            presence: text(&self.presence),
            age_min: num(&self.age_min),
            age_max: num(&self.age_max),
            ..Default::default()
        })
    }
}

async fn export_create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<ExportForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match crate::registry::access::request_export(
        &state,
        &caller,
        &f.place,
        f.unmasked.is_some(),
        &f.reason,
        f.filter(),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to("/exports").into_response()),
        Err(e) if e.status.is_client_error() => {
            exports_with(
                &state,
                &caller,
                f.place,
                Some(e.message(ctx().lang)),
                e.status,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    comment: String,
}

async fn export_decide(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<DecisionForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match crate::registry::access::decide_export(
        &state,
        &caller,
        id,
        f.decision == "approve",
        &f.comment,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to("/exports").into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let place = caller.scope.registry.first().cloned().unwrap_or_default();
            exports_with(
                &state,
                &caller,
                place,
                Some(e.message(ctx().lang)),
                e.status,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn export_download(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(f): Query<crate::api::FormatQuery>,
) -> AppResult<Response> {
    let xlsx = f.format.as_deref() == Some("xlsx");
    let (name, bytes) = crate::registry::access::download_export(&state, &caller, id, xlsx).await?;
    Ok(crate::http::file_response(&name, bytes))
}

// ---------------------------------------------------------------- persons

#[derive(Template)]
#[template(path = "persons.html")]
struct PersonsPage {
    l: Layout,
    f: crate::api::PersonsQuery,
    tags: Vec<(String, String)>,
    grids: Vec<(String, String)>,
    presences: &'static [&'static str],
    items: Vec<crate::registry::persons::PersonBrief>,
    searched: bool,
    next: Option<String>,
    /// Where an export of this result would come from (the grid picked, or the caller's place).
    export_place: String,
}

impl PersonsPage {
    fn opt(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or("")
    }
    fn num(v: &Option<i64>) -> String {
        v.map(|n| n.to_string()).unwrap_or_default()
    }
}

async fn persons_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<crate::api::PersonsQuery>,
) -> AppResult<Response> {
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    let filled = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    let searched = filled(&q.q)
        || filled(&q.tag)
        || filled(&q.address)
        || filled(&q.presence)
        || filled(&q.under)
        || q.age_min.is_some()
        || q.age_max.is_some();
    let f = crate::api::PersonsQuery {
        q: q.q.clone(),
        address: q.address.clone(),
        tag: q.tag.clone(),
        age_min: q.age_min,
        age_max: q.age_max,
        presence: q.presence.clone(),
        under: q.under.clone(),
        limit: None,
        offset: None,
    };
    let s = crate::api::person_search(q)?;
    let (items, more) = if searched {
        crate::registry::access::search_persons(&state, &caller, s.clone()).await?
    } else {
        (Vec::new(), false)
    };
    let enc = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let mut qs = String::new();
    for (k, v) in [
        ("q", f.q.clone()),
        ("address", f.address.clone()),
        ("tag", f.tag.clone()),
        ("presence", f.presence.clone()),
        ("under", f.under.clone()),
        ("age_min", f.age_min.map(|n| n.to_string())),
        ("age_max", f.age_max.map(|n| n.to_string())),
    ] {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            qs.push_str(&format!("{k}={}&", enc(&v)));
        }
    }
    let next = more.then(|| format!("/persons?{qs}offset={}", s.offset + s.limit));
    let (street, scope) = (caller.street_id, caller.scope.registry.clone());
    let en = ctx().lang == Lang::En;
    let (tags, grids) = state
        .db
        .read(move |c| {
            let tags = crate::registry::records::tag_names(c, street, en)?;
            let mut p = Vec::new();
            let cond = crate::store::under_paths("path", &scope, 1, &mut p);
            let grids = c
                .query(
                    &format!("SELECT path, name FROM places WHERE kind = 'grid' AND {cond} ORDER BY path LIMIT 500"),
                    &p,
                )?
                .iter()
                .map(|r| (r.str(0), r.str(1)))
                .collect::<Vec<_>>();
            Ok((tags, grids))
        })
        .await?;
    let export_place = f
        .under
        .clone()
        .filter(|u| !u.is_empty())
        .or_else(|| caller.scope.registry.first().cloned())
        .unwrap_or_default();
    Ok(render(&PersonsPage {
        l: Layout::new(Some(&caller)),
        f,
        tags,
        grids,
        presences: &crate::registry::persons::PRESENCES,
        items,
        searched,
        next,
        export_place,
    }))
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    l: Layout,
    p: crate::registry::persons::Person,
    can_edit: bool,
    error: Option<String>,
    residences: &'static [&'static str],
    presences: &'static [&'static str],
    /// The street's tags as (code, name).
    tag_options: Vec<(String, String)>,
    owned: Vec<(i64, String, f64)>,
    vehicles: Vec<crate::registry::records::Vehicle>,
}

impl PersonPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn tag_name(&self, code: &str) -> String {
        self.tag_options
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| code.to_string())
    }
}

#[derive(Deserialize)]
struct PersonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    residence: String,
    #[serde(default)]
    presence: String,
    #[serde(default)]
    notes: String,
}

async fn person_edit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<PersonForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let patch = crate::registry::persons::Patch {
        // An empty phone field leaves the number as it is (it is shown masked).
        phone: (!f.phone.trim().is_empty()).then_some(f.phone),
        residence: Some(f.residence),
        presence: Some(f.presence),
        notes: Some(f.notes),
        ..Default::default()
    };
    match crate::registry::access::update_person(&state, &caller, id, patch, "form").await {
        Ok(_) => Ok(Redirect::to(&format!("/persons/{id}")).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let msg = e.message(ctx().lang);
            person_page_with(&state, &caller, id, Some(msg), e.status, None).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
struct ErrQuery {
    err: Option<String>,
}

async fn person_page_with(
    state: &AppState,
    caller: &Caller,
    id: i64,
    error: Option<String>,
    status: StatusCode,
    err: Option<String>,
) -> AppResult<Response> {
    let p = crate::registry::access::person(state, caller, id).await?;
    let (street, scope) = (caller.street_id, caller.scope.clone());
    let en = ctx().lang == Lang::En;
    let (tag_options, owned, vehicles) = state
        .db
        .read(move |c| {
            let tags = crate::registry::records::tag_names(c, street, en)?;
            Ok((
                tags,
                crate::registry::records::units_owned(c, &scope, id)?,
                crate::registry::records::vehicles_of(c, id)?,
            ))
        })
        .await?;
    let error = error.or(err);
    let mut res = render(&PersonPage {
        l: Layout::new(Some(caller)),
        p,
        can_edit: caller.reads_registry(),
        error,
        residences: &crate::registry::persons::RESIDENCES,
        presences: &crate::registry::persons::PRESENCES,
        tag_options,
        owned,
        vehicles,
    });
    *res.status_mut() = status;
    Ok(res)
}

async fn person_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(b): Query<ErrQuery>,
) -> AppResult<Response> {
    person_page_with(&state, &caller, id, None, StatusCode::OK, b.err).await
}

// ---------------------------------------------------------------- imports

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    l: Layout,
    scope: String,
    report: Option<crate::registry::import::Report>,
    error: Option<String>,
    /// The job the page reports on.
    job: Option<JobView>,
    /// A job from before a restart, as its row keeps it.
    stored: Option<crate::registry::import_jobs::Stored>,
}

struct JobView {
    id: String,
    file_name: String,
    apply: bool,
    done: usize,
    total: usize,
    writing: bool,
    running: bool,
}

impl ImportsPage {
    fn percent(&self) -> usize {
        match &self.job {
            Some(j) if j.total > 0 => j.done * 100 / j.total,
            _ => 0,
        }
    }
}

async fn imports_page(Signed(caller): Signed) -> AppResult<Response> {
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    Ok(render(&ImportsPage {
        l: Layout::new(Some(&caller)),
        scope: caller.scope.registry.first().cloned().unwrap_or_default(),
        report: None,
        error: None,
        job: None,
        stored: None,
    }))
}

/// The upload form: a dry run unless "apply" was ticked. The file is read, checked and (when
/// applied) written all at once; the page then shows the report.
async fn import_upload(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    mut form: axum::extract::Multipart,
) -> AppResult<Response> {
    use crate::registry::import;
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    let (mut csrf, mut scope, mut apply, mut file, mut name) = (
        String::new(),
        String::new(),
        false,
        Vec::new(),
        String::new(),
    );
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|_| AppError::bad_request("error.bad_form"))?
    {
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "scope" => scope = field.text().await.unwrap_or_default().trim().to_string(),
            "apply" => apply = true,
            "file" => {
                name = field.file_name().unwrap_or("").to_ascii_lowercase();
                file = field
                    .bytes()
                    .await
                    .map_err(|_| {
                        AppError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "too_large",
                            "error.too_large",
                        )
                    })?
                    .to_vec();
            }
            _ => {}
        }
    }
    check_csrf(&caller, &csrf)?;
    let page = |report, error: Option<String>| ImportsPage {
        l: Layout::new(Some(&caller)),
        scope: scope.clone(),
        report,
        error,
        job: None,
        stored: None,
    };
    let t = Tr(ctx().lang);
    if !crate::org::Scope::covers(&caller.scope.registry, &scope) {
        let mut res = render(&page(None, Some(t.s("error.place_not_found").into())));
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    }
    if file.is_empty() {
        let mut res = render(&page(None, Some(t.s("import.no_file").into())));
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    }
    let xlsx = name.ends_with(".xlsx") || file.starts_with(b"PK");
    let sheet = match import::read(&file, xlsx) {
        Ok(s) => s,
        Err(e) => {
            let mut res = render(&page(None, Some(e.to_string())));
            *res.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(res);
        }
    };
    let job = crate::registry::import_jobs::create(
        caller.user_id,
        scope.clone(),
        apply,
        name.clone(),
        sheet,
    );
    {
        let (j, street, me) = (job.clone(), caller.street_id, state.instance.clone());
        state
            .db
            .write(move |c| {
                crate::registry::import_jobs::record(c, &j, street, &me, crate::store::now_ms())
            })
            .await?;
    }
    {
        let (state, job, caller) = (state.clone(), job.clone(), caller.clone());
        tokio::spawn(async move {
            use crate::registry::import_jobs::JobState;
            let (keys, j2) = (state.keys.clone(), job.clone());
            let result = state
                .db
                .write_tx(move |c| -> AppResult<_> {
                    let who = import::Importer {
                        actor: Some(&caller),
                        source: "import",
                    };
                    Ok(import::import(
                        c,
                        &keys,
                        &j2.scope,
                        &j2.sheet,
                        !j2.apply,
                        &who,
                        &mut |done, total| j2.progress(done, total),
                    )?)
                })
                .await;
            let end = match result {
                Ok(Ok(report)) => JobState::Done(Box::new(report)),
                Ok(Err(e)) => JobState::Failed(e.to_string()),
                Err(e) => {
                    tracing::error!(error = %e.message(crate::kernel::i18n::Lang::En), "an import from the page failed");
                    JobState::Failed(e.message(crate::kernel::i18n::Lang::Zh))
                }
            };
            let (id, recorded) = (job.id.clone(), end.clone());
            if let Err(e) = state
                .db
                .write(move |c| {
                    crate::registry::import_jobs::record_end(
                        c,
                        &id,
                        &recorded,
                        crate::store::now_ms(),
                    )
                })
                .await
            {
                tracing::error!(error = %e, "recording the end of an import failed");
            }
            job.set(end);
        });
    }
    // A small file is done before a person notices; a large one shows its progress.
    job.wait(std::time::Duration::from_secs(3)).await;
    Ok(Redirect::to(&format!("/imports/jobs/{}", job.id)).into_response())
}

/// A job this process no longer holds (it restarted since), as its row keeps it.
async fn stored_job(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> AppResult<crate::registry::import_jobs::Stored> {
    let (id, owner) = (id.to_string(), caller.user_id);
    state
        .db
        .read(move |c| crate::registry::import_jobs::load(c, &id, owner))
        .await?
        .ok_or_else(AppError::not_found)
}

async fn import_job_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<String>,
) -> AppResult<Response> {
    use crate::registry::import_jobs::JobState;
    let Some(job) = crate::registry::import_jobs::get(&id, caller.user_id) else {
        let stored = stored_job(&state, &caller, &id).await?;
        let mut res = render(&ImportsPage {
            l: Layout::new(Some(&caller)),
            scope: stored.scope.clone(),
            report: None,
            error: None,
            job: None,
            stored: Some(stored.clone()),
        });
        if stored.state == "interrupted" || stored.state == "failed" {
            *res.status_mut() = StatusCode::BAD_REQUEST;
        }
        return Ok(res);
    };
    let st = job.state();
    let (report, error) = match &st {
        JobState::Done(r) => (Some((**r).clone()), None),
        JobState::Failed(e) => (None, Some(e.clone())),
        _ => (None, None),
    };
    let view = JobView {
        id: job.id.clone(),
        file_name: job.file_name.clone(),
        apply: job.apply,
        done: job.done.load(std::sync::atomic::Ordering::Relaxed),
        total: job.total.load(std::sync::atomic::Ordering::Relaxed),
        writing: matches!(st, JobState::Writing),
        running: matches!(st, JobState::Checking | JobState::Writing),
    };
    let mut res = render(&ImportsPage {
        l: Layout::new(Some(&caller)),
        scope: job.scope.clone(),
        report,
        error,
        job: Some(view),
        stored: None,
    });
    if matches!(st, JobState::Failed(_)) {
        *res.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(res)
}

#[derive(serde::Serialize)]
struct JobProgress {
    state: &'static str,
    done: usize,
    total: usize,
}

/// How far a job is, for the page's progress bar.
async fn import_job_progress(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<String>,
) -> AppResult<axum::Json<JobProgress>> {
    let Some(job) = crate::registry::import_jobs::get(&id, caller.user_id) else {
        let stored = stored_job(&state, &caller, &id).await?;
        let total = stored.total.max(0) as usize;
        return Ok(axum::Json(JobProgress {
            state: match stored.state.as_str() {
                "done" => "done",
                "checking" => "checking",
                "writing" => "writing",
                // Failed and interrupted jobs end the same way for the progress bar.
                _ => "failed",
            },
            done: if stored.state == "done" { total } else { 0 },
            total,
        }));
    };
    Ok(axum::Json(JobProgress {
        state: job.state().as_str(),
        done: job.done.load(std::sync::atomic::Ordering::Relaxed),
        total: job.total.load(std::sync::atomic::Ordering::Relaxed),
    }))
}

/// The refused rows of a finished job, as they were plus a reason column.
async fn import_job_refused(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<String>,
) -> AppResult<Response> {
    use crate::registry::import_jobs::JobState;
    let Some(job) = crate::registry::import_jobs::get(&id, caller.user_id) else {
        stored_job(&state, &caller, &id).await?;
        return Err(AppError::new(
            StatusCode::GONE,
            "gone",
            "import.refused_gone",
        ));
    };
    let JobState::Done(report) = job.state() else {
        return Err(AppError::not_found());
    };
    let rows = crate::registry::import::refused_table(&job.sheet, &report);
    let bytes = crate::registry::export::xlsx(&rows, "refused")
        .map_err(|e| AppError::internal("writing the refused rows", e))?;
    Ok(crate::http::file_response("linli-refused-rows.xlsx", bytes))
}
