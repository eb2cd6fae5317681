//! The supplies area's tables: items kept at a place, their batches with expiry dates, loans
//! and the batches they took from, and the ledger of moves. An item's quantity is the sum of
//! its batches' remaining, kept with every move in the same transaction.

use serde::Serialize;

use crate::params;
use crate::store::{Conn, Result, Row, Val, under_paths};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SupplyItem)]
pub struct Item {
    pub id: i64,
    pub street_id: i64,
    pub place_id: i64,
    pub place_path: String,
    pub name: String,
    pub category: String,
    pub unit: String,
    pub min_level: i64,
    pub quantity: i64,
    /// Out on loan, not yet returned.
    pub lent: i64,
    /// Remaining in batches past their expiry date.
    pub expired: i64,
    /// Remaining in batches that expire within the warning period.
    pub expiring: i64,
    /// The earliest expiry date of what remains.
    pub next_expiry: Option<String>,
    pub updated_at: i64,
}

/// The item's columns, with `$2` today and `$3` the end of the warning period.
const ITEM_COLS: &str = "i.id, i.street_id, i.place_id, i.place_path, i.name, i.category, i.unit, i.min_level, i.quantity, \
     (SELECT CAST(COALESCE(SUM(l.quantity - l.returned), 0) AS BIGINT) FROM supply_loans l WHERE l.item_id = i.id AND l.closed_at IS NULL), \
     (SELECT CAST(COALESCE(SUM(b.remaining), 0) AS BIGINT) FROM supply_batches b WHERE b.item_id = i.id AND b.remaining > 0 AND b.expires_on < $2), \
     (SELECT CAST(COALESCE(SUM(b.remaining), 0) AS BIGINT) FROM supply_batches b WHERE b.item_id = i.id AND b.remaining > 0 AND b.expires_on >= $2 AND b.expires_on <= $3), \
     (SELECT MIN(b.expires_on) FROM supply_batches b WHERE b.item_id = i.id AND b.remaining > 0), \
     i.updated_at";

fn item(r: &Row) -> Item {
    Item {
        id: r.i64(0),
        street_id: r.i64(1),
        place_id: r.i64(2),
        place_path: r.str(3),
        name: r.str(4),
        category: r.str(5),
        unit: r.str(6),
        min_level: r.i64(7),
        quantity: r.i64(8),
        lent: r.i64(9),
        expired: r.i64(10),
        expiring: r.i64(11),
        next_expiry: r.opt_str(12),
        updated_at: r.i64(13),
    }
}

/// The items of a street under `paths`, in place order.
pub fn items(
    c: &mut dyn Conn,
    street_id: i64,
    paths: &[String],
    today: &str,
    warn_until: &str,
) -> Result<Vec<Item>> {
    let mut p: Vec<Val> = vec![
        Val::Int(street_id),
        Val::Text(today.into()),
        Val::Text(warn_until.into()),
    ];
    let cond = under_paths("i.place_path", paths, 4, &mut p);
    Ok(c.query(
        &format!(
            "SELECT {ITEM_COLS} FROM supply_items i WHERE i.street_id = $1 AND {cond} \
             ORDER BY i.place_path, i.name"
        ),
        &p,
    )?
    .iter()
    .map(item)
    .collect())
}

pub fn get(c: &mut dyn Conn, id: i64, today: &str, warn_until: &str) -> Result<Option<Item>> {
    Ok(c.query_opt(
        &format!("SELECT {ITEM_COLS} FROM supply_items i WHERE i.id = $1"),
        params![id, today, warn_until],
    )?
    .as_ref()
    .map(item))
}

pub struct NewItem<'a> {
    pub street_id: i64,
    pub place_id: i64,
    pub place_path: &'a str,
    pub name: &'a str,
    pub category: &'a str,
    pub unit: &'a str,
    pub min_level: i64,
}

