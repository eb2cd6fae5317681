//! `linli-bench setup`: issue 21's targets (a real street on day one), each measured on the
//! real binary in a fresh data folder on SQLite.
//!
//! 1. `linli init`, then `linli import places` of a generated 台账 (XLSX, the columns the
//!    importer reads: 社区, 网格, 楼栋, 门牌, 单元, 室号, 楼层, 建筑面积, 用途) of 5,000
//!    buildings and 200,000 units under one street in four communities of four grids: the dry
//!    run, the apply (target: under 20 s) and a second import of the same file, which must
//!    change nothing.
//! 2. 10,000 households (one resident each, imported with `linli import persons`), then the
//!    worker's "print letters" form for the whole street on `linli serve`: codes issued and the
//!    print-ready HTML rendered in one request (target: under 10 s); beside it the JSON API
//!    that only issues the codes.
//! 3. Residents registering by themselves over HTTP (`POST /api/v1/join/register`: name, last
//!    six of the ID number, building and room) at 16 clients, each registration a distinct
//!    resident, against `/healthz` measured in the same run (target: p99 under 100 ms).
//!
//! The join area allows 30 public requests a minute per client address. Residents come from
//! many addresses; here they all come from 127.0.0.1, so the server is started with
//! `LINLI_TRUSTED_PROXIES=127.0.0.1` (as behind a reverse proxy) and each registration carries
//! its own `X-Forwarded-For` address. The limiter itself is unchanged and still applies per
//! (forwarded) address. After the target's 16 clients, the same registrations run at as many
//! clients as cores, for comparison.
//!
//! ```text
//! cargo build --release --bins
//! ./target/release/linli-bench setup [--small] [--buildings 5000] [--households 10000]
//!     [--seconds 10] [--connections 16] [--keep DIR]
//! ```

use std::sync::atomic::AtomicUsize;

use super::*;

#[derive(Args, Debug, Clone)]
pub struct SetupArgs {
    /// Buildings in the generated 台账 (40 units each).
    #[arg(long, default_value_t = 5_000)]
    buildings: usize,
    /// Households (one resident each) to print letters for and to register.
    #[arg(long, default_value_t = 10_000)]
    households: usize,
    /// Measured seconds of registrations (and of the /healthz baseline).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Concurrent clients registering.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// A quick check: 200 buildings (8,000 units), 1,000 households, 3 s of registrations.
    #[arg(long)]
    small: bool,
    /// Keep the data folder here (must be new or empty).
    #[arg(long)]
    keep: Option<PathBuf>,
}

const UNITS_PER_BUILDING: usize = 40;
const COMMUNITIES: [&str; 4] = ["临江社区", "望海社区", "东园社区", "南塘社区"];
const GRIDS: [&str; 4] = ["第一网格", "第二网格", "第三网格", "第四网格"];
const USES: [&str; 4] = ["自住", "出租", "自住", "空置"];

/// One row of the summary: what, the figure, the target, whether it was met.
struct Line {
    what: String,
    figure: String,
    target: &'static str,
    ok: Option<bool>,
}

fn line(what: &str, figure: String, target: &'static str, ok: Option<bool>) -> Line {
    Line {
        what: what.into(),
        figure,
        target,
        ok,
    }
}

/// The 台账: a title row, the header, one row per unit.
fn write_places(path: &Path, buildings: usize) -> Result<usize> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "基准街道房屋台账（基准测试）")?;
    for (c, h) in [
        "社区",
        "网格",
        "楼栋",
        "门牌",
        "单元",
        "室号",
        "楼层",
        "建筑面积",
        "用途",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(1, c as u16, *h)?;
    }
    let mut r = 2u32;
    for b in 0..buildings {
        let community = COMMUNITIES[b * COMMUNITIES.len() / buildings];
        let grid = GRIDS[(b * COMMUNITIES.len() * GRIDS.len() / buildings) % GRIDS.len()];
        let name = format!("{}号楼", b + 1);
        let address = format!("幸福路{}号", b + 1);
        for u in 0..UNITS_PER_BUILDING {
            let stairwell = u / 20 + 1;
            let within = u % 20;
            let floor = within / 2 + 1;
            let room = format!("{floor}{:02}", within % 2 + 1);
            ws.write_string(r, 0, community)?;
            ws.write_string(r, 1, grid)?;
            ws.write_string(r, 2, &name)?;
            ws.write_string(r, 3, &address)?;
            ws.write_string(r, 4, format!("{stairwell}单元"))?;
            ws.write_string(r, 5, &room)?;
            ws.write_number(r, 6, floor as f64)?;
            ws.write_number(r, 7, 55.0 + (u % 7) as f64 * 8.5)?;
            ws.write_string(r, 8, USES[(b + u) % USES.len()])?;
            r += 1;
        }
    }
    wb.save(path)?;
    Ok((r - 2) as usize)
}

