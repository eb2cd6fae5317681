//! The join area's tables: failed attempts (`join_attempts`), invitation codes
//! (`join_invitations`) and the accounts that joined (`join_accounts`); and the places a
//! resident names her home by (the hierarchy every area is placed in).

use std::collections::HashMap;

use crate::params;
use crate::store::{Conn, Result, Val, under_paths};

// ---- failed attempts ------------------------------------------------------------------------

/// How long failures are counted, and how long a key stays refused once it has too many.
pub const WINDOW_MS: i64 = 60 * 60 * 1000;

/// Whether a key is refused now.
pub fn locked(
    c: &mut dyn Conn,
    street_id: i64,
    kind: &str,
    target: &str,
    now: i64,
) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT locked_until FROM join_attempts WHERE street_id = $1 AND kind = $2 AND target = $3",
        params![street_id, kind, target],
    )?
    .is_some_and(|r| r.i64(0) > now))
}

/// Counts a failure of a key; returns whether it is refused from now on.
pub fn fail(
    c: &mut dyn Conn,
    street_id: i64,
    kind: &str,
    target: &str,
    max: i64,
    now: i64,
) -> Result<bool> {
    c.exec(
        "INSERT INTO join_attempts (street_id, kind, target, window_start, failures, locked_until) \
         VALUES ($1, $2, $3, $4, 0, 0) ON CONFLICT (street_id, kind, target) DO NOTHING",
        params![street_id, kind, target, now],
    )?;
    let r = c.query_one(
        "SELECT window_start, failures, locked_until FROM join_attempts WHERE street_id = $1 AND kind = $2 AND target = $3",
        params![street_id, kind, target],
    )?;
    let (mut start, mut failures) = (r.i64(0), r.i64(1));
    if now - start >= WINDOW_MS && r.i64(2) <= now {
        start = now;
        failures = 0;
    }
    failures += 1;
    let locked_until = if failures >= max {
        now + WINDOW_MS
    } else {
        r.i64(2)
    };
    c.exec(
        "UPDATE join_attempts SET window_start = $1, failures = $2, locked_until = $3 \
         WHERE street_id = $4 AND kind = $5 AND target = $6",
        params![start, failures, locked_until, street_id, kind, target],
    )?;
    Ok(locked_until > now)
}

/// Forgets a key's failures (a unit whose resident just joined).
pub fn forgive(c: &mut dyn Conn, street_id: i64, kind: &str, target: &str) -> Result<()> {
    c.exec(
        "DELETE FROM join_attempts WHERE street_id = $1 AND kind = $2 AND target = $3",
        params![street_id, kind, target],
    )?;
    Ok(())
}

// ---- invitations ----------------------------------------------------------------------------

pub struct NewInvitation<'a> {
    pub street_id: i64,
    pub household_id: i64,
    pub unit_id: i64,
    pub place_path: &'a str,
    pub code_hash: &'a str,
    pub issued_by: i64,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// Stores a household's new code and withdraws its earlier unused ones.
pub fn issue(c: &mut dyn Conn, i: NewInvitation<'_>) -> Result<i64> {
    c.exec(
        "UPDATE join_invitations SET withdrawn_at = $1 WHERE household_id = $2 AND used_at IS NULL AND withdrawn_at IS NULL",
        params![i.issued_at, i.household_id],
    )?;
    Ok(c.query_one(
        "INSERT INTO join_invitations (street_id, household_id, unit_id, place_path, code_hash, issued_by, issued_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        params![i.street_id, i.household_id, i.unit_id, i.place_path, i.code_hash, i.issued_by, i.issued_at, i.expires_at],
    )?
    .i64(0))
}

#[derive(Clone, Debug)]
pub struct Invitation {
    pub id: i64,
    pub street_id: i64,
    pub household_id: i64,
    pub unit_id: i64,
    pub place_path: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub withdrawn_at: Option<i64>,
}

pub fn by_hash(c: &mut dyn Conn, hash: &str) -> Result<Option<Invitation>> {
    Ok(c
        .query_opt(
            "SELECT id, street_id, household_id, unit_id, place_path, expires_at, used_at, withdrawn_at \
             FROM join_invitations WHERE code_hash = $1",
            params![hash],
        )?
        .map(|r| Invitation {
            id: r.i64(0),
            street_id: r.i64(1),
            household_id: r.i64(2),
            unit_id: r.i64(3),
            place_path: r.str(4),
            expires_at: r.i64(5),
            used_at: r.opt_i64(6),
            withdrawn_at: r.opt_i64(7),
        }))
}

/// Marks a code used by an account; `false` when it was used or withdrawn meanwhile.
pub fn use_code(c: &mut dyn Conn, id: i64, user_id: i64, now: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE join_invitations SET used_at = $1, used_by = $2 WHERE id = $3 AND used_at IS NULL AND withdrawn_at IS NULL",
        params![now, user_id, id],
    )? == 1)
}

