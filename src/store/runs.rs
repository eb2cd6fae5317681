//! When a periodic job last ran (`job_runs`): the floor's bookkeeping for any area's job that
//! must not run again before its interval has passed across restarts (privacy's retention
//! purge, audit's anomaly scan). One row per job name.

use super::{Conn, Result};
use crate::params;

/// Records that `job` ran at `at`.
pub fn mark(c: &mut dyn Conn, job: &str, at: i64) -> Result<()> {
    c.exec(
        "INSERT INTO job_runs (job, last_run_at) VALUES ($1, $2) \
         ON CONFLICT (job) DO UPDATE SET last_run_at = excluded.last_run_at",
        params![job, at],
    )?;
    Ok(())
}

/// When `job` last ran, if ever.
pub fn last(c: &mut dyn Conn, job: &str) -> Result<Option<i64>> {
    Ok(c.query_opt(
        "SELECT last_run_at FROM job_runs WHERE job = $1",
        params![job],
    )?
    .map(|r| r.i64(0)))
}
