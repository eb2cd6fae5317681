//! The sweeps area's use cases, shared by the pages and the API.
//!
//! **Who organises.** A worker who keeps residents' records (a street or district
//! administrator, a community or grid worker) writes a campaign over places she keeps; she and
//! the workers above her place manage it (start, close, repeat, export, compare).
//!
//! **Who knocks.** Starting a campaign makes every household of its places a door, given to
//! the grid worker of the household's grid; she may hand whole buildings to a volunteer. A
//! door is answered by the one it was given to or by a worker whose records cover it;
//! anybody else is refused. A door list names households' heads masked and is audited.
//!
//! **Retries.** A phone sends each answer with an id it made; the server keeps one
//! submission per (campaign, household, client id), so a retry after a lost connection
//! changes nothing and answers as the first did.
//!
//! **Retention.** Closing a campaign sets when its personal answers go; the `purge` job then
//! keeps the progress and the per-question tallies and deletes the doors and submissions.

use super::model::{
    self, Answers, BuildingProgress, Campaign, Comparison, Counts, DAY_MS, Door, GridProgress,
    Outcome, Progress, Question, Recorded, State, Summary, Tally,
};
use super::store::{self, NewCampaign};
use crate::audit::{Action, NewEntry};
use crate::kernel::StatusCode;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::kernel::time::now_ms;
use crate::org::{Caller, Role, Scope};
use crate::state::AppState;

/// The places a caller organises sweeps for: those whose residents' records she keeps.
fn organiser(caller: &Caller) -> AppResult<&[String]> {
    if caller.reads_registry() && !caller.scope.registry.is_empty() {
        Ok(&caller.scope.registry)
    } else {
        Err(AppError::forbidden())
    }
}

/// Whether the caller may write campaigns (the "new campaign" form).
pub fn may_organise(caller: &Caller) -> bool {
    organiser(caller).is_ok()
}

/// Whether the caller manages a campaign: its author, or a worker whose records cover the
/// author's place.
pub fn manages(caller: &Caller, c: &Campaign) -> bool {
    c.author_id == caller.user_id
        || (caller.reads_registry() && Scope::covers(&caller.scope.registry, &c.author_path))
}

/// An audit entry's purpose in both languages (a resident reads it in her access log).
fn purpose(what: &str, id: i64, n: i64) -> String {
    crate::kernel::i18n::both(&format!("sweeps.purpose.{what}"), &[("id", &id), ("n", &n)])
}

fn state_conflict(key: &str) -> AppError {
    AppError::new(StatusCode::CONFLICT, Code::StateConflict, key)
}

/// A campaign as asked for: a title, the form, the places, how long answers are kept.
#[derive(Clone, Debug)]
pub struct NewSweep {
    pub title: String,
    pub questions: Vec<Question>,
    pub places: Vec<i64>,
    pub retention_days: Option<i64>,
    /// Start it at once (every household becomes a door).
    pub start: bool,
}

fn checked_title(t: &str) -> AppResult<String> {
    let t = t.trim();
    if t.is_empty() || t.chars().count() > 60 {
        return Err(AppError::invalid("sweeps.err_title"));
    }
    crate::kernel::text::check_line(t).map_err(AppError::invalid)?;
    Ok(t.to_string())
}

fn checked_retention(d: Option<i64>) -> AppResult<i64> {
    let d = d.unwrap_or(model::DEFAULT_RETENTION_DAYS);
    if !(1..=model::MAX_RETENTION_DAYS).contains(&d) {
        return Err(AppError::invalid("sweeps.err_retention"));
    }
    Ok(d)
}

