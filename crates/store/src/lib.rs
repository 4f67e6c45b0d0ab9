//! Baton's durable state in one SQLite file.
//!
//! Design decisions:
//! - One connection per `Store`, opened in WAL mode with foreign keys on and a busy timeout, so
//!   a reader never blocks the writer and a second process waits instead of failing.
//! - `synchronous=FULL` by default: a commit that returned is on disk. `Durability::Normal`
//!   (WAL + NORMAL) is offered for benchmarks and desktop use where losing the last commits on a
//!   power cut (never on a process crash) is acceptable; the choice is the caller's and visible.
//! - Versioned migrations (`migrations.rs`) keyed by `PRAGMA user_version`; each runs in its own
//!   transaction, so a failed upgrade leaves the file at the previous version.
//! - The store knows nothing of BPMN: instance state is the engine's serialised JSON, stored as
//!   text. `Tx` groups the writes of one engine step into one transaction.

mod access;
mod buffer;
mod callbacks;
mod events;
mod faults;
mod history;
mod log_thread;
mod migrations;
mod schedule;
mod webhook_apps;
mod webhooks;
mod work;

pub use access::{
    may_work, page_window, Grant, TokenRow, UserRow, Viewer, MAX_PAGE_NUMBER, MAX_PAGE_SIZE,
};
pub use events::{
    Attempt, CustomWebhookRow, DeliveryRow, EventSource, EventSubscriptionRow, NewDelivery,
};
pub use history::{StepEvent, StepRow, HISTORY_STEP};
pub use migrations::SCHEMA_VERSION;
pub use schedule::{JobRow, NewJob, RunRow, TimerRow};
pub use webhook_apps::WebhookAppRow;
pub use webhooks::{NewWebhookConfig, NewWebhookRequest, WebhookConfigRow, WebhookRequestRow};
pub use work::{
    BufferedRow, IncidentRow, OutboxRow, SubscriptionRow, UserTaskRow, INTERNAL_INCIDENT,
};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;

/// Everything that can go wrong in the store. Each variant says what the caller should do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused (I/O, corruption, constraint). The transaction was rolled back.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer Baton.
    #[error("the database is at schema version {found}, newer than this Baton understands ({supported})")]
    TooNew { found: i64, supported: i64 },
    /// A row the caller named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Another writer changed the row first (an instance's `rev` moved on), or a unique name is
    /// taken. Nothing was written; re-read and try again, or report it.
    #[error("{0}")]
    Conflict(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: every acknowledged commit survives a power cut.
    Full,
    /// `synchronous=NORMAL` in WAL mode: survives a crash of Baton, may lose the last commits on
    /// a power cut.
    Normal,
}

pub struct Store {
    pub(crate) conn: Connection,
    /// The write-ahead log's size as the last commit left it, and whether checkpoints wait for
    /// `checkpoint_if_due` (see `defer_checkpoints`).
    wal: Arc<WalState>,
}

#[derive(Default)]
struct WalState {
    pages: AtomicI32,
    defer: AtomicBool,
    /// Syncs and checkpoints the log beside the commits (a file under `synchronous=NORMAL`
    /// only).
    log_thread: Option<log_thread::LogThread>,
}

impl WalState {
    /// With the log at twice the size its checkpoint is due at or more, waits until the log's
    /// own thread is not checkpointing (whose checkpoint would refuse this one as busy) and
    /// keeps it from starting one: the log must start again from its beginning some time.
    fn quiet_if_far_past(&self, pages: i32, due: i32) -> Option<std::sync::MutexGuard<'_, ()>> {
        let thread = self.log_thread.as_ref()?;
        (pages >= 2 * due).then(|| thread.quiet())
    }
}

/// The log size at which a checkpoint copies the log into the database file (SQLite's own
/// default for its automatic checkpoint).
const CHECKPOINT_PAGES: i32 = 1000;

/// Past this size a commit checkpoints at once even when checkpoints are deferred: a writer
/// that defers them but never calls `checkpoint_if_due` cannot let the log grow without bound.
const CHECKPOINT_BACKSTOP: i32 = 8 * CHECKPOINT_PAGES;

/// A filter's value for `page_of`: None when the filter is not given.
pub(crate) fn given<T: rusqlite::ToSql>(v: &Option<T>) -> Option<&dyn rusqlite::ToSql> {
    v.as_ref().map(|v| v as &dyn rusqlite::ToSql)
}

