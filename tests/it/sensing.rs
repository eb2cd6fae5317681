//! Sensing and alerts: ingestion over HTTP (idempotent, refusals counted), every rule kind
//! with the engine's clock injected (absence across a restart), the alert lifecycle with
//! escalation, scope, the FIWARE shape and the live stream, MQTT end to end against a real
//! broker through a proxy that is cut, housekeeping, and the pages.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{self, TestApp};
use linli::sensing::rules;

/// A fixed "now" for the engine's clock: today at 12:00 China Standard Time, so tags valid
/// today are valid and daily windows are predictable.
fn noon_today() -> i64 {
    let now = linli::store::now_ms();
    let day = 86_400_000;
    let cst = 8 * 3_600_000;
    (now + cst) / day * day - cst + 12 * 3_600_000
}

/// A device as the administrator's list shows it.
#[derive(Clone, Debug)]
struct Dev {
    id: i64,
    token: String,
    person_id: Option<i64>,
    place_path: String,
}

async fn devices(app: &TestApp, admin: &str, query: &str) -> Vec<Dev> {
    let (s, v) = app
        .get_json(admin, &format!("/api/v1/devices?limit=1000&{query}"))
        .await;
    assert_eq!(s, 200, "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| Dev {
            id: d["id"].as_i64().unwrap(),
            token: d["token"]
                .as_str()
                .expect("administrators see the token")
                .to_string(),
            person_id: d["person_id"].as_i64(),
            place_path: d["place_path"].as_str().unwrap().to_string(),
        })
        .collect()
}

/// A door magnet of an elderly person in wangge's grid.
async fn door_in_grid(app: &TestApp, admin: &str) -> Dev {
    let grid = support::place_of(app, "wangge").await;
    let list = devices(app, admin, &format!("device_type=door_magnet&under={grid}")).await;
    list.into_iter()
        .next()
        .expect("the demo has a door magnet in wangge's grid")
}

