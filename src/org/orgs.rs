//! Organisations' own storage (issue 21 part 3): departments (职能部门), property companies
//! (物业), owners' committees (业委会) and social organisations (社会组织) of a street, the
//! places each serves, and its members (accounts holding a grant for it). Retiring keeps the
//! row, so past cases and grants still name it.

use crate::params;
use crate::store::{Conn, Result, Val};

/// The kinds an organisation can be (`org.*` in the catalogue).
pub const KINDS: [&str; 4] = ["department", "property", "owners_committee", "social"];

/// One organisation as the setup pages show it.
#[derive(Clone, Debug, PartialEq)]
pub struct OrgRecord {
    pub id: i64,
    pub street_id: i64,
    pub kind: String,
    pub code: String,
    pub name: String,
    pub phone: Option<String>,
    pub retired_at: Option<i64>,
}

const COLS: &str = "o.id, o.street_id, o.kind, o.code, o.name, o.phone, o.retired_at";

fn record(r: &crate::store::Row) -> OrgRecord {
    OrgRecord {
        id: r.i64(0),
        street_id: r.i64(1),
        kind: r.str(2),
        code: r.str(3),
        name: r.str(4),
        phone: r.opt_str(5),
        retired_at: r.opt_i64(6),
    }
}

/// The organisations of a street, the active first, each kind together.
pub fn of_street(c: &mut dyn Conn, street_id: i64) -> Result<Vec<OrgRecord>> {
    Ok(c.query(
        &format!(
            "SELECT {COLS} FROM organisations o WHERE o.street_id = $1 \
                 ORDER BY (o.retired_at IS NOT NULL), o.kind, o.code"
        ),
        params![street_id],
    )?
    .iter()
    .map(record)
    .collect())
}

/// Organisations' names by id: those another area's rows name by id (a case's handler, a
/// category's route), read in one query instead of a join on `organisations`.
pub fn names(
    c: &mut dyn Conn,
    ids: impl IntoIterator<Item = i64>,
) -> Result<std::collections::HashMap<i64, String>> {
    crate::store::texts_by_id(
        c,
        "SELECT id, name FROM organisations WHERE id IN ({})",
        ids,
    )
}

pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<OrgRecord>> {
    Ok(c.query_opt(
        &format!("SELECT {COLS} FROM organisations o WHERE o.id = $1"),
        params![id],
    )?
    .as_ref()
    .map(record))
}

/// Whether an organisation of the street takes new work (exists and is not retired).
pub fn is_active(c: &mut dyn Conn, street_id: i64, id: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM organisations WHERE id = $1 AND street_id = $2 AND retired_at IS NULL",
        params![id, street_id],
    )?
    .is_some())
}

/// Creates an organisation; a code already used in the street is a conflict
/// (`setup.error.org_code_taken` through the store's table of constraints).
pub fn insert(
    c: &mut dyn Conn,
    street_id: i64,
    kind: &str,
    code: &str,
    name: &str,
    phone: Option<&str>,
    now: i64,
) -> Result<i64> {
    Ok(c.query_one(
        "INSERT INTO organisations (street_id, kind, code, name, phone, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        params![street_id, kind, code, name, phone, now],
    )?
    .i64(0))
}

/// Changes the kind, name and phone (the code is the organisation's key in imports and grants).
pub fn update(
    c: &mut dyn Conn,
    id: i64,
    kind: &str,
    name: &str,
    phone: Option<&str>,
) -> Result<()> {
    c.exec(
        "UPDATE organisations SET kind = $2, name = $3, phone = $4 WHERE id = $1",
        params![id, kind, name, phone],
    )?;
    Ok(())
}

pub fn retire(c: &mut dyn Conn, id: i64, now: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE organisations SET retired_at = $2 WHERE id = $1 AND retired_at IS NULL",
        params![id, now],
    )? == 1)
}

