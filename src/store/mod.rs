//! Storage: one portable store written against the small [`Conn`] trait, with one
//! implementation per backend. SQLite (the embedded default) is driven through rusqlite on a
//! blocking pool with a single writer, so hot paths pay no per-statement toll; PostgreSQL goes
//! through the `postgres` client with per-connection statement caches.
//!
//! SQL is written once, with `$1`-style placeholders, in the subset both backends share:
//! integers are BIGINT, times are unix milliseconds, booleans are 0/1.

pub mod files;
pub mod instances;
pub mod keys;
pub mod leases;
mod postgres;
pub mod runs;
mod sqlite;
mod value;

use crate::kernel::Code;
use crate::kernel::i18n::en_zh;
use std::path::Path;
use std::sync::Arc;

pub use value::{Row, Val};

/// The backend a URL selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}", en_zh("store.bad_url", &[("scheme", &format!("{:?}", .0))]))]
    BadUrl(String),
    #[error("cannot open the database: {0}")]
    Open(String),
    #[error("database error: {0}")]
    Db(String),
    #[error("a record with the same {0} already exists")]
    Conflict(String),
    #[error("the database is busy, try again")]
    Busy,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Unique constraints a person can run into, by the name each backend reports (SQLite names the
/// columns, `users.username`; PostgreSQL the constraint, `users_username_key`; a store function
/// may name it itself), with the message that tells her what to change. Any other conflict is
/// "already exists". Mapped here, once, instead of by sniffing message text where it surfaces.
const CONFLICTS: &[(&[&str], &str)] = &[
    (
        &["username", "users.username", "users_username_key"],
        "error.username_taken",
    ),
    (
        &[
            "organisations.street_id, organisations.code",
            "organisations_street_id_code_key",
        ],
        "setup.error.org_code_taken",
    ),
];

/// The message key for a conflict on `what` (a constraint or column list).
pub fn conflict_key(what: &str) -> &'static str {
    CONFLICTS
        .iter()
        .find(|(names, _)| names.contains(&what))
        .map(|(_, key)| *key)
        .unwrap_or("error.conflict")
}

impl From<StoreError> for crate::kernel::AppError {
    fn from(e: StoreError) -> Self {
        use crate::kernel::AppError;
        use axum::http::StatusCode;
        match e {
            StoreError::Conflict(what) => {
                AppError::new(StatusCode::CONFLICT, Code::Conflict, conflict_key(&what))
            }
            StoreError::Busy => {
                AppError::new(StatusCode::SERVICE_UNAVAILABLE, Code::Busy, "error.busy")
            }
            e => AppError::internal("storage failed", e),
        }
    }
}

/// One connection (or open transaction) that store functions run their SQL on.
pub trait Conn {
    fn backend(&self) -> Backend;
    /// Runs a statement and returns the number of rows changed.
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64>;
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>>;
    /// Inserts many rows into one table as fast as the backend allows
    /// (prepared statement on SQLite, multi-row VALUES on PostgreSQL).
    fn insert_many(&mut self, table: &str, cols: &[&str], rows: &[Vec<Val>]) -> Result<()> {
        self.insert_rows(table, cols, rows, "")
    }
    /// Like [`Conn::insert_many`], skipping rows whose key is already there.
    fn insert_many_ignore(&mut self, table: &str, cols: &[&str], rows: &[Vec<Val>]) -> Result<()> {
        self.insert_rows(table, cols, rows, " ON CONFLICT DO NOTHING")
    }
    /// The implementation of both: `suffix` follows the VALUES.
    fn insert_rows(
        &mut self,
        table: &str,
        cols: &[&str],
        rows: &[Vec<Val>],
        suffix: &str,
    ) -> Result<()>;
    /// Runs a script of several statements without parameters (migrations).
    fn batch(&mut self, sql: &str) -> Result<()>;

    fn query_opt(&mut self, sql: &str, params: &[Val]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
    fn query_one(&mut self, sql: &str, params: &[Val]) -> Result<Row> {
        self.query_opt(sql, params)?
            .ok_or_else(|| StoreError::Db("expected one row, got none".into()))
    }
    fn query_i64(&mut self, sql: &str, params: &[Val]) -> Result<i64> {
        Ok(self.query_one(sql, params)?.i64(0))
    }
    /// After rows were inserted with explicit ids, makes the table's id generator continue
    /// above them (PostgreSQL identity sequences do not follow explicit ids by themselves).
    fn sync_id_sequence(&mut self, table: &str) -> Result<()> {
        if self.backend() == Backend::Postgres {
            self.query(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
                ),
                &[],
            )?;
        }
        Ok(())
    }
}

/// Builds a parameter slice: `params![a, b]` → `&[Val::from(a), Val::from(b)]`.
#[macro_export]
macro_rules! params {
    () => { &[] as &[$crate::store::Val] };
    ($($v:expr),+ $(,)?) => { &[$($crate::store::Val::from($v)),+] as &[$crate::store::Val] };
}

