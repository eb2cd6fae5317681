//! `linli audit verify`: recomputes the tree from the stored entries and checks every signed
//! tree head. The stored leaf hashes and subtree cache are not trusted: every leaf is hashed
//! again from its entry.
//!
//! Beyond the tree it checks what the tree does not cover: the queryable columns stored beside
//! each hashed body (`street_id`, `at`, `actor_id`, `action`) against the body, and the subject
//! index behind "who looked at me" against the subjects the bodies name. With heads kept
//! outside the database (`--against`, a witness's file) it checks that the log is an extension
//! of each of them (RFC 9162 consistency proof), so that a rollback of the database — the
//! newest heads and their entries deleted, or every head deleted and the entries rewritten
//! with recomputed hashes — is found. With `--locate` an edited entry whose hash was
//! recomputed is found exactly, by descending from the signed root through the stored subtree
//! hashes (each used only once it hashes up to a node already proven).

use std::collections::HashSet;

use ed25519_dalek::VerifyingKey;
use sha2::Digest;

use super::merkle::{self, Frontier, Hash, Nodes};
use super::{Entry, Head, heads};
use crate::kernel::i18n::en_zh;
use crate::params;
use crate::store::{Conn, Result, StoreError};

#[derive(Debug, PartialEq, Eq)]
pub enum Problem {
    /// No entry stored at this position: it was deleted.
    Missing { seq: u64 },
    /// The entry stored at `seq` says it is entry `claims`: inserted or reordered.
    OutOfPlace { seq: u64, claims: Option<u64> },
    /// The entry's content no longer matches its leaf hash: edited.
    Edited { seq: u64 },
    /// A head's signature does not verify under the log key.
    BadSignature { size: u64 },
    /// The tree recomputed from the entries does not have this head's root.
    RootMismatch { size: u64, after: u64 },
    /// A head covers more entries than the log holds: entries were removed from the end.
    Truncated { size: u64, entries: u64 },
    /// A head kept outside the database does not verify under the log key (forged, or the
    /// log key was replaced).
    KeptBadSignature { size: u64 },
    /// A kept head covers more entries than the log holds: the database was rolled back.
    RolledBack { size: u64, entries: u64 },
    /// The log is not an extension of a kept head: entries it covered were changed.
    Inconsistent { size: u64 },
    /// A queryable column disagrees with the hashed body.
    Column {
        seq: u64,
        column: &'static str,
        stored: String,
        body: String,
    },
    /// The subject index lacks a row the entries name: a look hidden from "who looked at me".
    IndexMissing { subject: String, seq: u64 },
    /// The subject index holds a row no entry names.
    IndexExtra { subject: String, seq: u64 },
    /// `--locate`: the entry that differs from what the head at `size` signed.
    Located { seq: u64, size: u64 },
    /// `--locate` could narrow only to these entries (the stored subtree hashes were
    /// rewritten too, or predate the per-leaf copies).
    LocatedRange { from: u64, to: u64, size: u64 },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let k = |key: &str, args: &[(&str, &dyn std::fmt::Display)]| {
            en_zh(&format!("audit.verify.{key}"), args)
        };
        f.write_str(&match self {
            Problem::Missing { seq } => k("missing", &[("seq", seq)]),
            Problem::OutOfPlace {
                seq,
                claims: Some(c),
            } => k("out_of_place", &[("seq", seq), ("claims", c)]),
            Problem::OutOfPlace { seq, claims: None } => k("not_an_entry", &[("seq", seq)]),
            Problem::Edited { seq } => k("edited", &[("seq", seq)]),
            Problem::BadSignature { size } => k("bad_signature", &[("size", size)]),
            Problem::RootMismatch { size, after } => {
                k("root_mismatch", &[("size", size), ("after", after)])
            }
            Problem::Truncated { size, entries } => {
                k("truncated", &[("size", size), ("entries", entries)])
            }
            Problem::KeptBadSignature { size } => k("kept_bad_signature", &[("size", size)]),
            Problem::RolledBack { size, entries } => {
                k("rolled_back", &[("size", size), ("entries", entries)])
            }
            Problem::Inconsistent { size } => k("inconsistent", &[("size", size)]),
            Problem::Column {
                seq,
                column,
                stored,
                body,
            } => k(
                "column",
                &[
                    ("seq", seq),
                    ("column", column),
                    ("stored", &format!("{stored:?}")),
                    ("body", &format!("{body:?}")),
                ],
            ),
            Problem::IndexMissing { subject, seq } => {
                k("index_missing", &[("subject", subject), ("seq", seq)])
            }
            Problem::IndexExtra { subject, seq } => {
                k("index_extra", &[("subject", subject), ("seq", seq)])
            }
            Problem::Located { seq, size } => k("located", &[("seq", seq), ("size", size)]),
            Problem::LocatedRange { from, to, size } => k(
                "located_range",
                &[("from", from), ("last", &(to - 1)), ("size", size)],
            ),
        })
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub entries: u64,
    pub heads: u64,
    /// Entries after the newest head, not yet covered by a signature.
    pub unsigned: u64,
    /// Heads kept outside the database that were checked.
    pub kept: u64,
    /// Rows of the subject index checked.
    pub index_rows: u64,
}

