//! Issue 19, items 4, 5 and 17: a care alert says whom to call (in one language, with a reveal
//! for a call), a rule change that would fire at once asks to confirm and alert storms are
//! grouped into one case per rule and grid, and the demo's devices report by themselves.

use super::*;
use crate::support::{PASSWORD, extract_input};

/// An absence alert on a door magnet bound to a person in wangge's grid; (alert, device, rule).
async fn care_alert(app: &TestApp, admin: &str) -> (i64, Dev, i64) {
    let t0 = noon_today();
    linli::sensing::of(&app.state).clock.set(t0);
    let grid = support::place_of(app, "wangge").await;
    let dev = devices(app, admin, &format!("device_type=door_magnet&under={grid}"))
        .await
        .into_iter()
        .find(|d| d.person_id.is_some())
        .expect("a door magnet bound to a person in wangge's grid");
    let rule = door_absence_rule(app, admin, dev.id, "独居老人门磁 1 小时无开门", 3600).await;
    linli::sensing::of(&app.state)
        .clock
        .set(t0 + 3_600_000 + 1000);
    tick(app).await;
    let a = alerts_of(app, rule).await;
    assert_eq!(a.len(), 1, "{a:?}");
    (a[0].0, dev, rule)
}

#[tokio::test]
async fn a_care_alert_says_who_to_call_in_one_language_and_reveals_a_number_to_call() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let (id, dev, _) = care_alert(&app, &admin).await;
    let person = dev.person_id.unwrap();
    let name: String = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT name FROM persons WHERE id = $1",
                linli::params![person],
            )
        })
        .await
        .unwrap()
        .str(0);

    // The stored sentence and the case's description: Chinese, no keys, no English.
    let (msg, case_id) = app
        .db
        .read(move |c| {
            let r = c.query_one(
                "SELECT message, case_id FROM alerts WHERE id = $1",
                linli::params![id],
            )?;
            Ok((r.str(0), r.opt_i64(1)))
        })
        .await
        .unwrap();
    assert_eq!(msg, "已 1 小时没有开门");
    let case_id = case_id.expect("the alert opened a case");
    let description: String = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT description FROM cases WHERE id = $1",
                linli::params![case_id],
            )
        })
        .await
        .unwrap()
        .str(0);
    assert!(description.contains("已 1 小时没有开门"), "{description}");
    assert!(
        !description.contains("door") && !description.contains(" / ") && !description.is_ascii(),
        "{description}"
    );
    let place = dev.place_path.clone();
    let (building, unit) = app
        .db
        .read(move |c| {
            let u = c.query_one(
                "SELECT u.name, b.name FROM places u JOIN places b ON b.id = u.parent_id WHERE u.path = $1",
                linli::params![place],
            )?;
            Ok((u.str(1), u.str(0)))
        })
        .await
        .unwrap();
    assert!(
        description.contains(&format!("{building} {unit}")),
        "the case names the building and the unit: {description}"
    );

    // The API says it in the reader's language.
    let wangge = app.token("wangge").await;
    let en = app
        .client()
        .get(app.url(&format!("/api/v1/alerts/{id}")))
        .bearer_auth(&wangge)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(en["alert"]["text"], "No door opening for 1 h");
    let (_, zh) = app.get_json(&wangge, &format!("/api/v1/alerts/{id}")).await;
    assert_eq!(zh["alert"]["text"], "已 1 小时没有开门");

    // The page: building and unit, her name, her household, the workers, a reveal with the
    // emergency purpose preselected. Opening it is audited as a read of her record.
    let (b, _) = app.login_page("wangge", PASSWORD).await;
    let page = app.page(&b, &format!("/alerts/{id}")).await;
    assert!(page.contains("id=\"who-to-call\""), "{page}");
    assert!(page.contains(&name), "her name is shown");
    assert!(page.contains("已 1 小时没有开门"));
    assert!(page.contains(&building) && page.contains(&unit));
    assert!(page.contains("负责的网格员和社工"));
    assert!(page.contains("<option value=\"emergency\" selected>紧急联系</option>"));
    for bad in ["door", "alert.", "rule.", " / no "] {
        assert!(!page.contains(&format!(">{bad}")), "{bad} on the page");
    }
    assert!(!page.contains("no door event") && !page.contains("No door opening"));
    let e = app.last_audit_entry().await;
    assert!(
        e["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == &json!(format!("person:{person}"))),
        "{e}"
    );
    // In English, English only.
    b.get(app.url("/lang/en")).send().await.unwrap();
    let page_en = app.page(&b, &format!("/alerts/{id}")).await;
    assert!(page_en.contains("No door opening for 1 h"), "{page_en}");
    assert!(page_en.contains("Who to call"));
    assert!(!page_en.contains("没有开门") && !page_en.contains("负责的网格员"));
    b.get(app.url("/lang/zh")).send().await.unwrap();

    // The reveal: through the registry's reveal, audited with its purpose; then a tel: link.
    let csrf = extract_input(&page, "csrf").unwrap();
    let r = b
        .post(app.url(&format!("/alerts/{id}/reveal")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("person", &person.to_string()),
            ("purpose", "emergency"),
            ("note", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let shown = r.text().await.unwrap();
    assert!(
        shown.contains(&format!("id=\"call-{person}\" href=\"tel:")),
        "{shown}"
    );
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "reveal");
    assert_eq!(e["purpose"], "emergency");
    assert!(
        e["subjects"]
            .to_string()
            .contains(&format!("person:{person}"))
    );
    // Only the alert's person and her household: anyone else is not found.
    let other: i64 = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM persons WHERE id <> $1 AND phone_enc IS NOT NULL ORDER BY id LIMIT 1",
                linli::params![person],
            )
        })
        .await
        .unwrap();
    let r = b
        .post(app.url(&format!("/alerts/{id}/reveal")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("person", &other.to_string()),
            ("purpose", "emergency"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Another role: a resident gets neither the page nor the reveal.
    let (jb, _) = app.login_page("jumin", PASSWORD).await;
    let r = jb
        .get(app.url(&format!("/alerts/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let home = app.page(&jb, "/").await;
    let jcsrf = extract_input(&home, "csrf").unwrap_or_default();
    let r = jb
        .post(app.url(&format!("/alerts/{id}/reveal")))
        .form(&[
            ("csrf", jcsrf.as_str()),
            ("person", &person.to_string()),
            ("purpose", "emergency"),
        ])
        .send()
        .await
        .unwrap();
    assert!([403, 404].contains(&r.status().as_u16()), "{}", r.status());
    app.stop().await;
}

#[tokio::test]
async fn a_rule_change_that_would_fire_now_asks_to_confirm_and_a_storm_is_grouped() {
    let app = support::spawn().await;
    let t0 = noon_today();
    linli::sensing::of(&app.state).clock.set(t0);
    let admin = app.token("admin").await;
    let wangge = app.token("wangge").await;
    let (_, profiles) = app.get_json(&admin, "/api/v1/device-profiles").await;
    let door = profiles
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "door_magnet")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let rule = create_rule(
        &app,
        &admin,
        json!({"name": "门磁 24 小时无开门（测试）", "kind": "absence", "severity": "major", "profile_id": door,
               "category": "elderly_care", "params": {"key": "door", "equals": "open", "absence_s": 86400}}),
    )
    .await;
    let doors = devices(&app, &admin, "device_type=door_magnet").await;
    assert!(doors.len() > 8, "the demo has doors in several grids");
    linli::sensing::of(&app.state).clock.set(t0 + 2 * 3_600_000);
    let path = format!("/api/v1/rules/{rule}");
    let shorter = json!({"params": {"absence_s": 3600}});

    // The preview: every door would fire now. Without confirmation nothing is saved.
    let (s, p) = send(
        &app,
        reqwest::Method::POST,
        &admin,
        &format!("{path}/preview"),
        Some(shorter.clone()),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(
        p["would_fire_now"].as_i64(),
        Some(doors.len() as i64),
        "{p}"
    );
    assert_eq!(p["confirm_needed"], true);
    let (s, v) = patch(&app, &admin, &path, shorter.clone()).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["would_fire_now"], p["would_fire_now"]);
    let (_, list) = app.get_json(&admin, "/api/v1/rules").await;
    let stored = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == rule)
        .unwrap()
        .clone();
    assert_eq!(stored["params"]["absence_s"], 86400, "not saved");
    tick(&app).await;
    assert!(alerts_of(&app, rule).await.is_empty());
    // Another role may neither preview nor change it.
    let (s, _) = send(
        &app,
        reqwest::Method::POST,
        &wangge,
        &format!("{path}/preview"),
        Some(shorter.clone()),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = send(
        &app,
        reqwest::Method::POST,
        &admin,
        "/api/v1/rules/999999/preview",
        Some(shorter.clone()),
    )
    .await;
    assert_eq!(s, 404);
    // A harmless change needs no confirmation.
    let (s, v) = patch(&app, &admin, &path, json!({"name": "门磁无开门（测试）"})).await;
    assert_eq!(s, 200, "{v}");

    // Confirmed: it fires for every door, but each grid gets at most GROUP_AFTER cases of
    // their own and one case for the rest, and the rule's owner is told once per grid.
    let mut body = shorter.clone();
    body["confirm"] = json!(true);
    let (s, v) = patch(&app, &admin, &path, body).await;
    assert_eq!(s, 200, "{v}");
    tick(&app).await;
    tick(&app).await;
    let rows = app
        .db
        .read(move |c| {
            c.query(
                "SELECT place_path, case_state, case_id FROM alerts WHERE rule_id = $1 ORDER BY id",
                linli::params![rule],
            )
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), doors.len());
    let mut by_grid: std::collections::BTreeMap<String, Vec<(String, Option<i64>)>> =
        Default::default();
    for r in &rows {
        let grid = linli::sensing::alerts::responsible_path(&r.str(0), 0);
        by_grid
            .entry(grid)
            .or_default()
            .push((r.str(1), r.opt_i64(2)));
    }
    let limit = linli::sensing::alerts::GROUP_AFTER as usize;
    let mut grouped_grids = 0;
    let mut cases = std::collections::BTreeSet::new();
    for (grid, list) in &by_grid {
        let own = list.iter().filter(|(s, _)| s == "opened").count();
        let grouped: std::collections::BTreeSet<i64> = list
            .iter()
            .filter(|(s, _)| s == "grouped")
            .filter_map(|(_, c)| *c)
            .collect();
        assert!(own <= limit, "{grid}: {own} cases of their own");
        assert!(grouped.len() <= 1, "{grid}: one grouped case at most");
        if list.len() > limit {
            assert_eq!(own, limit, "{grid}");
            assert_eq!(grouped.len(), 1, "{grid}: the rest share one case");
            grouped_grids += 1;
        }
        cases.extend(list.iter().filter_map(|(_, c)| *c));
    }
    assert!(grouped_grids > 0, "some grid had more doors than {limit}");
    assert!(cases.len() < rows.len(), "fewer cases than alerts");
    let owner: i64 = app
        .db
        .read(|c| c.query_i64("SELECT id FROM users WHERE username = 'admin'", &[]))
        .await
        .unwrap();
    let notices = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM inbox WHERE user_id = $1 AND kind = 'alerts_grouped'",
                linli::params![owner],
            )
        })
        .await
        .unwrap();
    assert_eq!(
        notices, grouped_grids,
        "the owner is told once per grouped case"
    );
    // The grouped case lists its alerts on the alerts page.
    let grouped_case = rows
        .iter()
        .find(|r| r.str(1) == "grouped")
        .and_then(|r| r.opt_i64(2))
        .unwrap();
    let (s, v) = app
        .get_json(&admin, &format!("/api/v1/alerts?case_id={grouped_case}"))
        .await;
    assert_eq!(s, 200);
    assert!(v["items"].as_array().unwrap().len() > 1, "{v}");
    let (b, _) = app.login_page("admin", PASSWORD).await;
    let page = app.page(&b, &format!("/alerts?case={grouped_case}")).await;
    assert!(
        page.contains(&format!("案件 #{grouped_case} 的告警")),
        "{page}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_rule_page_shows_the_preview_and_saves_only_when_confirmed() {
    let app = support::spawn().await;
    let t0 = noon_today();
    linli::sensing::of(&app.state).clock.set(t0);
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let rule = door_absence_rule(&app, &admin, dev.id, "单户门磁（测试）", 86_400).await;
    linli::sensing::of(&app.state).clock.set(t0 + 2 * 3_600_000);
    let (b, _) = app.login_page("admin", PASSWORD).await;
    let page = app.page(&b, &format!("/rules/{rule}")).await;
    let csrf = extract_input(&page, "csrf").unwrap();
    let form = |confirm: bool| {
        let mut f = vec![
            ("csrf", csrf.clone()),
            ("name", "单户门磁（测试）".to_string()),
            ("severity", "major".to_string()),
            ("p_key", "door".to_string()),
            ("p_equals", "open".to_string()),
            ("p_absence_s", "3600".to_string()),
            ("category", "elderly_care".to_string()),
            ("ack_minutes", "30".to_string()),
            ("active", "1".to_string()),
        ];
        if confirm {
            f.push(("confirm", "1".to_string()));
        }
        f
    };
    let r = b
        .post(app.url(&format!("/rules/{rule}")))
        .form(&form(false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let shown = r.text().await.unwrap();
    assert!(shown.contains("id=\"rule-preview\""), "{shown}");
    assert!(shown.contains("现在就会对 1 台设备触发告警"), "{shown}");
    assert!(shown.contains("name=\"confirm\" value=\"1\""));
    let (_, list) = app.get_json(&admin, "/api/v1/rules").await;
    let stored = |list: &Value| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == rule)
            .unwrap()["params"]["absence_s"]
            .clone()
    };
    assert_eq!(stored(&list), 86_400, "not saved");
    // A grid worker cannot post the form.
    let (wb, _) = app.login_page("wangge", PASSWORD).await;
    let wpage = app.page(&wb, &format!("/rules/{rule}")).await;
    let wcsrf = extract_input(&wpage, "csrf").unwrap_or_default();
    let mut wf = form(true);
    wf[0].1 = wcsrf;
    let r = wb
        .post(app.url(&format!("/rules/{rule}")))
        .form(&wf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Confirmed: saved.
    let r = b
        .post(app.url(&format!("/rules/{rule}")))
        .form(&form(true))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success() || r.status().is_redirection());
    let (_, list) = app.get_json(&admin, "/api/v1/rules").await;
    assert_eq!(stored(&list), 3600);
    app.stop().await;
}

#[tokio::test]
async fn the_demo_devices_report_by_themselves_unless_the_simulation_is_off() {
    // Off (the default outside `linli demo`): nothing reports.
    let quiet = support::spawn().await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(quiet.query_i64("SELECT COUNT(*) FROM readings").await, 0);
    quiet.stop().await;

    let app = support::spawn_with(support::Options {
        configure: |c| c.demo_simulation = Some(true),
        ..support::Options::default()
    })
    .await;
    let admin = app.token("admin").await;
    // The first reports are spread over a minute: move the engine's clock past it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    linli::sensing::of(&app.state)
        .clock
        .set(linli::store::now_ms() + 70_000);
    // Gates report passages to their own endpoint, not readings: the simulation leaves them.
    let total = app
        .query_i64(
            "SELECT COUNT(*) FROM devices d JOIN device_profiles p ON p.id = d.profile_id \
             WHERE d.active = 1 AND p.device_type <> 'gate'",
        )
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        let seen = app
            .query_i64("SELECT COUNT(*) FROM devices WHERE last_seen_at IS NOT NULL")
            .await;
        // One device in 150 has a flat battery and stays silent.
        if seen >= total - total / 150 - 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {seen} of {total} devices reported"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Through the ingestion path: readings stored, the devices online on the list and the
    // rules at work (the start's smoke alarm is an alert on the page).
    assert!(app.query_i64("SELECT COUNT(*) FROM readings").await >= total - total / 150 - 1);
    let (_, v) = app.get_json(&admin, "/api/v1/devices?limit=1000").await;
    let items = v["items"].as_array().unwrap();
    let online = items.iter().filter(|d| d["online"] == true).count();
    assert!(
        online * 10 >= items.len() * 9,
        "{online} of {} online",
        items.len()
    );
    let (_, a) = app.get_json(&admin, "/api/v1/alerts?active=true").await;
    assert!(
        a["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["text"] == "检测到烟雾"),
        "{a}"
    );
    let (b, _) = app.login_page("admin", PASSWORD).await;
    let page = app.page(&b, "/alerts").await;
    assert!(
        !page.contains("id=\"no-alerts\""),
        "the alerts page is not empty"
    );
    app.stop().await;
}