enum Pool {
    Sqlite(sqlite::SqlitePool),
    Postgres(postgres::PgPool),
}

/// What [`Db::listen_blocking`] hands each notification to: `(channel, payload)`, or none
/// after a quiet while; false ends the listening.
pub type Listener<'a> = dyn FnMut(Option<(&str, &str)>) -> bool + 'a;

/// A handle to the database, cheap to clone. Work runs on tokio's blocking pool.
#[derive(Clone)]
pub struct Db {
    pool: Arc<Pool>,
    /// Admits only as many blocking tasks as there are connections to run them, so that a
    /// burst of requests waits here (cheaply) rather than parking blocking threads.
    readers: Arc<tokio::sync::Semaphore>,
    writers: Arc<tokio::sync::Semaphore>,
    /// Write transactions this process committed: a watcher of figures (the cockpit) reads
    /// them again only when something was written.
    writes: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never print it.
        write!(f, "Db({})", self.backend().as_str())
    }
}

impl Db {
    /// Opens the database a URL names: `sqlite://PATH` (or a bare path ending in .db/.sqlite)
    /// or `postgres://…`/`postgresql://…`. Anything else is refused.
    pub fn open(url: &str) -> Result<Db> {
        let pool = if let Some(rest) = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
        {
            let _ = rest;
            Pool::Postgres(postgres::PgPool::open(url)?)
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            Pool::Sqlite(sqlite::SqlitePool::open(Path::new(path))?)
        } else {
            let scheme = url.split("://").next().unwrap_or(url);
            return Err(StoreError::BadUrl(scheme.to_string()));
        };
        let (readers, writers) = match &pool {
            Pool::Sqlite(_) => (sqlite::MAX_READERS, sqlite::MAX_WRITERS),
            Pool::Postgres(_) => (postgres::MAX_CONNECTIONS, postgres::MAX_CONNECTIONS),
        };
        Ok(Db {
            pool: Arc::new(pool),
            readers: Arc::new(tokio::sync::Semaphore::new(readers)),
            writers: Arc::new(tokio::sync::Semaphore::new(writers)),
            writes: Arc::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        match &*self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs `f` on a read connection (blocking; call from a blocking thread or the CLI).
    pub fn read_blocking<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        match &*self.pool {
            Pool::Sqlite(p) => p.read(f),
            Pool::Postgres(p) => p.run(false, f),
        }
    }

    /// Runs `f` inside one write transaction, committed when `f` returns `Ok`.
    pub fn write_blocking<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        let out = match &*self.pool {
            Pool::Sqlite(p) => p.write(f),
            Pool::Postgres(p) => p.run(true, f),
        };
        if out.is_ok() {
            self.writes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        out
    }

    /// How many write transactions this process has committed (another process's writes to a
    /// shared PostgreSQL database are not counted).
    pub fn writes(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Like [`Db::write_blocking`] but lets `f` fail with any error type that can carry a
    /// store error; the transaction is rolled back on `Err`.
    pub fn write_tx_blocking<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut out: Option<std::result::Result<T, E>> = None;
        let res = self.write_blocking(|c| match f(c) {
            Ok(v) => {
                out = Some(Ok(v));
                Ok(())
            }
            Err(e) => {
                out = Some(Err(e));
                Err(StoreError::Db("rolled back".into()))
            }
        });
        match (res, out) {
            (_, Some(Err(e))) => Err(e),
            (Ok(()), Some(Ok(v))) => Ok(v),
            (Err(e), _) => Err(e.into()),
            (Ok(()), None) => unreachable!("closure always sets out"),
        }
    }

    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .readers
            .acquire()
            .await
            .map_err(|_| StoreError::Db("closed".into()))?;
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.read_blocking(f))
            .await
            .map_err(|e| StoreError::Db(format!("worker failed: {e}")))?
    }

    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .writers
            .acquire()
            .await
            .map_err(|_| StoreError::Db("closed".into()))?;
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.write_blocking(f))
            .await
            .map_err(|e| StoreError::Db(format!("worker failed: {e}")))?
    }

    pub async fn write_tx<T: Send + 'static, E: From<StoreError> + Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> std::result::Result<T, E> + Send + 'static,
    ) -> std::result::Result<T, E> {
        let _permit = self
            .writers
            .acquire()
            .await
            .map_err(|_| StoreError::Db("closed".into()))?;
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.write_tx_blocking(f))
            .await
            .map_err(|e| StoreError::Db(format!("worker failed: {e}")))?
    }

    /// Applies every compiled-in migration not yet applied; returns how many ran.
    pub fn migrate_blocking(&self) -> Result<usize> {
        let backend = self.backend();
        self.write_blocking(|c| {
            c.batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations \
                 (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            )
        })?;
        let mut ran = 0;
        for (version, name, sql) in migrations(backend) {
            let done = self.read_blocking(|c| {
                c.query_opt(
                    "SELECT version FROM schema_migrations WHERE version = $1",
                    params![*version],
                )
            })?;
            if done.is_some() {
                continue;
            }
            self.write_blocking(|c| {
                c.batch(sql)?;
                c.exec(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    params![*version, *name, now_ms()],
                )?;
                Ok(())
            })?;
            tracing::info!(version, name, "applied migration");
            ran += 1;
        }
        Ok(ran)
    }

    /// Whether several processes may share this database (PostgreSQL), so that what one
    /// process does in memory (live streams, leases) must be told to the others.
    pub fn shared(&self) -> bool {
        self.backend() == Backend::Postgres
    }

    /// PostgreSQL's LISTEN (blocking; on a thread of its own): see `PgPool::listen`. On
    /// SQLite there is no one else to hear from, and it returns at once.
    pub fn listen_blocking(
        &self,
        channels: &[&str],
        idle: std::time::Duration,
        on: &mut Listener<'_>,
    ) -> Result<()> {
        match &*self.pool {
            Pool::Sqlite(_) => Ok(()),
            Pool::Postgres(p) => p.listen(channels, idle, on),
        }
    }

    /// Idle and in-use connection counts, for `/metrics`.
    pub fn pool_stats(&self) -> (usize, usize) {
        match &*self.pool {
            Pool::Sqlite(p) => p.stats(),
            Pool::Postgres(p) => p.stats(),
        }
    }

    /// Flushes what can be flushed before the process exits.
    pub fn close(&self) {
        match &*self.pool {
            Pool::Sqlite(p) => p.close(),
            Pool::Postgres(p) => p.close(),
        }
    }
}

