//! `linli-bench votes`: counting an owners' vote of 5,000 owners (issue 22, target < 200 ms).
//!
//! On a fresh database (SQLite in a temporary folder, or `--pg URL`, whose vote tables are
//! used as they are): one estate-wide vote, its electorate of `--owners` electors taken by the
//! electorate's rules from `--owners` units with their owners (some owning two units, some
//! units shared, the unsold ones the developer's), frozen, and `--ballots` of them voting
//! through the store's ballot path. Then it times, `--rounds` times, what the count page does:
//! the electorate's totals, the tally, the count of art. 278, and the roll of who took part;
//! and once, building the electorate in memory. PASS when the count's p99 is under 200 ms.
//!
//! ```text
//! ./target/release/linli-bench votes [--owners 5000] [--ballots 4000] [--rounds 50] [--pg URL]
//! ```

use super::*;

use linli::registry::residents::UnitOwner;
use linli::store::{Db, Val};
use linli::votes::electorate::{self, ScopeUnit};
use linli::votes::model::{Channel, Choice, Matter, ScopeKind};
use linli::votes::store as vstore;

#[derive(Args, Debug, Clone)]
pub struct VotesArgs {
    /// Owners (electors) of the vote.
    #[arg(long, default_value_t = 5000)]
    owners: usize,
    /// Of them, how many vote.
    #[arg(long, default_value_t = 4000)]
    ballots: usize,
    /// Times the count is taken.
    #[arg(long, default_value_t = 50)]
    rounds: usize,
    /// Measure on this PostgreSQL database instead of a temporary SQLite file.
    #[arg(long)]
    pg: Option<String>,
}

/// The target: the count of a 5,000-owner vote.
const TARGET_MS: f64 = 200.0;

/// Units and owners of an estate: every tenth owner owns two units, every seventh unit is
/// shared by two, every fiftieth unsold.
fn estate(owners: usize) -> (Vec<ScopeUnit>, Vec<UnitOwner>) {
    let mut units = Vec::new();
    let mut rows = Vec::new();
    let mut person = 1_000_000i64;
    let mut id = 1i64;
    while units.len() < owners {
        let unit = |id: i64| ScopeUnit {
            id,
            label: format!("{}号楼 {}室", id / 100 + 1, id % 100),
            area_m2: Some(60.0 + (id % 90) as f64 + 0.37),
        };
        if id % 50 == 0 {
            units.push(unit(id));
            id += 1;
            continue;
        }
        person += 1;
        let name = format!("业主{person}");
        units.push(unit(id));
        rows.push(UnitOwner {
            unit_id: id,
            person_id: person,
            name: name.clone(),
        });
        if id % 7 == 0 {
            rows.push(UnitOwner {
                unit_id: id,
                person_id: person + 5_000_000,
                name: format!("共有{person}"),
            });
        }
        if person % 10 == 0 {
            id += 1;
            units.push(unit(id));
            rows.push(UnitOwner {
                unit_id: id,
                person_id: person,
                name,
            });
        }
        id += 1;
    }
    (units, rows)
}

fn p99(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 * 0.99).ceil() as usize)
        .saturating_sub(1)
        .min(v.len() - 1)]
}

