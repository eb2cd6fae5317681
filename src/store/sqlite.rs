//! SQLite through rusqlite: WAL, foreign keys on, one writer, a few readers.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};

use super::{Backend, Conn, Result, Row, StoreError, Val};

/// Readers open at most at once: more than the cores only adds memory and contention.
pub const MAX_READERS: usize = 4;

pub struct SqlitePool {
    path: std::path::PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Readers>,
    freed: std::sync::Condvar,
    busy_readers: std::sync::atomic::AtomicUsize,
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
    // WAL lets readers run beside the writer. synchronous=NORMAL in WAL mode keeps every
    // committed transaction across a process crash (kill -9); only an OS crash or power
    // loss can lose the last commits.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA temp_store = MEMORY;
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

impl SqlitePool {
    pub fn open(path: &Path) -> Result<SqlitePool> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.exists()
        {
            return Err(StoreError::Open(format!(
                "folder {} does not exist",
                dir.display()
            )));
        }
        let writer = open_conn(path, true, 8192)?;
        Ok(SqlitePool {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Readers::default()),
            freed: std::sync::Condvar::new(),
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
            None => match open_conn(&self.path, false, 4096) {
                Ok(c) => c,
                Err(e) => {
                    self.release(None);
                    return Err(e);
                }
            },
        };
        self.busy_readers
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let out = f(&mut SqliteConn(&conn));
        self.busy_readers
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
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

    pub fn write<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_err)?;
        let out = f(&mut SqliteConn(&tx))?;
        tx.commit().map_err(map_err)?;
        Ok(out)
    }

    pub fn stats(&self) -> (usize, usize) {
        let idle = self.readers.lock().map(|r| r.idle.len()).unwrap_or(0) + 1;
        let busy = self.busy_readers.load(std::sync::atomic::Ordering::Relaxed);
        (idle, busy)
    }

    pub fn close(&self) {
        let mut r = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        r.open -= r.idle.len();
        r.idle.clear();
        drop(r);
        let conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
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
