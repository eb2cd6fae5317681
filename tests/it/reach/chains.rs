//! Care chains: family → grid worker → duty worker across a restart, stopped by the first
//! answer; one-tap links used twice, expired or forged.

use super::*;

/// A door magnet of an elderly person in wangge's grid: (device id, its token, person id).
pub(super) async fn door(app: &TestApp, admin: &str) -> (i64, String, i64) {
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
