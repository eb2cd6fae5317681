//! `linli-bench cases`: the targets of the cases issue.
//!
//! 1. Case creation over the JSON API against the `/healthz` baseline of the same run
//!    (`linli demo`, 64 keep-alive connections): at least 25% of its req/s, p99 < 50 ms.
//!    Beside it, the floor: the same signed-in JSON request to a bench-only route that stores
//!    one row durably and does nothing else (served with `LINLI_BENCH_FLOOR=1`), so each run
//!    shows how much of what intake costs is intake's own work.
//! 2. The escalation sweep over a table of 1,000,000 open cases (in-process, SQLite): the
//!    watcher only reads cases whose next alarm is due, so it is measured with none due (the
//!    usual tick) and with `--due` of them due at once (after downtime).
//!    Each open case carries `--tasks` co-handlers' tasks (joint handling, issue 26), the
//!    tasks of the due cases due too; the sweep handles cases and tasks as the deadline job
//!    does: < 5 s.
//! 3. Duplicate suggestion at intake with 100,000 open cases: p99 < 20 ms.
//! 4. The figures page's report over a street's history of `--history` cases (two months,
//!    most closed, a tenth self-governed, a few returned and re-routed, joint tasks on one in
//!    ten), as the street administrator (all time and 30 days) and a grid worker reads it:
//!    p99 < 300 ms. Beside it, in the same run, the recount the page made before the
//!    self-governed and routing sections were kept by triggers (migration 0065).
//!
//! ```text
//! cargo build --release --bins
//! ./target/release/linli-bench cases [--open 1000000] [--due 10000] [--tasks 3]
//!     [--dup-open 100000] [--history 1000000] [--seconds 10] [--connections 64] [--skip-http]
//! ```

use super::*;

use linli::cases::calendar::{self, HOUR_MS};
use linli::store::{Db, Val};

#[derive(Args, Debug, Clone)]
pub struct CasesArgs {
    /// Open cases in the table the escalation sweep runs over.
    #[arg(long, default_value_t = 1_000_000)]
    open: u64,
    /// How many of them are due when the sweep runs (catching up after downtime).
    #[arg(long, default_value_t = 10_000)]
    due: u64,
    /// Co-handlers' tasks on each open case in the sweep measurement.
    #[arg(long, default_value_t = 3)]
    tasks: u64,
    /// Cases in the history the figures report is measured over (0: skip it).
    #[arg(long, default_value_t = 1_000_000)]
    history: u64,
    /// Open cases for the duplicate suggestion measurement.
    #[arg(long, default_value_t = 100_000)]
    dup_open: u64,
    /// Measured seconds per HTTP scenario.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Only the in-process measurements (no `linli demo` server).
    #[arg(long)]
    skip_http: bool,
    /// Only creation over HTTP (no in-process measurements), for comparing builds.
    #[arg(long, conflicts_with = "skip_http")]
    only_http: bool,
}

const TEXTS: &[&str] = &[
    "楼下路灯不亮，晚上很黑",
    "小区东门消防通道被私家车占用",
    "楼上装修噪音太大，早上七点就开始",
    "垃圾箱旁边堆满装修垃圾没人清运",
    "电梯门关不上，运行有异响",
    "楼道里有电动车充电拉飞线",
    "井盖松动，走上去会响",
    "绿化带里的树枝挡住了路牌",
    "一套房子住了十几个人，进出很乱",
    "健身器材的螺丝松了，有安全隐患",
];

/// A building: id, path, latitude, longitude.
type Building = (i64, String, f64, f64);

