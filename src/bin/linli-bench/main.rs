//! `linli-bench http`: measures the real `linli` binary as a user runs it.
//! `linli-bench audit`: measures the audit log's targets (append rate, verify time, what an
//! audited read costs); see [`audit`] below.
//!
//! It starts `linli demo` (next to this executable) on a fresh data folder, measures the
//! time until the server says it is listening, its idle memory, then drives bounded
//! keep-alive HTTP/1.1 load against a few endpoints, compares each with the `/healthz`
//! baseline measured in the same run, measures the CPU the server uses while idle (its
//! background jobs), checks the targets and finally stops the server with SIGTERM to see
//! whether it shuts down cleanly.
//!
//! ```text
//! cargo build --release --bins
//! ./target/release/linli-bench http [--size street|small|district] [--seconds 10]
//!     [--connections 64] [--seed 1] [--keep DIR] [--startup-only] [--idle-seconds 20]
//! ./target/release/linli-bench audit [--entries 1000000] [--seconds 10]
//!     [--connections 64] [--keep DIR] [--mixed-entries 10000000] [--mixed-seconds 180]
//!     [--mixed-clients 16] [--mixed-only | --no-mixed]
//! ```
//!
//! The exit code is 0 when the measurement ran, even if a target is missed; it is non-zero
//! when the server cannot be started, signing in fails, or a scenario's requests fail
//! wholesale.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use clap::{Args, Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

mod cases;
mod jobs;
mod lists;
mod mixed;
mod pages;
mod registry;
mod sensing;

const PASSWORD: &str = "bench-pass-123";
const USERNAME: &str = "admin";
/// No single request may take longer than this; a slower one counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Parser, Debug)]
#[command(
    name = "linli-bench",
    about = "Benchmarks the linli binary as a user runs it"
)]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Start `linli demo`, measure startup and memory, drive HTTP load, check the targets.
    Http(HttpArgs),
    /// Measure the audit log: append rate on SQLite, `linli audit verify` over a large log,
    /// and what the audit entry adds to a person-detail read (against a server skipping it).
    Audit(AuditArgs),
    /// The registry's targets: import and export of 100,000 rows, search at 16 clients.
    Registry(registry::RegistryArgs),
    /// The cases targets: creation over the API against /healthz, the escalation sweep over
    /// 1,000,000 open cases, duplicate suggestion with 100,000 open cases.
    Cases(cases::CasesArgs),
    /// Measure sensing: HTTP and MQTT ingestion, reading → alert latency, armed timers.
    Sensing(sensing::SensingArgs),
    /// Time each periodic job of the server on a copy of a data folder.
    Jobs(jobs::JobsArgs),
    /// What lists cost the audit subject index: a day of grid workers paging through their
    /// grids, indexed once per viewer, person and day, against every name indexed.
    Lists(lists::ListsArgs),
    /// Every registry page family and list API at 16 clients, as a street administrator, a
    /// community worker and a grid worker, against /healthz; PASS/FAIL per target (issue 20).
    Pages(pages::PagesArgs),
}

#[derive(Args, Debug, Clone)]
struct HttpArgs {
    /// Demo size: small, street or district.
    #[arg(long, default_value = "street")]
    size: String,
    /// Measured seconds per scenario (after a warm-up).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Warm-up seconds per scenario, not measured.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seed for the demo data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Use DIR as the data folder and keep it afterwards (an existing demo in it is reused).
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// Only measure startup, memory and shutdown; skip the load.
    #[arg(long)]
    startup_only: bool,
    /// Seconds the server's CPU is measured while idle (after the load), reported per minute.
    #[arg(long, default_value_t = 20.0)]
    idle_seconds: f64,
}

