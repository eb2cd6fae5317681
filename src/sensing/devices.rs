//! Device profiles and devices: where each device is, whom it watches over, and the
//! provisioning token it reports with.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::params;
use crate::store::keys::FieldKeys;
use crate::store::{Conn, Result, Row, Val, under_paths};

/// What ingestion and the rules need to know about a device (cached).
#[derive(Clone, Debug)]
pub struct DeviceInfo {
    pub id: i64,
    pub street_id: i64,
    pub profile_id: i64,
    pub place_id: i64,
    pub place_path: String,
    pub person_id: Option<i64>,
    pub household_id: Option<i64>,
    pub token_hash: String,
    /// The profile's expected reporting interval.
    pub interval_s: i64,
    /// Tags (valid today) of the bound person and of the people living in the device's unit.
    pub tags: Vec<String>,
    /// False once an administrator deactivated it: its readings are refused.
    pub active: bool,
    pub loaded: Instant,
}

const INFO_COLS: &str = "d.id, d.street_id, d.profile_id, d.place_id, d.place_path, d.person_id, \
                         d.household_id, d.token_hash, p.report_interval_s, d.active";

fn info(c: &mut dyn Conn, r: Row, today: &str) -> Result<DeviceInfo> {
    let id = r.i64(0);
    let tags = device_tags(c, id, today)?;
    Ok(DeviceInfo {
        id,
        street_id: r.i64(1),
        profile_id: r.i64(2),
        place_id: r.i64(3),
        place_path: r.str(4),
        person_id: r.opt_i64(5),
        household_id: r.opt_i64(6),
        token_hash: r.str(7),
        interval_s: r.i64(8),
        tags,
        active: r.i64(9) == 1,
        loaded: Instant::now(),
    })
}

/// Tags valid on `today` of the device's person and of the people whose unit it is in.
pub fn device_tags(c: &mut dyn Conn, device_id: i64, today: &str) -> Result<Vec<String>> {
    let Some(d) = c.query_opt(
        "SELECT street_id, person_id, place_id FROM devices WHERE id = $1",
        params![device_id],
    )?
    else {
        return Ok(Vec::new());
    };
    crate::registry::records::tags_at(c, d.i64(0), d.opt_i64(1), d.i64(2), today)
}

/// The device a token belongs to, active or not (ingestion refuses an inactive one by name).
pub fn info_by_token_hash(c: &mut dyn Conn, hash: &str, today: &str) -> Result<Option<DeviceInfo>> {
    let sql = format!(
        "SELECT {INFO_COLS} FROM devices d JOIN device_profiles p ON p.id = d.profile_id \
         WHERE d.token_hash = $1"
    );
    match c.query_opt(&sql, params![hash])? {
        Some(r) => info(c, r, today).map(Some),
        None => Ok(None),
    }
}

/// The device with this id, active or not.
pub fn info_by_id(c: &mut dyn Conn, id: i64, today: &str) -> Result<Option<DeviceInfo>> {
    let sql = format!(
        "SELECT {INFO_COLS} FROM devices d JOIN device_profiles p ON p.id = d.profile_id \
         WHERE d.id = $1"
    );
    match c.query_opt(&sql, params![id])? {
        Some(r) => info(c, r, today).map(Some),
        None => Ok(None),
    }
}

/// One telemetry key of a profile.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TelemetryKey {
    pub key: String,
    /// Unit of the values (m³, °C, …); empty for events.
    #[serde(default)]
    pub unit: String,
}

/// A rule a profile brings with it: a rule of the rules area without its target. The rules
/// apply per profile: creating a profile creates each template as a rule of the street that
/// watches the profile's devices (`rules.profile_id`), so every device registered with the
/// profile, now or later, is watched by them and they are kept and changed on the rules pages
/// like any rule. A template added when the profile is edited becomes a rule then; a rule of the
/// profile already carrying a template's name is left as the rules pages made it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleTemplate {
    pub name: String,
    pub kind: super::rules::RuleKind,
    /// critical, major, minor or warning.
    pub severity: String,
    /// Devices of people holding this tag only (elderly_alone …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default)]
    pub params: super::rules::RuleParams,
    /// The case category its alerts open [default: sensor_alert].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// [default: 30]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_minutes: Option<i64>,
}

