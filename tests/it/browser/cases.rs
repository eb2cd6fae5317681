//! Cases in a browser: a report stored where the map was tapped, a draft surviving a new sign-in.

use super::*;

/// A resident marks the spot of her report on the street's map: a tap shows the mark and fills
/// the latitude and longitude (the page's script inverts the map's projection), and the case
/// is stored at that spot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_is_stored_where_the_map_was_tapped() {
    browse(1280, 900, |b| async move {
        b.open("/login").await;
        b.sign_in_ok("jumin").await;
        b.open("/cases/new?category=noise").await;
        // The map with pan and zoom (static/map.js) stands in for the SVG map.
        b.find("#pick-map[data-ready]").await;
        b.click("#pick-map").await;
        b.wait_text("#pick-status", "已标出位置").await;
        let page = &b;
        let value = |name: &'static str| async move {
            page.find(&format!("input[name={name}]"))
                .await
                .prop("value")
                .await
                .unwrap()
                .unwrap_or_default()
                .parse::<f64>()
                .unwrap_or_else(|e| panic!("{name} is not a number: {e}"))
        };
        let (lat, lon) = (value("lat").await, value("lon").await);
        assert!((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon));
        b.find("textarea[name=description]")
            .await
            .send_keys("路口的路灯一直不亮")
            .await
            .expect("type the description");
        b.click("#report-form button[type=submit]").await;
        let path = b
            .wait_path("the new case's page", |p| {
                p.strip_prefix("/cases/")
                    .and_then(|id| id.split('?').next())
                    .is_some_and(|id| id.parse::<i64>().is_ok())
            })
            .await;
        // Without the message that the report was sent (`?done=report`).
        let path = path.split('?').next().unwrap_or_default().to_string();
        // The case is where she tapped, to the sixth decimal the form carries.
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!("{}/api/v1/session", b.base))
            .json(&json!({"username": "jumin", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let v: Value = http
            .get(format!("{}/api/v1{path}", b.base))
            .bearer_auth(token["token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let (clat, clon) = (
            v["case"]["lat"].as_f64().unwrap(),
            v["case"]["lon"].as_f64().unwrap(),
        );
        assert!(
            (clat - lat).abs() < 1e-6 && (clon - lon).abs() < 1e-6,
            "tapped {lat},{lon}; stored {clat},{clon}"
        );
        assert_eq!(v["case"]["description"], "路口的路灯一直不亮");
    })
    .await;
}

/// Issue 19 items 16, 11 and 10 on a phone: choosing a category's tile shows its own fields
/// without a reload, a building is found by its name, and a report sent after the session has
/// ended is kept: the sign-in page says why, and after signing in the form is back as typed and
/// goes with one tap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_typed_on_a_phone_survives_signing_in_again() {
    browse(360, 740, |b| async move {
        b.open("/login").await;
        b.sign_in_ok("jumin").await;
        b.open("/cases/new").await;
        let noise = b.find("#fields-noise").await;
        assert!(
            noise.attr("hidden").await.unwrap().is_some(),
            "no category yet"
        );
        b.click("#tile-noise").await;
        let deadline = Instant::now() + WAIT;
        while noise.attr("hidden").await.unwrap().is_some() {
            assert!(Instant::now() < deadline, "the tile shows its fields");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(b.path().await, "/cases/new", "no reload");
        b.find("#place-search")
            .await
            .send_keys("弄")
            .await
            .expect("type a place's name");
        b.click("#place-found button").await;
        let place = b
            .find("select[name=place_id]")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(place.parse::<i64>().is_ok(), "a place chosen: {place:?}");
        let words = "三楼楼道的灯坏了一个星期";
        b.find("textarea[name=description]")
            .await
            .send_keys(words)
            .await
            .expect("type the description");
        // The session ends before she sends it.
        b.c.delete_cookie("linli_session")
            .await
            .expect("end the session");
        b.click("#report-send").await;
        b.wait_path("the sign-in page", |p| {
            p.starts_with("/login?reason=expired")
        })
        .await;
        b.wait_text("#login-error", "登录已过期，请重新登录").await;
        b.sign_in("jumin", PASSWORD).await;
        b.wait_path("the report form again", |p| p == "/cases/new?draft=1")
            .await;
        b.find("#draft-back").await;
        let typed = b
            .find("textarea[name=description]")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        assert_eq!(typed, words);
        b.click("#report-send").await;
        b.wait_path("the new case", |p| {
            p.starts_with("/cases/") && p.ends_with("?done=report")
        })
        .await;
        b.wait_text("#done", "已完成").await;
        b.assert_fits("the new report's page on a phone").await;
    })
    .await;
}
