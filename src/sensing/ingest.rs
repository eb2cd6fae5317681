//! Ingestion shared by HTTP and MQTT: the ThingsBoard-compatible payload
//! (`{"ts": ms, "values": {...}}`, an array of them, or bare `{"key": value}`), then one
//! transaction that stores the readings (duplicates of device, key and time ignored), the
//! latest state and last contact, and applies the rules. The caller acknowledges only after
//! that transaction committed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::alerts::AlertEvent;
use super::devices::DeviceInfo;
use super::rules::{self, RuleSet};
use crate::params;
use crate::store::{Backend, Conn, Result, Val};

/// Readings per request or message at most.
pub const MAX_READINGS: usize = 10_000;
/// A reading may be stamped at most this far ahead of the server's clock (clock drift).
const MAX_FUTURE_MS: i64 = 10 * 60_000;

/// One value: numbers (and booleans as 1/0) are numeric; strings are text.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub num: Option<f64>,
    pub text: Option<String>,
}

impl Value {
    pub fn display(&self) -> String {
        match (&self.num, &self.text) {
            (Some(n), _) => n.to_string(),
            (_, Some(t)) => t.clone(),
            _ => String::new(),
        }
    }
    pub fn json(&self) -> serde_json::Value {
        match (&self.num, &self.text) {
            (Some(n), _) => serde_json::json!(n),
            (_, Some(t)) => serde_json::json!(t),
            _ => serde_json::Value::Null,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub key: String,
    pub ts: i64,
    pub value: Value,
}

/// Why a payload was refused: a reason for `/metrics` and a bilingual message.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub reason: crate::kernel::Code,
    pub message: String,
}

/// A refusal with its message in both languages (a catalogue key's "中文 / English").
fn refused(
    reason: crate::kernel::Code,
    key: &str,
    args: &[(&str, &dyn std::fmt::Display)],
) -> Refused {
    Refused {
        reason,
        message: crate::kernel::i18n::both(key, args),
    }
}

/// Parses a payload; readings without `ts` are stamped `now`.
pub fn parse(body: &[u8], now: i64) -> std::result::Result<Vec<Reading>, Refused> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        refused(
            crate::kernel::Code::Malformed,
            "sensing.ingest.json",
            &[("error", &e)],
        )
    })?;
    let mut out = Vec::new();
    match v {
        serde_json::Value::Array(items) => {
            if items.is_empty() {
                return Err(refused(
                    crate::kernel::Code::Malformed,
                    "sensing.ingest.array_empty",
                    &[],
                ));
            }
            for (i, it) in items.into_iter().enumerate() {
                one(it, now, &mut out).map_err(|mut r| {
                    r.message = format!("[{i}] {}", r.message);
                    r
                })?;
                if out.len() > MAX_READINGS {
                    break;
                }
            }
        }
        other => one(other, now, &mut out)?,
    }
    if out.len() > MAX_READINGS {
        return Err(refused(
            crate::kernel::Code::TooMany,
            "sensing.ingest.too_many",
            &[("n", &MAX_READINGS)],
        ));
    }
    if out.is_empty() {
        return Err(refused(
            crate::kernel::Code::Malformed,
            "sensing.ingest.no_readings",
            &[],
        ));
    }
    Ok(out)
}

fn one(v: serde_json::Value, now: i64, out: &mut Vec<Reading>) -> std::result::Result<(), Refused> {
    let serde_json::Value::Object(mut obj) = v else {
        return Err(refused(
            crate::kernel::Code::Malformed,
            "sensing.ingest.reading_shape",
            &[],
        ));
    };
    let (ts, values) = if obj.contains_key("values") {
        let ts = match obj.remove("ts") {
            None | Some(serde_json::Value::Null) => now,
            Some(serde_json::Value::Number(n)) => {
                n.as_i64().filter(|t| *t > 0).ok_or_else(|| {
                    refused(
                        crate::kernel::Code::BadTs,
                        "sensing.ingest.ts_positive",
                        &[],
                    )
                })?
            }
            Some(_) => {
                return Err(refused(
                    crate::kernel::Code::BadTs,
                    "sensing.ingest.ts_integer",
                    &[],
                ));
            }
        };
        let Some(serde_json::Value::Object(values)) = obj.remove("values") else {
            return Err(refused(
                crate::kernel::Code::Malformed,
                "sensing.ingest.values_object",
                &[],
            ));
        };
        if let Some(k) = obj.keys().next() {
            return Err(refused(
                crate::kernel::Code::Malformed,
                "sensing.ingest.unknown_field",
                &[("field", &format!("{k:?}"))],
            ));
        }
        (ts, values)
    } else {
        (now, obj)
    };
    if ts > now + MAX_FUTURE_MS {
        return Err(refused(
            crate::kernel::Code::BadTs,
            "sensing.ingest.ts_future",
            &[],
        ));
    }
    if values.is_empty() {
        return Err(refused(
            crate::kernel::Code::Malformed,
            "sensing.ingest.values_empty",
            &[],
        ));
    }
    for (key, val) in values {
        if key.is_empty() || key.len() > 64 || key.chars().any(|c| c.is_control()) {
            return Err(refused(
                crate::kernel::Code::BadKey,
                "sensing.ingest.key",
                &[("key", &format!("{key:?}"))],
            ));
        }
        let value = match val {
            serde_json::Value::Number(n) => match n.as_f64().filter(|f| f.is_finite()) {
                Some(f) => Value {
                    num: Some(f),
                    text: None,
                },
                None => {
                    return Err(refused(
                        crate::kernel::Code::BadValue,
                        "sensing.ingest.number",
                        &[],
                    ));
                }
            },
            serde_json::Value::Bool(b) => Value {
                num: Some(if b { 1.0 } else { 0.0 }),
                text: None,
            },
            serde_json::Value::String(s) if s.chars().count() <= 256 => Value {
                num: None,
                text: Some(s),
            },
            _ => {
                return Err(refused(
                    crate::kernel::Code::BadValue,
                    "sensing.ingest.value",
                    &[("key", &key)],
                ));
            }
        };
        out.push(Reading { key, ts, value });
    }
    Ok(())
}

