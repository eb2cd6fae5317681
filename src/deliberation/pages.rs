//! The deliberation pages: a resident's proposals in her scopes with the form to propose, a
//! proposal's page (support, comments, timeline), and the workers' queue by state, reports of
//! comments, bodies and meetings, and a meeting's page (agenda, attendance, minutes,
//! decisions and their progress).

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/proposals", get(list_page).post(create_submit))
        .route("/proposals/reports", get(reports_page))
        .route("/proposals/thresholds", post(threshold_submit))
        .route("/proposals/{id}", get(proposal_page))
        .route("/proposals/{id}/support", post(support_submit))
        .route("/proposals/{id}/withdraw", post(withdraw_submit))
        .route("/proposals/{id}/reject", post(reject_submit))
        .route("/proposals/{id}/photos", post(photo_submit))
        .route("/proposals/{id}/comments", post(comment_submit))
        .route("/proposals/{id}/comments/{cid}/hide", post(hide_submit))
        .route("/proposals/{id}/comments/{cid}/report", post(report_submit))
        .route("/meetings", get(meetings_page).post(meeting_submit))
        .route("/meetings/bodies", post(body_submit))
        .route("/meetings/bodies/{id}/members", post(member_submit))
        .route("/meetings/{id}", get(meeting_page))
        .route("/meetings/{id}/agenda", post(agenda_submit))
        .route("/meetings/{id}/attendance", post(attendance_submit))
        .route("/meetings/{id}/minutes", post(minutes_submit))
        .route("/meetings/{id}/decisions", post(decision_submit))
        .route("/meetings/decisions/{id}/progress", post(progress_submit))
        .route("/static/deliberation.css", get(css))
}

const CSS: &str = include_str!("../../static/deliberation.css");

async fn css() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

use super::service::{self, BodyView, MeetingView, ProposalList, ProposalView, Threshold};
use super::store::{Comment, Proposal, Report};
use crate::http::{ApiForm, Path, Query, Signed, blank_as_none, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::time::local_time;
use crate::org::Caller;
use crate::state::AppState;
use crate::web::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::sync::Arc;

fn state_label(l: &Layout, s: &str) -> &'static str {
    l.t.k("deliberation.state", s)
}

// ---- the list ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "deliberation/list.html")]
pub(crate) struct ListPage {
    l: Layout,
    list: ProposalList,
    only: String,
    states: &'static [&'static str],
    error: Option<String>,
    scope: String,
    title: String,
    body: String,
    thresholds: Vec<Threshold>,
    admin: bool,
    verified: bool,
}

impl ListPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn st(&self, s: &str) -> &'static str {
        state_label(&self.l, s)
    }
    fn kind(&self, s: &str) -> &'static str {
        self.l.t.k("deliberation.scope", s)
    }
    fn count(&self, p: &Proposal) -> String {
        self.l.t.fill(
            "deliberation.supports_of",
            &[("n", &p.supports), ("of", &p.threshold)],
        )
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default)]
    state: Option<String>,
}

async fn show_list(
    state: &AppState,
    caller: &Caller,
    only: Option<String>,
    typed: (String, String, String),
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let list = service::list(state, caller, only.clone()).await?;
    let thresholds = if list.worker {
        service::thresholds(state, caller).await?
    } else {
        Vec::new()
    };
    let mut res = render(&ListPage {
        l: Layout::new(Some(caller)),
        only: only.unwrap_or_default(),
        states: &super::STATES,
        error,
        scope: typed.0,
        title: typed.1,
        body: typed.2,
        thresholds,
        admin: crate::org::access::is_street_admin(caller),
        verified: caller.person_id.is_some(),
        list,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn list_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let only = q.state.filter(|s| !s.is_empty());
    show_list(
        &state,
        &caller,
        only,
        Default::default(),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct ProposeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

pub(crate) async fn create_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<ProposeForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let n = service::NewProposal {
        scope: f.scope.clone(),
        title: f.title.clone(),
        body: f.body.clone(),
        place_id: None,
    };
    match service::create(&state, &caller, n).await {
        Ok(p) => Ok(Redirect::to(&format!("/proposals/{}", p.id)).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let msg = e.message(ctx().lang);
            show_list(
                &state,
                &caller,
                None,
                (f.scope, f.title, f.body),
                Some(msg),
                e.status,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub(crate) struct ThresholdForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    scope_kind: String,
    #[serde(default, deserialize_with = "blank_as_none")]
    supports: Option<i64>,
}

pub(crate) async fn threshold_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<ThresholdForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::set_threshold(
        &state,
        &caller,
        Threshold {
            scope_kind: f.scope_kind,
            supports: f.supports.unwrap_or(0),
        },
    )
    .await?;
    Ok(Redirect::to("/proposals").into_response())
}

// ---- one proposal --------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "deliberation/proposal.html")]
pub(crate) struct ProposalPage {
    l: Layout,
    v: ProposalView,
    body: Vec<(bool, String)>,
}

impl ProposalPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn st(&self, s: &str) -> &'static str {
        state_label(&self.l, s)
    }
    fn kind(&self, s: &str) -> &'static str {
        self.l.t.k("deliberation.scope", s)
    }
    fn event(&self, s: &str) -> &'static str {
        self.l.t.k("deliberation.event", s)
    }
    fn meeting(&self, id: &Option<i64>) -> String {
        id.and_then(|m| self.v.meetings.get(&m).cloned())
            .unwrap_or_default()
    }
    fn count(&self) -> String {
        self.l.t.fill(
            "deliberation.supports_of",
            &[
                ("n", &self.v.proposal.supports),
                ("of", &self.v.proposal.threshold),
            ],
        )
    }
    fn hidden(&self, m: &Comment) -> String {
        self.l.t.fill(
            "deliberation.hidden_by",
            &[
                ("who", &m.hidden_by.clone().unwrap_or_default()),
                ("why", &m.hidden_reason.clone().unwrap_or_default()),
            ],
        )
    }
}

pub(crate) async fn proposal_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let v = service::get(&state, &caller, id).await?;
    let body = service::pieces(&v.proposal.body);
    Ok(render(&ProposalPage {
        l: Layout::new(Some(&caller)),
        v,
        body,
    }))
}

