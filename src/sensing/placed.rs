//! What sensing keeps at a place, for the hierarchy's changes (`org::hooks`): devices in
//! service refuse a place's retirement, and a move rewrites devices' and alerts' paths.

use crate::org::hooks::repath_column;
use crate::store::{Conn, Result, under_paths};

/// Devices in service under `path`.
pub fn uses(c: &mut dyn Conn, path: &str) -> Result<Vec<(&'static str, i64)>> {
    let mut p = Vec::new();
    let cond = under_paths("place_path", &[path.to_string()], 1, &mut p);
    let devices = c.query_i64(
        &format!("SELECT COUNT(*) FROM devices WHERE active = 1 AND {cond}"),
        &p,
    )?;
    Ok(vec![("setup.uses.devices", devices)])
}

pub fn repath(c: &mut dyn Conn, old: &str, new: &str) -> Result<u64> {
    Ok(repath_column(c, "devices", "place_path", old, new)?
        + repath_column(c, "alerts", "place_path", old, new)?)
}
