//! Rules: threshold (above X for at least D, N readings in a row), event (a door opened on a
//! quarantined flat while the quarantine lasts), absence (no door opening for H hours, or none
//! within a daily window; water use under V in H hours) and offline. A rule applies to a
//! profile's devices, one device, the devices of people holding a tag, or a combination; a
//! person may have parameters of their own.
//!
//! Absence and offline rules are driven by `rule_timers`: one row per (rule, device) with the
//! time it is next due. A reading pushes a timer; the timer loop fires what is due. Firing,
//! raising the alert and re-arming happen in one transaction, guarded by the due time the
//! loop read (`… WHERE due_at = $old`), so neither a restart nor a second instance repeats it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{FixedOffset, TimeZone, Timelike};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::alerts::{self, AlertEvent};
use super::devices::DeviceInfo;
use super::ingest::Value;
use crate::app::AppState;
use crate::params;
use crate::store::{Conn, Result, Row, StoreError, Val};

/// China Standard Time (no daylight saving): daily windows and tag dates are local to it.
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

pub fn local_date(ms: i64) -> String {
    cst()
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    Threshold,
    Event,
    Absence,
    Offline,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Threshold => "threshold",
            RuleKind::Event => "event",
            RuleKind::Absence => "absence",
            RuleKind::Offline => "offline",
        }
    }
    pub fn parse(s: &str) -> Option<RuleKind> {
        [
            RuleKind::Threshold,
            RuleKind::Event,
            RuleKind::Absence,
            RuleKind::Offline,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
    /// Driven by timers rather than by readings alone.
    pub fn timed(self) -> bool {
        matches!(self, RuleKind::Absence | RuleKind::Offline)
    }
}

pub const SEVERITIES: [&str; 4] = ["critical", "major", "minor", "warning"];

/// A rule's parameters; which are needed depends on its kind.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleParams {
    /// The telemetry key watched (threshold, event, absence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Threshold comparison: gt, ge, lt, le.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// Threshold value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Threshold: the breach must last at least this long (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<i64>,
    /// Threshold: and span at least this many readings in a row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<i64>,
    /// Event and absence: the value that counts as the event (e.g. `"open"` or 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub equals: Option<serde_json::Value>,
    /// Absence: seconds without the event (or the length of the usage window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absence_s: Option<i64>,
    /// Absence: only within this daily window, `HH:MM-HH:MM` (China Standard Time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// Absence of use: the key's cumulative value rose by less than this within `absence_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_total: Option<f64>,
    /// Offline: seconds without contact [default: twice the profile's interval].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_s: Option<i64>,
}

fn bad(zh: &str, en: &str) -> String {
    format!("{zh} / {en}")
}

/// Parses `HH:MM-HH:MM` into minutes after midnight.
pub fn parse_window(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('-')?;
    let m = |t: &str| -> Option<u32> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    };
    let (a, b) = (m(a)?, m(b)?);
    (a < b).then_some((a, b))
}

impl RuleParams {
    /// Checks that the kind's parameters are present and sensible; the message is bilingual.
    pub fn validate(&self, kind: RuleKind) -> std::result::Result<(), String> {
        let key_needed = !matches!(kind, RuleKind::Offline);
        if key_needed && self.key.as_deref().is_none_or(|k| k.trim().is_empty()) {
            return Err(bad("规则缺少监测项 key", "the rule needs a telemetry key"));
        }
        match kind {
            RuleKind::Threshold => {
                if !matches!(self.op.as_deref(), Some("gt" | "ge" | "lt" | "le")) {
                    return Err(bad(
                        "阈值规则的 op 应为 gt、ge、lt 或 le",
                        "a threshold rule's op must be gt, ge, lt or le",
                    ));
                }
                if self.value.is_none_or(|v| !v.is_finite()) {
                    return Err(bad("阈值规则缺少 value", "a threshold rule needs a value"));
                }
                if self.duration_s.is_some_and(|d| d < 0) || self.repeat.is_some_and(|r| r < 1) {
                    return Err(bad(
                        "持续时间不能为负，次数至少为 1",
                        "duration_s cannot be negative and repeat must be at least 1",
                    ));
                }
            }
            RuleKind::Event => {
                if self.equals.is_none() {
                    return Err(bad(
                        "事件规则缺少 equals（哪个值算作事件）",
                        "an event rule needs equals (the value that is the event)",
                    ));
                }
            }
            RuleKind::Absence => {
                if self.absence_s.is_none_or(|s| s < 1) && self.window.is_none() {
                    return Err(bad(
                        "无活动规则需要 absence_s（秒）或每日时段 window",
                        "an absence rule needs absence_s (seconds) or a daily window",
                    ));
                }
                if let Some(w) = &self.window
                    && parse_window(w).is_none()
                {
                    return Err(bad(
                        "时段格式应为 07:00-10:00",
                        "the window must look like 07:00-10:00",
                    ));
                }
                if self.min_total.is_some() && self.absence_s.is_none_or(|s| s < 1) {
                    return Err(bad(
                        "用量规则需要 absence_s（统计时长，秒）",
                        "a usage rule needs absence_s (the period, in seconds)",
                    ));
                }
                if self.min_total.is_none() && self.equals.is_none() {
                    return Err(bad(
                        "无活动规则需要 equals（等待的事件）或 min_total（最低用量）",
                        "an absence rule needs equals (the awaited event) or min_total (the least use)",
                    ));
                }
            }
            RuleKind::Offline => {
                if self.after_s.is_some_and(|s| s < 1) {
                    return Err(bad(
                        "after_s 至少为 1 秒",
                        "after_s must be at least 1 second",
                    ));
                }
            }
        }
        Ok(())
    }

