//! The street administrator's channels, beyond setting them: the duty roster read back with
//! the workers each community's duty may go to, a robot taken out of use, and a test message
//! sent at once on a channel (SMTP, the SMS gateway, a robot), so that a typo in a server's
//! name shows on the settings page and not at 3 a.m. in the outbox.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::Channel;
use super::settings;
use crate::audit::{Action, NewEntry};
use crate::kernel::AppError;
use crate::kernel::error::AppResult;
use crate::kernel::i18n::Tr;
use crate::org::{Caller, Role, access};
use crate::state::AppState;

/// An account a community's duty may go to.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Reach_Worker)]
pub struct Worker {
    pub user_id: i64,
    pub name: String,
}

/// A community's duty worker (值班), the care chain's last step.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Reach_DutyRow)]
pub struct DutyRow {
    pub community_id: i64,
    pub community: String,
    /// None: no duty worker set (the chain ends with the grid worker).
    pub user_id: Option<i64>,
    pub user_name: Option<String>,
    pub timeout_min: Option<i64>,
    /// Community and grid workers of the community, and the street's administrators.
    pub workers: Vec<Worker>,
}

/// The street's communities with their duty workers.
pub async fn duty_roster(state: &AppState, caller: &Caller) -> AppResult<Vec<DutyRow>> {
    let street = access::street_admin(caller)?;
    Ok(state
        .db
        .read(move |c| {
            let communities: Vec<_> = crate::org::places::children_full(c, street)?
                .into_iter()
                .filter(|p| p.kind == "community")
                .collect();
            let grants = crate::org::users::place_grants_for_street(c, street)?;
            let duty = settings::duty_of_street(c, street)?;
            let mut ids: Vec<i64> = grants.iter().map(|g| g.user_id).collect();
            ids.extend(duty.iter().map(|d| d.1));
            let names = crate::org::users::display_names(c, ids)?;
            let mut out = Vec::with_capacity(communities.len());
            for p in communities {
                let mut workers: Vec<Worker> = grants
                    .iter()
                    .filter(|g| {
                        (g.role == Role::StreetAdmin.as_str()
                            && crate::org::Scope::covers(std::slice::from_ref(&g.path), &p.path))
                            || ((g.role == Role::CommunityWorker.as_str()
                                || g.role == Role::GridWorker.as_str())
                                && crate::org::Scope::covers(
                                    std::slice::from_ref(&p.path),
                                    &g.path,
                                ))
                    })
                    .map(|g| Worker {
                        user_id: g.user_id,
                        name: names.get(&g.user_id).cloned().unwrap_or_default(),
                    })
                    .collect();
                workers.sort_by_key(|w| w.user_id);
                workers.dedup_by_key(|w| w.user_id);
                let d = duty.iter().find(|d| d.0 == p.id);
                out.push(DutyRow {
                    community_id: p.id,
                    community: p.name,
                    user_id: d.map(|d| d.1),
                    user_name: d.and_then(|d| names.get(&d.1).cloned()),
                    timeout_min: d.map(|d| d.2),
                    workers,
                });
            }
            Ok(out)
        })
        .await?)
}

/// Takes a robot out of use: nothing more goes to it; the outbox still names it.
pub async fn remove_robot(state: &AppState, caller: &Caller, id: i64) -> AppResult<()> {
    let street = access::street_admin(caller)?;
    if !state
        .db
        .write(move |c| settings::deactivate_robot(c, street, id))
        .await?
    {
        return Err(AppError::not_found());
    }
    let mut e =
        NewEntry::by(caller, Action::Change).purpose(format!("reach: group robot {id} removed"));
    e.street_id = Some(street);
    state.audit.record(e).await?;
    Ok(())
}

/// A test message on one of the street's channels, to an address the administrator types.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(as = Reach_ChannelTest)]
pub struct ChannelTest {
    /// email or sms
    pub channel: Channel,
    /// An e-mail address or a mobile number.
    pub to: String,
}

/// What a test's server answered: taken, or its refusal as it gave it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Reach_TestResult)]
pub struct TestResult {
    pub sent: bool,
    /// The server's refusal, or what was missing.
    pub error: Option<String>,
}

fn test_words() -> (String, String) {
    let t = Tr(crate::kernel::ctx().lang);
    (
        t.s("reach.msg.test_subject").to_string(),
        t.s("reach.msg.test").to_string(),
    )
}

/// Sends a test message now with the street's saved SMTP server or SMS gateway.
pub async fn test_channel(
    state: &AppState,
    caller: &Caller,
    t: ChannelTest,
) -> AppResult<TestResult> {
    let street = access::street_admin(caller)?;
    let to = super::model::check_address(t.channel, &t.to).map_err(AppError::invalid)?;
    let keys = state.keys.clone();
    let (smtp, sms) = state
        .db
        .read(move |c| {
            Ok((
                settings::smtp_server(c, &keys, street)?,
                settings::load(c, street)?.sms,
            ))
        })
        .await?;
    let (subject, text) = test_words();
    let idem = format!("test-{}-{}", caller.user_id, crate::store::now_ms());
    let t_ = Tr(crate::kernel::ctx().lang);
    let outcome = match t.channel {
        Channel::Email => match smtp {
            Some(s) => super::smtp::send(&s, &to, &subject, &text, "", &idem).await,
            None => Err(t_.s("reach.test_no_smtp").to_string()),
        },
        _ => match sms {
            Some(tpl) => {
                let allow = &state.cfg.webhook_allow;
                let permits = |h: &str, ip: std::net::IpAddr| allow.permits(h, ip);
                async {
                    let (url, mut headers, body) = tpl.render(&to, &text)?;
                    headers.push(("x-linli-idempotency-key".into(), idem.clone()));
                    let a = super::net::send("POST", &url, &headers, body, &permits).await?;
                    tpl.succeeded(a.status, &a.body)
                }
                .await
            }
            None => Err(t_.s("reach.test_no_sms").to_string()),
        },
    };
    Ok(TestResult {
        sent: outcome.is_ok(),
        error: outcome.err(),
    })
}

/// Sends a test message to a robot now.
pub async fn test_robot(state: &AppState, caller: &Caller, id: i64) -> AppResult<TestResult> {
    let street = access::street_admin(caller)?;
    let keys = state.keys.clone();
    let robot = state
        .db
        .read(move |c| settings::robot_target(c, street, id))
        .await?
        .ok_or_else(AppError::not_found)?;
    let (kind, url, secret) = robot;
    let secret = secret.and_then(|b| keys.decrypt(&b));
    let (_, text) = test_words();
    let (url, body) =
        super::robots::request(kind, &url, secret.as_deref(), &text, crate::store::now_ms());
    let allow = &state.cfg.webhook_allow;
    let permits = |h: &str, ip: std::net::IpAddr| allow.permits(h, ip);
    let outcome = async {
        let a = super::net::send(
            "POST",
            &url,
            &[("content-type".into(), "application/json".into())],
            body.to_string().into_bytes(),
            &permits,
        )
        .await?;
        super::robots::accepted(kind, a.status, &a.body)
    }
    .await;
    Ok(TestResult {
        sent: outcome.is_ok(),
        error: outcome.err(),
    })
}
