//! The call-ups area's use cases (召集, issue 23 part 5). A community or grid worker or a
//! street administrator sends a call within her places: what is needed, when and where, the
//! skills wanted (any of), how many people, to the volunteers of a community, a grid or a
//! building, with an urgency. Its recipients — the volunteers reached there with one of the
//! skills (all of them when none is named) — are frozen when it is sent, each told in linli
//! and through reach. Each answers coming or not available, and may change her mind until the
//! call is closed (filled or cancelled, with a reason). The organiser sees the counts and who
//! is coming; a volunteer's phone is shown only through a reveal with a purpose, audited.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use super::reading::{
    Answered, Counts, Detail, Item, detail, list, open_count, places, waiting,
};
use super::reading::{Seat, seat};
use super::store::{self, Call, NewCall};
use super::volunteers::{self, SKILLS, organiser};
use crate::audit::{self, Action, NewEntry};
use crate::kernel::StatusCode;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::kernel::i18n::both;
use crate::kernel::time::{local_time, now_ms};
use crate::org::{Caller, Role};
use crate::state::AppState;

pub const URGENCIES: [&str; 2] = ["normal", "urgent"];
pub const AUDIENCE_KINDS: [&str; 3] = ["community", "grid", "building"];
pub const ANSWERS: [&str; 2] = ["coming", "not_available"];
pub const OUTCOMES: [&str; 2] = ["filled", "cancelled"];
pub const MAX_TITLE: usize = 40;
pub const MAX_NEEDS: usize = 500;
pub const MAX_NOTE: usize = 200;
pub const MAX_WANTED: i64 = 500;
pub const LIST_LIMIT: i64 = 50;

fn conflict(key: &str) -> AppError {
    AppError::new(StatusCode::CONFLICT, Code::StateConflict, key)
}

fn line(s: &str, max: usize, empty: &str, long: &str) -> AppResult<String> {
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

fn note(s: &str) -> AppResult<String> {
    let s = s.trim();
    if s.chars().count() > MAX_NOTE {
        return Err(AppError::invalid("callups.err_note_long"));
    }
    if !s.is_empty() {
        crate::kernel::text::check_line(s).map_err(AppError::invalid)?;
    }
    Ok(s.to_string())
}

/// A local date and time as typed (`2026-12-05 09:00` or `2026-12-05T09:00`), in the
/// street's zone.
pub fn parse_when(s: &str) -> AppResult<i64> {
    use chrono::TimeZone;
    let s = s.trim().replace('T', " ");
    let t = chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S"))
        .map_err(|_| AppError::invalid("callups.err_when"))?;
    crate::kernel::time::zone()
        .from_local_datetime(&t)
        .earliest()
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| AppError::invalid("callups.err_when"))
}

pub(super) fn purpose(what: &str, id: i64) -> String {
    both(&format!("callups.purpose.{what}"), &[("id", &id)])
}

/// A call as typed.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(as = CallupRequest)]
pub struct Typed {
    pub title: String,
    /// What is needed.
    pub needs: String,
    /// When, in the street's time: `2026-12-05 09:00`.
    pub starts_at: String,
    /// Where: a place within the organiser's places.
    pub place_id: i64,
    /// Where exactly (东门集合).
    #[serde(default)]
    pub where_note: String,
    /// To the volunteers of this community, grid or building.
    pub audience_id: i64,
    /// Skill codes wanted (any of); none for every volunteer there.
    #[serde(default)]
    pub skills: Vec<String>,
    /// How many people are needed.
    pub wanted: i64,
    /// `normal` or `urgent` (urgent is sent in quiet hours too).
    #[serde(default = "normal")]
    pub urgency: String,
    /// Only the volunteers who said they are free in the weekly slot of `starts_at`
    /// (its weekday, morning/afternoon/evening).
    #[serde(default)]
    pub only_available: bool,
}

fn normal() -> String {
    "normal".to_string()
}

