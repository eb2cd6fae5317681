//! Intake: bad reports refused with a reason, spots marked on the map, a sensor alert becoming
//! a case, and the bench-only route absent in use.

use linli::cases::lifecycle::State;

use super::*;

/// `linli-bench cases` measures intake against a bench-only route that stores one row, and
/// `linli-bench audit` reads without audit entries: both only in the bench build of the server
/// (`src/bin/linli-bench-server.rs`). What a street runs serves neither, whatever its
/// environment: no code of the library or of `linli` reads the bench switches.
#[tokio::test]
async fn the_bench_floor_is_not_served_in_use() {
    for (p, text) in support::served_sources() {
        assert!(
            !text.contains("LINLI_BENCH"),
            "{} reads a bench switch",
            p.display()
        );
    }
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let r = app
        .client()
        .post(app.url("/api/v1/bench/floor"))
        .bearer_auth(&jumin)
        .json(&json!({"category": "facility_repair", "description": "路灯不亮"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn bad_reports_are_refused_with_a_reason() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let admin = app.token("admin").await;
    let b = buildings(&app).await;
    for (body, needle) in [
        (
            json!({"category": "nope", "description": "x", "place_id": b[0]}),
            "分类",
        ),
        (
            json!({"category": "noise", "description": "  ", "place_id": b[0]}),
            "描述",
        ),
        (json!({"category": "noise", "description": "吵"}), "地点"),
        (
            json!({"category": "noise", "description": "吵", "place_id": 999999}),
            "地点",
        ),
        (
            json!({"category": "noise", "description": "吵", "lat": 95.0, "lon": 121.0}),
            "纬度",
        ),
        (
            json!({"category": "elevator", "description": "电梯坏", "place_id": b[0]}),
            "必填",
        ),
        (
            json!({"category": "elevator", "description": "电梯坏", "place_id": b[0], "extra": {"trapped": "也许"}}),
            "可选项",
        ),
        (
            json!({"category": "noise", "description": "吵", "place_id": b[0], "extra": {"since": "昨天"}}),
            "年-月-日",
        ),
        (
            json!({"category": "noise", "description": "吵", "place_id": b[0], "extra": {"colour": "红"}}),
            "没有的附加字段",
        ),
        (
            json!({"category": "noise", "description": "吵", "place_id": b[0], "channel": "hotline"}),
            "渠道",
        ),
    ] {
        let (s, v) = post(&app, &jumin, "/api/v1/cases", body.clone()).await;
        assert_eq!(s, 422, "{body}: {v}");
        let m = v["error"]["message"].as_str().unwrap();
        assert!(m.contains(needle), "{body}: {m}");
    }
    let (s, v) = post(
        &app,
        &admin,
        "/api/v1/cases",
        json!({"category": "noise", "description": "吵", "place_id": b[0], "channel": "hotline"}),
    )
    .await;
    assert_eq!(s, 422, "a hotline entry needs the caller's name: {v}");
    let v = report(&app, &admin, json!({"category": "fire_hazard", "description": "楼道堆满纸箱", "place_id": b[0],
        "channel": "hotline", "reporter_name": "钱先生", "reporter_contact": "021-5555", "extra": {"hazards": ["楼道堆物"]}})).await;
    assert_eq!(v["case"]["channel"], "hotline");
    assert_eq!(v["case"]["extra"]["hazards"], json!(["楼道堆物"]));
    // A point on the map at a building is at that building.
    let v = report(&app, &jumin, json!({"category": "noise", "description": "广场舞音响太大", "lat": v["case"]["lat"], "lon": v["case"]["lon"]})).await;
    assert_eq!(v["case"]["place_id"], b[0]);
}

/// A spot marked on the map lies at a building when within 50 m of its point, else in the grid
/// that holds it (with no building, so "the same building" finds no duplicates there), and is
/// refused outside the street; half a spot is refused, never dropped.
#[tokio::test]
async fn a_spot_marked_on_the_map_lies_at_its_building_or_in_its_grid() {
    use linli::cases::dedupe::distance_m;
    use linli::org::geometry::Shape;
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let street = street_of(&app).await;
    let places = app
        .db
        .read(move |c| {
            Ok(c.query(
                "SELECT id, kind, path, geojson FROM places WHERE street_id = $1 \
                 AND kind IN ('grid', 'building') AND geojson IS NOT NULL ORDER BY id",
                linli::params![street],
            )?
            .into_iter()
            .map(|r| {
                (
                    r.i64(0),
                    r.str(1),
                    r.str(2),
                    Shape::parse(&r.str(3)).unwrap(),
                )
            })
            .collect::<Vec<_>>())
        })
        .await
        .unwrap();
    let buildings: Vec<(i64, (f64, f64))> = places
        .iter()
        .filter(|p| p.1 == "building")
        .map(|p| (p.0, p.3.point().unwrap()))
        .collect();
    let placed = |v: &Value| {
        let id = v["case"]["id"].as_i64().unwrap();
        let db = app.db.clone();
        async move {
            db.read(move |c| {
                let r = c.query_one(
                    "SELECT place_id, building_id, lat, lon FROM cases WHERE id = $1",
                    linli::params![id],
                )?;
                Ok((r.i64(0), r.opt_i64(1), r.f64(2), r.f64(3)))
            })
            .await
            .unwrap()
        }
    };
    // At a building's point, and 30 m north of it: that building.
    let (bid, (blat, blon)) = buildings[0];
    for dlat in [0.0, 0.00027] {
        let v = report(&app, &jumin, json!({"category": "noise", "description": "夜里有人大声喧哗", "lat": blat + dlat, "lon": blon})).await;
        assert_eq!(placed(&v).await.0, bid, "{dlat}: {v}");
        assert_eq!(placed(&v).await.1, Some(bid));
    }
    // A spot in a grid, 80 m or more from every building: the grid, no building, the spot kept.
    let (grid, spot) = places
        .iter()
        .filter(|p| p.1 == "grid")
        .find_map(|g| {
            let ring = g.3.outline()?;
            let (x0, x1) = ring
                .iter()
                .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.0), a.1.max(p.0)));
            let (y0, y1) = ring
                .iter()
                .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.1), a.1.max(p.1)));
            (1..40)
                .flat_map(|i| {
                    (1..40).map(move |j| {
                        (
                            y0 + (y1 - y0) * i as f64 / 40.0,
                            x0 + (x1 - x0) * j as f64 / 40.0,
                        )
                    })
                })
                .find(|&(la, lo)| {
                    g.3.holds(la, lo)
                        && buildings
                            .iter()
                            .all(|(_, (y, x))| distance_m(la, lo, *y, *x) >= 80.0)
                })
                .map(|spot| (g.0, spot))
        })
        .expect("a grid with room between its buildings");
    let v = report(&app, &jumin, json!({"category": "noise", "description": "路口施工夜里很吵", "lat": spot.0, "lon": spot.1})).await;
    let (place, building, la, lo) = placed(&v).await;
    assert_eq!((place, building), (grid, None), "{v}");
    assert!((la - spot.0).abs() < 1e-9 && (lo - spot.1).abs() < 1e-9);
    // Outside the street, half a spot: refused, saying why.
    for (body, needle) in [
        (
            json!({"category": "noise", "description": "吵", "lat": 39.9, "lon": 116.4}),
            "不在本街道",
        ),
        (
            json!({"category": "noise", "description": "吵", "lat": spot.0}),
            "同时填写",
        ),
    ] {
        let (s, v) = post(&app, &jumin, "/api/v1/cases", body.clone()).await;
        assert_eq!(s, 422, "{body}: {v}");
        let m = v["error"]["message"].as_str().unwrap();
        assert!(m.contains(needle), "{body}: {m}");
    }
}

