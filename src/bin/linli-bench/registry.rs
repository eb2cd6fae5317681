//! `linli-bench registry`: the registry issue's targets, each measured on the real binary.
//!
//! 1. Import of a generated XLSX of `--rows` new residents (100,000 by default) into a street
//!    demo with `linli import persons` — a dry run, then the apply — on SQLite (target: both
//!    together under 30 s).
//! 2. Export of at least that many residents to XLSX with `linli export persons` (target: under
//!    15 s for 100,000 rows).
//! 3. Search on the `--size` demo (district by default, about 1.2 million residents) at 16
//!    concurrent clients: by name fragment, by ID number, by phone and by filters, as a street
//!    administrator and as a district administrator, each beside the `/healthz` baseline of
//!    the same run (target: p99 under 50 ms).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use hyper::header::{self, HeaderValue};

use super::{
    DataDir, DemoSpec, Load, PASSWORD, Scenario, find_linli, ms, pass, run_linli, run_scenario,
    sign_in, start_server, stop_and_report, temp_data_dir,
};

#[derive(Args, Debug, Clone)]
pub struct RegistryArgs {
    /// Rows in the generated import file.
    #[arg(long, default_value_t = 100_000)]
    rows: usize,
    /// Demo size for the search measurement: small, street or district.
    #[arg(long, default_value = "district")]
    size: String,
    /// Measured seconds per search scenario.
    #[arg(long, default_value_t = 8.0)]
    seconds: f64,
    /// Concurrent clients for the searches.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Skip the import and export part.
    #[arg(long)]
    search_only: bool,
    /// Skip the search part.
    #[arg(long)]
    import_only: bool,
    /// Serve the search demo from this folder, building it there first if it holds none, and
    /// keep it (a district takes minutes to build; a second run reuses it).
    #[arg(long)]
    data: Option<std::path::PathBuf>,
}

/// Units of the demo street: (address, path).
fn street_units(data: &Path) -> Result<(String, Vec<String>)> {
    let db = linli::store::Db::open(&format!("sqlite://{}", data.join("linli.db").display()))
        .context("opening the demo database")?;
    let (street, units) = db.read_blocking(|c| {
        let street = c
            .query_one(
                "SELECT path FROM places WHERE kind = 'street' ORDER BY id LIMIT 1",
                &[],
            )?
            .str(0);
        let units = c
            .query(
                "SELECT address FROM places WHERE kind = 'unit' AND path LIKE $1 ORDER BY id",
                linli::params![format!("{street}/%")],
            )?
            .iter()
            .map(|r| r.str(0))
            .collect::<Vec<_>>();
        Ok((street, units))
    })?;
    db.close();
    Ok((street, units))
}