pub fn run(args: VotesArgs) -> Result<ExitCode> {
    let dir = tempfile_dir()?;
    let url = match &args.pg {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", dir.join("bench.db").display()),
    };
    let db = Db::open(&url).map_err(|e| anyhow!("{e}"))?;
    db.migrate_blocking().map_err(|e| anyhow!("{e}"))?;

    // Units enough for `--owners` electors (some own two units, some share one).
    let mut n = args.owners;
    let (units, owners) = loop {
        let (units, owners) = estate(n);
        let got = electorate::electors(&units, &owners).len();
        if got >= args.owners {
            break (units, owners);
        }
        n += args.owners - got;
    };
    let t0 = Instant::now();
    let electors = electorate::electors(&units, &owners);
    let build_ms = t0.elapsed().as_secs_f64() * 1000.0;
    println!(
        "electorate: {} units, {} owner rows → {} electors in {build_ms:.1} ms (in memory)",
        units.len(),
        owners.len(),
        electors.len()
    );

    let now = linli::store::now_ms();
    let (vote, user) = db
        .write_blocking(|c| {
            let street = c.query_i64(
                "INSERT INTO places (street_id, parent_id, kind, code, name, path, depth, created_at) \
                 VALUES (NULL, NULL, 'street', 'bench', '测试街道', $1, 1, $2) RETURNING id",
                &[Val::Text(format!("bench-votes-{now}")), Val::Int(now)],
            )?;
            let name = linli::org::users::Username::parse(&format!("bench{}", now % 1_000_000))
                .map_err(|e| linli::store::StoreError::Db(e.to_string()))?;
            let user = linli::org::users::create(
                c,
                linli::org::users::NewUser {
                    username: &name,
                    display_name: "bench",
                    password_hash: "-",
                    street_id: Some(street),
                    person_id: None,
                    created_by: None,
                },
            )?;
            let id = vstore::insert(
                c,
                &vstore::NewVote {
                    street_id: street,
                    title: "选聘物业服务企业",
                    matter: Matter::Item4,
                    scope_kind: ScopeKind::Estate,
                    building_id: None,
                    stairwell_no: None,
                    estate: Some("测试小区"),
                    place_path: &format!("bench-votes-{now}"),
                    scope_label: "测试小区",
                    secret: false,
                    opens_at: now - 1000,
                    closes_at: now + 86_400_000,
                    template: None,
                    created_by: user,
                    now,
                },
            );
            let id = id?;
            let v = vstore::get(c, id)?.ok_or_else(|| linli::store::StoreError::Db("no vote".into()))?;
            vstore::freeze(c, &v, &electors, now)?;
            Ok((v, user))
        })
        .map_err(|e| anyhow!("{e}"))?;
    let stored = db
        .read_blocking(|c| vstore::electors(c, vote.id))
        .map_err(|e| anyhow!("{e}"))?;
    let t1 = Instant::now();
    for (i, e) in stored.iter().take(args.ballots).enumerate() {
        let choice = match i % 10 {
            0..=6 => Choice::For,
            7 | 8 => Choice::Against,
            _ => Choice::Abstain,
        };
        db.write_blocking(|c| {
            vstore::record(
                c,
                &vstore::NewBallot {
                    vote: &vote,
                    elector_id: e.id,
                    area_cm2: e.area_cm2,
                    channel: if i % 4 == 0 {
                        Channel::Paper
                    } else {
                        Channel::Online
                    },
                    cast_by: e.persons.first().copied(),
                    proxy_name: None,
                    entered_by: user,
                    evidence: None,
                    choice,
                    at: now + i as i64,
                },
            )
        })
        .map_err(|e| anyhow!("{e}"))?;
    }
    println!(
        "ballots: {} recorded in {:.1} s",
        args.ballots.min(stored.len()),
        t1.elapsed().as_secs_f64()
    );

    let mut times = Vec::with_capacity(args.rounds);
    let mut last = None;
    for _ in 0..args.rounds {
        let t = Instant::now();
        let (totals, tally, roll) = db
            .read_blocking(|c| {
                Ok((
                    vstore::totals(c, vote.id)?,
                    vstore::tally(c, vote.id)?,
                    vstore::electors(c, vote.id)?,
                ))
            })
            .map_err(|e| anyhow!("{e}"))?;
        let o = linli::votes::count(vote.matter, &totals, &tally);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        last = Some((o, totals, roll.len()));
    }
    let p = p99(times.clone());
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    if let Some((o, totals, roll)) = last {
        println!(
            "count: {} electors, {} m² in cm² {}, took part {} heads; quorum {}, approved {}; roll {roll} lines",
            totals.heads,
            totals.area_cm2 / 10_000,
            totals.area_cm2,
            o.heads_participation.part,
            o.quorum,
            o.approved
        );
    }
    println!(
        "count of {} owners: mean {mean:.1} ms, p99 {p:.1} ms (target < {TARGET_MS} ms): {}",
        electors.len(),
        if p < TARGET_MS { "PASS" } else { "FAIL" }
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(ExitCode::SUCCESS)
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "linli-bench-votes-{}-{}",
        std::process::id(),
        linli::store::now_ms()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
