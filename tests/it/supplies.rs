//! Emergency supplies (issue 23 part 4): stock received in batches, lent first-to-expire
//! first and returned into its batches, counted with the difference booked, expired stock
//! warned of and discarded, the minimum level warned of; every move in the ledger and the
//! audit log; bad input refused in both languages; other roles 403, others' places 404.

use serde_json::{Value, json};

use crate::support::{self, TestApp};

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

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A grid of wangge's (her own) and a community she does not keep.
async fn places(app: &TestApp) -> (i64, i64) {
    app.db
        .read(|c| {
            let grid = c.query_one(
                "SELECT p.id, p.path FROM user_roles r JOIN users u ON u.id = r.user_id \
                 JOIN places p ON p.id = r.place_id WHERE u.username = 'wangge'",
                &[],
            )?;
            let other = c.query_i64(
                "SELECT id FROM places WHERE kind = 'grid' AND path <> $1 ORDER BY path LIMIT 1",
                linli::params![grid.str(1)],
            )?;
            Ok((grid.i64(0), other))
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn stock_is_received_lent_returned_counted_and_discarded_with_its_ledger() {
    let app = support::spawn().await;
    let wangge = app.token("wangge").await;
    let (grid, other_grid) = places(&app).await;
    let (s, item) = post(
        &app,
        &wangge,
        "/api/v1/supplies",
        json!({"place_id": grid, "name": "应急灯", "category": "power", "unit": "个", "min_level": 8}),
    )
    .await;
    assert_eq!(s, 201, "{item}");
    let id = item["id"].as_i64().unwrap();
    let today = linli::kernel::time::today();
    let past = (today - chrono::Duration::days(3)).to_string();
    let soon = (today + chrono::Duration::days(10)).to_string();
    let later = (today + chrono::Duration::days(300)).to_string();
    for (n, exp) in [(5, later.as_str()), (4, soon.as_str()), (3, past.as_str())] {
        let (s, v) = post(
            &app,
            &wangge,
            &format!("/api/v1/supplies/{id}/receive"),
            json!({"quantity": n, "expires_on": exp}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
    let (_, d) = send(
        &app,
        &wangge,
        &format!("/api/v1/supplies/{id}"),
        None,
        "zh-CN",
    )
    .await;
    assert_eq!(d["view"]["item"]["quantity"], 12);
    assert_eq!(d["view"]["item"]["expired"], 3);
    assert_eq!(d["view"]["item"]["expiring"], 4);
    let warnings: Vec<&str> = d["view"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(warnings, vec!["expired", "expiring"]);

    // Lending takes what expires first: the expired 3, then 2 of the 4 expiring soon.
    let (s, lent) = post(
        &app,
        &wangge,
        &format!("/api/v1/supplies/{id}/lend"),
        json!({"quantity": 5, "borrower": "3号楼志愿队", "due_on": soon}),
    )
    .await;
    assert_eq!(s, 200, "{lent}");
    let loan = lent["loan_id"].as_i64().unwrap();
    let (_, d) = send(
        &app,
        &wangge,
        &format!("/api/v1/supplies/{id}"),
        None,
        "zh-CN",
    )
    .await;
    assert_eq!(d["view"]["item"]["quantity"], 7);
    assert_eq!(d["view"]["item"]["expired"], 0);
    assert_eq!(d["view"]["item"]["expiring"], 2);
    assert_eq!(d["view"]["item"]["lent"], 5);
    assert!(
        d["view"]["warnings"]
            .as_array()
            .unwrap()
            .contains(&json!("below_min"))
    );
    // More than there is: refused, with what is left.
    let (s, v) = post(
        &app,
        &wangge,
        &format!("/api/v1/supplies/{id}/lend"),
        json!({"quantity": 8, "borrower": "x"}),
    )
    .await;
    assert_eq!(s, 409);
    assert!(message(&v).contains("现有 7"), "{v}");
    // Back in two steps, into the batches it came from; a third is refused.
    let (s, l) = post(
        &app,
        &wangge,
        &format!("/api/v1/supply-loans/{loan}/return"),
        json!({"quantity": 2}),
    )
    .await;
    assert_eq!(s, 200, "{l}");
    assert!(l["closed_at"].is_null());
    let (s, l) = post(
        &app,
        &wangge,
        &format!("/api/v1/supply-loans/{loan}/return"),
        json!({"quantity": 3}),
    )
    .await;
    assert_eq!(s, 200);
    assert!(l["closed_at"].is_i64());
    let (s, _) = post(
        &app,
        &wangge,
        &format!("/api/v1/supply-loans/{loan}/return"),
        json!({"quantity": 1}),
    )
    .await;
    assert_eq!(s, 409);
    let (_, d) = send(
        &app,
        &wangge,
        &format!("/api/v1/supplies/{id}"),
        None,
        "zh-CN",
    )
    .await;
    assert_eq!(d["view"]["item"]["quantity"], 12);
    assert_eq!(
        d["view"]["item"]["expired"], 3,
        "the expired batch got its own back"
    );

    // Discarding what expired; a count that finds one missing.
    let (s, v) = post(
        &app,
        &wangge,
        &format!("/api/v1/supplies/{id}/discard-expired"),
        json!({}),
    )
    .await;
    assert_eq!((s, v["quantity"].as_i64()), (200, Some(3)));
    let (s, v) = post(
        &app,
        &wangge,
        &format!("/api/v1/supplies/{id}/count"),
        json!({"counted": 8, "note": "少一个"}),
    )
    .await;
    assert_eq!((s, v["quantity"].as_i64()), (200, Some(-1)));
    let (_, d) = send(
        &app,
        &wangge,
        &format!("/api/v1/supplies/{id}"),
        None,
        "zh-CN",
    )
    .await;
    assert_eq!(d["view"]["item"]["quantity"], 8);
    let remaining: i64 = d["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["remaining"].as_i64().unwrap())
        .sum();
    assert_eq!(remaining, 8, "the batches add up to the quantity");
    let kinds: Vec<&str> = d["moves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "counted",
            "discarded",
            "returned",
            "returned",
            "lent",
            "received",
            "received",
            "received"
        ]
    );
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "change");

    // Bad input, in both languages.
    for (body, zh, en) in [
        (json!({"quantity": 0}), "数量", "quantity"),
        (
            json!({"quantity": 2, "expires_on": "2027-13-01"}),
            "日期",
            "date",
        ),
    ] {
        for (lang, want) in [("zh-CN", zh), ("en", en)] {
            let (s, v) = send(
                &app,
                &wangge,
                &format!("/api/v1/supplies/{id}/receive"),
                Some(body.clone()),
                lang,
            )
            .await;
            assert_eq!(s, 422, "{v}");
            assert!(message(&v).contains(want), "{lang}: {v}");
        }
    }
    // A place she does not keep, another role, another place's item.
    let (s, v) = post(
        &app,
        &wangge,
        "/api/v1/supplies",
        json!({"place_id": other_grid, "name": "水", "category": "water", "unit": "箱"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    for who in ["jumin", "bumen", "wuye", "zhiyuan"] {
        let t = app.token(who).await;
        assert_eq!(
            send(&app, &t, "/api/v1/supplies", None, "zh-CN").await.0,
            403,
            "{who}"
        );
        assert_eq!(
            send(&app, &t, &format!("/api/v1/supplies/{id}"), None, "zh-CN")
                .await
                .0,
            403,
            "{who}"
        );
    }
    let admin = app.token("admin").await;
    let (_, list) = send(&app, &admin, "/api/v1/supplies", None, "zh-CN").await;
    let elsewhere = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["item"]["place_id"].as_i64() != Some(grid))
        .map(|v| v["item"]["id"].as_i64().unwrap())
        .expect("the demo keeps supplies in the communities");
    assert_eq!(
        send(
            &app,
            &wangge,
            &format!("/api/v1/supplies/{elsewhere}"),
            None,
            "zh-CN"
        )
        .await
        .0,
        404
    );
    let (s, _) = post(
        &app,
        &wangge,
        &format!("/api/v1/supplies/{elsewhere}/lend"),
        json!({"quantity": 1, "borrower": "x"}),
    )
    .await;
    assert_eq!(s, 404);
    app.stop().await;
}

#[tokio::test]
async fn the_pages_show_the_stock_and_its_warnings() {
    let app = support::spawn().await;
    let (b, _) = app.login_page("shegong", support::PASSWORD).await;
    let home = app.page(&b, "/").await;
    assert!(
        home.contains("id=\"home-supplies-link\""),
        "the demo's warnings reach her home page"
    );
    let page = app.page(&b, "/supplies").await;
    assert!(
        page.contains("即将过期") && page.contains("低于最低库存"),
        "{page}"
    );
    assert!(page.contains("借出已过归还日期") || !page.contains("supplies-overdue"));
    assert!(!page.contains("supplies."), "no raw keys");
    let id = page
        .split("href=\"/supplies/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let item = app.page(&b, &format!("/supplies/{id}")).await;
    assert!(item.contains("id=\"supply-receive\""), "{item}");
    let csrf = support::extract_input(&item, "csrf").unwrap();
    let r = b
        .post(app.url(&format!("/supplies/{id}/receive")))
        .form(&[("csrf", csrf.as_str()), ("quantity", "abc")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("数量应为"));
    let r = b
        .post(app.url(&format!("/supplies/{id}/receive")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("quantity", "5"),
            ("expires_on", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let after = app
        .page(&b, r.headers()["location"].to_str().unwrap())
        .await;
    assert!(after.contains("id=\"supply-done\""));
    app.stop().await;
}
