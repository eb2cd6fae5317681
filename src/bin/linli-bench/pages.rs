//! `linli-bench pages`: issue 20's targets. Starts `linli demo` (the district demo by default,
//! about 1.2 million residents in 30 streets), signs in as the street administrator (`admin`), a
//! community worker (`shegong`) and a grid worker (`wangge`) (and with `--cases`, the
//! department `bumen`), and drives every registry and case page family and list API at 16
//! clients for 10 s each, beside the `/healthz` baseline of the same run. Prints one table
//! (page, role, req/s, p50, p99, ratio to `/healthz`) and PASS/FAIL per target: p99 < 100 ms
//! and ≥ 500 req/s, every answer 2xx.
//!
//! ```text
//! ./target/release/linli-bench pages [--size district] [--seconds 10] [--connections 16]
//!     [--data DIR] [--linli PATH] [--only TEXT] [--roles admin,shegong,wangge]
//!     [--cases 1000,100000]
//! ```
//!
//! `--cases` builds one demo per number, each street with that many earlier cases (the demo's
//! history generator: reported over 60 days, most closed by now), measures the case pages on
//! each, and prints the case list's figure at the largest history against the smallest (the
//! target: within 2×). `--linli` measures another build of the server (the "before" of a
//! change) on the same data folder; `--data` keeps the demo (a district takes minutes to build)
//! for the next run.

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
    /// Measure the case pages over demos with these many earlier cases (comma-separated), one
    /// demo each, instead of the registry pages over one demo.
    #[arg(long, value_delimiter = ',')]
    cases: Vec<usize>,
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
    println!("linli-bench pages");
    println!("  binary      {}", linli.display());
    println!(
        "  load        {} clients × {} s (+1 s warm-up) per scenario, --size {}",
        args.connections, args.seconds, args.size
    );
    if args.cases.is_empty() {
        let (base, lines) = measure(&args, &linli, None)?;
        print_table(&base, &lines);
        return Ok(std::process::ExitCode::SUCCESS);
    }
    // One demo per history; the case list's figures compared at the end.
    let mut runs = Vec::new();
    for &n in &args.cases {
        println!();
        println!("## {} with {n} earlier cases", args.size);
        let (base, lines) = measure(&args, &linli, Some(n))?;
        print_table(&base, &lines);
        runs.push((n, base, lines));
    }
    if let (Some(first), Some(last)) = (runs.first(), runs.last())
        && runs.len() > 1
    {
        println!();
        println!(
            "| case list | role | p99 ms at {} | p99 ms at {} | ratio (≤ 2) | req/s ratio to /healthz at {} / at {} |",
            first.0, last.0, first.0, last.0
        );
        println!("| --- | --- | ---: | ---: | ---: | --- |");
        for l in last.2.iter().filter(|l| is_case_list(&l.page)) {
            let Some(f) = first
                .2
                .iter()
                .find(|x| x.page == l.page && x.role == l.role)
            else {
                continue;
            };
            let ratio = l.p99_us.max(1) as f64 / f.p99_us.max(1) as f64;
            println!(
                "| {} | {} | {:.2} | {:.2} | {:.2} {} | {:.3} / {:.3} |",
                l.page,
                l.role,
                ms(f.p99_us),
                ms(l.p99_us),
                ratio,
                pass(ratio <= 2.0 && l.errors == 0),
                f.rps / first.1.rps.max(1.0),
                l.rps / last.1.rps.max(1.0),
            );
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// The case list scenarios compared across histories.
fn is_case_list(page: &str) -> bool {
    page.starts_with("/cases") && !page.starts_with("/cases/") || page.starts_with("API cases?")
}

/// Scenarios by name and path.
type Named = Vec<(String, String)>;

/// The registry's pages and list calls for one role.
fn registry_scenarios(ids: &Ids, own: i64) -> (Named, Named) {
    let zhang = "%E5%BC%A0"; // 张
    let pages = vec![
        ("home /".into(), "/".into()),
        ("/persons".into(), "/persons".into()),
        ("/persons?q=张".into(), format!("/persons?q={zhang}")),
        ("/persons/{id}".into(), format!("/persons/{}", ids.person)),
        (
            "/households/{id}".into(),
            format!("/households/{}", ids.household),
        ),
        ("/units/{id}".into(), format!("/units/{}", ids.unit)),
        ("/places/{own}".into(), format!("/places/{own}")),
        ("/stats".into(), "/stats".into()),
        ("/rentals".into(), "/rentals".into()),
        ("/vehicles".into(), "/vehicles".into()),
    ];
    let apis = vec![
        (
            "API persons?limit=50".into(),
            "/api/v1/persons?limit=50".into(),
        ),
        (
            "API persons?q=张&limit=50".into(),
            format!("/api/v1/persons?q={zhang}&limit=50"),
        ),
        (
            "API persons/{id}".into(),
            format!("/api/v1/persons/{}", ids.person),
        ),
        (
            "API stats/population".into(),
            "/api/v1/stats/population".into(),
        ),
        ("API places/{own}".into(), format!("/api/v1/places/{own}")),
        ("API rentals".into(), "/api/v1/rentals".into()),
        ("API vehicles".into(), "/api/v1/vehicles".into()),
    ];
    (pages, apis)
}

/// The case pages and list calls, the same for every role (each sees its own cases).
fn case_scenarios() -> (Named, Named) {
    let pages = [
        "/",
        "/cases",
        "/cases?state=closed,rated",
        "/cases?late=1",
        "/cases/map",
        "/cases/figures",
        "/inbox",
    ]
    .into_iter()
    .map(|p| (if p == "/" { "home /".into() } else { p.into() }, p.into()))
    .collect();
    let apis = vec![
        ("API cases?limit=50".into(), "/api/v1/cases?limit=50".into()),
        (
            "API cases?state=closed&limit=50".into(),
            "/api/v1/cases?state=closed&limit=50".into(),
        ),
        ("API cases/figures".into(), "/api/v1/cases/figures".into()),
    ];
    (pages, apis)
}

/// Builds (or reuses) one demo, serves it, and measures every scenario for every role.
fn measure(
    args: &PagesArgs,
    linli: &std::path::Path,
    cases: Option<usize>,
) -> Result<(Base, Vec<Line>)> {
    let data: DataDir = match (&args.data, cases) {
        (Some(p), n) => {
            let p = match n {
                Some(n) => p.join(format!("cases-{n}")),
                None => p.clone(),
            };
            std::fs::create_dir_all(&p)
                .with_context(|| format!("cannot create {}", p.display()))?;
            DataDir {
                path: std::path::absolute(&p)?,
                keep: true,
            }
        }
        (None, _) => temp_data_dir("linli-bench-pages")?,
    };
    println!("  data        {}", data.path.display());
    let limit = if args.size == "district" { 3600 } else { 1800 };
    let history = cases.map(|n| n.to_string());
    let env: Vec<(&str, &str)> = history
        .as_deref()
        .map(|n| vec![("LINLI_DEMO_CASE_HISTORY", n)])
        .unwrap_or_default();
    let (mut server, ready) = start_server(
        linli,
        &data.path,
        &DemoSpec {
            size: &args.size,
            seed: 1,
            env: &env,
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
    let mut roles: Vec<String> = args
        .roles
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(String::from)
        .collect();
    if cases.is_some() && args.roles == "admin,shegong,wangge" {
        roles.push("bumen".into());
    }
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
        for role in &roles {
            let creds = sign_in_as(addr, role).await?;
            let cookie = vec![(
                header::COOKIE,
                HeaderValue::from_str(&format!("linli_session={}", creds.session_cookie))?,
            )];
            let bearer = vec![(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {}", creds.bearer))?,
            )];
            let own = match role.as_str() {
                "admin" => ids.street,
                "shegong" => ids.community,
                _ => ids.grid,
            };
            let (pages, apis) = if cases.is_some() {
                case_scenarios()
            } else {
                registry_scenarios(&ids, own)
            };
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
                let plain: Vec<_> = headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_str().unwrap_or("").to_string()))
                    .collect();
                let r = request(addr, hyper::Method::GET, &path, &plain, None).await?;
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
                let o = run_scenario(addr, pid, Scenario::new(&name, "page", path, headers), load)
                    .await;
                let line = Line {
                    page: name,
                    role: role.to_string(),
                    rps: o.rps(),
                    p50_us: o.p50_us,
                    p99_us: o.p99_us,
                    errors: o.errors,
                    first_error: o
                        .first_error
                        .clone()
                        .or_else(|| (o.errors > 0).then(|| format!("statuses {:?}", o.statuses))),
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
        anyhow::Ok((base.rps(), base.p50_us, base.p99_us, lines))
    });
    stop_and_report(&mut server);
    let (rps, p50_us, p99_us, lines) = result?;
    Ok((
        Base {
            rps,
            p50_us,
            p99_us,
        },
        lines,
    ))
}

/// The `/healthz` baseline of one run.
struct Base {
    rps: f64,
    p50_us: u32,
    p99_us: u32,
}

/// Prints the table of one run and the count of targets met.
fn print_table(base: &Base, lines: &[Line]) {
    println!();
    println!(
        "| page | role | req/s | p50 ms | p99 ms | ratio to /healthz | p99 < 100 ms | ≥ 500 req/s |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | --- | --- |");
    println!(
        "| /healthz | — | {:.0} | {:.2} | {:.2} | 1.00 | | |",
        base.rps,
        ms(base.p50_us),
        ms(base.p99_us)
    );
    let mut failed = 0;
    for l in lines {
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
            l.rps / base.rps.max(1.0),
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
}
