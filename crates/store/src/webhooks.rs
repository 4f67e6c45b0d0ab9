//! Incoming webhooks (schema v5): their configurations and the request log.
//!
//! A configuration is reached at its `url` (a path under `/webhook/`) or at `/webhook/k/{key}`
//! for a generated key; `config` holds its execution fields as JSON, `verification` the scheme
//! and its secret (never answered by the runtime). Every request received is one row of
//! `webhook_requests`, with the verdict (`accepted` or why it was refused), the status answered
//! and what running it produced.
//!
//! Schema v11 keeps bodies of accepted requests only (the runtime writes `body` empty for the
//! others), records the size that arrived (`size`) and what each row holds (`stored_bytes`),
//! so that [`Tx::prune_webhook_requests`] can keep the log within an age and a size in bounded
//! batches. Schema v14 adds the sender's id of a request (`sender_id`), the first request a
//! repeat duplicates (`duplicate_of`), and `webhook_seen`: the ids each configuration handled,
//! claimed with [`Tx::claim_webhook_sender_id`] in the transaction that records the request, and
//! pruned with the log. The `settings` table (an administrator's choices, JSON by name) and
//! `outbound_checked` (URLs a non-administrator gave) live here too.

use crate::{Result, Store, Tx};
use rusqlite::{params, OptionalExtension};

/// A webhook configuration as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfigRow {
    pub id: i64,
    pub name: String,
    pub key: Option<String>,
    pub url: Option<String>,
    pub execution_type: i64,
    /// JSON object: commandName, commandData, commandChain, executionCode, processDefinitionId /
    /// processKey, variables.
    pub config: String,
    /// JSON list of IP addresses; empty: any.
    pub allowed_ips: String,
    /// JSON object: scheme, secret, header.
    pub verification: String,
    pub is_active: bool,
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn config_row(r: &rusqlite::Row) -> rusqlite::Result<WebhookConfigRow> {
    Ok(WebhookConfigRow {
        id: r.get(0)?,
        name: r.get(1)?,
        key: r.get(2)?,
        url: r.get(3)?,
        execution_type: r.get(4)?,
        config: r.get(5)?,
        allowed_ips: r.get(6)?,
        verification: r.get(7)?,
        is_active: r.get(8)?,
        created_by: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

const CONFIG_SELECT: &str =
    "SELECT id, name, key, url, execution_type, config, allowed_ips, verification,
        is_active, created_by, created_at, updated_at FROM webhook_configs";

/// The fields a configuration is created or updated with.
#[derive(Debug, Clone)]
pub struct NewWebhookConfig<'a> {
    pub name: &'a str,
    pub key: Option<&'a str>,
    pub url: Option<&'a str>,
    pub execution_type: i64,
    pub config: &'a str,
    pub allowed_ips: &'a str,
    pub verification: &'a str,
    pub is_active: bool,
}

/// One received (or replayed) request.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRequestRow {
    pub id: i64,
    pub config_id: Option<i64>,
    pub received_at: String,
    pub method: String,
    pub path: String,
    /// JSON object of header name (lower case) to value, secrets redacted.
    pub headers: String,
    /// JSON object of query parameters.
    pub query: String,
    /// Empty unless the request was accepted.
    pub body: String,
    /// The size of the body that arrived, in bytes (also when it was not kept).
    pub size: i64,
    pub remote_addr: String,
    /// `live` or `replay`.
    pub trigger: String,
    pub replay_of: Option<i64>,
    /// `accepted`, `duplicate` (the sender's id was handled before: not run again), or why it
    /// was refused: `notFound`, `inactive`, `ipNotAllowed`, `tooLarge`, `badSignature`,
    /// `badBody`, `badMapping`.
    pub verdict: String,
    /// None while an accepted request is still running.
    pub status_code: Option<i64>,
    /// JSON of what running it answered.
    pub outcome: Option<String>,
    pub error: Option<String>,
    /// The sender's id for the request (`webhook-id:...`, `stripe:...`, `paystack:...`).
    pub sender_id: Option<String>,
    /// For a `duplicate`: the request that handled the id first.
    pub duplicate_of: Option<i64>,
}

fn request_row(r: &rusqlite::Row) -> rusqlite::Result<WebhookRequestRow> {
    Ok(WebhookRequestRow {
        id: r.get(0)?,
        config_id: r.get(1)?,
        received_at: r.get(2)?,
        method: r.get(3)?,
        path: r.get(4)?,
        headers: r.get(5)?,
        query: r.get(6)?,
        body: r.get(7)?,
        remote_addr: r.get(8)?,
        trigger: r.get(9)?,
        replay_of: r.get(10)?,
        verdict: r.get(11)?,
        status_code: r.get(12)?,
        outcome: r.get(13)?,
        error: r.get(14)?,
        size: r.get(15)?,
        sender_id: r.get(16)?,
        duplicate_of: r.get(17)?,
    })
}

const REQUEST_SELECT: &str =
    "SELECT id, config_id, received_at, method, path, headers, query, body,
        remote_addr, trigger, replay_of, verdict, status_code, outcome, error, size, sender_id,
        duplicate_of FROM webhook_requests";

/// What one pass of [`Tx::prune_webhook_requests`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub rows: i64,
    pub bytes: i64,
    /// The batch was full: more may be due.
    pub more: bool,
    /// What the log holds after the pass, in bytes, when `max_bytes` was given (it was summed).
    pub total_after: Option<i64>,
}

