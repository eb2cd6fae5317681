//! Worker pages: the alerts list with live updates (SSE), the devices of a grid on its map,
//! a device page with a chart of recent readings (SVG drawn on the server), and the street's
//! rules. Administrators change devices and rules on their pages.

use std::fmt::Write;
use std::sync::Arc;

use crate::http::{Path, Query};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::alerts::{self, Alert, AlertHistory, AlertQuery};
use super::devices::{self, Device, DeviceQuery, LatestValue, Profile};
use super::http::{DevicePatch, worker};
use super::rules::{Rule, RuleKind, RulePatch, RulePreview};
use crate::http::{ApiForm, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::Tr;
use crate::org::{Caller, Scope, places};
use crate::registry::access::Field;
use crate::state::AppState;
use crate::web::Layout;
use crate::web::{esc, map};

pub const SENSING_JS: &str = include_str!("../../static/sensing.js");

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/alerts", get(alerts_page))
        .route("/alerts/{id}", get(alert_page))
        .route("/alerts/{id}/ack", post(ack_form))
        .route("/alerts/{id}/clear", post(clear_form))
        .route("/alerts/{id}/reveal", post(reveal_form))
        .route("/devices", get(devices_page))
        .route("/devices/{id}", get(device_page).post(device_form))
        .route("/rules", get(rules_page))
        .route("/rules/{id}", get(rule_page).post(rule_form))
        .route("/rules/{id}/delete", post(rule_delete_form))
        .route("/static/sensing.js", get(asset_js))
}

async fn asset_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SENSING_JS,
    )
}

fn render(t: &impl Template) -> Response {
    render_status(t, StatusCode::OK)
}

/// A page answered with `status` (a form shown again with what was wrong).
fn render_status(t: &impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => AppError::internal("rendering a page", e).into_response(),
    }
}

/// The form's fields by name (the last value of a name wins), trimmed.
fn field(form: &[(String, String)], name: &str) -> String {
    form.iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

/// A refusal of a form: shown again on its page when the caller can fix it; other errors as
/// they are.
fn form_error(e: AppError) -> Result<(String, StatusCode), AppError> {
    if e.status.is_client_error()
        && !matches!(e.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN)
    {
        Ok((e.message(ctx().lang), e.status))
    } else {
        Err(e)
    }
}

/// Local time (China Standard Time) for pages.
pub fn when(ms: i64) -> String {
    use chrono::TimeZone;
    super::rules::cst()
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "sensing/alerts.html")]
struct AlertsPage {
    l: Layout,
    alerts: Vec<Alert>,
    active_only: bool,
    /// The case whose alerts are listed (a grouped case).
    case_id: Option<i64>,
}

impl AlertsPage {
    fn title(&self) -> String {
        match self.case_id {
            Some(c) => self.l.t.n("alert.case_filter", c),
            None => self.l.t.s("alert.title").to_string(),
        }
    }
    fn when(&self, ms: &i64) -> String {
        when(*ms)
    }
}

#[derive(Deserialize)]
struct AlertsPageQuery {
    all: Option<String>,
    /// Only the alerts of this case (a grouped case lists several).
    case: Option<i64>,
}

async fn alerts_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<AlertsPageQuery>,
) -> AppResult<Response> {
    worker(&caller)?;
    let active_only = q.all.is_none() && q.case.is_none();
    let aq = AlertQuery {
        active: active_only.then_some(true),
        case_id: q.case,
        limit: 300,
        ..AlertQuery::default()
    };
    let scope = caller.scope.registry.clone();
    let alerts = state.db.read(move |c| alerts::list(c, &scope, &aq)).await?;
    super::audit_listed(
        &state,
        &caller,
        alerts.iter().map(|a| a.person_id),
        [],
        crate::audit::Action::List,
    )
    .await?;
    Ok(render(&AlertsPage {
        l: Layout::new(Some(&caller)),
        alerts: Alert::localised(alerts, ctx().lang),
        active_only,
        case_id: q.case,
    }))
}

#[derive(Template)]
#[template(path = "sensing/alert.html")]
struct AlertPage {
    l: Layout,
    a: Alert,
    history: Vec<AlertHistory>,
    who: Option<WhoToCall>,
    /// A phone just revealed for a call: (person, whose: her own or her emergency contact's, number).
    revealed: Option<(i64, Field, String)>,
    error: Option<String>,
    purposes: &'static [&'static str],
}

