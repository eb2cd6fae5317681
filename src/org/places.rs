//! Places of the hierarchy, stored with a materialised path so that "everything under X" is
//! one indexed range query, and the organisations that serve them.

use serde::Serialize;

use crate::params;
use crate::store::{Conn, Result, Row, Val, under_paths};

/// A place with everything the pages and the API show about it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Place {
    pub id: i64,
    pub street_id: Option<i64>,
    pub parent_id: Option<i64>,
    /// district, street, community, grid, building or unit.
    pub kind: String,
    pub code: String,
    pub name: String,
    /// Codes from the top of the tree joined by `/`, e.g. `310115/310115004/c01/g0103`.
    pub path: String,
    pub depth: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floors: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stairwells: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floor_no: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stairwell_no: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_m2: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_use: Option<String>,
    /// GeoJSON geometry (Polygon for communities and grids, Point for buildings).
    #[serde(skip)]
    pub geojson: Option<String>,
}

const COLS: &str = "id, street_id, parent_id, kind, code, name, path, depth, address, estate, \
                    floors, stairwells, floor_no, stairwell_no, area_m2, unit_use, geojson";
/// The same without the geometry, for lists (which never show it).
const LIST_COLS: &str = "id, street_id, parent_id, kind, code, name, path, depth, address, estate, \
                    floors, stairwells, floor_no, stairwell_no, area_m2, unit_use";

fn from_row(mut r: Row) -> Place {
    Place {
        id: r.i64(0),
        street_id: r.opt_i64(1),
        parent_id: r.opt_i64(2),
        kind: r.take_str(3).unwrap_or_default(),
        code: r.take_str(4).unwrap_or_default(),
        name: r.take_str(5).unwrap_or_default(),
        path: r.take_str(6).unwrap_or_default(),
        depth: r.i64(7),
        address: r.take_str(8),
        estate: r.take_str(9),
        floors: r.opt_i64(10),
        stairwells: r.opt_i64(11),
        floor_no: r.opt_i64(12),
        stairwell_no: r.opt_i64(13),
        area_m2: r.opt_f64(14),
        unit_use: r.take_str(15),
        geojson: if r.0.len() > 16 { r.take_str(16) } else { None },
    }
}

/// A place in a list, with the numbers the hierarchy browser shows.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PlaceSummary {
    pub id: i64,
    pub kind: String,
    pub code: String,
    pub name: String,
    pub path: String,
    pub households: i64,
    pub residents: i64,
}

/// One place by id, if it lies within `scope` (the caller's browsable paths).
pub fn get(c: &mut dyn Conn, scope: &[String], id: i64) -> Result<Option<Place>> {
    let mut p = vec![Val::Int(id)];
    let cond = under_paths("path", scope, 2, &mut p);
    let sql = format!("SELECT {COLS} FROM places WHERE id = $1 AND {cond}");
    Ok(c.query_opt(&sql, &p)?.map(from_row))
}

/// One place by path, without a scope: for the command line and for checking new grants.
pub fn by_path(c: &mut dyn Conn, path: &str) -> Result<Option<Place>> {
    let sql = format!("SELECT {COLS} FROM places WHERE path = $1");
    Ok(c.query_opt(&sql, params![path])?.map(from_row))
}

pub fn by_id_unscoped(c: &mut dyn Conn, id: i64) -> Result<Option<Place>> {
    let sql = format!("SELECT {COLS} FROM places WHERE id = $1");
    Ok(c.query_opt(&sql, params![id])?.map(from_row))
}

/// The places at the top of a scope (the places the scope's paths name).
pub fn roots(c: &mut dyn Conn, scope: &[String]) -> Result<Vec<Place>> {
    let mut out = Vec::new();
    for p in scope {
        if let Some(pl) = by_path(c, p)? {
            out.push(pl);
        }
    }
    Ok(out)
}

