//! The surveys area's use cases, shared by the pages and the API.
//!
//! **Who writes.** As for notices: a worker who keeps residents' records writes surveys for the
//! places she keeps (the audience is checked by notices' rules, `notices::service::resolve`);
//! she and the workers above her place manage a survey (edit the draft, publish, close, read
//! the results, export them).
//!
//! **Who answers.** A recipient, frozen at publication (a resident by her record, a worker by
//! her account), answers once while the survey is open. Anyone else gets 404: a survey's
//! existence is not told outside its audience. The one-answer rule is kept by the keys of
//! `survey_answered` (one row per recipient and per account), so two submissions at once
//! cannot both count.
//!
//! **Anonymous surveys.** The sheet and its answers keep no person, no account and no time, and
//! their key is random; only the marker that the recipient has answered names her.
//!
//! **Results.** Counts per option, a scale's mean, free texts. For a survey that is not
//! anonymous the managers see who wrote a text, masked (`张**`), and that look is audited with
//! the persons named; an anonymous survey's results name nobody.

use super::model::{
    Answer, Draft, Kind, QuestionKind, QuestionResult, Results, State, Survey, TextAnswer,
    check_sheet,
};
use super::store::{self, NewSurvey, Recipient, Sheet, Whose};
use crate::audit::{Action, NewEntry};
use crate::kernel::StatusCode;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::kernel::i18n::{Lang, Tr};
use crate::kernel::time::now_ms;
use crate::notices::Audience;
use crate::org::{Caller, Role, Scope};
use crate::state::AppState;
use crate::store::{Conn, StoreError};

/// The most surveys a list shows.
pub const LIST_LIMIT: i64 = 50;
/// The most free texts the results list.
pub const TEXTS_LIMIT: i64 = 2_000;

/// The places a caller writes surveys for: those whose residents' records she keeps.
fn writer(caller: &Caller) -> AppResult<&[String]> {
    if caller.reads_registry() && !caller.scope.registry.is_empty() {
        Ok(&caller.scope.registry)
    } else {
        Err(AppError::forbidden())
    }
}

/// Whether the caller writes surveys (the "new survey" button).
pub fn may_write(caller: &Caller) -> bool {
    writer(caller).is_ok()
}

/// Whether the caller manages a survey: its author, or a worker whose records cover the
/// author's place.
pub fn manages(caller: &Caller, s: &Survey) -> bool {
    s.author_id == caller.user_id
        || (caller.reads_registry() && Scope::covers(&caller.scope.registry, &s.author_path))
}

/// The caller's recipient keys: her record, and her account.
fn whose(caller: &Caller) -> Vec<Whose> {
    let mut w = vec![Whose::User(caller.user_id)];
    if let Some(p) = caller.person_id {
        w.push(Whose::Person(p));
    }
    w
}

fn state_conflict(key: &str) -> AppError {
    AppError::new(StatusCode::CONFLICT, Code::StateConflict, key)
}

async fn get(state: &AppState, id: i64) -> AppResult<Survey> {
    state
        .db
        .read(move |c| store::get(c, id))
        .await?
        .ok_or_else(AppError::not_found)
}

/// A survey the caller manages, or 404.
async fn managed(state: &AppState, caller: &Caller, id: i64) -> AppResult<Survey> {
    let s = get(state, id).await?;
    if manages(caller, &s) {
        Ok(s)
    } else {
        Err(AppError::not_found())
    }
}

async fn audit_change(
    state: &AppState,
    caller: &Caller,
    street: i64,
    purpose: String,
) -> AppResult<()> {
    let mut e = NewEntry::by(caller, Action::Change).purpose(purpose);
    e.street_id = Some(street);
    state.audit.record(e).await?;
    Ok(())
}

/// Whom an audience reaches now, as a survey freezes them.
fn reach(
    c: &mut dyn Conn,
    a: &Audience,
    scope: &[String],
    home: Option<i64>,
    author: i64,
) -> AppResult<(crate::notices::service::Resolved, Vec<Recipient>)> {
    let r = crate::notices::service::resolve(c, a, Some(scope), (home, scope))?;
    let to = crate::notices::service::recipients(c, &r, a, author)?
        .into_iter()
        .map(|x| Recipient {
            person_id: x.person_id,
            user_id: x.user_id,
            place_path: x.place_path,
        })
        .collect();
    Ok((r, to))
}

