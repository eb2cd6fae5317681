//! The timers of absence and offline rules: one row per (rule, device) with the time it is next
//! due; a reading pushes it, the timer loop fires what is due, raises the alert and re-arms it in
//! one transaction guarded by the due time it read.

use super::*;

/// The next end of a daily window after `after` (unix ms).
pub fn next_window_end(after: i64, window: (u32, u32)) -> i64 {
    let tz = cst();
    let Some(t) = tz.timestamp_millis_opt(after).single() else {
        return after;
    };
    let midnight = t.timestamp_millis()
        - (t.num_seconds_from_midnight() as i64) * 1000
        - t.timestamp_subsec_millis() as i64;
    let end = midnight + window.1 as i64 * 60_000;
    if end > after { end } else { end + 86_400_000 }
}

/// When a newly armed timer of this rule is first due.
pub(super) fn first_due(
    rule: &Rule,
    p: &RuleParams,
    now: i64,
    last_seen: Option<i64>,
    interval_s: i64,
) -> i64 {
    match rule.kind {
        RuleKind::Offline => last_seen.unwrap_or(now) + offline_after_ms(p, interval_s),
        _ => match p.window.as_deref().and_then(parse_window) {
            Some(w) if p.min_total.is_none() => next_window_end(now, w),
            _ => now + p.absence_s.unwrap_or(86_400) * 1000,
        },
    }
}

pub fn offline_after_ms(p: &RuleParams, interval_s: i64) -> i64 {
    p.after_s.unwrap_or(interval_s * 2) * 1000
}

/// What a synchronisation of the timers with the rules and devices is to change, worked out
/// on a reader so the one writer is held only for the changes (usually none): 270 rules over
/// 69,000 devices take most of a second to check, every minute.
#[derive(Debug, Default)]
pub struct SyncPlan {
    /// Timers whose rule or device no longer matches: `(rule, device, due_at)` as read; one
    /// moved meanwhile (by a reading or an edit) is left for the next synchronisation.
    drop: Vec<(i64, i64, i64)>,
    /// Timers to arm: rows of `rule_timers`.
    arm: Vec<Vec<Val>>,
    /// Absence rules, with their longest absence in ms, whose timers may have been armed
    /// under a longer one.
    shorten: Vec<(i64, i64)>,
}

