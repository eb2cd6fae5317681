//! The audit log (信息安全管理): every read, list, change, reveal, export, login and denied
//! access touching personal data is appended as an entry. Entries are the leaves of a Merkle
//! tree (RFC 9162), whose heads linli signs with Ed25519 — Certificate Transparency's design,
//! so anyone holding a signed head can check that no entry was later edited, dropped,
//! inserted or reordered.

pub mod anomaly;
pub mod http;
pub mod jobs;
pub mod lists;
pub mod merkle;
pub mod pages;
pub mod service;
pub mod verify;
pub mod witness;

use std::path::Path;

use base64::Engine;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::params;
use crate::store::{Backend, Conn, Result, StoreError, Val, now_ms};
use merkle::{Frontier, Hash, Nodes};

/// What the audit log contributes to the application.
pub fn area() -> crate::http::area::Area {
    crate::http::area::Area {
        openapi: <http::AuditApi as utoipa::OpenApi>::openapi,
        jobs: jobs::jobs,
        ..crate::http::area::Area::new("audit", || http::router().merge(pages::router()))
    }
}

pub use service::Auditor;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
// Named apart from a case's `Action` in the OpenAPI document (one schema name each).
#[schema(as = AuditAction)]
pub enum Action {
    /// A person's or household's detail was shown.
    Read,
    /// A list or search showed personal data.
    List,
    /// A masked field was shown in full, with a purpose.
    Reveal,
    Change,
    Export,
    Login,
    LoginFailed,
    Logout,
    PermissionChange,
    /// Access outside the caller's scope was refused.
    Denied,
    /// A resident downloaded a copy of their own data (PIPL art. 45).
    SelfExport,
    /// Someone opened her own record or her own household's (a volunteer or worker who lives in
    /// the street looking at her home): logged like any read, so her household's other members
    /// see it, but not a look at a stranger's data for the anomaly rules.
    ReadOwn,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::List => "list",
            Action::Reveal => "reveal",
            Action::Change => "change",
            Action::Export => "export",
            Action::Login => "login",
            Action::LoginFailed => "login_failed",
            Action::Logout => "logout",
            Action::PermissionChange => "permission_change",
            Action::Denied => "denied",
            Action::SelfExport => "self_export",
            Action::ReadOwn => "read_own",
        }
    }

    pub const ALL: [Action; 12] = [
        Action::Read,
        Action::List,
        Action::Reveal,
        Action::Change,
        Action::Export,
        Action::Login,
        Action::LoginFailed,
        Action::Logout,
        Action::PermissionChange,
        Action::Denied,
        Action::SelfExport,
        Action::ReadOwn,
    ];

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// What a resident must never miss among routine looks: her data shown in full or taken out.
    pub fn is_sensitive(self) -> bool {
        matches!(self, Action::Reveal | Action::Export)
    }
}

/// An entry before it has a place in the log.
#[derive(Clone, Debug)]
pub struct NewEntry {
    pub at: i64,
    pub street_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub role: String,
    pub org: Option<String>,
    pub scope: Vec<String>,
    pub action: Action,
    pub subjects: Vec<String>,
    pub purpose: Option<String>,
    pub request_id: String,
}

/// Who acts, as the log records it: the account, its street, and the role, organisation and
/// place it acted in. The organisation area's `Caller` is one; the log does not know it.
pub struct Who {
    pub user_id: i64,
    pub username: String,
    pub street_id: Option<i64>,
    pub role: String,
    pub org: Option<String>,
    pub scope: Vec<String>,
}

/// Something that acts and is logged: a signed-in caller.
pub trait Acting {
    fn who(&self) -> Who;
}

impl NewEntry {
    /// An entry for something the signed-in `caller` did in the current request.
    pub fn by(caller: &impl Acting, action: Action) -> NewEntry {
        let who = caller.who();
        NewEntry {
            at: now_ms(),
            street_id: who.street_id,
            actor_id: Some(who.user_id),
            actor: who.username,
            role: who.role,
            org: who.org,
            scope: who.scope,
            action,
            subjects: Vec::new(),
            purpose: None,
            request_id: crate::kernel::ctx().request_id,
        }
    }

