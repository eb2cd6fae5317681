//! Scope is enforced where data is read: a grid worker cannot reach a household of another
//! grid through any route, page or API.

use crate::support::{self, PASSWORD};
use serde_json::Value;

/// A household inside the grid worker's grid and one outside it, with their units.
async fn two_households(app: &support::TestApp) -> ((i64, i64), (i64, i64), String) {
    let grid = crate::support::place_of(app, "wangge").await;
    let g = grid.clone();
    let (inside, outside) = app
        .db
        .read(move |c| {
            let rows = c.query(
                "SELECT id, unit_id, place_path FROM households ORDER BY id",
                &[],
            )?;
            let inside = rows
                .iter()
                .find(|r| r.str(2).starts_with(&format!("{g}/")))
                .map(|r| (r.i64(0), r.i64(1)))
                .unwrap();
            let outside = rows
                .iter()
                .find(|r| !r.str(2).starts_with(&format!("{g}/")))
                .map(|r| (r.i64(0), r.i64(1)))
                .unwrap();
            Ok((inside, outside))
        })
        .await
        .unwrap();
    (inside, outside, grid)
}

#[tokio::test]
async fn grid_worker_cannot_read_another_grid() {
    let app = support::spawn().await;
    let ((h_in, u_in), (h_out, u_out), grid) = two_households(&app).await;
    let tok = app.token("wangge").await;

    // API: household detail, place detail, place list.
    let (s, v) = app
        .get_json(&tok, &format!("/api/v1/households/{h_in}"))
        .await;
    assert_eq!(s, 200);
    assert!(!v["members"].as_array().unwrap().is_empty());
    let (s, v) = app
        .get_json(&tok, &format!("/api/v1/households/{h_out}"))
        .await;
    assert_eq!(s, 404, "{v}");
    assert_eq!(v["error"]["code"], "not_found");
    let (s, _) = app.get_json(&tok, &format!("/api/v1/places/{u_in}")).await;
    assert_eq!(s, 200);
    let (s, _) = app.get_json(&tok, &format!("/api/v1/places/{u_out}")).await;
    assert_eq!(s, 404);
    let (_, list) = app.get_json(&tok, "/api/v1/places?limit=1000").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(
        items[0]["path"],
        grid.as_str(),
        "her grid first, then what is under it"
    );
    assert!(
        items
            .iter()
            .all(|p| p["path"].as_str().unwrap().starts_with(grid.as_str()))
    );
    assert!(items.iter().all(|p| p["id"] != u_out));
    let street_path = grid.rsplitn(3, '/').nth(2).unwrap().to_string();
    let (_, list) = app
        .get_json(
            &tok,
            &format!("/api/v1/places?under={street_path}&limit=1000"),
        )
        .await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["path"].as_str().unwrap().starts_with(grid.as_str()))
    );

    // Pages: household, unit, the street above her.
    let (b, _) = app.login_page("wangge", PASSWORD).await;
    let r = b
        .get(app.url(&format!("/households/{h_in}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = b
        .get(app.url(&format!("/households/{h_out}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = b
        .get(app.url(&format!("/places/{u_out}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let street_id = app
        .db
        .read(|c| c.query_i64("SELECT id FROM places WHERE kind = 'street'", &[]))
        .await
        .unwrap();
    let r = b
        .get(app.url(&format!("/places/{street_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = b
        .get(app.url(&format!("/places/{u_in}")))
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("/households/{h_in}")),
        "her unit lists its household"
    );
}

#[tokio::test]
async fn personal_fields_are_masked_and_encrypted() {
    let app = support::spawn().await;
    let ((h_in, _), _, _) = two_households(&app).await;
    let tok = app.token("wangge").await;
    let (_, v) = app
        .get_json(&tok, &format!("/api/v1/households/{h_in}"))
        .await;
    for m in v["members"].as_array().unwrap() {
        let id = m["id_number_masked"].as_str().unwrap();
        assert_eq!(id.len(), 18);
        assert_eq!(
            &id[6..14],
            "********",
            "the birth date is never shown: {id}"
        );
        if let Some(p) = m["phone_masked"].as_str() {
            assert_eq!(&p[3..7], "****", "{p}");
        }
    }
    // At rest the ID number is ciphertext, found through its blind index.
    let row = app
        .db
        .read(|c| c.query_one("SELECT id_number_enc, id_number_bidx, id_number_masked FROM persons ORDER BY id LIMIT 1", &[]))
        .await
        .unwrap();
    let blob = row.blob(0).unwrap();
    let plain = app.state.keys.decrypt(&blob).unwrap();
    assert!(linli::registry::idnum::IdNumber::parse(&plain).is_ok());
    assert!(!String::from_utf8_lossy(&blob).contains(&plain[..10]));
    assert_eq!(row.str(1), app.state.keys.blind_index("id_number", &plain));
    let dump = serde_json::to_string(&v).unwrap();
    assert!(!dump.contains(&plain), "no full ID number leaves the API");
    // The page shows the same masked values.
    let (b, _) = app.login_page("wangge", PASSWORD).await;
    let html = b
        .get(app.url(&format!("/households/{h_in}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for m in v["members"].as_array().unwrap() {
        assert!(html.contains(m["id_number_masked"].as_str().unwrap()));
    }
    let longest = html
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(longest < 11, "no full ID or phone number on the page");
}

#[tokio::test]
async fn others_see_only_their_part() {
    let app = support::spawn().await;
    let ((h_in, _), (h_out, _), _) = two_households(&app).await;
    // The resident reads her own household and no other.
    let jumin = app.token("jumin").await;
    let own = app
        .db
        .read(|c| c.query_i64("SELECT p.household_id FROM users u JOIN persons p ON p.id = u.person_id WHERE u.username = 'jumin'", &[]))
        .await
        .unwrap();
    let (s, _) = app
        .get_json(&jumin, &format!("/api/v1/households/{own}"))
        .await;
    assert_eq!(s, 200);
    for other in [h_in, h_out] {
        if other != own {
            let (s, _) = app
                .get_json(&jumin, &format!("/api/v1/households/{other}"))
                .await;
            assert_eq!(s, 404);
        }
    }
    let (_, v) = app.get_json(&jumin, "/api/v1/places?with_total=true").await;
    assert_eq!(v["total"], 0, "residents do not browse the hierarchy");
    // Departments and property companies see the places they serve, but no one's record.
    for user in ["bumen", "wuye", "zhiyuan"] {
        let tok = app.token(user).await;
        for h in [h_in, h_out] {
            let (s, _) = app.get_json(&tok, &format!("/api/v1/households/{h}")).await;
            assert_eq!(s, 404, "{user} cannot read households");
        }
    }
    let wuye = app.token("wuye").await;
    let (_, v): (u16, Value) = app
        .get_json(&wuye, "/api/v1/places?kind=community&with_total=true")
        .await;
    assert!(v["total"].as_i64().unwrap() >= 1);
    // The community worker reads both grids of her community but not the other community.
    let shegong = app.token("shegong").await;
    let (s, _) = app
        .get_json(&shegong, &format!("/api/v1/households/{h_in}"))
        .await;
    assert_eq!(s, 200);
    let admin = app.token("admin").await;
    let (s, _) = app
        .get_json(&admin, &format!("/api/v1/households/{h_out}"))
        .await;
    assert_eq!(s, 200, "the street administrator reads the whole street");
}

#[tokio::test]
async fn person_search_by_name_id_and_phone_within_scope() {
    let app = support::spawn().await;
    let ((h_in, _), (h_out, _), _) = two_households(&app).await;
    let keys = app.state.keys.clone();
    let row = |h: i64| {
        app.db.read(move |c| {
            c.query_one(
                "SELECT id, name, id_number_enc, phone_enc FROM persons WHERE household_id = $1 AND phone_enc IS NOT NULL ORDER BY id LIMIT 1",
                linli::params![h],
            )
        })
    };
    let inside = row(h_in).await.unwrap();
    let outside = row(h_out).await.unwrap();
    let id_in = keys.decrypt(&inside.blob(2).unwrap()).unwrap();
    let phone_in = keys.decrypt(&inside.blob(3).unwrap()).unwrap();
    let id_out = keys.decrypt(&outside.blob(2).unwrap()).unwrap();
    let tok = app.token("wangge").await;
    let find = |q: String| {
        let app = &app;
        let tok = tok.clone();
        async move {
            let q: String = form_urlencoded_encode(&q);
            app.get_json(&tok, &format!("/api/v1/persons?q={q}")).await
        }
    };
    // Exact ID number, even typed with full-width digits and spaces; exact phone with +86.
    let (s, v) = find(id_in.clone()).await;
    assert_eq!(s, 200);
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["items"][0]["id"], inside.i64(0));
    let fullwidth: String = id_in
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap()
            } else {
                c
            }
        })
        .collect();
    let (_, v) = find(format!(" {fullwidth} ")).await;
    assert_eq!(v["items"][0]["id"], inside.i64(0));
    let (_, v) = find(format!("+86 {phone_in}")).await;
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == inside.i64(0))
    );
    // A name part finds her; an ID from another grid finds nothing.
    let given: String = inside.str(1).chars().skip(1).collect();
    let (_, v) = find(given).await;
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == inside.i64(0))
    );
    let (_, v) = find(id_out).await;
    assert!(
        v["items"].as_array().unwrap().is_empty(),
        "outside the grid: {v}"
    );
    // Filters: every 60+ result is 60+, every tagged result has the tag.
    let (_, v) = app
        .get_json(&tok, "/api/v1/persons?age_min=60&limit=200")
        .await;
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["age"].as_i64().unwrap() >= 60)
    );
    let (_, v) = app
        .get_json(&tok, "/api/v1/persons?tag=elderly_alone&limit=200")
        .await;
    for p in v["items"].as_array().unwrap() {
        let (_, d) = app
            .get_json(&tok, &format!("/api/v1/persons/{}", p["id"]))
            .await;
        assert!(
            d["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["tag"] == "elderly_alone")
        );
    }
    let (s, _) = app.get_json(&tok, "/api/v1/persons?limit=0").await;
    assert_eq!(s, 400);
    // Person detail outside the grid: 404 and a logged denial.
    let (s, _) = app
        .get_json(&tok, &format!("/api/v1/persons/{}", outside.i64(0)))
        .await;
    assert_eq!(s, 404);
    // Departments cannot search the registry.
    let bumen = app.token("bumen").await;
    let (s, _) = app.get_json(&bumen, "/api/v1/persons?q=王").await;
    assert_eq!(s, 403);
}

fn form_urlencoded_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
