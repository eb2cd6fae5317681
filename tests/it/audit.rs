//! The audit log: every route that shows personal data writes an entry; the Merkle tree and
//! its signed heads are checked by an independent verifier; tampering is found and named.

use std::process::Command;

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{self, PASSWORD, TestApp, extract_input};

async fn entries(app: &TestApp) -> i64 {
    app.query_i64("SELECT COUNT(*) FROM audit_entries").await
}

/// wangge's own household, one outside her grid, and jumin's person and household ids.
async fn fixtures(app: &TestApp) -> (i64, i64, i64, i64, i64) {
    let grid = crate::support::place_of(app, "wangge").await;
    app.db
        .read(move |c| {
            let rows = c.query("SELECT id, unit_id, place_path FROM households ORDER BY id", &[])?;
            let inside = rows.iter().find(|r| r.str(2).starts_with(&format!("{grid}/"))).unwrap();
            let outside = rows.iter().find(|r| !r.str(2).starts_with(&format!("{grid}/"))).unwrap();
            let j = c.query_one(
                "SELECT p.id, p.household_id FROM users u JOIN persons p ON p.id = u.person_id WHERE u.username = 'jumin'",
                &[],
            )?;
            Ok((inside.i64(0), inside.i64(1), outside.i64(0), j.i64(0), j.i64(1)))
        })
        .await
        .unwrap()
}

/// Every route of the application, classified: a new route must be added to one of these
/// lists, and if it shows personal data, to the table the next test drives.
const PERSONAL_DATA_ROUTES: &[&str] = &[
    "/persons",
    "/persons/{id}",
    "/api/v1/persons",
    "/api/v1/persons/{id}",
    "/",
    "/api/v1/corrections",
    "/households/{id}",
    "/api/v1/households/{id}",
    "/places/{id}",
    "/persons/{id}/reveal",
    "/api/v1/persons/{id}/reveal",
    "/me/data",
    "/me/data.json",
    "/me/data.xlsx",
    "/api/v1/me/data",
    "/exports/{id}/download",
    "/api/v1/exports/{id}/download",
    "/units/{id}",
    "/api/v1/units/{id}",
    "/rentals",
    "/api/v1/rentals",
    "/api/v1/rentals/{id}",
    "/vehicles",
    "/api/v1/vehicles",
    "/api/v1/cases/{id}",
    "/api/v1/cases/{id}/transitions",
    "/cases/{id}",
    "/api/v1/cases/duplicates",
    "/api/v1/cases/{id}/reveal",
    "/cases/{id}/reveal",
];
const OTHER_ROUTES: &[&str] = &[
    "/login",
    "/logout",
    "/lang/{code}",
    "/places",
    "/me/access-log",
    "/me/corrections",
    "/corrections/{id}",
    "/notices/{id}/read",
    "/notices/{id}",
    "/api/v1/notices",
    "/imports",
    "/persons/{id}/edit",
    "/api/v1/imports/persons",
    "/api/v1/imports/template.csv",
    "/api/v1/imports/persons/refused",
    "/exports",
    "/exports/{id}/decision",
    "/api/v1/exports",
    "/api/v1/exports/{id}/decision",
    "/api/v1/me/corrections",
    "/api/v1/corrections/{id}",
    "/admin/users",
    "/admin/users/{id}",
    "/admin/users/{id}/grants",
    "/admin/users/{id}/grants/{gid}/delete",
    "/admin/users/{id}/password",
    "/admin/users/{id}/active",
    "/api/v1/openapi.json",
    "/api/v1/session",
    "/api/v1/me",
    "/api/v1/me/access-log",
    "/api/v1/me/access-log/counts",
    "/api/v1/places",
    "/api/v1/places/{id}",
    "/api/v1/users",
    "/api/v1/audit/checkpoint",
    "/api/v1/audit/heads",
    "/api/v1/audit/proof/inclusion",
    "/api/v1/audit/proof/consistency",
    "/api/v1/audit/entries/{seq}",
    "/healthz",
    "/readyz",
    "/metrics",
    "/static/app.css",
    "/static/icon.svg",
    "/static/icon-192.png",
    "/static/icon-512.png",
    "/manifest.webmanifest",
    "/static/app.js",
    "/imports/jobs/{id}",
    "/imports/jobs/{id}/progress",
    "/imports/jobs/{id}/refused.xlsx",
    "/units/{id}/owners",
    "/units/{id}/owners/{owner}/delete",
    "/units/{id}/rentals",
    "/rentals/{id}/close",
    "/vehicles/{id}/delete",
    "/admin/tags",
    "/admin/tags/{code}/delete",
    "/persons/{id}/tags",
    "/persons/{id}/tags/{tag}/end",
    "/households/{id}/head",
    "/stats",
    "/api/v1/units/{id}/owners",
    "/api/v1/units/{id}/owners/{owner}",
    "/api/v1/households",
    "/api/v1/persons/{id}/move",
    "/api/v1/persons/{id}/tags",
    "/api/v1/persons/{id}/tags/{tag}",
    "/api/v1/rentals/{id}/close",
    "/api/v1/vehicles/{id}",
    "/api/v1/tags",
    "/api/v1/tags/{code}",
    "/api/v1/stats/population",
    "/api/v1/case-categories",
    "/api/v1/case-categories/{id}/routes",
    "/api/v1/calendar/{year}",
    "/api/v1/cases",
    "/api/v1/cases/figures",
    "/api/v1/inbox",
    "/api/v1/inbox/{id}/read",
    "/api/v1/inbox/read-all",
    "/api/v1/orgs/{id}/webhook",
    "/open311/v2/{file}",
    "/open311/v2/services/{file}",
    "/open311/v2/requests/{file}",
    "/open311/v2/tokens/{file}",
    "/cases",
    "/cases/new",
    "/cases/map",
    "/cases/figures",
    "/cases/{id}/step",
    "/inbox",
    "/inbox/{id}/read",
    "/inbox/read-all",
    "/api/v1/cases/{id}/photos",
    "/api/v1/cases/{id}/photos/{pid}",
    "/cases/{id}/photos",
    "/cases/catalogue",
    "/cases/catalogue/{code}",
    // Issue 19 (first day): batch steps answer with ids and states, places by name name no
    // one, and a worker's work phone is set by the user administrator (audited).
    "/api/v1/cases/batch",
    "/cases/batch",
    "/api/v1/cases/places",
    "/static/cases.js",
    "/static/cases.css",
    "/admin/users/{id}/work-phone",
    // A care alert names its person, her household and a reveal for a call (issue 19, item 4).
    "/alerts/{id}",
    "/alerts/{id}/reveal",
    // Sensing: devices and alerts name a person only by id (opening the record is audited).
    "/api/v1/telemetry",
    "/api/v1/devices",
    "/api/v1/devices/{id}",
    "/api/v1/device-profiles",
    // Device set-up (issue 21, part 6): binding a person records her consent and is audited
    // under her (tests/it/sensing/devices_setup.rs); profiles name nobody.
    "/api/v1/device-profiles/{id}",
    "/api/v1/devices/import",
    "/api/v1/devices/{id}/consent/withdraw",
    "/devices/new",
    "/devices/import",
    "/devices/{id}/consent/withdraw",
    "/device-profiles",
    "/device-profiles/new",
    "/device-profiles/{id}",
    "/api/v1/rules",
    "/api/v1/rules/{id}",
    "/api/v1/alerts",
    "/api/v1/alerts/stream",
    "/api/v1/alerts/{id}",
    "/api/v1/alerts/{id}/ack",
    "/api/v1/alerts/{id}/clear",
    "/alerts",
    "/alerts/{id}/ack",
    "/alerts/{id}/clear",
    "/devices",
    "/devices/{id}",
    "/rules",
    "/rules/{id}",
    "/rules/{id}/delete",
    "/api/v1/rules/{id}/preview",
    "/static/sensing.js",
    // Residents join (issue 21, part 5): public forms that show nobody (a code's household
    // members are masked, and that showing is audited: tests/it/join.rs), counts per building,
    // and letters that name units, not persons (issuing them is audited).
    "/join",
    "/join/register",
    "/join/code",
    "/join/redeem",
    "/join/admin",
    "/join/admin/letters",
    "/static/join.css",
    "/api/v1/join/register",
    "/api/v1/join/code",
    "/api/v1/join/redeem",
    "/api/v1/join/buildings",
    "/api/v1/join/invitations",
    // The street's map (issue 19 items 15 and 11): public geography (boundaries, buildings by
    // name and address, roads) and places by name; no layer names a person.
    "/map",
    "/api/v1/map/layers",
    "/api/v1/map/locate",
    "/api/v1/map/roads",
    "/api/v1/places/pick",
    "/static/leaflet/leaflet.js",
    "/static/leaflet/leaflet.css",
    "/static/leaflet/images/{file}",
    "/static/map.js",
    "/static/map.css",
    "/static/place-pick.js",
    // Setting up a street (issue 21): places, their versions, imports and exports name no
    // person (each change is audited); the first run and one-time links name only the account.
    "/api/v1/places/{id}/move",
    "/api/v1/places/{id}/retire",
    "/api/v1/places/{id}/versions",
    "/api/v1/places/import",
    "/api/v1/places/export",
    "/setup",
    "/activate",
    "/admin/places",
    "/admin/places/{id}",
    "/admin/places/{id}/edit",
    "/admin/places/{id}/children",
    "/admin/places/{id}/move",
    "/admin/places/{id}/retire",
    "/admin/places/{id}/import",
];

