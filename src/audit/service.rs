//! The appender: requests hand their entries to one thread that writes them in batches, each
//! batch one transaction, and answers every request once its entry is committed. A request
//! that must log before it answers (a reveal) awaits that answer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use super::{LogKey, NewEntry};
use crate::store::{Db, StoreError};

// Boxed whole in the channel (`Job`), so the size difference does not matter.
#[allow(clippy::large_enum_variant)]
enum Work {
    Entry(NewEntry, tokio::sync::oneshot::Sender<Result<u64, String>>),
    /// Write the subject index now (before "who looked at me" is read).
    Flush(tokio::sync::oneshot::Sender<Result<(), String>>),
}
type Job = Box<Work>;

pub struct Auditor {
    tx: mpsc::SyncSender<Job>,
    /// Bench-only: skip writing entries, to measure what auditing costs. Never set in use.
    skip: AtomicBool,
    db: Db,
    key: LogKey,
}

const BATCH: usize = 2048;
/// The subject index is written when this many rows wait, or when the oldest waited this
/// long. Each write holds the one SQLite writer, and appends wait behind it: 50,000 rows once
/// a second held both for ~70 ms, which became every audited search's p99 under load (20
/// subjects a page); 8,192 rows cost a few milliseconds, and sorted batches of that size keep
/// most of the large batches' locality (the person-detail bench measured the same within
/// its noise).
const FLUSH_ROWS: usize = 8192;
const FLUSH_AGE: std::time::Duration = std::time::Duration::from_millis(250);

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
        match self.tx.try_send(Box::new(Work::Entry(e, tx))) {
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

    /// Makes sure every committed entry's subjects are in the index (they are written in
    /// batches, at least every 250 ms while entries arrive).
    pub async fn flush_index(&self) -> Result<(), StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sender = self.tx.clone();
        tokio::task::spawn_blocking(move || sender.send(Box::new(Work::Flush(tx))))
            .await
            .map_err(|e| StoreError::Db(e.to_string()))?
            .map_err(|_| StoreError::Db("the audit log is closed".into()))?;
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
    match db.write_blocking(super::catch_up_index) {
        Ok(0) => {}
        Ok(n) => tracing::info!(entries = n, "audit subject index caught up"),
        Err(e) => tracing::error!(error = %e, "catching up the audit subject index failed"),
    }
    let mut frontier: Option<super::merkle::Frontier> = None;
    let mut pending: super::SubjectRows = Vec::new();
    let mut pending_from: Option<u64> = None;
    let mut last_flush = std::time::Instant::now();
    let flush =
        |pending: &mut super::SubjectRows, pending_from: &mut Option<u64>| -> Result<(), String> {
            let Some(from) = *pending_from else {
                return Ok(());
            };
            let rows = std::mem::take(pending);
            db.write_blocking(|c| super::index_subjects(c, rows, from))
                .map_err(|e| e.to_string())?;
            *pending_from = None;
            Ok(())
        };
    loop {
        let first = match rx.recv_timeout(std::time::Duration::from_millis(500)) {
            Ok(j) => j,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = flush(&mut pending, &mut pending_from) {
                    tracing::error!(error = %e, "writing the audit subject index failed");
                }
                last_flush = std::time::Instant::now();
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let mut jobs = vec![first];
        drain(&rx, &mut jobs);
        // Under load a commit costs far more than an entry: when others are queueing, wait a
        // moment for more of them so one transaction carries many entries.
        if jobs.len() > 1 && jobs.len() < 256 {
            std::thread::sleep(std::time::Duration::from_micros(400));
            drain(&rx, &mut jobs);
        }
        let mut entries = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        let mut flushes = Vec::new();
        for j in jobs {
            match *j {
                Work::Entry(e, reply) => {
                    entries.push(e);
                    replies.push(reply);
                }
                Work::Flush(reply) => flushes.push(reply),
            }
        }
        if !entries.is_empty() {
            let known = frontier.take();
            let inline = super::index_inline(db.backend());
            match db.write_blocking(|c| {
                let (seqs, f, subjects) = super::append_from(c, entries, known)?;
                let from = seqs.first().copied().unwrap_or(0);
                if inline {
                    super::index_subjects(c, subjects, from)?;
                    return Ok(((seqs, f, Vec::new()), from));
                }
                Ok(((seqs, f, subjects), from))
            }) {
                Ok(((seqs, f, subjects), from)) => {
                    frontier = Some(f);
                    if !inline {
                        pending.extend(subjects);
                        pending_from.get_or_insert(from);
                    }
                    for (reply, seq) in replies.into_iter().zip(seqs) {
                        let _ = reply.send(Ok(seq));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit entries could not be written");
                    for reply in replies {
                        let _ = reply.send(Err(e.to_string()));
                    }
                }
            }
        }
        if !flushes.is_empty() || pending.len() >= FLUSH_ROWS || last_flush.elapsed() >= FLUSH_AGE {
            let r = flush(&mut pending, &mut pending_from);
            if let Err(e) = &r {
                tracing::error!(error = %e, "writing the audit subject index failed");
            }
            last_flush = std::time::Instant::now();
            for reply in flushes {
                let _ = reply.send(r.clone());
            }
        }
    }
    if let Err(e) = flush(&mut pending, &mut pending_from) {
        tracing::error!(error = %e, "writing the audit subject index failed");
    }
}
