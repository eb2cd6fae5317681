//! Joint handling (联合处置 · 联合会商): a case keeps one lead organisation, its handler; the
//! dispatcher adds co-handling organisations, each with a task of its own — what it must do,
//! its own acceptance and deadline in working time, its own done. A consultation (会商)
//! records who took part, what was decided and who does what, and sets the tasks in one
//! transaction. The lead may resolve the case only when every task is done or released with
//! a reason ([`unfinished`]).
//!
//! A task's life is a table of its own ([`TASK_RULES`]) read by every check, as the case's
//! is. Its clock lives on its row (`clock`, `warn_at`, `due_at`, `warned`, `level`,
//! `next_alarm_at`), and [`sweep`] warns and escalates each task with the same rule as a
//! case's ([`escalation::fire`]), moving `next_alarm_at` on in the same transaction — so a
//! restart neither misses nor repeats a task's escalation.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::calendar::{Calendar, HOUR_MS};
use super::escalation::{self, Sweep};
use super::lifecycle::{ActorRef, Refusal};
use super::{Actor, Case, CaseError, State, Why, notify, record_event};
use crate::params;
use crate::store::{Conn, Row, StoreError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Set, waiting for the co-handler to accept it (its acceptance clock runs).
    Open,
    /// Accepted: its deadline runs.
    Accepted,
    Done,
    /// Released with a reason by the dispatcher or the lead (no longer needed).
    Released,
    /// Declined by the co-handler with a reason: back with the dispatcher to release or set
    /// anew (a task's 退单).
    Declined,
}

impl TaskState {
    pub const ALL: [TaskState; 5] = [
        TaskState::Open,
        TaskState::Accepted,
        TaskState::Done,
        TaskState::Released,
        TaskState::Declined,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Open => "open",
            TaskState::Accepted => "accepted",
            TaskState::Done => "done",
            TaskState::Released => "released",
            TaskState::Declined => "declined",
        }
    }
    pub fn parse(s: &str) -> Option<TaskState> {
        TaskState::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// Done or released: the lead's part may close over it.
    pub fn finished(self) -> bool {
        matches!(self, TaskState::Done | TaskState::Released)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskAction {
    Accept,
    Decline,
    Done,
    Release,
    Reopen,
}

impl TaskAction {
    pub const ALL: [TaskAction; 5] = [
        TaskAction::Accept,
        TaskAction::Decline,
        TaskAction::Done,
        TaskAction::Release,
        TaskAction::Reopen,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            TaskAction::Accept => "accept",
            TaskAction::Decline => "decline",
            TaskAction::Done => "done",
            TaskAction::Release => "release",
            TaskAction::Reopen => "reopen",
        }
    }
    pub fn parse(s: &str) -> Option<TaskAction> {
        TaskAction::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// Every step but accepting says why.
    pub fn needs_note(self) -> bool {
        self != TaskAction::Accept
    }
}

pub struct TaskRule {
    pub action: TaskAction,
    pub from: &'static [TaskState],
    /// The parts towards the task: the case's dispatchers, its lead (`Handler`), and the
    /// members of the task's organisation (`CoHandler`).
    pub actors: &'static [Actor],
    pub to: TaskState,
}

use Actor::{CoHandler as CO, Dispatcher as D, Handler as LEAD};
use TaskState::{Accepted as TA, Declined as TDECL, Done as TDONE, Open as TO};

/// The single source of truth for a task's life.
#[rustfmt::skip]
pub const TASK_RULES: &[TaskRule] = &[
    TaskRule { action: TaskAction::Accept, from: &[TO], actors: &[CO], to: TA },
    TaskRule { action: TaskAction::Decline, from: &[TO], actors: &[CO], to: TDECL },
    TaskRule { action: TaskAction::Done, from: &[TA], actors: &[CO], to: TDONE },
    TaskRule { action: TaskAction::Release, from: &[TO, TA, TDECL], actors: &[D, LEAD], to: TaskState::Released },
    TaskRule { action: TaskAction::Reopen, from: &[TDONE], actors: &[D, LEAD], to: TA },
];

/// The case states in which tasks may be set and worked: accepted and not yet resolved.
pub const CASE_STATES: [State; 6] = [
    State::Accepted,
    State::Dispatched,
    State::SignedFor,
    State::InProgress,
    State::Returned,
    State::OnHold,
];

pub fn task_rule(action: TaskAction) -> &'static TaskRule {
    TASK_RULES
        .iter()
        .find(|r| r.action == action)
        .expect("every task action has a rule")
}

/// The table's answer for a task: the role is checked first, then the state.
pub fn check(action: TaskAction, state: TaskState, actors: &[Actor]) -> Result<TaskState, Refusal> {
    let r = task_rule(action);
    if !r.actors.iter().any(|a| actors.contains(a)) {
        return Err(Refusal::Role);
    }
    if !r.from.contains(&state) {
        return Err(Refusal::State);
    }
    Ok(r.to)
}

/// The parts a person with these roles towards the case plays towards one of its tasks:
/// dispatcher and lead carry over; `CoHandler` only for the task's own organisation.
pub fn actors_for(case_actors: &[Actor], orgs: &[i64], task_org: i64) -> Vec<Actor> {
    let mut out: Vec<Actor> = case_actors
        .iter()
        .copied()
        .filter(|a| matches!(a, Actor::Dispatcher | Actor::Handler))
        .collect();
    if orgs.contains(&task_org) {
        out.push(Actor::CoHandler);
    }
    out
}

/// The steps the caller could take on a task now.
pub fn offered(state: TaskState, actors: &[Actor]) -> Vec<TaskAction> {
    TaskAction::ALL
        .into_iter()
        .filter(|a| check(*a, state, actors).is_ok())
        .collect()
}

/// One co-handling organisation's task on a case.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Task {
    pub id: i64,
    pub case_id: i64,
    pub org_id: i64,
    pub org_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consultation_id: Option<i64>,
    /// What the organisation must do.
    pub task: String,
    pub state: TaskState,
    /// Working hours to do it, from its acceptance.
    pub hours: i64,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_at: Option<i64>,
    /// The last reason given (done, declined, released, reopened).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// accept (waiting to be accepted), resolve (being done) or none.
    pub clock: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<i64>,
    /// 0 on time; 1–3 escalated to community, street, district.
    pub level: i64,
    /// Passed a deadline at some point.
    pub late: bool,
    /// Its running deadline has passed.
    pub overdue: bool,
}

