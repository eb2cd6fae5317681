//! Setting up a real street (issue 21): the first run, places by hand, the 台账 and the map in
//! bulk, and one-time account links.

use serde_json::{Value, json};

use crate::support::{self, Options, TestApp};

async fn send(app: &TestApp, token: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let c = app.client();
    let r = match method {
        "POST" => c.post(app.url(path)),
        "PATCH" => c.patch(app.url(path)),
        _ => c.get(app.url(path)),
    };
    let r = r.bearer_auth(token).json(&body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn upload(app: &TestApp, token: &str, q: &str, bytes: Vec<u8>) -> (u16, Value) {
    post_bytes(app, token, &format!("/api/v1/places/import?{q}"), bytes).await
}

/// A file posted as the API takes uploads (the raw body).
async fn post_bytes(app: &TestApp, token: &str, path: &str, bytes: Vec<u8>) -> (u16, Value) {
    let r = app
        .client()
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Sets a password through a one-time link (its whole URL or its token); returns the status.
async fn activate(app: &TestApp, link: &str, password: &str) -> u16 {
    let token = link.split("token=").last().unwrap();
    app.client()
        .post(app.url("/activate"))
        .form(&[
            ("token", token),
            ("password", password),
            ("password2", password),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn street_path(app: &TestApp) -> String {
    app.db
        .read(|c| {
            c.query_one(
                "SELECT path FROM places WHERE kind = 'street' ORDER BY id LIMIT 1",
                &[],
            )
        })
        .await
        .unwrap()
        .str(0)
}

#[tokio::test]
async fn an_empty_server_asks_for_its_street_and_the_first_run_sets_it_up() {
    let app = support::spawn_with(Options {
        demo: false,
        ..Options::default()
    })
    .await;
    let code = linli::setup::pages::arm_first_run(&app.state);
    let b = app.browser();
    // Every page leads to the first-run page; the API says why it cannot answer.
    let r = b.get(app.url("/login")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/setup");
    let r = app
        .client()
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let page = app.page(&b, "/setup").await;
    assert!(
        page.contains("开通码") && page.contains("linli init"),
        "{page}"
    );
    let form = |code: &str, street: &str| {
        vec![
            ("code", code.to_string()),
            ("district_code", "310115".to_string()),
            ("district_name", "浦东新区".to_string()),
            ("street_code", street.to_string()),
            ("street_name", "潍坊新村街道".to_string()),
            ("username", "wang".to_string()),
            ("display_name", "王主任".to_string()),
            ("password", "a-long-passphrase-9".to_string()),
        ]
    };
    // A wrong code, a street code outside the district: refused with a message, nothing made.
    let r = b
        .post(app.url("/setup"))
        .form(&form("nope", "310115004"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("开通码不正确"));
    let r = b
        .post(app.url("/setup"))
        .form(&form(&code, "310116004"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("街道代码"));
    assert_eq!(app.query_i64("SELECT COUNT(*) FROM places").await, 0);
    let r = b
        .post(app.url("/setup"))
        .form(&form(&code, "310115004"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?reason=set_up");
    // The street exists with its calendar and catalogue; the administrator signs in.
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM places WHERE kind = 'street'")
            .await,
        1
    );
    assert!(app.query_i64("SELECT COUNT(*) FROM case_categories").await > 5);
    assert!(app.query_i64("SELECT COUNT(*) FROM calendar_days").await > 10);
    let token = app.token_with("wang", "a-long-passphrase-9").await;
    let (s, me) = app.get_json(&token, "/api/v1/me").await;
    assert_eq!(s, 200, "{me}");
    // The page is gone once the street exists.
    let r = app.browser().get(app.url("/setup")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn places_are_created_changed_moved_and_retired_by_those_who_may() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let street = street_path(&app).await;
    let (_, st) = app
        .get_json(
            &admin,
            &format!("/api/v1/places?kind=street&under={street}"),
        )
        .await;
    let street_id = st["items"][0]["id"].as_i64().unwrap();
    let (s, c) = send(
        &app,
        &admin,
        "POST",
        "/api/v1/places",
        json!({"parent_id": street_id, "code": "c90", "name": "新社区"}),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["kind"], "community");
    let cid = c["id"].as_i64().unwrap();
    let (s, e) = send(
        &app,
        &admin,
        "POST",
        "/api/v1/places",
        json!({"parent_id": street_id, "code": "c90", "name": "重复"}),
    )
    .await;
    assert_eq!(s, 409, "{e}");
    let (s, e) = send(
        &app,
        &admin,
        "POST",
        "/api/v1/places",
        json!({"parent_id": cid, "code": "a/b", "name": "x"}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    let (_, g1) = send(
        &app,
        &admin,
        "POST",
        "/api/v1/places",
        json!({"parent_id": cid, "code": "g01", "name": "一网格"}),
    )
    .await;
    let (_, g2) = send(
        &app,
        &admin,
        "POST",
        "/api/v1/places",
        json!({"parent_id": cid, "code": "g02", "name": "二网格"}),
    )
    .await;
    let (s, b) = send(&app, &admin, "POST", "/api/v1/places", json!({"parent_id": g1["id"], "code": "b1", "name": "1号楼", "address": "新路1号", "floors": 6})).await;
    assert_eq!(s, 201, "{b}");
    let bid = b["id"].as_i64().unwrap();
    let (s, u) = send(&app, &admin, "POST", "/api/v1/places", json!({"parent_id": bid, "code": "101", "name": "101室", "floor_no": 1, "area_m2": 60.5, "unit_use": "self_occupied"})).await;
    assert_eq!(s, 201, "{u}");
    let (s, ch) = send(
        &app,
        &admin,
        "PATCH",
        &format!("/api/v1/places/{bid}"),
        json!({"name": "一号楼"}),
    )
    .await;
    assert_eq!((s, ch["changed"].clone()), (200, json!(["name"])));
    // A resident in the unit: she moves with the building, and keeps it from being retired.
    let id = linli::registry::idnum::IdNumber::build(
        "110105",
        chrono::NaiveDate::from_ymd_opt(1950, 3, 7).unwrap(),
        977,
    );
    let (s, p) = send(
        &app,
        &admin,
        "POST",
        "/api/v1/persons",
        json!({"name": "林小梅", "id_number": id.as_str(), "unit": u["path"]}),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    let (s, m) = send(
        &app,
        &admin,
        "POST",
        &format!("/api/v1/places/{bid}/move"),
        json!({"parent_id": g2["id"]}),
    )
    .await;
    assert_eq!(s, 200, "{m}");
    let new_unit = format!("{}/b1/101", g2["path"].as_str().unwrap());
    let moved = app
        .db
        .read(|c| c.query_one("SELECT place_path FROM persons WHERE name = '林小梅'", &[]))
        .await
        .unwrap()
        .str(0);
    assert_eq!(moved, new_unit);
    let (s, e) = send(
        &app,
        &admin,
        "POST",
        &format!("/api/v1/places/{bid}/retire"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains('1'), "{e}");
    let (s, v) = app
        .get_json(&admin, &format!("/api/v1/places/{bid}/versions"))
        .await;
    assert_eq!(s, 200);
    assert!(
        v.as_array().unwrap().len() >= 3,
        "create, rename, move: {v}"
    );
    // An empty grid retires; it is gone from lists.
    let (s, _) = send(
        &app,
        &admin,
        "POST",
        &format!("/api/v1/places/{}/retire", g1["id"]),
        json!({}),
    )
    .await;
    assert_eq!(s, 200);
    let (_, kids) = app.get_json(&admin, &format!("/api/v1/places/{cid}")).await;
    assert_eq!(kids["children"].as_array().unwrap().len(), 1, "{kids}");
    // A grid worker reads places but changes none (403); a community worker does not see
    // another community's places (404).
    let grid_worker = app.token("wangge").await;
    let own_grid = support::place_of(&app, "wangge").await;
    let (_, gp) = app
        .get_json(
            &grid_worker,
            &format!("/api/v1/places?kind=grid&under={own_grid}"),
        )
        .await;
    let gid = gp["items"][0]["id"].as_i64().unwrap();
    let (s, _) = send(
        &app,
        &grid_worker,
        "POST",
        "/api/v1/places",
        json!({"parent_id": gid, "code": "b99", "name": "x"}),
    )
    .await;
    assert_eq!(s, 403);
    let shegong = app.token("shegong").await;
    let (s, _) = send(
        &app,
        &shegong,
        "PATCH",
        &format!("/api/v1/places/{cid}"),
        json!({"name": "x"}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = send(
        &app,
        &shegong,
        "POST",
        &format!("/api/v1/places/{bid}/retire"),
        json!({}),
    )
    .await;
    assert_eq!(s, 404);
    let jumin = app.token("jumin").await;
    let (s, _) = upload(
        &app,
        &jumin,
        &format!("scope={street}&format=csv"),
        b"x".to_vec(),
    )
    .await;
    assert_eq!(s, 404);
    // Every change is in the audit log.
    let n = app
        .query_i64("SELECT COUNT(*) FROM place_versions WHERE source = 'api'")
        .await;
    assert!(n >= 7, "{n}");
    app.stop().await;
}

fn sheet(rows: usize) -> Vec<u8> {
    let mut s = String::from(
        "潍坊新村街道房屋台账,,,,,,,,,,\n,,,,,,,,,,\n社区,网格,楼栋,门牌,小区,层数,单元,室号,楼层,建筑面积,用途\n",
    );
    let mut n = 0;
    'out: for c in ["甲社区", "乙社区"] {
        for g in ["东网格", "西网格"] {
            for b in 1..=10 {
                for f in 1..=10 {
                    for r in 1..=2 {
                        if n == rows {
                            break 'out;
                        }
                        // Merged cells: the community and grid written once per block.
                        let (cc, gg) = if b == 1 && f == 1 && r == 1 {
                            (c, g)
                        } else {
                            ("", "")
                        };
                        s.push_str(&format!(
                            "{cc},{gg},{b}号楼,{c}路{b}号,{c}小区,５,1,{f}0{r}室,{f},{}.5,住宅\n",
                            50 + r
                        ));
                        n += 1;
                    }
                }
            }
        }
    }
    s.into_bytes()
}

fn square(lon: f64, lat: f64, d: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]})
}

#[tokio::test]
async fn the_offices_sheet_and_map_import_all_or_nothing_and_round_trip() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let street = street_path(&app).await;
    let q = |dry: bool| format!("scope={street}&format=csv&dry_run={dry}");
    // A bad row refuses the whole file, with Excel's row number.
    let mut bad = sheet(20);
    bad.extend_from_slice("甲社区,东网格,1号楼,,,,1,三零一,3,,住宅\n".as_bytes());
    let (s, r) = upload(&app, &admin, &q(false), bad).await;
    assert_eq!(s, 422, "{r}");
    assert_eq!(r["applied"], false);
    assert_eq!(r["refused"][0]["row"], 24, "{r}");
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM places WHERE name = '甲社区'")
            .await,
        0
    );
    let (s, r) = upload(&app, &admin, &q(true), sheet(800)).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        r["created"],
        json!({"communities": 2, "grids": 4, "buildings": 40, "units": 800})
    );
    assert_eq!(r["applied"], false);
    let (s, r) = upload(&app, &admin, &q(false), sheet(800)).await;
    assert_eq!((s, r["applied"].clone()), (200, json!(true)), "{r}");
    let units = app
        .query_i64("SELECT COUNT(*) FROM places WHERE kind = 'unit' AND unit_use = 'self_occupied' AND area_m2 > 50")
        .await;
    assert!(units >= 800, "{units}");
    // Again: nothing changes.
    let (_, r) = upload(&app, &admin, &q(false), sheet(800)).await;
    assert_eq!(r["created"]["units"], 0);
    assert_eq!(r["updated"], 0);
    // The map: two grids side by side, a building in each; then an overlap and a bow tie.
    let map = |east: Value, west: Value| {
        serde_json::to_vec(&json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"网格": "东网格", "kind": "grid", "code": "g01"}, "geometry": east},
            {"type": "Feature", "properties": {"网格": "西网格", "kind": "grid", "code": "g02"}, "geometry": west},
        ]}))
        .unwrap()
    };
    let gq = format!(
        "scope={}&format=geojson",
        community_path(&app, "甲社区").await
    );
    let (s, r) = upload(
        &app,
        &admin,
        &gq,
        map(square(121.50, 31.20, 0.01), square(121.51, 31.20, 0.01)),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["updated"], 2);
    let (s, r) = upload(
        &app,
        &admin,
        &gq,
        map(square(121.50, 31.20, 0.01), square(121.505, 31.20, 0.01)),
    )
    .await;
    assert_eq!(s, 422, "{r}");
    assert!(
        r["refused"][0]["reason"].as_str().unwrap().contains("重叠"),
        "{r}"
    );
    let bow = json!({"type": "Polygon", "coordinates": [[[121.5, 31.2], [121.51, 31.21], [121.51, 31.2], [121.5, 31.21], [121.5, 31.2]]]});
    let (s, r) = upload(&app, &admin, &gq, map(bow, square(121.51, 31.20, 0.01))).await;
    assert_eq!(s, 422, "{r}");
    assert!(
        r["refused"][0]["feature"]
            .as_str()
            .unwrap()
            .contains("东网格"),
        "{r}"
    );
    let (s, r) = upload(&app, &admin, &gq, b"{not json".to_vec()).await;
    assert_eq!(s, 400, "{r}");
    // A building outside its grid is refused; one inside is stored.
    let building = |lon: f64| {
        serde_json::to_vec(&json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"楼栋": "甲社区路1号"}, "geometry": {"type": "Point", "coordinates": [lon, 31.205]}},
        ]}))
        .unwrap()
    };
    let gq1 = format!(
        "scope={}&format=geojson",
        community_path(&app, "东网格").await
    );
    let (s, r) = upload(&app, &admin, &gq1, building(121.9)).await;
    assert_eq!(s, 422, "{r}");
    let (s, r) = upload(&app, &admin, &gq1, building(121.505)).await;
    assert_eq!(s, 200, "{r}");
    // Export and import the export: nothing changes.
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/places/export?scope={street}&format=xlsx")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let xlsx = r.bytes().await.unwrap().to_vec();
    let (s, r) = upload(&app, &admin, &format!("scope={street}&format=xlsx"), xlsx).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["created"]["units"].clone(), r["updated"].clone()),
        (json!(0), json!(0)),
        "{r}"
    );
    let r = app
        .client()
        .get(app.url(&format!(
            "/api/v1/places/export?scope={street}&format=geojson"
        )))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let g: Value = r.json().await.unwrap();
    assert!(g["features"].as_array().unwrap().len() >= 3);
    app.stop().await;
}

