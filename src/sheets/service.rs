//! The sheets area's use cases (接龙, issue 25 part 3), shared by the pages and the API.
//!
//! **Who writes.** As for notices and surveys: a worker who keeps residents' records writes a
//! sheet for the places she keeps; the audience is checked by notices' rules
//! (`notices::service::resolve`) and its residents frozen when the sheet goes out, each with
//! the household and flat linli knows. She, and the workers whose records cover her place,
//! manage it: they see the entries of the people in their scope (names masked, flats whole;
//! each look audited with the persons named), correct an entry with a reason (kept: who,
//! when, before, after), and export the entries for the supplier.
//!
//! **Who signs up.** A recipient, for her household: one entry per household (any member
//! changes or withdraws it; a resident without a household signs for herself), quantities per
//! item no more in all than the sheet's limit, before the deadline; after it a change is
//! refused (409) with the reason. She sees her household's entry, its corrections and the
//! totals, never another household's entry. Anyone else gets 404.

use serde::Serialize;
use utoipa::ToSchema;

use super::model::{self, Draft, Entry, Sheet};
use super::store::{self, Lines, NewSheet, Recipient};
pub use super::view::{BuildingTotals, Row, Totals, View, view};
use crate::audit::{Action, NewEntry};
use crate::kernel::StatusCode;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::kernel::i18n::{Lang, Tr};
use crate::kernel::time::now_ms;
use crate::org::{Caller, Scope};
use crate::state::AppState;
use crate::store::Conn;

pub const LIST_LIMIT: i64 = 50;

/// The places a caller writes sheets for: those whose residents' records she keeps.
fn writer(caller: &Caller) -> AppResult<&[String]> {
    if caller.reads_registry() && !caller.scope.registry.is_empty() {
        Ok(&caller.scope.registry)
    } else {
        Err(AppError::forbidden())
    }
}

/// Whether the caller writes sheets (the "new sheet" button).
pub fn may_write(caller: &Caller) -> bool {
    writer(caller).is_ok()
}

/// Whether the caller manages a sheet: its author, or a worker whose records cover the
/// author's place.
pub fn manages(caller: &Caller, s: &Sheet) -> bool {
    s.author_id == caller.user_id
        || (caller.reads_registry() && Scope::covers(&caller.scope.registry, &s.author_path))
}

/// Why a sheet takes no more entries: its deadline passed, or its organiser closed it early.
fn closed(s: &Sheet) -> AppError {
    let key = if s.closed_at.is_some() {
        "sheets.err_closed_early"
    } else {
        "sheets.err_closed"
    };
    AppError::new(StatusCode::CONFLICT, Code::StateConflict, key)
}

fn purpose(what: &str, id: i64) -> String {
    crate::kernel::i18n::both(&format!("sheets.purpose.{what}"), &[("id", &id)])
}

pub(super) async fn audit(
    state: &AppState,
    caller: &Caller,
    street: i64,
    action: Action,
    persons: Vec<i64>,
    what: &str,
    id: i64,
) -> AppResult<()> {
    let mut e = NewEntry::by(caller, action)
        .subjects(persons.into_iter().map(crate::audit::person))
        .purpose(purpose(what, id));
    e.street_id = Some(street);
    state.audit.record(e).await?;
    Ok(())
}

/// A household's key on a sheet.
pub(super) fn household_key(r: &Recipient) -> String {
    match r.household_id {
        Some(h) => format!("h:{h}"),
        None => format!("p:{}", r.person_id),
    }
}

/// Whom an audience reaches now, with the household and flat linli knows of each.
pub(super) fn freeze(
    c: &mut dyn Conn,
    a: &crate::notices::Audience,
    scope: &[String],
    home: Option<i64>,
    author: i64,
) -> AppResult<(crate::notices::service::Resolved, Vec<Recipient>)> {
    let r = crate::notices::service::resolve(c, a, Some(scope), (home, scope))?;
    let reached = crate::notices::service::recipients(c, &r, a, author)?;
    let ids: Vec<i64> = reached.iter().filter_map(|x| x.person_id).collect();
    let households: std::collections::HashMap<i64, Option<i64>> =
        crate::registry::residents::homes(c, &ids)?
            .into_iter()
            .map(|(p, h, _)| (p, h))
            .collect();
    let to = reached
        .into_iter()
        .filter_map(|x| {
            let p = x.person_id?;
            Some(Recipient {
                person_id: p,
                household_id: households.get(&p).copied().flatten(),
                unit_id: x.unit_id,
                building_id: x.building_id,
                place_path: x.place_path,
            })
        })
        .collect();
    Ok((r, to))
}

