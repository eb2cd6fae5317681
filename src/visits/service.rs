//! The visits area's use cases, shared by the pages and the API.
//!
//! **Who records.** A worker who keeps residents' records (a grid worker for her grid, a
//! community worker for her community, a street administrator) records visits to the persons
//! and households in her scope. A visit to someone outside it is refused as not found, and the
//! refusal is written to the audit log, as the registry does.
//!
//! **What is personal.** A visit's notes are personal data: the detail of a visit is read
//! within the scope and audited (the persons it reached are the entry's subjects); lists show
//! names masked (`张**`) and no notes, and are audited with the persons they name.
//!
//! **The due list.** Plans say how often the holders of a tag are visited. Who is due is read
//! live: the registry's tag holders under the caller's places *now* (so the list follows the
//! current grid, not who visited), against each person's latest visit kept in `visit_last`.
//!
//! **The resident.** A resident sees the visits that reached her: when, how and by whom; the
//! notes only when her street allows it.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::model::{
    self, Checked, DueRow, NewPlan, NewVisit, Plan, Standing, Visit, due_on, parse_day, standing,
};
use super::store::{self, VisitRow};
use crate::audit::{self, Action, NewEntry};
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::{Lang, both};
use crate::kernel::text::mask_name;
use crate::kernel::time::{now_ms, today};
use crate::org::{Caller, Scope};
use crate::state::AppState;

/// The most visits a list shows.
pub const LIST_LIMIT: i64 = 100;

/// The places where the caller records and reads visits: those whose records she keeps.
pub fn keeper(caller: &Caller) -> AppResult<&[String]> {
    if caller.reads_registry() && !caller.scope.registry.is_empty() {
        Ok(&caller.scope.registry)
    } else {
        Err(AppError::forbidden())
    }
}

/// Whether the caller records visits (her navigation and home card).
pub fn records(caller: &Caller) -> bool {
    keeper(caller).is_ok()
}

fn street(caller: &Caller) -> AppResult<i64> {
    caller.street_id.ok_or_else(AppError::forbidden)
}

/// The streets whose records the caller's lists read: her street, or the streets of her
/// district (a district administrator's account names her district; she reads as a street
/// administrator does, within her streets).
pub fn streets(c: &mut dyn crate::store::Conn, street_id: i64) -> crate::store::Result<Vec<i64>> {
    match crate::org::places::by_id_unscoped(c, street_id)? {
        Some(p) if p.kind == "district" => Ok(crate::org::places::children_full(c, p.id)?
            .into_iter()
            .filter(|s| s.kind == "street")
            .map(|s| s.id)
            .collect()),
        _ => Ok(vec![street_id]),
    }
}

async fn denied(state: &AppState, caller: &Caller, subjects: Vec<String>) -> AppResult<()> {
    state
        .audit
        .record(NewEntry::by(caller, Action::Denied).subjects(subjects))
        .await?;
    Ok(())
}

/// The tag names of a street in a language, by code.
fn tag_names(
    c: &mut dyn crate::store::Conn,
    street_id: i64,
    lang: Lang,
) -> crate::store::Result<HashMap<String, String>> {
    Ok(
        crate::registry::records::tag_names(c, Some(street_id), lang == Lang::En)?
            .into_iter()
            .collect(),
    )
}