    /// An entry with no signed-in actor (a failed login names only the account tried).
    pub fn anonymous(action: Action, actor: &str) -> NewEntry {
        NewEntry {
            at: now_ms(),
            street_id: None,
            actor_id: None,
            actor: actor.to_string(),
            role: String::new(),
            org: None,
            scope: Vec::new(),
            action,
            subjects: Vec::new(),
            purpose: None,
            request_id: crate::kernel::ctx().request_id,
        }
    }

    pub fn subjects(mut self, s: impl IntoIterator<Item = String>) -> NewEntry {
        self.subjects.extend(s);
        self
    }

    pub fn purpose(mut self, p: impl Into<String>) -> NewEntry {
        self.purpose = Some(p.into());
        self
    }
}

pub fn person(id: i64) -> String {
    format!("person:{id}")
}
pub fn household(id: i64) -> String {
    format!("household:{id}")
}
pub fn user(id: i64) -> String {
    format!("user:{id}")
}

/// An entry as stored and hashed. The field order is the canonical form: the leaf is
/// `SHA-256(0x00 ‖ body)` over exactly these bytes.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Entry {
    pub seq: u64,
    pub at: i64,
    pub street_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub role: String,
    pub org: Option<String>,
    pub scope: Vec<String>,
    pub action: Action,
    pub subjects: Vec<String>,
    pub purpose: Option<String>,
    pub request_id: String,
}

/// Perfect subtrees read from the database.
pub struct DbNodes<'a>(pub &'a mut dyn Conn);

impl Nodes for DbNodes<'_> {
    type Error = StoreError;
    fn node(&mut self, level: u32, idx: u64) -> Result<Hash> {
        let row = if level == 0 {
            self.0.query_opt(
                "SELECT leaf_hash FROM audit_entries WHERE seq = $1",
                params![idx as i64],
            )?
        } else {
            self.0.query_opt(
                "SELECT hash FROM audit_nodes WHERE level = $1 AND idx = $2",
                params![level as i64, idx as i64],
            )?
        };
        row.and_then(|r| r.blob(0))
            .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
            .ok_or_else(|| StoreError::Db(format!("audit tree node {level}/{idx} is missing")))
    }
}

/// The number of entries in the log.
pub fn size(c: &mut dyn Conn) -> Result<u64> {
    Ok(c.query_i64("SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_entries", &[])? as u64)
}

/// Appends entries in one transaction (the caller's); returns their sequence numbers.
pub fn append(c: &mut dyn Conn, entries: Vec<NewEntry>) -> Result<Vec<u64>> {
    let (seqs, _, subjects) = append_from(c, entries, None)?;
    if let Some(&start) = seqs.first() {
        index_subjects(c, subjects, start)?;
    }
    Ok(seqs)
}

/// Several processes may append to one PostgreSQL database: one appender at a time, for the
/// rest of the caller's transaction, since the tree has one right edge and the sequence no
/// gap. (SQLite has one writer: its transaction is the lock.)
pub fn lock_log(c: &mut dyn Conn) -> Result<()> {
    if c.backend() == Backend::Postgres {
        c.exec("SELECT pg_advisory_xact_lock(7411)", &[])?;
    }
    Ok(())
}

/// Whether the subject index of appended entries is written in the append's own transaction
/// (PostgreSQL, where several processes may append: an index written later by the process
/// that appended would leave a hole, and a wrong completeness mark, if that process died
/// before) or later in batches by the appender (SQLite: one process, whose batches keep the
/// one writer free for requests; `catch_up_index` completes them after a crash).
pub fn index_inline(backend: Backend) -> bool {
    backend == Backend::Postgres
}

/// Rows of the subject index, (subject, seq), not yet written.
pub type SubjectRows = Vec<(String, u64)>;

