//! Reach's use cases: check the caller → transaction → audit. And the delivery itself: claim
//! what is due, send it on its channel, record the outcome.

use std::sync::Arc;

use futures_util::StreamExt;

use super::chains::{self, Answered, Tap};
use super::model::{Channel, Quiet};
use super::outbox::{self, Claimed, Delivery, Failure};
use super::settings::{self, Contact, Mine, NewContact, Robot, Settings};
use crate::audit::{Action, NewEntry};
use crate::kernel::AppError;
use crate::kernel::error::AppResult;
use crate::org::{Caller, access};
use crate::state::AppState;

/// What one round of delivery did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

/// How many deliveries go out at once.
const PARALLEL: usize = 16;

fn base_url(state: &AppState) -> String {
    state
        .cfg
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", state.cfg.listen))
        .trim_end_matches('/')
        .to_string()
}

/// Claims up to `limit` deliveries due at `now`, sends them, and records the outcomes.
pub async fn deliver_due(state: &Arc<AppState>, now: i64, limit: i64) -> AppResult<Round> {
    let claimed = state
        .db
        .write(move |c| outbox::claim(c, now, limit))
        .await?;
    if claimed.is_empty() {
        return Ok(Round::default());
    }
    // What each needs that only this process knows: the tap links' signatures, the streets'
    // SMTP servers and SMS templates.
    let keys = state.keys.clone();
    let (taps, streets) = {
        let taps: Vec<i64> = claimed
            .iter()
            .filter_map(|d| d.link.strip_prefix("tap:").and_then(|t| t.parse().ok()))
            .collect();
        let mut streets: Vec<i64> = claimed.iter().map(|d| d.street_id).collect();
        streets.sort_unstable();
        streets.dedup();
        let keys = keys.clone();
        state
            .db
            .read(move |c| {
                let mut t = std::collections::HashMap::new();
                for id in taps {
                    if let Some(tok) = chains::token_of(c, &keys, id)? {
                        t.insert(id, tok);
                    }
                }
                let mut s = std::collections::HashMap::new();
                for st in streets {
                    s.insert(
                        st,
                        (
                            settings::smtp_server(c, &keys, st)?,
                            settings::load(c, st)?.sms,
                        ),
                    );
                }
                Ok((t, s))
            })
            .await?
    };
    let base = base_url(state);
    let n = claimed.len();
    let outcomes: Vec<(i64, i64, Channel, Result<(), Failure>)> =
        futures_util::stream::iter(claimed.into_iter().map(|d| {
            let link = match d.link.strip_prefix("tap:") {
                Some(t) => t
                    .parse::<i64>()
                    .ok()
                    .and_then(|id| taps.get(&id))
                    .map(|tok| format!("{base}/reach/t/{tok}"))
                    .unwrap_or_default(),
                None if d.link.starts_with('/') => format!("{base}{}", d.link),
                None => d.link.clone(),
            };
            let (smtp, sms) = streets.get(&d.street_id).cloned().unwrap_or((None, None));
            let state = state.clone();
            async move {
                let r = match d.channel {
                    Channel::Webpush => send_push(&state, &d, &link, smtp.as_ref()).await,
                    _ => send_one(&state, &d, &link, smtp.as_ref(), sms.as_ref())
                        .await
                        .map_err(Failure::Retry),
                };
                (d.id, d.attempts, d.channel, r)
            }
        }))
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let m = &state.area::<super::Reach>().metrics;
    let mut round = Round {
        claimed: n,
        ..Round::default()
    };
    for (_, attempts, ch, r) in &outcomes {
        match r {
            Ok(()) => {
                round.sent += 1;
                m.sent.with_label_values(&[ch.as_str()]).inc();
            }
            Err(e) => {
                if attempts + 1 >= outbox::MAX_ATTEMPTS || matches!(e, Failure::Gone(_)) {
                    round.failed += 1;
                    m.failed.with_label_values(&[ch.as_str()]).inc();
                } else {
                    round.retried += 1;
                    m.retried.with_label_values(&[ch.as_str()]).inc();
                }
                tracing::warn!(channel = ch.as_str(), error = %e.why(), "a message could not be delivered");
            }
        }
    }
    let rec: Vec<(i64, i64, Result<(), Failure>)> = outcomes
        .into_iter()
        .map(|(id, a, _, r)| (id, a, r))
        .collect();
    let done = crate::store::now_ms().max(now);
    state
        .db
        .write(move |c| outbox::record(c, &rec, done))
        .await?;
    Ok(round)
}

