//! Reading call-ups: the calls of an organiser's places or sent to a volunteer, one call with
//! its counts (and, to its organiser, who answered — audited with those named), the places a
//! call may be held at.

use serde::Serialize;
use utoipa::ToSchema;

use super::service::{AUDIENCE_KINDS, LIST_LIMIT, purpose};
use super::store::{self, Call};
use super::volunteers::{self, organiser, streets_of};
use crate::audit::{self, Action, NewEntry};
use crate::kernel::error::{AppError, AppResult};
use crate::org::{Caller, Scope};
use crate::state::AppState;

/// How a call stands.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
#[schema(as = CallupCounts)]
pub struct Counts {
    pub wanted: i64,
    pub coming: i64,
    pub not_available: i64,
    pub no_answer: i64,
    pub recipients: i64,
}

fn counts(k: &Call, t: Option<&(i64, i64, i64)>) -> Counts {
    let (coming, not_available, recipients) = t.copied().unwrap_or_default();
    Counts {
        wanted: k.wanted,
        coming,
        not_available,
        no_answer: recipients - coming - not_available,
        recipients,
    }
}

/// A call in a list.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = CallupItem)]
pub struct Item {
    pub call: Call,
    pub counts: Counts,
    /// Where, by name.
    pub place: String,
    /// Whom, by name.
    pub audience: String,
    /// The caller's own answer when she received it (`""` none yet).
    pub answer: Option<String>,
}

fn place_name(c: &mut dyn crate::store::Conn, id: i64) -> crate::store::Result<String> {
    Ok(crate::org::places::by_id_unscoped(c, id)?
        .map(|p| p.name)
        .unwrap_or_default())
}

fn items(
    c: &mut dyn crate::store::Conn,
    calls: Vec<(Call, Option<String>)>,
) -> crate::store::Result<Vec<Item>> {
    let ids: Vec<i64> = calls.iter().map(|(k, _)| k.id).collect();
    let t = store::tallies(c, &ids)?;
    let mut out = Vec::new();
    for (k, answer) in calls {
        out.push(Item {
            counts: counts(&k, t.get(&k.id)),
            place: place_name(c, k.place_id)?,
            audience: place_name(c, k.audience_id)?,
            call: k,
            answer,
        });
    }
    Ok(out)
}

/// The calls of the caller's places (an organiser); the calls she received (a volunteer).
pub async fn list(state: &AppState, caller: &Caller) -> AppResult<Vec<Item>> {
    if let Ok(paths) = organiser(caller) {
        return Ok(state
            .db
            .read(move |c| {
                let calls = store::under(c, &paths, LIST_LIMIT)?;
                items(c, calls.into_iter().map(|k| (k, None)).collect())
            })
            .await?);
    }
    volunteers::volunteer(caller)?;
    let me = caller.user_id;
    Ok(state
        .db
        .read(move |c| {
            let calls = store::received(c, me, LIST_LIMIT)?;
            items(c, calls.into_iter().map(|(k, a)| (k, Some(a))).collect())
        })
        .await?)
}

/// The open calls the caller has not answered (a volunteer's home card).
pub async fn waiting(state: &AppState, caller: &Caller) -> AppResult<Vec<Item>> {
    if volunteers::volunteer(caller).is_err() {
        return Ok(Vec::new());
    }
    let me = caller.user_id;
    Ok(state
        .db
        .read(move |c| {
            let calls = store::unanswered(c, me)?;
            items(
                c,
                calls
                    .into_iter()
                    .map(|k| (k, Some(String::new())))
                    .collect(),
            )
        })
        .await?)
}

/// The open calls of the caller's places (an organiser's home card).
pub async fn open_count(state: &AppState, caller: &Caller) -> AppResult<i64> {
    let paths = organiser(caller)?;
    Ok(state
        .db
        .read(move |c| {
            Ok(store::under(c, &paths, LIST_LIMIT)?
                .iter()
                .filter(|k| k.state == "open")
                .count() as i64)
        })
        .await?)
}

/// A volunteer who answered, as the organiser sees her.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = CallupAnswer)]
pub struct Answered {
    pub user_id: i64,
    pub name: String,
    /// `coming` or `not_available`.
    pub answer: String,
    pub note: String,
    pub answered_at: Option<i64>,
    /// Masked; empty when she gave none (then there is nothing to reveal).
    pub phone_masked: String,
}

/// A call's page.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = CallupDetail)]
pub struct Detail {
    pub item: Item,
    /// Whether the caller organises it (and sees who is coming).
    pub organiser: bool,
    /// Who is coming, then who is not available (the organiser's view; empty otherwise).
    pub answers: Vec<Answered>,
    /// The caller's own answer's note (a recipient).
    pub my_note: String,
}

