//! The deliberation area's use cases, shared by the pages and the API. Each checks the caller
//! (a verified resident within the proposal's scope, a worker whose place covers it, a member
//! of a body that covers it) → one transaction → an audit entry for what touches a person.
//!
//! A resident outside a proposal's scope gets 404, as does any account that is neither. Names
//! are kept and shown masked ("3号楼 张**"); the author's and commenters' full names are
//! never stored here.

use std::collections::HashMap;

use serde::Serialize;

use super::store::{
    self, Body, Comment, Decision, Event, Meeting, Member, Progress, Proposal, Report, Spot,
};
use crate::audit::{Action, NewEntry};
use crate::kernel::StatusCode;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::org::{Caller, Role, Scope};
use crate::state::AppState;

/// Scope kinds, smallest first.
pub const SCOPE_KINDS: [&str; 3] = ["building", "estate", "community"];
/// Supports needed per scope kind when the street set none.
pub fn default_threshold(kind: &str) -> i64 {
    match kind {
        "building" => 5,
        "estate" => 20,
        _ => 30,
    }
}
/// Body kinds.
pub const BODY_KINDS: [&str; 3] = ["council", "owners_committee", "building"];
/// Attendance modes.
pub const MODES: [&str; 3] = ["in_person", "online", "absent"];
/// Comments an account may post in [`RATE_WINDOW_MS`].
pub const RATE_COMMENTS: i64 = 10;
pub const RATE_WINDOW_MS: i64 = 10 * 60 * 1000;
pub const MAX_TITLE: usize = 80;
pub const MAX_BODY: usize = 4000;
pub const MAX_COMMENT: usize = 1000;
pub const MAX_REASON: usize = 300;

fn now() -> i64 {
    crate::store::now_ms()
}

fn not_verified() -> AppError {
    AppError::new(
        StatusCode::FORBIDDEN,
        Code::Forbidden,
        "deliberation.err_not_verified",
    )
}

fn state_conflict(key: &str) -> AppError {
    AppError::new(StatusCode::CONFLICT, Code::StateConflict, key)
}

fn conflict(key: &str) -> AppError {
    AppError::new(StatusCode::CONFLICT, Code::Conflict, key)
}

/// `张三丰` → `张**`: the surname and two stars, whatever the length.
pub fn mask(name: &str) -> String {
    match name.trim().chars().next() {
        Some(first) => format!("{first}**"),
        None => "**".to_string(),
    }
}

/// Checks a one-line text: not empty, at most `max` characters, no control characters, no HTML.
fn check_line(s: &str, max: usize, empty_key: &str, long_key: &str) -> AppResult<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(AppError::invalid(empty_key));
    }
    if s.chars().count() > max {
        return Err(AppError::invalid(long_key));
    }
    crate::kernel::text::check_line(s).map_err(AppError::invalid)?;
    no_html(s)?;
    Ok(s.to_string())
}

/// Checks a multi-line text the same way (line breaks kept).
fn check_text(s: &str, max: usize, empty_key: &str, long_key: &str) -> AppResult<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(AppError::invalid(empty_key));
    }
    if s.chars().count() > max {
        return Err(AppError::invalid(long_key));
    }
    crate::kernel::text::check_note(s).map_err(AppError::invalid)?;
    no_html(s)?;
    Ok(s.replace("\r\n", "\n"))
}

/// Plain text only: a tag (`<a`, `</`, `<!`) is refused (links are written as they are and
/// shown as links).
fn no_html(s: &str) -> AppResult<()> {
    let b = s.as_bytes();
    for i in 0..b.len().saturating_sub(1) {
        if b[i] == b'<' && (b[i + 1].is_ascii_alphabetic() || b[i + 1] == b'/' || b[i + 1] == b'!')
        {
            return Err(AppError::invalid("deliberation.err_html"));
        }
    }
    Ok(())
}

/// A text cut into plain pieces and links (`http://`, `https://`), for the pages to show.
pub fn pieces(s: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest
        .find("http://")
        .into_iter()
        .chain(rest.find("https://"))
        .min()
    {
        if i > 0 {
            out.push((false, rest[..i].to_string()));
        }
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| c.is_whitespace() || !c.is_ascii() || "<>\"'".contains(c))
            .unwrap_or(tail.len());
        out.push((true, tail[..end].to_string()));
        rest = &tail[end..];
    }
    if !rest.is_empty() {
        out.push((false, rest.to_string()));
    }
    out
}

// ---- who is asking --------------------------------------------------------------------------

/// A verified resident's home: her unit's building, estate and community.
#[derive(Clone, Debug)]
pub struct Home {
    pub street_id: i64,
    pub person_id: i64,
    pub unit_path: String,
    pub building: Option<Spot>,
    pub estate: Option<String>,
    pub community: Option<Spot>,
    /// Her name as shown: "3号楼 张**".
    pub label: String,
}

/// One scope a resident may propose in.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ProposalScope)]
pub struct ScopeChoice {
    /// building, estate or community.
    pub kind: String,
    pub place_id: i64,
    #[serde(skip)]
    pub path: String,
    pub estate: Option<String>,
    pub name: String,
}

impl Home {
    pub fn scopes(&self) -> Vec<ScopeChoice> {
        let mut out = Vec::new();
        if let Some(b) = &self.building {
            out.push(ScopeChoice {
                kind: "building".into(),
                place_id: b.id,
                path: b.path.clone(),
                estate: None,
                name: b.name.clone(),
            });
        }
        if let (Some(e), Some(c)) = (&self.estate, &self.community) {
            out.push(ScopeChoice {
                kind: "estate".into(),
                place_id: c.id,
                path: c.path.clone(),
                estate: Some(e.clone()),
                name: e.clone(),
            });
        }
        if let Some(c) = &self.community {
            out.push(ScopeChoice {
                kind: "community".into(),
                place_id: c.id,
                path: c.path.clone(),
                estate: None,
                name: c.name.clone(),
            });
        }
        out
    }

    /// Whether she lives within a proposal's scope.
    pub fn within(&self, p: &Proposal) -> bool {
        self.street_id == p.street_id
            && Scope::covers(std::slice::from_ref(&p.scope_path), &self.unit_path)
            && (p.scope_kind != "estate" || self.estate.is_some() && self.estate == p.scope_estate)
    }
}

