//! Browser tests: real headless Chromium, driven through chromedriver, clicking through the
//! server-rendered pages the way a street worker would.
//!
//! Needs `/usr/bin/chromedriver` and `/usr/bin/chromium` (Debian's `chromium-driver` and
//! `chromium`). Without them the tests print a note and pass, unless `LINLI_REQUIRE_BROWSER=1`
//! (set in CI), in which case they fail.

use std::fs::File;
use std::future::Future;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::{self, PASSWORD};

mod account;
mod aid;
mod callups;
mod cases;
mod cockpit;
mod deliberation;
mod funds;
mod gates;
mod join;
mod map;
mod nearby;
mod notices;
mod sensing;
mod setup;
mod sheets;
mod shell;
mod surveys;
mod sweeps;
mod visits;
mod volunteering;
mod votes;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long to wait for a page or an element before failing.
const WAIT: Duration = Duration::from_secs(10);
/// The most a whole browser test may take once the browser is up.
const TEST_LIMIT: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------- chromedriver

/// A chromedriver process of our own, on a free port; killed (with its browsers) on drop.
struct Driver {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver runs in a process group of its own, which the Chromium it starts
        // joins: end the group, so that no browser outlives a failed test.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free local port")
        .port()
}

/// Whether the browser is installed; when it is not, fails under `LINLI_REQUIRE_BROWSER=1`
/// and otherwise prints a note.
fn browser_available() -> bool {
    let missing: Vec<&str> = [CHROMEDRIVER, CHROMIUM]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("LINLI_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!(
            "LINLI_REQUIRE_BROWSER=1 but {} missing (apt-get install chromium chromium-driver)",
            missing.join(", ")
        );
    }
    eprintln!(
        "note: {} not installed; skipping the browser test (set LINLI_REQUIRE_BROWSER=1 to make this fail)",
        missing.join(", ")
    );
    false
}

impl Driver {
    async fn start() -> Driver {
        let mut last_log = String::new();
        // The port is free when we look; should something take it before chromedriver
        // binds it, chromedriver exits and we try another.
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("temp dir");
            let port = free_port();
            let log = File::create(dir.path().join(format!("chromedriver-{port}.log")))
                .expect("chromedriver log file");
            let child = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log handle"))
                .stderr(log)
                .process_group(0)
                .spawn()
                .expect("start chromedriver");
            let mut driver = Driver { child, port, dir };
            if driver.wait_ready().await {
                return driver;
            }
            last_log = driver.log();
        }
        panic!("chromedriver did not start; its output:\n{last_log}");
    }

    /// Polls `/status` until chromedriver says it is ready; false if it exits or never is.
    async fn wait_ready(&mut self) -> bool {
        let http = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{}/status", self.port);
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(r) = http.get(&url).send().await
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == json!(true)
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// A new headless Chromium session with a fresh profile. Its Accept-Language is Chinese,
    /// like the browsers of the street's staff, whatever the locale of the machine running
    /// the tests (the language then only changes through `#lang-switch`).
    async fn session(&self, width: u32, height: u32) -> Client {
        let profile = self.dir.path().join("profile");
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--lang=zh-CN".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": args,
                "prefs": { "intl.accept_languages": "zh-CN,zh" },
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        match ClientBuilder::rustls()
            .expect("rustls for the WebDriver client")
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
        {
            // Headless Chromium keeps its window at least 500 px wide whatever --window-size
            // says; WebDriver sets the size the test asked for.
            Ok(c) => {
                c.set_window_size(width, height)
                    .await
                    .expect("set the window size");
                c
            }
            Err(e) => panic!(
                "could not start Chromium through chromedriver: {e}\n{}",
                self.log()
            ),
        }
    }

    fn log(&self) -> String {
        let path = self
            .dir
            .path()
            .join(format!("chromedriver-{}.log", self.port));
        std::fs::read_to_string(path).unwrap_or_default()
    }
}

