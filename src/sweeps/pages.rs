//! The sweeps pages: the list of campaigns, the form that writes one, a campaign's progress by
//! grid and building (live, with its results, the comparison with the previous round, the
//! handover of buildings and the export), and a worker's door-by-door list for her phone, whose
//! script queues answers while the connection is lost.

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/sweeps", get(list_page))
        .route("/sweeps/new", get(new_page).post(new_submit))
        .route("/sweeps/{id}", get(campaign_page))
        .route("/sweeps/{id}/start", post(start_submit))
        .route("/sweeps/{id}/close", post(close_submit))
        .route("/sweeps/{id}/repeat", post(repeat_submit))
        .route("/sweeps/{id}/handover", post(handover_submit))
        .route("/sweeps/{id}/export.xlsx", get(export_download))
        .route("/sweeps/{id}/doors", get(doors_page))
        .route("/sweeps/{id}/doors/{household}", post(door_submit))
        .route("/static/sweeps.js", get(sweeps_js))
        .route("/static/sweeps.css", get(sweeps_css))
}

const SWEEPS_JS: &str = include_str!("../../static/sweeps.js");
const SWEEPS_CSS: &str = include_str!("../../static/sweeps.css");

async fn sweeps_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SWEEPS_JS,
    )
        .into_response()
}

async fn sweeps_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SWEEPS_CSS,
    )
        .into_response()
}

use super::model::{
    Answers, Campaign, Change, Comparison, Door, Outcome, Progress, Question, QuestionKind,
    State as SweepState, Tally,
};
use super::service::{self, NewSweep, Submission};
use crate::http::{ApiForm, CsrfForm, Path, Query, Signed, check_csrf, file_response};
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::time::local_time;
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

fn when(ms: &i64) -> String {
    local_time(*ms)
}

// ---- the list ---------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "sweeps/list.html")]
pub(crate) struct ListPage {
    l: Layout,
    campaigns: Vec<Campaign>,
    may_organise: bool,
}

impl ListPage {
    fn state(&self, c: &Campaign) -> &'static str {
        self.l.t.s(&format!("sweeps.state.{}", c.state.as_str()))
    }
    fn when(&self, ms: &i64) -> String {
        when(ms)
    }
}

pub(crate) async fn list_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let campaigns = service::list(&state, &caller).await?;
    Ok(render(&ListPage {
        l: Layout::new(Some(&caller)),
        campaigns,
        may_organise: service::may_organise(&caller),
    }))
}

// ---- writing a campaign -----------------------------------------------------------------------

/// A place offered in the scope picker.
pub(crate) struct Pick {
    id: i64,
    name: String,
    kind: String,
    depth: i64,
}

/// A question row of the form as typed.
#[derive(Default, Clone)]
pub(crate) struct QuestionRow {
    label: String,
    kind: String,
    options: String,
}

#[derive(Default)]
pub(crate) struct Typed {
    title: String,
    places: Vec<i64>,
    questions: Vec<QuestionRow>,
    retention: String,
}

/// Question rows the form offers.
const ROWS: usize = 6;

#[derive(Template)]
#[template(path = "sweeps/new.html")]
pub(crate) struct NewPage {
    l: Layout,
    places: Vec<Pick>,
    typed: Typed,
    error: Option<String>,
}

impl NewPage {
    fn picked(&self, id: &i64) -> bool {
        self.typed.places.contains(id)
    }
    fn kind_name(&self, kind: &str) -> &'static str {
        self.l.t.s(&format!("kind.{kind}"))
    }
    fn rows(&self) -> Vec<(usize, QuestionRow)> {
        (0..ROWS)
            .map(|i| (i, self.typed.questions.get(i).cloned().unwrap_or_default()))
            .collect()
    }
    fn kinds(&self) -> Vec<(&'static str, &'static str)> {
        ["yes_no", "choice", "number", "text"]
            .into_iter()
            .map(|k| (k, self.l.t.s(&format!("sweeps.kind.{k}"))))
            .collect()
    }
}