/// One Web Push: the payload encrypted for the browser, the request signed with the VAPID
/// key; 404/410 means the subscription is gone (removed when the outcome is recorded).
async fn send_push(
    state: &AppState,
    d: &Claimed,
    link: &str,
    smtp: Option<&super::smtp::Server>,
) -> Result<(), Failure> {
    let sub: super::push::Subscription = d
        .address
        .as_ref()
        .and_then(|b| state.keys.decrypt(b))
        .and_then(|j| serde_json::from_str(&j).ok())
        .ok_or_else(|| Failure::Gone("the browser unsubscribed".into()))?;
    let vapid = super::devices::vapid(state).map_err(Failure::Retry)?;
    // RFC 8292 §2.1: a contact the push service can reach; the street's sender address, or
    // the deployment's public address.
    let contact = match smtp.filter(|s| !s.from.is_empty()) {
        Some(s) => format!("mailto:{}", s.from),
        None => base_url(state),
    };
    let now = crate::store::now_ms();
    let payload = super::push::Payload::new(
        &d.subject,
        &d.text,
        link,
        d.urgency == super::model::Urgency::Urgent,
        &d.idem,
    );
    let req = super::push::request(vapid, &sub, &payload, &contact, now).map_err(Failure::Retry)?;
    let allow = &state.cfg.webhook_allow;
    let permits = |host: &str, ip: std::net::IpAddr| allow.permits(host, ip);
    let a = super::net::send("POST", &req.url, &req.headers, req.body, &permits)
        .await
        .map_err(Failure::Retry)?;
    match super::push::verdict(a.status, &a.body) {
        super::push::Verdict::Taken => {
            if let Some(id) = d
                .target
                .strip_prefix("push:")
                .and_then(|t| t.parse::<i64>().ok())
            {
                state
                    .db
                    .write(move |c| super::devices::sent(c, id, now))
                    .await
                    .map_err(|e| Failure::Retry(e.to_string()))?;
            }
            Ok(())
        }
        super::push::Verdict::Gone(why) => Err(Failure::Gone(why)),
        super::push::Verdict::Retry(why) => Err(Failure::Retry(why)),
    }
}

async fn send_one(
    state: &AppState,
    d: &Claimed,
    link: &str,
    smtp: Option<&super::smtp::Server>,
    sms: Option<&super::sms::Template>,
) -> Result<(), String> {
    let allow = &state.cfg.webhook_allow;
    let permits = |host: &str, ip: std::net::IpAddr| allow.permits(host, ip);
    let with_link = if link.is_empty() {
        d.text.clone()
    } else {
        format!("{}\n{link}", d.text)
    };
    let address = || {
        d.address
            .as_ref()
            .and_then(|b| state.keys.decrypt(b))
            .ok_or_else(|| "no address on this channel any more".to_string())
    };
    match d.channel {
        Channel::Email => {
            let s = smtp.ok_or("the street has no SMTP server set")?;
            super::smtp::send(s, &address()?, &d.subject, &d.text, link, &d.idem).await
        }
        Channel::Sms => {
            let t = sms.ok_or("the street has no SMS gateway set")?;
            let (url, mut headers, body) = t.render(&address()?, &with_link)?;
            headers.push(("x-linli-idempotency-key".into(), d.idem.clone()));
            let a = super::net::send("POST", &url, &headers, body, &permits).await?;
            t.succeeded(a.status, &a.body)
        }
        ch @ (Channel::Wecom | Channel::Dingtalk | Channel::Feishu) => {
            let (url, secret) = d.robot.clone().ok_or("the robot was removed")?;
            let secret = secret.and_then(|b| state.keys.decrypt(&b));
            let (url, body) = super::robots::request(
                ch,
                &url,
                secret.as_deref(),
                &with_link,
                crate::store::now_ms(),
            );
            let a = super::net::send(
                "POST",
                &url,
                &[
                    ("content-type".into(), "application/json".into()),
                    ("x-linli-idempotency-key".into(), d.idem.clone()),
                ],
                body.to_string().into_bytes(),
                &permits,
            )
            .await?;
            super::robots::accepted(ch, a.status, &a.body)
        }
        Channel::Webpush => Err("Web Push goes by send_push".into()),
    }
}

