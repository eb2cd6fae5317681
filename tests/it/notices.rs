//! Notices with receipts (issue 22, part 1): an audience of places, tags, households and
//! roles, its recipients frozen at publication; read and acknowledged kept apart; the unread
//! list per building with "told in person / on paper"; drafts, schedules, withdrawals;
//! attachments checked by content; the pages, the poster and the short link; and who may see
//! what (404 outside the audience, 403 for those who may not write).

use serde_json::{Value, json};

use crate::support::{self, TestApp, extract_input};

async fn send(
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

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    send(app, token, "POST", path, Some(body), "zh-CN").await
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    send(app, token, "GET", path, None, "zh-CN").await
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A place's id by its path.
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

/// The residents (not left) under a path, counted as the registry has them.
async fn residents_under(app: &TestApp, path: String) -> i64 {
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM persons WHERE residence <> 'left' AND (place_path = $1 OR place_path LIKE $2)",
                linli::params![path.clone(), format!("{path}/%")],
            )
        })
        .await
        .unwrap()
}

/// jumin's person and building.
async fn jumin(app: &TestApp) -> (i64, i64) {
    let r = app
        .db
        .read(|c| {
            c.query_one(
                "SELECT p.id, u.parent_id FROM users a JOIN persons p ON p.id = a.person_id \
                 JOIN places u ON u.id = p.unit_id WHERE a.username = 'jumin'",
                &[],
            )
        })
        .await
        .unwrap();
    (r.i64(0), r.i64(1))
}

fn notice(title: &str, places: &[i64]) -> Value {
    json!({
        "title": title,
        "body": "本周六 9:00-11:00 小区停水，请提前储水。详情见 https://example.org/water 。",
        "audience": {"places": places},
        "ack_wanted": true,
    })
}

