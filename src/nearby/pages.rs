//! The nearby pages, phone first: a community's public reports on a map and in a list (what
//! FixMyStreet shows first), one report with "me too" and follow, the organisations' figures,
//! the caller's follows, and the landing page of a message's link (the report, and a button to
//! unfollow, without signing in).

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::follows::Follow;
use super::service::{self, Community, Figures, LinkView, PERIODS, ReportView, Reports};
use crate::cases::public::PublicReport;
use crate::http::{ApiForm, MaybeSigned, Path, Query, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::AppResult;
use crate::kernel::i18n::Tr;
use crate::kernel::time::{local_date, local_time};
use crate::org::Caller;
use crate::state::AppState;
use crate::web::{Layout, map, render};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/nearby", get(list_page))
        .route("/nearby/figures", get(figures_page))
        .route(
            "/nearby/follows",
            get(follows_page).post(follow_area_submit),
        )
        .route("/nearby/follows/{id}/end", post(end_submit))
        .route("/nearby/reports/{id}", get(report_page))
        .route("/nearby/reports/{id}/support", post(support_submit))
        .route("/nearby/reports/{id}/follow", post(follow_submit))
        .route("/nearby/unfollow/{token}", get(link_page).post(link_submit))
}

fn when(ms: i64) -> String {
    local_time(ms)
}

fn day(ms: i64) -> String {
    local_date(ms)
}

/// A report as a list row shows it.
struct Row {
    r: PublicReport,
    reported: String,
    fixed: String,
    supported: bool,
    following: bool,
    own: bool,
}

#[derive(Template)]
#[template(path = "nearby/list.html")]
struct ListPage {
    l: Layout,
    communities: Vec<Community>,
    community: Option<Community>,
    rows: Vec<Row>,
    open: usize,
    fixed: usize,
    categories: Vec<(String, String)>,
    category: String,
    map: Option<String>,
    points: String,
}

impl ListPage {
    fn counts(&self) -> String {
        self.l.t.fill(
            "nearby.counts",
            &[("open", &self.open), ("fixed", &self.fixed)],
        )
    }
}

#[derive(Deserialize)]
struct ListQuery {
    community: Option<i64>,
    category: Option<String>,
}

/// The reports with a location as GeoJSON points for the map with pan and zoom.
fn points(rows: &[Row]) -> String {
    let features: Vec<serde_json::Value> = rows
        .iter()
        .filter_map(|x| {
            let (lat, lon) = x.r.lat.zip(x.r.lon)?;
            Some(serde_json::json!({
                "type": "Feature",
                "properties": {
                    "href": format!("/nearby/reports/{}", x.r.id),
                    "label": format!("#{} {} · {}", x.r.id, x.r.category_name, x.r.status_text),
                    "count": 1,
                    "late": false,
                },
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            }))
        })
        .collect();
    serde_json::json!({"type": "FeatureCollection", "features": features}).to_string()
}

async fn list_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let communities = service::communities(&state, &caller).await?;
    let chosen = match q.community {
        Some(id) => Some(service::community(&state, &caller, id).await?),
        None => communities.first().cloned(),
    };
    let t = Tr(ctx().lang);
    let category = q.category.unwrap_or_default();
    let (rows, map, categories) = match &chosen {
        None => (Vec::new(), None, Vec::new()),
        Some(k) => {
            let list: Reports =
                service::reports(&state, &caller, k.id, Some(category.clone())).await?;
            let rows: Vec<Row> = list
                .reports
                .into_iter()
                .map(|r| Row {
                    reported: day(r.created_at),
                    fixed: r.resolved_at.map(day).unwrap_or_default(),
                    supported: list.supported.contains(&r.id),
                    following: list.following.contains(&r.id),
                    own: list.own.contains(&r.id),
                    r,
                })
                .collect();
            let (path, street, title) = (k.path.clone(), k.street_id, k.name.clone());
            let spots: Vec<map::Spot> = rows
                .iter()
                .filter_map(|x| {
                    let (lat, lon) = x.r.lat.zip(x.r.lon)?;
                    Some(map::Spot {
                        label: format!("#{} {}", x.r.id, x.r.category_name),
                        href: Some(format!("/nearby/reports/{}", x.r.id)),
                        geojson: serde_json::json!({"type": "Point", "coordinates": [lon, lat]})
                            .to_string(),
                        class: map::CASE,
                    })
                })
                .collect();
            let (grids, cats) = state
                .db
                .read(move |c| {
                    Ok((
                        crate::cases::places::drawn_grids(c, &[path])?,
                        crate::cases::categories(c, street)?,
                    ))
                })
                .await?;
            let areas: Vec<map::Area> = grids
                .iter()
                .map(|r| map::Area {
                    label: r.str(1),
                    href: None,
                    geojson: r.str(2),
                    highlight: false,
                })
                .collect();
            let categories = cats
                .iter()
                .filter(|k| k.active && k.publishable())
                .map(|k| (k.code.clone(), k.name(t.0).to_string()))
                .collect();
            (rows, map::render(&areas, &spots, &title), categories)
        }
    };
    let open = rows.iter().filter(|x| x.r.status == "open").count();
    let page = ListPage {
        l: Layout::new(Some(&caller)),
        points: points(&rows),
        fixed: rows.len() - open,
        open,
        communities,
        community: chosen,
        rows,
        categories,
        category,
        map,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "nearby/report.html")]