    /// These parameters with a person's own ones laid over them.
    pub fn merged(&self, over: &RuleParams) -> RuleParams {
        RuleParams {
            key: over.key.clone().or_else(|| self.key.clone()),
            op: over.op.clone().or_else(|| self.op.clone()),
            value: over.value.or(self.value),
            duration_s: over.duration_s.or(self.duration_s),
            repeat: over.repeat.or(self.repeat),
            equals: over.equals.clone().or_else(|| self.equals.clone()),
            absence_s: over.absence_s.or(self.absence_s),
            window: over.window.clone().or_else(|| self.window.clone()),
            min_total: over.min_total.or(self.min_total),
            after_s: over.after_s.or(self.after_s),
        }
    }

    /// Whether a value is the awaited event.
    pub fn is_event(&self, v: &Value) -> bool {
        match &self.equals {
            None => false,
            Some(serde_json::Value::Number(n)) => v.num.is_some_and(|x| Some(x) == n.as_f64()),
            Some(serde_json::Value::Bool(b)) => {
                v.num.is_some_and(|x| (x != 0.0) == *b)
                    || v.text.as_deref() == Some(if *b { "true" } else { "false" })
            }
            Some(serde_json::Value::String(s)) => v.text.as_deref() == Some(s.as_str()),
            Some(_) => false,
        }
    }

    pub fn breaches(&self, x: f64) -> bool {
        let Some(v) = self.value else { return false };
        match self.op.as_deref() {
            Some("gt") => x > v,
            Some("ge") => x >= v,
            Some("lt") => x < v,
            Some("le") => x <= v,
            _ => false,
        }
    }
}

/// A rule as stored and as the API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Rule {
    pub id: i64,
    pub street_id: i64,
    pub name: String,
    pub kind: RuleKind,
    pub severity: String,
    pub profile_id: Option<i64>,
    pub device_id: Option<i64>,
    pub tag: Option<String>,
    pub params: RuleParams,
    /// The case category an alert of this rule opens.
    pub category: String,
    /// Minutes before an unacknowledged alert escalates one level up.
    pub ack_minutes: i64,
    /// Per-person parameters, by person id.
    pub overrides: HashMap<i64, RuleParams>,
    /// False while an administrator has disabled it: it watches nothing and arms no timer.
    pub active: bool,
}

impl Rule {
    pub fn applies_to(&self, d: &DeviceInfo) -> bool {
        self.street_id == d.street_id
            && self.profile_id.is_none_or(|p| p == d.profile_id)
            && self.device_id.is_none_or(|id| id == d.id)
            && self
                .tag
                .as_ref()
                .is_none_or(|t| d.tags.iter().any(|x| x == t))
    }
    pub fn params_for(&self, person_id: Option<i64>) -> RuleParams {
        match person_id.and_then(|p| self.overrides.get(&p)) {
            Some(o) => self.params.merged(o),
            None => self.params.clone(),
        }
    }
}

/// All active rules, parsed once.
#[derive(Default, Debug)]
pub struct RuleSet {
    pub rules: Vec<Arc<Rule>>,
    by_id: HashMap<i64, Arc<Rule>>,
}

