//! The cockpit (issue 27): every measure equals a direct count from the records after case,
//! alert and registry events; the offices only, within their scope; "<5" on the big screen;
//! the daily snapshot taken once whatever the restarts; live ticks; exports.

use serde_json::{Value, json};

use crate::sheets::account;
use crate::support::{self, PASSWORD, TestApp};
use crate::visits::get;

const OPEN: &str = "c.state NOT IN ('closed', 'rated', 'merged', 'rejected')";

/// A count from the records under a grid's path.
async fn direct(app: &TestApp, sql: String, path: String) -> f64 {
    app.db
        .read(move |c| {
            let mut p = Vec::new();
            let cond = linli::store::under_paths("x", std::slice::from_ref(&path), 1, &mut p);
            c.query_i64(&sql.replace("{under}", &cond), &p)
        })
        .await
        .unwrap() as f64
}

/// A rate from the records under a grid's path: the query gives (part, whole); `None` without
/// a whole, else the share 0–100 to one decimal.
async fn direct_rate(app: &TestApp, sql: String, path: String) -> Option<f64> {
    let (a, b) = app
        .db
        .read(move |c| {
            let mut p = Vec::new();
            let cond = linli::store::under_paths("x", std::slice::from_ref(&path), 1, &mut p);
            c.query_one(&sql.replace("{under}", &cond), &p)
                .map(|r| (r.i64(0), r.i64(1)))
        })
        .await
        .unwrap();
    (b > 0).then(|| (a as f64 * 1000.0 / b as f64).round() / 10.0)
}

