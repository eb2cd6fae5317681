//! Starts every area's background jobs the same way, with one log pattern (`area`, `job`), and
//! stops them when the server stops.
//!
//! Several linli processes may share one PostgreSQL database. A periodic job (`Job::Every`)
//! and a task that must run in one process only (`Job::Single`) run under a lease
//! ([`crate::store::leases`], one row per job, `area.job`): a process takes it before the first
//! run, renews it every third of `job_lease_seconds` while it holds it (during a run too), and
//! stops the job at its next await when a renewal finds the lease gone (taken over under a
//! new fencing token after this process was paused or cut off past its expiry) or cannot
//! reach the database before it would expire. The others ask for it as often; one of them
//! takes it over at most `job_lease_seconds` and a third after the holder died, and runs the
//! job at once, as a restarted process would. A process that stops gives its leases up, so
//! the job moves at once. On SQLite there is one process: the lease is always this one's, and
//! the database is not asked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::http::area::{Area, BoxFut, Job};
use crate::state::AppState;
use crate::store::{Backend, leases};

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
            let state = state.clone();
            match job {
                Job::Every { name, every, tick } => {
                    out.push(tokio::spawn(every_loop(
                        state, area_name, name, every, tick,
                    )));
                }
                Job::Task { name, run } => {
                    out.push(tokio::spawn(async move {
                        run(state).await;
                        tracing::debug!(area = area_name, job = name, "job ended");
                    }));
                }
                Job::Single { name, run } => {
                    out.push(tokio::spawn(single_loop(state, area_name, name, run)));
                }
                Job::AtStart { .. } => {}
            }
        }
    }
    out
}

type Tick = fn(Arc<AppState>) -> BoxFut<anyhow::Result<Option<String>>>;

/// A periodic job: while this process holds its lease, a tick at once and then every `every`.
async fn every_loop(
    state: Arc<AppState>,
    area: &'static str,
    name: &'static str,
    every: Duration,
    tick: Tick,
) {
    loop {
        let lease = Lease::take(&state, area, name).await;
        let mut clock = tokio::time::interval(every);
        let lost = lease.kept();
        tokio::pin!(lost);
        loop {
            tokio::select! {
                _ = &mut lost => break,
                _ = clock.tick() => {}
            }
            tokio::select! {
                r = tick(state.clone()) => log(area, name, r),
                _ = &mut lost => break,
            }
        }
        tracing::warn!(
            area,
            job = name,
            token = lease.token,
            "job lease lost: stopped here"
        );
    }
}

/// A task run in one process at a time: started when this process takes its lease, dropped
/// when it loses it.
async fn single_loop(
    state: Arc<AppState>,
    area: &'static str,
    name: &'static str,
    run: fn(Arc<AppState>) -> BoxFut<()>,
) {
    loop {
        let lease = Lease::take(&state, area, name).await;
        tokio::select! {
            _ = run(state.clone()) => {
                tracing::debug!(area, job = name, "job ended");
                lease.release().await;
                return;
            }
            _ = lease.kept() => {
                tracing::warn!(area, job = name, token = lease.token, "job lease lost: stopped here");
            }
        }
    }
}

/// The lease this process holds on one job.
pub struct Lease {
    state: Arc<AppState>,
    job: String,
    /// The fencing token it holds the lease under (0 on SQLite).
    pub token: i64,
}

impl Lease {
    fn ttl(state: &AppState) -> Duration {
        Duration::from_secs(state.cfg.job_lease_seconds.max(1))
    }

    /// How often the holder renews and the others ask.
    fn beat(state: &AppState) -> Duration {
        Self::ttl(state) / 3
    }

    fn shared(state: &AppState) -> bool {
        state.db.backend() == Backend::Postgres
    }

    /// Waits until this process holds the lease of `area.name`.
    pub async fn take(state: &Arc<AppState>, area: &str, name: &str) -> Lease {
        let job = format!("{area}.{name}");
        if !Self::shared(state) {
            return Lease {
                state: state.clone(),
                job,
                token: 0,
            };
        }
        let ttl = Self::ttl(state).as_millis() as i64;
        let mut waited = false;
        loop {
            let (j, me) = (job.clone(), state.instance.clone());
            let now = crate::store::now_ms();
            match state
                .db
                .write(move |c| leases::take(c, &j, &me, now, now + ttl))
                .await
            {
                Ok(Some(token)) => {
                    if waited {
                        tracing::info!(area, job = name, token, "job taken over by this process");
                    } else {
                        tracing::debug!(area, job = name, token, "job lease taken");
                    }
                    return Lease {
                        state: state.clone(),
                        job,
                        token,
                    };
                }
                Ok(None) => waited = true,
                Err(e) => {
                    tracing::warn!(area, job = name, error = %e, "taking a job lease failed")
                }
            }
            tokio::time::sleep(Self::beat(state)).await;
        }
    }

    /// Renews the lease while it holds; resolves when it is lost: taken over by another
    /// process (a renewal finds another token), or not renewed for so long that another may
    /// have taken it. Never resolves on SQLite.
    pub async fn kept(&self) {
        if !Self::shared(&self.state) || self.token == 0 {
            return std::future::pending().await;
        }
        let ttl = Self::ttl(&self.state);
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(Self::beat(&self.state)).await;
            let (j, me, token) = (self.job.clone(), self.state.instance.clone(), self.token);
            let until = crate::store::now_ms() + ttl.as_millis() as i64;
            // A renewal that takes longer than the lease lasts cannot be counted on.
            let r = tokio::time::timeout(
                ttl,
                self.state
                    .db
                    .write(move |c| leases::renew(c, &j, &me, token, until)),
            )
            .await;
            match r {
                Ok(Ok(true)) => renewed = Instant::now(),
                Ok(Ok(false)) => return,
                Ok(Err(e)) => {
                    tracing::warn!(job = %self.job, error = %e, "renewing a job lease failed")
                }
                Err(_) => tracing::warn!(job = %self.job, "renewing a job lease timed out"),
            }
            // Stop before another process may take it over: a beat before it expires.
            if renewed.elapsed() + Self::beat(&self.state) >= ttl {
                return;
            }
        }
    }

    /// Gives the lease up (the job ended): another process may take it at once.
    pub async fn release(&self) {
        if !Self::shared(&self.state) || self.token == 0 {
            return;
        }
        let (j, me, token) = (self.job.clone(), self.state.instance.clone(), self.token);
        if let Err(e) = self
            .state
            .db
            .write(move |c| leases::release(c, &j, &me, token))
            .await
        {
            tracing::warn!(job = %self.job, error = %e, "releasing a job lease failed");
        }
    }
}

fn log(area: &str, job: &str, r: anyhow::Result<Option<String>>) {
    match r {
        Ok(Some(summary)) => tracing::info!(area, job, "{summary}"),
        Ok(None) => {}
        Err(e) => tracing::error!(area, job, error = format!("{e:#}"), "job failed"),
    }
}
