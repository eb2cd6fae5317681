//! Who the volunteers are and what they say of themselves: an account holding the
//! `volunteer` role at a street, a community or a grid (org's grants), with a profile kept
//! here — her skills from a fixed list, the buildings she can cover, a phone to be called on
//! (encrypted at rest, masked on screen), what she is to the community (a resident, a party
//! member registered here, the staff of a unit in the area) and the weekly times she is
//! free. She edits it herself; those who organise calls in her places see it (audited).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store;
use crate::audit::{self, Action, NewEntry};
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::both;
use crate::kernel::time::now_ms;
use crate::org::{Caller, Role, Scope};
use crate::state::AppState;
use crate::store::{Conn, Result};

/// The skills a volunteer may offer (their names are `callups.skill.<code>`).
pub const SKILLS: [&str; 7] = [
    "medical",
    "carrying",
    "driving",
    "electrician",
    "translation",
    "counselling",
    "companion",
];

/// The most buildings a volunteer lists.
pub const MAX_BUILDINGS: usize = 30;

/// The longest party organisation's name and note on her availability.
pub const MAX_PARTY_ORG: usize = 60;
pub const MAX_AVAILABILITY_NOTE: usize = 200;

/// What a volunteer is to the community (issue 25): a resident, a party member working
/// elsewhere who registered here (在职党员报到), or staff of a unit in the area (驻区单位).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = VolunteerAffiliation)]
pub enum Affiliation {
    #[default]
    Resident,
    PartyMember,
    UnitStaff,
}

impl Affiliation {
    pub const ALL: [Affiliation; 3] = [
        Affiliation::Resident,
        Affiliation::PartyMember,
        Affiliation::UnitStaff,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Affiliation::Resident => "resident",
            Affiliation::PartyMember => "party_member",
            Affiliation::UnitStaff => "unit_staff",
        }
    }
    pub fn parse(s: &str) -> Option<Affiliation> {
        Affiliation::ALL
            .into_iter()
            .find(|a| a.as_str() == s.trim())
    }
}

/// The days of a week and the parts of a day a volunteer says she is free; a slot is
/// `<day>_<part>` (`mon_morning`).
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
pub const PARTS: [&str; 3] = ["morning", "afternoon", "evening"];

/// Whether `s` names a weekly slot.
pub fn is_slot(s: &str) -> bool {
    s.split_once('_')
        .is_some_and(|(d, p)| WEEKDAYS.contains(&d) && PARTS.contains(&p))
}

/// The weekly slot a moment falls in, in the street's time: morning before noon, afternoon
/// before six, evening after.
pub fn slot_at(ms: i64) -> String {
    use chrono::{Datelike, Timelike};
    let Some(t) = crate::kernel::time::local(ms) else {
        return String::new();
    };
    let day = WEEKDAYS[t.weekday().num_days_from_monday() as usize];
    let part = match t.hour() {
        0..12 => "morning",
        12..18 => "afternoon",
        _ => "evening",
    };
    format!("{day}_{part}")
}

/// Slots as typed: each known, kept once, in the week's order.
pub fn slots(typed: &[String]) -> AppResult<Vec<String>> {
    for s in typed {
        if !is_slot(s.trim()) {
            return Err(AppError::invalid("callups.err_slot"));
        }
    }
    let mut out = Vec::new();
    for d in WEEKDAYS {
        for p in PARTS {
            let slot = format!("{d}_{p}");
            if typed.iter().any(|s| s.trim() == slot) {
                out.push(slot);
            }
        }
    }
    Ok(out)
}

/// A volunteer of a street and where she reaches.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub user_id: i64,
    pub name: String,
    pub person_id: Option<i64>,
    /// The places of her volunteer grants.
    pub paths: Vec<String>,
    /// The buildings she covers (none: wherever her grants reach).
    pub cover: Vec<(i64, String)>,
    pub skills: Vec<String>,
    pub phone_masked: String,
    pub affiliation: Affiliation,
    /// Her weekly slots (none said: unknown, not never).
    pub availability: Vec<String>,
}

