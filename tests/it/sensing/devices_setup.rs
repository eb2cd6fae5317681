//! Setting devices up (issue 21, part 6): device profiles created and edited with checked
//! fields, devices registered one by one and from CSV (all or none, a dry run, a report row by
//! row), a person bound only with her consent (recorded and audited), consent withdrawn, and
//! other roles and scopes refused.

use super::*;

/// A unit under `path` (the first by path) and a person living under it who has not left.
async fn unit_and_person_under(app: &TestApp, path: String) -> (i64, String, i64) {
    app.db
        .read(move |c| {
            let u = c.query_one(
                "SELECT id, path FROM places WHERE kind = 'unit' AND path LIKE $1 ORDER BY path LIMIT 1",
                linli::params![format!("{path}/%")],
            )?;
            let p = c.query_i64(
                "SELECT MIN(id) FROM persons WHERE place_path LIKE $1 AND residence <> 'left'",
                linli::params![format!("{path}/%")],
            )?;
            Ok((u.i64(0), u.str(1), p))
        })
        .await
        .unwrap()
}

/// A person of the street outside `path`.
async fn person_outside(app: &TestApp, path: String) -> i64 {
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT MIN(id) FROM persons WHERE place_path NOT LIKE $1 AND residence <> 'left'",
                linli::params![format!("{path}/%")],
            )
        })
        .await
        .unwrap()
}

async fn post_json(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    send(app, reqwest::Method::POST, token, path, Some(body)).await
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    app.query_i64(sql).await
}

async fn post_csv(app: &TestApp, token: &str, query: &str, csv: String) -> (u16, Value) {
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/devices/import{query}")))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn profiles_are_created_and_edited_with_every_field_checked() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let good = json!({"code": "ebike-1", "name": "电动车充电检测", "device_type": "ebike_charging",
        "telemetry": [{"key": "charging", "unit": ""}, {"key": "current", "unit": "A"}],
        "report_interval_s": 600,
        "default_rules": [{"name": "充电器离线", "kind": "offline", "severity": "warning", "params": {"after_s": 7200}}]});
    let bad = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    for (what, body) in [
        ("code", bad("code", json!("有 空格"))),
        ("name", bad("name", json!(""))),
        ("type", bad("device_type", json!("toaster"))),
        ("telemetry", bad("telemetry", json!([]))),
        (
            "twice",
            bad(
                "telemetry",
                json!([{"key": "a", "unit": ""}, {"key": "a", "unit": ""}]),
            ),
        ),
        ("interval", bad("report_interval_s", json!(5))),
        (
            "rule",
            bad(
                "default_rules",
                json!([{"name": "x", "kind": "offline", "severity": "loud", "params": {"after_s": 60}}]),
            ),
        ),
        (
            "rule key",
            bad(
                "default_rules",
                json!([{"name": "x", "kind": "event", "severity": "minor", "params": {"key": "smoke", "equals": 1}}]),
            ),
        ),
    ] {
        let (s, v) = post_json(&app, &admin, "/api/v1/device-profiles", body).await;
        assert_eq!(s, 422, "{what}: {v}");
        assert_eq!(v["error"]["code"], "invalid", "{what}");
        assert!(
            !v["error"]["message"].as_str().unwrap().is_empty(),
            "{what}"
        );
    }
    let (s, p) = post_json(&app, &admin, "/api/v1/device-profiles", good.clone()).await;
    assert_eq!(s, 201, "{p}");
    let id = p["id"].as_i64().unwrap();
    assert_eq!(p["default_rules"][0]["name"], "充电器离线");
    // The default rule is a rule of the street watching the profile's devices.
    let (_, rules) = app.get_json(&admin, "/api/v1/rules").await;
    assert!(
        rules
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "充电器离线" && r["profile_id"] == id),
        "{rules}"
    );
    let (s, _) = post_json(&app, &admin, "/api/v1/device-profiles", good.clone()).await;
    assert_eq!(s, 409, "the code is taken");

    let path = format!("/api/v1/device-profiles/{id}");
    let (s, v) = patch(
        &app,
        &admin,
        &path,
        json!({"name": "电动车充电", "report_interval_s": 900}),
    )
    .await;
    assert_eq!(
        (s, &v["name"], &v["report_interval_s"]),
        (200, &json!("电动车充电"), &json!(900)),
        "{v}"
    );
    let (s, _) = patch(&app, &admin, &path, json!({"report_interval_s": 0})).await;
    assert_eq!(s, 422);
    let (s, _) = patch(&app, &admin, &path, json!({"code": "other"})).await;
    assert_eq!(s, 400, "the code does not change");
    let (s, _) = patch(
        &app,
        &admin,
        "/api/v1/device-profiles/99999999",
        json!({"name": "x"}),
    )
    .await;
    assert_eq!(s, 404);
    // Only the street administrator keeps profiles.
    for who in ["shegong", "wangge", "jumin"] {
        let t = app.token(who).await;
        let (s, _) = post_json(
            &app,
            &t,
            "/api/v1/device-profiles",
            bad("code", json!("mine")),
        )
        .await;
        assert_eq!(s, 403, "{who} creates no profile");
        let (s, _) = patch(&app, &t, &path, json!({"name": "x"})).await;
        assert_eq!(s, 403, "{who} changes no profile");
    }
    let jumin = app.token("jumin").await;
    assert_eq!(app.get_json(&jumin, "/api/v1/device-profiles").await.0, 403);
    app.stop().await;
}