#[tokio::test]
async fn a_sensor_alert_becomes_a_case_for_the_grid_worker() {
    let app = support::spawn().await;
    let street = street_of(&app).await;
    let wangge_id = user_id(&app, "wangge").await;
    let b = buildings(&app).await[0];
    let id = app
        .db
        .write(move |c| {
            linli::cases::open_from_sensor(
                c,
                street,
                "elderly_care",
                b,
                "门磁 24 小时无开门记录",
                linli::store::now_ms(),
            )
            .map_err(|e| linli::store::StoreError::Db(format!("{e:?}")))
        })
        .await
        .unwrap();
    let (state, handler, channel) = app
        .db
        .read(move |c| {
            let r = c.query_one(
                "SELECT state, handler_user_id, channel FROM cases WHERE id = $1",
                linli::params![id.0],
            )?;
            Ok((r.str(0), r.i64(1), r.str(2)))
        })
        .await
        .unwrap();
    assert_eq!(
        (state.as_str(), handler, channel.as_str()),
        ("dispatched", wangge_id, "sensor")
    );
    let s = app
        .db
        .read(move |c| linli::cases::state_of(c, id))
        .await
        .unwrap();
    assert_eq!(s, Some(State::Dispatched));
    let wangge = app.token("wangge").await;
    let (_, list) = app.get_json(&wangge, "/api/v1/cases?handling=true").await;
    assert!(list.as_array().unwrap().iter().any(|c| c["id"] == id.0));

    // Opened before the word segmenter was loaded (it is never loaded inside the writer's
    // transaction), a sensor case keeps its description's character pairs only; the cases
    // job completes its terms once, from the stored description.
    linli::cases::dedupe::ready().await;
    let (pairs, partial) = linli::cases::dedupe::segment_or_pairs("门磁 24 小时无开门记录");
    assert!(!partial, "the segmenter is loaded");
    assert!(pairs.contains("门磁") && pairs.contains("~开门"), "{pairs}");
    app.exec(
        "UPDATE cases SET terms = '~门磁 ~小时', terms_partial = 1 WHERE id = $1",
        linli::params![id.0],
    )
    .await;
    // The job running in the background may have been first.
    assert!(
        linli::cases::dedupe::complete_partial_terms(&app.db)
            .await
            .unwrap()
            <= 1
    );
    let (terms, partial) = app
        .db
        .read(move |c| {
            let r = c.query_one(
                "SELECT terms, terms_partial FROM cases WHERE id = $1",
                linli::params![id.0],
            )?;
            Ok((r.str(0), r.i64(1)))
        })
        .await
        .unwrap();
    assert_eq!(
        (terms, partial),
        (linli::cases::dedupe::segment("门磁 24 小时无开门记录"), 0)
    );
    assert_eq!(
        linli::cases::dedupe::complete_partial_terms(&app.db)
            .await
            .unwrap(),
        0
    );
}
