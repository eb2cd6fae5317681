//! One access policy: the role and scope guards every area uses, so that "who may configure a
//! street" or "who may manage accounts" is decided once.
//!
//! **The street-administrator rule.** A street's configuration — its service catalogue and
//! calendar, case routing, tag definitions, sensing rules — is changed by a street
//! administrator of that street or by a district administrator, who acts on the streets below
//! her (seed 001: the district sets standards its streets follow). An account belongs to one
//! street (`users.street_id`; a district administrator's account names her district), and the
//! guard answers with it. Before this module the rule was written three ways: cases allowed a
//! district administrator, the registry did not, and sensing read the street's path from the
//! database to compare it with the caller's account scope.

use super::{Caller, Role};
use crate::kernel::{AppError, AppResult};

/// Whether the caller administers her street (see the module's rule).
pub fn is_street_admin(caller: &Caller) -> bool {
    caller.street_id.is_some()
        && caller
            .grants
            .iter()
            .any(|g| matches!(g.role, Role::StreetAdmin | Role::DistrictAdmin))
}

/// The caller's street when she administers it; 403 otherwise.
pub fn street_admin(caller: &Caller) -> AppResult<i64> {
    match caller.street_id {
        Some(street) if is_street_admin(caller) => Ok(street),
        _ => Err(AppError::forbidden()),
    }
}

/// Accounts are managed by street and district administrators, within their places.
pub fn require_user_admin(caller: &Caller) -> AppResult<()> {
    if caller.can_manage_users() {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// The paths under which the caller may create, change, move and retire places (issue 21):
/// her street (a street or district administrator) or her community (a community worker).
pub fn place_editor_paths(caller: &Caller) -> Vec<String> {
    caller
        .grants
        .iter()
        .filter(|g| {
            matches!(
                g.role,
                Role::DistrictAdmin | Role::StreetAdmin | Role::CommunityWorker
            )
        })
        .filter_map(|g| g.place.as_ref().map(|p| p.path.clone()))
        .collect()
}

/// 404 when the place at `path` lies outside what the caller browses, 403 when she browses it
/// but may not change it.
pub fn require_place_editor(caller: &Caller, path: &str) -> AppResult<()> {
    if super::Scope::covers(&place_editor_paths(caller), path) {
        Ok(())
    } else if super::Scope::covers(&caller.scope.places, path) {
        Err(AppError::forbidden())
    } else {
        Err(AppError::not_found())
    }
}

impl Caller {
    /// The streets whose notices a caller reads: `None` when none, `Some(None)` for all.
    pub fn notice_streets(&self) -> Option<Option<Vec<i64>>> {
        if self.has(Role::DistrictAdmin) {
            return Some(None);
        }
        let streets: Vec<i64> = self
            .grants
            .iter()
            .filter(|g| g.role == Role::StreetAdmin)
            .filter_map(|g| g.place.as_ref().map(|p| p.id))
            .collect();
        (!streets.is_empty()).then_some(Some(streets))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::{Grant, PlaceRef, Scope};

    fn caller(role: Role, street: Option<i64>) -> Caller {
        let grants = vec![Grant {
            id: 1,
            role,
            place: Some(PlaceRef {
                id: 2,
                path: "310115/310115004".into(),
                name: "街道".into(),
                kind: "street".into(),
            }),
            org: None,
        }];
        Caller {
            user_id: 1,
            username: "u".into(),
            display_name: "u".into(),
            street_id: street,
            person_id: None,
            scope: Scope::from_grants(&grants, None),
            grants,
            csrf: None,
        }
    }

    #[test]
    fn street_and_district_administrators_configure_the_street_others_do_not() {
        assert_eq!(
            street_admin(&caller(Role::StreetAdmin, Some(2))).ok(),
            Some(2)
        );
        assert_eq!(
            street_admin(&caller(Role::DistrictAdmin, Some(2))).ok(),
            Some(2)
        );
        for r in [
            Role::CommunityWorker,
            Role::GridWorker,
            Role::DeptHandler,
            Role::PropertyManager,
            Role::Volunteer,
            Role::Resident,
        ] {
            assert!(street_admin(&caller(r, Some(2))).is_err(), "{r:?}");
        }
        assert!(street_admin(&caller(Role::StreetAdmin, None)).is_err());
    }
}
