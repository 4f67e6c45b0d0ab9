//! The write-ahead log stays bounded whether its checkpoint runs inside the COMMIT (the
//! default) or is deferred to the writer (`defer_checkpoints`, as the runtime's group commit
//! does), and a writer that defers but never checkpoints is stopped by the backstop.

mod common;

use baton_store::{Durability, Store};
use common::{log_frames, write};

fn users(store: &Store) -> usize {
    store.users().unwrap().len()
}

#[test]
fn a_commit_checkpoints_by_itself_unless_told_to_defer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let mut store = Store::open(&db, Durability::Normal).unwrap();
    write(&mut store, 2000, |_| {});
    // About 1,000 pages, not the 2,000 commits' several thousand. A checkpoint of the log's own
    // thread can make the one at 1,000 pages wait some commits (it is refused as busy); at
    // 2,000 it waits for the thread, so the log ends near that.
    let frames = log_frames(&db);
    assert!((1000..2100).contains(&frames), "log of {frames} frames");
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
    assert!((1000..2100).contains(&frames), "log of {frames} frames");
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
    // Deferred: past the 1,000 pages of the default; bounded: not far past the backstop of
    // 8,000 (a few commits' pages while the log's own thread checkpoints).
    assert!((1100..9000).contains(&frames), "log of {frames} frames");
    assert_eq!(users(&store), 12000);
}

#[test]
fn checkpoints_beside_the_writer_keep_the_log_bounded_and_readers_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("beside.db");
    let mut writer = Store::open(&db, Durability::Normal).unwrap();
    writer.defer_checkpoints(true);
    let reader = Store::open(&db, Durability::Normal).unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    let done = &done;
    std::thread::scope(|s| {
        // A reader that never sees the count go back or stop at a half-written commit.
        let seen = s.spawn(move || {
            let mut last = 0;
            let mut reads = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let n = reader.users().unwrap().len();
                assert!(n >= last, "the reader saw {n} users after {last}");
                assert_eq!(n % 3, 0, "the reader saw part of a commit ({n} users)");
                last = n;
                reads += 1;
                // A reader that never stops would hold the log in use: SQLite starts it again
                // from the beginning only between reads.
                std::thread::sleep(std::time::Duration::from_micros(500));
            }
            (reads, reader)
        });
        write(&mut writer, 3000, |w| w.checkpoint_if_due().unwrap());
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let (reads, reader) = seen.join().unwrap();
        assert!(reads > 0);
        drop(reader);
    });
    // The writer's checkpoints still start the log again from its beginning, between the
    // reader's reads (SQLite cannot while a read uses the log, so it is larger than without a
    // reader): it stays below the 8,000-page backstop, at which the writer would wait.
    let frames = log_frames(&db);
    assert!(frames < 7000, "log of {frames} frames");
    assert_eq!(writer.users().unwrap().len(), 9000);
    drop(writer);
    let again = Store::open(&db, Durability::Normal).unwrap();
    assert_eq!(again.users().unwrap().len(), 9000);
}