/// What to check beyond the log itself.
#[derive(Default)]
pub struct Options {
    /// Heads kept outside the database (a witness's checkpoints).
    pub kept: Vec<Head>,
    /// Find the exact entry behind a head that does not match.
    pub locate: bool,
}

/// Problems of one kind reported at most this many times (the rest are counted).
const MAX_EACH: usize = 20;

/// Checks the whole log and returns every problem found (none: the log holds). A problem in
/// the tree's structure (a missing, misplaced or edited entry) stops the walk there; column and
/// index problems are all listed.
pub fn verify(
    c: &mut dyn Conn,
    key: &VerifyingKey,
    opts: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<(Report, Vec<Problem>)> {
    let mut problems = Vec::new();
    let heads: Vec<Head> = heads(c)?;
    for h in &heads {
        if !h.verify(key) {
            problems.push(Problem::BadSignature { size: h.size });
            return Ok((Report::default(), problems));
        }
    }
    // Kept heads: checked like the database's own, after their signatures.
    let mut kept: Vec<&Head> = Vec::new();
    let mut seen = HashSet::new();
    for h in &opts.kept {
        if !h.verify(key) {
            problems.push(Problem::KeptBadSignature { size: h.size });
        } else if seen.insert((h.size, h.root.clone())) {
            kept.push(h);
        }
    }
    kept.sort_by_key(|h| h.size);
    let indexed = super::indexed_upto(c)?;
    let thin_from = super::lists::thin_from(c)?;
    let mut firsts = super::lists::ListFirsts::new(thin_from);
    let mut index = Digests::default();
    let mut frontier = Frontier::default();
    let (mut next_head, mut next_kept) = (0usize, 0usize);
    let mut last_good = 0u64;
    let mut expect = 0u64;
    let mut broken = false;
    // The first head (the database's or a kept one) whose root the entries do not give.
    let mut mismatch: Option<(u64, Hash)> = None;
    let mut columns = 0usize;
    const CHUNK: i64 = 20_000;
    'walk: loop {
        let rows = c.query(
            "SELECT seq, body, leaf_hash, street_id, at, actor_id, action FROM audit_entries \
             WHERE seq >= $1 ORDER BY seq LIMIT $2",
            params![expect as i64, CHUNK],
        )?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let seq = r.i64(0) as u64;
            if seq != expect {
                problems.push(Problem::Missing { seq: expect });
                broken = true;
                break 'walk;
            }
            let body = r.str(1);
            let parsed = serde_json::from_str::<Entry>(&body).ok();
            let claims = parsed.as_ref().map(|e| e.seq);
            if claims != Some(seq) {
                problems.push(Problem::OutOfPlace { seq, claims });
                broken = true;
                break 'walk;
            }
            let leaf = merkle::leaf_hash(body.as_bytes());
            if r.blob(2).as_deref() != Some(&leaf[..]) {
                problems.push(Problem::Edited { seq });
                broken = true;
                break 'walk;
            }
            let e = parsed.expect("parsed above");
            for p in column_problems(r, &e) {
                columns += 1;
                if columns <= MAX_EACH {
                    problems.push(p);
                }
            }
            if seq < indexed {
                for s in firsts.indexed(&e) {
                    index.expected(s, seq);
                }
            }
            frontier.push(leaf);
            expect += 1;
            while next_head < heads.len() && heads[next_head].size == expect {
                let h = &heads[next_head];
                let root = frontier.root();
                if mismatch.is_none() {
                    if h.root_hash() != Some(root) {
                        problems.push(Problem::RootMismatch {
                            size: h.size,
                            after: last_good,
                        });
                        mismatch = h.root_hash().map(|r| (h.size, r));
                    } else {
                        last_good = h.size;
                    }
                }
                next_head += 1;
            }
            while next_kept < kept.len() && kept[next_kept].size == expect {
                let h = kept[next_kept];
                if h.root_hash() != Some(frontier.root()) {
                    problems.push(Problem::Inconsistent { size: h.size });
                    if mismatch.is_none() {
                        mismatch = h.root_hash().map(|r| (h.size, r));
                    }
                }
                next_kept += 1;
            }
        }
        progress(expect);
    }
    if columns > MAX_EACH {
        tracing::warn!(
            more = columns - MAX_EACH,
            "more entries have columns that disagree with their bodies"
        );
    }
    if broken {
        return Ok((
            Report {
                entries: expect,
                heads: heads.len() as u64,
                ..Report::default()
            },
            problems,
        ));
    }
    if let Some(h) = heads.get(next_head) {
        problems.push(Problem::Truncated {
            size: h.size,
            entries: expect,
        });
    }
    // Kept heads: a larger one than the log is a rollback; every other one must be linked to
    // today's tree by a consistency proof (as a witness would check it, with the proof built
    // from the stored subtrees and checked against the root recomputed from the entries).
    let current = frontier.root();
    for h in &kept {
        if h.size > expect {
            problems.push(Problem::RolledBack {
                size: h.size,
                entries: expect,
            });
            continue;
        }
        let Some(old_root) = h.root_hash() else {
            problems.push(Problem::Inconsistent { size: h.size });
            continue;
        };
        let proof = match merkle::consistency_proof(&mut super::DbNodes(c), h.size, expect) {
            Ok(p) => p,
            Err(StoreError::Db(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        let already = problems
            .iter()
            .any(|p| matches!(p, Problem::Inconsistent { size } if *size == h.size));
        if !already && !merkle::verify_consistency(h.size, expect, &proof, &old_root, &current) {
            problems.push(Problem::Inconsistent { size: h.size });
        }
    }
    if opts.locate
        && let Some((size, root)) = mismatch
    {
        problems.push(locate(c, size, root)?);
    }
    let index_rows = check_index(c, indexed, thin_from, &mut index, &mut problems)?;
    Ok((
        Report {
            entries: expect,
            heads: heads.len() as u64,
            unsigned: expect.saturating_sub(heads.last().map(|h| h.size).unwrap_or(0)),
            kept: kept.len() as u64,
            index_rows,
        },
        problems,
    ))
}

fn column_problems(r: &crate::store::Row, e: &Entry) -> Vec<Problem> {
    let mut out = Vec::new();
    let show = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_else(|| "null".into());
    let mut check = |column: &'static str, stored: String, body: String| {
        if stored != body {
            out.push(Problem::Column {
                seq: e.seq,
                column,
                stored,
                body,
            });
        }
    };
    check("street_id", show(r.opt_i64(3)), show(e.street_id));
    check("at", r.i64(4).to_string(), e.at.to_string());
    check("actor_id", show(r.opt_i64(5)), show(e.actor_id));
    check("action", r.str(6), e.action.as_str().to_string());
    out
}

/// The subject index compared with the entries without holding either in memory: every row is
/// hashed into one of `BUCKETS` sums, once from the entries and once from the index; only the
/// buckets whose sums differ are read again row by row to name the rows.
const BUCKETS: usize = 1024;

struct Digests {
    want: Vec<(u128, u64)>,
    have: Vec<(u128, u64)>,
}

impl Default for Digests {
    fn default() -> Self {
        Digests {
            want: vec![(0, 0); BUCKETS],
            have: vec![(0, 0); BUCKETS],
        }
    }
}

fn row_hash(subject: &str, seq: u64) -> (usize, u128) {
    let mut h = sha2::Sha256::new();
    h.update(subject.as_bytes());
    h.update([0u8]);
    h.update(seq.to_be_bytes());
    let d = h.finalize();
    let bucket = u16::from_be_bytes([d[0], d[1]]) as usize % BUCKETS;
    let v = u128::from_be_bytes(d[16..32].try_into().expect("16 bytes"));
    (bucket, v)
}

impl Digests {
    fn expected(&mut self, subject: &str, seq: u64) {
        let (b, v) = row_hash(subject, seq);
        let w = &mut self.want[b];
        *w = (w.0.wrapping_add(v), w.1 + 1);
    }
    fn found(&mut self, subject: &str, seq: u64) {
        let (b, v) = row_hash(subject, seq);
        let w = &mut self.have[b];
        *w = (w.0.wrapping_add(v), w.1 + 1);
    }
}

/// Reads the whole subject index (rows for entries below `indexed`), compares it with what the
/// entries named, and names the differing rows.
/// Every row of the subject index below `indexed`, in key order, a chunk at a time (keyset
/// paging: the cost of a chunk does not grow with the index).
fn index_rows(c: &mut dyn Conn, indexed: u64, mut f: impl FnMut(&str, u64)) -> Result<()> {
    const CHUNK: i64 = 20_000;
    let mut after: Option<(String, i64)> = None;
    loop {
        let rows = match &after {
            None => c.query(
                "SELECT subject, seq FROM audit_subjects ORDER BY subject, seq LIMIT $1",
                params![CHUNK],
            )?,
            Some((s, q)) => c.query(
                "SELECT subject, seq FROM audit_subjects WHERE subject > $1 OR (subject = $1 AND seq > $2) \
                 ORDER BY subject, seq LIMIT $3",
                params![s.clone(), *q, CHUNK],
            )?,
        };
        let Some(last) = rows.last() else { break };
        after = Some((last.str(0), last.i64(1)));
        for r in &rows {
            let seq = r.i64(1) as u64;
            if seq < indexed {
                f(&r.str(0), seq);
            }
        }
    }
    Ok(())
}

fn check_index(
    c: &mut dyn Conn,
    indexed: u64,
    thin_from: u64,
    d: &mut Digests,
    problems: &mut Vec<Problem>,
) -> Result<u64> {
    const CHUNK: i64 = 20_000;
    let mut rows_seen = 0u64;
    index_rows(c, indexed, |subject, seq| {
        d.found(subject, seq);
        rows_seen += 1;
    })?;
    let bad: HashSet<usize> = (0..BUCKETS).filter(|&b| d.want[b] != d.have[b]).collect();
    if bad.is_empty() {
        return Ok(rows_seen);
    }
    // Name the rows of the differing buckets: what the entries say, and what the index holds.
    let mut want: HashSet<(String, u64)> = HashSet::new();
    let mut firsts = super::lists::ListFirsts::new(thin_from);
    let mut from = 0u64;
    while from < indexed {
        let rows = c.query(
            "SELECT seq, body FROM audit_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq LIMIT $3",
            params![from as i64, indexed as i64, CHUNK],
        )?;
        let Some(last) = rows.last() else { break };
        from = last.i64(0) as u64 + 1;
        for r in &rows {
            if let Ok(e) = serde_json::from_str::<Entry>(&r.str(1)) {
                let seq = r.i64(0) as u64;
                for s in firsts.indexed(&e) {
                    if bad.contains(&row_hash(s, seq).0) {
                        want.insert((s.to_string(), seq));
                    }
                }
            }
        }
    }
    let mut have: HashSet<(String, u64)> = HashSet::new();
    index_rows(c, indexed, |subject, seq| {
        if bad.contains(&row_hash(subject, seq).0) {
            have.insert((subject.to_string(), seq));
        }
    })?;
    let mut missing: Vec<_> = want.difference(&have).cloned().collect();
    let mut extra: Vec<_> = have.difference(&want).cloned().collect();
    missing.sort_by_key(|(s, q)| (*q, s.clone()));
    extra.sort_by_key(|(s, q)| (*q, s.clone()));
    for (subject, seq) in missing.into_iter().take(MAX_EACH) {
        problems.push(Problem::IndexMissing { subject, seq });
    }
    for (subject, seq) in extra.into_iter().take(MAX_EACH) {
        problems.push(Problem::IndexExtra { subject, seq });
    }
    Ok(rows_seen)
}

/// Subtree hashes as stored beside the tree: level 0 from the copies of the leaf hashes in
/// `audit_nodes` (not the entries' own `leaf_hash`, which an editor rewrites with the entry).
struct Stored<'a>(&'a mut dyn Conn);

