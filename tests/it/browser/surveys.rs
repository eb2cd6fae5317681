//! Surveys in a browser (issue 22, part 2): the resident finds the community's satisfaction
//! survey on her home page and answers it on a phone; the worker sees it counted on the results
//! page's charts.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_answers_a_survey_on_a_phone() {
    browse(390, 844, |b| async move {
        b.open("/login").await;
        b.sign_in_ok("jumin").await;
        // The demo street's satisfaction survey waits on her home page.
        b.wait_text("#home-surveys", "居民测评").await;
        b.assert_fits("the resident's home page").await;
        let link = b.find("#home-surveys-open a").await;
        b.follow(&link).await;
        b.find("#answer-form").await;
        let anon = b.text("#survey-anonymous").await;
        assert!(
            anon.contains("匿名"),
            "the form says it is anonymous: {anon}"
        );
        b.assert_fits("the answer form on a phone").await;
        let id: i64 = b
            .path()
            .await
            .trim_start_matches("/surveys/")
            .split('?')
            .next()
            .unwrap_or_default()
            .parse()
            .expect("the survey's id");
        // Sending without the required ratings is refused with a reason, and keeps what she
        // chose.
        b.click("#a2-0").await;
        b.click("#answer-send").await;
        b.wait_text("#answer-error", "必答题").await;
        b.click("#a0-v4").await;
        b.click("#a1-v5").await;
        b.find("#a3-text")
            .await
            .send_keys("希望增加夜间照明")
            .await
            .expect("type a comment");
        b.screenshot("survey-answer-phone").await;
        b.click("#answer-send").await;
        b.wait_text("#survey-answered", "谢谢").await;
        b.assert_fits("the thanks").await;
        b.sign_out().await;

        // The worker sees the answer counted and charted.
        b.sign_in_ok("shegong").await;
        b.open(&format!("/surveys/{id}/results")).await;
        b.find("svg.chart").await;
        b.wait_text("#result-3", "希望增加夜间照明").await;
        b.assert_fits("the results on a phone").await;
        b.screenshot("survey-results-phone").await;
    })
    .await;
}
