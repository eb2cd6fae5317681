//! `linli-bench audit`, step 4: the mixed run of issue 30. Audited reads (person and household
//! detail) and case creation at 16 clients for three minutes against `linli demo --size
//! street` whose log already holds 10 million entries of history, so that the minute's
//! anomaly scan runs at least twice while it is measured. A scan that reads the log's history
//! on the one SQLite writer shows here as a stall of every request that writes (targets:
//! p99 < 100 ms, no request over 250 ms). Beside it, one client asks `/healthz` every 20 ms:
//! the same server doing no work, as a baseline. The scan's own duration per run is read from
//! the server's log (`linli::audit::anomaly` at debug level).
//!
//! ```text
//! ./target/release/linli-bench audit --mixed-only [--mixed-entries 10000000]
//!     [--mixed-seconds 180] [--mixed-clients 16] [--keep DIR]
//! ```

use super::*;

use linli::audit::{Action, NewEntry};
use linli::store::Db;

#[derive(Args, Debug, Clone)]
pub struct MixedArgs {
    /// Entries in the log before the mixed run: history, older than the scan's two hours.
    #[arg(long, default_value_t = 10_000_000)]
    pub mixed_entries: u64,
    /// Measured seconds of the mixed run (after a warm-up of one second).
    #[arg(long, default_value_t = 180.0)]
    pub mixed_seconds: f64,
    /// Concurrent clients of the mixed run.
    #[arg(long, default_value_t = 16)]
    pub mixed_clients: usize,
    /// Run only the mixed run (step 4), not steps 1–3.
    #[arg(long)]
    pub mixed_only: bool,
    /// Skip the mixed run.
    #[arg(long, conflicts_with = "mixed_only")]
    pub no_mixed: bool,
}

const HOUR: i64 = 3_600_000;
/// The history's entries are spread over this many days before the last two hours: about
/// 3.9 entries a second at 10 million, a busy street's log after a month.
const HISTORY_DAYS: i64 = 30;
/// Entries per transaction while the history is written.
const HISTORY_BATCH: u64 = 250_000;
/// Person and household ids the reads cycle through (all exist in the street demo).
const IDS: u64 = 2000;
const P99_TARGET_MS: f64 = 100.0;
const STALL_TARGET_MS: f64 = 250.0;

/// A small, fast, deterministic mix of the bits of `i` (splitmix64's finaliser).
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

struct Population {
    actors: Vec<i64>,
    persons: i64,
    households: i64,
    street: Option<i64>,
}

/// Entry `i` of the history: mostly detail reads, some lists of ten, a few changes, logins
/// and denied accesses (one in a thousand).
fn history_entry(i: u64, at: i64, p: &Population) -> NewEntry {
    let h = mix(i);
    let actor = p.actors[(h % p.actors.len() as u64) as usize];
    let person = |k: u64| format!("person:{}", 1 + (mix(k) % p.persons as u64));
    let household = |k: u64| format!("household:{}", 1 + (mix(k) % p.households as u64));
    let (action, subjects) = match (h >> 20) % 1000 {
        0 => (Action::Denied, vec![household(h ^ 1)]),
        1..=9 => (Action::Change, vec![person(h ^ 2)]),
        10..=19 => (Action::Login, Vec::new()),
        20..=139 => (Action::List, (0..10).map(|k| person(h ^ (k + 3))).collect()),
        _ => (Action::Read, vec![person(h ^ 13), household(h ^ 14)]),
    };
    NewEntry {
        at,
        street_id: p.street,
        actor_id: Some(actor),
        actor: "bench".into(),
        role: "grid_worker".into(),
        org: None,
        scope: Vec::new(),
        action,
        subjects,
        purpose: None,
        request_id: "history".into(),
    }
}