fn value(v: &Value, measure: &str, grid: i64) -> Option<f64> {
    v["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == measure)
        .unwrap_or_else(|| panic!("no measure {measure}"))["grids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["place_id"] == grid)
        .and_then(|g| g["value"].as_f64())
}

async fn check_against_records(app: &TestApp, token: &str) {
    // A board read in the last half second may be shown again whatever was written since
    // (`cockpit::service::FRESH_UNDER_WRITES`).
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let (s, v) = get(app, token, "/api/v1/cockpit").await;
    assert_eq!(s, 200, "{v}");
    let grids: Vec<(i64, String)> = v["measures"][0]["grids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["place_id"].as_i64().unwrap(),
                g["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(!grids.is_empty(), "{v}");
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let since = chrono::Utc::now().timestamp_millis() - 30 * 86_400_000;
    let checks: Vec<(&str, String)> = vec![
        (
            "cases.open",
            format!(
                "SELECT COUNT(*) FROM (SELECT c.place_path AS x FROM cases c WHERE {OPEN} \
                 AND (c.handler_org_id IS NOT NULL OR c.self_governed = 1)) q WHERE {{under}}"
            ),
        ),
        (
            "cases.late",
            format!(
                "SELECT COUNT(*) FROM (SELECT c.place_path AS x FROM cases c WHERE {OPEN} AND c.late = 1) q WHERE {{under}}"
            ),
        ),
        (
            "cases.self_open",
            format!(
                "SELECT COUNT(*) FROM (SELECT c.place_path AS x FROM cases c WHERE {OPEN} AND c.self_governed = 1) q WHERE {{under}}"
            ),
        ),
        (
            "sensing.alerts",
            "SELECT COUNT(*) FROM (SELECT place_path AS x FROM alerts WHERE active = 1) q WHERE {under}"
                .to_string(),
        ),
        (
            "registry.residents",
            "SELECT COUNT(*) FROM (SELECT place_path AS x FROM persons WHERE residence <> 'left') q WHERE {under}"
                .to_string(),
        ),
        (
            "registry.elderly_alone",
            format!(
                "SELECT COUNT(DISTINCT q.id) FROM (SELECT p.id, p.place_path AS x FROM persons p JOIN person_tags t \
                 ON t.person_id = p.id WHERE p.residence <> 'left' AND t.tag = 'elderly_alone' \
                 AND t.valid_from <= '{today}' AND (t.valid_to IS NULL OR t.valid_to >= '{today}')) q WHERE {{under}}"
            ),
        ),
        (
            "visits.done",
            format!(
                "SELECT COUNT(*) FROM (SELECT place_path AS x FROM visits WHERE visited_at >= {since}) q WHERE {{under}}"
            ),
        ),
    ];
    let rates: Vec<(&str, String)> = vec![
        (
            "sweeps.progress",
            "SELECT CAST(COALESCE(SUM(CASE WHEN st = 'done' THEN 1 ELSE 0 END), 0) AS BIGINT), COUNT(*) \
             FROM (SELECT t.state AS st, g.path AS x FROM sweep_tasks t \
             JOIN sweep_campaigns k ON k.id = t.campaign_id JOIN places g ON g.id = t.grid_id \
             WHERE k.state = 'open') q WHERE {under}"
                .to_string(),
        ),
        (
            "notices.read_rate",
            format!(
                "SELECT CAST(COALESCE(SUM(CASE WHEN ra IS NULL THEN 0 ELSE 1 END), 0) AS BIGINT), COUNT(*) \
                 FROM (SELECT r.read_at AS ra, r.place_path AS x FROM notice_recipients r \
                 JOIN notices n ON n.id = r.notice_id WHERE n.state = 'published' \
                 AND n.published_at >= {since} AND r.building_id <> 0) q WHERE {{under}}"
            ),
        ),
    ];
    let now = chrono::Utc::now().timestamp_millis();
    let minutes = format!(
        "SELECT CAST(COALESCE(SUM(m), 0) AS BIGINT) FROM (SELECT s.minutes AS m, a.place_path AS x \
         FROM vol_signups s JOIN vol_activities a ON a.id = s.activity_id \
         WHERE a.ends_at >= {since} AND a.ends_at <= {now}) q WHERE {{under}}"
    );
    for (id, path) in &grids {
        for (m, sql) in &rates {
            let want = direct_rate(app, sql.clone(), path.clone()).await;
            assert_eq!(value(&v, m, *id), want, "{m} at {path}");
        }
        let want = (direct(app, minutes.clone(), path.clone()).await / 6.0).round() / 10.0;
        let got = value(&v, "volunteering.hours", *id).unwrap();
        assert!(
            (got - want).abs() <= 0.1,
            "volunteering.hours at {path}: {got} vs {want}"
        );
        // Visits overdue: the due list's own count for the grid.
        let (s, due) = get(app, token, &format!("/api/v1/visits/due?place={id}")).await;
        assert_eq!(s, 200, "{due}");
        assert_eq!(
            value(&v, "visits.overdue", *id),
            due["overdue"].as_f64(),
            "visits.overdue at {path}"
        );
    }
    for (id, path) in &grids {
        for (m, sql) in &checks {
            let want = direct(app, sql.clone(), path.clone()).await;
            let got = value(&v, m, *id);
            // The visits' window moves with the clock: a visit exactly 30 days old may fall
            // either side between the two reads.
            if *m == "visits.done" {
                assert!((got.unwrap() - want).abs() <= 1.0, "{m} at {path}");
            } else {
                assert_eq!(got, Some(want), "{m} at {path}");
            }
        }
    }
}

#[tokio::test]
async fn every_measure_equals_a_count_from_the_records_after_events() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    check_against_records(&app, &admin).await;

    // Case events: some close, some become late, one is self-governed; an alert clears and
    // another (re)activates; a resident registers with a care tag, another leaves.
    app.exec(
        "UPDATE cases SET state = 'closed', resolved_at = created_at + 3600000 \
         WHERE id IN (SELECT id FROM cases WHERE state NOT IN ('closed', 'rated', 'merged', 'rejected') ORDER BY id LIMIT 3)",
        &[],
    )
    .await;
    app.exec(
        "UPDATE cases SET late = 1 WHERE id IN (SELECT id FROM cases WHERE late = 0 \
         AND state NOT IN ('closed', 'rated', 'merged', 'rejected') ORDER BY id DESC LIMIT 4)",
        &[],
    )
    .await;
    app.exec(
        "UPDATE alerts SET active = 0, state = 'cleared_ack' WHERE id IN (SELECT id FROM alerts WHERE active = 1 ORDER BY id LIMIT 1)",
        &[],
    )
    .await;
    app.exec(
        "INSERT INTO alerts (street_id, rule_id, device_id, place_id, place_path, kind, severity, category, state, active, message, details, hits, first_at, last_at, updated_at) \
         SELECT d.street_id, (SELECT MIN(id) FROM rules), d.id, d.place_id, d.place_path, 'threshold', 'warning', 'safety', 'active_unack', 1, '测试', '{}', 1, 0, 0, 0 \
         FROM devices d WHERE d.id = (SELECT MIN(id) FROM devices WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.device_id = devices.id AND a.active = 1))",
        &[],
    )
    .await;
    let grid = support::place_of(&app, "wangge").await;
    let g = grid.clone();
    let unit = app
        .db
        .read(move |c| {
            let mut p = Vec::new();
            let cond = linli::store::under_paths("path", std::slice::from_ref(&g), 1, &mut p);
            c.query_one(
                &format!(
                    "SELECT path FROM places WHERE kind = 'unit' AND {cond} ORDER BY path LIMIT 1"
                ),
                &p,
            )
        })
        .await
        .unwrap()
        .str(0);
    let shegong = app.token("shegong").await;
    let id_number = linli::registry::idnum::IdNumber::build(
        "310115",
        chrono::NaiveDate::from_ymd_opt(1941, 5, 6).unwrap(),
        31,
    );
    let r = app
        .client()
        .post(app.url("/api/v1/persons"))
        .bearer_auth(&shegong)
        .json(&json!({"name": "钱阿婆", "id_number": id_number.as_str(), "unit": unit, "tags": ["elderly_alone"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    check_against_records(&app, &admin).await;
    // Per handling department: the open cases of every department and the self-governed
    // matters make the open total.
    let (_, v) = get(&app, &admin, "/api/v1/cockpit").await;
    let m = |id: &str| {
        v["measures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()
            .clone()
    };
    let by_org: f64 = m("cases.open")["by_org"]
        .as_array()
        .expect("open cases by department")
        .iter()
        .map(|o| o["value"].as_f64().unwrap())
        .sum();
    assert!(
        m("cases.open")["by_org"][0]["name"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
    );
    assert_eq!(
        by_org + m("cases.self_open")["total"].as_f64().unwrap(),
        m("cases.open")["total"].as_f64().unwrap()
    );
    assert!(m("sensing.alerts").get("by_org").is_none());
    // The community worker reads the same figures for her grids.
    check_against_records(&app, &shegong).await;
    app.stop().await;
}

#[tokio::test]
async fn only_the_offices_within_their_places_see_the_cockpit() {
    let app = support::spawn().await;
    for who in ["jumin", "zhiyuan", "wuye", "bumen", "wangge"] {
        let t = app.token(who).await;
        for path in [
            "/api/v1/cockpit",
            "/api/v1/cockpit/cases.open/trend?days=7",
            "/cockpit",
            "/cockpit?layout=screen",
            "/cockpit/figures",
            "/cockpit/events",
            "/cockpit/cases.open/data.xlsx",
            "/cockpit/cases.open/map.svg",
        ] {
            let r = app
                .client()
                .get(app.url(path))
                .bearer_auth(&t)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 403, "{who} {path}");
        }
    }
    let admin = app.token("admin").await;
    let (s, _) = get(&app, &admin, "/api/v1/cockpit/nope/trend").await;
    assert_eq!(s, 404);
    let (s, _) = get(&app, &admin, "/api/v1/cockpit/cases.open/trend?days=8").await;
    assert_eq!(s, 422);

    // A worker of another community sees only her community's grids, and the drill-down to a
    // grid of this one is not found.
    let mine = support::place_of(&app, "shegong").await;
    let other = support::last_community(&app).await;
    let stranger = account(
        &app,
        "shegong9",
        linli::org::Role::CommunityWorker,
        other,
        None,
    )
    .await;
    let (s, v) = get(&app, &stranger, "/api/v1/cockpit").await;
    assert_eq!(s, 200, "{v}");
    for g in v["measures"][0]["grids"].as_array().unwrap() {
        assert!(!g["path"].as_str().unwrap().starts_with(&mine), "{g}");
    }
    let sg = app.token("shegong").await;
    let (_, v) = get(&app, &sg, "/api/v1/cockpit").await;
    let grid = v["measures"][0]["grids"][0]["place_id"].as_i64().unwrap();
    let r = app
        .client()
        .get(app.url(&format!("/alerts?place={grid}")))
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let r = app
        .client()
        .get(app.url(&format!("/alerts?place={grid}")))
        .bearer_auth(&sg)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    app.stop().await;
}

#[test]
fn a_count_of_persons_below_five_is_shown_as_less_than_five_outside_the_office() {
    use linli::cockpit::service::shown;
    let persons = &linli::registry::MEASURES[0];
    let cases = &linli::cases::MEASURES[0];
    assert!(persons.persons && !cases.persons);
    for (v, screen, desk) in [
        (0.0, "0", "0"),
        (1.0, "<5", "1"),
        (4.0, "<5", "4"),
        (5.0, "5", "5"),
        (12345.0, "12,345", "12,345"),
    ] {
        assert_eq!(shown(persons, Some(v), true), screen);
        assert_eq!(shown(persons, Some(v), false), desk);
    }
    assert_eq!(shown(cases, Some(3.0), true), "3");
    assert_eq!(shown(persons, None, true), "—");
}

#[tokio::test]
async fn the_big_screen_shows_small_counts_of_persons_as_less_than_five() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    // One alert active again: its grid counts one.
    app.exec(
        "INSERT INTO alerts (street_id, rule_id, device_id, place_id, place_path, kind, severity, category, state, active, message, details, hits, first_at, last_at, updated_at) \
         SELECT d.street_id, (SELECT MIN(id) FROM rules), d.id, d.place_id, d.place_path, 'threshold', 'warning', 'safety', 'active_unack', 1, '测试', '{}', 1, 0, 0, 0 \
         FROM devices d WHERE d.id = (SELECT MIN(id) FROM devices WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.device_id = devices.id AND a.active = 1))",
        &[],
    )
    .await;
    let (_, v) = get(&app, &admin, "/api/v1/cockpit").await;
    // A measure of persons with a grid counting 1 to 4.
    let small = v["measures"].as_array().unwrap().iter().find_map(|m| {
        if !m["persons"].as_bool().unwrap() {
            return None;
        }
        m["grids"].as_array().unwrap().iter().find_map(|g| {
            let x = g["value"].as_f64()?;
            (1.0..5.0)
                .contains(&x)
                .then(|| (m["id"].as_str().unwrap().to_string(), x))
        })
    });
    let Some((measure, x)) = small else {
        panic!("the demo has a grid with fewer than 5 of some measure of persons: {v}");
    };
    let (browser, _) = app.login_page("admin", PASSWORD).await;
    let screen = app
        .page(
            &browser,
            &format!("/cockpit?layout=screen&measure={measure}"),
        )
        .await;
    assert!(screen.contains("cockpit-screen"));
    assert!(screen.contains("&lt;5"), "the screen protects small counts");
    let desk = app
        .page(&browser, &format!("/cockpit?measure={measure}"))
        .await;
    assert!(!desk.contains("&lt;5"), "the office reads the figure");
    assert!(desk.contains(&format!("<td>{}</td>", x as i64)));
    app.stop().await;
}

#[tokio::test]
async fn the_daily_snapshot_is_taken_once_whatever_the_restarts() {
    let app = support::spawn().await;
    let n = linli::cockpit::service::snapshot(&app.state).await.unwrap();
    assert!(n >= 1);
    let rows = app.query_i64("SELECT COUNT(*) FROM cockpit_daily").await;
    assert!(rows > 0);
    // Again: the day's rows are the watermark, kept in the database, so a restarted server
    // (which only has the database) takes nothing more either.
    assert_eq!(
        linli::cockpit::service::snapshot(&app.state).await.unwrap(),
        0
    );
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM cockpit_daily").await,
        rows
    );

    // The trend's today is the snapshot of the street's total.
    let admin = app.token("admin").await;
    let (s, t) = get(
        &app,
        &admin,
        "/api/v1/cockpit/registry.residents/trend?days=7",
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let (_, v) = get(&app, &admin, "/api/v1/cockpit").await;
    let total = v["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "registry.residents")
        .unwrap()["total"]
        .as_f64();
    assert_eq!(
        t["points"].as_array().unwrap().last().unwrap()["value"].as_f64(),
        total
    );
    app.stop().await;
}

#[tokio::test]
async fn pages_exports_and_a_live_tick_when_an_alert_changes() {
    let app = support::spawn().await;
    let (browser, _) = app.login_page("admin", PASSWORD).await;
    for path in [
        "/cockpit",
        "/cockpit?layout=screen",
        "/cockpit/figures?measure=sensing.alerts",
    ] {
        let r = browser.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let html = r.text().await.unwrap();
        assert!(html.contains("cockpit-map"), "{path}");
        assert!(!html.contains("style="), "no inline style on {path}");
    }
    let r = browser
        .get(app.url("/cockpit/cases.open/data.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    for path in [
        "/cockpit/cases.open/map.svg",
        "/cockpit/cases.open/trend.svg?days=7",
    ] {
        let r = browser.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("<svg"), "{path}");
    }

    // The stream: ready, then a tick once an alert is raised again.
    let admin = app.token("admin").await;
    let mut r = app
        .client()
        .get(app.url("/cockpit/events"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut seen = String::new();
    while !seen.contains("event: ready") {
        seen.push_str(&String::from_utf8_lossy(&r.chunk().await.unwrap().unwrap()));
    }
    app.exec(
        "INSERT INTO alerts (street_id, rule_id, device_id, place_id, place_path, kind, severity, category, state, active, message, details, hits, first_at, last_at, updated_at) \
         SELECT d.street_id, (SELECT MIN(id) FROM rules), d.id, d.place_id, d.place_path, 'threshold', 'warning', 'safety', 'active_unack', 1, '测试', '{}', 1, 0, 0, 0 \
         FROM devices d WHERE d.id = (SELECT MIN(id) FROM devices WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.device_id = devices.id AND a.active = 1))",
        &[],
    )
    .await;
    let tick = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let c = r.chunk().await.unwrap().unwrap();
            if String::from_utf8_lossy(&c).contains("event: tick") {
                return;
            }
        }
    })
    .await;
    assert!(tick.is_ok(), "a tick within seconds");
    drop(r);
    app.stop().await;
}
