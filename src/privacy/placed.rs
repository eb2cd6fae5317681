//! Privacy's copies of places' paths follow a moved place (`org::hooks::repath`).

use crate::org::hooks::repath_column;
use crate::store::{Conn, Result};

pub fn repath(c: &mut dyn Conn, old: &str, new: &str) -> Result<u64> {
    Ok(
        repath_column(c, "correction_requests", "place_path", old, new)?
            + repath_column(c, "export_requests", "place_path", old, new)?,
    )
}
