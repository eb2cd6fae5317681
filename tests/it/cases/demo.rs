//! The demo street's history (`linli demo --size street`).

use super::*;

/// The demo street's history (`linli demo --size street`): reports over two months, most taken
/// to the end (verified on site by someone outside the handling organisation, closed, followed
/// up), some still open; late ones were warned and escalated when they fell due, not all at
/// once today; old notifications are read; the organisations' figures have something to say.
#[tokio::test]
async fn the_demo_history_reads_like_a_street() {
    let app = support::spawn().await;
    let street = street_of(&app).await;
    let now = linli::store::now_ms();
    let first = app
        .query_i64("SELECT COALESCE(MAX(id), 0) FROM cases")
        .await;
    let keys = app.state.keys.clone();
    let n = app
        .db
        .write_tx(move |c| linli::cases::demo::seed_history(c, &keys, now, 150, 3))
        .await
        .unwrap();
    assert_eq!(n, 150);
    let (states, verified_apart, escalated_then, unread_old, created) = app
        .db
        .read(move |c| {
            let states: std::collections::HashMap<String, i64> = c
                .query(
                    "SELECT state, COUNT(*) FROM cases WHERE id > $1 GROUP BY state",
                    linli::params![first],
                )?
                .into_iter()
                .map(|r| (r.str(0), r.i64(1)))
                .collect();
            // 巡办分离: no verification by a member of the organisation that handled it.
            let apart = c.query_i64(
                "SELECT COUNT(*) FROM cases k WHERE k.id > $1 AND k.verifier_id IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = k.verifier_id AND r.org_id = k.handler_org_id)",
                linli::params![first],
            )? == c.query_i64(
                "SELECT COUNT(*) FROM cases WHERE id > $1 AND verifier_id IS NOT NULL",
                linli::params![first],
            )?;
            let escalated_then = c.query_i64(
                "SELECT COUNT(*) FROM case_events WHERE case_id > $1 AND action = 'escalated' AND at < $2",
                linli::params![first, now - 86_400_000],
            )?;
            let unread_old = c.query_i64(
                "SELECT COUNT(*) FROM inbox WHERE read_at IS NULL AND created_at < $1",
                linli::params![now - 86_400_000],
            )?;
            let created = c
                .query(
                    "SELECT created_at FROM cases WHERE id > $1",
                    linli::params![first],
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect::<Vec<_>>();
            Ok((states, apart, escalated_then, unread_old, created))
        })
        .await
        .unwrap();
    let count = |s: &str| states.get(s).copied().unwrap_or(0);
    assert!(count("rated") >= 60, "{states:?}");
    let open: i64 = [
        "accepted",
        "dispatched",
        "signed_for",
        "in_progress",
        "resolved",
        "verified",
        "new",
    ]
    .iter()
    .map(|s| count(s))
    .sum();
    assert!(open >= 3, "some are still being handled: {states:?}");
    assert!(
        verified_apart,
        "a verifier outside the handling organisation"
    );
    assert!(
        escalated_then > 0,
        "late cases escalated when they fell due"
    );
    assert_eq!(unread_old, 0, "old notifications are read");
    let day = 86_400_000;
    assert!(created.iter().all(|t| *t < now && *t > now - 61 * day));
    assert!(
        created.iter().any(|t| *t < now - 30 * day) && created.iter().any(|t| *t > now - 7 * day),
        "spread over the two months"
    );
    let figures = app
        .db
        .read(move |c| {
            linli::cases::figures(c, street, "", None, &linli::cases::FigureReach::default())
        })
        .await
        .unwrap();
    let busy: Vec<_> = figures
        .organisations
        .iter()
        .filter(|f| f.resolved > 0)
        .collect();
    assert!(busy.len() >= 3, "{figures:?}");
    assert!(
        busy.iter().any(|f| f.on_time_rate.is_some_and(|r| r < 1.0)),
        "{figures:?}"
    );
    assert!(
        busy.iter()
            .all(|f| f.satisfaction.is_some_and(|s| (1.0..=5.0).contains(&s))),
        "{figures:?}"
    );
}
