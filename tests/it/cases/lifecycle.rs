//! The lifecycle: the table of actions, states and roles, a case from report to rating, and
//! the refusals (403 for the role, 409 for the state, the verifier not the handler).

use linli::cases::lifecycle::{self, Action, Actor, Refusal, State};

use super::*;

/// The rules as the issue states them, written out independently of `RULES`:
/// "action: from-states: roles".
const SPEC: &[&str] = &[
    "accept: new: dispatcher",
    "reject: new accepted returned: dispatcher",
    "merge: new accepted returned: dispatcher",
    "dispatch: accepted returned: dispatcher",
    "sign_for: dispatched: handler",
    "return: dispatched signed_for: handler",
    "start: signed_for: handler",
    "request_extension: signed_for in_progress: handler",
    "grant_extension: signed_for in_progress: dispatcher",
    "refuse_extension: signed_for in_progress: dispatcher",
    "hold: accepted dispatched signed_for in_progress returned: dispatcher",
    "resume: on_hold: dispatcher",
    "resolve: in_progress: handler",
    "verify: resolved: verifier",
    "fail_verification: resolved: verifier",
    "close: verified resolved: dispatcher",
    "rate: closed: reporter dispatcher",
    "reopen: closed rated: reporter dispatcher",
    "recategorise: new accepted dispatched signed_for in_progress returned: dispatcher",
];

#[test]
fn the_lifecycle_table_is_exactly_the_rules_every_action_state_and_role() {
    let mut checked = 0;
    for line in SPEC {
        let parts: Vec<&str> = line.split(':').map(str::trim).collect();
        let action = Action::parse(parts[0]).unwrap();
        let from: Vec<State> = parts[1]
            .split(' ')
            .map(|s| State::parse(s).unwrap())
            .collect();
        let roles: Vec<&str> = parts[2].split(' ').collect();
        for state in State::ALL {
            for actor in Actor::ALL {
                let got = lifecycle::check(action, state, &[actor]);
                let role_ok = roles.contains(&actor.as_str());
                let expected = if !role_ok {
                    Err(Refusal::Role)
                } else if !from.contains(&state) {
                    Err(Refusal::State)
                } else {
                    Ok(())
                };
                assert_eq!(
                    got.map(|_| ()),
                    expected,
                    "{} from {} by {}",
                    action.as_str(),
                    state.as_str(),
                    actor.as_str()
                );
                checked += 1;
            }
            // Without any role towards the case, nothing is allowed.
            assert_eq!(
                lifecycle::check(action, state, &[]).err(),
                Some(Refusal::Role)
            );
        }
    }
    assert_eq!(SPEC.len(), Action::ALL.len());
    assert_eq!(
        checked,
        Action::ALL.len() * State::ALL.len() * Actor::ALL.len()
    );
}