#[derive(Args, Debug, Clone)]
struct AuditArgs {
    /// Entries in the log that `linli audit verify` checks (the appender's plus bulk ones).
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
    /// Measured seconds for the appender and for each HTTP run (after a warm-up).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Warm-up seconds per HTTP run, not measured.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Concurrent keep-alive connections for the HTTP comparison.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Use DIR for the data folders (DIR/log, DIR/server-audited, DIR/server-skip-audit,
    /// DIR/mixed) and keep them afterwards; those folders must not exist yet or be empty.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    #[command(flatten)]
    mixed: mixed::MixedArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.command {
        BenchCommand::Http(args) => http(args),
        BenchCommand::Audit(args) => audit(args),
        BenchCommand::Registry(args) => registry::registry(args),
        BenchCommand::Cases(args) => cases::run(args),
        BenchCommand::Sensing(args) => sensing::run(args),
        BenchCommand::Jobs(args) => jobs::run(args),
        BenchCommand::Lists(args) => lists::run(args),
        BenchCommand::Pages(args) => pages::run(args),
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            eprintln!("linli-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------- the server process

/// The data folder: removed on drop unless it is kept.
struct DataDir {
    path: PathBuf,
    keep: bool,
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The running `linli` process; killed on drop if still running (error paths).
struct Server {
    child: Child,
    addr: SocketAddr,
    stdout_lines: Arc<Mutex<Vec<String>>>,
    log_path: PathBuf,
}

impl Server {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then waits up to `limit`; SIGKILL after that.
    fn stop(&mut self, limit: Duration) -> Result<(Option<ExitStatus>, Duration)> {
        let t0 = Instant::now();
        // SAFETY: kill(2) with a pid we spawned and still own (not yet reaped).
        let rc = unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        if rc != 0 {
            bail!("cannot send SIGTERM: {}", std::io::Error::last_os_error());
        }
        loop {
            if let Some(st) = self.child.try_wait()? {
                return Ok((Some(st), t0.elapsed()));
            }
            if t0.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Ok((None, t0.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn stderr_tail(&self, n: usize) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

enum StdoutEvent {
    Ready(SocketAddr, Instant),
    Closed,
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(l.local_addr()?.port())
}

/// What `linli demo` is started with.
struct DemoSpec<'a> {
    size: &'a str,
    seed: u64,
    /// Extra environment variables for the server.
    env: &'a [(&'a str, &'a str)],
}

/// Starts `linli demo` and waits for its "listening" line; returns the server and the
/// startup-to-ready time.
fn start_server(
    linli: &Path,
    data: &Path,
    demo: &DemoSpec<'_>,
    ready_limit: Duration,
) -> Result<(Server, Duration)> {
    let port = free_port()?;
    let log_path = data.join("bench-server-stderr.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let mut cmd = Command::new(linli);
    cmd.arg("--data")
        .arg(data)
        .arg("demo")
        .args(["--size", demo.size])
        .args(["--seed", &demo.seed.to_string()])
        .args(["--password", PASSWORD])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env_remove("LINLI_CONFIG")
        .env_remove("LINLI_DATABASE_URL")
        .env_remove("LINLI_LISTEN")
        .env_remove("LINLI_DATA")
        .env_remove("LINLI_BENCH_SKIP_AUDIT")
        .envs(demo.env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log));
    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", linli.display()))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    {
        let lines = lines.clone();
        std::thread::spawn(move || {
            // Keeps reading until the server closes stdout, so the pipe never fills.
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let now = Instant::now();
                if !sent
                    && let Some(rest) = line.strip_prefix("linli listening on http://")
                    && let Ok(addr) = rest.trim().parse::<SocketAddr>()
                {
                    sent = true;
                    let _ = tx.send(StdoutEvent::Ready(addr, now));
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
    let mut last_note = Instant::now();
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(StdoutEvent::Ready(addr, at)) => {
                server.addr = addr;
                return Ok((server, at - t0));
            }
            Ok(StdoutEvent::Closed) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = server.child.wait().ok();
                let tail = server.stderr_tail(15).join("\n  ");
                bail!(
                    "linli exited before it was ready ({}); its last stderr lines:\n  {tail}",
                    status
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "unknown status".into())
                );
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if t0.elapsed() > ready_limit {
                    bail!(
                        "linli was not ready after {:.0} s; giving up",
                        ready_limit.as_secs_f64()
                    );
                }
                if last_note.elapsed() > Duration::from_secs(30) {
                    last_note = Instant::now();
                    eprintln!("  … still starting ({:.0} s)", t0.elapsed().as_secs_f64());
                }
            }
        }
    }
}

/// The number in a `/proc/PID/status` field (VmRSS and VmHWM in kB, Threads).
fn proc_status_num(pid: i32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// The process's user + system CPU time so far.
fn proc_cpu(pid: i32) -> Option<Duration> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the ")" closing the command name: state is field 3, utime 14, stime 15.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as u64 } else { 100 };
    Some(Duration::from_micros(ticks * 1_000_000 / hz))
}

/// What the server holds at one moment.
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    rss_kb: u64,
    threads: u64,
    /// Open file descriptors on the SQLite database file (one per open connection).
    db_files: u64,
}

impl Sample {
    fn take(pid: i32) -> Sample {
        let db_files = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|it| {
                it.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                    .filter(|t| t.extension().is_some_and(|x| x == "db"))
                    .count() as u64
            })
            .unwrap_or(0);
        Sample {
            rss_kb: proc_status_num(pid, "VmRSS").unwrap_or(0),
            threads: proc_status_num(pid, "Threads").unwrap_or(0),
            db_files,
        }
    }

    fn max(self, o: Sample) -> Sample {
        Sample {
            rss_kb: self.rss_kb.max(o.rss_kb),
            threads: self.threads.max(o.threads),
            db_files: self.db_files.max(o.db_files),
        }
    }
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

// ---------------------------------------------------------------- one-off requests

type Sender = SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Result<Sender> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of cookie `name` from the Set-Cookie headers.
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .find_map(|v| {
                let v = v.to_str().ok()?;
                let first = v.split(';').next()?.trim();
                let (k, val) = first.split_once('=')?;
                (k == name && !val.is_empty()).then(|| val.to_string())
            })
    }
}

/// One request on a fresh connection.
async fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(header::HeaderName, String)],
    body: Option<(&str, Vec<u8>)>,
) -> Result<Reply> {
    let mut sender = connect(addr).await?;
    let mut b = Request::builder()
        .method(method.clone())
        .uri(path)
        .header(header::HOST, addr.to_string());
    for (k, v) in headers {
        b = b.header(k, v);
    }
    let req = match body {
        Some((ctype, data)) => b
            .header(header::CONTENT_TYPE, ctype)
            .body(Full::new(Bytes::from(data)))?,
        None => b.body(Full::new(Bytes::new()))?,
    };
    let fut = async {
        let res = sender.send_request(req).await?;
        let (parts, body) = res.into_parts();
        let body = body.collect().await?.to_bytes();
        anyhow::Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, fut)
        .await
        .map_err(|_| {
            anyhow!(
                "{method} {path}: no answer in {} s",
                REQUEST_TIMEOUT.as_secs()
            )
        })?
        .with_context(|| format!("{method} {path}"))
}

/// application/x-www-form-urlencoded
fn form_encode(pairs: &[(&str, &str)]) -> String {
    fn enc(s: &str, out: &mut String) {
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(k, &mut out);
        out.push('=');
        enc(v, &mut out);
    }
    out
}

/// The `value` of the `<input name="NAME" value="…">` in `html`.
fn hidden_input(html: &str, name: &str) -> Option<String> {
    let key = format!("name=\"{name}\"");
    let at = html.find(&key)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + "value=\"".len();
    let end = v + tag[v..].find('"')?;
    Some(tag[v..end].to_string())
}

struct Credentials {
    bearer: String,
    session_cookie: String,
    street_id: i64,
}

async fn sign_in(addr: SocketAddr) -> Result<Credentials> {
    sign_in_as(addr, USERNAME).await
}

/// Signs in as a demo account (the demo's password): a Bearer token and a page session.
async fn sign_in_as(addr: SocketAddr, username: &str) -> Result<Credentials> {
    // The API: a Bearer token.
    let body = serde_json::json!({"username": username, "password": PASSWORD}).to_string();
    let r = request(
        addr,
        Method::POST,
        "/api/v1/session",
        &[],
        Some(("application/json", body.into_bytes())),
    )
    .await?;
    if r.status != StatusCode::OK {
        bail!("POST /api/v1/session answered {}: {}", r.status, r.text());
    }
    let v: serde_json::Value =
        serde_json::from_slice(&r.body).context("POST /api/v1/session: not JSON")?;
    let bearer = v["token"]
        .as_str()
        .ok_or_else(|| anyhow!("POST /api/v1/session: no token in {}", r.text()))?
        .to_string();

    // The pages: the login form with its CSRF cookie and field.
    let r = request(addr, Method::GET, "/login", &[], None).await?;
    if r.status != StatusCode::OK {
        bail!("GET /login answered {}", r.status);
    }
    let csrf_cookie = r
        .set_cookie("linli_login_csrf")
        .ok_or_else(|| anyhow!("GET /login set no linli_login_csrf cookie"))?;
    let csrf_field = hidden_input(&r.text(), "login_csrf")
        .ok_or_else(|| anyhow!("GET /login has no login_csrf field"))?;
    let form = form_encode(&[
        ("username", username),
        ("password", PASSWORD),
        ("login_csrf", &csrf_field),
        ("next", "/"),
    ]);
    let r = request(
        addr,
        Method::POST,
        "/login",
        &[(header::COOKIE, format!("linli_login_csrf={csrf_cookie}"))],
        Some(("application/x-www-form-urlencoded", form.into_bytes())),
    )
    .await?;
    if r.status != StatusCode::SEE_OTHER {
        bail!("POST /login answered {} (expected 303 See Other)", r.status);
    }
    let session_cookie = r
        .set_cookie("linli_session")
        .ok_or_else(|| anyhow!("POST /login set no linli_session cookie"))?;

    // The street.
    let r = request(
        addr,
        Method::GET,
        "/api/v1/places?kind=street&limit=1",
        &[(header::AUTHORIZATION, format!("Bearer {bearer}"))],
        None,
    )
    .await?;
    if r.status != StatusCode::OK {
        bail!(
            "GET /api/v1/places?kind=street&limit=1 answered {}: {}",
            r.status,
            r.text()
        );
    }
    let v: serde_json::Value =
        serde_json::from_slice(&r.body).context("GET /api/v1/places: not JSON")?;
    // Workers below a street browse no street: their street id is 0.
    let street_id = v["items"][0]["id"]
        .as_i64()
        .or((username != USERNAME).then_some(0))
        .ok_or_else(|| {
            anyhow!(
                "GET /api/v1/places?kind=street&limit=1: no items[0].id in {}",
                r.text()
            )
        })?;
    Ok(Credentials {
        bearer,
        session_cookie,
        street_id,
    })
}

// ---------------------------------------------------------------- load

struct Scenario {
    name: String,
    what: &'static str,
    /// The path; with `cycle` > 0, the prefix to which 1..=cycle is appended in turn.
    path: String,
    headers: Vec<(header::HeaderName, HeaderValue)>,
    cycle: u64,
    next: AtomicU64,
}

impl Scenario {
    fn new(
        name: &str,
        what: &'static str,
        path: String,
        headers: Vec<(header::HeaderName, HeaderValue)>,
    ) -> Scenario {
        Scenario {
            name: name.into(),
            what,
            path,
            headers,
            cycle: 0,
            next: AtomicU64::new(0),
        }
    }

