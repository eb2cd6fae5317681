//! The emergency roster (应急名册, issue 23 part 3): who needs help when the lift stops, the
//! water is cut or the power fails, building by building, with the helpers who reach them.
//!
//! **Who is on it** is read live from the registry: the residents (not left) holding today one
//! of [`ROSTER_TAGS`] — so ending a tag takes a person off at once, and giving one puts her on.
//! The street defines the tags it lacks (卧床, 透析, 居家吸氧) in the registry's tag list.
//!
//! **Helpers** are kept here: name, relation, phone (encrypted at rest, shown masked until
//! revealed with a purpose, as the registry reveals a resident's phone) and how to reach them.
//!
//! **What is shown.** On screen names are masked (`张**`) and phones masked; the printable sheet
//! for a power cut is asked for with a purpose, audited as an export with every person on it,
//! and shows names, units, needs and helpers' contacts — never an ID number: nothing here reads
//! one.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, Action, NewEntry};
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::{Lang, both};
use crate::kernel::text::mask_name;
use crate::kernel::time::{now_ms, today};
use crate::org::{Caller, Scope};
use crate::params;
use crate::state::AppState;
use crate::store::{Conn, Result, Row, Val};

/// The registry tags that put a person on the roster.
pub const ROSTER_TAGS: [&str; 5] = [
    "elderly_alone",
    "disabled",
    "bed_bound",
    "dialysis",
    "oxygen",
];

/// The relations a helper may have.
pub const RELATIONS: [&str; 4] = ["family", "neighbour", "volunteer", "other"];

/// A helper as shown.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Roster_Helper)]
pub struct Helper {
    pub id: i64,
    /// Masked on screen (`王**`), whole on the printed sheet.
    pub name: String,
    /// `family`, `neighbour`, `volunteer` or `other`.
    pub relation: String,
    /// Masked (`138****1234`) unless revealed, whole on the printed sheet.
    pub phone: String,
    /// How to reach them.
    pub reach: String,
}

/// A person on the roster.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Roster_Person)]
pub struct RosterPerson {
    pub person_id: i64,
    /// Masked on screen, whole on the printed sheet.
    pub name: String,
    pub unit: String,
    pub floor: Option<i64>,
    /// Why she is on it: her roster tags, in the reader's language.
    pub needs: Vec<String>,
    pub helpers: Vec<Helper>,
}

/// A building's roster.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Roster_Sheet)]
pub struct Sheet {
    pub building_id: i64,
    pub building: String,
    pub persons: Vec<RosterPerson>,
}

/// A building of the caller's scope with how many are on its roster.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Roster_Building)]
pub struct BuildingCount {
    pub building_id: i64,
    pub building: String,
    pub persons: i64,
    /// Of them, with no helper yet.
    pub without_helper: i64,
}

/// A new helper.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(as = Roster_NewHelper)]
pub struct NewHelper {
    pub name: String,
    /// `family`, `neighbour`, `volunteer` or `other`.
    pub relation: String,
    /// A mobile or landline number.
    pub phone: String,
    /// How to reach them (at most 100 characters).
    #[serde(default)]
    pub reach: String,
}

/// A purpose given to see a helper's phone or print a sheet.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(as = Roster_Purpose)]
pub struct Purpose {
    /// One of `home_visit`, `service`, `emergency`, `verification`, `other`.
    pub purpose: String,
    /// Required with `other`.
    #[serde(default)]
    pub note: String,
}

/// A helper's contact revealed.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Roster_Revealed)]
pub struct Revealed {
    pub name: String,
    pub phone: String,
}

impl Purpose {
    fn check(&self) -> AppResult<String> {
        let purpose = self.purpose.trim();
        if !crate::registry::access::PURPOSES.contains(&purpose) {
            return Err(AppError::invalid("error.purpose"));
        }
        let note = self.note.trim();
        if purpose == "other" && note.is_empty() {
            return Err(AppError::invalid("error.purpose_note"));
        }
        if note.chars().count() > 200 {
            return Err(AppError::invalid("error.purpose_long"));
        }
        crate::kernel::text::check_note(note).map_err(AppError::invalid)?;
        Ok(if note.is_empty() {
            purpose.to_string()
        } else {
            format!("{purpose}: {note}")
        })
    }
}

// ---- storage ------------------------------------------------------------------------------

struct HelperRow {
    id: i64,
    street_id: i64,
    person_id: i64,
    name: String,
    relation: String,
    phone_enc: Vec<u8>,
    phone_masked: String,
    reach: String,
}

