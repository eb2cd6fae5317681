//! Sign-up sheets (issue 25 part 3): a sheet reaches its audience's residents, one entry per
//! household within the limit, changed and withdrawn until the deadline and refused after it
//! (409, in both languages); totals per building and overall; the organiser sees the entries
//! of her scope (audited), corrects one with a reason (kept and shown to the household) and
//! exports XLSX (audited); other roles 403, other places and strangers 404.

use serde_json::{Value, json};

use crate::support::{self, PASSWORD, TestApp};

async fn send(
    app: &TestApp,
    token: &str,
    path: &str,
    body: Option<Value>,
    lang: &str,
) -> (u16, Value) {
    let c = app.client();
    let mut r = match &body {
        Some(_) => c.post(app.url(path)),
        None => c.get(app.url(path)),
    }
    .bearer_auth(token)
    .header("accept-language", lang);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    send(app, token, path, Some(body), "zh-CN").await
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    send(app, token, path, None, "zh-CN").await
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn place_id(app: &TestApp, path: String) -> i64 {
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM places WHERE path = $1",
                linli::params![path],
            )
        })
        .await
        .unwrap()
}

/// A community other than shegong's.
async fn other_community(app: &TestApp, mine: String) -> i64 {
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM places WHERE kind = 'community' AND path <> $1 ORDER BY path LIMIT 1",
                linli::params![mine],
            )
        })
        .await
        .unwrap()
}

/// Makes an account holding `role` at a place and signs it in.
pub(crate) async fn account(
    app: &TestApp,
    name: &str,
    role: linli::org::Role,
    place: i64,
    person: Option<i64>,
) -> String {
    let n = name.to_string();
    app.db
        .write(move |c| {
            let street = c.query_i64(
                "SELECT COALESCE(street_id, id) FROM places WHERE id = $1",
                linli::params![place],
            )?;
            let username = linli::org::users::Username::parse(&n).unwrap();
            let hash = linli::org::users::hash_password(PASSWORD);
            let id = linli::org::users::create(
                c,
                linli::org::users::NewUser {
                    username: &username,
                    display_name: &n,
                    password_hash: &hash,
                    street_id: Some(street),
                    person_id: person,
                    created_by: None,
                },
            )?;
            linli::org::users::add_grant(c, id, role, Some(place), None, Some(street), None)?;
            Ok(id)
        })
        .await
        .unwrap();
    app.token(name).await
}

fn sheet(places: &[i64], deadline: i64) -> Value {
    json!({
        "title": "周五团购大米",
        "intro": "周五下午居委会门口取货。",
        "items": [{"name": "大米 5kg", "price_fen": 4500}, {"name": "鸡蛋", "price_fen": 2850}],
        "audience": {"places": places},
        "deadline_at": deadline,
        "household_limit": 3,
    })
}

fn now() -> i64 {
    linli::kernel::time::now_ms()
}

