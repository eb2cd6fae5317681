//! Duplicate suggestions stay within the caller's scope.

use super::*;

#[tokio::test]
async fn duplicate_suggestions_do_not_leak_outside_scope() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let wangge = app.token("wangge").await;
    let jumin = app.token("jumin").await;
    let wuye = app.token("wuye").await;
    let (b, _) = places(&app).await;
    let b0 = b[0];
    // A care report about a person (a category never published), and a repair reported on
    // patrol, both with a phone number in their words, at one building of wangge's grid.
    let care = report(
        &app,
        &admin,
        json!({"category": "elderly_care", "channel": "hotline",
        "reporter_name": "邻居赵女士", "reporter_contact": "13900001111", "place_id": b[0],
        "description": "独居老人王阿姨近两天没有下楼取牛奶，女儿电话13812341234"}),
    )
    .await;
    let lamp = report(
        &app,
        &wangge,
        json!({"category": "facility_repair", "place_id": b[0],
        "description": "楼下路灯不亮，物业电话13812345678", "extra": {"facility": "路灯"}}),
    )
    .await;
    // A repair at the same building but placed outside wangge's grid (another grid's path),
    // as a case within the radius across a grid's edge is.
    let street = app
        .query_i64("SELECT street_id FROM users WHERE username = 'admin'")
        .await;
    let grid = support::place_of(&app, "wangge").await;
    let elsewhere = app
        .db
        .write(move |c| {
            let other = c.query_one(
                "SELECT path FROM places WHERE kind = 'grid' AND street_id = $1 AND path <> $2 ORDER BY path LIMIT 1",
                linli::params![street, grid.as_str()],
            )?;
            let k = c.query_i64(
                "SELECT id FROM case_categories WHERE street_id = $1 AND code = 'facility_repair'",
                linli::params![street],
            )?;
            let now = linli::store::now_ms();
            c.query_i64(
                "INSERT INTO cases (street_id, category_id, channel, state, priority, description, terms, \
                 place_id, place_path, building_id, token, clock, clock_start, created_at, updated_at) \
                 VALUES ($1, $2, 'resident', 'new', 2, '越界的路灯报修', '~路灯 路灯 不亮', $3, $4, $3, 'edge-1', 'none', $5, $5, $5) RETURNING id",
                linli::params![street, k, b0, format!("{}/x", other.str(0)), now],
            )
        })
        .await
        .unwrap();
    let probe =
        |code: &str| json!({"category": code, "description": "路灯坏了不亮", "place_id": b[0]});

    // A resident: nothing of a care case; of the repair, a similar report nearby with no words,
    // no number and no reporter.
    let (s, v) = post(
        &app,
        &jumin,
        "/api/v1/cases/duplicates",
        json!({"category": "elderly_care", "description": "王阿姨", "place_id": b[0]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v, json!([]), "a care case is never suggested to a resident");
    let building = app
        .db
        .read(move |c| c.query_one("SELECT name FROM places WHERE id = $1", linli::params![b0]))
        .await
        .unwrap()
        .str(0);
    for token in [&jumin, &wuye] {
        let (s, v) = post(
            &app,
            token,
            "/api/v1/cases/duplicates",
            probe("facility_repair"),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let list = v.as_array().unwrap();
        assert!(!list.is_empty(), "{v}");
        for x in list {
            assert_eq!(x["kind"], "nearby", "{x}");
            assert_eq!(x["category"], "facility_repair");
            assert_eq!(x["place"], building.as_str());
            assert!(
                x.get("id").is_none() && x.get("description").is_none(),
                "{x}"
            );
        }
        let text = v.to_string();
        for leak in ["路灯不亮", "1381234", "****", "越界", "李敏"] {
            assert!(!text.contains(leak), "{leak} in {text}");
        }
    }
    // Each showing is audited as a list of the cases shown.
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "list", "{e}");
    assert!(has_subject(&e, &format!("case:{lamp}")), "{e}");
    // The duplicates a resident's report comes back with are the same reports nearby.
    let (s, v) = post(
        &app,
        &jumin,
        "/api/v1/cases",
        json!({"category": "facility_repair", "description": "路灯坏了不亮", "place_id": b[0],
               "extra": {"facility": "路灯"}}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let dups = v["duplicates"].as_array().unwrap();
    assert!(!dups.is_empty(), "{v}");
    assert!(
        dups.iter()
            .all(|d| d["kind"] == "nearby" && d.get("description").is_none())
    );
    assert!(!v["duplicates"].to_string().contains("1381234"));

    // The grid worker: the cases of her grid, numbers masked; not the one outside it.
    let (s, v) = post(
        &app,
        &wangge,
        "/api/v1/cases/duplicates",
        probe("facility_repair"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let ids: Vec<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&lamp) && !ids.contains(&elsewhere), "{v}");
    let (_, v) = post(
        &app,
        &wangge,
        "/api/v1/cases/duplicates",
        json!({"category": "elderly_care", "description": "王阿姨没有下楼", "place_id": b[0]}),
    )
    .await;
    let hit = v
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == care)
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(hit["kind"], "case");
    assert_eq!(
        hit["description"],
        "独居老人王阿姨近两天没有下楼取牛奶，女儿电话138****1234"
    );
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "list");
    assert!(has_subject(&e, &format!("case:{care}")), "{e}");
    // The street's administrator sees the street's, the one across the edge too.
    let (_, v) = post(
        &app,
        &admin,
        "/api/v1/cases/duplicates",
        probe("facility_repair"),
    )
    .await;
    assert!(
        v.as_array().unwrap().iter().any(|x| x["id"] == elsewhere),
        "{v}"
    );
}
