//! The case pages: the home page's figures, and every demo account's pages.

use super::*;

/// The number in a home page figure, by its id (`<a class="stat" … id="ID"><b>N</b>`).
fn home_figure(page: &str, id: &str) -> i64 {
    let at = page
        .find(&format!("id=\"{id}\"><b>"))
        .unwrap_or_else(|| panic!("no figure {id}"));
    let rest = &page[at + id.len() + 9..];
    rest[..rest.find("</b>").unwrap()].parse().unwrap()
}

/// The home page says what waits: to workers, the open and late cases they see and their
/// unread messages, the same numbers the API gives; to a resident, how to report and their
/// latest open reports.
#[tokio::test]
async fn the_home_page_shows_each_user_their_cases() {
    let app = support::spawn().await;
    let b = buildings(&app).await;
    let wangge = app.token("wangge").await;
    // One case late for sure: reported long ago, never accepted.
    let old = report(
        &app,
        &wangge,
        json!({"category": "illegal_parking", "description": "车辆长期占用消防通道", "place_id": b[0]}),
    )
    .await["case"]["id"]
        .as_i64()
        .unwrap();
    app.exec(
        "UPDATE cases SET due_at = 1, warn_at = 1 WHERE id = $1",
        linli::params![old],
    )
    .await;
    for user in ["admin", "wangge", "bumen"] {
        let token = app.token(user).await;
        let (_, open) = app
            .get_json(&token, "/api/v1/cases?state=open&limit=500")
            .await;
        let (_, late) = app
            .get_json(&token, "/api/v1/cases?state=open&late=true&limit=500")
            .await;
        let (_, inbox) = app.get_json(&token, "/api/v1/inbox").await;
        let unread = inbox
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["read"] == false)
            .count() as i64;
        let (browser, _) = app.login_page(user, PASSWORD).await;
        let page = app.page(&browser, "/").await;
        let n = |v: &Value| v.as_array().unwrap().len() as i64;
        assert_eq!(home_figure(&page, "home-open"), n(&open), "{user}: open");
        assert_eq!(home_figure(&page, "home-late"), n(&late), "{user}: late");
        assert_eq!(home_figure(&page, "home-unread"), unread, "{user}: unread");
        assert!(!page.contains("id=\"home-report\""), "{user}");
        if user != "bumen" {
            assert!(n(&late) >= 1, "{user} sees the late case");
        }
    }
    // A resident: the way to report, then their open reports, the first three of the list.
    let jumin = app.token("jumin").await;
    let mine = "/api/v1/cases?state=open,closed&mine=true&limit=500";
    let (browser, _) = app.login_page("jumin", PASSWORD).await;
    let page = app.page(&browser, "/").await;
    assert!(page.contains("href=\"/cases/new\" id=\"home-report\""));
    let (_, before) = app.get_json(&jumin, mine).await;
    assert_eq!(
        page.contains("您还没有未办结的上报"),
        before.as_array().unwrap().is_empty()
    );
    for text in ["楼道灯不亮", "垃圾没人清运", "井盖松动", "健身器材损坏"] {
        report(
            &app,
            &jumin,
            json!({"category": "facility_repair", "description": text, "place_id": b[1],
                   "extra": {"facility": "路灯"}}),
        )
        .await;
    }
    let (_, open) = app.get_json(&jumin, mine).await;
    let open = open.as_array().unwrap();
    assert!(open.len() >= 4);
    let page = app.page(&browser, "/").await;
    for (i, c) in open.iter().enumerate() {
        let listed = page.contains(&format!("href=\"/cases/{}\"", c["id"]));
        assert_eq!(listed, i < 3, "report {} (#{i} of the list)", c["id"]);
    }
    assert!(!page.contains("您还没有未办结的上报"));
    // A closed report waits for its reporter's rating: on the home page, asked for, and on
    // "my reports" under the finished tab, not the open one.
    let done = open[0]["id"].as_i64().unwrap();
    app.exec(
        "UPDATE cases SET state = 'closed' WHERE id = $1",
        linli::params![done],
    )
    .await;
    let page = app.page(&browser, "/").await;
    let item = &page[page
        .find(&format!("href=\"/cases/{done}\""))
        .expect("still listed")..];
    assert!(item[..item.find("</li>").unwrap()].contains("请评价"));
    let list = app.page(&browser, "/cases").await;
    assert!(!list.contains(&format!("href=\"/cases/{done}\"")));
    assert!(
        list.contains("/cases?state=closed,rated,merged,rejected"),
        "the finished tab"
    );
    let list = app
        .page(&browser, "/cases?state=closed,rated,merged,rejected")
        .await;
    let item = &list[list
        .find(&format!("href=\"/cases/{done}\""))
        .expect("finished")..];
    assert!(item[..item.find("</li>").unwrap()].contains("请评价"));
    assert!(
        !page.contains("id=\"home-open\""),
        "no worker figures for a resident"
    );
}

/// Sends the report form and expects it back refused (422); its page.
async fn refused_report(b: &reqwest::Client, url: String, form: &[(&str, &str)]) -> String {
    let r = b.post(url).form(form).send().await.unwrap();
    assert_eq!(r.status(), 422);
    r.text().await.unwrap()
}

