//! `linli-bench http`: startup, memory, load against /healthz, idle CPU and shutdown of `linli demo`.

use super::*;

#[derive(Args, Debug, Clone)]
pub(crate) struct HttpArgs {
    /// Demo size: small, street or district.
    #[arg(long, default_value = "street")]
    pub(crate) size: String,
    /// Measured seconds per scenario (after a warm-up).
    #[arg(long, default_value_t = 10.0)]
    pub(crate) seconds: f64,
    /// Warm-up seconds per scenario, not measured.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) warmup: f64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    pub(crate) connections: usize,
    /// Seed for the demo data.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Use DIR as the data folder and keep it afterwards (an existing demo in it is reused).
    #[arg(long, value_name = "DIR")]
    pub(crate) keep: Option<PathBuf>,
    /// Only measure startup, memory and shutdown; skip the load.
    #[arg(long)]
    pub(crate) startup_only: bool,
    /// Seconds the server's CPU is measured while idle (after the load), reported per minute.
    #[arg(long, default_value_t = 20.0)]
    pub(crate) idle_seconds: f64,
}

pub(crate) fn run(args: HttpArgs) -> Result<ExitCode> {
    let size = args.size.trim().to_ascii_lowercase();
    if !["small", "street", "district"].contains(&size.as_str()) {
        bail!(
            "unknown --size {:?}: use small, street or district",
            args.size
        );
    }
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
    let args = HttpArgs { size, ..args };

    let linli = find_linli()?;

    let data = match &args.keep {
        Some(d) => {
            let reuse = d
                .read_dir()
                .map(|mut it| it.next().is_some())
                .unwrap_or(false);
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            if reuse {
                println!(
                    "note: {} is not empty; an existing demo there is reused, so startup measures reuse, not generation",
                    d.display()
                );
            }
            DataDir {
                path: std::path::absolute(d)?,
                keep: true,
            }
        }
        None => temp_data_dir("linli-bench")?,
    };

    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!("linli-bench http");
    println!("  binary      {}", linli.display());
    println!(
        "  data        {}{}",
        data.path.display(),
        if data.keep { " (kept)" } else { "" }
    );
    let load = if args.startup_only {
        "no load (--startup-only)".to_string()
    } else {
        format!(
            "load {} connections × {} s (+{} s warm-up) per scenario",
            args.connections, args.seconds, args.warmup
        )
    };
    println!(
        "  demo        --size {} --seed {}; {load}",
        args.size, args.seed
    );
    println!(
        "  machine     {cpus} CPUs, load average {}",
        loadavg
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    let ready_target = if args.size == "district" {
        Duration::from_secs(180)
    } else {
        Duration::from_secs(10)
    };
    let ready_limit = if args.size == "district" {
        Duration::from_secs(3600)
    } else {
        Duration::from_secs(600)
    };
    println!("\nstarting linli demo …");
    let demo = DemoSpec {
        size: &args.size,
        seed: args.seed,
        env: &[],
    };
    let (mut server, ready) = start_server(&linli, &data.path, &demo, ready_limit)?;
    let pid = server.pid();
    let addr = server.addr;
    println!(
        "  ready in {:.2} s at http://{addr} (pid {pid})",
        ready.as_secs_f64()
    );
    std::thread::sleep(Duration::from_millis(100));
    if let Some(l) = server
        .stdout_lines
        .lock()
        .expect("lines")
        .iter()
        .find(|l| l.starts_with("demo street"))
    {
        println!("  {}", l.split(';').next().unwrap_or(l));
    }
    std::thread::sleep(Duration::from_millis(900));
    if !server.alive() {
        bail!(
            "linli exited right after it was ready:\n  {}",
            server.stderr_tail(15).join("\n  ")
        );
    }
    let idle_rss =
        proc_status_num(pid, "VmRSS").ok_or_else(|| anyhow!("cannot read /proc/{pid}/status"))?;
    let startup_hwm = proc_status_num(pid, "VmHWM");
    println!(
        "  idle RSS {:.1} MB (peak so far {:.1} MB)",
        mb(idle_rss),
        startup_hwm.map(mb).unwrap_or(f64::NAN)
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    let mut wholesale_failure: Option<String> = None;
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut idle_conn: Option<Sender> = None;
    if !args.startup_only {
        let creds = match rt.block_on(sign_in(addr)) {
            Ok(c) => c,
            Err(e) => {
                let tail = server.stderr_tail(10).join("\n  ");
                stop_and_report(&mut server);
                bail!("signing in failed: {e:#}\nlinli's last stderr lines:\n  {tail}");
            }
        };
        println!("  signed in as {USERNAME}; street id {}", creds.street_id);
        let bearer = HeaderValue::from_str(&format!("Bearer {}", creds.bearer))?;
        let cookie = HeaderValue::from_str(&format!("linli_session={}", creds.session_cookie))?;
        let scenarios = vec![
            Scenario::new(
                "healthz",
                "baseline: the same server stack doing no work",
                "/healthz".into(),
                vec![],
            ),
            Scenario::new("login page", "anonymous HTML", "/login".into(), vec![]),
            Scenario::new(
                "place page",
                "authenticated HTML (session cookie)",
                format!("/places/{}", creds.street_id),
                vec![(header::COOKIE, cookie)],
            ),
            Scenario::new(
                "places API",
                "authenticated JSON list (Bearer)",
                "/api/v1/places?limit=50".into(),
                vec![(header::AUTHORIZATION, bearer)],
            ),
        ];
        // A quick check that each scenario answers 2xx before loading it.
        for sc in &scenarios {
            let headers: Vec<_> = sc
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.to_str().unwrap_or("").to_string()))
                .collect();
            match rt.block_on(request(addr, Method::GET, &sc.path, &headers, None)) {
                Ok(r) if r.status.is_success() => {}
                Ok(r) => println!(
                    "  warning: GET {} answered {} before the load: {}",
                    sc.path,
                    r.status,
                    r.text().chars().take(200).collect::<String>()
                ),
                Err(e) => println!("  warning: GET {} failed before the load: {e:#}", sc.path),
            }
        }
        println!();
        for sc in scenarios {
            print!("  running {:<12} GET {} … ", sc.name, sc.path);
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
            let load = Load {
                warmup: args.warmup,
                seconds: args.seconds,
                connections: args.connections,
            };
            let o = rt.block_on(run_scenario(addr, pid, sc, load));
            println!("{:.0} req/s", o.rps());
            if o.ok == 0 || o.errors * 2 > o.requests {
                wholesale_failure.get_or_insert_with(|| {
                    format!(
                        "GET {}: {} of {} requests failed{}",
                        o.path,
                        o.errors,
                        o.requests,
                        o.first_error
                            .as_deref()
                            .map(|e| format!(" ({e})"))
                            .unwrap_or_default()
                    )
                });
            }
            outcomes.push(o);
            if !server.alive() {
                wholesale_failure.get_or_insert_with(|| "linli exited during the load".into());
                break;
            }
        }
        // One idle keep-alive connection stays open over the shutdown, as a browser's would.
        idle_conn = rt.block_on(async {
            let mut s = connect(addr).await.ok()?;
            let req = Request::get("/healthz")
                .header(header::HOST, addr.to_string())
                .body(Full::new(Bytes::new()))
                .ok()?;
            let res = s.send_request(req).await.ok()?;
            res.into_body().collect().await.ok()?;
            Some(s)
        });
    }
    // CPU while nothing is asked of the server: its background jobs' cost (after a moment
    // for the load's last audit entries and index writes to settle).
    let idle_cpu = if args.idle_seconds > 0.0 {
        std::thread::sleep(Duration::from_secs(2));
        let c0 = proc_cpu(pid);
        std::thread::sleep(Duration::from_secs_f64(args.idle_seconds));
        match (c0, proc_cpu(pid)) {
            (Some(a), Some(b)) => {
                Some(b.saturating_sub(a).as_secs_f64() * 60.0 / args.idle_seconds)
            }
            _ => None,
        }
    } else {
        None
    };
    let after_rss = proc_status_num(pid, "VmRSS");
    let peak_rss = proc_status_num(pid, "VmHWM");

    // ---------------------------------------------------------------- report
    let base = outcomes.first().map(|o| o.ok_rps()).filter(|r| *r > 0.0);
    if !outcomes.is_empty() {
        println!(
            "\n{:<12} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>10}",
            "scenario",
            "requests",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "errors",
            "vs healthz"
        );
        for o in &outcomes {
            let ratio = base
                .map(|b| format!("{:.1}%", 100.0 * o.ok_rps() / b))
                .unwrap_or("-".into());
            println!(
                "{:<12} {:>9} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.1} {:>7} {:>10}",
                o.name,
                o.requests,
                o.rps(),
                ms(o.p50_us),
                ms(o.p90_us),
                ms(o.p99_us),
                ms(o.max_us),
                o.errors,
                ratio
            );
        }
        println!(
            "\n{:<12} {:>11} {:>9} {:>12} {:>9} {:>9}",
            "server side", "CPU µs/req", "KB/resp", "peak RSS MB", "threads", "db files"
        );
        for o in &outcomes {
            let cpu = o
                .cpu_per_req_us()
                .map(|c| format!("{c:.0}"))
                .unwrap_or("-".into());
            println!(
                "{:<12} {:>11} {:>9.1} {:>12.1} {:>9} {:>9}",
                o.name,
                cpu,
                o.mean_bytes / 1024.0,
                mb(o.peak.rss_kb),
                o.peak.threads,
                o.peak.db_files
            );
        }
        println!();
        for o in &outcomes {
            println!("  {:<12} GET {}  ({})", o.name, o.path, o.what);
            if o.errors > 0 {
                let st: Vec<String> = o
                    .statuses
                    .iter()
                    .filter(|(k, _)| !(200..300).contains(*k))
                    .map(|(k, v)| format!("{v}× {k}"))
                    .collect();
                println!(
                    "    errors: {}{}{}",
                    st.join(", "),
                    if o.transport_errors > 0 {
                        format!(" {}× transport", o.transport_errors)
                    } else {
                        String::new()
                    },
                    o.first_error
                        .as_deref()
                        .map(|e| format!(" (first: {e})"))
                        .unwrap_or_default()
                );
            }
            if o.reconnects > 0 {
                println!(
                    "    reconnects: {} (the server closed keep-alive connections)",
                    o.reconnects
                );
            }
        }
        println!(
            "  req/s counts every answer; \"vs healthz\" compares 2xx answers per second with /healthz's."
        );
        println!(
            "  CPU µs/req: the server's user+system CPU time per request over the measured window;"
        );
        println!(
            "  peak RSS, threads and db files (open SQLite database files) are the server's highest \
             values sampled every 100 ms while measuring."
        );
    }
    println!();
    println!(
        "startup-to-ready   {:>8.2} s   (--size {})",
        ready.as_secs_f64(),
        args.size
    );
    println!("idle RSS           {:>8.1} MB", mb(idle_rss));
    if let Some(a) = after_rss.filter(|_| !outcomes.is_empty()) {
        println!("RSS after the load {:>8.1} MB", mb(a));
    }
    if let Some(p) = peak_rss {
        println!("peak RSS (VmHWM)   {:>8.1} MB", mb(p));
    }
    if let Some(c) = idle_cpu {
        println!(
            "idle CPU           {c:>8.2} s per minute (user+system over {} s idle, scaled to a minute)",
            args.idle_seconds
        );
    }

    // ---------------------------------------------------------------- shutdown
    let idle_note = if idle_conn.is_some() {
        " (with 1 idle keep-alive connection open)"
    } else {
        ""
    };
    let (status, took) = server.stop(Duration::from_secs(30))?;
    let clean = matches!(status, Some(s) if s.success());
    let how = match status {
        Some(s) if s.success() => "exited cleanly (status 0)".to_string(),
        Some(s) => format!("exited with {s}"),
        None => "did not exit within 30 s; killed".to_string(),
    };
    println!(
        "shutdown (SIGTERM) {:>8.3} s   {how}{idle_note}",
        took.as_secs_f64()
    );
    drop(idle_conn);
    drop(rt);

    // ---------------------------------------------------------------- targets
    println!("\ntargets");
    let ready_ok = ready < ready_target;
    println!(
        "  {}  ready < {} s ({}): {:.2} s",
        pass(ready_ok),
        ready_target.as_secs(),
        if args.size == "district" {
            "district"
        } else {
            "street"
        },
        ready.as_secs_f64()
    );
    println!(
        "  {}  idle RSS < 60 MB: {:.1} MB",
        pass(mb(idle_rss) < 60.0),
        mb(idle_rss)
    );
    match (outcomes.iter().find(|o| o.name == "places API"), base) {
        (Some(o), Some(b)) => {
            let ratio = o.ok_rps() / b;
            println!(
                "  {}  JSON list ≥ 40% of /healthz req/s: {:.0}% ({:.0} vs {:.0} req/s)",
                pass(ratio >= 0.40),
                ratio * 100.0,
                o.ok_rps(),
                b
            );
            println!(
                "  {}  JSON list p99 < 20 ms: {:.2} ms",
                pass(o.p99_us < 20_000 && o.ok > 0),
                ms(o.p99_us)
            );
        }
        _ if args.startup_only => println!("  skip  JSON list targets (--startup-only)"),
        _ => println!("  FAIL  JSON list targets: not measured"),
    }
    match idle_cpu {
        Some(c) => println!(
            "  {}  idle CPU < 1 s per minute: {c:.2} s (over {} s)",
            pass(c < 1.0),
            args.idle_seconds
        ),
        None => println!("  skip  idle CPU (--idle-seconds 0)"),
    }
    println!("  {}  graceful shutdown on SIGTERM: {how}", pass(clean));
    if data.keep {
        println!(
            "\ndata kept in {} (server stderr in bench-server-stderr.log)",
            data.path.display()
        );
    }
    if let Some(why) = wholesale_failure {
        eprintln!("linli-bench: requests failed wholesale: {why}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
