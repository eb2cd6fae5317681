//! The public Open311 feed publishes no resident data.

use super::*;

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