/// Records a visit. The person or household must be in the caller's scope and live there
/// still; a case asked for is opened through the cases area in the same transaction (routed
/// like a patrol's report, at the home's unit).
pub async fn record(state: &AppState, caller: &Caller, v: &NewVisit) -> AppResult<i64> {
    let paths = keeper(caller)?.to_vec();
    let now = now_ms();
    let checked = v.check(now)?;
    let visitor = (caller.user_id, caller.display_name.clone());
    let reporter = caller.user_id;
    let c2 = checked.clone();
    let out = state
        .db
        .write_tx(move |c| -> AppResult<Reached> {
            let checked = c2;
            // Who the visit reaches, where they live, and whether that is the caller's.
            let (street_id, unit_id, path, persons) = if let Some(pid) = checked.person_id {
                let Some(r) = crate::registry::residents::resident(c, pid)? else {
                    return Ok(Err(Vec::new()));
                };
                if r.residence == "left" || !Scope::covers(&paths, &r.place_path) {
                    return Ok(Err(vec![audit::person(pid)]));
                }
                (r.street_id, r.unit_id, r.place_path, vec![pid])
            } else {
                let hid = checked.household_id.unwrap_or_default();
                let Some(h) = crate::registry::residents::household(c, hid)? else {
                    return Ok(Err(Vec::new()));
                };
                if !Scope::covers(&paths, &h.unit_path) {
                    return Ok(Err(vec![audit::household(hid)]));
                }
                let members: Vec<i64> = crate::registry::residents::members(c, hid)?
                    .iter()
                    .map(|m| m.id)
                    .collect();
                if members.is_empty() {
                    return Err(AppError::invalid("visits.err_household_empty"));
                }
                (h.street_id, Some(h.unit_id), h.unit_path, members)
            };
            let case_id = match &checked.case {
                Some((category, description)) => {
                    let place =
                        unit_id.ok_or_else(|| AppError::invalid("visits.err_case_place"))?;
                    let id = crate::cases::create(
                        c,
                        street_id,
                        crate::cases::Channel::Patrol,
                        &crate::cases::NewCase {
                            category: category.clone(),
                            description: description.clone(),
                            place_id: Some(place),
                            reporter_id: Some(reporter),
                            reporter_name: visitor.1.clone(),
                            ..crate::cases::NewCase::default()
                        },
                        now,
                    )?;
                    Some(id.0)
                }
                None => None,
            };
            let id = store::insert_visit(
                c,
                street_id,
                &checked,
                &path,
                (visitor.0, &visitor.1),
                &persons,
                case_id,
                now,
            )?;
            Ok(Ok((id, street_id, persons)))
        })
        .await?;
    let (id, street_id, persons) = match out {
        Ok(x) => x,
        Err(subjects) => {
            if !subjects.is_empty() {
                denied(state, caller, subjects).await?;
            }
            return Err(AppError::not_found());
        }
    };
    let mut subjects: Vec<String> = persons.into_iter().map(audit::person).collect();
    if let Some(h) = checked.household_id {
        subjects.push(audit::household(h));
    }
    let mut e = NewEntry::by(caller, Action::Change)
        .subjects(subjects)
        .purpose(both("visits.log_recorded", &[("id", &id)]));
    e.street_id = Some(street_id);
    state.audit.record(e).await?;
    Ok(id)
}

/// How a visit is shown: with or without its notes and referral.
fn shown(v: VisitRow, name: Option<&String>, home: Option<&store::Home>, notes: bool) -> Visit {
    Visit {
        id: v.id,
        person_id: v.person_id,
        household_id: v.household_id,
        home: home
            .map(|h| format!("{} {}", h.building, h.unit).trim().to_string())
            .unwrap_or_default(),
        name_masked: name.map(|n| mask_name(n)).unwrap_or_default(),
        visitor_name: v.visitor_name,
        visited_at: v.visited_at,
        visited_on: v.visited_on,
        how: v.how,
        health: v.health,
        living: v.living,
        needs: v.needs,
        notes: notes.then_some(v.notes),
        referral: notes.then_some(v.referral),
        next_on: v.next_on,
        case_id: v.case_id,
    }
}

