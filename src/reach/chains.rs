//! Care alerts that escalate until someone answers (issue 24 part 2). An alert on a person's
//! devices starts a chain in the alert's own transaction: her contacts in order (family,
//! helper), then the grid worker of her flat's grid, then the community's duty worker, each
//! with a timeout. Every message carries a one-tap link (single use, expiring, signed with an
//! HMAC over its id, expiry and a nonce kept here) whose answer — "I'm on it" or "she is
//! fine" — stops the chain and is recorded on the alert and its case through
//! [`super::hooks`]. Quiet hours never delay it: every message of a chain is urgent. The
//! chain's step and its next time are rows, so a restart neither skips nor repeats a step.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{Body, Message, Recipient, Urgency};
use crate::params;
use crate::store::keys::FieldKeys;
use crate::store::{Conn, Result};

/// How long a one-tap link stays valid.
pub const TAP_VALID_MS: i64 = 24 * 3_600_000;
/// The grid worker's and (without a duty setting) the duty worker's timeout.
pub const WORKER_TIMEOUT_MIN: i64 = 10;

/// One step of a chain: whom it tells and how long it waits for an answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[schema(as = Reach_Step)]
pub struct Step {
    /// family, helper, grid, duty
    pub who: String,
    /// contact:3, user:5
    pub targets: Vec<String>,
    pub timeout_min: i64,
}

/// The alert a chain starts for.
pub struct CareAlert<'a> {
    pub street_id: i64,
    pub alert_id: i64,
    pub person_id: i64,
    pub case_id: Option<i64>,
    pub place_path: &'a str,
    /// The alert in words, both languages ("中文 / English").
    pub what: &'a str,
    /// Where, in words ("3号楼 305室").
    pub place: &'a str,
}

fn users_with(c: &mut dyn Conn, street: i64, role: &str, path: &str) -> Result<Vec<String>> {
    let mut u: Vec<i64> = crate::org::users::place_grants_for_street(c, street)?
        .into_iter()
        .filter(|g| {
            g.role == role && crate::org::Scope::covers(std::slice::from_ref(&g.path), path)
        })
        .map(|g| g.user_id)
        .collect();
    u.sort_unstable();
    u.dedup();
    Ok(u.into_iter().map(|u| format!("user:{u}")).collect())
}

/// The community a path lies in: its place id.
fn community_of(c: &mut dyn Conn, path: &str) -> Result<Option<i64>> {
    let mut prefix = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        if let Some(p) = crate::org::places::by_path(c, &prefix)?
            && p.kind == "community"
        {
            return Ok(Some(p.id));
        }
    }
    Ok(None)
}

/// The plan of a person's chain: her contacts, the grid worker, the duty worker.
pub fn plan(c: &mut dyn Conn, street: i64, person: i64, path: &str) -> Result<Vec<Step>> {
    let mut steps: Vec<Step> = super::settings::contacts(c, person)?
        .into_iter()
        .map(|k| Step {
            who: k.relation,
            targets: vec![format!("contact:{}", k.id)],
            timeout_min: k.timeout_min,
        })
        .collect();
    let grid = users_with(c, street, "grid_worker", path)?;
    if !grid.is_empty() {
        steps.push(Step {
            who: "grid".into(),
            targets: grid,
            timeout_min: WORKER_TIMEOUT_MIN,
        });
    }
    let duty = match community_of(c, path)? {
        Some(comm) => match super::settings::duty(c, comm)? {
            Some((u, t)) => Some((vec![format!("user:{u}")], t)),
            None => Some((
                users_with(c, street, "community_worker", path)?,
                WORKER_TIMEOUT_MIN,
            )),
        },
        None => None,
    };
    if let Some((targets, timeout_min)) = duty.filter(|(t, _)| !t.is_empty()) {
        steps.push(Step {
            who: "duty".into(),
            targets,
            timeout_min,
        });
    }
    Ok(steps)
}

