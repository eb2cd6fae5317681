//! Pages for cases: the resident's report form and "my cases" (mobile first), the workers'
//! queues by state with late cases first, the case page with its timeline, map and actions
//! (the dispatcher's screen for new cases), the handler's inbox, a map of open cases over
//! the grid polygons, and per-organisation figures.

use std::sync::Arc;

use crate::http::{Path, Query};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::http::{CaseRequest, channels_for, detail, intake, street_of, take_step};
use super::lifecycle::{Action, Step};
use super::{Category, Channel, FieldType, Filter, OrgFigures, Viewer, notify};
use crate::http::{ApiForm, MaybeSigned, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::Tr;
use crate::org::Caller;
use crate::state::AppState;
use crate::web::Layout;
use crate::web::map;

mod batch;
mod draft;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/cases", get(list_page))
        .route("/cases/batch", post(batch::batch_submit))
        .route(
            "/cases/new",
            get(new_form)
                .post(new_submit)
                .layer(axum::extract::DefaultBodyLimit::max(
                    REPORT_PHOTOS * super::photos::MAX_BYTES + 256 * 1024,
                )),
        )
        .route("/cases/map", get(map_page))
        .route("/static/cases.js", get(asset_js))
        .route("/static/cases.css", get(asset_css))
        .route("/cases/figures", get(figures_page))
        .route("/cases/{id}", get(case_page))
        .route("/cases/{id}/step", post(step_submit))
        .route("/cases/{id}/reveal", post(reveal_submit))
        .route(
            "/cases/{id}/photos",
            post(photo_submit).layer(axum::extract::DefaultBodyLimit::max(
                super::photos::MAX_BYTES + 64 * 1024,
            )),
        )
        .route("/cases/catalogue", get(catalogue_page))
        .route("/cases/catalogue/{code}", post(catalogue_save))
        .route("/inbox", get(inbox_page))
        .route("/inbox/{id}/read", post(inbox_read))
        .route("/inbox/read-all", post(inbox_read_all))
}

/// The report form's script (category tiles without a reload, places by name) and the case
/// pages' styles (tiles, the primary step), served from the binary.
const CASES_JS: &str = include_str!("../../static/cases.js");
const CASES_CSS: &str = include_str!("../../static/cases.css");

async fn asset_js() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CASES_JS,
    )
}

async fn asset_css() -> impl IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CASES_CSS,
    )
}

fn render(t: &impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => AppError::internal("rendering a page", e).into_response(),
    }
}

/// A time as people here write it: 2026-11-23 19:05 (China Standard Time).
pub fn when(ms: i64) -> String {
    crate::kernel::time::local_time(ms)
}

/// A case as a row of a queue.
pub struct Row {
    pub id: i64,
    pub category: String,
    pub state: String,
    pub description: String,
    pub place: String,
    pub due: String,
    pub overdue: bool,
    pub level: i64,
    pub handler: String,
    /// Closed, waiting for the viewer's rating (they reported it).
    pub to_rate: bool,
    /// Whom it waits on, in words (filled by the queue).
    pub waits: String,
    /// It waits on the viewer.
    pub waits_me: bool,
}

