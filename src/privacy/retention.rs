//! Retention: each kind of personal data that is only needed for a while has a period in the
//! configuration (e.g. home-quarantine tags 30 days after they end). A daily job deletes what
//! has expired. The audit log keeps only hashes and pseudonyms, so deleting never breaks its
//! verification; the purge itself is logged.

use crate::audit::{self, Action, NewEntry};
use crate::kernel::i18n::{Lang, Tr};
use crate::store::{Conn, Result, now_ms};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub tags: u64,
    pub sessions: u64,
    pub tokens: u64,
}

/// Deletes tags whose validity ended more than their retention period before `today`, and
/// expired sessions and API tokens.
pub fn purge(
    c: &mut dyn Conn,
    tag_days: &[(String, i64)],
    today: chrono::NaiveDate,
) -> Result<Purged> {
    let now = now_ms();
    let mut out = Purged::default();
    for (tag, days) in tag_days {
        let cutoff = (today - chrono::Days::new(*days as u64))
            .format("%Y-%m-%d")
            .to_string();
        let (people, n) = crate::registry::records::purge_ended_tags(c, tag, &cutoff)?;
        if people.is_empty() {
            continue;
        }
        out.tags += n;
        let mut e = NewEntry::anonymous(Action::Change, "system");
        e.subjects = people.into_iter().map(audit::person).collect();
        // In both languages, the tag by its name where it is a built-in one.
        let (zh, en) = crate::registry::records::BUILTIN_TAGS
            .iter()
            .find(|t| t.0 == tag.as_str())
            .map_or((tag.as_str(), tag.as_str()), |t| (t.1, t.2));
        let key = "privacy.purpose.retention";
        e.purpose = Some(format!(
            "{} / {}",
            Tr(Lang::Zh).fill(key, &[("tag", &zh), ("days", days)]),
            Tr(Lang::En).fill(key, &[("tag", &en), ("days", days)])
        ));
        audit::append(c, vec![e])?;
    }
    (out.sessions, out.tokens) = crate::org::auth::purge_expired(c, now)?;
    crate::store::runs::mark(c, "retention", now)?;
    Ok(out)
}

/// Whether the daily purge is due (its last run is kept in the database).
pub fn due(c: &mut dyn Conn) -> Result<bool> {
    let last = crate::store::runs::last(c, "retention")?.unwrap_or(0);
    Ok(now_ms() - last >= 24 * 3_600_000)
}
