//! The cockpit's own SQL: the grids it draws (from `places`, for the viewer's scope) and its
//! daily snapshots of the measures (`cockpit_daily`).

use crate::params;
use crate::store::{Conn, Result, Val, under_paths};

/// A grid (or a community, for the snapshots) as the cockpit draws and asks for it.
#[derive(Clone, Debug)]
pub struct Grid {
    pub id: i64,
    pub name: String,
    pub path: String,
    pub geojson: Option<String>,
}

fn grid(r: crate::store::Row) -> Grid {
    Grid {
        id: r.i64(0),
        name: r.str(1),
        path: r.str(2),
        geojson: r.opt_str(3),
    }
}

/// The places of `kind` of a street under `roots`, in the order of their codes.
pub fn places_of(c: &mut dyn Conn, street: i64, kind: &str, roots: &[String]) -> Result<Vec<Grid>> {
    let mut p: Vec<Val> = vec![street.into(), kind.into()];
    let cond = under_paths("path", roots, 3, &mut p);
    Ok(c.query(
        &format!(
            "SELECT id, name, path, geojson FROM places WHERE street_id = $1 AND kind = $2 \
                 AND {cond} ORDER BY path"
        ),
        &p,
    )?
    .into_iter()
    .map(grid)
    .collect())
}

/// A street's path and name.
pub fn street(c: &mut dyn Conn, street: i64) -> Result<Option<(String, String)>> {
    Ok(c.query_opt(
        "SELECT path, name FROM places WHERE id = $1 AND kind = 'street'",
        params![street],
    )?
    .map(|r| (r.str(0), r.str(1))))
}

/// Every street (the job snapshots each).
pub fn streets(c: &mut dyn Conn) -> Result<Vec<i64>> {
    Ok(c.query(
        "SELECT id FROM places WHERE kind = 'street' ORDER BY id",
        &[],
    )?
    .iter()
    .map(|r| r.i64(0))
    .collect())
}

/// The places with a snapshot of a street on `day` (empty: not taken yet).
pub fn has_day(c: &mut dyn Conn, street: i64, day: &str) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM cockpit_daily WHERE street_id = $1 AND day = $2 LIMIT 1",
        params![street, day],
    )?
    .is_some())
}

/// Writes one snapshot value; a second write of the same day replaces it.
pub fn put(
    c: &mut dyn Conn,
    street: i64,
    measure: &str,
    place: i64,
    day: &str,
    value: Option<f64>,
) -> Result<()> {
    let v: Val = match value {
        Some(x) => Val::Real(x),
        None => Val::Null,
    };
    c.exec(
        "INSERT INTO cockpit_daily (street_id, measure, place_id, day, value) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (street_id, measure, place_id, day) DO UPDATE SET value = excluded.value",
        &[street.into(), measure.into(), place.into(), day.into(), v],
    )?;
    Ok(())
}

/// The snapshots of a measure at `places` since `from` (YYYY-MM-DD): (day, sum of the values,
/// or `None` when no place had one), by day.
pub fn trend(
    c: &mut dyn Conn,
    street: i64,
    measure: &str,
    places: &[i64],
    from: &str,
) -> Result<Vec<(String, Option<f64>)>> {
    if places.is_empty() {
        return Ok(Vec::new());
    }
    let mut p: Vec<Val> = vec![street.into(), measure.into(), from.into()];
    let list: Vec<String> = places
        .iter()
        .map(|id| {
            p.push((*id).into());
            format!("${}", p.len())
        })
        .collect();
    Ok(c
        .query(
            &format!(
                "SELECT day, SUM(value), COUNT(value) FROM cockpit_daily WHERE street_id = $1 AND measure = $2 \
                 AND day >= $3 AND place_id IN ({}) GROUP BY day ORDER BY day",
                list.join(", ")
            ),
            &p,
        )?
        .into_iter()
        .map(|r| {
            let n = r.i64(2);
            (r.str(0), (n > 0).then(|| r.f64(1)))
        })
        .collect())
}
