//! Faults on purpose, for the tests of what Baton answers when SQLite refuses a write.

use crate::{Result, Store};

/// SQLite's largest page count: no limit in practice.
const NO_PAGE_LIMIT: i64 = 4_294_967_294;

impl Store {
    /// Test hook, for failure tests only. With `read_only`, every write on this connection
    /// fails as on a read-only file (`PRAGMA query_only`: SQLITE_READONLY). With `full`, every
    /// write that needs one more page fails as on a full disk (`PRAGMA max_page_count` at the
    /// current size: SQLITE_FULL). Both false restores the connection.
    #[doc(hidden)]
    pub fn simulate_faults(&self, read_only: bool, full: bool) -> Result<()> {
        self.conn.pragma_update(None, "query_only", read_only)?;
        let pages: i64 = if full {
            self.conn.query_row("PRAGMA page_count", [], |r| r.get(0))?
        } else {
            NO_PAGE_LIMIT
        };
        let _now: i64 =
            self.conn
                .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                    r.get(0)
                })?;
        Ok(())
    }
}
