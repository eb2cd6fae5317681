//! The votes' pages: the list (a worker's votes in her places, the votes an owner can cast, on
//! her phone), calling a vote (from a template), the vote with its ballot form, the worker's
//! form for paper ballots and proxies, and the count with its XLSX.

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/votes", get(list_page))
        .route("/votes/new", get(new_page).post(new_submit))
        .route("/votes/{id}", get(vote_page))
        .route("/votes/{id}/ballot", post(ballot_submit))
        .route(
            "/votes/{id}/enter",
            get(enter_page)
                .post(enter_submit)
                .layer(axum::extract::DefaultBodyLimit::max(
                    super::files::MAX_BYTES + 64 * 1024,
                )),
        )
        .route("/votes/{id}/evidence/{elector}", get(evidence_file))
        .route("/votes/{id}/count", get(count_page))
        .route("/votes/{id}/count.xlsx", get(count_download))
}

use super::model::{self, Channel, Choice, Figure, Matter, ScopeKind};
use super::service::{self, Count, Listed, Standing, Template};
use super::store::{Elector, PlaceBrief, Vote};
use crate::http::{ApiForm, Path, Query, Signed, blank_as_none, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::pick;
use crate::org::Caller;
use crate::state::AppState;
use crate::web::{Layout, render};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::sync::Arc;

fn when(ms: i64) -> String {
    crate::kernel::time::local_time(ms)
}

fn message(e: &AppError) -> String {
    e.message(ctx().lang)
}

/// Whether the caller may call votes (a community worker or street administrator).
fn calls_votes(caller: &Caller) -> bool {
    !crate::org::access::place_editor_paths(caller).is_empty()
}

// ---- the list ----------------------------------------------------------------------------

#[derive(askama::Template)]
#[template(path = "votes/list.html")]
pub(crate) struct ListPage {
    l: Layout,
    votes: Vec<Listed>,
    calls: bool,
    owner: bool,
}

impl ListPage {
    fn scope(&self, v: &Vote) -> String {
        pick(&v.scope_label, ctx_lang(&self.l))
    }
    fn matter(&self, v: &Vote) -> String {
        self.l.t.s(&v.matter.label_key()).to_string()
    }
    fn until(&self, v: &Vote) -> String {
        when(v.closes_at)
    }
    fn opens(&self, v: &Vote) -> String {
        when(v.opens_at)
    }
}

fn ctx_lang(l: &Layout) -> crate::kernel::Lang {
    l.t.0
}

pub(crate) async fn list_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    // Anyone signed in may look: the list holds only the votes of her places or where she owns.
    let votes = service::list(&state, &caller).await?;
    Ok(render(&ListPage {
        l: Layout::new(Some(&caller)),
        calls: calls_votes(&caller),
        owner: !caller.reads_registry(),
        votes,
    }))
}

// ---- calling a vote ---------------------------------------------------------------------

#[derive(askama::Template)]
#[template(path = "votes/new.html")]
pub(crate) struct NewPage {
    l: Layout,
    template: String,
    buildings: Vec<PlaceBrief>,
    estates: Vec<String>,
    matters: Vec<(String, String)>,
    f: NewForm,
    error: Option<String>,
}

impl NewPage {
    fn building_label(&self, b: &PlaceBrief) -> String {
        match &b.estate {
            Some(e) if !e.is_empty() => format!("{e} · {}", b.name),
            _ => b.name.clone(),
        }
    }
    fn picked_building(&self, id: &i64) -> bool {
        self.f.building_id == Some(*id)
    }
    fn default_open(&self) -> String {
        if self.f.opens.is_empty() {
            local_input(crate::store::now_ms())
        } else {
            self.f.opens.clone()
        }
    }
    fn default_close(&self) -> String {
        if self.f.closes.is_empty() {
            local_input(crate::store::now_ms() + service::DEFAULT_DAYS * 86_400_000)
        } else {
            self.f.closes.clone()
        }
    }
}