/// Appends history until the log holds `total` entries, with times evenly spread from
/// `HISTORY_DAYS` ago to two hours ago. Returns the entries written and the seconds it took.
///
/// Written the way `audit::append_from` writes (the same canonical body, leaf hash, Merkle
/// nodes and subject rows, so the server appends after it and `linli audit verify` passes),
/// but on a connection of its own with a large cache and 250,000 entries per transaction:
/// through the pool's writer (8 MB of cache) a batch's scattered subject-index pages spilled
/// and were written again and again, and the WAL grew by gigabytes a minute.
fn build_history(db: &Db, path: &Path, total: u64) -> Result<(u64, f64)> {
    let existing = db.read_blocking(linli::audit::size)?;
    if existing >= total {
        return Ok((0, 0.0));
    }
    let todo = total - existing;
    let (p, last_at, mut frontier) = db.read_blocking(|c| {
        let actors: Vec<i64> = c
            .query("SELECT id FROM users ORDER BY id LIMIT 40", &[])?
            .iter()
            .map(|r| r.i64(0))
            .collect();
        let persons = c.query_i64("SELECT COALESCE(MAX(id), 1) FROM persons", &[])?;
        let households = c.query_i64("SELECT COALESCE(MAX(id), 1) FROM households", &[])?;
        let street = c
            .query_opt(
                "SELECT id FROM places WHERE kind = 'street' ORDER BY id LIMIT 1",
                &[],
            )?
            .map(|r| r.i64(0));
        let last = c
            .query_opt(
                "SELECT at FROM audit_entries ORDER BY seq DESC LIMIT 1",
                &[],
            )?
            .map(|r| r.i64(0));
        let frontier =
            linli::audit::merkle::Frontier::load(&mut linli::audit::DbNodes(c), existing)?;
        Ok((
            Population {
                actors,
                persons,
                households,
                street,
            },
            last,
            frontier,
        ))
    })?;
    if p.actors.is_empty() {
        bail!("the demo has no users to be the history's actors");
    }
    let now = linli::store::now_ms();
    let end = now - 2 * HOUR;
    // Times only grow along the log (the scan's first watermark is found by bisection on them).
    let start = (now - HISTORY_DAYS * 24 * HOUR).max(last_at.map_or(i64::MIN, |t| t + 1));
    if start >= end {
        bail!("the log already has entries of the last two hours: use a fresh --keep folder");
    }
    let step = (end - start) as f64 / todo as f64;
    let mut conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(60))?;
    conn.execute_batch("PRAGMA cache_size = -1048576; PRAGMA synchronous = OFF;")?;
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let t0 = Instant::now();
    let mut written = 0u64;
    while written < todo {
        let k = HISTORY_BATCH.min(todo - written);
        let tx = conn.transaction()?;
        let mut subjects: Vec<(String, i64)> = Vec::new();
        {
            let mut ins_entry = tx.prepare_cached(
                "INSERT INTO audit_entries (seq, street_id, at, actor_id, action, body, leaf_hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let mut ins_node = tx
                .prepare_cached("INSERT INTO audit_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")?;
            for i in written..written + k {
                let seq = existing + i;
                let e = history_entry(seq, start + (i as f64 * step) as i64, &p);
                let entry = linli::audit::Entry {
                    seq,
                    at: e.at,
                    street_id: e.street_id,
                    actor_id: e.actor_id,
                    actor: e.actor,
                    role: e.role,
                    org: e.org,
                    scope: e.scope,
                    action: e.action,
                    subjects: e.subjects,
                    purpose: e.purpose,
                    request_id: e.request_id,
                };
                let body = serde_json::to_string(&entry)?;
                let leaf = linli::audit::merkle::leaf_hash(body.as_bytes());
                for (level, idx, h) in frontier.push(leaf) {
                    ins_node.execute(rusqlite::params![level as i64, idx as i64, &h[..]])?;
                }
                ins_entry.execute(rusqlite::params![
                    seq as i64,
                    entry.street_id,
                    entry.at,
                    entry.actor_id,
                    entry.action.as_str(),
                    body,
                    &leaf[..]
                ])?;
                let mut seen = std::collections::HashSet::new();
                for s in entry.subjects {
                    if seen.insert(s.clone()) {
                        subjects.push((s, seq as i64));
                    }
                }
            }
            // Sorted, as the appender writes them: each index page is visited once.
            subjects.sort_unstable();
            let mut ins_subject = tx.prepare_cached(
                "INSERT OR IGNORE INTO audit_subjects (subject, seq) VALUES (?1, ?2)",
            )?;
            for (s, seq) in &subjects {
                ins_subject.execute(rusqlite::params![s, seq])?;
            }
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('audit_indexed', ?1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                rusqlite::params![(existing + written + k).to_string()],
            )?;
        }
        tx.commit()?;
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        written += k;
        if tty {
            eprint!(
                "\r  history: {written} of {todo} ({:.0}/s)",
                written as f64 / t0.elapsed().as_secs_f64()
            );
        }
    }
    if tty {
        eprintln!();
    }
    Ok((written, t0.elapsed().as_secs_f64()))
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Op {
    Person,
    Household,
    Case,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Person => "GET /api/v1/persons/{id}",
            Op::Household => "GET /api/v1/households/{id}",
            Op::Case => "POST /api/v1/cases",
        }
    }
}

