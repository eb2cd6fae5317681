//! Sensing and alerts: ingestion over HTTP (idempotent, refusals counted), every rule kind
//! with the engine's clock injected (absence across a restart), the alert lifecycle with
//! escalation, scope, the FIWARE shape and the live stream, MQTT end to end against a real
//! broker through a proxy that is cut, housekeeping, and the pages.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{self, TestApp};
use linli::sensing::rules;

mod absence;
mod alerts;
mod devices;
mod devices_setup;
mod first_day;
mod housekeeping;
mod ingestion_http;
mod mqtt;
mod pages;
mod rule_kinds;

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
