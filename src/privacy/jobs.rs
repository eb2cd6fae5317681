//! The retention purge, checked every minute and run once a day (its last run is kept in the
//! database, so a restart neither skips nor repeats it).

use std::sync::Arc;
use std::time::Duration;

use crate::http::area::{BoxFut, Job};
use crate::state::AppState;

pub fn jobs() -> Vec<Job> {
    vec![Job::Every {
        name: "retention",
        every: Duration::from_secs(60),
        tick: |s| -> BoxFut<_> { Box::pin(purge(s)) },
    }]
}

async fn purge(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    let tags = state.cfg.retention_tag_days.clone();
    let today = crate::kernel::time::today();
    let done = state
        .db
        .write(move |c| {
            if super::retention::due(c)? {
                super::retention::purge(c, &tags, today).map(Some)
            } else {
                Ok(None)
            }
        })
        .await?;
    Ok(done.map(|p| {
        format!(
            "retention purge done: {} tags, {} sessions, {} tokens",
            p.tags, p.sessions, p.tokens
        )
    }))
}
