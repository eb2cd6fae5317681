//! A real street from an empty data folder, end to end (issue 21, "Tests and targets"): `init`
//! → the office's 台账 (XLSX: two communities, four grids, 40 buildings, 800 units) and its
//! grid map (GeoJSON) → the staff list → 2,000 persons → residents joining by themselves and by
//! invitation → a resident reading in her access log that a worker revealed her record. Runs
//! on whichever backend the suite runs on.

use serde_json::{Value, json};

use super::{activate, post_bytes};
use crate::support::{self, Options, TestApp};

const PW: &str = "a-long-passphrase-9";

async fn post_json(app: &TestApp, token: Option<&str>, path: &str, body: Value) -> (u16, Value) {
    let mut r = app.client().post(app.url(path)).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

const COMMUNITIES: [&str; 2] = ["潍坊一村", "潍坊二村"];
const GRIDS: [&str; 4] = ["第一网格", "第二网格", "第三网格", "第四网格"];

/// The office's 台账: a title row, the header, one row per unit.
fn ledger() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "潍坊新村街道房屋台账").unwrap();
    let head = [
        "社区",
        "网格",
        "楼栋",
        "门牌",
        "单元",
        "室号",
        "楼层",
        "建筑面积",
        "用途",
    ];
    for (i, h) in head.iter().enumerate() {
        ws.write_string(1, i as u16, *h).unwrap();
    }
    let mut row = 2u32;
    for (g, grid) in GRIDS.iter().enumerate() {
        let community = COMMUNITIES[g / 2];
        for b in 1..=10 {
            let building = format!("{}号楼", g * 10 + b);
            let address = format!("{community}路{}号", g * 10 + b);
            for floor in 1..=5 {
                for door in 1..=4 {
                    let cells = [
                        community.to_string(),
                        grid.to_string(),
                        building.clone(),
                        address.clone(),
                        "1".to_string(),
                        format!("{floor}0{door}"),
                        floor.to_string(),
                        "64.5".to_string(),
                        "自住".to_string(),
                    ];
                    for (i, c) in cells.iter().enumerate() {
                        ws.write_string(row, i as u16, c).unwrap();
                    }
                    row += 1;
                }
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

/// The four grids' boundaries: squares side by side, WGS-84.
fn grid_map() -> Vec<u8> {
    let features: Vec<Value> = GRIDS
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let x = 121.52 + 0.005 * i as f64;
            json!({"type": "Feature", "properties": {"kind": "grid", "网格": g},
                   "geometry": {"type": "Polygon", "coordinates": [[[x, 31.225], [x + 0.004, 31.225],
                   [x + 0.004, 31.229], [x, 31.229], [x, 31.225]]]}})
        })
        .collect();
    serde_json::to_vec(&json!({"type": "FeatureCollection", "features": features})).unwrap()
}

fn id_number(seq: usize) -> String {
    let birth = chrono::NaiveDate::from_ymd_opt(
        1950 + (seq % 50) as i32,
        1 + (seq % 12) as u32,
        1 + (seq % 28) as u32,
    )
    .unwrap();
    linli::registry::idnum::IdNumber::build(
        "310115",
        birth,
        (seq / 600) as u16 * 2 + 1 + (seq % 2) as u16,
    )
    .as_str()
    .to_string()
}

#[tokio::test]
async fn a_street_from_an_empty_folder_to_a_resident_reading_her_access_log() {
    let app = support::spawn_with(Options {
        demo: false,
        ..Options::default()
    })
    .await;

    // 1. init: the district, the street and its first administrator, with a one-time link.
    let spec =
        linli::setup::street::StreetSpec::parse("310115", "浦东新区", "310115004", "潍坊新村街道")
            .unwrap();
    let admin_spec = linli::setup::street::AdminSpec {
        username: linli::org::users::Username::parse("wang").unwrap(),
        display_name: "王主任".into(),
        password_hash: None,
    };
    let done = app
        .db
        .write(move |c| {
            linli::setup::street::init(c, &spec, &admin_spec, linli::store::now_ms())
                .map_err(|e| linli::store::StoreError::Db(e.to_string()))
        })
        .await
        .unwrap();
    let street = done.street_path.clone();
    assert_eq!(activate(&app, &done.activation.unwrap().0, PW).await, 303);
    let admin = app.token_with("wang", PW).await;

    // 2. The 台账 and the grid map.
    let q = format!("/api/v1/places/import?scope={street}&format=xlsx");
    let (s, r) = post_bytes(&app, &admin, &q, ledger()).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["created"]["communities"], 2, "{r}");
    assert_eq!(r["created"]["grids"], 4, "{r}");
    assert_eq!(r["created"]["buildings"], 40, "{r}");
    assert_eq!(r["created"]["units"], 800, "{r}");
    let q = format!("/api/v1/places/import?scope={street}&format=geojson");
    let (s, r) = post_bytes(&app, &admin, &q, grid_map()).await;
    assert_eq!(s, 200, "{r}");
    let outlined = app
        .query_i64("SELECT COUNT(*) FROM places WHERE kind = 'grid' AND geojson IS NOT NULL")
        .await;
    assert_eq!(outlined, 4);
    // A name two places share is refused with both, never matched to one of them.
    let grid2 = app
        .db
        .read(|c| {
            c.query_one(
                "SELECT id FROM places WHERE kind = 'grid' AND name = '第二网格'",
                &[],
            )
        })
        .await
        .unwrap()
        .i64(0);
    let (s, r) = post_json(
        &app,
        Some(&admin),
        "/api/v1/places",
        json!({"parent_id": grid2, "code": "bx", "name": "1号楼"}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let point = json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"楼栋": "1号楼"}, "geometry": {"type": "Point", "coordinates": [121.521, 31.226]}}]});
    let q = format!("/api/v1/places/import?scope={street}&format=geojson");
    let (s, r) = post_bytes(&app, &admin, &q, serde_json::to_vec(&point).unwrap()).await;
    assert_eq!(s, 422, "{r}");
    let why = r["refused"][0]["reason"].as_str().unwrap();
    assert!(why.contains("2 个地点") && why.contains("/bx"), "{r}");

    // 3. The staff list: a grid worker for the first grid, a community worker.
    let community_path = app
        .db
        .read(|c| {
            c.query_one(
                "SELECT path FROM places WHERE kind = 'community' AND name = '潍坊一村'",
                &[],
            )
        })
        .await
        .unwrap()
        .str(0);
    let staff = format!(
        "姓名,账号,角色,地点或单位,手机\n李敏,limin,网格员,第一网格,13900000011\n陈静,chenjing,居委社工,{community_path},13900000012\n"
    );
    let (s, r) = post_bytes(
        &app,
        &admin,
        "/api/v1/users/import?format=csv",
        staff.into_bytes(),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let link = r["created"][0]["url"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_string();
    assert_eq!(activate(&app, &link, PW).await, 303);
    let limin = app.token_with("limin", PW).await;

    // 4. 2,000 persons, two or three to a unit.
    let units: Vec<String> = app
        .db
        .read(|c| {
            c.query(
                "SELECT path FROM places WHERE kind = 'unit' ORDER BY path",
                &[],
            )
        })
        .await
        .unwrap()
        .iter()
        .map(|r| r.str(0))
        .collect();
    assert_eq!(units.len(), 800);
    let mut csv = String::from("姓名,身份证号,房屋,与户主关系\n");
    for i in 0..2000 {
        let unit = &units[i % 800];
        let relation = if i < 800 { "户主" } else { "配偶" };
        csv.push_str(&format!("居民{i},{},{unit},{relation}\n", id_number(i)));
    }
    let (s, r) = post_bytes(
        &app,
        &admin,
        &format!("/api/v1/imports/persons?scope={street}&dry_run=false"),
        csv.into_bytes(),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM persons").await,
        2000,
        "{r}"
    );

    // 5a. A resident of the first grid registers by herself (name, ID tail, building, room).
    let grid1 = app
        .db
        .read(|c| {
            c.query_one(
                "SELECT path FROM places WHERE kind = 'grid' AND name = '第一网格'",
                &[],
            )
        })
        .await
        .unwrap()
        .str(0);
    let g1 = grid1.clone();
    let (person, name, building, room) = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT p.id, p.name, u.parent_id, u.name FROM persons p JOIN places u ON u.id = p.unit_id \
                 WHERE p.place_path LIKE $1 ORDER BY p.id LIMIT 1",
                linli::params![format!("{g1}/%")],
            )
        })
        .await
        .map(|r| (r.i64(0), r.str(1), r.i64(2), r.str(3)))
        .unwrap();
    let idx: usize = name.trim_start_matches("居民").parse().unwrap();
    let tail = id_number(idx)[12..].to_string();
    let (s, r) = post_json(
        &app,
        None,
        "/api/v1/join/register",
        json!({
        "name": name, "id_tail": tail, "building_id": building, "room": room,
        "username": "jumin1", "password": PW}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["person_id"], person);

    // 5b. Another joins with the invitation her grid worker issued for her household.
    let g1 = grid1.clone();
    let (other, household) = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT p.id, p.household_id FROM persons p WHERE p.place_path LIKE $1 \
                 AND p.household_id <> (SELECT household_id FROM persons WHERE id = $2) ORDER BY p.id LIMIT 1",
                linli::params![format!("{g1}/%"), person],
            )
        })
        .await
        .map(|r| (r.i64(0), r.i64(1)))
        .unwrap();
    let (s, v) = post_json(
        &app,
        Some(&limin),
        "/api/v1/join/invitations",
        json!({"household_id": household}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let code = v["letters"][0]["code"].as_str().unwrap().to_string();
    let (s, v) = post_json(
        &app,
        None,
        "/api/v1/join/redeem",
        json!({
        "code": code, "person_id": other, "username": "jumin2", "password": PW}),
    )
    .await;
    assert_eq!(s, 201, "{v}");

    // 6. The grid worker reveals the first resident's ID number; she reads it in her log.
    let res = app
        .client()
        .post(app.url(&format!("/api/v1/persons/{person}/reveal")))
        .bearer_auth(&limin)
        .json(&json!({"field": "id_number", "purpose": "service", "note": "核对补贴"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let resident = app.token_with("jumin1", PW).await;
    let (s, log) = app.get_json(&resident, "/api/v1/me/access-log").await;
    assert_eq!(s, 200);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "reveal" && e["role"] == "grid_worker"),
        "{log}"
    );
    // The worker sees who of her grid joined, per building.
    let (s, b) = app.get_json(&limin, "/api/v1/join/buildings").await;
    assert_eq!(s, 200, "{b}");
    let joined: i64 = b
        .as_array()
        .or_else(|| b["items"].as_array())
        .unwrap()
        .iter()
        .map(|x| x["households_joined"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(joined, 2, "{b}");
    // A building that moves to another grid takes its invitations' paths along.
    let (unit_building, grid2_path) = app
        .db
        .read(move |c| {
            let b = c.query_one(
                "SELECT u.parent_id FROM households h JOIN places u ON u.id = h.unit_id WHERE h.id = $1",
                linli::params![household],
            )?;
            let g = c.query_one("SELECT path FROM places WHERE id = $1", linli::params![grid2])?;
            Ok((b.i64(0), g.str(0)))
        })
        .await
        .unwrap();
    let (s, r) = post_json(
        &app,
        Some(&admin),
        &format!("/api/v1/places/{unit_building}/move"),
        json!({"parent_id": grid2}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let moved = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT place_path FROM join_invitations WHERE household_id = $1 ORDER BY id DESC LIMIT 1",
                linli::params![household],
            )
        })
        .await
        .unwrap()
        .str(0);
    assert!(moved.starts_with(&format!("{grid2_path}/")), "{moved}");
    app.stop().await;
}
