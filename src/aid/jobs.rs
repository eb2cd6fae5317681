//! Mutual aid's background work: open posts past their time are marked expired and their
//! posters told once (the board already hides them by the time; this makes the state kept
//! and the poster know).

use std::sync::Arc;
use std::time::Duration;

use crate::http::area::{BoxFut, Job};
use crate::state::AppState;

pub fn jobs() -> Vec<Job> {
    vec![Job::Every {
        name: "expire",
        every: Duration::from_secs(60),
        tick: |s| -> BoxFut<_> { Box::pin(expire(s)) },
    }]
}

async fn expire(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    let n = super::service::expire_due(&state)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?;
    Ok((n > 0).then(|| format!("aid posts expired: {n}")))
}
