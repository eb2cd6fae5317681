//! Rules over the audit log that find misuse (seed 004: abnormal use of a resident's identity
//! should be noticed): one account viewing many people within an hour, access outside working
//! hours, repeated denied access. Each finding becomes one notice to the street
//! administrator, with the evidence. Scans are idempotent — a notice's key names its rule,
//! account and window — so a restart neither loses nor repeats one.
//!
//! A scan costs what was appended since the last one, not the log's history: it reads the
//! entries past its watermark (kept in `meta`) on a reader, folds who looked at whom into
//! `audit_actor_subjects` (kept two hours), and then judges the last hour from those rows,
//! the denied entries' own index and a few entries per active account. The one SQLite writer
//! is held only for short transactions storing what was read and raising the notices: a scan
//! that read the log on the writer stalled every request that writes for seconds each minute.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{Offset, TimeZone, Timelike};
use serde_json::json;

use crate::params;
use crate::store::{Backend, Conn, Db, Result, Val, meta, now_ms, set_meta};

#[derive(Clone, Debug)]
pub struct Rules {
    /// More distinct people or households than this within an hour is unusual.
    pub max_people_per_hour: i64,
    /// Denied accesses within an hour from which a notice is raised.
    pub max_denied_per_hour: i64,
    /// Working hours, local time: [start, end).
    pub work_hours: (u32, u32),
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            max_people_per_hour: 100,
            max_denied_per_hour: 3,
            work_hours: (7, 20),
        }
    }
}

const HOUR: i64 = 3_600_000;
/// Who looked at whom is kept this long: the rules look back one hour; the second hour is a
/// margin for a scan whose clock is behind another's.
const KEEP: i64 = 2 * HOUR;
/// The `meta` key of the watermark: entries below it are folded into the scan's tables.
const WATERMARK: &str = "audit_scan_upto";
/// Entries read per step. A step's rows are written in transactions of at most [`ROWS_PER_TX`]
/// so that appends and requests never wait long for the one SQLite writer behind a scan.
const ENTRIES_PER_STEP: u64 = 4096;
/// About 6 ms of the writer per transaction: `linli-bench jobs` measured 1.3–1.6 µs per row
/// on SQLite (a minute of 60,000 reads, two subjects each, held it 160–190 ms in all).
const ROWS_PER_TX: usize = 4096;
/// Evidence lists at most this many entries.
const SAMPLES: usize = 50;

const PERSONAL: &str = "('read', 'list', 'reveal', 'export')";
/// What counts towards "many people within an hour": a record opened, a reveal, an export —
/// not the rows of a list the worker is entitled to (a grid worker paging through her own grid
/// crossed 100 "people" in an hour without opening one record).
const DETAILED: &str = "('read', 'reveal', 'export')";
/// How far back "her usual" is taken for a notice: her hours with detailed views in the last
/// two weeks.
const USUAL_DAYS: i64 = 14;

/// Raises a notice to the street administrator, once per `key` (a repeat is ignored). Used by
/// the scan's rules and by use cases that notice something themselves (an export requested by
/// an account created days ago). Returns whether the notice is new.
pub fn notify(
    c: &mut dyn Conn,
    street: Option<i64>,
    kind: &str,
    key: String,
    actor_id: Option<i64>,
    actor: &str,
    evidence: serde_json::Value,
) -> Result<bool> {
    let n = c.exec(
        "INSERT INTO security_notices (street_id, kind, dedup_key, actor_id, actor, evidence, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedup_key) DO NOTHING",
        params![
            street,
            kind,
            key,
            actor_id,
            actor,
            evidence.to_string(),
            now_ms()
        ],
    )?;
    Ok(n > 0)
}

/// What one scan did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scan {
    /// Entries read from the log: those appended since the watermark.
    pub read: u64,
    /// New notices raised.
    pub raised: usize,
    /// The whole run, from start to end.
    pub took: Duration,
    /// Of which the writer was held (the rest ran on readers or waited).
    pub writing: Duration,
}

/// The new entries of one step, folded: `[from, to)` of the log.
#[derive(Debug, Default)]
struct Step {
    from: u64,
    to: u64,
    /// Whether `to` is the end of the log as it was read.
    last: bool,
    /// (actor, subject) → (last seen, street then).
    seen: Vec<Vec<Val>>,
    /// actor → last access to personal data.
    active: Vec<Vec<Val>>,
}

/// Just the subjects of an entry's body.
#[derive(serde::Deserialize)]
struct Subjects {
    subjects: Vec<String>,
}