/// Writes a sheet and sends it out: its audience's residents frozen now. An audience outside
/// the caller's places or reaching nobody is refused and nothing is kept.
pub async fn create(state: &AppState, caller: &Caller, draft: Draft) -> AppResult<Sheet> {
    let scope = writer(caller)?.to_vec();
    let now = now_ms();
    let d = draft.checked(now)?;
    let (author_id, author) = (caller.user_id, caller.display_name.clone());
    let path = scope.first().cloned().unwrap_or_default();
    let home = caller.street_id;
    let (id, street) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, i64)> {
            let (r, to) = freeze(c, &d.audience, &scope, home, author_id)?;
            let place = r.paths.first().cloned().unwrap_or_else(|| path.clone());
            let id = store::insert(
                c,
                &NewSheet {
                    street_id: r.street_id,
                    title: &d.title,
                    intro: &d.intro,
                    items: &d.items,
                    audience: &d.audience,
                    audience_label: &r.label,
                    place_path: &place,
                    deadline_at: d.deadline_at,
                    household_limit: d.household_limit,
                    author_id,
                    author: &author,
                    author_path: &path,
                    now,
                },
                &to,
            )?;
            Ok((id, r.street_id))
        })
        .await?;
    audit(state, caller, street, Action::Change, vec![], "created", id).await?;
    get(state, id).await
}

async fn get(state: &AppState, id: i64) -> AppResult<Sheet> {
    state
        .db
        .read(move |c| store::get(c, id))
        .await?
        .ok_or_else(AppError::not_found)
}

/// A sheet in a list, with whether the reader's household has answered.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Listed {
    pub sheet: Sheet,
    pub open: bool,
    /// For a recipient: her household's entry counts.
    pub entered: bool,
}

/// What the sheets list shows the caller.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SheetList)]
pub struct List {
    pub may_write: bool,
    /// The sheets she manages.
    pub managed: Vec<Listed>,
    /// The sheets she received as a resident.
    pub received: Vec<Listed>,
}

pub async fn list(state: &AppState, caller: &Caller) -> AppResult<List> {
    let paths = if caller.reads_registry() {
        caller.scope.registry.clone()
    } else {
        Vec::new()
    };
    let (user, person) = (caller.user_id, caller.person_id);
    let now = now_ms();
    let (managed, received) = state
        .db
        .read(move |c| {
            let managed = store::managed(c, &paths, user, LIST_LIMIT)?;
            let mut received = Vec::new();
            if let Some(p) = person {
                for s in store::received(c, p, LIST_LIMIT)? {
                    let entered = match store::recipient(c, s.id, p)? {
                        Some(r) => store::entry_of(c, s.id, &household_key(&r))?
                            .is_some_and(|e| e.withdrawn_at.is_none()),
                        None => false,
                    };
                    received.push((s, entered));
                }
            }
            Ok((managed, received))
        })
        .await?;
    Ok(List {
        may_write: may_write(caller),
        managed: managed
            .into_iter()
            .filter(|s| manages(caller, s))
            .map(|s| Listed {
                open: s.open(now),
                entered: false,
                sheet: s,
            })
            .collect(),
        received: received
            .into_iter()
            .map(|(s, entered)| Listed {
                open: s.open(now),
                entered,
                sheet: s,
            })
            .collect(),
    })
}

/// What a resident (or the organiser) writes into an entry.
#[derive(Clone, Debug, Default)]
pub struct Typed {
    pub lines: Vec<i64>,
    pub note: String,
}