/// Writes a campaign (a draft, or started at once). Every place must be known, in the
/// caller's records and in one street.
pub async fn create(state: &AppState, caller: &Caller, n: NewSweep) -> AppResult<Campaign> {
    let scope = organiser(caller)?.to_vec();
    let title = checked_title(&n.title)?;
    let questions = model::check_form(n.questions)?;
    let retention = checked_retention(n.retention_days)?;
    let mut places = n.places.clone();
    places.sort_unstable();
    places.dedup();
    if places.is_empty() {
        return Err(AppError::invalid("sweeps.err_no_places"));
    }
    if places.len() > 50 {
        return Err(AppError::invalid("sweeps.err_many_places"));
    }
    let (author_id, author) = (caller.user_id, caller.display_name.clone());
    let author_path = scope.first().cloned().unwrap_or_default();
    let start_now = n.start;
    let now = now_ms();
    let (id, doors) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, i64)> {
            let found = store::places(c, &places)?;
            if found.len() != places.len() {
                return Err(AppError::invalid("sweeps.err_place_unknown"));
            }
            let mut street = None;
            for (_, s, path, _) in &found {
                if !Scope::covers(&scope, path) {
                    return Err(AppError::invalid("sweeps.err_place_scope"));
                }
                let s = s.ok_or_else(|| AppError::invalid("sweeps.err_place_unknown"))?;
                if street.is_some_and(|x| x != s) {
                    return Err(AppError::invalid("sweeps.err_streets"));
                }
                street = Some(s);
            }
            let street_id = street.ok_or_else(|| AppError::invalid("sweeps.err_no_places"))?;
            let paths: Vec<String> = found.iter().map(|f| f.2.clone()).collect();
            let label = found
                .iter()
                .map(|f| f.3.clone())
                .collect::<Vec<_>>()
                .join("、");
            let id = store::insert(
                c,
                &NewCampaign {
                    street_id,
                    title: &title,
                    questions: &questions,
                    scope: &places,
                    scope_paths: &paths,
                    scope_label: &label,
                    retention_days: retention,
                    previous_id: None,
                    author_id,
                    author: &author,
                    author_path: &author_path,
                    now,
                },
            )?;
            let doors = if start_now {
                make_doors(c, id, street_id, &paths, now)? as i64
            } else {
                0
            };
            Ok((id, doors))
        })
        .await?;
    audit_change(
        state,
        caller,
        &purpose(if start_now { "started" } else { "wrote" }, id, doors),
    )
    .await?;
    get(state, id).await
}

async fn audit_change(state: &AppState, caller: &Caller, purpose: &str) -> AppResult<()> {
    state
        .audit
        .record(NewEntry::by(caller, Action::Change).purpose(purpose.to_string()))
        .await?;
    Ok(())
}

async fn get(state: &AppState, id: i64) -> AppResult<Campaign> {
    state
        .db
        .read(move |c| store::get(c, id))
        .await?
        .ok_or_else(AppError::not_found)
}

/// A campaign the caller manages; 404 when she does not see it at all, 403 when she only
/// knocks on its doors.
async fn managed(state: &AppState, caller: &Caller, id: i64) -> AppResult<Campaign> {
    let c = visible(state, caller, id).await?;
    if !manages(caller, &c) {
        return Err(AppError::forbidden());
    }
    Ok(c)
}

/// The places whose doors a caller may answer besides those given to her: the records she
/// keeps.
fn door_paths(caller: &Caller) -> Vec<String> {
    if caller.reads_registry() {
        caller.scope.registry.clone()
    } else {
        Vec::new()
    }
}

/// A campaign the caller sees (manages, or has doors in), or 404.
pub async fn visible(state: &AppState, caller: &Caller, id: i64) -> AppResult<Campaign> {
    let c = get(state, id).await?;
    if manages(caller, &c) {
        return Ok(c);
    }
    let (paths, me) = (door_paths(caller), caller.user_id);
    let has = c.state != State::Draft
        && state
            .db
            .read(move |db| store::has_doors(db, id, &paths, me))
            .await?;
    if has {
        Ok(c)
    } else {
        Err(AppError::not_found())
    }
}

/// The campaigns the caller sees, newest first.
pub async fn list(state: &AppState, caller: &Caller) -> AppResult<Vec<Campaign>> {
    let (paths, me) = (door_paths(caller), caller.user_id);
    let all = state
        .db
        .read(move |c| store::visible(c, &paths, me))
        .await?;
    Ok(all
        .into_iter()
        .filter(|c| c.state != State::Draft || manages(caller, c))
        .collect())
}