/// The name and home shown for each visit: the person's (or the household head's, else the
/// first member reached), and the unit of the home visited.
fn decorate(
    c: &mut dyn crate::store::Conn,
    rows: Vec<VisitRow>,
    notes: bool,
) -> crate::store::Result<(Vec<Visit>, Vec<i64>)> {
    let mut reached: Vec<(VisitRow, Vec<i64>)> = Vec::with_capacity(rows.len());
    let mut ids = Vec::new();
    for v in rows {
        let persons = match v.person_id {
            Some(p) => vec![p],
            None => store::visit_persons(c, v.id)?,
        };
        ids.extend(persons.iter().copied());
        reached.push((v, persons));
    }
    ids.sort_unstable();
    ids.dedup();
    let names = crate::registry::residents::names(c, &ids)?;
    let units: HashMap<i64, Option<i64>> = ids
        .chunks(500)
        .map(|ch| -> crate::store::Result<Vec<(i64, Option<i64>)>> {
            Ok(ch
                .iter()
                .filter_map(|id| {
                    crate::registry::residents::resident(c, *id)
                        .ok()
                        .flatten()
                        .map(|r| (r.id, r.unit_id))
                })
                .collect())
        })
        .collect::<crate::store::Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    let unit_ids: Vec<i64> = units.values().filter_map(|u| *u).collect();
    let homes = store::homes(c, &unit_ids)?;
    let out = reached
        .into_iter()
        .map(|(v, persons)| {
            let first = persons.first().copied();
            let name = first.and_then(|p| names.get(&p));
            let home = first
                .and_then(|p| units.get(&p).copied().flatten())
                .and_then(|u| homes.get(&u));
            shown(v, name, home, notes)
        })
        .collect();
    Ok((out, ids))
}

/// One visit with its notes, for a worker whose scope holds the home visited. Audited.
pub async fn detail(state: &AppState, caller: &Caller, id: i64) -> AppResult<Visit> {
    let paths = keeper(caller)?.to_vec();
    let found = state
        .db
        .read(move |c| {
            let Some(v) = store::visit(c, id)? else {
                return Ok(None);
            };
            let mut persons: Vec<String> = store::visit_persons(c, id)?
                .into_iter()
                .map(audit::person)
                .collect();
            persons.extend(v.household_id.map(audit::household));
            let inside = Scope::covers(&paths, &v.place_path);
            let street = v.street_id;
            let (mut shown, _) = decorate(c, vec![v], true)?;
            Ok(Some((shown.remove(0), persons, inside, street)))
        })
        .await?;
    let Some((visit, persons, inside, street_id)) = found else {
        return Err(AppError::not_found());
    };
    let subjects = persons;
    if !inside {
        denied(state, caller, subjects).await?;
        return Err(AppError::not_found());
    }
    let mut e = NewEntry::by(caller, Action::Read)
        .subjects(subjects)
        .purpose(both("visits.log_read", &[("id", &id)]));
    e.street_id = Some(street_id);
    state.audit.record(e).await?;
    Ok(visit)
}

/// The visits that reached a person in the caller's scope, newest first, without notes.
/// Audited under her.
pub async fn of_person(state: &AppState, caller: &Caller, person_id: i64) -> AppResult<Vec<Visit>> {
    let paths = keeper(caller)?.to_vec();
    let found = state
        .db
        .read(move |c| {
            let Some(r) = crate::registry::residents::resident(c, person_id)? else {
                return Ok(None);
            };
            if !Scope::covers(&paths, &r.place_path) {
                return Ok(Some(Err(())));
            }
            let rows = store::visits_of(c, person_id, LIST_LIMIT)?;
            Ok(Some(Ok((decorate(c, rows, false)?.0, r.street_id))))
        })
        .await?;
    let (list, street_id) = match found {
        None => return Err(AppError::not_found()),
        Some(Err(())) => {
            denied(state, caller, vec![audit::person(person_id)]).await?;
            return Err(AppError::not_found());
        }
        Some(Ok(x)) => x,
    };
    let mut e = NewEntry::by(caller, Action::List)
        .subjects([audit::person(person_id)])
        .purpose(both("visits.log_person", &[]));
    e.street_id = Some(street_id);
    state.audit.record(e).await?;
    Ok(list)
}

/// The latest visits recorded at homes in the caller's scope, masked, without notes. Audited
/// with the persons they name.
pub async fn recent(state: &AppState, caller: &Caller) -> AppResult<Vec<Visit>> {
    let paths = keeper(caller)?.to_vec();
    let (list, ids) = state
        .db
        .read(move |c| {
            let rows = store::recent_under(c, &paths, 30)?;
            decorate(c, rows, false)
        })
        .await?;
    if !ids.is_empty() {
        let e = NewEntry::by(caller, Action::List)
            .subjects(ids.into_iter().map(audit::person))
            .purpose(both("visits.log_recent", &[]));
        state.audit.record(e).await?;
    }
    Ok(list)
}

