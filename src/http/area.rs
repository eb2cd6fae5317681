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
pub enum Job {
    /// Runs every `every` (the first run at once); `Ok(Some(summary))` is logged at info.
    Every {
        name: &'static str,
        every: Duration,
        tick: fn(Arc<AppState>) -> BoxFut<anyhow::Result<Option<String>>>,
    },
    /// Runs until the server stops (a broker connection, a timer wheel, a group commit).
    Task {
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
