//! The points ledger and what it pays for: redemption confirmed, transfers and reversals; two
//! redemptions of the last piece with one winner; the ledger's property over random
//! movements; restocking; unbalanced movements and spending beyond the balance refused.

use super::*;

#[tokio::test]
async fn points_are_redeemed_confirmed_transferred_and_reversed() {
    let app = support::spawn().await;
    let p = places(&app).await;
    let shegong = app.token("shegong").await;
    let vol = linli::org::Role::Volunteer;
    let (va, va_t) = account(&app, "vol_a", vol, Some(p.community), None, p.street).await;
    let (vb, vb_t) = account(&app, "vol_b", vol, Some(p.community), None, p.street).await;
    earn(&app, &p, va, 40).await;

    // Items: bad ones refused; the committee's and a shop's.
    let item = |offer: &str, org: Option<i64>, cost: i64, stock: i64| json!({"community_id": p.community, "offer": offer, "org_id": org, "title": "环保袋", "cost": cost, "stock": stock});
    for (body, want) in [
        (item("bank", None, 1, 1), "Choose who offers it"),
        (item("committee", None, 0, 1), "between 1 and 100000"),
        (item("committee", None, 1, -1), "Stock must be"),
        (item("shop", None, 1, 1), "a shop (an organisation)"),
        (
            json!({"community_id": p.other, "offer": "committee", "title": "x", "cost": 1, "stock": 1}),
            "community of your places",
        ),
    ] {
        let (s, e) = send(
            &app,
            &shegong,
            "POST",
            &format!("{A}/items"),
            Some(body),
            "en",
        )
        .await;
        assert_eq!(s, 422, "{e}");
        assert!(message(&e).contains(want), "{e}");
    }
    let (s, it) = post(
        &app,
        &shegong,
        &format!("{A}/items"),
        item("committee", None, 15, 2),
    )
    .await;
    assert_eq!(s, 201, "{it}");
    let committee_item = it["id"].as_i64().unwrap();
    let wuye_org = app
        .db
        .read(|c| c.query_i64("SELECT r.org_id FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.username = 'wuye'", &[]))
        .await
        .unwrap();
    let (s, it) = post(
        &app,
        &shegong,
        &format!("{A}/items"),
        item("shop", Some(wuye_org), 10, 5),
    )
    .await;
    assert_eq!(s, 201, "{it}");
    let shop_item = it["id"].as_i64().unwrap();

    // Redeem: the balance must cover it.
    let (s, e) = send(
        &app,
        &vb_t,
        "POST",
        &format!("{A}/items/{committee_item}/redeem"),
        None,
        "en",
    )
    .await;
    assert_eq!(s, 409);
    assert!(message(&e).contains("balance does not cover"), "{e}");
    let (s, r) = post(
        &app,
        &va_t,
        &format!("{A}/items/{committee_item}/redeem"),
        json!({}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let code = r["code"].as_str().unwrap().to_string();
    let spend_txn = r["txn_id"].as_i64().unwrap();
    assert_eq!(balance(&app, &va_t).await, 25);
    let (s, r2) = post(
        &app,
        &va_t,
        &format!("{A}/items/{shop_item}/redeem"),
        json!({}),
    )
    .await;
    assert_eq!(s, 201, "{r2}");
    let shop_code = r2["code"].as_str().unwrap().to_string();
    assert_eq!(balance(&app, &va_t).await, 15);

    // The committee's code: not the shop's to confirm, nor the grid worker's (another place).
    let wuye = app.token("wuye").await;
    let (s, _) = post(
        &app,
        &wuye,
        &format!("{A}/redemptions/confirm"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = post(
        &app,
        &wuye,
        &format!("{A}/redemptions/confirm"),
        json!({"code": "abc"}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, v) = post(
        &app,
        &wuye,
        &format!("{A}/redemptions/confirm"),
        json!({"code": shop_code.to_lowercase()}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["holder"], "vol_a");
    assert!(subjects_have(&app.last_audit_entry().await, va));
    let (s, v) = post(
        &app,
        &shegong,
        &format!("{A}/redemptions/confirm"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["redemption"]["state"], "confirmed");
    let (s, e) = send(
        &app,
        &shegong,
        "POST",
        &format!("{A}/redemptions/confirm"),
        Some(json!({"code": code})),
        "en",
    )
    .await;
    assert_eq!(s, 409);
    assert!(message(&e).contains("already confirmed"), "{e}");
    let jumin = app.token("jumin").await;
    let (s, _) = post(
        &app,
        &jumin,
        &format!("{A}/redemptions/confirm"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(s, 403);

    // Transfers: refused until the street allows them, then within the balance.
    let t = |n: i64| json!({"to": "vol_b", "points": n, "note": "谢谢"});
    let (s, e) = send(
        &app,
        &va_t,
        "POST",
        &format!("{A}/transfers"),
        Some(t(5)),
        "en",
    )
    .await;
    assert_eq!(s, 409);
    assert!(message(&e).contains("does not allow"), "{e}");
    let admin = app.token("admin").await;
    let (s, _) = send(
        &app,
        &admin,
        "PUT",
        &format!("{A}/settings"),
        Some(json!({"transfers": true, "residents": true})),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = post(&app, &va_t, &format!("{A}/transfers"), t(16)).await;
    assert_eq!(s, 409);
    let (s, _) = post(
        &app,
        &va_t,
        &format!("{A}/transfers"),
        json!({"to": "nobody_here", "points": 1}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = post(
        &app,
        &va_t,
        &format!("{A}/transfers"),
        json!({"to": "vol_a", "points": 1}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = post(
        &app,
        &va_t,
        &format!("{A}/transfers"),
        json!({"to": "vol_b", "points": 0}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, tr) = post(&app, &va_t, &format!("{A}/transfers"), t(5)).await;
    assert_eq!(s, 201, "{tr}");
    assert_eq!(
        (balance(&app, &va_t).await, balance(&app, &vb_t).await),
        (10, 5)
    );

    // Reversal: a reason is needed; the committee's spend comes back, with its piece; once.
    let rev = format!("{A}/transactions/{spend_txn}/reverse");
    let (s, _) = post(&app, &shegong, &rev, json!({"reason": " "})).await;
    assert_eq!(s, 422);
    let (s, r) = post(
        &app,
        &shegong,
        &rev,
        json!({"reason": "物品缺货，退回积分"}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let reversal = r["txn_id"].as_i64().unwrap();
    assert_eq!(balance(&app, &va_t).await, 25);
    assert!(subjects_have(&app.last_audit_entry().await, va));
    let (s, _) = post(&app, &shegong, &rev, json!({"reason": "again"})).await;
    assert_eq!(s, 409);
    let (s, _) = post(
        &app,
        &shegong,
        &format!("{A}/transactions/{reversal}/reverse"),
        json!({"reason": "x"}),
    )
    .await;
    assert_eq!(s, 409);
    // A transfer the receiver already spent cannot be taken back below zero.
    let (s, _) = post(
        &app,
        &vb_t,
        &format!("{A}/items/{shop_item}/redeem"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409, "5 points do not buy a 10-point item");
    let (s, _) = post(
        &app,
        &vb_t,
        &format!("{A}/transfers"),
        json!({"to": "vol_a", "points": 5}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, e) = send(
        &app,
        &admin,
        "POST",
        &format!("{A}/transactions/{}/reverse", tr["txn_id"]),
        Some(json!({"reason": "误转"})),
        "en",
    )
    .await;
    assert_eq!(s, 409, "{e}");
    assert!(message(&e).contains("balance does not cover"), "{e}");
    // Nothing edited: the ledger sums to zero, and the entries are all there.
    assert_eq!(
        app.query_i64("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM vol_entries")
            .await,
        0
    );
    let (_, m) = get(&app, &va_t, &format!("{A}/points")).await;
    let reversed = m["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reversed"] == true)
        .count();
    assert_eq!(reversed, 1, "{m}");
    // The organiser's balances, audited.
    let (s, bs) = get(&app, &shegong, &format!("{A}/balances")).await;
    assert_eq!(s, 200);
    assert!(
        bs.as_array()
            .unwrap()
            .iter()
            .any(|b| b["user_id"] == va && b["balance"] == 30),
        "{bs}"
    );
    assert!(subjects_have(&app.last_audit_entry().await, vb));
    // Pages render for her and for the worker.
    let (b, _) = app.login_page("vol_a", PASSWORD).await;
    for path in [
        "/volunteering",
        "/volunteering/points",
        "/volunteering/catalogue",
    ] {
        let r = b.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let (b, _) = app.login_page("wuye", PASSWORD).await;
    let r = b
        .get(app.url("/volunteering/confirm"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn two_redemptions_of_the_last_piece_have_one_winner() {
    let app = support::spawn().await;
    let p = places(&app).await;
    let shegong = app.token("shegong").await;
    let vol = linli::org::Role::Volunteer;
    let (va, va_t) = account(&app, "vol_a", vol, Some(p.community), None, p.street).await;
    let (vb, vb_t) = account(&app, "vol_b", vol, Some(p.community), None, p.street).await;
    earn(&app, &p, va, 100).await;
    earn(&app, &p, vb, 100).await;
    let before = app.query_i64("SELECT COUNT(*) FROM vol_redemptions").await;
    for round in 0..5 {
        let (s, it) = post(&app, &shegong, &format!("{A}/items"), json!({"community_id": p.community, "offer": "committee", "title": format!("最后一件 {round}"), "cost": 10, "stock": 1})).await;
        assert_eq!(s, 201);
        let id = it["id"].as_i64().unwrap();
        let path = format!("{A}/items/{id}/redeem");
        let (a, b) = tokio::join!(
            post(&app, &va_t, &path, json!({})),
            post(&app, &vb_t, &path, json!({}))
        );
        let mut got = [a.0, b.0];
        got.sort();
        assert_eq!(got, [201, 409], "round {round}: {a:?} {b:?}");
        let n = app.query_i64("SELECT COUNT(*) FROM vol_redemptions").await;
        assert_eq!(n, before + round + 1);
    }
    assert_eq!(
        app.query_i64("SELECT MIN(stock) FROM vol_items WHERE title LIKE '最后一件%'")
            .await,
        0
    );
    // One person, two pieces, points for one: one winner too.
    let (_, it) = post(&app, &shegong, &format!("{A}/items"), json!({"community_id": p.community, "offer": "committee", "title": "两件", "cost": 60, "stock": 2})).await;
    let path = format!("{A}/items/{}/redeem", it["id"]);
    let (vc, vc_t) = account(&app, "vol_c", vol, Some(p.community), None, p.street).await;
    earn(&app, &p, vc, 100).await;
    let (a, b) = tokio::join!(
        post(&app, &vc_t, &path, json!({})),
        post(&app, &vc_t, &path, json!({}))
    );
    let mut got = [a.0, b.0];
    got.sort();
    assert_eq!(got, [201, 409]);
    assert_eq!(balance(&app, &vc_t).await, 40);
}

// ---- the ledger's property ---------------------------------------------------------------

/// A transaction's legs in the model: a person by index (None: not a person) and an amount.
type Legs = Vec<(Option<usize>, i64)>;

#[derive(Clone, Debug)]
enum Op {
    Earn(usize, i64),
    Spend(usize, i64),
    Transfer(usize, usize, i64),
    Reverse(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..3, 1i64..50).prop_map(|(a, n)| Op::Earn(a, n)),
        (0usize..3, 1i64..50).prop_map(|(a, n)| Op::Spend(a, n)),
        (0usize..3, 0usize..3, 1i64..50).prop_map(|(a, b, n)| Op::Transfer(a, b, n)),
        (0usize..40).prop_map(Op::Reverse),
    ]
}

/// Random sequences of earn/spend/transfer/reverse through the ledger: the ledger sums to
/// zero, each balance is the sum of its entries and what a model predicts, no person's
/// balance goes below zero, and a movement is refused exactly when the model says so.
#[tokio::test]
async fn the_ledger_balances_under_random_movements() {
    let app = support::spawn().await;
    let p = places(&app).await;
    let db = app.db.clone();
    let (street, path) = (p.street, p.path.clone());
    tokio::task::spawn_blocking(move || {
        use linli::volunteering::ledger::{self, Txn};
        let counter = std::cell::Cell::new(0i64);
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(24));
        runner
            .run(&proptest::collection::vec(op(), 1..25), |ops| {
                counter.set(counter.get() + 1);
                let case = counter.get();
                let owner = |i: i64| 900_000_000 + case * 10 + i;
                let (path2, path3) = (path.clone(), path.clone());
                let (issuing, committee, people) = db
                    .write_blocking(move |c| {
                        let now = linli::kernel::time::now_ms();
                        let i = ledger::account(c, street, "issuing", owner(9), &path2, now)?;
                        let k = ledger::account(c, street, "committee", owner(8), &path2, now)?;
                        let mut ps = Vec::new();
                        for n in 0..3 {
                            ps.push(ledger::account(c, street, "person", owner(n), &path2, now)?);
                        }
                        Ok((i, k, ps))
                    })
                    .unwrap();
                let mut model = [0i64; 3];
                // Transactions written: (id, kind, legs as person index and amount).
                let mut txns: Vec<(i64, bool, Legs)> = Vec::new();
                let mut reversed: Vec<i64> = Vec::new();
                for o in ops {
                    let t = Txn {
                        street_id: street,
                        kind: "earn",
                        community_path: &path3,
                        reverses: None,
                        reason: "prop",
                        by: 1,
                    };
                    let (expect, legs): (bool, Legs) = match &o {
                        Op::Earn(a, n) => (true, vec![(None, -n), (Some(*a), *n)]),
                        Op::Spend(a, n) => (model[*a] >= *n, vec![(Some(*a), -n), (None, *n)]),
                        Op::Transfer(a, b, n) => (a != b && model[*a] >= *n, vec![(Some(*a), -n), (Some(*b), *n)]),
                        Op::Reverse(k) => match txns.get(*k) {
                            Some((id, is_rev, legs)) => {
                                let ok = !is_rev
                                    && !reversed.contains(id)
                                    && legs.iter().all(|(who, n)| who.is_none_or(|w| model[w] - n >= 0));
                                (ok, legs.iter().map(|(w, n)| (*w, -n)).collect())
                            }
                            None => continue,
                        },
                    };
                    let o2 = o.clone();
                    let target = match &o {
                        Op::Reverse(k) => Some(txns[*k].0),
                        _ => None,
                    };
                    let (pa, pp) = (people.clone(), path3.clone());
                    let got = db.write_tx_blocking(move |c| -> linli::kernel::error::AppResult<i64> {
                        let t = Txn { community_path: &pp, ..t };
                        let now = linli::kernel::time::now_ms();
                        match o2 {
                            Op::Earn(a, n) => ledger::earn(c, &t, issuing, pa[a], n, now),
                            Op::Spend(a, n) => ledger::spend(c, &t, pa[a], committee, n, now),
                            Op::Transfer(a, b, n) => ledger::transfer(c, &t, pa[a], pa[b], n, now),
                            Op::Reverse(_) => ledger::reverse(c, target.unwrap_or_default(), "prop", 1, now),
                        }
                    });
                    prop_assert_eq!(got.is_ok(), expect, "{:?} with {:?}: {:?}", o, model, got.as_ref().err().map(|e| e.key.clone()));
                    if let Ok(id) = got {
                        for (w, n) in &legs {
                            if let Some(w) = w {
                                model[*w] += n;
                            }
                        }
                        if let Some(t) = target {
                            reversed.push(t);
                        }
                        txns.push((id, target.is_some(), legs));
                    }
                }
                let ids = people.clone();
                let (total, each) = db
                    .read_blocking(move |c| {
                        let total = c.query_i64("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM vol_entries", &[])?;
                        let unbalanced = c.query_i64(
                            "SELECT COUNT(*) FROM (SELECT txn_id FROM vol_entries GROUP BY txn_id HAVING SUM(amount) <> 0) x",
                            &[],
                        )?;
                        let mut each = Vec::new();
                        for a in ids {
                            let sum = c.query_i64(
                                "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM vol_entries WHERE account_id = $1",
                                linli::params![a],
                            )?;
                            each.push((ledger::balance(c, a)?, sum));
                        }
                        Ok((total + unbalanced, each))
                    })
                    .unwrap();
                prop_assert_eq!(total, 0);
                for (i, (bal, sum)) in each.iter().enumerate() {
                    prop_assert_eq!(bal, sum);
                    prop_assert_eq!(*bal, model[i]);
                    prop_assert!(*bal >= 0);
                }
                Ok(())
            })
            .unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn an_organiser_restocks_an_item_and_the_restock_is_logged() {
    let app = support::spawn().await;
    let p = places(&app).await;
    let shegong = app.token("shegong").await;
    let (s, it) = post(
        &app,
        &shegong,
        &format!("{A}/items"),
        json!({"community_id": p.community, "offer": "committee", "title": "环保袋", "cost": 5, "stock": 1}),
    )
    .await;
    assert_eq!(s, 201, "{it}");
    let id = it["id"].as_i64().unwrap();
    let restock = format!("{A}/items/{id}/restock");

    // Five more: the stock is six, the restock logged with who and the note; audited.
    let (s, v) = post(
        &app,
        &shegong,
        &restock,
        json!({"added": 5, "note": "超市捐赠"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["stock"], 6);
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "change");
    let (s, log) = get(&app, &shegong, &format!("{A}/items/{id}/restocks")).await;
    assert_eq!(s, 200, "{log}");
    assert_eq!(log[0]["added"], 5);
    assert_eq!(log[0]["stock_after"], 6);
    assert_eq!(log[0]["note"], "超市捐赠");
    assert!(!log[0]["by_name"].as_str().unwrap().is_empty());

    // Bad restocks: refused in both languages, the stock unchanged, nothing logged.
    for (body, zh, en) in [
        (json!({"added": 0}), "补充数量", "Pieces added"),
        (json!({"added": -3}), "补充数量", "Pieces added"),
        (json!({"added": 100_000}), "不能超过", "may not pass"),
    ] {
        let (s, v) = post(&app, &shegong, &restock, body.clone()).await;
        assert_eq!(s, 422, "{v}");
        assert!(message(&v).contains(zh), "{v}");
        let (_, v) = send(&app, &shegong, "POST", &restock, Some(body), "en").await;
        assert!(message(&v).contains(en), "{v}");
    }
    let (_, log) = get(&app, &shegong, &format!("{A}/items/{id}/restocks")).await;
    assert_eq!(log.as_array().unwrap().len(), 1);
    let (_, items) = get(&app, &shegong, &format!("{A}/items")).await;
    let stock = items
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["item"]["id"] == id)
        .map(|o| o["item"]["stock"].clone());
    assert_eq!(stock, Some(json!(6)));

    // A volunteer, a resident and a department may not restock (403); another community's
    // worker does not see the item (404); no such item: 404.
    let z = app.token("zhiyuan").await;
    let jumin = app.token("jumin").await;
    let bumen = app.token("bumen").await;
    for t in [&z, &jumin, &bumen] {
        let (s, _) = post(&app, t, &restock, json!({"added": 1})).await;
        assert_eq!(s, 403);
        let (s, _) = get(&app, t, &format!("{A}/items/{id}/restocks")).await;
        assert_eq!(s, 403);
    }
    let (_, other_w) = account(
        &app,
        "sg_other",
        linli::org::Role::CommunityWorker,
        Some(p.other),
        None,
        p.street,
    )
    .await;
    let (s, _) = post(&app, &other_w, &restock, json!({"added": 1})).await;
    assert_eq!(s, 404);
    let (s, _) = get(&app, &other_w, &format!("{A}/items/{id}/restocks")).await;
    assert_eq!(s, 404);
    let (s, _) = post(
        &app,
        &shegong,
        &format!("{A}/items/999999/restock"),
        json!({"added": 1}),
    )
    .await;
    assert_eq!(s, 404);

    // The page: the organiser's form under each item and the last restock shown.
    let (b, _) = app.login_page("shegong", PASSWORD).await;
    let html = app.page(&b, "/volunteering/catalogue").await;
    assert!(html.contains(&format!("restock-{id}")), "the form");
    assert!(html.contains(&format!("restocked-{id}")) && html.contains("+5"));
    let csrf = support::extract_input(&html, "csrf").unwrap();
    let r = b
        .post(app.url(&format!("/volunteering/items/{id}/restock")))
        .form(&[("csrf", csrf.as_str()), ("added", "abc")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("补充数量"));
    let r = b
        .post(app.url(&format!("/volunteering/items/{id}/restock")))
        .form(&[("csrf", csrf.as_str()), ("added", "3"), ("note", "")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let html = app.page(&b, "/volunteering/catalogue?done=restocked").await;
    assert!(html.contains("已补货") && html.contains("+3"), "{html}");
    assert!(
        html.contains(&format!("restocks-{id}")) && html.contains("补后库存 9"),
        "the history: {html}"
    );
    let (_, log) = get(&app, &shegong, &format!("{A}/items/{id}/restocks")).await;
    assert_eq!(log[0]["stock_after"], 9);
    // A resident's catalogue has no restock form.
    let html = app
        .page(
            &app.login_page("jumin", PASSWORD).await.0,
            "/volunteering/catalogue",
        )
        .await;
    assert!(!html.contains("/restock\""));
    app.stop().await;
}

/// The bad input for points, each refused with its reason in Chinese and English and
/// nothing written: a movement whose legs do not balance (the ledger's own guard, below every
/// caller), redeeming more points than the balance, passing more than one holds.
#[tokio::test]
async fn unbalanced_movements_and_spending_beyond_the_balance_are_refused() {
    let app = support::spawn().await;
    let p = places(&app).await;
    let vol = linli::org::Role::Volunteer;
    let (va, va_t) = account(&app, "vol_a", vol, Some(p.community), None, p.street).await;
    let (_, _vb_t) = account(&app, "vol_b", vol, Some(p.community), None, p.street).await;
    earn(&app, &p, va, 5).await;
    let txns = app.query_i64("SELECT COUNT(*) FROM vol_txns").await;

    // Legs that do not sum to zero.
    let (street, community, path) = (p.street, p.community, p.path.clone());
    let err = app
        .db
        .write_tx(move |c| -> linli::kernel::error::AppResult<i64> {
            use linli::volunteering::ledger;
            let now = linli::kernel::time::now_ms();
            let i = ledger::account(c, street, "issuing", community, &path, now)?;
            let a = ledger::account(c, street, "person", va, &path, now)?;
            ledger::post(
                c,
                &ledger::Txn {
                    street_id: street,
                    kind: "transfer",
                    community_path: &path,
                    reverses: None,
                    reason: "test",
                    by: va,
                },
                &[(i, -5), (a, 3)],
                now,
            )
        })
        .await
        .expect_err("an unbalanced movement is refused");
    assert_eq!(err.key, "volunteering.err_unbalanced");
    assert!(
        err.message(linli::kernel::i18n::Lang::Zh)
            .contains("借贷不平衡")
    );
    assert!(
        err.message(linli::kernel::i18n::Lang::En)
            .contains("does not balance")
    );
    assert_eq!(app.query_i64("SELECT COUNT(*) FROM vol_txns").await, txns);

    // Redeeming more than the balance: 5 points do not buy a 20-point item.
    let shegong = app.token("shegong").await;
    let (s, it) = post(
        &app,
        &shegong,
        &format!("{A}/items"),
        json!({"community_id": p.community, "offer": "committee", "title": "雨伞", "cost": 20, "stock": 3}),
    )
    .await;
    assert_eq!(s, 201, "{it}");
    let redeem = format!("{A}/items/{}/redeem", it["id"]);
    let (s, e) = post(&app, &va_t, &redeem, json!({})).await;
    assert_eq!(s, 409, "{e}");
    assert!(message(&e).contains("积分余额不足"), "{e}");
    let (_, e) = send(&app, &va_t, "POST", &redeem, Some(json!({})), "en").await;
    assert!(message(&e).contains("balance does not cover"), "{e}");
    assert_eq!(balance(&app, &va_t).await, 5);

    // Passing more than she holds, where the street allows transfers.
    let admin = app.token("admin").await;
    let (s, _) = send(
        &app,
        &admin,
        "PUT",
        &format!("{A}/settings"),
        Some(json!({"transfers": true, "residents": true})),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 200);
    let body = json!({"to": "vol_b", "points": 6});
    let (s, e) = post(&app, &va_t, &format!("{A}/transfers"), body.clone()).await;
    assert_eq!(s, 409, "{e}");
    assert!(message(&e).contains("积分余额不足"), "{e}");
    let (_, e) = send(
        &app,
        &va_t,
        "POST",
        &format!("{A}/transfers"),
        Some(body),
        "en",
    )
    .await;
    assert!(message(&e).contains("balance does not cover"), "{e}");
    assert_eq!(balance(&app, &va_t).await, 5);
    assert_eq!(app.query_i64("SELECT COUNT(*) FROM vol_txns").await, txns);
    app.stop().await;
}
