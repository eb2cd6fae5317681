//! Delivery: claim what is due in the outbox, send each on its channel (at most `PARALLEL` at
//! once), record the outcomes; and the chains whose step timed out moved on.

use std::sync::Arc;

use futures_util::StreamExt;

use super::chains;
use super::model::Channel;
use super::outbox::{self, Claimed, Failure};
use super::settings;
use crate::kernel::error::AppResult;
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