/// Runs one browser test: a linli with the demo street, chromedriver, one Chromium window of
/// the given size. The session is closed and chromedriver stopped however the test ends.
async fn browse<F, Fut>(width: u32, height: u32, test: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    browse_app(support::Options::default(), false, width, height, |b, _| {
        test(b)
    })
    .await
}

/// Like [`browse`], the test also receiving the app's database (to set the clock of a
/// record back, as the integration tests do) and its address.
async fn browse_db<F, Fut>(width: u32, height: u32, test: F)
where
    F: FnOnce(Browser, linli::store::Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    browse_inner(
        support::Options::default(),
        false,
        width,
        height,
        |b, _, db| test(b, db),
    )
    .await
}

/// Like [`browse`], on an app started with `opts`; with `first_run`, the app waits for its
/// street to be set up and the test receives the first-run code.
async fn browse_app<F, Fut>(
    opts: support::Options,
    first_run: bool,
    width: u32,
    height: u32,
    test: F,
) where
    F: FnOnce(Browser, Option<String>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    browse_inner(opts, first_run, width, height, |b, code, _| test(b, code)).await
}

async fn browse_inner<F, Fut>(
    opts: support::Options,
    first_run: bool,
    width: u32,
    height: u32,
    test: F,
) where
    F: FnOnce(Browser, Option<String>, linli::store::Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if !browser_available() {
        return;
    }
    let started = Instant::now();
    let (app, driver) = tokio::join!(support::spawn_with(opts), Driver::start());
    let code = first_run.then(|| linli::setup::pages::arm_first_run(&app.state));
    let client = driver.session(width, height).await;
    let ready = started.elapsed();
    let b = Browser {
        c: client.clone(),
        base: app.base.clone(),
    };
    // In a task of its own, so that a failed assertion still lets us close the browser.
    let task = tokio::spawn(test(b, code, app.db.clone()));
    let abort = task.abort_handle();
    let outcome = tokio::time::timeout(TEST_LIMIT, task).await;
    abort.abort();
    let _ = client.close().await;
    drop(driver);
    app.stop().await;
    match outcome {
        Ok(Ok(())) => eprintln!(
            "browser test: {:.1}s (app and browser up in {:.1}s)",
            started.elapsed().as_secs_f64(),
            ready.as_secs_f64()
        ),
        Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Ok(Err(e)) => panic!("browser test task: {e}"),
        Err(_) => panic!("browser test took longer than {TEST_LIMIT:?}"),
    }
}

// ---------------------------------------------------------------- page helpers

/// A Chromium window pointed at the test server.
struct Browser {
    c: Client,
    base: String,
}

impl Browser {
    async fn open(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.c
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Where the window is, as path and query.
    async fn path(&self) -> String {
        let u = self.c.current_url().await.expect("current url");
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        }
    }

