//! The sensing API: telemetry in (device token), devices, rules and alerts out (users).

use crate::kernel::Code;
use std::sync::Arc;

use crate::http::{Path, Query};
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::alerts::{self, Alert, AlertHistory, AlertQuery, Refusal};
use super::devices::{self, Device, DeviceQuery, LatestValue, Profile};
use super::ingest;
use super::rules::{self, NewRule, Rule, RulePatch, RulePreview};
use crate::audit::{self, Action, NewEntry};
use crate::http::ErrorBody;
use crate::http::{ApiJson, Signed};
use crate::kernel::error::{AppError, AppResult};
use crate::org::{Caller, Scope};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(post_telemetry, list_devices, create_devices, get_device, patch_device, list_profiles, list_rules,
          create_rule, patch_rule, preview_rule, delete_rule, list_alerts, get_alert, ack_alert, clear_alert,
          super::sse::alert_stream),
    tags((name = "sensing", description = "Devices, telemetry, rules and alerts (物联感知)"))
)]
pub struct SensingApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/telemetry", post(post_telemetry))
        .route("/api/v1/devices", get(list_devices).post(create_devices))
        .route("/api/v1/devices/{id}", get(get_device).patch(patch_device))
        .route("/api/v1/device-profiles", get(list_profiles))
        .route("/api/v1/rules", get(list_rules).post(create_rule))
        .route("/api/v1/rules/{id}", patch(patch_rule).delete(delete_rule))
        .route("/api/v1/rules/{id}/preview", post(preview_rule))
        .route("/api/v1/alerts", get(list_alerts))
        .route("/api/v1/alerts/stream", get(super::sse::alert_stream))
        .route("/api/v1/alerts/{id}", get(get_alert))
        .route("/api/v1/alerts/{id}/ack", post(ack_alert))
        .route("/api/v1/alerts/{id}/clear", post(clear_alert))
}

fn refused(status: StatusCode, code: Code, msg: String) -> AppError {
    AppError::with_message(status, code, msg)
}