/// Starts the chain of a care alert (once per alert) and sends its first step, in the
/// alert's transaction. Returns the chain's id, or `None` when nobody is in the plan.
pub fn start(c: &mut dyn Conn, a: &CareAlert<'_>, now: i64) -> Result<Option<i64>> {
    let steps = plan(c, a.street_id, a.person_id, a.place_path)?;
    if steps.is_empty() {
        return Ok(None);
    }
    let Some(row) = c.query_opt(
        "INSERT INTO reach_chains (street_id, alert_id, person_id, case_id, place_path, what, plan, step, state, next_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 'running', $8, $9, $9) ON CONFLICT (alert_id) DO NOTHING RETURNING id",
        params![
            a.street_id,
            a.alert_id,
            a.person_id,
            a.case_id,
            a.place_path,
            serde_json::json!({"what": a.what, "place": a.place}).to_string(),
            serde_json::to_string(&steps).unwrap_or_default(),
            now + steps[0].timeout_min * 60_000,
            now
        ],
    )?
    else {
        return Ok(None);
    };
    let id = row.i64(0);
    send_step(c, id, 0, now)?;
    Ok(Some(id))
}

struct ChainRow {
    id: i64,
    street_id: i64,
    alert_id: i64,
    case_id: Option<i64>,
    what: String,
    place: String,
    plan: Vec<Step>,
    step: i64,
    state: String,
}

fn chain(c: &mut dyn Conn, id: i64) -> Result<Option<ChainRow>> {
    Ok(c
        .query_opt(
            "SELECT id, street_id, alert_id, case_id, what, plan, step, state FROM reach_chains WHERE id = $1",
            params![id],
        )?
        .map(|r| {
            let words: serde_json::Value = serde_json::from_str(&r.str(4)).unwrap_or_default();
            ChainRow {
                id: r.i64(0),
                street_id: r.i64(1),
                alert_id: r.i64(2),
                case_id: r.opt_i64(3),
                what: words["what"].as_str().unwrap_or_default().to_string(),
                place: words["place"].as_str().unwrap_or_default().to_string(),
                plan: serde_json::from_str(&r.str(5)).unwrap_or_default(),
                step: r.i64(6),
                state: r.str(7),
            }
        }))
}

fn send_step(c: &mut dyn Conn, id: i64, step: i64, now: i64) -> Result<()> {
    let Some(ch) = chain(c, id)? else {
        return Ok(());
    };
    let Some(s) = ch.plan.get(step as usize) else {
        return Ok(());
    };
    for target in &s.targets {
        let mut nonce = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut nonce);
        let tap = c.query_i64(
            "INSERT INTO reach_taps (street_id, chain_id, step, target, label, nonce, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            params![
                ch.street_id,
                id,
                step,
                target.as_str(),
                s.who.as_str(),
                hex::encode(nonce),
                now + TAP_VALID_MS,
                now
            ],
        )?;
        let (kind, tid) = target.split_once(':').unwrap_or(("", "0"));
        let tid: i64 = tid.parse().unwrap_or(0);
        let to = match kind {
            "contact" => Recipient::Contact(tid),
            "robot" => Recipient::Robot(tid),
            _ => Recipient::User(tid),
        };
        super::outbox::tell_at(
            c,
            &Message {
                street_id: ch.street_id,
                to,
                urgency: Urgency::Urgent,
                body: Body::Key {
                    key: "reach.msg.care",
                    args: vec![("what", ch.what.clone()), ("place", ch.place.clone())],
                },
                link: Some(format!("tap:{tap}")),
                idem: format!("chain:{id}:{step}:{target}"),
                source: format!("alert:{}", ch.alert_id),
                sender: None,
            },
            now,
        )?;
    }
    Ok(())
}

