//! The sweeps area's background work: a closed campaign's personal answers are purged when its
//! retention ends (its counts are kept).

use std::sync::Arc;
use std::time::Duration;

use crate::http::area::{BoxFut, Job};
use crate::state::AppState;

pub fn jobs() -> Vec<Job> {
    vec![Job::Every {
        name: "retention",
        every: Duration::from_secs(15 * 60),
        tick: |s| -> BoxFut<_> { Box::pin(retention(s)) },
    }]
}

/// One pass: every campaign whose retention ended is purged.
pub async fn retention(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    let n = super::service::purge_due(&state)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?;
    Ok((n > 0).then(|| format!("sweep campaigns purged: {n}")))
}