/// The watermark as stored: entries below it are folded in already.
fn stored_watermark(c: &mut dyn Conn) -> Result<Option<u64>> {
    Ok(meta(c, WATERMARK)?.and_then(|v| v.parse().ok()))
}

/// Where the next step starts. Without a watermark (the first scan), or with one more than an
/// hour behind (scans stopped for a while), an hour back: what is older can no longer count,
/// and catching up on it would only delay the scan.
fn watermark(c: &mut dyn Conn, now: i64) -> Result<u64> {
    let Some(w) = stored_watermark(c)? else {
        return super::first_seq_since(c, now - HOUR);
    };
    let at = c
        .query_opt(
            "SELECT at FROM audit_entries WHERE seq = $1",
            params![w as i64],
        )?
        .map(|r| r.i64(0));
    match at {
        Some(at) if at < now - HOUR => Ok(w.max(super::first_seq_since(c, now - HOUR)?)),
        _ => Ok(w),
    }
}

/// Reads the next step of new entries (on a reader) and folds it in memory.
fn read_step(c: &mut dyn Conn, now: i64) -> Result<Step> {
    let from = watermark(c, now)?;
    let size = super::size(c)?;
    let to = size.min(from + ENTRIES_PER_STEP);
    let mut step = Step {
        from,
        to: to.max(from),
        last: to >= size,
        ..Step::default()
    };
    if to <= from {
        return Ok(step);
    }
    // seq is the primary key: the step is one range of it, never a walk over times.
    let rows = c.query(
        &format!(
            "SELECT seq, at, actor_id, street_id, body, action FROM audit_entries \
             WHERE seq >= $1 AND seq < $2 AND actor_id IS NOT NULL AND action IN {PERSONAL}"
        ),
        params![from as i64, to as i64],
    )?;
    let mut seen: HashMap<(i64, String), (i64, Option<i64>)> = HashMap::new();
    let mut active: BTreeMap<i64, i64> = BTreeMap::new();
    for mut r in rows {
        let (at, actor, street) = (r.i64(1), r.i64(2), r.opt_i64(3));
        let last = active.entry(actor).or_insert(at);
        *last = (*last).max(at);
        if r.str(5) == "list" {
            continue;
        }
        let Some(body) = r.take_str(4) else { continue };
        let Ok(e) = serde_json::from_str::<Subjects>(&body) else {
            continue;
        };
        for s in e.subjects {
            if !(s.starts_with("person:") || s.starts_with("household:")) {
                continue;
            }
            let v = seen.entry((actor, s)).or_insert((at, street));
            if at >= v.0 {
                *v = (at, street);
            }
        }
    }
    let mut seen: Vec<_> = seen.into_iter().collect();
    // Key order: each transaction walks the primary key once, and two instances sharing
    // one PostgreSQL database lock rows in the same order.
    seen.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    step.seen = seen
        .into_iter()
        .map(|((actor, s), (at, street))| {
            vec![Val::Int(actor), Val::Text(s), Val::Int(at), street.into()]
        })
        .collect();
    step.active = active
        .into_iter()
        .map(|(a, at)| vec![Val::Int(a), Val::Int(at)])
        .collect();
    Ok(step)
}

/// Writes part of a step that ends at `to` (on the writer); the last part also moves the
/// watermark. Upserts only move times forward, so a part written twice (two instances, or a
/// retry after a crash between parts) changes nothing; a step another scan has written
/// already is skipped.
fn write_step(
    c: &mut dyn Conn,
    seen: &[Vec<Val>],
    active: &[Vec<Val>],
    to: u64,
    last: bool,
) -> Result<()> {
    if c.backend() == Backend::Postgres {
        // One scan writes at a time across processes (7411 is the appenders').
        c.exec("SELECT pg_advisory_xact_lock(7412)", &[])?;
    }
    let cur = stored_watermark(c)?;
    if cur.is_some_and(|w| w >= to) {
        return Ok(());
    }
    c.insert_rows(
        "audit_actor_subjects",
        &["actor_id", "subject", "last_at", "street_id"],
        seen,
        " ON CONFLICT (actor_id, subject) DO UPDATE SET last_at = excluded.last_at, \
         street_id = excluded.street_id WHERE excluded.last_at > audit_actor_subjects.last_at",
    )?;
    c.insert_rows(
        "audit_actors_active",
        &["actor_id", "last_at"],
        active,
        " ON CONFLICT (actor_id) DO UPDATE SET last_at = excluded.last_at \
         WHERE excluded.last_at > audit_actors_active.last_at",
    )?;
    if last {
        set_meta(c, WATERMARK, &to.to_string())?;
    }
    Ok(())
}