/// Moves on every chain whose step timed out by `now`: the next step is told, or the chain
/// is exhausted after the last. Returns how many chains moved.
pub fn sweep(c: &mut dyn Conn, now: i64) -> Result<usize> {
    let due: Vec<i64> = c
        .query(
            "SELECT id FROM reach_chains WHERE state = 'running' AND next_at <= $1 ORDER BY next_at LIMIT 200",
            params![now],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect();
    let mut moved = 0;
    for id in due {
        let Some(ch) = chain(c, id)? else { continue };
        let next = ch.step + 1;
        // Only the sweep that moves the step on sends it (two processes never both do).
        match ch.plan.get(next as usize) {
            Some(s) => {
                let n = c.exec(
                    "UPDATE reach_chains SET step = $1, next_at = $2, updated_at = $3 WHERE id = $4 AND step = $5 AND state = 'running'",
                    params![next, now + s.timeout_min * 60_000, now, id, ch.step],
                )?;
                if n > 0 {
                    send_step(c, id, next, now)?;
                    moved += 1;
                }
            }
            None => {
                moved += c.exec(
                    "UPDATE reach_chains SET state = 'exhausted', next_at = NULL, updated_at = $1 WHERE id = $2 AND state = 'running'",
                    params![now, id],
                )? as usize;
            }
        }
    }
    Ok(moved)
}

/// Stops the chain of an alert cleared or acknowledged in linli (nobody need be woken).
pub fn stop_for_alert(c: &mut dyn Conn, alert_id: i64, now: i64) -> Result<()> {
    c.exec(
        "UPDATE reach_chains SET state = 'stopped', next_at = NULL, updated_at = $1 WHERE alert_id = $2 AND state = 'running'",
        params![now, alert_id],
    )?;
    Ok(())
}

/// The signed token of a one-tap link: `id.expiry.mac`.
pub fn token(keys: &FieldKeys, tap: i64, expires: i64, nonce: &str) -> String {
    format!(
        "{tap}.{expires}.{}",
        keys.blind_index("reach.tap", &format!("{tap}.{expires}.{nonce}"))
    )
}

/// A tap link's token, for a message being sent: (`id.expiry.mac`).
pub fn token_of(c: &mut dyn Conn, keys: &FieldKeys, tap: i64) -> Result<Option<String>> {
    Ok(c.query_opt(
        "SELECT expires_at, nonce FROM reach_taps WHERE id = $1",
        params![tap],
    )?
    .map(|r| token(keys, tap, r.i64(0), &r.str(1))))
}

/// What a one-tap link is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tap {
    /// Not ours: no such link, or its signature does not match (altered or forged).
    Forged,
    Expired,
    /// Already answered with this link (when, what).
    Used(i64, String),
    /// Someone else answered first (what, who).
    AnsweredBefore(String, String),
    /// Waiting for an answer: the alert in words, where.
    Open {
        what: String,
        place: String,
    },
}

struct TapRow {
    chain_id: i64,
    label: String,
    target: String,
    expires_at: i64,
    used_at: Option<i64>,
    answer: Option<String>,
}

fn check(c: &mut dyn Conn, keys: &FieldKeys, token: &str, now: i64) -> Result<Result<TapRow, Tap>> {
    let mut parts = token.split('.');
    let (Some(id), Some(exp), Some(mac), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(Err(Tap::Forged));
    };
    let (Ok(id), Ok(exp)) = (id.parse::<i64>(), exp.parse::<i64>()) else {
        return Ok(Err(Tap::Forged));
    };
    let Some(r) = c.query_opt(
        "SELECT chain_id, label, target, expires_at, used_at, answer, nonce FROM reach_taps WHERE id = $1",
        params![id],
    )?
    else {
        return Ok(Err(Tap::Forged));
    };
    let want = self::token(keys, id, r.i64(3), &r.str(6));
    if exp != r.i64(3)
        || !crate::kernel::ct_eq(want.as_bytes(), format!("{id}.{exp}.{mac}").as_bytes())
    {
        return Ok(Err(Tap::Forged));
    }
    let row = TapRow {
        chain_id: r.i64(0),
        label: r.str(1),
        target: r.str(2),
        expires_at: r.i64(3),
        used_at: r.opt_i64(4),
        answer: r.opt_str(5),
    };
    if let Some(at) = row.used_at {
        return Ok(Err(Tap::Used(at, row.answer.clone().unwrap_or_default())));
    }
    if now >= row.expires_at {
        return Ok(Err(Tap::Expired));
    }
    Ok(Ok(row))
}

/// What a one-tap link says now (the landing page).
pub fn look(c: &mut dyn Conn, keys: &FieldKeys, token: &str, now: i64) -> Result<Tap> {
    let row = match check(c, keys, token, now)? {
        Ok(r) => r,
        Err(t) => return Ok(t),
    };
    let Some(ch) = chain(c, row.chain_id)? else {
        return Ok(Tap::Forged);
    };
    if let Some(r) = c.query_opt(
        "SELECT answer, answered_by FROM reach_chains WHERE id = $1 AND state = 'answered'",
        params![ch.id],
    )? {
        return Ok(Tap::AnsweredBefore(r.str(0), r.str(1)));
    }
    Ok(Tap::Open {
        what: ch.what,
        place: ch.place,
    })
}

/// An answer recorded: the chain stopped, the alert and its case told.
pub struct Answered {
    pub chain_id: i64,
    pub alert_id: i64,
    pub case_id: Option<i64>,
    /// on_it, fine
    pub answer: String,
    /// Who answered, in words (masked): "家属 张** / family 张**".
    pub by: String,
    pub effects: Vec<(super::hooks::OnAnswer, super::hooks::Effect)>,
}

