//! The audit log's background work: a signed tree head every few minutes when the log has grown
//! (no state of its own: a head is signed only over entries no head covers yet), published to
//! the street's witnesses (`witness`), and the anomaly
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
            name: "audit_list_marks",
            every: Duration::from_secs(3600),
            tick: |s| -> BoxFut<_> { Box::pin(prune_list_marks(s)) },
        },
        Job::Every {
            name: "anomaly_scan",
            every: Duration::from_secs(60),
            tick: |s| -> BoxFut<_> { Box::pin(scan(s)) },
        },
    ]
}

/// Forgets the marks of lists of days past (`lists`): the table holds about a day of them.
async fn prune_list_marks(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    let now = crate::kernel::time::now_ms();
    let n = state.db.write(move |c| super::lists::prune(c, now)).await?;
    Ok((n > 0).then(|| format!("list marks of past days forgotten: {n}")))
}

async fn sign(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    sign_and_publish(state).await
}

/// Signs a head if the log grew, then hands every head a witness has not taken yet to the
/// configured witnesses. A head that could not be published stays due: the next run offers
/// it again (the witness's mark only moves past a head it took).
pub async fn sign_and_publish(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    let signed = state.audit.sign_head().await;
    let witnesses = &state.cfg.audit_witness;
    if witnesses.is_empty() {
        signed?;
        return Ok(None);
    }
    let published =
        super::witness::publish(&state.db, witnesses, &state.audit.key().public()).await?;
    signed?;
    if !published.failed.is_empty() {
        anyhow::bail!(
            "signed tree heads not yet published (retried next run): {}",
            published.failed.join("; ")
        );
    }
    Ok((published.heads > 0).then(|| {
        format!(
            "signed tree heads published to witnesses: {}",
            published.heads
        )
    }))
}

async fn scan(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    state.audit.flush_index().await?;
    // Reads only what was appended since the last scan, on a reader; the writer is taken for
    // the short transactions that store the counts and raise notices.
    let s = super::anomaly::run(&state.db, &state.cfg.anomaly, crate::store::now_ms()).await?;
    Ok((s.raised > 0).then(|| format!("audit anomalies found: {} notices", s.raised)))
}
