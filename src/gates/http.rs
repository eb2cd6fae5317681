//! Gates' JSON API: passages in (a gate's device token), estates and their gates, the access
//! log, passes (a resident's invitation, the guard's check, a walk-in), parking spaces and
//! assignments, occupancy, the self-governed rules.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{PassCheck, Passage};
use super::service::{self, Added, EstateView, Invite, Issued, NewRule, NewSpace, Occupancy};
use super::store::{Estate, LogLine, Pass, Rule};
use crate::http::{ApiJson, ApiJsonList, ErrorBody, Path, Query, Signed};
use crate::kernel::Code;
use crate::kernel::error::{AppError, AppResult};
use crate::state::AppState;

/// The gates area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    passages,
    estates,
    create_estate,
    estate,
    retention,
    add_gate,
    access_log,
    walkin,
    add_spaces,
    assign,
    occupancy,
    rules,
    add_rule,
    my_passes,
    invite,
    check,
    public_key
))]
pub struct GatesApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/gates/passages", post(passages))
        .route("/api/v1/gates/estates", get(estates).post(create_estate))
        .route("/api/v1/gates/estates/{id}", get(estate))
        .route("/api/v1/gates/estates/{id}/retention", post(retention))
        .route("/api/v1/gates/estates/{id}/gates", post(add_gate))
        .route("/api/v1/gates/estates/{id}/log", get(access_log))
        .route("/api/v1/gates/estates/{id}/walkins", post(walkin))
        .route("/api/v1/gates/estates/{id}/spaces", post(add_spaces))
        .route("/api/v1/gates/estates/{id}/occupancy", get(occupancy))
        .route(
            "/api/v1/gates/estates/{id}/rules",
            get(rules).post(add_rule),
        )
        .route("/api/v1/gates/spaces/{id}/assignment", post(assign))
        .route("/api/v1/gates/passes", get(my_passes).post(invite))
        .route("/api/v1/gates/check", post(check))
        .route("/api/v1/gates/key", get(public_key))
}

#[derive(Serialize, ToSchema)]
pub struct PassagesAccepted {
    /// Passages stored (committed before this answer).
    pub accepted: usize,
}

/// Passages from a gate or barrier, acknowledged only after they are committed: one passage
/// `{"ts": ms, "direction": "in"|"out", "by": "card"|"qr"|"plate"|"resident", "id": "…"}` or an
/// array of them (at most 5,000). Never an image. Authenticated by the gate device's
/// provisioning token, as sensing's telemetry is; a device that is not a gate gets 403.
#[utoipa::path(post, path = "/api/v1/gates/passages", tag = "gates", security(("bearer" = [])),
    request_body(content = Object, description = "A passage, or an array of passages"),
    responses((status = 200, body = PassagesAccepted), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn passages(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Json<PassagesAccepted>> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            Code::NoToken,
            "sensing.ingest.no_token",
        ));
    };
    let Some(dev) = crate::sensing::of(&state)
        .device_by_token(&state.db, token)
        .await?
    else {
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            Code::BadToken,
            "sensing.ingest.bad_token",
        ));
    };
    if !dev.active {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            Code::InactiveDevice,
            "error.device_inactive",
        ));
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<Passage>),
        One(Passage),
    }
    let list = match serde_json::from_slice::<OneOrMany>(&body) {
        Ok(OneOrMany::Many(v)) => v,
        Ok(OneOrMany::One(p)) => vec![p],
        Err(_) => return Err(AppError::invalid("gates.err_body")),
    };
    let accepted = service::ingest(&state, dev.id, list).await?;
    Ok(Json(PassagesAccepted { accepted }))
}

