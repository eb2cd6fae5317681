//! The shell: health, metrics, sign-in over the API and the form, errors in linli's format,
//! security headers, sessions, CSRF, lockout, user management, translations, OpenAPI.

use crate::support::{self, PASSWORD, extract_input};
use serde_json::Value;

#[tokio::test]
async fn health_ready_and_metrics() {
    let app = support::spawn().await;
    let c = app.client();
    assert_eq!(app.page(&c, "/healthz").await, "ok");
    assert_eq!(
        c.get(app.url("/readyz")).send().await.unwrap().status(),
        200
    );
    let token = app.token("admin").await;
    app.get_json(&token, "/api/v1/places?limit=5").await;
    let m = app.page(&c, "/metrics").await;
    assert!(
        m.contains(
            "linli_http_requests_total{method=\"GET\",route=\"/api/v1/places\",status=\"200\"}"
        ),
        "{m}"
    );
    assert!(m.contains("linli_http_request_duration_seconds_bucket"));
    assert!(m.contains("linli_db_pool_idle"));
}

#[tokio::test]
async fn api_session_and_error_format() {
    let app = support::spawn().await;
    let c = app.client();
    // A wrong password: 401 in the error format.
    let r = c
        .post(app.url("/api/v1/session"))
        .json(&serde_json::json!({"username": "admin", "password": "wrong-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "bad_credentials");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("密码"),
        "Chinese by default: {v}"
    );
    // English on request.
    let r = c
        .post(app.url("/api/v1/session"))
        .header("accept-language", "en-US,en;q=0.9")
        .json(&serde_json::json!({"username": "nobody", "password": "wrong-password"}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["message"], "Wrong username or password.");
    // Malformed JSON: 400.
    let r = c
        .post(app.url("/api/v1/session"))
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "bad_json");
    // Missing field: 400 too, with the field named.
    let r = c
        .post(app.url("/api/v1/session"))
        .json(&serde_json::json!({"username": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("password"));
    // Over the body limit: 413 in the same format.
    let big = format!(
        "{{\"username\":\"{}\",\"password\":\"x\"}}",
        "a".repeat(3 * 1024 * 1024)
    );
    let r = c
        .post(app.url("/api/v1/session"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "too_large");
    // Unknown API route: JSON 404; unknown page: HTML 404.
    let r = c.get(app.url("/api/v1/nothing-here")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "not_found");
    let r = c.get(app.url("/nothing-here")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().await.unwrap().contains("<html"));
    // No credentials: 401; a bad token: 401 with its own code.
    let r = c.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .get(app.url("/api/v1/me"))
        .bearer_auth("lnl_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "bad_token");
    // A good token works, and revoking it ends it.
    let token = app.token("shegong").await;
    let (s, me) = app.get_json(&token, "/api/v1/me").await;
    assert_eq!(s, 200);
    assert_eq!(me["username"], "shegong");
    assert_eq!(me["grants"][0]["role"], "community_worker");
    let r = c
        .delete(app.url("/api/v1/session"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (s, _) = app.get_json(&token, "/api/v1/me").await;
    assert_eq!(s, 401);
}

/// A path segment that does not parse names nothing (404), and a malformed query parameter is
/// 400 naming the parameter: in linli's error format and the caller's language, on the API
/// and on pages alike, never the framework's plain English text.
#[tokio::test]
async fn malformed_paths_and_queries_get_linli_errors() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let get = |path: &'static str, lang: &'static str| {
        app.client()
            .get(app.url(path))
            .bearer_auth(&admin)
            .header("Accept-Language", lang)
            .send()
    };
    for path in [
        "/api/v1/cases/abc",
        "/api/v1/persons/xyz",
        "/api/v1/places/1.5",
    ] {
        let r = get(path, "zh-CN").await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "not_found", "{path}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("找不到"),
            "{v}"
        );
    }
    for (path, param) in [
        ("/api/v1/cases?limit=abc", "limit"),
        ("/api/v1/cases?late=maybe", "late"),
        ("/api/v1/places?limit=x", "limit"),
        ("/api/v1/audit/proof/inclusion?entry=-1", "entry"),
    ] {
        let r = get(path, "zh-CN").await.unwrap();
        assert_eq!(r.status(), 400, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "bad_request", "{path}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.starts_with("查询参数不正确（") && msg.contains(param),
            "{path}: {msg}"
        );
        let v: Value = get(path, "en").await.unwrap().json().await.unwrap();
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.starts_with("Wrong query parameter (") && msg.contains(param),
            "{msg}"
        );
    }
    // Pages: the not-found page, in Chinese, for an id that is not a number.
    let (b, _) = app.login_page("jumin", PASSWORD).await;
    let r = b.get(app.url("/cases/mine")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = r.text().await.unwrap();
    assert!(page.contains("找不到该页面或记录"), "{page}");
    // The residents' search form as a browser sends it: every field, the blank ones empty.
    let (b, _) = app.login_page("shegong", PASSWORD).await;
    let (_, v) = app
        .get_json(&app.token("shegong").await, "/api/v1/persons?q=李&limit=1")
        .await;
    assert!(v["items"].as_array().is_some_and(|a| !a.is_empty()), "{v}");
    let form = "/persons?q=%E6%9D%8E&address=&tag=&age_min=&age_max=&presence=";
    let r = b.get(app.url(form)).send().await.unwrap();
    assert_eq!(r.status(), 200, "blank numbers are no bound");
    let page = r.text().await.unwrap();
    let first = format!("/persons/{}", v["items"][0]["id"]);
    assert!(page.contains(&first), "the first match is listed: {first}");
    let r = b
        .get(app.url("/persons?q=&age_min=abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("查询参数不正确") && page.contains("age_min"),
        "{page}"
    );
}

#[tokio::test]
async fn security_headers() {
    let app = support::spawn().await;
    let r = app.client().get(app.url("/login")).send().await.unwrap();
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["cache-control"], "no-store");
    assert!(h.contains_key("x-request-id"));
    assert!(
        !h.contains_key("strict-transport-security"),
        "no HSTS without TLS"
    );
    // No page refers to anything outside linli.
    let body = r.text().await.unwrap();
    assert!(
        !body.contains("http://") && !body.contains("https://"),
        "no external assets"
    );
    let css = app
        .client()
        .get(app.url("/static/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(!css.text().await.unwrap().contains("@import"));
}

#[tokio::test]
async fn form_login_home_and_logout() {
    let app = support::spawn().await;
    // Anonymous pages redirect to the login page.
    let r = app.browser().get(app.url("/places")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?next=")
    );
    // A wrong password keeps the person on the form, with a message.
    let (_, r) = app.login_page("wangge", "not-the-password").await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("用户名或密码不正确"));
    // Each role has its home page.
    for (user, marker) in [
        ("admin", "街道管理员"),
        ("shegong", "居委社工"),
        ("wangge", "网格员"),
        ("bumen", "服务范围"),
        ("wuye", "服务范围"),
        ("zhiyuan", "志愿者"),
        ("jumin", "我的家庭"),
    ] {
        let (b, r) = app.login_page(user, PASSWORD).await;
        assert_eq!(r.status(), 303, "{user} signs in");
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        let home = b.get(app.url("/")).send().await.unwrap();
        assert_eq!(home.status(), 200);
        let html = home.text().await.unwrap();
        assert!(html.contains(marker), "{user}'s home shows {marker}");
        // Logging out needs the CSRF token; without it nothing happens.
        let r = b
            .post(app.url("/logout"))
            .form(&[("csrf", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let csrf = extract_input(&html, "csrf").unwrap();
        let r = b
            .post(app.url("/logout"))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let r = b.get(app.url("/")).send().await.unwrap();
        assert_eq!(r.status(), 303, "{user}'s session ended");
    }
}

#[tokio::test]
async fn login_form_needs_its_csrf_cookie() {
    let app = support::spawn().await;
    let r = app
        .browser()
        .post(app.url("/login"))
        .form(&[
            ("username", "admin"),
            ("password", PASSWORD),
            ("login_csrf", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn lockout_after_repeated_failures() {
    let app = support::spawn().await;
    let c = app.client();
    let try_login = |pw: &'static str| {
        let c = c.clone();
        let url = app.url("/api/v1/session");
        async move {
            c.post(url)
                .json(&serde_json::json!({"username": "wangge", "password": pw}))
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..5 {
        assert_eq!(try_login("wrong-password").await.status(), 401);
    }
    // After five failures from this address, even the right password is refused from it, with
    // the answer a wrong password gets (a lock tells nothing about the account).
    let r = try_login(PASSWORD).await;
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "bad_credentials");
    // Another account is unaffected.
    app.token("admin").await;
}

#[tokio::test]
async fn expired_sessions_end() {
    let app = support::spawn().await;
    let (b, _) = app.login_page("admin", PASSWORD).await;
    assert_eq!(b.get(app.url("/")).send().await.unwrap().status(), 200);
    // Idle for longer than the timeout.
    app.db
        .write(|c| c.exec("UPDATE sessions SET last_seen_at = 0", &[]))
        .await
        .unwrap();
    app.state.callers.clear();
    // The page she opens sends her to sign in again, saying why (issue 19 item 10).
    let r = b.get(app.url("/places")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, "/login?reason=expired&next=%2Fplaces");
    let login = b
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("登录已过期"), "{login}");
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM sessions").await,
        0,
        "the expired session is deleted"
    );
}

#[tokio::test]
async fn user_management() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let c = app.client();
    let (_, grid) = app
        .get_json(&admin, "/api/v1/places?kind=grid&limit=10")
        .await;
    let grid_path = grid["items"][1]["path"].as_str().unwrap().to_string();
    let new = |u: &str, role: &str, target: &str, pw: &str| serde_json::json!({"username": u, "display_name": "赵倩", "password": pw, "role": role, "target": target});
    let r = c
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&new(
            "zhaoqian",
            "grid_worker",
            &grid_path,
            "long-enough-pw",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // The new grid worker signs in and sees her grid only.
    let r = c
        .post(app.url("/api/v1/session"))
        .json(&serde_json::json!({"username": "zhaoqian", "password": "long-enough-pw"}))
        .send()
        .await
        .unwrap();
    let tok = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, places) = app
        .get_json(&tok, "/api/v1/places?limit=1000&with_total=true")
        .await;
    assert!(places["total"].as_i64().unwrap() > 1);
    assert_eq!(
        places["total"].as_i64().unwrap() as usize,
        places["items"].as_array().unwrap().len()
    );
    assert!(places["next_offset"].is_null());
    // Paging walks the same list.
    let (_, first) = app.get_json(&tok, "/api/v1/places?limit=2").await;
    assert_eq!(first["next_offset"], 2);
    assert_eq!(first["items"][1]["id"], places["items"][1]["id"]);
    let (_, second) = app.get_json(&tok, "/api/v1/places?limit=2&offset=2").await;
    assert_eq!(second["items"][0]["id"], places["items"][2]["id"]);
    // Bad paging parameters are refused with a message.
    for bad in [
        "limit=0",
        "limit=5000",
        "offset=-1",
        "limit=abc",
        "kind=planet",
    ] {
        let (s, v) = app.get_json(&tok, &format!("/api/v1/places?{bad}")).await;
        assert_eq!(s, 400, "{bad}");
        assert_eq!(v["error"]["code"], "bad_request");
    }
    for p in places["items"].as_array().unwrap() {
        assert!(p["path"].as_str().unwrap().starts_with(&grid_path));
    }
    // Refusals a person can act on.
    let cases = [
        (
            new("zhaoqian", "grid_worker", &grid_path, "long-enough-pw"),
            409,
            "conflict",
        ),
        (
            new("x", "grid_worker", &grid_path, "long-enough-pw"),
            422,
            "invalid",
        ),
        (
            new("someone", "grid_worker", &grid_path, "short"),
            422,
            "invalid",
        ),
        (
            new("someone", "king", &grid_path, "long-enough-pw"),
            422,
            "invalid",
        ),
        (
            new("someone", "grid_worker", "999/nowhere", "long-enough-pw"),
            422,
            "invalid",
        ),
        (
            new("someone", "street_admin", &grid_path, "long-enough-pw"),
            422,
            "invalid",
        ),
    ];
    for (body, status, code) in cases {
        let r = c
            .post(app.url("/api/v1/users"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], code);
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    }
    // Only administrators manage users.
    let wangge = app.token("wangge").await;
    let r = c
        .post(app.url("/api/v1/users"))
        .bearer_auth(&wangge)
        .json(&new("other", "grid_worker", &grid_path, "long-enough-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (s, _) = app.get_json(&wangge, "/api/v1/users").await;
    assert_eq!(s, 403);
    let (s, list) = app.get_json(&admin, "/api/v1/users").await;
    assert_eq!(s, 200);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "zhaoqian")
    );
    assert!(
        !list.to_string().contains("argon2"),
        "hashes never leave the server"
    );
}

#[tokio::test]
async fn user_pages_deactivate_and_reset() {
    let app = support::spawn().await;
    let (b, _) = app.login_page("admin", PASSWORD).await;
    let page = app.page(&b, "/admin/users").await;
    assert!(page.contains("wangge"));
    let csrf = extract_input(&page, "csrf").unwrap();
    let id = app
        .db
        .read(|c| c.query_i64("SELECT id FROM users WHERE username = 'wangge'", &[]))
        .await
        .unwrap();
    // Deactivation ends the grid worker's access at once.
    let tok = app.token("wangge").await;
    let r = b
        .post(app.url(&format!("/admin/users/{id}/active")))
        .form(&[("csrf", csrf.as_str()), ("active", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (s, _) = app.get_json(&tok, "/api/v1/me").await;
    assert_eq!(s, 401);
    // Her sign-in is refused like a wrong password (a deactivated account is not told apart).
    let (_, r) = app.login_page("wangge", PASSWORD).await;
    assert_eq!(r.status(), 401);
    // Reactivate and reset the password.
    b.post(app.url(&format!("/admin/users/{id}/active")))
        .form(&[("csrf", csrf.as_str()), ("active", "1")])
        .send()
        .await
        .unwrap();
    // The old form that set a password is gone: an administrator only issues a link.
    let r = b
        .post(app.url(&format!("/admin/users/{id}/password")))
        .form(&[("csrf", csrf.as_str()), ("password", "a-new-password")])
        .send()
        .await
        .unwrap();
    assert!(r.status() == 404 || r.status() == 405, "{}", r.status());
    let r = b
        .post(app.url(&format!("/admin/users/{id}/reset-link")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let url = page
        .find("/activate?token=")
        .map(|i| &page[i..])
        .and_then(|rest| Some(rest[..rest.find('"')?].to_string()))
        .expect("the page shows the one-time link");
    let token = url.split("token=").nth(1).unwrap().to_string();
    // Until the link is used the old password still works.
    let (_, r) = app.login_page("wangge", PASSWORD).await;
    assert_eq!(r.status(), 303);
    let anon = app.client();
    let r = anon
        .post(app.url("/activate"))
        .form(&[
            ("token", token.as_str()),
            ("password", "a-new-password"),
            ("password2", "a-new-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, r) = app.login_page("wangge", "a-new-password").await;
    assert_eq!(r.status(), 303);
    let (_, r) = app.login_page("wangge", PASSWORD).await;
    assert_eq!(r.status(), 401);
    // The link works once.
    let r = anon
        .post(app.url("/activate"))
        .form(&[
            ("token", token.as_str()),
            ("password", "another-password-1"),
            ("password2", "another-password-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    // The issue is in the audit log, naming the account.
    app.state.audit.flush_index().await.unwrap();
    let n = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM audit_entries e JOIN audit_subjects s ON s.seq = e.seq \
                 WHERE e.body LIKE '%issue reset link%' AND s.subject = $1",
                &[linli::store::Val::Text(format!("user:{id}"))],
            )
        })
        .await
        .unwrap();
    assert_eq!(n, 1);
    // A form without the token changes nothing.
    let r = b
        .post(app.url(&format!("/admin/users/{id}/active")))
        .form(&[("active", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn english_by_header_or_switch() {
    let app = support::spawn().await;
    let r = app
        .client()
        .get(app.url("/login"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Sign in"));
    let b = app.browser();
    let r = b.get(app.url("/lang/en?next=/login")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/login");
    let html = app.page(&b, "/login").await;
    assert!(html.contains("Sign in") && html.contains("lang=\"en\""));
    // An open redirect is refused.
    let r = b
        .get(app.url("/lang/zh?next=//evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/");
}

#[test]
fn catalogues_have_the_same_keys_and_cover_every_use() {
    use linli::kernel::i18n::{EN_SOURCE, ZH_SOURCE, flatten};
    let zh = flatten(ZH_SOURCE);
    let en = flatten(EN_SOURCE);
    let mut missing: Vec<String> = zh
        .keys()
        .filter(|k| !en.contains_key(*k))
        .map(|k| format!("en lacks {k}"))
        .collect();
    missing.extend(
        en.keys()
            .filter(|k| !zh.contains_key(*k))
            .map(|k| format!("zh lacks {k}")),
    );
    // Every literal key used by templates (t.s("…")) and code ("error.…", "login.…") exists.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["templates", "src", "src/web", "src/org", "src/registry"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "html" || x == "rs") {
                files.push(p);
            }
        }
    }
    // Messages composed in both languages (i18n::both, i18n::en_zh), anywhere in the source.
    let mut dirs = vec![root.join("src")];
    let mut all = Vec::new();
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                all.push(p);
            }
        }
    }
    let files = files
        .into_iter()
        .map(|f| (f, false))
        .chain(all.into_iter().map(|f| (f, true)));
    for (f, composed_only) in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let prefixes: &[&str] = if composed_only {
            &["both(\"", "en_zh(\""]
        } else {
            &["t.s(\"", "\"error.", "\"login.", "\"users."]
        };
        for prefix in prefixes {
            for (i, _) in text.match_indices(prefix) {
                let start = i + prefix.len()
                    - if prefix.ends_with("(\"") {
                        0
                    } else {
                        prefix.len() - 1
                    };
                let rest = &text[start..];
                let Some(end) = rest.find('"') else { continue };
                let key = &rest[..end];
                if key.contains(' ')
                    || key.contains('{')
                    || key.ends_with('.')
                    || key.ends_with(".html")
                    || key.is_empty()
                {
                    continue;
                }
                if !zh.contains_key(key) {
                    missing.push(format!("{} uses {key}", f.display()));
                }
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "translation problems:\n{}",
        missing.join("\n")
    );
}

#[test]
fn openapi_document_is_current() {
    let generated = linli::app::openapi_json();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    if std::env::var("LINLI_UPDATE_OPENAPI").is_ok() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `LINLI_UPDATE_OPENAPI=1 cargo test --test it openapi` and commit it"
    );
    let v: Value = serde_json::from_str(&generated).unwrap();
    assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
    for p in [
        "/api/v1/session",
        "/api/v1/places",
        "/api/v1/households/{id}",
    ] {
        assert!(v["paths"][p].is_object(), "{p} documented");
    }
}

#[tokio::test]
async fn openapi_is_served() {
    let app = support::spawn_with(support::Options {
        demo: false,
        ..Default::default()
    })
    .await;
    let r = app
        .client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), linli::app::openapi_json());
}

/// Issue 19 item 14: a phone can keep linli on its home screen: every page names the manifest,
/// which names icons that are served (an SVG and PNGs of the sizes it says).
#[tokio::test]
async fn a_phone_can_keep_linli_on_its_home_screen() {
    let app = support::spawn().await;
    let page = app
        .client()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"<link rel="manifest" href="/manifest.webmanifest">"#));
    let r = app
        .client()
        .get(app.url("/manifest.webmanifest"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/manifest+json");
    let m: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(m["short_name"], "邻里");
    assert_eq!(m["display"], "standalone");
    assert_eq!(m["start_url"], "/");
    for icon in m["icons"].as_array().unwrap() {
        let r = app
            .client()
            .get(app.url(icon["src"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{icon}");
        assert_eq!(r.headers()["content-type"], icon["type"].as_str().unwrap());
        let bytes = r.bytes().await.unwrap();
        if icon["type"] == "image/png" {
            let img = image::load_from_memory(&bytes).unwrap();
            assert_eq!(
                format!("{}x{}", img.width(), img.height()),
                icon["sizes"].as_str().unwrap()
            );
        }
    }
}
