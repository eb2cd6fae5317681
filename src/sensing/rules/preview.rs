//! What a rule change would do at once: for how many devices the rule, as changed, would fire
//! now. Shortening an absence rule's period on a street makes every timer armed longer ago
//! than the new period due at once; the rule's page and the API show this count and ask to
//! confirm before saving (issue 19, item 5).

use serde::Serialize;
use utoipa::ToSchema;

use super::*;

/// The effect a rule change would have now, worked out without saving it.
#[derive(Clone, Debug, Default, Serialize, ToSchema, PartialEq, Eq)]
pub struct RulePreview {
    /// Devices the changed rule would raise a new alert for at once.
    pub would_fire_now: i64,
    /// Devices the rule watches (timed rules: its armed timers; others: the devices it applies
    /// to that reported the watched key).
    pub watched: i64,
    /// Of those, devices with an active alert of this rule already (a repeat, not a new alert).
    pub already_active: i64,
    /// Whether saving needs `confirm: true` (it would fire now for at least one device).
    pub confirm_needed: bool,
    /// Beyond this many alert-opened cases of one rule in one grid within the hour, its alerts
    /// are grouped into one case and the rule's owner is told.
    pub group_after: i64,
}

/// Counts the devices `new` (the rule `old` as changed) would fire for at `now`. Reads only.
pub fn preview(c: &mut dyn Conn, old: &Rule, new: &Rule, now: i64) -> Result<RulePreview> {
    let mut out = RulePreview {
        group_after: alerts::GROUP_AFTER,
        ..RulePreview::default()
    };
    let active: std::collections::HashSet<i64> = c
        .query(
            "SELECT device_id FROM alerts WHERE rule_id = $1 AND active = 1",
            params![old.id],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect();
    // A disabled rule fires for nothing; one enabled again arms its timers from now.
    if !new.active || !old.active {
        return Ok(out);
    }
    let today = local_date(now);
    // When the watched key or value changes, what was counted no longer counts: its timers
    // start again now (see `rearm`), so nothing is due at once.
    let otherwise = watches_otherwise(old, new);
    if new.kind.timed() {
        let timers = c.query(
            "SELECT t.device_id, t.armed_at, d.last_seen_at FROM rule_timers t JOIN devices d ON d.id = t.device_id \
             WHERE t.rule_id = $1 AND d.active = 1 ORDER BY t.device_id",
            params![old.id],
        )?;
        out.watched = timers.len() as i64;
        for t in timers {
            let (device, armed_at, last_seen) = (t.i64(0), t.i64(1), t.opt_i64(2));
            if active.contains(&device) {
                out.already_active += 1;
                continue;
            }
            if otherwise {
                continue;
            }
            let Some(dev) = crate::sensing::devices::info_by_id(c, device, &today)? else {
                continue;
            };
            let p = new.params_for(dev.person_id);
            let window = p.window.as_deref().and_then(parse_window);
            let due = match new.kind {
                RuleKind::Offline => {
                    last_seen.unwrap_or(armed_at) + offline_after_ms(&p, dev.interval_s)
                }
                _ => match window {
                    Some(w) if p.min_total.is_none() => next_window_end(now, w),
                    _ => armed_at + p.absence_s.unwrap_or(86_400) * 1000,
                },
            };
            if due > now {
                continue;
            }
            if judge_timer(c, new, &p, &dev, due, window)?.is_some() {
                out.would_fire_now += 1;
            }
        }
    } else if new.kind == RuleKind::Threshold && !otherwise {
        // A threshold fires on the next reading; count the devices whose latest reading
        // already breaches the new one (they fire with their next report).
        let key = new.params.key.clone().unwrap_or_default();
        let rows = c.query(
            "SELECT s.device_id, s.num FROM device_state s JOIN devices d ON d.id = s.device_id \
             WHERE d.street_id = $1 AND d.active = 1 AND s.key = $2 AND s.num IS NOT NULL ORDER BY s.device_id",
            params![new.street_id, key.as_str()],
        )?;
        for r in rows {
            let (device, last) = (r.i64(0), r.opt_f64(1));
            let Some(dev) = crate::sensing::devices::info_by_id(c, device, &today)? else {
                continue;
            };
            if !new.applies_to(&dev) {
                continue;
            }
            out.watched += 1;
            if active.contains(&device) {
                out.already_active += 1;
                continue;
            }
            let p = new.params_for(dev.person_id);
            if last.is_some_and(|x| p.breaches(x))
                && p.repeat.unwrap_or(1) <= 1
                && p.duration_s.unwrap_or(0) == 0
            {
                out.would_fire_now += 1;
            }
        }
    }
    out.confirm_needed = out.would_fire_now > 0;
    Ok(out)
}
