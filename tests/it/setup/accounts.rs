//! Accounts in bulk and by one-time link (issue 21 part 4): the staff list imported all or
//! nothing with a link per account, an API account without a password gets a link, a reset is
//! a new link; other roles get 403 and other streets' accounts 404.

use serde_json::{Value, json};

use super::{activate, post_bytes, send};
use crate::support::{self, PASSWORD, TestApp, extract_input, now_s, totp_code_at as code_at};

async fn import(app: &TestApp, token: &str, q: &str, csv: &str) -> (u16, Value) {
    let path = format!("/api/v1/users/import?{q}");
    post_bytes(app, token, &path, csv.as_bytes().to_vec()).await
}

/// Names of a grid and a community of the admin's street, and a department's name.
async fn targets(app: &TestApp) -> (String, String, String) {
    app.db
        .read(|c| {
            let street = c.query_one("SELECT street_id FROM users WHERE username = 'admin'", &[])?.i64(0);
            let s = linli::store::Val::Int(street);
            let grid = c.query_one(
                "SELECT name FROM places WHERE street_id = $1 AND kind = 'grid' ORDER BY path LIMIT 1",
                std::slice::from_ref(&s),
            )?;
            let community = c.query_one(
                "SELECT path FROM places WHERE street_id = $1 AND kind = 'community' ORDER BY path LIMIT 1",
                std::slice::from_ref(&s),
            )?;
            let dept = c.query_one(
                "SELECT name FROM organisations WHERE street_id = $1 AND kind = 'department' ORDER BY code LIMIT 1",
                std::slice::from_ref(&s),
            )?;
            Ok((grid.str(0), community.str(0), dept.str(0)))
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_staff_list_makes_accounts_with_one_time_links_all_or_nothing() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let (grid, community, dept) = targets(&app).await;
    let bad = format!(
        "工作人员名单,,,,\n姓名,角色,地点或单位,手机,账号\n\
         赵一,网格员,{grid},13900000001,\n\
         钱二,居委社工,{community},13900000002,qian2\n\
         孙三,厨师,{grid},13900000003,sun3\n\
         李四,职能部门处置人员,{dept},,\n\
         周五,网格员,{grid},13900000005,wangge\n\
         吴六,网格员,{grid},13900000006,qian2\n"
    );
    let (s, r) = import(&app, &admin, "format=csv&dry_run=true", &bad).await;
    assert_eq!(s, 422, "{r}");
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[0]["row"], 3, "Excel's row numbers: {r}");
    assert_eq!(
        rows[0]["username"], "13900000001",
        "the phone is the username: {r}"
    );
    assert!(
        rows[0]["refused"].is_null() && rows[1]["refused"].is_null(),
        "{r}"
    );
    assert!(rows[2]["refused"].as_str().unwrap().contains("角色"), "{r}");
    assert!(rows[3]["refused"].as_str().unwrap().contains("账号"), "{r}");
    assert!(!rows[4]["refused"].is_null(), "an existing username: {r}");
    assert!(
        rows[5]["refused"].as_str().unwrap().contains("同一个账号"),
        "{r}"
    );
    assert_eq!(r["refused"], 4);
    // Applying a list with refused rows writes nothing.
    let before = app.query_i64("SELECT COUNT(*) FROM users").await;
    let (s, r) = import(&app, &admin, "format=csv", &bad).await;
    assert_eq!(s, 422);
    assert!(r["created"].as_array().unwrap().is_empty());
    assert_eq!(app.query_i64("SELECT COUNT(*) FROM users").await, before);

    let good = format!(
        "姓名,角色,地点或单位,手机,账号\n\
         赵一,网格员,{grid},13900000001,\n\
         钱二,居委社工,{community},13900000002,qian2\n\
         李四,职能部门处置人员,{dept},13900000004,\n"
    );
    let (s, r) = import(&app, &admin, "format=csv&dry_run=true", &good).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(app.query_i64("SELECT COUNT(*) FROM users").await, before);
    let (s, r) = import(&app, &admin, "format=csv", &good).await;
    assert_eq!(s, 201, "{r}");
    let created = r["created"].as_array().unwrap();
    assert_eq!(created.len(), 3);
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM users").await,
        before + 3
    );
    // Nobody can sign in before activating; the link sets her own password, once.
    let url = created[0]["url"].as_str().unwrap();
    assert!(url.contains("/activate?token="), "{url}");
    let (_, page) = app.login_page("13900000001", PASSWORD).await;
    assert_eq!(page.status(), 401);
    assert_eq!(activate(&app, url, "zhao-yi-pass-1").await, 303);
    let tok = app.token_with("13900000001", "zhao-yi-pass-1").await;
    let (s, me) = app.get_json(&tok, "/api/v1/me").await;
    assert_eq!(s, 200);
    assert_eq!(me["display_name"], "赵一", "{me}");
    assert_eq!(activate(&app, url, "another-pass-2").await, 410);
    // Importing the same list again refuses every row (the usernames exist).
    let (s, r) = import(&app, &admin, "format=csv", &good).await;
    assert_eq!(s, 422, "{r}");
    // The import is in the audit log, naming the accounts.
    let n = app
        .query_i64("SELECT COUNT(*) FROM audit_entries WHERE body LIKE '%import 3 workers%'")
        .await;
    assert_eq!(n, 1);
    // Not a street administrator: 403.
    for who in ["shegong", "wangge", "bumen", "jumin"] {
        let t = app.token(who).await;
        let (s, _) = import(&app, &t, "format=csv&dry_run=true", &good).await;
        assert_eq!(s, 403, "{who}");
    }
    let (s, _) = import(&app, &admin, "format=pdf", &good).await;
    assert_eq!(s, 400);
    let (s, r) = import(&app, &admin, "format=csv", "a,b\n1,2\n").await;
    assert_eq!(s, 422);
    assert!(r["problem"].as_str().unwrap().contains("表头"), "{r}");
    app.stop().await;
}

