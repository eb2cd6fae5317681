//! Imports from the page run as jobs: the upload returns at once (or as soon as a small file is
//! done), the job page shows rows checked out of rows in the file while a large one runs, then
//! the report; the refused rows download from it as a workbook with a reason column, ready to
//! be fixed and imported again. Jobs live in memory for an hour after they finish: the data
//! they wrote is in the database (all or nothing), only the report is forgotten. Each job also
//! has a row in `import_jobs` with its state and counts (no personal data), so that after a
//! restart its page still says what it did, or that it was interrupted and wrote nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::params;
use crate::registry::import::{Report, Sheet};
use crate::store::{Conn, Result as StoreResult};

#[derive(Clone, Debug)]
pub enum JobState {
    /// Checking rows (see `done` and `total`).
    Checking,
    /// Every row checked; writing in one transaction.
    Writing,
    Done(Box<Report>),
    Failed(String),
}

pub struct ImportJob {
    pub id: String,
    pub owner: i64,
    pub scope: String,
    pub apply: bool,
    pub file_name: String,
    pub done: AtomicUsize,
    pub total: AtomicUsize,
    pub state: Mutex<JobState>,
    pub sheet: Sheet,
    finished: Mutex<Option<Instant>>,
    changed: tokio::sync::Notify,
}

impl ImportJob {
    pub fn state(&self) -> JobState {
        self.state.lock().expect("job state").clone()
    }

    pub fn set(&self, s: JobState) {
        let end = matches!(s, JobState::Done(_) | JobState::Failed(_));
        *self.state.lock().expect("job state") = s;
        if end {
            *self.finished.lock().expect("job end") = Some(Instant::now());
        }
        self.changed.notify_waiters();
    }

    pub fn progress(&self, done: usize, total: usize) {
        self.done.store(done, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        if done >= total {
            let mut s = self.state.lock().expect("job state");
            if matches!(*s, JobState::Checking) {
                *s = JobState::Writing;
            }
        }
    }

    pub fn finished(&self) -> bool {
        matches!(self.state(), JobState::Done(_) | JobState::Failed(_))
    }

    /// Waits until the job ends or `limit` passes; true when it ended.
    pub async fn wait(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.changed.notified();
            if self.finished() {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.finished();
            }
        }
    }
}

const KEEP: Duration = Duration::from_secs(3600);

fn jobs() -> &'static Mutex<HashMap<String, Arc<ImportJob>>> {
    static JOBS: OnceLock<Mutex<HashMap<String, Arc<ImportJob>>>> = OnceLock::new();
    JOBS.get_or_init(Default::default)
}

pub fn create(
    owner: i64,
    scope: String,
    apply: bool,
    file_name: String,
    sheet: Sheet,
) -> Arc<ImportJob> {
    let total = sheet.rows.len();
    let job = Arc::new(ImportJob {
        id: crate::org::auth::random_token("imp_"),
        owner,
        scope,
        apply,
        file_name,
        done: AtomicUsize::new(0),
        total: AtomicUsize::new(total),
        state: Mutex::new(JobState::Checking),
        sheet,
        finished: Mutex::new(None),
        changed: tokio::sync::Notify::new(),
    });
    let mut all = jobs().lock().expect("jobs");
    all.retain(|_, j| {
        j.finished
            .lock()
            .expect("job end")
            .is_none_or(|t| t.elapsed() < KEEP)
    });
    all.insert(job.id.clone(), job.clone());
    job
}

/// A job, only for the user who started it.
pub fn get(id: &str, owner: i64) -> Option<Arc<ImportJob>> {
    jobs()
        .lock()
        .expect("jobs")
        .get(id)
        .filter(|j| j.owner == owner)
        .cloned()
}

impl JobState {
    /// The state's name, as the progress endpoint and the job's row give it.
    pub fn as_str(&self) -> &'static str {
        match self {
            JobState::Checking => "checking",
            JobState::Writing => "writing",
            JobState::Done(_) => "done",
            JobState::Failed(_) => "failed",
        }
    }
}

