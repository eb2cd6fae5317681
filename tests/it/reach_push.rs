//! Web Push (issue 24 part 1) against a push service started here: a browser's subscription
//! (a key pair and an auth secret made by the test, as a browser makes them) is posted to the
//! API; a message told to the account reaches the receiver, which verifies the VAPID JWT's
//! ES256 signature against the public key the API gives browsers and decrypts the payload
//! with the subscription's private key and auth secret (RFC 8291, written here on its own,
//! not with linli's code); `Urgency` and `TTL` are checked; a 410 removes the subscription;
//! a 500 is tried again; and an account sees and removes only her own browsers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::{Value, json};

use crate::support::{self, TestApp};
use linli::reach::{Body, Message, Recipient, Urgency};

/// One request the push service got: (path's last part, headers, body).
type Got = (String, Vec<(String, String)>, Vec<u8>);

#[derive(Clone, Default)]
struct PushService(Arc<Mutex<Vec<Got>>>);

impl PushService {
    fn all(&self) -> Vec<Got> {
        self.0.lock().unwrap().clone()
    }
    async fn wait_for(&self, kind: &str, n: usize) -> Vec<Got> {
        for _ in 0..150 {
            let got: Vec<Got> = self.all().into_iter().filter(|g| g.0 == kind).collect();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the push service did not get {n} for {kind}: {:?}",
            self.all().len()
        );
    }
}

/// A push service: `/push/ok` takes (201), `/push/gone` answers 410 (the browser
/// unsubscribed), `/push/flaky` 500.
async fn push_service() -> (String, PushService) {
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    let got = PushService::default();
    let app = axum::Router::new()
        .route(
            "/push/{kind}",
            axum::routing::post(
                |State(g): State<PushService>,
                 Path(kind): Path<String>,
                 h: HeaderMap,
                 body: axum::body::Bytes| async move {
                    let headers = h
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                        .collect();
                    g.0.lock()
                        .unwrap()
                        .push((kind.clone(), headers, body.to_vec()));
                    match kind.as_str() {
                        "gone" => StatusCode::GONE,
                        "flaky" => StatusCode::INTERNAL_SERVER_ERROR,
                        _ => StatusCode::CREATED,
                    }
                },
            ),
        )
        .with_state(got.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (base, got)
}

/// A browser's side of a subscription: its P-256 key pair and its auth secret.
struct Browser {
    key: p256::SecretKey,
    auth: [u8; 16],
}

impl Browser {
    fn new(seed: u8) -> Browser {
        let mut raw = [0u8; 32];
        raw[0] = 0x11;
        raw[31] = seed;
        raw[7] = rand::random();
        Browser {
            key: p256::SecretKey::from_slice(&raw).unwrap(),
            auth: rand::random(),
        }
    }
    fn p256dh(&self) -> String {
        B64.encode(self.key.public_key().to_encoded_point(false).as_bytes())
    }
    fn subscription(&self, endpoint: &str, label: &str) -> Value {
        json!({"endpoint": endpoint, "keys": {"p256dh": self.p256dh(), "auth": B64.encode(self.auth)},
               "label": label})
    }

    /// RFC 8291 §3.4 and RFC 8188 §2, from the browser's side: the header (salt, record size,
    /// the sender's public key), the keys derived with HKDF-SHA-256, AES-128-GCM, the padding
    /// delimiter 0x02 of a last record.
    fn decrypt(&self, body: &[u8]) -> String {
        self.try_decrypt(body)
            .expect("the payload decrypts with the subscription's keys")
    }

    fn try_decrypt(&self, body: &[u8]) -> Option<String> {
        use aes_gcm::aead::{Aead, KeyInit};
        let salt = &body[..16];
        let rs = u32::from_be_bytes(body[16..20].try_into().unwrap()) as usize;
        let idlen = body[20] as usize;
        assert_eq!(
            idlen, 65,
            "the key id is the sender's uncompressed public key"
        );
        let as_public = p256::PublicKey::from_sec1_bytes(&body[21..21 + idlen]).unwrap();
        let ct = &body[21 + idlen..];
        assert!(ct.len() <= rs, "one record");
        let shared =
            p256::ecdh::diffie_hellman(self.key.to_nonzero_scalar(), as_public.as_affine());
        let mut info = b"WebPush: info\0".to_vec();
        info.extend_from_slice(self.key.public_key().to_encoded_point(false).as_bytes());
        info.extend_from_slice(as_public.to_encoded_point(false).as_bytes());
        let mut ikm = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(Some(&self.auth), shared.raw_secret_bytes())
            .expand(&info, &mut ikm)
            .unwrap();
        let prk = hkdf::Hkdf::<sha2::Sha256>::new(Some(salt), &ikm);
        let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
        prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
            .unwrap();
        prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
            .unwrap();
        let plain = aes_gcm::Aes128Gcm::new_from_slice(&cek)
            .unwrap()
            .decrypt(aes_gcm::Nonce::from_slice(&nonce), ct)
            .ok()?;
        let end = plain.iter().rposition(|b| *b != 0)?;
        assert_eq!(plain[end], 2, "the last record's delimiter");
        String::from_utf8(plain[..end].to_vec()).ok()
    }
}

fn header<'a>(g: &'a Got, name: &str) -> &'a str {
    g.1.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header: {:?}", g.1))
}

