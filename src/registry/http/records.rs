//! The JSON API for the registry's records beside persons: units and their owners, households,
//! rental registrations, vehicles, tags, and population figures. Every handler checks the role,
//! runs its store function (which takes the scope into its SQL) and writes the audit entry.

use std::sync::Arc;

use crate::http::{Path, Query};
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{delete, get, post};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::audit::{self, Action, NewEntry};
use crate::http::ErrorBody;
use crate::http::{ApiJson, Signed};
use crate::http::{Changed, Created};
use crate::kernel::error::{AppError, AppResult};
use crate::org::Caller;
use crate::registry::records::{self, Actor, Outcome};
use crate::state::AppState;

/// The registry's records' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    get_unit,
    patch_unit,
    add_owner,
    remove_owner,
    create_household,
    patch_household,
    move_person,
    add_tag,
    end_tag,
    list_rentals,
    get_rental,
    create_rental,
    close_rental,
    list_vehicles,
    create_vehicle,
    patch_vehicle,
    delete_vehicle,
    list_tags,
    create_tag,
    delete_tag,
    population
))]
pub struct RegistryApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/units/{id}", get(get_unit).patch(patch_unit))
        .route("/api/v1/units/{id}/owners", post(add_owner))
        .route("/api/v1/units/{id}/owners/{owner}", delete(remove_owner))
        .route("/api/v1/households", post(create_household))
        .route("/api/v1/persons/{id}/move", post(move_person))
        .route("/api/v1/persons/{id}/tags", post(add_tag))
        .route("/api/v1/persons/{id}/tags/{tag}", delete(end_tag))
        .route("/api/v1/rentals", get(list_rentals).post(create_rental))
        .route("/api/v1/rentals/{id}", get(get_rental))
        .route("/api/v1/rentals/{id}/close", post(close_rental))
        .route("/api/v1/vehicles", get(list_vehicles).post(create_vehicle))
        .route(
            "/api/v1/vehicles/{id}",
            axum::routing::patch(patch_vehicle).delete(delete_vehicle),
        )
        .route("/api/v1/tags", get(list_tags).post(create_tag))
        .route("/api/v1/tags/{code}", delete(delete_tag))
        .route("/api/v1/stats/population", get(population))
}

/// Only roles that keep residents' records change them.
pub fn writer(caller: &Caller) -> AppResult<()> {
    if caller.reads_registry() {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// Checks that the caller keeps records, then runs a change as them (source `api`) within
/// their scope in one transaction; a refusal rolls it back.
async fn change_as<T: Send + 'static>(
    state: &AppState,
    caller: &Caller,
    f: impl FnOnce(
        &mut dyn crate::store::Conn,
        &crate::org::Scope,
        &crate::store::keys::FieldKeys,
        Actor<'static>,
    ) -> crate::store::Result<Outcome<T>>
    + Send
    + 'static,
) -> AppResult<T> {
    writer(caller)?;
    let (scope, keys) = (caller.scope.clone(), state.keys.clone());
    let who = Actor {
        user_id: caller.user_id,
        source: "api",
    };
    change(state, move |c| f(c, &scope, &keys, who)).await
}

/// Runs a change in one transaction; a refusal rolls it back.
async fn change<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut dyn crate::store::Conn) -> crate::store::Result<Outcome<T>> + Send + 'static,
) -> AppResult<T> {
    state
        .db
        .write_tx(move |c| -> AppResult<T> { f(c)?.map_err(AppError::from) })
        .await
}

async fn log_change(
    state: &AppState,
    caller: &Caller,
    subjects: Vec<String>,
    what: String,
) -> AppResult<()> {
    state
        .audit
        .record(
            NewEntry::by(caller, Action::Change)
                .subjects(subjects)
                .purpose(what),
        )
        .await?;
    Ok(())
}

