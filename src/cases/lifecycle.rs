//! The life of a case as one table of allowed steps: for each action, the states it may be
//! taken from, the roles towards the case that may take it, and the state it leads to. Every
//! check of "may this person do this now" reads [`RULES`]; a test walks every action × state
//! × role against an independent statement of the same rules.
//!
//! On top of the table, a few guards that depend on the people involved: the verifier may not
//! be the handler (巡办分离), a resolved case whose category needs on-site verification may
//! not be closed unverified, an extension can only be decided when one was asked.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::calendar::{Calendar, HOUR_MS};
use super::{Case, CaseError, Why, escalation, notify, record_event};
use crate::kernel::i18n::Tr;
use crate::params;
use crate::store::Conn;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    New,
    /// 受理
    Accepted,
    /// 派单
    Dispatched,
    /// 签收
    SignedFor,
    InProgress,
    /// 办结
    Resolved,
    /// 核查 (on site, by someone other than the handler)
    Verified,
    /// 结案
    Closed,
    /// 回访 done
    Rated,
    /// 退单: back with the dispatcher
    Returned,
    /// 挂账
    OnHold,
    /// Merged into another case as a duplicate.
    Merged,
    /// 不予受理
    Rejected,
}

impl State {
    pub const ALL: [State; 13] = [
        State::New,
        State::Accepted,
        State::Dispatched,
        State::SignedFor,
        State::InProgress,
        State::Resolved,
        State::Verified,
        State::Closed,
        State::Rated,
        State::Returned,
        State::OnHold,
        State::Merged,
        State::Rejected,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::Accepted => "accepted",
            State::Dispatched => "dispatched",
            State::SignedFor => "signed_for",
            State::InProgress => "in_progress",
            State::Resolved => "resolved",
            State::Verified => "verified",
            State::Closed => "closed",
            State::Rated => "rated",
            State::Returned => "returned",
            State::OnHold => "on_hold",
            State::Merged => "merged",
            State::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// Closed after a resolution (closed, or closed and rated).
    pub fn was_resolved(self) -> bool {
        matches!(self, State::Closed | State::Rated)
    }
    /// Still needs work (not closed, rated, merged or rejected).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Rated | State::Merged | State::Rejected
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Accept,
    Reject,
    Merge,
    Dispatch,
    SignFor,
    Return,
    Start,
    RequestExtension,
    GrantExtension,
    RefuseExtension,
    Hold,
    Resume,
    Resolve,
    Verify,
    FailVerification,
    Close,
    Rate,
    Reopen,
    /// 改类: moved to another category (with a reason), e.g. out of a self-governed one when
    /// it turns out to need the state, or back.
    Recategorise,
}

impl Action {
    pub const ALL: [Action; 19] = [
        Action::Accept,
        Action::Reject,
        Action::Merge,
        Action::Dispatch,
        Action::SignFor,
        Action::Return,
        Action::Start,
        Action::RequestExtension,
        Action::GrantExtension,
        Action::RefuseExtension,
        Action::Hold,
        Action::Resume,
        Action::Resolve,
        Action::Verify,
        Action::FailVerification,
        Action::Close,
        Action::Rate,
        Action::Reopen,
        Action::Recategorise,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Reject => "reject",
            Action::Merge => "merge",
            Action::Dispatch => "dispatch",
            Action::SignFor => "sign_for",
            Action::Return => "return",
            Action::Start => "start",
            Action::RequestExtension => "request_extension",
            Action::GrantExtension => "grant_extension",
            Action::RefuseExtension => "refuse_extension",
            Action::Hold => "hold",
            Action::Resume => "resume",
            Action::Resolve => "resolve",
            Action::Verify => "verify",
            Action::FailVerification => "fail_verification",
            Action::Close => "close",
            Action::Rate => "rate",
            Action::Reopen => "reopen",
            Action::Recategorise => "recategorise",
        }
    }
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// Where a step comes among those offered together: what usually comes next first
    /// (派单 right after 受理, 签收 on a dispatched case), the steps that turn a case away or
    /// put it aside last.
    pub fn usual_rank(self) -> usize {
        const ORDER: [Action; 19] = [
            Action::Dispatch,
            Action::SignFor,
            Action::Start,
            Action::Resolve,
            Action::Verify,
            Action::Close,
            Action::Rate,
            Action::Accept,
            Action::Resume,
            Action::GrantExtension,
            Action::RefuseExtension,
            Action::RequestExtension,
            Action::FailVerification,
            Action::Return,
            Action::Hold,
            Action::Merge,
            Action::Reject,
            Action::Reopen,
            Action::Recategorise,
        ];
        ORDER.iter().position(|a| *a == self).unwrap_or(ORDER.len())
    }

