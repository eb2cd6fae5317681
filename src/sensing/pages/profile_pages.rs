//! The street's device profiles: the list, a new one and one to edit (street administrators).

#[allow(unused_imports)]
use super::*;
use crate::sensing::devices::{RuleTemplate, TelemetryKey};
use crate::sensing::service::{self, DEVICE_TYPES, ProfileBody, ProfilePatch};

#[derive(Template)]
#[template(path = "sensing/profiles.html")]
struct ProfilesPage {
    l: Layout,
    profiles: Vec<Profile>,
}

/// The street's device profiles (street administrators).
pub(super) async fn profiles_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    crate::org::access::street_admin(&caller)?;
    let profiles = service::profiles(&state, &caller).await?;
    Ok(render(&ProfilesPage {
        l: Layout::new(Some(&caller)),
        profiles,
    }))
}

#[derive(Template)]
#[template(path = "sensing/profile.html")]
struct ProfilePage {
    l: Layout,
    /// The profile edited; none for a new one.
    id: Option<i64>,
    types: &'static [&'static str],
    form: Vec<(String, String)>,
    error: Option<String>,
}

impl ProfilePage {
    fn v(&self, name: &str) -> String {
        field(&self.form, name)
    }
    fn type_key(&self, t: &&str) -> String {
        format!("sensing.type_{t}")
    }
}

/// A profile's fields as its form shows them.
fn form_of(p: &Profile) -> Vec<(String, String)> {
    let telemetry = p
        .telemetry
        .iter()
        .map(|k| format!("{} {}", k.key, k.unit).trim().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let rules = if p.default_rules.is_empty() {
        String::new()
    } else {
        serde_json::to_string_pretty(&p.default_rules).unwrap_or_default()
    };
    vec![
        ("code".into(), p.code.clone()),
        ("name".into(), p.name.clone()),
        ("device_type".into(), p.device_type.clone()),
        ("telemetry".into(), telemetry),
        ("report_interval_s".into(), p.report_interval_s.to_string()),
        ("default_rules".into(), rules),
    ]
}

/// The raw value of a form field (a textarea keeps its lines).
fn raw(form: &[(String, String)], name: &str) -> String {
    form.iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The telemetry textarea: one key a line, its unit after a space.
fn telemetry_of(text: &str) -> Vec<TelemetryKey> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((k, u)) => TelemetryKey {
                key: k.to_string(),
                unit: u.trim().to_string(),
            },
            None => TelemetryKey {
                key: l.to_string(),
                unit: String::new(),
            },
        })
        .collect()
}

fn rules_of(text: &str) -> AppResult<Vec<RuleTemplate>> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(text).map_err(|_| AppError::invalid("profile.err_rules_json"))
}

fn interval_of(text: &str) -> AppResult<i64> {
    text.trim()
        .parse()
        .map_err(|_| AppError::invalid("profile.err_interval"))
}

fn profile_with(
    caller: &Caller,
    id: Option<i64>,
    form: Vec<(String, String)>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    render_status(
        &ProfilePage {
            l: Layout::new(Some(caller)),
            id,
            types: &DEVICE_TYPES,
            form,
            error,
        },
        status,
    )
}

/// The form of a new profile.
pub(super) async fn new_profile_page(Signed(caller): Signed) -> AppResult<Response> {
    crate::org::access::street_admin(&caller)?;
    let form = vec![("report_interval_s".into(), "3600".into())];
    Ok(profile_with(&caller, None, form, None, StatusCode::OK))
}

pub(super) async fn new_profile_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    check_csrf(&caller, &field(&form, "csrf"))?;
    let body = (|| -> AppResult<ProfileBody> {
        Ok(ProfileBody {
            code: field(&form, "code"),
            name: field(&form, "name"),
            device_type: field(&form, "device_type"),
            telemetry: telemetry_of(&raw(&form, "telemetry")),
            report_interval_s: interval_of(&field(&form, "report_interval_s"))?,
            default_rules: rules_of(&raw(&form, "default_rules"))?,
        })
    })();
    let result = match body {
        Ok(b) => service::create_profile(&state, &caller, b).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(p) => Ok(Redirect::to(&format!("/device-profiles/{}", p.id)).into_response()),
        Err(e) => {
            let (msg, status) = form_error(e)?;
            Ok(profile_with(&caller, None, form, Some(msg), status))
        }
    }
}

/// One profile's form.
pub(super) async fn profile_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let p = service::profile(&state, &caller, id).await?;
    Ok(profile_with(
        &caller,
        Some(id),
        form_of(&p),
        None,
        StatusCode::OK,
    ))
}

pub(super) async fn profile_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    check_csrf(&caller, &field(&form, "csrf"))?;
    let cur = service::profile(&state, &caller, id).await?;
    let patch = (|| -> AppResult<ProfilePatch> {
        Ok(ProfilePatch {
            name: Some(field(&form, "name")),
            device_type: Some(field(&form, "device_type")),
            telemetry: Some(telemetry_of(&raw(&form, "telemetry"))),
            report_interval_s: Some(interval_of(&field(&form, "report_interval_s"))?),
            default_rules: Some(rules_of(&raw(&form, "default_rules"))?),
        })
    })();
    let result = match patch {
        Ok(p) => service::change_profile(&state, &caller, id, p).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/device-profiles/{id}?saved=1")).into_response()),
        Err(e) => {
            let (msg, status) = form_error(e)?;
            let mut form = form;
            form.push(("code".into(), cur.code));
            Ok(profile_with(&caller, Some(id), form, Some(msg), status))
        }
    }
}