/// Works out which timers to arm (every timed rule and matching device without one) and to
/// drop (rule or device no longer matches), reading the rules from the same snapshot.
pub fn plan_sync(c: &mut dyn Conn, now: i64) -> Result<SyncPlan> {
    let set = &load(c)?;
    let today = local_date(now);
    let mut plan = SyncPlan::default();
    for r in c.query(
        "SELECT rule_id, device_id, due_at FROM rule_timers WHERE rule_id NOT IN (SELECT id FROM rules WHERE active = 1) \
         OR device_id NOT IN (SELECT id FROM devices WHERE active = 1)",
        &[],
    )? {
        plan.drop.push((r.i64(0), r.i64(1), r.i64(2)));
    }
    for rule in set.rules.iter().filter(|r| r.kind.timed()) {
        let mut p: Vec<Val> = vec![Val::Int(rule.street_id)];
        let mut cond = "d.active = 1 AND d.street_id = $1".to_string();
        if let Some(pid) = rule.profile_id {
            p.push(Val::Int(pid));
            cond.push_str(&format!(" AND d.profile_id = ${}", p.len()));
        }
        if let Some(did) = rule.device_id {
            p.push(Val::Int(did));
            cond.push_str(&format!(" AND d.id = ${}", p.len()));
        }
        if let Some(tag) = &rule.tag {
            p.push(Val::Text(tag.clone()));
            let t = p.len();
            p.push(Val::Text(today.clone()));
            let day = p.len();
            // From the (few) tagged people to their devices, not from every device to the
            // tags: the subquery runs once, whatever the number of devices.
            // The holders are the registry's to say (`registry::residents::tag_holders_sql`).
            let people = crate::registry::residents::tag_holders_sql(1, t, day, false);
            let flats = crate::registry::residents::tag_holders_sql(1, t, day, true);
            cond.push_str(&format!(
                " AND d.id IN (SELECT d2.id FROM devices d2 WHERE d2.person_id IN ({people}) \
                 UNION SELECT d3.id FROM devices d3 WHERE d3.place_id IN ({flats}))"
            ));
        }
        // Timers of devices the rule no longer covers (a tag that ended).
        let mut dp = p.clone();
        dp.push(Val::Int(rule.id));
        for r in c.query(
            &format!(
                "SELECT rule_id, device_id, due_at FROM rule_timers WHERE rule_id = ${} AND device_id NOT IN \
                 (SELECT d.id FROM devices d WHERE {cond})",
                dp.len()
            ),
            &dp,
        )? {
            plan.drop.push((r.i64(0), r.i64(1), r.i64(2)));
        }
        // The missing ones. Per-person parameters and offline intervals differ by device, so
        // the due time is computed here rather than in SQL.
        let missing = c.query(
            &format!(
                "SELECT d.id, d.street_id, d.person_id, d.last_seen_at, pr.report_interval_s \
                 FROM devices d JOIN device_profiles pr ON pr.id = d.profile_id \
                 WHERE {cond} AND NOT EXISTS (SELECT 1 FROM rule_timers rt WHERE rt.rule_id = {} AND rt.device_id = d.id)",
                rule.id
            ),
            &p,
        )?;
        plan.arm.extend(missing.iter().map(|r| {
            let params = rule.params_for(r.opt_i64(2));
            let due = first_due(rule, &params, now, r.opt_i64(3), r.i64(4));
            vec![
                Val::Int(rule.id),
                Val::Int(r.i64(0)),
                Val::Int(r.i64(1)),
                Val::Int(due),
                Val::Int(now),
            ]
        }));
        if rule.kind == RuleKind::Absence
            && rule.params.window.is_none()
            && rule.params.min_total.is_none()
        {
            let longest = rule
                .overrides
                .values()
                .filter_map(|o| o.absence_s)
                .chain(rule.params.absence_s)
                .max()
                .unwrap_or(86_400);
            plan.shorten.push((rule.id, longest * 1000));
        }
    }
    plan.drop.sort_unstable();
    plan.drop.dedup();
    Ok(plan)
}

/// Applies a [`SyncPlan`] in the writer's transaction; returns the number of timers armed in
/// all. Arming ignores a timer armed meanwhile; dropping spares one that moved meanwhile.
pub fn apply_sync(c: &mut dyn Conn, plan: &SyncPlan) -> Result<i64> {
    for &(rule, device, due) in &plan.drop {
        c.exec(
            "DELETE FROM rule_timers WHERE rule_id = $1 AND device_id = $2 AND due_at = $3",
            params![rule, device, due],
        )?;
    }
    for chunk in plan.arm.chunks(500) {
        c.insert_many_ignore(
            "rule_timers",
            &["rule_id", "device_id", "street_id", "due_at", "armed_at"],
            chunk,
        )?;
    }
    // A rule whose absence was shortened applies to timers armed under the old length.
    for &(rule, longest) in &plan.shorten {
        c.exec(
            "UPDATE rule_timers SET due_at = armed_at + $1 WHERE rule_id = $2 AND due_at > armed_at + $1",
            params![longest, rule],
        )?;
    }
    c.query_i64("SELECT COUNT(*) FROM rule_timers", &[])
}

