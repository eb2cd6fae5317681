//! Storage housekeeping: raw readings are rolled up into hourly aggregates (count, sum, min,
//! max per device, key and hour) and deleted after `sensing_raw_days`; the aggregates are
//! kept for `sensing_hourly_days`. The rollup's progress is kept in `meta`, so a restart
//! neither skips nor double-counts an hour (each hour is recomputed from the raw rows).

use std::sync::Arc;
use std::time::Duration;

use crate::app::AppState;
use crate::params;
use crate::store::{Conn, Result};

const HOUR: i64 = 3_600_000;
/// Late readings are still folded in when they arrive within this long after their hour.
const GRACE: i64 = 2 * HOUR;

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub hours: i64,
    pub raw_deleted: u64,
    pub hourly_deleted: u64,
}

/// The first pass waits this long after start.
const FIRST_PASS_AFTER: Duration = Duration::from_secs(120);

/// Devices (by id range) handled per transaction, so a pass never holds the writer long.
const CHUNK: i64 = 1000;

/// What a pass is to do, decided once at its start.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Hours from `first` (inclusive) to `upto` (exclusive) are rolled up.
    first: i64,
    upto: i64,
    /// Raw readings before this go (hour-aligned), when raw retention is on.
    cut: Option<i64>,
    /// Where the previous pass cut: the hours before it were already rolled up from all
    /// their readings, which then went, so a reading found there now arrived late and is
    /// added to its hour rather than taking the hour's place.
    prev_cut: Option<i64>,
}

impl Plan {
    pub fn hours(&self) -> i64 {
        ((self.upto - self.first) / HOUR).max(0)
    }
}

/// Decides the hours to roll up: every complete hour not yet rolled up, and the last
/// `GRACE` of those that were (for late readings).
///
/// Readings are only ever read through their primary key `(device_id, key, ts)`, walking
/// the device/key pairs of `device_state` (which holds every pair that has readings): an
/// index on `ts` alone would cost every insert a second B-tree, and ingestion is the hot path.
pub fn plan(c: &mut dyn Conn, now: i64, raw_days: i64) -> Result<Plan> {
    let done = c
        .query_opt(
            "SELECT value FROM meta WHERE key = 'sensing_rollup_upto'",
            &[],
        )?
        .and_then(|r| r.str(0).parse::<i64>().ok());
    let first = match done {
        Some(t) => t - GRACE,
        None => match c
            .query_opt(
                "SELECT MIN(m) FROM (SELECT (SELECT MIN(r.ts) FROM readings r \
                 WHERE r.device_id = s.device_id AND r.key = s.key) AS m FROM device_state s) x",
                &[],
            )?
            .and_then(|r| r.opt_i64(0))
        {
            Some(t) => t - t.rem_euclid(HOUR),
            None => now - now.rem_euclid(HOUR),
        },
    };
    let prev_cut = c
        .query_opt("SELECT value FROM meta WHERE key = 'sensing_raw_cut'", &[])?
        .and_then(|r| r.str(0).parse::<i64>().ok());
    let upto = now - now.rem_euclid(HOUR); // the start of the current, incomplete hour
    let cut = (raw_days > 0).then(|| {
        let cut = now - raw_days * 24 * HOUR;
        cut - cut.rem_euclid(HOUR)
    });
    Ok(Plan {
        first: first.max(upto - 400 * 24 * HOUR),
        upto,
        cut,
        prev_cut,
    })
}

/// How [`roll_up`] meets an hour already aggregated.
#[derive(Clone, Copy)]
enum Fold {
    /// The raw rows are all there: the hour is recomputed from them.
    Replace,
    /// The hour's raw rows went in an earlier pass; these arrived since: they are added.
    Add,
}

/// Hourly aggregates of the readings of devices `lo..hi` with `ts` in `from..to`.
fn roll_up(c: &mut dyn Conn, lo: i64, hi: i64, from: i64, to: i64, fold: Fold) -> Result<u64> {
    let set = match fold {
        Fold::Replace => {
            "n = excluded.n, sum = excluded.sum, min = excluded.min, max = excluded.max"
        }
        Fold::Add => {
            "n = readings_hourly.n + excluded.n, sum = readings_hourly.sum + excluded.sum, \
             min = CASE WHEN excluded.min < readings_hourly.min THEN excluded.min ELSE readings_hourly.min END, \
             max = CASE WHEN excluded.max > readings_hourly.max THEN excluded.max ELSE readings_hourly.max END"
        }
    };
    // CROSS JOIN keeps SQLite walking the pairs and seeking each one's readings.
    c.exec(
        &format!(
            "INSERT INTO readings_hourly (device_id, key, hour, street_id, n, sum, min, max) \
             SELECT s.device_id, s.key, r.ts - (r.ts % 3600000), MIN(r.street_id), COUNT(*), SUM(r.num), MIN(r.num), MAX(r.num) \
             FROM device_state s CROSS JOIN readings r \
             WHERE s.device_id >= $1 AND s.device_id < $2 AND r.device_id = s.device_id AND r.key = s.key \
             AND r.ts >= $3 AND r.ts < $4 AND r.num IS NOT NULL \
             GROUP BY s.device_id, s.key, r.ts - (r.ts % 3600000) \
             ON CONFLICT (device_id, key, hour) DO UPDATE SET {set}"
        ),
        params![lo, hi, from, to],
    )
}