pub fn insert_item(c: &mut dyn Conn, n: &NewItem, now: i64) -> Result<i64> {
    c.query_i64(
        "INSERT INTO supply_items (street_id, place_id, place_path, name, category, unit, min_level, quantity, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8) RETURNING id",
        params![
            n.street_id,
            n.place_id,
            n.place_path,
            n.name,
            n.category,
            n.unit,
            n.min_level,
            now
        ],
    )
}

pub fn set_min(c: &mut dyn Conn, id: i64, min: i64, now: i64) -> Result<()> {
    c.exec(
        "UPDATE supply_items SET min_level = $2, updated_at = $3 WHERE id = $1",
        params![id, min, now],
    )?;
    Ok(())
}

/// Who moved it and when.
pub struct By<'a> {
    pub name: &'a str,
    pub at: i64,
}

/// Writes a move and the item's new quantity; the quantity after.
fn moved(c: &mut dyn Conn, item: i64, kind: &str, delta: i64, note: &str, by: &By) -> Result<i64> {
    c.exec(
        "UPDATE supply_items SET quantity = quantity + $2, updated_at = $3 WHERE id = $1",
        params![item, delta, by.at],
    )?;
    let after = c.query_i64(
        "SELECT quantity FROM supply_items WHERE id = $1",
        params![item],
    )?;
    c.exec(
        "INSERT INTO supply_moves (street_id, item_id, kind, delta, quantity_after, note, by_name, at) \
         SELECT street_id, id, $2, $3, $4, $5, $6, $7 FROM supply_items WHERE id = $1",
        params![item, kind, delta, after, note, by.name, by.at],
    )?;
    Ok(after)
}

/// Stock received: a batch of its own (with its expiry date, if any).
pub fn receive(
    c: &mut dyn Conn,
    item: i64,
    qty: i64,
    expires_on: Option<&str>,
    note: &str,
    by: &By,
) -> Result<i64> {
    c.exec(
        "INSERT INTO supply_batches (street_id, item_id, received, remaining, expires_on, received_at) \
         SELECT street_id, id, $2, $2, $3, $4 FROM supply_items WHERE id = $1",
        params![item, qty, expires_on.map(str::to_string), by.at],
    )?;
    moved(c, item, "received", qty, note, by)
}

/// Takes `qty` from the batches, first to expire first (those without a date last); the
/// batches and how much was taken from each. The caller checked there is enough.
fn take(c: &mut dyn Conn, item: i64, qty: i64) -> Result<Vec<(i64, i64)>> {
    let rows = c.query(
        "SELECT id, remaining FROM supply_batches WHERE item_id = $1 AND remaining > 0 \
         ORDER BY CASE WHEN expires_on IS NULL THEN 1 ELSE 0 END, expires_on, id",
        params![item],
    )?;
    let mut left = qty;
    let mut out = Vec::new();
    for r in rows {
        if left == 0 {
            break;
        }
        let n = r.i64(1).min(left);
        c.exec(
            "UPDATE supply_batches SET remaining = remaining - $2 WHERE id = $1",
            params![r.i64(0), n],
        )?;
        out.push((r.i64(0), n));
        left -= n;
    }
    Ok(out)
}

/// Locks the item's row for the rest of the transaction (PostgreSQL serialises moves of one
/// item on it; SQLite has one writer) and says whether it holds at least `qty`.
pub fn lock_enough(c: &mut dyn Conn, item: i64, qty: i64, now: i64) -> Result<bool> {
    c.exec(
        "UPDATE supply_items SET updated_at = $2 WHERE id = $1",
        params![item, now],
    )?;
    Ok(c.query_i64(
        "SELECT quantity FROM supply_items WHERE id = $1",
        params![item],
    )? >= qty)
}

