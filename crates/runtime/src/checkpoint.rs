//! WAL checkpoints on a thread of their own.
//!
//! Every commit appends to the WAL; a checkpoint copies those pages into the database file and
//! syncs it. Left to SQLite, the commit that crosses the threshold does the checkpoint, on the
//! one thread that commits (`batch`), and every command queued behind it waits for the copy and
//! the sync. Here a thread with its own connection runs a PASSIVE checkpoint (it never waits
//! for nor blocks the writer or the readers) shortly after commits happen, so the writer only
//! appends. The write connection still checkpoints by itself past a high mark (see
//! `Store::open`), so the WAL stays bounded even if this thread falls behind.
//!
//! The thread sleeps while nothing is committed: the first commit after a pass wakes it
//! (`committed`, an atomic swap and at most one wake per pass), it lets commits gather for
//! [`GATHER`], then checkpoints.

use baton_store::{Store, StoreError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long commits gather before a checkpoint pass.
pub const GATHER: Duration = Duration::from_millis(50);

/// WAL pages (of 4 KiB, so about 400 MiB) past which a pass also starts the WAL again (see
/// `run`). A backstop: under a steady stream of commits on this machine the WAL's high-water
/// mark stayed near 80,000 pages without it, and restarting at 16,000 held writes back often
/// enough to cost about a tenth of the rate.
pub const RESTART_PAGES: i64 = 100_000;

struct Shared {
    /// Commits happened since the last pass began.
    pending: AtomicBool,
    stop: AtomicBool,
}

pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread; it opens its connection with `open` when first needed.
    pub(crate) fn start(
        open: impl FnOnce() -> Result<Store, StoreError> + Send + 'static,
    ) -> Checkpointer {
        let shared = Arc::new(Shared {
            pending: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("baton-checkpoint".into())
            .spawn(move || run(&s, open))
            .map_err(|e| tracing::warn!("no checkpoint thread ({e}); commits checkpoint instead"))
            .ok();
        Checkpointer { shared, thread }
    }

    /// After a commit: wakes the thread if it sleeps.
    pub(crate) fn committed(&self) {
        if !self.shared.pending.swap(true, Ordering::AcqRel) {
            if let Some(t) = &self.thread {
                t.thread().unpark();
            }
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

fn run(shared: &Shared, open: impl FnOnce() -> Result<Store, StoreError>) {
    let store = match open() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("no checkpoint connection ({e}); commits checkpoint instead");
            return;
        }
    };
    loop {
        // Sleep until a commit (spurious wake-ups only loop).
        while !shared.pending.load(Ordering::Acquire) {
            if shared.stop.load(Ordering::Acquire) {
                return;
            }
            std::thread::park();
        }
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        std::thread::park_timeout(GATHER);
        shared.pending.store(false, Ordering::Release);
        match store.checkpoint() {
            // Under a steady stream of commits a PASSIVE checkpoint never reaches the WAL's
            // end, so the WAL never starts again and would only grow: past `RESTART_PAGES`,
            // finish the copy with RESTART (most of it was just copied, so the writes it holds
            // back wait briefly) so that the next commit starts the WAL from its beginning.
            Ok((wal, _)) if wal > RESTART_PAGES => {
                if let Err(e) = store.checkpoint_restart() {
                    tracing::debug!("checkpoint (restart): {e}");
                }
            }
            Ok(_) => {}
            // A busy or failing checkpoint is retried after the next commit; the write
            // connection's own threshold keeps the WAL bounded meanwhile.
            Err(e) => tracing::debug!("checkpoint: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_store::Durability;

    #[test]
    fn commits_are_copied_into_the_database_by_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let mut writer = Store::open(&path, Durability::Normal).unwrap();
        let p = path.clone();
        let cp = Checkpointer::start(move || Store::open(&p, Durability::Normal));
        let size = || std::fs::metadata(&path).unwrap().len();
        let before = size();
        {
            // About 2 MiB: far below the write connection's own threshold, so only the
            // thread can move it into the database file.
            let tx = writer.transaction().unwrap();
            let value = "x".repeat(4000);
            for i in 0..500 {
                tx.set_setting(&format!("probe{i}"), &value).unwrap();
            }
            tx.commit().unwrap();
        }
        assert!(
            size() < before + 1_000_000,
            "nothing was checkpointed by the commit"
        );
        cp.committed();
        let mut copied = false;
        for _ in 0..1000 {
            if size() > before + 1_000_000 {
                copied = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            copied,
            "the checkpoint thread copied the WAL into the database file"
        );
        drop(cp);
    }

    #[test]
    fn the_thread_stops_when_dropped_while_asleep() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.db");
        let cp = Checkpointer::start(move || Store::open(&p, Durability::Normal));
        drop(cp);
    }
}
