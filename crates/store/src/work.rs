//! The indexes an engine step maintains beside the instance state, so a command finds its
//! instances without loading every waiting one: message and signal subscriptions, the inbox of
//! user tasks, open incidents. And the two queues of correlation and delivery: the message
//! buffer (messages and callbacks that arrived before anything waited for them, kept for their
//! TTL), message receipts (a `messageId` seen before is a duplicate), and the outbox (effects that
//! leave the instance, written in the step's transaction and delivered after the commit).

use crate::{Result, Store, Tx};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

/// A message or signal an instance listens for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    /// `message` or `signal`.
    pub kind: String,
    pub name: String,
    pub correlation_key: Option<String>,
    pub element_id: String,
}

/// An open form task (userTask or form-mode receiveTask): one inbox entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserTaskRow {
    pub instance_guid: String,
    pub task_id: String,
    pub task_type: String,
    pub name: Option<String>,
    pub form_key: Option<String>,
    pub responsible_user: Option<String>,
    pub responsible_team: Option<String>,
    pub created_at: String,
    /// Who holds the task (seed 003's assignAction); None: nobody.
    pub assignee: Option<String>,
}

/// A buffered message or callback.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BufferedRow {
    pub id: i64,
    /// `message` or `callback`.
    pub kind: String,
    pub name: Option<String>,
    pub correlation_key: Option<String>,
    pub payload: String,
    pub message_id: Option<String>,
    /// `Buffered`, `Correlated` or `Expired`.
    pub status: String,
    pub instance_guid: Option<String>,
    pub created_at: String,
    pub expires_at: String,
}

/// An incident as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentRow {
    pub id: i64,
    pub instance_guid: String,
    pub element_id: String,
    pub message: String,
    pub created_at: String,
    pub resolved_at: Option<String>,
}

/// How every internal incident's message starts: an incident the runtime opens when a step
/// of the instance failed inside Baton (a bug: a panic), not in the model. The engine's
/// incidents (a script that threw, a limit) live in the instance state; an internal one lives
/// only here, until a retry or the instance's end resolves it.
pub const INTERNAL_INCIDENT: &str = "Stopped by an internal error";

/// An effect waiting to leave (or that left) through the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxRow {
    pub id: i64,
    pub instance_guid: Option<String>,
    pub event: String,
    pub payload: String,
    pub attempts: i64,
}

pub(crate) const BUFFER_COLUMNS: &str =
    "id, kind, name, correlation_key, payload, message_id, status, instance_guid, created_at, expires_at";

pub(crate) fn buffered_row(r: &rusqlite::Row) -> rusqlite::Result<BufferedRow> {
    Ok(BufferedRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        name: r.get(2)?,
        correlation_key: r.get(3)?,
        payload: r.get(4)?,
        message_id: r.get(5)?,
        status: r.get(6)?,
        instance_guid: r.get(7)?,
        created_at: r.get(8)?,
        expires_at: r.get(9)?,
    })
}

