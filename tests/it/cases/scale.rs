//! Issue 20: the queue pages by key (so a page costs the same after a long history), its
//! order puts late cases first, the home page's counts stop at a cap, and the case map's marks
//! per building (kept by triggers in `case_spots`) equal a count taken from the cases after
//! any sequence of changes.

use super::*;

/// Every case the API lists for `token` with `query`, following the `Link: rel="next"`
/// headers `limit` at a time; also the number of pages.
async fn all_pages(app: &TestApp, token: &str, query: &str, limit: i64) -> (Vec<Value>, usize) {
    let mut path = format!("/api/v1/cases?{query}&limit={limit}");
    let (mut out, mut pages) = (Vec::new(), 0);
    loop {
        let r = app
            .client()
            .get(app.url(&path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let next = r
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_string());
        let page: Vec<Value> = r.json().await.unwrap();
        assert!(page.len() as i64 <= limit);
        pages += 1;
        out.extend(page);
        let Some(link) = next else { break };
        assert!(link.ends_with("; rel=\"next\""), "{link}");
        path = link[1..link.find('>').unwrap()].to_string();
        assert!(
            path.contains(&format!("limit={limit}")),
            "the query is kept: {path}"
        );
        assert!(pages < 100, "the pages end");
    }
    (out, pages)
}

/// The open cases per building (or per place) and the late ones among them, counted from the
/// cases themselves, against what `case_spots` keeps.
async fn spots_match_the_cases(app: &TestApp) {
    let (kept, counted) = app
        .db
        .read(|c| {
            let kept: Vec<(i64, i64, i64)> = c
                .query(
                    "SELECT place_id, open, late FROM case_spots WHERE open <> 0 OR late <> 0 ORDER BY place_id",
                    &[],
                )?
                .iter()
                .map(|r| (r.i64(0), r.i64(1), r.i64(2)))
                .collect();
            let counted: Vec<(i64, i64, i64)> = c
                .query(
                    "SELECT COALESCE(building_id, place_id), COUNT(*), \
                     SUM(CASE WHEN clock IN ('accept', 'resolve') AND level > 0 THEN 1 ELSE 0 END) \
                     FROM cases WHERE state NOT IN ('closed', 'rated', 'merged', 'rejected') \
                     GROUP BY COALESCE(building_id, place_id) ORDER BY 1",
                    &[],
                )?
                .iter()
                .map(|r| (r.i64(0), r.i64(1), r.i64(2)))
                .collect();
            Ok((kept, counted))
        })
        .await
        .unwrap();
    assert_eq!(kept, counted, "case_spots equals the count from the cases");
}

/// The figures `token` reads equal those counted from the cases themselves (the street's and
/// each organisation's in sight): handled, open, resolved, closed otherwise, on time, ratings,
/// and the median within the width of its bucket.
async fn figures_match_the_cases(app: &TestApp, token: &str, days: Option<i64>) {
    let path = match days {
        Some(d) => format!("/api/v1/cases/figures?days={d}"),
        None => "/api/v1/cases/figures".to_string(),
    };
    let (s, got) = app.get_json(token, &path).await;
    assert_eq!(s, 200, "{got}");
    // The first day counted, as the figures count days: from its start, China time.
    let since = days.map(|d| {
        let day = (linli::store::now_ms() - d * 86_400_000 + 28_800_000).div_euclid(86_400_000);
        day * 86_400_000 - 28_800_000
    });
    let rows = app
        .db
        .read(move |c| {
            c.query(
                "SELECT handler_org_id, state, late, created_at, resolved_at, rating FROM cases \
                 WHERE handler_org_id IS NOT NULL AND created_at >= $1",
                linli::params![since.unwrap_or(i64::MIN)],
            )
        })
        .await
        .unwrap();
    let check = |f: &Value, org: Option<i64>| {
        let mine: Vec<_> = rows
            .iter()
            .filter(|r| org.is_none_or(|o| r.i64(0) == o))
            .collect();
        let ended = |s: &str| ["closed", "rated", "merged", "rejected"].contains(&s);
        let resolved: Vec<_> = mine
            .iter()
            .filter(|r| ["closed", "rated"].contains(&r.str(1).as_str()) && r.opt_i64(4).is_some())
            .collect();
        let open = mine.iter().filter(|r| !ended(&r.str(1))).count() as i64;
        assert_eq!(f["handled"], mine.len() as i64, "{org:?} {f}");
        assert_eq!(f["open"], open, "{org:?} {f}");
        assert_eq!(f["resolved"], resolved.len() as i64, "{org:?} {f}");
        assert_eq!(
            f["closed_other"],
            mine.len() as i64 - open - resolved.len() as i64,
            "{org:?} {f}"
        );
        let rated: Vec<i64> = mine.iter().filter_map(|r| r.opt_i64(5)).collect();
        assert_eq!(f["rated"], rated.len() as i64, "{org:?} {f}");
        if !rated.is_empty() {
            let mean = rated.iter().sum::<i64>() as f64 / rated.len() as f64;
            assert!(
                (f["satisfaction"].as_f64().unwrap() - mean).abs() < 0.006,
                "{f}"
            );
        }
        if !resolved.is_empty() {
            let on_time = resolved.iter().filter(|r| !r.bool(2)).count() as f64;
            let rate = f["on_time_rate"].as_f64().unwrap();
            assert!((rate - on_time / resolved.len() as f64).abs() < 1e-9, "{f}");
            let mut hours: Vec<f64> = resolved
                .iter()
                .map(|r| (r.i64(4) - r.i64(3)) as f64 / 3_600_000.0)
                .collect();
            hours.sort_by(f64::total_cmp);
            let exact = hours[(hours.len() - 1) / 2];
            let got = f["median_hours"].as_f64().unwrap();
            // Within the bucket the exact median falls in: 0,1,2,4,8,12,24,48,72,120,240,480.
            let bounds = [
                0.0,
                1.0,
                2.0,
                4.0,
                8.0,
                12.0,
                24.0,
                48.0,
                72.0,
                120.0,
                240.0,
                480.0,
                f64::MAX,
            ];
            let i = bounds.iter().rposition(|b| *b <= exact).unwrap();
            let hi = hours[hours.len() / 2];
            let j = bounds.iter().rposition(|b| *b <= hi).unwrap();
            assert!(
                got >= bounds[i] - 0.05 && got <= bounds[j + 1].min(1e9) + 0.05,
                "median {got} against {exact}..{hi} h: {f}"
            );
        }
    };
    if token_is_admin(&got) {
        check(&got["street"], None);
    }
    for f in got["organisations"].as_array().unwrap() {
        if token_is_admin(&got) {
            check(f, Some(f["org_id"].as_i64().unwrap()));
        } else {
            // A grid worker's organisations count only cases of her grid: no more than all.
            assert!(
                f["handled"].as_i64().unwrap()
                    <= rows.iter().filter(|r| r.i64(0) == f["org_id"]).count() as i64
            );
        }
    }
    check(&got["street"], None);
}

/// Whether a figures answer is a dispatcher's (every organisation's figures add up to the
/// street's).
fn token_is_admin(v: &Value) -> bool {
    let sum: i64 = v["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["handled"].as_i64().unwrap())
        .sum();
    sum == v["street"]["handled"].as_i64().unwrap()
}

#[tokio::test]
async fn the_queue_pages_by_key_late_first_and_the_map_counts_per_building() {
    let app = support::spawn().await;
    let b = buildings(&app).await;
    assert!(b.len() >= 3);
    let wangge = app.token("wangge").await;
    let admin = app.token("admin").await;
    let bumen = app.token("bumen").await;
    let bumen_org = org_of(&app, "bumen").await;
    spots_match_the_cases(&app).await;
    // A sequence of changes drawn from a fixed seed: reports at three buildings, steps through
    // the lifecycle, deadlines passing (as the watcher marks them), a case moved.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let cats = ["illegal_parking", "noise", "noise", "illegal_parking"];
    let mut ids = Vec::new();
    for n in 0..75 {
        let v = report(
            &app,
            &wangge,
            json!({"category": cats[rnd(4) as usize], "description": format!("楼道堆物第{n}处"),
                   "place_id": b[rnd(3) as usize]}),
        )
        .await;
        ids.push(v["case"]["id"].as_i64().unwrap());
    }
    for (i, &id) in ids.iter().enumerate() {
        match rnd(6) {
            0 => {
                step_ok(
                    &app,
                    &admin,
                    id,
                    json!({"action": "reject", "note": "重复反映"}),
                )
                .await;
            }
            1 | 2 => {
                step_ok(&app, &admin, id, json!({"action": "accept"})).await;
                step_ok(
                    &app,
                    &admin,
                    id,
                    json!({"action": "dispatch", "org_id": bumen_org}),
                )
                .await;
            }
            3 => {
                // Its deadline passed: the watcher raised it a level.
                app.exec(
                    "UPDATE cases SET due_at = created_at + 1, level = 1, late = 1 WHERE id = $1",
                    linli::params![id],
                )
                .await;
            }
            4 if i % 2 == 0 => {
                app.exec(
                    "UPDATE cases SET building_id = $2, place_id = $2 WHERE id = $1",
                    linli::params![id, b[0]],
                )
                .await;
            }
            _ => {}
        }
    }
    spots_match_the_cases(&app).await;
    figures_match_the_cases(&app, &admin, None).await;
    figures_match_the_cases(&app, &admin, Some(30)).await;
    // Resolutions and ratings, then a reopening and a case moved into the past.
    let mut resolved = 0;
    for &id in &ids {
        let (_, d) = app.get_json(&admin, &format!("/api/v1/cases/{id}")).await;
        if d["case"]["state"] != "dispatched" || resolved >= 6 {
            continue;
        }
        step_ok(&app, &bumen, id, json!({"action": "sign_for"})).await;
        step_ok(&app, &bumen, id, json!({"action": "start"})).await;
        step_ok(
            &app,
            &bumen,
            id,
            json!({"action": "resolve", "note": "已清理"}),
        )
        .await;
        app.exec(
            "UPDATE cases SET state = 'rated', rating = $2, resolved_at = created_at + $3 WHERE id = $1",
            linli::params![id, 1 + resolved % 5, (resolved + 1) * 5 * 3_600_000],
        )
        .await;
        resolved += 1;
        if resolved == 3 {
            app.exec(
                "UPDATE cases SET created_at = created_at - 5184000000 WHERE id = $1",
                linli::params![id],
            )
            .await;
        }
    }
    assert!(resolved > 0, "some cases were resolved");
    figures_match_the_cases(&app, &admin, None).await;
    figures_match_the_cases(&app, &admin, Some(30)).await;
    figures_match_the_cases(&app, &wangge, None).await;

    // Paging by key gives what one long page gives, in the same order, each case once.
    for (who, token) in [("admin", &admin), ("wangge", &wangge), ("bumen", &bumen)] {
        let (_, whole) = app
            .get_json(token, "/api/v1/cases?state=open&limit=500")
            .await;
        let whole: Vec<i64> = whole
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect();
        let (paged, pages) = all_pages(&app, token, "state=open", 7).await;
        let paged: Vec<i64> = paged.iter().map(|c| c["id"].as_i64().unwrap()).collect();
        assert_eq!(paged, whole, "{who}: pages by key = one long page");
        assert_eq!(pages, whole.len().div_ceil(7).max(1), "{who}");
        let mut unique = paged.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), paged.len(), "{who}: no case twice");
    }
    // Late cases (open, deadline passed) come first.
    let (all, _) = all_pages(&app, &admin, "state=open", 10).await;
    let late: Vec<bool> = all
        .iter()
        .map(|c| c["level"].as_i64().unwrap_or(0) > 0)
        .collect();
    let first_not_late = late.iter().position(|l| !l).unwrap_or(late.len());
    assert!(late[..first_not_late].iter().all(|l| *l));
    assert!(
        late[first_not_late..].iter().all(|l| !l),
        "late cases first: {late:?}"
    );
    assert!(first_not_late > 0, "some cases are late");
    // The bumen sees only its own cases, paged too.
    assert!(
        all_pages(&app, &bumen, "state=open", 5)
            .await
            .0
            .iter()
            .all(|c| c["handler_org_id"] == bumen_org)
    );
    // A key that is not one is refused, in the caller's language.
    let (s, v) = app.get_json(&admin, "/api/v1/cases?after=abc").await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("翻页位置无效"),
        "{v}"
    );

    // The map: one mark per building with open cases, its count and lateness from case_spots.
    let (browser, _) = app.login_page("wangge", PASSWORD).await;
    let page = app.page(&browser, "/cases/map").await;
    let at = page.find("data-points=\"").unwrap() + 13;
    let json_text = page[at..at + page[at..].find('"').unwrap()]
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let points: Value =
        serde_json::from_str(&json_text).unwrap_or_else(|e| panic!("{e}: {json_text}"));
    let features = points["features"].as_array().unwrap();
    let grid = support::place_of(&app, "wangge").await;
    let expected = app
        .db
        .read(move |c| {
            Ok(c.query(
                "SELECT s.place_id, s.open, s.late FROM case_spots s JOIN places p ON p.id = s.place_id \
                 WHERE s.open > 0 AND s.place_path LIKE $1 AND p.geojson IS NOT NULL ORDER BY s.place_id",
                linli::params![format!("{grid}/%")],
            )?
            .iter()
            .map(|r| (r.i64(0), r.i64(1), r.i64(2)))
            .collect::<Vec<_>>())
        })
        .await
        .unwrap();
    assert_eq!(
        features.len(),
        expected.len(),
        "one mark per building: {points}"
    );
    for (place, open, late) in &expected {
        let f = features
            .iter()
            .find(|f| f["properties"]["href"] == format!("/cases?state=open&place={place}"))
            .unwrap_or_else(|| panic!("a mark for {place}: {points}"));
        assert_eq!(f["properties"]["count"], *open);
        assert_eq!(f["properties"]["late"], *late > 0);
    }
    // A mark's link lists that building's open cases.
    let (place, open, _) = expected[0];
    let listed = app
        .page(&browser, &format!("/cases?state=open&place={place}"))
        .await;
    let rows = listed.matches("href=\"/cases/").count();
    assert!(
        rows as i64 >= open.min(100),
        "{open} cases listed at {place}: {rows}"
    );
    // The department's map counts only the cases dispatched to it.
    let (browser, _) = app.login_page("bumen", PASSWORD).await;
    let page = app.page(&browser, "/cases/map").await;
    let theirs = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM cases WHERE handler_org_id = $1 \
                 AND state NOT IN ('closed', 'rated', 'merged', 'rejected')",
                linli::params![bumen_org],
            )
        })
        .await
        .unwrap();
    assert!(
        page.contains(&format!("<small>{theirs}</small>")),
        "the department's map counts its {theirs} cases"
    );
}

/// Past the cap, the home page says "1,000+" instead of counting a long history.
#[test]
fn counts_past_the_cap_are_shown_as_more_than() {
    assert_eq!(linli::cases::shown_count(7, 1000), "7");
    assert_eq!(linli::cases::shown_count(1000, 1000), "1,000");
    assert_eq!(linli::cases::shown_count(1001, 1000), "1,000+");
}