#[tokio::test]
async fn a_person_is_bound_only_with_her_consent_recorded_and_audited() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let community = support::place_of(&app, "shegong").await;
    let (unit, unit_path, person) = unit_and_person_under(&app, community.clone()).await;
    let before = count(&app, "SELECT COUNT(*) FROM devices").await;

    // Without consent: refused, nothing written.
    let (s, v) = post_json(
        &app,
        &shegong,
        "/api/v1/devices",
        json!({"profile": "door_magnet", "serial": "C-1", "place_id": unit, "person_id": person}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("同意"),
        "{v}"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM devices").await, before);
    // A bad consent is refused as well.
    let (s, _) = post_json(
        &app,
        &shegong,
        "/api/v1/devices",
        json!({"profile": "door_magnet", "serial": "C-1", "place_id": unit, "person_id": person,
               "consent": {"how": "by_phone", "purpose": "看护"}}),
    )
    .await;
    assert_eq!(s, 422);
    // To the unit alone: no consent needed.
    let (s, v) = post_json(
        &app,
        &shegong,
        "/api/v1/devices",
        json!({"profile": "smoke_detector", "serial": "C-0", "place_path": unit_path}),
    )
    .await;
    assert_eq!(s, 201, "{v}");

    // With consent: bound, the consent recorded, the binding audited under her.
    let (s, v) = post_json(
        &app,
        &shegong,
        "/api/v1/devices",
        json!({"profile": "door_magnet", "serial": "C-1", "place_id": unit, "person_id": person,
               "consent": {"how": "paper_form", "purpose": "独居老人安全看护", "scan_ref": "SCAN-001"}}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v[0]["id"].as_i64().unwrap();
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "change");
    assert_eq!(e["subjects"], json!([format!("person:{person}")]));
    let (s, d) = app
        .get_json(&shegong, &format!("/api/v1/devices/{id}"))
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["device"]["person_id"], person);
    assert_eq!(d["consent"]["how"], "paper_form");
    assert_eq!(d["consent"]["purpose"], "独居老人安全看护");
    assert_eq!(d["consent"]["scan_ref"], "SCAN-001");
    assert_eq!(d["consent"]["recorded_by_name"], "陈静");
    // The device page shows it to those in scope.
    let (b, _) = app.login_page("shegong", support::PASSWORD).await;
    let page = app.page(&b, &format!("/devices/{id}")).await;
    assert!(page.contains("id=\"device-consent\"") && page.contains("独居老人安全看护"));
    assert!(page.contains("id=\"consent-withdraw\""));

    // A person outside her community is not hers to bind.
    let outsider = person_outside(&app, community.clone()).await;
    let (s, _) = patch(
        &app,
        &shegong,
        &format!("/api/v1/devices/{id}"),
        json!({"person_id": outsider, "consent": {"how": "in_person", "purpose": "看护"}}),
    )
    .await;
    assert_eq!(s, 422);

    // Withdrawn: unbound, the device stays on the unit; audited under her.
    let w = format!("/api/v1/devices/{id}/consent/withdraw");
    let wangge = app.token("wangge").await;
    let (s, _) = post_json(&app, &wangge, &w, json!({})).await;
    assert!(s == 403 || s == 404, "a grid worker withdraws nothing: {s}");
    let (s, v) = send(&app, reqwest::Method::POST, &shegong, &w, None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["person_id"], &v["place_id"]),
        (&Value::Null, &json!(unit))
    );
    let e = app.last_audit_entry().await;
    assert_eq!(e["subjects"], json!([format!("person:{person}")]));
    let (_, d) = app
        .get_json(&shegong, &format!("/api/v1/devices/{id}"))
        .await;
    assert_eq!(d["consent"], Value::Null);
    let withdrawn = count(
        &app,
        "SELECT COUNT(*) FROM device_consents WHERE withdrawn_at IS NOT NULL",
    )
    .await;
    assert!(withdrawn >= 1);
    let (s, _) = send(&app, reqwest::Method::POST, &shegong, &w, None).await;
    assert_eq!(s, 409, "nothing left to withdraw");

    // Bound again by a change: without consent refused, with it recorded.
    let path = format!("/api/v1/devices/{id}");
    let (s, _) = patch(&app, &shegong, &path, json!({"person_id": person})).await;
    assert_eq!(s, 422);
    let (s, v) = patch(
        &app,
        &shegong,
        &path,
        json!({"person_id": person, "consent": {"how": "in_person", "purpose": "居家安全"}}),
    )
    .await;
    assert_eq!((s, &v["person_id"]), (200, &json!(person)), "{v}");
    let (_, d) = app.get_json(&shegong, &path).await;
    assert_eq!(d["consent"]["how"], "in_person");

    // Outside her community: not found; a grid worker and a resident register nothing.
    let admin = app.token("admin").await;
    let elsewhere = devices(&app, &admin, "")
        .await
        .into_iter()
        .find(|d| !d.place_path.starts_with(&format!("{community}/")))
        .unwrap();
    let (s, _) = send(
        &app,
        reqwest::Method::POST,
        &shegong,
        &format!("/api/v1/devices/{}/consent/withdraw", elsewhere.id),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = post_json(
        &app,
        &shegong,
        "/api/v1/devices",
        json!({"profile": "smoke_detector", "serial": "C-9", "place_id": elsewhere_unit(&app, &community).await}),
    )
    .await;
    assert_eq!(s, 422, "a place outside her community is not hers");
    for who in ["wangge", "jumin"] {
        let t = app.token(who).await;
        let (s, _) = post_json(
            &app,
            &t,
            "/api/v1/devices",
            json!({"profile": "smoke_detector", "serial": "C-8", "place_id": unit}),
        )
        .await;
        assert_eq!(s, 403, "{who}");
    }
    app.stop().await;
}

async fn elsewhere_unit(app: &TestApp, community: &str) -> i64 {
    let c = format!("{community}/%");
    app.db
        .read(move |db| {
            db.query_i64(
                "SELECT MIN(id) FROM places WHERE kind = 'unit' AND path NOT LIKE $1",
                linli::params![c],
            )
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_csv_import_is_all_or_nothing_with_a_dry_run_and_a_row_report() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let community = support::place_of(&app, "shegong").await;
    let (unit, unit_path, person) = unit_and_person_under(&app, community).await;
    let before = count(&app, "SELECT COUNT(*) FROM devices").await;
    let consents = count(&app, "SELECT COUNT(*) FROM device_consents").await;
    let header = "serial,model,profile,place,person_id,consent_how,consent_purpose,consent_scan";
    let good = format!(
        "{header}\nCSV-1,JTY-GD-S3,smoke_detector,{unit_path},,,,\n\
         CSV-2,LX-DM200,door_magnet,{unit},{person},paper_form,独居老人看护,SCAN-9\n"
    );
    let bad = format!(
        "{good}CSV-3,LX-DM200,door_magnet,{unit},{person},,,\nCSV-1,X,smoke_detector,{unit_path},,,,\n\
         CSV-4,X,toaster,{unit_path},,,,\nCSV-5,X,smoke_detector,no/such/place,,,,\n"
    );
    // Refused rows: nothing written, each named by its line.
    let (s, r) = post_csv(&app, &admin, "", bad.clone()).await;
    assert_eq!(s, 422, "{r}");
    assert_eq!(r["applied"], false);
    let refused: Vec<(i64, String)> = r["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["row"].as_i64().unwrap(),
                x["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        vec![
            (4, "device.err_consent_needed".to_string()),
            (5, "device.err_serial_twice".to_string()),
            (6, "error.device_profile".to_string()),
            (7, "error.device_place".to_string()),
        ],
        "{r}"
    );
    assert!(r["refused"][0]["reason"].as_str().unwrap().contains("同意"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM devices").await, before);
    // The dry run of the good file reports and writes nothing.
    let (s, r) = post_csv(&app, &admin, "?dry_run=true", good.clone()).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (&r["applied"], &r["dry_run"], &r["rows"]),
        (&json!(false), &json!(true), &json!(2))
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM devices").await, before);
    // Applied: both rows, the consent with the bound one, audited under her.
    let (s, r) = post_csv(&app, &admin, "", good.clone()).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["applied"], true);
    assert_eq!(r["created"].as_array().unwrap().len(), 2);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM devices").await,
        before + 2
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM device_consents").await,
        consents + 1
    );
    let e = app.last_audit_entry().await;
    assert_eq!(e["subjects"], json!([format!("person:{person}")]));
    // The same file again: every serial is taken.
    let (s, r) = post_csv(&app, &admin, "", good).await;
    assert_eq!(s, 422);
    assert_eq!(r["refused"].as_array().unwrap().len(), 2);
    // A wrong header is refused whole; a grid worker imports nothing.
    let (s, v) = post_csv(&app, &admin, "", "serial,colour\nX,red\n".into()).await;
    assert_eq!(s, 400, "{v}");
    let wangge = app.token("wangge").await;
    let (s, _) = post_csv(&app, &wangge, "?dry_run=true", bad).await;
    assert_eq!(s, 403);
    app.stop().await;
}

#[tokio::test]
async fn the_setup_pages_register_import_and_keep_profiles() {
    let app = support::spawn().await;
    let (b, _) = app.login_page("admin", support::PASSWORD).await;
    let community = support::place_of(&app, "shegong").await;
    let (unit, _, person) = unit_and_person_under(&app, community).await;

    let list = app.page(&b, "/devices").await;
    assert!(list.contains("id=\"profiles-link\"") && list.contains("id=\"device-new-link\""));
    // A profile by its form: refused with the reason on the page, then saved.
    let page = app.page(&b, "/device-profiles/new").await;
    let csrf = support::extract_input(&page, "csrf").unwrap();
    let r = b
        .post(app.url("/device-profiles/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("code", "mattress"),
            ("name", "智能床垫"),
            ("device_type", "smart_mattress"),
            ("telemetry", "heart_rate bpm\nin_bed"),
            ("report_interval_s", "3"),
            ("default_rules", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"profile-error\""));
    let r = b
        .post(app.url("/device-profiles/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("code", "mattress"),
            ("name", "智能床垫"),
            ("device_type", "smart_mattress"),
            ("telemetry", "heart_rate bpm\nin_bed"),
            ("report_interval_s", "300"),
            ("default_rules", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let profiles = b
        .get(app.url("/device-profiles"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(profiles.contains("heart_rate bpm; in_bed"), "{profiles}");
    assert!(profiles.contains("Smart mattress"));

    // A device by its form: a person without consent is refused on the page.
    let r = b
        .post(app.url("/devices/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("profile", "mattress"),
            ("serial", "MT-1"),
            ("place", &unit.to_string()),
            ("person_id", &person.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"device-new-error\"") && html.contains("同意"));
    let r = b
        .post(app.url("/devices/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("profile", "mattress"),
            ("serial", "MT-1"),
            ("place", &unit.to_string()),
            ("person_id", &person.to_string()),
            ("consent_how", "in_person"),
            ("consent_purpose", "夜间看护"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let page = app.page(&b, &to).await;
    assert!(page.contains("夜间看护") && page.contains("当面确认"));
    // Withdrawn on the page.
    let r = b
        .post(app.url(&format!("{to}/consent/withdraw")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(!app.page(&b, &to).await.contains("夜间看护"));

    // The import page: a dry run shows the report.
    let csv = format!("serial,profile,place\nMT-2,mattress,{unit}\nMT-3,nothing,{unit}\n");
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("dry_run", "1")
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("d.csv"),
        );
    let r = b
        .post(app.url("/devices/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"import-rows\""), "{html}");

    // Others: a grid worker neither registers nor keeps profiles; a community worker
    // registers but keeps no profiles.
    let (w, _) = app.login_page("wangge", support::PASSWORD).await;
    for p in [
        "/devices/new",
        "/devices/import",
        "/device-profiles",
        "/device-profiles/new",
    ] {
        let r = w.get(app.url(p)).send().await.unwrap();
        assert_eq!(r.status(), 403, "{p}");
    }
    let (s, _) = app.login_page("shegong", support::PASSWORD).await;
    assert_eq!(
        s.get(app.url("/devices/new"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        s.get(app.url("/device-profiles"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    app.stop().await;
}
