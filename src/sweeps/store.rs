//! The sweeps area's SQL: campaigns, their grids, doors (tasks), submissions and handovers.
//! Starting a campaign is one `INSERT … SELECT` over the registry's households (read through
//! `registry::residents::households_source`), so 40,000 doors are made in one statement.

use std::collections::HashMap;

use super::model::{Answers, Campaign, Counts, Door, Question, State, TASK_DONE, TASK_NOBODY};
use crate::params;
use crate::store::{Conn, Result, Row, StoreError, Val};

const CAMPAIGN: &str = "SELECT id, street_id, title, questions, scope, scope_paths, scope_label, state, \
     retention_days, previous_id, households, author_id, author, author_path, created_at, started_at, \
     closed_at, purge_at, purged_at FROM sweep_campaigns";

fn json<T: serde::de::DeserializeOwned + Default>(s: &str) -> T {
    serde_json::from_str(s).unwrap_or_default()
}

fn campaign(r: &Row) -> Campaign {
    Campaign {
        id: r.i64(0),
        street_id: r.i64(1),
        title: r.str(2),
        questions: json::<Vec<Question>>(&r.str(3)),
        scope: json(&r.str(4)),
        scope_paths: json(&r.str(5)),
        scope_label: r.str(6),
        state: State::parse(&r.str(7)),
        retention_days: r.i64(8),
        previous_id: r.opt_i64(9),
        households: r.i64(10),
        author_id: r.i64(11),
        author: r.str(12),
        author_path: r.str(13),
        created_at: r.i64(14),
        started_at: r.opt_i64(15),
        closed_at: r.opt_i64(16),
        purge_at: r.opt_i64(17),
        purged_at: r.opt_i64(18),
    }
}

/// A campaign as written.
pub struct NewCampaign<'a> {
    pub street_id: i64,
    pub title: &'a str,
    pub questions: &'a [Question],
    pub scope: &'a [i64],
    pub scope_paths: &'a [String],
    pub scope_label: &'a str,
    pub retention_days: i64,
    pub previous_id: Option<i64>,
    pub author_id: i64,
    pub author: &'a str,
    pub author_path: &'a str,
    pub now: i64,
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Db(e.to_string()))
}

pub fn insert(c: &mut dyn Conn, n: &NewCampaign<'_>) -> Result<i64> {
    let row = c.query_one(
        "INSERT INTO sweep_campaigns (street_id, title, questions, scope, scope_paths, scope_label, state, \
         retention_days, previous_id, author_id, author, author_path, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $8, $9, $10, $11, $12) RETURNING id",
        params![
            n.street_id,
            n.title,
            to_json(&n.questions)?,
            to_json(&n.scope)?,
            to_json(&n.scope_paths)?,
            n.scope_label,
            n.retention_days,
            n.previous_id,
            n.author_id,
            n.author,
            n.author_path,
            n.now
        ],
    )?;
    Ok(row.i64(0))
}

pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<Campaign>> {
    Ok(
        c.query_opt(&format!("{CAMPAIGN} WHERE id = $1"), params![id])?
            .map(|r| campaign(&r)),
    )
}

/// The campaigns a caller sees, newest first: written at or under `paths` (which she manages),
/// written by her, or holding a door under `paths` or given to her.
pub fn visible(c: &mut dyn Conn, paths: &[String], user_id: i64) -> Result<Vec<Campaign>> {
    let mut p: Vec<Val> = vec![Val::Int(user_id)];
    let managed = crate::store::under_paths("author_path", paths, 2, &mut p);
    let first = p.len() + 1;
    let doors = crate::store::under_paths("t.place_path", paths, first, &mut p);
    let sql = format!(
        "{CAMPAIGN} WHERE author_id = $1 OR {managed} OR (state <> 'draft' AND EXISTS (\
         SELECT 1 FROM sweep_tasks t WHERE t.campaign_id = sweep_campaigns.id AND (t.assignee_id = $1 OR {doors}))) \
         ORDER BY id DESC LIMIT 100"
    );
    Ok(c.query(&sql, &p)?.iter().map(campaign).collect())
}