/// Makes a campaign's doors and gives each grid's to its grid worker, in the caller's
/// transaction; a scope without households is refused. Returns the number of doors.
pub(super) fn make_doors(
    c: &mut dyn crate::store::Conn,
    id: i64,
    street_id: i64,
    paths: &[String],
    now: i64,
) -> AppResult<u64> {
    let n = store::make_doors(c, id, street_id, paths)?;
    if n == 0 {
        return Err(AppError::invalid("sweeps.err_no_households"));
    }
    let grids = store::door_grids(c, id)?;
    let workers = match paths.first() {
        Some(p) => crate::org::users::grid_workers_of_street(c, p)?,
        None => Vec::new(),
    };
    for (grid, path) in grids {
        // The first active grid worker of the grid (by account id), as cases route.
        let worker = path.and_then(|p| workers.iter().find(|(_, wp)| *wp == p).map(|(u, _)| *u));
        store::assign_grid(c, id, street_id, grid, worker)?;
    }
    store::mark_started(c, id, n as i64, now)?;
    Ok(n)
}

/// Starts a draft: every household under its places becomes a door (one `INSERT … SELECT`),
/// each grid's doors given to its grid worker. A scope without households is refused and
/// nothing is kept.
pub async fn start(state: &AppState, caller: &Caller, id: i64) -> AppResult<Campaign> {
    let camp = managed(state, caller, id).await?;
    if camp.state != State::Draft {
        return Err(state_conflict("sweeps.err_not_draft"));
    }
    let now = now_ms();
    let n = state
        .db
        .write_tx(move |c| -> AppResult<u64> {
            // Read again in the transaction: two starts at once make the doors once.
            if store::get(c, id)?.is_none_or(|x| x.state != State::Draft) {
                return Err(state_conflict("sweeps.err_not_draft"));
            }
            make_doors(c, id, camp.street_id, &camp.scope_paths, now)
        })
        .await?;
    audit_change(state, caller, &purpose("started", id, n as i64)).await?;
    get(state, id).await
}

/// Closes an open campaign: no more answers; the personal answers go when the retention ends.
pub async fn close(state: &AppState, caller: &Caller, id: i64) -> AppResult<Campaign> {
    let camp = managed(state, caller, id).await?;
    if camp.state != State::Open {
        return Err(state_conflict("sweeps.err_not_open"));
    }
    let now = now_ms();
    let purge_at = now + camp.retention_days * DAY_MS;
    state
        .db
        .write(move |c| store::mark_closed(c, id, now, purge_at))
        .await?;
    audit_change(state, caller, &purpose("closed", id, 0)).await?;
    get(state, id).await
}

/// Repeats a campaign: the same form and places, a new draft (or started at once) that
/// remembers the one it repeats, for comparison.
pub async fn repeat(
    state: &AppState,
    caller: &Caller,
    id: i64,
    title: Option<String>,
    start_now: bool,
) -> AppResult<Campaign> {
    let prev = managed(state, caller, id).await?;
    if prev.state == State::Draft {
        return Err(state_conflict("sweeps.err_repeat_draft"));
    }
    organiser(caller)?;
    let title = match title.filter(|t| !t.trim().is_empty()) {
        Some(t) => checked_title(&t)?,
        None => prev.title.clone(),
    };
    let (author_id, author) = (caller.user_id, caller.display_name.clone());
    let author_path = caller.scope.registry.first().cloned().unwrap_or_default();
    let now = now_ms();
    let new_id = state
        .db
        .write(move |c| {
            store::insert(
                c,
                &NewCampaign {
                    street_id: prev.street_id,
                    title: &title,
                    questions: &prev.questions,
                    scope: &prev.scope,
                    scope_paths: &prev.scope_paths,
                    scope_label: &prev.scope_label,
                    retention_days: prev.retention_days,
                    previous_id: Some(prev.id),
                    author_id,
                    author: &author,
                    author_path: &author_path,
                    now,
                },
            )
        })
        .await?;
    audit_change(state, caller, &purpose("repeated", id, new_id)).await?;
    if start_now {
        return start(state, caller, new_id).await;
    }
    get(state, new_id).await
}

/// A submission from a phone.
#[derive(Clone, Debug)]
pub struct Submission {
    pub household_id: i64,
    /// The phone's own id for this submission (8 to 64 letters, digits, `-` or `_`).
    pub client_id: String,
    pub outcome: Outcome,
    pub answers: Answers,
}

fn checked_client_id(s: &str) -> AppResult<String> {
    let s = s.trim();
    if !(8..=64).contains(&s.len())
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(AppError::invalid("sweeps.err_client_id"));
    }
    Ok(s.to_string())
}

