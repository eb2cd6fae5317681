//! Gates' tables: estates, gates, the access log (passages), passes, parking spaces, their
//! assignments, vehicles inside (stays), occupancy by hour and the self-governed rules; and the
//! places a resident's home lies under (the estate is the building's `estate`).

use serde::Serialize;
use utoipa::ToSchema;

use super::model::Checked;
use crate::params;
use crate::store::{Conn, Result, Row, Val, under_paths};

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = GateEstate)]
pub struct Estate {
    pub id: i64,
    #[serde(skip)]
    pub street_id: i64,
    pub community_id: i64,
    #[serde(skip)]
    pub community_path: String,
    pub name: String,
    /// Days passages are kept.
    pub retention_days: i64,
}

const ESTATE_COLS: &str = "id, street_id, community_id, community_path, name, retention_days";

fn estate_row(r: Row) -> Estate {
    Estate {
        id: r.i64(0),
        street_id: r.i64(1),
        community_id: r.i64(2),
        community_path: r.str(3),
        name: r.str(4),
        retention_days: r.i64(5),
    }
}

pub fn estate(c: &mut dyn Conn, id: i64) -> Result<Option<Estate>> {
    Ok(c.query_opt(
        &format!("SELECT {ESTATE_COLS} FROM gate_estates WHERE id = $1"),
        params![id],
    )?
    .map(estate_row))
}

pub fn estate_named(c: &mut dyn Conn, community_id: i64, name: &str) -> Result<Option<Estate>> {
    Ok(c.query_opt(
        &format!("SELECT {ESTATE_COLS} FROM gate_estates WHERE community_id = $1 AND name = $2"),
        params![community_id, name],
    )?
    .map(estate_row))
}

/// Estates whose community lies under (or is) one of these paths.
pub fn estates_under(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<Estate>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = Vec::new();
    let cond = under_paths("community_path", paths, 1, &mut p);
    Ok(c.query(
        &format!("SELECT {ESTATE_COLS} FROM gate_estates WHERE {cond} ORDER BY community_path, name LIMIT 500"),
        &p,
    )?
    .into_iter()
    .map(estate_row)
    .collect())
}

pub fn all_estates(c: &mut dyn Conn) -> Result<Vec<Estate>> {
    Ok(c.query(
        &format!("SELECT {ESTATE_COLS} FROM gate_estates ORDER BY id"),
        &[],
    )?
    .into_iter()
    .map(estate_row)
    .collect())
}

pub fn insert_estate(
    c: &mut dyn Conn,
    street_id: i64,
    community: (i64, &str),
    name: &str,
    retention_days: i64,
    now: i64,
) -> Result<i64> {
    c.query_i64(
        "INSERT INTO gate_estates (street_id, community_id, community_path, name, retention_days, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        params![street_id, community.0, community.1, name, retention_days, now],
    )
}

pub fn set_retention(c: &mut dyn Conn, id: i64, days: i64) -> Result<()> {
    c.exec(
        "UPDATE gate_estates SET retention_days = $2 WHERE id = $1",
        params![id, days],
    )?;
    Ok(())
}

/// A place: (id, kind, name, path, street id, estate).
pub type PlaceAt = (i64, String, String, String, i64, Option<String>);

/// The places at these paths (a flat's ancestors), shallowest first.
pub fn places_at(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<PlaceAt>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=paths.len()).map(|i| format!("${i}")).collect();
    let vals: Vec<Val> = paths.iter().map(|p| Val::Text(p.clone())).collect();
    Ok(c.query(
        &format!(
            "SELECT id, kind, name, path, COALESCE(street_id, id), estate FROM places WHERE path IN ({}) ORDER BY depth",
            marks.join(", ")
        ),
        &vals,
    )?
    .into_iter()
    .map(|mut r| {
        (
            r.i64(0),
            r.str(1),
            r.str(2),
            r.str(3),
            r.i64(4),
            r.take_str(5),
        )
    })
    .collect())
}

/// A community of the hierarchy: (street id, path), when `id` is one.
pub fn community(c: &mut dyn Conn, id: i64) -> Result<Option<(i64, String)>> {
    Ok(c.query_opt(
        "SELECT street_id, path FROM places WHERE id = $1 AND kind = 'community' AND retired_at IS NULL",
        params![id],
    )?
    .map(|r| (r.i64(0), r.str(1))))
}

