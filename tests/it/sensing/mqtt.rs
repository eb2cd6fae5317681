//! MQTT end to end against a real broker, through a proxy that is cut.

use std::sync::Arc;

use super::*;

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
