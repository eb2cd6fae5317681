//! Sensing's use cases for setting devices up (issue 21, part 6), for the API and the pages
//! alike: device profiles (street administrators), devices registered one by one or from a
//! CSV file (all rows or none), changed, and bound to a person only with her consent, recorded
//! in the same transaction and written to the audit log under her. Each checks the caller, runs
//! one transaction, then tells the caches and the timers, then audits.

use std::collections::HashSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::consents::{self, HOWS, NewConsent};
use super::devices::{self, Device, Profile, RuleTemplate, TelemetryKey};
use super::{alerts, rules};
use crate::audit::{self, Action, NewEntry};
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::{Code, Lang, StatusCode, i18n};
use crate::org::{Caller, Scope, places};
use crate::state::AppState;
use crate::store::Conn;

/// The kinds of device a profile may be (each has its name in the catalogue: `sensing.type_*`).
pub const DEVICE_TYPES: [&str; 7] = [
    "door_magnet",
    "water_meter",
    "smoke_detector",
    "elevator",
    "ebike_charging",
    "smart_mattress",
    "presence_sensor",
];

/// Sensing pages and data are for the workers who read the registry, within their scope.
pub fn worker(c: &Caller) -> AppResult<()> {
    if c.reads_registry() {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// The places under which the caller sets devices up: a street administrator her street, a
/// community worker her community; nobody else (403).
pub fn device_editor(c: &Caller) -> AppResult<Vec<String>> {
    worker(c)?;
    let paths = crate::org::access::place_editor_paths(c);
    if paths.is_empty() {
        return Err(AppError::forbidden());
    }
    Ok(paths)
}

fn invalid_with(status: StatusCode, msg: String) -> AppError {
    AppError::with_message(status, Code::Invalid, msg)
}

// ---------------------------------------------------------------- profiles

/// A device profile's fields, as the API and the form give them.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    /// Letters, digits, `_` and `-`, unique in the street; it does not change.
    pub code: String,
    pub name: String,
    /// door_magnet, water_meter, smoke_detector, elevator, ebike_charging, smart_mattress or
    /// presence_sensor.
    pub device_type: String,
    /// What it measures: its telemetry keys with their units.
    pub telemetry: Vec<TelemetryKey>,
    /// Expected seconds between reports (10 s to 7 days); offline after it.
    pub report_interval_s: i64,
    /// Rules the profile brings: each becomes a rule watching the profile's devices.
    #[serde(default)]
    pub default_rules: Vec<RuleTemplate>,
}

/// Changes to a profile; what is left out stays as it is.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    pub name: Option<String>,
    pub device_type: Option<String>,
    pub telemetry: Option<Vec<TelemetryKey>>,
    pub report_interval_s: Option<i64>,
    /// Templates whose name no rule of the profile carries yet become rules.
    pub default_rules: Option<Vec<RuleTemplate>>,
}

