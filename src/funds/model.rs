//! A community fund's types and rules.
//!
//! **The rule (a street's expectation, written down).** A fund names between two and nine
//! representatives (楼道代表, 业委会成员) and how many of them must approve an entry: N of M,
//! with N < M, so an entry proposed by a representative can always reach N without her. Every
//! entry — income, expense, reversal — is proposed by a representative or by a worker who keeps
//! the place, and counts in the balance only once N representatives other than the proposer
//! have approved it; each representative approves an entry once. The balance is never
//! stored: it is the sum of the approved entries. An expense (or a reversal of income) that
//! would take the balance below zero is refused, when proposed and again when its last
//! approval arrives. Once approved an entry never changes and takes no more receipts; a
//! mistake is a reversing entry with a reason, approved like any other, and an entry is
//! reversed at most once.

use serde::Serialize;
use utoipa::ToSchema;

use crate::kernel::error::{AppError, AppResult};

pub const MIN_REPS: usize = 2;
pub const MAX_REPS: usize = 9;
pub const MAX_NAME: usize = 40;
pub const MAX_PURPOSE: usize = 200;
/// ¥1,000,000: more than a corridor or an estate keeps.
pub const MAX_AMOUNT_FEN: i64 = 100_000_000;
/// Receipts: JPEG or PNG, at most 2 MB each, four an entry.
pub const MAX_RECEIPT_BYTES: usize = 2 * 1024 * 1024;
pub const MAX_RECEIPTS: i64 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = FundEntryKind)]
pub enum Kind {
    Income,
    Expense,
    Reversal,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Income => "income",
            Kind::Expense => "expense",
            Kind::Reversal => "reversal",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "income" => Some(Kind::Income),
            "expense" => Some(Kind::Expense),
            "reversal" => Some(Kind::Reversal),
            _ => None,
        }
    }
}

/// A fund.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Fund {
    pub id: i64,
    pub street_id: i64,
    pub place_id: i64,
    #[serde(skip)]
    pub place_path: String,
    pub name: String,
    /// Approvals an entry needs.
    pub required: i64,
    pub created_by_name: String,
    pub created_at: i64,
}

/// A representative.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = FundRepresentative)]
pub struct Rep {
    pub user_id: i64,
    pub name: String,
}

/// An approval.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = FundApproval)]
pub struct Approval {
    pub user_id: i64,
    pub name: String,
    pub at: i64,
}

/// An entry of a fund's ledger.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = FundEntry)]
pub struct Entry {
    pub id: i64,
    pub fund_id: i64,
    pub kind: Kind,
    /// +1 money in, -1 money out.
    pub sign: i64,
    pub amount_fen: i64,
    pub purpose: String,
    /// Approved: it counts (proposed, or withdrawn, otherwise).
    pub approved: bool,
    pub reverses_id: Option<i64>,
    /// The entry that reverses this one, if any.
    pub reversed_by: Option<i64>,
    pub by_user: i64,
    pub by_name: String,
    pub created_at: i64,
    pub approved_at: Option<i64>,
    /// Set when its proposer withdrew it before approval (it never counts).
    pub withdrawn_at: Option<i64>,
    pub approvals: Vec<Approval>,
    /// Receipt photo ids.
    pub receipts: Vec<i64>,
}

pub fn name(s: &str) -> AppResult<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(AppError::invalid("funds.err_name"));
    }
    if s.chars().count() > MAX_NAME {
        return Err(AppError::invalid("funds.err_name_long"));
    }
    crate::kernel::text::check_line(s).map_err(AppError::invalid)?;
    Ok(s.to_string())
}

pub fn purpose(s: &str, empty: &str) -> AppResult<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(AppError::invalid(empty));
    }
    if s.chars().count() > MAX_PURPOSE {
        return Err(AppError::invalid("funds.err_purpose_long"));
    }
    crate::kernel::text::check_line(s).map_err(AppError::invalid)?;
    Ok(s.to_string())
}

pub fn amount(fen: i64) -> AppResult<i64> {
    if fen <= 0 || fen > MAX_AMOUNT_FEN {
        return Err(AppError::invalid("funds.err_amount"));
    }
    Ok(fen)
}

/// N of M: two to nine representatives, none twice, N at least one and below M.
pub fn rule(reps: &[i64], required: i64) -> AppResult<()> {
    let mut r = reps.to_vec();
    r.sort_unstable();
    r.dedup();
    if r.len() != reps.len() {
        return Err(AppError::invalid("funds.err_rep_twice"));
    }
    if !(MIN_REPS..=MAX_REPS).contains(&reps.len()) {
        return Err(AppError::invalid("funds.err_reps"));
    }
    if required < 1 || required >= reps.len() as i64 {
        return Err(AppError::invalid("funds.err_required"));
    }
    Ok(())
}

/// Yuan typed by a person ("45", "45.5", "45.00") as fen.
pub fn fen(s: &str) -> AppResult<i64> {
    let bad = || AppError::invalid("funds.err_amount");
    let s = s.trim().trim_start_matches(['¥', '￥']);
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !frac.chars().all(|c| c.is_ascii_digit())
        || !whole.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let w: i64 = whole.parse().map_err(|_| bad())?;
    let f: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    w.checked_mul(100)
        .and_then(|w| w.checked_add(f))
        .ok_or_else(bad)
}

/// Fen as yuan for people: 4500 → "45.00".
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let f = fen.abs();
    format!("{sign}{}.{:02}", f / 100, f % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_leaves_room_for_the_proposer() {
        assert!(rule(&[1, 2, 3], 2).is_ok());
        assert_eq!(rule(&[1, 2, 3], 3).unwrap_err().key, "funds.err_required");
        assert_eq!(rule(&[1], 1).unwrap_err().key, "funds.err_reps");
        assert_eq!(rule(&[1, 1, 2], 1).unwrap_err().key, "funds.err_rep_twice");
    }

    #[test]
    fn yuan_typed_as_fen() {
        assert_eq!(fen("45").unwrap(), 4500);
        assert_eq!(fen("¥0.5").unwrap(), 50);
        assert_eq!(fen("12.34").unwrap(), 1234);
        assert!(fen("1.234").is_err());
        assert!(fen("-3").is_err());
        assert!(fen("abc").is_err());
    }
}
