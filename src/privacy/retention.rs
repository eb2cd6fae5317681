//! Retention: each kind of personal data that is only needed for a while has a period in the
//! configuration (e.g. home-quarantine tags 30 days after they end). A daily job deletes what
//! has expired. The audit log keeps only hashes and pseudonyms, so deleting never breaks its
//! verification; the purge itself is logged.

use crate::audit::{self, Action, NewEntry};
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
        e.purpose = Some(format!("retention: {tag} tags {days} days after they end"));
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
