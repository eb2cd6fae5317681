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

mod map;

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
            Ok(c) => c,
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
    if !browser_available() {
        return;
    }
    let started = Instant::now();
    let (app, driver) = tokio::join!(support::spawn(), Driver::start());
    let client = driver.session(width, height).await;
    let ready = started.elapsed();
    let b = Browser {
        c: client.clone(),
        base: app.base.clone(),
    };
    // In a task of its own, so that a failed assertion still lets us close the browser.
    let task = tokio::spawn(test(b));
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

// ---------------------------------------------------------------- the tests

/// A grid worker, in Chinese (the default): signs in, sees the home page, walks down the
/// hierarchy from the grid's map to a building's units, and signs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_home_and_hierarchy_in_chinese() {
    browse(1280, 900, |b| async move {
        b.open("/login").await;
        assert_eq!(b.html_lang().await, "zh-CN");
        let title = b.c.title().await.expect("title");
        assert!(
            title.starts_with("登录"),
            "the login page's title: {title:?}"
        );
        assert_eq!(b.text("main h1").await, "登录");
        assert_eq!(b.text("#lang-switch").await, "English");
        assert!(!b.has("#logout").await, "nobody is signed in yet");
        // The stylesheet is served and allowed by the CSP: the header has the brand colour.
        let bg = b
            .find("header.top")
            .await
            .css_value("background-color")
            .await
            .unwrap();
        assert_eq!(bg, "rgba(179, 38, 30, 1)", "app.css is applied");

        b.sign_in_ok("wangge").await;
        assert!(b.text("#home-title").await.starts_with("您好，"));
        let me = b.text(".who .me").await;
        assert!(
            me.contains("网格员"),
            "the header names the role in Chinese: {me:?}"
        );
        let grants = b.texts(".grants .tag").await;
        assert!(
            grants.iter().any(|g| g == "网格员"),
            "grants on the home page: {grants:?}"
        );
        // The grid's own area on the home page has its map.
        b.find(".area .mapbox svg.map").await;

        let nav = b.find("#nav-places").await;
        assert_eq!(nav.text().await.unwrap(), "辖区层级");
        nav.click().await.expect("click #nav-places");
        // /places has a single root for a grid worker, and sends us on to it.
        let grid_path = b
            .wait_path("the grid's page", |p| {
                p.strip_prefix("/places/")
                    .is_some_and(|id| id.parse::<i64>().is_ok())
            })
            .await;
        let name = b.text("#place-name").await;
        assert!(name.ends_with("网格"), "the place is a grid: {name:?}");
        assert!(
            b.c.title()
                .await
                .unwrap()
                .contains(name.trim_end_matches("网格").trim())
        );
        let svg = b.find("#grid-map svg").await;
        assert_eq!(svg.attr("class").await.unwrap().as_deref(), Some("map"));
        assert!(svg.is_displayed().await.unwrap(), "the map is visible");
        let (_, _, w, h) = svg.rectangle().await.unwrap();
        assert!(w > 100.0 && h > 100.0, "the map has a size: {w}x{h}");
        assert!(
            !b.find_all("#grid-map svg path.area").await.is_empty(),
            "the grid's boundary is drawn"
        );
        assert_eq!(
            b.children_header().await,
            ["名称", "类型", "户数", "实有人口"],
            "the children table's header"
        );

        // Every building dot on the map links to a building listed below it.
        let rows = b.find_all("#children tbody a").await;
        assert!(!rows.is_empty(), "the grid has buildings");
        let mut listed = Vec::new();
        for a in &rows {
            listed.push(a.attr("href").await.unwrap().unwrap_or_default());
        }
        let dots = b.find_all("#grid-map svg a").await;
        assert!(!dots.is_empty(), "the map shows the buildings as links");
        for d in &dots {
            let href = d.attr("href").await.unwrap().unwrap_or_default();
            assert!(
                listed.contains(&href),
                "map link {href} is not among the buildings {listed:?}"
            );
        }
        let kinds = b.texts("#children tbody td:nth-child(2)").await;
        assert!(
            kinds.iter().all(|k| k == "楼栋"),
            "children of a grid: {kinds:?}"
        );

        let first = &rows[0];
        let building = first.text().await.unwrap();
        b.follow(first).await;
        let name = b.text("#place-name").await;
        assert!(
            name.starts_with(&building) && name.ends_with("楼栋"),
            "the building's page: {name:?}, expected {building:?}"
        );
        // The breadcrumbs lead back to the grid.
        let crumbs: Vec<String> = {
            let mut v = Vec::new();
            for a in b.find_all("nav.crumbs a").await {
                v.push(a.attr("href").await.unwrap().unwrap_or_default());
            }
            v
        };
        assert!(
            crumbs.contains(&grid_path),
            "breadcrumbs {crumbs:?} lead back to {grid_path}"
        );
        let h2 = b.texts("main h2").await;
        assert!(h2.iter().any(|t| t == "分层房屋"), "sections: {h2:?}");
        let floors = b.texts(".floors .floor .fno").await;
        assert!(!floors.is_empty(), "the building has floors");
        assert!(
            floors
                .iter()
                .all(|f| f.ends_with('F') && f.trim_end_matches('F').parse::<i64>().is_ok()),
            "floor labels: {floors:?}"
        );
        let units = b.find_all(".floors .floor a.u").await;
        assert!(!units.is_empty(), "the floors list units");
        assert!(
            !b.has("#children").await,
            "a building lists its units by floor, not in a table"
        );

        b.sign_out().await;
        assert_eq!(b.text("main h1").await, "登录");
        // Signed out for real: the home page sends us back to sign in.
        b.open("/").await;
        b.wait_path("the login page", |p| p.starts_with("/login"))
            .await;
        b.find("#login-form").await;
    })
    .await;
}

