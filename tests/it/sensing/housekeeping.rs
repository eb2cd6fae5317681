//! Housekeeping: hourly roll-ups, raw readings kept for their days, passes cut short and
//! resumed.

use super::*;

/// (n, sum, min, max) of a device's battery hour, and the device's raw readings left.
async fn battery_hour(app: &support::TestApp, id: i64, h: i64) -> ((i64, f64, f64, f64), i64) {
    let r = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT n, sum, min, max, (SELECT COUNT(*) FROM readings WHERE device_id = $1) \
                 FROM readings_hourly WHERE device_id = $1 AND key = 'battery' AND hour = $2",
                linli::params![id, h],
            )
        })
        .await
        .unwrap();
    ((r.i64(0), r.f64(1), r.f64(2), r.f64(3)), r.i64(4))
}

#[tokio::test]
async fn housekeeping_rolls_up_hours_and_keeps_raw_readings_for_their_days() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let hour = 3_600_000;
    let now = linli::store::now_ms();
    let h0 = now - now % hour - 40 * 24 * hour; // forty days ago, on the hour
    let body: Vec<Value> = (0..6)
        .map(|i| json!({"ts": h0 + i * 600_000, "values": {"battery": 80 + i}}))
        .collect();
    // Forty days ago is "in the past" for the engine's clock too.
    assert_eq!(post(&app, &dev.token, Value::Array(body)).await.0, 200);
    let pass = app
        .db
        .write(move |c| linli::sensing::housekeeping::run_once(c, now, 30, 400))
        .await
        .unwrap();
    assert!(pass.raw_deleted >= 6, "{pass:?}");
    let id = dev.id;
    let hourly = |h: i64| battery_hour(&app, id, h);
    assert_eq!(hourly(h0).await.0, (6, 495.0, 80.0, 85.0));
    // A second pass changes nothing.
    let again = app
        .db
        .write(move |c| linli::sensing::housekeeping::run_once(c, now, 30, 400))
        .await
        .unwrap();
    assert_eq!(again.raw_deleted, 0);
    // Readings that arrive late for an hour past retention are rolled up before they go,
    // by the server's pass too (in short transactions, device by device).
    let mut late: Vec<Value> = (0..3)
        .map(|i| json!({"ts": h0 + 3 * hour + i * 60_000, "values": {"battery": 70 + i}}))
        .collect();
    // One more for the hour already rolled up, whose other readings are gone: it is added.
    late.push(json!({"ts": h0 + 59 * 60_000, "values": {"battery": 99}}));
    assert_eq!(post(&app, &dev.token, Value::Array(late)).await.0, 200);
    let pass = linli::sensing::housekeeping::run_pass(&app.state, now, 30, 400)
        .await
        .unwrap();
    assert_eq!(pass.raw_deleted, 4, "{pass:?}");
    assert_eq!(
        hourly(h0 + 3 * hour).await,
        ((3, 213.0, 70.0, 72.0), 0),
        "rolled up, and the raw readings gone"
    );
    assert_eq!(
        hourly(h0).await.0,
        (7, 594.0, 80.0, 99.0),
        "the late reading joins its hour's six"
    );
}

#[tokio::test]
async fn a_housekeeping_pass_cut_short_is_resumed_without_losing_an_hour() {
    use linli::sensing::housekeeping as hk;
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let (hour, id) = (3_600_000, dev.id);
    let now = linli::store::now_ms();
    let h0 = now - now % hour - 40 * 24 * hour;
    let six: Vec<Value> = (0..6)
        .map(|i| json!({"ts": h0 + i * 600_000, "values": {"battery": 80 + i}}))
        .collect();
    assert_eq!(post(&app, &dev.token, Value::Array(six)).await.0, 200);
    // A pass handles this device's chunk (rolls its hour up, deletes the raw readings past
    // retention) and stops there: the process is killed before the pass ends.
    let deleted = app
        .db
        .write(move |c| {
            let plan = hk::plan(c, now, 30)?;
            hk::run_chunk(c, &plan, id, id + 1)
        })
        .await
        .unwrap();
    assert_eq!(deleted, 6);
    assert_eq!(
        battery_hour(&app, id, h0).await,
        ((6, 495.0, 80.0, 85.0), 0)
    );
    // A reading for that hour arrives late; the next pass adds it to the six already counted
    // rather than recomputing the hour from the one reading left.
    let late = json!([{"ts": h0 + 59 * 60_000, "values": {"battery": 99}}]);
    assert_eq!(post(&app, &dev.token, late).await.0, 200);
    let pass = hk::run_pass(&app.state, now, 30, 400).await.unwrap();
    assert_eq!(pass.raw_deleted, 1, "{pass:?}");
    assert_eq!(
        battery_hour(&app, id, h0).await,
        ((7, 594.0, 80.0, 99.0), 0)
    );
    // Raw retention lengthened to 60 days: the hour's readings are gone all the same, so a
    // late one is still added, not made the whole hour.
    let late = json!([{"ts": h0 + 58 * 60_000, "values": {"battery": 50}}]);
    assert_eq!(post(&app, &dev.token, late).await.0, 200);
    app.db
        .write(move |c| hk::run_once(c, now, 60, 400))
        .await
        .unwrap();
    assert_eq!(
        battery_hour(&app, id, h0).await,
        ((8, 644.0, 50.0, 99.0), 0)
    );
    // Retention turned off: late readings below the old cut are still added once, and go.
    let late = json!([{"ts": h0 + 57 * 60_000, "values": {"battery": 6}}]);
    assert_eq!(post(&app, &dev.token, late).await.0, 200);
    for _ in 0..2 {
        app.db
            .write(move |c| hk::run_once(c, now, 0, 400))
            .await
            .unwrap();
    }
    assert_eq!(battery_hour(&app, id, h0).await, ((9, 650.0, 6.0, 99.0), 0));
}