fn key_ok(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Checks a profile's fields; the refusal is a catalogue key, or a rule's own message.
fn check_profile(p: &mut ProfileBody) -> AppResult<()> {
    p.code = p.code.trim().to_string();
    p.name = p.name.trim().to_string();
    p.device_type = p.device_type.trim().to_string();
    if !key_ok(&p.code, 40) {
        return Err(AppError::invalid("profile.err_code"));
    }
    if p.name.is_empty()
        || p.name.chars().count() > 60
        || crate::kernel::text::check_line(&p.name).is_err()
    {
        return Err(AppError::invalid("profile.err_name"));
    }
    if !DEVICE_TYPES.contains(&p.device_type.as_str()) {
        return Err(AppError::invalid("profile.err_type"));
    }
    if p.telemetry.is_empty() || p.telemetry.len() > 20 {
        return Err(AppError::invalid("profile.err_telemetry"));
    }
    let mut seen = HashSet::new();
    for k in &mut p.telemetry {
        k.key = k.key.trim().to_string();
        k.unit = k.unit.trim().to_string();
        if !key_ok(&k.key, 40) || !seen.insert(k.key.clone()) {
            return Err(AppError::invalid("profile.err_telemetry"));
        }
        if k.unit.chars().count() > 16 || crate::kernel::text::check_line(&k.unit).is_err() {
            return Err(AppError::invalid("profile.err_unit"));
        }
    }
    if !(10..=7 * 86_400).contains(&p.report_interval_s) {
        return Err(AppError::invalid("profile.err_interval"));
    }
    if p.default_rules.len() > 20 {
        return Err(AppError::invalid("profile.err_rules"));
    }
    let mut names = HashSet::new();
    for t in &p.default_rules {
        t.rule(0)
            .validate()
            .map_err(|m| invalid_with(StatusCode::UNPROCESSABLE_ENTITY, m))?;
        if !names.insert(t.name.trim().to_string()) {
            return Err(AppError::invalid("profile.err_rule_twice"));
        }
        if let Some(k) = &t.params.key
            && !seen.contains(k.trim())
        {
            return Err(AppError::invalid("profile.err_rule_key"));
        }
    }
    Ok(())
}

/// Makes rules of the templates whose name no rule of the profile carries yet.
fn rules_of_templates(
    c: &mut dyn Conn,
    street: i64,
    profile_id: i64,
    templates: &[RuleTemplate],
    user: i64,
    now: i64,
) -> crate::store::Result<usize> {
    let have: HashSet<String> = rules::list(c, &[street])?
        .into_iter()
        .filter(|r| r.profile_id == Some(profile_id) && r.device_id.is_none())
        .map(|r| r.name)
        .collect();
    let mut n = 0;
    for t in templates {
        if have.contains(t.name.trim()) {
            continue;
        }
        let id = rules::create(c, street, &t.rule(profile_id), now)?;
        rules::set_owner(c, id, user)?;
        n += 1;
    }
    Ok(n)
}

async fn after_rules(state: &Arc<AppState>, made: usize) -> AppResult<()> {
    if made > 0 {
        super::of(state).reload_rules(&state.db).await?;
        super::of(state).rules_changed_here();
        rules::sync_now(state).await?;
        super::of(state).wake.notify_one();
    }
    Ok(())
}

/// Creates a profile of the administrator's street, with its default rules.
pub async fn create_profile(
    state: &Arc<AppState>,
    caller: &Caller,
    mut body: ProfileBody,
) -> AppResult<Profile> {
    let street = crate::org::access::street_admin(caller)?;
    check_profile(&mut body)?;
    let now = super::of(state).clock.now_ms();
    let user = caller.user_id;
    let (profile, made) = state
        .db
        .write_tx(move |c| -> AppResult<(Profile, usize)> {
            if devices::profile_by_code(c, street, &body.code)?.is_some() {
                return Err(AppError::new(
                    StatusCode::CONFLICT,
                    Code::Conflict,
                    "profile.err_code_taken",
                ));
            }
            let id = devices::create_profile(
                c,
                &devices::NewProfile {
                    street_id: street,
                    code: &body.code,
                    name: &body.name,
                    device_type: &body.device_type,
                    telemetry: &body.telemetry,
                    report_interval_s: body.report_interval_s,
                },
                now,
            )?;
            devices::set_default_rules(c, id, &body.default_rules)?;
            let made = rules_of_templates(c, street, id, &body.default_rules, user, now)?;
            let p = devices::profile_by_id(c, street, id)?.ok_or_else(AppError::not_found)?;
            Ok((p, made))
        })
        .await?;
    after_rules(state, made).await?;
    Ok(profile)
}

/// Changes a profile of the administrator's street (its code stays).
pub async fn change_profile(
    state: &Arc<AppState>,
    caller: &Caller,
    id: i64,
    patch: ProfilePatch,
) -> AppResult<Profile> {
    let street = crate::org::access::street_admin(caller)?;
    let now = super::of(state).clock.now_ms();
    let user = caller.user_id;
    let (profile, made) = state
        .db
        .write_tx(move |c| -> AppResult<(Profile, usize)> {
            let cur = devices::profile_by_id(c, street, id)?.ok_or_else(AppError::not_found)?;
            let mut body = ProfileBody {
                code: cur.code,
                name: patch.name.unwrap_or(cur.name),
                device_type: patch.device_type.unwrap_or(cur.device_type),
                telemetry: patch.telemetry.unwrap_or(cur.telemetry),
                report_interval_s: patch.report_interval_s.unwrap_or(cur.report_interval_s),
                default_rules: patch.default_rules.unwrap_or(cur.default_rules),
            };
            check_profile(&mut body)?;
            devices::update_profile(
                c,
                id,
                &devices::ProfileChange {
                    name: &body.name,
                    device_type: &body.device_type,
                    telemetry: &body.telemetry,
                    report_interval_s: body.report_interval_s,
                },
            )?;
            devices::set_default_rules(c, id, &body.default_rules)?;
            let made = rules_of_templates(c, street, id, &body.default_rules, user, now)?;
            let p = devices::profile_by_id(c, street, id)?.ok_or_else(AppError::not_found)?;
            Ok((p, made))
        })
        .await?;
    // The reporting interval is cached with each device.
    super::of(state).devices_changed();
    after_rules(state, made).await?;
    Ok(profile)
}

/// A profile of the administrator's street (for its edit page).
pub async fn profile(state: &AppState, caller: &Caller, id: i64) -> AppResult<Profile> {
    let street = crate::org::access::street_admin(caller)?;
    state
        .db
        .read(move |c| devices::profile_by_id(c, street, id))
        .await?
        .ok_or_else(AppError::not_found)
}

/// The profiles of the caller's street (workers).
pub async fn profiles(state: &AppState, caller: &Caller) -> AppResult<Vec<Profile>> {
    worker(caller)?;
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    Ok(state.db.read(move |c| devices::profiles(c, street)).await?)
}

// ---------------------------------------------------------------- registration

/// Where a device is installed: a place's number or its path.
#[derive(Clone, Debug)]
pub enum PlaceRef {
    Id(i64),
    Path(String),
}

/// One device to register (a row of the form, the API or a CSV file).
#[derive(Clone, Debug)]
pub struct Registration {
    /// Its row in the file (or its position in the list), for the report.
    pub row: usize,
    pub profile: String,
    pub serial: String,
    pub model: String,
    pub place: PlaceRef,
    pub person_id: Option<i64>,
    /// The person by her ID number (found through the registry's blind index).
    pub id_number: Option<String>,
    pub household_id: Option<i64>,
    pub consent: Option<NewConsent>,
}

/// A device registered, with the provisioning token to configure on it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CreatedDevice {
    pub id: i64,
    pub serial: String,
    /// The provisioning token to configure on the device.
    pub token: String,
}