/// `2026-12-03T19:40` in the street's zone, as a datetime-local input takes it.
fn local_input(ms: i64) -> String {
    crate::kernel::time::local(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

/// A datetime-local value read in the street's zone.
fn parse_local(s: &str) -> AppResult<Option<i64>> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let d = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .map_err(|_| AppError::invalid("votes.err_times"))?;
    use chrono::{Datelike, Timelike};
    Ok(Some(crate::kernel::time::local_ms(
        d.year(),
        d.month(),
        d.day(),
        d.hour(),
        d.minute(),
    )))
}

#[derive(Deserialize, Default, Clone)]
pub(crate) struct NewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    matter: String,
    #[serde(default)]
    scope: String,
    #[serde(default, deserialize_with = "blank_as_none")]
    building_id: Option<i64>,
    #[serde(default, deserialize_with = "blank_as_none")]
    stairwell_no: Option<i64>,
    #[serde(default)]
    estate: String,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    opens: String,
    #[serde(default)]
    closes: String,
}

#[derive(Deserialize, Default)]
pub(crate) struct NewQuery {
    template: Option<String>,
}

async fn show_new(
    state: &AppState,
    caller: &Caller,
    f: NewForm,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let (buildings, estates) = service::places_for_form(state, caller).await?;
    let t = Layout::new(Some(caller)).t;
    let mut res = render(&NewPage {
        l: Layout::new(Some(caller)),
        template: f.template.clone(),
        buildings,
        estates,
        matters: Matter::ALL
            .iter()
            .map(|m| {
                (
                    m.code().to_string(),
                    format!("{}. {}", m.number(), t.s(&m.label_key())),
                )
            })
            .collect(),
        f,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn new_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    let template = q
        .template
        .filter(|t| Template::parse(t).is_some())
        .unwrap_or_default();
    let scope = Template::parse(&template)
        .map(|t| t.scope_kind().as_str().to_string())
        .unwrap_or_default();
    let f = NewForm {
        template,
        scope,
        ..NewForm::default()
    };
    show_new(&state, &caller, f, None, StatusCode::OK).await
}

pub(crate) async fn new_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<NewForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let input = (|| -> AppResult<service::NewVoteInput> {
        let template = match f.template.trim() {
            "" => None,
            t => Some(Template::parse(t).ok_or_else(|| AppError::invalid("votes.err_template"))?),
        };
        Ok(service::NewVoteInput {
            template,
            title: f.title.clone(),
            matter: if template.is_some() {
                None
            } else {
                Matter::parse(&f.matter)
            },
            scope_kind: ScopeKind::parse(&f.scope),
            building_id: f.building_id,
            stairwell_no: f.stairwell_no,
            estate: Some(f.estate.clone()).filter(|e| !e.trim().is_empty()),
            secret: f.secret.is_some(),
            opens_at: parse_local(&f.opens)?,
            closes_at: parse_local(&f.closes)?,
        })
    })();
    let created = match input {
        Ok(i) => service::create(&state, &caller, i).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(v) => Ok(Redirect::to(&format!("/votes/{}", v.id)).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let msg = message(&e);
            show_new(&state, &caller, f, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

// ---- the vote and its ballot form ---------------------------------------------------------

#[derive(askama::Template)]
#[template(path = "votes/vote.html")]
pub(crate) struct VotePage {
    l: Layout,
    vote: Vote,
    phase: String,
    manages: bool,
    owner: bool,
    electors: Vec<Elector>,
    done: bool,
    error: Option<String>,
}

impl VotePage {
    fn scope(&self) -> String {
        pick(&self.vote.scope_label, self.l.t.0)
    }
    fn matter(&self) -> String {
        format!(
            "{}. {}",
            self.vote.matter.number(),
            self.l.t.s(&self.vote.matter.label_key())
        )
    }
    fn rule(&self) -> &'static str {
        self.l.t.s(if self.vote.matter.needs_three_quarters() {
            "votes.rule_three_quarters"
        } else {
            "votes.rule_half"
        })
    }
    fn opens(&self) -> String {
        when(self.vote.opens_at)
    }
    fn closes(&self) -> String {
        when(self.vote.closes_at)
    }
    fn area(&self, e: &Elector) -> String {
        model::m2(e.area_cm2)
    }
    fn voted_line(&self, e: &Elector) -> String {
        match &e.ballot {
            Some(b) => {
                let ch = self.l.t.k("votes.channel", b.channel.as_str());
                let mut s = self
                    .l
                    .t
                    .fill("votes.voted_at", &[("channel", &ch), ("at", &when(b.at))]);
                if let Some(c) = b.choice {
                    s.push_str(" · ");
                    s.push_str(self.l.t.k("votes.choice", c.as_str()));
                }
                s
            }
            None => String::new(),
        }
    }
    fn choices(&self) -> Vec<(&'static str, &'static str)> {
        Choice::ALL
            .iter()
            .map(|c| (c.as_str(), self.l.t.k("votes.choice", c.as_str())))
            .collect()
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

async fn show_vote(
    state: &AppState,
    caller: &Caller,
    id: i64,
    done: bool,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let (vote, standing) = service::standing(state, caller, id).await?;
    let (manages, owner, electors) = match standing {
        Standing::Worker { manages } => (manages, false, Vec::new()),
        Standing::Owner { electors } => (false, true, electors),
    };
    let mut res = render(&VotePage {
        l: Layout::new(Some(caller)),
        phase: vote.phase(crate::store::now_ms()).to_string(),
        vote,
        manages,
        owner,
        electors,
        done,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn vote_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    show_vote(&state, &caller, id, q.done.is_some(), None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(crate) struct BallotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, deserialize_with = "blank_as_none")]
    elector_id: Option<i64>,
    #[serde(default)]
    choice: String,
}

pub(crate) async fn ballot_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<BallotForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let res = match Choice::parse(&f.choice) {
        Some(c) => service::cast_online(&state, &caller, id, f.elector_id, c).await,
        None => Err(AppError::invalid("votes.err_choice")),
    };
    match res {
        Ok(_) => Ok(Redirect::to(&format!("/votes/{id}?done=1")).into_response()),
        Err(e) if e.status != StatusCode::NOT_FOUND => {
            let msg = message(&e);
            show_vote(&state, &caller, id, false, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

// ---- entering paper ballots and proxies ----------------------------------------------------

#[derive(askama::Template)]
#[template(path = "votes/enter.html")]
pub(crate) struct EnterPage {
    l: Layout,
    vote: Vote,
    waiting: Vec<Elector>,
    taken: usize,
    /// Ballots entered with a file: (elector id, label, channel).
    entered: Vec<(i64, String, &'static str)>,
    done: bool,
    error: Option<String>,
}

impl EnterPage {
    fn scope(&self) -> String {
        pick(&self.vote.scope_label, self.l.t.0)
    }
    fn elector_label(&self, e: &Elector) -> String {
        let who = if e.developer {
            self.l.t.s("votes.developer").to_string()
        } else {
            e.names.clone()
        };
        format!("{} · {} · {} m²", e.label, who, model::m2(e.area_cm2))
    }
    fn choices(&self) -> Vec<(&'static str, &'static str)> {
        Choice::ALL
            .iter()
            .map(|c| (c.as_str(), self.l.t.k("votes.choice", c.as_str())))
            .collect()
    }
    fn channels(&self) -> Vec<(&'static str, &'static str)> {
        [Channel::Paper, Channel::Proxy]
            .iter()
            .map(|c| (c.as_str(), self.l.t.k("votes.channel", c.as_str())))
            .collect()
    }
    /// The owners to name who cast it: (person id, position among the elector's owners).
    fn owners(&self, e: &Elector) -> Vec<(i64, String)> {
        let names: Vec<&str> = e.names.split('、').collect();
        e.persons
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, names.get(i).map(|s| s.to_string()).unwrap_or_default()))
            .collect()
    }
}

async fn show_enter(
    state: &AppState,
    caller: &Caller,
    id: i64,
    done: bool,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let (vote, all) = service::electors(state, caller, id).await?;
    let (taken, waiting): (Vec<Elector>, Vec<Elector>) =
        all.into_iter().partition(|e| e.ballot.is_some());
    let l = Layout::new(Some(caller));
    let entered = taken
        .iter()
        .filter_map(|e| {
            let b = e.ballot.as_ref()?;
            (b.channel != Channel::Online).then(|| {
                (
                    e.id,
                    e.label.clone(),
                    l.t.k("votes.channel", b.channel.as_str()),
                )
            })
        })
        .collect();
    let mut res = render(&EnterPage {
        l,
        vote,
        waiting,
        entered,
        taken: taken.len(),
        done,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn enter_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let (_, standing) = service::standing(&state, &caller, id).await?;
    if !matches!(standing, Standing::Worker { manages: true }) {
        return Err(AppError::forbidden());
    }
    show_enter(&state, &caller, id, q.done.is_some(), None, StatusCode::OK).await
}

pub(crate) async fn enter_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    m: axum::extract::Multipart,
) -> AppResult<Response> {
    let (e, csrf) = super::http::read_entered(m).await?;
    check_csrf(&caller, &csrf)?;
    match service::enter(&state, &caller, id, e).await {
        Ok(_) => Ok(Redirect::to(&format!("/votes/{id}/enter?done=1")).into_response()),
        Err(e)
            if matches!(
                e.status,
                StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT
            ) =>
        {
            let msg = message(&e);
            show_enter(&state, &caller, id, false, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

// ---- the count --------------------------------------------------------------------------

#[derive(askama::Template)]
#[template(path = "votes/count.html")]
pub(crate) struct CountPage {
    l: Layout,
    c: Count,
}

/// One figure as the page shows it.
pub(crate) struct Shown {
    id: &'static str,
    label: &'static str,
    part: String,
    whole: String,
    percent: String,
    threshold: &'static str,
    met: bool,
}

impl CountPage {
    fn scope(&self) -> String {
        pick(&self.c.vote.scope_label, self.l.t.0)
    }
    fn matter(&self) -> String {
        format!(
            "{}. {}",
            self.c.vote.matter.number(),
            self.l.t.s(&self.c.vote.matter.label_key())
        )
    }
    fn outcome(&self) -> &'static str {
        self.l.t.s(service::outcome_key(&self.c))
    }
    fn figures(&self) -> Vec<Shown> {
        let o = &self.c.outcome;
        let t = self.l.t;
        let shown = |id, label, f: &Figure, area: bool| Shown {
            id,
            label: t.s(label),
            part: if area {
                format!("{} m²", model::m2(f.part))
            } else {
                f.part.to_string()
            },
            whole: if area {
                format!("{} m²", model::m2(f.whole))
            } else {
                f.whole.to_string()
            },
            percent: f.percent(),
            threshold: t.s(f.threshold.label_key()),
            met: f.met,
        };
        vec![
            shown(
                "fig-area-part",
                "votes.fig.area_participation",
                &o.area_participation,
                true,
            ),
            shown(
                "fig-heads-part",
                "votes.fig.heads_participation",
                &o.heads_participation,
                false,
            ),
            shown(
                "fig-area-for",
                "votes.fig.area_approval",
                &o.area_approval,
                true,
            ),
            shown(
                "fig-heads-for",
                "votes.fig.heads_approval",
                &o.heads_approval,
                false,
            ),
        ]
    }
    fn choices(&self) -> Vec<(&'static str, i64, String)> {
        let t = &self.c.tally;
        vec![
            (
                self.l.t.k("votes.choice", "for"),
                t.for_heads,
                model::m2(t.for_area),
            ),
            (
                self.l.t.k("votes.choice", "against"),
                t.against_heads,
                model::m2(t.against_area),
            ),
            (
                self.l.t.k("votes.choice", "abstain"),
                t.abstain_heads,
                model::m2(t.abstain_area),
            ),
        ]
    }
    fn who(&self, names: &str, developer: &bool) -> String {
        if *developer {
            self.l.t.s("votes.developer").to_string()
        } else {
            names.to_string()
        }
    }
    fn channel(&self, c: &Channel) -> &'static str {
        self.l.t.k("votes.channel", c.as_str())
    }
    fn choice(&self, c: &Option<Choice>) -> &'static str {
        match c {
            Some(c) => self.l.t.k("votes.choice", c.as_str()),
            None => "",
        }
    }
    fn at(&self, ms: &i64) -> String {
        when(*ms)
    }
    fn closes(&self) -> String {
        when(self.c.vote.closes_at)
    }
}

pub(crate) async fn count_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let c = service::count(&state, &caller, id).await?;
    Ok(render(&CountPage {
        l: Layout::new(Some(&caller)),
        c,
    }))
}

pub(crate) async fn count_download(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let c = service::count(&state, &caller, id).await?;
    let bytes = service::count_xlsx(&c, ctx().lang)?;
    Ok(crate::http::file_response(
        &format!("vote-{id}-count.xlsx"),
        bytes,
    ))
}

/// The scan or proxy's evidence of an entered ballot, for the workers who enter them.
pub(crate) async fn evidence_file(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, elector)): Path<(i64, i64)>,
) -> AppResult<Response> {
    use axum::http::header;
    let (mime, bytes) = service::evidence(&state, &caller, id, elector).await?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"vote-{id}-{elector}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
