//! The cockpit's background work: the daily snapshot of every measure (the trends), and the
//! watch that tells open cockpits their figures may have moved.

use std::sync::Arc;
use std::time::Duration;

use super::{MeasureAsk, measures};
use crate::http::area::Job;
use crate::state::AppState;

pub fn jobs() -> Vec<Job> {
    vec![
        // Every ten minutes it looks whether today's snapshot of each street is taken: once a
        // day per street, whatever the restarts (today's rows are the watermark).
        Job::Every {
            name: "snapshot",
            every: Duration::from_secs(600),
            tick: |s| {
                Box::pin(async move {
                    let n = super::service::snapshot(&s).await?;
                    Ok((n > 0).then(|| format!("{n} streets snapshot")))
                })
            },
        },
        Job::Task {
            name: "watch",
            run: |s| Box::pin(watch(s)),
        },
    ]
}

/// How often the watch looks whether anything was written.
pub const LOOK_EVERY: Duration = Duration::from_millis(250);
/// The shortest time between two reads of a street's totals, however busy the writes.
pub const READ_AT_MOST: Duration = Duration::from_millis(500);
/// The longest: the totals are read this often even when this process wrote nothing (another
/// process sharing the database may have; a rate moves with the clock).
pub const READ_AT_LEAST: Duration = Duration::from_secs(2);

/// For each street with an open cockpit, reads every measure's street total (kept figures, a
/// few rows each) when this process committed a write since the last read (at most every
/// [`READ_AT_MOST`]) or [`READ_AT_LEAST`] passed, and ticks the street's cockpits when any
/// moved. The cockpit so follows any change — a case from any channel, an alert, a resident —
/// within a second, without a hook in each area; no one watching costs nothing.
pub async fn watch(state: Arc<AppState>) {
    let mut seen = state.db.writes();
    let mut read_at = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(LOOK_EVERY).await;
        let writes = state.db.writes();
        let since = read_at.elapsed();
        if !(since >= READ_AT_LEAST || (writes != seen && since >= READ_AT_MOST)) {
            continue;
        }
        let streets = super::live(&state).watched();
        if streets.is_empty() {
            continue;
        }
        (seen, read_at) = (writes, tokio::time::Instant::now());
        for street in streets {
            let Some(now) = fingerprint(&state, street).await else {
                continue;
            };
            super::live(&state).compare(street, now);
        }
    }
}

/// Every measure's total over a street, in the measures' order.
pub async fn fingerprint(state: &Arc<AppState>, street: i64) -> Option<Vec<Option<f64>>> {
    let (path, _) = state
        .db
        .read(move |c| super::store::street(c, street))
        .await
        .ok()??;
    let ask = MeasureAsk {
        street_id: street,
        grids: Vec::new(),
        roots: vec![path],
    };
    let mut now = Vec::new();
    for m in measures() {
        now.push(
            (m.read)(state.clone(), ask.clone())
                .await
                .ok()
                .and_then(|r| r.total),
        );
    }
    Some(now)
}
