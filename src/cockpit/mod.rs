//! The cockpit (数据驾驶舱, issue 27): the street at a glance — every measure the areas
//! contribute through their contract (`http::area::Measure`), per grid, on a map coloured by
//! the chosen measure, with trends over 7, 30 and 90 days, live ticks over SSE, and each figure
//! drilling down to the list behind it. It names no area: `app` folds the measures.
//!
//! A desktop page for the street's and communities' offices, and a big-screen layout for the
//! operations centre (`?layout=screen`: 1920×1080, dark, no scrolling), where a count of
//! persons below 5 in a cell is shown as "<5".

pub mod demo;
pub mod http;
pub mod jobs;
pub mod pages;
pub mod service;
pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::http::area::{Area, Nav};
// The cockpit's model is the contract's list of measures, folded by `app` from the areas.
pub use crate::http::area::{Measure, MeasureAsk, Unit, measures};
use crate::state::AppState;

/// The open cockpits' ticks, per street, and the totals they were last told about.
#[derive(Default)]
pub struct Live {
    streets: Mutex<HashMap<i64, broadcast::Sender<()>>>,
    last: Mutex<HashMap<i64, Vec<Option<f64>>>>,
    /// The boards last read, by street and the viewer's places (`service::board`).
    boards: Mutex<HashMap<(i64, Vec<String>), Slot>>,
}

/// A board read at an instant, after so many of this process's writes, behind the lock that
/// one reader holds while it reads anew.
pub type Slot = Arc<tokio::sync::Mutex<Option<(std::time::Instant, u64, Arc<service::Board>)>>>;

impl Live {
    /// The slot of the board of a street's `roots`.
    pub fn slot(&self, street: i64, roots: &[String]) -> Slot {
        let mut m = self.boards.lock().unwrap_or_else(|e| e.into_inner());
        m.entry((street, roots.to_vec())).or_default().clone()
    }

    /// A receiver of a street's ticks.
    pub fn subscribe(&self, street: i64) -> broadcast::Receiver<()> {
        let mut m = self.streets.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(street)
            .or_insert_with(|| broadcast::channel(16).0)
            .subscribe()
    }

    /// The streets someone is watching now.
    pub fn watched(&self) -> Vec<i64> {
        let mut m = self.streets.lock().unwrap_or_else(|e| e.into_inner());
        m.retain(|_, tx| tx.receiver_count() > 0);
        m.keys().copied().collect()
    }

    /// Records a street's totals when none are known (a cockpit opens).
    pub fn seed(&self, street: i64, totals: Vec<Option<f64>>) {
        let mut m = self.last.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(street).or_insert(totals);
    }

    /// Compares a street's totals with the last known and ticks its cockpits when they moved.
    pub fn compare(&self, street: i64, totals: Vec<Option<f64>>) {
        let moved = {
            let mut m = self.last.lock().unwrap_or_else(|e| e.into_inner());
            let moved = m.get(&street).is_some_and(|l| *l != totals);
            m.insert(street, totals);
            moved
        };
        if moved {
            self.tick(street);
        }
    }

    /// Tells a street's open cockpits their figures may have moved, after dropping the boards
    /// read of it, so their refetch reads anew.
    pub fn tick(&self, street: i64) {
        self.boards
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(s, _), _| *s != street);
        let m = self.streets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = m.get(&street) {
            let _ = tx.send(());
        }
    }
}

/// The cockpit's shared state.
pub fn live(state: &AppState) -> &Live {
    state.area::<Live>()
}

/// What the cockpit contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::CockpitApi as utoipa::OpenApi>::openapi,
        state: |s, _| s.with(Live::default()),
        jobs: jobs::jobs,
        nav: &[Nav {
            order: 15,
            href: "/cockpit",
            id: "nav-cockpit",
            label: "cockpit.nav",
            shown: service::may_view,
        }],
        ..Area::new("cockpit", || http::router().merge(pages::router()))
    }
}
