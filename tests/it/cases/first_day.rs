//! What each role meets on the first day (issue 19, the cases' part): the case page's steps in
//! the order they usually come, one primary, 受理并派单 in one step, a message after each
//! step and a confirmation for the steps that turn a case away (item 12); the queue opening
//! on what waits on the caller, with batch 签收 and 派单 (item 13); category tiles, "我的上报",
//! ratings in words and a call to the grid worker (item 16); places by name (item 11); a
//! report typed over an expired session kept (item 10).

use super::*;

/// A grid worker's patrol report at one of her grid's buildings; its id.
async fn patrol(app: &TestApp, wangge: &str, b: i64, words: &str) -> i64 {
    report(
        app,
        wangge,
        json!({"category": "illegal_parking", "description": words, "place_id": b}),
    )
    .await["case"]["id"]
        .as_i64()
        .unwrap()
}

/// Whether the form an element id is on is the primary step.
fn primary(page: &str, id: &str) -> bool {
    let i = at(page, id);
    page[page[..i].rfind("<form").unwrap()..i].contains("primary-step")
}

/// Where an element with this id starts in a page (panics when absent).
fn at(page: &str, id: &str) -> usize {
    page.find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {page}"))
}

/// Posts a page form as a signed-in browser; the status, the Location and the page.
async fn post_form(
    app: &TestApp,
    b: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String, String) {
    let r = b.post(app.url(path)).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    let loc = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, loc, r.text().await.unwrap())
}

