//! The supplies area's use cases (应急物资, issue 23 part 4): those who keep a place's records
//! (a street administrator, a community or grid worker) keep its emergency stock: items at a
//! community's store, a grid's cupboard or a building's box, received in batches with expiry
//! dates (warned of thirty days ahead, discarded when past), lent and returned (first to
//! expire goes out first and comes back to its batch), counted (the difference booked and
//! kept), with a minimum level that warns when crossed. Each move is one transaction and an
//! audit entry; an item outside the caller's places is not found.

use serde::Serialize;

use super::store::{self, Batch, By, Item, Loan, Move, NewItem};
use crate::audit::{Action, NewEntry};
use crate::kernel::StatusCode;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::kernel::time::{now_ms, today};
use crate::org::{Caller, Scope};
use crate::state::AppState;

pub const CATEGORIES: [&str; 7] = [
    "water", "food", "medical", "power", "tools", "shelter", "other",
];
/// Days ahead an expiry date is warned of.
pub const WARN_DAYS: i64 = 30;
pub const MAX_QTY: i64 = 1_000_000;
pub const MAX_NAME: usize = 40;
pub const MAX_NOTE: usize = 200;

fn keeper(caller: &Caller) -> AppResult<(i64, Vec<String>)> {
    match caller.street_id {
        Some(s) if caller.reads_registry() => Ok((s, caller.scope.registry.clone())),
        _ => Err(AppError::forbidden()),
    }
}

fn days() -> (String, String) {
    let t = today();
    (
        t.to_string(),
        (t + chrono::Duration::days(WARN_DAYS)).to_string(),
    )
}

fn purpose(what: &str, id: i64) -> String {
    crate::kernel::i18n::both(&format!("supplies.purpose.{what}"), &[("id", &id)])
}

async fn audit(
    state: &AppState,
    caller: &Caller,
    street: i64,
    what: &str,
    id: i64,
) -> AppResult<()> {
    let mut e = NewEntry::by(caller, Action::Change).purpose(purpose(what, id));
    e.street_id = Some(street);
    state.audit.record(e).await?;
    Ok(())
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
        return Err(AppError::invalid("supplies.err_note_long"));
    }
    if !s.is_empty() {
        crate::kernel::text::check_line(s).map_err(AppError::invalid)?;
    }
    Ok(s.to_string())
}

fn qty(n: i64) -> AppResult<i64> {
    if n <= 0 || n > MAX_QTY {
        return Err(AppError::invalid("supplies.err_qty"));
    }
    Ok(n)
}

/// A date typed as YYYY-MM-DD (empty for none).
fn date(s: &str) -> AppResult<Option<String>> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| Some(d.to_string()))
        .map_err(|_| AppError::invalid("supplies.err_date"))
}

/// An item with what needs doing about it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SupplyItemView)]
pub struct ItemView {
    pub item: Item,
    /// The place's name: "东园社区", "3号楼".
    pub place: String,
    /// below_min, expired, expiring.
    pub warnings: Vec<String>,
}

fn warnings(i: &Item) -> Vec<String> {
    let mut w = Vec::new();
    if i.quantity < i.min_level {
        w.push("below_min".to_string());
    }
    if i.expired > 0 {
        w.push("expired".to_string());
    }
    if i.expiring > 0 {
        w.push("expiring".to_string());
    }
    w
}

fn views(c: &mut dyn crate::store::Conn, items: Vec<Item>) -> crate::store::Result<Vec<ItemView>> {
    let names =
        crate::org::places::names_above(c, items.iter().map(|i| format!("{}/_", i.place_path)))?;
    Ok(items
        .into_iter()
        .map(|i| ItemView {
            place: names
                .get(&i.place_path)
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| i.place_path.clone()),
            warnings: warnings(&i),
            item: i,
        })
        .collect())
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SupplyList)]
pub struct List {
    pub items: Vec<ItemView>,
    /// Loans past their due date.
    pub overdue_loans: i64,
}

/// The stock of the caller's places, with warnings.
pub async fn list(state: &AppState, caller: &Caller) -> AppResult<List> {
    let (street, paths) = keeper(caller)?;
    let (t, until) = days();
    Ok(state
        .db
        .read(move |c| {
            let items = store::items(c, street, &paths, &t, &until)?;
            Ok(List {
                items: views(c, items)?,
                overdue_loans: store::overdue(c, street, &paths, &t)?,
            })
        })
        .await?)
}