/// One page of a table's rows and the number of rows that match: `select` (a `SELECT ... FROM
/// table`) with each filter that is given (a condition with one `?`, such as `status = ?`;
/// `None` for none), ordered by `order`. `scope` is a condition that is always there and refers
/// to its own arguments as `?1`, `?2`, ... (a viewer's access; `""` for none). Only the
/// filters given are in the statement: `(?1 IS NULL OR column = ?1)` would keep SQLite from
/// using the column's index, and the count and the page would read the whole table. `page`:
/// `(number from 1, size)`; `None`: every row, and their number is not counted apart.
pub(crate) fn page_of<T>(
    conn: &Connection,
    (table, select, order): (&str, &str, &str),
    (scope, scope_args): (&str, &[&dyn rusqlite::ToSql]),
    filters: &[(&str, Option<&dyn rusqlite::ToSql>)],
    page: Option<(i64, i64)>,
    row: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Result<(Vec<T>, i64)> {
    let mut args: Vec<&dyn rusqlite::ToSql> = scope_args.to_vec();
    let mut conditions: Vec<String> = Vec::new();
    if !scope.is_empty() {
        conditions.push(scope.to_string());
    }
    for (condition, value) in filters {
        if let Some(v) = value {
            args.push(*v);
            conditions.push(condition.replace('?', &format!("?{}", args.len())));
        }
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let total: Option<i64> = match page {
        Some(_) => Some(
            conn.prepare_cached(&format!("SELECT COUNT(*) FROM {table} {filter}"))?
                .query_row(args.as_slice(), |r| r.get(0))?,
        ),
        None => None,
    };
    let (size, offset) = match page {
        Some((page, size)) => (size, page.saturating_sub(1).saturating_mul(size)),
        None => (-1, 0),
    };
    let n = args.len();
    args.push(&size);
    args.push(&offset);
    let mut stmt = conn.prepare_cached(&format!(
        "{select} {filter} ORDER BY {order} LIMIT ?{} OFFSET ?{}",
        n + 1,
        n + 2
    ))?;
    let rows = stmt
        .query_map(args.as_slice(), row)?
        .collect::<rusqlite::Result<Vec<T>>>()?;
    let total = total.unwrap_or(rows.len() as i64);
    Ok((rows, total))
}

/// A stored process definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Definition {
    pub process_definition_id: i64,
    pub process_key: String,
    pub version: i64,
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bpmn_xml: Option<String>,
    /// `{formKey: formJson}` as deployed.
    pub forms: serde_json::Value,
    pub deployed_at: String,
}

/// A stored process instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceRow {
    pub instance_guid: String,
    pub process_definition_id: i64,
    pub status: String,
    /// The engine's serialised instance state.
    pub state: String,
    pub business_key: Option<String>,
    pub correlation_id: Option<String>,
    pub started_at: String,
    pub ended_at: Option<String>,
    /// Bumped by every update: the optimistic-concurrency check of `Tx::update_instance`.
    pub rev: i64,
    /// The user whose command started the instance (None: the owner, the scheduler, or an
    /// instance from before schema version 10). What a non-administrator may read follows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
}

/// One entry of an instance's append-only history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    pub seq: i64,
    pub at: String,
    /// `elementEntered`, `elementCompleted`, `variablesChanged`, `callback`, `incident`, ...
    pub kind: String,
    pub element_id: Option<String>,
    pub data: Option<String>,
}

/// A CallbackRegistry row, with the fields of seed 002.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallbackRow {
    pub id: i64,
    pub parent_instance_id: String,
    pub callback_task_id: String,
    pub correlation_key: Option<String>,
    pub callback_type: String,
    pub status: String,
    pub parent_process_state: Option<String>,
    pub result_data: Option<String>,
    pub completed_at: Option<String>,
    pub webhook_url: Option<String>,
    pub message_ref: Option<String>,
    pub timeout_minutes: Option<f64>,
    /// Set for a form-mode receive task (completed by SignalProcessInstanceCommand); absent in
    /// webhook mode (completed by ReturnCallbackCommand).
    pub form_key: Option<String>,
}

