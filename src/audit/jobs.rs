//! The audit log's background work: a signed tree head every few minutes when the log has grown
//! (no state of its own: a head is signed only over entries no head covers yet), and the anomaly
//! rules every minute (their notices are keyed, so restarts neither skip nor repeat one).

use std::sync::Arc;
use std::time::Duration;

use crate::http::area::{BoxFut, Job};
use crate::state::AppState;

pub fn jobs() -> Vec<Job> {
    vec![
        Job::Every {
            name: "sign_head",
            every: Duration::from_secs(300),
            tick: |s| -> BoxFut<_> { Box::pin(sign(s)) },
        },
        Job::Every {
            name: "anomaly_scan",
            every: Duration::from_secs(60),
            tick: |s| -> BoxFut<_> { Box::pin(scan(s)) },
        },
    ]
}

async fn sign(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    state.audit.sign_head().await?;
    Ok(None)
}

async fn scan(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    state.audit.flush_index().await?;
    // Reads only what was appended since the last scan, on a reader; the writer is taken for
    // the short transactions that store the counts and raise notices.
    let s = super::anomaly::run(&state.db, &state.cfg.anomaly, crate::store::now_ms()).await?;
    Ok((s.raised > 0).then(|| format!("audit anomalies found: {} notices", s.raised)))
}
