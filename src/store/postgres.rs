//! PostgreSQL through the synchronous `postgres` client, pooled, with a statement cache per
//! connection so a repeated query is parsed once.

use std::collections::HashMap;
use std::error::Error;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::BytesMut;
use postgres::error::SqlState;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{GenericClient, NoTls, Statement};

use super::{Backend, Conn, Result, Row, StoreError, Val};

/// Connections kept and, through the async semaphore in `Db`, used at once.
pub const MAX_CONNECTIONS: usize = 16;
const MAX_IDLE: usize = MAX_CONNECTIONS;

struct PgClient {
    client: postgres::Client,
    stmts: HashMap<String, Statement>,
}

pub struct PgPool {
    config: postgres::Config,
    idle: Mutex<Vec<PgClient>>,
    busy: AtomicUsize,
}

impl PgPool {
    pub fn open(url: &str) -> Result<PgPool> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Open(format!("bad PostgreSQL URL: {e}")))?;
        let pool = PgPool {
            config,
            idle: Mutex::new(Vec::new()),
            busy: AtomicUsize::new(0),
        };
        // Connect once now so a wrong URL fails at start, not at the first request.
        let first = pool.connect()?;
        pool.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(first);
        Ok(pool)
    }

    fn connect(&self) -> Result<PgClient> {
        let client = self.config.connect(NoTls).map_err(|e| {
            StoreError::Open(format!("cannot connect to PostgreSQL: {}", describe(&e)))
        })?;
        Ok(PgClient {
            client,
            stmts: HashMap::new(),
        })
    }

    pub fn run<T>(&self, write: bool, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut pc = match pooled {
            Some(c) if !c.client.is_closed() => c,
            _ => self.connect()?,
        };
        self.busy.fetch_add(1, Ordering::Relaxed);
        let out = if write {
            match pc.client.transaction() {
                Ok(mut tx) => {
                    let r = f(&mut PgConn {
                        c: &mut tx,
                        stmts: &mut pc.stmts,
                    });
                    match r {
                        Ok(v) => tx.commit().map(|_| v).map_err(map_err),
                        Err(e) => Err(e), // dropping tx rolls back
                    }
                }
                Err(e) => Err(map_err(e)),
            }
        } else {
            f(&mut PgConn {
                c: &mut pc.client,
                stmts: &mut pc.stmts,
            })
        };
        self.busy.fetch_sub(1, Ordering::Relaxed);
        if !pc.client.is_closed() {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < MAX_IDLE {
                idle.push(pc);
            }
        }
        out
    }

    /// Listens on `channels` on a connection of its own (not the pool's) and hands every
    /// notification to `on` (channel, payload) as it arrives; `on` is also called with no
    /// notification at least every `idle`, and the listening ends when it answers false.
    /// Returns an error when the connection fails (the caller connects again).
    pub fn listen(
        &self,
        channels: &[&str],
        idle: std::time::Duration,
        on: &mut super::Listener<'_>,
    ) -> Result<()> {
        use postgres::fallible_iterator::FallibleIterator;
        let mut pc = self.connect()?;
        let sql: String = channels.iter().map(|c| format!("LISTEN {c};")).collect();
        let out = (|| {
            pc.client.batch_execute(&sql).map_err(map_err)?;
            loop {
                if !on(None) {
                    return Ok(());
                }
                {
                    let mut n = pc.client.notifications();
                    let mut it = n.timeout_iter(idle);
                    while let Some(m) = it.next().map_err(map_err)? {
                        if !on(Some((m.channel(), m.payload()))) {
                            return Ok(());
                        }
                    }
                }
                // Quiet for a while: make sure the connection still stands.
                pc.client.batch_execute("SELECT 1").map_err(map_err)?;
            }
        })();
        drop_clients(vec![pc]);
        out
    }

    pub fn stats(&self) -> (usize, usize) {
        let idle = self.idle.lock().map(|v| v.len()).unwrap_or(0);
        (idle, self.busy.load(Ordering::Relaxed))
    }

    pub fn close(&self) {
        let clients: Vec<PgClient> =
            std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        drop_clients(clients);
    }
}

impl Drop for PgPool {
    fn drop(&mut self) {
        self.close();
    }
}

/// Closing a synchronous client blocks on its own runtime, which panics inside an async
/// context; so clients are always closed on a plain thread of their own.
fn drop_clients(clients: Vec<PgClient>) {
    if clients.is_empty() {
        return;
    }
    let _ = std::thread::spawn(move || drop(clients)).join();
}

fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => match e.source() {
            Some(s) => s.to_string(),
            None => e.to_string(),
        },
    }
}

fn map_err(e: postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::UNIQUE_VIOLATION {
            return StoreError::Conflict(db.constraint().unwrap_or("key").to_string());
        }
        if *db.code() == SqlState::T_R_SERIALIZATION_FAILURE
            || *db.code() == SqlState::T_R_DEADLOCK_DETECTED
        {
            return StoreError::Busy;
        }
        return StoreError::Db(db.message().to_string());
    }
    StoreError::Db(describe(&e))
}

struct PgConn<'a, C: GenericClient> {
    c: &'a mut C,
    stmts: &'a mut HashMap<String, Statement>,
}

impl<C: GenericClient> PgConn<'_, C> {
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = self.c.prepare(sql).map_err(map_err)?;
        if self.stmts.len() > 256 {
            self.stmts.clear();
        }
        self.stmts.insert(sql.to_string(), s.clone());
        Ok(s)
    }
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Null => f.write_str("NULL"),
            Val::Int(v) => write!(f, "{v}"),
            Val::Real(v) => write!(f, "{v}"),
            Val::Text(s) => f.write_str(s),
            Val::Blob(b) => write!(f, "<{} bytes>", b.len()),
        }
    }
}

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(v) => match *ty {
                Type::INT2 => (*v as i16).to_sql(ty, out),
                Type::INT4 => (*v as i32).to_sql(ty, out),
                Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => v.to_string().to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Val::Real(v) => match *ty {
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                Type::INT8 => (*v as i64).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Val::Text(s) => match *ty {
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                _ => s.as_str().to_sql(ty, out),
            },
            Val::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn read_row(r: &postgres::Row) -> Result<Row> {
    let mut vals = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let ty = col.type_();
        let get_err = |e: postgres::Error| StoreError::Db(format!("column {}: {e}", col.name()));
        let v = match *ty {
            Type::INT8 => r
                .try_get::<_, Option<i64>>(i)
                .map_err(get_err)?
                .map(Val::Int),
            Type::INT4 => r
                .try_get::<_, Option<i32>>(i)
                .map_err(get_err)?
                .map(|v| Val::Int(v as i64)),
            Type::INT2 => r
                .try_get::<_, Option<i16>>(i)
                .map_err(get_err)?
                .map(|v| Val::Int(v as i64)),
            Type::BOOL => r
                .try_get::<_, Option<bool>>(i)
                .map_err(get_err)?
                .map(|v| Val::Int(v as i64)),
            Type::FLOAT8 => r
                .try_get::<_, Option<f64>>(i)
                .map_err(get_err)?
                .map(Val::Real),
            Type::FLOAT4 => r
                .try_get::<_, Option<f32>>(i)
                .map_err(get_err)?
                .map(|v| Val::Real(v as f64)),
            Type::BYTEA => r
                .try_get::<_, Option<Vec<u8>>>(i)
                .map_err(get_err)?
                .map(Val::Blob),
            _ => r
                .try_get::<_, Option<String>>(i)
                .map_err(get_err)?
                .map(Val::Text),
        };
        vals.push(v.unwrap_or(Val::Null));
    }
    Ok(Row(vals))
}

fn refs(params: &[Val]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl<C: GenericClient> Conn for PgConn<'_, C> {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let st = self.statement(sql)?;
        self.c.execute(&st, &refs(params)).map_err(map_err)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let st = self.statement(sql)?;
        let rows = self.c.query(&st, &refs(params)).map_err(map_err)?;
        rows.iter().map(read_row).collect()
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
        // PostgreSQL takes at most 65,535 parameters per statement.
        let per = (60_000 / cols.len().max(1)).clamp(1, 1000);
        for chunk in rows.chunks(per) {
            let mut sql = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
            let mut n = 1;
            for (ri, _) in chunk.iter().enumerate() {
                if ri > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for ci in 0..cols.len() {
                    if ci > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("${n}"));
                    n += 1;
                }
                sql.push(')');
            }
            sql.push_str(suffix);
            let flat: Vec<&(dyn ToSql + Sync)> = chunk
                .iter()
                .flat_map(|r| r.iter().map(|p| p as &(dyn ToSql + Sync)))
                .collect();
            // Full chunks repeat the same text, so the statement cache serves them.
            let st = self.statement(&sql)?;
            self.c.execute(&st, &flat).map_err(map_err)?;
        }
        Ok(())
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.c.batch_execute(sql).map_err(map_err)
    }
}