/// The first building of an estate (where its gate devices are placed): (id, path).
pub fn estate_building(c: &mut dyn Conn, e: &Estate) -> Result<Option<(i64, String)>> {
    let mut p = vec![Val::Text(e.name.clone())];
    let cond = under_paths("path", std::slice::from_ref(&e.community_path), 2, &mut p);
    let named = c.query_opt(
        &format!(
            "SELECT id, path FROM places WHERE kind = 'building' AND estate = $1 AND retired_at IS NULL AND {cond} ORDER BY path LIMIT 1"
        ),
        &p,
    )?;
    if let Some(r) = named {
        return Ok(Some((r.i64(0), r.str(1))));
    }
    let mut p = Vec::new();
    let cond = under_paths("path", std::slice::from_ref(&e.community_path), 1, &mut p);
    Ok(c.query_opt(
        &format!(
            "SELECT id, path FROM places WHERE kind IN ('building', 'grid') AND retired_at IS NULL AND {cond} ORDER BY depth DESC, path LIMIT 1"
        ),
        &p,
    )?
    .map(|r| (r.i64(0), r.str(1))))
}

// ---- gates ------------------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Gate)]
pub struct Gate {
    pub id: i64,
    #[serde(skip)]
    pub street_id: i64,
    pub estate_id: i64,
    /// The sensing device it reports as.
    pub device_id: i64,
    pub name: String,
    /// `pedestrian` or `barrier`.
    pub kind: String,
}

const GATE_COLS: &str = "id, street_id, estate_id, device_id, name, kind";

fn gate_row(r: Row) -> Gate {
    Gate {
        id: r.i64(0),
        street_id: r.i64(1),
        estate_id: r.i64(2),
        device_id: r.i64(3),
        name: r.str(4),
        kind: r.str(5),
    }
}

pub fn gate_by_device(c: &mut dyn Conn, device_id: i64) -> Result<Option<Gate>> {
    Ok(c.query_opt(
        &format!("SELECT {GATE_COLS} FROM gates WHERE device_id = $1"),
        params![device_id],
    )?
    .map(gate_row))
}

pub fn gates_of(c: &mut dyn Conn, estate_id: i64) -> Result<Vec<Gate>> {
    Ok(c.query(
        &format!("SELECT {GATE_COLS} FROM gates WHERE estate_id = $1 ORDER BY id"),
        params![estate_id],
    )?
    .into_iter()
    .map(gate_row)
    .collect())
}

pub fn insert_gate(
    c: &mut dyn Conn,
    e: &Estate,
    device_id: i64,
    name: &str,
    kind: &str,
    now: i64,
) -> Result<i64> {
    c.query_i64(
        "INSERT INTO gates (street_id, estate_id, device_id, name, kind, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        params![e.street_id, e.id, device_id, name, kind, now],
    )
}

// ---- passages ---------------------------------------------------------------------------------

/// Stores passages in one statement (the access log).
pub fn insert_passages(c: &mut dyn Conn, g: &Gate, rows: &[(Checked, bool)]) -> Result<()> {
    let vals: Vec<Vec<Val>> = rows
        .iter()
        .map(|(p, visitor)| {
            vec![
                Val::Int(g.street_id),
                Val::Int(g.estate_id),
                Val::Int(g.id),
                Val::Int(p.at),
                Val::Text(p.direction.to_string()),
                Val::Text(p.by.to_string()),
                Val::Text(p.credential.clone()),
                Val::Int(*visitor as i64),
            ]
        })
        .collect();
    for chunk in vals.chunks(500) {
        c.insert_many(
            "gate_passages",
            &[
                "street_id",
                "estate_id",
                "gate_id",
                "at",
                "direction",
                "by_kind",
                "credential",
                "visitor",
            ],
            chunk,
        )?;
    }
    Ok(())
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = GatePassage)]
pub struct LogLine {
    pub id: i64,
    pub gate: String,
    /// Unix milliseconds.
    pub at: i64,
    pub direction: String,
    pub by: String,
    pub credential: String,
    /// An unknown plate, recorded as a visitor.
    pub visitor: bool,
}

/// The newest passages of an estate.
pub fn log(c: &mut dyn Conn, estate_id: i64, limit: i64) -> Result<Vec<LogLine>> {
    Ok(c.query(
        "SELECT p.id, g.name, p.at, p.direction, p.by_kind, p.credential, p.visitor \
         FROM gate_passages p JOIN gates g ON g.id = p.gate_id \
         WHERE p.estate_id = $1 ORDER BY p.at DESC, p.id DESC LIMIT $2",
        params![estate_id, limit],
    )?
    .into_iter()
    .map(|r| LogLine {
        id: r.i64(0),
        gate: r.str(1),
        at: r.i64(2),
        direction: r.str(3),
        by: r.str(4),
        credential: r.str(5),
        visitor: r.i64(6) == 1,
    })
    .collect())
}

