//! Ingestion over HTTP: idempotent, refusals counted.

use super::*;

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
