//! Who the volunteers are and what they say of themselves: an account holding the
//! `volunteer` role at a street, a community or a grid (org's grants), with a profile kept
//! here — her skills from a fixed list, the buildings she can cover, a phone to be called on
//! (encrypted at rest, masked on screen). She edits it herself; those who organise calls in
//! her places see it (audited).

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
            phone_masked: p.map(|p| p.phone_masked).unwrap_or_default(),
        });
    }
    Ok(out)
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
    Ok(state
        .db
        .read(move |c| {
            let choices = buildings_of(c, &paths)?;
            let p = store::profile(c, me)?;
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
    let me = caller.user_id;
    let ids = e.buildings.clone();
    state
        .db
        .write_tx(move |c| -> AppResult<()> {
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
    let paths = organiser(caller)?;
    let street = caller.street_id.unwrap_or_default();
    let (list, subjects) = state
        .db
        .read(move |c| {
            let mut out = Vec::new();
            let mut subjects = Vec::new();
            let mut names: HashMap<i64, String> = HashMap::new();
            for s in streets_of(c, street)? {
                for k in candidates(c, s)? {
                    if !paths.iter().any(|p| k.reached_by(p)) {
                        continue;
                    }
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
                    });
                }
            }
            Ok((out, subjects))
        })
        .await?;
    if !subjects.is_empty() {
        let a = NewEntry::by(caller, Action::List)
            .subjects(subjects)
            .purpose(both("callups.purpose.volunteers", &[]));
        state.audit.record(a).await?;
    }
    Ok(list)
}
