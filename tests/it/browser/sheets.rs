//! Sign-up sheets in a browser (issue 25 part 3), on a phone: a resident signs her household
//! up and sees the totals; the organiser corrects the entry with a reason, the correction is
//! kept and shown, and she exports the entries for the supplier. The resident in Chinese, the
//! organiser in English.

use super::*;

async fn api(base: &str, token: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let http = reqwest::Client::new();
    let url = format!("{base}{path}");
    let req = match method {
        "GET" => http.get(&url),
        _ => http.post(&url).json(&body),
    };
    let r = req
        .bearer_auth(token)
        .send()
        .await
        .expect("the API answers");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Types `value` into the field `css`, replacing what it held.
async fn fill(b: &Browser, css: &str, value: &str) {
    let e = b.find(css).await;
    e.clear().await.expect("clear the field");
    e.send_keys(value).await.expect("type into the field");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_household_signs_up_and_the_organiser_corrects_and_exports_on_a_phone() {
    browse(390, 844, |b| async move {
        // The organiser sends a sheet to her community (the demo group buy's audience).
        let shegong = api_token(&b.base, "shegong").await;
        let (s, list) = api(&b.base, &shegong, "GET", "/api/v1/sheets", json!({})).await;
        assert_eq!(s, 200, "{list}");
        let community = list["managed"][0]["sheet"]["audience"]["places"][0]
            .as_i64()
            .expect("the demo sheet's community");
        let deadline = chrono::Utc::now().timestamp_millis() + 3 * 86_400_000;
        let (s, sheet) = api(
            &b.base,
            &shegong,
            "POST",
            "/api/v1/sheets",
            json!({"title": "周六团购：新鲜草莓", "intro": "周六上午 10 点居委会门口取货。",
                   "items": [{"name": "草莓 2 斤", "price_fen": 3_000}, {"name": "蓝莓 1 盒", "price_fen": 1_550}],
                   "audience": {"places": [community]}, "deadline_at": deadline, "household_limit": 3}),
        )
        .await;
        assert_eq!(s, 201, "{sheet}");
        let id = sheet["id"].as_i64().unwrap();

        // The resident finds it among her household's sheets and signs up.
        b.open("/login").await;
        b.sign_in_ok("jumin").await;
        b.open("/sheets").await;
        b.assert_fits("the resident's sheets (Chinese)").await;
        let link = b.find(&format!("#sheet-{id} a")).await;
        b.follow(&link).await;
        b.find("#sheet-open").await;
        b.wait_text("#sheet-totals", "还没有人接龙").await;
        // Over the household's limit: refused with the reason, nothing kept.
        fill(&b, "#sheet-entry input[name=q0]", "3").await;
        fill(&b, "#sheet-entry input[name=q1]", "1").await;
        b.click("#sheet-enter").await;
        b.wait_text("#sheet-error", "超过了每户上限").await;
        b.wait_text("#sheet-totals", "还没有人接龙").await;
        fill(&b, "#sheet-entry input[name=q0]", "2").await;
        fill(&b, "#sheet-entry input[name=q1]", "1").await;
        fill(&b, "#sheet-entry input[name=note]", "下午取").await;
        b.click("#sheet-enter").await;
        b.wait_text("#sheet-done", "已接龙").await;
        // The totals: 2 + 1 for one household, ¥75.50.
        let total = b.text("#sheet-total").await;
        assert!(
            total.contains('2') && total.contains('1') && total.contains("¥75.50"),
            "the totals count her entry: {total:?}"
        );
        b.wait_text("#sheet-enter", "修改").await;
        b.assert_fits("the sheet with her entry (Chinese)").await;
        b.screenshot("sheet-resident-phone").await;
        b.sign_out().await;

        // The organiser, in English, corrects it: the supplier has one box of blueberries less.
        b.click("#lang-switch").await;
        b.wait_text("#lang-switch", "中文").await;
        b.sign_in_ok("shegong").await;
        b.open(&format!("/sheets/{id}")).await;
        b.wait_text("#sheet-totals", "¥75.50").await;
        let entry = b.find("#sheet-entries details").await;
        let eid = entry.attr("id").await.unwrap().unwrap_or_default();
        b.click(&format!("#{eid} summary")).await;
        fill(&b, &format!("#{eid} input[name=q1]"), "0").await;
        fill(&b, &format!("#{eid} input[name=reason]"), "蓝莓缺货").await;
        b.assert_fits("the entries with the correction form (English)")
            .await;
        b.click(&format!("#{eid} button[type=submit]")).await;
        b.wait_text("#sheet-done", "Corrected").await;
        b.wait_text("#sheet-total", "¥60.00").await;
        b.wait_text("#sheet-corrections", "蓝莓缺货").await;
        b.wait_text("#sheet-corrections", "Before").await;
        b.assert_fits("the sheet after the correction (English)")
            .await;
        b.screenshot("sheet-organiser-phone-en").await;
        // The export for the supplier: a workbook.
        let href = b
            .find("#sheet-export")
            .await
            .attr("href")
            .await
            .unwrap()
            .unwrap_or_default();
        assert_eq!(href, format!("/sheets/{id}/export.xlsx"));
        let r = reqwest::Client::new()
            .get(format!("{}/api/v1/sheets/{id}/export.xlsx", b.base))
            .bearer_auth(&shegong)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let bytes = r.bytes().await.unwrap();
        assert!(bytes.starts_with(b"PK"), "an XLSX (zip) workbook");
        // The supplier has nothing more: she closes the sheet early, with the reason.
        b.click("#sheet-close summary").await;
        fill(&b, "#sheet-close-form input[name=reason]", "供应商草莓已售完").await;
        b.click("#sheet-close-submit").await;
        b.wait_text("#sheet-done", "Closed early").await;
        b.wait_text("#sheet-closed-early", "供应商草莓已售完").await;
        b.find("#sheet-closed").await;
        assert!(!b.has("#sheet-close-form").await, "closed once");
        b.assert_fits("the sheet closed early (English)").await;
        b.screenshot("sheet-closed-phone-en").await;
        b.sign_out().await;

        // The resident sees the correction on her entry.
        b.click("#lang-switch").await;
        b.wait_text("#lang-switch", "English").await;
        b.sign_in_ok("jumin").await;
        b.open(&format!("/sheets/{id}")).await;
        b.wait_text("#sheet-corrections", "蓝莓缺货").await;
        b.wait_text("#sheet-total", "¥60.00").await;
        // Closed early: the reason shown, no form to change her entry.
        b.wait_text("#sheet-closed-early", "发起人已提前结束").await;
        b.wait_text("#sheet-closed-early", "供应商草莓已售完").await;
        assert!(!b.has("#sheet-entry").await, "no more changes");
        b.assert_fits("the sheet closed early (Chinese)").await;
    })
    .await;
}