    /// Steps that turn a case away or put it aside: the case page asks to confirm them.
    pub fn destructive(self) -> bool {
        matches!(
            self,
            Action::Reject | Action::Merge | Action::Return | Action::Hold
        )
    }

    /// Steps that must say why.
    pub fn needs_note(self) -> bool {
        matches!(
            self,
            Action::Reject
                | Action::Return
                | Action::RequestExtension
                | Action::RefuseExtension
                | Action::Hold
                | Action::Resolve
                | Action::FailVerification
                | Action::Reopen
                | Action::Recategorise
        )
    }
}

/// The part a person plays towards one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The operations centre: street or district administrators and community workers whose
    /// area contains the case.
    Dispatcher,
    /// A member of the organisation the case is dispatched to, or the user it is dispatched to.
    Handler,
    /// Someone who may check on site: grid workers and dispatchers whose area contains it.
    Verifier,
    /// The person who reported it.
    Reporter,
    /// A member of an organisation with a task on the case (联合处置): sees the case and
    /// acts on its own task, takes no step on the case itself.
    CoHandler,
}

impl Actor {
    pub const ALL: [Actor; 5] = [
        Actor::Dispatcher,
        Actor::Handler,
        Actor::Verifier,
        Actor::Reporter,
        Actor::CoHandler,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Dispatcher => "dispatcher",
            Actor::Handler => "handler",
            Actor::Verifier => "verifier",
            Actor::Reporter => "reporter",
            Actor::CoHandler => "co_handler",
        }
    }
}

/// Where a step leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum To {
    State(State),
    /// The state stays (extension requests and decisions).
    Same,
    /// The state the case was in before it was put on hold.
    Resume,
    /// Dispatched again to the same handler, or accepted when it had none.
    Reopen,
}

pub struct Rule {
    pub action: Action,
    pub from: &'static [State],
    pub actors: &'static [Actor],
    pub to: To,
}

use Actor::{Dispatcher as D, Handler as H, Reporter as R, Verifier as V};
use State::*;

/// The single source of truth for the lifecycle.
#[rustfmt::skip]
pub const RULES: &[Rule] = &[
    Rule { action: Action::Accept, from: &[New], actors: &[D], to: To::State(Accepted) },
    Rule { action: Action::Reject, from: &[New, Accepted, Returned], actors: &[D], to: To::State(Rejected) },
    Rule { action: Action::Merge, from: &[New, Accepted, Returned], actors: &[D], to: To::State(Merged) },
    Rule { action: Action::Dispatch, from: &[Accepted, Returned], actors: &[D], to: To::State(Dispatched) },
    Rule { action: Action::SignFor, from: &[Dispatched], actors: &[H], to: To::State(SignedFor) },
    Rule { action: Action::Return, from: &[Dispatched, SignedFor], actors: &[H], to: To::State(Returned) },
    Rule { action: Action::Start, from: &[SignedFor], actors: &[H], to: To::State(InProgress) },
    Rule { action: Action::RequestExtension, from: &[SignedFor, InProgress], actors: &[H], to: To::Same },
    Rule { action: Action::GrantExtension, from: &[SignedFor, InProgress], actors: &[D], to: To::Same },
    Rule { action: Action::RefuseExtension, from: &[SignedFor, InProgress], actors: &[D], to: To::Same },
    Rule { action: Action::Hold, from: &[Accepted, Dispatched, SignedFor, InProgress, Returned], actors: &[D], to: To::State(OnHold) },
    Rule { action: Action::Resume, from: &[OnHold], actors: &[D], to: To::Resume },
    Rule { action: Action::Resolve, from: &[InProgress], actors: &[H], to: To::State(Resolved) },
    Rule { action: Action::Verify, from: &[Resolved], actors: &[V], to: To::State(Verified) },
    Rule { action: Action::FailVerification, from: &[Resolved], actors: &[V], to: To::State(InProgress) },
    Rule { action: Action::Close, from: &[Verified, Resolved], actors: &[D], to: To::State(Closed) },
    Rule { action: Action::Rate, from: &[Closed], actors: &[R, D], to: To::State(Rated) },
    Rule { action: Action::Reopen, from: &[Closed, Rated], actors: &[R, D], to: To::Reopen },
    Rule { action: Action::Recategorise, from: &[New, Accepted, Dispatched, SignedFor, InProgress, Returned], actors: &[D], to: To::Same },
];