/// A resident as she types herself in.
#[derive(Clone, Debug)]
struct Resident {
    name: String,
    tail: String,
    building_id: i64,
    room: String,
}

/// The persons sheet: one head of household in each of `units` (path, building id, code).
fn write_persons(path: &Path, units: &[(String, i64, String)]) -> Result<Vec<Resident>> {
    use linli::registry::idnum::IdNumber;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in [
        "序号",
        "姓名",
        "身份证号",
        "联系电话",
        "房屋",
        "与户主关系",
        "居住状态",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(0, c as u16, *h)?;
    }
    let surnames = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"];
    let given = [
        "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    ];
    let base = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).expect("date");
    let mut out = Vec::with_capacity(units.len());
    for (i, (unit, building_id, code)) in units.iter().enumerate() {
        let r = (i + 1) as u32;
        // Unique (birth, sequence) pairs; region 320583 as in the registry benchmark.
        let birth = base + chrono::Days::new((i / 999) as u64 * 3);
        let id = IdNumber::build("320583", birth, (i % 999) as u16 + 1);
        let name = format!(
            "{}{}{}",
            surnames[i % 10],
            given[(i / 10) % 15],
            given[(i / 150) % 15]
        );
        ws.write_number(r, 0, (i + 1) as f64)?;
        ws.write_string(r, 1, &name)?;
        ws.write_string(r, 2, id.as_str())?;
        ws.write_string(r, 3, format!("137{:08}", i))?;
        ws.write_string(r, 4, unit)?;
        ws.write_string(r, 5, "户主")?;
        ws.write_string(r, 6, "常住")?;
        let s = id.as_str();
        out.push(Resident {
            name,
            tail: s[s.len() - 6..].to_string(),
            building_id: *building_id,
            room: code.clone(),
        });
    }
    wb.save(path)?;
    Ok(out)
}

