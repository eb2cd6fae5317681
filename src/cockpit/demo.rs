//! What the demo street needs of the cockpit: trends to look at. The demo has no history of
//! days, so its first start takes today's snapshot and draws the 89 days before it from today's
//! values with a small deterministic wobble (a demo's figures, never a real street's).

use std::sync::Arc;

use crate::state::AppState;

use super::store;

/// Fills the 89 days before today from today's snapshot, once (days already there are kept).
pub async fn history(state: &Arc<AppState>) -> anyhow::Result<()> {
    super::service::snapshot(state).await?;
    let today = crate::kernel::time::today();
    let day = today.format("%Y-%m-%d").to_string();
    let rows = state
        .db
        .read(move |c| {
            Ok(c.query(
                "SELECT street_id, measure, place_id, value FROM cockpit_daily WHERE day = $1",
                crate::params![day],
            )?
            .into_iter()
            .map(|r| (r.i64(0), r.str(1), r.i64(2), r.opt_f64(3)))
            .collect::<Vec<_>>())
        })
        .await?;
    state
        .db
        .write(move |c| {
            for back in 1..90u64 {
                let d = (today - chrono::Days::new(back))
                    .format("%Y-%m-%d")
                    .to_string();
                if store::has_day(c, rows.first().map_or(0, |r| r.0), &d)? {
                    continue;
                }
                for (street, measure, place, v) in &rows {
                    let w = wobble(measure, *place, back);
                    let v = v.map(|x| {
                        if measure.starts_with("cases.on_time")
                            || measure.contains("satisfaction")
                            || measure.contains("hours")
                        {
                            (x * (1.0 + w * 0.1) * 10.0).round() / 10.0
                        } else {
                            (x * (1.0 + w * 0.25)).round().max(0.0)
                        }
                    });
                    store::put(c, *street, measure, *place, &d, v)?;
                }
            }
            Ok(())
        })
        .await?;
    Ok(())
}

/// A number in [-1, 1], the same for the same measure, place and day.
fn wobble(measure: &str, place: i64, back: u64) -> f64 {
    let mut h: u64 = 1469598103934665603;
    for b in measure
        .bytes()
        .chain(place.to_le_bytes())
        .chain(back.to_le_bytes())
    {
        h ^= b as u64;
        h = h.wrapping_mul(1099511628211);
    }
    (h % 2001) as f64 / 1000.0 - 1.0
}