/// A request to record.
#[derive(Debug, Clone)]
pub struct NewWebhookRequest<'a> {
    pub config_id: Option<i64>,
    pub received_at: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub headers: &'a str,
    pub query: &'a str,
    /// Empty unless accepted.
    pub body: &'a str,
    /// The size that arrived, in bytes.
    pub size: i64,
    pub remote_addr: &'a str,
    pub trigger: &'a str,
    pub replay_of: Option<i64>,
    pub verdict: &'a str,
    pub status_code: Option<i64>,
    pub error: Option<&'a str>,
    /// The sender's id, when it gave one.
    pub sender_id: Option<&'a str>,
    /// For a `duplicate`: the request that handled the id first.
    pub duplicate_of: Option<i64>,
}

/// The request log's size in bytes: the sum of `stored_bytes`, a scan of its `(id,
/// stored_bytes)` index.
const LOG_BYTES: &str = "SELECT COALESCE(SUM(stored_bytes), 0) FROM webhook_requests";

impl NewWebhookRequest<'_> {
    /// What the row will hold, in bytes: body, headers, query, path, outcome and error (as
    /// schema v11 counted the rows it found).
    fn stored_bytes(&self, outcome: Option<&str>) -> i64 {
        let n = self.body.len()
            + self.headers.len()
            + self.query.len()
            + self.path.len()
            + outcome.map_or(0, str::len)
            + self.error.map_or(0, str::len)
            + self.sender_id.map_or(0, str::len);
        i64::try_from(n).unwrap_or(i64::MAX)
    }
}

