//! The area contract: what an area hands the application — its routes, its part of the OpenAPI
//! document, its own shared state, its background jobs and its navigation entries. `app` folds
//! the list of areas into one router, one document and one set of jobs; an area never names
//! another area's contract, and adding an area is its folder plus one line in `app::areas`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use crate::org::Caller;
use crate::state::{AppState, AreaStates};

/// A boxed future, for the function pointers of the contract.
pub type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What one area contributes.
pub struct Area {
    /// Its folder's name (`cases`), used in logs.
    pub name: &'static str,
    /// Its routes (pages and JSON API).
    pub router: fn() -> Router<Arc<AppState>>,
    /// Its paths and schemas of the OpenAPI document.
    pub openapi: fn() -> utoipa::openapi::OpenApi,
    /// Registers its own shared state, made once at start (given the metrics registry).
    pub state: fn(AreaStates, &prometheus::Registry) -> AreaStates,
    /// Its background jobs, started when the server starts and stopped when it stops.
    pub jobs: fn() -> Vec<Job>,
    /// Its entries in the main navigation, in order.
    pub nav: &'static [Nav],
    /// Its cards on the caller's home page (none for most areas).
    pub cards: Cards,
    /// Its measures on the cockpit (none for most areas): each reads what the area keeps
    /// already aggregated, per grid, for the places a viewer may see.
    pub measures: &'static [Measure],
}

/// What a measure is asked for: one street's grids within a viewer's scope, and the paths of
/// the places the viewer reads (her community, or the whole street) for the total.
#[derive(Clone, Debug)]
pub struct MeasureAsk {
    pub street_id: i64,
    /// (place id, path) of each grid shown.
    pub grids: Vec<(i64, String)>,
    /// The viewer's places: the total counts everything under them.
    pub roots: Vec<String>,
}

/// A measure's values: per grid (by place id; absent or `None`: nothing to measure, such as a
/// rate without cases) and the total over the viewer's places.
#[derive(Clone, Debug, Default)]
pub struct Reading {
    pub grids: Vec<(i64, Option<f64>)>,
    pub total: Option<f64>,
}

/// How a measure's value reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A count of cases, alerts, devices.
    Count,
    /// A share, 0–100.
    Percent,
    /// Hours.
    Hours,
    /// A rating out of 5.
    Rating,
}

/// One measure an area contributes to the cockpit. The cockpit names no area: it reads the
/// list `app` folds from the areas ([`measures`]).
pub struct Measure {
    /// Stable id, used in URLs and the trend table (`cases.open`).
    pub id: &'static str,
    /// Catalogue key of its label.
    pub label: &'static str,
    /// Catalogue key of its definition (shown on hover).
    pub definition: &'static str,
    pub unit: Unit,
    /// Counts persons: below 5 in a cell it is shown as "<5" outside the office.
    pub persons: bool,
    /// Its values for a viewer's grids, read from pre-aggregated data.
    pub read: fn(Arc<AppState>, MeasureAsk) -> BoxFut<anyhow::Result<Reading>>,
    /// The list behind a grid's value (the area's own list page, filtered), given the grid's
    /// place id and path.
    pub drill: fn(i64, &str) -> String,
    /// Its values per organisation that handles what it counts, over the viewer's places
    /// (none for most measures): `(organisation id, value)`.
    pub by_org: Option<ByOrg>,
}

/// A measure's read per organisation.
pub type ByOrg = fn(Arc<AppState>, MeasureAsk) -> BoxFut<anyhow::Result<Vec<(i64, Option<f64>)>>>;

/// What an area's storage gives for a measure per organisation: the additive parts of the
/// value per organisation id, over a street's places under the viewer's roots.
pub type OrgParts =
    fn(&mut dyn crate::store::Conn, i64, &[String]) -> crate::store::Result<Vec<(i64, Vec<i64>)>>;

