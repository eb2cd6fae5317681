//! Starts every area's background jobs the same way, with one log pattern (`area`, `job`), and
//! stops them when the server stops.

use std::sync::Arc;

use crate::http::area::{Area, Job};
use crate::state::AppState;

/// Runs the jobs that must finish before requests are taken.
pub async fn at_start(state: &Arc<AppState>, areas: &[Area]) {
    for area in areas {
        for job in (area.jobs)() {
            if let Job::AtStart { name, run } = job {
                log(area.name, name, run(state.clone()).await);
            }
        }
    }
}

/// Spawns every periodic job and long-running task of every area.
pub fn spawn(state: &Arc<AppState>, areas: &[Area]) -> Vec<tokio::task::JoinHandle<()>> {
    let mut out = Vec::new();
    for area in areas {
        let area_name = area.name;
        for job in (area.jobs)() {
            match job {
                Job::Every { name, every, tick } => {
                    let state = state.clone();
                    out.push(tokio::spawn(async move {
                        let mut clock = tokio::time::interval(every);
                        loop {
                            clock.tick().await;
                            log(area_name, name, tick(state.clone()).await);
                        }
                    }));
                }
                Job::Task { name, run } => {
                    let state = state.clone();
                    out.push(tokio::spawn(async move {
                        run(state).await;
                        tracing::debug!(area = area_name, job = name, "job ended");
                    }));
                }
                Job::AtStart { .. } => {}
            }
        }
    }
    out
}

fn log(area: &str, job: &str, r: anyhow::Result<Option<String>>) {
    match r {
        Ok(Some(summary)) => tracing::info!(area, job, "{summary}"),
        Ok(None) => {}
        Err(e) => tracing::error!(area, job, error = format!("{e:#}"), "job failed"),
    }
}