const TASK_COLS: &str = "t.id, t.case_id, t.org_id, '', t.consultation_id, t.task, \
     t.state, t.hours, t.created_at, t.accepted_at, t.done_at, t.note, t.clock, t.due_at, t.level, \
     t.late, t.street_id, t.warn_at, t.warned, t.next_alarm_at, t.updated_at";
const TASK_FROM: &str = "case_tasks t";

/// Names the tasks' organisations (through the org area's surface).
fn named(c: &mut dyn Conn, mut tasks: Vec<Task>) -> Result<Vec<Task>, StoreError> {
    let names = crate::org::orgs::names(c, tasks.iter().map(|t| t.org_id))?;
    for t in &mut tasks {
        t.org_name = names.get(&t.org_id).cloned().unwrap_or_default();
    }
    Ok(tasks)
}

/// A task row with what its checks need besides the public fields.
struct Stored {
    task: Task,
    street_id: i64,
    warn_at: Option<i64>,
    warned: bool,
    updated_at: i64,
}

fn stored(r: Row, now: i64) -> Stored {
    let clock = r.str(12);
    let due_at = r.opt_i64(13);
    Stored {
        street_id: r.i64(16),
        warn_at: r.opt_i64(17),
        warned: r.bool(18),
        updated_at: r.i64(20),
        task: Task {
            id: r.i64(0),
            case_id: r.i64(1),
            org_id: r.i64(2),
            org_name: r.str(3),
            consultation_id: r.opt_i64(4),
            task: r.str(5),
            state: TaskState::parse(&r.str(6)).unwrap_or(TaskState::Open),
            hours: r.i64(7),
            created_at: r.i64(8),
            accepted_at: r.opt_i64(9),
            done_at: r.opt_i64(10),
            note: r.str(11),
            overdue: matches!(clock.as_str(), "accept" | "resolve")
                && due_at.is_some_and(|d| d < now),
            clock,
            due_at,
            level: r.i64(14),
            late: r.bool(15),
        },
    }
}

