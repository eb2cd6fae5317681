//! What cases keep at a place, for the hierarchy's changes (`org::hooks`): open cases refuse a
//! place's retirement, and a move rewrites the cases' and routes' copies of its path.

use crate::org::hooks::repath_column;
use crate::store::{Conn, Result, under_paths};

/// Cases under `path` that are not finished.
pub fn uses(c: &mut dyn Conn, path: &str) -> Result<Vec<(&'static str, i64)>> {
    let mut p = Vec::new();
    let cond = under_paths("place_path", &[path.to_string()], 1, &mut p);
    let open = c.query_i64(
        &format!(
            "SELECT COUNT(*) FROM cases WHERE state NOT IN ('closed', 'rated', 'merged', 'rejected') AND {cond}"
        ),
        &p,
    )?;
    Ok(vec![("setup.uses.open_cases", open)])
}

pub fn repath(c: &mut dyn Conn, old: &str, new: &str) -> Result<u64> {
    Ok(repath_column(c, "cases", "place_path", old, new)?
        + repath_column(c, "category_routes", "place_path", old, new)?)
}

/// What an organisation still carries: cases it handles that are not finished, and the
/// categories routed to it (which would otherwise route to a retired organisation).
pub fn org_uses(c: &mut dyn Conn, org_id: i64) -> Result<Vec<(&'static str, i64)>> {
    let open = c.query_i64(
        "SELECT COUNT(*) FROM cases WHERE handler_org_id = $1 \
         AND state NOT IN ('closed', 'rated', 'merged', 'rejected')",
        crate::params![org_id],
    )?;
    let routes = c.query_i64(
        "SELECT COUNT(*) FROM category_routes WHERE org_id = $1",
        crate::params![org_id],
    )?;
    Ok(vec![
        ("setup.uses.open_cases", open),
        ("setup.uses.routes", routes),
    ])
}