/// Writes a draft survey (kept until it is published). An audience outside the caller's places
/// or reaching nobody today is refused and nothing is kept.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    draft: Draft,
    kind: Kind,
) -> AppResult<Survey> {
    let scope = writer(caller)?.to_vec();
    let now = now_ms();
    let d = draft.checked(now)?;
    let (author_id, author) = (caller.user_id, caller.display_name.clone());
    let path = scope.first().cloned().unwrap_or_default();
    let home = caller.street_id;
    let (id, street) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, i64)> {
            let (r, _) = reach(c, &d.audience, &scope, home, author_id)?;
            let place = r.paths.first().cloned().unwrap_or_else(|| path.clone());
            let id = store::insert(
                c,
                &NewSurvey {
                    street_id: r.street_id,
                    kind,
                    title: &d.title,
                    intro: &d.intro,
                    questions: &d.questions,
                    audience: &d.audience,
                    audience_label: &r.label,
                    place_path: &place,
                    anonymous: d.anonymous,
                    opens_at: d.opens_at,
                    closes_at: d.closes_at.unwrap_or(now),
                    author_id,
                    author: &author,
                    author_path: &path,
                    now,
                },
            )?;
            Ok((id, r.street_id))
        })
        .await?;
    audit_change(state, caller, street, format!("surveys: wrote survey {id}")).await?;
    get(state, id).await
}

/// Rewrites a draft.
pub async fn update(state: &AppState, caller: &Caller, id: i64, draft: Draft) -> AppResult<Survey> {
    let s = managed(state, caller, id).await?;
    if s.state != State::Draft {
        return Err(state_conflict("surveys.err_not_draft"));
    }
    let scope = writer(caller)?.to_vec();
    let now = now_ms();
    let d = draft.checked(now)?;
    let home = Some(s.street_id);
    let (author, author_name, author_path, kind) =
        (s.author_id, s.author.clone(), s.author_path.clone(), s.kind);
    state
        .db
        .write_tx(move |c| -> AppResult<()> {
            let (r, _) = reach(c, &d.audience, &scope, home, author)?;
            let place = r
                .paths
                .first()
                .cloned()
                .unwrap_or_else(|| author_path.clone());
            let n = store::update(
                c,
                id,
                &NewSurvey {
                    street_id: r.street_id,
                    kind,
                    title: &d.title,
                    intro: &d.intro,
                    questions: &d.questions,
                    audience: &d.audience,
                    audience_label: &r.label,
                    place_path: &place,
                    anonymous: d.anonymous,
                    opens_at: d.opens_at,
                    closes_at: d.closes_at.unwrap_or(now),
                    author_id: author,
                    author: &author_name,
                    author_path: &author_path,
                    now,
                },
            )?;
            if n == 0 {
                return Err(state_conflict("surveys.err_not_draft"));
            }
            Ok(())
        })
        .await?;
    audit_change(
        state,
        caller,
        s.street_id,
        format!("surveys: edited survey {id}"),
    )
    .await?;
    get(state, id).await
}

/// The communities the caller may put a satisfaction survey to: `(id, name)`.
pub async fn template_places(state: &AppState, caller: &Caller) -> AppResult<Vec<(i64, String)>> {
    let Ok(scope) = writer(caller) else {
        return Ok(Vec::new());
    };
    let scope = scope.to_vec();
    Ok(state
        .db
        .read(move |c| store::communities(c, &scope))
        .await?
        .into_iter()
        .map(|(id, name, _)| (id, name))
        .collect())
}

/// Writes a community's satisfaction survey (社区满意度调查) from the template, as a draft in
/// the caller's language: overall satisfaction and case handling 1–5, how she reports
/// problems, what to improve. Anonymous, open for 14 days once published.
pub async fn create_satisfaction(
    state: &AppState,
    caller: &Caller,
    community: i64,
    lang: Lang,
) -> AppResult<Survey> {
    let scope = writer(caller)?.to_vec();
    let known = state
        .db
        .read(move |c| store::communities(c, &scope))
        .await?;
    let (_, name, _) = known
        .into_iter()
        .find(|(id, _, _)| *id == community)
        .ok_or_else(|| AppError::invalid("surveys.err_community"))?;
    let t = Tr(lang);
    let draft = Draft {
        title: t.fill("surveys.tpl_title", &[("community", &name)]),
        intro: t.s("surveys.tpl_intro").to_string(),
        questions: super::model::satisfaction_questions(t),
        audience: Audience {
            places: vec![community],
            ..Audience::default()
        },
        anonymous: true,
        opens_at: None,
        closes_at: None,
    };
    create(state, caller, draft, Kind::Satisfaction).await
}

