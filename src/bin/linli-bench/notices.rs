//! `linli-bench notices`: issue 22's targets for notices, on `linli demo --size street` (one
//! street of about 40,000 residents) on SQLite.
//!
//! 1. The street administrator publishes a notice to the whole street over the API
//!    (`POST /api/v1/notices`): the audience resolved from the registry and every recipient
//!    frozen in one transaction (target: under 2 s), several times; the figure is the slowest.
//! 2. A building's unread list (`GET /api/v1/notices/{id}/buildings/{b}/unread`, names masked,
//!    each list an audit entry naming its residents) at 16 clients, as the street administrator,
//!    beside `/healthz` in the same run (target: p99 under 50 ms).
//! 3. For comparison, no target: the notice with its receipts per building (the publisher's
//!    page's data), and a resident's feed (`GET /api/v1/notices`).
//!
//! ```text
//! cargo build --release --bins
//! ./target/release/linli-bench notices [--seconds 10] [--connections 16] [--publishes 3]
//!     [--data DIR]
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use hyper::header::{self, HeaderValue};

use super::{
    DataDir, DemoSpec, Load, Scenario, find_linli, ms, pass, request, run_scenario, sign_in_as,
    start_server, stop_and_report, temp_data_dir,
};

#[derive(Args, Debug, Clone)]
pub struct NoticesArgs {
    /// Measured seconds per list (after a one-second warm-up).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Concurrent keep-alive clients.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Notices published to the whole street (the slowest is the figure).
    #[arg(long, default_value_t = 3)]
    publishes: usize,
    /// Demo size (the target is for a street).
    #[arg(long, default_value = "street")]
    size: String,
    /// Serve the demo from this folder, building it there first if it holds none, and keep it.
    #[arg(long)]
    data: Option<PathBuf>,
}

const PUBLISH_TARGET: Duration = Duration::from_secs(2);
const UNREAD_P99_TARGET_US: u32 = 50_000;

fn street_of_admin(data: &std::path::Path) -> Result<i64> {
    let db = linli::store::Db::open(&format!("sqlite://{}", data.join("linli.db").display()))
        .context("opening the demo database")?;
    let id = db.read_blocking(|c| {
        c.query_i64(
            "SELECT r.place_id FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.username = 'admin'",
            &[],
        )
    })?;
    db.close();
    Ok(id)
}

pub fn run(args: NoticesArgs) -> Result<std::process::ExitCode> {
    let linli = find_linli()?;
    let data: DataDir = match &args.data {
        Some(p) => {
            std::fs::create_dir_all(p).with_context(|| format!("cannot create {}", p.display()))?;
            DataDir {
                path: std::path::absolute(p)?,
                keep: true,
            }
        }
        None => temp_data_dir("linli-bench-notices")?,
    };
    println!("linli-bench notices: demo size {}", args.size);
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
    let street = match street_of_admin(&data.path) {
        Ok(s) => s,
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
        tokio::time::sleep(Duration::from_secs(3)).await;
        let admin = sign_in_as(addr, "admin").await?;
        let jumin = sign_in_as(addr, "jumin").await?;
        let auth = |t: &str| vec![(header::AUTHORIZATION, format!("Bearer {t}"))];
        // 1. Publishing to the whole street.
        let mut slowest = Duration::ZERO;
        let (mut id, mut recipients) = (0, 0);
        for i in 0..args.publishes.max(1) {
            let body = serde_json::json!({
                "title": format!("基准测试通知 {}", i + 1),
                "body": "全街道居民：本周六上午消防演练，请配合。",
                "audience": {"places": [street]},
                "ack_wanted": true,
            })
            .to_string();
            let t0 = Instant::now();
            let r = request(
                addr,
                hyper::Method::POST,
                "/api/v1/notices",
                &auth(&admin.bearer),
                Some(("application/json", body.into_bytes())),
            )
            .await?;
            let took = t0.elapsed();
            if r.status.as_u16() != 201 {
                bail!("publishing answered {}: {}", r.status, r.text());
            }
            let v: serde_json::Value = serde_json::from_slice(&r.body)?;
            id = v["id"].as_i64().unwrap_or(0);
            recipients = v["recipients"].as_i64().unwrap_or(0);
            println!(
                "  publish {}: {recipients} recipients frozen in {:.0} ms",
                i + 1,
                took.as_secs_f64() * 1000.0
            );
            slowest = slowest.max(took);
        }
        // The building with the most recipients.
        let r = request(
            addr,
            hyper::Method::GET,
            &format!("/api/v1/notices/{id}/buildings"),
            &auth(&admin.bearer),
            None,
        )
        .await?;
        let buildings: serde_json::Value = serde_json::from_slice(&r.body)?;
        let (building, in_building) = buildings
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|b| {
                        (
                            b["building_id"].as_i64().unwrap_or(0),
                            b["recipients"].as_i64().unwrap_or(0),
                        )
                    })
                    .max_by_key(|b| b.1)
                    .unwrap_or((0, 0))
            })
            .unwrap_or((0, 0));
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
        for (name, path, who) in [
            (
                format!("unread list of a building ({in_building} recipients)"),
                format!("/api/v1/notices/{id}/buildings/{building}/unread"),
                &admin.bearer,
            ),
            (
                "a notice with its receipts per building".to_string(),
                format!("/api/v1/notices/{id}"),
                &admin.bearer,
            ),
            (
                "a resident's feed".to_string(),
                "/api/v1/notices".to_string(),
                &jumin.bearer,
            ),
        ] {
            let o = run_scenario(
                addr,
                pid,
                Scenario::new(&name, "api", path, bearer(who)?),
                load,
            )
            .await;
            lines.push((name, o.rps(), o.p50_us, o.p99_us, o.errors));
        }
        anyhow::Ok((slowest, recipients, base, lines))
    });
    stop_and_report(&mut server);
    let (slowest, recipients, base, lines) = result?;
    println!();
    println!("| measure | figure | target | |");
    println!("| --- | --- | --- | --- |");
    let publish_ok = slowest < PUBLISH_TARGET && recipients >= 30_000;
    println!(
        "| publish to the whole street ({recipients} residents), slowest of {} | {:.0} ms | < 2,000 ms | {} |",
        args.publishes.max(1),
        slowest.as_secs_f64() * 1000.0,
        pass(publish_ok)
    );
    println!(
        "| /healthz (baseline) | {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms | | |",
        base.rps(),
        ms(base.p50_us),
        ms(base.p99_us)
    );
    let mut ok = publish_ok;
    for (i, (name, rps, p50, p99, errors)) in lines.iter().enumerate() {
        let target = i == 0;
        let met = *p99 < UNREAD_P99_TARGET_US && *errors == 0;
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
    Ok(if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}
