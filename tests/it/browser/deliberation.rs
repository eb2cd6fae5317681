//! Deliberation in a browser: a resident supports her neighbour's proposal on a phone.

use super::*;

/// The demo resident opens her proposals on a phone, reads her building's proposal (its
/// timeline, the discussion), supports it with one tap and sees her support counted; the
/// pages fit the phone's width.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_supports_a_proposal_on_a_phone() {
    browse(390, 844, |b| async move {
        b.open("/login").await;
        b.sign_in_ok("jumin").await;
        // From her home page's card.
        let link = b.find("#home-proposals-link").await;
        b.follow(&link).await;
        b.find("#proposals").await;
        b.find("#propose-form").await;
        b.assert_fits("the resident's proposals on a phone").await;
        b.screenshot("proposals-phone").await;
        let link = b
            .find_all("#proposals li a")
            .await
            .into_iter()
            .next()
            .expect("a proposal in her scopes");
        let mut chosen = None;
        for l in b.find_all("#proposals li a").await {
            if l.text().await.unwrap_or_default().contains("声控灯") {
                chosen = Some(l);
            }
        }
        b.follow(&chosen.unwrap_or(link)).await;
        b.find("#timeline").await;
        b.assert_fits("a proposal on a phone").await;
        let before = b.text("#support-count").await;
        b.click("#support-button").await;
        b.find("#supported-note").await;
        let after = b.text("#support-count").await;
        assert_ne!(before, after, "her support is counted");
        assert!(!b.has("#support-button").await, "one support per person");
        b.assert_fits("a supported proposal on a phone").await;
        b.screenshot("proposal-supported-phone").await;
    })
    .await;
}
