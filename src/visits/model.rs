//! The kinds of home visits and their rules: how a visit was made, what was found, and when a
//! person under a plan is due again (in China time, months counted by the calendar).

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::kernel::error::{AppError, AppResult};

/// How a visit was made.
pub const HOWS: [&str; 3] = ["door", "phone", "outside"];
/// A rating of health or living conditions.
pub const RATINGS: [&str; 3] = ["good", "fair", "poor"];
/// What a visit may find a person needs.
pub const NEEDS: [&str; 7] = [
    "meals",
    "medical",
    "cleaning",
    "company",
    "repair",
    "allowance",
    "other",
];
/// The longest notes and referral kept.
pub const NOTES_MAX: usize = 2000;
pub const REFERRAL_MAX: usize = 200;

/// A visit as a worker records it (the form and the API).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[schema(as = Visits_NewVisit)]
pub struct NewVisit {
    /// The person visited (or give `household_id`).
    #[serde(default)]
    pub person_id: Option<i64>,
    /// The household visited: every member counts as visited.
    #[serde(default)]
    pub household_id: Option<i64>,
    /// When (unix ms); now when left out. Not in the future, not before a year ago.
    #[serde(default)]
    pub visited_at: Option<i64>,
    /// `door` (上门), `phone` (电话), `outside` (在外遇见).
    pub how: String,
    /// `good`, `fair` or `poor`.
    pub health: String,
    /// `good`, `fair` or `poor`.
    pub living: String,
    /// Any of `meals`, `medical`, `cleaning`, `company`, `repair`, `allowance`, `other`.
    #[serde(default)]
    pub needs: Vec<String>,
    /// The worker's private notes (民情日志), at most 2,000 characters.
    #[serde(default)]
    pub notes: String,
    /// A referral (转介), at most 200 characters.
    #[serde(default)]
    pub referral: String,
    /// The next visit agreed (YYYY-MM-DD), after the visit.
    #[serde(default)]
    pub next_on: Option<String>,
    /// A case to open for what was found (a category code of the case catalogue).
    #[serde(default)]
    pub case_category: Option<String>,
    /// The case's description (required with `case_category`).
    #[serde(default)]
    pub case_description: Option<String>,
}

/// A visit checked at the edge.
#[derive(Clone, Debug)]
pub struct Checked {
    pub person_id: Option<i64>,
    pub household_id: Option<i64>,
    pub visited_at: i64,
    pub visited_on: NaiveDate,
    pub how: &'static str,
    pub health: &'static str,
    pub living: &'static str,
    pub needs: Vec<&'static str>,
    pub notes: String,
    pub referral: String,
    pub next_on: Option<NaiveDate>,
    pub case: Option<(String, String)>,
}

fn one_of(list: &'static [&'static str], v: &str, key: &str) -> AppResult<&'static str> {
    list.iter()
        .find(|x| **x == v.trim())
        .copied()
        .ok_or_else(|| AppError::invalid(key))
}

/// A date written `YYYY-MM-DD`.
pub fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

