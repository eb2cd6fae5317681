//! The outbox: [`tell`] writes a message and one delivery per (channel, target) in the
//! caller's transaction; the delivery job claims what is due, sends it and records the
//! outcome, retrying with exponential backoff until the last try.

use serde::Serialize;
use utoipa::ToSchema;

use super::model::{Body, Channel, Message, Quiet, Recipient, Urgency};
use crate::kernel::i18n::{Lang, Tr, pick};
use crate::params;
use crate::store::{Backend, Conn, Result, Val};

/// How many tries a delivery gets before it is marked failed.
pub const MAX_ATTEMPTS: i64 = 6;
/// A claim older than this is taken to have died with its process and is claimed again.
pub const STALE_CLAIM_MS: i64 = 5 * 60_000;

/// The wait before the next try after `attempts` tries: 30 s, 1 min, 2 min, … at most an hour.
pub fn backoff_ms(attempts: i64) -> i64 {
    (30_000i64 << (attempts - 1).clamp(0, 10)).min(3_600_000)
}

/// Writes `m` to the outbox in the caller's transaction; returns the message's id, or `None`
/// when a message with the same idempotency key was already written (nothing more is done).
pub fn tell(c: &mut dyn Conn, m: &Message) -> Result<Option<i64>> {
    tell_at(c, m, crate::store::now_ms())
}

/// [`tell`] at a given time (quiet hours are judged at `now`).
pub fn tell_at(c: &mut dyn Conn, m: &Message, now: i64) -> Result<Option<i64>> {
    let (key, args, text) = match &m.body {
        Body::Key { key, args } => {
            let map: serde_json::Map<String, serde_json::Value> = args
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
                .collect();
            (
                key.to_string(),
                serde_json::Value::Object(map).to_string(),
                String::new(),
            )
        }
        Body::Text(t) => (String::new(), "{}".to_string(), t.clone()),
    };
    let Some(row) = c.query_opt(
        "INSERT INTO reach_messages (street_id, idem, sender_id, source, urgency, key, args, text, link, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (street_id, idem) DO NOTHING RETURNING id",
        params![
            m.street_id,
            m.idem.as_str(),
            m.sender,
            m.source.as_str(),
            m.urgency.as_str(),
            key,
            args,
            text,
            m.link.clone().unwrap_or_default(),
            now
        ],
    )?
    else {
        return Ok(None);
    };
    let id = row.i64(0);
    let mut rows: Vec<Vec<Val>> = Vec::new();
    for t in targets(c, m.street_id, &m.to)? {
        let next = match (m.urgency, t.quiet) {
            (Urgency::Normal, Some(q)) => q.release(now),
            _ => now,
        };
        rows.push(vec![
            Val::Int(m.street_id),
            Val::Int(id),
            Val::Text(t.target),
            Val::Text(t.channel.as_str().into()),
            Val::Text(t.lang.code().into()),
            Val::Text("queued".into()),
            Val::Int(next),
            Val::Int(now),
            Val::Int(now),
        ]);
    }
    if !rows.is_empty() {
        c.insert_many_ignore(
            "reach_deliveries",
            &[
                "street_id",
                "message_id",
                "target",
                "channel",
                "lang",
                "state",
                "next_at",
                "created_at",
                "updated_at",
            ],
            &rows,
        )?;
    }
    Ok(Some(id))
}

/// One way a message goes: a target on a channel, in a language, after quiet hours.
struct Target {
    target: String,
    channel: Channel,
    lang: Lang,
    quiet: Option<Quiet>,
}