/// Checks RFC 8292's `Authorization: vapid t=JWT, k=KEY`: the key is the one the API gives
/// browsers, the JWT is ES256-signed by it, for the push service's origin, not expired.
fn check_vapid(g: &Got, public_key: &str, origin: &str) {
    use p256::ecdsa::signature::Verifier;
    let auth = header(g, "authorization");
    let (t, k) = auth
        .strip_prefix("vapid t=")
        .and_then(|r| r.split_once(", k="))
        .unwrap_or_else(|| panic!("{auth}"));
    assert_eq!(k, public_key);
    let parts: Vec<&str> = t.split('.').collect();
    assert_eq!(parts.len(), 3);
    let head: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(head["alg"], "ES256");
    let claims: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["aud"], origin);
    let now = linli::store::now_ms() / 1000;
    let exp = claims["exp"].as_i64().unwrap();
    assert!(exp > now && exp <= now + 24 * 3600, "{claims}");
    assert!(!claims["sub"].as_str().unwrap().is_empty());
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&B64.decode(k).unwrap()).unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&B64.decode(parts[2]).unwrap()).unwrap();
    key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .expect("the JWT is signed by the VAPID key");
}

async fn spawn() -> TestApp {
    support::spawn_with(support::Options {
        configure: |c| {
            c.webhook_allow = linli::cases::notify::AllowList::parse(&["127.0.0.1".into()]).unwrap()
        },
        ..Default::default()
    })
    .await
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = app
        .client()
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("accept-language", "zh-CN");
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn user_id(app: &TestApp, name: &'static str) -> i64 {
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM users WHERE username = $1",
                linli::params![name],
            )
        })
        .await
        .unwrap()
}

/// Deliveries on the Web Push channel: (target, state, attempts, last error).
async fn pushes(app: &TestApp) -> Vec<(String, String, i64, String)> {
    app.db
        .read(|c| {
            Ok(c.query(
                "SELECT target, state, attempts, last_error FROM reach_deliveries WHERE channel = 'webpush' ORDER BY id",
                &[],
            )?
            .iter()
            .map(|r| (r.str(0), r.str(1), r.i64(2), r.str(3)))
            .collect::<Vec<_>>())
        })
        .await
        .unwrap()
}