async fn post(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let r = app
        .client()
        .post(app.url("/api/v1/telemetry"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn create_rule(app: &TestApp, admin: &str, body: Value) -> i64 {
    let r = app
        .client()
        .post(app.url("/api/v1/rules"))
        .bearer_auth(admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert_eq!(s, 201, "{v}");
    v["id"].as_i64().unwrap()
}

/// Alerts of one rule, straight from the database (state, hits).
async fn alerts_of(app: &TestApp, rule: i64) -> Vec<(i64, String, i64)> {
    app.db
        .read(move |c| {
            c.query(
                "SELECT id, state, hits FROM alerts WHERE rule_id = $1 ORDER BY id",
                linli::params![rule],
            )
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.i64(0), r.str(1), r.i64(2)))
        .collect()
}

async fn tick(app: &TestApp) {
    // The server's own timer loop ticks as well: on PostgreSQL two ticks at once can deadlock,
    // and the one that loses is rolled back whole, so it is simply tried again.
    for _ in 0..5 {
        match rules::tick(&app.state).await {
            Err(linli::store::StoreError::Busy) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            r => {
                r.unwrap();
                return;
            }
        }
    }
    panic!("the timers stayed busy five times");
}

#[tokio::test]
async fn http_ingestion_is_idempotent_and_refusals_are_counted() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let ts = linli::store::now_ms() - 60_000;
    let batch = json!([
        {"ts": ts, "values": {"door": "open", "battery": 91}},
        {"ts": ts + 1000, "values": {"door": "closed"}}
    ]);
    let (s, v) = post(&app, &dev.token, batch.clone()).await;
    assert_eq!((s, v["accepted"].as_i64()), (200, Some(3)), "{v}");
    // The same batch again (a retry) and a single reading without ts.
    assert_eq!(post(&app, &dev.token, batch).await.0, 200);
    assert_eq!(
        post(&app, &dev.token, json!({"values": {"battery": 90}}))
            .await
            .0,
        200
    );
    let id = dev.id;
    let n = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM readings WHERE device_id = $1",
                linli::params![id],
            )
        })
        .await
        .unwrap();
    assert_eq!(n, 4, "the retried batch is stored once");
    let (s, d) = app.get_json(&admin, &format!("/api/v1/devices/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(d["device"]["online"], true);
    let latest = d["latest"].as_array().unwrap();
    let door = latest.iter().find(|v| v["key"] == "door").unwrap();
    assert_eq!(
        (door["text"].as_str(), door["ts"].as_i64()),
        (Some("closed"), Some(ts + 1000))
    );
    let battery = latest.iter().find(|v| v["key"] == "battery").unwrap();
    assert_eq!(battery["num"], 90.0);
    // An older reading arriving late does not overwrite the latest state.
    post(
        &app,
        &dev.token,
        json!({"ts": ts - 5000, "values": {"door": "open"}}),
    )
    .await;
    let (_, d) = app.get_json(&admin, &format!("/api/v1/devices/{id}")).await;
    let door = d["latest"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == "door")
        .unwrap()
        .clone();
    assert_eq!(door["text"], "closed");

    // Refusals, each with a reason a person can act on, in both languages.
    let c = app.client();
    let r = c
        .post(app.url("/api/v1/telemetry"))
        .json(&json!({"a": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "no_token");
    assert!(v["error"]["message"].as_str().unwrap().contains("设备令牌"));
    let (s, v) = post(&app, "dev_not-a-token", json!({"a": 1})).await;
    assert_eq!((s, v["error"]["code"].as_str()), (401, Some("bad_token")));
    let r = c
        .post(app.url("/api/v1/telemetry"))
        .bearer_auth(&dev.token)
        .body("{\"ts\": 1, \"values\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "malformed");
    assert!(v["error"]["message"].as_str().unwrap().contains("JSON"));
    let (s, v) = post(
        &app,
        &dev.token,
        json!({"ts": linli::store::now_ms() + 86_400_000, "values": {"a": 1}}),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("bad_ts")),
        "{v}"
    );
    let (s, v) = post(&app, &dev.token, json!({"values": {"a": {"nested": 1}}})).await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("bad_value")));
    let metrics = c
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for reason in ["no_token", "bad_token", "malformed", "bad_ts", "bad_value"] {
        assert!(
            metrics.contains(&format!(
                "linli_telemetry_refused_total{{reason=\"{reason}\",transport=\"http\"}} 1"
            )),
            "{reason} counted:\n{}",
            metrics
                .lines()
                .filter(|l| l.contains("telemetry"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(metrics.contains("linli_telemetry_readings_total{transport=\"http\"} 8"));
    // Nothing of the refused payloads was stored.
    let n2 = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM readings WHERE device_id = $1",
                linli::params![id],
            )
        })
        .await
        .unwrap();
    assert_eq!(n2, 5);
}

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
async fn absence_rule_fires_on_time_without_messages_and_survives_a_restart() {
    let app = support::spawn().await;
    let t0 = noon_today();
    linli::sensing::of(&app.state).clock.set(t0);
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let rule = door_absence_rule(&app, &admin, dev.id, "两小时无开门", 7200).await;
    // The door opens at t0 + 10 min: the timer moves to t0 + 2 h 10 min.
    post(
        &app,
        &dev.token,
        json!({"ts": t0 + 600_000, "values": {"door": "open"}}),
    )
    .await;
    linli::sensing::of(&app.state)
        .clock
        .set(t0 + 7_200_000 + 1000);
    tick(&app).await;
    assert!(
        alerts_of(&app, rule).await.is_empty(),
        "the opening pushed the timer"
    );

    // "Restart": a second engine on the same database, with nothing in memory, re-arms from
    // the database and fires exactly once when due.
    let cfg = (*app.state.cfg).clone();
    let keys = linli::store::keys::FieldKeys::load_or_create(&cfg.keys_dir()).unwrap();
    let log_key = linli::audit::LogKey::load_or_create(&cfg.keys_dir()).unwrap();
    let fresh = linli::app::state(app.db.clone(), cfg, keys, log_key);
    linli::sensing::of(&fresh).clock.set(t0 + 7_800_000 + 1000);
    linli::sensing::of(&app.state)
        .clock
        .set(t0 + 7_800_000 + 1000);
    linli::sensing::of(&fresh)
        .reload_rules(&fresh.db)
        .await
        .unwrap();
    rules::sync_now(&fresh).await.unwrap();
    rules::tick(&fresh).await.unwrap();
    rules::tick(&fresh).await.unwrap();
    tick(&app).await;
    let a = alerts_of(&app, rule).await;
    assert_eq!(a.len(), 1, "fired once, not lost, not repeated: {a:?}");
    assert_eq!(a[0].2, 1);
    // A case opened in the same transaction: from the sensor channel, on the device's place,
    // for the grid worker responsible for it (the place's grid's worker, when it has one).
    let id = a[0].0;
    let (case_state, case_id, channel, case_place, alert_place, handler_ok) = app
        .db
        .read(move |c| {
            let a = c.query_one(
                "SELECT a.case_state, a.case_id, k.channel, k.place_id, a.place_id, \
                 (k.handler_user_id IS NULL OR EXISTS (SELECT 1 FROM user_roles r JOIN places g ON g.id = r.place_id \
                   WHERE r.user_id = k.handler_user_id AND r.role = 'grid_worker' AND a.place_path LIKE g.path || '/%')) \
                 FROM alerts a JOIN cases k ON k.id = a.case_id WHERE a.id = $1",
                linli::params![id],
            )?;
            Ok((a.str(0), a.i64(1), a.str(2), a.i64(3), a.i64(4), a.bool(5)))
        })
        .await
        .unwrap();
    assert_eq!(case_state, "opened");
    assert!(case_id > 0);
    assert_eq!(channel, "sensor");
    assert_eq!(case_place, alert_place);
    assert!(handler_ok, "dispatched to the grid's own worker");
    // Still shut two hours later: the same alert counts again.
    linli::sensing::of(&fresh).clock.set(t0 + 15_100_000);
    linli::sensing::of(&app.state).clock.set(t0 + 15_100_000);
    rules::tick(&fresh).await.unwrap();
    let a = alerts_of(&app, rule).await;
    assert_eq!((a.len(), a[0].2), (1, 2));
    // The door opens: the alert clears itself.
    post(
        &app,
        &dev.token,
        json!({"ts": t0 + 15_150_000, "values": {"door": "open"}}),
    )
    .await;
    assert_eq!(alerts_of(&app, rule).await[0].1, "cleared_unack");
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
async fn alert_lifecycle_escalation_scope_fiware_and_live_stream() {
    let app = support::spawn().await;
    let t0 = noon_today();
    linli::sensing::of(&app.state).clock.set(t0);
    let admin = app.token("admin").await;
    let wangge = app.token("wangge").await;
    let shegong = app.token("shegong").await;
    let dev = door_in_grid(&app, &admin).await;
    let rule = create_rule(
        &app,
        &admin,
        json!({"name": "烟雾", "kind": "event", "severity": "critical", "device_id": dev.id, "ack_minutes": 5,
               "category": "fire_safety", "params": {"key": "smoke", "equals": 1}}),
    )
    .await;
    // The grid worker listens on the live stream.
    let mut stream = app
        .client()
        .get(app.url("/api/v1/alerts/stream"))
        .bearer_auth(&wangge)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut buf = String::new();
    while !buf.contains("event: ready") {
        buf.push_str(&String::from_utf8_lossy(
            &stream.chunk().await.unwrap().unwrap(),
        ));
    }
    post(&app, &dev.token, json!({"ts": t0, "values": {"smoke": 1}})).await;
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = String::new();
        while !buf.contains("\n\n") || !buf.contains("event: alert") {
            buf.push_str(&String::from_utf8_lossy(
                &stream.chunk().await.unwrap().unwrap(),
            ));
        }
        buf
    })
    .await
    .expect("the alert arrives on the stream");
    assert!(
        got.contains("\"action\":\"raised\"") && got.contains("烟雾"),
        "{got}"
    );
    let id = alerts_of(&app, rule).await[0].0;

    // The grid worker sees it; a worker of another grid would not (scope on every read).
    let (s, v) = app
        .get_json(&wangge, "/api/v1/alerts?active=true&severity=critical")
        .await;
    assert_eq!(s, 200);
    assert!(v["items"].as_array().unwrap().iter().any(|a| a["id"] == id));
    assert_eq!(
        v["items"][0]["responsible_path"],
        support::place_of(&app, "wangge").await
    );
    assert_eq!(
        app.get_json(&wangge, "/api/v1/alerts?state=bogus").await.0,
        400
    );
    // FIWARE Smart Data Models shape.
    let (_, f) = app
        .get_json(&wangge, &format!("/api/v1/alerts/{id}?format=fiware"))
        .await;
    assert_eq!(f["type"], "Alert");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["category"], "security");
    assert_eq!(f["id"], format!("urn:ngsi-ld:Alert:linli:{id}"));
    assert!(f["dateIssued"].as_str().unwrap().ends_with('Z'));
    let (_, fl) = app.get_json(&wangge, "/api/v1/alerts?format=fiware").await;
    assert!(fl.as_array().unwrap().iter().all(|a| a["type"] == "Alert"));

    // Not acknowledged within 5 minutes: escalates to the community, then the street.
    linli::sensing::of(&app.state)
        .clock
        .set(t0 + 5 * 60_000 + 1000);
    tick(&app).await;
    let (_, a) = app
        .get_json(&shegong, &format!("/api/v1/alerts/{id}"))
        .await;
    assert_eq!(a["alert"]["level"], 1);
    assert_eq!(
        a["alert"]["responsible_path"],
        support::place_of(&app, "shegong").await
    );
    linli::sensing::of(&app.state)
        .clock
        .set(t0 + 10 * 60_000 + 2000);
    tick(&app).await;
    let (_, a) = app.get_json(&wangge, &format!("/api/v1/alerts/{id}")).await;
    assert_eq!(a["alert"]["level"], 2);

    // Acknowledge, clear, and the refusals in between.
    let c = app.client();
    let ack = |tok: &str| {
        c.post(app.url(&format!("/api/v1/alerts/{id}/ack")))
            .bearer_auth(tok.to_string())
    };
    let clear = |tok: &str| {
        c.post(app.url(&format!("/api/v1/alerts/{id}/clear")))
            .bearer_auth(tok.to_string())
    };
    let r = ack(&wangge)
        .json(&json!({"note": "已电话联系"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["state"], "active_ack");
    let r = ack(&wangge).send().await.unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("已确认"));
    // Acknowledged alerts no longer escalate.
    linli::sensing::of(&app.state).clock.set(t0 + 60 * 60_000);
    tick(&app).await;
    let (_, a) = app.get_json(&wangge, &format!("/api/v1/alerts/{id}")).await;
    assert_eq!(a["alert"]["level"], 2);
    assert_eq!(clear(&wangge).send().await.unwrap().status(), 200);
    assert_eq!(clear(&wangge).send().await.unwrap().status(), 409);
    let (_, a) = app.get_json(&wangge, &format!("/api/v1/alerts/{id}")).await;
    assert_eq!(a["alert"]["state"], "cleared_ack");
    let actions: Vec<&str> = a["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "raised",
            "case_requested",
            "escalated",
            "escalated",
            "acknowledged",
            "cleared"
        ]
    );
    // One active alert per rule and device: a new smoke event after clearing is a new alert.
    post(
        &app,
        &dev.token,
        json!({"ts": t0 + 61 * 60_000, "values": {"smoke": 1}}),
    )
    .await;
    let all = alerts_of(&app, rule).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].1, "active_unack");
    // A resident cannot act on alerts.
    let jumin = app.token("jumin").await;
    assert_eq!(ack(&jumin).send().await.unwrap().status(), 403);
}

