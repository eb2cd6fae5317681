//! The cockpit in a browser (issue 27): the big-screen layout at 1920×1080 has no scrollbars;
//! an alert raised moves the figure live, without a reload; a grid on the map drills down to
//! its list.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_big_screen_fits_moves_live_and_drills_down() {
    browse_db(1920, 1080, |b, db| async move {
        b.open("/login").await;
        b.sign_in_ok("admin").await;
        b.open("/cockpit?layout=screen&measure=sensing.alerts").await;
        let v = b
            .c
            .execute(
                r#"const de = document.documentElement;
                   return { sw: de.scrollWidth, cw: de.clientWidth, sh: de.scrollHeight,
                            ch: de.clientHeight, iw: window.innerWidth, ih: window.innerHeight };"#,
                vec![],
            )
            .await
            .expect("measure the screen");
        let f = |k: &str| v[k].as_f64().unwrap();
        assert!(f("iw") >= 1900.0, "a big screen: {v}");
        assert!(
            f("sw") <= f("cw") + 1.0 && f("sh") <= f("ch") + 1.0,
            "no scrollbars on the big screen: {v}"
        );

        // Live (on the office's page, which shows the count itself): once the stream is open,
        // an alert raised again changes the figure without a reload.
        b.open("/cockpit?measure=sensing.alerts").await;
        let mut live = false;
        for _ in 0..50 {
            if b.has("#cockpit[data-live='1']").await {
                live = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(live, "the live stream opens");
        // Read by script: the fragment may be swapped between finding an element and reading it.
        let figure = || async {
            b.c.execute(
                "const e = document.querySelector('#tile-sensing\\\\.alerts .value'); return e ? e.textContent : '';",
                vec![],
            )
            .await
            .expect("read the figure")
            .as_str()
            .unwrap_or("")
            .to_string()
        };
        let before = figure().await;
        assert!(!before.is_empty(), "the alerts figure is shown");
        db.write(|c| {
            c.exec(
                "INSERT INTO alerts (street_id, rule_id, device_id, place_id, place_path, kind, severity, category, state, active, message, details, hits, first_at, last_at, updated_at) \
         SELECT d.street_id, (SELECT MIN(id) FROM rules), d.id, d.place_id, d.place_path, 'threshold', 'warning', 'safety', 'active_unack', 1, '测试', '{}', 1, 0, 0, 0 \
         FROM devices d WHERE d.id = (SELECT MIN(id) FROM devices WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.device_id = devices.id AND a.active = 1))",
                &[],
            )
        })
        .await
        .unwrap();
        let mut after = before.clone();
        for _ in 0..100 {
            after = figure().await;
            if after != before {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_ne!(after, before, "the figure moved live");

        // A grid on the map opens the list behind it.
        b.open("/cockpit?measure=cases.open").await;
        let link = b.find(".cockpit-grids a").await;
        let path = b.follow(&link).await;
        assert!(path.starts_with("/cases?place="), "{path}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_the_office_sees_departments_and_saves_the_map_as_png() {
    browse(390, 844, |b| async move {
        b.open("/login").await;
        b.sign_in_ok("admin").await;
        b.open("/cockpit?measure=cases.open").await;
        let v = b
            .c
            .execute(
                "const de = document.documentElement; return { sw: de.scrollWidth, cw: de.clientWidth };",
                vec![],
            )
            .await
            .expect("measure the page");
        assert!(
            v["sw"].as_f64().unwrap() <= v["cw"].as_f64().unwrap() + 1.0,
            "no sideways scrolling on a phone: {v}"
        );
        // The open cases per handling department, as bars.
        assert!(b.has("#cockpit-orgs tr").await, "departments listed");
        // The map as a PNG, drawn in the browser from the SVG file.
        let png = b.find("#map-png").await;
        png.click().await.expect("click PNG");
        let mut saved = String::new();
        for _ in 0..50 {
            saved = b
                .c
                .execute(
                    "return document.getElementById('cockpit').getAttribute('data-png') || '';",
                    vec![],
                )
                .await
                .expect("read data-png")
                .as_str()
                .unwrap_or("")
                .to_string();
            if !saved.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(saved, "cases.open-map.png", "the PNG was drawn");
    })
    .await
}
