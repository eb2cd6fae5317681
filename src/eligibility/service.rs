//! The eligibility area's use cases (issue 23 part 6, 政策找人): a street administrator
//! defines a rule over the registry's attributes, previews its reach (a count per community
//! and a short masked sample) before switching it on, and every change is kept as a version;
//! a rule switched on finds the persons it covers and gives each a to-do for the workers who
//! keep her record, closed with an outcome; a rule may also tell the resident on her home page.
//!
//! Who: rules and to-dos are read by those who keep residents' records (within their places);
//! rules are written by a street administrator. Every list that shows persons, and every
//! to-do closed, is an audit entry with those persons as subjects.

use serde::Serialize;

use super::condition;
use super::store::{self, Definition, Rule, Todo, TodoFilter, Version};
use crate::audit::{Action, NewEntry};
use crate::kernel::StatusCode;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::kernel::time::{now_ms, today};
use crate::org::Caller;
use crate::registry::criteria::{self, Criteria};
use crate::state::AppState;
use crate::store::Conn;

pub const MAX_NAME: usize = 40;
pub const MAX_BENEFIT: usize = 80;
pub const MAX_TEXT: usize = 300;
/// Persons shown in a preview's sample.
pub const SAMPLE: usize = 10;
/// The most to-dos a list shows at once.
pub const LIST_LIMIT: i64 = 200;
/// A to-do's outcomes.
pub const OUTCOMES: [&str; 3] = ["applied", "not_eligible", "declined"];
/// A to-do's states, open first.
pub const TODO_STATES: [&str; 4] = ["open", "applied", "not_eligible", "declined"];

/// The caller's street when she keeps residents' records; 403 otherwise.
fn reader(caller: &Caller) -> AppResult<i64> {
    match caller.street_id {
        Some(s) if caller.reads_registry() => Ok(s),
        _ => Err(AppError::forbidden()),
    }
}

fn refused(r: condition::Refused) -> AppError {
    AppError::with_message(StatusCode::UNPROCESSABLE_ENTITY, Code::Invalid, r.0)
}

fn line(s: &str, max: usize, empty: &str, long: &str) -> AppResult<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(AppError::invalid(empty));
    }
    if s.chars().count() > max {
        return Err(AppError::invalid(long));
    }
    crate::kernel::text::check_line(s).map_err(AppError::invalid)?;
    Ok(s.to_string())
}

/// A definition as typed, checked: names and texts, and the condition parsed against the
/// street's tags.
pub struct Typed {
    pub name: String,
    pub benefit: String,
    pub condition: String,
    pub tell_resident: bool,
    pub resident_text: String,
}

fn check(c: &mut dyn Conn, street: i64, t: &Typed) -> AppResult<(Definition, Criteria)> {
    let name = line(
        &t.name,
        MAX_NAME,
        "eligibility.err_name_empty",
        "eligibility.err_name_long",
    )?;
    let benefit = line(
        &t.benefit,
        MAX_BENEFIT,
        "eligibility.err_benefit_empty",
        "eligibility.err_benefit_long",
    )?;
    let resident_text = t.resident_text.trim().to_string();
    if resident_text.chars().count() > MAX_TEXT {
        return Err(AppError::invalid("eligibility.err_text_long"));
    }
    if !resident_text.is_empty() {
        crate::kernel::text::check_note(&resident_text).map_err(AppError::invalid)?;
    }
    if t.tell_resident && resident_text.is_empty() {
        return Err(AppError::invalid("eligibility.err_text_empty"));
    }
    let tags = criteria::tag_codes(c, street)?;
    let crit = condition::parse(&t.condition, &tags).map_err(refused)?;
    Ok((
        Definition {
            name,
            benefit,
            condition: t.condition.trim().to_string(),
            tell_resident: t.tell_resident,
            resident_text,
        },
        crit,
    ))
}

/// A rule with its kept versions.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = EligibilityRuleView)]
pub struct RuleView {
    pub rule: Rule,
    pub versions: Vec<Version>,
}

