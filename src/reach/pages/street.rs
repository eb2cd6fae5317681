//! The street administrator's reach pages: the street's SMTP server and SMS gateway template
//! (the password never shown back: "set" and a field to replace it), a test message on each;
//! the group robots (企业微信, 钉钉, 飞书) with a test and removal; the communities' duty
//! workers. Each form posts to the same use case as the JSON API, and a refusal is shown in
//! the viewer's language with what she typed kept.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::http::{ApiForm, Path, Query, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::org::{Caller, access};
use crate::reach::admin::{self, ChannelTest, DutyRow, TestResult};
use crate::reach::model::Channel;
use crate::reach::service::{self, Duty, NewRobot};
use crate::reach::settings::{Robot, Settings};
use crate::reach::sms::Template as SmsTemplate;
use crate::state::AppState;
use crate::web::{Layout, render};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/reach/settings", get(settings_page).post(settings_submit))
        .route("/reach/settings/test", post(settings_test))
        .route("/reach/robots", get(robots_page).post(robot_add))
        .route("/reach/robots/{id}/remove", post(robot_remove))
        .route("/reach/robots/{id}/test", post(robot_test))
        .route("/reach/duty", get(duty_page).post(duty_submit))
}

#[derive(Deserialize, Default)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// A refusal (422) shown on the page; any other error goes up.
fn refusal(e: AppError) -> AppResult<String> {
    if e.status == StatusCode::UNPROCESSABLE_ENTITY {
        Ok(e.message(ctx().lang))
    } else {
        Err(e)
    }
}

fn with_status(mut res: Response, status: StatusCode) -> Response {
    *res.status_mut() = status;
    res
}

/// A test's outcome in words: taken, or the server's refusal.
fn test_words(l: &Layout, r: &TestResult) -> (bool, String) {
    if r.sent {
        (true, l.t.s("reach.test_sent").to_string())
    } else {
        (
            false,
            l.t.fill(
                "reach.test_failed",
                &[("why", &r.error.clone().unwrap_or_default())],
            ),
        )
    }
}

// ---- SMTP and SMS ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "reach/settings.html")]
pub(crate) struct SettingsPage {
    l: Layout,
    s: Settings,
    /// The SMS headers as typed: one `Name: value` a line.
    headers: String,
    error: Option<String>,
    /// A test's outcome: (taken, words).
    test: Option<(bool, String)>,
    test_channel: String,
    test_to: String,
}

impl SettingsPage {
    fn is_security(&self, v: &str) -> bool {
        self.s.smtp_security == v || (self.s.smtp_security.is_empty() && v == "starttls")
    }
    fn security_word(&self, v: &str) -> &'static str {
        self.l.t.s(&format!("reach.security.{v}"))
    }
}

fn headers_text(t: &Option<SmsTemplate>) -> String {
    t.as_ref()
        .map(|t| {
            t.headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn settings_view(l: Layout, s: Settings) -> SettingsPage {
    SettingsPage {
        headers: headers_text(&s.sms),
        l,
        s,
        error: None,
        test: None,
        test_channel: "email".into(),
        test_to: String::new(),
    }
}

pub(crate) async fn settings_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let s = service::get_settings(&state, &caller).await?;
    let mut l = Layout::new(Some(&caller));
    if q.done.as_deref() == Some("saved") {
        l.flash = Some(l.t.s("reach.saved").to_string());
    }
    Ok(render(&settings_view(l, s)))
}

#[derive(Deserialize)]
pub(crate) struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    smtp_host: String,
    #[serde(default)]
    smtp_port: String,
    #[serde(default)]
    smtp_security: String,
    #[serde(default)]
    smtp_user: String,
    #[serde(default)]
    smtp_password: String,
    #[serde(default)]
    smtp_from: String,
    #[serde(default)]
    sms_url: String,
    #[serde(default)]
    sms_headers: String,
    #[serde(default)]
    sms_format: String,
    #[serde(default)]
    sms_body: String,
    #[serde(default)]
    sms_success: String,
}

impl SettingsForm {
    /// The form as settings; a port that is not a number or a header line without a colon is
    /// refused with its catalogue key.
    fn settings(&self) -> Result<Settings, &'static str> {
        let port = match self.smtp_port.trim() {
            "" => 587,
            p => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or("reach.err.smtp_port")?,
        };
        let mut headers = Vec::new();
        for line in self
            .sms_headers
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let (k, v) = line.split_once(':').ok_or("reach.err.sms_header")?;
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        let url = self.sms_url.trim();
        let sms = (!url.is_empty()).then(|| SmsTemplate {
            url: url.to_string(),
            headers,
            format: if self.sms_format.is_empty() {
                "json".into()
            } else {
                self.sms_format.clone()
            },
            body: self.sms_body.replace("\r\n", "\n"),
            success: self.sms_success.trim().to_string(),
        });
        Ok(Settings {
            smtp_host: self.smtp_host.trim().to_string(),
            smtp_port: port,
            smtp_security: self.smtp_security.clone(),
            smtp_user: self.smtp_user.trim().to_string(),
            smtp_password: self.smtp_password.clone(),
            smtp_password_set: false,
            smtp_from: self.smtp_from.trim().to_string(),
            sms,
        })
    }
}