    /// The path as shown in reports.
    fn shown_path(&self) -> String {
        if self.cycle > 0 {
            format!("{}{{1..={}}}", self.path, self.cycle)
        } else {
            self.path.clone()
        }
    }

    fn request(&self, host: &HeaderValue) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(Bytes::new()));
        *req.uri_mut() = if self.cycle > 0 {
            let n = self.next.fetch_add(1, Ordering::Relaxed) % self.cycle + 1;
            format!("{}{n}", self.path).parse().expect("valid path")
        } else {
            self.path.parse().expect("valid path")
        };
        let h = req.headers_mut();
        h.insert(header::HOST, host.clone());
        for (k, v) in &self.headers {
            h.insert(k.clone(), v.clone());
        }
        req
    }
}

#[derive(Default)]
struct WorkerStats {
    /// Latencies (µs) of the requests that completed in the measured window, any status.
    latencies: Vec<u32>,
    ok: u64,
    statuses: BTreeMap<u16, u64>,
    transport_errors: u64,
    first_error: Option<String>,
    bytes: u64,
    reconnects: u64,
}

struct Outcome {
    name: String,
    what: &'static str,
    path: String,
    seconds: f64,
    requests: u64,
    ok: u64,
    errors: u64,
    statuses: BTreeMap<u16, u64>,
    transport_errors: u64,
    first_error: Option<String>,
    p50_us: u32,
    p90_us: u32,
    p99_us: u32,
    max_us: u32,
    mean_bytes: f64,
    reconnects: u64,
    server_cpu: Option<Duration>,
    /// The server's peak RSS (kB), thread count and open database files seen while measuring.
    peak: Sample,
}

impl Outcome {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
    fn ok_rps(&self) -> f64 {
        self.ok as f64 / self.seconds
    }
    /// Server CPU per request, in µs.
    fn cpu_per_req_us(&self) -> Option<f64> {
        let cpu = self.server_cpu?;
        (self.requests > 0).then(|| cpu.as_secs_f64() * 1e6 / self.requests as f64)
    }
}