/// Why a row was refused.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RowRefusal {
    /// The row: the line in a CSV file (the header is line 1), or the position in a list from 1.
    pub row: usize,
    /// A stable code of the reason (its catalogue key).
    pub code: String,
    /// The reason, in the caller's language.
    pub reason: String,
}

/// What a registration did, or with a dry run would do.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RegistrationReport {
    pub rows: usize,
    pub dry_run: bool,
    /// True when every row was written (never with a dry run or a refused row).
    pub applied: bool,
    /// The devices written (empty unless applied).
    pub created: Vec<CreatedDevice>,
    /// The refused rows; when any is refused nothing is written.
    pub refused: Vec<RowRefusal>,
}

/// A row checked: the device to write and the consent to record with it.
struct Checked {
    device: devices::NewDevice,
    consent: Option<NewConsent>,
}

/// A refusal: a catalogue key and, for some, the value refused.
type Refused = (&'static str, Option<String>);

/// Checks a consent's fields.
pub fn check_consent(k: &NewConsent) -> Result<NewConsent, &'static str> {
    let how = k.how.trim();
    if !HOWS.contains(&how) {
        return Err("consent.err_how");
    }
    let purpose = k.purpose.trim();
    if purpose.is_empty()
        || purpose.chars().count() > 200
        || crate::kernel::text::check_line(purpose).is_err()
    {
        return Err("consent.err_purpose");
    }
    let scan = k
        .scan_ref
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if scan.is_some_and(|s| s.chars().count() > 200 || crate::kernel::text::check_line(s).is_err())
    {
        return Err("consent.err_scan");
    }
    Ok(NewConsent {
        how: how.to_string(),
        purpose: purpose.to_string(),
        scan_ref: scan.map(str::to_string),
    })
}