fn open_db(data: &Path) -> Result<linli::store::Db> {
    linli::store::Db::open(&format!("sqlite://{}", data.join("linli.db").display()))
        .context("opening the database")
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn created(v: &serde_json::Value) -> String {
    let c = &v["created"];
    format!(
        "{} communities, {} grids, {} buildings, {} units",
        c["communities"], c["grids"], c["buildings"], c["units"]
    )
}

fn created_total(v: &serde_json::Value) -> i64 {
    ["communities", "grids", "buildings", "units"]
        .iter()
        .map(|k| v["created"][k].as_i64().unwrap_or(0))
        .sum()
}

fn refused_note(v: &serde_json::Value) -> String {
    let r = v["refused"].as_array().cloned().unwrap_or_default();
    if r.is_empty() {
        return "none refused".into();
    }
    format!(
        "{} refused, e.g. row {}: {}",
        r.len(),
        r[0]["row"],
        r[0]["reason"].as_str().unwrap_or("")
    )
}

/// Part 1: init and the places import. Returns the street's path.
fn places(linli: &Path, data: &Path, args: &SetupArgs, lines: &mut Vec<Line>) -> Result<String> {
    println!(
        "\n== init and places ({} buildings, {} units, SQLite)",
        args.buildings,
        args.buildings * UNITS_PER_BUILDING
    );
    let (took, out) = run_linli(
        linli,
        data,
        &[
            "init",
            "--district-code",
            "310115",
            "--district-name",
            "浦东新区",
            "--street-code",
            "310115099",
            "--street-name",
            "基准街道",
            "--admin",
            "chief",
        ],
    )?;
    if !out.status.success() {
        bail!(
            "linli init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!("  linli init  {:>7.2} s", took.as_secs_f64());
    let db = open_db(data)?;
    let street = db.read_blocking(|c| {
        Ok(c.query_one(
            "SELECT path FROM places WHERE kind = 'street' ORDER BY id LIMIT 1",
            &[],
        )?
        .str(0))
    })?;
    db.close();
    let file = data.join("bench-places.xlsx");
    let t0 = Instant::now();
    let rows = write_places(&file, args.buildings)?;
    println!(
        "  wrote {} ({rows} rows, {:.1} MB) in {:.1} s",
        file.display(),
        file_mb(&file),
        t0.elapsed().as_secs_f64()
    );
    let f = file.to_string_lossy().to_string();
    let import = |dry: bool| -> Result<(Duration, serde_json::Value)> {
        let mut a: Vec<&str> = vec![
            "import",
            "places",
            f.as_str(),
            "--scope",
            street.as_str(),
            "--json",
        ];
        if dry {
            a.push("--dry-run");
        }
        let (took, out) = run_linli(linli, data, &a)?;
        let v = json(&out);
        if v.is_null() {
            bail!(
                "linli import places{} failed: {}",
                if dry { " --dry-run" } else { "" },
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok((took, v))
    };
    let (dry, v) = import(true)?;
    println!(
        "  dry run     {:>7.2} s  (would create {}; {})",
        dry.as_secs_f64(),
        created(&v),
        refused_note(&v)
    );
    let (apply, v) = import(false)?;
    let applied = v["applied"].as_bool().unwrap_or(false);
    let want = (args.buildings * UNITS_PER_BUILDING) as i64;
    let units = v["created"]["units"].as_i64().unwrap_or(0);
    let ok = applied && units == want && apply.as_secs_f64() < 20.0;
    println!(
        "  apply       {:>7.2} s  (created {}; {}) target < 20 s: {}",
        apply.as_secs_f64(),
        created(&v),
        refused_note(&v),
        pass(ok)
    );
    println!("  dry run + apply {:.2} s", (dry + apply).as_secs_f64());
    lines.push(line(
        &format!(
            "import places: {} buildings, {} units",
            v["created"]["buildings"], units
        ),
        format!("{:.2} s", apply.as_secs_f64()),
        "< 20 s",
        Some(ok),
    ));
    lines.push(line(
        "  the dry run before it",
        format!("{:.2} s", dry.as_secs_f64()),
        "",
        None,
    ));
    let (again, v) = import(false)?;
    let same = created_total(&v) == 0
        && v["updated"].as_i64() == Some(0)
        && v["refused"].as_array().is_some_and(|r| r.is_empty());
    println!(
        "  re-import   {:>7.2} s  (created {}, updated {}, unchanged {}): the same file changes nothing: {}",
        again.as_secs_f64(),
        created_total(&v),
        v["updated"],
        v["unchanged"],
        pass(same)
    );
    lines.push(line(
        "  the same file again (idempotent)",
        format!(
            "{:.2} s; {} created, {} updated",
            again.as_secs_f64(),
            created_total(&v),
            v["updated"]
        ),
        "nothing changes",
        Some(same),
    ));
    let db = open_db(data)?;
    let counts = db.read_blocking(|c| {
        Ok((
            count(c, "community")?,
            count(c, "grid")?,
            count(c, "building")?,
            count(c, "unit")?,
        ))
    })?;
    db.close();
    println!(
        "  stored: {} communities, {} grids, {} buildings, {} units",
        counts.0, counts.1, counts.2, counts.3
    );
    Ok(street)
}

fn count(c: &mut dyn linli::store::Conn, kind: &str) -> linli::store::Result<i64> {
    Ok(c.query_one(
        "SELECT COUNT(*) FROM places WHERE kind = $1 AND retired_at IS NULL",
        linli::params![kind],
    )?
    .i64(0))
}

/// Adds the street administrator the bench signs in as (the demo's username and password).
fn add_admin(linli: &Path, data: &Path, street: &str) -> Result<()> {
    use std::io::Write;
    let mut child = Command::new(linli)
        .arg("--data")
        .arg(data)
        .args([
            "user",
            "add",
            USERNAME,
            "--role",
            "street_admin",
            "--place",
            street,
            "--password-stdin",
        ])
        .env_remove("LINLI_CONFIG")
        .env_remove("LINLI_DATABASE_URL")
        .env_remove("LINLI_DATA")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(format!("{PASSWORD}\n").as_bytes())?;
    let st = child.wait()?;
    if !st.success() {
        bail!("linli user add {USERNAME} failed ({st})");
    }
    Ok(())
}

/// One resident in each of `n` units spread over the street, imported as persons.
fn residents(linli: &Path, data: &Path, street: &str, n: usize) -> Result<Vec<Resident>> {
    let db = open_db(data)?;
    let units = db.read_blocking(|c| {
        Ok(c.query(
            "SELECT path, parent_id, code FROM places WHERE kind = 'unit' AND retired_at IS NULL ORDER BY id",
            &[],
        )?
        .iter()
        .map(|r| (r.str(0), r.i64(1), r.str(2)))
        .collect::<Vec<_>>())
    })?;
    db.close();
    if units.len() < n {
        bail!("{} units for {n} households", units.len());
    }
    let step = units.len() / n;
    let chosen: Vec<_> = units.into_iter().step_by(step).take(n).collect();
    let file = data.join("bench-persons.xlsx");
    let people = write_persons(&file, &chosen)?;
    let f = file.to_string_lossy().to_string();
    let (took, out) = run_linli(
        linli,
        data,
        &["import", "persons", &f, "--scope", street, "--json"],
    )?;
    let v = json(&out);
    if !out.status.success() || v["create"].as_i64() != Some(n as i64) {
        bail!(
            "linli import persons: {} {}",
            String::from_utf8_lossy(&out.stdout)
                .chars()
                .take(600)
                .collect::<String>(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!(
        "  {n} households (one resident each) imported with linli import persons in {:.1} s",
        took.as_secs_f64()
    );
    Ok(people)
}

/// Starts `linli serve` on the data folder, trusting 127.0.0.1 as a proxy.
fn serve(linli: &Path, data: &Path) -> Result<(Server, Duration)> {
    let port = free_port()?;
    let log_path = data.join("bench-server-stderr.log");
    let log = std::fs::File::create(&log_path)?;
    let t0 = Instant::now();
    let mut child = Command::new(linli)
        .arg("--data")
        .arg(data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("serve")
        .env_remove("LINLI_CONFIG")
        .env_remove("LINLI_DATABASE_URL")
        .env_remove("LINLI_LISTEN")
        .env_remove("LINLI_DATA")
        .env("LINLI_TRUSTED_PROXIES", "127.0.0.1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .with_context(|| format!("cannot start {} serve", linli.display()))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    {
        let lines = lines.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent
                    && let Some(rest) = line.strip_prefix("linli listening on http://")
                    && let Ok(addr) = rest.trim().parse::<SocketAddr>()
                {
                    sent = true;
                    let _ = tx.send(StdoutEvent::Ready(addr, Instant::now()));
                }
                lines.lock().expect("lines").push(line);
            }
            let _ = tx.send(StdoutEvent::Closed);
        });
    }
    let mut server = Server {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        stdout_lines: lines,
        log_path,
    };
    match rx.recv_timeout(Duration::from_secs(300)) {
        Ok(StdoutEvent::Ready(addr, at)) => {
            server.addr = addr;
            Ok((server, at - t0))
        }
        _ => {
            let _ = server.child.kill();
            bail!(
                "linli serve was not ready; its last stderr lines:\n  {}",
                server.stderr_tail(15).join("\n  ")
            )
        }
    }
}

/// Part 2: the letters for every household of the street, as the worker's form prints them.
async fn letters(
    addr: SocketAddr,
    who: &Credentials,
    households: usize,
    lines: &mut Vec<Line>,
) -> Result<()> {
    println!("\n== invitation letters for {households} households");
    let cookie = format!("linli_session={}", who.session_cookie);
    let r = request(
        addr,
        Method::GET,
        "/join/admin",
        &[(header::COOKIE, cookie.clone())],
        None,
    )
    .await?;
    if r.status != StatusCode::OK {
        bail!("GET /join/admin answered {}", r.status);
    }
    let csrf = hidden_input(&r.text(), "csrf").ok_or_else(|| anyhow!("no csrf on /join/admin"))?;
    let form = form_encode(&[
        ("csrf", &csrf),
        ("place_id", &who.street_id.to_string()),
        ("days", "30"),
    ]);
    let t0 = Instant::now();
    let r = request(
        addr,
        Method::POST,
        "/join/admin/letters",
        &[(header::COOKIE, cookie)],
        Some(("application/x-www-form-urlencoded", form.into_bytes())),
    )
    .await;
    let took = t0.elapsed();
    match r {
        Ok(r) if r.status == StatusCode::OK => {
            let html = r.text();
            let printed = html.matches("class=\"qr\"").count();
            let ok = printed == households && took.as_secs_f64() < 10.0;
            println!(
                "  issue + print-ready HTML  {:>7.2} s  ({printed} letters with a QR code, {:.1} MB of HTML, {} A4 sheets) target < 10 s: {}",
                took.as_secs_f64(),
                r.body.len() as f64 / 1e6,
                printed.div_ceil(4),
                pass(ok)
            );
            lines.push(line(
                &format!("letters for {households} households (issue + HTML)"),
                format!("{:.2} s", took.as_secs_f64()),
                "< 10 s",
                Some(ok),
            ));
        }
        Ok(r) => {
            println!(
                "  issue + print-ready HTML  answered {} after {:.2} s: FAIL",
                r.status,
                took.as_secs_f64()
            );
            lines.push(line(
                &format!("letters for {households} households (issue + HTML)"),
                format!("{} after {:.2} s", r.status, took.as_secs_f64()),
                "< 10 s",
                Some(false),
            ));
        }
        Err(e) => {
            println!("  issue + print-ready HTML  failed: {e:#}: FAIL");
            lines.push(line(
                &format!("letters for {households} households (issue + HTML)"),
                format!("failed after {:.2} s", took.as_secs_f64()),
                "< 10 s",
                Some(false),
            ));
        }
    }
    // The JSON API issues the codes only (again: the first ones are withdrawn).
    let body = serde_json::json!({"place_id": who.street_id, "days": 30}).to_string();
    let t0 = Instant::now();
    let r = request(
        addr,
        Method::POST,
        "/api/v1/join/invitations",
        &[(header::AUTHORIZATION, format!("Bearer {}", who.bearer))],
        Some(("application/json", body.into_bytes())),
    )
    .await?;
    let took = t0.elapsed();
    let n = serde_json::from_slice::<serde_json::Value>(&r.body)
        .ok()
        .and_then(|v| v["letters"].as_array().map(|a| a.len()))
        .unwrap_or(0);
    println!(
        "  issue only (API, JSON)    {:>7.2} s  ({} {n} codes; each household's first code withdrawn)",
        took.as_secs_f64(),
        r.status
    );
    lines.push(line(
        "  issuing the codes only (API, reissue)",
        format!("{:.2} s", took.as_secs_f64()),
        "",
        None,
    ));
    Ok(())
}

#[derive(Default)]
struct RegStats {
    latencies: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
    first_error: Option<String>,
    ran_out: bool,
}

/// One client registering residents in turn (the next one not yet taken) until `end`.
async fn register_worker(
    addr: SocketAddr,
    people: Arc<Vec<Resident>>,
    next: Arc<AtomicUsize>,
    start: Instant,
    end: Instant,
) -> RegStats {
    let host = HeaderValue::from_str(&addr.to_string()).expect("host");
    let mut st = RegStats::default();
    let mut sender: Option<Sender> = None;
    while Instant::now() < end {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(p) = people.get(i) else {
            st.ran_out = true;
            break;
        };
        if sender.is_none() {
            match connect(addr).await {
                Ok(s) => sender = Some(s),
                Err(e) => {
                    st.errors += 1;
                    st.first_error.get_or_insert_with(|| format!("{e:#}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let body = serde_json::json!({
            "name": p.name,
            "id_tail": p.tail,
            "building_id": p.building_id,
            "room": p.room,
            "username": format!("jm{i:06}"),
            "password": format!("Linli-bench-{i:06}-pw"),
        })
        .to_string();
        // Each resident from her own address, as the trusted proxy reports it.
        let n = i as u32 + 1;
        let fwd = format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255);
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/join/register")
            .header(header::HOST, host.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-forwarded-for", fwd)
            .body(Full::new(Bytes::from(body)))
            .expect("request");
        let s = sender.as_mut().expect("connected");
        let t0 = Instant::now();
        let res = tokio::time::timeout(REQUEST_TIMEOUT, async {
            s.ready().await?;
            let res = s.send_request(req).await?;
            let status = res.status();
            let body = res.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        })
        .await;
        let t1 = Instant::now();
        let counted = t1 >= start && t1 < end;
        match res {
            Ok(Ok((status, body))) => {
                if counted {
                    st.latencies
                        .push((t1 - t0).as_micros().min(u32::MAX as u128) as u32);
                    *st.statuses.entry(status.as_u16()).or_default() += 1;
                }
                if status != StatusCode::CREATED {
                    st.first_error.get_or_insert_with(|| {
                        format!("{status}: {}", String::from_utf8_lossy(&body))
                    });
                }
            }
            Ok(Err(e)) => {
                if counted {
                    st.errors += 1;
                }
                st.first_error.get_or_insert_with(|| format!("{e:#}"));
                sender = None;
            }
            Err(_) => {
                if counted {
                    st.errors += 1;
                }
                st.first_error
                    .get_or_insert_with(|| format!("no answer in {} s", REQUEST_TIMEOUT.as_secs()));
                sender = None;
            }
        }
    }
    st
}

/// Part 3: self-registration at `connections` clients beside /healthz.
async fn registration(
    addr: SocketAddr,
    pid: i32,
    people: Vec<Resident>,
    args: &SetupArgs,
    lines: &mut Vec<Line>,
) -> Result<()> {
    println!(
        "\n== self-registration ({} clients × {} s, each a distinct resident from her own address)",
        args.connections, args.seconds
    );
    let load = Load {
        warmup: 1.0,
        seconds: args.seconds,
        connections: args.connections,
    };
    let base = run_scenario(
        addr,
        pid,
        Scenario::new("healthz", "baseline", "/healthz".into(), vec![]),
        load,
    )
    .await;
    println!(
        "  {:<32} {:>8.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
        "GET /healthz (baseline)",
        base.rps(),
        ms(base.p50_us),
        ms(base.p99_us)
    );
    lines.push(line(
        "  GET /healthz, same run (baseline)",
        format!(
            "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
            base.rps(),
            ms(base.p50_us),
            ms(base.p99_us)
        ),
        "",
        None,
    ));
    // What one password hash costs here: every registration makes one.
    let t0 = Instant::now();
    for _ in 0..5 {
        let _ = linli::org::users::hash_password("Linli-bench-hash-pw");
    }
    let hash_ms = t0.elapsed().as_secs_f64() * 1000.0 / 5.0;
    let people = Arc::new(people);
    let next = Arc::new(AtomicUsize::new(0));
    // The target's clients, then as many clients as cores, to show what one registration
    // costs when it does not queue behind others.
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    for (clients, target) in [(args.connections, true), (cores, false)] {
        let t0 = Instant::now();
        let start = t0 + Duration::from_secs_f64(load.warmup);
        let end = start + Duration::from_secs_f64(load.seconds);
        let cpu0 = proc_cpu(pid);
        let first = next.load(Ordering::Relaxed);
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                tokio::spawn(register_worker(
                    addr,
                    people.clone(),
                    next.clone(),
                    start,
                    end,
                ))
            })
            .collect();
        let mut all = RegStats::default();
        for t in tasks {
            let st = t.await?;
            all.latencies.extend(st.latencies);
            for (k, v) in st.statuses {
                *all.statuses.entry(k).or_default() += v;
            }
            all.errors += st.errors;
            all.ran_out |= st.ran_out;
            if all.first_error.is_none() {
                all.first_error = st.first_error;
            }
        }
        let cpu1 = proc_cpu(pid);
        let elapsed_measured = (Instant::now().min(end) - start).as_secs_f64().max(0.001);
        all.latencies.sort_unstable();
        let done = all.latencies.len() as u64;
        let created = all.statuses.get(&201).copied().unwrap_or(0);
        let failed = done - created + all.errors;
        let p50 = percentile(&all.latencies, 50.0);
        let p99 = percentile(&all.latencies, 99.0);
        let ok = p99 < 100_000 && failed == 0 && done > 0;
        let cpu = match (cpu0, cpu1) {
            (Some(a), Some(b)) if created > 0 => format!(
                "; server CPU {:.1} ms per registration",
                b.saturating_sub(a).as_secs_f64() * 1000.0
                    / (next.load(Ordering::Relaxed).min(people.len()) - first).max(1) as f64
            ),
            _ => String::new(),
        };
        let label = format!("POST /api/v1/join/register ×{clients}");
        println!(
            "  {label:<32} {:>8.1} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:.2} ms  ({created} accounts created, {failed} failed{cpu}) {}",
            done as f64 / elapsed_measured,
            ms(p50),
            ms(p99),
            ms(all.latencies.last().copied().unwrap_or(0)),
            if target {
                format!("target p99 < 100 ms: {}", pass(ok))
            } else {
                "(for comparison)".to_string()
            }
        );
        if all.ran_out {
            println!(
                "  (the {} residents ran out before the time was up: the rate is over a shorter window)",
                people.len()
            );
        }
        if failed > 0 || all.first_error.is_some() {
            println!(
                "  statuses {:?}; first error: {}",
                all.statuses,
                all.first_error.as_deref().unwrap_or("-")
            );
        }
        lines.push(line(
            &format!(
                "registration at {clients} clients{}",
                if target { "" } else { " (comparison)" }
            ),
            format!(
                "p50 {:.1} ms, p99 {:.1} ms, {:.1} req/s, {failed} failed",
                ms(p50),
                ms(p99),
                done as f64 / elapsed_measured
            ),
            if target { "p99 < 100 ms" } else { "" },
            target.then_some(ok),
        ));
    }
    println!(
        "  one Argon2id password hash (19 MiB, t=2) takes {hash_ms:.1} ms here; {cores} cores"
    );
    lines.push(line(
        "  one password hash (Argon2id) in the bench",
        format!("{hash_ms:.1} ms"),
        "",
        None,
    ));
    Ok(())
}

pub fn run(mut args: SetupArgs) -> Result<ExitCode> {
    if args.small {
        args.buildings = args.buildings.min(200);
        args.households = args.households.min(1_000);
        args.seconds = args.seconds.min(3.0);
    }
    if args.buildings < 16 || args.households == 0 {
        bail!("use at least 16 buildings and one household");
    }
    let linli = find_linli()?;
    let data = match &args.keep {
        Some(root) => DataDir {
            path: fresh_subdir(root, "setup")?,
            keep: true,
        },
        None => temp_data_dir("linli-bench-setup")?,
    };
    println!("linli-bench setup");
    println!("  binary      {}", linli.display());
    println!("  data        {}", data.path.display());
    let mut lines = Vec::new();
    let street = places(&linli, &data.path, &args, &mut lines)?;
    add_admin(&linli, &data.path, &street)?;
    let people = residents(&linli, &data.path, &street, args.households)?;
    let (mut server, ready) = serve(&linli, &data.path)?;
    println!(
        "  linli serve ready in {:.1} s (LINLI_TRUSTED_PROXIES=127.0.0.1)",
        ready.as_secs_f64()
    );
    let (addr, pid) = (server.addr, server.pid());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let who = sign_in(addr).await?;
        letters(addr, &who, args.households, &mut lines).await?;
        registration(addr, pid, people, &args, &mut lines).await?;
        anyhow::Ok(())
    });
    stop_and_report(&mut server);
    result?;
    println!("\n== summary (SQLite, fresh data folder)");
    for l in &lines {
        println!(
            "  {:<48} {:<46} {:<16} {}",
            l.what,
            l.figure,
            l.target,
            l.ok.map(pass).unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}