/// The street's rules (those who keep records see them; only an administrator changes them).
pub async fn rules(state: &AppState, caller: &Caller) -> AppResult<Vec<Rule>> {
    let street = reader(caller)?;
    Ok(state.db.read(move |c| store::rules(c, street)).await?)
}

async fn own_rule(state: &AppState, caller: &Caller, id: i64) -> AppResult<Rule> {
    let street = reader(caller)?;
    state
        .db
        .read(move |c| store::get_rule(c, id))
        .await?
        .filter(|r| r.street_id == street)
        .ok_or_else(AppError::not_found)
}

pub async fn rule(state: &AppState, caller: &Caller, id: i64) -> AppResult<RuleView> {
    let rule = own_rule(state, caller, id).await?;
    let versions = state.db.read(move |c| store::versions(c, id)).await?;
    Ok(RuleView { rule, versions })
}

/// An audit entry's purpose in both languages (a resident reads it in her access log).
fn purpose(what: &str, id: i64) -> String {
    crate::kernel::i18n::both(&format!("eligibility.purpose.{what}"), &[("id", &id)])
}

async fn audit_change(
    state: &AppState,
    caller: &Caller,
    street: i64,
    what: String,
) -> AppResult<()> {
    let mut e = NewEntry::by(caller, Action::Change).purpose(what);
    e.street_id = Some(street);
    state.audit.record(e).await?;
    Ok(())
}

fn taken() -> AppError {
    AppError::new(
        StatusCode::CONFLICT,
        Code::Conflict,
        "eligibility.err_name_taken",
    )
}

/// A new rule, a draft until it is switched on.
pub async fn create(state: &AppState, caller: &Caller, t: Typed) -> AppResult<Rule> {
    let street = crate::org::access::street_admin(caller)?;
    let (uid, name) = (caller.user_id, caller.display_name.clone());
    let id = state
        .db
        .write_tx(move |c| -> AppResult<i64> {
            let (d, _) = check(c, street, &t)?;
            if store::name_taken(c, street, &d.name, 0)? {
                return Err(taken());
            }
            Ok(store::insert_rule(c, street, &d, (uid, &name), now_ms())?)
        })
        .await?;
    audit_change(state, caller, street, purpose("created", id)).await?;
    own_rule(state, caller, id).await
}

/// A changed definition: a new version, kept beside the old ones. A rule switched on finds
/// by its new condition from now on; to-dos already made stay.
pub async fn update(state: &AppState, caller: &Caller, id: i64, t: Typed) -> AppResult<Rule> {
    let street = crate::org::access::street_admin(caller)?;
    own_rule(state, caller, id).await?;
    let (uid, name) = (caller.user_id, caller.display_name.clone());
    state
        .db
        .write_tx(move |c| -> AppResult<()> {
            let (d, _) = check(c, street, &t)?;
            if store::name_taken(c, street, &d.name, id)? {
                return Err(taken());
            }
            store::update_rule(c, id, &d, (uid, &name), now_ms())?;
            Ok(())
        })
        .await?;
    audit_change(state, caller, street, purpose("changed", id)).await?;
    let rule = own_rule(state, caller, id).await?;
    if rule.state == "on" {
        run(state, rule.id).await?;
    }
    own_rule(state, caller, id).await
}

/// Switches a rule on (it finds its persons at once, then every hour) or off.
pub async fn switch(
    state: &AppState,
    caller: &Caller,
    id: i64,
    on: bool,
) -> AppResult<(Rule, i64)> {
    let street = crate::org::access::street_admin(caller)?;
    let rule = own_rule(state, caller, id).await?;
    let to = if on { "on" } else { "off" };
    if rule.state == to {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            Code::StateConflict,
            if on {
                "eligibility.err_already_on"
            } else {
                "eligibility.err_already_off"
            },
        ));
    }
    let (uid, name) = (caller.user_id, caller.display_name.clone());
    state
        .db
        .write(move |c| store::set_state(c, id, to, (uid, &name), now_ms()))
        .await?;
    audit_change(
        state,
        caller,
        street,
        purpose(if on { "switched_on" } else { "switched_off" }, id),
    )
    .await?;
    let added = if on { run(state, id).await? } else { 0 };
    Ok((own_rule(state, caller, id).await?, added))
}