fn user_targets(c: &mut dyn Conn, user: i64, out: &mut Vec<Target>) -> Result<()> {
    let prefs = c.query_opt(
        "SELECT quiet_from, quiet_to, lang FROM reach_prefs WHERE user_id = $1",
        params![user],
    )?;
    let (quiet, lang) = match prefs {
        Some(r) => (
            match (r.opt_i64(0), r.opt_i64(1)) {
                (Some(from), Some(to)) => Some(Quiet { from, to }),
                _ => None,
            },
            Lang::parse(&r.str(2)).unwrap_or(Lang::Zh),
        ),
        None => (None, Lang::Zh),
    };
    for r in c.query(
        "SELECT channel FROM reach_addresses WHERE user_id = $1 AND enabled = 1 ORDER BY channel",
        params![user],
    )? {
        if let Some(ch) = Channel::parse(&r.str(0)) {
            out.push(Target {
                target: format!("user:{user}"),
                channel: ch,
                lang,
                quiet,
            });
        }
    }
    device_targets(c, user, lang, quiet, out)
}

/// One target per browser the account subscribed to Web Push.
fn device_targets(
    c: &mut dyn Conn,
    user: i64,
    lang: Lang,
    quiet: Option<Quiet>,
    out: &mut Vec<Target>,
) -> Result<()> {
    for r in c.query(
        "SELECT id FROM reach_push_subs WHERE user_id = $1 ORDER BY id",
        params![user],
    )? {
        out.push(Target {
            target: format!("push:{}", r.i64(0)),
            channel: Channel::Webpush,
            lang,
            quiet,
        });
    }
    Ok(())
}

fn targets(c: &mut dyn Conn, street: i64, to: &Recipient) -> Result<Vec<Target>> {
    let mut out = Vec::new();
    match to {
        Recipient::User(u) => user_targets(c, *u, &mut out)?,
        Recipient::Devices(u) => {
            let lang = c
                .query_opt(
                    "SELECT lang FROM reach_prefs WHERE user_id = $1",
                    params![*u],
                )?
                .and_then(|r| Lang::parse(&r.str(0)))
                .unwrap_or(Lang::Zh);
            device_targets(c, *u, lang, None, &mut out)?
        }
        Recipient::RoleAt { role, place_path } => {
            let mut users: Vec<i64> = crate::org::users::place_grants_for_street(c, street)?
                .into_iter()
                .filter(|g| {
                    g.role == role.as_str()
                        && crate::org::Scope::covers(std::slice::from_ref(&g.path), place_path)
                })
                .map(|g| g.user_id)
                .collect();
            users.sort_unstable();
            users.dedup();
            for u in users {
                user_targets(c, u, &mut out)?;
            }
            for r in c.query(
                "SELECT id, kind, place_path FROM reach_robots WHERE street_id = $1 AND active = 1",
                params![street],
            )? {
                if crate::org::Scope::covers(&[r.str(2)], place_path)
                    && let Some(ch) = Channel::parse(&r.str(1))
                {
                    out.push(Target {
                        target: format!("robot:{}", r.i64(0)),
                        channel: ch,
                        lang: Lang::Zh,
                        quiet: None,
                    });
                }
            }
        }
        Recipient::Contact(id) => {
            if let Some(r) = c.query_opt(
                "SELECT channel FROM reach_contacts WHERE id = $1 AND street_id = $2",
                params![*id, street],
            )? && let Some(ch) = Channel::parse(&r.str(0))
            {
                out.push(Target {
                    target: format!("contact:{id}"),
                    channel: ch,
                    lang: Lang::Zh,
                    quiet: None,
                });
            }
        }
        Recipient::Robot(id) => {
            if let Some(r) = c.query_opt(
                "SELECT kind FROM reach_robots WHERE id = $1 AND street_id = $2 AND active = 1",
                params![*id, street],
            )? && let Some(ch) = Channel::parse(&r.str(0))
            {
                out.push(Target {
                    target: format!("robot:{id}"),
                    channel: ch,
                    lang: Lang::Zh,
                    quiet: None,
                });
            }
        }
    }
    Ok(out)
}

/// A delivery claimed for sending, with what it needs.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: i64,
    pub street_id: i64,
    pub target: String,
    pub channel: Channel,
    pub lang: Lang,
    pub attempts: i64,
    pub urgency: Urgency,
    pub idem: String,
    pub subject: String,
    pub text: String,
    pub link: String,
    /// The target's address, encrypted (a user's or a contact's), or the robot's URL and
    /// encrypted secret.
    pub address: Option<Vec<u8>>,
    pub robot: Option<(String, Option<Vec<u8>>)>,
}