/// Readings rolled up for a device's battery (count, sum) and raw readings left before `t`.
async fn battery_totals(app: &support::TestApp, id: i64, t: i64) -> ((i64, f64), i64) {
    let r = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT), CAST(COALESCE(SUM(sum), 0) AS DOUBLE PRECISION), \
                 (SELECT COUNT(*) FROM readings WHERE device_id = $1 AND ts < $2) \
                 FROM readings_hourly WHERE device_id = $1 AND key = 'battery' AND hour < $2",
                linli::params![id, t],
            )
        })
        .await
        .unwrap();
    ((r.i64(0), r.f64(1)), r.i64(2))
}

#[tokio::test]
async fn a_device_with_many_expired_readings_is_cut_in_slices_that_survive_a_crash() {
    use linli::sensing::housekeeping as hk;
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let dev = door_in_grid(&app, &admin).await;
    let (hour, day, id) = (3_600_000, 86_400_000, dev.id);
    let now = linli::store::now_ms();
    let h0 = now - now % hour - 40 * day;
    // Four readings a day for thirty days, all past a three-day retention.
    let body: Vec<Value> = (0..120)
        .map(|i| json!({"ts": h0 + (i / 4) * day + (i % 4) * 600_000, "values": {"battery": i}}))
        .collect();
    assert_eq!(post(&app, &dev.token, Value::Array(body)).await.0, 200);
    let cut = now - 3 * day;
    let expected = (120, (0..120).sum::<i64>() as f64);
    // Aiming at 20 readings per transaction, the one device is cut in six slices.
    let (plan, cuts, expired) = app
        .db
        .read(move |c| {
            let plan = hk::plan(c, now, 3)?;
            let expired = hk::expired(c, &plan, id, id + 1)?;
            let cuts = hk::slices(c, &plan, id, expired, 20)?;
            Ok((plan, cuts, expired))
        })
        .await
        .unwrap();
    assert_eq!(expired, 120);
    assert_eq!(cuts.len(), 6, "{cuts:?}");
    assert!(cuts.windows(2).all(|w| w[0] < w[1]) && cuts.iter().all(|t| t % hour == 0));
    // Two slices run, each its own transaction, then the process dies.
    let mut sliced = 0;
    for &to in &cuts[..2] {
        let plan = plan.clone();
        let n = app
            .db
            .write(move |c| hk::run_slice(c, &plan, id, to))
            .await
            .unwrap();
        assert!((1..=30).contains(&n), "a slice deletes about 20, not {n}");
        sliced += n;
    }
    let ((rolled, _), left) = battery_totals(&app, id, cuts[1]).await;
    assert_eq!(left, 0, "the slices' readings went");
    assert!(rolled > 0 && rolled < 120);
    // A reading for the first day arrives late: its hour is already rolled up and its raw
    // readings gone, so it is added, not made the whole hour.
    let late = json!([{"ts": h0 + 30 * 60_000, "values": {"battery": 1000}}]);
    assert_eq!(post(&app, &dev.token, late).await.0, 200);
    // The next pass (in transactions of about 20 readings) resumes from the slices' cut.
    let pass = hk::run_pass_with(&app.state, now, 3, 400, 20)
        .await
        .unwrap();
    assert_eq!(pass.raw_deleted + sliced, 121, "{pass:?}");
    assert_eq!(
        battery_totals(&app, id, cut).await,
        ((expected.0 + 1, expected.1 + 1000.0), 0),
        "every reading counted once, none left past retention"
    );
    assert_eq!(
        battery_hour(&app, id, h0).await.0,
        (5, 0.0 + 1.0 + 2.0 + 3.0 + 1000.0, 0.0, 1000.0)
    );
    // The pass ended: nothing partial is left, and another pass changes nothing.
    hk::run_pass_with(&app.state, now, 3, 400, 20)
        .await
        .unwrap();
    assert_eq!(
        battery_totals(&app, id, cut).await,
        ((expected.0 + 1, expected.1 + 1000.0), 0)
    );
    let partial = app
        .db
        .read(|c| linli::store::meta(c, "sensing_raw_cut_partial"))
        .await
        .unwrap();
    assert_eq!(partial, None);
}
