//! Rules with the engine's clock injected: threshold, event, daily window, water use and
//! offline, and changed parameters (per person too) applied and audited.

use super::*;

#[tokio::test]
async fn threshold_rule_needs_duration_and_repeats_and_clears_itself() {
    let app = support::spawn().await;
    let t0 = noon_today();
    linli::sensing::of(&app.state).clock.set(t0);
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let rule = create_rule(
        &app,
        &admin,
        json!({"name": "体温过高", "kind": "threshold", "severity": "major", "device_id": dev.id,
               "params": {"key": "temp", "op": "gt", "value": 38.0, "duration_s": 60, "repeat": 3}}),
    )
    .await;
    let send = |ts: i64, v: f64| {
        let (app, tok) = (&app, dev.token.clone());
        async move {
            post(app, &tok, json!({"ts": ts, "values": {"temp": v}}))
                .await
                .0
        }
    };
    assert_eq!(send(t0, 38.5).await, 200);
    assert_eq!(send(t0 + 30_000, 39.0).await, 200);
    assert!(
        alerts_of(&app, rule).await.is_empty(),
        "two readings in 30 s: not yet"
    );
    assert_eq!(send(t0 + 61_000, 39.2).await, 200);
    assert_eq!(
        alerts_of(&app, rule).await.len(),
        1,
        "three readings over 61 s: alert"
    );
    // Repeats update the alert instead of adding one; a retry does not count.
    send(t0 + 90_000, 39.5).await;
    send(t0 + 90_000, 39.5).await;
    let a = alerts_of(&app, rule).await;
    assert_eq!((a.len(), a[0].1.as_str(), a[0].2), (1, "active_unack", 2));
    // Back in range: the alert clears itself; the count starts again.
    send(t0 + 120_000, 36.8).await;
    assert_eq!(alerts_of(&app, rule).await[0].1, "cleared_unack");
    send(t0 + 130_000, 38.9).await;
    assert_eq!(alerts_of(&app, rule).await.len(), 1);
    // Per-person threshold: the same rule with a higher limit for this person.
    let person = dev.person_id.expect("a door magnet is bound to a person");
    let rule2 = create_rule(
        &app,
        &admin,
        json!({"name": "心率", "kind": "threshold", "severity": "critical", "device_id": dev.id,
               "params": {"key": "heart_rate", "op": "gt", "value": 100.0},
               "overrides": [{"person_id": person, "params": {"value": 120.0}}]}),
    )
    .await;
    post(
        &app,
        &dev.token,
        json!({"ts": t0 + 200_000, "values": {"heart_rate": 110}}),
    )
    .await;
    assert!(
        alerts_of(&app, rule2).await.is_empty(),
        "110 is within this person's own range"
    );
    post(
        &app,
        &dev.token,
        json!({"ts": t0 + 210_000, "values": {"heart_rate": 125}}),
    )
    .await;
    assert_eq!(alerts_of(&app, rule2).await.len(), 1);
    // Bad rules are refused with a message.
    let r = app
        .client()
        .post(app.url("/api/v1/rules"))
        .bearer_auth(&admin)
        .json(&json!({"name": "x", "kind": "threshold", "severity": "major", "device_id": dev.id, "params": {"key": "t", "op": "above", "value": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("gt"));
}

#[tokio::test]
async fn event_rule_fires_only_while_the_quarantine_lasts() {
    let app = support::spawn().await;
    let t0 = noon_today();
    linli::sensing::of(&app.state).clock.set(t0);
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let person = dev.person_id.unwrap();
    let today = linli::sensing::rules::local_date(t0);
    let tomorrow = linli::sensing::rules::local_date(t0 + 86_400_000);
    let yesterday = linli::sensing::rules::local_date(t0 - 86_400_000);
    let (t, tm) = (today.clone(), tomorrow.clone());
    app.db
        .write(move |c| {
            let street = c.query_i64("SELECT street_id FROM persons WHERE id = $1", linli::params![person])?;
            c.exec(
                "INSERT INTO person_tags (street_id, person_id, tag, valid_from, valid_to, source, created_at) \
                 VALUES ($1, $2, 'home_quarantine', $3, $4, 'form', 0)",
                linli::params![street, person, t, tm],
            )
        })
        .await
        .unwrap();
    linli::sensing::of(&app.state).devices_changed();
    let rule = app
        .db
        .read(|c| c.query_i64("SELECT id FROM rules WHERE kind = 'event' AND tag = 'home_quarantine' ORDER BY id LIMIT 1", &[]))
        .await
        .unwrap();
    // Closed is not the event; opening during the quarantine is.
    post(
        &app,
        &dev.token,
        json!({"ts": t0, "values": {"door": "closed"}}),
    )
    .await;
    assert!(alerts_of(&app, rule).await.is_empty());
    post(
        &app,
        &dev.token,
        json!({"ts": t0 + 1000, "values": {"door": "open"}}),
    )
    .await;
    assert_eq!(alerts_of(&app, rule).await.len(), 1);
    // An opening stamped before the quarantine began does not count.
    let (_, _) = (yesterday, tomorrow);
    let before = alerts_of(&app, rule).await[0].2;
    post(
        &app,
        &dev.token,
        json!({"ts": t0 - 86_400_000, "values": {"door": "open"}}),
    )
    .await;
    assert_eq!(alerts_of(&app, rule).await[0].2, before);
}

#[tokio::test]
async fn daily_window_water_use_and_offline_rules() {
    let app = support::spawn().await;
    let t0 = noon_today();
    let day = 86_400_000;
    let seven = t0 - 5 * 3_600_000; // 07:00 today
    linli::sensing::of(&app.state).clock.set(t0 - 6 * 3_600_000); // 06:00
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let window = create_rule(
        &app,
        &admin,
        json!({"name": "早间未开门", "kind": "absence", "severity": "warning", "device_id": dev.id,
               "params": {"key": "door", "equals": "open", "window": "07:00-10:00"}}),
    )
    .await;
    // Today the door opens at 08:00: at 10:00 all is well.
    linli::sensing::of(&app.state).clock.set(seven + 3_600_000);
    let (s, _) = post(
        &app,
        &dev.token,
        json!({"ts": seven + 3_600_000, "values": {"door": "open"}}),
    )
    .await;
    assert_eq!(s, 200);
    linli::sensing::of(&app.state)
        .clock
        .set(seven + 3 * 3_600_000 + 1000);
    tick(&app).await;
    assert!(alerts_of(&app, window).await.is_empty());
    // Tomorrow it stays shut until after 10:00: alert at 10:00 tomorrow, not before.
    linli::sensing::of(&app.state)
        .clock
        .set(seven + day + 3 * 3_600_000 - 1000);
    tick(&app).await;
    assert!(alerts_of(&app, window).await.is_empty());
    linli::sensing::of(&app.state)
        .clock
        .set(seven + day + 3 * 3_600_000 + 1000);
    tick(&app).await;
    assert_eq!(alerts_of(&app, window).await.len(), 1);

    // Water: under 0.01 m³ in 12 h.
    let grid = support::place_of(&app, "wangge").await;
    let meter = devices(
        &app,
        &admin,
        &format!("device_type=water_meter&under={grid}"),
    )
    .await
    .remove(0);
    let t1 = seven + day + 4 * 3_600_000;
    linli::sensing::of(&app.state).clock.set(t1);
    let water = create_rule(
        &app,
        &admin,
        json!({"name": "用水过少", "kind": "absence", "severity": "major", "device_id": meter.id,
               "params": {"key": "volume", "min_total": 0.01, "absence_s": 43200}}),
    )
    .await;
    for h in 0..12 {
        linli::sensing::of(&app.state).clock.set(t1 + h * 3_600_000);
        let (s, _) = post(
            &app,
            &meter.token,
            json!({"ts": t1 + h * 3_600_000, "values": {"volume": 120.5 + h as f64 * 0.0001}}),
        )
        .await;
        assert_eq!(s, 200);
    }
    linli::sensing::of(&app.state)
        .clock
        .set(t1 + 43_200_000 + 1000);
    tick(&app).await;
    let a = alerts_of(&app, water).await;
    assert_eq!(a.len(), 1, "0.0011 m³ in 12 h is under 0.01");

    // Offline: no contact for longer than asked.
    // (A contact first: armed now, the offline timer counts from it.)
    post(&app, &meter.token, json!({"values": {"volume": 121.0}})).await;
    let t2 = linli::sensing::of(&app.state).clock.now_ms();
    let off = create_rule(
        &app,
        &admin,
        json!({"name": "离线", "kind": "offline", "severity": "warning", "device_id": meter.id, "params": {"after_s": 600}}),
    )
    .await;
    linli::sensing::of(&app.state).clock.set(t2 + 599_000);
    tick(&app).await;
    assert!(alerts_of(&app, off).await.is_empty());
    linli::sensing::of(&app.state).clock.set(t2 + 601_000);
    tick(&app).await;
    assert_eq!(alerts_of(&app, off).await.len(), 1);
    // The device list's online state follows the profile's reporting interval (an hour).
    let (_, d) = app
        .get_json(&admin, &format!("/api/v1/devices/{}", meter.id))
        .await;
    assert_eq!(d["device"]["online"], true);
    linli::sensing::of(&app.state).clock.set(t2 + 3_601_000);
    let (_, d) = app
        .get_json(&admin, &format!("/api/v1/devices/{}", meter.id))
        .await;
    assert_eq!(d["device"]["online"], false);
    post(&app, &meter.token, json!({"values": {"volume": 121.5}})).await;
    assert_eq!(
        alerts_of(&app, off).await[0].1,
        "cleared_unack",
        "back online clears it"
    );
}

#[tokio::test]
async fn changed_threshold_and_per_person_parameters_apply_and_are_audited() {
    let app = support::spawn().await;
    let t0 = noon_today();
    linli::sensing::of(&app.state).clock.set(t0);
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let person = dev.person_id.expect("a door magnet is bound to a person");
    let rule = create_rule(
        &app,
        &admin,
        json!({"name": "心率", "kind": "threshold", "severity": "major", "device_id": dev.id,
               "params": {"key": "heart_rate", "op": "gt", "value": 100.0}}),
    )
    .await;
    let path = format!("/api/v1/rules/{rule}");
    let (s, v) = patch(
        &app,
        &admin,
        &path,
        json!({"params": {"value": 110.0}, "overrides": [{"person_id": person, "params": {"value": 130.0}}]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let entry = app.last_audit_entry().await;
    assert_eq!(entry["action"], "change");
    assert!(
        entry["subjects"]
            .as_array()
            .unwrap()
            .contains(&json!(format!("person:{person}"))),
        "{entry}"
    );
    post(
        &app,
        &dev.token,
        json!({"ts": t0, "values": {"heart_rate": 120}}),
    )
    .await;
    assert!(
        alerts_of(&app, rule).await.is_empty(),
        "within this person's own range"
    );
    post(
        &app,
        &dev.token,
        json!({"ts": t0 + 1000, "values": {"heart_rate": 131}}),
    )
    .await;
    assert_eq!(alerts_of(&app, rule).await.len(), 1);
    // A person who is not in the street's registry gets no parameters.
    let (s, v) = patch(
        &app,
        &admin,
        &path,
        json!({"overrides": [{"person_id": 99_999_999, "params": {"value": 1.0}}]}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    // Watching another key: what was counted under the old one is cleared.
    let (s, _) = patch(&app, &admin, &path, json!({"params": {"key": "pulse"}})).await;
    assert_eq!(s, 200);
    assert_eq!(alerts_of(&app, rule).await[0].1, "cleared_unack");
}
