//! What the registry keeps at a place, for the hierarchy's changes (`org::hooks`): residents
//! refuse a place's retirement, and a move rewrites the registry's copies of its path.

use crate::org::hooks::repath_column;
use crate::store::{Conn, Result, under_paths};

/// Residents (not counting those who have left) and households under `path`.
pub fn uses(c: &mut dyn Conn, path: &str) -> Result<Vec<(&'static str, i64)>> {
    let mut p = Vec::new();
    let cond = under_paths("place_path", &[path.to_string()], 1, &mut p);
    let residents = c.query_i64(
        &format!("SELECT COUNT(*) FROM persons WHERE residence <> 'left' AND {cond}"),
        &p,
    )?;
    Ok(vec![("setup.uses.residents", residents)])
}

/// Rewrites the registry's paths under `old` to lie under `new`; the population figures of
/// the street are counted again by the registry's job.
pub fn repath(c: &mut dyn Conn, old: &str, new: &str) -> Result<u64> {
    let mut n = 0;
    for table in [
        "households",
        "persons",
        "person_grams",
        "unit_owners",
        "rentals",
        "vehicles",
        "export_requests",
        "correction_requests",
    ] {
        n += repath_column(c, table, "place_path", old, new)?;
    }
    // Figures kept per path are stale for both old and new ancestors: dropping the street's
    // rows makes the pages count from the records until the job has counted again.
    let street: Vec<String> = old.split('/').take(2).map(str::to_string).collect();
    if street.len() == 2 {
        let street_path = street.join("/");
        let mut p = Vec::new();
        let cond = under_paths("path", &[street_path], 1, &mut p);
        n += c.exec(&format!("DELETE FROM population_counts WHERE {cond}"), &p)?;
    }
    Ok(n)
}
