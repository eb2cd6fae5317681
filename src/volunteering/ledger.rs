//! The points ledger (云端积分), double entry: every movement is one transaction of entries
//! that sum to zero. Points are issued by a community's issuing account (whose balance is
//! the negative of all it issued), earned into a person's account, spent into the account of
//! whoever offers what she redeems (the committee or a shop), and passed between people where
//! the street allows it. A balance is the sum of an account's entries (read from the index
//! `vol_entries_account`), never a stored figure; nothing is edited or deleted — a mistake is
//! a reversing transaction with a reason.
//!
//! A person's account never goes below zero: every transaction that takes points out of one
//! first bumps its row (`lock_n`), so two spends from one account queue on PostgreSQL as they
//! do behind SQLite's single writer, and the balance read after the bump is the one the
//! transaction commits against.

use serde::Serialize;
use utoipa::ToSchema;

use crate::kernel::StatusCode;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::params;
use crate::store::{Conn, Result, Row, StoreError, Val};

pub const KINDS: [&str; 4] = ["issuing", "person", "committee", "shop"];
pub const TXN_KINDS: [&str; 4] = ["earn", "spend", "transfer", "reverse"];
pub const MAX_REASON: usize = 200;

fn conflict(key: &str) -> AppError {
    AppError::new(StatusCode::CONFLICT, Code::StateConflict, key)
}

/// The account of `owner` of a kind, made on first use.
pub fn account(
    c: &mut dyn Conn,
    street_id: i64,
    kind: &str,
    owner_id: i64,
    place_path: &str,
    now: i64,
) -> Result<i64> {
    if !KINDS.contains(&kind) {
        return Err(StoreError::Db(format!("no account kind {kind}")));
    }
    if let Some(id) = find(c, kind, owner_id)? {
        return Ok(id);
    }
    c.exec(
        "INSERT INTO vol_accounts (street_id, kind, owner_id, place_path, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (kind, owner_id) DO NOTHING",
        params![street_id, kind, owner_id, place_path, now],
    )?;
    find(c, kind, owner_id)?.ok_or_else(|| StoreError::Db("account not made".into()))
}

/// The account of `owner` of a kind, if it was ever made.
pub fn find(c: &mut dyn Conn, kind: &str, owner_id: i64) -> Result<Option<i64>> {
    Ok(c.query_opt(
        "SELECT id FROM vol_accounts WHERE kind = $1 AND owner_id = $2",
        params![kind, owner_id],
    )?
    .map(|r| r.i64(0)))
}

/// An account's balance: the sum of its entries.
pub fn balance(c: &mut dyn Conn, account_id: i64) -> Result<i64> {
    c.query_i64(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM vol_entries WHERE account_id = $1",
        params![account_id],
    )
}

/// Queues the transactions that take points out of an account (see the module's note).
fn lock(c: &mut dyn Conn, account_id: i64) -> Result<()> {
    c.exec(
        "UPDATE vol_accounts SET lock_n = lock_n + 1 WHERE id = $1",
        params![account_id],
    )?;
    Ok(())
}

/// The kind of an account by id.
fn kind_of(c: &mut dyn Conn, account_id: i64) -> Result<String> {
    Ok(c.query_opt(
        "SELECT kind FROM vol_accounts WHERE id = $1",
        params![account_id],
    )?
    .map(|r| r.str(0))
    .unwrap_or_default())
}

/// What a transaction is.
#[derive(Clone, Copy)]
pub struct Txn<'a> {
    pub street_id: i64,
    pub kind: &'a str,
    pub community_path: &'a str,
    pub reverses: Option<i64>,
    pub reason: &'a str,
    pub by: i64,
}