/// Records what a door gave. Refused: a household not in the campaign (422), a door the caller
/// does not visit (403), a campaign not open (409). The same client id again answers as the
/// first time and adds nothing.
pub async fn submit(
    state: &AppState,
    caller: &Caller,
    id: i64,
    s: Submission,
) -> AppResult<Recorded> {
    let camp = get(state, id).await?;
    let client_id = checked_client_id(&s.client_id)?;
    let answers = match s.outcome {
        Outcome::Answered => model::check_answers(&camp.questions, &s.answers)?,
        Outcome::NobodyHome => Answers::new(),
    };
    let paths = door_paths(caller);
    let me = caller.user_id;
    let household = s.household_id;
    let outcome = s.outcome;
    let may_see = manages(caller, &camp);
    let now = now_ms();
    let cid = client_id.clone();
    let street_id = camp.street_id;
    let camp_state = camp.state;
    let (recorded, repeated) = state
        .db
        .write_tx(move |c| -> AppResult<(store::Task, bool)> {
            // Who has no door in the campaign is not told it exists.
            if !may_see && !store::has_doors(c, id, &paths, me)? {
                return Err(AppError::not_found());
            }
            let Some(task) = store::task(c, id, household)? else {
                return Err(AppError::invalid("sweeps.err_not_in_campaign"));
            };
            if task.assignee_id != Some(me) && !Scope::covers(&paths, &task.place_path) {
                return Err(AppError::new(
                    StatusCode::FORBIDDEN,
                    Code::Forbidden,
                    "sweeps.err_door_scope",
                ));
            }
            // A retry of a kept submission answers as the first did, whatever happened since.
            if store::submission(c, id, household, &cid)?.is_some() {
                return Ok((task, true));
            }
            match camp_state {
                State::Open => {}
                State::Closed => return Err(state_conflict("sweeps.err_closed")),
                State::Draft => return Err(state_conflict("sweeps.err_not_open")),
            }
            if !store::keep_submission(
                c,
                id,
                household,
                &cid,
                street_id,
                outcome.as_str(),
                me,
                now,
            )? {
                return Ok((task, true));
            }
            match outcome {
                Outcome::Answered => store::answer(c, id, household, &answers, me, now)?,
                Outcome::NobodyHome => store::nobody_home(c, id, household, now)?,
            }
            Ok((
                store::task(c, id, household)?.ok_or_else(AppError::not_found)?,
                false,
            ))
        })
        .await?;
    if !repeated {
        let mut e = NewEntry::by(caller, Action::Change)
            .subjects([crate::audit::household(household)])
            .purpose(purpose(outcome.as_str(), id, household));
        e.street_id = Some(camp.street_id);
        state.audit.record(e).await?;
    }
    Ok(Recorded {
        household_id: household,
        client_id,
        outcome,
        state: recorded.state,
        attempts: recorded.attempts,
        repeated,
    })
}

/// The caller's doors in a campaign, by building, floor and unit, the heads' names masked.
/// The households listed are written to the audit log.
pub async fn doors(state: &AppState, caller: &Caller, id: i64) -> AppResult<Vec<Door>> {
    let camp = visible(state, caller, id).await?;
    let (paths, me) = (door_paths(caller), caller.user_id);
    let list = state
        .db
        .read(move |c| {
            let mut list = store::doors(c, id, &paths, me)?;
            let ids: Vec<i64> = list.iter().map(|d| d.household_id).collect();
            let mut heads = std::collections::HashMap::new();
            for chunk in ids.chunks(500) {
                heads.extend(crate::registry::residents::heads(c, chunk)?);
            }
            for d in &mut list {
                d.head_masked =
                    crate::kernel::text::mask_name(heads.get(&d.household_id).map_or("", |s| s));
            }
            Ok(list)
        })
        .await?;
    if !list.is_empty() {
        let mut e = NewEntry::by(caller, Action::List)
            .subjects(list.iter().map(|d| crate::audit::household(d.household_id)))
            .purpose(purpose("door_list", id, 0));
        e.street_id = Some(camp.street_id);
        state.audit.record(e).await?;
    }
    Ok(list)
}

/// A campaign's progress by grid and building: counted from the doors while they are kept,
/// the counts kept by the purge afterwards.
pub async fn progress(state: &AppState, caller: &Caller, id: i64) -> AppResult<Progress> {
    let camp = visible(state, caller, id).await?;
    progress_of(state, &camp).await
}

