//! `linli-bench visits`: issue 23's target for home visits, on `linli demo --size street` (one
//! street of about 40,000 residents) on SQLite.
//!
//! 1. The history: `--visits` visits (default 50,000) recorded across the street's residents
//!    before measuring, so that who was visited last is a real question.
//! 2. A grid worker's due list (`GET /api/v1/visits/due`: the tag holders of her grid now,
//!    against each one's latest visit, ordered by building and floor, names masked, each list
//!    an audit entry naming those listed) at 16 clients beside `/healthz` (target: p99 under
//!    50 ms); the community worker's (a whole community) for comparison.
//! 3. The baseline the maintained `visit_last` table replaces, in the same run and process:
//!    the latest visits of the grid's persons read from `visit_last`, against grouping every
//!    visit of the street (`MAX(visited_on)` over `visits` ⋈ `visit_persons`).
//!
//! ```text
//! cargo build --release --bins
//! ./target/release/linli-bench visits [--seconds 10] [--connections 16] [--visits 50000]
//!     [--size street] [--data DIR]
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use hyper::header::{self, HeaderValue};

use super::{
    DataDir, DemoSpec, Load, Scenario, find_linli, ms, pass, run_scenario, sign_in_as,
    start_server, stop_and_report, temp_data_dir,
};

#[derive(Args, Debug, Clone)]
pub struct VisitsArgs {
    /// Measured seconds per list (after a one-second warm-up).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Concurrent keep-alive clients.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Visits recorded across the street before measuring.
    #[arg(long, default_value_t = 50_000)]
    visits: usize,
    /// Demo size (the target is for a street).
    #[arg(long, default_value = "street")]
    size: String,
    /// Serve the demo from this folder, building it there first if it holds none, and keep it.
    #[arg(long)]
    data: Option<PathBuf>,
}

const DUE_P99_TARGET_US: u32 = 50_000;
const DAY: i64 = 24 * 60 * 60 * 1000;

/// Records `n` visits spread over the street's residents in the last year, in one transaction,
/// through the area's own store (so `visit_last` is kept as the service keeps it).
fn record_history(db: &linli::store::Db, n: usize) -> Result<usize> {
    let now = linli::kernel::time::now_ms();
    let done = db.write_tx_blocking(|c| -> linli::store::Result<usize> {
        let persons: Vec<(i64, i64, String)> = c
            .query(
                "SELECT id, street_id, place_path FROM persons WHERE residence <> 'left' ORDER BY id",
                &[],
            )?
            .iter()
            .map(|r| (r.i64(0), r.i64(1), r.str(2)))
            .collect();
        if persons.is_empty() {
            return Ok(0);
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (pid, street, path) = &persons[(x % persons.len() as u64) as usize];
            let at = now - ((x >> 20) % 360) as i64 * DAY - (i as i64 % 600) * 60_000;
            let v = linli::visits::model::Checked {
                person_id: Some(*pid),
                household_id: None,
                visited_at: at,
                visited_on: linli::kernel::time::local(at)
                    .map(|t| t.date_naive())
                    .unwrap_or_default(),
                how: "door",
                health: "good",
                living: "good",
                needs: Vec::new(),
                notes: "基准测试走访".into(),
                referral: String::new(),
                next_on: None,
                case: None,
            };
            linli::visits::store::insert_visit(
                c,
                *street,
                &v,
                path,
                (1, "基准"),
                &[*pid],
                None,
                now,
            )?;
        }
        Ok(n)
    })?;
    Ok(done)
}

/// The grid worker's grid: its street, its path, and the tag holders under it.
fn grid_persons(db: &linli::store::Db) -> Result<(i64, Vec<i64>)> {
    Ok(db.read_blocking(|c| {
        let g = c.query_one(
            "SELECT p.street_id, p.path FROM user_roles r JOIN users u ON u.id = r.user_id \
             JOIN places p ON p.id = r.place_id WHERE u.username = 'wangge'",
            &[],
        )?;
        let (street, path) = (g.i64(0), g.str(1));
        let ids = linli::registry::residents::reached(
            c,
            street,
            &[path],
            &["elderly_alone".to_string(), "disabled".to_string()],
            &[],
        )?
        .into_iter()
        .map(|r| r.person_id)
        .collect();
        Ok((street, ids))
    })?)
}

/// The median and slowest of `runs` timings of `f`.
fn time(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<(Duration, Duration)> {
    let mut t = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t0 = Instant::now();
        f()?;
        t.push(t0.elapsed());
    }
    t.sort();
    Ok((t[t.len() / 2], t[t.len() - 1]))
}