/// The message's words in `lang`: (subject, text).
pub fn render(lang: Lang, key: &str, args: &str, text: &str) -> (String, String) {
    if key.is_empty() {
        let subject = text.lines().next().unwrap_or("").chars().take(60).collect();
        return (subject, text.to_string());
    }
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(args).unwrap_or_default();
    let vals: Vec<(String, String)> = map
        .iter()
        .map(|(k, v)| (k.clone(), pick(v.as_str().unwrap_or_default(), lang)))
        .collect();
    let refs: Vec<(&str, &dyn std::fmt::Display)> = vals
        .iter()
        .map(|(k, v)| (k.as_str(), v as &dyn std::fmt::Display))
        .collect();
    let t = Tr(lang);
    (t.fill(&format!("{key}_subject"), &refs), t.fill(key, &refs))
}

/// Claims up to `limit` deliveries due at `now` (and claims of processes that died), marking
/// them `sending`; two processes never claim the same row.
pub fn claim(c: &mut dyn Conn, now: i64, limit: i64) -> Result<Vec<Claimed>> {
    let lock = if c.backend() == Backend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let ids: Vec<i64> = c
        .query(
            &format!(
                "SELECT id FROM reach_deliveries WHERE (state = 'queued' AND next_at <= $1) \
                 OR (state = 'sending' AND claimed_at < $2) ORDER BY next_at, id LIMIT $3{lock}"
            ),
            params![now, now - STALE_CLAIM_MS, limit],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
    let mut p: Vec<Val> = vec![Val::Int(now), Val::Int(now - STALE_CLAIM_MS)];
    p.extend(ids.iter().map(|&i| Val::Int(i)));
    let rows = c.query(
        &format!(
            "UPDATE reach_deliveries SET state = 'sending', claimed_at = $1, updated_at = $1 \
             WHERE id IN ({}) AND (state = 'queued' OR (state = 'sending' AND claimed_at < $2)) \
             RETURNING id, street_id, message_id, target, channel, lang, attempts",
            marks.join(", ")
        ),
        &p,
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let msg = c.query_one(
            "SELECT idem, key, args, text, link, urgency FROM reach_messages WHERE id = $1",
            params![r.i64(2)],
        )?;
        let lang = Lang::parse(&r.str(5)).unwrap_or(Lang::Zh);
        let (subject, text) = render(lang, &msg.str(1), &msg.str(2), &msg.str(3));
        let target = r.str(3);
        let channel = Channel::parse(&r.str(4)).unwrap_or(Channel::Email);
        let (mut address, mut robot) = (None, None);
        match target.split_once(':') {
            Some(("user", id)) => {
                address = c
                    .query_opt(
                        "SELECT address FROM reach_addresses WHERE user_id = $1 AND channel = $2 AND enabled = 1",
                        params![id.parse::<i64>().unwrap_or(0), channel.as_str()],
                    )?
                    .and_then(|r| r.blob(0));
            }
            Some(("contact", id)) => {
                address = c
                    .query_opt(
                        "SELECT address FROM reach_contacts WHERE id = $1",
                        params![id.parse::<i64>().unwrap_or(0)],
                    )?
                    .and_then(|r| r.blob(0));
            }
            Some(("push", id)) => {
                address = c
                    .query_opt(
                        "SELECT sub FROM reach_push_subs WHERE id = $1",
                        params![id.parse::<i64>().unwrap_or(0)],
                    )?
                    .and_then(|r| r.blob(0));
            }
            Some(("robot", id)) => {
                robot = c
                    .query_opt(
                        "SELECT url, secret FROM reach_robots WHERE id = $1 AND active = 1",
                        params![id.parse::<i64>().unwrap_or(0)],
                    )?
                    .map(|r| (r.str(0), r.blob(1)));
            }
            _ => {}
        }
        out.push(Claimed {
            id: r.i64(0),
            street_id: r.i64(1),
            target,
            channel,
            lang,
            attempts: r.i64(6),
            urgency: if msg.str(5) == "urgent" {
                Urgency::Urgent
            } else {
                Urgency::Normal
            },
            idem: format!("{}-{}-{}", msg.str(0), channel.as_str(), r.i64(0)),
            subject,
            text,
            link: msg.str(4),
            address,
            robot,
        });
    }
    Ok(out)
}

/// Why a try failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Tried again after the backoff, until the last try.
    Retry(String),
    /// The target is gone for good (a push subscription the service answered 404 or 410 for):
    /// no more tries, and the target is removed with what was still queued for it.
    Gone(String),
}