/// Pushes a timer to `due` (a reading arrived: the device is online, or the awaited event
/// happened).
pub fn push_timer(
    c: &mut dyn Conn,
    rule_id: i64,
    d: &DeviceInfo,
    due: i64,
    now: i64,
) -> Result<()> {
    c.exec(
        "INSERT INTO rule_timers (rule_id, device_id, street_id, due_at, armed_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (rule_id, device_id) DO UPDATE SET due_at = excluded.due_at, armed_at = excluded.armed_at",
        params![rule_id, d.id, d.street_id, due, now],
    )?;
    Ok(())
}

/// Fires the timers due at `now` (at most `limit`); returns the alert changes to publish.
pub fn fire_due(c: &mut dyn Conn, set: &RuleSet, now: i64, limit: i64) -> Result<Vec<AlertEvent>> {
    let due = c.query(
        "SELECT rule_id, device_id, due_at FROM rule_timers WHERE due_at <= $1 ORDER BY due_at LIMIT $2",
        params![now, limit],
    )?;
    let mut out = Vec::new();
    let today = local_date(now);
    for t in due {
        let (rule_id, device_id, due_at) = (t.i64(0), t.i64(1), t.i64(2));
        let (Some(rule), Some(dev)) = (
            set.get(rule_id),
            crate::sensing::devices::info_by_id(c, device_id, &today)?.filter(|d| d.active),
        ) else {
            c.exec(
                "DELETE FROM rule_timers WHERE rule_id = $1 AND device_id = $2",
                params![rule_id, device_id],
            )?;
            continue;
        };
        let p = rule.params_for(dev.person_id);
        let window = p.window.as_deref().and_then(parse_window);
        // Decide the next due time first and claim the timer with it: only the claimant acts.
        let next = match rule.kind {
            RuleKind::Offline => now + offline_after_ms(&p, dev.interval_s),
            _ if p.min_total.is_some() => {
                due_at + (p.absence_s.unwrap_or(3600) * 1000 / 4).max(1000)
            }
            _ => match window {
                Some(w) => next_window_end(now, w),
                None => now + p.absence_s.unwrap_or(86_400) * 1000,
            },
        };
        let claimed = c.exec(
            "UPDATE rule_timers SET due_at = $1, armed_at = $2 WHERE rule_id = $3 AND device_id = $4 AND due_at = $5",
            params![next, now, rule_id, device_id, due_at],
        )?;
        if claimed == 0 {
            continue;
        }
        let verdict = judge_timer(c, rule, &p, &dev, due_at, window)?;
        match verdict {
            Some((message, details)) => {
                out.extend(alerts::raise(c, rule, &dev, now, &message, details)?);
            }
            None => out.extend(alerts::auto_clear(
                c,
                rule.id,
                dev.id,
                now,
                "condition no longer holds",
            )?),
        }
    }
    Ok(out)
}

