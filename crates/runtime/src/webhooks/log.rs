//! A request's log row written in the transaction of the step it causes: one commit per
//! request, and the row is there exactly when the step is.
//!
//! The door sets the row aside for its thread ([`Pending::arm`]) before running the
//! configuration. The first step that thread commits (`Runtime::persist` asks [`armed`] and
//! calls [`Pending::write`] inside its write job) carries the row with verdict `accepted`,
//! status 200 and, as its outcome, the instance and status that step committed; a step whose
//! transaction rolls back takes the row with it. [`Pending::committed`] then disarms the
//! thread, so later steps of the same command do not write it again. When no step committed
//! (the command failed, or answered without a step), the door writes the row itself once,
//! with the real outcome.

use crate::Error;
use baton_store::{NewWebhookRequest, Tx};
use serde_json::json;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
}

impl Row {
    /// Inserts the row with its verdict, status and outcome.
    pub(super) fn insert(
        &self,
        tx: &Tx,
        verdict: &str,
        status: Option<i64>,
        outcome: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), Error> {
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
}

thread_local! {
    static ARMED: RefCell<Option<Arc<Pending>>> = const { RefCell::new(None) };
}

/// The row the current thread's next step must write, if any.
pub(crate) fn armed() -> Option<Arc<Pending>> {
    ARMED.with(|a| a.borrow().clone())
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
        let p = Arc::new(Pending {
            row,
            committed: AtomicBool::new(false),
        });
        ARMED.with(|a| *a.borrow_mut() = Some(p.clone()));
        Armed(p)
    }

    /// In the step's transaction: the row, as the step committed it.
    pub(crate) fn write(&self, tx: &Tx, guid: &str, status: &str) -> Result<(), Error> {
        let outcome = json!({"instanceGuid": guid, "status": status}).to_string();
        self.row
            .insert(tx, "accepted", Some(200), Some(&outcome), None)
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