/// The due list asked for: the day it is judged on (today when none) and a place to narrow to
/// (within the caller's scope).
#[derive(Clone, Debug, Default)]
pub struct DueAsk {
    pub on: Option<NaiveDate>,
    pub place_id: Option<i64>,
    /// Also list those visited recently enough.
    pub all: bool,
}

/// A grid's due list and its counts.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Visits_DueList)]
pub struct DueList {
    /// The day judged (YYYY-MM-DD, China time).
    pub on: String,
    pub overdue: i64,
    pub due: i64,
    pub rows: Vec<DueRow>,
}

/// What one person's plans ask: the shortest interval, its days ahead and start, her tags.
struct Wanted {
    every: u32,
    soon: i64,
    starts: NaiveDate,
    tags: Vec<String>,
    unit_id: Option<i64>,
    place_path: String,
}

/// A person listed: who, what her plans want, when she is due, where she stands, her last
/// visit.
type Listed<'a> = (
    i64,
    &'a Wanted,
    NaiveDate,
    Standing,
    Option<&'a store::Last>,
);

/// What a visit reached: its id, its street and the persons; or the subjects of a refusal.
type Reached = Result<(i64, i64, Vec<i64>), Vec<String>>;

/// The due list, read without auditing (the home card's counts; `due` audits the rows).
pub async fn due_unaudited(state: &AppState, caller: &Caller, ask: &DueAsk) -> AppResult<DueList> {
    let mut paths = keeper(caller)?.to_vec();
    let street_id = street(caller)?;
    let lang = crate::kernel::ctx().lang;
    let on = ask.on.unwrap_or_else(today);
    let place_id = ask.place_id;
    let all = ask.all;
    state
        .db
        .read(move |c| {
            if let Some(pid) = place_id {
                let Some((_, _, _, path)) = store::place(c, pid)? else {
                    return Ok(None);
                };
                if !Scope::covers(&paths, &path) {
                    return Ok(None);
                }
                paths = vec![path];
            }
            let mut out: Option<DueList> = None;
            for s in streets(c, street_id)? {
                let l = due_list(c, s, &paths, on, all, lang)?;
                out = Some(match out {
                    None => l,
                    Some(mut o) => {
                        o.overdue += l.overdue;
                        o.due += l.due;
                        o.rows.extend(l.rows);
                        o
                    }
                });
            }
            Ok(out)
        })
        .await?
        .ok_or_else(AppError::not_found)
}

/// Who the plans want under `paths` of a street on a day: the tag holders living there now
/// (each under her shortest plan), and those with a next visit agreed by then under no plan.
fn wanted(
    c: &mut dyn crate::store::Conn,
    street_id: i64,
    paths: &[String],
    on: NaiveDate,
    lang: Lang,
) -> crate::store::Result<HashMap<i64, Wanted>> {
    let plans: Vec<store::PlanRow> = store::plans(c, street_id)?
        .into_iter()
        .filter(|p| p.active)
        .collect();
    let names_of_tags = tag_names(c, street_id, lang)?;
    let mut wanted: HashMap<i64, Wanted> = HashMap::new();
    for p in &plans {
        let starts = parse_day(&p.starts_on).unwrap_or(on);
        let tag = names_of_tags.get(&p.tag).cloned().unwrap_or(p.tag.clone());
        for r in crate::registry::residents::reached(
            c,
            street_id,
            paths,
            std::slice::from_ref(&p.tag),
            &[],
        )? {
            let w = wanted.entry(r.person_id).or_insert(Wanted {
                every: p.every_months as u32,
                soon: p.soon_days,
                starts,
                tags: Vec::new(),
                unit_id: r.unit_id,
                place_path: r.place_path.clone(),
            });
            if (p.every_months as u32) < w.every {
                w.every = p.every_months as u32;
                w.soon = p.soon_days;
                w.starts = starts;
            }
            if !w.tags.contains(&tag) {
                w.tags.push(tag.clone());
            }
        }
    }
    // Those with a next visit agreed by then, living in these places now, under no plan.
    let day = on.format("%Y-%m-%d").to_string();
    let agreed: Vec<i64> = store::next_due(c, street_id, &day)?
        .into_iter()
        .filter(|p| !wanted.contains_key(p))
        .collect();
    if !agreed.is_empty() {
        for (id, _, path) in crate::registry::residents::homes(c, &agreed)? {
            if Scope::covers(paths, &path)
                && let Some(r) = crate::registry::residents::resident(c, id)?
            {
                wanted.insert(
                    id,
                    Wanted {
                        every: 12,
                        soon: 0,
                        starts: on,
                        tags: Vec::new(),
                        unit_id: r.unit_id,
                        place_path: path,
                    },
                );
            }
        }
    }
    Ok(wanted)
}

