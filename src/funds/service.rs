//! The funds area's use cases (楼道基金 · 公共资金, issue 25 part 4), shared by the pages and
//! the API. The rule is in `model`'s opening words.
//!
//! **Who does what.** A worker who keeps a place's records opens a fund for a building (or a
//! grid or community, for an estate's fund) in her places and names its representatives:
//! accounts of residents who live there. The fund's members — the residents who live under
//! its place — its representatives and the workers who keep the place see the ledger, the
//! running balance and the receipts, and export it. Representatives and those workers propose
//! entries and attach receipts until an entry is approved; only representatives approve.
//! Anyone else gets 404; a member who may not propose gets 403.

use serde::Serialize;
use utoipa::ToSchema;

use super::model::{self, Entry, Fund, Kind, Rep};
use super::store::{self, NewEntry, NewFund};
use crate::audit::{Action, NewEntry as AuditEntry};
use crate::kernel::StatusCode;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::kernel::i18n::{Lang, Tr};
use crate::kernel::time::now_ms;
use crate::org::{Caller, Scope};
use crate::state::AppState;
use crate::store::Conn;

fn conflict(key: &str) -> AppError {
    AppError::new(StatusCode::CONFLICT, Code::StateConflict, key)
}

async fn audit(
    state: &AppState,
    caller: &Caller,
    street: i64,
    what: &str,
    id: i64,
) -> AppResult<()> {
    let mut e = AuditEntry::by(caller, Action::Change).purpose(crate::kernel::i18n::both(
        &format!("funds.purpose.{what}"),
        &[("id", &id)],
    ));
    e.street_id = Some(street);
    state.audit.record(e).await?;
    Ok(())
}

/// A read whose answer may be a refusal.
async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut dyn Conn) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    state.db.read(move |c| Ok(f(c))).await?
}

/// Whether the caller keeps the records of a fund's place.
fn keeps(caller: &Caller, f: &Fund) -> bool {
    caller.reads_registry() && Scope::covers(&caller.scope.registry, &f.place_path)
}

/// Whether the caller opens funds (the "new fund" button).
pub fn may_open(caller: &Caller) -> bool {
    caller.reads_registry() && !caller.scope.registry.is_empty()
}

/// Where a resident lives now (her record's place), if she has not left.
fn home(c: &mut dyn Conn, person: Option<i64>) -> AppResult<Option<String>> {
    let Some(p) = person else { return Ok(None) };
    Ok(crate::registry::residents::resident(c, p)?
        .filter(|r| r.residence != "left")
        .map(|r| r.place_path))
}

/// How the caller stands to a fund.
#[derive(Clone, Copy, Debug, Default, Serialize, ToSchema)]
#[schema(as = FundStanding)]
pub struct Standing {
    /// She keeps the place's records.
    pub keeps: bool,
    /// She is a representative.
    pub representative: bool,
    /// She lives under the fund's place.
    pub member: bool,
}

impl Standing {
    pub fn sees(&self) -> bool {
        self.keeps || self.representative || self.member
    }
    pub fn proposes(&self) -> bool {
        self.keeps || self.representative
    }
}

fn standing(c: &mut dyn Conn, caller: &Caller, f: &Fund, reps: &[Rep]) -> AppResult<Standing> {
    let member = home(c, caller.person_id)?
        .is_some_and(|h| Scope::covers(std::slice::from_ref(&f.place_path), &h));
    Ok(Standing {
        keeps: keeps(caller, f),
        representative: reps.iter().any(|r| r.user_id == caller.user_id),
        member,
    })
}

/// The fund, its representatives and how the caller stands: 404 for one who does not see it.
fn seen(c: &mut dyn Conn, caller: &Caller, id: i64) -> AppResult<(Fund, Vec<Rep>, Standing)> {
    let f = store::get(c, id)?.ok_or_else(AppError::not_found)?;
    let reps = store::reps(c, id)?;
    let s = standing(c, caller, &f, &reps)?;
    if !s.sees() {
        return Err(AppError::not_found());
    }
    Ok((f, reps, s))
}