/// The rows of a case list, as `viewer` (a user id) sees them.
pub fn rows(cases: &[super::Case], t: Tr, viewer: i64) -> Vec<Row> {
    cases
        .iter()
        .map(|c| Row {
            id: c.id.0,
            category: c.category_name(t.0).to_string(),
            state: c.state.as_str().to_string(),
            description: c.description.chars().take(60).collect(),
            place: c.place_name.clone(),
            due: match c.clock.as_str() {
                "accept" | "resolve" => c.due_at.map(when).unwrap_or_default(),
                _ => String::new(),
            },
            overdue: c.overdue,
            level: c.level,
            handler: c
                .handler_org_name
                .clone()
                .or(c.handler_user_name.clone())
                .unwrap_or_default(),
            to_rate: c.state == super::State::Closed && c.reporter_id == Some(viewer),
            waits: String::new(),
            waits_me: false,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "cases/list.html")]
struct ListPage {
    l: Layout,
    rows: Vec<Row>,
    tabs: Vec<(String, &'static str, bool)>,
    worker: bool,
    can_map: bool,
    can_report: bool,
    /// What was searched for.
    words: String,
    /// The pages before and after, when there are.
    prev: Option<String>,
    next: Option<String>,
    /// The steps that may be taken on the ticked cases at once: (action, label, dispatch).
    batch: Vec<(&'static str, &'static str, bool)>,
    /// The organisations a batch dispatches to (dispatchers only): (id, name).
    orgs: Vec<(i64, String)>,
}

/// The states of a report that has ended, the tab a reporter finds it under.
const FINISHED: &str = "closed,rated,merged,rejected";

#[derive(Deserialize, Default)]
struct ListQuery {
    state: Option<String>,
    late: Option<String>,
    handling: Option<String>,
    /// `me` or `verify` ([`Filter::waiting`]).
    waiting: Option<String>,
    /// A case number (opens it) or words to look for.
    q: Option<String>,
    /// From 1.
    #[serde(default, deserialize_with = "crate::http::blank_as_none")]
    page: Option<i64>,
}

/// Cases per page of the list.
const PAGE: i64 = 100;

async fn list_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let viewer = Viewer::of(&caller);
    let worker = viewer.is_worker();
    let can_map = !viewer.verify.is_empty() || !viewer.orgs.is_empty();
    let words = q.q.as_deref().map(str::trim).unwrap_or("").to_string();
    // A case number goes straight to the case (which says so when it is out of sight).
    if let Ok(id) = words.trim_start_matches('#').parse::<i64>() {
        return Ok(Redirect::to(&format!("/cases/{id}")).into_response());
    }
    let page = q.page.unwrap_or(1).max(1);
    let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
    let chosen = given(&q.state)
        || given(&q.late)
        || given(&q.handling)
        || given(&q.waiting)
        || !words.is_empty();
    // A grid worker's, a department's and a property company's queue opens on what waits on
    // them ("待我处理"); a dispatcher's on every open case of her area.
    let dispatcher = !viewer.dispatch.is_empty();
    let waiting = q
        .waiting
        .clone()
        .filter(|w| !w.is_empty())
        .or((worker && !dispatcher && !chosen).then(|| "me".to_string()));
    let viewer_of_rows = viewer.clone();
    let filter = Filter {
        // A search looks through every state unless one is chosen.
        state: q
            .state
            .clone()
            .filter(|s| !s.is_empty())
            .or((words.is_empty() && waiting.is_none()).then(|| "open".into())),
        waiting: waiting.clone(),
        late: q.late.as_deref().map(|v| v == "1"),
        handling: q.handling.as_deref().map(|v| v == "1"),
        mine: (!worker).then_some(true),
        q: (!words.is_empty()).then(|| words.clone()),
        limit: Some(PAGE + 1),
        offset: Some((page - 1) * PAGE),
        ..Filter::default()
    };
    let now = crate::store::now_ms();
    let mut cases = state
        .db
        .read(move |c| Ok(super::list(c, &viewer, &filter, now)))
        .await??;
    let more = cases.len() as i64 > PAGE;
    cases.truncate(PAGE as usize);
    // The same list a page before and after.
    let link = |p: i64| {
        let mut qs: Vec<(&str, String)> = Vec::new();
        for (k, v) in [
            ("state", &q.state),
            ("late", &q.late),
            ("handling", &q.handling),
            ("waiting", &q.waiting),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                qs.push((k, v.to_string()));
            }
        }
        if !words.is_empty() {
            qs.push(("q", words.clone()));
        }
        if p > 1 {
            qs.push(("page", p.to_string()));
        }
        let enc = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(qs)
            .finish();
        if enc.is_empty() {
            "/cases".to_string()
        } else {
            format!("/cases?{enc}")
        }
    };
    let prev = (page > 1).then(|| link(page - 1));
    let next = more.then(|| link(page + 1));
    let t = Tr(ctx().lang);
    let current = q.state.unwrap_or_default();
    let late = q.late.as_deref() == Some("1");
    let mut tabs = Vec::new();
    if worker {
        // What waits on me first, then what I may check on site, then everything open.
        tabs.push((
            "/cases?waiting=me".to_string(),
            t.s("case.page.waiting_me"),
            waiting.as_deref() == Some("me"),
        ));
        if !viewer_of_rows.verify.is_empty() {
            tabs.push((
                "/cases?waiting=verify".to_string(),
                t.s("case.page.waiting_verify"),
                waiting.as_deref() == Some("verify"),
            ));
        }
        tabs.push((
            "/cases?state=open".to_string(),
            t.s("case.page.open"),
            (current == "open" || (current.is_empty() && waiting.is_none()))
                && !late
                && words.is_empty(),
        ));
    } else {
        tabs.push((
            "/cases".to_string(),
            t.s("case.page.open"),
            current.is_empty() && !late && words.is_empty(),
        ));
        // A reporter follows their reports to the end: a closed one waits for their rating.
        tabs.push((
            format!("/cases?state={FINISHED}"),
            t.s("case.page.finished"),
            current == FINISHED,
        ));
    }
    if worker {
        tabs.push(("/cases?late=1".into(), t.s("case.page.late"), late));
        for s in [
            "new",
            "accepted,returned",
            "dispatched,signed_for",
            "in_progress",
            "resolved,verified",
            "on_hold",
            "closed,rated",
        ] {
            let first = s.split(',').next().unwrap_or(s);
            tabs.push((
                format!("/cases?state={s}"),
                t.k("case.state", first),
                current == s,
            ));
        }
    }
    let mut list_rows = rows(&cases, t, caller.user_id);
    for (row, case) in list_rows.iter_mut().zip(&cases) {
        if let Some((w, me)) = waits_on_text(case, &viewer_of_rows, t) {
            row.waits = w;
            row.waits_me = me;
        }
    }
    // Batch steps: 签收 for handlers, 派单 and 受理并派单 for dispatchers.
    let mut batch = Vec::new();
    // Handlers: departments and property companies, and grid workers, to whom sensor
    // alerts' cases are dispatched.
    if !viewer_of_rows.orgs.is_empty() || (worker && !dispatcher) {
        batch.push(("sign_for", t.k("case.action", "sign_for"), false));
    }
    let orgs = if dispatcher {
        batch.push(("dispatch", t.k("case.action", "dispatch"), false));
        batch.push(("accept", t.k("case.action", "accept_dispatch"), true));
        let street = caller.street_id.unwrap_or(0);
        state
            .db
            .read(move |c| super::org_choices(c, street))
            .await?
    } else {
        Vec::new()
    };
    Ok(render(
        &ListPage {
            l: Layout::new(Some(&caller)),
            rows: list_rows,
            tabs,
            worker,
            can_map,
            can_report: caller.street_id.is_some(),
            words,
            prev,
            next,
            batch,
            orgs,
        },
        StatusCode::OK,
    ))
}

/// An extra field as the form shows it.
struct FieldView {
    name: String,
    label: String,
    kind: &'static str,
    required: bool,
    options: Vec<String>,
    value: String,
    chosen: Vec<String>,
}

/// A category's extra fields on the report form, shown when its tile is chosen.
struct FieldGroup {
    code: String,
    shown: bool,
    fields: Vec<FieldView>,
}

/// A category's tile: code, name, chosen, icon (inline SVG).
struct Tile {
    code: String,
    name: String,
    on: bool,
    icon: &'static str,
}

#[derive(Template)]
#[template(path = "cases/new.html")]
struct NewPage {
    l: Layout,
    tiles: Vec<Tile>,
    groups: Vec<FieldGroup>,
    /// Said above the form: a draft kept over an expired session is back.
    notice: Option<String>,
    places: Vec<(i64, String)>,
    place_id: String,
    /// The street's grids to mark a spot on ([`map::picker`]).
    map: Option<String>,
    lat: String,
    lon: String,
    share_location: bool,
    description: String,
    address: String,
    channels: Vec<(&'static str, &'static str)>,
    channel: String,
    reporter_name: String,
    reporter_contact: String,
    error: Option<String>,
}