impl From<String> for Failure {
    fn from(why: String) -> Failure {
        Failure::Retry(why)
    }
}

impl Failure {
    pub fn why(&self) -> &str {
        match self {
            Failure::Retry(w) | Failure::Gone(w) => w,
        }
    }
}

/// Records the outcomes of sent deliveries in one transaction: sent, or queued again after
/// the backoff with the reason, or failed after the last try (or at once when the target is
/// gone). Returns how many failed for good.
pub fn record(
    c: &mut dyn Conn,
    outcomes: &[(i64, i64, std::result::Result<(), Failure>)],
    now: i64,
) -> Result<usize> {
    let mut failed = 0;
    for (id, attempts_before, outcome) in outcomes {
        if let Err(Failure::Gone(why)) = outcome {
            failed += 1;
            let why: String = why.chars().take(500).collect();
            let target = c
                .query_opt(
                    "UPDATE reach_deliveries SET state = 'failed', attempts = attempts + 1, last_error = $1, \
                     claimed_at = NULL, updated_at = $2 WHERE id = $3 AND state = 'sending' RETURNING target",
                    params![why.as_str(), now, *id],
                )?
                .map(|r| r.str(0));
            if let Some(sub) = target
                .as_deref()
                .and_then(|t| t.strip_prefix("push:"))
                .and_then(|s| s.parse::<i64>().ok())
            {
                super::devices::remove(c, sub, None, &why, now)?;
            }
            continue;
        }
        let outcome = outcome.as_ref().map_err(Failure::why);
        match outcome {
            Ok(()) => {
                c.exec(
                    "UPDATE reach_deliveries SET state = 'sent', attempts = attempts + 1, sent_at = $1, \
                     last_error = '', claimed_at = NULL, updated_at = $1 WHERE id = $2 AND state = 'sending'",
                    params![now, *id],
                )?;
            }
            Err(why) => {
                let attempts = attempts_before + 1;
                let why: String = why.chars().take(500).collect();
                if attempts >= MAX_ATTEMPTS {
                    failed += 1;
                    c.exec(
                        "UPDATE reach_deliveries SET state = 'failed', attempts = $1, last_error = $2, \
                         claimed_at = NULL, updated_at = $3 WHERE id = $4 AND state = 'sending'",
                        params![attempts, why, now, *id],
                    )?;
                } else {
                    c.exec(
                        "UPDATE reach_deliveries SET state = 'queued', attempts = $1, last_error = $2, \
                         next_at = $3, claimed_at = NULL, updated_at = $4 WHERE id = $5 AND state = 'sending'",
                        params![attempts, why, now + backoff_ms(attempts), now, *id],
                    )?;
                }
            }
        }
    }
    Ok(failed)
}

/// One row of the outbox page.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Reach_Delivery)]
pub struct Delivery {
    pub id: i64,
    pub message_id: i64,
    /// What caused it (`case:12`, `alert:5`, `chain:3`).
    pub source: String,
    /// Whom, masked: an account's or a contact's address, or a robot's name.
    pub to: String,
    pub channel: Channel,
    pub urgency: Urgency,
    /// queued, sending, sent, failed
    pub state: String,
    pub attempts: i64,
    pub next_at: i64,
    pub last_error: String,
    pub sent_at: Option<i64>,
    pub created_at: i64,
}

