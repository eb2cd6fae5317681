//! What other areas do when a care alert's chain is answered, without reach knowing them:
//! sensing registers a hook (through `app::wire`) that acknowledges the alert and records the
//! answer on it and on its case, inside the answer's own transaction; its `after` runs once
//! committed (the live alert streams hear of it).

use std::any::Any;
use std::sync::RwLock;

use crate::state::AppState;
use crate::store::{Conn, StoreError};

/// An effect a hook produced inside the transaction, for its `after` to announce.
pub type Effect = Box<dyn Any + Send>;

/// The part run inside the transaction: the alert, its case, the answer (`on_it`, `fine`),
/// who answered (in both languages), when.
pub type Within =
    fn(&mut dyn Conn, i64, Option<i64>, &str, &str, i64) -> Result<Effect, StoreError>;

/// A hook run when a chain is answered.
#[derive(Clone, Copy)]
pub struct OnAnswer {
    pub within: Within,
    pub after: fn(&AppState, Effect),
}

static ON_ANSWER: RwLock<Vec<OnAnswer>> = RwLock::new(Vec::new());

/// Registers a hook run when a chain is answered (registering again is ignored).
pub fn on_answer(hook: OnAnswer) {
    let mut hooks = ON_ANSWER.write().unwrap_or_else(|e| e.into_inner());
    if !hooks
        .iter()
        .any(|h| std::ptr::fn_addr_eq(h.within, hook.within))
    {
        hooks.push(hook);
    }
}

/// Runs every hook inside the transaction; returns their effects.
pub(super) fn answered(
    c: &mut dyn Conn,
    alert: i64,
    case: Option<i64>,
    answer: &str,
    by: &str,
    now: i64,
) -> Result<Vec<(OnAnswer, Effect)>, StoreError> {
    let hooks = ON_ANSWER.read().unwrap_or_else(|e| e.into_inner()).clone();
    hooks
        .into_iter()
        .map(|h| Ok((h, (h.within)(c, alert, case, answer, by, now)?)))
        .collect()
}

/// Hands each effect to its hook once committed.
pub fn committed(state: &AppState, effects: Vec<(OnAnswer, Effect)>) {
    for (h, e) in effects {
        (h.after)(state, e);
    }
}