/// Writes a transaction and its entries; refuses (as a programming error) legs that do not
/// sum to zero, so no caller can write an unbalanced movement.
pub fn post(c: &mut dyn Conn, t: &Txn, legs: &[(i64, i64)], now: i64) -> AppResult<i64> {
    if legs.len() < 2 || legs.iter().map(|l| l.1).sum::<i64>() != 0 || legs.iter().any(|l| l.1 == 0)
    {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::Invalid,
            "volunteering.err_unbalanced",
        ));
    }
    if !TXN_KINDS.contains(&t.kind) {
        return Err(AppError::invalid("volunteering.err_unbalanced"));
    }
    let id = c.query_i64(
        "INSERT INTO vol_txns (street_id, kind, community_path, reverses_id, reason, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        params![
            t.street_id,
            t.kind,
            t.community_path,
            t.reverses,
            t.reason,
            t.by,
            now
        ],
    )?;
    let rows: Vec<Vec<Val>> = legs
        .iter()
        .map(|(a, n)| {
            vec![
                Val::Int(id),
                Val::Int(t.street_id),
                Val::Int(*a),
                Val::Int(*n),
            ]
        })
        .collect();
    c.insert_many(
        "vol_entries",
        &["txn_id", "street_id", "account_id", "amount"],
        &rows,
    )?;
    Ok(id)
}

/// Takes `points` out of a person's account after checking, under its lock, that she has them.
fn debit_check(c: &mut dyn Conn, account_id: i64, points: i64) -> AppResult<()> {
    lock(c, account_id)?;
    if kind_of(c, account_id)? == "person" && balance(c, account_id)? < points {
        return Err(conflict("volunteering.err_balance"));
    }
    Ok(())
}

/// Points earned: from the community's issuing account to the person's.
pub fn earn(
    c: &mut dyn Conn,
    t: &Txn,
    issuing: i64,
    person: i64,
    points: i64,
    now: i64,
) -> AppResult<i64> {
    if points <= 0 {
        return Err(AppError::invalid("volunteering.err_points"));
    }
    post(
        c,
        &Txn { kind: "earn", ..*t },
        &[(issuing, -points), (person, points)],
        now,
    )
}

/// Points spent: from the person's account (which must hold them) to a redemption account.
pub fn spend(
    c: &mut dyn Conn,
    t: &Txn,
    person: i64,
    to: i64,
    points: i64,
    now: i64,
) -> AppResult<i64> {
    if points <= 0 {
        return Err(AppError::invalid("volunteering.err_points"));
    }
    debit_check(c, person, points)?;
    post(
        c,
        &Txn {
            kind: "spend",
            ..*t
        },
        &[(person, -points), (to, points)],
        now,
    )
}

/// Points passed from one person to another (where the street allows it; the caller checks).
pub fn transfer(
    c: &mut dyn Conn,
    t: &Txn,
    from: i64,
    to: i64,
    points: i64,
    now: i64,
) -> AppResult<i64> {
    if points <= 0 {
        return Err(AppError::invalid("volunteering.err_points"));
    }
    if from == to {
        return Err(AppError::invalid("volunteering.err_transfer_self"));
    }
    debit_check(c, from, points)?;
    post(
        c,
        &Txn {
            kind: "transfer",
            ..*t
        },
        &[(from, -points), (to, points)],
        now,
    )
}

/// A transaction as stored.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringTxn)]
pub struct TxnRow {
    pub id: i64,
    pub street_id: i64,
    /// `earn`, `spend`, `transfer` or `reverse`.
    pub kind: String,
    pub community_path: String,
    pub reverses_id: Option<i64>,
    pub reason: String,
    pub created_by: i64,
    pub created_at: i64,
}

fn txn_row(r: &Row) -> TxnRow {
    TxnRow {
        id: r.i64(0),
        street_id: r.i64(1),
        kind: r.str(2),
        community_path: r.str(3),
        reverses_id: r.opt_i64(4),
        reason: r.str(5),
        created_by: r.i64(6),
        created_at: r.i64(7),
    }
}

pub fn txn(c: &mut dyn Conn, id: i64) -> Result<Option<TxnRow>> {
    Ok(c.query_opt(
        "SELECT id, street_id, kind, community_path, reverses_id, reason, created_by, created_at FROM vol_txns WHERE id = $1",
        params![id],
    )?
    .as_ref()
    .map(txn_row))
}

/// A transaction's entries: `(account, amount)`.
pub fn legs(c: &mut dyn Conn, txn_id: i64) -> Result<Vec<(i64, i64)>> {
    Ok(c.query(
        "SELECT account_id, amount FROM vol_entries WHERE txn_id = $1 ORDER BY id",
        params![txn_id],
    )?
    .iter()
    .map(|r| (r.i64(0), r.i64(1)))
    .collect())
}