/// How many persons under `paths` of a street are overdue and due for a visit on a day, by
/// the place each lives: `(place path, [overdue, due])` (the cockpit's measure, no names).
pub fn standing_by_place(
    c: &mut dyn crate::store::Conn,
    street_id: i64,
    paths: &[String],
    on: NaiveDate,
) -> crate::store::Result<Vec<(String, Vec<i64>)>> {
    let wanted = wanted(c, street_id, paths, on, Lang::Zh)?;
    let ids: Vec<i64> = wanted.keys().copied().collect();
    let last = store::last_of(c, &ids)?;
    let mut out: HashMap<String, Vec<i64>> = HashMap::new();
    for (id, w) in &wanted {
        let l = last.get(id);
        let last_on = l.and_then(|l| parse_day(&l.last_on));
        let next = l.and_then(|l| l.next_on.as_deref().and_then(parse_day));
        let d = due_on(last_on, w.starts, w.every, next);
        let k = match standing(on, d, w.soon, last_on.is_none()) {
            Standing::Overdue => 0,
            Standing::Due => 1,
            Standing::Fine => continue,
        };
        out.entry(w.place_path.clone())
            .or_insert_with(|| vec![0, 0])[k] += 1;
    }
    Ok(out.into_iter().collect())
}

/// The due list of the places `paths` of a street on a day: who the plans want (the tag
/// holders living there now, and those with a next visit agreed by then), against each one's
/// latest visit, ordered by building, floor and unit.
pub fn due_list(
    c: &mut dyn crate::store::Conn,
    street_id: i64,
    paths: &[String],
    on: NaiveDate,
    all: bool,
    lang: Lang,
) -> crate::store::Result<DueList> {
    let wanted = wanted(c, street_id, paths, on, lang)?;
    let ids: Vec<i64> = wanted.keys().copied().collect();
    let last = store::last_of(c, &ids)?;
    let mut rows: Vec<(String, DueRow)> = Vec::new();
    let (mut overdue, mut due) = (0, 0);
    let mut listed: Vec<Listed> = Vec::new();
    for (id, w) in &wanted {
        let l = last.get(id);
        let last_on = l.and_then(|l| parse_day(&l.last_on));
        let next = l.and_then(|l| l.next_on.as_deref().and_then(parse_day));
        let d = due_on(last_on, w.starts, w.every, next);
        let s = standing(on, d, w.soon, last_on.is_none());
        match s {
            Standing::Overdue => overdue += 1,
            Standing::Due => due += 1,
            Standing::Fine => {}
        }
        if s != Standing::Fine || all {
            listed.push((*id, w, d, s, l));
        }
    }
    let listed_ids: Vec<i64> = listed.iter().map(|l| l.0).collect();
    let names = crate::registry::residents::names(c, &listed_ids)?;
    let households: HashMap<i64, Option<i64>> = crate::registry::residents::homes(c, &listed_ids)?
        .into_iter()
        .map(|(id, h, _)| (id, h))
        .collect();
    let unit_ids: Vec<i64> = listed.iter().filter_map(|l| l.1.unit_id).collect();
    let homes = store::homes(c, &unit_ids)?;
    for (id, w, d, s, l) in listed {
        let (path, tags) = (&w.place_path, w.tags.clone());
        let home = w
            .unit_id
            .and_then(|u| homes.get(&u))
            .cloned()
            .unwrap_or_default();
        let key = format!(
            "{}|{:04}|{}|{}",
            if home.building_path.is_empty() {
                path
            } else {
                &home.building_path
            },
            home.floor.unwrap_or(0),
            home.unit,
            id
        );
        rows.push((
            key,
            DueRow {
                person_id: id,
                household_id: households.get(&id).copied().flatten(),
                name_masked: names.get(&id).map(|n| mask_name(n)).unwrap_or_default(),
                building: home.building.clone(),
                floor: home.floor,
                unit: home.unit.clone(),
                tags,
                last_on: l.map(|l| l.last_on.clone()),
                last_by: l.map(|l| l.visitor_name.clone()),
                due_on: d.format("%Y-%m-%d").to_string(),
                standing: s,
            },
        ));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(DueList {
        on: on.format("%Y-%m-%d").to_string(),
        overdue,
        due,
        rows: rows.into_iter().map(|(_, r)| r).collect(),
    })
}

/// The due list, audited with the persons it names.
pub async fn due(state: &AppState, caller: &Caller, ask: &DueAsk) -> AppResult<DueList> {
    let list = due_unaudited(state, caller, ask).await?;
    if !list.rows.is_empty() {
        let e = NewEntry::by(caller, Action::List)
            .subjects(list.rows.iter().map(|r| audit::person(r.person_id)))
            .purpose(both("visits.log_due", &[]));
        state.audit.record(e).await?;
    }
    Ok(list)
}

/// The visits that reached the signed-in resident, newest first: when, how and by whom; the
/// notes only when her street lets residents read them.
pub async fn mine(state: &AppState, caller: &Caller) -> AppResult<Vec<Visit>> {
    let Some(person) = caller.person_id else {
        return Err(AppError::new(
            crate::kernel::StatusCode::NOT_FOUND,
            crate::kernel::error::Code::NoRecord,
            "error.no_record",
        ));
    };
    state
        .db
        .read(move |c| {
            let Some(r) = crate::registry::residents::resident(c, person)? else {
                return Ok(Vec::new());
            };
            let notes = store::notes_to_resident(c, r.street_id)?;
            let rows = store::visits_of(c, person, LIST_LIMIT)?;
            let (mut list, _) = decorate(c, rows, notes)?;
            // Her own name stays whole on her own page.
            for v in &mut list {
                v.name_masked = r.name.clone();
            }
            Ok(list)
        })
        .await
        .map_err(Into::into)
}

/// A street's plans, in the reader's language.
pub async fn plans(state: &AppState, caller: &Caller) -> AppResult<Vec<Plan>> {
    keeper(caller)?;
    let street_id = street(caller)?;
    let lang = crate::kernel::ctx().lang;
    Ok(state
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for street_id in streets(c, street_id)? {
                let names = tag_names(c, street_id, lang)?;
                out.extend(
                    store::plans(c, street_id)?
                        .into_iter()
                        .map(|p| Plan {
                            id: p.id,
                            tag_name: names.get(&p.tag).cloned().unwrap_or(p.tag.clone()),
                            tag: p.tag,
                            every_months: p.every_months,
                            soon_days: p.soon_days,
                            starts_on: p.starts_on,
                            active: p.active,
                        })
                        .collect::<Vec<_>>(),
                );
            }
            Ok(out)
        })
        .await?)
}

