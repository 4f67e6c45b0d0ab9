//! Writing the log to disk ahead of the checkpoint (`synchronous=NORMAL` only).
//!
//! Under NORMAL a commit writes its log frames without a disk sync; the checkpoint syncs the
//! whole log before it copies it into the database file. With 1,000 pages (4 MB) written since
//! the last sync that one `fsync` waits for all of them, several milliseconds on an ordinary
//! disk, and the writer, with every command queued behind it, waits too. A thread of its own
//! syncs the log's data every `FLUSH_PAGES` new pages instead, beside the commits, so the
//! checkpoint's sync finds little left to write. Extra syncs change nothing SQLite relies on:
//! they only make data durable sooner.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::OnceLock;

/// How many new log pages make the flusher sync the log.
const FLUSH_PAGES: i32 = 128;

/// The flusher of one database's log, started at the first commit that needs it.
pub(crate) struct WalFlush {
    wal: PathBuf,
    /// The log's size (in pages) at the last request to sync it.
    asked_at: AtomicI32,
    thread: OnceLock<Option<SyncSender<()>>>,
}

impl WalFlush {
    /// A flusher for the database file at `db` (its log is `db` + `-wal`).
    pub(crate) fn new(db: &Path) -> WalFlush {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        WalFlush {
            wal: PathBuf::from(wal),
            asked_at: AtomicI32::new(0),
            thread: OnceLock::new(),
        }
    }

    /// Called after each commit with the log's size: asks for a sync once enough new pages
    /// were written since the last one. Never waits.
    pub(crate) fn committed(&self, pages: i32) {
        let asked = self.asked_at.load(Ordering::Relaxed);
        if pages < asked {
            // The log started again from its beginning after a checkpoint.
            self.asked_at.store(0, Ordering::Relaxed);
            return;
        }
        if pages - asked < FLUSH_PAGES {
            return;
        }
        self.asked_at.store(pages, Ordering::Relaxed);
        if let Some(tx) = self.thread.get_or_init(|| spawn(&self.wal)) {
            match tx.try_send(()) {
                // A sync already asked for will write these pages too.
                Ok(()) | Err(TrySendError::Full(())) => {}
                Err(TrySendError::Disconnected(())) => {}
            }
        }
    }
}

/// Starts the thread that syncs the log file; `None` (and no early syncs, the checkpoint does
/// them all as before) when the file cannot be opened or the thread cannot start.
fn spawn(wal: &Path) -> Option<SyncSender<()>> {
    let file = File::open(wal).ok()?;
    let (tx, rx) = sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("wal-flush".into())
        .spawn(move || {
            // Ends when the store (the sender's owner) is dropped.
            while rx.recv().is_ok() {
                // A failed early sync loses nothing: the checkpoint's own sync reports it.
                let _ = file.sync_data();
            }
        })
        .ok()?;
    Some(tx)
}
