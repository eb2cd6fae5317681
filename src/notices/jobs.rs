//! The notices area's background work: scheduled notices go out when their time comes.

use std::sync::Arc;
use std::time::Duration;

use crate::http::area::{BoxFut, Job};
use crate::state::AppState;

pub fn jobs() -> Vec<Job> {
    vec![Job::Every {
        name: "scheduled_notices",
        every: Duration::from_secs(30),
        tick: |s| -> BoxFut<_> { Box::pin(scheduled(s)) },
    }]
}

async fn scheduled(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    let n = super::service::publish_due(&state)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?;
    Ok((n > 0).then(|| format!("scheduled notices published: {n}")))
}
