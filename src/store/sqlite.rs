//! SQLite through rusqlite: WAL, foreign keys on, one writer, a few readers.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};

use super::{Backend, Conn, Result, Row, StoreError, Val};

/// Readers open at most at once: more than the cores only adds memory and contention.
pub const MAX_READERS: usize = 4;

/// Write closures queued for the one writer at most: they share its commits (group commit).
pub const MAX_WRITERS: usize = 64;

pub struct SqlitePool {
    checkpointer: Checkpointer,
    path: std::path::PathBuf,
    writer: Mutex<Writer>,
    /// Threads waiting for the writer: while there are some, the open transaction is left
    /// for the last of them to commit (group commit).
    queued: AtomicUsize,
    /// Signalled after every commit (or failed commit) of a group.
    committed: Condvar,
    readers: Mutex<Readers>,
    freed: Condvar,
    busy_readers: AtomicUsize,
}

/// Copies the WAL back into the database beside the writer (a passive checkpoint never
/// waits for readers or the writer), so commits are not stalled by it; stops when the pool
/// is dropped or closed.
struct Checkpointer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::Thread>,
}

/// How often the checkpointer looks at the WAL.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// The WAL file is cut back to nothing once it passes this size. A passive checkpoint copies
/// the WAL into the database but never shrinks the file, so under steady load it stayed at its
/// high-water mark (2.8× the database in one run) for as long as linli served.
pub const WAL_BOUND: u64 = 64 << 20;

/// How long a truncating checkpoint may wait for readers and the writer before it gives up and
/// tries again on a later pass: writers wait for it meanwhile, so it is kept short.
const TRUNCATE_WAIT_MS: u32 = 50;

impl Checkpointer {
    fn start(path: &Path, bound: u64) -> Result<Checkpointer> {
        let conn = open_conn(path, false, 1024)?;
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let wal = std::path::PathBuf::from(wal);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("linli-checkpoint".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::park_timeout(CHECKPOINT_EVERY);
                    if flag.load(Ordering::Relaxed) {
                        break;
                    }
                    if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE);") {
                        tracing::warn!(error = %e, "WAL checkpoint failed; will try again");
                    }
                    let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
                    if size > bound {
                        truncate_wal(&conn, size);
                    }
                }
            })
            .map_err(|e| StoreError::Open(format!("checkpoint thread: {e}")))?;
        Ok(Checkpointer {
            stop,
            thread: Some(handle.thread().clone()),
        })
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = &self.thread {
            t.unpark();
        }
    }
}