/// Whether the caller has a door in a campaign: given to her, or under `paths`.
pub fn has_doors(c: &mut dyn Conn, id: i64, paths: &[String], user_id: i64) -> Result<bool> {
    let mut p: Vec<Val> = vec![Val::Int(id), Val::Int(user_id)];
    let doors = crate::store::under_paths("place_path", paths, 3, &mut p);
    Ok(c.query_opt(
        &format!(
            "SELECT 1 FROM sweep_tasks WHERE campaign_id = $1 AND (assignee_id = $2 OR {doors}) LIMIT 1"
        ),
        &p,
    )?
    .is_some())
}

/// Makes every household under the campaign's places a door, in one statement: its unit, the
/// unit's building and the building's grid (0 when the building lies in no grid). Returns the
/// number of doors.
pub fn make_doors(c: &mut dyn Conn, id: i64, street_id: i64, paths: &[String]) -> Result<u64> {
    let mut p: Vec<Val> = vec![Val::Int(id), Val::Int(street_id)];
    let source = crate::registry::residents::households_source(street_id, paths, &mut p);
    c.exec(
        &format!(
            "INSERT INTO sweep_tasks (campaign_id, household_id, street_id, unit_id, building_id, grid_id, \
             place_path, state, attempts) \
             SELECT CAST($1 AS BIGINT), h.id, CAST($2 AS BIGINT), h.unit_id, COALESCE(u.parent_id, 0), \
             COALESCE(CASE WHEN g.kind = 'grid' THEN g.id END, 0), h.place_path, 'open', 0 \
             FROM ({source}) h JOIN places u ON u.id = h.unit_id \
             LEFT JOIN places b ON b.id = u.parent_id LEFT JOIN places g ON g.id = b.parent_id"
        ),
        &p,
    )
}

/// The grids a campaign's doors lie in, with their paths (`grid_id` 0 has none).
pub fn door_grids(c: &mut dyn Conn, id: i64) -> Result<Vec<(i64, Option<String>)>> {
    Ok(c.query(
        "SELECT d.grid_id, g.path FROM (SELECT DISTINCT grid_id FROM sweep_tasks WHERE campaign_id = $1) d \
         LEFT JOIN places g ON g.id = d.grid_id ORDER BY d.grid_id",
        params![id],
    )?
    .iter()
    .map(|r| (r.i64(0), r.opt_str(1)))
    .collect())
}

/// Gives a grid's doors to its grid worker (or to nobody).
pub fn assign_grid(
    c: &mut dyn Conn,
    id: i64,
    street_id: i64,
    grid_id: i64,
    worker: Option<i64>,
) -> Result<()> {
    c.exec(
        "INSERT INTO sweep_grids (campaign_id, grid_id, street_id, worker_id) VALUES ($1, $2, $3, $4)",
        params![id, grid_id, street_id, worker],
    )?;
    if worker.is_some() {
        c.exec(
            "UPDATE sweep_tasks SET assignee_id = $3 WHERE campaign_id = $1 AND grid_id = $2",
            params![id, grid_id, worker],
        )?;
    }
    Ok(())
}

pub fn mark_started(c: &mut dyn Conn, id: i64, households: i64, now: i64) -> Result<()> {
    c.exec(
        "UPDATE sweep_campaigns SET state = 'open', started_at = $2, households = $3 WHERE id = $1",
        params![id, now, households],
    )?;
    Ok(())
}

pub fn mark_closed(c: &mut dyn Conn, id: i64, now: i64, purge_at: i64) -> Result<()> {
    c.exec(
        "UPDATE sweep_campaigns SET state = 'closed', closed_at = $2, purge_at = $3 WHERE id = $1",
        params![id, now, purge_at],
    )?;
    Ok(())
}

/// A progress row: `(grid, building, state, doors, nobody-home visits)`.
pub type ProgressRow = (i64, i64, String, i64, i64);

pub fn progress_rows(c: &mut dyn Conn, id: i64) -> Result<Vec<ProgressRow>> {
    Ok(c.query(
        "SELECT grid_id, building_id, state, COUNT(*), CAST(SUM(attempts) AS BIGINT) FROM sweep_tasks \
         WHERE campaign_id = $1 GROUP BY grid_id, building_id, state ORDER BY grid_id, building_id",
        params![id],
    )?
    .iter()
    .map(|r| (r.i64(0), r.i64(1), r.str(2), r.i64(3), r.opt_i64(4).unwrap_or(0)))
    .collect())
}