type Migration = (i64, &'static str, &'static str);

// SQLITE and POSTGRES: one entry per file of migrations/<backend>/, made by build.rs.
include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

fn migrations(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

/// Sends `payload` to the processes listening on `channel` (PostgreSQL's NOTIFY, delivered
/// when the caller's transaction commits; at most 8000 bytes). Nothing on SQLite.
pub fn notify(c: &mut dyn Conn, channel: &str, payload: &str) -> Result<()> {
    if c.backend() == Backend::Postgres {
        c.exec("SELECT pg_notify($1, $2)", params![channel, payload])?;
    }
    Ok(())
}

/// A value of the `meta` table (the database's own small settings and progress marks).
pub fn meta(c: &mut dyn Conn, key: &str) -> Result<Option<String>> {
    Ok(
        c.query_opt("SELECT value FROM meta WHERE key = $1", params![key])?
            .map(|r| r.str(0)),
    )
}

/// Sets a value of the `meta` table.
pub fn set_meta(c: &mut dyn Conn, key: &str, value: &str) -> Result<()> {
    c.exec(
        "INSERT INTO meta (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// One text per id, read in one query: `sql` selects `(id, text)` with `{}` where the id list
/// goes (`WHERE id IN ({})`). What another area's rows name by id (an organisation's name, an
/// account's username) without joining that area's table.
pub fn texts_by_id(
    c: &mut dyn Conn,
    sql: &str,
    ids: impl IntoIterator<Item = i64>,
) -> Result<std::collections::HashMap<i64, String>> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let p: Vec<Val> = ids.iter().map(|&i| Val::Int(i)).collect();
    Ok(c.query(&sql.replace("{}", &marks.join(", ")), &p)?
        .iter()
        .map(|r| (r.i64(0), r.str(1)))
        .collect())
}

/// A pattern for `LIKE $n ESCAPE '\'` matching text that contains `q` anywhere, with `%`, `_`
/// and `\` in `q` taken literally.
pub fn like_containing(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Unix time in milliseconds: the one time representation in storage.
pub use crate::kernel::time::now_ms;

/// A SQL condition that keeps rows whose `col` path is one of `paths` or lies under one,
/// with parameters numbered from `first`. Each path is one index range (`P` ≤ col < `P0`,
/// since '/' + 1 = '0') walked in path order on both backends; the `substr` test then drops
/// siblings that merely share the prefix (`…/1-30` vs `…/1-302`).
pub fn under_paths(col: &str, paths: &[String], first: usize, params: &mut Vec<Val>) -> String {
    if paths.is_empty() {
        return "1 = 0".to_string();
    }
    let mut parts = Vec::with_capacity(paths.len());
    for (i, p) in paths.iter().enumerate() {
        let n = first + i * 3;
        parts.push(format!(
            "({col} >= ${n} AND {col} < ${} AND ({col} = ${n} OR substr({col}, ${}, 1) = '/'))",
            n + 1,
            n + 2
        ));
        params.push(Val::Text(p.clone()));
        params.push(Val::Text(format!("{p}0")));
        params.push(Val::Int(p.chars().count() as i64 + 1));
    }
    if parts.len() == 1 {
        return parts.pop().unwrap_or_default();
    }
    format!("({})", parts.join(" OR "))
}
