//! The cockpit's pages: the desktop page and the big-screen layout (`?layout=screen`), the
//! figures fragment the page's script refetches, the live ticks (SSE), and the exports of a
//! chart (SVG) and of a measure's data (XLSX).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::Stream;
use serde::Deserialize;

mod export;
mod svg;

use super::service::{self, Board, Viewer};
use crate::http::area::Measure;
use crate::http::{Path, Query, Signed};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::{Lang, Tr};
use crate::state::AppState;
use crate::web::{Layout, render};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/cockpit", get(page))
        .route("/cockpit/figures", get(figures))
        .route("/cockpit/events", get(events))
        .route("/cockpit/{measure}/map.svg", get(map_svg))
        .route("/cockpit/{measure}/trend.svg", get(trend_svg))
        .route("/cockpit/{measure}/data.xlsx", get(data_xlsx))
        .route("/static/cockpit.js", get(asset_js))
}

const COCKPIT_JS: &str = include_str!("../../../static/cockpit.js");

async fn asset_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        COCKPIT_JS,
    )
        .into_response()
}

#[derive(Deserialize, Default)]
pub(crate) struct CockpitQuery {
    /// `screen`: the big-screen layout.
    layout: Option<String>,
    /// The measure the map is coloured by.
    measure: Option<String>,
    /// The trends' span: 7, 30 or 90 days.
    days: Option<i64>,
}

impl CockpitQuery {
    fn screen(&self) -> bool {
        self.layout.as_deref() == Some("screen")
    }
    fn days(&self) -> AppResult<i64> {
        match self.days.unwrap_or(30) {
            d @ (7 | 30 | 90) => Ok(d),
            _ => Err(AppError::invalid("cockpit.err_days")),
        }
    }
}

/// The "as of" time in the reader's conventions: 2026年12月5日 14:05, or 2026-12-05 14:05.
pub fn as_of_text(ms: i64, lang: Lang) -> String {
    let Some(t) = crate::kernel::time::local(ms) else {
        return String::new();
    };
    match lang {
        Lang::Zh => t.format("%Y年%-m月%-d日 %H:%M").to_string(),
        _ => t.format("%Y-%m-%d %H:%M").to_string(),
    }
}

/// One figure's tile.
pub struct Tile {
    pub id: &'static str,
    pub label: &'static str,
    pub value: String,
    /// Definition and as-of, on hover.
    pub title: String,
    pub unit: &'static str,
    pub chosen: bool,
    pub href: String,
    /// The trend chart (SVG), on the desktop page.
    pub trend: String,
}

/// What the figures fragment shows.
pub struct Figures {
    pub map: String,
    pub legend: Vec<(&'static str, String)>,
    pub tiles: Vec<Tile>,
    pub as_of: String,
    pub measure_label: &'static str,
    pub measure_id: &'static str,
    pub grids: Vec<(String, String, String)>,
    /// The chosen measure per handling organisation: (name, value shown, bar width 0–100);
    /// `None` when the measure has no such breakdown.
    pub orgs: Option<Vec<(String, String, u32)>>,
}

fn unit_key(m: &Measure) -> &'static str {
    use crate::http::area::Unit;
    match m.unit {
        Unit::Count => "cockpit.unit.count",
        Unit::Percent => "cockpit.unit.percent",
        Unit::Hours => "cockpit.unit.hours",
        Unit::Rating => "cockpit.unit.rating",
    }
}

