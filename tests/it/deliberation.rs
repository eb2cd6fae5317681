//! Deliberation (issue 22 part 3): proposals by verified residents within their building,
//! estate or community; supports (one per person, also under concurrent requests) and the
//! threshold; comments with moderation, reports and a rate limit; bodies, meetings and
//! decisions moving a proposal along its public timeline; who gets 403 or 404; the demo.

use serde_json::{Value, json};

use crate::support::{self, PASSWORD, TestApp};

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
    lang: &str,
) -> (u16, Value) {
    let mut r = app
        .client()
        .request(method, app.url(path))
        .header("accept-language", lang)
        .bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    send(app, reqwest::Method::POST, token, path, Some(body), "zh-CN").await
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    send(app, reqwest::Method::GET, token, path, None, "zh-CN").await
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// jumin's person, unit and building.
async fn jumin(app: &TestApp) -> (i64, i64, i64) {
    let r = app
        .db
        .read(|c| {
            c.query_one(
                "SELECT p.id, p.unit_id, u.parent_id FROM users a JOIN persons p ON p.id = a.person_id \
                 JOIN places u ON u.id = p.unit_id WHERE a.username = 'jumin'",
                &[],
            )
        })
        .await
        .unwrap();
    (r.i64(0), r.i64(1), r.i64(2))
}

/// Opens resident accounts for persons living in (`same = true`) or outside jumin's
/// building but in the street; returns their tokens.
async fn residents(app: &TestApp, same: bool, n: usize, prefix: &str) -> Vec<String> {
    let (me, _, building) = jumin(app).await;
    let rows = app
        .db
        .read(move |c| {
            c.query(
                &format!(
                    "SELECT p.id, p.unit_id, p.street_id, p.name FROM persons p JOIN places u ON u.id = p.unit_id \
                     WHERE p.residence <> 'left' AND p.id <> $1 AND u.parent_id {} $2 \
                     AND p.id NOT IN (SELECT person_id FROM users WHERE person_id IS NOT NULL) ORDER BY p.id LIMIT 40",
                    if same { "=" } else { "<>" }
                ),
                linli::params![me, building],
            )
        })
        .await
        .unwrap();
    assert!(rows.len() >= n, "enough residents for the test");
    let hash = linli::org::users::hash_password(PASSWORD);
    let mut out = Vec::new();
    for (i, r) in rows.into_iter().take(n).enumerate() {
        let name = format!("{prefix}{i}");
        let (hash, uname) = (hash.clone(), name.clone());
        app.db
            .write(move |c| {
                let username = linli::org::users::Username::parse(&uname).unwrap();
                let id = linli::org::users::create(
                    c,
                    linli::org::users::NewUser {
                        username: &username,
                        display_name: &r.str(3),
                        password_hash: &hash,
                        street_id: Some(r.i64(2)),
                        person_id: Some(r.i64(0)),
                        created_by: None,
                    },
                )?;
                linli::org::users::add_grant(
                    c,
                    id,
                    linli::org::Role::Resident,
                    Some(r.i64(1)),
                    None,
                    Some(r.i64(2)),
                    None,
                )?;
                Ok(())
            })
            .await
            .unwrap();
        out.push(app.token(&name).await);
    }
    out
}

async fn propose(app: &TestApp, token: &str, scope: &str, title: &str) -> Value {
    let (s, v) = post(
        app,
        token,
        "/api/v1/proposals",
        json!({"scope": scope, "title": title, "body": "见 https://example.org/a 的说明。\n第二行。"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    v
}

async fn community_of_jumin(app: &TestApp) -> i64 {
    let (_, unit, _) = jumin(app).await;
    app.db
        .read(move |c| {
            let path = c
                .query_one(
                    "SELECT path FROM places WHERE id = $1",
                    linli::params![unit],
                )?
                .str(0);
            let rows = c.query("SELECT id, path FROM places WHERE kind = 'community'", &[])?;
            Ok(rows
                .iter()
                .find(|r| path.starts_with(&format!("{}/", r.str(1))))
                .map(|r| r.i64(0))
                .unwrap())
        })
        .await
        .unwrap()
}

fn kinds(v: &Value) -> Vec<String> {
    v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_proposal_lives_from_proposed_to_done_on_its_timeline() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let shegong = app.token("shegong").await;
    let me = app.token("jumin").await;
    // The street sets its building threshold to 3.
    let (s, _) = send(
        &app,
        reqwest::Method::PUT,
        &admin,
        "/api/v1/proposals/thresholds",
        Some(json!({"scope_kind": "building", "supports": 3})),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 204);
    let (s, t) = get(&app, &shegong, "/api/v1/proposals/thresholds").await;
    assert_eq!(s, 200);
    assert!(
        t.as_array()
            .unwrap()
            .iter()
            .any(|x| x["scope_kind"] == "building" && x["supports"] == 3)
    );
    assert!(
        t.as_array()
            .unwrap()
            .iter()
            .any(|x| x["scope_kind"] == "community" && x["supports"] == 30)
    );

    let p = propose(&app, &me, "building", "单元门禁常坏，建议更换").await;
    let id = p["id"].as_i64().unwrap();
    assert_eq!(p["state"], "proposed");
    assert_eq!(p["supports"], 1, "the author supports her own proposal");
    assert_eq!(p["threshold"], 3);
    let author = p["author"].as_str().unwrap();
    assert!(
        author.ends_with("**") && author.contains(' '),
        "masked: {author}"
    );

    let neighbours = residents(&app, true, 3, "nb").await;
    let (s, v) = post(
        &app,
        &neighbours[0],
        &format!("/api/v1/proposals/{id}/support"),
        json!({}),
    )
    .await;
    assert_eq!((s, v["state"].as_str()), (200, Some("proposed")));
    let (s, v) = post(
        &app,
        &neighbours[1],
        &format!("/api/v1/proposals/{id}/support"),
        json!({}),
    )
    .await;
    assert_eq!(
        (s, v["state"].as_str(), v["supports"].as_i64()),
        (200, Some("supported"), Some(3))
    );
    // It waits on the workers' queue of supported proposals.
    let (s, q) = get(&app, &shegong, "/api/v1/proposals?state=supported").await;
    assert_eq!(s, 200);
    assert!(q["worker"].as_bool().unwrap());
    assert!(
        q["proposals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id)
    );

    // The residents' council of the community meets and decides.
    let community = community_of_jumin(&app).await;
    let (s, body) = post(
        &app,
        &shegong,
        "/api/v1/bodies",
        json!({"kind": "council", "name": "测试议事会", "place_id": community}),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let body_id = body["id"].as_i64().unwrap();
    let (s, member) = post(&app, &shegong, &format!("/api/v1/bodies/{body_id}/members"),
        json!({"name": "王秀兰", "duty": "议事长", "term_start": "2026-01-01", "term_end": "2028-12-31"})).await;
    assert_eq!(s, 201, "{member}");
    let (s, v) = post(
        &app,
        &shegong,
        &format!("/api/v1/bodies/{body_id}/members"),
        json!({"name": "李四", "term_start": "2026-01-01", "term_end": "2025-12-31"}),
    )
    .await;
    assert_eq!(s, 422, "a term ending before it starts: {v}");
    let (s, m) = post(&app, &shegong, "/api/v1/meetings",
        json!({"body_id": body_id, "title": "十二月议事会", "starts_at": "2026-12-10 19:00", "location": "社区会议室"})).await;
    assert_eq!(s, 201, "{m}");
    let mid = m["id"].as_i64().unwrap();
    let (s, mv) = get(&app, &shegong, &format!("/api/v1/meetings/{mid}")).await;
    assert_eq!(s, 200);
    assert!(
        mv["queue"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id),
        "the queue offers it"
    );
    let (s, _) = post(
        &app,
        &shegong,
        &format!("/api/v1/meetings/{mid}/agenda"),
        json!({"proposal_id": id}),
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = post(
        &app,
        &shegong,
        &format!("/api/v1/meetings/{mid}/agenda"),
        json!({"proposal_id": id}),
    )
    .await;
    assert_eq!(s, 409, "on an agenda already");
    let (s, _) = send(
        &app,
        reqwest::Method::PUT,
        &shegong,
        &format!("/api/v1/meetings/{mid}/attendance"),
        Some(json!({"member_id": member["id"], "mode": "online"})),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = send(
        &app,
        reqwest::Method::PUT,
        &shegong,
        &format!("/api/v1/meetings/{mid}/minutes"),
        Some(json!({"minutes": "同意更换门禁。"})),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 204);
    let (s, d) = post(&app, &shegong, &format!("/api/v1/meetings/{mid}/decisions"),
        json!({"proposal_id": id, "text": "由物业更换单元门禁", "responsible_name": "物业服务中心", "due_date": "2027-01-31"})).await;
    assert_eq!(s, 201, "{d}");
    let did = d["id"].as_i64().unwrap();
    let (_, v) = get(&app, &me, &format!("/api/v1/proposals/{id}")).await;
    assert_eq!(v["proposal"]["state"], "decided");
    let (s, _) = post(
        &app,
        &shegong,
        &format!("/api/v1/decisions/{did}/progress"),
        json!({"note": "已订购设备"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, d) = post(
        &app,
        &shegong,
        &format!("/api/v1/decisions/{did}/progress"),
        json!({"note": "已安装完毕", "done": true}),
    )
    .await;
    assert_eq!((s, d["state"].as_str()), (200, Some("done")));
    let (s, v) = post(
        &app,
        &shegong,
        &format!("/api/v1/decisions/{did}/progress"),
        json!({"note": "again"}),
    )
    .await;
    assert_eq!(s, 409, "a done decision takes no more progress: {v}");

    let (s, v) = get(&app, &me, &format!("/api/v1/proposals/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(v["proposal"]["state"], "done");
    assert_eq!(
        kinds(&v),
        [
            "proposed",
            "supported",
            "on_agenda",
            "decided",
            "progress",
            "progress",
            "done"
        ]
    );
    assert_eq!(v["decisions"][0]["decision"]["responsible"], "物业服务中心");
    assert_eq!(v["decisions"][0]["progress"].as_array().unwrap().len(), 2);
    let (s, mv) = get(&app, &shegong, &format!("/api/v1/meetings/{mid}")).await;
    assert_eq!(s, 200);
    assert_eq!(mv["attendance"][0]["mode"], "online");
    assert_eq!(mv["meeting"]["minutes"], "同意更换门禁。");

    // The page shows the timeline to the resident, with the body's link as a link.
    let (b, _) = app.login_page("jumin", PASSWORD).await;
    let html = app.page(&b, &format!("/proposals/{id}")).await;
    assert!(html.contains("id=\"timeline\""));
    assert!(html.contains("已办结"));
    assert!(html.contains("<a href=\"https://example.org/a\""));
    let html = app.page(&b, "/proposals").await;
    assert!(html.contains(&format!("id=\"proposal-{id}\"")));
    assert!(html.contains("id=\"propose-form\""));
    let (w, _) = app.login_page("shegong", PASSWORD).await;
    let html = app.page(&w, &format!("/meetings/{mid}")).await;
    assert!(html.contains("由物业更换单元门禁") && html.contains("同意更换门禁。"));
    let html = app.page(&w, "/meetings").await;
    assert!(html.contains("测试议事会"));
    app.stop().await;
}

#[tokio::test]
async fn one_support_per_person_also_under_concurrency() {
    let app = support::spawn().await;
    let me = app.token("jumin").await;
    let p = propose(&app, &me, "community", "增设休息座椅").await;
    let id = p["id"].as_i64().unwrap();
    assert_eq!(p["threshold"], 30, "the community's default");
    // The author supports it already.
    let (s, v) = post(
        &app,
        &me,
        &format!("/api/v1/proposals/{id}/support"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409);
    assert!(message(&v).contains("只能附议一次"), "{v}");
    let (_, v) = send(
        &app,
        reqwest::Method::POST,
        &me,
        &format!("/api/v1/proposals/{id}/support"),
        None,
        "en",
    )
    .await;
    assert!(message(&v).contains("one support per person"), "{v}");

    let t = residents(&app, true, 1, "cc").await.remove(0);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (c, url, t) = (
            app.client(),
            app.url(&format!("/api/v1/proposals/{id}/support")),
            t.clone(),
        );
        tasks.push(tokio::spawn(async move {
            c.post(url)
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    codes.sort_unstable();
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| *c == 200 || *c == 409), "{codes:?}");
    let (_, v) = get(&app, &me, &format!("/api/v1/proposals/{id}")).await;
    assert_eq!(v["proposal"]["supports"], 2);
    let n = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM proposal_supports WHERE proposal_id = $1",
                linli::params![id],
            )
        })
        .await
        .unwrap();
    assert_eq!(n, 2);
    app.stop().await;
}

#[tokio::test]
async fn outsiders_get_404_and_other_roles_403() {
    let app = support::spawn().await;
    let me = app.token("jumin").await;
    let p = propose(&app, &me, "building", "楼顶防水").await;
    let id = p["id"].as_i64().unwrap();
    let outsider = residents(&app, false, 1, "out").await.remove(0);
    for path in [format!("/api/v1/proposals/{id}")] {
        let (s, _) = get(&app, &outsider, &path).await;
        assert_eq!(s, 404, "a resident of another building");
    }
    let (s, _) = post(
        &app,
        &outsider,
        &format!("/api/v1/proposals/{id}/support"),
        json!({}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = post(
        &app,
        &outsider,
        &format!("/api/v1/proposals/{id}/comments"),
        json!({"body": "路过"}),
    )
    .await;
    assert_eq!(s, 404);
    let (_, list) = get(&app, &outsider, "/api/v1/proposals").await;
    assert!(
        !list["proposals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id)
    );
    let (b, _) = app.login_page("out0", PASSWORD).await;
    let r = b
        .get(app.url(&format!("/proposals/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Roles with no part in it.
    for who in ["wangge", "bumen", "wuye"] {
        let t = app.token(who).await;
        let (s, _) = get(&app, &t, &format!("/api/v1/proposals/{id}")).await;
        assert_eq!(s, 404, "{who} reads no proposal");
        let (s, _) = get(&app, &t, "/api/v1/bodies").await;
        assert_eq!(s, 403, "{who} has no bodies");
        let (s, _) = get(&app, &t, "/api/v1/proposals/reports").await;
        assert_eq!(s, 403, "{who} has no reports");
    }
    for who in ["bumen", "wuye"] {
        let t = app.token(who).await;
        let (s, v) = get(&app, &t, "/api/v1/proposals").await;
        assert_eq!(s, 403, "{who}: {v}");
        let (s, _) = post(
            &app,
            &t,
            "/api/v1/proposals",
            json!({"scope": "building", "title": "x", "body": "y"}),
        )
        .await;
        assert_eq!(s, 403);
    }
    // A resident runs no meeting and rejects nothing.
    let (s, _) = get(&app, &me, "/api/v1/bodies").await;
    assert_eq!(s, 403);
    let (s, _) = get(&app, &me, "/api/v1/meetings/1").await;
    assert_eq!(s, 403);
    let (s, _) = post(
        &app,
        &me,
        &format!("/api/v1/proposals/{id}/reject"),
        json!({"reason": "不要"}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = send(
        &app,
        reqwest::Method::PUT,
        &me,
        "/api/v1/proposals/thresholds",
        Some(json!({"scope_kind": "building", "supports": 1})),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 403);
    // A community worker sets no street threshold but reads the proposal (audited).
    let shegong = app.token("shegong").await;
    let (s, _) = send(
        &app,
        reqwest::Method::PUT,
        &shegong,
        "/api/v1/proposals/thresholds",
        Some(json!({"scope_kind": "building", "supports": 1})),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = get(&app, &shegong, &format!("/api/v1/proposals/{id}")).await;
    assert_eq!(s, 200);
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "read", "{e}");
    let (person, _, _) = jumin(&app).await;
    assert!(
        e["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == &json!(format!("person:{person}"))),
        "{e}"
    );
    // Rejecting needs a reason; then it shows.
    let (s, v) = post(
        &app,
        &shegong,
        &format!("/api/v1/proposals/{id}/reject"),
        json!({"reason": " "}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = post(
        &app,
        &shegong,
        &format!("/api/v1/proposals/{id}/reject"),
        json!({"reason": "属于物业维修范围，已转物业"}),
    )
    .await;
    assert_eq!((s, v["state"].as_str()), (200, Some("rejected")));
    let (_, v) = get(&app, &me, &format!("/api/v1/proposals/{id}")).await;
    assert_eq!(v["proposal"]["reason"], "属于物业维修范围，已转物业");
    assert_eq!(kinds(&v), ["proposed", "rejected"]);
    app.stop().await;
}

#[tokio::test]
async fn comments_are_moderated_with_a_reason_and_reported() {
    let app = support::spawn().await;
    let me = app.token("jumin").await;
    let shegong = app.token("shegong").await;
    let p = propose(&app, &me, "building", "楼下停车乱").await;
    let id = p["id"].as_i64().unwrap();
    let nb = residents(&app, true, 1, "cm").await.remove(0);
    let (s, c) = post(
        &app,
        &nb,
        &format!("/api/v1/proposals/{id}/comments"),
        json!({"body": "同意！"}),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    let cid = c["id"].as_i64().unwrap();
    assert!(c["author"].as_str().unwrap().ends_with("**"));
    let (s, v) = post(
        &app,
        &nb,
        &format!("/api/v1/proposals/{id}/comments"),
        json!({"body": "<script>x</script>"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    // A resident reports it (once); the worker sees the report.
    let (s, _) = post(
        &app,
        &me,
        &format!("/api/v1/proposals/{id}/comments/{cid}/report"),
        json!({"reason": "人身攻击"}),
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = post(
        &app,
        &me,
        &format!("/api/v1/proposals/{id}/comments/{cid}/report"),
        json!({"reason": "再次"}),
    )
    .await;
    assert_eq!(s, 409);
    let (s, r) = get(&app, &shegong, "/api/v1/proposals/reports").await;
    assert_eq!(s, 200);
    assert!(
        r.as_array()
            .unwrap()
            .iter()
            .any(|x| x["comment_id"] == cid && x["reason"] == "人身攻击")
    );
    // A resident hides nothing; a worker needs a reason.
    let (s, v) = post(
        &app,
        &me,
        &format!("/api/v1/proposals/{id}/comments/{cid}/hide"),
        json!({"reason": "不喜欢"}),
    )
    .await;
    assert_eq!(s, 403);
    assert!(message(&v).contains("议事会成员"), "{v}");
    let (s, v) = post(
        &app,
        &shegong,
        &format!("/api/v1/proposals/{id}/comments/{cid}/hide"),
        json!({"reason": ""}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&v).contains("理由"), "{v}");
    let (s, v) = post(
        &app,
        &shegong,
        &format!("/api/v1/proposals/{id}/comments/{cid}/hide"),
        json!({"reason": "含有人身攻击"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "change");
    let (_, v) = get(&app, &me, &format!("/api/v1/proposals/{id}")).await;
    let m = v["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == cid)
        .unwrap()
        .clone();
    assert_eq!(m["hidden"], true);
    assert_eq!(m["body"], "");
    assert_eq!(m["hidden_by"], "陈静");
    assert_eq!(m["hidden_reason"], "含有人身攻击");
    let kept = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT body FROM proposal_comments WHERE id = $1",
                linli::params![cid],
            )
        })
        .await
        .unwrap()
        .str(0);
    assert_eq!(kept, "同意！", "the hidden text is kept");
    let (b, _) = app.login_page("jumin", PASSWORD).await;
    let html = app.page(&b, &format!("/proposals/{id}")).await;
    assert!(
        html.contains("此评论已被 陈静 隐藏，理由：含有人身攻击"),
        "shown as hidden by … for …"
    );
    let (_, r) = get(&app, &shegong, "/api/v1/proposals/reports").await;
    assert!(
        !r.as_array().unwrap().iter().any(|x| x["comment_id"] == cid),
        "the report is handled"
    );

    // A council member with an account moderates too.
    let community = community_of_jumin(&app).await;
    let (_, body) = post(
        &app,
        &shegong,
        "/api/v1/bodies",
        json!({"kind": "council", "name": "议事会", "place_id": community}),
    )
    .await;
    let (s, _) = post(
        &app,
        &shegong,
        &format!("/api/v1/bodies/{}/members", body["id"]),
        json!({"name": "成员", "username": "cm0", "term_start": "2020-01-01"}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, c2) = post(
        &app,
        &me,
        &format!("/api/v1/proposals/{id}/comments"),
        json!({"body": "广告"}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, v) = post(
        &app,
        &nb,
        &format!("/api/v1/proposals/{id}/comments/{}/hide", c2["id"]),
        json!({"reason": "广告"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        v["hidden_by"].as_str().unwrap().starts_with("议事会 "),
        "{v}"
    );
    app.stop().await;
}

#[tokio::test]
async fn comments_are_limited_per_account() {
    let app = support::spawn().await;
    let me = app.token("jumin").await;
    let p = propose(&app, &me, "building", "快递柜").await;
    let id = p["id"].as_i64().unwrap();
    for i in 0..10 {
        let (s, _) = post(
            &app,
            &me,
            &format!("/api/v1/proposals/{id}/comments"),
            json!({"body": format!("第{i}条")}),
        )
        .await;
        assert_eq!(s, 201);
    }
    let (s, v) = post(
        &app,
        &me,
        &format!("/api/v1/proposals/{id}/comments"),
        json!({"body": "第11条"}),
    )
    .await;
    assert_eq!(s, 429);
    assert!(message(&v).contains("10 分钟内最多 10 条"), "{v}");
    let (_, v) = send(
        &app,
        reqwest::Method::POST,
        &me,
        &format!("/api/v1/proposals/{id}/comments"),
        Some(json!({"body": "again"})),
        "en",
    )
    .await;
    assert!(message(&v).contains("at most 10 in 10 minutes"), "{v}");
    // Counted in the database: older comments fall out of the window.
    app.exec(
        "UPDATE proposal_comments SET created_at = created_at - 700000",
        &[],
    )
    .await;
    let (s, _) = post(
        &app,
        &me,
        &format!("/api/v1/proposals/{id}/comments"),
        json!({"body": "later"}),
    )
    .await;
    assert_eq!(s, 201);
    app.stop().await;
}

#[tokio::test]
async fn refusals_say_why_in_both_languages() {
    let app = support::spawn().await;
    let me = app.token("jumin").await;
    let shegong = app.token("shegong").await;
    let (s, v) = post(
        &app,
        &shegong,
        "/api/v1/proposals",
        json!({"scope": "building", "title": "x", "body": "y"}),
    )
    .await;
    assert_eq!(s, 403);
    assert!(message(&v).contains("已核实身份"), "{v}");
    let (s, v) = post(
        &app,
        &me,
        "/api/v1/proposals",
        json!({"scope": "building", "title": "  ", "body": "y"}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&v).contains("标题"), "{v}");
    let (_, v) = send(
        &app,
        reqwest::Method::POST,
        &me,
        "/api/v1/proposals",
        Some(json!({"scope": "building", "title": "", "body": "y"})),
        "en",
    )
    .await;
    assert!(message(&v).contains("title"), "{v}");
    let (s, v) = post(
        &app,
        &me,
        "/api/v1/proposals",
        json!({"scope": "building", "title": "t", "body": "<b>hi</b>"}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&v).contains("HTML"), "{v}");
    let (s, _) = post(
        &app,
        &me,
        "/api/v1/proposals",
        json!({"scope": "street", "title": "t", "body": "b"}),
    )
    .await;
    assert_eq!(s, 422);
    // The propose form shows the refusal on the page.
    let (b, _) = app.login_page("jumin", PASSWORD).await;
    let page = app.page(&b, "/proposals").await;
    let csrf = support::extract_input(&page, "csrf").unwrap();
    let r = b
        .post(app.url("/proposals"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("scope", "building"),
            ("title", ""),
            ("body", "内容"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("请填写标题"));
    let r = b
        .post(app.url("/proposals"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("scope", "building"),
            ("title", "电梯维修"),
            ("body", "三号电梯经常停"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let page = app.page(&b, &to).await;
    assert!(page.contains("电梯维修") && page.contains("id=\"withdraw-button\""));
    app.stop().await;
}

#[tokio::test]
async fn the_demo_street_has_proposals_a_council_and_a_past_meeting() {
    let app = support::spawn().await;
    let me = app.token("jumin").await;
    let (s, v) = get(&app, &me, "/api/v1/proposals").await;
    assert_eq!(s, 200);
    let states: Vec<&str> = v["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["state"].as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"supported") && states.contains(&"decided"),
        "{states:?}"
    );
    let scopes: Vec<&str> = v["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert!(
        scopes.contains(&"building") && scopes.contains(&"community"),
        "{scopes:?}"
    );
    let decided = v["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["state"] == "decided")
        .unwrap();
    let (_, d) = get(&app, &me, &format!("/api/v1/proposals/{}", decided["id"])).await;
    assert_eq!(d["decisions"][0]["decision"]["state"], "open");
    assert!(kinds(&d).contains(&"progress".to_string()));
    // Her neighbour's proposal in her building waits for her support.
    let building = v["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["scope_kind"] == "building")
        .unwrap();
    let (_, a) = get(&app, &me, &format!("/api/v1/proposals/{}", building["id"])).await;
    assert_eq!(a["can_support"], true, "{a}");
    assert!(a["proposal"]["supports"].as_i64().unwrap() >= 5);
    let shegong = app.token("shegong").await;
    let (s, b) = get(&app, &shegong, "/api/v1/bodies").await;
    assert_eq!(s, 200);
    let council = b
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["body"]["kind"] == "council")
        .unwrap();
    assert_eq!(council["members"].as_array().unwrap().len(), 5);
    assert_eq!(council["meetings"].as_array().unwrap().len(), 1);
    app.stop().await;
}

fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(64, 48, image::Rgb([40, 120, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

async fn upload(app: &TestApp, token: &str, id: i64, bytes: Vec<u8>) -> (u16, Value) {
    let form = reqwest::multipart::Form::new().part(
        "photo",
        reqwest::multipart::Part::bytes(bytes).file_name("p.jpg"),
    );
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/proposals/{id}/photos")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_proposal_carries_up_to_three_photos_checked_by_content() {
    let app = support::spawn().await;
    let me = app.token("jumin").await;
    let p = propose(&app, &me, "building", "垃圾房异味").await;
    let id = p["id"].as_i64().unwrap();
    let (s, v) = upload(&app, &me, id, b"<html>not a photo</html>".to_vec()).await;
    assert_eq!(s, 422, "{v}");
    for _ in 0..3 {
        let (s, v) = upload(&app, &me, id, jpeg()).await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["content_type"], "image/jpeg");
    }
    let (s, v) = upload(&app, &me, id, jpeg()).await;
    assert_eq!(s, 422);
    assert!(message(&v).contains("3"), "{v}");
    let nb = residents(&app, true, 1, "ph").await.remove(0);
    let (s, _) = upload(&app, &nb, id, jpeg()).await;
    assert_eq!(s, 403, "only the author adds photos");
    let (_, v) = get(&app, &nb, &format!("/api/v1/proposals/{id}")).await;
    let photos = v["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 3);
    let pid = photos[0]["id"].as_i64().unwrap();
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/proposals/{id}/photos/{pid}?thumb=1")))
        .bearer_auth(&nb)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let outsider = residents(&app, false, 1, "po").await.remove(0);
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/proposals/{id}/photos/{pid}")))
        .bearer_auth(&outsider)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}

/// Opens a resident account for a person living in `building`; her token.
async fn resident_of(app: &TestApp, building: i64, name: &str) -> String {
    let rows = app
        .db
        .read(move |c| {
            c.query(
                "SELECT p.id, p.unit_id, p.street_id, p.name FROM persons p JOIN places u ON u.id = p.unit_id \
                 WHERE p.residence <> 'left' AND u.parent_id = $1 \
                 AND p.id NOT IN (SELECT person_id FROM users WHERE person_id IS NOT NULL) ORDER BY p.id LIMIT 1",
                linli::params![building],
            )
        })
        .await
        .unwrap();
    let r = rows.into_iter().next().expect("a resident in the building");
    let hash = linli::org::users::hash_password(PASSWORD);
    let uname = name.to_string();
    app.db
        .write(move |c| {
            let username = linli::org::users::Username::parse(&uname).unwrap();
            let id = linli::org::users::create(
                c,
                linli::org::users::NewUser {
                    username: &username,
                    display_name: &r.str(3),
                    password_hash: &hash,
                    street_id: Some(r.i64(2)),
                    person_id: Some(r.i64(0)),
                    created_by: None,
                },
            )?;
            linli::org::users::add_grant(
                c,
                id,
                linli::org::Role::Resident,
                Some(r.i64(1)),
                None,
                Some(r.i64(2)),
                None,
            )?;
            Ok(())
        })
        .await
        .unwrap();
    app.token(name).await
}

#[tokio::test]
async fn an_estate_proposal_reaches_the_estate_and_no_further() {
    let app = support::spawn().await;
    let (_, _, building) = jumin(&app).await;
    // Two other buildings of her community: one of her estate, one of another.
    let others = app
        .db
        .read(move |c| {
            let path = c
                .query_one("SELECT path FROM places WHERE id = $1", linli::params![building])?
                .str(0);
            let community: String = path.rsplitn(3, '/').nth(2).unwrap().to_string();
            let rows = c.query(
                "SELECT b.id FROM places b WHERE b.kind = 'building' AND b.id <> $1 AND b.path LIKE $2 \
                 AND EXISTS (SELECT 1 FROM places u JOIN persons p ON p.unit_id = u.id WHERE u.parent_id = b.id) \
                 ORDER BY b.id LIMIT 2",
                linli::params![building, format!("{community}/%")],
            )?;
            Ok(rows.iter().map(|r| r.i64(0)).collect::<Vec<i64>>())
        })
        .await
        .unwrap();
    assert_eq!(
        others.len(),
        2,
        "two more buildings with residents in her community"
    );
    let (same, other) = (others[0], others[1]);
    app.db
        .write(move |c| {
            c.exec(
                "UPDATE places SET estate = '翠竹苑' WHERE id = $1 OR id = $2",
                linli::params![building, same],
            )?;
            c.exec(
                "UPDATE places SET estate = '银杏苑' WHERE id = $1",
                linli::params![other],
            )
        })
        .await
        .unwrap();
    let me = app.token("jumin").await;
    let (_, list) = get(&app, &me, "/api/v1/proposals").await;
    assert!(
        list["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "estate" && s["name"] == "翠竹苑"),
        "{list}"
    );
    let p = propose(&app, &me, "estate", "小区绿化补种").await;
    let id = p["id"].as_i64().unwrap();
    assert_eq!(
        (p["scope_name"].as_str(), p["threshold"].as_i64()),
        (Some("翠竹苑"), Some(20))
    );
    let neighbour = resident_of(&app, same, "estate1").await;
    let (s, v) = get(&app, &neighbour, &format!("/api/v1/proposals/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(v["can_support"], true);
    let (s, _) = post(
        &app,
        &neighbour,
        &format!("/api/v1/proposals/{id}/support"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200);
    let stranger = resident_of(&app, other, "estate2").await;
    let (s, _) = get(&app, &stranger, &format!("/api/v1/proposals/{id}")).await;
    assert_eq!(s, 404, "a resident of another estate of the same community");
    let (s, _) = post(
        &app,
        &stranger,
        &format!("/api/v1/proposals/{id}/support"),
        json!({}),
    )
    .await;
    assert_eq!(s, 404);
    app.stop().await;
}

#[tokio::test]
async fn pages_refuse_other_roles() {
    let app = support::spawn().await;
    let (b, _) = app.login_page("jumin", PASSWORD).await;
    for path in ["/meetings", "/meetings/1", "/proposals/reports"] {
        let r = b.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 403, "a resident on {path}");
    }
    let home = app.page(&b, "/").await;
    assert!(
        home.contains("id=\"home-proposals-link\""),
        "her home page's card"
    );
    let (w, _) = app.login_page("bumen", PASSWORD).await;
    for path in ["/proposals", "/meetings"] {
        let r = w.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 403, "a department's handler on {path}");
    }
    let home = app.page(&w, "/").await;
    assert!(!home.contains("id=\"nav-proposals\""));
    let (s, _) = app.login_page("shegong", PASSWORD).await;
    let html = app.page(&s, "/proposals").await;
    assert!(html.contains("id=\"nav-proposals\"") && html.contains("id=\"state-tabs\""));
    let html = app.page(&s, "/meetings").await;
    assert!(html.contains("id=\"new-body\""));
    // A form without its token is refused.
    let r = b
        .post(app.url("/proposals"))
        .form(&[("scope", "building"), ("title", "t"), ("body", "b")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    app.stop().await;
}