/// A person of the street within the editor's places, by id.
fn person_in(
    c: &mut dyn Conn,
    editor: &[String],
    street: i64,
    id: i64,
) -> crate::store::Result<bool> {
    Ok(crate::registry::residents::resident(c, id)?
        .is_some_and(|r| r.street_id == street && Scope::covers(editor, &r.place_path)))
}

fn check_row(
    c: &mut dyn Conn,
    keys: &crate::store::keys::FieldKeys,
    editor: &[String],
    reg: &Registration,
    seen: &mut HashSet<String>,
) -> crate::store::Result<Result<Checked, Refused>> {
    let serial = reg.serial.trim();
    if serial.is_empty()
        || serial.chars().count() > 64
        || crate::kernel::text::check_line(serial).is_err()
    {
        return Ok(Err(("device.err_serial", None)));
    }
    if !seen.insert(serial.to_string()) {
        return Ok(Err(("device.err_serial_twice", Some(serial.to_string()))));
    }
    if devices::serial_taken(c, serial)? {
        return Ok(Err(("device.err_serial_taken", Some(serial.to_string()))));
    }
    let model = reg.model.trim();
    if model.chars().count() > 100 || crate::kernel::text::check_line(model).is_err() {
        return Ok(Err(("error.device_model", None)));
    }
    let place = match &reg.place {
        PlaceRef::Id(id) => places::get(c, editor, *id)?,
        PlaceRef::Path(p) => {
            places::by_path(c, p.trim())?.filter(|p| Scope::covers(editor, &p.path))
        }
    };
    let Some(place) = place else {
        return Ok(Err(("error.device_place", None)));
    };
    if !matches!(place.kind.as_str(), "unit" | "building" | "grid") {
        return Ok(Err(("error.device_place_kind", None)));
    }
    let street = place.street_id.unwrap_or(place.id);
    let Some(profile) = devices::profile_by_code(c, street, reg.profile.trim())? else {
        return Ok(Err((
            "error.device_profile",
            Some(reg.profile.trim().to_string()),
        )));
    };
    let by_number = match reg
        .id_number
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(n) => {
            let Ok(idn) = crate::registry::idnum::IdNumber::parse(n) else {
                return Ok(Err(("device.err_id_number", None)));
            };
            let bidx = keys.blind_index("id_number", idn.as_str());
            match crate::registry::residents::by_id_number_index(c, street, &bidx)? {
                Some(id) => Some(id),
                None => return Ok(Err(("error.device_person", None))),
            }
        }
    };
    let person = match (reg.person_id, by_number) {
        (Some(a), Some(b)) if a != b => return Ok(Err(("device.err_person_twice", None))),
        (a, b) => a.or(b),
    };
    if let Some(p) = person
        && !person_in(c, editor, street, p)?
    {
        return Ok(Err(("error.device_person", None)));
    }
    let consent = match (person, &reg.consent) {
        (Some(_), None) => return Ok(Err(("device.err_consent_needed", None))),
        (Some(_), Some(k)) => match check_consent(k) {
            Ok(k) => Some(k),
            Err(key) => return Ok(Err((key, None))),
        },
        (None, Some(_)) => return Ok(Err(("device.err_consent_without_person", None))),
        (None, None) => None,
    };
    if let Some(h) = reg.household_id
        && crate::registry::residents::household(c, h)?.is_none_or(|h| h.street_id != street)
    {
        return Ok(Err(("error.device_household", None)));
    }
    Ok(Ok(Checked {
        device: devices::NewDevice {
            street_id: street,
            profile_id: profile.id,
            serial: serial.to_string(),
            model: model.to_string(),
            place_id: place.id,
            place_path: place.path,
            person_id: person,
            household_id: reg.household_id,
        },
        consent,
    }))
}

