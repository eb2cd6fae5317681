//! Owners' votes in a browser: the demo resident votes on the lift retrofit of her stairwell
//! on a phone, and the count shows the four figures.

use super::*;

/// The demo resident, an owner of her stairwell, votes on a phone (issue 22 part 4): from the
/// navigation to the vote waiting for her, her ballot sent and acknowledged, then the count
/// with the four figures against their thresholds and the note on abstentions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_votes_on_a_phone_and_the_count_shows_the_four_figures() {
    browse(390, 844, |b| async move {
        b.open("/login").await;
        b.sign_in_ok("jumin").await;
        let votes = b.find("#home-votes").await;
        b.follow(&votes).await;
        b.find("#votes-list").await;
        b.assert_fits("the votes on a phone").await;
        let waiting = b.find("#votes-list li a").await;
        b.follow(&waiting).await;
        b.find("form.ballot").await;
        b.assert_fits("the vote on a phone").await;
        b.click("form.ballot input[value='for']").await;
        b.click("form.ballot button[type='submit']").await;
        b.find("#ballot-done").await;
        assert!(!b.has("form.ballot").await, "one ballot: the form is gone");
        b.screenshot("vote-phone").await;
        let count = b.find("#to-count").await;
        b.follow(&count).await;
        for id in [
            "#fig-area-part",
            "#fig-heads-part",
            "#fig-area-for",
            "#fig-heads-for",
        ] {
            b.find(id).await;
        }
        let heads = b.text("#fig-heads-part").await;
        assert!(heads.contains('1'), "her ballot is counted: {heads}");
        b.find("#abstain-note").await;
        b.find("#count-basis").await;
        b.assert_fits("the count on a phone").await;
        b.screenshot("vote-count-phone").await;
    })
    .await;
}
