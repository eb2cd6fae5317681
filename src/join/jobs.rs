//! The join area's background work: at start, the blind index is made for every person
//! without one (or whose record changed while the hook was not running), a batch per
//! transaction so that writers wait at most one batch.

use std::sync::Arc;

use crate::http::area::{BoxFut, Job};
use crate::state::AppState;

pub fn jobs() -> Vec<Job> {
    vec![Job::AtStart {
        name: "join_index",
        run: |s| -> BoxFut<_> { Box::pin(backfill(s)) },
    }]
}

/// Fills the blind index; returns a summary when anything was indexed.
pub async fn backfill(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    let t0 = std::time::Instant::now();
    let (mut after, mut total) = (0, 0);
    loop {
        let keys = state.keys.clone();
        let step = state
            .db
            .write(move |c| super::index::backfill_batch(c, &keys, after))
            .await?;
        match step {
            Some((last, n)) => {
                after = last;
                total += n;
            }
            None => break,
        }
    }
    Ok((total > 0).then(|| {
        format!(
            "join index: {total} persons indexed in {:.1} s",
            t0.elapsed().as_secs_f64()
        )
    }))
}