/// Like [`append`], starting from a frontier the caller kept from its last append (used when
/// it still matches the log's size, which saves reading it back), and returning the new one.
pub fn append_from(
    c: &mut dyn Conn,
    entries: Vec<NewEntry>,
    known: Option<Frontier>,
) -> Result<(Vec<u64>, Frontier, SubjectRows)> {
    lock_log(c)?;
    let start = size(c)?;
    let mut frontier = match known {
        Some(f) if f.size() == start => f,
        _ => Frontier::load(&mut DbNodes(c), start)?,
    };
    if entries.is_empty() {
        return Ok((Vec::new(), frontier, Vec::new()));
    }
    let thin_from = lists::thin_from(c)?;
    let mut rows = Vec::with_capacity(entries.len());
    let mut subjects = Vec::new();
    let mut nodes = Vec::new();
    let mut seqs = Vec::with_capacity(entries.len());
    for (i, e) in entries.into_iter().enumerate() {
        let seq = start + i as u64;
        let entry = Entry {
            seq,
            at: e.at,
            street_id: e.street_id,
            actor_id: e.actor_id,
            actor: e.actor,
            role: e.role,
            org: e.org,
            scope: e.scope,
            action: e.action,
            subjects: e.subjects,
            purpose: e.purpose,
            request_id: e.request_id,
        };
        let body = serde_json::to_string(&entry).map_err(|e| StoreError::Db(e.to_string()))?;
        let leaf = merkle::leaf_hash(body.as_bytes());
        // A second copy of the leaf hash, beside the subtree cache: when an entry is rewritten
        // together with its `leaf_hash`, `verify --locate` still finds which one it was.
        nodes.push(vec![
            Val::Int(0),
            Val::Int(seq as i64),
            Val::Blob(leaf.to_vec()),
        ]);
        for (level, idx, h) in frontier.push(leaf) {
            nodes.push(vec![
                Val::Int(level as i64),
                Val::Int(idx as i64),
                Val::Blob(h.to_vec()),
            ]);
        }
        // Lists index one row per viewer, person and day (`lists`); everything else each name.
        if entry.action == Action::List && seq >= thin_from {
            let names = lists::distinct(&entry.subjects);
            for s in lists::firsts(c, seq, entry.at, entry.actor_id, &names)? {
                subjects.push((s, seq));
            }
        } else {
            for s in lists::distinct(&entry.subjects) {
                subjects.push((s.to_string(), seq));
            }
        }
        rows.push(vec![
            Val::Int(seq as i64),
            entry.street_id.into(),
            Val::Int(entry.at),
            entry.actor_id.into(),
            entry.action.as_str().into(),
            Val::Text(body),
            Val::Blob(leaf.to_vec()),
        ]);
        seqs.push(seq);
    }
    c.insert_many(
        "audit_entries",
        &[
            "seq",
            "street_id",
            "at",
            "actor_id",
            "action",
            "body",
            "leaf_hash",
        ],
        &rows,
    )?;
    c.insert_many("audit_nodes", &["level", "idx", "hash"], &nodes)?;
    Ok((seqs, frontier, subjects))
}

/// Writes subject index rows (sorted, so a batch touches each index page once) and, when the
/// index was complete up to `from`, records it as complete up to the log's end.
pub fn index_subjects(c: &mut dyn Conn, mut rows: SubjectRows, from: u64) -> Result<()> {
    rows.sort_unstable();
    let vals: Vec<Vec<Val>> = rows
        .into_iter()
        .map(|(s, seq)| vec![Val::Text(s), Val::Int(seq as i64)])
        .collect();
    c.insert_many_ignore("audit_subjects", &["subject", "seq"], &vals)?;
    let done = indexed_upto(c)?;
    if done >= from {
        let n = size(c)?;
        crate::store::set_meta(c, "audit_indexed", &n.to_string())?;
    }
    Ok(())
}