/// A new fund at a building, grid or community the caller keeps, with its representatives
/// (residents' accounts who live there) and its rule.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    place: i64,
    name: &str,
    reps: Vec<i64>,
    required: i64,
) -> AppResult<Fund> {
    if !may_open(caller) {
        return Err(AppError::forbidden());
    }
    let name = model::name(name)?;
    model::rule(&reps, required)?;
    let scope = caller.scope.registry.clone();
    let (by, by_name) = (caller.user_id, caller.display_name.clone());
    let now = now_ms();
    let (id, street) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, i64)> {
            let p = crate::org::places::get(c, &scope, place)?
                .filter(|p| matches!(p.kind.as_str(), "building" | "grid" | "community"))
                .ok_or_else(|| AppError::invalid("funds.err_place"))?;
            let street = p
                .street_id
                .ok_or_else(|| AppError::invalid("funds.err_place"))?;
            if store::by_name(c, place, &name)?.is_some() {
                return Err(conflict("funds.err_name_taken"));
            }
            let mut named = Vec::with_capacity(reps.len());
            for u in &reps {
                let user = crate::org::users::by_id(c, *u)?
                    .filter(|u| u.active && u.street_id == Some(street))
                    .ok_or_else(|| AppError::invalid("funds.err_rep_unknown"))?;
                let lives = home(c, user.person_id)?
                    .is_some_and(|h| Scope::covers(std::slice::from_ref(&p.path), &h));
                if !lives {
                    return Err(AppError::invalid("funds.err_rep_not_member"));
                }
                named.push(Rep {
                    user_id: user.id,
                    name: user.display_name,
                });
            }
            let id = store::insert(
                c,
                &NewFund {
                    street_id: street,
                    place_id: place,
                    place_path: &p.path,
                    name: &name,
                    required,
                    created_by: by,
                    created_by_name: &by_name,
                },
                &named,
                now,
            )?;
            Ok((id, street))
        })
        .await?;
    audit(state, caller, street, "created", id).await?;
    let caller = caller.clone();
    Ok(read(state, move |c| seen(c, &caller, id)).await?.0)
}

/// A fund in a list.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = FundListed)]
pub struct Listed {
    pub fund: Fund,
    pub balance_fen: i64,
    pub standing: Standing,
    /// Entries waiting for approval.
    pub proposed: i64,
}

/// The funds the caller sees.
pub async fn list(state: &AppState, caller: &Caller) -> AppResult<Vec<Listed>> {
    let caller = caller.clone();
    read(state, move |c| -> AppResult<Vec<Listed>> {
        let paths = if caller.reads_registry() {
            caller.scope.registry.clone()
        } else {
            Vec::new()
        };
        let h = home(c, caller.person_id)?;
        let mut out = Vec::new();
        for f in store::visible(c, &paths, h.as_deref(), caller.user_id)? {
            let reps = store::reps(c, f.id)?;
            let standing = standing(c, &caller, &f, &reps)?;
            if !standing.sees() {
                continue;
            }
            let proposed = store::entries(c, f.id)?
                .iter()
                .filter(|e| !e.approved && e.withdrawn_at.is_none())
                .count() as i64;
            out.push(Listed {
                balance_fen: store::balance(c, f.id)?,
                fund: f,
                standing,
                proposed,
            });
        }
        Ok(out)
    })
    .await
}

/// An approved entry with the balance after it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = FundLine)]
pub struct Line {
    pub entry: Entry,
    /// The balance once this entry counted (approved entries only).
    pub balance_fen: Option<i64>,
}

/// A fund as the caller sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = FundView)]
pub struct View {
    pub fund: Fund,
    pub representatives: Vec<Rep>,
    pub standing: Standing,
    pub balance_fen: i64,
    /// Approved entries in the order they counted, then those proposed.
    pub lines: Vec<Line>,
}

pub async fn view(state: &AppState, caller: &Caller, id: i64) -> AppResult<View> {
    let caller = caller.clone();
    read(state, move |c| -> AppResult<View> {
        let (fund, reps, standing) = seen(c, &caller, id)?;
        let mut running = 0;
        let lines = store::entries(c, id)?
            .into_iter()
            .map(|e| {
                let balance_fen = e.approved.then(|| {
                    running += e.sign * e.amount_fen;
                    running
                });
                Line {
                    entry: e,
                    balance_fen,
                }
            })
            .collect();
        Ok(View {
            balance_fen: running,
            fund,
            representatives: reps,
            standing,
            lines,
        })
    })
    .await
}

