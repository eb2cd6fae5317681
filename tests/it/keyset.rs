//! Issue 20: the persons list read by key. Walking every page with `after=<next>` lists each
//! person of the caller's scope exactly once, whatever drives the search (the whole scope, a
//! name fragment, a tag, an unusual presence); the page (`/persons`) links its next page by
//! key; a malformed key is a 400; a caller outside the registry gets 403.

use std::collections::HashSet;

use crate::support;

async fn walk(app: &support::TestApp, token: &str, filter: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..200 {
        let path = match &after {
            Some(a) => format!(
                "/api/v1/persons?{filter}limit=97&after={}",
                form_urlencoded::byte_serialize(a.as_bytes()).collect::<String>()
            ),
            None => format!("/api/v1/persons?{filter}limit=97"),
        };
        let (s, page) = app.get_json(token, &path).await;
        assert_eq!(s, 200, "{path}: {page}");
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_i64().unwrap()),
        );
        match page["next"].as_str() {
            Some(n) => {
                assert!(page["next_offset"].is_null() || after.is_none());
                after = Some(n.to_string());
            }
            None => return ids,
        }
    }
    panic!("more than 200 pages");
}

async fn expected(app: &support::TestApp, place: &str, cond: &'static str) -> HashSet<i64> {
    let place = place.to_string();
    app.db
        .read(move |c| {
            let mut p = Vec::new();
            let under = linli::store::under_paths("p.place_path", &[place], 1, &mut p);
            Ok(c.query(
                &format!("SELECT p.id FROM persons p WHERE {under} AND {cond}"),
                &p,
            )?
            .iter()
            .map(|r| r.i64(0))
            .collect())
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn every_page_by_key_lists_each_person_of_the_scope_once() {
    let app = support::spawn().await;
    let today = linli::kernel::time::today().format("%Y-%m-%d").to_string();
    for user in ["admin", "wangge"] {
        let token = app.token(user).await;
        let place = support::place_of(&app, user).await;
        let tag_cond: &'static str = Box::leak(
            format!(
                "EXISTS (SELECT 1 FROM person_tags t WHERE t.person_id = p.id AND t.tag = 'elderly_alone' \
                 AND t.valid_from <= '{today}' AND (t.valid_to IS NULL OR t.valid_to >= '{today}'))"
            )
            .into_boxed_str(),
        );
        for (filter, cond) in [
            ("", "1 = 1"),
            ("q=%E7%8E%8B&", "p.name LIKE '%王%'"),
            ("tag=elderly_alone&", tag_cond),
            (
                "presence=registered_here_lives_elsewhere&",
                "p.presence = 'registered_here_lives_elsewhere'",
            ),
        ] {
            let ids = walk(&app, &token, filter).await;
            let unique: HashSet<i64> = ids.iter().copied().collect();
            assert_eq!(unique.len(), ids.len(), "{user} {filter}: nobody twice");
            let want = expected(&app, &place, cond).await;
            assert!(!want.is_empty(), "{user} {filter}: the demo has some");
            assert_eq!(
                unique, want,
                "{user} {filter}: everyone in scope, no one else"
            );
        }
    }
    // The offset still pages (older clients), and says where the next page starts both ways.
    let token = app.token("admin").await;
    let (_, first) = app.get_json(&token, "/api/v1/persons?limit=10").await;
    assert_eq!(first["next_offset"], 10);
    assert!(first["next"].is_string());
    // A key that is not one is refused.
    let (s, _) = app
        .get_json(&token, "/api/v1/persons?limit=10&after=nonsense")
        .await;
    assert_eq!(s, 400);
    // A department handler reads no registry.
    let bumen = app.token("bumen").await;
    let (s, _) = app.get_json(&bumen, "/api/v1/persons?limit=10").await;
    assert_eq!(s, 403);
    let next = first["next"].as_str().unwrap().to_string();
    let (s, _) = app
        .get_json(
            &bumen,
            &format!(
                "/api/v1/persons?after={}",
                form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            ),
        )
        .await;
    assert_eq!(s, 403);
    // The page links its next page by key, and that page follows on.
    let (browser, _) = app.login_page("admin", support::PASSWORD).await;
    let html = app.page(&browser, "/persons?q=%E7%8E%8B").await;
    let at = html.find("after=").expect("a next link by key");
    let end = at + html[at..].find('"').unwrap();
    let href = html[at..end].replace("&amp;", "&");
    let more = app
        .page(&browser, &format!("/persons?q=%E7%8E%8B&{href}"))
        .await;
    assert!(more.contains("/persons/"), "the next page lists persons");
    app.stop().await;
}

/// Rentals come 50 to a page, the next one named by the `Link` header (API) or the page's
/// link; walking them lists each registration of the scope once.
#[tokio::test]
async fn rentals_page_by_key() {
    let app = support::spawn().await;
    // Enough registrations for several pages: copies of the demo's, spread over its units.
    let n = app.query_i64("SELECT COUNT(*) FROM rentals").await;
    if n < 120 {
        app.exec(
            "INSERT INTO rentals (street_id, unit_id, place_path, reg_no, landlord_id, start_date, end_date, state, notes, created_at, updated_at) \
             SELECT r.street_id, u.id, u.path, 'K' || CAST(u.id AS TEXT), r.landlord_id, r.start_date, \
             CASE WHEN u.id % 3 = 0 THEN r.end_date ELSE '2030-01-01' END, 'active', '', r.created_at, r.updated_at \
             FROM places u, (SELECT * FROM rentals ORDER BY id LIMIT 1) r WHERE u.kind = 'unit' ORDER BY u.id LIMIT 200",
            &[],
        )
        .await;
    }
    for user in ["admin", "wangge"] {
        let token = app.token(user).await;
        let place = support::place_of(&app, user).await;
        let mut url = app.url("/api/v1/rentals");
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let r = app
                .client()
                .get(&url)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let next = r
                .headers()
                .get("link")
                .map(|v| v.to_str().unwrap().to_string());
            let items: serde_json::Value = r.json().await.unwrap();
            let items = items.as_array().unwrap();
            assert!(items.len() <= 50);
            seen.extend(items.iter().map(|r| r["id"].as_i64().unwrap()));
            pages += 1;
            match next {
                Some(l) => {
                    assert_eq!(items.len(), 50);
                    let path = l
                        .strip_prefix('<')
                        .and_then(|l| l.split_once(">; rel=\"next\""))
                        .unwrap()
                        .0;
                    url = app.url(path);
                }
                None => break,
            }
        }
        let unique: HashSet<i64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "{user}: no registration twice");
        let want = expected_rentals(&app, &place).await;
        assert_eq!(unique, want, "{user}: every registration in scope");
        if user == "admin" {
            assert!(pages >= 3, "several pages: {pages}");
        }
    }
    let bumen = app.token("bumen").await;
    let (s, _) = app.get_json(&bumen, "/api/v1/rentals").await;
    assert_eq!(s, 403);
    let admin = app.token("admin").await;
    let (s, _) = app.get_json(&admin, "/api/v1/rentals?after=nonsense").await;
    assert_eq!(s, 400);
    // The page: 50 rows and a link to the next page, which follows on.
    let (browser, _) = app.login_page("admin", support::PASSWORD).await;
    let html = app.page(&browser, "/rentals").await;
    let at = html.find("/rentals?after=").expect("a next link by key");
    let end = at + html[at..].find('"').unwrap();
    let more = app
        .page(&browser, &html[at..end].replace("&amp;", "&"))
        .await;
    assert!(
        more.contains("/units/"),
        "the next page lists registrations"
    );
    app.stop().await;
}

