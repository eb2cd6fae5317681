//! Home visits (issue 23 part 1): a visit recorded within the worker's scope and refused
//! outside it; notes read only in the detail, audited with the persons as subjects, masked in
//! lists; the due list across month ends and after a worker's grid changes; the resident's own
//! visits without notes unless the street allows; plans; bad input in Chinese and English.

use serde_json::{Value, json};

use crate::support::{self, TestApp};

pub(crate) async fn send(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    lang: &str,
) -> (u16, Value) {
    let c = app.client();
    let mut r = match method {
        "POST" => c.post(app.url(path)),
        "PUT" => c.put(app.url(path)),
        _ => c.get(app.url(path)),
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

pub(crate) async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    send(app, token, "POST", path, Some(body), "zh-CN").await
}

pub(crate) async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    send(app, token, "GET", path, None, "zh-CN").await
}

pub(crate) fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A person under `path` holding `tag` today, with no visit yet (the demo leaves a third of
/// the grid's elderly unvisited).
async fn unvisited(app: &TestApp, path: String, tag: &'static str) -> i64 {
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT MIN(p.id) FROM persons p JOIN person_tags t ON t.person_id = p.id \
                 WHERE t.tag = $1 AND t.valid_to IS NULL AND p.residence <> 'left' \
                 AND (p.place_path LIKE $2) \
                 AND NOT EXISTS (SELECT 1 FROM visit_last l WHERE l.person_id = p.id)",
                linli::params![tag, format!("{path}/%")],
            )
        })
        .await
        .unwrap()
}

/// A household outside `path` (another grid).
async fn household_outside(app: &TestApp, path: String) -> i64 {
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT MIN(id) FROM households WHERE place_path NOT LIKE $1",
                linli::params![format!("{path}/%")],
            )
        })
        .await
        .unwrap()
}

fn visit(person: i64) -> Value {
    json!({"person_id": person, "how": "door", "health": "good", "living": "fair",
           "needs": ["meals"], "notes": "独居，冰箱空了，约好周五送餐。"})
}

