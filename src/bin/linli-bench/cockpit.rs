//! `linli-bench cockpit`: issue 27's targets. Starts `linli demo` (the district demo by
//! default: 30 streets, about 1.2 million residents), signs in as the street administrator
//! (`admin`) and a community worker (`shegong`), and measures beside the `/healthz` baseline
//! of the same run:
//!
//! - the cockpit's desktop page, big screen, figures fragment and JSON API at 16 clients for
//!   10 s each (target: p99 < 100 ms);
//! - a fresh read of the board (no board read in the last two seconds): `--cold` requests one
//!   after another, each after the kept board has aged out;
//! - `--sse` open cockpits (the live ticks at `/cockpit/events`, default 200): `--events` times,
//!   a resident is registered through the API and the time until each stream says "tick" is
//!   taken
//!   (target: p99 < 1 s).
//!
//! ```text
//! ./target/release/linli-bench cockpit [--size district] [--seconds 10] [--connections 16]
//!     [--sse 200] [--events 10] [--cold 10] [--data DIR]
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use hyper::header::{self, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{
    DataDir, DemoSpec, Load, Scenario, find_linli, ms, pass, request, run_scenario, sign_in_as,
    start_server, stop_and_report, temp_data_dir,
};

#[derive(Args, Debug, Clone)]
pub struct CockpitArgs {
    /// Demo size: small, street or district.
    #[arg(long, default_value = "district")]
    size: String,
    /// Measured seconds per scenario (after a one-second warm-up).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Concurrent keep-alive clients.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Open cockpits listening for ticks.
    #[arg(long, default_value_t = 200)]
    sse: usize,
    /// Cases reported while they listen.
    #[arg(long, default_value_t = 10)]
    events: usize,
    /// Fresh reads of the board, one after another.
    #[arg(long, default_value_t = 10)]
    cold: usize,
    /// Serve the demo from this folder, building it there first if it holds none, and keep it.
    #[arg(long)]
    data: Option<PathBuf>,
}

const P99_TARGET_MS: f64 = 100.0;
const SSE_TARGET_MS: f64 = 1000.0;

/// A unit of the community worker's community, where the bench registers its residents.
fn unit_of_shegong(data: &std::path::Path) -> Result<String> {
    let db = linli::store::Db::open(&format!("sqlite://{}", data.join("linli.db").display()))
        .context("opening the demo database")?;
    let path = db.read_blocking(|c| {
        c.query_one(
            "SELECT x.path FROM user_roles r JOIN users u ON u.id = r.user_id \
             JOIN places m ON m.id = r.place_id \
             JOIN places x ON x.street_id = m.street_id AND x.kind = 'unit' \
             AND x.path > m.path AND x.path < m.path || '0' \
             WHERE u.username = 'shegong' ORDER BY x.path LIMIT 1",
            &[],
        )
        .map(|r| r.str(0))
    })?;
    db.close();
    Ok(path)
}

/// Percentile of sorted milliseconds.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn run(args: CockpitArgs) -> Result<std::process::ExitCode> {
    if !["small", "street", "district"].contains(&args.size.as_str()) {
        bail!(
            "unknown --size {:?}: use small, street or district",
            args.size
        );
    }
    let linli = find_linli()?;
    let data: DataDir = match &args.data {
        Some(p) => {
            std::fs::create_dir_all(p).with_context(|| format!("cannot create {}", p.display()))?;
            DataDir {
                path: std::path::absolute(p)?,
                keep: true,
            }
        }
        None => temp_data_dir("linli-bench-cockpit")?,
    };
    println!("linli-bench cockpit");
    println!("  binary      {}", linli.display());
    println!("  data        {}", data.path.display());
    println!(
        "  load        {} clients × {} s (+1 s warm-up) per scenario, --size {}; {} open cockpits × {} events",
        args.connections, args.seconds, args.size, args.sse, args.events
    );
    let limit = if args.size == "district" { 3600 } else { 1800 };
    let (mut server, ready) = start_server(
        &linli,
        &data.path,
        &DemoSpec {
            size: &args.size,
            seed: 1,
            env: &[],
        },
        Duration::from_secs(limit),
    )?;
    println!("  demo ready in {:.1} s", ready.as_secs_f64());
    let (addr, pid) = (server.addr, server.pid());
    let unit = match unit_of_shegong(&data.path) {
        Ok(g) => g,
        Err(e) => {
            stop_and_report(&mut server);
            return Err(e);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let res = rt.block_on(measure(&args, addr, pid, unit));
    stop_and_report(&mut server);
    res?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn measure(args: &CockpitArgs, addr: SocketAddr, pid: i32, unit: String) -> Result<()> {
    let load = Load {
        warmup: 1.0,
        seconds: args.seconds,
        connections: args.connections,
    };
    // The server's background jobs settle first (the first snapshot, a recount).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let base = run_scenario(
        addr,
        pid,
        Scenario::new("healthz", "baseline", "/healthz".into(), vec![]),
        load,
    )
    .await;
    println!(
        "  GET /healthz (baseline): {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        base.rps(),
        ms(base.p50_us),
        ms(base.p99_us)
    );
    let admin = sign_in_as(addr, "admin").await?;
    let shegong = sign_in_as(addr, "shegong").await?;
    let cookie = |c: &super::Credentials| {
        vec![(
            header::COOKIE,
            HeaderValue::from_str(&format!("linli_session={}", c.session_cookie)).expect("cookie"),
        )]
    };
    let bearer = |c: &super::Credentials| {
        vec![(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {}", c.bearer)).expect("token"),
        )]
    };
    let scenarios = [
        ("/cockpit", "admin", "/cockpit", cookie(&admin)),
        (
            "/cockpit?layout=screen",
            "admin",
            "/cockpit?layout=screen",
            cookie(&admin),
        ),
        (
            "/cockpit/figures",
            "admin",
            "/cockpit/figures?layout=desk",
            cookie(&admin),
        ),
        (
            "API /api/v1/cockpit",
            "admin",
            "/api/v1/cockpit",
            bearer(&admin),
        ),
        ("/cockpit", "shegong", "/cockpit", cookie(&shegong)),
    ];
    println!();
    println!(
        "| page | role | req/s | p50 ms | p99 ms | ratio to /healthz | target p99 < {P99_TARGET_MS} ms |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | --- |");
    for (name, role, path, headers) in scenarios {
        let plain: Vec<_> = headers
            .iter()
            .map(|(k, v)| (k.clone(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let r = request(addr, hyper::Method::GET, path, &plain, None).await?;
        if !r.status.is_success() {
            println!(
                "| {name} | {role} | — | — | — | — | FAIL: answered {} |",
                r.status
            );
            continue;
        }
        let o = run_scenario(
            addr,
            pid,
            Scenario::new(name, "page", path.into(), headers),
            load,
        )
        .await;
        println!(
            "| {name} | {role} | {:.0} | {:.2} | {:.2} | {:.3} | {}{} |",
            o.rps(),
            ms(o.p50_us),
            ms(o.p99_us),
            o.rps() / base.rps().max(1.0),
            pass(ms(o.p99_us) < P99_TARGET_MS && o.errors == 0),
            if o.errors > 0 {
                format!(" ({} errors)", o.errors)
            } else {
                String::new()
            },
        );
    }

    // Fresh reads: each request after the kept board aged out.
    let admin_cookie: Vec<_> = vec![(
        header::COOKIE,
        format!("linli_session={}", admin.session_cookie),
    )];
    let mut cold = Vec::new();
    for _ in 0..args.cold {
        tokio::time::sleep(Duration::from_millis(2200)).await;
        let t0 = Instant::now();
        let r = request(
            addr,
            hyper::Method::GET,
            "/api/v1/cockpit",
            &[(header::AUTHORIZATION, format!("Bearer {}", admin.bearer))],
            None,
        )
        .await?;
        if r.status.is_success() {
            cold.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
    }
    cold.sort_by(f64::total_cmp);
    println!();
    println!(
        "  fresh board read (API, street administrator, {} reads): p50 {:.1} ms, max {:.1} ms",
        cold.len(),
        pct(&cold, 0.5),
        cold.last().copied().unwrap_or(f64::NAN)
    );

    // Open cockpits: the time from a reported case to each stream's tick.
    let mut streams = Vec::new();
    for _ in 0..args.sse {
        streams.push(open_events(addr, &admin_cookie[0].1).await?);
    }
    println!("  {} cockpits listening", streams.len());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    for (i, mut s) in streams.into_iter().enumerate() {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let mut text = String::new();
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        text.push_str(&String::from_utf8_lossy(&buf[..n]));
                        while let Some(at) = text.find("event: tick") {
                            let _ = tx.send((i, Instant::now()));
                            text.drain(..at + "event: tick".len());
                        }
                        if text.len() > 8192 {
                            text.clear();
                        }
                    }
                }
            }
        });
    }
    drop(tx);
    let token = bearer(&shegong)[0].1.to_str().unwrap_or("").to_string();
    let mut lat = Vec::new();
    let mut missed = 0;
    for n in 0..args.events {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        while rx.try_recv().is_ok() {}
        // A resident registered: the residents' figure moves in the same transaction.
        let id_number = linli::registry::idnum::IdNumber::build(
            "310115",
            chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or_default()
                + chrono::Days::new(n as u64 * 37 + 11),
            (n % 900) as u16 + 17,
        );
        let body = serde_json::json!({
            "name": format!("测试居民{n}"),
            "id_number": id_number.as_str(),
            "unit": unit,
        })
        .to_string();
        let t0 = Instant::now();
        let r = request(
            addr,
            hyper::Method::POST,
            "/api/v1/persons",
            &[(header::AUTHORIZATION, token.clone())],
            Some(("application/json", body.into_bytes())),
        )
        .await?;
        if !r.status.is_success() {
            bail!("registering a resident answered {}: {}", r.status, r.text());
        }
        let mut got = std::collections::HashSet::new();
        let deadline = t0 + Duration::from_secs(5);
        while got.len() < args.sse {
            match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
                Ok(Some((i, at))) => {
                    if got.insert(i) {
                        lat.push(at.duration_since(t0).as_secs_f64() * 1000.0);
                    }
                }
                _ => break,
            }
        }
        missed += args.sse - got.len();
    }
    lat.sort_by(f64::total_cmp);
    let p99 = pct(&lat, 0.99);
    println!(
        "  resident registered → tick on {} open cockpits ({} events, {} ticks): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms, missed {}  {} (target p99 < {SSE_TARGET_MS} ms)",
        args.sse,
        args.events,
        lat.len(),
        pct(&lat, 0.5),
        p99,
        lat.last().copied().unwrap_or(f64::NAN),
        missed,
        pass(p99 < SSE_TARGET_MS && missed == 0),
    );
    Ok(())
}

/// Opens `/cockpit/events` with a session cookie and waits for its "ready".
async fn open_events(addr: SocketAddr, cookie: &str) -> Result<tokio::net::TcpStream> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let req = format!(
        "GET /cockpit/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\nCookie: {cookie}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await?;
    let mut buf = vec![0u8; 4096];
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !text.contains("event: ready") {
        let n = tokio::time::timeout_at(deadline.into(), s.read(&mut buf))
            .await
            .context("the event stream did not open")??;
        if n == 0 {
            bail!("the event stream closed: {text}");
        }
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    Ok(s)
}
