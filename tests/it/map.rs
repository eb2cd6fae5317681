//! The street's map (issue 19 item 15), places by name (item 11) and a person's emergency
//! contact (item 4): what each answers, and to whom.

use serde_json::{Value, json};

use crate::support::{self, PASSWORD, TestApp};

/// An account of no street (as the cases tests make one).
async fn outsider(app: &TestApp) -> String {
    let hash = linli::org::users::hash_password(PASSWORD);
    app.db
        .write(move |c| {
            let name = linli::org::users::Username::parse("waidi").unwrap();
            linli::org::users::create(
                c,
                linli::org::users::NewUser {
                    username: &name,
                    display_name: "外地用户",
                    password_hash: &hash,
                    street_id: None,
                    person_id: None,
                    created_by: None,
                },
            )
        })
        .await
        .unwrap();
    app.token("waidi").await
}

/// (id, name, path, lat, lon) of the buildings under a path.
async fn buildings_under(app: &TestApp, path: String) -> Vec<(i64, String, String, String)> {
    app.db
        .read(move |c| {
            Ok(c.query(
                "SELECT id, name, path, COALESCE(address, '') FROM places WHERE kind = 'building' AND path LIKE $1 ORDER BY id",
                linli::params![format!("{path}/%")],
            )?
            .iter()
            .map(|r| (r.i64(0), r.str(1), r.str(2), r.str(3)))
            .collect())
        })
        .await
        .unwrap()
}

fn features(v: &Value) -> &Vec<Value> {
    v["features"].as_array().expect("a FeatureCollection")
}