async fn log_list(state: &AppState, caller: &Caller, people: Vec<i64>) -> AppResult<()> {
    crate::registry::access::listed_people(state, caller, people).await
}

fn unit_subject(id: i64) -> String {
    format!("unit:{id}")
}

/// A housing unit with its area, use, owners (with shares), rental registrations, its
/// residents' vehicles and the history of changes. The people it names are audited.
#[utoipa::path(get, path = "/api/v1/units/{id}", tag = "registry", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = records::Unit), (status = 404, body = ErrorBody)))]
async fn get_unit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<records::Unit>> {
    writer(&caller)?;
    let scope = caller.scope.clone();
    let (u, exists) = state
        .db
        .read(move |c| {
            let u = records::unit(c, &scope, id)?;
            let exists = u.is_some() || records::unit_exists(c, id)?;
            Ok((u, exists))
        })
        .await?;
    match u {
        Some(u) => {
            let subjects = std::iter::once(unit_subject(id))
                .chain(records::unit_subjects(&u).into_iter().map(audit::person))
                .collect::<Vec<_>>();
            state
                .audit
                .record(NewEntry::by(&caller, Action::Read).subjects(subjects))
                .await?;
            Ok(Json(u))
        }
        None => {
            if exists {
                state
                    .audit
                    .record(NewEntry::by(&caller, Action::Denied).subjects([unit_subject(id)]))
                    .await?;
            }
            Err(AppError::not_found())
        }
    }
}

/// Changes a unit's floor area or use, keeping a version.
#[utoipa::path(patch, path = "/api/v1/units/{id}", tag = "registry", params(("id" = i64, Path)), request_body = records::UnitPatch,
    security(("bearer" = [])),
    responses((status = 200, body = Changed), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn patch_unit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(p): ApiJson<records::UnitPatch>,
) -> AppResult<Json<Changed>> {
    let changed = change_as(&state, &caller, move |c, scope, _keys, who| {
        records::update_unit(c, scope, id, &p, who)
    })
    .await?;
    if !changed.is_empty() {
        log_change(
            &state,
            &caller,
            vec![unit_subject(id)],
            format!("api: {}", changed.join(", ")),
        )
        .await?;
    }
    Ok(Json(Changed { changed }))
}

/// Registers an owner's share of a unit; the shares of a unit add up to at most 100%.
#[utoipa::path(post, path = "/api/v1/units/{id}/owners", tag = "registry", params(("id" = i64, Path)), request_body = records::NewOwner,
    security(("bearer" = [])),
    responses((status = 200, body = Created), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_owner(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(o): ApiJson<records::NewOwner>,
) -> AppResult<Json<Created>> {
    let oid = change_as(&state, &caller, move |c, scope, keys, who| {
        records::add_owner(c, keys, scope, id, &o, who)
    })
    .await?;
    log_change(
        &state,
        &caller,
        vec![unit_subject(id)],
        "api: owner added".into(),
    )
    .await?;
    Ok(Json(Created { id: oid }))
}

/// Removes an owner's share (sold, inherited): the version keeps who held it.
#[utoipa::path(delete, path = "/api/v1/units/{id}/owners/{owner}", tag = "registry",
    params(("id" = i64, Path), ("owner" = i64, Path, description = "the ownership's id")), security(("bearer" = [])),
    responses((status = 200, body = Changed), (status = 404, body = ErrorBody)))]