async fn build(
    state: &Arc<AppState>,
    v: &Viewer,
    q: &CockpitQuery,
    with_trends: bool,
) -> AppResult<(Arc<Board>, Figures)> {
    let t = Tr(ctx().lang);
    let board = service::board(state, v).await?;
    let chosen = match q.measure.as_deref() {
        Some(id) => service::measure(id)?.id,
        None => board.figures.first().map_or("", |f| f.measure.id),
    };
    let as_of = as_of_text(board.as_of, ctx().lang);
    let protect = q.screen();
    let days = q.days()?;
    let mut tiles = Vec::new();
    let mut map = String::new();
    let mut legend = Vec::new();
    let mut grids = Vec::new();
    let mut measure_label = "";
    let mut orgs = None;
    let trends = if with_trends {
        let list: Vec<&'static Measure> = board.figures.iter().map(|f| f.measure).collect();
        service::trends(state, v, &list, days).await?
    } else {
        Vec::new()
    };
    for (i, f) in board.figures.iter().enumerate() {
        let m = f.measure;
        let title = format!(
            "{}: {} · {} {}",
            t.s(m.label),
            t.s(m.definition),
            t.s("cockpit.as_of"),
            as_of
        );
        let trend = match trends.get(i) {
            Some(points) => svg::trend(points, &format!("{} · {}", t.s(m.label), days)),
            None => String::new(),
        };
        tiles.push(Tile {
            id: m.id,
            label: m.label,
            value: service::shown(m, f.total, protect),
            title: title.clone(),
            unit: unit_key(m),
            chosen: m.id == chosen,
            href: format!(
                "/cockpit?measure={}{}",
                m.id,
                if protect { "&layout=screen" } else { "" }
            ),
            trend,
        });
        if m.id == chosen {
            measure_label = m.label;
            let cells: Vec<svg::Cell> = board
                .grids
                .iter()
                .zip(&f.grids)
                .map(|(g, v)| {
                    let shown = service::shown(m, *v, protect);
                    svg::Cell {
                        label: g.name.clone(),
                        title: format!(
                            "{} · {}: {} · {} · {} {}",
                            g.name,
                            t.s(m.label),
                            shown,
                            t.s(m.definition),
                            t.s("cockpit.as_of"),
                            as_of
                        ),
                        href: (m.drill)(g.id, &g.path),
                        geojson: g.geojson.clone(),
                        value: *v,
                        shown,
                    }
                })
                .collect();
            for c in &cells {
                grids.push((c.label.clone(), c.shown.clone(), c.href.clone()));
            }
            if m.by_org.is_some() {
                let top = f.by_org.iter().filter_map(|o| o.1).fold(0.0, f64::max);
                let mut list: Vec<(String, String, u32, f64)> = f
                    .by_org
                    .iter()
                    .map(|(id, v)| {
                        let name = board
                            .org_names
                            .get(id)
                            .cloned()
                            .unwrap_or_else(|| format!("#{id}"));
                        let width = match v {
                            Some(x) if top > 0.0 => (x / top * 100.0).round() as u32,
                            _ => 0,
                        };
                        (
                            name,
                            service::shown(m, *v, protect),
                            width,
                            v.unwrap_or(-1.0),
                        )
                    })
                    .collect();
                list.sort_by(|a, b| b.3.total_cmp(&a.3).then_with(|| a.0.cmp(&b.0)));
                orgs = Some(list.into_iter().map(|(n, s, w, _)| (n, s, w)).collect());
            }
            map = svg::map(&cells, t.s(m.label));
            let max = f.grids.iter().flatten().fold(0.0, |a: f64, b| a.max(*b));
            legend = svg::legend(max)
                .into_iter()
                .map(|(q, lo, hi)| {
                    let text = if q == "q0" {
                        "0".to_string()
                    } else {
                        format!(
                            "{}–{}",
                            service::shown(m, Some(lo), false),
                            service::shown(m, Some(hi), false)
                        )
                    };
                    (q, text)
                })
                .collect();
        }
    }
    let measure_id = tiles.iter().find(|t| t.chosen).map_or("", |t| t.id);
    Ok((
        board,
        Figures {
            map,
            legend,
            tiles,
            as_of,
            measure_label,
            measure_id,
            grids,
            orgs,
        },
    ))
}