/// The street administrator, in English chosen with the language link: English texts on
/// every page, and the English error for a wrong password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn english_pages_and_wrong_password() {
    browse(1280, 900, |b| async move {
        b.open("/login").await;
        assert_eq!(b.text("main h1").await, "登录");
        b.click("#lang-switch").await;
        b.wait_text("main h1", "Sign in").await;
        assert_eq!(
            b.path().await,
            "/login",
            "the language link comes back to the same page"
        );
        assert_eq!(b.html_lang().await, "en");
        assert_eq!(b.text("#lang-switch").await, "中文");
        assert!(b.c.title().await.unwrap().starts_with("Sign in"));
        assert_eq!(b.text("#login-submit").await, "Sign in");

        b.sign_in_ok("admin").await;
        assert!(b.text("#home-title").await.starts_with("Welcome, "));
        let me = b.text(".who .me").await;
        assert!(
            me.contains("Street administrator"),
            "the header names the role: {me:?}"
        );
        assert_eq!(b.text("#logout").await, "Sign out");
        let nav = b.find("#nav-places").await;
        assert_eq!(nav.text().await.unwrap(), "Places");

        nav.click().await.expect("click #nav-places");
        b.wait_path("the street's page", |p| p.starts_with("/places/"))
            .await;
        let street = b.text("#place-name").await;
        assert!(
            street.ends_with("Street"),
            "the administrator's root is the street: {street:?}"
        );
        let header = ["Name", "Kind", "Households", "Residents"];
        assert_eq!(b.children_header().await, header);
        let h2 = b.texts("main h2").await;
        assert!(h2.iter().any(|t| t == "Places below"), "sections: {h2:?}");

        // Into a community.
        let kinds = b.texts("#children tbody td:nth-child(2)").await;
        let i = kinds
            .iter()
            .position(|k| k == "Community")
            .unwrap_or_else(|| panic!("the street has communities: {kinds:?}"));
        let links = b.find_all("#children tbody a").await;
        let community = links[i].text().await.unwrap();
        b.follow(&links[i]).await;
        let name = b.text("#place-name").await;
        assert!(
            name.starts_with(&community) && name.ends_with("Community"),
            "the community's page: {name:?}, expected {community:?}"
        );
        assert_eq!(b.children_header().await, header);
        let kinds = b.texts("#children tbody td:nth-child(2)").await;
        assert!(
            !kinds.is_empty() && kinds.iter().all(|k| k == "Grid"),
            "a community's children are grids: {kinds:?}"
        );
        let crumbs = b.text("nav.crumbs").await;
        assert!(crumbs.starts_with("Places"), "breadcrumbs: {crumbs:?}");

        // Signed out, the language stays English; a wrong password says so in English.
        b.sign_out().await;
        assert_eq!(b.text("main h1").await, "Sign in");
        b.sign_in("admin", "not-the-password").await;
        b.wait_text("#login-error", "Wrong username or password.")
            .await;
        assert_eq!(b.text("#login-error").await, "Wrong username or password.");
        assert_eq!(b.path().await, "/login");
        b.find("#login-form").await;
        let user = b.find("#username").await;
        assert_eq!(
            user.prop("value").await.unwrap().as_deref(),
            Some("admin"),
            "the username is kept"
        );
        let pass = b.find("#password").await;
        assert_eq!(
            pass.prop("value").await.unwrap().as_deref(),
            Some(""),
            "the password is not"
        );
        assert!(!b.has("#logout").await, "a wrong password signs nobody in");
        // The form still works after the error.
        b.sign_in_ok("admin").await;
    })
    .await;
}