/// Records a job as it starts, run by process `instance` ([`crate::store::instances`]).
pub fn record(
    c: &mut dyn Conn,
    job: &ImportJob,
    street_id: Option<i64>,
    instance: &str,
    now: i64,
) -> StoreResult<()> {
    c.exec(
        "INSERT INTO import_jobs (id, street_id, owner_id, scope, apply, file_name, state, total_rows, created_at, instance) \
         VALUES ($1, $2, $3, $4, $5, $6, 'checking', $7, $8, $9)",
        params![
            job.id.clone(),
            street_id,
            job.owner,
            job.scope.clone(),
            i64::from(job.apply),
            job.file_name.clone(),
            job.total.load(Ordering::Relaxed),
            now,
            instance
        ],
    )?;
    Ok(())
}

/// Records how a job ended.
pub fn record_end(c: &mut dyn Conn, id: &str, state: &JobState, now: i64) -> StoreResult<()> {
    let (counts, error) = match state {
        JobState::Done(r) => (
            [r.create, r.update, r.unchanged, r.refused.len()],
            String::new(),
        ),
        JobState::Failed(e) => ([0; 4], e.clone()),
        _ => return Ok(()),
    };
    c.exec(
        "UPDATE import_jobs SET state = $2, n_create = $3, n_update = $4, n_unchanged = $5, n_refused = $6, \
         error = $7, finished_at = $8 WHERE id = $1",
        params![
            id, state.as_str(), counts[0], counts[1], counts[2], counts[3], error, now
        ],
    )?;
    Ok(())
}

/// How long a job's row is kept.
const KEEP_ROWS_MS: i64 = 30 * 86_400_000;

/// Jobs left running by a process that stopped (it has not announced itself for a while,
/// or left) were interrupted: an import is one transaction, so none of it was written. Rows
/// older than thirty days go. Run at start and with every beat; returns the jobs marked
/// interrupted.
pub fn mark_interrupted(c: &mut dyn Conn, now: i64) -> StoreResult<u64> {
    let n = c.exec(
        &format!(
            "UPDATE import_jobs SET state = 'interrupted', finished_at = $1 \
             WHERE state IN ('checking', 'writing') AND NOT {}",
            crate::store::instances::alive("import_jobs.instance", 2)
        ),
        params![now, now - crate::store::instances::STALE_MS],
    )?;
    c.exec(
        "DELETE FROM import_jobs WHERE created_at < $1",
        params![now - KEEP_ROWS_MS],
    )?;
    Ok(n)
}

/// A job as its row keeps it, once its process no longer holds it.
#[derive(Clone, Debug)]
pub struct Stored {
    pub id: String,
    pub scope: String,
    pub apply: bool,
    pub file_name: String,
    /// done, failed, interrupted (or checking/writing in another process).
    pub state: String,
    pub total: i64,
    pub create: i64,
    pub update: i64,
    pub unchanged: i64,
    pub refused: i64,
    pub error: String,
}

/// A job's row, only for the user who started it.
pub fn load(c: &mut dyn Conn, id: &str, owner: i64) -> StoreResult<Option<Stored>> {
    Ok(c
        .query_opt(
            "SELECT id, scope, apply, file_name, state, total_rows, n_create, n_update, n_unchanged, n_refused, error \
             FROM import_jobs WHERE id = $1 AND owner_id = $2",
            params![id, owner],
        )?
        .map(|r| Stored {
            id: r.str(0),
            scope: r.str(1),
            apply: r.i64(2) != 0,
            file_name: r.str(3),
            state: r.str(4),
            total: r.i64(5),
            create: r.i64(6),
            update: r.i64(7),
            unchanged: r.i64(8),
            refused: r.i64(9),
            error: r.str(10),
        }))
}

/// Drops a job from memory, as a restart does (its row stays).
pub fn forget(id: &str) {
    jobs().lock().expect("jobs").remove(id);
}