/// Checkpoints the whole WAL and truncates its file, waiting at most [`TRUNCATE_WAIT_MS`] for
/// readers on older snapshots and for the writer; when they are still busy, the file stays as it
/// is until the next pass (SQLITE_BUSY is not a failure here).
fn truncate_wal(conn: &Connection, size: u64) {
    let _ = conn.busy_timeout(std::time::Duration::from_millis(TRUNCATE_WAIT_MS.into()));
    let r = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE);", [], |r| {
        r.get::<_, i64>(0)
    });
    let _ = conn.busy_timeout(std::time::Duration::from_millis(5000));
    match r {
        Ok(0) => tracing::debug!(bytes = size, "WAL truncated"),
        Ok(_) => tracing::debug!(bytes = size, "WAL truncation deferred: busy"),
        Err(e) => tracing::warn!(error = %e, "WAL truncation failed; will try again"),
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Closures committed together at most; a group also closes when it is this old.
const GROUP_MAX: usize = 256;
const GROUP_AGE: std::time::Duration = std::time::Duration::from_millis(20);

/// The one write connection and the group of closures its open transaction holds.
///
/// Every write closure runs inside a savepoint of a shared transaction: a closure that fails
/// rolls back only its own work. The transaction commits when no other thread waits for the
/// writer (or the group is full or old), and every closure of the group is answered only
/// after that commit, so an acknowledged write is as durable as before while concurrent
/// writers share one commit.
struct Writer {
    conn: Connection,
    /// The open group: its number, its closures, when it began.
    open: Option<(u64, usize, std::time::Instant)>,
    /// Groups numbered so far; the last one committed (or failed).
    groups: u64,
    done: u64,
    /// Recent groups whose commit failed, with the reason.
    failed: std::collections::VecDeque<(u64, String)>,
}

impl Writer {
    /// Commits the open group (rolls it back when the connection left the transaction), and
    /// records the outcome for the closures waiting on it.
    fn finish(&mut self) -> std::result::Result<(), String> {
        let Some((g, _, _)) = self.open.take() else {
            return Ok(());
        };
        let res = if self.conn.is_autocommit() {
            Err("the transaction was rolled back by the database".to_string())
        } else {
            self.conn.execute_batch("COMMIT").map_err(|e| {
                let _ = self.conn.execute_batch("ROLLBACK");
                e.to_string()
            })
        };
        self.done = g;
        if let Err(e) = &res {
            self.failed.push_back((g, e.clone()));
            if self.failed.len() > 64 {
                self.failed.pop_front();
            }
        }
        res
    }

    fn outcome(&self, g: u64) -> Result<()> {
        match self.failed.iter().find(|(n, _)| *n == g) {
            Some((_, e)) => Err(StoreError::Db(format!("commit failed: {e}"))),
            None => Ok(()),
        }
    }
}

#[derive(Default)]
struct Readers {
    idle: Vec<Connection>,
    open: usize,
}

fn open_conn(path: &Path, create: bool, cache_kib: i64) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
    // Temporary storage stays SQLite's default (files): a sort or grouping larger than the
    // cache spills to disk instead of growing in memory (a housekeeping pass grouping
    // millions of readings took hundreds of megabytes with temp_store = MEMORY); smaller
    // ones never touch a file.
    // WAL lets readers run beside the writer. synchronous=NORMAL in WAL mode keeps every
    // committed transaction across a process crash (kill -9); only an OS crash or power
    // loss can lose the last commits.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA wal_autocheckpoint = 4000;",
    )
    .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
    conn.execute_batch(&format!("PRAGMA cache_size = -{cache_kib};"))
        .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
    // Query-planner stability: without it SQLite re-prepares a cached statement whenever a
    // bound value (a LIMIT, a path range) might change the plan, which cost the list
    // endpoints a sixth of their CPU.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// A reader: query-only, so a write sent to a reader by mistake fails at once instead of
/// racing the one writer for the database's write lock.
fn open_reader(path: &Path) -> Result<Connection> {
    let conn = open_conn(path, false, 4096)?;
    conn.execute_batch("PRAGMA query_only = ON;")
        .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
    Ok(conn)
}

/// Bytes of a savepoint's journal kept in memory before it spills to a temporary file. Also
/// the size of the one block it is kept in, which a spill writes in one call: SQLite's unix
/// file layer writes at most 128 KiB - 1 per call (it masks the length), and a larger block
/// fails the spill with SQLITE_FULL. So: under 128 KiB.
const STMT_JOURNAL_IN_MEMORY: std::ffi::c_int = 120 << 10;

/// Configures SQLite before its first use: memory statistics off (with them on, every
/// allocation of every connection takes one process-wide mutex, which the readers and the
/// writer then queue on; linli never reads them), savepoint journals kept in memory longer.
fn configure_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config is called before any connection is opened by this process
        // (the Once runs ahead of the first open); should SQLite be initialised already it
        // returns SQLITE_MISUSE and changes nothing, which is harmless.
        let rc =
            unsafe { rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0) };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(rc, "SQLite memory statistics stay on");
        }
        // Each write of a group commit runs in a savepoint, whose journal (the pages it
        // changed, as they were) SQLite keeps in memory up to 64 KiB and then writes to a
        // temporary file. Opening a case often changes more (nine indexes, its event, the
        // inbox rows), and those went to the file: 7% of intake's CPU in write(2), 1% with
        // 120 KiB in memory. A larger write still spills.
        // SAFETY: as above, before any connection is opened.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_STMTJRNL_SPILL,
                STMT_JOURNAL_IN_MEMORY,
            )
        };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(rc, "SQLite savepoint journals spill at 64 KiB");
        }
    });
}

impl SqlitePool {
    pub fn open(path: &Path) -> Result<SqlitePool> {
        Self::open_bounded(path, WAL_BOUND)
    }

