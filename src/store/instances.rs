//! The linli processes using a database. Each announces itself under a random id when it
//! starts and every [`BEAT`] after; one that has not been seen for [`STALE_MS`] is taken to
//! have stopped (killed, crashed, or its machine gone), and work it left unfinished (an
//! import) is marked interrupted by whichever process notices first. Several processes may
//! share one PostgreSQL database, so a process's own restart says nothing about another's.

use std::time::Duration;

use crate::params;
use crate::store::{Conn, Result};

/// How often a running process says it is alive.
pub const BEAT: Duration = Duration::from_secs(30);
/// Unseen for this long, a process is taken to have stopped (three beats).
pub const STALE_MS: i64 = 90_000;
/// Rows of processes unseen for this long are removed.
const FORGET_MS: i64 = 86_400_000;

/// A fresh id for this process.
pub fn new_id() -> String {
    crate::kernel::ids::random_token("proc_")[..20].to_string()
}

/// Records that process `id` is alive now, and forgets processes long gone.
pub fn beat(c: &mut dyn Conn, id: &str, now: i64) -> Result<()> {
    c.exec(
        "INSERT INTO instances (id, started_at, seen_at) VALUES ($1, $2, $2) \
         ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
        params![id, now],
    )?;
    c.exec(
        "DELETE FROM instances WHERE seen_at < $1",
        params![now - FORGET_MS],
    )?;
    Ok(())
}

/// Process `id` stops: what it left running is interrupted at once, not after [`STALE_MS`].
pub fn leave(c: &mut dyn Conn, id: &str) -> Result<()> {
    c.exec("DELETE FROM instances WHERE id = $1", params![id])?;
    Ok(())
}

/// An SQL condition true when the process named by `column` is alive: seen at or after the
/// time the caller binds as parameter `$n` (now − [`STALE_MS`]).
pub fn alive(column: &str, n: usize) -> String {
    format!("EXISTS (SELECT 1 FROM instances i WHERE i.id = {column} AND i.seen_at >= ${n})")
}
