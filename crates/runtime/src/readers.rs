//! The read connections: a small pool, so concurrent commands and queries read side by side
//! instead of queueing on one connection.
//!
//! In WAL mode every read connection sees the last commit and never waits for a write under
//! way. One connection is opened with the runtime; more are opened when every open one is busy,
//! up to [`MAX_READERS`]; after that a reader waits for the next one handed back. A connection
//! is handed back when its guard drops, also when the command that held it panicked (SQLite
//! ended its statement; the connection holds no transaction between reads).

use baton_store::{Store, StoreError};
use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex};

/// At most this many read connections per runtime: enough for both cores' worth of commands
/// to read while the group commit's writer is busy, few enough that their memory stays small.
pub const MAX_READERS: usize = 4;

type Open = Box<dyn Fn() -> Result<Store, StoreError> + Send + Sync>;

pub(crate) struct Readers {
    idle: Mutex<Pool>,
    handed_back: Condvar,
    open: Open,
}

struct Pool {
    idle: Vec<Store>,
    opened: usize,
    /// Readers waiting for one to be handed back (a hand-back wakes one only then).
    waiting: usize,
}

impl Readers {
    /// A pool that starts with `first` and opens more with `open`.
    pub(crate) fn new(first: Store, open: Open) -> Readers {
        Readers {
            idle: Mutex::new(Pool {
                idle: vec![first],
                opened: 1,
                waiting: 0,
            }),
            handed_back: Condvar::new(),
            open,
        }
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A read connection for as long as the guard lives.
    pub(crate) fn get(&self) -> Reader<'_> {
        let mut pool = self.pool();
        loop {
            if let Some(store) = pool.idle.pop() {
                return Reader {
                    pool: self,
                    store: Some(store),
                };
            }
            if pool.opened < MAX_READERS {
                pool.opened += 1;
                drop(pool);
                match (self.open)() {
                    Ok(store) => {
                        return Reader {
                            pool: self,
                            store: Some(store),
                        }
                    }
                    Err(e) => {
                        // Could not open another: wait for one of those already open.
                        tracing::warn!("could not open another read connection: {e}");
                        pool = self.pool();
                        pool.opened -= 1;
                        if pool.opened == 0 {
                            // Nothing to wait for: every connection failed. Try again.
                            continue;
                        }
                    }
                }
            }
            pool.waiting += 1;
            pool = self
                .handed_back
                .wait(pool)
                .unwrap_or_else(|p| p.into_inner());
            pool.waiting -= 1;
        }
    }
}

/// A read connection taken from the pool; handed back on drop.
pub(crate) struct Reader<'a> {
    pool: &'a Readers,
    store: Option<Store>,
}

impl Deref for Reader<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        self.store
            .as_ref()
            .expect("a reader holds its store until dropped")
    }
}

impl DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        self.store
            .as_mut()
            .expect("a reader holds its store until dropped")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            let mut pool = self.pool.pool();
            pool.idle.push(store);
            let waiting = pool.waiting > 0;
            drop(pool);
            if waiting {
                self.pool.handed_back.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool on a new file in `dir`.
    fn pool(dir: &tempfile::TempDir) -> Readers {
        let path = dir.path().join("r.db");
        let first = Store::open(&path, baton_store::Durability::Normal).unwrap();
        Readers::new(
            first,
            Box::new(move || Store::open(&path, baton_store::Durability::Normal)),
        )
    }

    #[test]
    fn readers_are_opened_when_all_are_busy_and_reused_after() {
        let dir = tempfile::tempdir().unwrap();
        let readers = pool(&dir);
        let a = readers.get();
        let b = readers.get();
        assert_eq!(readers.pool().opened, 2);
        drop(a);
        let c = readers.get();
        assert_eq!(readers.pool().opened, 2, "an idle one is reused");
        drop((b, c));
        assert_eq!(readers.pool().idle.len(), 2);
    }

    #[test]
    fn a_reader_waits_for_one_handed_back_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let readers = pool(&dir);
        let held: Vec<_> = (0..MAX_READERS).map(|_| readers.get()).collect();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                let r = readers.get();
                r.schema_version().unwrap()
            });
            // The waiter can only finish once one is handed back.
            drop(held);
            assert!(waiter.join().unwrap() > 0);
        });
        assert_eq!(readers.pool().opened, MAX_READERS);
    }
}
