//! `linli-bench gates`: gate passages committed per second (issue 28: 500 per second per estate
//! sustained, every event committed) and the car park's plan of 2,000 spaces (< 50 ms).
//!
//! On a fresh database (SQLite in a temporary folder, or `--pg URL`): one estate with a car
//! barrier; `--events` passages stored through the ingestion's own path
//! (`gates::service::store_passages`), each in its own committed transaction (the worst case:
//! one passage per request), first cards, then plates in and out (stays, spaces, occupancy by
//! hour); then the same in batches of 50. Baseline in the same run: as many empty write
//! transactions (the commit alone). Then `--spaces` spaces read and drawn as SVG, `--rounds`
//! times. This measures the store and commit path, not HTTP.
//!
//! ```text
//! ./target/release/linli-bench gates [--events 5000] [--spaces 2000] [--rounds 20] [--pg URL]
//! ```

use super::*;

use linli::gates::model::{Checked, Passage, check};
use linli::gates::store as gstore;
use linli::store::{Db, Val};

#[derive(Args, Debug, Clone)]
pub struct GatesArgs {
    /// Passages per scenario.
    #[arg(long, default_value_t = 5_000)]
    events: usize,
    /// Spaces in the car park drawn.
    #[arg(long, default_value_t = 2_000)]
    spaces: usize,
    /// Times the plan is drawn.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Measure on this PostgreSQL database instead of a temporary SQLite file.
    #[arg(long)]
    pg: Option<String>,
}

const EVENTS_TARGET: f64 = 500.0;
const PLAN_TARGET_MS: f64 = 50.0;

fn passage(now: i64, i: usize, by: &str, id: String) -> Checked {
    let p = Passage {
        ts: Some(now - 1_000 + (i % 1000) as i64),
        direction: if i.is_multiple_of(2) { "in" } else { "out" }.into(),
        by: by.into(),
        id,
    };
    check(&p, now).expect("a valid passage")
}

pub fn run(args: GatesArgs) -> Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!(
        "linli-bench-gates-{}-{}",
        std::process::id(),
        linli::store::now_ms()
    ));
    std::fs::create_dir_all(&dir)?;
    let url = match &args.pg {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", dir.join("bench.db").display()),
    };
    let db = Db::open(&url).map_err(|e| anyhow!("{e}"))?;
    db.migrate_blocking().map_err(|e| anyhow!("{e}"))?;
    let now = linli::store::now_ms();
    let path = format!("bench-gates-{now}");
    let (estate, gate) = db
        .write_blocking(|c| {
            let street = c.query_i64(
                "INSERT INTO places (street_id, parent_id, kind, code, name, path, depth, created_at) \
                 VALUES (NULL, NULL, 'street', 'bench', '测试街道', $1, 1, $2) RETURNING id",
                &[Val::Text(path.clone()), Val::Int(now)],
            )?;
            let cpath = format!("{path}/c1");
            let community = c.query_i64(
                "INSERT INTO places (street_id, parent_id, kind, code, name, path, depth, created_at) \
                 VALUES ($1, $1, 'community', 'c1', '测试社区', $2, 2, $3) RETURNING id",
                &[Val::Int(street), Val::Text(cpath.clone()), Val::Int(now)],
            )?;
            let id = gstore::insert_estate(c, street, (community, &cpath), "测试小区", 30, now)?;
            let e = gstore::estate(c, id)?.expect("the estate");
            let g = gstore::insert_gate(c, &e, 1, "道闸", "barrier", now)?;
            let gate = gstore::gates_of(c, id)?
                .into_iter()
                .find(|x| x.id == g)
                .expect("the gate");
            let spaces: Vec<(String, String, i64, i64)> = (0..args.spaces)
                .map(|i| {
                    (
                        format!("P-{i:04}"),
                        ["owned", "rented", "shared", "visitor"][i % 4].to_string(),
                        (i / 50) as i64,
                        (i % 50) as i64,
                    )
                })
                .collect();
            gstore::insert_spaces(c, &e, &spaces, now)?;
            let ids: Vec<i64> = gstore::spaces(c, id)?.iter().map(|s| s.id).collect();
            for (i, s) in ids.iter().enumerate().filter(|(i, _)| i.is_multiple_of(4)) {
                gstore::assign(c, &e, *s, &format!("沪A{i:05}"), "", 1, now)?;
            }
            Ok((e, gate))
        })
        .map_err(|e| anyhow!("{e}"))?;

    let n = args.events;
    let rate = |t: Instant| n as f64 / t.elapsed().as_secs_f64();
    // Baseline: the commit alone.
    let t = Instant::now();
    for _ in 0..n {
        db.write_blocking(|c| c.query("SELECT 1", &[]).map(|_| ()))
            .map_err(|e| anyhow!("{e}"))?;
    }
    let base = rate(t);
    let mut results = Vec::new();
    for (label, by) in [("cards", "card"), ("plates", "plate")] {
        let t = Instant::now();
        for i in 0..n {
            let id = if by == "plate" {
                // Half known plates, half visitors; each in then out.
                let k = (i / 2) % 1000;
                if k.is_multiple_of(2) {
                    format!("沪A{:05}", (k * 4) % args.spaces.max(1))
                } else {
                    format!("苏E{k:05}")
                }
            } else {
                format!("C-{i}")
            };
            let p = passage(now, i, by, id);
            let g = gate.clone();
            db.write_tx_blocking(|c| linli::gates::service::store_passages(c, &g, vec![p], now))
                .map_err(|e| anyhow!("{}", e.key))?;
        }
        results.push((format!("{label}, one per transaction"), rate(t)));
    }
    let t = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(50) {
        let ps: Vec<Checked> = chunk
            .iter()
            .map(|i| passage(now, *i, "card", format!("B-{i}")))
            .collect();
        let g = gate.clone();
        db.write_tx_blocking(|c| linli::gates::service::store_passages(c, &g, ps, now))
            .map_err(|e| anyhow!("{}", e.key))?;
    }
    results.push(("cards, 50 per transaction".into(), rate(t)));
    println!("gates: baseline, empty write transactions: {base:.0}/s");
    let mut ok = true;
    for (label, r) in &results {
        let pass = *r >= EVENTS_TARGET;
        ok &= pass || label.contains("50 per");
        println!(
            "gates: {n} passages ({label}): {r:.0} committed/s, {:.0}% of the baseline (target ≥ {EVENTS_TARGET:.0}/s) {}",
            r * 100.0 / base,
            if pass { "PASS" } else { "FAIL" }
        );
    }

    let t_ = linli::kernel::i18n::Tr(linli::kernel::i18n::Lang::Zh);
    let mut ms = Vec::with_capacity(args.rounds);
    let mut bytes = 0;
    for _ in 0..args.rounds {
        let t = Instant::now();
        let id = estate.id;
        let spaces = db
            .read_blocking(|c| gstore::spaces(c, id))
            .map_err(|e| anyhow!("{e}"))?;
        let svg = linli::gates::service::plan_svg(&spaces, &t_);
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        bytes = svg.len();
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    let worst = *ms.last().unwrap_or(&0.0);
    let plan_ok = worst < PLAN_TARGET_MS;
    println!(
        "gates: plan of {} spaces ({bytes} bytes, read and drawn): median {:.1} ms, worst {worst:.1} ms (target < {PLAN_TARGET_MS:.0} ms) {}",
        args.spaces,
        ms[ms.len() / 2],
        if plan_ok { "PASS" } else { "FAIL" }
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(if ok && plan_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
