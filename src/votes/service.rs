//! The votes' use cases, shared by the pages and the API: a community worker or street
//! administrator calls a vote within her places (or from a template); the electorate is taken
//! when it opens; owners vote online, workers enter paper ballots and proxies with their files;
//! anyone of the vote's audience reads the count.
//!
//! Who sees a vote: workers who read the registry where it is held, and the owners of its
//! electorate (before it opens, the owners the registry names now). Anyone else gets 404.
//! Who calls a vote and enters ballots: a community worker or a street (district) administrator
//! whose places hold every unit of the scope (`org::access::place_editor_paths`).

use serde::Serialize;

use super::electorate::{self, NewElector};
use super::files;
use super::model::{self, Channel, Choice, Matter, Outcome, ScopeKind, Tally, Totals};
use super::store::{self, Elector, NewBallot, Participation, Vote};
use crate::audit::{Action, NewEntry};
use crate::kernel::StatusCode;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::kernel::i18n::{Lang, Tr};
use crate::org::{Caller, Role, Scope, access};
use crate::state::AppState;

/// The longest vote, in days.
pub const MAX_DAYS: i64 = 90;
/// How long a vote runs when its end is not given, in days.
pub const DEFAULT_DAYS: i64 = 14;
const DAY_MS: i64 = 86_400_000;

fn now() -> i64 {
    crate::store::now_ms()
}

/// The templates a vote can start from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = VoteTemplate)]
pub enum Template {
    /// 加装电梯: a stairwell decides to retrofit a lift (item 7, 改建).
    Elevator,
    /// 选聘物业服务企业: an estate chooses its property company (item 4).
    Property,
}

impl Template {
    pub fn as_str(self) -> &'static str {
        match self {
            Template::Elevator => "elevator",
            Template::Property => "property",
        }
    }
    pub fn parse(s: &str) -> Option<Template> {
        [Template::Elevator, Template::Property]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
    pub fn matter(self) -> Matter {
        match self {
            Template::Elevator => Matter::Item7,
            Template::Property => Matter::Item4,
        }
    }
    pub fn scope_kind(self) -> ScopeKind {
        match self {
            Template::Elevator => ScopeKind::Stairwell,
            Template::Property => ScopeKind::Estate,
        }
    }
}

/// A vote as asked for.
#[derive(Clone, Debug, Default)]
pub struct NewVoteInput {
    pub template: Option<Template>,
    pub title: String,
    pub matter: Option<Matter>,
    pub scope_kind: Option<ScopeKind>,
    pub building_id: Option<i64>,
    pub stairwell_no: Option<i64>,
    pub estate: Option<String>,
    pub secret: bool,
    pub opens_at: Option<i64>,
    pub closes_at: Option<i64>,
}

/// Whether the caller calls votes and enters ballots where the vote is held.
fn manages(caller: &Caller, path: &str) -> bool {
    Scope::covers(&access::place_editor_paths(caller), path)
}

/// 404 when the caller browses none of `path`, 403 when she browses it but may not call a vote.
fn require_manager(caller: &Caller, path: &str) -> AppResult<()> {
    if manages(caller, path) {
        Ok(())
    } else if Scope::covers(&caller.scope.registry, path)
        || Scope::covers(&caller.scope.places, path)
    {
        Err(AppError::forbidden())
    } else {
        Err(AppError::not_found())
    }
}

/// The longest path that holds every one of these.
fn common_path(paths: &[String]) -> String {
    let mut parts: Vec<&str> = match paths.first() {
        Some(p) => p.split('/').collect(),
        None => return String::new(),
    };
    for p in &paths[1..] {
        let other: Vec<&str> = p.split('/').collect();
        let n = parts
            .iter()
            .zip(other.iter())
            .take_while(|(a, b)| a == b)
            .count();
        parts.truncate(n);
    }
    parts.join("/")
}

/// Where a vote is held, as checked.
struct Held {
    street_id: i64,
    kind: ScopeKind,
    building_id: Option<i64>,
    stairwell_no: Option<i64>,
    estate: Option<String>,
    place_path: String,
    label: String,
    buildings: Vec<store::PlaceBrief>,
}

