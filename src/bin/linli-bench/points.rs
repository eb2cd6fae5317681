//! `linli-bench points`: the balances of 10,000 volunteers listed (issue 25: < 100 ms p99).
//!
//! On a fresh database (SQLite in a temporary folder, or `--pg URL`): `--people` person
//! accounts under one community, each credited `--earnings` times through the ledger's earning
//! path (two entries a time), then the organiser's balances list (`ledger::balances`, a SUM
//! per account over the entries' index) read `--rounds` times. Baseline in the same run: one
//! `COUNT(*)` of the accounts.
//!
//! ```text
//! ./target/release/linli-bench points [--people 10000] [--earnings 5] [--rounds 50] [--pg URL]
//! ```

use super::*;

use linli::store::Db;
use linli::volunteering::ledger::{self, Txn};

#[derive(Args, Debug, Clone)]
pub struct PointsArgs {
    /// Volunteers with an account.
    #[arg(long, default_value_t = 10_000)]
    people: i64,
    /// Earnings per volunteer.
    #[arg(long, default_value_t = 5)]
    earnings: i64,
    /// Times the list is read.
    #[arg(long, default_value_t = 50)]
    rounds: usize,
    /// Measure on this PostgreSQL database instead of a temporary SQLite file.
    #[arg(long)]
    pg: Option<String>,
}

const LIST_TARGET_MS: f64 = 100.0;

fn pct(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 * q).ceil() as usize)
        .saturating_sub(1)
        .min(v.len() - 1)]
}

pub fn run(args: PointsArgs) -> Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!(
        "linli-bench-points-{}-{}",
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
    let (street, community) = (1_i64, "310115/310115004/c01".to_string());
    let t = Instant::now();
    let path = community.clone();
    db.write_tx_blocking(|c| -> linli::kernel::error::AppResult<()> {
        let now = linli::store::now_ms();
        let issuing = ledger::account(c, street, "issuing", 1, &path, now)?;
        for u in 0..args.people {
            let a = ledger::account(c, street, "person", 1_000 + u, &path, now)?;
            for k in 0..args.earnings {
                let txn = Txn {
                    street_id: street,
                    kind: "earn",
                    community_path: &path,
                    reverses: None,
                    reason: "bench",
                    by: 1,
                };
                ledger::earn(c, &txn, issuing, a, 10 + k, now)?;
            }
        }
        Ok(())
    })
    .map_err(|e| anyhow!("{}", e.key))?;
    println!(
        "points: {} accounts, {} entries written in {:.1} s",
        args.people,
        args.people * args.earnings * 2,
        t.elapsed().as_secs_f64()
    );
    let paths = vec![community];
    let mut base = Vec::new();
    let mut list = Vec::new();
    for _ in 0..args.rounds {
        let t = Instant::now();
        db.read_blocking(|c| c.query_i64("SELECT COUNT(*) FROM vol_accounts", &[]))
            .map_err(|e| anyhow!("{e}"))?;
        base.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let got = db
            .read_blocking(|c| ledger::balances(c, street, &paths, 10_000))
            .map_err(|e| anyhow!("{e}"))?;
        list.push(t.elapsed().as_secs_f64() * 1000.0);
        if got.len() as i64 != args.people.min(10_000) {
            bail!("the list holds {} balances", got.len());
        }
    }
    let p99 = pct(list.clone(), 0.99);
    println!(
        "balances of {} volunteers: p50 {:.1} ms, p99 {:.1} ms (target < {LIST_TARGET_MS} ms: {}); \
         baseline COUNT(*) p99 {:.2} ms",
        args.people.min(10_000),
        pct(list, 0.5),
        p99,
        if p99 < LIST_TARGET_MS { "PASS" } else { "FAIL" },
        pct(base, 0.99)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(ExitCode::SUCCESS)
}
