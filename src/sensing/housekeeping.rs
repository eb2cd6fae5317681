//! Storage housekeeping: raw readings are rolled up into hourly aggregates (count, sum, min,
//! max per device, key and hour) and deleted after `sensing_raw_days`; the aggregates are
//! kept for `sensing_hourly_days`. The rollup's progress is kept in `meta`, so a restart
//! neither skips nor double-counts an hour (each hour is recomputed from the raw rows).

use std::sync::Arc;
use std::time::Duration;

use crate::params;
use crate::state::AppState;
use crate::store::{Conn, Result, meta, set_meta};

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

/// Devices (by id range) handled per transaction at most, so a pass never holds the writer
/// long; fewer when their readings are many (see [`ROWS_PER_TX`]).
const CHUNK: i64 = 1000;
/// Raw readings deleted per transaction that a pass aims at: a chunk with more expired
/// readings takes proportionally fewer devices, down to one, and one device with more is
/// cut in time slices.
const ROWS_PER_TX: u64 = 100_000;

/// What a pass is to do, decided once at its start.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Hours from `first` (inclusive) to `upto` (exclusive) are rolled up.
    first: i64,
    upto: i64,
    /// Raw readings before this go (hour-aligned). It never moves back: it is at least every
    /// cut an earlier pass applied, even with raw retention turned off or lengthened since.
    cut: Option<i64>,
    /// The cut the last finished pass applied to every device.
    prev_cut: Option<i64>,
    /// What passes cut short (a crash, a restart) applied since: see [`Layers`].
    partial: Layers,
}

/// The cuts applied by passes cut short, as `(cut, below)` layers ordered by `below`: a
/// device has the cut of the first layer whose `below` is above its id, or else the last
/// finished pass's. Layers, because a pass cut short can itself be cut short before it has
/// caught up with an earlier one (devices past where the later stopped still have the
/// earlier's cut applied), and because one device with many readings is cut in slices,
/// each its own transaction (that device has the slice's cut, those below it the pass's).
/// Stored in `meta` as `cut:below,cut:below,…`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layers(Vec<(i64, i64)>);

impl Layers {
    fn parse(v: &str) -> Layers {
        let mut out: Vec<(i64, i64)> = v
            .split(',')
            .filter_map(|part| {
                let (cut, below) = part.split_once(':')?;
                Some((cut.parse().ok()?, below.parse().ok()?))
            })
            .collect();
        out.sort_by_key(|l| l.1);
        Layers(out)
    }

    fn layers(&self) -> &[(i64, i64)] {
        &self.0
    }

    fn cut_of(&self, device_id: i64) -> Option<i64> {
        self.layers().iter().find(|l| device_id < l.1).map(|l| l.0)
    }

    /// The highest cut any layer applied.
    fn max_cut(&self) -> Option<i64> {
        self.layers().iter().map(|l| l.0).max()
    }

    /// After devices `lo..hi` got `cut` (and those below `lo` the pass's `pass_cut`): the
    /// layers now, with those the pass has caught up with dropped.
    fn after(&self, pass_cut: i64, lo: i64, hi: i64, cut: i64) -> Layers {
        let mut out = Vec::with_capacity(self.0.len() + 2);
        if cut != pass_cut {
            out.push((pass_cut, lo));
        }
        out.push((cut, hi));
        out.extend(self.0.iter().filter(|l| l.1 > hi));
        Layers(out)
    }