/// A street with 200 buildings (points over about 2 × 2 km) and the demo catalogue.
fn setup(db: &Db) -> Result<(i64, Vec<Building>, Vec<i64>)> {
    db.migrate_blocking()?;
    let now = linli::store::now_ms();
    let out = db.write_blocking(|c| {
        c.exec(
            "INSERT INTO places (id, street_id, parent_id, kind, code, name, path, depth, created_at) VALUES (1, NULL, NULL, 'district', '310115', '区', '310115', 0, $1)",
            linli::params![now],
        )?;
        c.exec(
            "INSERT INTO places (id, street_id, parent_id, kind, code, name, path, depth, created_at) VALUES (2, 2, 1, 'street', 's1', '街道', '310115/s1', 1, $1)",
            linli::params![now],
        )?;
        let mut rows = Vec::new();
        let mut buildings = Vec::new();
        for i in 0..200i64 {
            let (lat, lon) = (31.20 + (i / 20) as f64 * 0.002, 121.50 + (i % 20) as f64 * 0.001);
            let path = format!("310115/s1/b{i}");
            rows.push(vec![
                Val::Int(10 + i),
                Val::Int(2),
                Val::Int(2),
                "building".into(),
                format!("b{i}").into(),
                format!("{i}号楼").into(),
                path.clone().into(),
                Val::Int(2),
                serde_json::json!({"type": "Point", "coordinates": [lon, lat]}).to_string().into(),
                Val::Int(now),
            ]);
            buildings.push((10 + i, path, lat, lon));
        }
        c.insert_many(
            "places",
            &["id", "street_id", "parent_id", "kind", "code", "name", "path", "depth", "geojson", "created_at"],
            &rows,
        )?;
        calendar::set_year(c, 2, 2026, &calendar::china_2026())?;
        let mut cats = Vec::new();
        for (i, code) in ["city_appearance", "facility_repair", "illegal_parking", "noise", "group_rental", "elevator", "fire_hazard", "greenery", "water_leak", "waste_sorting"].iter().enumerate() {
            let k = linli::cases::NewCategory {
                code: code.to_string(),
                name_zh: format!("分类{i}"),
                name_en: format!("Category {i}"),
                group: "g".into(),
                fields: Vec::new(),
                accept_hours: 2,
                resolve_hours: 24,
                priority: 2,
                dup_radius_m: 100,
                verify_required: true,
                public: true,
                about_people: None,
                governed_by: None,
            };
            cats.push(
                linli::cases::save_category(c, 2, &k)
                    .map_err(|e| linli::store::StoreError::Db(format!("{e:?}")))?,
            );
        }
        Ok((2i64, buildings, cats))
    })?;
    Ok(out)
}

