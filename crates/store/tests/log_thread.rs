//! Under `synchronous=NORMAL` a thread of the store syncs and checkpoints the write-ahead log
//! beside the writer; it starts with the first commits that need it and ends with the store.
//! Under FULL every commit syncs the log itself and no such thread runs. (One test in its own process: it
//! counts this process's threads.)

mod common;

use baton_store::{Durability, Store};
use std::time::{Duration, Instant};

/// The threads of this process named `baton-wal`.
fn log_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .filter(|name| name.trim() == "baton-wal")
                .count()
        })
        .unwrap_or(0)
}

/// Waits up to five seconds for `n` flusher threads.
fn wait_for(n: usize) -> usize {
    let until = Instant::now() + Duration::from_secs(5);
    while log_threads() != n && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    log_threads()
}

#[test]
fn the_log_is_synced_beside_the_commits_under_normal_only() {
    if !std::path::Path::new("/proc/self/task").exists() {
        eprintln!("skipped: no /proc/self/task to count threads in");
        return;
    }
    let dir = tempfile::tempdir().unwrap();

    // FULL: no flusher, however much is written.
    let mut full = Store::open(&dir.path().join("full.db"), Durability::Full).unwrap();
    common::write(&mut full, 300, |_| {});
    assert_eq!(wait_for(0), 0, "a flusher runs under FULL");

    // NORMAL: a few thousand pages start one, and only one.
    let db = dir.path().join("normal.db");
    let mut normal = Store::open(&db, Durability::Normal).unwrap();
    common::write(&mut normal, 1505, |_| {});
    assert_eq!(wait_for(1), 1, "one flusher while the store is open");
    assert_eq!(normal.users().unwrap().len(), 4515);

    // It ends with the store, and what was committed is all there.
    drop(normal);
    assert_eq!(wait_for(0), 0, "the flusher outlived its store");
    let again = Store::open(&db, Durability::Normal).unwrap();
    assert_eq!(again.users().unwrap().len(), 4515);
    drop(full);
}