/// One answered request of the measured window.
struct Done {
    op: Op,
    at: Instant,
    us: u32,
    ok: bool,
}

#[derive(Default)]
struct ClientOut {
    done: Vec<Done>,
    transport_errors: u64,
    first_error: Option<String>,
}

const CATEGORIES: &[&str] = &["noise", "waste_sorting", "greenery", "water_leak"];

/// One client: two person reads, one household read and one case report in turn.
async fn client(
    addr: SocketAddr,
    bearer: Arc<String>,
    places: Arc<Vec<i64>>,
    next: Arc<AtomicU64>,
    start: Instant,
    end: Instant,
) -> ClientOut {
    let mut out = ClientOut::default();
    let mut sender: Option<Sender> = None;
    while Instant::now() < end {
        if sender.is_none() {
            match connect(addr).await {
                Ok(s) => sender = Some(s),
                Err(e) => {
                    out.transport_errors += 1;
                    out.first_error
                        .get_or_insert_with(|| format!("connect: {e:#}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let s = sender.as_mut().expect("connected");
        let n = next.fetch_add(1, Ordering::Relaxed);
        let id = n / 4 % IDS + 1;
        let op = match n % 4 {
            0 | 1 => Op::Person,
            2 => Op::Household,
            _ => Op::Case,
        };
        let b = Request::builder()
            .header(header::HOST, addr.to_string())
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"));
        let req = match op {
            Op::Person => b
                .uri(format!("/api/v1/persons/{id}"))
                .body(Full::new(Bytes::new())),
            Op::Household => b
                .uri(format!("/api/v1/households/{id}"))
                .body(Full::new(Bytes::new())),
            Op::Case => {
                let body = serde_json::json!({
                    "category": CATEGORIES[(n % CATEGORIES.len() as u64) as usize],
                    "description": format!("楼道里有电动车充电拉飞线 #{n}"),
                    "place_id": places[(n / 4 % places.len() as u64) as usize],
                    "channel": "api",
                });
                b.method(Method::POST)
                    .uri("/api/v1/cases")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Full::new(Bytes::from(body.to_string())))
            }
        }
        .expect("request");
        let t0 = Instant::now();
        let res = tokio::time::timeout(REQUEST_TIMEOUT, async {
            s.ready().await?;
            let res = s.send_request(req).await?;
            let status = res.status();
            let _ = res.into_body().collect().await?;
            anyhow::Ok(status)
        })
        .await;
        let t1 = Instant::now();
        let counted = t1 >= start && t1 < end;
        match res {
            Ok(Ok(status)) => {
                if counted {
                    out.done.push(Done {
                        op,
                        at: t1,
                        us: (t1 - t0).as_micros().min(u32::MAX as u128) as u32,
                        ok: status.is_success(),
                    });
                }
            }
            Ok(Err(e)) => {
                out.transport_errors += 1;
                out.first_error.get_or_insert_with(|| format!("{e:#}"));
                sender = None;
            }
            Err(_) => {
                out.transport_errors += 1;
                out.first_error.get_or_insert_with(|| "timed out".into());
                sender = None;
            }
        }
    }
    out
}

/// `/healthz` every 20 ms on one connection, over the measured window.
async fn healthz_probe(addr: SocketAddr, start: Instant, end: Instant) -> Vec<u32> {
    let mut lat = Vec::new();
    let Ok(mut s) = connect(addr).await else {
        return lat;
    };
    while Instant::now() < end {
        let req = Request::get("/healthz")
            .header(header::HOST, addr.to_string())
            .body(Full::new(Bytes::new()))
            .expect("request");
        let t0 = Instant::now();
        let ok = async {
            s.ready().await?;
            let res = s.send_request(req).await?;
            res.into_body().collect().await?;
            anyhow::Ok(())
        }
        .await
        .is_ok();
        let t1 = Instant::now();
        if !ok {
            break;
        }
        if t1 >= start {
            lat.push((t1 - t0).as_micros().min(u32::MAX as u128) as u32);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    lat
}

/// One run of the anomaly scan, as the server logged it.
struct ScanLine {
    at: Option<chrono::DateTime<chrono::Utc>>,
    read: u64,
    ms: f64,
    writing_ms: Option<f64>,
}

/// The `audit anomaly scan` lines of the server's log (colour codes removed).
fn scan_lines(log: &Path) -> Vec<ScanLine> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines().filter(|l| l.contains("audit anomaly scan")) {
        let mut clean = String::with_capacity(line.len());
        let mut esc = false;
        for ch in line.chars() {
            match (esc, ch) {
                (false, '\u{1b}') => esc = true,
                (true, c) if c.is_ascii_alphabetic() => esc = false,
                (true, _) => {}
                (false, c) => clean.push(c),
            }
        }
        let field = |name: &str| {
            clean
                .split_whitespace()
                .find_map(|t| t.strip_prefix(name)?.strip_prefix('='))
                .and_then(|v| v.parse::<f64>().ok())
        };
        let Some(ms) = field("ms") else { continue };
        out.push(ScanLine {
            at: clean
                .split_whitespace()
                .next()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc)),
            read: field("read").unwrap_or(0.0) as u64,
            ms,
            writing_ms: field("writing_ms"),
        });
    }
    out
}

pub fn run(linli: &Path, root: &Path, args: &MixedArgs) -> Result<(bool, bool)> {
    if args.mixed_clients == 0 || !args.mixed_seconds.is_finite() || args.mixed_seconds <= 0.0 {
        bail!("--mixed-clients must be at least 1 and --mixed-seconds positive");
    }
    let dir = fresh_subdir(root, "mixed")?;
    println!(
        "\n4. mixed run: {} clients × {} s of audited reads and case creation, with {} entries of history in the log …",
        args.mixed_clients, args.mixed_seconds, args.mixed_entries
    );
    let (took, out) = run_linli(
        linli,
        &dir,
        &[
            "demo",
            "--size",
            "street",
            "--seed",
            "1",
            "--password",
            PASSWORD,
            "--build-only",
        ],
    )?;
    if !out.status.success() {
        bail!(
            "linli demo --build-only failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!("    street demo built in {:.1} s", took.as_secs_f64());
    let db_path = dir.join("linli.db");
    let db = Db::open(&format!("sqlite://{}", db_path.display()))?;
    db.migrate_blocking()?;
    let (written, secs) = build_history(&db, &db_path, args.mixed_entries)?;
    let total = db.read_blocking(linli::audit::size)?;
    db.close();
    drop(db);
    println!(
        "    history: {written} entries in {secs:.1} s ({:.0}/s); log {total} entries; linli.db {:.0} MB",
        if secs > 0.0 {
            written as f64 / secs
        } else {
            0.0
        },
        file_mb(&db_path)
    );

    let demo = DemoSpec {
        size: "street",
        seed: 1,
        env: &[
            ("RUST_LOG", "info,linli::audit::anomaly=debug"),
            ("NO_COLOR", "1"),
        ],
    };
    let (mut server, ready) = start_server(linli, &dir, &demo, Duration::from_secs(600))?;
    let (addr, pid) = (server.addr, server.pid());
    println!(
        "    ready in {:.2} s at http://{addr} (pid {pid})",
        ready.as_secs_f64()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let setup = rt.block_on(async {
        let creds = sign_in(addr).await?;
        let auth = [(header::AUTHORIZATION, format!("Bearer {}", creds.bearer))];
        let r = request(addr, Method::GET, "/api/v1/cases?limit=100", &auth, None).await?;
        let v: serde_json::Value = serde_json::from_slice(&r.body)?;
        let mut places: Vec<i64> = v
            .as_array()
            .map(|a| a.iter().filter_map(|c| c["place_id"].as_i64()).collect())
            .unwrap_or_default();
        places.sort_unstable();
        places.dedup();
        if places.is_empty() {
            bail!("the demo has no case to take a place from: {}", r.text());
        }
        for path in ["/api/v1/persons/1", "/api/v1/households/1"] {
            let r = request(addr, Method::GET, path, &auth, None).await?;
            if r.status != StatusCode::OK {
                bail!("GET {path} answered {}", r.status);
            }
        }
        anyhow::Ok((creds.bearer, places))
    });
    let (bearer, places) = match setup {
        Ok(v) => v,
        Err(e) => {
            let tail = server.stderr_tail(10).join("\n  ");
            stop_and_report(&mut server);
            bail!("mixed run: {e:#}\nlinli's last stderr lines:\n  {tail}");
        }
    };

    let wall0 = chrono::Utc::now();
    let t0 = Instant::now();
    let start = t0 + Duration::from_secs(1);
    let end = start + Duration::from_secs_f64(args.mixed_seconds);
    let (outs, probe, cpu) = rt.block_on(async {
        let bearer = Arc::new(bearer);
        let places = Arc::new(places);
        let next = Arc::new(AtomicU64::new(0));
        let tasks: Vec<_> = (0..args.mixed_clients)
            .map(|_| {
                tokio::spawn(client(
                    addr,
                    bearer.clone(),
                    places.clone(),
                    next.clone(),
                    start,
                    end,
                ))
            })
            .collect();
        let probe = tokio::spawn(healthz_probe(addr, start, end));
        tokio::time::sleep_until(start.into()).await;
        let cpu0 = proc_cpu(pid);
        tokio::time::sleep_until(end.into()).await;
        let cpu1 = proc_cpu(pid);
        let mut outs = Vec::new();
        for t in tasks {
            outs.push(t.await.unwrap_or_default());
        }
        let probe = probe.await.unwrap_or_default();
        let cpu = match (cpu0, cpu1) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        };
        (outs, probe, cpu)
    });
    let wall_start = wall0 + chrono::Duration::seconds(1);
    let wall_end = wall_start + chrono::Duration::milliseconds((args.mixed_seconds * 1e3) as i64);
    // The scan logs when it ends; one ending a moment after the window still ran in it.
    std::thread::sleep(Duration::from_millis(500));
    let scans = scan_lines(&server.log_path);
    let (status, _) = server.stop(Duration::from_secs(60))?;
    drop(rt);

    let mut done: Vec<Done> = Vec::new();
    let mut transport = 0;
    let mut first_error = None;
    for o in outs {
        done.extend(o.done);
        transport += o.transport_errors;
        if first_error.is_none() {
            first_error = o.first_error;
        }
    }
    let failed = done.iter().filter(|d| !d.ok).count() as u64 + transport;
    println!(
        "\n    {:<30} {:>9} {:>8} {:>8} {:>8} {:>9} {:>7}",
        "request", "answers", "req/s", "p50 ms", "p99 ms", "max ms", "errors"
    );
    let row = |name: &str, mut lat: Vec<u32>, errors: u64| {
        lat.sort_unstable();
        println!(
            "    {:<30} {:>9} {:>8.0} {:>8.2} {:>8.2} {:>9.1} {:>7}",
            name,
            lat.len(),
            lat.len() as f64 / args.mixed_seconds,
            ms(percentile(&lat, 50.0)),
            ms(percentile(&lat, 99.0)),
            ms(lat.last().copied().unwrap_or(0)),
            errors
        );
        lat
    };
    for op in [Op::Person, Op::Household, Op::Case] {
        let lat = done.iter().filter(|d| d.op == op).map(|d| d.us).collect();
        let errors = done.iter().filter(|d| d.op == op && !d.ok).count() as u64;
        row(op.name(), lat, errors);
    }
    let all = row("all of them", done.iter().map(|d| d.us).collect(), failed);
    let probe = row("GET /healthz (1 client, 20 ms)", probe, 0);
    // The longest time no client got an answer: a stall of the whole server shows here even
    // when each request's own latency is cut by the window's edges.
    let mut ats: Vec<Instant> = done.iter().map(|d| d.at).collect();
    ats.sort_unstable();
    let (gap, gap_end) = ats
        .windows(2)
        .map(|w| (w[1] - w[0], w[1]))
        .max()
        .unwrap_or((Duration::ZERO, start));
    // When things happened, in seconds from the start of the measured window, so that a
    // stall can be set beside the scans.
    let since_start = |t: Instant| t.saturating_duration_since(start).as_secs_f64();
    let longest = done.iter().max_by_key(|d| d.us);
    let p99 = ms(percentile(&all, 99.0));
    let stall = ms(all.last().copied().unwrap_or(0));
    println!(
        "    longest request {stall:.1} ms (answered at +{:.1} s); longest time without any answer {:.1} ms (until +{:.1} s); /healthz p99 {:.2} ms, max {:.1} ms",
        longest.map(|d| since_start(d.at)).unwrap_or(0.0),
        gap.as_secs_f64() * 1e3,
        since_start(gap_end),
        ms(percentile(&probe, 99.0)),
        ms(probe.last().copied().unwrap_or(0))
    );
    if let Some(cpu) = cpu {
        println!(
            "    server CPU {:.1} s over {:.0} s ({:.0} µs per answer)",
            cpu.as_secs_f64(),
            args.mixed_seconds,
            cpu.as_secs_f64() * 1e6 / all.len().max(1) as f64
        );
    }
    if transport > 0 {
        println!(
            "    transport errors: {transport}{}",
            first_error
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
    }
    println!("    anomaly scans (from the server's log):");
    for s in &scans {
        let when = match s.at {
            Some(t) if t < wall_start => "before the load",
            Some(t) if t <= wall_end + chrono::Duration::milliseconds(500) => "during the load",
            Some(_) => "after the load",
            None => "?",
        };
        // Logged as it ended: it ran from `ms` before.
        let from =
            s.at.map(|t| (t - wall_start).num_milliseconds() as f64 / 1e3 - s.ms / 1e3)
                .map(|t| format!(" from {t:+.1} s"))
                .unwrap_or_default();
        println!(
            "      {when:<16}{from:<12} read {:>8} entries in {:>9.2} ms{}",
            s.read,
            s.ms,
            s.writing_ms
                .map(|w| format!(" (writer held {w:.2} ms)"))
                .unwrap_or_default()
        );
    }
    if scans.is_empty() {
        println!("      none logged (is RUST_LOG honoured?)");
    }
    println!(
        "    server {}",
        match status {
            Some(s) if s.success() => "exited cleanly".to_string(),
            Some(s) => format!("exited with {s}"),
            None => "did not exit within 60 s; killed".into(),
        }
    );
    println!("\n  mixed run targets");
    let p99_ok = p99 < P99_TARGET_MS && !all.is_empty();
    let stall_ok = stall < STALL_TARGET_MS && !all.is_empty();
    println!(
        "  {}  mixed run p99 < {P99_TARGET_MS:.0} ms ({} clients, {total} entries in the log): {p99:.2} ms",
        pass(p99_ok),
        args.mixed_clients
    );
    println!(
        "  {}  mixed run: no request over {STALL_TARGET_MS:.0} ms: longest {stall:.1} ms",
        pass(stall_ok)
    );
    Ok((p99_ok, stall_ok))
}
