//! A request's log row written in the transaction of the step it causes: one commit per
//! request, and the row is there exactly when the step is.
//!
//! The door sets the row aside for its thread ([`Pending::arm`]), or for its async task
//! ([`Pending::carried_by`]), before running the configuration. The first step that thread or
//! task commits (`Runtime::persist` asks [`armed`] and calls [`Pending::write`] inside its
//! write job) carries the row with verdict `accepted`, status 200 and, as its outcome, the
//! instance and status that step committed; a step whose transaction rolls back takes the row
//! with it. [`Pending::committed`] then marks the row written, so later steps of the same
//! command do not write it again. When no step committed (the command failed, or answered
//! without a step), the door writes the row itself once, with the real outcome.
//!
//! A request with the sender's id claims that id in the same write, when it was answered 200
//! (see `dedupe`): a claim another request holds fails the write, which rolls the step back.

use crate::{Code, Error};
use baton_store::{NewWebhookRequest, Tx};
use serde_json::json;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A row the request log gained: its id, and the verdict it was recorded with (one of
/// `GetWebhookRequestListQuery`'s verdicts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kept {
    pub id: i64,
    pub verdict: &'static str,
}

impl Kept {
    pub(super) fn accepted(id: i64) -> Kept {
        Kept {
            id,
            verdict: "accepted",
        }
    }
}

/// The fields of a request-log row, owned (it travels to the writer's thread).
#[derive(Debug, Clone)]
pub(super) struct Row {
    pub(super) id: i64,
    pub(super) config_id: Option<i64>,
    pub(super) received_at: String,
    pub(super) method: String,
    pub(super) path: String,
    pub(super) headers: String,
    pub(super) query: String,
    /// Empty unless accepted.
    pub(super) body: String,
    /// What arrived, in bytes.
    pub(super) size: i64,
    pub(super) remote_addr: String,
    pub(super) trigger: &'static str,
    pub(super) replay_of: Option<i64>,
    /// The sender's id (`dedupe`); None for a replay or when it gave none.
    pub(super) sender_id: Option<String>,
    /// For a duplicate: the request that handled the id first.
    pub(super) duplicate_of: Option<i64>,
}

impl Row {
    /// Inserts the row with its verdict, status and outcome. An accepted request answered 200
    /// claims its sender's id first: Err (code DUPLICATE) when another request holds it.
    pub(super) fn insert(
        &self,
        tx: &Tx,
        verdict: &str,
        status: Option<i64>,
        outcome: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), Error> {
        if let (Some(config), Some(id), "accepted", Some(200)) =
            (self.config_id, &self.sender_id, verdict, status)
        {
            if !tx.claim_webhook_sender_id(config, id, self.id)? {
                return Err(Error::duplicate(format!(
                    "{id} was handled by another webhook request"
                )));
            }
        }
        tx.insert_webhook_request_as(
            self.id,
            &NewWebhookRequest {
                config_id: self.config_id,
                received_at: &self.received_at,
                method: &self.method,
                path: &self.path,
                headers: &self.headers,
                query: &self.query,
                body: &self.body,
                size: self.size,
                remote_addr: &self.remote_addr,
                trigger: self.trigger,
                replay_of: self.replay_of,
                verdict,
                status_code: status,
                error,
                sender_id: self.sender_id.as_deref(),
                duplicate_of: self.duplicate_of,
            },
            outcome,
        )?;
        Ok(())
    }
}

/// A row waiting for the step that will carry it.
pub(crate) struct Pending {
    row: Row,
    committed: AtomicBool,
    /// A step's write found the sender's id claimed by another request (and rolled back).
    raced: AtomicBool,
}

thread_local! {
    static ARMED: RefCell<Option<Arc<Pending>>> = const { RefCell::new(None) };
}

tokio::task_local! {
    /// The row of an async door's request (`Pending::carried_by`): a task moves between
    /// threads, and a thread runs many tasks, so the thread's own slot cannot say it.
    static CARRIED: Arc<Pending>;
}

/// The row the current thread's (or async task's) next step must write, if any.
pub(crate) fn armed() -> Option<Arc<Pending>> {
    let row = ARMED
        .with(|a| a.borrow().clone())
        .or_else(|| CARRIED.try_with(Arc::clone).ok())?;
    (!row.is_committed()).then_some(row)
}

/// Disarms the thread when dropped (also when the command panics).
pub(super) struct Armed(pub(super) Arc<Pending>);

impl Drop for Armed {
    fn drop(&mut self) {
        ARMED.with(|a| a.borrow_mut().take());
    }
}

impl Pending {
    /// Sets `row` aside for the next step this thread commits.
    pub(super) fn arm(row: Row) -> Armed {
        let p = Pending::new(row);
        ARMED.with(|a| *a.borrow_mut() = Some(p.clone()));
        Armed(p)
    }

    pub(super) fn new(row: Row) -> Arc<Pending> {
        Arc::new(Pending {
            row,
            committed: AtomicBool::new(false),
            raced: AtomicBool::new(false),
        })
    }

    /// Runs `work` with this row set aside for the first step it commits, on whatever thread
    /// polls it (the async door's `arm`).
    pub(super) fn carried_by<F: std::future::Future>(
        self: Arc<Self>,
        work: F,
    ) -> impl std::future::Future<Output = F::Output> {
        CARRIED.scope(self, Box::pin(work))
    }

    /// In the step's transaction: the row, as the step committed it.
    pub(crate) fn write(&self, tx: &Tx, guid: &str, status: &str) -> Result<(), Error> {
        let outcome = json!({"instanceGuid": guid, "status": status}).to_string();
        let written = self
            .row
            .insert(tx, "accepted", Some(200), Some(&outcome), None);
        if written.as_ref().is_err_and(|e| e.is(Code::Duplicate)) {
            self.raced.store(true, Ordering::Release);
        }
        written
    }

    /// Whether a step's write found the sender's id claimed by another request.
    pub(super) fn raced(&self) -> bool {
        self.raced.load(Ordering::Acquire)
    }

    /// After the step's commit: the row is stored; later steps leave it alone.
    pub(crate) fn committed(&self) {
        self.committed.store(true, Ordering::Release);
        ARMED.with(|a| a.borrow_mut().take());
    }

    pub(super) fn is_committed(&self) -> bool {
        self.committed.load(Ordering::Acquire)
    }

    pub(super) fn row(&self) -> &Row {
        &self.row
    }
}