/// A notice to raise.
#[derive(Debug)]
struct Finding {
    street: Option<i64>,
    kind: &'static str,
    key: String,
    actor_id: i64,
    evidence: serde_json::Value,
}

fn raised_already(c: &mut dyn Conn, key: &str) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM security_notices WHERE dedup_key = $1",
        params![key],
    )?
    .is_some())
}

/// The parts of `[from, to)` within one clock hour of the street's zone each (working hours
/// are judged in China time, not the server's zone): start, end, hour, day.
fn local_hours(from: i64, to: i64) -> Vec<(i64, i64, u32, String)> {
    let mut out = Vec::new();
    let mut t = from;
    while t < to {
        let Some(lt) = crate::kernel::time::zone().timestamp_millis_opt(t).single() else {
            break;
        };
        let off = lt.offset().fix().local_minus_utc() as i64 * 1000;
        let local = t + off;
        let end = (local - local.rem_euclid(HOUR) + HOUR - off).min(to);
        out.push((t, end, lt.hour(), lt.format("%Y-%m-%d").to_string()));
        t = end.max(t + 1);
    }
    out
}

/// Applies the rules to the last hour as the scan's tables and the log's indexes hold it
/// (on a reader): a few rows per account active in the hour, never the log's history.
/// Whether an account reads only her own household's records (a resident): registered by
/// `app::wire` from org's roles, so the log need not read org's accounts. Unregistered, every
/// account is scanned.
pub type OwnOnly = fn(&mut dyn Conn, i64) -> Result<bool>;

static OWN_ONLY: std::sync::RwLock<Option<OwnOnly>> = std::sync::RwLock::new(None);

/// Registers the test of [`OwnOnly`].
pub fn on_own_only(f: OwnOnly) {
    *OWN_ONLY.write().unwrap_or_else(|e| e.into_inner()) = Some(f);
}