fn reason(lang: Lang, key: &str, value: Option<String>) -> String {
    let text = i18n::tr(lang, key);
    match value {
        Some(v) => format!("{text} ({v:?})"),
        None => text.to_string(),
    }
}

/// Registers devices, all or none: every row is checked first; when one is refused, or with a
/// dry run, nothing is written and the report says row by row what was refused. A device bound
/// to a person needs her consent, recorded with it; the binding is written to the audit log
/// under her.
pub async fn register(
    state: &Arc<AppState>,
    caller: &Caller,
    regs: Vec<Registration>,
    dry_run: bool,
) -> AppResult<RegistrationReport> {
    let editor = device_editor(caller)?;
    if regs.is_empty() || regs.len() > 5000 {
        return Err(AppError::invalid("device.err_rows"));
    }
    let lang = crate::kernel::ctx().lang;
    let keys = state.keys.clone();
    let now = super::of(state).clock.now_ms();
    let user = caller.user_id;
    let rows = regs.len();
    let (report, people) = state
        .db
        .write_tx(move |c| -> AppResult<(RegistrationReport, Vec<i64>)> {
            let mut seen = HashSet::new();
            let mut ok = Vec::with_capacity(regs.len());
            let mut refused = Vec::new();
            for reg in &regs {
                match check_row(c, &keys, &editor, reg, &mut seen)? {
                    Ok(checked) => ok.push(checked),
                    Err((key, value)) => refused.push(RowRefusal {
                        row: reg.row,
                        code: key.to_string(),
                        reason: reason(lang, key, value),
                    }),
                }
            }
            let mut report = RegistrationReport {
                rows,
                dry_run,
                applied: false,
                created: Vec::new(),
                refused,
            };
            if dry_run || !report.refused.is_empty() {
                return Ok((report, Vec::new()));
            }
            let mut people = Vec::new();
            for k in ok {
                let (id, token) = devices::create(c, &keys, &k.device, now)?;
                if let (Some(p), Some(consent)) = (k.device.person_id, &k.consent) {
                    consents::record(c, k.device.street_id, id, p, consent, Some(user), now)?;
                    people.push(p);
                }
                report.created.push(CreatedDevice {
                    id,
                    serial: k.device.serial,
                    token,
                });
            }
            report.applied = true;
            Ok((report, people))
        })
        .await?;
    if report.applied {
        super::of(state).devices_changed();
    }
    if !people.is_empty() {
        let mut people = people;
        people.sort_unstable();
        people.dedup();
        state
            .audit
            .record(
                NewEntry::by(caller, Action::Change)
                    .subjects(people.into_iter().map(audit::person))
                    .purpose("sensing device registered and bound with consent".to_string()),
            )
            .await?;
    }
    Ok(report)
}

/// The columns of a device CSV file (the header row names them, in any order; unknown columns
/// are refused so that a misspelt one is not silently ignored).
pub const CSV_COLUMNS: [&str; 11] = [
    "serial",
    "model",
    "profile",
    "place",
    "person_id",
    "id_number",
    "household_id",
    "consent_how",
    "consent_purpose",
    "consent_scan",
    "place_id",
];

