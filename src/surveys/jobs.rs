//! The surveys area's background work: surveys past their deadline are closed.

use std::sync::Arc;
use std::time::Duration;

use crate::http::area::{BoxFut, Job};
use crate::state::AppState;

pub fn jobs() -> Vec<Job> {
    vec![Job::Every {
        name: "close_surveys",
        every: Duration::from_secs(60),
        tick: |s| -> BoxFut<_> { Box::pin(close_due(s)) },
    }]
}

async fn close_due(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    let n = super::service::close_due(&state)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?;
    Ok((n > 0).then(|| format!("surveys closed at their deadline: {n}")))
}