/// Reads a measure per organisation from its parts, in one query, summed and finished.
pub async fn summed_by_org(
    state: Arc<AppState>,
    ask: MeasureAsk,
    parts: OrgParts,
    finish: Finish,
) -> anyhow::Result<Vec<(i64, Option<f64>)>> {
    let (street, roots) = (ask.street_id, ask.roots);
    let rows = state.db.read(move |c| parts(c, street, &roots)).await?;
    let mut sums: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    for (org, parts) in rows {
        let s = sums.entry(org).or_insert_with(|| vec![0; parts.len()]);
        for (k, n) in parts.iter().enumerate() {
            s[k] += n;
        }
    }
    Ok(sums.into_iter().map(|(o, s)| (o, finish(&s))).collect())
}

/// What an area's storage gives for a measure whose kept rows add up: for a street's places
/// under the viewer's `roots`, the additive parts of the value at each place path it keeps
/// (a count; the on-time and resolved cases of a rate; a histogram of hours), in one query.
/// A path may come more than once (two kept tables): its parts add.
pub type Parts = fn(
    &mut dyn crate::store::Conn,
    i64,
    &[String],
) -> crate::store::Result<Vec<(String, Vec<i64>)>>;

/// How a measure's summed parts make its value (`None`: nothing to measure, such as a rate
/// without cases).
pub type Finish = fn(&[i64]) -> Option<f64>;

/// The value of a count: its one part.
pub fn count(parts: &[i64]) -> Option<f64> {
    Some(parts.first().copied().unwrap_or(0) as f64)
}

/// Reads a measure given by its parts: one query for every grid and the total, the rows summed
/// into the grid each lies in ([`sum_parts`]).
pub async fn summed(
    state: Arc<AppState>,
    ask: MeasureAsk,
    parts: Parts,
    finish: Finish,
) -> anyhow::Result<Reading> {
    let (street, roots) = (ask.street_id, ask.roots.clone());
    let rows = state.db.read(move |c| parts(c, street, &roots)).await?;
    Ok(sum_parts(&ask, &rows, finish))
}

/// Sums kept rows by place: a row counts in every place asked for whose path is its own or an
/// ancestor of it (found by walking up the row's path: its grid, and its community when the
/// communities are asked too, as the daily snapshot does), and every row counts in the total.
/// A row above the grids (a case placed on a community) counts in the total only.
pub fn sum_parts(ask: &MeasureAsk, rows: &[(String, Vec<i64>)], finish: Finish) -> Reading {
    let at: std::collections::HashMap<&str, usize> = ask
        .grids
        .iter()
        .enumerate()
        .map(|(i, (_, p))| (p.as_str(), i))
        .collect();
    let width = rows.iter().map(|(_, v)| v.len()).max().unwrap_or(1);
    let mut sums = vec![vec![0i64; width]; ask.grids.len()];
    let mut total = vec![0i64; width];
    for (path, parts) in rows {
        for (k, n) in parts.iter().enumerate() {
            total[k] += n;
        }
        let mut p = path.as_str();
        loop {
            if let Some(i) = at.get(p) {
                for (k, n) in parts.iter().enumerate() {
                    sums[*i][k] += n;
                }
            }
            match p.rfind('/') {
                Some(cut) if cut > 0 => p = &p[..cut],
                _ => break,
            }
        }
    }
    Reading {
        grids: ask
            .grids
            .iter()
            .zip(&sums)
            .map(|((id, _), s)| (*id, finish(s)))
            .collect(),
        total: finish(&total),
    }
}

static MEASURES: std::sync::OnceLock<Vec<&'static Measure>> = std::sync::OnceLock::new();

/// Every area's measures, folded by `app` (once; later calls change nothing).
pub fn set_measures(list: Vec<&'static Measure>) {
    let _ = MEASURES.set(list);
}

/// The measures the areas contribute, in the areas' order.
pub fn measures() -> &'static [&'static Measure] {
    MEASURES.get().map(Vec::as_slice).unwrap_or(&[])
}

/// A card an area puts on the home page: its own HTML, rendered by its own template, placed
/// by `order` among the other areas' cards (smaller first).
pub struct Card {
    pub order: u16,
    pub html: String,
}

/// What an area shows a caller on her home page. A card that fails is logged and left out: one
/// area's trouble never keeps the home page from opening.
pub type Cards = fn(Arc<AppState>, Caller) -> BoxFut<anyhow::Result<Vec<Card>>>;