/// Finds the persons a rule switched on covers and adds their to-dos; how many were added.
/// Run on switching on, on a change, and by the hourly job (a birthday, a newborn, a tag).
pub async fn run(state: &AppState, id: i64) -> AppResult<i64> {
    state
        .db
        .write_tx(move |c| -> AppResult<i64> {
            let Some(rule) = store::get_rule(c, id)? else {
                return Ok(0);
            };
            if rule.state != "on" {
                return Ok(0);
            }
            let tags = criteria::tag_codes(c, rule.street_id)?;
            let Ok(crit) = condition::parse(&rule.condition, &tags) else {
                // A tag removed since the rule was saved: nothing is found until it is mended.
                tracing::warn!(
                    area = "eligibility",
                    rule = id,
                    "condition no longer parses"
                );
                return Ok(0);
            };
            let found = criteria::matching(c, rule.street_id, &crit, &[], today())?;
            Ok(store::add_todos(c, &rule, &found, now_ms())?)
        })
        .await
}

/// A community's share of a preview.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = EligibilityCommunity)]
pub struct CommunityCount {
    pub path: String,
    pub name: String,
    pub count: i64,
}

/// One person of a preview's sample, masked.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = EligibilitySample)]
pub struct Sampled {
    /// Where she lives: "3号楼 302室".
    pub home: String,
    /// "张**".
    pub name_masked: String,
}

/// What a rule would reach now, within the caller's places.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = EligibilityPreview)]
pub struct Preview {
    pub total: i64,
    pub communities: Vec<CommunityCount>,
    pub sample: Vec<Sampled>,
    /// How long the count took, in milliseconds.
    pub took_ms: i64,
}

/// Labels persons' homes by their paths: the building's and the unit's names.
fn homes(c: &mut dyn Conn, paths: &[String]) -> crate::store::Result<Vec<String>> {
    let names = crate::org::places::names_above(c, paths.iter().map(|p| format!("{p}/_")))?;
    Ok(paths
        .iter()
        .map(|p| {
            let parts: Vec<&str> = p.split('/').collect();
            let mut out = Vec::new();
            for i in 1..=parts.len() {
                if let Some((kind, name)) = names.get(&parts[..i].join("/"))
                    && (kind == "building" || kind == "unit")
                {
                    out.push(name.clone());
                }
            }
            out.join(" ")
        })
        .collect())
}

/// What a condition reaches now among a street's persons under `paths` (all of the street
/// when empty): the total, the count per community, and the first persons in place order as
/// a masked sample with their ids. Refused when the condition does not parse. The preview's
/// work, on one connection (the benchmark times it as it is).
#[allow(clippy::type_complexity)]
pub fn reach(
    c: &mut dyn Conn,
    street: i64,
    condition_text: &str,
    paths: &[String],
) -> crate::store::Result<
    Result<(i64, Vec<CommunityCount>, Vec<i64>, Vec<Sampled>), condition::Refused>,