/// (n, sum, min, max) of a device's battery hour, and the device's raw readings left.
async fn battery_hour(app: &support::TestApp, id: i64, h: i64) -> ((i64, f64, f64, f64), i64) {
    let r = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT n, sum, min, max, (SELECT COUNT(*) FROM readings WHERE device_id = $1) \
                 FROM readings_hourly WHERE device_id = $1 AND key = 'battery' AND hour = $2",
                linli::params![id, h],
            )
        })
        .await
        .unwrap();
    ((r.i64(0), r.f64(1), r.f64(2), r.f64(3)), r.i64(4))
}

#[tokio::test]
async fn housekeeping_rolls_up_hours_and_keeps_raw_readings_for_their_days() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let hour = 3_600_000;
    let now = linli::store::now_ms();
    let h0 = now - now % hour - 40 * 24 * hour; // forty days ago, on the hour
    let body: Vec<Value> = (0..6)
        .map(|i| json!({"ts": h0 + i * 600_000, "values": {"battery": 80 + i}}))
        .collect();
    // Forty days ago is "in the past" for the engine's clock too.
    assert_eq!(post(&app, &dev.token, Value::Array(body)).await.0, 200);
    let pass = app
        .db
        .write(move |c| linli::sensing::housekeeping::run_once(c, now, 30, 400))
        .await
        .unwrap();
    assert!(pass.raw_deleted >= 6, "{pass:?}");
    let id = dev.id;
    let hourly = |h: i64| battery_hour(&app, id, h);
    assert_eq!(hourly(h0).await.0, (6, 495.0, 80.0, 85.0));
    // A second pass changes nothing.
    let again = app
        .db
        .write(move |c| linli::sensing::housekeeping::run_once(c, now, 30, 400))
        .await
        .unwrap();
    assert_eq!(again.raw_deleted, 0);
    // Readings that arrive late for an hour past retention are rolled up before they go,
    // by the server's pass too (in short transactions, device by device).
    let mut late: Vec<Value> = (0..3)
        .map(|i| json!({"ts": h0 + 3 * hour + i * 60_000, "values": {"battery": 70 + i}}))
        .collect();
    // One more for the hour already rolled up, whose other readings are gone: it is added.
    late.push(json!({"ts": h0 + 59 * 60_000, "values": {"battery": 99}}));
    assert_eq!(post(&app, &dev.token, Value::Array(late)).await.0, 200);
    let pass = linli::sensing::housekeeping::run_pass(&app.state, now, 30, 400)
        .await
        .unwrap();
    assert_eq!(pass.raw_deleted, 4, "{pass:?}");
    assert_eq!(
        hourly(h0 + 3 * hour).await,
        ((3, 213.0, 70.0, 72.0), 0),
        "rolled up, and the raw readings gone"
    );
    assert_eq!(
        hourly(h0).await.0,
        (7, 594.0, 80.0, 99.0),
        "the late reading joins its hour's six"
    );
}

#[tokio::test]
async fn a_housekeeping_pass_cut_short_is_resumed_without_losing_an_hour() {
    use linli::sensing::housekeeping as hk;
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let (hour, id) = (3_600_000, dev.id);
    let now = linli::store::now_ms();
    let h0 = now - now % hour - 40 * 24 * hour;
    let six: Vec<Value> = (0..6)
        .map(|i| json!({"ts": h0 + i * 600_000, "values": {"battery": 80 + i}}))
        .collect();
    assert_eq!(post(&app, &dev.token, Value::Array(six)).await.0, 200);
    // A pass handles this device's chunk (rolls its hour up, deletes the raw readings past
    // retention) and stops there: the process is killed before the pass ends.
    let deleted = app
        .db
        .write(move |c| {
            let plan = hk::plan(c, now, 30)?;
            hk::run_chunk(c, &plan, id, id + 1)
        })
        .await
        .unwrap();
    assert_eq!(deleted, 6);
    assert_eq!(
        battery_hour(&app, id, h0).await,
        ((6, 495.0, 80.0, 85.0), 0)
    );
    // A reading for that hour arrives late; the next pass adds it to the six already counted
    // rather than recomputing the hour from the one reading left.
    let late = json!([{"ts": h0 + 59 * 60_000, "values": {"battery": 99}}]);
    assert_eq!(post(&app, &dev.token, late).await.0, 200);
    let pass = hk::run_pass(&app.state, now, 30, 400).await.unwrap();
    assert_eq!(pass.raw_deleted, 1, "{pass:?}");
    assert_eq!(
        battery_hour(&app, id, h0).await,
        ((7, 594.0, 80.0, 99.0), 0)
    );
    // Raw retention lengthened to 60 days: the hour's readings are gone all the same, so a
    // late one is still added, not made the whole hour.
    let late = json!([{"ts": h0 + 58 * 60_000, "values": {"battery": 50}}]);
    assert_eq!(post(&app, &dev.token, late).await.0, 200);
    app.db
        .write(move |c| hk::run_once(c, now, 60, 400))
        .await
        .unwrap();
    assert_eq!(
        battery_hour(&app, id, h0).await,
        ((8, 644.0, 50.0, 99.0), 0)
    );
    // Retention turned off: late readings below the old cut are still added once, and go.
    let late = json!([{"ts": h0 + 57 * 60_000, "values": {"battery": 6}}]);
    assert_eq!(post(&app, &dev.token, late).await.0, 200);
    for _ in 0..2 {
        app.db
            .write(move |c| hk::run_once(c, now, 0, 400))
            .await
            .unwrap();
    }
    assert_eq!(battery_hour(&app, id, h0).await, ((9, 650.0, 6.0, 99.0), 0));
}