async fn expected_rentals(app: &support::TestApp, place: &str) -> HashSet<i64> {
    let place = place.to_string();
    app.db
        .read(move |c| {
            let mut p = Vec::new();
            let under = linli::store::under_paths("place_path", &[place], 1, &mut p);
            Ok(
                c.query(&format!("SELECT id FROM rentals WHERE {under}"), &p)?
                    .iter()
                    .map(|r| r.i64(0))
                    .collect(),
            )
        })
        .await
        .unwrap()
}

/// Walks a list answering `{items, next}` with `after=<next>`, `limit` a page; the ids.
async fn walk_items(app: &support::TestApp, token: &str, base: &str, limit: i64) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..500 {
        let path = match &after {
            Some(a) => format!(
                "{base}limit={limit}&after={}",
                form_urlencoded::byte_serialize(a.as_bytes()).collect::<String>()
            ),
            None => format!("{base}limit={limit}"),
        };
        let (s, page) = app.get_json(token, &path).await;
        assert_eq!(s, 200, "{path}: {page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() as i64 <= limit);
        ids.extend(items.iter().map(|p| p["id"].as_i64().unwrap()));
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => return ids,
        }
    }
    panic!("more than 500 pages");
}

/// Alerts and devices page by key too (issue 20): walking every page gives what one long page
/// gives, in its order; a malformed key is a 400.
#[tokio::test]
async fn alerts_and_devices_page_by_key() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    // Alerts of the demo's devices, one active and three cleared each, at different times.
    assert!(app.query_i64("SELECT COUNT(*) FROM rules").await > 0);
    for k in 0..4i64 {
        app.exec(
            "INSERT INTO alerts (street_id, rule_id, device_id, person_id, place_id, place_path, kind, severity, \
             category, state, active, message, details, hits, first_at, last_at, level, case_state, updated_at) \
             SELECT d.street_id, (SELECT MIN(id) FROM rules), d.id, d.person_id, d.place_id, d.place_path, 'absence', \
             'major', 'care', CASE WHEN $1 = 0 THEN 'active_unack' ELSE 'cleared_ack' END, CASE WHEN $1 = 0 THEN 1 ELSE 0 END, \
             '', '{}', 1, 1700000000000 - $1 * 3600000 - d.id, 1700000000000 - $1 * 3600000 - d.id % 3, 0, 'none', 1700000000000 \
             FROM devices d",
            linli::params![k],
        )
        .await;
    }
    for (base, limit) in [
        ("/api/v1/alerts?", 3),
        ("/api/v1/alerts?active=false&", 2),
        ("/api/v1/devices?", 4),
    ] {
        let whole = walk_items(&app, &admin, base, 500).await;
        assert!(whole.len() > limit as usize, "{base}: several pages' worth");
        let paged = walk_items(&app, &admin, base, limit).await;
        assert_eq!(paged, whole, "{base}: pages by key = one long page");
    }
    for base in ["/api/v1/alerts", "/api/v1/devices"] {
        let (s, _) = app
            .get_json(&admin, &format!("{base}?after=nonsense"))
            .await;
        assert_eq!(s, 400, "{base}");
    }
    app.stop().await;
}