/// Places' names and paths by id.
pub fn place_names(c: &mut dyn Conn, ids: &[i64]) -> Result<HashMap<i64, (String, String)>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let p: Vec<Val> = chunk.iter().map(|&i| Val::Int(i)).collect();
        for r in c.query(
            &format!(
                "SELECT id, name, path FROM places WHERE id IN ({})",
                marks.join(", ")
            ),
            &p,
        )? {
            out.insert(r.i64(0), (r.str(1), r.str(2)));
        }
    }
    Ok(out)
}

/// A place of a campaign's scope: `(id, street, path, name)`.
pub type ScopePlace = (i64, Option<i64>, String, String);

/// Places by id with their street, path and name.
pub fn places(c: &mut dyn Conn, ids: &[i64]) -> Result<Vec<ScopePlace>> {
    let mut out = Vec::new();
    for id in ids {
        if let Some(r) = c.query_opt(
            "SELECT id, street_id, path, name, kind FROM places WHERE id = $1",
            params![*id],
        )? {
            // A street is its own street.
            let street = if r.str(4) == "street" {
                Some(r.i64(0))
            } else {
                r.opt_i64(1)
            };
            out.push((r.i64(0), street, r.str(2), r.str(3)));
        }
    }
    Ok(out)
}

/// The grid workers given each grid of a campaign: `grid → worker id`.
pub fn grid_workers(c: &mut dyn Conn, id: i64) -> Result<HashMap<i64, i64>> {
    Ok(c.query(
        "SELECT grid_id, worker_id FROM sweep_grids WHERE campaign_id = $1 AND worker_id IS NOT NULL",
        params![id],
    )?
    .iter()
    .map(|r| (r.i64(0), r.i64(1)))
    .collect())
}

/// The volunteers buildings were handed to: `building → volunteer id`.
pub fn handovers(c: &mut dyn Conn, id: i64) -> Result<HashMap<i64, i64>> {
    Ok(c.query(
        "SELECT building_id, volunteer_id FROM sweep_handovers WHERE campaign_id = $1",
        params![id],
    )?
    .iter()
    .map(|r| (r.i64(0), r.i64(1)))
    .collect())
}

/// A building's doors in a campaign: its path and grid (none: no door there).
pub fn building_of(c: &mut dyn Conn, id: i64, building: i64) -> Result<Option<(String, i64)>> {
    Ok(c.query_opt(
        "SELECT b.path, t.grid_id FROM sweep_tasks t JOIN places b ON b.id = t.building_id \
         WHERE t.campaign_id = $1 AND t.building_id = $2 LIMIT 1",
        params![id, building],
    )?
    .map(|r| (r.str(0), r.i64(1))))
}

/// Hands a building's doors to a volunteer (or back to the grid worker when `volunteer` is
/// `None`).
pub fn hand_over(
    c: &mut dyn Conn,
    id: i64,
    street_id: i64,
    building: i64,
    volunteer: Option<i64>,
    by: i64,
    now: i64,
) -> Result<u64> {
    c.exec(
        "DELETE FROM sweep_handovers WHERE campaign_id = $1 AND building_id = $2",
        params![id, building],
    )?;
    let to = match volunteer {
        Some(v) => {
            c.exec(
                "INSERT INTO sweep_handovers (campaign_id, building_id, street_id, volunteer_id, by_id, at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                params![id, building, street_id, v, by, now],
            )?;
            Some(v)
        }
        None => c
            .query_opt(
                "SELECT g.worker_id FROM sweep_grids g WHERE g.campaign_id = $1 AND g.grid_id = \
                 (SELECT grid_id FROM sweep_tasks WHERE campaign_id = $1 AND building_id = $2 LIMIT 1)",
                params![id, building],
            )?
            .and_then(|r| r.opt_i64(0)),
    };
    c.exec(
        "UPDATE sweep_tasks SET assignee_id = $3 WHERE campaign_id = $1 AND building_id = $2",
        params![id, building, to],
    )
}