/// Deletes an estate's passages and closed stays older than `before`; the count removed.
pub fn purge(c: &mut dyn Conn, estate_id: i64, before: i64) -> Result<u64> {
    let n = c.exec(
        "DELETE FROM gate_passages WHERE estate_id = $1 AND at < $2",
        params![estate_id, before],
    )?;
    let m = c.exec(
        "DELETE FROM parking_stays WHERE estate_id = $1 AND out_at IS NOT NULL AND out_at < $2",
        params![estate_id, before],
    )?;
    Ok(n + m)
}

pub fn passages_count(c: &mut dyn Conn, estate_id: i64) -> Result<i64> {
    c.query_i64(
        "SELECT COUNT(*) FROM gate_passages WHERE estate_id = $1",
        params![estate_id],
    )
}

// ---- passes -----------------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = GatePass)]
pub struct Pass {
    pub id: i64,
    #[serde(skip)]
    pub street_id: i64,
    pub estate_id: i64,
    /// `invited` or `walkin`.
    pub kind: String,
    #[serde(skip)]
    pub host_person: Option<i64>,
    pub host_unit: String,
    pub visitor: String,
    pub valid_from: i64,
    pub valid_until: i64,
    pub entries: i64,
    pub used: i64,
    pub created_at: i64,
}

const PASS_COLS: &str = "id, street_id, estate_id, kind, host_person, host_unit, visitor, \
                         valid_from, valid_until, entries, used, created_at";

fn pass_row(r: Row) -> Pass {
    Pass {
        id: r.i64(0),
        street_id: r.i64(1),
        estate_id: r.i64(2),
        kind: r.str(3),
        host_person: r.opt_i64(4),
        host_unit: r.str(5),
        visitor: r.str(6),
        valid_from: r.i64(7),
        valid_until: r.i64(8),
        entries: r.i64(9),
        used: r.i64(10),
        created_at: r.i64(11),
    }
}

pub struct NewPass<'a> {
    pub street_id: i64,
    pub estate_id: i64,
    pub kind: &'a str,
    pub host_person: Option<i64>,
    pub host_unit: &'a str,
    pub visitor: &'a str,
    pub valid_from: i64,
    pub valid_until: i64,
    pub entries: i64,
    pub used: i64,
    pub created_by: i64,
    pub now: i64,
}

pub fn insert_pass(c: &mut dyn Conn, p: &NewPass) -> Result<i64> {
    c.query_i64(
        "INSERT INTO gate_passes (street_id, estate_id, kind, host_person, host_unit, visitor, \
         valid_from, valid_until, entries, used, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        params![
            p.street_id,
            p.estate_id,
            p.kind,
            p.host_person,
            p.host_unit,
            p.visitor,
            p.valid_from,
            p.valid_until,
            p.entries,
            p.used,
            p.created_by,
            p.now
        ],
    )
}

pub fn pass(c: &mut dyn Conn, id: i64) -> Result<Option<Pass>> {
    Ok(c.query_opt(
        &format!("SELECT {PASS_COLS} FROM gate_passes WHERE id = $1"),
        params![id],
    )?
    .map(pass_row))
}

/// A host's passes still valid or recent, newest first.
pub fn passes_of(c: &mut dyn Conn, person: i64, since: i64) -> Result<Vec<Pass>> {
    Ok(c.query(
        &format!(
            "SELECT {PASS_COLS} FROM gate_passes WHERE host_person = $1 AND valid_until >= $2 \
             ORDER BY created_at DESC LIMIT 50"
        ),
        params![person, since],
    )?
    .into_iter()
    .map(pass_row)
    .collect())
}

/// Takes one entry of a pass; false when none is left (the conditional update makes two
/// guards scanning the same pass at once take at most its entries).
pub fn take_entry(c: &mut dyn Conn, id: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE gate_passes SET used = used + 1 WHERE id = $1 AND used < entries",
        params![id],
    )? == 1)
}

pub fn purge_passes(c: &mut dyn Conn, estate_id: i64, before: i64) -> Result<u64> {
    c.exec(
        "DELETE FROM gate_passes WHERE estate_id = $1 AND valid_until < $2",
        params![estate_id, before],
    )
}