#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

fn back(id: i64) -> Response {
    Redirect::to(&format!("/proposals/{id}")).into_response()
}

pub(crate) async fn support_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfOnly>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::support(&state, &caller, id).await?;
    Ok(back(id))
}

pub(crate) async fn withdraw_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfOnly>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::withdraw(&state, &caller, id).await?;
    Ok(back(id))
}

pub(crate) async fn photo_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    m: axum::extract::Multipart,
) -> AppResult<Response> {
    let (raw, csrf) = super::http::read_photo(m).await?;
    check_csrf(&caller, &csrf)?;
    service::add_photo(&state, &caller, id, raw).await?;
    Ok(Redirect::to(&format!("/proposals/{id}#photos")).into_response())
}

#[derive(Deserialize)]
pub(crate) struct ReasonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

pub(crate) async fn reject_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<ReasonForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::reject(&state, &caller, id, &f.reason).await?;
    Ok(back(id))
}

#[derive(Deserialize)]
pub(crate) struct CommentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
}

pub(crate) async fn comment_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CommentForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::comment(&state, &caller, id, &f.body).await?;
    Ok(Redirect::to(&format!("/proposals/{id}#comments")).into_response())
}

pub(crate) async fn hide_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, cid)): Path<(i64, i64)>,
    ApiForm(f): ApiForm<ReasonForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::hide(&state, &caller, id, cid, &f.reason).await?;
    Ok(Redirect::to(&format!("/proposals/{id}#comment-{cid}")).into_response())
}

pub(crate) async fn report_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, cid)): Path<(i64, i64)>,
    ApiForm(f): ApiForm<ReasonForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::report(&state, &caller, id, cid, &f.reason).await?;
    Ok(Redirect::to(&format!("/proposals/{id}#comment-{cid}")).into_response())
}

// ---- reports -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "deliberation/reports.html")]
pub(crate) struct ReportsPage {
    l: Layout,
    reports: Vec<Report>,
}

impl ReportsPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
}

pub(crate) async fn reports_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let reports = service::reports(&state, &caller).await?;
    Ok(render(&ReportsPage {
        l: Layout::new(Some(&caller)),
        reports,
    }))
}

// ---- bodies and meetings -------------------------------------------------------------------

#[derive(Template)]
#[template(path = "deliberation/meetings.html")]
pub(crate) struct MeetingsPage {
    l: Layout,
    bodies: Vec<BodyView>,
    kinds: &'static [&'static str],
}

impl MeetingsPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn kind(&self, s: &str) -> &'static str {
        self.l.t.k("deliberation.body", s)
    }
}

pub(crate) async fn meetings_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let bodies = service::bodies(&state, &caller).await?;
    Ok(render(&MeetingsPage {
        l: Layout::new(Some(&caller)),
        bodies,
        kinds: &service::BODY_KINDS,
    }))
}

#[derive(Deserialize)]
pub(crate) struct BodyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default, deserialize_with = "blank_as_none")]
    place_id: Option<i64>,
}

pub(crate) async fn body_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<BodyForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::create_body(
        &state,
        &caller,
        service::NewBody {
            kind: f.kind,
            name: f.name,
            place_id: f.place_id.unwrap_or(0),
            org_id: None,
        },
    )
    .await?;
    Ok(Redirect::to("/meetings").into_response())
}

#[derive(Deserialize)]
pub(crate) struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    duty: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    term_start: String,
    #[serde(default)]
    term_end: String,
}

pub(crate) async fn member_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<MemberForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::add_member(
        &state,
        &caller,
        id,
        service::NewMember {
            name: f.name,
            duty: Some(f.duty),
            username: Some(f.username),
            term_start: f.term_start,
            term_end: Some(f.term_end),
        },
    )
    .await?;
    Ok(Redirect::to(&format!("/meetings#body-{id}")).into_response())
}