#[tokio::test]
async fn an_administrator_hands_out_links_and_never_sets_a_password() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let (grid, _, _) = targets(&app).await;
    let grid_path = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT path FROM places WHERE name = $1 AND kind = 'grid'",
                &[linli::store::Val::Text(grid)],
            )
        })
        .await
        .unwrap()
        .str(0);
    let (s, r) = send(&app, &admin, "POST", "/api/v1/users",
        json!({"username": "xin-wangge", "display_name": "新网格员", "role": "grid_worker", "target": grid_path})).await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_i64().unwrap();
    let url = r["activation"]["url"].as_str().unwrap().to_string();
    assert!(r["activation"]["expires_at"].as_i64().unwrap() > 0);
    // A reset link replaces the unused activation link.
    let (s, reset) = send(
        &app,
        &admin,
        "POST",
        &format!("/api/v1/users/{id}/reset-link"),
        json!({}),
    )
    .await;
    assert_eq!(s, 201, "{reset}");
    assert_eq!(activate(&app, &url, "first-pass-123").await, 410);
    assert_eq!(
        activate(&app, reset["url"].as_str().unwrap(), "first-pass-123").await,
        303
    );
    let (_, ok) = app.login_page("xin-wangge", "first-pass-123").await;
    assert_eq!(ok.status(), 303);
    // Others may not issue links; an account outside the administrator's street is not found.
    for who in ["shegong", "wangge", "jumin"] {
        let t = app.token(who).await;
        let (s, _) = send(
            &app,
            &t,
            "POST",
            &format!("/api/v1/users/{id}/reset-link"),
            json!({}),
        )
        .await;
        assert_eq!(s, 403, "{who}");
    }
    let (s, _) = send(
        &app,
        &admin,
        "POST",
        "/api/v1/users/999999/reset-link",
        json!({}),
    )
    .await;
    assert_eq!(s, 404);

    // The page: a new account shows its activation link once; no password field anywhere.
    let (b, _) = app.login_page("admin", PASSWORD).await;
    let page = app.page(&b, "/admin/users").await;
    assert!(!page.contains("name=\"password\""), "no password field");
    assert!(page.contains("/admin/users/import"));
    let csrf = extract_input(&page, "csrf").unwrap();
    let r = b
        .post(app.url("/admin/users"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "page-made"),
            ("display_name", "页面新建"),
            ("role", "grid_worker"),
            ("target", grid_path.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("一次性激活链接") && page.contains("/activate?token="),
        "{page}"
    );
    // The workers' import page, its template, and a dry run by upload.
    let page = app.page(&b, "/admin/users/import").await;
    assert!(page.contains("批量导入工作人员"), "{page}");
    let t = b
        .get(app.url("/admin/users/import/template.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(t.status(), 200);
    assert!(t.text().await.unwrap().starts_with("姓名,账号,角色"));
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("dry_run", "1")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"name,role,target\nX,chef,nowhere\n".to_vec())
                .file_name("w.csv"),
        );
    let r = b
        .post(app.url("/admin/users/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("第 2 行") && page.contains("角色不认识"),
        "{page}"
    );
    let (w, _) = app.login_page("wangge", PASSWORD).await;
    let r = w.get(app.url("/admin/users/import")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    app.stop().await;
}

async fn session(app: &TestApp, user: &str, totp: Option<&str>) -> (u16, Value) {
    let mut body = json!({"username": user, "password": PASSWORD});
    if let Some(t) = totp {
        body["totp"] = json!(t);
    }
    let r = app
        .client()
        .post(app.url("/api/v1/session"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_street_that_turns_on_the_second_factor_asks_it_of_those_who_reveal() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let wangge_api = app.token("wangge").await;
    // Only a street administrator turns it on.
    let r = app
        .client()
        .put(app.url("/api/v1/settings/second-factor"))
        .bearer_auth(&wangge_api)
        .json(&json!({"required": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .client()
        .put(app.url("/api/v1/settings/second-factor"))
        .bearer_auth(&admin)
        .json(&json!({"required": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, s) = app.get_json(&admin, "/api/v1/settings/second-factor").await;
    assert_eq!(s["required"], true);

    // A resident is not asked; a grid worker who has not enrolled is sent to the web.
    let (s, _) = session(&app, "jumin", None).await;
    assert_eq!(s, 200);
    let (s, body) = session(&app, "wangge", None).await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["error"]["code"], "second_factor");

    // On the web: the password, then a QR code to scan and a code to confirm.
    let (b, r) = app.login_page("wangge", PASSWORD).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("totp-qr") && page.contains("<svg"), "{page}");
    let secret = {
        let i = page.find("id=\"totp-secret\">").unwrap() + "id=\"totp-secret\">".len();
        page[i..i + page[i..].find('<').unwrap()].to_string()
    };
    let challenge = extract_input(&page, "challenge").unwrap();
    // The challenge is no password link.
    let r = app
        .client()
        .get(app.url(&format!("/activate?token={challenge}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    // A wrong code ends the challenge: back to the password.
    let r = b
        .post(app.url("/login/second-factor"))
        .form(&[
            ("challenge", challenge.as_str()),
            ("code", "000000"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = b
        .post(app.url("/login/second-factor"))
        .form(&[
            ("challenge", challenge.as_str()),
            ("code", code_at(&secret, now_s()).as_str()),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a used challenge");
    let (b, r) = app.login_page("wangge", PASSWORD).await;
    let page = r.text().await.unwrap();
    assert!(page.contains(&secret), "the same secret until confirmed");
    let challenge = extract_input(&page, "challenge").unwrap();
    let r = b
        .post(app.url("/login/second-factor"))
        .form(&[
            ("challenge", challenge.as_str()),
            ("code", code_at(&secret, now_s()).as_str()),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("recovery-codes"), "{page}");
    let codes: Vec<String> = page
        .match_indices("<li><code>")
        .map(|(i, _)| {
            let rest = &page[i + 10..];
            rest[..rest.find('<').unwrap()].to_string()
        })
        .collect();
    assert_eq!(codes.len(), 8);
    let home = app.page(&b, "/").await;
    assert!(home.contains("李敏"), "signed in");

    // The API: without a code 401; with a code of the next step 200; the same step again 401;
    // a recovery code once.
    let (s, body) = session(&app, "wangge", None).await;
    assert_eq!(s, 401, "{body}");
    let next = code_at(&secret, now_s() + 30);
    let (s, body) = session(&app, "wangge", Some(&next)).await;
    assert_eq!(s, 200, "{body}");
    let (s, _) = session(&app, "wangge", Some(&next)).await;
    assert_eq!(s, 401, "a code is not accepted twice");
    let (s, _) = session(&app, "wangge", Some(&codes[0])).await;
    assert_eq!(s, 200);
    let (s, _) = session(&app, "wangge", Some(&codes[0])).await;
    assert_eq!(s, 401);

    // The administrator sees it and clears it (a lost phone); then wangge enrols again.
    let id = app
        .query_i64("SELECT id FROM users WHERE username = 'wangge'")
        .await;
    let left = app
        .query_i64("SELECT COUNT(*) FROM totp_recovery r JOIN users u ON u.id = r.user_id WHERE u.username = 'wangge' AND r.used_at IS NULL")
        .await;
    assert_eq!(left, 7);
    let r = app
        .client()
        .delete(app.url(&format!("/api/v1/users/{id}/second-factor")))
        .bearer_auth(&wangge_api)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .client()
        .delete(app.url(&format!("/api/v1/users/{id}/second-factor")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (s, _) = session(&app, "wangge", None).await;
    assert_eq!(s, 403);
    // Turned off, a password is enough again.
    let r = app
        .client()
        .put(app.url("/api/v1/settings/second-factor"))
        .bearer_auth(&admin)
        .json(&json!({"required": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, _) = session(&app, "wangge", None).await;
    assert_eq!(s, 200);
    // The administrator's page shows an account's second factor.
    let (ab, _) = app.login_page("admin", PASSWORD).await;
    let page = app.page(&ab, &format!("/admin/users/{id}")).await;
    assert!(page.contains("未绑定验证器"), "{page}");
    let page = app.page(&ab, "/admin/users").await;
    assert!(page.contains("second-factor-on"), "{page}");
    app.stop().await;
}
