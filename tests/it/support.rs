//! Starts linli on port 0 with a database of its own: a temporary SQLite file, or a fresh
//! PostgreSQL database when `LINLI_TEST_PG_URL` is set.

use std::path::PathBuf;
use std::sync::Arc;

use linli::app;
use linli::audit::LogKey;
use linli::config::{Config, Secret};
use linli::demo::synth::DemoSize;
use linli::state::AppState;
use linli::store::Db;
use linli::store::keys::FieldKeys;

pub const PASSWORD: &str = "demo-pass-123";

pub struct TestApp {
    pub base: String,
    pub state: Arc<AppState>,
    pub db: Db,
    /// The data folder (keys, and the SQLite file when not on PostgreSQL).
    pub dir: tempfile::TempDir,
    pub database_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pg_db: Option<String>,
    /// Answers that differ from the OpenAPI document (`contract`).
    pub findings: crate::contract::Findings,
}

pub fn pg_url() -> Option<String> {
    std::env::var("LINLI_TEST_PG_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Replaces the database name in a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = &base[scheme_end..];
    let prefix = match host_part.find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{prefix}/{name}{query}")
}

fn create_pg_database() -> (String, String) {
    let admin = pg_url().expect("pg url");
    let name = format!(
        "linli_test_{}",
        linli::org::auth::random_token("")[..12]
            .to_ascii_lowercase()
            .replace(['-', '_'], "x")
    );
    let mut client = postgres::Client::connect(&admin, postgres::NoTls)
        .expect("LINLI_TEST_PG_URL must reach PostgreSQL");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create test database");
    (with_database(&admin, &name), name)
}

fn drop_pg_database(name: &str) {
    if let Some(admin) = pg_url()
        && let Ok(mut client) = postgres::Client::connect(&admin, postgres::NoTls)
    {
        let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}

pub struct Options {
    pub demo: bool,
    pub configure: fn(&mut Config),
}

impl Default for Options {
    fn default() -> Self {
        Options {
            demo: true,
            configure: |_| {},
        }
    }
}

/// A migrated database of its own with no server (and so no background jobs) on it, for
/// tests that drive a job themselves with a clock of their choosing.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    _dir: tempfile::TempDir,
    pg_db: Option<String>,
}

pub async fn database() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, pg_db) = if pg_url().is_some() {
        let (u, n) = tokio::task::spawn_blocking(create_pg_database)
            .await
            .unwrap();
        (u, Some(n))
    } else {
        (
            format!("sqlite://{}", dir.path().join("linli.db").display()),
            None,
        )
    };
    let u = url.clone();
    let db = tokio::task::spawn_blocking(move || {
        let db = Db::open(&u).expect("open test database");
        db.migrate_blocking().expect("migrate");
        db
    })
    .await
    .unwrap();
    TestDb {
        db,
        url,
        _dir: dir,
        pg_db,
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_db.take() {
            self.db.close();
            std::thread::spawn(move || drop_pg_database(&name))
                .join()
                .ok();
        }
    }
}

pub async fn spawn() -> TestApp {
    spawn_with(Options::default()).await
}