#[derive(Deserialize)]
pub(crate) struct MeetingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, deserialize_with = "blank_as_none")]
    body_id: Option<i64>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    location: String,
}

pub(crate) async fn meeting_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<MeetingForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let m = service::create_meeting(
        &state,
        &caller,
        service::NewMeeting {
            body_id: f.body_id.unwrap_or(0),
            title: f.title,
            starts_at: f.starts_at,
            location: f.location,
        },
    )
    .await?;
    Ok(Redirect::to(&format!("/meetings/{}", m.id)).into_response())
}

#[derive(Template)]
#[template(path = "deliberation/meeting.html")]
pub(crate) struct MeetingPage {
    l: Layout,
    v: MeetingView,
    modes: &'static [&'static str],
    today: String,
}

impl MeetingPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn st(&self, s: &str) -> &'static str {
        state_label(&self.l, s)
    }
    fn mode_of(&self, member: &i64) -> String {
        self.v
            .attendance
            .iter()
            .find(|a| a.member_id == *member)
            .map(|a| a.mode.clone())
            .unwrap_or_default()
    }
    fn mode(&self, s: &str) -> &'static str {
        self.l.t.k("deliberation.mode", s)
    }
    fn kind(&self, s: &str) -> &'static str {
        self.l.t.k("deliberation.body", s)
    }
    fn present(&self) -> String {
        let n = |m: &str| self.v.attendance.iter().filter(|a| a.mode == m).count();
        self.l.t.fill(
            "deliberation.attendance_count",
            &[
                ("in_person", &n("in_person")),
                ("online", &n("online")),
                ("all", &self.v.members.len()),
            ],
        )
    }
}

pub(crate) async fn meeting_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let v = service::meeting(&state, &caller, id).await?;
    Ok(render(&MeetingPage {
        l: Layout::new(Some(&caller)),
        v,
        modes: &service::MODES,
        today: crate::kernel::time::today().format("%Y-%m-%d").to_string(),
    }))
}

fn to_meeting(id: i64, anchor: &str) -> Response {
    Redirect::to(&format!("/meetings/{id}#{anchor}")).into_response()
}

#[derive(Deserialize)]
pub(crate) struct AgendaForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, deserialize_with = "blank_as_none")]
    proposal_id: Option<i64>,
}

pub(crate) async fn agenda_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<AgendaForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let pid = f
        .proposal_id
        .ok_or_else(|| AppError::invalid("deliberation.err_pick_proposal"))?;
    service::add_to_agenda(&state, &caller, id, pid).await?;
    Ok(to_meeting(id, "agenda"))
}

#[derive(Deserialize)]
pub(crate) struct AttendanceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, deserialize_with = "blank_as_none")]
    member_id: Option<i64>,
    #[serde(default)]
    mode: String,
}

pub(crate) async fn attendance_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<AttendanceForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::set_attendance(&state, &caller, id, f.member_id.unwrap_or(0), &f.mode).await?;
    Ok(to_meeting(id, "attendance"))
}

#[derive(Deserialize)]
pub(crate) struct MinutesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    minutes: String,
}

pub(crate) async fn minutes_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<MinutesForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::set_minutes(&state, &caller, id, &f.minutes).await?;
    Ok(to_meeting(id, "minutes"))
}

#[derive(Deserialize)]
pub(crate) struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, deserialize_with = "blank_as_none")]
    proposal_id: Option<i64>,
    #[serde(default)]
    text: String,
    #[serde(default)]
    responsible_name: String,
    #[serde(default)]
    due_date: String,
}

pub(crate) async fn decision_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<DecisionForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::decide(
        &state,
        &caller,
        id,
        service::NewDecision {
            proposal_id: f.proposal_id,
            text: f.text,
            responsible_org_id: None,
            responsible_name: Some(f.responsible_name),
            due_date: f.due_date,
        },
    )
    .await?;
    Ok(to_meeting(id, "decisions"))
}

#[derive(Deserialize)]
pub(crate) struct ProgressForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, deserialize_with = "blank_as_none")]
    meeting_id: Option<i64>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    done: Option<String>,
}

pub(crate) async fn progress_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<ProgressForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let done = f.done.as_deref().is_some_and(|d| !d.is_empty());
    let d = service::progress(&state, &caller, id, &f.note, done).await?;
    Ok(to_meeting(
        f.meeting_id.unwrap_or(d.meeting_id),
        &format!("decision-{id}"),
    ))
}

/// A verified resident's card on her home page: where her neighbours' proposals are.
#[derive(Template)]
#[template(path = "deliberation/home_card.html")]
pub(crate) struct HomeCard {
    t: crate::kernel::i18n::Tr,
}

pub async fn home_cards(
    _state: Arc<AppState>,
    caller: Caller,
) -> anyhow::Result<Vec<crate::http::area::Card>> {
    if caller.person_id.is_none() {
        return Ok(Vec::new());
    }
    let html = HomeCard {
        t: crate::kernel::i18n::Tr(ctx().lang),
    }
    .render()?;
    Ok(vec![crate::http::area::Card { order: 30, html }])
}
