//! What visits contribute to the cockpit: home visits made in the last 30 days, per grid. It
//! reads the visits of that window through their index by street and time (`visits_street`),
//! a bounded range, not the whole history.

use crate::store::{Conn, Result, Val, under_paths};

/// The window counted: the last 30 days.
const WINDOW_MS: i64 = 30 * 86_400_000;

fn done(c: &mut dyn Conn, street: i64, paths: &[String], since: i64) -> Result<i64> {
    let mut p: Vec<Val> = vec![street.into(), since.into()];
    let cond = under_paths("place_path", paths, 3, &mut p);
    c.query_i64(
        &format!(
            "SELECT COUNT(*) FROM visits WHERE street_id = $1 AND visited_at >= $2 AND {cond}"
        ),
        &p,
    )
}

/// Visits made under `paths` in the last 30 days.
pub fn done_30(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<Option<f64>> {
    let since = crate::kernel::time::now_ms() - WINDOW_MS;
    Ok(Some(done(c, street, paths, since)? as f64))
}