/// Publishes a draft: its recipients frozen now. The deadline must still lie ahead.
pub async fn publish(state: &AppState, caller: &Caller, id: i64) -> AppResult<Survey> {
    let s = managed(state, caller, id).await?;
    if s.state != State::Draft {
        return Err(state_conflict("surveys.err_not_draft"));
    }
    let scope = writer(caller)?.to_vec();
    let now = now_ms();
    if s.closes_at <= now {
        return Err(AppError::invalid("surveys.err_closes_before"));
    }
    let reached = state
        .db
        .write_tx(move |c| -> AppResult<i64> {
            let s = store::get(c, id)?.ok_or_else(AppError::not_found)?;
            if s.state != State::Draft {
                return Err(state_conflict("surveys.err_not_draft"));
            }
            let (_, to) = reach(c, &s.audience, &scope, Some(s.street_id), s.author_id)?;
            store::publish(c, id, s.street_id, &to, now)?;
            Ok(to.len() as i64)
        })
        .await?;
    audit_change(
        state,
        caller,
        s.street_id,
        format!("surveys: published survey {id} to {reached} recipients"),
    )
    .await?;
    get(state, id).await
}

/// Closes a published survey before its deadline.
pub async fn close(state: &AppState, caller: &Caller, id: i64) -> AppResult<Survey> {
    let s = managed(state, caller, id).await?;
    if s.state_now(now_ms()) != State::Published {
        return Err(state_conflict("surveys.err_not_open"));
    }
    let now = now_ms();
    let n = state.db.write(move |c| store::close(c, id, now)).await?;
    if n == 0 {
        return Err(state_conflict("surveys.err_not_open"));
    }
    audit_change(
        state,
        caller,
        s.street_id,
        format!("surveys: closed survey {id}"),
    )
    .await?;
    get(state, id).await
}

/// Closes the surveys past their deadline (the job).
pub async fn close_due(state: &AppState) -> AppResult<u64> {
    let now = now_ms();
    Ok(state.db.write(move |c| store::close_due(c, now)).await?)
}

/// What the caller may see of a survey.
pub struct Opened {
    pub survey: Survey,
    /// When she is a recipient: whether she has answered.
    pub answered: Option<bool>,
    pub manages: bool,
}

/// Opens a survey: for a recipient of a published or closed one, or a manager. 404 for anyone
/// else.
pub async fn open(state: &AppState, caller: &Caller, id: i64) -> AppResult<Opened> {
    let s = get(state, id).await?;
    let manages = manages(caller, &s);
    let who = whose(caller);
    let me = caller.user_id;
    let answered = if s.state == State::Draft {
        None
    } else {
        state
            .db
            .read(move |c| {
                for w in who {
                    if let Some((_, done)) = store::recipient(c, id, w)? {
                        return Ok(Some(done || store::answered_by(c, id, me)?));
                    }
                }
                Ok(None)
            })
            .await?
    };
    if answered.is_none() && !manages {
        return Err(AppError::not_found());
    }
    Ok(Opened {
        survey: s,
        answered,
        manages,
    })
}

/// A recipient answers: once, while the survey is open, every answer within its question. A
/// second answer (from this account or for this recipient) is refused with 409.
pub async fn answer(
    state: &AppState,
    caller: &Caller,
    id: i64,
    answers: Vec<Answer>,
) -> AppResult<()> {
    let s = get(state, id).await?;
    let who = whose(caller);
    let me = caller.user_id;
    let seq = state
        .db
        .read(move |c| {
            for w in who {
                if let Some((seq, _)) = store::recipient(c, id, w)? {
                    return Ok(Some((seq, w)));
                }
            }
            Ok(None)
        })
        .await?;
    let Some((seq, w)) = seq.filter(|_| s.state != State::Draft) else {
        return Err(AppError::not_found());
    };
    let now = now_ms();
    if !s.is_open(now) {
        return Err(if s.opens_at.is_some_and(|t| t > now) {
            state_conflict("surveys.err_not_yet")
        } else {
            state_conflict("surveys.err_closed")
        });
    }
    let rows = check_sheet(&s.questions, &answers)?;
    let who = if s.anonymous {
        None
    } else {
        Some(match w {
            Whose::Person(p) => (Some(p), Some(me)),
            Whose::User(u) => (None, Some(u)),
        })
    };
    let street = s.street_id;
    let result = state
        .db
        .write_tx(move |c| -> AppResult<()> {
            // Read again in the transaction: it may have closed meanwhile.
            let s = store::get(c, id)?.ok_or_else(AppError::not_found)?;
            if !s.is_open(now) {
                return Err(state_conflict("surveys.err_closed"));
            }
            if store::answered_by(c, id, me)? || store::recipient(c, id, w)?.is_some_and(|r| r.1) {
                return Err(state_conflict("surveys.err_answered"));
            }
            store::answer(
                c,
                &Sheet {
                    survey_id: id,
                    street_id: street,
                    seq,
                    user_id: Some(me),
                    who,
                    rows: &rows,
                    now,
                },
            )?;
            Ok(())
        })
        .await;
    match result {
        // The keys of `survey_answered` refused a second answer that raced this one.
        Err(e) if e.code == Code::Conflict => Err(state_conflict("surveys.err_answered")),
        r => r,
    }
}