/// The ancestors of a place from the top, for breadcrumbs, limited to what the scope shows.
pub fn ancestors(c: &mut dyn Conn, scope: &[String], place: &Place) -> Result<Vec<Place>> {
    let parts: Vec<&str> = place.path.split('/').collect();
    let mut out = Vec::new();
    for i in 1..parts.len() {
        let prefix = parts[..i].join("/");
        if crate::org::Scope::covers(scope, &prefix)
            && let Some(p) = by_path(c, &prefix)?
        {
            out.push(p);
        }
    }
    Ok(out)
}

/// The kind and name of every place above the given paths, by path, in one read (to label
/// a place "community › grid › building" in a list).
pub fn names_above(
    c: &mut dyn Conn,
    paths: impl IntoIterator<Item = String>,
) -> Result<std::collections::HashMap<String, (String, String)>> {
    let mut above: Vec<String> = Vec::new();
    for path in paths {
        let parts: Vec<&str> = path.split('/').collect();
        for i in 1..parts.len() {
            let prefix = parts[..i].join("/");
            if !above.contains(&prefix) {
                above.push(prefix);
            }
        }
    }
    let mut names = std::collections::HashMap::new();
    if above.is_empty() {
        return Ok(names);
    }
    let marks: Vec<String> = (1..=above.len()).map(|i| format!("${i}")).collect();
    let vals: Vec<Val> = above.into_iter().map(Val::Text).collect();
    for r in c.query(
        &format!(
            "SELECT path, kind, name FROM places WHERE path IN ({})",
            marks.join(", ")
        ),
        &vals,
    )? {
        names.insert(r.str(0), (r.str(1), r.str(2)));
    }
    Ok(names)
}

/// Households and residents (not counting those who have left) under a path, as the registry
/// counts them (`org::hooks::counts_under`: org keeps places, the registry the people in them).
pub fn counts_under(c: &mut dyn Conn, path: &str) -> Result<(i64, i64)> {
    super::hooks::counts_under(c, path)
}

/// The children of a place, with counts. The caller has already checked the parent's scope.
pub fn children(c: &mut dyn Conn, parent: &Place) -> Result<Vec<PlaceSummary>> {
    let rows = c.query(
        "SELECT id, kind, code, name, path FROM places WHERE parent_id = $1 AND retired_at IS NULL ORDER BY code",
        params![parent.id],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let path = r.str(4);
        let (households, residents) = counts_under(c, &path)?;
        out.push(PlaceSummary {
            id: r.i64(0),
            kind: r.str(1),
            code: r.str(2),
            name: r.str(3),
            path,
            households,
            residents,
        });
    }
    Ok(out)
}

/// The children of a place as full records (a building's units, a grid's buildings).
pub fn children_full(c: &mut dyn Conn, parent_id: i64) -> Result<Vec<Place>> {
    let sql = format!(
        "SELECT {COLS} FROM places WHERE parent_id = $1 AND retired_at IS NULL ORDER BY code"
    );
    Ok(c.query(&sql, params![parent_id])?
        .into_iter()
        .map(from_row)
        .collect())
}

/// Filters for [`list`].
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub kind: Option<String>,
    pub under: Option<String>,
    pub limit: i64,
    pub offset: i64,
    /// Also count every match (a full index range scan: ask only when needed).
    pub with_total: bool,
}

/// One page of [`list`].
pub struct ListPage {
    pub items: Vec<Place>,
    pub has_more: bool,
    pub total: Option<i64>,
}

/// Places within the scope, in path order (the index order, so a page costs its size).
pub fn list(c: &mut dyn Conn, scope: &[String], q: &ListQuery) -> Result<ListPage> {
    let mut p = Vec::new();
    let mut cond = under_paths("path", scope, 1, &mut p);
    cond.push_str(" AND retired_at IS NULL");
    if let Some(under) = &q.under {
        let n = p.len() + 1;
        cond = format!(
            "{cond} AND {}",
            under_paths("path", std::slice::from_ref(under), n, &mut p)
        );
    }
    if let Some(kind) = &q.kind {
        p.push(Val::Text(kind.clone()));
        cond = format!("{cond} AND kind = ${}", p.len());
    }
    let total = if q.with_total {
        Some(c.query_i64(&format!("SELECT COUNT(*) FROM places WHERE {cond}"), &p)?)
    } else {
        None
    };
    p.push(Val::Int(q.limit + 1));
    p.push(Val::Int(q.offset));
    let sql = format!(
        "SELECT {LIST_COLS} FROM places WHERE {cond} ORDER BY path LIMIT ${} OFFSET ${}",
        p.len() - 1,
        p.len()
    );
    let mut items: Vec<Place> = c.query(&sql, &p)?.into_iter().map(from_row).collect();
    let has_more = items.len() as i64 > q.limit;
    items.truncate(q.limit as usize);
    Ok(ListPage {
        items,
        has_more,
        total,
    })
}

