//! The registry's records beside persons: units with owners and shares, rental registrations,
//! vehicles with checked plates, tags an administrator defines (with validity periods),
//! households as editable records, population figures, and exports of a search's result.

use serde_json::{Value, json};

use crate::support::{self, PASSWORD, TestApp};

async fn send(app: &TestApp, token: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let c = app.client();
    let url = app.url(path);
    let rb = match method {
        "POST" => c.post(url),
        "PATCH" => c.patch(url),
        "DELETE" => c.delete(url),
        _ => c.get(url),
    };
    let rb = if body.is_null() { rb } else { rb.json(&body) };
    let r = rb.bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A unit in wangge's grid with its residents' ids, and a unit outside it.
async fn units(app: &TestApp) -> (i64, Vec<i64>, i64, Vec<String>) {
    let grid = support::place_of(app, "wangge").await;
    let keys = app.state.keys.clone();
    app.db
        .read(move |c| {
            let mut p = Vec::new();
            let cond = linli::store::under_paths("u.path", std::slice::from_ref(&grid), 1, &mut p);
            // A unit with at least two residents and no rental yet.
            let u = c.query_one(
                &format!(
                    "SELECT u.id FROM places u WHERE u.kind = 'unit' AND {cond} \
                     AND (SELECT COUNT(*) FROM persons x WHERE x.unit_id = u.id AND x.residence <> 'left') >= 2 \
                     AND NOT EXISTS (SELECT 1 FROM rentals r WHERE r.unit_id = u.id) ORDER BY u.id LIMIT 1"
                ),
                &p,
            )?;
            let unit = u.i64(0);
            let people = c.query(
                "SELECT id, id_number_enc FROM persons WHERE unit_id = $1 AND residence <> 'left' ORDER BY id",
                linli::params![unit],
            )?;
            let ids = people.iter().map(|r| r.i64(0)).collect();
            let idn = people
                .iter()
                .map(|r| keys.decrypt(&r.blob(1).unwrap()).unwrap())
                .collect();
            let mut p = Vec::new();
            let cond = linli::store::under_paths("path", std::slice::from_ref(&grid), 1, &mut p);
            let outside = c.query_one(
                &format!("SELECT id FROM places WHERE kind = 'unit' AND NOT ({cond}) ORDER BY id LIMIT 1"),
                &p,
            )?;
            Ok((unit, ids, outside.i64(0), idn))
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn units_owners_rentals_and_their_history() {
    let app = support::spawn().await;
    let t = app.token("wangge").await;
    let (unit, people, outside, idns) = units(&app).await;

    // Area and use, checked at the edge.
    let (s, v) = send(
        &app,
        &t,
        "PATCH",
        &format!("/api/v1/units/{unit}"),
        json!({"area": "八十"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("面积"),
        "{v}"
    );
    let (s, v) = send(
        &app,
        &t,
        "PATCH",
        &format!("/api/v1/units/{unit}"),
        json!({"area": "８６．５㎡", "unit_use": "自住"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, u) = send(
        &app,
        &t,
        "GET",
        &format!("/api/v1/units/{unit}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(u["area_m2"], 86.5);
    assert_eq!(u["unit_use"], "self_occupied");
    assert!(
        u["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["changes"]["area_m2"][1] == 86.5)
    );
    // A unit outside the grid is not found (and nothing about it leaks).
    let (s, _) = send(
        &app,
        &t,
        "GET",
        &format!("/api/v1/units/{outside}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = send(
        &app,
        &t,
        "PATCH",
        &format!("/api/v1/units/{outside}"),
        json!({"area": "50"}),
    )
    .await;
    assert_eq!(s, 404);

    // Owners: the demo may have registered some; start from none.
    for o in u["owners"].as_array().unwrap() {
        let (s, _) = send(
            &app,
            &t,
            "DELETE",
            &format!("/api/v1/units/{unit}/owners/{}", o["id"]),
            Value::Null,
        )
        .await;
        assert_eq!(s, 200);
    }
    let (s, v) = send(
        &app,
        &t,
        "POST",
        &format!("/api/v1/units/{unit}/owners"),
        json!({"id_number": idns[0], "share_pct": 60}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = send(
        &app,
        &t,
        "POST",
        &format!("/api/v1/units/{unit}/owners"),
        json!({"person_id": people[1], "share_pct": 50}),
    )
    .await;
    assert_eq!(s, 409, "shares above 100%: {v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("100"));
    let (s, _) = send(
        &app,
        &t,
        "POST",
        &format!("/api/v1/units/{unit}/owners"),
        json!({"person_id": people[1], "share_pct": 40, "since": "2019/5/1"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = send(
        &app,
        &t,
        "POST",
        &format!("/api/v1/units/{unit}/owners"),
        json!({"person_id": people[1], "share_pct": 0.5}),
    )
    .await;
    assert_eq!(s, 409, "the same owner twice");
    let (s, v) = send(
        &app,
        &t,
        "POST",
        &format!("/api/v1/units/{unit}/owners"),
        json!({"id_number": "110105194912310021", "share_pct": 10}),
    )
    .await;
    assert_eq!(s, 422, "a bad check character: {v}");

    // A rental: the landlord must be an owner, tenants must be in the registry.
    let tenant = people[people.len() - 1];
    let body = |landlord: i64| {
        json!({"unit_id": unit, "landlord": {"person_id": landlord}, "tenants": [{"person_id": tenant}],
               "start_date": "2026-01-01", "end_date": "2026-12-31"})
    };
    let non_owner = if people.len() > 2 { people[2] } else { tenant };
    if non_owner != tenant {
        let (s, v) = send(&app, &t, "POST", "/api/v1/rentals", body(non_owner)).await;
        assert_eq!(s, 422, "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("产权人"));
    }
    let (s, v) = send(&app, &t, "POST", "/api/v1/rentals", json!({"unit_id": unit, "landlord": {"person_id": people[0]}, "tenants": [{"person_id": tenant}], "start_date": "2026-05-01", "end_date": "2026-04-01"})).await;
    assert_eq!(s, 422, "ends before it starts: {v}");
    let landlord = people[0];
    let (s, v) = if tenant == landlord {
        send(&app, &t, "POST", "/api/v1/rentals", json!({"unit_id": unit, "landlord": {"person_id": people[0]}, "tenants": [{"person_id": people[1]}], "start_date": "2026-01-01", "end_date": "2026-12-31"})).await
    } else {
        send(&app, &t, "POST", "/api/v1/rentals", body(landlord)).await
    };
    assert_eq!(s, 200, "{v}");
    let rental = v["id"].as_i64().unwrap();
    let (s, v) = send(&app, &t, "POST", "/api/v1/rentals", json!({"unit_id": unit, "landlord": {"person_id": landlord}, "tenants": [{"person_id": people[1]}], "start_date": "2026-06-01", "end_date": "2027-05-31"})).await;
    assert_eq!(s, 409, "overlapping registration: {v}");
    let (_, u) = send(
        &app,
        &t,
        "GET",
        &format!("/api/v1/units/{unit}"),
        Value::Null,
    )
    .await;
    assert_eq!(
        u["unit_use"], "rented",
        "registering a rental marks the unit rented"
    );
    assert_eq!(u["rentals"][0]["id"], rental);
    assert!(
        u["rentals"][0]["reg_no"]
            .as_str()
            .unwrap()
            .starts_with("ZL2026")
    );
    let (s, list) = send(&app, &t, "GET", "/api/v1/rentals?state=active", Value::Null).await;
    assert_eq!(s, 200);
    assert!(list.as_array().unwrap().iter().any(|r| r["id"] == rental));
    let (s, _) = send(&app, &t, "GET", "/api/v1/rentals?state=bogus", Value::Null).await;
    assert_eq!(s, 422);
    let (s, _) = send(
        &app,
        &t,
        "POST",
        &format!("/api/v1/rentals/{rental}/close"),
        json!({"state": "ended"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = send(
        &app,
        &t,
        "POST",
        &format!("/api/v1/rentals/{rental}/close"),
        json!({"state": "ended"}),
    )
    .await;
    assert_eq!(s, 409, "already ended");
    let (_, r) = send(
        &app,
        &t,
        "GET",
        &format!("/api/v1/rentals/{rental}"),
        Value::Null,
    )
    .await;
    assert_eq!(r["state"], "ended");
    let versions = app
        .query_i64("SELECT COUNT(*) FROM record_versions WHERE entity IN ('unit', 'rental') AND source = 'api'")
        .await;
    assert!(versions >= 6, "every change keeps a version ({versions})");

    // The unit's page shows it all.
    let (b, _) = app.login_page("wangge", support::PASSWORD).await;
    let html = b
        .get(app.url(&format!("/units/{unit}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("86.5 m²"), "area on the page");
    assert!(
        html.contains("60%") && html.contains("40%"),
        "owners' shares on the page"
    );
    assert!(!html.contains(&idns[0]), "ID numbers stay masked");
    app.stop().await;
}

#[tokio::test]
async fn vehicles_with_checked_plates_in_scope() {
    let app = support::spawn().await;
    let t = app.token("wangge").await;
    let (_, people, _, _) = units(&app).await;
    let outsider = app
        .query_i64("SELECT MIN(id) FROM persons WHERE place_path NOT LIKE (SELECT p.path || '%' FROM places p JOIN user_roles r ON r.place_id = p.id JOIN users u ON u.id = r.user_id WHERE u.username = 'wangge')")
        .await;
    let (s, v) = send(
        &app,
        &t,
        "POST",
        "/api/v1/vehicles",
        json!({"plate": "沪A1O345", "owner": {"person_id": people[0]}}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("I、O"),
        "{v}"
    );
    let (s, v) = send(&app, &t, "POST", "/api/v1/vehicles", json!({"plate": "沪a·d1234５", "owner": {"person_id": people[0]}, "parking": "地库 B1-001"})).await;
    assert_eq!(s, 200, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (s, _) = send(
        &app,
        &t,
        "POST",
        "/api/v1/vehicles",
        json!({"plate": "沪AD12345", "owner": {"person_id": people[1]}}),
    )
    .await;
    assert_eq!(s, 409, "the same plate twice");
    let (s, _) = send(
        &app,
        &t,
        "POST",
        "/api/v1/vehicles",
        json!({"plate": "沪B54321", "owner": {"person_id": outsider}}),
    )
    .await;
    assert_eq!(s, 422, "an owner outside the grid");
    let (s, list) = send(&app, &t, "GET", "/api/v1/vehicles?plate=ad123", Value::Null).await;
    assert_eq!(s, 200);
    let found = list
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap();
    assert_eq!(found["plate"], "沪AD12345");
    assert_eq!(found["new_energy"], true);
    let (s, v) = send(
        &app,
        &t,
        "PATCH",
        &format!("/api/v1/vehicles/{id}"),
        json!({"parking": "地面车位 7"}),
    )
    .await;
    assert_eq!((s, v["changed"][0].as_str()), (200, Some("parking")));
    let (s, _) = send(
        &app,
        &t,
        "DELETE",
        &format!("/api/v1/vehicles/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = send(
        &app,
        &t,
        "DELETE",
        &format!("/api/v1/vehicles/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 404);
    // A long list comes 100 a page, by plate, each vehicle once (issue 20).
    for i in 0..130 {
        let (s, v) = send(
            &app,
            &t,
            "POST",
            "/api/v1/vehicles",
            json!({"plate": format!("沪C{:05}", 10_000 + i), "owner": {"person_id": people[i % people.len()]}}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
    let grid = support::place_of(&app, "wangge").await;
    let in_grid = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM vehicles WHERE place_path LIKE $1",
                linli::params![format!("{grid}/%")],
            )
        })
        .await
        .unwrap();
    let mut path = "/api/v1/vehicles".to_string();
    let (mut plates, mut pages) = (Vec::new(), 0);
    loop {
        let r = app
            .client()
            .get(app.url(&path))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let link = r
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_string());
        let page: Vec<Value> = r.json().await.unwrap();
        assert!(page.len() <= 100);
        plates.extend(
            page.iter()
                .map(|v| v["plate"].as_str().unwrap().to_string()),
        );
        pages += 1;
        match link {
            Some(l) => path = l[1..l.find('>').unwrap()].to_string(),
            None => break,
        }
    }
    assert_eq!(plates.len() as i64, in_grid, "every vehicle once");
    assert_eq!(pages, (in_grid as usize).div_ceil(100));
    let mut sorted = plates.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, plates, "by plate, none twice");
    let (s, _) = send(
        &app,
        &t,
        "GET",
        "/api/v1/vehicles?after=nonsense",
        Value::Null,
    )
    .await;
    assert_eq!(s, 400);
    let (browser, _) = app.login_page("wangge", PASSWORD).await;
    let page = app.page(&browser, "/vehicles").await;
    assert!(page.contains("id=\"vehicle-pager\"") && page.contains("rel=\"next\""));
    app.stop().await;
}

#[tokio::test]
async fn tags_defined_held_for_a_period_searched_and_imported() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let wangge = app.token("wangge").await;
    let (_, people, _, _) = units(&app).await;
    let person = people[0];
    let (s, _) = send(
        &app,
        &wangge,
        "POST",
        "/api/v1/tags",
        json!({"code": "x", "name_zh": "某"}),
    )
    .await;
    assert_eq!(s, 403, "only a street administrator defines tags");
    let (s, v) = send(
        &app,
        &admin,
        "POST",
        "/api/v1/tags",
        json!({"code": "Bad Code", "name_zh": "空巢"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let (s, _) = send(
        &app,
        &admin,
        "POST",
        "/api/v1/tags",
        json!({"code": "empty_nest", "name_zh": "空巢老人", "name_en": "empty nest"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = send(
        &app,
        &admin,
        "POST",
        "/api/v1/tags",
        json!({"code": "empty_nest2", "name_zh": "空巢老人"}),
    )
    .await;
    assert_eq!(s, 409, "the same name twice");
    let (_, tags) = send(&app, &wangge, "GET", "/api/v1/tags", Value::Null).await;
    assert!(
        tags.as_array()
            .unwrap()
            .iter()
            .any(|t| t["code"] == "empty_nest" && t["builtin"] == false)
    );
    assert!(
        tags.as_array()
            .unwrap()
            .iter()
            .any(|t| t["code"] == "elderly_alone" && t["builtin"] == true)
    );

    // Given with a period and a source; searchable while valid.
    let (s, v) = send(
        &app,
        &wangge,
        "POST",
        &format!("/api/v1/persons/{person}/tags"),
        json!({"tag": "空巢老人", "valid_from": "2026-01-01", "source": "社区走访"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = send(
        &app,
        &wangge,
        "POST",
        &format!("/api/v1/persons/{person}/tags"),
        json!({"tag": "empty_nest"}),
    )
    .await;
    assert_eq!(s, 409, "already held");
    let (s, _) = send(
        &app,
        &wangge,
        "POST",
        &format!("/api/v1/persons/{person}/tags"),
        json!({"tag": "nonsense"}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = send(
        &app,
        &wangge,
        "POST",
        &format!("/api/v1/persons/{person}/tags"),
        json!({"tag": "disabled", "valid_from": "2026-05-01", "valid_to": "2026-04-01"}),
    )
    .await;
    assert_eq!(s, 422, "ends before it begins");
    let (_, found) = app
        .get_json(&wangge, "/api/v1/persons?tag=empty_nest")
        .await;
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == person)
    );
    let (s, _) = send(
        &app,
        &admin,
        "DELETE",
        "/api/v1/tags/empty_nest",
        Value::Null,
    )
    .await;
    assert_eq!(s, 409, "held by someone");
    // Ended: no longer found, still in the person's history.
    let (s, _) = send(
        &app,
        &wangge,
        "DELETE",
        &format!("/api/v1/persons/{person}/tags/empty_nest"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 200);
    let (_, found) = app
        .get_json(&wangge, "/api/v1/persons?tag=empty_nest")
        .await;
    assert!(
        !found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == person)
    );
    let (_, p) = app
        .get_json(&wangge, &format!("/api/v1/persons/{person}"))
        .await;
    assert!(
        p["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["changes"]["tags"].to_string().contains("empty_nest"))
    );

    // An import may name the street's own tag by its Chinese name.
    let grid = support::place_of(&app, "wangge").await;
    let g = grid.clone();
    let addr = app
        .db
        .read(move |c| c.query_one("SELECT address FROM places WHERE kind = 'unit' AND path LIKE $1 ORDER BY id LIMIT 1", linli::params![format!("{g}/%")]))
        .await
        .unwrap()
        .str(0);
    let idn = linli::registry::idnum::IdNumber::build(
        "310115",
        chrono::NaiveDate::from_ymd_opt(1948, 2, 3).unwrap(),
        451,
    );
    let csv = format!(
        "姓名,身份证号,房屋,标签\n钱空巢,{},{addr},空巢老人\n",
        idn.as_str()
    );
    let r = app
        .client()
        .post(app.url(&format!(
            "/api/v1/imports/persons?scope={grid}&dry_run=false"
        )))
        .bearer_auth(&wangge)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["create"], 1, "{v}");
    let (_, found) = app
        .get_json(&wangge, "/api/v1/persons?tag=empty_nest")
        .await;
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "钱空巢")
    );
    app.stop().await;
}

#[tokio::test]
async fn households_change_head_and_members_move() {
    let app = support::spawn().await;
    let t = app.token("wangge").await;
    let (unit, people, _, _) = units(&app).await;
    let hh = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT household_id FROM persons WHERE id = $1",
                linli::params![people[0]],
            )
        })
        .await
        .unwrap();
    let (_, h) = app.get_json(&t, &format!("/api/v1/households/{hh}")).await;
    let members: Vec<i64> = h["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    let other = *members
        .iter()
        .find(|m| {
            h["members"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["id"] == **m && x["relation"] != "head")
        })
        .unwrap_or(&members[0]);
    let (s, v) = send(
        &app,
        &t,
        "PATCH",
        &format!("/api/v1/households/{hh}"),
        json!({"head_person_id": other}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (_, h) = app.get_json(&t, &format!("/api/v1/households/{hh}")).await;
    let head = h["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["relation"] == "head")
        .unwrap();
    assert_eq!(head["id"], other);
    let (s, _) = send(
        &app,
        &t,
        "PATCH",
        &format!("/api/v1/households/{hh}"),
        json!({"head_person_id": 999_999_999}),
    )
    .await;
    assert_eq!(s, 422, "not a member");
    // A new household in the unit; a member moves into it as its head.
    let (s, v) = send(
        &app,
        &t,
        "POST",
        "/api/v1/households",
        json!({"unit_id": unit}),
    )
    .await;
    assert_eq!(s, 200);
    let new_hh = v["id"].as_i64().unwrap();
    let mover = *members.iter().find(|m| **m != other).unwrap_or(&other);
    let (s, v) = send(
        &app,
        &t,
        "POST",
        &format!("/api/v1/persons/{mover}/move"),
        json!({"household_id": new_hh, "relation": "head"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (_, h) = app
        .get_json(&t, &format!("/api/v1/households/{new_hh}"))
        .await;
    assert_eq!(h["members"][0]["id"], mover);
    let (s, _) = send(
        &app,
        &t,
        "POST",
        &format!("/api/v1/persons/{other}/move"),
        json!({"household_id": new_hh, "relation": "head"}),
    )
    .await;
    assert_eq!(s, 409, "the household has a head already");
    let (s, _) = send(
        &app,
        &t,
        "POST",
        &format!("/api/v1/persons/{other}/move"),
        json!({"household_id": new_hh, "relation": "cousin"}),
    )
    .await;
    assert_eq!(s, 422);
    app.stop().await;
}

#[tokio::test]
async fn population_figures_add_up() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let (s, p) = app.get_json(&admin, "/api/v1/stats/population").await;
    assert_eq!(s, 200, "{p}");
    let residents = p["residents"].as_i64().unwrap();
    let expected = app
        .query_i64("SELECT COUNT(*) FROM persons WHERE residence <> 'left'")
        .await;
    assert_eq!(residents, expected);
    for k in [
        "by_sex",
        "by_age_band",
        "by_presence",
        "by_residence",
        "by_hukou",
    ] {
        let sum: i64 = p[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["count"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, residents, "{k} adds up");
    }
    let by_child: i64 = p["by_child"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["residents"].as_i64().unwrap())
        .sum();
    assert_eq!(by_child, residents, "the communities add up to the street");
    let alone = app
        .query_i64("SELECT COUNT(DISTINCT t.person_id) FROM person_tags t JOIN persons p ON p.id = t.person_id WHERE t.tag = 'elderly_alone' AND p.residence <> 'left' AND t.valid_to IS NULL")
        .await;
    let tagged = p["by_tag"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "elderly_alone")
        .unwrap()["count"]
        .as_i64()
        .unwrap();
    assert_eq!(tagged, alone);
    // A grid worker sees her grid's figures, not the street's.
    let wangge = app.token("wangge").await;
    let (s, g) = app.get_json(&wangge, "/api/v1/stats/population").await;
    assert_eq!(s, 200);
    assert!(g["residents"].as_i64().unwrap() < residents);
    let street_id = p["place_id"].as_i64().unwrap();
    let (s, _) = app
        .get_json(
            &wangge,
            &format!("/api/v1/stats/population?place={street_id}"),
        )
        .await;
    assert_eq!(s, 404, "outside her scope");
    let jumin = app.token("jumin").await;
    let (s, _) = app.get_json(&jumin, "/api/v1/stats/population").await;
    assert_eq!(s, 403);
    let (b, _) = app.login_page("admin", support::PASSWORD).await;
    let html = b
        .get(app.url("/stats"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<svg") && html.contains(&residents.to_string()));
    app.stop().await;
}

#[tokio::test]
async fn a_search_result_exports_as_it_was_filtered() {
    let app = support::spawn().await;
    let t = app.token("shegong").await;
    let community = support::place_of(&app, "shegong").await;
    let (_, found) = app
        .get_json(&t, "/api/v1/persons?tag=elderly_alone&limit=200")
        .await;
    let ids: Vec<i64> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    // The export names people as the import template does: name and (masked) ID number.
    let who: Vec<(String, String)> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["id_number_masked"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    assert!(!ids.is_empty());
    let (s, r) = send(
        &app,
        &t,
        "POST",
        "/api/v1/exports",
        json!({"place": community, "reason": "独居老人走访", "filter": {"tag": "elderly_alone"}}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(
        r["records"],
        ids.len() as i64,
        "the export holds the search's result"
    );
    assert_eq!(r["state"], "approved");
    let body = app
        .client()
        .get(app.url(&format!("/api/v1/exports/{}/download", r["id"])))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows: Vec<&str> = body.lines().skip(1).collect();
    assert_eq!(rows.len(), ids.len());
    for row in rows {
        let mut cells = row.split(',');
        let pair = (
            cells.next().unwrap().to_string(),
            cells.next().unwrap().to_string(),
        );
        assert!(who.contains(&pair), "{row} is not in the search's result");
    }
    // The same through the search page's form.
    let (b, _) = app.login_page("shegong", support::PASSWORD).await;
    let page = b
        .get(app.url("/persons?tag=elderly_alone"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"export-result\""));
    let csrf = support::extract_input(&page, "csrf").unwrap();
    let r = b
        .post(app.url("/exports"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("search", "1"),
            ("place", community.as_str()),
            ("tag", "elderly_alone"),
            ("reason", "走访"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let n = app
        .query_i64("SELECT records FROM export_requests ORDER BY id DESC LIMIT 1")
        .await;
    assert_eq!(n, ids.len() as i64);
    app.stop().await;
}

#[tokio::test]
async fn name_search_follows_renames_moves_and_imports() {
    let app = support::spawn().await;
    let t = app.token("wangge").await;
    let (_, people, _, _) = units(&app).await;
    let person = people[0];
    // A rename is found by any part of the new name, and no longer by the old one.
    let (s, _) = send(
        &app,
        &t,
        "PATCH",
        &format!("/api/v1/persons/{person}"),
        json!({"name": "欧阳翠花"}),
    )
    .await;
    assert_eq!(s, 200);
    for frag in ["欧阳翠花", "阳翠", "翠", "欧阳翠"] {
        let (_, found) = app.get_json(&t, &format!("/api/v1/persons?q={frag}")).await;
        let ids: Vec<i64> = found["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        assert!(ids.contains(&person), "{frag}: {found}");
    }
    let (_, found) = app.get_json(&t, "/api/v1/persons?q=欧阳翠草").await;
    assert!(
        found["items"].as_array().unwrap().is_empty(),
        "the full fragment must match, not only its first pair"
    );
    // Pages of a common fragment hold no one twice.
    let (_, first) = app.get_json(&t, "/api/v1/persons?q=王&limit=5").await;
    if let Some(next) = first["next_offset"].as_i64() {
        let (_, second) = app
            .get_json(&t, &format!("/api/v1/persons?q=王&limit=5&offset={next}"))
            .await;
        for p in second["items"].as_array().unwrap() {
            assert!(
                !first["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|q| q["id"] == p["id"])
            );
        }
    }
    let n = app.query_i64("SELECT COUNT(*) FROM person_grams").await;
    assert!(n > 0, "the demo indexes every name");
    app.stop().await;
}