impl Store {
    pub fn webhook_config(&self, id: i64) -> Result<Option<WebhookConfigRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("{CONFIG_SELECT} WHERE id = ?1"),
                params![id],
                config_row,
            )
            .optional()?)
    }

    pub fn webhook_config_by_key(&self, key: &str) -> Result<Option<WebhookConfigRow>> {
        Ok(self
            .conn
            .prepare_cached(&format!("{CONFIG_SELECT} WHERE key = ?1"))?
            .query_row(params![key], config_row)
            .optional()?)
    }

    pub fn webhook_config_by_url(&self, url: &str) -> Result<Option<WebhookConfigRow>> {
        Ok(self
            .conn
            .prepare_cached(&format!("{CONFIG_SELECT} WHERE url = ?1"))?
            .query_row(params![url], config_row)
            .optional()?)
    }

    /// One page of configurations (oldest first) and how many there are in all.
    pub fn webhook_configs(&self, page: i64, size: i64) -> Result<(Vec<WebhookConfigRow>, i64)> {
        let total: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM webhook_configs", [], |r| r.get(0))?;
        let mut stmt = self
            .conn
            .prepare(&format!("{CONFIG_SELECT} ORDER BY id LIMIT ?1 OFFSET ?2"))?;
        let offset = page.saturating_sub(1).saturating_mul(size);
        let rows = stmt.query_map(params![size, offset], config_row)?;
        Ok((rows.collect::<rusqlite::Result<_>>()?, total))
    }

    pub fn webhook_request(&self, id: i64) -> Result<Option<WebhookRequestRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("{REQUEST_SELECT} WHERE id = ?1"),
                params![id],
                request_row,
            )
            .optional()?)
    }

    /// One page of requests, newest first (of one configuration when given), and the total.
    pub fn webhook_requests(
        &self,
        config_id: Option<i64>,
        verdict: Option<&str>,
        page: i64,
        size: i64,
    ) -> Result<(Vec<WebhookRequestRow>, i64)> {
        crate::page_of(
            &self.conn,
            ("webhook_requests", REQUEST_SELECT, "id DESC"),
            ("", &[]),
            &[
                ("config_id = ?", crate::given(&config_id)),
                ("verdict = ?", crate::given(&verdict)),
            ],
            Some((page, size)),
            request_row,
        )
    }

    /// The highest request id given so far: the largest row id, or AUTOINCREMENT's counter
    /// when that is larger (rows removed). New ids chosen above it never meet an old one.
    pub fn webhook_request_high(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT MAX(COALESCE((SELECT MAX(id) FROM webhook_requests), 0),
                        COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'webhook_requests'), 0))",
            [],
            |r| r.get(0),
        )?)
    }

    /// The request that handled `sender_id` for configuration `config_id`, if one did (and its
    /// row is still kept).
    pub fn webhook_seen(&self, config_id: i64, sender_id: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT request_id FROM webhook_seen WHERE config_id = ?1 AND sender_id = ?2",
            )?
            .query_row(params![config_id, sender_id], |r| r.get(0))
            .optional()?)
    }

    /// What the request log holds, in bytes (the sum of `stored_bytes`, read from its index).
    pub fn webhook_log_bytes(&self) -> Result<i64> {
        Ok(self.conn.query_row(LOG_BYTES, [], |r| r.get(0))?)
    }

    /// Every setting an administrator stored: (name, JSON value).
    pub fn settings(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, value FROM settings ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether a non-administrator gave this URL (the sender checks where it resolves).
    pub fn outbound_checked(&self, url: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM outbound_checked WHERE url = ?1")?
            .query_row(params![url], |_| Ok(()))
            .optional()?
            .is_some())
    }
}