    /// The page's address and visible text, for failure messages.
    async fn context(&self) -> String {
        let url = self
            .c
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let text = match self.c.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(e) => format!("(no body: {e})"),
        };
        let text: String = text.chars().take(1500).collect();
        format!("at {url}; the page says:\n{text}")
    }

    /// The first element matching `css`, waiting for it to appear.
    async fn find(&self, css: &str) -> Element {
        match self
            .c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => panic!("no `{css}` ({e}) {}", self.context().await),
        }
    }

    async fn find_all(&self, css: &str) -> Vec<Element> {
        self.c.find_all(Locator::Css(css)).await.unwrap_or_default()
    }

    async fn has(&self, css: &str) -> bool {
        self.c.find(Locator::Css(css)).await.is_ok()
    }

    async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        e.text()
            .await
            .unwrap_or_else(|err| panic!("text of `{css}`: {err}"))
    }

    async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.find_all(css).await {
            out.push(e.text().await.unwrap_or_default());
        }
        out
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        e.click()
            .await
            .unwrap_or_else(|err| panic!("click `{css}`: {err}"));
    }

    /// Waits until the text of `css` contains `want` (pages reload under us: retries).
    async fn wait_text(&self, css: &str, want: &str) {
        let deadline = Instant::now() + WAIT;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(e) = self.c.find(Locator::Css(css)).await
                && let Ok(t) = e.text().await
            {
                if t.contains(want) {
                    return;
                }
                last = t;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "`{css}` should say {want:?}, says {last:?} {}",
            self.context().await
        );
    }

    /// Waits until the window's path (and query) satisfies `ok`.
    async fn wait_path(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let p = self.path().await;
            if ok(&p) {
                return p;
            }
            if Instant::now() > deadline {
                panic!(
                    "expected to be on {what}, am on {p} {}",
                    self.context().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// With LINLI_SCREENSHOTS=DIR set, keeps what the window shows as DIR/NAME.png, for a
    /// person to look at (the tests do not judge pictures).
    async fn screenshot(&self, name: &str) {
        if let Ok(dir) = std::env::var("LINLI_SCREENSHOTS") {
            let png = self.c.screenshot().await.expect("a screenshot");
            std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png)
                .expect("write the screenshot");
        }
    }

    /// Clicks a link and waits until the browser is where it pointed.
    async fn follow(&self, link: &Element) -> String {
        let href = link
            .attr("href")
            .await
            .expect("href")
            .expect("the link has an href");
        link.click()
            .await
            .unwrap_or_else(|e| panic!("click link to {href}: {e}"));
        let want = href.clone();
        self.wait_path(&href, move |p| p == want).await;
        href
    }

    /// Fills in and submits the sign-in form.
    async fn sign_in(&self, username: &str, password: &str) {
        let u = self.find("#username").await;
        u.clear().await.expect("clear username");
        u.send_keys(username).await.expect("type username");
        let p = self.find("#password").await;
        p.clear().await.expect("clear password");
        p.send_keys(password).await.expect("type password");
        self.click("#login-submit").await;
    }

    async fn sign_in_ok(&self, username: &str) {
        self.sign_in(username, PASSWORD).await;
        self.wait_path("the home page", |p| p == "/").await;
        self.find("#home-title").await;
    }

    async fn sign_out(&self) {
        self.click("#logout").await;
        self.wait_path("/login", |p| p == "/login").await;
        self.find("#login-form").await;
    }

    async fn html_lang(&self) -> String {
        self.find("html")
            .await
            .attr("lang")
            .await
            .expect("lang")
            .unwrap_or_default()
    }

    /// The texts of the children table's header cells.
    async fn children_header(&self) -> Vec<String> {
        self.find("#children").await;
        self.texts("#children thead th").await
    }

    /// Asserts the page is no wider than the window: nothing to scroll sideways on a phone.
    /// Measured against the viewport without its scrollbar (`clientWidth`): headless
    /// Chromium's scrollbars take room, which a phone's overlay scrollbars do not.
    async fn assert_fits(&self, page: &str) {
        let v = self
            .c
            .execute(
                r##"
                const de = document.documentElement;
                const w = de.clientWidth;
                const wide = [];
                for (const el of document.body.querySelectorAll("*")) {
                    const r = el.getBoundingClientRect();
                    if (r.right > w + 1 && wide.length < 12) {
                        const cls = typeof el.className === "string" && el.className
                            ? "." + el.className.trim().split(/\s+/).join(".") : "";
                        wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + cls
                            + " (right edge " + Math.round(r.right) + "px)");
                    }
                }
                return { scroll: de.scrollWidth, client: w, inner: window.innerWidth, wide: wide };
                "##,
                vec![],
            )
            .await
            .expect("measure the page");
        let scroll = v["scroll"].as_f64().expect("scrollWidth");
        let client = v["client"].as_f64().expect("clientWidth");
        let inner = v["inner"].as_f64().expect("innerWidth");
        assert!(
            inner <= 400.0,
            "the window should be phone-sized, innerWidth is {inner}"
        );
        assert!(
            scroll <= client + 1.0 && scroll <= inner + 1.0,
            "{page}: the page is {scroll}px wide in a {client}px viewport (sideways scrolling on a phone); \
             elements past the right edge: {}",
            v["wide"]
        );
    }
}