/// The places a caller reports from: a resident's unit and building, a worker's buildings.
fn report_places(
    c: &mut dyn crate::store::Conn,
    caller: &Caller,
) -> crate::store::Result<Vec<(i64, String)>> {
    let mut out = Vec::new();
    if let Some(pid) = caller.person_id
        && let Some(r) = c.query_opt(
            "SELECT u.id, u.name, b.id, b.name FROM persons p JOIN places u ON u.id = p.unit_id \
             LEFT JOIN places b ON b.id = u.parent_id WHERE p.id = $1",
            crate::params![pid],
        )?
    {
        out.push((r.i64(0), format!("{} {}", r.str(3), r.str(1))));
        if let Some(b) = r.opt_i64(2) {
            out.push((b, r.str(3)));
        }
    }
    let viewer = Viewer::of(caller);
    if !viewer.verify.is_empty() {
        let mut p = Vec::new();
        let cond = crate::store::under_paths("path", &viewer.verify, 1, &mut p);
        for r in c.query(
            &format!("SELECT id, name, kind FROM places WHERE kind IN ('grid', 'building') AND {cond} ORDER BY path LIMIT 400"),
            &p,
        )? {
            out.push((r.i64(0), r.str(1)));
        }
    }
    Ok(out)
}

/// Buildings drawn on the map to mark a spot on, at most (beyond, the grids alone).
const PICKER_BUILDINGS: usize = 800;