/// Lends `qty` to a borrower: taken from the batches that expire first. The caller holds the
/// item's lock and checked there is enough.
pub fn lend(
    c: &mut dyn Conn,
    item: i64,
    qty: i64,
    borrower: &str,
    due_on: Option<&str>,
    by: &By,
) -> Result<i64> {
    let parts = take(c, item, qty)?;
    let loan = c.query_i64(
        "INSERT INTO supply_loans (street_id, item_id, quantity, returned, borrower, due_on, lent_by_name, lent_at) \
         SELECT street_id, id, $2, 0, $3, $4, $5, $6 FROM supply_items WHERE id = $1 RETURNING id",
        params![item, qty, borrower, due_on.map(str::to_string), by.name, by.at],
    )?;
    for (batch, n) in parts {
        c.exec(
            "INSERT INTO supply_loan_parts (loan_id, batch_id, quantity, returned) VALUES ($1, $2, $3, 0)",
            params![loan, batch, n],
        )?;
    }
    moved(c, item, "lent", -qty, borrower, by)?;
    Ok(loan)
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SupplyLoan)]
pub struct Loan {
    pub id: i64,
    pub item_id: i64,
    pub quantity: i64,
    pub returned: i64,
    pub borrower: String,
    pub due_on: Option<String>,
    pub lent_by_name: String,
    pub lent_at: i64,
    pub closed_at: Option<i64>,
}

fn loan(r: &Row) -> Loan {
    Loan {
        id: r.i64(0),
        item_id: r.i64(1),
        quantity: r.i64(2),
        returned: r.i64(3),
        borrower: r.str(4),
        due_on: r.opt_str(5),
        lent_by_name: r.str(6),
        lent_at: r.i64(7),
        closed_at: r.opt_i64(8),
    }
}

const LOAN_COLS: &str =
    "id, item_id, quantity, returned, borrower, due_on, lent_by_name, lent_at, closed_at";

pub fn get_loan(c: &mut dyn Conn, id: i64) -> Result<Option<Loan>> {
    Ok(c.query_opt(
        &format!("SELECT {LOAN_COLS} FROM supply_loans WHERE id = $1"),
        params![id],
    )?
    .as_ref()
    .map(loan))
}

/// An item's loans: the open ones, then the last twenty closed.
pub fn loans(c: &mut dyn Conn, item: i64) -> Result<Vec<Loan>> {
    let mut out: Vec<Loan> = c
        .query(
            &format!("SELECT {LOAN_COLS} FROM supply_loans WHERE item_id = $1 AND closed_at IS NULL ORDER BY lent_at"),
            params![item],
        )?
        .iter()
        .map(loan)
        .collect();
    out.extend(
        c.query(
            &format!("SELECT {LOAN_COLS} FROM supply_loans WHERE item_id = $1 AND closed_at IS NOT NULL ORDER BY closed_at DESC LIMIT 20"),
            params![item],
        )?
        .iter()
        .map(loan),
    );
    Ok(out)
}

/// Takes back `qty` of a loan into the batches it came from; closes it when all is back.
pub fn give_back(c: &mut dyn Conn, l: &Loan, qty: i64, by: &By) -> Result<i64> {
    let parts = c.query(
        "SELECT batch_id, quantity - returned FROM supply_loan_parts WHERE loan_id = $1 AND quantity > returned ORDER BY batch_id",
        params![l.id],
    )?;
    let mut left = qty;
    for r in parts {
        if left == 0 {
            break;
        }
        let n = r.i64(1).min(left);
        c.exec(
            "UPDATE supply_loan_parts SET returned = returned + $3 WHERE loan_id = $1 AND batch_id = $2",
            params![l.id, r.i64(0), n],
        )?;
        c.exec(
            "UPDATE supply_batches SET remaining = remaining + $2 WHERE id = $1",
            params![r.i64(0), n],
        )?;
        left -= n;
    }
    let done = l.returned + qty >= l.quantity;
    c.exec(
        "UPDATE supply_loans SET returned = returned + $2, closed_at = $3 WHERE id = $1",
        params![l.id, qty, done.then_some(by.at)],
    )?;
    moved(c, l.item_id, "returned", qty, &l.borrower, by)
}

