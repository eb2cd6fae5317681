//! Deadlines in the street's working time, and escalation with an injected clock across a
//! restart.

use linli::cases::calendar::{self, HOUR_MS};

use super::*;

#[tokio::test]
async fn deadlines_count_working_time_from_the_street_calendar() {
    let app = support::spawn().await;
    let street = street_of(&app).await;
    let b = buildings(&app).await[0];
    let admin = app.token("admin").await;
    // Illegal parking: 1 working hour to accept. 30 Sep 2026 16:30 + 1 h skips National Day.
    let t = calendar::local_ms(2026, 9, 30, 16, 30);
    let due = app
        .db
        .write(move |c| {
            let id = linli::cases::create(
                c,
                street,
                linli::cases::Channel::Api,
                &linli::cases::NewCase {
                    category: "illegal_parking".into(),
                    description: "国庆前夜违停".into(),
                    place_id: Some(b),
                    ..Default::default()
                },
                t,
            )
            .map_err(|e| linli::store::StoreError::Db(format!("{e:?}")))?;
            c.query_i64(
                "SELECT due_at FROM cases WHERE id = $1",
                linli::params![id.0],
            )
        })
        .await
        .unwrap();
    assert_eq!(due, calendar::local_ms(2026, 10, 8, 9, 30));
    // Before any 2027 exception, Friday 1 Jan 16:30 + 1 h is Monday 09:30. (Calendars are
    // cached by version: the edit below must not be answered from this one.)
    let cached = app
        .db
        .read(move |c| calendar::Calendar::load(c, street))
        .await
        .unwrap();
    let friday = calendar::local_ms(2027, 1, 1, 16, 30);
    assert_eq!(
        cached.add(friday, HOUR_MS),
        calendar::local_ms(2027, 1, 4, 9, 30)
    );
    // The administrator edits 2027: 4 January a holiday, Sunday 3 January a make-up day.
    let r = app
        .client()
        .put(app.url("/api/v1/calendar/2027"))
        .bearer_auth(&admin)
        .json(&json!([{"day": "2027-01-04", "kind": "holiday", "name": "元旦"}, {"day": "2027-01-03", "kind": "workday"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, days) = app.get_json(&admin, "/api/v1/calendar/2027").await;
    assert_eq!(days.as_array().unwrap().len(), 2);
    let (_, days) = app.get_json(&admin, "/api/v1/calendar/2026").await;
    assert_eq!(
        days.as_array().unwrap().len(),
        39,
        "the 2026 holidays are seeded"
    );
    let t = calendar::local_ms(2027, 1, 1, 16, 30);
    let cal = app
        .db
        .read(move |c| calendar::Calendar::load(c, street))
        .await
        .unwrap();
    // Friday 1 Jan 16:30 + 1 h: Sunday 3 Jan (make-up day) 09:30.
    assert_eq!(cal.add(t, HOUR_MS), calendar::local_ms(2027, 1, 3, 9, 30));
    assert_eq!(
        cal.add(t, 9 * HOUR_MS),
        calendar::local_ms(2027, 1, 5, 9, 30)
    );
    for bad in [
        json!([{"day": "2026-05-01", "kind": "holiday"}]),
        json!([{"day": "2027-02-30", "kind": "holiday"}]),
        json!([{"day": "2027-01-04", "kind": "feast"}]),
    ] {
        let r = app
            .client()
            .put(app.url("/api/v1/calendar/2027"))
            .bearer_auth(&admin)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == 422 || r.status() == 400,
            "{bad}: {}",
            r.status()
        );
    }
    let jumin = app.token("jumin").await;
    let r = app
        .client()
        .put(app.url("/api/v1/calendar/2027"))
        .bearer_auth(&jumin)
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

async fn events_of(db: &Db, id: i64) -> Vec<(String, i64)> {
    db.read(move |c| {
        Ok(c.query(
            "SELECT action, data FROM case_events WHERE case_id = $1 ORDER BY id",
            linli::params![id],
        )?
        .iter()
        .map(|r| {
            let d: Value = serde_json::from_str(&r.str(1)).unwrap_or(Value::Null);
            (r.str(0), d["level"].as_i64().unwrap_or(-1))
        })
        .collect())
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn escalation_with_an_injected_clock_neither_misses_nor_repeats_across_a_restart() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let bumen_org = org_of(&app, "bumen").await;
    let bumen_id = user_id(&app, "bumen").await;
    let b = buildings(&app).await;
    let id = report(
        &app,
        &admin,
        json!({"category": "city_appearance", "description": "路口堆放建筑垃圾", "place_id": b[0],
        "channel": "patrol", "extra": {"kind": "垃圾堆放"}}),
    )
    .await["case"]["id"]
        .as_i64()
        .unwrap();
    step_ok(&app, &admin, id, json!({"action": "accept"})).await;
    let d = step_ok(
        &app,
        &admin,
        id,
        json!({"action": "dispatch", "org_id": bumen_org}),
    )
    .await;
    let (warn, due) = (
        d["case"]["warn_at"].as_i64().unwrap(),
        d["case"]["due_at"].as_i64().unwrap(),
    );
    let street = street_of(&app).await;
    let cal = app
        .db
        .read(move |c| calendar::Calendar::load(c, street))
        .await
        .unwrap();
    let th = linli::cases::escalation::thresholds(&cal, due);
    let sweep = |db: &Db, now: i64| {
        let db = db.clone();
        async move {
            db.write(move |c| linli::cases::escalation::sweep(c, now))
                .await
                .unwrap()
        }
    };
    let count = |ev: &[(String, i64)], a: &str| ev.iter().filter(|(x, _)| x == a).count();
    // Before the warning nothing happens.
    sweep(&app.db, warn - 1).await;
    assert_eq!(count(&events_of(&app.db, id).await, "warning"), 0);
    // At 80%: one warning, to the handling organisation.
    let s = sweep(&app.db, warn + 1).await;
    assert!(s.warnings >= 1);
    sweep(&app.db, warn + 2).await;
    let ev = events_of(&app.db, id).await;
    assert_eq!(count(&ev, "warning"), 1);
    assert_eq!(count(&ev, "escalated"), 0);
    // Just late: level 1 (community) and a supervision notice.
    sweep(&app.db, due + 1).await;
    sweep(&app.db, due + 2).await;
    let ev = events_of(&app.db, id).await;
    assert_eq!(count(&ev, "escalated"), 1);
    assert_eq!(count(&ev, "supervision"), 1);
    let (_, c) = app.get_json(&admin, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(c["case"]["level"], 1);
    assert_eq!(c["case"]["late"], true);
    let supervision = app
        .db
        .read(move |c| c.query_i64("SELECT COUNT(*) FROM inbox WHERE user_id = $1 AND case_id = $2 AND kind = 'supervision'", linli::params![bumen_id, id]))
        .await
        .unwrap();
    assert_eq!(supervision, 1);
    // "Restart": a new process opens the same database; the server was down for days.
    let url = app.database_url.clone();
    let db2 = tokio::task::spawn_blocking(move || Db::open(&url).unwrap())
        .await
        .unwrap();
    sweep(&db2, th[2] + 1).await;
    sweep(&db2, th[2] + 1).await;
    let ev = events_of(&db2, id).await;
    let levels: Vec<i64> = ev
        .iter()
        .filter(|(a, _)| a == "escalated")
        .map(|(_, l)| *l)
        .collect();
    // The downtime passed levels 2 and 3: one escalation says so (from level 1, caught up),
    // not an event, a 督办 and a message per level in the same minute.
    assert_eq!(levels, vec![1, 3], "each sweep once, no level repeated");
    assert_eq!(count(&ev, "supervision"), 2);
    let caught = db2
        .read(move |c| {
            c.query_one(
                "SELECT data FROM case_events WHERE case_id = $1 AND action = 'escalated' ORDER BY id DESC LIMIT 1",
                linli::params![id],
            )
            .map(|r| r.str(0))
        })
        .await
        .unwrap();
    let caught: serde_json::Value = serde_json::from_str(&caught).unwrap();
    assert_eq!(caught["from"], 1);
    assert_eq!(caught["caught_up"], true);
    // At the top level the watcher no longer looks at the case.
    let next = db2
        .read(move |c| {
            c.query_opt(
                "SELECT next_alarm_at FROM cases WHERE id = $1",
                linli::params![id],
            )
        })
        .await
        .unwrap()
        .unwrap();
    assert!(next.opt_i64(0).is_none());
    sweep(&db2, th[2] + 10 * 86_400_000).await;
    assert_eq!(events_of(&db2, id).await.len(), ev.len());
    tokio::task::spawn_blocking(move || db2.close())
        .await
        .unwrap();
    // The district administrator level and the community level were told.
    let (_, c) = app.get_json(&admin, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(c["case"]["level"], 3);
}
