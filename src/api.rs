//! The JSON API under `/api/v1`. The OpenAPI 3.1 document is generated from these handlers
//! (a test keeps `docs/openapi.json` in step with it).

use std::net::SocketAddr;
use std::sync::Arc;

use crate::web::{Path, Query};
use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::org::places::{self, Place, PlaceSummary};
use crate::org::{Grant, login, users};
use crate::registry::households::Household;
use crate::web::{ApiJson, Signed};

#[derive(OpenApi)]
#[openapi(
    info(title = "linli API", version = "1", description = "linli (邻里): neighbourhood governance and services. Errors are {\"error\":{\"code\",\"message\"}}."),
    paths(create_session, delete_session, me, list_places, get_place, get_household, search_persons, get_person, create_person, patch_person, reveal, my_access_log, my_data,
          list_users, create_user, list_notices, create_correction, list_corrections, close_correction,
          create_export, list_exports, decide_export, download_export, import_persons, import_template, import_refused,
          crate::audit::http::checkpoint, crate::audit::http::sign, crate::audit::http::inclusion,
          crate::audit::http::consistency, crate::audit::http::entry,
          crate::registry::api::get_unit, crate::registry::api::patch_unit, crate::registry::api::add_owner,
          crate::registry::api::remove_owner, crate::registry::api::create_household, crate::registry::api::patch_household,
          crate::registry::api::move_person, crate::registry::api::add_tag, crate::registry::api::end_tag,
          crate::registry::api::list_rentals, crate::registry::api::get_rental, crate::registry::api::create_rental,
          crate::registry::api::close_rental, crate::registry::api::list_vehicles, crate::registry::api::create_vehicle,
          crate::registry::api::patch_vehicle, crate::registry::api::delete_vehicle, crate::registry::api::list_tags,
          crate::registry::api::create_tag, crate::registry::api::delete_tag, crate::registry::api::population,
          crate::cases::http::list_categories, crate::cases::http::save_category, crate::cases::http::set_category_route,
          crate::cases::http::get_calendar, crate::cases::http::put_calendar, crate::cases::http::create_case,
          crate::cases::http::duplicates, crate::cases::http::list_cases, crate::cases::http::get_case,
          crate::cases::http::transition, crate::cases::http::org_figures, crate::cases::http::list_inbox,
          crate::cases::http::read_inbox, crate::cases::http::read_all_inbox, crate::cases::http::set_webhook, crate::cases::http::upload_photo,
          crate::cases::http::get_photo),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth),
    tags((name = "session"), (name = "places"), (name = "registry"), (name = "users"), (name = "audit"), (name = "cases"))
)]
pub struct ApiDoc;

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The generated document, pretty-printed, as served and as committed.
pub fn openapi_json() -> String {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::sensing::http::SensingApi::openapi());
    let mut s = doc
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    s.push('\n');
    s
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code, e.g. `not_found`, `bad_json`.
    pub code: String,
    /// A message for a person, in the request's language.
    pub message: String,
}

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route(
            "/api/v1/session",
            axum::routing::post(create_session).delete(delete_session),
        )
        .route("/api/v1/me", get(me))
        .route("/api/v1/places", get(list_places))
        .route("/api/v1/places/{id}", get(get_place))
        .route(
            "/api/v1/households/{id}",
            get(get_household).patch(crate::registry::api::patch_household),
        )
        .route("/api/v1/persons", get(search_persons).post(create_person))
        .route("/api/v1/persons/{id}", get(get_person).patch(patch_person))
        .route("/api/v1/persons/{id}/reveal", axum::routing::post(reveal))
        .route("/api/v1/me/access-log", get(my_access_log))
        .route("/api/v1/me/data", get(my_data))
        .route("/api/v1/notices", get(list_notices))
        .route(
            "/api/v1/me/corrections",
            axum::routing::post(create_correction),
        )
        .route("/api/v1/corrections", get(list_corrections))
        .route(
            "/api/v1/corrections/{id}",
            axum::routing::post(close_correction),
        )
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
        .route("/api/v1/exports", get(list_exports).post(create_export))
        .route(
            "/api/v1/exports/{id}/decision",
            axum::routing::post(decide_export),
        )
        .route("/api/v1/exports/{id}/download", get(download_export))
        .merge(crate::audit::http::router())
        .merge(crate::registry::api::router())
        .route("/api/v1/users", get(list_users).post(create_user))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}