fn subjects(e: &Value) -> Vec<String> {
    e["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_visit_is_recorded_in_scope_read_with_its_notes_and_audited() {
    let app = support::spawn().await;
    let grid = support::place_of(&app, "wangge").await;
    let person = unvisited(&app, grid.clone(), "elderly_alone").await;
    let w = app.token("wangge").await;

    let (s, v) = post(&app, &w, "/api/v1/visits", visit(person)).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "change");
    assert!(subjects(&e).contains(&format!("person:{person}")), "{e}");

    // The detail carries the notes and is audited as a read of her.
    let (s, d) = get(&app, &w, &format!("/api/v1/visits/{id}")).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["notes"], "独居，冰箱空了，约好周五送餐。");
    assert_eq!(d["how"], "door");
    assert_eq!(d["visitor_name"], "李敏");
    assert!(d["name_masked"].as_str().unwrap().contains('*'), "{d}");
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "read");
    assert!(subjects(&e).contains(&format!("person:{person}")));

    // Lists are masked and carry no notes; the list is audited with those it names.
    let (s, list) = get(&app, &w, "/api/v1/visits").await;
    assert_eq!(s, 200);
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .expect("the new visit in the recent list");
    assert!(mine.get("notes").is_none(), "{mine}");
    assert!(mine["name_masked"].as_str().unwrap().contains('*'));
    assert_eq!(app.last_audit_entry().await["action"], "list");
    let (s, of) = get(&app, &w, &format!("/api/v1/visits/persons/{person}")).await;
    assert_eq!(s, 200);
    assert_eq!(of[0]["id"], id);
    assert!(of[0].get("notes").is_none());
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "list");
    assert_eq!(subjects(&e), vec![format!("person:{person}")]);

    // The community worker above her grid reads it too; a department handler and the
    // resident may not record or read visits.
    let sg = app.token("shegong").await;
    assert_eq!(get(&app, &sg, &format!("/api/v1/visits/{id}")).await.0, 200);
    for who in ["bumen", "jumin", "zhiyuan"] {
        let t = app.token(who).await;
        assert_eq!(
            get(&app, &t, &format!("/api/v1/visits/{id}")).await.0,
            403,
            "{who}"
        );
        assert_eq!(
            post(&app, &t, "/api/v1/visits", visit(person)).await.0,
            403,
            "{who}"
        );
        assert_eq!(get(&app, &t, "/api/v1/visits/due").await.0, 403, "{who}");
    }

    // A household of another grid: refused as not found, and the attempt audited.
    let outside = household_outside(&app, grid.clone()).await;
    let (s, v) = post(
        &app,
        &w,
        "/api/v1/visits",
        json!({"household_id": outside, "how": "door", "health": "good", "living": "good"}),
    )
    .await;
    assert_eq!(s, 404, "{v}");
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "denied");
    assert!(
        subjects(&e).contains(&format!("household:{outside}")),
        "{e}"
    );
    let n: i64 = app.query_i64("SELECT COUNT(*) FROM visits").await;
    assert!(n > 0);

    // A visit to a whole household reaches every member, and can open a case.
    let (h, members) = {
        let g = grid.clone();
        app.db
            .read(move |c| {
                let h = c.query_i64(
                    "SELECT MIN(h.id) FROM households h WHERE h.place_path LIKE $1 \
                     AND (SELECT COUNT(*) FROM persons p WHERE p.household_id = h.id AND p.residence <> 'left') > 1",
                    linli::params![format!("{g}/%")],
                )?;
                let m = c.query_i64(
                    "SELECT COUNT(*) FROM persons WHERE household_id = $1 AND residence <> 'left'",
                    linli::params![h],
                )?;
                Ok((h, m))
            })
            .await
            .unwrap()
    };
    let cat = app
        .db
        .read(|c| {
            c.query_one(
                "SELECT code FROM case_categories WHERE active = 1 AND fields = '[]' AND street_id = \
                 (SELECT street_id FROM users WHERE username = 'wangge') ORDER BY id LIMIT 1",
                &[],
            )
        })
        .await
        .unwrap()
        .str(0);
    let (s, v) = post(
        &app,
        &w,
        "/api/v1/visits",
        json!({"household_id": h, "how": "door", "health": "fair", "living": "poor",
               "needs": ["repair"], "referral": "转介物业维修", "case_category": cat,
               "case_description": "走访发现厨房水管漏水，需要维修。"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    for action in ["change", "read"] {
        if action == "read" {
            let (_, d) = get(&app, &w, &format!("/api/v1/visits/{}", v["id"])).await;
            assert!(d["case_id"].as_i64().is_some(), "{d}");
            assert_eq!(d["referral"], "转介物业维修");
        }
        let e = app.last_audit_entry().await;
        assert_eq!(e["action"], action);
        let s = subjects(&e);
        assert!(s.contains(&format!("household:{h}")), "{e}");
        assert_eq!(
            s.iter().filter(|x| x.starts_with("person:")).count() as i64,
            members,
            "every member: {e}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn the_due_list_counts_months_by_the_calendar_and_follows_the_current_grid() {
    let app = support::spawn().await;
    let grid = support::place_of(&app, "wangge").await;
    let person = unvisited(&app, grid.clone(), "elderly_alone").await;
    let w = app.token("wangge").await;
    // Visited on 31 January at 23:30 China time (15:30 UTC: still the 31st here).
    let at = linli::kernel::time::local_ms(2026, 1, 31, 23, 30);
    let mut v = visit(person);
    v["visited_at"] = json!(at);
    let (s, r) = post(&app, &w, "/api/v1/visits", v).await;
    assert_eq!(s, 201, "{r}");

    let row = |list: &Value| -> Option<Value> {
        list["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["person_id"] == person)
            .cloned()
    };
    // Monthly: due by the last day of February, overdue from 1 March; fine until a week
    // before.
    let (s, l) = get(&app, &w, "/api/v1/visits/due?on=2026-02-28&all=true").await;
    assert_eq!(s, 200, "{l}");
    let r = row(&l).expect("listed");
    assert_eq!(r["due_on"], "2026-02-28");
    assert_eq!(r["last_on"], "2026-01-31");
    assert_eq!(r["standing"], "due");
    assert_eq!(r["last_by"], "李敏");
    let (_, l) = get(&app, &w, "/api/v1/visits/due?on=2026-03-01").await;
    assert_eq!(row(&l).expect("listed")["standing"], "overdue");
    let (_, l) = get(&app, &w, "/api/v1/visits/due?on=2026-02-20&all=true").await;
    assert_eq!(row(&l).expect("listed")["standing"], "fine");
    // Without `all`, those visited recently enough are not listed.
    let (_, l) = get(&app, &w, "/api/v1/visits/due?on=2026-02-20").await;
    assert!(row(&l).is_none());
    // The counts equal the rows; the rows are ordered by building then floor.
    let (_, l) = get(&app, &w, "/api/v1/visits/due").await;
    let rows = l["rows"].as_array().unwrap();
    assert_eq!(
        rows.len() as i64,
        l["overdue"].as_i64().unwrap() + l["due"].as_i64().unwrap()
    );
    assert!(
        l["overdue"].as_i64().unwrap() > 0,
        "the demo has overdue visits: {l}"
    );
    let keys: Vec<(String, i64)> = rows
        .iter()
        .map(|r| {
            (
                r["building"].as_str().unwrap_or_default().to_string(),
                r["floor"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    let mut buildings: Vec<&String> = keys.iter().map(|k| &k.0).collect();
    buildings.dedup();
    let mut sorted = buildings.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(buildings.len(), sorted.len(), "one block per building");
    for w2 in keys.windows(2) {
        if w2[0].0 == w2[1].0 {
            assert!(w2[0].1 <= w2[1].1, "floors in order: {keys:?}");
        }
    }
    assert_eq!(app.last_audit_entry().await["action"], "list");
    // A bad date is refused in both languages.
    let (s, e) = send(
        &app,
        &w,
        "GET",
        "/api/v1/visits/due?on=31/01/2026",
        None,
        "zh-CN",
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&e).contains("YYYY-MM-DD"), "{e}");
    let (_, e) = send(&app, &w, "GET", "/api/v1/visits/due?on=x", None, "en").await;
    assert!(message(&e).contains("must be written"), "{e}");

    // Her grid changes: the list follows the grid she keeps now, not whom she visited; the
    // community worker still sees the person, visited by her.
    let other = {
        let g = grid.clone();
        app.db
            .read(move |c| {
                c.query_i64(
                    "SELECT id FROM places WHERE kind = 'grid' AND path <> $1 AND parent_id = \
                     (SELECT parent_id FROM places WHERE path = $1) ORDER BY path LIMIT 1",
                    linli::params![g],
                )
            })
            .await
            .unwrap()
    };
    app.db
        .write(move |c| {
            c.exec(
                "UPDATE user_roles SET place_id = $1 WHERE role = 'grid_worker' AND user_id = \
                 (SELECT id FROM users WHERE username = 'wangge')",
                linli::params![other],
            )
        })
        .await
        .unwrap();
    app.state.callers.clear();
    let w = app.token("wangge").await;
    let (s, l) = get(&app, &w, "/api/v1/visits/due?on=2026-03-01&all=true").await;
    assert_eq!(s, 200);
    assert!(row(&l).is_none(), "not in her new grid");
    let sg = app.token("shegong").await;
    let (_, l) = get(&app, &sg, "/api/v1/visits/due?on=2026-03-01").await;
    let r = row(&l).expect("the community worker sees her");
    assert_eq!(r["standing"], "overdue");
    assert_eq!(r["last_by"], "李敏");
    // And she may no longer read the visit she made in her old grid.
    let (s, _) = get(&app, &w, &format!("/api/v1/visits/persons/{person}")).await;
    assert_eq!(s, 404);
    app.stop().await;
}

#[tokio::test]
async fn a_resident_sees_who_visited_her_but_not_the_notes_unless_the_street_allows() {
    let app = support::spawn().await;
    let j = app.token("jumin").await;
    let (s, mine) = get(&app, &j, "/api/v1/me/visits").await;
    assert_eq!(s, 200, "{mine}");
    let first = &mine[0];
    assert_eq!(first["visitor_name"], "李敏");
    assert_eq!(first["how"], "door");
    assert!(first.get("notes").is_none(), "{first}");
    // Her page and her home card say so too, without the notes.
    let (b, _) = app.login_page("jumin", support::PASSWORD).await;
    let page = app.page(&b, "/me/visits").await;
    assert!(page.contains("李敏"), "{page}");
    assert!(!page.contains("楼道灯坏了"), "notes stay with the workers");
    let home = app.page(&b, "/").await;
    assert!(home.contains("id=\"home-visits-last\""), "the home card");

    // Only a street administrator changes the setting.
    let w = app.token("wangge").await;
    let (s, _) = send(
        &app,
        &w,
        "PUT",
        "/api/v1/visits/settings",
        Some(json!({"notes_to_resident": true})),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 403);
    let a = app.token("admin").await;
    let (s, v) = send(
        &app,
        &a,
        "PUT",
        "/api/v1/visits/settings",
        Some(json!({"notes_to_resident": true})),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (_, mine) = get(&app, &j, "/api/v1/me/visits").await;
    assert!(
        mine[0]["notes"].as_str().unwrap().contains("楼道灯坏了"),
        "{mine}"
    );
    // A worker has no visits of her own to read here.
    assert_eq!(get(&app, &a, "/api/v1/me/visits").await.0, 404);
    app.stop().await;
}

#[tokio::test]
async fn plans_and_visits_refuse_bad_input_in_both_languages() {
    let app = support::spawn().await;
    let a = app.token("admin").await;
    let w = app.token("wangge").await;
    let (s, plans) = get(&app, &w, "/api/v1/visit-plans").await;
    assert_eq!(s, 200);
    assert!(
        plans
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["tag"] == "elderly_alone"
                && p["every_months"] == 1
                && p["tag_name"] == "独居老人"),
        "{plans}"
    );
    // Only a street administrator writes plans.
    let new = json!({"tag": "low_income", "every_months": 6});
    assert_eq!(
        post(&app, &w, "/api/v1/visit-plans", new.clone()).await.0,
        403
    );
    let (s, v) = post(&app, &a, "/api/v1/visit-plans", new.clone()).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    for (body, zh, en) in [
        (
            json!({"tag": "no_such", "every_months": 1}),
            "没有这个标签",
            "no such tag",
        ),
        (
            json!({"tag": "volunteer", "every_months": 0}),
            "1 到 12",
            "1 to 12",
        ),
        (
            json!({"tag": "low_income", "every_months": 6}),
            "已经有",
            "already has",
        ),
        (
            json!({"tag": "volunteer", "every_months": 2, "soon_days": 40}),
            "0 到 31",
            "0 to 31",
        ),
    ] {
        let (s, e) = send(
            &app,
            &a,
            "POST",
            "/api/v1/visit-plans",
            Some(body.clone()),
            "zh-CN",
        )
        .await;
        assert_eq!(s, 422, "{body} {e}");
        assert!(message(&e).contains(zh), "{body}: {e}");
        let (_, e) = send(
            &app,
            &a,
            "POST",
            "/api/v1/visit-plans",
            Some(body.clone()),
            "en",
        )
        .await;
        assert!(message(&e).contains(en), "{body}: {e}");
    }
    assert_eq!(
        post(
            &app,
            &w,
            &format!("/api/v1/visit-plans/{id}/end"),
            json!({})
        )
        .await
        .0,
        403
    );
    assert_eq!(
        post(
            &app,
            &a,
            &format!("/api/v1/visit-plans/{id}/end"),
            json!({})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        post(
            &app,
            &a,
            &format!("/api/v1/visit-plans/{id}/end"),
            json!({})
        )
        .await
        .0,
        409
    );

    let grid = support::place_of(&app, "wangge").await;
    let person = unvisited(&app, grid, "elderly_alone").await;
    let ok = visit(person);
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    for (body, zh, en) in [
        (
            with("how", json!("fax")),
            "上门、电话或在外遇见",
            "at the door, by phone",
        ),
        (
            with("household_id", json!(1)),
            "二选一",
            "one person or one household",
        ),
        (
            with("health", json!("great")),
            "好、一般或差",
            "good, fair or poor",
        ),
        (
            with("needs", json!(["money"])),
            "需求不在",
            "not one of the choices",
        ),
        (
            with("next_on", json!("2020-01-01")),
            "下次走访",
            "next visit",
        ),
        (
            with("visited_at", json!(4_102_444_800_000i64)),
            "不能晚于现在",
            "cannot be later",
        ),
        (
            with("case_category", json!("x")),
            "案件描述",
            "Describe the case",
        ),
        (with("notes", json!("a\u{202E}b")), "", ""),
    ] {
        let (s, e) = send(
            &app,
            &w,
            "POST",
            "/api/v1/visits",
            Some(body.clone()),
            "zh-CN",
        )
        .await;
        assert_eq!(s, 422, "{body} {e}");
        assert!(message(&e).contains(zh), "{body}: {e}");
        let (_, e) = send(&app, &w, "POST", "/api/v1/visits", Some(body.clone()), "en").await;
        assert!(message(&e).contains(en), "{body}: {e}");
        assert!(!message(&e).is_empty());
    }
    // A JSON body of the wrong shape is a 400 with a message.
    let (s, e) = post(&app, &w, "/api/v1/visits", json!({"person_id": "x"})).await;
    assert_eq!(s, 400, "{e}");
    assert!(!message(&e).is_empty());

    // The form says what was wrong, on the page, keeping what was typed.
    let (b, _) = app.login_page("wangge", support::PASSWORD).await;
    let form = app.page(&b, "/visits/new").await;
    let csrf = support::extract_input(&form, "csrf").expect("the form's csrf");
    let r = b
        .post(app.url("/visits/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("person", &person.to_string()),
            ("how", "door"),
            ("health", "good"),
            ("living", "good"),
            ("notes", "门口聊了几句"),
            ("next_on", "2020-01-01"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("visit-error") && html.contains("门口聊了几句"),
        "{html}"
    );
    app.stop().await;
}
