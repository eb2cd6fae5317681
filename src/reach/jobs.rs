//! Reach's background work: the delivery loop (what is due goes out within a fifth of a
//! second, so a care alert's first message leaves well under a second after the alert), and
//! the chains' sweep (a step whose timeout passed tells the next), which also refreshes the
//! outbox's figures in the metrics.

use std::sync::Arc;
use std::time::Duration;

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

use crate::http::area::{BoxFut, Job};
use crate::state::AppState;

/// The outbox in the metrics: deliveries by state, and sends by channel and outcome.
pub struct ReachMetrics {
    pub deliveries: IntGaugeVec,
    pub sent: IntCounterVec,
    pub retried: IntCounterVec,
    pub failed: IntCounterVec,
}

impl ReachMetrics {
    pub fn new(registry: &Registry) -> ReachMetrics {
        let deliveries = IntGaugeVec::new(
            Opts::new("linli_reach_deliveries", "Outbox deliveries by state"),
            &["state"],
        )
        .expect("metric");
        let counter = |name: &str, help: &str| {
            IntCounterVec::new(Opts::new(name, help), &["channel"]).expect("metric")
        };
        let sent = counter("linli_reach_sent_total", "Messages delivered, by channel");
        let retried = counter(
            "linli_reach_retried_total",
            "Deliveries that failed a try and wait for the next, by channel",
        );
        let failed = counter(
            "linli_reach_failed_total",
            "Deliveries failed after the last try, by channel",
        );
        for m in [
            Box::new(deliveries.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(sent.clone()),
            Box::new(retried.clone()),
            Box::new(failed.clone()),
        ] {
            // A second state in one process (the tests) registers into its own registry.
            let _ = registry.register(m);
        }
        ReachMetrics {
            deliveries,
            sent,
            retried,
            failed,
        }
    }
}

pub fn jobs() -> Vec<Job> {
    vec![
        Job::Task {
            name: "deliver",
            run: |s| -> BoxFut<()> { Box::pin(deliver(s)) },
        },
        Job::AtStart {
            name: "vapid_key",
            run: |s| -> BoxFut<_> {
                Box::pin(async move {
                    super::devices::vapid(&s).map_err(|e| anyhow::anyhow!(e))?;
                    Ok(None)
                })
            },
        },
        Job::Every {
            name: "care_chains",
            every: Duration::from_secs(5),
            tick: |s| -> BoxFut<_> { Box::pin(chains(s)) },
        },
    ]
}

/// The delivery loop (the `deliver` task; the bench runs it too).
pub async fn deliver(state: Arc<AppState>) {
    let mut idle = tokio::time::interval(Duration::from_millis(200));
    idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        match super::service::deliver_due(&state, crate::store::now_ms(), 200).await {
            // A full batch: more may wait, go on at once.
            Ok(r) if r.claimed >= 200 => continue,
            Ok(r) if r.claimed > 0 => {
                tracing::debug!(
                    area = "reach",
                    job = "deliver",
                    sent = r.sent,
                    retried = r.retried,
                    failed = r.failed,
                    "delivered"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(area = "reach", job = "deliver", error = %e.key, "job failed")
            }
        }
        idle.tick().await;
    }
}

async fn chains(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    let n = super::service::sweep_chains(&state, crate::store::now_ms())
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?;
    let counts = state.db.read(|c| super::outbox::counts(c, None)).await?;
    let m = &state.area::<super::Reach>().metrics;
    for s in ["queued", "sending", "sent", "failed"] {
        let n = counts
            .iter()
            .find(|(k, _)| k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0);
        m.deliveries.with_label_values(&[s]).set(n);
    }
    Ok((n > 0).then(|| format!("care chains moved on: {n}")))
}