// ---- parking ----------------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = ParkingSpace)]
pub struct Space {
    pub id: i64,
    pub code: String,
    /// `owned`, `rented`, `shared` or `visitor`.
    pub kind: String,
    pub row: i64,
    pub col: i64,
    pub occupied: bool,
    /// The plate assigned to it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plate: Option<String>,
}

pub fn spaces(c: &mut dyn Conn, estate_id: i64) -> Result<Vec<Space>> {
    Ok(c.query(
        "SELECT s.id, s.code, s.kind, s.row_no, s.col_no, s.occupied, a.plate FROM parking_spaces s \
         LEFT JOIN parking_assignments a ON a.space_id = s.id WHERE s.estate_id = $1 \
         ORDER BY s.row_no, s.col_no, s.id",
        params![estate_id],
    )?
    .into_iter()
    .map(|mut r| Space {
        id: r.i64(0),
        code: r.str(1),
        kind: r.str(2),
        row: r.i64(3),
        col: r.i64(4),
        occupied: r.i64(5) == 1,
        plate: r.take_str(6),
    })
    .collect())
}

/// A space's estate and code.
pub fn space(c: &mut dyn Conn, id: i64) -> Result<Option<(i64, String)>> {
    Ok(c.query_opt(
        "SELECT estate_id, code FROM parking_spaces WHERE id = $1",
        params![id],
    )?
    .map(|r| (r.i64(0), r.str(1))))
}

pub fn space_code_taken(c: &mut dyn Conn, estate_id: i64, code: &str) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM parking_spaces WHERE estate_id = $1 AND code = $2",
        params![estate_id, code],
    )?
    .is_some())
}

pub fn insert_spaces(
    c: &mut dyn Conn,
    e: &Estate,
    rows: &[(String, String, i64, i64)],
    now: i64,
) -> Result<()> {
    let vals: Vec<Vec<Val>> = rows
        .iter()
        .map(|(code, kind, row, col)| {
            vec![
                Val::Int(e.street_id),
                Val::Int(e.id),
                Val::Text(code.clone()),
                Val::Text(kind.clone()),
                Val::Int(*row),
                Val::Int(*col),
                Val::Int(now),
            ]
        })
        .collect();
    for chunk in vals.chunks(500) {
        c.insert_many(
            "parking_spaces",
            &[
                "street_id",
                "estate_id",
                "code",
                "kind",
                "row_no",
                "col_no",
                "created_at",
            ],
            chunk,
        )?;
    }
    Ok(())
}

/// The plate a space is assigned to, if it is.
pub fn assigned(c: &mut dyn Conn, space_id: i64) -> Result<Option<String>> {
    Ok(c.query_opt(
        "SELECT plate FROM parking_assignments WHERE space_id = $1",
        params![space_id],
    )?
    .map(|r| r.str(0)))
}

pub fn assign(
    c: &mut dyn Conn,
    e: &Estate,
    space_id: i64,
    plate: &str,
    holder: &str,
    by: i64,
    now: i64,
) -> Result<i64> {
    c.query_i64(
        "INSERT INTO parking_assignments (street_id, estate_id, space_id, plate, holder, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        params![e.street_id, e.id, space_id, plate, holder, by, now],
    )
}

/// The space assigned to a plate in an estate.
pub fn space_of_plate(c: &mut dyn Conn, estate_id: i64, plate: &str) -> Result<Option<i64>> {
    Ok(c.query_opt(
        "SELECT space_id FROM parking_assignments WHERE estate_id = $1 AND plate = $2 ORDER BY id LIMIT 1",
        params![estate_id, plate],
    )?
    .map(|r| r.i64(0)))
}

/// A free visitor space of the estate.
pub fn free_visitor_space(c: &mut dyn Conn, estate_id: i64) -> Result<Option<i64>> {
    Ok(c.query_opt(
        "SELECT id FROM parking_spaces WHERE estate_id = $1 AND kind = 'visitor' AND occupied = 0 \
         ORDER BY row_no, col_no, id LIMIT 1",
        params![estate_id],
    )?
    .map(|r| r.i64(0)))
}

pub fn set_occupied(c: &mut dyn Conn, space_id: i64, occupied: bool) -> Result<()> {
    c.exec(
        "UPDATE parking_spaces SET occupied = $2 WHERE id = $1",
        params![space_id, occupied as i64],
    )?;
    Ok(())
}

/// An open stay of a plate: (id, visitor, space, in_at).
pub type Stay = (i64, bool, Option<i64>, i64);

