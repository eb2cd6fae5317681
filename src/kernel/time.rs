//! Time as linli stores it (milliseconds since the epoch, UTC) and as people read it: every time
//! shown or judged — a date of birth's age, "today" for a tag, working hours, an access log line —
//! is in the street's zone (the `time_zone` setting, China Standard Time by default), never the
//! server's own zone (UTC on most servers). One copy of each helper, here.

use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, TimeZone};
use chrono_tz::Tz;

static ZONE: OnceLock<Tz> = OnceLock::new();

/// Sets the street's zone once, at start (from the `time_zone` setting); a second call with
/// another zone is refused, since times already judged would disagree.
pub fn set_zone(tz: Tz) -> Result<(), Tz> {
    let now = *ZONE.get_or_init(|| tz);
    if now == tz { Ok(()) } else { Err(now) }
}

/// The street's time zone: the setting, else Asia/Shanghai (China Standard Time, UTC+8 all
/// year; GB/T 7408 writes it +08:00).
pub fn zone() -> Tz {
    ZONE.get().copied().unwrap_or(chrono_tz::Asia::Shanghai)
}

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Today's date in the street's zone.
pub fn today() -> NaiveDate {
    chrono::Utc::now().with_timezone(&zone()).date_naive()
}

/// An instant in the street's zone.
pub fn local(ms: i64) -> Option<DateTime<Tz>> {
    zone().timestamp_millis_opt(ms).single()
}

/// A time as people here write it: 2026-11-23 19:05.
pub fn local_time(ms: i64) -> String {
    local(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// The date of an instant in the street's zone: 2026-11-23.
pub fn local_date(ms: i64) -> String {
    local(ms)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// An instant given as a local date and time in the street's zone; for tests and the demo.
pub fn local_ms(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
    let t = NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(h, min, 0))
        .expect("valid local time");
    zone()
        .from_local_datetime(&t)
        .earliest()
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_is_china_time_whatever_the_server_zone() {
        // 2026-11-23 11:05 UTC is 19:05 in Shanghai.
        let ms = 1_795_431_900_000;
        assert_eq!(local_time(ms), "2026-11-23 19:05");
        assert_eq!(local_date(ms), "2026-11-23");
        assert_eq!(local_ms(2026, 11, 23, 19, 5), ms);
    }
}