impl AlertPage {
    fn when(&self, ms: &i64) -> String {
        when(*ms)
    }
    /// A history entry's note in the viewer's language: the system's notes by their words,
    /// a worker's note as written; a new alert's note is its sentence, shown above already.
    fn note(&self, h: &AlertHistory) -> String {
        match (h.action.as_str(), h.note.as_str()) {
            ("raised" | "case_requested" | "escalated", _) => String::new(),
            ("grouped", n) => n.split_whitespace().next().unwrap_or_default().to_string(),
            (_, "case closed") => self.l.t.s("alert.n_case_closed").to_string(),
            (_, "condition no longer holds") => self.l.t.s("alert.n_condition_gone").to_string(),
            (_, "device deactivated") => self.l.t.s("alert.n_device_deactivated").to_string(),
            (_, "rule changed") => self.l.t.s("alert.n_rule_changed").to_string(),
            (_, "rule deleted") => self.l.t.s("alert.n_rule_deleted").to_string(),
            (_, "rule disabled") => self.l.t.s("alert.n_rule_disabled").to_string(),
            (_, "the awaited event happened") => self.l.t.s("alert.n_event_happened").to_string(),
            (_, "the device is back online") => self.l.t.s("alert.n_back_online").to_string(),
            (_, "value back in range") => self.l.t.s("alert.n_back_in_range").to_string(),
            (_, n) => n.to_string(),
        }
    }
    fn shown(&self, person: &i64) -> Option<&str> {
        match &self.revealed {
            Some((p, Field::Phone, v)) if p == person => Some(v.as_str()),
            _ => None,
        }
    }
    fn shown_emergency(&self, person: &i64) -> Option<&str> {
        match &self.revealed {
            Some((p, Field::EmergencyPhone, v)) if p == person => Some(v.as_str()),
            _ => None,
        }
    }
    /// The number as a `tel:` address: digits and a leading `+` only.
    fn tel(&self, number: &str) -> String {
        number
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect()
    }
}

/// Whom a care alert asks the worker to call: where, who lives there, her household's other
/// members (the registry's emergency contacts), and the workers responsible for the place.
struct WhoToCall {
    /// The building, or "" when the device is on a building or higher.
    building: String,
    /// The unit (room), or the place's name.
    unit: String,
    person: Option<Contact>,
    household: Vec<Contact>,
    /// (name, role key) of the grid and community workers responsible.
    helpers: Vec<(String, String)>,
    /// The person's own emergency contact: (name, number masked).
    emergency: Option<(String, Option<String>)>,
}

struct Contact {
    id: i64,
    name: String,
    /// The relation's translation key (`relation.child`), empty for the person herself.
    relation: String,
    phone_masked: Option<String>,
}

/// Where the alert is, and (for a device bound to a person) whom to call: her record and her
/// household are read through the registry, so each read is scope-checked and audited as
/// the person's page is.
async fn who_to_call(state: &AppState, caller: &Caller, a: &Alert) -> AppResult<WhoToCall> {
    let (place_id, path) = (a.place_id, a.place_path.clone());
    let (building, unit, helpers) = state
        .db
        .read(move |c| {
            let place = places::by_id_unscoped(c, place_id)?;
            let (building, unit) = match place {
                Some(p) if p.kind == "unit" => {
                    let b = match p.parent_id {
                        Some(b) => places::by_id_unscoped(c, b)?.map(|b| b.name),
                        None => None,
                    };
                    (b.unwrap_or_default(), p.name)
                }
                Some(p) => (String::new(), p.name),
                None => (String::new(), String::new()),
            };
            let helpers = crate::org::users::workers_for(c, &path)?
                .into_iter()
                .map(|(n, r)| (n, format!("role.{}", r.as_str())))
                .collect::<Vec<_>>();
            Ok((building, unit, helpers))
        })
        .await?;
    let mut who = WhoToCall {
        building,
        unit,
        person: None,
        household: Vec::new(),
        helpers,
        emergency: None,
    };
    let Some(pid) = a.person_id else {
        return Ok(who);
    };
    let person = match crate::registry::access::person(state, caller, pid).await {
        Ok(p) => p,
        Err(e) if e.status == StatusCode::NOT_FOUND => return Ok(who),
        Err(e) => return Err(e),
    };
    who.person = Some(Contact {
        id: person.id,
        name: person.name.clone(),
        relation: String::new(),
        phone_masked: person.phone_masked.clone(),
    });
    who.emergency =
        (person.emergency_name.clone()).map(|n| (n, person.emergency_phone_masked.clone()));
    if let Some(hid) = person.household_id {
        match crate::registry::access::household(state, caller, hid).await {
            Ok(h) => {
                who.household = h
                    .members
                    .into_iter()
                    .filter(|m| m.id != pid)
                    .map(|m| Contact {
                        id: m.id,
                        name: m.name,
                        relation: format!("relation.{}", m.relation),
                        phone_masked: m.phone_masked,
                    })
                    .collect();
            }
            Err(e) if e.status == StatusCode::NOT_FOUND => {}
            Err(e) => return Err(e),
        }
    }
    Ok(who)
}

