//! What notices contribute to the cockpit: how many of the residents a notice went to opened
//! it, over the notices published in the last 30 days, per grid. It reads the receipts kept
//! per building (`notice_buildings`), never the recipients; recipients without a building
//! count in no grid and in no total.

use crate::store::{Conn, Result, Val, under_paths};

/// The window: notices published in the last 30 days.
const WINDOW_MS: i64 = 30 * 86_400_000;

/// (read, recipients) of the notices published in the window, by building path.
pub fn read_rate(
    c: &mut dyn Conn,
    street: i64,
    paths: &[String],
) -> Result<Vec<(String, Vec<i64>)>> {
    let since = crate::kernel::time::now_ms() - WINDOW_MS;
    let mut p: Vec<Val> = vec![street.into(), since.into()];
    let cond = under_paths("b.path", paths, 3, &mut p);
    Ok(c.query(
        &format!(
            "SELECT b.path, CAST(SUM(nb.read_count) AS BIGINT), CAST(SUM(nb.recipients) AS BIGINT) \
                 FROM notices n JOIN notice_buildings nb ON nb.notice_id = n.id \
                 JOIN places b ON b.id = nb.building_id \
                 WHERE n.street_id = $1 AND n.state = 'published' AND n.published_at >= $2 \
                 AND {cond} GROUP BY b.path"
        ),
        &p,
    )?
    .into_iter()
    .map(|r| (r.str(0), vec![r.i64(1), r.i64(2)]))
    .collect())
}

/// The share read, 0–100 to one decimal.
pub fn share(v: &[i64]) -> Option<f64> {
    (v.get(1).copied().unwrap_or(0) > 0)
        .then(|| (v[0] as f64 * 1000.0 / v[1] as f64).round() / 10.0)
}