/// The tasks of a case, oldest first.
pub fn of_case(c: &mut dyn Conn, case_id: i64, now: i64) -> Result<Vec<Task>, StoreError> {
    let tasks = c
        .query(
            &format!("SELECT {TASK_COLS} FROM {TASK_FROM} WHERE t.case_id = $1 ORDER BY t.id"),
            params![case_id],
        )?
        .into_iter()
        .map(|r| stored(r, now).task)
        .collect();
    named(c, tasks)
}

/// The organisations with a task on a case (they see the case).
pub fn org_ids(c: &mut dyn Conn, case_id: i64) -> Result<Vec<i64>, StoreError> {
    Ok(c.query(
        "SELECT DISTINCT org_id FROM case_tasks WHERE case_id = $1",
        params![case_id],
    )?
    .iter()
    .map(|r| r.i64(0))
    .collect())
}

/// Tasks of a case not yet done or released: the lead's part may not close over them.
pub fn unfinished(c: &mut dyn Conn, case_id: i64) -> Result<i64, StoreError> {
    Ok(c
        .query_opt(
            "SELECT COUNT(*) FROM case_tasks WHERE case_id = $1 AND state IN ('open', 'accepted', 'declined')",
            params![case_id],
        )?
        .map(|r| r.i64(0))
        .unwrap_or(0))
}

/// The open tasks of these organisations (their queue), the most escalated first, then by
/// deadline.
pub fn for_orgs(
    c: &mut dyn Conn,
    orgs: &[i64],
    now: i64,
    limit: i64,
) -> Result<Vec<Task>, StoreError> {
    if orgs.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = orgs.iter().map(|o| o.to_string()).collect();
    let tasks = c
        .query(
            &format!(
                "SELECT {TASK_COLS} FROM {TASK_FROM} WHERE t.org_id IN ({}) \
                 AND t.state IN ('open', 'accepted') ORDER BY t.level DESC, t.due_at, t.id LIMIT {limit}",
                list.join(", ")
            ),
            params![],
        )?
        .into_iter()
        .map(|r| stored(r, now).task)
        .collect();
    named(c, tasks)
}

/// A task to set: an organisation, what it must do, and its working hours once accepted
/// (the category's resolve hours when not given).
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct NewTask {
    pub org_id: i64,
    pub task: String,
    #[serde(default)]
    pub hours: Option<i64>,
}

/// A consultation (会商): who took part, what was decided, and the tasks it sets.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct NewConsultation {
    /// Who took part (organisations and people), as written in the minutes.
    pub participants: String,
    /// What was decided.
    pub decision: String,
    /// When it was held (ms since 1970); now when absent.
    #[serde(default)]
    pub held_at: Option<i64>,
    /// Who does what.
    #[serde(default)]
    pub tasks: Vec<NewTask>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Consultation {
    pub id: i64,
    pub case_id: i64,
    pub held_at: i64,
    pub participants: String,
    pub decision: String,
    pub created_at: i64,
}

pub fn consultations(c: &mut dyn Conn, case_id: i64) -> Result<Vec<Consultation>, StoreError> {
    Ok(c.query(
        "SELECT id, case_id, held_at, participants, decision, created_at FROM case_consultations \
             WHERE case_id = $1 ORDER BY held_at, id",
        params![case_id],
    )?
    .iter()
    .map(|r| Consultation {
        id: r.i64(0),
        case_id: r.i64(1),
        held_at: r.i64(2),
        participants: r.str(3),
        decision: r.str(4),
        created_at: r.i64(5),
    })
    .collect())
}

/// A step on a task.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct TaskStep {
    pub action: TaskAction,
    #[serde(default)]
    pub note: String,
}

fn forbidden(key: &'static str) -> CaseError {
    CaseError::Forbidden(Why::Key(key))
}
fn conflict(key: &'static str) -> CaseError {
    CaseError::Conflict(Why::Key(key))
}

/// Checks a written text: trimmed, `min..=max` characters, no contact numbers hidden in it.
fn text(s: &str, max: usize, key: &'static str) -> Result<String, CaseError> {
    let s = s.trim();
    if s.chars().count() < 2 || s.chars().count() > max {
        return Err(CaseError::Invalid(key));
    }
    crate::kernel::text::check_note(s).map_err(CaseError::Invalid)?;
    Ok(s.to_string())
}