fn findings(c: &mut dyn Conn, rules: &Rules, now: i64) -> Result<Vec<Finding>> {
    let since = now - HOUR;
    let bucket = now / HOUR;
    let mut out = Vec::new();
    let actors: Vec<(i64, i64)> = c
        .query(
            "SELECT actor_id, last_at FROM audit_actors_active WHERE last_at >= $1 ORDER BY actor_id",
            params![since],
        )?
        .iter()
        .map(|r| (r.i64(0), r.i64(1)))
        .collect();
    // A resident sees only her own household: what she opens at night is her own record, not
    // an access to anyone else's (issue 19 item 3: her evening look at "my data" was a notice
    // to the administrator). Each active account is checked through user_roles' user index.
    let mut workers = Vec::with_capacity(actors.len());
    let own_only = *OWN_ONLY.read().unwrap_or_else(|e| e.into_inner());
    for (actor_id, last) in actors {
        let resident_only = match own_only {
            Some(f) => f(c, actor_id)?,
            None => false,
        };
        if !resident_only {
            workers.push((actor_id, last));
        }
    }
    let actors = workers;

    // 1. Volume: distinct people or households viewed by one account within the hour.
    for &(actor_id, _) in &actors {
        let r = c.query_one(
            "SELECT COUNT(*), MAX(street_id) FROM audit_actor_subjects WHERE actor_id = $1 AND last_at >= $2",
            params![actor_id, since],
        )?;
        let distinct = r.i64(0);
        if distinct <= rules.max_people_per_hour {
            continue;
        }
        let key = format!("volume:{actor_id}:{bucket}");
        if raised_already(c, &key)? {
            continue;
        }
        let seqs = samples(
            c,
            &format!(
                "SELECT seq FROM audit_entries WHERE actor_id = $1 AND at >= $2 AND action IN {DETAILED} \
                 ORDER BY at LIMIT {SAMPLES}"
            ),
            params![actor_id, since],
        )?;
        out.push(Finding {
            street: r.opt_i64(1),
            kind: "anomaly_volume",
            key,
            actor_id,
            evidence: json!({
                "distinct_records": distinct,
                "threshold": rules.max_people_per_hour,
                "usual_per_hour": usual_per_hour(c, actor_id, since)?,
                "since": since,
                "entries": seqs,
            }),
        });
    }

    // 2. Access to personal data outside working hours (local time), once per account and
    // day; as for volume, a record opened, a reveal or an export, not a list paged: the hour is cut at local clock hours, and the parts outside working hours are
    // looked up per account through its (actor_id, at) index, a few entries each.
    let mut after: BTreeMap<(i64, String), (Option<i64>, Vec<i64>)> = BTreeMap::new();
    for (a, b, h, day) in local_hours(since, now + 1) {
        if h >= rules.work_hours.0 && h < rules.work_hours.1 {
            continue;
        }
        for &(actor_id, last) in &actors {
            if last < a {
                continue;
            }
            let have = after
                .get(&(actor_id, day.clone()))
                .map(|e| e.1.len())
                .unwrap_or(0);
            if have >= SAMPLES
                || (have == 0 && raised_already(c, &format!("after_hours:{actor_id}:{day}"))?)
            {
                continue;
            }
            let rows = c.query(
                &format!(
                    "SELECT seq, street_id FROM audit_entries WHERE actor_id = $1 AND at >= $2 AND at < $3 \
                     AND action IN {DETAILED} ORDER BY at LIMIT {}",
                    SAMPLES - have
                ),
                params![actor_id, a, b],
            )?;
            let Some(first) = rows.first() else { continue };
            let e = after
                .entry((actor_id, day.clone()))
                .or_insert_with(|| (first.opt_i64(1), Vec::new()));
            e.1.extend(rows.iter().map(|r| r.i64(0)));
        }
    }
    for ((actor_id, day), (street, mut seqs)) in after {
        seqs.sort_unstable();
        let (usual_days, active_days) = usual_after_hours(c, rules, actor_id, since)?;
        out.push(Finding {
            street,
            kind: "anomaly_after_hours",
            key: format!("after_hours:{actor_id}:{day}"),
            actor_id,
            evidence: json!({
                "day": day,
                "work_hours": [rules.work_hours.0, rules.work_hours.1],
                "entries": seqs,
                "usual_days": usual_days,
                "active_days": active_days,
                "usual_window_days": USUAL_DAYS,
            }),
        });
    }

    // 3. Repeated denied access, read through the index of denied entries by time.
    let mut denied: BTreeMap<i64, (i64, Option<i64>, Vec<i64>)> = BTreeMap::new();
    for r in c.query(
        "SELECT seq, actor_id, street_id FROM audit_entries \
         WHERE action = 'denied' AND at >= $1 AND actor_id IS NOT NULL",
        params![since],
    )? {
        let e = denied.entry(r.i64(1)).or_insert((0, None, Vec::new()));
        e.0 += 1;
        e.1 = e.1.max(r.opt_i64(2));
        e.2.push(r.i64(0));
    }
    for (actor_id, (n, street, mut seqs)) in denied {
        if n < rules.max_denied_per_hour {
            continue;
        }
        let key = format!("denied:{actor_id}:{bucket}");
        if raised_already(c, &key)? {
            continue;
        }
        seqs.sort_unstable();
        seqs.truncate(SAMPLES);
        out.push(Finding {
            street,
            kind: "anomaly_denied",
            key,
            actor_id,
            evidence: json!({"denied": n, "threshold": rules.max_denied_per_hour, "since": since, "entries": seqs}),
        });
    }
    Ok(out)
}

/// Her usual: the median number of detailed views in the hours she worked with residents'
/// records over the last [`USUAL_DAYS`] days before `before` (0 when she has none). Read through
/// the log's (actor_id, at) index: the cost follows her own activity, not the log's size.
fn usual_per_hour(c: &mut dyn Conn, actor_id: i64, before: i64) -> Result<i64> {
    let rows = c.query(
        &format!(
            "SELECT at FROM audit_entries WHERE actor_id = $1 AND at >= $2 AND at < $3 \
             AND action IN {DETAILED}"
        ),
        params![actor_id, before - USUAL_DAYS * 24 * HOUR, before],
    )?;
    let mut per_hour: BTreeMap<i64, i64> = BTreeMap::new();
    for r in rows {
        *per_hour.entry(r.i64(0) / HOUR).or_default() += 1;
    }
    let mut counts: Vec<i64> = per_hour.into_values().collect();
    if counts.is_empty() {
        return Ok(0);
    }
    counts.sort_unstable();
    Ok(counts[counts.len() / 2])
}

