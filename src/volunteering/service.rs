//! Activities (志愿活动): a worker organises one at a place of her community — when, how many
//! people, the skills wanted, how many points an hour of service earns. Volunteers (and the
//! community's residents, where the street allows) sign up; past the capacity they wait in
//! line and move up, in order, when someone cancels. The organiser checks each person in and
//! out, or the person does it herself with the code shown at the place; checking out earns
//! hours × rate points in the same transaction.

use rand::Rng;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::{self, community_of, may_join, organiser, participant};
use super::ledger::{self, Txn};
use super::store::{self, Activity, NewActivity, Signup};
use crate::audit::{self, Action, NewEntry};
use crate::kernel::StatusCode;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::kernel::i18n::both;
use crate::kernel::time::{local_time, now_ms};
use crate::org::{Caller, Scope};
use crate::state::AppState;

pub const PLACE_KINDS: [&str; 3] = ["community", "grid", "building"];
pub const MAX_TITLE: usize = 40;
pub const MAX_CAPACITY: i64 = 500;
pub const MAX_RATE: i64 = 100;
pub const MAX_HOURS: i64 = 24;
/// Wrong codes a person may type before she must ask the organiser.
pub const MAX_CODE_FAILS: i64 = 5;
/// How early before the start one may check in.
pub const EARLY_MS: i64 = 60 * 60 * 1000;
pub const LIST_LIMIT: i64 = 100;

pub(super) fn conflict(key: &str) -> AppError {
    AppError::new(StatusCode::CONFLICT, Code::StateConflict, key)
}

pub(super) fn line(s: &str, max: usize, empty: &str, long: &str) -> AppResult<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(AppError::invalid(empty));
    }
    if s.chars().count() > max {
        return Err(AppError::invalid(long));
    }
    crate::kernel::text::check_line(s).map_err(AppError::invalid)?;
    Ok(s.to_string())
}

pub(super) fn purpose(what: &str, id: i64) -> String {
    both(&format!("volunteering.purpose.{what}"), &[("id", &id)])
}

pub(super) async fn record(
    state: &AppState,
    caller: &Caller,
    action: Action,
    street: i64,
    subjects: Vec<String>,
    why: String,
) -> AppResult<()> {
    let mut a = NewEntry::by(caller, action).subjects(subjects).purpose(why);
    a.street_id = Some(street);
    state.audit.record(a).await?;
    Ok(())
}

/// An activity as typed.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(as = VolunteeringActivityRequest)]
pub struct Typed {
    pub title: String,
    /// In the street's time: `2026-12-05 09:00`.
    pub starts_at: String,
    pub ends_at: String,
    /// A community, grid or building within the organiser's places.
    pub place_id: i64,
    pub capacity: i64,
    /// Skill codes (call-ups' list); none for any.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Points per hour of service.
    pub rate: i64,
}

/// Creates an activity at a place of the organiser's, with its check-in code.
pub async fn create(state: &AppState, caller: &Caller, t: Typed) -> AppResult<Activity> {
    let paths = organiser(caller)?;
    let title = line(
        &t.title,
        MAX_TITLE,
        "volunteering.err_title",
        "volunteering.err_title_long",
    )?;
    let starts_at = crate::callups::service::parse_when(&t.starts_at)
        .map_err(|_| AppError::invalid("volunteering.err_when"))?;
    let ends_at = crate::callups::service::parse_when(&t.ends_at)
        .map_err(|_| AppError::invalid("volunteering.err_when"))?;
    let now = now_ms();
    if starts_at < now - EARLY_MS {
        return Err(AppError::invalid("volunteering.err_when_past"));
    }
    if ends_at <= starts_at || ends_at - starts_at > MAX_HOURS * 3_600_000 {
        return Err(AppError::invalid("volunteering.err_ends"));
    }
    if !(1..=MAX_CAPACITY).contains(&t.capacity) {
        return Err(AppError::invalid("volunteering.err_capacity"));
    }
    if !(1..=MAX_RATE).contains(&t.rate) {
        return Err(AppError::invalid("volunteering.err_rate"));
    }
    let mut skills: Vec<String> = Vec::new();
    for s in &t.skills {
        let s = s.trim();
        if !crate::callups::volunteers::SKILLS.contains(&s) {
            return Err(AppError::invalid("volunteering.err_skill"));
        }
        if !skills.iter().any(|x| x == s) {
            skills.push(s.to_string());
        }
    }
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    let me = caller.user_id;
    let name = caller.display_name.clone();
    let (id, street) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, i64)> {
            let place = crate::org::places::get(c, &paths, t.place_id)?
                .filter(|p| PLACE_KINDS.contains(&p.kind.as_str()))
                .ok_or_else(|| AppError::invalid("volunteering.err_place"))?;
            let street = place
                .street_id
                .ok_or_else(|| AppError::invalid("volunteering.err_place"))?;
            let community = community_of(c, place.id)?
                .ok_or_else(|| AppError::invalid("volunteering.err_place"))?;
            let id = store::insert_activity(
                c,
                &NewActivity {
                    street_id: street,
                    community_id: community.id,
                    community_path: &community.path,
                    place_id: place.id,
                    place_path: &place.path,
                    title: &title,
                    starts_at,
                    ends_at,
                    capacity: t.capacity,
                    skills: &skills,
                    rate: t.rate,
                    code: &code,
                    created_by: me,
                    created_by_name: &name,
                },
                now,
            )?;
            Ok((id, street))
        })
        .await?;
    record(
        state,
        caller,
        Action::Change,
        street,
        Vec::new(),
        purpose("created", id),
    )
    .await?;
    state
        .db
        .read(move |c| store::activity_by_id(c, id))
        .await?
        .ok_or_else(AppError::not_found)
}