/// A new plan (street administrators): a known tag, 1 to 12 months, no second active plan for
/// the tag. It starts today.
pub async fn create_plan(state: &AppState, caller: &Caller, p: &NewPlan) -> AppResult<i64> {
    let street_id = crate::org::access::street_admin(caller)?;
    if !(1..=12).contains(&p.every_months) {
        return Err(AppError::invalid("visits.err_every"));
    }
    let soon = p.soon_days.unwrap_or(7);
    if !(0..=31).contains(&soon) {
        return Err(AppError::invalid("visits.err_soon"));
    }
    let tag = p.tag.trim().to_string();
    let every = p.every_months;
    let by = caller.user_id;
    let starts = today().format("%Y-%m-%d").to_string();
    let id = state
        .db
        .write(move |c| {
            let known = crate::registry::records::tag_names(c, Some(street_id), false)?;
            if !known.iter().any(|(code, _)| *code == tag) {
                return Ok(Err("visits.err_tag"));
            }
            if store::active_plan_for(c, street_id, &tag)? {
                return Ok(Err("visits.err_plan_exists"));
            }
            Ok(Ok(store::insert_plan(
                c,
                street_id,
                &tag,
                every,
                soon,
                &starts,
                by,
                now_ms(),
            )?))
        })
        .await?
        .map_err(AppError::invalid)?;
    let e = NewEntry::by(caller, Action::Change).purpose(both("visits.log_plan", &[("id", &id)]));
    state.audit.record(e).await?;
    Ok(id)
}

