//! Reach's use cases: check the caller → transaction → audit. Delivery itself is
//! `delivery.rs`'s.

use super::chains::{self, Answered, Tap};
use super::model::{Channel, Quiet};
use super::outbox::{self, Delivery};
use super::settings::{self, Contact, Mine, NewContact, Robot, Settings};
use crate::audit::{Action, NewEntry};
use crate::kernel::AppError;
use crate::kernel::error::AppResult;
use crate::org::{Caller, access};
use crate::state::AppState;

pub use super::delivery::{Round, deliver_due, sweep_chains};

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
