//! `linli-bench pages`: issue 20's targets for the registry. Starts `linli demo` (the district
//! demo by default, about 1.2 million residents in 30 streets), signs in as the street
//! administrator (`admin`), a community worker (`shegong`) and a grid worker (`wangge`), and
//! drives every registry page family and list API at 16 clients for 10 s each, beside the
//! `/healthz` baseline of the same run. Prints one table (page, role, req/s, p50, p99, ratio to
//! `/healthz`) and PASS/FAIL per target: p99 < 100 ms and ≥ 500 req/s, every answer 2xx.
//!
//! ```text
//! ./target/release/linli-bench pages [--size district] [--seconds 10] [--connections 16]
//!     [--data DIR] [--linli PATH] [--only TEXT] [--roles admin,shegong,wangge]
//! ```
//!
//! `--linli` measures another build of the server (the "before" of a change) on the same
//! data folder; `--data` keeps the demo (a district takes minutes to build) for the next run.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use hyper::header::{self, HeaderValue};

use super::{
    DataDir, DemoSpec, Load, Scenario, find_linli, ms, pass, request, run_scenario, sign_in_as,
    start_server, stop_and_report, temp_data_dir,
};

#[derive(Args, Debug, Clone)]
pub struct PagesArgs {
    /// Demo size: small, street or district.
    #[arg(long, default_value = "district")]
    size: String,
    /// Measured seconds per scenario (after a one-second warm-up).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Concurrent keep-alive clients.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Serve the demo from this folder, building it there first if it holds none, and keep it.
    #[arg(long)]
    data: Option<PathBuf>,
    /// The `linli` binary to measure (default: the one next to this executable).
    #[arg(long)]
    linli: Option<PathBuf>,
    /// Only the scenarios whose name contains this text.
    #[arg(long)]
    only: Option<String>,
    /// The demo accounts to sign in as, comma-separated.
    #[arg(long, default_value = "admin,shegong,wangge")]
    roles: String,
}

/// The targets of issue 20 for every page and list.
const P99_TARGET_US: u32 = 100_000;
const RPS_TARGET: f64 = 500.0;

/// Ids the scenarios read, all inside the grid worker's grid (so inside every role's scope).
struct Ids {
    street: i64,
    community: i64,
    grid: i64,
    person: i64,
    household: i64,
    unit: i64,
}

fn ids(data: &std::path::Path) -> Result<Ids> {
    let db = linli::store::Db::open(&format!("sqlite://{}", data.join("linli.db").display()))
        .context("opening the demo database")?;
    let ids = db.read_blocking(|c| {
        // The demo's accounts: admin on the first street, shegong on its first community,
        // wangge on that community's first grid.
        let place = |c: &mut dyn linli::store::Conn, user: &str| {
            c.query_one(
                "SELECT r.place_id, p.path FROM user_roles r JOIN users u ON u.id = r.user_id \
                 JOIN places p ON p.id = r.place_id WHERE u.username = $1",
                linli::params![user],
            )
            .map(|r| (r.i64(0), r.str(1)))
        };
        let (street, _) = place(c, "admin")?;
        let (community, _) = place(c, "shegong")?;
        let (grid, grid_path) = place(c, "wangge")?;
        let p = c.query_one(
            "SELECT id, household_id, unit_id FROM persons WHERE place_path >= $1 AND place_path < $2 \
             AND household_id IS NOT NULL AND residence <> 'left' ORDER BY place_path, id LIMIT 1",
            linli::params![format!("{grid_path}/"), format!("{grid_path}0")],
        )?;
        Ok(Ids {
            street,
            community,
            grid,
            person: p.i64(0),
            household: p.i64(1),
            unit: p.i64(2),
        })
    })?;
    db.close();
    Ok(ids)
}

/// One row of the table.
struct Line {
    page: String,
    role: String,
    rps: f64,
    p50_us: u32,
    p99_us: u32,
    errors: u64,
    first_error: Option<String>,
}