/// One door as the submission needs it.
pub struct Task {
    pub place_path: String,
    pub assignee_id: Option<i64>,
    pub state: String,
    pub attempts: i64,
}

pub fn task(c: &mut dyn Conn, id: i64, household: i64) -> Result<Option<Task>> {
    Ok(c.query_opt(
        "SELECT place_path, assignee_id, state, attempts FROM sweep_tasks WHERE campaign_id = $1 AND household_id = $2",
        params![id, household],
    )?
    .map(|r| Task {
        place_path: r.str(0),
        assignee_id: r.opt_i64(1),
        state: r.str(2),
        attempts: r.i64(3),
    }))
}

/// Keeps a submission once: false when this client id was kept before (nothing is added).
#[allow(clippy::too_many_arguments)]
pub fn keep_submission(
    c: &mut dyn Conn,
    id: i64,
    household: i64,
    client_id: &str,
    street_id: i64,
    outcome: &str,
    by: i64,
    now: i64,
) -> Result<bool> {
    Ok(c.exec(
        "INSERT INTO sweep_submissions (campaign_id, household_id, client_id, street_id, outcome, by_id, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        params![id, household, client_id, street_id, outcome, by, now],
    )? == 1)
}

/// The outcome kept for a client id, if any.
pub fn submission(
    c: &mut dyn Conn,
    id: i64,
    household: i64,
    client_id: &str,
) -> Result<Option<String>> {
    Ok(c.query_opt(
        "SELECT outcome FROM sweep_submissions WHERE campaign_id = $1 AND household_id = $2 AND client_id = $3",
        params![id, household, client_id],
    )?
    .map(|r| r.str(0)))
}

/// Records a door's answers: done.
pub fn answer(
    c: &mut dyn Conn,
    id: i64,
    household: i64,
    answers: &Answers,
    by: i64,
    now: i64,
) -> Result<()> {
    c.exec(
        "UPDATE sweep_tasks SET state = $3, answers = $4, answered_at = $5, answered_by = $6 \
         WHERE campaign_id = $1 AND household_id = $2",
        params![id, household, TASK_DONE, to_json(answers)?, now, by],
    )?;
    Ok(())
}

/// Records a visit that found nobody home: one more attempt; a door not yet answered waits for
/// another visit.
pub fn nobody_home(c: &mut dyn Conn, id: i64, household: i64, now: i64) -> Result<()> {
    c.exec(
        "UPDATE sweep_tasks SET attempts = attempts + 1, last_attempt_at = $3, \
         state = CASE WHEN state = 'done' THEN state ELSE $4 END \
         WHERE campaign_id = $1 AND household_id = $2",
        params![id, household, now, TASK_NOBODY],
    )?;
    Ok(())
}

/// The doors of a campaign the caller visits — given to her, or under `paths` — by building,
/// floor and unit; the heads' names are filled by the service.
pub fn doors(c: &mut dyn Conn, id: i64, paths: &[String], user_id: i64) -> Result<Vec<Door>> {
    let mut p: Vec<Val> = vec![Val::Int(id), Val::Int(user_id)];
    let under = crate::store::under_paths("t.place_path", paths, 3, &mut p);
    Ok(c.query(
        &format!(
            "SELECT t.household_id, t.building_id, COALESCE(b.name, ''), u.name, u.floor_no, t.state, t.attempts, \
             t.answered_at FROM sweep_tasks t JOIN places u ON u.id = t.unit_id \
             LEFT JOIN places b ON b.id = t.building_id \
             WHERE t.campaign_id = $1 AND (t.assignee_id = $2 OR {under}) \
             ORDER BY b.path, u.floor_no, u.path, t.household_id"
        ),
        &p,
    )?
    .iter()
    .map(|r| Door {
        household_id: r.i64(0),
        building_id: r.i64(1),
        building: r.str(2),
        unit: r.str(3),
        floor: r.opt_i64(4),
        head_masked: String::new(),
        state: r.str(5),
        attempts: r.i64(6),
        answered_at: r.opt_i64(7),
    })
    .collect())
}

/// The answers of every answered door (for the tallies).
pub fn all_answers(c: &mut dyn Conn, id: i64) -> Result<Vec<Answers>> {
    Ok(c.query(
        "SELECT answers FROM sweep_tasks WHERE campaign_id = $1 AND state = 'done' AND answers IS NOT NULL",
        params![id],
    )?
    .iter()
    .map(|r| json(&r.str(0)))
    .collect())
}

