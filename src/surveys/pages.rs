//! The surveys pages: the list (what was put to me; for a worker what she manages, with the
//! response rate), the form that writes or edits a survey, a survey (the answer form on a
//! phone, or its manager's view), the results with SVG bar charts, and the XLSX download.

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/surveys", get(list_page))
        .route("/surveys/new", get(new_page).post(new_submit))
        .route("/surveys/satisfaction", post(satisfaction_submit))
        .route("/surveys/{id}", get(survey_page))
        .route("/surveys/{id}/edit", get(edit_page).post(edit_submit))
        .route("/surveys/{id}/answer", post(answer_submit))
        .route("/surveys/{id}/publish", post(publish_submit))
        .route("/surveys/{id}/close", post(close_submit))
        .route("/surveys/{id}/results", get(results_page))
        .route("/surveys/{id}/results.xlsx", get(results_download))
        .route("/static/surveys.css", get(surveys_css))
}

const SURVEYS_CSS: &str = include_str!("../../static/surveys.css");

async fn surveys_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SURVEYS_CSS,
    )
        .into_response()
}

use super::model::{
    Answer, Draft, Kind, Question, QuestionKind, QuestionResult, Results, State as SurveyState,
    Survey,
};
use super::service::{self, Opened};
use crate::http::{ApiForm, Path, Query, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::time::{local_time, now_ms};
use crate::notices::Audience;
use crate::org::Caller;
use crate::state::AppState;
use crate::web::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::sync::Arc;

/// Question slots the form offers beyond those written.
const EMPTY_SLOTS: usize = 3;

const DONE: [&str; 6] = [
    "draft",
    "saved",
    "published",
    "closed",
    "answered",
    "template",
];

fn flash(l: &mut Layout, done: Option<&str>) {
    if let Some(d) = done.filter(|d| DONE.contains(d)) {
        l.flash = Some(l.t.s(&format!("surveys.done.{d}")).to_string());
    }
}

/// An action's refusal (a conflict, a bad value) shown as a page with its message; anything
/// else as the error it is.
fn back(e: AppError) -> AppResult<Response> {
    if matches!(
        e.status,
        StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY
    ) {
        Ok(crate::web::error_page(e.status, &e.message(ctx().lang)))
    } else {
        Err(e)
    }
}

fn state_label(t: &crate::kernel::i18n::Tr, s: &Survey) -> &'static str {
    t.s(&format!("surveys.state.{}", s.state_now(now_ms()).as_str()))
}

fn rate(t: &crate::kernel::i18n::Tr, s: &Survey) -> String {
    t.fill(
        "surveys.rate",
        &[
            ("answered", &s.answered),
            ("of", &s.recipients),
            ("pct", &s.rate_pct()),
        ],
    )
}

// ---- the list ---------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "surveys/list.html")]
pub(crate) struct ListPage {
    l: Layout,
    tab: &'static str,
    received: Vec<(Survey, bool)>,
    managed: Vec<Survey>,
    may_write: bool,
    communities: Vec<(i64, String)>,
    now: i64,
}

impl ListPage {
    fn state(&self, s: &Survey) -> &'static str {
        state_label(&self.l.t, s)
    }
    fn rate(&self, s: &Survey) -> String {
        rate(&self.l.t, s)
    }
    fn audience(&self, s: &Survey) -> String {
        crate::kernel::i18n::pick(&s.audience_label, ctx().lang)
    }
    fn open(&self, s: &Survey) -> bool {
        s.is_open(self.now)
    }
    fn closes(&self, s: &Survey) -> String {
        local_time(s.closes_at)
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    tab: Option<String>,
    done: Option<String>,
}

pub(crate) async fn list_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let may_write = service::may_write(&caller);
    let tab = if may_write && q.tab.as_deref() != Some("received") {
        "managed"
    } else {
        "received"
    };
    let (received, managed, communities) = if tab == "managed" {
        (
            Vec::new(),
            service::managed_list(&state, &caller).await?,
            service::template_places(&state, &caller).await?,
        )
    } else {
        (
            service::received(&state, &caller).await?,
            Vec::new(),
            Vec::new(),
        )
    };
    let mut l = Layout::new(Some(&caller));
    flash(&mut l, q.done.as_deref());
    Ok(render(&ListPage {
        l,
        tab,
        received,
        managed,
        may_write,
        communities,
        now: now_ms(),
    }))
}

// ---- writing and editing ----------------------------------------------------------------------

/// A place offered in the audience picker.
pub(crate) struct Pick {
    id: i64,
    name: String,
    kind: String,
    depth: i64,
}