impl RuleSet {
    pub fn get(&self, id: i64) -> Option<&Arc<Rule>> {
        self.by_id.get(&id)
    }
    /// Rules that read readings of `key` from this device.
    pub fn for_reading<'a>(
        &'a self,
        d: &'a DeviceInfo,
        key: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Rule>> + 'a {
        self.rules.iter().filter(move |r| {
            r.kind != RuleKind::Offline && r.params.key.as_deref() == Some(key) && r.applies_to(d)
        })
    }
    pub fn offline_for<'a>(
        &'a self,
        d: &'a DeviceInfo,
    ) -> impl Iterator<Item = &'a Arc<Rule>> + 'a {
        self.rules
            .iter()
            .filter(move |r| r.kind == RuleKind::Offline && r.applies_to(d))
    }
}

const RULE_COLS: &str = "id, street_id, name, kind, severity, profile_id, device_id, tag, params, \
                         category, ack_minutes, active";

fn rule_row(r: Row) -> Option<Rule> {
    Some(Rule {
        id: r.i64(0),
        street_id: r.i64(1),
        name: r.str(2),
        kind: RuleKind::parse(&r.str(3))?,
        severity: r.str(4),
        profile_id: r.opt_i64(5),
        device_id: r.opt_i64(6),
        tag: r.opt_str(7),
        params: serde_json::from_str(&r.str(8)).ok()?,
        category: r.str(9),
        ack_minutes: r.i64(10),
        overrides: HashMap::new(),
        active: r.i64(11) == 1,
    })
}

/// Hangs `(rule_id, person_id, params)` rows on their rules.
fn attach_overrides(rules: &mut [Rule], rows: Vec<Row>) {
    for o in rows {
        if let (Some(rule), Ok(p)) = (
            rules.iter_mut().find(|r| r.id == o.i64(0)),
            serde_json::from_str::<RuleParams>(&o.str(2)),
        ) {
            rule.overrides.insert(o.i64(1), p);
        }
    }
}

pub fn load(c: &mut dyn Conn) -> Result<RuleSet> {
    let mut rules: Vec<Rule> = c
        .query(
            &format!("SELECT {RULE_COLS} FROM rules WHERE active = 1 ORDER BY id"),
            &[],
        )?
        .into_iter()
        .filter_map(rule_row)
        .collect();
    let rows = c.query("SELECT rule_id, person_id, params FROM rule_overrides", &[])?;
    attach_overrides(&mut rules, rows);
    let rules: Vec<Arc<Rule>> = rules.into_iter().map(Arc::new).collect();
    let by_id = rules.iter().map(|r| (r.id, r.clone())).collect();
    Ok(RuleSet { rules, by_id })
}

/// The rules of these streets, enabled and disabled, but not deleted (for the API and pages).
pub fn list(c: &mut dyn Conn, street_ids: &[i64]) -> Result<Vec<Rule>> {
    let mut out = Vec::new();
    for street in street_ids {
        let mut rules: Vec<Rule> = c
            .query(
                &format!(
                    "SELECT {RULE_COLS} FROM rules WHERE street_id = $1 AND deleted_at IS NULL ORDER BY id"
                ),
                params![*street],
            )?
            .into_iter()
            .filter_map(rule_row)
            .collect();
        let rows = c.query(
            "SELECT rule_id, person_id, params FROM rule_overrides WHERE street_id = $1",
            params![*street],
        )?;
        attach_overrides(&mut rules, rows);
        out.extend(rules);
    }
    Ok(out)
}

/// One rule of a street, enabled or disabled (not a deleted one).
pub fn get(c: &mut dyn Conn, street_id: i64, id: i64) -> Result<Option<Rule>> {
    let Some(rule) = c
        .query_opt(
            &format!(
                "SELECT {RULE_COLS} FROM rules WHERE id = $1 AND street_id = $2 AND deleted_at IS NULL"
            ),
            params![id, street_id],
        )?
        .and_then(rule_row)
    else {
        return Ok(None);
    };
    let mut rules = vec![rule];
    let rows = c.query(
        "SELECT rule_id, person_id, params FROM rule_overrides WHERE rule_id = $1",
        params![id],
    )?;
    attach_overrides(&mut rules, rows);
    Ok(rules.pop())
}

