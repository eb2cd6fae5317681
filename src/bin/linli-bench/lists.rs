//! `linli-bench lists`: what lists cost the audit log's subject index (issue 18, finding 15).
//!
//! A day of grid workers paging through their grids: `--viewers` workers each turn through
//! `--people` people, 50 a page, `--rounds` times. Each page is one list entry naming 50
//! people. The same day is appended twice into fresh logs in one run: once as list entries
//! (indexed once per viewer, person and day) and once as reads naming the same 50 people (a
//! read indexes every name, which is how lists were indexed before). It prints, for both,
//! the index rows written, the database size, and the append + index time per entry.
//!
//! ```text
//! ./target/release/linli-bench lists [--viewers 20] [--people 2500] [--rounds 10] [--pg URL]
//! ```

use super::*;

use linli::audit::{Action, NewEntry};

#[derive(Args, Debug, Clone)]
pub struct ListsArgs {
    /// Workers listing their grids.
    #[arg(long, default_value_t = 20)]
    viewers: u64,
    /// People in each worker's grid.
    #[arg(long, default_value_t = 2500)]
    people: u64,
    /// How often each worker pages through her whole grid in the day.
    #[arg(long, default_value_t = 10)]
    rounds: u64,
    /// Also measure on this PostgreSQL database (its audit tables are emptied first).
    #[arg(long)]
    pg: Option<String>,
}

const PAGE: u64 = 50;
/// Entries per append transaction, about what the audit writer gathers under load.
const BATCH: usize = 64;

struct Figures {
    label: String,
    entries: u64,
    names: u64,
    rows: i64,
    db_mb: Option<f64>,
    seconds: f64,
}

fn day_of_pages(args: &ListsArgs, action: Action) -> Vec<NewEntry> {
    let t = linli::store::now_ms();
    let mut out = Vec::new();
    for round in 0..args.rounds {
        for v in 0..args.viewers {
            for page in 0..args.people.div_ceil(PAGE) {
                let first = v * args.people + page * PAGE;
                let last = (first + PAGE).min((v + 1) * args.people);
                out.push(NewEntry {
                    at: t + (round * 1000 + page) as i64,
                    street_id: Some(2),
                    actor_id: Some(100 + v as i64),
                    actor: format!("wangge{v}"),
                    role: "grid_worker".into(),
                    org: None,
                    scope: vec![format!("310115/310115004/c01/g{v:04}")],
                    action,
                    subjects: (first..last).map(|p| format!("person:{p}")).collect(),
                    purpose: None,
                    request_id: "bench".into(),
                });
            }
        }
    }
    out
}

fn measure(db: &linli::store::Db, label: &str, entries: Vec<NewEntry>) -> Result<Figures> {
    let rows0 = db.read_blocking(|c| c.query_i64("SELECT COUNT(*) FROM audit_subjects", &[]))?;
    let n = entries.len() as u64;
    let names: u64 = entries.iter().map(|e| e.subjects.len() as u64).sum();
    let mut it = entries.into_iter().peekable();
    let t0 = Instant::now();
    while it.peek().is_some() {
        let batch: Vec<NewEntry> = it.by_ref().take(BATCH).collect();
        db.write_blocking(|c| linli::audit::append(c, batch))?;
    }
    let seconds = t0.elapsed().as_secs_f64();
    let rows = db.read_blocking(|c| c.query_i64("SELECT COUNT(*) FROM audit_subjects", &[]))?;
    Ok(Figures {
        label: label.into(),
        entries: n,
        names,
        rows: rows - rows0,
        db_mb: None,
        seconds,
    })
}

fn sqlite_run(args: &ListsArgs, action: Action, label: &str) -> Result<Figures> {
    let dir = temp_data_dir("linli-bench-lists")?;
    let path = dir.path.join("linli.db");
    let db = linli::store::Db::open(&format!("sqlite://{}", path.display()))?;
    db.migrate_blocking()?;
    let mut f = measure(&db, label, day_of_pages(args, action))?;
    // The database and its write-ahead log together: what the day's entries and index take.
    let wal = dir.path.join("linli.db-wal");
    f.db_mb = Some(file_mb(&path) + if wal.exists() { file_mb(&wal) } else { 0.0 });
    Ok(f)
}

fn pg_run(url: &str, args: &ListsArgs, action: Action, label: &str) -> Result<Figures> {
    let db = linli::store::Db::open(url)?;
    db.migrate_blocking()?;
    db.write_blocking(|c| {
        c.batch(
            "DELETE FROM audit_subjects; DELETE FROM audit_list_seen; DELETE FROM audit_nodes; \
             DELETE FROM audit_entries; DELETE FROM meta WHERE key = 'audit_indexed'; \
             UPDATE meta SET value = '0' WHERE key = 'audit_list_thin_from'",
        )
    })?;
    measure(&db, label, day_of_pages(args, action))
}

pub fn run(args: ListsArgs) -> Result<ExitCode> {
    let pages = args.people.div_ceil(PAGE) * args.viewers * args.rounds;
    println!(
        "a day of lists: {} workers × {} people × {} rounds = {pages} list entries of ≤ {PAGE} people",
        args.viewers, args.people, args.rounds
    );
    let mut runs = vec![
        sqlite_run(&args, Action::Read, "SQLite, every name indexed (reads)")?,
        sqlite_run(&args, Action::List, "SQLite, lists (viewer, person, day)")?,
    ];
    if let Some(url) = &args.pg {
        runs.push(pg_run(
            url,
            &args,
            Action::Read,
            "PostgreSQL, every name indexed",
        )?);
        runs.push(pg_run(url, &args, Action::List, "PostgreSQL, lists")?);
    }
    println!(
        "\n  {:<38} {:>8} {:>9} {:>10} {:>10} {:>8} {:>11}",
        "run", "entries", "names", "index rows", "rows/entry", "db MB", "µs/entry"
    );
    for f in &runs {
        println!(
            "  {:<38} {:>8} {:>9} {:>10} {:>10.2} {:>8} {:>11.1}",
            f.label,
            f.entries,
            f.names,
            f.rows,
            f.rows as f64 / f.entries.max(1) as f64,
            f.db_mb.map(|m| format!("{m:.1}")).unwrap_or("-".into()),
            f.seconds * 1e6 / f.entries.max(1) as f64
        );
    }
    let want = (args.viewers * args.people) as i64;
    let (all, lists) = (&runs[0], &runs[1]);
    println!("\ntargets");
    println!(
        "  {}  list index rows = viewers × people ({want}), not pages turned × 50: {}",
        pass(lists.rows == want),
        lists.rows
    );
    println!(
        "  {}  list append + index no slower than indexing every name: {:.1} vs {:.1} µs/entry",
        pass(lists.seconds <= all.seconds),
        lists.seconds * 1e6 / lists.entries.max(1) as f64,
        all.seconds * 1e6 / all.entries.max(1) as f64
    );
    Ok(ExitCode::SUCCESS)
}
