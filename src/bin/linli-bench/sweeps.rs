//! `linli-bench sweeps`: issue 23's target for door-to-door sweeps, on `linli demo --size
//! street` on SQLite, its households topped up to `--households` (40,000 by default) by
//! registering more households in the street's units.
//!
//! 1. The street administrator writes a campaign over the whole street (a draft) and starts it
//!    over the API (`POST /api/v1/sweeps/{id}/start`): every household becomes a door with its
//!    building and grid in one `INSERT … SELECT`, each grid's doors given to its grid worker
//!    (target: under 2 s). Repeated `--starts` times (each a repeat of the last); the figure is
//!    the slowest.
//! 2. Baselines measured in the same run: one plain read of the same households joined to
//!    their units, buildings and grids, straight from the database file (what any start must
//!    at least read), and a `/healthz` round trip.
//! 3. For comparison, no target: the campaign's progress by grid and building
//!    (`GET /api/v1/sweeps/{id}/progress`), counted over every door.
//!
//! ```text
//! cargo build --release --bins
//! ./target/release/linli-bench sweeps [--households 40000] [--starts 3] [--size street]
//!     [--data DIR]
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use hyper::header;

use super::{
    DataDir, DemoSpec, find_linli, pass, request, sign_in_as, start_server, stop_and_report,
    temp_data_dir,
};

#[derive(Args, Debug, Clone)]
pub struct SweepsArgs {
    /// Households in the street swept (the demo's are topped up to this many).
    #[arg(long, default_value_t = 40_000)]
    households: usize,
    /// Campaigns started over the whole street (the slowest is the figure).
    #[arg(long, default_value_t = 3)]
    starts: usize,
    /// Demo size (the target is for a street).
    #[arg(long, default_value = "street")]
    size: String,
    /// Serve the demo from this folder, building it there first if it holds none, and keep it.
    #[arg(long)]
    data: Option<PathBuf>,
}

const START_TARGET: Duration = Duration::from_secs(2);

fn open(data: &Path) -> Result<linli::store::Db> {
    linli::store::Db::open(&format!("sqlite://{}", data.join("linli.db").display()))
        .context("opening the demo database")
}

/// The admin's street, and its households after registering more in its units (copies of
/// existing households' units, cycled) until there are `want`.
fn top_up(data: &Path, want: usize) -> Result<(i64, i64)> {
    let db = open(data)?;
    let out = db.write_blocking(|c| {
        let street = c.query_i64(
            "SELECT r.place_id FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.username = 'admin'",
            &[],
        )?;
        let have = c.query_i64(
            "SELECT COUNT(*) FROM households WHERE street_id = $1",
            linli::params![street],
        )? as usize;
        if have < want {
            let units = c.query(
                "SELECT unit_id, place_path FROM households WHERE street_id = $1 ORDER BY id",
                linli::params![street],
            )?;
            let now = linli::store::now_ms();
            let rows: Vec<Vec<linli::store::Val>> = (0..want - have)
                .map(|i| {
                    let u = &units[i % units.len()];
                    linli::params![street, u.i64(0), u.str(1), now, now].to_vec()
                })
                .collect();
            for chunk in rows.chunks(5_000) {
                c.insert_many(
                    "households",
                    &["street_id", "unit_id", "place_path", "created_at", "updated_at"],
                    chunk,
                )?;
            }
        }
        let n = c.query_i64(
            "SELECT COUNT(*) FROM households WHERE street_id = $1",
            linli::params![street],
        )?;
        Ok((street, n))
    })?;
    db.close();
    Ok(out)
}

/// The baseline: one read of the street's households with their units, buildings and grids.
fn plain_read(data: &Path, street: i64) -> Result<(Duration, i64)> {
    let db = open(data)?;
    let t0 = Instant::now();
    let n = db.read_blocking(|c| {
        let rows = c.query(
            "SELECT h.id, h.unit_id, COALESCE(u.parent_id, 0), COALESCE(g.id, 0), h.place_path \
             FROM households h JOIN places u ON u.id = h.unit_id \
             LEFT JOIN places b ON b.id = u.parent_id LEFT JOIN places g ON g.id = b.parent_id \
             WHERE h.street_id = $1",
            linli::params![street],
        )?;
        Ok(rows.len() as i64)
    })?;
    let took = t0.elapsed();
    db.close();
    Ok((took, n))
}