async fn worker(addr: SocketAddr, sc: Arc<Scenario>, start: Instant, end: Instant) -> WorkerStats {
    let host = HeaderValue::from_str(&addr.to_string()).expect("host");
    let mut st = WorkerStats::default();
    let mut sender: Option<Sender> = None;
    let mut connected_once = false;
    while Instant::now() < end {
        if sender.is_none() {
            match connect(addr).await {
                Ok(s) => {
                    if connected_once {
                        st.reconnects += 1;
                    }
                    connected_once = true;
                    sender = Some(s);
                }
                Err(e) => {
                    if Instant::now() >= start {
                        st.transport_errors += 1;
                    }
                    st.first_error
                        .get_or_insert_with(|| format!("connect: {e:#}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let s = sender.as_mut().expect("connected");
        let req = sc.request(&host);
        let t0 = Instant::now();
        let res = tokio::time::timeout(REQUEST_TIMEOUT, async {
            s.ready().await?;
            let res = s.send_request(req).await?;
            let status = res.status();
            let keep = !res
                .headers()
                .get(header::CONNECTION)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
            let body = res.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body.len(), keep))
        })
        .await;
        let t1 = Instant::now();
        let counted = t1 >= start && t1 < end;
        match res {
            Ok(Ok((status, len, keep))) => {
                if counted {
                    st.latencies
                        .push((t1 - t0).as_micros().min(u32::MAX as u128) as u32);
                    *st.statuses.entry(status.as_u16()).or_default() += 1;
                    if status.is_success() {
                        st.ok += 1;
                    }
                    st.bytes += len as u64;
                }
                if !keep {
                    sender = None;
                }
            }
            Ok(Err(e)) => {
                if counted {
                    st.transport_errors += 1;
                }
                st.first_error.get_or_insert_with(|| format!("{e:#}"));
                sender = None;
            }
            Err(_) => {
                if counted {
                    st.transport_errors += 1;
                }
                st.first_error
                    .get_or_insert_with(|| format!("no answer in {} s", REQUEST_TIMEOUT.as_secs()));
                sender = None;
            }
        }
    }
    st
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// How hard and how long a scenario is driven.
#[derive(Clone, Copy)]
struct Load {
    warmup: f64,
    seconds: f64,
    connections: usize,
}

async fn run_scenario(addr: SocketAddr, pid: i32, sc: Scenario, args: Load) -> Outcome {
    let sc = Arc::new(sc);
    let t0 = Instant::now();
    let start = t0 + Duration::from_secs_f64(args.warmup);
    let end = start + Duration::from_secs_f64(args.seconds);
    let tasks: Vec<_> = (0..args.connections)
        .map(|_| tokio::spawn(worker(addr, sc.clone(), start, end)))
        .collect();
    // Server CPU over the measured window only; its memory, threads and open database files
    // sampled every 100 ms meanwhile.
    tokio::time::sleep_until(start.into()).await;
    let cpu0 = proc_cpu(pid);
    let mut peak = Sample::default();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    while Instant::now() < end {
        tick.tick().await;
        peak = peak.max(Sample::take(pid));
    }
    tokio::time::sleep_until(end.into()).await;
    let cpu1 = proc_cpu(pid);
    let mut all = WorkerStats::default();
    for t in tasks {
        match t.await {
            Ok(st) => {
                all.latencies.extend(st.latencies);
                all.ok += st.ok;
                for (k, v) in st.statuses {
                    *all.statuses.entry(k).or_default() += v;
                }
                all.transport_errors += st.transport_errors;
                all.bytes += st.bytes;
                all.reconnects += st.reconnects;
                if all.first_error.is_none() {
                    all.first_error = st.first_error;
                }
            }
            Err(e) => {
                all.transport_errors += 1;
                all.first_error
                    .get_or_insert_with(|| format!("worker panicked: {e}"));
            }
        }
    }
    all.latencies.sort_unstable();
    let completed = all.latencies.len() as u64;
    let requests = completed + all.transport_errors;
    Outcome {
        name: sc.name.clone(),
        what: sc.what,
        path: sc.shown_path(),
        seconds: args.seconds,
        requests,
        ok: all.ok,
        errors: requests - all.ok,
        statuses: all.statuses,
        transport_errors: all.transport_errors,
        first_error: all.first_error,
        p50_us: percentile(&all.latencies, 50.0),
        p90_us: percentile(&all.latencies, 90.0),
        p99_us: percentile(&all.latencies, 99.0),
        max_us: all.latencies.last().copied().unwrap_or(0),
        mean_bytes: if completed > 0 {
            all.bytes as f64 / completed as f64
        } else {
            0.0
        },
        reconnects: all.reconnects,
        server_cpu: match (cpu0, cpu1) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        },
        peak,
    }
}

// ---------------------------------------------------------------- the command

fn ms(us: u32) -> f64 {
    us as f64 / 1000.0
}

fn pass(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

fn http(args: HttpArgs) -> Result<ExitCode> {
    let size = args.size.trim().to_ascii_lowercase();
    if !["small", "street", "district"].contains(&size.as_str()) {
        bail!(
            "unknown --size {:?}: use small, street or district",
            args.size
        );
    }
    if args.connections == 0 {
        bail!("--connections must be at least 1");
    }
    if !args.seconds.is_finite()
        || args.seconds <= 0.0
        || !args.warmup.is_finite()
        || args.warmup < 0.0
    {
        bail!("--seconds must be positive and --warmup not negative");
    }
    let args = HttpArgs { size, ..args };

    let linli = find_linli()?;

    let data = match &args.keep {
        Some(d) => {
            let reuse = d
                .read_dir()
                .map(|mut it| it.next().is_some())
                .unwrap_or(false);
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            if reuse {
                println!(
                    "note: {} is not empty; an existing demo there is reused, so startup measures reuse, not generation",
                    d.display()
                );
            }
            DataDir {
                path: std::path::absolute(d)?,
                keep: true,
            }
        }
        None => temp_data_dir("linli-bench")?,
    };

    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!("linli-bench http");
    println!("  binary      {}", linli.display());
    println!(
        "  data        {}{}",
        data.path.display(),
        if data.keep { " (kept)" } else { "" }
    );
    let load = if args.startup_only {
        "no load (--startup-only)".to_string()
    } else {
        format!(
            "load {} connections × {} s (+{} s warm-up) per scenario",
            args.connections, args.seconds, args.warmup
        )
    };
    println!(
        "  demo        --size {} --seed {}; {load}",
        args.size, args.seed
    );
    println!(
        "  machine     {cpus} CPUs, load average {}",
        loadavg
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    let ready_target = if args.size == "district" {
        Duration::from_secs(180)
    } else {
        Duration::from_secs(10)
    };
    let ready_limit = if args.size == "district" {
        Duration::from_secs(3600)
    } else {
        Duration::from_secs(600)
    };
    println!("\nstarting linli demo …");
    let demo = DemoSpec {
        size: &args.size,
        seed: args.seed,
        env: &[],
    };
    let (mut server, ready) = start_server(&linli, &data.path, &demo, ready_limit)?;
    let pid = server.pid();
    let addr = server.addr;
    println!(
        "  ready in {:.2} s at http://{addr} (pid {pid})",
        ready.as_secs_f64()
    );
    std::thread::sleep(Duration::from_millis(100));
    if let Some(l) = server
        .stdout_lines
        .lock()
        .expect("lines")
        .iter()
        .find(|l| l.starts_with("demo street"))
    {
        println!("  {}", l.split(';').next().unwrap_or(l));
    }
    std::thread::sleep(Duration::from_millis(900));
    if !server.alive() {
        bail!(
            "linli exited right after it was ready:\n  {}",
            server.stderr_tail(15).join("\n  ")
        );
    }
    let idle_rss =
        proc_status_num(pid, "VmRSS").ok_or_else(|| anyhow!("cannot read /proc/{pid}/status"))?;
    let startup_hwm = proc_status_num(pid, "VmHWM");
    println!(
        "  idle RSS {:.1} MB (peak so far {:.1} MB)",
        mb(idle_rss),
        startup_hwm.map(mb).unwrap_or(f64::NAN)
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    let mut wholesale_failure: Option<String> = None;
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut idle_conn: Option<Sender> = None;
    if !args.startup_only {
        let creds = match rt.block_on(sign_in(addr)) {
            Ok(c) => c,
            Err(e) => {
                let tail = server.stderr_tail(10).join("\n  ");
                stop_and_report(&mut server);
                bail!("signing in failed: {e:#}\nlinli's last stderr lines:\n  {tail}");
            }
        };
        println!("  signed in as {USERNAME}; street id {}", creds.street_id);
        let bearer = HeaderValue::from_str(&format!("Bearer {}", creds.bearer))?;
        let cookie = HeaderValue::from_str(&format!("linli_session={}", creds.session_cookie))?;
        let scenarios = vec![
            Scenario::new(
                "healthz",
                "baseline: the same server stack doing no work",
                "/healthz".into(),
                vec![],
            ),
            Scenario::new("login page", "anonymous HTML", "/login".into(), vec![]),
            Scenario::new(
                "place page",
                "authenticated HTML (session cookie)",
                format!("/places/{}", creds.street_id),
                vec![(header::COOKIE, cookie)],
            ),
            Scenario::new(
                "places API",
                "authenticated JSON list (Bearer)",
                "/api/v1/places?limit=50".into(),
                vec![(header::AUTHORIZATION, bearer)],
            ),
        ];
        // A quick check that each scenario answers 2xx before loading it.
        for sc in &scenarios {
            let headers: Vec<_> = sc
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.to_str().unwrap_or("").to_string()))
                .collect();
            match rt.block_on(request(addr, Method::GET, &sc.path, &headers, None)) {
                Ok(r) if r.status.is_success() => {}
                Ok(r) => println!(
                    "  warning: GET {} answered {} before the load: {}",
                    sc.path,
                    r.status,
                    r.text().chars().take(200).collect::<String>()
                ),
                Err(e) => println!("  warning: GET {} failed before the load: {e:#}", sc.path),
            }
        }
        println!();
        for sc in scenarios {
            print!("  running {:<12} GET {} … ", sc.name, sc.path);
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
            let load = Load {
                warmup: args.warmup,
                seconds: args.seconds,
                connections: args.connections,
            };
            let o = rt.block_on(run_scenario(addr, pid, sc, load));
            println!("{:.0} req/s", o.rps());
            if o.ok == 0 || o.errors * 2 > o.requests {
                wholesale_failure.get_or_insert_with(|| {
                    format!(
                        "GET {}: {} of {} requests failed{}",
                        o.path,
                        o.errors,
                        o.requests,
                        o.first_error
                            .as_deref()
                            .map(|e| format!(" ({e})"))
                            .unwrap_or_default()
                    )
                });
            }
            outcomes.push(o);
            if !server.alive() {
                wholesale_failure.get_or_insert_with(|| "linli exited during the load".into());
                break;
            }
        }
        // One idle keep-alive connection stays open over the shutdown, as a browser's would.
        idle_conn = rt.block_on(async {
            let mut s = connect(addr).await.ok()?;
            let req = Request::get("/healthz")
                .header(header::HOST, addr.to_string())
                .body(Full::new(Bytes::new()))
                .ok()?;
            let res = s.send_request(req).await.ok()?;
            res.into_body().collect().await.ok()?;
            Some(s)
        });
    }
    // CPU while nothing is asked of the server: its background jobs' cost (after a moment
    // for the load's last audit entries and index writes to settle).
    let idle_cpu = if args.idle_seconds > 0.0 {
        std::thread::sleep(Duration::from_secs(2));
        let c0 = proc_cpu(pid);
        std::thread::sleep(Duration::from_secs_f64(args.idle_seconds));
        match (c0, proc_cpu(pid)) {
            (Some(a), Some(b)) => {
                Some(b.saturating_sub(a).as_secs_f64() * 60.0 / args.idle_seconds)
            }
            _ => None,
        }
    } else {
        None
    };
    let after_rss = proc_status_num(pid, "VmRSS");
    let peak_rss = proc_status_num(pid, "VmHWM");

    // ---------------------------------------------------------------- report
    let base = outcomes.first().map(|o| o.ok_rps()).filter(|r| *r > 0.0);
    if !outcomes.is_empty() {
        println!(
            "\n{:<12} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>10}",
            "scenario",
            "requests",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "errors",
            "vs healthz"
        );
        for o in &outcomes {
            let ratio = base
                .map(|b| format!("{:.1}%", 100.0 * o.ok_rps() / b))
                .unwrap_or("-".into());
            println!(
                "{:<12} {:>9} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.1} {:>7} {:>10}",
                o.name,
                o.requests,
                o.rps(),
                ms(o.p50_us),
                ms(o.p90_us),
                ms(o.p99_us),
                ms(o.max_us),
                o.errors,
                ratio
            );
        }
        println!(
            "\n{:<12} {:>11} {:>9} {:>12} {:>9} {:>9}",
            "server side", "CPU µs/req", "KB/resp", "peak RSS MB", "threads", "db files"
        );
        for o in &outcomes {
            let cpu = o
                .cpu_per_req_us()
                .map(|c| format!("{c:.0}"))
                .unwrap_or("-".into());
            println!(
                "{:<12} {:>11} {:>9.1} {:>12.1} {:>9} {:>9}",
                o.name,
                cpu,
                o.mean_bytes / 1024.0,
                mb(o.peak.rss_kb),
                o.peak.threads,
                o.peak.db_files
            );
        }
        println!();
        for o in &outcomes {
            println!("  {:<12} GET {}  ({})", o.name, o.path, o.what);
            if o.errors > 0 {
                let st: Vec<String> = o
                    .statuses
                    .iter()
                    .filter(|(k, _)| !(200..300).contains(*k))
                    .map(|(k, v)| format!("{v}× {k}"))
                    .collect();
                println!(
                    "    errors: {}{}{}",
                    st.join(", "),
                    if o.transport_errors > 0 {
                        format!(" {}× transport", o.transport_errors)
                    } else {
                        String::new()
                    },
                    o.first_error
                        .as_deref()
                        .map(|e| format!(" (first: {e})"))
                        .unwrap_or_default()
                );
            }
            if o.reconnects > 0 {
                println!(
                    "    reconnects: {} (the server closed keep-alive connections)",
                    o.reconnects
                );
            }
        }
        println!(
            "  req/s counts every answer; \"vs healthz\" compares 2xx answers per second with /healthz's."
        );
        println!(
            "  CPU µs/req: the server's user+system CPU time per request over the measured window;"
        );
        println!(
            "  peak RSS, threads and db files (open SQLite database files) are the server's highest \
             values sampled every 100 ms while measuring."
        );
    }
    println!();
    println!(
        "startup-to-ready   {:>8.2} s   (--size {})",
        ready.as_secs_f64(),
        args.size
    );
    println!("idle RSS           {:>8.1} MB", mb(idle_rss));
    if let Some(a) = after_rss.filter(|_| !outcomes.is_empty()) {
        println!("RSS after the load {:>8.1} MB", mb(a));
    }
    if let Some(p) = peak_rss {
        println!("peak RSS (VmHWM)   {:>8.1} MB", mb(p));
    }
    if let Some(c) = idle_cpu {
        println!(
            "idle CPU           {c:>8.2} s per minute (user+system over {} s idle, scaled to a minute)",
            args.idle_seconds
        );
    }

    // ---------------------------------------------------------------- shutdown
    let idle_note = if idle_conn.is_some() {
        " (with 1 idle keep-alive connection open)"
    } else {
        ""
    };
    let (status, took) = server.stop(Duration::from_secs(30))?;
    let clean = matches!(status, Some(s) if s.success());
    let how = match status {
        Some(s) if s.success() => "exited cleanly (status 0)".to_string(),
        Some(s) => format!("exited with {s}"),
        None => "did not exit within 30 s; killed".to_string(),
    };
    println!(
        "shutdown (SIGTERM) {:>8.3} s   {how}{idle_note}",
        took.as_secs_f64()
    );
    drop(idle_conn);
    drop(rt);

    // ---------------------------------------------------------------- targets
    println!("\ntargets");
    let ready_ok = ready < ready_target;
    println!(
        "  {}  ready < {} s ({}): {:.2} s",
        pass(ready_ok),
        ready_target.as_secs(),
        if args.size == "district" {
            "district"
        } else {
            "street"
        },
        ready.as_secs_f64()
    );
    println!(
        "  {}  idle RSS < 60 MB: {:.1} MB",
        pass(mb(idle_rss) < 60.0),
        mb(idle_rss)
    );
    match (outcomes.iter().find(|o| o.name == "places API"), base) {
        (Some(o), Some(b)) => {
            let ratio = o.ok_rps() / b;
            println!(
                "  {}  JSON list ≥ 40% of /healthz req/s: {:.0}% ({:.0} vs {:.0} req/s)",
                pass(ratio >= 0.40),
                ratio * 100.0,
                o.ok_rps(),
                b
            );
            println!(
                "  {}  JSON list p99 < 20 ms: {:.2} ms",
                pass(o.p99_us < 20_000 && o.ok > 0),
                ms(o.p99_us)
            );
        }
        _ if args.startup_only => println!("  skip  JSON list targets (--startup-only)"),
        _ => println!("  FAIL  JSON list targets: not measured"),
    }
    match idle_cpu {
        Some(c) => println!(
            "  {}  idle CPU < 1 s per minute: {c:.2} s (over {} s)",
            pass(c < 1.0),
            args.idle_seconds
        ),
        None => println!("  skip  idle CPU (--idle-seconds 0)"),
    }
    println!("  {}  graceful shutdown on SIGTERM: {how}", pass(clean));
    if data.keep {
        println!(
            "\ndata kept in {} (server stderr in bench-server-stderr.log)",
            data.path.display()
        );
    }
    if let Some(why) = wholesale_failure {
        eprintln!("linli-bench: requests failed wholesale: {why}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The `linli` binary next to this executable.
fn find_linli() -> Result<PathBuf> {
    find_sibling("linli")
}

/// The bench build of the server (`src/bin/linli-bench-server.rs`): `linli` with the routes and
/// switches the comparisons need, which `linli` itself never serves.
fn find_bench_server() -> Result<PathBuf> {
    find_sibling("linli-bench-server")
}

fn find_sibling(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow!("{} has no parent folder", exe.display()))?;
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        bail!(
            "{} is missing: build it first with `cargo build --release --bins` (then run target/release/linli-bench)",
            path.display()
        );
    }
    Ok(path)
}

/// A fresh folder under the system's temporary folder, removed on drop.
fn temp_data_dir(prefix: &str) -> Result<DataDir> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let p = std::env::temp_dir().join(format!("{prefix}-{}-{nanos:08x}", std::process::id()));
    std::fs::create_dir(&p).with_context(|| format!("cannot create {}", p.display()))?;
    Ok(DataDir {
        path: p,
        keep: false,
    })
}

/// Stops the server on an error path, saying how it went.
fn stop_and_report(server: &mut Server) {
    match server.stop(Duration::from_secs(30)) {
        Ok((Some(st), took)) => eprintln!("linli stopped ({st}) in {:.2} s", took.as_secs_f64()),
        Ok((None, _)) => eprintln!("linli did not stop within 30 s; killed"),
        Err(e) => eprintln!("could not stop linli: {e:#}"),
    }
}

// ---------------------------------------------------------------- the audit command
//
// `linli-bench audit` checks the audit-log targets, each against a baseline from the same run:
//
// 1. append throughput on SQLite, through the production appender (`Auditor`, many concurrent
//    requests awaiting their commit) and in bulk (`audit::append`, batches of 2,048), which
//    also builds the log for step 2;
// 2. `linli audit verify` over that log, beside `linli migrate` (the same binary's startup);
// 3. a person-detail request with its audit entry against the same request on a server
//    started with `LINLI_BENCH_SKIP_AUDIT=1`, which writes no entries;
// 4. the mixed run (mixed.rs): audited reads and case creation with a log of 10 million
//    entries, while the anomaly scan runs.

/// Concurrent tasks recording entries through the production appender.
const APPEND_TASKS: usize = 64;
/// Entries per transaction in the bulk append (the appender's own batch limit).
const BULK_BATCH: u64 = 2048;
/// Household ids the detail requests cycle through (all exist in the street demo).
const HOUSEHOLD_IDS: u64 = 2000;
/// The append-rate target, entries per second.
const APPEND_TARGET: f64 = 20_000.0;
/// The verify-time target, seconds (for a log of 1,000,000 entries).
const VERIFY_TARGET: f64 = 10.0;
/// The most an audited read may cost relative to an unaudited one.
const AUDIT_COST_TARGET: f64 = 1.3;

fn bench_entry(n: u64) -> linli::audit::NewEntry {
    linli::audit::NewEntry {
        at: linli::store::now_ms(),
        street_id: Some(2),
        actor_id: Some(3),
        actor: "wangge".into(),
        role: "grid_worker".into(),
        org: None,
        scope: vec!["310115/310115004/c01/g0101".into()],
        action: linli::audit::Action::Read,
        subjects: vec![format!("household:{n}"), format!("person:{n}")],
        purpose: None,
        request_id: "bench".into(),
    }
}

struct AppendOutcome {
    committed: u64,
    errors: u64,
    first_error: Option<String>,
    /// From the first record to the last one committed.
    seconds: f64,
    /// Entries committed in each whole second of the window.
    per_second: Vec<u64>,
    p50_us: u32,
    p99_us: u32,
    max_us: u32,
}

impl AppendOutcome {
    fn rate(&self) -> f64 {
        self.committed as f64 / self.seconds
    }
}

/// Step 1a: `APPEND_TASKS` tasks each awaiting `Auditor::record` in a loop for `seconds`.
fn measure_appender(
    db: &linli::store::Db,
    key: &linli::audit::LogKey,
    seconds: f64,
) -> Result<AppendOutcome> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let auditor = Arc::new(linli::audit::Auditor::start(db.clone(), key.clone()));
    let committed = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let out = rt.block_on(async {
        let start = Instant::now();
        let end = start + Duration::from_secs_f64(seconds);
        let tasks: Vec<_> = (0..APPEND_TASKS)
            .map(|_| {
                let auditor = auditor.clone();
                let committed = committed.clone();
                let next = next.clone();
                tokio::spawn(async move {
                    let mut lat: Vec<u32> = Vec::new();
                    let mut errors = 0u64;
                    let mut first_error: Option<String> = None;
                    while Instant::now() < end {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        let t0 = Instant::now();
                        match auditor.record(bench_entry(n)).await {
                            Ok(_) => {
                                committed.fetch_add(1, Ordering::Relaxed);
                                lat.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
                            }
                            Err(e) => {
                                errors += 1;
                                first_error.get_or_insert_with(|| e.to_string());
                                if errors > 1000 {
                                    break;
                                }
                            }
                        }
                    }
                    (lat, errors, first_error)
                })
            })
            .collect();
        let mut per_second = Vec::new();
        let mut last = 0;
        for i in 1..=(seconds.floor() as u32) {
            tokio::time::sleep_until((start + Duration::from_secs(i as u64)).into()).await;
            let c = committed.load(Ordering::Relaxed);
            per_second.push(c - last);
            last = c;
        }
        let mut lat = Vec::new();
        let mut errors = 0;
        let mut first_error = None;
        for t in tasks {
            match t.await {
                Ok((l, e, f)) => {
                    lat.extend(l);
                    errors += e;
                    if first_error.is_none() {
                        first_error = f;
                    }
                }
                Err(e) => {
                    errors += 1;
                    first_error.get_or_insert_with(|| format!("task panicked: {e}"));
                }
            }
        }
        let took = start.elapsed().as_secs_f64();
        lat.sort_unstable();
        AppendOutcome {
            committed: committed.load(Ordering::Relaxed),
            errors,
            first_error,
            seconds: took,
            per_second,
            p50_us: percentile(&lat, 50.0),
            p99_us: percentile(&lat, 99.0),
            max_us: lat.last().copied().unwrap_or(0),
        }
    });
    // Dropping the last sender ends the appender's thread.
    drop(auditor);
    drop(rt);
    Ok(out)
}

struct BulkOutcome {
    written: u64,
    seconds: f64,
    /// Rates over the first and the last tenth of the batches.
    first_rate: f64,
    last_rate: f64,
}

/// Step 1b: `audit::append` in transactions of `BULK_BATCH` until the log holds `total`.
fn bulk_append(db: &linli::store::Db, total: u64) -> Result<BulkOutcome> {
    let existing = db.read_blocking(linli::audit::size)?;
    let todo = total.saturating_sub(existing);
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut batches: Vec<(u64, Duration)> = Vec::new();
    let t0 = Instant::now();
    let mut written = 0u64;
    while written < todo {
        let k = BULK_BATCH.min(todo - written);
        let b0 = Instant::now();
        let first = existing + written;
        let batch: Vec<_> = (first..first + k).map(bench_entry).collect();
        db.write_blocking(|c| linli::audit::append(c, batch))
            .with_context(|| format!("appending entries {first}..{}", first + k))?;
        batches.push((k, b0.elapsed()));
        written += k;
        if tty && batches.len().is_multiple_of(20) {
            eprint!("\r  appended {written} of {todo}");
        }
    }
    if tty && !batches.is_empty() {
        eprintln!("\r  appended {written} of {todo}");
    }
    let seconds = t0.elapsed().as_secs_f64();
    let tenth = (batches.len() / 10).max(1);
    let rate = |bs: &[(u64, Duration)]| {
        let n: u64 = bs.iter().map(|b| b.0).sum();
        let t: f64 = bs.iter().map(|b| b.1.as_secs_f64()).sum();
        if t > 0.0 { n as f64 / t } else { 0.0 }
    };
    Ok(BulkOutcome {
        written,
        seconds,
        first_rate: rate(&batches[..tenth.min(batches.len())]),
        last_rate: rate(&batches[batches.len().saturating_sub(tenth)..]),
    })
}

/// Runs `linli --data DIR ARGS…` to completion; returns its time and output.
fn run_linli(linli: &Path, data: &Path, args: &[&str]) -> Result<(Duration, std::process::Output)> {
    let t0 = Instant::now();
    let out = Command::new(linli)
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("LINLI_CONFIG")
        .env_remove("LINLI_DATABASE_URL")
        .env_remove("LINLI_LISTEN")
        .env_remove("LINLI_DATA")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {} {}", linli.display(), args.join(" ")))?;
    Ok((t0.elapsed(), out))
}

/// The log's size from the public checkpoint (its second line); 0 when none is signed yet.
async fn checkpoint_size(addr: SocketAddr) -> Result<u64> {
    let r = request(addr, Method::GET, "/api/v1/audit/checkpoint", &[], None).await?;
    if r.status == StatusCode::NOT_FOUND {
        return Ok(0);
    }
    if r.status != StatusCode::OK {
        bail!("GET /api/v1/audit/checkpoint answered {}", r.status);
    }
    let text = r.text();
    text.lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| anyhow!("GET /api/v1/audit/checkpoint: no size on line 2 of {text:?}"))
}

struct ServerRun {
    label: &'static str,
    outcome: Outcome,
    entries_before: u64,
    entries_after: u64,
    shutdown: String,
    skip_warning: bool,
}

/// Step 3, one server: start `linli demo`, sign in, drive the person-detail reads, stop it.
fn household_run(
    linli: &Path,
    data: &Path,
    label: &'static str,
    env: &[(&str, &str)],
    load: Load,
    rt: &tokio::runtime::Runtime,
) -> Result<ServerRun> {
    let demo = DemoSpec {
        size: "street",
        seed: 1,
        env,
    };
    let (mut server, ready) = start_server(linli, data, &demo, Duration::from_secs(600))?;
    let addr = server.addr;
    let pid = server.pid();
    println!(
        "  {label}: ready in {:.2} s at http://{addr} (pid {pid})",
        ready.as_secs_f64()
    );
    let fail = |server: &mut Server, e: anyhow::Error| -> anyhow::Error {
        let tail = server.stderr_tail(10).join("\n  ");
        stop_and_report(server);
        anyhow!("{label}: {e:#}\nlinli's last stderr lines:\n  {tail}")
    };
    let creds = match rt.block_on(sign_in(addr)) {
        Ok(c) => c,
        Err(e) => return Err(fail(&mut server, e.context("signing in failed"))),
    };
    let bearer = format!("Bearer {}", creds.bearer);
    for id in [1, HOUSEHOLD_IDS] {
        let path = format!("/api/v1/persons/{id}");
        let r = rt.block_on(request(
            addr,
            Method::GET,
            &path,
            &[(header::AUTHORIZATION, bearer.clone())],
            None,
        ));
        match r {
            Ok(r) if r.status == StatusCode::OK => {}
            Ok(r) => {
                let e = anyhow!(
                    "GET {path} answered {}: {}",
                    r.status,
                    r.text().chars().take(200).collect::<String>()
                );
                return Err(fail(&mut server, e));
            }
            Err(e) => return Err(fail(&mut server, e)),
        }
    }
    let entries_before = match rt.block_on(checkpoint_size(addr)) {
        Ok(n) => n,
        Err(e) => return Err(fail(&mut server, e)),
    };
    let mut sc = Scenario::new(
        "person",
        "person detail (JSON, Bearer)",
        "/api/v1/persons/".into(),
        vec![(header::AUTHORIZATION, HeaderValue::from_str(&bearer)?)],
    );
    sc.cycle = HOUSEHOLD_IDS;
    print!("  {label}: running GET {} … ", sc.shown_path());
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let outcome = rt.block_on(run_scenario(addr, pid, sc, load));
    println!("{:.0} req/s", outcome.rps());
    if outcome.ok == 0 || outcome.errors * 2 > outcome.requests {
        let e = anyhow!(
            "GET {}: {} of {} requests failed{}",
            outcome.path,
            outcome.errors,
            outcome.requests,
            outcome
                .first_error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
        return Err(fail(&mut server, e));
    }
    let entries_after = match rt.block_on(checkpoint_size(addr)) {
        Ok(n) => n,
        Err(e) => return Err(fail(&mut server, e)),
    };
    let (status, took) = server.stop(Duration::from_secs(30))?;
    let shutdown = match status {
        Some(s) if s.success() => format!("exited cleanly in {:.2} s", took.as_secs_f64()),
        Some(s) => format!("exited with {s}"),
        None => "did not exit within 30 s; killed".to_string(),
    };
    let log = std::fs::read_to_string(&server.log_path).unwrap_or_default();
    Ok(ServerRun {
        label,
        outcome,
        entries_before,
        entries_after,
        shutdown,
        skip_warning: log.contains("LINLI_BENCH_SKIP_AUDIT"),
    })
}

/// A folder under `root` that must be new or empty.
fn fresh_subdir(root: &Path, name: &str) -> Result<PathBuf> {
    let p = root.join(name);
    if p.read_dir()
        .map(|mut it| it.next().is_some())
        .unwrap_or(false)
    {
        bail!(
            "{} is not empty: give --keep a new folder (this benchmark never reuses data)",
            p.display()
        );
    }
    std::fs::create_dir_all(&p).with_context(|| format!("cannot create {}", p.display()))?;
    Ok(p)
}

fn file_mb(p: &Path) -> f64 {
    std::fs::metadata(p)
        .map(|m| m.len() as f64 / (1024.0 * 1024.0))
        .unwrap_or(0.0)
}

fn audit(args: AuditArgs) -> Result<ExitCode> {
    if args.connections == 0 {
        bail!("--connections must be at least 1");
    }
    if !args.seconds.is_finite()
        || args.seconds <= 0.0
        || !args.warmup.is_finite()
        || args.warmup < 0.0
    {
        bail!("--seconds must be positive and --warmup not negative");
    }
    let linli = find_linli()?;
    let root = match &args.keep {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            DataDir {
                path: std::path::absolute(d)?,
                keep: true,
            }
        }
        None => temp_data_dir("linli-bench-audit")?,
    };
    if args.mixed.mixed_only {
        println!("linli-bench audit --mixed-only");
        println!("  binary      {}", linli.display());
        println!(
            "  data        {}{}",
            root.path.display(),
            if root.keep { " (kept)" } else { "" }
        );
        mixed::run(&linli, &root.path, &args.mixed)?;
        return Ok(ExitCode::SUCCESS);
    }
    let log_dir = fresh_subdir(&root.path, "log")?;
    let audited_dir = fresh_subdir(&root.path, "server-audited")?;
    let skip_dir = fresh_subdir(&root.path, "server-skip-audit")?;

    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!("linli-bench audit");
    println!("  binary      {}", linli.display());
    println!(
        "  data        {}{}",
        root.path.display(),
        if root.keep { " (kept)" } else { "" }
    );
    println!(
        "  machine     {cpus} CPUs, load average {}",
        loadavg
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    // ------------------------------------------------------------ 1. append on SQLite
    let db_path = log_dir.join("linli.db");
    let db = linli::store::Db::open(&format!("sqlite://{}", db_path.display()))
        .context("opening the log database")?;
    db.migrate_blocking()
        .context("migrating the log database")?;
    // The key `linli audit verify` will load from DIR/keys/log.key.
    let key = linli::audit::LogKey::load_or_create(&log_dir.join("keys"))
        .context("creating the log key")?;

    println!(
        "\n1a. production appender: {APPEND_TASKS} tasks awaiting Auditor::record for {} s …",
        args.seconds
    );
    let app = measure_appender(&db, &key, args.seconds)?;
    let slowest = app.per_second.iter().copied().min();
    let fastest = app.per_second.iter().copied().max();
    println!(
        "    {} entries committed in {:.2} s: {:.0} entries/s; commit latency p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms",
        app.committed,
        app.seconds,
        app.rate(),
        ms(app.p50_us),
        ms(app.p99_us),
        ms(app.max_us)
    );
    if let (Some(lo), Some(hi)) = (slowest, fastest) {
        println!(
            "    per second: slowest {lo}, fastest {hi} ({})",
            app.per_second
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if app.errors > 0 {
        println!(
            "    errors: {}{}",
            app.errors,
            app.first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
    }

    println!(
        "\n1b. bulk: audit::append in transactions of {BULK_BATCH} until the log holds {} entries …",
        args.entries
    );
    let bulk = bulk_append(&db, args.entries)?;
    let bulk_rate = if bulk.seconds > 0.0 {
        bulk.written as f64 / bulk.seconds
    } else {
        0.0
    };
    if bulk.written > 0 {
        println!(
            "    {} entries in {:.2} s: {:.0} entries/s (first tenth {:.0}/s, last tenth {:.0}/s)",
            bulk.written, bulk.seconds, bulk_rate, bulk.first_rate, bulk.last_rate
        );
    } else {
        println!("    nothing to append: the appender already wrote --entries");
    }
    let total = db.read_blocking(linli::audit::size)?;
    let head = db
        .write_blocking(|c| linli::audit::sign_head(c, &key))
        .context("signing a tree head")?
        .ok_or_else(|| anyhow!("the log is empty: nothing to sign"))?;
    db.close();
    drop(db);
    println!(
        "    log: {total} entries, head signed at size {}; linli.db {:.0} MB (+ WAL {:.0} MB)",
        head.size,
        file_mb(&db_path),
        file_mb(&log_dir.join("linli.db-wal"))
    );

    // ------------------------------------------------------------ 2. verify
    println!("\n2. linli audit verify over {total} entries (baseline: linli migrate) …");
    let mut startup = Vec::new();
    for _ in 0..3 {
        let (took, out) = run_linli(&linli, &log_dir, &["migrate"])?;
        if !out.status.success() {
            bail!(
                "linli migrate failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        startup.push(took.as_secs_f64());
    }
    startup.sort_by(f64::total_cmp);
    let startup_s = startup[1];
    println!(
        "    linli migrate (startup, open, migrate check): {:.3} s (median of 3: {})",
        startup_s,
        startup
            .iter()
            .map(|s| format!("{s:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (verify_took, out) = run_linli(&linli, &log_dir, &["audit", "verify"])?;
    let verify_s = verify_took.as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let verify_line = stdout.lines().next().unwrap_or("").to_string();
    let verify_ok = out.status.success() && stdout.contains("audit log OK");
    let counted_all = stdout.contains(&format!("audit log OK: {total} entries"));
    println!(
        "    linli audit verify: {verify_s:.2} s, {}: {verify_line}",
        out.status
    );
    if !verify_ok {
        let err = String::from_utf8_lossy(&out.stderr);
        println!(
            "    its stderr: {}",
            err.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
        );
    } else if !counted_all {
        println!("    warning: verify did not report {total} entries");
    }

    // ------------------------------------------------------------ 3. audited reads
    println!(
        "\n3. person detail, with and without its audit entry: {} connections × {} s (+{} s warm-up), one server after the other …",
        args.connections, args.seconds, args.warmup
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let load = Load {
        warmup: args.warmup,
        seconds: args.seconds,
        connections: args.connections,
    };
    // Both runs on the bench build of the server, one of them told to skip the entries.
    let bench_server = find_bench_server()?;
    let with = household_run(&bench_server, &audited_dir, "with audit", &[], load, &rt)?;
    let without = household_run(
        &bench_server,
        &skip_dir,
        "without audit",
        &[("LINLI_BENCH_SKIP_AUDIT", "1")],
        load,
        &rt,
    )?;
    drop(rt);

    println!(
        "\n    {:<14} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>11}",
        "server",
        "requests",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "errors",
        "CPU µs/req"
    );
    for r in [&with, &without] {
        let o = &r.outcome;
        println!(
            "    {:<14} {:>9} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.1} {:>7} {:>11}",
            r.label,
            o.requests,
            o.rps(),
            ms(o.p50_us),
            ms(o.p90_us),
            ms(o.p99_us),
            ms(o.max_us),
            o.errors,
            o.cpu_per_req_us()
                .map(|c| format!("{c:.0}"))
                .unwrap_or("-".into())
        );
    }
    for r in [&with, &without] {
        println!(
            "    {}: audit entries {} before the load, {} after: {} written during warm-up + load ({} 2xx answers in the measured window); {}{}",
            r.label,
            r.entries_before,
            r.entries_after,
            r.entries_after.saturating_sub(r.entries_before),
            r.outcome.ok,
            r.shutdown,
            if r.skip_warning {
                "; logged the LINLI_BENCH_SKIP_AUDIT warning"
            } else {
                ""
            }
        );
    }
    if !without.skip_warning || without.entries_after > without.entries_before {
        println!(
            "    warning: the server started with LINLI_BENCH_SKIP_AUDIT=1 did not seem to skip auditing"
        );
    }
    let rps_with = with.outcome.ok_rps();
    let rps_without = without.outcome.ok_rps();
    let cost = if rps_with > 0.0 {
        rps_without / rps_with
    } else {
        f64::INFINITY
    };
    let p50_ratio = if without.outcome.p50_us > 0 {
        with.outcome.p50_us as f64 / without.outcome.p50_us as f64
    } else {
        f64::NAN
    };
    println!(
        "    cost ratio (req/s without ÷ req/s with): {cost:.2}; p50 ratio (with ÷ without): {p50_ratio:.2}"
    );

    // ------------------------------------------------------------ targets
    println!("\ntargets");
    println!(
        "  {}  append ≥ {:.0} entries/s sustained, production appender ({APPEND_TASKS} tasks, SQLite): {:.0}/s over {:.1} s (slowest second {}){}",
        pass(app.rate() >= APPEND_TARGET && app.errors == 0),
        APPEND_TARGET,
        app.rate(),
        app.seconds,
        slowest.map(|n| n.to_string()).unwrap_or("-".into()),
        if app.errors > 0 {
            format!("; {} errors", app.errors)
        } else {
            String::new()
        }
    );
    if bulk.written > 0 {
        println!(
            "  {}  append ≥ {:.0} entries/s sustained, bulk (audit::append, {BULK_BATCH} per transaction): {:.0}/s over {} entries (last tenth {:.0}/s)",
            pass(bulk_rate >= APPEND_TARGET && bulk.last_rate >= APPEND_TARGET),
            APPEND_TARGET,
            bulk_rate,
            bulk.written,
            bulk.last_rate
        );
    } else {
        println!("  skip  bulk append: nothing left to append after the appender");
    }
    println!(
        "  {}  linli audit verify over {total} entries < {VERIFY_TARGET:.0} s: {verify_s:.2} s (of which startup ≈ {startup_s:.2} s){}",
        pass(verify_ok && counted_all && verify_s < VERIFY_TARGET),
        if verify_ok {
            String::new()
        } else {
            format!("; it did not say OK: {verify_line}")
        }
    );
    if total != 1_000_000 {
        println!(
            "        (the target is for 1,000,000 entries; this run used --entries {})",
            args.entries
        );
    }
    println!(
        "  {}  audited person-detail read ≤ {AUDIT_COST_TARGET}× the unaudited one: {cost:.2}× ({rps_with:.0} vs {rps_without:.0} req/s; p50 {:.2} vs {:.2} ms, {p50_ratio:.2}×)",
        pass(cost <= AUDIT_COST_TARGET),
        ms(with.outcome.p50_us),
        ms(without.outcome.p50_us)
    );
    if !args.mixed.no_mixed {
        mixed::run(&linli, &root.path, &args.mixed)?;
    }
    if root.keep {
        println!(
            "\ndata kept in {} (log/, server-audited/, server-skip-audit/; server stderr in bench-server-stderr.log)",
            root.path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