/// A question as typed in the form.
#[derive(Default, Clone)]
pub(crate) struct TypedQuestion {
    prompt: String,
    kind: String,
    options: String,
    required: bool,
}

#[derive(Default)]
pub(crate) struct Typed {
    title: String,
    intro: String,
    questions: Vec<TypedQuestion>,
    places: Vec<i64>,
    tags: Vec<String>,
    households: String,
    anonymous: bool,
    opens_at: String,
    closes_at: String,
}

impl Typed {
    fn of(s: &Survey) -> Typed {
        let input = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| {
                    t.with_timezone(&crate::kernel::time::zone())
                        .format("%Y-%m-%dT%H:%M")
                        .to_string()
                })
                .unwrap_or_default()
        };
        Typed {
            title: s.title.clone(),
            intro: s.intro.clone(),
            questions: s
                .questions
                .iter()
                .map(|q| TypedQuestion {
                    prompt: q.prompt.clone(),
                    kind: q.kind.as_str().to_string(),
                    options: q.options.join("\n"),
                    required: q.required,
                })
                .collect(),
            places: s.audience.places.clone(),
            tags: s.audience.tags.clone(),
            households: s
                .audience
                .households
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            anonymous: s.anonymous,
            opens_at: s.opens_at.map(input).unwrap_or_default(),
            closes_at: input(s.closes_at),
        }
    }

    /// The typed form read back: its fields by name, questions by their slot.
    fn read(fields: &[(String, String)]) -> (Typed, String, String) {
        let mut t = Typed::default();
        let (mut csrf, mut action) = (String::new(), String::new());
        let mut slots: std::collections::BTreeMap<usize, TypedQuestion> = Default::default();
        for (k, v) in fields {
            match k.as_str() {
                "csrf" => csrf = v.clone(),
                "action" => action = v.clone(),
                "title" => t.title = v.clone(),
                "intro" => t.intro = v.clone(),
                "place" => t.places.extend(v.parse::<i64>().ok()),
                "tag" => t.tags.push(v.clone()),
                "households" => t.households = v.clone(),
                "anonymous" => t.anonymous = true,
                "opens_at" => t.opens_at = v.clone(),
                "closes_at" => t.closes_at = v.clone(),
                k => {
                    let Some((slot, field)) = k
                        .strip_prefix('q')
                        .and_then(|r| r.split_once('_'))
                        .and_then(|(n, f)| Some((n.parse::<usize>().ok()?, f)))
                    else {
                        continue;
                    };
                    if slot >= super::model::QUESTIONS_MAX + EMPTY_SLOTS {
                        continue;
                    }
                    let q = slots.entry(slot).or_default();
                    match field {
                        "prompt" => q.prompt = v.clone(),
                        "kind" => q.kind = v.clone(),
                        "options" => q.options = v.clone(),
                        "required" => q.required = true,
                        _ => {}
                    }
                }
            }
        }
        t.questions = slots
            .into_values()
            .filter(|q| !q.prompt.trim().is_empty() || !q.options.trim().is_empty())
            .collect();
        (t, csrf, action)
    }

    fn draft(&self) -> AppResult<Draft> {
        let questions = self
            .questions
            .iter()
            .map(|q| {
                Ok(Question {
                    kind: QuestionKind::parse(&q.kind)
                        .ok_or_else(|| AppError::invalid("surveys.err_kind"))?,
                    prompt: q.prompt.clone(),
                    options: q.options.lines().map(|l| l.to_string()).collect(),
                    required: q.required,
                })
            })
            .collect::<AppResult<Vec<_>>>()?;
        Ok(Draft {
            title: self.title.clone(),
            intro: self.intro.clone(),
            questions,
            audience: Audience {
                places: self.places.clone(),
                tags: self.tags.clone(),
                households: households(&self.households)?,
                roles: Vec::new(),
            },
            anonymous: self.anonymous,
            opens_at: local_input(&self.opens_at)?,
            closes_at: local_input(&self.closes_at)?,
        })
    }
}

#[derive(Template)]
#[template(path = "surveys/edit.html")]
pub(crate) struct EditPage {
    l: Layout,
    /// The draft edited, or none for a new survey.
    id: Option<i64>,
    places: Vec<Pick>,
    tags: Vec<(String, String)>,
    typed: Typed,
    slots: Vec<(usize, TypedQuestion)>,
    error: Option<String>,
}

impl EditPage {
    fn picked(&self, id: &i64) -> bool {
        self.typed.places.contains(id)
    }
    fn tagged(&self, code: &str) -> bool {
        self.typed.tags.iter().any(|t| t == code)
    }
    fn kind_name(&self, kind: &str) -> &'static str {
        self.l.t.s(&format!("kind.{kind}"))
    }
    fn qkind(&self, kind: &str) -> &'static str {
        self.l.t.s(&format!("surveys.qkind.{kind}"))
    }
    fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/surveys/{id}/edit"),
            None => "/surveys/new".into(),
        }
    }
}

