//! What every subcommand shares: the server process, finding the binaries and data folders,
//! one-off requests and signing in.

use super::*;

// ---------------------------------------------------------------- the server process

/// The data folder: removed on drop unless it is kept.
pub(crate) struct DataDir {
    pub(crate) path: PathBuf,
    pub(crate) keep: bool,
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The running `linli` process; killed on drop if still running (error paths).
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) stdout_lines: Arc<Mutex<Vec<String>>>,
    pub(crate) log_path: PathBuf,
}

impl Server {
    pub(crate) fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub(crate) fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then waits up to `limit`; SIGKILL after that.
    pub(crate) fn stop(&mut self, limit: Duration) -> Result<(Option<ExitStatus>, Duration)> {
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

    pub(crate) fn stderr_tail(&self, n: usize) -> Vec<String> {
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

pub(crate) enum StdoutEvent {
    Ready(SocketAddr, Instant),
    Closed,
}

pub(crate) fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(l.local_addr()?.port())
}

/// What `linli demo` is started with.
pub(crate) struct DemoSpec<'a> {
    pub(crate) size: &'a str,
    pub(crate) seed: u64,
    /// Extra environment variables for the server.
    pub(crate) env: &'a [(&'a str, &'a str)],
}

/// Starts `linli demo` and waits for its "listening" line; returns the server and the
/// startup-to-ready time.
pub(crate) fn start_server(
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
pub(crate) fn proc_status_num(pid: i32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// The process's user + system CPU time so far.
pub(crate) fn proc_cpu(pid: i32) -> Option<Duration> {
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
pub(crate) struct Sample {
    pub(crate) rss_kb: u64,
    pub(crate) threads: u64,
    /// Open file descriptors on the SQLite database file (one per open connection).
    pub(crate) db_files: u64,
}

impl Sample {
    pub(crate) fn take(pid: i32) -> Sample {
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

    pub(crate) fn max(self, o: Sample) -> Sample {
        Sample {
            rss_kb: self.rss_kb.max(o.rss_kb),
            threads: self.threads.max(o.threads),
            db_files: self.db_files.max(o.db_files),
        }
    }
}

pub(crate) fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

// ---------------------------------------------------------------- one-off requests

pub(crate) type Sender = SendRequest<Full<Bytes>>;

pub(crate) async fn connect(addr: SocketAddr) -> Result<Sender> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of cookie `name` from the Set-Cookie headers.
    pub(crate) fn set_cookie(&self, name: &str) -> Option<String> {
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
pub(crate) async fn request(
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
pub(crate) fn form_encode(pairs: &[(&str, &str)]) -> String {
    pub(crate) fn enc(s: &str, out: &mut String) {
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
pub(crate) fn hidden_input(html: &str, name: &str) -> Option<String> {
    let key = format!("name=\"{name}\"");
    let at = html.find(&key)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + "value=\"".len();
    let end = v + tag[v..].find('"')?;
    Some(tag[v..end].to_string())
}

pub(crate) struct Credentials {
    pub(crate) bearer: String,
    pub(crate) session_cookie: String,
    pub(crate) street_id: i64,
}

pub(crate) async fn sign_in(addr: SocketAddr) -> Result<Credentials> {
    sign_in_as(addr, USERNAME).await
}

/// Signs in as a demo account (the demo's password): a Bearer token and a page session.
pub(crate) async fn sign_in_as(addr: SocketAddr, username: &str) -> Result<Credentials> {
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

/// The `linli` binary next to this executable.
pub(crate) fn find_linli() -> Result<PathBuf> {
    find_sibling("linli")
}

/// The bench build of the server (`src/bin/linli-bench-server.rs`): `linli` with the routes and
/// switches the comparisons need, which `linli` itself never serves.
pub(crate) fn find_bench_server() -> Result<PathBuf> {
    find_sibling("linli-bench-server")
}

pub(crate) fn find_sibling(name: &str) -> Result<PathBuf> {
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
pub(crate) fn temp_data_dir(prefix: &str) -> Result<DataDir> {
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
pub(crate) fn stop_and_report(server: &mut Server) {
    match server.stop(Duration::from_secs(30)) {
        Ok((Some(st), took)) => eprintln!("linli stopped ({st}) in {:.2} s", took.as_secs_f64()),
        Ok((None, _)) => eprintln!("linli did not stop within 30 s; killed"),
        Err(e) => eprintln!("could not stop linli: {e:#}"),
    }
}

/// Runs `linli --data DIR ARGS…` to completion; returns its time and output.
pub(crate) fn run_linli(
    linli: &Path,
    data: &Path,
    args: &[&str],
) -> Result<(Duration, std::process::Output)> {
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

/// A folder under `root` that must be new or empty.
pub(crate) fn fresh_subdir(root: &Path, name: &str) -> Result<PathBuf> {
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

pub(crate) fn file_mb(p: &Path) -> f64 {
    std::fs::metadata(p)
        .map(|m| m.len() as f64 / (1024.0 * 1024.0))
        .unwrap_or(0.0)
}