/// The street's areas and buildings for the map a report's spot is marked on: its grids (or,
/// when none are drawn, its communities, or the street itself), its buildings as dots.
fn street_shapes(
    c: &mut dyn crate::store::Conn,
    street: i64,
) -> crate::store::Result<(Vec<map::Area>, Vec<map::Spot>)> {
    let rows = c.query(
        "SELECT id, name, kind, geojson FROM places WHERE (street_id = $1 OR id = $1) \
         AND kind IN ('street', 'community', 'grid', 'building') AND geojson IS NOT NULL ORDER BY path",
        crate::params![street],
    )?;
    let area = |kind: &str| -> Vec<map::Area> {
        rows.iter()
            .filter(|r| r.str(2) == kind)
            .map(|r| map::Area {
                label: r.str(1),
                href: None,
                geojson: r.str(3),
                highlight: false,
            })
            .collect()
    };
    let mut areas = area("grid");
    for kind in ["community", "street"] {
        if areas.is_empty() {
            areas = area(kind);
        }
    }
    let buildings: Vec<&crate::store::Row> =
        rows.iter().filter(|r| r.str(2) == "building").collect();
    let spots = if buildings.len() <= PICKER_BUILDINGS {
        buildings
            .into_iter()
            .map(|r| map::Spot {
                label: r.str(1),
                href: None,
                geojson: r.str(3),
                class: map::BUILDING,
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok((areas, spots))
}

fn field_views(cat: Option<&Category>, values: &[(String, String)], t: Tr) -> Vec<FieldView> {
    let Some(cat) = cat else { return Vec::new() };
    cat.fields
        .iter()
        .map(|f| {
            let name = format!("extra.{}", f.key);
            let value = values
                .iter()
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(",");
            FieldView {
                label: f.label(t.0).to_string(),
                kind: match f.kind {
                    FieldType::Text => "text",
                    FieldType::Number => "number",
                    FieldType::Date => "date",
                    FieldType::Single => "single",
                    FieldType::Multi => "multi",
                },
                required: f.required,
                options: f.options.clone(),
                chosen: value.split(',').map(str::to_string).collect(),
                value,
                name,
            }
        })
        .collect()
}

async fn new_page(
    state: &AppState,
    caller: &Caller,
    values: Vec<(String, String)>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    new_page_with(state, caller, values, error, None, status).await
}

async fn new_page_with(
    state: &AppState,
    caller: &Caller,
    values: Vec<(String, String)>,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let street = street_of(caller)?;
    let c2 = caller.clone();
    // One form: the category's tiles, the place and its map, the category's own fields (all
    // categories', the chosen one's shown), so that choosing a category needs no reload.
    let (cats, places, (areas, spots)) = state
        .db
        .read(move |c| {
            Ok((
                super::categories(c, street)?,
                report_places(c, &c2)?,
                street_shapes(c, street)?,
            ))
        })
        .await?;
    let get = |k: &str| {
        values
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let t = Tr(ctx().lang);
    let category = get("category");
    let channels = channels_for(caller)
        .into_iter()
        .filter(|c| *c != Channel::Api)
        .map(|c| (c.as_str(), t.k("case.channel", c.as_str())))
        .collect();
    let (lat, lon) = (get("lat"), get("lon"));
    let marked = lat.parse::<f64>().ok().zip(lon.parse::<f64>().ok());
    let page = NewPage {
        map: map::picker(&areas, &spots, t.s("case.page.map_title"), marked),
        lat,
        lon,
        share_location: !get("share_location").is_empty(),
        l: Layout::new(Some(caller)),
        tiles: cats
            .iter()
            .filter(|k| k.active)
            .map(|k| Tile {
                code: k.code.clone(),
                name: k.name(t.0).to_string(),
                on: k.code == category,
                icon: super::icons::icon(&k.code, &k.group),
            })
            .collect(),
        groups: cats
            .iter()
            .filter(|k| k.active && !k.fields.is_empty())
            .map(|k| FieldGroup {
                code: k.code.clone(),
                shown: k.code == category,
                fields: field_views(Some(k), if k.code == category { &values } else { &[] }, t),
            })
            .collect(),
        notice,
        places,
        place_id: get("place_id"),
        description: get("description"),
        address: get("address"),
        channels,
        channel: get("channel"),
        reporter_name: get("reporter_name"),
        reporter_contact: get("reporter_contact"),
        error,
    };
    Ok(render(&page, status))
}

#[derive(Deserialize)]
struct NewQuery {
    category: Option<String>,
    /// `1`: back from signing in again, with the report kept over the expired session.
    draft: Option<String>,
}

async fn new_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<NewQuery>,
    headers: axum::http::HeaderMap,
) -> AppResult<Response> {
    super::dedupe::warm_up_soon();
    if q.draft.as_deref() == Some("1")
        && let Some(values) = draft::restore(&headers)
    {
        let t = Tr(ctx().lang);
        let notice = Some(t.s("case.page.draft_back").to_string());
        return new_page_with(&state, &caller, values, None, notice, StatusCode::OK).await;
    }
    let values = q
        .category
        .map(|c| vec![("category".to_string(), c)])
        .unwrap_or_default();
    new_page(&state, &caller, values, None, StatusCode::OK).await
}

/// Photos a report may carry (more are added on the case page).
const REPORT_PHOTOS: usize = 3;

/// A report form's fields and the photos chosen with it (multipart when photos are attached;
/// a plain form otherwise).
async fn report_form(
    state: &Arc<AppState>,
    req: axum::extract::Request,
) -> AppResult<(Vec<(String, String)>, Vec<(Vec<u8>, bool)>)> {
    use axum::extract::FromRequest;
    let multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let ApiForm(form) = ApiForm::<Vec<(String, String)>>::from_request(req, state).await?;
        return Ok((form, Vec::new()));
    }
    let mut m = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|_| AppError::bad_request("error.bad_form"))?;
    let (mut form, mut photos) = (Vec::new(), Vec::new());
    while let Some(field) = m
        .next_field()
        .await
        .map_err(|_| AppError::bad_request("error.bad_form"))?
    {
        let name = field.name().unwrap_or("").to_string();
        let data = super::http::upload_bytes(field).await?;
        if name == "photo" {
            // A file input left empty still sends an empty part.
            if !data.is_empty() {
                photos.push(data.to_vec());
            }
        } else {
            form.push((name, String::from_utf8_lossy(&data).into_owned()));
        }
    }
    let share = form
        .iter()
        .any(|(k, v)| k == "share_location" && matches!(v.as_str(), "1" | "on" | "true"));
    Ok((form, photos.into_iter().map(|p| (p, share)).collect()))
}

async fn new_submit(
    State(state): State<Arc<AppState>>,
    MaybeSigned(caller): MaybeSigned,
    req: axum::extract::Request,
) -> AppResult<Response> {
    let had_draft = draft::held(req.headers());
    let (form, uploads) = report_form(&state, req).await?;
    let Some(caller) = caller else {
        // The session expired while the report was typed: keep it in this browser, say why
        // she must sign in again, and bring the form back filled once she has.
        let mut res =
            Redirect::to("/login?reason=expired&next=%2Fcases%2Fnew%3Fdraft%3D1").into_response();
        draft::set(&mut res, draft::keep(&form));
        return Ok(res);
    };
    // A form sent back with the reason; it cannot keep the files chosen (browsers do not
    // refill a file input), so it says so when there were any.
    let again = if uploads.is_empty() {
        ""
    } else {
        Tr(ctx().lang).s("case.page.photos_again")
    };
    let back = |e: AppError| {
        let msg = format!("{} {again}", e.message(ctx().lang));
        (Some(msg.trim_end().to_string()), e.status)
    };
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    check_csrf(&caller, &get("csrf"))?;
    // Photos are checked before the case is opened: a bad one sends the form back with the
    // reason, and no case is stored without the photos its reporter meant it to have.
    let photos = if uploads.len() > REPORT_PHOTOS {
        Err(AppError::invalid("case.err_report_photos"))
    } else {
        super::http::check_photos(uploads).await
    };
    let photos = match photos {
        Ok(p) => p,
        Err(e) if e.status.is_client_error() => {
            let (msg, status) = back(e);
            return new_page(&state, &caller, form, msg, status).await;
        }
        Err(e) => return Err(e),
    };
    let street = street_of(&caller)?;
    let code = get("category");
    let cat = state
        .db
        .read(move |c| super::category_by_code(c, street, &code))
        .await?;
    let mut extra = serde_json::Map::new();
    if let Some(cat) = &cat {
        for f in &cat.fields {
            let name = format!("extra.{}", f.key);
            let vals: Vec<String> = form
                .iter()
                .filter(|(k, v)| *k == name && !v.trim().is_empty())
                .map(|(_, v)| v.trim().to_string())
                .collect();
            if vals.is_empty() {
                continue;
            }
            let v = if f.kind == FieldType::Multi {
                serde_json::json!(vals)
            } else {
                serde_json::json!(vals.join(","))
            };
            extra.insert(f.key.clone(), v);
        }
    }
    // A spot is both numbers or none: anything else is said, not dropped.
    let point = match (get("lat"), get("lon")) {
        (a, o) if a.is_empty() && o.is_empty() => Some((None, None)),
        (a, o) => a
            .parse::<f64>()
            .ok()
            .zip(o.parse::<f64>().ok())
            .map(|(a, o)| (Some(a), Some(o))),
    };
    let Some((lat, lon)) = point else {
        let (msg, status) = back(AppError::invalid("case.err_point_pair"));
        return new_page(&state, &caller, form, msg, status).await;
    };
    let req = CaseRequest {
        category: get("category"),
        description: get("description"),
        place_id: get("place_id").parse().ok(),
        lat,
        lon,
        address: get("address"),
        extra,
        channel: Channel::parse(&get("channel")),
        reporter_name: get("reporter_name"),
        reporter_contact: get("reporter_contact"),
    };
    match intake(&state, &caller, req).await {
        Ok(out) => {
            let id = out.case.id.0;
            if !photos.is_empty() {
                // The case is stored; should its photos fail now (the disk), the case page
                // is shown all the same, where they can be added again.
                if let Err(e) =
                    super::http::attach_photos(&state, out.case, caller.user_id, photos).await
                {
                    tracing::warn!(case = id, error = %e.message(ctx().lang), "photos of a new report not stored");
                }
            }
            let mut res = Redirect::to(&format!("/cases/{id}?done=report")).into_response();
            if had_draft {
                draft::set(&mut res, draft::forget());
            }
            Ok(res)
        }
        Err(e) if e.status.is_client_error() => {
            let (msg, status) = back(e);
            new_page(&state, &caller, form, msg, status).await
        }
        Err(e) => Err(e),
    }
}

struct EventView {
    at: String,
    actor: String,
    action: String,
    to_state: String,
    note: String,
    level: Option<i64>,
}

struct ActionView {
    code: &'static str,
    label: &'static str,
    note: bool,
    /// The one primary button: what usually comes next.
    primary: bool,
    /// 受理并派单: an accept that dispatches too.
    dispatch: bool,
}

#[derive(Template)]
#[template(path = "cases/case.html")]
struct CasePage {
    l: Layout,
    c: super::Case,
    category: String,
    state_label: &'static str,
    channel: &'static str,
    level: &'static str,
    created: String,
    due: String,
    events: Vec<EventView>,
    actions: Vec<ActionView>,
    orgs: Vec<(i64, String, bool)>,
    extra: Vec<(String, String)>,
    duplicates: Vec<super::dedupe::Suggestion>,
    map: Option<String>,
    photos: Vec<super::photos::Photo>,
    can_upload: bool,
    /// The caller works on the case and something of it is masked.
    can_reveal: bool,
    purposes: &'static [&'static str],
    reveal_error: Option<String>,
    /// What the step just taken did (`?done=`), said once.
    done: Option<String>,
    /// The rating in words.
    satisfaction: Option<&'static str>,
    /// The ratings a reporter chooses from: (value, label).
    satisfactions: Vec<(&'static str, &'static str)>,
    /// Whom the case waits on, in words.
    waits_on: Option<String>,
    /// For the resident whose case it is: her grid worker's name and work phone.
    grid_worker: Option<(String, String)>,
    /// Works with cases (else the page leads back to "my reports").
    worker: bool,
}