/// A new rule, checked.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    pub name: String,
    pub kind: RuleKind,
    /// critical, major, minor or warning.
    pub severity: String,
    #[serde(default)]
    pub profile_id: Option<i64>,
    #[serde(default)]
    pub device_id: Option<i64>,
    /// Devices of people holding this tag (elderly_alone, home_quarantine …).
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub params: RuleParams,
    /// The case category its alerts open [default: sensor_alert].
    #[serde(default)]
    pub category: Option<String>,
    /// [default: 30]
    #[serde(default)]
    pub ack_minutes: Option<i64>,
    /// Per-person parameters.
    #[serde(default)]
    pub overrides: Vec<PersonParams>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonParams {
    pub person_id: i64,
    pub params: RuleParams,
}

impl NewRule {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Err(bad(
                "规则名称不能为空（最多 100 字）",
                "the rule needs a name (at most 100 characters)",
            ));
        }
        if !SEVERITIES.contains(&self.severity.as_str()) {
            return Err(bad(
                "级别应为 critical、major、minor 或 warning",
                "severity must be critical, major, minor or warning",
            ));
        }
        if self.profile_id.is_none() && self.device_id.is_none() && self.tag.is_none() {
            return Err(bad(
                "规则须指定设备类型 profile_id、设备 device_id 或标签 tag",
                "a rule needs a profile_id, a device_id or a tag",
            ));
        }
        if self.ack_minutes.is_some_and(|m| m < 1) {
            return Err(bad("确认时限至少 1 分钟", "ack_minutes must be at least 1"));
        }
        if self
            .category
            .as_deref()
            .is_some_and(|c| c.trim().is_empty() || c.len() > 64)
        {
            return Err(bad(
                "案件类别不能为空（最多 64 字符）",
                "the case category must be 1–64 characters",
            ));
        }
        self.params.validate(self.kind)?;
        for o in &self.overrides {
            self.params.merged(&o.params).validate(self.kind)?;
        }
        Ok(())
    }
}

pub fn create(c: &mut dyn Conn, street_id: i64, r: &NewRule, now: i64) -> Result<i64> {
    let params = serde_json::to_string(&r.params).unwrap_or_else(|_| "{}".into());
    let id = c.query_i64(
        "INSERT INTO rules (street_id, name, kind, severity, profile_id, device_id, tag, params, \
         category, ack_minutes, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11) RETURNING id",
        params![
            street_id,
            r.name.trim(),
            r.kind.as_str(),
            r.severity.as_str(),
            r.profile_id,
            r.device_id,
            r.tag.clone(),
            params,
            r.category.clone().unwrap_or_else(|| "sensor_alert".into()),
            r.ack_minutes.unwrap_or(30),
            now
        ],
    )?;
    for o in &r.overrides {
        c.exec(
            "INSERT INTO rule_overrides (rule_id, person_id, street_id, params) VALUES ($1, $2, $3, $4)",
            params![
                id,
                o.person_id,
                street_id,
                serde_json::to_string(&o.params).unwrap_or_else(|_| "{}".into())
            ],
        )?;
    }
    Ok(id)
}

/// Changes to a rule; what is left out stays as it is. Its kind and what it watches (profile,
/// device, tag) stay too: a rule that watches something else is a new rule.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulePatch {
    #[serde(default)]
    pub name: Option<String>,
    /// critical, major, minor or warning (alerts raised from now on; active ones keep theirs).
    #[serde(default)]
    pub severity: Option<String>,
    /// `false` disables the rule: its timers are disarmed and its active alerts cleared (their
    /// cases stay open). `true` enables it again, its timers armed from now.
    #[serde(default)]
    pub active: Option<bool>,
    /// Merged into the rule's parameters as a JSON merge patch (RFC 7396): a parameter set to
    /// `null` is removed, one left out is kept. Armed timers move to the new periods.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub params: Option<serde_json::Value>,
    /// The case category its alerts open from now on.
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub ack_minutes: Option<i64>,
    /// Replaces every per-person parameter set (`[]` removes them all).
    #[serde(default)]
    pub overrides: Option<Vec<PersonParams>>,
}

/// Applies a JSON merge patch (RFC 7396) to `target`.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    let serde_json::Value::Object(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = serde_json::Value::Object(serde_json::Map::new());
    }
    if let serde_json::Value::Object(t) = target {
        for (k, v) in changes {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
    }
}

