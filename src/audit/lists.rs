//! How lists are indexed. A list names everyone on its page (fifty people a call), and a grid
//! worker pages through her grid many times a day: indexing every name of every list grew the
//! subject index by fifty rows a call without bound. The entries keep every name (they are what
//! the Merkle tree hashes); the index behind "who looked at my data" keeps, for lists, one row
//! per viewer, person and day: the first list that day by that viewer that named the person.
//! So a person sees that a worker had her on a list on a given day, and the index grows with
//! people seen, not with pages turned.
//!
//! The rule is a function of the log in sequence order, so `audit verify` recomputes it
//! ([`ListFirsts`]) and still finds a missing or forged row. At append time the database
//! decides (`audit_list_seen`, in the append's transaction, which one appender holds at a time),
//! so every process agrees. Days are UTC days of the entry's time: a setting of the street's zone
//! may change, the log's meaning may not. Entries before the migration that brought the rule
//! keep every name indexed (`audit_list_thin_from`).

use std::collections::HashSet;

use crate::params;
use crate::store::{Conn, Result, Val};

use super::{Action, Entry};

const DAY_MS: i64 = 86_400_000;
/// Days of `audit_list_seen` kept: today's and the day before (an entry stamped just before
/// midnight may be appended just after).
const KEEP_DAYS: i64 = 2;
const META_FROM: &str = "audit_list_thin_from";

fn day(at: i64) -> i64 {
    at.div_euclid(DAY_MS)
}

fn viewer(actor_id: Option<i64>) -> i64 {
    actor_id.unwrap_or(-1)
}

/// The first entry the rule applies to.
pub fn thin_from(c: &mut dyn Conn) -> Result<u64> {
    Ok(crate::store::meta(c, META_FROM)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// The distinct subjects of an entry, in the order named.
pub fn distinct(subjects: &[String]) -> Vec<&str> {
    let mut seen = HashSet::new();
    subjects
        .iter()
        .map(String::as_str)
        .filter(|s| seen.insert(*s))
        .collect()
}

/// At append time: which of a list entry's `subjects` are the first of their viewer and day
/// (marked in `audit_list_seen`, so the next list finds them).
pub fn firsts(
    c: &mut dyn Conn,
    seq: u64,
    at: i64,
    actor_id: Option<i64>,
    subjects: &[&str],
) -> Result<Vec<String>> {
    const CHUNK: usize = 200;
    let mut out = Vec::new();
    for chunk in subjects.chunks(CHUNK) {
        let mut p: Vec<Val> = vec![
            Val::Int(day(at)),
            Val::Int(viewer(actor_id)),
            Val::Int(seq as i64),
        ];
        let values: Vec<String> = chunk
            .iter()
            .map(|s| {
                p.push(Val::Text((*s).to_string()));
                format!("($1, $2, ${}, $3)", p.len())
            })
            .collect();
        let sql = format!(
            "INSERT INTO audit_list_seen (day, actor_id, subject, seq) VALUES {} \
             ON CONFLICT DO NOTHING RETURNING subject",
            values.join(", ")
        );
        out.extend(c.query(&sql, &p)?.iter().map(|r| r.str(0)));
    }
    Ok(out)
}

/// After a crash: which subjects of the list entry `e` the append marked as first (read back
/// from `audit_list_seen`, which committed with the entry).
pub fn marked(c: &mut dyn Conn, e: &Entry) -> Result<Vec<String>> {
    Ok(c.query(
        "SELECT subject FROM audit_list_seen WHERE day = $1 AND actor_id = $2 AND seq = $3",
        params![day(e.at), viewer(e.actor_id), e.seq as i64],
    )?
    .iter()
    .map(|r| r.str(0))
    .collect())
}

/// Forgets marks of days no append can still fall on.
pub fn prune(c: &mut dyn Conn, now: i64) -> Result<u64> {
    c.exec(
        "DELETE FROM audit_list_seen WHERE day < $1",
        params![day(now) - KEEP_DAYS + 1],
    )
}

/// The rule recomputed over the log in sequence order, for `audit verify`.
pub struct ListFirsts {
    from: u64,
    seen: HashSet<(i64, i64, String)>,
    newest: i64,
}

impl ListFirsts {
    pub fn new(from: u64) -> Self {
        ListFirsts {
            from,
            seen: HashSet::new(),
            newest: i64::MIN,
        }
    }

    /// The subjects of `e` the index holds rows for. Call once per entry, in sequence order.
    pub fn indexed<'a>(&mut self, e: &'a Entry) -> Vec<&'a str> {
        let all = distinct(&e.subjects);
        if e.action != Action::List || e.seq < self.from {
            return all;
        }
        let d = day(e.at);
        if d > self.newest {
            self.newest = d;
            let keep = d - KEEP_DAYS + 1;
            self.seen.retain(|(day, _, _)| *day >= keep);
        }
        let v = viewer(e.actor_id);
        all.into_iter()
            .filter(|s| self.seen.insert((d, v, (*s).to_string())))
            .collect()
    }
}
