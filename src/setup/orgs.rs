//! Organisations by hand (issue 21 part 3): a street administrator creates, changes and retires
//! the street's departments (职能部门), property companies (物业), owners' committees (业委会)
//! and social organisations (社会组织), names the places each serves, and routes case
//! categories to them. Members are accounts holding a grant for the organisation (made on the
//! accounts pages, or imported in bulk). Each use case: check the caller → one transaction →
//! the audit log. An organisation with open cases or routed categories is not retired.

use crate::audit::{Action, NewEntry};
use crate::kernel::i18n::Tr;
use crate::kernel::{AppError, AppResult, StatusCode};
use crate::org::orgs::{self, KINDS, OrgRecord};
use crate::org::{Caller, access, hooks, place_edit, users};
use crate::state::AppState;
use crate::store::{Conn, now_ms};

/// An organisation as a form or the API gives it.
#[derive(Clone, Debug, Default)]
pub struct OrgInput {
    pub kind: String,
    pub code: String,
    pub name: String,
    pub phone: String,
    /// Paths of the places it serves; empty means the whole street.
    pub places: Vec<String>,
}

/// An organisation with what its page shows.
#[derive(Clone, Debug)]
pub struct OrgDetail {
    pub org: OrgRecord,
    /// (id, name, path, kind)
    pub places: Vec<(i64, String, String, String)>,
    pub members: Vec<orgs::Member>,
    pub routes: Vec<crate::cases::RouteTo>,
}

struct Checked {
    kind: String,
    name: String,
    phone: Option<String>,
}

/// Checks what a form or the API may change (the code is checked once, on creation).
fn check(i: &OrgInput) -> AppResult<Checked> {
    if !KINDS.contains(&i.kind.as_str()) {
        return Err(AppError::invalid("setup.error.org_kind"));
    }
    let name = place_edit::check_name(&i.name).map_err(AppError::invalid)?;
    let phone = users::check_work_phone(&i.phone).map_err(AppError::invalid)?;
    Ok(Checked {
        kind: i.kind.clone(),
        name,
        phone,
    })
}

/// The places of the street named by `paths` (all must exist, be in the street and active);
/// the street itself when none is named.
fn resolve_places(c: &mut dyn Conn, street_id: i64, paths: &[String]) -> AppResult<Vec<i64>> {
    let mut wanted: Vec<String> = paths
        .iter()
        .map(|p| p.trim().trim_matches('/').to_string())
        .filter(|p| !p.is_empty())
        .collect();
    wanted.sort();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(vec![street_id]);
    }
    let found = orgs::street_places_by_path(c, street_id, &wanted)?;
    if found.len() != wanted.len() {
        let missing: Vec<&str> = wanted
            .iter()
            .filter(|w| !found.iter().any(|(_, p)| p == *w))
            .map(String::as_str)
            .collect();
        let lang = crate::kernel::ctx().lang;
        return Err(AppError::with_message(
            StatusCode::UNPROCESSABLE_ENTITY,
            crate::kernel::error::Code::Invalid,
            Tr(lang).fill("setup.error.org_places", &[("paths", &missing.join(", "))]),
        ));
    }
    Ok(found.into_iter().map(|(id, _)| id).collect())
}

/// The street's organisations with their member counts (street administrators only).
pub async fn list(state: &AppState, caller: &Caller) -> AppResult<Vec<(OrgRecord, i64)>> {
    let street = access::street_admin(caller)?;
    Ok(state
        .db
        .read(move |c| {
            let counts = orgs::member_counts(c, street)?;
            Ok(orgs::of_street(c, street)?
                .into_iter()
                .map(|o| {
                    let n = counts
                        .iter()
                        .find(|(id, _)| *id == o.id)
                        .map_or(0, |(_, n)| *n);
                    (o, n)
                })
                .collect())
        })
        .await?)
}

/// One organisation of the caller's street (404 for another street's or none).
pub async fn detail(state: &AppState, caller: &Caller, id: i64) -> AppResult<OrgDetail> {
    let street = access::street_admin(caller)?;
    state
        .db
        .read(move |c| {
            let Some(org) = orgs::get(c, id)?.filter(|o| o.street_id == street) else {
                return Ok(None);
            };
            Ok(Some(OrgDetail {
                places: orgs::places_of(c, id)?,
                members: orgs::members(c, id)?,
                routes: crate::cases::routes_to(c, id)?,
                org,
            }))
        })
        .await?
        .ok_or_else(AppError::not_found)
}

fn owned(c: &mut dyn Conn, street: i64, id: i64) -> AppResult<OrgRecord> {
    orgs::get(c, id)?
        .filter(|o| o.street_id == street)
        .ok_or_else(AppError::not_found)
}

