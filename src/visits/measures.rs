//! What visits contribute to the cockpit: home visits made in the last 30 days, per grid. It
//! reads the visits of that window through their index by street and time (`visits_street`),
//! a bounded range, not the whole history.

use std::sync::Arc;

use crate::http::area::{Measure, MeasureAsk, Reading, Unit};
use crate::state::AppState;
use crate::store::{Conn, Result, Val, under_paths};

/// The window counted: the last 30 days.
const WINDOW_MS: i64 = 30 * 86_400_000;

fn done(c: &mut dyn Conn, street: i64, paths: &[String], since: i64) -> Result<i64> {
    let mut p: Vec<Val> = vec![street.into(), since.into()];
    let cond = under_paths("place_path", paths, 3, &mut p);
    c.query_i64(
        &format!(
            "SELECT COUNT(*) FROM visits WHERE street_id = $1 AND visited_at >= $2 AND {cond}"
        ),
        &p,
    )
}

async fn per_grid(state: Arc<AppState>, ask: MeasureAsk) -> anyhow::Result<Reading> {
    let since = crate::kernel::time::now_ms() - WINDOW_MS;
    Ok(state
        .db
        .read(move |c| {
            let mut out = Reading::default();
            for (id, path) in &ask.grids {
                let n = done(c, ask.street_id, std::slice::from_ref(path), since)?;
                out.grids.push((*id, Some(n as f64)));
            }
            out.total = Some(done(c, ask.street_id, &ask.roots, since)? as f64);
            Ok(out)
        })
        .await?)
}

/// Visits' measures on the cockpit.
pub static MEASURES: [Measure; 1] = [Measure {
    id: "visits.done",
    label: "cockpit.m.visits_done",
    definition: "cockpit.d.visits_done",
    unit: Unit::Count,
    persons: true,
    read: |s, a| Box::pin(per_grid(s, a)),
    drill: |_, _| "/visits".to_string(),
}];