/// Writes or changes the caller's household's entry, before the deadline.
pub async fn enter(state: &AppState, caller: &Caller, id: i64, t: Typed) -> AppResult<Entry> {
    let person = caller.person_id.ok_or_else(AppError::not_found)?;
    let note = model::note(&t.note, model::MAX_NOTE, None, "sheets.err_note_long")?;
    let now = now_ms();
    let (street, entry) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, Entry)> {
            let s = store::get(c, id)?.ok_or_else(AppError::not_found)?;
            let me = store::recipient(c, id, person)?.ok_or_else(AppError::not_found)?;
            if !s.open(now) {
                return Err(closed(&s));
            }
            let (quantity, amount_fen) = model::check_lines(&s.items, s.household_limit, &t.lines)?;
            let eid = store::upsert(
                c,
                s.street_id,
                id,
                &household_key(&me),
                &me,
                &Lines {
                    lines: &t.lines,
                    quantity,
                    amount_fen,
                    note: &note,
                },
                now,
            )?;
            let e = store::entry_by_id(c, eid)?.ok_or_else(AppError::not_found)?;
            Ok((s.street_id, e))
        })
        .await?;
    audit(
        state,
        caller,
        street,
        Action::Change,
        vec![person],
        "entered",
        id,
    )
    .await?;
    Ok(entry)
}

/// Withdraws the caller's household's entry, before the deadline.
pub async fn withdraw(state: &AppState, caller: &Caller, id: i64) -> AppResult<()> {
    let person = caller.person_id.ok_or_else(AppError::not_found)?;
    let now = now_ms();
    let street = state
        .db
        .write_tx(move |c| -> AppResult<i64> {
            let s = store::get(c, id)?.ok_or_else(AppError::not_found)?;
            let me = store::recipient(c, id, person)?.ok_or_else(AppError::not_found)?;
            if !s.open(now) {
                return Err(closed(&s));
            }
            let e = store::entry_of(c, id, &household_key(&me))?
                .filter(|e| e.withdrawn_at.is_none())
                .ok_or_else(|| AppError::invalid("sheets.err_no_entry"))?;
            store::withdraw(c, e.id, now)?;
            Ok(s.street_id)
        })
        .await?;
    audit(
        state,
        caller,
        street,
        Action::Change,
        vec![person],
        "withdrawn",
        id,
    )
    .await?;
    Ok(())
}

