//! Writing the hierarchy (issue 21): a street office creates, renames, moves and retires its
//! own communities, grids, buildings and units. Every change keeps a version (who, when, from
//! where, each field's old and new value) in `place_versions`.
//!
//! A place's code is a segment of every path below it, so a code never changes; moving a place
//! rewrites its path and its descendants' in one statement, and the areas that copy paths into
//! their own rows follow through `org::hooks::repath`, in the same transaction.

use serde::Serialize;
use serde_json::{Value, json};

use crate::org::places::{self, Place};
use crate::params;
use crate::store::{Conn, Result, StoreError, Val, under_paths};

/// The kinds of place, top down; a place's parent is of the kind before it.
pub const KINDS: [&str; 6] = [
    "district",
    "street",
    "community",
    "grid",
    "building",
    "unit",
];

/// The kind a child of `kind` must be.
pub fn child_kind(kind: &str) -> Option<&'static str> {
    let i = KINDS.iter().position(|k| *k == kind)?;
    KINDS.get(i + 1).copied()
}

/// Checks a place's code: it is one segment of a path, so letters, digits, `-` and `_`, at
/// most 32 characters, no `/`. Full-width digits and letters are folded first.
pub fn check_code(raw: &str) -> std::result::Result<String, &'static str> {
    let code: String = crate::kernel::text::fold_width(raw.trim());
    if code.is_empty() {
        return Err("setup.error.code_empty");
    }
    if code.chars().count() > 32
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("setup.error.code_chars");
    }
    Ok(code)
}

/// Checks a place's name: one line, 1–64 characters.
pub fn check_name(raw: &str) -> std::result::Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("setup.error.name_empty");
    }
    if name.chars().count() > 64 {
        return Err("setup.error.name_long");
    }
    crate::kernel::text::check_line(name)?;
    Ok(name.to_string())
}

/// The fields of a place besides its kind, code and parent, as a form, the API or an import
/// gives them. `None` leaves a field as it is (on edit) or empty (on create).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields {
    pub name: Option<String>,
    pub address: Option<String>,
    pub estate: Option<String>,
    pub floors: Option<i64>,
    pub stairwells: Option<i64>,
    pub floor_no: Option<i64>,
    pub stairwell_no: Option<i64>,
    pub area_m2: Option<f64>,
    pub unit_use: Option<String>,
    /// GeoJSON geometry text, already checked.
    pub geojson: Option<String>,
}

/// Creates a place under `parent`; returns its id. The caller has checked the kind and code.
pub fn insert(
    c: &mut dyn Conn,
    parent: Option<&Place>,
    kind: &str,
    code: &str,
    name: &str,
    f: &Fields,
    now: i64,
) -> Result<i64> {
    let (path, depth, parent_id) = match parent {
        Some(p) => (format!("{}/{code}", p.path), p.depth + 1, Some(p.id)),
        None => (code.to_string(), 0, None),
    };
    let street_id = match parent {
        None => None,
        Some(p) if p.kind == "district" => None,
        Some(p) if p.kind == "street" => Some(p.id),
        Some(p) => p.street_id,
    };
    let row = c
        .query_one(
            "INSERT INTO places (street_id, parent_id, kind, code, name, path, depth, geojson, \
             address, estate, floors, stairwells, floor_no, stairwell_no, area_m2, unit_use, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
             $16, $17) RETURNING id",
            params![
                street_id,
                parent_id,
                kind,
                code,
                name,
                path,
                depth,
                f.geojson.clone(),
                f.address.clone(),
                f.estate.clone(),
                f.floors,
                f.stairwells,
                f.floor_no,
                f.stairwell_no,
                f.area_m2,
                f.unit_use.clone(),
                now
            ],
        )
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict("place_code".into()),
            e => e,
        })?;
    let id = row.i64(0);
    // A street is its own street.
    if kind == "street" {
        c.exec(
            "UPDATE places SET street_id = id WHERE id = $1",
            params![id],
        )?;
    }
    Ok(id)
}