impl Store {
    /// Opens (creating if needed) a database file and brings its schema up to date.
    pub fn open(path: &Path, durability: Durability) -> Result<Store> {
        let conn = Connection::open(path)?;
        let log_thread = (durability == Durability::Normal)
            .then(|| log_thread::LogThread::new(path, CHECKPOINT_PAGES));
        Store::init(conn, durability, log_thread)
    }

    /// A private in-memory database with every migration applied (tests).
    pub fn open_in_memory() -> Result<Store> {
        Store::init(Connection::open_in_memory()?, Durability::Full, None)
    }

    /// A database held in memory under `name`, shared by every connection of this process that
    /// opens the same name (SQLite's `memdb` VFS, with ordinary locking, so a writer and a
    /// reader connection work as on a file). It lives until its last connection closes.
    /// Simulations run the runtime on it. The name must not contain `?` or `#`.
    pub fn open_memory(name: &str) -> Result<Store> {
        let conn = Connection::open(format!("file:/{name}?vfs=memdb"))?;
        // Nothing to sync in memory: FULL and NORMAL differ only in disk syncs.
        Store::init(conn, Durability::Normal, None)
    }

    fn init(
        mut conn: Connection,
        durability: Durability,
        log_thread: Option<log_thread::LogThread>,
    ) -> Result<Store> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(
            None,
            "synchronous",
            if durability == Durability::Full {
                "FULL"
            } else {
                "NORMAL"
            },
        )?;
        // Every step runs a dozen cached statements on each connection (transaction control,
        // instance, history, indexes): room for all of them, so none is parsed twice.
        conn.set_prepared_statement_cache_capacity(64);
        let wal = Arc::new(WalState {
            log_thread,
            ..WalState::default()
        });
        let state = wal.clone();
        // SQLite's automatic checkpoint, made here so that a writer can defer it.
        conn.wal_hook(Some(move |log: &mut rusqlite::hooks::Wal, pages: i32| {
            state.pages.store(pages, Ordering::Relaxed);
            if let Some(thread) = &state.log_thread {
                thread.committed(pages);
            }
            let limit = if state.defer.load(Ordering::Relaxed) {
                CHECKPOINT_BACKSTOP
            } else {
                CHECKPOINT_PAGES
            };
            // The COMMIT that called this has happened: an error from here would make it report a
            // failure all the same. A checkpoint that could not run is tried after the next one.
            if pages >= limit {
                let _quiet = state.quiet_if_far_past(pages, limit);
                let _ = log.checkpoint();
            }
            Ok(())
        }))?;
        let mut store = Store { conn, wal };
        migrations::apply(&mut store.conn)?;
        Ok(store)
    }

    /// Defers the checkpoint a commit would run (once the log passed 1,000 pages) to
    /// `checkpoint_if_due`, so that a group commit can answer the commands it committed first
    /// and copy the log into the database file (with its disk syncs) while they go on.
    pub fn defer_checkpoints(&self, on: bool) {
        self.wal.defer.store(on, Ordering::Relaxed);
    }

    /// Runs the checkpoint deferred by `defer_checkpoints` when the log has passed its size.
    /// When the log's own thread is checkpointing at that moment (see `log_thread`) this one is
    /// refused as busy and left for the next call.
    pub fn checkpoint_if_due(&self) -> Result<()> {
        let pages = self.wal.pages.load(Ordering::Relaxed);
        if pages >= CHECKPOINT_PAGES {
            let _quiet = self.wal.quiet_if_far_past(pages, CHECKPOINT_PAGES);
            match self
                .conn
                .wal_checkpoint_v2(None::<&str>, rusqlite::wal::CheckpointMode::PASSIVE)
            {
                Ok(_) => self.wal.pages.store(0, Ordering::Relaxed),
                // The log's own thread is checkpointing: try again after the next commit.
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy => {}
                Err(e) => {
                    self.wal.pages.store(0, Ordering::Relaxed);
                    return Err(e.into());
                }
            }
        }
        Ok(())
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Starts one write transaction: everything an engine step changes commits together.
    pub fn transaction(&mut self) -> Result<Tx<'_>> {
        control(&self.conn, "BEGIN IMMEDIATE")?;
        Ok(Tx {
            tx: &self.conn,
            nested: false,
            open: true,
        })
    }

    pub fn definition(&self, id: i64, with_xml: bool) -> Result<Definition> {
        self.conn
            .query_row(
                "SELECT id, process_key, version, name, bpmn_xml, forms, deployed_at FROM definitions WHERE id = ?1",
                params![id],
                |r| definition_row(r, with_xml),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no process definition {id}")))
    }

    /// The newest version of a process key.
    pub fn latest_definition(&self, key: &str) -> Result<Definition> {
        self.conn
            .query_row(
                "SELECT id, process_key, version, name, bpmn_xml, forms, deployed_at FROM definitions
                 WHERE process_key = ?1 ORDER BY version DESC LIMIT 1",
                params![key],
                |r| definition_row(r, true),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no process definition with key '{key}'")))
    }

    /// The newest version of every process key (without XML), however many are deployed.
    pub fn latest_definitions(&self) -> Result<Vec<Definition>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, process_key, version, name, NULL, forms, deployed_at FROM definitions
             WHERE id IN (SELECT MAX(id) FROM definitions GROUP BY process_key) ORDER BY id DESC",
        )?;
        let rows = stmt.query_map([], |r| definition_row(r, false))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The id of one version of a process key.
    pub fn definition_version(&self, key: &str, version: i64) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM definitions WHERE process_key = ?1 AND version = ?2",
                params![key, version],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// A page of definitions (without XML), newest first, and the total count.
    pub fn definitions(
        &self,
        key: Option<&str>,
        page: i64,
        size: i64,
    ) -> Result<(Vec<Definition>, i64)> {
        let (size, offset) = page_window(page, size);
        let total: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM definitions WHERE ?1 IS NULL OR process_key = ?1",
            params![key],
            |r| r.get(0),
        )?;
        let mut stmt = self.conn.prepare(
            "SELECT id, process_key, version, name, NULL, forms, deployed_at FROM definitions
             WHERE ?1 IS NULL OR process_key = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3",
        )?;
        let rows = stmt.query_map(params![key, size, offset], |r| definition_row(r, false))?;
        Ok((rows.collect::<rusqlite::Result<_>>()?, total))
    }

    pub fn instance(&self, guid: &str) -> Result<InstanceRow> {
        self.conn
            .prepare_cached(
                "SELECT guid, definition_id, status, state, business_key, correlation_id, started_at, ended_at, rev, started_by
                 FROM instances WHERE guid = ?1",
            )?
            .query_row(params![guid], instance_row)
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no process instance '{guid}'")))
    }

    /// A page of instances, newest first, filtered by status and process key and to what the
    /// viewer may read (None: every instance), and the total.
    pub fn instances(
        &self,
        status: Option<&str>,
        key: Option<&str>,
        viewer: Option<&Viewer>,
        page: i64,
        size: i64,
    ) -> Result<(Vec<InstanceRow>, i64)> {
        let (size, offset) = page_window(page, size);
        let scope = self.scope(viewer)?;
        let filter = format!(
            "FROM instances i JOIN definitions d ON d.id = i.definition_id
             WHERE (?5 IS NULL OR i.status = ?5) AND (?6 IS NULL OR d.process_key = ?6) AND {}",
            access::readable("i.guid")
        );
        let total: i64 = self.conn.query_row(
            &format!("SELECT COUNT(*) {filter}"),
            params![scope.all, scope.user, scope.teams, scope.tasks, status, key],
            |r| r.get(0),
        )?;
        // The list shows no state: '' instead of reading every row's JSON.
        let mut stmt = self.conn.prepare(&format!(
            "SELECT i.guid, i.definition_id, i.status, '', i.business_key, i.correlation_id, i.started_at, i.ended_at, i.rev, i.started_by
             {filter} ORDER BY i.rowid DESC LIMIT ?7 OFFSET ?8"
        ))?;
        let rows = stmt.query_map(
            params![
                scope.all,
                scope.user,
                scope.teams,
                scope.tasks,
                status,
                key,
                size,
                offset
            ],
            instance_row,
        )?;
        Ok((rows.collect::<rusqlite::Result<_>>()?, total))
    }

    /// Every instance that is waiting or failed (the candidates for messages and signals), oldest first.
    pub fn open_instances(&self) -> Result<Vec<InstanceRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT guid, definition_id, status, state, business_key, correlation_id, started_at, ended_at, rev, started_by
             FROM instances WHERE status IN ('WAITING', 'FAILED') ORDER BY rowid",
        )?;
        let rows = stmt.query_map([], instance_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The newest instance started with this correlation id.
    pub fn instance_by_correlation_id(&self, correlation_id: &str) -> Result<InstanceRow> {
        self.conn
            .query_row(
                "SELECT guid, definition_id, status, state, business_key, correlation_id, started_at, ended_at, rev, started_by
                 FROM instances WHERE correlation_id = ?1 ORDER BY rowid DESC LIMIT 1",
                params![correlation_id],
                instance_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no process instance with correlation id '{correlation_id}'")))
    }

    /// CallbackRegistry rows, optionally filtered by status and instance, of the instances the
    /// viewer may read (None: all), oldest first.
    pub fn callbacks(
        &self,
        status: Option<&str>,
        instance: Option<&str>,
        viewer: Option<&Viewer>,
    ) -> Result<Vec<CallbackRow>> {
        let filter = CallbackFilter {
            status,
            instance,
            ..CallbackFilter::default()
        };
        Ok(self.callback_page(&filter, viewer, None)?.0)
    }

    /// A page of the CallbackRegistry rows `filter` selects, of the instances the viewer may read
    /// (None: all), with how many rows it selects in all. `page`: `(number from 1, size)`, newest
    /// first; None: every row, oldest first.
    pub fn callback_page(
        &self,
        filter: &CallbackFilter,
        viewer: Option<&Viewer>,
        page: Option<(i64, i64)>,
    ) -> Result<(Vec<CallbackRow>, i64)> {
        let scope = self.scope(viewer)?;
        // A key's part matches as it is written: LIKE's own wildcards are escaped.
        let key = filter.key_contains.map(|k| {
            let escaped = k
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        // Only the filters given are in the statement, so that `parent_instance_id = ?` can
        // use its index.
        page_of(
            &self.conn,
            (
                "callback_registry",
                "SELECT id, parent_instance_id, callback_task_id, correlation_key, callback_type, status,
                        parent_process_state, result_data, completed_at, webhook_url, message_ref, timeout_minutes, form_key
                 FROM callback_registry",
                if page.is_some() { "id DESC" } else { "id ASC" },
            ),
            (
                &access::readable("parent_instance_id"),
                &[&scope.all, &scope.user, &scope.teams, &scope.tasks],
            ),
            &[
                ("status = ?", given(&filter.status)),
                ("parent_instance_id = ?", given(&filter.instance)),
                ("correlation_key LIKE ? ESCAPE '\\'", given(&key)),
                (
                    "parent_instance_id IN (SELECT i.guid FROM instances i JOIN definitions d
                     ON d.id = i.definition_id WHERE d.process_key = ?)",
                    given(&filter.process_key),
                ),
            ],
            page,
            callback_row,
        )
    }

    /// The Pending callback for a correlation key, if any: a webhook-mode row before a form-mode
    /// one, then the oldest.
    ///
    /// Picked here, not by an ORDER BY: with an ORDER BY next to `correlation_key = ?1`, SQLite
    /// (built with STAT4) compiles the statement again on every run with a new key, which cost
    /// more than the rest of the lookup. A key has one Pending row, rarely two.
    ///
    /// The row comes without the state snapshot taken when the callback was registered
    /// (`parent_process_state` is None): it is as large as the instance's variables, and a
    /// callback on its way needs only whose it is. `callbacks` has it.
    pub fn pending_callback(&self, key: &str) -> Result<Option<CallbackRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, parent_instance_id, callback_task_id, correlation_key, callback_type, status,
                    NULL, result_data, completed_at, webhook_url, message_ref, timeout_minutes, form_key
             FROM callback_registry WHERE correlation_key = ?1 AND status = 'Pending'",
        )?;
        let rows = stmt.query_map(params![key], callback_row)?;
        let mut best: Option<CallbackRow> = None;
        for row in rows {
            let row = row?;
            let rank = |r: &CallbackRow| (r.form_key.is_some(), r.id);
            if best.as_ref().is_none_or(|b| rank(&row) < rank(b)) {
                best = Some(row);
            }
        }
        Ok(best)
    }
}

