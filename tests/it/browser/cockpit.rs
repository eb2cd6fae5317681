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
        let before = b.text("#tile-sensing\\.alerts .value").await;
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
            after = b.text("#tile-sensing\\.alerts .value").await;
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