const HELPER: &str = "SELECT id, street_id, person_id, name, relation, phone_enc, phone_masked, reach FROM roster_helpers";

fn helper_row(r: &Row) -> HelperRow {
    HelperRow {
        id: r.i64(0),
        street_id: r.i64(1),
        person_id: r.i64(2),
        name: r.str(3),
        relation: r.str(4),
        phone_enc: r.blob(5).unwrap_or_default(),
        phone_masked: r.str(6),
        reach: r.str(7),
    }
}

fn helpers_of(c: &mut dyn Conn, ids: &[i64]) -> Result<HashMap<i64, Vec<HelperRow>>> {
    let mut out: HashMap<i64, Vec<HelperRow>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let vals: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
        for r in c.query(
            &format!(
                "{HELPER} WHERE person_id IN ({}) ORDER BY person_id, id",
                marks.join(", ")
            ),
            &vals,
        )? {
            let h = helper_row(&r);
            out.entry(h.person_id).or_default().push(h);
        }
    }
    Ok(out)
}

fn helper(c: &mut dyn Conn, id: i64) -> Result<Option<HelperRow>> {
    Ok(
        c.query_opt(&format!("{HELPER} WHERE id = $1"), params![id])?
            .map(|r| helper_row(&r)),
    )
}

/// The persons on the roster under `path` (a building, or a caller's place) now: (person,
/// unit, place path).
fn on_roster(
    c: &mut dyn Conn,
    street_id: i64,
    paths: &[String],
) -> Result<Vec<(i64, Option<i64>, i64)>> {
    let tags: Vec<String> = ROSTER_TAGS.iter().map(|t| t.to_string()).collect();
    Ok(
        crate::registry::residents::reached(c, street_id, paths, &tags, &[])?
            .into_iter()
            .map(|r| (r.person_id, r.unit_id, r.building_id))
            .collect(),
    )
}

fn tag_names(c: &mut dyn Conn, street_id: i64, lang: Lang) -> Result<HashMap<String, String>> {
    Ok(
        crate::registry::records::tag_names(c, Some(street_id), lang == Lang::En)?
            .into_iter()
            .collect(),
    )
}

/// A building in the caller's scope: (street, name, path), or `None`.
fn building_in(
    c: &mut dyn Conn,
    paths: &[String],
    id: i64,
) -> Result<Option<(i64, String, String)>> {
    Ok(
        super::store::place(c, id)?.and_then(|(street, kind, name, path)| {
            (kind == "building" && Scope::covers(paths, &path)).then_some((
                street.unwrap_or_default(),
                name,
                path,
            ))
        }),
    )
}