/// Creates an organisation of the caller's street; returns its id.
pub async fn create(state: &AppState, caller: &Caller, i: OrgInput) -> AppResult<i64> {
    let street = access::street_admin(caller)?;
    let k = check(&i)?;
    let code = place_edit::check_code(&i.code).map_err(AppError::invalid)?;
    let paths = i.places;
    let audited = format!("create organisation {code}");
    let id = state
        .db
        .write_tx(move |c| -> AppResult<i64> {
            let places = resolve_places(c, street, &paths)?;
            let id = orgs::insert(
                c,
                street,
                &k.kind,
                &code,
                &k.name,
                k.phone.as_deref(),
                now_ms(),
            )?;
            orgs::set_places(c, id, street, &places)?;
            Ok(id)
        })
        .await?;
    audit(state, caller, &audited).await?;
    Ok(id)
}

/// Changes an organisation's kind, name, phone and places (its code stays).
pub async fn update(state: &AppState, caller: &Caller, id: i64, i: OrgInput) -> AppResult<()> {
    let street = access::street_admin(caller)?;
    let k = check(&i)?;
    let paths = i.places;
    let code = state
        .db
        .write_tx(move |c| -> AppResult<String> {
            let org = owned(c, street, id)?;
            if org.retired_at.is_some() {
                return Err(AppError::invalid("setup.error.org_retired"));
            }
            let places = resolve_places(c, street, &paths)?;
            orgs::update(c, id, &k.kind, &k.name, k.phone.as_deref())?;
            orgs::set_places(c, id, street, &places)?;
            Ok(org.code)
        })
        .await?;
    state.places_changed();
    audit(state, caller, &format!("update organisation {code}")).await?;
    Ok(())
}

/// Retires an organisation; refused (409, with the counts) while it handles open cases or
/// categories are routed to it.
pub async fn retire(state: &AppState, caller: &Caller, id: i64) -> AppResult<()> {
    let street = access::street_admin(caller)?;
    let lang = crate::kernel::ctx().lang;
    let code = state
        .db
        .write_tx(move |c| -> AppResult<String> {
            let org = owned(c, street, id)?;
            if org.retired_at.is_some() {
                return Err(AppError::invalid("setup.error.org_retired"));
            }
            let uses = hooks::org_uses(c, id)?;
            if !uses.is_empty() {
                return Err(super::places::in_use(lang, "setup.error.org_in_use", &uses));
            }
            orgs::retire(c, id, now_ms())?;
            Ok(org.code)
        })
        .await?;
    state.places_changed();
    audit(state, caller, &format!("retire organisation {code}")).await?;
    Ok(())
}

/// Routes a category (by its code) at a place of the street (by path; the street when empty)
/// to the organisation.
pub async fn add_route(
    state: &AppState,
    caller: &Caller,
    id: i64,
    category: &str,
    place: &str,
) -> AppResult<()> {
    let street = access::street_admin(caller)?;
    let category = category.trim().to_string();
    let place = place.trim().trim_matches('/').to_string();
    let what = format!("route {category} at {place} to organisation {id}");
    state
        .db
        .write_tx(move |c| -> AppResult<()> {
            let org = owned(c, street, id)?;
            if org.retired_at.is_some() {
                return Err(AppError::invalid("setup.error.org_retired"));
            }
            let k = crate::cases::category_by_code(c, street, &category)?
                .ok_or_else(|| AppError::invalid("setup.error.route_category"))?;
            let place_id = if place.is_empty() {
                street
            } else {
                resolve_places(c, street, std::slice::from_ref(&place))?[0]
            };
            crate::cases::set_route(c, k.id, place_id, id)?;
            Ok(())
        })
        .await?;
    audit(state, caller, &what).await
}

/// Removes a route to the organisation.
pub async fn remove_route(
    state: &AppState,
    caller: &Caller,
    id: i64,
    category_id: i64,
    place_id: i64,
) -> AppResult<()> {
    let street = access::street_admin(caller)?;
    let gone = state
        .db
        .write_tx(move |c| -> AppResult<bool> {
            owned(c, street, id)?;
            Ok(crate::cases::remove_route(c, category_id, place_id, id)?)
        })
        .await?;
    if !gone {
        return Err(AppError::not_found());
    }
    audit(
        state,
        caller,
        &format!("unroute category {category_id} at place {place_id} from organisation {id}"),
    )
    .await
}

/// Logs a change to the street's organisations (no person's data).
async fn audit(state: &AppState, caller: &Caller, what: &str) -> AppResult<()> {
    state
        .audit
        .record(NewEntry::by(caller, Action::Change).purpose(what.to_string()))
        .await?;
    Ok(())
}
