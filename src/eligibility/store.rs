//! The eligibility area's tables: rules with every definition kept as a version, and the
//! to-dos they produce (one per rule and person, kept when closed so a person is not found
//! twice for the same rule).

use serde::Serialize;

use crate::params;
use crate::store::{Conn, Result, Row, Val, under_paths};

/// A rule as stored.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = EligibilityRule)]
pub struct Rule {
    pub id: i64,
    pub street_id: i64,
    pub name: String,
    pub benefit: String,
    pub condition: String,
    /// Whether the resident is told on her home page as well as her worker.
    pub tell_resident: bool,
    pub resident_text: String,
    /// draft, on or off.
    pub state: String,
    pub version: i64,
    pub updated_at: i64,
    pub last_run_at: Option<i64>,
    /// Open to-dos.
    pub open: i64,
    /// Closed to-dos by outcome.
    pub applied: i64,
    pub not_eligible: i64,
    pub declined: i64,
}

const RULE_COLS: &str = "r.id, r.street_id, r.name, r.benefit, r.condition, r.tell_resident, r.resident_text, \
     r.state, r.version, r.updated_at, r.last_run_at, \
     (SELECT COUNT(*) FROM elig_todos t WHERE t.rule_id = r.id AND t.state = 'open'), \
     (SELECT COUNT(*) FROM elig_todos t WHERE t.rule_id = r.id AND t.state = 'applied'), \
     (SELECT COUNT(*) FROM elig_todos t WHERE t.rule_id = r.id AND t.state = 'not_eligible'), \
     (SELECT COUNT(*) FROM elig_todos t WHERE t.rule_id = r.id AND t.state = 'declined')";

fn rule(r: &Row) -> Rule {
    Rule {
        id: r.i64(0),
        street_id: r.i64(1),
        name: r.str(2),
        benefit: r.str(3),
        condition: r.str(4),
        tell_resident: r.i64(5) != 0,
        resident_text: r.str(6),
        state: r.str(7),
        version: r.i64(8),
        updated_at: r.i64(9),
        last_run_at: r.opt_i64(10),
        open: r.i64(11),
        applied: r.i64(12),
        not_eligible: r.i64(13),
        declined: r.i64(14),
    }
}

/// What a rule's author sets.
#[derive(Clone, Debug)]
pub struct Definition {
    pub name: String,
    pub benefit: String,
    pub condition: String,
    pub tell_resident: bool,
    pub resident_text: String,
}

/// One kept version of a rule's definition.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = EligibilityRuleVersion)]
pub struct Version {
    pub version: i64,
    pub name: String,
    pub benefit: String,
    pub condition: String,
    pub tell_resident: bool,
    pub resident_text: String,
    pub state: String,
    pub changed_by_name: String,
    pub changed_at: i64,
}

/// Who changed it: `(user id, display name)`.
pub type By<'a> = (i64, &'a str);

fn keep_version(c: &mut dyn Conn, id: i64, by: By, now: i64) -> Result<()> {
    c.exec(
        "INSERT INTO elig_rule_versions (street_id, rule_id, version, name, benefit, condition, tell_resident, \
         resident_text, state, changed_by, changed_by_name, changed_at) \
         SELECT street_id, id, version, name, benefit, condition, tell_resident, resident_text, state, $2, $3, $4 \
         FROM elig_rules WHERE id = $1",
        params![id, by.0, by.1, now],
    )?;
    Ok(())
}

pub fn insert_rule(
    c: &mut dyn Conn,
    street_id: i64,
    d: &Definition,
    by: By,
    now: i64,
) -> Result<i64> {
    let id = c.query_i64(
        "INSERT INTO elig_rules (street_id, name, benefit, condition, tell_resident, resident_text, state, version, \
         created_at, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'draft', 1, $7, $8, $7) RETURNING id",
        params![
            street_id,
            d.name.as_str(),
            d.benefit.as_str(),
            d.condition.as_str(),
            d.tell_resident as i64,
            d.resident_text.as_str(),
            now,
            by.0
        ],
    )?;
    keep_version(c, id, by, now)?;
    Ok(id)
}

/// A new definition: the version moves on and is kept.
pub fn update_rule(c: &mut dyn Conn, id: i64, d: &Definition, by: By, now: i64) -> Result<()> {
    c.exec(
        "UPDATE elig_rules SET name = $2, benefit = $3, condition = $4, tell_resident = $5, resident_text = $6, \
         version = version + 1, updated_by = $7, updated_at = $8 WHERE id = $1",
        params![
            id,
            d.name.as_str(),
            d.benefit.as_str(),
            d.condition.as_str(),
            d.tell_resident as i64,
            d.resident_text.as_str(),
            by.0,
            now
        ],
    )?;
    keep_version(c, id, by, now)
}

