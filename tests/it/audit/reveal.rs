//! Revealing needs a purpose and residents see it; logins and permission changes are logged.

use super::*;

#[tokio::test]
async fn reveal_needs_a_purpose_and_residents_see_it() {
    let app = support::spawn().await;
    let (_, _, h_out, jumin_person, jumin_household) = fixtures(&app).await;
    let wangge = app.token("wangge").await;
    let c = app.client();
    let reveal = |person: i64, body: Value| {
        let c = c.clone();
        let u = app.url(&format!("/api/v1/persons/{person}/reveal"));
        let t = wangge.clone();
        async move { c.post(u).bearer_auth(t).json(&body).send().await.unwrap() }
    };
    let r = reveal(
        jumin_person,
        serde_json::json!({"field": "id_number", "purpose": "curiosity"}),
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = reveal(
        jumin_person,
        serde_json::json!({"field": "id_number", "purpose": "other"}),
    )
    .await;
    assert_eq!(r.status(), 422, "other needs a note");
    let before = entries(&app).await;
    let r = reveal(
        jumin_person,
        serde_json::json!({"field": "id_number", "purpose": "other", "note": "核对养老补贴"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let id = v["value"].as_str().unwrap();
    assert!(
        linli::registry::idnum::IdNumber::parse(id).is_ok(),
        "the full number: {id}"
    );
    assert_eq!(entries(&app).await, before + 1);
    // Out of scope: refused and logged as denied.
    let outsider = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM persons WHERE household_id = $1 LIMIT 1",
                linli::params![h_out],
            )
        })
        .await
        .unwrap();
    let r = reveal(
        outsider,
        serde_json::json!({"field": "phone", "purpose": "service"}),
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(app.last_audit_entry().await["action"], "denied");
    // wangge reads jumin's household; jumin sees both accesses with role and purpose.
    app.get_json(&wangge, &format!("/api/v1/households/{jumin_household}"))
        .await;
    let jumin = app.token("jumin").await;
    let (s, log) = app.get_json(&jumin, "/api/v1/me/access-log").await;
    assert_eq!(s, 200);
    let rows = log.as_array().unwrap();
    assert!(rows.iter().any(|r| r["action"] == "reveal"
        && r["role"] == "grid_worker"
        && r["purpose"].as_str().unwrap().contains("核对养老补贴")));
    assert!(
        rows.iter()
            .any(|r| r["action"] == "read" && r["role"] == "grid_worker" && r["by_self"] == false)
    );
    // The page shows the same, in Chinese.
    let (jb, _) = app.login_page("jumin", PASSWORD).await;
    let html = jb
        .get(app.url("/me/access-log"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("谁查看了我的信息")
            && html.contains("网格员")
            && html.contains("显示完整号码")
    );
    // Another resident's log does not show it.
    let admin = app.token("admin").await;
    let (_, other) = app.get_json(&admin, "/api/v1/me/access-log").await;
    assert!(other.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn logins_and_permission_changes_are_logged() {
    let app = support::spawn().await;
    let c = app.client();
    c.post(app.url("/api/v1/session"))
        .json(&serde_json::json!({"username": "admin", "password": "wrong-password"}))
        .send()
        .await
        .unwrap();
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "login_failed");
    assert_eq!(e["actor"], "admin");
    let admin = app.token("admin").await;
    assert_eq!(app.last_audit_entry().await["action"], "login");
    let (_, grid) = app
        .get_json(&admin, "/api/v1/places?kind=grid&limit=1")
        .await;
    let r = c
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"username": "newbie", "display_name": "新人", "password": "long-enough-pw", "role": "grid_worker", "target": grid["items"][0]["path"]}))
        .send()
        .await
        .unwrap();
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "permission_change");
    assert_eq!(e["subjects"][0], format!("user:{id}"));
}