pub fn run(args: VisitsArgs) -> Result<std::process::ExitCode> {
    let linli = find_linli()?;
    let data: DataDir = match &args.data {
        Some(p) => {
            std::fs::create_dir_all(p).with_context(|| format!("cannot create {}", p.display()))?;
            DataDir {
                path: std::path::absolute(p)?,
                keep: true,
            }
        }
        None => temp_data_dir("linli-bench-visits")?,
    };
    println!("linli-bench visits: demo size {}", args.size);
    println!("  data        {}", data.path.display());
    let (mut server, ready) = start_server(
        &linli,
        &data.path,
        &DemoSpec {
            size: &args.size,
            seed: 1,
            env: &[],
        },
        Duration::from_secs(1800),
    )?;
    println!("  demo ready in {:.1} s", ready.as_secs_f64());
    let (addr, pid) = (server.addr, server.pid());
    let prepared = (|| -> Result<_> {
        let db = linli::store::Db::open(&format!(
            "sqlite://{}",
            data.path.join("linli.db").display()
        ))
        .context("opening the demo database")?;
        let t0 = Instant::now();
        let n = record_history(&db, args.visits)?;
        println!(
            "  {n} visits recorded in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
        let (street, persons) = grid_persons(&db)?;
        let total = db.read_blocking(|c| c.query_i64("SELECT COUNT(*) FROM visits", &[]))?;
        // The baseline in the same process: the latest visits of the grid's persons.
        let (kept, kept_max) = time(50, || {
            db.read_blocking(|c| linli::visits::store::last_of(c, &persons))?;
            Ok(())
        })?;
        let (scan, scan_max) = time(10, || {
            db.read_blocking(|c| linli::visits::store::last_of_scan(c, street, &persons))?;
            Ok(())
        })?;
        db.close();
        Ok((persons.len(), total, kept, kept_max, scan, scan_max))
    })();
    let (in_grid, total, kept, kept_max, scan, scan_max) = match prepared {
        Ok(x) => x,
        Err(e) => {
            stop_and_report(&mut server);
            return Err(e);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let wangge = sign_in_as(addr, "wangge").await?;
        let shegong = sign_in_as(addr, "shegong").await?;
        let load = Load {
            warmup: 1.0,
            seconds: args.seconds,
            connections: args.connections,
        };
        let base = run_scenario(
            addr,
            pid,
            Scenario::new("healthz", "baseline", "/healthz".into(), vec![]),
            load,
        )
        .await;
        let bearer = |t: &str| -> Result<Vec<(header::HeaderName, HeaderValue)>> {
            Ok(vec![(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {t}"))?,
            )])
        };
        let mut lines = Vec::new();
        for (name, who) in [
            (
                format!("a grid's due list ({in_grid} under plans)"),
                &wangge.bearer,
            ),
            ("a community's due list".to_string(), &shegong.bearer),
        ] {
            let o = run_scenario(
                addr,
                pid,
                Scenario::new(&name, "api", "/api/v1/visits/due".into(), bearer(who)?),
                load,
            )
            .await;
            lines.push((name, o.rps(), o.p50_us, o.p99_us, o.errors));
        }
        anyhow::Ok((base, lines))
    });
    stop_and_report(&mut server);
    let (base, lines) = result?;
    println!();
    println!("| measure | figure | target | |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| /healthz (baseline) | {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms | | |",
        base.rps(),
        ms(base.p50_us),
        ms(base.p99_us)
    );
    let mut ok = true;
    for (i, (name, rps, p50, p99, errors)) in lines.iter().enumerate() {
        let target = i == 0;
        let met = *p99 < DUE_P99_TARGET_US && *errors == 0;
        if target {
            ok &= met;
        }
        println!(
            "| {name} | {rps:.0} req/s ({:.2} of /healthz), p50 {:.2} ms, p99 {:.2} ms{} | {} | {} |",
            rps / base.rps().max(1.0),
            ms(*p50),
            ms(*p99),
            if *errors > 0 {
                format!(", {errors} errors")
            } else {
                String::new()
            },
            if target { "p99 < 50 ms" } else { "" },
            if target { pass(met) } else { "" }
        );
    }
    println!(
        "| latest visits of the grid's {in_grid} from visit_last ({total} visits) | median {:.2} ms, max {:.2} ms | | |",
        kept.as_secs_f64() * 1000.0,
        kept_max.as_secs_f64() * 1000.0
    );
    println!(
        "| baseline: the same by grouping every visit of the street | median {:.2} ms, max {:.2} ms ({:.0}× slower) | | |",
        scan.as_secs_f64() * 1000.0,
        scan_max.as_secs_f64() * 1000.0,
        scan.as_secs_f64() / kept.as_secs_f64().max(1e-9)
    );
    Ok(if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}
