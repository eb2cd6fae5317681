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

mod chains;
mod delivery;

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
    let (_, _, person) = chains::door(&app, &admin).await;
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