impl Tx<'_> {
    /// Stores a setting (a JSON value) under its name.
    pub fn set_setting(&self, name: &str, value: &str) -> Result<()> {
        self.tx.execute(
            "INSERT INTO settings (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            params![name, value],
        )?;
        Ok(())
    }

    /// Remembers that a non-administrator gave `url`.
    pub fn mark_outbound_checked(&self, url: &str, at: &str) -> Result<()> {
        self.tx.execute(
            "INSERT INTO outbound_checked (url, since) VALUES (?1, ?2) ON CONFLICT (url) DO NOTHING",
            params![url, at],
        )?;
        Ok(())
    }

    /// Removes the oldest request-log rows: those received before `before` (when given), then
    /// as many more as it takes to bring the log under `max_bytes` (when given). Looks at no
    /// more than `batch` rows, so one pass is short; `more` says whether another is due.
    pub fn prune_webhook_requests(
        &self,
        before: Option<&str>,
        max_bytes: Option<i64>,
        batch: i64,
    ) -> Result<Pruned> {
        let mut pruned = Pruned::default();
        let oldest = |n: i64| -> Result<Vec<(i64, i64, String)>> {
            let mut stmt = self.tx.prepare_cached(
                "SELECT id, stored_bytes, received_at FROM webhook_requests ORDER BY id LIMIT ?1",
            )?;
            let rows = stmt.query_map(params![n], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        let total = match max_bytes {
            Some(_) => Some(self.webhook_log_total()?),
            None => None,
        };
        let mut excess = match (total, max_bytes) {
            (Some(total), Some(max)) => total.saturating_sub(max),
            _ => 0,
        };
        if excess <= 0 {
            // Only age can remove rows: when the oldest row is not too old, nothing is due,
            // found without reading a batch of rows.
            let oldest_at: Option<String> = match before {
                Some(_) => self
                    .tx
                    .prepare_cached("SELECT received_at FROM webhook_requests ORDER BY id LIMIT 1")?
                    .query_row([], |r| r.get(0))
                    .optional()?,
                None => None,
            };
            if oldest_at.is_none_or(|at| before.is_none_or(|b| at.as_str() >= b)) {
                pruned.total_after = total;
                return Ok(pruned);
            }
        }
        let rows = oldest(batch)?;
        // Ids grow with time: the old rows are a prefix of the log.
        let mut upto = None;
        for (id, bytes, at) in &rows {
            let too_old = before.is_some_and(|b| at.as_str() < b);
            if !too_old && excess <= 0 {
                break;
            }
            excess = excess.saturating_sub(*bytes);
            pruned.rows += 1;
            pruned.bytes = pruned.bytes.saturating_add(*bytes);
            upto = Some(*id);
        }
        if let Some(upto) = upto {
            self.tx
                .execute("DELETE FROM webhook_requests WHERE id <= ?1", params![upto])?;
            // The ids those requests handled leave with them: the same retention.
            self.tx.execute(
                "DELETE FROM webhook_seen WHERE request_id <= ?1",
                params![upto],
            )?;
        }
        pruned.more = pruned.rows == batch && batch > 0;
        pruned.total_after = total.map(|t| t.saturating_sub(pruned.bytes));
        Ok(pruned)
    }

    /// What the request log holds, in bytes (a scan of the `(id, stored_bytes)` index).
    fn webhook_log_total(&self) -> Result<i64> {
        Ok(self.tx.query_row(LOG_BYTES, [], |r| r.get(0))?)
    }

    /// Which of `url` / `key` another configuration (not `except`) already uses.
    pub fn webhook_route_taken(
        &self,
        url: Option<&str>,
        key: Option<&str>,
        except: Option<i64>,
    ) -> Result<Option<&'static str>> {
        let taken = |column: &str, value: Option<&str>| -> Result<bool> {
            let Some(value) = value else {
                return Ok(false);
            };
            let n: i64 = self.tx.query_row(
                &format!(
                    "SELECT COUNT(*) FROM webhook_configs WHERE {column} = ?1 AND (?2 IS NULL OR id <> ?2)"
                ),
                params![value, except],
                |r| r.get(0),
            )?;
            Ok(n > 0)
        };
        if taken("url", url)? {
            return Ok(Some("url"));
        }
        if taken("key", key)? {
            return Ok(Some("key"));
        }
        Ok(None)
    }

    pub fn insert_webhook_config(
        &self,
        c: &NewWebhookConfig,
        created_by: Option<&str>,
        at: &str,
    ) -> Result<i64> {
        self.tx.execute(
            "INSERT INTO webhook_configs (name, key, url, execution_type, config, allowed_ips, verification,
                 is_active, created_by, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
            params![
                c.name,
                c.key,
                c.url,
                c.execution_type,
                c.config,
                c.allowed_ips,
                c.verification,
                c.is_active,
                created_by,
                at
            ],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Replaces a configuration's fields; answers whether it exists.
    pub fn update_webhook_config(&self, id: i64, c: &NewWebhookConfig, at: &str) -> Result<bool> {
        Ok(self.tx.execute(
            "UPDATE webhook_configs SET name = ?2, key = ?3, url = ?4, execution_type = ?5, config = ?6,
                 allowed_ips = ?7, verification = ?8, is_active = ?9, updated_at = ?10 WHERE id = ?1",
            params![
                id,
                c.name,
                c.key,
                c.url,
                c.execution_type,
                c.config,
                c.allowed_ips,
                c.verification,
                c.is_active,
                at
            ],
        )? > 0)
    }

    /// Turns a configuration on or off; answers whether it exists.
    pub fn set_webhook_active(&self, id: i64, active: bool, at: &str) -> Result<bool> {
        Ok(self.tx.execute(
            "UPDATE webhook_configs SET is_active = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, active, at],
        )? > 0)
    }

    /// Deletes a configuration; its requests stay in the log without it. Answers whether it
    /// existed.
    pub fn delete_webhook_config(&self, id: i64) -> Result<bool> {
        self.tx.execute(
            "UPDATE webhook_requests SET config_id = NULL WHERE config_id = ?1",
            params![id],
        )?;
        self.tx
            .execute("DELETE FROM webhook_seen WHERE config_id = ?1", params![id])?;
        Ok(self
            .tx
            .execute("DELETE FROM webhook_configs WHERE id = ?1", params![id])?
            > 0)
    }

    pub fn insert_webhook_request(&self, r: &NewWebhookRequest) -> Result<i64> {
        self.tx.execute(
            "INSERT INTO webhook_requests (config_id, received_at, method, path, headers, query, body,
                 remote_addr, trigger, replay_of, verdict, status_code, error, size, stored_bytes,
                 sender_id, duplicate_of)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            params![
                r.config_id,
                r.received_at,
                r.method,
                r.path,
                r.headers,
                r.query,
                r.body,
                r.remote_addr,
                r.trigger,
                r.replay_of,
                r.verdict,
                r.status_code,
                r.error,
                r.size,
                r.stored_bytes(None),
                r.sender_id,
                r.duplicate_of
            ],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Records how an accepted request ended.
    pub fn finish_webhook_request(
        &self,
        id: i64,
        verdict: &str,
        status_code: i64,
        outcome: Option<&str>,
        error: Option<&str>,
    ) -> Result<()> {
        // SET reads the row as it was: the old outcome and error come off, the new ones on.
        let added = outcome.map_or(0, str::len) + error.map_or(0, str::len);
        self.tx.execute(
            "UPDATE webhook_requests SET verdict = ?2, status_code = ?3, outcome = ?4, error = ?5,
                 stored_bytes = stored_bytes - COALESCE(length(CAST(outcome AS BLOB)), 0)
                     - COALESCE(length(CAST(error AS BLOB)), 0) + ?6
             WHERE id = ?1",
            params![
                id,
                verdict,
                status_code,
                outcome,
                error,
                i64::try_from(added).unwrap_or(i64::MAX)
            ],
        )?;
        Ok(())
    }

    /// Records a request under an id its caller chose (above [`Store::webhook_request_high`]),
    /// with its outcome: the runtime numbers requests itself so that it can write one in the
    /// same transaction as the step the request caused.
    pub fn insert_webhook_request_as(
        &self,
        id: i64,
        r: &NewWebhookRequest,
        outcome: Option<&str>,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO webhook_requests (id, config_id, received_at, method, path, headers, query, body,
                     remote_addr, trigger, replay_of, verdict, status_code, error, outcome, size, stored_bytes,
                     sender_id, duplicate_of)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
            )?
            .execute(params![
                id,
                r.config_id,
                r.received_at,
                r.method,
                r.path,
                r.headers,
                r.query,
                r.body,
                r.remote_addr,
                r.trigger,
                r.replay_of,
                r.verdict,
                r.status_code,
                r.error,
                outcome,
                r.size,
                r.stored_bytes(outcome),
                r.sender_id,
                r.duplicate_of
            ])?;
        Ok(())
    }

    /// Claims `sender_id` for configuration `config_id` on behalf of request `request_id`, in
    /// this transaction: false when another request holds it already (committed, or earlier in
    /// this transaction). The table's key decides, so two claims at once cannot both win.
    pub fn claim_webhook_sender_id(
        &self,
        config_id: i64,
        sender_id: &str,
        request_id: i64,
    ) -> Result<bool> {
        let n = self
            .tx
            .prepare_cached(
                "INSERT INTO webhook_seen (config_id, sender_id, request_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT (config_id, sender_id) DO NOTHING",
            )?
            .execute(params![config_id, sender_id, request_id])?;
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Durability, NewWebhookRequest, Store};

    fn row<'a>(at: &'a str, body: &'a str) -> NewWebhookRequest<'a> {
        NewWebhookRequest {
            config_id: None,
            received_at: at,
            method: "POST",
            path: "/webhook/p",
            headers: "{}",
            query: "{}",
            body,
            size: body.len() as i64,
            remote_addr: "192.0.2.1",
            trigger: "live",
            replay_of: None,
            verdict: "accepted",
            status_code: Some(200),
            error: None,
            sender_id: None,
            duplicate_of: None,
        }
    }

    #[test]
    fn pruning_removes_the_oldest_rows_in_bounded_batches() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("p.db"), Durability::Normal).unwrap();
        let tx = store.transaction().unwrap();
        for i in 0..25 {
            let at = format!("2026-01-{:02}T00:00:00.000000Z", i + 1);
            tx.insert_webhook_request_as(i + 1, &row(&at, "0123456789"), None)
                .unwrap();
        }
        tx.commit().unwrap();
        // Each row holds 10 + 2 + 2 + 10 = 24 bytes.
        assert_eq!(store.webhook_log_bytes().unwrap(), 25 * 24);

        // Age: the 10 rows before the 11th; a batch of 4 removes 4 and says more are due.
        let tx = store.transaction().unwrap();
        let cut = "2026-01-11T00:00:00.000000Z";
        let p = tx.prune_webhook_requests(Some(cut), None, 4).unwrap();
        assert_eq!((p.rows, p.bytes, p.more), (4, 96, true));
        let p = tx.prune_webhook_requests(Some(cut), None, 100).unwrap();
        assert_eq!((p.rows, p.more), (6, false));
        let p = tx.prune_webhook_requests(Some(cut), None, 100).unwrap();
        assert_eq!(p.rows, 0);
        tx.commit().unwrap();
        let (rows, total) = store.webhook_requests(None, None, 1, 100).unwrap();
        assert_eq!(total, 15);
        assert_eq!(rows.last().unwrap().id, 11, "the oldest left is the 11th");

        // Size: down to 100 bytes keeps the 4 newest rows (96 bytes).
        let tx = store.transaction().unwrap();
        let p = tx.prune_webhook_requests(None, Some(100), 1_000).unwrap();
        assert_eq!((p.rows, p.more), (11, false));
        tx.commit().unwrap();
        let (rows, _) = store.webhook_requests(None, None, 1, 100).unwrap();
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        assert_eq!(ids, [25, 24, 23, 22]);
        assert_eq!(store.webhook_log_bytes().unwrap(), 96);
        // A new id stays above every removed one.
        assert_eq!(store.webhook_request_high().unwrap(), 25);

        // Finishing a request counts what it now holds.
        let tx = store.transaction().unwrap();
        tx.finish_webhook_request(25, "accepted", 422, None, Some("failed"))
            .unwrap();
        tx.commit().unwrap();
        assert_eq!(store.webhook_log_bytes().unwrap(), 96 + 6);
    }

    #[test]
    fn a_sender_id_is_claimed_once_per_configuration_and_leaves_with_its_request() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db"), Durability::Normal).unwrap();
        let tx = store.transaction().unwrap();
        let first = NewWebhookRequest {
            sender_id: Some("webhook-id:msg_1"),
            ..row("2026-01-01T00:00:00.000000Z", "{}")
        };
        tx.insert_webhook_request_as(1, &first, None).unwrap();
        assert!(tx
            .claim_webhook_sender_id(7, "webhook-id:msg_1", 1)
            .unwrap());
        // The same id again, in the same transaction or another: refused. Another
        // configuration's claim of it stands apart.
        assert!(!tx
            .claim_webhook_sender_id(7, "webhook-id:msg_1", 2)
            .unwrap());
        assert!(tx
            .claim_webhook_sender_id(8, "webhook-id:msg_1", 2)
            .unwrap());
        let repeat = NewWebhookRequest {
            verdict: "duplicate",
            duplicate_of: Some(1),
            ..first.clone()
        };
        tx.insert_webhook_request_as(3, &repeat, None).unwrap();
        tx.commit().unwrap();
        let tx = store.transaction().unwrap();
        assert!(!tx
            .claim_webhook_sender_id(7, "webhook-id:msg_1", 4)
            .unwrap());
        drop(tx);
        assert_eq!(store.webhook_seen(7, "webhook-id:msg_1").unwrap(), Some(1));
        assert_eq!(store.webhook_seen(7, "webhook-id:other").unwrap(), None);
        let shown = store.webhook_request(3).unwrap().unwrap();
        assert_eq!(
            (
                shown.sender_id.as_deref(),
                shown.duplicate_of,
                shown.verdict.as_str()
            ),
            (Some("webhook-id:msg_1"), Some(1), "duplicate")
        );
        // Retention removes request 1, and the id it handled with it.
        let tx = store.transaction().unwrap();
        let p = tx
            .prune_webhook_requests(Some("2026-01-02T00:00:00.000000Z"), None, 1)
            .unwrap();
        assert_eq!(p.rows, 1);
        tx.commit().unwrap();
        assert_eq!(store.webhook_seen(7, "webhook-id:msg_1").unwrap(), None);
        assert_eq!(store.webhook_seen(8, "webhook-id:msg_1").unwrap(), Some(2));
    }
}