/// Readings rolled up for a device's battery (count, sum) and raw readings left before `t`.
async fn battery_totals(app: &support::TestApp, id: i64, t: i64) -> ((i64, f64), i64) {
    let r = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT), CAST(COALESCE(SUM(sum), 0) AS DOUBLE PRECISION), \
                 (SELECT COUNT(*) FROM readings WHERE device_id = $1 AND ts < $2) \
                 FROM readings_hourly WHERE device_id = $1 AND key = 'battery' AND hour < $2",
                linli::params![id, t],
            )
        })
        .await
        .unwrap();
    ((r.i64(0), r.f64(1)), r.i64(2))
}

#[tokio::test]
async fn a_device_with_many_expired_readings_is_cut_in_slices_that_survive_a_crash() {
    use linli::sensing::housekeeping as hk;
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let (hour, day, id) = (3_600_000, 86_400_000, dev.id);
    let now = linli::store::now_ms();
    let h0 = now - now % hour - 40 * day;
    // Four readings a day for thirty days, all past a three-day retention.
    let body: Vec<Value> = (0..120)
        .map(|i| json!({"ts": h0 + (i / 4) * day + (i % 4) * 600_000, "values": {"battery": i}}))
        .collect();
    assert_eq!(post(&app, &dev.token, Value::Array(body)).await.0, 200);
    let cut = now - 3 * day;
    let expected = (120, (0..120).sum::<i64>() as f64);
    // Aiming at 20 readings per transaction, the one device is cut in six slices.
    let (plan, cuts, expired) = app
        .db
        .read(move |c| {
            let plan = hk::plan(c, now, 3)?;
            let expired = hk::expired(c, &plan, id, id + 1)?;
            let cuts = hk::slices(c, &plan, id, expired, 20)?;
            Ok((plan, cuts, expired))
        })
        .await
        .unwrap();
    assert_eq!(expired, 120);
    assert_eq!(cuts.len(), 6, "{cuts:?}");
    assert!(cuts.windows(2).all(|w| w[0] < w[1]) && cuts.iter().all(|t| t % hour == 0));
    // Two slices run, each its own transaction, then the process dies.
    let mut sliced = 0;
    for &to in &cuts[..2] {
        let plan = plan.clone();
        let n = app
            .db
            .write(move |c| hk::run_slice(c, &plan, id, to))
            .await
            .unwrap();
        assert!((1..=30).contains(&n), "a slice deletes about 20, not {n}");
        sliced += n;
    }
    let ((rolled, _), left) = battery_totals(&app, id, cuts[1]).await;
    assert_eq!(left, 0, "the slices' readings went");
    assert!(rolled > 0 && rolled < 120);
    // A reading for the first day arrives late: its hour is already rolled up and its raw
    // readings gone, so it is added, not made the whole hour.
    let late = json!([{"ts": h0 + 30 * 60_000, "values": {"battery": 1000}}]);
    assert_eq!(post(&app, &dev.token, late).await.0, 200);
    // The next pass (in transactions of about 20 readings) resumes from the slices' cut.
    let pass = hk::run_pass_with(&app.state, now, 3, 400, 20)
        .await
        .unwrap();
    assert_eq!(pass.raw_deleted + sliced, 121, "{pass:?}");
    assert_eq!(
        battery_totals(&app, id, cut).await,
        ((expected.0 + 1, expected.1 + 1000.0), 0),
        "every reading counted once, none left past retention"
    );
    assert_eq!(
        battery_hour(&app, id, h0).await.0,
        (5, 0.0 + 1.0 + 2.0 + 3.0 + 1000.0, 0.0, 1000.0)
    );
    // The pass ended: nothing partial is left, and another pass changes nothing.
    hk::run_pass_with(&app.state, now, 3, 400, 20)
        .await
        .unwrap();
    assert_eq!(
        battery_totals(&app, id, cut).await,
        ((expected.0 + 1, expected.1 + 1000.0), 0)
    );
    let partial = app
        .db
        .read(|c| linli::store::meta(c, "sensing_raw_cut_partial"))
        .await
        .unwrap();
    assert_eq!(partial, None);
}

#[tokio::test]
async fn worker_pages_show_alerts_devices_map_and_chart() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let now = linli::store::now_ms();
    let body: Vec<Value> = (0..10)
        .map(|i| json!({"ts": now - 100_000 + i * 10_000, "values": {"battery": 90 - i}}))
        .collect();
    post(&app, &dev.token, Value::Array(body)).await;
    let (b, _) = app.login_page("wangge", support::PASSWORD).await;
    let page = |p: String| {
        let b = b.clone();
        let u = app.url(&p);
        async move {
            let r = b.get(u).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };
    let alerts = page("/alerts".into()).await;
    assert!(alerts.contains("/static/sensing.js") && alerts.contains("id=\"alert-rows\""));
    let devices = page("/devices".into()).await;
    assert!(devices.contains("<svg"), "the grid's map is drawn");
    assert!(devices.contains(&format!("/devices/{}", dev.id)));
    let device = page(format!("/devices/{}", dev.id)).await;
    assert!(
        device.contains("class=\"chart\""),
        "the battery chart is drawn"
    );
    assert!(!device.contains("dev_"), "no token for a grid worker");
    assert!(
        device.contains(&format!("data-device=\"{}\"", dev.id)),
        "live values hook"
    );
    // The device page's live values: `state` events on the stream, for devices in scope.
    let wangge = app.token("wangge").await;
    let mut stream = app
        .client()
        .get(app.url("/api/v1/alerts/stream?devices=true"))
        .bearer_auth(&wangge)
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    while !buf.contains("event: ready") {
        buf.push_str(&String::from_utf8_lossy(
            &stream.chunk().await.unwrap().unwrap(),
        ));
    }
    post(&app, &dev.token, json!({"battery": 77})).await;
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = String::new();
        while !buf.contains("event: state") || !buf.ends_with("\n\n") {
            buf.push_str(&String::from_utf8_lossy(
                &stream.chunk().await.unwrap().unwrap(),
            ));
        }
        buf
    })
    .await
    .expect("the new value arrives on the stream");
    assert!(
        got.contains(&format!("\"device_id\":{}", dev.id)) && got.contains("\"num\":77.0"),
        "{got}"
    );
    let js = app
        .client()
        .get(app.url("/static/sensing.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(js.contains("EventSource"));
}

// ---------------------------------------------------------------- changes

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = app
        .client()
        .request(method, app.url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    send(app, reqwest::Method::PATCH, token, path, Some(body)).await
}

/// (rule, due_at) of a device's armed timers (the demo's own rules arm some too).
async fn timers_of(app: &TestApp, device: i64) -> Vec<(i64, i64)> {
    app.db
        .read(move |c| {
            c.query(
                "SELECT rule_id, due_at FROM rule_timers WHERE device_id = $1 ORDER BY rule_id",
                linli::params![device],
            )
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.i64(0), r.i64(1)))
        .collect()
}

/// The device's timers of these rules only.
/// A major absence rule on one door magnet ("no opening for `absence_s`"), opening an
/// elderly-care case; its id.
async fn door_absence_rule(
    app: &TestApp,
    admin: &str,
    device: i64,
    name: &str,
    absence_s: i64,
) -> i64 {
    create_rule(
        app,
        admin,
        json!({"name": name, "kind": "absence", "severity": "major", "device_id": device,
               "category": "elderly_care", "params": {"key": "door", "equals": "open", "absence_s": absence_s}}),
    )
    .await
}

async fn timers_for(app: &TestApp, device: i64, rules: &[i64]) -> Vec<(i64, i64)> {
    let mut t = timers_of(app, device).await;
    t.retain(|(r, _)| rules.contains(r));
    t
}

async fn metrics(app: &TestApp) -> String {
    app.client()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Reads the live stream until `done` says what arrived is enough (5 s at most).
async fn read_stream(stream: &mut reqwest::Response, done: impl Fn(&str) -> bool) -> String {
    tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = String::new();
        while !(done(&buf) && buf.ends_with("\n\n")) {
            buf.push_str(&String::from_utf8_lossy(
                &stream.chunk().await.unwrap().unwrap(),
            ));
        }
        buf
    })
    .await
    .unwrap_or_else(|_| panic!("the stream did not say what was expected in 5 s"))
}