#[derive(Deserialize, ToSchema)]
pub struct SessionRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionResponse {
    /// Send as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// Signs in a machine client and returns a Bearer token.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = SessionRequest,
    responses((status = 200, body = SessionResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn create_session(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<SessionRequest>,
) -> AppResult<Json<SessionResponse>> {
    if state.login_limiter.check_key(&addr.ip()).is_err() {
        return Err(AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "error.rate_limited",
        ));
    }
    let outcome = login::check(
        &state.db,
        &req.username,
        &req.password,
        state.cfg.login_max_failures,
        state.cfg.login_lockout_minutes,
    )
    .await;
    crate::web::pages::audit_login(&state, &req.username, &outcome).await?;
    let outcome = outcome?;
    let user_id = match outcome {
        login::LoginOutcome::Ok { user_id } => user_id,
        login::LoginOutcome::BadCredentials => {
            return Err(AppError::new(
                StatusCode::UNAUTHORIZED,
                "bad_credentials",
                "login.bad",
            ));
        }
        login::LoginOutcome::Locked { minutes } => {
            let msg = crate::web::i18n::Tr(crate::web::ctx().lang).n("login.locked", minutes);
            return Err(AppError::with_message(
                StatusCode::TOO_MANY_REQUESTS,
                "locked",
                msg,
            ));
        }
        login::LoginOutcome::Inactive => {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "inactive",
                "login.inactive",
            ));
        }
    };
    let policy = state.session_policy();
    let (token, expires_at) = state
        .db
        .write(move |c| crate::org::auth::create_api_token(c, user_id, "api", &policy))
        .await?;
    Ok(Json(SessionResponse { token, expires_at }))
}

/// Revokes the Bearer token the request carries.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn delete_session(
    State(state): State<Arc<AppState>>,
    _signed: Signed,
    headers: HeaderMap,
) -> AppResult<StatusCode> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|s| s.trim().to_string())
        .ok_or_else(AppError::unauthenticated)?;
    state
        .db
        .write(move |c| crate::org::auth::revoke_api_token(c, &token))
        .await?;
    state.callers.clear();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub grants: Vec<Grant>,
}

