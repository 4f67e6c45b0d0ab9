//! The write-ahead log stays bounded whether its checkpoint runs inside the COMMIT (the
//! default) or is deferred to the writer (`defer_checkpoints`, as the runtime's group commit
//! does), and a writer that defers but never checkpoints is stopped by the backstop.

use baton_store::{Durability, Store};
use std::path::Path;

/// Frames the log file has room for (its size is its high-water mark: SQLite reuses it from the
/// start after a checkpoint instead of shrinking it).
fn log_frames(db: &Path) -> u64 {
    let wal = format!("{}-wal", db.display());
    let len = std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0);
    len / (4096 + 24)
}

/// `commits` transactions, each adding a user with a long name (a few pages each); after each,
/// `between` runs on the store.
fn write(store: &mut Store, commits: usize, between: impl Fn(&Store)) {
    let pad = "x".repeat(1500);
    for i in 0..commits {
        let tx = store.transaction().unwrap();
        for j in 0..3 {
            tx.create_user(&format!("user-{i}-{j}-{pad}"), false, "t")
                .unwrap();
        }
        tx.commit().unwrap();
        between(store);
    }
}

fn users(store: &Store) -> usize {
    store.users().unwrap().len()
}

#[test]
fn a_commit_checkpoints_by_itself_unless_told_to_defer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let mut store = Store::open(&db, Durability::Normal).unwrap();
    write(&mut store, 2000, |_| {});
    // About 1,000 pages and the last commit's, not the 2,000 commits' several thousand.
    let frames = log_frames(&db);
    assert!((1000..1100).contains(&frames), "log of {frames} frames");
    assert_eq!(users(&store), 6000);
}

#[test]
fn a_deferred_checkpoint_runs_when_the_writer_asks_and_keeps_the_log_as_small() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let mut store = Store::open(&db, Durability::Normal).unwrap();
    store.defer_checkpoints(true);
    write(&mut store, 2000, |s| s.checkpoint_if_due().unwrap());
    let frames = log_frames(&db);
    assert!((1000..1100).contains(&frames), "log of {frames} frames");
    assert_eq!(users(&store), 6000);
    // Everything is in the file for another connection too.
    drop(store);
    let again = Store::open(&db, Durability::Normal).unwrap();
    assert_eq!(users(&again), 6000);
}

#[test]
fn a_deferred_checkpoint_nobody_runs_is_bounded_by_the_backstop() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let mut store = Store::open(&db, Durability::Normal).unwrap();
    store.defer_checkpoints(true);
    write(&mut store, 4000, |_| {});
    let frames = log_frames(&db);
    // Deferred: past the 1,000 pages of the default; bounded: not past the backstop of 8,000
    // and one commit's pages.
    assert!((1100..8100).contains(&frames), "log of {frames} frames");
    assert_eq!(users(&store), 12000);
}
