//! An account's browsers subscribed to Web Push: several per account (her phone on the home
//! screen, her desktop), each kept encrypted (endpoint and keys together, with the field key)
//! and found again by the endpoint's blind index, so that the same browser subscribing again
//! is one row. A browser that unsubscribes, or whose subscription the push service says is
//! gone (404/410), is removed, and what was still queued for it fails with the reason.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::push::{Subscription, Vapid};
use crate::kernel::AppError;
use crate::kernel::error::AppResult;
use crate::org::Caller;
use crate::params;
use crate::state::AppState;
use crate::store::keys::FieldKeys;
use crate::store::{Conn, Result};

/// One subscribed browser, as its owner sees it (never the endpoint or the keys).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Reach_Device)]
pub struct Device {
    pub id: i64,
    /// How the browser named itself when it subscribed ("Android · Chrome").
    pub label: String,
    /// The push service's host (fcm.googleapis.com, updates.push.services.mozilla.com, …).
    pub host: String,
    pub created_at: i64,
    pub last_sent_at: Option<i64>,
}

/// What a browser posts: `PushSubscription.toJSON()` and a label.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(as = Reach_NewDevice)]
pub struct NewDevice {
    pub endpoint: String,
    pub keys: DeviceKeys,
    /// A short name for the device; the browser's own by default.
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(as = Reach_DeviceKeys)]
pub struct DeviceKeys {
    /// The browser's P-256 public key (base64url).
    pub p256dh: String,
    /// The browser's authentication secret (base64url, 16 bytes).
    pub auth: String,
}

/// The deployment's public VAPID key, for `pushManager.subscribe`.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Reach_PushKey)]
pub struct PushKey {
    /// The uncompressed P-256 point, base64url (the `applicationServerKey`).
    pub public_key: String,
}

// ---- storage --------------------------------------------------------------------------------

fn index(keys: &FieldKeys, endpoint: &str) -> String {
    keys.blind_index("push-endpoint", endpoint)
}

/// Keeps a browser's subscription for `user`; the same endpoint again (even under another
/// account: a shared phone) replaces the row. Returns its id.
pub fn put(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    street: i64,
    user: i64,
    s: &Subscription,
    label: &str,
    now: i64,
) -> Result<i64> {
    let blob = keys.encrypt(&serde_json::to_string(s).unwrap_or_default());
    c.query_i64(
        "INSERT INTO reach_push_subs (street_id, user_id, sub, endpoint_index, host, label, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (endpoint_index) DO UPDATE SET \
         street_id = excluded.street_id, user_id = excluded.user_id, sub = excluded.sub, \
         host = excluded.host, label = excluded.label, created_at = excluded.created_at RETURNING id",
        params![street, user, blob, index(keys, &s.endpoint), s.host(), label, now],
    )
}

pub fn list(c: &mut dyn Conn, user: i64) -> Result<Vec<Device>> {
    Ok(c
        .query(
            "SELECT id, label, host, created_at, last_sent_at FROM reach_push_subs WHERE user_id = $1 ORDER BY id",
            params![user],
        )?
        .iter()
        .map(|r| Device {
            id: r.i64(0),
            label: r.str(1),
            host: r.str(2),
            created_at: r.i64(3),
            last_sent_at: r.opt_i64(4),
        })
        .collect())
}

/// Removes a subscription (of `user` when given) and fails what was still queued for it.
pub fn remove(c: &mut dyn Conn, id: i64, user: Option<i64>, why: &str, now: i64) -> Result<bool> {
    let n = c.exec(
        "DELETE FROM reach_push_subs WHERE id = $1 AND ($2 = 0 OR user_id = $2)",
        params![id, user.unwrap_or(0)],
    )?;
    if n > 0 {
        c.exec(
            "UPDATE reach_deliveries SET state = 'failed', last_error = $1, claimed_at = NULL, updated_at = $2 \
             WHERE target = $3 AND channel = 'webpush' AND state = 'queued'",
            params![why, now, format!("push:{id}")],
        )?;
    }
    Ok(n > 0)
}

/// Notes a push taken by the service.
pub fn sent(c: &mut dyn Conn, id: i64, now: i64) -> Result<()> {
    c.exec(
        "UPDATE reach_push_subs SET last_sent_at = $1 WHERE id = $2",
        params![now, id],
    )?;
    Ok(())
}