/// How many items need attention in the caller's places (her home card).
pub async fn attention(state: &AppState, caller: &Caller) -> AppResult<i64> {
    let l = list(state, caller).await?;
    Ok(l.items.iter().filter(|i| !i.warnings.is_empty()).count() as i64 + l.overdue_loans)
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SupplyDetail)]
pub struct Detail {
    pub view: ItemView,
    pub batches: Vec<Batch>,
    pub loans: Vec<Loan>,
    pub moves: Vec<Move>,
}

async fn own(state: &AppState, caller: &Caller, id: i64) -> AppResult<(i64, Item)> {
    let (street, paths) = keeper(caller)?;
    let (t, until) = days();
    let i = state
        .db
        .read(move |c| store::get(c, id, &t, &until))
        .await?
        .filter(|i| i.street_id == street && Scope::covers(&paths, &i.place_path))
        .ok_or_else(AppError::not_found)?;
    Ok((street, i))
}

pub async fn detail(state: &AppState, caller: &Caller, id: i64) -> AppResult<Detail> {
    let (_, i) = own(state, caller, id).await?;
    Ok(state
        .db
        .read(move |c| {
            Ok(Detail {
                batches: store::batches(c, id)?,
                loans: store::loans(c, id)?,
                moves: store::moves(c, id)?,
                view: views(c, vec![i])?.remove(0),
            })
        })
        .await?)
}

pub struct Typed {
    pub place_id: i64,
    pub name: String,
    pub category: String,
    pub unit: String,
    pub min_level: i64,
}