> {
    let tags = criteria::tag_codes(c, street)?;
    let crit = match condition::parse(condition_text, &tags) {
        Ok(k) => k,
        Err(r) => return Ok(Err(r)),
    };
    let found = criteria::matching(c, street, &crit, paths, today())?;
    let Some(street_place) = crate::org::places::by_id_unscoped(c, street)? else {
        return Ok(Ok((0, Vec::new(), Vec::new(), Vec::new())));
    };
    // A community is the place one level below the street.
    let depth = street_place.path.split('/').count() + 1;
    let mut per: std::collections::BTreeMap<String, i64> = Default::default();
    for (_, path) in &found {
        let key: Vec<&str> = path.split('/').take(depth).collect();
        *per.entry(key.join("/")).or_default() += 1;
    }
    // Their names in one read.
    let names = crate::org::places::names_above(c, per.keys().map(|p| format!("{p}/_")))?;
    let communities: Vec<CommunityCount> = per
        .into_iter()
        .map(|(path, count)| CommunityCount {
            name: names
                .get(&path)
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| path.clone()),
            path,
            count,
        })
        .collect();
    let picked: Vec<&(i64, String)> = found.iter().take(SAMPLE).collect();
    let ids: Vec<i64> = picked.iter().map(|(id, _)| *id).collect();
    let sample_paths: Vec<String> = picked.iter().map(|(_, p)| p.clone()).collect();
    let names = crate::registry::residents::names(c, &ids)?;
    let labels = homes(c, &sample_paths)?;
    let sample: Vec<Sampled> = ids
        .iter()
        .zip(labels)
        .map(|(id, home)| Sampled {
            home,
            name_masked: crate::kernel::text::mask_name(
                names.get(id).map(String::as_str).unwrap_or(""),
            ),
        })
        .collect();
    Ok(Ok((found.len() as i64, communities, ids, sample)))
}

/// Previews a condition: how many it reaches now, per community, within the caller's places,
/// and a short masked sample (an audited list).
pub async fn preview(
    state: &AppState,
    caller: &Caller,
    condition_text: String,
) -> AppResult<Preview> {
    let street = reader(caller)?;
    let paths = caller.scope.registry.clone();
    let started = std::time::Instant::now();
    let (total, communities, sample_ids, sample) = state
        .db
        .read(move |c| reach(c, street, &condition_text, &paths))
        .await?
        .map_err(refused)?;
    if !sample_ids.is_empty() {
        let mut e = NewEntry::by(caller, Action::List)
            .subjects(sample_ids.into_iter().map(crate::audit::person))
            .purpose(purpose("preview", 0));
        e.street_id = Some(street);
        state.audit.record(e).await?;
    }
    Ok(Preview {
        total,
        communities,
        sample,
        took_ms: started.elapsed().as_millis() as i64,
    })
}

/// A to-do as a worker sees it: the person masked, her home by name.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = EligibilityTodo)]
pub struct TodoView {
    pub id: i64,
    pub rule_id: i64,
    pub rule_name: String,
    pub benefit: String,
    pub rule_version: i64,
    pub person_id: i64,
    pub home: String,
    pub name_masked: String,
    pub created_at: i64,
    /// open, applied, not_eligible or declined.
    pub state: String,
    pub outcome_note: String,
    pub closed_by_name: Option<String>,
    pub closed_at: Option<i64>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = EligibilityTodoList)]
pub struct TodoList {
    pub todos: Vec<TodoView>,
    /// How many match in all (the list shows at most 200).
    pub total: i64,
}

fn views(c: &mut dyn Conn, todos: Vec<Todo>) -> crate::store::Result<Vec<TodoView>> {
    let ids: Vec<i64> = todos.iter().map(|t| t.person_id).collect();
    let paths: Vec<String> = todos.iter().map(|t| t.place_path.clone()).collect();
    let names = crate::registry::residents::names(c, &ids)?;
    let labels = homes(c, &paths)?;
    Ok(todos
        .into_iter()
        .zip(labels)
        .map(|(t, home)| TodoView {
            name_masked: crate::kernel::text::mask_name(
                names.get(&t.person_id).map(String::as_str).unwrap_or(""),
            ),
            home,
            id: t.id,
            rule_id: t.rule_id,
            rule_name: t.rule_name,
            benefit: t.benefit,
            rule_version: t.rule_version,
            person_id: t.person_id,
            created_at: t.created_at,
            state: t.state,
            outcome_note: t.outcome_note,
            closed_by_name: t.closed_by_name,
            closed_at: t.closed_at,
        })
        .collect())
}

