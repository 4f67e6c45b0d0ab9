//! Incoming webhook applications (schema v7, seed 003): apps reached at a private URL
//! `/hooks/{token}` (only the token's SHA-256 hash is stored), request numbers (one sequence per
//! installation) and action numbers (per request, in the order its tasks were first seen waiting).

use crate::{Result, Store, Tx};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

/// An app's public face: never its token nor the token's hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAppRow {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub impersonate_user_name: Option<String>,
    pub created_at: String,
    pub is_active: bool,
}

fn app_row(r: &rusqlite::Row) -> rusqlite::Result<WebhookAppRow> {
    Ok(WebhookAppRow {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        impersonate_user_name: r.get(3)?,
        created_at: r.get(4)?,
        is_active: r.get(5)?,
    })
}

const APP_COLUMNS: &str = "id, name, description, impersonate_user_name, created_at, is_active";

impl Store {
    /// The active app whose token hashes to `hash`.
    pub fn webhook_app_by_token_hash(&self, hash: &str) -> Result<Option<WebhookAppRow>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {APP_COLUMNS} FROM webhook_apps WHERE token_hash = ?1 AND is_active = 1"
                ),
                params![hash],
                app_row,
            )
            .optional()?)
    }

    pub fn webhook_apps(&self) -> Result<Vec<WebhookAppRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {APP_COLUMNS} FROM webhook_apps ORDER BY id"
        ))?;
        let rows = stmt.query_map([], app_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The number of a request (an instance), if it has one.
    pub fn request_number(&self, guid: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT number FROM request_numbers WHERE instance_guid = ?1",
                params![guid],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The instance a request number names.
    pub fn request_by_number(&self, number: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT instance_guid FROM request_numbers WHERE number = ?1",
                params![number],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The numbered actions of a request: (task id, number), by number.
    pub fn action_numbers(&self, guid: &str) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT task_id, number FROM action_numbers WHERE instance_guid = ?1 ORDER BY number",
        )?;
        let rows = stmt.query_map(params![guid], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl Tx<'_> {
    pub fn insert_webhook_app(
        &self,
        name: &str,
        description: Option<&str>,
        impersonate: Option<&str>,
        token_hash: &str,
        at: &str,
    ) -> Result<i64> {
        self.tx.execute(
            "INSERT INTO webhook_apps (name, description, impersonate_user_name, token_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, description, impersonate, token_hash, at],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    pub fn delete_webhook_app(&self, id: i64) -> Result<bool> {
        Ok(self
            .tx
            .execute("DELETE FROM webhook_apps WHERE id = ?1", params![id])?
            > 0)
    }

    /// Gives app `id` a new token hash in place (its id, name and settings stay); the old token
    /// stops matching at once. Answers whether the app exists.
    pub fn set_webhook_app_token(&self, id: i64, token_hash: &str) -> Result<bool> {
        Ok(self.tx.execute(
            "UPDATE webhook_apps SET token_hash = ?2 WHERE id = ?1",
            params![id, token_hash],
        )? > 0)
    }

    /// The request number of `guid`, giving it the next one if it has none.
    pub fn number_request(&self, guid: &str) -> Result<i64> {
        self.tx.execute(
            "INSERT OR IGNORE INTO request_numbers (instance_guid, number)
             SELECT ?1, COALESCE(MAX(number), 0) + 1 FROM request_numbers",
            params![guid],
        )?;
        Ok(self.tx.query_row(
            "SELECT number FROM request_numbers WHERE instance_guid = ?1",
            params![guid],
            |r| r.get(0),
        )?)
    }

    /// The action number of a task of `guid`, giving it the request's next one if it has none.
    pub fn number_action(&self, guid: &str, task_id: &str) -> Result<i64> {
        self.tx.execute(
            "INSERT OR IGNORE INTO action_numbers (instance_guid, task_id, number)
             SELECT ?1, ?2, COALESCE(MAX(number), 0) + 1 FROM action_numbers WHERE instance_guid = ?1",
            params![guid, task_id],
        )?;
        Ok(self.tx.query_row(
            "SELECT number FROM action_numbers WHERE instance_guid = ?1 AND task_id = ?2",
            params![guid, task_id],
            |r| r.get(0),
        )?)
    }
}
