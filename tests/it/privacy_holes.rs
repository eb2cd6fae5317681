//! Holes a hostile probe found (issue 18), each closed with a test named after it: duplicate
//! suggestions outside the caller's scope, residents in the public Open311 feed, a
//! decompression bomb among the photos, reporters' contacts and numbers in free text in clear,
//! webhooks into the server's own network, and downloads of personal data kept in caches.

use serde_json::{Value, json};

use linli::cases::notify::{self, AllowList};

use crate::support::{self, PASSWORD, TestApp, extract_input};

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = app
        .client()
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn report(app: &TestApp, token: &str, body: Value) -> i64 {
    let (s, v) = post(app, token, "/api/v1/cases", body.clone()).await;
    assert_eq!(s, 201, "{body}: {v}");
    v["case"]["id"].as_i64().unwrap()
}

async fn step(app: &TestApp, token: &str, id: i64, body: Value) {
    let (s, v) = post(app, token, &format!("/api/v1/cases/{id}/transitions"), body).await;
    assert_eq!(s, 200, "{v}");
}

/// The buildings in wangge's grid, and one flat of the first.
async fn places(app: &TestApp) -> (Vec<i64>, i64) {
    let grid = support::place_of(app, "wangge").await;
    app.db
        .read(move |c| {
            let b: Vec<i64> = c
                .query(
                    "SELECT id FROM places WHERE kind = 'building' AND path LIKE $1 ORDER BY id",
                    linli::params![format!("{grid}/%")],
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect();
            let unit = c.query_i64(
                "SELECT id FROM places WHERE kind = 'unit' AND parent_id = $1 ORDER BY id LIMIT 1",
                linli::params![b[0]],
            )?;
            Ok((b, unit))
        })
        .await
        .unwrap()
}

fn has_subject(entry: &Value, subject: &str) -> bool {
    entry["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == subject)
}

#[tokio::test]
async fn duplicate_suggestions_do_not_leak_outside_scope() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let wangge = app.token("wangge").await;
    let jumin = app.token("jumin").await;
    let wuye = app.token("wuye").await;
    let (b, _) = places(&app).await;
    let b0 = b[0];
    // A care report about a person (a category never published), and a repair reported on
    // patrol, both with a phone number in their words, at one building of wangge's grid.
    let care = report(
        &app,
        &admin,
        json!({"category": "elderly_care", "channel": "hotline",
        "reporter_name": "邻居赵女士", "reporter_contact": "13900001111", "place_id": b[0],
        "description": "独居老人王阿姨近两天没有下楼取牛奶，女儿电话13812341234"}),
    )
    .await;
    let lamp = report(
        &app,
        &wangge,
        json!({"category": "facility_repair", "place_id": b[0],
        "description": "楼下路灯不亮，物业电话13812345678", "extra": {"facility": "路灯"}}),
    )
    .await;
    // A repair at the same building but placed outside wangge's grid (another grid's path),
    // as a case within the radius across a grid's edge is.
    let street = app
        .query_i64("SELECT street_id FROM users WHERE username = 'admin'")
        .await;
    let grid = support::place_of(&app, "wangge").await;
    let elsewhere = app
        .db
        .write(move |c| {
            let other = c.query_one(
                "SELECT path FROM places WHERE kind = 'grid' AND street_id = $1 AND path <> $2 ORDER BY path LIMIT 1",
                linli::params![street, grid.as_str()],
            )?;
            let k = c.query_i64(
                "SELECT id FROM case_categories WHERE street_id = $1 AND code = 'facility_repair'",
                linli::params![street],
            )?;
            let now = linli::store::now_ms();
            c.query_i64(
                "INSERT INTO cases (street_id, category_id, channel, state, priority, description, terms, \
                 place_id, place_path, building_id, token, clock, clock_start, created_at, updated_at) \
                 VALUES ($1, $2, 'resident', 'new', 2, '越界的路灯报修', '~路灯 路灯 不亮', $3, $4, $3, 'edge-1', 'none', $5, $5, $5) RETURNING id",
                linli::params![street, k, b0, format!("{}/x", other.str(0)), now],
            )
        })
        .await
        .unwrap();
    let probe =
        |code: &str| json!({"category": code, "description": "路灯坏了不亮", "place_id": b[0]});

    // A resident: nothing of a care case; of the repair, a similar report nearby with no words,
    // no number and no reporter.
    let (s, v) = post(
        &app,
        &jumin,
        "/api/v1/cases/duplicates",
        json!({"category": "elderly_care", "description": "王阿姨", "place_id": b[0]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v, json!([]), "a care case is never suggested to a resident");
    let building = app
        .db
        .read(move |c| c.query_one("SELECT name FROM places WHERE id = $1", linli::params![b0]))
        .await
        .unwrap()
        .str(0);
    for token in [&jumin, &wuye] {
        let (s, v) = post(
            &app,
            token,
            "/api/v1/cases/duplicates",
            probe("facility_repair"),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let list = v.as_array().unwrap();
        assert!(!list.is_empty(), "{v}");
        for x in list {
            assert_eq!(x["kind"], "nearby", "{x}");
            assert_eq!(x["category"], "facility_repair");
            assert_eq!(x["place"], building.as_str());
            assert!(
                x.get("id").is_none() && x.get("description").is_none(),
                "{x}"
            );
        }
        let text = v.to_string();
        for leak in ["路灯不亮", "1381234", "****", "越界", "李敏"] {
            assert!(!text.contains(leak), "{leak} in {text}");
        }
    }
    // Each showing is audited as a list of the cases shown.
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "list", "{e}");
    assert!(has_subject(&e, &format!("case:{lamp}")), "{e}");
    // The duplicates a resident's report comes back with are the same reports nearby.
    let (s, v) = post(
        &app,
        &jumin,
        "/api/v1/cases",
        json!({"category": "facility_repair", "description": "路灯坏了不亮", "place_id": b[0],
               "extra": {"facility": "路灯"}}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let dups = v["duplicates"].as_array().unwrap();
    assert!(!dups.is_empty(), "{v}");
    assert!(
        dups.iter()
            .all(|d| d["kind"] == "nearby" && d.get("description").is_none())
    );
    assert!(!v["duplicates"].to_string().contains("1381234"));

    // The grid worker: the cases of her grid, numbers masked; not the one outside it.
    let (s, v) = post(
        &app,
        &wangge,
        "/api/v1/cases/duplicates",
        probe("facility_repair"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let ids: Vec<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&lamp) && !ids.contains(&elsewhere), "{v}");
    let (_, v) = post(
        &app,
        &wangge,
        "/api/v1/cases/duplicates",
        json!({"category": "elderly_care", "description": "王阿姨没有下楼", "place_id": b[0]}),
    )
    .await;
    let hit = v
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == care)
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(hit["kind"], "case");
    assert_eq!(
        hit["description"],
        "独居老人王阿姨近两天没有下楼取牛奶，女儿电话138****1234"
    );
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "list");
    assert!(has_subject(&e, &format!("case:{care}")), "{e}");
    // The street's administrator sees the street's, the one across the edge too.
    let (_, v) = post(
        &app,
        &admin,
        "/api/v1/cases/duplicates",
        probe("facility_repair"),
    )
    .await;
    assert!(
        v.as_array().unwrap().iter().any(|x| x["id"] == elsewhere),
        "{v}"
    );
}

#[tokio::test]
async fn open311_feed_publishes_no_resident_data() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let jumin = app.token("jumin").await;
    let (b, unit) = places(&app).await;
    let b0 = b[0];
    let street = app
        .query_i64("SELECT street_id FROM users WHERE username = 'admin'")
        .await;
    // A resident's report at her flat, with her phone, an ID number and the flat in her words;
    // a worker's note with another phone.
    let id = report(
        &app,
        &jumin,
        json!({"category": "facility_repair", "place_id": unit,
        "address": "201室门口", "extra": {"facility": "路灯"},
        "description": "5号楼201室门口路灯坏了，联系13812345678，身份证310115199001011234"}),
    )
    .await;
    step(
        &app,
        &admin,
        id,
        json!({"action": "accept", "note": "已联系业主13900001111，明天上门"}),
    )
    .await;
    // A hotline call and a sensor's alert of a public category, and a report of 群租.
    let hotline = report(
        &app,
        &admin,
        json!({"category": "fire_hazard", "place_id": b[0],
        "channel": "hotline", "reporter_name": "钱先生", "reporter_contact": "021-58881234",
        "description": "楼道堆满纸箱", "extra": {"hazards": ["楼道堆物"]}}),
    )
    .await;
    let sensor = app
        .db
        .write(move |c| {
            linli::cases::open_from_sensor(
                c,
                street,
                "water_leak",
                unit,
                "5号楼201室水浸传感器报警",
                linli::store::now_ms(),
            )
            .map_err(|e| linli::store::StoreError::Db(format!("{e:?}")))
        })
        .await
        .unwrap()
        .0;
    let rental = report(
        &app,
        &jumin,
        json!({"category": "group_rental", "place_id": b[0],
        "description": "隔壁301室群租，住了十几个人"}),
    )
    .await;
    let get = |path: String| {
        let c = app.client();
        let u = app.url(&path);
        async move {
            let r = c.get(u).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (s, text) = get(format!(
        "/open311/v2/requests.json?service_request_id={id},{hotline},{sensor},{rental}"
    ))
    .await;
    assert_eq!(s, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 1, "only the resident's report is public: {v}");
    let r = &list[0];
    assert_eq!(r["service_request_id"], id.to_string());
    assert_eq!(
        r["description"],
        "5号楼**室门口路灯坏了，联系138****5678，身份证310115********1234"
    );
    // The building, not the flat: its name, its id and its point.
    let (name, geo) = app
        .db
        .read(move |c| {
            let r = c.query_one(
                "SELECT name, geojson FROM places WHERE id = $1",
                linli::params![b0],
            )?;
            Ok((r.str(0), r.str(1)))
        })
        .await
        .unwrap();
    let geo: Value = serde_json::from_str(&geo).unwrap();
    assert_eq!(r["address"], name.as_str());
    assert_eq!(r["address_id"], b[0].to_string());
    assert_eq!(r["lat"], geo["coordinates"][1]);
    assert_eq!(r["long"], geo["coordinates"][0]);
    // A status for the public, not the worker's note.
    assert_eq!(r["status_notes"], "已受理，正在派给责任单位。");
    for (fmt, lang) in [("json", "zh-CN"), ("xml", "en")] {
        let r = app
            .client()
            .get(app.url(&format!("/open311/v2/requests.{fmt}")))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap();
        let all = r.text().await.unwrap();
        for leak in [
            "13812345678",
            "13900001111",
            "已联系",
            "310115199001011234",
            "201室",
            "301室",
            "58881234",
            "水浸传感器",
            "群租，",
            &format!("\"address_id\":\"{unit}\""),
            &format!("<address_id>{unit}</address_id>"),
        ] {
            assert!(!all.contains(leak), "{fmt}: {leak}");
        }
    }
    let (_, x) = get(format!("/open311/v2/requests/{id}.xml")).await;
    assert!(x.contains("<status_notes>"), "{x}");
    // 群租 is about people: never offered, never accepted over Open311.
    let (_, j) = get("/open311/v2/services.json".into()).await;
    assert!(!j.contains("group_rental"), "{j}");
    let (s, _) = get("/open311/v2/services/group_rental.json".into()).await;
    assert_eq!(s, 404);
    let key = app
        .db
        .write(move |c| linli::cases::open311::create_key(c, street, "t"))
        .await
        .unwrap();
    let r = app
        .client()
        .post(app.url("/open311/v2/requests.json"))
        .form(&[
            ("api_key", key.as_str()),
            ("service_code", "group_rental"),
            ("description", "x"),
            ("address_id", &b[0].to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // An administrator cannot make a category about people public.
    let (s, _) = post(
        &app,
        &admin,
        "/api/v1/case-categories",
        json!({"code": "family_dispute",
        "name_zh": "家庭纠纷", "name_en": "Family dispute", "group": "care", "accept_hours": 4,
        "resolve_hours": 40, "public": true, "about_people": true}),
    )
    .await;
    assert_eq!(s, 200);
    let (_, j) = get("/open311/v2/services.json".into()).await;
    assert!(!j.contains("family_dispute"), "{j}");
}

#[tokio::test]
async fn photo_decompression_bomb_is_refused_before_decoding() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let (b, _) = places(&app).await;
    let id = report(
        &app,
        &jumin,
        json!({"category": "noise", "description": "广场舞音响太大",
        "place_id": b[0]}),
    )
    .await;
    for (lang, says) in [("zh-CN", "4000 万像素"), ("en", "40 megapixels")] {
        let form = reqwest::multipart::Form::new().part(
            "photo",
            reqwest::multipart::Part::bytes(linli::cases::photos::header_only_png(20_000, 20_000))
                .file_name("bomb.png"),
        );
        let r = app
            .client()
            .post(app.url(&format!("/api/v1/cases/{id}/photos")))
            .bearer_auth(&jumin)
            .header("accept-language", lang)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let v: Value = r.json().await.unwrap();
        let m = v["error"]["message"].as_str().unwrap();
        assert!(m.contains(says), "{m}");
    }
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM case_photos").await,
        0,
        "nothing stored"
    );
}

#[tokio::test]
async fn reporter_contacts_are_encrypted_and_masked_until_revealed() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let wangge = app.token("wangge").await;
    let jumin = app.token("jumin").await;
    let (b, _) = places(&app).await;
    let id = report(
        &app,
        &admin,
        json!({"category": "fire_hazard", "place_id": b[0],
        "channel": "hotline", "reporter_name": "钱先生", "reporter_contact": "13912345678",
        "description": "楼道堆物，住户身份证11010519491231002X，电话13812341234",
        "extra": {"hazards": ["楼道堆物"]}}),
    )
    .await;
    step(
        &app,
        &admin,
        id,
        json!({"action": "accept", "note": "已回电13912345678"}),
    )
    .await;
    // At rest: encrypted, with its masked form; nothing in clear.
    let row = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT reporter_contact, reporter_contact_enc, reporter_contact_masked FROM cases WHERE id = $1",
                linli::params![id],
            )
        })
        .await
        .unwrap();
    assert_eq!(row.str(0), "");
    let blob = row.blob(1).expect("encrypted");
    assert!(!String::from_utf8_lossy(&blob).contains("12345678"));
    assert_eq!(row.str(2), "139****5678");
    // A worker reads it masked, and the numbers in the text and in others' notes too.
    let (s, d) = app.get_json(&wangge, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["case"]["reporter_contact"], "139****5678");
    assert_eq!(
        d["case"]["description"],
        "楼道堆物，住户身份证110105********002X，电话138****1234"
    );
    let notes: Vec<&str> = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["note"].as_str().unwrap())
        .collect();
    assert!(notes.contains(&"已回电139****5678"), "{notes:?}");
    let (_, list) = app
        .get_json(&wangge, &format!("/api/v1/cases?q={id}"))
        .await;
    assert!(!list.to_string().contains("13812341234"), "{list}");
    // Its writer reads her own note as written.
    let (_, d) = app.get_json(&admin, &format!("/api/v1/cases/{id}")).await;
    assert!(d.to_string().contains("已回电13912345678"), "{d}");
    // In full only for a purpose, audited first; never for someone with no part in it.
    let reveal = format!("/api/v1/cases/{id}/reveal");
    let (s, _) = post(&app, &wangge, &reveal, json!({"purpose": "nosy"})).await;
    assert_eq!(s, 422);
    let (s, _) = post(&app, &jumin, &reveal, json!({"purpose": "service"})).await;
    assert_eq!(s, 404);
    let (s, r) = post(&app, &wangge, &reveal, json!({"purpose": "service"})).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["reporter_contact"], "13912345678");
    assert_eq!(
        r["description"],
        "楼道堆物，住户身份证11010519491231002X，电话13812341234"
    );
    assert!(r["notes"].to_string().contains("已回电13912345678"));
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "reveal");
    assert!(has_subject(&e, &format!("case:{id}")), "{e}");
    assert_eq!(e["purpose"], "service");
    // The page: masked, with a reveal that shows it in full.
    let (page, _) = app.login_page("wangge", PASSWORD).await;
    let html = app.page(&page, &format!("/cases/{id}")).await;
    assert!(html.contains("139****5678") && !html.contains("13912345678"));
    let csrf = extract_input(&html, "csrf").unwrap();
    let r = page
        .post(app.url(&format!("/cases/{id}/reveal")))
        .form(&[("csrf", csrf.as_str()), ("purpose", "emergency")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("13912345678") && html.contains("11010519491231002X"));
    // A resident reads her own report as she wrote it.
    let mine = report(
        &app,
        &jumin,
        json!({"category": "noise", "place_id": b[0],
        "description": "楼上装修太吵，我的电话13700002222"}),
    )
    .await;
    let (_, d) = app.get_json(&jumin, &format!("/api/v1/cases/{mine}")).await;
    assert_eq!(
        d["case"]["description"],
        "楼上装修太吵，我的电话13700002222"
    );
    let (_, d) = app.get_json(&admin, &format!("/api/v1/cases/{mine}")).await;
    assert_eq!(
        d["case"]["description"],
        "楼上装修太吵，我的电话137****2222"
    );
    // A contact stored in clear by an older version reads masked, and is encrypted by the
    // pass the server makes at start.
    app.exec(
        "UPDATE cases SET reporter_contact = '13700001111', reporter_contact_enc = NULL, \
         reporter_contact_masked = '' WHERE id = $1",
        &[id.into()],
    )
    .await;
    let (_, d) = app.get_json(&wangge, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(d["case"]["reporter_contact"], "137****1111");
    let keys = app.state.keys.clone();
    let n = app
        .db
        .write(move |c| linli::cases::seal_clear_contacts(c, &keys, 500))
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM cases WHERE reporter_contact <> ''")
            .await,
        0
    );
    let (_, r) = post(&app, &wangge, &reveal, json!({"purpose": "service"})).await;
    assert_eq!(r["reporter_contact"], "13700001111");
    // Open311's phone and e-mail are stored the same way.
    let street = app
        .query_i64("SELECT street_id FROM users WHERE username = 'admin'")
        .await;
    let key = app
        .db
        .write(move |c| linli::cases::open311::create_key(c, street, "t"))
        .await
        .unwrap();
    let r = app
        .client()
        .post(app.url("/open311/v2/requests.json"))
        .form(&[
            ("api_key", key.as_str()),
            ("service_code", "noise"),
            ("description", "吵"),
            ("address_id", &b[0].to_string()),
            ("phone", "13600003333"),
            ("email", "lin@example.org"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let masked = app
        .db
        .read(|c| {
            c.query_one(
                "SELECT reporter_contact, reporter_contact_masked FROM cases WHERE channel = 'open311' ORDER BY id DESC LIMIT 1",
                &[],
            )
        })
        .await
        .unwrap();
    assert_eq!(masked.str(0), "");
    assert_eq!(masked.str(1), "136****3333 l***@example.org");
}

/// `PUT /api/v1/orgs/{org}/webhook`; the status.
async fn set_webhook(app: &TestApp, token: &str, org: i64, url: &str) -> u16 {
    app.client()
        .put(app.url(&format!("/api/v1/orgs/{org}/webhook")))
        .bearer_auth(token)
        .json(&json!({"url": url, "secret": "0123456789abcdef"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn webhooks_to_private_addresses_are_refused_unless_allowed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let org = app
        .query_i64(
            "SELECT r.org_id FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.username = 'bumen'",
        )
        .await;
    // A gateway on this machine, counting what reaches it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 65536];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
            let _ = tx.send(());
        }
    });
    // Saving: this machine, private networks, link-local (cloud metadata) are refused.
    for url in [
        format!("http://{addr}/hook"),
        format!("http://localhost:{}/hook", addr.port()),
        "http://10.0.0.5/hook".into(),
        "http://192.168.1.20:8080/hook".into(),
        "http://169.254.169.254/latest/meta-data".into(),
        "http://[::1]:8080/hook".into(),
        "http://0.0.0.0:8080/hook".into(),
    ] {
        assert_eq!(set_webhook(&app, &admin, org, &url).await, 422, "{url}");
    }
    let r = app
        .client()
        .put(app.url(&format!("/api/v1/orgs/{org}/webhook")))
        .bearer_auth(&admin)
        .header("accept-language", "en")
        .json(&json!({"url": format!("http://{addr}/hook"), "secret": "0123456789abcdef"}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("webhook_allow"),
        "{v}"
    );
    assert_eq!(
        set_webhook(&app, &admin, org, "https://example.org/hook").await,
        204,
        "a public address is fine"
    );
    // Sending: a webhook stored for a name that now resolves to this machine (DNS rebinding),
    // or for an address, is refused at every delivery; nothing reaches the gateway. The
    // delivery is due an hour from now, so that only this test's clock sends it (the server's
    // own job, every 5 s, would refuse it alike).
    let (b, _) = places(&app).await;
    let case = report(
        &app,
        &admin,
        json!({"category": "illegal_parking", "channel": "patrol",
        "description": "占用消防通道", "place_id": b[0]}),
    )
    .await;
    step(&app, &admin, case, json!({"action": "accept"})).await;
    step(
        &app,
        &admin,
        case,
        json!({"action": "dispatch", "org_id": org}),
    )
    .await;
    let later = linli::store::now_ms() + 3_600_000;
    for url in [
        format!("http://localhost:{}/hook", addr.port()),
        format!("http://{addr}/hook"),
    ] {
        app.exec(
            "UPDATE webhook_deliveries SET url = $1, next_at = $2, attempts = 0, last_error = NULL, \
             delivered_at = NULL",
            &[url.clone().into(), later.into()],
        )
        .await;
        notify::deliver_due(&app.db, &AllowList::default(), later + 1)
            .await
            .unwrap();
        let errors = app
            .db
            .read(|c| {
                c.query(
                    "SELECT COALESCE(last_error, ''), delivered_at FROM webhook_deliveries",
                    &[],
                )
            })
            .await
            .unwrap();
        assert!(!errors.is_empty());
        for e in &errors {
            assert!(e.opt_i64(1).is_none(), "{url}: not delivered");
            assert!(e.str(0).contains("webhook_allow"), "{url}: {}", e.str(0));
        }
    }
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(500), rx.recv())
            .await
            .is_err(),
        "nothing reached the gateway"
    );
    // Allowed explicitly, the same address is reached.
    let allow = AllowList::parse(&["127.0.0.1".to_string()]).unwrap();
    app.exec(
        "UPDATE webhook_deliveries SET next_at = $1, attempts = 0",
        &[later.into()],
    )
    .await;
    notify::deliver_due(&app.db, &allow, later + 1)
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("delivered once allowed")
        .unwrap();
}

#[tokio::test]
async fn personal_data_downloads_are_never_stored() {
    let app = support::spawn().await;
    let wangge = app.token("wangge").await;
    let grid = support::place_of(&app, "wangge").await;
    let g = grid.clone();
    let building = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT path FROM places WHERE kind = 'building' AND path LIKE $1 ORDER BY path LIMIT 1",
                linli::params![format!("{g}/%")],
            )
        })
        .await
        .unwrap()
        .str(0);
    let no_store = |r: &reqwest::Response, what: &str| {
        assert_eq!(r.status(), 200, "{what}");
        let cc = r
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        assert!(cc.contains("no-store"), "{what}: cache-control {cc:?}");
    };
    // An export, through the API and the page.
    let (s, v) = post(
        &app,
        &wangge,
        "/api/v1/exports",
        json!({"place": building, "reason": "走访名单"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let export = v["id"].as_i64().unwrap();
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/exports/{export}/download")))
        .bearer_auth(&wangge)
        .send()
        .await
        .unwrap();
    no_store(&r, "export (API)");
    let (b, _) = app.login_page("wangge", PASSWORD).await;
    let r = b
        .get(app.url(&format!("/exports/{export}/download")))
        .send()
        .await
        .unwrap();
    no_store(&r, "export (page)");
    // The refused rows of an import, as a workbook.
    let template = app
        .client()
        .get(app.url("/api/v1/imports/template.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/imports/persons/refused?scope={grid}")))
        .bearer_auth(&wangge)
        .header("content-type", "text/csv")
        .body(template)
        .send()
        .await
        .unwrap();
    no_store(&r, "refused rows");
    // A resident's copy of her own data.
    let jumin = app.token("jumin").await;
    let r = app
        .client()
        .get(app.url("/api/v1/me/data"))
        .bearer_auth(&jumin)
        .send()
        .await
        .unwrap();
    no_store(&r, "my data (API)");
    let (jb, _) = app.login_page("jumin", PASSWORD).await;
    let r = jb.get(app.url("/me/data")).send().await.unwrap();
    no_store(&r, "my data (page)");
}

/// Finding 2: the person lookup behind unit owners and rental tenants checked the street, not
/// the caller's scope. A grid worker could name residents of another community as tenants, read
/// their names and masked ID numbers back, and learn whether an ID number is registered. Now
/// someone outside her scope is refused exactly as someone who does not exist.
#[tokio::test]
async fn owners_and_tenants_are_looked_up_only_within_scope() {
    let app = support::spawn().await;
    let t = app.token("wangge").await;
    let grid = support::place_of(&app, "wangge").await;
    let keys = app.state.keys.clone();
    let (unit, inside, outsider, outsider_idn) = app
        .db
        .read(move |c| {
            let mut p = Vec::new();
            let cond = linli::store::under_paths("u.path", std::slice::from_ref(&grid), 1, &mut p);
            let unit = c
                .query_one(
                    &format!(
                        "SELECT u.id FROM places u WHERE u.kind = 'unit' AND {cond} \
                         AND (SELECT COUNT(*) FROM persons x WHERE x.unit_id = u.id) >= 1 \
                         AND NOT EXISTS (SELECT 1 FROM rentals r WHERE r.unit_id = u.id) ORDER BY u.id LIMIT 1"
                    ),
                    &p,
                )?
                .i64(0);
            // The landlord: an owner already there, or a resident of the flat.
            let inside = match c.query_opt(
                "SELECT MIN(person_id) FROM unit_owners WHERE unit_id = $1 HAVING COUNT(*) > 0",
                linli::params![unit],
            )? {
                Some(r) => r.i64(0),
                None => c.query_i64(
                    "SELECT MIN(id) FROM persons WHERE unit_id = $1",
                    linli::params![unit],
                )?,
            };
            let mut p = Vec::new();
            let cond = linli::store::under_paths("place_path", std::slice::from_ref(&grid), 1, &mut p);
            let out = c.query_one(
                &format!(
                    "SELECT id, id_number_enc FROM persons WHERE NOT ({cond}) AND id_number_enc IS NOT NULL ORDER BY id LIMIT 1"
                ),
                &p,
            )?;
            let idn = keys.decrypt(&out.blob(1).unwrap()).unwrap();
            Ok((unit, inside, out.i64(0), idn))
        })
        .await
        .unwrap();

    // An owner outside the grid, by id and by ID number: refused, and with the very words a
    // number nobody holds gets.
    let mut refusals = Vec::new();
    for person in [
        json!({"person_id": outsider, "share_pct": 1.0}),
        json!({"id_number": outsider_idn, "share_pct": 1.0}),
        json!({"id_number": "11010519491231002X", "share_pct": 1.0}),
        json!({"person_id": 999_999_999, "share_pct": 1.0}),
    ] {
        let (s, v) = post(
            &app,
            &t,
            &format!("/api/v1/units/{unit}/owners"),
            person.clone(),
        )
        .await;
        assert_eq!(s, 422, "{person}: {v}");
        refusals.push(v["error"]["message"].as_str().unwrap().to_string());
    }
    assert!(
        refusals.windows(2).all(|w| w[0] == w[1]),
        "an outsider and a nobody are refused alike: {refusals:?}"
    );

    // A tenant outside the grid: refused alike, and no rental is written.
    let (_, u) = app.get_json(&t, &format!("/api/v1/units/{unit}")).await;
    if u["owners"].as_array().unwrap().is_empty() {
        let (s, v) = post(
            &app,
            &t,
            &format!("/api/v1/units/{unit}/owners"),
            json!({"person_id": inside, "share_pct": 100.0}),
        )
        .await;
        assert_eq!(s, 200, "an owner within the grid: {v}");
    }
    let (s, v) = post(
        &app,
        &t,
        "/api/v1/rentals",
        json!({"unit_id": unit, "landlord": {"person_id": inside}, "tenants": [{"id_number": outsider_idn}],
               "start_date": "2026-01-01", "end_date": "2026-12-31"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["message"].as_str().unwrap(), refusals[0]);
    let rentals = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM rentals WHERE unit_id = $1",
                linli::params![unit],
            )
        })
        .await
        .unwrap();
    assert_eq!(rentals, 0, "no rental written");
    assert!(
        !v.to_string().contains("name"),
        "nothing of the outsider comes back: {v}"
    );
}