/// The home of a person who lives here now, through the registry's surface.
pub fn home_of(
    c: &mut dyn crate::store::Conn,
    person_id: i64,
) -> crate::store::Result<Option<Home>> {
    let Some(r) = crate::registry::residents::resident(c, person_id)? else {
        return Ok(None);
    };
    if r.residence == "left" || r.place_path.is_empty() {
        return Ok(None);
    }
    let above = store::places_above(c, &r.place_path)?;
    let building = above.iter().rev().find(|s| s.kind == "building").cloned();
    let community = above.iter().rev().find(|s| s.kind == "community").cloned();
    let estate = building.as_ref().and_then(|b| b.estate.clone());
    let label = match &building {
        Some(b) => format!("{} {}", b.name, mask(&r.name)),
        None => mask(&r.name),
    };
    Ok(Some(Home {
        street_id: r.street_id,
        person_id: r.id,
        unit_path: r.place_path,
        building,
        estate,
        community,
        label,
    }))
}

/// The places under which the caller works: a street or district administrator's, a community
/// worker's.
pub fn worker_paths(caller: &Caller) -> Vec<String> {
    if caller.street_id.is_none() {
        return Vec::new();
    }
    caller
        .grants
        .iter()
        .filter(|g| {
            matches!(
                g.role,
                Role::DistrictAdmin | Role::StreetAdmin | Role::CommunityWorker
            )
        })
        .filter_map(|g| g.place.as_ref().map(|p| p.path.clone()))
        .collect()
}

/// Whether the caller works for the street's deliberation at all.
pub fn is_worker(caller: &Caller) -> bool {
    !worker_paths(caller).is_empty()
}

/// Who the caller is towards one proposal.
#[derive(Clone, Debug, Default)]
pub struct Standing {
    pub home: Option<Home>,
    /// Lives within its scope.
    pub resident: bool,
    pub worker: bool,
    /// The body (covering the scope) she is a member of, by name.
    pub council: Option<String>,
}

impl Standing {
    pub fn moderates(&self) -> bool {
        self.worker || self.council.is_some()
    }
}

fn today() -> String {
    crate::kernel::time::today().format("%Y-%m-%d").to_string()
}

fn standing(
    c: &mut dyn crate::store::Conn,
    caller: &Caller,
    wpaths: &[String],
    p: &Proposal,
) -> crate::store::Result<Standing> {
    let home = match caller.person_id {
        Some(id) => home_of(c, id)?,
        None => None,
    };
    let resident = home.as_ref().is_some_and(|h| h.within(p));
    let worker = caller.street_id == Some(p.street_id) && Scope::covers(wpaths, &p.scope_path);
    let council = store::bodies_of_user(c, caller.user_id, &today())?
        .into_iter()
        .find(|b| {
            b.street_id == p.street_id
                && Scope::covers(std::slice::from_ref(&b.place_path), &p.scope_path)
        })
        .map(|b| b.name);
    Ok(Standing {
        home,
        resident,
        worker,
        council,
    })
}

/// A proposal and the caller's standing towards it; 404 when she has none.
fn proposal_for(
    c: &mut dyn crate::store::Conn,
    caller: &Caller,
    wpaths: &[String],
    id: i64,
) -> AppResult<(Proposal, Standing)> {
    let p = store::proposal_by_id(c, id)?.ok_or_else(AppError::not_found)?;
    let s = standing(c, caller, wpaths, &p)?;
    if !(s.resident || s.worker || s.council.is_some()) {
        return Err(AppError::not_found());
    }
    Ok((p, s))
}

fn threshold(
    c: &mut dyn crate::store::Conn,
    street_id: i64,
    kind: &str,
) -> crate::store::Result<i64> {
    Ok(store::thresholds(c, street_id)?
        .into_iter()
        .find(|(k, _)| k == kind)
        .map(|(_, n)| n)
        .unwrap_or_else(|| default_threshold(kind)))
}

async fn audit(state: &AppState, e: NewEntry) -> AppResult<()> {
    state.audit.record(e).await?;
    Ok(())
}

/// An audit entry's purpose in both languages (a resident reads it in her access log).
fn purpose(what: &str, id: i64) -> String {
    crate::kernel::i18n::both(&format!("deliberation.purpose.{what}"), &[("id", &id)])
}

fn person_subject(id: i64) -> String {
    crate::audit::person(id)
}

// ---- proposals ------------------------------------------------------------------------------

/// What the list page and `GET /api/v1/proposals` show.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ProposalList)]
pub struct ProposalList {
    pub proposals: Vec<Proposal>,
    /// The scopes the caller may propose in (a verified resident's).
    pub scopes: Vec<ScopeChoice>,
    /// Whether the caller sees the street's queue as a worker.
    pub worker: bool,
}

/// A resident's proposals in her scopes, or a worker's queue (optionally of one state).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    only: Option<String>,
) -> AppResult<ProposalList> {
    if let Some(s) = &only
        && !super::STATES.contains(&s.as_str())
    {
        return Err(AppError::invalid("deliberation.err_state"));
    }
    let wpaths = worker_paths(caller);
    let person = caller.person_id;
    let street = caller.street_id;
    if wpaths.is_empty() && person.is_none() {
        return Err(not_verified());
    }
    Ok(state
        .db
        .read(move |c| {
            if let Some(street) = street
                && !wpaths.is_empty()
            {
                let proposals = store::proposals_under(c, street, &wpaths, only.as_deref(), 500)?;
                return Ok(ProposalList {
                    proposals,
                    scopes: Vec::new(),
                    worker: true,
                });
            }
            let Some(home) = (match person {
                Some(p) => home_of(c, p)?,
                None => None,
            }) else {
                return Ok(ProposalList {
                    proposals: Vec::new(),
                    scopes: Vec::new(),
                    worker: false,
                });
            };
            let scopes = home.scopes();
            let mut paths: Vec<String> = scopes.iter().map(|s| s.path.clone()).collect();
            paths.dedup();
            let proposals = store::proposals_at(c, home.street_id, &paths, 500)?
                .into_iter()
                .filter(|p| home.within(p))
                .filter(|p| only.as_deref().is_none_or(|s| s == p.state))
                .collect();
            Ok(ProposalList {
                proposals,
                scopes,
                worker: false,
            })
        })
        .await?)
}

/// A new proposal as typed.
#[derive(Clone, Debug, Default)]
pub struct NewProposal {
    pub scope: String,
    pub title: String,
    pub body: String,
    pub place_id: Option<i64>,
}

