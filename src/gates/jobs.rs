//! Gates' background work: passages, stays and passes past each estate's retention are
//! deleted every hour (each purge recorded in the audit log).

use std::sync::Arc;
use std::time::Duration;

use crate::http::area::{BoxFut, Job};
use crate::state::AppState;

pub fn jobs() -> Vec<Job> {
    vec![Job::Every {
        name: "purge",
        every: Duration::from_secs(3600),
        tick: |s| -> BoxFut<_> { Box::pin(purge(s)) },
    }]
}

async fn purge(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    let n = super::service::purge_due(&state, crate::kernel::time::now_ms())
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?;
    Ok((n > 0).then(|| format!("gate passages purged: {n}")))
}
