//! `linli-bench jobs`: what each periodic job of a running server costs per run, on a copy of
//! a data folder (`linli demo --size street` leaves one in ./linli-data). Each job's own
//! function is timed as the server calls it, a few runs each; multiplied by how often the
//! server runs it, that is the job's share of an idle server's minute.
//!
//! Then one minute of audited reads is appended (`--minute-entries`, 1,000 a second by
//! default) and the jobs that follow the log (anomaly scan, tree head) are timed again.
//!
//! ```text
//! ./target/release/linli-bench jobs [--data ./linli-data] [--runs 5] [--minute-entries 60000]
//! ```

use super::*;

use linli::audit::{Action, NewEntry};
use linli::store::Db;

#[derive(Args, Debug, Clone)]
pub struct JobsArgs {
    /// The data folder to copy (its linli.db and keys); no server may be running on it.
    #[arg(long, default_value = "./linli-data")]
    data: PathBuf,
    /// Timed runs of each job.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Audit entries appended before the second round: one minute's worth at 1,000 a second.
    #[arg(long, default_value_t = 60_000)]
    minute_entries: u64,
}

/// One job's timings.
struct Timed {
    name: &'static str,
    /// Seconds between runs in the server.
    every: f64,
    runs: Vec<Duration>,
    note: String,
}

impl Timed {
    fn median(&self) -> Duration {
        let mut v = self.runs.clone();
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or_default()
    }
}

async fn time<T, F, Fut>(runs: usize, mut f: F) -> Result<(Vec<Duration>, T)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, linli::store::StoreError>>,
{
    let mut out = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        let v = f().await?;
        out.push(t0.elapsed());
        last = Some(v);
    }
    Ok((out, last.expect("at least one run")))
}

/// The anomaly scan `runs` times, with what its runs read and how long they held the writer.
async fn scans(db: &Db, rules: &linli::audit::anomaly::Rules, runs: usize) -> Result<Timed> {
    let mut t = Vec::new();
    let mut notes = Vec::new();
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        let s = linli::audit::anomaly::run(db, rules, linli::store::now_ms()).await?;
        t.push(t0.elapsed());
        notes.push(format!("{}/{:.2}", s.read, s.writing.as_secs_f64() * 1e3));
    }
    Ok(Timed {
        name: "audit anomaly scan",
        every: 60.0,
        runs: t,
        note: format!("entries read/writer ms per run: {}", notes.join(" ")),
    })
}

fn copy_data(from: &Path, to: &Path) -> Result<()> {
    for f in ["linli.db", "linli.db-wal"] {
        let src = from.join(f);
        if src.exists() {
            std::fs::copy(&src, to.join(f))
                .with_context(|| format!("cannot copy {}", src.display()))?;
        }
    }
    let keys = from.join("keys");
    std::fs::create_dir_all(to.join("keys"))?;
    for e in std::fs::read_dir(&keys).with_context(|| format!("cannot read {}", keys.display()))? {
        let e = e?;
        std::fs::copy(e.path(), to.join("keys").join(e.file_name()))?;
    }
    Ok(())
}

fn report(jobs: &[Timed]) {
    println!(
        "\n    {:<34} {:>8} {:>10} {:>10} {:>10} {:>12}",
        "job", "every s", "first ms", "median ms", "max ms", "ms per min"
    );
    for j in jobs {
        let max = j.runs.iter().max().copied().unwrap_or_default();
        let first = j.runs.first().copied().unwrap_or_default();
        println!(
            "    {:<34} {:>8} {:>10.3} {:>10.3} {:>10.3} {:>12.3}  {}",
            j.name,
            j.every,
            first.as_secs_f64() * 1e3,
            j.median().as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            j.median().as_secs_f64() * 1e3 * 60.0 / j.every,
            j.note
        );
    }
}

