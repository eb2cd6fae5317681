//! The sensing pages: alerts, devices, map and chart, and the rule pages.

use super::*;

#[tokio::test]
async fn worker_pages_show_alerts_devices_map_and_chart() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let now = linli::store::now_ms();
    let body: Vec<Value> = (0..10)
        .map(|i| json!({"ts": now - 100_000 + i * 10_000, "values": {"battery": 90 - i}}))
        .collect();
    post(&app, &dev.token, Value::Array(body)).await;
    let (b, _) = app.login_page("wangge", support::PASSWORD).await;
    let page = |p: String| {
        let b = b.clone();
        let u = app.url(&p);
        async move {
            let r = b.get(u).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };
    let alerts = page("/alerts".into()).await;
    assert!(alerts.contains("/static/sensing.js") && alerts.contains("id=\"alert-rows\""));
    let devices = page("/devices".into()).await;
    assert!(devices.contains("<svg"), "the grid's map is drawn");
    assert!(devices.contains(&format!("/devices/{}", dev.id)));
    let device = page(format!("/devices/{}", dev.id)).await;
    assert!(
        device.contains("class=\"chart\""),
        "the battery chart is drawn"
    );
    assert!(!device.contains("dev_"), "no token for a grid worker");
    assert!(
        device.contains(&format!("data-device=\"{}\"", dev.id)),
        "live values hook"
    );
    // The device page's live values: `state` events on the stream, for devices in scope.
    let wangge = app.token("wangge").await;
    let mut stream = app
        .client()
        .get(app.url("/api/v1/alerts/stream?devices=true"))
        .bearer_auth(&wangge)
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    while !buf.contains("event: ready") {
        buf.push_str(&String::from_utf8_lossy(
            &stream.chunk().await.unwrap().unwrap(),
        ));
    }
    post(&app, &dev.token, json!({"battery": 77})).await;
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = String::new();
        while !buf.contains("event: state") || !buf.ends_with("\n\n") {
            buf.push_str(&String::from_utf8_lossy(
                &stream.chunk().await.unwrap().unwrap(),
            ));
        }
        buf
    })
    .await
    .expect("the new value arrives on the stream");
    assert!(
        got.contains(&format!("\"device_id\":{}", dev.id)) && got.contains("\"num\":77.0"),
        "{got}"
    );
    let js = app
        .client()
        .get(app.url("/static/sensing.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(js.contains("EventSource"));
}

#[tokio::test]
async fn rule_pages_list_rules_and_let_administrators_change_them() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let rule = door_absence_rule(&app, &admin, dev.id, "两小时无开门", 7200).await;
    let get = |b: &reqwest::Client, p: String| {
        let (b, u) = (b.clone(), app.url(&p));
        async move {
            let r = b.get(u).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let rule_of = |id: i64| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let (_, list) = app.get_json(&admin, "/api/v1/rules").await;
            list.as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == id)
                .cloned()
        }
    };
    // A grid worker reads the rules but has no form.
    let (w, _) = app.login_page("wangge", support::PASSWORD).await;
    let (s, list) = get(&w, "/rules".into()).await;
    assert_eq!(s, 200);
    assert!(list.contains(&format!("id=\"rule-{rule}\"")) && list.contains("两小时无开门"));
    assert!(
        list.contains("2 小时内没有开门"),
        "the parameters are shown"
    );
    let (s, page) = get(&w, format!("/rules/{rule}")).await;
    assert_eq!(s, 200);
    assert!(!page.contains("id=\"rule-form\""));
    let csrf = support::extract_input(&page, "csrf").unwrap();
    let r = w
        .post(app.url(&format!("/rules/{rule}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The administrator changes it on its page.
    let (b, _) = app.login_page("admin", support::PASSWORD).await;
    let (_, page) = get(&b, format!("/rules/{rule}")).await;
    assert!(
        page.contains("id=\"rule-form\"") && page.contains("name=\"p_absence_s\" value=\"7200\"")
    );
    let csrf = support::extract_input(&page, "csrf").unwrap();
    let form = |absence: &'static str, window: &'static str, active: bool| {
        let mut f = vec![
            ("csrf", csrf.clone()),
            ("name", "一小时无开门".to_string()),
            ("severity", "critical".into()),
            ("p_key", "door".into()),
            ("p_equals", "open".into()),
            ("p_absence_s", absence.into()),
            ("p_window", window.into()),
            ("p_min_total", String::new()),
            ("category", "elderly_care".into()),
            ("ack_minutes", "15".into()),
        ];
        if active {
            f.push(("active", "1".into()));
        }
        f
    };
    let post_form = |f: Vec<(&'static str, String)>| {
        let (b, u) = (b.clone(), app.url(&format!("/rules/{rule}")));
        async move {
            let r = b.post(u).form(&f).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (s, _) = post_form(form("3600", "", true)).await;
    assert_eq!(s, 303);
    let r = rule_of(rule).await.unwrap();
    assert_eq!(
        (&r["name"], &r["severity"], &r["ack_minutes"], &r["params"]),
        (
            &json!("一小时无开门"),
            &json!("critical"),
            &json!(15),
            &json!({"key": "door", "equals": "open", "absence_s": 3600})
        )
    );
    // What is wrong is said on the page, which keeps the form.
    let (s, page) = post_form(form("一小时", "", true)).await;
    assert_eq!(s, 422);
    assert!(
        page.contains("id=\"rule-error\"") && page.contains("数字"),
        "{page}"
    );
    let (s, page) = post_form(form("", "7-10", true)).await;
    assert_eq!(s, 422);
    assert!(page.contains("07:00-10:00"));
    assert_eq!(
        rule_of(rule).await.unwrap()["params"]["absence_s"],
        3600,
        "unchanged"
    );
    // Unticked: disabled, and the list says so.
    let (s, _) = post_form(form("3600", "", false)).await;
    assert_eq!(s, 303);
    assert_eq!(rule_of(rule).await.unwrap()["active"], false);
    let (_, list) = get(&b, "/rules".into()).await;
    assert!(list.contains(&format!("id=\"rule-{rule}\" class=\"muted\"")));
    // Deleted from its page.
    let r = b
        .post(app.url(&format!("/rules/{rule}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(rule_of(rule).await.is_none());
    assert_eq!(get(&b, format!("/rules/{rule}")).await.0, 404);
}
