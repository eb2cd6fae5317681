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
}

/// What an area's storage gives for a measure: its value for a street's places under `paths`
/// (one grid, or the viewer's places for the total), read from what the area keeps.
pub type Count =
    fn(&mut dyn crate::store::Conn, i64, &[String]) -> crate::store::Result<Option<f64>>;

/// Reads a measure given by its count: per grid, and over the viewer's places, on a reader.
pub async fn per_grid(
    state: Arc<AppState>,
    ask: MeasureAsk,
    one: Count,
) -> anyhow::Result<Reading> {
    Ok(state
        .db
        .read(move |c| {
            let mut out = Reading::default();
            for (id, path) in &ask.grids {
                out.grids
                    .push((*id, one(c, ask.street_id, std::slice::from_ref(path))?));
            }
            out.total = one(c, ask.street_id, &ask.roots)?;
            Ok(out)
        })
        .await?)
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