#[tokio::test]
async fn edited_absence_rule_fires_with_its_new_period_and_a_deleted_rule_never_fires() {
    let app = support::spawn().await;
    let t0 = noon_today();
    linli::sensing::of(&app.state).clock.set(t0);
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let rule = door_absence_rule(&app, &admin, dev.id, "两小时无开门", 7200).await;
    let path = format!("/api/v1/rules/{rule}");
    post(
        &app,
        &dev.token,
        json!({"ts": t0 + 600_000, "values": {"door": "open"}}),
    )
    .await;

    // Lengthened to three hours before it was due: the old two hours pass quietly.
    linli::sensing::of(&app.state).clock.set(t0 + 1_200_000);
    let (s, v) = patch(&app, &admin, &path, json!({"params": {"absence_s": 10800}})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["params"]["absence_s"], 10800);
    assert_eq!(
        v["params"]["key"], "door",
        "a merge patch keeps what it leaves out"
    );
    assert_eq!(
        timers_for(&app, dev.id, &[rule]).await,
        vec![(rule, t0 + 600_000 + 10_800_000)],
        "the armed timer counts three hours from the opening"
    );
    linli::sensing::of(&app.state)
        .clock
        .set(t0 + 600_000 + 7_200_000 + 1000);
    tick(&app).await;
    assert!(
        alerts_of(&app, rule).await.is_empty(),
        "two hours are no longer enough"
    );

    // Shortened to one hour: one hour after the opening is past, so it fires now. (The edit
    // wakes the server's timer loop, which may fire it before this test's own tick does:
    // either way it fires once, at this clock, and is armed again one hour on.)
    let (s, v) = patch(&app, &admin, &path, json!({"params": {"absence_s": 3600}})).await;
    assert_eq!(s, 200, "{v}");
    tick(&app).await;
    let now = linli::sensing::of(&app.state).clock.now_ms();
    let a = alerts_of(&app, rule).await;
    assert_eq!((a.len(), a[0].1.as_str()), (1, "active_unack"), "{a:?}");
    assert_eq!(
        timers_for(&app, dev.id, &[rule]).await,
        vec![(rule, now + 3_600_000)]
    );
    let id = a[0].0;
    let (_, detail) = app.get_json(&admin, &format!("/api/v1/alerts/{id}")).await;
    assert!(
        detail["alert"]["message"]
            .as_str()
            .unwrap()
            .contains("1.0 h"),
        "{detail}"
    );
    assert_eq!(
        detail["alert"]["details"]["last_event_at"],
        t0 + 600_000,
        "counted from the opening, not from the edit: {detail}"
    );
    // The door opens: cleared; the next alert comes one hour (not two, not three) later.
    let t1 = linli::sensing::of(&app.state).clock.now_ms();
    post(
        &app,
        &dev.token,
        json!({"ts": t1, "values": {"door": "open"}}),
    )
    .await;
    assert_eq!(alerts_of(&app, rule).await[0].1, "cleared_unack");
    linli::sensing::of(&app.state)
        .clock
        .set(t1 + 3_600_000 - 1000);
    tick(&app).await;
    assert_eq!(alerts_of(&app, rule).await.len(), 1);
    linli::sensing::of(&app.state)
        .clock
        .set(t1 + 3_600_000 + 1000);
    tick(&app).await;
    let a = alerts_of(&app, rule).await;
    assert_eq!((a.len(), a[1].1.as_str()), (2, "active_unack"));

    // Changes are checked as new rules are, with messages in both languages.
    let (s, v) = patch(&app, &admin, &path, json!({"params": {"window": "7-10"}})).await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("07:00-10:00")
    );
    let (s, v) = patch(&app, &admin, &path, json!({"params": {"absence_s": null}})).await;
    assert_eq!(s, 422, "an absence rule without a period: {v}");
    let (s, v) = patch(&app, &admin, &path, json!({"kind": "event"})).await;
    assert_eq!(s, 400, "the kind does not change: {v}");
    let (s, _) = patch(&app, &admin, &path, json!({"severity": "urgent"})).await;
    assert_eq!(s, 422);
    let wangge = app.token("wangge").await;
    let (s, _) = patch(&app, &wangge, &path, json!({"severity": "minor"})).await;
    assert_eq!(s, 403, "a grid worker does not change rules");
    let (s, _) = patch(
        &app,
        &admin,
        "/api/v1/rules/999999",
        json!({"severity": "minor"}),
    )
    .await;
    assert_eq!(s, 404);

    // Disabled: its timer goes and its active alert is cleared; nothing fires however long
    // the door stays shut. Enabled again: armed from now.
    let (s, v) = patch(
        &app,
        &admin,
        &path,
        json!({"active": false, "severity": "critical"}),
    )
    .await;
    assert_eq!(
        (s, &v["active"], &v["severity"]),
        (200, &json!(false), &json!("critical")),
        "{v}"
    );
    assert!(timers_for(&app, dev.id, &[rule]).await.is_empty());
    assert_eq!(alerts_of(&app, rule).await[1].1, "cleared_unack");
    let t2 = t1 + 3_600_000 + 1000;
    linli::sensing::of(&app.state).clock.set(t2 + 86_400_000);
    tick(&app).await;
    assert_eq!(alerts_of(&app, rule).await.len(), 2);
    let (_, list) = app.get_json(&admin, "/api/v1/rules").await;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == rule)
        .cloned();
    assert_eq!(
        listed.map(|r| r["active"].clone()),
        Some(json!(false)),
        "disabled rules are listed"
    );
    let (s, _) = patch(&app, &admin, &path, json!({"active": true})).await;
    assert_eq!(s, 200);
    assert_eq!(
        timers_for(&app, dev.id, &[rule]).await,
        vec![(rule, t2 + 86_400_000 + 3_600_000)]
    );

    // Deleted: gone from the list, its timer disarmed; nothing fires for it, ever.
    let (s, _) = send(&app, reqwest::Method::DELETE, &wangge, &path, None).await;
    assert_eq!(s, 403);
    let (s, _) = send(&app, reqwest::Method::DELETE, &admin, &path, None).await;
    assert_eq!(s, 204);
    assert!(timers_for(&app, dev.id, &[rule]).await.is_empty());
    linli::sensing::of(&app.state)
        .clock
        .set(t2 + 5 * 86_400_000);
    tick(&app).await;
    rules::sync_now(&app.state).await.unwrap();
    tick(&app).await;
    assert_eq!(
        alerts_of(&app, rule).await.len(),
        2,
        "no alert from a deleted rule"
    );
    assert!(
        timers_for(&app, dev.id, &[rule]).await.is_empty(),
        "not re-armed by a synchronisation"
    );
    let (_, list) = app.get_json(&admin, "/api/v1/rules").await;
    assert!(list.as_array().unwrap().iter().all(|r| r["id"] != rule));
    assert_eq!(
        patch(&app, &admin, &path, json!({"active": true})).await.0,
        404
    );
    assert_eq!(
        send(&app, reqwest::Method::DELETE, &admin, &path, None)
            .await
            .0,
        404
    );
    // Its past alerts still name it.
    let (s, detail) = app.get_json(&admin, &format!("/api/v1/alerts/{id}")).await;
    assert_eq!(
        (s, detail["alert"]["rule_name"].as_str()),
        (200, Some("两小时无开门"))
    );
}