/// Switched on or off: a version of its own, so the history says when it reached people.
pub fn set_state(c: &mut dyn Conn, id: i64, state: &str, by: By, now: i64) -> Result<()> {
    c.exec(
        "UPDATE elig_rules SET state = $2, version = version + 1, updated_by = $3, updated_at = $4 WHERE id = $1",
        params![id, state, by.0, now],
    )?;
    keep_version(c, id, by, now)
}

pub fn get_rule(c: &mut dyn Conn, id: i64) -> Result<Option<Rule>> {
    Ok(c.query_opt(
        &format!("SELECT {RULE_COLS} FROM elig_rules r WHERE r.id = $1"),
        params![id],
    )?
    .as_ref()
    .map(rule))
}

pub fn rules(c: &mut dyn Conn, street_id: i64) -> Result<Vec<Rule>> {
    Ok(c.query(
        &format!("SELECT {RULE_COLS} FROM elig_rules r WHERE r.street_id = $1 ORDER BY r.state = 'on' DESC, r.name"),
        params![street_id],
    )?
    .iter()
    .map(rule)
    .collect())
}

/// Every rule switched on, of every street (the job's list).
pub fn rules_on(c: &mut dyn Conn) -> Result<Vec<Rule>> {
    Ok(c.query(
        &format!("SELECT {RULE_COLS} FROM elig_rules r WHERE r.state = 'on' ORDER BY r.id"),
        &[],
    )?
    .iter()
    .map(rule)
    .collect())
}

pub fn name_taken(c: &mut dyn Conn, street_id: i64, name: &str, except: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM elig_rules WHERE street_id = $1 AND name = $2 AND id <> $3",
        params![street_id, name, except],
    )?
    .is_some())
}

pub fn versions(c: &mut dyn Conn, id: i64) -> Result<Vec<Version>> {
    Ok(c.query(
        "SELECT version, name, benefit, condition, tell_resident, resident_text, state, changed_by_name, changed_at \
         FROM elig_rule_versions WHERE rule_id = $1 ORDER BY version DESC",
        params![id],
    )?
    .iter()
    .map(|r| Version {
        version: r.i64(0),
        name: r.str(1),
        benefit: r.str(2),
        condition: r.str(3),
        tell_resident: r.i64(4) != 0,
        resident_text: r.str(5),
        state: r.str(6),
        changed_by_name: r.str(7),
        changed_at: r.i64(8),
    })
    .collect())
}

/// Adds a to-do for every person found who has none for the rule yet (open or closed: a
/// person closed as "declined" is not asked again); how many were added.
pub fn add_todos(c: &mut dyn Conn, rule: &Rule, found: &[(i64, String)], now: i64) -> Result<i64> {
    let before = c.query_i64(
        "SELECT COUNT(*) FROM elig_todos WHERE rule_id = $1",
        params![rule.id],
    )?;
    for chunk in found.chunks(2000) {
        let rows: Vec<Vec<Val>> = chunk
            .iter()
            .map(|(person, path)| {
                vec![
                    Val::Int(rule.street_id),
                    Val::Int(rule.id),
                    Val::Int(rule.version),
                    Val::Int(*person),
                    Val::Text(path.clone()),
                    Val::Int(now),
                ]
            })
            .collect();
        c.insert_many_ignore(
            "elig_todos",
            &[
                "street_id",
                "rule_id",
                "rule_version",
                "person_id",
                "place_path",
                "created_at",
            ],
            &rows,
        )?;
    }
    c.exec(
        "UPDATE elig_rules SET last_run_at = $2 WHERE id = $1",
        params![rule.id, now],
    )?;
    let after = c.query_i64(
        "SELECT COUNT(*) FROM elig_todos WHERE rule_id = $1",
        params![rule.id],
    )?;
    Ok(after - before)
}

/// A to-do as stored, with its rule's name and benefit.
#[derive(Clone, Debug)]
pub struct Todo {
    pub id: i64,
    pub street_id: i64,
    pub rule_id: i64,
    pub rule_name: String,
    pub benefit: String,
    pub rule_version: i64,
    pub person_id: i64,
    pub place_path: String,
    pub created_at: i64,
    pub state: String,
    pub outcome_note: String,
    pub closed_by_name: Option<String>,
    pub closed_at: Option<i64>,
}

