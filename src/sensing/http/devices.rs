//! Devices: listed by scope, one with its state, registered one by one, in a list or from a
//! CSV file (all or none, with a dry run), changed, and a person's consent withdrawn.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::Action;
use crate::http::ErrorBody;
use crate::http::{ApiJson, Path, Query, Signed};
use crate::kernel::error::{AppError, AppResult};
use crate::sensing::alerts::{self, Alert, AlertQuery};
use crate::sensing::consents::{self, Consent, NewConsent};
use crate::sensing::devices::{self, Device, DeviceQuery, LatestValue};
use crate::sensing::service::{
    self, CreatedDevice, DevicePatch, PlaceRef, Registration, RegistrationReport, worker,
};
use crate::state::AppState;

use super::page;

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
    /// Skip this many (prefer `after`: an offset reads every device it skips).
    pub offset: Option<i64>,
    /// Start after this key: the `next` of the page before.
    pub after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DeviceList {
    pub items: Vec<Device>,
    /// The key of the next page (for `after`), when more follow.
    pub next: Option<String>,
    /// The offset of the next page, when more follow (kept for clients that page by offset).
    pub next_offset: Option<i64>,
}

/// administrators of the device's place also see its provisioning token.
#[utoipa::path(get, path = "/api/v1/devices", tag = "sensing", params(DevicesQuery), security(("bearer" = [])),
    responses((status = 200, body = DeviceList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn list_devices(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DevicesQuery>,
) -> AppResult<Json<DeviceList>> {
    worker(&caller)?;
    let (limit, offset) = page(q.limit, q.offset)?;
    if q.after
        .as_deref()
        .is_some_and(|a| devices::parse_page_key(a).is_none())
    {
        return Err(AppError::bad_request("error.bad_param"));
    }
    let dq = DeviceQuery {
        under: q.under,
        device_type: q.device_type,
        person_id: q.person_id,
        active: Some(q.active.unwrap_or(true)),
        limit: limit + 1,
        offset,
        after: q.after,
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
    crate::sensing::audit_listed(
        &state,
        &caller,
        items.iter().map(|d| d.person_id),
        items.iter().map(|d| d.household_id),
        Action::List,
    )
    .await?;
    let next = items.last().filter(|_| more).map(devices::page_key);
    Ok(Json(DeviceList {
        items,
        next,
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
    /// The consent of the person it watches over (who recorded it, when, how, for what).
    pub consent: Option<Consent>,
}

/// One device with its latest state and active alerts.
#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "sensing", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = DeviceDetail), (status = 404, body = ErrorBody)))]
pub(super) async fn get_device(
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
            let consent = consents::current(c, id)?;
            Ok(Some(DeviceDetail {
                device,
                latest,
                alerts,
                consent,
            }))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    crate::sensing::audit_readings(&state, &caller, &detail.device).await?;
    Ok(Json(detail))
}

/// A device to register.
#[derive(Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct NewDeviceBody {
    /// The profile's code (door_magnet, water_meter, smoke_detector, elevator …).
    pub profile: String,
    /// The manufacturer's serial number (unique).
    pub serial: String,
    #[serde(default)]
    pub model: String,
    /// A unit, building or grid (its number); or give `place_path`.
    #[serde(default)]
    pub place_id: Option<i64>,
    /// A unit, building or grid by its path.
    #[serde(default)]
    pub place_path: Option<String>,
    /// The person it watches over; needs her `consent`.
    #[serde(default)]
    pub person_id: Option<i64>,
    /// The person by her ID number (found through the registry's blind index); needs her
    /// `consent`.
    #[serde(default)]
    pub id_number: Option<String>,
    #[serde(default)]
    pub household_id: Option<i64>,
    /// The bound person's consent: how it was given, for what, the scanned form.
    #[serde(default)]
    pub consent: Option<NewConsent>,
}

impl NewDeviceBody {
    fn registration(self, row: usize) -> Registration {
        Registration {
            row,
            profile: self.profile,
            serial: self.serial,
            model: self.model,
            place: match (self.place_id, self.place_path) {
                (Some(id), _) => PlaceRef::Id(id),
                (None, Some(p)) => PlaceRef::Path(p),
                (None, None) => PlaceRef::Id(0),
            },
            person_id: self.person_id,
            id_number: self.id_number,
            household_id: self.household_id,
            consent: self.consent,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum NewDevices {
    One(Box<NewDeviceBody>),
    Many(Vec<NewDeviceBody>),
}

/// Registers one device or up to 1,000 at once (a street administrator in her street, a
/// community worker in her community), all or none. A device bound to a person needs her
/// consent (`consent`), recorded with it and written to the audit log under her; without it
/// the answer is 422 and nothing is written. Returns each device's token.
#[utoipa::path(post, path = "/api/v1/devices", tag = "sensing", request_body = NewDevices, security(("bearer" = [])),
    responses((status = 201, body = Vec<CreatedDevice>), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn create_devices(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(body): ApiJson<NewDevices>,
) -> AppResult<Response> {
    service::device_editor(&caller)?;
    let list = match body {
        NewDevices::One(d) => vec![*d],
        NewDevices::Many(v) => v,
    };
    if list.is_empty() || list.len() > 1000 {
        return Err(AppError::invalid("device.err_rows"));
    }
    let many = list.len() > 1;
    let regs = list
        .into_iter()
        .enumerate()
        .map(|(i, d)| d.registration(i + 1))
        .collect();
    let report = service::register(&state, &caller, regs, false).await?;
    if let Some(r) = report.refused.first() {
        let status = if r.code == "device.err_serial_taken" {
            StatusCode::CONFLICT
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        let msg = if many {
            format!(
                "{} #{}: {}",
                crate::kernel::i18n::tr(crate::kernel::ctx().lang, "device.row"),
                r.row,
                r.reason
            )
        } else {
            r.reason.clone()
        };
        return Err(AppError::with_message(
            status,
            crate::kernel::Code::Invalid,
            msg,
        ));
    }
    Ok((StatusCode::CREATED, Json(report.created)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Check every row and report, without writing anything.
    pub dry_run: Option<bool>,
}

/// Registers the devices of a CSV file (UTF-8; header row with columns `serial`, `model`,
/// `profile`, `place` (a path or a number) or `place_id`, and optionally `person_id`,
/// `id_number`, `household_id`, `consent_how` (`paper_form` or `in_person`),
/// `consent_purpose`, `consent_scan`). All rows or none: when one is refused nothing is
/// written and the answer (422) says why, row by row (the line in the file). With
/// `dry_run=true` the same report, and nothing written. A row binding a person needs her
/// consent.
#[utoipa::path(post, path = "/api/v1/devices/import", tag = "sensing", params(ImportQuery),
    request_body(content = String, content_type = "text/csv"), security(("bearer" = [])),
    responses((status = 200, body = RegistrationReport), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = RegistrationReport)))]
pub(super) async fn import_devices(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<ImportQuery>,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let report = service::import_csv(&state, &caller, &body, q.dry_run.unwrap_or(false)).await?;
    let status = if report.refused.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report)).into_response())
}

/// Changes a device (administrators of its place): deactivates or activates it, moves it, binds
/// it to another person (with her `consent`) or household, gives it another profile or model.
/// A change to a device that watches over a person (before or after) is written to the audit
/// log under that person.
#[utoipa::path(patch, path = "/api/v1/devices/{id}", tag = "sensing", params(("id" = i64, Path)),
    request_body = DevicePatch, security(("bearer" = [])),
    responses((status = 200, body = Device), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn patch_device(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DevicePatch>,
) -> AppResult<Json<Device>> {
    Ok(Json(
        service::change_device(&state, &caller, id, body).await?,
    ))
}

/// Withdraws the consent of the person the device watches over (administrators of its place):
/// she is unbound and the device stays where it is. Written to the audit log under her.
#[utoipa::path(post, path = "/api/v1/devices/{id}/consent/withdraw", tag = "sensing", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Device), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn withdraw_consent(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<Device>> {
    Ok(Json(service::withdraw_consent(&state, &caller, id).await?))
}