/// A building's sheet: masked (on screen) or whole (printed).
#[allow(clippy::too_many_arguments)]
fn sheet(
    c: &mut dyn Conn,
    keys: &crate::store::keys::FieldKeys,
    street_id: i64,
    building_id: i64,
    building: String,
    path: String,
    whole: bool,
    lang: Lang,
) -> Result<Sheet> {
    let persons = on_roster(c, street_id, &[path])?;
    let ids: Vec<i64> = persons.iter().map(|p| p.0).collect();
    let day = today().format("%Y-%m-%d").to_string();
    let tags = crate::registry::residents::tags_of(c, &ids, &day)?;
    let names = crate::registry::residents::names(c, &ids)?;
    let unit_ids: Vec<i64> = persons.iter().filter_map(|p| p.1).collect();
    let homes = super::store::homes(c, &unit_ids)?;
    let mut helpers = helpers_of(c, &ids)?;
    let tag_names = tag_names(c, street_id, lang)?;
    let mut out: Vec<RosterPerson> = persons
        .iter()
        .map(|(id, unit, _)| {
            let home = unit
                .and_then(|u| homes.get(&u))
                .cloned()
                .unwrap_or_default();
            let name = names.get(id).cloned().unwrap_or_default();
            RosterPerson {
                person_id: *id,
                name: if whole { name } else { mask_name(&name) },
                unit: home.unit,
                floor: home.floor,
                needs: tags
                    .get(id)
                    .map(|ts| {
                        ts.iter()
                            .filter(|t| ROSTER_TAGS.contains(&t.as_str()))
                            .map(|t| tag_names.get(t).cloned().unwrap_or(t.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
                helpers: helpers
                    .remove(id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|h| Helper {
                        id: h.id,
                        name: if whole { h.name } else { mask_name(&h.name) },
                        relation: h.relation,
                        phone: if whole {
                            keys.decrypt(&h.phone_enc).unwrap_or(h.phone_masked)
                        } else {
                            h.phone_masked
                        },
                        reach: h.reach,
                    })
                    .collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| (a.floor, &a.unit, a.person_id).cmp(&(b.floor, &b.unit, b.person_id)));
    Ok(Sheet {
        building_id,
        building,
        persons: out,
    })
}

// ---- use cases ----------------------------------------------------------------------------

fn keeper(caller: &Caller) -> AppResult<(Vec<String>, i64)> {
    let paths = super::service::keeper(caller)?.to_vec();
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    Ok((paths, street))
}

/// The buildings of the caller's scope with people on the roster, and how many. Counts only:
/// nobody is named.
pub async fn buildings(state: &AppState, caller: &Caller) -> AppResult<Vec<BuildingCount>> {
    let (paths, street_id) = keeper(caller)?;
    Ok(state
        .db
        .read(move |c| {
            let mut persons = Vec::new();
            for s in super::service::streets(c, street_id)? {
                persons.extend(on_roster(c, s, &paths)?);
            }
            let ids: Vec<i64> = persons.iter().map(|p| p.0).collect();
            let helped: std::collections::HashSet<i64> = helpers_of(c, &ids)?.into_keys().collect();
            let mut counts: HashMap<i64, (i64, i64)> = HashMap::new();
            for (id, _, b) in &persons {
                let e = counts.entry(*b).or_default();
                e.0 += 1;
                if !helped.contains(id) {
                    e.1 += 1;
                }
            }
            Ok(super::store::buildings_under(c, &paths)?
                .into_iter()
                .filter_map(|(id, name, _)| {
                    counts.get(&id).map(|(n, w)| BuildingCount {
                        building_id: id,
                        building: name,
                        persons: *n,
                        without_helper: *w,
                    })
                })
                .collect())
        })
        .await?)
}

async fn read_sheet(
    state: &AppState,
    caller: &Caller,
    building_id: i64,
    whole: bool,
) -> AppResult<(Sheet, i64)> {
    let (paths, _) = keeper(caller)?;
    let keys = state.keys.clone();
    let lang = crate::kernel::ctx().lang;
    state
        .db
        .read(move |c| {
            let Some((street_id, name, path)) = building_in(c, &paths, building_id)? else {
                return Ok(None);
            };
            Ok(Some((
                sheet(c, &keys, street_id, building_id, name, path, whole, lang)?,
                street_id,
            )))
        })
        .await?
        .ok_or_else(AppError::not_found)
}

/// A building's roster on screen: names and phones masked. Audited with the persons on it.
pub async fn building(state: &AppState, caller: &Caller, building_id: i64) -> AppResult<Sheet> {
    let (s, street_id) = read_sheet(state, caller, building_id, false).await?;
    if !s.persons.is_empty() {
        let mut e = NewEntry::by(caller, Action::List)
            .subjects(s.persons.iter().map(|p| audit::person(p.person_id)))
            .purpose(both("roster.log_building", &[]));
        e.street_id = Some(street_id);
        state.audit.record(e).await?;
    }
    Ok(s)
}

/// A building's sheet to print for a power cut, asked for with a purpose: names, units, needs
/// and helpers' contacts whole (never an ID number). Audited as an export with every person on
/// it before it is shown.
pub async fn print(
    state: &AppState,
    caller: &Caller,
    building_id: i64,
    purpose: &Purpose,
) -> AppResult<Sheet> {
    let why = purpose.check()?;
    let (s, street_id) = read_sheet(state, caller, building_id, true).await?;
    let mut e = NewEntry::by(caller, Action::Export)
        .subjects(s.persons.iter().map(|p| audit::person(p.person_id)))
        .purpose(why);
    e.street_id = Some(street_id);
    state.audit.record(e).await?;
    Ok(s)
}

/// The person on the roster in the caller's scope, or why not.
fn person_on_roster(
    c: &mut dyn Conn,
    paths: &[String],
    person_id: i64,
) -> Result<std::result::Result<i64, bool>> {
    let Some(r) = crate::registry::residents::resident(c, person_id)? else {
        return Ok(Err(false));
    };
    if r.residence == "left" || !Scope::covers(paths, &r.place_path) {
        return Ok(Err(true));
    }
    let day = today().format("%Y-%m-%d").to_string();
    let tags = crate::registry::residents::tags_of(c, &[person_id], &day)?;
    let on = tags
        .get(&person_id)
        .is_some_and(|ts| ts.iter().any(|t| ROSTER_TAGS.contains(&t.as_str())));
    Ok(if on { Ok(r.street_id) } else { Err(false) })
}

/// Adds a helper to a person on the roster in the caller's scope. Audited under her.
pub async fn add_helper(
    state: &AppState,
    caller: &Caller,
    person_id: i64,
    h: &NewHelper,
) -> AppResult<i64> {
    let (paths, _) = keeper(caller)?;
    let name = crate::kernel::text::fold_width(&h.name);
    if name.is_empty() || name.chars().count() > 30 {
        return Err(AppError::invalid("roster.err_name"));
    }
    crate::kernel::text::check_line(&name).map_err(AppError::invalid)?;
    let relation = RELATIONS
        .iter()
        .find(|r| **r == h.relation.trim())
        .copied()
        .ok_or_else(|| AppError::invalid("roster.err_relation"))?;
    let phone = crate::registry::idnum::Phone::parse(&h.phone)
        .map_err(|_| AppError::invalid("roster.err_phone"))?;
    let reach = h.reach.trim().to_string();
    if reach.chars().count() > 100 {
        return Err(AppError::invalid("roster.err_reach"));
    }
    crate::kernel::text::check_line(&reach).map_err(AppError::invalid)?;
    let enc = state.keys.encrypt(phone.as_str());
    let masked = phone.masked();
    let by = caller.user_id;
    let found = state
        .db
        .write(move |c| {
            let street_id = match person_on_roster(c, &paths, person_id)? {
                Ok(s) => s,
                Err(outside) => return Ok(Err(outside)),
            };
            let id = c.query_i64(
                "INSERT INTO roster_helpers (street_id, person_id, name, relation, phone_enc, phone_masked, reach, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                params![street_id, person_id, name, relation, enc, masked, reach, by, now_ms()],
            )?;
            Ok(Ok((id, street_id)))
        })
        .await?;
    match found {
        Ok((id, street_id)) => {
            let mut e = NewEntry::by(caller, Action::Change)
                .subjects([audit::person(person_id)])
                .purpose(both("roster.log_helper", &[]));
            e.street_id = Some(street_id);
            state.audit.record(e).await?;
            Ok(id)
        }
        Err(outside) => {
            if outside {
                state
                    .audit
                    .record(
                        NewEntry::by(caller, Action::Denied).subjects([audit::person(person_id)]),
                    )
                    .await?;
            }
            Err(AppError::not_found())
        }
    }
}

/// A helper of a person in the caller's scope.
async fn helper_in(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> AppResult<(i64, i64, String, Vec<u8>)> {
    let (paths, _) = keeper(caller)?;
    let found = state
        .db
        .read(move |c| {
            let Some(h) = helper(c, id)? else {
                return Ok(None);
            };
            let inside = crate::registry::residents::resident(c, h.person_id)?
                .is_some_and(|r| Scope::covers(&paths, &r.place_path));
            Ok(Some((h, inside)))
        })
        .await?;
    match found {
        None => Err(AppError::not_found()),
        Some((h, false)) => {
            state
                .audit
                .record(NewEntry::by(caller, Action::Denied).subjects([audit::person(h.person_id)]))
                .await?;
            Err(AppError::not_found())
        }
        Some((h, true)) => Ok((h.person_id, h.street_id, h.name, h.phone_enc)),
    }
}

/// Removes a helper. Audited under the person helped.
pub async fn remove_helper(state: &AppState, caller: &Caller, id: i64) -> AppResult<()> {
    let (person_id, street_id, _, _) = helper_in(state, caller, id).await?;
    state
        .db
        .write(move |c| c.exec("DELETE FROM roster_helpers WHERE id = $1", params![id]))
        .await?;
    let mut e = NewEntry::by(caller, Action::Change)
        .subjects([audit::person(person_id)])
        .purpose(both("roster.log_helper", &[]));
    e.street_id = Some(street_id);
    state.audit.record(e).await?;
    Ok(())
}

/// A helper's name and phone, shown after the reveal is logged with its purpose.
pub async fn reveal_helper(
    state: &AppState,
    caller: &Caller,
    id: i64,
    purpose: &Purpose,
) -> AppResult<Revealed> {
    let why = purpose.check()?;
    let (person_id, street_id, name, enc) = helper_in(state, caller, id).await?;
    let phone = state
        .keys
        .decrypt(&enc)
        .ok_or_else(|| AppError::internal("roster helper phone", "cannot decrypt"))?;
    let mut e = NewEntry::by(caller, Action::Reveal)
        .subjects([audit::person(person_id)])
        .purpose(why);
    e.street_id = Some(street_id);
    state.audit.record(e).await?;
    Ok(Revealed { name, phone })
}
