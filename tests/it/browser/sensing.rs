//! Sensing in a browser: live alerts, a care alert on a phone, a rule change that would fire now.

use super::*;

/// The grid worker's live alerts page: an alert raised while she looks at it appears without
/// a reload (the page's script reads the SSE stream), and changes as it is cleared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_alerts_page_shows_a_new_alert_without_a_reload() {
    browse(1280, 900, |b| async move {
        let http = reqwest::Client::new();
        let api = |path: &str| format!("{}{path}", b.base);
        let token = |user: &'static str| {
            let (http, url) = (http.clone(), api("/api/v1/session"));
            async move {
                let v: Value = http
                    .post(url)
                    .json(&json!({"username": user, "password": PASSWORD}))
                    .send()
                    .await
                    .expect("sign in over the API")
                    .json()
                    .await
                    .expect("a session");
                v["token"].as_str().expect("a token").to_string()
            }
        };
        let (admin, wangge) = (token("admin").await, token("wangge").await);
        let get = |tok: String, path: String| {
            let (http, url) = (http.clone(), api(&path));
            async move {
                let r = http.get(url).bearer_auth(tok).send().await.expect("GET");
                assert_eq!(r.status(), 200, "GET {path}");
                r.json::<Value>().await.expect("JSON")
            }
        };
        // A door magnet in her grid (her list), and its token (the administrator's list).
        let mine = get(
            wangge.clone(),
            "/api/v1/devices?device_type=door_magnet".into(),
        )
        .await;
        let id = mine["items"][0]["id"]
            .as_i64()
            .expect("a door magnet in her grid");
        let all = get(
            admin.clone(),
            "/api/v1/devices?device_type=door_magnet&limit=1000".into(),
        )
        .await;
        let dev_token = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == id)
            .and_then(|d| d["token"].as_str())
            .expect("the administrator sees the token")
            .to_string();
        let name = "浏览器测试：求助按钮";
        let r = http
            .post(api("/api/v1/rules"))
            .bearer_auth(&admin)
            .json(
                &json!({"name": name, "kind": "event", "severity": "critical", "device_id": id,
                          "params": {"key": "sos", "equals": 1}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);

        b.open("/login").await;
        b.sign_in_ok("wangge").await;
        b.open("/alerts").await;
        b.wait_text("#live-state", "实时更新中").await;
        assert!(
            !b.text("#alert-rows").await.contains(name),
            "no such alert yet"
        );
        // A mark on the window: a reload would wipe it.
        b.c.execute("window.linliMark = 42; return true;", vec![])
            .await
            .expect("mark the window");

        let r = http
            .post(api("/api/v1/telemetry"))
            .bearer_auth(&dev_token)
            .json(&json!({"sos": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        b.wait_text("#alert-rows tr:first-child", name).await;
        let row = b.text("#alert-rows tr:first-child").await;
        assert!(
            row.contains("紧急") && row.contains("未确认"),
            "severity and state in Chinese: {row:?}"
        );
        let mark =
            b.c.execute("return window.linliMark === 42;", vec![])
                .await
                .expect("read the mark");
        assert_eq!(mark, json!(true), "the page was not reloaded");

        // Cleared elsewhere: the same row says so, still without a reload.
        let alerts = get(
            wangge.clone(),
            "/api/v1/alerts?active=true&severity=critical".into(),
        )
        .await;
        let alert = alerts["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["rule_name"] == name)
            .and_then(|a| a["id"].as_i64())
            .expect("the alert is in her list");
        let r = http
            .post(api(&format!("/api/v1/alerts/{alert}/clear")))
            .bearer_auth(&wangge)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        b.wait_text(
            &format!("#alert-rows tr[data-id=\"{alert}\"] .state"),
            "已清除",
        )
        .await;
        let mark =
            b.c.execute("return window.linliMark === 42;", vec![])
                .await
                .expect("read the mark");
        assert_eq!(mark, json!(true), "still the same page");
    })
    .await;
}

/// Issue 19, item 4, on a phone: a grid worker opens a care alert, sees where and whom to
/// call, reveals the number with "紧急联系" already chosen, and gets a one-tap `tel:` link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_care_alert_on_a_phone_says_who_to_call_and_calls_after_a_reveal() {
    browse(390, 844, |b| async move {
        let http = reqwest::Client::new();
        let admin = api_token(&b.base, "admin").await;
        let (id, dev_token) = bound_door(&b.base, &admin).await;
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
        assert_eq!(b.text("#alert-text").await, "检测到开门");
        let who = b.text("#who-to-call").await;
        assert!(who.contains("楼栋") && who.contains("房屋"), "{who}");
        assert!(who.contains("负责的网格员和社工"), "{who}");
        b.assert_fits("the alert page").await;
        // The person's reveal: the purpose is already 紧急联系.
        b.click("#who-to-call .contact details summary").await;
        let purpose = b
            .find("#who-to-call .contact form select[name=purpose]")
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        assert_eq!(purpose, "emergency");
        b.click("#who-to-call .contact form button[type=submit]")
            .await;
        let call = b.find("a.call").await;
        let href = call.attr("href").await.unwrap().unwrap_or_default();
        assert!(href.starts_with("tel:") && href.len() > 8, "{href}");
        b.assert_fits("the alert page with the number").await;
    })
    .await;
}

/// Issue 19, item 5, on a phone: an administrator shortens a rule so that it would fire at
/// once; the page shows how many devices it would fire for and saves only when she confirms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_change_that_would_fire_now_asks_to_confirm_on_a_phone() {
    browse(390, 844, |b| async move {
        let http = reqwest::Client::new();
        let admin = api_token(&b.base, "admin").await;
        let (id, _) = bound_door(&b.base, &admin).await;
        let r = http
            .post(format!("{}/api/v1/rules", b.base))
            .bearer_auth(&admin)
            .json(
                &json!({"name": "单户门磁无开门（测试）", "kind": "absence", "severity": "major",
                          "device_id": id, "category": "elderly_care",
                          "params": {"key": "door", "equals": "open", "absence_s": 86400}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let rule = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        // Its timer was armed on creation; a period of one second is over by now.
        tokio::time::sleep(Duration::from_millis(2100)).await;

        b.open("/login").await;
        b.sign_in_ok("admin").await;
        b.open(&format!("/rules/{rule}")).await;
        let field = b.find("input[name=p_absence_s]").await;
        field.clear().await.unwrap();
        field.send_keys("1").await.unwrap();
        b.click("#rule-save").await;
        b.wait_text("#preview-fire", "现在就会对 1 台设备触发告警")
            .await;
        b.assert_fits("the rule page's preview").await;
        assert!(
            b.text("#rule-params").await.contains("24 小时"),
            "not saved yet"
        );
        b.click("#rule-confirm").await;
        // Saved: back on the rule page (a redirect), without the preview, with the new period.
        b.wait_text("#rule-params", "1 秒内没有开门").await;
        assert!(!b.text("#rule-params").await.contains("86400"));
        assert!(!b.has("#rule-preview").await);
    })
    .await;
}