/// Proposes income or an expense. An expense beyond the balance is refused.
pub async fn propose(
    state: &AppState,
    caller: &Caller,
    id: i64,
    kind: Kind,
    amount_fen: i64,
    purpose: &str,
) -> AppResult<Entry> {
    if kind == Kind::Reversal {
        return Err(AppError::invalid("funds.err_kind"));
    }
    let amount_fen = model::amount(amount_fen)?;
    let purpose = model::purpose(purpose, "funds.err_purpose")?;
    let caller2 = caller.clone();
    let now = now_ms();
    let (street, e) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, Entry)> {
            let (f, _, s) = seen(c, &caller2, id)?;
            if !s.proposes() {
                return Err(AppError::forbidden());
            }
            store::lock(c, id)?;
            let sign = if kind == Kind::Expense { -1 } else { 1 };
            if sign < 0 && store::balance(c, id)? < amount_fen {
                return Err(conflict("funds.err_overspend"));
            }
            let eid = store::insert_entry(
                c,
                &NewEntry {
                    fund_id: id,
                    street_id: f.street_id,
                    kind,
                    sign,
                    amount_fen,
                    purpose: &purpose,
                    reverses_id: None,
                    by_user: caller2.user_id,
                    by_name: &caller2.display_name,
                },
                now,
            )?;
            Ok((
                f.street_id,
                store::entry_by_id(c, eid)?.ok_or_else(AppError::not_found)?,
            ))
        })
        .await?;
    audit(state, caller, street, "proposed", e.id).await?;
    Ok(e)
}

/// Proposes the reversal of an approved entry, with the reason: the mistake stays in the
/// ledger and the reversal, once approved, undoes its amount.
pub async fn reverse(
    state: &AppState,
    caller: &Caller,
    id: i64,
    entry: i64,
    reason: &str,
) -> AppResult<Entry> {
    let reason = model::purpose(reason, "funds.err_reason")?;
    let caller2 = caller.clone();
    let now = now_ms();
    let (street, e) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, Entry)> {
            let (f, _, s) = seen(c, &caller2, id)?;
            if !s.proposes() {
                return Err(AppError::forbidden());
            }
            store::lock(c, id)?;
            let old = store::entry_by_id(c, entry)?
                .filter(|e| e.fund_id == id)
                .ok_or_else(AppError::not_found)?;
            if !old.approved {
                return Err(conflict("funds.err_reverse_proposed"));
            }
            if old.reversed_by.is_some() || old.kind == Kind::Reversal {
                return Err(conflict("funds.err_reversed"));
            }
            let sign = -old.sign;
            if sign < 0 && store::balance(c, id)? < old.amount_fen {
                return Err(conflict("funds.err_overspend"));
            }
            let eid = store::insert_entry(
                c,
                &NewEntry {
                    fund_id: id,
                    street_id: f.street_id,
                    kind: Kind::Reversal,
                    sign,
                    amount_fen: old.amount_fen,
                    purpose: &reason,
                    reverses_id: Some(entry),
                    by_user: caller2.user_id,
                    by_name: &caller2.display_name,
                },
                now,
            )?;
            Ok((
                f.street_id,
                store::entry_by_id(c, eid)?.ok_or_else(AppError::not_found)?,
            ))
        })
        .await?;
    audit(state, caller, street, "reversal", e.id).await?;
    Ok(e)
}