/// Her usual outside working hours: over the last [`USUAL_DAYS`] days before `before`, on how
/// many local days she opened residents' records outside working hours, of the days she opened
/// any. A night-shift worker who does so most days reads differently from a day worker who never
/// has. Read through the log's (actor_id, at) index, like [`usual_per_hour`].
fn usual_after_hours(
    c: &mut dyn Conn,
    rules: &Rules,
    actor_id: i64,
    before: i64,
) -> Result<(i64, i64)> {
    let rows = c.query(
        &format!(
            "SELECT at FROM audit_entries WHERE actor_id = $1 AND at >= $2 AND at < $3 \
             AND action IN {DETAILED}"
        ),
        params![actor_id, before - USUAL_DAYS * 24 * HOUR, before],
    )?;
    let zone = crate::kernel::time::zone();
    let mut days: BTreeMap<String, bool> = BTreeMap::new();
    for r in rows {
        let Some(lt) = zone.timestamp_millis_opt(r.i64(0)).single() else {
            continue;
        };
        let outside = lt.hour() < rules.work_hours.0 || lt.hour() >= rules.work_hours.1;
        *days.entry(lt.format("%Y-%m-%d").to_string()).or_default() |= outside;
    }
    let outside = days.values().filter(|o| **o).count() as i64;
    Ok((outside, days.len() as i64))
}

fn samples(c: &mut dyn Conn, sql: &str, p: &[Val]) -> Result<Vec<i64>> {
    let mut v: Vec<i64> = c.query(sql, p)?.iter().map(|r| r.i64(0)).collect();
    v.sort_unstable();
    Ok(v)
}

/// Raises the notices found (on the writer), records the run, and forgets who looked at
/// whom longer ago than [`KEEP`]. Returns how many notices are new.
fn conclude(c: &mut dyn Conn, found: &[Finding], now: i64) -> Result<usize> {
    let mut raised = 0;
    for f in found {
        // The account's name as the log recorded it on her latest entry (the log's own
        // (actor_id, at) index; the log does not read org's accounts).
        let actor = c
            .query_opt(
                "SELECT body FROM audit_entries WHERE actor_id = $1 ORDER BY at DESC LIMIT 1",
                params![f.actor_id],
            )?
            .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.str(0)).ok())
            .and_then(|b| b["actor"].as_str().map(str::to_string))
            .unwrap_or_default();
        if notify(
            c,
            f.street,
            f.kind,
            f.key.clone(),
            Some(f.actor_id),
            &actor,
            f.evidence.clone(),
        )? {
            raised += 1;
        }
    }
    crate::store::runs::mark(c, "anomaly", now)?;
    // Per account, through the (actor_id, last_at) index: only the expired rows are visited.
    let cut = now - KEEP;
    let actors: Vec<i64> = c
        .query("SELECT actor_id FROM audit_actors_active", &[])?
        .iter()
        .map(|r| r.i64(0))
        .collect();
    for a in actors {
        c.exec(
            "DELETE FROM audit_actor_subjects WHERE actor_id = $1 AND last_at < $2",
            params![a, cut],
        )?;
    }
    c.exec(
        "DELETE FROM audit_actors_active WHERE last_at < $1",
        params![cut],
    )?;
    Ok(raised)
}

/// The scan on one connection (the caller's transaction): folds in the entries appended
/// since the watermark, then runs every rule over the last hour. Returns how many new
/// notices were raised.
pub fn scan(c: &mut dyn Conn, rules: &Rules, now: i64) -> Result<usize> {
    loop {
        let step = read_step(c, now)?;
        if step.to > step.from {
            write_step(c, &step.seen, &step.active, step.to, true)?;
        }
        if step.last {
            break;
        }
    }
    let found = findings(c, rules, now)?;
    conclude(c, &found, now)
}