fn under(path: &str, top: &str) -> bool {
    Scope::covers(&[top.to_string()], path)
}

impl Candidate {
    /// Whether a call to the volunteers of `audience` (a community, grid or building)
    /// reaches her: a building she covers lies in it (or is it); without buildings, a place
    /// of hers lies in it or holds it.
    pub fn reached_by(&self, audience: &str) -> bool {
        if self.cover.is_empty() {
            self.paths
                .iter()
                .any(|p| under(p, audience) || under(audience, p))
        } else {
            self.cover.iter().any(|(_, b)| under(b, audience))
        }
    }

    /// Whether she has any of `wanted` (everyone when none is wanted).
    pub fn offers(&self, wanted: &[String]) -> bool {
        wanted.is_empty() || wanted.iter().any(|w| self.skills.contains(w))
    }

    /// Whether she said she is free in `slot`.
    pub fn available(&self, slot: &str) -> bool {
        self.availability.iter().any(|s| s == slot)
    }

    /// Audit subjects: her account, and her registry record when she has one.
    pub fn subjects(&self) -> Vec<String> {
        let mut s = vec![audit::user(self.user_id)];
        if let Some(p) = self.person_id {
            s.push(audit::person(p));
        }
        s
    }
}

/// The volunteers of a street, now, with their profiles.
pub fn candidates(c: &mut dyn Conn, street_id: i64) -> Result<Vec<Candidate>> {
    let holders = crate::org::users::place_role_holders(c, street_id, Role::Volunteer)?;
    let mut profiles = store::profiles(c, street_id)?;
    let mut covers = store::covers(c, street_id)?;
    let mut out: Vec<Candidate> = Vec::new();
    for h in holders {
        if let Some(last) = out.last_mut().filter(|k| k.user_id == h.user_id) {
            last.paths.push(h.path);
            continue;
        }
        let p = profiles.remove(&h.user_id);
        out.push(Candidate {
            user_id: h.user_id,
            name: h.display_name,
            person_id: h.person_id,
            paths: vec![h.path],
            cover: covers.remove(&h.user_id).unwrap_or_default(),
            skills: p.as_ref().map(|p| p.skills.clone()).unwrap_or_default(),
            affiliation: p
                .as_ref()
                .and_then(|p| Affiliation::parse(&p.affiliation))
                .unwrap_or_default(),
            availability: p
                .as_ref()
                .map(|p| p.availability.clone())
                .unwrap_or_default(),
            phone_masked: p.map(|p| p.phone_masked).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// A volunteer's affiliation and its organisation (a party member's as typed, a unit's
/// name), for her certificate.
pub fn affiliation_of(c: &mut dyn Conn, user_id: i64) -> Result<(Affiliation, String)> {
    let Some(p) = store::profile(c, user_id)? else {
        return Ok((Affiliation::Resident, String::new()));
    };
    let a = Affiliation::parse(&p.affiliation).unwrap_or_default();
    let org = match a {
        Affiliation::Resident => String::new(),
        Affiliation::PartyMember => p.party_org,
        Affiliation::UnitStaff => match p.unit_org_id {
            Some(id) => crate::org::orgs::get(c, id)?
                .map(|o| o.name)
                .unwrap_or_default(),
            None => String::new(),
        },
    };
    Ok((a, org))
}

/// The affiliation of each of a street's volunteers who said one (others are residents).
pub fn affiliations(c: &mut dyn Conn, street_id: i64) -> Result<HashMap<i64, Affiliation>> {
    Ok(store::profiles(c, street_id)?
        .into_iter()
        .map(|(u, p)| (u, Affiliation::parse(&p.affiliation).unwrap_or_default()))
        .collect())
}

/// The streets an organiser's account stands for: her street, or the streets of her district.
pub fn streets_of(c: &mut dyn Conn, street_id: i64) -> Result<Vec<i64>> {
    let Some(p) = crate::org::places::by_id_unscoped(c, street_id)? else {
        return Ok(Vec::new());
    };
    if p.kind == "district" {
        Ok(crate::org::places::children_full(c, p.id)?
            .into_iter()
            .filter(|s| s.kind == "street")
            .map(|s| s.id)
            .collect())
    } else {
        Ok(vec![street_id])
    }
}

/// The places of the caller's volunteer grants, and her street; 403 for anyone else.
pub fn volunteer(caller: &Caller) -> AppResult<(i64, Vec<String>)> {
    let paths: Vec<String> = caller
        .grants
        .iter()
        .filter(|g| g.role == Role::Volunteer)
        .filter_map(|g| g.place.as_ref().map(|p| p.path.clone()))
        .collect();
    match caller.street_id {
        Some(s) if !paths.is_empty() => Ok((s, paths)),
        _ => Err(AppError::forbidden()),
    }
}

/// A volunteer's profile as she sees and edits it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = CallupProfile)]
pub struct Profile {
    pub skills: Vec<String>,
    /// The buildings she covers: `(id, name)`.
    pub buildings: Vec<Building>,
    /// Her phone, masked; empty when none is given.
    pub phone_masked: String,
    /// The buildings she may choose from (those of her places).
    pub choices: Vec<Building>,
    pub affiliation: Affiliation,
    /// A party member's employer or party organisation (在职党员报到), as she typed it.
    pub party_org: String,
    /// The day she registered in the community, `YYYY-MM-DD`.
    pub party_registered_on: Option<String>,
    /// A unit's staff: the organisation of the street she works for (驻区单位).
    pub unit_org_id: Option<i64>,
    pub unit_org: Option<String>,
    /// The organisations of her street she may name as her unit.
    pub units: Vec<Building>,
    /// Weekly slots she is free: `mon_morning` … `sun_evening`.
    pub availability: Vec<String>,
    pub availability_note: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = CallupBuilding)]
pub struct Building {
    pub id: i64,
    pub name: String,
}

fn buildings_of(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<(i64, String, String)>> {
    let page = crate::org::places::list(
        c,
        paths,
        &crate::org::places::ListQuery {
            kind: Some("building".to_string()),
            under: None,
            limit: 300,
            offset: 0,
            with_total: false,
        },
    )?;
    Ok(page
        .items
        .into_iter()
        .map(|p| (p.id, p.name, p.path))
        .collect())
}

/// The caller's own profile (a volunteer).
pub async fn own(state: &AppState, caller: &Caller) -> AppResult<Profile> {
    let (_, paths) = volunteer(caller)?;
    let me = caller.user_id;
    let street = caller.street_id.unwrap_or_default();
    Ok(state
        .db
        .read(move |c| {
            let choices = buildings_of(c, &paths)?;
            let p = store::profile(c, me)?;
            let orgs = crate::org::orgs::of_street(c, street)?;
            let unit_org_id = p.as_ref().and_then(|p| p.unit_org_id);
            let unit_org = orgs
                .iter()
                .find(|o| Some(o.id) == unit_org_id)
                .map(|o| o.name.clone());
            let units = orgs
                .into_iter()
                .filter(|o| o.retired_at.is_none())
                .map(|o| Building {
                    id: o.id,
                    name: o.name,
                })
                .collect();
            let mine: Vec<i64> = c
                .query(
                    "SELECT building_id FROM callup_cover WHERE user_id = $1",
                    crate::params![me],
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect();
            Ok(Profile {
                skills: p.as_ref().map(|p| p.skills.clone()).unwrap_or_default(),
                affiliation: p
                    .as_ref()
                    .and_then(|p| Affiliation::parse(&p.affiliation))
                    .unwrap_or_default(),
                party_org: p.as_ref().map(|p| p.party_org.clone()).unwrap_or_default(),
                party_registered_on: p.as_ref().and_then(|p| p.party_registered_on.clone()),
                unit_org_id,
                unit_org,
                units,
                availability: p
                    .as_ref()
                    .map(|p| p.availability.clone())
                    .unwrap_or_default(),
                availability_note: p
                    .as_ref()
                    .map(|p| p.availability_note.clone())
                    .unwrap_or_default(),
                phone_masked: p.map(|p| p.phone_masked).unwrap_or_default(),
                buildings: choices
                    .iter()
                    .filter(|b| mine.contains(&b.0))
                    .map(|b| Building {
                        id: b.0,
                        name: b.1.clone(),
                    })
                    .collect(),
                choices: choices
                    .into_iter()
                    .map(|b| Building { id: b.0, name: b.1 })
                    .collect(),
            })
        })
        .await?)
}

/// A profile as typed.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[schema(as = CallupProfileRequest)]
pub struct ProfileEdit {
    /// Skill codes: medical, carrying, driving, electrician, translation, counselling, companion.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Building ids of her places.
    #[serde(default)]
    pub buildings: Vec<i64>,
    /// A phone to be called on: absent keeps the one given, empty removes it.
    #[serde(default)]
    pub phone: Option<String>,
    /// `resident`, `party_member` or `unit_staff`; absent keeps what she said (with its
    /// particulars), given sets all of them.
    #[serde(default)]
    pub affiliation: Option<String>,
    /// A party member's employer or party organisation (required of a party member).
    #[serde(default)]
    pub party_org: Option<String>,
    /// The day a party member registered in the community, `YYYY-MM-DD` (required, not
    /// in the future).
    #[serde(default)]
    pub party_registered_on: Option<String>,
    /// A unit's staff: the organisation of her street (required of unit staff, 422 otherwise).
    #[serde(default)]
    pub unit_org_id: Option<i64>,
    /// Weekly slots, `mon_morning` … `sun_evening`; absent keeps them.
    #[serde(default)]
    pub availability: Option<Vec<String>>,
    /// A note on her availability (at most 200 characters); absent keeps it.
    #[serde(default)]
    pub availability_note: Option<String>,
}

/// An affiliation as typed, checked (its organisation is checked in the transaction).
struct AffiliationTyped {
    affiliation: Affiliation,
    party_org: String,
    party_registered_on: Option<String>,
    unit_org_id: Option<i64>,
}

fn affiliation_typed(e: &ProfileEdit) -> AppResult<Option<AffiliationTyped>> {
    let Some(a) = e.affiliation.as_deref() else {
        return Ok(None);
    };
    let affiliation =
        Affiliation::parse(a).ok_or_else(|| AppError::invalid("callups.err_affiliation"))?;
    let mut t = AffiliationTyped {
        affiliation,
        party_org: String::new(),
        party_registered_on: None,
        unit_org_id: None,
    };
    match affiliation {
        Affiliation::Resident => {}
        Affiliation::PartyMember => {
            let org = e.party_org.as_deref().unwrap_or("").trim().to_string();
            if org.is_empty() {
                return Err(AppError::invalid("callups.err_party_org"));
            }
            if org.chars().count() > MAX_PARTY_ORG {
                return Err(AppError::invalid("callups.err_party_org_long"));
            }
            crate::kernel::text::check_line(&org).map_err(AppError::invalid)?;
            let day = e.party_registered_on.as_deref().unwrap_or("").trim();
            let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map_err(|_| AppError::invalid("callups.err_party_date"))?;
            if day > crate::kernel::time::today() {
                return Err(AppError::invalid("callups.err_party_date_future"));
            }
            t.party_org = org;
            t.party_registered_on = Some(day.format("%Y-%m-%d").to_string());
        }
        Affiliation::UnitStaff => {
            t.unit_org_id = Some(
                e.unit_org_id
                    .ok_or_else(|| AppError::invalid("callups.err_unit"))?,
            );
        }
    }
    Ok(Some(t))
}

/// Saves the caller's own profile whole.
pub async fn save(state: &AppState, caller: &Caller, e: ProfileEdit) -> AppResult<Profile> {
    let (street, paths) = volunteer(caller)?;
    let mut skills: Vec<String> = Vec::new();
    for s in &e.skills {
        let s = s.trim();
        if !SKILLS.contains(&s) {
            return Err(AppError::invalid("callups.err_skill"));
        }
        if !skills.iter().any(|x| x == s) {
            skills.push(s.to_string());
        }
    }
    if e.buildings.len() > MAX_BUILDINGS {
        return Err(AppError::invalid("callups.err_buildings"));
    }
    let phone = match e.phone.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(p) => {
            let p = crate::registry::idnum::Phone::parse(p)
                .map_err(|_| AppError::invalid("callups.err_phone"))?;
            Some(Some((state.keys.encrypt(p.as_str()), p.masked())))
        }
    };
    let affiliation = affiliation_typed(&e)?;
    let availability = match &e.availability {
        Some(v) => Some(slots(v)?),
        None => None,
    };
    let availability_note = match e.availability_note.as_deref().map(str::trim) {
        None => None,
        Some(n) => {
            if n.chars().count() > MAX_AVAILABILITY_NOTE {
                return Err(AppError::invalid("callups.err_availability_note"));
            }
            if !n.is_empty() {
                crate::kernel::text::check_line(n).map_err(AppError::invalid)?;
            }
            Some(n.to_string())
        }
    };
    let me = caller.user_id;
    let ids = e.buildings.clone();
    state
        .db
        .write_tx(move |c| -> AppResult<()> {
            if let Some(id) = affiliation.as_ref().and_then(|a| a.unit_org_id)
                && !crate::org::orgs::is_active(c, street, id)?
            {
                return Err(AppError::invalid("callups.err_unit"));
            }
            let mut chosen = Vec::new();
            for id in ids {
                let b = crate::org::places::get(c, &paths, id)?
                    .filter(|p| p.kind == "building")
                    .ok_or_else(|| AppError::invalid("callups.err_building"))?;
                if !chosen.iter().any(|(i, _)| *i == b.id) {
                    chosen.push((b.id, b.path));
                }
            }
            store::save_profile(c, me, street, &skills, &chosen, phone, now_ms())?;
            if let Some(a) = &affiliation {
                store::save_affiliation(
                    c,
                    me,
                    &store::AffiliationRow {
                        affiliation: a.affiliation.as_str(),
                        party_org: &a.party_org,
                        party_registered_on: a.party_registered_on.clone(),
                        unit_org_id: a.unit_org_id,
                    },
                )?;
            }
            if availability.is_some() || availability_note.is_some() {
                let old = store::profile(c, me)?;
                let slots = match &availability {
                    Some(v) => v.clone(),
                    None => old
                        .as_ref()
                        .map(|p| p.availability.clone())
                        .unwrap_or_default(),
                };
                let note = match &availability_note {
                    Some(n) => n.clone(),
                    None => old.map(|p| p.availability_note).unwrap_or_default(),
                };
                store::save_availability(c, me, &slots, &note)?;
            }
            Ok(())
        })
        .await?;
    let mut a = NewEntry::by(caller, Action::Change)
        .subjects([audit::user(me)])
        .purpose(both("callups.purpose.profile", &[]));
    a.street_id = Some(street);
    state.audit.record(a).await?;
    own(state, caller).await
}

/// A volunteer as an organiser sees her.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = CallupVolunteer)]
pub struct VolunteerView {
    pub user_id: i64,
    pub name: String,
    pub skills: Vec<String>,
    /// The buildings she covers, by name (none: anywhere in her places).
    pub buildings: Vec<String>,
    /// Masked; empty when she gave none.
    pub phone_masked: String,
    pub affiliation: Affiliation,
    /// A party member's organisation, or the unit's name.
    pub affiliation_org: String,
    /// The day a party member registered here.
    pub party_registered_on: Option<String>,
    /// Her weekly slots (`mon_morning`).
    pub availability: Vec<String>,
    pub availability_note: String,
}

/// Who of the volunteers an organiser lists.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct VolunteerFilter {
    /// `resident`, `party_member` or `unit_staff`.
    #[serde(default)]
    pub affiliation: Option<String>,
    /// Free in this weekly slot: `mon_morning` … `sun_evening`.
    #[serde(default)]
    pub available: Option<String>,
}

/// The volunteers an organiser lists, and how many of all her volunteers are of each
/// affiliation.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = CallupVolunteers)]
pub struct Volunteers {
    pub volunteers: Vec<VolunteerView>,
    /// `(affiliation, count)` over all her volunteers, whatever the filter.
    pub counts: Vec<(Affiliation, i64)>,
}

/// The places where the caller organises calls: those whose records she keeps.
pub fn organiser(caller: &Caller) -> AppResult<Vec<String>> {
    if caller.reads_registry() && !caller.scope.registry.is_empty() && caller.street_id.is_some() {
        Ok(caller.scope.registry.clone())
    } else {
        Err(AppError::forbidden())
    }
}

/// The volunteers a caller's calls could reach, with their skills. Audited with them.
pub async fn in_scope(state: &AppState, caller: &Caller) -> AppResult<Vec<VolunteerView>> {
    Ok(filtered(state, caller, VolunteerFilter::default())
        .await?
        .volunteers)
}

/// The volunteers a caller's calls could reach, by affiliation and free slot, with the
/// counts per affiliation. Audited with those listed.
pub async fn filtered(
    state: &AppState,
    caller: &Caller,
    f: VolunteerFilter,
) -> AppResult<Volunteers> {
    let paths = organiser(caller)?;
    let affiliation = match f.affiliation.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(a) => Some(
            Affiliation::parse(a).ok_or_else(|| AppError::invalid("callups.err_affiliation"))?,
        ),
    };
    let slot = match f.available.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) if is_slot(s) => Some(s.to_string()),
        Some(_) => return Err(AppError::invalid("callups.err_slot")),
    };
    let street = caller.street_id.unwrap_or_default();
    let (list, subjects, counts) = state
        .db
        .read(move |c| {
            let mut out = Vec::new();
            let mut subjects = Vec::new();
            let mut counts: Vec<(Affiliation, i64)> =
                Affiliation::ALL.iter().map(|a| (*a, 0)).collect();
            let mut names: HashMap<i64, String> = HashMap::new();
            for s in streets_of(c, street)? {
                let profiles = store::profiles(c, s)?;
                let orgs =
                    crate::org::orgs::names(c, profiles.values().filter_map(|p| p.unit_org_id))?;
                for k in candidates(c, s)? {
                    if !paths.iter().any(|p| k.reached_by(p)) {
                        continue;
                    }
                    if let Some(n) = counts.iter_mut().find(|(a, _)| *a == k.affiliation) {
                        n.1 += 1;
                    }
                    if affiliation.is_some_and(|a| a != k.affiliation)
                        || slot.as_deref().is_some_and(|x| !k.available(x))
                    {
                        continue;
                    }
                    let p = profiles.get(&k.user_id);
                    let affiliation_org = match k.affiliation {
                        Affiliation::Resident => String::new(),
                        Affiliation::PartyMember => {
                            p.map(|p| p.party_org.clone()).unwrap_or_default()
                        }
                        Affiliation::UnitStaff => p
                            .and_then(|p| p.unit_org_id)
                            .and_then(|id| orgs.get(&id).cloned())
                            .unwrap_or_default(),
                    };
                    let party_registered_on = p.and_then(|p| p.party_registered_on.clone());
                    let availability_note =
                        p.map(|p| p.availability_note.clone()).unwrap_or_default();
                    let mut buildings = Vec::new();
                    for (id, _) in &k.cover {
                        if !names.contains_key(id)
                            && let Some(p) = crate::org::places::by_id_unscoped(c, *id)?
                        {
                            names.insert(*id, p.name);
                        }
                        buildings.push(names.get(id).cloned().unwrap_or_default());
                    }
                    subjects.extend(k.subjects());
                    out.push(VolunteerView {
                        user_id: k.user_id,
                        name: k.name,
                        skills: k.skills,
                        buildings,
                        phone_masked: k.phone_masked,
                        affiliation: k.affiliation,
                        affiliation_org,
                        party_registered_on,
                        availability: k.availability,
                        availability_note,
                    });
                }
            }
            Ok((out, subjects, counts))
        })
        .await?;
    if !subjects.is_empty() {
        let a = NewEntry::by(caller, Action::List)
            .subjects(subjects)
            .purpose(both("callups.purpose.volunteers", &[]));
        state.audit.record(a).await?;
    }
    Ok(Volunteers {
        volunteers: list,
        counts,
    })
}
