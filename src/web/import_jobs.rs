//! Imports from the page run as jobs: the upload returns at once (or as soon as a small file is
//! done), the job page shows rows checked out of rows in the file while a large one runs, then
//! the report; the refused rows download from it as a workbook with a reason column, ready to
//! be fixed and imported again. Jobs live in memory for an hour after they finish: the data
//! they wrote is in the database (all or nothing), only the report is forgotten.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::registry::import::{Report, Sheet};

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