pub fn run(args: PagesArgs) -> Result<std::process::ExitCode> {
    if !["small", "street", "district"].contains(&args.size.as_str()) {
        bail!(
            "unknown --size {:?}: use small, street or district",
            args.size
        );
    }
    let linli = match &args.linli {
        Some(p) => std::path::absolute(p)?,
        None => find_linli()?,
    };
    let data: DataDir = match &args.data {
        Some(p) => {
            std::fs::create_dir_all(p).with_context(|| format!("cannot create {}", p.display()))?;
            DataDir {
                path: std::path::absolute(p)?,
                keep: true,
            }
        }
        None => temp_data_dir("linli-bench-pages")?,
    };
    println!("linli-bench pages");
    println!("  binary      {}", linli.display());
    println!("  data        {}", data.path.display());
    println!(
        "  load        {} clients × {} s (+1 s warm-up) per scenario, --size {}",
        args.connections, args.seconds, args.size
    );
    let limit = if args.size == "district" { 3600 } else { 900 };
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
    let ids = match ids(&data.path) {
        Ok(i) => i,
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
        let load = Load {
            warmup: 1.0,
            seconds: args.seconds,
            connections: args.connections,
        };
        // The server's background jobs settle first (a recount after a new binary's migration).
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
        let mut lines = Vec::new();
        let zhang = "%E5%BC%A0"; // 张
        for role in args.roles.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            let creds = sign_in_as(addr, role).await?;
            let cookie = vec![(
                header::COOKIE,
                HeaderValue::from_str(&format!("linli_session={}", creds.session_cookie))?,
            )];
            let bearer = vec![(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {}", creds.bearer))?,
            )];
            let own = match role {
                "admin" => ids.street,
                "shegong" => ids.community,
                _ => ids.grid,
            };
            let pages: Vec<(String, String)> = vec![
                ("home /".into(), "/".into()),
                ("/persons".into(), "/persons".into()),
                ("/persons?q=张".into(), format!("/persons?q={zhang}")),
                ("/persons/{id}".into(), format!("/persons/{}", ids.person)),
                ("/households/{id}".into(), format!("/households/{}", ids.household)),
                ("/units/{id}".into(), format!("/units/{}", ids.unit)),
                ("/places/{own}".into(), format!("/places/{own}")),
                ("/stats".into(), "/stats".into()),
                ("/rentals".into(), "/rentals".into()),
                ("/vehicles".into(), "/vehicles".into()),
            ];
            let apis: Vec<(String, String)> = vec![
                ("API persons?limit=50".into(), "/api/v1/persons?limit=50".into()),
                (
                    "API persons?q=张&limit=50".into(),
                    format!("/api/v1/persons?q={zhang}&limit=50"),
                ),
                ("API persons/{id}".into(), format!("/api/v1/persons/{}", ids.person)),
                ("API stats/population".into(), "/api/v1/stats/population".into()),
                ("API places/{own}".into(), format!("/api/v1/places/{own}")),
                ("API rentals".into(), "/api/v1/rentals".into()),
                ("API vehicles".into(), "/api/v1/vehicles".into()),
            ];
            let all = pages
                .into_iter()
                .map(|(n, p)| (n, p, cookie.clone()))
                .chain(apis.into_iter().map(|(n, p)| (n, p, bearer.clone())));
            for (name, path, headers) in all {
                if let Some(f) = &args.only
                    && !name.contains(f.as_str())
                {
                    continue;
                }
                // One request first: a page that does not answer 2xx is reported, not loaded.
                let r = request(addr, hyper::Method::GET, &path, &
                    headers.iter().map(|(k, v)| (k.clone(), v.to_str().unwrap_or("").to_string())).collect::<Vec<_>>(),
                    None).await?;
                if !r.status.is_success() {
                    lines.push(Line {
                        page: name,
                        role: role.to_string(),
                        rps: 0.0,
                        p50_us: 0,
                        p99_us: 0,
                        errors: 1,
                        first_error: Some(format!("answered {}", r.status)),
                    });
                    continue;
                }
                let o = run_scenario(addr, pid, Scenario::new(&name, "page", path, headers), load).await;
                let line = Line {
                    page: name,
                    role: role.to_string(),
                    rps: o.rps(),
                    p50_us: o.p50_us,
                    p99_us: o.p99_us,
                    errors: o.errors,
                    first_error: o.first_error.clone().or_else(|| {
                        (o.errors > 0).then(|| format!("statuses {:?}", o.statuses))
                    }),
                };
                eprintln!(
                    "  … {:<28} {:<8} {:>8.0} req/s  p99 {:>8.2} ms",
                    line.page,
                    line.role,
                    line.rps,
                    ms(line.p99_us)
                );
                lines.push(line);
            }
        }
        println!();
        println!(
            "| page | role | req/s | p50 ms | p99 ms | ratio to /healthz | p99 < 100 ms | ≥ 500 req/s |"
        );
        println!("| --- | --- | ---: | ---: | ---: | ---: | --- | --- |");
        println!(
            "| /healthz | — | {:.0} | {:.2} | {:.2} | 1.00 | | |",
            base.rps(),
            ms(base.p50_us),
            ms(base.p99_us)
        );
        let mut failed = 0;
        for l in &lines {
            let fast = l.p99_us < P99_TARGET_US && l.errors == 0 && l.rps > 0.0;
            let many = l.rps >= RPS_TARGET && l.errors == 0;
            failed += usize::from(!fast) + usize::from(!many);
            println!(
                "| {} | {} | {:.0} | {:.2} | {:.2} | {:.3} | {} | {} |{}",
                l.page,
                l.role,
                l.rps,
                ms(l.p50_us),
                ms(l.p99_us),
                l.rps / base.rps().max(1.0),
                pass(fast),
                pass(many),
                match &l.first_error {
                    Some(e) if l.errors > 0 => format!(" {} errors: {e}", l.errors),
                    _ => String::new(),
                }
            );
        }
        println!();
        println!(
            "{} of {} targets met ({} pages × 2 targets)",
            lines.len() * 2 - failed,
            lines.len() * 2,
            lines.len()
        );
        anyhow::Ok(())
    });
    stop_and_report(&mut server);
    result?;
    Ok(std::process::ExitCode::SUCCESS)
}
