//! The votes' background work: every half minute, the electorate of every vote that has opened
//! is taken (a look at a vote takes it too, so a vote is never seen open without it).

use std::sync::Arc;
use std::time::Duration;

use crate::http::area::{BoxFut, Job};
use crate::state::AppState;

pub fn jobs() -> Vec<Job> {
    vec![Job::Every {
        name: "freeze_electorates",
        every: Duration::from_secs(30),
        tick: |s| -> BoxFut<_> { Box::pin(tick(s)) },
    }]
}

async fn tick(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    let n = super::service::freeze_due(&state)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?;
    Ok((n > 0).then(|| format!("votes: {n} electorates taken")))
}
