//! What an alert says, in one language: built from the alert's kind and details with the
//! catalogue's words, so a page shows it in the viewer's language and the case it opens carries
//! the same sentence in Chinese (cases are stored in one language). No telemetry key or
//! parameter name reaches the reader when linli knows a word for it.

use serde_json::Value;

use crate::kernel::i18n::{Lang, Tr};

/// Telemetry keys with a word of their own in the catalogue (`alert.k_<key>`); others are shown
/// as the device names them.
const KNOWN_KEYS: [&str; 7] = [
    "door",
    "smoke",
    "fault",
    "volume",
    "vibration",
    "battery",
    "door_cycles",
];

/// The word for a telemetry key: 门磁 `door` → 开门 / door opening.
pub fn key_word(key: &str, t: Tr) -> String {
    if KNOWN_KEYS.contains(&key) {
        t.s(&format!("alert.k_{key}")).to_string()
    } else {
        key.to_string()
    }
}

/// A length of time in words: whole hours, whole minutes, or seconds.
pub fn duration(secs: i64, t: Tr) -> String {
    let secs = secs.max(0);
    if secs >= 3600 && secs % 3600 == 0 {
        t.n("alert.dur_h", secs / 3600)
    } else if secs >= 3600 {
        let h = format!("{:.1}", secs as f64 / 3600.0);
        t.s("alert.dur_h").replace("{n}", &h)
    } else if secs >= 60 && secs % 60 == 0 {
        t.n("alert.dur_min", secs / 60)
    } else {
        t.n("alert.dur_s", secs)
    }
}

