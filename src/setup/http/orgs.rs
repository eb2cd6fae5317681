//! The JSON API of a street's organisations: departments, property companies, owners'
//! committees and social organisations, the places they serve, their members and the case
//! categories routed to them (street administrators of the street only).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::{ApiJson, Created, ErrorBody, Path, Signed};
use crate::kernel::{AppResult, ctx};
use crate::org::orgs::OrgRecord;

use crate::setup::orgs::{self as svc, OrgInput};
use crate::state::AppState;

/// An organisation of the street.
#[derive(Serialize, ToSchema)]
pub struct Organisation {
    pub id: i64,
    /// `department` (职能部门), `property` (物业), `owners_committee` (业委会) or `social` (社会组织).
    pub kind: String,
    /// Its code: unique in the street; accounts' grants name it.
    pub code: String,
    pub name: String,
    pub phone: Option<String>,
    /// When it was retired (ms since the epoch); retired organisations take no new cases.
    pub retired_at: Option<i64>,
    /// Accounts holding a grant for it.
    pub members: i64,
}

fn out(o: OrgRecord, members: i64) -> Organisation {
    Organisation {
        id: o.id,
        kind: o.kind,
        code: o.code,
        name: o.name,
        phone: o.phone,
        retired_at: o.retired_at,
        members,
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrganisationList {
    pub items: Vec<Organisation>,
}

/// The street's organisations, the active first.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "organisations", security(("bearer" = [])),
    responses((status = 200, body = OrganisationList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list_orgs(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<OrganisationList>> {
    let items = svc::list(&state, &caller)
        .await?
        .into_iter()
        .map(|(o, n)| out(o, n))
        .collect();
    Ok(Json(OrganisationList { items }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationRequest {
    /// `department`, `property`, `owners_committee` or `social`.
    pub kind: String,
    /// Letters, digits, `-` and `_`; ignored on a change (the code never changes).
    #[serde(default)]
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub phone: String,
    /// Paths of the places it serves; none means the whole street.
    #[serde(default)]
    pub places: Vec<String>,
}

impl From<OrganisationRequest> for OrgInput {
    fn from(r: OrganisationRequest) -> OrgInput {
        OrgInput {
            kind: r.kind,
            code: r.code,
            name: r.name,
            phone: r.phone,
            places: r.places,
        }
    }
}

/// Creates an organisation of the caller's street.
#[utoipa::path(post, path = "/api/v1/organisations", tag = "organisations", request_body = OrganisationRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_org(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<OrganisationRequest>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = svc::create(&state, &caller, r.into()).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// A place an organisation serves.
#[derive(Serialize, ToSchema)]
pub struct ServedPlace {
    pub id: i64,
    pub name: String,
    pub path: String,
    pub kind: String,
}

/// An account holding a grant for the organisation.
#[derive(Serialize, ToSchema)]
pub struct OrgMember {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub active: bool,
}

/// A case category routed to the organisation at a place (and everything under it).
#[derive(Serialize, ToSchema)]
pub struct OrgRoute {
    pub category_id: i64,
    pub category: String,
    pub place_id: i64,
    pub place: String,
}

#[derive(Serialize, ToSchema)]
pub struct OrganisationDetail {
    pub organisation: Organisation,
    pub places: Vec<ServedPlace>,
    pub members: Vec<OrgMember>,
    pub routes: Vec<OrgRoute>,
}

/// One organisation with its places, members and routes.
#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "organisations", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = OrganisationDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_org(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<OrganisationDetail>> {
    let d = svc::detail(&state, &caller, id).await?;
    let en = ctx().lang == crate::kernel::i18n::Lang::En;
    Ok(Json(OrganisationDetail {
        organisation: out(d.org, d.members.len() as i64),
        places: d
            .places
            .into_iter()
            .map(|(id, name, path, kind)| ServedPlace {
                id,
                name,
                path,
                kind,
            })
            .collect(),
        members: d
            .members
            .into_iter()
            .map(|m| OrgMember {
                user_id: m.user_id,
                username: m.username,
                display_name: m.display_name,
                role: m.role,
                active: m.active,
            })
            .collect(),
        routes: d
            .routes
            .into_iter()
            .map(|r| OrgRoute {
                category_id: r.category_id,
                category: if en { r.name_en } else { r.name_zh },
                place_id: r.place_id,
                place: r.place_name,
            })
            .collect(),
    }))
}

/// Changes an organisation's kind, name, phone and places.
#[utoipa::path(patch, path = "/api/v1/organisations/{id}", tag = "organisations", params(("id" = i64, Path)),
    request_body = OrganisationRequest, security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update_org(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<OrganisationRequest>,
) -> AppResult<StatusCode> {
    svc::update(&state, &caller, id, r.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Retires an organisation: refused with the counts while it handles open cases or
/// categories are routed to it.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/retire", tag = "organisations", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn retire_org(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    svc::retire(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgRouteRequest {
    /// The category's code (its Open311 service code).
    pub category: String,
    /// The place's path; empty or left out: the whole street.
    #[serde(default)]
    pub place: String,
}

/// Routes a case category at a place (and everything under it) to the organisation; a route
/// of the same category at the same place to another organisation is replaced.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/routes", tag = "organisations", params(("id" = i64, Path)),
    request_body = OrgRouteRequest, security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_route(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<OrgRouteRequest>,
) -> AppResult<StatusCode> {
    svc::add_route(&state, &caller, id, &r.category, &r.place).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a route to the organisation.
#[utoipa::path(delete, path = "/api/v1/organisations/{id}/routes/{category_id}/{place_id}", tag = "organisations",
    params(("id" = i64, Path), ("category_id" = i64, Path), ("place_id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn remove_route(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, category_id, place_id)): Path<(i64, i64, i64)>,
) -> AppResult<StatusCode> {
    svc::remove_route(&state, &caller, id, category_id, place_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkersImportQuery {
    /// `xlsx` or `csv`.
    pub format: String,
    /// Check only; write nothing.
    pub dry_run: Option<bool>,
}

/// Imports workers from a staff list (XLSX or CSV: name, username, role, place or
/// organisation, phone). All or nothing; every account created gets a one-time activation
/// link, returned this once.
#[utoipa::path(post, path = "/api/v1/users/import", tag = "users", params(WorkersImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"), security(("bearer" = [])),
    responses((status = 200, body = crate::setup::workers::WorkersReport), (status = 201, body = crate::setup::workers::WorkersReport),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = crate::setup::workers::WorkersReport)))]
pub(crate) async fn import_workers(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    crate::http::Query(q): crate::http::Query<WorkersImportQuery>,
    body: axum::body::Bytes,
) -> AppResult<(StatusCode, Json<crate::setup::workers::WorkersReport>)> {
    let xlsx = match q.format.trim().to_ascii_lowercase().as_str() {
        "xlsx" => true,
        "csv" => false,
        _ => return Err(crate::kernel::AppError::bad_request("setup.workers.format")),
    };
    let r = crate::setup::workers::import(
        &state,
        &caller,
        body.to_vec(),
        xlsx,
        q.dry_run.unwrap_or(false),
    )
    .await?;
    let status = if r.refused > 0 || r.problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else if r.created.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(r)))
}
