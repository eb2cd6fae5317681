//! The emergency roster (issue 23 part 3): drawn live from the registry's tags (a tag given
//! puts a person on, a tag ended takes her off), masked on screen, helpers with phones revealed
//! only with a purpose, a printable sheet per building that never carries an ID number,
//! scoped and audited.

use serde_json::{Value, json};

use crate::support::{self, TestApp};
use crate::visits::{get, message, post, send};

/// A building of wangge's grid with people on the roster, and one of them with a helper.
async fn building_with_roster(app: &TestApp, token: &str) -> i64 {
    let (s, list) = get(app, token, "/api/v1/roster").await;
    assert_eq!(s, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .find(|b| b["persons"].as_i64().unwrap() > b["without_helper"].as_i64().unwrap())
        .expect("a building whose roster has a helper (the demo's)")["building_id"]
        .as_i64()
        .unwrap()
}

/// Whether `text` holds something shaped like a resident ID number (GB 11643: 17 digits and
/// a digit or X).
fn has_id_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut run = 0;
    for (i, c) in b.iter().enumerate() {
        if c.is_ascii_digit() {
            run += 1;
            if run >= 17 {
                return true;
            }
        } else {
            if run == 17 && (*c == b'X' || *c == b'x') && i > 0 {
                return true;
            }
            run = 0;
        }
    }
    false
}