impl NewVisit {
    /// Checks a visit recorded at `now` (unix ms).
    pub fn check(&self, now: i64) -> AppResult<Checked> {
        let (person_id, household_id) = match (self.person_id, self.household_id) {
            (Some(p), None) => (Some(p), None),
            (None, Some(h)) => (None, Some(h)),
            _ => return Err(AppError::invalid("visits.err_whom")),
        };
        let at = self.visited_at.unwrap_or(now);
        // A minute of clock skew is allowed; a visit is recorded within the year.
        if at > now + 60_000 || at < now - 366 * 86_400_000 {
            return Err(AppError::invalid("visits.err_when"));
        }
        let on = crate::kernel::time::local(at)
            .map(|t| t.date_naive())
            .ok_or_else(|| AppError::invalid("visits.err_when"))?;
        let how = one_of(&HOWS, &self.how, "visits.err_how")?;
        let health = one_of(&RATINGS, &self.health, "visits.err_rating")?;
        let living = one_of(&RATINGS, &self.living, "visits.err_rating")?;
        let mut needs = Vec::new();
        for n in &self.needs {
            let n = one_of(&NEEDS, n, "visits.err_need")?;
            if !needs.contains(&n) {
                needs.push(n);
            }
        }
        let notes = self.notes.trim().to_string();
        let referral = self.referral.trim().to_string();
        if notes.chars().count() > NOTES_MAX || referral.chars().count() > REFERRAL_MAX {
            return Err(AppError::invalid("visits.err_too_long"));
        }
        crate::kernel::text::check_note(&notes).map_err(AppError::invalid)?;
        crate::kernel::text::check_line(&referral).map_err(AppError::invalid)?;
        let next_on = match self.next_on.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => {
                let d = parse_day(s).ok_or_else(|| AppError::invalid("visits.err_next"))?;
                if d <= on {
                    return Err(AppError::invalid("visits.err_next"));
                }
                Some(d)
            }
        };
        let case = match self.case_category.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(cat) => {
                let d = self
                    .case_description
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or_default();
                if d.is_empty() {
                    return Err(AppError::invalid("visits.err_case_description"));
                }
                Some((cat.to_string(), d.to_string()))
            }
        };
        Ok(Checked {
            person_id,
            household_id,
            visited_at: at,
            visited_on: on,
            how,
            health,
            living,
            needs,
            notes,
            referral,
            next_on,
            case,
        })
    }
}

/// A visit as read back. `notes` is present only for the workers who may read them (and for
/// the resident when her street allows it).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Visits_Visit)]
pub struct Visit {
    pub id: i64,
    pub person_id: Option<i64>,
    pub household_id: Option<i64>,
    /// The home as shown: building, unit (`3号楼 502室`).
    pub home: String,
    /// The person or household head visited, masked (`张**`).
    pub name_masked: String,
    pub visitor_name: String,
    /// Unix ms.
    pub visited_at: i64,
    /// The date in China time (YYYY-MM-DD).
    pub visited_on: String,
    pub how: String,
    pub health: String,
    pub living: String,
    pub needs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referral: Option<String>,
    pub next_on: Option<String>,
    pub case_id: Option<i64>,
}

/// A visit plan: the holders of a tag visited at least every so many months.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Visits_Plan)]
pub struct Plan {
    pub id: i64,
    pub tag: String,
    /// The tag's name in the reader's language.
    pub tag_name: String,
    pub every_months: i64,
    pub soon_days: i64,
    pub starts_on: String,
    pub active: bool,
}

/// A new plan (street administrators).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(as = Visits_NewPlan)]
pub struct NewPlan {
    /// A registry tag's code (`elderly_alone`).
    pub tag: String,
    /// 1 (monthly) to 12 (yearly).
    pub every_months: i64,
    /// Listed as due this many days before (0–31; default 7).
    #[serde(default)]
    pub soon_days: Option<i64>,
}

/// Where a person stands with her plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Visits_Standing)]
pub enum Standing {
    /// Past the date she was due.
    Overdue,
    /// Due within the plan's days ahead, or never visited.
    Due,
    /// Visited recently enough.
    Fine,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Overdue => "overdue",
            Standing::Due => "due",
            Standing::Fine => "fine",
        }
    }
}

/// The date a person is due: `every_months` calendar months after her last visit (or after
/// the plan's start when she was never visited) — a month after 31 January is the last day of
/// February — or the next visit agreed, when that comes first.
pub fn due_on(
    last: Option<NaiveDate>,
    starts: NaiveDate,
    every_months: u32,
    next: Option<NaiveDate>,
) -> NaiveDate {
    let anchor = last.unwrap_or(starts);
    let by_plan = anchor
        .checked_add_months(Months::new(every_months))
        .unwrap_or(NaiveDate::MAX);
    match next {
        Some(n) if last.is_none_or(|l| n > l) => by_plan.min(n),
        _ => by_plan,
    }
}

