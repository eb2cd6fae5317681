//! Leases (`job_leases`): which process runs a job that must run in one process at a time
//! when several share a database. One row per job: the holder's process id
//! ([`crate::store::instances`]), a fencing token, and when the lease expires unless renewed.
//! A lease is taken when it is free, expired, or already this holder's; a takeover from
//! another holder increments the token, so the old holder's next renewal (which names the
//! token it holds) finds nothing and it stops. `app::jobs` takes, renews and releases them.

use crate::params;
use crate::store::{Conn, Result};

/// Takes or keeps the lease of `job` for `holder` until `until`, if it is free, expired at
/// `now`, or `holder`'s already; returns the fencing token held, or none when another process
/// holds it.
pub fn take(
    c: &mut dyn Conn,
    job: &str,
    holder: &str,
    now: i64,
    until: i64,
) -> Result<Option<i64>> {
    Ok(c.query_opt(
        "INSERT INTO job_leases (job, holder, token, expires_at) VALUES ($1, $2, 1, $3) \
         ON CONFLICT (job) DO UPDATE SET \
           token = CASE WHEN job_leases.holder = excluded.holder AND job_leases.expires_at >= $4 \
                   THEN job_leases.token ELSE job_leases.token + 1 END, \
           holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE job_leases.holder = excluded.holder OR job_leases.expires_at < $4 \
         RETURNING token",
        params![job, holder, until, now],
    )?
    .map(|r| r.i64(0)))
}

/// Extends the lease of `job` that `holder` holds under `token` to `until`; false when it
/// has lost it (taken over after it expired).
pub fn renew(c: &mut dyn Conn, job: &str, holder: &str, token: i64, until: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE job_leases SET expires_at = $1 WHERE job = $2 AND holder = $3 AND token = $4",
        params![until, job, holder, token],
    )? == 1)
}

/// Gives up the lease of `job` held under `token`: another process may take it at once. The
/// row stays, so the next holder's token is still higher.
pub fn release(c: &mut dyn Conn, job: &str, holder: &str, token: i64) -> Result<()> {
    c.exec(
        "UPDATE job_leases SET expires_at = 0 WHERE job = $1 AND holder = $2 AND token = $3",
        params![job, holder, token],
    )?;
    Ok(())
}

/// Gives up every lease `holder` holds (the process stops).
pub fn release_all(c: &mut dyn Conn, holder: &str) -> Result<u64> {
    c.exec(
        "UPDATE job_leases SET expires_at = 0 WHERE holder = $1",
        params![holder],
    )
}

/// Who holds the lease of `job` and under which token, if anyone holds it at `now`.
pub fn holder(c: &mut dyn Conn, job: &str, now: i64) -> Result<Option<(String, i64)>> {
    Ok(c.query_opt(
        "SELECT holder, token FROM job_leases WHERE job = $1 AND expires_at >= $2",
        params![job, now],
    )?
    .map(|r| (r.str(0), r.i64(1))))
}