pub fn run(args: JobsArgs) -> Result<ExitCode> {
    if !args.data.join("linli.db").exists() {
        bail!(
            "{} has no linli.db: build a demo first (linli --data DIR demo --size street --build-only)",
            args.data.display()
        );
    }
    let tmp = temp_data_dir("linli-bench-jobs")?;
    copy_data(&args.data, &tmp.path)?;
    println!("linli-bench jobs");
    println!(
        "  data        {} (copied to {})",
        args.data.display(),
        tmp.path.display()
    );
    let db_path = tmp.path.join("linli.db");
    let url = format!("sqlite://{}", db_path.display());
    let db = Db::open(&url)?;
    db.migrate_blocking()?;
    let (entries, cases, devices) = db.read_blocking(|c| {
        Ok((
            linli::audit::size(c)?,
            c.query_i64("SELECT COUNT(*) FROM cases", &[])?,
            c.query_i64("SELECT COUNT(*) FROM devices", &[])?,
        ))
    })?;
    println!(
        "  database    {:.0} MB; {entries} audit entries, {cases} cases, {devices} devices; {} timed runs per job",
        file_mb(&db_path),
        args.runs
    );
    let cfg = linli::config::Config {
        data_dir: tmp.path.clone(),
        database_url: linli::config::Secret::new(url.clone()),
        ..linli::config::Config::default()
    };
    let keys = linli::store::keys::FieldKeys::load_or_create(&cfg.keys_dir())?;
    let log_key = linli::audit::LogKey::load_or_create(&cfg.keys_dir())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let runs = args.runs;
    let minute = args.minute_entries;
    rt.block_on(async move {
        let state = linli::app::state(db.clone(), cfg, keys, log_key);
        let rules = state.cfg.anomaly.clone();
        let mut jobs = Vec::new();
        println!("\n  round 1: an idle server (nothing appended since the last run)");

        // The watcher, every 60 s: subject index flush, anomaly scan, retention check.
        let (r, _) = time(runs, || state.audit.flush_index()).await?;
        jobs.push(Timed {
            name: "audit subject index flush",
            every: 60.0,
            runs: r,
            note: "writer only if rows wait".into(),
        });
        jobs.push(scans(&state.db, &rules, runs).await?);
        let (r, _) = time(runs, || state.db.read(linli::privacy::retention::due)).await?;
        jobs.push(Timed {
            name: "retention: due?",
            every: 60.0,
            runs: r,
            note: "on the writer in the watcher".into(),
        });
        let tags = state.cfg.retention_tag_days.clone();
        let today = chrono::Local::now().date_naive();
        let (r, p) = time(1, || {
            let tags = tags.clone();
            state
                .db
                .write(move |c| linli::privacy::retention::purge(c, &tags, today))
        })
        .await?;
        jobs.push(Timed {
            name: "retention purge",
            every: 86_400.0,
            runs: r,
            note: format!("daily; {} tags, {} sessions", p.tags, p.sessions),
        });
        // The signer, every 300 s.
        let (r, _) = time(runs, || state.audit.sign_head()).await?;
        jobs.push(Timed {
            name: "audit tree head (signer)",
            every: 300.0,
            runs: r,
            note: "first run signs what no head covers".into(),
        });
        // The heartbeat, every 30 s.
        let me = state.instance.clone();
        let (r, _) = time(runs, || {
            let me = me.clone();
            state.db.write(move |c| {
                let now = linli::store::now_ms();
                linli::store::instances::beat(c, &me, now)?;
                linli::registry::import_jobs::mark_interrupted(c, now)
            })
        })
        .await?;
        jobs.push(Timed {
            name: "instance heartbeat",
            every: 30.0,
            runs: r,
            note: "writer".into(),
        });
        // The cases jobs: the deadline sweep every 30 s, terms and webhooks every 5 s.
        let (r, s) = time(runs, || {
            let now = linli::store::now_ms();
            state
                .db
                .write(move |c| linli::cases::escalation::sweep(c, now))
        })
        .await?;
        jobs.push(Timed {
            name: "case deadline sweep",
            every: 30.0,
            runs: r,
            note: format!("first run catches up; last looked at {}", s.looked_at),
        });
        let (r, _) = time(runs, || {
            linli::cases::dedupe::complete_partial_terms(&state.db)
        })
        .await?;
        jobs.push(Timed {
            name: "case terms completion",
            every: 5.0,
            runs: r,
            note: "reader; writer only with work".into(),
        });
        let (r, _) = time(runs, || {
            linli::cases::notify::deliver_due(
                &state.db,
                &state.cfg.webhook_allow,
                linli::store::now_ms(),
            )
        })
        .await?;
        jobs.push(Timed {
            name: "webhook deliveries",
            every: 5.0,
            runs: r,
            note: "writer".into(),
        });
        // Sensing: timers every 0.5 s, their re-arming every 60 s, rules reloaded every 30 s,
        // housekeeping every 600 s.
        let (r, _) = time(runs, || linli::sensing::rules::tick(&state)).await?;
        jobs.push(Timed {
            name: "sensing timers tick",
            every: 0.5,
            runs: r,
            note: "reader; writer only when due".into(),
        });
        let (r, n) = time(runs, || linli::sensing::rules::sync_now(&state)).await?;
        jobs.push(Timed {
            name: "sensing timers sync",
            every: 60.0,
            runs: r,
            note: format!("{n} timers armed"),
        });
        let (r, _) = time(runs, || linli::sensing::of(&state).reload_rules(&state.db)).await?;
        jobs.push(Timed {
            name: "sensing rules reload",
            every: 30.0,
            runs: r,
            note: "reader".into(),
        });
        let (raw, hourly) = (state.cfg.sensing_raw_days, state.cfg.sensing_hourly_days);
        let (r, p) = time(runs, || {
            linli::sensing::housekeeping::run_pass(&state, linli::store::now_ms(), raw, hourly)
        })
        .await?;
        jobs.push(Timed {
            name: "sensing housekeeping",
            every: 600.0,
            runs: r,
            note: format!("first run catches up; last rolled {} hours", p.hours),
        });
        report(&jobs);
        let per_min: f64 = jobs
            .iter()
            .map(|j| j.median().as_secs_f64() * 60.0 / j.every)
            .sum();
        println!(
            "    all jobs, medians: {:.1} ms of work per idle minute",
            per_min * 1e3
        );

        // Round 2: a minute of audited reads.
        println!(
            "\n  round 2: after {minute} audited reads (a minute at {:.0}/s)",
            minute as f64 / 60.0
        );
        let actors: Vec<i64> = state
            .db
            .read(|c| {
                Ok(c.query("SELECT id FROM users ORDER BY id LIMIT 20", &[])?
                    .iter()
                    .map(|r| r.i64(0))
                    .collect())
            })
            .await?;
        let now = linli::store::now_ms();
        let mut entries: Vec<NewEntry> = (0..minute)
            .map(|i| NewEntry {
                at: now - 60_000 + (i as i64 * 60_000 / minute.max(1) as i64),
                street_id: Some(2),
                actor_id: actors.get(i as usize % actors.len().max(1)).copied(),
                actor: "bench".into(),
                role: "grid_worker".into(),
                org: None,
                scope: Vec::new(),
                action: Action::Read,
                subjects: vec![
                    format!("person:{}", 1 + i % 5000),
                    format!("household:{}", 1 + i % 2000),
                ],
                purpose: None,
                request_id: "jobs".into(),
            })
            .collect();
        let t0 = Instant::now();
        while !entries.is_empty() {
            let batch: Vec<NewEntry> = entries.drain(..entries.len().min(4096)).collect();
            state
                .db
                .write(move |c| linli::audit::append(c, batch))
                .await?;
        }
        println!("    appended in {:.2} s", t0.elapsed().as_secs_f64());
        let mut jobs = Vec::new();
        jobs.push(scans(&state.db, &rules, runs).await?);
        let (r, _) = time(runs, || state.audit.sign_head()).await?;
        jobs.push(Timed {
            name: "audit tree head (signer)",
            every: 300.0,
            runs: r,
            note: "first run covers the minute".into(),
        });
        report(&jobs);
        anyhow::Ok(())
    })?;
    drop(rt);
    Ok(ExitCode::SUCCESS)
}