/// Moves on the chains whose step timed out.
pub async fn sweep_chains(state: &AppState, now: i64) -> AppResult<usize> {
    Ok(state.db.write(move |c| chains::sweep(c, now)).await?)
}

// ---- an account's own settings -----------------------------------------------------------

pub async fn mine(state: &AppState, caller: &Caller) -> AppResult<Mine> {
    let me = caller.user_id;
    Ok(state.db.read(move |c| settings::mine(c, me)).await?)
}

/// What an account sets of her own: an address per channel (empty removes it), quiet hours
/// (both or neither), her language.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = Reach_MineUpdate)]
pub struct MineUpdate {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub sms: Option<String>,
    /// "22:00"; empty for none.
    #[serde(default)]
    pub quiet_from: Option<String>,
    #[serde(default)]
    pub quiet_to: Option<String>,
    /// zh or en
    #[serde(default)]
    pub lang: Option<String>,
}

pub async fn set_mine(state: &AppState, caller: &Caller, u: MineUpdate) -> AppResult<Mine> {
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    let quiet = match (
        u.quiet_from
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty()),
        u.quiet_to
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty()),
    ) {
        (None, None) => None,
        (Some(f), Some(t)) => match (Quiet::parse_hm(f), Quiet::parse_hm(t)) {
            (Some(from), Some(to)) => Some(Quiet { from, to }),
            _ => return Err(AppError::invalid("reach.err.quiet")),
        },
        _ => return Err(AppError::invalid("reach.err.quiet")),
    };
    let lang = u.lang.unwrap_or_else(|| "zh".into());
    if !matches!(lang.as_str(), "zh" | "en") {
        return Err(AppError::invalid("reach.err.lang"));
    }
    // Checked before anything is written: nothing half-saved.
    for (ch, v) in [(Channel::Email, &u.email), (Channel::Sms, &u.sms)] {
        if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            super::model::check_address(ch, v).map_err(AppError::invalid)?;
        }
    }
    let (me, keys, now) = (caller.user_id, state.keys.clone(), crate::store::now_ms());
    state
        .db
        .write(move |c| {
            for (ch, v) in [(Channel::Email, u.email), (Channel::Sms, u.sms)] {
                if let Some(v) = v {
                    let _ = settings::set_address(c, &keys, street, me, ch, Some(&v), now)?;
                }
            }
            settings::set_prefs(c, street, me, quiet, &lang, now)
        })
        .await?;
    mine(state, caller).await
}

// ---- the street's outbox and channels (its administrators) --------------------------------

pub const LIST_LIMIT: i64 = 50;

pub async fn outbox_list(
    state: &AppState,
    caller: &Caller,
    st: Option<String>,
    before: Option<i64>,
) -> AppResult<Vec<Delivery>> {
    let street = access::street_admin(caller)?;
    if let Some(s) = st.as_deref()
        && !matches!(s, "queued" | "sending" | "sent" | "failed")
    {
        return Err(AppError::invalid("reach.err.state"));
    }
    Ok(state
        .db
        .read(move |c| outbox::list(c, street, st.as_deref(), None, before, LIST_LIMIT))
        .await?)
}

/// The messages the caller sent that failed for good (any account sees her own).
pub async fn my_failed(state: &AppState, caller: &Caller) -> AppResult<Vec<Delivery>> {
    let Some(street) = caller.street_id else {
        return Ok(Vec::new());
    };
    let me = caller.user_id;
    Ok(state
        .db
        .read(move |c| outbox::list(c, street, Some("failed"), Some(me), None, LIST_LIMIT))
        .await?)
}

pub async fn counts(state: &AppState, caller: &Caller) -> AppResult<Vec<(String, i64)>> {
    let street = access::street_admin(caller)?;
    Ok(state
        .db
        .read(move |c| outbox::counts(c, Some(street)))
        .await?)
}