/// The ID numbers of the persons on a sheet, decrypted, to look for them in what is printed.
async fn id_numbers(app: &TestApp, sheet: &Value) -> Vec<String> {
    let ids: Vec<i64> = sheet["persons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["person_id"].as_i64().unwrap())
        .collect();
    let mut out = Vec::new();
    for id in ids {
        let blob = app
            .db
            .read(move |c| {
                c.query_one(
                    "SELECT id_number_enc FROM persons WHERE id = $1",
                    linli::params![id],
                )
            })
            .await
            .unwrap()
            .blob(0);
        if let Some(b) = blob
            && let Some(n) = app.state.keys.decrypt(&b)
        {
            out.push(n);
        }
    }
    out
}

#[tokio::test]
async fn the_roster_is_masked_printed_without_id_numbers_and_audited() {
    let app = support::spawn().await;
    let w = app.token("wangge").await;
    let b = building_with_roster(&app, &w).await;
    let (s, sheet) = get(&app, &w, &format!("/api/v1/roster/buildings/{b}")).await;
    assert_eq!(s, 200, "{sheet}");
    let persons = sheet["persons"].as_array().unwrap();
    assert!(!persons.is_empty());
    for p in persons {
        assert!(p["name"].as_str().unwrap().contains('*'), "masked: {p}");
        assert!(!p["needs"].as_array().unwrap().is_empty(), "{p}");
        for h in p["helpers"].as_array().unwrap() {
            assert!(h["phone"].as_str().unwrap().contains("****"), "{h}");
            assert!(h["name"].as_str().unwrap().contains('*'), "{h}");
        }
    }
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "list");
    assert_eq!(
        e["subjects"].as_array().unwrap().len(),
        persons.len(),
        "every person on it: {e}"
    );

    // The sheet for a power cut: asked with a purpose, whole names and phones, no ID number.
    let (s, e) = post(
        &app,
        &w,
        &format!("/api/v1/roster/buildings/{b}/print"),
        json!({"purpose": "because"}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    let (s, e) = send(
        &app,
        &w,
        "POST",
        &format!("/api/v1/roster/buildings/{b}/print"),
        Some(json!({"purpose": "other"})),
        "en",
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert!(!message(&e).is_empty());
    let (s, whole) = post(
        &app,
        &w,
        &format!("/api/v1/roster/buildings/{b}/print"),
        json!({"purpose": "emergency", "note": "3号楼停电"}),
    )
    .await;
    assert_eq!(s, 200, "{whole}");
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "export");
    assert_eq!(e["subjects"].as_array().unwrap().len(), persons.len());
    let text = whole.to_string();
    assert!(!has_id_number(&text), "no ID number in the export: {text}");
    let numbers = id_numbers(&app, &whole).await;
    assert!(!numbers.is_empty(), "the demo persons have ID numbers");
    for n in &numbers {
        assert!(!text.contains(n.as_str()));
    }
    assert!(
        whole["persons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["helpers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| !h["phone"].as_str().unwrap().contains('*'))),
        "helpers' phones whole on the sheet"
    );

    // The printed page: whole names, no ID numbers.
    let (br, _) = app.login_page("wangge", support::PASSWORD).await;
    let ask = app.page(&br, &format!("/roster/buildings/{b}/print")).await;
    let csrf = support::extract_input(&ask, "csrf").expect("csrf");
    let r = br
        .post(app.url(&format!("/roster/buildings/{b}/print")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("purpose", "emergency"),
            ("note", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("roster-sheet"), "{html}");
    let first = whole["persons"][0]["name"].as_str().unwrap();
    assert!(html.contains(first), "whole names on paper");
    assert!(!has_id_number(&html), "no ID number on the printed sheet");
    for n in &numbers {
        assert!(!html.contains(n.as_str()));
    }
    // The building's page on screen is masked.
    let page = app.page(&br, &format!("/roster/buildings/{b}")).await;
    assert!(!page.contains(first) && !has_id_number(&page));

    // Outside her grid: 404; other roles: 403.
    let outside = {
        let grid = support::place_of(&app, "wangge").await;
        app.db
            .read(move |c| {
                c.query_i64(
                    "SELECT MIN(id) FROM places WHERE kind = 'building' AND path NOT LIKE $1",
                    linli::params![format!("{grid}/%")],
                )
            })
            .await
            .unwrap()
    };
    assert_eq!(
        get(&app, &w, &format!("/api/v1/roster/buildings/{outside}"))
            .await
            .0,
        404
    );
    for who in ["bumen", "jumin", "wuye"] {
        let t = app.token(who).await;
        assert_eq!(get(&app, &t, "/api/v1/roster").await.0, 403, "{who}");
        assert_eq!(
            get(&app, &t, &format!("/api/v1/roster/buildings/{b}"))
                .await
                .0,
            403,
            "{who}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn helpers_are_added_revealed_with_a_purpose_and_the_roster_follows_tags() {
    let app = support::spawn().await;
    let w = app.token("wangge").await;
    let grid = support::place_of(&app, "wangge").await;
    // Someone of the grid on no roster tag yet, in a building of the grid.
    let g = grid.clone();
    let (person, building) = app
        .db
        .read(move |c| {
            let r = c.query_one(
                "SELECT p.id, u.parent_id FROM persons p JOIN places u ON u.id = p.unit_id \
                 WHERE p.place_path LIKE $1 AND p.residence <> 'left' AND NOT EXISTS \
                 (SELECT 1 FROM person_tags t WHERE t.person_id = p.id AND t.tag IN \
                 ('elderly_alone', 'disabled', 'bed_bound', 'dialysis', 'oxygen')) ORDER BY p.id LIMIT 1",
                linli::params![format!("{g}/%")],
            )?;
            Ok((r.i64(0), r.i64(1)))
        })
        .await
        .unwrap();
    let on = |sheet: &Value| {
        sheet["persons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["person_id"] == person)
    };
    let (_, sheet) = get(&app, &w, &format!("/api/v1/roster/buildings/{building}")).await;
    assert!(!on(&sheet));
    // Not on the roster: no helper for her.
    let helper =
        json!({"name": "王建国", "relation": "family", "phone": "13912345678", "reach": "儿子"});
    assert_eq!(
        post(
            &app,
            &w,
            &format!("/api/v1/roster/persons/{person}/helpers"),
            helper.clone()
        )
        .await
        .0,
        404
    );

    // The registry gives her a tag: she is on it at once, with the tag's name as her need.
    let (s, v) = post(
        &app,
        &w,
        &format!("/api/v1/persons/{person}/tags"),
        json!({"tag": "dialysis", "valid_from": "2025-01-01"}),
    )
    .await;
    assert!(s == 200 || s == 201, "{s} {v}");
    let (_, sheet) = get(&app, &w, &format!("/api/v1/roster/buildings/{building}")).await;
    assert!(on(&sheet), "on the roster after the tag: {sheet}");
    let me = sheet["persons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["person_id"] == person)
        .unwrap()
        .clone();
    assert_eq!(me["needs"], json!(["透析"]));

    // Helpers: bad input in both languages, then one added, shown masked.
    for (body, zh, en) in [
        (
            json!({"name": "王建国", "relation": "family", "phone": "12345"}),
            "电话号码不正确",
            "phone number is not valid",
        ),
        (
            json!({"name": "", "relation": "family", "phone": "13912345678"}),
            "帮扶人姓名",
            "helper's name",
        ),
        (
            json!({"name": "王建国", "relation": "boss", "phone": "13912345678"}),
            "家属、邻居",
            "family, neighbour",
        ),
    ] {
        let path = format!("/api/v1/roster/persons/{person}/helpers");
        let (s, e) = send(&app, &w, "POST", &path, Some(body.clone()), "zh-CN").await;
        assert_eq!(s, 422, "{body} {e}");
        assert!(message(&e).contains(zh), "{e}");
        let (_, e) = send(&app, &w, "POST", &path, Some(body), "en").await;
        assert!(message(&e).contains(en), "{e}");
    }
    let (s, v) = post(
        &app,
        &w,
        &format!("/api/v1/roster/persons/{person}/helpers"),
        helper,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let hid = v["id"].as_i64().unwrap();
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "change");
    assert!(
        e["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| *s == format!("person:{person}"))
    );
    let (_, sheet) = get(&app, &w, &format!("/api/v1/roster/buildings/{building}")).await;
    let me = sheet["persons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["person_id"] == person)
        .unwrap()
        .clone();
    assert_eq!(me["helpers"][0]["phone"], "139****5678");
    assert_eq!(me["helpers"][0]["name"], "王**");
    assert!(!sheet.to_string().contains("13912345678"));

    // Revealed with a purpose only, and audited as a reveal under her.
    let path = format!("/api/v1/roster/helpers/{hid}/reveal");
    let (s, e) = post(&app, &w, &path, json!({"purpose": "other"})).await;
    assert_eq!(s, 422, "{e}");
    let (s, r) = post(
        &app,
        &w,
        &path,
        json!({"purpose": "emergency", "note": "停电联系家属"}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["phone"], "13912345678");
    assert_eq!(r["name"], "王建国");
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "reveal");
    assert!(
        e["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| *s == format!("person:{person}"))
    );
    assert!(
        !e.to_string().contains("13912345678"),
        "the phone is not in the log"
    );
    for who in ["bumen", "jumin"] {
        let t = app.token(who).await;
        assert_eq!(
            post(&app, &t, &path, json!({"purpose": "emergency"}))
                .await
                .0,
            403,
            "{who}"
        );
    }

    // The tag ends: she is off the roster (her helper stays for when she returns).
    let c = app.client();
    let r = c
        .delete(app.url(&format!("/api/v1/persons/{person}/tags/dialysis")))
        .bearer_auth(&w)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let (_, sheet) = get(&app, &w, &format!("/api/v1/roster/buildings/{building}")).await;
    assert!(!on(&sheet), "off the roster once the tag ended");

    // Removing a helper: in scope only.
    assert_eq!(
        post(
            &app,
            &w,
            &format!("/api/v1/roster/helpers/{hid}/remove"),
            json!({})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        post(
            &app,
            &w,
            &format!("/api/v1/roster/helpers/{hid}/remove"),
            json!({})
        )
        .await
        .0,
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn a_helpers_phone_is_revealed_on_the_building_page_with_a_purpose() {
    let app = support::spawn().await;
    let w = app.token("wangge").await;
    let b = building_with_roster(&app, &w).await;
    let (_, sheet) = get(&app, &w, &format!("/api/v1/roster/buildings/{b}")).await;
    let h = sheet["persons"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|p| p["helpers"].as_array().and_then(|hs| hs.first()).cloned())
        .expect("a helper");
    let hid = h["id"].as_i64().unwrap();
    let (browser, _) = app.login_page("wangge", support::PASSWORD).await;
    let page = app.page(&browser, &format!("/roster/buildings/{b}")).await;
    assert!(page.contains(&format!("/roster/helpers/{hid}/reveal")));
    assert!(!page.contains(&format!("helper-tel-{hid}")));
    let csrf = support::extract_input(&page, "csrf").expect("csrf");
    let reveals = "SELECT COUNT(*) FROM audit_entries WHERE action = 'reveal'";
    let before = app.query_i64(reveals).await;
    let path = app.url(&format!("/roster/helpers/{hid}/reveal"));
    let bs = b.to_string();
    // Without a note for "other": refused on the page, nothing revealed.
    let r = browser
        .post(&path)
        .form(&[
            ("csrf", csrf.as_str()),
            ("building", bs.as_str()),
            ("purpose", "other"),
            ("note", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(
        !r.text()
            .await
            .unwrap()
            .contains(&format!("helper-tel-{hid}"))
    );
    assert_eq!(app.query_i64(reveals).await, before);
    let r = browser
        .post(&path)
        .form(&[
            ("csrf", csrf.as_str()),
            ("building", bs.as_str()),
            ("purpose", "emergency"),
            ("note", "停电"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains(&format!("helper-tel-{hid}")), "{page}");
    assert!(page.contains("href=\"tel:"));
    assert_eq!(
        app.query_i64(reveals).await,
        before + 1,
        "audited as a reveal"
    );
    // Another role cannot.
    let (other, _) = app.login_page("jumin", support::PASSWORD).await;
    let r = other
        .post(&path)
        .form(&[
            ("csrf", "x"),
            ("building", bs.as_str()),
            ("purpose", "emergency"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        r.status().as_u16() == 403 || r.status().as_u16() == 404,
        "{}",
        r.status()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_district_administrator_reads_the_roster_and_due_lists_as_a_street_administrator() {
    let app = support::spawn().await;
    let d = app
        .query_i64("SELECT id FROM places WHERE kind = 'district' ORDER BY id LIMIT 1")
        .await;
    app.db
        .write(move |c| {
            let u = linli::org::users::Username::parse("quadmin").unwrap();
            let hash = linli::org::users::hash_password(support::PASSWORD);
            let id = linli::org::users::create(
                c,
                linli::org::users::NewUser {
                    username: &u,
                    display_name: "区管理员",
                    password_hash: &hash,
                    street_id: Some(d),
                    person_id: None,
                    created_by: None,
                },
            )?;
            linli::org::users::add_grant(
                c,
                id,
                linli::org::Role::DistrictAdmin,
                Some(d),
                None,
                Some(d),
                None,
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let t = app.token("quadmin").await;
    let admin = app.token("admin").await;
    for p in [
        "/api/v1/roster",
        "/api/v1/visits/due?all=true",
        "/api/v1/visit-plans",
    ] {
        let (s, mine) = get(&app, &t, p).await;
        assert_eq!(s, 200, "{p}: {mine}");
        let (_, street) = get(&app, &admin, p).await;
        assert_eq!(
            mine, street,
            "{p}: the district administrator reads her street's"
        );
    }
    let (_, roster) = get(&app, &t, "/api/v1/roster").await;
    assert!(!roster.as_array().unwrap().is_empty());
    let (b, _) = app.login_page("quadmin", support::PASSWORD).await;
    for p in ["/roster", "/visits"] {
        let r = b.get(app.url(p)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{p}");
    }
    app.stop().await;
}
