//! Commands that scripts queue with `doCmd(name, data)`: an effect of the step, run after the
//! step committed, once per idempotency key.
//!
//! The rules (docs/runtime.md says them for users):
//! - A script task or ServerScript that succeeds makes each `doCmd` an `Effect::CommandQueued`.
//!   The step writes one outbox row per command in its own transaction, with the key
//!   `{instanceGuid}:{elementId}:{revision}:{n}` (the revision the step commits as, `n` the
//!   command's place among the step's commands) and who ran the step. A step that fails, is
//!   rolled back or is re-applied after losing a race leaves no row: its commands never run.
//! - After the commit the outbox delivery runs the command as that caller (the user reloaded
//!   with their current teams; the administrator flag the step ran with), then records the key
//!   with the outcome in the receipts the `messageId` check uses and marks the row, in one
//!   transaction. A row whose key is already recorded is marked and not run again.
//! - A command that fails is recorded on its outbox row and in the instance history
//!   (`commandFailed`, with the message); it is not retried.
//! - Exactly once across step retries; at least once across a crash between the command's
//!   commit and the mark (the command ran, its key did not reach the disk): then it runs again
//!   on the next start.
//! - Nesting is bounded: a command a client runs is level 0, a `doCmd` of its steps level 1, a
//!   `doCmd` of the steps that command made level 2, and so on. A command deeper than the
//!   runtime's limit ([`DEFAULT_DEPTH`] unless set, see `Runtime::set_command_depth`) is not
//!   run: it fails as above (`commandFailed`, with the limit in the message), which ends a
//!   process that keeps starting itself through `doCmd`.

use crate::{Caller, Error, Runtime};
use baton_engine::{Effect, User};
use baton_store::{OutboxRow, Tx};
use serde_json::{json, Value};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How deeply `doCmd` commands nest by default (see the module's comment).
pub const DEFAULT_DEPTH: u32 = 16;

thread_local! {
    /// The nesting level of the command this thread runs (0: a client's command).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// The nesting level of the command the current thread runs.
pub(crate) fn depth() -> u32 {
    DEPTH.with(Cell::get)
}

/// Runs `f` as a command at nesting level `depth` (the level before is restored after, even
/// when `f` panics).
pub(crate) fn at_depth<T>(depth: u32, f: impl FnOnce() -> T) -> T {
    struct Restore(u32);
    impl Drop for Restore {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(self.0));
        }
    }
    let _restore = Restore(DEPTH.with(|d| d.replace(depth)));
    f()
}

/// The outbox event of a queued command.
pub(crate) const EVENT: &str = "commandQueued";

/// The receipts table is shared with `messageId`s: queued commands' keys carry this prefix.
const RECEIPT: &str = "doCmd:";

/// Inside the step's transaction: an outbox row per queued command. `rev` is the revision the
/// step commits as. Answers whether it wrote any.
pub(crate) fn record(
    tx: &Tx,
    guid: &str,
    rev: i64,
    caller: &Caller,
    effects: &[Effect],
    now: &str,
) -> Result<bool, Error> {
    let mut n = 0;
    for e in effects {
        let Effect::CommandQueued {
            element_id,
            name,
            data,
        } = e
        else {
            continue;
        };
        let payload = json!({
            "key": format!("{guid}:{element_id}:{rev}:{n}"),
            "elementId": element_id,
            "name": name,
            "data": data,
            "user": caller.user.as_ref().map(|u| &u.name),
            "teams": caller.user.as_ref().map(|u| &u.teams),
            "admin": caller.admin,
            "depth": depth() + 1,
        });
        tx.enqueue(Some(guid), EVENT, &payload.to_string(), now)?;
        n += 1;
    }
    Ok(n > 0)
}

/// The revision a step commits as: a new instance is written at 0, each update adds one.
pub(crate) fn next_rev(read: Option<i64>) -> i64 {
    read.map_or(0, |r| r + 1)
}

/// Test hook behind [`Runtime::fail_next_step_commits`]: how many step commits still fail.
#[derive(Default)]
pub(crate) struct StepFaults(AtomicUsize);

impl StepFaults {
    /// Called inside a step's transaction, after its writes: a Conflict while faults remain
    /// (the transaction rolls back and the runtime re-applies the step, as after a lost race).
    pub(crate) fn check(&self) -> Result<(), Error> {
        let left = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        match left {
            Ok(_) => Err(Error::conflict(
                "the step commit failed on purpose (test hook)",
            )),
            Err(_) => Ok(()),
        }
    }
}