    /// Opens with a WAL bound of its own (tests use a small one).
    pub fn open_bounded(path: &Path, wal_bound: u64) -> Result<SqlitePool> {
        configure_once();
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.exists()
        {
            return Err(StoreError::Open(format!(
                "folder {} does not exist",
                dir.display()
            )));
        }
        // The database, its WAL and its shared-memory file: private (0600) when created, and
        // narrowed if an older linli created them under a lax umask.
        super::files::touch_private(path)
            .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
        let writer = open_conn(path, true, 8192)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut f = path.as_os_str().to_owned();
            f.push(suffix);
            super::files::narrow(Path::new(&f))
                .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
        }
        // The writer never checkpoints on commit (that copies the WAL into the database and
        // syncs both files, stalling every write behind it); a thread of its own does it.
        writer
            .execute_batch("PRAGMA wal_autocheckpoint = 0;")
            .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
        let checkpointer = Checkpointer::start(path, wal_bound)?;
        Ok(SqlitePool {
            checkpointer,
            path: path.to_path_buf(),
            writer: Mutex::new(Writer {
                conn: writer,
                open: None,
                groups: 0,
                done: 0,
                failed: Default::default(),
            }),
            queued: AtomicUsize::new(0),
            committed: Condvar::new(),
            readers: Mutex::new(Readers::default()),
            freed: Condvar::new(),
            busy_readers: Default::default(),
        })
    }

    pub fn read<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        let conn = {
            let mut r = self.readers.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(c) = r.idle.pop() {
                    break Some(c);
                }
                if r.open < MAX_READERS {
                    r.open += 1;
                    break None;
                }
                r = self.freed.wait(r).unwrap_or_else(|e| e.into_inner());
            }
        };
        let conn = match conn {
            Some(c) => c,
            None => match open_reader(&self.path) {
                Ok(c) => c,
                Err(e) => {
                    self.release(None);
                    return Err(e);
                }
            },
        };
        self.busy_readers.fetch_add(1, Ordering::Relaxed);
        let out = f(&mut SqliteConn(&conn));
        self.busy_readers.fetch_sub(1, Ordering::Relaxed);
        // A reader left inside a transaction by a failed closure is not reused.
        self.release(conn.is_autocommit().then_some(conn));
        out
    }

    fn release(&self, conn: Option<Connection>) {
        let mut r = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        match conn {
            Some(c) => r.idle.push(c),
            None => r.open -= 1,
        }
        drop(r);
        self.freed.notify_one();
    }

    /// Runs `f` in its own savepoint of the group's transaction and returns once the group
    /// committed (see [`Writer`]). `f`'s error (or panic) rolls back only `f`'s work.
    pub fn write<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.queued.fetch_sub(1, Ordering::SeqCst);
        // The first closure of a group runs without a savepoint: should it fail, the whole
        // transaction (its work only) is rolled back.
        let first = w.open.is_none();
        if first {
            w.conn.execute_batch("BEGIN IMMEDIATE").map_err(map_err)?;
            w.groups += 1;
            w.open = Some((w.groups, 0, std::time::Instant::now()));
        }
        let group = w.groups;
        let begun = if first {
            Ok(())
        } else {
            w.conn.execute_batch("SAVEPOINT linli_w")
        };
        let out = match begun {
            Err(e) => Ok(Err(map_err(e))),
            Ok(()) => {
                let conn = &w.conn;
                let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    f(&mut SqliteConn(conn))
                }));
                let failed = !matches!(out, Ok(Ok(_)));
                let end = match (first, failed) {
                    (true, false) => None,
                    (true, true) => Some("ROLLBACK"),
                    (false, false) => Some("RELEASE linli_w"),
                    (false, true) => Some("ROLLBACK TO linli_w; RELEASE linli_w"),
                };
                // When the savepoint is gone SQLite rolled the whole transaction back;
                // `finish` then reports it to every closure of the group.
                if let Some(end) = end {
                    let _ = conn.execute_batch(end);
                }
                out
            }
        };
        if let Some((_, n, _)) = w.open.as_mut() {
            *n += 1;
        }
        let full = w
            .open
            .is_some_and(|(_, n, t)| n >= GROUP_MAX || t.elapsed() >= GROUP_AGE);
        let out = if full || self.queued.load(Ordering::SeqCst) == 0 || w.conn.is_autocommit() {
            let res = w.finish();
            drop(w);
            self.committed.notify_all();
            match (out, res) {
                (Ok(Ok(v)), Ok(())) => Ok(Ok(v)),
                (Ok(Ok(_)), Err(e)) => Ok(Err(StoreError::Db(format!("commit failed: {e}")))),
                (other, _) => other,
            }
        } else {
            match out {
                // Another thread waits for the writer: it (or the last of them) commits the
                // group, and this closure's write is acknowledged only then.
                Ok(Ok(v)) => {
                    let w = self
                        .committed
                        .wait_while(w, |w| w.done < group)
                        .unwrap_or_else(|e| e.into_inner());
                    Ok(w.outcome(group).map(|()| v))
                }
                other => other,
            }
        };
        match out {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    pub fn stats(&self) -> (usize, usize) {
        let idle = self.readers.lock().map(|r| r.idle.len()).unwrap_or(0) + 1;
        let busy = self.busy_readers.load(Ordering::Relaxed);
        (idle, busy)
    }

    pub fn close(&self) {
        self.checkpointer.stop();
        let mut r = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        r.open -= r.idle.len();
        r.idle.clear();
        drop(r);
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let _ = w.finish();
        self.committed.notify_all();
        let conn = &w.conn;
        // Fold the WAL back into the main file so the folder can be copied as one file.
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    }
}