/// Stores one or more devices' readings and applies the rules, inside the caller's
/// transaction. Returns the alert changes to publish once it committed.
pub fn store(
    c: &mut dyn Conn,
    set: &RuleSet,
    batches: &[(Arc<DeviceInfo>, Vec<Reading>)],
    now: i64,
) -> Result<Vec<AlertEvent>> {
    let mut changes = Vec::new();
    // Rows go in many at a time. On SQLite a reading that rules read is inserted alone: the
    // insert says whether it was new (a retried or repeated reading changes nothing), so rules
    // see fresh readings without a look-up of their own; on PostgreSQL it is looked up first.
    let one_by_one = c.backend() == Backend::Sqlite;
    let mut rows: Vec<Vec<Val>> = Vec::new();
    // Readings that rules read, not seen before: a retried message must not count twice.
    let mut fresh: Vec<(&Arc<DeviceInfo>, &Reading)> = Vec::new();
    let mut pending: HashSet<(i64, &str, i64)> = HashSet::new();
    for (dev, readings) in batches {
        for r in readings {
            let watched = set.for_reading(dev, &r.key).next().is_some();
            let row = vec![
                Val::Int(dev.id),
                Val::Text(r.key.clone()),
                Val::Int(r.ts),
                Val::Int(dev.street_id),
                r.value.num.into(),
                r.value.text.clone().into(),
            ];
            if one_by_one && watched {
                let new = c.exec(
                    "INSERT INTO readings (device_id, key, ts, street_id, num, txt) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    &row,
                )? == 1;
                if new {
                    fresh.push((dev, r));
                }
                continue;
            }
            if watched && pending.insert((dev.id, r.key.as_str(), r.ts)) {
                let seen = c
                    .query_opt(
                        "SELECT 1 FROM readings WHERE device_id = $1 AND key = $2 AND ts = $3",
                        params![dev.id, r.key.as_str(), r.ts],
                    )?
                    .is_some();
                if !seen {
                    fresh.push((dev, r));
                }
            }
            rows.push(row);
        }
    }
    for chunk in rows.chunks(1000) {
        c.insert_many_ignore(
            "readings",
            &["device_id", "key", "ts", "street_id", "num", "txt"],
            chunk,
        )?;
    }
    for (dev, readings) in batches {
        let mut newest: HashMap<&str, &Reading> = HashMap::new();
        for r in readings {
            let e = newest.entry(r.key.as_str()).or_insert(r);
            if r.ts > e.ts {
                *e = r;
            }
        }
        for r in newest.values() {
            c.exec(
                "INSERT INTO device_state (device_id, key, street_id, ts, num, txt) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (device_id, key) DO UPDATE SET ts = excluded.ts, num = excluded.num, txt = excluded.txt \
                 WHERE excluded.ts >= device_state.ts",
                params![dev.id, r.key.as_str(), dev.street_id, r.ts, r.value.num, r.value.text.clone()],
            )?;
        }
        c.exec(
            "UPDATE devices SET last_seen_at = $1 WHERE id = $2",
            params![now, dev.id],
        )?;
        changes.extend(rules::on_contact(c, set, dev, now)?);
    }
    fresh.sort_by_key(|(_, r)| r.ts);
    for (dev, r) in fresh {
        changes.extend(rules::on_reading(c, set, dev, &r.key, r.ts, &r.value, now)?);
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_thingsboard_shapes() {
        let one = parse(
            br#"{"ts": 1000, "values": {"door": "open", "battery": 87.5, "ok": true}}"#,
            5,
        )
        .unwrap();
        assert_eq!(one.len(), 3);
        assert!(one.iter().all(|r| r.ts == 1000));
        let bare = parse(br#"{"temperature": 21}"#, 7).unwrap();
        assert_eq!(bare[0].ts, 7);
        assert_eq!(bare[0].value.num, Some(21.0));
        let many = parse(
            br#"[{"ts": 1, "values": {"a": 1}}, {"values": {"a": 2}}]"#,
            9,
        )
        .unwrap();
        assert_eq!(many.iter().map(|r| r.ts).collect::<Vec<_>>(), vec![1, 9]);
    }

    #[test]
    fn refuses_with_reasons() {
        assert_eq!(parse(b"{oops", 1).unwrap_err().reason.as_str(), "malformed");
        assert_eq!(
            parse(br#"{"ts": "x", "values": {"a": 1}}"#, 1)
                .unwrap_err()
                .reason
                .as_str(),
            "bad_ts"
        );
        assert_eq!(
            parse(br#"{"ts": 999999999999999, "values": {"a": 1}}"#, 1)
                .unwrap_err()
                .reason
                .as_str(),
            "bad_ts"
        );
        assert_eq!(
            parse(br#"{"values": {"a": [1]}}"#, 1)
                .unwrap_err()
                .reason
                .as_str(),
            "bad_value"
        );
        assert_eq!(
            parse(br#"{"values": {"": 1}}"#, 1)
                .unwrap_err()
                .reason
                .as_str(),
            "bad_key"
        );
        assert_eq!(parse(br#"[]"#, 1).unwrap_err().reason.as_str(), "malformed");
        let e = parse(br#"[{"values": {"a": 1}}, 5]"#, 1).unwrap_err();
        assert!(e.message.starts_with("[1]"), "{}", e.message);
    }
}