#[tokio::test]
async fn rule_pages_list_rules_and_let_administrators_change_them() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let rule = door_absence_rule(&app, &admin, dev.id, "两小时无开门", 7200).await;
    let get = |b: &reqwest::Client, p: String| {
        let (b, u) = (b.clone(), app.url(&p));
        async move {
            let r = b.get(u).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let rule_of = |id: i64| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let (_, list) = app.get_json(&admin, "/api/v1/rules").await;
            list.as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == id)
                .cloned()
        }
    };
    // A grid worker reads the rules but has no form.
    let (w, _) = app.login_page("wangge", support::PASSWORD).await;
    let (s, list) = get(&w, "/rules".into()).await;
    assert_eq!(s, 200);
    assert!(list.contains(&format!("id=\"rule-{rule}\"")) && list.contains("两小时无开门"));
    assert!(
        list.contains("absence_s = 7200"),
        "the parameters are shown"
    );
    let (s, page) = get(&w, format!("/rules/{rule}")).await;
    assert_eq!(s, 200);
    assert!(!page.contains("id=\"rule-form\""));
    let csrf = support::extract_input(&page, "csrf").unwrap();
    let r = w
        .post(app.url(&format!("/rules/{rule}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The administrator changes it on its page.
    let (b, _) = app.login_page("admin", support::PASSWORD).await;
    let (_, page) = get(&b, format!("/rules/{rule}")).await;
    assert!(
        page.contains("id=\"rule-form\"") && page.contains("name=\"p_absence_s\" value=\"7200\"")
    );
    let csrf = support::extract_input(&page, "csrf").unwrap();
    let form = |absence: &'static str, window: &'static str, active: bool| {
        let mut f = vec![
            ("csrf", csrf.clone()),
            ("name", "一小时无开门".to_string()),
            ("severity", "critical".into()),
            ("p_key", "door".into()),
            ("p_equals", "open".into()),
            ("p_absence_s", absence.into()),
            ("p_window", window.into()),
            ("p_min_total", String::new()),
            ("category", "elderly_care".into()),
            ("ack_minutes", "15".into()),
        ];
        if active {
            f.push(("active", "1".into()));
        }
        f
    };
    let post_form = |f: Vec<(&'static str, String)>| {
        let (b, u) = (b.clone(), app.url(&format!("/rules/{rule}")));
        async move {
            let r = b.post(u).form(&f).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (s, _) = post_form(form("3600", "", true)).await;
    assert_eq!(s, 303);
    let r = rule_of(rule).await.unwrap();
    assert_eq!(
        (&r["name"], &r["severity"], &r["ack_minutes"], &r["params"]),
        (
            &json!("一小时无开门"),
            &json!("critical"),
            &json!(15),
            &json!({"key": "door", "equals": "open", "absence_s": 3600})
        )
    );
    // What is wrong is said on the page, which keeps the form.
    let (s, page) = post_form(form("一小时", "", true)).await;
    assert_eq!(s, 422);
    assert!(
        page.contains("id=\"rule-error\"") && page.contains("数字"),
        "{page}"
    );
    let (s, page) = post_form(form("", "7-10", true)).await;
    assert_eq!(s, 422);
    assert!(page.contains("07:00-10:00"));
    assert_eq!(
        rule_of(rule).await.unwrap()["params"]["absence_s"],
        3600,
        "unchanged"
    );
    // Unticked: disabled, and the list says so.
    let (s, _) = post_form(form("3600", "", false)).await;
    assert_eq!(s, 303);
    assert_eq!(rule_of(rule).await.unwrap()["active"], false);
    let (_, list) = get(&b, "/rules".into()).await;
    assert!(list.contains(&format!("id=\"rule-{rule}\" class=\"muted\"")));
    // Deleted from its page.
    let r = b
        .post(app.url(&format!("/rules/{rule}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(rule_of(rule).await.is_none());
    assert_eq!(get(&b, format!("/rules/{rule}")).await.0, 404);
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
    let entry = app
        .db
        .read(|c| {
            c.query_one(
                "SELECT body FROM audit_entries ORDER BY seq DESC LIMIT 1",
                &[],
            )
        })
        .await
        .unwrap()
        .str(0);
    let entry: Value = serde_json::from_str(&entry).unwrap();
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
    let entry = app
        .db
        .read(|c| {
            c.query_one(
                "SELECT body FROM audit_entries ORDER BY seq DESC LIMIT 1",
                &[],
            )
        })
        .await
        .unwrap()
        .str(0);
    let entry: Value = serde_json::from_str(&entry).unwrap();
    assert_eq!(entry["action"], "change");
    assert_eq!(entry["subjects"], json!([format!("person:{person}")]));
    let (s, v) = patch(&app, &admin, &path, json!({"profile": "toaster"})).await;
    assert_eq!(s, 422, "{v}");
    let (s, _) = patch(&app, &admin, &path, json!({"serial": "X"})).await;
    assert_eq!(s, 400, "the serial does not change");
}

#[tokio::test]
async fn closing_the_case_of_an_alert_clears_it_on_the_live_stream() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let wangge = app.token("wangge").await;
    let dev = door_in_grid(&app, &admin).await;
    let rule = create_rule(
        &app,
        &admin,
        json!({"name": "求助按钮", "kind": "event", "severity": "critical", "device_id": dev.id,
               "category": "elderly_care", "params": {"key": "sos", "equals": 1}}),
    )
    .await;
    assert_eq!(post(&app, &dev.token, json!({"sos": 1})).await.0, 200);
    let alert = alerts_of(&app, rule).await[0].0;
    let case = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT case_id FROM alerts WHERE id = $1",
                linli::params![alert],
            )
        })
        .await
        .unwrap()
        .opt_i64(0)
        .expect("the alert opened a case");

    let mut stream = app
        .client()
        .get(app.url("/api/v1/alerts/stream"))
        .bearer_auth(&wangge)
        .send()
        .await
        .unwrap();
    read_stream(&mut stream, |b| b.contains("event: ready")).await;
    let step = |token: &str, body: Value| {
        let (app, token, path) = (
            &app,
            token.to_string(),
            format!("/api/v1/cases/{case}/transitions"),
        );
        async move {
            let (s, v) = send(
                app,
                reqwest::Method::POST,
                &token,
                &path,
                Some(body.clone()),
            )
            .await;
            assert_eq!(s, 200, "{body}: {v}");
        }
    };
    step(&wangge, json!({"action": "sign_for"})).await;
    step(&wangge, json!({"action": "start"})).await;
    step(
        &wangge,
        json!({"action": "resolve", "note": "已上门，老人安好"}),
    )
    .await;
    step(&admin, json!({"action": "verify", "note": "电话回访确认"})).await;
    step(&admin, json!({"action": "close"})).await;
    let got = read_stream(&mut stream, |b| b.contains("\"action\":\"cleared\"")).await;
    assert!(got.contains(&format!("\"id\":{alert},")), "{got}");
    assert!(got.contains("\"state\":\"cleared_unack\""), "{got}");
    assert_eq!(alerts_of(&app, rule).await[0].1, "cleared_unack");
}

// ---------------------------------------------------------------- MQTT

fn mqtt_url() -> Option<String> {
    match std::env::var("LINLI_TEST_MQTT_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!("LINLI_TEST_MQTT_URL is not set: MQTT tests skipped");
            None
        }
    }
}

/// A TCP proxy between linli and the broker that the test can cut (all connections dropped).
struct Proxy {
    port: u16,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cut, rx) = tokio::sync::watch::channel(0u64);
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let up = upstream.clone();
                let mut rx = rx.clone();
                rx.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut out) = tokio::net::TcpStream::connect(&up).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut out) => {}
                        _ = rx.changed() => {}
                    }
                });
            }
        });
        Proxy { port, cut }
    }
    fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}