async fn state_of(app: &TestApp, id: i64) -> String {
    app.db
        .read(move |c| {
            c.query_one("SELECT state FROM cases WHERE id = $1", linli::params![id])
                .map(|r| r.str(0))
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn the_case_page_offers_what_comes_next_first_and_confirms_what_turns_a_case_away() {
    let app = support::spawn().await;
    let b = buildings(&app).await;
    let wangge = app.token("wangge").await;
    let admin = app.token("admin").await;
    let bumen_org = org_of(&app, "bumen").await;
    let one = patrol(&app, &wangge, b[0], "小区门口有车辆占用消防通道").await;
    let two = patrol(&app, &wangge, b[1], "路边车辆长期占道停放").await;
    // The dispatcher's page of a new case: 受理并派单 first and the one primary step, then
    // 受理, the steps that turn it away last.
    let (a, _) = app.login_page("admin", PASSWORD).await;
    let page = app.page(&a, &format!("/cases/{one}")).await;
    assert_eq!(page.matches("primary-step").count(), 1, "{page}");
    let first = at(&page, "step-accept-dispatch");
    assert!(primary(&page, "step-accept-dispatch"), "{page}");
    assert!(
        first < at(&page, "step-accept") && at(&page, "step-accept") < at(&page, "step-reject")
    );
    assert!(at(&page, "step-merge") < at(&page, "step-reject"));
    // 受理并派单 over the API: one call, both steps on the timeline.
    let v = step_ok(
        &app,
        &admin,
        one,
        json!({"action": "accept", "dispatch": true, "org_id": bumen_org, "note": "请城管处理"}),
    )
    .await;
    assert_eq!(v["case"]["state"], "dispatched");
    assert_eq!(v["case"]["handler_org_id"], bumen_org);
    assert_eq!(v["case"]["waiting_on"], "handler");
    let steps: Vec<&str> = v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(steps.ends_with(&["accept", "dispatch"]), "{steps:?}");
    let (s, e) = step(
        &app,
        &admin,
        two,
        json!({"action": "reject", "dispatch": true, "note": "x"}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(state_of(&app, two).await, "new");
    // The handler's page: 签收 first.
    let (h, _) = app.login_page("bumen", PASSWORD).await;
    let page = app.page(&h, &format!("/cases/{one}")).await;
    let sign = at(&page, "step-sign_for");
    assert!(primary(&page, "step-sign_for"));
    assert!(sign < at(&page, "step-return"));
    assert!(page.contains("id=\"waits-on\""));
    // Through the form, with the message after the step.
    let csrf = extract_input(&page, "csrf").unwrap();
    let (s, loc, _) = post_form(
        &app,
        &h,
        &format!("/cases/{one}/step"),
        &[("csrf", &csrf), ("action", "sign_for"), ("note", "")],
    )
    .await;
    assert_eq!(
        (s, loc.as_str()),
        (303, format!("/cases/{one}?done=sign_for").as_str())
    );
    let page = app.page(&h, &loc).await;
    assert!(
        page.contains("id=\"done\"") && page.contains("“签收”已完成，案件现为“已签收”"),
        "{page}"
    );
    // A made-up step in ?done= says nothing.
    let page = app.page(&h, &format!("/cases/{one}?done=fly")).await;
    assert!(!page.contains("id=\"done\""));
    let page = app.page(&a, &format!("/cases/{two}")).await;
    let csrf = extract_input(&page, "csrf").unwrap();
    let (s, loc, _) = post_form(
        &app,
        &a,
        &format!("/cases/{two}/step"),
        &[
            ("csrf", &csrf),
            ("action", "accept"),
            ("dispatch", "1"),
            ("org_id", &bumen_org.to_string()),
            ("note", ""),
        ],
    )
    .await;
    assert_eq!(
        (s, loc.as_str()),
        (303, format!("/cases/{two}?done=accept_dispatch").as_str())
    );
    let page = app.page(&a, &loc).await;
    assert!(
        page.contains("“受理并派单”已完成，案件现为“已派单”"),
        "{page}"
    );
    // Turning a case away asks first, on a page of its own, and changes nothing until then.
    let three = patrol(&app, &wangge, b[0], "车辆停在盲道上").await;
    let page = app.page(&a, &format!("/cases/{three}")).await;
    let csrf = extract_input(&page, "csrf").unwrap();
    let reject = [
        ("csrf", csrf.as_str()),
        ("action", "reject"),
        ("note", "不属于本街道管辖"),
    ];
    let (s, _, page) = post_form(&app, &a, &format!("/cases/{three}/step"), &reject).await;
    assert_eq!(s, 200);
    assert!(
        page.contains("id=\"confirm\"") && page.contains("不属于本街道管辖"),
        "{page}"
    );
    assert_eq!(extract_input(&page, "confirmed").as_deref(), Some("1"));
    assert_eq!(state_of(&app, three).await, "new");
    let mut confirmed = reject.to_vec();
    confirmed.push(("confirmed", "1"));
    let (s, loc, _) = post_form(&app, &a, &format!("/cases/{three}/step"), &confirmed).await;
    assert_eq!(
        (s, loc.as_str()),
        (303, format!("/cases/{three}?done=reject").as_str())
    );
    assert_eq!(state_of(&app, three).await, "rejected");
    // Others: a handler who does not see the case gets 404 (no confirmation page), the
    // resident who reported one 403.
    let four = patrol(&app, &wangge, b[1], "电动车堵住楼道口").await;
    let hp = app.page(&h, "/cases").await;
    let hcsrf = extract_input(&hp, "csrf").unwrap();
    let (s, _, _) = post_form(
        &app,
        &h,
        &format!("/cases/{four}/step"),
        &[("csrf", &hcsrf), ("action", "reject"), ("note", "不归我们")],
    )
    .await;
    assert_eq!(s, 404);
    let jumin = app.token("jumin").await;
    let mine = report(
        &app,
        &jumin,
        json!({"category": "noise", "description": "楼下商铺音响太吵", "place_id": b[0]}),
    )
    .await["case"]["id"]
        .as_i64()
        .unwrap();
    let (j, _) = app.login_page("jumin", PASSWORD).await;
    let jp = app.page(&j, &format!("/cases/{mine}")).await;
    assert!(!jp.contains("id=\"actions\""), "nothing for her to do yet");
    let jcsrf = extract_input(&jp, "csrf").unwrap();
    let (s, _, _) = post_form(
        &app,
        &j,
        &format!("/cases/{mine}/step"),
        &[("csrf", &jcsrf), ("action", "reject"), ("note", "算了")],
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(state_of(&app, mine).await, "new");
}

#[tokio::test]
async fn the_queue_opens_on_my_work_and_takes_steps_on_many_cases_at_once() {
    let app = support::spawn().await;
    let b = buildings(&app).await;
    let wangge = app.token("wangge").await;
    let admin = app.token("admin").await;
    let bumen = app.token("bumen").await;
    let jumin = app.token("jumin").await;
    let bumen_org = org_of(&app, "bumen").await;
    let one = patrol(&app, &wangge, b[0], "白色轿车占用人行道").await;
    let two = patrol(&app, &wangge, b[1], "货车夜间停在小区门口").await;
    let fresh = patrol(&app, &wangge, b[0], "三轮车堵住单元门").await;
    // Batch dispatch (受理并派单) by the dispatcher, over the API.
    let (s, v) = post(
        &app,
        &admin,
        "/api/v1/cases/batch",
        json!({"action": "accept", "dispatch": true, "ids": [one, two], "org_id": bumen_org}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["done"], 2);
    assert!(
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["ok"] == true && r["state"] == "dispatched")
    );
    // The department's queue: what waits on it, each saying so.
    let (_, mine) = app
        .get_json(&bumen, "/api/v1/cases?waiting=me&limit=500")
        .await;
    let mine = mine.as_array().unwrap();
    for id in [one, two] {
        assert!(mine.iter().any(|c| c["id"] == id), "#{id} waits on bumen");
    }
    assert!(
        mine.iter()
            .all(|c| c["handler_org_id"] == bumen_org && c["waiting_on"] == "handler"),
        "{mine:?}"
    );
    assert!(!mine.iter().any(|c| c["id"] == fresh));
    let (s, _) = app.get_json(&bumen, "/api/v1/cases?waiting=soon").await;
    assert_eq!(s, 422);
    let (hb, _) = app.login_page("bumen", PASSWORD).await;
    let page = app.page(&hb, "/cases").await;
    assert!(
        page.contains("href=\"/cases?waiting=me\" aria-current=\"page\"")
            || page.contains("aria-current=\"page\" href=\"/cases?waiting=me\""),
        "{page}"
    );
    assert!(
        page.contains(&format!("href=\"/cases/{one}\"")) && page.contains("class=\"tag mine\"")
    );
    assert!(page.contains("id=\"batch-form\"") && page.contains("value=\"sign_for\""));
    // Batch 签收 by the department: each case checked as if alone; one it cannot see is not
    // found, and nothing else is held back by it.
    let (s, v) = post(
        &app,
        &bumen,
        "/api/v1/cases/batch",
        json!({"action": "sign_for", "ids": [one, fresh, two, one]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "each case once: {v}");
    assert_eq!(
        (results[0]["id"].as_i64(), results[0]["state"].as_str()),
        (Some(one), Some("signed_for"))
    );
    assert_eq!(
        (results[1]["ok"].as_bool(), results[1]["code"].as_str()),
        (Some(false), Some("not_found"))
    );
    assert_eq!(results[2]["state"], "signed_for");
    assert_eq!(v["done"], 2);
    // Recorded like one step: on each case's timeline, by the handler.
    let (_, d) = app.get_json(&bumen, &format!("/api/v1/cases/{two}")).await;
    let last = d["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "sign_for");
    assert_eq!(last["actor_id"], user_id(&app, "bumen").await);
    let (_, v) = post(
        &app,
        &bumen,
        "/api/v1/cases/batch",
        json!({"action": "sign_for", "ids": [one]}),
    )
    .await;
    assert_eq!(v["results"][0]["code"], "state_conflict");
    // Other roles: a resident's batch dispatch is refused case by case, steps beyond 签收 and
    // 派单 and empty or long batches are refused whole.
    let (s, v) = post(
        &app,
        &jumin,
        "/api/v1/cases/batch",
        json!({"action": "dispatch", "ids": [fresh]}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        (v["done"].as_i64(), v["results"][0]["code"].as_str()),
        (Some(0), Some("not_found"))
    );
    assert_eq!(state_of(&app, fresh).await, "new");
    let (s, v) = post(
        &app,
        &bumen,
        "/api/v1/cases/batch",
        json!({"action": "accept", "ids": [fresh]}),
    )
    .await;
    assert_eq!(
        (s, v["results"][0]["code"].as_str()),
        (200, Some("not_found"))
    );
    let (s, _) = post(
        &app,
        &bumen,
        "/api/v1/cases/batch",
        json!({"action": "resolve", "ids": [one]}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = post(
        &app,
        &bumen,
        "/api/v1/cases/batch",
        json!({"action": "sign_for", "ids": []}),
    )
    .await;
    assert_eq!(s, 422);
    let many: Vec<i64> = (1..=101).collect();
    let (s, _) = post(
        &app,
        &admin,
        "/api/v1/cases/batch",
        json!({"action": "dispatch", "ids": many}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = post(
        &app,
        &wangge,
        "/api/v1/cases/batch",
        json!({"action": "sign_for", "ids": [one]}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(state_of(&app, one).await, "signed_for");
    // The page form: the dispatcher ticks a new case and dispatches it; a list of outcomes.
    let (a, _) = app.login_page("admin", PASSWORD).await;
    let list = app.page(&a, "/cases?state=new").await;
    assert!(
        list.contains("name=\"id\" value=\"") && list.contains("id=\"batch-form\""),
        "boxes to tick"
    );
    let csrf = extract_input(&list, "csrf").unwrap();
    let org = bumen_org.to_string();
    let fresh_s = fresh.to_string();
    let (s, _, page) = post_form(
        &app,
        &a,
        "/cases/batch",
        &[
            ("csrf", &csrf),
            ("step", "accept+dispatch"),
            ("org_id", &org),
            ("id", &fresh_s),
            ("id", &one.to_string()),
        ],
    )
    .await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("已办理 1 件，共 2 件"), "{page}");
    let ok = &page[at(&page, &format!("batch-{fresh}"))..];
    assert!(ok[..ok.find("</li>").unwrap()].contains("已派单"));
    let refused = &page[at(&page, &format!("batch-{one}"))..];
    assert!(refused[..refused.find("</li>").unwrap()].contains("未办理"));
    assert_eq!(state_of(&app, fresh).await, "dispatched");
    let (s, _, _) = post_form(
        &app,
        &a,
        "/cases/batch",
        &[("csrf", "wrong"), ("step", "dispatch"), ("id", &fresh_s)],
    )
    .await;
    assert_eq!(s, 403);
    // 待核查: once the department resolves a case, the grid worker is asked to check it, and
    // it waits on her; the department is not asked to check its own work.
    step_ok(&app, &bumen, one, json!({"action": "start"})).await;
    step_ok(
        &app,
        &bumen,
        one,
        json!({"action": "resolve", "note": "已拖离"}),
    )
    .await;
    let (_, v) = app
        .get_json(&wangge, "/api/v1/cases?waiting=verify&limit=500")
        .await;
    let n = v.as_array().unwrap().len();
    let found = v
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == one)
        .unwrap_or_else(|| panic!("#{one} to check among {n}"))
        .clone();
    assert_eq!(found["state"], "resolved");
    let (_, v) = app
        .get_json(&wangge, "/api/v1/cases?waiting=me&limit=500")
        .await;
    assert!(v.as_array().unwrap().iter().any(|c| c["id"] == one));
    let (_, v) = app.get_json(&bumen, "/api/v1/cases?waiting=verify").await;
    assert_eq!(v, json!([]));
    let (g, _) = app.login_page("wangge", PASSWORD).await;
    let page = app.page(&g, "/cases").await;
    assert!(
        page.contains("href=\"/cases?waiting=verify\""),
        "a grid worker's filter"
    );
    assert!(
        page.contains(&format!("href=\"/cases/{one}\"")),
        "her queue opens on it: {page}"
    );
    assert!(
        page.contains("id=\"batch-form\""),
        "batch 签收 of the cases of alerts dispatched to her"
    );
    // The dispatcher's queue still opens on every open case of her area.
    let page = app.page(&a, "/cases").await;
    assert!(
        page.contains("aria-current=\"page\" href=\"/cases?state=open\""),
        "{page}"
    );
}

#[tokio::test]
async fn residents_report_by_tiles_rate_in_words_and_call_their_grid_worker() {
    let app = support::spawn().await;
    let b = buildings(&app).await;
    let jumin = app.token("jumin").await;
    let admin = app.token("admin").await;
    // "我的上报" in a resident's navigation, 案件 in a worker's.
    let (j, _) = app.login_page("jumin", PASSWORD).await;
    let home = app.page(&j, "/").await;
    assert!(home.contains("id=\"nav-cases\">我的上报</a>"), "{home}");
    let (a, _) = app.login_page("admin", PASSWORD).await;
    let home = app.page(&a, "/").await;
    assert!(home.contains("id=\"nav-cases\">案件</a>"));
    // The report form: tiles with icons, no dropdown of categories, every category's own
    // fields at hand (those of the chosen one shown).
    let form = app.page(&j, "/cases/new?category=noise").await;
    assert!(
        form.contains("id=\"category-tiles\"") && form.contains("<svg class=\"icon\""),
        "{form}"
    );
    assert!(!form.contains("<select name=\"category\""));
    assert!(form.contains("id=\"tile-noise\"><input type=\"radio\" name=\"category\" value=\"noise\" required checked>"));
    assert!(
        form.contains("id=\"fields-noise\">")
            && form.contains("id=\"fields-illegal_parking\" hidden>"),
        "{form}"
    );
    let r = j.get(app.url("/static/cases.js")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The grid worker's work phone, set by the user administrator (audited), not by others.
    let wangge_id = user_id(&app, "wangge").await;
    let user = app.page(&a, &format!("/admin/users/{wangge_id}")).await;
    let csrf = extract_input(&user, "csrf").unwrap();
    let path = format!("/admin/users/{wangge_id}/work-phone");
    let (s, _, page) = post_form(&app, &a, &path, &[("csrf", &csrf), ("work_phone", "电话")]).await;
    assert_eq!(s, 422);
    assert!(page.contains("工作电话只能包含数字"), "{page}");
    let (s, _, _) = post_form(
        &app,
        &a,
        &path,
        &[("csrf", &csrf), ("work_phone", "021-5555 1234")],
    )
    .await;
    assert_eq!(s, 303);
    let entry = app.last_audit_entry().await;
    assert_eq!(entry["purpose"], "work_phone", "{entry}");
    assert!(
        app.page(&a, &format!("/admin/users/{wangge_id}"))
            .await
            .contains("value=\"021-5555 1234\"")
    );
    let jcsrf = extract_input(&app.page(&j, "/cases").await, "csrf").unwrap();
    let (s, _, _) = post_form(&app, &j, &path, &[("csrf", &jcsrf), ("work_phone", "110")]).await;
    assert_eq!(s, 403);
    let (g, _) = app.login_page("wangge", PASSWORD).await;
    let gcsrf = extract_input(&app.page(&g, "/cases").await, "csrf").unwrap();
    let (s, _, _) = post_form(&app, &g, &path, &[("csrf", &gcsrf), ("work_phone", "110")]).await;
    assert_eq!(s, 403);
    // Her report at a building of wangge's grid: a tap calls wangge, on her page only.
    let id = report(
        &app,
        &jumin,
        json!({"category": "noise", "description": "广场舞音响太响", "place_id": b[0]}),
    )
    .await["case"]["id"]
        .as_i64()
        .unwrap();
    let page = app.page(&j, &format!("/cases/{id}")).await;
    assert!(page.contains("href=\"tel:021-55551234\""), "{page}");
    assert!(page.contains("id=\"call-grid-worker\""));
    for who in [&a, &g] {
        let page = app.page(who, &format!("/cases/{id}")).await;
        assert!(
            !page.contains("tel:021"),
            "only for the resident whose case it is"
        );
    }
    // Rating in words, with a comment: 基本满意 is 3.
    app.exec(
        "UPDATE cases SET state = 'closed', closed_at = 1 WHERE id = $1",
        linli::params![id],
    )
    .await;
    let page = app.page(&j, &format!("/cases/{id}")).await;
    for label in ["满意", "基本满意", "不满意"] {
        assert!(
            page.contains(&format!("{label}</label>")),
            "{label}: {page}"
        );
    }
    let csrf = extract_input(&page, "csrf").unwrap();
    let (s, loc, _) = post_form(
        &app,
        &j,
        &format!("/cases/{id}/step"),
        &[
            ("csrf", &csrf),
            ("action", "rate"),
            ("satisfaction", "basically_satisfied"),
            ("note", "声音小了些"),
        ],
    )
    .await;
    assert_eq!(s, 303);
    let (_, v) = app.get_json(&jumin, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(
        (
            v["case"]["rating"].as_i64(),
            v["case"]["satisfaction"].as_str()
        ),
        (Some(3), Some("basically_satisfied"))
    );
    assert!(app.page(&j, &loc).await.contains("基本满意 · 声音小了些"));
    // Over the API, by word; the dispatcher may not rate a case she does not see... she
    // does: rating is the reporter's or the dispatcher's.
    let two = report(
        &app,
        &jumin,
        json!({"category": "noise", "description": "装修电钻声从早到晚", "place_id": b[0]}),
    )
    .await["case"]["id"]
        .as_i64()
        .unwrap();
    app.exec(
        "UPDATE cases SET state = 'closed', closed_at = 1 WHERE id = $1",
        linli::params![two],
    )
    .await;
    let (s, _) = step(
        &app,
        &jumin,
        two,
        json!({"action": "rate", "satisfaction": "great"}),
    )
    .await;
    assert!(s == 400 || s == 422, "{s}");
    let v = step_ok(
        &app,
        &jumin,
        two,
        json!({"action": "rate", "satisfaction": "dissatisfied"}),
    )
    .await;
    assert_eq!(
        (
            v["case"]["rating"].as_i64(),
            v["case"]["satisfaction"].as_str()
        ),
        (Some(1), Some("dissatisfied"))
    );
    let bumen = app.token("bumen").await;
    let (s, _) = step(&app, &bumen, two, json!({"action": "reopen", "note": "x"})).await;
    assert_eq!(s, 404, "out of the department's sight");
    let _ = admin;
}

#[tokio::test]
async fn places_are_found_by_name_within_the_callers_street() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let id = buildings(&app).await[0];
    let name = app
        .db
        .read(move |c| {
            c.query_one("SELECT name FROM places WHERE id = $1", linli::params![id])
                .map(|r| r.str(0))
        })
        .await
        .unwrap();
    let q: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    let (s, v) = app
        .get_json(&jumin, &format!("/api/v1/cases/places?q={q}"))
        .await;
    assert_eq!(s, 200, "{v}");
    let found = v.as_array().unwrap();
    assert!(!found.is_empty() && found.len() <= 20, "{v}");
    assert!(
        found
            .iter()
            .all(|p| p["name"].as_str().unwrap().contains(name.as_str()))
    );
    if found.len() < 20 {
        let hit = found
            .iter()
            .find(|p| p["id"] == id)
            .expect("found by its name");
        assert_eq!(hit["kind"], "building");
        let label = hit["label"].as_str().unwrap();
        assert!(
            label.ends_with(name.as_str()) && label.matches(" › ").count() >= 2,
            "community › grid › building: {label}"
        );
    }
    let (s, _) = app.get_json(&jumin, "/api/v1/cases/places?q=%20").await;
    assert_eq!(s, 422);
    let (s, v) = app.get_json(&jumin, "/api/v1/cases/places?q=%25%25").await;
    assert_eq!((s, v), (200, json!([])), "a % is not a wildcard");
    let r = app
        .client()
        .get(app.url("/api/v1/cases/places?q=a"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // An account of no street finds nothing of this one.
    let hash = linli::org::users::hash_password(PASSWORD);
    app.db
        .write(move |c| {
            let name = linli::org::users::Username::parse("waidi").unwrap();
            linli::org::users::create(
                c,
                linli::org::users::NewUser {
                    username: &name,
                    display_name: "外地用户",
                    password_hash: &hash,
                    street_id: None,
                    person_id: None,
                    created_by: None,
                },
            )
        })
        .await
        .unwrap();
    let other = app.token("waidi").await;
    let (s, _) = app
        .get_json(&other, &format!("/api/v1/cases/places?q={q}"))
        .await;
    assert_eq!(s, 422);
}

/// Signs in again in the same browser (its cookies kept); where the sign-in leads.
async fn sign_in_again(app: &TestApp, b: &reqwest::Client, next: &str) -> String {
    let page = app
        .page(
            b,
            &format!(
                "/login?next={}",
                form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            ),
        )
        .await;
    let csrf = extract_input(&page, "login_csrf").unwrap();
    let r = b
        .post(app.url("/login"))
        .form(&[
            ("username", "jumin"),
            ("password", PASSWORD),
            ("login_csrf", &csrf),
            ("next", next),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    r.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn a_report_typed_when_the_session_expired_is_kept_and_sent_after_signing_in() {
    let app = support::spawn().await;
    let b = buildings(&app).await;
    let (j, _) = app.login_page("jumin", PASSWORD).await;
    let form = app.page(&j, "/cases/new?category=noise").await;
    let csrf = extract_input(&form, "csrf").unwrap();
    // Her own building, as the form offers it.
    let select = &form[form.find("name=\"place_id\"").unwrap()..];
    let select = &select[select.find("<option value=\"\"").unwrap() + 10..];
    let first = &select[select.find("<option value=\"").unwrap() + 15..];
    let place = first[..first.find('"').unwrap()].to_string();
    // The session ends while she types.
    app.exec("UPDATE sessions SET expires_at = 1", &[]).await;
    app.state.callers.clear();
    let words = "凌晨两点楼下还有人在大声喧哗，已经连续一周了".repeat(20);
    let _ = b;
    let cases_before = app.query_i64("SELECT COUNT(*) FROM cases").await;
    let r = j
        .post(app.url("/cases/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("category", "noise"),
            ("description", words.as_str()),
            ("place_id", place.as_str()),
            ("extra.source", "商铺"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, "/login?reason=expired&next=%2Fcases%2Fnew%3Fdraft%3D1");
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM cases").await,
        cases_before
    );
    let login = app.page(&j, &to).await;
    assert!(login.contains("登录已过期，请重新登录"), "{login}");
    let login_en = j
        .get(app.url(&to))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(login_en.status(), 200);
    // Signed in again, the form is back as she typed it, ready to send.
    let back = sign_in_again(&app, &j, "/cases/new?draft=1").await;
    assert_eq!(back, "/cases/new?draft=1");
    let page = app.page(&j, &back).await;
    assert!(page.contains("id=\"draft-back\""), "{page}");
    assert!(page.contains(&words), "the description as typed");
    assert!(page.contains("value=\"noise\" required checked"));
    assert!(page.contains(&format!("<option value=\"{place}\" selected>")));
    let csrf = extract_input(&page, "csrf").unwrap();
    let r = j
        .post(app.url("/cases/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("category", "noise"),
            ("description", words.as_str()),
            ("place_id", place.as_str()),
            ("extra.source", "商铺"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.ends_with("?done=report"), "{loc}");
    let page = app.page(&j, &loc).await;
    assert!(page.contains("“上报”已完成"), "{page}");
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM cases").await,
        cases_before + 1
    );
    // Sent, the draft is forgotten.
    let page = app.page(&j, "/cases/new?draft=1").await;
    assert!(!page.contains("id=\"draft-back\"") && !page.contains(&words));
    // A visitor who was never signed in gets the same way to sign in, and nothing is stored.
    let stranger = app.browser();
    let r = stranger
        .post(app.url("/cases/new"))
        .form(&[("category", "noise"), ("description", "路灯不亮")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM cases").await,
        cases_before + 1
    );
}