/// A map of cases over the grid polygons of a street (or one grid).
fn cases_map(
    c: &mut dyn crate::store::Conn,
    area_paths: &[String],
    cases: &[super::Case],
    title: &str,
) -> crate::store::Result<Option<String>> {
    let mut p = Vec::new();
    let cond = crate::store::under_paths("path", area_paths, 1, &mut p);
    let grids = c.query(
        &format!("SELECT id, name, geojson FROM places WHERE kind = 'grid' AND geojson IS NOT NULL AND {cond} ORDER BY path LIMIT 300"),
        &p,
    )?;
    let areas: Vec<map::Area> = grids
        .iter()
        .map(|r| map::Area {
            label: r.str(1),
            href: Some(format!("/places/{}", r.i64(0))),
            geojson: r.str(2),
            highlight: false,
        })
        .collect();
    let spots: Vec<map::Spot> = cases
        .iter()
        .filter_map(|k| {
            Some(map::Spot {
                label: format!(
                    "#{} {}",
                    k.id.0,
                    k.description.chars().take(20).collect::<String>()
                ),
                href: Some(format!("/cases/{}", k.id.0)),
                geojson: serde_json::json!({"type": "Point", "coordinates": [k.lon?, k.lat?]})
                    .to_string(),
                class: if k.late { map::LATE_CASE } else { map::CASE },
            })
        })
        .collect();
    Ok(map::render(&areas, &spots, title))
}

/// A case's extra fields as the case page lists them: in the category's order, by their labels
/// in the page's language, whole numbers without a decimal point, choices joined; a value
/// whose field the category no longer has follows under its key.
fn extra_rows(
    extra: &serde_json::Value,
    fields: &[super::FieldDef],
    lang: crate::kernel::i18n::Lang,
) -> Vec<(String, String)> {
    use serde_json::Value;
    let Some(values) = extra.as_object() else {
        return Vec::new();
    };
    let show = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
            _ => n.to_string(),
        },
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string).unwrap_or(x.to_string()))
            .collect::<Vec<_>>()
            .join("、"),
        other => other.to_string(),
    };
    let mut out: Vec<(String, String)> = fields
        .iter()
        .filter_map(|f| {
            let v = values.get(&f.key)?;
            Some((f.label(lang).to_string(), show(v)))
        })
        .collect();
    out.extend(
        values
            .iter()
            .filter(|(k, _)| !fields.iter().any(|f| &f.key == *k))
            .map(|(k, v)| (k.clone(), show(v))),
    );
    out
}

#[derive(Deserialize, Default)]
struct CaseQuery {
    /// The step just taken, to say it was done.
    done: Option<String>,
}

async fn case_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<CaseQuery>,
) -> AppResult<Response> {
    case_view(&state, &caller, id, None, q.done.as_deref()).await
}

/// The message for a step just taken (`?done=`), when it is one.
fn done_message(t: Tr, done: &str, state: super::State) -> Option<String> {
    let label = match done {
        "accept_dispatch" | "report" | "photo" => t.k("case.action", done),
        other => t.k("case.action", Action::parse(other)?.as_str()),
    };
    Some(
        t.s("case.page.done")
            .replace("{action}", label)
            .replace("{state}", t.k("case.state", state.as_str())),
    )
}

/// Whom a case waits on, in words: the handler by name, "you" when it is the viewer.
pub fn waits_on_text(case: &super::Case, viewer: &Viewer, t: Tr) -> Option<(String, bool)> {
    use super::lifecycle::Actor;
    let who = super::lifecycle::waits_on(case)?;
    let actors = viewer.actors(case);
    let me = match who {
        Actor::Verifier => {
            actors.contains(&Actor::Verifier)
                && !viewer.handles(case)
                && case.resolver_id != Some(viewer.user_id)
        }
        a => actors.contains(&a),
    };
    if me {
        return Some((t.s("case.page.waits_me").to_string(), true));
    }
    let text = match who {
        Actor::Handler => case
            .handler_org_name
            .clone()
            .or(case.handler_user_name.clone())
            .unwrap_or_else(|| t.k("case.waits", "handler").to_string()),
        a => t.k("case.waits", a.as_str()).to_string(),
    };
    Some((text, false))
}

#[derive(Deserialize)]
struct RevealForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    note: String,
}

/// Shows the case page with its personal data in full, for a purpose (audited), or with the
/// reason a reveal was refused.
async fn reveal_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<RevealForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    case_view(&state, &caller, id, Some((&f.purpose, &f.note)), None).await
}

