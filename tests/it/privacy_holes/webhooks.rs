//! Webhooks into the server's own network are refused unless allowed.

use super::*;

/// `PUT /api/v1/orgs/{org}/webhook`; the status.
async fn set_webhook(app: &TestApp, token: &str, org: i64, url: &str) -> u16 {
    app.client()
        .put(app.url(&format!("/api/v1/orgs/{org}/webhook")))
        .bearer_auth(token)
        .json(&json!({"url": url, "secret": "0123456789abcdef"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn webhooks_to_private_addresses_are_refused_unless_allowed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let org = app
        .query_i64(
            "SELECT r.org_id FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.username = 'bumen'",
        )
        .await;
    // A gateway on this machine, counting what reaches it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 65536];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
            let _ = tx.send(());
        }
    });
    // Saving: this machine, private networks, link-local (cloud metadata) are refused.
    for url in [
        format!("http://{addr}/hook"),
        format!("http://localhost:{}/hook", addr.port()),
        "http://10.0.0.5/hook".into(),
        "http://192.168.1.20:8080/hook".into(),
        "http://169.254.169.254/latest/meta-data".into(),
        "http://[::1]:8080/hook".into(),
        "http://0.0.0.0:8080/hook".into(),
    ] {
        assert_eq!(set_webhook(&app, &admin, org, &url).await, 422, "{url}");
    }
    let r = app
        .client()
        .put(app.url(&format!("/api/v1/orgs/{org}/webhook")))
        .bearer_auth(&admin)
        .header("accept-language", "en")
        .json(&json!({"url": format!("http://{addr}/hook"), "secret": "0123456789abcdef"}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("webhook_allow"),
        "{v}"
    );
    assert_eq!(
        set_webhook(&app, &admin, org, "https://example.org/hook").await,
        204,
        "a public address is fine"
    );
    // Sending: a webhook stored for a name that now resolves to this machine (DNS rebinding),
    // or for an address, is refused at every delivery; nothing reaches the gateway. The
    // delivery is due an hour from now, so that only this test's clock sends it (the server's
    // own job, every 5 s, would refuse it alike).
    let (b, _) = places(&app).await;
    let case = report(
        &app,
        &admin,
        json!({"category": "illegal_parking", "channel": "patrol",
        "description": "占用消防通道", "place_id": b[0]}),
    )
    .await;
    step(&app, &admin, case, json!({"action": "accept"})).await;
    step(
        &app,
        &admin,
        case,
        json!({"action": "dispatch", "org_id": org}),
    )
    .await;
    let later = linli::store::now_ms() + 3_600_000;
    for url in [
        format!("http://localhost:{}/hook", addr.port()),
        format!("http://{addr}/hook"),
    ] {
        app.exec(
            "UPDATE webhook_deliveries SET url = $1, next_at = $2, attempts = 0, last_error = NULL, \
             delivered_at = NULL",
            &[url.clone().into(), later.into()],
        )
        .await;
        notify::deliver_due(&app.db, &AllowList::default(), later + 1)
            .await
            .unwrap();
        let errors = app
            .db
            .read(|c| {
                c.query(
                    "SELECT COALESCE(last_error, ''), delivered_at FROM webhook_deliveries",
                    &[],
                )
            })
            .await
            .unwrap();
        assert!(!errors.is_empty());
        for e in &errors {
            assert!(e.opt_i64(1).is_none(), "{url}: not delivered");
            assert!(e.str(0).contains("webhook_allow"), "{url}: {}", e.str(0));
        }
    }
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(500), rx.recv())
            .await
            .is_err(),
        "nothing reached the gateway"
    );
    // Allowed explicitly, the same address is reached.
    let allow = AllowList::parse(&["127.0.0.1".to_string()]).unwrap();
    app.exec(
        "UPDATE webhook_deliveries SET next_at = $1, attempts = 0",
        &[later.into()],
    )
    .await;
    notify::deliver_due(&app.db, &allow, later + 1)
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("delivered once allowed")
        .unwrap();
}