/// Finding 6: a street administrator alone could create an account, request an unmasked export
/// with it and approve it herself. Now whoever created an account or granted it a role in the
/// last 30 days may not approve its exports (nor sees them waiting), and such a request from a
/// new account raises a notice to the street.
#[tokio::test]
async fn one_administrator_alone_gets_no_unmasked_export() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let grid = support::place_of(&app, "wangge").await;
    let r = app
        .client()
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(
            &json!({"username": "xinwangge", "display_name": "孙悦", "password": "long-enough-pw",
                      "role": "grid_worker", "target": grid}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let newbie = app.token_with("xinwangge", "long-enough-pw").await;
    let (s, v) = post(
        &app,
        &newbie,
        "/api/v1/exports",
        json!({"place": grid, "reason": "发放补贴", "unmasked": true}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["state"], "pending");
    let id = v["id"].as_i64().unwrap();

    // The administrator who made the account neither sees it waiting nor may approve it.
    let (_, lists) = app.get_json(&admin, "/api/v1/exports").await;
    assert!(
        !lists["awaiting"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == id),
        "{lists}"
    );
    let (s, v) = post(
        &app,
        &admin,
        &format!("/api/v1/exports/{id}/decision"),
        json!({"approve": true}),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"]["code"], "vouched");
    let (s, _) = app
        .get_json(&newbie, &format!("/api/v1/exports/{id}/download"))
        .await;
    assert_eq!(s, 403, "still not downloadable");

    // The street hears of it: a notice names the new account and the export.
    let (s, notices) = app.get_json(&admin, "/api/v1/notices").await;
    assert_eq!(s, 200);
    let n = notices
        .as_array()
        .or(notices["items"].as_array())
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "new_account_export")
        .cloned()
        .unwrap_or_else(|| panic!("a notice: {notices}"));
    assert_eq!(n["evidence"]["export"], id);

    // Someone else above her, who did not vouch for the account, may decide.
    let shegong = app.token("shegong").await;
    let (_, lists) = app.get_json(&shegong, "/api/v1/exports").await;
    assert!(
        lists["awaiting"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == id)
    );
    let (s, v) = post(
        &app,
        &shegong,
        &format!("/api/v1/exports/{id}/decision"),
        json!({"approve": true}),
    )
    .await;
    assert_eq!(s, 204, "{v}");
}

// ---------------------------------------------------------------------------------------------
// Finding 19: the OpenAPI document matches what is served. Every answer of every test is checked
// by `contract` (a layer around each test server); this test checks the checker, and the two
// answers the probe found wrong.

#[tokio::test]
async fn the_api_answers_as_its_openapi_document_says() {
    // The checker notices a body that does not fit, a status not documented and a path the
    // document does not have.
    let findings = crate::contract::Findings::default();
    let wrong = axum::Router::new()
        .route(
            "/api/v1/cases",
            axum::routing::get(|| async { axum::Json(json!({"items": "not a list"})) }),
        )
        .route(
            "/api/v1/session",
            axum::routing::delete(|| async { axum::http::StatusCode::ACCEPTED }),
        )
        .route(
            "/api/v1/nowhere",
            axum::routing::get(|| async { axum::Json(json!({})) }),
        )
        .layer(axum::middleware::from_fn_with_state(
            findings.clone(),
            crate::contract::check,
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, wrong).await });
    let http = reqwest::Client::new();
    for (m, p) in [
        (reqwest::Method::GET, "/api/v1/cases"),
        (reqwest::Method::DELETE, "/api/v1/session"),
        (reqwest::Method::GET, "/api/v1/nowhere"),
    ] {
        http.request(m, format!("http://{addr}{p}"))
            .send()
            .await
            .unwrap();
    }
    let seen = findings.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:#?}");
    assert!(seen[0].starts_with("GET /api/v1/cases → 200"), "{seen:#?}");
    assert!(
        seen[1].contains("status 202 is not documented"),
        "{seen:#?}"
    );
    assert!(seen[2].contains("not in the document"), "{seen:#?}");

    // A PATCH of `[]` was taken for a change of nothing; it is refused, with a documented code.
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let rule = app.query_i64("SELECT MIN(id) FROM rules").await;
    let r = app
        .client()
        .patch(app.url(&format!("/api/v1/rules/{rule}")))
        .bearer_auth(&admin)
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "bad_json", "{v}");
    // Every code the server sends is listed in the document.
    let doc: Value = serde_json::from_str(&linli::app::openapi_json()).unwrap();
    let codes = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("the error codes are listed");
    for c in [
        "bad_json",
        "not_found",
        "forbidden",
        "vouched",
        "state_conflict",
        "bad_ts",
    ] {
        assert!(codes.contains(&Value::from(c)), "{c}");
    }
    // Rules' parameters are objects, as documented, in what is served.
    let (s, rules) = app.get_json(&admin, "/api/v1/rules").await;
    assert_eq!(s, 200);
    assert!(rules[0]["params"].is_object(), "{}", rules[0]);
    app.stop().await;
}