async fn alert_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    alert_with(&state, &caller, id, None, None, None, StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
async fn alert_with(
    state: &AppState,
    caller: &Caller,
    id: i64,
    who: Option<WhoToCall>,
    revealed: Option<(i64, Field, String)>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    worker(caller)?;
    let scope = caller.scope.registry.clone();
    let (mut a, history) = state
        .db
        .read(move |c| {
            let Some(a) = alerts::get(c, &scope, id)? else {
                return Ok(None);
            };
            Ok(Some((a, alerts::history(c, id)?)))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    a.localise(ctx().lang);
    let who = match who {
        Some(w) => Some(w),
        None => Some(who_to_call(state, caller, &a).await?),
    };
    Ok(render_status(
        &AlertPage {
            l: Layout::new(Some(caller)),
            a,
            history,
            who,
            revealed,
            error,
            purposes: &crate::registry::access::PURPOSES,
        },
        status,
    ))
}

#[derive(Deserialize)]
struct RevealForm {
    #[serde(default)]
    csrf: String,
    person: i64,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    note: String,
    /// `emergency_phone` for the person's emergency contact; her own phone otherwise.
    #[serde(default)]
    field: String,
}

/// Reveals the phone of the alert's person or of a member of her household, for a call: the
/// registry's reveal with a purpose ("紧急联系" preselected), audited as every reveal is.
async fn reveal_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<RevealForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    worker(&caller)?;
    let scope = caller.scope.registry.clone();
    let a = state
        .db
        .read(move |c| alerts::get(c, &scope, id))
        .await?
        .ok_or_else(AppError::not_found)?;
    let who = who_to_call(&state, &caller, &a).await?;
    let callable = who
        .person
        .iter()
        .chain(who.household.iter())
        .any(|p| p.id == f.person);
    if !callable {
        return Err(AppError::not_found());
    }
    use crate::registry::access::reveal;
    let field = match f.field.as_str() {
        "emergency_phone" if who.person.as_ref().is_some_and(|p| p.id == f.person) => {
            Field::EmergencyPhone
        }
        _ => Field::Phone,
    };
    match reveal(&state, &caller, f.person, field, &f.purpose, &f.note).await {
        Ok(v) => {
            let shown = Some((f.person, field, v));
            alert_with(&state, &caller, id, Some(who), shown, None, StatusCode::OK).await
        }
        Err(e) if e.status.is_client_error() => {
            let (status, msg) = (e.status, Some(e.message(ctx().lang)));
            alert_with(&state, &caller, id, Some(who), None, msg, status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct ActionForm {
    csrf: String,
    #[serde(default)]
    note: String,
}

async fn ack_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<ActionForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    super::http::act(&state, &caller, id, true, f.note).await?;
    Ok(Redirect::to(&format!("/alerts/{id}")).into_response())
}

async fn clear_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<ActionForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    super::http::act(&state, &caller, id, false, f.note).await?;
    Ok(Redirect::to(&format!("/alerts/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "sensing/devices.html")]
struct DevicesPage {
    l: Layout,
    devices: Vec<Device>,
    map: Option<String>,
}

impl DevicesPage {
    fn when(&self, ms: &i64) -> String {
        when(*ms)
    }
}

#[derive(Deserialize)]
struct DevicesPageQuery {
    grid: Option<i64>,
}

async fn devices_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DevicesPageQuery>,
) -> AppResult<Response> {
    worker(&caller)?;
    let keys = state.keys.clone();
    let now = crate::sensing::of(&state).clock.now_ms();
    let scope = caller.scope.registry.clone();
    let (devices, map) = state
        .db
        .read(move |c| {
            // The grid to draw: the one asked for, or the caller's own when she has one.
            let grid = match q.grid {
                Some(id) => places::get(c, &scope, id)?,
                None => match scope.as_slice() {
                    [one] => places::by_path(c, one)?,
                    _ => None,
                },
            }
            .filter(|p| p.kind == "grid");
            // Deactivated devices too, marked as such (an administrator activates them again
            // on their page).
            let dq = DeviceQuery {
                under: grid.as_ref().map(|g| g.path.clone()),
                limit: 1000,
                ..DeviceQuery::default()
            };
            let devices = devices::list(c, &scope, &[], &keys, &dq, now)?;
            let map = match &grid {
                Some(g) => grid_map(c, g, &devices, &scope)?,
                None => None,
            };
            Ok((devices, map))
        })
        .await?;
    super::audit_listed(
        &state,
        &caller,
        devices.iter().map(|d| d.person_id),
        devices.iter().map(|d| d.household_id),
        crate::audit::Action::List,
    )
    .await?;
    Ok(render(&DevicesPage {
        l: Layout::new(Some(&caller)),
        devices,
        map,
    }))
}

/// The grid's boundary and its buildings, each labelled with its devices and active alerts.
fn grid_map(
    c: &mut dyn crate::store::Conn,
    grid: &places::Place,
    devices: &[Device],
    scope: &[String],
) -> crate::store::Result<Option<String>> {
    let full = places::by_id_unscoped(c, grid.id)?;
    let buildings = places::children_full(c, grid.id)?;
    let active = alerts::list(
        c,
        scope,
        &AlertQuery {
            active: Some(true),
            limit: 1000,
            ..AlertQuery::default()
        },
    )?;
    let areas: Vec<map::Area> = full
        .and_then(|g| g.geojson.clone().map(|geo| (g, geo)))
        .map(|(g, geo)| map::Area {
            label: g.name,
            href: None,
            geojson: geo,
            highlight: true,
        })
        .into_iter()
        .collect();
    let spots: Vec<map::Spot> = buildings
        .iter()
        .filter_map(|b| {
            let under = |p: &str| p == b.path || p.starts_with(&format!("{}/", b.path));
            let n = devices
                .iter()
                .filter(|d| d.active && under(&d.place_path))
                .count();
            if n == 0 {
                return None;
            }
            let a = active.iter().filter(|a| under(&a.place_path)).count();
            let label = if a > 0 {
                format!("{} · {n} 台设备 · {a} 条告警", b.name)
            } else {
                format!("{} · {n} 台设备", b.name)
            };
            Some(map::Spot {
                label,
                href: Some(format!("/devices?grid={}#b{}", grid.id, b.id)),
                geojson: b.geojson.clone()?,
                class: map::BUILDING,
            })
        })
        .collect();
    Ok(map::render(&areas, &spots, &grid.name))
}

#[derive(Template)]
#[template(path = "sensing/device.html")]
struct DevicePage {
    l: Layout,
    d: Device,
    latest: Vec<LatestValue>,
    alerts: Vec<Alert>,
    charts: Vec<(String, String)>,
    /// The street's profiles, when the caller administers the device's place (its forms).
    profiles: Vec<Profile>,
    editable: bool,
    error: Option<String>,
}

impl DevicePage {
    fn when(&self, ms: &i64) -> String {
        when(*ms)
    }
}

async fn device_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    device_with(&state, &caller, id, None, StatusCode::OK).await
}

async fn device_with(
    state: &AppState,
    caller: &Caller,
    id: i64,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    worker(caller)?;
    let keys = state.keys.clone();
    let now = crate::sensing::of(state).clock.now_ms();
    let (scope, admin) = (caller.scope.registry.clone(), caller.scope.users.clone());
    let street = caller.street_id;
    let page = state
        .db
        .read(move |c| {
            let Some(d) = devices::get(c, &scope, &admin, &keys, id, now)? else {
                return Ok(None);
            };
            let latest = devices::latest(c, id)?;
            let alerts = alerts::list(
                c,
                &scope,
                &AlertQuery {
                    device_id: Some(id),
                    limit: 20,
                    ..AlertQuery::default()
                },
            )?;
            let mut charts = Vec::new();
            for v in latest.iter().filter(|v| v.num.is_some()) {
                let pts = devices::series(c, id, &v.key, now - 7 * 86_400_000, 500)?;
                if let Some(svg) = chart(&pts, &v.key) {
                    charts.push((v.key.clone(), svg));
                }
            }
            let editable = Scope::covers(&admin, &d.place_path);
            let profiles = match street {
                Some(s) if editable => devices::profiles(c, s)?,
                _ => Vec::new(),
            };
            Ok(Some((d, latest, alerts, charts, profiles, editable)))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    let (d, latest, alerts, charts, profiles, editable) = page;
    super::audit_readings(state, caller, &d).await?;
    Ok(render_status(
        &DevicePage {
            l: Layout::new(Some(caller)),
            d,
            latest,
            alerts: Alert::localised(alerts, ctx().lang),
            charts,
            profiles,
            editable,
            error,
        },
        status,
    ))
}

/// What the device page's forms ask: `active` alone deactivates or activates the device;
/// otherwise place, bound person and household (empty: none), profile and model.
fn device_patch(form: &[(String, String)]) -> AppResult<DevicePatch> {
    if form.iter().any(|(n, _)| n == "active") {
        return Ok(DevicePatch {
            active: Some(field(form, "active") == "1"),
            ..DevicePatch::default()
        });
    }
    let id_of = |name: &str| -> AppResult<Option<i64>> {
        let v = field(form, name);
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::invalid("error.device_ids"))
    };
    Ok(DevicePatch {
        place_id: id_of("place_id")?,
        person_id: Some(id_of("person_id")?),
        household_id: Some(id_of("household_id")?),
        profile: Some(field(form, "profile")).filter(|p| !p.is_empty()),
        model: Some(field(form, "model")),
        ..DevicePatch::default()
    })
}

/// The device page's forms (administrators of its place).
async fn device_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    check_csrf(&caller, &field(&form, "csrf"))?;
    let result = match device_patch(&form) {
        Ok(patch) => super::http::change_device(&state, &caller, id, patch).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/devices/{id}")).into_response()),
        Err(e) => {
            let (msg, status) = form_error(e)?;
            device_with(&state, &caller, id, Some(msg), status).await
        }
    }
}

// ---------------------------------------------------------------- rules

/// The parameters a rule of this kind takes, in the order its form shows them.
fn param_names(kind: RuleKind) -> &'static [&'static str] {
    match kind {
        RuleKind::Threshold => &["key", "op", "value", "duration_s", "repeat"],
        RuleKind::Event => &["key", "equals"],
        RuleKind::Absence => &["key", "equals", "absence_s", "window", "min_total"],
        RuleKind::Offline => &["after_s"],
    }
}

/// A rule as its pages show it.
struct RuleView {
    r: Rule,
    /// What it watches, in words.
    target: String,
    /// Its parameters in words.
    summary: String,
    /// The form's parameter fields: (name, translation key of the label, current value).
    fields: Vec<(&'static str, String, String)>,
}

impl RuleView {
    fn new(r: Rule, profiles: &[Profile], t: Tr) -> RuleView {
        let shown = serde_json::to_value(&r.params).unwrap_or_default();
        let text = |name: &str| match shown.get(name) {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        };
        let fields: Vec<(&'static str, String, String)> = param_names(r.kind)
            .iter()
            .map(|n| (*n, format!("p_{n}"), text(n)))
            .collect();
        let summary = super::words::rule_summary(r.kind.as_str(), &r.params, t);
        let mut target = Vec::new();
        if let Some(p) = r.profile_id {
            let name = profiles
                .iter()
                .find(|x| x.id == p)
                .map(|x| x.name.clone())
                .unwrap_or_else(|| format!("#{p}"));
            target.push(format!("{} {name}", t.s("rule.target_profile")));
        }
        if let Some(d) = r.device_id {
            target.push(format!("{} #{d}", t.s("rule.target_device")));
        }
        if let Some(tag) = &r.tag {
            target.push(format!("{} {}", t.s("rule.target_tag"), t.k_or("tag", tag)));
        }
        RuleView {
            target: target.join(" · "),
            summary,
            fields,
            r,
        }
    }
    fn kind_key(&self) -> String {
        format!("kind_{}", self.r.kind.as_str())
    }
    fn sev_key(&self) -> String {
        format!("sev_{}", self.r.severity)
    }
}

#[derive(Template)]
#[template(path = "sensing/rules.html")]
struct RulesPage {
    l: Layout,
    rules: Vec<RuleView>,
    editable: bool,
}

async fn rules_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    worker(&caller)?;
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    let (rules, profiles) = state
        .db
        .read(move |c| {
            Ok((
                super::rules::list(c, &[street])?,
                devices::profiles(c, street)?,
            ))
        })
        .await?;
    let t = Tr(ctx().lang);
    let editable = crate::org::access::is_street_admin(&caller);
    Ok(render(&RulesPage {
        l: Layout::new(Some(&caller)),
        rules: rules
            .into_iter()
            .map(|r| RuleView::new(r, &profiles, t))
            .collect(),
        editable,
    }))
}

#[derive(Template)]
#[template(path = "sensing/rule.html")]
struct RulePage {
    l: Layout,
    v: RuleView,
    /// (code, translation key) of each severity, for the form's choice.
    severities: Vec<(&'static str, String)>,
    editable: bool,
    error: Option<String>,
    /// A change not saved because it would fire now: its preview, and the form as sent (to
    /// send again with the confirmation).
    preview: Option<(RulePreview, Vec<(String, String)>)>,
    /// The name of the case category an alert of the rule opens (its code when unknown).
    category: Option<String>,
}

impl RulePage {
    fn watched_line(&self, p: &RulePreview) -> String {
        self.l.t.fill(
            "rule.preview_watched",
            &[("n", &p.watched), ("a", &p.already_active)],
        )
    }
    fn selected(&self, severity: &str) -> bool {
        self.v.r.severity == severity
    }
}

async fn rule_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    rule_with(&state, &caller, id, None, None, StatusCode::OK).await
}

async fn rule_with(
    state: &AppState,
    caller: &Caller,
    id: i64,
    error: Option<String>,
    preview: Option<(RulePreview, Vec<(String, String)>)>,
    status: StatusCode,
) -> AppResult<Response> {
    worker(caller)?;
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    let lang = ctx().lang;
    let (rule, profiles, category) = state
        .db
        .read(move |c| {
            let rule = super::rules::get(c, street, id)?;
            let category = match &rule {
                Some(r) => crate::cases::category_by_code(c, street, &r.category)?
                    .map(|k| k.name(lang).to_string()),
                None => None,
            };
            Ok((rule, devices::profiles(c, street)?, category))
        })
        .await?;
    let rule = rule.ok_or_else(AppError::not_found)?;
    let editable = crate::org::access::is_street_admin(caller);
    Ok(render_status(
        &RulePage {
            l: Layout::new(Some(caller)),
            v: RuleView::new(rule, &profiles, Tr(ctx().lang)),
            severities: super::rules::SEVERITIES
                .iter()
                .map(|s| (*s, format!("sev_{s}")))
                .collect(),
            editable,
            error,
            preview,
            category,
        },
        status,
    ))
}

/// A parameter as typed into the rule form: text, a number, or (for `equals`) whichever it
/// looks like; an empty field removes the parameter.
fn param_value(name: &str, v: &str) -> AppResult<serde_json::Value> {
    use serde_json::Value;
    if v.is_empty() {
        return Ok(Value::Null);
    }
    let number = || -> AppResult<Value> {
        v.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| AppError::invalid("error.rule_number"))
    };
    Ok(match name {
        "value" | "min_total" => number()?,
        "duration_s" | "repeat" | "absence_s" | "after_s" => v
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| AppError::invalid("error.rule_number"))?,
        "equals" => match v {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => number().unwrap_or_else(|_| Value::String(v.to_string())),
        },
        _ => Value::String(v.to_string()),
    })
}

/// The rule page's form (street administrators): every field of it, parameters included.
async fn rule_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    check_csrf(&caller, &field(&form, "csrf"))?;
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    let kind = state
        .db
        .read(move |c| super::rules::get(c, street, id))
        .await?
        .ok_or_else(AppError::not_found)?
        .kind;
    let mut params = serde_json::Map::new();
    let mut bad = None;
    for name in param_names(kind) {
        match param_value(name, &field(&form, &format!("p_{name}"))) {
            Ok(v) => {
                params.insert(name.to_string(), v);
            }
            Err(e) => bad = Some(e),
        }
    }
    let result = match bad {
        Some(e) => Err(e),
        None => {
            let ack = field(&form, "ack_minutes");
            let patch = RulePatch {
                name: Some(field(&form, "name")),
                severity: Some(field(&form, "severity")),
                active: Some(field(&form, "active") == "1"),
                params: Some(serde_json::Value::Object(params)),
                category: Some(field(&form, "category")),
                ack_minutes: Some(ack.parse::<i64>().unwrap_or(0)),
                overrides: None,
                confirm: Some(field(&form, "confirm") == "1"),
            };
            super::http::change_rule(&state, &caller, id, patch).await
        }
    };
    match result {
        Ok(super::http::RuleChange::Saved(_)) => {
            Ok(Redirect::to(&format!("/rules/{id}")).into_response())
        }
        Ok(super::http::RuleChange::Unconfirmed(p)) => {
            let sent: Vec<(String, String)> = form
                .into_iter()
                .filter(|(n, _)| n != "csrf" && n != "confirm")
                .collect();
            rule_with(&state, &caller, id, None, Some((p, sent)), StatusCode::OK).await
        }
        Err(e) => {
            let (msg, status) = form_error(e)?;
            rule_with(&state, &caller, id, Some(msg), None, status).await
        }
    }
}

async fn rule_delete_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    check_csrf(&caller, &field(&form, "csrf"))?;
    super::http::remove_rule(&state, &caller, id).await?;
    Ok(Redirect::to("/rules").into_response())
}

/// A line chart of (time, value) points as inline SVG, with the range and time span marked.
pub fn chart(pts: &[(i64, f64)], title: &str) -> Option<String> {
    if pts.len() < 2 {
        return None;
    }
    let (w, h, pad) = (640.0, 180.0, 28.0);
    let (t0, t1) = (pts[0].0 as f64, pts[pts.len() - 1].0 as f64);
    let lo = pts.iter().map(|p| p.1).fold(f64::MAX, f64::min);
    let hi = pts.iter().map(|p| p.1).fold(f64::MIN, f64::max);
    let span_t = (t1 - t0).max(1.0);
    let span_v = if hi > lo { hi - lo } else { 1.0 };
    let x = |t: f64| pad + (t - t0) / span_t * (w - 2.0 * pad);
    let y = |v: f64| h - pad - (v - lo) / span_v * (h - 2.0 * pad);
    let mut path = String::new();
    for (i, (t, v)) in pts.iter().enumerate() {
        let _ = write!(
            path,
            "{}{:.1},{:.1}",
            if i == 0 { "M" } else { " L" },
            x(*t as f64),
            y(*v)
        );
    }
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><title>{t}</title><rect x="0" y="0" width="{w}" height="{h}" fill="#fff"/><line x1="{pad}" y1="{yb}" x2="{xr}" y2="{yb}" stroke="#ccc"/><line x1="{pad}" y1="{pad}" x2="{pad}" y2="{yb}" stroke="#ccc"/><path d="{path}" fill="none" stroke="#1f6feb" stroke-width="1.5"/><text x="2" y="{ty}" font-size="11">{hi}</text><text x="2" y="{yb}" font-size="11">{lo}</text><text x="{pad}" y="{h}" font-size="11">{a}</text><text x="{xr}" y="{h}" font-size="11" text-anchor="end">{b}</text></svg>"##,
        t = esc(title),
        yb = h - pad,
        xr = w - pad,
        ty = pad,
        hi = fmt_num(hi),
        lo = fmt_num(lo),
        a = esc(&when(pts[0].0)),
        b = esc(&when(pts[pts.len() - 1].0)),
    );
    Some(s)
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e12 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}
