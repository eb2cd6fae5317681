//! The funds area's tables: funds, their representatives, the ledger's entries, approvals and
//! receipts. The balance is never stored: it is summed from the approved entries.

use std::collections::HashMap;

use super::model::{Approval, Entry, Fund, Kind, Rep};
use crate::params;
use crate::store::{Conn, Result, Row, Val, under_paths};

const FUND: &str = "SELECT id, street_id, place_id, place_path, name, required, created_by_name, created_at FROM funds";

fn fund(r: &Row) -> Fund {
    Fund {
        id: r.i64(0),
        street_id: r.i64(1),
        place_id: r.i64(2),
        place_path: r.str(3),
        name: r.str(4),
        required: r.i64(5),
        created_by_name: r.str(6),
        created_at: r.i64(7),
    }
}

pub struct NewFund<'a> {
    pub street_id: i64,
    pub place_id: i64,
    pub place_path: &'a str,
    pub name: &'a str,
    pub required: i64,
    pub created_by: i64,
    pub created_by_name: &'a str,
}

pub fn insert(c: &mut dyn Conn, n: &NewFund<'_>, reps: &[Rep], now: i64) -> Result<i64> {
    let id = c.query_i64(
        "INSERT INTO funds (street_id, place_id, place_path, name, required, created_by, created_by_name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        params![
            n.street_id,
            n.place_id,
            n.place_path,
            n.name,
            n.required,
            n.created_by,
            n.created_by_name,
            now
        ],
    )?;
    for r in reps {
        c.exec(
            "INSERT INTO fund_representatives (fund_id, street_id, user_id, name) VALUES ($1, $2, $3, $4)",
            params![id, n.street_id, r.user_id, r.name.clone()],
        )?;
    }
    Ok(id)
}

pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<Fund>> {
    Ok(c.query_opt(&format!("{FUND} WHERE id = $1"), params![id])?
        .map(|r| fund(&r)))
}

pub fn by_name(c: &mut dyn Conn, place: i64, name: &str) -> Result<Option<i64>> {
    Ok(c.query_opt(
        "SELECT id FROM funds WHERE place_id = $1 AND name = $2",
        params![place, name],
    )?
    .map(|r| r.i64(0)))
}

/// The funds at or under `paths`, or at a place above `home` (a resident's own place), or of
/// which `user` is a representative.
pub fn visible(
    c: &mut dyn Conn,
    paths: &[String],
    home: Option<&str>,
    user: i64,
) -> Result<Vec<Fund>> {
    let mut p: Vec<Val> = vec![Val::Int(user)];
    let mut whom =
        vec!["id IN (SELECT fund_id FROM fund_representatives WHERE user_id = $1)".to_string()];
    if !paths.is_empty() {
        whom.push(under_paths("place_path", paths, 2, &mut p));
    }
    if let Some(h) = home {
        p.push(Val::Text(h.to_string()));
        let n = p.len();
        whom.push(format!(
            "(${n} = place_path OR ${n} LIKE place_path || '/%')"
        ));
    }
    Ok(c.query(
        &format!(
            "{FUND} WHERE {} ORDER BY place_path, name",
            whom.join(" OR ")
        ),
        &p,
    )?
    .iter()
    .map(fund)
    .collect())
}

pub fn reps(c: &mut dyn Conn, fund: i64) -> Result<Vec<Rep>> {
    Ok(c.query(
        "SELECT user_id, name FROM fund_representatives WHERE fund_id = $1 ORDER BY name, user_id",
        params![fund],
    )?
    .iter()
    .map(|r| Rep {
        user_id: r.i64(0),
        name: r.str(1),
    })
    .collect())
}

/// The sum of the approved entries, in fen.
pub fn balance(c: &mut dyn Conn, fund: i64) -> Result<i64> {
    c.query_i64(
        "SELECT CAST(COALESCE(SUM(sign * amount_fen), 0) AS BIGINT) FROM fund_entries \
         WHERE fund_id = $1 AND state = 'approved'",
        params![fund],
    )
}

const ENTRY: &str = "SELECT e.id, e.fund_id, e.kind, e.sign, e.amount_fen, e.purpose, e.state, e.reverses_id, \
     (SELECT r.id FROM fund_entries r WHERE r.reverses_id = e.id), e.by_user, e.by_name, e.created_at, e.approved_at, \
     e.withdrawn_at FROM fund_entries e";

fn entry(r: &Row) -> Entry {
    Entry {
        id: r.i64(0),
        fund_id: r.i64(1),
        kind: Kind::parse(&r.str(2)).unwrap_or(Kind::Income),
        sign: r.i64(3),
        amount_fen: r.i64(4),
        purpose: r.str(5),
        approved: r.str(6) == "approved",
        reverses_id: r.opt_i64(7),
        reversed_by: r.opt_i64(8),
        by_user: r.i64(9),
        by_name: r.str(10),
        created_at: r.i64(11),
        approved_at: r.opt_i64(12),
        withdrawn_at: r.opt_i64(13),
        approvals: Vec::new(),
        receipts: Vec::new(),
    }
}