#[tokio::test]
async fn demo_accounts_reach_the_case_pages() {
    let app = support::spawn().await;
    let (b, _) = app.login_page("jumin", PASSWORD).await;
    let page = app.page(&b, "/cases").await;
    assert!(page.contains("id=\"case-list\""), "{page}");
    let form = app.page(&b, "/cases/new").await;
    let csrf = extract_input(&form, "csrf").unwrap();
    let bl = buildings(&app).await;
    let r = b
        .post(app.url("/cases/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("category", "noise"),
            ("description", "夜里楼下烧烤摊很吵"),
            ("place_id", &bl[0].to_string()),
            ("extra.source", "商铺"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let page = app.page(&b, &loc).await;
    assert!(
        page.contains("夜里楼下烧烤摊很吵") && page.contains("id=\"timeline\""),
        "{page}"
    );
    // A bad form comes back with the reason, and loses nothing typed.
    let page = refused_report(
        &b,
        app.url("/cases/new"),
        &[
            ("csrf", csrf.as_str()),
            ("category", "noise"),
            ("description", "很吵很吵"),
            ("place_id", ""),
        ],
    )
    .await;
    assert!(
        page.contains("请选择地点") && page.contains("很吵很吵"),
        "{page}"
    );
    // Photos go with the report (multipart): checked before the case is opened, stored with
    // it, their location kept only when ticked; a bad one sends the form back with the reason
    // and opens no case.
    let multipart = |photos: Vec<Vec<u8>>, description: &'static str| {
        let mut f = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("category", "noise")
            .text("description", description)
            .text("place_id", bl[0].to_string())
            .text("share_location", "1");
        for p in photos {
            f = f.part(
                "photo",
                reqwest::multipart::Part::bytes(p).file_name("p.jpg"),
            );
        }
        // What a browser sends for a file input left empty.
        f.part(
            "photo",
            reqwest::multipart::Part::bytes(Vec::new()).file_name(""),
        )
    };
    let r = b
        .post(app.url("/cases/new"))
        .multipart(multipart(vec![jpeg_with_gps()], "垃圾桶满了没人清"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let loc_photo = r.headers()["location"].to_str().unwrap();
    assert!(loc_photo.ends_with("?done=report"), "{loc_photo}");
    let id: i64 = loc_photo["/cases/".len()..loc_photo.find('?').unwrap()]
        .parse()
        .unwrap();
    let photos = app
        .db
        .read(move |c| {
            Ok(c.query(
                "SELECT lat, content_type FROM case_photos WHERE case_id = $1",
                linli::params![id],
            )?
            .into_iter()
            .map(|r| (r.opt_f64(0), r.str(1)))
            .collect::<Vec<_>>())
        })
        .await
        .unwrap();
    assert_eq!(photos.len(), 1, "{photos:?}");
    assert_eq!(photos[0].1, "image/jpeg");
    assert!(
        (photos[0].0.unwrap() - 31.2).abs() < 1e-6,
        "location kept when ticked"
    );
    let cases_before = app.query_i64("SELECT COUNT(*) FROM cases").await;
    for (photos, needle) in [
        (vec![b"GIF89a\x01\x00\x01\x00".to_vec()], "JPEG"),
        (vec![jpeg_with_gps(); 4], "最多附 3 张"),
    ] {
        let r = b
            .post(app.url("/cases/new"))
            .multipart(multipart(photos, "楼道灯坏了好几天"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let page = r.text().await.unwrap();
        assert!(
            page.contains(needle)
                && page.contains("照片请重新选择")
                && page.contains("楼道灯坏了好几天"),
            "{page}"
        );
    }
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM cases").await,
        cases_before,
        "no case without its photos"
    );
    // With a category chosen, the form carries the street's map to mark a spot on.
    let form = app.page(&b, "/cases/new?category=noise").await;
    assert!(
        form.contains(r#"class="map pick""#) && form.contains(r#"id="pick-mark""#),
        "{form}"
    );
    // A spot typed that is not a pair of numbers is said, and what was typed stays.
    let page = refused_report(
        &b,
        app.url("/cases/new"),
        &[
            ("csrf", csrf.as_str()),
            ("category", "noise"),
            ("description", "很吵很吵"),
            ("lat", "31.2x"),
            ("lon", "121.5"),
        ],
    )
    .await;
    assert!(
        page.contains("同时填写") && page.contains(r#"value="31.2x""#),
        "{page}"
    );
    // The dispatcher's screen, the map and the figures.
    let (a, _) = app.login_page("admin", PASSWORD).await;
    for (path, needle) in [
        ("/cases?state=new", "case-list"),
        ("/cases/map", "<svg"),
        ("/cases/figures", "id=\"figures\""),
        ("/inbox", "id=\"inbox\""),
    ] {
        let r = a.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let t = r.text().await.unwrap();
        assert!(t.contains(needle), "{path}: {t}");
    }
    // On the map, late cases stand out: one larger red dot for each late open case.
    let late = app
        .query_i64(
            "SELECT COUNT(*) FROM cases WHERE late = 1 AND lat IS NOT NULL \
             AND state NOT IN ('closed', 'rated', 'merged', 'rejected')",
        )
        .await;
    let map = app.page(&a, "/cases/map").await;
    assert!(late > 0, "the sample cases include late ones");
    assert_eq!(
        map.matches(r#"class="case late""#).count() as i64,
        late,
        "{map}"
    );
    assert!(map.contains(r#"class="case""#) && map.contains("id=\"case-map-legend\""));
    // The catalogue: the administrator changes a deadline; a bad value is refused with a reason.
    let page = app.page(&a, "/cases/catalogue").await;
    assert!(
        page.contains("id=\"catalogue\"") && page.contains("国庆节"),
        "{page}"
    );
    let csrf = extract_input(&page, "csrf").unwrap();
    let form = |h: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("accept_hours", "3".to_string()),
            ("resolve_hours", h.to_string()),
            ("priority", "1".into()),
            ("dup_radius_m", "60".into()),
            ("verify_required", "1".into()),
        ]
    };
    let r = a
        .post(app.url("/cases/catalogue/noise"))
        .form(&form("12"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let admin = app.token("admin").await;
    let (_, cats) = app.get_json(&admin, "/api/v1/case-categories").await;
    let noise = cats
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["code"] == "noise")
        .unwrap()
        .clone();
    assert_eq!(
        (
            noise["accept_hours"].as_i64(),
            noise["resolve_hours"].as_i64(),
            noise["public"].as_bool()
        ),
        (Some(3), Some(12), Some(false))
    );
    let r = a
        .post(app.url("/cases/catalogue/noise"))
        .form(&form("0"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("工作小时"));
    // With the resident's own CSRF token, so the refusal is the role's, not the token's.
    let jpage = app.page(&b, "/cases/new").await;
    let mut jform = form("12");
    jform[0].1 = extract_input(&jpage, "csrf").unwrap();
    let r = b
        .post(app.url("/cases/catalogue/noise"))
        .form(&jform)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "residents may not change the catalogue");
    assert!(!r.text().await.unwrap().contains("表单已过期"));
    // An action through the case page's form.
    let id: i64 = loc
        .trim_start_matches("/cases/")
        .trim_end_matches("?done=report")
        .parse()
        .unwrap();
    let page = app.page(&a, &loc).await;
    assert!(page.contains("value=\"accept\""), "{page}");
    let csrf = extract_input(&page, "csrf").unwrap();
    let r = a
        .post(app.url(&format!("/cases/{id}/step")))
        .form(&[("csrf", csrf.as_str()), ("action", "accept"), ("note", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = a
        .post(app.url(&format!("/cases/{id}/step")))
        .form(&[("csrf", csrf.as_str()), ("action", "accept"), ("note", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("已受理"));
}

/// Issue 19 item 15 (part): a department sees the case map of the places it serves, with its
/// own cases only; a resident has no case map.
#[tokio::test]
async fn a_department_sees_the_case_map_of_its_places() {
    let app = support::spawn().await;
    let (b, _) = app.login_page("bumen", PASSWORD).await;
    let r = b.get(app.url("/cases/map")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let map = r.text().await.unwrap();
    let bumen = app
        .query_i64("SELECT id FROM users WHERE username = 'bumen'")
        .await;
    // One mark per building where it has open cases, each linking to that building's queue.
    let places: Vec<i64> = map
        .match_indices("/cases?state=open&#38;place=")
        .filter_map(|(i, _)| {
            let rest = &map[i + 28..];
            rest[..rest.find(|ch: char| !ch.is_ascii_digit())?]
                .parse()
                .ok()
        })
        .collect();
    assert!(
        !places.is_empty(),
        "the demo's department has open cases on its map"
    );
    let (ours, buildings) = app
        .db
        .read(move |c| {
            let org = "SELECT org_id FROM user_roles WHERE user_id = $1";
            let ours = c.query_i64(
                &format!(
                    "SELECT COUNT(*) FROM cases WHERE handler_org_id IN ({org}) \
                     AND state NOT IN ('closed', 'rated', 'merged', 'rejected')"
                ),
                linli::params![bumen],
            )?;
            let buildings: Vec<i64> = c
                .query(
                    &format!(
                        "SELECT DISTINCT COALESCE(building_id, place_id) FROM cases \
                         WHERE handler_org_id IN ({org}) \
                         AND state NOT IN ('closed', 'rated', 'merged', 'rejected')"
                    ),
                    linli::params![bumen],
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect();
            Ok((ours, buildings))
        })
        .await
        .unwrap();
    for p in &places {
        assert!(
            buildings.contains(p),
            "place {p} on the department's map holds a case it handles"
        );
    }
    assert!(
        map.contains(&format!("<small>{ours}</small>")),
        "the map counts the department's {ours} open cases"
    );
    assert!(
        map.contains("<svg") || map.contains("class=\"empty\""),
        "{map}"
    );
    let (j, _) = app.login_page("jumin", PASSWORD).await;
    let r = j.get(app.url("/cases/map")).send().await.unwrap();
    assert_eq!(r.status(), 403);
}
