//! Devices: listed by scope, tokens only to administrators, and a deactivated device refused,
//! disarmed and shown as such.

use super::*;

#[tokio::test]
async fn devices_are_listed_by_scope_and_tokens_only_to_administrators() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let wangge = app.token("wangge").await;
    let grid = support::place_of(&app, "wangge").await;
    let all = devices(&app, &admin, "").await;
    assert!(all.len() > 10);
    assert!(all.iter().any(|d| !d.place_path.starts_with(&grid)));
    let (s, v) = app.get_json(&wangge, "/api/v1/devices?limit=1000").await;
    assert_eq!(s, 200);
    let mine = v["items"].as_array().unwrap();
    assert!(!mine.is_empty());
    for d in mine {
        assert!(
            d["place_path"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{grid}/"))
        );
        assert!(
            d.get("token").is_none(),
            "a grid worker does not see tokens"
        );
    }
    let outside = all
        .iter()
        .find(|d| !d.place_path.starts_with(&grid))
        .unwrap();
    let (s, _) = app
        .get_json(&wangge, &format!("/api/v1/devices/{}", outside.id))
        .await;
    assert_eq!(s, 404);
    // Nor its alerts: not in the list, not by id, not to acknowledge.
    let rule = create_rule(
        &app,
        &admin,
        json!({"name": "烟雾", "kind": "event", "severity": "critical", "device_id": outside.id,
               "params": {"key": "smoke", "equals": 1}}),
    )
    .await;
    assert_eq!(post(&app, &outside.token, json!({"smoke": 1})).await.0, 200);
    let alert = alerts_of(&app, rule).await[0].0;
    let (_, list) = app.get_json(&wangge, "/api/v1/alerts?limit=1000").await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["id"] != alert)
    );
    assert_eq!(
        app.get_json(&wangge, &format!("/api/v1/alerts/{alert}"))
            .await
            .0,
        404
    );
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/alerts/{alert}/ack")))
        .bearer_auth(&wangge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let (_, list) = app.get_json(&admin, "/api/v1/alerts?limit=1000").await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == alert)
    );
    // Residents see no devices at all.
    let jumin = app.token("jumin").await;
    assert_eq!(app.get_json(&jumin, "/api/v1/devices").await.0, 403);
    // Provisioning: a unit is required, the profile must exist, the serial is unique.
    let unit = app
        .db
        .read(|c| {
            c.query_i64(
                "SELECT id FROM places WHERE kind = 'unit' ORDER BY id LIMIT 1",
                &[],
            )
        })
        .await
        .unwrap();
    let c = app.client();
    let r = c
        .post(app.url("/api/v1/devices"))
        .bearer_auth(&admin)
        .json(&json!({"profile": "door_magnet", "serial": "T-1", "place_id": unit}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let token = v[0]["token"].as_str().unwrap().to_string();
    assert_eq!(post(&app, &token, json!({"door": "open"})).await.0, 200);
    let r = c
        .post(app.url("/api/v1/devices"))
        .bearer_auth(&admin)
        .json(&json!({"profile": "door_magnet", "serial": "T-1", "place_id": unit}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = c
        .post(app.url("/api/v1/devices"))
        .bearer_auth(&admin)
        .json(&json!({"profile": "toaster", "serial": "T-2", "place_id": unit}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("toaster"));
    let r = c
        .post(app.url("/api/v1/devices"))
        .bearer_auth(&wangge)
        .json(&json!({"profile": "door_magnet", "serial": "T-3", "place_id": unit}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn a_deactivated_device_is_refused_disarmed_and_shown_as_such() {
    let app = support::spawn().await;
    let t0 = noon_today();
    linli::sensing::of(&app.state).clock.set(t0);
    let admin = app.token("admin").await;
    let wangge = app.token("wangge").await;
    let dev = door_in_grid(&app, &admin).await;
    let person = dev.person_id.expect("a door magnet is bound to a person");
    let off = create_rule(
        &app,
        &admin,
        json!({"name": "离线", "kind": "offline", "severity": "warning", "device_id": dev.id, "params": {"after_s": 600}}),
    )
    .await;
    let shut = create_rule(
        &app,
        &admin,
        json!({"name": "一小时无开门", "kind": "absence", "severity": "major", "device_id": dev.id,
               "params": {"key": "door", "equals": "open", "absence_s": 3600}}),
    )
    .await;
    assert_eq!(
        post(
            &app,
            &dev.token,
            json!({"ts": t0, "values": {"door": "open"}})
        )
        .await
        .0,
        200
    );
    assert_eq!(timers_for(&app, dev.id, &[off, shut]).await.len(), 2);
    linli::sensing::of(&app.state).clock.set(t0 + 601_000);
    tick(&app).await;
    assert_eq!(
        alerts_of(&app, off).await.len(),
        1,
        "offline before it is deactivated"
    );

    let path = format!("/api/v1/devices/{}", dev.id);
    let (s, _) = patch(&app, &wangge, &path, json!({"active": false})).await;
    assert_eq!(s, 403, "a grid worker does not deactivate devices");
    let (s, v) = patch(&app, &admin, &path, json!({"active": false})).await;
    assert_eq!((s, &v["active"]), (200, &json!(false)), "{v}");
    assert!(
        timers_of(&app, dev.id).await.is_empty(),
        "its timers are disarmed"
    );
    assert_eq!(
        alerts_of(&app, off).await[0].1,
        "cleared_unack",
        "its alert is cleared"
    );
    // Its token is refused with a reason, counted like every refusal.
    let (s, v) = post(&app, &dev.token, json!({"door": "open"})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("inactive_device")),
        "{v}"
    );
    assert!(
        v["error"]["message"].as_str().unwrap().contains("停用"),
        "{v}"
    );
    assert!(metrics(&app).await.contains(
        "linli_telemetry_refused_total{reason=\"inactive_device\",transport=\"http\"} 1"
    ));
    // No offline and no absence alert, however long it stays silent.
    linli::sensing::of(&app.state)
        .clock
        .set(t0 + 3 * 86_400_000);
    tick(&app).await;
    rules::sync_now(&app.state).await.unwrap();
    tick(&app).await;
    assert_eq!(alerts_of(&app, off).await.len(), 1);
    assert!(alerts_of(&app, shut).await.is_empty());
    assert!(timers_of(&app, dev.id).await.is_empty());
    // Listed only when asked for; its own page says so.
    let (_, list) = app.get_json(&admin, "/api/v1/devices?limit=1000").await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["id"] != dev.id)
    );
    let (_, list) = app.get_json(&admin, "/api/v1/devices?active=false").await;
    assert_eq!(list["items"][0]["id"], dev.id);
    let (b, _) = app.login_page("admin", support::PASSWORD).await;
    let html = |p: String| {
        let b = b.clone();
        let u = app.url(&p);
        async move { b.get(u).send().await.unwrap().text().await.unwrap() }
    };
    let grid = support::place_of(&app, "wangge").await;
    let grid = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM places WHERE path = $1",
                linli::params![grid],
            )
        })
        .await
        .unwrap();
    let devices_page = html(format!("/devices?grid={grid}")).await;
    assert!(
        devices_page.contains(&format!("id=\"dev-{}\" class=\"muted\"", dev.id)),
        "the list marks it"
    );
    let page = html(format!("/devices/{}", dev.id)).await;
    assert!(page.contains("id=\"device-inactive\"") && page.contains("id=\"device-activate\""));
    let csrf = support::extract_input(&page, "csrf").unwrap();
    // A wrong place is refused on the page, in the page's language.
    let r = b
        .post(app.url(&format!("/devices/{}", dev.id)))
        .form(&[
            ("csrf", csrf.as_str()),
            ("place_id", "99999999"),
            ("person_id", ""),
            ("household_id", ""),
            ("profile", "door_magnet"),
            ("model", "M"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"device-error\""));
    // Activated again from its page: readings are taken and its timers are armed from now.
    let r = b
        .post(app.url(&format!("/devices/{}", dev.id)))
        .form(&[("csrf", csrf.as_str()), ("active", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let now = linli::sensing::of(&app.state).clock.now_ms();
    assert_eq!(
        timers_for(&app, dev.id, &[off, shut]).await,
        vec![(off, now + 600_000), (shut, now + 3_600_000)],
        "as for a device just installed"
    );
    assert_eq!(
        post(&app, &dev.token, json!({"door": "closed"})).await.0,
        200
    );
    // Unbinding the person is a change to how that person is looked after: audited.
    let (s, v) = patch(
        &app,
        &admin,
        &path,
        json!({"person_id": null, "model": "MC-2"}),
    )
    .await;
    assert_eq!(
        (s, &v["person_id"], &v["model"]),
        (200, &Value::Null, &json!("MC-2")),
        "{v}"
    );
    let entry = app.last_audit_entry().await;
    assert_eq!(entry["action"], "change");
    assert_eq!(entry["subjects"], json!([format!("person:{person}")]));
    let (s, v) = patch(&app, &admin, &path, json!({"profile": "toaster"})).await;
    assert_eq!(s, 422, "{v}");
    let (s, _) = patch(&app, &admin, &path, json!({"serial": "X"})).await;
    assert_eq!(s, 400, "the serial does not change");
}
