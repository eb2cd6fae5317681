//! Issue 18, findings 8, 9, 10, 12 (file modes), 14 and 17: sign-in behind a proxy, lockout
//! without races or tells, CSRF on cookie API calls that are not JSON, private files at
//! rest, control and bidi characters, common passwords, and keys outside the data folder.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::{self, Options, PASSWORD, TestApp, extract_input};

/// A sign-in over the API as the proxy forwards it for `client`.
async fn login_from(app: &TestApp, client: &str, username: &str, password: &str) -> (u16, Value) {
    let r = app
        .client()
        .post(app.url("/api/v1/session"))
        .header("x-forwarded-for", client)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn behind_proxy(cfg: &mut linli::config::Config) {
    cfg.trusted_proxies = linli::http::client::Proxies::parse(&["127.0.0.1".into()]).unwrap();
}

#[tokio::test]
async fn login_limit_behind_a_proxy_keys_on_the_forwarded_client() {
    let app = support::spawn_with(Options {
        configure: |cfg| {
            behind_proxy(cfg);
            cfg.login_account_per_minute = 10;
            cfg.login_account_max_failures = 100;
        },
        ..Default::default()
    })
    .await;
    // Forty junk sign-ins at once from one client, through the proxy, on names of its
    // choosing; half of them also write an address of their own into the header before the
    // one the proxy appends. Thirty a minute is the most one address may try.
    let junk = join_all((0..40).map(|i| {
        let app = &app;
        async move {
            let xff = if i % 2 == 0 {
                "203.0.113.7".to_string()
            } else {
                format!("10.{i}.0.1, 203.0.113.7")
            };
            login_from(app, &xff, &format!("junk{i}"), "x-x-x-x-x")
                .await
                .0
        }
    }))
    .await;
    let count = |s: u16| junk.iter().filter(|x| **x == s).count();
    assert_eq!(count(401) + count(429), 40, "{junk:?}");
    assert!(count(429) >= 8, "that client is limited: {junk:?}");
    // Everyone else behind the same proxy still signs in.
    let (s, v) = login_from(&app, "198.51.100.20", "admin", PASSWORD).await;
    assert_eq!(s, 200, "another client is not limited by the first: {v}");
    // Forwarded (RFC 7239) names the client too.
    let r = app
        .client()
        .post(app.url("/api/v1/session"))
        .header("forwarded", "for=203.0.113.7, for=\"[2001:db8::5]:4711\"")
        .json(&json!({"username": "wangge", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Per account, separately: ten attempts a minute on one name, from anywhere.
    let spread =
        join_all(
            (0..16).map(|i| {
                let app = &app;
                async move {
                    login_from(app, &format!("192.0.2.{}", i + 1), "bumen", "wrong-pass-1").await
                }
            }),
        )
        .await;
    let limited = spread
        .iter()
        .filter(|(s, v)| *s == 429 && v["error"]["code"] == "rate_limited")
        .count();
    assert!(limited >= 4, "{spread:?}");

    // Without the proxy trusted, the header is the client's own word and is ignored: the
    // peer is the client.
    let app = support::spawn_with(Options {
        demo: false,
        configure: |cfg| cfg.login_per_minute = 3,
    })
    .await;
    let tries = join_all((0..8).map(|i| {
        let app = &app;
        async move {
            login_from(app, &format!("192.0.2.{i}"), &format!("nobody{i}"), "x")
                .await
                .0
        }
    }))
    .await;
    assert!(
        tries.iter().filter(|s| **s == 429).count() >= 4,
        "{tries:?}"
    );
}

/// The sign-in failures the audit log recorded, as (purpose) — `None` when a password was
/// really checked.
async fn failures(app: &TestApp) -> Vec<Option<String>> {
    let bodies = app
        .db
        .read(|c| c.query("SELECT body FROM audit_entries ORDER BY seq", &[]))
        .await
        .unwrap();
    bodies
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.str(0)).unwrap())
        .filter(|v| v["action"] == "login_failed")
        .map(|v| v["purpose"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn lockout_counts_atomically_under_parallel_guesses() {
    let app = support::spawn_with(Options {
        configure: |cfg| {
            behind_proxy(cfg);
            cfg.login_account_max_failures = 5;
            cfg.login_account_per_minute = 100;
        },
        ..Default::default()
    })
    .await;
    // Twenty guesses at once, each from another address (so that no per-address cost
    // stands in the way): at most five passwords may be checked.
    let answers = join_all((0..20).map(|i| {
        let app = &app;
        async move {
            login_from(
                app,
                &format!("198.51.100.{}", i + 1),
                "wangge",
                &format!("guess-{i:04}-x"),
            )
            .await
        }
    }))
    .await;
    assert!(answers.iter().all(|(s, _)| *s == 401), "{answers:?}");
    let f = failures(&app).await;
    assert_eq!(f.len(), 20, "{f:?}");
    let checked = f.iter().filter(|p| p.is_none()).count();
    assert!(
        checked <= 5,
        "{checked} passwords were checked past a limit of 5: {f:?}"
    );
    assert!(f.iter().filter(|p| p.as_deref() == Some("locked")).count() >= 15);
    // The account is locked: even its password is refused, from anywhere.
    assert_eq!(
        login_from(&app, "198.51.100.250", "wangge", PASSWORD)
            .await
            .0,
        401
    );
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM users WHERE username = 'wangge' AND locked_until > 0")
            .await,
        1
    );
}

#[tokio::test]
async fn refused_sign_ins_answer_alike_whatever_the_reason() {
    let app = support::spawn_with(Options {
        configure: |cfg| {
            cfg.login_account_max_failures = 2;
            cfg.login_max_failures = 100;
            cfg.login_per_minute = 100;
        },
        ..Default::default()
    })
    .await;
    let answer = |username: &'static str, password: &'static str| {
        let app = &app;
        async move {
            let t = Instant::now();
            let r = app
                .client()
                .post(app.url("/api/v1/session"))
                .header("accept-language", "zh-CN")
                .json(&json!({"username": username, "password": password}))
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            let v: Value = r.json().await.unwrap();
            ((s, v["error"].clone()), t.elapsed())
        }
    };
    // Lock wangge (two failures, then the third attempt locks), deactivate bumen.
    for _ in 0..3 {
        answer("wangge", "wrong-password-1").await;
    }
    app.exec("UPDATE users SET active = 0 WHERE username = 'bumen'", &[])
        .await;
    let mut seen = Vec::new();
    let mut fastest = Vec::new();
    for (who, user, pw) in [
        ("wrong password", "shequ", "wrong-password-1"),
        ("unknown user", "no-such-user", "wrong-password-1"),
        ("locked, right password", "wangge", PASSWORD),
        ("locked, wrong password", "wangge", "wrong-password-2"),
        ("deactivated, right password", "bumen", PASSWORD),
    ] {
        let mut best = Duration::MAX;
        let mut got = None;
        for _ in 0..2 {
            let (a, d) = answer(user, pw).await;
            best = best.min(d);
            got = Some(a);
        }
        seen.push((who, got.unwrap()));
        fastest.push((who, best));
    }
    let first = &seen[0].1;
    assert_eq!(first.0, 401);
    assert_eq!(first.1["code"], "bad_credentials");
    for (who, a) in &seen {
        assert_eq!(a, first, "{who} answers like a wrong password");
    }
    // Each refusal spends a password hash's time: none is several times faster.
    let slowest = fastest.iter().map(|(_, d)| *d).max().unwrap();
    for (who, d) in &fastest {
        assert!(
            *d * 5 > slowest,
            "{who} took {d:?}, the slowest {slowest:?}: {fastest:?}"
        );
    }
    // The page answers alike too.
    let (_, r1) = app.login_page("no-such-user", "wrong-password-1").await;
    let (_, r2) = app.login_page("bumen", PASSWORD).await;
    assert_eq!((r1.status().as_u16(), r2.status().as_u16()), (401, 401));
    let (t1, t2) = (r1.text().await.unwrap(), r2.text().await.unwrap());
    let msg = |t: &str| {
        t.split("id=\"login-error\">")
            .nth(1)
            .map(|s| s[..s.find('<').unwrap_or(0)].to_string())
    };
    assert!(msg(&t1).is_some(), "{t1}");
    assert_eq!(msg(&t1), msg(&t2));
}

#[tokio::test]
async fn one_address_cannot_lock_out_an_account() {
    let app = support::spawn_with(Options {
        configure: behind_proxy,
        ..Default::default()
    })
    .await;
    // Someone fails ten times on wangge's account from one address …
    for i in 0..10 {
        let (s, _) = login_from(&app, "203.0.113.66", "wangge", &format!("not-it-{i}")).await;
        assert_eq!(s, 401);
    }
    // … and is refused there from the sixth on, even with the right password …
    assert_eq!(
        login_from(&app, "203.0.113.66", "wangge", PASSWORD).await.0,
        401
    );
    let f = failures(&app).await;
    assert_eq!(f.iter().filter(|p| p.is_none()).count(), 5, "{f:?}");
    // … while wangge, at her own address, signs in.
    let (s, v) = login_from(&app, "198.51.100.3", "wangge", PASSWORD).await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn cookie_api_calls_without_json_need_the_csrf_token() {
    let app = support::spawn().await;
    let (b, r) = app.login_page("wangge", PASSWORD).await;
    assert_eq!(r.status(), 303);
    let home = app.page(&b, "/").await;
    let csrf = extract_input(&home, "csrf").expect("the page carries the session's token");
    let grid = support::place_of(&app, "wangge").await;
    let import_url = app.url(&format!(
        "/api/v1/imports/persons?scope={grid}&dry_run=true"
    ));
    let csv = "序号,姓名,身份证号\n";
    // A text/plain import, as a form on another site could send it with the cookie.
    let r = b
        .post(&import_url)
        .header("content-type", "text/plain")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "csrf");
    let r = b
        .post(&import_url)
        .header("content-type", "text/plain")
        .header("x-csrf-token", "not-the-token")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a wrong token is no token");
    let r = b
        .post(&import_url)
        .header("content-type", "text/plain")
        .header("x-csrf-token", &csrf)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 403, "with the token the import is read");
    // A bodyless POST.
    let r = b
        .post(app.url("/api/v1/inbox/read-all"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = b
        .post(app.url("/api/v1/inbox/read-all"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    // A multipart photo.
    let token = app.token("wangge").await;
    let building: i64 = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT id FROM places WHERE kind = 'building' AND path LIKE $1 ORDER BY id",
                linli::params![format!("{grid}/%")],
            )
        })
        .await
        .unwrap()
        .i64(0);
    let r = app
        .client()
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&token)
        .json(&json!({"category": "noise", "description": "夜里施工", "place_id": building}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let case = r.json::<Value>().await.unwrap()["case"]["id"]
        .as_i64()
        .unwrap();
    let png = {
        let mut png = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_pixel(40, 30, image::Rgb([10, 200, 90]))
            .write_to(&mut png, image::ImageFormat::Png)
            .unwrap();
        png.into_inner()
    };
    let form = || {
        reqwest::multipart::Form::new().part(
            "photo",
            reqwest::multipart::Part::bytes(png.clone()).file_name("x.png"),
        )
    };
    let photos = app.url(&format!("/api/v1/cases/{case}/photos"));
    let r = b.post(&photos).multipart(form()).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = b
        .post(&photos)
        .header("x-csrf-token", &csrf)
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // Bearer calls carry no cookie and need no token; JSON calls with the cookie neither
    // (another site cannot send JSON without a preflight).
    let r = app
        .client()
        .post(&photos)
        .bearer_auth(&token)
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = b
        .post(app.url("/api/v1/cases/duplicates"))
        .json(&json!({"category": "noise", "description": "夜里施工", "place_id": building}))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 403);
}

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn data_files_are_created_private() {
    let app = support::spawn().await;
    let data = app.dir.path().to_path_buf();
    if app.database_url.starts_with("sqlite") {
        for f in ["linli.db", "linli.db-wal", "linli.db-shm"] {
            assert_eq!(mode(&data.join(f)), 0o600, "{f}");
        }
    }
    assert_eq!(mode(&data.join("keys")), 0o700);
    for f in ["field.key", "log.key"] {
        assert_eq!(mode(&data.join("keys").join(f)), 0o600, "{f}");
    }
    // A data folder linli creates is private too.
    let fresh = data.join("a/new/data");
    linli::config::Config {
        data_dir: fresh.clone(),
        ..Default::default()
    }
    .prepare_data_dir()
    .unwrap();
    assert_eq!(mode(&fresh), 0o700);
    // A photo and its folders.
    let token = app.token("jumin").await;
    let grid = support::place_of(&app, "wangge").await;
    let building: i64 = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT id FROM places WHERE kind = 'building' AND path LIKE $1 ORDER BY id",
                linli::params![format!("{grid}/%")],
            )
        })
        .await
        .unwrap()
        .i64(0);
    let r = app
        .client()
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&token)
        .json(&json!({"category": "noise", "description": "夜里施工", "place_id": building}))
        .send()
        .await
        .unwrap();
    let case = r.json::<Value>().await.unwrap()["case"]["id"]
        .as_i64()
        .unwrap();
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(40, 30, image::Rgb([1, 2, 3]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/cases/{case}/photos")))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().part(
            "photo",
            reqwest::multipart::Part::bytes(png.into_inner()).file_name("x.png"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let root = data.join("photos");
    let mut dirs = vec![root.clone()];
    let mut files = Vec::new();
    while let Some(d) = dirs.pop() {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                files.push(p);
            }
        }
    }
    assert_eq!(files.len(), 2, "the photo and its thumbnail");
    for f in files {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}

#[tokio::test]
async fn names_refuse_control_and_bidi_characters() {
    let app = support::spawn().await;
    let wangge = app.token("wangge").await;
    let admin = app.token("admin").await;
    let grid = support::place_of(&app, "wangge").await;
    let g = grid.clone();
    let person = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT id FROM persons WHERE place_path LIKE $1 ORDER BY id",
                linli::params![format!("{g}/%")],
            )
        })
        .await
        .unwrap()
        .i64(0);
    let call =
        |method: reqwest::Method, path: String, token: String, body: Value, lang: &'static str| {
            let app = &app;
            async move {
                let r = app
                    .client()
                    .request(method, app.url(&path))
                    .bearer_auth(token)
                    .header("accept-language", lang)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let s = r.status().as_u16();
                (s, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
    let patch = |body: Value, lang| {
        call(
            reqwest::Method::PATCH,
            format!("/api/v1/persons/{person}"),
            wangge.clone(),
            body,
            lang,
        )
    };
    // A right-to-left override makes "王明\u{202E}gpj.exe" read as "王明exe.jpg".
    for name in [
        "王\u{202E}明",
        "王明\u{2066}",
        "王\u{0}明",
        "王\u{1B}[2J明",
        "王\u{85}明",
        "王\n明",
    ] {
        let (s, v) = patch(json!({"name": name}), "zh-CN").await;
        assert_eq!(s, 422, "{name:?}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("控制符"),
            "{v}"
        );
    }
    let (s, v) = patch(json!({"name": "王\u{202E}明"}), "en").await;
    assert_eq!(s, 422);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("text-direction overrides"),
        "{v}"
    );
    let (s, v) = patch(json!({"notes": "第一行\r\n第二行\t缩进"}), "zh-CN").await;
    assert_eq!(s, 200, "a note keeps its lines and tabs: {v}");
    let (s, _) = patch(json!({"notes": "备注\u{202D}"}), "zh-CN").await;
    assert_eq!(s, 422);
    let (s, _) = patch(json!({"name": "王明"}), "zh-CN").await;
    assert_eq!(s, 200);
    // A case's description, and an account's name.
    let building: i64 = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT id FROM places WHERE kind = 'building' AND path LIKE $1 ORDER BY id",
                linli::params![format!("{grid}/%")],
            )
        })
        .await
        .unwrap()
        .i64(0);
    let jumin = app.token("jumin").await;
    let (s, v) = call(
        reqwest::Method::POST,
        "/api/v1/cases".into(),
        jumin.clone(),
        json!({"category": "noise", "description": "夜里\u{202E}施工", "place_id": building}),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = call(
        reqwest::Method::POST,
        "/api/v1/cases".into(),
        jumin,
        json!({"category": "noise", "description": "夜里施工\n已经三天了", "place_id": building}),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = call(
        reqwest::Method::GET,
        "/api/v1/places?kind=grid".into(),
        admin.clone(),
        Value::Null,
        "zh-CN",
    )
    .await;
    assert_eq!(s, 200);
    let target = v["items"][0]["path"].as_str().unwrap().to_string();
    let (s, v) = call(
        reqwest::Method::POST,
        "/api/v1/users".into(),
        admin,
        json!({"username": "newbie", "display_name": "新\u{7}人", "password": "long-enough-pw",
               "role": "grid_worker", "target": target}),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 422, "{v}");
}

#[tokio::test]
async fn common_passwords_are_refused() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let (_, v) = app.get_json(&admin, "/api/v1/places?kind=grid").await;
    let target = v["items"][0]["path"].as_str().unwrap().to_string();
    let create = |username: &'static str, password: &'static str| {
        let (app, admin, target) = (&app, admin.clone(), target.clone());
        async move {
            let r = app
                .client()
                .post(app.url("/api/v1/users"))
                .bearer_auth(admin)
                .header("accept-language", "en")
                .json(
                    &json!({"username": username, "display_name": "新人", "password": password,
                              "role": "grid_worker", "target": target}),
                )
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    for pw in [
        "password123",
        "Qwertyuiop",
        "1qaz2wsx3edc",
        "iloveyou1",
        "woaini1314",
    ] {
        let (s, v) = create("newbie", pw).await;
        assert_eq!(s, 422, "{pw}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("too common"),
            "{v}"
        );
    }
    let (s, v) = create("newbie", "long-enough-pw").await;
    assert_eq!(s, 201, "{v}");
    assert!(linli::org::users::is_common_password("sunshine1"));
    assert!(!linli::org::users::is_common_password(PASSWORD));
}

fn linli_bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_linli"));
    for v in [
        "LINLI_DATABASE_URL",
        "LINLI_DATA",
        "LINLI_LISTEN",
        "LINLI_KEY_DIR",
        "LINLI_KEYS_DIR",
        "LINLI_KEY_PASSPHRASE",
        "LINLI_KEY_PASSPHRASE_FILE",
    ] {
        c.env_remove(v);
    }
    c
}

fn run(c: &mut std::process::Command) -> (bool, String) {
    let out = c.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn keys_can_live_outside_the_data_folder_and_be_wrapped() {
    use linli::store::keys::FieldKeys;
    let data = tempfile::tempdir().unwrap();
    let vault = tempfile::tempdir().unwrap();
    let keys = vault.path().join("linli-keys");
    let d = data.path().to_str().unwrap();
    // A key folder of its own and a passphrase: the keys are made there, wrapped.
    let (ok, out) = run(linli_bin()
        .args(["--data", d, "migrate"])
        .env("LINLI_KEY_DIR", &keys)
        .env("LINLI_KEY_PASSPHRASE", "绿萝 窗台 一百零八"));
    assert!(ok, "{out}");
    assert!(
        !data.path().join("keys").exists(),
        "no key in the data folder"
    );
    let text = std::fs::read_to_string(keys.join("field.key")).unwrap();
    assert!(text.starts_with("linli wrapped key v1"), "{text}");
    assert!(
        std::fs::read_to_string(keys.join("log.key"))
            .unwrap()
            .starts_with("linli wrapped key v1")
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&keys), 0o700);
        assert_eq!(mode(&keys.join("field.key")), 0o600);
    }
    // Without the passphrase, or with another, nothing starts.
    let (ok, out) =
        run(linli_bin().args(["--data", d, "--key-dir", keys.to_str().unwrap(), "migrate"]));
    assert!(!ok && out.contains("LINLI_KEY_PASSPHRASE"), "{out}");
    let (ok, out) = run(linli_bin()
        .args(["--data", d, "--key-dir", keys.to_str().unwrap(), "migrate"])
        .env("LINLI_KEY_PASSPHRASE", "wrong"));
    assert!(!ok && out.contains("passphrase"), "{out}");
    // The flag does what the variable does.
    let (ok, out) = run(linli_bin()
        .args(["--data", d, "--key-dir", keys.to_str().unwrap(), "migrate"])
        .env("LINLI_KEY_PASSPHRASE", "绿萝 窗台 一百零八"));
    assert!(ok, "{out}");
    assert!(FieldKeys::load(&keys, Some("绿萝 窗台 一百零八")).is_ok());

    // Keys made before: plain in DATA/keys, and they keep working; `keys wrap` wraps them
    // in place, the same keys.
    let old = tempfile::tempdir().unwrap();
    let o = old.path().to_str().unwrap();
    let (ok, out) = run(linli_bin().args(["--data", o, "migrate"]));
    assert!(ok, "{out}");
    let old_keys = old.path().join("keys");
    let before = FieldKeys::load_or_create(&old_keys)
        .unwrap()
        .blind_index("id", "110105194912310021");
    let (ok, out) = run(linli_bin().args(["--data", o, "keys", "wrap"]));
    assert!(!ok && out.contains("LINLI_KEY_PASSPHRASE"), "{out}");
    let (ok, out) = run(linli_bin()
        .args(["--data", o, "keys", "wrap"])
        .env("LINLI_KEY_PASSPHRASE", "another passphrase"));
    assert!(ok && out.contains("wrapped"), "{out}");
    assert!(
        std::fs::read_to_string(old_keys.join("field.key"))
            .unwrap()
            .starts_with("linli wrapped key v1")
    );
    let after = FieldKeys::load(&old_keys, Some("another passphrase"))
        .unwrap()
        .blind_index("id", "110105194912310021");
    assert_eq!(before, after, "the same key, wrapped");
    let (ok, out) = run(linli_bin()
        .args(["--data", o, "migrate"])
        .env("LINLI_KEY_PASSPHRASE", "another passphrase"));
    assert!(ok, "{out}");
    let (ok, out) = run(linli_bin().args(["--data", o, "migrate"]));
    assert!(!ok && out.contains("LINLI_KEY_PASSPHRASE"), "{out}");
}