#[test]
fn every_route_is_classified() {
    let mut found = Vec::new();
    for (_, text) in support::served_sources() {
        for (i, _) in text.match_indices(".route(\"") {
            let rest = &text[i + 8..];
            found.push(rest[..rest.find('"').unwrap()].to_string());
        }
    }
    let unknown: Vec<&String> = found
        .iter()
        .filter(|r| {
            !PERSONAL_DATA_ROUTES.contains(&r.as_str()) && !OTHER_ROUTES.contains(&r.as_str())
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "routes not classified (does it show personal data? then it must write an audit entry and be tested below): {unknown:?}"
    );
}

#[tokio::test]
async fn every_personal_data_route_writes_an_entry() {
    let app = support::spawn().await;
    let (h_in, unit_in, _, jumin_person, jumin_household) = fixtures(&app).await;
    let member = app
        .db
        .read(move |c| c.query_i64("SELECT id FROM persons WHERE household_id = $1 AND phone_enc IS NOT NULL ORDER BY id LIMIT 1", linli::params![h_in]))
        .await
        .unwrap();
    let wangge = app.token("wangge").await;
    let jumin = app.token("jumin").await;
    let (b, _) = app.login_page("wangge", PASSWORD).await;
    let (jb, _) = app.login_page("jumin", PASSWORD).await;
    let page = b
        .get(app.url(&format!("/households/{h_in}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = extract_input(&page, "csrf").unwrap();
    let c = app.client();
    // A correction request, so that the workers' lists show a person.
    let r = c
        .post(app.url("/api/v1/me/corrections"))
        .bearer_auth(&jumin)
        .json(&serde_json::json!({"field": "phone", "message": "电话号码已换"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let shegong = app.token("shegong").await;
    let (sb, _) = app.login_page("shegong", PASSWORD).await;
    let member_name: String = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT name FROM persons WHERE id = $1",
                linli::params![member],
            )
        })
        .await
        .unwrap()
        .str(0);
    // A masked export of the member's unit, approved at once (within the limit).
    let unit_path = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT place_path FROM persons WHERE id = $1",
                linli::params![member],
            )
        })
        .await
        .unwrap()
        .str(0);
    let r = c
        .post(app.url("/api/v1/exports"))
        .bearer_auth(&wangge)
        .json(&serde_json::json!({"place": unit_path, "reason": "入户走访名单"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let export_id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    // An owned unit, a rental and a vehicle in shegong's community (the demo seeds them).
    let community = crate::support::place_of(&app, "shegong").await;
    let (owned_unit, owner, rental, landlord, car_owner) = app
        .db
        .read(move |c| {
            let mut p = Vec::new();
            let cond = linli::store::under_paths(
                "place_path",
                std::slice::from_ref(&community),
                1,
                &mut p,
            );
            let o = c.query_one(
                &format!(
                    "SELECT unit_id, person_id FROM unit_owners WHERE {cond} ORDER BY id LIMIT 1"
                ),
                &p,
            )?;
            let r = c.query_one(
                &format!("SELECT id, landlord_id FROM rentals WHERE {cond} ORDER BY end_date DESC, id DESC LIMIT 1"),
                &p,
            )?;
            let v = c.query_one(
                &format!("SELECT owner_id FROM vehicles WHERE {cond} ORDER BY plate LIMIT 1"),
                &p,
            )?;
            Ok((o.i64(0), o.i64(1), r.i64(0), r.i64(1), v.i64(0)))
        })
        .await
        .unwrap();
    // A hotline case in wangge's grid: its caller's phone is shown to the workers.
    let hotline_case = app
        .query_i64("SELECT c.id FROM cases c JOIN case_categories k ON k.id = c.category_id WHERE k.code = 'group_rental' ORDER BY c.id LIMIT 1")
        .await;
    let hotline_place = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT place_id FROM cases WHERE id = $1",
                linli::params![hotline_case],
            )
        })
        .await
        .unwrap();
    let admin = app.token("admin").await;
    // A care alert in wangge's grid on a door magnet bound to a person.
    let (alert_id, alert_person) = {
        let grid = crate::support::place_of(&app, "wangge").await;
        let list: serde_json::Value = app
            .get_json(
                &admin,
                &format!("/api/v1/devices?device_type=door_magnet&under={grid}"),
            )
            .await
            .1;
        let d = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["person_id"].is_i64())
            .unwrap()
            .clone();
        let (dev, person) = (d["id"].as_i64().unwrap(), d["person_id"].as_i64().unwrap());
        let r = app
            .client()
            .post(app.url("/api/v1/rules"))
            .bearer_auth(&admin)
            .json(
                &serde_json::json!({"name": "求助按钮", "kind": "event", "severity": "critical",
                "device_id": dev, "params": {"key": "sos", "equals": 1}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = app
            .client()
            .post(app.url("/api/v1/telemetry"))
            .bearer_auth(d["token"].as_str().unwrap())
            .json(&serde_json::json!({"values": {"sos": 1}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let id = app
            .db
            .read(move |c| {
                c.query_i64(
                    "SELECT id FROM alerts WHERE device_id = $1 ORDER BY id DESC LIMIT 1",
                    linli::params![dev],
                )
            })
            .await
            .unwrap();
        (id, person)
    };

    // (route, request, the subject the entry must name, the action)
    type Req = Box<dyn Fn() -> reqwest::RequestBuilder>;
    let url = |p: String| app.url(&p);
    let cases: Vec<(&str, Req, String, &str)> = vec![
        (
            "/api/v1/units/{id}",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/units/{owned_unit}")),
                    shegong.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{owner}"),
            "read",
        ),
        (
            "/units/{id}",
            {
                let (c, u) = (sb.clone(), url(format!("/units/{owned_unit}")));
                Box::new(move || c.get(&u))
            },
            format!("person:{owner}"),
            "read",
        ),
        (
            "/api/v1/rentals/{id}",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/rentals/{rental}")),
                    shegong.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{landlord}"),
            "read",
        ),
        (
            "/api/v1/rentals",
            {
                let (c, u, t) = (c.clone(), url("/api/v1/rentals".into()), shegong.clone());
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{landlord}"),
            "list",
        ),
        (
            "/rentals",
            {
                let (c, u) = (sb.clone(), url("/rentals".into()));
                Box::new(move || c.get(&u))
            },
            format!("person:{landlord}"),
            "list",
        ),
        (
            "/api/v1/vehicles",
            {
                let (c, u, t) = (c.clone(), url("/api/v1/vehicles".into()), shegong.clone());
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{car_owner}"),
            "list",
        ),
        (
            "/vehicles",
            {
                let (c, u) = (sb.clone(), url("/vehicles".into()));
                Box::new(move || c.get(&u))
            },
            format!("person:{car_owner}"),
            "list",
        ),
        (
            "/api/v1/households/{id}",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/households/{h_in}")),
                    wangge.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("household:{h_in}"),
            "read",
        ),
        (
            "/households/{id}",
            {
                let (c, u) = (b.clone(), url(format!("/households/{h_in}")));
                Box::new(move || c.get(&u))
            },
            format!("person:{member}"),
            "read",
        ),
        (
            "/places/{id}",
            {
                let (c, u) = (b.clone(), url(format!("/places/{unit_in}")));
                Box::new(move || c.get(&u))
            },
            format!("household:{h_in}"),
            "list",
        ),
        (
            "/api/v1/persons/{id}/reveal",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/persons/{member}/reveal")),
                    wangge.clone(),
                );
                Box::new(move || {
                    c.post(&u)
                        .bearer_auth(&t)
                        .json(&serde_json::json!({"field": "id_number", "purpose": "home_visit"}))
                })
            },
            format!("person:{member}"),
            "reveal",
        ),
        (
            "/persons/{id}/reveal",
            {
                let (c, u, f) = (
                    b.clone(),
                    url(format!("/persons/{member}/reveal")),
                    vec![
                        ("csrf".to_string(), csrf.clone()),
                        ("field".into(), "phone".into()),
                        ("purpose".into(), "service".into()),
                        ("household".into(), h_in.to_string()),
                    ],
                );
                Box::new(move || c.post(&u).form(&f))
            },
            format!("person:{member}"),
            "reveal",
        ),
        (
            "/api/v1/me/data",
            {
                let (c, u, t) = (c.clone(), url("/api/v1/me/data".into()), jumin.clone());
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{jumin_person}"),
            "self_export",
        ),
        (
            "/me/data",
            {
                let (c, u) = (jb.clone(), url("/me/data".into()));
                Box::new(move || c.get(&u))
            },
            format!("person:{jumin_person}"),
            "self_export",
        ),
        (
            "/me/data.json",
            {
                let (c, u) = (jb.clone(), url("/me/data.json".into()));
                Box::new(move || c.get(&u))
            },
            format!("person:{jumin_person}"),
            "self_export",
        ),
        (
            "/me/data.xlsx",
            {
                let (c, u) = (jb.clone(), url("/me/data.xlsx".into()));
                Box::new(move || c.get(&u))
            },
            format!("person:{jumin_person}"),
            "self_export",
        ),
        (
            "/api/v1/exports/{id}/download",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/exports/{export_id}/download")),
                    wangge.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{member}"),
            "export",
        ),
        (
            "/exports/{id}/download",
            {
                let (c, u) = (b.clone(), url(format!("/exports/{export_id}/download")));
                Box::new(move || c.get(&u))
            },
            format!("person:{member}"),
            "export",
        ),
        (
            "/api/v1/persons/{id}",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/persons/{member}")),
                    wangge.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{member}"),
            "read",
        ),
        (
            "/persons/{id}",
            {
                let (c, u) = (b.clone(), url(format!("/persons/{member}")));
                Box::new(move || c.get(&u))
            },
            format!("person:{member}"),
            "read",
        ),
        (
            "/api/v1/persons",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/persons?q={}", member_name.clone())),
                    wangge.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{member}"),
            "list",
        ),
        (
            "/persons",
            {
                let (c, u) = (
                    b.clone(),
                    url(format!("/persons?q={}", member_name.clone())),
                );
                Box::new(move || c.get(&u))
            },
            format!("person:{member}"),
            "list",
        ),
        (
            "/",
            {
                let (c, u) = (sb.clone(), url("/".into()));
                Box::new(move || c.get(&u))
            },
            format!("person:{jumin_person}"),
            "list",
        ),
        (
            "/api/v1/corrections",
            {
                let (c, u, t) = (
                    c.clone(),
                    url("/api/v1/corrections".into()),
                    shegong.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("person:{jumin_person}"),
            "list",
        ),
        (
            "/api/v1/cases/{id}",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/cases/{hotline_case}")),
                    wangge.clone(),
                );
                Box::new(move || c.get(&u).bearer_auth(&t))
            },
            format!("case:{hotline_case}"),
            "read",
        ),
        (
            "/cases/{id}",
            {
                let (c, u) = (b.clone(), url(format!("/cases/{hotline_case}")));
                Box::new(move || c.get(&u))
            },
            format!("case:{hotline_case}"),
            "read",
        ),
        (
            "/api/v1/cases/duplicates",
            {
                let (c, u, t) = (
                    c.clone(),
                    url("/api/v1/cases/duplicates".into()),
                    wangge.clone(),
                );
                Box::new(move || {
                    c.post(&u).bearer_auth(&t).json(&serde_json::json!({
                        "category": "group_rental", "description": "住了十几个人", "place_id": hotline_place
                    }))
                })
            },
            format!("case:{hotline_case}"),
            "list",
        ),
        (
            "/api/v1/cases/{id}/reveal",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/cases/{hotline_case}/reveal")),
                    wangge.clone(),
                );
                Box::new(move || {
                    c.post(&u)
                        .bearer_auth(&t)
                        .json(&serde_json::json!({"purpose": "service"}))
                })
            },
            format!("case:{hotline_case}"),
            "reveal",
        ),
        (
            "/alerts/{id}",
            {
                let (c, u) = (b.clone(), url(format!("/alerts/{alert_id}")));
                Box::new(move || c.get(&u))
            },
            format!("person:{alert_person}"),
            "read",
        ),
        (
            "/alerts/{id}/reveal",
            {
                let (c, u, f) = (
                    b.clone(),
                    url(format!("/alerts/{alert_id}/reveal")),
                    vec![
                        ("csrf".to_string(), csrf.clone()),
                        ("person".into(), alert_person.to_string()),
                        ("purpose".into(), "emergency".into()),
                    ],
                );
                Box::new(move || c.post(&u).form(&f))
            },
            format!("person:{alert_person}"),
            "reveal",
        ),
        (
            "/cases/{id}/reveal",
            {
                let (c, u, f) = (
                    b.clone(),
                    url(format!("/cases/{hotline_case}/reveal")),
                    vec![
                        ("csrf".to_string(), csrf.clone()),
                        ("purpose".into(), "service".into()),
                    ],
                );
                Box::new(move || c.post(&u).form(&f))
            },
            format!("case:{hotline_case}"),
            "reveal",
        ),
        (
            "/api/v1/cases/{id}/transitions",
            {
                let (c, u, t) = (
                    c.clone(),
                    url(format!("/api/v1/cases/{hotline_case}/transitions")),
                    admin.clone(),
                );
                Box::new(move || {
                    c.post(&u).bearer_auth(&t).json(
                        &serde_json::json!({"action": "reject", "note": "已由房管办另案处理"}),
                    )
                })
            },
            format!("case:{hotline_case}"),
            "read",
        ),
    ];
    let covered: Vec<&str> = cases.iter().map(|c| c.0).collect();
    for r in PERSONAL_DATA_ROUTES {
        assert!(covered.contains(r), "{r} is not driven by this test");
    }
    for (route, req, subject, action) in cases {
        let before = entries(&app).await;
        let r = req().send().await.unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert!(status.is_success(), "{route}: {status} {body}");
        assert!(entries(&app).await > before, "{route} wrote no audit entry");
        let e = app.last_audit_entry().await;
        assert_eq!(e["action"], action, "{route}");
        assert!(
            e["subjects"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == subject.as_str()),
            "{route}: {e}"
        );
        let text = e.to_string();
        let longest_digits = text
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(
            longest_digits < 14,
            "no ID or phone numbers in entries: {e}"
        );
    }
    let _ = jumin_household;
}

#[tokio::test]
async fn reveal_needs_a_purpose_and_residents_see_it() {
    let app = support::spawn().await;
    let (_, _, h_out, jumin_person, jumin_household) = fixtures(&app).await;
    let wangge = app.token("wangge").await;
    let c = app.client();
    let reveal = |person: i64, body: Value| {
        let c = c.clone();
        let u = app.url(&format!("/api/v1/persons/{person}/reveal"));
        let t = wangge.clone();
        async move { c.post(u).bearer_auth(t).json(&body).send().await.unwrap() }
    };
    let r = reveal(
        jumin_person,
        serde_json::json!({"field": "id_number", "purpose": "curiosity"}),
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = reveal(
        jumin_person,
        serde_json::json!({"field": "id_number", "purpose": "other"}),
    )
    .await;
    assert_eq!(r.status(), 422, "other needs a note");
    let before = entries(&app).await;
    let r = reveal(
        jumin_person,
        serde_json::json!({"field": "id_number", "purpose": "other", "note": "核对养老补贴"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let id = v["value"].as_str().unwrap();
    assert!(
        linli::registry::idnum::IdNumber::parse(id).is_ok(),
        "the full number: {id}"
    );
    assert_eq!(entries(&app).await, before + 1);
    // Out of scope: refused and logged as denied.
    let outsider = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM persons WHERE household_id = $1 LIMIT 1",
                linli::params![h_out],
            )
        })
        .await
        .unwrap();
    let r = reveal(
        outsider,
        serde_json::json!({"field": "phone", "purpose": "service"}),
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(app.last_audit_entry().await["action"], "denied");
    // wangge reads jumin's household; jumin sees both accesses with role and purpose.
    app.get_json(&wangge, &format!("/api/v1/households/{jumin_household}"))
        .await;
    let jumin = app.token("jumin").await;
    let (s, log) = app.get_json(&jumin, "/api/v1/me/access-log").await;
    assert_eq!(s, 200);
    let rows = log.as_array().unwrap();
    assert!(rows.iter().any(|r| r["action"] == "reveal"
        && r["role"] == "grid_worker"
        && r["purpose"].as_str().unwrap().contains("核对养老补贴")));
    assert!(
        rows.iter()
            .any(|r| r["action"] == "read" && r["role"] == "grid_worker" && r["by_self"] == false)
    );
    // The page shows the same, in Chinese.
    let (jb, _) = app.login_page("jumin", PASSWORD).await;
    let html = jb
        .get(app.url("/me/access-log"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("谁查看了我的信息")
            && html.contains("网格员")
            && html.contains("显示完整号码")
    );
    // Another resident's log does not show it.
    let admin = app.token("admin").await;
    let (_, other) = app.get_json(&admin, "/api/v1/me/access-log").await;
    assert!(other.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn logins_and_permission_changes_are_logged() {
    let app = support::spawn().await;
    let c = app.client();
    c.post(app.url("/api/v1/session"))
        .json(&serde_json::json!({"username": "admin", "password": "wrong-password"}))
        .send()
        .await
        .unwrap();
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "login_failed");
    assert_eq!(e["actor"], "admin");
    let admin = app.token("admin").await;
    assert_eq!(app.last_audit_entry().await["action"], "login");
    let (_, grid) = app
        .get_json(&admin, "/api/v1/places?kind=grid&limit=1")
        .await;
    let r = c
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"username": "newbie", "display_name": "新人", "password": "long-enough-pw", "role": "grid_worker", "target": grid["items"][0]["path"]}))
        .send()
        .await
        .unwrap();
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "permission_change");
    assert_eq!(e["subjects"][0], format!("user:{id}"));
}

// ---------------------------------------------------------------- an independent verifier

fn h_leaf(data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}
fn h_node(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}
fn d(s: &str) -> [u8; 32] {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .unwrap()
        .try_into()
        .unwrap()
}

/// RFC 9162 §2.1.3.2, written again here from the RFC's text.
fn check_inclusion(
    index: u64,
    size: u64,
    leaf: [u8; 32],
    path: &[[u8; 32]],
    root: [u8; 32],
) -> bool {
    if index >= size {
        return false;
    }
    let mut f = index;
    let mut s = size - 1;
    let mut r = leaf;
    for p in path {
        if s == 0 {
            return false;
        }
        if f % 2 == 1 || f == s {
            r = h_node(p, &r);
            while f.is_multiple_of(2) && f != 0 {
                f /= 2;
                s /= 2;
            }
        } else {
            r = h_node(&r, p);
        }
        f /= 2;
        s /= 2;
    }
    s == 0 && r == root
}

/// RFC 9162 §2.1.4.2.
fn check_consistency(
    first: u64,
    second: u64,
    proof: &[[u8; 32]],
    first_hash: [u8; 32],
    second_hash: [u8; 32],
) -> bool {
    if first == second {
        return proof.is_empty() && first_hash == second_hash;
    }
    if proof.is_empty() {
        return false;
    }
    let mut p = proof.to_vec();
    if first & (first - 1) == 0 {
        p.insert(0, first_hash);
    }
    let mut f = first - 1;
    let mut s = second - 1;
    while f % 2 == 1 {
        f /= 2;
        s /= 2;
    }
    let mut fr = p[0];
    let mut sr = p[0];
    for c in &p[1..] {
        if s == 0 {
            return false;
        }
        if f % 2 == 1 || f == s {
            fr = h_node(c, &fr);
            sr = h_node(c, &sr);
            while f.is_multiple_of(2) && f != 0 {
                f /= 2;
                s /= 2;
            }
        } else {
            sr = h_node(&sr, c);
        }
        f /= 2;
        s /= 2;
    }
    s == 0 && fr == first_hash && sr == second_hash
}

async fn make_entries(app: &TestApp, n: usize) {
    let tok = app.token("admin").await;
    let (_, list) = app.get_json(&tok, "/api/v1/places?kind=unit&limit=1").await;
    let _ = list;
    let hs = app
        .db
        .read(|c| c.query("SELECT id FROM households ORDER BY id LIMIT 40", &[]))
        .await
        .unwrap();
    for i in 0..n {
        let id = hs[i % hs.len()].i64(0);
        app.get_json(&tok, &format!("/api/v1/households/{id}"))
            .await;
    }
}

/// Issue 18, finding 4: fifty anonymous reads of the checkpoint signed fifty heads.
#[tokio::test]
async fn the_public_checkpoint_signs_no_head() {
    let app = support::spawn().await;
    make_entries(&app, 3).await;
    app.state.audit.sign_head().await.unwrap();
    let count = || async {
        app.db
            .read(|c| c.query_i64("SELECT COUNT(*) FROM audit_heads", &[]))
            .await
            .unwrap()
    };
    let before = count().await;
    let c = app.client();
    let tok = app.token("admin").await;
    let h = app
        .db
        .read(|c| c.query_i64("SELECT MIN(id) FROM households", &[]))
        .await
        .unwrap();
    let size = || async { app.db.read(linli::audit::size).await.unwrap() };
    let first = size().await;
    for _ in 0..50 {
        // The log grows between reads (a household read is audited), so a read that signed
        // would make a new head each time.
        app.get_json(&tok, &format!("/api/v1/households/{h}")).await;
        let r = c
            .get(app.url("/api/v1/audit/checkpoint"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    assert!(size().await >= first + 50, "the log grew with each read");
    assert_eq!(count().await, before, "reading the checkpoint signed heads");
}

#[tokio::test]
async fn proofs_check_with_an_independent_verifier() {
    let app = support::spawn().await;
    make_entries(&app, 9).await;
    let c = app.client();
    // The signer job's part: a head over the log as it is.
    app.state.audit.sign_head().await.unwrap();
    let cp1 = c
        .get(app.url("/api/v1/audit/checkpoint"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    make_entries(&app, 14).await;
    app.state.audit.sign_head().await.unwrap();
    let cp2 = c
        .get(app.url("/api/v1/audit/checkpoint"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Checkpoint text: origin, size, root, time, blank, signature line, public key.
    let parse = |cp: &str| -> (u64, [u8; 32], i64, Vec<u8>, Vec<u8>) {
        let lines: Vec<&str> = cp.lines().collect();
        assert_eq!(lines[0], "linli audit log");
        let size: u64 = lines[1].parse().unwrap();
        let root = d(lines[2]);
        let at: i64 = lines[3].parse().unwrap();
        let sig = base64::engine::general_purpose::STANDARD
            .decode(lines[5].rsplit(' ').next().unwrap())
            .unwrap();
        let key = base64::engine::general_purpose::STANDARD
            .decode(lines[6].trim_start_matches("public key: "))
            .unwrap();
        (size, root, at, sig, key)
    };
    let (s1, r1, at1, sig1, key) = parse(&cp1);
    let (s2, r2, _, _, key2) = parse(&cp2);
    assert_eq!(key, key2);
    assert!(s2 > s1 && s1 > 0);
    // The signature covers the head message.
    let msg = format!(
        "linli audit log tree head v1\n{s1}\n{}\n{at1}\n",
        base64::engine::general_purpose::STANDARD.encode(r1)
    );
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&key.try_into().unwrap()).unwrap();
    let sig = ed25519_dalek::Signature::from_slice(&sig1).unwrap();
    assert!(ed25519_dalek::Verifier::verify(&vk, msg.as_bytes(), &sig).is_ok());
    // Every entry's inclusion in the second head, against the leaf recomputed from its body.
    let admin = app.token("admin").await;
    for i in 0..s2 {
        let (_, e) = app
            .get_json(&admin, &format!("/api/v1/audit/entries/{i}"))
            .await;
        let leaf = h_leaf(e["body"].as_str().unwrap().as_bytes());
        let (s, p) = app
            .get_json(
                &admin,
                &format!("/api/v1/audit/proof/inclusion?entry={i}&size={s2}"),
            )
            .await;
        assert_eq!(s, 200);
        let path: Vec<[u8; 32]> = p["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| d(x.as_str().unwrap()))
            .collect();
        assert!(check_inclusion(i, s2, leaf, &path, r2), "entry {i}");
        assert!(!check_inclusion(i, s2, h_leaf(b"forged"), &path, r2));
    }
    // The second head extends the first.
    let (_, p) = app
        .get_json(
            &admin,
            &format!("/api/v1/audit/proof/consistency?from={s1}&to={s2}"),
        )
        .await;
    let proof: Vec<[u8; 32]> = p["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| d(x.as_str().unwrap()))
        .collect();
    assert!(check_consistency(s1, s2, &proof, r1, r2));
    assert!(!check_consistency(s1, s2, &proof, h_leaf(b"x"), r2));
    // Bad sizes are refused with a message.
    let (s, v) = app
        .get_json(
            &admin,
            &format!("/api/v1/audit/proof/inclusion?entry=0&size={}", s2 + 1000),
        )
        .await;
    assert_eq!(s, 400, "{v}");
}

fn linli_audit(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_linli"))
        .arg("--data")
        .arg(app.dir.path())
        .arg("--database-url")
        .arg(&app.database_url)
        .arg("audit")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test]
async fn verify_names_what_was_tampered() {
    // Each kind of tampering, on a log of its own.
    type Tamper = &'static str;
    let cases: [(&str, Tamper, &str); 5] = [
        (
            "edit",
            "UPDATE audit_entries SET body = REPLACE(body, '\"read\"', '\"list\"') WHERE seq = 5",
            "entry 5 was edited",
        ),
        (
            "delete",
            "DELETE FROM audit_entries WHERE seq = 7",
            "entry 7 is missing",
        ),
        (
            "insert",
            "UPDATE audit_entries SET seq = seq + 100 WHERE seq >= 4",
            "entry 4 is missing",
        ),
        (
            "reorder",
            "UPDATE audit_entries SET body = (SELECT body FROM audit_entries WHERE seq = 3), leaf_hash = (SELECT leaf_hash FROM audit_entries WHERE seq = 3) WHERE seq = 2",
            "entry 2 holds the content of entry 3",
        ),
        (
            "truncate",
            "DELETE FROM audit_entries WHERE seq >= 10",
            "removed",
        ),
    ];
    for (what, sql, expect) in cases {
        let app = support::spawn().await;
        make_entries(&app, 12).await;
        let (ok, out) = linli_audit(&app, &["checkpoint"]);
        assert!(ok, "{out}");
        let (ok, out) = linli_audit(&app, &["verify"]);
        assert!(ok, "clean log verifies: {out}");
        assert!(out.contains("audit log OK"));
        app.db.write(move |c| c.batch(sql)).await.unwrap();
        let (ok, out) = linli_audit(&app, &["verify"]);
        assert!(!ok, "{what} must fail verification");
        assert!(out.contains(expect), "{what}: {out}");
    }
    // Rewriting an entry together with its stored hash is caught by the signed head.
    let app = support::spawn().await;
    make_entries(&app, 12).await;
    linli_audit(&app, &["checkpoint"]);
    let row = app
        .db
        .read(|c| c.query_one("SELECT body FROM audit_entries WHERE seq = 6", &[]))
        .await
        .unwrap();
    let forged = row.str(0).replace("\"read\"", "\"list\"");
    let leaf = h_leaf(forged.as_bytes()).to_vec();
    app.db
        .write(move |c| {
            c.exec(
                "UPDATE audit_entries SET body = $1, leaf_hash = $2 WHERE seq = 6",
                linli::params![forged, leaf],
            )
        })
        .await
        .unwrap();
    let (ok, out) = linli_audit(&app, &["verify"]);
    assert!(!ok);
    assert!(out.contains("tree head at size"), "{out}");
    // A forged head signature is named too.
    app.db
        .write(|c| c.exec("UPDATE audit_heads SET at = at + 1", &[]))
        .await
        .unwrap();
    let (ok, out) = linli_audit(&app, &["verify"]);
    assert!(!ok && out.contains("bad signature"), "{out}");
}

#[tokio::test]
async fn cli_prove_matches_the_api() {
    let app = support::spawn().await;
    make_entries(&app, 6).await;
    let (ok, cp) = linli_audit(&app, &["checkpoint"]);
    assert!(ok, "{cp}");
    let (ok, out) = linli_audit(&app, &["prove", "--entry", "2"]);
    assert!(ok, "{out}");
    let size: u64 = cp.lines().nth(1).unwrap().parse().unwrap();
    let admin = app.token("admin").await;
    let (_, p) = app
        .get_json(
            &admin,
            &format!("/api/v1/audit/proof/inclusion?entry=2&size={size}"),
        )
        .await;
    for h in p["proof"].as_array().unwrap() {
        assert!(out.contains(h.as_str().unwrap()));
    }
    let (ok, out) = linli_audit(&app, &["prove", "--from", "3", "--to", &size.to_string()]);
    assert!(ok && out.starts_with("consistency proof"), "{out}");
    let (ok, out) = linli_audit(&app, &["prove", "--entry", "99999"]);
    assert!(!ok && out.contains("not in a tree"), "{out}");
}

#[tokio::test]
async fn the_subject_index_is_rebuilt_from_entries_after_a_crash() {
    let app = support::spawn().await;
    let (_, _, _, jumin_person, _) = fixtures(&app).await;
    // An entry committed, whose subject rows were lost (as if the process died before the
    // batched index write): its rows are removed and the index marked as ending before it.
    let mut e = linli::audit::NewEntry::anonymous(linli::audit::Action::Read, "wangge");
    e.role = "grid_worker".into();
    e.subjects = vec![format!("person:{jumin_person}")];
    let seq = app.state.audit.record(e).await.unwrap();
    app.state.audit.flush_index().await.unwrap();
    app.db
        .write(move |c| {
            c.exec(
                "DELETE FROM audit_subjects WHERE seq = $1",
                linli::params![seq as i64],
            )?;
            c.exec(
                "UPDATE meta SET value = $1 WHERE key = 'audit_indexed'",
                linli::params![seq.to_string()],
            )
        })
        .await
        .unwrap();
    let caught = app.db.write(linli::audit::catch_up_index).await.unwrap();
    assert!(caught >= 1);
    let jumin = app.token("jumin").await;
    let (_, log) = app.get_json(&jumin, "/api/v1/me/access-log").await;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|r| r["role"] == "grid_worker" && r["action"] == "read"),
        "{log}"
    );
}

fn scan_entry(
    at: i64,
    actor: i64,
    action: linli::audit::Action,
    subjects: &[&str],
) -> linli::audit::NewEntry {
    linli::audit::NewEntry {
        at,
        street_id: Some(2),
        actor_id: Some(actor),
        actor: format!("user{actor}"),
        role: "grid_worker".into(),
        org: None,
        scope: Vec::new(),
        action,
        subjects: subjects.iter().map(|s| s.to_string()).collect(),
        purpose: None,
        request_id: "test".into(),
    }
}

async fn append_at(db: &linli::store::Db, entries: Vec<linli::audit::NewEntry>) {
    db.write(move |c| linli::audit::append(c, entries))
        .await
        .unwrap();
}

/// The anomaly scan reads the entries appended since its last run and no others (the clock
/// is the test's: no server runs its own scan beside it), and still judges a whole hour:
/// entries on both sides of the watermark count together, older ones no longer do.
#[tokio::test]
async fn the_anomaly_scan_reads_only_new_entries() {
    use chrono::TimeZone;
    use linli::audit::Action::{Denied, Read};
    use linli::audit::anomaly::{Rules, run};

    let t = support::database().await;
    let db = &t.db;
    // Instants in the street's zone, whatever the server's (TZ=UTC or America/New_York).
    let local = |h: u32, m: u32| {
        linli::kernel::time::zone()
            .with_ymd_and_hms(2026, 3, 2, h, m, 0)
            .single()
            .unwrap()
            .timestamp_millis()
    };
    let rules = Rules {
        max_people_per_hour: 5,
        max_denied_per_hour: 3,
        work_hours: (7, 20),
    };
    let notices = |db: &linli::store::Db| {
        let db = db.clone();
        async move {
            db.read(|c| c.query("SELECT dedup_key, evidence FROM notices ORDER BY id", &[]))
                .await
                .unwrap()
                .iter()
                .map(|r| (r.str(0), serde_json::from_str::<Value>(&r.str(1)).unwrap()))
                .collect::<Vec<_>>()
        }
    };

    // 10:01–10:04: account 7 looks at three people and a household and is refused twice.
    append_at(
        db,
        vec![
            scan_entry(local(10, 1), 7, Read, &["person:1", "household:1"]),
            scan_entry(local(10, 2), 7, Denied, &["household:90"]),
            scan_entry(local(10, 3), 7, Denied, &["household:91"]),
            scan_entry(local(10, 4), 7, Read, &["person:2", "person:3"]),
        ],
    )
    .await;
    let s = run(db, &rules, local(10, 10)).await.unwrap();
    assert_eq!(
        (s.read, s.raised),
        (4, 0),
        "four records and two refusals: below"
    );
    let s = run(db, &rules, local(10, 11)).await.unwrap();
    assert_eq!((s.read, s.raised), (0, 0), "nothing new, nothing read");

    // The watermark is in the database: a process started afresh goes on from it.
    let url = t.url.clone();
    let again = tokio::task::spawn_blocking(move || linli::store::Db::open(&url).unwrap())
        .await
        .unwrap();
    let s = run(&again, &rules, local(10, 12)).await.unwrap();
    assert_eq!(s.read, 0, "a restart reads nothing already read");
    tokio::task::spawn_blocking(move || again.close())
        .await
        .unwrap();

    // 10:20–10:21: two more people (and one seen before), one more refusal: together with the
    // entries before the watermark, six records and three refusals within the hour.
    append_at(
        db,
        vec![
            scan_entry(
                local(10, 20),
                7,
                Read,
                &["person:3", "person:4", "person:5"],
            ),
            scan_entry(local(10, 21), 7, Denied, &["household:92"]),
        ],
    )
    .await;
    let s = run(db, &rules, local(10, 25)).await.unwrap();
    assert_eq!((s.read, s.raised), (2, 2), "volume and denied");
    let bucket = local(10, 25) / 3_600_000;
    let found = notices(db).await;
    let keys: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [format!("volume:7:{bucket}"), format!("denied:7:{bucket}")]
    );
    assert_eq!(found[0].1["distinct_records"], 6);
    assert_eq!(found[0].1["entries"], serde_json::json!([0, 3, 4]));
    assert_eq!(found[1].1["denied"], 3);
    assert_eq!(found[1].1["entries"], serde_json::json!([1, 2, 5]));
    let s = run(db, &rules, local(10, 26)).await.unwrap();
    assert_eq!((s.read, s.raised), (0, 0), "a second scan repeats nothing");

    // Account 8: five people at 10:30, two more at 11:35. At 11:40 the hour began at 10:40:
    // two people, not seven.
    let five: Vec<String> = (10..15).map(|i| format!("person:{i}")).collect();
    let five: Vec<&str> = five.iter().map(|s| s.as_str()).collect();
    append_at(db, vec![scan_entry(local(10, 30), 8, Read, &five)]).await;
    assert_eq!(run(db, &rules, local(10, 31)).await.unwrap().raised, 0);
    append_at(
        db,
        vec![scan_entry(
            local(11, 35),
            8,
            Read,
            &["person:15", "person:16"],
        )],
    )
    .await;
    let s = run(db, &rules, local(11, 40)).await.unwrap();
    assert_eq!((s.read, s.raised), (1, 0), "older entries no longer count");

    // Who looked at whom is forgotten after two hours: the scan's tables do not grow.
    let s = run(db, &rules, local(15, 0)).await.unwrap();
    assert_eq!((s.read, s.raised), (0, 0));
    let left = db
        .read(|c| {
            c.query_i64(
                "SELECT (SELECT COUNT(*) FROM audit_actor_subjects) + (SELECT COUNT(*) FROM audit_actors_active)",
                &[],
            )
        })
        .await
        .unwrap();
    assert_eq!(left, 0);

    // Account 9 at 22:00, outside working hours: one notice for the day. The entry of 15:30
    // was not scanned before it was an hour old: it can no longer count, and is skipped.
    append_at(
        db,
        vec![scan_entry(local(15, 30), 10, Read, &["person:30"])],
    )
    .await;
    append_at(db, vec![scan_entry(local(22, 0), 9, Read, &["person:20"])]).await;
    let s = run(db, &rules, local(22, 5)).await.unwrap();
    assert_eq!((s.read, s.raised), (1, 1));
    let found = notices(db).await;
    let (key, evidence) = found.last().unwrap();
    assert_eq!(key, "after_hours:9:2026-03-02");
    assert_eq!(evidence["entries"], serde_json::json!([9]));
    assert_eq!(run(db, &rules, local(22, 30)).await.unwrap().raised, 0);
}
