//! Browser tests of setting up a street (issue 21): the first-run page on a phone, and a grid's
//! boundary drawn on the map after its GeoJSON import.

use serde_json::{Value, json};

use super::browse_app;
use crate::support::Options;

const PW: &str = "a-long-passphrase-9";

/// An empty server on a phone: every page leads to the first-run form, which sets up the street
/// and its administrator; she signs in, imports the sample 台账 and grid map, and the map draws
/// the grids' boundaries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_run_on_a_phone_then_the_imported_grids_on_the_map() {
    let opts = Options {
        demo: false,
        ..Options::default()
    };
    browse_app(opts, true, 390, 844, |b, code| async move {
        let code = code.expect("armed");
        b.open("/").await;
        b.wait_path("the first-run page", |p| p == "/setup").await;
        b.find("#first-run").await;
        b.assert_fits("the first-run page").await;
        for (name, value) in [
            ("code", code.as_str()),
            ("district_code", "310115"),
            ("district_name", "浦东新区"),
            ("street_code", "310115004"),
            ("street_name", "潍坊新村街道"),
            ("username", "wang"),
            ("display_name", "王主任"),
            ("password", PW),
        ] {
            b.find(&format!("#first-run input[name={name}]"))
                .await
                .send_keys(value)
                .await
                .expect("type");
        }
        b.click("#first-run-submit").await;
        b.wait_path("the sign-in page", |p| p.starts_with("/login"))
            .await;
        b.find("#flash").await;
        b.sign_in("wang", PW).await;
        b.wait_path("the home page", |p| p == "/").await;

        // The sample files, imported over the API as the README shows.
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!("{}/api/v1/session", b.base))
            .json(&json!({"username": "wang", "password": PW}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["token"].as_str().unwrap().to_string();
        for (q, file) in [
            (
                "scope=310115/310115004&format=csv",
                &include_bytes!("../../../docs/examples/places.csv")[..],
            ),
            (
                "scope=310115/310115004/c01&format=geojson",
                &include_bytes!("../../../docs/examples/grids-weifang-yicun.geojson")[..],
            ),
        ] {
            let r = http
                .post(format!("{}/api/v1/places/import?{q}", b.base))
                .bearer_auth(&token)
                .header("content-type", "application/octet-stream")
                .body(file.to_vec())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{q}: {}", r.text().await.unwrap());
        }
        b.open("/map").await;
        let ready = b.find("#street-map[data-ready]").await;
        let counts = ready.attr("data-ready").await.unwrap().unwrap_or_default();
        let (areas, _) = counts.split_once('/').expect("areas/buildings");
        assert!(areas.parse::<i64>().unwrap() >= 2, "{counts}");
        let drawn =
            b.c.execute(
                "return document.querySelectorAll('#street-map path.leaflet-interactive').length;",
                vec![],
            )
            .await
            .expect("ask the page");
        assert!(
            drawn.as_i64().unwrap() >= 2,
            "the grids' boundaries: {drawn}"
        );
        b.assert_fits("the street map after the import").await;
    })
    .await;
}
