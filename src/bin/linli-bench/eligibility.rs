//! `linli-bench eligibility`: previewing an eligibility rule over a street of 1.2 million
//! persons (issue 23 part 6, target < 2 s).
//!
//! On a fresh database (SQLite in a temporary folder, or `--pg URL`): one street of twelve
//! communities with `--persons` persons (birth dates spread over a century, two in a hundred
//! with the disability tag, three in a hundred elderly living alone, one in fifty gone). Then
//! it times, `--rounds` times each, what the preview does (`eligibility::service::reach`: the
//! condition parsed, the persons found, counted per community, a masked sample) for four
//! conditions from narrow to everyone, beside a baseline taken in the same run: a plain
//! `COUNT(*)` of the street's persons. PASS when every condition's slowest round is under 2 s.
//!
//! ```text
//! ./target/release/linli-bench eligibility [--persons 1200000] [--rounds 3] [--pg URL]
//! ```

use super::*;

use linli::store::{Db, Val};

#[derive(Args, Debug, Clone)]
pub struct EligibilityArgs {
    /// Persons in the street.
    #[arg(long, default_value_t = 1_200_000)]
    persons: usize,
    /// Times each condition is previewed.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Measure on this PostgreSQL database instead of a temporary SQLite file.
    #[arg(long)]
    pg: Option<String>,
}

const TARGET_MS: f64 = 2000.0;

pub fn run(args: EligibilityArgs) -> Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!(
        "linli-bench-eligibility-{}-{}",
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
    let root = format!("bench{}", now % 1_000_000);
    let t0 = Instant::now();
    let persons = args.persons;
    let street = db
        .write_blocking(move |c| {
            let street = c.query_i64(
                "INSERT INTO places (street_id, parent_id, kind, code, name, path, depth, created_at) \
                 VALUES (NULL, NULL, 'street', $1, '测试街道', $1, 0, $2) RETURNING id",
                &[Val::Text(root.clone()), Val::Int(now)],
            )?;
            c.exec(
                "UPDATE places SET street_id = $1 WHERE id = $1",
                &[Val::Int(street)],
            )?;
            for k in 0..12 {
                c.exec(
                    "INSERT INTO places (street_id, parent_id, kind, code, name, path, depth, created_at) \
                     VALUES ($1, $1, 'community', $2, $3, $4, 1, $5)",
                    &[
                        Val::Int(street),
                        Val::Text(format!("c{k:02}")),
                        Val::Text(format!("第{}社区", k + 1)),
                        Val::Text(format!("{root}/c{k:02}")),
                        Val::Int(now),
                    ],
                )?;
            }
            let surnames = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"];
            let mut rows = Vec::with_capacity(10_000);
            let mut tags = Vec::new();
            for i in 0..persons {
                let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16;
                let year = 1925 + (h % 101) as i64;
                let month = 1 + (h / 101 % 12) as i64;
                let day = 1 + (h / 1212 % 28) as i64;
                let path = format!(
                    "{root}/c{:02}/g{:02}/b{:03}/u{:04}",
                    i % 12,
                    i / 12 % 8,
                    i / 96 % 300,
                    i / 28_800
                );
                rows.push(vec![
                    Val::Int(street),
                    Val::Text(path),
                    Val::Text(format!("{}{}", surnames[i % 10], i)),
                    Val::Text(if h.is_multiple_of(2) { "M" } else { "F" }.into()),
                    Val::Text(format!("{year:04}-{month:02}-{day:02}")),
                    Val::Text(if h.is_multiple_of(50) { "left" } else { "permanent" }.into()),
                    Val::Int(now),
                    Val::Int(now),
                ]);
                if rows.len() == 10_000 || i + 1 == persons {
                    c.insert_many(
                        "persons",
                        &[
                            "street_id",
                            "place_path",
                            "name",
                            "sex",
                            "birth_date",
                            "residence",
                            "created_at",
                            "updated_at",
                        ],
                        &rows,
                    )?;
                    rows.clear();
                }
            }
            let ids: Vec<i64> = c
                .query(
                    "SELECT id FROM persons WHERE street_id = $1 ORDER BY id",
                    &[Val::Int(street)],
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect();
            for id in ids {
                let tag = match id % 100 {
                    0 | 1 => "disabled",
                    2..=4 => "elderly_alone",
                    _ => continue,
                };
                tags.push(vec![
                    Val::Int(street),
                    Val::Int(id),
                    Val::Text(tag.into()),
                    Val::Text("2020-01-01".into()),
                    Val::Text("bench".into()),
                    Val::Int(now),
                ]);
                if tags.len() == 10_000 {
                    c.insert_many(
                        "person_tags",
                        &["street_id", "person_id", "tag", "valid_from", "source", "created_at"],
                        &tags,
                    )?;
                    tags.clear();
                }
            }
            if !tags.is_empty() {
                c.insert_many(
                    "person_tags",
                    &["street_id", "person_id", "tag", "valid_from", "source", "created_at"],
                    &tags,
                )?;
            }
            Ok(street)
        })
        .map_err(|e| anyhow!("{e}"))?;
    println!(
        "street: {} persons in 12 communities written in {:.1} s ({})",
        args.persons,
        t0.elapsed().as_secs_f64(),
        if args.pg.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    if args.pg.is_some() {
        db.write_blocking(|c| c.batch("ANALYZE persons; ANALYZE person_tags;"))
            .map_err(|e| anyhow!("{e}"))?;
    }

    let mut base = Vec::new();
    for _ in 0..args.rounds {
        let t = Instant::now();
        db.read_blocking(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM persons WHERE street_id = $1",
                &[Val::Int(street)],
            )
        })
        .map_err(|e| anyhow!("{e}"))?;
        base.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let base_ms = base.iter().cloned().fold(f64::MAX, f64::min);
    println!(
        "baseline: COUNT(*) of the street's persons {base_ms:.0} ms (best of {})",
        args.rounds
    );
    println!(
        "{:<36} {:>10} {:>10} {:>10} {:>8}  target",
        "condition", "reached", "best ms", "worst ms", "× base"
    );
    let mut pass = true;
    for cond in [
        "年龄 >= 80",
        "标签 = 残疾人",
        "性别 = 女 且 年龄 >= 60 且 标签 != 独居老人",
        "年龄 >= 0",
    ] {
        let mut times = Vec::new();
        let mut reached = 0;
        for _ in 0..args.rounds {
            let t = Instant::now();
            let got = db
                .read_blocking(move |c| linli::eligibility::service::reach(c, street, cond, &[]))
                .map_err(|e| anyhow!("{e}"))?
                .map_err(|r| anyhow!("{}", r.0))?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            reached = got.0;
            let per: i64 = got.1.iter().map(|c| c.count).sum();
            if per != got.0 {
                bail!(
                    "the communities' counts ({per}) do not add up to the total ({})",
                    got.0
                );
            }
        }
        let best = times.iter().cloned().fold(f64::MAX, f64::min);
        let worst = times.iter().cloned().fold(0.0, f64::max);
        let ok = worst < TARGET_MS;
        pass &= ok;
        println!(
            "{:<36} {:>10} {:>10.0} {:>10.0} {:>8.1}  {} (< {TARGET_MS:.0} ms)",
            cond,
            reached,
            best,
            worst,
            best / base_ms.max(0.001),
            if ok { "PASS" } else { "FAIL" }
        );
    }
    println!(
        "eligibility preview over {} persons: {}",
        args.persons,
        if pass { "PASS" } else { "FAIL" }
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(ExitCode::SUCCESS)
}