impl Nodes for Stored<'_> {
    type Error = StoreError;
    fn node(&mut self, level: u32, idx: u64) -> Result<Hash> {
        self.0
            .query_opt(
                "SELECT hash FROM audit_nodes WHERE level = $1 AND idx = $2",
                params![level as i64, idx as i64],
            )?
            .and_then(|r| r.blob(0))
            .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
            .ok_or_else(|| StoreError::Db(format!("audit tree node {level}/{idx} is missing")))
    }
}

/// MTH of the entries `[start, end)` recomputed from their bodies.
fn recomputed(c: &mut dyn Conn, start: u64, end: u64) -> Result<Hash> {
    let mut f = Frontier::default();
    let mut from = start;
    while from < end {
        let rows = c.query(
            "SELECT seq, body FROM audit_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq LIMIT 20000",
            params![from as i64, end as i64],
        )?;
        let Some(last) = rows.last() else { break };
        from = last.i64(0) as u64 + 1;
        for r in &rows {
            f.push(merkle::leaf_hash(r.str(1).as_bytes()));
        }
    }
    Ok(f.root())
}

/// Finds the entry that differs from what a head signed. From the signed root down, a node's
/// two children as stored are believed only when they hash to the node already proven; then
/// the left child is recomputed from the entries, and the walk goes to the side that differs.
/// Each step reads half of what the one before read: about as much as the range itself.
fn locate(c: &mut dyn Conn, size: u64, root: Hash) -> Result<Problem> {
    let (mut start, mut end, mut trusted) = (0u64, size, root);
    while end - start > 1 {
        let len = end - start;
        let k = 1u64 << (63 - (len - 1).leading_zeros());
        let mid = start + k;
        let left = merkle::subtree(&mut Stored(c), start, mid).ok();
        let right = merkle::subtree(&mut Stored(c), mid, end).ok();
        let (Some(l), Some(r)) = (left, right) else {
            break;
        };
        if merkle::node_hash(&l, &r) != trusted {
            break;
        }
        if recomputed(c, start, mid)? != l {
            (end, trusted) = (mid, l);
        } else {
            (start, trusted) = (mid, r);
        }
    }
    if end - start == 1 && recomputed(c, start, end)? != trusted {
        return Ok(Problem::Located { seq: start, size });
    }
    Ok(Problem::LocatedRange {
        from: start,
        to: end,
        size,
    })
}
