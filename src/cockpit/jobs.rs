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

/// How often the watch reads the totals of the streets someone is watching.
pub const WATCH_EVERY: Duration = Duration::from_secs(2);

/// Every [`WATCH_EVERY`], for each street with an open cockpit, reads every measure's street
/// total (kept figures, a few rows each) and ticks the street's cockpits when any moved. The
/// cockpit so follows any change — a case from any channel, an alert, a resident — without a
/// hook in each area; no one watching costs nothing.
pub async fn watch(state: Arc<AppState>) {
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        for street in super::live(&state).watched() {
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