/// Applies the given fields to a place; returns what changed as `{"field": [old, new]}`
/// (empty when nothing did).
pub fn update(
    c: &mut dyn Conn,
    place: &Place,
    f: &Fields,
) -> Result<serde_json::Map<String, Value>> {
    let mut changes = serde_json::Map::new();
    let mut sets: Vec<String> = Vec::new();
    let mut p: Vec<Val> = Vec::new();
    let mut text = |col: &str,
                    old: &Option<String>,
                    new: &Option<String>,
                    sets: &mut Vec<String>,
                    p: &mut Vec<Val>| {
        if let Some(n) = new
            && old.as_deref() != Some(n.as_str())
        {
            changes.insert(col.into(), json!([old, n]));
            p.push(Val::Text(n.clone()));
            sets.push(format!("{col} = ${}", p.len()));
        }
    };
    text(
        "name",
        &Some(place.name.clone()),
        &f.name,
        &mut sets,
        &mut p,
    );
    text("address", &place.address, &f.address, &mut sets, &mut p);
    text("estate", &place.estate, &f.estate, &mut sets, &mut p);
    text("unit_use", &place.unit_use, &f.unit_use, &mut sets, &mut p);
    text("geojson", &place.geojson, &f.geojson, &mut sets, &mut p);
    for (col, old, new) in [
        ("floors", place.floors, f.floors),
        ("stairwells", place.stairwells, f.stairwells),
        ("floor_no", place.floor_no, f.floor_no),
        ("stairwell_no", place.stairwell_no, f.stairwell_no),
    ] {
        if let Some(n) = new
            && old != Some(n)
        {
            changes.insert(col.into(), json!([old, n]));
            p.push(Val::Int(n));
            sets.push(format!("{col} = ${}", p.len()));
        }
    }
    if let Some(n) = f.area_m2
        && place.area_m2 != Some(n)
    {
        changes.insert("area_m2".into(), json!([place.area_m2, n]));
        p.push(Val::Real(n));
        sets.push(format!("area_m2 = ${}", p.len()));
    }
    if !sets.is_empty() {
        p.push(Val::Int(place.id));
        let sql = format!(
            "UPDATE places SET {} WHERE id = ${}",
            sets.join(", "),
            p.len()
        );
        c.exec(&sql, &p)?;
    }
    // The map's geometry is long: the version says it changed, not what it was.
    if let Some(g) = changes.get_mut("geojson") {
        *g = json!(["…", "…"]);
    }
    Ok(changes)
}

/// Moves a place (and everything under it) to a new parent of the same kind as its old one.
/// Returns the old and new path; the caller runs `org::hooks::repath` with them.
pub fn move_under(c: &mut dyn Conn, place: &Place, to: &Place) -> Result<(String, String)> {
    let old = place.path.clone();
    let new = format!("{}/{}", to.path, place.code);
    if places::by_path(c, &new)?.is_some() {
        return Err(StoreError::Conflict("place_code".into()));
    }
    let mut p = vec![
        Val::Text(new.clone()),
        Val::Int(old.chars().count() as i64 + 1),
    ];
    let cond = under_paths("path", std::slice::from_ref(&old), 3, &mut p);
    c.exec(
        &format!("UPDATE places SET path = $1 || substr(path, $2) WHERE {cond}"),
        &p,
    )?;
    c.exec(
        "UPDATE places SET parent_id = $1 WHERE id = $2",
        params![to.id, place.id],
    )?;
    Ok((old, new))
}

/// Marks a place and everything under it retired: lists and pickers no longer show them.
pub fn retire(c: &mut dyn Conn, place: &Place, now: i64) -> Result<u64> {
    let mut p = vec![Val::Int(now)];
    let cond = under_paths("path", std::slice::from_ref(&place.path), 2, &mut p);
    c.exec(
        &format!("UPDATE places SET retired_at = $1 WHERE retired_at IS NULL AND {cond}"),
        &p,
    )
}

/// Whether a place is retired.
pub fn is_retired(c: &mut dyn Conn, id: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM places WHERE id = $1 AND retired_at IS NOT NULL",
        params![id],
    )?
    .is_some())
}

/// Records a version of a place.
pub fn record_version(
    c: &mut dyn Conn,
    place: &Place,
    actor: Option<i64>,
    source: &str,
    changes: &Value,
    now: i64,
) -> Result<()> {
    c.exec(
        "INSERT INTO place_versions (street_id, place_id, at, actor_id, source, changes) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        params![
            place.street_id,
            place.id,
            now,
            actor,
            source,
            changes.to_string()
        ],
    )?;
    Ok(())
}

/// One version of a place, newest first in [`versions`].
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PlaceVersion {
    pub at: i64,
    pub actor: Option<String>,
    pub source: String,
    /// `{"field": [old, new]}`.
    #[schema(value_type = Object)]
    pub changes: Value,
}

pub fn versions(c: &mut dyn Conn, place_id: i64) -> Result<Vec<PlaceVersion>> {
    let rows = c.query(
        "SELECT v.at, u.display_name, v.source, v.changes FROM place_versions v \
         LEFT JOIN users u ON u.id = v.actor_id WHERE v.place_id = $1 ORDER BY v.at DESC, v.id DESC LIMIT 100",
        params![place_id],
    )?;
    Ok(rows
        .into_iter()
        .map(|mut r| PlaceVersion {
            at: r.i64(0),
            actor: r.take_str(1),
            source: r.str(2),
            changes: serde_json::from_str(&r.str(3)).unwrap_or(Value::Null),
        })
        .collect())
}

/// The street, if the database has one: its name and code (`linli init` refuses a second).
pub fn first_street(c: &mut dyn Conn) -> Result<Option<(String, String)>> {
    Ok(c.query_opt(
        "SELECT name, path FROM places WHERE kind = 'street' ORDER BY id LIMIT 1",
        &[],
    )?
    .map(|r| (r.str(0), r.str(1))))
}
