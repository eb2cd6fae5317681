//! Organisations' webhooks: signed, retried until delivered, and spoken to in TLS.

use super::*;

#[tokio::test]
async fn webhooks_are_signed_and_retried_until_delivered() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The gateway listens on this machine, which webhooks reach only when allowed.
    let app = support::spawn_with(support::Options {
        configure: |c| {
            c.webhook_allow = linli::cases::notify::AllowList::parse(&["127.0.0.1".into()]).unwrap()
        },
        ..Default::default()
    })
    .await;
    let allow = app.state.cfg.webhook_allow.clone();
    let admin = app.token("admin").await;
    let bumen_org = org_of(&app, "bumen").await;
    // A gateway that fails the first delivery and accepts the second.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 65536];
            let mut got = Vec::new();
            loop {
                let k = s.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..k]);
                let text = String::from_utf8_lossy(&got).to_string();
                if let Some(i) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if got.len() >= i + 4 + len || k == 0 {
                        break;
                    }
                }
            }
            n += 1;
            let status = if n == 1 {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            s.write_all(
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .unwrap();
            tx.send(String::from_utf8_lossy(&got).to_string()).unwrap();
        }
    });
    let r = set_webhook(
        &app,
        &admin,
        bumen_org,
        json!({"url": "ftp://example.org/hook", "secret": "0123456789abcdef"}),
    )
    .await;
    assert_eq!(r, 422, "http:// or https:// only");
    let r = set_webhook(
        &app,
        &admin,
        bumen_org,
        json!({"url": format!("http://{addr}/hook"), "secret": "short"}),
    )
    .await;
    assert_eq!(r, 422);
    let secret = "0123456789abcdef-secret";
    let r = set_webhook(
        &app,
        &admin,
        bumen_org,
        json!({"url": format!("http://{addr}/hook"), "secret": secret}),
    )
    .await;
    assert_eq!(r, 204);
    let b = buildings(&app).await;
    let id = report(&app, &admin, json!({"category": "illegal_parking", "description": "占用消防通道", "place_id": b[0], "channel": "patrol"}))
        .await["case"]["id"]
        .as_i64()
        .unwrap();
    step_ok(&app, &admin, id, json!({"action": "accept"})).await;
    step_ok(
        &app,
        &admin,
        id,
        json!({"action": "dispatch", "org_id": bumen_org}),
    )
    .await;
    let now = linli::store::now_ms() + 1;
    // Delivery is driven here with an explicit clock. The server's own job (every 5 s) may
    // take a turn too; claims are exclusive, so whoever sends, each attempt happens once.
    let latest = || {
        let db = app.db.clone();
        async move {
            db.read(move |c| c.query_one("SELECT attempts, next_at, delivered_at, body FROM webhook_deliveries ORDER BY id DESC LIMIT 1", &[]))
                .await
                .unwrap()
        }
    };
    linli::cases::notify::deliver_due(&app.db, &allow, now)
        .await
        .unwrap();
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    // Wait until the failed attempt is recorded.
    let mut row = latest().await;
    for _ in 0..200 {
        if row.i64(0) >= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        row = latest().await;
    }
    assert_eq!(row.i64(0), 1, "the gateway's 500 is one failed attempt");
    assert!(row.opt_i64(2).is_none());
    assert!(row.i64(1) >= now + 25_000, "retried later, with backoff");
    linli::cases::notify::deliver_due(&app.db, &allow, row.i64(1) + 1)
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    for _ in 0..200 {
        if latest().await.opt_i64(2).is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let row = app
        .db
        .read(move |c| c.query_one("SELECT attempts, next_at, delivered_at, body FROM webhook_deliveries ORDER BY id DESC LIMIT 1", &[]))
        .await
        .unwrap();
    assert_eq!(row.i64(0), 2, "one failure, then delivered");
    assert!(row.opt_i64(1).is_none() && row.opt_i64(2).is_some());
    let body = row.str(3);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["event"], "dispatched");
    assert_eq!(v["case_id"], id);
    let sig = linli::cases::notify::signature(secret, &body);
    assert!(
        first
            .to_ascii_lowercase()
            .contains(&format!("x-linli-signature: {sig}")),
        "{first}"
    );
    assert!(first.ends_with(&body));
}

#[tokio::test]
async fn an_https_webhook_is_spoken_to_in_tls() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let org = org_of(&app, "bumen").await;
    let r = set_webhook(
        &app,
        &admin,
        org,
        json!({"url": "https://example.org/hook", "secret": "0123456789abcdef"}),
    )
    .await;
    assert_eq!(r, 204, "an https:// address is accepted");
    // A gateway that answers in plain HTTP where TLS was expected: the delivery fails in
    // the TLS handshake (it was attempted in TLS, not refused for its scheme).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    // On this machine, so allowed explicitly.
    let allow = linli::cases::notify::AllowList::parse(&["127.0.0.1".into()]).unwrap();
    let err = linli::cases::notify::post(
        &linli::cases::notify::Claimed {
            id: 0,
            url: format!("https://{addr}/hook"),
            body: "{}".into(),
            secret: "0123456789abcdef".into(),
            attempts: 0,
        },
        &allow,
    )
    .await
    .unwrap_err();
    let e = err.to_ascii_lowercase();
    assert!(!e.contains("scheme"), "{err}");
    assert!(
        e.contains("tls")
            || e.contains("invalidcontenttype")
            || e.contains("corrupt")
            || e.contains("peer"),
        "{err}"
    );
}

/// `PUT /api/v1/orgs/{org}/webhook`; the status.
async fn set_webhook(app: &TestApp, token: &str, org: i64, body: Value) -> u16 {
    app.client()
        .put(app.url(&format!("/api/v1/orgs/{org}/webhook")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