/// A device's words in the outbox: its label and its push service.
pub fn words(c: &mut dyn Conn, id: i64) -> Result<Option<String>> {
    Ok(c.query_opt(
        "SELECT label, host FROM reach_push_subs WHERE id = $1",
        params![id],
    )?
    .map(|r| format!("{} · {}", r.str(0), r.str(1))))
}

// ---- the key ----------------------------------------------------------------------------------

/// The deployment's VAPID key, loaded (or created) from the keys folder at its first use and
/// kept in the area's state; a key file that will not load (a wrong passphrase) says why.
pub fn vapid(state: &AppState) -> std::result::Result<&Vapid, String> {
    state
        .area::<super::Reach>()
        .vapid
        .get_or_init(|| {
            let pass = state.cfg.key_passphrase.as_ref().map(|s| s.expose());
            Vapid::load(&state.cfg.keys_dir(), pass).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

// ---- use cases --------------------------------------------------------------------------------

pub fn public_key(state: &AppState) -> AppResult<PushKey> {
    let v = vapid(state).map_err(|e| AppError::internal("the VAPID key", e))?;
    Ok(PushKey {
        public_key: v.public_key(),
    })
}

pub async fn mine(state: &AppState, caller: &Caller) -> AppResult<Vec<Device>> {
    let me = caller.user_id;
    Ok(state.db.read(move |c| list(c, me)).await?)
}

/// Keeps the caller's browser (checked: an http(s) endpoint outside this machine's networks
/// unless `webhook_allow` permits it, a P-256 key, a 16-byte secret).
pub async fn subscribe(state: &AppState, caller: &Caller, n: NewDevice) -> AppResult<Device> {
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    let s = Subscription::check(&n.endpoint, &n.keys.p256dh, &n.keys.auth)
        .map_err(AppError::invalid)?;
    let label = n
        .label
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .unwrap_or("");
    if label.chars().count() > 60 || crate::kernel::text::check_line(label).is_err() {
        return Err(AppError::invalid("reach.err.push_label"));
    }
    let label = if label.is_empty() {
        s.host()
    } else {
        label.to_string()
    };
    let allow = state.cfg.webhook_allow.clone();
    super::net::check_destination(&s.endpoint, &|h, ip| allow.permits(h, ip))
        .await
        .map_err(|_| AppError::invalid("reach.err.private"))?;
    let (keys, me, now) = (state.keys.clone(), caller.user_id, crate::store::now_ms());
    let id = state
        .db
        .write(move |c| put(c, &keys, street, me, &s, &label, now))
        .await?;
    mine(state, caller)
        .await?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or_else(AppError::not_found)
}

/// Removes one of the caller's browsers (404 for another's).
pub async fn unsubscribe(state: &AppState, caller: &Caller, id: i64) -> AppResult<()> {
    let (me, now) = (caller.user_id, crate::store::now_ms());
    let why = crate::kernel::i18n::both("reach.push_removed", &[]);
    if state
        .db
        .write(move |c| remove(c, id, Some(me), &why, now))
        .await?
    {
        Ok(())
    } else {
        Err(AppError::not_found())
    }
}

/// Sends the caller a test message on her browsers only, through the outbox.
pub async fn test(state: &AppState, caller: &Caller) -> AppResult<usize> {
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    let (me, now) = (caller.user_id, crate::store::now_ms());
    let n = state
        .db
        .write_tx(move |c| {
            let devices = list(c, me)?;
            if devices.is_empty() {
                return Ok(0);
            }
            let m = super::model::Message {
                street_id: street,
                to: super::model::Recipient::Devices(me),
                urgency: super::model::Urgency::Normal,
                body: super::model::Body::Key {
                    key: "reach.msg.push_test",
                    args: Vec::new(),
                },
                link: Some("/reach/me".into()),
                idem: format!("push-test:{me}:{now}"),
                source: format!("user:{me}"),
                sender: Some(me),
            };
            super::outbox::tell_at(c, &m, now)?;
            Ok::<_, crate::store::StoreError>(devices.len())
        })
        .await?;
    if n == 0 {
        return Err(AppError::invalid("reach.err.push_none"));
    }
    Ok(n)
}
