//! Nearby (issue 24 part 3): a community's public reports carry no personal data, an
//! unapproved photo is not shown, "me too" counts once and never by the reporter, a follow
//! turns a step into a reach outbox row whose unfollow link works once without signing in and
//! is refused altered, the reporter's update lands on the timeline and "still not fixed"
//! reopens within the window, and another community's resident reads none of it.

use serde_json::{Value, json};

use crate::support::{self, PASSWORD, TestApp};

async fn send(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = app
        .client()
        .request(method, app.url(path))
        .header("accept-language", "zh-CN");
    if !token.is_empty() {
        r = r.bearer_auth(token);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    send(app, token, reqwest::Method::GET, path, None).await
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    send(app, token, reqwest::Method::POST, path, Some(body)).await
}

/// A building in wangge's grid (jumin's community).
async fn building(app: &TestApp) -> i64 {
    let grid = support::place_of(app, "wangge").await;
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM places WHERE kind = 'building' AND path LIKE $1 ORDER BY id LIMIT 1",
                linli::params![format!("{grid}/%")],
            )
        })
        .await
        .unwrap()
}

/// jumin's community: (id, path).
async fn community(app: &TestApp) -> (i64, String) {
    let unit = support::place_of(app, "jumin").await;
    let path: Vec<&str> = unit.split('/').collect();
    let paths: Vec<String> = (2..path.len()).map(|i| path[..i].join("/")).collect();
    app.db
        .read(move |c| {
            for p in &paths {
                if let Some(r) = c.query_opt(
                    "SELECT id, path FROM places WHERE path = $1 AND kind = 'community'",
                    linli::params![p.clone()],
                )? {
                    return Ok((r.i64(0), r.str(1)));
                }
            }
            Err(linli::store::StoreError::Db("no community".into()))
        })
        .await
        .unwrap()
}

/// A resident of another community of the street (a unit outside jumin's community).
async fn outsider(app: &TestApp, own_community: String) -> String {
    let hash = linli::org::users::hash_password(PASSWORD);
    app.db
        .write(move |c| {
            let unit = c.query_one(
                "SELECT id, street_id FROM places WHERE kind = 'unit' AND path NOT LIKE $1 ORDER BY id LIMIT 1",
                linli::params![format!("{own_community}/%")],
            )?;
            let name = linli::org::users::Username::parse("linju").unwrap();
            let id = linli::org::users::create(
                c,
                linli::org::users::NewUser {
                    username: &name,
                    display_name: "别处居民",
                    password_hash: &hash,
                    street_id: Some(unit.i64(1)),
                    person_id: None,
                    created_by: None,
                },
            )?;
            linli::org::users::add_grant(
                c,
                id,
                linli::org::Role::Resident,
                Some(unit.i64(0)),
                None,
                Some(unit.i64(1)),
                None,
            )
        })
        .await
        .unwrap();
    app.token("linju").await
}

