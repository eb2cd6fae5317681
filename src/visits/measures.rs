//! What visits contribute to the cockpit: home visits made in the last 30 days, per grid. It
//! reads the visits of that window through their index by street and time (`visits_street`),
//! a bounded range, not the whole history, grouped by place in one pass.

use crate::store::{Conn, Result, Val, under_paths};

/// The window counted: the last 30 days.
const WINDOW_MS: i64 = 30 * 86_400_000;

/// Visits made under `paths` in the last 30 days, by place.
pub fn done_30(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<Vec<(String, Vec<i64>)>> {
    let since = crate::kernel::time::now_ms() - WINDOW_MS;
    let mut p: Vec<Val> = vec![street.into(), since.into()];
    let cond = under_paths("place_path", paths, 3, &mut p);
    Ok(c.query(
        &format!(
            "SELECT place_path, COUNT(*) FROM visits WHERE street_id = $1 \
                 AND visited_at >= $2 AND {cond} GROUP BY place_path"
        ),
        &p,
    )?
    .into_iter()
    .map(|r| (r.str(0), vec![r.i64(1)]))
    .collect())
}

/// Persons the visit plans want under `paths` who are overdue today, by the place they live:
/// parts `[overdue, due soon]` (the due list's rule, without names).
pub fn overdue(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<Vec<(String, Vec<i64>)>> {
    let on = crate::kernel::time::today();
    let mut out = Vec::new();
    for s in super::service::streets(c, street)? {
        out.extend(super::service::standing_by_place(c, s, paths, on)?);
    }
    Ok(out)
}