/// A verified resident proposes within one of her scopes; she supports it herself.
pub async fn create(state: &AppState, caller: &Caller, n: NewProposal) -> AppResult<Proposal> {
    let person = caller.person_id.ok_or_else(not_verified)?;
    if !SCOPE_KINDS.contains(&n.scope.as_str()) {
        return Err(AppError::invalid("deliberation.err_scope"));
    }
    let title = check_line(
        &n.title,
        MAX_TITLE,
        "deliberation.err_title_empty",
        "deliberation.err_title_long",
    )?;
    let body = check_text(
        &n.body,
        MAX_BODY,
        "deliberation.err_body_empty",
        "deliberation.err_body_long",
    )?;
    let user = caller.user_id;
    let p = state
        .db
        .write_tx(move |c| -> AppResult<Proposal> {
            let home = home_of(c, person)?.ok_or_else(not_verified)?;
            let scope = home
                .scopes()
                .into_iter()
                .find(|s| s.kind == n.scope)
                .ok_or_else(|| AppError::invalid("deliberation.err_scope"))?;
            if let Some(pid) = n.place_id {
                let ok = store::place(c, pid)?
                    .is_some_and(|pl| Scope::covers(std::slice::from_ref(&scope.path), &pl.path));
                if !ok {
                    return Err(AppError::invalid("deliberation.err_place"));
                }
            }
            let t = now();
            let needed = threshold(c, home.street_id, &scope.kind)?;
            let id = store::insert_proposal(
                c,
                store::NewProposal {
                    street_id: home.street_id,
                    scope_kind: &scope.kind,
                    scope_place_id: scope.place_id,
                    scope_path: &scope.path,
                    scope_estate: scope.estate.as_deref(),
                    scope_name: &scope.name,
                    place_id: n.place_id,
                    author_user_id: user,
                    author_person_id: person,
                    author_label: &home.label,
                    title: &title,
                    body: &body,
                    threshold: needed,
                    now: t,
                },
            )?;
            store::add_event(c, home.street_id, id, "proposed", None, None, None, t)?;
            store::insert_support(c, home.street_id, id, person, user, &home.label, t)?;
            let count = store::bump_supports(c, id, t)?;
            if count >= needed {
                store::set_state(c, id, "supported", None, t)?;
                store::add_event(c, home.street_id, id, "supported", None, None, None, t)?;
            }
            store::proposal_by_id(c, id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    audit(
        state,
        NewEntry::by(caller, Action::Change)
            .subjects([person_subject(person)])
            .purpose(purpose("created", p.id)),
    )
    .await?;
    Ok(p)
}

/// One proposal as its page and `GET /api/v1/proposals/{id}` show it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ProposalView)]
pub struct ProposalView {
    pub proposal: Proposal,
    pub timeline: Vec<Event>,
    pub comments: Vec<Comment>,
    pub decisions: Vec<DecisionView>,
    /// Up to three photos.
    pub photos: Vec<store::Photo>,
    /// Supporters, masked (workers only).
    pub supporters: Vec<String>,
    pub supported: bool,
    pub can_support: bool,
    pub can_comment: bool,
    pub can_moderate: bool,
    pub can_withdraw: bool,
    pub can_reject: bool,
    /// The author may add photos (fewer than three, still open).
    pub can_add_photo: bool,
    #[serde(skip)]
    pub meetings: HashMap<i64, String>,
}

/// A decision with its progress.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = DecisionView)]
pub struct DecisionView {
    pub decision: Decision,
    pub progress: Vec<Progress>,
}

const SUPPORTABLE: [&str; 3] = ["proposed", "supported", "on_agenda"];
const OPEN: [&str; 3] = ["proposed", "supported", "on_agenda"];

/// Runs a read that may refuse: the closure's own refusal, or the store's.
async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut dyn crate::store::Conn) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    state.db.read(move |c| Ok(f(c))).await?
}

fn view(
    c: &mut dyn crate::store::Conn,
    p: Proposal,
    s: &Standing,
    user: i64,
) -> AppResult<ProposalView> {
    let timeline = store::events(c, p.id)?;
    let comments = store::comments(c, p.id)?;
    let decisions = store::decisions_of_proposal(c, p.id)?
        .into_iter()
        .map(|d| {
            let progress = store::progress_of(c, d.id)?;
            Ok(DecisionView {
                decision: d,
                progress,
            })
        })
        .collect::<crate::store::Result<Vec<_>>>()?;
    let mut meetings = HashMap::new();
    for e in &timeline {
        if let Some(m) = e.meeting_id
            && let std::collections::hash_map::Entry::Vacant(v) = meetings.entry(m)
            && let Some(mt) = store::meeting_by_id(c, m)?
        {
            v.insert(format!(
                "{} {}",
                crate::kernel::time::local_date(mt.starts_at),
                mt.title
            ));
        }
    }
    let supported = match &s.home {
        Some(h) => store::supports(c, p.id, h.person_id)?,
        None => false,
    };
    let supporters = if s.worker {
        store::supporters(c, p.id)?
            .into_iter()
            .map(|(_, l)| l)
            .collect()
    } else {
        Vec::new()
    };
    let open = OPEN.contains(&p.state.as_str());
    let photos = store::photos(c, p.id)?;
    Ok(ProposalView {
        can_add_photo: p.author_user_id == user && open && (photos.len() as i64) < MAX_PHOTOS,
        photos,
        can_support: s.resident && !supported && SUPPORTABLE.contains(&p.state.as_str()),
        can_comment: (s.resident || s.moderates()) && p.state != "withdrawn",
        can_moderate: s.moderates(),
        can_withdraw: p.author_user_id == user
            && matches!(p.state.as_str(), "proposed" | "supported"),
        can_reject: s.worker && open,
        supported,
        supporters,
        timeline,
        comments,
        decisions,
        meetings,
        proposal: p,
    })
}

/// One proposal with its timeline, comments and decisions. A worker's read is logged with the
/// residents it names (author, supporters, commenters) as subjects.
pub async fn get(state: &AppState, caller: &Caller, id: i64) -> AppResult<ProposalView> {
    let wpaths = worker_paths(caller);
    let who = caller.clone();
    let (v, people) = read(state, move |c| {
        let (p, s) = proposal_for(c, &who, &wpaths, id)?;
        let mut people = Vec::new();
        if s.worker && !s.resident {
            people.push(p.author_person_id);
            people.extend(store::supporters(c, p.id)?.into_iter().map(|(id, _)| id));
            people.extend(
                store::comments(c, p.id)?
                    .into_iter()
                    .filter_map(|m| m.person_id),
            );
            people.sort_unstable();
            people.dedup();
        }
        Ok((view(c, p, &s, who.user_id)?, people))
    })
    .await?;
    if !people.is_empty() {
        audit(
            state,
            NewEntry::by(caller, Action::Read)
                .subjects(people.into_iter().map(person_subject))
                .purpose(purpose("read", id)),
        )
        .await?;
    }
    Ok(v)
}

/// A resident of the scope supports a proposal, once; the threshold moves it to `supported`.
pub async fn support(state: &AppState, caller: &Caller, id: i64) -> AppResult<Proposal> {
    let wpaths = worker_paths(caller);
    let who = caller.clone();
    let (p, person) = state
        .db
        .write_tx(move |c| -> AppResult<(Proposal, i64)> {
            let (p, s) = proposal_for(c, &who, &wpaths, id)?;
            let home = match (&s.home, s.resident) {
                (Some(h), true) => h.clone(),
                (None, _) => return Err(not_verified()),
                (Some(_), false) => {
                    return Err(AppError::new(
                        StatusCode::FORBIDDEN,
                        Code::Forbidden,
                        "deliberation.err_not_in_scope",
                    ));
                }
            };
            if !SUPPORTABLE.contains(&p.state.as_str()) {
                return Err(state_conflict("deliberation.err_closed"));
            }
            let t = now();
            if !store::insert_support(
                c,
                p.street_id,
                p.id,
                home.person_id,
                who.user_id,
                &home.label,
                t,
            )? {
                return Err(conflict("deliberation.err_supported"));
            }
            let count = store::bump_supports(c, p.id, t)?;
            if p.state == "proposed" && count >= p.threshold {
                store::set_state(c, p.id, "supported", None, t)?;
                store::add_event(c, p.street_id, p.id, "supported", None, None, None, t)?;
            }
            Ok((
                store::proposal_by_id(c, p.id)?.ok_or_else(AppError::not_found)?,
                home.person_id,
            ))
        })
        .await?;
    audit(
        state,
        NewEntry::by(caller, Action::Change)
            .subjects([person_subject(person)])
            .purpose(purpose("supported", p.id)),
    )
    .await?;
    Ok(p)
}

/// The author withdraws her proposal before it is on an agenda.
pub async fn withdraw(state: &AppState, caller: &Caller, id: i64) -> AppResult<Proposal> {
    let wpaths = worker_paths(caller);
    let who = caller.clone();
    let p = state
        .db
        .write_tx(move |c| -> AppResult<Proposal> {
            let (p, _) = proposal_for(c, &who, &wpaths, id)?;
            if p.author_user_id != who.user_id {
                return Err(AppError::forbidden());
            }
            if !matches!(p.state.as_str(), "proposed" | "supported") {
                return Err(state_conflict("deliberation.err_withdraw_state"));
            }
            let t = now();
            store::set_state(c, p.id, "withdrawn", None, t)?;
            store::add_event(c, p.street_id, p.id, "withdrawn", None, None, None, t)?;
            store::proposal_by_id(c, p.id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    audit(
        state,
        NewEntry::by(caller, Action::Change)
            .subjects([person_subject(p.author_person_id)])
            .purpose(purpose("withdrawn", p.id)),
    )
    .await?;
    Ok(p)
}

/// A worker rejects a proposal that is still open, with the reason residents will read.
pub async fn reject(
    state: &AppState,
    caller: &Caller,
    id: i64,
    reason: &str,
) -> AppResult<Proposal> {
    let reason = check_text(
        reason,
        MAX_REASON,
        "deliberation.err_reason",
        "deliberation.err_reason_long",
    )?;
    let wpaths = worker_paths(caller);
    let who = caller.clone();
    let p = state
        .db
        .write_tx(move |c| -> AppResult<Proposal> {
            let (p, s) = proposal_for(c, &who, &wpaths, id)?;
            if !s.worker {
                return Err(AppError::forbidden());
            }
            if !OPEN.contains(&p.state.as_str()) {
                return Err(state_conflict("deliberation.err_closed"));
            }
            let t = now();
            store::set_state(c, p.id, "rejected", Some(&reason), t)?;
            store::add_event(
                c,
                p.street_id,
                p.id,
                "rejected",
                Some(&reason),
                None,
                None,
                t,
            )?;
            store::proposal_by_id(c, p.id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    audit(
        state,
        NewEntry::by(caller, Action::Change)
            .subjects([person_subject(p.author_person_id)])
            .purpose(purpose("rejected", p.id)),
    )
    .await?;
    Ok(p)
}

// ---- comments -------------------------------------------------------------------------------

/// A resident of the scope (or a worker, a council member) comments; at most
/// [`RATE_COMMENTS`] in [`RATE_WINDOW_MS`] per account, counted in the database.
pub async fn comment(state: &AppState, caller: &Caller, id: i64, text: &str) -> AppResult<Comment> {
    let text = check_text(
        text,
        MAX_COMMENT,
        "deliberation.err_comment_empty",
        "deliberation.err_comment_long",
    )?;
    let wpaths = worker_paths(caller);
    let who = caller.clone();
    let (m, person) = state
        .db
        .write_tx(move |c| -> AppResult<(Comment, Option<i64>)> {
            let (p, s) = proposal_for(c, &who, &wpaths, id)?;
            if p.state == "withdrawn" {
                return Err(state_conflict("deliberation.err_closed"));
            }
            let t = now();
            if store::comments_since(c, who.user_id, t - RATE_WINDOW_MS)? >= RATE_COMMENTS {
                return Err(AppError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    Code::RateLimited,
                    "deliberation.err_rate",
                ));
            }
            let (label, person) = match (&s.home, s.resident) {
                (Some(h), true) => (h.label.clone(), Some(h.person_id)),
                _ if s.worker => (who.display_name.clone(), None),
                _ => match (&s.council, &s.home) {
                    (Some(b), Some(h)) => (format!("{b} {}", h.label), Some(h.person_id)),
                    (Some(b), None) => (format!("{b} {}", mask(&who.display_name)), None),
                    _ => return Err(AppError::not_found()),
                },
            };
            let cid =
                store::insert_comment(c, p.street_id, p.id, who.user_id, person, &label, &text, t)?;
            Ok((
                store::comment_by_id(c, cid)?.ok_or_else(AppError::not_found)?,
                person,
            ))
        })
        .await?;
    if let Some(person) = person {
        audit(
            state,
            NewEntry::by(caller, Action::Change)
                .subjects([person_subject(person)])
                .purpose(purpose("comment", id)),
        )
        .await?;
    }
    Ok(m)
}

/// A worker or a member of a body covering the scope hides a comment, with a reason kept and
/// shown ("hidden by … for …").
pub async fn hide(
    state: &AppState,
    caller: &Caller,
    id: i64,
    cid: i64,
    reason: &str,
) -> AppResult<Comment> {
    let reason = check_text(
        reason,
        MAX_REASON,
        "deliberation.err_reason",
        "deliberation.err_reason_long",
    )?;
    let wpaths = worker_paths(caller);
    let who = caller.clone();
    let m = state
        .db
        .write_tx(move |c| -> AppResult<Comment> {
            let (p, s) = proposal_for(c, &who, &wpaths, id)?;
            let m = store::comment_by_id(c, cid)?
                .filter(|m| m.proposal_id == p.id)
                .ok_or_else(AppError::not_found)?;
            if !s.moderates() {
                return Err(AppError::new(
                    StatusCode::FORBIDDEN,
                    Code::Forbidden,
                    "deliberation.err_not_moderator",
                ));
            }
            let label = if s.worker {
                who.display_name.clone()
            } else {
                format!(
                    "{} {}",
                    s.council.clone().unwrap_or_default(),
                    mask(&who.display_name)
                )
            };
            if !store::hide_comment(c, m.id, who.user_id, &label, &reason, now())? {
                return Err(state_conflict("deliberation.err_hidden_already"));
            }
            store::comment_by_id(c, m.id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    let person = state
        .db
        .read(move |c| store::comment_person(c, cid))
        .await?;
    audit(
        state,
        NewEntry::by(caller, Action::Change)
            .subjects(person.map(person_subject))
            .purpose(purpose("hidden", id)),
    )
    .await?;
    Ok(m)
}

/// A resident of the scope reports a comment to the workers (once).
pub async fn report(
    state: &AppState,
    caller: &Caller,
    id: i64,
    cid: i64,
    reason: &str,
) -> AppResult<()> {
    let reason = check_text(
        reason,
        MAX_REASON,
        "deliberation.err_reason",
        "deliberation.err_reason_long",
    )?;
    let wpaths = worker_paths(caller);
    let who = caller.clone();
    read_write(state, move |c| {
        let (p, _) = proposal_for(c, &who, &wpaths, id)?;
        let m = store::comment_by_id(c, cid)?
            .filter(|m| m.proposal_id == p.id)
            .ok_or_else(AppError::not_found)?;
        if !store::insert_report(
            c,
            p.street_id,
            m.id,
            p.id,
            &p.scope_path,
            who.user_id,
            &reason,
            now(),
        )? {
            return Err(conflict("deliberation.err_reported"));
        }
        Ok(())
    })
    .await
}

async fn read_write<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut dyn crate::store::Conn) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    state.db.write_tx(f).await
}

/// Open reports of comments within the worker's places.
pub async fn reports(state: &AppState, caller: &Caller) -> AppResult<Vec<Report>> {
    let wpaths = worker_paths(caller);
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    if wpaths.is_empty() {
        return Err(AppError::forbidden());
    }
    Ok(state
        .db
        .read(move |c| store::open_reports(c, street, &wpaths))
        .await?)
}

// ---- thresholds -----------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize, utoipa::ToSchema, serde::Deserialize)]
#[schema(as = ProposalThreshold)]
pub struct Threshold {
    /// building, estate or community.
    pub scope_kind: String,
    pub supports: i64,
}

/// The supports each scope kind needs in the caller's street.
pub async fn thresholds(state: &AppState, caller: &Caller) -> AppResult<Vec<Threshold>> {
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    if !is_worker(caller) {
        return Err(AppError::forbidden());
    }
    Ok(state
        .db
        .read(move |c| {
            SCOPE_KINDS
                .iter()
                .map(|k| {
                    Ok(Threshold {
                        scope_kind: k.to_string(),
                        supports: threshold(c, street, k)?,
                    })
                })
                .collect::<crate::store::Result<Vec<_>>>()
        })
        .await?)
}

/// A street administrator sets the supports a scope kind needs (for proposals made from now).
pub async fn set_threshold(state: &AppState, caller: &Caller, t: Threshold) -> AppResult<()> {
    let street = crate::org::access::street_admin(caller)?;
    if !SCOPE_KINDS.contains(&t.scope_kind.as_str()) {
        return Err(AppError::invalid("deliberation.err_scope"));
    }
    if !(1..=10_000).contains(&t.supports) {
        return Err(AppError::invalid("deliberation.err_threshold"));
    }
    state
        .db
        .write(move |c| store::set_threshold(c, street, &t.scope_kind, t.supports))
        .await?;
    audit(
        state,
        NewEntry::by(caller, Action::Change).purpose(purpose("thresholds", 0)),
    )
    .await
}

// ---- bodies and meetings --------------------------------------------------------------------

/// A body with its members and meetings.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = BodyView)]
pub struct BodyView {
    pub body: Body,
    pub place: String,
    pub members: Vec<Member>,
    pub meetings: Vec<Meeting>,
}

fn require_worker(caller: &Caller) -> AppResult<(i64, Vec<String>)> {
    let wpaths = worker_paths(caller);
    match caller.street_id {
        Some(s) if !wpaths.is_empty() => Ok((s, wpaths)),
        _ => Err(AppError::forbidden()),
    }
}

/// The bodies within the worker's places.
pub async fn bodies(state: &AppState, caller: &Caller) -> AppResult<Vec<BodyView>> {
    let (street, wpaths) = require_worker(caller)?;
    Ok(state
        .db
        .read(move |c| {
            store::bodies_under(c, street, &wpaths)?
                .into_iter()
                .map(|b| {
                    let place = store::place(c, b.place_id)?
                        .map(|p| p.name)
                        .unwrap_or_default();
                    Ok(BodyView {
                        members: store::members(c, b.id)?,
                        meetings: store::meetings_of(c, b.id)?,
                        place,
                        body: b,
                    })
                })
                .collect::<crate::store::Result<Vec<_>>>()
        })
        .await?)
}

/// A body of the caller's places, or 404.
fn body_for(
    c: &mut dyn crate::store::Conn,
    street: i64,
    wpaths: &[String],
    id: i64,
) -> AppResult<Body> {
    store::body_by_id(c, id)?
        .filter(|b| b.street_id == street && Scope::covers(wpaths, &b.place_path))
        .ok_or_else(AppError::not_found)
}

#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = NewBody)]
pub struct NewBody {
    /// council, owners_committee or building.
    pub kind: String,
    pub name: String,
    /// The community (a council), the building (its residents) or the place an owners'
    /// committee serves.
    pub place_id: i64,
    /// The owners' committee's organisation, if it is one.
    #[serde(default)]
    pub org_id: Option<i64>,
}

pub async fn create_body(state: &AppState, caller: &Caller, n: NewBody) -> AppResult<Body> {
    let (street, wpaths) = require_worker(caller)?;
    if !BODY_KINDS.contains(&n.kind.as_str()) {
        return Err(AppError::invalid("deliberation.err_body_kind"));
    }
    let name = check_line(
        &n.name,
        60,
        "deliberation.err_name_empty",
        "deliberation.err_name_long",
    )?;
    let b = read_write(state, move |c| {
        let place = store::place(c, n.place_id)?
            .filter(|p| p.street_id == Some(street) && Scope::covers(&wpaths, &p.path))
            .ok_or_else(|| AppError::invalid("deliberation.err_place"))?;
        let fits = match n.kind.as_str() {
            "council" => place.kind == "community",
            "building" => place.kind == "building",
            _ => matches!(place.kind.as_str(), "community" | "grid" | "building"),
        };
        if !fits {
            return Err(AppError::invalid("deliberation.err_body_place"));
        }
        if let Some(o) = n.org_id {
            let ok = crate::org::orgs::get(c, o)?
                .is_some_and(|r| r.street_id == street && r.kind == "owners_committee");
            if !ok {
                return Err(AppError::invalid("deliberation.err_org"));
            }
        }
        let id = store::insert_body(
            c,
            street,
            &n.kind,
            &name,
            place.id,
            &place.path,
            n.org_id,
            now(),
        )?;
        store::body_by_id(c, id)?.ok_or_else(AppError::not_found)
    })
    .await?;
    audit(
        state,
        NewEntry::by(caller, Action::Change).purpose(purpose("body", b.id)),
    )
    .await?;
    Ok(b)
}

#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = NewBodyMember)]
pub struct NewMember {
    pub name: String,
    #[serde(default)]
    pub duty: Option<String>,
    /// The member's account, if she has one (a council member moderates comments).
    #[serde(default)]
    pub username: Option<String>,
    /// YYYY-MM-DD.
    pub term_start: String,
    #[serde(default)]
    pub term_end: Option<String>,
}

fn date(s: &str) -> AppResult<String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map(|d| d.format("%Y-%m-%d").to_string())
        .map_err(|_| AppError::invalid("deliberation.err_date"))
}

pub async fn add_member(
    state: &AppState,
    caller: &Caller,
    body_id: i64,
    n: NewMember,
) -> AppResult<Member> {
    let (street, wpaths) = require_worker(caller)?;
    let name = check_line(
        &n.name,
        40,
        "deliberation.err_name_empty",
        "deliberation.err_name_long",
    )?;
    let duty = match n.duty.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(d) => Some(check_line(
            d,
            40,
            "deliberation.err_name_empty",
            "deliberation.err_name_long",
        )?),
        None => None,
    };
    let start = date(&n.term_start)?;
    let end = match n
        .term_end
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(e) => Some(date(e)?),
        None => None,
    };
    if end.as_deref().is_some_and(|e| e < start.as_str()) {
        return Err(AppError::invalid("deliberation.err_term"));
    }
    let username = n
        .username
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty());
    let m = read_write(state, move |c| {
        let b = body_for(c, street, &wpaths, body_id)?;
        let user = match username {
            Some(u) => Some(
                crate::org::users::exists(c, &u)?
                    .ok_or_else(|| AppError::invalid("deliberation.err_username"))?,
            ),
            None => None,
        };
        let id = store::insert_member(
            c,
            street,
            b.id,
            &name,
            duty.as_deref(),
            user,
            &start,
            end.as_deref(),
            now(),
        )?;
        store::members(c, b.id)?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(AppError::not_found)
    })
    .await?;
    audit(
        state,
        NewEntry::by(caller, Action::Change).purpose(purpose("body", body_id)),
    )
    .await?;
    Ok(m)
}

#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = NewMeeting)]
pub struct NewMeeting {
    pub body_id: i64,
    pub title: String,
    /// Local time in the street's zone: `2026-12-10T19:00` or `2026-12-10 19:00`.
    pub starts_at: String,
    pub location: String,
}

fn local_instant(s: &str) -> AppResult<i64> {
    use chrono::TimeZone;
    let s = s.trim().replace(' ', "T");
    let t = chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M")
        .map_err(|_| AppError::invalid("deliberation.err_time"))?;
    crate::kernel::time::zone()
        .from_local_datetime(&t)
        .earliest()
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| AppError::invalid("deliberation.err_time"))
}

pub async fn create_meeting(
    state: &AppState,
    caller: &Caller,
    n: NewMeeting,
) -> AppResult<Meeting> {
    let (street, wpaths) = require_worker(caller)?;
    let title = check_line(
        &n.title,
        MAX_TITLE,
        "deliberation.err_title_empty",
        "deliberation.err_title_long",
    )?;
    let location = check_line(
        &n.location,
        80,
        "deliberation.err_location",
        "deliberation.err_name_long",
    )?;
    let at = local_instant(&n.starts_at)?;
    let m = read_write(state, move |c| {
        let b = body_for(c, street, &wpaths, n.body_id)?;
        let id = store::insert_meeting(c, street, b.id, &title, at, &location, now())?;
        store::meeting_by_id(c, id)?.ok_or_else(AppError::not_found)
    })
    .await?;
    audit(
        state,
        NewEntry::by(caller, Action::Change).purpose(purpose("meeting", m.id)),
    )
    .await?;
    Ok(m)
}

/// A meeting as its page shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = MeetingView)]
pub struct MeetingView {
    pub meeting: Meeting,
    pub body: Body,
    pub members: Vec<Member>,
    pub attendance: Vec<store::Attendance>,
    pub agenda: Vec<Proposal>,
    pub decisions: Vec<DecisionView>,
    /// Supported proposals within the body's place, waiting for an agenda.
    pub queue: Vec<Proposal>,
}

fn meeting_for(
    c: &mut dyn crate::store::Conn,
    street: i64,
    wpaths: &[String],
    id: i64,
) -> AppResult<(Meeting, Body)> {
    let m = store::meeting_by_id(c, id)?
        .filter(|m| m.street_id == street)
        .ok_or_else(AppError::not_found)?;
    let b = body_for(c, street, wpaths, m.body_id)?;
    Ok((m, b))
}

pub async fn meeting(state: &AppState, caller: &Caller, id: i64) -> AppResult<MeetingView> {
    let (street, wpaths) = require_worker(caller)?;
    read(state, move |c| {
        let (m, b) = meeting_for(c, street, &wpaths, id)?;
        let decisions = store::decisions_of_meeting(c, m.id)?
            .into_iter()
            .map(|d| {
                let progress = store::progress_of(c, d.id)?;
                Ok(DecisionView {
                    decision: d,
                    progress,
                })
            })
            .collect::<crate::store::Result<Vec<_>>>()?;
        Ok(MeetingView {
            members: store::members(c, b.id)?,
            attendance: store::attendance(c, m.id)?,
            agenda: store::agenda(c, m.id)?,
            queue: store::proposals_under(
                c,
                street,
                std::slice::from_ref(&b.place_path),
                Some("supported"),
                200,
            )?,
            decisions,
            meeting: m,
            body: b,
        })
    })
    .await
}

/// Puts a supported proposal within the body's place on a meeting's agenda.
pub async fn add_to_agenda(
    state: &AppState,
    caller: &Caller,
    meeting_id: i64,
    proposal_id: i64,
) -> AppResult<()> {
    let (street, wpaths) = require_worker(caller)?;
    read_write(state, move |c| {
        let (m, b) = meeting_for(c, street, &wpaths, meeting_id)?;
        let p = store::proposal_by_id(c, proposal_id)?
            .filter(|p| p.street_id == street && Scope::covers(&wpaths, &p.scope_path))
            .ok_or_else(AppError::not_found)?;
        if !Scope::covers(std::slice::from_ref(&b.place_path), &p.scope_path) {
            return Err(AppError::invalid("deliberation.err_agenda_place"));
        }
        if p.state != "supported" {
            return Err(state_conflict("deliberation.err_agenda_state"));
        }
        let t = now();
        store::add_agenda(c, street, m.id, p.id)?;
        store::set_state(c, p.id, "on_agenda", None, t)?;
        store::add_event(c, street, p.id, "on_agenda", None, Some(m.id), None, t)?;
        Ok(())
    })
    .await?;
    audit(
        state,
        NewEntry::by(caller, Action::Change).purpose(purpose("meeting", meeting_id)),
    )
    .await
}

pub async fn set_attendance(
    state: &AppState,
    caller: &Caller,
    meeting_id: i64,
    member_id: i64,
    mode: &str,
) -> AppResult<()> {
    let (street, wpaths) = require_worker(caller)?;
    if !MODES.contains(&mode) {
        return Err(AppError::invalid("deliberation.err_mode"));
    }
    let mode = mode.to_string();
    read_write(state, move |c| {
        let (m, b) = meeting_for(c, street, &wpaths, meeting_id)?;
        if !store::members(c, b.id)?.iter().any(|x| x.id == member_id) {
            return Err(AppError::invalid("deliberation.err_member"));
        }
        store::set_attendance(c, street, m.id, member_id, &mode)?;
        Ok(())
    })
    .await
}

pub async fn set_minutes(
    state: &AppState,
    caller: &Caller,
    meeting_id: i64,
    text: &str,
) -> AppResult<()> {
    let (street, wpaths) = require_worker(caller)?;
    let text = check_text(
        text,
        20_000,
        "deliberation.err_minutes_empty",
        "deliberation.err_body_long",
    )?;
    read_write(state, move |c| {
        let (m, _) = meeting_for(c, street, &wpaths, meeting_id)?;
        store::set_minutes(c, m.id, &text, now())?;
        Ok(())
    })
    .await?;
    audit(
        state,
        NewEntry::by(caller, Action::Change).purpose(purpose("meeting", meeting_id)),
    )
    .await
}

#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = NewDecision)]
pub struct NewDecision {
    /// The proposal on the meeting's agenda it decides, if any.
    #[serde(default)]
    pub proposal_id: Option<i64>,
    pub text: String,
    /// The responsible organisation of the street …
    #[serde(default)]
    pub responsible_org_id: Option<i64>,
    /// … or the responsible person's or party's name.
    #[serde(default)]
    pub responsible_name: Option<String>,
    /// YYYY-MM-DD.
    pub due_date: String,
}

/// A meeting decides: deciding a proposal on its agenda moves it to `decided`.
pub async fn decide(
    state: &AppState,
    caller: &Caller,
    meeting_id: i64,
    n: NewDecision,
) -> AppResult<Decision> {
    let (street, wpaths) = require_worker(caller)?;
    let text = check_text(
        &n.text,
        MAX_BODY,
        "deliberation.err_decision_empty",
        "deliberation.err_body_long",
    )?;
    let due = date(&n.due_date)?;
    let named = match n
        .responsible_name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => Some(check_line(
            s,
            60,
            "deliberation.err_responsible",
            "deliberation.err_name_long",
        )?),
        None => None,
    };
    let d = read_write(state, move |c| {
        let (m, _) = meeting_for(c, street, &wpaths, meeting_id)?;
        let responsible = match (n.responsible_org_id, named) {
            (Some(o), _) => crate::org::orgs::get(c, o)?
                .filter(|r| r.street_id == street)
                .map(|r| r.name)
                .ok_or_else(|| AppError::invalid("deliberation.err_org"))?,
            (None, Some(s)) => s,
            (None, None) => return Err(AppError::invalid("deliberation.err_responsible")),
        };
        let t = now();
        if let Some(pid) = n.proposal_id {
            if !store::on_agenda_of(c, m.id, pid)? {
                return Err(AppError::invalid("deliberation.err_not_on_agenda"));
            }
            let p = store::proposal_by_id(c, pid)?.ok_or_else(AppError::not_found)?;
            if p.state != "on_agenda" {
                return Err(state_conflict("deliberation.err_decide_state"));
            }
        }
        let id = store::insert_decision(
            c,
            street,
            m.id,
            n.proposal_id,
            &text,
            n.responsible_org_id,
            &responsible,
            &due,
            t,
        )?;
        if let Some(pid) = n.proposal_id {
            store::set_state(c, pid, "decided", None, t)?;
            store::add_event(
                c,
                street,
                pid,
                "decided",
                Some(&text),
                Some(m.id),
                Some(id),
                t,
            )?;
        }
        store::decision_by_id(c, id)?.ok_or_else(AppError::not_found)
    })
    .await?;
    audit(
        state,
        NewEntry::by(caller, Action::Change).purpose(purpose("decision", d.id)),
    )
    .await?;
    Ok(d)
}

/// A progress update on a decision; `done` closes it and its proposal.
pub async fn progress(
    state: &AppState,
    caller: &Caller,
    decision_id: i64,
    note: &str,
    done: bool,
) -> AppResult<Decision> {
    let (street, wpaths) = require_worker(caller)?;
    let note = check_text(
        note,
        MAX_REASON * 3,
        "deliberation.err_progress_empty",
        "deliberation.err_body_long",
    )?;
    let by = caller.display_name.clone();
    let d = read_write(state, move |c| {
        let d = store::decision_by_id(c, decision_id)?
            .filter(|d| d.street_id == street)
            .ok_or_else(AppError::not_found)?;
        meeting_for(c, street, &wpaths, d.meeting_id)?;
        if d.state == "done" {
            return Err(state_conflict("deliberation.err_decision_done"));
        }
        let t = now();
        store::add_progress(c, street, d.id, &note, &by, t)?;
        if let Some(pid) = d.proposal_id {
            store::add_event(
                c,
                street,
                pid,
                "progress",
                Some(&note),
                Some(d.meeting_id),
                Some(d.id),
                t,
            )?;
        }
        if done {
            store::mark_done(c, d.id, t)?;
            if let Some(pid) = d.proposal_id
                && store::proposal_by_id(c, pid)?.is_some_and(|p| p.state == "decided")
            {
                store::set_state(c, pid, "done", None, t)?;
                store::add_event(
                    c,
                    street,
                    pid,
                    "done",
                    None,
                    Some(d.meeting_id),
                    Some(d.id),
                    t,
                )?;
            }
        }
        store::decision_by_id(c, d.id)?.ok_or_else(AppError::not_found)
    })
    .await?;
    audit(
        state,
        NewEntry::by(caller, Action::Change).purpose(purpose("decision", decision_id)),
    )
    .await?;
    Ok(d)
}

// ---- photos ---------------------------------------------------------------------------------

/// Photos a proposal may have.
pub const MAX_PHOTOS: i64 = 3;

/// The author adds a photo to her open proposal: checked by content as a case's photo is
/// (JPEG or PNG, at most 5 MB, its location and metadata removed), stored as files in the data
/// folder with a thumbnail.
pub async fn add_photo(
    state: &AppState,
    caller: &Caller,
    id: i64,
    raw: Vec<u8>,
) -> AppResult<store::Photo> {
    let wpaths = worker_paths(caller);
    let who = caller.clone();
    let p = read(state, move |c| {
        let (p, _) = proposal_for(c, &who, &wpaths, id)?;
        if p.author_user_id != who.user_id {
            return Err(AppError::forbidden());
        }
        if !OPEN.contains(&p.state.as_str()) {
            return Err(state_conflict("deliberation.err_closed"));
        }
        if store::photos(c, p.id)?.len() as i64 >= MAX_PHOTOS {
            return Err(AppError::invalid("deliberation.err_photos"));
        }
        Ok(p)
    })
    .await?;
    let prepared = {
        let _permit = crate::cases::photos::IMAGE_WORK
            .acquire()
            .await
            .map_err(|e| AppError::internal("waiting to check a photo", e))?;
        tokio::task::spawn_blocking(move || crate::cases::photos::prepare(&raw, false))
            .await
            .map_err(|e| AppError::internal("checking a photo", e))??
    };
    let dir = state.cfg.data_dir.clone();
    let (street, pid) = (p.street_id, p.id);
    let mime = prepared.kind.mime().to_string();
    let ext = if mime == "image/png" { "png" } else { "jpg" };
    let size = prepared.bytes.len() as i64;
    let files = tokio::task::spawn_blocking(move || -> std::io::Result<(String, String)> {
        let rel = format!("photos/proposals/{street}/{pid}");
        crate::store::files::create_dir_all(&dir.join(&rel))?;
        let name: String = crate::kernel::ids::random_token("")
            .chars()
            .take(16)
            .collect();
        let file = format!("{rel}/{name}.{ext}");
        let thumb = format!("{rel}/{name}.thumb.jpg");
        write_synced(&dir.join(&file), &prepared.bytes)?;
        write_synced(&dir.join(&thumb), &prepared.thumb)?;
        Ok((file, thumb))
    })
    .await
    .map_err(|e| AppError::internal("writing a photo", e))?
    .map_err(|e| AppError::internal("writing a photo", e))?;
    let (file, thumb) = files.clone();
    let stored = read_write(state, move |c| {
        if store::photos(c, pid)?.len() as i64 >= MAX_PHOTOS {
            return Err(AppError::invalid("deliberation.err_photos"));
        }
        let id = store::insert_photo(c, street, pid, &file, &thumb, &mime, size, now())?;
        Ok(store::photos(c, pid)?.into_iter().find(|x| x.id == id))
    })
    .await;
    match stored {
        Ok(Some(photo)) => Ok(photo),
        other => {
            for f in [&files.0, &files.1] {
                let _ = std::fs::remove_file(state.cfg.data_dir.join(f));
            }
            Err(other.err().unwrap_or_else(AppError::not_found))
        }
    }
}

/// A photo of a proposal the caller may read: its file (or thumbnail) and type.
pub async fn photo(
    state: &AppState,
    caller: &Caller,
    id: i64,
    pid: i64,
    thumb: bool,
) -> AppResult<(Vec<u8>, String)> {
    let wpaths = worker_paths(caller);
    let who = caller.clone();
    let found = read(state, move |c| {
        let (p, _) = proposal_for(c, &who, &wpaths, id)?;
        store::photos(c, p.id)?
            .into_iter()
            .find(|x| x.id == pid)
            .ok_or_else(AppError::not_found)
    })
    .await?;
    let (rel, mime) = if thumb {
        (found.thumb, "image/jpeg".to_string())
    } else {
        (found.file, found.content_type)
    };
    let bytes = tokio::fs::read(state.cfg.data_dir.join(&rel))
        .await
        .map_err(|e| AppError::internal("reading a photo", e))?;
    Ok((bytes, mime))
}

/// Writes a new file 0600 and syncs it (photos show residents and their homes).
fn write_synced(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = crate::store::files::create_new(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
