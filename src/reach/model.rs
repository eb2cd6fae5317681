//! Reach's words: a message, whom it is for, its urgency, the channels, and the checks of
//! addresses typed at the edge.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::org::Role;

/// How soon a message must go: `urgent` ignores quiet hours (a care alert).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Reach_Urgency)]
pub enum Urgency {
    Normal,
    Urgent,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Normal => "normal",
            Urgency::Urgent => "urgent",
        }
    }
}

/// Whom a message is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// An account, on the channels she chose.
    User(i64),
    /// Every account holding `role` at a place covering `place_path` (the grid worker of a
    /// flat's grid), and the group robots placed there.
    RoleAt { role: Role, place_path: String },
    /// A cared-for person's contact (family, helper), on the channel recorded with consent.
    Contact(i64),
    /// A group robot.
    Robot(i64),
    /// An account's subscribed browsers only (Web Push), whatever else she chose: the test
    /// message of her settings page.
    Devices(i64),
}

/// What a message says: a catalogue key with arguments (written in each recipient's
/// language when sent), or a text as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Key {
        key: &'static str,
        args: Vec<(&'static str, String)>,
    },
    Text(String),
}

/// One thing to tell: [`super::tell`] writes it to the outbox in the caller's transaction.
#[derive(Clone, Debug)]
pub struct Message {
    pub street_id: i64,
    pub to: Recipient,
    pub urgency: Urgency,
    pub body: Body,
    /// A link the message carries (a case's page, a one-tap answer).
    pub link: Option<String>,
    /// The caller's idempotency key: the same key never makes a second message.
    pub idem: String,
    /// What caused it, for the outbox page (`case:12`, `alert:5`).
    pub source: String,
    /// The account that sent it, told in linli when it finally fails.
    pub sender: Option<i64>,
}

/// A way out of linli.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Reach_Channel)]
pub enum Channel {
    Email,
    Sms,
    Wecom,
    Dingtalk,
    Feishu,
    /// Web Push to the browsers an account subscribed (one delivery per browser).
    Webpush,
}

impl Channel {
    pub const PERSONAL: [Channel; 2] = [Channel::Email, Channel::Sms];
    pub const ROBOTS: [Channel; 3] = [Channel::Wecom, Channel::Dingtalk, Channel::Feishu];
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Wecom => "wecom",
            Channel::Dingtalk => "dingtalk",
            Channel::Feishu => "feishu",
            Channel::Webpush => "webpush",
        }
    }
    pub fn parse(s: &str) -> Option<Channel> {
        [
            Channel::Email,
            Channel::Sms,
            Channel::Wecom,
            Channel::Dingtalk,
            Channel::Feishu,
            Channel::Webpush,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// An e-mail address as typed: one `@`, a dotted domain, no spaces or controls, at most 254
/// characters (RFC 5321's limit on a path).
pub fn check_email(s: &str) -> Result<String, &'static str> {
    let s = s.trim();
    let ok = s.len() <= 254
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && s.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && domain
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        });
    if ok {
        Ok(s.to_string())
    } else {
        Err("reach.err.email")
    }
}

/// A mobile number as typed: mainland 11 digits starting with 1 (spaces, dashes and +86
/// dropped).
pub fn check_mobile(s: &str) -> Result<String, &'static str> {
    let digits: String = s
        .trim()
        .trim_start_matches("+86")
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    if digits.len() == 11 && digits.starts_with('1') && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err("reach.err.mobile")
    }
}

/// An address for a channel, checked.
pub fn check_address(ch: Channel, s: &str) -> Result<String, &'static str> {
    match ch {
        Channel::Email => check_email(s),
        Channel::Sms => check_mobile(s),
        _ => Err("reach.err.channel"),
    }
}

/// An address masked for lists: `z***@example.com`, `138****5678`.
pub fn mask(ch: Channel, s: &str) -> String {
    match ch {
        Channel::Email => match s.split_once('@') {
            Some((l, d)) => format!("{}***@{d}", l.chars().next().unwrap_or('*')),
            None => "***".into(),
        },
        _ => {
            let c: Vec<char> = s.chars().collect();
            if c.len() >= 7 {
                format!(
                    "{}****{}",
                    c[..3].iter().collect::<String>(),
                    c[c.len() - 4..].iter().collect::<String>()
                )
            } else {
                "****".into()
            }
        }
    }
}

/// A name masked for lists: the family name and stars ("张**").
pub fn mask_name(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => format!("{first}{}", "*".repeat(c.count().clamp(1, 3))),
        None => String::new(),
    }
}

/// Quiet hours as minutes of the day in China time, `from` to `to` (may wrap midnight).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quiet {
    pub from: i64,
    pub to: i64,
}

impl Quiet {
    /// "22:00" → 1320.
    pub fn parse_hm(s: &str) -> Option<i64> {
        let (h, m) = s.trim().split_once(':')?;
        let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
        ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
    }
    pub fn hm(min: i64) -> String {
        format!("{:02}:{:02}", min / 60, min % 60)
    }
    /// When a message not urgent may go, at or after `now`: `now` outside the quiet hours,
    /// their end otherwise.
    pub fn release(self, now: i64) -> i64 {
        use chrono::Timelike;
        if self.from == self.to {
            return now;
        }
        let Some(t) = crate::kernel::time::local(now) else {
            return now;
        };
        let m = (t.hour() * 60 + t.minute()) as i64;
        let inside = if self.from < self.to {
            m >= self.from && m < self.to
        } else {
            m >= self.from || m < self.to
        };
        if !inside {
            return now;
        }
        let wait = (self.to - m).rem_euclid(1440);
        now - (t.second() as i64) * 1000 - (now % 1000) + wait * 60_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_masked() {
        assert_eq!(check_email(" a.b@example.com ").unwrap(), "a.b@example.com");
        for bad in [
            "a",
            "a@b",
            "a b@c.com",
            "@c.com",
            "a@.com",
            "a@c.com.",
            "a@@c.com",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert_eq!(check_mobile("+86 138-0013-8000").unwrap(), "13800138000");
        assert!(check_mobile("2380013800").is_err());
        assert_eq!(mask(Channel::Sms, "13800138000"), "138****8000");
        assert_eq!(
            mask(Channel::Email, "zhang@example.com"),
            "z***@example.com"
        );
        assert_eq!(mask_name("张秀英"), "张**");
    }

    #[test]
    fn quiet_hours_release_at_their_end() {
        let q = Quiet {
            from: 22 * 60,
            to: 7 * 60,
        };
        let at = |h, m| crate::kernel::time::local_ms(2026, 3, 2, h, m);
        assert_eq!(q.release(at(12, 0)), at(12, 0));
        assert_eq!(q.release(at(23, 0)), at(23, 0) + 8 * 3_600_000);
        assert_eq!(q.release(at(3, 30)), at(7, 0));
        assert_eq!(Quiet::parse_hm("07:05"), Some(425));
        assert_eq!(Quiet::parse_hm("24:00"), None);
    }
}
