//! What sensing contributes to the cockpit: alerts active now and devices online, per grid.
//! Both read the current state of the street's alerts (the `active` ones: at most one per rule
//! and device) and devices, never the history of readings or of cleared alerts, grouped by
//! place in one pass (`http::area::summed` adds them up per grid).

use crate::store::{Conn, Result, Val, under_paths};

pub fn active_alerts(
    c: &mut dyn Conn,
    street: i64,
    paths: &[String],
) -> Result<Vec<(String, Vec<i64>)>> {
    let mut p: Vec<Val> = vec![street.into()];
    let cond = under_paths("place_path", paths, 2, &mut p);
    Ok(c.query(
        &format!(
            "SELECT place_path, COUNT(*) FROM alerts WHERE street_id = $1 AND active = 1 \
                 AND {cond} GROUP BY place_path"
        ),
        &p,
    )?
    .into_iter()
    .map(|r| (r.str(0), vec![r.i64(1)]))
    .collect())
}

pub fn devices_online(
    c: &mut dyn Conn,
    street: i64,
    paths: &[String],
) -> Result<Vec<(String, Vec<i64>)>> {
    let mut p: Vec<Val> = vec![street.into(), crate::kernel::time::now_ms().into()];
    let cond = under_paths("d.place_path", paths, 3, &mut p);
    Ok(c.query(
        &format!(
            "SELECT d.place_path, COUNT(*) FROM devices d \
                 JOIN device_profiles f ON f.id = d.profile_id \
                 WHERE d.street_id = $1 AND d.active = 1 AND d.last_seen_at IS NOT NULL \
                 AND $2 - d.last_seen_at <= f.report_interval_s * 1000 AND {cond} \
                 GROUP BY d.place_path"
        ),
        &p,
    )?
    .into_iter()
    .map(|r| (r.str(0), vec![r.i64(1)]))
    .collect())
}
