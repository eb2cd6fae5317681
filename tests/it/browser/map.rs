//! Browser tests of the street's map (issue 19 item 15), the place picker (item 11) and the
//! emergency contact on a care alert (item 4), on a phone-sized window.

use std::time::Duration;

use serde_json::{Value, json};

use super::{api_token, bound_door, browse};

/// A resident opens the street's map on a phone: Leaflet (vendored, no CDN) draws the grids and
/// buildings from the street's layers, her own building is marked, and a building found by its
/// address opens on the map.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_street_map_on_a_phone_draws_the_grids_and_marks_her_building() {
    browse(390, 844, |b| async move {
        b.open("/login").await;
        b.sign_in_ok("jumin").await;
        b.open("/map").await;
        let ready = b.find("#street-map[data-ready]").await;
        let counts = ready.attr("data-ready").await.unwrap().unwrap_or_default();
        let (areas, buildings) = counts.split_once('/').expect("areas/buildings");
        assert!(
            areas.parse::<i64>().unwrap() > 0 && buildings.parse::<i64>().unwrap() > 0,
            "{counts}"
        );
        let v = b
            .c
            .execute(
                "return [window.L && L.version, document.querySelectorAll('#street-map path.leaflet-interactive').length, \
                 !!document.getElementById('map-fallback').hidden];",
                vec![],
            )
            .await
            .expect("ask the page");
        assert_eq!(v[0], "1.9.4", "the vendored Leaflet: {v}");
        assert!(v[1].as_i64().unwrap() > 0, "grid polygons drawn: {v}");
        assert_eq!(v[2], true, "the SVG map stands aside: {v}");
        // Her own building, marked and named above the page's map.
        let own = b.text("#own-building").await;
        let label = b.text("#street-map .own-label").await;
        assert!(label.contains("我家所在楼栋"), "{label}");
        assert!(
            own.split('：').nth(1).is_some_and(|n| label.contains(n.trim())),
            "{own} / {label}"
        );
        // The map opens on her building: its label lies inside the map, not cut at its edge.
        let inside = b
            .c
            .execute(
                "const m = document.getElementById('street-map').getBoundingClientRect(); \
                 const l = document.querySelector('#street-map .own-label').getBoundingClientRect(); \
                 return l.left >= m.left && l.right <= m.right && l.top >= m.top && l.bottom <= m.bottom;",
                vec![],
            )
            .await
            .expect("ask the page");
        assert_eq!(inside, true, "her building's label lies inside the map");
        b.assert_fits("the street map").await;
        // Found by its address: the building's card opens on the map.
        let token = api_token(&b.base, "jumin").await;
        let layers: Value = reqwest::Client::new()
            .get(format!("{}/api/v1/map/layers", b.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let building = layers["buildings"]["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| {
                f["properties"]["address"]
                    .as_str()
                    .is_some_and(|a| !a.is_empty())
            })
            .expect("a building with an address")["properties"]
            .clone();
        let address = building["address"].as_str().unwrap();
        b.find("#map-search")
            .await
            .send_keys(address)
            .await
            .expect("type the address");
        b.click("#map-found li button").await;
        b.wait_text(
            "#street-map .leaflet-popup-content",
            building["name"].as_str().unwrap(),
        )
        .await;
        b.screenshot("map-phone").await;
    })
    .await;
}

/// The report form's map refuses a point outside the street with the server's message, and a
/// building is found by its address as the first way to choose the place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_map_refuses_a_point_outside_the_street() {
    browse(390, 844, |b| async move {
        b.open("/login").await;
        b.sign_in_ok("jumin").await;
        b.open("/cases/new?category=noise").await;
        b.find("#pick-map[data-ready]").await;
        // The address search comes before the list of places.
        let first = b
            .c
            .execute(
                "const f = document.getElementById('place-find'), s = document.querySelector('select[name=place_id]');\
                 return !f.hidden && !!(f.compareDocumentPosition(s) & Node.DOCUMENT_POSITION_FOLLOWING);",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(first, true, "find by address first");
        // A phone's location far from the street.
        b.c.execute(
            "document.getElementById('report-form').dispatchEvent(new CustomEvent('linli:marked', {detail: {lat: 39.9, lon: 116.4}}));",
            vec![],
        )
        .await
        .unwrap();
        b.wait_text("#pick-status", "不在本街道范围内").await;
        let lat = b
            .find("input[name=lat]")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        assert_eq!(lat, "", "the point is not kept");
        b.assert_fits("the report form with its map").await;
    })
    .await;
}

