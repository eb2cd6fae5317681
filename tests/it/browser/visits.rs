//! Home visits in a browser (issue 23 part 1): a grid worker opens her due list on a phone,
//! picks someone overdue, records the visit door-side and finds it recorded; the list no longer
//! counts that person as overdue.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_worker_records_a_visit_on_a_phone() {
    browse(390, 844, |b| async move {
        b.open("/login").await;
        b.sign_in_ok("wangge").await;
        // Her home card counts who is due; the list is grouped by building.
        b.find("#home-visits-counts").await;
        b.open("/visits").await;
        b.find("#due-list").await;
        b.assert_fits("the due list").await;
        b.screenshot("visits-due-phone").await;
        let before = b.text("#due-counts").await;
        let first = b.find("#due-list li.overdue a.due-row").await;
        let href = first
            .attr("href")
            .await
            .expect("the row's link")
            .unwrap_or_default();
        b.follow(&first).await;
        b.wait_path("the visit form", |p| p.starts_with("/visits/new"))
            .await;
        b.assert_fits("the visit form").await;
        b.click("#how-door").await;
        b.click("#health-fair").await;
        b.click("#need-meals").await;
        b.find("#visit-notes")
            .await
            .send_keys("腿疼，行动不便；冰箱里菜不多，联系助餐点每天送午饭。")
            .await
            .expect("type the notes");
        b.screenshot("visit-form-phone").await;
        b.click("#visit-save").await;
        b.wait_path("the visit", |p| {
            p.starts_with("/visits/") && !p.starts_with("/visits/new")
        })
        .await;
        b.wait_text("#visit-notes", "助餐点").await;
        b.wait_text("#visit-how", "上门").await;
        b.assert_fits("the visit").await;
        // Back on the list: one overdue fewer, and that person no longer listed as overdue.
        b.open("/visits").await;
        let after = b.text("#due-counts").await;
        assert_ne!(before, after, "the counts moved: {before} → {after}");
        let person = href.trim_start_matches("/visits/new?person=").to_string();
        assert!(
            !b.has(&format!("#due-{person}.overdue")).await,
            "{person} is no longer overdue"
        );
    })
    .await;
}
