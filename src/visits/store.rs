//! The visits area's tables: plans, visits, who each visit reached, each person's latest visit
//! (kept as visits are recorded) and the street's settings; and the few reads of `places` the
//! lists need to show a home (building, floor, unit).

use std::collections::HashMap;

use super::model::Checked;
use crate::params;
use crate::store::{Conn, Result, Row, Val};

/// A plan as stored.
#[derive(Clone, Debug)]
pub struct PlanRow {
    pub id: i64,
    pub street_id: i64,
    pub tag: String,
    pub every_months: i64,
    pub soon_days: i64,
    pub starts_on: String,
    pub active: bool,
}

const PLAN: &str =
    "SELECT id, street_id, tag, every_months, soon_days, starts_on, active FROM visit_plans";

fn plan_row(r: &Row) -> PlanRow {
    PlanRow {
        id: r.i64(0),
        street_id: r.i64(1),
        tag: r.str(2),
        every_months: r.i64(3),
        soon_days: r.i64(4),
        starts_on: r.str(5),
        active: r.i64(6) != 0,
    }
}

/// A street's plans, the active ones first.
pub fn plans(c: &mut dyn Conn, street_id: i64) -> Result<Vec<PlanRow>> {
    Ok(c.query(
        &format!("{PLAN} WHERE street_id = $1 ORDER BY active DESC, every_months, id"),
        params![street_id],
    )?
    .iter()
    .map(plan_row)
    .collect())
}

pub fn plan(c: &mut dyn Conn, id: i64) -> Result<Option<PlanRow>> {
    Ok(c.query_opt(&format!("{PLAN} WHERE id = $1"), params![id])?
        .map(|r| plan_row(&r)))
}

/// Whether the street has an active plan for the tag.
pub fn active_plan_for(c: &mut dyn Conn, street_id: i64, tag: &str) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT id FROM visit_plans WHERE street_id = $1 AND tag = $2 AND active = 1",
        params![street_id, tag],
    )?
    .is_some())
}

#[allow(clippy::too_many_arguments)]
pub fn insert_plan(
    c: &mut dyn Conn,
    street_id: i64,
    tag: &str,
    every_months: i64,
    soon_days: i64,
    starts_on: &str,
    by: i64,
    now: i64,
) -> Result<i64> {
    c.query_i64(
        "INSERT INTO visit_plans (street_id, tag, every_months, soon_days, starts_on, active, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7) RETURNING id",
        params![street_id, tag, every_months, soon_days, starts_on, by, now],
    )
}

pub fn retire_plan(c: &mut dyn Conn, id: i64, now: i64) -> Result<u64> {
    c.exec(
        "UPDATE visit_plans SET active = 0, updated_at = $2 WHERE id = $1 AND active = 1",
        params![id, now],
    )
}

/// Stores a visit, who it reached, and moves each person's latest visit forward (a visit
/// recorded late, older than the latest, leaves it).
#[allow(clippy::too_many_arguments)]
pub fn insert_visit(
    c: &mut dyn Conn,
    street_id: i64,
    v: &Checked,
    place_path: &str,
    visitor: (i64, &str),
    persons: &[i64],
    case_id: Option<i64>,
    now: i64,
) -> Result<i64> {
    let on = v.visited_on.format("%Y-%m-%d").to_string();
    let next = v.next_on.map(|d| d.format("%Y-%m-%d").to_string());
    let id = c.query_i64(
        "INSERT INTO visits (street_id, person_id, household_id, place_path, visitor_id, visitor_name, \
         visited_at, visited_on, how, health, living, needs, notes, referral, next_on, case_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
        params![
            street_id,
            v.person_id,
            v.household_id,
            place_path,
            visitor.0,
            visitor.1,
            v.visited_at,
            on.clone(),
            v.how,
            v.health,
            v.living,
            v.needs.join(","),
            v.notes.clone(),
            v.referral.clone(),
            next.clone(),
            case_id,
            now
        ],
    )?;
    for p in persons {
        c.exec(
            "INSERT INTO visit_persons (visit_id, person_id, street_id) VALUES ($1, $2, $3)",
            params![id, *p, street_id],
        )?;
        let newer = c
            .query_opt(
                "SELECT last_at FROM visit_last WHERE person_id = $1",
                params![*p],
            )?
            .map(|r| r.i64(0));
        match newer {
            None => {
                c.exec(
                    "INSERT INTO visit_last (person_id, street_id, visit_id, last_at, last_on, visitor_name, next_on) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    params![*p, street_id, id, v.visited_at, on.clone(), visitor.1, next.clone()],
                )?;
            }
            Some(at) if at <= v.visited_at => {
                c.exec(
                    "UPDATE visit_last SET visit_id = $2, last_at = $3, last_on = $4, visitor_name = $5, next_on = $6 \
                     WHERE person_id = $1",
                    params![*p, id, v.visited_at, on.clone(), visitor.1, next.clone()],
                )?;
            }
            Some(_) => {}
        }
    }
    Ok(id)
}