#[tokio::test]
async fn the_street_layers_mark_her_building_and_name_no_one() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let (s, v) = app.get_json(&jumin, "/api/v1/map/layers").await;
    assert_eq!(s, 200, "{v}");
    let areas = features(&v["areas"]);
    assert!(
        areas
            .iter()
            .any(|f| f["properties"]["kind"] == "grid" && f["geometry"]["type"] == "Polygon")
    );
    let buildings = features(&v["buildings"]);
    assert!(!buildings.is_empty());
    let own: Vec<&Value> = buildings
        .iter()
        .filter(|f| f["properties"]["own"] == true)
        .collect();
    assert_eq!(own.len(), 1, "her own building, once");
    assert_eq!(own[0]["properties"]["id"], v["own_building"]);
    // Her building is the one her home is in.
    let home = app
        .db
        .read(|c| {
            c.query_i64(
                "SELECT b.id FROM users u JOIN persons p ON p.id = u.person_id \
                 JOIN places un ON un.id = p.unit_id JOIN places b ON b.id = un.parent_id \
                 WHERE u.username = 'jumin'",
                &[],
            )
        })
        .await
        .unwrap();
    assert_eq!(v["own_building"], home);
    assert!(
        v["roads"].is_null() && v["tiles"].is_null(),
        "none by default"
    );
    // No person's name in the layers.
    let names = app
        .db
        .read(|c| c.query("SELECT name FROM persons ORDER BY id LIMIT 200", &[]))
        .await
        .unwrap();
    let text = v.to_string();
    for r in names {
        let n = r.str(0);
        if n.chars().count() >= 2 {
            assert!(
                !features(&v["buildings"])
                    .iter()
                    .any(|f| f["properties"]["name"] == n.as_str()),
                "a person named on the map: {n}"
            );
        }
    }
    assert!(!text.contains("phone") && !text.contains("person"));
    // A worker sees the same street, without an own building.
    let wangge = app.token("wangge").await;
    let (s, w) = app.get_json(&wangge, "/api/v1/map/layers").await;
    assert_eq!(s, 200);
    assert!(w["own_building"].is_null());
    assert_eq!(features(&w["areas"]).len(), areas.len());
    // Unsigned: 401; an account of no street: 403, in her language.
    let r = app
        .client()
        .get(app.url("/api/v1/map/layers"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let other = outsider(&app).await;
    let (s, e) = app.get_json(&other, "/api/v1/map/layers").await;
    assert_eq!(s, 403, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("不属于任何街道"),
        "{e}"
    );
    // The map page, with the SVG map for a browser without script.
    let (b, _) = app.login_page("jumin", PASSWORD).await;
    let page = app.page(&b, "/map").await;
    assert!(page.contains("id=\"street-map\"") && page.contains("<svg"));
    assert!(page.contains("/static/leaflet/leaflet.js"));
    let (o, _) = app.login_page("waidi", PASSWORD).await;
    let r = o.get(app.url("/map")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    // The vendored library is served from the binary, with its licence beside it in the tree.
    let r = app
        .client()
        .get(app.url("/static/leaflet/leaflet.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Leaflet 1.9.4"));
    let r = app
        .client()
        .get(app.url("/static/leaflet/images/layers.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");
    let r = app
        .client()
        .get(app.url("/static/leaflet/images/nothing.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn a_point_is_placed_in_the_street_or_refused_in_her_language() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let (_, v) = app.get_json(&jumin, "/api/v1/map/layers").await;
    let b = features(&v["buildings"])
        .iter()
        .find(|f| f["geometry"]["type"] == "Point")
        .expect("a building drawn as a point")
        .clone();
    let (lon, lat) = (
        b["geometry"]["coordinates"][0].as_f64().unwrap(),
        b["geometry"]["coordinates"][1].as_f64().unwrap(),
    );
    let (s, at) = app
        .get_json(&jumin, &format!("/api/v1/map/locate?lat={lat}&lon={lon}"))
        .await;
    assert_eq!(s, 200, "{at}");
    assert_eq!(at["id"], b["properties"]["id"]);
    assert_eq!(at["kind"], "building");
    let (s, e) = app
        .get_json(&jumin, "/api/v1/map/locate?lat=39.9&lon=116.4")
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        e["error"]["message"],
        "所标位置不在本街道范围内，请重新选择。"
    );
    let r = app
        .client()
        .get(app.url("/api/v1/map/locate?lat=39.9&lon=116.4"))
        .bearer_auth(&jumin)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"].as_str().unwrap().contains("street"),
        "{e}"
    );
    let (s, _) = app
        .get_json(&jumin, "/api/v1/map/locate?lat=91&lon=0")
        .await;
    assert_eq!(s, 422);
    let (s, _) = app.get_json(&jumin, "/api/v1/map/locate?lat=x").await;
    assert_eq!(s, 400);
    let other = outsider(&app).await;
    let (s, _) = app
        .get_json(&other, &format!("/api/v1/map/locate?lat={lat}&lon={lon}"))
        .await;
    assert_eq!(s, 403);
    // A building is found by its address for the report form, with where it is.
    let addressed = buildings_under(&app, support::place_of(&app, "wangge").await)
        .await
        .into_iter()
        .find(|b| !b.3.is_empty())
        .expect("a building with an address");
    let q: String = form_urlencoded::byte_serialize(addressed.3.as_bytes()).collect();
    let (s, found) = app
        .get_json(&jumin, &format!("/api/v1/cases/places?q={q}"))
        .await;
    assert_eq!(s, 200);
    let hit = found
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == addressed.0)
        .unwrap_or_else(|| panic!("found by its address {}: {found}", addressed.3));
    assert_eq!(hit["address"], addressed.3.as_str());
    assert!(hit["lat"].is_f64() && hit["lon"].is_f64());
    app.stop().await;
}

#[tokio::test]
async fn roads_are_uploaded_by_the_street_administrator_only() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let roads = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "幸福路", "owner": "某人"},
         "geometry": {"type": "LineString", "coordinates": [[121.50, 31.20], [121.51, 31.21]]}}
    ]});
    let put = |token: String, body: Value| {
        let c = app.client();
        let url = app.url("/api/v1/map/roads");
        async move {
            c.put(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    for who in ["jumin", "wangge", "shegong", "bumen"] {
        let t = app.token(who).await;
        let r = put(t, roads.clone()).await;
        assert_eq!(r.status(), 403, "{who}");
    }
    let r = put(
        admin.clone(),
        json!({"type": "Point", "coordinates": [0, 0]}),
    )
    .await;
    assert_eq!(r.status(), 422);
    let bad = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "x"}, "geometry": {"type": "Point", "coordinates": [0, 0]}}]});
    let r = put(admin.clone(), bad).await;
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("LineString")
    );
    let r = put(admin.clone(), roads.clone()).await;
    assert_eq!(r.status(), 204);
    let jumin = app.token("jumin").await;
    let (_, v) = app.get_json(&jumin, "/api/v1/map/layers").await;
    let f = &features(&v["roads"])[0];
    assert_eq!(
        f["properties"],
        json!({"name": "幸福路"}),
        "only the name rides along"
    );
    let r = put(
        admin.clone(),
        json!({"type": "FeatureCollection", "features": []}),
    )
    .await;
    assert_eq!(r.status(), 204);
    let (_, v) = app.get_json(&jumin, "/api/v1/map/layers").await;
    assert!(v["roads"].is_null());
    app.stop().await;
}