/// One row of the export.
pub struct ExportRow {
    pub household_id: i64,
    pub grid: String,
    pub building: String,
    pub unit: String,
    pub state: String,
    pub attempts: i64,
    pub answers: Option<Answers>,
    pub answered_at: Option<i64>,
}

/// Every door with its answers, by building and unit.
pub fn export_rows(c: &mut dyn Conn, id: i64) -> Result<Vec<ExportRow>> {
    Ok(c.query(
        "SELECT t.household_id, COALESCE(g.name, ''), COALESCE(b.name, ''), u.name, t.state, t.attempts, t.answers, \
         t.answered_at FROM sweep_tasks t JOIN places u ON u.id = t.unit_id \
         LEFT JOIN places b ON b.id = t.building_id LEFT JOIN places g ON g.id = t.grid_id \
         WHERE t.campaign_id = $1 ORDER BY g.path, b.path, u.floor_no, u.path, t.household_id",
        params![id],
    )?
    .iter()
    .map(|r| ExportRow {
        household_id: r.i64(0),
        grid: r.str(1),
        building: r.str(2),
        unit: r.str(3),
        state: r.str(4),
        attempts: r.i64(5),
        answers: r.opt_str(6).map(|s| json(&s)),
        answered_at: r.opt_i64(7),
    })
    .collect())
}

/// Closed campaigns whose retention ended and whose answers are still kept.
pub fn due_for_purge(c: &mut dyn Conn, now: i64) -> Result<Vec<i64>> {
    Ok(c.query(
        "SELECT id FROM sweep_campaigns WHERE state = 'closed' AND purged_at IS NULL AND purge_at <= $1 ORDER BY id",
        params![now],
    )?
    .iter()
    .map(|r| r.i64(0))
    .collect())
}

/// Keeps the counts and drops the personal answers: the doors, the submissions, the handovers.
pub fn purge(c: &mut dyn Conn, id: i64, summary: &str, now: i64) -> Result<u64> {
    let doors = c.exec(
        "DELETE FROM sweep_tasks WHERE campaign_id = $1",
        params![id],
    )?;
    c.exec(
        "DELETE FROM sweep_submissions WHERE campaign_id = $1",
        params![id],
    )?;
    c.exec(
        "DELETE FROM sweep_handovers WHERE campaign_id = $1",
        params![id],
    )?;
    c.exec(
        "UPDATE sweep_campaigns SET summary = $2, purged_at = $3 WHERE id = $1",
        params![id, summary, now],
    )?;
    Ok(doors)
}

/// The counts kept by the purge.
pub fn summary(c: &mut dyn Conn, id: i64) -> Result<Option<String>> {
    Ok(c.query_opt(
        "SELECT summary FROM sweep_campaigns WHERE id = $1",
        params![id],
    )?
    .and_then(|r| r.opt_str(0)))
}

/// Submissions kept for a campaign (tests and the figures' check).
pub fn submissions_count(c: &mut dyn Conn, id: i64) -> Result<Counts> {
    let mut out = Counts::default();
    for r in c.query(
        "SELECT outcome, COUNT(*) FROM sweep_submissions WHERE campaign_id = $1 GROUP BY outcome",
        params![id],
    )? {
        out.add(
            if r.str(0) == "answered" {
                TASK_DONE
            } else {
                TASK_NOBODY
            },
            r.i64(1),
        );
    }
    Ok(out)
}

/// The places a campaign may sweep, under the caller's records: `(id, name, kind, depth)`.
pub fn pickable(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<(i64, String, String, i64)>> {
    let mut p = Vec::new();
    let cond = crate::store::under_paths("path", paths, 1, &mut p);
    Ok(c.query(
        &format!(
            "SELECT id, name, kind, depth FROM places WHERE {cond} \
             AND kind IN ('street', 'community', 'grid', 'building') ORDER BY path LIMIT 3000"
        ),
        &p,
    )?
    .iter()
    .map(|r| (r.i64(0), r.str(1), r.str(2), r.i64(3)))
    .collect())
}