// ---------------------------------------------------------------- shared by the tests

/// On a phone-sized window the login and home pages fit the width: no sideways scrolling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_a_phone() {
    browse(360, 740, |b| async move {
        b.open("/login").await;
        b.find("#login-form").await;
        b.assert_fits("the login page (Chinese)").await;

        b.sign_in_ok("wangge").await;
        b.assert_fits("the grid worker's home page (Chinese)").await;
        b.open("/cases/new?category=noise").await;
        b.find("svg.map.pick").await;
        b.assert_fits("the report form with its map (Chinese)")
            .await;
        b.open("/").await;

        // English words are longer: the same pages again.
        b.click("#lang-switch").await;
        b.wait_text("#lang-switch", "中文").await;
        b.assert_fits("the grid worker's home page (English)").await;
        b.sign_out().await;
        b.assert_fits("the login page (English)").await;

        b.sign_in_ok("admin").await;
        b.assert_fits("the street administrator's home page (English)")
            .await;
        // Setting devices up (issue 21, part 6): the forms and the import fit a phone too.
        b.open("/devices/new").await;
        b.find("#device-new-form").await;
        b.assert_fits("the device registration form (English)")
            .await;
        b.open("/devices/import").await;
        b.find("#import-form").await;
        b.assert_fits("the device import page (English)").await;
        b.open("/device-profiles/new").await;
        b.find("#profile-form").await;
        b.assert_fits("the device profile form (English)").await;
        b.open("/device-profiles").await;
        b.assert_fits("the device profiles (English)").await;
        // Organisations and the workers' import (issue 21, parts 3 and 4).
        b.open("/admin/orgs").await;
        b.find("#add-org").await;
        b.assert_fits("the organisations (English)").await;
        b.open("/admin/users/import").await;
        b.find("#workers-import").await;
        b.assert_fits("the workers' import (English)").await;
        // Policy finds the person (issue 23 part 6): the to-dos, the rules, a rule's preview.
        b.open("/eligibility").await;
        b.find("#todo-filter").await;
        b.assert_fits("the eligibility to-dos (English)").await;
        b.open("/eligibility/rules").await;
        b.find("#rule-new").await;
        b.assert_fits("the eligibility rules (English)").await;
        b.open("/eligibility/rules/1?preview=1").await;
        b.find("#preview-total").await;
        b.assert_fits("an eligibility rule's preview (English)")
            .await;
        // Call-ups (issue 23 part 5): the list with the form to send one, a call's page, the
        // volunteers.
        b.open("/callups").await;
        b.find("#callup-new").await;
        b.assert_fits("the call-ups (English)").await;
        b.open("/callups/1").await;
        b.find("#callup-counts").await;
        b.assert_fits("a call-up's page (English)").await;
        b.open("/callups/volunteers").await;
        b.assert_fits("the volunteers (English)").await;
    })
    .await;
}

/// Signs in over the API; a bearer token.
async fn api_token(base: &str, user: &str) -> String {
    let v: Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": user, "password": PASSWORD}))
        .send()
        .await
        .expect("sign in over the API")
        .json()
        .await
        .expect("a session");
    v["token"].as_str().expect("a token").to_string()
}

/// A door magnet in wangge's grid bound to a person: (device, its token).
async fn bound_door(base: &str, admin: &str) -> (i64, String) {
    let http = reqwest::Client::new();
    let wangge = api_token(base, "wangge").await;
    let mine: Value = http
        .get(format!("{base}/api/v1/devices?device_type=door_magnet"))
        .bearer_auth(&wangge)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["person_id"].is_i64())
        .and_then(|d| d["id"].as_i64())
        .expect("a bound door magnet in her grid");
    let all: Value = http
        .get(format!(
            "{base}/api/v1/devices?device_type=door_magnet&limit=1000"
        ))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .and_then(|d| d["token"].as_str())
        .expect("the administrator sees the token")
        .to_string();
    (id, token)
}