struct ReportPage {
    l: Layout,
    v: ReportView,
    reported: String,
    updated: String,
    fixed: String,
    done: Option<String>,
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn report_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let v = service::report(&state, &caller, id).await?;
    let t = Tr(ctx().lang);
    let done = match q.done.as_deref() {
        Some("support") => Some(t.s("case.page.me_too_done").to_string()),
        Some("follow") => Some(t.s("nearby.followed").to_string()),
        Some("unfollow") => Some(t.s("nearby.unfollowed").to_string()),
        _ => None,
    };
    let page = ReportPage {
        l: Layout::new(Some(&caller)),
        reported: when(v.report.created_at),
        updated: when(v.report.updated_at),
        fixed: v.report.resolved_at.map(when).unwrap_or_default(),
        v,
        done,
    };
    Ok(render(&page))
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
    /// follow: `1` to follow, `0` to stop.
    #[serde(default)]
    on: String,
}

async fn support_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::support(&state, &caller, id).await?;
    Ok(Redirect::to(&format!("/nearby/reports/{id}?done=support")).into_response())
}

async fn follow_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let done = if f.on == "0" {
        service::unfollow_case(&state, &caller, id).await?;
        "unfollow"
    } else {
        service::follow_case(&state, &caller, id).await?;
        "follow"
    };
    Ok(Redirect::to(&format!("/nearby/reports/{id}?done={done}")).into_response())
}

#[derive(Template)]
#[template(path = "nearby/figures.html")]
struct FiguresPage {
    l: Layout,
    f: Option<Figures>,
    periods: &'static [i64],
}

impl FiguresPage {
    fn pct(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{:.0}%", x * 100.0))
            .unwrap_or_else(|| "—".into())
    }
    /// A source named in both languages ("中文 / English"): the reader's half.
    fn source(&self, s: &str) -> String {
        crate::kernel::i18n::pick(s, self.l.t.0)
    }
    fn days(&self, d: &i64) -> String {
        self.l.t.fill("nearby.days", &[("n", d)])
    }
    fn num(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "—".into())
    }
}

#[derive(Deserialize)]
struct FiguresQuery {
    community: Option<i64>,
    days: Option<i64>,
}

async fn figures_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<FiguresQuery>,
) -> AppResult<Response> {
    let id = match q.community {
        Some(id) => Some(id),
        None => service::communities(&state, &caller)
            .await?
            .first()
            .map(|k| k.id),
    };
    let f = match id {
        Some(id) => Some(service::figures(&state, &caller, id, q.days).await?),
        None => None,
    };
    let page = FiguresPage {
        l: Layout::new(Some(&caller)),
        f,
        periods: &PERIODS,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "nearby/follows.html")]
struct FollowsPage {
    l: Layout,
    follows: Vec<(Follow, String)>,
    communities: Vec<Community>,
    categories: Vec<(String, String)>,
    done: Option<String>,
}

