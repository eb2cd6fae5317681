//! The JSON API of sign-in, the hierarchy of places and user accounts.

/// The organisation area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_session,
    delete_session,
    me,
    list_places,
    get_place,
    list_users,
    create_user,
    issue_reset_link,
    get_second_factor,
    put_second_factor,
    clear_second_factor,
    my_account,
    change_my_password,
    renew_my_second_factor,
    confirm_my_second_factor,
    new_my_recovery_codes
))]
pub struct OrgApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v1/session",
            axum::routing::post(create_session).delete(delete_session),
        )
        .route("/api/v1/me", get(me))
        .route("/api/v1/places", get(list_places))
        .route("/api/v1/places/{id}", get(get_place))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route(
            "/api/v1/users/{id}/reset-link",
            axum::routing::post(issue_reset_link),
        )
        .route(
            "/api/v1/settings/second-factor",
            get(get_second_factor).put(put_second_factor),
        )
        .route(
            "/api/v1/users/{id}/second-factor",
            axum::routing::delete(clear_second_factor),
        )
        .route("/api/v1/me/account", get(my_account))
        .route(
            "/api/v1/me/password",
            axum::routing::post(change_my_password),
        )
        .route(
            "/api/v1/me/second-factor/renew",
            axum::routing::post(renew_my_second_factor),
        )
        .route(
            "/api/v1/me/second-factor/confirm",
            axum::routing::post(confirm_my_second_factor),
        )
        .route(
            "/api/v1/me/second-factor/recovery-codes",
            axum::routing::post(new_my_recovery_codes),
        )
}

