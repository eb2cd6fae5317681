//! Alert changes across processes. Several linli processes may share one PostgreSQL database,
//! each with its own live streams (`sse`): a change committed in one must reach the streams
//! of all. Each process sends its changes with NOTIFY on [`CHANNEL`], named with its own
//! process id, and listens on the channel on a connection of its own, handing what others
//! sent to its local streams (its own it already delivered, and skips). The same way it
//! tells the others that rules or devices changed, so that they read their rules again and
//! forget their cached devices at once rather than at their next periodic reload. On SQLite
//! there is one process, and nothing to relay.

use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::alerts::AlertEvent;
use crate::state::AppState;
use crate::store::Db;

/// The NOTIFY channel of alert changes.
pub const CHANNEL: &str = "linli_alerts";
/// NOTIFY's payloads are limited to 8000 bytes.
const MAX_PAYLOAD: usize = 7900;

/// What a process tells the others.
#[derive(Clone, Debug)]
pub enum Out {
    /// An alert changed (committed).
    Alert(Arc<AlertEvent>),
    /// Rules were created, edited or removed.
    Rules,
    /// Devices or what their rules read of them (tags, consents) changed.
    Devices,
}

/// One message as sent: the sending process (`o`) and an alert change (`e`) or what else
/// changed (`c`: `rules` or `devices`).
#[derive(Serialize, Deserialize)]
struct Wire {
    o: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<AlertEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<String>,
}

/// The payload for one message, or none when it cannot be sent (an alert change too large
/// even without its details, which a client that needs them reads with the alert).
fn payload(me: &str, out: &Out) -> Option<String> {
    let mut w = Wire {
        o: me.to_string(),
        e: None,
        c: None,
    };
    match out {
        Out::Alert(ev) => w.e = Some((**ev).clone()),
        Out::Rules => w.c = Some("rules".into()),
        Out::Devices => w.c = Some("devices".into()),
    }
    let text = serde_json::to_string(&w).ok()?;
    if text.len() <= MAX_PAYLOAD {
        return Some(text);
    }
    if let Some(e) = &mut w.e {
        e.alert.details = serde_json::Value::Null;
    }
    let text = serde_json::to_string(&w).ok()?;
    (text.len() <= MAX_PAYLOAD).then_some(text)
}

/// The relay (a task in every process): starts the listener and sends this process's changes.
pub async fn run(state: Arc<AppState>) {
    if !state.db.shared() {
        return;
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Out>();
    if super::of(&state).relay.set(tx).is_err() {
        return;
    }
    let (weak, db, me, rt) = (
        Arc::downgrade(&state),
        state.db.clone(),
        state.instance.clone(),
        tokio::runtime::Handle::current(),
    );
    if let Err(e) = std::thread::Builder::new()
        .name("linli-listen".into())
        .spawn(move || listen(weak, db, me, rt))
    {
        tracing::error!(error = %e, "the listener of other processes' alerts did not start");
    }
    let me = state.instance.clone();
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < 200 {
            match rx.try_recv() {
                Ok(ev) => batch.push(ev),
                Err(_) => break,
            }
        }
        let payloads: Vec<String> = batch
            .iter()
            .filter_map(|out| {
                let p = payload(&me, out);
                if p.is_none() {
                    tracing::warn!(?out, "a change too large to tell other processes");
                }
                p
            })
            .collect();
        if let Err(e) = state
            .db
            .write(move |c| {
                for p in &payloads {
                    crate::store::notify(c, CHANNEL, p)?;
                }
                Ok(())
            })
            .await
        {
            tracing::warn!(error = %e, "telling other processes of alert changes failed");
        }
    }
}

/// Listens until the process's state is gone, connecting again after a failure.
fn listen(weak: Weak<AppState>, db: Db, me: String, rt: tokio::runtime::Handle) {
    let mut wait = Duration::from_millis(500);
    loop {
        let r = db.listen_blocking(&[CHANNEL], Duration::from_secs(2), &mut |m| {
            let Some(state) = weak.upgrade() else {
                return false;
            };
            if let Some((_, text)) = m {
                deliver(&state, &me, text, &rt);
            }
            true
        });
        match r {
            Ok(()) => return,
            Err(e) => {
                if weak.strong_count() == 0 {
                    return;
                }
                tracing::warn!(error = %e, "listening to other processes' alerts failed; connecting again");
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Hands an alert change another process sent to this process's live streams; reads the
/// rules again or forgets the devices when another process changed them.
fn deliver(state: &Arc<AppState>, me: &str, text: &str, rt: &tokio::runtime::Handle) {
    let w = match serde_json::from_str::<Wire>(text) {
        Ok(w) if w.o == me => return,
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "a change from another process is not readable");
            return;
        }
    };
    let s = super::of(state);
    if let Some(e) = w.e {
        let _ = s.events.send(Arc::new(e));
    }
    match w.c.as_deref() {
        Some("rules") => {
            let state = state.clone();
            rt.spawn(async move {
                let s = super::of(&state);
                if let Err(e) = s.reload_rules(&state.db).await {
                    tracing::warn!(error = %e, "reading the rules another process changed failed");
                }
                s.wake.notify_one();
            });
        }
        Some("devices") => s.devices_changed_here(),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_change_is_sent_without_its_details() {
        let ev: AlertEvent = serde_json::from_value(serde_json::json!({
            "action": "raised",
            "alert": {
                "id": 1, "street_id": 1, "rule_id": 1, "rule_name": "r", "device_id": 1,
                "device_serial": "s", "device_type": "door", "person_id": null, "place_id": 1,
                "place_path": "a/b", "place_name": "p", "kind": "absence", "severity": "major",
                "category": "c", "state": "active_unack", "message": "m", "text": "t",
                "details": {"big": "x".repeat(10_000)}, "hits": 1, "first_at": 0, "last_at": 0,
                "acked_at": null, "acked_by": null, "cleared_at": null, "cleared_by": null,
                "level": 0, "responsible_path": "a/b", "escalate_at": null, "case_state": "none",
                "case_id": null
            }
        }))
        .unwrap();
        let p = payload("proc_x", &Out::Alert(Arc::new(ev))).unwrap();
        assert!(p.len() <= MAX_PAYLOAD);
        let back: Wire = serde_json::from_str(&p).unwrap();
        assert_eq!(back.o, "proc_x");
        assert!(back.e.unwrap().alert.details.is_null());
        let p = payload("proc_x", &Out::Rules).unwrap();
        assert_eq!(p, r#"{"o":"proc_x","c":"rules"}"#);
    }
}