/// Sensing pages and data are for the workers who read the registry, within their scope.
pub fn worker(c: &Caller) -> AppResult<()> {
    if c.reads_registry() {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

#[derive(Serialize, ToSchema)]
pub struct TelemetryAccepted {
    /// Readings in the request (duplicates of device, key and time are stored once).
    pub accepted: usize,
}

/// Readings from a device, acknowledged only after they are committed. The body is one
/// reading `{"ts": ms, "values": {"key": value}}` (`ts` optional), an array of them, or bare
/// `{"key": value}` — the ThingsBoard device API shape. Authenticated by the device's
/// provisioning token; a deactivated device's token is refused with 403 `inactive_device`.
/// Refusals are counted in `/metrics` by reason.
#[utoipa::path(post, path = "/api/v1/telemetry", tag = "sensing", security(("bearer" = [])),
    request_body(content = Object, description = "A reading, or an array of readings"),
    responses((status = 200, body = TelemetryAccepted), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn post_telemetry(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Json<TelemetryAccepted>> {
    let s = &crate::sensing::of(&state);
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        s.metrics.refuse("http", "no_token");
        return Err(refused(
            StatusCode::UNAUTHORIZED,
            Code::NoToken,
            "缺少设备令牌（Authorization: Bearer 令牌） / the device token is missing (Authorization: Bearer TOKEN)".into(),
        ));
    };
    let Some(dev) = s.device_by_token(&state.db, token).await? else {
        s.metrics.refuse("http", "bad_token");
        return Err(refused(
            StatusCode::UNAUTHORIZED,
            Code::BadToken,
            "设备令牌无效 / unknown device token".into(),
        ));
    };
    if !dev.active {
        s.metrics.refuse("http", "inactive_device");
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            Code::InactiveDevice,
            "error.device_inactive",
        ));
    }
    let now = s.clock.now_ms();
    let readings = match ingest::parse(&body, now) {
        Ok(r) => r,
        Err(e) => {
            s.metrics.refuse("http", e.reason.as_str());
            let status = if e.reason == Code::TooMany {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            return Err(refused(status, e.reason, e.message));
        }
    };
    let n = readings.len();
    s.commit(&state, dev, readings, now).await?;
    Ok(Json(TelemetryAccepted { accepted: n }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DevicesQuery {
    /// Only devices under this place path.
    pub under: Option<String>,
    /// Only devices of this type (door_magnet, water_meter, smoke_detector, elevator).
    pub device_type: Option<String>,
    pub person_id: Option<i64>,
    /// Active devices (true, the default) or the deactivated ones (false).
    pub active: Option<bool>,
    /// 1–1000 (default 200).
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DeviceList {
    pub items: Vec<Device>,
    pub next_offset: Option<i64>,
}

fn page(limit: Option<i64>, offset: Option<i64>) -> AppResult<(i64, i64)> {
    let (l, o) = (limit.unwrap_or(200), offset.unwrap_or(0));
    if !(1..=1000).contains(&l) || o < 0 {
        return Err(AppError::bad_request("error.bad_param"));
    }
    Ok((l, o))
}

/// Devices within the caller's scope, with place, bound person and online state;
/// administrators of the device's place also see its provisioning token.
#[utoipa::path(get, path = "/api/v1/devices", tag = "sensing", params(DevicesQuery), security(("bearer" = [])),
    responses((status = 200, body = DeviceList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_devices(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DevicesQuery>,
) -> AppResult<Json<DeviceList>> {
    worker(&caller)?;
    let (limit, offset) = page(q.limit, q.offset)?;
    let dq = DeviceQuery {
        under: q.under,
        device_type: q.device_type,
        person_id: q.person_id,
        active: Some(q.active.unwrap_or(true)),
        limit: limit + 1,
        offset,
    };
    let keys = state.keys.clone();
    let now = crate::sensing::of(&state).clock.now_ms();
    let (scope, admin) = (caller.scope.registry.clone(), caller.scope.users.clone());
    let mut items = state
        .db
        .read(move |c| devices::list(c, &scope, &admin, &keys, &dq, now))
        .await?;
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    super::audit_listed(
        &state,
        &caller,
        items.iter().map(|d| d.person_id),
        items.iter().map(|d| d.household_id),
        Action::List,
    )
    .await?;
    Ok(Json(DeviceList {
        items,
        next_offset: more.then_some(offset + limit),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct DeviceDetail {
    pub device: Device,
    /// The latest value of each key.
    pub latest: Vec<LatestValue>,
    /// Active alerts of the device.
    pub alerts: Vec<Alert>,
}

/// One device with its latest state and active alerts.
#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "sensing", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = DeviceDetail), (status = 404, body = ErrorBody)))]
async fn get_device(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<DeviceDetail>> {
    worker(&caller)?;
    let keys = state.keys.clone();
    let now = crate::sensing::of(&state).clock.now_ms();
    let (scope, admin) = (caller.scope.registry.clone(), caller.scope.users.clone());
    let detail = state
        .db
        .read(move |c| {
            let Some(device) = devices::get(c, &scope, &admin, &keys, id, now)? else {
                return Ok(None);
            };
            let latest = devices::latest(c, id)?;
            let q = AlertQuery {
                device_id: Some(id),
                active: Some(true),
                limit: 50,
                ..AlertQuery::default()
            };
            let alerts = alerts::list(c, &scope, &q)?;
            Ok(Some(DeviceDetail {
                device,
                latest,
                alerts,
            }))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    super::audit_readings(&state, &caller, &detail.device).await?;
    Ok(Json(detail))
}

/// A device to provision.
#[derive(Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct NewDeviceBody {
    /// The profile's code (door_magnet, water_meter, smoke_detector, elevator …).
    pub profile: String,
    /// The manufacturer's serial number (unique).
    pub serial: String,
    #[serde(default)]
    pub model: String,
    /// A unit, building or grid.
    pub place_id: i64,
    #[serde(default)]
    pub person_id: Option<i64>,
    #[serde(default)]
    pub household_id: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum NewDevices {
    One(NewDeviceBody),
    Many(Vec<NewDeviceBody>),
}

#[derive(Serialize, ToSchema)]
pub struct CreatedDevice {
    pub id: i64,
    pub serial: String,
    /// The provisioning token to configure on the device.
    pub token: String,
}

fn invalid(zh: &str, en: &str) -> AppError {
    AppError::with_message(
        StatusCode::UNPROCESSABLE_ENTITY,
        Code::Invalid,
        format!("{zh} / {en}"),
    )
}

/// Provisions one device or up to 1,000 at once (administrators of the place). Returns
/// each device's token.
#[utoipa::path(post, path = "/api/v1/devices", tag = "sensing", request_body = NewDevices, security(("bearer" = [])),
    responses((status = 201, body = Vec<CreatedDevice>), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_devices(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(body): ApiJson<NewDevices>,
) -> AppResult<Response> {
    if !caller.can_manage_users() {
        return Err(AppError::forbidden());
    }
    let list = match body {
        NewDevices::One(d) => vec![d],
        NewDevices::Many(v) => v,
    };
    if list.is_empty() || list.len() > 1000 {
        return Err(invalid(
            "一次登记 1–1000 台设备",
            "provision 1 to 1,000 devices at once",
        ));
    }
    let keys = state.keys.clone();
    let admin = caller.scope.users.clone();
    let now = crate::sensing::of(&state).clock.now_ms();
    let created = state
        .db
        .write_tx(move |c| -> AppResult<Vec<CreatedDevice>> {
            let mut out = Vec::with_capacity(list.len());
            let mut places: std::collections::HashMap<i64, crate::org::places::Place> =
                Default::default();
            for d in list {
                if d.serial.trim().is_empty() || d.serial.len() > 64 {
                    return Err(invalid(
                        "序列号不能为空（最多 64 字符）",
                        "the serial must be 1–64 characters",
                    ));
                }
                let place = match places.get(&d.place_id) {
                    Some(p) => p.clone(),
                    None => {
                        let p =
                            crate::org::places::get(c, &admin, d.place_id)?.ok_or_else(|| {
                                invalid(
                                    "位置不存在或不在您的管辖范围内",
                                    "the place does not exist or is outside your scope",
                                )
                            })?;
                        places.insert(d.place_id, p.clone());
                        p
                    }
                };
                if !matches!(place.kind.as_str(), "unit" | "building" | "grid") {
                    return Err(invalid(
                        "设备应安装在房屋、楼栋或网格",
                        "a device belongs to a unit, a building or a grid",
                    ));
                }
                let street_id = place.street_id.unwrap_or(place.id);
                let profile =
                    devices::profile_by_code(c, street_id, &d.profile)?.ok_or_else(|| {
                        invalid(
                            &format!("没有设备类型 {:?}", d.profile),
                            &format!("no device profile {:?}", d.profile),
                        )
                    })?;
                if let Some(pid) = d.person_id {
                    let ok = c.query_opt(
                        "SELECT 1 FROM persons WHERE id = $1 AND street_id = $2",
                        crate::params![pid, street_id],
                    )?;
                    if ok.is_none() {
                        return Err(invalid(
                            "绑定的居民不存在",
                            "the bound person does not exist",
                        ));
                    }
                }
                let nd = devices::NewDevice {
                    street_id,
                    profile_id: profile.id,
                    serial: d.serial.trim().to_string(),
                    model: d.model.clone(),
                    place_id: place.id,
                    place_path: place.path.clone(),
                    person_id: d.person_id,
                    household_id: d.household_id,
                };
                let (id, token) = devices::create(c, &keys, &nd, now)?;
                out.push(CreatedDevice {
                    id,
                    serial: nd.serial,
                    token,
                });
            }
            Ok(out)
        })
        .await?;
    crate::sensing::of(&state).devices_changed();
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Changes to a device (administrators of its place); what is left out stays as it is.
#[derive(Deserialize, ToSchema, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct DevicePatch {
    /// `false` deactivates the device: its token is refused (403 `inactive_device`), its
    /// absence and offline timers are disarmed and its active alerts cleared (their cases stay
    /// open). `true` activates it again, its timers armed as for a device just installed.
    #[serde(default)]
    pub active: Option<bool>,
    /// Another unit, building or grid of the street, within your scope.
    #[serde(default)]
    pub place_id: Option<i64>,
    /// The person it watches over; `null` unbinds it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub person_id: Option<Option<i64>>,
    /// The household it watches over; `null` unbinds it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub household_id: Option<Option<i64>>,
    /// Another profile of the street, by its code.
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
}

/// A field that may be set to `null`: present (`Some(None)`) rather than left out (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Changes a device (administrators of its place): deactivates or activates it, moves it, binds
/// it to another person or household, gives it another profile or model. A change to a device
/// that watches over a person (before or after) is written to the audit log under that person.
#[utoipa::path(patch, path = "/api/v1/devices/{id}", tag = "sensing", params(("id" = i64, Path)),
    request_body = DevicePatch, security(("bearer" = [])),
    responses((status = 200, body = Device), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn patch_device(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DevicePatch>,
) -> AppResult<Json<Device>> {
    Ok(Json(change_device(&state, &caller, id, body).await?))
}

/// Applies a [`DevicePatch`] in one transaction, then tells the live streams, forgets the
/// cached device and brings the timers in line (for the API and the device page).
pub async fn change_device(
    state: &Arc<AppState>,
    caller: &Caller,
    id: i64,
    patch: DevicePatch,
) -> AppResult<Device> {
    worker(caller)?;
    let keys = state.keys.clone();
    let (scope, admin) = (caller.scope.registry.clone(), caller.scope.users.clone());
    let user = caller.user_id;
    let now = crate::sensing::of(state).clock.now_ms();
    let today = crate::sensing::of(state).today();
    let set = crate::sensing::of(state).rules();
    let (device, events, people) = state
        .db
        .write_tx(
            move |c| -> AppResult<(Device, Vec<alerts::AlertEvent>, Vec<i64>)> {
                let Some(cur) = devices::get(c, &scope, &admin, &keys, id, now)? else {
                    return Err(AppError::not_found());
                };
                if !Scope::covers(&admin, &cur.place_path) {
                    return Err(AppError::forbidden());
                }
                let info = devices::info_by_id(c, id, &today)?.ok_or_else(AppError::not_found)?;
                let street_id = info.street_id;
                let (place_id, place_path) = match patch.place_id {
                    Some(pid) if pid != info.place_id => {
                        let place = crate::org::places::get(c, &admin, pid)?
                            .filter(|p| p.street_id.unwrap_or(p.id) == street_id)
                            .ok_or_else(|| AppError::invalid("error.device_place"))?;
                        if !matches!(place.kind.as_str(), "unit" | "building" | "grid") {
                            return Err(AppError::invalid("error.device_place_kind"));
                        }
                        (place.id, place.path)
                    }
                    _ => (info.place_id, info.place_path.clone()),
                };
                let person_id = patch.person_id.unwrap_or(info.person_id);
                if let Some(pid) = person_id.filter(|p| Some(*p) != info.person_id)
                    && c.query_opt(
                        "SELECT 1 FROM persons WHERE id = $1 AND street_id = $2",
                        crate::params![pid, street_id],
                    )?
                    .is_none()
                {
                    return Err(AppError::invalid("error.device_person"));
                }
                let household_id = patch.household_id.unwrap_or(info.household_id);
                if let Some(hid) = household_id.filter(|h| Some(*h) != info.household_id)
                    && c.query_opt(
                        "SELECT 1 FROM households WHERE id = $1 AND street_id = $2",
                        crate::params![hid, street_id],
                    )?
                    .is_none()
                {
                    return Err(AppError::invalid("error.device_household"));
                }
                let profile_id = match patch.profile.as_deref() {
                    Some(code) => {
                        devices::profile_by_code(c, street_id, code.trim())?
                            .ok_or_else(|| AppError::invalid("error.device_profile"))?
                            .id
                    }
                    None => info.profile_id,
                };
                let model = match patch.model {
                    Some(m) if m.chars().count() > 100 => {
                        return Err(AppError::invalid("error.device_model"));
                    }
                    Some(m) => m.trim().to_string(),
                    None => cur.model.clone(),
                };
                let active = patch.active.unwrap_or(info.active);
                devices::update(
                    c,
                    id,
                    &devices::DeviceChange {
                        profile_id,
                        model,
                        place_id,
                        place_path,
                        person_id,
                        household_id,
                        active,
                    },
                )?;
                let mut events = Vec::new();
                if info.active && !active {
                    devices::disarm(c, id)?;
                    events =
                        alerts::clear_for_device(c, id, Some(user), now, "device deactivated")?;
                } else if active && !info.active {
                    let dev =
                        devices::info_by_id(c, id, &today)?.ok_or_else(AppError::not_found)?;
                    rules::arm_device(c, &set, &dev, now)?;
                }
                let mut people: Vec<i64> = info.person_id.into_iter().chain(person_id).collect();
                people.dedup();
                let device = devices::get(c, &scope, &admin, &keys, id, now)?
                    .ok_or_else(AppError::not_found)?;
                Ok((device, events, people))
            },
        )
        .await?;
    crate::sensing::of(state).publish(events);
    crate::sensing::of(state).devices_changed();
    rules::sync_now(state).await?;
    if !people.is_empty() {
        state
            .audit
            .record(
                NewEntry::by(caller, Action::Change)
                    .subjects(people.into_iter().map(audit::person))
                    .purpose(format!("sensing device {id} changed")),
            )
            .await?;
    }
    Ok(device)
}

/// The device profiles of the caller's street.
#[utoipa::path(get, path = "/api/v1/device-profiles", tag = "sensing", security(("bearer" = [])),
    responses((status = 200, body = Vec<Profile>)))]
async fn list_profiles(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Profile>>> {
    worker(&caller)?;
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    Ok(Json(
        state.db.read(move |c| devices::profiles(c, street)).await?,
    ))
}

/// The rules of the caller's street, enabled and disabled (`active`); deleted ones are gone.
#[utoipa::path(get, path = "/api/v1/rules", tag = "sensing", security(("bearer" = [])),
    responses((status = 200, body = Vec<Rule>)))]
async fn list_rules(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Rule>>> {
    worker(&caller)?;
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    Ok(Json(
        state.db.read(move |c| rules::list(c, &[street])).await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct CreatedRule {
    pub id: i64,
    /// Timers armed in all after the rule was added.
    pub timers: i64,
}

/// Adds a rule to the caller's street (administrators). Absence and offline rules are armed
/// for their devices at once.
#[utoipa::path(post, path = "/api/v1/rules", tag = "sensing", request_body = NewRule, security(("bearer" = [])),
    responses((status = 201, body = CreatedRule), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_rule(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(rule): ApiJson<NewRule>,
) -> AppResult<Response> {
    let street = crate::org::access::street_admin(&caller)?;
    let user = caller.user_id;
    rule.validate()
        .map_err(|m| AppError::with_message(StatusCode::UNPROCESSABLE_ENTITY, Code::Invalid, m))?;
    let now = crate::sensing::of(&state).clock.now_ms();
    let id = state
        .db
        .write_tx(move |c| -> AppResult<i64> {
            if let Some(pid) = rule.profile_id
                && c.query_opt(
                    "SELECT 1 FROM device_profiles WHERE id = $1 AND street_id = $2",
                    crate::params![pid, street],
                )?
                .is_none()
            {
                return Err(invalid("设备类型不存在", "no such device profile"));
            }
            if let Some(did) = rule.device_id
                && c.query_opt(
                    "SELECT 1 FROM devices WHERE id = $1 AND street_id = $2",
                    crate::params![did, street],
                )?
                .is_none()
            {
                return Err(invalid("设备不存在", "no such device"));
            }
            let id = rules::create(c, street, &rule, now)?;
            rules::set_owner(c, id, user)?;
            Ok(id)
        })
        .await?;
    crate::sensing::of(&state).reload_rules(&state.db).await?;
    let timers = rules::sync_now(&state).await?;
    Ok((StatusCode::CREATED, Json(CreatedRule { id, timers })).into_response())
}

/// Changes a rule of the caller's street (administrators): name, severity, parameters (a
/// JSON merge patch), case category, acknowledgement time, per-person parameters, or
/// `active`. Checked as a new rule is. Armed timers move to the new periods at once; a
/// disabled rule's timers are disarmed and its active alerts cleared; when the watched key or
/// awaited value changes, its active alerts are cleared and its timers start again. A change of
/// per-person parameters is written to the audit log under those people. A change that would
/// fire at once for some devices (a shortened absence period) is saved only with
/// `"confirm": true`; without it the answer is 409 with its preview and nothing is saved. The
/// caller becomes the rule's owner, told when its alerts are grouped into one case.
#[utoipa::path(patch, path = "/api/v1/rules/{id}", tag = "sensing", params(("id" = i64, Path)),
    request_body = RulePatch, security(("bearer" = [])),
    responses((status = 200, body = Rule), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = RulePreview, description = "not saved: the change would fire now; send it again with confirm"),
              (status = 422, body = ErrorBody)))]
async fn patch_rule(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<RulePatch>,
) -> AppResult<Response> {
    Ok(match change_rule(&state, &caller, id, body).await? {
        RuleChange::Saved(rule) => Json(*rule).into_response(),
        RuleChange::Unconfirmed(p) => (StatusCode::CONFLICT, Json(p)).into_response(),
    })
}

/// What a change to a rule would do now, without saving it (administrators): for how many
/// devices the changed rule would fire at once. The body is the change as `PATCH` takes it.
#[utoipa::path(post, path = "/api/v1/rules/{id}/preview", tag = "sensing", params(("id" = i64, Path)),
    request_body = RulePatch, security(("bearer" = [])),
    responses((status = 200, body = RulePreview), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn preview_rule(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<RulePatch>,
) -> AppResult<Json<RulePreview>> {
    Ok(Json(rule_preview(&state, &caller, id, body).await?))
}

/// The preview of a change to a rule (for the API and the rule page); nothing is saved.
pub async fn rule_preview(
    state: &Arc<AppState>,
    caller: &Caller,
    id: i64,
    patch: RulePatch,
) -> AppResult<RulePreview> {
    let street = crate::org::access::street_admin(caller)?;
    let now = crate::sensing::of(state).clock.now_ms();
    state
        .db
        .read(move |c| -> crate::store::Result<AppResult<RulePreview>> {
            let Some(old) = rules::get(c, street, id)? else {
                return Ok(Err(AppError::not_found()));
            };
            let new = match patch.apply(&old) {
                Ok(n) => n,
                Err(m) => {
                    return Ok(Err(AppError::with_message(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Code::Invalid,
                        m,
                    )));
                }
            };
            Ok(Ok(rules::preview(c, &old, &new, now)?))
        })
        .await?
}

/// A rule as changed, the alert changes to publish and the people whose own parameters changed.
type Changed = (Rule, Vec<alerts::AlertEvent>, Vec<i64>);

/// What became of a change to a rule.
pub enum RuleChange {
    Saved(Box<Rule>),
    /// Not saved: it would fire now and was not confirmed.
    Unconfirmed(RulePreview),
}

/// Applies a [`RulePatch`] in one transaction, then tells the live streams, reloads the rules
/// and brings the timers in line (for the API and the rule page). A change that would fire at
/// once is saved only when confirmed.
pub async fn change_rule(
    state: &Arc<AppState>,
    caller: &Caller,
    id: i64,
    patch: RulePatch,
) -> AppResult<RuleChange> {
    let street = crate::org::access::street_admin(caller)?;
    let now = crate::sensing::of(state).clock.now_ms();
    let user = caller.user_id;
    let done = state
        .db
        .write_tx(move |c| -> AppResult<Result<Changed, RulePreview>> {
            let old = rules::get(c, street, id)?.ok_or_else(AppError::not_found)?;
            let new = patch.apply(&old).map_err(|m| {
                AppError::with_message(StatusCode::UNPROCESSABLE_ENTITY, Code::Invalid, m)
            })?;
            if let Some(o) = &patch.overrides {
                for p in o {
                    if c.query_opt(
                        "SELECT 1 FROM persons WHERE id = $1 AND street_id = $2",
                        crate::params![p.person_id, street],
                    )?
                    .is_none()
                    {
                        return Err(AppError::invalid("error.rule_person"));
                    }
                }
            }
            if patch.confirm != Some(true) {
                let preview = rules::preview(c, &old, &new, now)?;
                if preview.confirm_needed {
                    return Ok(Err(preview));
                }
            }
            rules::update(c, &new, patch.overrides.is_some(), now)?;
            rules::set_owner(c, id, user)?;
            let events = match (old.active, new.active) {
                (true, false) => rules::retire(c, id, Some(user), now, "rule disabled")?,
                (true, true) => {
                    let otherwise = rules::watches_otherwise(&old, &new);
                    rules::rearm(c, &new, otherwise, Some(user), now)?
                }
                // Enabled again: the synchronisation below arms its timers from now.
                (false, _) => Vec::new(),
            };
            let mut people: Vec<i64> = Vec::new();
            if patch.overrides.is_some() {
                people.extend(old.overrides.keys().chain(new.overrides.keys()));
                people.sort_unstable();
                people.dedup();
            }
            Ok(Ok((new, events, people)))
        })
        .await?;
    let (rule, events, people) = match done {
        Ok(v) => v,
        Err(preview) => return Ok(RuleChange::Unconfirmed(preview)),
    };
    rules_changed(state, events).await?;
    if !people.is_empty() {
        state
            .audit
            .record(
                NewEntry::by(caller, Action::Change)
                    .subjects(people.into_iter().map(audit::person))
                    .purpose(format!("sensing rule {id}: own parameters changed")),
            )
            .await?;
    }
    Ok(RuleChange::Saved(Box::new(rule)))
}

/// Deletes a rule of the caller's street (administrators). Nothing fires for it any more: its
/// timers are disarmed and its active alerts cleared (the cases they opened stay open). Its
/// past alerts keep naming it; its per-person parameters are deleted with it (written to the
/// audit log under those people).
#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "sensing", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204, description = "deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_rule(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    remove_rule(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a rule (for the API and the rule page).
pub async fn remove_rule(state: &Arc<AppState>, caller: &Caller, id: i64) -> AppResult<()> {
    let street = crate::org::access::street_admin(caller)?;
    let now = crate::sensing::of(state).clock.now_ms();
    let user = caller.user_id;
    let (events, people) = state
        .db
        .write_tx(move |c| -> AppResult<(Vec<alerts::AlertEvent>, Vec<i64>)> {
            let old = rules::get(c, street, id)?.ok_or_else(AppError::not_found)?;
            rules::delete(c, id, now)?;
            let events = rules::retire(c, id, Some(user), now, "rule deleted")?;
            let mut people: Vec<i64> = old.overrides.keys().copied().collect();
            people.sort_unstable();
            Ok((events, people))
        })
        .await?;
    rules_changed(state, events).await?;
    if !people.is_empty() {
        state
            .audit
            .record(
                NewEntry::by(caller, Action::Change)
                    .subjects(people.into_iter().map(audit::person))
                    .purpose(format!("sensing rule {id} deleted with its own parameters")),
            )
            .await?;
    }
    Ok(())
}

/// After a rule changed: publishes the alerts it cleared, reloads the rules, re-synchronises
/// the timers and wakes the timer loop.
async fn rules_changed(state: &Arc<AppState>, events: Vec<alerts::AlertEvent>) -> AppResult<()> {
    crate::sensing::of(state).publish(events);
    crate::sensing::of(state).reload_rules(&state.db).await?;
    rules::sync_now(state).await?;
    crate::sensing::of(state).wake.notify_one();
    Ok(())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// active_unack, active_ack, cleared_unack or cleared_ack.
    pub state: Option<String>,
    /// critical, major, minor or warning.
    pub severity: Option<String>,
    /// threshold, event, absence or offline.
    pub kind: Option<String>,
    pub device_id: Option<i64>,
    /// Only active (true) or only cleared (false) alerts.
    pub active: Option<bool>,
    /// Only alerts updated at or after this time (unix ms).
    pub since: Option<i64>,
    /// Only alerts escalated at least this many levels.
    pub min_level: Option<i64>,
    /// Only the alerts of this case (a grouped case holds several).
    pub case_id: Option<i64>,
    /// `fiware` for the FIWARE Smart Data Models `Alert` shape.
    pub format: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// The answer of the alerts list: linli's page of alerts, or with `format=fiware` an array of
/// FIWARE Smart Data Models `Alert` entities (documentation only; each handler builds one).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum AlertsAnswer {
    Linli(AlertList),
    Fiware(Vec<FiwareAlert>),
}

/// A FIWARE Smart Data Models `Alert` entity, as `format=fiware` answers (documentation only:
/// `alerts::fiware` builds it).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct FiwareAlert {
    /// `urn:ngsi-ld:Alert:linli:{id}`.
    pub id: String,
    /// Always `Alert`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `health`, `water`, `environment` or `security`.
    pub category: String,
    /// The rule's kind: `threshold`, `event`, `absence`, `offline`.
    pub sub_category: String,
    /// `critical`, `high`, `medium` or `low`.
    pub severity: String,
    pub description: String,
    pub date_issued: String,
    pub valid_from: String,
    /// Set once the alert is cleared.
    pub valid_to: Option<String>,
    pub date_modified: String,
    /// `urn:ngsi-ld:Device:linli:{device id}`.
    pub alert_source: String,
    /// linli's state, rule, hits, details, place and escalation level.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// The answer of one alert: linli's alert with its history, or with `format=fiware` one FIWARE
/// `Alert` entity.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
#[allow(clippy::large_enum_variant)]
pub enum AlertAnswer {
    Linli(AlertDetail),
    Fiware(FiwareAlert),
}

#[derive(Serialize, ToSchema)]
pub struct AlertList {
    pub items: Vec<Alert>,
    pub next_offset: Option<i64>,
}

const STATES: [&str; 4] = ["active_unack", "active_ack", "cleared_unack", "cleared_ack"];

/// Alerts within the caller's scope, active first, newest first. With `format=fiware` the
/// answer is an array of FIWARE `Alert` entities.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "sensing", params(AlertsQuery), security(("bearer" = [])),
    responses((status = 200, body = AlertsAnswer), (status = 400, body = ErrorBody)))]
async fn list_alerts(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<AlertsQuery>,
) -> AppResult<Response> {
    worker(&caller)?;
    let (limit, offset) = page(q.limit, q.offset)?;
    if q.state.as_deref().is_some_and(|s| !STATES.contains(&s))
        || q.severity
            .as_deref()
            .is_some_and(|s| !rules::SEVERITIES.contains(&s))
        || q.kind
            .as_deref()
            .is_some_and(|k| rules::RuleKind::parse(k).is_none())
        || q.format
            .as_deref()
            .is_some_and(|f| f != "fiware" && f != "linli")
    {
        return Err(AppError::bad_request("error.bad_param"));
    }
    let aq = AlertQuery {
        state: q.state,
        severity: q.severity,
        kind: q.kind,
        device_id: q.device_id,
        active: q.active,
        since: q.since,
        min_level: q.min_level,
        case_id: q.case_id,
        limit: limit + 1,
        offset,
    };
    let scope = caller.scope.registry.clone();
    let items = state.db.read(move |c| alerts::list(c, &scope, &aq)).await?;
    let mut items = Alert::localised(items, crate::kernel::ctx().lang);
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    super::audit_listed(
        &state,
        &caller,
        items.iter().map(|a| a.person_id),
        [],
        Action::List,
    )
    .await?;
    if q.format.as_deref() == Some("fiware") {
        let v: Vec<serde_json::Value> = items.iter().map(alerts::fiware).collect();
        return Ok(Json(v).into_response());
    }
    Ok(Json(AlertList {
        items,
        next_offset: more.then_some(offset + limit),
    })
    .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct AlertDetail {
    pub alert: Alert,
    pub history: Vec<AlertHistory>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `fiware` for the FIWARE Smart Data Models `Alert` shape.
    pub format: Option<String>,
}

/// One alert with its history.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "sensing", params(("id" = i64, Path), FormatQuery), security(("bearer" = [])),
    responses((status = 200, body = AlertAnswer), (status = 404, body = ErrorBody)))]
async fn get_alert(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(f): Query<FormatQuery>,
) -> AppResult<Response> {
    worker(&caller)?;
    let scope = caller.scope.registry.clone();
    let (mut alert, history) = state
        .db
        .read(move |c| {
            let Some(a) = alerts::get(c, &scope, id)? else {
                return Ok(None);
            };
            Ok(Some((a, alerts::history(c, id)?)))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    super::audit_listed(&state, &caller, [alert.person_id], [], Action::Read).await?;
    alert.localise(crate::kernel::ctx().lang);
    if f.format.as_deref() == Some("fiware") {
        return Ok(Json(alerts::fiware(&alert)).into_response());
    }
    Ok(Json(AlertDetail { alert, history }).into_response())
}

#[derive(Deserialize, ToSchema, Default)]
pub struct AlertAction {
    /// What was done or found (optional).
    #[serde(default)]
    pub note: String,
}

/// The optional `{"note": …}` body of an acknowledgement or clearing.
fn note_of(body: &[u8]) -> AppResult<String> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(String::new());
    }
    serde_json::from_slice::<AlertAction>(body)
        .map(|a| a.note)
        .map_err(|_| AppError::new(StatusCode::BAD_REQUEST, Code::BadJson, "error.bad_json"))
}

pub async fn act(
    state: &Arc<AppState>,
    caller: &Caller,
    id: i64,
    ack: bool,
    note: String,
) -> AppResult<Alert> {
    worker(caller)?;
    let scope = caller.scope.registry.clone();
    let user = caller.user_id;
    let now = crate::sensing::of(state).clock.now_ms();
    let note: String = note.chars().take(500).collect();
    let r = state
        .db
        .write(move |c| {
            if ack {
                alerts::acknowledge(c, &scope, id, user, &note, now)
            } else {
                alerts::clear(c, &scope, id, user, &note, now)
            }
        })
        .await?;
    match r {
        Ok(changes) => {
            let alert = changes.first().map(|e| e.alert.clone());
            crate::sensing::of(state).publish(changes);
            alert.ok_or_else(AppError::not_found)
        }
        Err(Refusal::NotFound) => Err(AppError::not_found()),
        Err(Refusal::AlreadyAcknowledged) => Err(AppError::new(
            StatusCode::CONFLICT,
            Code::Conflict,
            "alert.already_acked",
        )),
        Err(Refusal::AlreadyCleared) => Err(AppError::new(
            StatusCode::CONFLICT,
            Code::Conflict,
            "alert.already_cleared",
        )),
    }
}

/// Acknowledges an alert (active_unack → active_ack, cleared_unack → cleared_ack); stops
/// its escalation.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/ack", tag = "sensing", params(("id" = i64, Path)),
    request_body(content = AlertAction, description = "optional"), security(("bearer" = [])),
    responses((status = 200, body = Alert), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn ack_alert(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> AppResult<Json<Alert>> {
    let note = note_of(&body)?;
    Ok(Json(act(&state, &caller, id, true, note).await?))
}

/// Clears an active alert (active_unack → cleared_unack, active_ack → cleared_ack).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/clear", tag = "sensing", params(("id" = i64, Path)),
    request_body(content = AlertAction, description = "optional"), security(("bearer" = [])),
    responses((status = 200, body = Alert), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn clear_alert(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> AppResult<Json<Alert>> {
    let note = note_of(&body)?;
    Ok(Json(act(&state, &caller, id, false, note).await?))
}
