//! Notices in a browser (issue 22, part 1): a grid worker writes one on a phone; the resident
//! finds it on her home page, reads and acknowledges it; the worker sees the receipt and her
//! building's unread list.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_reads_and_acknowledges_a_notice_on_a_phone() {
    browse(390, 844, |b| async move {
        // The grid worker writes it on her phone: her grid ticked, acknowledgement asked.
        b.open("/login").await;
        b.sign_in_ok("wangge").await;
        b.open("/notices/new").await;
        b.assert_fits("the notice form").await;
        b.find("#notice-title")
            .await
            .send_keys("电梯停运检修通知")
            .await
            .expect("type the title");
        b.find("#notice-body")
            .await
            .send_keys("明天 9:00-17:00 3 号楼电梯停运检修，请合理安排出行。")
            .await
            .expect("type the text");
        b.click("#notice-places input[type=checkbox]").await;
        b.click("#notice-ack").await;
        b.screenshot("notice-form-phone").await;
        b.click("#notice-publish").await;
        b.wait_path("the notice", |p| p.starts_with("/notices/"))
            .await;
        b.find("#notice-totals").await;
        let id: i64 = b
            .path()
            .await
            .trim_start_matches("/notices/")
            .split('?')
            .next()
            .unwrap_or_default()
            .parse()
            .expect("the notice's id");
        b.assert_fits("the notice's receipts").await;
        b.sign_out().await;

        // The resident: the card on her home page, the notice, the acknowledgement.
        b.sign_in_ok("jumin").await;
        b.wait_text("#home-notices", "电梯停运检修通知").await;
        b.assert_fits("the resident's home page").await;
        let link = b
            .find(&format!("#home-notices a[href='/notices/{id}']"))
            .await;
        b.follow(&link).await;
        b.wait_text("#notice-body", "电梯停运").await;
        b.assert_fits("the notice on a phone").await;
        b.screenshot("notice-resident-phone").await;
        b.click("#notice-ack").await;
        b.wait_text("#notice-acked", "已确认收到").await;
        b.sign_out().await;

        // The worker sees it read and acknowledged, and who in the building has not read it.
        b.sign_in_ok("wangge").await;
        b.open(&format!("/notices/{id}")).await;
        let totals = b.text("#notice-totals").await;
        assert!(totals.contains('1'), "one read and acknowledged: {totals}");
        let building = b.find("#notice-buildings a").await;
        b.follow(&building).await;
        b.find("#unread-list").await;
        b.assert_fits("a building's unread list").await;
        b.screenshot("notice-unread-phone").await;
        let first = b.find("#unread-list form button[value=in_person]").await;
        first.click().await.expect("tell in person");
        b.wait_text("#unread-list li.told", "已当面告知").await;
    })
    .await;
}