/// The surveys put to the caller, newest first, with whether she answered each.
pub async fn received(state: &AppState, caller: &Caller) -> AppResult<Vec<(Survey, bool)>> {
    let who = whose(caller);
    let mut out = state
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for w in who {
                out.extend(store::received(c, w, LIST_LIMIT)?);
            }
            Ok(out)
        })
        .await?;
    out.sort_by_key(|(s, _)| std::cmp::Reverse((s.published_at, s.id)));
    out.dedup_by_key(|(s, _)| s.id);
    out.truncate(LIST_LIMIT as usize);
    Ok(out)
}

/// The surveys the caller manages, newest first.
pub async fn managed_list(state: &AppState, caller: &Caller) -> AppResult<Vec<Survey>> {
    let paths = writer(caller)?.to_vec();
    let Some(street) = caller.street_id else {
        return Ok(Vec::new());
    };
    let me = caller.user_id;
    let district = caller.has(Role::DistrictAdmin);
    Ok(state
        .db
        .read(move |c| {
            if district {
                // A district administrator's surveys are written for the streets below her.
                let mut out = Vec::new();
                for (id, _, _) in store::pickable(c, &paths)?
                    .into_iter()
                    .filter(|p| p.2 == "street")
                    .map(|p| (p.0, p.1, p.2))
                {
                    out.extend(store::managed(c, id, &paths, me, LIST_LIMIT)?);
                }
                out.sort_by_key(|s| std::cmp::Reverse(s.id));
                out.truncate(LIST_LIMIT as usize);
                Ok(out)
            } else {
                store::managed(c, street, &paths, me, LIST_LIMIT)
            }
        })
        .await?)
}

/// A survey's results, for whoever manages it. For a survey that is not anonymous, the persons
/// whose free texts are listed (masked) are written to the audit log.
pub async fn results(state: &AppState, caller: &Caller, id: i64, lang: Lang) -> AppResult<Results> {
    let s = managed(state, caller, id).await?;
    if s.state == State::Draft {
        return Err(state_conflict("surveys.err_not_published"));
    }
    let anonymous = s.anonymous;
    let (responses, choices, values, counts, texts, names) = state
        .db
        .read(move |c| {
            let texts = store::texts(c, id, TEXTS_LIMIT)?;
            let persons: Vec<i64> = if anonymous {
                Vec::new()
            } else {
                texts.iter().filter_map(|t| t.2).collect()
            };
            let names = crate::registry::residents::names(c, &persons)?;
            Ok((
                store::responses(c, id)?,
                store::choice_counts(c, id)?,
                store::value_counts(c, id)?,
                store::answer_counts(c, id)?,
                texts,
                names,
            ))
        })
        .await?;
    let t = Tr(lang);
    let mut named = Vec::new();
    let questions = s
        .questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let n = i as i64;
            let answers = counts.iter().find(|c| c.0 == n).map_or(0, |c| c.1);
            let mut r = QuestionResult {
                question: i,
                kind: q.kind,
                prompt: q.prompt.clone(),
                counts: Vec::new(),
                answers,
                average: None,
                texts: Vec::new(),
            };
            match q.kind {
                QuestionKind::Single | QuestionKind::Multiple => {
                    r.counts = q
                        .options
                        .iter()
                        .enumerate()
                        .map(|(k, o)| {
                            let k = k as i64;
                            let n = choices
                                .iter()
                                .find(|c| c.0 == n && c.1 == k)
                                .map_or(0, |c| c.2);
                            super::model::Count {
                                label: o.clone(),
                                n,
                            }
                        })
                        .collect();
                }
                QuestionKind::Scale => {
                    let (mut sum, mut all) = (0i64, 0i64);
                    r.counts = (1..=5)
                        .map(|v| {
                            let k = values
                                .iter()
                                .find(|c| c.0 == n && c.1 == v)
                                .map_or(0, |c| c.2);
                            sum += v * k;
                            all += k;
                            super::model::Count {
                                label: t.fill("surveys.scale_n", &[("n", &v)]),
                                n: k,
                            }
                        })
                        .collect();
                    r.average = mean(sum, all);
                }
                QuestionKind::Text => {
                    r.texts = texts
                        .iter()
                        .filter(|x| x.0 == n)
                        .map(|x| {
                            let person = if anonymous { None } else { x.2 };
                            if let Some(p) = person {
                                named.push(p);
                            }
                            TextAnswer {
                                text: x.1.clone(),
                                by: person
                                    .and_then(|p| names.get(&p))
                                    .map(|n| crate::kernel::text::mask_name(n))
                                    .unwrap_or_default(),
                                person_id: person,
                            }
                        })
                        .collect();
                }
            }
            r
        })
        .collect();
    named.sort_unstable();
    named.dedup();
    if !named.is_empty() {
        let mut e = NewEntry::by(caller, Action::List)
            .subjects(named.into_iter().map(crate::audit::person))
            .purpose(format!("survey results: #{id}"));
        e.street_id = Some(s.street_id);
        state.audit.record(e).await?;
    }
    Ok(Results {
        survey: s,
        responses,
        questions,
    })
}