/// A `datetime-local` value (`2026-12-03T09:30`) in the street's zone, as unix ms.
fn local_input(s: &str) -> Result<Option<i64>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .map_err(|_| AppError::invalid("surveys.err_time"))?;
    use chrono::TimeZone;
    crate::kernel::time::zone()
        .from_local_datetime(&t)
        .earliest()
        .map(|t| Some(t.timestamp_millis()))
        .ok_or_else(|| AppError::invalid("surveys.err_time"))
}

fn households(s: &str) -> Result<Vec<i64>, AppError> {
    s.split(|c: char| c == ',' || c == '，' || c == '、' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<i64>()
                .map_err(|_| AppError::invalid("surveys.err_household_number"))
        })
        .collect()
}

async fn show_edit(
    state: &AppState,
    caller: &Caller,
    id: Option<i64>,
    typed: Typed,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    if !service::may_write(caller) {
        return Err(AppError::forbidden());
    }
    let paths = caller.scope.registry.clone();
    let street = caller.street_id;
    let en = ctx().lang == crate::kernel::i18n::Lang::En;
    let (places, tags) = state
        .db
        .read(move |c| {
            let places = super::store::pickable(c, &paths)?;
            let tags = crate::registry::records::tag_names(c, street, en)?;
            Ok((places, tags))
        })
        .await?;
    let mut slots: Vec<(usize, TypedQuestion)> =
        typed.questions.iter().cloned().enumerate().collect();
    let n = slots.len();
    slots.extend((n..n + EMPTY_SLOTS).map(|i| {
        (
            i,
            TypedQuestion {
                kind: "single".into(),
                ..TypedQuestion::default()
            },
        )
    }));
    let mut res = render(&EditPage {
        l: Layout::new(Some(caller)),
        id,
        places: places
            .into_iter()
            .map(|(id, name, kind, depth)| Pick {
                id,
                name,
                kind,
                depth,
            })
            .collect(),
        tags,
        typed,
        slots,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn new_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    show_edit(
        &state,
        &caller,
        None,
        Typed::default(),
        None,
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn new_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(fields): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (typed, csrf, action) = Typed::read(&fields);
    check_csrf(&caller, &csrf)?;
    let result = match typed.draft() {
        Ok(d) => match service::create(&state, &caller, d, Kind::General).await {
            Ok(s) if action == "publish" => service::publish(&state, &caller, s.id).await,
            r => r,
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(s) => {
            let done = if s.state == SurveyState::Published {
                "published"
            } else {
                "draft"
            };
            Ok(Redirect::to(&format!("/surveys/{}?done={done}", s.id)).into_response())
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let msg = e.message(ctx().lang);
            show_edit(&state, &caller, None, typed, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn edit_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let o = service::open(&state, &caller, id).await?;
    if !o.manages || o.survey.state != SurveyState::Draft {
        return Err(AppError::not_found());
    }
    show_edit(
        &state,
        &caller,
        Some(id),
        Typed::of(&o.survey),
        None,
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn edit_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(fields): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (typed, csrf, action) = Typed::read(&fields);
    check_csrf(&caller, &csrf)?;
    let result = match typed.draft() {
        Ok(d) => match service::update(&state, &caller, id, d).await {
            Ok(s) if action == "publish" => service::publish(&state, &caller, s.id).await,
            r => r,
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(s) => {
            let done = if s.state == SurveyState::Published {
                "published"
            } else {
                "saved"
            };
            Ok(Redirect::to(&format!("/surveys/{id}?done={done}")).into_response())
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let msg = e.message(ctx().lang);
            show_edit(&state, &caller, Some(id), typed, Some(msg), e.status).await
        }
        Err(e) => back(e),
    }
}

#[derive(Deserialize)]
pub(crate) struct TemplateForm {
    #[serde(default)]
    csrf: String,
    community: i64,
}

pub(crate) async fn satisfaction_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<TemplateForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match service::create_satisfaction(&state, &caller, f.community, ctx().lang).await {
        Ok(s) => Ok(Redirect::to(&format!("/surveys/{}?done=template", s.id)).into_response()),
        Err(e) => back(e),
    }
}

// ---- one survey -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "surveys/survey.html")]
pub(crate) struct SurveyPage {
    l: Layout,
    o: Opened,
    now: i64,
    error: Option<String>,
    /// What the resident chose, to keep it when the form comes back with an error.
    kept: Vec<(String, String)>,
}

impl SurveyPage {
    fn s(&self) -> &Survey {
        &self.o.survey
    }
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn state(&self) -> &'static str {
        state_label(&self.l.t, &self.o.survey)
    }
    fn rate(&self) -> String {
        rate(&self.l.t, &self.o.survey)
    }
    fn audience(&self) -> String {
        crate::kernel::i18n::pick(&self.o.survey.audience_label, ctx().lang)
    }
    fn is_open(&self) -> bool {
        self.o.survey.is_open(self.now)
    }
    fn not_yet(&self) -> bool {
        self.o.survey.state == SurveyState::Published
            && self.o.survey.opens_at.is_some_and(|t| t > self.now)
    }
    fn answered(&self) -> bool {
        self.o.answered == Some(true)
    }
    fn may_answer(&self) -> bool {
        self.o.answered == Some(false) && self.is_open()
    }
    fn is_draft(&self) -> bool {
        self.o.survey.state == SurveyState::Draft
    }
    fn may_close(&self) -> bool {
        self.o.manages && self.o.survey.state_now(self.now) == SurveyState::Published
    }
    fn kind_help(&self, q: &Question) -> &'static str {
        self.l.t.s(&format!("surveys.help.{}", q.kind.as_str()))
    }
    fn kind_name(&self, q: &Question) -> &'static str {
        self.l.t.s(&format!("surveys.qkind.{}", q.kind.as_str()))
    }
    fn chosen(&self, i: &usize, v: &str) -> bool {
        let k = format!("a{i}");
        self.kept.iter().any(|(n, x)| *n == k && x == v)
    }
    fn typed_text(&self, i: &usize) -> String {
        let k = format!("a{i}");
        self.kept
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
    fn scale_label(&self, v: &i64) -> String {
        match v {
            1 => self.l.t.s("surveys.scale_1").to_string(),
            5 => self.l.t.s("surveys.scale_5").to_string(),
            _ => String::new(),
        }
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

async fn show_survey(
    state: &AppState,
    caller: &Caller,
    id: i64,
    done: Option<&str>,
    error: Option<String>,
    kept: Vec<(String, String)>,
    status: StatusCode,
) -> AppResult<Response> {
    let o = service::open(state, caller, id).await?;
    let mut l = Layout::new(Some(caller));
    flash(&mut l, done);
    let mut res = render(&SurveyPage {
        l,
        o,
        now: now_ms(),
        error,
        kept,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn survey_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    show_survey(
        &state,
        &caller,
        id,
        q.done.as_deref(),
        None,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// The answer form read back: `a<question>` holds an option's number (one, or several for a
/// multiple choice), a scale's value or a text.
fn read_answers(fields: &[(String, String)], questions: &[Question]) -> AppResult<Vec<Answer>> {
    let mut out: Vec<Answer> = Vec::new();
    for (k, v) in fields {
        let Some(i) = k.strip_prefix('a').and_then(|n| n.parse::<usize>().ok()) else {
            continue;
        };
        let Some(q) = questions.get(i) else {
            return Err(AppError::invalid("surveys.err_question_unknown"));
        };
        let pos = match out.iter().position(|a| a.question == i) {
            Some(p) => p,
            None => {
                out.push(Answer {
                    question: i,
                    ..Answer::default()
                });
                out.len() - 1
            }
        };
        let a = &mut out[pos];
        match q.kind {
            QuestionKind::Single | QuestionKind::Multiple => a.choices.push(
                v.parse()
                    .map_err(|_| AppError::invalid("surveys.err_choice_unknown"))?,
            ),
            QuestionKind::Scale => {
                a.value = Some(
                    v.parse()
                        .map_err(|_| AppError::invalid("surveys.err_scale_range"))?,
                )
            }
            QuestionKind::Text => a.text = Some(v.clone()),
        }
    }
    Ok(out)
}

pub(crate) async fn answer_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(fields): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    check_csrf(&caller, &csrf)?;
    let o = service::open(&state, &caller, id).await?;
    let result = match read_answers(&fields, &o.survey.questions) {
        Ok(a) => service::answer(&state, &caller, id, a).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/surveys/{id}?done=answered")).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let msg = e.message(ctx().lang);
            let kept = fields.into_iter().filter(|(k, _)| k != "csrf").collect();
            show_survey(&state, &caller, id, None, Some(msg), kept, e.status).await
        }
        Err(e) => back(e),
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn publish_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match service::publish(&state, &caller, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/surveys/{id}?done=published")).into_response()),
        Err(e) => back(e),
    }
}

pub(crate) async fn close_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match service::close(&state, &caller, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/surveys/{id}?done=closed")).into_response()),
        Err(e) => back(e),
    }
}

// ---- results ----------------------------------------------------------------------------------

/// One bar of a chart, laid out for the SVG: its label, count, share and geometry.
pub(crate) struct Bar {
    label: String,
    n: i64,
    pct: i64,
    y: i64,
    width: i64,
}

/// A question's chart: its bars and the drawing's height.
pub(crate) struct Chart {
    q: QuestionResult,
    bars: Vec<Bar>,
    height: i64,
}

/// The bars' drawing: a label line above each bar, the bar up to `BAR_MAX` wide.
const BAR_MAX: i64 = 240;
const ROW: i64 = 44;

fn chart(q: QuestionResult) -> Chart {
    let top = q.counts.iter().map(|c| c.n).max().unwrap_or(0).max(1);
    let total: i64 = if q.kind == QuestionKind::Multiple {
        q.answers
    } else {
        q.counts.iter().map(|c| c.n).sum()
    };
    let bars: Vec<Bar> = q
        .counts
        .iter()
        .enumerate()
        .map(|(i, c)| Bar {
            label: c.label.clone(),
            n: c.n,
            pct: if total > 0 { c.n * 100 / total } else { 0 },
            y: i as i64 * ROW,
            width: c.n * BAR_MAX / top,
        })
        .collect();
    let height = (bars.len() as i64 * ROW).max(ROW);
    Chart { q, bars, height }
}

#[derive(Template)]
#[template(path = "surveys/results.html")]
pub(crate) struct ResultsPage {
    l: Layout,
    s: Survey,
    responses: i64,
    charts: Vec<Chart>,
}

impl ResultsPage {
    fn rate(&self) -> String {
        rate(&self.l.t, &self.s)
    }
    fn state(&self) -> &'static str {
        state_label(&self.l.t, &self.s)
    }
    fn answers_n(&self, n: &i64) -> String {
        self.l.t.fill("surveys.answers_n", &[("n", n)])
    }
    fn average(&self, a: &f64) -> String {
        self.l
            .t
            .fill("surveys.average_is", &[("avg", &format!("{a:.2}"))])
    }
}

pub(crate) async fn results_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let Results {
        survey,
        responses,
        questions,
    } = match service::results(&state, &caller, id, ctx().lang).await {
        Ok(r) => r,
        Err(e) => return back(e),
    };
    Ok(render(&ResultsPage {
        l: Layout::new(Some(&caller)),
        s: survey,
        responses,
        charts: questions.into_iter().map(chart).collect(),
    }))
}

pub(crate) async fn results_download(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let bytes = service::export(&state, &caller, id, ctx().lang).await?;
    Ok(crate::http::file_response(
        &format!("survey-{id}-results.xlsx"),
        bytes,
    ))
}

// ---- the home page's card ---------------------------------------------------------------------

const CARD_ITEMS: usize = 3;

#[derive(Template)]
#[template(path = "surveys/card.html")]
pub(crate) struct CardView {
    t: crate::kernel::i18n::Tr,
    open: Vec<Survey>,
    managed: Vec<Survey>,
    may_write: bool,
}

impl CardView {
    fn closes(&self, s: &Survey) -> String {
        local_time(s.closes_at)
    }
    fn rate(&self, s: &Survey) -> String {
        rate(&self.t, s)
    }
}

/// The home page's surveys card: the open surveys put to her that she has not answered, and
/// for a worker how her latest surveys are being answered. Nothing when there is neither.
pub async fn cards(
    state: Arc<AppState>,
    caller: Caller,
) -> anyhow::Result<Vec<crate::http::area::Card>> {
    let err = |e: AppError| anyhow::anyhow!("{}", e.key);
    let now = now_ms();
    let mut open: Vec<Survey> = service::received(&state, &caller)
        .await
        .map_err(err)?
        .into_iter()
        .filter(|(s, answered)| !answered && s.is_open(now))
        .map(|(s, _)| s)
        .collect();
    open.truncate(CARD_ITEMS);
    let may_write = service::may_write(&caller);
    let mut managed = if may_write {
        service::managed_list(&state, &caller).await.map_err(err)?
    } else {
        Vec::new()
    };
    managed.retain(|s| s.state_now(now) == SurveyState::Published);
    managed.truncate(CARD_ITEMS);
    if open.is_empty() && managed.is_empty() {
        return Ok(Vec::new());
    }
    let view = CardView {
        t: crate::kernel::i18n::Tr(ctx().lang),
        open,
        managed,
        may_write,
    };
    let html = view.render().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(vec![crate::http::area::Card { order: 12, html }])
}