#[tokio::test]
async fn a_notice_reaches_its_audience_once_frozen_read_and_acknowledged_apart() {
    let app = support::spawn().await;
    let wangge = app.token("wangge").await;
    let jumin_t = app.token("jumin").await;
    let grid_path = support::place_of(&app, "wangge").await;
    let grid = place_id(&app, grid_path.clone()).await;
    let expected = residents_under(&app, grid_path.clone()).await;
    assert!(expected > 10, "the demo grid has residents");

    let (s, n) = post(
        &app,
        &wangge,
        "/api/v1/notices",
        notice("停水通知", &[grid]),
    )
    .await;
    assert_eq!(s, 201, "{n}");
    let id = n["id"].as_i64().unwrap();
    assert_eq!(n["state"], "published");
    assert_eq!(n["kind"], "residents");
    assert_eq!(
        n["recipients"], expected,
        "every resident of the grid, once"
    );
    assert_eq!(n["read"], 0);
    assert!(
        n["audience_label"]
            .as_str()
            .unwrap()
            .contains(" / Places: ")
    );

    // The resident finds it unread in her feed; opening it records the reading once.
    let (s, feed) = get(&app, &jumin_t, "/api/v1/notices").await;
    assert_eq!(s, 200);
    let mine = feed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["notice"]["id"] == id)
        .expect("in her feed");
    assert!(mine["read_at"].is_null());
    let (s, o) = get(&app, &jumin_t, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(s, 200, "{o}");
    let read_at = o["read_at"].as_i64().expect("opened");
    assert!(o["ack_at"].is_null(), "read and acknowledged are apart");
    assert_eq!(o["manages"], false);
    assert!(o["buildings"].is_null(), "a resident sees no receipts");
    let (_, o2) = get(&app, &jumin_t, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(o2["read_at"], read_at, "the first opening stands");
    let (_, m) = get(&app, &wangge, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(m["manages"], true);
    assert_eq!(m["notice"]["read"], 1);
    assert_eq!(m["notice"]["reached"], 1);
    assert_eq!(m["notice"]["acknowledged"], 0);

    // Acknowledging, twice: counted once.
    let (s, a) = post(
        &app,
        &jumin_t,
        &format!("/api/v1/notices/{id}/ack"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{a}");
    assert!(a["ack_at"].as_i64().is_some());
    let (s, _) = post(
        &app,
        &jumin_t,
        &format!("/api/v1/notices/{id}/ack"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200);
    let (_, m) = get(&app, &wangge, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(m["notice"]["acknowledged"], 1);
    let b: i64 = m["buildings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["recipients"].as_i64().unwrap())
        .sum();
    assert_eq!(b, expected, "the buildings add up to the recipients");
    let (read, acked): (i64, i64) =
        m["buildings"]
            .as_array()
            .unwrap()
            .iter()
            .fold((0, 0), |t, b| {
                (
                    t.0 + b["read"].as_i64().unwrap(),
                    t.1 + b["acknowledged"].as_i64().unwrap(),
                )
            });
    assert_eq!(
        (read, acked),
        (1, 1),
        "the buildings' receipts are kept as they change"
    );

    // Someone moving into the grid afterwards is not counted: the denominator never moves.
    let (jumin_person, _) = jumin(&app).await;
    app.db
        .write(move |c| {
            c.exec(
                "INSERT INTO persons (street_id, household_id, unit_id, place_path, name, sex, birth_date, \
                 relation, residence, presence, created_at, updated_at) \
                 SELECT street_id, household_id, unit_id, place_path, '新来者', 'F', '1990-01-01', 'other', \
                 'permanent', 'both', 0, 0 FROM persons WHERE id = $1",
                linli::params![jumin_person],
            )
        })
        .await
        .unwrap();
    let (_, m) = get(&app, &wangge, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(m["notice"]["recipients"], expected);
    assert_eq!(residents_under(&app, grid_path.clone()).await, expected + 1);
    let (s, again) = post(&app, &wangge, "/api/v1/notices", notice("第二次", &[grid])).await;
    assert_eq!(s, 201);
    assert_eq!(
        again["recipients"],
        expected + 1,
        "a later notice counts her"
    );

    // A notice for an acknowledged-less audience cannot be acknowledged.
    let mut plain = notice("仅告知", &[grid]);
    plain["ack_wanted"] = json!(false);
    let (_, p) = post(&app, &wangge, "/api/v1/notices", plain).await;
    let pid = p["id"].as_i64().unwrap();
    let (s, e) = send(
        &app,
        &jumin_t,
        "POST",
        &format!("/api/v1/notices/{pid}/ack"),
        Some(json!({})),
        "en",
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(message(&e), "This notice does not ask to be acknowledged.");
}

#[tokio::test]
async fn who_may_write_and_who_may_see() {
    let app = support::spawn().await;
    let wangge = app.token("wangge").await;
    let admin = app.token("admin").await;
    let jumin_t = app.token("jumin").await;
    let bumen = app.token("bumen").await;
    let grid_path = support::place_of(&app, "wangge").await;
    let grid = place_id(&app, grid_path.clone()).await;
    // Another grid of the street: outside wangge's places and jumin's home.
    let other = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM places WHERE kind = 'grid' AND path <> $1 ORDER BY path LIMIT 1",
                linli::params![grid_path],
            )
        })
        .await
        .unwrap();

    // Those who keep no residents' records may not write one.
    for t in [&bumen, &jumin_t] {
        let (s, _) = post(&app, t, "/api/v1/notices", notice("x", &[grid])).await;
        assert_eq!(s, 403);
        let (s, _) = get(&app, t, "/api/v1/notices/managed").await;
        assert_eq!(s, 403);
    }
    // A grid worker writes only for her places: a clear message in both languages.
    let (s, e) = post(&app, &wangge, "/api/v1/notices", notice("x", &[other])).await;
    assert_eq!(s, 422);
    assert_eq!(message(&e), "所选区域不在你负责的范围内。");
    let (s, e) = send(
        &app,
        &wangge,
        "POST",
        "/api/v1/notices",
        Some(notice("x", &[other])),
        "en",
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(
        message(&e),
        "A place chosen is outside the places you look after."
    );
    // Bad input, each refused and nothing kept.
    let before = app.query_i64("SELECT COUNT(*) FROM notices").await;
    for (body, key) in [
        (
            json!({"title": "x", "body": "y", "audience": {}}),
            "请选择通知范围",
        ),
        (
            json!({"title": "", "body": "y", "audience": {"places": [grid]}}),
            "请填写标题",
        ),
        (
            json!({"title": "x", "body": "y\u{202E}", "audience": {"places": [grid]}}),
            "",
        ),
        (
            json!({"title": "x", "body": "y", "audience": {"places": [grid], "tags": ["no_such_tag"]}}),
            "所选标签不存在",
        ),
        (
            json!({"title": "x", "body": "y", "audience": {"places": [grid], "roles": ["resident"]}}),
            "工作通知只能发给",
        ),
        (
            json!({"title": "x", "body": "y", "audience": {"places": [999999]}}),
            "所选区域不存在",
        ),
        (
            json!({"title": "x", "body": "y", "audience": {"households": [999999]}}),
            "户号不存在",
        ),
        (
            json!({"title": "x", "body": "y", "audience": {"places": [grid]}, "publish_at": 1000}),
            "定时发布的时间",
        ),
    ] {
        let (s, e) = post(&app, &wangge, "/api/v1/notices", body.clone()).await;
        assert_eq!(s, 422, "{body}: {e}");
        assert!(message(&e).contains(key), "{body}: {e}");
    }
    // A tag nobody holds yet reaches nobody: refused, not published to no one.
    let (s, t) = post(
        &app,
        &admin,
        "/api/v1/tags",
        json!({"code": "stairwell_rep", "name_zh": "楼组长"}),
    )
    .await;
    assert!(s == 200 || s == 201, "{t}");
    let (s, e) = post(
        &app,
        &wangge,
        "/api/v1/notices",
        json!({"title": "x", "body": "y", "audience": {"places": [grid], "tags": ["stairwell_rep"]}}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert!(message(&e).contains("找不到任何收件人"), "{e}");
    assert_eq!(app.query_i64("SELECT COUNT(*) FROM notices").await, before);

    // A notice to the other grid is not jumin's: 404, and not in her feed; the grid worker
    // who neither wrote it nor keeps the grid gets 404 too; the street administrator manages it.
    let (s, n) = post(
        &app,
        &admin,
        "/api/v1/notices",
        notice("另一网格", &[other]),
    )
    .await;
    assert_eq!(s, 201, "{n}");
    let id = n["id"].as_i64().unwrap();
    let (s, _) = get(&app, &jumin_t, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(s, 404);
    let (s, _) = post(
        &app,
        &jumin_t,
        &format!("/api/v1/notices/{id}/ack"),
        json!({}),
    )
    .await;
    assert_eq!(s, 404);
    let (_, feed) = get(&app, &jumin_t, "/api/v1/notices").await;
    assert!(
        !feed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["notice"]["id"] == id)
    );
    for path in [
        format!("/api/v1/notices/{id}"),
        format!("/api/v1/notices/{id}/buildings"),
        format!("/api/v1/notices/{id}/buildings/0/unread"),
    ] {
        let (s, _) = get(&app, &wangge, &path).await;
        assert_eq!(s, 404, "{path}");
        let (s, _) = get(&app, &bumen, &path).await;
        assert_eq!(s, 404, "{path}");
    }
    let (s, _) = post(
        &app,
        &wangge,
        &format!("/api/v1/notices/{id}/withdraw"),
        json!({}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, m) = get(&app, &admin, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(m["manages"], true);
    // The street administrator also manages the grid worker's notices; the grid worker lists
    // her own only.
    let (_, w) = post(
        &app,
        &wangge,
        "/api/v1/notices",
        notice("网格通知", &[grid]),
    )
    .await;
    let (_, list) = get(&app, &admin, "/api/v1/notices/managed").await;
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&id) && ids.contains(&w["id"].as_i64().unwrap()));
    let (_, list) = get(&app, &wangge, "/api/v1/notices/managed").await;
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_i64().unwrap())
        .collect();
    assert!(!ids.contains(&id) && ids.contains(&w["id"].as_i64().unwrap()));
}

#[tokio::test]
async fn a_building_leader_follows_up_who_has_not_read_it() {
    let app = support::spawn().await;
    let wangge = app.token("wangge").await;
    let zhiyuan = app.token("zhiyuan").await;
    let jumin_t = app.token("jumin").await;
    let grid = place_id(&app, support::place_of(&app, "wangge").await).await;
    let (_, building) = jumin(&app).await;
    let (_, n) = post(
        &app,
        &wangge,
        "/api/v1/notices",
        notice("楼道清理", &[grid]),
    )
    .await;
    let id = n["id"].as_i64().unwrap();
    get(&app, &jumin_t, &format!("/api/v1/notices/{id}")).await;

    // The volunteer of the community (a building leader) sees the buildings of her places.
    let (s, bs) = get(&app, &zhiyuan, &format!("/api/v1/notices/{id}/buildings")).await;
    assert_eq!(s, 200, "{bs}");
    let b = bs
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["building_id"] == building)
        .expect("jumin's building")
        .clone();
    assert_eq!(b["read"], 1);
    let before = app.query_i64("SELECT COUNT(*) FROM audit_entries").await;
    let (s, list) = get(
        &app,
        &zhiyuan,
        &format!("/api/v1/notices/{id}/buildings/{building}/unread"),
    )
    .await;
    assert_eq!(s, 200, "{list}");
    let list = list.as_array().unwrap().clone();
    assert_eq!(
        list.len() as i64,
        b["recipients"].as_i64().unwrap() - 1,
        "everyone but jumin"
    );
    for u in &list {
        let name = u["name_masked"].as_str().unwrap();
        assert!(name.contains('*'), "masked: {name}");
        assert!(!u["unit"].as_str().unwrap().is_empty());
    }
    // The list is written to the audit log with the residents it names.
    app.state.audit.flush_index().await.unwrap();
    assert!(app.query_i64("SELECT COUNT(*) FROM audit_entries").await > before);
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "list");
    assert_eq!(e["subjects"].as_array().unwrap().len(), list.len());

    // Marked told in person: delivered, shown as such, once.
    let seq = list[0]["seq"].as_i64().unwrap();
    let (s, t) = post(
        &app,
        &zhiyuan,
        &format!("/api/v1/notices/{id}/recipients/{seq}/told"),
        json!({"how": "in_person"}),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["told_how"], "in_person");
    let (s, e) = post(
        &app,
        &zhiyuan,
        &format!("/api/v1/notices/{id}/recipients/{seq}/told"),
        json!({"how": "paper"}),
    )
    .await;
    assert_eq!(s, 409);
    assert_eq!(message(&e), "此人已被标记为已告知。");
    let (_, m) = get(&app, &wangge, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(m["notice"]["told"], 1);
    assert_eq!(m["notice"]["reached"], 2);
    assert_eq!(m["notice"]["read"], 1);
    let (_, list2) = get(
        &app,
        &zhiyuan,
        &format!("/api/v1/notices/{id}/buildings/{building}/unread"),
    )
    .await;
    let told = list2
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["seq"] == seq)
        .unwrap();
    assert!(told["told_by"].as_str().is_some(), "who told her is shown");

    // Jumin read it: there is nothing to tell her.
    let jumin_seq = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT seq FROM notice_recipients WHERE notice_id = $1 AND read_at IS NOT NULL",
                linli::params![id],
            )
        })
        .await
        .unwrap();
    let (s, _) = post(
        &app,
        &wangge,
        &format!("/api/v1/notices/{id}/recipients/{jumin_seq}/told"),
        json!({"how": "paper"}),
    )
    .await;
    assert_eq!(s, 409);
    // A resident reads no receipts; a department neither.
    let (s, _) = get(&app, &jumin_t, &format!("/api/v1/notices/{id}/buildings")).await;
    assert_eq!(s, 404);
    let bumen = app.token("bumen").await;
    let (s, _) = post(
        &app,
        &bumen,
        &format!("/api/v1/notices/{id}/recipients/{seq}/told"),
        json!({"how": "paper"}),
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_work_notice_goes_to_workers_accounts_by_role() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let (s, n) = post(
        &app,
        &admin,
        "/api/v1/notices",
        json!({"title": "周五防汛值班安排", "body": "各网格员周五 18:00 前到岗。", "audience": {"roles": ["grid_worker", "community_worker"]}, "ack_wanted": true}),
    )
    .await;
    assert_eq!(s, 201, "{n}");
    assert_eq!(n["kind"], "workers");
    let id = n["id"].as_i64().unwrap();
    assert!(n["recipients"].as_i64().unwrap() >= 2);
    for u in ["wangge", "shegong"] {
        let t = app.token(u).await;
        let (_, feed) = get(&app, &t, "/api/v1/notices").await;
        assert!(
            feed.as_array()
                .unwrap()
                .iter()
                .any(|r| r["notice"]["id"] == id),
            "{u}"
        );
        let (s, a) = post(&app, &t, &format!("/api/v1/notices/{id}/ack"), json!({})).await;
        assert_eq!(s, 200, "{u}: {a}");
    }
    for u in ["jumin", "bumen"] {
        let t = app.token(u).await;
        let (s, _) = get(&app, &t, &format!("/api/v1/notices/{id}")).await;
        assert_eq!(s, 404, "{u}");
    }
    // The administrator sees the workers who have not read it, by name.
    let (_, m) = get(&app, &admin, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(m["notice"]["acknowledged"], 2);
    let (s, list) = get(
        &app,
        &admin,
        &format!("/api/v1/notices/{id}/buildings/0/unread"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        list.as_array().unwrap().len() as i64,
        n["recipients"].as_i64().unwrap() - 2
    );
}

#[tokio::test]
async fn drafts_schedules_withdrawals_and_attachments() {
    let app = support::spawn().await;
    let wangge = app.token("wangge").await;
    let jumin_t = app.token("jumin").await;
    let grid = place_id(&app, support::place_of(&app, "wangge").await).await;
    let mut d = notice("草稿", &[grid]);
    d["publish"] = json!("draft");
    let (s, n) = post(&app, &wangge, "/api/v1/notices", d).await;
    assert_eq!(s, 201, "{n}");
    assert_eq!(n["state"], "draft");
    assert_eq!(n["recipients"], 0);
    let id = n["id"].as_i64().unwrap();
    let (s, _) = get(&app, &jumin_t, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(s, 404, "a draft is not shown to its audience");

    // Attachments: a PDF is kept, anything else refused by its content whatever its name.
    let upload = |name: &'static str, bytes: Vec<u8>, token: String| {
        let app_url = app.url(&format!("/api/v1/notices/{id}/files"));
        let client = app.client();
        async move {
            let part = reqwest::multipart::Part::bytes(bytes).file_name(name);
            let form = reqwest::multipart::Form::new().part("file", part);
            let r = client
                .post(app_url)
                .bearer_auth(token)
                .header("accept-language", "en")
                .multipart(form)
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec();
    let (s, f) = upload("停水范围.pdf", pdf.clone(), wangge.clone()).await;
    assert_eq!(s, 201, "{f}");
    assert_eq!(f["mime"], "application/pdf");
    let fid = f["id"].as_i64().unwrap();
    let (s, e) = upload(
        "photo.pdf",
        b"MZ\x90\x00 not a pdf".to_vec(),
        wangge.clone(),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(message(&e), "Only PDF, JPEG or PNG files can be attached.");
    let (s, _) = upload("x.pdf", pdf.clone(), jumin_t.clone()).await;
    assert_eq!(s, 404);

    // Published: the resident opens it and its attachment; no more files.
    let (s, p) = post(
        &app,
        &wangge,
        &format!("/api/v1/notices/{id}/publish"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["state"], "published");
    assert!(p["recipients"].as_i64().unwrap() > 0);
    let (s, _) = post(
        &app,
        &wangge,
        &format!("/api/v1/notices/{id}/publish"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409);
    let (s, _) = upload("late.pdf", pdf.clone(), wangge.clone()).await;
    assert_eq!(s, 409);
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/notices/{id}/files/{fid}")))
        .bearer_auth(&jumin_t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.bytes().await.unwrap().to_vec(), pdf);
    let bumen = app.token("bumen").await;
    let (s, _) = get(&app, &bumen, &format!("/api/v1/notices/{id}/files/{fid}")).await;
    assert_eq!(s, 404);

    // Withdrawn: its recipient is told so (410) and it leaves her feed.
    let (s, w) = post(
        &app,
        &wangge,
        &format!("/api/v1/notices/{id}/withdraw"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{w}");
    let (s, e) = get(&app, &jumin_t, &format!("/api/v1/notices/{id}")).await;
    assert_eq!(s, 410);
    assert_eq!(message(&e), "这条通知已被撤回。");
    let (_, feed) = get(&app, &jumin_t, "/api/v1/notices").await;
    assert!(
        !feed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["notice"]["id"] == id)
    );

    // Scheduled: out when its time comes, by the job.
    let mut later = notice("定时", &[grid]);
    later["publish_at"] = json!(linli::kernel::time::now_ms() + 3_600_000);
    let (s, n) = post(&app, &wangge, "/api/v1/notices", later).await;
    assert_eq!(s, 201, "{n}");
    assert_eq!(n["state"], "scheduled");
    let sid = n["id"].as_i64().unwrap();
    let (s, _) = get(&app, &jumin_t, &format!("/api/v1/notices/{sid}")).await;
    assert_eq!(s, 404);
    app.exec(
        "UPDATE notices SET publish_at = 1 WHERE id = $1",
        &[linli::store::Val::Int(sid)],
    )
    .await;
    assert_eq!(
        linli::notices::service::publish_due(&app.state)
            .await
            .unwrap(),
        1
    );
    let (s, o) = get(&app, &jumin_t, &format!("/api/v1/notices/{sid}")).await;
    assert_eq!(s, 200, "{o}");
    assert_eq!(o["notice"]["state"], "published");
    assert_eq!(
        linli::notices::service::publish_due(&app.state)
            .await
            .unwrap(),
        0,
        "once"
    );
}

#[tokio::test]
async fn the_pages_a_resident_and_a_worker_use() {
    let app = support::spawn().await;
    let grid = place_id(&app, support::place_of(&app, "wangge").await).await;
    let (w, _) = app.login_page("wangge", support::PASSWORD).await;
    let page = app.page(&w, "/notices/new").await;
    assert!(page.contains("id=\"notice-form\""), "{page}");
    let csrf = extract_input(&page, "csrf").unwrap();
    // A bad form is shown again with the message and what was typed.
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("title", "垃圾分类宣传")
        .text("body", "本周日上午在中心广场。")
        .text("action", "publish");
    let r = w
        .post(app.url("/notices/new"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("请选择通知范围"), "{html}");
    assert!(html.contains("垃圾分类宣传"));
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("title", "垃圾分类宣传")
        .text("body", "本周日上午在中心广场。")
        .text("place", grid.to_string())
        .text("ack_wanted", "1")
        .text("action", "publish")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4\n%%EOF\n".to_vec()).file_name("海报.pdf"),
        );
    let r = w
        .post(app.url("/notices/new"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.ends_with("?done=published"), "{to}");
    let id: i64 = to
        .trim_start_matches("/notices/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let page = app.page(&w, &to).await;
    assert!(page.contains("id=\"notice-totals\""));
    assert!(page.contains("海报.pdf"));
    assert!(page.contains("/n/"), "the short link");
    let print = app.page(&w, &format!("/notices/{id}/print")).await;
    assert!(
        print.contains("<svg class=\"qr\""),
        "a QR code on the poster"
    );
    let code = print
        .split("/n/")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_string();

    // The resident: the card on her home page, the notice, the acknowledgement.
    let (j, _) = app.login_page("jumin", support::PASSWORD).await;
    let home = app.page(&j, "/").await;
    assert!(home.contains("id=\"home-notices\""), "{home}");
    assert!(home.contains("垃圾分类宣传"));
    let r = j.get(app.url(&format!("/n/{code}"))).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/notices/{id}"));
    let page = app.page(&j, &format!("/notices/{id}")).await;
    assert!(page.contains("id=\"notice-ack\""));
    assert!(
        !page.contains("id=\"notice-totals\""),
        "no receipts for a resident"
    );
    let csrf = extract_input(&page, "csrf").unwrap();
    let r = j
        .post(app.url(&format!("/notices/{id}/ack")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = app.page(&j, &format!("/notices/{id}?done=ack")).await;
    assert!(page.contains("id=\"notice-acked\""), "{page}");
    // The English page of the same.
    let r = j
        .get(app.url(&format!("/notices/{id}")))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let en = r.text().await.unwrap();
    assert!(en.contains("Acknowledged"), "{en}");

    // The worker's list and the building's unread list with its told buttons.
    let list = app.page(&w, "/notices").await;
    assert!(list.contains(&format!("id=\"notice-{id}\"")));
    let (_, building) = jumin(&app).await;
    let page = app
        .page(&w, &format!("/notices/{id}/buildings/{building}"))
        .await;
    assert!(page.contains("id=\"unread-list\""), "{page}");
    assert!(page.contains("in_person"));
    // A resident's empty feed says what to expect; a department has nothing to write.
    let (b, _) = app.login_page("bumen", support::PASSWORD).await;
    let r = b.get(app.url("/notices/new")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let list = app.page(&b, "/notices").await;
    assert!(list.contains("id=\"notices-empty\""));
}
