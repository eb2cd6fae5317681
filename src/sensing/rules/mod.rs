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

use chrono::{TimeZone, Timelike};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::alerts::{self, AlertEvent};
use super::devices::DeviceInfo;
use super::ingest::Value;
use crate::params;
use crate::state::AppState;
use crate::store::{Conn, Result, Row, StoreError, Val};

/// Daily windows and tag dates are in the street's zone.
pub use crate::kernel::time::{local_date, zone as cst};

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
    #[schema(value_type = Option<serde_json::Value>)]
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

/// A rule's refusal in both languages (a catalogue key's "中文 / English").
fn bad(key: &str) -> String {
    crate::kernel::i18n::both(key, &[])
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
            return Err(bad("sensing.rule_check.key"));
        }
        match kind {
            RuleKind::Threshold => {
                if !matches!(self.op.as_deref(), Some("gt" | "ge" | "lt" | "le")) {
                    return Err(bad("sensing.rule_check.op"));
                }
                if self.value.is_none_or(|v| !v.is_finite()) {
                    return Err(bad("sensing.rule_check.value"));
                }
                if self.duration_s.is_some_and(|d| d < 0) || self.repeat.is_some_and(|r| r < 1) {
                    return Err(bad("sensing.rule_check.lasting"));
                }
            }
            RuleKind::Event => {
                if self.equals.is_none() {
                    return Err(bad("sensing.rule_check.equals"));
                }
            }
            RuleKind::Absence => {
                if self.absence_s.is_none_or(|s| s < 1) && self.window.is_none() {
                    return Err(bad("sensing.rule_check.absence"));
                }
                if let Some(w) = &self.window
                    && parse_window(w).is_none()
                {
                    return Err(bad("sensing.rule_check.window"));
                }
                if self.min_total.is_some() && self.absence_s.is_none_or(|s| s < 1) {
                    return Err(bad("sensing.rule_check.usage"));
                }
                if self.min_total.is_none() && self.equals.is_none() {
                    return Err(bad("sensing.rule_check.absence_what"));
                }
            }
            RuleKind::Offline => {
                if self.after_s.is_some_and(|s| s < 1) {
                    return Err(bad("sensing.rule_check.after"));
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
    /// Per-person parameters, by person id (JSON object keys are strings: `{"42": {…}}`).
    #[schema(value_type = HashMap<String, RuleParams>)]
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
            return Err(bad("sensing.rule_check.name"));
        }
        if !SEVERITIES.contains(&self.severity.as_str()) {
            return Err(bad("sensing.rule_check.severity"));
        }
        if self.profile_id.is_none() && self.device_id.is_none() && self.tag.is_none() {
            return Err(bad("sensing.rule_check.target"));
        }
        if self.ack_minutes.is_some_and(|m| m < 1) {
            return Err(bad("sensing.rule_check.ack"));
        }
        if self
            .category
            .as_deref()
            .is_some_and(|c| c.trim().is_empty() || c.len() > 64)
        {
            return Err(bad("sensing.rule_check.category"));
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
    /// Saves a change that would fire at once for some devices. Without it such a change is
    /// not saved: the answer is its preview (409, `RulePreview`).
    #[serde(default)]
    pub confirm: Option<bool>,
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
                return Err(bad("sensing.rule_check.params_object"));
            }
            Some(patch) => {
                let mut v = serde_json::to_value(&rule.params)
                    .unwrap_or_else(|_| serde_json::Value::Object(serde_json::Map::new()));
                merge_patch(&mut v, patch);
                serde_json::from_value::<RuleParams>(v).map_err(|e| {
                    crate::kernel::i18n::both("sensing.rule_check.params", &[("error", &e)])
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
            return Err(bad("sensing.rule_check.own_params"));
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

mod timers;

pub use timers::*;

mod preview;

pub use preview::{RulePreview, preview};

/// Records who owns a rule: whoever created or last changed it (told when its alerts are
/// grouped into one case).
pub fn set_owner(c: &mut dyn Conn, id: i64, user: i64) -> Result<()> {
    c.exec(
        "UPDATE rules SET owner_id = $1 WHERE id = $2",
        params![user, id],
    )?;
    Ok(())
}