fn held(
    c: &mut dyn crate::store::Conn,
    caller: &Caller,
    input: &NewVoteInput,
    kind: ScopeKind,
) -> AppResult<Held> {
    match kind {
        ScopeKind::Stairwell | ScopeKind::Building => {
            let b = input
                .building_id
                .and_then(|id| store::place(c, id).transpose())
                .transpose()?
                .filter(|p| p.kind == "building")
                .ok_or_else(|| AppError::invalid("votes.err_building"))?;
            require_manager(caller, &b.path)?;
            let street_id = b
                .street_id
                .ok_or_else(|| AppError::invalid("votes.err_building"))?;
            let (stairwell_no, label) = if kind == ScopeKind::Stairwell {
                let n = input
                    .stairwell_no
                    .filter(|n| *n >= 1 && b.stairwells.is_none_or(|s| *n <= s))
                    .ok_or_else(|| AppError::invalid("votes.err_stairwell"))?;
                let label = crate::kernel::i18n::both(
                    "votes.stairwell_label",
                    &[("building", &b.name), ("n", &n)],
                );
                (Some(n), label)
            } else {
                (None, b.name.clone())
            };
            Ok(Held {
                street_id,
                kind,
                building_id: Some(b.id),
                stairwell_no,
                estate: None,
                place_path: b.path.clone(),
                label,
                buildings: vec![b],
            })
        }
        ScopeKind::Estate => {
            let street_id = caller.street_id.ok_or_else(AppError::forbidden)?;
            let name = input
                .estate
                .as_deref()
                .map(str::trim)
                .unwrap_or_default()
                .to_string();
            if name.is_empty() {
                return Err(AppError::invalid("votes.err_estate"));
            }
            let buildings = store::estate_buildings(c, street_id, &name)?;
            if buildings.is_empty() {
                return Err(AppError::invalid("votes.err_estate"));
            }
            for b in &buildings {
                require_manager(caller, &b.path)?;
            }
            let paths: Vec<String> = buildings.iter().map(|b| b.path.clone()).collect();
            Ok(Held {
                street_id,
                kind,
                building_id: None,
                stairwell_no: None,
                estate: Some(name.clone()),
                place_path: common_path(&paths),
                label: name,
                buildings,
            })
        }
    }
}

/// The electorate of a vote's scope as the registry stands now.
pub fn take(c: &mut dyn crate::store::Conn, vote: &Vote) -> crate::store::Result<Vec<NewElector>> {
    let buildings = match vote.scope_kind {
        ScopeKind::Estate => {
            store::estate_buildings(c, vote.street_id, vote.estate.as_deref().unwrap_or(""))?
        }
        _ => vote
            .building_id
            .and_then(|id| store::place(c, id).transpose())
            .transpose()?
            .into_iter()
            .collect(),
    };
    let mut units = Vec::new();
    let mut owners = Vec::new();
    for b in &buildings {
        let stairwell = (vote.scope_kind == ScopeKind::Stairwell)
            .then_some(vote.stairwell_no)
            .flatten();
        units.extend(store::units_of(c, b, stairwell)?);
        owners.extend(crate::registry::residents::owners_under(c, &b.path)?);
    }
    Ok(electorate::electors(&units, &owners))
}

/// Takes the electorate of a vote that has opened, once (in its own transaction).
pub async fn ensure_frozen(state: &AppState, vote: Vote) -> AppResult<Vote> {
    let t = now();
    if vote.frozen_at.is_some() || t < vote.opens_at {
        return Ok(vote);
    }
    let id = vote.id;
    state
        .db
        .write(move |c| {
            let electors = take(c, &vote)?;
            store::freeze(c, &vote, &electors, t)?;
            Ok(())
        })
        .await?;
    state
        .db
        .read(move |c| store::get(c, id))
        .await?
        .ok_or_else(AppError::not_found)
}

/// Freezes every vote that has opened (the job; also done on the first look at one).
pub async fn freeze_due(state: &AppState) -> AppResult<usize> {
    let t = now();
    let due = state.db.read(move |c| store::due_to_freeze(c, t)).await?;
    let n = due.len();
    for id in due {
        if let Some(v) = state.db.read(move |c| store::get(c, id)).await? {
            ensure_frozen(state, v).await?;
        }
    }
    Ok(n)
}