/// A mean of `all` ratings summing to `sum`, to two decimals.
pub fn mean(sum: i64, all: i64) -> Option<f64> {
    (all > 0).then(|| (sum as f64 / all as f64 * 100.0).round() / 100.0)
}

/// The results as an XLSX workbook in the reader's language (one row per option or value, then
/// the free texts); the export is written to the audit log with the persons it names.
pub async fn export(state: &AppState, caller: &Caller, id: i64, lang: Lang) -> AppResult<Vec<u8>> {
    let r = results(state, caller, id, lang).await?;
    let t = Tr(lang);
    let mut rows = vec![vec![
        t.s("surveys.x_question").to_string(),
        t.s("surveys.x_answer").to_string(),
        t.s("surveys.x_count").to_string(),
        t.s("surveys.x_by").to_string(),
    ]];
    rows.push(vec![
        r.survey.title.clone(),
        t.fill(
            "surveys.rate",
            &[
                ("answered", &r.survey.answered),
                ("of", &r.survey.recipients),
                ("pct", &r.survey.rate_pct()),
            ],
        ),
        r.responses.to_string(),
        String::new(),
    ]);
    let mut persons = Vec::new();
    for q in &r.questions {
        let head = format!("{}. {}", q.question + 1, q.prompt);
        for c in &q.counts {
            rows.push(vec![
                head.clone(),
                c.label.clone(),
                c.n.to_string(),
                String::new(),
            ]);
        }
        if let Some(a) = q.average {
            rows.push(vec![
                head.clone(),
                t.s("surveys.average").to_string(),
                format!("{a:.2}"),
                String::new(),
            ]);
        }
        for x in &q.texts {
            persons.extend(x.person_id);
            rows.push(vec![
                head.clone(),
                x.text.clone(),
                String::new(),
                x.by.clone(),
            ]);
        }
    }
    let bytes = crate::registry::export::xlsx(&rows, "survey")
        .map_err(|e| AppError::internal("surveys: xlsx", e))?;
    persons.sort_unstable();
    persons.dedup();
    let mut e = NewEntry::by(caller, Action::Export)
        .subjects(persons.into_iter().map(crate::audit::person))
        .purpose(format!("survey results export: #{id}"));
    e.street_id = Some(r.survey.street_id);
    state.audit.record(e).await?;
    Ok(bytes)
}

/// The case figures' outside ratings (registered by `app::wire` through
/// `cases::hooks::on_figures`): each community satisfaction survey published in the period,
/// the mean of its scale answers, for the places the viewer reads.
pub fn satisfaction_ratings(
    c: &mut dyn Conn,
    street: i64,
    since: Option<i64>,
    places: Option<&[String]>,
) -> Result<Vec<crate::cases::hooks::OutsideRating>, StoreError> {
    let rows: Vec<store::Satisfaction> = store::satisfaction(c, street, since)?
        .into_iter()
        .filter(|r| {
            places.is_none_or(|p| {
                Scope::covers(p, &r.place_path)
                    || p.iter()
                        .any(|x| Scope::covers(std::slice::from_ref(&r.place_path), x))
            })
        })
        .collect();
    let paths: Vec<String> = rows.iter().map(|r| r.place_path.clone()).collect();
    let names = store::place_names(c, &paths)?;
    Ok(rows
        .into_iter()
        .map(|r| crate::cases::hooks::OutsideRating {
            source: crate::kernel::i18n::both("surveys.source", &[("title", &r.title)]),
            place: names
                .iter()
                .find(|x| x.0 == r.place_path)
                .map(|x| x.1.clone())
                .unwrap_or_default(),
            average: mean(r.sum, r.ratings),
            ratings: r.ratings,
            href: format!("/surveys/{}/results", r.id),
        })
        .collect())
}