async fn remove_owner(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, owner)): Path<(i64, i64)>,
) -> AppResult<Json<Changed>> {
    change_as(&state, &caller, move |c, scope, _keys, who| {
        records::remove_owner(c, scope, id, owner, who)
    })
    .await?;
    log_change(
        &state,
        &caller,
        vec![unit_subject(id)],
        "api: owner removed".into(),
    )
    .await?;
    Ok(Json(Changed {
        changed: vec!["owner".into()],
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct NewHousehold {
    pub unit_id: i64,
    /// Whether its hukou is registered here (default true).
    #[serde(default)]
    pub registered: Option<bool>,
}

/// Opens a new household in a unit; move members into it with `POST /api/v1/persons/{id}/move`.
#[utoipa::path(post, path = "/api/v1/households", tag = "registry", request_body = NewHousehold, security(("bearer" = [])),
    responses((status = 200, body = Created), (status = 404, body = ErrorBody)))]
async fn create_household(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(h): ApiJson<NewHousehold>,
) -> AppResult<Json<Created>> {
    let id = change_as(&state, &caller, move |c, scope, _keys, who| {
        records::create_household(c, scope, h.unit_id, h.registered.unwrap_or(true), who)
    })
    .await?;
    log_change(
        &state,
        &caller,
        vec![audit::household(id)],
        "api: household created".into(),
    )
    .await?;
    Ok(Json(Created { id }))
}

/// Changes a household's head or hukou registration, keeping a version.
#[utoipa::path(patch, path = "/api/v1/households/{id}", tag = "registry", params(("id" = i64, Path)), request_body = records::HouseholdPatch,
    security(("bearer" = [])),
    responses((status = 200, body = Changed), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_household(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(p): ApiJson<records::HouseholdPatch>,
) -> AppResult<Json<Changed>> {
    let changed = change_as(&state, &caller, move |c, scope, _keys, who| {
        records::update_household(c, scope, id, &p, who)
    })
    .await?;
    if !changed.is_empty() {
        log_change(
            &state,
            &caller,
            vec![audit::household(id)],
            format!("api: {}", changed.join(", ")),
        )
        .await?;
    }
    Ok(Json(Changed { changed }))
}

#[derive(Deserialize, ToSchema)]
pub struct MoveRequest {
    pub household_id: i64,
    /// The relation to the new household's head (head, spouse, child, parent, …).
    pub relation: String,
}

/// Moves a person into another household (and its unit).
#[utoipa::path(post, path = "/api/v1/persons/{id}/move", tag = "registry", params(("id" = i64, Path)), request_body = MoveRequest,
    security(("bearer" = [])),
    responses((status = 200, body = Changed), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn move_person(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(m): ApiJson<MoveRequest>,
) -> AppResult<Json<Changed>> {
    let hh = m.household_id;
    change_as(&state, &caller, move |c, scope, _keys, who| {
        records::move_person(c, scope, id, m.household_id, &m.relation, who)
    })
    .await?;
    log_change(
        &state,
        &caller,
        vec![audit::person(id), audit::household(hh)],
        "api: moved".into(),
    )
    .await?;
    Ok(Json(Changed {
        changed: vec!["household_id".into(), "relation".into()],
    }))
}

/// Gives a person a tag with its validity period and source.
#[utoipa::path(post, path = "/api/v1/persons/{id}/tags", tag = "registry", params(("id" = i64, Path)), request_body = records::NewPersonTag,
    security(("bearer" = [])),
    responses((status = 200, body = Changed), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_tag(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(t): ApiJson<records::NewPersonTag>,
) -> AppResult<Json<Changed>> {
    change_as(&state, &caller, move |c, scope, _keys, who| {
        records::add_person_tag(c, scope, id, &t, who)
    })
    .await?;
    log_change(&state, &caller, vec![audit::person(id)], "api: tags".into()).await?;
    Ok(Json(Changed {
        changed: vec!["tags".into()],
    }))
}

/// Ends a person's tag today; the period stays in the record's history.
#[utoipa::path(delete, path = "/api/v1/persons/{id}/tags/{tag}", tag = "registry", params(("id" = i64, Path), ("tag" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Changed), (status = 404, body = ErrorBody)))]
async fn end_tag(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, tag)): Path<(i64, String)>,
) -> AppResult<Json<Changed>> {
    change_as(&state, &caller, move |c, scope, _keys, who| {
        records::end_person_tag(c, scope, id, &tag, who)
    })
    .await?;
    log_change(&state, &caller, vec![audit::person(id)], "api: tags".into()).await?;
    Ok(Json(Changed {
        changed: vec!["tags".into()],
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct RentalQuery {
    /// active, ended or cancelled.
    pub state: Option<String>,
    /// Only active registrations ending within this many days (renewals due).
    pub expiring_days: Option<i64>,
    /// The page starts after this key (from the `Link` header's `rel="next"`).
    pub after: Option<String>,
}

/// Rentals per page of the API and the page.
pub const RENTALS_PAGE: i64 = 50;

/// Rental registrations (出租房备案) within the caller's scope.
#[utoipa::path(get, path = "/api/v1/rentals", tag = "registry", params(RentalQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<records::Rental>, headers(("Link" = String, description = "`<…&after=KEY>; rel=\"next\"` when more follow (50 per page)")))))]
async fn list_rentals(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<RentalQuery>,
    uri: axum::http::Uri,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    writer(&caller)?;
    if let Some(s) = &q.state
        && !matches!(s.as_str(), "active" | "ended" | "cancelled")
    {
        return Err(AppError::invalid("error.rental_state"));
    }
    if q.after
        .as_deref()
        .is_some_and(|a| records::rental_key(a).is_none())
    {
        return Err(AppError::bad_request("error.bad_param"));
    }
    let scope = caller.scope.clone();
    let (st, days, after) = (q.state.clone(), q.expiring_days, q.after.clone());
    let (list, next) = state
        .db
        .read(move |c| {
            records::rentals(
                c,
                &scope,
                st.as_deref(),
                days,
                RENTALS_PAGE,
                after.as_deref(),
            )
        })
        .await?;
    log_list(&state, &caller, rental_people(&list)).await?;
    let mut res = Json(list).into_response();
    crate::http::link_next(&mut res, &uri, next.as_deref());
    Ok(res)
}

pub fn rental_people(list: &[records::Rental]) -> Vec<i64> {
    let mut v: Vec<i64> = list
        .iter()
        .flat_map(|r| std::iter::once(r.landlord.id).chain(r.tenants.iter().map(|t| t.id)))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// One rental registration.
#[utoipa::path(get, path = "/api/v1/rentals/{id}", tag = "registry", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = records::Rental), (status = 404, body = ErrorBody)))]
async fn get_rental(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<records::Rental>> {
    writer(&caller)?;
    let scope = caller.scope.clone();
    let r = state
        .db
        .read(move |c| records::rental(c, &scope, id))
        .await?
        .ok_or_else(AppError::not_found)?;
    let subjects = rental_people(std::slice::from_ref(&r))
        .into_iter()
        .map(audit::person)
        .collect::<Vec<_>>();
    state
        .audit
        .record(NewEntry::by(&caller, Action::Read).subjects(subjects))
        .await?;
    Ok(Json(r))
}

/// Registers a rental: the landlord (an owner of the unit when its owners are known), the
/// tenants, the period. The unit's use becomes "rented".
#[utoipa::path(post, path = "/api/v1/rentals", tag = "registry", request_body = records::NewRental, security(("bearer" = [])),
    responses((status = 200, body = Created), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_rental(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<records::NewRental>,
) -> AppResult<Json<Created>> {
    let unit = r.unit_id;
    let id = change_as(&state, &caller, move |c, scope, keys, who| {
        records::create_rental(c, keys, scope, &r, who)
    })
    .await?;
    log_change(
        &state,
        &caller,
        vec![format!("rental:{id}"), unit_subject(unit)],
        "api: rental registered".into(),
    )
    .await?;
    Ok(Json(Created { id }))
}

#[derive(Deserialize, ToSchema)]
pub struct CloseRental {
    /// ended (the tenants moved out) or cancelled (registered in error).
    pub state: String,
}

/// Ends or cancels an active rental registration.
#[utoipa::path(post, path = "/api/v1/rentals/{id}/close", tag = "registry", params(("id" = i64, Path)), request_body = CloseRental,
    security(("bearer" = [])),
    responses((status = 200, body = Changed), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn close_rental(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<CloseRental>,
) -> AppResult<Json<Changed>> {
    change_as(&state, &caller, move |c, scope, _keys, who| {
        records::close_rental(c, scope, id, &b.state, who)
    })
    .await?;
    log_change(
        &state,
        &caller,
        vec![format!("rental:{id}")],
        "api: rental closed".into(),
    )
    .await?;
    Ok(Json(Changed {
        changed: vec!["state".into()],
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct VehicleQuery {
    /// Any part of the plate.
    pub plate: Option<String>,
    /// The page starts after this key (from the `Link` header's `rel="next"`).
    pub after: Option<String>,
}

/// Vehicles per page of the API and the page.
pub const VEHICLES_PAGE: i64 = 100;

/// Vehicles of residents within the caller's scope, by plate, 100 a page.
#[utoipa::path(get, path = "/api/v1/vehicles", tag = "registry", params(VehicleQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<records::Vehicle>, headers(("Link" = String, description = "`<…&after=KEY>; rel=\"next\"` when more follow (100 per page)")))))]
async fn list_vehicles(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<VehicleQuery>,
    uri: axum::http::Uri,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    writer(&caller)?;
    if q.after
        .as_deref()
        .is_some_and(|a| records::vehicle_key(a).is_none())
    {
        return Err(AppError::bad_request("error.bad_param"));
    }
    let scope = caller.scope.clone();
    let (plate, after) = (q.plate.clone(), q.after.clone());
    let (list, next) = state
        .db
        .read(move |c| {
            records::vehicles(c, &scope, plate.as_deref(), VEHICLES_PAGE, after.as_deref())
        })
        .await?;
    let mut people: Vec<i64> = list.iter().map(|v| v.owner.id).collect();
    people.sort_unstable();
    people.dedup();
    log_list(&state, &caller, people).await?;
    let mut res = Json(list).into_response();
    crate::http::link_next(&mut res, &uri, next.as_deref());
    Ok(res)
}

/// Registers a vehicle (the plate is checked, new-energy plates included) to a resident.
#[utoipa::path(post, path = "/api/v1/vehicles", tag = "registry", request_body = records::NewVehicle, security(("bearer" = [])),
    responses((status = 200, body = Created), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_vehicle(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(v): ApiJson<records::NewVehicle>,
) -> AppResult<Json<Created>> {
    let id = change_as(&state, &caller, move |c, scope, keys, who| {
        records::create_vehicle(c, keys, scope, &v, who)
    })
    .await?;
    log_change(
        &state,
        &caller,
        vec![format!("vehicle:{id}")],
        "api: vehicle registered".into(),
    )
    .await?;
    Ok(Json(Created { id }))
}

/// Changes where a vehicle parks.
#[utoipa::path(patch, path = "/api/v1/vehicles/{id}", tag = "registry", params(("id" = i64, Path)), request_body = records::VehiclePatch,
    security(("bearer" = [])),
    responses((status = 200, body = Changed), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn patch_vehicle(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(p): ApiJson<records::VehiclePatch>,
) -> AppResult<Json<Changed>> {
    let changed = change_as(&state, &caller, move |c, scope, _keys, who| {
        records::update_vehicle(c, scope, id, &p, who)
    })
    .await?;
    if !changed.is_empty() {
        log_change(
            &state,
            &caller,
            vec![format!("vehicle:{id}")],
            "api: vehicle changed".into(),
        )
        .await?;
    }
    Ok(Json(Changed { changed }))
}

/// Removes a vehicle (sold, moved away); the version keeps its plate.
#[utoipa::path(delete, path = "/api/v1/vehicles/{id}", tag = "registry", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Changed), (status = 404, body = ErrorBody)))]
async fn delete_vehicle(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Changed>> {
    change_as(&state, &caller, move |c, scope, _keys, who| {
        records::delete_vehicle(c, scope, id, who)
    })
    .await?;
    log_change(
        &state,
        &caller,
        vec![format!("vehicle:{id}")],
        "api: vehicle removed".into(),
    )
    .await?;
    Ok(Json(Changed {
        changed: vec!["vehicle".into()],
    }))
}

/// The tags of the caller's street: the built-in ones and those its administrators defined,
/// with how many people hold each.
#[utoipa::path(get, path = "/api/v1/tags", tag = "registry", security(("bearer" = [])),
    responses((status = 200, body = Vec<records::TagDef>)))]
async fn list_tags(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<records::TagDef>>> {
    writer(&caller)?;
    let street = caller.street_id;
    Ok(Json(
        state.db.read(move |c| records::tag_defs(c, street)).await?,
    ))
}

pub use crate::org::access::street_admin;

/// Defines a tag for the street (street administrators).
#[utoipa::path(post, path = "/api/v1/tags", tag = "registry", request_body = records::NewTag, security(("bearer" = [])),
    responses((status = 200, body = Changed), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_tag(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(t): ApiJson<records::NewTag>,
) -> AppResult<Json<Changed>> {
    let street = street_admin(&caller)?;
    let uid = caller.user_id;
    change(&state, move |c| {
        records::create_tag(
            c,
            street,
            &t,
            Actor {
                user_id: uid,
                source: "api",
            },
        )
    })
    .await?;
    Ok(Json(Changed {
        changed: vec!["tags".into()],
    }))
}

/// Removes a tag the street defined, when nobody holds it.
#[utoipa::path(delete, path = "/api/v1/tags/{code}", tag = "registry", params(("code" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Changed), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_tag(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(code): Path<String>,
) -> AppResult<Json<Changed>> {
    let street = street_admin(&caller)?;
    let uid = caller.user_id;
    change(&state, move |c| {
        records::delete_tag(
            c,
            street,
            &code,
            Actor {
                user_id: uid,
                source: "api",
            },
        )
    })
    .await?;
    Ok(Json(Changed {
        changed: vec!["tags".into()],
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct PopulationQuery {
    /// The place's id; the caller's own place when left out.
    pub place: Option<i64>,
}

/// Population figures under a place the caller may browse: by sex, age band, presence,
/// residence, hukou, tag, and per community or grid.
#[utoipa::path(get, path = "/api/v1/stats/population", tag = "registry", params(PopulationQuery), security(("bearer" = [])),
    responses((status = 200, body = crate::registry::stats::Population), (status = 404, body = ErrorBody)))]
async fn population(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<PopulationQuery>,
) -> AppResult<Json<crate::registry::stats::Population>> {
    Ok(Json(population_for(&state, &caller, q.place).await?))
}

/// The figures for a place within the caller's browsing scope (their first place by default).
pub async fn population_for(
    state: &AppState,
    caller: &Caller,
    place: Option<i64>,
) -> AppResult<crate::registry::stats::Population> {
    if !caller.can_browse() {
        return Err(AppError::forbidden());
    }
    let scope = caller.scope.places.clone();
    let today = crate::kernel::time::today();
    state
        .db
        .read(move |c| {
            let id = match place {
                Some(id) => id,
                None => match scope.first() {
                    Some(path) => match crate::org::places::by_path(c, path)? {
                        Some(p) => p.id,
                        None => return Ok(None),
                    },
                    None => return Ok(None),
                },
            };
            let Some(p) = crate::org::places::get(c, &scope, id)? else {
                return Ok(None);
            };
            if matches!(p.kind.as_str(), "unit") {
                return Ok(None);
            }
            crate::registry::stats::population(c, id, today)
        })
        .await?
        .ok_or_else(AppError::not_found)
}