pub async fn retry(state: &AppState, caller: &Caller, id: i64) -> AppResult<()> {
    let street = access::street_admin(caller)?;
    let now = crate::store::now_ms();
    if state
        .db
        .write(move |c| outbox::retry(c, street, id, now))
        .await?
    {
        Ok(())
    } else {
        Err(AppError::not_found())
    }
}

pub async fn get_settings(state: &AppState, caller: &Caller) -> AppResult<Settings> {
    let street = access::street_admin(caller)?;
    Ok(state.db.read(move |c| settings::load(c, street)).await?)
}

pub async fn put_settings(state: &AppState, caller: &Caller, s: Settings) -> AppResult<Settings> {
    let street = access::street_admin(caller)?;
    s.check().map_err(AppError::invalid)?;
    if let Some(t) = &s.sms {
        let allow = state.cfg.webhook_allow.clone();
        let url = t.url.replace(['{', '}'], "");
        super::net::check_destination(&url, &|h, ip| allow.permits(h, ip))
            .await
            .map_err(|_| AppError::invalid("reach.err.private"))?;
    }
    let (keys, me, now) = (state.keys.clone(), caller.user_id, crate::store::now_ms());
    state
        .db
        .write(move |c| settings::save(c, &keys, street, &s, me, now))
        .await?;
    let mut e = NewEntry::by(caller, Action::Change).purpose("reach: channels set".to_string());
    e.street_id = Some(street);
    state.audit.record(e).await?;
    get_settings(state, caller).await
}

/// A robot as an administrator adds it.
#[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = Reach_NewRobot)]
pub struct NewRobot {
    /// The place whose group it is (a community, a grid, the street).
    pub place_id: i64,
    pub name: String,
    /// wecom, dingtalk, feishu
    pub kind: Channel,
    pub url: String,
    /// 钉钉's or 飞书's signing secret, if the robot has one.
    #[serde(default)]
    pub secret: Option<String>,
}

pub async fn add_robot(state: &AppState, caller: &Caller, r: NewRobot) -> AppResult<Robot> {
    let street = access::street_admin(caller)?;
    if !Channel::ROBOTS.contains(&r.kind) {
        return Err(AppError::invalid("reach.err.channel"));
    }
    let name = r.name.trim().to_string();
    if name.is_empty()
        || name.chars().count() > 60
        || crate::kernel::text::check_line(&name).is_err()
    {
        return Err(AppError::invalid("reach.err.name"));
    }
    let url = super::robots::check_url(&r.url).map_err(AppError::invalid)?;
    let allow = state.cfg.webhook_allow.clone();
    super::net::check_destination(&url, &|h, ip| allow.permits(h, ip))
        .await
        .map_err(|_| AppError::invalid("reach.err.private"))?;
    let place_id = r.place_id;
    let place = state
        .db
        .read(move |c| crate::org::places::by_id_unscoped(c, place_id))
        .await?
        .filter(|p| p.street_id == Some(street) || p.id == street)
        .ok_or_else(|| AppError::invalid("reach.err.place"))?;
    let (keys, now) = (state.keys.clone(), crate::store::now_ms());
    let id = state
        .db
        .write(move |c| {
            settings::add_robot(
                c,
                &keys,
                street,
                (place.id, &place.path),
                &name,
                r.kind,
                &url,
                r.secret.as_deref(),
                now,
            )
        })
        .await?;
    robots(state, caller)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(AppError::not_found)
}

pub async fn robots(state: &AppState, caller: &Caller) -> AppResult<Vec<Robot>> {
    let street = access::street_admin(caller)?;
    Ok(state.db.read(move |c| settings::robots(c, street)).await?)
}

/// Sets a community's duty worker (the chain's last step).
#[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = Reach_Duty)]
pub struct Duty {
    pub community_id: i64,
    pub user_id: i64,
    /// Minutes before the chain gives up on her (1–240; default 15).
    #[serde(default)]
    pub timeout_min: Option<i64>,
}