#[tokio::test]
async fn a_sheet_takes_one_entry_per_household_totals_it_and_logs_corrections() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let jumin = app.token("jumin").await;
    let grid = place_id(&app, support::place_of(&app, "wangge").await).await;

    let (s, sh) = post(
        &app,
        &shegong,
        "/api/v1/sheets",
        sheet(&[grid], now() + 3_600_000),
    )
    .await;
    assert_eq!(s, 201, "{sh}");
    let id = sh["id"].as_i64().unwrap();
    assert!(sh["recipients"].as_i64().unwrap() > 10);

    // The resident finds it waiting, signs up, changes it.
    let (_, l) = get(&app, &jumin, "/api/v1/sheets").await;
    let mine = l["received"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["sheet"]["id"] == id)
        .expect("hers");
    assert_eq!(mine["entered"], false);
    let home = app
        .page(&app.login_page("jumin", PASSWORD).await.0, "/")
        .await;
    assert!(home.contains("home-sheets"), "the home card asks her");
    let (s, e) = post(
        &app,
        &jumin,
        &format!("/api/v1/sheets/{id}/entry"),
        json!({"lines": [2, 1], "note": "晚上取"}),
    )
    .await;
    assert_eq!(s, 200, "{e}");
    assert_eq!(e["amount_fen"], 2 * 4500 + 2850);
    let (s, e) = post(
        &app,
        &jumin,
        &format!("/api/v1/sheets/{id}/entry"),
        json!({"lines": [1, 1]}),
    )
    .await;
    assert_eq!(s, 200, "{e}");
    let entry = e["id"].as_i64().unwrap();
    let e_audit = app.last_audit_entry().await;
    assert_eq!(e_audit["action"], "change");

    // Over the household limit, and other bad quantities: refused, in both languages.
    for (body, zh, en) in [
        (json!({"lines": [3, 1]}), "每户上限", "limit per household"),
        (json!({"lines": [0, 0]}), "至少填一项", "at least one"),
        (json!({"lines": [1]}), "对不上", "do not match"),
        (json!({"lines": [-1, 2]}), "正整数", "positive whole"),
    ] {
        let (s, v) = post(
            &app,
            &jumin,
            &format!("/api/v1/sheets/{id}/entry"),
            body.clone(),
        )
        .await;
        assert_eq!(s, 422, "{v}");
        assert!(message(&v).contains(zh), "{v}");
        let (_, v) = send(
            &app,
            &jumin,
            &format!("/api/v1/sheets/{id}/entry"),
            Some(body),
            "en",
        )
        .await;
        assert!(message(&v).contains(en), "{v}");
    }

    // She sees her entry and the totals, never the entries.
    let (s, v) = get(&app, &jumin, &format!("/api/v1/sheets/{id}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["mine"]["lines"], json!([1, 1]));
    assert!(v["entries"].is_null());
    assert_eq!(v["totals"]["households"], 1);
    assert_eq!(v["totals"]["items"], json!([1, 1]));
    assert_eq!(v["buildings"].as_array().unwrap().len(), 1);
    assert!(v["my_flat"].as_str().is_some_and(|f| !f.is_empty()), "{v}");

    // The organiser sees it with its flat, audited under the person.
    let (s, v) = get(&app, &shegong, &format!("/api/v1/sheets/{id}")).await;
    assert_eq!(s, 200);
    let rows = v["entries"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert!(!rows[0]["flat"].as_str().unwrap().is_empty());
    let person = rows[0]["entry"]["person_id"].as_i64().unwrap();
    let a = app.last_audit_entry().await;
    assert_eq!(a["action"], "list", "{a}");
    assert!(
        a["subjects"]
            .as_array()
            .unwrap()
            .contains(&json!(format!("person:{person}")))
    );

    // A correction needs a reason, keeps the limit, and is kept with before and after.
    let path = format!("/api/v1/sheets/{id}/entries/{entry}/correct");
    let (s, v) = post(
        &app,
        &shegong,
        &path,
        json!({"lines": [2, 0], "reason": ""}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(message(&v).contains("原因"));
    let (s, v) = post(
        &app,
        &shegong,
        &path,
        json!({"lines": [4, 0], "reason": "x"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = post(
        &app,
        &shegong,
        &path,
        json!({"lines": [2, 0], "reason": "供应商鸡蛋缺货"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = get(&app, &jumin, &format!("/api/v1/sheets/{id}")).await;
    let c = &v["corrections"][0];
    assert_eq!(c["reason"], "供应商鸡蛋缺货");
    assert!(c["before"].as_str().unwrap().contains("鸡蛋 ×1"), "{c}");
    assert_eq!(c["after"], "大米 5kg ×2");
    assert_eq!(c["by_name"], "陈静");
    assert_eq!(v["mine"]["lines"], json!([2, 0]));

    // The export for the supplier: XLSX, audited.
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/sheets/{id}/export.xlsx")))
        .bearer_auth(&shegong)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..2], b"PK");
    assert_eq!(app.last_audit_entry().await["action"], "export");
    let (s, _) = get(&app, &jumin, &format!("/api/v1/sheets/{id}/export.xlsx")).await;
    assert_eq!(s, 404, "a resident exports nothing");

    // The pages: hers and the organiser's.
    let page = app
        .page(
            &app.login_page("jumin", PASSWORD).await.0,
            &format!("/sheets/{id}"),
        )
        .await;
    assert!(page.contains("sheet-entry") && page.contains("供应商鸡蛋缺货"));
    assert!(!page.contains("sheet-entries"));
    let page = app
        .page(
            &app.login_page("shegong", PASSWORD).await.0,
            &format!("/sheets/{id}"),
        )
        .await;
    assert!(page.contains("sheet-entries") && page.contains("sheet-export"));

    // Withdrawn: it no longer counts.
    let (s, v) = post(
        &app,
        &jumin,
        &format!("/api/v1/sheets/{id}/entry/withdraw"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = get(&app, &jumin, &format!("/api/v1/sheets/{id}")).await;
    assert!(v["mine"].is_null());
    assert_eq!(v["totals"]["households"], 0);
    let (s, v) = post(
        &app,
        &jumin,
        &format!("/api/v1/sheets/{id}/entry/withdraw"),
        json!({}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    app.stop().await;
}

#[tokio::test]
async fn after_the_deadline_an_entry_is_refused_with_the_reason() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let jumin = app.token("jumin").await;
    let grid = place_id(&app, support::place_of(&app, "wangge").await).await;
    let (s, sh) = post(
        &app,
        &shegong,
        "/api/v1/sheets",
        sheet(&[grid], now() + 3_600_000),
    )
    .await;
    assert_eq!(s, 201, "{sh}");
    let id = sh["id"].as_i64().unwrap();
    let (s, _) = post(
        &app,
        &jumin,
        &format!("/api/v1/sheets/{id}/entry"),
        json!({"lines": [1, 0]}),
    )
    .await;
    assert_eq!(s, 200);
    app.exec(
        "UPDATE sheets SET deadline_at = $1 WHERE id = $2",
        &[
            linli::store::Val::Int(now() - 1000),
            linli::store::Val::Int(id),
        ],
    )
    .await;
    let path = format!("/api/v1/sheets/{id}/entry");
    let (s, v) = post(&app, &jumin, &path, json!({"lines": [2, 0]})).await;
    assert_eq!(s, 409, "{v}");
    assert!(message(&v).contains("截止"), "{v}");
    let (s, v) = send(&app, &jumin, &path, Some(json!({"lines": [2, 0]})), "en").await;
    assert_eq!(s, 409);
    assert!(message(&v).contains("has closed"), "{v}");
    let (s, _) = post(&app, &jumin, &format!("{path}/withdraw"), json!({})).await;
    assert_eq!(s, 409);
    let (_, v) = get(&app, &jumin, &format!("/api/v1/sheets/{id}")).await;
    assert_eq!(v["mine"]["lines"], json!([1, 0]), "nothing changed");
    assert_eq!(v["open"], false);
    app.stop().await;
}

#[tokio::test]
async fn bad_sheets_other_roles_and_other_places_are_refused() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let bumen = app.token("bumen").await;
    let jumin = app.token("jumin").await;
    let community_path = support::place_of(&app, "shegong").await;
    let community = place_id(&app, community_path.clone()).await;
    let other = other_community(&app, community_path).await;

    // Bad sheets, in both languages; nothing kept.
    let before = app.query_i64("SELECT COUNT(*) FROM sheets").await;
    let past = sheet(&[community], now() - 1000);
    let mut no_items = sheet(&[community], now() + 3_600_000);
    no_items["items"] = json!([]);
    let mut limit = sheet(&[community], now() + 3_600_000);
    limit["household_limit"] = json!(0);
    let mut roles = sheet(&[community], now() + 3_600_000);
    roles["audience"] = json!({"roles": ["grid_worker"]});
    for (body, zh, en) in [
        (past, "已经过去", "already passed"),
        (no_items, "至少写一项", "at least one item"),
        (limit, "每户上限", "limit per household"),
        (roles, "发给居民", "for residents"),
        (sheet(&[other], now() + 3_600_000), "", ""),
    ] {
        let (s, v) = post(&app, &shegong, "/api/v1/sheets", body.clone()).await;
        assert_eq!(s, 422, "{v}");
        assert!(message(&v).contains(zh), "{v}");
        let (_, v) = send(&app, &shegong, "/api/v1/sheets", Some(body), "en").await;
        assert!(message(&v).contains(en), "{v}");
    }
    assert_eq!(app.query_i64("SELECT COUNT(*) FROM sheets").await, before);

    // Another role may not write one.
    let (s, _) = post(
        &app,
        &bumen,
        "/api/v1/sheets",
        sheet(&[community], now() + 3_600_000),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = post(
        &app,
        &jumin,
        "/api/v1/sheets",
        sheet(&[community], now() + 3_600_000),
    )
    .await;
    assert_eq!(s, 403);

    let (s, sh) = post(
        &app,
        &shegong,
        "/api/v1/sheets",
        sheet(&[community], now() + 3_600_000),
    )
    .await;
    assert_eq!(s, 201, "{sh}");
    let id = sh["id"].as_i64().unwrap();
    let (s, e) = post(
        &app,
        &jumin,
        &format!("/api/v1/sheets/{id}/entry"),
        json!({"lines": [1, 0]}),
    )
    .await;
    assert_eq!(s, 200);
    let entry = e["id"].as_i64().unwrap();

    // Another community's worker, a department, a resident outside the audience: 404.
    let stranger = account(
        &app,
        "shegong2",
        linli::org::Role::CommunityWorker,
        other,
        None,
    )
    .await;
    for t in [&stranger, &bumen] {
        let (s, _) = get(&app, t, &format!("/api/v1/sheets/{id}")).await;
        assert_eq!(s, 404);
        let (s, _) = get(&app, t, &format!("/api/v1/sheets/{id}/export.xlsx")).await;
        assert_eq!(s, 404);
        let (s, _) = post(
            &app,
            t,
            &format!("/api/v1/sheets/{id}/entries/{entry}/correct"),
            json!({"lines": [0, 1], "reason": "x"}),
        )
        .await;
        assert_eq!(s, 404);
        let (s, _) = post(
            &app,
            t,
            &format!("/api/v1/sheets/{id}/entry"),
            json!({"lines": [1, 0]}),
        )
        .await;
        assert_eq!(s, 404);
    }
    let outsider = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT p.id FROM persons p JOIN places pl ON pl.id = $1 WHERE p.place_path LIKE pl.path || '/%' \
                 AND p.residence <> 'left' ORDER BY p.id LIMIT 1",
                linli::params![other],
            )
        })
        .await
        .unwrap();
    let resident2 = account(
        &app,
        "jumin2",
        linli::org::Role::Resident,
        other,
        Some(outsider),
    )
    .await;
    let (s, _) = get(&app, &resident2, &format!("/api/v1/sheets/{id}")).await;
    assert_eq!(s, 404);
    let (s, _) = post(
        &app,
        &resident2,
        &format!("/api/v1/sheets/{id}/entry"),
        json!({"lines": [1, 0]}),
    )
    .await;
    assert_eq!(s, 404);
    let (_, l) = get(&app, &resident2, "/api/v1/sheets").await;
    assert!(l["received"].as_array().unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn an_organiser_closes_a_sheet_early_and_entries_are_refused_after() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let jumin = app.token("jumin").await;
    let bumen = app.token("bumen").await;
    let community_path = support::place_of(&app, "shegong").await;
    let community = place_id(&app, community_path.clone()).await;
    let other = other_community(&app, community_path).await;
    let (s, sh) = post(
        &app,
        &shegong,
        "/api/v1/sheets",
        sheet(&[community], now() + 3_600_000),
    )
    .await;
    assert_eq!(s, 201, "{sh}");
    let id = sh["id"].as_i64().unwrap();
    let entry = format!("/api/v1/sheets/{id}/entry");
    let (s, _) = post(&app, &jumin, &entry, json!({"lines": [1, 0]})).await;
    assert_eq!(s, 200);
    let close = format!("/api/v1/sheets/{id}/close");

    // A resident and a department may not close it (403); another community's worker does
    // not see it (404); nor does anyone see a sheet that is not there.
    for t in [&jumin, &bumen] {
        let (s, v) = post(&app, t, &close, json!({"reason": "x"})).await;
        assert_eq!(s, 403, "{v}");
    }
    let stranger = account(
        &app,
        "shegong3",
        linli::org::Role::CommunityWorker,
        other,
        None,
    )
    .await;
    let (s, _) = post(&app, &stranger, &close, json!({"reason": "x"})).await;
    assert_eq!(s, 404);
    let (s, _) = post(
        &app,
        &shegong,
        "/api/v1/sheets/999999/close",
        json!({"reason": "x"}),
    )
    .await;
    assert_eq!(s, 404);

    // Without a reason: refused in both languages, still open.
    let (s, v) = post(&app, &shegong, &close, json!({"reason": "  "})).await;
    assert_eq!(s, 422, "{v}");
    assert!(message(&v).contains("原因"), "{v}");
    let (_, v) = send(&app, &shegong, &close, Some(json!({"reason": ""})), "en").await;
    assert!(message(&v).contains("why"), "{v}");
    let (_, v) = get(&app, &jumin, &format!("/api/v1/sheets/{id}")).await;
    assert_eq!(v["open"], true);

    // Closed with the reason: kept (who, when, why) and audited.
    let (s, v) = post(&app, &shegong, &close, json!({"reason": "供应商缺货"})).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["closed_at"].is_i64(), "{v}");
    assert_eq!(v["close_reason"], "供应商缺货");
    assert!(!v["closed_by"].as_str().unwrap_or_default().is_empty());
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "change");

    // Entries and withdrawals after: refused with a clear reason, nothing changed.
    let (s, v) = post(&app, &jumin, &entry, json!({"lines": [2, 0]})).await;
    assert_eq!(s, 409, "{v}");
    assert!(message(&v).contains("提前结束"), "{v}");
    let (_, v) = send(&app, &jumin, &entry, Some(json!({"lines": [2, 0]})), "en").await;
    assert!(message(&v).contains("closed this sheet early"), "{v}");
    let (s, _) = post(&app, &jumin, &format!("{entry}/withdraw"), json!({})).await;
    assert_eq!(s, 409);
    let (_, v) = get(&app, &jumin, &format!("/api/v1/sheets/{id}")).await;
    assert_eq!(v["open"], false);
    assert_eq!(v["mine"]["lines"], json!([1, 0]), "nothing changed");
    assert_eq!(v["sheet"]["close_reason"], "供应商缺货");
    // Closing twice: 409.
    let (s, v) = post(&app, &shegong, &close, json!({"reason": "again"})).await;
    assert_eq!(s, 409, "{v}");
    assert!(message(&v).contains("已经结束"), "{v}");
    // No longer waiting for her household.
    let (_, l) = get(&app, &jumin, "/api/v1/sheets").await;
    let x = l["received"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["sheet"]["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(x["open"], false);

    // The pages: the reason on the sheet, no entry form; the organiser closes through hers.
    let page = app
        .page(
            &app.login_page("jumin", PASSWORD).await.0,
            &format!("/sheets/{id}"),
        )
        .await;
    assert!(
        page.contains("sheet-closed-early") && page.contains("供应商缺货"),
        "{page}"
    );
    assert!(!page.contains("id=\"sheet-entry\""));
    let (s, sh2) = post(
        &app,
        &shegong,
        "/api/v1/sheets",
        sheet(&[community], now() + 3_600_000),
    )
    .await;
    assert_eq!(s, 201);
    let id2 = sh2["id"].as_i64().unwrap();
    let (b, _) = app.login_page("shegong", PASSWORD).await;
    let html = app.page(&b, &format!("/sheets/{id2}")).await;
    assert!(html.contains("sheet-close-form"), "the organiser's form");
    let csrf = support::extract_input(&html, "csrf").unwrap();
    let r = b
        .post(app.url(&format!("/sheets/{id2}/close")))
        .form(&[("csrf", csrf.as_str()), ("reason", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("提前结束要写明原因"));
    let r = b
        .post(app.url(&format!("/sheets/{id2}/close")))
        .form(&[("csrf", csrf.as_str()), ("reason", "活动取消")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let html = app.page(&b, &format!("/sheets/{id2}?done=closed")).await;
    assert!(
        html.contains("已提前结束")
            && html.contains("活动取消")
            && !html.contains("sheet-close-form"),
        "{html}"
    );
    app.stop().await;
}