/// Counts of places of each kind under a path.
pub fn kind_counts(c: &mut dyn Conn, path: &str) -> Result<Vec<(String, i64)>> {
    let mut p = Vec::new();
    let cond = under_paths("path", &[path.to_string()], 1, &mut p);
    let rows = c.query(
        &format!(
            "SELECT kind, COUNT(*) FROM places WHERE {cond} AND retired_at IS NULL GROUP BY kind"
        ),
        &p,
    )?;
    Ok(rows.iter().map(|r| (r.str(0), r.i64(1))).collect())
}

/// The paths of the places an organisation serves.
pub fn org_serves(c: &mut dyn Conn, org_id: i64) -> Result<Vec<String>> {
    let rows = c.query(
        "SELECT p.path FROM org_places op JOIN places p ON p.id = op.place_id \
         WHERE op.org_id = $1 ORDER BY p.path",
        params![org_id],
    )?;
    Ok(rows.iter().map(|r| r.str(0)).collect())
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Organisation {
    pub id: i64,
    pub street_id: i64,
    pub kind: String,
    pub code: String,
    pub name: String,
}

pub fn org_by_code(c: &mut dyn Conn, code: &str) -> Result<Option<Organisation>> {
    Ok(c.query_opt(
        "SELECT id, street_id, kind, code, name FROM organisations WHERE code = $1 ORDER BY id",
        params![code],
    )?
    .map(|r| Organisation {
        id: r.i64(0),
        street_id: r.i64(1),
        kind: r.str(2),
        code: r.str(3),
        name: r.str(4),
    }))
}

/// Organisations that serve a place or any place above it.
pub fn orgs_serving(c: &mut dyn Conn, path: &str) -> Result<Vec<Organisation>> {
    let parts: Vec<&str> = path.split('/').collect();
    let prefixes: Vec<String> = (1..=parts.len()).map(|i| parts[..i].join("/")).collect();
    let mut out: Vec<Organisation> = Vec::new();
    for pre in prefixes {
        let rows = c.query(
            "SELECT o.id, o.street_id, o.kind, o.code, o.name FROM organisations o \
             JOIN org_places op ON op.org_id = o.id JOIN places p ON p.id = op.place_id \
             WHERE p.path = $1 ORDER BY o.kind, o.code",
            params![pre],
        )?;
        for r in rows {
            if !out.iter().any(|o| o.id == r.i64(0)) {
                out.push(Organisation {
                    id: r.i64(0),
                    street_id: r.i64(1),
                    kind: r.str(2),
                    code: r.str(3),
                    name: r.str(4),
                });
            }
        }
    }
    Ok(out)
}

/// Organisations within a set of paths (those whose street lies in the scope).
pub fn orgs_in(c: &mut dyn Conn, scope: &[String]) -> Result<Vec<Organisation>> {
    let mut p = Vec::new();
    let cond = under_paths("s.path", scope, 1, &mut p);
    let rows = c.query(
        &format!(
            "SELECT DISTINCT o.id, o.street_id, o.kind, o.code, o.name FROM organisations o \
             JOIN org_places op ON op.org_id = o.id JOIN places s ON s.id = op.place_id \
             WHERE {cond} ORDER BY o.kind, o.code"
        ),
        &p,
    )?;
    Ok(rows
        .iter()
        .map(|r| Organisation {
            id: r.i64(0),
            street_id: r.i64(1),
            kind: r.str(2),
            code: r.str(3),
            name: r.str(4),
        })
        .collect())
}