/// Its organiser (or a worker managing it) closes a sheet before its deadline, with the
/// reason: entries are refused after, with a message saying so; the reason, who and when are
/// kept and shown on the sheet. 403 for one who writes no sheets, 404 for a sheet she does not
/// manage, 409 when it is already closed.
pub async fn close(state: &AppState, caller: &Caller, id: i64, reason: &str) -> AppResult<Sheet> {
    writer(caller)?;
    let s = get(state, id).await?;
    if !manages(caller, &s) {
        return Err(AppError::not_found());
    }
    let reason = model::note(
        reason,
        model::MAX_REASON,
        Some("sheets.err_close_reason"),
        "sheets.err_reason_long",
    )?;
    let by = caller.display_name.clone();
    let now = now_ms();
    let sheet = state
        .db
        .write_tx(move |c| -> AppResult<Sheet> {
            let s = store::get(c, id)?.ok_or_else(AppError::not_found)?;
            if !s.open(now) || !store::close(c, id, &by, &reason, now)? {
                return Err(AppError::new(
                    StatusCode::CONFLICT,
                    Code::StateConflict,
                    "sheets.err_already_closed",
                ));
            }
            store::get(c, id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    audit(
        state,
        caller,
        sheet.street_id,
        Action::Change,
        Vec::new(),
        "closed",
        id,
    )
    .await?;
    Ok(sheet)
}

/// The organiser corrects an entry (before or after the deadline: the supplier's count
/// differs, a household phoned): the limit still holds, a reason is required, and the
/// change is kept with who, when, before and after.
pub async fn correct(
    state: &AppState,
    caller: &Caller,
    id: i64,
    entry: i64,
    t: Typed,
    reason: &str,
) -> AppResult<Entry> {
    let s = get(state, id).await?;
    if !manages(caller, &s) {
        return Err(AppError::not_found());
    }
    let note = model::note(&t.note, model::MAX_NOTE, None, "sheets.err_note_long")?;
    let reason = model::note(
        reason,
        model::MAX_REASON,
        Some("sheets.err_reason"),
        "sheets.err_reason_long",
    )?;
    let (lines, limit, items) = (t.lines, s.household_limit, s.items.clone());
    let by = (caller.user_id, caller.display_name.clone());
    let (author, scope) = (s.author_id == caller.user_id, caller.scope.registry.clone());
    let now = now_ms();
    let street = s.street_id;
    let e = state
        .db
        .write_tx(move |c| -> AppResult<Entry> {
            let e = store::entry_by_id(c, entry)?
                .filter(|e| e.sheet_id == id && e.withdrawn_at.is_none())
                .filter(|e| author || Scope::covers(&scope, &e.place_path))
                .ok_or_else(AppError::not_found)?;
            let (quantity, amount_fen) = model::check_lines(&items, limit, &lines)?;
            let before = model::describe(&items, &e.lines, &e.note);
            let after = model::describe(&items, &lines, &note);
            store::correct(
                c,
                &e,
                &Lines {
                    lines: &lines,
                    quantity,
                    amount_fen,
                    note: &note,
                },
                (by.0, &by.1),
                (&before, &after, &reason),
                street,
                now,
            )?;
            store::entry_by_id(c, entry)?.ok_or_else(AppError::not_found)
        })
        .await?;
    audit(
        state,
        caller,
        s.street_id,
        Action::Change,
        vec![e.person_id],
        "corrected",
        id,
    )
    .await?;
    Ok(e)
}

/// The entries for the supplier as an XLSX workbook in the reader's language: one row per
/// household (flat, masked name, quantity of each item, amount, note), then the totals per
/// building and overall. Audited as an export naming the persons.
pub async fn export(state: &AppState, caller: &Caller, id: i64, lang: Lang) -> AppResult<Vec<u8>> {
    let v = view(state, caller, id, lang).await?;
    let Some(rows) = v.entries.as_ref() else {
        return Err(AppError::not_found());
    };
    let bytes = workbook(&v, rows, lang)?;
    let persons: Vec<i64> = rows.iter().map(|r| r.entry.person_id).collect();
    audit(
        state,
        caller,
        v.sheet.street_id,
        Action::Export,
        persons,
        "exported",
        id,
    )
    .await?;
    Ok(bytes)
}

/// The workbook of a sheet's entries (the bench measures this).
pub fn workbook(v: &View, rows: &[Row], lang: Lang) -> AppResult<Vec<u8>> {
    let t = Tr(lang);
    let mut out: Vec<Vec<String>> = Vec::with_capacity(rows.len() + v.buildings.len() + 3);
    let mut head = vec![t.s("sheets.flat").to_string(), t.s("sheets.by").to_string()];
    head.extend(v.sheet.items.iter().map(|i| match i.price_fen {
        Some(p) => format!("{} (¥{})", i.name, model::yuan(p)),
        None => i.name.clone(),
    }));
    head.push(t.s("sheets.amount").to_string());
    head.push(t.s("sheets.note").to_string());
    out.push(head);
    for r in rows {
        let mut row = vec![r.flat.clone(), r.by.clone()];
        row.extend(r.entry.lines.iter().map(|q| q.to_string()));
        row.push(model::yuan(r.entry.amount_fen));
        row.push(r.entry.note.clone());
        out.push(row);
    }
    let total_row = |label: String, x: &Totals| {
        let mut row = vec![
            label,
            format!("{} {}", x.households, t.s("sheets.households")),
        ];
        row.extend(x.items.iter().map(|q| q.to_string()));
        row.push(model::yuan(x.amount_fen));
        row.push(String::new());
        row
    };
    out.push(Vec::new());
    for b in &v.buildings {
        out.push(total_row(b.name.clone(), &b.totals));
    }
    out.push(total_row(t.s("sheets.total").to_string(), &v.totals));
    crate::registry::export::xlsx(&out, "sheet").map_err(|e| AppError::internal("sheets: xlsx", e))
}

/// How many open sheets wait for the caller's household (the home card).
pub async fn waiting(state: &AppState, caller: &Caller) -> AppResult<i64> {
    let Some(p) = caller.person_id else {
        return Ok(0);
    };
    let now = now_ms();
    Ok(state
        .db
        .read(move |c| store::open_unanswered(c, p, now))
        .await?)
}

/// The places the caller may name in a sheet's audience: `(id, name, kind, depth)`.
pub async fn pickable(
    state: &AppState,
    caller: &Caller,
) -> AppResult<Vec<(i64, String, String, i64)>> {
    let paths = writer(caller)?.to_vec();
    Ok(state
        .db
        .read(move |c| crate::notices::store::pickable(c, &paths))
        .await?)
}