/// Inserts `n` open cases spread over the buildings and categories; the first `due` have
/// their next alarm in the past.
fn fill(db: &Db, buildings: &[Building], cats: &[i64], n: u64, due: u64, now: i64) -> Result<()> {
    let cols = [
        "street_id",
        "category_id",
        "channel",
        "state",
        "priority",
        "description",
        "place_id",
        "place_path",
        "building_id",
        "lat",
        "lon",
        "token",
        "handler_org_id",
        "clock",
        "clock_start",
        "warn_at",
        "due_at",
        "warned",
        "level",
        "next_alarm_at",
        "created_at",
        "updated_at",
        "terms",
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // Segmented once per text, as intake does once per case.
    let segmented: std::collections::HashMap<&str, String> = TEXTS
        .iter()
        .map(|t| (*t, linli::cases::dedupe::segment(t)))
        .collect();
    let mut done = 0u64;
    while done < n {
        let batch = (n - done).min(20_000);
        let mut rows = Vec::with_capacity(batch as usize);
        for k in 0..batch {
            let i = done + k;
            let b = &buildings[(rnd() % buildings.len() as u64) as usize];
            let created = now - (rnd() % (13 * 86_400_000)) as i64;
            let (due_at, next) = if i < due {
                (now - 3_600_000, now - 1)
            } else {
                let d = now + HOUR_MS + (rnd() % (72 * HOUR_MS as u64)) as i64;
                (d, d)
            };
            let text = TEXTS[(rnd() % TEXTS.len() as u64) as usize];
            rows.push(vec![
                Val::Int(2),
                Val::Int(cats[(rnd() % cats.len() as u64) as usize]),
                "api".into(),
                "in_progress".into(),
                Val::Int(2),
                format!("{text} #{i}").into(),
                Val::Int(b.0),
                b.1.clone().into(),
                Val::Int(b.0),
                Val::Real(b.2 + (rnd() % 100) as f64 * 1e-6),
                Val::Real(b.3 + (rnd() % 100) as f64 * 1e-6),
                format!("t{i}").into(),
                Val::Null,
                "resolve".into(),
                Val::Int(created),
                Val::Int(due_at - HOUR_MS),
                Val::Int(due_at),
                Val::Int(1),
                Val::Int(0),
                Val::Int(next),
                Val::Int(created),
                Val::Int(created),
                segmented[text].clone().into(),
            ]);
        }
        db.write_blocking(|c| c.insert_many("cases", &cols, &rows))?;
        done += batch;
    }
    Ok(())
}

/// `n` handling organisations of the street (departments and property companies).
fn organisations(db: &Db, n: i64) -> Result<Vec<i64>> {
    let now = linli::store::now_ms();
    let ids = db.write_blocking(|c| {
        let rows: Vec<Vec<Val>> = (0..n)
            .map(|i| {
                vec![
                    Val::Int(2),
                    (if i % 3 == 0 { "property" } else { "department" }).into(),
                    format!("org{i}").into(),
                    format!("单位{i}").into(),
                    Val::Int(now),
                ]
            })
            .collect();
        c.insert_many(
            "organisations",
            &["street_id", "kind", "code", "name", "created_at"],
            &rows,
        )?;
        Ok(c.query("SELECT id FROM organisations ORDER BY id", &[])?
            .iter()
            .map(|r| r.i64(0))
            .collect())
    })?;
    Ok(ids)
}

/// `per_case` co-handlers' tasks on every open case (ids in order of insertion); the tasks of
/// the first `due` cases have passed their acceptance deadline.
fn fill_tasks(db: &Db, orgs: &[i64], per_case: u64, due: u64, now: i64) -> Result<()> {
    if per_case == 0 {
        return Ok(());
    }
    let cols = [
        "street_id",
        "case_id",
        "org_id",
        "task",
        "state",
        "hours",
        "created_at",
        "clock",
        "clock_start",
        "warn_at",
        "due_at",
        "next_alarm_at",
        "updated_at",
    ];
    let ids: Vec<i64> = db.read_blocking(|c| {
        Ok(c.query("SELECT id FROM cases ORDER BY id", &[])?
            .iter()
            .map(|r| r.i64(0))
            .collect())
    })?;
    for (n, chunk) in ids.chunks(5_000).enumerate() {
        let mut rows = Vec::with_capacity(chunk.len() * per_case as usize);
        for (k, &case_id) in chunk.iter().enumerate() {
            let i = (n * 5_000 + k) as u64;
            for t in 0..per_case {
                let (due_at, next) = if i < due {
                    (now - HOUR_MS, now - 1)
                } else {
                    let d = now + HOUR_MS + ((i * 7 + t * 13) % 72) as i64 * HOUR_MS;
                    (d, d - HOUR_MS / 5)
                };
                rows.push(vec![
                    Val::Int(2),
                    Val::Int(case_id),
                    Val::Int(orgs[((i + t) % orgs.len() as u64) as usize]),
                    "清理消防通道上的车辆".into(),
                    "open".into(),
                    Val::Int(24),
                    Val::Int(now - 2 * HOUR_MS),
                    "accept".into(),
                    Val::Int(now - 2 * HOUR_MS),
                    Val::Int(due_at - HOUR_MS / 5),
                    Val::Int(due_at),
                    Val::Int(next),
                    Val::Int(now - 2 * HOUR_MS),
                ]);
            }
        }
        db.write_blocking(|c| c.insert_many("case_tasks", &cols, &rows))?;
    }
    Ok(())
}

/// A street's history of `n` cases over two months, as the figures page reads it: most closed
/// (resolved in 1–120 hours, a sixth late, half rated), some rejected, a sixth open; a tenth in
/// self-governed categories (no handler); the others dispatched once, one in sixteen returned
/// and dispatched again elsewhere; a co-handler's task on one in ten. The buildings sit in 20
/// grids, so the report has areas to sum. Returns the grid paths.
fn fill_history(
    db: &Db,
    buildings: &[Building],
    cats: &[i64],
    orgs: &[i64],
    n: u64,
    now: i64,
) -> Result<Vec<String>> {
    let grids: Vec<String> = db.write_blocking(|c| {
        let mut paths = Vec::new();
        for g in 0..20i64 {
            let path = format!("310115/s1/g{g}");
            c.exec(
                "INSERT INTO places (id, street_id, parent_id, kind, code, name, path, depth, created_at) \
                 VALUES ($1, 2, 2, 'grid', $2, $3, $4, 2, $5)",
                linli::params![300 + g, format!("g{g}"), format!("第{g}网格"), path.clone(), now],
            )?;
            paths.push(path);
        }
        c.exec("UPDATE places SET parent_id = 300 + ((id - 10) % 20) WHERE kind = 'building'", &[])?;
        Ok(paths)
    })?;
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let case_cols = [
        "street_id",
        "category_id",
        "channel",
        "state",
        "priority",
        "description",
        "place_id",
        "place_path",
        "building_id",
        "token",
        "handler_org_id",
        "self_governed",
        "clock",
        "clock_start",
        "late",
        "rating",
        "resolved_at",
        "closed_at",
        "created_at",
        "updated_at",
    ];
    let ev_cols = [
        "street_id",
        "case_id",
        "at",
        "actor",
        "action",
        "from_state",
        "to_state",
    ];
    let task_cols = [
        "street_id",
        "case_id",
        "org_id",
        "task",
        "state",
        "hours",
        "created_at",
        "clock",
        "clock_start",
        "late",
        "done_at",
        "ended_at",
        "updated_at",
    ];
    let mut done = 0u64;
    let first_id: i64 = db.read_blocking(|c| {
        Ok(c.query("SELECT COALESCE(MAX(id), 0) FROM cases", &[])?[0].i64(0) + 1)
    })?;
    while done < n {
        let batch = (n - done).min(20_000);
        let (mut cases, mut events, mut tasks) = (Vec::new(), Vec::new(), Vec::new());
        for k in 0..batch {
            let i = done + k;
            let id = first_id + i as i64;
            let b = &buildings[(rnd() % buildings.len() as u64) as usize];
            let created = now - (rnd() % (60 * 86_400_000)) as i64;
            let self_governed = rnd() % 10 == 0;
            let roll = rnd() % 100;
            let took = HOUR_MS + (rnd() % (120 * HOUR_MS as u64)) as i64;
            let ends = created + took;
            let (state, resolved, closed, rating) = if roll < 16 || ends >= now {
                ("in_progress", Val::Null, Val::Null, Val::Null)
            } else if roll < 21 {
                (
                    "rejected",
                    Val::Null,
                    Val::Int(created + HOUR_MS),
                    Val::Null,
                )
            } else if roll % 2 == 0 {
                (
                    "rated",
                    Val::Int(ends),
                    Val::Int(ends),
                    Val::Int(1 + (rnd() % 5) as i64),
                )
            } else {
                ("closed", Val::Int(ends), Val::Int(ends), Val::Null)
            };
            let org = orgs[(rnd() % orgs.len() as u64) as usize];
            let returned = !self_governed && rnd() % 16 == 0;
            let handler = match (self_governed, returned) {
                (true, _) => Val::Null,
                (false, false) => Val::Int(org),
                (false, true) => Val::Int(orgs[((org as u64 + 1) % orgs.len() as u64) as usize]),
            };
            cases.push(vec![
                Val::Int(2),
                Val::Int(cats[(rnd() % cats.len() as u64) as usize]),
                "app".into(),
                state.into(),
                Val::Int(2),
                format!("{} #{i}", TEXTS[(rnd() % TEXTS.len() as u64) as usize]).into(),
                Val::Int(b.0),
                b.1.clone().into(),
                Val::Int(b.0),
                format!("h{i}").into(),
                handler,
                Val::Int(self_governed as i64),
                (if self_governed || state != "in_progress" {
                    "none"
                } else {
                    "resolve"
                })
                .into(),
                Val::Int(created),
                Val::Int((!self_governed && rnd() % 6 == 0) as i64),
                rating,
                resolved,
                closed,
                Val::Int(created),
                Val::Int(created),
            ]);
            if !self_governed {
                let ev = |at: i64, action: &str| -> Vec<Val> {
                    vec![
                        Val::Int(2),
                        Val::Int(id),
                        Val::Int(at),
                        "派单员".into(),
                        action.into(),
                        "accepted".into(),
                        "dispatched".into(),
                    ]
                };
                events.push(ev(created + HOUR_MS / 4, "dispatch"));
                if returned {
                    events.push(ev(created + HOUR_MS, "return"));
                    events.push(ev(created + HOUR_MS * 2, "dispatch"));
                }
                if rnd() % 10 == 0 {
                    let ended = state != "in_progress";
                    tasks.push(vec![
                        Val::Int(2),
                        Val::Int(id),
                        Val::Int(orgs[(rnd() % orgs.len() as u64) as usize]),
                        "配合处置".into(),
                        (if ended { "done" } else { "accepted" }).into(),
                        Val::Int(24),
                        Val::Int(created + HOUR_MS),
                        (if ended { "none" } else { "resolve" }).into(),
                        Val::Int(created + HOUR_MS),
                        Val::Int((rnd() % 8 == 0) as i64),
                        if ended {
                            Val::Int(created + took / 2)
                        } else {
                            Val::Null
                        },
                        if ended {
                            Val::Int(created + took / 2)
                        } else {
                            Val::Null
                        },
                        Val::Int(created + HOUR_MS),
                    ]);
                }
            }
        }
        db.write_blocking(|c| {
            c.insert_many("cases", &case_cols, &cases)?;
            c.insert_many("case_events", &ev_cols, &events)?;
            c.insert_many("case_tasks", &task_cols, &tasks)
        })?;
        done += batch;
    }
    Ok(grids)
}

/// The recount the figures page made before migration 0065, kept here as the same run's
/// baseline: the routing section from every dispatch and return of the period, the
/// self-governed section from every self-governed case.
fn recount(c: &mut dyn linli::store::Conn, since: i64) -> linli::store::Result<usize> {
    let routing = c.query(
        "SELECT c.category_id, c.id, c.handler_org_id, \
         SUM(CASE WHEN e.action = 'return' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN e.action = 'dispatch' THEN 1 ELSE 0 END) \
         FROM case_events e JOIN cases c ON c.id = e.case_id \
         WHERE e.street_id = 2 AND e.action IN ('return', 'dispatch') AND c.created_at >= $1 \
         GROUP BY c.category_id, c.id, c.handler_org_id",
        linli::params![since],
    )?;
    let governed = c.query(
        "SELECT state, created_at, resolved_at, rating FROM cases \
         WHERE street_id = 2 AND self_governed = 1 AND created_at >= $1",
        linli::params![since],
    )?;
    Ok(routing.len() + governed.len())
}

fn figures_bench(args: &CasesArgs, dir: &Path) -> Result<bool> {
    if args.history == 0 {
        return Ok(true);
    }
    let db = Db::open(&format!("sqlite://{}", dir.join("figures.db").display()))?;
    let (_, buildings, cats) = setup(&db)?;
    let orgs = organisations(&db, 8)?;
    let now = linli::store::now_ms();
    let t0 = Instant::now();
    let grids = fill_history(&db, &buildings, &cats, &orgs, args.history, now)?;
    println!(
        "  filled a history of {} cases (two months) in {:.1} s",
        args.history,
        t0.elapsed().as_secs_f64()
    );
    let month = now - 30 * 24 * HOUR_MS;
    let street = linli::cases::FigureReach::default();
    let grid = linli::cases::FigureReach {
        places: Some(vec![grids[3].clone()]),
        orgs: None,
    };
    let views: [(&str, Option<i64>, &linli::cases::FigureReach); 3] = [
        ("street administrator, all time", None, &street),
        ("street administrator, 30 days", Some(month), &street),
        ("grid worker, all time", None, &grid),
    ];
    let mut ok = true;
    for (label, since, reach) in views {
        let mut lat_us: Vec<u32> = Vec::new();
        let mut shape = (0usize, 0usize, 0i64);
        for _ in 0..40 {
            let t = Instant::now();
            let r = db.read_blocking(|c| linli::cases::figures(c, 2, "街道", since, reach))?;
            lat_us.push(t.elapsed().as_micros() as u32);
            shape = (
                r.organisations.len(),
                r.routing.len(),
                r.self_governed.map_or(0, |g| g.handled),
            );
        }
        lat_us.sort_unstable();
        let p99 = ms(percentile(&lat_us, 99.0));
        ok &= p99 < 300.0;
        println!(
            "  figures report, {label}: p50 {:.1} ms, p99 {:.1} ms ({} organisations, {} routing rows, {} self-governed)  [{}: p99 < 300 ms]",
            ms(percentile(&lat_us, 50.0)),
            p99,
            shape.0,
            shape.1,
            shape.2,
            pass(p99 < 300.0)
        );
    }
    let t = Instant::now();
    let rows = db.read_blocking(|c| recount(c, i64::MIN))?;
    println!(
        "  baseline, the recount of both sections before migration 0065 (all time): {:.1} ms ({rows} rows read)",
        t.elapsed().as_secs_f64() * 1000.0
    );
    db.close();
    Ok(ok)
}

fn sweep_bench(args: &CasesArgs, dir: &Path) -> Result<bool> {
    let db = Db::open(&format!("sqlite://{}", dir.join("sweep.db").display()))?;
    let (_, buildings, cats) = setup(&db)?;
    let now = linli::store::now_ms();
    let t0 = Instant::now();
    fill(&db, &buildings, &cats, args.open, args.due, now)?;
    let orgs = organisations(&db, 6)?;
    fill_tasks(&db, &orgs, args.tasks, args.due, now)?;
    println!(
        "  filled {} open cases ({} due) with {} tasks each in {:.1} s",
        args.open,
        args.due,
        args.tasks,
        t0.elapsed().as_secs_f64()
    );
    // As the deadline job runs them: the cases' clocks, then the tasks'.
    let sweep = |at: i64| -> Result<(usize, usize, usize)> {
        let s = db.write_blocking(|c| linli::cases::escalation::sweep(c, at))?;
        let t = db.write_blocking(|c| linli::cases::tasks::sweep(c, at))?;
        Ok((
            s.looked_at + t.looked_at,
            s.escalations + t.escalations,
            s.warnings + t.warnings,
        ))
    };
    let t = Instant::now();
    let (_, escalations, _) = sweep(now)?;
    let catch_up = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (looked_at, _, _) = sweep(now + 1)?;
    let tick = t.elapsed().as_secs_f64();
    db.close();
    let ok = catch_up < 5.0;
    println!(
        "  deadline sweep over {} open cases and {} tasks, {} cases and their tasks due: {:.2} s \
         ({} escalations)  [{}: < 5 s]",
        args.open,
        args.open * args.tasks,
        args.due,
        catch_up,
        escalations,
        pass(ok)
    );
    println!(
        "  the next tick (nothing due): {:.1} ms, looked at {}",
        tick * 1000.0,
        looked_at
    );
    Ok(ok)
}

fn dedupe_bench(args: &CasesArgs, dir: &Path) -> Result<bool> {
    let db = Db::open(&format!("sqlite://{}", dir.join("dedupe.db").display()))?;
    let (_, buildings, cats) = setup(&db)?;
    let now = linli::store::now_ms();
    fill(&db, &buildings, &cats, args.dup_open, 0, now)?;
    linli::cases::dedupe::warm_up();
    let mut lat_us: Vec<u32> = Vec::with_capacity(2000);
    let mut found = 0usize;
    db.read_blocking(|c| {
        for i in 0..2000usize {
            let b = &buildings[(i * 7919) % buildings.len()];
            // Timed with the segmentation of the new report, which intake also does.
            let t = Instant::now();
            let terms = linli::cases::dedupe::segment(TEXTS[i % TEXTS.len()]);
            let probe = linli::cases::dedupe::Probe {
                street_id: 2,
                category_id: cats[i % cats.len()],
                radius_m: 100,
                building_id: Some(b.0),
                lat: Some(b.2),
                lon: Some(b.3),
                terms: &terms,
                exclude: None,
            };
            let s = linli::cases::dedupe::suggest(c, &probe, now)?;
            lat_us.push(t.elapsed().as_micros() as u32);
            found += s.len();
        }
        Ok(())
    })?;
    db.close();
    lat_us.sort_unstable();
    let p99 = percentile(&lat_us, 99.0);
    let ok = ms(p99) < 20.0;
    println!(
        "  duplicate suggestion with {} open cases: p50 {:.2} ms, p99 {:.2} ms, {:.1} suggestions each  [{}: p99 < 20 ms]",
        args.dup_open,
        ms(percentile(&lat_us, 50.0)),
        ms(p99),
        found as f64 / 2000.0,
        pass(ok)
    );
    Ok(ok)
}

/// Categories of the demo catalogue without required extra fields.
const CATEGORIES: &[&str] = &[
    "illegal_parking",
    "noise",
    "waste_sorting",
    "greenery",
    "group_rental",
    "water_leak",
];

async fn post_worker(
    addr: SocketAddr,
    path: &'static str,
    token: Arc<String>,
    places: Arc<Vec<i64>>,
    start: Instant,
    end: Instant,
    seq: Arc<AtomicU64>,
) -> WorkerStats {
    let mut st = WorkerStats::default();
    let mut sender: Option<Sender> = None;
    while Instant::now() < end {
        if sender.is_none() {
            match connect(addr).await {
                Ok(s) => sender = Some(s),
                Err(e) => {
                    st.transport_errors += 1;
                    st.first_error
                        .get_or_insert_with(|| format!("connect: {e:#}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let s = sender.as_mut().expect("connected");
        let n = seq.fetch_add(1, Ordering::Relaxed);
        // Reports spread over the demo's places and categories, as a street's would be.
        let body = serde_json::json!({
            "category": CATEGORIES[(n % CATEGORIES.len() as u64) as usize],
            "description": format!("{} #{n}", TEXTS[(n / 7 % TEXTS.len() as u64) as usize]),
            "place_id": places[(n / 3 % places.len() as u64) as usize],
            "channel": "api",
        })
        .to_string();
        let req = Request::post(path)
            .header(header::HOST, addr.to_string())
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("request");
        let t0 = Instant::now();
        let res = tokio::time::timeout(REQUEST_TIMEOUT, async {
            s.ready().await?;
            let res = s.send_request(req).await?;
            let status = res.status();
            let _ = res.into_body().collect().await?;
            anyhow::Ok(status)
        })
        .await;
        let t1 = Instant::now();
        let counted = t1 >= start && t1 < end;
        match res {
            Ok(Ok(status)) => {
                if counted {
                    st.latencies.push((t1 - t0).as_micros() as u32);
                    *st.statuses.entry(status.as_u16()).or_default() += 1;
                    if status == StatusCode::CREATED {
                        st.ok += 1;
                    }
                }
            }
            _ => {
                st.transport_errors += 1;
                sender = None;
            }
        }
    }
    st
}

/// The bench-only route the server serves with `LINLI_BENCH_FLOOR=1`: a signed-in JSON POST
/// that stores one row durably and nothing else, the least any case creation can cost.
const FLOOR_PATH: &str = "/api/v1/bench/floor";

/// What 64 connections posting reports to `path` for the measured seconds got.
struct PostLoad {
    rps: f64,
    latencies: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    transport_errors: u64,
}

async fn post_load(
    addr: SocketAddr,
    path: &'static str,
    token: &Arc<String>,
    places: &Arc<Vec<i64>>,
    args: &CasesArgs,
) -> Result<PostLoad> {
    let seq = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let start = t0 + Duration::from_secs_f64(args.warmup);
    let end = start + Duration::from_secs_f64(args.seconds);
    let tasks: Vec<_> = (0..args.connections)
        .map(|_| {
            tokio::spawn(post_worker(
                addr,
                path,
                token.clone(),
                places.clone(),
                start,
                end,
                seq.clone(),
            ))
        })
        .collect();
    let mut all = WorkerStats::default();
    for t in tasks {
        let st = t.await?;
        all.latencies.extend(st.latencies);
        all.ok += st.ok;
        all.transport_errors += st.transport_errors;
        for (k, v) in st.statuses {
            *all.statuses.entry(k).or_default() += v;
        }
    }
    all.latencies.sort_unstable();
    Ok(PostLoad {
        rps: all.ok as f64 / args.seconds,
        latencies: all.latencies,
        statuses: all.statuses,
        transport_errors: all.transport_errors,
    })
}

async fn http_bench(args: &CasesArgs, dir: &Path) -> Result<bool> {
    // The bench build of the server: intake and the floor route in the same process.
    let linli = find_bench_server()?;
    let (mut server, _) = start_server(
        &linli,
        dir,
        &DemoSpec {
            size: "small",
            seed: 1,
            env: &[("LINLI_BENCH_FLOOR", "1")],
        },
        Duration::from_secs(600),
    )?;
    let addr = server.addr;
    let creds = sign_in(addr).await?;
    let token = Arc::new(creds.bearer.clone());
    let r = request(
        addr,
        Method::GET,
        "/api/v1/cases?limit=100",
        &[(header::AUTHORIZATION, format!("Bearer {token}"))],
        None,
    )
    .await?;
    let v: serde_json::Value = serde_json::from_slice(&r.body)?;
    let mut places: Vec<i64> = v
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["place_id"].as_i64()).collect())
        .unwrap_or_default();
    places.sort_unstable();
    places.dedup();
    if places.is_empty() {
        bail!("the demo has no case to take a place from: {}", r.text());
    }
    let places = Arc::new(places);
    let load = Load {
        warmup: args.warmup,
        seconds: args.seconds,
        connections: args.connections,
    };
    let base = run_scenario(
        addr,
        server.pid(),
        Scenario::new("healthz", "baseline", "/healthz".into(), Vec::new()),
        load,
    )
    .await;
    let floor = post_load(addr, FLOOR_PATH, &token, &places, args).await?;
    if floor.rps == 0.0 {
        bail!(
            "{FLOOR_PATH} stored nothing (statuses {:?}): was the server started with LINLI_BENCH_FLOOR=1?",
            floor.statuses
        );
    }
    let created = post_load(addr, "/api/v1/cases", &token, &places, args).await?;
    let p99 = ms(percentile(&created.latencies, 99.0));
    let share = created.rps / base.ok_rps();
    let ok = share >= 0.25 && p99 < 50.0 && created.transport_errors == 0;
    println!(
        "  /healthz baseline: {:.0} req/s, p99 {:.2} ms",
        base.ok_rps(),
        ms(base.p99_us)
    );
    println!(
        "  floor, {FLOOR_PATH} (the same signed-in JSON request storing one row durably): {:.0}/s ({:.0}% of baseline), p99 {:.2} ms, statuses {:?}",
        floor.rps,
        floor.rps / base.ok_rps() * 100.0,
        ms(percentile(&floor.latencies, 99.0)),
        floor.statuses,
    );
    println!(
        "  POST /api/v1/cases: {:.0} created/s ({:.0}% of baseline, {:.0}% of the floor), p50 {:.2} ms, p99 {:.2} ms, statuses {:?}, transport errors {}  [{}: ≥ 25%, p99 < 50 ms]",
        created.rps,
        share * 100.0,
        created.rps / floor.rps * 100.0,
        ms(percentile(&created.latencies, 50.0)),
        p99,
        created.statuses,
        created.transport_errors,
        pass(ok)
    );
    let key_line = server
        .stdout_lines
        .lock()
        .expect("lines")
        .iter()
        .any(|l| l.starts_with("open311 api_key: "));
    println!("  `linli demo` printed the open311 api_key line: {key_line}");
    let _ = server.stop(Duration::from_secs(30));
    Ok(ok)
}

pub fn run(args: CasesArgs) -> Result<ExitCode> {
    let dir = temp_data_dir("linli-bench-cases")?;
    println!("cases: measurements on SQLite in {}", dir.path.display());
    let mut ok = true;
    if !args.only_http {
        ok &= sweep_bench(&args, &dir.path)?;
        ok &= dedupe_bench(&args, &dir.path)?;
        ok &= figures_bench(&args, &dir.path)?;
    }
    if !args.skip_http {
        let sub = dir.path.join("server");
        std::fs::create_dir_all(&sub)?;
        let rt = tokio::runtime::Runtime::new()?;
        ok &= rt.block_on(http_bench(&args, &sub))?;
    }
    println!(
        "cases: {}",
        if ok {
            "all targets met"
        } else {
            "some targets missed"
        }
    );
    Ok(ExitCode::SUCCESS)
}