/// The rows of a CSV file read, and the rows that could not be read (line, catalogue key).
pub type Parsed = (Vec<Registration>, Vec<(usize, &'static str)>);

/// Reads a device CSV file (UTF-8, a byte-order mark allowed) into registrations; a row that
/// cannot be read is refused there and then.
pub fn parse_csv(bytes: &[u8]) -> Result<Parsed, &'static str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| "device.err_csv_utf8")?;
    let mut rdr = ::csv::ReaderBuilder::new()
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = rdr
        .headers()
        .map_err(|_| "device.err_csv_header")?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    if header.iter().any(|h| !CSV_COLUMNS.contains(&h.as_str()))
        || !header.iter().any(|h| h == "serial")
        || !header.iter().any(|h| h == "profile")
        || !header.iter().any(|h| h == "place" || h == "place_id")
    {
        return Err("device.err_csv_header");
    }
    let col = |name: &str| header.iter().position(|h| h == name);
    let mut regs = Vec::new();
    let mut bad = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 2;
        let Ok(rec) = rec else {
            bad.push((row, "device.err_csv_row"));
            continue;
        };
        if rec.iter().all(|v| v.is_empty()) {
            continue;
        }
        let get = |name: &str| {
            col(name)
                .and_then(|i| rec.get(i))
                .map(str::to_string)
                .unwrap_or_default()
        };
        let num = |name: &str| -> Result<Option<i64>, ()> {
            let v = get(name);
            if v.is_empty() {
                Ok(None)
            } else {
                v.parse().map(Some).map_err(|_| ())
            }
        };
        let (Ok(person_id), Ok(household_id), Ok(place_id)) =
            (num("person_id"), num("household_id"), num("place_id"))
        else {
            bad.push((row, "error.device_ids"));
            continue;
        };
        let place = match (place_id, get("place")) {
            (Some(id), _) => PlaceRef::Id(id),
            (None, p) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => {
                PlaceRef::Id(p.parse().unwrap_or(0))
            }
            (None, p) => PlaceRef::Path(p),
        };
        let (how, purpose, scan) = (
            get("consent_how"),
            get("consent_purpose"),
            get("consent_scan"),
        );
        let consent = (!how.is_empty() || !purpose.is_empty()).then(|| NewConsent {
            how,
            purpose,
            scan_ref: Some(scan).filter(|s| !s.is_empty()),
        });
        regs.push(Registration {
            row,
            profile: get("profile"),
            serial: get("serial"),
            model: get("model"),
            place,
            person_id,
            id_number: Some(get("id_number")).filter(|s| !s.is_empty()),
            household_id,
            consent,
        });
    }
    Ok((regs, bad))
}

/// Registers the devices of a CSV file, all or none (see [`register`]); rows that cannot be
/// read are refused with the others.
pub async fn import_csv(
    state: &Arc<AppState>,
    caller: &Caller,
    bytes: &[u8],
    dry_run: bool,
) -> AppResult<RegistrationReport> {
    device_editor(caller)?;
    // A file that cannot be read as a whole is a bad request; its rows are reported (422).
    let (regs, bad) = parse_csv(bytes).map_err(AppError::bad_request)?;
    if regs.is_empty() && bad.is_empty() {
        return Err(AppError::bad_request("device.err_rows"));
    }
    let lang = crate::kernel::ctx().lang;
    let unreadable: Vec<RowRefusal> = bad
        .into_iter()
        .map(|(row, key)| RowRefusal {
            row,
            code: key.to_string(),
            reason: i18n::tr(lang, key).to_string(),
        })
        .collect();
    let n = regs.len() + unreadable.len();
    let mut report = if regs.is_empty() {
        RegistrationReport {
            rows: 0,
            dry_run,
            applied: false,
            created: Vec::new(),
            refused: Vec::new(),
        }
    } else {
        // With unreadable rows, the readable ones are only checked.
        register(state, caller, regs, dry_run || !unreadable.is_empty()).await?
    };
    report.rows = n;
    report.dry_run = dry_run;
    report.refused.extend(unreadable);
    report.refused.sort_by_key(|r| r.row);
    Ok(report)
}

// ---------------------------------------------------------------- changes and consent

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
    /// The person it watches over; `null` unbinds it (her consent is then withdrawn). Binding
    /// another person needs her `consent`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub person_id: Option<Option<i64>>,
    /// The consent of the person bound by this change (required when binding one).
    #[serde(default)]
    pub consent: Option<NewConsent>,
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

