//! The instances this runtime committed last, kept parsed, so the next step of an instance
//! starts from memory instead of reading its row and parsing its state again.
//!
//! Correctness never rests on the cache:
//! - An entry is put only after the COMMIT that wrote it returned (a step rolled back with its
//!   group commit leaves nothing here), with the revision it wrote.
//! - A step TAKES its instance's entry out; whatever happens next, only a new commit puts one
//!   back. A stale entry (written by another process, or overtaken by a concurrent step) makes
//!   the step's write fail the revision check, and the step re-reads the row.
//! - A state the cache holds may only be behind the stored one, never ahead; so when the
//!   engine refuses an event on a cached state, the step decides again on the stored state
//!   before it answers.
//!
//! Ended instances leave the cache. It holds at most `CAPACITY` instances.

use baton_engine::Instance;
use std::collections::HashMap;

/// The most instances kept.
const CAPACITY: usize = 4096;

/// A committed state of an instance.
pub(crate) struct Entry {
    /// The revision the commit wrote (`instances.rev`).
    pub rev: i64,
    pub definition_id: i64,
    pub inst: Instance,
}

#[derive(Default)]
pub(crate) struct Hot {
    map: HashMap<String, Entry>,
}

impl Hot {
    /// Takes the entry of an instance out, if there is one.
    pub fn take(&mut self, guid: &str) -> Option<Entry> {
        self.map.remove(guid)
    }

    /// A copy of the state kept for an instance and its definition, leaving the entry in place
    /// (for checks made before a step; the step itself takes the entry).
    pub fn peek(&self, guid: &str) -> Option<(i64, Instance)> {
        self.map
            .get(guid)
            .map(|e| (e.definition_id, e.inst.clone()))
    }

    /// Drops the entry of an instance (it ended).
    pub fn forget(&mut self, guid: &str) {
        self.map.remove(guid);
    }

    /// Keeps a state just committed (dropped when it ended), unless a later revision is there.
    pub fn put(&mut self, guid: &str, entry: Entry) {
        if entry.inst.status.is_ended() {
            self.map.remove(guid);
            return;
        }
        if let Some(old) = self.map.get_mut(guid) {
            if old.rev < entry.rev {
                *old = entry;
            }
            return;
        }
        if self.map.len() >= CAPACITY {
            // Any one goes: its next step reads the row, as without a cache.
            if let Some(k) = self.map.keys().next().cloned() {
                self.map.remove(&k);
            }
        }
        self.map.insert(guid.to_string(), entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rev: i64, status: &str) -> Entry {
        let inst: Instance = serde_json::from_value(serde_json::json!({
            "status": status, "process": 0, "scopes": [], "tokens": [], "subs": [],
            "next_sub": 0, "path": [], "incidents": []
        }))
        .unwrap();
        Entry {
            rev,
            definition_id: 1,
            inst,
        }
    }

    #[test]
    fn an_entry_is_taken_once_never_replaced_by_an_older_one_and_ended_ones_leave() {
        let mut hot = Hot::default();
        hot.put("g", entry(2, "WAITING"));
        hot.put("g", entry(1, "WAITING"));
        assert_eq!(hot.take("g").map(|e| e.rev), Some(2));
        assert!(hot.take("g").is_none());
        hot.put("g", entry(3, "WAITING"));
        hot.put("g", entry(4, "COMPLETED"));
        assert!(hot.take("g").is_none());
    }

    #[test]
    fn it_holds_at_most_its_capacity() {
        let mut hot = Hot::default();
        for i in 0..CAPACITY + 10 {
            hot.put(&format!("g{i}"), entry(0, "WAITING"));
        }
        assert_eq!(hot.map.len(), CAPACITY);
        assert!(hot.take(&format!("g{}", CAPACITY + 9)).is_some());
    }
}
