//! The appender: requests hand their entries to one thread that writes them in batches, each
//! batch one transaction, and answers every request once its entry is committed. A request
//! that must log before it answers (a reveal) awaits that answer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use super::{LogKey, NewEntry};
use crate::store::{Db, StoreError};

type Job = Box<(NewEntry, tokio::sync::oneshot::Sender<Result<u64, String>>)>;

pub struct Auditor {
    tx: mpsc::SyncSender<Job>,
    /// Bench-only: skip writing entries, to measure what auditing costs. Never set in use.
    skip: AtomicBool,
    db: Db,
    key: LogKey,
}

const BATCH: usize = 2048;

impl Auditor {
    pub fn start(db: Db, key: LogKey) -> Auditor {
        let (tx, rx) = mpsc::sync_channel::<Job>(16 * BATCH);
        let writer = db.clone();
        std::thread::Builder::new()
            .name("linli-audit".into())
            .spawn(move || run(writer, rx))
            .expect("the audit thread starts");
        Auditor {
            tx,
            skip: AtomicBool::new(false),
            db,
            key,
        }
    }

    pub fn set_bench_skip(&self, skip: bool) {
        self.skip.store(skip, Ordering::Relaxed);
    }

    /// Appends an entry and waits until it is committed.
    pub async fn record(&self, e: NewEntry) -> Result<u64, StoreError> {
        if self.skip.load(Ordering::Relaxed) {
            return Ok(0);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        match self.tx.try_send(Box::new((e, tx))) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(job)) => {
                // The channel is bounded: a full one makes requests wait rather than grow memory.
                let sender = self.tx.clone();
                tokio::task::spawn_blocking(move || sender.send(job))
                    .await
                    .map_err(|e| StoreError::Db(e.to_string()))?
                    .map_err(|_| StoreError::Db("the audit log is closed".into()))?;
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                return Err(StoreError::Db("the audit log is closed".into()));
            }
        }
        rx.await
            .map_err(|_| StoreError::Db("the audit log is closed".into()))?
            .map_err(StoreError::Db)
    }

    /// Signs a tree head now if the log has grown.
    pub async fn sign_head(&self) -> Result<Option<super::Head>, StoreError> {
        let key = self.key.clone();
        self.db.write(move |c| super::sign_head(c, &key)).await
    }

    pub fn key(&self) -> &LogKey {
        &self.key
    }
}

fn drain(rx: &mpsc::Receiver<Job>, jobs: &mut Vec<Job>) {
    while jobs.len() < BATCH {
        match rx.try_recv() {
            Ok(j) => jobs.push(j),
            Err(_) => break,
        }
    }
}

fn run(db: Db, rx: mpsc::Receiver<Job>) {
    let mut frontier: Option<super::merkle::Frontier> = None;
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        drain(&rx, &mut jobs);
        // Under load a commit costs far more than an entry: when others are queueing, wait a
        // moment for more of them so one transaction carries many entries.
        if jobs.len() > 1 && jobs.len() < 256 {
            std::thread::sleep(std::time::Duration::from_micros(400));
            drain(&rx, &mut jobs);
        }
        let entries: Vec<NewEntry> = jobs.iter().map(|j| j.0.clone()).collect();
        let known = frontier.take();
        match db.write_blocking(|c| super::append_from(c, entries, known)) {
            Ok((seqs, f)) => {
                frontier = Some(f);
                for (job, seq) in jobs.into_iter().zip(seqs) {
                    let _ = job.1.send(Ok(seq));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "audit entries could not be written");
                for job in jobs {
                    let _ = job.1.send(Err(e.to_string()));
                }
            }
        }
    }
}
