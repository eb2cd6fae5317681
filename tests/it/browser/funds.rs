//! Community funds in a browser (issue 25 part 4), on a phone: a representative proposes an
//! expense, which does not count yet; one beyond the balance is refused with the reason;
//! another representative approves it by the fund's rule (one of two, never the proposer)
//! and the balance shown drops by its amount. The proposer in Chinese, the approver in
//! English. A proposal withdrawn by its proposer leaves the waiting list and never counts.

use super::*;

/// The balance `#fund-balance` shows, in fen ("余额 ¥123.45" → 12345).
async fn balance(b: &Browser) -> i64 {
    let t = b.text("#fund-balance").await;
    let yuan = t
        .rsplit('¥')
        .next()
        .unwrap_or_default()
        .trim()
        .replace(',', "");
    let (w, f) = yuan.split_once('.').unwrap_or((&yuan, "0"));
    let fen = w.parse::<i64>().ok().zip(f.parse::<i64>().ok());
    let (w, f) = fen.unwrap_or_else(|| panic!("a balance in yuan: {t:?}"));
    w * 100 + f
}

async fn fill(b: &Browser, css: &str, value: &str) {
    let e = b.find(css).await;
    e.clear().await.expect("clear the field");
    e.send_keys(value).await.expect("type into the field");
}

/// The id of the waiting entry whose text holds `purpose`.
async fn waiting_entry(b: &Browser, purpose: &str) -> String {
    for e in b.find_all("#fund-waiting .entry").await {
        if e.text().await.unwrap_or_default().contains(purpose) {
            return e.attr("id").await.unwrap().unwrap_or_default();
        }
    }
    panic!("no waiting entry {purpose:?} {}", b.context().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expense_is_proposed_approved_and_the_balance_drops_on_a_phone() {
    browse(390, 844, |b| async move {
        // The representative finds her building's fund.
        b.open("/login").await;
        b.sign_in_ok("jumin").await;
        b.open("/funds").await;
        b.assert_fits("the funds (Chinese)").await;
        let link = b.find("#funds li a").await;
        let fund = b.follow(&link).await;
        let before = balance(&b).await;
        assert!(before > 0, "the demo fund holds money: {before}");
        b.assert_fits("the fund (Chinese)").await;

        // An expense beyond the balance is refused with the reason, nothing kept.
        let too_much = format!("{}.00", before / 100 + 1);
        fill(&b, "#fund-propose input[name=amount]", &too_much).await;
        fill(&b, "#fund-propose input[name=purpose]", "楼道全部翻新").await;
        b.click("#fund-propose button[type=submit]").await;
        b.wait_text("#fund-error", "余额不够").await;
        assert!(
            !b.text("#fund-waiting").await.contains("楼道全部翻新"),
            "the refused expense is not kept"
        );

        // A new broom for the stairwell: proposed, waiting, not counted.
        fill(&b, "#fund-propose input[name=amount]", "35.50").await;
        fill(&b, "#fund-propose input[name=purpose]", "楼道新扫帚和簸箕").await;
        b.click("#fund-propose button[type=submit]").await;
        b.wait_text("#fund-done", "已提交").await;
        let entry = waiting_entry(&b, "楼道新扫帚和簸箕").await;
        let eid = entry.trim_start_matches("entry-").to_string();
        b.wait_text(&format!("#{entry}"), "35.50").await;
        b.wait_text(&format!("#{entry}"), "0/1").await;
        assert!(
            !b.has(&format!("#approve-{eid}")).await,
            "she does not approve her own entry"
        );
        assert_eq!(balance(&b).await, before, "not counted before approval");
        b.assert_fits("the fund with the waiting entry (Chinese)")
            .await;
        b.screenshot("fund-proposed-phone").await;
        // A second thought: a proposal withdrawn before anyone approves it.
        fill(&b, "#fund-propose input[name=amount]", "12.00").await;
        fill(&b, "#fund-propose input[name=purpose]", "楼道门垫").await;
        b.click("#fund-propose button[type=submit]").await;
        b.wait_text("#fund-done", "已提交").await;
        let mat = waiting_entry(&b, "楼道门垫").await;
        let mat_id = mat.trim_start_matches("entry-").to_string();
        b.click(&format!("#withdraw-{mat_id}")).await;
        b.wait_text("#fund-done", "已撤回").await;
        assert!(!b.has(&format!("#{mat}")).await, "no longer waiting");
        b.click("#fund-withdrawn summary").await;
        b.wait_text(&format!("#withdrawn-{mat_id}"), "楼道门垫")
            .await;
        assert_eq!(balance(&b).await, before, "a withdrawn entry never counts");
        b.sign_out().await;

        // The other representative approves it, in English: one of two is the rule.
        b.click("#lang-switch").await;
        b.wait_text("#lang-switch", "中文").await;
        b.sign_in_ok("zhiyuan").await;
        b.open(&fund).await;
        assert_eq!(balance(&b).await, before);
        b.wait_text("#fund-balance", "Balance").await;
        b.click(&format!("#approve-{eid}")).await;
        b.wait_text("#fund-done", "Approved").await;
        assert_eq!(
            balance(&b).await,
            before - 3_550,
            "the balance drops by ¥35.50"
        );
        b.wait_text(&format!("#line-{eid}"), "楼道新扫帚和簸箕")
            .await;
        b.wait_text(&format!("#line-{eid}"), "-35.50").await;
        assert!(!b.has(&format!("#entry-{eid}")).await, "no longer waiting");
        b.screenshot("fund-approved-phone-en").await;
        b.assert_fits("the fund after the approval (English)").await;
        b.sign_out().await;

        // The proposer sees the new balance in the list too.
        b.click("#lang-switch").await;
        b.wait_text("#lang-switch", "English").await;
        b.sign_in_ok("jumin").await;
        b.open("/funds").await;
        let after = format!("¥{}.{:02}", (before - 3_550) / 100, (before - 3_550) % 100);
        b.wait_text("#funds", &after).await;
    })
    .await;
}
