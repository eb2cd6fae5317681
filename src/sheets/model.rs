//! A sign-up sheet's types and rules, checked at the edge: its items (with an optional unit
//! price in fen), its deadline and limit per household, and an entry's quantities.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::kernel::error::{AppError, AppResult};
use crate::notices::Audience;

pub const MAX_ITEMS: usize = 20;
pub const MAX_ITEM_NAME: usize = 40;
pub const MAX_TITLE: usize = 60;
pub const MAX_INTRO: usize = 1_000;
pub const MAX_NOTE: usize = 200;
pub const MAX_REASON: usize = 200;
/// The most a household may be allowed to take of a sheet.
pub const MAX_LIMIT: i64 = 1_000;
/// ¥100,000 a unit: above that it is not a neighbourhood's group buy.
pub const MAX_PRICE_FEN: i64 = 10_000_000;
/// A sheet runs at most 90 days.
pub const MAX_DAYS: i64 = 90;

/// An item residents sign up for: "大米 5kg" at 4500 fen, or "参加" without a price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = SheetItem)]
pub struct Item {
    pub name: String,
    /// The unit price in fen (分), when there is one.
    #[serde(default)]
    pub price_fen: Option<i64>,
}

/// A sheet as written by its organiser, before it is checked.
#[derive(Clone, Debug)]
pub struct Draft {
    pub title: String,
    pub intro: String,
    pub items: Vec<Item>,
    pub audience: Audience,
    pub deadline_at: i64,
    pub household_limit: i64,
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

/// A note or a reason: trimmed, bounded, one line; empty allowed when `empty` is `None`.
pub fn note(s: &str, max: usize, empty: Option<&str>, long: &str) -> AppResult<String> {
    let s = s.trim();
    if s.is_empty() {
        return match empty {
            Some(k) => Err(AppError::invalid(k)),
            None => Ok(String::new()),
        };
    }
    if s.chars().count() > max {
        return Err(AppError::invalid(long));
    }
    crate::kernel::text::check_line(s).map_err(AppError::invalid)?;
    Ok(s.to_string())
}

impl Draft {
    pub fn checked(self, now: i64) -> AppResult<Draft> {
        let title = line(
            &self.title,
            MAX_TITLE,
            "sheets.err_title",
            "sheets.err_title_long",
        )?;
        let intro = self.intro.trim().to_string();
        if intro.chars().count() > MAX_INTRO {
            return Err(AppError::invalid("sheets.err_intro_long"));
        }
        if !intro.is_empty() {
            crate::kernel::text::check_note(&intro).map_err(AppError::invalid)?;
        }
        if self.items.is_empty() {
            return Err(AppError::invalid("sheets.err_items"));
        }
        if self.items.len() > MAX_ITEMS {
            return Err(AppError::invalid("sheets.err_items_many"));
        }
        let mut items: Vec<Item> = Vec::with_capacity(self.items.len());
        for i in self.items {
            let name = line(
                &i.name,
                MAX_ITEM_NAME,
                "sheets.err_item_name",
                "sheets.err_item_long",
            )?;
            if items.iter().any(|x| x.name == name) {
                return Err(AppError::invalid("sheets.err_item_twice"));
            }
            if let Some(p) = i.price_fen
                && !(0..=MAX_PRICE_FEN).contains(&p)
            {
                return Err(AppError::invalid("sheets.err_price"));
            }
            items.push(Item {
                name,
                price_fen: i.price_fen,
            });
        }
        if self.deadline_at <= now {
            return Err(AppError::invalid("sheets.err_deadline_past"));
        }
        if self.deadline_at > now + MAX_DAYS * 86_400_000 {
            return Err(AppError::invalid("sheets.err_deadline_far"));
        }
        if !(1..=MAX_LIMIT).contains(&self.household_limit) {
            return Err(AppError::invalid("sheets.err_limit"));
        }
        if !self.audience.roles.is_empty() {
            // A sheet is for residents: workers are reached by a notice.
            return Err(AppError::invalid("sheets.err_audience_roles"));
        }
        Ok(Draft {
            title,
            intro,
            items,
            audience: self.audience.checked()?,
            deadline_at: self.deadline_at,
            household_limit: self.household_limit,
        })
    }
}

/// An entry's quantities, one per item of its sheet, checked against the sheet: as many as
/// there are items, none negative, something taken, no more in all than the household limit.
/// Gives the total quantity and the amount in fen.
pub fn check_lines(items: &[Item], limit: i64, lines: &[i64]) -> AppResult<(i64, i64)> {
    if lines.len() != items.len() {
        return Err(AppError::invalid("sheets.err_lines"));
    }
    if lines.iter().any(|q| *q < 0 || *q > MAX_LIMIT) {
        return Err(AppError::invalid("sheets.err_quantity"));
    }
    let total: i64 = lines.iter().sum();
    if total == 0 {
        return Err(AppError::invalid("sheets.err_nothing"));
    }
    if total > limit {
        return Err(AppError::invalid("sheets.err_over_limit"));
    }
    Ok((total, amount(items, lines)))
}

/// What quantities cost, in fen (items without a price count nothing).
pub fn amount(items: &[Item], lines: &[i64]) -> i64 {
    items
        .iter()
        .zip(lines)
        .map(|(i, q)| i.price_fen.unwrap_or(0) * q)
        .sum()
}

/// Fen as yuan for people: 4500 → "45.00".
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let f = fen.abs();
    format!("{sign}{}.{:02}", f / 100, f % 100)
}