pub async fn spawn_with(opts: Options) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let data: PathBuf = dir.path().to_path_buf();
    let (database_url, pg_db) = if pg_url().is_some() {
        let (u, n) = tokio::task::spawn_blocking(create_pg_database)
            .await
            .unwrap();
        (u, Some(n))
    } else {
        (
            format!("sqlite://{}", data.join("linli.db").display()),
            None,
        )
    };
    let mut cfg = Config {
        data_dir: data.clone(),
        database_url: Secret::new(database_url.clone()),
        listen: "127.0.0.1:0".into(),
        ..Config::default()
    };
    (opts.configure)(&mut cfg);
    let url = database_url.clone();
    let keys_dir = cfg.keys_dir();
    let demo = opts.demo;
    let (db, keys, log_key) = tokio::task::spawn_blocking(move || {
        let db = Db::open(&url).expect("open test database");
        db.migrate_blocking().expect("migrate");
        let keys = FieldKeys::load_or_create(&keys_dir).expect("keys");
        let log_key = LogKey::load_or_create(&keys_dir).expect("log key");
        if demo {
            let today = chrono::Local::now().date_naive();
            linli::demo::build(&db, &keys, DemoSize::Small, 7, PASSWORD, today, &|_, _| {})
                .expect("demo");
        }
        (db, keys, log_key)
    })
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = app::state(db.clone(), cfg, keys, log_key);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let findings = crate::contract::Findings::default();
    let layer = axum::middleware::from_fn_with_state(findings.clone(), crate::contract::check);
    let server = tokio::spawn(app::serve_wrapped(
        state.clone(),
        listener,
        async move {
            let _ = rx.await;
        },
        move |r| r.layer(layer),
    ));
    TestApp {
        base: format!("http://{addr}"),
        state,
        db,
        dir,
        database_url,
        shutdown: Some(tx),
        server: Some(server),
        pg_db,
        findings,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client that keeps cookies and does not follow redirects.
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Signs in over the API and returns the Bearer token.
    pub async fn token(&self, username: &str) -> String {
        self.token_with(username, PASSWORD).await
    }

    /// Signs in with a password of its own (an account a test created).
    pub async fn token_with(&self, username: &str, password: &str) -> String {
        let r = self
            .client()
            .post(self.url("/api/v1/session"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login of {username}");
        let v: serde_json::Value = r.json().await.unwrap();
        v["token"].as_str().unwrap().to_string()
    }

    pub async fn get_json(&self, token: &str, path: &str) -> (u16, serde_json::Value) {
        let r = self
            .client()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v = r.json().await.unwrap_or(serde_json::Value::Null);
        (status, v)
    }

    /// Signs in through the login form; returns a cookie-keeping client.
    pub async fn login_page(
        &self,
        username: &str,
        password: &str,
    ) -> (reqwest::Client, reqwest::Response) {
        let b = self.browser();
        let page = b
            .get(self.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = extract_input(&page, "login_csrf").expect("login form has a csrf field");
        let r = b
            .post(self.url("/login"))
            .form(&[
                ("username", username),
                ("password", password),
                ("login_csrf", &csrf),
                ("next", "/"),
            ])
            .send()
            .await
            .unwrap();
        (b, r)
    }

    /// A page's text as a signed-in browser client gets it.
    pub async fn page(&self, browser: &reqwest::Client, path: &str) -> String {
        let r = browser.get(self.url(path)).send().await.unwrap();
        r.text().await.unwrap()
    }

    /// Changes rows directly, to set up what a test needs (a case long late, closed, older).
    pub async fn exec(&self, sql: &'static str, params: &[linli::store::Val]) -> u64 {
        let params = params.to_vec();
        self.db.write(move |c| c.exec(sql, &params)).await.unwrap()
    }

    pub async fn query_i64(&self, sql: &'static str) -> i64 {
        self.db.read(move |c| c.query_i64(sql, &[])).await.unwrap()
    }

    /// The newest entry of the audit log, parsed.
    pub async fn last_audit_entry(&self) -> serde_json::Value {
        let body = self
            .db
            .read(|c| {
                c.query_one(
                    "SELECT body FROM audit_entries ORDER BY seq DESC LIMIT 1",
                    &[],
                )
            })
            .await
            .unwrap()
            .str(0);
        serde_json::from_str(&body).unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(name) = self.pg_db.take() {
            self.db.close();
            std::thread::spawn(move || drop_pg_database(&name))
                .join()
                .ok();
        }
        if !std::thread::panicking() {
            crate::contract::assert_none(&self.findings);
        }
    }
}

/// The value of a hidden input in a page.
pub fn extract_input(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let i = html.find(&needle)? + needle.len();
    let j = html[i..].find('"')?;
    Some(html[i..i + j].to_string())
}

/// The path of the place a demo account's role is bound to (e.g. wangge's grid).
/// The id of the demo street's last community: another community than the demo workers'.
pub async fn last_community(app: &TestApp) -> i64 {
    app.db
        .read(|c| {
            c.query_i64(
                "SELECT id FROM places WHERE kind = 'community' ORDER BY path DESC LIMIT 1",
                &[],
            )
        })
        .await
        .unwrap()
}

pub async fn place_of(app: &TestApp, username: &'static str) -> String {
    app.db
        .read(move |c| {
            c.query_one(
                "SELECT p.path FROM user_roles r JOIN users u ON u.id = r.user_id \
                 JOIN places p ON p.id = r.place_id WHERE u.username = $1",
                linli::params![username],
            )
        })
        .await
        .unwrap()
        .str(0)
}

/// The text of every Rust source file of what linli serves: `src/` without `src/bin/` (the
/// benchmark command and the bench build of the server).
pub fn served_sources() -> Vec<(std::path::PathBuf, String)> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p != src.join("bin") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                out.push((p, text));
            }
        }
    }
    out
}

/// The authenticator's code of a base32 TOTP secret at a Unix time (second-factor tests).
pub fn totp_code_at(secret_b32: &str, unix_s: u64) -> String {
    let raw = totp_rs::Secret::Encoded(secret_b32.to_string())
        .to_bytes()
        .unwrap();
    totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, raw, None, String::new())
        .generate(unix_s)
}

/// Now, in Unix seconds.
pub fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
