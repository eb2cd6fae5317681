//! What sweeps contribute to the cockpit: the progress of the open campaigns, per grid — the
//! doors answered out of the doors to knock on. It reads the tasks through their progress
//! index (campaign, grid, building, state), grouped by grid; doors outside any grid (grid 0)
//! count in no grid and in no total.

use crate::store::{Conn, Result, Val, under_paths};

/// (doors answered, doors) of the street's open campaigns, by grid path.
pub fn progress(
    c: &mut dyn Conn,
    street: i64,
    paths: &[String],
) -> Result<Vec<(String, Vec<i64>)>> {
    let mut p: Vec<Val> = vec![street.into()];
    let cond = under_paths("g.path", paths, 2, &mut p);
    Ok(c.query(
        &format!(
            "SELECT g.path, CAST(SUM(CASE WHEN t.state = 'done' THEN 1 ELSE 0 END) AS BIGINT), \
                 COUNT(*) FROM sweep_campaigns k \
                 JOIN sweep_tasks t ON t.campaign_id = k.id \
                 JOIN places g ON g.id = t.grid_id \
                 WHERE k.street_id = $1 AND k.state = 'open' AND {cond} GROUP BY g.path"
        ),
        &p,
    )?
    .into_iter()
    .map(|r| (r.str(0), vec![r.i64(1), r.i64(2)]))
    .collect())
}

/// The share answered, 0–100 to one decimal; nothing to measure without an open campaign.
pub fn share(v: &[i64]) -> Option<f64> {
    (v.get(1).copied().unwrap_or(0) > 0)
        .then(|| (v[0] as f64 * 1000.0 / v[1] as f64).round() / 10.0)
}