impl RuleTemplate {
    /// The rule this template makes for a profile.
    pub fn rule(&self, profile_id: i64) -> super::rules::NewRule {
        super::rules::NewRule {
            name: self.name.trim().to_string(),
            kind: self.kind,
            severity: self.severity.clone(),
            profile_id: Some(profile_id),
            device_id: None,
            tag: self.tag.clone().filter(|t| !t.trim().is_empty()),
            params: self.params.clone(),
            category: self.category.clone().filter(|c| !c.trim().is_empty()),
            ack_minutes: self.ack_minutes,
            overrides: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Profile {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub device_type: String,
    pub telemetry: Vec<TelemetryKey>,
    /// Expected seconds between reports; a device is offline after it.
    pub report_interval_s: i64,
    /// The rules the profile brings (see [`RuleTemplate`]).
    pub default_rules: Vec<RuleTemplate>,
}

impl Profile {
    /// The translation key (section `sensing`) of the device type.
    pub fn type_key(&self) -> String {
        format!("type_{}", self.device_type)
    }
    /// The telemetry keys with their units, as a line (`door; temperature °C`).
    pub fn telemetry_line(&self) -> String {
        self.telemetry
            .iter()
            .map(|k| {
                if k.unit.is_empty() {
                    k.key.clone()
                } else {
                    format!("{} {}", k.key, k.unit)
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

pub struct NewProfile<'a> {
    pub street_id: i64,
    pub code: &'a str,
    pub name: &'a str,
    pub device_type: &'a str,
    pub telemetry: &'a [TelemetryKey],
    pub report_interval_s: i64,
}

pub fn create_profile(c: &mut dyn Conn, p: &NewProfile<'_>, now: i64) -> Result<i64> {
    let tele = serde_json::to_string(p.telemetry).unwrap_or_else(|_| "[]".into());
    c.query_i64(
        "INSERT INTO device_profiles (street_id, code, name, device_type, telemetry, report_interval_s, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        params![p.street_id, p.code, p.name, p.device_type, tele, p.report_interval_s, now],
    )
}

/// Stores a profile's default rules.
pub fn set_default_rules(c: &mut dyn Conn, id: i64, rules: &[RuleTemplate]) -> Result<()> {
    let json = serde_json::to_string(rules).unwrap_or_else(|_| "[]".into());
    c.exec(
        "UPDATE device_profiles SET default_rules = $2 WHERE id = $1",
        params![id, json],
    )?;
    Ok(())
}

/// A profile as an administrator changed it (each value already checked; the code stays).
pub struct ProfileChange<'a> {
    pub name: &'a str,
    pub device_type: &'a str,
    pub telemetry: &'a [TelemetryKey],
    pub report_interval_s: i64,
}

pub fn update_profile(c: &mut dyn Conn, id: i64, p: &ProfileChange<'_>) -> Result<()> {
    let tele = serde_json::to_string(p.telemetry).unwrap_or_else(|_| "[]".into());
    c.exec(
        "UPDATE device_profiles SET name = $2, device_type = $3, telemetry = $4, report_interval_s = $5 \
         WHERE id = $1",
        params![id, p.name, p.device_type, tele, p.report_interval_s],
    )?;
    Ok(())
}

const PROFILE_COLS: &str =
    "id, code, name, device_type, telemetry, report_interval_s, default_rules";

fn profile_row(r: Row) -> Profile {
    Profile {
        id: r.i64(0),
        code: r.str(1),
        name: r.str(2),
        device_type: r.str(3),
        telemetry: serde_json::from_str(&r.str(4)).unwrap_or_default(),
        report_interval_s: r.i64(5),
        default_rules: serde_json::from_str(&r.str(6)).unwrap_or_default(),
    }
}

pub fn profiles(c: &mut dyn Conn, street_id: i64) -> Result<Vec<Profile>> {
    Ok(c.query(
        &format!("SELECT {PROFILE_COLS} FROM device_profiles WHERE street_id = $1 ORDER BY code"),
        params![street_id],
    )?
    .into_iter()
    .map(profile_row)
    .collect())
}

pub fn profile_by_code(c: &mut dyn Conn, street_id: i64, code: &str) -> Result<Option<Profile>> {
    Ok(c.query_opt(
        &format!("SELECT {PROFILE_COLS} FROM device_profiles WHERE street_id = $1 AND code = $2"),
        params![street_id, code],
    )?
    .map(profile_row))
}

/// A profile of the street by id.
pub fn profile_by_id(c: &mut dyn Conn, street_id: i64, id: i64) -> Result<Option<Profile>> {
    Ok(c.query_opt(
        &format!("SELECT {PROFILE_COLS} FROM device_profiles WHERE street_id = $1 AND id = $2"),
        params![street_id, id],
    )?
    .map(profile_row))
}

/// Whether a device of the street has this id.
pub fn in_street(c: &mut dyn Conn, street_id: i64, id: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM devices WHERE id = $1 AND street_id = $2",
        params![id, street_id],
    )?
    .is_some())
}

/// Whether a device already carries this serial (serials are unique across the deployment).
pub fn serial_taken(c: &mut dyn Conn, serial: &str) -> Result<bool> {
    Ok(
        c.query_opt("SELECT 1 FROM devices WHERE serial = $1", params![serial])?
            .is_some(),
    )
}

/// Unbinds a device's person (its consent withdrawn); it stays where it is.
pub fn unbind_person(c: &mut dyn Conn, id: i64) -> Result<()> {
    c.exec(
        "UPDATE devices SET person_id = NULL WHERE id = $1",
        params![id],
    )?;
    Ok(())
}

/// A device as the API lists it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Device {
    pub id: i64,
    pub serial: String,
    /// The profile's device type (door_magnet, water_meter, smoke_detector, elevator …).
    pub device_type: String,
    pub profile: String,
    pub model: String,
    pub place_id: i64,
    pub place_path: String,
    /// The place's name (a unit's room number, a building's name).
    pub place_name: String,
    pub person_id: Option<i64>,
    pub household_id: Option<i64>,
    pub last_seen_at: Option<i64>,
    /// Contact within the profile's reporting interval.
    pub online: bool,
    pub report_interval_s: i64,
    /// The provisioning token: shown only to administrators of the device's place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// False once an administrator deactivated it: its token is refused and no rule watches it.
    pub active: bool,
}

const DEVICE_COLS: &str = "d.id, d.serial, p.device_type, p.code, d.model, d.place_id, d.place_path, \
     pl.name, d.person_id, d.household_id, d.last_seen_at, p.report_interval_s, d.token_enc, d.active";

fn device_row(r: Row, now: i64, keys: Option<&FieldKeys>) -> Device {
    let last = r.opt_i64(10);
    let interval = r.i64(11);
    let token = keys.and_then(|k| match r.val(12) {
        Val::Blob(b) => k.decrypt(b),
        _ => None,
    });
    Device {
        id: r.i64(0),
        serial: r.str(1),
        device_type: r.str(2),
        profile: r.str(3),
        model: r.str(4),
        place_id: r.i64(5),
        place_path: r.str(6),
        place_name: r.str(7),
        person_id: r.opt_i64(8),
        household_id: r.opt_i64(9),
        last_seen_at: last,
        active: r.i64(13) == 1,
        online: last.is_some_and(|t| now - t <= interval * 1000),
        report_interval_s: interval,
        token,
    }
}

impl Device {
    /// The translation key (section `sensing`) of the device type.
    pub fn type_key(&self) -> String {
        format!("type_{}", self.device_type)
    }
}

#[derive(Clone, Debug, Default)]
pub struct DeviceQuery {
    pub under: Option<String>,
    pub device_type: Option<String>,
    pub person_id: Option<i64>,
    /// Only active (true) or only deactivated (false) devices; both when `None`.
    pub active: Option<bool>,
    pub limit: i64,
    pub offset: i64,
    /// Start after this key ([`page_key`] of the last device of the page before).
    pub after: Option<String>,
}

/// The key of a device in the list's order (by place, then id): `id:place_path`.
pub fn page_key(d: &Device) -> String {
    format!("{}:{}", d.id, d.place_path)
}

/// A key of [`page_key`], read back.
pub fn parse_page_key(s: &str) -> Option<(i64, String)> {
    let (id, path) = s.split_once(':')?;
    Some((id.parse().ok()?, path.to_string()))
}

/// Devices under `scope`, in path order; tokens decrypted for those under `admin_scope`.
pub fn list(
    c: &mut dyn Conn,
    scope: &[String],
    admin_scope: &[String],
    keys: &FieldKeys,
    q: &DeviceQuery,
    now: i64,
) -> Result<Vec<Device>> {
    let mut p = Vec::new();
    let mut cond = under_paths("d.place_path", scope, 1, &mut p);
    if let Some(u) = &q.under {
        let n = p.len() + 1;
        cond = format!(
            "{cond} AND {}",
            under_paths("d.place_path", std::slice::from_ref(u), n, &mut p)
        );
    }
    if let Some(t) = &q.device_type {
        p.push(Val::Text(t.clone()));
        cond = format!("{cond} AND p.device_type = ${}", p.len());
    }
    if let Some(id) = q.person_id {
        p.push(Val::Int(id));
        cond = format!("{cond} AND d.person_id = ${}", p.len());
    }
    if let Some(a) = q.active {
        p.push(Val::Int(a as i64));
        cond = format!("{cond} AND d.active = ${}", p.len());
    }
    if let Some((id, path)) = q.after.as_deref().and_then(parse_page_key) {
        p.push(Val::Text(path));
        p.push(Val::Int(id));
        let (k, i) = (p.len() - 1, p.len());
        cond = format!("{cond} AND (d.place_path > ${k} OR (d.place_path = ${k} AND d.id > ${i}))");
    }
    p.push(Val::Int(q.limit));
    p.push(Val::Int(q.offset));
    let sql = format!(
        "SELECT {DEVICE_COLS} FROM devices d JOIN device_profiles p ON p.id = d.profile_id \
         JOIN places pl ON pl.id = d.place_id WHERE {cond} \
         ORDER BY d.place_path, d.id LIMIT ${} OFFSET ${}",
        p.len() - 1,
        p.len()
    );
    Ok(c.query(&sql, &p)?
        .into_iter()
        .map(|r| {
            let admin = crate::org::Scope::covers(admin_scope, &r.str(6));
            device_row(r, now, admin.then_some(keys))
        })
        .collect())
}

/// One device within `scope`.
pub fn get(
    c: &mut dyn Conn,
    scope: &[String],
    admin_scope: &[String],
    keys: &FieldKeys,
    id: i64,
    now: i64,
) -> Result<Option<Device>> {
    let mut p = vec![Val::Int(id)];
    let cond = under_paths("d.place_path", scope, 2, &mut p);
    let sql = format!(
        "SELECT {DEVICE_COLS} FROM devices d JOIN device_profiles p ON p.id = d.profile_id \
         JOIN places pl ON pl.id = d.place_id WHERE d.id = $1 AND {cond}"
    );
    Ok(c.query_opt(&sql, &p)?.map(|r| {
        let admin = crate::org::Scope::covers(admin_scope, &r.str(6));
        device_row(r, now, admin.then_some(keys))
    }))
}

/// The latest value of one key.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LatestValue {
    pub key: String,
    pub ts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

pub fn latest(c: &mut dyn Conn, device_id: i64) -> Result<Vec<LatestValue>> {
    Ok(c.query(
        "SELECT key, ts, num, txt FROM device_state WHERE device_id = $1 ORDER BY key",
        params![device_id],
    )?
    .into_iter()
    .map(|mut r| LatestValue {
        key: r.str(0),
        ts: r.i64(1),
        num: r.opt_f64(2),
        text: r.take_str(3),
    })
    .collect())
}

/// Numeric readings of one key since `since`, oldest first (for the device page's chart).
pub fn series(
    c: &mut dyn Conn,
    device_id: i64,
    key: &str,
    since: i64,
    limit: i64,
) -> Result<Vec<(i64, f64)>> {
    let mut rows: Vec<(i64, f64)> = c
        .query(
            "SELECT ts, num FROM readings WHERE device_id = $1 AND key = $2 AND ts >= $3 \
             AND num IS NOT NULL ORDER BY ts DESC LIMIT $4",
            params![device_id, key, since, limit],
        )?
        .into_iter()
        .map(|r| (r.i64(0), r.opt_f64(1).unwrap_or(0.0)))
        .collect();
    rows.reverse();
    Ok(rows)
}

/// A new device; the place must be a unit, building or grid of the street.
pub struct NewDevice {
    pub street_id: i64,
    pub profile_id: i64,
    pub serial: String,
    pub model: String,
    pub place_id: i64,
    pub place_path: String,
    pub person_id: Option<i64>,
    pub household_id: Option<i64>,
}

/// Provisions a device; returns its id and its token (shown once here, and to
/// administrators in the device list).
pub fn create(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    d: &NewDevice,
    now: i64,
) -> Result<(i64, String)> {
    let token = crate::org::auth::random_token("dev_");
    let id = c.query_i64(
        "INSERT INTO devices (street_id, profile_id, serial, model, place_id, place_path, person_id, \
         household_id, token_hash, token_enc, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11) RETURNING id",
        params![
            d.street_id,
            d.profile_id,
            d.serial.as_str(),
            d.model.as_str(),
            d.place_id,
            d.place_path.as_str(),
            d.person_id,
            d.household_id,
            crate::org::auth::token_hash(&token),
            keys.encrypt(&token),
            now
        ],
    )?;
    Ok((id, token))
}

/// A device as an administrator changed it (each value already checked).
pub struct DeviceChange {
    pub profile_id: i64,
    pub model: String,
    pub place_id: i64,
    pub place_path: String,
    pub person_id: Option<i64>,
    pub household_id: Option<i64>,
    pub active: bool,
}

pub fn update(c: &mut dyn Conn, id: i64, d: &DeviceChange) -> Result<()> {
    c.exec(
        "UPDATE devices SET profile_id = $2, model = $3, place_id = $4, place_path = $5, \
         person_id = $6, household_id = $7, active = $8 WHERE id = $1",
        params![
            id,
            d.profile_id,
            d.model.as_str(),
            d.place_id,
            d.place_path.as_str(),
            d.person_id,
            d.household_id,
            d.active as i64
        ],
    )?;
    Ok(())
}

/// Stops watching a device that was deactivated, in the transaction that did it: its timers
/// and rule state go, so no absence or offline alert comes for it.
pub fn disarm(c: &mut dyn Conn, id: i64) -> Result<()> {
    c.exec("DELETE FROM rule_timers WHERE device_id = $1", params![id])?;
    c.exec("DELETE FROM rule_state WHERE device_id = $1", params![id])?;
    Ok(())
}

/// Rows for [`Conn::insert_many`] when many devices are provisioned at once (demo, bench).
pub fn bulk_row(keys: &FieldKeys, d: &NewDevice, token: &str, now: i64) -> Vec<Val> {
    vec![
        Val::Int(d.street_id),
        Val::Int(d.profile_id),
        Val::Text(d.serial.clone()),
        Val::Text(d.model.clone()),
        Val::Int(d.place_id),
        Val::Text(d.place_path.clone()),
        d.person_id.into(),
        d.household_id.into(),
        Val::Text(crate::org::auth::token_hash(token)),
        Val::Blob(keys.encrypt(token)),
        Val::Int(1),
        Val::Int(now),
    ]
}

pub const BULK_COLS: &[&str] = &[
    "street_id",
    "profile_id",
    "serial",
    "model",
    "place_id",
    "place_path",
    "person_id",
    "household_id",
    "token_hash",
    "token_enc",
    "active",
    "created_at",
];

/// Every active device with its token, for the simulator.
pub fn all_with_tokens(c: &mut dyn Conn, keys: &FieldKeys) -> Result<Vec<(i64, String, String)>> {
    Ok(c.query(
        "SELECT d.id, p.device_type, d.token_enc FROM devices d \
         JOIN device_profiles p ON p.id = d.profile_id WHERE d.active = 1 ORDER BY d.id",
        &[],
    )?
    .into_iter()
    .filter_map(|r| {
        let tok = match r.val(2) {
            Val::Blob(b) => keys.decrypt(b)?,
            _ => return None,
        };
        Some((r.i64(0), r.str(1), tok))
    })
    .collect())
}