const TODO_COLS: &str = "t.id, t.street_id, t.rule_id, r.name, r.benefit, t.rule_version, t.person_id, t.place_path, \
     t.created_at, t.state, t.outcome_note, t.closed_by_name, t.closed_at";

fn todo(r: &Row) -> Todo {
    Todo {
        id: r.i64(0),
        street_id: r.i64(1),
        rule_id: r.i64(2),
        rule_name: r.str(3),
        benefit: r.str(4),
        rule_version: r.i64(5),
        person_id: r.i64(6),
        place_path: r.str(7),
        created_at: r.i64(8),
        state: r.str(9),
        outcome_note: r.str(10),
        closed_by_name: r.opt_str(11),
        closed_at: r.opt_i64(12),
    }
}

/// What a worker's list asks for.
#[derive(Clone, Debug, Default)]
pub struct TodoFilter {
    /// open, applied, not_eligible, declined; all when empty.
    pub state: Option<String>,
    pub rule_id: Option<i64>,
}

/// A street's to-dos under the caller's paths, in building order (a worker walks them door
/// by door), at most `limit`; and how many match in all.
pub fn todos(
    c: &mut dyn Conn,
    street_id: i64,
    paths: &[String],
    f: &TodoFilter,
    limit: i64,
) -> Result<(Vec<Todo>, i64)> {
    let mut p: Vec<Val> = vec![Val::Int(street_id)];
    let mut cond = format!(
        "t.street_id = $1 AND {}",
        under_paths("t.place_path", paths, 2, &mut p)
    );
    if let Some(s) = &f.state {
        p.push(Val::Text(s.clone()));
        cond.push_str(&format!(" AND t.state = ${}", p.len()));
    }
    if let Some(r) = f.rule_id {
        p.push(Val::Int(r));
        cond.push_str(&format!(" AND t.rule_id = ${}", p.len()));
    }
    let total = c.query_i64(
        &format!("SELECT COUNT(*) FROM elig_todos t WHERE {cond}"),
        &p,
    )?;
    p.push(Val::Int(limit));
    let rows = c.query(
        &format!(
            "SELECT {TODO_COLS} FROM elig_todos t JOIN elig_rules r ON r.id = t.rule_id WHERE {cond} \
             ORDER BY t.place_path, t.id LIMIT ${}",
            p.len()
        ),
        &p,
    )?;
    Ok((rows.iter().map(todo).collect(), total))
}

pub fn get_todo(c: &mut dyn Conn, id: i64) -> Result<Option<Todo>> {
    Ok(c.query_opt(
        &format!("SELECT {TODO_COLS} FROM elig_todos t JOIN elig_rules r ON r.id = t.rule_id WHERE t.id = $1"),
        params![id],
    )?
    .as_ref()
    .map(todo))
}

/// Closes an open to-do; whether it was open.
pub fn close_todo(
    c: &mut dyn Conn,
    id: i64,
    outcome: &str,
    note: &str,
    by: By,
    now: i64,
) -> Result<bool> {
    Ok(c.exec(
        "UPDATE elig_todos SET state = $2, outcome_note = $3, closed_by = $4, closed_by_name = $5, closed_at = $6 \
         WHERE id = $1 AND state = 'open'",
        params![id, outcome, note, by.0, by.1, now],
    )? == 1)
}

/// A resident's open to-dos of rules switched on that tell her.
pub fn told_to(c: &mut dyn Conn, person_id: i64) -> Result<Vec<(String, String, String)>> {
    Ok(c.query(
        "SELECT r.name, r.benefit, r.resident_text FROM elig_todos t JOIN elig_rules r ON r.id = t.rule_id \
         WHERE t.person_id = $1 AND t.state = 'open' AND r.state = 'on' AND r.tell_resident = 1 ORDER BY t.id",
        params![person_id],
    )?
    .iter()
    .map(|r| (r.str(0), r.str(1), r.str(2)))
    .collect())
}

/// Open to-dos under the caller's paths (her home card).
pub fn open_count(c: &mut dyn Conn, street_id: i64, paths: &[String]) -> Result<i64> {
    let mut p: Vec<Val> = vec![Val::Int(street_id)];
    let cond = under_paths("t.place_path", paths, 2, &mut p);
    c.query_i64(
        &format!("SELECT COUNT(*) FROM elig_todos t WHERE t.street_id = $1 AND t.state = 'open' AND {cond}"),
        &p,
    )
}
