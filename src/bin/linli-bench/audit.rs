//! `linli-bench audit`: the audit log's targets.

use super::*;

#[derive(Args, Debug, Clone)]
pub(crate) struct AuditArgs {
    /// Entries in the log that `linli audit verify` checks (the appender's plus bulk ones).
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) entries: u64,
    /// Measured seconds for the appender and for each HTTP run (after a warm-up).
    #[arg(long, default_value_t = 10.0)]
    pub(crate) seconds: f64,
    /// Warm-up seconds per HTTP run, not measured.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) warmup: f64,
    /// Concurrent keep-alive connections for the HTTP comparison.
    #[arg(long, default_value_t = 64)]
    pub(crate) connections: usize,
    /// Use DIR for the data folders (DIR/log, DIR/server-audited, DIR/server-skip-audit,
    /// DIR/mixed) and keep them afterwards; those folders must not exist yet or be empty.
    #[arg(long, value_name = "DIR")]
    pub(crate) keep: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) mixed: mixed::MixedArgs,
}

// ---------------------------------------------------------------- the audit command
//
// `linli-bench audit` checks the audit-log targets, each against a baseline from the same run:
//
// 1. append throughput on SQLite, through the production appender (`Auditor`, many concurrent
//    requests awaiting their commit) and in bulk (`audit::append`, batches of 2,048), which
//    also builds the log for step 2;
// 2. `linli audit verify` over that log, beside `linli migrate` (the same binary's startup);
// 3. a person-detail request with its audit entry against the same request on a server
//    started with `LINLI_BENCH_SKIP_AUDIT=1`, which writes no entries;
// 4. the mixed run (mixed.rs): audited reads and case creation with a log of 10 million
//    entries, while the anomaly scan runs.

/// Concurrent tasks recording entries through the production appender.
const APPEND_TASKS: usize = 64;
/// Entries per transaction in the bulk append (the appender's own batch limit).
const BULK_BATCH: u64 = 2048;
/// Household ids the detail requests cycle through (all exist in the street demo).
const HOUSEHOLD_IDS: u64 = 2000;
/// The append-rate target, entries per second.
const APPEND_TARGET: f64 = 20_000.0;
/// The verify-time target, seconds (for a log of 1,000,000 entries).
const VERIFY_TARGET: f64 = 10.0;
/// The most an audited read may cost relative to an unaudited one.
const AUDIT_COST_TARGET: f64 = 1.3;

fn bench_entry(n: u64) -> linli::audit::NewEntry {
    linli::audit::NewEntry {
        at: linli::store::now_ms(),
        street_id: Some(2),
        actor_id: Some(3),
        actor: "wangge".into(),
        role: "grid_worker".into(),
        org: None,
        scope: vec!["310115/310115004/c01/g0101".into()],
        action: linli::audit::Action::Read,
        subjects: vec![format!("household:{n}"), format!("person:{n}")],
        purpose: None,
        request_id: "bench".into(),
    }
}

struct AppendOutcome {
    committed: u64,
    errors: u64,
    first_error: Option<String>,
    /// From the first record to the last one committed.
    seconds: f64,
    /// Entries committed in each whole second of the window.
    per_second: Vec<u64>,
    p50_us: u32,
    p99_us: u32,
    max_us: u32,
}

impl AppendOutcome {
    fn rate(&self) -> f64 {
        self.committed as f64 / self.seconds
    }
}