async fn progress_of(state: &AppState, camp: &Campaign) -> AppResult<Progress> {
    let id = camp.id;
    if camp.purged_at.is_some() {
        return Ok(kept_summary(state, id).await?.progress);
    }
    Ok(state.db.read(move |c| count_progress(c, id)).await?)
}

async fn kept_summary(state: &AppState, id: i64) -> AppResult<Summary> {
    let s = state.db.read(move |c| store::summary(c, id)).await?;
    Ok(s.and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default())
}

fn count_progress(c: &mut dyn crate::store::Conn, id: i64) -> crate::store::Result<Progress> {
    let rows = store::progress_rows(c, id)?;
    let workers = store::grid_workers(c, id)?;
    let handed = store::handovers(c, id)?;
    let mut places: Vec<i64> = rows.iter().flat_map(|r| [r.0, r.1]).collect();
    places.retain(|p| *p != 0);
    let names = store::place_names(c, &places)?;
    let people =
        crate::org::users::display_names(c, workers.values().chain(handed.values()).copied())?;
    let mut out = Progress::default();
    for (grid, building, st, n, attempts) in rows {
        out.counts.add(&st, n);
        out.attempts += attempts;
        if out.grids.last().is_none_or(|g| g.grid_id != grid) {
            out.grids.push(GridProgress {
                grid_id: grid,
                name: names.get(&grid).map(|n| n.0.clone()).unwrap_or_default(),
                worker: workers.get(&grid).and_then(|w| people.get(w).cloned()),
                counts: Counts::default(),
                buildings: Vec::new(),
            });
        }
        let Some(g) = out.grids.last_mut() else {
            continue;
        };
        g.counts.add(&st, n);
        if g.buildings.last().is_none_or(|b| b.building_id != building) {
            g.buildings.push(BuildingProgress {
                building_id: building,
                name: names
                    .get(&building)
                    .map(|n| n.0.clone())
                    .unwrap_or_default(),
                volunteer: handed.get(&building).and_then(|v| people.get(v).cloned()),
                counts: Counts::default(),
            });
        }
        if let Some(b) = g.buildings.last_mut() {
            b.counts.add(&st, n);
        }
    }
    // Buildings in their place order (names like 2号楼 before 10号楼 by path).
    for g in &mut out.grids {
        g.buildings.sort_by(|a, b| {
            let pa = names.get(&a.building_id).map(|n| n.1.as_str());
            let pb = names.get(&b.building_id).map(|n| n.1.as_str());
            pa.cmp(&pb)
        });
    }
    out.grids.sort_by(|a, b| {
        let pa = names.get(&a.grid_id).map(|n| n.1.as_str());
        let pb = names.get(&b.grid_id).map(|n| n.1.as_str());
        pa.cmp(&pb)
    });
    Ok(out)
}

/// A campaign's per-question tallies (from the kept counts after the purge).
async fn tallies(state: &AppState, camp: &Campaign) -> AppResult<Vec<Tally>> {
    if camp.purged_at.is_some() {
        return Ok(kept_summary(state, camp.id).await?.tallies);
    }
    let id = camp.id;
    let answers = state.db.read(move |c| store::all_answers(c, id)).await?;
    Ok(model::tally(&camp.questions, answers))
}

/// A campaign's tallies, for the page and the API.
pub async fn results(state: &AppState, caller: &Caller, id: i64) -> AppResult<Vec<Tally>> {
    let camp = managed(state, caller, id).await?;
    tallies(state, &camp).await
}

/// Compares a campaign with the one it repeats, question by question.
pub async fn compare(state: &AppState, caller: &Caller, id: i64) -> AppResult<Comparison> {
    let camp = managed(state, caller, id).await?;
    let prev_id = camp
        .previous_id
        .ok_or_else(|| AppError::invalid("sweeps.err_no_previous"))?;
    let prev = get(state, prev_id).await?;
    let now = tallies(state, &camp).await?;
    let before = tallies(state, &prev).await?;
    let counts = progress_of(state, &camp).await?.counts;
    let counts_before = progress_of(state, &prev).await?.counts;
    Ok(Comparison {
        id,
        previous_id: prev_id,
        previous_title: prev.title,
        counts,
        counts_before,
        changes: model::compare(&now, &before),
    })
}