/// The places an organisation serves: (id, name, path, kind).
pub fn places_of(c: &mut dyn Conn, id: i64) -> Result<Vec<(i64, String, String, String)>> {
    Ok(c
        .query(
            "SELECT p.id, p.name, p.path, p.kind FROM org_places op JOIN places p ON p.id = op.place_id \
             WHERE op.org_id = $1 ORDER BY p.path",
            params![id],
        )?
        .iter()
        .map(|r| (r.i64(0), r.str(1), r.str(2), r.str(3)))
        .collect())
}

/// Replaces the places an organisation serves.
pub fn set_places(c: &mut dyn Conn, id: i64, street_id: i64, place_ids: &[i64]) -> Result<()> {
    c.exec("DELETE FROM org_places WHERE org_id = $1", params![id])?;
    for p in place_ids {
        c.exec(
            "INSERT INTO org_places (street_id, org_id, place_id) VALUES ($1, $2, $3)",
            params![street_id, id, *p],
        )?;
    }
    Ok(())
}

/// An account holding a grant for an organisation.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    /// The role's code.
    pub role: String,
    pub active: bool,
}

/// An organisation's members.
pub fn members(c: &mut dyn Conn, id: i64) -> Result<Vec<Member>> {
    Ok(c.query(
        "SELECT u.id, u.username, u.display_name, r.role, u.active FROM user_roles r \
             JOIN users u ON u.id = r.user_id WHERE r.org_id = $1 ORDER BY u.display_name, u.id",
        params![id],
    )?
    .iter()
    .map(|r| Member {
        user_id: r.i64(0),
        username: r.str(1),
        display_name: r.str(2),
        role: r.str(3),
        active: r.i64(4) != 0,
    })
    .collect())
}

/// Member counts per organisation of a street, for the list.
pub fn member_counts(c: &mut dyn Conn, street_id: i64) -> Result<Vec<(i64, i64)>> {
    Ok(c.query(
        "SELECT r.org_id, COUNT(DISTINCT r.user_id) FROM user_roles r \
             JOIN organisations o ON o.id = r.org_id WHERE o.street_id = $1 GROUP BY r.org_id",
        params![street_id],
    )?
    .iter()
    .map(|r| (r.i64(0), r.i64(1)))
    .collect())
}

/// Rows of `(id, path)` for places of a street with these paths (to resolve a form's list).
pub fn street_places_by_path(
    c: &mut dyn Conn,
    street_id: i64,
    paths: &[String],
) -> Result<Vec<(i64, String)>> {
    let mut out = Vec::new();
    for p in paths {
        if let Some(r) = c.query_opt(
            "SELECT id, path FROM places WHERE street_id = $1 AND path = $2 AND retired_at IS NULL",
            &[Val::Int(street_id), Val::Text(p.clone())],
        )? {
            out.push((r.i64(0), r.str(1)));
        }
    }
    Ok(out)
}

/// The code of the street's active organisation with this code or name, if exactly one.
pub fn code_named(c: &mut dyn Conn, street_id: i64, text: &str) -> Result<Option<String>> {
    let rows = c.query(
        "SELECT code FROM organisations WHERE street_id = $1 AND retired_at IS NULL \
         AND (code = $2 OR name = $2)",
        params![street_id, text],
    )?;
    Ok(match rows.as_slice() {
        [one] => Some(one.str(0)),
        _ => None,
    })
}

/// The paths of the street's live places of these kinds with this name (a staff list names
/// its communities and grids, not their paths).
pub fn place_paths_named(
    c: &mut dyn Conn,
    street_id: i64,
    name: &str,
    kinds: &[&str],
) -> Result<Vec<String>> {
    Ok(c.query(
        "SELECT path, kind FROM places WHERE (street_id = $1 OR id = $1) AND name = $2 \
             AND retired_at IS NULL ORDER BY path",
        params![street_id, name],
    )?
    .iter()
    .filter(|r| kinds.contains(&r.str(1).as_str()))
    .map(|r| r.str(0))
    .collect())
}