pub fn open_stay(c: &mut dyn Conn, estate_id: i64, plate: &str) -> Result<Option<Stay>> {
    Ok(c.query_opt(
        "SELECT id, visitor, space_id, in_at FROM parking_stays WHERE estate_id = $1 AND plate = $2 \
         AND out_at IS NULL ORDER BY id DESC LIMIT 1",
        params![estate_id, plate],
    )?
    .map(|r| (r.i64(0), r.i64(1) == 1, r.opt_i64(2), r.i64(3))))
}

pub fn insert_stay(
    c: &mut dyn Conn,
    g: &Gate,
    plate: &str,
    visitor: bool,
    space: Option<i64>,
    at: i64,
) -> Result<()> {
    c.exec(
        "INSERT INTO parking_stays (street_id, estate_id, plate, visitor, space_id, in_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        params![g.street_id, g.estate_id, plate, visitor as i64, space, at],
    )?;
    Ok(())
}

pub fn close_stay(c: &mut dyn Conn, id: i64, at: i64) -> Result<()> {
    c.exec(
        "UPDATE parking_stays SET out_at = $2 WHERE id = $1",
        params![id, at],
    )?;
    Ok(())
}

pub fn inside(c: &mut dyn Conn, estate_id: i64) -> Result<i64> {
    c.query_i64(
        "SELECT COUNT(*) FROM parking_stays WHERE estate_id = $1 AND out_at IS NULL",
        params![estate_id],
    )
}

/// Records the vehicles inside at an hour (the most and the last).
pub fn note_hour(c: &mut dyn Conn, g: &Gate, hour: i64, n: i64) -> Result<()> {
    c.exec(
        "INSERT INTO parking_hours (street_id, estate_id, hour, peak, last) VALUES ($1, $2, $3, $4, $4) \
         ON CONFLICT (estate_id, hour) DO UPDATE SET last = $4, \
         peak = CASE WHEN parking_hours.peak > $4 THEN parking_hours.peak ELSE $4 END",
        params![g.street_id, g.estate_id, hour, n],
    )?;
    Ok(())
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = ParkingHour)]
pub struct Hour {
    /// Unix milliseconds of the hour's start.
    pub at: i64,
    /// The most vehicles inside in that hour.
    pub peak: i64,
    /// Vehicles inside at its last passage.
    pub last: i64,
}

pub fn hours(c: &mut dyn Conn, estate_id: i64, from_hour: i64) -> Result<Vec<Hour>> {
    Ok(c.query(
        "SELECT hour, peak, last FROM parking_hours WHERE estate_id = $1 AND hour >= $2 ORDER BY hour",
        params![estate_id, from_hour],
    )?
    .into_iter()
    .map(|r| Hour {
        at: r.i64(0) * 3_600_000 - 8 * 3_600_000,
        peak: r.i64(1),
        last: r.i64(2),
    })
    .collect())
}

// ---- rules ------------------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = GateRule)]
pub struct Rule {
    pub id: i64,
    pub estate_id: i64,
    /// `time_shared`, `visitor_limit` or `fee`.
    pub kind: String,
    /// The owners' vote that made it.
    pub vote_id: i64,
    /// time_shared: from (minutes of the day); visitor_limit: minutes; fee: fen per hour.
    pub a: i64,
    /// time_shared: until (minutes of the day).
    pub b: i64,
    pub note: String,
    pub created_at: i64,
}

pub fn rules(c: &mut dyn Conn, estate_id: i64) -> Result<Vec<Rule>> {
    Ok(c.query(
        "SELECT id, estate_id, kind, vote_id, a, b, note, created_at FROM gate_rules WHERE estate_id = $1 ORDER BY id",
        params![estate_id],
    )?
    .into_iter()
    .map(|r| Rule {
        id: r.i64(0),
        estate_id: r.i64(1),
        kind: r.str(2),
        vote_id: r.i64(3),
        a: r.i64(4),
        b: r.i64(5),
        note: r.str(6),
        created_at: r.i64(7),
    })
    .collect())
}

#[allow(clippy::too_many_arguments)]
pub fn insert_rule(
    c: &mut dyn Conn,
    e: &Estate,
    kind: &str,
    vote_id: i64,
    a: i64,
    b: i64,
    note: &str,
    by: i64,
    now: i64,
) -> Result<i64> {
    c.query_i64(
        "INSERT INTO gate_rules (street_id, estate_id, kind, vote_id, a, b, note, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        params![e.street_id, e.id, kind, vote_id, a, b, note, by, now],
    )
}