/// Sends a call: its recipients frozen now, each told in linli and through reach.
pub async fn create(state: &AppState, caller: &Caller, t: Typed) -> AppResult<Call> {
    let paths = organiser(caller)?;
    let title = line(
        &t.title,
        MAX_TITLE,
        "callups.err_title",
        "callups.err_title_long",
    )?;
    let needs = t.needs.trim().to_string();
    if needs.is_empty() {
        return Err(AppError::invalid("callups.err_needs"));
    }
    if needs.chars().count() > MAX_NEEDS {
        return Err(AppError::invalid("callups.err_needs_long"));
    }
    crate::kernel::text::check_note(&needs).map_err(AppError::invalid)?;
    let starts_at = parse_when(&t.starts_at)?;
    let now = now_ms();
    if starts_at < now - 60 * 60 * 1000 {
        return Err(AppError::invalid("callups.err_when_past"));
    }
    let where_note = note(&t.where_note)?;
    let mut skills: Vec<String> = Vec::new();
    for s in &t.skills {
        let s = s.trim();
        if !SKILLS.contains(&s) {
            return Err(AppError::invalid("callups.err_skill"));
        }
        if !skills.iter().any(|x| x == s) {
            skills.push(s.to_string());
        }
    }
    if !(1..=MAX_WANTED).contains(&t.wanted) {
        return Err(AppError::invalid("callups.err_wanted"));
    }
    let urgency = URGENCIES
        .iter()
        .find(|u| **u == t.urgency.trim())
        .copied()
        .ok_or_else(|| AppError::invalid("callups.err_urgency"))?;
    let slot = t.only_available.then(|| volunteers::slot_at(starts_at));
    let me = caller.user_id;
    let my_name = caller.display_name.clone();
    let (id, street, recipients) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, i64, Vec<i64>)> {
            let audience = crate::org::places::get(c, &paths, t.audience_id)?
                .filter(|p| AUDIENCE_KINDS.contains(&p.kind.as_str()))
                .ok_or_else(|| AppError::invalid("callups.err_audience"))?;
            let street = audience
                .street_id
                .ok_or_else(|| AppError::invalid("callups.err_audience"))?;
            let place = crate::org::places::get(c, &paths, t.place_id)?
                .filter(|p| p.street_id == Some(street))
                .ok_or_else(|| AppError::invalid("callups.err_place"))?;
            let recipients: Vec<i64> = volunteers::candidates(c, street)?
                .into_iter()
                .filter(|k| k.reached_by(&audience.path) && k.offers(&skills))
                .filter(|k| slot.as_deref().is_none_or(|s| k.available(s)))
                .map(|k| k.user_id)
                .collect();
            if recipients.is_empty() {
                return Err(AppError::invalid(if slot.is_some() {
                    "callups.err_nobody_free"
                } else {
                    "callups.err_nobody"
                }));
            }
            let n = NewCall {
                street_id: street,
                title: &title,
                needs: &needs,
                starts_at,
                place_id: place.id,
                where_note: &where_note,
                audience_id: audience.id,
                audience_path: &audience.path,
                skills: &skills,
                wanted: t.wanted,
                urgency,
                created_by: me,
                created_by_name: &my_name,
            };
            let id = store::insert(c, &n, &recipients, now)?;
            let where_ = if where_note.is_empty() {
                place.name.clone()
            } else {
                format!("{} {}", place.name, where_note)
            };
            for u in &recipients {
                crate::reach::tell(
                    c,
                    &crate::reach::Message {
                        street_id: street,
                        to: crate::reach::Recipient::User(*u),
                        urgency: if urgency == "urgent" {
                            crate::reach::Urgency::Urgent
                        } else {
                            crate::reach::Urgency::Normal
                        },
                        body: crate::reach::Body::Key {
                            key: "callups.msg",
                            args: vec![
                                ("title", title.clone()),
                                ("when", local_time(starts_at)),
                                ("where", where_.clone()),
                            ],
                        },
                        link: Some(format!("/callups/{id}")),
                        idem: format!("callup:{id}:user:{u}"),
                        source: format!("callup:{id}"),
                        sender: Some(me),
                    },
                )?;
            }
            Ok((id, street, recipients))
        })
        .await?;
    let mut a = NewEntry::by(caller, Action::Change)
        .subjects(recipients.iter().map(|u| audit::user(*u)))
        .purpose(purpose("sent", id));
    a.street_id = Some(street);
    state.audit.record(a).await?;
    state
        .db
        .read(move |c| store::get(c, id))
        .await?
        .ok_or_else(AppError::not_found)
}

/// A recipient's answer: coming or not available, changeable until the call closes.
pub async fn answer(
    state: &AppState,
    caller: &Caller,
    id: i64,
    answer: &str,
    note_text: &str,
) -> AppResult<()> {
    let answer = ANSWERS
        .iter()
        .find(|a| **a == answer.trim())
        .copied()
        .ok_or_else(|| AppError::invalid("callups.err_answer"))?;
    let note_text = note(note_text)?;
    volunteers::volunteer(caller)?;
    let me = caller.user_id;
    let (k, got) = state
        .db
        .read(move |c| Ok((store::get(c, id)?, store::recipient(c, id, me)?.is_some())))
        .await?;
    let k = k.filter(|_| got).ok_or_else(AppError::not_found)?;
    let done = state
        .db
        .write(move |c| store::answer(c, id, me, answer, &note_text, now_ms()))
        .await?;
    if !done {
        return Err(conflict("callups.err_closed"));
    }
    let mut a = NewEntry::by(caller, Action::Change)
        .subjects([audit::user(me)])
        .purpose(purpose("answered", id));
    a.street_id = Some(k.street_id);
    state.audit.record(a).await?;
    Ok(())
}