/// The pass's work for devices with ids in `lo..hi`; returns the raw readings deleted.
pub fn run_devices(c: &mut dyn Conn, plan: &Plan, lo: i64, hi: i64) -> Result<u64> {
    if plan.first < plan.upto {
        roll_up(c, lo, hi, plan.first, plan.upto, Fold::Replace)?;
    }
    let Some(cut) = plan.cut else { return Ok(0) };
    // Before raw rows go, their hours are rolled up (hour-aligned, so every hour touched is
    // complete): from all of their rows where those are still there, and by adding what
    // arrived late where an earlier pass already deleted the rest.
    let kept_from = plan.prev_cut.unwrap_or(i64::MIN).min(cut);
    roll_up(c, lo, hi, i64::MIN, kept_from, Fold::Add)?;
    roll_up(c, lo, hi, kept_from, cut, Fold::Replace)?;
    let pairs = c.query(
        "SELECT device_id, key FROM device_state WHERE device_id >= $1 AND device_id < $2",
        params![lo, hi],
    )?;
    let mut deleted = 0;
    for p in pairs {
        deleted += c.exec(
            "DELETE FROM readings WHERE device_id = $1 AND key = $2 AND ts < $3",
            params![p.i64(0), p.str(1), cut],
        )?;
    }
    Ok(deleted)
}

/// Ends a pass: records how far the rollup got and applies the aggregates' retention.
pub fn finish(c: &mut dyn Conn, plan: &Plan, now: i64, hourly_days: i64) -> Result<u64> {
    c.exec(
        "INSERT INTO meta (key, value) VALUES ('sensing_rollup_upto', $1) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![plan.upto.to_string()],
    )?;
    if let Some(cut) = plan.cut {
        c.exec(
            "INSERT INTO meta (key, value) VALUES ('sensing_raw_cut', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![cut.to_string()],
        )?;
    }
    if hourly_days <= 0 {
        return Ok(0);
    }
    c.exec(
        "DELETE FROM readings_hourly WHERE hour < $1",
        params![now - hourly_days * 24 * HOUR],
    )
}

/// Rolls up every complete hour not yet rolled up (recomputing the last `GRACE` of them for
/// late readings), then applies retention, all in the caller's transaction.
/// `raw_days`/`hourly_days` of 0 keep forever.
pub fn run_once(c: &mut dyn Conn, now: i64, raw_days: i64, hourly_days: i64) -> Result<Pass> {
    let plan = plan(c, now, raw_days)?;
    let raw_deleted = run_devices(c, &plan, i64::MIN, i64::MAX)?;
    let hourly_deleted = finish(c, &plan, now, hourly_days)?;
    Ok(Pass {
        hours: plan.hours(),
        raw_deleted,
        hourly_deleted,
    })
}

/// One pass in short transactions of `CHUNK` devices each. The rollup's progress is
/// recorded only at the end, so a pass cut short is simply done again.
pub async fn run_pass(
    state: &Arc<AppState>,
    now: i64,
    raw_days: i64,
    hourly_days: i64,
) -> std::result::Result<Pass, crate::store::StoreError> {
    let (plan, span) = state
        .db
        .write(move |c| {
            let plan = plan(c, now, raw_days)?;
            let span = c.query_one(
                "SELECT COALESCE(MIN(device_id), 0), COALESCE(MAX(device_id), -1) FROM device_state",
                &[],
            )?;
            Ok((plan, (span.i64(0), span.i64(1))))
        })
        .await?;
    let mut pass = Pass {
        hours: plan.hours(),
        ..Pass::default()
    };
    let mut lo = span.0;
    while lo <= span.1 {
        let hi = lo + CHUNK;
        pass.raw_deleted += state
            .db
            .write(move |c| run_devices(c, &plan, lo, hi))
            .await?;
        lo = hi;
    }
    pass.hourly_deleted = state
        .db
        .write(move |c| finish(c, &plan, now, hourly_days))
        .await?;
    Ok(pass)
}

/// Runs a pass two minutes after start and then every ten minutes.
pub async fn run(state: Arc<AppState>) {
    // Not at start: a restart first re-arms the timers and serves; a pass after a long
    // pause (or the first with retention on) can have millions of readings to fold away.
    tokio::time::sleep(FIRST_PASS_AFTER).await;
    loop {
        let now = state.sensing.clock.now_ms();
        let (raw, hourly) = (state.cfg.sensing_raw_days, state.cfg.sensing_hourly_days);
        match run_pass(&state, now, raw, hourly).await {
            Ok(p) if p.raw_deleted > 0 || p.hourly_deleted > 0 => {
                tracing::info!(
                    hours = p.hours,
                    raw = p.raw_deleted,
                    hourly = p.hourly_deleted,
                    "sensing housekeeping done"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "sensing housekeeping failed"),
        }
        tokio::time::sleep(Duration::from_secs(600)).await;
    }
}