/// The signed-in user and their roles.
#[utoipa::path(get, path = "/api/v1/me", tag = "session", security(("bearer" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)))]
async fn me(Signed(c): Signed) -> Json<MeResponse> {
    Json(MeResponse {
        id: c.user_id,
        username: c.username,
        display_name: c.display_name,
        grants: c.grants,
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlacesQuery {
    /// Only places of this kind (district, street, community, grid, building, unit).
    pub kind: Option<String>,
    /// Only places under this path.
    pub under: Option<String>,
    /// Page size, 1–1000 (default 200).
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    /// Also return `total`, the number of all matches (costs a scan: ask only when needed).
    pub with_total: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct PlaceList {
    pub items: Vec<Place>,
    pub limit: i64,
    pub offset: i64,
    /// The offset of the next page, absent on the last page.
    pub next_offset: Option<i64>,
    /// Present when `with_total=true` was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

const KINDS: [&str; 6] = [
    "district",
    "street",
    "community",
    "grid",
    "building",
    "unit",
];

/// The part of the hierarchy the caller may see, in path order, one page at a time.
#[utoipa::path(get, path = "/api/v1/places", tag = "places", params(PlacesQuery), security(("bearer" = [])),
    responses((status = 200, body = PlaceList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_places(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<PlacesQuery>,
) -> AppResult<Response> {
    if let Some(k) = &q.kind
        && !KINDS.contains(&k.as_str())
    {
        return Err(AppError::bad_request("error.bad_param"));
    }
    let limit = q.limit.unwrap_or(200);
    let offset = q.offset.unwrap_or(0);
    if !(1..=1000).contains(&limit) || offset < 0 {
        return Err(AppError::bad_request("error.bad_param"));
    }
    let with_total = q.with_total.unwrap_or(false);
    let key = format!(
        "{:?}|{:?}|{:?}|{limit}|{offset}|{with_total}",
        caller.scope.places, q.kind, q.under
    );
    if let Some(body) = state.places_cache.get(&key) {
        return Ok(json_bytes(body));
    }
    let scope = caller.scope.places.clone();
    let lq = places::ListQuery {
        kind: q.kind,
        under: q.under,
        limit,
        offset,
        with_total,
    };
    let page = state.db.read(move |c| places::list(c, &scope, &lq)).await?;
    let list = PlaceList {
        items: page.items,
        limit,
        offset,
        next_offset: page.has_more.then_some(offset + limit),
        total: page.total,
    };
    let body = bytes::Bytes::from(
        serde_json::to_vec(&list).map_err(|e| AppError::internal("serialising places", e))?,
    );
    state.places_cache.put(key, body.clone());
    Ok(json_bytes(body))
}

fn json_bytes(body: bytes::Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[derive(Serialize, ToSchema)]
pub struct PlaceDetail {
    pub place: Place,
    pub households: i64,
    pub residents: i64,
    pub children: Vec<PlaceSummary>,
    /// GeoJSON geometry, when the place has one.
    pub geometry: Option<serde_json::Value>,
}

/// One place with its counts and children.
#[utoipa::path(get, path = "/api/v1/places/{id}", tag = "places", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = PlaceDetail), (status = 404, body = ErrorBody)))]
async fn get_place(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<PlaceDetail>> {
    let scope = caller.scope.places.clone();
    let d = state
        .db
        .read(move |c| {
            let Some(place) = places::get(c, &scope, id)? else {
                return Ok(None);
            };
            let (households, residents) = places::counts_under(c, &place.path)?;
            let children = places::children(c, &place)?;
            let geometry = place
                .geojson
                .as_deref()
                .and_then(|g| serde_json::from_str(g).ok());
            Ok(Some(PlaceDetail {
                place,
                households,
                residents,
                children,
                geometry,
            }))
        })
        .await?;
    d.map(Json).ok_or_else(AppError::not_found)
}

/// One household with its members (ID numbers and phones masked).
#[utoipa::path(get, path = "/api/v1/households/{id}", tag = "registry", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Household), (status = 404, body = ErrorBody)))]
async fn get_household(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Household>> {
    Ok(Json(
        crate::registry::access::household(&state, &caller, id).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct RevealRequest {
    pub field: crate::registry::access::Field,
    /// One of home_visit, service, emergency, verification, other.
    pub purpose: String,
    /// Free text; required with `other`.
    #[serde(default)]
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct Revealed {
    pub value: String,
}

/// Reveals one masked field of one person, for a stated purpose. The reveal is written to the
/// audit log before the value is sent.
#[utoipa::path(post, path = "/api/v1/persons/{id}/reveal", tag = "registry", params(("id" = i64, Path)), request_body = RevealRequest,
    security(("bearer" = [])),
    responses((status = 200, body = Revealed), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reveal(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<RevealRequest>,
) -> AppResult<Json<Revealed>> {
    let value =
        crate::registry::access::reveal(&state, &caller, id, r.field, &r.purpose, &r.note).await?;
    Ok(Json(Revealed { value }))
}

/// Who looked at the signed-in resident's record and household: when, which role and
/// organisation, what, and why.
#[utoipa::path(get, path = "/api/v1/me/access-log", tag = "session", security(("bearer" = [])),
    responses((status = 200, body = Vec<crate::audit::Access>), (status = 401, body = ErrorBody)))]
async fn my_access_log(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<crate::audit::Access>>> {
    Ok(Json(
        crate::registry::access::my_accesses(&state, &caller).await?,
    ))
}

/// A copy of the signed-in resident's own data (PIPL art. 45).
#[utoipa::path(get, path = "/api/v1/me/data", tag = "session", security(("bearer" = [])),
    responses((status = 200, body = crate::registry::access::OwnData), (status = 404, body = ErrorBody)))]
async fn my_data(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<crate::registry::access::OwnData>> {
    Ok(Json(
        crate::registry::access::own_data(&state, &caller).await?,
    ))
}

/// Users the caller manages.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Vec<users::User>), (status = 403, body = ErrorBody)))]
async fn list_users(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<users::User>>> {
    if !caller.can_manage_users() {
        return Err(AppError::forbidden());
    }
    let scope = caller.scope.users.clone();
    Ok(Json(
        state
            .db
            .read(move |c| users::list_managed(c, &scope))
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct NewUserRequest {
    pub username: String,
    pub display_name: String,
    pub password: String,
    /// One of the roles (street_admin, community_worker, grid_worker, dept_handler, …).
    pub role: String,
    /// A place path for place-bound roles, an organisation code for dept_handler and property_manager.
    pub target: String,
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// Creates a user with one role, within the caller's scope.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserRequest, security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_user(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<NewUserRequest>,
) -> AppResult<(StatusCode, Json<Created>)> {
    if !caller.can_manage_users() {
        return Err(AppError::forbidden());
    }
    let id = crate::web::pages::create_user(
        &state,
        &caller,
        &r.username,
        &r.display_name,
        &r.password,
        &r.role,
        &r.target,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Notices raised by the anomaly rules over the audit log (street administrators).
#[utoipa::path(get, path = "/api/v1/notices", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = Vec<crate::audit::anomaly::Notice>), (status = 403, body = ErrorBody)))]
async fn list_notices(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<crate::audit::anomaly::Notice>>> {
    let streets = crate::web::pages::notice_streets(&caller).ok_or_else(AppError::forbidden)?;
    Ok(Json(
        state
            .db
            .read(move |c| crate::audit::anomaly::notices(c, streets.as_deref(), 200))
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct CorrectionRequest {
    /// name, id_number, phone, address, household or other.
    pub field: String,
    pub message: String,
}

/// A resident asks for a correction of their own record (PIPL art. 46).
#[utoipa::path(post, path = "/api/v1/me/corrections", tag = "registry", request_body = CorrectionRequest, security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_correction(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<CorrectionRequest>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id =
        crate::registry::access::request_correction(&state, &caller, &r.field, &r.message).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Correction requests within the caller's registry scope.
#[utoipa::path(get, path = "/api/v1/corrections", tag = "registry", security(("bearer" = [])),
    responses((status = 200, body = Vec<crate::registry::corrections::Correction>)))]
async fn list_corrections(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<crate::registry::corrections::Correction>>> {
    let scope = caller.scope.registry.clone();
    let list = state
        .db
        .read(move |c| crate::registry::corrections::in_scope(c, &scope, false))
        .await?;
    crate::registry::access::listed_people(&state, &caller, list.iter().map(|r| r.person_id))
        .await?;
    Ok(Json(list))
}

#[derive(Deserialize, ToSchema)]
pub struct CloseCorrection {
    /// done or rejected.
    pub state: String,
    #[serde(default)]
    pub reply: String,
}

/// Closes a correction request with a reply the resident sees.
#[utoipa::path(post, path = "/api/v1/corrections/{id}", tag = "registry", params(("id" = i64, Path)), request_body = CloseCorrection, security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn close_correction(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<CloseCorrection>,
) -> AppResult<StatusCode> {
    let done = match r.state.as_str() {
        "done" => true,
        "rejected" => false,
        _ => return Err(AppError::invalid("error.correction_state")),
    };
    crate::registry::access::close_correction(&state, &caller, id, done, &r.reply).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ExportBody {
    /// The place whose residents to export, by path.
    pub place: String,
    /// Full ID numbers and phones; always needs an approval one level up.
    #[serde(default)]
    pub unmasked: bool,
    pub reason: String,
    /// Export only a search's result: the filters of `GET /api/v1/persons` (q, address, tag,
    /// age_min, age_max, presence). Without it, everyone under the place.
    #[serde(default)]
    pub filter: Option<crate::registry::persons::Search>,
}

/// Asks for an export of residents (masked and within the limit: approved at once).
#[utoipa::path(post, path = "/api/v1/exports", tag = "registry", request_body = ExportBody, security(("bearer" = [])),
    responses((status = 201, body = crate::registry::export::ExportRequest), (status = 422, body = ErrorBody)))]
async fn create_export(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(b): ApiJson<ExportBody>,
) -> AppResult<(StatusCode, Json<crate::registry::export::ExportRequest>)> {
    let r = crate::registry::access::request_export(
        &state, &caller, &b.place, b.unmasked, &b.reason, b.filter,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[derive(Serialize, ToSchema)]
pub struct ExportLists {
    pub mine: Vec<crate::registry::export::ExportRequest>,
    /// Requests from below that the caller may approve or reject.
    pub awaiting: Vec<crate::registry::export::ExportRequest>,
}

/// The caller's export requests and those awaiting the caller's decision.
#[utoipa::path(get, path = "/api/v1/exports", tag = "registry", security(("bearer" = [])), responses((status = 200, body = ExportLists)))]
async fn list_exports(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<ExportLists>> {
    let (uid, scope) = (caller.user_id, caller.scope.registry.clone());
    let (mine, awaiting) = state
        .db
        .read(move |c| {
            Ok((
                crate::registry::export::mine(c, uid)?,
                crate::registry::export::awaiting(c, &scope, uid)?,
            ))
        })
        .await?;
    Ok(Json(ExportLists { mine, awaiting }))
}

#[derive(Deserialize, ToSchema)]
pub struct Decision {
    pub approve: bool,
    /// Required when rejecting.
    #[serde(default)]
    pub comment: String,
}

/// Approves or rejects an export request (a user one level up the hierarchy).
#[utoipa::path(post, path = "/api/v1/exports/{id}/decision", tag = "registry", params(("id" = i64, Path)), request_body = Decision, security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn decide_export(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(d): ApiJson<Decision>,
) -> AppResult<StatusCode> {
    crate::registry::access::decide_export(&state, &caller, id, d.approve, &d.comment).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Downloads an approved export as CSV (its requester only, until it expires).
#[utoipa::path(get, path = "/api/v1/exports/{id}/download", tag = "registry", params(("id" = i64, Path), FormatQuery), security(("bearer" = [])),
    responses((status = 200, description = "CSV", content_type = "text/csv"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn download_export(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(f): Query<FormatQuery>,
) -> AppResult<Response> {
    let xlsx = f.format.as_deref() == Some("xlsx");
    let (name, bytes) = crate::registry::access::download_export(&state, &caller, id, xlsx).await?;
    Ok(file_response(&name, bytes))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// csv (default) or xlsx.
    pub format: Option<String>,
}

/// A download: CSV or XLSX by the file name's extension.
pub fn file_response(name: &str, bytes: Vec<u8>) -> Response {
    if name.ends_with(".xlsx") {
        (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            bytes,
        )
            .into_response()
    } else {
        csv_response(name, bytes)
    }
}

pub fn csv_response(name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            // Downloads carry personal data: never kept by a browser or a proxy.
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
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
    #[serde(default, deserialize_with = "crate::web::blank_as_none")]
    pub age_min: Option<i64>,
    #[serde(default, deserialize_with = "crate::web::blank_as_none")]
    pub age_max: Option<i64>,
    /// both, registered_elsewhere_lives_here, registered_here_lives_elsewhere.
    pub presence: Option<String>,
    /// Only under this place path.
    pub under: Option<String>,
    /// 1–200 (default 50).
    #[serde(default, deserialize_with = "crate::web::blank_as_none")]
    pub limit: Option<i64>,
    #[serde(default, deserialize_with = "crate::web::blank_as_none")]
    pub offset: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct PersonList {
    pub items: Vec<crate::registry::persons::PersonBrief>,
    pub limit: i64,
    pub offset: i64,
    pub next_offset: Option<i64>,
}

pub fn person_search(q: PersonsQuery) -> AppResult<crate::registry::persons::Search> {
    let limit = q.limit.unwrap_or(50);
    let offset = q.offset.unwrap_or(0);
    if !(1..=200).contains(&limit)
        || offset < 0
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
    })
}

/// Searches residents within the caller's scope (masked; the people shown are audited).
#[utoipa::path(get, path = "/api/v1/persons", tag = "registry", params(PersonsQuery), security(("bearer" = [])),
    responses((status = 200, body = PersonList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn search_persons(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<PersonsQuery>,
) -> AppResult<Json<PersonList>> {
    let s = person_search(q)?;
    let (limit, offset) = (s.limit, s.offset);
    let (items, more) = crate::registry::access::search_persons(&state, &caller, s).await?;
    Ok(Json(PersonList {
        items,
        limit,
        offset,
        next_offset: more.then_some(offset + limit),
    }))
}

/// One person's record (masked; audited).
#[utoipa::path(get, path = "/api/v1/persons/{id}", tag = "registry", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = crate::registry::persons::Person), (status = 404, body = ErrorBody)))]
async fn get_person(
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
async fn import_persons(
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
        .map_err(|e| AppError::with_message(StatusCode::BAD_REQUEST, "no_header", e.to_string()))?;
    Ok(Json(report))
}

/// The import template: the Chinese headers linli reads and an example row.
#[utoipa::path(get, path = "/api/v1/imports/template.csv", tag = "registry",
    responses((status = 200, description = "CSV", content_type = "text/csv")))]
async fn import_template() -> Response {
    csv_response(
        "linli-persons-template.csv",
        crate::registry::import::template_csv().into_bytes(),
    )
}

/// Registers a person (checked as an import row is: ID check character, birth date and sex,
/// unit in scope, phone, tags).
#[utoipa::path(post, path = "/api/v1/persons", tag = "registry", request_body = crate::registry::access::NewPerson, security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_person(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(p): ApiJson<crate::registry::access::NewPerson>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = crate::registry::access::create_person(&state, &caller, p).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Serialize, ToSchema)]
pub struct Changed {
    /// The fields that changed (none when the values were already so).
    pub changed: Vec<String>,
}

/// Changes a person's record, keeping a version of it.
#[utoipa::path(patch, path = "/api/v1/persons/{id}", tag = "registry", params(("id" = i64, Path)), request_body = crate::registry::persons::Patch,
    security(("bearer" = [])),
    responses((status = 200, body = Changed), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn patch_person(
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
async fn import_refused(
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
    let report = report
        .map_err(|e| AppError::with_message(StatusCode::BAD_REQUEST, "no_header", e.to_string()))?;
    let bytes = crate::registry::export::xlsx(&import::refused_table(&sheet, &report), "refused")
        .map_err(|e| AppError::internal("writing the refused rows", e))?;
    Ok(file_response("linli-refused-rows.xlsx", bytes))
}

/// The checks both import endpoints make, and the uploaded sheet (XLSX by its content type
/// or its ZIP signature, CSV otherwise).
fn read_upload(
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
        AppError::with_message(StatusCode::BAD_REQUEST, "unreadable", e.to_string())
    })?;
    Ok((q, sheet))
}