/// The to-dos of the persons whose records the caller keeps, in building order (an audited
/// list).
pub async fn todos(state: &AppState, caller: &Caller, f: TodoFilter) -> AppResult<TodoList> {
    let street = reader(caller)?;
    if let Some(s) = &f.state
        && !TODO_STATES.contains(&s.as_str())
    {
        return Err(AppError::invalid("eligibility.err_state"));
    }
    let paths = caller.scope.registry.clone();
    let (todos, total) = state
        .db
        .read(move |c| {
            let (list, total) = store::todos(c, street, &paths, &f, LIST_LIMIT)?;
            Ok((views(c, list)?, total))
        })
        .await?;
    if !todos.is_empty() {
        let mut e = NewEntry::by(caller, Action::List)
            .subjects(todos.iter().map(|t| crate::audit::person(t.person_id)))
            .purpose(purpose("todos", 0));
        e.street_id = Some(street);
        state.audit.record(e).await?;
    }
    Ok(TodoList { todos, total })
}

/// Closes a to-do with its outcome (applied, not eligible, declined) and a note. A to-do of a
/// person outside the caller's places is not found.
pub async fn close(
    state: &AppState,
    caller: &Caller,
    id: i64,
    outcome: String,
    note: String,
) -> AppResult<TodoView> {
    let street = reader(caller)?;
    if !OUTCOMES.contains(&outcome.as_str()) {
        return Err(AppError::invalid("eligibility.err_outcome"));
    }
    let note = note.trim().to_string();
    if note.chars().count() > MAX_TEXT {
        return Err(AppError::invalid("eligibility.err_text_long"));
    }
    if !note.is_empty() {
        crate::kernel::text::check_note(&note).map_err(AppError::invalid)?;
    }
    let paths = caller.scope.registry.clone();
    let (uid, name) = (caller.user_id, caller.display_name.clone());
    let t = state
        .db
        .write_tx(move |c| -> AppResult<Todo> {
            let t = store::get_todo(c, id)?
                .filter(|t| {
                    t.street_id == street && crate::org::Scope::covers(&paths, &t.place_path)
                })
                .ok_or_else(AppError::not_found)?;
            if !store::close_todo(c, id, &outcome, &note, (uid, &name), now_ms())? {
                return Err(AppError::new(
                    StatusCode::CONFLICT,
                    Code::StateConflict,
                    "eligibility.err_closed",
                ));
            }
            Ok(store::get_todo(c, id)?.unwrap_or(t))
        })
        .await?;
    let mut e = NewEntry::by(caller, Action::Change)
        .subjects([crate::audit::person(t.person_id)])
        .purpose(purpose(&format!("closed_{}", t.state), id));
    e.street_id = Some(street);
    state.audit.record(e).await?;
    state
        .db
        .read(move |c| views(c, vec![t]))
        .await?
        .pop()
        .ok_or_else(AppError::not_found)
}

/// What a resident is told: the rules switched on that found her and tell residents,
/// as `(name, benefit, text)`.
pub async fn told(state: &AppState, caller: &Caller) -> AppResult<Vec<(String, String, String)>> {
    let Some(person) = caller.person_id else {
        return Ok(Vec::new());
    };
    Ok(state.db.read(move |c| store::told_to(c, person)).await?)
}

/// Open to-dos within the caller's places (her home card).
pub async fn open_count(state: &AppState, caller: &Caller) -> AppResult<i64> {
    let street = reader(caller)?;
    let paths = caller.scope.registry.clone();
    Ok(state
        .db
        .read(move |c| store::open_count(c, street, &paths))
        .await?)
}

/// Runs every rule switched on (the hourly job); how many to-dos were added.
pub async fn run_all(state: &AppState) -> AppResult<i64> {
    let ids: Vec<i64> = state
        .db
        .read(|c| Ok(store::rules_on(c)?.into_iter().map(|r| r.id).collect()))
        .await?;
    let mut added = 0;
    for id in ids {
        added += run(state, id).await?;
    }
    Ok(added)
}