/// A visit as stored.
#[derive(Clone, Debug)]
pub struct VisitRow {
    pub id: i64,
    pub street_id: i64,
    pub person_id: Option<i64>,
    pub household_id: Option<i64>,
    pub place_path: String,
    pub visitor_name: String,
    pub visited_at: i64,
    pub visited_on: String,
    pub how: String,
    pub health: String,
    pub living: String,
    pub needs: Vec<String>,
    pub notes: String,
    pub referral: String,
    pub next_on: Option<String>,
    pub case_id: Option<i64>,
}

const VISIT: &str = "SELECT v.id, v.street_id, v.person_id, v.household_id, v.place_path, v.visitor_name, \
     v.visited_at, v.visited_on, v.how, v.health, v.living, v.needs, v.notes, v.referral, v.next_on, v.case_id \
     FROM visits v";

fn visit_row(r: &Row) -> VisitRow {
    VisitRow {
        id: r.i64(0),
        street_id: r.i64(1),
        person_id: r.opt_i64(2),
        household_id: r.opt_i64(3),
        place_path: r.str(4),
        visitor_name: r.str(5),
        visited_at: r.i64(6),
        visited_on: r.str(7),
        how: r.str(8),
        health: r.str(9),
        living: r.str(10),
        needs: r
            .str(11)
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        notes: r.str(12),
        referral: r.str(13),
        next_on: r.opt_str(14),
        case_id: r.opt_i64(15),
    }
}

pub fn visit(c: &mut dyn Conn, id: i64) -> Result<Option<VisitRow>> {
    Ok(
        c.query_opt(&format!("{VISIT} WHERE v.id = $1"), params![id])?
            .map(|r| visit_row(&r)),
    )
}

/// The persons a visit reached.
pub fn visit_persons(c: &mut dyn Conn, visit_id: i64) -> Result<Vec<i64>> {
    Ok(c.query(
        "SELECT person_id FROM visit_persons WHERE visit_id = $1 ORDER BY person_id",
        params![visit_id],
    )?
    .iter()
    .map(|r| r.i64(0))
    .collect())
}

/// The visits that reached a person, newest first.
pub fn visits_of(c: &mut dyn Conn, person_id: i64, limit: i64) -> Result<Vec<VisitRow>> {
    Ok(c.query(
        &format!(
            "{VISIT} JOIN visit_persons vp ON vp.visit_id = v.id WHERE vp.person_id = $1 \
             ORDER BY v.visited_at DESC, v.id DESC LIMIT $2"
        ),
        params![person_id, limit],
    )?
    .iter()
    .map(visit_row)
    .collect())
}

/// The visits recorded at homes under these paths, newest first.
pub fn recent_under(c: &mut dyn Conn, paths: &[String], limit: i64) -> Result<Vec<VisitRow>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut p: Vec<Val> = vec![Val::Int(limit)];
    let cond = crate::store::under_paths("v.place_path", paths, 2, &mut p);
    Ok(c.query(
        &format!("{VISIT} WHERE {cond} ORDER BY v.visited_at DESC, v.id DESC LIMIT $1"),
        &p,
    )?
    .iter()
    .map(visit_row)
    .collect())
}

/// A person's latest visit as kept: its date, visitor and the next visit agreed.
#[derive(Clone, Debug)]
pub struct Last {
    pub last_on: String,
    pub visitor_name: String,
    pub next_on: Option<String>,
}

/// The latest visit of each of these persons that has one.
pub fn last_of(c: &mut dyn Conn, ids: &[i64]) -> Result<HashMap<i64, Last>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let vals: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
        for r in c.query(
            &format!(
                "SELECT person_id, last_on, visitor_name, next_on FROM visit_last WHERE person_id IN ({})",
                marks.join(", ")
            ),
            &vals,
        )? {
            out.insert(
                r.i64(0),
                Last {
                    last_on: r.str(1),
                    visitor_name: r.str(2),
                    next_on: r.opt_str(3),
                },
            );
        }
    }
    Ok(out)
}