/// Days after closing within which a reporter may say "still not fixed" (reopen).
pub const REOPEN_DAYS: i64 = 30;

pub fn rule(action: Action) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.action == action)
        .expect("every action has a rule")
}

/// Why a step is refused by the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// None of the caller's roles towards the case may take it (403).
    Role,
    /// The case's state does not allow it (409).
    State,
}

/// The table's answer: the role is checked first, then the state.
pub fn check(action: Action, state: State, actors: &[Actor]) -> Result<&'static Rule, Refusal> {
    let r = rule(action);
    if !r.actors.iter().any(|a| actors.contains(a)) {
        return Err(Refusal::Role);
    }
    if !r.from.contains(&state) {
        return Err(Refusal::State);
    }
    Ok(r)
}

/// The actions a caller with these roles could take on a case in this state.
pub fn possible(state: State, actors: &[Actor]) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|a| check(*a, state, actors).is_ok())
        .collect()
}

/// The steps to offer on a case: [`possible`] by its state and the caller's roles, less those
/// the case's own conditions would refuse now (deciding an extension none asked for, asking
/// for a second while one waits, checking on site the work one's own organisation did), in
/// the order of what usually comes next ([`Action::usual_rank`]).
pub fn offered(case: &super::Case, actors: &[Actor], user_id: i64, orgs: &[i64]) -> Vec<Action> {
    let did_the_work = did_the_work(case, Some(user_id), orgs);
    let mut out: Vec<Action> = possible(case.state, actors)
        .into_iter()
        .filter(|a| match a {
            Action::GrantExtension | Action::RefuseExtension => case.extension_hours.is_some(),
            Action::RequestExtension => case.extension_hours.is_none(),
            Action::Verify | Action::FailVerification => !did_the_work,
            _ => true,
        })
        .collect();
    out.sort_by_key(|a| a.usual_rank());
    out
}

/// Whom a case waits on now, if anyone: the dispatchers to accept, dispatch, decide an
/// extension, resume or close it; its handler to sign for it and do the work; someone on site
/// to check it; its reporter to rate it.
pub fn waits_on(case: &super::Case) -> Option<Actor> {
    match case.state {
        State::New | State::Accepted | State::Returned | State::OnHold | State::Verified => {
            Some(Actor::Dispatcher)
        }
        State::Dispatched | State::SignedFor | State::InProgress => {
            if case.extension_hours.is_some() {
                Some(Actor::Dispatcher)
            } else {
                Some(Actor::Handler)
            }
        }
        State::Resolved => Some(if case.verify_required {
            Actor::Verifier
        } else {
            Actor::Dispatcher
        }),
        State::Closed => case.reporter_id.map(|_| Actor::Reporter),
        State::Rated | State::Merged | State::Rejected => None,
    }
}

/// A reporter's rating in words: 满意 (5), 基本满意 (3), 不满意 (1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    BasicallySatisfied,
    Dissatisfied,
}

