//! The eligibility area's background work: every hour, each rule switched on looks again for
//! the persons it covers (she turned 80 today, a baby was registered, a tag was given). State
//! lives in the to-dos themselves (one per rule and person), so a restart neither repeats nor
//! skips anyone.

use std::sync::Arc;
use std::time::Duration;

use crate::http::area::{BoxFut, Job};
use crate::state::AppState;

pub fn jobs() -> Vec<Job> {
    vec![Job::Every {
        name: "eligibility_rules",
        every: Duration::from_secs(3600),
        tick: |s| -> BoxFut<_> { Box::pin(tick(s)) },
    }]
}

async fn tick(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    let n = super::service::run_all(&state)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?;
    Ok((n > 0).then(|| format!("eligibility to-dos added: {n}")))
}