async fn show_new(
    state: &AppState,
    caller: &Caller,
    typed: Typed,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    if !service::may_organise(caller) {
        return Err(AppError::forbidden());
    }
    let paths = caller.scope.registry.clone();
    let places = state
        .db
        .read(move |c| super::store::pickable(c, &paths))
        .await?;
    let mut res = render(&NewPage {
        l: Layout::new(Some(caller)),
        places: places
            .into_iter()
            .map(|(id, name, kind, depth)| Pick {
                id,
                name,
                kind,
                depth,
            })
            .collect(),
        typed,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn new_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let t = crate::kernel::i18n::Tr(crate::kernel::ctx().lang);
    let typed = Typed {
        questions: vec![
            QuestionRow {
                label: t.s("sweeps.sample_q1").to_string(),
                kind: "yes_no".into(),
                options: String::new(),
            },
            QuestionRow {
                label: t.s("sweeps.sample_q2").to_string(),
                kind: "number".into(),
                options: String::new(),
            },
        ],
        retention: super::model::DEFAULT_RETENTION_DAYS.to_string(),
        ..Typed::default()
    };
    show_new(&state, &caller, typed, None, StatusCode::OK).await
}

fn options_of(s: &str) -> Vec<String> {
    s.split([',', '，', '、', ';', '；', '/', '\n'])
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        .collect()
}

pub(crate) async fn new_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(fields): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let mut typed = Typed::default();
    let (mut csrf, mut action) = (String::new(), String::new());
    let mut rows = vec![QuestionRow::default(); ROWS];
    for (k, v) in fields {
        match k.as_str() {
            "csrf" => csrf = v,
            "title" => typed.title = v,
            "place" => {
                if let Ok(id) = v.parse() {
                    typed.places.push(id);
                }
            }
            "retention" => typed.retention = v,
            "action" => action = v,
            _ => {
                let Some((field, i)) = k.split_once('_').and_then(|(f, i)| {
                    i.parse::<usize>()
                        .ok()
                        .filter(|i| *i < ROWS)
                        .map(|i| (f, i))
                }) else {
                    continue;
                };
                match field {
                    "label" => rows[i].label = v,
                    "kind" => rows[i].kind = v,
                    "options" => rows[i].options = v,
                    _ => {}
                }
            }
        }
    }
    check_csrf(&caller, &csrf)?;
    typed.questions = rows;
    let questions: Result<Vec<Question>, AppError> = typed
        .questions
        .iter()
        .filter(|r| !r.label.trim().is_empty())
        .map(|r| {
            Ok(Question {
                key: String::new(),
                label: r.label.clone(),
                kind: QuestionKind::parse(&r.kind)
                    .ok_or_else(|| AppError::invalid("sweeps.err_kind"))?,
                options: options_of(&r.options),
            })
        })
        .collect();
    let retention = match typed.retention.trim() {
        "" => Ok(None),
        s => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::invalid("sweeps.err_retention")),
    };
    let made = match (questions, retention) {
        (Ok(questions), Ok(retention_days)) => {
            service::create(
                &state,
                &caller,
                NewSweep {
                    title: typed.title.clone(),
                    questions,
                    places: typed.places.clone(),
                    retention_days,
                    start: action == "start",
                },
            )
            .await
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match made {
        Ok(c) => Ok(Redirect::to(&format!("/sweeps/{}", c.id)).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let msg = e.message(crate::kernel::ctx().lang);
            show_new(
                &state,
                &caller,
                typed,
                Some(msg),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

// ---- a campaign's progress --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "sweeps/campaign.html")]
pub(crate) struct CampaignPage {
    l: Layout,
    c: Campaign,
    progress: Progress,
    manages: bool,
    tallies: Vec<Tally>,
    comparison: Option<Comparison>,
    error: Option<String>,
}

impl CampaignPage {
    fn when(&self, ms: &i64) -> String {
        when(ms)
    }
    fn state(&self) -> &'static str {
        self.l
            .t
            .s(&format!("sweeps.state.{}", self.c.state.as_str()))
    }
    fn kind(&self, k: &str) -> &'static str {
        self.l.t.s(&format!("sweeps.kind.{k}"))
    }
    fn option(&self, kind: &str, o: &str) -> String {
        if kind == "yes_no" {
            self.l.t.s(&format!("sweeps.{o}")).to_string()
        } else {
            o.to_string()
        }
    }
    fn is_open(&self) -> bool {
        self.c.state == SweepState::Open
    }
    fn is_draft(&self) -> bool {
        self.c.state == SweepState::Draft
    }
    fn delta(&self, now: &i64, before: &i64) -> String {
        match now - before {
            0 => "±0".into(),
            d if d > 0 => format!("+{d}"),
            d => d.to_string(),
        }
    }
    fn mean_line(&self, ch: &Change) -> String {
        self.l.t.fill(
            "sweeps.mean_change",
            &[
                ("now", &ch.mean.clone().unwrap_or_default()),
                (
                    "before",
                    &ch.mean_before.clone().unwrap_or_else(|| "–".into()),
                ),
            ],
        )
    }
    fn grid_name(&self, name: &str) -> String {
        if name.is_empty() {
            self.l.t.s("sweeps.no_grid").to_string()
        } else {
            name.to_string()
        }
    }
    fn retention_line(&self) -> String {
        self.l
            .t
            .fill("sweeps.retention_line", &[("days", &self.c.retention_days)])
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct CampaignQuery {
    done: Option<String>,
}

const DONE: [&str; 5] = ["started", "closed", "repeated", "handed", "created"];

pub(crate) async fn campaign_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<CampaignQuery>,
) -> AppResult<Response> {
    show_campaign(&state, &caller, id, q.done.as_deref(), None).await
}

async fn show_campaign(
    state: &AppState,
    caller: &Caller,
    id: i64,
    done: Option<&str>,
    error: Option<String>,
) -> AppResult<Response> {
    let c = service::visible(state, caller, id).await?;
    let manages = service::manages(caller, &c);
    let progress = service::progress(state, caller, id).await?;
    let (tallies, comparison) = if manages && c.state != SweepState::Draft {
        let t = service::results(state, caller, id).await?;
        let cmp = match c.previous_id {
            Some(_) => Some(service::compare(state, caller, id).await?),
            None => None,
        };
        (t, cmp)
    } else {
        (Vec::new(), None)
    };
    let mut l = Layout::new(Some(caller));
    if let Some(d) = done.filter(|d| DONE.contains(d)) {
        l.flash = Some(l.t.s(&format!("sweeps.done.{d}")).to_string());
    }
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut res = render(&CampaignPage {
        l,
        c,
        progress,
        manages,
        tallies,
        comparison,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn start_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match service::start(&state, &caller, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/sweeps/{id}?done=started")).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let msg = e.message(crate::kernel::ctx().lang);
            show_campaign(&state, &caller, id, None, Some(msg)).await
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn close_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::close(&state, &caller, id).await?;
    Ok(Redirect::to(&format!("/sweeps/{id}?done=closed")).into_response())
}

#[derive(Deserialize)]
pub(crate) struct RepeatForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
}

pub(crate) async fn repeat_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<RepeatForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let c = service::repeat(&state, &caller, id, Some(f.title), false).await?;
    Ok(Redirect::to(&format!("/sweeps/{}?done=repeated", c.id)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct HandoverForm {
    #[serde(default)]
    csrf: String,
    building: i64,
    #[serde(default)]
    volunteer: String,
}

pub(crate) async fn handover_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<HandoverForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match service::hand_over(&state, &caller, id, f.building, Some(f.volunteer)).await {
        Ok(_) => Ok(Redirect::to(&format!("/sweeps/{id}?done=handed#progress")).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let msg = e.message(crate::kernel::ctx().lang);
            show_campaign(&state, &caller, id, None, Some(msg)).await
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn export_download(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let bytes = service::export(&state, &caller, id).await?;
    Ok(file_response(&format!("sweep-{id}.xlsx"), bytes))
}

// ---- a worker's doors -------------------------------------------------------------------------

/// A building's doors on the list.
pub(crate) struct Group {
    name: String,
    doors: Vec<Door>,
}

#[derive(Template)]
#[template(path = "sweeps/doors.html")]
pub(crate) struct DoorsPage {
    l: Layout,
    c: Campaign,
    groups: Vec<Group>,
    total: usize,
    done: usize,
    /// A fresh client id for a form sent without the script.
    client_id: String,
    flash_error: Option<String>,
}

impl DoorsPage {
    fn door_state(&self, d: &Door) -> String {
        let s = self.l.t.s(&format!("sweeps.door.{}", d.state));
        if d.attempts > 0 && d.state != "done" {
            format!(
                "{s} · {}",
                self.l.t.fill("sweeps.attempts", &[("n", &d.attempts)])
            )
        } else {
            s.to_string()
        }
    }
    fn open(&self) -> bool {
        self.c.state == SweepState::Open
    }
    fn choices(&self, q: &Question) -> Vec<(String, String)> {
        match q.kind {
            QuestionKind::YesNo => vec![
                ("yes".into(), self.l.t.s("sweeps.yes").to_string()),
                ("no".into(), self.l.t.s("sweeps.no").to_string()),
            ],
            _ => q.options.iter().map(|o| (o.clone(), o.clone())).collect(),
        }
    }
    fn summary(&self) -> String {
        self.l.t.fill(
            "sweeps.doors_summary",
            &[("done", &self.done), ("total", &self.total)],
        )
    }
}

fn new_client_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..24)
        .map(|_| {
            let n = rng.gen_range(0..36u32);
            std::char::from_digit(n, 36).unwrap_or('0')
        })
        .collect()
}

#[derive(Deserialize, Default)]
pub(crate) struct DoorsQuery {
    error: Option<String>,
}

pub(crate) async fn doors_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<DoorsQuery>,
) -> AppResult<Response> {
    let c = service::visible(&state, &caller, id).await?;
    let doors = service::doors(&state, &caller, id).await?;
    let total = doors.len();
    let done = doors.iter().filter(|d| d.state == "done").count();
    let mut groups: Vec<Group> = Vec::new();
    for d in doors {
        match groups.last_mut() {
            Some(g) if g.doors[0].building_id == d.building_id => g.doors.push(d),
            _ => groups.push(Group {
                name: d.building.clone(),
                doors: vec![d],
            }),
        }
    }
    let l = Layout::new(Some(&caller));
    let flash_error = q
        .error
        .as_deref()
        .filter(|k| k.starts_with("sweeps.err_") && k.len() < 40)
        .map(|k| l.t.s(k).to_string());
    Ok(render(&DoorsPage {
        l,
        c,
        groups,
        total,
        done,
        client_id: new_client_id(),
        flash_error,
    }))
}

/// A door's form sent without the script (the script sends the same to the API).
pub(crate) async fn door_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, household)): Path<(i64, i64)>,
    ApiForm(fields): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    check_csrf(&caller, &get("csrf"))?;
    let c = service::visible(&state, &caller, id).await?;
    let outcome = if get("outcome") == "nobody_home" {
        Outcome::NobodyHome
    } else {
        Outcome::Answered
    };
    let mut answers = Answers::new();
    if outcome == Outcome::Answered {
        for q in &c.questions {
            let v = get(&format!("q_{}", q.key));
            if v.trim().is_empty() {
                continue;
            }
            let v = match q.kind {
                QuestionKind::YesNo => serde_json::Value::Bool(v == "yes"),
                _ => serde_json::Value::String(v),
            };
            answers.insert(q.key.clone(), v);
        }
    }
    let r = service::submit(
        &state,
        &caller,
        id,
        Submission {
            household_id: household,
            client_id: get("client_id"),
            outcome,
            answers,
        },
    )
    .await;
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/sweeps/{id}/doors#door-{household}")).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY && !e.literal => Ok(Redirect::to(
            &format!("/sweeps/{id}/doors?error={}#door-{household}", e.key),
        )
        .into_response()),
        Err(e) => Err(e),
    }
}

/// The home card of a worker with doors still to visit in open campaigns.
pub(crate) async fn cards(
    state: Arc<AppState>,
    caller: Caller,
) -> anyhow::Result<Vec<crate::http::area::Card>> {
    let list = service::list(&state, &caller)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?;
    let open: Vec<Campaign> = list
        .into_iter()
        .filter(|c| c.state == SweepState::Open)
        .take(3)
        .collect();
    if open.is_empty() {
        return Ok(Vec::new());
    }
    let html = HomeCard {
        t: crate::kernel::i18n::Tr(crate::kernel::ctx().lang),
        open,
    }
    .render()
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(vec![crate::http::area::Card { order: 48, html }])
}

#[derive(Template)]
#[template(path = "sweeps/home_card.html")]
pub(crate) struct HomeCard {
    t: crate::kernel::i18n::Tr,
    open: Vec<Campaign>,
}