/// Where someone due on `due` stands `today`: overdue the day after, due from `soon_days`
/// before (and at once when never visited).
pub fn standing(today: NaiveDate, due: NaiveDate, soon_days: i64, never: bool) -> Standing {
    if today > due {
        Standing::Overdue
    } else if never || (due - today).num_days() <= soon_days {
        Standing::Due
    } else {
        Standing::Fine
    }
}

/// One person on a grid's due list.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Visits_DueRow)]
pub struct DueRow {
    pub person_id: i64,
    pub household_id: Option<i64>,
    /// Masked (`张**`).
    pub name_masked: String,
    pub building: String,
    pub floor: Option<i64>,
    pub unit: String,
    /// The plans' tags she holds, in the reader's language.
    pub tags: Vec<String>,
    pub last_on: Option<String>,
    pub last_by: Option<String>,
    pub due_on: String,
    pub standing: Standing,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_day(s).unwrap()
    }

    #[test]
    fn month_ends() {
        let start = d("2025-01-01");
        // 31 January, monthly: due on the last day of February, overdue from 1 March.
        let due = due_on(Some(d("2026-01-31")), start, 1, None);
        assert_eq!(due, d("2026-02-28"));
        assert_eq!(standing(d("2026-02-28"), due, 0, false), Standing::Due);
        assert_eq!(standing(d("2026-03-01"), due, 0, false), Standing::Overdue);
        assert_eq!(
            due_on(Some(d("2028-01-31")), start, 1, None),
            d("2028-02-29")
        );
        // 30 November, quarterly: 28 February; 31 December monthly: 31 January.
        assert_eq!(
            due_on(Some(d("2025-11-30")), start, 3, None),
            d("2026-02-28")
        );
        assert_eq!(
            due_on(Some(d("2025-12-31")), start, 1, None),
            d("2026-01-31")
        );
        // Never visited: a period after the start, and due at once.
        let due = due_on(None, d("2026-03-15"), 1, None);
        assert_eq!(due, d("2026-04-15"));
        assert_eq!(standing(d("2026-03-16"), due, 7, true), Standing::Due);
        // A next visit agreed sooner comes first; one before the last visit is spent.
        assert_eq!(
            due_on(Some(d("2026-01-10")), start, 3, Some(d("2026-01-20"))),
            d("2026-01-20")
        );
        assert_eq!(
            due_on(Some(d("2026-01-10")), start, 1, Some(d("2026-01-05"))),
            d("2026-02-10")
        );
        assert_eq!(
            standing(d("2026-02-01"), d("2026-02-10"), 7, false),
            Standing::Fine
        );
        assert_eq!(
            standing(d("2026-02-03"), d("2026-02-10"), 7, false),
            Standing::Due
        );
    }

    #[test]
    fn checks() {
        let now = crate::kernel::time::now_ms();
        let ok = NewVisit {
            person_id: Some(1),
            how: "door".into(),
            health: "good".into(),
            living: "fair".into(),
            needs: vec!["meals".into(), "meals".into()],
            ..NewVisit::default()
        };
        let c = ok.check(now).unwrap();
        assert_eq!(c.needs, vec!["meals"]);
        for bad in [
            NewVisit {
                household_id: Some(2),
                ..ok.clone()
            },
            NewVisit {
                how: "fax".into(),
                ..ok.clone()
            },
            NewVisit {
                visited_at: Some(now + 3_600_000),
                ..ok.clone()
            },
            NewVisit {
                next_on: Some("2020-01-01".into()),
                ..ok.clone()
            },
            NewVisit {
                needs: vec!["x".into()],
                ..ok.clone()
            },
            NewVisit {
                case_category: Some("x".into()),
                ..ok.clone()
            },
            NewVisit {
                notes: "a\u{202E}b".into(),
                ..ok.clone()
            },
        ] {
            assert!(bad.check(now).is_err(), "{bad:?}");
        }
    }
}
