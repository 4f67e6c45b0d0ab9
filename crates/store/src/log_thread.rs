//! The write-ahead log's own thread (`synchronous=NORMAL` only): it writes the log to disk and
//! copies it into the database file beside the commits, so the one writer does not.
//!
//! Under NORMAL a commit writes its log frames without a disk sync, and the checkpoint (which
//! SQLite runs once the log passed 1,000 pages) syncs the whole log, copies the pages into the
//! database file and syncs that. The group commit's writer ran all of it while every command
//! waited: the log's sync found 4 MB to write, and the copy into a growing file is mostly the
//! kernel's work (a fresh page-cache page for every new page). This thread, with its own
//! connection, instead
//! - syncs the log's data every `SYNC_PAGES` new pages, and
//! - runs a PASSIVE checkpoint every `CHECKPOINT_PAGES` new pages,
//!
//! so the writer's own checkpoint at 1,000 pages (`Store::checkpoint_if_due`) finds nearly
//! everything copied and synced. The writer's checkpoint is still needed: a checkpoint beside a
//! stream of commits never reaches the end of the log, and only one that does lets SQLite start
//! the log again from its beginning; the writer's reaches it because no commit runs meanwhile.
//! When both try at once the writer's is refused as busy and tried again after its next batch.
//! Extra syncs and checkpoints change nothing SQLite relies on; they only do its work sooner.

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// New log pages between two syncs of the log.
const SYNC_PAGES: i32 = 128;

/// New log pages between two checkpoints by the thread (a multiple of `SYNC_PAGES`: every
/// other request is a checkpoint, which syncs the log first).
const CHECKPOINT_PAGES: i32 = 2 * SYNC_PAGES;

enum Job {
    Sync,
    Checkpoint,
}

/// The log thread of one database file, started by the first commit that gives it work.
pub(crate) struct LogThread {
    db: PathBuf,
    /// The log's size (in pages) when the thread was last asked for a sync or checkpoint.
    asked_at: AtomicI32,
    /// ... and for a checkpoint.
    checkpoint_at: AtomicI32,
    /// The log's size from which the writer checkpoints and the thread no longer does.
    writer_at: i32,
    /// Held by the thread while it checkpoints.
    checkpointing: Arc<Mutex<()>>,
    jobs: OnceLock<Option<SyncSender<Job>>>,
}

impl LogThread {
    /// The log thread for the database file at `db` (its log is `db` + `-wal`), whose writer
    /// checkpoints from `writer_at` pages on.
    pub(crate) fn new(db: &Path, writer_at: i32) -> LogThread {
        LogThread {
            db: db.to_path_buf(),
            writer_at,
            checkpointing: Arc::default(),
            asked_at: AtomicI32::new(0),
            checkpoint_at: AtomicI32::new(0),
            jobs: OnceLock::new(),
        }
    }

    /// Called after each commit with the log's size in pages: asks the thread for a sync or a
    /// checkpoint once enough new pages were written. Never waits.
    pub(crate) fn committed(&self, pages: i32) {
        let asked = self.asked_at.load(Ordering::Relaxed);
        if pages < asked {
            // The log started again from its beginning after a checkpoint.
            self.asked_at.store(0, Ordering::Relaxed);
            self.checkpoint_at.store(0, Ordering::Relaxed);
            return;
        }
        if pages - asked < SYNC_PAGES {
            return;
        }
        self.asked_at.store(pages, Ordering::Relaxed);
        let checkpoint = pages < self.writer_at
            && pages - self.checkpoint_at.load(Ordering::Relaxed) >= CHECKPOINT_PAGES;
        let job = if checkpoint {
            Job::Checkpoint
        } else {
            Job::Sync
        };
        if let Some(jobs) = self
            .jobs
            .get_or_init(|| spawn(&self.db, self.checkpointing.clone()))
        {
            match jobs.try_send(job) {
                Ok(()) if checkpoint => self.checkpoint_at.store(pages, Ordering::Relaxed),
                Ok(()) => {}
                // The thread is still at its last job, which these pages will wait for: the
                // writer's checkpoint does what the thread did not.
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {}
            }
        }
    }

    /// Waits until the thread is not checkpointing, and keeps it from starting until the guard
    /// is dropped.
    pub(crate) fn quiet(&self) -> MutexGuard<'_, ()> {
        self.checkpointing.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Starts the thread with the log file and a connection of its own; `None` (the writer's
/// checkpoint then does everything, as SQLite's own would) when either cannot be opened or the
/// thread cannot start.
fn spawn(db: &Path, checkpointing: Arc<Mutex<()>>) -> Option<SyncSender<Job>> {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    // Opened for writing too (nothing is written through it): Windows syncs only such handles.
    let log = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(PathBuf::from(wal))
        .ok()?;
    let conn = Connection::open(db).ok()?;
    conn.pragma_update(None, "synchronous", "NORMAL").ok()?;
    let (jobs, next) = sync_channel::<Job>(1);
    std::thread::Builder::new()
        .name("baton-wal".into())
        .spawn(move || {
            // Ends when the store, which holds the sender, is dropped. A job that fails loses
            // nothing: the writer's checkpoint syncs and copies whatever is left, and reports.
            while let Ok(job) = next.recv() {
                match job {
                    Job::Sync => {
                        let _ = log.sync_data();
                    }
                    Job::Checkpoint => {
                        let _held = checkpointing.lock().unwrap_or_else(|p| p.into_inner());
                        let _ = conn.wal_checkpoint_v2(
                            None::<&str>,
                            rusqlite::wal::CheckpointMode::PASSIVE,
                        );
                    }
                }
            }
        })
        .ok()?;
    Some(jobs)
}
