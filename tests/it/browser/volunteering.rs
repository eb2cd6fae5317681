//! Volunteering in a browser (issue 25 part 1), on a phone: a resident signs up for an
//! activity, checks in with the code the organiser shows at the place, the organiser checks
//! her out and her points appear; she redeems an item of the catalogue and sees her code; the
//! committee's worker confirms it and restocks the item. In Chinese for the resident, in
//! English for the organiser.

use super::*;

/// A time `minutes` from now as the form takes it, in China Standard Time.
fn when(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::minutes(minutes))
        .with_timezone(&linli::kernel::time::zone())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

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

/// The number in `css`'s text (a balance).
async fn number(b: &Browser, css: &str) -> i64 {
    let t = b.text(css).await;
    t.trim()
        .parse()
        .unwrap_or_else(|_| panic!("`{css}` should be a number, says {t:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_serves_earns_points_and_redeems_them_on_a_phone() {
    browse_db(390, 844, |b, db| async move {
        const A: &str = "/api/v1/volunteering";
        // The organiser publishes an activity at her community (the demo's coming one's place).
        let shegong = api_token(&b.base, "shegong").await;
        let (s, list) = api(&b.base, &shegong, "GET", &format!("{A}/activities"), json!({})).await;
        assert_eq!(s, 200, "{list}");
        let place = list[0]["activity"]["place_id"].as_i64().expect("a place");
        let (s, a) = api(
            &b.base,
            &shegong,
            "POST",
            &format!("{A}/activities"),
            json!({"title": "小区绿地捡拾垃圾", "starts_at": when(10), "ends_at": when(130),
                   "place_id": place, "capacity": 5, "skills": [], "rate": 10}),
        )
        .await;
        assert_eq!(s, 201, "{a}");
        let id = a["id"].as_i64().unwrap();

        // The organiser's page shows the code to put up at the place.
        b.open("/login").await;
        b.sign_in_ok("shegong").await;
        b.open(&format!("/volunteering/{id}")).await;
        let code = b.text("#vol-code").await.trim().to_string();
        assert_eq!(code.len(), 6, "a six-digit code: {code:?}");
        b.wait_text("#vol-signups", "还没有人报名").await;
        b.assert_fits("the organiser's activity page (Chinese)").await;
        b.screenshot("vol-organiser-phone-zh").await;
        b.sign_out().await;

        // The resident finds it, signs up, and checks in with the code.
        b.sign_in_ok("jumin").await;
        b.open("/volunteering").await;
        b.assert_fits("the activities (Chinese)").await;
        let link = b.find(&format!("#activity-{id} a")).await;
        b.follow(&link).await;
        b.wait_text("#vol-counts", "0").await;
        b.click("#vol-signup").await;
        b.wait_text("#flash", "报名成功").await;
        b.wait_text("#vol-mine", "已报名").await;
        let box_ = b.find("#vol-code-form input[name=code]").await;
        box_.send_keys("000000").await.expect("type a wrong code");
        b.click("#vol-code-submit").await;
        b.wait_text("#vol-error", "签到码").await;
        let box_ = b.find("#vol-code-form input[name=code]").await;
        box_.clear().await.expect("clear the code");
        box_.send_keys(&code).await.expect("type the code");
        b.click("#vol-code-submit").await;
        b.wait_text("#flash", "签到成功").await;
        b.wait_text("#vol-mine", "签到于").await;
        b.assert_fits("the activity after checking in").await;
        b.screenshot("vol-checked-in-phone").await;
        // Nothing earned yet.
        b.open("/volunteering/points").await;
        assert_eq!(number(&b, "#vol-balance").await, 0);
        b.find("#vol-entries-empty").await;
        b.sign_out().await;

        // Two hours later (the clock set back, as in the integration tests) the organiser,
        // in English, checks her out: 2 hours at 10 an hour.
        db.write(move |c| {
            c.exec(
                "UPDATE vol_signups SET checked_in_at = checked_in_at - 7200000 WHERE activity_id = $1",
                linli::params![id],
            )
        })
        .await
        .expect("set the clock back");
        b.click("#lang-switch").await;
        b.wait_text("#lang-switch", "中文").await;
        b.sign_in_ok("shegong").await;
        b.open(&format!("/volunteering/{id}")).await;
        b.wait_text("#vol-signups", "Signed up").await;
        let out = b.find("#vol-signups li form.buttons button").await;
        let label = out.text().await.unwrap_or_default();
        assert!(label.contains("Check out"), "the button checks her out: {label:?}");
        out.click().await.expect("check her out");
        b.wait_text("#flash", "Checked out").await;
        b.wait_text("#vol-signups", "2.0 hours").await;
        b.wait_text("#vol-signups", "20 points").await;
        b.assert_fits("the organiser's activity page (English)").await;
        b.screenshot("vol-organiser-phone-en").await;
        b.sign_out().await;

        // Back in Chinese, the resident sees her points and redeems the committee's item.
        b.click("#lang-switch").await;
        b.wait_text("#lang-switch", "English").await;
        b.sign_in_ok("jumin").await;
        b.wait_text("#home-vol-balance", "20").await;
        b.open("/volunteering/points").await;
        assert_eq!(number(&b, "#vol-balance").await, 20);
        b.wait_text("#vol-entries", "+20").await;
        b.wait_text("#vol-entries", "小区绿地捡拾垃圾").await;
        b.assert_fits("her points (Chinese)").await;
        b.screenshot("vol-points-phone").await;
        b.open("/volunteering/catalogue").await;
        assert_eq!(number(&b, "#vol-balance").await, 20);
        let items = b.find_all("#vol-items li").await;
        let mut item_id = None;
        for li in items {
            if li.text().await.unwrap_or_default().contains("环保洗衣液") {
                let lid = li.attr("id").await.unwrap().unwrap_or_default();
                item_id = lid.strip_prefix("item-").map(str::to_string);
            }
        }
        let item_id = item_id.expect("the committee's washing liquid in the catalogue");
        b.wait_text(&format!("#item-{item_id}"), "20 积分").await;
        b.click(&format!("#redeem-{item_id}")).await;
        b.wait_text("#flash", "兑换成功").await;
        assert_eq!(number(&b, "#vol-balance").await, 0, "20 points spent");
        b.wait_text("#vol-redemptions", "待领取").await;
        let rcode = b.text("#vol-redemptions .redeem-code").await;
        assert_eq!(rcode.len(), 8, "an eight-character code: {rcode:?}");
        // With nothing left, a second redemption is refused with the reason.
        let (s, e) = api(
            &b.base,
            &api_token(&b.base, "jumin").await,
            "POST",
            &format!("{A}/items/{item_id}/redeem"),
            json!({}),
        )
        .await;
        assert_eq!(s, 409, "{e}");
        b.assert_fits("the catalogue with her code").await;
        b.screenshot("vol-redeemed-phone").await;
        b.sign_out().await;

        // The committee's worker confirms the code at the counter, in English.
        b.click("#lang-switch").await;
        b.wait_text("#lang-switch", "中文").await;
        b.sign_in_ok("shegong").await;
        b.open("/volunteering/confirm").await;
        b.find("#vol-confirm input[name=code]")
            .await
            .send_keys(&rcode.to_lowercase())
            .await
            .expect("type the code");
        b.click("#vol-confirm button[type=submit]").await;
        b.wait_text("#flash", "Confirmed").await;
        b.wait_text("#vol-confirmed", "环保洗衣液").await;
        b.wait_text("#vol-confirmed", &rcode).await;
        b.assert_fits("the confirmation (English)").await;
        b.screenshot("vol-confirm-phone-en").await;
        // Twice is refused with the reason.
        b.find("#vol-confirm input[name=code]")
            .await
            .send_keys(&rcode)
            .await
            .expect("type the code again");
        b.click("#vol-confirm button[type=submit]").await;
        b.wait_text("#vol-error", "already").await;
        // The committee restocks the washing liquid; the restock is shown with who did it.
        b.open("/volunteering/catalogue").await;
        b.click(&format!("#item-{item_id} details summary")).await;
        b.find(&format!("#restock-{item_id} input[name=added]"))
            .await
            .send_keys("5")
            .await
            .expect("type the pieces added");
        b.click(&format!("#restock-{item_id} button[type=submit]"))
            .await;
        b.wait_text("#flash", "Restocked").await;
        b.wait_text(&format!("#restocked-{item_id}"), "+5").await;
        b.assert_fits("the catalogue with the restock (English)")
            .await;
        b.screenshot("vol-restock-phone-en").await;
        b.sign_out().await;

        // She sees it collected.
        b.click("#lang-switch").await;
        b.wait_text("#lang-switch", "English").await;
        b.sign_in_ok("jumin").await;
        b.open("/volunteering/catalogue").await;
        b.wait_text("#vol-redemptions", "已领取").await;
    })
    .await;
}
