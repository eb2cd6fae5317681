//! Who matches a condition over the registry's attributes (issue 23 part 6, 政策找人): the
//! eligibility area parses a rule into [`Criteria`] and asks here, so that only the registry
//! names its tables. Those who have left are never matched; tags count when valid today.

use chrono::{Datelike, NaiveDate};

use crate::store::{Conn, Result, Val, under_paths};

/// A condition over persons: every part that is set must hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Criteria {
    /// Age in whole years today, at least / at most (inclusive).
    pub min_age: Option<u32>,
    pub max_age: Option<u32>,
    /// `M` or `F`.
    pub sex: Option<String>,
    /// Tags she holds today (all of them).
    pub tags: Vec<String>,
    /// Tags she does not hold today.
    pub without_tags: Vec<String>,
    /// `permanent` or `temporary`.
    pub residence: Option<String>,
    /// Whether her hukou is registered here.
    pub hukou: Option<bool>,
}

/// The same day `years` years earlier (29 February → 28 February in a common year).
fn years_before(day: NaiveDate, years: u32) -> NaiveDate {
    let y = day.year() - years as i32;
    NaiveDate::from_ymd_opt(y, day.month(), day.day())
        .or_else(|| NaiveDate::from_ymd_opt(y, day.month(), 28))
        .unwrap_or(day)
}

impl Criteria {
    /// The SQL condition over `persons p` and its parameters, numbered from `first`.
    fn sql(&self, today: NaiveDate, p: &mut Vec<Val>) -> String {
        let mut parts = vec!["p.residence <> 'left'".to_string()];
        let mark = |p: &mut Vec<Val>, v: Val| {
            p.push(v);
            format!("${}", p.len())
        };
        // Aged at least n today: born on or before today n years ago.
        if let Some(n) = self.min_age {
            let m = mark(p, Val::Text(years_before(today, n).to_string()));
            parts.push(format!("p.birth_date <= {m}"));
        }
        // Aged at most n today: born after today n + 1 years ago.
        if let Some(n) = self.max_age {
            let m = mark(p, Val::Text(years_before(today, n + 1).to_string()));
            parts.push(format!("p.birth_date > {m}"));
        }
        if let Some(s) = &self.sex {
            let m = mark(p, Val::Text(s.clone()));
            parts.push(format!("p.sex = {m}"));
        }
        if let Some(r) = &self.residence {
            let m = mark(p, Val::Text(r.clone()));
            parts.push(format!("p.residence = {m}"));
        }
        if let Some(h) = self.hukou {
            let m = mark(p, Val::Int(h as i64));
            parts.push(format!("p.hukou_registered = {m}"));
        }
        if !self.tags.is_empty() || !self.without_tags.is_empty() {
            let day = mark(p, Val::Text(today.to_string()));
            for (tags, neg) in [(&self.tags, ""), (&self.without_tags, "NOT ")] {
                for t in tags {
                    let m = mark(p, Val::Text(t.clone()));
                    parts.push(format!(
                        "{neg}EXISTS (SELECT 1 FROM person_tags t WHERE t.person_id = p.id AND t.tag = {m} \
                         AND t.valid_from <= {day} AND (t.valid_to IS NULL OR t.valid_to >= {day}))"
                    ));
                }
            }
        }
        parts.join(" AND ")
    }
}

/// The persons of a street under one of `under` (all of the street when empty) who match,
/// as `(id, place_path)` in place order.
pub fn matching(
    c: &mut dyn Conn,
    street_id: i64,
    criteria: &Criteria,
    under: &[String],
    today: NaiveDate,
) -> Result<Vec<(i64, String)>> {
    let mut p: Vec<Val> = vec![Val::Int(street_id)];
    let mut sql = "SELECT p.id, p.place_path FROM persons p WHERE p.street_id = $1".to_string();
    if !under.is_empty() {
        let first = p.len() + 1;
        let cond = under_paths("p.place_path", under, first, &mut p);
        sql.push_str(&format!(" AND {cond}"));
    }
    let cond = criteria.sql(today, &mut p);
    sql.push_str(&format!(" AND {cond} ORDER BY p.place_path, p.id"));
    Ok(c.query(&sql, &p)?
        .iter()
        .map(|r| (r.i64(0), r.str(1)))
        .collect())
}

/// Whether one person matches today (a to-do's worker checks before she calls).
pub fn person_matches(
    c: &mut dyn Conn,
    person_id: i64,
    criteria: &Criteria,
    today: NaiveDate,
) -> Result<bool> {
    let mut p: Vec<Val> = vec![Val::Int(person_id)];
    let cond = criteria.sql(today, &mut p);
    Ok(c.query_opt(
        &format!("SELECT 1 FROM persons p WHERE p.id = $1 AND {cond}"),
        &p,
    )?
    .is_some())
}

/// The tags a street may name in a condition, as `(code, name_zh, name_en)`: the built-in
/// ones every street has, then those it defined.
pub fn tag_codes(c: &mut dyn Conn, street_id: i64) -> Result<Vec<(String, String, String)>> {
    let mut out: Vec<(String, String, String)> = super::records::BUILTIN_TAGS
        .iter()
        .map(|(c, zh, en)| (c.to_string(), zh.to_string(), en.to_string()))
        .collect();
    for r in c.query(
        "SELECT code, name_zh, name_en FROM tag_defs WHERE street_id = $1 ORDER BY code",
        &[Val::Int(street_id)],
    )? {
        if !out.iter().any(|t| t.0 == r.str(0)) {
            out.push((r.str(0), r.str(1), r.str(2)));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_before_keeps_the_day_and_folds_a_leap_day() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(years_before(d("2026-12-04"), 80), d("1946-12-04"));
        assert_eq!(years_before(d("2028-02-29"), 1), d("2027-02-28"));
    }
}
