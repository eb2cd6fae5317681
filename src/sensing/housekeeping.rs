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

/// Rolls up every complete hour not yet rolled up (recomputing the last `GRACE` of them for
/// late readings), then applies retention. `raw_days`/`hourly_days` of 0 keep forever.
pub fn run_once(c: &mut dyn Conn, now: i64, raw_days: i64, hourly_days: i64) -> Result<Pass> {
    let mut pass = Pass::default();
    let done = c
        .query_opt(
            "SELECT value FROM meta WHERE key = 'sensing_rollup_upto'",
            &[],
        )?
        .and_then(|r| r.str(0).parse::<i64>().ok());
    let first = match done {
        Some(t) => t - GRACE,
        None => match c
            .query_opt("SELECT MIN(ts) FROM readings", &[])?
            .and_then(|r| r.opt_i64(0))
        {
            Some(t) => t - t.rem_euclid(HOUR),
            None => now - now.rem_euclid(HOUR),
        },
    };
    let upto = now - now.rem_euclid(HOUR); // the start of the current, incomplete hour
    let mut h = first.max(upto - 400 * 24 * HOUR);
    while h < upto {
        c.exec(
            "INSERT INTO readings_hourly (device_id, key, hour, street_id, n, sum, min, max) \
             SELECT device_id, key, $1, MIN(street_id), COUNT(*), SUM(num), MIN(num), MAX(num) FROM readings \
             WHERE ts >= $1 AND ts < $2 AND num IS NOT NULL GROUP BY device_id, key \
             ON CONFLICT (device_id, key, hour) DO UPDATE SET n = excluded.n, sum = excluded.sum, \
             min = excluded.min, max = excluded.max",
            params![h, h + HOUR],
        )?;
        pass.hours += 1;
        h += HOUR;
    }
    c.exec(
        "INSERT INTO meta (key, value) VALUES ('sensing_rollup_upto', $1) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![upto.to_string()],
    )?;
    if raw_days > 0 {
        // Before raw rows go, their hours are computed again from all of them (hour-aligned,
        // so every hour touched is complete): readings that arrived late are not lost.
        let cut = now - raw_days * 24 * HOUR;
        let cut = cut - cut.rem_euclid(HOUR);
        c.exec(
            "INSERT INTO readings_hourly (device_id, key, hour, street_id, n, sum, min, max) \
             SELECT device_id, key, ts - (ts % 3600000), MIN(street_id), COUNT(*), SUM(num), MIN(num), MAX(num) \
             FROM readings WHERE ts < $1 AND num IS NOT NULL GROUP BY device_id, key, ts - (ts % 3600000) \
             ON CONFLICT (device_id, key, hour) DO UPDATE SET n = excluded.n, sum = excluded.sum, \
             min = excluded.min, max = excluded.max",
            params![cut],
        )?;
        pass.raw_deleted = c.exec("DELETE FROM readings WHERE ts < $1", params![cut])?;
    }
    if hourly_days > 0 {
        pass.hourly_deleted = c.exec(
            "DELETE FROM readings_hourly WHERE hour < $1",
            params![now - hourly_days * 24 * HOUR],
        )?;
    }
    Ok(pass)
}

/// Runs a pass at start and then every ten minutes.
pub async fn run(state: Arc<AppState>) {
    loop {
        let now = state.sensing.clock.now_ms();
        let (raw, hourly) = (state.cfg.sensing_raw_days, state.cfg.sensing_hourly_days);
        match state.db.write(move |c| run_once(c, now, raw, hourly)).await {
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