/// Whether a due timer means an alert: `Some((message, details))`, or `None` when all is well.
pub(super) fn judge_timer(
    c: &mut dyn Conn,
    rule: &Rule,
    p: &RuleParams,
    dev: &DeviceInfo,
    due_at: i64,
    window: Option<(u32, u32)>,
) -> Result<Option<(String, serde_json::Value)>> {
    let key = p.key.clone().unwrap_or_default();
    match rule.kind {
        RuleKind::Offline => {
            let last = c
                .query_one(
                    "SELECT last_seen_at FROM devices WHERE id = $1",
                    params![dev.id],
                )?
                .opt_i64(0);
            let after = offline_after_ms(p, dev.interval_s);
            if last.is_some_and(|t| due_at - t < after) {
                return Ok(None);
            }
            Ok(Some(said(
                "offline",
                serde_json::json!({"last_seen_at": last, "after_s": after / 1000}),
            )))
        }
        _ if p.min_total.is_some() => {
            let span = p.absence_s.unwrap_or(3600) * 1000;
            let from = due_at - span;
            let first = c
                .query_opt(
                    "SELECT num FROM readings WHERE device_id = $1 AND key = $2 AND ts <= $3 AND num IS NOT NULL ORDER BY ts DESC LIMIT 1",
                    params![dev.id, key.as_str(), from],
                )?
                .and_then(|r| r.opt_f64(0));
            let r = c.query_one(
                "SELECT MIN(num), MAX(num), COUNT(*) FROM readings WHERE device_id = $1 AND key = $2 AND ts > $3 AND ts <= $4",
                params![dev.id, key.as_str(), from, due_at],
            )?;
            let lo = first.or(r.opt_f64(0)).unwrap_or(0.0);
            let hi = r.opt_f64(1).unwrap_or(lo).max(lo);
            let used = hi - lo;
            let min = p.min_total.unwrap_or(0.0);
            if used >= min {
                return Ok(None);
            }
            Ok(Some(said(
                "absence",
                serde_json::json!({"key": key, "used": used, "min_total": min, "from": from, "to": due_at, "readings": r.i64(2)}),
            )))
        }
        _ => {
            let last = c
                .query_opt(
                    "SELECT since FROM rule_state WHERE rule_id = $1 AND device_id = $2",
                    params![rule.id, dev.id],
                )?
                .map(|r| r.i64(0));
            match window {
                Some(w) => {
                    let start = due_at - (w.1 - w.0) as i64 * 60_000;
                    if last.is_some_and(|t| t >= start) {
                        return Ok(None);
                    }
                    Ok(Some(said(
                        "absence",
                        serde_json::json!({"key": key, "equals": p.equals, "window": p.window, "last_event_at": last}),
                    )))
                }
                None => {
                    let span = p.absence_s.unwrap_or(86_400) * 1000;
                    if last.is_some_and(|t| due_at - t < span) {
                        return Ok(None);
                    }
                    Ok(Some(said(
                        "absence",
                        serde_json::json!({"key": key, "equals": p.equals, "absence_s": span / 1000, "last_event_at": last}),
                    )))
                }
            }
        }
    }
}