/// The estates the caller keeps (workers of their communities, the property company).
#[utoipa::path(get, path = "/api/v1/gates/estates", tag = "gates", security(("bearer" = [])),
    responses((status = 200, body = [EstateView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn estates(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<EstateView>>> {
    Ok(Json(service::estates(&state, &caller).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = GateEstateRequest)]
pub struct EstateRequest {
    pub community_id: i64,
    /// The estate's name as its buildings carry it.
    pub name: String,
    /// Days passages are kept (1–365, 30 when left out).
    #[serde(default)]
    pub retention_days: Option<i64>,
}

/// Registers an estate of a community the caller keeps.
#[utoipa::path(post, path = "/api/v1/gates/estates", tag = "gates", request_body = EstateRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Estate), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_estate(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<EstateRequest>,
) -> AppResult<(StatusCode, Json<Estate>)> {
    let e =
        service::create_estate(&state, &caller, r.community_id, &r.name, r.retention_days).await?;
    Ok((StatusCode::CREATED, Json(e)))
}

/// An estate with its gates, spaces and vehicles inside.
#[utoipa::path(get, path = "/api/v1/gates/estates/{id}", tag = "gates", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = EstateView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn estate(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<EstateView>> {
    Ok(Json(service::estate(&state, &caller, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = GateRetentionRequest)]
pub struct RetentionRequest {
    /// 1–365.
    pub days: i64,
}

/// Sets how long the estate's passages are kept.
#[utoipa::path(post, path = "/api/v1/gates/estates/{id}/retention", tag = "gates", params(("id" = i64, Path)),
    request_body = RetentionRequest, security(("bearer" = [])),
    responses((status = 200, body = Estate), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn retention(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<RetentionRequest>,
) -> AppResult<Json<Estate>> {
    Ok(Json(
        service::set_retention(&state, &caller, id, r.days).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = GateRequest)]
pub struct GateRequest {
    pub name: String,
    /// `pedestrian` or `barrier`.
    pub kind: String,
}

/// Adds a gate: a device of the `gate` profile; its token is in the answer (shown once here).
#[utoipa::path(post, path = "/api/v1/gates/estates/{id}/gates", tag = "gates", params(("id" = i64, Path)),
    request_body = GateRequest, security(("bearer" = [])),
    responses((status = 201, body = Added), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_gate(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<GateRequest>,
) -> AppResult<(StatusCode, Json<Added>)> {
    Ok((
        StatusCode::CREATED,
        Json(service::add_gate(&state, &caller, id, &r.name, &r.kind).await?),
    ))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
pub struct LogQuery {
    /// At most this many, newest first (1–1000, 200 when left out).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// The estate's access log, newest first: for its keepers only, every reading audited; never
/// for residents.
#[utoipa::path(get, path = "/api/v1/gates/estates/{id}/log", tag = "gates", params(("id" = i64, Path), LogQuery),
    security(("bearer" = [])),
    responses((status = 200, body = [LogLine]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn access_log(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<LogQuery>,
) -> AppResult<Json<Vec<LogLine>>> {
    Ok(Json(
        service::access_log(&state, &caller, id, q.limit.unwrap_or(200)).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = GateWalkinRequest)]
pub struct WalkinRequest {
    /// 快递, 外卖, 维修 … or a name.
    pub visitor: String,
    /// The unit the visitor says she goes to.
    #[serde(default)]
    pub unit: String,
}

/// The guard registers a delivery or service visitor (one entry, used at once).
#[utoipa::path(post, path = "/api/v1/gates/estates/{id}/walkins", tag = "gates", params(("id" = i64, Path)),
    request_body = WalkinRequest, security(("bearer" = [])),
    responses((status = 201, body = Pass), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn walkin(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<WalkinRequest>,
) -> AppResult<(StatusCode, Json<Pass>)> {
    Ok((
        StatusCode::CREATED,
        Json(service::walkin(&state, &caller, id, &r.visitor, &r.unit).await?),
    ))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = ParkingSpaceRequest)]
pub struct SpaceRequest {
    pub code: String,
    /// `owned`, `rented`, `shared` or `visitor`.
    pub kind: String,
    /// Row and column on the plan (0–200).
    pub row: i64,
    pub col: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SpacesAdded {
    pub added: usize,
}

/// Adds parking spaces to the estate's car park (at most 5,000 at once).
#[utoipa::path(post, path = "/api/v1/gates/estates/{id}/spaces", tag = "gates", params(("id" = i64, Path)),
    request_body = [SpaceRequest], security(("bearer" = [])),
    responses((status = 201, body = SpacesAdded), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_spaces(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJsonList<Vec<SpaceRequest>>,
) -> AppResult<(StatusCode, Json<SpacesAdded>)> {
    let spaces = r
        .into_iter()
        .map(|s| NewSpace {
            code: s.code,
            kind: s.kind,
            row: s.row,
            col: s.col,
        })
        .collect();
    let added = service::add_spaces(&state, &caller, id, spaces).await?;
    Ok((StatusCode::CREATED, Json(SpacesAdded { added })))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = ParkingAssignRequest)]
pub struct AssignRequest {
    pub plate: String,
    /// Whom it is assigned to, as the property company writes it (a unit, a name).
    #[serde(default)]
    pub holder: String,
}

#[derive(Serialize, ToSchema)]
pub struct Assigned {
    pub id: i64,
}

/// Assigns a space to a plate; a space already assigned is refused (409) with the reason.
#[utoipa::path(post, path = "/api/v1/gates/spaces/{id}/assignment", tag = "gates", params(("id" = i64, Path)),
    request_body = AssignRequest, security(("bearer" = [])),
    responses((status = 201, body = Assigned), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn assign(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<AssignRequest>,
) -> AppResult<(StatusCode, Json<Assigned>)> {
    let id = service::assign(&state, &caller, id, &r.plate, &r.holder).await?;
    Ok((StatusCode::CREATED, Json(Assigned { id })))
}

/// Spaces taken, vehicles inside, and the last 48 hours by hour.
#[utoipa::path(get, path = "/api/v1/gates/estates/{id}/occupancy", tag = "gates", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Occupancy), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn occupancy(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Occupancy>> {
    Ok(Json(service::occupancy(&state, &caller, id).await?))
}

/// The estate's self-governed rules, each with the vote that made it.
#[utoipa::path(get, path = "/api/v1/gates/estates/{id}/rules", tag = "gates", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = [Rule]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(crate) async fn rules(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<Rule>>> {
    Ok(Json(service::rules(&state, &caller, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = GateRuleRequest)]
pub struct RuleRequest {
    /// `time_shared` (错峰共享), `visitor_limit` or `fee`.
    pub kind: String,
    /// The owners' vote of this estate that approved it (closed, approved).
    #[serde(default)]
    pub vote_id: Option<i64>,
    /// time_shared: from (minutes of the day); visitor_limit: minutes; fee: fen per hour.
    #[serde(default)]
    pub a: i64,
    /// time_shared: until (minutes of the day).
    #[serde(default)]
    pub b: i64,
    #[serde(default)]
    pub note: String,
}

/// A self-governed rule; refused (422) with the reason without an approved owners' vote of
/// the estate.
#[utoipa::path(post, path = "/api/v1/gates/estates/{id}/rules", tag = "gates", params(("id" = i64, Path)),
    request_body = RuleRequest, security(("bearer" = [])),
    responses((status = 201, body = Rule), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_rule(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<RuleRequest>,
) -> AppResult<(StatusCode, Json<Rule>)> {
    let rule = service::add_rule(
        &state,
        &caller,
        id,
        NewRule {
            kind: r.kind,
            vote_id: r.vote_id,
            a: r.a,
            b: r.b,
            note: r.note,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// A resident's own passes (valid, or ended within a day), with their codes.
#[utoipa::path(get, path = "/api/v1/gates/passes", tag = "gates", security(("bearer" = [])),
    responses((status = 200, body = [Issued]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn my_passes(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Issued>>> {
    Ok(Json(service::my_passes(&state, &caller).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = GateInviteRequest)]
pub struct InviteRequest {
    /// The visitor's name, or empty for 访客.
    #[serde(default)]
    pub visitor: String,
    /// Unix milliseconds (now when left out).
    #[serde(default)]
    pub valid_from: Option<i64>,
    /// Unix milliseconds; at most 7 days after `valid_from`.
    pub valid_until: i64,
    /// 1–20.
    pub entries: i64,
}

/// A resident invites a visitor: a signed pass for her estate, to send by message.
#[utoipa::path(post, path = "/api/v1/gates/passes", tag = "gates", request_body = InviteRequest,
    security(("bearer" = [])),
    responses((status = 201, body = Issued), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub(crate) async fn invite(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<InviteRequest>,
) -> AppResult<(StatusCode, Json<Issued>)> {
    let issued = service::invite(
        &state,
        &caller,
        Invite {
            visitor: r.visitor,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            entries: r.entries,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = GateCheckRequest)]
pub struct CheckRequest {
    /// The pass's code, scanned or typed.
    pub code: String,
}

/// The guard checks a pass: valid (one entry taken, the host's unit shown) or not and why —
/// forged or altered, not yet valid, expired, entries used up, another estate's.
#[utoipa::path(post, path = "/api/v1/gates/check", tag = "gates", request_body = CheckRequest,
    security(("bearer" = [])),
    responses((status = 200, body = PassCheck), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn check(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<CheckRequest>,
) -> AppResult<Json<PassCheck>> {
    Ok(Json(service::check(&state, &caller, &r.code).await?))
}

#[derive(Serialize, ToSchema)]
#[schema(as = GatePublicKey)]
pub struct PublicKey {
    /// The Ed25519 public key passes are signed with (raw, base64url).
    pub public_key: String,
}

/// The key the guard's phone checks passes with when the network is down.
#[utoipa::path(get, path = "/api/v1/gates/key", tag = "gates", security(("bearer" = [])),
    responses((status = 200, body = PublicKey), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn public_key(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<PublicKey>> {
    if !service::is_keeper(&caller) {
        return Err(AppError::forbidden());
    }
    Ok(Json(PublicKey {
        public_key: super::model::public_key(service::key(&state)?),
    }))
}