/// A fund's entries with their approvals and receipts: approved in the order they counted,
/// then those proposed.
pub fn entries(c: &mut dyn Conn, fund: i64) -> Result<Vec<Entry>> {
    let mut out: Vec<Entry> = c
        .query(
            &format!(
                "{ENTRY} WHERE e.fund_id = $1 ORDER BY CASE WHEN e.state = 'approved' THEN 0 ELSE 1 END, \
                 e.approved_at, e.id"
            ),
            params![fund],
        )?
        .iter()
        .map(entry)
        .collect();
    let mut approvals: HashMap<i64, Vec<Approval>> = HashMap::new();
    for r in c.query(
        "SELECT a.entry_id, a.user_id, a.name, a.at FROM fund_approvals a JOIN fund_entries e ON e.id = a.entry_id \
         WHERE e.fund_id = $1 ORDER BY a.at, a.user_id",
        params![fund],
    )? {
        approvals.entry(r.i64(0)).or_default().push(Approval {
            user_id: r.i64(1),
            name: r.str(2),
            at: r.i64(3),
        });
    }
    let mut receipts: HashMap<i64, Vec<i64>> = HashMap::new();
    for r in c.query(
        "SELECT entry_id, id FROM fund_receipts WHERE fund_id = $1 ORDER BY id",
        params![fund],
    )? {
        receipts.entry(r.i64(0)).or_default().push(r.i64(1));
    }
    for e in &mut out {
        e.approvals = approvals.remove(&e.id).unwrap_or_default();
        e.receipts = receipts.remove(&e.id).unwrap_or_default();
    }
    Ok(out)
}

pub fn entry_by_id(c: &mut dyn Conn, id: i64) -> Result<Option<Entry>> {
    let Some(mut e) = c
        .query_opt(&format!("{ENTRY} WHERE e.id = $1"), params![id])?
        .map(|r| entry(&r))
    else {
        return Ok(None);
    };
    e.approvals = c
        .query(
            "SELECT user_id, name, at FROM fund_approvals WHERE entry_id = $1 ORDER BY at, user_id",
            params![id],
        )?
        .iter()
        .map(|r| Approval {
            user_id: r.i64(0),
            name: r.str(1),
            at: r.i64(2),
        })
        .collect();
    Ok(Some(e))
}

pub struct NewEntry<'a> {
    pub fund_id: i64,
    pub street_id: i64,
    pub kind: Kind,
    pub sign: i64,
    pub amount_fen: i64,
    pub purpose: &'a str,
    pub reverses_id: Option<i64>,
    pub by_user: i64,
    pub by_name: &'a str,
}

pub fn insert_entry(c: &mut dyn Conn, n: &NewEntry<'_>, now: i64) -> Result<i64> {
    c.query_i64(
        "INSERT INTO fund_entries (fund_id, street_id, kind, sign, amount_fen, purpose, state, reverses_id, by_user, by_name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'proposed', $7, $8, $9, $10) RETURNING id",
        params![
            n.fund_id,
            n.street_id,
            n.kind.as_str(),
            n.sign,
            n.amount_fen,
            n.purpose,
            n.reverses_id.map(Val::Int).unwrap_or(Val::Null),
            n.by_user,
            n.by_name,
            now
        ],
    )
}

pub fn approve(
    c: &mut dyn Conn,
    entry: i64,
    street: i64,
    user: i64,
    name: &str,
    now: i64,
) -> Result<()> {
    c.exec(
        "INSERT INTO fund_approvals (entry_id, street_id, user_id, name, at) VALUES ($1, $2, $3, $4, $5)",
        params![entry, street, user, name, now],
    )?;
    Ok(())
}

/// Marks a proposed entry approved (it counts from now on).
pub fn mark_approved(c: &mut dyn Conn, entry: i64, now: i64) -> Result<u64> {
    c.exec(
        "UPDATE fund_entries SET state = 'approved', approved_at = $2 WHERE id = $1 AND state = 'proposed'",
        params![entry, now],
    )
}

/// Withdraws a proposed entry (its proposer's change of mind); false when it is no longer
/// proposed.
pub fn withdraw(c: &mut dyn Conn, entry: i64, now: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE fund_entries SET state = 'withdrawn', withdrawn_at = $2 WHERE id = $1 AND state = 'proposed'",
        params![entry, now],
    )? == 1)
}

/// Takes the fund's row for the rest of the transaction (PostgreSQL locks it; SQLite has one
/// writer), so two last approvals cannot both spend the same balance.
pub fn lock(c: &mut dyn Conn, fund: i64) -> Result<()> {
    c.exec(
        "UPDATE funds SET required = required WHERE id = $1",
        params![fund],
    )?;
    Ok(())
}

pub fn receipts_of(c: &mut dyn Conn, entry: i64) -> Result<i64> {
    c.query_i64(
        "SELECT COUNT(*) FROM fund_receipts WHERE entry_id = $1",
        params![entry],
    )
}

pub fn insert_receipt(
    c: &mut dyn Conn,
    e: &Entry,
    street: i64,
    mime: &str,
    bytes: Vec<u8>,
    now: i64,
) -> Result<i64> {
    let size = bytes.len() as i64;
    c.query_i64(
        "INSERT INTO fund_receipts (entry_id, fund_id, street_id, mime, size, bytes, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        params![e.id, e.fund_id, street, mime, size, Val::Blob(bytes), now],
    )
}

/// A receipt: its fund, type and bytes.
pub fn receipt(c: &mut dyn Conn, id: i64) -> Result<Option<(i64, String, Vec<u8>)>> {
    Ok(c.query_opt(
        "SELECT fund_id, mime, bytes FROM fund_receipts WHERE id = $1",
        params![id],
    )?
    .map(|r| (r.i64(0), r.str(1), r.blob(2).unwrap_or_default())))
}

/// Proposed entries of her funds waiting for a representative's approval (not hers, not
/// yet approved by her).
pub fn waiting_for(c: &mut dyn Conn, user: i64) -> Result<i64> {
    c.query_i64(
        "SELECT COUNT(*) FROM fund_entries e JOIN fund_representatives r ON r.fund_id = e.fund_id AND r.user_id = $1 \
         WHERE e.state = 'proposed' AND e.by_user <> $1 \
         AND NOT EXISTS (SELECT 1 FROM fund_approvals a WHERE a.entry_id = e.id AND a.user_id = $1)",
        params![user],
    )
}
