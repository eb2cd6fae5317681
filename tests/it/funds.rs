//! Community funds (issue 25 part 4): a fund per building with named representatives and its
//! rule (N of M, never the proposer, once each); entries count only once approved; an expense
//! beyond the balance refused when proposed and when its last approval arrives; nothing
//! changed after approval (receipts refused, a mistake reversed with a reason); the running
//! balance for members; CSV and XLSX; other roles 403, other places 404; audit entries.

use serde_json::{Value, json};

use crate::sheets::account;
use crate::support::{self, PASSWORD, TestApp};
use linli::org::Role;

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

/// jumin's building, and three other residents of it (person, unit) not yet with accounts.
async fn building(app: &TestApp) -> (i64, Vec<(i64, i64)>) {
    app.db
        .read(|c| {
            let b = c.query_one(
                "SELECT b.id, b.path, p.id FROM users a JOIN persons p ON p.id = a.person_id \
                 JOIN places u ON u.id = p.unit_id JOIN places b ON b.id = u.parent_id WHERE a.username = 'jumin'",
                &[],
            )?;
            let others = c
                .query(
                    "SELECT id, unit_id FROM persons WHERE place_path LIKE $1 AND residence <> 'left' \
                     AND unit_id IS NOT NULL AND id <> $2 AND id NOT IN (SELECT person_id FROM users WHERE person_id IS NOT NULL) \
                     ORDER BY id LIMIT 3",
                    linli::params![format!("{}/%", b.str(1)), b.i64(2)],
                )?
                .iter()
                .map(|r| (r.i64(0), r.i64(1)))
                .collect();
            Ok((b.i64(0), others))
        })
        .await
        .unwrap()
}

async fn user_id(app: &TestApp, name: &'static str) -> i64 {
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM users WHERE username = $1",
                linli::params![name],
            )
        })
        .await
        .unwrap()
}

async fn balance(app: &TestApp, token: &str, id: i64) -> i64 {
    let (s, v) = get(app, token, &format!("/api/v1/funds/{id}")).await;
    assert_eq!(s, 200, "{v}");
    v["balance_fen"].as_i64().unwrap()
}

fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend_from_slice(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]);
    b
}