/// The case page; with `reveal` (a purpose and a note), its personal data in full.
async fn case_view(
    state: &Arc<AppState>,
    caller: &Caller,
    id: i64,
    reveal: Option<(&str, &str)>,
    done: Option<&str>,
) -> AppResult<Response> {
    let d = detail(state, caller, id).await?;
    let t = Tr(ctx().lang);
    let mut case = d.case;
    let mut timeline = d.timeline;
    // The reveal is logged after the page's own read, so that it is the last word.
    let (revealed, reveal_error, status) = match reveal {
        None => (None, None, StatusCode::OK),
        Some((purpose, note)) => {
            match super::http::reveal(state, caller, id, purpose, note).await {
                Ok(r) => (Some(r), None, StatusCode::OK),
                Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
                    (None, Some(e.message(ctx().lang)), e.status)
                }
                Err(e) => return Err(e),
            }
        }
    };
    let shown_in_full = revealed.is_some();
    if let Some(r) = revealed {
        case.reporter_contact = r.reporter_contact;
        case.description = r.description;
        case.address = r.address;
        case.rating_comment = r.rating_comment;
        for e in &mut timeline {
            if let Some(n) = r.notes.iter().find(|n| n.event_id == e.id) {
                e.note = n.note.clone();
            }
        }
    }
    // Someone working on the case may see in full what is masked: the reporter's contact,
    // numbers in its text.
    let masked = |s: &str| s.contains("****");
    let can_reveal = !shown_in_full
        && d.roles
            .iter()
            .any(|r| !matches!(r, super::lifecycle::Actor::Reporter))
        && (case.reporter_contact.is_some()
            || masked(&case.description)
            || masked(&case.address)
            || timeline.iter().any(|e| masked(&e.note)));
    let photos = d.photos;
    let can_upload = case.is_open() && !d.roles.is_empty();
    let viewer_of_page = Viewer::of(caller);
    let dispatching = d.actions.contains(&Action::Dispatch) || d.actions.contains(&Action::Merge);
    // 受理并派单 is offered with 受理: the dispatch's choices too.
    let d_accepting = d.actions.contains(&Action::Accept);
    let (street, cid, path) = (case.street_id, case.id.0, case.place_path.clone());
    let c2 = case.clone();
    let viewer = Viewer::of(caller);
    // The resident whose case it is may call her grid worker.
    let own_report =
        caller.has(crate::org::Role::Resident) && case.reporter_id == Some(caller.user_id);
    let (orgs, duplicates, map, fields, grid_worker) = state
        .db
        .read(move |c| {
            let category = super::category_by_id(c, c2.category_id)?;
            let grid_worker = if own_report {
                crate::org::users::grid_worker_phone(c, &c2.place_path)?
            } else {
                None
            };
            let dispatching = dispatching || d_accepting;
            let orgs = if dispatching {
                c.query(
                    "SELECT id, name FROM organisations WHERE street_id = $1 ORDER BY kind, code",
                    crate::params![street],
                )?
                .iter()
                .map(|r| (r.i64(0), r.str(1), Some(r.i64(0)) == c2.suggested_org_id))
                .collect()
            } else {
                Vec::new()
            };
            let dups = if dispatching {
                // The case's own terms as stored (its description shown here may be masked).
                let terms = c
                    .query_one("SELECT terms FROM cases WHERE id = $1", crate::params![cid])?
                    .str(0);
                let found = super::dedupe::suggest(
                    c,
                    &super::dedupe::Probe {
                        street_id: street,
                        category_id: c2.category_id,
                        radius_m: category.as_ref().map(|k| k.dup_radius_m).unwrap_or(100),
                        building_id: c2.building_id,
                        lat: c2.lat,
                        lon: c2.lon,
                        terms: &terms,
                        exclude: Some(cid),
                    },
                    crate::store::now_ms(),
                )?;
                super::dedupe::in_scope(&viewer, found)
            } else {
                Vec::new()
            };
            // The case's grid (the first four levels of its path) with the case on it.
            let grid: Vec<&str> = path.split('/').take(4).collect();
            let map = cases_map(
                c,
                &[grid.join("/")],
                std::slice::from_ref(&c2),
                &c2.place_name,
            )?;
            let fields = category.map(|k| k.fields).unwrap_or_default();
            Ok((orgs, dups, map, fields, grid_worker))
        })
        .await?;
    let shown: Vec<super::dedupe::Shown> = duplicates
        .iter()
        .cloned()
        .map(super::dedupe::Shown::Case)
        .collect();
    super::http::record_shown(state, caller, &shown).await?;
    let events = timeline
        .iter()
        .map(|e| EventView {
            at: when(e.at),
            actor: if e.actor == "system" {
                t.s("case.page.system").to_string()
            } else {
                e.actor.clone()
            },
            action: t.k("case.action", &e.action).to_string(),
            to_state: t.k("case.state", &e.to_state).to_string(),
            note: e.note.clone(),
            level: e
                .data
                .get("level")
                .and_then(|v| v.as_i64())
                .filter(|l| *l > 0),
        })
        .collect();
    let mut actions: Vec<ActionView> = Vec::new();
    for a in &d.actions {
        if *a == Action::Accept {
            // 受理并派单 comes first: accepting is most often followed by dispatching.
            actions.push(ActionView {
                code: "accept",
                label: t.k("case.action", "accept_dispatch"),
                note: false,
                primary: false,
                dispatch: true,
            });
        }
        actions.push(ActionView {
            code: a.as_str(),
            label: t.k("case.action", a.as_str()),
            note: a.needs_note(),
            primary: false,
            dispatch: false,
        });
    }
    actions.sort_by_key(|a| {
        if a.dispatch {
            0
        } else {
            Action::parse(a.code).map(|x| x.usual_rank()).unwrap_or(99) + 1
        }
    });
    if let Some(first) = actions.first_mut() {
        first.primary = true;
    }
    let done = done.and_then(|x| done_message(t, x, case.state));
    let waits_on = waits_on_text(&case, &viewer_of_page, t).map(|(w, _)| w);
    let satisfaction = case
        .satisfaction
        .map(|s| t.k("case.satisfaction", s.as_str()));
    let satisfactions = super::lifecycle::Satisfaction::ALL
        .iter()
        .map(|s| (s.as_str(), t.k("case.satisfaction", s.as_str())))
        .collect();
    let extra = extra_rows(&case.extra, &fields, t.0);
    let page = CasePage {
        l: Layout::new(Some(caller)),
        category: case.category_name(t.0).to_string(),
        state_label: t.k("case.state", case.state.as_str()),
        channel: t.k("case.channel", case.channel.as_str()),
        level: t.k("case.level", &case.level.to_string()),
        created: when(case.created_at),
        due: match case.clock.as_str() {
            "accept" | "resolve" => case.due_at.map(when).unwrap_or_default(),
            _ => String::new(),
        },
        c: case,
        events,
        actions,
        orgs,
        extra,
        duplicates,
        map,
        photos,
        can_upload,
        can_reveal,
        purposes: &crate::registry::access::PURPOSES,
        reveal_error,
        done,
        satisfaction,
        satisfactions,
        waits_on,
        grid_worker,
        worker: caller.browses_cases(),
    };
    Ok(render(&page, status))
}