impl RulePatch {
    /// The rule with these changes, checked as a new rule is; the message is bilingual.
    pub fn apply(&self, rule: &Rule) -> std::result::Result<Rule, String> {
        let params = match &self.params {
            None => rule.params.clone(),
            Some(patch) if !patch.is_object() => {
                return Err(bad(
                    "params 应为对象，如 {\"absence_s\": 3600}",
                    "params must be an object, such as {\"absence_s\": 3600}",
                ));
            }
            Some(patch) => {
                let mut v = serde_json::to_value(&rule.params)
                    .unwrap_or_else(|_| serde_json::Value::Object(serde_json::Map::new()));
                merge_patch(&mut v, patch);
                serde_json::from_value::<RuleParams>(v).map_err(|e| {
                    bad(
                        &format!("规则参数有误：{e}"),
                        &format!("wrong rule parameters: {e}"),
                    )
                })?
            }
        };
        let overrides = match &self.overrides {
            Some(o) => o.clone(),
            None => {
                let mut o: Vec<PersonParams> = rule
                    .overrides
                    .iter()
                    .map(|(person_id, params)| PersonParams {
                        person_id: *person_id,
                        params: params.clone(),
                    })
                    .collect();
                o.sort_by_key(|p| p.person_id);
                o
            }
        };
        let next = NewRule {
            name: self.name.clone().unwrap_or_else(|| rule.name.clone()),
            kind: rule.kind,
            severity: self
                .severity
                .clone()
                .unwrap_or_else(|| rule.severity.clone()),
            profile_id: rule.profile_id,
            device_id: rule.device_id,
            tag: rule.tag.clone(),
            params,
            category: Some(
                self.category
                    .clone()
                    .unwrap_or_else(|| rule.category.clone()),
            ),
            ack_minutes: Some(self.ack_minutes.unwrap_or(rule.ack_minutes)),
            overrides,
        };
        next.validate()?;
        let mut seen = std::collections::HashSet::new();
        if !next.overrides.iter().all(|o| seen.insert(o.person_id)) {
            return Err(bad(
                "同一居民只能有一组个人参数",
                "a person can have only one set of own parameters",
            ));
        }
        Ok(Rule {
            id: rule.id,
            street_id: rule.street_id,
            name: next.name.trim().to_string(),
            kind: rule.kind,
            severity: next.severity,
            profile_id: rule.profile_id,
            device_id: rule.device_id,
            tag: rule.tag.clone(),
            params: next.params,
            category: next.category.unwrap_or_default().trim().to_string(),
            ack_minutes: next.ack_minutes.unwrap_or(rule.ack_minutes),
            overrides: next
                .overrides
                .into_iter()
                .map(|o| (o.person_id, o.params))
                .collect(),
            active: self.active.unwrap_or(rule.active),
        })
    }
}

/// Whether a change makes earlier readings mean something else: the watched key or the
/// awaited value changed, so what was counted under the old ones no longer counts.
pub fn watches_otherwise(old: &Rule, new: &Rule) -> bool {
    old.params.key != new.params.key || old.params.equals != new.params.equals
}

/// Stores a changed rule, and its per-person parameters when `overrides_changed`.
pub fn update(c: &mut dyn Conn, r: &Rule, overrides_changed: bool, now: i64) -> Result<()> {
    let params = serde_json::to_string(&r.params).unwrap_or_else(|_| "{}".into());
    c.exec(
        "UPDATE rules SET name = $2, severity = $3, params = $4, category = $5, ack_minutes = $6, \
         active = $7, updated_at = $8 WHERE id = $1 AND deleted_at IS NULL",
        params![
            r.id,
            r.name.as_str(),
            r.severity.as_str(),
            params,
            r.category.as_str(),
            r.ack_minutes,
            r.active as i64,
            now
        ],
    )?;
    if overrides_changed {
        c.exec(
            "DELETE FROM rule_overrides WHERE rule_id = $1",
            params![r.id],
        )?;
        let mut people: Vec<(&i64, &RuleParams)> = r.overrides.iter().collect();
        people.sort_by_key(|(p, _)| **p);
        for (person, p) in people {
            c.exec(
                "INSERT INTO rule_overrides (rule_id, person_id, street_id, params) VALUES ($1, $2, $3, $4)",
                params![
                    r.id,
                    *person,
                    r.street_id,
                    serde_json::to_string(p).unwrap_or_else(|_| "{}".into())
                ],
            )?;
        }
    }
    Ok(())
}

