//! Mutual aid in a browser, on a phone: a resident posts an offer, a neighbour (the demo
//! volunteer, who lives in the same community) answers with a message, the poster chooses
//! her, and both mark it done.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neighbours_answer_an_offer_and_both_mark_it_done_on_a_phone() {
    browse(390, 844, |b| async move {
        b.open("/login").await;
        b.sign_in_ok("jumin").await;
        b.open("/aid").await;
        b.find("#aid-board").await;
        b.assert_fits("the aid board on a phone").await;
        b.click("#aid-new").await;
        b.find("#aid-form").await;
        b.find("#aid-title")
            .await
            .send_keys("多余的儿童绘本一箱")
            .await
            .expect("type a title");
        b.find("#aid-body")
            .await
            .send_keys("十几本，适合三到六岁，自取。")
            .await
            .expect("type details");
        b.assert_fits("the new post form").await;
        b.click("#aid-create").await;
        b.wait_text("#aid-done", "已发布").await;
        let id: i64 = b
            .path()
            .await
            .trim_start_matches("/aid/")
            .split('?')
            .next()
            .unwrap_or_default()
            .parse()
            .expect("the post's id");
        b.assert_fits("the post page").await;
        b.sign_out().await;

        // The neighbour finds it on the board and writes.
        b.sign_in_ok("zhiyuan").await;
        b.open("/aid").await;
        b.wait_text(&format!("#aid-post-{id}"), "儿童绘本").await;
        b.open(&format!("/aid/{id}")).await;
        b.find("#aid-message")
            .await
            .send_keys("我家孩子四岁，想要，今晚来拿可以吗？")
            .await
            .expect("type a message");
        b.click("#aid-send").await;
        b.wait_text("#aid-messages", "今晚来拿").await;
        b.assert_fits("the conversation on a phone").await;
        b.sign_out().await;

        // The poster reads it, chooses her and marks it done.
        b.sign_in_ok("jumin").await;
        b.find("#home-aid").await;
        b.open(&format!("/aid/{id}")).await;
        b.wait_text("#aid-messages", "今晚来拿").await;
        let choose = b.find_all("#aid-conversations button").await;
        assert_eq!(choose.len(), 1, "one neighbour to choose");
        choose[0].click().await.expect("choose her");
        b.wait_text("#aid-state", "已选定").await;
        b.click("#aid-mark-done").await;
        b.wait_text("#aid-waiting", "等对方确认").await;
        b.screenshot("aid-poster-done-phone").await;
        b.sign_out().await;

        // The neighbour marks it done too: done by both.
        b.sign_in_ok("zhiyuan").await;
        b.open(&format!("/aid/{id}")).await;
        b.click("#aid-mark-done").await;
        b.wait_text("#aid-state", "已完成").await;
        b.assert_fits("the done post").await;
        b.screenshot("aid-done-phone").await;
    })
    .await;
}