#[tokio::test]
async fn a_case_from_report_to_rating_with_every_step_recorded() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let admin = app.token("admin").await;
    let wuye = app.token("wuye").await;
    let wangge = app.token("wangge").await;
    let wuye_org = org_of(&app, "wuye").await;
    let b = buildings(&app).await;
    let v = report(
        &app,
        &jumin,
        json!({"category": "facility_repair", "description": "单元门口的路灯坏了", "place_id": b[0],
               "extra": {"facility": "路灯"}}),
    )
    .await;
    let id = v["case"]["id"].as_i64().unwrap();
    assert_eq!(v["case"]["state"], "new");
    assert_eq!(v["case"]["channel"], "resident");
    assert_eq!(v["case"]["clock"], "accept");
    assert!(v["case"]["due_at"].as_i64().unwrap() > v["case"]["created_at"].as_i64().unwrap());

    let d = step_ok(&app, &admin, id, json!({"action": "accept"})).await;
    assert_eq!(d["case"]["state"], "accepted");
    assert_eq!(d["case"]["clock"], "resolve");
    // The dispatcher sees the routing suggestion and may override it.
    assert!(d["case"]["suggested_org_id"].is_i64());
    assert!(
        d["actions"]
            .as_array()
            .unwrap()
            .contains(&json!("dispatch"))
    );
    let d = step_ok(
        &app,
        &admin,
        id,
        json!({"action": "dispatch", "org_id": wuye_org}),
    )
    .await;
    assert_eq!(d["case"]["handler_org_id"], wuye_org);
    step_ok(&app, &wuye, id, json!({"action": "sign_for"})).await;
    let d = step_ok(&app, &wuye, id, json!({"action": "start"})).await;
    // Only the steps the case allows now are offered: no extension to decide before one is
    // asked for, and no second request while one waits.
    let offered = |d: &Value, a: &str| d["actions"].as_array().unwrap().contains(&json!(a));
    assert!(offered(&d, "request_extension") && offered(&d, "resolve"));
    let path = format!("/api/v1/cases/{id}");
    let (_, d) = app.get_json(&admin, &path).await;
    assert!(
        !offered(&d, "grant_extension") && !offered(&d, "refuse_extension"),
        "{}",
        d["actions"]
    );
    assert!(offered(&d, "hold"), "{}", d["actions"]);
    let due_before = step_ok(
        &app,
        &wuye,
        id,
        json!({"action": "request_extension", "hours": 8, "note": "灯具需要订货"}),
    )
    .await["case"]["due_at"]
        .as_i64()
        .unwrap();
    let (s, _) = step(
        &app,
        &wuye,
        id,
        json!({"action": "request_extension", "hours": 8, "note": "再申请"}),
    )
    .await;
    assert_eq!(s, 409, "one request at a time");
    let (_, d) = app.get_json(&wuye, &path).await;
    assert!(!offered(&d, "request_extension"));
    let (_, d) = app.get_json(&admin, &path).await;
    assert!(offered(&d, "grant_extension") && offered(&d, "refuse_extension"));
    let d = step_ok(&app, &admin, id, json!({"action": "grant_extension"})).await;
    assert!(d["case"]["due_at"].as_i64().unwrap() > due_before);
    assert!(d["case"].get("extension_hours").is_none());
    let (s, _) = step(&app, &wuye, id, json!({"action": "resolve"})).await;
    assert_eq!(s, 422, "resolving needs a note");
    step_ok(
        &app,
        &wuye,
        id,
        json!({"action": "resolve", "note": "已更换灯具"}),
    )
    .await;
    // The category needs on-site verification before it can be closed.
    let (s, v) = step(&app, &admin, id, json!({"action": "close"})).await;
    assert_eq!(s, 409, "{v}");
    step_ok(
        &app,
        &wangge,
        id,
        json!({"action": "verify", "note": "现场查看路灯已亮"}),
    )
    .await;
    step_ok(&app, &admin, id, json!({"action": "close"})).await;
    let (s, _) = step(&app, &jumin, id, json!({"action": "rate", "rating": 9})).await;
    assert_eq!(s, 422);
    let d = step_ok(
        &app,
        &jumin,
        id,
        json!({"action": "rate", "rating": 5, "note": "很快"}),
    )
    .await;
    assert_eq!(d["case"]["state"], "rated");
    assert_eq!(d["case"]["rating"], 5);
    let actions: Vec<&str> = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "report",
            "accept",
            "dispatch",
            "sign_for",
            "start",
            "request_extension",
            "grant_extension",
            "resolve",
            "verify",
            "close",
            "rate"
        ]
    );
    for e in d["timeline"].as_array().unwrap() {
        assert!(e["at"].as_i64().unwrap() > 0);
        assert!(!e["actor"].as_str().unwrap().is_empty(), "{e}");
    }
    // The reporter's inbox tells the story; the handler's has the dispatch.
    let (_, inbox) = app.get_json(&jumin, "/api/v1/inbox").await;
    let kinds: Vec<&str> = inbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["case_id"] == id)
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    for k in ["accepted", "resolved", "closed"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let (_, inbox) = app.get_json(&wuye, "/api/v1/inbox").await;
    let item = inbox
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["case_id"] == id && i["kind"] == "dispatched")
        .expect("dispatch notice")
        .clone();
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/inbox/{}/read", item["id"])))
        .bearer_auth(&wuye)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/inbox/{}/read", item["id"])))
        .bearer_auth(&jumin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "not someone else's inbox");
    // Newest first by when it happened, and all of it marked read at once.
    let (_, inbox) = app.get_json(&admin, "/api/v1/inbox").await;
    let inbox = inbox.as_array().unwrap().clone();
    let times: Vec<i64> = inbox
        .iter()
        .map(|i| i["created_at"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    let unread = inbox.iter().filter(|i| i["read"] == false).count() as u64;
    assert!(unread > 0);
    let (browser, _) = app.login_page("admin", PASSWORD).await;
    let page = app.page(&browser, "/inbox").await;
    assert!(page.contains("id=\"read-all\"") && page.contains("全部标为已读"));
    let read_all = || {
        app.client()
            .post(app.url("/api/v1/inbox/read-all"))
            .bearer_auth(&admin)
            .send()
    };
    let v: Value = read_all().await.unwrap().json().await.unwrap();
    assert_eq!(v["marked"], unread);
    let v: Value = read_all().await.unwrap().json().await.unwrap();
    assert_eq!(v["marked"], 0);
    let (_, inbox) = app.get_json(&admin, "/api/v1/inbox").await;
    assert!(inbox.as_array().unwrap().iter().all(|i| i["read"] == true));
    let page = app.page(&browser, "/inbox").await;
    assert!(!page.contains("id=\"read-all\""));
    // The page's button: the wuye account's messages, through its form.
    let (browser, _) = app.login_page("wuye", PASSWORD).await;
    let page = app.page(&browser, "/inbox").await;
    assert!(page.contains("id=\"read-all\""), "wuye has unread messages");
    let csrf = extract_input(&page, "csrf").unwrap();
    let r = browser
        .post(app.url("/inbox/read-all"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, inbox) = app.get_json(&wuye, "/api/v1/inbox").await;
    assert!(inbox.as_array().unwrap().iter().all(|i| i["read"] == true));
    // The reporter may reopen when dissatisfied: back to the same handler.
    let d = step_ok(
        &app,
        &jumin,
        id,
        json!({"action": "reopen", "note": "又不亮了"}),
    )
    .await;
    assert_eq!(d["case"]["state"], "dispatched");
    assert_eq!(d["case"]["handler_org_id"], wuye_org);
}

#[tokio::test]
async fn refusals_say_why_with_403_for_the_role_and_409_for_the_state() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let admin = app.token("admin").await;
    let bumen = app.token("bumen").await;
    let wangge = app.token("wangge").await;
    let b = buildings(&app).await;
    let id = report(
        &app,
        &wangge,
        json!({"category": "illegal_parking", "description": "车辆堵门", "place_id": b[1]}),
    )
    .await["case"]["id"]
        .as_i64()
        .unwrap();
    // A resident who did not report it does not even see it.
    let (s, _) = step(&app, &jumin, id, json!({"action": "accept"})).await;
    assert_eq!(s, 404);
    // A grid worker sees it but may not accept it.
    let (s, v) = step(&app, &wangge, id, json!({"action": "accept"})).await;
    assert_eq!(s, 403);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("受理") && msg.contains("派单员"), "{msg}");
    let (s, v) = post_lang(
        &app,
        &wangge,
        &format!("/api/v1/cases/{id}/transitions"),
        json!({"action": "accept"}),
        "en",
    )
    .await;
    assert_eq!(s, 403);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("may not accept") && msg.contains("dispatchers"),
        "{msg}"
    );
    // The dispatcher may dispatch, but not before accepting.
    let (s, v) = step(&app, &admin, id, json!({"action": "dispatch"})).await;
    assert_eq!(s, 409);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("待受理") && msg.contains("已受理"), "{msg}");
    let (s, v) = post_lang(
        &app,
        &admin,
        &format!("/api/v1/cases/{id}/transitions"),
        json!({"action": "dispatch"}),
        "en",
    )
    .await;
    assert_eq!(s, 409);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("The case is new"),
        "{v}"
    );
    let (s, _) = step(&app, &admin, id, json!({"action": "fly"})).await;
    assert_eq!(s, 400, "unknown actions are malformed requests");
    step_ok(&app, &admin, id, json!({"action": "accept"})).await;
    // Without an org the routing suggestion is used: illegal parking goes to 城管 (bumen's).
    let d = step_ok(&app, &admin, id, json!({"action": "dispatch"})).await;
    assert_eq!(d["case"]["handler_org_id"], org_of(&app, "bumen").await);
    // The handler may sign for it; the dispatcher may not.
    let (s, _) = step(&app, &admin, id, json!({"action": "sign_for"})).await;
    assert_eq!(s, 403);
    step_ok(&app, &bumen, id, json!({"action": "sign_for"})).await;
    let (s, _) = step(&app, &bumen, id, json!({"action": "return"})).await;
    assert_eq!(s, 422, "a return needs a reason");
    let d = step_ok(
        &app,
        &bumen,
        id,
        json!({"action": "return", "note": "不属于本单位职责"}),
    )
    .await;
    assert_eq!(d["case"]["state"], "returned");
    // Once returned, the organisation can take no step until the dispatcher decides.
    assert_eq!(d["actions"], json!([]));
    let d = step_ok(
        &app,
        &admin,
        id,
        json!({"action": "dispatch", "org_id": org_of(&app, "wuye").await}),
    )
    .await;
    assert_eq!(d["case"]["state"], "dispatched");
    let (s, _) = app.get_json(&bumen, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(s, 404, "dispatched elsewhere, out of bumen's sight");
}