/// Ends a plan (street administrators): its persons are no longer listed for it.
pub async fn retire_plan(state: &AppState, caller: &Caller, id: i64) -> AppResult<()> {
    let street_id = crate::org::access::street_admin(caller)?;
    let done = state
        .db
        .write(move |c| {
            let Some(p) = store::plan(c, id)? else {
                return Ok(None);
            };
            if p.street_id != street_id {
                return Ok(None);
            }
            Ok(Some(store::retire_plan(c, id, now_ms())?))
        })
        .await?;
    match done {
        None => Err(AppError::not_found()),
        Some(0) => Err(AppError::new(
            crate::kernel::StatusCode::CONFLICT,
            crate::kernel::error::Code::Conflict,
            "visits.err_plan_ended",
        )),
        Some(_) => {
            let e = NewEntry::by(caller, Action::Change)
                .purpose(both("visits.log_plan", &[("id", &id)]));
            state.audit.record(e).await?;
            Ok(())
        }
    }
}

/// Whether the caller's street lets residents read their visits' notes.
pub async fn settings(state: &AppState, caller: &Caller) -> AppResult<bool> {
    keeper(caller)?;
    let street_id = street(caller)?;
    Ok(state
        .db
        .read(move |c| store::notes_to_resident(c, street_id))
        .await?)
}

/// Lets residents read (or not) the notes of their visits (street administrators).
pub async fn set_settings(state: &AppState, caller: &Caller, notes: bool) -> AppResult<()> {
    let street_id = crate::org::access::street_admin(caller)?;
    state
        .db
        .write(move |c| store::set_notes_to_resident(c, street_id, notes, now_ms()))
        .await?;
    let e = NewEntry::by(caller, Action::Change).purpose(both("visits.log_settings", &[]));
    state.audit.record(e).await?;
    Ok(())
}

/// The case categories a visit may open a case in, as (code, name in the reader's language):
/// the street's active ones that ask no required question (the visit's form does not ask them).
pub async fn case_categories(
    state: &AppState,
    caller: &Caller,
) -> AppResult<Vec<(String, String)>> {
    keeper(caller)?;
    let street_id = street(caller)?;
    let en = crate::kernel::ctx().lang == Lang::En;
    Ok(state
        .db
        .read(move |c| {
            Ok(crate::cases::categories(c, street_id)?
                .into_iter()
                .filter(|k| k.active && !k.fields.iter().any(|f| f.required))
                .map(|k| (k.code, if en { k.name_en } else { k.name_zh }))
                .collect())
        })
        .await?)
}

/// The checked form, for pages that echo it back.
pub fn check(v: &NewVisit) -> AppResult<Checked> {
    v.check(now_ms())
}

pub use model::{HOWS, NEEDS, RATINGS};