/// Deletes a rule: it stops like a disabled one and leaves the lists, and the per-person
/// parameters it held go with it. The row stays, because its past alerts name it.
pub fn delete(c: &mut dyn Conn, id: i64, now: i64) -> Result<()> {
    c.exec(
        "UPDATE rules SET active = 0, deleted_at = $2, updated_at = $2 WHERE id = $1",
        params![id, now],
    )?;
    c.exec("DELETE FROM rule_overrides WHERE rule_id = $1", params![id])?;
    Ok(())
}

/// Stops a rule that was disabled or deleted, in the transaction that did it: its timers and
/// state go, so nothing fires for it any more, and its active alerts are cleared by `by` with
/// `why` (the cases they opened stay open for whoever follows them up).
pub fn retire(
    c: &mut dyn Conn,
    rule_id: i64,
    by: Option<i64>,
    now: i64,
    why: &str,
) -> Result<Vec<AlertEvent>> {
    c.exec(
        "DELETE FROM rule_timers WHERE rule_id = $1",
        params![rule_id],
    )?;
    c.exec(
        "DELETE FROM rule_state WHERE rule_id = $1",
        params![rule_id],
    )?;
    alerts::clear_for_rule(c, rule_id, by, now, why)
}

/// Brings the armed timers of a changed rule in line with its new parameters, in the
/// transaction that changed it. Each timer becomes due as long after its start — the awaited
/// event, the arming, or the last firing — as the rule now says (an offline timer: after the
/// last contact), with each person's own parameters where they have some. When the rule
/// `watches_otherwise`, what was counted no longer counts: its state goes, its active alerts
/// are cleared by `by`, and its timers start again now.
pub fn rearm(
    c: &mut dyn Conn,
    rule: &Rule,
    watches_otherwise: bool,
    by: Option<i64>,
    now: i64,
) -> Result<Vec<AlertEvent>> {
    let mut out = Vec::new();
    if watches_otherwise {
        c.exec(
            "DELETE FROM rule_state WHERE rule_id = $1",
            params![rule.id],
        )?;
        c.exec(
            "UPDATE rule_timers SET armed_at = $1 WHERE rule_id = $2",
            params![now, rule.id],
        )?;
        out = alerts::clear_for_rule(c, rule.id, by, now, "rule changed")?;
    }
    if rule.kind.timed() {
        set_due(c, rule, &rule.params, None, now)?;
        let mut people: Vec<(&i64, &RuleParams)> = rule.overrides.iter().collect();
        people.sort_by_key(|(p, _)| **p);
        for (person, o) in people {
            set_due(c, rule, &rule.params.merged(o), Some(*person), now)?;
        }
    }
    Ok(out)
}

/// Sets the due time of a timed rule's timers (of one person's devices, or of all) from
/// parameters `p`; see [`rearm`].
fn set_due(
    c: &mut dyn Conn,
    rule: &Rule,
    p: &RuleParams,
    person: Option<i64>,
    now: i64,
) -> Result<u64> {
    let mut args: Vec<Val> = vec![Val::Int(rule.id)];
    let due = match rule.kind {
        RuleKind::Offline => {
            let after = match p.after_s {
                Some(s) => {
                    args.push(Val::Int(s * 1000));
                    format!("${}", args.len())
                }
                // Twice the profile's reporting interval (see `offline_after_ms`).
                None => "(SELECT pr.report_interval_s * 2000 FROM devices d \
                         JOIN device_profiles pr ON pr.id = d.profile_id WHERE d.id = rule_timers.device_id)"
                    .to_string(),
            };
            format!(
                "COALESCE((SELECT d.last_seen_at FROM devices d WHERE d.id = rule_timers.device_id), armed_at) + {after}"
            )
        }
        _ => match p.window.as_deref().and_then(parse_window) {
            Some(w) if p.min_total.is_none() => {
                args.push(Val::Int(next_window_end(now, w)));
                format!("${}", args.len())
            }
            _ => {
                args.push(Val::Int(p.absence_s.unwrap_or(86_400) * 1000));
                format!("armed_at + ${}", args.len())
            }
        },
    };
    let mut sql = format!("UPDATE rule_timers SET due_at = {due} WHERE rule_id = $1");
    if let Some(pid) = person {
        args.push(Val::Int(pid));
        sql.push_str(&format!(
            " AND device_id IN (SELECT id FROM devices WHERE person_id = ${})",
            args.len()
        ));
    }
    c.exec(&sql, &args)
}

