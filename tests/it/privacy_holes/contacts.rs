//! Reporters' contacts and numbers in free text are encrypted and masked until revealed.

use super::*;

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