/// The street's deliveries, newest first, optionally in one state and from one sender.
pub fn list(
    c: &mut dyn Conn,
    street: i64,
    state: Option<&str>,
    sender: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Delivery>> {
    let rows = c.query(
        "SELECT d.id, d.message_id, m.source, d.target, d.channel, m.urgency, d.state, d.attempts, d.next_at, \
         d.last_error, d.sent_at, d.created_at FROM reach_deliveries d JOIN reach_messages m ON m.id = d.message_id \
         WHERE d.street_id = $1 AND ($2 = '' OR d.state = $2) AND ($3 = 0 OR m.sender_id = $3) AND d.id < $4 \
         ORDER BY d.id DESC LIMIT $5",
        params![
            street,
            state.unwrap_or(""),
            sender.unwrap_or(0),
            before.unwrap_or(i64::MAX),
            limit
        ],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let target = r.str(3);
        let to = target_words(
            c,
            &target,
            Channel::parse(&r.str(4)).unwrap_or(Channel::Email),
        )?;
        out.push(Delivery {
            id: r.i64(0),
            message_id: r.i64(1),
            source: r.str(2),
            to,
            channel: Channel::parse(&r.str(4)).unwrap_or(Channel::Email),
            urgency: if r.str(5) == "urgent" {
                Urgency::Urgent
            } else {
                Urgency::Normal
            },
            state: r.str(6),
            attempts: r.i64(7),
            next_at: r.i64(8),
            last_error: r.str(9),
            sent_at: r.opt_i64(10),
            created_at: r.i64(11),
        });
    }
    Ok(out)
}

/// A target in words, masked.
fn target_words(c: &mut dyn Conn, target: &str, ch: Channel) -> Result<String> {
    let (kind, id) = target.split_once(':').unwrap_or(("", "0"));
    let id: i64 = id.parse().unwrap_or(0);
    Ok(match kind {
        "user" => c
            .query_opt(
                "SELECT masked FROM reach_addresses WHERE user_id = $1 AND channel = $2",
                params![id, ch.as_str()],
            )?
            .map(|r| r.str(0))
            .unwrap_or_else(|| "—".into()),
        "contact" => c
            .query_opt(
                "SELECT name, masked FROM reach_contacts WHERE id = $1",
                params![id],
            )?
            .map(|r| format!("{} {}", super::model::mask_name(&r.str(0)), r.str(1)))
            .unwrap_or_else(|| "—".into()),
        "push" => super::devices::words(c, id)?.unwrap_or_else(|| "—".into()),
        "robot" => c
            .query_opt("SELECT name FROM reach_robots WHERE id = $1", params![id])?
            .map(|r| r.str(0))
            .unwrap_or_else(|| "—".into()),
        _ => "—".into(),
    })
}

/// Deliveries by state (for the metrics and the outbox page's totals).
pub fn counts(c: &mut dyn Conn, street: Option<i64>) -> Result<Vec<(String, i64)>> {
    Ok(c
        .query(
            "SELECT state, COUNT(*) FROM reach_deliveries WHERE ($1 = 0 OR street_id = $1) GROUP BY state ORDER BY state",
            params![street.unwrap_or(0)],
        )?
        .iter()
        .map(|r| (r.str(0), r.i64(1)))
        .collect())
}

/// How many of the messages a user sent failed for good (told on her home page).
pub fn failed_of_sender(c: &mut dyn Conn, user: i64) -> Result<i64> {
    c.query_i64(
        "SELECT COUNT(*) FROM reach_deliveries d JOIN reach_messages m ON m.id = d.message_id \
         WHERE m.sender_id = $1 AND d.state = 'failed'",
        params![user],
    )
}

/// Queues a failed delivery again (an administrator fixed the address or the gateway).
pub fn retry(c: &mut dyn Conn, street: i64, id: i64, now: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE reach_deliveries SET state = 'queued', attempts = 0, next_at = $1, updated_at = $1 \
         WHERE id = $2 AND street_id = $3 AND state = 'failed'",
        params![now, id, street],
    )? > 0)
}