/// The unit paths of the codes under these places still waiting to be used.
pub fn open_codes_under(c: &mut dyn Conn, paths: &[String], now: i64) -> Result<Vec<String>> {
    let mut p = vec![Val::Int(now)];
    let cond = under_paths("place_path", paths, 2, &mut p);
    Ok(c
        .query(
            &format!(
                "SELECT place_path FROM join_invitations WHERE used_at IS NULL AND withdrawn_at IS NULL AND expires_at > $1 AND {cond}"
            ),
            &p,
        )?
        .iter()
        .map(|r| r.str(0))
        .collect())
}

// ---- accounts that joined -------------------------------------------------------------------

pub fn record_account(
    c: &mut dyn Conn,
    user_id: i64,
    person_id: i64,
    street_id: i64,
    how: &str,
    now: i64,
) -> Result<()> {
    c.exec(
        "INSERT INTO join_accounts (user_id, person_id, street_id, how, joined_at) VALUES ($1, $2, $3, $4, $5)",
        params![user_id, person_id, street_id, how, now],
    )?;
    Ok(())
}

/// Whether a person already joined with an account.
pub fn has_account(c: &mut dyn Conn, person_id: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT user_id FROM join_accounts WHERE person_id = $1",
        params![person_id],
    )?
    .is_some())
}

/// Which of these persons joined.
pub fn joined_of(c: &mut dyn Conn, ids: &[i64]) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let vals: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
        out.extend(
            c.query(
                &format!(
                    "SELECT person_id FROM join_accounts WHERE person_id IN ({})",
                    marks.join(", ")
                ),
                &vals,
            )?
            .iter()
            .map(|r| r.i64(0)),
        );
    }
    Ok(out)
}

/// The persons who joined in these streets.
pub fn joined_in(c: &mut dyn Conn, streets: &[i64]) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for s in streets {
        out.extend(
            c.query(
                "SELECT person_id FROM join_accounts WHERE street_id = $1",
                params![*s],
            )?
            .iter()
            .map(|r| r.i64(0)),
        );
    }
    Ok(out)
}

// ---- places ---------------------------------------------------------------------------------

/// A place as the join pages name it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Spot {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub path: String,
    pub street_id: i64,
    pub address: Option<String>,
    pub estate: Option<String>,
}

const SPOT: &str =
    "SELECT id, kind, name, path, COALESCE(street_id, id), address, estate FROM places";

fn spot(r: &crate::store::Row) -> Spot {
    Spot {
        id: r.i64(0),
        kind: r.str(1),
        name: r.str(2),
        path: r.str(3),
        street_id: r.i64(4),
        address: r.opt_str(5),
        estate: r.opt_str(6),
    }
}

pub fn place(c: &mut dyn Conn, id: i64) -> Result<Option<Spot>> {
    Ok(c.query_opt(&format!("{SPOT} WHERE id = $1"), params![id])?
        .map(|r| spot(&r)))
}

pub fn street_name(c: &mut dyn Conn, id: i64) -> Result<String> {
    Ok(
        c.query_opt("SELECT name FROM places WHERE id = $1", params![id])?
            .map(|r| r.str(0))
            .unwrap_or_default(),
    )
}

/// Every building, by street then path (the public join page lists them).
pub fn buildings(c: &mut dyn Conn) -> Result<Vec<Spot>> {
    Ok(c.query(
        &format!("{SPOT} WHERE kind = 'building' ORDER BY street_id, path"),
        &[],
    )?
    .iter()
    .map(spot)
    .collect())
}

/// The buildings under these places.
pub fn buildings_under(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<Spot>> {
    let mut p = Vec::new();
    let cond = under_paths("path", paths, 1, &mut p);
    Ok(c.query(
        &format!("{SPOT} WHERE kind = 'building' AND {cond} ORDER BY path"),
        &p,
    )?
    .iter()
    .map(spot)
    .collect())
}

/// The units of a building.
pub fn units_of(c: &mut dyn Conn, building_id: i64) -> Result<Vec<Spot>> {
    Ok(c.query(
        &format!("{SPOT} WHERE kind = 'unit' AND parent_id = $1 ORDER BY path"),
        params![building_id],
    )?
    .iter()
    .map(spot)
    .collect())
}

/// The units whose address is exactly this one.
pub fn units_at(c: &mut dyn Conn, address: &str) -> Result<Vec<Spot>> {
    Ok(c.query(
        &format!("{SPOT} WHERE kind = 'unit' AND address = $1 ORDER BY path"),
        params![address],
    )?
    .iter()
    .map(spot)
    .collect())
}

/// How a unit is named on a letter: the building's name, the unit's name, its address.
pub type UnitName = (String, String, Option<String>);

/// How the units under a place are named on a letter, by id.
pub fn unit_names_under(c: &mut dyn Conn, path: &str) -> Result<HashMap<i64, UnitName>> {
    let mut p = Vec::new();
    let cond = under_paths("u.path", &[path.to_string()], 1, &mut p);
    Ok(c.query(
        &format!(
            "SELECT u.id, COALESCE(b.name, ''), u.name, u.address FROM places u \
                 LEFT JOIN places b ON b.id = u.parent_id WHERE u.kind = 'unit' AND {cond}"
        ),
        &p,
    )?
    .iter()
    .map(|r| (r.i64(0), (r.str(1), r.str(2), r.opt_str(3))))
    .collect())
}
