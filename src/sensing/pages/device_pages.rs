//! Devices: the list on the grid's map, one device with its chart, consent and forms.

#[allow(unused_imports)]
use super::*;
use crate::sensing::consents::{self, Consent, NewConsent};
use crate::sensing::service::{self, PlaceRef, Registration, RegistrationReport};

#[derive(Template)]
#[template(path = "sensing/devices.html")]
pub(super) struct DevicesPage {
    l: Layout,
    devices: Vec<Device>,
    map: Option<String>,
    /// The caller registers devices (a street administrator, a community worker).
    registers: bool,
    /// The caller keeps the street's device profiles (a street administrator).
    keeps_profiles: bool,
    /// The pages before and after this one (a street has thousands of devices).
    prev: Option<String>,
    next: Option<String>,
}

impl DevicesPage {
    fn when(&self, ms: &i64) -> String {
        when(*ms)
    }
}

#[derive(Deserialize)]
pub(super) struct DevicesPageQuery {
    grid: Option<i64>,
    /// The page, from 0, of [`DEVICES_PER_PAGE`].
    page: Option<i64>,
}

/// Devices on one page of the list.
const DEVICES_PER_PAGE: i64 = 200;

pub(super) async fn devices_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DevicesPageQuery>,
) -> AppResult<Response> {
    worker(&caller)?;
    let keys = state.keys.clone();
    let now = crate::sensing::of(&state).clock.now_ms();
    let scope = caller.scope.registry.clone();
    let t = Tr(ctx().lang);
    let page = q.page.unwrap_or(0).max(0);
    let grid_q = q.grid;
    let (mut devices, map) = state
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
                // One more than a page: whether there is a next one.
                limit: DEVICES_PER_PAGE + 1,
                offset: page * DEVICES_PER_PAGE,
                ..DeviceQuery::default()
            };
            let devices = devices::list(c, &scope, &[], &keys, &dq, now)?;
            let map = match &grid {
                Some(g) => grid_map(c, g, &devices, &scope, t)?,
                None => None,
            };
            Ok((devices, map))
        })
        .await?;
    let more = devices.len() as i64 > DEVICES_PER_PAGE;
    devices.truncate(DEVICES_PER_PAGE as usize);
    let link = |n: i64| match grid_q {
        Some(g) => format!("/devices?grid={g}&page={n}"),
        None => format!("/devices?page={n}"),
    };
    let prev = (page > 0).then(|| link(page - 1));
    let next = more.then(|| link(page + 1));
    crate::sensing::audit_listed(
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
        registers: service::device_editor(&caller).is_ok(),
        keeps_profiles: crate::org::access::is_street_admin(&caller),
        prev,
        next,
    }))
}

/// The grid's boundary and its buildings, each labelled with its devices and active alerts.
fn grid_map(
    c: &mut dyn crate::store::Conn,
    grid: &places::Place,
    devices: &[Device],
    scope: &[String],
    t: Tr,
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
                t.fill(
                    "sensing.map.devices_alerts",
                    &[("name", &b.name), ("n", &n), ("a", &a)],
                )
            } else {
                t.fill("sensing.map.devices", &[("name", &b.name), ("n", &n)])
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
pub(super) struct DevicePage {
    l: Layout,
    d: Device,
    latest: Vec<LatestValue>,
    alerts: Vec<Alert>,
    charts: Vec<(String, String)>,
    /// The street's profiles, when the caller administers the device's place (its forms).
    profiles: Vec<Profile>,
    editable: bool,
    /// The consent of the person it watches over.
    consent: Option<Consent>,
    error: Option<String>,
}

impl DevicePage {
    fn when(&self, ms: &i64) -> String {
        when(*ms)
    }
}

pub(super) async fn device_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    device_with(&state, &caller, id, None, StatusCode::OK).await
}