pub async fn set_duty(state: &AppState, caller: &Caller, d: Duty) -> AppResult<()> {
    let street = access::street_admin(caller)?;
    let t = d.timeout_min.unwrap_or(15);
    if !(1..=240).contains(&t) {
        return Err(AppError::invalid("reach.err.timeout"));
    }
    let now = crate::store::now_ms();
    state
        .db
        .write_tx(move |c| {
            let ok_place = crate::org::places::by_id_unscoped(c, d.community_id)?
                .is_some_and(|p| p.kind == "community" && p.street_id == Some(street));
            if !ok_place {
                return Ok(Err("reach.err.place"));
            }
            if !crate::org::users::is_active_in(c, street, d.user_id)? {
                return Ok(Err("reach.err.user"));
            }
            settings::set_duty(c, street, d.community_id, d.user_id, t, now)?;
            Ok::<_, crate::store::StoreError>(Ok(()))
        })
        .await?
        .map_err(AppError::invalid)
}

// ---- a cared-for person's contacts --------------------------------------------------------

async fn person_in_scope(state: &AppState, caller: &Caller, person: i64) -> AppResult<i64> {
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    let scope = caller.scope.clone();
    state
        .db
        .read(move |c| crate::registry::persons::get(c, &scope, person))
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(street)
}

pub async fn contacts(state: &AppState, caller: &Caller, person: i64) -> AppResult<Vec<Contact>> {
    let street = person_in_scope(state, caller, person).await?;
    let list = state
        .db
        .read(move |c| settings::contacts(c, person))
        .await?;
    let mut e = NewEntry::by(caller, Action::List)
        .subjects([crate::audit::person(person)])
        .purpose("reach: care contacts listed".to_string());
    e.street_id = Some(street);
    state.audit.record(e).await?;
    Ok(list)
}

pub async fn add_contact(
    state: &AppState,
    caller: &Caller,
    person: i64,
    n: NewContact,
) -> AppResult<Vec<Contact>> {
    let street = person_in_scope(state, caller, person).await?;
    let (keys, me, now) = (state.keys.clone(), caller.user_id, crate::store::now_ms());
    state
        .db
        .write(move |c| settings::add_contact(c, &keys, street, person, &n, me, now))
        .await?
        .map_err(AppError::invalid)?;
    let mut e = NewEntry::by(caller, Action::Change)
        .subjects([crate::audit::person(person)])
        .purpose("reach: care contact recorded with consent".to_string());
    e.street_id = Some(street);
    state.audit.record(e).await?;
    contacts(state, caller, person).await
}

pub async fn remove_contact(
    state: &AppState,
    caller: &Caller,
    person: i64,
    id: i64,
) -> AppResult<()> {
    let street = person_in_scope(state, caller, person).await?;
    if !state
        .db
        .write(move |c| settings::remove_contact(c, person, id))
        .await?
    {
        return Err(AppError::not_found());
    }
    let mut e = NewEntry::by(caller, Action::Change)
        .subjects([crate::audit::person(person)])
        .purpose("reach: care contact removed".to_string());
    e.street_id = Some(street);
    state.audit.record(e).await?;
    Ok(())
}

pub async fn chains_list(
    state: &AppState,
    caller: &Caller,
    alert: Option<i64>,
) -> AppResult<Vec<chains::Chain>> {
    let street = access::street_admin(caller)?;
    Ok(state
        .db
        .read(move |c| chains::list(c, street, alert, LIST_LIMIT))
        .await?)
}

// ---- one-tap links (no sign-in: the link is the authority) --------------------------------

pub async fn look(state: &AppState, token: String) -> AppResult<Tap> {
    let (keys, now) = (state.keys.clone(), crate::store::now_ms());
    Ok(state
        .db
        .read(move |c| chains::look(c, &keys, &token, now))
        .await?)
}

pub async fn answer(
    state: &AppState,
    token: String,
    answer: String,
) -> AppResult<Result<Answered, Tap>> {
    answer_at(state, token, answer, crate::store::now_ms()).await
}

pub async fn answer_at(
    state: &AppState,
    token: String,
    answer: String,
    now: i64,
) -> AppResult<Result<Answered, Tap>> {
    let keys = state.keys.clone();
    let mut r = state
        .db
        .write(move |c| chains::answer(c, &keys, &token, &answer, now))
        .await?;
    if let Ok(a) = &mut r {
        super::hooks::committed(state, std::mem::take(&mut a.effects));
    }
    Ok(r)
}