use crate::http::ClientAddr;
use crate::http::ErrorBody;
use crate::http::{ApiJson, Signed, json_bytes};
use crate::http::{Path, Query};
use crate::kernel::Code;
use crate::kernel::error::{AppError, AppResult};
use crate::org::places::{self, Place, PlaceSummary};
use crate::org::{Grant, login, users};
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema)]
pub struct SessionRequest {
    pub username: String,
    pub password: String,
    /// The second factor's code (or a recovery code), when the street requires one of the
    /// account; an account not yet enrolled enrols by signing in on the web first.
    #[serde(default)]
    pub totp: Option<String>,
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
pub(crate) async fn create_session(
    State(state): State<Arc<AppState>>,
    ClientAddr(client): ClientAddr,
    ApiJson(req): ApiJson<SessionRequest>,
) -> AppResult<Json<SessionResponse>> {
    let outcome = login::check(
        &state.db,
        &state.login,
        client,
        &req.username,
        &req.password,
    )
    .await;
    crate::org::service::audit_login(&state, &req.username, &outcome).await?;
    let user_id = match outcome? {
        login::LoginOutcome::Ok { user_id } => user_id,
        login::LoginOutcome::RateLimited => {
            return Err(AppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                Code::RateLimited,
                "error.rate_limited",
            ));
        }
        // One answer whatever the reason, so that it tells nothing about the account.
        login::LoginOutcome::Refused(_) => {
            return Err(AppError::new(
                StatusCode::UNAUTHORIZED,
                Code::BadCredentials,
                "login.bad",
            ));
        }
    };
    // A second factor, when the street requires one of this account (read first: an
    // ordinary sign-in does not wait for the writer).
    match state
        .db
        .read(move |c| crate::org::totp::need(c, user_id))
        .await?
    {
        crate::org::totp::Need::None => {}
        crate::org::totp::Need::Enrol => {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                Code::SecondFactor,
                "login.api_enrol",
            ));
        }
        crate::org::totp::Need::Code => {
            let keys = state.keys.clone();
            let code = req.totp.clone().unwrap_or_default();
            let ok = !code.trim().is_empty()
                && state
                    .db
                    .write_tx(move |c| {
                        let now = crate::store::now_ms();
                        crate::org::totp::check(c, &keys, user_id, &code, (now / 1000) as u64, now)
                    })
                    .await?
                    != crate::org::totp::Checked::Bad;
            if !ok {
                return Err(AppError::new(
                    StatusCode::UNAUTHORIZED,
                    Code::SecondFactor,
                    "login.api_second",
                ));
            }
        }
    }
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
pub(crate) async fn delete_session(
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
pub(crate) async fn me(Signed(c): Signed) -> Json<MeResponse> {
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

pub(crate) const KINDS: [&str; 6] = [
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
pub(crate) async fn list_places(
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
pub(crate) async fn get_place(
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

/// Users the caller manages.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Vec<users::User>), (status = 403, body = ErrorBody)))]
pub(crate) async fn list_users(
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
    /// Leave out (the rule): the account gets a one-time activation link and its holder sets
    /// her own password. Given: the account can sign in with it at once (for service accounts).
    #[serde(default)]
    pub password: Option<String>,
    /// One of the roles (street_admin, community_worker, grid_worker, dept_handler, …).
    pub role: String,
    /// A place path for place-bound roles, an organisation code for dept_handler and property_manager.
    pub target: String,
}

/// A one-time link to set a password: shown once, never stored.
#[derive(Serialize, ToSchema)]
pub struct OneTimeLink {
    /// `/activate?token=…`, absolute when `public_url` is configured.
    pub url: String,
    /// When it stops working (ms since the epoch).
    pub expires_at: i64,
}

#[derive(Serialize, ToSchema)]
pub struct UserCreated {
    pub id: i64,
    /// The activation link, when no password was given.
    pub activation: Option<OneTimeLink>,
}

/// Creates a user with one role, within the caller's scope.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserRequest, security(("bearer" = [])),
    responses((status = 201, body = UserCreated), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_user(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<NewUserRequest>,
) -> AppResult<(StatusCode, Json<UserCreated>)> {
    if !caller.can_manage_users() {
        return Err(AppError::forbidden());
    }
    let (id, link) = crate::org::service::create_user(
        &state,
        &caller,
        &r.username,
        &r.display_name,
        r.password.as_deref(),
        &r.role,
        &r.target,
    )
    .await?;
    let public = state.cfg.public_url.as_deref();
    let activation = link.map(|l| OneTimeLink {
        url: l.url(public),
        expires_at: l.expires_at,
    });
    Ok((StatusCode::CREATED, Json(UserCreated { id, activation })))
}

/// Issues a one-time link with which the account's holder sets a new password (an
/// administrator never sets one); earlier unused links stop working.
#[utoipa::path(post, path = "/api/v1/users/{id}/reset-link", tag = "users", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 201, body = OneTimeLink), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn issue_reset_link(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<(StatusCode, Json<OneTimeLink>)> {
    let l = crate::org::service::issue_reset(&state, &caller, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(OneTimeLink {
            url: l.url(state.cfg.public_url.as_deref()),
            expires_at: l.expires_at,
        }),
    ))
}

/// The street's second-factor rule.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SecondFactorSetting {
    /// Whether accounts that can reveal personal data must use a second factor (TOTP).
    pub required: bool,
}

/// Whether the caller's street requires a second factor (street administrators).
#[utoipa::path(get, path = "/api/v1/settings/second-factor", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = SecondFactorSetting), (status = 403, body = ErrorBody)))]
pub(crate) async fn get_second_factor(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<SecondFactorSetting>> {
    let required = crate::org::service::second_factor_required(&state, &caller).await?;
    Ok(Json(SecondFactorSetting { required }))
}

/// Turns the street's second-factor rule on or off (street administrators).
#[utoipa::path(put, path = "/api/v1/settings/second-factor", tag = "users", request_body = SecondFactorSetting,
    security(("bearer" = [])),
    responses((status = 200, body = SecondFactorSetting), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn put_second_factor(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<SecondFactorSetting>,
) -> AppResult<Json<SecondFactorSetting>> {
    crate::org::service::set_second_factor_required(&state, &caller, r.required).await?;
    Ok(Json(r))
}

/// Clears an account's second factor (a lost phone); it enrols again at its next sign-in.
#[utoipa::path(delete, path = "/api/v1/users/{id}/second-factor", tag = "users", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn clear_second_factor(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    crate::org::service::clear_second_factor(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- her own account ---------------------------------------------------------------------------

use crate::org::account::{self, Account, Renewal};

/// Her own account: names, and her second factor's state.
#[utoipa::path(get, path = "/api/v1/me/account", tag = "session", security(("bearer" = [])),
    responses((status = 200, body = Account), (status = 401, body = ErrorBody)))]
pub(crate) async fn my_account(
    State(state): State<Arc<AppState>>,
    Signed(c): Signed,
) -> AppResult<Json<Account>> {
    Ok(Json(account::mine(&state, &c).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

/// Changes her own password (the current one first). Every session and token of the account
/// ends, this one included: sign in again with the new password.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "session", request_body = PasswordChange,
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody),
              (status = 403, description = "the current password is wrong, or the account is locked", body = ErrorBody),
              (status = 422, description = "the new password breaks the policy", body = ErrorBody)))]
pub(crate) async fn change_my_password(
    State(state): State<Arc<AppState>>,
    Signed(c): Signed,
    ApiJson(r): ApiJson<PasswordChange>,
) -> AppResult<StatusCode> {
    account::change_password(&state, &c, &r.current, &r.new).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct CodeBody {
    /// A code of the authenticator (six digits) or a recovery code.
    pub code: String,
}

/// Begins renewing her second factor (a new phone), proved by a current code or a recovery
/// code. The old factor keeps working until the new one is confirmed.
#[utoipa::path(post, path = "/api/v1/me/second-factor/renew", tag = "session", request_body = CodeBody,
    security(("bearer" = [])),
    responses((status = 200, body = Renewal), (status = 401, body = ErrorBody),
              (status = 403, description = "the code is wrong, or the account is locked", body = ErrorBody),
              (status = 409, description = "no second factor enrolled", body = ErrorBody)))]
pub(crate) async fn renew_my_second_factor(
    State(state): State<Arc<AppState>>,
    Signed(c): Signed,
    ApiJson(r): ApiJson<CodeBody>,
) -> AppResult<Json<Renewal>> {
    Ok(Json(
        account::renew_second_factor(&state, &c, &r.code).await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Shown once; the old ones no longer work.
    pub recovery_codes: Vec<String>,
}

/// Confirms the renewal with a code of the new authenticator; answers the new recovery codes.
#[utoipa::path(post, path = "/api/v1/me/second-factor/confirm", tag = "session", request_body = CodeBody,
    security(("bearer" = [])),
    responses((status = 200, body = RecoveryCodes), (status = 401, body = ErrorBody),
              (status = 403, description = "not a code of the new authenticator", body = ErrorBody),
              (status = 409, description = "no renewal under way", body = ErrorBody)))]
pub(crate) async fn confirm_my_second_factor(
    State(state): State<Arc<AppState>>,
    Signed(c): Signed,
    ApiJson(r): ApiJson<CodeBody>,
) -> AppResult<Json<RecoveryCodes>> {
    Ok(Json(RecoveryCodes {
        recovery_codes: account::confirm_second_factor(&state, &c, &r.code).await?,
    }))
}

/// New recovery codes (the old ones void), proved by a current code or a recovery code.
#[utoipa::path(post, path = "/api/v1/me/second-factor/recovery-codes", tag = "session", request_body = CodeBody,
    security(("bearer" = [])),
    responses((status = 200, body = RecoveryCodes), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn new_my_recovery_codes(
    State(state): State<Arc<AppState>>,
    Signed(c): Signed,
    ApiJson(r): ApiJson<CodeBody>,
) -> AppResult<Json<RecoveryCodes>> {
    Ok(Json(RecoveryCodes {
        recovery_codes: account::new_recovery_codes(&state, &c, &r.code).await?,
    }))
}