pub(super) async fn device_with(
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
    let editor = crate::org::access::place_editor_paths(caller);
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
            let editable = Scope::covers(&editor, &d.place_path);
            let profiles = match street {
                Some(s) if editable => devices::profiles(c, s)?,
                _ => Vec::new(),
            };
            let consent = consents::current(c, id)?;
            Ok(Some((
                d, latest, alerts, charts, profiles, editable, consent,
            )))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    let (d, latest, alerts, charts, profiles, editable, consent) = page;
    crate::sensing::audit_readings(state, caller, &d).await?;
    Ok(render_status(
        &DevicePage {
            l: Layout::new(Some(caller)),
            d,
            latest,
            alerts: Alert::localised(alerts, ctx().lang),
            charts,
            profiles,
            editable,
            consent,
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
        consent: consent_of(form),
        ..DevicePatch::default()
    })
}

/// The consent fields of a form, when any is filled in.
fn consent_of(form: &[(String, String)]) -> Option<NewConsent> {
    let (how, purpose) = (field(form, "consent_how"), field(form, "consent_purpose"));
    (!how.is_empty() || !purpose.is_empty()).then(|| NewConsent {
        how,
        purpose,
        scan_ref: Some(field(form, "consent_scan")).filter(|s| !s.is_empty()),
    })
}

/// The device page's forms (administrators of its place).
pub(super) async fn device_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    check_csrf(&caller, &field(&form, "csrf"))?;
    let result = match device_patch(&form) {
        Ok(patch) => crate::sensing::http::change_device(&state, &caller, id, patch).await,
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

/// The consent form of the device page: withdraws the bound person's consent and unbinds her.
pub(super) async fn withdraw_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    check_csrf(&caller, &field(&form, "csrf"))?;
    match service::withdraw_consent(&state, &caller, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/devices/{id}")).into_response()),
        Err(e) => {
            let (msg, status) = form_error(e)?;
            device_with(&state, &caller, id, Some(msg), status).await
        }
    }
}

#[derive(Template)]
#[template(path = "sensing/device_new.html")]
pub(super) struct NewDevicePage {
    l: Layout,
    profiles: Vec<Profile>,
    /// The form as sent (shown again with what was wrong).
    form: Vec<(String, String)>,
    error: Option<String>,
}

impl NewDevicePage {
    fn v(&self, name: &str) -> String {
        field(&self.form, name)
    }
}

async fn new_device_with(
    state: &AppState,
    caller: &Caller,
    form: Vec<(String, String)>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    service::device_editor(caller)?;
    let profiles = service::profiles(state, caller).await?;
    Ok(render_status(
        &NewDevicePage {
            l: Layout::new(Some(caller)),
            profiles,
            form,
            error,
        },
        status,
    ))
}

/// The form registering one device (a street administrator, a community worker).
pub(super) async fn new_device_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    new_device_with(&state, &caller, Vec::new(), None, StatusCode::OK).await
}

pub(super) async fn new_device_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    check_csrf(&caller, &field(&form, "csrf"))?;
    let id_of = |name: &str| -> AppResult<Option<i64>> {
        let v = field(&form, name);
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::invalid("error.device_ids"))
    };
    let reg = (|| -> AppResult<Registration> {
        let place = field(&form, "place");
        Ok(Registration {
            row: 1,
            profile: field(&form, "profile"),
            serial: field(&form, "serial"),
            model: field(&form, "model"),
            place: match place.parse::<i64>() {
                Ok(id) => PlaceRef::Id(id),
                Err(_) => PlaceRef::Path(place),
            },
            person_id: id_of("person_id")?,
            id_number: Some(field(&form, "id_number")).filter(|s| !s.is_empty()),
            household_id: id_of("household_id")?,
            consent: consent_of(&form),
        })
    })();
    let result = match reg {
        Ok(reg) => service::register(&state, &caller, vec![reg], false).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(report) if report.applied => {
            let id = report.created.first().map(|d| d.id).unwrap_or(0);
            Ok(Redirect::to(&format!("/devices/{id}")).into_response())
        }
        Ok(report) => {
            let msg = report
                .refused
                .first()
                .map(|r| r.reason.clone())
                .unwrap_or_default();
            new_device_with(
                &state,
                &caller,
                form,
                Some(msg),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => {
            let (msg, status) = form_error(e)?;
            new_device_with(&state, &caller, form, Some(msg), status).await
        }
    }
}

#[derive(Template)]
#[template(path = "sensing/device_import.html")]
pub(super) struct ImportPage {
    l: Layout,
    columns: &'static [&'static str],
    report: Option<RegistrationReport>,
    error: Option<String>,
}

fn import_with(
    caller: &Caller,
    report: Option<RegistrationReport>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    service::device_editor(caller)?;
    Ok(render_status(
        &ImportPage {
            l: Layout::new(Some(caller)),
            columns: &service::CSV_COLUMNS,
            report,
            error,
        },
        status,
    ))
}

/// The page importing devices from a CSV file: a dry run shows the report; applying writes
/// all rows or none.
pub(super) async fn import_page(Signed(caller): Signed) -> AppResult<Response> {
    import_with(&caller, None, None, StatusCode::OK)
}

pub(super) async fn import_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    mut mp: axum::extract::Multipart,
) -> AppResult<Response> {
    let mut csrf = String::new();
    let mut dry_run = false;
    let mut file = Vec::new();
    while let Some(f) = mp
        .next_field()
        .await
        .map_err(|_| AppError::bad_request("error.bad_form"))?
    {
        match f.name().unwrap_or("") {
            "csrf" => csrf = f.text().await.unwrap_or_default(),
            "dry_run" => dry_run = f.text().await.unwrap_or_default() == "1",
            "file" => file = crate::http::upload_bytes(f).await?.to_vec(),
            _ => {}
        }
    }
    check_csrf(&caller, &csrf)?;
    if file.is_empty() {
        let msg = AppError::invalid("device.err_no_file").message(ctx().lang);
        return import_with(&caller, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY);
    }
    match service::import_csv(&state, &caller, &file, dry_run).await {
        Ok(report) => {
            let status = if report.refused.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            import_with(&caller, Some(report), None, status)
        }
        Err(e) => {
            let (msg, status) = form_error(e)?;
            import_with(&caller, None, Some(msg), status)
        }
    }
}