/// One write transaction, or a savepoint inside one. Dropped without `commit`, it rolls back
/// (a savepoint only its own writes: that is how one command of a group commit fails alone).
pub struct Tx<'a> {
    pub(crate) tx: &'a Connection,
    nested: bool,
    open: bool,
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            if self.nested {
                let _ = control(self.tx, "ROLLBACK TO baton_step");
                let _ = control(self.tx, "RELEASE baton_step");
            } else {
                let _ = control(self.tx, "ROLLBACK");
            }
        }
    }
}

impl Tx<'_> {
    /// A savepoint inside this transaction: `commit` keeps its writes in the enclosing
    /// transaction, dropping it undoes them and nothing else.
    pub fn savepoint(&self) -> Result<Tx<'_>> {
        control(self.tx, "SAVEPOINT baton_step")?;
        Ok(Tx {
            tx: self.tx,
            nested: true,
            open: true,
        })
    }

    /// Stores a new version of `key`; answers (processDefinitionId, version).
    pub fn deploy(
        &self,
        key: &str,
        name: Option<&str>,
        xml: &str,
        forms: &serde_json::Value,
        at: &str,
    ) -> Result<(i64, i64)> {
        let version: i64 = self.tx.query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM definitions WHERE process_key = ?1",
            params![key],
            |r| r.get(0),
        )?;
        self.tx.execute(
            "INSERT INTO definitions (process_key, version, name, bpmn_xml, forms, deployed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![key, version, name, xml, forms.to_string(), at],
        )?;
        Ok((self.tx.last_insert_rowid(), version))
    }

    pub fn insert_instance(&self, row: &InstanceRow) -> Result<()> {
        self.tx.prepare_cached(
            "INSERT INTO instances (guid, definition_id, status, state, business_key, correlation_id, started_at, ended_at, started_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
                row.instance_guid,
                row.process_definition_id,
                row.status,
                row.state,
                row.business_key,
                row.correlation_id,
                row.started_at,
                row.ended_at,
                row.started_by
            ],
        )?;
        Ok(())
    }

    /// Saves the new state of an instance after an engine step, if nobody else saved it since
    /// `rev` was read: otherwise `Conflict`, and nothing is written.
    pub fn update_instance(
        &self,
        guid: &str,
        rev: i64,
        status: &str,
        state: &str,
        ended_at: Option<&str>,
    ) -> Result<()> {
        let n = self.tx.prepare_cached(
            "UPDATE instances SET status = ?3, state = ?4, ended_at = COALESCE(?5, ended_at), rev = rev + 1
             WHERE guid = ?1 AND rev = ?2",
        )?
        .execute(params![guid, rev, status, state, ended_at])?;
        if n == 0 {
            let exists: bool = self.tx.query_row(
                "SELECT COUNT(*) > 0 FROM instances WHERE guid = ?1",
                params![guid],
                |r| r.get(0),
            )?;
            return Err(if exists {
                StoreError::Conflict(format!(
                    "process instance '{guid}' was changed by another command"
                ))
            } else {
                StoreError::NotFound(format!("no process instance '{guid}'"))
            });
        }
        Ok(())
    }

    /// Registers a Pending callback (a receive task arrived).
    #[allow(clippy::too_many_arguments)]
    pub fn register_callback(
        &self,
        instance: &str,
        task_id: &str,
        key: Option<&str>,
        message: Option<&str>,
        form_key: Option<&str>,
        webhook_url: Option<&str>,
        timeout_minutes: Option<f64>,
        state: Option<&str>,
        at: &str,
    ) -> Result<i64> {
        self.tx
            .prepare_cached(
                "INSERT INTO callback_registry (parent_instance_id, callback_task_id, correlation_key, callback_type, status,
                     parent_process_state, webhook_url, message_ref, timeout_minutes, created_at, form_key)
                 VALUES (?1, ?2, ?3, 'External', 'Pending', ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![instance, task_id, key, state, webhook_url, message, timeout_minutes, at, form_key])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Moves a Pending callback of a task to `status` (Completed, Failed, Expired). Answers
    /// whether a Pending row was found: a second completion finds none and changes nothing.
    pub fn close_callback(
        &self,
        instance: &str,
        task_id: &str,
        status: &str,
        result: Option<&str>,
        at: &str,
    ) -> Result<bool> {
        let n = self
            .tx
            .prepare_cached(
                "UPDATE callback_registry SET status = ?3, result_data = ?4, completed_at = ?5
                 WHERE parent_instance_id = ?1 AND callback_task_id = ?2 AND status = 'Pending'",
            )?
            .execute(params![instance, task_id, status, result, at])?;
        Ok(n > 0)
    }

    /// Rows inserted, updated or deleted on this connection so far (by statements that
    /// completed): a caller compares two readings to learn whether something was written.
    pub fn total_changes(&self) -> u64 {
        self.tx.total_changes()
    }

    /// Whether the transaction is still open (SQLite rolls it back by itself after some errors,
    /// such as a full disk).
    pub fn is_open(&self) -> bool {
        !self.tx.is_autocommit()
    }

    /// Commits (a savepoint: releases it into the enclosing transaction). On an error the
    /// transaction is rolled back when dropped.
    pub fn commit(mut self) -> Result<()> {
        control(
            self.tx,
            if self.nested {
                "RELEASE baton_step"
            } else {
                "COMMIT"
            },
        )?;
        self.open = false;
        Ok(())
    }
}