/// An administrator adds an account's place by its name: the picker offers the places she
/// manages and fills the form's path field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_place_picker_fills_the_path_on_a_phone() {
    browse(390, 844, |b| async move {
        let admin = api_token(&b.base, "admin").await;
        let found: Value = reqwest::Client::new()
            .get(format!(
                "{}/api/v1/places/pick?for=users&q=%E7%BD%91%E6%A0%BC",
                b.base
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let grid = found
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["kind"] == "grid")
            .expect("a grid by its name")
            .clone();
        b.open("/login").await;
        b.sign_in_ok("admin").await;
        b.open("/admin/users").await;
        b.find("#place-pick-user-target .place-pick-q")
            .await
            .send_keys(grid["name"].as_str().unwrap())
            .await
            .expect("type the grid's name");
        b.click(&format!(
            "#place-pick-user-target button[data-path='{}']",
            grid["path"].as_str().unwrap()
        ))
        .await;
        let path = b
            .find("#user-target")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        assert_eq!(path, grid["path"].as_str().unwrap());
        b.wait_text(
            "#place-pick-user-target .place-pick-chosen",
            grid["name"].as_str().unwrap(),
        )
        .await;
        // The code path is the form's, not the person's: the raw field is not shown, and the
        // chosen place is named without it.
        assert!(
            !b.find("#user-target").await.is_displayed().await.unwrap(),
            "the code-path field is hidden behind the picker"
        );
        let said = b
            .find("#place-pick-user-target .place-pick-chosen")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            !said.contains(grid["path"].as_str().unwrap()),
            "the chosen place is named, not coded: {said}"
        );
        b.assert_fits("the accounts page with the picker").await;
    })
    .await;
}

/// Issue 19 item 4: the person's own emergency contact is on the care alert, masked; a reveal
/// with "紧急联系" chosen gives a one-tap `tel:` link to her.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_care_alert_names_her_emergency_contact_and_calls_after_a_reveal() {
    browse(390, 844, |b| async move {
        let http = reqwest::Client::new();
        let admin = api_token(&b.base, "admin").await;
        let (id, dev_token) = bound_door(&b.base, &admin).await;
        let wangge = api_token(&b.base, "wangge").await;
        let mine: Value = http
            .get(format!("{}/api/v1/devices?device_type=door_magnet", b.base))
            .bearer_auth(&wangge)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let person = mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == id)
            .and_then(|d| d["person_id"].as_i64())
            .expect("the door magnet's person");
        let r = http
            .patch(format!("{}/api/v1/persons/{person}", b.base))
            .bearer_auth(&wangge)
            .json(&json!({"emergency_name": "女儿 王芳", "emergency_phone": "13912345678"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let r = http
            .post(format!("{}/api/v1/rules", b.base))
            .bearer_auth(&admin)
            .json(
                &json!({"name": "门磁开门提醒（测试）", "kind": "event", "severity": "major",
                          "device_id": id, "category": "elderly_care",
                          "params": {"key": "door", "equals": "open"}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = http
            .post(format!("{}/api/v1/telemetry", b.base))
            .bearer_auth(&dev_token)
            .json(&json!({"values": {"door": "open"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);

        b.open("/login").await;
        b.sign_in_ok("wangge").await;
        b.open("/alerts").await;
        let link = b.find("#alert-rows a[href^='/alerts/']").await;
        b.follow(&link).await;
        let contact = b.text("#emergency").await;
        assert!(
            contact.contains("女儿 王芳") && !contact.contains("13912345678"),
            "named, the number masked: {contact}"
        );
        b.click("#emergency details summary").await;
        let purpose = b
            .find("#reveal-emergency select[name=purpose]")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        assert_eq!(purpose, "emergency");
        b.click("#reveal-emergency button[type=submit]").await;
        let call = b.find("#call-emergency").await;
        let href = call.attr("href").await.unwrap().unwrap_or_default();
        assert_eq!(href, "tel:13912345678");
        b.assert_fits("the alert page with her emergency contact")
            .await;
    })
    .await;
}

/// The case map on a phone (issue 19 item 15, issue 20): Leaflet draws one mark per building
/// with open cases over the street's layers, each opening that building's queue; the SVG map
/// stands aside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_map_on_a_phone_draws_the_open_cases_over_the_street() {
    browse(390, 844, |b| async move {
        b.open("/login").await;
        b.sign_in_ok("admin").await;
        b.open("/cases/map").await;
        let ready = b.find("#street-map[data-points-drawn]").await;
        let drawn: i64 = ready
            .attr("data-points-drawn")
            .await
            .unwrap()
            .unwrap_or_default()
            .parse()
            .unwrap();
        assert!(drawn > 0, "cases drawn: {drawn}");
        let v =
            b.c.execute(
                "var ps = document.querySelectorAll('#street-map path.case-point'); \
                 var at = {}; ps.forEach(function (p) { at[p.getAttribute('d')] = 1; }); \
                 return [ps.length, !!document.getElementById('case-map').hidden, Object.keys(at).length];",
                vec![],
            )
            .await
            .expect("ask the page");
        assert_eq!(v[0].as_i64().unwrap(), drawn, "{v}");
        assert_eq!(v[1], true, "the SVG map stands aside: {v}");
        assert_eq!(v[2].as_i64().unwrap(), drawn, "one mark per building: {v}");
        b.c.execute(
            "document.querySelector('#street-map path.case-point')\
             .dispatchEvent(new MouseEvent('click', {bubbles: true}));",
            vec![],
        )
        .await
        .expect("open a mark");
        let link = b.find("#street-map .leaflet-popup-content a").await;
        let href = link.attr("href").await.unwrap().unwrap_or_default();
        assert!(href.starts_with("/cases?state=open&place="), "{href}");
        // The popup fades in: WebDriver reads no text until it is shown.
        let mut text = String::new();
        for _ in 0..50 {
            text = link.text().await.unwrap();
            if !text.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(text.contains("件未办结"), "the mark says how many: {text}");
        b.assert_fits("the case map").await;
    })
    .await;
}
