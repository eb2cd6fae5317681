//! Her own account (我的账户): a password changed by herself, a second factor moved to a new
//! phone by herself, new recovery codes — each proved again, each audited.

use serde_json::{Value, json};

use crate::support::{self, PASSWORD, TestApp, extract_input, now_s, totp_code_at as code_at};

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = app
        .client()
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn she_changes_her_own_password_and_every_session_ends() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let (s, a) = app.get_json(&jumin, "/api/v1/me/account").await;
    assert_eq!((s, a["username"].as_str()), (200, Some("jumin")));
    assert_eq!(a["second_factor"], false);
    let new = "Qiuyue-lane-2026";
    // The current password first; the policy; not the same one.
    let (s, e) = post(
        &app,
        &jumin,
        "/api/v1/me/password",
        json!({"current": "wrong-one-1", "new": new}),
    )
    .await;
    assert_eq!(s, 403, "{e}");
    assert_eq!(e["error"]["message"], "当前密码不正确。");
    let (s, _) = post(
        &app,
        &jumin,
        "/api/v1/me/password",
        json!({"current": PASSWORD, "new": "short"}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, e) = post(
        &app,
        &jumin,
        "/api/v1/me/password",
        json!({"current": PASSWORD, "new": PASSWORD}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    let (s, _) = post(
        &app,
        &jumin,
        "/api/v1/me/password",
        json!({"current": PASSWORD, "new": new}),
    )
    .await;
    assert_eq!(s, 204);
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "permission_change");
    assert_eq!(e["actor"], "jumin");
    // Her token ended with the old password; the new one signs in, the old does not.
    let (s, _) = app.get_json(&jumin, "/api/v1/me/account").await;
    assert_eq!(s, 401);
    let r = app
        .client()
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": "jumin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let again = app.token_with("jumin", new).await;
    let (s, _) = app.get_json(&again, "/api/v1/me/account").await;
    assert_eq!(s, 200);
    // Without signing in: nothing.
    let r = app
        .client()
        .post(app.url("/api/v1/me/password"))
        .json(&json!({"current": new, "new": "Another-one-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The page, as every role has it; a mismatch is said on the page in her language.
    let (b, _) = app.login_page("wangge", PASSWORD).await;
    let page = app.page(&b, "/me/account").await;
    assert!(page.contains("id=\"account-password\""), "{page}");
    let csrf = extract_input(&page, "csrf").unwrap();
    let r = b
        .post(app.url("/me/account/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current", PASSWORD),
            ("new", "Qiuyue-lane-2026"),
            ("again", "Qiuyue-lane-2027"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("两次输入的新密码不一致。"));
    // No second factor yet: renewing is refused with a reason.
    let w = app.token("wangge").await;
    let (s, e) = post(
        &app,
        &w,
        "/api/v1/me/second-factor/renew",
        json!({"code": "123456"}),
    )
    .await;
    assert_eq!(s, 409, "{e}");
    app.stop().await;
}

#[tokio::test]
async fn she_moves_her_second_factor_to_a_new_phone_and_the_old_works_until_then() {
    let app = support::spawn().await;
    // wangge enrolled a second factor earlier (as sign-in does: a pending secret, then a code).
    let keys = linli::store::keys::FieldKeys::load_or_create(&app.state.cfg.keys_dir()).unwrap();
    let id = app
        .query_i64("SELECT id FROM users WHERE username = 'wangge'")
        .await;
    let k = keys.clone();
    let old = app
        .db
        .write(move |c| linli::org::totp::pending(c, &k, id, "wangge"))
        .await
        .unwrap()
        .1;
    let t0 = now_s();
    let (k, code) = (keys.clone(), code_at(&old, t0));
    let enrolled = app
        .db
        .write(move |c| linli::org::totp::check(c, &k, id, &code, t0, 0))
        .await
        .unwrap();
    assert!(matches!(enrolled, linli::org::totp::Checked::Enrolled(_)));
    let w = app.token("wangge").await;
    let (_, a) = app.get_json(&w, "/api/v1/me/account").await;
    assert_eq!(
        (a["second_factor"].as_bool(), a["recovery_left"].as_i64()),
        (Some(true), Some(8))
    );
    // A wrong code is refused; a good one of the old phone begins the renewal.
    let (s, _) = post(
        &app,
        &w,
        "/api/v1/me/second-factor/renew",
        json!({"code": "000000"}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, r) = post(
        &app,
        &w,
        "/api/v1/me/second-factor/renew",
        json!({"code": code_at(&old, t0 + 30)}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let new = r["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert!(
        r["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    // Until confirmed, the old phone is still the account's second factor.
    let (_, a) = app.get_json(&w, "/api/v1/me/account").await;
    assert_eq!(a["renewing"], true);
    let (k, code) = (keys.clone(), code_at(&old, t0 + 60));
    let still = app
        .db
        .write(move |c| linli::org::totp::check(c, &k, id, &code, t0 + 60, 0))
        .await
        .unwrap();
    assert_eq!(still, linli::org::totp::Checked::Code);
    // A code of the old phone does not confirm the new one; the new phone's does.
    let (s, _) = post(
        &app,
        &w,
        "/api/v1/me/second-factor/confirm",
        json!({"code": code_at(&old, now_s())}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, r) = post(
        &app,
        &w,
        "/api/v1/me/second-factor/confirm",
        json!({"code": code_at(&new, now_s())}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let codes: Vec<String> = r["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 8);
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "permission_change");
    // Now the new phone is it, and the old one no longer is.
    let t = now_s() + 90;
    let (k, code) = (keys.clone(), code_at(&old, t));
    let old_now = app
        .db
        .write(move |c| linli::org::totp::check(c, &k, id, &code, t, 0))
        .await
        .unwrap();
    assert_eq!(old_now, linli::org::totp::Checked::Bad);
    // New recovery codes with one of the new ones (used up); the old list no longer works.
    let (s, r) = post(
        &app,
        &w,
        "/api/v1/me/second-factor/recovery-codes",
        json!({"code": codes[0]}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let (s, _) = post(
        &app,
        &w,
        "/api/v1/me/second-factor/recovery-codes",
        json!({"code": codes[1]}),
    )
    .await;
    assert_eq!(s, 403, "the old recovery codes are void");
    // The page shows the second factor as on.
    let (b, _) = app.login_page("jumin", PASSWORD).await;
    let page = app.page(&b, "/me/account").await;
    assert!(page.contains("id=\"account-second\""));
    app.stop().await;
}
