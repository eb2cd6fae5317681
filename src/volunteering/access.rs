//! Who does what in volunteering. An organiser is a worker who keeps records of places (a
//! community or grid worker, a street administrator: call-ups' `organiser`) and acts on
//! activities at her places and the catalogues of her communities. A participant holds the
//! volunteer role (reaching an activity's community as call-ups' volunteers reach a call), or
//! lives in the activity's community as a resident when the street allows residents. A shop's
//! worker holds a grant for the organisation that offers an item.

use crate::kernel::error::{AppError, AppResult};
use crate::org::{Caller, Role, Scope};
use crate::store::{Conn, Result};

use super::store::Settings;

/// The places where the caller organises (403 for anyone else).
pub fn organiser(caller: &Caller) -> AppResult<Vec<String>> {
    crate::callups::volunteers::organiser(caller)
}

pub fn organises(caller: &Caller) -> bool {
    organiser(caller).is_ok()
}

fn grant_paths(caller: &Caller, role: Role) -> Vec<String> {
    caller
        .grants
        .iter()
        .filter(|g| g.role == role)
        .filter_map(|g| g.place.as_ref().map(|p| p.path.clone()))
        .collect()
}

/// Whether the caller may take part in activities at all (a volunteer or a resident).
pub fn participates(caller: &Caller) -> bool {
    caller.street_id.is_some()
        && (!grant_paths(caller, Role::Volunteer).is_empty()
            || !grant_paths(caller, Role::Resident).is_empty())
}

/// The caller's street, when she takes part (403 otherwise).
pub fn participant(caller: &Caller) -> AppResult<i64> {
    match caller.street_id {
        Some(s) if participates(caller) => Ok(s),
        _ => Err(AppError::forbidden()),
    }
}

/// Whether the caller may join what a community offers (its activities, its catalogue).
pub fn may_join(caller: &Caller, community_path: &str, s: &Settings) -> bool {
    let top = [community_path.to_string()];
    grant_paths(caller, Role::Volunteer)
        .iter()
        .any(|p| Scope::covers(&top, p) || Scope::covers(std::slice::from_ref(p), community_path))
        || (s.residents
            && grant_paths(caller, Role::Resident)
                .iter()
                .any(|p| Scope::covers(&top, p)))
}

/// Where the caller's points account belongs: her volunteer grant's place, else her home.
pub fn home_path(caller: &Caller) -> String {
    grant_paths(caller, Role::Volunteer)
        .into_iter()
        .chain(grant_paths(caller, Role::Resident))
        .next()
        .unwrap_or_default()
}

/// The organisations the caller works for (a shop's worker confirms its codes).
pub fn orgs(caller: &Caller) -> Vec<i64> {
    caller
        .grants
        .iter()
        .filter_map(|g| g.org.as_ref().map(|o| o.id))
        .collect()
}

/// The community a place lies in (itself when it is one).
pub fn community_of(c: &mut dyn Conn, place_id: i64) -> Result<Option<crate::org::places::Place>> {
    let mut at = crate::org::places::by_id_unscoped(c, place_id)?;
    for _ in 0..8 {
        match at {
            Some(p) if p.kind == "community" => return Ok(Some(p)),
            Some(p) => match p.parent_id {
                Some(parent) => at = crate::org::places::by_id_unscoped(c, parent)?,
                None => return Ok(None),
            },
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// The path of the caller's street.
pub fn street_path(c: &mut dyn Conn, street_id: i64) -> Result<String> {
    Ok(crate::org::places::by_id_unscoped(c, street_id)?
        .map(|p| p.path)
        .unwrap_or_default())
}