/// jumin reports a broken street lamp at a building of her community; returns its id.
async fn lamp(app: &TestApp, jumin: &str, b: i64) -> i64 {
    let (s, v) = post(
        app,
        jumin,
        "/api/v1/cases",
        json!({"category": "facility_repair", "place_id": b,
               "description": "楼下路灯不亮了，有事打我 13912345678",
               "reporter_contact": "13812345678", "extra": {"facility": "路灯"}}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    v["case"]["id"].as_i64().unwrap()
}

/// jumin's name and unit as the registry keeps them.
async fn jumin_name_and_unit(app: &TestApp) -> (String, String) {
    app.db
        .read(|c| {
            let r = c.query_one(
                "SELECT u.display_name, p.name FROM users u JOIN user_roles r ON r.user_id = u.id \
                 JOIN places p ON p.id = r.place_id WHERE u.username = 'jumin'",
                &[],
            )?;
            Ok((r.str(0), r.str(1)))
        })
        .await
        .unwrap()
}

fn assert_private(text: &str, name: &str, unit: &str) {
    assert!(!text.contains(name), "the reporter's name is shown: {text}");
    assert!(!text.contains(unit), "her unit is shown: {text}");
    assert!(!text.contains("13812345678"), "her phone is shown");
    assert!(
        !text.contains("13912345678"),
        "a phone in the text is shown"
    );
}

#[tokio::test]
async fn the_public_page_and_api_carry_no_personal_data() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let b = building(&app).await;
    let id = lamp(&app, &jumin, b).await;
    let (k, _) = community(&app).await;
    let (name, unit) = jumin_name_and_unit(&app).await;
    assert!(!name.is_empty() && !unit.is_empty());

    let (s, v) = get(
        &app,
        &jumin,
        &format!("/api/v1/nearby/communities/{k}/reports"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let mine = v["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .expect("her report is listed")
        .clone();
    assert_eq!(mine["place_id"], b, "placed at the building, not the flat");
    assert_eq!(mine["status"], "open");
    assert!(v["own"].as_array().unwrap().contains(&json!(id)));
    assert!(v["following"].as_array().unwrap().contains(&json!(id)));
    assert_private(&v.to_string(), &name, &unit);

    let (s, one) = get(&app, &jumin, &format!("/api/v1/nearby/reports/{id}")).await;
    assert_eq!(s, 200);
    assert_private(&one.to_string(), &name, &unit);

    // The page, in both languages, to a neighbour (her own page names her in its header).
    let (browser, _) = app.login_page("zhiyuan", PASSWORD).await;
    for lang in ["zh-CN", "en"] {
        for path in ["/nearby".to_string(), format!("/nearby/reports/{id}")] {
            let r = browser
                .get(app.url(&path))
                .header("accept-language", lang)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200, "{path}");
            let html = r.text().await.unwrap();
            assert!(html.contains(&format!("#{id}")), "{path}");
            assert_private(&html, &name, &unit);
        }
    }

    // The same record through Open311, to anyone.
    let r = app
        .client()
        .get(app.url(&format!("/open311/v2/requests/{id}.json")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.unwrap();
    assert_private(&text, &name, &unit);
    assert!(text.contains("\"media_url\":null"), "{text}");

    // Figures by organisation are counts.
    let (s, f) = get(
        &app,
        &jumin,
        &format!("/api/v1/nearby/communities/{k}/figures"),
    )
    .await;
    assert_eq!(s, 200, "{f}");
    assert!(f["organisations"].is_array());
    assert_private(&f.to_string(), &name, &unit);
    let (s, _) = get(
        &app,
        &jumin,
        &format!("/api/v1/nearby/communities/{k}/figures?days=7"),
    )
    .await;
    assert_eq!(s, 422);
    app.stop().await;
}

/// A small JPEG.
fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(32, 24, image::Rgb([20, 120, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

async fn upload(app: &TestApp, token: &str, id: i64, public: bool) -> i64 {
    let mut form = reqwest::multipart::Form::new().part(
        "photo",
        reqwest::multipart::Part::bytes(jpeg())
            .file_name("a.jpg")
            .mime_str("image/jpeg")
            .unwrap(),
    );
    if public {
        form = form.text("public", "1");
    }
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/cases/{id}/photos")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let v: Value = r.json().await.unwrap();
    v["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_photo_shows_only_when_allowed_and_approved() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let admin = app.token("admin").await;
    let zhiyuan = app.token("zhiyuan").await;
    let id = lamp(&app, &jumin, building(&app).await).await;
    let allowed = upload(&app, &jumin, id, true).await;
    let private = upload(&app, &jumin, id, false).await;

    let photos = |v: &Value| v["report"]["photos"].clone();
    let (_, v) = get(&app, &zhiyuan, &format!("/api/v1/nearby/reports/{id}")).await;
    assert_eq!(photos(&v), json!([]), "not yet approved");
    let (s, _) = get(&app, &zhiyuan, &format!("/api/v1/nearby/photos/{allowed}")).await;
    assert_eq!(s, 404);

    // Only a worker of the case approves; only what the reporter allowed.
    let approve = |pid: i64| format!("/api/v1/cases/{id}/photos/{pid}/approve");
    let (s, _) = post(&app, &zhiyuan, &approve(allowed), json!({})).await;
    assert_eq!(s, 404, "a volunteer has no part in the case");
    let (s, v) = post(&app, &admin, &approve(private), json!({})).await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = post(&app, &admin, &approve(allowed), json!({})).await;
    assert_eq!(s, 204, "{v}");

    let (_, v) = get(&app, &zhiyuan, &format!("/api/v1/nearby/reports/{id}")).await;
    assert_eq!(photos(&v), json!([allowed]));
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/nearby/photos/{allowed}")))
        .bearer_auth(&zhiyuan)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let (s, _) = get(&app, &zhiyuan, &format!("/api/v1/nearby/photos/{private}")).await;
    assert_eq!(s, 404);
    app.stop().await;
}

#[tokio::test]
async fn me_too_counts_once_and_never_the_reporters_own() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let zhiyuan = app.token("zhiyuan").await;
    let admin = app.token("admin").await;
    let b = building(&app).await;
    let id = lamp(&app, &jumin, b).await;

    // Before reporting the same, another resident sees it nearby.
    let (s, v) = get(
        &app,
        &zhiyuan,
        &format!("/api/v1/cases/similar?category=facility_repair&place_id={b}"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(v.as_array().unwrap().iter().any(|r| r["id"] == id), "{v}");

    let (s, v) = post(
        &app,
        &jumin,
        &format!("/api/v1/cases/{id}/supports"),
        json!({}),
    )
    .await;
    assert_eq!(s, 403, "her own: {v}");
    let (s, v) = post(
        &app,
        &zhiyuan,
        &format!("/api/v1/nearby/reports/{id}/support"),
        json!({}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["supports"], 1);
    let (s, v) = post(
        &app,
        &zhiyuan,
        &format!("/api/v1/cases/{id}/supports"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409, "twice: {v}");
    assert!(!v["error"]["message"].as_str().unwrap_or("").is_empty());
    // Counted on the case, shown to its handlers.
    let (s, v) = get(&app, &admin, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(v["supports"], 1);
    let (_, v) = get(&app, &zhiyuan, &format!("/api/v1/nearby/reports/{id}")).await;
    assert_eq!(v["report"]["supports"], 1);
    assert_eq!(v["supported"], true);
    app.stop().await;
}

/// The outbox rows a case's steps wrote for followers: (idem, link).
async fn nearby_messages(app: &TestApp, id: i64) -> Vec<(String, String)> {
    app.db
        .read(move |c| {
            Ok(c.query(
                "SELECT idem, link FROM reach_messages WHERE idem LIKE $1 ORDER BY id",
                linli::params![format!("nearby:{id}:%")],
            )?
            .iter()
            .map(|r| (r.str(0), r.str(1)))
            .collect::<Vec<_>>())
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_follow_hears_of_steps_and_its_link_unfollows_once() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let zhiyuan = app.token("zhiyuan").await;
    let admin = app.token("admin").await;
    let id = lamp(&app, &jumin, building(&app).await).await;
    let (s, f) = post(
        &app,
        &zhiyuan,
        &format!("/api/v1/nearby/reports/{id}/follow"),
        json!({}),
    )
    .await;
    assert_eq!(s, 201, "{f}");
    let follow_id = f["id"].as_i64().unwrap();

    let (s, v) = post(
        &app,
        &admin,
        &format!("/api/v1/cases/{id}/transitions"),
        json!({"action": "accept"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let rows = nearby_messages(&app, id).await;
    // The follower and the reporter (who follows her own report without asking).
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (_, link) = rows
        .iter()
        .find(|(idem, _)| idem.ends_with(&format!(":follow:{follow_id}")))
        .expect("the follower is told")
        .clone();
    let token = link
        .strip_prefix("/nearby/unfollow/")
        .expect(&link)
        .to_string();

    // Without signing in: the landing page, then the unfollow, once.
    let page = app.client().get(app.url(&link)).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains(&format!("#{id}")));
    let mut altered = token.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == '0' { '1' } else { '0' });
    let api = |t: &str| format!("/api/v1/nearby/links/{t}");
    let (s, _) = post(&app, "", &api(&altered), json!({})).await;
    assert_eq!(s, 403, "an altered link is refused");
    let (s, v) = post(&app, "", &api(&token), json!({})).await;
    assert_eq!(s, 204, "{v}");
    // The unfollow by link is in the log, with her account as its subject.
    let uid = app
        .query_i64("SELECT id FROM users WHERE username = 'zhiyuan'")
        .await;
    let sql = format!(
        "SELECT COUNT(*) FROM audit_entries e JOIN audit_subjects s ON s.seq = e.seq \
         WHERE s.subject = 'user:{uid}' AND e.body LIKE '%unfollow link%'"
    );
    app.state.audit.flush_index().await.unwrap();
    let logged = app.query_i64(sql.leak()).await;
    assert_eq!(logged, 1, "the unfollow by link is audited");
    let (s, v) = post(&app, "", &api(&token), json!({})).await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = get(&app, "", &api(&token)).await;
    assert_eq!((s, v["active"].clone()), (200, json!(false)));

    // Unfollowed, she hears no more; the reporter still does.
    let org = app
        .query_i64("SELECT r.org_id FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.username = 'wuye'")
        .await;
    let (s, v) = post(
        &app,
        &admin,
        &format!("/api/v1/cases/{id}/transitions"),
        json!({"action": "dispatch", "org_id": org}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let rows = nearby_messages(&app, id).await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(!rows[2].0.ends_with(&format!(":follow:{follow_id}")));

    // Her follows list, and another's follow is not hers to end.
    let (s, v) = get(&app, &zhiyuan, "/api/v1/nearby/follows").await;
    assert_eq!(s, 200);
    assert!(v.as_array().unwrap().iter().all(|f| f["id"] != follow_id));
    let (k, _) = community(&app).await;
    let (s, area) = post(
        &app,
        &zhiyuan,
        "/api/v1/nearby/follows",
        json!({"area_id": k, "category": "facility_repair"}),
    )
    .await;
    assert_eq!(s, 201, "{area}");
    let (s, _) = send(
        &app,
        &jumin,
        reqwest::Method::DELETE,
        &format!("/api/v1/nearby/follows/{}", area["id"]),
        None,
    )
    .await;
    assert_eq!(s, 404);
    // An area follower hears of a new report's steps there.
    let second = lamp(&app, &jumin, building(&app).await).await;
    let (s, _) = post(
        &app,
        &admin,
        &format!("/api/v1/cases/{second}/transitions"),
        json!({"action": "accept"}),
    )
    .await;
    assert_eq!(s, 200);
    let rows = nearby_messages(&app, second).await;
    assert!(
        rows.iter()
            .any(|(idem, _)| idem.ends_with(&format!(":follow:{}", area["id"]))),
        "{rows:?}"
    );
    app.stop().await;
}

/// Dispatch (when `org` is given), sign for, start, resolve, verify (on site, by the grid
/// worker) and close a case.
async fn close(app: &TestApp, admin: &str, wuye: &str, path: &str, org: Option<i64>) {
    let wangge = app.token("wangge").await;
    if let Some(org) = org {
        let (s, v) = post(
            app,
            admin,
            path,
            json!({"action": "dispatch", "org_id": org}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
    for (tok, body) in [
        (wuye, json!({"action": "sign_for"})),
        (wuye, json!({"action": "start"})),
        (wuye, json!({"action": "resolve", "note": "已更换灯具"})),
        (wangge.as_str(), json!({"action": "verify"})),
        (admin, json!({"action": "close"})),
    ] {
        let (s, v) = post(app, tok, path, body.clone()).await;
        assert_eq!(s, 200, "{body}: {v}");
    }
}

#[tokio::test]
async fn the_reporter_adds_updates_and_says_still_not_fixed() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let zhiyuan = app.token("zhiyuan").await;
    let admin = app.token("admin").await;
    let wuye = app.token("wuye").await;
    let id = lamp(&app, &jumin, building(&app).await).await;
    let updates = format!("/api/v1/cases/{id}/updates");
    let (s, v) = post(
        &app,
        &jumin,
        &updates,
        json!({"text": "晚上八点以后整条路都是黑的"}),
    )
    .await;
    assert_eq!(s, 204, "{v}");
    let (s, v) = post(&app, &jumin, &updates, json!({"text": "  "})).await;
    assert_eq!(s, 422, "{v}");
    let (s, _) = post(&app, &zhiyuan, &updates, json!({"text": "我也看到了"})).await;
    assert_eq!(s, 404, "not hers");
    let (_, v) = get(&app, &jumin, &format!("/api/v1/cases/{id}")).await;
    assert!(
        v["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "update" && e["note"] == "晚上八点以后整条路都是黑的"),
        "{v}"
    );

    // Closed, then "still not fixed" within the window; past it, refused.
    let org = app
        .query_i64("SELECT r.org_id FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.username = 'wuye'")
        .await;
    let path = format!("/api/v1/cases/{id}/transitions");
    let (s, _) = post(&app, &admin, &path, json!({"action": "accept"})).await;
    assert_eq!(s, 200);
    close(&app, &admin, &wuye, &path, Some(org)).await;
    let (s, v) = post(&app, &jumin, &updates, json!({"text": "还是不亮"})).await;
    assert_eq!(s, 409, "closed: {v}");
    let (s, v) = post(
        &app,
        &jumin,
        &path,
        json!({"action": "reopen", "note": "还是不亮"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    close(&app, &admin, &wuye, &path, None).await;
    app.exec(
        "UPDATE cases SET closed_at = closed_at - $2 WHERE id = $1",
        &[
            linli::store::Val::Int(id),
            linli::store::Val::Int(31 * 86_400_000),
        ],
    )
    .await;
    let (s, v) = post(
        &app,
        &jumin,
        &path,
        json!({"action": "reopen", "note": "还是不亮"}),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    app.stop().await;
}

#[tokio::test]
async fn another_communitys_resident_reads_none_of_it() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let b = building(&app).await;
    let id = lamp(&app, &jumin, b).await;
    let (k, path) = community(&app).await;
    let other = outsider(&app, path).await;

    let (s, v) = get(&app, &other, "/api/v1/nearby").await;
    assert_eq!(s, 200);
    assert!(v.as_array().unwrap().iter().all(|c| c["id"] != k), "{v}");
    for p in [
        format!("/api/v1/nearby/communities/{k}/reports"),
        format!("/api/v1/nearby/communities/{k}/figures"),
        format!("/api/v1/nearby/reports/{id}"),
        format!("/api/v1/cases/{id}"),
    ] {
        let (s, _) = get(&app, &other, &p).await;
        assert_eq!(s, 404, "{p}");
    }
    for p in [
        format!("/api/v1/nearby/reports/{id}/support"),
        format!("/api/v1/nearby/reports/{id}/follow"),
        format!("/api/v1/cases/{id}/supports"),
        format!("/api/v1/cases/{id}/updates"),
    ] {
        let (s, _) = post(&app, &other, &p, json!({"text": "x"})).await;
        assert_eq!(s, 404, "{p}");
    }
    let (s, v) = get(
        &app,
        &other,
        &format!("/api/v1/cases/similar?category=facility_repair&place_id={b}"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v, json!([]));
    let (s, _) = post(
        &app,
        &other,
        "/api/v1/nearby/follows",
        json!({"area_id": k}),
    )
    .await;
    assert_eq!(s, 404);
    // Anonymous visitors: sign in first.
    let (s, _) = get(&app, "", &format!("/api/v1/nearby/communities/{k}/reports")).await;
    assert_eq!(s, 401);
    let r = app.client().get(app.url("/nearby")).send().await.unwrap();
    assert!(r.status().is_redirection() || r.status().as_u16() == 401);
    app.stop().await;
}