fn map_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        match f.code {
            rusqlite::ErrorCode::ConstraintViolation
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                let what = msg
                    .as_deref()
                    .and_then(|m| m.strip_prefix("UNIQUE constraint failed: "))
                    .unwrap_or("key");
                return StoreError::Conflict(what.to_string());
            }
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                return StoreError::Busy;
            }
            _ => {}
        }
    }
    StoreError::Db(e.to_string())
}

struct SqliteConn<'a>(&'a Connection);

/// `$1` → `?1`: numbered parameters bind by number in SQLite whatever their order.
fn translate(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains('$') {
        return std::borrow::Cow::Borrowed(sql);
    }
    std::borrow::Cow::Owned(sql.replace('$', "?"))
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Val::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Val::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn from_ref(v: ValueRef<'_>) -> Val {
    match v {
        ValueRef::Null => Val::Null,
        ValueRef::Integer(i) => Val::Int(i),
        ValueRef::Real(f) => Val::Real(f),
        ValueRef::Text(t) => Val::Text(match std::str::from_utf8(t) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(t).into_owned(),
        }),
        ValueRef::Blob(b) => Val::Blob(b.to_vec()),
    }
}

impl Conn for SqliteConn<'_> {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let mut stmt = self.0.prepare_cached(&translate(sql)).map_err(map_err)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter()))
            .map_err(map_err)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let mut stmt = self.0.prepare_cached(&translate(sql)).map_err(map_err)?;
        let ncol = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter()))
            .map_err(map_err)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(map_err)? {
            let mut vals = Vec::with_capacity(ncol);
            for i in 0..ncol {
                vals.push(from_ref(r.get_ref(i).map_err(map_err)?));
            }
            out.push(Row(vals));
        }
        Ok(out)
    }

    fn insert_rows(
        &mut self,
        table: &str,
        cols: &[&str],
        rows: &[Vec<Val>],
        suffix: &str,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES ({}){suffix}",
            cols.join(", "),
            marks.join(", ")
        );
        let mut stmt = self.0.prepare_cached(&sql).map_err(map_err)?;
        for row in rows {
            stmt.execute(rusqlite::params_from_iter(row.iter()))
                .map_err(map_err)?;
        }
        Ok(())
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.0.execute_batch(sql).map_err(map_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params;
    use std::sync::Arc;

    fn pool() -> (tempfile::TempDir, Arc<SqlitePool>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let pool = SqlitePool::open(&dir.path().join("t.db")).expect("open");
        pool.write(|c| {
            c.batch("CREATE TABLE t (id INTEGER PRIMARY KEY, n BIGINT NOT NULL UNIQUE)")
        })
        .expect("table");
        (dir, Arc::new(pool))
    }

    fn count(p: &SqlitePool) -> i64 {
        p.read(|c| c.query_i64("SELECT COUNT(*) FROM t", &[]))
            .expect("count")
    }

    /// Concurrent writers share commits; each closure's work lands exactly when it returned
    /// `Ok`, and a failing closure takes nothing of the others' work with it.
    #[test]
    fn group_commit_keeps_each_closure_atomic() {
        let (_dir, pool) = pool();
        let threads: Vec<_> = (0..16i64)
            .map(|t| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let mut ok = 0;
                    for i in 0..100i64 {
                        let n = t * 1000 + i;
                        let r = pool.write(|c| {
                            c.exec("INSERT INTO t (n) VALUES ($1)", params![n])?;
                            c.exec("INSERT INTO t (n) VALUES ($1)", params![n + 500])?;
                            if i % 7 == 0 {
                                // Fails after writing: both rows must go.
                                return Err(StoreError::Db("refused".into()));
                            }
                            Ok(())
                        });
                        if r.is_ok() {
                            ok += 1;
                        }
                    }
                    ok
                })
            })
            .collect();
        let ok: i64 = threads.into_iter().map(|t| t.join().expect("thread")).sum();
        assert_eq!(ok, 16 * (100 - 15));
        assert_eq!(count(&pool), 2 * ok);
        // A constraint error inside a closure rolls back only that closure.
        let dup = pool.write(|c| {
            c.exec("INSERT INTO t (n) VALUES ($1)", params![999_999])?;
            c.exec("INSERT INTO t (n) VALUES ($1)", params![1])
        });
        assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
        assert_eq!(count(&pool), 2 * ok);
    }

    /// A savepoint whose journal outgrows memory spills it to a file and still commits (with
    /// a spill block over 128 KiB, SQLite failed it with "database or disk is full").
    #[test]
    fn a_savepoint_journal_larger_than_memory_spills_and_commits() {
        let (_dir, pool) = pool();
        pool.write(|c| {
            c.batch("CREATE TABLE big (id INTEGER PRIMARY KEY, pad TEXT NOT NULL)")?;
            for i in 0..6000i64 {
                c.exec(
                    "INSERT INTO big (id, pad) VALUES ($1, $2)",
                    params![i, "a".repeat(1000)],
                )?;
            }
            Ok(())
        })
        .expect("filled");
        // About 6 MB of pages changed inside one savepoint: its journal holds them all.
        pool.write(|c| {
            c.batch("SAVEPOINT big_change")?;
            c.exec("UPDATE big SET pad = $1", params!["b".repeat(1000)])?;
            c.batch("RELEASE big_change")
        })
        .expect("a journal of megabytes spills and commits");
        let changed = pool
            .read(|c| c.query_i64("SELECT COUNT(*) FROM big WHERE pad LIKE 'b%'", &[]))
            .expect("read");
        assert_eq!(changed, 6000);
    }

    /// Issue 18, finding 15: the WAL grew to 2.8× the database under load and never shrank while
    /// serving. Past its bound, the checkpointer cuts the file back.
    #[test]
    fn the_wal_is_truncated_past_its_bound() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        let pool = SqlitePool::open_bounded(&path, 1 << 20).expect("open");
        pool.write(|c| {
            c.batch("CREATE TABLE big (id INTEGER PRIMARY KEY, pad TEXT NOT NULL)")?;
            for i in 0..4000i64 {
                c.exec(
                    "INSERT INTO big (id, pad) VALUES ($1, $2)",
                    params![i, "a".repeat(1000)],
                )?;
            }
            Ok(())
        })
        .expect("about 4 MB written");
        let wal = dir.path().join("t.db-wal");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut size = u64::MAX;
        while std::time::Instant::now() < deadline {
            size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
            if size <= 1 << 20 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(size <= 1 << 20, "the WAL stayed at {size} bytes");
        let n = pool
            .read(|c| c.query_i64("SELECT COUNT(*) FROM big", &[]))
            .expect("read");
        assert_eq!(n, 4000, "nothing lost by the truncation");
    }

    /// A closure that panics loses its own work only, and the writer keeps working.
    #[test]
    fn a_panicking_closure_rolls_back_alone() {
        let (_dir, pool) = pool();
        pool.write(|c| c.exec("INSERT INTO t (n) VALUES (1)", &[]))
            .expect("insert");
        let p = pool.clone();
        let panicked = std::thread::spawn(move || {
            let _ = p.write(|c| -> Result<()> {
                c.exec("INSERT INTO t (n) VALUES (2)", &[])?;
                panic!("a bug in a handler");
            });
        })
        .join();
        assert!(panicked.is_err());
        pool.write(|c| c.exec("INSERT INTO t (n) VALUES (3)", &[]))
            .expect("the writer still works");
        let ns = pool
            .read(|c| c.query("SELECT n FROM t ORDER BY n", &[]))
            .expect("read");
        let ns: Vec<i64> = ns.iter().map(|r| r.i64(0)).collect();
        assert_eq!(ns, vec![1, 3]);
    }
}
