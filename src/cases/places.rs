//! The places the case pages draw and offer: the grids a map of cases is drawn over, the places
//! a worker reports from, and a street's shapes for the spot picker. Rows come back as read;
//! the pages pick their columns.

use crate::params;
use crate::store::{Conn, Result, Row, under_paths};

/// The drawn grids under `paths`, at most 300, by path: (id, name, geojson).
pub fn drawn_grids(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<Row>> {
    let mut p = Vec::new();
    let cond = under_paths("path", paths, 1, &mut p);
    c.query(
        &format!("SELECT id, name, geojson FROM places WHERE kind = 'grid' AND geojson IS NOT NULL AND {cond} ORDER BY path LIMIT 300"),
        &p,
    )
}

/// The grids and buildings under `paths`, at most 400, by path: (id, name, kind).
pub fn grids_and_buildings(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<Row>> {
    let mut p = Vec::new();
    let cond = under_paths("path", paths, 1, &mut p);
    c.query(
        &format!("SELECT id, name, kind FROM places WHERE kind IN ('grid', 'building') AND {cond} ORDER BY path LIMIT 400"),
        &p,
    )
}

/// A street's drawn shapes (the street, its communities, grids and buildings), by path:
/// (id, name, kind, geojson).
pub fn street_shapes(c: &mut dyn Conn, street: i64) -> Result<Vec<Row>> {
    c.query(
        "SELECT id, name, kind, geojson FROM places WHERE (street_id = $1 OR id = $1) \
         AND kind IN ('street', 'community', 'grid', 'building') AND geojson IS NOT NULL ORDER BY path",
        params![street],
    )
}