/// Runs a transaction-control statement (BEGIN, SAVEPOINT, RELEASE, COMMIT, ROLLBACK) from the
/// statement cache: every step runs several, and parsing each anew cost more than its work.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn definition_row(r: &rusqlite::Row, with_xml: bool) -> rusqlite::Result<Definition> {
    let forms: String = r.get(5)?;
    Ok(Definition {
        process_definition_id: r.get(0)?,
        process_key: r.get(1)?,
        version: r.get(2)?,
        name: r.get(3)?,
        bpmn_xml: if with_xml { r.get(4)? } else { None },
        forms: serde_json::from_str(&forms).unwrap_or(serde_json::Value::Null),
        deployed_at: r.get(6)?,
    })
}

fn instance_row(r: &rusqlite::Row) -> rusqlite::Result<InstanceRow> {
    Ok(InstanceRow {
        instance_guid: r.get(0)?,
        process_definition_id: r.get(1)?,
        status: r.get(2)?,
        state: r.get(3)?,
        business_key: r.get(4)?,
        correlation_id: r.get(5)?,
        started_at: r.get(6)?,
        ended_at: r.get(7)?,
        rev: r.get(8)?,
        started_by: r.get(9)?,
    })
}

pub(crate) fn callback_row(r: &rusqlite::Row) -> rusqlite::Result<CallbackRow> {
    Ok(CallbackRow {
        id: r.get(0)?,
        parent_instance_id: r.get(1)?,
        callback_task_id: r.get(2)?,
        correlation_key: r.get(3)?,
        callback_type: r.get(4)?,
        status: r.get(5)?,
        parent_process_state: r.get(6)?,
        result_data: r.get(7)?,
        completed_at: r.get(8)?,
        webhook_url: r.get(9)?,
        message_ref: r.get(10)?,
        timeout_minutes: r.get(11)?,
        form_key: r.get(12)?,
    })
}