/// A representative approves a proposed entry: once, never her own; with the last approval
/// the rule asks for, the entry counts — unless it would take the balance below zero, when
/// the approval is refused and nothing is kept.
pub async fn approve(state: &AppState, caller: &Caller, id: i64, entry: i64) -> AppResult<Entry> {
    let caller2 = caller.clone();
    let now = now_ms();
    let (street, e) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, Entry)> {
            let (f, _, s) = seen(c, &caller2, id)?;
            if !s.representative {
                return Err(AppError::forbidden());
            }
            store::lock(c, id)?;
            let e = store::entry_by_id(c, entry)?
                .filter(|e| e.fund_id == id)
                .ok_or_else(AppError::not_found)?;
            if e.approved {
                return Err(conflict("funds.err_already_approved"));
            }
            if e.withdrawn_at.is_some() {
                return Err(conflict("funds.err_withdrawn"));
            }
            if e.by_user == caller2.user_id {
                return Err(conflict("funds.err_own"));
            }
            if e.approvals.iter().any(|a| a.user_id == caller2.user_id) {
                return Err(conflict("funds.err_twice"));
            }
            store::approve(
                c,
                entry,
                f.street_id,
                caller2.user_id,
                &caller2.display_name,
                now,
            )?;
            if e.approvals.len() as i64 + 1 >= f.required {
                if e.sign < 0 && store::balance(c, id)? < e.amount_fen {
                    return Err(conflict("funds.err_overspend"));
                }
                store::mark_approved(c, entry, now)?;
            }
            Ok((
                f.street_id,
                store::entry_by_id(c, entry)?.ok_or_else(AppError::not_found)?,
            ))
        })
        .await?;
    audit(state, caller, street, "approved", e.id).await?;
    Ok(e)
}

/// Its proposer withdraws an entry not yet approved: it stays in the history as withdrawn
/// and never counts; approvals given so far lapse. Once approved nothing is withdrawn (409: a
/// mistake is a reversing entry). 403 for anyone but the proposer among those who see the
/// fund, 404 for one who does not see it.
pub async fn withdraw(state: &AppState, caller: &Caller, id: i64, entry: i64) -> AppResult<Entry> {
    let caller2 = caller.clone();
    let now = now_ms();
    let (street, e) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, Entry)> {
            let (f, _, _) = seen(c, &caller2, id)?;
            store::lock(c, id)?;
            let e = store::entry_by_id(c, entry)?
                .filter(|e| e.fund_id == id)
                .ok_or_else(AppError::not_found)?;
            if e.by_user != caller2.user_id {
                return Err(AppError::forbidden());
            }
            if e.approved {
                return Err(conflict("funds.err_withdraw_approved"));
            }
            if e.withdrawn_at.is_some() || !store::withdraw(c, entry, now)? {
                return Err(conflict("funds.err_withdrawn"));
            }
            Ok((
                f.street_id,
                store::entry_by_id(c, entry)?.ok_or_else(AppError::not_found)?,
            ))
        })
        .await?;
    audit(state, caller, street, "withdrawn", e.id).await?;
    Ok(e)
}

/// A receipt photo for an entry not yet approved: JPEG or PNG by its content, at most 2 MB,
/// four an entry; its EXIF (a location, a phone) removed before it is kept.
pub async fn add_receipt(
    state: &AppState,
    caller: &Caller,
    id: i64,
    entry: i64,
    bytes: Vec<u8>,
) -> AppResult<i64> {
    if bytes.len() > model::MAX_RECEIPT_BYTES {
        return Err(AppError::invalid("funds.err_receipt_size"));
    }
    let kind = crate::cases::photos::sniff(&bytes)
        .ok_or_else(|| AppError::invalid("funds.err_receipt_type"))?;
    let clean = match kind {
        crate::cases::photos::Kind::Jpeg => crate::cases::photos::strip_exif(&bytes),
        crate::cases::photos::Kind::Png => crate::cases::photos::strip_png_metadata(&bytes),
    };
    let caller2 = caller.clone();
    let now = now_ms();
    let (street, rid) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, i64)> {
            let (f, _, s) = seen(c, &caller2, id)?;
            if !s.proposes() {
                return Err(AppError::forbidden());
            }
            let e = store::entry_by_id(c, entry)?
                .filter(|e| e.fund_id == id)
                .ok_or_else(AppError::not_found)?;
            if e.approved {
                return Err(conflict("funds.err_locked"));
            }
            if e.withdrawn_at.is_some() {
                return Err(conflict("funds.err_withdrawn"));
            }
            if store::receipts_of(c, entry)? >= model::MAX_RECEIPTS {
                return Err(AppError::invalid("funds.err_receipts_many"));
            }
            let rid = store::insert_receipt(c, &e, f.street_id, kind.mime(), clean, now)?;
            Ok((f.street_id, rid))
        })
        .await?;
    audit(state, caller, street, "receipt", entry).await?;
    Ok(rid)
}