/// Reverses a transaction with a reason: its entries negated in a new transaction. A
/// reversal is not reversed again, a transaction is reversed once, and a person's account
/// never goes below zero by it (points already spent are not taken back).
pub fn reverse(c: &mut dyn Conn, id: i64, reason: &str, by: i64, now: i64) -> AppResult<i64> {
    let t = txn(c, id)?.ok_or_else(AppError::not_found)?;
    if t.kind == "reverse" {
        return Err(conflict("volunteering.err_reverse_reversal"));
    }
    if c.query_opt(
        "SELECT id FROM vol_txns WHERE reverses_id = $1",
        params![id],
    )?
    .is_some()
    {
        return Err(conflict("volunteering.err_reversed"));
    }
    let legs: Vec<(i64, i64)> = legs(c, id)?.into_iter().map(|(a, n)| (a, -n)).collect();
    let mut debited: Vec<(i64, i64)> = legs.iter().copied().filter(|l| l.1 < 0).collect();
    debited.sort();
    for (a, n) in &debited {
        debit_check(c, *a, -n)?;
    }
    post(
        c,
        &Txn {
            street_id: t.street_id,
            kind: "reverse",
            community_path: &t.community_path,
            reverses: Some(id),
            reason,
            by,
        },
        &legs,
        now,
    )
}

/// An entry as its account's holder sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringEntry)]
pub struct Entry {
    pub txn_id: i64,
    /// `earn`, `spend`, `transfer` or `reverse`.
    pub kind: String,
    /// Positive in, negative out.
    pub amount: i64,
    pub reason: String,
    pub reverses_id: Option<i64>,
    /// Whether a later transaction reversed this one.
    pub reversed: bool,
    pub created_at: i64,
}

/// An account's newest entries (at most `limit`).
pub fn entries(c: &mut dyn Conn, account_id: i64, limit: i64) -> Result<Vec<Entry>> {
    Ok(c.query(
        "SELECT t.id, t.kind, e.amount, t.reason, t.reverses_id, t.created_at, \
         (SELECT COUNT(*) FROM vol_txns r WHERE r.reverses_id = t.id) \
         FROM vol_entries e JOIN vol_txns t ON t.id = e.txn_id WHERE e.account_id = $1 ORDER BY e.id DESC LIMIT $2",
        params![account_id, limit],
    )?
    .iter()
    .map(|r| Entry {
        txn_id: r.i64(0),
        kind: r.str(1),
        amount: r.i64(2),
        reason: r.str(3),
        reverses_id: r.opt_i64(4),
        created_at: r.i64(5),
        reversed: r.i64(6) > 0,
    })
    .collect())
}

/// The balances of the person accounts of a street whose place lies under `paths`:
/// `(user, balance)`, highest first (at most `limit`).
pub fn balances(
    c: &mut dyn Conn,
    street_id: i64,
    paths: &[String],
    limit: i64,
) -> Result<Vec<(i64, i64)>> {
    let mut p: Vec<Val> = vec![Val::Int(street_id), Val::Int(limit)];
    let cond = crate::store::under_paths("a.place_path", paths, 3, &mut p);
    Ok(c.query(
        &format!(
            "SELECT a.owner_id, CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) AS b FROM vol_accounts a \
             LEFT JOIN vol_entries e ON e.account_id = a.id \
             WHERE a.street_id = $1 AND a.kind = 'person' AND {cond} \
             GROUP BY a.owner_id ORDER BY b DESC, a.owner_id LIMIT $2"
        ),
        &p,
    )?
    .iter()
    .map(|r| (r.i64(0), r.i64(1)))
    .collect())
}

/// Whether a later transaction reversed this one.
pub fn is_reversed(c: &mut dyn Conn, txn_id: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT id FROM vol_txns WHERE reverses_id = $1",
        params![txn_id],
    )?
    .is_some())
}

/// The account holder of a person's account.
pub fn person_of(c: &mut dyn Conn, account_id: i64) -> Result<Option<i64>> {
    Ok(c.query_opt(
        "SELECT owner_id FROM vol_accounts WHERE id = $1 AND kind = 'person'",
        params![account_id],
    )?
    .map(|r| r.i64(0)))
}