async fn step_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    check_csrf(&caller, &get("csrf"))?;
    let action =
        Action::parse(&get("action")).ok_or_else(|| AppError::bad_request("error.bad_form"))?;
    let num = |k: &str| get(k).parse::<i64>().ok();
    let satisfaction = match get("satisfaction").as_str() {
        "" => None,
        s => Some(
            super::lifecycle::Satisfaction::parse(s)
                .ok_or_else(|| AppError::invalid("case.err_rating"))?,
        ),
    };
    let step = Step {
        action,
        note: get("note"),
        org_id: num("org_id"),
        user_id: num("user_id"),
        hours: num("hours"),
        rating: num("rating"),
        satisfaction,
        dispatch: get("dispatch") == "1",
        master_id: num("master_id"),
    };
    // A step that turns the case away or puts it aside is confirmed on a page of its own
    // first (no script needed), when the caller may take it at all.
    if action.destructive() && get("confirmed") != "1" {
        let d = detail(&state, &caller, id).await?;
        if d.actions.contains(&action) {
            let t = Tr(ctx().lang);
            let fields = form
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "csrf" | "confirmed" | "go"))
                .cloned()
                .collect();
            return Ok(render(
                &ConfirmPage {
                    l: Layout::new(Some(&caller)),
                    id,
                    category: d.case.category_name(t.0).to_string(),
                    description: d.case.description.chars().take(80).collect(),
                    action: t.k("case.action", action.as_str()),
                    warning: t.k("case.confirm", action.as_str()),
                    note: step.note.clone(),
                    fields,
                },
                StatusCode::OK,
            ));
        }
    }
    let done = if step.dispatch && action == Action::Accept {
        "accept_dispatch"
    } else {
        action.as_str()
    };
    take_step(&state, &caller, id, step).await?;
    Ok(Redirect::to(&format!("/cases/{id}?done={done}")).into_response())
}

/// The page that asks to confirm a step that turns a case away or puts it aside.
#[derive(Template)]
#[template(path = "cases/confirm.html")]
struct ConfirmPage {
    l: Layout,
    id: i64,
    category: String,
    description: String,
    action: &'static str,
    warning: &'static str,
    note: String,
    /// The step's form, sent again with the confirmation.
    fields: Vec<(String, String)>,
}

async fn photo_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    m: axum::extract::Multipart,
) -> AppResult<Response> {
    let (raw, share, csrf) = super::http::read_upload(m).await?;
    check_csrf(&caller, &csrf)?;
    super::http::add_photo(&state, &caller, id, raw, share).await?;
    Ok(Redirect::to(&format!("/cases/{id}?done=photo")).into_response())
}

#[derive(Template)]
#[template(path = "cases/map.html")]
struct MapPage {
    l: Layout,
    map: Option<String>,
    count: usize,
    late: usize,
}

async fn map_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let viewer = Viewer::of(&caller);
    // Workers see their places; a department or property company the places it serves, with
    // the cases it may see there (its own).
    if viewer.verify.is_empty() && viewer.orgs.is_empty() {
        return Err(AppError::forbidden());
    }
    let now = crate::store::now_ms();
    let title = Tr(ctx().lang).s("case.page.map");
    let (map, count, late) = state
        .db
        .read(move |c| {
            let cases = super::list(
                c,
                &viewer,
                &Filter {
                    state: Some("open".into()),
                    limit: Some(500),
                    ..Filter::default()
                },
                now,
            );
            let cases = match cases {
                Ok(v) => v,
                Err(super::CaseError::Store(e)) => return Err(e),
                Err(_) => Vec::new(),
            };
            let mut areas = viewer.verify.clone();
            if areas.is_empty() {
                for org in &viewer.orgs {
                    areas.extend(crate::org::places::org_serves(c, *org)?);
                }
            }
            let map = cases_map(c, &areas, &cases, title)?;
            Ok((map, cases.len(), cases.iter().filter(|k| k.late).count()))
        })
        .await?;
    Ok(render(
        &MapPage {
            l: Layout::new(Some(&caller)),
            map,
            count,
            late,
        },
        StatusCode::OK,
    ))
}

#[derive(Template)]
#[template(path = "cases/figures.html")]
struct FiguresPage {
    l: Layout,
    rows: Vec<OrgFigures>,
    /// The street's totals.
    street: OrgFigures,
    /// The periods offered: link, label, chosen.
    periods: Vec<(String, &'static str, bool)>,
}

impl FiguresPage {
    fn pct(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{:.0}%", x * 100.0))
            .unwrap_or_else(|| "—".into())
    }
    fn num(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{x}")).unwrap_or_else(|| "—".into())
    }
}

async fn figures_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<super::http::FiguresQuery>,
) -> AppResult<Response> {
    let since = q.since(crate::store::now_ms())?;
    let report = super::figures::for_caller(&state, &caller, since).await?;
    let t = Tr(ctx().lang);
    let periods = [
        (Some(7), "case.page.days7"),
        (Some(30), "case.page.days30"),
        (Some(90), "case.page.days90"),
        (None, "case.page.all_time"),
    ]
    .into_iter()
    .map(|(d, key)| {
        let href = match d {
            Some(d) => format!("/cases/figures?days={d}"),
            None => "/cases/figures".to_string(),
        };
        (href, t.s(key), d == q.days)
    })
    .collect();
    Ok(render(
        &FiguresPage {
            l: Layout::new(Some(&caller)),
            rows: report.organisations,
            street: report.street,
            periods,
        },
        StatusCode::OK,
    ))
}

struct InboxView {
    id: i64,
    label: &'static str,
    case_id: Option<i64>,
    note: String,
    at: String,
    read: bool,
}

