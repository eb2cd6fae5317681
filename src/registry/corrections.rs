//! Residents' requests to correct their record (PIPL art. 46). A request becomes a task for
//! the community's workers, who close it with a reply the resident sees.

use serde::Serialize;

use crate::params;
use crate::store::{Conn, Result, Val, now_ms, under_paths};

pub const FIELDS: [&str; 6] = [
    "name",
    "id_number",
    "phone",
    "address",
    "household",
    "other",
];

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Correction {
    pub id: i64,
    pub person_id: i64,
    pub person_name: String,
    pub address: Option<String>,
    pub field: String,
    pub message: String,
    /// open, done or rejected.
    pub state: String,
    pub reply: Option<String>,
    pub created_at: i64,
    pub handled_at: Option<i64>,
}

const COLS: &str = "r.id, r.person_id, p.name, u.address, r.field, r.message, r.state, r.reply, r.created_at, r.handled_at";

fn from_row(r: &crate::store::Row) -> Correction {
    Correction {
        id: r.i64(0),
        person_id: r.i64(1),
        person_name: r.str(2),
        address: r.opt_str(3),
        field: r.str(4),
        message: r.str(5),
        state: r.str(6),
        reply: r.opt_str(7),
        created_at: r.i64(8),
        handled_at: r.opt_i64(9),
    }
}

/// Files a request for the resident `person_id`.
pub fn create(c: &mut dyn Conn, person_id: i64, field: &str, message: &str) -> Result<i64> {
    let p = c.query_one(
        "SELECT street_id, place_path FROM persons WHERE id = $1",
        params![person_id],
    )?;
    Ok(c.query_one(
        "INSERT INTO correction_requests (street_id, person_id, place_path, field, message, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        params![p.i64(0), person_id, p.str(1), field, message, now_ms()],
    )?
    .i64(0))
}

/// A resident's own requests.
pub fn of_person(c: &mut dyn Conn, person_id: i64) -> Result<Vec<Correction>> {
    Ok(c.query(
        &format!(
            "SELECT {COLS} FROM correction_requests r JOIN persons p ON p.id = r.person_id \
                 LEFT JOIN places u ON u.id = p.unit_id WHERE r.person_id = $1 ORDER BY r.id DESC"
        ),
        params![person_id],
    )?
    .iter()
    .map(from_row)
    .collect())
}

/// Requests within a worker's registry scope, open ones first.
pub fn in_scope(c: &mut dyn Conn, scope: &[String], only_open: bool) -> Result<Vec<Correction>> {
    let mut p: Vec<Val> = Vec::new();
    let cond = under_paths("r.place_path", scope, 1, &mut p);
    let state = if only_open {
        "AND r.state = 'open'"
    } else {
        ""
    };
    Ok(c.query(
        &format!(
            "SELECT {COLS} FROM correction_requests r JOIN persons p ON p.id = r.person_id \
                 LEFT JOIN places u ON u.id = p.unit_id WHERE {cond} {state} \
                 ORDER BY CASE r.state WHEN 'open' THEN 0 ELSE 1 END, r.id DESC LIMIT 200"
        ),
        &p,
    )?
    .iter()
    .map(from_row)
    .collect())
}

/// Closes a request in scope; returns the person it concerns, or `None` when not found.
pub fn close(
    c: &mut dyn Conn,
    scope: &[String],
    id: i64,
    state: &str,
    reply: &str,
    by: i64,
) -> Result<Option<i64>> {
    let mut p = vec![Val::Int(id)];
    let cond = under_paths("place_path", scope, 2, &mut p);
    let Some(row) = c.query_opt(
        &format!("SELECT person_id FROM correction_requests WHERE id = $1 AND {cond}"),
        &p,
    )?
    else {
        return Ok(None);
    };
    c.exec(
        "UPDATE correction_requests SET state = $1, reply = $2, handled_by = $3, handled_at = $4 WHERE id = $5",
        params![state, reply, by, now_ms(), id],
    )?;
    Ok(Some(row.i64(0)))
}