/// Hands a building's doors to a volunteer of the street (by username), or back to the grid
/// worker (`None`). The grid worker of the building's grid, or a manager, may.
pub async fn hand_over(
    state: &AppState,
    caller: &Caller,
    id: i64,
    building: i64,
    volunteer: Option<String>,
) -> AppResult<Option<String>> {
    let camp = visible(state, caller, id).await?;
    if camp.state != State::Open {
        return Err(state_conflict("sweeps.err_not_open"));
    }
    let manager = manages(caller, &camp);
    let paths = door_paths(caller);
    let (me, street) = (caller.user_id, camp.street_id);
    let now = now_ms();
    let to = state
        .db
        .write_tx(move |c| -> AppResult<Option<(i64, String)>> {
            let (path, _) = store::building_of(c, id, building)?
                .ok_or_else(|| AppError::invalid("sweeps.err_building"))?;
            if !manager && !Scope::covers(&paths, &path) {
                return Err(AppError::forbidden());
            }
            let to = match volunteer
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
            {
                None => None,
                Some(name) => {
                    let uid = crate::org::users::exists(c, name)?
                        .ok_or_else(|| AppError::invalid("sweeps.err_volunteer"))?;
                    let u = crate::org::users::by_id(c, uid)?
                        .ok_or_else(|| AppError::invalid("sweeps.err_volunteer"))?;
                    if !u.active
                        || u.street_id != Some(street)
                        || !u.grants.iter().any(|g| g.role == Role::Volunteer)
                    {
                        return Err(AppError::invalid("sweeps.err_volunteer"));
                    }
                    Some((uid, u.display_name))
                }
            };
            store::hand_over(c, id, street, building, to.as_ref().map(|t| t.0), me, now)?;
            Ok(to)
        })
        .await?;
    let mut e = NewEntry::by(caller, Action::Change).purpose(purpose("handover", id, building));
    if let Some((uid, _)) = &to {
        e = e.subjects([crate::audit::user(*uid)]);
    }
    e.street_id = Some(camp.street_id);
    state.audit.record(e).await?;
    Ok(to.map(|t| t.1))
}

/// The campaign's answers as an XLSX sheet (one row per door: grid, building, unit, state,
/// visits, each question), for its managers; audited with every household it names. After
/// the purge only the counts remain and the export is refused.
pub async fn export(state: &AppState, caller: &Caller, id: i64) -> AppResult<Vec<u8>> {
    let camp = managed(state, caller, id).await?;
    if camp.purged_at.is_some() {
        return Err(AppError::new(
            StatusCode::GONE,
            Code::Gone,
            "sweeps.err_purged",
        ));
    }
    let rows = state.db.read(move |c| store::export_rows(c, id)).await?;
    let bytes = super::sheet::write(&camp, &rows)?;
    let mut e = NewEntry::by(caller, Action::Export)
        .subjects(rows.iter().map(|r| crate::audit::household(r.household_id)))
        .purpose(purpose("export", id, 0));
    e.street_id = Some(camp.street_id);
    state.audit.record(e).await?;
    Ok(bytes)
}

/// Purges the personal answers of every closed campaign whose retention ended: its progress
/// and tallies are kept in the campaign, its doors, submissions and handovers deleted.
/// Returns how many campaigns were purged.
pub async fn purge_due(state: &AppState) -> AppResult<usize> {
    let now = now_ms();
    let due = state.db.read(move |c| store::due_for_purge(c, now)).await?;
    for id in &due {
        let id = *id;
        let camp = get(state, id).await?;
        let n = state
            .db
            .write_tx(move |c| -> AppResult<u64> {
                let progress = count_progress(c, id)?;
                let answers = store::all_answers(c, id)?;
                let summary = Summary {
                    progress,
                    tallies: model::tally(&camp.questions, answers),
                };
                let text = serde_json::to_string(&summary)
                    .map_err(|e| AppError::internal("sweeps: summary", e))?;
                Ok(store::purge(c, id, &text, now)?)
            })
            .await?;
        let mut e =
            NewEntry::anonymous(Action::Change, "system").purpose(purpose("purged", id, n as i64));
        e.street_id = Some(camp.street_id);
        state.audit.record(e).await?;
    }
    Ok(due.len())
}
