//! Delivery to real receivers: every channel, refusals and timeouts retried until the last
//! try, and a process killed holding a claim never sending twice.

use super::*;

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