async fn follows_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let t = Tr(ctx().lang);
    let follows = service::my_follows(&state, &caller).await?;
    let communities = service::communities(&state, &caller).await?;
    let street = caller.street_id.unwrap_or_default();
    let cats = state
        .db
        .read(move |c| crate::cases::categories(c, street))
        .await?;
    let cat_name = |code: &str| {
        cats.iter()
            .find(|k| k.code == code)
            .map(|k| k.name(t.0).to_string())
            .unwrap_or_else(|| t.s("nearby.any_category").to_string())
    };
    let follows = follows
        .into_iter()
        .map(|f| {
            let what = match (f.case_id, f.area_id) {
                (Some(id), _) => t.fill("nearby.follow_case", &[("id", &id)]),
                (None, Some(a)) => {
                    let place = communities
                        .iter()
                        .find(|k| k.id == a)
                        .map(|k| k.name.clone())
                        .unwrap_or_else(|| format!("#{a}"));
                    t.fill(
                        "nearby.follow_area",
                        &[("place", &place), ("category", &cat_name(&f.category))],
                    )
                }
                _ => String::new(),
            };
            (f, what)
        })
        .collect();
    let categories = cats
        .iter()
        .filter(|k| k.active && k.publishable())
        .map(|k| (k.code.clone(), k.name(t.0).to_string()))
        .collect();
    let done = match q.done.as_deref() {
        Some("follow") => Some(t.s("nearby.followed").to_string()),
        Some("unfollow") => Some(t.s("nearby.unfollowed").to_string()),
        _ => None,
    };
    let page = FollowsPage {
        l: Layout::new(Some(&caller)),
        follows,
        communities,
        categories,
        done,
    };
    Ok(render(&page))
}

#[derive(Deserialize)]
struct AreaForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    area_id: String,
    #[serde(default)]
    category: String,
}

async fn follow_area_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<AreaForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let area = f
        .area_id
        .trim()
        .parse::<i64>()
        .map_err(|_| crate::kernel::error::AppError::invalid("nearby.err_area"))?;
    service::follow_area(&state, &caller, area, f.category).await?;
    Ok(Redirect::to("/nearby/follows?done=follow").into_response())
}

async fn end_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::unfollow(&state, &caller, id).await?;
    Ok(Redirect::to("/nearby/follows?done=unfollow").into_response())
}

#[derive(Template)]
#[template(path = "nearby/link.html")]
struct LinkPage {
    l: Layout,
    v: LinkView,
    token: String,
    done: bool,
}

fn layout(caller: &Option<Caller>) -> Layout {
    Layout::new(caller.as_ref())
}

/// The landing page of a message's link: the report as the public sees it, and a button to
/// unfollow (a form, so that a mail scanner opening the link unfollows nothing).
async fn link_page(
    State(state): State<Arc<AppState>>,
    MaybeSigned(caller): MaybeSigned,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let v = service::look(&state, token.clone()).await?;
    let page = LinkPage {
        l: layout(&caller),
        v,
        token,
        done: false,
    };
    Ok(render(&page))
}

async fn link_submit(
    State(state): State<Arc<AppState>>,
    MaybeSigned(caller): MaybeSigned,
    Path(token): Path<String>,
) -> AppResult<Response> {
    service::unfollow_by_link(&state, token.clone()).await?;
    let v = service::look(&state, token.clone()).await?;
    let page = LinkPage {
        l: layout(&caller),
        v,
        token,
        done: true,
    };
    Ok(render(&page))
}

/// A home card for residents: the public reports of her community.
#[derive(Template)]
#[template(path = "nearby/home_card.html")]
struct HomeCard {
    title: &'static str,
    text: String,
}

pub async fn home_cards(
    state: Arc<AppState>,
    caller: Caller,
) -> anyhow::Result<Vec<crate::http::area::Card>> {
    if !caller.has(crate::org::Role::Resident) {
        return Ok(Vec::new());
    }
    let Some(k) = service::communities(&state, &caller)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?
        .into_iter()
        .next()
    else {
        return Ok(Vec::new());
    };
    let list = service::reports(&state, &caller, k.id, None)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?;
    let open = list.reports.iter().filter(|r| r.status == "open").count();
    let t = Tr(ctx().lang);
    let html = HomeCard {
        title: t.s("nearby.title"),
        text: t.fill("nearby.home_text", &[("place", &k.name), ("n", &open)]),
    }
    .render()?;
    Ok(vec![crate::http::area::Card { order: 12, html }])
}