/// The latest visit of each of these persons, computed from every visit (what `visit_last`
/// spares the due list; the benchmark's baseline).
pub fn last_of_scan(c: &mut dyn Conn, street_id: i64, ids: &[i64]) -> Result<HashMap<i64, String>> {
    let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
    Ok(c.query(
        "SELECT vp.person_id, MAX(v.visited_on) FROM visit_persons vp JOIN visits v ON v.id = vp.visit_id \
         WHERE v.street_id = $1 GROUP BY vp.person_id",
        params![street_id],
    )?
    .iter()
    .filter(|r| wanted.contains(&r.i64(0)))
    .map(|r| (r.i64(0), r.str(1)))
    .collect())
}

/// The persons of a street with a next visit agreed on or before `day`.
pub fn next_due(c: &mut dyn Conn, street_id: i64, day: &str) -> Result<Vec<i64>> {
    Ok(c.query(
        "SELECT person_id FROM visit_last WHERE street_id = $1 AND next_on IS NOT NULL AND next_on <= $2",
        params![street_id, day],
    )?
    .iter()
    .map(|r| r.i64(0))
    .collect())
}

/// Whether a street lets residents read the notes of their visits.
pub fn notes_to_resident(c: &mut dyn Conn, street_id: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT notes_to_resident FROM visit_settings WHERE street_id = $1",
        params![street_id],
    )?
    .is_some_and(|r| r.i64(0) != 0))
}

pub fn set_notes_to_resident(c: &mut dyn Conn, street_id: i64, on: bool, now: i64) -> Result<()> {
    if c.exec(
        "UPDATE visit_settings SET notes_to_resident = $2, updated_at = $3 WHERE street_id = $1",
        params![street_id, on as i64, now],
    )? == 0
    {
        c.exec(
            "INSERT INTO visit_settings (street_id, notes_to_resident, updated_at) VALUES ($1, $2, $3)",
            params![street_id, on as i64, now],
        )?;
    }
    Ok(())
}

/// A unit as a list shows it: its name and floor, its building's id, name and path.
#[derive(Clone, Debug, Default)]
pub struct Home {
    pub unit: String,
    pub floor: Option<i64>,
    pub building_id: i64,
    pub building: String,
    pub building_path: String,
}

/// The homes of these units (places the hierarchy holds).
pub fn homes(c: &mut dyn Conn, unit_ids: &[i64]) -> Result<HashMap<i64, Home>> {
    let mut out = HashMap::with_capacity(unit_ids.len());
    let mut ids: Vec<i64> = unit_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let vals: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
        for r in c.query(
            &format!(
                "SELECT u.id, u.name, u.floor_no, COALESCE(b.id, 0), COALESCE(b.name, ''), COALESCE(b.path, '') \
                 FROM places u LEFT JOIN places b ON b.id = u.parent_id WHERE u.id IN ({})",
                marks.join(", ")
            ),
            &vals,
        )? {
            out.insert(
                r.i64(0),
                Home {
                    unit: r.str(1),
                    floor: r.opt_i64(2),
                    building_id: r.i64(3),
                    building: r.str(4),
                    building_path: r.str(5),
                },
            );
        }
    }
    Ok(out)
}

/// A place: its street, kind, name and path.
pub type PlaceRow = (Option<i64>, String, String, String);

/// A place's street, kind, name and path.
pub fn place(c: &mut dyn Conn, id: i64) -> Result<Option<PlaceRow>> {
    Ok(c.query_opt(
        "SELECT street_id, kind, name, path FROM places WHERE id = $1",
        params![id],
    )?
    .map(|r| (r.opt_i64(0), r.str(1), r.str(2), r.str(3))))
}

/// The buildings under these paths, by path.
pub fn buildings_under(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<(i64, String, String)>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut p: Vec<Val> = Vec::new();
    let cond = crate::store::under_paths("path", paths, 1, &mut p);
    Ok(c.query(
        &format!(
            "SELECT id, name, path FROM places WHERE kind = 'building' AND {cond} ORDER BY path"
        ),
        &p,
    )?
    .iter()
    .map(|r| (r.i64(0), r.str(1), r.str(2)))
    .collect())
}
