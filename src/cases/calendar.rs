//! Working time: deadlines of cases count working hours only. A working day is Monday to
//! Friday unless the street's calendar says otherwise: public holidays are days off, and
//! make-up working days (调休) turn a weekend day into a working one. Office hours are
//! 09:00–17:00 China Standard Time (UTC+8, no daylight saving), 8 hours a day.

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};

use crate::params;
use crate::store::{Conn, Result};

pub const HOUR_MS: i64 = 3_600_000;
const OPEN: u32 = 9;
const CLOSE: u32 = 17;
/// Working milliseconds in a full working day.
pub const DAY_MS: i64 = (CLOSE - OPEN) as i64 * HOUR_MS;

fn tz() -> chrono_tz::Tz {
    crate::kernel::time::zone()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A day off that would otherwise be worked.
    Holiday,
    /// A weekend day that is worked (调休).
    Workday,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Workday => "workday",
        }
    }
    pub fn parse(s: &str) -> Option<DayKind> {
        match s {
            "holiday" => Some(DayKind::Holiday),
            "workday" => Some(DayKind::Workday),
            _ => None,
        }
    }
}

/// One exception to the ordinary week.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CalendarDay {
    /// YYYY-MM-DD.
    pub day: String,
    pub kind: DayKind,
    #[serde(default)]
    pub name: String,
}

/// A street's working calendar, loaded once and used for many computations.
#[derive(Clone, Debug, Default)]
pub struct Calendar {
    days: HashMap<NaiveDate, DayKind>,
}

impl Calendar {
    pub fn new(days: impl IntoIterator<Item = (NaiveDate, DayKind)>) -> Calendar {
        Calendar {
            days: days.into_iter().collect(),
        }
    }

    /// A street's calendar. Calendars are cached by version: every change of a street's
    /// calendar ([`set_year`]) gives it a new random version in `meta` (`calendar:STREET`),
    /// so a cached one is used only while its version is current, whichever process made
    /// the change, and two databases never share an entry. Reading the version is one
    /// primary-key lookup; loading and parsing the days cost a case's intake a twentieth.
    pub fn load(c: &mut dyn Conn, street_id: i64) -> Result<std::sync::Arc<Calendar>> {
        type Cache = std::sync::Mutex<HashMap<String, std::sync::Arc<Calendar>>>;
        static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
        let version = crate::store::meta(c, &format!("calendar:{street_id}"))?;
        let cache = CACHE.get_or_init(Default::default);
        if let Some(v) = &version
            && let Some(cal) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(v)
        {
            return Ok(cal.clone());
        }
        let cal = std::sync::Arc::new(Self::read(c, street_id)?);
        if let Some(v) = version {
            let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
            if map.len() >= 256 {
                map.clear();
            }
            map.insert(v, cal.clone());
        }
        Ok(cal)
    }

    fn read(c: &mut dyn Conn, street_id: i64) -> Result<Calendar> {
        let rows = c.query(
            "SELECT day, kind FROM calendar_days WHERE street_id = $1",
            params![street_id],
        )?;
        Ok(Calendar::new(rows.iter().filter_map(|r| {
            Some((
                NaiveDate::parse_from_str(&r.str(0), "%Y-%m-%d").ok()?,
                DayKind::parse(&r.str(1))?,
            ))
        })))
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        match self.days.get(&d) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => d.weekday().num_days_from_monday() < 5,
        }
    }

    fn local(ms: i64) -> NaiveDateTime {
        tz().timestamp_millis_opt(ms)
            .single()
            .map(|t| t.naive_local())
            .unwrap_or_default()
    }

    fn at(d: NaiveDate, hour: u32) -> i64 {
        let t = d.and_time(NaiveTime::from_hms_opt(hour, 0, 0).expect("valid hour"));
        tz().from_local_datetime(&t)
            .earliest()
            .map(|t| t.timestamp_millis())
            .unwrap_or(0)
    }

    /// The instant `work_ms` of working time after `start`.
    pub fn add(&self, start: i64, work_ms: i64) -> i64 {
        let mut left = work_ms.max(0);
        let mut day = Self::local(start).date();
        let mut from = start;
        // Ten years of days is far beyond any deadline; the bound only guards a bad calendar.
        for _ in 0..3660 {
            if self.is_working_day(day) {
                let open = Self::at(day, OPEN);
                let close = Self::at(day, CLOSE);
                let begin = from.max(open);
                if begin < close {
                    let avail = close - begin;
                    if left <= avail {
                        // A deadline that falls exactly at closing time stays on that day.
                        return begin + left;
                    }
                    left -= avail;
                }
            }
            day += Duration::days(1);
            from = Self::at(day, 0);
        }
        from
    }

    /// Working time between two instants (0 when `end` is not after `start`).
    pub fn between(&self, start: i64, end: i64) -> i64 {
        if end <= start {
            return 0;
        }
        let mut total = 0;
        let mut day = Self::local(start).date();
        let last = Self::local(end).date();
        while day <= last {
            if self.is_working_day(day) {
                let open = Self::at(day, OPEN).max(start);
                let close = Self::at(day, CLOSE).min(end);
                if close > open {
                    total += close - open;
                }
            }
            day += Duration::days(1);
        }
        total
    }
}