fn num(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.fract() == 0.0 && x.abs() < 1e12 => format!("{}", x as i64),
        Some(x) => {
            let s = format!("{x:.3}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        None => match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        },
    }
}

/// The alert's sentence in `lang`, from its kind and details; `None` for details written
/// before the sentence was built from them (the stored message is used then).
pub fn describe(kind: &str, d: &Value, lang: Lang) -> Option<String> {
    let t = Tr(lang);
    let key = d.get("key").and_then(Value::as_str).unwrap_or_default();
    let what = key_word(key, t);
    let when = |v: Option<&Value>| {
        v.and_then(Value::as_i64)
            .map(crate::kernel::time::local_time)
    };
    let text = match kind {
        "offline" => {
            let after = d.get("after_s")?.as_i64()?;
            t.fill("alert.m_offline", &[("dur", &duration(after, t))])
        }
        "absence" if d.get("min_total").is_some() => {
            let span = (d.get("to")?.as_i64()? - d.get("from")?.as_i64()?) / 1000;
            t.fill(
                "alert.m_usage",
                &[
                    ("dur", &duration(span, t)),
                    ("what", &what),
                    ("used", &num(d.get("used")?)),
                    ("min", &num(d.get("min_total")?)),
                ],
            )
        }
        "absence" => {
            let mut s = match d.get("window").and_then(Value::as_str) {
                Some(w) => {
                    let (from, to) = w.split_once('-')?;
                    t.fill(
                        "alert.m_window",
                        &[("from", &from.trim()), ("to", &to.trim()), ("what", &what)],
                    )
                }
                None => {
                    let span = d.get("absence_s")?.as_i64()?;
                    t.fill(
                        "alert.m_absence",
                        &[("dur", &duration(span, t)), ("what", &what)],
                    )
                }
            };
            if let Some(last) = when(d.get("last_event_at")) {
                s.push_str(&t.fill("alert.m_last", &[("what", &what), ("when", &last)]));
            }
            s
        }
        "threshold" => {
            let op = d.get("op")?.as_str()?;
            if !["gt", "ge", "lt", "le"].contains(&op) {
                return None;
            }
            t.fill(
                "alert.m_threshold",
                &[
                    ("what", &what),
                    ("value", &num(d.get("value")?)),
                    ("op", &t.s(&format!("alert.op_{op}"))),
                    ("limit", &num(d.get("threshold")?)),
                ],
            )
        }
        "event" => {
            d.get("value")?;
            if KNOWN_KEYS.contains(&key) {
                t.fill("alert.m_event", &[("what", &what)])
            } else {
                t.fill(
                    "alert.m_event_value",
                    &[("what", &what), ("value", &num(&d["value"]))],
                )
            }
        }
        _ => return None,
    };
    Some(text)
}

/// The alert's sentence in `lang`: built from its details, or (an alert raised before that)
/// the half of its stored two-language message in `lang`.
pub fn text(kind: &str, details: &Value, message: &str, lang: Lang) -> String {
    if let Some(s) = describe(kind, details, lang) {
        return s;
    }
    match message.split_once(" / ") {
        Some((zh, en)) => if lang == Lang::En { en } else { zh }.trim().to_string(),
        None => message.to_string(),
    }
}

/// A rule's parameters as a sentence in the reader's language: "24 小时 内没有 开门（open）· 每天
/// 07:00-21:00", never `absence_s = 86400`.
pub fn rule_summary(kind: &str, p: &crate::sensing::rules::RuleParams, t: Tr) -> String {
    let key = p.key.as_deref().map(|k| key_word(k, t)).unwrap_or_default();
    let equals = p
        .equals
        .as_ref()
        .map(|v| {
            let raw = num(v);
            t.k_or("alert.v", &raw)
        })
        .unwrap_or_default();
    let mut parts = Vec::new();
    match kind {
        "threshold" => {
            let op = p.op.as_deref().unwrap_or("gt");
            parts.push(t.fill(
                "rule.say.threshold",
                &[
                    ("key", &key),
                    ("op", &t.k_or("rule.op", op)),
                    (
                        "value",
                        &p.value.map(|v| num(&Value::from(v))).unwrap_or_default(),
                    ),
                ],
            ));
            if let Some(d) = p.duration_s.filter(|d| *d > 0) {
                parts.push(t.fill("rule.say.lasting", &[("d", &duration(d, t))]));
            }
            if let Some(r) = p.repeat.filter(|r| *r > 1) {
                parts.push(t.fill("rule.say.repeat", &[("n", &r)]));
            }
        }
        "event" => parts.push(t.fill("rule.say.event", &[("key", &key), ("equals", &equals)])),
        "absence" => {
            let d = duration(p.absence_s.unwrap_or(0), t);
            match p.min_total {
                Some(m) => parts.push(t.fill(
                    "rule.say.usage",
                    &[("d", &d), ("key", &key), ("n", &num(&Value::from(m)))],
                )),
                None => parts.push(t.fill(
                    "rule.say.absence",
                    &[("d", &d), ("key", &key), ("equals", &equals)],
                )),
            }
            if let Some(w) = &p.window {
                parts.push(t.fill("rule.say.window", &[("w", w)]));
            }
        }
        "offline" => match p.after_s {
            Some(a) => parts.push(t.fill("rule.say.offline", &[("d", &duration(a, t))])),
            None => parts.push(t.s("rule.say.offline_default").to_string()),
        },
        _ => {}
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absence_reads_as_one_language_without_keys() {
        let d = json!({"key": "door", "equals": "open", "absence_s": 86400, "last_event_at": null});
        let zh = describe("absence", &d, Lang::Zh).unwrap();
        let en = describe("absence", &d, Lang::En).unwrap();
        assert_eq!(zh, "已 24 小时没有开门");
        assert_eq!(en, "No door opening for 24 h");
        let short = json!({"key": "door", "equals": "open", "absence_s": 30});
        assert_eq!(
            describe("absence", &short, Lang::Zh).unwrap(),
            "已 30 秒没有开门"
        );
    }

    #[test]
    fn old_two_language_messages_are_cut_to_the_viewer_s_half() {
        let m = "已 0.0 小时没有 door 事件 / no door event for 0.0 h";
        assert_eq!(
            text("absence", &json!({"key": "door"}), m, Lang::En),
            "no door event for 0.0 h"
        );
        assert_eq!(
            text("absence", &json!({"key": "door"}), m, Lang::Zh),
            "已 0.0 小时没有 door 事件"
        );
    }

    #[test]
    fn every_kind_has_a_sentence() {
        let cases = [
            ("offline", json!({"after_s": 7200, "last_seen_at": null})),
            (
                "absence",
                json!({"key": "volume", "used": 0.002, "min_total": 0.01, "from": 0, "to": 43_200_000}),
            ),
            (
                "absence",
                json!({"key": "door", "equals": "open", "window": "07:00-10:00"}),
            ),
            (
                "threshold",
                json!({"key": "vibration", "value": 3.1, "op": "gt", "threshold": 2.5}),
            ),
            ("event", json!({"key": "smoke", "value": 1})),
            ("event", json!({"key": "gas", "value": 1})),
        ];
        for (kind, d) in cases {
            for lang in [Lang::Zh, Lang::En] {
                let s = describe(kind, &d, lang).unwrap();
                assert!(!s.contains("alert."), "{s}");
                assert!(!s.contains('{'), "{s}");
            }
        }
    }

    #[test]
    fn a_rules_parameters_read_as_words() {
        let p = crate::sensing::rules::RuleParams {
            key: Some("door".into()),
            equals: Some(serde_json::json!("open")),
            absence_s: Some(86_400),
            window: Some("07:00-21:00".into()),
            ..Default::default()
        };
        let zh = super::rule_summary("absence", &p, Tr(Lang::Zh));
        assert_eq!(zh, "24 小时内没有开门（开） · 每天 07:00-21:00");
        let en = super::rule_summary("absence", &p, Tr(Lang::En));
        assert!(
            !en.contains("absence_s") && !en.chars().any(|c| c > '\u{2e80}'),
            "{en}"
        );
    }
}