#[tokio::test]
async fn mqtt_end_to_end_survives_a_dropped_connection() {
    let Some(url) = mqtt_url() else { return };
    let broker = linli::sensing::mqtt::Options::parse(&url).unwrap();
    let upstream = format!("{}:{}", broker.host, broker.port);
    tokio::net::TcpStream::connect(&upstream)
        .await
        .expect("LINLI_TEST_MQTT_URL is set but the broker is unreachable");
    let proxy = Proxy::start(upstream.clone()).await;
    let tag = linli::org::auth::random_token("")[..10]
        .to_ascii_lowercase()
        .replace(['-', '_'], "x");
    let root = format!("linlitest{tag}");
    let linli_url = format!(
        "mqtt://127.0.0.1:{}?client_id=linli-{tag}&topic_root={root}",
        proxy.port
    );
    static URL: std::sync::OnceLock<std::sync::Mutex<String>> = std::sync::OnceLock::new();
    *URL.get_or_init(Default::default).lock().unwrap() = linli_url;
    let app = support::spawn_with(support::Options {
        configure: |cfg| cfg.mqtt_url = Some(URL.get().unwrap().lock().unwrap().clone()),
        ..support::Options::default()
    })
    .await;
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let t0 = linli::store::now_ms() - 3_600_000;

    // A device publishing straight to the broker.
    let mut o = rumqttc::MqttOptions::new(format!("dev-{tag}"), broker.host.clone(), broker.port);
    o.set_keep_alive(Duration::from_secs(5));
    let (client, mut events) = rumqttc::AsyncClient::new(o, 100);
    let acked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let a2 = acked.clone();
    tokio::spawn(async move {
        loop {
            match events.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => {
                    a2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    });
    let topic = format!("{root}/{}/telemetry", dev.id);
    let count = |app: &TestApp| {
        let id = dev.id;
        let db = app.db.clone();
        async move {
            db.read(move |c| {
                c.query_i64(
                    "SELECT COUNT(*) FROM readings WHERE device_id = $1 AND key = 'seq'",
                    linli::params![id],
                )
            })
            .await
            .unwrap()
        }
    };
    let wait_for = |want: i64| {
        let app = &app;
        async move {
            for _ in 0..150 {
                if count(app).await >= want {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            false
        }
    };
    // Wait until linli has subscribed (its first message arrives).
    let mut first = false;
    for i in 0..50 {
        client
            .publish(
                &topic,
                rumqttc::QoS::AtLeastOnce,
                false,
                json!({"ts": t0 + i, "values": {"probe": 1}}).to_string(),
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let id = dev.id;
        let n = app
            .db
            .read(move |c| {
                c.query_i64(
                    "SELECT COUNT(*) FROM readings WHERE device_id = $1 AND key = 'probe'",
                    linli::params![id],
                )
            })
            .await
            .unwrap();
        if n > 0 {
            first = true;
            break;
        }
    }
    assert!(first, "linli subscribed and stored a message");
    for i in 0..100 {
        let body = json!({"ts": t0 + 10_000 + i, "values": {"seq": i}}).to_string();
        client
            .publish(&topic, rumqttc::QoS::AtLeastOnce, false, body)
            .await
            .unwrap();
    }
    assert!(
        wait_for(100).await,
        "100 readings stored: {}",
        count(&app).await
    );

    // Cut linli's connection; publish while it is away; it reconnects, re-subscribes, and
    // the broker delivers what it kept (persistent session): nothing acknowledged is lost.
    proxy.cut();
    for i in 100..200 {
        let body = json!({"ts": t0 + 10_000 + i, "values": {"seq": i}}).to_string();
        client
            .publish(&topic, rumqttc::QoS::AtLeastOnce, false, body)
            .await
            .unwrap();
    }
    assert!(
        wait_for(200).await,
        "after the cut: {} of 200",
        count(&app).await
    );
    // A second cut, then a duplicate of an earlier message: stored once.
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;
    client
        .publish(
            &topic,
            rumqttc::QoS::AtLeastOnce,
            false,
            json!({"ts": t0 + 10_000, "values": {"seq": 0}}).to_string(),
        )
        .await
        .unwrap();
    client
        .publish(
            &topic,
            rumqttc::QoS::AtLeastOnce,
            false,
            json!({"ts": t0 + 20_000, "values": {"seq": 999}}).to_string(),
        )
        .await
        .unwrap();
    assert!(
        wait_for(201).await,
        "subscription restored after the second cut"
    );
    assert_eq!(count(&app).await, 201);
    // Bad payloads and unknown devices are refused and counted.
    client
        .publish(
            format!("{root}/{}/event", dev.id),
            rumqttc::QoS::AtLeastOnce,
            false,
            "not json",
        )
        .await
        .unwrap();
    client
        .publish(
            format!("{root}/99999999/telemetry",),
            rumqttc::QoS::AtLeastOnce,
            false,
            "{\"a\":1}",
        )
        .await
        .unwrap();
    let mut ok = false;
    for _ in 0..50 {
        let m = app
            .client()
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if m.contains("linli_telemetry_refused_total{reason=\"malformed\",transport=\"mqtt\"} 1")
            && m.contains(
                "linli_telemetry_refused_total{reason=\"unknown_device\",transport=\"mqtt\"} 1",
            )
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "MQTT refusals counted");
    assert!(acked.load(std::sync::atomic::Ordering::SeqCst) >= 200);

    // A deactivated device's messages are refused too, with their own reason.
    let (s, _) = patch(
        &app,
        &admin,
        &format!("/api/v1/devices/{}", dev.id),
        json!({"active": false}),
    )
    .await;
    assert_eq!(s, 200);
    client
        .publish(
            &topic,
            rumqttc::QoS::AtLeastOnce,
            false,
            json!({"ts": t0 + 30_000, "values": {"seq": 1000}}).to_string(),
        )
        .await
        .unwrap();
    let mut refused = false;
    for _ in 0..50 {
        if metrics(&app).await.contains(
            "linli_telemetry_refused_total{reason=\"inactive_device\",transport=\"mqtt\"} 1",
        ) {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        refused,
        "a deactivated device's MQTT message is refused and counted"
    );
    assert_eq!(count(&app).await, 201, "and not stored");
}

#[tokio::test]
async fn simulator_feeds_every_device_kind_and_shut_doors_raise_absence_alerts() {
    let app = support::spawn().await;
    // `linli demo --absence-window 2s`: the demo's absence rules shortened.
    let n = app
        .db
        .write(|c| linli::sensing::demo::set_absence_window(c, 2))
        .await
        .unwrap();
    assert_eq!(n, 2, "the door rule and the water rule");
    let renamed = app
        .query_i64("SELECT COUNT(*) FROM rules WHERE name LIKE '%（演示：2 秒）'")
        .await;
    assert_eq!(renamed, 2, "the names say the demo's length");
    linli::sensing::of(&app.state)
        .reload_rules(&app.db)
        .await
        .unwrap();
    rules::sync_now(&app.state).await.unwrap();
    let shut: Vec<i64> = app
        .db
        .read(|c| {
            c.query(
                "SELECT d.id FROM devices d JOIN device_profiles p ON p.id = d.profile_id \
                 WHERE p.device_type = 'door_magnet' AND d.person_id IS NOT NULL ORDER BY d.id LIMIT 2",
                &[],
            )
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.i64(0))
        .collect();
    let keys = linli::store::keys::FieldKeys::load_or_create(&app.state.cfg.keys_dir()).unwrap();
    let sent = linli::sensing::simulate::run(
        app.db.clone(),
        keys,
        linli::sensing::simulate::SimOptions {
            rate: 400.0,
            mqtt: None,
            url: app.base.clone(),
            shut: 2,
            duration: Some(Duration::from_secs(4)),
        },
    )
    .await
    .unwrap();
    assert!(sent > 1000, "{sent}");
    let kinds = app
        .query_i64(
            "SELECT COUNT(DISTINCT p.device_type) FROM readings r JOIN devices d ON d.id = r.device_id \
             JOIN device_profiles p ON p.id = d.profile_id",
        )
        .await;
    assert_eq!(
        kinds, 4,
        "door magnets, water meters, smoke detectors and elevators"
    );
    // (The server's own start-up synchronisation may have armed timers with the rules as
    // they were before the window was shortened; a synchronisation brings them in line.)
    rules::sync_now(&app.state).await.unwrap();
    tick(&app).await;
    for id in shut {
        let (opened, alerted) = app
            .db
            .read(move |c| {
                Ok((
                    c.query_i64(
                        "SELECT COUNT(*) FROM readings WHERE device_id = $1 AND key = 'door' AND txt = 'open'",
                        linli::params![id],
                    )?,
                    c.query_i64(
                        "SELECT COUNT(*) FROM alerts a JOIN rules r ON r.id = a.rule_id \
                         WHERE a.device_id = $1 AND a.active = 1 AND r.kind = 'absence'",
                        linli::params![id],
                    )?,
                ))
            })
            .await
            .unwrap();
        assert_eq!(opened, 0, "the door of device {id} stays shut");
        assert!(alerted >= 1, "and its absence rule raised an alert");
    }
}

#[tokio::test]
async fn a_timer_sync_planned_on_a_reader_spares_what_moved_meanwhile_and_arms_what_is_missing() {
    use linli::sensing::rules::{apply_sync, plan_sync};
    let app = support::spawn().await;
    linli::sensing::of(&app.state).clock.set(noon_today());
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let rule = door_absence_rule(&app, &admin, dev.id, "一天无开门", 86400).await;
    assert_eq!(timers_for(&app, dev.id, &[rule]).await.len(), 1);
    let (id, now) = (dev.id, linli::sensing::of(&app.state).clock.now_ms());
    let sql = |q: &'static str| {
        let db = app.db.clone();
        async move {
            db.write(move |c| c.exec(q, linli::params![id]))
                .await
                .unwrap()
        }
    };
    // The device goes inactive behind the engine's back; a plan is read that drops its timer,
    // but a reading moves the timer before the plan is applied: the timer is spared.
    sql("UPDATE devices SET active = 0 WHERE id = $1").await;
    let plan = app.db.read(move |c| plan_sync(c, now)).await.unwrap();
    sql("UPDATE rule_timers SET due_at = due_at + 1 WHERE device_id = $1").await;
    app.db.write(move |c| apply_sync(c, &plan)).await.unwrap();
    assert_eq!(timers_for(&app, dev.id, &[rule]).await.len(), 1);
    // The next synchronisation sees it as it is now and drops it.
    rules::sync_now(&app.state).await.unwrap();
    assert!(timers_for(&app, dev.id, &[rule]).await.is_empty());
    // Active again: the synchronisation arms it afresh, due a day from now.
    sql("UPDATE devices SET active = 1 WHERE id = $1").await;
    rules::sync_now(&app.state).await.unwrap();
    let now = linli::sensing::of(&app.state).clock.now_ms();
    assert_eq!(
        timers_for(&app, dev.id, &[rule]).await,
        vec![(rule, now + 86_400_000)]
    );
}