#[tokio::test]
async fn the_verifier_may_not_be_the_handler() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let wangge = app.token("wangge").await;
    let wangge_id = user_id(&app, "wangge").await;
    let b = buildings(&app).await;
    let id = report(
        &app,
        &admin,
        json!({"category": "elderly_care", "description": "独居老人家中无人应门", "place_id": b[0],
        "reporter_name": "邻居赵女士", "reporter_contact": "13912345678"}),
    )
    .await["case"]["id"]
        .as_i64()
        .unwrap();
    step_ok(&app, &admin, id, json!({"action": "accept"})).await;
    step_ok(
        &app,
        &admin,
        id,
        json!({"action": "dispatch", "user_id": wangge_id}),
    )
    .await;
    for a in ["sign_for", "start"] {
        step_ok(&app, &wangge, id, json!({"action": a})).await;
    }
    step_ok(
        &app,
        &wangge,
        id,
        json!({"action": "resolve", "note": "已上门，老人身体无恙"}),
    )
    .await;
    // Not offered to the one who did the work, though her role verifies in her grid.
    let (_, d) = app.get_json(&wangge, &format!("/api/v1/cases/{id}")).await;
    let actions = d["actions"].as_array().unwrap();
    assert!(d["roles"].as_array().unwrap().contains(&json!("verifier")));
    assert!(!actions.contains(&json!("verify")) && !actions.contains(&json!("fail_verification")));
    let (s, v) = step(&app, &wangge, id, json!({"action": "verify"})).await;
    assert_eq!(s, 403);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("巡办分离"),
        "{v}"
    );
    let (s, _) = step(
        &app,
        &wangge,
        id,
        json!({"action": "fail_verification", "note": "x"}),
    )
    .await;
    assert_eq!(s, 403);
    let d = step_ok(&app, &admin, id, json!({"action": "verify"})).await;
    assert_eq!(d["case"]["verifier_id"], user_id(&app, "admin").await);
    // The hotline caller's phone is shown to the workers masked (and that reading is
    // audited); in full only when revealed for a purpose.
    assert_eq!(d["case"]["reporter_contact"], "139****5678");
}