/// Entries below this sequence number have their subjects indexed.
pub fn indexed_upto(c: &mut dyn Conn) -> Result<u64> {
    Ok(crate::store::meta(c, "audit_indexed")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Indexes the subjects of entries appended after the index's end (after a crash, say):
/// they are read back from the entries themselves.
pub fn catch_up_index(c: &mut dyn Conn) -> Result<u64> {
    // Not beside another process's append: its entries are indexed in its transaction.
    lock_log(c)?;
    let from = indexed_upto(c)?;
    let n = size(c)?;
    if from >= n {
        return Ok(0);
    }
    let thin_from = lists::thin_from(c)?;
    let mut rows = Vec::new();
    for r in c.query(
        "SELECT seq, body FROM audit_entries WHERE seq >= $1 ORDER BY seq",
        params![from as i64],
    )? {
        if let Ok(e) = serde_json::from_str::<Entry>(&r.str(1)) {
            let seq = r.i64(0) as u64;
            if e.action == Action::List && seq >= thin_from {
                rows.extend(lists::marked(c, &e)?.into_iter().map(|s| (s, seq)));
            } else {
                rows.extend(
                    lists::distinct(&e.subjects)
                        .iter()
                        .map(|s| (s.to_string(), seq)),
                );
            }
        }
    }
    let done = n - from;
    crate::store::set_meta(c, "audit_indexed", &from.to_string())?;
    index_subjects(c, rows, from)?;
    Ok(done)
}

/// The first entry appended at or after `t` (unix ms), found by bisection on the sequence,
/// along which times only grow (to within the moment between stamping and appending).
pub fn first_seq_since(c: &mut dyn Conn, t: i64) -> Result<u64> {
    let (mut lo, mut hi) = (0u64, size(c)?);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let at = c
            .query_opt(
                "SELECT at FROM audit_entries WHERE seq = $1",
                params![mid as i64],
            )?
            .map(|r| r.i64(0))
            .unwrap_or(i64::MAX);
        if at < t {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// The Ed25519 key that signs tree heads, kept beside the field key.
#[derive(Clone)]
pub struct LogKey {
    signing: SigningKey,
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogKey({})", self.key_id())
    }
}

impl LogKey {
    pub fn load_or_create(
        keys_dir: &Path,
    ) -> std::result::Result<LogKey, crate::store::keys::KeyError> {
        LogKey::load(keys_dir, None)
    }

    /// Loads `log.key` (see [`crate::store::keys::load_or_create_key`]: created at first
    /// start, wrapped when a passphrase is given, unwrapped with it).
    pub fn load(
        keys_dir: &Path,
        passphrase: Option<&str>,
    ) -> std::result::Result<LogKey, crate::store::keys::KeyError> {
        let raw = crate::store::keys::load_or_create_key(keys_dir, "log.key", 32, passphrase)?;
        let raw: [u8; 32] = raw.try_into().expect("32 bytes, checked by the loader");
        Ok(LogKey {
            signing: SigningKey::from_bytes(&raw),
        })
    }

    pub fn from_bytes(raw: &[u8; 32]) -> LogKey {
        LogKey {
            signing: SigningKey::from_bytes(raw),
        }
    }

    pub fn public(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub fn key_id(&self) -> String {
        key_id(&self.public())
    }
}

pub fn key_id(k: &VerifyingKey) -> String {
    hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(k.as_bytes())[..4])
}

/// The bytes a tree head signature covers.
pub fn head_message(size: u64, root: &Hash, at: i64) -> Vec<u8> {
    format!(
        "linli audit log tree head v1\n{size}\n{}\n{at}\n",
        base64::engine::general_purpose::STANDARD.encode(root)
    )
    .into_bytes()
}

/// A signed tree head.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Head {
    pub size: u64,
    /// Base64 of the root hash.
    pub root: String,
    /// Unix milliseconds.
    pub at: i64,
    pub key_id: String,
    /// Base64 Ed25519 signature over the head message.
    pub signature: String,
}

impl Head {
    pub fn root_hash(&self) -> Option<Hash> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.root)
            .ok()
            .and_then(|v| v.try_into().ok())
    }

    pub fn verify(&self, key: &VerifyingKey) -> bool {
        let (Some(root), Ok(sig)) = (
            self.root_hash(),
            base64::engine::general_purpose::STANDARD.decode(&self.signature),
        ) else {
            return false;
        };
        let Ok(sig) = ed25519_dalek::Signature::from_slice(&sig) else {
            return false;
        };
        key.verify(&head_message(self.size, &root, self.at), &sig)
            .is_ok()
    }

    /// The head as a checkpoint a witness can keep (after the C2SP signed-note layout).
    pub fn checkpoint(&self, key: &VerifyingKey) -> String {
        format!(
            "linli audit log\n{}\n{}\n{}\n\n— linli-{} {}\npublic key: {}\n",
            self.size,
            self.root,
            self.at,
            self.key_id,
            self.signature,
            base64::engine::general_purpose::STANDARD.encode(key.as_bytes())
        )
    }
}