fn no_cards(_: Arc<AppState>, _: Caller) -> BoxFut<anyhow::Result<Vec<Card>>> {
    Box::pin(async { Ok(Vec::new()) })
}

impl Area {
    /// An area with routes only; fill in the rest with struct update syntax.
    pub const fn new(name: &'static str, router: fn() -> Router<Arc<AppState>>) -> Area {
        Area {
            name,
            router,
            openapi: empty_doc,
            state: no_state,
            jobs: Vec::new,
            nav: &[],
            cards: no_cards,
            measures: &[],
        }
    }
}

fn empty_doc() -> utoipa::openapi::OpenApi {
    utoipa::openapi::OpenApiBuilder::new().build()
}

fn no_state(s: AreaStates, _: &prometheus::Registry) -> AreaStates {
    s
}

/// One background job. Every job is started, logged and stopped the same way by `app`: a
/// failure is logged as `job failed` with the area and job name, and the job goes on.
///
/// Several processes may share one PostgreSQL database: `Every` and `Single` jobs run in one
/// of them at a time, under a lease `app::jobs` takes for them (another process takes the
/// job over within seconds when the holder dies); `Task` runs in every process.
pub enum Job {
    /// Runs every `every` (the first run at once, and at once in a process that takes the job
    /// over); `Ok(Some(summary))` is logged at info. In one process at a time.
    Every {
        name: &'static str,
        every: Duration,
        tick: fn(Arc<AppState>) -> BoxFut<anyhow::Result<Option<String>>>,
    },
    /// Runs until the server stops (a broker connection, a timer wheel, a group commit), in
    /// every process: what it does is this process's own (its live streams, its ingestion
    /// queue, its files) or claims its rows in the database so that processes never take
    /// the same one (the outbox, rule timers).
    Task {
        name: &'static str,
        run: fn(Arc<AppState>) -> BoxFut<()>,
    },
    /// Like `Task`, but in one process at a time (under a lease): dropped at an await if the
    /// lease is lost, started again in the process that takes it over.
    Single {
        name: &'static str,
        run: fn(Arc<AppState>) -> BoxFut<()>,
    },
    /// Runs once before the server takes requests (loading rules, sweeping orphans).
    AtStart {
        name: &'static str,
        run: fn(Arc<AppState>) -> BoxFut<anyhow::Result<Option<String>>>,
    },
}

/// An entry of the main navigation.
pub struct Nav {
    /// Its place in the menu, across areas (smaller first).
    pub order: u16,
    pub href: &'static str,
    /// The element id browser tests find it by.
    pub id: &'static str,
    /// Its label's catalogue key.
    pub label: &'static str,
    /// Whether this caller sees it.
    pub shown: fn(&Caller) -> bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_rows_add_up_in_their_grid_its_ancestors_and_the_total() {
        let ask = MeasureAsk {
            street_id: 2,
            grids: vec![
                (3, "/1/2/3".into()),
                (30, "/1/2/30".into()),
                (4, "/1/2/3/4".into()),
            ],
            roots: vec!["/1/2".into()],
        };
        let rows = vec![
            ("/1/2/3/4/9".to_string(), vec![1, 2]),
            ("/1/2/3/5".to_string(), vec![1, 1]),
            ("/1/2/30/7".to_string(), vec![0, 4]),
            // A case on the community itself: in the total only.
            ("/1/2".to_string(), vec![5, 5]),
            ("/1/2/3/4/9".to_string(), vec![1, 0]),
        ];
        let rate: Finish = |v| (v[1] > 0).then(|| v[0] as f64 / v[1] as f64);
        let r = sum_parts(&ask, &rows, rate);
        // "/1/2/30" is not under "/1/2/3": the walk stops at whole segments.
        assert_eq!(
            r.grids,
            vec![(3, Some(3.0 / 3.0)), (30, Some(0.0)), (4, Some(2.0 / 2.0))]
        );
        assert_eq!(r.total, Some(8.0 / 12.0));
        let r = sum_parts(&ask, &[], count);
        assert_eq!(
            r.grids,
            vec![(3, Some(0.0)), (30, Some(0.0)), (4, Some(0.0))]
        );
        assert_eq!(r.total, Some(0.0));
    }
}
