//! Room for self-governance (留白, issue 26 part 1): a self-governed category runs no clock,
//! never escalates and stays out of the organisations' figures, with its own measures apart; a
//! dispatcher moves a case between categories with a reason (改类), into the state's hands and
//! back, but not back to the residents once the district took it up.

use super::*;

async fn category_id(app: &TestApp, code: &'static str) -> i64 {
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM case_categories WHERE code = $1 ORDER BY id LIMIT 1",
                linli::params![code],
            )
        })
        .await
        .unwrap()
}

async fn sweep(app: &TestApp, now: i64) {
    app.db
        .write(move |c| linli::cases::escalation::sweep(c, now))
        .await
        .unwrap();
}

async fn level_of(app: &TestApp, id: i64) -> i64 {
    app.db
        .read(move |c| c.query_i64("SELECT level FROM cases WHERE id = $1", linli::params![id]))
        .await
        .unwrap()
}

const YEAR_MS: i64 = 365 * 24 * 3_600_000;

#[tokio::test]
async fn a_self_governed_matter_has_no_clock_no_escalation_and_its_own_figures() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let admin = app.token("admin").await;
    let wuye = app.token("wuye").await;
    let b = buildings(&app).await;
    let v = report(
        &app,
        &jumin,
        json!({"category": "stairwell_clutter", "description": "三楼楼道堆了旧家具", "place_id": b[0]}),
    )
    .await;
    let id = v["case"]["id"].as_i64().unwrap();
    assert_eq!(v["case"]["self_governed"], true, "{v}");
    assert_eq!(v["case"]["governed_by"], "building_leader");
    assert_eq!(v["case"]["clock"], "self");
    assert!(v["case"]["due_at"].is_null(), "{v}");

    // A year later nothing has been warned or escalated.
    let now = linli::store::now_ms();
    sweep(&app, now + YEAR_MS).await;
    assert_eq!(level_of(&app, id).await, 0);

    // The lifecycle and the rating still hold: accepted, dispatched to the property company
    // as the owners' agent, resolved, closed, rated — never a deadline on the way.
    let d = step_ok(&app, &admin, id, json!({"action": "accept"})).await;
    assert_eq!(d["case"]["clock"], "self");
    assert!(d["case"]["due_at"].is_null());
    let wuye_org = org_of(&app, "wuye").await;
    step_ok(
        &app,
        &admin,
        id,
        json!({"action": "dispatch", "org_id": wuye_org}),
    )
    .await;
    step_ok(&app, &wuye, id, json!({"action": "sign_for"})).await;
    step_ok(&app, &wuye, id, json!({"action": "start"})).await;
    sweep(&app, now + 2 * YEAR_MS).await;
    assert_eq!(level_of(&app, id).await, 0);
    step_ok(
        &app,
        &wuye,
        id,
        json!({"action": "resolve", "note": "楼组长组织清理完毕"}),
    )
    .await;
    step_ok(&app, &admin, id, json!({"action": "close"})).await;
    let d = step_ok(&app, &jumin, id, json!({"action": "rate", "rating": 5})).await;
    assert_eq!(d["case"]["late"], false);

    // Not in the property company's figures; apart, with its own measures and no "late".
    let (s, f) = app.get_json(&admin, "/api/v1/cases/figures").await;
    assert_eq!(s, 200, "{f}");
    let handled_by_wuye: i64 = f["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["org_id"] == wuye_org)
        .map(|o| o["handled"].as_i64().unwrap())
        .sum();
    let g = &f["self_governed"];
    assert_eq!(g["handled"], 1, "{f}");
    assert_eq!(g["resolved"], 1);
    assert_eq!(g["resolved_share"], 1.0);
    assert_eq!(g["satisfaction"], 5.0);
    assert!(g.get("on_time_rate").is_none());
    let before = handled_by_wuye;
    // A clocked case dispatched to the same company does count there.
    let v = report(
        &app,
        &jumin,
        json!({"category": "facility_repair", "description": "路灯坏了", "place_id": b[0],
               "extra": {"facility": "路灯"}}),
    )
    .await;
    let other = v["case"]["id"].as_i64().unwrap();
    step_ok(
        &app,
        &admin,
        other,
        json!({"action": "accept", "dispatch": true, "org_id": wuye_org}),
    )
    .await;
    let (_, f) = app.get_json(&admin, "/api/v1/cases/figures").await;
    let after: i64 = f["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["org_id"] == wuye_org)
        .map(|o| o["handled"].as_i64().unwrap())
        .sum();
    assert_eq!(after, before + 1, "{f}");
    assert_eq!(f["self_governed"]["handled"], 1);

    // The figures page shows the section; the property company reads none of it.
    let (browser, _) = app.login_page("admin", PASSWORD).await;
    let page = app.page(&browser, "/cases/figures").await;
    assert!(page.contains("id=\"self-governed\""), "{page}");
    let (_, f) = app.get_json(&wuye, "/api/v1/cases/figures").await;
    assert!(f.get("self_governed").is_none(), "{f}");
}

#[tokio::test]
async fn a_dispatcher_moves_a_case_into_the_states_hands_and_back_with_a_reason() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let admin = app.token("admin").await;
    let wuye = app.token("wuye").await;
    let b = buildings(&app).await;
    let v = report(
        &app,
        &jumin,
        json!({"category": "stairwell_clutter", "description": "楼道里堆满纸箱，挡住了消防通道", "place_id": b[0]}),
    )
    .await;
    let id = v["case"]["id"].as_i64().unwrap();
    let fire = category_id(&app, "fire_hazard").await;
    let clutter = category_id(&app, "stairwell_clutter").await;

    // Without a reason, without a category, to an unknown one: refused, nothing changed.
    let (s, e) = step(
        &app,
        &admin,
        id,
        json!({"action": "recategorise", "category_id": fire}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    let (s, e) = step(
        &app,
        &admin,
        id,
        json!({"action": "recategorise", "note": "消防隐患"}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("类别"),
        "{e}"
    );
    let (s, _) = step(
        &app,
        &admin,
        id,
        json!({"action": "recategorise", "note": "消防隐患", "category_id": 999_999}),
    )
    .await;
    assert_eq!(s, 422);
    // Not the reporter's or a handler's to move.
    let (s, _) = step(
        &app,
        &jumin,
        id,
        json!({"action": "recategorise", "note": "x", "category_id": fire}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = step(
        &app,
        &wuye,
        id,
        json!({"action": "recategorise", "note": "x", "category_id": fire}),
    )
    .await;
    assert!(s == 403 || s == 404, "{s}");

    // Into the state's hands: the accept clock starts now.
    let d = step_ok(
        &app,
        &admin,
        id,
        json!({"action": "recategorise", "note": "堵了消防通道，需要消防站处理", "category_id": fire}),
    )
    .await;
    assert_eq!(d["case"]["category"], "fire_hazard");
    assert_eq!(d["case"]["self_governed"], false);
    assert_eq!(d["case"]["clock"], "accept");
    assert!(d["case"]["due_at"].as_i64().is_some());
    let (_, f) = app.get_json(&admin, "/api/v1/cases/figures").await;
    assert_eq!(f["self_governed"]["handled"], 0, "{f}");

    // And back to the residents, while the district has not taken it up.
    let d = step_ok(
        &app,
        &admin,
        id,
        json!({"action": "recategorise", "note": "纸箱已搬走，交楼组长跟进", "category_id": clutter}),
    )
    .await;
    assert_eq!(d["case"]["self_governed"], true);
    assert!(d["case"]["due_at"].is_null());
    // The timeline says so, with the reason.
    let (browser, _) = app.login_page("admin", PASSWORD).await;
    let page = app.page(&browser, &format!("/cases/{id}")).await;
    assert!(
        page.contains("改类") && page.contains("交楼组长跟进"),
        "{page}"
    );
    assert!(page.contains("id=\"case-governed\""));

    // Escalated to the district, it can no longer be handed back.
    step_ok(
        &app,
        &admin,
        id,
        json!({"action": "recategorise", "note": "需要消防站", "category_id": fire}),
    )
    .await;
    sweep(&app, linli::store::now_ms() + YEAR_MS).await;
    assert_eq!(level_of(&app, id).await, 3);
    let (s, e) = post_lang(
        &app,
        &admin,
        &format!("/api/v1/cases/{id}/transitions"),
        json!({"action": "recategorise", "note": "交回居民", "category_id": clutter}),
        "en",
    )
    .await;
    assert_eq!(s, 409, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("escalated to the district"),
        "{e}"
    );
}

#[tokio::test]
async fn a_street_administrator_hands_a_category_to_a_residents_body_on_the_catalogue() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let (browser, _) = app.login_page("admin", PASSWORD).await;
    let page = app.page(&browser, "/cases/catalogue").await;
    assert!(page.contains("name=\"governed_by\""), "{page}");
    // Over the API: an unknown body is refused; a known one is kept.
    let (s, e) = post(
        &app,
        &admin,
        "/api/v1/case-categories",
        json!({"code": "garden_care", "name_zh": "花园认养", "name_en": "Garden care",
               "group": "environment", "accept_hours": 8, "resolve_hours": 80,
               "governed_by": "mayor"}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    let (s, v) = post(
        &app,
        &admin,
        "/api/v1/case-categories",
        json!({"code": "garden_care", "name_zh": "花园认养", "name_en": "Garden care",
               "group": "environment", "accept_hours": 8, "resolve_hours": 80,
               "governed_by": "owners_committee"}),
    )
    .await;
    assert!(s == 200 || s == 201, "{v}");
    let governed = app
        .db
        .read(|c| {
            c.query_one(
                "SELECT governed_by FROM case_categories WHERE code = 'garden_care'",
                &[],
            )
        })
        .await
        .unwrap()
        .str(0);
    assert_eq!(governed, "owners_committee");
    // Saved again without saying, it keeps its residents' body.
    let (s, v) = post(
        &app,
        &admin,
        "/api/v1/case-categories",
        json!({"code": "garden_care", "name_zh": "花园认养", "name_en": "Garden care",
               "group": "environment", "accept_hours": 8, "resolve_hours": 120}),
    )
    .await;
    assert!(s == 200 || s == 201, "{v}");
    let kept = app
        .db
        .read(|c| {
            c.query_one(
                "SELECT governed_by FROM case_categories WHERE code = 'garden_care'",
                &[],
            )
        })
        .await
        .unwrap()
        .str(0);
    assert_eq!(kept, "owners_committee");
}

/// Routing rules learn from practice (issue 26 part 3): per category, how often cases were
/// returned or sent to another organisation, and where they ended — the street's dispatchers'.
#[tokio::test]
async fn the_figures_say_which_categories_are_returned_or_re_routed_and_where_they_ended() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let admin = app.token("admin").await;
    let wuye = app.token("wuye").await;
    let wangge = app.token("wangge").await;
    let wuye_org = org_of(&app, "wuye").await;
    let bumen_org = org_of(&app, "bumen").await;
    let b = buildings(&app).await;
    let row = |f: &Value| -> (i64, i64, i64, i64) {
        f["routing"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["category"] == "water_leak")
            .map(|r| {
                let ended = r["ended_at"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["org_id"] == bumen_org)
                    .map(|e| e["cases"].as_i64().unwrap())
                    .sum();
                (
                    r["dispatched"].as_i64().unwrap(),
                    r["returned"].as_i64().unwrap(),
                    r["rerouted"].as_i64().unwrap(),
                    ended,
                )
            })
            .unwrap_or_default()
    };
    let (_, before) = app.get_json(&admin, "/api/v1/cases/figures").await;
    let before = row(&before);

    let v = report(
        &app,
        &jumin,
        json!({"category": "water_leak", "description": "楼上漏水到我家厨房", "place_id": b[0]}),
    )
    .await;
    let id = v["case"]["id"].as_i64().unwrap();
    step_ok(
        &app,
        &admin,
        id,
        json!({"action": "accept", "dispatch": true, "org_id": wuye_org}),
    )
    .await;
    step_ok(
        &app,
        &wuye,
        id,
        json!({"action": "return", "note": "是公共管道，不归物业"}),
    )
    .await;
    step_ok(
        &app,
        &admin,
        id,
        json!({"action": "dispatch", "org_id": bumen_org}),
    )
    .await;

    let (s, after) = app.get_json(&admin, "/api/v1/cases/figures").await;
    assert_eq!(s, 200, "{after}");
    let after = row(&after);
    assert_eq!(
        after,
        (before.0 + 1, before.1 + 1, before.2 + 1, before.3 + 1),
        "dispatched, returned, re-routed, ended at the department"
    );
    let (browser, _) = app.login_page("admin", PASSWORD).await;
    let page = app.page(&browser, "/cases/figures").await;
    assert!(page.contains("id=\"routing-water_leak\""), "{page}");
    // The routing table is the street's: a property company or a grid worker reads none of it.
    for t in [&wuye, &wangge] {
        let (_, f) = app.get_json(t, "/api/v1/cases/figures").await;
        assert!(f.get("routing").is_none(), "{f}");
    }
}

/// The self-governed and routing sections are kept by triggers (migration 0065), not recounted
/// per request: after cases reported, dispatched, returned, re-routed, moved into and out of
/// self-governance, resolved and rated, both equal a count taken directly from the cases and
/// their steps.
#[tokio::test]
async fn the_kept_self_governed_and_routing_figures_equal_a_recount() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let admin = app.token("admin").await;
    let wuye = app.token("wuye").await;
    let wuye_org = org_of(&app, "wuye").await;
    let bumen_org = org_of(&app, "bumen").await;
    let b = buildings(&app).await;
    let mut ids = Vec::new();
    for (i, (cat, text)) in [
        ("water_leak", "楼上漏水到我家厨房"),
        ("water_leak", "地下车库渗水"),
        ("stairwell_clutter", "五楼楼道堆了纸箱"),
        ("stairwell_clutter", "二楼楼道停了自行车"),
        ("facility_repair", "楼下路灯不亮"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = json!({"category": cat, "description": text, "place_id": b[i % b.len()]});
        if cat == "facility_repair" {
            body["extra"] = json!({"facility": "路灯"});
        }
        let v = report(&app, &jumin, body).await;
        ids.push(v["case"]["id"].as_i64().unwrap());
    }
    for &id in &ids[..2] {
        step_ok(
            &app,
            &admin,
            id,
            json!({"action": "accept", "dispatch": true, "org_id": wuye_org}),
        )
        .await;
    }
    // One returned and sent on; one resolved and rated.
    step_ok(
        &app,
        &wuye,
        ids[0],
        json!({"action": "return", "note": "是公共管道"}),
    )
    .await;
    step_ok(
        &app,
        &admin,
        ids[0],
        json!({"action": "dispatch", "org_id": bumen_org}),
    )
    .await;
    step_ok(&app, &wuye, ids[1], json!({"action": "sign_for"})).await;
    step_ok(&app, &wuye, ids[1], json!({"action": "start"})).await;
    step_ok(
        &app,
        &wuye,
        ids[1],
        json!({"action": "resolve", "note": "已修复"}),
    )
    .await;
    // A self-governed matter resolved and rated, another moved into the state's hands.
    step_ok(&app, &admin, ids[2], json!({"action": "accept"})).await;
    step_ok(
        &app,
        &admin,
        ids[2],
        json!({"action": "dispatch", "org_id": wuye_org}),
    )
    .await;
    step_ok(&app, &wuye, ids[2], json!({"action": "sign_for"})).await;
    step_ok(&app, &wuye, ids[2], json!({"action": "start"})).await;
    step_ok(
        &app,
        &wuye,
        ids[2],
        json!({"action": "resolve", "note": "楼组长组织清理"}),
    )
    .await;
    step_ok(&app, &admin, ids[2], json!({"action": "close"})).await;
    step_ok(&app, &jumin, ids[2], json!({"action": "rate", "rating": 4})).await;
    let fire = category_id(&app, "fire_hazard").await;
    step_ok(
        &app,
        &admin,
        ids[3],
        json!({"action": "recategorise", "note": "堵了消防通道，需要消防站处理", "category_id": fire}),
    )
    .await;

    let (s, f) = app.get_json(&admin, "/api/v1/cases/figures").await;
    assert_eq!(s, 200, "{f}");
    let (governed, routing) = app
        .db
        .read(|c| {
            let g = c.query_one(
                "SELECT COUNT(*), \
                 SUM(CASE WHEN state NOT IN ('closed', 'rated', 'merged', 'rejected') THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN state IN ('closed', 'rated') AND resolved_at IS NOT NULL THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN rating IS NOT NULL THEN 1 ELSE 0 END) \
                 FROM cases WHERE self_governed = 1",
                &[],
            )?;
            let r = c.query(
                "SELECT k.code, COUNT(*), SUM(CASE WHEN x.returns > 0 THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN x.dispatches > 1 THEN 1 ELSE 0 END) FROM \
                 (SELECT e.case_id, SUM(CASE WHEN e.action = 'dispatch' THEN 1 ELSE 0 END) AS dispatches, \
                  SUM(CASE WHEN e.action = 'return' THEN 1 ELSE 0 END) AS returns \
                  FROM case_events e GROUP BY e.case_id) x \
                 JOIN cases c ON c.id = x.case_id JOIN case_categories k ON k.id = c.category_id \
                 WHERE x.dispatches > 0 GROUP BY k.code ORDER BY k.code",
                &[],
            )?;
            Ok((
                [g.i64(0), g.opt_i64(1).unwrap_or(0), g.opt_i64(2).unwrap_or(0), g.opt_i64(3).unwrap_or(0)],
                r.iter()
                    .map(|r| (r.str(0), r.i64(1), r.i64(2), r.i64(3)))
                    .collect::<Vec<_>>(),
            ))
        })
        .await
        .unwrap();
    let g = &f["self_governed"];
    assert_eq!(
        [&g["handled"], &g["open"], &g["resolved"], &g["rated"]].map(|x| x.as_i64().unwrap()),
        governed,
        "{f}"
    );
    assert!(governed[0] >= 1 && governed[2] >= 1, "{governed:?}");
    let mut kept: Vec<(String, i64, i64, i64)> = f["routing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["category"].as_str().unwrap().to_string(),
                r["dispatched"].as_i64().unwrap(),
                r["returned"].as_i64().unwrap(),
                r["rerouted"].as_i64().unwrap(),
            )
        })
        .collect();
    kept.sort();
    assert_eq!(kept, routing, "{f}");
    assert!(routing.iter().any(|r| r.2 > 0 && r.3 > 0), "{routing:?}");
}