/// Step 1a: `APPEND_TASKS` tasks each awaiting `Auditor::record` in a loop for `seconds`.
fn measure_appender(
    db: &linli::store::Db,
    key: &linli::audit::LogKey,
    seconds: f64,
) -> Result<AppendOutcome> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let auditor = Arc::new(linli::audit::Auditor::start(db.clone(), key.clone()));
    let committed = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let out = rt.block_on(async {
        let start = Instant::now();
        let end = start + Duration::from_secs_f64(seconds);
        let tasks: Vec<_> = (0..APPEND_TASKS)
            .map(|_| {
                let auditor = auditor.clone();
                let committed = committed.clone();
                let next = next.clone();
                tokio::spawn(async move {
                    let mut lat: Vec<u32> = Vec::new();
                    let mut errors = 0u64;
                    let mut first_error: Option<String> = None;
                    while Instant::now() < end {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        let t0 = Instant::now();
                        match auditor.record(bench_entry(n)).await {
                            Ok(_) => {
                                committed.fetch_add(1, Ordering::Relaxed);
                                lat.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
                            }
                            Err(e) => {
                                errors += 1;
                                first_error.get_or_insert_with(|| e.to_string());
                                if errors > 1000 {
                                    break;
                                }
                            }
                        }
                    }
                    (lat, errors, first_error)
                })
            })
            .collect();
        let mut per_second = Vec::new();
        let mut last = 0;
        for i in 1..=(seconds.floor() as u32) {
            tokio::time::sleep_until((start + Duration::from_secs(i as u64)).into()).await;
            let c = committed.load(Ordering::Relaxed);
            per_second.push(c - last);
            last = c;
        }
        let mut lat = Vec::new();
        let mut errors = 0;
        let mut first_error = None;
        for t in tasks {
            match t.await {
                Ok((l, e, f)) => {
                    lat.extend(l);
                    errors += e;
                    if first_error.is_none() {
                        first_error = f;
                    }
                }
                Err(e) => {
                    errors += 1;
                    first_error.get_or_insert_with(|| format!("task panicked: {e}"));
                }
            }
        }
        let took = start.elapsed().as_secs_f64();
        lat.sort_unstable();
        AppendOutcome {
            committed: committed.load(Ordering::Relaxed),
            errors,
            first_error,
            seconds: took,
            per_second,
            p50_us: percentile(&lat, 50.0),
            p99_us: percentile(&lat, 99.0),
            max_us: lat.last().copied().unwrap_or(0),
        }
    });
    // Dropping the last sender ends the appender's thread.
    drop(auditor);
    drop(rt);
    Ok(out)
}

struct BulkOutcome {
    written: u64,
    seconds: f64,
    /// Rates over the first and the last tenth of the batches.
    first_rate: f64,
    last_rate: f64,
}

/// Step 1b: `audit::append` in transactions of `BULK_BATCH` until the log holds `total`.
fn bulk_append(db: &linli::store::Db, total: u64) -> Result<BulkOutcome> {
    let existing = db.read_blocking(linli::audit::size)?;
    let todo = total.saturating_sub(existing);
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut batches: Vec<(u64, Duration)> = Vec::new();
    let t0 = Instant::now();
    let mut written = 0u64;
    while written < todo {
        let k = BULK_BATCH.min(todo - written);
        let b0 = Instant::now();
        let first = existing + written;
        let batch: Vec<_> = (first..first + k).map(bench_entry).collect();
        db.write_blocking(|c| linli::audit::append(c, batch))
            .with_context(|| format!("appending entries {first}..{}", first + k))?;
        batches.push((k, b0.elapsed()));
        written += k;
        if tty && batches.len().is_multiple_of(20) {
            eprint!("\r  appended {written} of {todo}");
        }
    }
    if tty && !batches.is_empty() {
        eprintln!("\r  appended {written} of {todo}");
    }
    let seconds = t0.elapsed().as_secs_f64();
    let tenth = (batches.len() / 10).max(1);
    let rate = |bs: &[(u64, Duration)]| {
        let n: u64 = bs.iter().map(|b| b.0).sum();
        let t: f64 = bs.iter().map(|b| b.1.as_secs_f64()).sum();
        if t > 0.0 { n as f64 / t } else { 0.0 }
    };
    Ok(BulkOutcome {
        written,
        seconds,
        first_rate: rate(&batches[..tenth.min(batches.len())]),
        last_rate: rate(&batches[batches.len().saturating_sub(tenth)..]),
    })
}

/// The log's size from the public checkpoint (its second line); 0 when none is signed yet.
async fn checkpoint_size(addr: SocketAddr) -> Result<u64> {
    let r = request(addr, Method::GET, "/api/v1/audit/checkpoint", &[], None).await?;
    if r.status == StatusCode::NOT_FOUND {
        return Ok(0);
    }
    if r.status != StatusCode::OK {
        bail!("GET /api/v1/audit/checkpoint answered {}", r.status);
    }
    let text = r.text();
    text.lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| anyhow!("GET /api/v1/audit/checkpoint: no size on line 2 of {text:?}"))
}

struct ServerRun {
    label: &'static str,
    outcome: Outcome,
    entries_before: u64,
    entries_after: u64,
    shutdown: String,
    skip_warning: bool,
}

