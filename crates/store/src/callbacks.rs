//! Completing a CallbackRegistry row in the step's transaction, answering what the sender needs
//! to notify its `WebhookUrl` (seed 002) in that same transaction.

use crate::{Result, Tx};
use rusqlite::{params, OptionalExtension};

impl Tx<'_> {
    /// Completes the Pending row of `task_id` in `instance` with `result` (as `close_callback`
    /// with status `Completed`). Answers None when no Pending row was there, otherwise the
    /// row's `WebhookUrl` (None when it has none).
    ///
    /// Two statements, not one `UPDATE ... RETURNING`: SQLite gathers a RETURNING clause's rows
    /// in a temporary table, whose pages it allocates and frees on every run; on the webhook path
    /// that was about a seventh of the server's time (BENCHMARKS.md).
    pub fn complete_callback(
        &self,
        instance: &str,
        task_id: &str,
        result: &str,
        at: &str,
    ) -> Result<Option<Option<String>>> {
        let url: Option<Option<String>> = self
            .tx
            .prepare_cached(
                "SELECT webhook_url FROM callback_registry
                 WHERE parent_instance_id = ?1 AND callback_task_id = ?2 AND status = 'Pending'",
            )?
            .query_row(params![instance, task_id], |r| r.get(0))
            .optional()?;
        if url.is_none() {
            return Ok(None);
        }
        self.tx
            .prepare_cached(
                "UPDATE callback_registry SET status = 'Completed', result_data = ?3, completed_at = ?4
                 WHERE parent_instance_id = ?1 AND callback_task_id = ?2 AND status = 'Pending'",
            )?
            .execute(params![instance, task_id, result, at])?;
        Ok(url)
    }
}