#[derive(Template)]
#[template(path = "cases/inbox.html")]
struct InboxPage {
    l: Layout,
    items: Vec<InboxView>,
    unread: usize,
}

async fn inbox_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let uid = caller.user_id;
    let items = state.db.read(move |c| notify::inbox(c, uid, 200)).await?;
    let t = Tr(ctx().lang);
    let items = items
        .into_iter()
        .map(|i| InboxView {
            id: i.id,
            label: t.k("case.inbox", &i.kind),
            case_id: i.case_id,
            note: i.note,
            at: when(i.created_at),
            read: i.read,
        })
        .collect::<Vec<_>>();
    let unread = items.iter().filter(|i: &&InboxView| !i.read).count();
    Ok(render(
        &InboxPage {
            l: Layout::new(Some(&caller)),
            items,
            unread,
        },
        StatusCode::OK,
    ))
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn inbox_read(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfOnly>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let uid = caller.user_id;
    let now = crate::store::now_ms();
    state
        .db
        .write(move |c| notify::mark_read(c, uid, id, now))
        .await?;
    Ok(Redirect::to("/inbox").into_response())
}

/// Marks all the caller's messages read (the inbox page's button).
async fn inbox_read_all(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<CsrfOnly>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let uid = caller.user_id;
    let now = crate::store::now_ms();
    state
        .db
        .write(move |c| notify::mark_all_read(c, uid, now))
        .await?;
    Ok(Redirect::to("/inbox").into_response())
}

struct CategoryView {
    k: Category,
    name: String,
    routes: Vec<(String, String)>,
    fields: Vec<String>,
}

#[derive(Template)]
#[template(path = "cases/catalogue.html")]
struct CataloguePage {
    l: Layout,
    cats: Vec<CategoryView>,
    days: Vec<super::calendar::CalendarDay>,
    year: i32,
    editable: bool,
    error: Option<String>,
}

async fn catalogue_with(
    state: &AppState,
    caller: &Caller,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    if !caller.browses_cases() {
        return Err(AppError::forbidden());
    }
    let street = street_of(caller)?;
    let t = Tr(ctx().lang);
    let year = chrono::Utc::now()
        .format("%Y")
        .to_string()
        .parse()
        .unwrap_or(2026);
    let (cats, days) = state
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for k in super::categories(c, street)? {
                let routes = super::routes_of(c, k.id)?;
                out.push((k, routes));
            }
            Ok((out, super::calendar::year(c, street, year)?))
        })
        .await?;
    let cats = cats
        .into_iter()
        .map(|(k, routes)| CategoryView {
            name: k.name(t.0).to_string(),
            fields: k.fields.iter().map(|f| f.label(t.0).to_string()).collect(),
            routes,
            k,
        })
        .collect();
    Ok(render(
        &CataloguePage {
            l: Layout::new(Some(caller)),
            cats,
            days,
            year,
            editable: crate::org::access::is_street_admin(caller),
            error,
        },
        status,
    ))
}

async fn catalogue_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    catalogue_with(&state, &caller, None, StatusCode::OK).await
}

/// Changes a category's deadlines and settings (street administrators); its names and extra
/// fields stay as they are.
async fn catalogue_save(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(code): Path<String>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    check_csrf(&caller, &get("csrf"))?;
    if !crate::org::access::is_street_admin(&caller) {
        return Err(AppError::forbidden());
    }
    let street = street_of(&caller)?;
    let num = |k: &str| get(k).parse::<i64>().unwrap_or(-1);
    let (accept, resolve, priority, radius) = (
        num("accept_hours"),
        num("resolve_hours"),
        num("priority"),
        num("dup_radius_m"),
    );
    let (verify, public) = (get("verify_required") == "1", get("public") == "1");
    let about_people = get("about_people") == "1";
    let r = state
        .db
        .write_tx(move |c| -> Result<(), super::CaseError> {
            let k = super::category_by_code(c, street, &code)?.ok_or(super::CaseError::NotFound)?;
            super::save_category(
                c,
                street,
                &super::NewCategory {
                    code: k.code,
                    name_zh: k.name_zh,
                    name_en: k.name_en,
                    group: k.group,
                    fields: k.fields,
                    accept_hours: accept,
                    resolve_hours: resolve,
                    priority,
                    dup_radius_m: radius,
                    verify_required: verify,
                    public,
                    about_people: Some(about_people),
                },
            )?;
            Ok(())
        })
        .await;
    match r {
        Ok(()) => Ok(Redirect::to("/cases/catalogue").into_response()),
        Err(e) => {
            let e = AppError::from(e);
            if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND {
                let msg = e.message(ctx().lang);
                catalogue_with(&state, &caller, Some(msg), e.status).await
            } else {
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FieldDef, FieldType};
    use crate::kernel::i18n::Lang;

    fn field(key: &str, kind: FieldType, zh: &str, en: &str) -> FieldDef {
        FieldDef {
            key: key.into(),
            kind,
            label_zh: zh.into(),
            label_en: en.into(),
            required: false,
            options: Vec::new(),
        }
    }

    #[test]
    fn extra_fields_show_by_their_labels_in_the_categorys_order() {
        let fields = [
            field("stairwell", FieldType::Number, "单元号", "Stairwell"),
            field(
                "trapped",
                FieldType::Single,
                "是否有人被困",
                "Anyone trapped",
            ),
            field("kinds", FieldType::Multi, "类型", "Kinds"),
        ];
        let extra = serde_json::json!({
            "trapped": "否", "stairwell": 3.0, "kinds": ["门", "按钮"], "old_field": 2.5
        });
        assert_eq!(
            super::extra_rows(&extra, &fields, Lang::Zh),
            vec![
                ("单元号".to_string(), "3".to_string()),
                ("是否有人被困".into(), "否".into()),
                ("类型".into(), "门、按钮".into()),
                ("old_field".into(), "2.5".into()),
            ]
        );
        assert_eq!(
            super::extra_rows(&extra, &fields, Lang::En)[1].0,
            "Anyone trapped"
        );
        assert!(super::extra_rows(&serde_json::Value::Null, &fields, Lang::Zh).is_empty());
    }
}
