//! The hierarchy (district › street › community › grid › building › unit), the organisations
//! that receive work, accounts, roles and the scope every read is limited to.

pub mod access;
pub mod account;
pub mod auth;
pub mod geometry;
pub mod hooks;
pub mod http;
pub mod links;
pub mod login;
pub mod orgs;
pub mod pages;
pub mod place_edit;
pub mod places;
pub mod service;
pub mod totp;
pub mod users;

use crate::http::area::{Area, Nav};

/// What the organisation area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::OrgApi as utoipa::OpenApi>::openapi,
        nav: &[
            Nav {
                order: 20,
                href: "/places",
                id: "nav-places",
                label: "nav.places",
                shown: Caller::can_browse,
            },
            Nav {
                order: 30,
                href: "/admin/users",
                id: "nav-users",
                label: "nav.users",
                shown: Caller::can_manage_users,
            },
        ],
        ..Area::new("org", || http::router().merge(pages::router()))
    }
}

use serde::Serialize;

/// What a user may do, and where. A user holds one or more roles, each bound to a place (its
/// scope) or to an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    DistrictAdmin,
    StreetAdmin,
    CommunityWorker,
    GridWorker,
    DeptHandler,
    PropertyManager,
    Volunteer,
    Resident,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::DistrictAdmin,
        Role::StreetAdmin,
        Role::CommunityWorker,
        Role::GridWorker,
        Role::DeptHandler,
        Role::PropertyManager,
        Role::Volunteer,
        Role::Resident,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::DistrictAdmin => "district_admin",
            Role::StreetAdmin => "street_admin",
            Role::CommunityWorker => "community_worker",
            Role::GridWorker => "grid_worker",
            Role::DeptHandler => "dept_handler",
            Role::PropertyManager => "property_manager",
            Role::Volunteer => "volunteer",
            Role::Resident => "resident",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Roles bound to an organisation rather than a place.
    pub fn needs_org(self) -> bool {
        matches!(self, Role::DeptHandler | Role::PropertyManager)
    }

    /// The place kind a role is normally bound to (used to check new grants).
    pub fn place_kinds(self) -> &'static [&'static str] {
        match self {
            Role::DistrictAdmin => &["district"],
            Role::StreetAdmin => &["street"],
            Role::CommunityWorker => &["community"],
            Role::GridWorker => &["grid"],
            Role::Volunteer => &["street", "community", "grid"],
            Role::Resident => &["unit"],
            Role::DeptHandler | Role::PropertyManager => &[],
        }
    }

    /// Reads residents' records within its place.
    pub fn reads_registry(self) -> bool {
        matches!(
            self,
            Role::DistrictAdmin | Role::StreetAdmin | Role::CommunityWorker | Role::GridWorker
        )
    }

    /// Manages accounts within its place.
    pub fn manages_users(self) -> bool {
        matches!(self, Role::DistrictAdmin | Role::StreetAdmin)
    }

    /// Browses the hierarchy (places with counts) within its place or its organisation's.
    pub fn browses_places(self) -> bool {
        !matches!(self, Role::Resident | Role::Volunteer)
    }

    /// The translation key of the role's name.
    pub fn label_key(self) -> String {
        format!("role.{}", self.as_str())
    }
}

/// A place as shown beside a grant or in a breadcrumb.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PlaceRef {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub path: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OrgRef {
    pub id: i64,
    pub kind: String,
    pub code: String,
    pub name: String,
    /// Paths of the places the organisation serves.
    pub serves: Vec<String>,
}

/// One role held by a user, with where it applies.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Grant {
    pub id: i64,
    pub role: Role,
    pub place: Option<PlaceRef>,
    pub org: Option<OrgRef>,
}

/// The part of the hierarchy a caller may read, computed once per request from the grants.
/// Store functions take it and put it into their SQL: there is no read path without it.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Paths under which residents' records may be read.
    pub registry: Vec<String>,
    /// Paths under which places (and their aggregate counts) may be browsed.
    pub places: Vec<String>,
    /// Paths under which accounts may be managed.
    pub users: Vec<String>,
    /// A resident's own household, readable whatever the paths say.
    pub own_household: Option<i64>,
}

impl Scope {
    pub fn from_grants(grants: &[Grant], own_household: Option<i64>) -> Scope {
        let mut s = Scope {
            own_household,
            ..Scope::default()
        };
        for g in grants {
            let mut paths: Vec<String> = Vec::new();
            if let Some(p) = &g.place {
                paths.push(p.path.clone());
            }
            if let Some(o) = &g.org {
                paths.extend(o.serves.iter().cloned());
            }
            if g.role.reads_registry() {
                s.registry.extend(paths.iter().cloned());
            }
            if g.role.browses_places() {
                s.places.extend(paths.iter().cloned());
            }
            if g.role.manages_users() {
                s.users.extend(paths.iter().cloned());
            }
        }
        for v in [&mut s.registry, &mut s.places, &mut s.users] {
            normalise(v);
        }
        s
    }

    pub fn covers(paths: &[String], path: &str) -> bool {
        paths.iter().any(|p| {
            path == p || (path.starts_with(p.as_str()) && path[p.len()..].starts_with('/'))
        })
    }
}

/// Sorts and drops paths already covered by a shorter one, so SQL conditions stay short.
fn normalise(v: &mut Vec<String>) {
    v.sort();
    v.dedup();
    let mut out: Vec<String> = Vec::with_capacity(v.len());
    for p in v.drain(..) {
        if !Scope::covers(&out, &p) {
            out.push(p);
        }
    }
    *v = out;
}

/// The signed-in user behind a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub street_id: Option<i64>,
    pub person_id: Option<i64>,
    pub grants: Vec<Grant>,
    pub scope: Scope,
    /// Set for cookie sessions: the token forms must echo back.
    pub csrf: Option<String>,
}

impl Caller {
    pub fn has(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }
    /// The role that decides the home page: the most senior one held.
    pub fn primary_role(&self) -> Role {
        Role::ALL
            .into_iter()
            .find(|r| self.has(*r))
            .unwrap_or(Role::Resident)
    }
    pub fn can_manage_users(&self) -> bool {
        !self.scope.users.is_empty()
    }
    pub fn can_browse(&self) -> bool {
        !self.scope.places.is_empty()
    }
    /// Holds a role that reads and keeps residents' records.
    pub fn reads_registry(&self) -> bool {
        self.grants.iter().any(|g| g.role.reads_registry())
    }
}

impl crate::audit::Acting for Caller {
    fn who(&self) -> crate::audit::Who {
        let primary = self.primary_role();
        let grant = self.grants.iter().find(|g| g.role == primary);
        crate::audit::Who {
            user_id: self.user_id,
            username: self.username.clone(),
            street_id: self.street_id,
            role: primary.as_str().to_string(),
            org: grant.and_then(|g| g.org.as_ref().map(|o| o.name.clone())),
            scope: grant
                .and_then(|g| g.place.as_ref().map(|p| vec![p.path.clone()]))
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_drops_covered_paths() {
        let mut v = vec![
            "a/b/c".to_string(),
            "a/b".into(),
            "a/bc".into(),
            "a/b".into(),
        ];
        normalise(&mut v);
        assert_eq!(v, vec!["a/b".to_string(), "a/bc".into()]);
        assert!(Scope::covers(&v, "a/b/x"));
        assert!(!Scope::covers(&["a/b".to_string()], "a/bc"));
    }
}
