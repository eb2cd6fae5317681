//! Reach (issue 24 parts 1 and 2) against real receivers started here: an SMTP server (a
//! small tokio responder speaking EHLO, AUTH PLAIN, MAIL, RCPT, DATA), HTTP receivers that
//! check 企业微信's, 钉钉's (signature verified) and 飞书's payloads, an SMS gateway stub that
//! checks the template; refusals and timeouts stay in the outbox with their reason and are
//! retried until the last try; the same event never sends twice to a channel, even after a
//! process died holding a claim; a care alert escalates family → grid worker → duty worker
//! across a restart and stops at the first "I'm on it"; one-tap links used twice, expired or
//! forged say so; and who may see what.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::{self, TestApp};
use linli::reach::{Body, Message, Recipient, Urgency};

const SMTP_USER: &str = "linli";
const SMTP_PASS: &str = "smtp-secret";
const DING_SECRET: &str = "SECdemo123";

/// One thing a receiver got: (kind, to, body, verified).
type Got = (String, String, String, bool);

/// What the receivers got.
#[derive(Clone, Default)]
struct Inbox(Arc<Mutex<Vec<Got>>>);

impl Inbox {
    fn push(&self, kind: &str, to: &str, body: &str, ok: bool) {
        self.0
            .lock()
            .unwrap()
            .push((kind.into(), to.into(), body.into(), ok));
    }
    fn all(&self) -> Vec<Got> {
        self.0.lock().unwrap().clone()
    }
    fn to(&self, who: &str) -> Vec<String> {
        self.all()
            .into_iter()
            .filter(|(_, t, _, _)| t.contains(who))
            .map(|(_, _, b, _)| b)
            .collect()
    }
    async fn wait_for(&self, who: &str, n: usize) -> Vec<String> {
        for _ in 0..150 {
            let got = self.to(who);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{who} did not receive {n} message(s): {:?}", self.all());
    }

    /// Waits until one of `who`'s messages contains `text` (others may come before it).
    async fn wait_for_text(&self, who: &str, text: &str) -> String {
        for _ in 0..150 {
            if let Some(m) = self.to(who).into_iter().find(|m| m.contains(text)) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{who} did not receive {text:?}: {:?}", self.all());
    }
}

/// A small SMTP server: AUTH PLAIN with one account; recipients containing "refuse" are
/// refused (550); every message taken is kept.
async fn smtp_server() -> (u16, Inbox) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let inbox = Inbox::default();
    let ib = inbox.clone();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else { return };
            let ib = ib.clone();
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut r = BufReader::new(r);
                let _ = w.write_all(b"220 test ESMTP\r\n").await;
                let mut rcpt: Vec<String> = Vec::new();
                let mut authed = false;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let up = line.to_ascii_uppercase();
                    let answer: String = if up.starts_with("EHLO") || up.starts_with("HELO") {
                        "250-test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n".into()
                    } else if up.starts_with("AUTH PLAIN") {
                        let arg = line[10..].trim();
                        let raw = base64::engine::general_purpose::STANDARD
                            .decode(arg)
                            .unwrap_or_default();
                        let want = format!("\0{SMTP_USER}\0{SMTP_PASS}");
                        authed = raw == want.as_bytes();
                        if authed {
                            "235 2.7.0 ok\r\n".into()
                        } else {
                            "535 5.7.8 bad credentials\r\n".into()
                        }
                    } else if up.starts_with("MAIL FROM") {
                        rcpt.clear();
                        if authed {
                            "250 ok\r\n".into()
                        } else {
                            "530 5.7.0 authentication required\r\n".into()
                        }
                    } else if up.starts_with("RCPT TO") {
                        if line.contains("refuse") {
                            "550 5.1.1 mailbox unavailable\r\n".into()
                        } else {
                            rcpt.push(line[8..].trim().to_string());
                            "250 ok\r\n".into()
                        }
                    } else if up.starts_with("DATA") {
                        let _ = w.write_all(b"354 go on\r\n").await;
                        let mut data = String::new();
                        loop {
                            let mut l = String::new();
                            if r.read_line(&mut l).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if l == ".\r\n" {
                                break;
                            }
                            data.push_str(&l);
                        }
                        for to in &rcpt {
                            ib.push("email", to, &data, true);
                        }
                        "250 2.0.0 queued\r\n".into()
                    } else if up.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        "250 ok\r\n".into()
                    };
                    if w.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, inbox)
}