/// Closes a call (filled or cancelled) with a reason; a cancelled call is told to those who
/// had not said they could not come.
pub async fn close(
    state: &AppState,
    caller: &Caller,
    id: i64,
    outcome: &str,
    reason: &str,
) -> AppResult<Call> {
    let (k, seat) = seat(state, caller, id).await?;
    if !matches!(seat, Seat::Organiser) {
        return Err(AppError::forbidden());
    }
    let outcome = OUTCOMES
        .iter()
        .find(|o| **o == outcome.trim())
        .copied()
        .ok_or_else(|| AppError::invalid("callups.err_outcome"))?;
    let reason = line(
        reason,
        MAX_NOTE,
        "callups.err_reason",
        "callups.err_note_long",
    )?;
    let me = caller.user_id;
    let street = k.street_id;
    let title = k.title.clone();
    state
        .db
        .write_tx(move |c| -> AppResult<()> {
            if !store::close(c, id, outcome, &reason, now_ms())? {
                return Err(conflict("callups.err_already_closed"));
            }
            if outcome == "cancelled" {
                for r in store::recipients(c, id)?
                    .into_iter()
                    .filter(|r| r.answer != "not_available")
                {
                    crate::reach::tell(
                        c,
                        &crate::reach::Message {
                            street_id: street,
                            to: crate::reach::Recipient::User(r.user_id),
                            urgency: crate::reach::Urgency::Normal,
                            body: crate::reach::Body::Key {
                                key: "callups.msg_cancelled",
                                args: vec![("title", title.clone()), ("reason", reason.clone())],
                            },
                            link: Some(format!("/callups/{id}")),
                            idem: format!("callup:{id}:cancelled:user:{}", r.user_id),
                            source: format!("callup:{id}"),
                            sender: Some(me),
                        },
                    )?;
                }
            }
            Ok(())
        })
        .await?;
    let mut a = NewEntry::by(caller, Action::Change).purpose(purpose(outcome, id));
    a.street_id = Some(street);
    state.audit.record(a).await?;
    state
        .db
        .read(move |c| store::get(c, id))
        .await?
        .ok_or_else(AppError::not_found)
}

/// A purpose given to see a volunteer's phone.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[schema(as = CallupPurpose)]
pub struct Purpose {
    /// One of `home_visit`, `service`, `emergency`, `verification`, `other`.
    pub purpose: String,
    /// Required with `other`.
    #[serde(default)]
    pub note: String,
}

impl Purpose {
    fn check(&self) -> AppResult<String> {
        let purpose = self.purpose.trim();
        if !crate::registry::access::PURPOSES.contains(&purpose) {
            return Err(AppError::invalid("error.purpose"));
        }
        let note = self.note.trim();
        if purpose == "other" && note.is_empty() {
            return Err(AppError::invalid("error.purpose_note"));
        }
        if note.chars().count() > MAX_NOTE {
            return Err(AppError::invalid("error.purpose_long"));
        }
        crate::kernel::text::check_note(note).map_err(AppError::invalid)?;
        Ok(if note.is_empty() {
            purpose.to_string()
        } else {
            format!("{purpose}: {note}")
        })
    }
}

/// A volunteer's phone, revealed.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = CallupRevealed)]
pub struct Revealed {
    pub user_id: i64,
    pub name: String,
    pub phone: String,
}

/// A recipient's phone for the call's organiser, after the reveal is logged with its purpose.
pub async fn reveal(
    state: &AppState,
    caller: &Caller,
    id: i64,
    user_id: i64,
    why: &Purpose,
) -> AppResult<Revealed> {
    let why = why.check()?;
    let (k, seat) = seat(state, caller, id).await?;
    if !matches!(seat, Seat::Organiser) {
        return Err(AppError::forbidden());
    }
    let street = k.street_id;
    let (found, person) = state
        .db
        .read(move |c| {
            if store::recipient(c, id, user_id)?.is_none() {
                return Ok((None, None));
            }
            let u = crate::org::users::by_id(c, user_id)?;
            let p = store::profile(c, user_id)?;
            Ok((
                Some((
                    u.as_ref()
                        .map(|u| u.display_name.clone())
                        .unwrap_or_default(),
                    p.and_then(|p| p.phone_enc),
                )),
                u.and_then(|u| u.person_id),
            ))
        })
        .await?;
    let (name, enc) = found.ok_or_else(AppError::not_found)?;
    let enc = enc.ok_or_else(|| {
        AppError::new(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "callups.err_no_phone",
        )
    })?;
    let phone = state
        .keys
        .decrypt(&enc)
        .ok_or_else(|| AppError::internal("callup volunteer phone", "cannot decrypt"))?;
    let mut subjects = vec![audit::user(user_id)];
    if let Some(p) = person {
        subjects.push(audit::person(p));
    }
    let mut a = NewEntry::by(caller, Action::Reveal)
        .subjects(subjects)
        .purpose(why);
    a.street_id = Some(street);
    state.audit.record(a).await?;
    Ok(Revealed {
        user_id,
        name,
        phone,
    })
}

/// Whether the caller organises calls (her navigation).
pub fn organises(caller: &Caller) -> bool {
    organiser(caller).is_ok()
}

/// Whether the caller is a volunteer (her navigation).
pub fn volunteers(caller: &Caller) -> bool {
    caller.has(Role::Volunteer) && caller.street_id.is_some()
}