pub(crate) async fn settings_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<SettingsForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    access::street_admin(&caller)?;
    let outcome = match f.settings() {
        Ok(s) => service::put_settings(&state, &caller, s).await,
        Err(k) => Err(AppError::invalid(k)),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to("/reach/settings?done=saved").into_response()),
        Err(e) => {
            let msg = refusal(e)?;
            // What she typed stays (but the password, which is never written back).
            let stored = service::get_settings(&state, &caller).await?;
            let mut typed = f.settings().unwrap_or_else(|_| stored.clone());
            typed.smtp_password = String::new();
            typed.smtp_password_set = stored.smtp_password_set;
            let mut page = settings_view(Layout::new(Some(&caller)), typed);
            page.headers = f.sms_headers.clone();
            page.error = Some(msg);
            Ok(with_status(render(&page), StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct TestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    to: String,
}

pub(crate) async fn settings_test(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<TestForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let s = service::get_settings(&state, &caller).await?;
    let mut page = settings_view(Layout::new(Some(&caller)), s);
    page.test_channel = f.channel.clone();
    page.test_to = f.to.clone();
    let channel = match f.channel.as_str() {
        "sms" => Channel::Sms,
        _ => Channel::Email,
    };
    match admin::test_channel(&state, &caller, ChannelTest { channel, to: f.to }).await {
        Ok(r) => {
            page.test = Some(test_words(&page.l, &r));
            Ok(render(&page))
        }
        Err(e) => {
            page.error = Some(refusal(e)?);
            Ok(with_status(render(&page), StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}

// ---- group robots ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "reach/robots.html")]
pub(crate) struct RobotsPage {
    l: Layout,
    robots: Vec<Robot>,
    /// The places a robot may be put at: the street and its communities and grids.
    places: Vec<(i64, String)>,
    error: Option<String>,
    test: Option<(i64, bool, String)>,
    form: RobotForm,
}

impl RobotsPage {
    fn kind(&self, c: &Channel) -> &'static str {
        self.l.t.s(&format!("reach.channel.{}", c.as_str()))
    }
    fn kind_is(&self, k: &str) -> bool {
        self.form.kind == k
    }
    fn kind_word(&self, k: &str) -> &'static str {
        self.l.t.s(&format!("reach.channel.{k}"))
    }
    fn place(&self, id: &i64) -> String {
        self.places
            .iter()
            .find(|(p, _)| p == id)
            .map(|(_, n)| n.trim_start_matches(['·', ' ']).to_string())
            .unwrap_or_default()
    }
}

#[derive(Deserialize, Default, Clone)]
pub(crate) struct RobotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    place_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    secret: String,
}

/// The street and its communities and grids, indented by level, for the place select.
async fn robot_places(state: &AppState, caller: &Caller) -> AppResult<Vec<(i64, String)>> {
    let street = access::street_admin(caller)?;
    Ok(state
        .db
        .read(move |c| {
            let mut out = Vec::new();
            if let Some(s) = crate::org::places::by_id_unscoped(c, street)? {
                out.push((s.id, s.name));
            }
            for com in crate::org::places::children_full(c, street)? {
                if com.kind != "community" {
                    continue;
                }
                let grids = crate::org::places::children_full(c, com.id)?;
                out.push((com.id, format!("· {}", com.name)));
                for g in grids.into_iter().filter(|g| g.kind == "grid") {
                    out.push((g.id, format!("· · {}", g.name)));
                }
            }
            Ok(out)
        })
        .await?)
}

async fn robots_view(state: &AppState, caller: &Caller, form: RobotForm) -> AppResult<RobotsPage> {
    Ok(RobotsPage {
        robots: service::robots(state, caller).await?,
        places: robot_places(state, caller).await?,
        l: Layout::new(Some(caller)),
        error: None,
        test: None,
        form,
    })
}

pub(crate) async fn robots_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let mut page = robots_view(&state, &caller, RobotForm::default()).await?;
    match q.done.as_deref() {
        Some("added") => page.l.flash = Some(page.l.t.s("reach.robot_added").to_string()),
        Some("removed") => page.l.flash = Some(page.l.t.s("reach.robot_removed").to_string()),
        _ => {}
    }
    Ok(render(&page))
}

pub(crate) async fn robot_add(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<RobotForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    access::street_admin(&caller)?;
    let outcome = match (
        f.place_id.trim().parse::<i64>(),
        Channel::parse(&f.kind).filter(|k| Channel::ROBOTS.contains(k)),
    ) {
        (Ok(place_id), Some(kind)) => {
            let r = NewRobot {
                place_id,
                name: f.name.clone(),
                kind,
                url: f.url.clone(),
                secret: Some(f.secret.clone()).filter(|s| !s.trim().is_empty()),
            };
            service::add_robot(&state, &caller, r).await.map(|_| ())
        }
        (Err(_), _) => Err(AppError::invalid("reach.err.place")),
        (_, None) => Err(AppError::invalid("reach.err.channel")),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to("/reach/robots?done=added").into_response()),
        Err(e) => {
            let msg = refusal(e)?;
            // The secret is not written back into the page.
            let mut kept = f.clone();
            kept.secret = String::new();
            let mut page = robots_view(&state, &caller, kept).await?;
            page.error = Some(msg);
            Ok(with_status(render(&page), StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}

pub(crate) async fn robot_remove(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfOnly>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    admin::remove_robot(&state, &caller, id).await?;
    Ok(Redirect::to("/reach/robots?done=removed").into_response())
}

pub(crate) async fn robot_test(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfOnly>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let r = admin::test_robot(&state, &caller, id).await?;
    let mut page = robots_view(&state, &caller, RobotForm::default()).await?;
    let (ok, words) = test_words(&page.l, &r);
    page.test = Some((id, ok, words));
    Ok(render(&page))
}

// ---- duty workers ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "reach/duty.html")]
pub(crate) struct DutyPage {
    l: Layout,
    rows: Vec<DutyRow>,
    error: Option<(i64, String)>,
}

impl DutyPage {
    fn is_duty(&self, r: &DutyRow, w: &crate::reach::admin::Worker) -> bool {
        r.user_id == Some(w.user_id)
    }
    fn timeout_words(&self, n: &i64) -> String {
        self.l.t.fill("reach.duty_timeout_is", &[("n", n)])
    }
}

pub(crate) async fn duty_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let mut l = Layout::new(Some(&caller));
    if q.done.as_deref() == Some("saved") {
        l.flash = Some(l.t.s("reach.saved").to_string());
    }
    Ok(render(&DutyPage {
        rows: admin::duty_roster(&state, &caller).await?,
        l,
        error: None,
    }))
}

#[derive(Deserialize)]
pub(crate) struct DutyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    community_id: i64,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    timeout_min: String,
}

pub(crate) async fn duty_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<DutyForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    access::street_admin(&caller)?;
    let outcome = match (
        f.user_id.trim().parse::<i64>(),
        match f.timeout_min.trim() {
            "" => Ok(None),
            t => t.parse::<i64>().map(Some),
        },
    ) {
        (Ok(user_id), Ok(timeout_min)) => {
            let d = Duty {
                community_id: f.community_id,
                user_id,
                timeout_min,
            };
            service::set_duty(&state, &caller, d).await
        }
        (Err(_), _) => Err(AppError::invalid("reach.err.user")),
        (_, Err(_)) => Err(AppError::invalid("reach.err.timeout")),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to("/reach/duty?done=saved").into_response()),
        Err(e) => {
            let msg = refusal(e)?;
            let page = DutyPage {
                rows: admin::duty_roster(&state, &caller).await?,
                l: Layout::new(Some(&caller)),
                error: Some((f.community_id, msg)),
            };
            Ok(with_status(render(&page), StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}
