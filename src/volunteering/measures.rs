//! What volunteering contributes to the cockpit: the hours of service given at activities that
//! ended in the last 30 days, per grid, by where each activity took place. It reads the
//! activities of that window through their index by place and end, and their sign-ups.

use crate::store::{Conn, Result, Val, under_paths};

/// The window: activities ended in the last 30 days.
const WINDOW_MS: i64 = 30 * 86_400_000;

/// Minutes of service, by the activity's place path.
pub fn minutes(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<Vec<(String, Vec<i64>)>> {
    let now = crate::kernel::time::now_ms();
    let mut p: Vec<Val> = vec![street.into(), (now - WINDOW_MS).into(), now.into()];
    let cond = under_paths("a.place_path", paths, 4, &mut p);
    Ok(c.query(
        &format!(
            "SELECT a.place_path, CAST(COALESCE(SUM(s.minutes), 0) AS BIGINT) \
                 FROM vol_activities a JOIN vol_signups s ON s.activity_id = a.id \
                 WHERE a.street_id = $1 AND a.ends_at >= $2 AND a.ends_at <= $3 AND {cond} \
                 GROUP BY a.place_path"
        ),
        &p,
    )?
    .into_iter()
    .map(|r| (r.str(0), vec![r.i64(1)]))
    .collect())
}

/// Hours, to one decimal.
pub fn hours(v: &[i64]) -> Option<f64> {
    Some((v.first().copied().unwrap_or(0) as f64 / 6.0).round() / 10.0)
}