/// The checks every setting of tasks makes on the case and the caller.
fn may_set(case: &Case, who: &ActorRef) -> Result<(), CaseError> {
    if !who.actors.contains(&Actor::Dispatcher) {
        return Err(forbidden("case.err_task_role"));
    }
    if !CASE_STATES.contains(&case.state) {
        return Err(conflict("case.err_task_case_state"));
    }
    if case.self_governed {
        return Err(conflict("case.err_task_self_governed"));
    }
    Ok(())
}

/// Sets one task on a case (the caller runs this in a write transaction, after [`may_set`]
/// by way of [`add`] or [`consult`]).
fn insert(
    c: &mut dyn Conn,
    case: &Case,
    who: &ActorRef,
    new: &NewTask,
    consultation: Option<i64>,
    now: i64,
) -> Result<i64, CaseError> {
    let task = text(&new.task, 500, "case.err_task_text")?;
    // A co-handler of this street, active, other than the lead, serving the place.
    if !crate::org::orgs::is_active(c, case.street_id, new.org_id)? {
        return Err(CaseError::Invalid("case.err_task_org"));
    }
    if case.handler_org_id == Some(new.org_id) {
        return Err(CaseError::Invalid("case.err_task_lead"));
    }
    let serves = crate::org::places::org_serves(c, new.org_id)?;
    // An organisation with no service area serves the whole street (a department).
    if !serves.is_empty() && !crate::org::Scope::covers(&serves, &case.place_path) {
        return Err(CaseError::Invalid("case.err_task_serves"));
    }
    let dup = c.query_opt(
        "SELECT id FROM case_tasks WHERE case_id = $1 AND org_id = $2 AND state IN ('open', 'accepted')",
        params![case.id.0, new.org_id],
    )?;
    if dup.is_some() {
        return Err(conflict("case.err_task_duplicate"));
    }
    let cat = super::category_by_id(c, case.category_id)?.ok_or(CaseError::NotFound)?;
    let hours = new.hours.unwrap_or(cat.resolve_hours);
    if !(1..=400).contains(&hours) {
        return Err(CaseError::Invalid("case.err_task_hours"));
    }
    let cal = Calendar::load(c, case.street_id)?;
    let span = cat.accept_hours * HOUR_MS;
    let due = cal.add(now, span);
    let warn = cal.add(now, span * 4 / 5);
    let next = escalation::next_of(&cal, "accept", Some(warn), Some(due), false, 0);
    let id = c.query_one(
        "INSERT INTO case_tasks (street_id, case_id, org_id, consultation_id, task, state, hours, \
         created_by, created_at, clock, clock_start, warn_at, due_at, next_alarm_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, 'accept', $8, $9, $10, $11, $8) RETURNING id",
        params![
            case.street_id,
            case.id.0,
            new.org_id,
            consultation,
            task.clone(),
            hours,
            who.user_id,
            now,
            warn,
            due,
            next
        ],
    )?
    .i64(0);
    record_event(
        c,
        case.street_id,
        case.id.0,
        now,
        (who.user_id, &who.name),
        "task_added",
        case.state.as_str(),
        case.state.as_str(),
        &task,
        serde_json::json!({"task_id": id, "org_id": new.org_id, "hours": hours, "due_at": due}),
    )?;
    notify::to_handler(
        c,
        case.street_id,
        Some(new.org_id),
        None,
        "task_added",
        case.id.0,
        &task,
        now,
    )?;
    Ok(id)
}

/// The dispatcher sets one co-handler's task on a case.
pub fn add(
    c: &mut dyn Conn,
    case: &Case,
    who: &ActorRef,
    new: &NewTask,
    now: i64,
) -> Result<i64, CaseError> {
    may_set(case, who)?;
    insert(c, case, who, new, None, now)
}