/// Applies one reading to the rules that read it; returns alert changes.
pub fn on_reading(
    c: &mut dyn Conn,
    set: &RuleSet,
    dev: &DeviceInfo,
    key: &str,
    ts: i64,
    v: &Value,
    now: i64,
) -> Result<Vec<AlertEvent>> {
    let mut out = Vec::new();
    for rule in set.for_reading(dev, key) {
        let p = rule.params_for(dev.person_id);
        match rule.kind {
            RuleKind::Threshold => {
                let Some(x) = v.num else { continue };
                if p.breaches(x) {
                    let prev = c.query_opt(
                        "SELECT since, hits FROM rule_state WHERE rule_id = $1 AND device_id = $2",
                        params![rule.id, dev.id],
                    )?;
                    let (since, hits) = prev.map(|r| (r.i64(0), r.i64(1) + 1)).unwrap_or((ts, 1));
                    c.exec(
                        "INSERT INTO rule_state (rule_id, device_id, street_id, since, hits) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (rule_id, device_id) DO UPDATE SET since = excluded.since, hits = excluded.hits",
                        params![rule.id, dev.id, dev.street_id, since, hits],
                    )?;
                    let lasted = ts - since >= p.duration_s.unwrap_or(0) * 1000;
                    if lasted && hits >= p.repeat.unwrap_or(1) {
                        let (msg, details) = said(
                            "threshold",
                            serde_json::json!({"key": key, "value": x, "op": p.op, "threshold": p.value,
                                               "ts": ts, "since": since, "hits": hits}),
                        );
                        out.extend(alerts::raise(c, rule, dev, now, &msg, details)?);
                    }
                } else {
                    let n = c.exec(
                        "DELETE FROM rule_state WHERE rule_id = $1 AND device_id = $2",
                        params![rule.id, dev.id],
                    )?;
                    if n > 0 {
                        out.extend(alerts::auto_clear(
                            c,
                            rule.id,
                            dev.id,
                            now,
                            "value back in range",
                        )?);
                    }
                }
            }
            RuleKind::Event => {
                if !p.is_event(v) {
                    continue;
                }
                // A tag rule holds only while the tag is valid on the day of the event
                // (a quarantine has an end date).
                if let Some(tag) = &rule.tag {
                    let day = local_date(ts);
                    let tags = crate::sensing::devices::device_tags(c, dev.id, &day)?;
                    if !tags.contains(tag) {
                        continue;
                    }
                }
                let (msg, details) = said(
                    "event",
                    serde_json::json!({"key": key, "value": v.json(), "ts": ts}),
                );
                out.extend(alerts::raise(c, rule, dev, now, &msg, details)?);
            }
            RuleKind::Absence => {
                if p.min_total.is_some() || !p.is_event(v) {
                    continue;
                }
                // Remember the last awaited event (daily windows look at it) and, for
                // "none for H hours", push the timer H hours past it.
                c.exec(
                    "INSERT INTO rule_state (rule_id, device_id, street_id, since, hits) VALUES ($1, $2, $3, $4, 1) \
                     ON CONFLICT (rule_id, device_id) DO UPDATE SET since = excluded.since, hits = rule_state.hits + 1 \
                     WHERE excluded.since > rule_state.since",
                    params![rule.id, dev.id, dev.street_id, ts],
                )?;
                if p.window.is_none() {
                    let due = ts + p.absence_s.unwrap_or(86_400) * 1000;
                    c.exec(
                        "INSERT INTO rule_timers (rule_id, device_id, street_id, due_at, armed_at) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (rule_id, device_id) DO UPDATE SET due_at = excluded.due_at, armed_at = excluded.armed_at \
                         WHERE excluded.due_at > rule_timers.due_at",
                        // Armed at the event: the timer is due exactly `absence_s` after it.
                        params![rule.id, dev.id, dev.street_id, due, ts],
                    )?;
                    out.extend(alerts::auto_clear(
                        c,
                        rule.id,
                        dev.id,
                        now,
                        "the awaited event happened",
                    )?);
                } else if let Some(w) = p.window.as_deref().and_then(parse_window) {
                    // Inside today's window: the day is fine.
                    let end = next_window_end(ts, w);
                    if ts >= end - (w.1 - w.0) as i64 * 60_000 {
                        out.extend(alerts::auto_clear(
                            c,
                            rule.id,
                            dev.id,
                            now,
                            "the awaited event happened",
                        )?);
                    }
                }
            }
            RuleKind::Offline => {}
        }
    }
    Ok(out)
}

/// An alert's stored sentence (in Chinese, as cases are stored) beside its details, from
/// which each page says it again in its viewer's language.
fn said(kind: &str, details: serde_json::Value) -> (String, serde_json::Value) {
    let msg = crate::sensing::words::describe(kind, &details, crate::kernel::i18n::Lang::Zh)
        .unwrap_or_default();
    (msg, details)
}

/// The device reported: push its offline timers and clear offline alerts.
pub fn on_contact(
    c: &mut dyn Conn,
    set: &RuleSet,
    dev: &DeviceInfo,
    now: i64,
) -> Result<Vec<AlertEvent>> {
    let mut out = Vec::new();
    for rule in set.offline_for(dev) {
        let p = rule.params_for(dev.person_id);
        push_timer(
            c,
            rule.id,
            dev,
            now + offline_after_ms(&p, dev.interval_s),
            now,
        )?;
        out.extend(alerts::auto_clear(
            c,
            rule.id,
            dev.id,
            now,
            "the device is back online",
        )?);
    }
    Ok(out)
}

