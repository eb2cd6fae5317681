//! The JSON API of persons and households: search, read, create, change, and imports.

/// Persons' and households' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    get_household,
    search_persons,
    get_person,
    create_person,
    patch_person,
    import_persons,
    import_template,
    import_refused
))]
pub struct PeopleApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v1/households/{id}",
            get(get_household).patch(super::records::patch_household),
        )
        .route("/api/v1/persons", get(search_persons).post(create_person))
        .route("/api/v1/persons/{id}", get(get_person).patch(patch_person))
        .route(
            "/api/v1/imports/persons",
            axum::routing::post(import_persons)
                .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024)),
        )
        .route("/api/v1/imports/template.csv", get(import_template))
        .route(
            "/api/v1/imports/persons/refused",
            axum::routing::post(import_refused)
                .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024)),
        )
}

use crate::http::ErrorBody;
use crate::http::{ApiJson, MaybeSigned, Signed, csv_response, file_response};
use crate::http::{Changed, Created};
use crate::http::{Path, Query};
use crate::kernel::Code;
use crate::kernel::error::{AppError, AppResult};
use crate::registry::households::Household;
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// One household with its members (ID numbers and phones masked).
#[utoipa::path(get, path = "/api/v1/households/{id}", tag = "registry", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Household), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_household(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Household>> {
    Ok(Json(
        crate::registry::access::household(&state, &caller, id).await?,
    ))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct PersonsQuery {
    /// A name (any part), an ID number or a phone number (both exact).
    pub q: Option<String>,
    /// Any part of the address (e.g. a road, a building number).
    pub address: Option<String>,
    /// Only people with this tag (elderly_alone, disabled, party_member, volunteer, renter, key_care, …).
    pub tag: Option<String>,
    /// A blank value (the search form's empty field) means no bound.
    #[serde(default, deserialize_with = "crate::http::blank_as_none")]
    pub age_min: Option<i64>,
    #[serde(default, deserialize_with = "crate::http::blank_as_none")]
    pub age_max: Option<i64>,
    /// both, registered_elsewhere_lives_here, registered_here_lives_elsewhere.
    pub presence: Option<String>,
    /// Only under this place path.
    pub under: Option<String>,
    /// 1–200 (default 50).
    #[serde(default, deserialize_with = "crate::http::blank_as_none")]
    pub limit: Option<i64>,
    #[serde(default, deserialize_with = "crate::http::blank_as_none")]
    pub offset: Option<i64>,
    /// The `next` key of the page before: the page starts after it (preferred to `offset`,
    /// whose cost grows with the offset).
    pub after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PersonList {
    pub items: Vec<crate::registry::persons::PersonBrief>,
    pub limit: i64,
    pub offset: i64,
    pub next_offset: Option<i64>,
    /// The key of the next page (`after=`), when more follow.
    pub next: Option<String>,
}

pub fn person_search(q: PersonsQuery) -> AppResult<crate::registry::persons::Search> {
    let limit = q.limit.unwrap_or(50);
    let offset = q.offset.unwrap_or(0);
    if !(1..=200).contains(&limit)
        || offset < 0
        || q.after
            .as_deref()
            .is_some_and(|a| !a.is_empty() && crate::registry::persons::Key::parse(a).is_none())
        || q.age_min.is_some_and(|a| !(0..=150).contains(&a))
        || q.age_max.is_some_and(|a| !(0..=150).contains(&a))
    {
        return Err(AppError::bad_request("error.bad_param"));
    }
    Ok(crate::registry::persons::Search {
        q: q.q,
        address: q.address.filter(|t| !t.is_empty()),
        tag: q.tag.filter(|t| !t.is_empty()),
        age_min: q.age_min,
        age_max: q.age_max,
        presence: q.presence.filter(|t| !t.is_empty()),
        under: q.under.filter(|t| !t.is_empty()),
        limit,
        offset,
        after: q.after.filter(|t| !t.is_empty()),
    })
}

/// Searches residents within the caller's scope (masked; the people shown are audited).
#[utoipa::path(get, path = "/api/v1/persons", tag = "registry", params(PersonsQuery), security(("bearer" = [])),
    responses((status = 200, body = PersonList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn search_persons(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<PersonsQuery>,
) -> AppResult<Json<PersonList>> {
    let s = person_search(q)?;
    let (limit, offset) = (s.limit, s.offset);
    let keyset = s.after.is_some();
    let (items, next) = crate::registry::access::search_persons(&state, &caller, s).await?;
    Ok(Json(PersonList {
        items,
        limit,
        offset,
        next_offset: (next.is_some() && !keyset).then_some(offset + limit),
        next,
    }))
}

/// One person's record (masked; audited).
#[utoipa::path(get, path = "/api/v1/persons/{id}", tag = "registry", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = crate::registry::persons::Person), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_person(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<crate::registry::persons::Person>> {
    Ok(Json(
        crate::registry::access::person(&state, &caller, id).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The place path the rows must lie under.
    pub scope: String,
    /// Report only; change nothing (default true: apply with dry_run=false).
    pub dry_run: Option<bool>,
}

/// Imports persons from a CSV (text/csv) or XLSX body: a dry run by default, all-or-nothing
/// when applied, each refused row with its Excel row number and reason.
#[utoipa::path(post, path = "/api/v1/imports/persons", tag = "registry", params(ImportQuery), security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "text/csv"),
    responses((status = 200, body = crate::registry::import::Report), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub(crate) async fn import_persons(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<ImportQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Json<crate::registry::import::Report>> {
    use crate::registry::import;
    let (q, sheet) = read_upload(&caller, q, &headers, &body)?;
    let keys = state.keys.clone();
    let dry = q.dry_run.unwrap_or(true);
    let scope = q.scope.trim().to_string();
    let c2 = caller.clone();
    let report = state
        .db
        .write_tx(move |c| -> AppResult<_> {
            let who = import::Importer {
                actor: Some(&c2),
                source: "import",
            };
            Ok(import::import(
                c,
                &keys,
                &scope,
                &sheet,
                dry,
                &who,
                &mut |_, _| {},
            )?)
        })
        .await?
        .map_err(|e| {
            AppError::with_message(StatusCode::BAD_REQUEST, Code::NoHeader, e.to_string())
        })?;
    Ok(Json(report))
}

/// The import template: the Chinese headers linli reads and an example row.
#[utoipa::path(get, path = "/api/v1/imports/template.csv", tag = "registry",
    responses((status = 200, description = "CSV", content_type = "text/csv")))]
pub(crate) async fn import_template(
    State(state): State<Arc<AppState>>,
    MaybeSigned(caller): MaybeSigned,
) -> AppResult<Response> {
    // The example row names a unit of the reader's, so that the template imports as it is.
    let scope = caller.map(|c| c.scope.registry.clone()).unwrap_or_default();
    let unit = if scope.is_empty() {
        None
    } else {
        state
            .db
            .read(move |c| crate::registry::import::example_unit(c, &scope))
            .await?
    };
    Ok(csv_response(
        "linli-persons-template.csv",
        crate::registry::import::template_csv(unit.as_deref()).into_bytes(),
    ))
}

/// Registers a person (checked as an import row is: ID check character, birth date and sex,
/// unit in scope, phone, tags).
#[utoipa::path(post, path = "/api/v1/persons", tag = "registry", request_body = crate::registry::access::NewPerson, security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_person(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(p): ApiJson<crate::registry::access::NewPerson>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = crate::registry::access::create_person(&state, &caller, p).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Changes a person's record, keeping a version of it.
#[utoipa::path(patch, path = "/api/v1/persons/{id}", tag = "registry", params(("id" = i64, Path)), request_body = crate::registry::persons::Patch,
    security(("bearer" = [])),
    responses((status = 200, body = Changed), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn patch_person(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(p): ApiJson<crate::registry::persons::Patch>,
) -> AppResult<Json<Changed>> {
    let changed = crate::registry::access::update_person(&state, &caller, id, p, "api").await?;
    Ok(Json(Changed { changed }))
}

/// The rows an import would refuse, as they were plus a reason column, as XLSX: fix them in
/// Excel and import the file again. Changes nothing.
#[utoipa::path(post, path = "/api/v1/imports/persons/refused", tag = "registry", params(ImportQuery), security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "text/csv"),
    responses((status = 200, description = "XLSX", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (status = 400, body = ErrorBody)))]
pub(crate) async fn import_refused(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<ImportQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    use crate::registry::import;
    let (q, sheet) = read_upload(&caller, q, &headers, &body)?;
    let keys = state.keys.clone();
    let scope = q.scope.trim().to_string();
    let c2 = caller.clone();
    // A check, but it shows which people already exist: the match is audited, hence a write.
    let (sheet, report) = state
        .db
        .write(move |c| {
            let who = import::Importer {
                actor: Some(&c2),
                source: "import",
            };
            let r = import::import(c, &keys, &scope, &sheet, true, &who, &mut |_, _| {})?;
            Ok((sheet, r))
        })
        .await?;
    let report = report.map_err(|e| {
        AppError::with_message(StatusCode::BAD_REQUEST, Code::NoHeader, e.to_string())
    })?;
    let bytes = crate::registry::export::xlsx(&import::refused_table(&sheet, &report), "refused")
        .map_err(|e| AppError::internal("writing the refused rows", e))?;
    Ok(file_response("linli-refused-rows.xlsx", bytes))
}

/// The checks both import endpoints make, and the uploaded sheet (XLSX by its content type
/// or its ZIP signature, CSV otherwise).
pub(crate) fn read_upload(
    caller: &crate::org::Caller,
    q: ImportQuery,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> AppResult<(ImportQuery, crate::registry::import::Sheet)> {
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    if !crate::org::Scope::covers(&caller.scope.registry, q.scope.trim()) {
        return Err(AppError::invalid("error.place_not_found"));
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let xlsx = ct.contains("spreadsheetml") || body.starts_with(b"PK");
    let sheet = crate::registry::import::read(body, xlsx).map_err(|e| {
        AppError::with_message(StatusCode::BAD_REQUEST, Code::Unreadable, e.to_string())
    })?;
    Ok((q, sheet))
}