/// The scan as the server runs it: new entries and the rules are read on readers; the
/// writer is taken only for short transactions that store what was read and raise the
/// notices found, so appends and requests are not held up behind the scan.
pub async fn run(db: &Db, rules: &Rules, now: i64) -> Result<Scan> {
    let t0 = Instant::now();
    let mut out = Scan::default();
    loop {
        let step = db.read(move |c| read_step(c, now)).await?;
        out.read += step.to - step.from;
        let last = step.last;
        let (from, to) = (step.from, step.to);
        let step = std::sync::Arc::new(step);
        let parts = if to > from {
            step.seen.len().div_ceil(ROWS_PER_TX).max(1)
        } else {
            0
        };
        for i in 0..parts {
            let step = step.clone();
            let final_part = i + 1 == parts;
            out.writing += db
                .write(move |c| {
                    let w0 = Instant::now();
                    let lo = (i * ROWS_PER_TX).min(step.seen.len());
                    let hi = ((i + 1) * ROWS_PER_TX).min(step.seen.len());
                    let active: &[Vec<Val>] = if final_part { &step.active } else { &[] };
                    write_step(c, &step.seen[lo..hi], active, to, final_part)?;
                    Ok(w0.elapsed())
                })
                .await?;
        }
        if last {
            break;
        }
    }
    let rules = rules.clone();
    let found = db.read(move |c| findings(c, &rules, now)).await?;
    let (raised, w) = db
        .write(move |c| {
            let w0 = Instant::now();
            Ok((conclude(c, &found, now)?, w0.elapsed()))
        })
        .await?;
    out.raised = raised;
    out.writing += w;
    out.took = t0.elapsed();
    let (ms, writing_ms) = (
        out.took.as_secs_f64() * 1e3,
        out.writing.as_secs_f64() * 1e3,
    );
    let (read, raised) = (out.read, out.raised);
    // Worth a line at the default level when a run takes half the minute between runs: the
    // scan is falling behind the log.
    if out.took > Duration::from_secs(30) {
        tracing::warn!(read, raised, ms, writing_ms, "audit anomaly scan was slow");
    } else {
        tracing::debug!(read, raised, ms, writing_ms, "audit anomaly scan");
    }
    Ok(out)
}

/// A notice as the administrator sees it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = SecurityNotice)]
pub struct Notice {
    pub id: i64,
    pub kind: String,
    /// The account the notice is about (its username in `actor`).
    pub actor_id: Option<i64>,
    pub actor: String,
    pub evidence: serde_json::Value,
    /// Unix milliseconds.
    pub created_at: i64,
    pub read: bool,
}

/// Notices for the streets given (all of them when `streets` is `None`: district level).
pub fn notices(c: &mut dyn Conn, streets: Option<&[i64]>, limit: i64) -> Result<Vec<Notice>> {
    let rows = match streets {
        None => c.query(
            "SELECT id, kind, actor, evidence, created_at, read_at, actor_id FROM security_notices ORDER BY id DESC LIMIT $1",
            params![limit],
        )?,
        Some(list) => {
            if list.is_empty() {
                return Ok(Vec::new());
            }
            let mut p: Vec<Val> = list.iter().map(|s| Val::Int(*s)).collect();
            let marks: Vec<String> = (1..=list.len()).map(|i| format!("${i}")).collect();
            p.push(Val::Int(limit));
            c.query(
                &format!(
                    "SELECT id, kind, actor, evidence, created_at, read_at, actor_id FROM security_notices WHERE street_id IN ({}) ORDER BY id DESC LIMIT ${}",
                    marks.join(", "),
                    p.len()
                ),
                &p,
            )?
        }
    };
    Ok(rows.iter().map(notice_from).collect())
}

fn notice_from(r: &crate::store::Row) -> Notice {
    Notice {
        id: r.i64(0),
        kind: r.str(1),
        actor: r.str(2),
        evidence: serde_json::from_str(&r.str(3)).unwrap_or_default(),
        created_at: r.i64(4),
        read: r.opt_i64(5).is_some(),
        actor_id: r.opt_i64(6),
    }
}

/// One notice, if it belongs to one of `streets` (any when `None`).
pub fn notice(c: &mut dyn Conn, streets: Option<&[i64]>, id: i64) -> Result<Option<Notice>> {
    let Some(r) = c.query_opt(
        "SELECT id, kind, actor, evidence, created_at, read_at, actor_id, street_id FROM security_notices WHERE id = $1",
        params![id],
    )?
    else {
        return Ok(None);
    };
    if let Some(list) = streets
        && !r.opt_i64(7).is_some_and(|s| list.contains(&s))
    {
        return Ok(None);
    }
    Ok(Some(notice_from(&r)))
}

/// Marks a notice read, if it belongs to one of `streets` (all when `None`).
pub async fn mark_read(db: &crate::store::Db, streets: Option<Vec<i64>>, id: i64) -> Result<bool> {
    db.write(move |c| {
        let Some(r) = c.query_opt(
            "SELECT street_id FROM security_notices WHERE id = $1",
            params![id],
        )?
        else {
            return Ok(false);
        };
        if let Some(list) = &streets
            && !r.opt_i64(0).is_some_and(|s| list.contains(&s))
        {
            return Ok(false);
        }
        Ok(c.exec(
            "UPDATE security_notices SET read_at = $1 WHERE id = $2 AND read_at IS NULL",
            params![now_ms(), id],
        )? > 0)
    })
    .await
}