/// An activity in a list.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringActivityItem)]
pub struct Item {
    pub activity: Activity,
    /// Where, by name.
    pub place: String,
    pub booked: i64,
    pub waiting: i64,
    /// The caller's own sign-up (a participant).
    pub mine: Option<Signup>,
}

fn items(
    c: &mut dyn crate::store::Conn,
    list: Vec<Activity>,
    me: i64,
) -> crate::store::Result<Vec<Item>> {
    let mut out = Vec::new();
    for a in list {
        let (booked, waiting) = store::counts(c, a.id)?;
        out.push(Item {
            place: crate::org::places::by_id_unscoped(c, a.place_id)?
                .map(|p| p.name)
                .unwrap_or_default(),
            booked,
            waiting,
            mine: store::signup_of(c, a.id, me)?.filter(|s| s.state != "cancelled"),
            activity: a,
        });
    }
    Ok(out)
}

const WEEK_MS: i64 = 7 * 24 * 3_600_000;

/// Hours of service this year at the organiser's places, by the volunteers' affiliation.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringAffiliationHours)]
pub struct AffiliationHours {
    pub affiliation: crate::callups::volunteers::Affiliation,
    /// People who served.
    pub people: i64,
    pub minutes: i64,
}

/// How many people of each affiliation served at the organiser's places since the first of
/// January, and for how long (residents who are not volunteers count as residents).
pub async fn hours_by_affiliation(
    state: &AppState,
    caller: &Caller,
) -> AppResult<Vec<AffiliationHours>> {
    use crate::callups::volunteers::{self as v, Affiliation};
    use chrono::Datelike;
    let paths = organiser(caller)?;
    let street = caller.street_id.unwrap_or_default();
    let today = crate::kernel::time::today();
    let from = crate::kernel::time::local_ms(today.year(), 1, 1, 0, 0);
    let to = now_ms() + 1;
    Ok(state
        .db
        .read(move |c| {
            let mut of = std::collections::HashMap::new();
            for s in v::streets_of(c, street)? {
                of.extend(v::affiliations(c, s)?);
            }
            let mut out: Vec<AffiliationHours> = Affiliation::ALL
                .iter()
                .map(|a| AffiliationHours {
                    affiliation: *a,
                    people: 0,
                    minutes: 0,
                })
                .collect();
            for (user, minutes) in store::minutes_by_user(c, &paths, from, to)? {
                let a = of.get(&user).copied().unwrap_or_default();
                if let Some(h) = out.iter_mut().find(|h| h.affiliation == a) {
                    h.people += 1;
                    h.minutes += minutes;
                }
            }
            Ok(out)
        })
        .await?)
}

/// The activities of the organiser's places, or those the caller may join (from a week
/// ago on).
pub async fn list(state: &AppState, caller: &Caller) -> AppResult<Vec<Item>> {
    let me = caller.user_id;
    let since = now_ms() - WEEK_MS;
    if let Ok(paths) = organiser(caller) {
        return Ok(state
            .db
            .read(move |c| {
                let list = store::activities_under(c, "place_path", &paths, since, LIST_LIMIT)?;
                items(c, list, me)
            })
            .await?);
    }
    let street = participant(caller)?;
    let who = caller.clone();
    Ok(state
        .db
        .read(move |c| {
            let s = store::settings(c, street)?;
            let top = access::street_path(c, street)?;
            let list: Vec<Activity> =
                store::activities_under(c, "community_path", &[top], since, LIST_LIMIT)?
                    .into_iter()
                    .filter(|a| a.state == "open" && may_join(&who, &a.community_path, &s))
                    .collect();
            items(c, list, me)
        })
        .await?)
}