/// SQLite's own commit rate on this machine, for comparison with Baton's durable figures: one
/// small row per transaction into a fresh file at `path` (deleted first and after), WAL, the
/// given durability, for about `seconds`. Answers commits per second.
pub fn probe_commit_rate(path: &Path, durability: Durability, seconds: f64) -> Result<f64> {
    let remove = |p: &Path| {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
        }
    };
    remove(path);
    let rate = {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(
            None,
            "synchronous",
            if durability == Durability::Full {
                "FULL"
            } else {
                "NORMAL"
            },
        )?;
        conn.execute_batch("CREATE TABLE probe (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")?;
        let started = std::time::Instant::now();
        let mut n = 0u64;
        while started.elapsed().as_secs_f64() < seconds {
            control(&conn, "BEGIN IMMEDIATE")?;
            conn.prepare_cached("INSERT INTO probe (v) VALUES (?1)")?
                .execute(params!["payload"])?;
            control(&conn, "COMMIT")?;
            n += 1;
        }
        n as f64 / started.elapsed().as_secs_f64()
    };
    remove(path);
    Ok(rate)
}

/// Which CallbackRegistry rows `Store::callback_page` selects (None: any).
#[derive(Debug, Clone, Copy, Default)]
pub struct CallbackFilter<'a> {
    pub status: Option<&'a str>,
    pub instance: Option<&'a str>,
    /// Rows whose correlation key contains this text, ignoring the case of ASCII letters (as
    /// SQLite's LIKE does).
    pub key_contains: Option<&'a str>,
    /// Rows of instances of any version of this process.
    pub process_key: Option<&'a str>,
}