impl Runtime {
    /// Test hook, for retry tests only: the next `n` commits of a step on an existing instance
    /// fail with a Conflict after writing (rolled back), so the runtime re-reads and re-applies
    /// the step as when another command changed the instance in between. Answers how many of
    /// the faults set before were still unused.
    #[doc(hidden)]
    pub fn fail_next_step_commits(&self, n: usize) -> usize {
        self.step_faults.0.swap(n, Ordering::AcqRel)
    }

    /// How deeply commands queued with `doCmd` may nest (at least 1; [`DEFAULT_DEPTH`] unless
    /// set). A command deeper than this fails with `commandFailed` instead of running.
    pub fn set_command_depth(&self, levels: u32) {
        self.command_depth.store(levels.max(1), Ordering::Release);
    }

    /// The nesting limit of queued commands (see `set_command_depth`).
    pub fn command_depth(&self) -> u32 {
        self.command_depth.load(Ordering::Acquire)
    }

    /// Runs one queued command (an outbox row of [`EVENT`]) unless its key was recorded, then
    /// records the key and the outcome and marks the row, in one transaction.
    pub(crate) fn run_queued(&self, row: &OutboxRow) {
        self.panics.hit(crate::PanicSite::QueuedCommand);
        let p: Value = serde_json::from_str(&row.payload).unwrap_or(json!({}));
        let key = format!("{RECEIPT}{}", p["key"].as_str().unwrap_or_default());
        let seen = match self.store().receipt(&key) {
            Ok(seen) => seen.is_some(),
            Err(e) => {
                // Try again on the next delivery rather than risk running it twice.
                tracing::warn!(outbox = row.id, "could not read the command's receipt: {e}");
                return;
            }
        };
        let name = p["name"].as_str().unwrap_or_default().to_string();
        // Rows written before nesting was counted are level 1.
        let depth = p["depth"]
            .as_u64()
            .map_or(1, |d| u32::try_from(d).unwrap_or(u32::MAX));
        let limit = self.command_depth();
        let outcome = if seen {
            None
        } else if depth > limit {
            Some(Err(format!(
                "{name} was not run: doCmd commands nest {depth} levels deep here, more than the limit of {limit} (does a process start itself through doCmd?)"
            )))
        } else {
            let result = self.queued_caller(&p).and_then(|caller| {
                at_depth(depth, || {
                    self.execute_as(&name, &p["data"], &caller).into_result()
                })
            });
            Some(result)
        };
        let (id, guid, now) = (row.id, row.instance_guid.clone(), self.now());
        let element = p["elementId"].as_str().map(str::to_string);
        let marked = self.write(move |tx| {
            let Some(result) = outcome else {
                // Run by an earlier delivery whose mark was lost: only the mark is missing.
                tx.outbox_attempt(id, &now, None, true)?;
                return Ok(());
            };
            let error = result.as_ref().err();
            let recorded = match &result {
                Ok(data) => json!({"isSuccessful": true, "data": data}),
                Err(m) => json!({"isSuccessful": false, "message": m}),
            };
            tx.record_receipt(&key, &recorded.to_string(), &now)?;
            tx.outbox_attempt(id, &now, error.map(String::as_str), true)?;
            if let (Some(message), Some(guid)) = (error, &guid) {
                let data =
                    json!({"command": name, "key": &key[RECEIPT.len()..], "message": message});
                tx.history(
                    guid,
                    &now,
                    "commandFailed",
                    element.as_deref(),
                    Some(&data.to_string()),
                )?;
            }
            Ok(())
        });
        if let Err(e) = marked {
            tracing::warn!(
                outbox = row.id,
                "could not record the queued command: {}",
                e.line()
            );
        }
    }

    /// Who runs a queued command: who ran the step. A user is reloaded for their current teams
    /// (kept as they were if the user is no longer stored); the administrator flag is the
    /// step's, so a command never runs with more rights than the script that queued it.
    fn queued_caller(&self, p: &Value) -> Result<Caller, String> {
        let admin = p["admin"].as_bool().unwrap_or(false);
        let Some(name) = p["user"].as_str() else {
            return Ok(Caller { user: None, admin });
        };
        let stored = self.store().user(name).map_err(|e| {
            tracing::warn!("could not load user '{name}' for a queued command: {e}");
            format!("could not load user '{name}' to run the command as")
        })?;
        let teams = match stored {
            Some(row) => row.teams,
            None => serde_json::from_value(p["teams"].clone()).unwrap_or_default(),
        };
        Ok(Caller {
            user: Some(User {
                name: name.to_string(),
                teams,
            }),
            admin,
        })
    }
}