/// A participant's coming activities (her home card).
pub async fn upcoming(state: &AppState, caller: &Caller) -> AppResult<Vec<Item>> {
    participant(caller)?;
    let me = caller.user_id;
    let now = now_ms();
    Ok(state
        .db
        .read(move |c| {
            let mut list = Vec::new();
            for s in store::signups_of_user(c, me, 20)? {
                if let Some(a) = store::activity_by_id(c, s.activity_id)?
                    && a.ends_at >= now
                    && a.state == "open"
                {
                    list.push(a);
                }
            }
            list.sort_by_key(|a| a.starts_at);
            items(c, list, me)
        })
        .await?)
}

/// A sign-up as the organiser sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringSignupView)]
pub struct SignupView {
    pub signup: Signup,
    pub name: String,
}

/// An activity's page.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringActivityDetail)]
pub struct Detail {
    pub item: Item,
    /// Whether the caller organises it.
    pub organiser: bool,
    /// The code shown at the place (its organisers only).
    pub code: Option<String>,
    /// Who signed up, in order (its organisers only).
    pub signups: Vec<SignupView>,
}

enum Seat {
    Organiser,
    Participant,
}

/// The activity and the caller's seat at it: 403 for roles that neither organise nor take
/// part; 404 for an activity outside her places or her community.
async fn seat(state: &AppState, caller: &Caller, id: i64) -> AppResult<(Activity, Seat)> {
    let org = organiser(caller).ok();
    if org.is_none() && !access::participates(caller) {
        return Err(AppError::forbidden());
    }
    let (a, s) = state
        .db
        .read(move |c| {
            let a = store::activity_by_id(c, id)?;
            let s = match &a {
                Some(a) => Some(store::settings(c, a.street_id)?),
                None => None,
            };
            Ok((a, s))
        })
        .await?;
    let (a, s) = a.zip(s).ok_or_else(AppError::not_found)?;
    if org
        .as_ref()
        .is_some_and(|p| Scope::covers(p, &a.place_path))
    {
        Ok((a, Seat::Organiser))
    } else if caller.street_id == Some(a.street_id) && may_join(caller, &a.community_path, &s) {
        Ok((a, Seat::Participant))
    } else {
        Err(AppError::not_found())
    }
}

/// An activity: to its organiser with the code and who signed up (audited with them), to a
/// participant with her own sign-up.
pub async fn detail(state: &AppState, caller: &Caller, id: i64) -> AppResult<Detail> {
    let (a, seat) = seat(state, caller, id).await?;
    let organises = matches!(seat, Seat::Organiser);
    let me = caller.user_id;
    let street = a.street_id;
    let (d, subjects) = state
        .db
        .read(move |c| {
            let mut signups = Vec::new();
            let mut subjects = Vec::new();
            let code = organises.then(|| a.code.clone());
            if organises {
                let list: Vec<Signup> = store::signups(c, id)?
                    .into_iter()
                    .filter(|s| s.state != "cancelled")
                    .collect();
                let names = crate::org::users::display_names(c, list.iter().map(|s| s.user_id))?;
                for s in list {
                    subjects.push(audit::user(s.user_id));
                    signups.push(SignupView {
                        name: names.get(&s.user_id).cloned().unwrap_or_default(),
                        signup: s,
                    });
                }
            }
            let item = items(c, vec![a], me)?.remove(0);
            Ok((
                Detail {
                    item,
                    organiser: organises,
                    code,
                    signups,
                },
                subjects,
            ))
        })
        .await?;
    if !subjects.is_empty() {
        record(
            state,
            caller,
            Action::List,
            street,
            subjects,
            purpose("signups", id),
        )
        .await?;
    }
    Ok(d)
}