/// On a phone-sized window the login and home pages fit the width: no sideways scrolling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_a_phone() {
    browse(360, 740, |b| async move {
        b.c.set_window_size(360, 740)
            .await
            .expect("set the window size");
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
    })
    .await;
}

/// The grid worker's live alerts page: an alert raised while she looks at it appears without
/// a reload (the page's script reads the SSE stream), and changes as it is cleared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_alerts_page_shows_a_new_alert_without_a_reload() {
    browse(1280, 900, |b| async move {
        let http = reqwest::Client::new();
        let api = |path: &str| format!("{}{path}", b.base);
        let token = |user: &'static str| {
            let (http, url) = (http.clone(), api("/api/v1/session"));
            async move {
                let v: Value = http
                    .post(url)
                    .json(&json!({"username": user, "password": PASSWORD}))
                    .send()
                    .await
                    .expect("sign in over the API")
                    .json()
                    .await
                    .expect("a session");
                v["token"].as_str().expect("a token").to_string()
            }
        };
        let (admin, wangge) = (token("admin").await, token("wangge").await);
        let get = |tok: String, path: String| {
            let (http, url) = (http.clone(), api(&path));
            async move {
                let r = http.get(url).bearer_auth(tok).send().await.expect("GET");
                assert_eq!(r.status(), 200, "GET {path}");
                r.json::<Value>().await.expect("JSON")
            }
        };
        // A door magnet in her grid (her list), and its token (the administrator's list).
        let mine = get(
            wangge.clone(),
            "/api/v1/devices?device_type=door_magnet".into(),
        )
        .await;
        let id = mine["items"][0]["id"]
            .as_i64()
            .expect("a door magnet in her grid");
        let all = get(
            admin.clone(),
            "/api/v1/devices?device_type=door_magnet&limit=1000".into(),
        )
        .await;
        let dev_token = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == id)
            .and_then(|d| d["token"].as_str())
            .expect("the administrator sees the token")
            .to_string();
        let name = "浏览器测试：求助按钮";
        let r = http
            .post(api("/api/v1/rules"))
            .bearer_auth(&admin)
            .json(
                &json!({"name": name, "kind": "event", "severity": "critical", "device_id": id,
                          "params": {"key": "sos", "equals": 1}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);

        b.open("/login").await;
        b.sign_in_ok("wangge").await;
        b.open("/alerts").await;
        b.wait_text("#live-state", "实时更新中").await;
        assert!(
            !b.text("#alert-rows").await.contains(name),
            "no such alert yet"
        );
        // A mark on the window: a reload would wipe it.
        b.c.execute("window.linliMark = 42; return true;", vec![])
            .await
            .expect("mark the window");

        let r = http
            .post(api("/api/v1/telemetry"))
            .bearer_auth(&dev_token)
            .json(&json!({"sos": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        b.wait_text("#alert-rows tr:first-child", name).await;
        let row = b.text("#alert-rows tr:first-child").await;
        assert!(
            row.contains("紧急") && row.contains("未确认"),
            "severity and state in Chinese: {row:?}"
        );
        let mark =
            b.c.execute("return window.linliMark === 42;", vec![])
                .await
                .expect("read the mark");
        assert_eq!(mark, json!(true), "the page was not reloaded");

        // Cleared elsewhere: the same row says so, still without a reload.
        let alerts = get(
            wangge.clone(),
            "/api/v1/alerts?active=true&severity=critical".into(),
        )
        .await;
        let alert = alerts["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["rule_name"] == name)
            .and_then(|a| a["id"].as_i64())
            .expect("the alert is in her list");
        let r = http
            .post(api(&format!("/api/v1/alerts/{alert}/clear")))
            .bearer_auth(&wangge)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        b.wait_text(
            &format!("#alert-rows tr[data-id=\"{alert}\"] .state"),
            "已清除",
        )
        .await;
        let mark =
            b.c.execute("return window.linliMark === 42;", vec![])
                .await
                .expect("read the mark");
        assert_eq!(mark, json!(true), "still the same page");
    })
    .await;
}

/// A resident marks the spot of her report on the street's map: a tap shows the mark and fills
/// the latitude and longitude (the page's script inverts the map's projection), and the case
/// is stored at that spot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_is_stored_where_the_map_was_tapped() {
    browse(1280, 900, |b| async move {
        b.open("/login").await;
        b.sign_in_ok("jumin").await;
        b.open("/cases/new?category=noise").await;
        // The map with pan and zoom (static/map.js) stands in for the SVG map.
        b.find("#pick-map[data-ready]").await;
        b.click("#pick-map").await;
        b.wait_text("#pick-status", "已标出位置").await;
        let page = &b;
        let value = |name: &'static str| async move {
            page.find(&format!("input[name={name}]"))
                .await
                .prop("value")
                .await
                .unwrap()
                .unwrap_or_default()
                .parse::<f64>()
                .unwrap_or_else(|e| panic!("{name} is not a number: {e}"))
        };
        let (lat, lon) = (value("lat").await, value("lon").await);
        assert!((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon));
        b.find("textarea[name=description]")
            .await
            .send_keys("路口的路灯一直不亮")
            .await
            .expect("type the description");
        b.click("#report-form button[type=submit]").await;
        let path = b
            .wait_path("the new case's page", |p| {
                p.strip_prefix("/cases/")
                    .and_then(|id| id.split('?').next())
                    .is_some_and(|id| id.parse::<i64>().is_ok())
            })
            .await;
        // Without the message that the report was sent (`?done=report`).
        let path = path.split('?').next().unwrap_or_default().to_string();
        // The case is where she tapped, to the sixth decimal the form carries.
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!("{}/api/v1/session", b.base))
            .json(&json!({"username": "jumin", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let v: Value = http
            .get(format!("{}/api/v1{path}", b.base))
            .bearer_auth(token["token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let (clat, clon) = (
            v["case"]["lat"].as_f64().unwrap(),
            v["case"]["lon"].as_f64().unwrap(),
        );
        assert!(
            (clat - lat).abs() < 1e-6 && (clon - lon).abs() < 1e-6,
            "tapped {lat},{lon}; stored {clat},{clon}"
        );
        assert_eq!(v["case"]["description"], "路口的路灯一直不亮");
    })
    .await;
}

/// Issue 19 items 16, 11 and 10 on a phone: choosing a category's tile shows its own fields
/// without a reload, a building is found by its name, and a report sent after the session has
/// ended is kept: the sign-in page says why, and after signing in the form is back as typed and
/// goes with one tap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_typed_on_a_phone_survives_signing_in_again() {
    browse(390, 844, |b| async move {
        b.c.set_window_size(360, 740)
            .await
            .expect("set the window size");
        b.open("/login").await;
        b.sign_in_ok("jumin").await;
        b.open("/cases/new").await;
        let noise = b.find("#fields-noise").await;
        assert!(
            noise.attr("hidden").await.unwrap().is_some(),
            "no category yet"
        );
        b.click("#tile-noise").await;
        let deadline = Instant::now() + WAIT;
        while noise.attr("hidden").await.unwrap().is_some() {
            assert!(Instant::now() < deadline, "the tile shows its fields");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(b.path().await, "/cases/new", "no reload");
        b.find("#place-search")
            .await
            .send_keys("弄")
            .await
            .expect("type a place's name");
        b.click("#place-found button").await;
        let place = b
            .find("select[name=place_id]")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(place.parse::<i64>().is_ok(), "a place chosen: {place:?}");
        let words = "三楼楼道的灯坏了一个星期";
        b.find("textarea[name=description]")
            .await
            .send_keys(words)
            .await
            .expect("type the description");
        // The session ends before she sends it.
        b.c.delete_cookie("linli_session")
            .await
            .expect("end the session");
        b.click("#report-send").await;
        b.wait_path("the sign-in page", |p| {
            p.starts_with("/login?reason=expired")
        })
        .await;
        b.wait_text("#login-error", "登录已过期，请重新登录").await;
        b.sign_in("jumin", PASSWORD).await;
        b.wait_path("the report form again", |p| p == "/cases/new?draft=1")
            .await;
        b.find("#draft-back").await;
        let typed = b
            .find("textarea[name=description]")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        assert_eq!(typed, words);
        b.click("#report-send").await;
        b.wait_path("the new case", |p| {
            p.starts_with("/cases/") && p.ends_with("?done=report")
        })
        .await;
        b.wait_text("#done", "已完成").await;
        b.assert_fits("the new report's page on a phone").await;
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

/// Issue 19, item 4, on a phone: a grid worker opens a care alert, sees where and whom to
/// call, reveals the number with "紧急联系" already chosen, and gets a one-tap `tel:` link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_care_alert_on_a_phone_says_who_to_call_and_calls_after_a_reveal() {
    browse(390, 844, |b| async move {
        b.c.set_window_size(390, 844)
            .await
            .expect("set the window size");
        let http = reqwest::Client::new();
        let admin = api_token(&b.base, "admin").await;
        let (id, dev_token) = bound_door(&b.base, &admin).await;
        let r = http
            .post(format!("{}/api/v1/rules", b.base))
            .bearer_auth(&admin)
            .json(
                &json!({"name": "门磁开门提醒（测试）", "kind": "event", "severity": "major",
                          "device_id": id, "category": "elderly_care",
                          "params": {"key": "door", "equals": "open"}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = http
            .post(format!("{}/api/v1/telemetry", b.base))
            .bearer_auth(&dev_token)
            .json(&json!({"values": {"door": "open"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);

        b.open("/login").await;
        b.sign_in_ok("wangge").await;
        b.open("/alerts").await;
        let link = b.find("#alert-rows a[href^='/alerts/']").await;
        b.follow(&link).await;
        assert_eq!(b.text("#alert-text").await, "检测到开门");
        let who = b.text("#who-to-call").await;
        assert!(who.contains("楼栋") && who.contains("房屋"), "{who}");
        assert!(who.contains("负责的网格员和社工"), "{who}");
        b.assert_fits("the alert page").await;
        // The person's reveal: the purpose is already 紧急联系.
        b.click("#who-to-call .contact details summary").await;
        let purpose = b
            .find("#who-to-call .contact form select[name=purpose]")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        assert_eq!(purpose, "emergency");
        b.click("#who-to-call .contact form button[type=submit]")
            .await;
        let call = b.find("a.call").await;
        let href = call.attr("href").await.unwrap().unwrap_or_default();
        assert!(href.starts_with("tel:") && href.len() > 8, "{href}");
        b.assert_fits("the alert page with the number").await;
    })
    .await;
}

/// Issue 19, item 5, on a phone: an administrator shortens a rule so that it would fire at
/// once; the page shows how many devices it would fire for and saves only when she confirms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_change_that_would_fire_now_asks_to_confirm_on_a_phone() {
    browse(390, 844, |b| async move {
        b.c.set_window_size(390, 844)
            .await
            .expect("set the window size");
        let http = reqwest::Client::new();
        let admin = api_token(&b.base, "admin").await;
        let (id, _) = bound_door(&b.base, &admin).await;
        let r = http
            .post(format!("{}/api/v1/rules", b.base))
            .bearer_auth(&admin)
            .json(
                &json!({"name": "单户门磁无开门（测试）", "kind": "absence", "severity": "major",
                          "device_id": id, "category": "elderly_care",
                          "params": {"key": "door", "equals": "open", "absence_s": 86400}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let rule = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        // Its timer was armed on creation; a period of one second is over by now.
        tokio::time::sleep(Duration::from_millis(2100)).await;

        b.open("/login").await;
        b.sign_in_ok("admin").await;
        b.open(&format!("/rules/{rule}")).await;
        let field = b.find("input[name=p_absence_s]").await;
        field.clear().await.unwrap();
        field.send_keys("1").await.unwrap();
        b.click("#rule-save").await;
        b.wait_text("#preview-fire", "现在就会对 1 台设备触发告警")
            .await;
        b.assert_fits("the rule page's preview").await;
        assert!(
            b.text("#rule-params").await.contains("24 小时"),
            "not saved yet"
        );
        b.click("#rule-confirm").await;
        // Saved: back on the rule page (a redirect), without the preview, with the new period.
        b.wait_text("#rule-params", "1 秒内没有开门").await;
        assert!(!b.text("#rule-params").await.contains("86400"));
        assert!(!b.has("#rule-preview").await);
    })
    .await;
}

/// Issue 19 item 14: on a phone the navigation reaches every entry (the first few in the bar,
/// the rest behind 更多, which names the page you are on), what you tap is at least 44 px high,
/// and a household's members stack instead of scrolling sideways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_navigation_reaches_every_entry() {
    browse(390, 844, |b| async move {
        b.c.set_window_size(390, 844)
            .await
            .expect("set the window size");
        b.open("/login").await;
        b.sign_in_ok("admin").await;
        // Every entry of the navigation, and whether it is visible in the bar.
        let entries = b
            .c
            .execute(
                r#"return Array.from(document.querySelectorAll(".main-nav > a")).map(a =>
                    [a.getAttribute("href"), a.getBoundingClientRect().height > 0]);"#,
                vec![],
            )
            .await
            .unwrap();
        let entries = entries.as_array().unwrap().clone();
        assert!(entries.len() > 5, "the administrator has many entries: {entries:?}");
        let hidden: Vec<String> = entries
            .iter()
            .filter(|e| e[1] == false)
            .map(|e| e[0].as_str().unwrap().to_string())
            .collect();
        assert!(!hidden.is_empty(), "some entries wait behind 更多");
        assert!(b.has("#nav-more").await);
        // Each one behind 更多 is reached from it, and 更多 then names where you are.
        for href in &hidden {
            b.open("/").await;
            b.click("#nav-more summary").await;
            let link = b.find(&format!(".nav-more-list a[href='{href}']")).await;
            assert!(link.is_displayed().await.unwrap(), "{href} is shown under 更多");
            b.screenshot("phone-nav-more-open").await;
            let label = link.text().await.unwrap();
            link.click().await.unwrap();
            b.wait_path(href, |p| p.starts_with(href.as_str())).await;
            let summary = b.text("#nav-more summary").await;
            assert!(summary.contains(&label), "更多 names {label}: {summary}");
        }
        // What a thumb taps is tall enough.
        b.open("/").await;
        let small = b
            .c
            .execute(
                r#"const out = [];
                for (const el of document.querySelectorAll(".main-nav > a, .nav-more summary, button, select, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), .who .lang")) {
                    const r = el.getBoundingClientRect();
                    if (r.height > 0 && r.height < 43.5) out.push(el.outerHTML.slice(0, 80) + " " + r.height);
                }
                return out;"#,
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(small, serde_json::json!([]), "tap targets under 44 px");
        // A household's members stack on the phone.
        b.open("/persons?q=%E5%BC%A0").await;
        let person = b.find("#persons a[href^='/persons/']").await;
        b.follow(&person).await;
        let household = b.find("a[href^='/households/']").await;
        b.follow(&household).await;
        b.find("#members").await;
        b.assert_fits("a household on a phone").await;
        b.screenshot("phone-household").await;
        // A resident's own data fits the phone too, in both languages.
        b.sign_out().await;
        b.sign_in_ok("jumin").await;
        b.open("/me/data").await;
        b.find("#my-record").await;
        b.assert_fits("my data on a phone (Chinese)").await;
        b.screenshot("phone-my-data-zh").await;
        b.click("#lang-switch").await;
        b.wait_text("#lang-switch", "中文").await;
        b.assert_fits("my data on a phone (English)").await;
        b.screenshot("phone-my-data-en").await;
    })
    .await;
}

/// A resident joins with her household's invitation code on a phone (issue 21, part 5): from
/// the sign-in page to the join page, the code typed loosely, herself chosen among the
/// household's masked names, an account opened and signed in, her own data shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_joins_with_an_invitation_code_on_a_phone() {
    browse(390, 844, |b| async move {
        b.c.set_window_size(360, 740)
            .await
            .expect("set the window size");
        let wangge = api_token(&b.base, "wangge").await;
        let http = reqwest::Client::new();
        let buildings: Value = http
            .get(format!("{}/api/v1/join/buildings", b.base))
            .bearer_auth(&wangge)
            .send()
            .await
            .expect("the counts")
            .json()
            .await
            .expect("json");
        let building = buildings
            .as_array()
            .expect("buildings")
            .iter()
            .find(|x| x["households"].as_i64().unwrap_or(0) > 0)
            .expect("a building with households")["id"]
            .as_i64()
            .unwrap();
        let issued: Value = http
            .post(format!("{}/api/v1/join/invitations", b.base))
            .bearer_auth(&wangge)
            .json(&json!({"place_id": building}))
            .send()
            .await
            .expect("issue codes")
            .json()
            .await
            .expect("json");
        let code = issued["letters"][0]["code"]
            .as_str()
            .expect("a code")
            .to_string();
        b.open("/login").await;
        let link = b.find("#login-join").await;
        b.follow(&link).await;
        b.find("#code-form").await;
        b.assert_fits("the join page on a phone").await;
        b.screenshot("join-phone").await;
        b.find("#code")
            .await
            .send_keys(&code.to_lowercase().replace('-', " "))
            .await
            .expect("type the code");
        b.click("#code-submit").await;
        b.find("#redeem-form").await;
        let names = b.texts("#redeem-form .member b").await;
        assert!(
            !names.is_empty() && names.iter().all(|n| n.contains('*')),
            "masked names: {names:?}"
        );
        b.assert_fits("choosing herself on a phone").await;
        b.click("#member-1").await;
        for (id, text) in [
            ("#redeem-username", "resident.phone"),
            ("#redeem-password", "a-long-walk-home-42"),
            ("#redeem-password2", "a-long-walk-home-42"),
        ] {
            b.find(id).await.send_keys(text).await.expect("type");
        }
        b.click("#redeem-submit").await;
        b.wait_text("#join-done h1", "账号已开通").await;
        b.assert_fits("the account opened, on a phone").await;
        let link = b.find("#join-my-data").await;
        b.follow(&link).await;
        b.find("#my-record").await;
        b.assert_fits("her data on a phone").await;
    })
    .await;
}
