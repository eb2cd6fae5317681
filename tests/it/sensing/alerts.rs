//! Alerts: the lifecycle with escalation, scope, the FIWARE shape and the live stream.

use super::*;

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