/// Signs the caller up: booked while there is room, else on the waiting list (as long as the
/// capacity again); refused twice, when both are full, or after the activity.
pub async fn sign_up(state: &AppState, caller: &Caller, id: i64) -> AppResult<Signup> {
    let (a, seat) = seat(state, caller, id).await?;
    if !matches!(seat, Seat::Participant) {
        // An organiser who is also a volunteer signs up like anyone where she may join.
        let s = state
            .db
            .read(move |c| store::settings(c, a.street_id))
            .await?;
        if !(caller.street_id == Some(a.street_id) && may_join(caller, &a.community_path, &s)) {
            return Err(AppError::forbidden());
        }
    }
    let me = caller.user_id;
    let now = now_ms();
    let s = state
        .db
        .write_tx(move |c| -> AppResult<Signup> {
            store::lock_activity(c, id)?;
            let a = store::activity_by_id(c, id)?.ok_or_else(AppError::not_found)?;
            if a.state != "open" {
                return Err(conflict("volunteering.err_cancelled"));
            }
            if a.ends_at < now {
                return Err(conflict("volunteering.err_over"));
            }
            if store::signup_of(c, id, me)?.is_some_and(|s| s.state != "cancelled") {
                return Err(conflict("volunteering.err_twice"));
            }
            let (booked, waiting) = store::counts(c, id)?;
            let st = if booked < a.capacity {
                "booked"
            } else if waiting < a.capacity {
                "waiting"
            } else {
                return Err(conflict("volunteering.err_full"));
            };
            let sid = store::sign_up(c, id, a.street_id, me, st, now)?;
            store::signup_by_id(c, sid)?.ok_or_else(AppError::not_found)
        })
        .await?;
    record(
        state,
        caller,
        Action::Change,
        a.street_id,
        vec![audit::user(me)],
        purpose("signed_up", id),
    )
    .await?;
    Ok(s)
}

/// Cancels the caller's sign-up before she checks in; the first in line moves up (and is
/// told).
pub async fn cancel(state: &AppState, caller: &Caller, id: i64) -> AppResult<()> {
    let (a, _) = seat(state, caller, id).await?;
    let me = caller.user_id;
    let title = a.title.clone();
    let starts = a.starts_at;
    let moved = state
        .db
        .write_tx(move |c| -> AppResult<Option<i64>> {
            store::lock_activity(c, id)?;
            let s = store::signup_of(c, id, me)?
                .filter(|s| s.state != "cancelled")
                .ok_or_else(|| conflict("volunteering.err_not_signed"))?;
            if s.checked_in_at.is_some() {
                return Err(conflict("volunteering.err_cancel_in"));
            }
            store::set_state(c, s.id, "cancelled")?;
            if s.state != "booked" {
                return Ok(None);
            }
            let Some(next) = store::first_waiting(c, id)? else {
                return Ok(None);
            };
            store::set_state(c, next.id, "booked")?;
            crate::reach::tell(
                c,
                &crate::reach::Message {
                    street_id: a.street_id,
                    to: crate::reach::Recipient::User(next.user_id),
                    urgency: crate::reach::Urgency::Normal,
                    body: crate::reach::Body::Key {
                        key: "volunteering.msg_moved_up",
                        args: vec![("title", title.clone()), ("when", local_time(starts))],
                    },
                    link: Some(format!("/volunteering/{id}")),
                    idem: format!("vol:{id}:booked:{}:{}", next.user_id, next.signed_at),
                    source: format!("vol:{id}"),
                    sender: None,
                },
            )?;
            Ok(Some(next.user_id))
        })
        .await?;
    let mut subjects = vec![audit::user(me)];
    subjects.extend(moved.map(audit::user));
    record(
        state,
        caller,
        Action::Change,
        a.street_id,
        subjects,
        purpose("cancelled", id),
    )
    .await
}

/// Minutes served between check-in and check-out, no more than the activity lasts.
pub fn minutes(a: &Activity, checked_in: i64, now: i64) -> i64 {
    ((now - checked_in) / 60_000).clamp(0, (a.ends_at - a.starts_at) / 60_000)
}

/// Points for minutes served at an hourly rate (whole points, rounded down).
pub fn points(minutes: i64, rate: i64) -> i64 {
    minutes * rate / 60
}

