//! Isolation: a panic (a bug met by one instance, row or run) ends that one piece of work, never
//! the thread that carried it.
//!
//! - A step that panics (the engine, or the runtime preparing its writes) fails as an internal
//!   error: nothing of it is committed, the caller sees "internal error; reference …" and the
//!   log has the panic's text under that reference. A timer whose step panicked is tried again a
//!   minute later (see `schedule`), like any timer whose firing failed.
//! - A write job that panics inside a group commit fails alone: the batch rolls it back like any
//!   failed job and the other commands of the batch commit (see `batch`).
//! - A recurring job's run that panics ends `Failed` with a plain message (see `jobs`).
//! - An outbox row whose delivery panics is marked failed with a plain message (a queued command
//!   also gets `commandFailed` in its instance's history) and the loop goes on with the next row.
//! - A background loop (the scheduler, the delivery sender) whose pass panics logs it, pauses a
//!   second and goes on.
//!
//! No answer carries a panic's text: it becomes an internal error, shown as a reference.

use crate::{Error, Runtime};
use serde_json::{json, Value};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// The text of a panic's payload (`panic!` with a literal or a formatted message).
pub(crate) fn panic_text(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

/// Runs `f`; a panic inside it becomes an internal error ("`what` panicked: …", for the log
/// only: callers see a reference).
pub(crate) fn guard<T>(what: &str, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => Err(Error::internal(format!(
            "{what} panicked: {}",
            panic_text(&*panic)
        ))),
    }
}

/// Where [`Runtime::panic_next`] makes the runtime panic on purpose (tests of isolation only).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanicSite {
    /// A step, before the engine applies its event (starts and updates alike).
    Step,
    /// A recurring job's run, before it does anything.
    JobRun,
    /// The delivery of a queued command's outbox row, before its command runs.
    QueuedCommand,
    /// An outbound delivery (subscription or custom webhook), before its request is built.
    Delivery,
}

/// Test hook behind [`Runtime::panic_next`]: how many panics each site still owes.
#[derive(Default)]
pub(crate) struct Panics([AtomicUsize; 4]);

impl Panics {
    /// Panics when `site` still owes one.
    pub(crate) fn hit(&self, site: PanicSite) {
        let slot = &self.0[site as usize];
        if slot
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
        {
            panic!("a panic on purpose at {site:?} (test hook)");
        }
    }
}

/// Test hook behind [`Runtime::hold_steps`]: while closed, steps wait before they are prepared.
#[derive(Default)]
pub(crate) struct Gate {
    /// Whether it is closed, read without the lock on every step (it almost never is).
    closed: AtomicBool,
    /// (closed, steps waiting at it)
    state: Mutex<(bool, usize)>,
    cv: Condvar,
}

impl Gate {
    /// Waits while the gate is closed.
    pub(crate) fn pass(&self) {
        if !self.closed.load(Ordering::Acquire) {
            return;
        }
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !s.0 {
            return;
        }
        s.1 += 1;
        self.cv.notify_all();
        while s.0 {
            s = self.cv.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.1 -= 1;
        self.cv.notify_all();
    }
}

/// How many outbox rows one delivery marks failed after panics before it leaves the rest for
/// the next delivery (a bound, so a bug that panics on every row cannot spin forever).
const MAX_PANICS_PER_DELIVERY: usize = 100;

impl Runtime {
    /// Test hook, for isolation tests only: the next `n` passes through `site` panic. Answers
    /// how many of the panics set before for that site were still unused.
    #[doc(hidden)]
    pub fn panic_next(&self, site: PanicSite, n: usize) -> usize {
        self.panics.0[site as usize].swap(n, Ordering::AcqRel)
    }

    /// Test hook, for tests of what runs while steps are under way: while `held`, every step
    /// waits before it is prepared (as if its scripts were slow); `false` lets them all go.
    #[doc(hidden)]
    pub fn hold_steps(&self, held: bool) {
        let mut s = self.gate.state.lock().unwrap_or_else(|p| p.into_inner());
        s.0 = held;
        self.gate.closed.store(held, Ordering::Release);
        self.gate.cv.notify_all();
    }

    /// Test hook: waits until `n` steps wait at the gate of `hold_steps` (at most `limit`);
    /// answers how many do.
    #[doc(hidden)]
    pub fn steps_held(&self, n: usize, limit: std::time::Duration) -> usize {
        let s = self.gate.state.lock().unwrap_or_else(|p| p.into_inner());
        let (s, _) = self
            .gate
            .cv
            .wait_timeout_while(s, limit, |s| s.1 < n)
            .unwrap_or_else(|p| p.into_inner());
        s.1
    }

    /// Delivers the outbox (see `correlation`), surviving a row whose delivery panics: the
    /// delivery loop marks each row when it is done with it, in id order, so the row under way
    /// when it panicked is the oldest one still pending. That row is marked failed with a plain
    /// message and the delivery goes on with the rest.
    pub(crate) fn deliver_outbox_safely(&self) {
        for _ in 0..MAX_PANICS_PER_DELIVERY {
            let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.deliver_outbox())) else {
                return;
            };
            // Only the thread that owned the loop can have panicked inside it.
            self.delivering.store(false, Ordering::Release);
            let e = Error::internal(format!(
                "delivering an outbox row panicked: {}",
                panic_text(&*panic)
            ))
            .public();
            let message = format!("its delivery failed unexpectedly ({})", e.message);
            if let Err(e) = self.fail_oldest_outbox_row(message) {
                tracing::error!("could not mark the outbox row that panicked: {}", e.line());
                return;
            }
        }
        tracing::error!(
            "{MAX_PANICS_PER_DELIVERY} outbox rows panicked in one delivery; the rest waits for the next one"
        );
    }

    /// Marks the oldest pending outbox row as failed with `message` (and, for a queued
    /// command, writes `commandFailed` in its instance's history).
    fn fail_oldest_outbox_row(&self, message: String) -> Result<(), Error> {
        let Some(row) = self.store().pending_outbox(1)?.into_iter().next() else {
            return Ok(());
        };
        let now = self.now();
        self.write(move |tx| {
            tx.outbox_attempt(row.id, &now, Some(&message), true)?;
            if let (crate::queued::EVENT, Some(guid)) = (row.event.as_str(), &row.instance_guid) {
                let p: Value = serde_json::from_str(&row.payload).unwrap_or(json!({}));
                let data = json!({"command": p["name"], "key": p["key"], "message": message});
                tx.history(
                    guid,
                    &now,
                    "commandFailed",
                    p["elementId"].as_str(),
                    Some(&data.to_string()),
                )?;
            }
            Ok(())
        })
    }
}