/// A receipt's type and bytes, for those who see its fund.
pub async fn receipt(state: &AppState, caller: &Caller, rid: i64) -> AppResult<(String, Vec<u8>)> {
    let caller = caller.clone();
    read(state, move |c| -> AppResult<(String, Vec<u8>)> {
        let (fund, mime, bytes) = store::receipt(c, rid)?.ok_or_else(AppError::not_found)?;
        seen(c, &caller, fund)?;
        Ok((mime, bytes))
    })
    .await
}

/// The ledger as rows: date, kind, purpose, in, out, balance, proposer, approvers.
fn rows(v: &View, lang: Lang) -> Vec<Vec<String>> {
    let t = Tr(lang);
    let mut out = vec![
        [
            "funds.col_date",
            "funds.col_kind",
            "funds.col_purpose",
            "funds.col_in",
            "funds.col_out",
            "funds.col_balance",
            "funds.col_by",
            "funds.col_approved_by",
        ]
        .iter()
        .map(|k| t.s(k).to_string())
        .collect(),
    ];
    for l in v.lines.iter().filter(|l| l.entry.approved) {
        let e = &l.entry;
        let yuan = model::yuan(e.amount_fen);
        out.push(vec![
            crate::kernel::time::local_date(e.approved_at.unwrap_or(e.created_at)),
            t.k("funds.kind", e.kind.as_str()).to_string(),
            e.purpose.clone(),
            if e.sign > 0 {
                yuan.clone()
            } else {
                String::new()
            },
            if e.sign < 0 { yuan } else { String::new() },
            model::yuan(l.balance_fen.unwrap_or(0)),
            e.by_name.clone(),
            e.approvals
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    out
}

/// The ledger as CSV or XLSX, for those who see the fund (audited).
pub async fn export(
    state: &AppState,
    caller: &Caller,
    id: i64,
    xlsx: bool,
    lang: Lang,
) -> AppResult<Vec<u8>> {
    let v = view(state, caller, id).await?;
    let rows = rows(&v, lang);
    let bytes = if xlsx {
        crate::registry::export::xlsx(&rows, "fund")
            .map_err(|e| AppError::internal("funds: xlsx", e))?
    } else {
        let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
        for r in &rows {
            let r: Vec<String> = r
                .iter()
                .map(|c| crate::registry::export::neutralise(c))
                .collect();
            w.write_record(&r)
                .map_err(|e| AppError::internal("funds: csv", e))?;
        }
        w.into_inner()
            .map_err(|e| AppError::internal("funds: csv", e.to_string()))?
    };
    let mut e = AuditEntry::by(caller, Action::Export).purpose(crate::kernel::i18n::both(
        "funds.purpose.exported",
        &[("id", &id)],
    ));
    e.street_id = Some(v.fund.street_id);
    state.audit.record(e).await?;
    Ok(bytes)
}

/// How many entries wait for the caller's approval as a representative (the home card).
pub async fn waiting(state: &AppState, caller: &Caller) -> AppResult<i64> {
    let u = caller.user_id;
    Ok(state.db.read(move |c| store::waiting_for(c, u)).await?)
}

/// The places the caller may open a fund at: `(id, name, kind, depth)`.
pub async fn places(
    state: &AppState,
    caller: &Caller,
) -> AppResult<Vec<(i64, String, String, i64)>> {
    if !may_open(caller) {
        return Err(AppError::forbidden());
    }
    let paths = caller.scope.registry.clone();
    Ok(state
        .db
        .read(move |c| crate::notices::store::pickable(c, &paths))
        .await?
        .into_iter()
        .filter(|(_, _, k, _)| k != "street")
        .collect())
}

/// Accounts by name, for the representatives typed on the page.
pub async fn accounts(state: &AppState, names: Vec<String>) -> AppResult<Vec<i64>> {
    read(state, move |c| -> AppResult<Vec<i64>> {
        names
            .iter()
            .map(|n| {
                crate::org::users::exists(c, n.trim())?
                    .ok_or_else(|| AppError::invalid("funds.err_rep_unknown"))
            })
            .collect()
    })
    .await
}