/// Records a consultation (会商) and sets the tasks it decided, all or nothing.
pub fn consult(
    c: &mut dyn Conn,
    case: &Case,
    who: &ActorRef,
    new: &NewConsultation,
    now: i64,
) -> Result<(i64, Vec<i64>), CaseError> {
    may_set(case, who)?;
    let participants = text(&new.participants, 500, "case.err_consult_participants")?;
    let decision = text(&new.decision, 2000, "case.err_consult_decision")?;
    let held_at = new.held_at.unwrap_or(now);
    // Held before the case was reported or in the future: a typing mistake.
    if held_at > now + 60_000 || held_at < case.created_at - 60_000 {
        return Err(CaseError::Invalid("case.err_consult_held"));
    }
    if new.tasks.len() > 10 {
        return Err(CaseError::Invalid("case.err_consult_tasks"));
    }
    let id = c.query_one(
        "INSERT INTO case_consultations (street_id, case_id, held_at, participants, decision, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        params![
            case.street_id,
            case.id.0,
            held_at,
            participants.clone(),
            decision.clone(),
            who.user_id,
            now
        ],
    )?
    .i64(0);
    record_event(
        c,
        case.street_id,
        case.id.0,
        now,
        (who.user_id, &who.name),
        "consultation",
        case.state.as_str(),
        case.state.as_str(),
        &decision,
        serde_json::json!({"consultation_id": id, "participants": participants}),
    )?;
    let mut ids = Vec::new();
    for t in &new.tasks {
        ids.push(insert(c, case, who, t, Some(id), now)?);
    }
    Ok((id, ids))
}

/// One step on a task, with every check, recorded on the case's timeline.
pub fn step(
    c: &mut dyn Conn,
    case: &Case,
    task_id: i64,
    who: &ActorRef,
    step: &TaskStep,
    now: i64,
) -> Result<TaskState, CaseError> {
    let Some(row) = c
        .query_opt(
            &format!("SELECT {TASK_COLS} FROM {TASK_FROM} WHERE t.id = $1 AND t.case_id = $2"),
            params![task_id, case.id.0],
        )?
        .map(|r| stored(r, now))
    else {
        return Err(CaseError::NotFound);
    };
    let t = &row.task;
    let actors = actors_for(&who.actors, &who.orgs, t.org_id);
    if actors.is_empty() {
        return Err(CaseError::NotFound);
    }
    let to = check(step.action, t.state, &actors).map_err(|r| match r {
        Refusal::Role => forbidden("case.err_task_step_role"),
        Refusal::State => conflict("case.err_task_step_state"),
    })?;
    if !CASE_STATES.contains(&case.state) {
        return Err(conflict("case.err_task_case_state"));
    }
    let note = step.note.trim();
    if step.action.needs_note() && note.is_empty() {
        return Err(CaseError::Invalid("case.err_note"));
    }
    if note.chars().count() > 1000 {
        return Err(CaseError::Invalid("case.err_too_long"));
    }
    crate::kernel::text::check_note(note).map_err(CaseError::Invalid)?;
    let cal = Calendar::load(c, row.street_id)?;
    // The clock after the step: accepting or reopening starts the task's own deadline; every
    // other step stops it (late when it had passed).
    let mut late = t.late;
    let (clock, start, warn_at, due_at, warned, level) = match step.action {
        TaskAction::Accept | TaskAction::Reopen => {
            let span = t.hours * HOUR_MS;
            let due = cal.add(now, span);
            (
                "resolve",
                now,
                Some(cal.add(now, span * 4 / 5)),
                Some(due),
                false,
                0,
            )
        }
        _ => {
            if t.overdue {
                late = true;
            }
            ("none", now, row.warn_at, t.due_at, row.warned, t.level)
        }
    };
    let next = escalation::next_of(&cal, clock, warn_at, due_at, warned, level);
    let accepted_at = if step.action == TaskAction::Accept {
        Some(now)
    } else {
        t.accepted_at
    };
    let done_at = match step.action {
        TaskAction::Done => Some(now),
        TaskAction::Reopen => None,
        _ => t.done_at,
    };
    let ended_at = to.finished().then_some(now);
    let changed = c.exec(
        "UPDATE case_tasks SET state = $2, clock = $3, clock_start = $4, warn_at = $5, due_at = $6, \
         warned = $7, level = $8, late = $9, next_alarm_at = $10, accepted_at = $11, done_at = $12, \
         ended_at = $13, note = $14, updated_at = $15 WHERE id = $1 AND state = $16 AND updated_at = $17",
        params![
            t.id,
            to.as_str(),
            clock,
            start,
            warn_at,
            due_at,
            warned,
            level,
            late,
            next,
            accepted_at,
            done_at,
            ended_at,
            note.to_string(),
            now.max(row.updated_at),
            t.state.as_str(),
            row.updated_at
        ],
    )?;
    if changed == 0 {
        return Err(conflict("case.err_changed"));
    }
    record_event(
        c,
        case.street_id,
        case.id.0,
        now,
        (who.user_id, &who.name),
        &format!("task_{}", step.action.as_str()),
        case.state.as_str(),
        case.state.as_str(),
        note,
        serde_json::json!({"task_id": t.id, "org_id": t.org_id, "task_state": to.as_str()}),
    )?;
    // Who hears of it: the lead and dispatchers when the co-handler acts, the co-handler
    // when the dispatcher or lead does.
    let kind = format!("task_{}", step.action.as_str());
    if actors.contains(&Actor::CoHandler) {
        if case.handler_org_id.is_some() || case.handler_user_id.is_some() {
            notify::to_handler(
                c,
                case.street_id,
                case.handler_org_id,
                case.handler_user_id,
                &kind,
                case.id.0,
                note,
                now,
            )?;
        }
        if to == TaskState::Declined {
            notify::to_dispatchers(
                c,
                case.street_id,
                &case.place_path,
                0,
                &kind,
                case.id.0,
                note,
                now,
            )?;
        }
    } else {
        notify::to_handler(
            c,
            case.street_id,
            Some(t.org_id),
            None,
            &kind,
            case.id.0,
            note,
            now,
        )?;
    }
    Ok(to)
}

