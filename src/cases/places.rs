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

/// One mark of the case map: the open cases at a building (or at a place, for cases at none).
#[derive(Clone, Debug)]
pub struct Spot {
    pub place_id: i64,
    pub name: String,
    pub kind: String,
    /// `(lat, lon)` of the place, when it is drawn.
    pub at: Option<(f64, f64)>,
    pub open: i64,
    pub late: i64,
}

/// The open states as an SQL list, which a map of open cases shows (a list, so that an
/// organisation's cases are read by `cases_handler`'s ranges).
fn open_states() -> String {
    let list: Vec<String> = super::State::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!("({})", list.join(", "))
}

/// At most this many marks on one map (a street has a few hundred buildings).
const MAX_SPOTS: usize = 3000;

/// The marks of open cases under `paths`, read from `case_spots` (kept by triggers on every
/// change to a case), worst first: the cost follows the buildings shown, not the cases.
pub fn spots_under(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<Spot>> {
    let mut p = Vec::new();
    let cond = under_paths("s.place_path", paths, 1, &mut p);
    let rows = c.query(
        &format!(
            "SELECT s.place_id, pl.name, pl.kind, pl.geojson, s.open, s.late FROM case_spots s \
             JOIN places pl ON pl.id = s.place_id WHERE s.open > 0 AND {cond} \
             ORDER BY s.late DESC, s.open DESC, s.place_id LIMIT {MAX_SPOTS}"
        ),
        &p,
    )?;
    Ok(rows.into_iter().map(spot).collect())
}

/// The marks of the open cases dispatched to these organisations (a department's or property
/// company's map shows its own cases only), counted from its cases: as many as it handles.
pub fn spots_of_orgs(c: &mut dyn Conn, orgs: &[i64]) -> Result<Vec<Spot>> {
    if orgs.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = orgs.iter().map(|o| o.to_string()).collect();
    let rows = c.query(
        &format!(
            "SELECT pl.id, pl.name, pl.kind, pl.geojson, COUNT(*), \
             SUM(CASE WHEN c.clock IN ('accept', 'resolve') AND c.level > 0 THEN 1 ELSE 0 END) \
             FROM cases c JOIN places pl ON pl.id = COALESCE(c.building_id, c.place_id) \
             WHERE c.handler_org_id IN ({}) AND c.state IN {} \
             GROUP BY pl.id, pl.name, pl.kind, pl.geojson \
             ORDER BY 6 DESC, 5 DESC, 1 LIMIT {MAX_SPOTS}",
            list.join(", "),
            open_states()
        ),
        &[],
    )?;
    Ok(rows.into_iter().map(spot).collect())
}

fn spot(r: Row) -> Spot {
    Spot {
        place_id: r.i64(0),
        name: r.str(1),
        kind: r.str(2),
        at: r
            .opt_str(3)
            .and_then(|g| crate::org::geometry::Shape::parse(&g))
            .and_then(|s| s.centre()),
        open: r.i64(4),
        late: r.i64(5),
    }
}
