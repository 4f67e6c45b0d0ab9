//! The message buffer as correlation delivers it: the oldest live entry a wait matches (read on
//! any connection, outside a transaction), and the claim that consumes one entry in the
//! transaction of the step that applies it. Keeping an entry (`Tx::buffer`) and listing the
//! buffer are in `work`.

use crate::work::{buffered_row as row, BUFFER_COLUMNS as COLUMNS};
use crate::{BufferedRow, Result, Store, Tx};
use rusqlite::{params, OptionalExtension};

impl Store {
    /// The oldest live entry (`Buffered`, its TTL not run out at `now`) that a wait matches: a
    /// callback by its exact key, a message by name and key (a missing key on either side
    /// matches any). Timestamps are RFC 3339 UTC text, so they compare as strings.
    pub fn next_buffered(
        &self,
        kind: &str,
        name: Option<&str>,
        key: Option<&str>,
        now: &str,
    ) -> Result<Option<BufferedRow>> {
        // `name IS ?2` also matches a callback's missing name, so the index serves both kinds.
        let sql = format!(
            "SELECT {COLUMNS} FROM message_buffer
             WHERE status = 'Buffered' AND kind = ?1 AND name IS ?2 AND expires_at > ?4
               AND (CASE WHEN ?1 = 'callback' THEN correlation_key = ?3
                    ELSE (?3 IS NULL OR correlation_key IS NULL OR correlation_key = ?3) END)
             ORDER BY id LIMIT 1"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![kind, name, key, now], row)
            .optional()?)
    }

    /// Live entries with an id above `after`, oldest first, at most `limit`.
    pub fn live_buffered(&self, now: &str, after: i64, limit: i64) -> Result<Vec<BufferedRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM message_buffer
             WHERE status = 'Buffered' AND expires_at > ?1 AND id > ?2 ORDER BY id LIMIT ?3"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![now, after, limit], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl Tx<'_> {
    /// Consumes a live entry for `guid` (`Correlated`). False, writing nothing, when it was
    /// already taken or refused, or its TTL ran out at `now`.
    pub fn claim_buffered(&self, id: i64, guid: &str, now: &str) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached(
                "UPDATE message_buffer SET status = 'Correlated', instance_guid = ?2, correlated_at = ?3
                 WHERE id = ?1 AND status = 'Buffered' AND expires_at > ?3",
            )?
            .execute(params![id, guid, now])?
            > 0)
    }

    /// An entry nobody may take (refused, or a duplicate): `Expired`, unless it is no longer
    /// `Buffered`. Answers whether it changed.
    pub fn drop_buffered(&self, id: i64) -> Result<bool> {
        Ok(self.tx.execute(
            "UPDATE message_buffer SET status = 'Expired' WHERE id = ?1 AND status = 'Buffered'",
            params![id],
        )? > 0)
    }
}