pub fn run(args: SweepsArgs) -> Result<std::process::ExitCode> {
    let linli = find_linli()?;
    let data: DataDir = match &args.data {
        Some(p) => {
            std::fs::create_dir_all(p).with_context(|| format!("cannot create {}", p.display()))?;
            DataDir {
                path: std::path::absolute(p)?,
                keep: true,
            }
        }
        None => temp_data_dir("linli-bench-sweeps")?,
    };
    println!("linli-bench sweeps: demo size {}", args.size);
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
    let addr = server.addr;
    let prepared = top_up(&data.path, args.households)
        .and_then(|(street, n)| Ok((street, n, plain_read(&data.path, street)?)));
    let (street, households, (read_took, read_rows)) = match prepared {
        Ok(p) => p,
        Err(e) => {
            stop_and_report(&mut server);
            return Err(e);
        }
    };
    println!("  {households} households in the street");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let admin = sign_in_as(addr, "admin").await?;
        let auth = vec![(header::AUTHORIZATION, format!("Bearer {}", admin.bearer))];
        let post = |path: String, body: serde_json::Value| {
            let auth = auth.clone();
            async move {
                request(
                    addr,
                    hyper::Method::POST,
                    &path,
                    &auth,
                    Some(("application/json", body.to_string().into_bytes())),
                )
                .await
            }
        };
        // The baseline round trip.
        let t0 = Instant::now();
        let r = request(addr, hyper::Method::GET, "/healthz", &[], None).await?;
        let healthz = t0.elapsed();
        if !r.status.is_success() {
            bail!("/healthz answered {}", r.status);
        }
        let r = post(
            "/api/v1/sweeps".into(),
            serde_json::json!({
                "title": "基准测试排摸",
                "questions": [
                    {"label": "家中有无独居老人", "kind": "yes_no"},
                    {"label": "燃气报警器", "kind": "choice", "options": ["已安装", "未安装"]},
                    {"label": "常住人数", "kind": "number"}
                ],
                "places": [street],
            }),
        )
        .await?;
        if r.status.as_u16() != 201 {
            bail!("writing the campaign answered {}: {}", r.status, r.text());
        }
        let mut id = serde_json::from_slice::<serde_json::Value>(&r.body)?["id"]
            .as_i64()
            .unwrap_or(0);
        let mut slowest = Duration::ZERO;
        let mut doors = 0;
        for i in 0..args.starts.max(1) {
            if i > 0 {
                let r = post(
                    format!("/api/v1/sweeps/{id}/repeat"),
                    serde_json::json!({"title": format!("基准测试排摸 {}", i + 1)}),
                )
                .await?;
                if r.status.as_u16() != 201 {
                    bail!("repeating answered {}: {}", r.status, r.text());
                }
                id = serde_json::from_slice::<serde_json::Value>(&r.body)?["id"]
                    .as_i64()
                    .unwrap_or(0);
            }
            let t0 = Instant::now();
            let r = post(format!("/api/v1/sweeps/{id}/start"), serde_json::json!({})).await?;
            let took = t0.elapsed();
            if r.status.as_u16() != 200 {
                bail!("starting answered {}: {}", r.status, r.text());
            }
            doors = serde_json::from_slice::<serde_json::Value>(&r.body)?["households"]
                .as_i64()
                .unwrap_or(0);
            println!(
                "  start {}: {doors} doors made in {:.0} ms",
                i + 1,
                took.as_secs_f64() * 1000.0
            );
            slowest = slowest.max(took);
        }
        let t0 = Instant::now();
        let r = request(
            addr,
            hyper::Method::GET,
            &format!("/api/v1/sweeps/{id}/progress"),
            &auth,
            None,
        )
        .await?;
        let progress = t0.elapsed();
        if !r.status.is_success() {
            bail!("progress answered {}: {}", r.status, r.text());
        }
        anyhow::Ok((slowest, doors, healthz, progress))
    });
    stop_and_report(&mut server);
    let (slowest, doors, healthz, progress) = result?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!();
    println!("| measure | figure | target | |");
    println!("| --- | --- | --- | --- |");
    let ok = slowest < START_TARGET && doors as usize >= args.households.min(households as usize);
    println!(
        "| start a sweep over the street ({doors} households), slowest of {} | {:.0} ms ({:.1}× the plain read) | < 2,000 ms | {} |",
        args.starts.max(1),
        ms(slowest),
        slowest.as_secs_f64() / read_took.as_secs_f64().max(1e-6),
        pass(ok)
    );
    println!(
        "| plain read of the same {read_rows} households with units, buildings, grids (baseline) | {:.0} ms | | |",
        ms(read_took)
    );
    println!(
        "| /healthz round trip (baseline) | {:.2} ms | | |",
        ms(healthz)
    );
    println!(
        "| progress by grid and building over {doors} doors | {:.0} ms | | |",
        ms(progress)
    );
    Ok(if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}