/// Answers a one-tap link, once: the chain stops, and the hooks record it on the alert and
/// its case, in this transaction.
pub fn answer(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    token: &str,
    answer: &str,
    now: i64,
) -> Result<std::result::Result<Answered, Tap>> {
    if !matches!(answer, "on_it" | "fine") {
        return Ok(Err(Tap::Forged));
    }
    let row = match check(c, keys, token, now)? {
        Ok(r) => r,
        Err(t) => return Ok(Err(t)),
    };
    let id: i64 = token
        .split('.')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // Single use, even when two taps race: only the one that marks it goes on.
    if c.exec(
        "UPDATE reach_taps SET used_at = $1, answer = $2 WHERE id = $3 AND used_at IS NULL",
        params![now, answer, id],
    )? == 0
    {
        return Ok(Err(Tap::Used(now, answer.to_string())));
    }
    let Some(ch) = chain(c, row.chain_id)? else {
        return Ok(Err(Tap::Forged));
    };
    let by = who_words(c, &row.label, &row.target)?;
    let n = c.exec(
        "UPDATE reach_chains SET state = 'answered', answer = $1, answered_by = $2, answered_at = $3, next_at = NULL, updated_at = $3 \
         WHERE id = $4 AND state IN ('running', 'exhausted')",
        params![answer, by.as_str(), now, ch.id],
    )?;
    if n == 0 && ch.state != "stopped" {
        let r = c.query_one(
            "SELECT COALESCE(answer, ''), COALESCE(answered_by, '') FROM reach_chains WHERE id = $1",
            params![ch.id],
        )?;
        return Ok(Err(Tap::AnsweredBefore(r.str(0), r.str(1))));
    }
    let effects = super::hooks::answered(c, ch.alert_id, ch.case_id, answer, &by, now)?;
    Ok(Ok(Answered {
        chain_id: ch.id,
        alert_id: ch.alert_id,
        case_id: ch.case_id,
        answer: answer.to_string(),
        by,
        effects,
    }))
}

fn who_words(c: &mut dyn Conn, label: &str, target: &str) -> Result<String> {
    let name = match target.split_once(':') {
        Some(("contact", id)) => c
            .query_opt(
                "SELECT name FROM reach_contacts WHERE id = $1",
                params![id.parse::<i64>().unwrap_or(0)],
            )?
            .map(|r| crate::kernel::text::mask_name(&r.str(0)))
            .unwrap_or_default(),
        Some(("user", id)) => {
            let id: i64 = id.parse().unwrap_or(0);
            crate::org::users::display_names(c, [id])?
                .remove(&id)
                .unwrap_or_default()
        }
        _ => String::new(),
    };
    Ok(crate::kernel::i18n::both(
        &format!("reach.who.{label}"),
        &[("name", &name)],
    ))
}

/// A chain as the alert's page and the API show it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Reach_Chain)]
pub struct Chain {
    pub id: i64,
    pub alert_id: i64,
    pub case_id: Option<i64>,
    pub place_path: String,
    pub plan: Vec<Step>,
    pub step: i64,
    /// running, answered, exhausted, stopped
    pub state: String,
    pub next_at: Option<i64>,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<i64>,
    pub created_at: i64,
}

/// The street's chains, newest first.
pub fn list(c: &mut dyn Conn, street: i64, alert: Option<i64>, limit: i64) -> Result<Vec<Chain>> {
    Ok(c
        .query(
            "SELECT id, alert_id, case_id, place_path, plan, step, state, next_at, answer, answered_by, answered_at, created_at \
             FROM reach_chains WHERE street_id = $1 AND ($2 = 0 OR alert_id = $2) ORDER BY id DESC LIMIT $3",
            params![street, alert.unwrap_or(0), limit],
        )?
        .iter()
        .map(|r| Chain {
            id: r.i64(0),
            alert_id: r.i64(1),
            case_id: r.opt_i64(2),
            place_path: r.str(3),
            plan: serde_json::from_str(&r.str(4)).unwrap_or_default(),
            step: r.i64(5),
            state: r.str(6),
            next_at: r.opt_i64(7),
            answer: r.opt_str(8),
            answered_by: r.opt_str(9),
            answered_at: r.opt_i64(10),
            created_at: r.i64(11),
        })
        .collect())
}