async fn upload(app: &TestApp, token: &str, path: &str, bytes: Vec<u8>) -> (u16, Value) {
    let r = app
        .client()
        .post(app.url(path))
        .bearer_auth(token)
        .multipart(reqwest::multipart::Form::new().part(
            "photo",
            reqwest::multipart::Part::bytes(bytes).file_name("r.png"),
        ))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_fund_counts_only_what_its_representatives_approved() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let jumin = app.token("jumin").await;
    let bumen = app.token("bumen").await;
    let (b, people) = building(&app).await;
    assert_eq!(people.len(), 3, "the demo building has residents");
    let mut reps = Vec::new();
    for (i, (person, unit)) in people.iter().enumerate() {
        reps.push(
            account(
                &app,
                &format!("daibiao{i}"),
                Role::Resident,
                *unit,
                Some(*person),
            )
            .await,
        );
    }
    let ids = [
        user_id(&app, "daibiao0").await,
        user_id(&app, "daibiao1").await,
        user_id(&app, "daibiao2").await,
    ];
    let (r1, r2, r3) = (&reps[0], &reps[1], &reps[2]);

    // The rule is checked: N below M, representatives who live there, workers only.
    let body = |required: i64, reps: Vec<i64>| json!({"place_id": b, "name": "3号楼楼道基金", "representatives": reps, "required": required});
    let (s, v) = post(&app, &shegong, "/api/v1/funds", body(3, ids.to_vec())).await;
    assert_eq!(s, 422, "{v}");
    assert!(message(&v).contains("少于代表人数"), "{v}");
    let (_, v) = send(
        &app,
        &shegong,
        "/api/v1/funds",
        Some(body(3, ids.to_vec())),
        "en",
    )
    .await;
    assert!(message(&v).contains("fewer than"), "{v}");
    let worker = user_id(&app, "wangge").await;
    let (s, v) = post(
        &app,
        &shegong,
        "/api/v1/funds",
        body(1, vec![ids[0], worker]),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(message(&v).contains("居民"), "{v}");
    let (s, _) = post(&app, &bumen, "/api/v1/funds", body(2, ids.to_vec())).await;
    assert_eq!(s, 403);
    let (s, _) = post(&app, &jumin, "/api/v1/funds", body(2, ids.to_vec())).await;
    assert_eq!(s, 403);
    let (s, f) = post(&app, &shegong, "/api/v1/funds", body(2, ids.to_vec())).await;
    assert_eq!(s, 201, "{f}");
    let id = f["id"].as_i64().unwrap();

    // Income: proposed, not counted until two others approve it.
    let entries = format!("/api/v1/funds/{id}/entries");
    let (s, e) = post(
        &app,
        r1,
        &entries,
        json!({"kind": "income", "amount_fen": 10_000, "purpose": "卖废品"}),
    )
    .await;
    assert_eq!(s, 201, "{e}");
    let income = e["id"].as_i64().unwrap();
    assert_eq!(balance(&app, r1, id).await, 0);
    let approve = |e: i64| format!("/api/v1/funds/{id}/entries/{e}/approve");
    let (s, v) = post(&app, r1, &approve(income), json!({})).await;
    assert_eq!(s, 409, "the proposer does not count: {v}");
    assert!(message(&v).contains("提出人"));
    let (s, v) = post(&app, r2, &approve(income), json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["approved"], false);
    let (s, v) = post(&app, r2, &approve(income), json!({})).await;
    assert_eq!(s, 409, "once each: {v}");
    assert_eq!(balance(&app, r1, id).await, 0);
    let (s, v) = post(&app, r3, &approve(income), json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["approved"], true);
    assert_eq!(app.last_audit_entry().await["action"], "change");
    assert_eq!(balance(&app, r1, id).await, 10_000);
    let (s, _) = post(&app, r1, &approve(income), json!({})).await;
    assert_eq!(s, 409, "nothing changes after approval");

    // Overspending is refused when proposed, in both languages.
    let spend = |n: i64| json!({"kind": "expense", "amount_fen": n, "purpose": "楼道沙发"});
    let (s, v) = post(&app, r1, &entries, spend(20_000)).await;
    assert_eq!(s, 409, "{v}");
    assert!(message(&v).contains("余额不够"), "{v}");
    let (_, v) = send(&app, r1, &entries, Some(spend(20_000)), "en").await;
    assert!(message(&v).contains("not enough"), "{v}");

    // Two expenses within the balance, together beyond it: the second's last approval is
    // refused and not kept.
    let (s, e) = post(&app, r1, &entries, spend(6_000)).await;
    assert_eq!(s, 201, "{e}");
    let sofa = e["id"].as_i64().unwrap();
    let (_, _) = post(&app, r2, &approve(sofa), json!({})).await;
    assert_eq!(
        balance(&app, r1, id).await,
        10_000,
        "without the approvals it does not count"
    );
    let (s, e) = post(&app, r2, &entries, spend(5_000)).await;
    assert_eq!(s, 201);
    let lamp = e["id"].as_i64().unwrap();
    post(&app, r1, &approve(lamp), json!({})).await;
    let (s, _) = post(&app, r3, &approve(lamp), json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(balance(&app, r1, id).await, 5_000);
    let (s, v) = post(&app, r3, &approve(sofa), json!({})).await;
    assert_eq!(s, 409, "{v}");
    assert!(message(&v).contains("余额不够"));
    let (_, v) = get(&app, r1, &format!("/api/v1/funds/{id}")).await;
    let sofa_line = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["entry"]["id"] == sofa)
        .unwrap();
    assert_eq!(
        sofa_line["entry"]["approvals"].as_array().unwrap().len(),
        1,
        "nothing half-written"
    );
    assert_eq!(sofa_line["entry"]["approved"], false);

    // Receipts: on an entry waiting, not on one approved, photos only.
    let receipts = |e: i64| format!("/api/v1/funds/{id}/entries/{e}/receipts");
    let (s, v) = upload(&app, r1, &receipts(sofa), png()).await;
    assert_eq!(s, 201, "{v}");
    let rid = v["id"].as_i64().unwrap();
    let (s, v) = upload(&app, r1, &receipts(lamp), png()).await;
    assert_eq!(s, 409, "{v}");
    let (s, _) = upload(&app, r1, &receipts(sofa), b"not a photo".to_vec()).await;
    assert_eq!(s, 422);
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/funds/receipts/{rid}")))
        .bearer_auth(&jumin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");

    // A mistake is reversed with a reason, approved like any entry; once.
    let reverse = |e: i64| format!("/api/v1/funds/{id}/entries/{e}/reverse");
    let (s, _) = post(&app, r1, &reverse(lamp), json!({"reason": ""})).await;
    assert_eq!(s, 422);
    let (s, v) = post(&app, r1, &reverse(income), json!({"reason": "记错"})).await;
    assert_eq!(s, 409, "reversing the income would overspend: {v}");
    let (s, v) = post(&app, r1, &reverse(lamp), json!({"reason": "灯泡退货"})).await;
    assert_eq!(s, 201, "{v}");
    let rev = v["id"].as_i64().unwrap();
    post(&app, r2, &approve(rev), json!({})).await;
    post(&app, r3, &approve(rev), json!({})).await;
    assert_eq!(balance(&app, r1, id).await, 10_000);
    let (s, _) = post(&app, r1, &reverse(lamp), json!({"reason": "again"})).await;
    assert_eq!(s, 409);

    // A member sees the running balance; she neither proposes nor approves.
    let (s, v) = get(&app, &jumin, &format!("/api/v1/funds/{id}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["standing"]["member"], true);
    let balances: Vec<i64> = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["balance_fen"].as_i64())
        .collect();
    assert_eq!(balances, vec![10_000, 5_000, 10_000]);
    let (s, _) = post(&app, &jumin, &entries, spend(100)).await;
    assert_eq!(s, 403);
    let (s, _) = post(&app, &jumin, &approve(sofa), json!({})).await;
    assert_eq!(s, 403);
    let (_, l) = get(&app, &jumin, "/api/v1/funds").await;
    assert!(l.as_array().unwrap().iter().any(|x| x["fund"]["id"] == id));

    // The exports.
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/funds/{id}/export.csv")))
        .bearer_auth(&jumin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let csv = r.text().await.unwrap();
    assert!(
        csv.contains("卖废品") && csv.contains("100.00") && csv.contains("50.00"),
        "{csv}"
    );
    assert_eq!(app.last_audit_entry().await["action"], "export");
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/funds/{id}/export.xlsx")))
        .bearer_auth(&shegong)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(&r.bytes().await.unwrap()[..2], b"PK");

    // The pages and the representative's home card.
    let (browser, _) = app.login_page("daibiao2", PASSWORD).await;
    let home = app.page(&browser, "/").await;
    assert!(home.contains("home-funds"), "the sofa waits for her");
    let page = app.page(&browser, &format!("/funds/{id}")).await;
    assert!(page.contains("fund-balance") && page.contains(&format!("approve-{sofa}")));
    let page = app
        .page(
            &app.login_page("jumin", PASSWORD).await.0,
            &format!("/funds/{id}"),
        )
        .await;
    assert!(page.contains("fund-balance") && !page.contains("fund-propose"));

    // Another community's worker and a department: 404.
    let other = support::last_community(&app).await;
    let stranger = account(&app, "shegong9", Role::CommunityWorker, other, None).await;
    for t in [&stranger, &bumen] {
        let (s, _) = get(&app, t, &format!("/api/v1/funds/{id}")).await;
        assert_eq!(s, 404);
        let (s, _) = post(&app, t, &entries, spend(100)).await;
        assert_eq!(s, 404);
        let (s, _) = post(&app, t, &approve(sofa), json!({})).await;
        assert_eq!(s, 404);
        let (s, _) = get(&app, t, &format!("/api/v1/funds/receipts/{rid}")).await;
        assert_eq!(s, 404);
        let (s, _) = get(&app, t, &format!("/api/v1/funds/{id}/export.csv")).await;
        assert_eq!(s, 404);
    }
    app.stop().await;
}

/// The demo building's fund (jumin and zhiyuan its representatives, one approval).
async fn demo_fund(app: &TestApp, token: &str) -> i64 {
    let (s, l) = get(app, token, "/api/v1/funds").await;
    assert_eq!(s, 200, "{l}");
    l.as_array()
        .unwrap()
        .iter()
        .find(|x| x["standing"]["representative"] == true)
        .and_then(|x| x["fund"]["id"].as_i64())
        .expect("the demo fund she represents")
}

/// A multipart page form (the fund page's forms are multipart), signed in as `user`.
async fn page_form(app: &TestApp, user: &str, page: &str, action: &str) -> reqwest::Response {
    let (b, _) = app.login_page(user, PASSWORD).await;
    let html = app.page(&b, page).await;
    let csrf = support::extract_input(&html, "csrf").expect("a csrf field");
    b.post(app.url(action))
        .multipart(reqwest::multipart::Form::new().text("csrf", csrf))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_proposer_withdraws_an_entry_until_it_is_approved() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let zhiyuan = app.token("zhiyuan").await;
    let shegong = app.token("shegong").await;
    let bumen = app.token("bumen").await;
    let id = demo_fund(&app, &jumin).await;
    let before = balance(&app, &jumin, id).await;
    let entries = format!("/api/v1/funds/{id}/entries");
    let spend = |n: i64, p: &str| json!({"kind": "expense", "amount_fen": n, "purpose": p});
    let (s, e) = post(&app, &jumin, &entries, spend(100, "楼道拖把")).await;
    assert_eq!(s, 201, "{e}");
    let mop = e["id"].as_i64().unwrap();
    let withdraw = |e: i64| format!("/api/v1/funds/{id}/entries/{e}/withdraw");
    let approve = |e: i64| format!("/api/v1/funds/{id}/entries/{e}/approve");

    // An expense without the approvals the rule asks for does not count, and its proposer's
    // own approval is no approval: refused with the reason in both languages.
    let (s, v) = post(&app, &jumin, &approve(mop), json!({})).await;
    assert_eq!(s, 409, "{v}");
    assert!(message(&v).contains("提出人不能批准"), "{v}");
    let (_, v) = send(&app, &jumin, &approve(mop), Some(json!({})), "en").await;
    assert!(message(&v).contains("cannot approve"), "{v}");
    assert_eq!(balance(&app, &jumin, id).await, before);

    // Only the proposer withdraws: another representative and the worker who keeps the
    // place get 403; those who do not see the fund 404; an entry of no fund 404.
    for t in [&zhiyuan, &shegong] {
        let (s, v) = post(&app, t, &withdraw(mop), json!({})).await;
        assert_eq!(s, 403, "{v}");
    }
    let other = support::last_community(&app).await;
    let stranger = account(&app, "shegong8", Role::CommunityWorker, other, None).await;
    for t in [&stranger, &bumen] {
        let (s, _) = post(&app, t, &withdraw(mop), json!({})).await;
        assert_eq!(s, 404);
    }
    let (s, _) = post(&app, &jumin, &withdraw(999_999), json!({})).await;
    assert_eq!(s, 404);

    // She withdraws it: kept as withdrawn, never counted, no longer waiting; audited.
    let (s, v) = post(&app, &jumin, &withdraw(mop), json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["withdrawn_at"].is_i64() && v["approved"] == false, "{v}");
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "change");
    assert_eq!(balance(&app, &jumin, id).await, before);
    let (_, l) = get(&app, &jumin, "/api/v1/funds").await;
    let listed = l
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["fund"]["id"] == id)
        .unwrap()
        .clone();
    let (_, v) = get(&app, &jumin, &format!("/api/v1/funds/{id}")).await;
    let waiting = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["entry"]["approved"] == false && l["entry"]["withdrawn_at"].is_null())
        .count() as i64;
    assert_eq!(listed["proposed"].as_i64(), Some(waiting));

    // Withdrawn, it is neither approved, nor withdrawn twice, nor given receipts; with a
    // reason in both languages.
    let (s, v) = post(&app, &zhiyuan, &approve(mop), json!({})).await;
    assert_eq!(s, 409, "{v}");
    assert!(message(&v).contains("撤回"), "{v}");
    let (_, v) = send(&app, &zhiyuan, &approve(mop), Some(json!({})), "en").await;
    assert!(message(&v).contains("withdrawn"), "{v}");
    let (s, _) = post(&app, &jumin, &withdraw(mop), json!({})).await;
    assert_eq!(s, 409);
    let (s, _) = upload(
        &app,
        &jumin,
        &format!("/api/v1/funds/{id}/entries/{mop}/receipts"),
        png(),
    )
    .await;
    assert_eq!(s, 409);
    assert_eq!(balance(&app, &jumin, id).await, before);

    // Once approved, nothing is withdrawn: a mistake is a reversal.
    let (s, e) = post(&app, &jumin, &entries, spend(200, "楼道垃圾袋")).await;
    assert_eq!(s, 201, "{e}");
    let bags = e["id"].as_i64().unwrap();
    let (s, v) = post(&app, &zhiyuan, &approve(bags), json!({})).await;
    assert_eq!((s, v["approved"].as_bool()), (200, Some(true)), "{v}");
    let (s, v) = post(&app, &jumin, &withdraw(bags), json!({})).await;
    assert_eq!(s, 409, "{v}");
    assert!(message(&v).contains("已经批准"), "{v}");
    let (_, v) = send(&app, &jumin, &withdraw(bags), Some(json!({})), "en").await;
    assert!(message(&v).contains("approved"), "{v}");
    assert_eq!(balance(&app, &jumin, id).await, before - 200);

    // The page: her button on her waiting entry, the withdrawn list after.
    let (s, e) = post(&app, &jumin, &entries, spend(300, "楼道挂钩")).await;
    assert_eq!(s, 201, "{e}");
    let hooks = e["id"].as_i64().unwrap();
    let (b, _) = app.login_page("jumin", PASSWORD).await;
    let page = app.page(&b, &format!("/funds/{id}")).await;
    assert!(page.contains(&format!("withdraw-{hooks}")), "her button");
    let page = app
        .page(
            &app.login_page("zhiyuan", PASSWORD).await.0,
            &format!("/funds/{id}"),
        )
        .await;
    assert!(
        !page.contains(&format!("withdraw-{hooks}")),
        "not another's"
    );
    let r = page_form(
        &app,
        "jumin",
        &format!("/funds/{id}"),
        &format!("/funds/{id}/entries/{hooks}/withdraw"),
    )
    .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let page = app.page(&b, &format!("/funds/{id}?done=withdrawn")).await;
    assert!(
        page.contains("已撤回，这笔不会计入") && page.contains(&format!("withdrawn-{hooks}")),
        "{page}"
    );
    assert!(!page.contains(&format!("id=\"entry-{hooks}\"")));
    app.stop().await;
}