/// Step 3, one server: start `linli demo`, sign in, drive the person-detail reads, stop it.
fn household_run(
    linli: &Path,
    data: &Path,
    label: &'static str,
    env: &[(&str, &str)],
    load: Load,
    rt: &tokio::runtime::Runtime,
) -> Result<ServerRun> {
    let demo = DemoSpec {
        size: "street",
        seed: 1,
        env,
    };
    let (mut server, ready) = start_server(linli, data, &demo, Duration::from_secs(600))?;
    let addr = server.addr;
    let pid = server.pid();
    println!(
        "  {label}: ready in {:.2} s at http://{addr} (pid {pid})",
        ready.as_secs_f64()
    );
    let fail = |server: &mut Server, e: anyhow::Error| -> anyhow::Error {
        let tail = server.stderr_tail(10).join("\n  ");
        stop_and_report(server);
        anyhow!("{label}: {e:#}\nlinli's last stderr lines:\n  {tail}")
    };
    let creds = match rt.block_on(sign_in(addr)) {
        Ok(c) => c,
        Err(e) => return Err(fail(&mut server, e.context("signing in failed"))),
    };
    let bearer = format!("Bearer {}", creds.bearer);
    for id in [1, HOUSEHOLD_IDS] {
        let path = format!("/api/v1/persons/{id}");
        let r = rt.block_on(request(
            addr,
            Method::GET,
            &path,
            &[(header::AUTHORIZATION, bearer.clone())],
            None,
        ));
        match r {
            Ok(r) if r.status == StatusCode::OK => {}
            Ok(r) => {
                let e = anyhow!(
                    "GET {path} answered {}: {}",
                    r.status,
                    r.text().chars().take(200).collect::<String>()
                );
                return Err(fail(&mut server, e));
            }
            Err(e) => return Err(fail(&mut server, e)),
        }
    }
    let entries_before = match rt.block_on(checkpoint_size(addr)) {
        Ok(n) => n,
        Err(e) => return Err(fail(&mut server, e)),
    };
    let mut sc = Scenario::new(
        "person",
        "person detail (JSON, Bearer)",
        "/api/v1/persons/".into(),
        vec![(header::AUTHORIZATION, HeaderValue::from_str(&bearer)?)],
    );
    sc.cycle = HOUSEHOLD_IDS;
    print!("  {label}: running GET {} … ", sc.shown_path());
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let outcome = rt.block_on(run_scenario(addr, pid, sc, load));
    println!("{:.0} req/s", outcome.rps());
    if outcome.ok == 0 || outcome.errors * 2 > outcome.requests {
        let e = anyhow!(
            "GET {}: {} of {} requests failed{}",
            outcome.path,
            outcome.errors,
            outcome.requests,
            outcome
                .first_error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
        return Err(fail(&mut server, e));
    }
    let entries_after = match rt.block_on(checkpoint_size(addr)) {
        Ok(n) => n,
        Err(e) => return Err(fail(&mut server, e)),
    };
    let (status, took) = server.stop(Duration::from_secs(30))?;
    let shutdown = match status {
        Some(s) if s.success() => format!("exited cleanly in {:.2} s", took.as_secs_f64()),
        Some(s) => format!("exited with {s}"),
        None => "did not exit within 30 s; killed".to_string(),
    };
    let log = std::fs::read_to_string(&server.log_path).unwrap_or_default();
    Ok(ServerRun {
        label,
        outcome,
        entries_before,
        entries_after,
        shutdown,
        skip_warning: log.contains("LINLI_BENCH_SKIP_AUDIT"),
    })
}

pub(crate) fn run(args: AuditArgs) -> Result<ExitCode> {
    if args.connections == 0 {
        bail!("--connections must be at least 1");
    }
    if !args.seconds.is_finite()
        || args.seconds <= 0.0
        || !args.warmup.is_finite()
        || args.warmup < 0.0
    {
        bail!("--seconds must be positive and --warmup not negative");
    }
    let linli = find_linli()?;
    let root = match &args.keep {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            DataDir {
                path: std::path::absolute(d)?,
                keep: true,
            }
        }
        None => temp_data_dir("linli-bench-audit")?,
    };
    if args.mixed.mixed_only {
        println!("linli-bench audit --mixed-only");
        println!("  binary      {}", linli.display());
        println!(
            "  data        {}{}",
            root.path.display(),
            if root.keep { " (kept)" } else { "" }
        );
        mixed::run(&linli, &root.path, &args.mixed)?;
        return Ok(ExitCode::SUCCESS);
    }
    let log_dir = fresh_subdir(&root.path, "log")?;
    let audited_dir = fresh_subdir(&root.path, "server-audited")?;
    let skip_dir = fresh_subdir(&root.path, "server-skip-audit")?;

    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!("linli-bench audit");
    println!("  binary      {}", linli.display());
    println!(
        "  data        {}{}",
        root.path.display(),
        if root.keep { " (kept)" } else { "" }
    );
    println!(
        "  machine     {cpus} CPUs, load average {}",
        loadavg
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    // ------------------------------------------------------------ 1. append on SQLite
    let db_path = log_dir.join("linli.db");
    let db = linli::store::Db::open(&format!("sqlite://{}", db_path.display()))
        .context("opening the log database")?;
    db.migrate_blocking()
        .context("migrating the log database")?;
    // The key `linli audit verify` will load from DIR/keys/log.key.
    let key = linli::audit::LogKey::load_or_create(&log_dir.join("keys"))
        .context("creating the log key")?;

    println!(
        "\n1a. production appender: {APPEND_TASKS} tasks awaiting Auditor::record for {} s …",
        args.seconds
    );
    let app = measure_appender(&db, &key, args.seconds)?;
    let slowest = app.per_second.iter().copied().min();
    let fastest = app.per_second.iter().copied().max();
    println!(
        "    {} entries committed in {:.2} s: {:.0} entries/s; commit latency p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms",
        app.committed,
        app.seconds,
        app.rate(),
        ms(app.p50_us),
        ms(app.p99_us),
        ms(app.max_us)
    );
    if let (Some(lo), Some(hi)) = (slowest, fastest) {
        println!(
            "    per second: slowest {lo}, fastest {hi} ({})",
            app.per_second
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if app.errors > 0 {
        println!(
            "    errors: {}{}",
            app.errors,
            app.first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
    }

    println!(
        "\n1b. bulk: audit::append in transactions of {BULK_BATCH} until the log holds {} entries …",
        args.entries
    );
    let bulk = bulk_append(&db, args.entries)?;
    let bulk_rate = if bulk.seconds > 0.0 {
        bulk.written as f64 / bulk.seconds
    } else {
        0.0
    };
    if bulk.written > 0 {
        println!(
            "    {} entries in {:.2} s: {:.0} entries/s (first tenth {:.0}/s, last tenth {:.0}/s)",
            bulk.written, bulk.seconds, bulk_rate, bulk.first_rate, bulk.last_rate
        );
    } else {
        println!("    nothing to append: the appender already wrote --entries");
    }
    let total = db.read_blocking(linli::audit::size)?;
    let head = db
        .write_blocking(|c| linli::audit::sign_head(c, &key))
        .context("signing a tree head")?
        .ok_or_else(|| anyhow!("the log is empty: nothing to sign"))?;
    db.close();
    drop(db);
    println!(
        "    log: {total} entries, head signed at size {}; linli.db {:.0} MB (+ WAL {:.0} MB)",
        head.size,
        file_mb(&db_path),
        file_mb(&log_dir.join("linli.db-wal"))
    );

    // ------------------------------------------------------------ 2. verify
    println!("\n2. linli audit verify over {total} entries (baseline: linli migrate) …");
    let mut startup = Vec::new();
    for _ in 0..3 {
        let (took, out) = run_linli(&linli, &log_dir, &["migrate"])?;
        if !out.status.success() {
            bail!(
                "linli migrate failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        startup.push(took.as_secs_f64());
    }
    startup.sort_by(f64::total_cmp);
    let startup_s = startup[1];
    println!(
        "    linli migrate (startup, open, migrate check): {:.3} s (median of 3: {})",
        startup_s,
        startup
            .iter()
            .map(|s| format!("{s:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (verify_took, out) = run_linli(&linli, &log_dir, &["audit", "verify"])?;
    let verify_s = verify_took.as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let verify_line = stdout.lines().next().unwrap_or("").to_string();
    let verify_ok = out.status.success() && stdout.contains("audit log OK");
    let counted_all = stdout.contains(&format!("audit log OK: {total} entries"));
    println!(
        "    linli audit verify: {verify_s:.2} s, {}: {verify_line}",
        out.status
    );
    if !verify_ok {
        let err = String::from_utf8_lossy(&out.stderr);
        println!(
            "    its stderr: {}",
            err.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
        );
    } else if !counted_all {
        println!("    warning: verify did not report {total} entries");
    }

    // ------------------------------------------------------------ 3. audited reads
    println!(
        "\n3. person detail, with and without its audit entry: {} connections × {} s (+{} s warm-up), one server after the other …",
        args.connections, args.seconds, args.warmup
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let load = Load {
        warmup: args.warmup,
        seconds: args.seconds,
        connections: args.connections,
    };
    // Both runs on the bench build of the server, one of them told to skip the entries.
    let bench_server = find_bench_server()?;
    let with = household_run(&bench_server, &audited_dir, "with audit", &[], load, &rt)?;
    let without = household_run(
        &bench_server,
        &skip_dir,
        "without audit",
        &[("LINLI_BENCH_SKIP_AUDIT", "1")],
        load,
        &rt,
    )?;
    drop(rt);

    println!(
        "\n    {:<14} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>11}",
        "server",
        "requests",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "errors",
        "CPU µs/req"
    );
    for r in [&with, &without] {
        let o = &r.outcome;
        println!(
            "    {:<14} {:>9} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.1} {:>7} {:>11}",
            r.label,
            o.requests,
            o.rps(),
            ms(o.p50_us),
            ms(o.p90_us),
            ms(o.p99_us),
            ms(o.max_us),
            o.errors,
            o.cpu_per_req_us()
                .map(|c| format!("{c:.0}"))
                .unwrap_or("-".into())
        );
    }
    for r in [&with, &without] {
        println!(
            "    {}: audit entries {} before the load, {} after: {} written during warm-up + load ({} 2xx answers in the measured window); {}{}",
            r.label,
            r.entries_before,
            r.entries_after,
            r.entries_after.saturating_sub(r.entries_before),
            r.outcome.ok,
            r.shutdown,
            if r.skip_warning {
                "; logged the LINLI_BENCH_SKIP_AUDIT warning"
            } else {
                ""
            }
        );
    }
    if !without.skip_warning || without.entries_after > without.entries_before {
        println!(
            "    warning: the server started with LINLI_BENCH_SKIP_AUDIT=1 did not seem to skip auditing"
        );
    }
    let rps_with = with.outcome.ok_rps();
    let rps_without = without.outcome.ok_rps();
    let cost = if rps_with > 0.0 {
        rps_without / rps_with
    } else {
        f64::INFINITY
    };
    let p50_ratio = if without.outcome.p50_us > 0 {
        with.outcome.p50_us as f64 / without.outcome.p50_us as f64
    } else {
        f64::NAN
    };
    println!(
        "    cost ratio (req/s without ÷ req/s with): {cost:.2}; p50 ratio (with ÷ without): {p50_ratio:.2}"
    );

    // ------------------------------------------------------------ targets
    println!("\ntargets");
    println!(
        "  {}  append ≥ {:.0} entries/s sustained, production appender ({APPEND_TASKS} tasks, SQLite): {:.0}/s over {:.1} s (slowest second {}){}",
        pass(app.rate() >= APPEND_TARGET && app.errors == 0),
        APPEND_TARGET,
        app.rate(),
        app.seconds,
        slowest.map(|n| n.to_string()).unwrap_or("-".into()),
        if app.errors > 0 {
            format!("; {} errors", app.errors)
        } else {
            String::new()
        }
    );
    if bulk.written > 0 {
        println!(
            "  {}  append ≥ {:.0} entries/s sustained, bulk (audit::append, {BULK_BATCH} per transaction): {:.0}/s over {} entries (last tenth {:.0}/s)",
            pass(bulk_rate >= APPEND_TARGET && bulk.last_rate >= APPEND_TARGET),
            APPEND_TARGET,
            bulk_rate,
            bulk.written,
            bulk.last_rate
        );
    } else {
        println!("  skip  bulk append: nothing left to append after the appender");
    }
    println!(
        "  {}  linli audit verify over {total} entries < {VERIFY_TARGET:.0} s: {verify_s:.2} s (of which startup ≈ {startup_s:.2} s){}",
        pass(verify_ok && counted_all && verify_s < VERIFY_TARGET),
        if verify_ok {
            String::new()
        } else {
            format!("; it did not say OK: {verify_line}")
        }
    );
    if total != 1_000_000 {
        println!(
            "        (the target is for 1,000,000 entries; this run used --entries {})",
            args.entries
        );
    }
    println!(
        "  {}  audited person-detail read ≤ {AUDIT_COST_TARGET}× the unaudited one: {cost:.2}× ({rps_with:.0} vs {rps_without:.0} req/s; p50 {:.2} vs {:.2} ms, {p50_ratio:.2}×)",
        pass(cost <= AUDIT_COST_TARGET),
        ms(with.outcome.p50_us),
        ms(without.outcome.p50_us)
    );
    if !args.mixed.no_mixed {
        mixed::run(&linli, &root.path, &args.mixed)?;
    }
    if root.keep {
        println!(
            "\ndata kept in {} (log/, server-audited/, server-skip-audit/; server stderr in bench-server-stderr.log)",
            root.path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