/// When a case ends without a resolution (rejected, merged), its unfinished tasks are
/// released with it, in the same transaction.
pub fn release_all(
    c: &mut dyn Conn,
    case_id: i64,
    note: &str,
    now: i64,
) -> Result<u64, StoreError> {
    c.exec(
        "UPDATE case_tasks SET state = 'released', clock = 'none', next_alarm_at = NULL, \
         ended_at = $2, note = $3, updated_at = $2 WHERE case_id = $1 AND state IN ('open', 'accepted', 'declined')",
        params![case_id, now, note.to_string()],
    )
}

/// Handles every task whose next alarm is due at `now`: warns its organisation at 80%, and at
/// each level sends it a supervision notice (督办) and tells that level's dispatchers. Runs in
/// the caller's transaction; each update is conditional on the `next_alarm_at` it read.
pub fn sweep(c: &mut dyn Conn, now: i64) -> Result<Sweep, StoreError> {
    const BATCH: i64 = 2000;
    let mut out = Sweep::default();
    let mut calendars: HashMap<i64, std::sync::Arc<Calendar>> = HashMap::new();
    let (mut after, mut after_id) = (i64::MIN, 0i64);
    loop {
        let rows = c.query(
            &format!(
                "SELECT t.id, t.street_id, t.case_id, t.org_id, t.clock, t.warn_at, t.due_at, t.warned, \
                 t.level, t.next_alarm_at, c.place_path, c.state FROM case_tasks t JOIN cases c ON c.id = t.case_id \
                 WHERE t.next_alarm_at <= $1 AND (t.next_alarm_at > $2 OR (t.next_alarm_at = $2 AND t.id > $3)) \
                 ORDER BY t.next_alarm_at, t.id LIMIT {BATCH}"
            ),
            params![now, after, after_id],
        )?;
        let n = rows.len();
        for r in rows {
            let (id, street, case_id, org) = (r.i64(0), r.i64(1), r.i64(2), r.i64(3));
            let clock = r.str(4);
            let (warn_at, due_at) = (r.opt_i64(5), r.opt_i64(6));
            let (mut warned, mut level) = (r.bool(7), r.i64(8));
            let old_next = r.i64(9);
            let (path, state) = (r.str(10), r.str(11));
            (after, after_id) = (old_next, id);
            out.looked_at += 1;
            let cal = match calendars.get(&street) {
                Some(cal) => cal.clone(),
                None => {
                    let cal = Calendar::load(c, street)?;
                    calendars.insert(street, cal.clone());
                    cal
                }
            };
            let Some(due) = due_at else { continue };
            let from = level;
            let fired = escalation::fire(&cal, warn_at, due, &mut warned, &mut level, now);
            let next = escalation::next_of(&cal, &clock, warn_at, due_at, warned, level);
            let changed = c.exec(
                "UPDATE case_tasks SET warned = $2, level = $3, late = CASE WHEN $4 = 1 THEN 1 ELSE late END, \
                 next_alarm_at = $5 WHERE id = $1 AND next_alarm_at = $6",
                params![id, warned, level, level > 0, next, old_next],
            )?;
            if changed == 0 {
                continue;
            }
            for (kind, lvl) in fired {
                let mut data = serde_json::json!({"task_id": id, "org_id": org, "level": lvl, "clock": clock, "due_at": due});
                if kind == "escalated" && lvl > from + 1 {
                    data["from"] = from.into();
                    data["caught_up"] = true.into();
                }
                let action = format!("task_{kind}");
                record_event(
                    c,
                    street,
                    case_id,
                    now,
                    (None, "system"),
                    &action,
                    &state,
                    &state,
                    "",
                    data,
                )?;
                if kind == "warning" {
                    out.warnings += 1;
                    notify::to_handler(
                        c,
                        street,
                        Some(org),
                        None,
                        "task_warning",
                        case_id,
                        "",
                        now,
                    )?;
                } else {
                    out.escalations += 1;
                    notify::to_handler(
                        c,
                        street,
                        Some(org),
                        None,
                        "task_supervision",
                        case_id,
                        "",
                        now,
                    )?;
                    for l in from + 1..=lvl {
                        notify::to_dispatchers(
                            c,
                            street,
                            &path,
                            l,
                            "task_escalated",
                            case_id,
                            "",
                            now,
                        )?;
                    }
                }
            }
        }
        if (n as i64) < BATCH {
            break;
        }
    }
    Ok(out)
}

