//! Duplicates: suggestions at intake, merging, and the search across grid cells.

use super::*;

/// Duplicate suggestions for a report of `text` at a point (no building), 50 m around, as
/// intake asks for them.
async fn suggest_at(
    db: &Db,
    (street_id, category_id): (i64, i64),
    text: &'static str,
    (lat, lon): (f64, f64),
    now: i64,
) -> Vec<linli::cases::dedupe::Suggestion> {
    db.read(move |c| {
        let terms = linli::cases::dedupe::segment(text);
        let probe = linli::cases::dedupe::Probe {
            street_id,
            category_id,
            radius_m: 50,
            building_id: None,
            lat: Some(lat),
            lon: Some(lon),
            terms: &terms,
            exclude: None,
        };
        linli::cases::dedupe::suggest(c, &probe, now)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn duplicates_are_suggested_and_merging_tells_the_duplicates_reporter() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let wangge = app.token("wangge").await;
    let admin = app.token("admin").await;
    let wangge_id = user_id(&app, "wangge").await;
    let b = buildings(&app).await;
    let first = report(&app, &jumin, json!({"category": "facility_repair", "description": "楼下路灯不亮，晚上很黑", "place_id": b[3], "extra": {"facility": "路灯"}}))
        .await["case"]["id"]
        .as_i64()
        .unwrap();
    let other = report(&app, &jumin, json!({"category": "facility_repair", "description": "健身器材的螺丝松了", "place_id": b[3], "extra": {"facility": "健身器材"}}))
        .await["case"]["id"]
        .as_i64()
        .unwrap();
    // Before sending, a probe shows the likely duplicates, the most alike first.
    let (s, sug) = post(
        &app,
        &wangge,
        "/api/v1/cases/duplicates",
        json!({"category": "facility_repair", "description": "路灯坏了不亮", "place_id": b[3]}),
    )
    .await;
    assert_eq!(s, 200, "{sug}");
    let sug = sug.as_array().unwrap();
    assert_eq!(sug[0]["id"], first, "{sug:?}");
    assert!(sug[0]["same_building"] == true);
    let pos_other = sug.iter().position(|x| x["id"] == other);
    assert!(pos_other.is_none_or(|p| p > 0));
    // Another category is never a duplicate.
    let (_, sug) = post(
        &app,
        &wangge,
        "/api/v1/cases/duplicates",
        json!({"category": "noise", "description": "路灯坏了不亮", "place_id": b[3]}),
    )
    .await;
    assert!(sug.as_array().unwrap().iter().all(|x| x["id"] != first));
    // A point a few metres away (no building given) finds it by distance; one over half a
    // kilometre away does not.
    let (_, c) = app
        .get_json(&admin, &format!("/api/v1/cases/{first}"))
        .await;
    let (lat, lon) = (
        c["case"]["lat"].as_f64().unwrap(),
        c["case"]["lon"].as_f64().unwrap(),
    );
    let probe = |dlat: f64| json!({"category": "facility_repair", "description": "路灯坏了不亮", "lat": lat + dlat, "lon": lon});
    let (s, sug) = post(&app, &wangge, "/api/v1/cases/duplicates", probe(0.0002)).await;
    assert_eq!(s, 200, "{sug}");
    let hit = sug
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == first)
        .unwrap_or_else(|| panic!("{sug}"));
    assert!(hit["distance_m"].as_f64().unwrap() < 30.0, "{hit}");
    // The suggestion carries the case's own words, for the reporter to compare.
    assert_eq!(hit["description"], "楼下路灯不亮，晚上很黑", "{hit}");
    // By distance alone (a point the API places in the nearest building would also match by
    // building), the radius (50 m for facility repairs) is a circle, not the box the search
    // reads: 44 m north is near, 44 m north and 43 m east (62 m, inside the box) is not.
    let (street, category) = (
        c["case"]["street_id"].as_i64().unwrap(),
        c["case"]["category_id"].as_i64().unwrap(),
    );
    let near_by_distance = |dlat: f64, dlon: f64| {
        let db = app.db.clone();
        async move {
            suggest_at(
                &db,
                (street, category),
                "路灯坏了不亮",
                (lat + dlat, lon + dlon),
                linli::store::now_ms(),
            )
            .await
            .iter()
            .any(|s| s.id == first)
        }
    };
    assert!(near_by_distance(0.0004, 0.0).await);
    assert!(!near_by_distance(0.0004, 0.00045).await);
    // Another street's probe never sees the case, even with its category.
    let other_street = suggest_at(
        &app.db,
        (street + 1_000_000, category),
        "路灯坏了不亮",
        (lat, lon),
        linli::store::now_ms(),
    )
    .await;
    assert!(other_street.is_empty(), "{other_street:?}");
    // Over half a kilometre north (probed in process: that spot may lie outside the street,
    // which intake refuses) is not near.
    assert!(!near_by_distance(0.006, 0.0).await);
    let v = report(&app, &wangge, json!({"category": "facility_repair", "description": "路灯坏了不亮", "place_id": b[3], "extra": {"facility": "路灯"}})).await;
    let dup = v["case"]["id"].as_i64().unwrap();
    assert_eq!(v["duplicates"][0]["id"], first);
    let (s, _) = step(
        &app,
        &admin,
        dup,
        json!({"action": "merge", "master_id": dup}),
    )
    .await;
    assert_eq!(s, 422, "not into itself");
    let d = step_ok(
        &app,
        &admin,
        dup,
        json!({"action": "merge", "master_id": first}),
    )
    .await;
    assert_eq!(d["case"]["state"], "merged");
    assert_eq!(d["case"]["master_id"], first);
    // wangge now follows the master and is told when it closes.
    let wuye = app.token("wuye").await;
    let wuye_org = org_of(&app, "wuye").await;
    step_ok(&app, &admin, first, json!({"action": "accept"})).await;
    step_ok(
        &app,
        &admin,
        first,
        json!({"action": "dispatch", "org_id": wuye_org}),
    )
    .await;
    step_ok(&app, &wuye, first, json!({"action": "sign_for"})).await;
    step_ok(&app, &wuye, first, json!({"action": "start"})).await;
    step_ok(
        &app,
        &wuye,
        first,
        json!({"action": "resolve", "note": "已修好"}),
    )
    .await;
    step_ok(&app, &admin, first, json!({"action": "verify"})).await;
    step_ok(&app, &admin, first, json!({"action": "close"})).await;
    let closed = app
        .db
        .read(move |c| c.query_i64("SELECT COUNT(*) FROM inbox WHERE user_id = $1 AND case_id = $2 AND kind = 'closed'", linli::params![wangge_id, first]))
        .await
        .unwrap();
    assert_eq!(closed, 1);
    let (s, _) = app
        .get_json(&wangge, &format!("/api/v1/cases/{first}"))
        .await;
    assert_eq!(s, 200);
}

/// A point near a corner of the duplicate search's grid cells: the box around it reaches into
/// four cells, and the candidates are the newest within the radius across all of them, however
/// many older ones the first cell read holds.
#[tokio::test]
async fn duplicates_near_a_cell_corner_are_the_newest_of_every_cell() {
    let app = support::spawn().await;
    let street = street_of(&app).await;
    let place = buildings(&app).await[0];
    let now = linli::store::now_ms();
    let (category, lat0, lon0) = app
        .db
        .read(move |c| {
            let k = c.query_i64(
                "SELECT id FROM case_categories WHERE street_id = $1 AND code = 'facility_repair'",
                linli::params![street],
            )?;
            let r = c.query_one(
                "SELECT geojson FROM places WHERE id = $1",
                linli::params![place],
            )?;
            let v: serde_json::Value = serde_json::from_str(&r.str(0)).unwrap();
            Ok((
                k,
                v["coordinates"][1].as_f64().unwrap(),
                v["coordinates"][0].as_f64().unwrap(),
            ))
        })
        .await
        .unwrap();
    // The corner of cells (1/200 of a degree) nearest the street's building.
    let (lat, lon) = (
        (lat0 * 200.0).round() / 200.0,
        (lon0 * 200.0).round() / 200.0,
    );
    // 30 older cases 20 m south-west (one cell, the first read), and one in each of the other
    // three cells, 20 m away. Words unlike the probe's, but for those three.
    let mut points: Vec<(f64, f64, i64, &str)> = (0..30)
        .map(|i| {
            (
                lat - 0.00013,
                lon - 0.00015,
                now - 3_600_000 - i * 60_000,
                "井盖 松动 响",
            )
        })
        .collect();
    points.push((
        lat + 0.00013,
        lon - 0.00015,
        now - 60_000,
        "路灯 不亮 很 黑",
    ));
    points.push((
        lat + 0.00013,
        lon + 0.00015,
        now - 120_000,
        "路灯 不亮 很 黑",
    ));
    // South-east, read second: older than the first cell's five newest yet newer than its
    // twentieth, so still among the newest twenty.
    points.push((
        lat - 0.00013,
        lon + 0.00015,
        now - 3_600_000 - 5 * 60_000 - 30_000,
        "路灯 不亮 很 黑",
    ));
    let ids = app
        .db
        .write(move |c| {
            let mut ids = Vec::new();
            for (i, (a, o, t, terms)) in points.iter().enumerate() {
                ids.push(c.query_i64(
                    "INSERT INTO cases (street_id, category_id, channel, state, priority, description, terms, \
                     place_id, place_path, lat, lon, cell, token, clock, clock_start, created_at, updated_at) \
                     VALUES ($1, $2, 'api', 'new', 2, $3, $4, $5, '', $6, $7, $8, $9, 'none', $10, $10, $10) RETURNING id",
                    linli::params![
                        street,
                        category,
                        terms.replace(' ', ""),
                        *terms,
                        place,
                        *a,
                        *o,
                        linli::cases::dedupe::cell(*a, *o),
                        format!("corner-{i}"),
                        *t
                    ],
                )?);
            }
            Ok(ids)
        })
        .await
        .unwrap();
    let cells: std::collections::HashSet<i64> =
        [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
            .iter()
            .map(|(y, x)| linli::cases::dedupe::cell(lat + y * 0.00013, lon + x * 0.00015))
            .collect();
    assert_eq!(cells.len(), 4, "the points lie in four cells");
    let found = suggest_at(
        &app.db,
        (street, category),
        "路灯不亮，很黑",
        (lat, lon),
        now,
    )
    .await;
    let top: Vec<i64> = found.iter().take(3).map(|s| s.id).collect();
    let mut want = ids[30..].to_vec();
    let mut got = top.clone();
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want, "{found:?}");
    assert!(
        found
            .iter()
            .all(|s| s.distance_m.is_some_and(|d| d <= 50.0))
    );
    assert_eq!(found.len(), linli::cases::dedupe::MAX, "{found:?}");
    assert_eq!(found[0].description, "路灯不亮很黑");
}
