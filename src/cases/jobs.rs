//! The background work of cases: at start, the removal of orphaned photo files and the
//! encryption of contacts stored in clear by an older version; then the
//! deadline watcher every 30 seconds, and every 5 seconds webhook delivery and the completion
//! of terms stored partial (by a sensor alert's case before the word segmenter was loaded).
//! All keep their state in the database. The segmenter's dictionary, about 33 MB, is loaded
//! when the report form is first opened or a report first arrives, not at start: an idle
//! server holds about 40 MB instead of 75.

use std::sync::Arc;
use std::time::Duration;

use super::{dedupe, escalation, notify, photos};
use crate::http::area::{BoxFut, Job};
use crate::state::AppState;

pub fn jobs() -> Vec<Job> {
    vec![
        Job::Task {
            name: "photo_orphans",
            run: |s| -> BoxFut<()> { Box::pin(sweep_orphans(s)) },
        },
        Job::Task {
            name: "seal_contacts",
            run: |s| -> BoxFut<()> { Box::pin(seal_contacts(s)) },
        },
        Job::Every {
            name: "deadlines",
            every: Duration::from_secs(30),
            tick: |s| -> BoxFut<_> { Box::pin(deadlines(s)) },
        },
        Job::Every {
            name: "case_terms",
            every: Duration::from_secs(5),
            tick: |s| -> BoxFut<_> { Box::pin(terms(s)) },
        },
        Job::Every {
            name: "webhooks",
            every: Duration::from_secs(5),
            tick: |s| -> BoxFut<_> { Box::pin(webhooks(s)) },
        },
    ]
}

async fn sweep_orphans(state: Arc<AppState>) {
    let (db, dir) = (state.db.clone(), state.cfg.data_dir.clone());
    match tokio::task::spawn_blocking(move || photos::sweep_orphans(&db, &dir)).await {
        Ok(Ok(n)) if n > 0 => tracing::info!(files = n, "orphaned photo files removed"),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = ?e, "sweeping orphaned photo files failed"),
        Err(e) => tracing::warn!(error = %e, "sweeping orphaned photo files failed"),
    }
}

/// Contacts stored in clear by a version before schema 20 are encrypted now, once, 500 at a time.
async fn seal_contacts(state: Arc<AppState>) {
    loop {
        let keys = state.keys.clone();
        match state
            .db
            .write(move |c| super::seal_clear_contacts(c, &keys, 500))
            .await
        {
            Ok(0) => break,
            Ok(n) => tracing::info!(cases = n, "reporters' contacts encrypted"),
            Err(e) => {
                tracing::error!(error = %e, "encrypting reporters' contacts failed");
                break;
            }
        }
    }
}

async fn deadlines(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    let now = crate::store::now_ms();
    let s = state.db.write(move |c| escalation::sweep(c, now)).await?;
    // Co-handlers' tasks (联合处置) run their own clocks, swept the same way.
    let t = state.db.write(move |c| super::tasks::sweep(c, now)).await?;
    Ok((s.warnings + s.escalations + t.warnings + t.escalations > 0).then(|| {
        format!(
            "case deadlines checked: {} warnings, {} escalations; tasks: {} warnings, {} escalations",
            s.warnings, s.escalations, t.warnings, t.escalations
        )
    }))
}

async fn terms(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    let n = dedupe::complete_partial_terms(&state.db).await?;
    Ok((n > 0).then(|| format!("case terms completed: {n} cases")))
}

async fn webhooks(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    notify::deliver_due(&state.db, &state.cfg.webhook_allow, crate::store::now_ms()).await?;
    Ok(None)
}