#[tokio::test]
async fn a_street_tile_layer_is_off_by_default_and_allowed_when_configured() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let r = app
        .client()
        .get(app.url("/api/v1/map/layers"))
        .bearer_auth(&jumin)
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("img-src 'self' data:;"), "{csp}");
    app.stop().await;
    let app = support::spawn_with(support::Options {
        demo: true,
        configure: |cfg| {
            cfg.map_tile_url = Some("https://tiles.example.cn/{z}/{x}/{y}.png".into());
            cfg.map_tile_attribution = "© 示例地图".into();
        },
    })
    .await;
    let jumin = app.token("jumin").await;
    let r = app
        .client()
        .get(app.url("/api/v1/map/layers"))
        .bearer_auth(&jumin)
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("img-src 'self' data: https://tiles.example.cn;")
            && csp.contains("script-src 'self';"),
        "{csp}"
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["tiles"],
        json!({"url": "https://tiles.example.cn/{z}/{x}/{y}.png", "attribution": "© 示例地图"})
    );
    assert_eq!(
        linli::config::tile_origin("https://a.example:8443/t/{z}/{x}/{y}.png").as_deref(),
        Some("https://a.example:8443")
    );
    for bad in [
        "ftp://x/{z}/{x}/{y}",
        "https://x/tiles.png",
        "https://x/{z}/{x}/{y}.png'; script-src *",
        "https:///{z}/{x}/{y}",
    ] {
        assert_eq!(linli::config::tile_origin(bad), None, "{bad}");
    }
    app.stop().await;
}