fn check_title(title: &str) -> AppResult<String> {
    let t = title.trim();
    if t.is_empty() || t.chars().count() > 200 {
        return Err(AppError::invalid("votes.err_title"));
    }
    crate::kernel::text::check_line(t).map_err(AppError::invalid)?;
    Ok(t.to_string())
}

/// Calls a vote (from a template or not). The electorate is taken at once when it opens now.
pub async fn create(state: &AppState, caller: &Caller, input: NewVoteInput) -> AppResult<Vote> {
    if !caller.has(Role::CommunityWorker)
        && !caller.has(Role::StreetAdmin)
        && !caller.has(Role::DistrictAdmin)
    {
        return Err(AppError::forbidden());
    }
    let (matter, kind) = match input.template {
        Some(t) => {
            if input.scope_kind.is_some_and(|k| k != t.scope_kind()) {
                return Err(AppError::invalid("votes.err_template_scope"));
            }
            (t.matter(), t.scope_kind())
        }
        None => (
            input
                .matter
                .ok_or_else(|| AppError::invalid("votes.err_matter"))?,
            input
                .scope_kind
                .ok_or_else(|| AppError::invalid("votes.err_scope"))?,
        ),
    };
    let t = now();
    let opens_at = input.opens_at.unwrap_or(t);
    let closes_at = input.closes_at.unwrap_or(opens_at + DEFAULT_DAYS * DAY_MS);
    if closes_at <= opens_at || closes_at <= t {
        return Err(AppError::invalid("votes.err_times"));
    }
    if closes_at - opens_at > MAX_DAYS * DAY_MS {
        return Err(AppError::invalid("votes.err_too_long"));
    }
    let who = caller.clone();
    let input2 = input.clone();
    let lang = crate::kernel::ctx().lang;
    let vote = state
        .db
        .write_tx(move |c| -> AppResult<Vote> {
            let h = held(c, &who, &input2, kind)?;
            let title = if input2.title.trim().is_empty() {
                let key = match input2.template {
                    Some(Template::Elevator) => "votes.template.elevator_title",
                    Some(Template::Property) => "votes.template.property_title",
                    None => return Err(AppError::invalid("votes.err_title")),
                };
                let scope = crate::kernel::i18n::pick(&h.label, lang);
                Tr(lang).fill(key, &[("scope", &scope)])
            } else {
                check_title(&input2.title)?
            };
            let units: usize = h
                .buildings
                .iter()
                .map(|b| store::units_of(c, b, h.stairwell_no).map(|u| u.len()))
                .sum::<crate::store::Result<usize>>()?;
            if units == 0 {
                return Err(AppError::invalid("votes.err_no_units"));
            }
            let id = store::insert(
                c,
                &store::NewVote {
                    street_id: h.street_id,
                    title: &title,
                    matter,
                    scope_kind: h.kind,
                    building_id: h.building_id,
                    stairwell_no: h.stairwell_no,
                    estate: h.estate.as_deref(),
                    place_path: &h.place_path,
                    scope_label: &h.label,
                    secret: input2.secret,
                    opens_at,
                    closes_at,
                    template: input2.template.map(Template::as_str),
                    created_by: who.user_id,
                    now: t,
                },
            )?;
            store::get(c, id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    let e = NewEntry::by(caller, Action::Change).purpose(format!(
        "votes: vote {} called ({}, {} {}, {})",
        vote.id,
        vote.matter.code(),
        vote.scope_kind.as_str(),
        vote.place_path,
        if vote.secret { "secret" } else { "open" }
    ));
    state.audit.record(e).await?;
    ensure_frozen(state, vote).await
}

/// How the caller stands towards a vote.
#[derive(Clone, Debug)]
pub enum Standing {
    /// A worker who reads where it is held; `manages`: she also enters ballots.
    Worker { manages: bool },
    /// An owner of its electorate, with her electors (none before it opens).
    Owner { electors: Vec<Elector> },
}

/// The vote and how the caller stands towards it; 404 for anyone outside its audience.
pub async fn standing(state: &AppState, caller: &Caller, id: i64) -> AppResult<(Vote, Standing)> {
    let vote = state
        .db
        .read(move |c| store::get(c, id))
        .await?
        .ok_or_else(AppError::not_found)?;
    let vote = ensure_frozen(state, vote).await?;
    if Scope::covers(&caller.scope.registry, &vote.place_path) {
        return Ok((
            vote.clone(),
            Standing::Worker {
                manages: manages(caller, &vote.place_path),
            },
        ));
    }
    let Some(person) = caller.person_id.filter(|_| caller.has(Role::Resident)) else {
        return Err(AppError::not_found());
    };
    let v = vote.clone();
    let electors = state
        .db
        .read(move |c| {
            if v.frozen_at.is_some() {
                store::electors_of_person(c, v.id, person).map(|e| (true, e))
            } else {
                let live = take(c, &v)?;
                Ok((live.iter().any(|e| e.persons.contains(&person)), Vec::new()))
            }
        })
        .await?;
    match electors {
        (true, e) if vote.frozen_at.is_none() || !e.is_empty() => {
            Ok((vote, Standing::Owner { electors: e }))
        }
        _ => Err(AppError::not_found()),
    }
}

/// A vote in a list, with how far it has come.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = VoteListed)]
pub struct Listed {
    #[serde(flatten)]
    pub vote: Vote,
    /// upcoming, open or closed.
    pub phase: String,
    /// Electors taking part so far, of all (0 of 0 before it opens).
    pub heads_part: i64,
    pub heads_total: i64,
    /// For an owner: whether each of her electors has voted (true when all have).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voted: Option<bool>,
}

/// The votes of the caller: a worker's in her places, an owner's where she owns.
pub async fn list(state: &AppState, caller: &Caller) -> AppResult<Vec<Listed>> {
    // Votes that opened since their electorate was last looked at are frozen first.
    freeze_due(state).await?;
    let paths = caller.scope.registry.clone();
    let person = caller.person_id.filter(|_| caller.has(Role::Resident));
    let street = caller.street_id;
    let t = now();
    let rows = state
        .db
        .read(move |c| {
            let mut votes: Vec<(Vote, Option<bool>)> = store::under(c, &paths, 200)?
                .into_iter()
                .map(|v| (v, None))
                .collect();
            if let Some(p) = person {
                for v in store::of_person(c, p)? {
                    if votes.iter().any(|(w, _)| w.id == v.id) {
                        continue;
                    }
                    let mine = store::electors_of_person(c, v.id, p)?;
                    let voted = mine.iter().all(|e| e.ballot.is_some());
                    votes.push((v, Some(voted)));
                }
                if let Some(s) = street {
                    for v in store::unfrozen(c, s)? {
                        if votes.iter().any(|(w, _)| w.id == v.id) {
                            continue;
                        }
                        if take(c, &v)?.iter().any(|e| e.persons.contains(&p)) {
                            votes.push((v, Some(false)));
                        }
                    }
                }
            }
            let mut out = Vec::with_capacity(votes.len());
            for (v, voted) in votes {
                let totals = store::totals(c, v.id)?;
                let tally = store::tally(c, v.id)?;
                out.push(Listed {
                    phase: v.phase(t).to_string(),
                    heads_part: tally.heads_part(),
                    heads_total: totals.heads,
                    voted,
                    vote: v,
                });
            }
            out.sort_by_key(|l| (l.phase == "closed", -l.vote.opens_at));
            Ok(out)
        })
        .await?;
    Ok(rows)
}

/// A channel's name in one language.
fn channel_name(lang: Lang, ch: Channel) -> &'static str {
    Tr(lang).k("votes.channel", ch.as_str())
}

/// The refusal of a second ballot, saying where the first came from, in both languages.
fn already(first: &Participation) -> AppError {
    let at = crate::kernel::time::local_time(first.at);
    let msg = format!(
        "{} / {}",
        Tr(Lang::Zh).fill(
            "votes.err_already",
            &[
                ("channel", &channel_name(Lang::Zh, first.channel)),
                ("at", &at)
            ]
        ),
        Tr(Lang::En).fill(
            "votes.err_already",
            &[
                ("channel", &channel_name(Lang::En, first.channel)),
                ("at", &at)
            ]
        ),
    );
    AppError::with_message(StatusCode::CONFLICT, Code::Conflict, msg)
}

/// A refusal with a time in it, in both languages.
fn at_refusal(key: &str, at: i64) -> AppError {
    let at = crate::kernel::time::local_time(at);
    AppError::with_message(
        StatusCode::CONFLICT,
        Code::Conflict,
        crate::kernel::i18n::both(key, &[("at", &at)]),
    )
}

/// The open window: before opening and after closing each refused with its time.
fn check_open(vote: &Vote, t: i64) -> AppResult<()> {
    if t < vote.opens_at {
        return Err(at_refusal("votes.err_not_open", vote.opens_at));
    }
    if t >= vote.closes_at {
        return Err(at_refusal("votes.err_closed", vote.closes_at));
    }
    Ok(())
}

/// What a recorded ballot answers.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = VoteReceipt)]
pub struct Receipt {
    pub vote_id: i64,
    pub elector_id: i64,
    pub channel: Channel,
    pub at: i64,
}

/// A ballot as a worker enters it (paper, or a proxy's).
#[derive(Default)]
pub struct Entered {
    pub channel: Option<Channel>,
    pub elector_id: Option<i64>,
    pub choice: Option<Choice>,
    /// Which owner cast it or gave the proxy.
    pub cast_by: Option<i64>,
    pub proxy_name: Option<String>,
    pub file: Option<Vec<u8>>,
}

struct Ballot {
    elector: Elector,
    channel: Channel,
    cast_by: Option<i64>,
    proxy_name: Option<String>,
    choice: Choice,
    file: Option<files::Checked>,
}

/// Records a ballot: one per elector across channels, the first one standing.
async fn record(state: &AppState, caller: &Caller, vote: Vote, b: Ballot) -> AppResult<Receipt> {
    let t = now();
    check_open(&vote, t)?;
    let stored = match &b.file {
        Some(f) => {
            let dir = state.cfg.data_dir.clone();
            let (street, vid) = (vote.street_id, vote.id);
            let bytes = files::Checked {
                bytes: f.bytes.clone(),
                mime: f.mime,
                ext: f.ext,
            };
            let rel = tokio::task::spawn_blocking(move || files::write(&dir, street, vid, &bytes))
                .await
                .map_err(|e| AppError::internal("writing a ballot's file", e))?
                .map_err(|e| AppError::internal("writing a ballot's file", e))?;
            Some((rel, f.mime))
        }
        None => None,
    };
    let (v, elector_id, area) = (vote.clone(), b.elector.id, b.elector.area_cm2);
    let (channel, cast_by, proxy, choice, user) = (
        b.channel,
        b.cast_by,
        b.proxy_name.clone(),
        b.choice,
        caller.user_id,
    );
    let ev = stored.clone();
    let res = state
        .db
        .write_tx(move |c| -> AppResult<()> {
            if let Some(first) = store::participation(c, v.id, elector_id)? {
                return Err(already(&first));
            }
            store::record(
                c,
                &NewBallot {
                    vote: &v,
                    elector_id,
                    area_cm2: area,
                    channel,
                    cast_by,
                    proxy_name: proxy.as_deref(),
                    entered_by: user,
                    evidence: ev.as_ref().map(|(p, m)| (p.as_str(), *m)),
                    choice,
                    at: t,
                },
            )?;
            Ok(())
        })
        .await;
    if let Err(e) = res {
        if let Some((rel, _)) = &stored {
            files::remove(&state.cfg.data_dir, rel);
        }
        // A concurrent ballot for the same elector won the unique key: say where it came from.
        if e.status == StatusCode::CONFLICT && !e.literal {
            let vid = vote.id;
            if let Some(first) = state
                .db
                .read(move |c| store::participation(c, vid, elector_id))
                .await?
            {
                return Err(already(&first));
            }
        }
        return Err(e);
    }
    let subjects: Vec<String> = match cast_by {
        Some(p) => vec![crate::audit::person(p)],
        None => b
            .elector
            .persons
            .iter()
            .map(|p| crate::audit::person(*p))
            .collect(),
    };
    let how = if vote.secret {
        String::new()
    } else {
        format!(", {}", choice.as_str())
    };
    let e = NewEntry::by(caller, Action::Change)
        .subjects(subjects)
        .purpose(format!(
            "votes: ballot of elector {elector_id} in vote {} ({}{how})",
            vote.id,
            channel.as_str()
        ));
    state.audit.record(e).await?;
    Ok(Receipt {
        vote_id: vote.id,
        elector_id,
        channel,
        at: t,
    })
}

/// An owner votes online, for one of her electors (the only one when she has one).
pub async fn cast_online(
    state: &AppState,
    caller: &Caller,
    id: i64,
    elector_id: Option<i64>,
    choice: Choice,
) -> AppResult<Receipt> {
    let (vote, standing) = standing(state, caller, id).await?;
    let mine = match standing {
        Standing::Owner { electors } => electors,
        Standing::Worker { .. } => {
            // A worker who is not an owner of this electorate casts no ballot online.
            if caller.person_id.is_none() {
                return Err(AppError::new(
                    StatusCode::FORBIDDEN,
                    Code::Forbidden,
                    "votes.err_not_owner",
                ));
            }
            let (vid, p) = (vote.id, caller.person_id.unwrap_or_default());
            state
                .db
                .read(move |c| store::electors_of_person(c, vid, p))
                .await?
        }
    };
    check_open(&vote, now())?;
    let elector = match elector_id {
        Some(e) => mine.into_iter().find(|x| x.id == e),
        None if mine.len() == 1 => mine.into_iter().next(),
        None if mine.is_empty() => None,
        None => return Err(AppError::invalid("votes.err_pick_elector")),
    }
    .ok_or_else(|| {
        AppError::new(
            StatusCode::FORBIDDEN,
            Code::Forbidden,
            "votes.err_not_owner",
        )
    })?;
    let cast_by = caller.person_id;
    record(
        state,
        caller,
        vote,
        Ballot {
            elector,
            channel: Channel::Online,
            cast_by,
            proxy_name: None,
            choice,
            file: None,
        },
    )
    .await
}

/// A worker enters a paper ballot (with its scan) or a proxy's (with the proxy's evidence).
pub async fn enter(
    state: &AppState,
    caller: &Caller,
    id: i64,
    input: Entered,
) -> AppResult<Receipt> {
    let (vote, standing) = standing(state, caller, id).await?;
    if !matches!(standing, Standing::Worker { manages: true }) {
        return Err(AppError::forbidden());
    }
    let channel = match input.channel {
        Some(Channel::Online) | None => return Err(AppError::invalid("votes.err_channel")),
        Some(c) => c,
    };
    let choice = input
        .choice
        .ok_or_else(|| AppError::invalid("votes.err_choice"))?;
    let proxy_name = match channel {
        Channel::Proxy => {
            let n = input
                .proxy_name
                .as_deref()
                .map(str::trim)
                .unwrap_or_default();
            if n.is_empty() || n.chars().count() > 50 {
                return Err(AppError::invalid("votes.err_proxy_name"));
            }
            crate::kernel::text::check_line(n).map_err(AppError::invalid)?;
            Some(n.to_string())
        }
        _ => None,
    };
    let raw = match input.file.filter(|f| !f.is_empty()) {
        Some(f) => f,
        None if channel == Channel::Proxy => {
            return Err(AppError::invalid("votes.err_proxy_evidence"));
        }
        None => return Err(AppError::invalid("votes.err_scan")),
    };
    check_open(&vote, now())?;
    let elector_id = input
        .elector_id
        .ok_or_else(|| AppError::invalid("votes.err_pick_elector"))?;
    let vid = vote.id;
    let elector = state
        .db
        .read(move |c| store::elector(c, vid, elector_id))
        .await?
        .ok_or_else(|| AppError::invalid("votes.err_pick_elector"))?;
    let cast_by = match input.cast_by {
        Some(p) if elector.persons.contains(&p) => Some(p),
        Some(_) => return Err(AppError::invalid("votes.err_cast_by")),
        None if elector.persons.len() <= 1 => elector.persons.first().copied(),
        None => return Err(AppError::invalid("votes.err_cast_by")),
    };
    let file = {
        let _permit = crate::cases::photos::IMAGE_WORK
            .acquire()
            .await
            .map_err(|e| AppError::internal("waiting to check a file", e))?;
        tokio::task::spawn_blocking(move || files::check(&raw))
            .await
            .map_err(|e| AppError::internal("checking a file", e))??
    };
    record(
        state,
        caller,
        vote,
        Ballot {
            elector,
            channel,
            cast_by,
            proxy_name,
            choice,
            file: Some(file),
        },
    )
    .await
}

/// A line of the roll of who took part (after closing): the elector masked, how the ballot
/// came in, and the choice on an open ballot only.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = VoteRollLine)]
pub struct RollLine {
    pub label: String,
    pub names: String,
    pub developer: bool,
    pub area_cm2: i64,
    pub channel: Channel,
    pub at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choice: Option<Choice>,
}

/// The count of a vote.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = VoteCount)]
pub struct Count {
    pub vote: Vote,
    /// upcoming, open or closed: the count is final once closed.
    pub phase: String,
    pub totals: Totals,
    pub tally: Tally,
    pub outcome: Outcome,
    /// Whether the approval needs three quarters (items 6–8) or more than half.
    pub three_quarters: bool,
    /// The roll of who took part, after closing (how, on an open ballot only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roll: Option<Vec<RollLine>>,
}

/// The count, for anyone of the vote's audience; the roll once it has closed.
pub async fn count(state: &AppState, caller: &Caller, id: i64) -> AppResult<Count> {
    let (vote, standing) = standing(state, caller, id).await?;
    let t = now();
    let v = vote.clone();
    let (totals, tally, electors) = state
        .db
        .read(move |c| {
            let closed = t >= v.closes_at;
            Ok((
                store::totals(c, v.id)?,
                store::tally(c, v.id)?,
                if closed {
                    Some(store::electors(c, v.id)?)
                } else {
                    None
                },
            ))
        })
        .await?;
    let roll = electors.map(|es| {
        es.into_iter()
            .filter_map(|e| {
                let b = e.ballot?;
                Some(RollLine {
                    label: e.label,
                    names: e.names,
                    developer: e.developer,
                    area_cm2: e.area_cm2,
                    channel: b.channel,
                    at: b.at,
                    choice: if vote.secret { None } else { b.choice },
                })
            })
            .collect::<Vec<_>>()
    });
    if let Some(r) = &roll
        && !r.is_empty()
    {
        let role = match standing {
            Standing::Worker { .. } => "worker",
            Standing::Owner { .. } => "owner",
        };
        let e = NewEntry::by(caller, Action::List).purpose(format!(
            "votes: roll of vote {} ({} electors, names masked) read by {role}",
            vote.id,
            r.len()
        ));
        state.audit.record(e).await?;
    }
    Ok(Count {
        phase: vote.phase(t).to_string(),
        outcome: model::count(vote.matter, &totals, &tally),
        three_quarters: vote.matter.needs_three_quarters(),
        totals,
        tally,
        roll,
        vote,
    })
}

/// The electorate with who took part, for a worker who enters ballots.
pub async fn electors(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> AppResult<(Vote, Vec<Elector>)> {
    let (vote, standing) = standing(state, caller, id).await?;
    if !matches!(standing, Standing::Worker { .. }) {
        return Err(AppError::forbidden());
    }
    let vid = vote.id;
    let mut es = state.db.read(move |c| store::electors(c, vid)).await?;
    if vote.secret {
        for e in &mut es {
            if let Some(b) = &mut e.ballot {
                b.choice = None;
            }
        }
    }
    Ok((vote, es))
}

/// The count as an XLSX workbook for the notice board (the reader's language).
pub fn count_xlsx(count: &Count, lang: Lang) -> AppResult<Vec<u8>> {
    let t = Tr(lang);
    let o = &count.outcome;
    let fig = |f: &model::Figure, area: bool| {
        let (p, w) = if area {
            (model::m2(f.part), model::m2(f.whole))
        } else {
            (f.part.to_string(), f.whole.to_string())
        };
        vec![
            p,
            w,
            f.percent(),
            t.s(f.threshold.label_key()).to_string(),
            t.s(if f.met { "votes.met" } else { "votes.not_met" })
                .to_string(),
        ]
    };
    let mut rows: Vec<Vec<String>> = vec![vec![
        t.s("votes.figure").to_string(),
        t.s("votes.part").to_string(),
        t.s("votes.whole").to_string(),
        t.s("votes.share").to_string(),
        t.s("votes.threshold_col").to_string(),
        t.s("votes.met_col").to_string(),
    ]];
    for (key, f, area) in [
        ("votes.fig.area_participation", &o.area_participation, true),
        (
            "votes.fig.heads_participation",
            &o.heads_participation,
            false,
        ),
        ("votes.fig.area_approval", &o.area_approval, true),
        ("votes.fig.heads_approval", &o.heads_approval, false),
    ] {
        let mut r = vec![t.s(key).to_string()];
        r.extend(fig(f, area));
        rows.push(r);
    }
    rows.push(vec![]);
    rows.push(vec![
        t.s("votes.title_col").to_string(),
        count.vote.title.clone(),
    ]);
    rows.push(vec![
        t.s("votes.matter_col").to_string(),
        t.s(&count.vote.matter.label_key()).to_string(),
    ]);
    rows.push(vec![
        t.s("votes.scope_col").to_string(),
        crate::kernel::i18n::pick(&count.vote.scope_label, lang),
    ]);
    rows.push(vec![
        t.s("votes.outcome_col").to_string(),
        t.s(outcome_key(count)).to_string(),
    ]);
    rows.push(vec![t.s("votes.abstain_note").to_string()]);
    rows.push(vec![t.s("votes.basis").to_string()]);
    for c in Choice::ALL {
        let (heads, area) = match c {
            Choice::For => (count.tally.for_heads, count.tally.for_area),
            Choice::Against => (count.tally.against_heads, count.tally.against_area),
            Choice::Abstain => (count.tally.abstain_heads, count.tally.abstain_area),
        };
        rows.push(vec![
            t.k("votes.choice", c.as_str()).to_string(),
            heads.to_string(),
            model::m2(area),
        ]);
    }
    crate::registry::export::xlsx(&rows, "count")
        .map_err(|e| AppError::internal("writing the count", e))
}

/// The catalogue key of the outcome as it stands.
pub fn outcome_key(count: &Count) -> &'static str {
    match (
        count.phase.as_str(),
        count.outcome.quorum,
        count.outcome.approved,
    ) {
        ("closed", _, true) => "votes.outcome.approved",
        ("closed", false, _) => "votes.outcome.no_quorum",
        ("closed", true, false) => "votes.outcome.rejected",
        (_, _, true) => "votes.outcome.provisional_approved",
        _ => "votes.outcome.provisional_not_yet",
    }
}

/// The buildings and estates the caller may call a vote in (for the form).
pub async fn places_for_form(
    state: &AppState,
    caller: &Caller,
) -> AppResult<(Vec<store::PlaceBrief>, Vec<String>)> {
    let paths = access::place_editor_paths(caller);
    if paths.is_empty() {
        return Err(AppError::forbidden());
    }
    Ok(state
        .db
        .read(move |c| {
            Ok((
                store::buildings_under(c, &paths)?,
                store::estates_under(c, &paths)?,
            ))
        })
        .await?)
}

/// The scan or proxy's evidence kept with an elector's ballot, for a worker who enters ballots
/// where the vote is held; the look is an audit entry naming the elector's owners.
pub async fn evidence(
    state: &AppState,
    caller: &Caller,
    id: i64,
    elector_id: i64,
) -> AppResult<(String, Vec<u8>)> {
    let (vote, standing) = standing(state, caller, id).await?;
    if !matches!(standing, Standing::Worker { manages: true }) {
        return Err(AppError::forbidden());
    }
    let vid = vote.id;
    let (file, mime, elector) = state
        .db
        .read(move |c| {
            let e = store::elector(c, vid, elector_id)?;
            Ok(store::evidence(c, vid, elector_id)?.map(|(f, m)| (f, m, e)))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    let path = state.cfg.data_dir.join(&file);
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .map_err(|e| AppError::internal("reading a ballot's file", e))?
        .map_err(|_| AppError::not_found())?;
    let e = NewEntry::by(caller, Action::Read)
        .subjects(
            elector
                .map(|e| e.persons)
                .unwrap_or_default()
                .into_iter()
                .map(crate::audit::person),
        )
        .purpose(format!(
            "votes: the file of elector {elector_id}'s ballot in vote {vid} shown"
        ));
    state.audit.record(e).await?;
    Ok((mime, bytes))
}