/// An entry in words, as a correction keeps it: "大米 5kg ×2；鸡蛋 ×1（备注）".
pub fn describe(items: &[Item], lines: &[i64], note: &str) -> String {
    let mut parts: Vec<String> = items
        .iter()
        .zip(lines)
        .filter(|(_, q)| **q > 0)
        .map(|(i, q)| format!("{} ×{q}", i.name))
        .collect();
    if parts.is_empty() {
        parts.push("—".into());
    }
    let mut s = parts.join("; ");
    if !note.is_empty() {
        s.push_str(&format!(" ({note})"));
    }
    s
}

/// A sheet.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Sheet {
    pub id: i64,
    pub street_id: i64,
    pub title: String,
    pub intro: String,
    pub items: Vec<Item>,
    #[schema(value_type = Object)]
    pub audience: Audience,
    /// "中文 / English".
    pub audience_label: String,
    pub place_path: String,
    /// Unix ms: entries are taken until then.
    pub deadline_at: i64,
    /// The most a household takes, all items counted.
    pub household_limit: i64,
    pub author_id: i64,
    pub author: String,
    #[serde(skip)]
    pub author_path: String,
    /// How many residents it reached.
    pub recipients: i64,
    pub created_at: i64,
    /// Unix ms: when its organiser closed it before the deadline.
    pub closed_at: Option<i64>,
    /// Who closed it early.
    pub closed_by: String,
    /// Why it was closed early.
    pub close_reason: String,
}

impl Sheet {
    pub fn open(&self, now: i64) -> bool {
        self.closed_at.is_none() && now < self.deadline_at
    }
}

/// A household's entry.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SheetEntry)]
pub struct Entry {
    pub id: i64,
    pub sheet_id: i64,
    #[serde(skip)]
    pub household: String,
    pub person_id: i64,
    pub unit_id: Option<i64>,
    pub building_id: i64,
    #[serde(skip)]
    pub place_path: String,
    /// The quantity of each item, in the sheet's order.
    pub lines: Vec<i64>,
    pub quantity: i64,
    pub amount_fen: i64,
    pub note: String,
    /// Set when the household withdrew it (it no longer counts).
    pub withdrawn_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An organiser's correction of an entry.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SheetCorrection)]
pub struct Correction {
    pub id: i64,
    pub entry_id: i64,
    pub by_user: i64,
    pub by_name: String,
    pub at: i64,
    pub before: String,
    pub after: String,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<Item> {
        vec![
            Item {
                name: "米".into(),
                price_fen: Some(4500),
            },
            Item {
                name: "蛋".into(),
                price_fen: None,
            },
        ]
    }

    #[test]
    fn lines_are_checked_against_the_limit() {
        assert_eq!(check_lines(&items(), 3, &[2, 1]).unwrap(), (3, 9000));
        assert_eq!(
            check_lines(&items(), 3, &[3, 1]).unwrap_err().key,
            "sheets.err_over_limit"
        );
        assert_eq!(
            check_lines(&items(), 3, &[0, 0]).unwrap_err().key,
            "sheets.err_nothing"
        );
        assert_eq!(
            check_lines(&items(), 3, &[1]).unwrap_err().key,
            "sheets.err_lines"
        );
        assert_eq!(
            check_lines(&items(), 3, &[-1, 2]).unwrap_err().key,
            "sheets.err_quantity"
        );
    }

    #[test]
    fn fen_read_as_yuan() {
        assert_eq!(yuan(4500), "45.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(-1234), "-12.34");
    }
}
