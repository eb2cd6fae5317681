//! Visitors' passes in a browser (issue 28): the demo resident makes a pass on a phone; the
//! guard's page, on a phone at the gate, accepts it once and refuses it the second time.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_made_on_a_phone_is_accepted_once_at_the_gate() {
    browse(390, 844, |b| async move {
        b.open("/login").await;
        b.sign_in_ok("jumin").await;
        b.open("/gates").await;
        b.find("#invite-form").await;
        b.find("#invite-visitor")
            .await
            .send_keys("王阿姨")
            .await
            .expect("type");
        b.click("#invite-submit").await;
        b.wait_path("the passes", |p| p.contains("issued=")).await;
        let code = b.text(".pass.issued code.code").await;
        assert!(code.contains('.'), "a signed code: {code}");
        b.find(".pass.issued svg.qr").await;
        b.assert_fits("the resident's pass on a phone").await;
        b.screenshot("gates-pass-phone").await;
        b.sign_out().await;

        b.sign_in_ok("wuye").await;
        b.open("/gates/guard").await;
        b.assert_fits("the guard's page on a phone").await;
        for (round, want) in [(1, "有效"), (2, "用完")] {
            let input = b.find("#guard-code").await;
            input.clear().await.expect("clear");
            input.send_keys(&code).await.expect("type the code");
            b.click("#guard-check").await;
            b.wait_text("#guard-result", want).await;
            if round == 1 {
                let shown = b.text("#guard-result").await;
                assert!(shown.contains("被访房号"), "{shown}");
                assert!(!shown.contains("王阿姨"), "the unit only: {shown}");
                b.screenshot("gates-guard-valid").await;
                // Clear the answer so that the second one is a new one.
                b.c.execute(
                    "document.getElementById('guard-result').textContent = '';",
                    vec![],
                )
                .await
                .expect("clear the answer");
            }
        }
        b.screenshot("gates-guard-replayed").await;
    })
    .await;
}