/// Arms a device's timers as for a device just installed (it was activated again): offline
/// and absence both count from now.
pub fn arm_device(c: &mut dyn Conn, set: &RuleSet, dev: &DeviceInfo, now: i64) -> Result<()> {
    for rule in set
        .rules
        .iter()
        .filter(|r| r.kind.timed() && r.applies_to(dev))
    {
        let p = rule.params_for(dev.person_id);
        push_timer(
            c,
            rule.id,
            dev,
            first_due(rule, &p, now, None, dev.interval_s),
            now,
        )?;
    }
    Ok(())
}

// ------------------------------------------------------------------ timers

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
fn first_due(
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
            cond.push_str(&format!(
                " AND d.id IN (SELECT d2.id FROM person_tags t JOIN devices d2 ON d2.person_id = t.person_id \
                   WHERE t.street_id = $1 AND t.tag = ${t} AND t.valid_from <= ${day} \
                   AND (t.valid_to IS NULL OR t.valid_to >= ${day}) \
                 UNION SELECT d3.id FROM person_tags t JOIN persons pp ON pp.id = t.person_id \
                   JOIN devices d3 ON d3.place_id = pp.unit_id \
                   WHERE t.street_id = $1 AND t.tag = ${t} AND t.valid_from <= ${day} \
                   AND (t.valid_to IS NULL OR t.valid_to >= ${day}))"
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
            super::devices::info_by_id(c, device_id, &today)?.filter(|d| d.active),
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
fn judge_timer(
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
            Ok(Some((
                format!(
                    "设备离线：超过 {} 秒未上报 / device offline: no contact for {} s",
                    after / 1000,
                    after / 1000
                ),
                serde_json::json!({"last_seen_at": last}),
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
            Ok(Some((
                format!(
                    "{} 小时内用量 {used:.3} 低于 {min} / use of {used:.3} in {} h is under {min}",
                    span as f64 / 3.6e6,
                    span as f64 / 3.6e6
                ),
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
                    Ok(Some((
                        format!(
                            "{} 时段内没有 {key} 事件 / no {key} event within {}",
                            p.window.clone().unwrap_or_default(),
                            p.window.clone().unwrap_or_default()
                        ),
                        serde_json::json!({"key": key, "window": p.window, "last_event_at": last}),
                    )))
                }
                None => {
                    let span = p.absence_s.unwrap_or(86_400) * 1000;
                    if last.is_some_and(|t| due_at - t < span) {
                        return Ok(None);
                    }
                    Ok(Some((
                        format!(
                            "已 {:.1} 小时没有 {key} 事件 / no {key} event for {:.1} h",
                            span as f64 / 3.6e6,
                            span as f64 / 3.6e6
                        ),
                        serde_json::json!({"key": key, "absence_s": span / 1000, "last_event_at": last}),
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
                        let msg = format!(
                            "{key} = {x} ({} {}) / {key} = {x} ({} {})",
                            op_zh(p.op.as_deref()),
                            p.value.unwrap_or_default(),
                            p.op.as_deref().unwrap_or(""),
                            p.value.unwrap_or_default()
                        );
                        let details = serde_json::json!({"key": key, "value": x, "ts": ts, "since": since, "hits": hits});
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
                    let tags = super::devices::device_tags(c, dev.id, &day)?;
                    if !tags.contains(tag) {
                        continue;
                    }
                }
                let msg = format!(
                    "{} 事件：{key} = {} / event: {key} = {}",
                    rule.name,
                    v.display(),
                    v.display()
                );
                let details = serde_json::json!({"key": key, "value": v.json(), "ts": ts});
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

fn op_zh(op: Option<&str>) -> &'static str {
    match op {
        Some("gt") => "高于",
        Some("ge") => "不低于",
        Some("lt") => "低于",
        Some("le") => "不高于",
        _ => "",
    }
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
    let s = &state.sensing;
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
    let s = &state.sensing;
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
    let _one = state.sensing.sync_lock.lock().await;
    let now = state.sensing.clock.now_ms();
    let plan = state.db.read(move |c| plan_sync(c, now)).await?;
    let n = state.db.write(move |c| apply_sync(c, &plan)).await?;
    state.sensing.metrics.timers_armed.set(n);
    Ok(n)
}