impl Satisfaction {
    pub const ALL: [Satisfaction; 3] = [
        Satisfaction::Satisfied,
        Satisfaction::BasicallySatisfied,
        Satisfaction::Dissatisfied,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "satisfied",
            Satisfaction::BasicallySatisfied => "basically_satisfied",
            Satisfaction::Dissatisfied => "dissatisfied",
        }
    }
    pub fn parse(s: &str) -> Option<Satisfaction> {
        Satisfaction::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// The score stored and counted in the figures.
    pub fn score(self) -> i64 {
        match self {
            Satisfaction::Satisfied => 5,
            Satisfaction::BasicallySatisfied => 3,
            Satisfaction::Dissatisfied => 1,
        }
    }
    /// A score of 1–5 (older ratings were given on that scale) in words.
    pub fn of_score(r: i64) -> Satisfaction {
        match r {
            4.. => Satisfaction::Satisfied,
            3 => Satisfaction::BasicallySatisfied,
            _ => Satisfaction::Dissatisfied,
        }
    }
}

/// 巡办分离: whether a person (of these organisations) resolved the case or handles it, and so
/// may not be the one who checks it on site.
fn did_the_work(case: &super::Case, user_id: Option<i64>, orgs: &[i64]) -> bool {
    let same_person =
        user_id.is_some() && (user_id == case.resolver_id || user_id == case.handler_user_id);
    same_person || case.handler_org_id.is_some_and(|o| orgs.contains(&o))
}

/// Who takes a step.
#[derive(Clone, Debug)]
pub struct ActorRef {
    pub user_id: Option<i64>,
    pub name: String,
    pub actors: Vec<Actor>,
    /// The organisations the person belongs to (for 巡办分离).
    pub orgs: Vec<i64>,
}

impl ActorRef {
    /// The system itself (sensor intake, the deadline watcher).
    pub fn system(actors: Vec<Actor>) -> ActorRef {
        ActorRef {
            user_id: None,
            name: "system".into(),
            actors,
            orgs: Vec::new(),
        }
    }
}

/// A step with what it carries.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct Step {
    pub action: Action,
    #[serde(default)]
    pub note: String,
    /// dispatch: the organisation (defaults to the routing suggestion).
    #[serde(default)]
    pub org_id: Option<i64>,
    /// dispatch: a user to handle it directly (e.g. a grid worker).
    #[serde(default)]
    pub user_id: Option<i64>,
    /// request_extension: working hours asked for.
    #[serde(default)]
    pub hours: Option<i64>,
    /// rate: 1–5 (or `satisfaction`).
    #[serde(default)]
    pub rating: Option<i64>,
    /// rate: in words, 满意 / 基本满意 / 不满意 (stored as 5, 3, 1).
    #[serde(default)]
    pub satisfaction: Option<Satisfaction>,
    /// accept: dispatch at once too (to `org_id` or `user_id`, or the routing suggestion), in
    /// one step for the caller and one transaction.
    #[serde(default)]
    pub dispatch: bool,
    /// merge: the master case.
    #[serde(default)]
    pub master_id: Option<i64>,
    /// recategorise: the category it moves to.
    #[serde(default)]
    pub category_id: Option<i64>,
}

impl Step {
    pub fn new(action: Action, note: &str) -> Step {
        Step {
            action,
            note: note.to_string(),
            org_id: None,
            user_id: None,
            hours: None,
            rating: None,
            satisfaction: None,
            dispatch: false,
            master_id: None,
            category_id: None,
        }
    }
}

fn tr() -> Tr {
    Tr(crate::kernel::ctx().lang)
}

/// The message for a refusal, naming the step, the case's state and what would be needed.
pub fn refusal_message(refusal: Refusal, action: Action, state: State) -> String {
    let t = tr();
    let r = rule(action);
    let act = t.k("case.action", action.as_str());
    match refusal {
        Refusal::Role => {
            let who: Vec<&str> = r
                .actors
                .iter()
                .map(|a| t.k("case.actor", a.as_str()))
                .collect();
            t.s("case.err_role")
                .replace("{action}", act)
                .replace("{actors}", &who.join(t.s("case.list_sep")))
        }
        Refusal::State => {
            let from: Vec<&str> = r
                .from
                .iter()
                .map(|s| t.k("case.state", s.as_str()))
                .collect();
            t.s("case.err_state_now")
                .replace("{action}", act)
                .replace("{state}", t.k("case.state", state.as_str()))
                .replace("{states}", &from.join(t.s("case.list_sep")))
        }
    }
}