/// Task figures per organisation over a period of China days (from the triggers' table).
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct TaskFigures {
    pub org_id: i64,
    pub org_name: String,
    /// Tasks set in the period.
    pub added: i64,
    /// Of those, still open or accepted.
    pub open: i64,
    pub done: i64,
    /// Done without passing a deadline.
    pub on_time: i64,
    /// Passed a deadline (acceptance or doing).
    pub late: i64,
    pub released: i64,
    pub declined: i64,
    /// Open now with a deadline already passed.
    pub overdue_now: i64,
}

/// Task figures per organisation for tasks set between two China days (inclusive).
pub fn figures(
    c: &mut dyn Conn,
    street_id: i64,
    from_day: i64,
    to_day: i64,
    now: i64,
) -> Result<Vec<TaskFigures>, StoreError> {
    let mut out: Vec<TaskFigures> = c
        .query(
            "SELECT f.org_id, '', CAST(SUM(f.added) AS BIGINT), CAST(SUM(f.open) AS BIGINT), \
             CAST(SUM(f.done) AS BIGINT), CAST(SUM(f.on_time) AS BIGINT), CAST(SUM(f.late) AS BIGINT), \
             CAST(SUM(f.released) AS BIGINT), CAST(SUM(f.declined) AS BIGINT) FROM case_task_figures f \
             WHERE f.street_id = $1 AND f.day >= $2 AND f.day <= $3 GROUP BY f.org_id ORDER BY f.org_id",
            params![street_id, from_day, to_day],
        )?
        .iter()
        .map(|r| TaskFigures {
            org_id: r.i64(0),
            org_name: r.str(1),
            added: r.i64(2),
            open: r.i64(3),
            done: r.i64(4),
            on_time: r.i64(5),
            late: r.i64(6),
            released: r.i64(7),
            declined: r.i64(8),
            overdue_now: 0,
        })
        .filter(|f| f.added > 0)
        .collect();
    let names = crate::org::orgs::names(c, out.iter().map(|f| f.org_id))?;
    for f in &mut out {
        f.org_name = names.get(&f.org_id).cloned().unwrap_or_default();
    }
    // Overdue now: few rows (open tasks with a passed deadline), by the alarm index's partner.
    let overdue = c.query(
        "SELECT org_id, COUNT(*) FROM case_tasks WHERE street_id = $1 AND state IN ('open', 'accepted') \
         AND due_at < $2 GROUP BY org_id",
        params![street_id, now],
    )?;
    for r in overdue {
        if let Some(f) = out.iter_mut().find(|f| f.org_id == r.i64(0)) {
            f.overdue_now = r.i64(1);
        }
    }
    Ok(out)
}
