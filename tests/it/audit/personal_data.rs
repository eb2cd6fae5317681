//! Every route that shows personal data writes an audit entry.

use super::*;

#[tokio::test]
async fn every_personal_data_route_writes_an_entry() {
    let app = support::spawn().await;
    let (h_in, unit_in, _, jumin_person, jumin_household) = fixtures(&app).await;
    let member = app
        .db
        .read(move |c| c.query_i64("SELECT id FROM persons WHERE household_id = $1 AND phone_enc IS NOT NULL ORDER BY id LIMIT 1", linli::params![h_in]))
        .await
        .unwrap();
    let wangge = app.token("wangge").await;
    let jumin = app.token("jumin").await;
    let (b, _) = app.login_page("wangge", PASSWORD).await;
    let (jb, _) = app.login_page("jumin", PASSWORD).await;
    let page = b
        .get(app.url(&format!("/households/{h_in}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = extract_input(&page, "csrf").unwrap();
    let c = app.client();
    // A correction request, so that the workers' lists show a person.
    let r = c
        .post(app.url("/api/v1/me/corrections"))
        .bearer_auth(&jumin)
        .json(&serde_json::json!({"field": "phone", "message": "电话号码已换"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let shegong = app.token("shegong").await;
    let (sb, _) = app.login_page("shegong", PASSWORD).await;
    let member_name: String = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT name FROM persons WHERE id = $1",
                linli::params![member],
            )
        })
        .await
        .unwrap()
        .str(0);
    // A masked export of the member's unit, approved at once (within the limit).
    let unit_path = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT place_path FROM persons WHERE id = $1",
                linli::params![member],
            )
        })
        .await
        .unwrap()
        .str(0);
    let r = c
        .post(app.url("/api/v1/exports"))
        .bearer_auth(&wangge)
        .json(&serde_json::json!({"place": unit_path, "reason": "入户走访名单"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let export_id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    // An owned unit, a rental and a vehicle in shegong's community (the demo seeds them).
    let community = crate::support::place_of(&app, "shegong").await;
    let (owned_unit, owner, rental, landlord, car_owner) = app
        .db
        .read(move |c| {
            let mut p = Vec::new();
            let cond = linli::store::under_paths(
                "place_path",
                std::slice::from_ref(&community),
                1,
                &mut p,
            );
            let o = c.query_one(
                &format!(
                    "SELECT unit_id, person_id FROM unit_owners WHERE {cond} ORDER BY id LIMIT 1"
                ),
                &p,
            )?;
            let r = c.query_one(
                &format!("SELECT id, landlord_id FROM rentals WHERE {cond} ORDER BY end_date DESC, id DESC LIMIT 1"),
                &p,
            )?;
            let v = c.query_one(
                &format!("SELECT owner_id FROM vehicles WHERE {cond} ORDER BY plate LIMIT 1"),
                &p,
            )?;
            Ok((o.i64(0), o.i64(1), r.i64(0), r.i64(1), v.i64(0)))
        })
        .await
        .unwrap();
    // A hotline case in wangge's grid: its caller's phone is shown to the workers.
    let hotline_case = app
        .query_i64("SELECT c.id FROM cases c JOIN case_categories k ON k.id = c.category_id WHERE k.code = 'group_rental' ORDER BY c.id LIMIT 1")
        .await;
    let hotline_place = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT place_id FROM cases WHERE id = $1",
                linli::params![hotline_case],
            )
        })
        .await
        .unwrap();
    // A notice to wangge's grid, not yet opened by jumin: its unread list names her (masked).
    let grid_path = crate::support::place_of(&app, "wangge").await;
    let (grid_id, notice_building) = app
        .db
        .read(move |c| {
            Ok((
                c.query_i64("SELECT id FROM places WHERE path = $1", linli::params![grid_path])?,
                c.query_i64(
                    "SELECT u.parent_id FROM persons p JOIN places u ON u.id = p.unit_id WHERE p.id = $1",
                    linli::params![jumin_person],
                )?,
            ))
        })
        .await
        .unwrap();
    let r = c
        .post(app.url("/api/v1/notices"))
        .bearer_auth(&wangge)
        .json(&serde_json::json!({"title": "停水通知", "body": "周六停水。", "audience": {"places": [grid_id]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let notice = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    // A sweep of wangge's grid (issue 23 part 2): her door list names jumin's household.
    let r = c
        .post(app.url("/api/v1/sweeps"))
        .bearer_auth(&wangge)
        .json(&serde_json::json!({"title": "入户排摸", "questions": [{"label": "常住人数", "kind": "number"}], "places": [grid_id], "start": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let sweep = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let admin = app.token("admin").await;
    // A care alert in wangge's grid on a door magnet bound to a person.
    let (alert_id, alert_person) = {
        let grid = crate::support::place_of(&app, "wangge").await;
        let list: serde_json::Value = app
            .get_json(
                &admin,
                &format!("/api/v1/devices?device_type=door_magnet&under={grid}"),
            )
            .await
            .1;
        let d = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["person_id"].is_i64())
            .unwrap()
            .clone();
        let (dev, person) = (d["id"].as_i64().unwrap(), d["person_id"].as_i64().unwrap());
        let r = app
            .client()
            .post(app.url("/api/v1/rules"))
            .bearer_auth(&admin)
            .json(
                &serde_json::json!({"name": "求助按钮", "kind": "event", "severity": "critical",
                "device_id": dev, "params": {"key": "sos", "equals": 1}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = app
            .client()
            .post(app.url("/api/v1/telemetry"))
            .bearer_auth(d["token"].as_str().unwrap())
            .json(&serde_json::json!({"values": {"sos": 1}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let id = app
            .db
            .read(move |c| {
                c.query_i64(
                    "SELECT id FROM alerts WHERE device_id = $1 ORDER BY id DESC LIMIT 1",
                    linli::params![dev],
                )
            })
            .await
            .unwrap();
        (id, person)
    };

    // (route, request, the subject the entry must name, the action)
    type Req = Box<dyn Fn() -> reqwest::RequestBuilder>;
    let url = |p: String| app.url(&p);
    let cases: Vec<(&str, Req, String, &str)> = vec![
        (
            "/api/v1/units/{id}",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/units/{owned_unit}")),
                    shegong.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{owner}"),
            "read",
        ),
        (
            "/units/{id}",
            {
                let (c, u) = (sb.clone(), url(format!("/units/{owned_unit}")));
                Box::new(move || c.get(&u))
            },
            format!("person:{owner}"),
            "read",
        ),
        (
            "/api/v1/rentals/{id}",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/rentals/{rental}")),
                    shegong.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{landlord}"),
            "read",
        ),
        (
            "/api/v1/rentals",
            {
                let (c, u, t) = (c.clone(), url("/api/v1/rentals".into()), shegong.clone());
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{landlord}"),
            "list",
        ),
        (
            "/rentals",
            {
                let (c, u) = (sb.clone(), url("/rentals".into()));
                Box::new(move || c.get(&u))
            },
            format!("person:{landlord}"),
            "list",
        ),
        (
            "/api/v1/vehicles",
            {
                let (c, u, t) = (c.clone(), url("/api/v1/vehicles".into()), shegong.clone());
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{car_owner}"),
            "list",
        ),
        (
            "/vehicles",
            {
                let (c, u) = (sb.clone(), url("/vehicles".into()));
                Box::new(move || c.get(&u))
            },
            format!("person:{car_owner}"),
            "list",
        ),
        (
            "/api/v1/households/{id}",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/households/{h_in}")),
                    wangge.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("household:{h_in}"),
            "read",
        ),
        (
            "/households/{id}",
            {
                let (c, u) = (b.clone(), url(format!("/households/{h_in}")));
                Box::new(move || c.get(&u))
            },
            format!("person:{member}"),
            "read",
        ),
        (
            "/places/{id}",
            {
                let (c, u) = (b.clone(), url(format!("/places/{unit_in}")));
                Box::new(move || c.get(&u))
            },
            format!("household:{h_in}"),
            "list",
        ),
        (
            "/api/v1/persons/{id}/reveal",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/persons/{member}/reveal")),
                    wangge.clone(),
                );
                Box::new(move || {
                    c.post(&u)
                        .bearer_auth(&t)
                        .json(&serde_json::json!({"field": "id_number", "purpose": "home_visit"}))
                })
            },
            format!("person:{member}"),
            "reveal",
        ),
        (
            "/persons/{id}/reveal",
            {
                let (c, u, f) = (
                    b.clone(),
                    url(format!("/persons/{member}/reveal")),
                    vec![
                        ("csrf".to_string(), csrf.clone()),
                        ("field".into(), "phone".into()),
                        ("purpose".into(), "service".into()),
                        ("household".into(), h_in.to_string()),
                    ],
                );
                Box::new(move || c.post(&u).form(&f))
            },
            format!("person:{member}"),
            "reveal",
        ),
        (
            "/api/v1/me/data",
            {
                let (c, u, t) = (c.clone(), url("/api/v1/me/data".into()), jumin.clone());
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{jumin_person}"),
            "self_export",
        ),
        (
            "/me/data",
            {
                let (c, u) = (jb.clone(), url("/me/data".into()));
                Box::new(move || c.get(&u))
            },
            format!("person:{jumin_person}"),
            "self_export",
        ),
        (
            "/me/data.json",
            {
                let (c, u) = (jb.clone(), url("/me/data.json".into()));
                Box::new(move || c.get(&u))
            },
            format!("person:{jumin_person}"),
            "self_export",
        ),
        (
            "/me/data.xlsx",
            {
                let (c, u) = (jb.clone(), url("/me/data.xlsx".into()));
                Box::new(move || c.get(&u))
            },
            format!("person:{jumin_person}"),
            "self_export",
        ),
        (
            "/api/v1/exports/{id}/download",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/exports/{export_id}/download")),
                    wangge.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{member}"),
            "export",
        ),
        (
            "/exports/{id}/download",
            {
                let (c, u) = (b.clone(), url(format!("/exports/{export_id}/download")));
                Box::new(move || c.get(&u))
            },
            format!("person:{member}"),
            "export",
        ),
        (
            "/api/v1/persons/{id}",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/persons/{member}")),
                    wangge.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{member}"),
            "read",
        ),
        (
            "/persons/{id}",
            {
                let (c, u) = (b.clone(), url(format!("/persons/{member}")));
                Box::new(move || c.get(&u))
            },
            format!("person:{member}"),
            "read",
        ),
        (
            "/api/v1/persons",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/persons?q={}", member_name.clone())),
                    wangge.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{member}"),
            "list",
        ),
        (
            "/persons",
            {
                let (c, u) = (
                    b.clone(),
                    url(format!("/persons?q={}", member_name.clone())),
                );
                Box::new(move || c.get(&u))
            },
            format!("person:{member}"),
            "list",
        ),
        (
            "/",
            {
                let (c, u) = (sb.clone(), url("/".into()));
                Box::new(move || c.get(&u))
            },
            format!("person:{jumin_person}"),
            "list",
        ),
        (
            "/api/v1/corrections",
            {
                let (c, u, t) = (
                    c.clone(),
                    url("/api/v1/corrections".into()),
                    shegong.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{jumin_person}"),
            "list",
        ),
        (
            "/api/v1/cases/{id}",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/cases/{hotline_case}")),
                    wangge.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("case:{hotline_case}"),
            "read",
        ),
        (
            "/cases/{id}",
            {
                let (c, u) = (b.clone(), url(format!("/cases/{hotline_case}")));
                Box::new(move || c.get(&u))
            },
            format!("case:{hotline_case}"),
            "read",
        ),
        (
            "/api/v1/sweeps/{id}/doors",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/sweeps/{sweep}/doors")),
                    wangge.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("household:{jumin_household}"),
            "list",
        ),
        (
            "/sweeps/{id}/doors",
            {
                let (c, u) = (b.clone(), url(format!("/sweeps/{sweep}/doors")));
                Box::new(move || c.get(&u))
            },
            format!("household:{jumin_household}"),
            "list",
        ),
        (
            "/api/v1/notices/{id}/buildings/{building}/unread",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!(
                        "/api/v1/notices/{notice}/buildings/{notice_building}/unread"
                    )),
                    wangge.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{jumin_person}"),
            "list",
        ),
        (
            "/notices/{id}/buildings/{building}",
            {
                let (c, u) = (
                    b.clone(),
                    url(format!("/notices/{notice}/buildings/{notice_building}")),
                );
                Box::new(move || c.get(&u))
            },
            format!("person:{jumin_person}"),
            "list",
        ),
        (
            "/api/v1/cases/duplicates",
            {
                let (c, u, t) = (
                    c.clone(),
                    url("/api/v1/cases/duplicates".into()),
                    wangge.clone(),
                );
                Box::new(move || {
                    c.post(&u).bearer_auth(&t).json(&serde_json::json!({
                        "category": "group_rental", "description": "住了十几个人", "place_id": hotline_place
                    }))
                })
            },
            format!("case:{hotline_case}"),
            "list",
        ),
        (
            "/api/v1/cases/{id}/reveal",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/cases/{hotline_case}/reveal")),
                    wangge.clone(),
                );
                Box::new(move || {
                    c.post(&u)
                        .bearer_auth(&t)
                        .json(&serde_json::json!({"purpose": "service"}))
                })
            },
            format!("case:{hotline_case}"),
            "reveal",
        ),
        (
            "/alerts/{id}",
            {
                let (c, u) = (b.clone(), url(format!("/alerts/{alert_id}")));
                Box::new(move || c.get(&u))
            },
            format!("person:{alert_person}"),
            "read",
        ),
        (
            "/alerts/{id}/reveal",
            {
                let (c, u, f) = (
                    b.clone(),
                    url(format!("/alerts/{alert_id}/reveal")),
                    vec![
                        ("csrf".to_string(), csrf.clone()),
                        ("person".into(), alert_person.to_string()),
                        ("purpose".into(), "emergency".into()),
                    ],
                );
                Box::new(move || c.post(&u).form(&f))
            },
            format!("person:{alert_person}"),
            "reveal",
        ),
        (
            "/cases/{id}/reveal",
            {
                let (c, u, f) = (
                    b.clone(),
                    url(format!("/cases/{hotline_case}/reveal")),
                    vec![
                        ("csrf".to_string(), csrf.clone()),
                        ("purpose".into(), "service".into()),
                    ],
                );
                Box::new(move || c.post(&u).form(&f))
            },
            format!("case:{hotline_case}"),
            "reveal",
        ),
        (
            "/api/v1/cases/{id}/transitions",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/cases/{hotline_case}/transitions")),
                    admin.clone(),
                );
                Box::new(move || {
                    c.post(&u).bearer_auth(&t).json(
                        &serde_json::json!({"action": "reject", "note": "已由房管办另案处理"}),
                    )
                })
            },
            format!("case:{hotline_case}"),
            "read",
        ),
    ];
    let covered: Vec<&str> = cases.iter().map(|c| c.0).collect();
    for r in PERSONAL_DATA_ROUTES {
        assert!(covered.contains(r), "{r} is not driven by this test");
    }
    for (route, req, subject, action) in cases {
        let before = entries(&app).await;
        let r = req().send().await.unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert!(status.is_success(), "{route}: {status} {body}");
        assert!(entries(&app).await > before, "{route} wrote no audit entry");
        let e = app.last_audit_entry().await;
        assert_eq!(e["action"], action, "{route}");
        assert!(
            e["subjects"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == subject.as_str()),
            "{route}: {e}"
        );
        let text = e.to_string();
        let longest_digits = text
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(
            longest_digits < 14,
            "no ID or phone numbers in entries: {e}"
        );
    }
    let _ = jumin_household;
}