#[tokio::test]
async fn places_are_picked_by_name_within_what_the_caller_may_act_on() {
    let app = support::spawn().await;
    let grid = support::place_of(&app, "wangge").await;
    let community = support::place_of(&app, "shegong").await;
    let mine = buildings_under(&app, grid.clone()).await;
    let (bid, bname, bpath, _) = mine[0].clone();
    // A building of the same community outside her grid.
    let elsewhere = buildings_under(&app, community.clone())
        .await
        .into_iter()
        .find(|b| !b.2.starts_with(&format!("{grid}/")))
        .expect("a building outside her grid");
    let q = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let wangge = app.token("wangge").await;
    let (s, v) = app
        .get_json(&wangge, &format!("/api/v1/places/pick?q={}", q(&bname)))
        .await;
    assert_eq!(s, 200, "{v}");
    let hit = v
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == bid)
        .unwrap_or_else(|| panic!("{bname} in her grid: {v}"));
    assert_eq!(hit["path"], bpath.as_str());
    assert!(hit["label"].as_str().unwrap().ends_with(bname.as_str()));
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|p| p["path"].as_str().unwrap().starts_with(&grid)),
        "nothing outside her grid: {v}"
    );
    let (s, v) = app
        .get_json(
            &wangge,
            &format!("/api/v1/places/pick?for=registry&q={}", q(&elsewhere.1)),
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        !v.as_array().unwrap().iter().any(|p| p["id"] == elsewhere.0),
        "another grid's building is not offered to her: {v}"
    );
    // The community worker finds it for her exports.
    let shegong = app.token("shegong").await;
    let (s, v) = app
        .get_json(
            &shegong,
            &format!("/api/v1/places/pick?for=registry&q={}", q(&elsewhere.1)),
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        v.as_array().unwrap().iter().any(|p| p["id"] == elsewhere.0),
        "{v}"
    );
    // Accounts: only a user administrator picks, within her places.
    let (s, _) = app
        .get_json(
            &wangge,
            &format!("/api/v1/places/pick?for=users&q={}", q(&bname)),
        )
        .await;
    assert_eq!(s, 403);
    let admin = app.token("admin").await;
    let (s, v) = app
        .get_json(
            &admin,
            &format!("/api/v1/places/pick?for=users&q={}", q(&bname)),
        )
        .await;
    assert_eq!(s, 200);
    assert!(v.as_array().unwrap().iter().any(|p| p["id"] == bid));
    // A resident reads no one's records and manages no account.
    let jumin = app.token("jumin").await;
    for f in ["registry", "users"] {
        let (s, _) = app
            .get_json(
                &jumin,
                &format!("/api/v1/places/pick?for={f}&q={}", q(&bname)),
            )
            .await;
        assert_eq!(s, 403, "{f}");
    }
    let (s, _) = app.get_json(&wangge, "/api/v1/places/pick?q=%20").await;
    assert_eq!(s, 422);
    let (s, v) = app.get_json(&wangge, "/api/v1/places/pick?q=%25").await;
    assert_eq!((s, v), (200, json!([])), "a % is not a wildcard");
    let (s, _) = app
        .get_json(&wangge, "/api/v1/places/pick?for=nobody&q=a")
        .await;
    assert_eq!(s, 400);
    // By id (a form filled in before with a place's id), and flats when asked for: `3号楼 101`
    // finds flat 101 of that building, labelled with its building.
    let (s, v) = app
        .get_json(&wangge, &format!("/api/v1/places/pick?q={bid}"))
        .await;
    assert_eq!(s, 200);
    assert!(v.as_array().unwrap().iter().any(|p| p["id"] == bid), "{v}");
    let unit = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT id, name FROM places WHERE parent_id = $1 AND kind = 'unit' ORDER BY id LIMIT 1",
                linli::params![bid],
            )
            .map(|r| (r.i64(0), r.str(1)))
        })
        .await
        .unwrap();
    let (s, v) = app
        .get_json(
            &wangge,
            &format!(
                "/api/v1/places/pick?units=true&q={}",
                q(&format!("{bname} {}", unit.1))
            ),
        )
        .await;
    assert_eq!(s, 200);
    let flat = v
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == unit.0)
        .unwrap_or_else(|| panic!("flat {} of {bname}: {v}", unit.1));
    assert_eq!(flat["kind"], "unit");
    assert!(
        flat["label"].as_str().unwrap().contains(bname.as_str()),
        "{flat}"
    );
    let (s, v) = app
        .get_json(
            &wangge,
            &format!(
                "/api/v1/places/pick?q={}",
                q(&format!("{bname} {}", unit.1))
            ),
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        v.as_array().unwrap().iter().all(|p| p["kind"] != "unit"),
        "no flats unless asked: {v}"
    );
    // The forms carry the picker, the path field kept for typing.
    let (b, _) = app.login_page("admin", PASSWORD).await;
    let page = app.page(&b, "/meetings").await;
    assert!(page.contains("id=\"place-pick-body-place\"") && page.contains("data-value=\"id\""));
    let page = app.page(&b, "/admin/users").await;
    assert!(page.contains("id=\"place-pick-user-target\"") && page.contains("data-for=\"users\""));
    let (w, _) = app.login_page("wangge", PASSWORD).await;
    let page = app.page(&w, "/exports").await;
    assert!(page.contains("id=\"place-pick-export-place\"") && page.contains("name=\"place\""));
    app.stop().await;
}

