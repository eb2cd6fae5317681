//! The registry's background work: the population figures follow the calendar. Every minute,
//! each street whose kept counts do not hold for today (age bands and tags' validity move at
//! midnight, China Standard Time) is recounted from its records, one street per transaction,
//! so writers wait at most one street's recount. The day counted is kept with each street, so
//! a restart neither repeats nor skips a recount.

use std::sync::Arc;
use std::time::Duration;

use crate::http::area::{BoxFut, Job};
use crate::state::AppState;

pub fn jobs() -> Vec<Job> {
    vec![Job::Every {
        name: "population_counts",
        every: Duration::from_secs(60),
        tick: |s| -> BoxFut<_> { Box::pin(recount(s)) },
    }]
}

async fn recount(state: Arc<AppState>) -> anyhow::Result<Option<String>> {
    let today = crate::kernel::time::today();
    let stale = state
        .db
        .read(move |c| super::counts::stale_streets(c, today))
        .await?;
    if stale.is_empty() {
        return Ok(None);
    }
    let t0 = std::time::Instant::now();
    for street in &stale {
        let street = *street;
        state
            .db
            .write(move |c| {
                // Another instance, or a write, may have recounted it meanwhile.
                super::counts::ensure(c, street, today)
            })
            .await?;
    }
    Ok(Some(format!(
        "population counts: {} streets recounted for {today} in {:.1} s",
        stale.len(),
        t0.elapsed().as_secs_f64()
    )))
}