/// Reads the checkpoints in `text` (one, or many appended one after another as a witness file
/// keeps them), in the layout [`Head::checkpoint`] writes. Signatures are not checked here.
pub fn parse_checkpoints(text: &str) -> std::result::Result<Vec<Head>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() != "linli audit log" {
            i += 1;
            continue;
        }
        let line = |k: usize| lines.get(i + k).map(|l| l.trim()).unwrap_or("");
        let bad = |what: &str| format!("checkpoint at line {}: {what}", i + 1);
        let size = line(1).parse::<u64>().map_err(|_| bad("no tree size"))?;
        let root = line(2).to_string();
        let at = line(3).parse::<i64>().map_err(|_| bad("no time"))?;
        let sig_line = line(5);
        let rest = sig_line
            .strip_prefix("— linli-")
            .ok_or_else(|| bad("no signature line"))?;
        let (key_id, signature) = rest.split_once(' ').ok_or_else(|| bad("no signature"))?;
        let head = Head {
            size,
            root,
            at,
            key_id: key_id.to_string(),
            signature: signature.trim().to_string(),
        };
        if head.root_hash().is_none() {
            return Err(bad("the root is not a base64 SHA-256 hash"));
        }
        out.push(head);
        i += 6;
    }
    Ok(out)
}

fn head_from(r: &crate::store::Row) -> Head {
    let b64 = base64::engine::general_purpose::STANDARD;
    Head {
        size: r.i64(0) as u64,
        root: b64.encode(r.blob(1).unwrap_or_default()),
        at: r.i64(2),
        key_id: r.str(3),
        signature: b64.encode(r.blob(4).unwrap_or_default()),
    }
}

pub fn latest_head(c: &mut dyn Conn) -> Result<Option<Head>> {
    Ok(c.query_opt(
        "SELECT size, root, at, key_id, signature FROM audit_heads ORDER BY size DESC LIMIT 1",
        &[],
    )?
    .map(|r| head_from(&r)))
}

pub fn heads(c: &mut dyn Conn) -> Result<Vec<Head>> {
    Ok(c.query(
        "SELECT size, root, at, key_id, signature FROM audit_heads ORDER BY size",
        &[],
    )?
    .iter()
    .map(head_from)
    .collect())
}

/// Heads of more than `size` entries, oldest first, at most `limit`.
pub fn heads_after(c: &mut dyn Conn, size: u64, limit: i64) -> Result<Vec<Head>> {
    Ok(c.query(
        "SELECT size, root, at, key_id, signature FROM audit_heads WHERE size > $1 ORDER BY size LIMIT $2",
        params![size as i64, limit],
    )?
    .iter()
    .map(head_from)
    .collect())
}

/// Signs a head over the whole log if it has grown since the last one; returns the newest
/// head (none while the log is empty).
pub fn sign_head(c: &mut dyn Conn, key: &LogKey) -> Result<Option<Head>> {
    lock_log(c)?;
    let n = size(c)?;
    let last = latest_head(c)?;
    if n == 0 || last.as_ref().is_some_and(|h| h.size >= n) {
        return Ok(last);
    }
    let root = Frontier::load(&mut DbNodes(c), n)?.root();
    let at = now_ms();
    let sig = key.signing.sign(&head_message(n, &root, at));
    c.exec(
        "INSERT INTO audit_heads (size, root, at, key_id, signature) VALUES ($1, $2, $3, $4, $5)",
        params![
            n as i64,
            root.to_vec(),
            at,
            key.key_id(),
            sig.to_bytes().to_vec()
        ],
    )?;
    latest_head(c)
}

/// One line of "who looked at my data".
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Access {
    pub seq: u64,
    /// Unix milliseconds.
    pub at: i64,
    pub role: String,
    pub org: Option<String>,
    pub action: Action,
    pub purpose: Option<String>,
    /// The resident's own access.
    pub by_self: bool,
}

/// Which of a resident's accesses to list: of these kinds (none: all), older than `before`
/// (the `seq` of the last one already shown), at most `limit`.
#[derive(Clone, Debug, Default)]
pub struct AccessQuery {
    pub kinds: Vec<Action>,
    pub before: Option<u64>,
    pub limit: i64,
}