/// The timer loop: fires due timers, escalates unacknowledged alerts, and re-synchronises
/// the timers with the rules and devices every minute (and at start, which re-arms them).
pub async fn timer_loop(state: Arc<AppState>) {
    let s = &crate::sensing::of(&state);
    let mut last_sync: Option<std::time::Instant> = None;
    let mut last_reload = std::time::Instant::now();
    let mut asked = false;
    loop {
        if last_reload.elapsed() > Duration::from_secs(30) {
            if let Err(e) = s.reload_rules(&state.db).await {
                tracing::error!(error = %e, "reloading sensing rules failed");
            }
            last_reload = std::time::Instant::now();
        }
        // Every minute, and soon after devices changed (but not after every one of a burst).
        let every = if asked {
            Duration::from_secs(2)
        } else {
            Duration::from_secs(60)
        };
        if last_sync.is_none_or(|t| t.elapsed() > every) {
            asked = false;
            let t0 = std::time::Instant::now();
            match sync_now(&state).await {
                Ok(n) => {
                    let ms = t0.elapsed().as_millis() as u64;
                    if last_sync.is_none() {
                        tracing::info!(timers = n, ms, "sensing timers armed");
                    } else {
                        tracing::debug!(timers = n, ms, "sensing timers synchronised");
                    }
                }
                Err(e) => tracing::error!(error = %e, "arming sensing timers failed"),
            }
            last_sync = Some(std::time::Instant::now());
        }
        if let Err(e) = tick(&state).await {
            tracing::error!(error = %e, "the sensing timers failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = s.wake.notified() => { asked = true; }
        }
    }
}

/// One pass: fires what is due now and escalates; returns how many changes were published.
pub async fn tick(state: &Arc<AppState>) -> std::result::Result<usize, StoreError> {
    let s = &crate::sensing::of(state);
    let mut total = 0;
    loop {
        let now = s.clock.now_ms();
        // Most ticks find nothing due. Asked on a reader first, so that the one writer is not
        // taken and the rules not loaded twice a second for nothing (0.65 ms each on the
        // district demo, 78 ms of an idle minute). A timer armed after this look is fired by
        // the next tick, as one armed after the write would be.
        if !state.db.read(move |c| anything_due(c, now)).await? {
            return Ok(total);
        }
        let (changes, fired) = state
            .db
            .write(move |c| {
                // Judged by the rules as they are in this transaction, not as cached: a
                // timer an edit has just moved is not fired under the rule's old terms.
                let set = load(c)?;
                let before = c.query_i64(
                    "SELECT COUNT(*) FROM rule_timers WHERE due_at <= $1",
                    params![now],
                )?;
                let mut ch = fire_due(c, &set, now, 500)?;
                ch.extend(alerts::escalate_due(c, &set, now)?);
                Ok((ch, before))
            })
            .await?;
        s.metrics.timers_fired.inc_by(fired.min(500) as u64);
        total += changes.len();
        s.publish(changes);
        if fired <= 500 {
            return Ok(total);
        }
    }
}

/// Whether a timer is due or an alert is to be escalated at `now`.
fn anything_due(c: &mut dyn Conn, now: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM rule_timers WHERE due_at <= $1 LIMIT 1",
        params![now],
    )?
    .is_some()
        || c.query_opt(
            "SELECT 1 FROM alerts WHERE escalate_at IS NOT NULL AND escalate_at <= $1 \
             AND state = 'active_unack' LIMIT 1",
            params![now],
        )?
        .is_some())
}

/// Re-arms the timers now (after rules or devices changed, from the timer loop, and from
/// tests): planned on a reader, applied by the writer. One at a time, so a plan read before
/// an edit committed is always followed by one read after it, which mends what it missed.
pub async fn sync_now(state: &Arc<AppState>) -> std::result::Result<i64, StoreError> {
    let _one = crate::sensing::of(state).sync_lock.lock().await;
    let now = crate::sensing::of(state).clock.now_ms();
    let plan = state.db.read(move |c| plan_sync(c, now)).await?;
    let n = state.db.write(move |c| apply_sync(c, &plan)).await?;
    crate::sensing::of(state).metrics.timers_armed.set(n);
    Ok(n)
}