/// The exceptions of a street's calendar in one year.
pub fn year(c: &mut dyn Conn, street_id: i64, year: i32) -> Result<Vec<CalendarDay>> {
    let rows = c.query(
        "SELECT day, kind, name FROM calendar_days WHERE street_id = $1 AND day >= $2 AND day < $3 ORDER BY day",
        params![street_id, format!("{year:04}-01-01"), format!("{:04}-01-01", year + 1)],
    )?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(CalendarDay {
                day: r.str(0),
                kind: DayKind::parse(&r.str(1))?,
                name: r.str(2),
            })
        })
        .collect())
}

/// Checks a year's list: every day a valid date within the year, no day twice.
pub fn check_year(year: i32, days: &[CalendarDay]) -> std::result::Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for d in days {
        let date = NaiveDate::parse_from_str(&d.day, "%Y-%m-%d").map_err(|_| d.day.clone())?;
        if date.year() != year || !seen.insert(date) {
            return Err(d.day.clone());
        }
    }
    Ok(())
}

/// Replaces a street's exceptions for one year.
pub fn set_year(c: &mut dyn Conn, street_id: i64, year: i32, days: &[CalendarDay]) -> Result<()> {
    c.exec(
        "DELETE FROM calendar_days WHERE street_id = $1 AND day >= $2 AND day < $3",
        params![
            street_id,
            format!("{year:04}-01-01"),
            format!("{:04}-01-01", year + 1)
        ],
    )?;
    let rows: Vec<Vec<crate::store::Val>> = days
        .iter()
        .map(|d| {
            vec![
                street_id.into(),
                d.day.clone().into(),
                d.kind.as_str().into(),
                d.name.clone().into(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        c.insert_many(
            "calendar_days",
            &["street_id", "day", "kind", "name"],
            &rows,
        )?;
    }
    // A new version: calendars cached under the old one are no longer used.
    crate::store::set_meta(
        c,
        &format!("calendar:{street_id}"),
        &crate::org::auth::random_token("cal_"),
    )
}

/// China's public holidays and make-up working days of 2026, as the State Council's General
/// Office announced them (国办发明电〔2025〕7号).
pub fn china_2026() -> Vec<CalendarDay> {
    let mut out = Vec::new();
    let mut holiday = |from: (u32, u32), to: (u32, u32), name: &str| {
        let mut d = NaiveDate::from_ymd_opt(2026, from.0, from.1).expect("valid date");
        let end = NaiveDate::from_ymd_opt(2026, to.0, to.1).expect("valid date");
        while d <= end {
            out.push(CalendarDay {
                day: d.format("%Y-%m-%d").to_string(),
                kind: DayKind::Holiday,
                name: name.to_string(),
            });
            d += Duration::days(1);
        }
    };
    holiday((1, 1), (1, 3), "元旦");
    holiday((2, 15), (2, 23), "春节");
    holiday((4, 4), (4, 6), "清明节");
    holiday((5, 1), (5, 5), "劳动节");
    holiday((6, 19), (6, 21), "端午节");
    holiday((9, 25), (9, 27), "中秋节");
    holiday((10, 1), (10, 7), "国庆节");
    for (m, d, name) in [
        (1, 4, "元旦调休"),
        (2, 14, "春节调休"),
        (2, 28, "春节调休"),
        (5, 9, "劳动节调休"),
        (9, 20, "国庆节调休"),
        (10, 10, "国庆节调休"),
    ] {
        out.push(CalendarDay {
            day: format!("2026-{m:02}-{d:02}"),
            kind: DayKind::Workday,
            name: name.to_string(),
        });
    }
    out.sort_by(|a, b| a.day.cmp(&b.day));
    out
}

pub use crate::kernel::time::local_ms;

#[cfg(test)]
mod tests {
    use super::*;

    fn cal() -> Calendar {
        Calendar::new(china_2026().into_iter().map(|d| {
            (
                NaiveDate::parse_from_str(&d.day, "%Y-%m-%d").unwrap(),
                d.kind,
            )
        }))
    }

    #[test]
    fn within_one_day_and_overnight() {
        let c = cal();
        // Tuesday 2026-11-24 10:00 + 4 h = 14:00 the same day.
        assert_eq!(
            c.add(local_ms(2026, 11, 24, 10, 0), 4 * HOUR_MS),
            local_ms(2026, 11, 24, 14, 0)
        );
        // 16:00 + 2 h runs over the evening: 10:00 next morning.
        assert_eq!(
            c.add(local_ms(2026, 11, 24, 16, 0), 2 * HOUR_MS),
            local_ms(2026, 11, 25, 10, 0)
        );
        // Reported at night: the clock starts at 09:00.
        assert_eq!(
            c.add(local_ms(2026, 11, 24, 22, 0), HOUR_MS),
            local_ms(2026, 11, 25, 10, 0)
        );
    }

    #[test]
    fn weekends_holidays_and_make_up_days() {
        let c = cal();
        // Friday 16:00 + 2 h: Monday 10:00.
        assert_eq!(
            c.add(local_ms(2026, 11, 27, 16, 0), 2 * HOUR_MS),
            local_ms(2026, 11, 30, 10, 0)
        );
        // National Day: Wednesday 30 Sep 16:00 + 2 h skips 1–7 Oct: Thursday 8 Oct 10:00.
        assert_eq!(
            c.add(local_ms(2026, 9, 30, 16, 0), 2 * HOUR_MS),
            local_ms(2026, 10, 8, 10, 0)
        );
        // Sunday 20 Sep is a make-up working day: Friday 18 Sep 16:00 + 2 h = Sunday 10:00.
        assert_eq!(
            c.add(local_ms(2026, 9, 18, 16, 0), 2 * HOUR_MS),
            local_ms(2026, 9, 20, 10, 0)
        );
        // Saturday 10 Oct is worked too: Friday 9 Oct 16:00 + 2 h = Saturday 10:00.
        assert_eq!(
            c.add(local_ms(2026, 10, 9, 16, 0), 2 * HOUR_MS),
            local_ms(2026, 10, 10, 10, 0)
        );
        // Spring Festival: Friday 13 Feb 16:00 + 10 h = 1 h on Friday, 8 h on Saturday 14 Feb
        // (a make-up day), nine days off, then the last hour on Tuesday 24 Feb.
        assert_eq!(
            c.add(local_ms(2026, 2, 13, 16, 0), 10 * HOUR_MS),
            local_ms(2026, 2, 24, 10, 0)
        );
        // Exactly at closing time stays on the day.
        assert_eq!(
            c.add(local_ms(2026, 11, 24, 9, 0), DAY_MS),
            local_ms(2026, 11, 24, 17, 0)
        );
    }

    #[test]
    fn between_is_the_inverse_of_add() {
        let c = cal();
        let starts = [
            local_ms(2026, 9, 30, 16, 0),
            local_ms(2026, 2, 13, 11, 30),
            local_ms(2026, 12, 31, 20, 0),
            local_ms(2026, 5, 8, 12, 0),
        ];
        for s in starts {
            for h in [1, 5, 8, 13, 40, 80] {
                let end = c.add(s, h * HOUR_MS);
                assert_eq!(c.between(s, end), h * HOUR_MS, "from {s} plus {h} h");
            }
        }
        assert_eq!(c.between(10, 5), 0);
        // A holiday week has no working time at all.
        assert_eq!(
            c.between(local_ms(2026, 10, 1, 0, 0), local_ms(2026, 10, 8, 0, 0)),
            0
        );
    }

    #[test]
    fn the_2026_list_is_well_formed() {
        let days = china_2026();
        assert!(check_year(2026, &days).is_ok());
        assert_eq!(
            days.iter().filter(|d| d.kind == DayKind::Holiday).count(),
            3 + 9 + 3 + 5 + 3 + 3 + 7
        );
        let c = cal();
        // Every make-up day is a weekend day made a working day.
        for d in days.iter().filter(|d| d.kind == DayKind::Workday) {
            let date = NaiveDate::parse_from_str(&d.day, "%Y-%m-%d").unwrap();
            assert!(date.weekday().num_days_from_monday() >= 5, "{}", d.day);
            assert!(c.is_working_day(date));
        }
        assert!(check_year(2027, &days).is_err());
    }
}