async fn settle(app: &TestApp, n: usize) -> Vec<(String, String, i64, String)> {
    for _ in 0..100 {
        let p = pushes(app).await;
        // Sent, failed, or queued again after a failed try.
        if p.len() >= n
            && p.iter()
                .all(|(_, s, a, _)| s != "sending" && (s != "queued" || *a > 0))
        {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    pushes(app).await
}

async fn tell(app: &TestApp, to: i64, urgency: Urgency, idem: &str, text: &str) {
    let street = app
        .query_i64("SELECT street_id FROM users WHERE username = 'admin'")
        .await;
    let m = Message {
        street_id: street,
        to: Recipient::User(to),
        urgency,
        body: Body::Text(text.into()),
        link: Some("/notices".into()),
        idem: idem.into(),
        source: "test".into(),
        sender: None,
    };
    app.db
        .write(move |c| linli::reach::tell(c, &m))
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_push_reaches_the_browser_encrypted_and_signed_and_a_gone_one_is_removed() {
    let app = spawn().await;
    let (base, service) = push_service().await;
    let jumin = app.token("jumin").await;
    let wangge = app.token("wangge").await;
    let (s, key) = app.get_json(&jumin, "/api/v1/reach/push/key").await;
    assert_eq!(s, 200);
    let public_key = key["public_key"].as_str().unwrap().to_string();
    assert_eq!(B64.decode(&public_key).unwrap().len(), 65);
    // The key is one per deployment and kept: asked again, the same.
    assert_eq!(
        app.get_json(&wangge, "/api/v1/reach/push/key").await.1["public_key"],
        public_key.as_str()
    );

    // Subscriptions as browsers post them; bad ones are refused in the reader's language.
    let phone = Browser::new(1);
    let tablet = Browser::new(2);
    let post = reqwest::Method::POST;
    let (s, v) = call(
        &app,
        post.clone(),
        &jumin,
        "/api/v1/reach/push/devices",
        Some(json!({"endpoint": format!("{base}/push/ok"), "keys": {"p256dh": "AAAA", "auth": B64.encode(phone.auth)}})),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("密钥"),
        "{v}"
    );
    let (s, _) = call(
        &app,
        post.clone(),
        &jumin,
        "/api/v1/reach/push/devices",
        Some(phone.subscription("ftp://127.0.0.1/x", "手机")),
    )
    .await;
    assert_eq!(s, 422);
    let (s, mine) = call(
        &app,
        post.clone(),
        &jumin,
        "/api/v1/reach/push/devices",
        Some(phone.subscription(&format!("{base}/push/ok"), "我的手机")),
    )
    .await;
    assert_eq!(s, 201, "{mine}");
    assert_eq!(mine["label"], "我的手机");
    assert!(
        mine.get("endpoint").is_none(),
        "the endpoint is never answered"
    );
    let (s, old) = call(
        &app,
        post.clone(),
        &jumin,
        "/api/v1/reach/push/devices",
        Some(tablet.subscription(&format!("{base}/push/gone"), "旧平板")),
    )
    .await;
    assert_eq!(s, 201);
    // The same browser subscribing again is one row.
    let (s, again) = call(
        &app,
        post.clone(),
        &jumin,
        "/api/v1/reach/push/devices",
        Some(phone.subscription(&format!("{base}/push/ok"), "我的手机")),
    )
    .await;
    assert_eq!((s, &again["id"]), (201, &mine["id"]));
    let (_, list) = app.get_json(&jumin, "/api/v1/reach/push/devices").await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    // Kept encrypted: the endpoint is nowhere in the row.
    let raw = app
        .db
        .read(|c| c.query_one("SELECT sub FROM reach_push_subs ORDER BY id LIMIT 1", &[]))
        .await
        .unwrap()
        .blob(0)
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("/push/"));
    // Another account sees none of them and cannot remove them.
    let (_, theirs) = app.get_json(&wangge, "/api/v1/reach/push/devices").await;
    assert_eq!(theirs.as_array().unwrap().len(), 0);
    let id = mine["id"].as_i64().unwrap();
    let (s, _) = call(
        &app,
        reqwest::Method::DELETE,
        &wangge,
        &format!("/api/v1/reach/push/devices/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 404);

    // An urgent message: the phone's push service takes it; the tablet's says it is gone.
    let me = user_id(&app, "jumin").await;
    tell(
        &app,
        me,
        Urgency::Urgent,
        "p1",
        "3号楼张阿姨家门磁 24 小时未开 / door not opened for 24 h",
    )
    .await;
    let got = service.wait_for("ok", 1).await;
    let g = &got[0];
    assert_eq!(header(g, "content-encoding"), "aes128gcm");
    assert_eq!(header(g, "urgency"), "high");
    let ttl: i64 = header(g, "ttl").parse().unwrap();
    assert!(ttl > 0 && ttl <= 28 * 24 * 3600, "{ttl}");
    check_vapid(g, &public_key, &base);
    let payload: Value = serde_json::from_str(&phone.decrypt(&g.2)).unwrap();
    assert!(
        payload["body"]
            .as_str()
            .unwrap()
            .contains("3号楼张阿姨家门磁"),
        "{payload}"
    );
    assert!(payload["url"].as_str().unwrap().ends_with("/notices"));
    assert_eq!(payload["urgent"], true);
    // Encrypted for that browser alone: the other one's keys do not open it.
    assert!(
        tablet.try_decrypt(&g.2).is_none(),
        "another browser's keys do not decrypt it"
    );
    let gone = service.wait_for("gone", 1).await;
    let payload: Value = serde_json::from_str(&tablet.decrypt(&gone[0].2)).unwrap();
    assert!(payload["body"].as_str().unwrap().contains("3号楼"));
    let p = settle(&app, 2).await;
    let oid = old["id"].as_i64().unwrap();
    assert!(
        p.iter()
            .any(|(t, s, a, _)| *t == format!("push:{id}") && s == "sent" && *a == 1),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|(t, s, _, e)| *t == format!("push:{oid}") && s == "failed" && e.contains("410")),
        "a 410 fails at once, with no more tries: {p:?}"
    );
    let (_, list) = app.get_json(&jumin, "/api/v1/reach/push/devices").await;
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 1, "the gone subscription is removed: {list:?}");
    assert_eq!(list[0]["id"], id);
    assert!(list[0]["last_sent_at"].is_i64());

    // A message not urgent says so to the push service.
    tell(&app, me, Urgency::Normal, "p2", "居委会通知 / a notice").await;
    let got = service.wait_for("ok", 2).await;
    assert_eq!(header(&got[1], "urgency"), "normal");
    let payload: Value = serde_json::from_str(&phone.decrypt(&got[1].2)).unwrap();
    assert_eq!(payload["urgent"], false);

    // A push service error is tried again with the outbox's backoff.
    let flaky = Browser::new(3);
    let (s, f) = call(
        &app,
        post.clone(),
        &jumin,
        "/api/v1/reach/push/devices",
        Some(flaky.subscription(&format!("{base}/push/flaky"), "办公电脑")),
    )
    .await;
    assert_eq!(s, 201);
    let fid = f["id"].as_i64().unwrap();
    tell(&app, me, Urgency::Normal, "p3", "第三条 / the third").await;
    service.wait_for("flaky", 1).await;
    let p = settle(&app, 4).await;
    assert!(fid > oid, "a removed browser's id is not reused");
    let (_, state, attempts, err) = p
        .iter()
        .find(|(t, ..)| *t == format!("push:{fid}"))
        .unwrap()
        .clone();
    assert_eq!((state.as_str(), attempts), ("queued", 1), "{p:?}");
    assert!(err.contains("HTTP 500"), "{err}");

    // Her page lists her browsers; the outbox names them; a test push goes to them only.
    let (browser, _) = app.login_page("jumin", support::PASSWORD).await;
    let page = app.page(&browser, "/reach/me").await;
    assert!(
        page.contains("我的手机") && page.contains("办公电脑"),
        "{page}"
    );
    assert!(!page.contains("旧平板"));
    assert!(page.contains("/static/reach.js"));
    let (s, _) = call(
        &app,
        reqwest::Method::PUT,
        &jumin,
        "/api/v1/reach/me",
        Some(json!({"email": "jumin@example.com"})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = call(&app, post.clone(), &jumin, "/api/v1/reach/push/test", None).await;
    assert_eq!((s, v["devices"].as_i64()), (202, Some(2)), "{v}");
    // The phone got the third message, then the test.
    let got = service.wait_for("ok", 4).await;
    let payload: Value = serde_json::from_str(&phone.decrypt(&got[3].2)).unwrap();
    assert!(
        payload["body"].as_str().unwrap().contains("测试推送"),
        "{payload}"
    );
    let channels = app
        .db
        .read(|c| {
            Ok(c.query(
                "SELECT d.channel FROM reach_deliveries d JOIN reach_messages m ON m.id = d.message_id \
                 WHERE m.source LIKE 'user:%'",
                &[],
            )?
            .iter()
            .map(|r| r.str(0))
            .collect::<Vec<_>>())
        })
        .await
        .unwrap();
    assert_eq!(
        channels,
        ["webpush", "webpush"],
        "the test goes to her browsers only, not to her e-mail"
    );

    // She turns off the flaky one: what was queued for it fails with the reason, nothing
    // more goes to it; the page's button removes the other.
    let (s, _) = call(
        &app,
        reqwest::Method::DELETE,
        &jumin,
        &format!("/api/v1/reach/push/devices/{fid}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let p = pushes(&app).await;
    assert!(
        p.iter()
            .filter(|(t, ..)| *t == format!("push:{fid}"))
            .all(|(_, s, ..)| s == "failed" || s == "sent"),
        "{p:?}"
    );
    let csrf = support::extract_input(&page, "csrf").unwrap();
    let r = browser
        .post(app.url(&format!("/reach/push/{id}/remove")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, list) = app.get_json(&jumin, "/api/v1/reach/push/devices").await;
    assert_eq!(list.as_array().unwrap().len(), 0);
    let (s, v) = call(&app, post, &jumin, "/api/v1/reach/push/test", None).await;
    assert_eq!(s, 422, "no device: {v}");
}

#[tokio::test]
async fn the_service_worker_is_served_for_the_whole_site() {
    let app = spawn().await;
    let r = app
        .client()
        .get(app.url("/reach/sw.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["service-worker-allowed"], "/");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let js = r.text().await.unwrap();
    assert!(js.contains("showNotification") && js.contains("notificationclick"));
    let js = app
        .client()
        .get(app.url("/static/reach.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(js.contains("pushManager.subscribe") && js.contains("/api/v1/reach/push/devices"));
    // The key file is kept like the other keys: readable by its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let jumin = app.token("jumin").await;
        assert_eq!(app.get_json(&jumin, "/api/v1/reach/push/key").await.0, 200);
        let path = app.state.cfg.keys_dir().join(linli::reach::push::KEY_FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
}

#[tokio::test]
async fn the_street_settings_pages_keep_secrets_and_other_roles_get_403() {
    let app = spawn().await;
    let (admin, _) = app.login_page("admin", support::PASSWORD).await;
    let page = app.page(&admin, "/reach/settings").await;
    assert!(page.contains("邮件与短信"), "{page}");
    let csrf = support::extract_input(&page, "csrf").unwrap();
    let form = |port: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("smtp_host", "127.0.0.1".to_string()),
            ("smtp_port", port.to_string()),
            ("smtp_security", "plain".to_string()),
            ("smtp_user", "linli".to_string()),
            ("smtp_password", "top-secret-pw".to_string()),
            ("smtp_from", "linli@street.example".to_string()),
        ]
    };
    // A bad port: refused in her language, nothing kept, the password not written back.
    let r = admin
        .post(app.url("/reach/settings"))
        .form(&form("99999"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("SMTP 端口须在"), "{body}");
    assert!(!body.contains("top-secret-pw"));
    let r = admin
        .post(app.url("/reach/settings"))
        .form(&form("2525"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = app.page(&admin, "/reach/settings").await;
    assert!(page.contains("smtp-password-set") && page.contains("已设置"));
    assert!(
        !page.contains("top-secret-pw"),
        "the password is never shown back"
    );
    let token = app.token("admin").await;
    let (_, v) = app.get_json(&token, "/api/v1/reach/settings").await;
    assert_eq!(v["smtp_port"], 2525);
    // Robots and duty pages for her; the English page speaks English.
    assert!(
        app.page(&admin, "/reach/robots")
            .await
            .contains("robot-form")
    );
    let duty = app.page(&admin, "/reach/duty").await;
    assert!(duty.contains("duty-list"), "{duty}");
    let en = admin
        .get(app.url("/reach/settings"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        en.contains("E-mail and SMS") && !en.contains("邮件与短信"),
        "{en}"
    );
    // Other roles: 403 on the pages and the new API routes.
    for who in ["shegong", "wangge", "jumin"] {
        let (b, _) = app.login_page(who, support::PASSWORD).await;
        for path in ["/reach/settings", "/reach/robots", "/reach/duty"] {
            let s = b.get(app.url(path)).send().await.unwrap().status();
            assert_eq!(s, 403, "{who} {path}");
        }
        let t = app.token(who).await;
        assert_eq!(app.get_json(&t, "/api/v1/reach/duty").await.0, 403, "{who}");
        let (s, _) = call(
            &app,
            reqwest::Method::POST,
            &t,
            "/api/v1/reach/settings/test",
            Some(json!({"channel": "email", "to": "a@b.cn"})),
        )
        .await;
        assert_eq!(s, 403, "{who}");
    }
    // A care contact through the page: a grid worker in her grid; a bad mobile is refused.
    let grid = support::place_of(&app, "wangge").await;
    let person = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM persons WHERE place_path LIKE $1 ORDER BY id LIMIT 1",
                linli::params![format!("{grid}%")],
            )
        })
        .await
        .unwrap();
    let (w, _) = app.login_page("wangge", support::PASSWORD).await;
    let path = format!("/reach/persons/{person}/contacts");
    let page = app.page(&w, &path).await;
    let csrf = support::extract_input(&page, "csrf").unwrap();
    let add = |addr: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("relation", "family".to_string()),
            ("name", "李小红".to_string()),
            ("channel", "sms".to_string()),
            ("address", addr.to_string()),
            ("timeout_min", "10".to_string()),
            ("consent_note", "电话同意".to_string()),
        ]
    };
    let r = w
        .post(app.url(&path))
        .form(&add("12345"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("手机号无效"));
    let r = w
        .post(app.url(&path))
        .form(&add("13900139000"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = app.page(&w, &path).await;
    assert!(
        page.contains("李**") && page.contains("139****9000"),
        "{page}"
    );
    assert!(!page.contains("李小红"));
    let (j, _) = app.login_page("jumin", support::PASSWORD).await;
    assert_eq!(j.get(app.url(&path)).send().await.unwrap().status(), 403);
}