fn forbidden(key: &'static str) -> CaseError {
    CaseError::Forbidden(Why::Key(key))
}
fn conflict(key: &'static str) -> CaseError {
    CaseError::Conflict(Why::Key(key))
}

/// What a step did, for the caller to announce once its transaction committed.
pub struct Applied {
    /// The case's state after the step.
    pub to: State,
    /// What other areas' hooks did because the step closed the case (sensing clears the alert
    /// that opened it), to announce once the transaction committed ([`super::hooks::committed`]).
    pub effects: Vec<(super::hooks::OnClose, super::hooks::Effect)>,
}

/// Takes one step on a case, with every check, and records it. The caller runs this inside a
/// write transaction; nothing is written when it fails.
pub fn apply(
    c: &mut dyn Conn,
    case: &Case,
    who: &ActorRef,
    step: &Step,
    now: i64,
) -> Result<Applied, CaseError> {
    let rule = check(step.action, case.state, &who.actors).map_err(|r| match r {
        Refusal::Role => CaseError::Forbidden(Why::Rule(r, step.action, case.state)),
        Refusal::State => CaseError::Conflict(Why::Rule(r, step.action, case.state)),
    })?;
    let note = step.note.trim();
    if step.action.needs_note() && note.is_empty() {
        return Err(CaseError::Invalid("case.err_note"));
    }
    if note.chars().count() > 1000 {
        return Err(CaseError::Invalid("case.err_too_long"));
    }
    crate::kernel::text::check_note(note).map_err(CaseError::Invalid)?;
    let cat = super::category_by_id(c, case.category_id)?.ok_or(CaseError::NotFound)?;
    let cal = Calendar::load(c, case.street_id)?;
    let full = cat.resolve_hours * HOUR_MS;
    let mut n = case.clone();
    let mut data = serde_json::json!({});
    // A self-governed matter (留白) runs no clock: its residents' body keeps no deadline.
    let governed = cat.self_governed();
    // Starts a clock of `hours` working hours (`accept` or `resolve`) for a case of the
    // state's; a self-governed matter (留白) runs none: its residents' body keeps no deadline.
    let start_clock = |n: &mut Case, governed: bool, clock: &str, hours: i64, start: i64| {
        n.clock_start = start;
        n.warned = false;
        n.level = 0;
        if governed {
            n.clock = "self".into();
            n.due_at = None;
            n.warn_at = None;
        } else {
            let span = hours * HOUR_MS;
            n.clock = clock.into();
            n.due_at = Some(cal.add(start, span));
            n.warn_at = Some(cal.add(start, span * 4 / 5));
        }
    };
    let new_clock =
        |n: &mut Case, start: i64| start_clock(n, governed, "resolve", cat.resolve_hours, start);
    let stop_clock = |n: &mut Case| {
        if n.due_at.is_some_and(|d| d < now) && matches!(n.clock.as_str(), "accept" | "resolve") {
            n.late = true;
        }
        n.clock = "none".into();
    };
    let mut to = match rule.to {
        To::State(s) => s,
        To::Same => case.state,
        To::Resume => case
            .hold_from
            .as_deref()
            .and_then(State::parse)
            .unwrap_or(State::Accepted),
        To::Reopen => {
            if case.handler_org_id.is_some() || case.handler_user_id.is_some() {
                State::Dispatched
            } else {
                State::Accepted
            }
        }
    };
    // Who is told, after the step is recorded: (kind, to the handler, to dispatchers, to the reporter).
    let mut tell_handler: Option<&str> = None;
    let mut tell_dispatchers: Option<&str> = None;
    let mut effects = Vec::new();
    let mut tell_reporter: Option<&str> = None;
    match step.action {
        Action::Accept => {
            stop_clock(&mut n);
            new_clock(&mut n, now);
            tell_reporter = Some("accepted");
        }
        Action::Reject => {
            stop_clock(&mut n);
            n.closed_at = Some(now);
            super::tasks::release_all(c, case.id.0, note, now)?;
            tell_reporter = Some("rejected");
        }
        Action::Merge => {
            let master_id = step
                .master_id
                .ok_or(CaseError::Invalid("case.err_master"))?;
            let master = super::get(c, master_id, now)?
                .filter(|m| m.street_id == case.street_id && m.id != case.id)
                .ok_or(CaseError::Invalid("case.err_master"))?;
            if !master.is_open() {
                return Err(conflict("case.err_master_closed"));
            }
            stop_clock(&mut n);
            n.master_id = Some(master_id);
            super::tasks::release_all(c, case.id.0, note, now)?;
            n.closed_at = Some(now);
            // The duplicate's reporter, and whoever followed it, now follow the master.
            let mut followers: Vec<i64> = c
                .query(
                    "SELECT user_id FROM case_followers WHERE case_id = $1",
                    params![case.id.0],
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect();
            followers.extend(case.reporter_id);
            for u in followers {
                if master.reporter_id != Some(u) {
                    c.exec(
                        "INSERT INTO case_followers (street_id, case_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                        params![case.street_id, master_id, u],
                    )?;
                }
            }
            record_event(
                c,
                case.street_id,
                master_id,
                now,
                (who.user_id, &who.name),
                "merged_in",
                master.state.as_str(),
                master.state.as_str(),
                note,
                serde_json::json!({"duplicate_id": case.id.0}),
            )?;
            data = serde_json::json!({"master_id": master_id});
            tell_reporter = Some("merged");
        }
        Action::Dispatch => {
            let (org, user) = match (step.org_id, step.user_id) {
                (None, None) => (
                    Some(
                        case.suggested_org_id
                            .ok_or(CaseError::Invalid("case.err_no_org"))?,
                    ),
                    None,
                ),
                other => other,
            };
            if let Some(o) = org
                && !crate::org::orgs::is_active(c, case.street_id, o)?
            {
                return Err(CaseError::Invalid("case.err_org"));
            }
            if let Some(u) = user
                && !crate::org::users::is_active_in(c, case.street_id, u)?
            {
                return Err(CaseError::Invalid("case.err_user"));
            }
            n.handler_org_id = org;
            n.handler_user_id = user;
            data = serde_json::json!({"org_id": org, "user_id": user,
                "overrides_suggestion": org.is_some() && org != case.suggested_org_id});
            tell_handler = Some("dispatched");
        }
        Action::SignFor | Action::Start => {}
        Action::Return => {
            // The organisation keeps seeing the case it returned until it is dispatched anew.
            data =
                serde_json::json!({"org_id": case.handler_org_id, "user_id": case.handler_user_id});
            n.extension_hours = None;
            tell_dispatchers = Some("returned");
        }
        Action::RequestExtension => {
            if case.extension_hours.is_some() {
                return Err(conflict("case.err_extension_pending"));
            }
            let h = step
                .hours
                .filter(|h| (1..=400).contains(h))
                .ok_or(CaseError::Invalid("case.err_extension_hours"))?;
            n.extension_hours = Some(h);
            data = serde_json::json!({"hours": h});
            tell_dispatchers = Some("extension_requested");
        }
        Action::GrantExtension | Action::RefuseExtension => {
            let Some(h) = case.extension_hours else {
                return Err(conflict("case.err_no_extension"));
            };
            n.extension_hours = None;
            if step.action == Action::GrantExtension {
                let due = cal.add(case.due_at.unwrap_or(now), h * HOUR_MS);
                n.due_at = Some(due);
                n.warn_at = Some(cal.add(now, (cal.between(now, due) * 4 / 5).max(0)));
                n.warned = false;
            }
            data = serde_json::json!({"hours": h});
            tell_handler = Some(if step.action == Action::GrantExtension {
                "extension_granted"
            } else {
                "extension_refused"
            });
        }
        Action::Hold => {
            n.hold_from = Some(case.state.as_str().to_string());
            n.remaining_ms = Some(cal.between(now, case.due_at.unwrap_or(now)));
            n.clock = "hold".into();
        }
        Action::Resume if governed => {
            n.hold_from = None;
            n.remaining_ms = None;
            n.clock = "self".into();
        }
        Action::Resume => {
            let left = case.remaining_ms.unwrap_or(full).max(0);
            n.hold_from = None;
            n.remaining_ms = None;
            n.clock = "resolve".into();
            n.due_at = Some(cal.add(now, left));
            n.warn_at = Some(cal.add(now, (left - full / 5).max(0)));
            n.warned = false;
        }
        Action::Recategorise => {
            let to_id = step
                .category_id
                .ok_or(CaseError::Invalid("case.err_recategorise_to"))?;
            let target = super::category_by_id(c, to_id)?
                .filter(|k| k.street_id == case.street_id && k.active && k.id != cat.id)
                .ok_or(CaseError::Invalid("case.err_recategorise_to"))?;
            // Handed to residents after the district took it up: refused.
            if target.self_governed() && case.level >= escalation::TOP_LEVEL {
                return Err(conflict("case.err_recategorise_escalated"));
            }
            stop_clock(&mut n);
            n.category_id = target.id;
            n.self_governed = target.self_governed();
            // The new category's clock starts now: to accept it if nobody has, else to resolve.
            let (clock, hours) = if case.state == State::New {
                ("accept", target.accept_hours)
            } else {
                ("resolve", target.resolve_hours)
            };
            start_clock(&mut n, target.self_governed(), clock, hours, now);
            data = serde_json::json!({
                "from": cat.code, "to": target.code,
                "self_governed": target.self_governed(),
            });
            tell_dispatchers = Some("recategorised");
        }
        Action::Resolve => {
            // 联合处置: the lead closes its part only over done or released tasks.
            if super::tasks::unfinished(c, case.id.0)? > 0 {
                return Err(conflict("case.err_tasks_open"));
            }
            stop_clock(&mut n);
            n.resolver_id = who.user_id;
            n.resolved_at = Some(now);
            n.extension_hours = None;
            tell_reporter = Some("resolved");
            tell_dispatchers = Some("resolved");
        }
        Action::Verify | Action::FailVerification => {
            // 巡办分离: whoever checks on site is not the one who did the work.
            if did_the_work(case, who.user_id, &who.orgs) {
                return Err(forbidden("case.err_same_person"));
            }
            n.verifier_id = who.user_id;
            if step.action == Action::FailVerification {
                n.resolved_at = None;
                new_clock(&mut n, now);
                tell_handler = Some("verification_failed");
            }
        }
        Action::Close => {
            if case.state == State::Resolved && cat.verify_required {
                return Err(conflict("case.err_verify_first"));
            }
            n.closed_at = Some(now);
            tell_reporter = Some("closed");
            // Other areas' part in a closing (a sensor's alert that opened the case is cleared
            // with it), in this transaction.
            effects =
                super::hooks::closed(c, case.id, who.user_id, now).map_err(CaseError::Store)?;
        }
        Action::Rate => {
            let r = step
                .satisfaction
                .map(Satisfaction::score)
                .or(step.rating)
                .filter(|r| (1..=5).contains(r))
                .ok_or(CaseError::Invalid("case.err_rating"))?;
            n.rating = Some(r);
            n.rating_comment = (!note.is_empty()).then(|| note.to_string());
            data = serde_json::json!({"rating": r});
        }
        Action::Reopen => {
            // "Still not fixed": a reporter may reopen within the window after closing; a
            // dispatcher at any time.
            if !who.actors.contains(&Actor::Dispatcher)
                && case
                    .closed_at
                    .is_some_and(|at| now - at > REOPEN_DAYS * 24 * HOUR_MS)
            {
                return Err(conflict("case.err_reopen_window"));
            }
            n.closed_at = None;
            n.resolved_at = None;
            n.rating = None;
            n.rating_comment = None;
            new_clock(&mut n, now);
            if to == State::Dispatched {
                tell_handler = Some("reopened");
            } else {
                to = State::Accepted;
            }
        }
    }
    if matches!(
        to,
        State::Rejected | State::Merged | State::Closed | State::Rated
    ) {
        n.clock = "none".into();
    }
    let next = escalation::next_alarm(&cal, &n);
    let changed = c.exec(
        "UPDATE cases SET state = $2, hold_from = $3, handler_org_id = $4, handler_user_id = $5, \
         resolver_id = $6, verifier_id = $7, master_id = $8, extension_hours = $9, clock = $10, \
         clock_start = $11, warn_at = $12, due_at = $13, remaining_ms = $14, warned = $15, level = $16, \
         late = $17, next_alarm_at = $18, rating = $19, rating_comment = $20, updated_at = $21, \
         resolved_at = $22, closed_at = $23, category_id = $26, self_governed = $27 \
         WHERE id = $1 AND state = $24 AND updated_at = $25",
        params![
            case.id.0,
            to.as_str(),
            n.hold_from.clone(),
            n.handler_org_id,
            n.handler_user_id,
            n.resolver_id,
            n.verifier_id,
            n.master_id,
            n.extension_hours,
            n.clock.clone(),
            n.clock_start,
            n.warn_at,
            n.due_at,
            n.remaining_ms,
            n.warned,
            n.level,
            n.late,
            next,
            n.rating,
            n.rating_comment.clone(),
            now.max(case.updated_at),
            n.resolved_at,
            n.closed_at,
            case.state.as_str(),
            case.updated_at,
            n.category_id,
            n.self_governed
        ],
    )?;
    if changed == 0 {
        // Someone else changed the case since it was read.
        return Err(conflict("case.err_changed"));
    }
    if let Some(d) = n.due_at.filter(|_| n.due_at != case.due_at) {
        data["due_at"] = d.into();
    }
    record_event(
        c,
        case.street_id,
        case.id.0,
        now,
        (who.user_id, &who.name),
        step.action.as_str(),
        case.state.as_str(),
        to.as_str(),
        note,
        data,
    )?;
    let id = case.id.0;
    let street = case.street_id;
    if let Some(kind) = tell_handler {
        notify::to_handler(
            c,
            street,
            n.handler_org_id,
            n.handler_user_id,
            kind,
            id,
            note,
            now,
        )?;
    }
    if let Some(kind) = tell_dispatchers {
        notify::to_dispatchers(c, street, &case.place_path, 0, kind, id, note, now)?;
    }
    if let Some(kind) = tell_reporter {
        let mut users: Vec<i64> = case.reporter_id.into_iter().collect();
        if kind == "closed" || kind == "resolved" {
            // Reporters of merged duplicates learn when the master case is done.
            users.extend(
                c.query(
                    "SELECT user_id FROM case_followers WHERE case_id = $1",
                    params![id],
                )?
                .iter()
                .map(|r| r.i64(0)),
            );
        }
        users.retain(|u| Some(*u) != who.user_id);
        notify::to_users(c, street, &users, kind, id, note, now)?;
        // Out of linli, each reporter hears it through nearby's hook (on the channels she
        // chose, with the link that unfollows her report).
    }
    super::hooks::stepped(
        c,
        &super::hooks::Stepped {
            case,
            action: step.action.as_str(),
            to,
            by: who.user_id,
            at: now,
            note,
        },
    )?;
    Ok(Applied { to, effects })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_exactly_one_rule() {
        for a in Action::ALL {
            assert_eq!(RULES.iter().filter(|r| r.action == a).count(), 1, "{a:?}");
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn closed_states_allow_only_rating_and_reopening() {
        for s in [State::Merged, State::Rejected] {
            assert!(possible(s, &Actor::ALL).is_empty(), "{s:?}");
        }
        assert_eq!(
            possible(State::Closed, &Actor::ALL),
            vec![Action::Rate, Action::Reopen]
        );
    }
}