#[tokio::test]
async fn an_emergency_contact_is_kept_encrypted_masked_and_revealed_with_a_purpose() {
    let app = support::spawn().await;
    let grid = support::place_of(&app, "wangge").await;
    let person = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM persons WHERE place_path LIKE $1 ORDER BY id LIMIT 1",
                linli::params![format!("{grid}/%")],
            )
        })
        .await
        .unwrap();
    let wangge = app.token("wangge").await;
    let patch = |token: String, body: Value| {
        let c = app.client();
        let url = app.url(&format!("/api/v1/persons/{person}"));
        async move {
            c.patch(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    // A number without a name is refused, in her language.
    let r = patch(wangge.clone(), json!({"emergency_phone": "13912345678"})).await;
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("紧急联系人的姓名")
    );
    let r = patch(
        wangge.clone(),
        json!({"emergency_name": "女儿 王芳", "emergency_phone": "13912345678"}),
    )
    .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let (s, p) = app
        .get_json(&wangge, &format!("/api/v1/persons/{person}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(p["emergency_name"], "女儿 王芳");
    let masked = p["emergency_phone_masked"].as_str().unwrap();
    assert!(
        masked.contains('*') && !masked.contains("12345678"),
        "{masked}"
    );
    // Encrypted at rest: the number is nowhere in the row.
    let stored = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT emergency_phone_enc, emergency_phone_masked FROM persons WHERE id = $1",
                linli::params![person],
            )
        })
        .await
        .unwrap();
    let blob = stored.blob(0).unwrap();
    assert!(!String::from_utf8_lossy(&blob).contains("13912345678"));
    // The change is in the history without the number.
    let hist = p["history"][0]["changes"].to_string();
    assert!(
        hist.contains("emergency_phone") && !hist.contains("13912345678"),
        "{hist}"
    );
    // Revealed with a purpose, audited.
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/persons/{person}/reveal")))
        .bearer_auth(&wangge)
        .json(&json!({"field": "emergency_phone", "purpose": "emergency"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(v.to_string().contains("13912345678"), "{v}");
    let entry = app.last_audit_entry().await;
    assert!(
        entry.to_string().contains("field:emergency_phone"),
        "{entry}"
    );
    // Another grid's worker, a resident and a department may neither change nor reveal it.
    for who in ["jumin", "bumen"] {
        let t = app.token(who).await;
        let r = patch(t.clone(), json!({"emergency_name": "x"})).await;
        assert!(
            matches!(r.status().as_u16(), 403 | 404),
            "{who}: {}",
            r.status()
        );
        let r = app
            .client()
            .post(app.url(&format!("/api/v1/persons/{person}/reveal")))
            .bearer_auth(&t)
            .json(&json!({"field": "emergency_phone", "purpose": "emergency"}))
            .send()
            .await
            .unwrap();
        assert!(
            matches!(r.status().as_u16(), 403 | 404),
            "{who}: {}",
            r.status()
        );
    }
    // Emptying the name removes the contact, number and all.
    let r = patch(wangge.clone(), json!({"emergency_name": ""})).await;
    assert!(r.status().is_success());
    let (_, p) = app
        .get_json(&wangge, &format!("/api/v1/persons/{person}"))
        .await;
    assert!(
        p["emergency_name"].is_null() && p["emergency_phone_masked"].is_null(),
        "{p}"
    );
    // The person form edits it too.
    let (b, _) = app.login_page("wangge", PASSWORD).await;
    let page = app.page(&b, &format!("/persons/{person}")).await;
    let csrf = support::extract_input(&page, "csrf").unwrap();
    assert!(page.contains("name=\"emergency_name\""));
    let r = b
        .post(app.url(&format!("/persons/{person}/edit")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("residence", p["residence"].as_str().unwrap()),
            ("presence", p["presence"].as_str().unwrap()),
            ("notes", p["notes"].as_str().unwrap()),
            ("emergency_name", "儿子 李强"),
            ("emergency_phone", "13800001111"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let page = app.page(&b, &format!("/persons/{person}")).await;
    assert!(page.contains("儿子 李强") && !page.contains("13800001111"));
    app.stop().await;
}

/// The roads layer by upload on the map page: a street administrator's file replaces it; a bad
/// file is refused with the reason and changes nothing; others may not.
#[tokio::test]
async fn the_map_page_takes_a_roads_file_from_the_street_administrator() {
    let app = support::spawn().await;
    let upload = |b: reqwest::Client, csrf: String, bytes: Vec<u8>| {
        let url = app.url("/map/roads");
        async move {
            let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name("roads.geojson"),
            );
            b.post(url).multipart(form).send().await.unwrap()
        }
    };
    let (b, _) = app.login_page("admin", crate::support::PASSWORD).await;
    let page = app.page(&b, "/map").await;
    assert!(
        page.contains("roads-upload") && page.contains("道路图层现有 0 条道路"),
        "{page}"
    );
    let csrf = crate::support::extract_input(&page, "csrf").unwrap();
    let r = upload(b.clone(), csrf.clone(), b"{not json".to_vec()).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("不是有效的 JSON"));
    let roads = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "幸福路"},
         "geometry": {"type": "LineString", "coordinates": [[121.50, 31.20], [121.51, 31.21]]}}]});
    let r = upload(b.clone(), csrf.clone(), serde_json::to_vec(&roads).unwrap()).await;
    assert_eq!(r.status(), 303);
    let page = app.page(&b, "/map?done=roads").await;
    assert!(
        page.contains("道路图层现有 1 条道路") && page.contains("道路图层已更新"),
        "{page}"
    );
    // A grid worker sees no upload form and may not post one.
    let (w, _) = app.login_page("wangge", crate::support::PASSWORD).await;
    let page = app.page(&w, "/map").await;
    assert!(!page.contains("roads-upload"));
    let csrf = crate::support::extract_input(&page, "csrf").unwrap();
    let r = upload(w, csrf, serde_json::to_vec(&roads).unwrap()).await;
    assert_eq!(r.status(), 403);
    app.stop().await;
}