async fn community_path(app: &TestApp, name: &'static str) -> String {
    app.db
        .read(move |c| {
            c.query_one(
                "SELECT path FROM places WHERE name = $1 ORDER BY id LIMIT 1",
                linli::params![name],
            )
        })
        .await
        .unwrap()
        .str(0)
}

#[tokio::test]
async fn an_activation_link_works_once_and_then_explains() {
    let app = support::spawn().await;
    let (token, _) = app
        .db
        .write(|c| {
            let id = c
                .query_one("SELECT id FROM users WHERE username = 'shegong'", &[])?
                .i64(0);
            linli::org::links::issue(
                c,
                id,
                None,
                linli::org::links::Purpose::Reset,
                None,
                linli::store::now_ms(),
            )
        })
        .await
        .unwrap();
    let b = app.browser();
    let page = app.page(&b, &format!("/activate?token={token}")).await;
    assert!(page.contains("shegong"), "{page}");
    let r = b
        .post(app.url("/activate"))
        .form(&[
            ("token", token.as_str()),
            ("password", "new-long-pass-42"),
            ("password2", "other-long-pass-42"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = b
        .post(app.url("/activate"))
        .form(&[
            ("token", token.as_str()),
            ("password", "new-long-pass-42"),
            ("password2", "new-long-pass-42"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    app.token_with("shegong", "new-long-pass-42").await;
    let r = b
        .get(app.url(&format!("/activate?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("已经使用过"));
    let r = b
        .get(app.url("/activate?token=nonsense"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    app.stop().await;
}

#[tokio::test]
async fn the_places_page_adds_and_refuses_in_the_callers_language() {
    let app = support::spawn().await;
    let (b, _) = app.login_page("admin", support::PASSWORD).await;
    let r = b.get(app.url("/admin/places")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let r = b.get(app.url(&to)).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let page = r.text().await.unwrap();
    assert!(
        page.contains("下级地点") && page.contains("导入台账和地图"),
        "{page}"
    );
    let (wb, _) = app.login_page("wangge", support::PASSWORD).await;
    let r = wb.get(app.url("/admin/places")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = wb.get(app.url(&to)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    app.stop().await;
}

mod accounts;
mod journey;
mod orgs;
