//! `linli-bench sheets`: a sign-up sheet's export for the supplier (issue 25: a sheet with
//! 2,000 entries exports in < 1 s).
//!
//! On a fresh database (SQLite in a temporary folder, or `--pg URL`): one sheet of three
//! priced items with `--entries` households' entries written through the store's entry path;
//! then, `--rounds` times, what the export does — the entries read, totals per building and
//! overall, the workbook written by `sheets::service::workbook`. Baseline in the same run: the
//! bare XLSX writer (`registry::export::xlsx`) over a table of the same size.
//!
//! ```text
//! ./target/release/linli-bench sheets [--entries 2000] [--rounds 10] [--pg URL]
//! ```

use super::*;

use linli::kernel::i18n::Lang;
use linli::notices::Audience;
use linli::sheets::model::Item;
use linli::sheets::service::{BuildingTotals, Row, Totals, View};
use linli::sheets::store as sstore;
use linli::store::{Db, Val};

#[derive(Args, Debug, Clone)]
pub struct SheetsArgs {
    /// Households' entries on the sheet.
    #[arg(long, default_value_t = 2_000)]
    entries: usize,
    /// Times the export is made.
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    /// Measure on this PostgreSQL database instead of a temporary SQLite file.
    #[arg(long)]
    pg: Option<String>,
}

const EXPORT_TARGET_MS: f64 = 1_000.0;

pub fn run(args: SheetsArgs) -> Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!(
        "linli-bench-sheets-{}-{}",
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
    let items = vec![
        Item {
            name: "五常大米 5kg".into(),
            price_fen: Some(4_500),
        },
        Item {
            name: "土鸡蛋 30 枚".into(),
            price_fen: Some(2_850),
        },
        Item {
            name: "菜籽油 5L".into(),
            price_fen: Some(7_990),
        },
    ];
    let path = format!("bench-sheets-{now}");
    let n = args.entries;
    let (street, id) = db
        .write_blocking(|c| {
            let street = c.query_i64(
                "INSERT INTO places (street_id, parent_id, kind, code, name, path, depth, created_at) \
                 VALUES (NULL, NULL, 'street', 'bench', '测试街道', $1, 1, $2) RETURNING id",
                &[Val::Text(path.clone()), Val::Int(now)],
            )?;
            let to: Vec<sstore::Recipient> = (0..n)
                .map(|i| sstore::Recipient {
                    person_id: 1_000_000 + i as i64,
                    household_id: Some(2_000_000 + i as i64),
                    unit_id: None,
                    building_id: (i / 60) as i64,
                    place_path: format!("{path}/{}", i / 60),
                })
                .collect();
            let id = sstore::insert(
                c,
                &sstore::NewSheet {
                    street_id: street,
                    title: "团购",
                    intro: "",
                    items: &items,
                    audience: &Audience {
                        places: vec![street],
                        ..Audience::default()
                    },
                    audience_label: "测试街道",
                    place_path: &path,
                    deadline_at: now + 86_400_000,
                    household_limit: 3,
                    author_id: 1,
                    author: "bench",
                    author_path: &path,
                    now,
                },
                &to,
            )?;
            for (i, r) in to.iter().enumerate() {
                let lines = [(i % 2) as i64 + 1, (i % 3 == 0) as i64, 0];
                sstore::upsert(
                    c,
                    street,
                    id,
                    &format!("h:{}", r.household_id.unwrap_or(0)),
                    r,
                    &sstore::Lines {
                        lines: &lines,
                        quantity: lines.iter().sum(),
                        amount_fen: linli::sheets::model::amount(&items, &lines),
                        note: if i % 5 == 0 { "下班后取" } else { "" },
                    },
                    now,
                )?;
            }
            Ok((street, id))
        })
        .map_err(|e| anyhow!("{e}"))?;
    let _ = street;

    let mut export_ms = Vec::with_capacity(args.rounds);
    let mut base_ms = Vec::with_capacity(args.rounds);
    let mut bytes = 0;
    for _ in 0..args.rounds {
        let t = Instant::now();
        let (sheet, entries) = db
            .read_blocking(|c| Ok((sstore::get(c, id)?, sstore::entries(c, id)?)))
            .map_err(|e| anyhow!("{e}"))?;
        let sheet = sheet.ok_or_else(|| anyhow!("the sheet is gone"))?;
        let blank = || Totals {
            items: vec![0; sheet.items.len()],
            ..Totals::default()
        };
        let mut totals = blank();
        let mut buildings: Vec<BuildingTotals> = Vec::new();
        let add = |t: &mut Totals, e: &linli::sheets::Entry| {
            for (x, q) in t.items.iter_mut().zip(&e.lines) {
                *x += q;
            }
            t.quantity += e.quantity;
            t.amount_fen += e.amount_fen;
            t.households += 1;
        };
        for e in &entries {
            add(&mut totals, e);
            match buildings
                .iter_mut()
                .find(|b| b.building_id == e.building_id)
            {
                Some(b) => add(&mut b.totals, e),
                None => {
                    let mut t = blank();
                    add(&mut t, e);
                    buildings.push(BuildingTotals {
                        building_id: e.building_id,
                        name: format!("{}号楼", e.building_id + 1),
                        totals: t,
                    });
                }
            }
        }
        let rows: Vec<Row> = entries
            .into_iter()
            .map(|e| Row {
                flat: format!("{}号楼 {}室", e.building_id + 1, e.person_id % 1000),
                by: "张**".into(),
                entry: e,
            })
            .collect();
        let v = View {
            open: true,
            manages: true,
            totals,
            buildings,
            mine: None,
            my_flat: None,
            recipient: false,
            entries: None,
            corrections: Vec::new(),
            sheet,
        };
        let out = linli::sheets::service::workbook(&v, &rows, Lang::Zh)
            .map_err(|e| anyhow!("{}", e.key))?;
        export_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        bytes = out.len();

        // The bare writer over a table of the same shape.
        let table: Vec<Vec<String>> = (0..=n)
            .map(|i| (0..7).map(|j| format!("{i}-{j}")).collect())
            .collect();
        let t = Instant::now();
        let _ = linli::registry::export::xlsx(&table, "baseline").map_err(|e| anyhow!(e))?;
        base_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    export_ms.sort_by(|a, b| a.total_cmp(b));
    base_ms.sort_by(|a, b| a.total_cmp(b));
    let worst = *export_ms.last().unwrap_or(&0.0);
    let median = export_ms[export_ms.len() / 2];
    let base = base_ms[base_ms.len() / 2];
    println!(
        "sheets: export of {n} entries ({bytes} bytes): median {median:.1} ms, worst {worst:.1} ms \
         (target < {EXPORT_TARGET_MS:.0} ms) {}",
        if worst < EXPORT_TARGET_MS {
            "PASS"
        } else {
            "FAIL"
        }
    );
    println!(
        "sheets: baseline, the bare XLSX writer over {} rows × 7: median {base:.1} ms",
        n + 1
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(if worst < EXPORT_TARGET_MS {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
