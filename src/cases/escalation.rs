//! The deadline watcher: warns at 80% of a running deadline and, when it passes, sends a
//! supervision notice (督办) to the handling organisation and raises the case one level
//! (grid → community → street → district) — at the deadline, one working day after it and
//! three working days after it.
//!
//! Its whole state is on the case rows: `warned`, `level` and `next_alarm_at` (the next
//! instant the watcher must look). A sweep handles every case whose `next_alarm_at` has
//! passed, fires every alarm due by then (so a sweep after downtime catches up: one escalation
//! to the level the case should have reached, marked `caught_up` with the level it came from,
//! not one event, 督办 and message per missed level in the same minute), and moves `next_alarm_at` on in the same transaction — so a restart neither misses
//! nor repeats an escalation. The update is conditional on the `next_alarm_at` it read, so two
//! instances sweeping one PostgreSQL database cannot both act on a case.

use std::collections::HashMap;

use super::calendar::{Calendar, DAY_MS};
use super::{Case, notify, record_event};
use crate::params;
use crate::store::{Conn, Result};

/// The highest level: the district.
pub const TOP_LEVEL: i64 = 3;

/// When each level is reached, for a deadline: levels 1, 2 and 3.
pub fn thresholds(cal: &Calendar, due: i64) -> [i64; 3] {
    [due, cal.add(due, DAY_MS), cal.add(due, 3 * DAY_MS)]
}

/// The next instant the watcher must look at a case, if any.
pub fn next_alarm(cal: &Calendar, case: &Case) -> Option<i64> {
    next_of(
        cal,
        &case.clock,
        case.warn_at,
        case.due_at,
        case.warned,
        case.level,
    )
}

pub(super) fn next_of(
    cal: &Calendar,
    clock: &str,
    warn_at: Option<i64>,
    due_at: Option<i64>,
    warned: bool,
    level: i64,
) -> Option<i64> {
    if !matches!(clock, "accept" | "resolve") {
        return None;
    }
    let due = due_at?;
    if !warned {
        return Some(warn_at.unwrap_or(due).min(due));
    }
    (level < TOP_LEVEL).then(|| thresholds(cal, due)[level as usize])
}

/// The alarms due by `now` on a clock with this deadline: the 80% warning (said only while
/// the deadline is still ahead) and one escalation to the level it should have reached by
/// now. Moves `warned` and `level` on; shared by cases and their tasks.
pub(super) fn fire(
    cal: &Calendar,
    warn_at: Option<i64>,
    due: i64,
    warned: &mut bool,
    level: &mut i64,
    now: i64,
) -> Vec<(&'static str, i64)> {
    let mut fired = Vec::new();
    if !*warned && now >= warn_at.unwrap_or(due).min(due) {
        *warned = true;
        if now < due {
            fired.push(("warning", 0));
        }
    }
    let th = thresholds(cal, due);
    let from = *level;
    while *level < TOP_LEVEL && now >= th[*level as usize] {
        *level += 1;
    }
    if *level > from {
        fired.push(("escalated", *level));
    }
    fired
}

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    pub looked_at: usize,
    pub warnings: usize,
    pub escalations: usize,
}

const BATCH: i64 = 2000;

/// Handles every case whose next alarm is due at `now`. Runs in the caller's transaction.
pub fn sweep(c: &mut dyn Conn, now: i64) -> Result<Sweep> {
    let mut out = Sweep::default();
    let mut calendars: HashMap<i64, std::sync::Arc<Calendar>> = HashMap::new();
    let mut after = i64::MIN;
    let mut after_id = 0i64;
    loop {
        let rows = c.query(
            &format!(
                "SELECT id, street_id, clock, warn_at, due_at, warned, level, handler_org_id, \
                 handler_user_id, place_path, next_alarm_at FROM cases \
                 WHERE next_alarm_at <= $1 AND (next_alarm_at > $2 OR (next_alarm_at = $2 AND id > $3)) \
                 ORDER BY next_alarm_at, id LIMIT {BATCH}"
            ),
            params![now, after, after_id],
        )?;
        let n = rows.len();
        for r in rows {
            let (id, street) = (r.i64(0), r.i64(1));
            let clock = r.str(2);
            let (warn_at, due_at) = (r.opt_i64(3), r.opt_i64(4));
            let mut warned = r.bool(5);
            let mut level = r.i64(6);
            let (org, user) = (r.opt_i64(7), r.opt_i64(8));
            let path = r.str(9);
            let old_next = r.i64(10);
            after = old_next;
            after_id = id;
            out.looked_at += 1;
            let cal = match calendars.get(&street) {
                Some(cal) => cal,
                None => {
                    let cal = Calendar::load(c, street)?;
                    calendars.entry(street).or_insert(cal)
                }
            };
            let Some(due) = due_at else { continue };
            let from = level;
            let fired = fire(cal, warn_at, due, &mut warned, &mut level, now);
            let next = next_of(cal, &clock, warn_at, due_at, warned, level);
            let late = level > 0;
            let changed = c.exec(
                "UPDATE cases SET warned = $2, level = $3, late = CASE WHEN $4 = 1 THEN 1 ELSE late END, \
                 next_alarm_at = $5 WHERE id = $1 AND next_alarm_at = $6",
                params![id, warned, level, late, next, old_next],
            )?;
            if changed == 0 {
                continue;
            }
            let state = c
                .query_opt("SELECT state FROM cases WHERE id = $1", params![id])?
                .map(|r| r.str(0))
                .unwrap_or_default();
            for (kind, lvl) in fired {
                let mut data = serde_json::json!({"level": lvl, "clock": clock, "due_at": due});
                if kind == "escalated" && lvl > from + 1 {
                    // Levels passed while no sweep ran (the server was down, or a demo's
                    // history): said once, with where it came from.
                    data["from"] = from.into();
                    data["caught_up"] = true.into();
                }
                record_event(
                    c,
                    street,
                    id,
                    now,
                    (None, "system"),
                    kind,
                    &state,
                    &state,
                    "",
                    data,
                )?;
                if kind == "warning" {
                    out.warnings += 1;
                    if org.is_some() || user.is_some() {
                        notify::to_handler(c, street, org, user, "warning", id, "", now)?;
                    } else {
                        notify::to_dispatchers(c, street, &path, 0, "warning", id, "", now)?;
                    }
                } else {
                    out.escalations += 1;
                    // 督办: the organisation handling it is told it is late, once per sweep.
                    if org.is_some() || user.is_some() {
                        record_event(
                            c,
                            street,
                            id,
                            now,
                            (None, "system"),
                            "supervision",
                            &state,
                            &state,
                            "",
                            serde_json::json!({"level": lvl, "org_id": org}),
                        )?;
                        notify::to_handler(c, street, org, user, "supervision", id, "", now)?;
                    }
                    // Each level passed has its own dispatchers (community, street, district):
                    // each is told once, even when a catch-up passes several levels.
                    for l in from + 1..=lvl {
                        notify::to_dispatchers(c, street, &path, l, "escalated", id, "", now)?;
                    }
                }
            }
        }
        if (n as i64) < BATCH {
            break;
        }
    }
    Ok(out)
}
