//! What one process tells the others sharing its PostgreSQL database, that they keep in
//! memory: for now, that accounts changed, so their caches of signed-in callers are cleared
//! (a sign-out, a deactivated account or a withdrawn role holds in every process at once, not
//! after the cache's few seconds). NOTIFY on [`CHANNEL`] with `<process id> <what>`; each
//! process listens on a connection of its own and skips its own. Alert changes have their
//! own relay (`sensing::relay`). Nothing on SQLite: one process.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::state::AppState;
use crate::store::Db;

pub const CHANNEL: &str = "linli_bus";

/// Starts the listener and tells the others of this process's changes.
pub fn spawn(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if !state.db.shared() {
            return;
        }
        let (weak, db, me) = (
            Arc::downgrade(&state),
            state.db.clone(),
            state.instance.clone(),
        );
        if let Err(e) = std::thread::Builder::new()
            .name("linli-bus".into())
            .spawn(move || listen(weak, db, me))
        {
            tracing::error!(error = %e, "the listener of other processes' changes did not start");
        }
        let said = format!("{} callers", state.instance);
        loop {
            state.callers.cleared.notified().await;
            let said = said.clone();
            if let Err(e) = state
                .db
                .write(move |c| crate::store::notify(c, CHANNEL, &said))
                .await
            {
                tracing::warn!(error = %e, "telling other processes that accounts changed failed");
            }
        }
    })
}

fn listen(weak: Weak<AppState>, db: Db, me: String) {
    let mut wait = Duration::from_millis(500);
    loop {
        let r = db.listen_blocking(&[CHANNEL], Duration::from_secs(2), &mut |m| {
            let Some(state) = weak.upgrade() else {
                return false;
            };
            if let Some((_, text)) = m {
                hear(&state, &me, text);
            }
            true
        });
        match r {
            Ok(()) => return,
            Err(e) => {
                if weak.strong_count() == 0 {
                    return;
                }
                tracing::warn!(error = %e, "listening to other processes failed; connecting again");
                // Whatever was said meanwhile is lost: forget what it might have changed.
                if let Some(state) = weak.upgrade() {
                    state.callers.clear_here();
                }
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(10));
            }
        }
    }
}

fn hear(state: &AppState, me: &str, text: &str) {
    let (from, what) = text.split_once(' ').unwrap_or((text, ""));
    if from == me {
        return;
    }
    if what == "callers" {
        state.callers.clear_here();
    }
}