impl Store {
    /// Instances subscribed to a message or signal, oldest instance first. A subscription without
    /// a key accepts any key, and a delivery without a key reaches any subscription (the engine's
    /// rule).
    pub fn subscribers(&self, kind: &str, name: &str, key: Option<&str>) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.instance_guid FROM subscriptions s JOIN instances i ON i.guid = s.instance_guid
             WHERE s.kind = ?1 AND s.name = ?2 AND (?3 IS NULL OR s.correlation_key IS NULL OR s.correlation_key = ?3)
             GROUP BY s.instance_guid ORDER BY MIN(i.rowid)",
        )?;
        let rows = stmt.query_map(params![kind, name, key], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Open form tasks; with `who` = (user, teams) only those open to everyone or assigned to
    /// the user or one of the teams (ResponsibleUser / ResponsibleTeam may list several, comma
    /// separated); with `assignee`, only the tasks that user holds. Answers a page and the total.
    pub fn user_tasks(
        &self,
        who: Option<(&str, &[String])>,
        assignee: Option<&str>,
        page: i64,
        size: i64,
    ) -> Result<(Vec<UserTaskRow>, i64)> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT instance_guid, task_id, task_type, name, form_key, responsible_user, responsible_team, created_at, assignee
             FROM user_tasks ORDER BY created_at, rowid",
        )?;
        let all = stmt.query_map([], |r| {
            Ok(UserTaskRow {
                instance_guid: r.get(0)?,
                task_id: r.get(1)?,
                task_type: r.get(2)?,
                name: r.get(3)?,
                form_key: r.get(4)?,
                responsible_user: r.get(5)?,
                responsible_team: r.get(6)?,
                created_at: r.get(7)?,
                assignee: r.get(8)?,
            })
        })?;
        let mut items = Vec::new();
        for row in all {
            let row = row?;
            if assignee.is_some_and(|a| row.assignee.as_deref() != Some(a)) {
                continue;
            }
            let visible = match who {
                None => true,
                Some((user, teams)) => crate::may_work(
                    Some(user),
                    teams,
                    row.responsible_user.as_deref(),
                    row.responsible_team.as_deref(),
                ),
            };
            if visible {
                items.push(row);
            }
        }
        let total = items.len() as i64;
        let (size, start) = crate::page_window(page, size);
        let start = usize::try_from(start).unwrap_or(usize::MAX);
        Ok((
            items.into_iter().skip(start).take(size as usize).collect(),
            total,
        ))
    }

    /// The buffer, newest first, optionally by status. A viewer (None: everything) sees only
    /// the entries correlated to an instance they may read: what waits in the buffer was sent
    /// for someone else's process.
    pub fn buffered(
        &self,
        status: Option<&str>,
        viewer: Option<&crate::Viewer>,
    ) -> Result<Vec<BufferedRow>> {
        let scope = self.scope(viewer)?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {BUFFER_COLUMNS} FROM message_buffer WHERE (?5 IS NULL OR status = ?5)
             AND (?1 OR (instance_guid IS NOT NULL AND {})) ORDER BY id DESC LIMIT 500",
            crate::access::readable("instance_guid")
        ))?;
        let params = params![scope.all, scope.user, scope.teams, scope.tasks, status];
        let rows = stmt.query_map(params, buffered_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// What a `messageId` answered the first time, if it was seen.
    pub fn receipt(&self, message_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT outcome FROM message_receipts WHERE message_id = ?1")?
            .query_row(params![message_id], |r| r.get(0))
            .optional()?)
    }

    /// The newest webhook-mode CallbackRegistry row for a key, whatever its status (duplicate
    /// detection; form-mode rows are completed by a form submission, never by a callback).
    pub fn latest_callback(&self, key: &str) -> Result<Option<crate::CallbackRow>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, parent_instance_id, callback_task_id, correlation_key, callback_type, status,
                        parent_process_state, result_data, completed_at, webhook_url, message_ref, timeout_minutes, form_key
                 FROM callback_registry WHERE correlation_key = ?1 AND form_key IS NULL ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![key], crate::callback_row)
            .optional()?)
    }

    /// The conflicting duplicate callbacks recorded for an instance (history rows of kind
    /// `callbackConflict`, oldest first): their time and data (`callbackId`, `correlationKey`,
    /// `result`). The CallbackRegistry list reads them to mark its rows.
    pub fn callback_conflicts(&self, guid: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, data FROM history WHERE instance_guid = ?1 AND kind = 'callbackConflict' ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![guid], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Incidents (only open ones, or all) of the instances the viewer may read (None: all).
    pub fn incidents(
        &self,
        open_only: bool,
        viewer: Option<&crate::Viewer>,
    ) -> Result<Vec<IncidentRow>> {
        let scope = self.scope(viewer)?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, instance_guid, element_id, message, created_at, resolved_at FROM incidents
             WHERE (NOT ?5 OR resolved_at IS NULL) AND {} ORDER BY id",
            crate::access::readable("instance_guid")
        ))?;
        let params = params![scope.all, scope.user, scope.teams, scope.tasks, open_only];
        let rows = stmt.query_map(params, |r| {
            Ok(IncidentRow {
                id: r.get(0)?,
                instance_guid: r.get(1)?,
                element_id: r.get(2)?,
                message: r.get(3)?,
                created_at: r.get(4)?,
                resolved_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The open internal incident of an instance, if any (see [`INTERNAL_INCIDENT`]).
    pub fn internal_incident(&self, guid: &str) -> Result<Option<IncidentRow>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, instance_guid, element_id, message, created_at, resolved_at FROM incidents
                 WHERE instance_guid = ?1 AND resolved_at IS NULL AND substr(message, 1, length(?2)) = ?2
                 ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![guid, INTERNAL_INCIDENT], |r| {
                Ok(IncidentRow {
                    id: r.get(0)?,
                    instance_guid: r.get(1)?,
                    element_id: r.get(2)?,
                    message: r.get(3)?,
                    created_at: r.get(4)?,
                    resolved_at: r.get(5)?,
                })
            })
            .optional()?)
    }

    /// The element where an instance listens for a message or signal (`kind`) by `name`, if it
    /// does (read from the index, not the instance state).
    pub fn subscribed_element(&self, guid: &str, kind: &str, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT element_id FROM subscriptions WHERE instance_guid = ?1 AND kind = ?2 AND name = ?3 LIMIT 1",
            )?
            .query_row(params![guid, kind, name], |r| r.get(0))
            .optional()?)
    }

    /// The instances with an open internal incident (see [`INTERNAL_INCIDENT`]).
    pub fn internal_incident_instances(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT instance_guid FROM incidents WHERE resolved_at IS NULL
             AND substr(message, 1, length(?1)) = ?1",
        )?;
        let rows = stmt.query_map(params![INTERNAL_INCIDENT], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Undelivered outbox rows, oldest first.
    pub fn pending_outbox(&self, limit: i64) -> Result<Vec<OutboxRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, instance_guid, event, payload, attempts FROM outbox WHERE delivered_at IS NULL ORDER BY id LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit], |r| {
            Ok(OutboxRow {
                id: r.get(0)?,
                instance_guid: r.get(1)?,
                event: r.get(2)?,
                payload: r.get(3)?,
                attempts: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl Tx<'_> {
    /// Replaces what an instance listens for.
    pub fn replace_subscriptions(&self, guid: &str, subs: &[SubscriptionRow]) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM subscriptions WHERE instance_guid = ?1")?
            .execute(params![guid])?;
        let mut ins = self.tx.prepare_cached(
            "INSERT INTO subscriptions (instance_guid, kind, name, correlation_key, element_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for s in subs {
            ins.execute(params![
                guid,
                s.kind,
                s.name,
                s.correlation_key,
                s.element_id
            ])?;
        }
        Ok(())
    }

    /// Changes an instance's inbox entries: removes the tasks in `gone`, adds those in `added`
    /// (a task already there keeps its row and its `created_at`). The caller knows both from
    /// the state it read and the state it writes, so nothing is read first.
    pub fn change_user_tasks(
        &self,
        guid: &str,
        gone: &[&str],
        added: &[&UserTaskRow],
        reassigned: &[&UserTaskRow],
    ) -> Result<()> {
        for id in gone {
            self.tx
                .prepare_cached("DELETE FROM user_tasks WHERE instance_guid = ?1 AND task_id = ?2")?
                .execute(params![guid, id])?;
        }
        for t in reassigned {
            self.tx
                .prepare_cached(
                    "UPDATE user_tasks SET assignee = ?3 WHERE instance_guid = ?1 AND task_id = ?2",
                )?
                .execute(params![guid, t.task_id, t.assignee])?;
        }
        if added.is_empty() {
            return Ok(());
        }
        let mut ins = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO user_tasks (instance_guid, task_id, task_type, name, form_key, responsible_user, responsible_team, created_at, assignee)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for t in added {
            ins.execute(params![
                guid,
                t.task_id,
                t.task_type,
                t.name,
                t.form_key,
                t.responsible_user,
                t.responsible_team,
                t.created_at,
                t.assignee
            ])?;
        }
        Ok(())
    }

    /// Keeps a message or callback for later; answers its id.
    #[allow(clippy::too_many_arguments)]
    pub fn buffer(
        &self,
        kind: &str,
        name: Option<&str>,
        key: Option<&str>,
        payload: &str,
        message_id: Option<&str>,
        at: &str,
        expires_at: &str,
    ) -> Result<i64> {
        self.tx.execute(
            "INSERT INTO message_buffer (kind, name, correlation_key, payload, message_id, status, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'Buffered', ?6, ?7)",
            params![kind, name, key, payload, message_id, at, expires_at],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Marks every buffered entry past its TTL Expired; answers how many.
    pub fn expire_buffer(&self, now: &str) -> Result<usize> {
        Ok(self.tx.execute("UPDATE message_buffer SET status = 'Expired' WHERE status = 'Buffered' AND expires_at <= ?1", params![now])?)
    }

    /// Remembers a `messageId` and what it answered. False if it was already there.
    pub fn record_receipt(&self, message_id: &str, outcome: &str, at: &str) -> Result<bool> {
        Ok(self.tx.execute(
            "INSERT OR IGNORE INTO message_receipts (message_id, outcome, received_at) VALUES (?1, ?2, ?3)",
            params![message_id, outcome, at],
        )? > 0)
    }

    /// Opens an incident at an element. An element has at most one open incident: when a retry
    /// fails again, the open row keeps its creation time and takes the newest message.
    pub fn open_incident(
        &self,
        guid: &str,
        element_id: &str,
        message: &str,
        at: &str,
    ) -> Result<()> {
        let updated = self.tx.execute(
            "UPDATE incidents SET message = ?3 WHERE instance_guid = ?1 AND element_id = ?2 AND resolved_at IS NULL",
            params![guid, element_id, message],
        )?;
        if updated == 0 {
            self.tx.execute(
                "INSERT INTO incidents (instance_guid, element_id, message, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![guid, element_id, message, at],
            )?;
        }
        Ok(())
    }

    /// Resolves an instance's open incidents whose element is not in `still_open` (the
    /// engine's incidents: an internal incident stays open, see `resolve_internal_incident`).
    pub fn resolve_incidents(&self, guid: &str, still_open: &[&str], at: &str) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, element_id FROM incidents WHERE instance_guid = ?1 AND resolved_at IS NULL
             AND substr(message, 1, length(?2)) <> ?2",
        )?;
        let open: Vec<(i64, String)> = stmt
            .query_map(params![guid, INTERNAL_INCIDENT], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (id, element) in open {
            if !still_open.contains(&element.as_str()) {
                self.tx.execute(
                    "UPDATE incidents SET resolved_at = ?2 WHERE id = ?1",
                    params![id, at],
                )?;
            }
        }
        Ok(())
    }

    /// Opens an instance's internal incident (a step Baton itself failed to apply, see
    /// [`INTERNAL_INCIDENT`]) at `element_id`, or gives the one already open the newest message
    /// (an instance has at most one), and marks the instance `FAILED`. Moves its revision on,
    /// so a step read before this commits is applied again. Appends `incidentRaised` to the
    /// history. False (and nothing written) when the instance has ended or does not exist.
    pub fn open_internal_incident(
        &self,
        guid: &str,
        element_id: &str,
        message: &str,
        at: &str,
    ) -> Result<bool> {
        let live = self.tx.execute(
            "UPDATE instances SET status = 'FAILED', rev = rev + 1 WHERE guid = ?1 AND ended_at IS NULL",
            params![guid],
        )?;
        if live == 0 {
            return Ok(false);
        }
        let updated = self.tx.execute(
            "UPDATE incidents SET message = ?2, element_id = ?3 WHERE instance_guid = ?1
             AND resolved_at IS NULL AND substr(message, 1, length(?4)) = ?4",
            params![guid, message, element_id, INTERNAL_INCIDENT],
        )?;
        if updated == 0 {
            self.tx.execute(
                "INSERT INTO incidents (instance_guid, element_id, message, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![guid, element_id, message, at],
            )?;
        }
        let data = serde_json::json!({"type": "incidentRaised", "elementId": element_id, "message": message});
        self.history(
            guid,
            at,
            "incidentRaised",
            Some(element_id),
            Some(&data.to_string()),
        )?;
        Ok(true)
    }

    /// Whether the instance has an open internal incident.
    pub fn has_internal_incident(&self, guid: &str) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT 1 FROM incidents WHERE instance_guid = ?1 AND resolved_at IS NULL
                 AND substr(message, 1, length(?2)) = ?2 LIMIT 1",
            )?
            .query_row(params![guid, INTERNAL_INCIDENT], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Resolves the instance's open internal incident; false when it had none.
    pub fn resolve_internal_incident(&self, guid: &str, at: &str) -> Result<bool> {
        Ok(self.tx.execute(
            "UPDATE incidents SET resolved_at = ?3 WHERE instance_guid = ?1 AND resolved_at IS NULL
             AND substr(message, 1, length(?2)) = ?2",
            params![guid, INTERNAL_INCIDENT, at],
        )? > 0)
    }

    /// Queues an outbound effect; it is delivered after this transaction commits.
    pub fn enqueue(&self, guid: Option<&str>, event: &str, payload: &str, at: &str) -> Result<i64> {
        self.tx
            .prepare_cached("INSERT INTO outbox (instance_guid, event, payload, created_at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![guid, event, payload, at])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Records a delivery attempt with its error, if any; `finished` takes the row off the queue.
    pub fn outbox_attempt(
        &self,
        id: i64,
        at: &str,
        error: Option<&str>,
        finished: bool,
    ) -> Result<()> {
        self.tx.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?3,
                 delivered_at = CASE WHEN ?4 THEN ?2 ELSE NULL END WHERE id = ?1",
            params![id, at, error, finished],
        )?;
        Ok(())
    }
}
