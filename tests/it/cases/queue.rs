//! The queue: handlers see only their cases and residents only their own; search by number
//! or words, a page at a time.

use super::*;

/// The queue finds a case by its number or by words of its description or place, in every
/// state and only among the cases the caller sees; a long list comes a page at a time.
#[tokio::test]
async fn the_queue_finds_cases_and_pages_through_them() {
    let app = support::spawn().await;
    let b = buildings(&app).await;
    let wangge = app.token("wangge").await;
    let admin = app.token("admin").await;
    let jumin = app.token("jumin").await;
    let mut ids = Vec::new();
    for n in 0..105 {
        let v = report(
            &app,
            &wangge,
            json!({"category": "illegal_parking", "description": format!("巡查发现共享单车乱停第{n}处"),
                   "place_id": b[n % 2]}),
        )
        .await;
        ids.push(v["case"]["id"].as_i64().unwrap());
    }
    let (_, found) = app
        .get_json(
            &admin,
            "/api/v1/cases?q=%E5%85%B1%E4%BA%AB%E5%8D%95%E8%BD%A6&limit=500",
        )
        .await;
    let found: Vec<i64> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(found.len(), 105, "共享单车");
    assert!(ids.iter().all(|id| found.contains(id)));
    // Literal: a % is not a wildcard.
    let (_, none) = app.get_json(&admin, "/api/v1/cases?q=%25%25").await;
    assert_eq!(none, json!([]));
    // By number, with or without '#'.
    let (_, one) = app
        .get_json(&admin, &format!("/api/v1/cases?q=%23{}", ids[7]))
        .await;
    assert!(one.as_array().unwrap().iter().any(|c| c["id"] == ids[7]));
    // Only within sight: the resident finds none of the grid worker's reports.
    let (_, theirs) = app
        .get_json(
            &jumin,
            "/api/v1/cases?q=%E5%85%B1%E4%BA%AB%E5%8D%95%E8%BD%A6",
        )
        .await;
    assert_eq!(theirs, json!([]));
    // Pages: a number opens the case; words list matches in every state, 100 a page.
    let (browser, _) = app.login_page("admin", PASSWORD).await;
    let r = browser
        .get(app.url(&format!("/cases?q={}", ids[3])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("/cases/{}", ids[3]).as_str()
    );
    let closed = ids[0];
    app.exec(
        "UPDATE cases SET state = 'closed' WHERE id = $1",
        linli::params![closed],
    )
    .await;
    let listed = |page: &str| {
        ids.iter()
            .filter(|id| page.contains(&format!("href=\"/cases/{id}\"")))
            .count()
    };
    let first = app
        .page(&browser, "/cases?q=%E5%85%B1%E4%BA%AB%E5%8D%95%E8%BD%A6")
        .await;
    assert!(first.contains("id=\"search-note\"") && first.contains("共享单车"));
    assert_eq!(listed(&first), 100);
    assert!(first.contains("rel=\"next\"") && !first.contains("rel=\"first\""));
    let at = first.find("rel=\"next\"").unwrap();
    let href = &first[first[..at].rfind("href=\"").unwrap() + 6..at];
    let next = href[..href.find('"').unwrap()].replace("&#38;", "&");
    assert!(
        next.starts_with("/cases?q=%E5%85%B1%E4%BA%AB%E5%8D%95%E8%BD%A6&after="),
        "the next page keeps the search and goes on from a key: {next}"
    );
    let second = app.page(&browser, &next).await;
    assert_eq!(listed(&second), 5);
    assert!(second.contains("rel=\"first\"") && !second.contains("rel=\"next\""));
    let both = format!("{first}{second}");
    assert!(
        both.contains(&format!("href=\"/cases/{closed}\"")),
        "closed cases are found too"
    );
    let nothing = app
        .page(
            &browser,
            "/cases?q=%E4%B8%8D%E5%AD%98%E5%9C%A8%E7%9A%84%E8%AF%8D",
        )
        .await;
    assert!(nothing.contains("没有找到相符的案件"));
}

#[tokio::test]
async fn handlers_see_only_their_cases_and_residents_only_their_own() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let admin = app.token("admin").await;
    let bumen = app.token("bumen").await;
    let wuye = app.token("wuye").await;
    let bumen_org = org_of(&app, "bumen").await;
    let wuye_org = org_of(&app, "wuye").await;
    let jumin_id = user_id(&app, "jumin").await;
    let b = buildings(&app).await;
    let mine = report(
        &app,
        &jumin,
        json!({"category": "noise", "description": "楼上深夜唱歌", "place_id": b[2]}),
    )
    .await["case"]["id"]
        .as_i64()
        .unwrap();
    let (_, all) = app.get_json(&admin, "/api/v1/cases?limit=500").await;
    let all = all.as_array().unwrap().clone();
    assert!(all.len() >= 10, "the demo cases and the new one");
    let (_, list) = app.get_json(&bumen, "/api/v1/cases?limit=500").await;
    let list = list.as_array().unwrap();
    assert!(!list.is_empty());
    assert!(
        list.iter().all(|c| c["handler_org_id"] == bumen_org),
        "{list:?}"
    );
    let (_, list) = app.get_json(&wuye, "/api/v1/cases?limit=500").await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c["handler_org_id"] == wuye_org)
    );
    let (_, list) = app.get_json(&jumin, "/api/v1/cases?limit=500").await;
    let list = list.as_array().unwrap();
    assert!(list.iter().any(|c| c["id"] == mine));
    assert!(
        list.iter().all(|c| c["reporter_id"] == jumin_id),
        "{list:?}"
    );
    // Nobody reads a case outside their scope by guessing its id.
    let (s, _) = app.get_json(&bumen, &format!("/api/v1/cases/{mine}")).await;
    assert_eq!(s, 404);
    // Filters.
    let (_, list) = app.get_json(&admin, "/api/v1/cases?category=noise").await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c["category"] == "noise")
    );
    let (_, list) = app
        .get_json(&admin, "/api/v1/cases?state=new,accepted")
        .await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c["state"] == "new" || c["state"] == "accepted")
    );
    let (_, list) = app.get_json(&admin, "/api/v1/cases?late=true").await;
    let late = list.as_array().unwrap();
    assert!(!late.is_empty(), "the demo has late cases");
    assert!(late.iter().all(|c| c["overdue"] == true));
    let (_, list) = app
        .get_json(&admin, &format!("/api/v1/cases?place={}", b[2]))
        .await;
    assert!(list.as_array().unwrap().iter().any(|c| c["id"] == mine));
    // Late cases come first.
    let first_not_late = all
        .iter()
        .position(|c| c["overdue"] == false)
        .unwrap_or(all.len());
    assert!(all[first_not_late..].iter().all(|c| c["overdue"] == false));
    let (s, v) = app.get_json(&admin, "/api/v1/cases?state=flying").await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = app.get_json(&admin, "/api/v1/cases/figures").await;
    assert_eq!(s, 200);
    assert!(
        v["organisations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["org_id"] == bumen_org && f["resolved"].as_i64().unwrap() >= 1)
    );
    let (s, _) = app.get_json(&jumin, "/api/v1/cases/figures").await;
    assert_eq!(s, 403);
    // A period: a case reported two months ago counts in all time, not in the last 30 days.
    let handled = |v: &Value| {
        v["organisations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["org_id"] == bumen_org)
            .map_or(0, |f| f["handled"].as_i64().unwrap())
    };
    let month = 30 * 86_400_000;
    let now = linli::store::now_ms();
    let recent = all
        .iter()
        .find(|c| {
            c["handler_org_id"] == bumen_org && c["created_at"].as_i64().unwrap() > now - month
        })
        .expect("a recent case of bumen's")["id"]
        .as_i64()
        .unwrap();
    let (_, before) = app.get_json(&admin, "/api/v1/cases/figures?days=30").await;
    app.exec(
        "UPDATE cases SET created_at = $1 WHERE id = $2",
        linli::params![now - 2 * month, recent],
    )
    .await;
    let (_, after) = app.get_json(&admin, "/api/v1/cases/figures?days=30").await;
    assert_eq!(handled(&after), handled(&before) - 1);
    let (_, all_time) = app.get_json(&admin, "/api/v1/cases/figures").await;
    assert_eq!(handled(&all_time), handled(&v));
    let (s, e) = app.get_json(&admin, "/api/v1/cases/figures?days=0").await;
    assert_eq!(s, 422);
    assert!(
        e["error"]["message"].as_str().unwrap().contains("3660"),
        "{e}"
    );
    let (browser, _) = app.login_page("admin", PASSWORD).await;
    let page = app.page(&browser, "/cases/figures?days=30").await;
    assert!(page.contains("aria-current=\"page\" href=\"/cases/figures?days=30\""));
}

/// Issue 19, item 6: the figures' columns add up (handled = open + resolved + closed
/// otherwise) after a case is reopened, and each viewer reads the organisations within her
/// reach with the street's totals.
#[tokio::test]
async fn figures_add_up_after_reopenings_and_fit_the_viewer() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let bumen_org = org_of(&app, "bumen").await;
    // A resolved and closed case of the demo's, reopened as it used to be: back in progress
    // with its resolution time kept.
    app.exec(
        "UPDATE cases SET state = 'in_progress' WHERE id = (SELECT MIN(id) FROM cases WHERE state IN ('closed', 'rated') AND resolved_at IS NOT NULL)",
        &[],
    )
    .await;
    let adds_up = |f: &Value| {
        assert_eq!(
            f["handled"].as_i64().unwrap(),
            f["open"].as_i64().unwrap()
                + f["resolved"].as_i64().unwrap()
                + f["closed_other"].as_i64().unwrap(),
            "{f}"
        );
    };
    let (s, all) = app.get_json(&admin, "/api/v1/cases/figures").await;
    assert_eq!(s, 200, "{all}");
    let orgs = all["organisations"].as_array().unwrap();
    assert!(orgs.len() >= 2, "{all}");
    orgs.iter().for_each(adds_up);
    adds_up(&all["street"]);
    let sum: i64 = orgs.iter().map(|f| f["handled"].as_i64().unwrap()).sum();
    assert_eq!(sum, all["street"]["handled"].as_i64().unwrap());

    // A department reads its own figures, and the street's totals.
    let bumen = app.token("bumen").await;
    let (s, own) = app.get_json(&bumen, "/api/v1/cases/figures").await;
    assert_eq!(s, 200);
    let own_orgs = own["organisations"].as_array().unwrap();
    assert!(
        !own_orgs.is_empty() && own_orgs.iter().all(|f| f["org_id"] == bumen_org),
        "{own}"
    );
    assert_eq!(own["street"], all["street"]);
    // A grid worker reads the organisations of her grid's cases: no more than the street's.
    let wangge = app.token("wangge").await;
    let (s, grid) = app.get_json(&wangge, "/api/v1/cases/figures").await;
    assert_eq!(s, 200);
    let grid_handled: i64 = grid["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["handled"].as_i64().unwrap())
        .sum();
    let path = support::place_of(&app, "wangge").await;
    let in_grid = app
        .db
        .read(move |c| {
            let mut p = Vec::new();
            let cond =
                linli::store::under_paths("place_path", std::slice::from_ref(&path), 1, &mut p);
            c.query_i64(
                &format!("SELECT COUNT(*) FROM cases WHERE handler_org_id IS NOT NULL AND {cond}"),
                &p,
            )
        })
        .await
        .unwrap();
    assert_eq!(grid_handled, in_grid, "the cases of her grid, no others");
    // A resident reads none.
    let jumin = app.token("jumin").await;
    let (s, _) = app.get_json(&jumin, "/api/v1/cases/figures").await;
    assert_eq!(s, 403);
    // The page says how the columns add up, with the street's totals as its last row.
    let (b, _) = app.login_page("bumen", PASSWORD).await;
    let page = app.page(&b, "/cases/figures").await;
    assert!(
        page.contains("id=\"street-total\"")
            && page.contains("承办 = 办理中 + 已办结 + 未办结关闭")
    );
}
