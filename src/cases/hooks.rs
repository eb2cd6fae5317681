//! What other areas do when a case changes, without cases knowing them: an area registers a
//! hook (through `app`, which knows every area), cases runs it in the step's own transaction,
//! and hands what it returned back to the area once the transaction committed. Sensing clears
//! the alert that opened a case when the case closes, and tells the live alert streams.

use std::any::Any;
use std::sync::RwLock;

use crate::kernel::ids::CaseId;
use crate::state::AppState;
use crate::store::{Conn, StoreError};

/// An effect a hook produced inside the transaction, for its `after` to announce.
pub type Effect = Box<dyn Any + Send>;

/// The part of a hook run inside the transaction: the case, who closed it, when.
pub type Within = fn(&mut dyn Conn, CaseId, Option<i64>, i64) -> Result<Effect, StoreError>;

/// A hook run when a case is closed.
#[derive(Clone, Copy)]
pub struct OnClose {
    /// Runs inside the step's transaction; an error rolls the step back.
    pub within: Within,
    /// Runs once the step is committed, with what `within` returned.
    pub after: fn(&AppState, Effect),
}

static ON_CLOSE: RwLock<Vec<OnClose>> = RwLock::new(Vec::new());

/// Registers a hook run when a case closes (once per hook: registering again is ignored).
pub fn on_close(hook: OnClose) {
    let mut hooks = ON_CLOSE.write().unwrap_or_else(|e| e.into_inner());
    if !hooks
        .iter()
        .any(|h| std::ptr::fn_addr_eq(h.within, hook.within))
    {
        hooks.push(hook);
    }
}

/// Runs every close hook inside the transaction; returns their effects.
pub(super) fn closed(
    c: &mut dyn Conn,
    case: CaseId,
    by: Option<i64>,
    now: i64,
) -> Result<Vec<(OnClose, Effect)>, StoreError> {
    let hooks = ON_CLOSE.read().unwrap_or_else(|e| e.into_inner()).clone();
    hooks
        .into_iter()
        .map(|h| Ok((h, (h.within)(c, case, by, now)?)))
        .collect()
}

/// Hands each effect to its hook once the step is committed.
pub fn committed(state: &AppState, effects: Vec<(OnClose, Effect)>) {
    for (h, e) in effects {
        (h.after)(state, e);
    }
}

/// Residents' satisfaction measured outside the cases (by another area: a community's
/// satisfaction survey), shown on the figures next to the cases' own ratings.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OutsideRating {
    /// What measured it, in both languages ("中文 / English").
    pub source: String,
    /// The place it speaks for, e.g. a community's name.
    pub place: String,
    /// The mean rating 1–5, two decimals; none before anyone answered.
    pub average: Option<f64>,
    /// How many ratings the mean is of.
    pub ratings: i64,
    /// Where to read more (a page's path).
    pub href: String,
}

/// What the figures ask another area for: the street, the period's start (unix ms; none: all
/// time) and the places the viewer reads (none: every place).
pub type Ratings = fn(
    &mut dyn Conn,
    i64,
    Option<i64>,
    Option<&[String]>,
) -> Result<Vec<OutsideRating>, StoreError>;

static RATINGS: RwLock<Vec<Ratings>> = RwLock::new(Vec::new());

/// Registers a source of outside ratings for the figures (once per source).
pub fn on_figures(source: Ratings) {
    let mut all = RATINGS.write().unwrap_or_else(|e| e.into_inner());
    if !all.iter().any(|h| std::ptr::fn_addr_eq(*h, source)) {
        all.push(source);
    }
}

/// Every registered source's ratings.
pub(super) fn ratings(
    c: &mut dyn Conn,
    street: i64,
    since: Option<i64>,
    places: Option<&[String]>,
) -> Result<Vec<OutsideRating>, StoreError> {
    let all = RATINGS.read().unwrap_or_else(|e| e.into_inner()).clone();
    let mut out = Vec::new();
    for h in all {
        out.extend(h(c, street, since, places)?);
    }
    Ok(out)
}

/// A step taken on a case (or a reporter's update), for the hooks that hear of every one.
pub struct Stepped<'a> {
    /// The case as it was before the step.
    pub case: &'a super::Case,
    /// The step's action (`accept`, `dispatch`, … or `update` for a reporter's update).
    pub action: &'a str,
    /// The state after it.
    pub to: super::State,
    /// Who took it (none for the system).
    pub by: Option<i64>,
    pub at: i64,
    /// The step's note (a resolution, a reason, the reporter's words; may be empty).
    pub note: &'a str,
}

/// A hook run inside the step's transaction; an error rolls the step back.
pub type OnStep = fn(&mut dyn Conn, &Stepped<'_>) -> Result<(), StoreError>;

static ON_STEP: RwLock<Vec<OnStep>> = RwLock::new(Vec::new());

/// Registers a hook run on every step of a case (once per hook).
pub fn on_step(hook: OnStep) {
    let mut all = ON_STEP.write().unwrap_or_else(|e| e.into_inner());
    if !all.iter().any(|h| std::ptr::fn_addr_eq(*h, hook)) {
        all.push(hook);
    }
}

/// Runs every step hook inside the transaction.
pub(super) fn stepped(c: &mut dyn Conn, s: &Stepped<'_>) -> Result<(), StoreError> {
    let all = ON_STEP.read().unwrap_or_else(|e| e.into_inner()).clone();
    for h in all {
        h(c, s)?;
    }
    Ok(())
}