pub(super) enum Seat {
    Organiser,
    Recipient,
}

/// The call and how the caller stands to it: 403 for roles that neither organise nor
/// volunteer; 404 for a call outside her places or not sent to her.
pub(super) async fn seat(state: &AppState, caller: &Caller, id: i64) -> AppResult<(Call, Seat)> {
    let org = organiser(caller).ok();
    let vol = volunteers::volunteer(caller).is_ok();
    if org.is_none() && !vol {
        return Err(AppError::forbidden());
    }
    let me = caller.user_id;
    let (k, got) = state
        .db
        .read(move |c| {
            let k = store::get(c, id)?;
            let got = match &k {
                Some(_) => store::recipient(c, id, me)?.is_some(),
                None => false,
            };
            Ok((k, got))
        })
        .await?;
    let k = k.ok_or_else(AppError::not_found)?;
    if org
        .as_ref()
        .is_some_and(|p| Scope::covers(p, &k.audience_path))
    {
        Ok((k, Seat::Organiser))
    } else if got {
        Ok((k, Seat::Recipient))
    } else {
        Err(AppError::not_found())
    }
}

/// A call: to its organiser with the counts and who answered (audited with those named),
/// to a recipient with her own answer.
pub async fn detail(state: &AppState, caller: &Caller, id: i64) -> AppResult<Detail> {
    let (k, seat) = seat(state, caller, id).await?;
    let me = caller.user_id;
    let street = k.street_id;
    let organises = matches!(seat, Seat::Organiser);
    let (d, subjects) = state
        .db
        .read(move |c| {
            let rs = store::recipients(c, id)?;
            let mine = rs.iter().find(|r| r.user_id == me).cloned();
            let mut answers = Vec::new();
            let mut subjects = Vec::new();
            if organises {
                let named: Vec<&store::RecipientRow> =
                    rs.iter().filter(|r| !r.answer.is_empty()).collect();
                let who = volunteers::candidates(c, street)?;
                let names = crate::org::users::display_names(c, named.iter().map(|r| r.user_id))?;
                for want in ["coming", "not_available"] {
                    for r in named.iter().filter(|r| r.answer == want) {
                        let k = who.iter().find(|k| k.user_id == r.user_id);
                        subjects.push(audit::user(r.user_id));
                        if let Some(p) = k.and_then(|k| k.person_id) {
                            subjects.push(audit::person(p));
                        }
                        answers.push(Answered {
                            user_id: r.user_id,
                            name: names.get(&r.user_id).cloned().unwrap_or_default(),
                            answer: r.answer.clone(),
                            note: r.note.clone(),
                            answered_at: r.answered_at,
                            phone_masked: store::profile(c, r.user_id)?
                                .map(|p| p.phone_masked)
                                .unwrap_or_default(),
                        });
                    }
                }
            }
            let answer = mine.as_ref().map(|m| m.answer.clone());
            let my_note = mine.map(|m| m.note).unwrap_or_default();
            let item = items(c, vec![(k, answer)])?.remove(0);
            Ok((
                Detail {
                    item,
                    organiser: organises,
                    answers,
                    my_note,
                },
                subjects,
            ))
        })
        .await?;
    if !subjects.is_empty() {
        let mut a = NewEntry::by(caller, Action::List)
            .subjects(subjects)
            .purpose(purpose("answers", id));
        a.street_id = Some(street);
        state.audit.record(a).await?;
    }
    Ok(d)
}

/// The places a call may be held at or sent to: the communities, grids and buildings of the
/// organiser's places (at most 300 of each), as `(id, kind, name)`.
pub async fn places(state: &AppState, caller: &Caller) -> AppResult<Vec<(i64, String, String)>> {
    let paths = organiser(caller)?;
    let street = caller.street_id.unwrap_or_default();
    Ok(state
        .db
        .read(move |c| {
            let streets = streets_of(c, street)?;
            let mut out = Vec::new();
            for kind in AUDIENCE_KINDS {
                let page = crate::org::places::list(
                    c,
                    &paths,
                    &crate::org::places::ListQuery {
                        kind: Some(kind.to_string()),
                        under: None,
                        limit: 300,
                        offset: 0,
                        with_total: false,
                    },
                )?;
                out.extend(
                    page.items
                        .into_iter()
                        .filter(|p| p.street_id.is_some_and(|s| streets.contains(&s)))
                        .map(|p| (p.id, p.path, p.kind, p.name)),
                );
            }
            out.sort_by(|a, b| a.1.cmp(&b.1));
            Ok(out.into_iter().map(|(id, _, k, n)| (id, k, n)).collect())
        })
        .await?)
}
