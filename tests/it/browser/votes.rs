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

/// The numbers in a text, in order ("Took part 3 / 40" → [3, 40]).
fn numbers(t: &str) -> Vec<u32> {
    t.split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Picks the first owner waiting and "for", and chooses `file` as the ballot's scan.
async fn fill_ballot(b: &Browser, file: &str) {
    b.click("#enter-elector option:nth-child(2)").await;
    b.click("#enter-choice-for").await;
    b.find("#enter-file")
        .await
        .send_keys(file)
        .await
        .expect("choose the file");
}

/// A community worker enters a paper ballot on a phone, in English (issue 22 part 4): from the
/// vote to the entry form, a file that is no scan refused with the reason and nothing counted,
/// then an owner's paper ballot with its scan, listed with its evidence, and participation
/// grown by one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_enters_a_paper_ballot_with_its_scan_on_a_phone() {
    let dir = tempfile::tempdir().expect("a folder for the scans");
    let scan = dir.path().join("ballot.png");
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(8, 8)
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("a picture");
    std::fs::write(&scan, png.into_inner()).expect("the scan on disk");
    let not_scan = dir.path().join("ballot.txt");
    std::fs::write(&not_scan, "not a scan").expect("a text file on disk");
    let (scan, not_scan) = (
        scan.to_string_lossy().into_owned(),
        not_scan.to_string_lossy().into_owned(),
    );
    browse(390, 844, move |b| async move {
        b.open("/login").await;
        b.sign_in_ok("shegong").await;
        b.click("#lang-switch").await;
        b.wait_text("#lang-switch", "中文").await;
        b.open("/votes").await;
        let vote = b.find("#votes-list li a").await;
        b.follow(&vote).await;
        let enter = b.find("#to-enter").await;
        b.follow(&enter).await;
        b.find("#enter-form").await;
        b.assert_fits("the paper ballot form (English)").await;
        let before = numbers(&b.text("#enter-progress").await);
        assert!(
            before.len() == 2 && before[1] > before[0],
            "owners wait for their ballots: {before:?}"
        );

        // A file that is no scan: refused with the reason, nothing counted.
        fill_ballot(&b, &not_scan).await;
        b.click("#enter-send").await;
        b.find("#enter-error").await;
        assert_eq!(
            numbers(&b.text("#enter-progress").await),
            before,
            "a refused ballot is not counted"
        );
        b.assert_fits("the refused ballot (English)").await;

        // The ballot with its scan: entered, listed with its evidence, counted once.
        fill_ballot(&b, &scan).await;
        b.click("#enter-send").await;
        b.wait_text("#enter-done", "Entered").await;
        b.find("#entered-list a[id^='evidence-']").await;
        assert_eq!(
            numbers(&b.text("#enter-progress").await),
            vec![before[0] + 1, before[1]],
            "the paper ballot is counted once"
        );
        b.assert_fits("the entered ballot (English)").await;
        b.screenshot("paper-ballot-phone").await;
    })
    .await;
}