/// A new item at a place within the caller's places (none in stock until received).
pub async fn create(state: &AppState, caller: &Caller, t: Typed) -> AppResult<Item> {
    let (street, paths) = keeper(caller)?;
    let name = line(
        &t.name,
        MAX_NAME,
        "supplies.err_name_empty",
        "supplies.err_name_long",
    )?;
    let unit = line(&t.unit, 8, "supplies.err_unit", "supplies.err_unit")?;
    if !CATEGORIES.contains(&t.category.as_str()) {
        return Err(AppError::invalid("supplies.err_category"));
    }
    if t.min_level < 0 || t.min_level > MAX_QTY {
        return Err(AppError::invalid("supplies.err_min"));
    }
    let id = state
        .db
        .write_tx(move |c| -> AppResult<i64> {
            let place = crate::org::places::get(c, &paths, t.place_id)?
                .filter(|p| p.street_id == Some(street) || p.id == street)
                .ok_or_else(|| AppError::invalid("supplies.err_place"))?;
            let n = NewItem {
                street_id: street,
                place_id: place.id,
                place_path: &place.path,
                name: &name,
                category: &t.category,
                unit: &unit,
                min_level: t.min_level,
            };
            match store::insert_item(c, &n, now_ms()) {
                Ok(id) => Ok(id),
                Err(crate::store::StoreError::Conflict(_)) => Err(AppError::new(
                    StatusCode::CONFLICT,
                    Code::Conflict,
                    "supplies.err_name_taken",
                )),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    audit(state, caller, street, "created", id).await?;
    Ok(own(state, caller, id).await?.1)
}

/// One move on an item the caller keeps, in one transaction, then its audit entry.
async fn apply<T: Send + 'static>(
    state: &AppState,
    caller: &Caller,
    id: i64,
    what: &str,
    f: impl FnOnce(&mut dyn crate::store::Conn, &By) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let (street, _) = own(state, caller, id).await?;
    let name = caller.display_name.clone();
    let out = state
        .db
        .write_tx(move |c| -> AppResult<T> {
            let by = By {
                name: &name,
                at: now_ms(),
            };
            f(c, &by)
        })
        .await?;
    audit(state, caller, street, what, id).await?;
    Ok(out)
}

fn not_enough(have: i64) -> AppError {
    AppError::with_message(
        StatusCode::CONFLICT,
        Code::StateConflict,
        crate::kernel::i18n::both("supplies.err_not_enough", &[("n", &have)]),
    )
}

pub async fn receive(
    state: &AppState,
    caller: &Caller,
    id: i64,
    n: i64,
    expires_on: &str,
    note_text: &str,
) -> AppResult<i64> {
    let n = qty(n)?;
    let exp = date(expires_on)?;
    let note_text = note(note_text)?;
    apply(state, caller, id, "received", move |c, by| {
        Ok(store::receive(c, id, n, exp.as_deref(), &note_text, by)?)
    })
    .await
}

pub async fn lend(
    state: &AppState,
    caller: &Caller,
    id: i64,
    n: i64,
    borrower: &str,
    due_on: &str,
) -> AppResult<i64> {
    let n = qty(n)?;
    let borrower = line(
        borrower,
        MAX_NAME,
        "supplies.err_borrower",
        "supplies.err_borrower",
    )?;
    let due = date(due_on)?;
    apply(state, caller, id, "lent", move |c, by| {
        if !store::lock_enough(c, id, n, by.at)? {
            let have = c.query_i64(
                "SELECT quantity FROM supply_items WHERE id = $1",
                crate::params![id],
            )?;
            return Err(not_enough(have));
        }
        Ok(store::lend(c, id, n, &borrower, due.as_deref(), by)?)
    })
    .await
}

/// Takes back part or all of a loan.
pub async fn give_back(state: &AppState, caller: &Caller, loan_id: i64, n: i64) -> AppResult<Loan> {
    let n = qty(n)?;
    let item = state
        .db
        .read(move |c| store::get_loan(c, loan_id))
        .await?
        .ok_or_else(AppError::not_found)?
        .item_id;
    apply(state, caller, item, "returned", move |c, by| {
        let l = store::get_loan(c, loan_id)?.ok_or_else(AppError::not_found)?;
        store::lock_enough(c, l.item_id, 0, by.at)?;
        let out = l.quantity - l.returned;
        if l.closed_at.is_some() || n > out {
            return Err(AppError::with_message(
                StatusCode::CONFLICT,
                Code::StateConflict,
                crate::kernel::i18n::both("supplies.err_return_more", &[("n", &out)]),
            ));
        }
        store::give_back(c, &l, n, by)?;
        Ok(store::get_loan(c, loan_id)?.unwrap_or(l))
    })
    .await
}

/// An inventory count; the difference booked.
pub async fn count(
    state: &AppState,
    caller: &Caller,
    id: i64,
    counted: i64,
    note_text: &str,
) -> AppResult<i64> {
    if !(0..=MAX_QTY).contains(&counted) {
        return Err(AppError::invalid("supplies.err_qty"));
    }
    let note_text = note(note_text)?;
    apply(state, caller, id, "counted", move |c, by| {
        store::lock_enough(c, id, 0, by.at)?;
        Ok(store::count(c, id, counted, &note_text, by)?)
    })
    .await
}

pub async fn discard_expired(state: &AppState, caller: &Caller, id: i64) -> AppResult<i64> {
    let t = today().to_string();
    apply(state, caller, id, "discarded", move |c, by| {
        store::lock_enough(c, id, 0, by.at)?;
        Ok(store::discard_expired(c, id, &t, by)?)
    })
    .await
}

pub async fn set_min(state: &AppState, caller: &Caller, id: i64, min: i64) -> AppResult<()> {
    if !(0..=MAX_QTY).contains(&min) {
        return Err(AppError::invalid("supplies.err_min"));
    }
    apply(state, caller, id, "min", move |c, by| {
        Ok(store::set_min(c, id, min, by.at)?)
    })
    .await
}

/// The places an item may be kept at: the communities, grids and buildings of the caller's
/// places (at most 300), as `(id, name with its community)`.
pub async fn places(state: &AppState, caller: &Caller) -> AppResult<Vec<(i64, String)>> {
    let (_, paths) = keeper(caller)?;
    Ok(state
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for kind in ["community", "grid"] {
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
                out.extend(page.items.into_iter().map(|p| (p.id, p.path, p.name)));
            }
            out.sort_by(|a, b| a.1.cmp(&b.1));
            Ok(out.into_iter().map(|(id, _, n)| (id, n)).collect())
        })
        .await?)
}