    fn to_meta(&self) -> String {
        self.layers()
            .iter()
            .map(|(c, b)| format!("{c}:{b}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The first layer boundary strictly inside `lo..hi`.
    fn boundary_in(&self, lo: i64, hi: i64) -> Option<i64> {
        self.layers()
            .iter()
            .map(|l| l.1)
            .find(|&b| lo < b && b < hi)
    }
}

impl Plan {
    pub fn hours(&self) -> i64 {
        ((self.upto - self.first) / HOUR).max(0)
    }

    /// The cut already applied to a device: the hours before it were rolled up from all
    /// their readings, which then went, so a reading found there now arrived late.
    fn applied(&self, device_id: i64) -> Option<i64> {
        self.partial.cut_of(device_id).or(self.prev_cut)
    }
}

/// Decides the hours to roll up: every complete hour not yet rolled up, and the last
/// `GRACE` of those that were (for late readings).
///
/// Readings are only ever read through their primary key `(device_id, key, ts)`, walking
/// the device/key pairs of `device_state` (which holds every pair that has readings): an
/// index on `ts` alone would cost every insert a second B-tree, and ingestion is the hot path.
pub fn plan(c: &mut dyn Conn, now: i64, raw_days: i64) -> Result<Plan> {
    let done = meta(c, "sensing_rollup_upto")?.and_then(|v| v.parse::<i64>().ok());
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
    let prev_cut = meta(c, "sensing_raw_cut")?.and_then(|v| v.parse::<i64>().ok());
    let partial = layers_now(c)?;
    let upto = now - now.rem_euclid(HOUR); // the start of the current, incomplete hour
    let wanted = (raw_days > 0).then(|| {
        let cut = now - raw_days * 24 * HOUR;
        cut - cut.rem_euclid(HOUR)
    });
    let cut = [wanted, prev_cut, partial.max_cut()]
        .into_iter()
        .flatten()
        .max();
    Ok(Plan {
        first: first.max(upto - 400 * 24 * HOUR),
        upto,
        cut,
        prev_cut,
        partial,
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
    // Devices on either side of where a pass cut short stopped have different cuts applied.
    if let Some(b) = plan.partial.boundary_in(lo, hi) {
        return Ok(run_devices(c, plan, lo, b)? + run_devices(c, plan, b, hi)?);
    }
    let applied = plan.applied(lo);
    let floor = applied.unwrap_or(i64::MIN);
    // Readings below the applied cut arrived late: they are added to their hours (and go
    // below, as the cut is at least the applied one).
    if applied.is_some() {
        roll_up(c, lo, hi, i64::MIN, floor, Fold::Add)?;
    }
    // Complete hours still holding all their readings are recomputed from them: the recent
    // ones, and before raw rows go, every hour they belong to (hour-aligned, so every hour
    // touched is complete).
    let from = plan.first.max(floor);
    if from < plan.upto {
        roll_up(c, lo, hi, from, plan.upto, Fold::Replace)?;
    }
    let Some(cut) = plan.cut else { return Ok(0) };
    if floor < cut.min(from) {
        roll_up(c, lo, hi, floor, cut.min(from), Fold::Replace)?;
    }
    delete_before(c, lo, hi, cut)
}

/// Deletes the raw readings of devices `lo..hi` before `cut`, pair by pair through the
/// primary key.
fn delete_before(c: &mut dyn Conn, lo: i64, hi: i64, cut: i64) -> Result<u64> {
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

/// [`run_devices`] for one transaction of a pass, recording that devices below `hi` now
/// have the pass's cut applied: should the pass be cut short, the next one knows.
pub fn run_chunk(c: &mut dyn Conn, plan: &Plan, lo: i64, hi: i64) -> Result<u64> {
    // What is applied now, this pass's progress included (a slice of the first device).
    let plan = &Plan {
        partial: layers_now(c)?,
        ..plan.clone()
    };
    let deleted = run_devices(c, plan, lo, hi)?;
    if let Some(cut) = plan.cut {
        record(c, plan, lo, hi, cut)?;
    }
    Ok(deleted)
}

/// Records that devices `lo..hi` now have `cut` applied (and those below `lo` the pass's).
fn record(c: &mut dyn Conn, plan: &Plan, lo: i64, hi: i64, cut: i64) -> Result<()> {
    let pass_cut = plan.cut.unwrap_or(cut);
    let layers = layers_now(c)?.after(pass_cut, lo, hi, cut);
    set_meta(c, "sensing_raw_cut_partial", &layers.to_meta())
}

/// The layers as recorded now (in the caller's transaction): none once a pass finished.
fn layers_now(c: &mut dyn Conn) -> Result<Layers> {
    Ok(meta(c, "sensing_raw_cut_partial")?
        .map(|v| Layers::parse(&v))
        .unwrap_or_default())
}

/// The raw readings of devices `lo..hi` that the pass's cut deletes (read through the
/// primary key, so only those rows are visited).
pub fn expired(c: &mut dyn Conn, plan: &Plan, lo: i64, hi: i64) -> Result<u64> {
    let Some(cut) = plan.cut else { return Ok(0) };
    let n = c.query_one(
        "SELECT COUNT(*) FROM device_state s CROSS JOIN readings r \
         WHERE s.device_id >= $1 AND s.device_id < $2 AND r.device_id = s.device_id AND r.key = s.key AND r.ts < $3",
        params![lo, hi, cut],
    )?;
    Ok(n.i64(0).max(0) as u64)
}

/// The cuts one device with `rows` expired readings is cut at, one transaction each, so
/// that each deletes about `per_tx`: hour-aligned, evenly spread in time from where it
/// stands to the pass's cut (the last), which [`run_chunk`] applies.
pub fn slices(
    c: &mut dyn Conn,
    plan: &Plan,
    device: i64,
    rows: u64,
    per_tx: u64,
) -> Result<Vec<i64>> {
    let Some(cut) = plan.cut else {
        return Ok(Vec::new());
    };
    let oldest = c
        .query_opt(
            "SELECT MIN(m) FROM (SELECT (SELECT MIN(r.ts) FROM readings r \
             WHERE r.device_id = s.device_id AND r.key = s.key) AS m FROM device_state s WHERE s.device_id = $1) x",
            params![device],
        )?
        .and_then(|r| r.opt_i64(0));
    let Some(oldest) = oldest else {
        return Ok(vec![cut]);
    };
    let from = oldest - oldest.rem_euclid(HOUR);
    let n = rows.div_ceil(per_tx.max(1)).max(1) as i64;
    let mut out: Vec<i64> = (1..n)
        .map(|i| {
            let t = from + (cut - from) * i / n;
            t - t.rem_euclid(HOUR)
        })
        .filter(|&t| t > from && t < cut)
        .collect();
    out.dedup();
    out.push(cut);
    Ok(out)
}

/// One slice of a device with many readings: its hours below `to` rolled up and its raw
/// readings before `to` deleted, recorded as that device's applied cut. The hours above
/// are left to [`run_chunk`], which ends the device.
pub fn run_slice(c: &mut dyn Conn, plan: &Plan, device: i64, to: i64) -> Result<u64> {
    let applied = layers_now(c)?.cut_of(device).or(plan.prev_cut);
    let floor = applied.unwrap_or(i64::MIN);
    if to <= floor {
        return Ok(0);
    }
    if applied.is_some() {
        roll_up(c, device, device + 1, i64::MIN, floor, Fold::Add)?;
    }
    roll_up(c, device, device + 1, floor, to, Fold::Replace)?;
    let deleted = delete_before(c, device, device + 1, to)?;
    record(c, plan, device, device + 1, to)?;
    Ok(deleted)
}

/// Ends a pass: records how far the rollup got and applies the aggregates' retention.
pub fn finish(c: &mut dyn Conn, plan: &Plan, now: i64, hourly_days: i64) -> Result<u64> {
    set_meta(c, "sensing_rollup_upto", &plan.upto.to_string())?;
    if let Some(cut) = plan.cut {
        set_meta(c, "sensing_raw_cut", &cut.to_string())?;
    }
    c.exec(
        "DELETE FROM meta WHERE key = 'sensing_raw_cut_partial'",
        &[],
    )?;
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

/// The devices of the next chunk, after one of `devices` that had `deleted` readings to
/// delete, aiming at `per_tx`.
fn next_chunk(devices: i64, deleted: u64, per_tx: u64) -> i64 {
    if deleted > per_tx {
        (devices as f64 * per_tx as f64 / deleted as f64).max(1.0) as i64
    } else if deleted < per_tx / 4 {
        (devices * 2).min(CHUNK)
    } else {
        devices
    }
}

/// One pass in short transactions of up to `CHUNK` devices each (fewer where readings are
/// many). How far it got is recorded in each, so a pass cut short is resumed correctly.
pub async fn run_pass(
    state: &Arc<AppState>,
    now: i64,
    raw_days: i64,
    hourly_days: i64,
) -> std::result::Result<Pass, crate::store::StoreError> {
    run_pass_with(state, now, raw_days, hourly_days, ROWS_PER_TX).await
}

/// [`run_pass`] aiming at `per_tx` raw readings deleted per transaction: before each chunk
/// its expired readings are counted (on a reader); a chunk with more takes fewer devices,
/// and one device with more is cut in time slices ([`slices`], [`run_slice`]).
pub async fn run_pass_with(
    state: &Arc<AppState>,
    now: i64,
    raw_days: i64,
    hourly_days: i64,
    per_tx: u64,
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
    let plan = Arc::new(plan);
    let (mut lo, mut devices) = (span.0, CHUNK);
    while lo <= span.1 {
        let hi = lo + devices;
        let p = plan.clone();
        let rows = state.db.read(move |c| expired(c, &p, lo, hi)).await?;
        if rows > per_tx && devices > 1 {
            devices = next_chunk(devices, rows, per_tx).min(devices - 1);
            continue;
        }
        if rows > per_tx {
            let p = plan.clone();
            let cuts = state
                .db
                .read(move |c| slices(c, &p, lo, rows, per_tx))
                .await?;
            for &to in cuts.iter().take(cuts.len().saturating_sub(1)) {
                let p = plan.clone();
                pass.raw_deleted += state.db.write(move |c| run_slice(c, &p, lo, to)).await?;
            }
        }
        let p = plan.clone();
        let deleted = state.db.write(move |c| run_chunk(c, &p, lo, hi)).await?;
        pass.raw_deleted += deleted;
        devices = next_chunk(devices, rows, per_tx);
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
        let now = crate::sensing::of(&state).clock.now_ms();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_remember_every_pass_cut_short_until_caught_up() {
        // A pass with cut 10 stopped below device 500; a later one, cut 20, below 100.
        let l = Layers::parse("10:500").after(20, 0, 100, 20);
        assert_eq!(l.to_meta(), "20:100,10:500");
        assert_eq!(
            (l.cut_of(50), l.cut_of(100), l.cut_of(499), l.cut_of(500)),
            (Some(20), Some(10), Some(10), None)
        );
        // A device with many readings cut in slices: it has the slice's cut, those below it
        // the pass's, those past it what they had.
        let s = Layers::parse(&l.to_meta()).after(20, 300, 301, 15);
        assert_eq!(s.to_meta(), "20:300,15:301,10:500");
        assert_eq!(
            (s.cut_of(299), s.cut_of(300), s.cut_of(301)),
            (Some(20), Some(15), Some(10))
        );
        assert_eq!(s.boundary_in(0, 1000), Some(300));
        assert_eq!(s.boundary_in(300, 301), None);
        // Caught up past the earlier pass: one layer left.
        assert_eq!(s.after(20, 400, 600, 20).to_meta(), "20:600");
        // The format of a single layer, as stored before layers existed, still reads.
        assert_eq!(Layers::parse("7:42").cut_of(41), Some(7));
        assert_eq!(Layers::parse("").cut_of(0), None);
    }

    #[test]
    fn chunks_shrink_where_readings_are_many_and_grow_back() {
        // A chunk that deleted ten times the aim: the next takes a tenth of the devices.
        assert_eq!(next_chunk(1000, 10 * ROWS_PER_TX, ROWS_PER_TX), 100);
        // One device with millions of readings: still one device, never none.
        assert_eq!(next_chunk(1, 50 * ROWS_PER_TX, ROWS_PER_TX), 1);
        // Near the aim: unchanged; well below: doubled, up to CHUNK.
        assert_eq!(next_chunk(100, ROWS_PER_TX / 2, ROWS_PER_TX), 100);
        assert_eq!(next_chunk(100, 0, ROWS_PER_TX), 200);
        assert_eq!(next_chunk(800, 0, ROWS_PER_TX), CHUNK);
    }
}