/// One page of accesses, newest first, and where the next (older) one starts.
#[derive(Clone, Debug, Default)]
pub struct AccessPage {
    pub entries: Vec<Access>,
    /// Pass as `before` for the next page; none when this page reaches the oldest.
    pub next_before: Option<u64>,
}

/// How many accesses of one kind.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AccessCount {
    pub kind: Action,
    pub count: i64,
}

fn subject_marks(subjects: &[String], p: &mut Vec<Val>) -> String {
    let marks: Vec<String> = subjects
        .iter()
        .map(|s| {
            p.push(Val::Text(s.clone()));
            format!("${}", p.len())
        })
        .collect();
    marks.join(", ")
}

/// Accesses to any of `subjects`, newest first, a page at a time: keyset paging on the
/// subject index (`seq < before`), never an offset over the whole history.
pub fn accesses(
    c: &mut dyn Conn,
    subjects: &[String],
    self_user: i64,
    q: &AccessQuery,
) -> Result<AccessPage> {
    if subjects.is_empty() {
        return Ok(AccessPage::default());
    }
    let mut p: Vec<Val> = Vec::new();
    let mut sql = format!(
        "SELECT DISTINCT e.seq, e.body FROM audit_subjects s JOIN audit_entries e ON e.seq = s.seq \
         WHERE s.subject IN ({})",
        subject_marks(subjects, &mut p)
    );
    if let Some(b) = q.before {
        p.push(Val::Int(b as i64));
        sql.push_str(&format!(" AND s.seq < ${}", p.len()));
    }
    if !q.kinds.is_empty() {
        let marks: Vec<String> = q
            .kinds
            .iter()
            .map(|k| {
                p.push(Val::Text(k.as_str().into()));
                format!("${}", p.len())
            })
            .collect();
        sql.push_str(&format!(" AND e.action IN ({})", marks.join(", ")));
    }
    let limit = q.limit.clamp(1, 500);
    p.push(Val::Int(limit + 1));
    sql.push_str(&format!(" ORDER BY e.seq DESC LIMIT ${}", p.len()));
    let rows = c.query(&sql, &p)?;
    let more = rows.len() as i64 > limit;
    let entries: Vec<Access> = rows
        .iter()
        .take(limit as usize)
        .filter_map(|r| serde_json::from_str::<Entry>(&r.str(1)).ok())
        .map(|e| Access {
            seq: e.seq,
            at: e.at,
            by_self: e.actor_id == Some(self_user),
            role: e.role,
            org: e.org,
            action: e.action,
            purpose: e.purpose,
        })
        .collect();
    let next_before = if more {
        entries.last().map(|a| a.seq)
    } else {
        None
    };
    Ok(AccessPage {
        entries,
        next_before,
    })
}

/// How many accesses to any of `subjects` there are of each kind, over the whole history.
pub fn access_counts(c: &mut dyn Conn, subjects: &[String]) -> Result<Vec<AccessCount>> {
    if subjects.is_empty() {
        return Ok(Vec::new());
    }
    let mut p: Vec<Val> = Vec::new();
    let sql = format!(
        "SELECT e.action, COUNT(DISTINCT e.seq) FROM audit_subjects s \
         JOIN audit_entries e ON e.seq = s.seq WHERE s.subject IN ({}) GROUP BY e.action",
        subject_marks(subjects, &mut p)
    );
    let mut out: Vec<AccessCount> = c
        .query(&sql, &p)?
        .iter()
        .filter_map(|r| {
            Some(AccessCount {
                kind: Action::parse(&r.str(0))?,
                count: r.i64(1),
            })
        })
        .collect();
    // The kinds a resident must not miss first, then by the order of `Action::ALL`.
    out.sort_by_key(|k| {
        (
            !k.kind.is_sensitive(),
            Action::ALL.iter().position(|a| *a == k.kind),
        )
    });
    Ok(out)
}

/// One entry by its sequence number.
pub fn entry(c: &mut dyn Conn, seq: u64) -> Result<Option<(String, Hash)>> {
    Ok(c.query_opt(
        "SELECT body, leaf_hash FROM audit_entries WHERE seq = $1",
        params![seq as i64],
    )?
    .and_then(|r| Some((r.str(0), <Hash>::try_from(r.blob(1)?.as_slice()).ok()?))))
}