/// Applies a [`DevicePatch`] in one transaction, then tells the live streams, forgets the
/// cached device and brings the timers in line (for the API and the device page). Binding a
/// person records her consent in the same transaction; unbinding her withdraws it.
pub async fn change_device(
    state: &Arc<AppState>,
    caller: &Caller,
    id: i64,
    patch: DevicePatch,
) -> AppResult<Device> {
    worker(caller)?;
    let keys = state.keys.clone();
    let (scope, admin) = (caller.scope.registry.clone(), caller.scope.users.clone());
    let editor = crate::org::access::place_editor_paths(caller);
    let user = caller.user_id;
    let now = super::of(state).clock.now_ms();
    let today = super::of(state).today();
    let set = super::of(state).rules();
    let (device, events, people) = state
        .db
        .write_tx(
            move |c| -> AppResult<(Device, Vec<alerts::AlertEvent>, Vec<i64>)> {
                let Some(cur) = devices::get(c, &scope, &admin, &keys, id, now)? else {
                    return Err(AppError::not_found());
                };
                if !Scope::covers(&editor, &cur.place_path) {
                    return Err(AppError::forbidden());
                }
                let info = devices::info_by_id(c, id, &today)?.ok_or_else(AppError::not_found)?;
                let street_id = info.street_id;
                let (place_id, place_path) = match patch.place_id {
                    Some(pid) if pid != info.place_id => {
                        let place = places::get(c, &editor, pid)?
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
                let new_person = person_id.filter(|p| Some(*p) != info.person_id);
                let consent = match new_person {
                    Some(pid) => {
                        if !person_in(c, &editor, street_id, pid)? {
                            return Err(AppError::invalid("error.device_person"));
                        }
                        let k = patch
                            .consent
                            .as_ref()
                            .ok_or_else(|| AppError::invalid("device.err_consent_needed"))?;
                        Some(check_consent(k).map_err(AppError::invalid)?)
                    }
                    None => None,
                };
                let household_id = patch.household_id.unwrap_or(info.household_id);
                if let Some(hid) = household_id.filter(|h| Some(*h) != info.household_id)
                    && crate::registry::residents::household(c, hid)?
                        .is_none_or(|h| h.street_id != street_id)
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
                if person_id != info.person_id {
                    match (person_id, &consent) {
                        (Some(p), Some(k)) => {
                            consents::record(c, street_id, id, p, k, Some(user), now)?;
                        }
                        _ => {
                            consents::withdraw(c, id, Some(user), now)?;
                        }
                    }
                }
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
    super::of(state).publish(events);
    super::of(state).devices_changed();
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

/// Withdraws the consent of the person a device watches over: she is unbound, the device
/// stays where it is (administrators of its place). Written to the audit log under her.
pub async fn withdraw_consent(
    state: &Arc<AppState>,
    caller: &Caller,
    id: i64,
) -> AppResult<Device> {
    worker(caller)?;
    let keys = state.keys.clone();
    let (scope, admin) = (caller.scope.registry.clone(), caller.scope.users.clone());
    let editor = crate::org::access::place_editor_paths(caller);
    let user = caller.user_id;
    let now = super::of(state).clock.now_ms();
    let (device, person) = state
        .db
        .write_tx(move |c| -> AppResult<(Device, i64)> {
            let cur =
                devices::get(c, &scope, &admin, &keys, id, now)?.ok_or_else(AppError::not_found)?;
            if !Scope::covers(&editor, &cur.place_path) {
                return Err(AppError::forbidden());
            }
            let withdrawn = consents::withdraw(c, id, Some(user), now)?;
            let Some(person) = withdrawn.or(cur.person_id) else {
                return Err(AppError::new(
                    StatusCode::CONFLICT,
                    Code::Conflict,
                    "consent.err_none",
                ));
            };
            devices::unbind_person(c, id)?;
            let device =
                devices::get(c, &scope, &admin, &keys, id, now)?.ok_or_else(AppError::not_found)?;
            Ok((device, person))
        })
        .await?;
    super::of(state).devices_changed();
    rules::sync_now(state).await?;
    state
        .audit
        .record(
            NewEntry::by(caller, Action::Change)
                .subjects([audit::person(person)])
                .purpose(format!(
                    "sensing device {id}: consent withdrawn, person unbound"
                )),
        )
        .await?;
    Ok(device)
}