/// The robots' and the SMS gateway's receivers.
async fn http_receivers() -> (String, Inbox) {
    use axum::extract::{RawQuery, State};
    use axum::http::HeaderMap;
    use axum::routing::post;
    let inbox = Inbox::default();
    let robot = |kind: &'static str| {
        move |State(ib): State<Inbox>, RawQuery(q): RawQuery, body: String| async move {
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let (ok, answer) = match kind {
                "wecom" => (
                    v["msgtype"] == "text" && v["text"]["content"].is_string(),
                    json!({"errcode": 0, "errmsg": "ok"}),
                ),
                "dingtalk" => {
                    // 钉钉's check: sign = base64(HMAC-SHA256(secret, "timestamp\nsecret")).
                    let q = q.unwrap_or_default();
                    let get = |k: &str| {
                        form_urlencoded::parse(q.as_bytes())
                            .find(|(n, _)| n == k)
                            .map(|(_, v)| v.into_owned())
                            .unwrap_or_default()
                    };
                    use hmac::Mac;
                    let mut mac =
                        <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(DING_SECRET.as_bytes())
                            .unwrap();
                    mac.update(format!("{}\n{DING_SECRET}", get("timestamp")).as_bytes());
                    let want = base64::engine::general_purpose::STANDARD
                        .encode(mac.finalize().into_bytes());
                    let ok = get("sign") == want
                        && get("access_token") == "tok"
                        && v["msgtype"] == "text"
                        && v["text"]["content"].is_string();
                    (
                        ok,
                        if ok {
                            json!({"errcode": 0, "errmsg": "ok"})
                        } else {
                            json!({"errcode": 310000, "errmsg": "sign not match"})
                        },
                    )
                }
                _ => (
                    v["msg_type"] == "text" && v["content"]["text"].is_string(),
                    json!({"code": 0, "msg": "success"}),
                ),
            };
            ib.push(kind, kind, &body, ok);
            axum::Json(answer)
        }
    };
    let sms = |refuse: bool| {
        move |State(ib): State<Inbox>, h: HeaderMap, body: String| async move {
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let ok = h.get("x-api-key").and_then(|v| v.to_str().ok()) == Some("k1")
                && v["to"].as_str().is_some_and(|t| t.len() == 11)
                && v["msg"].is_string();
            ib.push("sms", v["to"].as_str().unwrap_or(""), &body, ok);
            axum::Json(json!({"result": {"code": if refuse || !ok { "LIMIT" } else { "OK" }}}))
        }
    };
    let app = axum::Router::new()
        .route("/wecom", post(robot("wecom")))
        .route("/dingtalk", post(robot("dingtalk")))
        .route("/feishu", post(robot("feishu")))
        .route("/sms", post(sms(false)))
        .route("/sms-refuse", post(sms(true)))
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(15)).await;
                "late"
            }),
        )
        .with_state(inbox.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (base, inbox)
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
        .bearer_auth(token)
        .header("accept-language", "zh-CN");
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    send(app, reqwest::Method::PUT, token, path, Some(body)).await
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    send(app, reqwest::Method::POST, token, path, Some(body)).await
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

async fn street(app: &TestApp) -> i64 {
    app.query_i64("SELECT street_id FROM users WHERE username = 'admin'")
        .await
}

/// Sets the street's SMTP server and SMS gateway.
async fn set_channels(app: &TestApp, admin: &str, smtp_port: u16, http: &str, sms_path: &str) {
    let (s, v) = put(
        app,
        admin,
        "/api/v1/reach/settings",
        json!({"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_security": "plain",
               "smtp_user": SMTP_USER, "smtp_password": SMTP_PASS, "smtp_from": "linli@street.example",
               "sms": {"url": format!("{http}{sms_path}"), "headers": [["X-Api-Key", "k1"]], "format": "json",
                       "body": "{\"to\":\"{phone}\",\"msg\":\"{text}\"}", "success": "json:result.code=OK"}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["smtp_password_set"], true);
    assert!(
        v.get("smtp_password").is_none(),
        "the password is never answered"
    );
}

/// Deliveries by state of the street.
async fn states(app: &TestApp) -> Vec<(String, String, i64, String)> {
    app.db
        .read(|c| {
            Ok(c.query(
                "SELECT target, state, attempts, last_error FROM reach_deliveries ORDER BY id",
                &[],
            )?
            .iter()
            .map(|r| (r.str(0), r.str(1), r.i64(2), r.str(3)))
            .collect::<Vec<_>>())
        })
        .await
        .unwrap()
}

async fn tell(app: &TestApp, m: Message) -> Option<i64> {
    app.db
        .write(move |c| linli::reach::tell(c, &m))
        .await
        .unwrap()
}

fn msg(street: i64, to: Recipient, idem: &str, sender: Option<i64>) -> Message {
    Message {
        street_id: street,
        to,
        urgency: Urgency::Normal,
        body: Body::Text("3号楼电梯今天下午检修 / lift maintenance this afternoon".into()),
        link: Some("/notices".into()),
        idem: idem.into(),
        source: "test".into(),
        sender,
    }
}

#[tokio::test]
async fn every_channel_reaches_its_real_receiver() {
    let app = spawn().await;
    let (smtp_port, mail) = smtp_server().await;
    let (http, hooks) = http_receivers().await;
    let admin = app.token("admin").await;
    let jumin = app.token("jumin").await;
    set_channels(&app, &admin, smtp_port, &http, "/sms").await;
    let st = street(&app).await;
    // Robots of the street's groups.
    let mut robots = Vec::new();
    for (kind, path, secret) in [
        ("wecom", "/wecom?key=k", None),
        ("dingtalk", "/dingtalk?access_token=tok", Some(DING_SECRET)),
        ("feishu", "/feishu", None),
    ] {
        let (s, v) = post(
            &app,
            &admin,
            "/api/v1/reach/robots",
            json!({"place_id": st, "name": format!("{kind} 群"), "kind": kind,
                   "url": format!("{http}{path}"), "secret": secret}),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["signed"], secret.is_some());
        robots.push(v["id"].as_i64().unwrap());
    }
    // A resident's channels: a bad address is refused in her language and nothing is kept.
    let (s, v) = put(
        &app,
        &jumin,
        "/api/v1/reach/me",
        json!({"email": "not-an-address"}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("电子邮件"),
        "{v}"
    );
    let (s, v) = put(
        &app,
        &jumin,
        "/api/v1/reach/me",
        json!({"email": "jumin@example.com", "sms": "+86 138-0013-8000", "lang": "zh"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["addresses"][0]["masked"], "j***@example.com");
    assert_eq!(v["addresses"][1]["masked"], "138****8000");
    // Stored encrypted: the plain address is nowhere in the row.
    let raw = app
        .db
        .read(|c| {
            c.query_one(
                "SELECT address FROM reach_addresses WHERE channel = 'email'",
                &[],
            )
        })
        .await
        .unwrap()
        .blob(0)
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("jumin@"));

    let me = user_id(&app, "jumin").await;
    let admin_id = user_id(&app, "admin").await;
    tell(&app, msg(st, Recipient::User(me), "t1", Some(admin_id)))
        .await
        .unwrap();
    for r in &robots {
        tell(
            &app,
            msg(st, Recipient::Robot(*r), &format!("r{r}"), Some(admin_id)),
        )
        .await
        .unwrap();
    }
    let got = mail.wait_for("jumin@example.com", 1).await;
    assert!(got[0].contains("multipart/alternative"), "{}", got[0]);
    assert!(got[0].contains("text/plain") && got[0].contains("text/html"));
    assert!(got[0].contains("Message-ID:"));
    let sms = hooks.wait_for("13800138000", 1).await;
    let v: Value = serde_json::from_str(&sms[0]).unwrap();
    assert!(v["msg"].as_str().unwrap().contains("3号楼电梯"), "{v}");
    assert!(
        v["msg"].as_str().unwrap().contains("/notices"),
        "the link goes along: {v}"
    );
    for kind in ["wecom", "dingtalk", "feishu"] {
        let got = hooks.wait_for(kind, 1).await;
        assert!(got[0].contains("3号楼电梯"), "{kind}: {}", got[0]);
    }
    assert!(
        hooks.all().iter().all(|(_, _, _, ok)| *ok),
        "every payload as its platform documents it (钉钉's signature verified): {:?}",
        hooks.all()
    );
    for _ in 0..50 {
        if states(&app).await.iter().all(|(_, s, ..)| s == "sent") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all = states(&app).await;
    assert_eq!(all.len(), 5, "{all:?}");
    assert!(
        all.iter().all(|(_, s, a, _)| s == "sent" && *a == 1),
        "{all:?}"
    );
    // The same event told again makes nothing more.
    assert_eq!(
        tell(&app, msg(st, Recipient::User(me), "t1", None)).await,
        None
    );
    assert_eq!(states(&app).await.len(), 5);

    // The outbox page and API show it to the street's administrator; the metrics count it.
    let (s, v) = app
        .get_json(&admin, "/api/v1/reach/outbox?state=sent")
        .await;
    assert_eq!(s, 200);
    assert_eq!(v.as_array().unwrap().len(), 5);
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|d| d["to"] == "j***@example.com")
    );
    let (browser, _) = app.login_page("admin", support::PASSWORD).await;
    let page = app.page(&browser, "/reach/outbox").await;
    assert!(
        page.contains("outbox-list") && page.contains("已发送"),
        "{page}"
    );
    let metrics = app
        .client()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("linli_reach_sent_total{channel=\"email\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn refusals_and_timeouts_stay_in_the_outbox_and_fail_after_the_last_try() {
    let app = spawn().await;
    let (smtp_port, mail) = smtp_server().await;
    let (http, hooks) = http_receivers().await;
    let admin = app.token("admin").await;
    let jumin = app.token("jumin").await;
    set_channels(&app, &admin, smtp_port, &http, "/sms-refuse").await;
    let st = street(&app).await;
    let (s, v) = post(
        &app,
        &admin,
        "/api/v1/reach/robots",
        json!({"place_id": st, "name": "慢群", "kind": "wecom", "url": format!("{http}/slow")}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let slow = v["id"].as_i64().unwrap();
    put(
        &app,
        &jumin,
        "/api/v1/reach/me",
        json!({"email": "refuse-me@example.com", "sms": "13800138000"}),
    )
    .await;
    let me = user_id(&app, "jumin").await;
    let admin_id = user_id(&app, "admin").await;
    // Written with a time in the past, so the server's own loop takes it at once too: the
    // test then drives the retries with a clock of its own.
    tell(&app, msg(st, Recipient::User(me), "f1", Some(admin_id)))
        .await
        .unwrap();
    tell(&app, msg(st, Recipient::Robot(slow), "f2", Some(admin_id)))
        .await
        .unwrap();
    let mut t = linli::store::now_ms();
    for _ in 0..200 {
        let s = states(&app).await;
        if s.iter().all(|(_, st, a, _)| st == "queued" && *a == 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = states(&app).await;
    assert_eq!(s.len(), 3, "{s:?}");
    for (target, state, attempts, err) in &s {
        assert_eq!(
            (state.as_str(), *attempts),
            ("queued", 1),
            "{target}: {err}"
        );
        assert!(!err.is_empty());
    }
    assert!(s.iter().any(|(_, _, _, e)| e.contains("550")), "{s:?}");
    assert!(s.iter().any(|(_, _, _, e)| e.contains("LIMIT")), "{s:?}");
    assert!(
        s.iter().any(|(_, _, _, e)| e.contains("timed out")),
        "{s:?}"
    );
    assert!(mail.all().is_empty());
    // The slow group's robot is removed (its next tries fail at once, not after 10 s each).
    app.exec("UPDATE reach_robots SET active = 0", &[]).await;
    // Retried with backoff until the last try, then failed for good.
    for _ in 1..linli::reach::outbox::MAX_ATTEMPTS {
        t += 10 * 3_600_000;
        linli::reach::service::deliver_due(&app.state, t, 100)
            .await
            .unwrap();
    }
    let s = states(&app).await;
    assert!(
        s.iter()
            .all(|(_, st, a, _)| st == "failed" && *a == linli::reach::outbox::MAX_ATTEMPTS),
        "{s:?}"
    );
    assert!(
        hooks.all().iter().filter(|(k, ..)| k == "sms").count() as i64
            == linli::reach::outbox::MAX_ATTEMPTS
    );
    // The sender is told in linli: her page and her home card.
    let (browser, _) = app.login_page("admin", support::PASSWORD).await;
    let page = app.page(&browser, "/reach/me").await;
    assert!(page.contains("550"), "{page}");
    let home = app.page(&browser, "/").await;
    assert!(home.contains("home-reach-failed"), "{home}");
    let (_, v) = app
        .get_json(&admin, "/api/v1/reach/outbox?state=failed")
        .await;
    assert_eq!(v.as_array().unwrap().len(), 3);
    // An administrator queues one again.
    let id = v[0]["id"].as_i64().unwrap();
    let (s, _) = post(
        &app,
        &admin,
        &format!("/api/v1/reach/outbox/{id}/retry"),
        json!({}),
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = post(
        &app,
        &admin,
        &format!("/api/v1/reach/outbox/{id}/retry"),
        json!({}),
    )
    .await;
    assert_eq!(s, 404, "only a failed delivery is queued again");
}

#[tokio::test]
async fn a_process_killed_holding_a_claim_never_sends_twice_to_a_channel() {
    let app = spawn().await;
    let (smtp_port, mail) = smtp_server().await;
    let (http, _) = http_receivers().await;
    let admin = app.token("admin").await;
    let jumin = app.token("jumin").await;
    set_channels(&app, &admin, smtp_port, &http, "/sms").await;
    put(
        &app,
        &jumin,
        "/api/v1/reach/me",
        json!({"email": "jumin@example.com"}),
    )
    .await;
    let st = street(&app).await;
    let me = user_id(&app, "jumin").await;
    // The event and its message, as a process writes them just before dying (kill -9): the
    // delivery queued in the future, so the running server's loop does not take it yet.
    let t0 = linli::store::now_ms() + 3_600_000;
    app.db
        .write(move |c| {
            linli::reach::outbox::tell_at(c, &msg(st, Recipient::User(me), "k1", None), t0)?;
            // Told again by a retried event: the same key makes nothing more.
            linli::reach::outbox::tell_at(c, &msg(st, Recipient::User(me), "k1", None), t0)
        })
        .await
        .unwrap();
    // A process claimed it and died before sending.
    let claimed = app
        .db
        .write(move |c| linli::reach::outbox::claim(c, t0, 10))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    // Another claim in the meantime takes nothing: the row is held.
    let none = app
        .db
        .write(move |c| linli::reach::outbox::claim(c, t0 + 1000, 10))
        .await
        .unwrap();
    assert!(none.is_empty());
    // After the claim went stale, the next process (a new database handle: a restart) sends it.
    let url = app.database_url.clone();
    let db2 = tokio::task::spawn_blocking(move || linli::store::Db::open(&url).unwrap())
        .await
        .unwrap();
    let later = t0 + linli::reach::outbox::STALE_CLAIM_MS + 1;
    let again = db2
        .write(move |c| linli::reach::outbox::claim(c, later, 10))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    db2.write(move |c| {
        linli::reach::outbox::record(c, &[(again[0].id, again[0].attempts, Ok(()))], later)
    })
    .await
    .unwrap();
    for n in 0..3 {
        let r = linli::reach::service::deliver_due(&app.state, later + n * 3_600_000, 10)
            .await
            .unwrap();
        assert_eq!(r.claimed, 0, "a sent delivery is never taken again");
    }
    let s = states(&app).await;
    assert_eq!(s.len(), 1, "one delivery per message and channel: {s:?}");
    assert_eq!(s[0].1, "sent");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(mail.to("jumin@example.com").len() <= 1);
}

/// A door magnet of an elderly person in wangge's grid: (device id, its token, person id).
async fn door(app: &TestApp, admin: &str) -> (i64, String, i64) {
    let grid = support::place_of(app, "wangge").await;
    let (s, v) = app
        .get_json(
            admin,
            &format!("/api/v1/devices?limit=1000&device_type=door_magnet&under={grid}"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let d = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["person_id"].is_i64())
        .expect("a door magnet watching over a person")
        .clone();
    (
        d["id"].as_i64().unwrap(),
        d["token"].as_str().unwrap().to_string(),
        d["person_id"].as_i64().unwrap(),
    )
}

/// Raises a smoke alert on the device; returns the alert's id.
async fn raise(app: &TestApp, admin: &str, dev: i64, token: &str) -> i64 {
    let (s, v) = post(
        app,
        admin,
        "/api/v1/rules",
        json!({"name": "烟雾", "kind": "event", "severity": "critical", "device_id": dev, "ack_minutes": 60,
               "category": "fire_safety", "params": {"key": "smoke", "equals": 1}}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let rule = v["id"].as_i64().unwrap();
    let r = app
        .client()
        .post(app.url("/api/v1/telemetry"))
        .bearer_auth(token)
        .json(&json!({"values": {"smoke": 1}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    for _ in 0..100 {
        let found = app
            .db
            .read(move |c| {
                c.query_opt(
                    "SELECT id FROM alerts WHERE rule_id = $1",
                    linli::params![rule],
                )
            })
            .await
            .unwrap();
        if let Some(r) = found {
            return r.i64(0);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no alert raised");
}

/// The tokens of a chain's taps at a step: (target, token).
async fn taps(app: &TestApp, step: i64) -> Vec<(String, String)> {
    let keys = app.state.keys.clone();
    app.db
        .read(move |c| {
            Ok(c.query(
                "SELECT id, target, expires_at, nonce FROM reach_taps WHERE step = $1 ORDER BY id",
                linli::params![step],
            )?
            .iter()
            .map(|r| {
                (
                    r.str(1),
                    linli::reach::chains::token(&keys, r.i64(0), r.i64(2), &r.str(3)),
                )
            })
            .collect::<Vec<_>>())
        })
        .await
        .unwrap()
}

async fn chain_state(db: &linli::store::Db, alert: i64) -> (i64, String) {
    let r = db
        .read(move |c| {
            c.query_one(
                "SELECT step, state FROM reach_chains WHERE alert_id = $1",
                linli::params![alert],
            )
        })
        .await
        .unwrap();
    (r.i64(0), r.str(1))
}

/// Sets up a care chain's people: a family contact with consent, the grid worker's and the
/// duty worker's e-mail.
async fn care_people(app: &TestApp, admin: &str, person: i64) {
    let (s, v) = post(
        app,
        admin,
        &format!("/api/v1/reach/persons/{person}/contacts"),
        json!({"relation": "family", "name": "李小红", "channel": "email", "address": "family@example.com",
               "timeout_min": 10, "consent_note": "2026-03-01 电话同意"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v[0]["name_masked"], "李**");
    assert_eq!(v[0]["address_masked"], "f***@example.com");
    // The look is in the person's access log.
    let e = app.last_audit_entry().await;
    assert!(e.to_string().contains(&format!("person:{person}")), "{e}");
    let wangge = app.token("wangge").await;
    let shegong = app.token("shegong").await;
    assert_eq!(
        put(
            app,
            &wangge,
            "/api/v1/reach/me",
            json!({"email": "wangge@example.com"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        put(
            app,
            &shegong,
            "/api/v1/reach/me",
            json!({"email": "shegong@example.com"})
        )
        .await
        .0,
        200
    );
    let grid = support::place_of(app, "wangge").await;
    let community = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT parent_id FROM places WHERE path = $1",
                linli::params![grid],
            )
        })
        .await
        .unwrap();
    let shegong_id = user_id(app, "shegong").await;
    let (s, v) = put(
        app,
        admin,
        "/api/v1/reach/duty",
        json!({"community_id": community, "user_id": shegong_id, "timeout_min": 15}),
    )
    .await;
    assert_eq!(s, 204, "{v}");
}

#[tokio::test]
async fn a_care_alert_escalates_family_grid_duty_across_a_restart() {
    let app = spawn().await;
    let (smtp_port, mail) = smtp_server().await;
    let (http, _) = http_receivers().await;
    let admin = app.token("admin").await;
    set_channels(&app, &admin, smtp_port, &http, "/sms").await;
    let (dev, token, person) = door(&app, &admin).await;
    care_people(&app, &admin, person).await;
    // Quiet hours all day long never delay a care alert.
    let wangge = app.token("wangge").await;
    put(
        &app,
        &wangge,
        "/api/v1/reach/me",
        json!({"email": "wangge@example.com", "quiet_from": "00:00", "quiet_to": "23:59"}),
    )
    .await;

    let t0 = linli::store::now_ms();
    let alert = raise(&app, &admin, dev, &token).await;
    // The family first, within a second.
    let got = mail.wait_for("family@example.com", 1).await;
    assert!(linli::store::now_ms() - t0 < 5_000);
    assert!(
        got[0].contains("/reach/t/") || got[0].contains("reach/t"),
        "{}",
        got[0]
    );
    assert_eq!(chain_state(&app.db, alert).await, (0, "running".into()));
    assert!(mail.to("wangge@").is_empty());
    // Nobody answers: after her timeout, the grid worker (whose quiet hours do not apply).
    let t1 = linli::store::now_ms() + 11 * 60_000;
    assert_eq!(
        linli::reach::service::sweep_chains(&app.state, t1)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        linli::reach::service::sweep_chains(&app.state, t1)
            .await
            .unwrap(),
        0,
        "a step is told once"
    );
    linli::reach::service::deliver_due(&app.state, t1, 100)
        .await
        .unwrap();
    mail.wait_for("wangge@example.com", 1).await;
    assert_eq!(chain_state(&app.db, alert).await, (1, "running".into()));
    // The process restarts mid-chain: a new handle on the same database goes on from there.
    let url = app.database_url.clone();
    let db2 = tokio::task::spawn_blocking(move || linli::store::Db::open(&url).unwrap())
        .await
        .unwrap();
    let t2 = t1 + 11 * 60_000;
    assert_eq!(
        db2.write(move |c| linli::reach::chains::sweep(c, t2))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        db2.write(move |c| linli::reach::chains::sweep(c, t2))
            .await
            .unwrap(),
        0
    );
    assert_eq!(chain_state(&db2, alert).await, (2, "running".into()));
    linli::reach::service::deliver_due(&app.state, t2, 100)
        .await
        .unwrap();
    mail.wait_for("shegong@example.com", 1).await;
    assert_eq!(mail.to("family@").len(), 1, "nobody is told twice");
    assert_eq!(mail.to("wangge@").len(), 1);
    // The duty worker answers: the chain stops, the alert is acknowledged with the answer, and
    // its case records it.
    let duty = taps(&app, 2).await;
    assert_eq!(duty.len(), 1);
    let (s, v) = post(
        &app,
        "",
        &format!("/api/v1/reach/taps/{}", duty[0].1),
        json!({"answer": "on_it"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "answered");
    assert_eq!(chain_state(&db2, alert).await, (2, "answered".into()));
    let (st, note) = app
        .db
        .read(move |c| {
            let a = c.query_one("SELECT state, case_id FROM alerts WHERE id = $1", linli::params![alert])?;
            let n = c.query_one(
                "SELECT note FROM alert_events WHERE alert_id = $1 AND action = 'acknowledged'",
                linli::params![alert],
            )?;
            if let Some(case) = a.opt_i64(1) {
                assert_eq!(
                    c.query_i64(
                        "SELECT COUNT(*) FROM case_events WHERE case_id = $1 AND action = 'care_answer'",
                        linli::params![case]
                    )?,
                    1
                );
            }
            Ok((a.str(0), n.str(0)))
        })
        .await
        .unwrap();
    assert_eq!(st, "active_ack");
    assert!(note.contains("我去处理"), "{note}");
    let t3 = t2 + 3_600_000;
    assert_eq!(
        linli::reach::service::sweep_chains(&app.state, t3)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn the_first_answer_stops_the_chain_and_links_refuse_reuse_expiry_and_forgery() {
    let app = spawn().await;
    let (smtp_port, mail) = smtp_server().await;
    let (http, _) = http_receivers().await;
    let admin = app.token("admin").await;
    set_channels(&app, &admin, smtp_port, &http, "/sms").await;
    let (dev, token, person) = door(&app, &admin).await;
    care_people(&app, &admin, person).await;
    let alert = raise(&app, &admin, dev, &token).await;
    mail.wait_for("family@example.com", 1).await;
    let family = taps(&app, 0).await;
    assert_eq!(family.len(), 1);
    assert_eq!(family[0].0.split(':').next(), Some("contact"));
    let link = format!("/reach/t/{}", family[0].1);
    // The landing page answers nothing by itself (link previews), and offers two buttons.
    let page = app.client().get(app.url(&link)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("tap-on-it") && html.contains("tap-fine"),
        "{html}"
    );
    assert_eq!(chain_state(&app.db, alert).await.1, "running");
    // One tap: "she is fine".
    let r = app
        .client()
        .post(app.url(&link))
        .form(&[("answer", "fine")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("她没事"));
    assert_eq!(chain_state(&app.db, alert).await, (0, "answered".into()));
    // Its timeout passes: nobody else is woken.
    let later = linli::store::now_ms() + 3_600_000;
    assert_eq!(
        linli::reach::service::sweep_chains(&app.state, later)
            .await
            .unwrap(),
        0
    );
    linli::reach::service::deliver_due(&app.state, later, 100)
        .await
        .unwrap();
    assert!(mail.to("wangge@").is_empty() && mail.to("shegong@").is_empty());
    // Used twice.
    let r = app
        .client()
        .post(app.url(&link))
        .form(&[("answer", "on_it")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("已使用"));
    let (s, v) = post(
        &app,
        "",
        &format!("/api/v1/reach/taps/{}", family[0].1),
        json!({"answer": "on_it"}),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    // Forged: the signature altered, or another link's id under this signature.
    let mut forged = family[0].1.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    let r = app
        .client()
        .get(app.url(&format!("/reach/t/{forged}")))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("not valid"));
    let r = app
        .client()
        .post(app.url("/reach/t/garbage"))
        .form(&[("answer", "fine")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Expired: a link of this chain past its time.
    let chain = app
        .query_i64("SELECT id FROM reach_chains ORDER BY id DESC LIMIT 1")
        .await;
    let st = street(&app).await;
    let past = linli::store::now_ms() - 1;
    let (id, nonce) = app
        .db
        .write(move |c| {
            let id = c.query_i64(
                "INSERT INTO reach_taps (street_id, chain_id, step, target, label, nonce, expires_at, created_at) \
                 VALUES ($1, $2, 1, 'user:1', 'grid', 'abcd', $3, $3) RETURNING id",
                linli::params![st, chain, past],
            )?;
            Ok((id, "abcd".to_string()))
        })
        .await
        .unwrap();
    let expired = linli::reach::chains::token(&app.state.keys, id, past, &nonce);
    let r = app
        .client()
        .post(app.url(&format!("/reach/t/{expired}")))
        .form(&[("answer", "on_it")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("已过期"));
}

#[tokio::test]
async fn a_resolved_case_reaches_its_reporter_on_her_channel() {
    let app = spawn().await;
    let (smtp_port, mail) = smtp_server().await;
    let (http, _) = http_receivers().await;
    let admin = app.token("admin").await;
    let jumin = app.token("jumin").await;
    let wuye = app.token("wuye").await;
    set_channels(&app, &admin, smtp_port, &http, "/sms").await;
    put(
        &app,
        &jumin,
        "/api/v1/reach/me",
        json!({"email": "jumin@example.com", "lang": "en"}),
    )
    .await;
    let grid = support::place_of(&app, "wangge").await;
    let b = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM places WHERE kind = 'building' AND path LIKE $1 ORDER BY id LIMIT 1",
                linli::params![format!("{grid}/%")],
            )
        })
        .await
        .unwrap();
    let (s, v) = post(
        &app,
        &jumin,
        "/api/v1/cases",
        json!({"category": "facility_repair", "description": "单元门口的路灯坏了", "place_id": b,
               "extra": {"facility": "路灯"}}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["case"]["id"].as_i64().unwrap();
    let wuye_org = app
        .query_i64("SELECT r.org_id FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.username = 'wuye'")
        .await;
    let path = format!("/api/v1/cases/{id}/transitions");
    for (tok, body) in [
        (&admin, json!({"action": "accept"})),
        (&admin, json!({"action": "dispatch", "org_id": wuye_org})),
        (&wuye, json!({"action": "sign_for"})),
        (&wuye, json!({"action": "start"})),
        (&wuye, json!({"action": "resolve", "note": "已更换灯具"})),
    ] {
        let (s, v) = post(&app, tok, &path, body.clone()).await;
        assert_eq!(s, 200, "{body}: {v}");
    }
    // In her language (English), among the updates of the report she follows (accepted,
    // dispatched … each may arrive first), with the link that unfollows it.
    let got = mail
        .wait_for_text(
            "jumin@example.com",
            &format!("Your report #{id} was resolved"),
        )
        .await;
    assert!(got.contains("/nearby/unfollow/"), "{got}");
}

#[tokio::test]
async fn who_may_see_and_change_what() {
    let app = spawn().await;
    let admin = app.token("admin").await;
    let jumin = app.token("jumin").await;
    let wangge = app.token("wangge").await;
    // The street's outbox, channels, robots and chains: its administrators only.
    for path in [
        "/api/v1/reach/outbox",
        "/api/v1/reach/settings",
        "/api/v1/reach/robots",
        "/api/v1/reach/chains",
    ] {
        assert_eq!(app.get_json(&jumin, path).await.0, 403, "{path}");
        assert_eq!(app.get_json(&wangge, path).await.0, 403, "{path}");
        assert_eq!(app.get_json(&admin, path).await.0, 200, "{path}");
    }
    assert_eq!(
        put(
            &app,
            &wangge,
            "/api/v1/reach/settings",
            json!({"smtp_host": "x"})
        )
        .await
        .0,
        403
    );
    let (s, v) = put(
        &app,
        &admin,
        "/api/v1/reach/settings",
        json!({"sms": {"url": "http://127.0.0.1/x", "format": "json", "body": "{\"to\":\"{phone}\"}"}}),
    )
    .await;
    assert_eq!(s, 422, "a template without {{text}} is refused: {v}");
    // An outside gateway on a private address is refused unless allowed (this test allows
    // 127.0.0.1 only).
    let (s, _) = post(
        &app,
        &admin,
        "/api/v1/reach/robots",
        json!({"place_id": street(&app).await, "name": "内网", "kind": "wecom", "url": "http://10.1.2.3/hook"}),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(
        app.client()
            .get(app.url("/reach/outbox"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    // Contacts: a resident may not; a grid worker only in her grid (404 outside).
    let (_, _, person) = door(&app, &admin).await;
    assert_eq!(
        app.get_json(&jumin, &format!("/api/v1/reach/persons/{person}/contacts"))
            .await
            .0,
        403
    );
    assert_eq!(
        app.get_json(&wangge, &format!("/api/v1/reach/persons/{person}/contacts"))
            .await
            .0,
        200
    );
    let grid = support::place_of(&app, "wangge").await;
    let outside = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM persons WHERE place_path NOT LIKE $1 ORDER BY id LIMIT 1",
                linli::params![format!("{grid}%")],
            )
        })
        .await
        .unwrap();
    assert_eq!(
        app.get_json(
            &wangge,
            &format!("/api/v1/reach/persons/{outside}/contacts")
        )
        .await
        .0,
        404
    );
    let (s, v) = post(
        &app,
        &wangge,
        &format!("/api/v1/reach/persons/{person}/contacts"),
        json!({"relation": "family", "name": "李小红", "channel": "sms", "address": "12345", "consent_note": "同意"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let (s, _) = post(
        &app,
        &wangge,
        &format!("/api/v1/reach/persons/{person}/contacts"),
        json!({"relation": "family", "name": "李小红", "channel": "sms", "address": "13900139000", "consent_note": ""}),
    )
    .await;
    assert_eq!(s, 422, "consent is recorded or nothing is");
    // Quiet hours: both ends or neither; the page saves them.
    assert_eq!(
        put(
            &app,
            &jumin,
            "/api/v1/reach/me",
            json!({"quiet_from": "22:00"})
        )
        .await
        .0,
        422
    );
    let (browser, _) = app.login_page("jumin", support::PASSWORD).await;
    let page = app.page(&browser, "/reach/me").await;
    let csrf = support::extract_input(&page, "csrf").unwrap();
    let r = browser
        .post(app.url("/reach/me"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "jumin@example.com"),
            ("sms", ""),
            ("quiet_from", "22:00"),
            ("quiet_to", "07:00"),
            ("lang", "zh"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, v) = app.get_json(&jumin, "/api/v1/reach/me").await;
    assert_eq!(v["quiet_from"], "22:00");
    assert_eq!(v["quiet_to"], "07:00");
    assert!(
        !app.page(&browser, "/reach/outbox")
            .await
            .contains("outbox-list"),
        "a resident does not see the street's outbox"
    );
}