fn write_xlsx(path: &Path, rows: usize, units: &[String]) -> Result<()> {
    use linli::registry::idnum::IdNumber;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    // A title row above the header, as office sheets have.
    ws.write_string(0, 0, "某街道实有人口登记表（基准测试）")?;
    for (c, h) in [
        "序号",
        "姓名",
        "身份证号",
        "联系电话",
        "房屋",
        "与户主关系",
        "居住状态",
        "标签",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(1, c as u16, *h)?;
    }
    let surnames = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"];
    let given = [
        "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    ];
    let base = chrono::NaiveDate::from_ymd_opt(1940, 1, 1).unwrap();
    for i in 0..rows {
        let r = (i + 2) as u32;
        let birth = base + chrono::Days::new((i as u64 * 7919) % 25_000);
        // Region 320583 keeps these apart from the demo's own ID numbers.
        let id = IdNumber::build("320583", birth, (i % 997) as u16 + 1);
        let name = format!(
            "{}{}{}",
            surnames[i % 10],
            given[(i / 10) % 15],
            given[(i / 150) % 15]
        );
        ws.write_number(r, 0, (i + 1) as f64)?;
        ws.write_string(r, 1, &name)?;
        ws.write_string(r, 2, id.as_str())?;
        ws.write_string(r, 3, format!("139{:08}", i))?;
        ws.write_string(r, 4, &units[i % units.len()])?;
        ws.write_string(r, 5, if i % 3 == 0 { "户主" } else { "子女" })?;
        ws.write_string(r, 6, "常住")?;
        if i % 50 == 0 {
            ws.write_string(r, 7, "志愿者")?;
        }
    }
    wb.save(path)?;
    Ok(())
}

fn json_field(out: &[u8], key: &str) -> i64 {
    serde_json::from_slice::<serde_json::Value>(out)
        .ok()
        .and_then(|v| v[key].as_i64())
        .unwrap_or(-1)
}

fn import_export(linli: &Path, rows: usize) -> Result<()> {
    let data = temp_data_dir("linli-bench-registry")?;
    println!("\n== import and export ({} rows, SQLite)", rows);
    let (mut server, ready) = start_server(
        linli,
        &data.path,
        &DemoSpec {
            size: "street",
            seed: 1,
            env: &[],
        },
        Duration::from_secs(900),
    )?;
    println!("  street demo ready in {:.1} s", ready.as_secs_f64());
    stop_and_report(&mut server);
    let (street, units) = street_units(&data.path)?;
    // One building's worth of duplicate addresses would make the units ambiguous; keep those
    // that are unique.
    let mut seen = std::collections::HashMap::new();
    for u in &units {
        *seen.entry(u.clone()).or_insert(0) += 1;
    }
    let units: Vec<String> = units.into_iter().filter(|u| seen[u] == 1).collect();
    if units.is_empty() {
        bail!("the demo street has no units");
    }
    let file = data.path.join("bench-import.xlsx");
    let t0 = Instant::now();
    write_xlsx(&file, rows, &units)?;
    println!(
        "  wrote {} ({:.1} MB) in {:.1} s",
        file.display(),
        std::fs::metadata(&file)?.len() as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );
    let f = file.to_string_lossy().to_string();
    let (dry, out) = run_linli(
        linli,
        &data.path,
        &[
            "import",
            "persons",
            &f,
            "--scope",
            &street,
            "--dry-run",
            "--json",
        ],
    )?;
    if !out.status.success() {
        bail!("dry run failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let create = json_field(&out.stdout, "create");
    let refused = serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .ok()
        .and_then(|v| v["refused"].as_array().map(|a| a.len()))
        .unwrap_or(0);
    println!(
        "  dry run     {:>7.2} s  (create {create}, unchanged {}, refused {refused})",
        dry.as_secs_f64(),
        json_field(&out.stdout, "unchanged")
    );
    let (apply, out) = run_linli(
        linli,
        &data.path,
        &["import", "persons", &f, "--scope", &street, "--json"],
    )?;
    if !out.status.success() {
        bail!("apply failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    println!(
        "  apply       {:>7.2} s  (created {})",
        apply.as_secs_f64(),
        json_field(&out.stdout, "create")
    );
    let total = dry + apply;
    println!(
        "  import      {:>7.2} s  target < 30 s for 100,000 rows: {}",
        total.as_secs_f64(),
        pass(total.as_secs_f64() < 30.0 * rows as f64 / 100_000.0)
    );
    let (again, out) = run_linli(
        linli,
        &data.path,
        &["import", "persons", &f, "--scope", &street, "--json"],
    )?;
    println!(
        "  re-import   {:>7.2} s  (created {}, updated {}: the same file changes nothing)",
        again.as_secs_f64(),
        json_field(&out.stdout, "create"),
        json_field(&out.stdout, "update")
    );
    let xlsx = data.path.join("bench-export.xlsx");
    let x = xlsx.to_string_lossy().to_string();
    let (export, out) = run_linli(
        linli,
        &data.path,
        &["export", "persons", "--scope", &street, "--out", &x],
    )?;
    if !out.status.success() {
        bail!("export failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let exported = linli::registry::import::read(&std::fs::read(&xlsx)?, true)
        .map(|s| s.rows.len().saturating_sub(1))
        .unwrap_or(0);
    let per_100k = export.as_secs_f64() * 100_000.0 / exported.max(1) as f64;
    println!(
        "  export      {:>7.2} s  for {exported} rows ({:.1} MB XLSX) = {per_100k:.2} s per 100,000; target < 15 s: {}",
        export.as_secs_f64(),
        std::fs::metadata(&xlsx)?.len() as f64 / 1e6,
        pass(per_100k < 15.0)
    );
    drop(data);
    Ok(())
}

fn bearer(token: &str) -> Vec<(header::HeaderName, HeaderValue)> {
    vec![(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).expect("token"),
    )]
}

fn search(linli: &Path, args: &RegistryArgs) -> Result<()> {
    let data: DataDir = match &args.data {
        Some(p) => {
            std::fs::create_dir_all(p).with_context(|| format!("cannot create {}", p.display()))?;
            DataDir {
                path: p.clone(),
                keep: true,
            }
        }
        None => temp_data_dir("linli-bench-search")?,
    };
    println!(
        "\n== search on the {} demo ({} clients × {} s per scenario)",
        args.size, args.connections, args.seconds
    );
    let limit = if args.size == "district" { 3600 } else { 900 };
    let (mut server, ready) = start_server(
        linli,
        &data.path,
        &DemoSpec {
            size: &args.size,
            seed: 1,
            env: &[],
        },
        Duration::from_secs(limit),
    )?;
    println!("  demo ready in {:.1} s", ready.as_secs_f64());
    let (addr, pid) = (server.addr, server.pid());
    // A district administrator, to search across every street.
    let district = {
        let db = linli::store::Db::open(&format!(
            "sqlite://{}",
            data.path.join("linli.db").display()
        ))?;
        let keys = linli::store::keys::FieldKeys::load_or_create(&data.path.join("keys"))?;
        let r = db.read_blocking(|c| {
            let d = c.query_one("SELECT path FROM places WHERE kind = 'district'", &[])?.str(0);
            let p = c.query_one("SELECT id_number_enc, phone_enc FROM persons WHERE phone_enc IS NOT NULL ORDER BY id LIMIT 1 OFFSET 777", &[])?;
            Ok((d, p.blob(0), p.blob(1)))
        })?;
        db.close();
        let id = r.1.and_then(|b| keys.decrypt(&b)).unwrap_or_default();
        let phone = r.2.and_then(|b| keys.decrypt(&b)).unwrap_or_default();
        (r.0, id, phone)
    };
    let (district_path, id_number, phone) = district;
    let mut child = std::process::Command::new(linli)
        .arg("--data")
        .arg(&data.path)
        .args([
            "user",
            "add",
            "bench_district",
            "--role",
            "district_admin",
            "--place",
            &district_path,
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()?;
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .context("stdin")?
            .write_all(format!("{PASSWORD}\n").as_bytes())?;
    }
    // On a kept folder the account exists from an earlier run: signing in is what counts.
    let _ = child.wait()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let street = sign_in(addr).await?;
        let district_token = {
            let body = serde_json::json!({"username": "bench_district", "password": PASSWORD}).to_string();
            let r = super::request(addr, hyper::Method::POST, "/api/v1/session", &[], Some(("application/json", body.into_bytes()))).await?;
            serde_json::from_slice::<serde_json::Value>(&r.body)
                .ok()
                .and_then(|v| v["token"].as_str().map(str::to_string))
        };
        let load = || Load { warmup: 1.0, seconds: args.seconds, connections: args.connections };
        let base = run_scenario(addr, pid, Scenario::new("healthz", "baseline", "/healthz".into(), vec![]), load()).await;
        println!("  {:<34} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms", "GET /healthz (baseline)", base.rps(), ms(base.p50_us), ms(base.p99_us));
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let mut who: Vec<(&str, String)> = vec![("street admin", street.bearer.clone())];
        if let Some(t) = district_token {
            who.push(("district admin", t));
        }
        let mut worst = 0u32;
        for (role, token) in &who {
            for (name, q) in [
                ("name fragment 王", format!("q={}", enc("王"))),
                ("name fragment 建国", format!("q={}", enc("建国"))),
                ("ID number (blind index)", format!("q={id_number}")),
                ("phone (blind index)", format!("q={phone}")),
                ("filters: tag + age 80+", "tag=elderly_alone&age_min=80".to_string()),
                ("filters: presence + age band", "presence=registered_here_lives_elsewhere&age_min=18&age_max=34".to_string()),
            ] {
                let path = format!("/api/v1/persons?{q}");
                let o = run_scenario(addr, pid, Scenario::new(name, "search", path, bearer(token)), load()).await;
                worst = worst.max(o.p99_us);
                println!(
                    "  {:<34} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({:.0}% of baseline; {} errors)  {}",
                    format!("{role}: {name}"),
                    o.rps(),
                    ms(o.p50_us),
                    ms(o.p99_us),
                    100.0 * o.rps() / base.rps().max(1.0),
                    o.errors,
                    pass(o.p99_us < 50_000 && o.errors == 0)
                );
            }
        }
        println!("  worst search p99 {:.2} ms; target < 50 ms: {}", ms(worst), pass(worst < 50_000));
        anyhow::Ok(())
    });
    stop_and_report(&mut server);
    result
}

pub fn registry(args: RegistryArgs) -> Result<std::process::ExitCode> {
    if !["small", "street", "district"].contains(&args.size.as_str()) {
        bail!(
            "unknown --size {:?}: use small, street or district",
            args.size
        );
    }
    let linli = find_linli()?;
    println!("linli-bench registry");
    println!("  binary      {}", linli.display());
    if !args.search_only {
        import_export(&linli, args.rows)?;
    }
    if !args.import_only {
        search(&linli, &args)?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}