/// Checks a sign-up in (`out` false) or out, inside the caller's transaction; checking out
/// earns the points in the same transaction.
fn step(
    c: &mut dyn crate::store::Conn,
    a: &Activity,
    s: &Signup,
    out: bool,
    by: i64,
    now: i64,
) -> AppResult<()> {
    if !out {
        if s.state != "booked" {
            return Err(conflict("volunteering.err_not_booked"));
        }
        if s.checked_in_at.is_some() {
            return Err(conflict("volunteering.err_in_twice"));
        }
        if now < a.starts_at - EARLY_MS {
            return Err(conflict("volunteering.err_too_early"));
        }
        if !store::check_in(c, s.id, now)? {
            return Err(conflict("volunteering.err_in_twice"));
        }
        return Ok(());
    }
    let Some(inn) = s.checked_in_at else {
        return Err(conflict("volunteering.err_out_before_in"));
    };
    if s.checked_out_at.is_some() {
        return Err(conflict("volunteering.err_out_twice"));
    }
    let m = minutes(a, inn, now);
    let p = points(m, a.rate);
    let txn = if p > 0 {
        let issuing = ledger::account(
            c,
            a.street_id,
            "issuing",
            a.community_id,
            &a.community_path,
            now,
        )?;
        let person = ledger::account(c, a.street_id, "person", s.user_id, &a.community_path, now)?;
        let reason = format!("{} #{}", a.title, a.id);
        Some(ledger::earn(
            c,
            &Txn {
                street_id: a.street_id,
                kind: "earn",
                community_path: &a.community_path,
                reverses: None,
                reason: &reason,
                by,
            },
            issuing,
            person,
            p,
            now,
        )?)
    } else {
        None
    };
    if !store::check_out(c, s.id, now, m, p, txn)? {
        return Err(conflict("volunteering.err_out_twice"));
    }
    Ok(())
}

/// The organiser checks a sign-up in or out.
pub async fn confirm_step(
    state: &AppState,
    caller: &Caller,
    id: i64,
    signup_id: i64,
    out: bool,
) -> AppResult<Signup> {
    let (a, seat) = seat(state, caller, id).await?;
    if !matches!(seat, Seat::Organiser) {
        return Err(AppError::forbidden());
    }
    let me = caller.user_id;
    let now = now_ms();
    let act = a.clone();
    let s = state
        .db
        .write_tx(move |c| -> AppResult<Signup> {
            let s = store::signup_by_id(c, signup_id)?
                .filter(|s| s.activity_id == id && s.state != "cancelled")
                .ok_or_else(AppError::not_found)?;
            step(c, &act, &s, out, me, now)?;
            store::signup_by_id(c, signup_id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    record(
        state,
        caller,
        Action::Change,
        a.street_id,
        vec![audit::user(s.user_id)],
        purpose(if out { "checked_out" } else { "checked_in" }, id),
    )
    .await?;
    Ok(s)
}

enum Typed6 {
    Done(Signup, bool),
    Wrong,
}

/// The participant types the code shown at the place: checks her in, or out when she is in.
pub async fn by_code(state: &AppState, caller: &Caller, id: i64, code: &str) -> AppResult<Signup> {
    let (a, _) = seat(state, caller, id).await?;
    let code = code.trim().to_string();
    if code.is_empty() || code.len() > 12 {
        return Err(AppError::invalid("volunteering.err_code"));
    }
    let me = caller.user_id;
    let now = now_ms();
    let act = a.clone();
    let r = state
        .db
        .write_tx(move |c| -> AppResult<Typed6> {
            let s = store::signup_of(c, id, me)?
                .filter(|s| s.state != "cancelled")
                .ok_or_else(|| conflict("volunteering.err_not_signed"))?;
            if s.code_fails >= MAX_CODE_FAILS {
                return Err(conflict("volunteering.err_code_locked"));
            }
            if !subtle_eq(code.as_bytes(), act.code.as_bytes()) {
                store::code_failed(c, s.id)?;
                return Ok(Typed6::Wrong);
            }
            let out = s.checked_in_at.is_some();
            step(c, &act, &s, out, me, now)?;
            Ok(Typed6::Done(
                store::signup_by_id(c, s.id)?.ok_or_else(AppError::not_found)?,
                out,
            ))
        })
        .await?;
    match r {
        Typed6::Wrong => Err(AppError::invalid("volunteering.err_code")),
        Typed6::Done(s, out) => {
            record(
                state,
                caller,
                Action::Change,
                a.street_id,
                vec![audit::user(me)],
                purpose(if out { "checked_out" } else { "checked_in" }, id),
            )
            .await?;
            Ok(s)
        }
    }
}

/// Compares two codes in time independent of where they differ.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The places an activity may be held at: the communities, grids and buildings of the
/// organiser's places, as `(id, kind, name)`.
pub async fn places(state: &AppState, caller: &Caller) -> AppResult<Vec<(i64, String, String)>> {
    crate::callups::service::places(state, caller).await
}