#[derive(Template)]
#[template(path = "cockpit/page.html")]
struct Page {
    l: Layout,
    street: String,
    f: Figures,
    days: i64,
    spans: [(i64, &'static str); 3],
    query: String,
}

#[derive(Template)]
#[template(path = "cockpit/screen.html")]
struct Screen {
    l: Layout,
    street: String,
    f: Figures,
    query: String,
}

#[derive(Template)]
#[template(path = "cockpit/figures.html")]
struct Fragment {
    l: Layout,
    f: Figures,
    screen: bool,
}

async fn page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<CockpitQuery>,
) -> AppResult<Response> {
    let v = service::viewer(&caller)?;
    let screen = q.screen();
    let (board, f) = build(&state, &v, &q, !screen).await?;
    let query = format!(
        "layout={}&measure={}",
        if screen { "screen" } else { "desk" },
        f.measure_id
    );
    let l = Layout::new(Some(&caller));
    if screen {
        return Ok(render(&Screen {
            l,
            street: board.street_name.clone(),
            f,
            query,
        }));
    }
    Ok(render(&Page {
        l,
        street: board.street_name.clone(),
        days: q.days()?,
        spans: [
            (7, "cockpit.days_7"),
            (30, "cockpit.days_30"),
            (90, "cockpit.days_90"),
        ],
        f,
        query,
    }))
}

/// The figures alone (map, legend, tiles), for the page's script to swap in on a tick.
async fn figures(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<CockpitQuery>,
) -> AppResult<Response> {
    let v = service::viewer(&caller)?;
    let (_, f) = build(&state, &v, &q, false).await?;
    Ok(render(&Fragment {
        l: Layout::new(Some(&caller)),
        f,
        screen: q.screen(),
    }))
}

/// Ticks when a figure of the viewer's street may have moved (a case, an alert, a resident);
/// the page then refetches its figures, within the viewer's scope.
async fn events(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let v = service::viewer(&caller)?;
    let rx = super::live(&state).subscribe(v.street_id);
    // The totals the first tick is judged against, read before the stream says it is open.
    if let Some(totals) = super::jobs::fingerprint(&state, v.street_id).await {
        super::live(&state).seed(v.street_id, totals);
    }
    let stream = futures_util::stream::unfold((rx, false), |(mut rx, opened)| async move {
        if !opened {
            return Some((Ok(Event::default().event("ready").data("{}")), (rx, true)));
        }
        match rx.recv().await {
            Ok(()) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                Some((Ok(Event::default().event("tick").data("{}")), (rx, true)))
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => None,
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn svg_response(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

/// The grid map of a measure as an SVG file (the office's figures: no "<5").
async fn map_svg(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(measure): Path<String>,
) -> AppResult<Response> {
    let v = service::viewer(&caller)?;
    let q = CockpitQuery {
        measure: Some(measure.clone()),
        ..Default::default()
    };
    let (_, f) = build(&state, &v, &q, false).await?;
    Ok(svg_response(&format!("{measure}-map.svg"), with_ns(f.map)))
}

#[derive(Deserialize)]
pub(crate) struct DaysQuery {
    days: Option<i64>,
}

/// A measure's trend chart as an SVG file.
async fn trend_svg(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(measure): Path<String>,
    Query(q): Query<DaysQuery>,
) -> AppResult<Response> {
    let v = service::viewer(&caller)?;
    let m = service::measure(&measure)?;
    let days = q.days.unwrap_or(30);
    let points = service::trend(&state, &v, m, days).await?;
    let t = Tr(ctx().lang);
    let body = svg::trend(&points, &format!("{} · {}", t.s(m.label), days));
    Ok(svg_response(
        &format!("{measure}-{days}.svg"),
        with_ns(body),
    ))
}

/// The drawings' colours and type, for an SVG file opened outside the page (the page styles
/// them from static/app.css; a file, or the PNG drawn from it, carries its own).
const FILE_STYLE: &str = "<style>text{font-family:'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif}\
.cell{stroke:#fff;stroke-width:2}.lbl{font-size:13px;text-anchor:middle;fill:#222}\
.val{font-size:15px;font-weight:700;text-anchor:middle;fill:#111}\
.q0 .cell{fill:#f1f3f5}.q1 .cell{fill:#fde0c5}.q2 .cell{fill:#facb96}.q3 .cell{fill:#f08c4a}\
.q4 .cell{fill:#c8321f}.qn .cell{fill:#e9ecef}.line{fill:none;stroke:#b3261e;stroke-width:2}\
.pt{fill:#b3261e}.axis{font-size:9px;fill:#666}.axis.end{text-anchor:end}</style>";

/// A standalone SVG file: its XML declaration, a white ground and its own style.
fn with_ns(svg: String) -> String {
    let body = match svg.find('>') {
        Some(i) => format!(
            "{}{FILE_STYLE}<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>{}",
            &svg[..=i],
            &svg[i + 1..]
        ),
        None => svg,
    };
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}")
}

/// A measure's data as XLSX: a row per grid (value now) and the daily trend over 90 days.
async fn data_xlsx(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(measure): Path<String>,
) -> AppResult<Response> {
    let v = service::viewer(&caller)?;
    let bytes = export::xlsx(&state, &v, service::measure(&measure)?, ctx().lang).await?;
    Ok(crate::http::file_response(
        &format!("{measure}.xlsx"),
        bytes,
    ))
}