/// An inventory count: what was counted against what the books say; the difference is
/// booked (a loss from the batches that expire first, a surplus as a batch of its own).
pub fn count(c: &mut dyn Conn, item: i64, counted: i64, note: &str, by: &By) -> Result<i64> {
    let booked = c.query_i64(
        "SELECT quantity FROM supply_items WHERE id = $1",
        params![item],
    )?;
    let diff = counted - booked;
    if diff < 0 {
        take(c, item, -diff)?;
    } else if diff > 0 {
        c.exec(
            "INSERT INTO supply_batches (street_id, item_id, received, remaining, expires_on, received_at) \
             SELECT street_id, id, $2, $2, NULL, $3 FROM supply_items WHERE id = $1",
            params![item, diff, by.at],
        )?;
    }
    moved(c, item, "counted", diff, note, by)?;
    Ok(diff)
}

/// Discards what is past its expiry date; how much.
pub fn discard_expired(c: &mut dyn Conn, item: i64, today: &str, by: &By) -> Result<i64> {
    let n = c.query_i64(
        "SELECT CAST(COALESCE(SUM(remaining), 0) AS BIGINT) FROM supply_batches WHERE item_id = $1 AND remaining > 0 AND expires_on < $2",
        params![item, today],
    )?;
    if n == 0 {
        return Ok(0);
    }
    c.exec(
        "UPDATE supply_batches SET remaining = 0 WHERE item_id = $1 AND remaining > 0 AND expires_on < $2",
        params![item, today],
    )?;
    moved(c, item, "discarded", -n, "", by)?;
    Ok(n)
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SupplyBatch)]
pub struct Batch {
    pub id: i64,
    pub received: i64,
    pub remaining: i64,
    pub expires_on: Option<String>,
    pub received_at: i64,
}

/// An item's batches with something left, first to expire first.
pub fn batches(c: &mut dyn Conn, item: i64) -> Result<Vec<Batch>> {
    Ok(c.query(
        "SELECT id, received, remaining, expires_on, received_at FROM supply_batches WHERE item_id = $1 AND remaining > 0 \
         ORDER BY CASE WHEN expires_on IS NULL THEN 1 ELSE 0 END, expires_on, id",
        params![item],
    )?
    .iter()
    .map(|r| Batch {
        id: r.i64(0),
        received: r.i64(1),
        remaining: r.i64(2),
        expires_on: r.opt_str(3),
        received_at: r.i64(4),
    })
    .collect())
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SupplyMove)]
pub struct Move {
    /// received, lent, returned, counted, discarded.
    pub kind: String,
    pub delta: i64,
    pub quantity_after: i64,
    pub note: String,
    pub by_name: String,
    pub at: i64,
}

/// An item's last fifty moves, newest first.
pub fn moves(c: &mut dyn Conn, item: i64) -> Result<Vec<Move>> {
    Ok(c.query(
        "SELECT kind, delta, quantity_after, note, by_name, at FROM supply_moves WHERE item_id = $1 ORDER BY id DESC LIMIT 50",
        params![item],
    )?
    .iter()
    .map(|r| Move {
        kind: r.str(0),
        delta: r.i64(1),
        quantity_after: r.i64(2),
        note: r.str(3),
        by_name: r.str(4),
        at: r.i64(5),
    })
    .collect())
}

/// Loans past their due date under `paths`.
pub fn overdue(c: &mut dyn Conn, street_id: i64, paths: &[String], today: &str) -> Result<i64> {
    let mut p: Vec<Val> = vec![Val::Int(street_id), Val::Text(today.into())];
    let cond = under_paths("i.place_path", paths, 3, &mut p);
    c.query_i64(
        &format!(
            "SELECT COUNT(*) FROM supply_loans l JOIN supply_items i ON i.id = l.item_id \
             WHERE i.street_id = $1 AND l.closed_at IS NULL AND l.due_on < $2 AND {cond}"
        ),
        &p,
    )
}
