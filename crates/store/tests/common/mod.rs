//! What the store's log tests share.

// Each test file that includes this module uses only part of it.
#![allow(dead_code)]

use baton_store::Store;
use std::path::Path;

/// Frames the log file has room for (its size is its high-water mark: SQLite reuses it from the
/// start after a checkpoint instead of shrinking it).
pub fn log_frames(db: &Path) -> u64 {
    let wal = format!("{}-wal", db.display());
    let len = std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0);
    len / (4096 + 24)
}

/// `commits` transactions, each adding a user with a long name (a few pages each); after each,
/// `between` runs on the store.
pub fn write(store: &mut Store, commits: usize, between: impl Fn(&Store)) {
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
