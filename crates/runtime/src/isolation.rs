//! Isolation: a panic (a bug met by one instance, row or run) ends that one piece of work, never
//! the thread that carried it.
//!
//! - A step that panics (the engine, or the runtime preparing or writing it) fails as an
//!   internal error: nothing of it is committed, the caller sees "internal error; reference …"
//!   and the log has the panic's text under that reference. Then, in a transaction of its own,
//!   the instance gets an internal incident (see "Internal incidents" below), whatever applied
//!   the step: a command, a timer, an outbox row, a buffered delivery. So does a step that
//!   meets a stored state it cannot follow (unreadable, or written for another model), which
//!   would fail the same way every time.
//! - A write job that panics inside a group commit fails alone: the batch rolls it back like any
//!   failed job and the other commands of the batch commit (see `batch`).
//! - A recurring job's run that panics ends `Failed` with a plain message (see `jobs`).
//! - An outbox row whose delivery panics is marked failed with a plain message (a queued command
//!   also gets `commandFailed` in its instance's history) and the loop goes on with the next row.
//! - A background loop (the scheduler, the delivery sender) whose pass panics logs it, pauses a
//!   second and goes on.
//!
//! No answer carries a panic's text: it becomes an internal error, shown as a reference.
//!
//! Internal incidents (docs/runtime.md says them for users):
//! - One per instance at most, in the store's incidents table, at the element the step was
//!   about (the due timer, the task, the message's catch event; else the process), with the
//!   message "Stopped by an internal error while …(reference R) …". The reference is the one
//!   the caller saw and the log line carries. The instance's row is `FAILED`, and
//!   `GetProcessInstanceByIdQuery` lists the incident beside the engine's.
//! - A timer whose step raised one is not tried again: its row is removed until the retry.
//! - Other steps of the instance still run (as with a script's incident) and keep it `FAILED`;
//!   a step that ends the instance (a cancel) resolves it.
//! - `RetryIncidentCommand` resolves it in the transaction of a step that fires what is due
//!   (the engine's `Retry` when the engine has incidents too) and puts the timer row back; if
//!   that step fails again, the incident stays open with the new reference.
//! - A panic after a step committed (delivering what it left) never fails the step.

use crate::{Caller, Code, Error, Extra, Runtime, Stepped};
use baton_engine::{Event, Incident};
use baton_store::INTERNAL_INCIDENT;
use serde_json::{json, Map, Value};
use std::any::Any;
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// The key an internal error carries in its (never shown) data when it stops the instance whose
/// step met it: a panic caught by [`guard`], a stored state that cannot be followed
/// ([`unfollowable`]).
const STOPS: &str = "$stopsInstance";

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
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| Err(panicked(what, &*panic)))
}

/// `guard` for a future: a panic in any of its polls ends it with the same error.
///
/// `f` is boxed: an `async fn` that takes a future keeps the argument beside the future it
/// awaits, so each such wrapper doubled a command's future (tens of KiB, copied whenever the
/// future moved: into a wrapper, into axum's box). A box is one allocation; the copies were
/// about a twentieth of the webhook path's CPU (BENCHMARKS.md).
pub(crate) fn guard_async<'a, T>(
    what: &'a str,
    f: impl std::future::Future<Output = Result<T, Error>> + 'a,
) -> impl std::future::Future<Output = Result<T, Error>> + 'a {
    let mut f = Box::pin(f);
    std::future::poll_fn(move |cx| {
        catch_unwind(AssertUnwindSafe(|| f.as_mut().poll(cx)))
            .unwrap_or_else(|panic| std::task::Poll::Ready(Err(panicked(what, &*panic))))
    })
}

fn panicked(what: &str, panic: &(dyn std::any::Any + Send)) -> Error {
    let mut e = Error::internal(format!("{what} panicked: {}", panic_text(panic)));
    // Internal data is dropped when the error is shown (`Error::public`).
    e.data = Box::new(json!({ STOPS: true }));
    e
}

/// Marks an internal error met reading a stored state (unreadable, or written for another
/// model): a step that meets it stops its instance as a panic does; it fails every time.
pub(crate) fn unfollowable(mut e: Error) -> Error {
    if e.is(Code::Internal) {
        e.data = Box::new(json!({ STOPS: true }));
    }
    e
}

/// Whether `e` stops the instance whose step met it (a panic, a state that cannot be
/// followed; not yet shown).
pub(crate) fn stops_instance(e: &Error) -> bool {
    e.is(Code::Internal) && e.data.get(STOPS) == Some(&Value::Bool(true))
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
    /// Whether `site` still owes a panic.
    pub(crate) fn owes(&self, site: PanicSite) -> bool {
        self.0[site as usize].load(Ordering::Acquire) > 0
    }

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
    /// Test hook behind [`Runtime::hold_outbox_between_batches`]: whether the outbox delivery
    /// waits between its batches, read without the lock.
    outbox_held: AtomicBool,
    /// How many deliveries wait between batches now.
    outbox_waiting: Mutex<usize>,
    outbox_cv: Condvar,
}

impl Gate {
    /// Waits while the gate is closed.
    /// Whether steps wait at the gate now.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

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

    /// Test hook, for the test of the outbox's stop check: while `held`, the outbox delivery
    /// waits after each batch of rows until the scheduler is told to stop (then the delivery
    /// checks for the stop and leaves the rest for the next start).
    #[doc(hidden)]
    pub fn hold_outbox_between_batches(&self, held: bool) {
        self.gate.outbox_held.store(held, Ordering::Release);
    }

    /// Test hook: waits until an outbox delivery waits between batches (at most `limit`);
    /// answers whether one does.
    #[doc(hidden)]
    pub fn outbox_held(&self, limit: std::time::Duration) -> bool {
        let n = self
            .gate
            .outbox_waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let (n, _) = self
            .gate
            .outbox_cv
            .wait_timeout_while(n, limit, |n| *n == 0)
            .unwrap_or_else(|p| p.into_inner());
        *n > 0
    }

    /// Called by the outbox delivery after each batch: waits there while the test hook
    /// `hold_outbox_between_batches` is set, until the scheduler is told to stop.
    pub(crate) fn outbox_batch_done(&self) {
        if !self.gate.outbox_held.load(Ordering::Acquire) {
            return;
        }
        let waiting = || {
            self.gate
                .outbox_waiting
                .lock()
                .unwrap_or_else(|p| p.into_inner())
        };
        *waiting() += 1;
        self.gate.outbox_cv.notify_all();
        let s = self.wake.state.lock().unwrap_or_else(|p| p.into_inner());
        drop(
            self.wake
                .cv
                .wait_while(s, |s| !s.stop)
                .unwrap_or_else(|p| p.into_inner()),
        );
        *waiting() -= 1;
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

/// The instances that may have an open internal incident: a hint read on every step without a
/// query (the store decides, see `write_step`). Loaded when the runtime opens; an instance is
/// added before its incident is written and removed after it was resolved.
#[derive(Default)]
pub(crate) struct Stopped {
    /// Whether the set may be non-empty, read without the lock.
    any: AtomicBool,
    guids: Mutex<HashSet<String>>,
}

impl Stopped {
    fn guids(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.guids.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `guid` may have an open internal incident.
    pub(crate) fn maybe(&self, guid: &str) -> bool {
        self.any.load(Ordering::Acquire) && self.guids().contains(guid)
    }

    fn add(&self, guid: &str) {
        let mut g = self.guids();
        g.insert(guid.to_string());
        self.any.store(true, Ordering::Release);
    }

    fn remove(&self, guid: &str) {
        let mut g = self.guids();
        g.remove(guid);
        self.any.store(!g.is_empty(), Ordering::Release);
    }

    /// Reads the instances with an open internal incident from the store.
    pub(crate) fn load(&self, store: &baton_store::Store) {
        match store.internal_incident_instances() {
            Ok(guids) => guids.iter().for_each(|g| self.add(g)),
            Err(e) => tracing::error!("cannot read the open internal incidents: {e}"),
        }
    }
}

/// What a step that failed was doing, for an internal incident's message.
fn doing(event: &Event) -> String {
    match event {
        Event::CompleteTask {
            task_id: Some(t), ..
        }
        | Event::CompleteTaskWithVariables {
            task_id: Some(t), ..
        } => format!("completing task '{t}'"),
        Event::CompleteTask { .. } | Event::CompleteTaskWithVariables { .. } => {
            "completing its task".into()
        }
        Event::Callback {
            correlation_key, ..
        } => format!("applying the callback for key '{correlation_key}'"),
        Event::Message { name, .. } => format!("delivering message '{name}'"),
        Event::Signal { name, .. } => format!("delivering signal '{name}'"),
        Event::TimersDue => "firing its timers".into(),
        Event::SetVariables { .. } => "setting its variables".into(),
        Event::Cancel { .. } => "cancelling it".into(),
        Event::Retry { .. } => "retrying it".into(),
        Event::AssignTask { task_id, .. } => format!("assigning task '{task_id}'"),
        Event::CancelTask { task_id } => format!("cancelling task '{task_id}'"),
    }
}

impl Runtime {
    /// After a step of `guid` failed with `e`: when the step panicked or met a stored state it
    /// cannot follow (nothing of it was committed), the instance gets an internal incident, in
    /// a transaction of its own, and `e` is shown (logged with its reference, which the
    /// incident names). Any other failure (the disk, a lost race) is answered as it is.
    pub(crate) fn stopped_step(&self, guid: &str, event: &Event, e: Error) -> Error {
        if !stops_instance(&e) {
            return e;
        }
        // On an async worker the step is tried again on a blocking thread, which records it.
        if crate::inline::may_stop() {
            return crate::inline::needs_thread("an internal incident");
        }
        let e = e.public();
        let reference = e.message.rsplit(' ').next().unwrap_or_default().to_string();
        let element = self.failed_element(guid, event);
        let message = format!(
            "{INTERNAL_INCIDENT} while {} (reference {reference}): nothing of that step was applied; RetryIncidentCommand tries it again",
            doing(event)
        );
        // The hint first: a step that reads it after the incident commits must see it.
        self.stopped.add(guid);
        self.hot().forget(guid);
        let timers = matches!(event, Event::TimersDue);
        let (g, now, el, m) = (guid.to_string(), self.now(), element.clone(), message);
        let opened = self.write(move |tx| {
            let opened = tx.open_internal_incident(&g, &el, &m, &now)?;
            // Its timer is not tried again until the retry (which writes the row back).
            if opened && timers {
                tx.set_instance_timer(&g, None)?;
            }
            Ok(opened)
        });
        match opened {
            Ok(true) => {
                tracing::warn!(instance = guid, element = %element, reference = %reference, "a step failed inside Baton; the instance has an internal incident");
                self.publish_stopped(guid);
            }
            Ok(false) => self.stopped.remove(guid),
            Err(w) => tracing::error!(
                instance = guid,
                reference = %reference,
                "could not record the internal incident: {}",
                w.line()
            ),
        }
        e
    }

    /// Tells live views that the instance is FAILED now.
    fn publish_stopped(&self, guid: &str) {
        if !self.changes_watched() {
            return;
        }
        let Ok(row) = self.instance_row(guid) else {
            return;
        };
        let def = row.process_definition_id;
        if let Ok(engine) = self.engine(def) {
            self.publish_change(guid.to_string(), &engine, def, "FAILED", self.now());
        }
    }

    /// The element a failed step was about: the timer due, the task, the message's or signal's
    /// catch event, the callback's task; else the first thing the instance waits on; else its
    /// process. What the indexes say is read first: reading the state may panic too (the
    /// state that made the step panic), and then the process is named, from the definition.
    fn failed_element(&self, guid: &str, event: &Event) -> String {
        let indexed = match event {
            Event::CompleteTask {
                task_id: Some(t), ..
            } => Some(t.clone()),
            Event::Message { name, .. } => self
                .store()
                .subscribed_element(guid, "message", name)
                .ok()
                .flatten(),
            Event::Signal { name, .. } => self
                .store()
                .subscribed_element(guid, "signal", name)
                .ok()
                .flatten(),
            Event::Callback {
                correlation_key, ..
            } => self
                .store()
                .pending_callback(correlation_key)
                .ok()
                .flatten()
                .filter(|c| c.parent_instance_id == guid)
                .map(|c| c.callback_task_id),
            _ => None,
        };
        if let Some(element) = indexed {
            return element;
        }
        let row = match self.instance_row(guid) {
            Ok(row) => row,
            Err(_) => return "process".into(),
        };
        let from_state = catch_unwind(AssertUnwindSafe(|| {
            let (engine, inst) = self.load(&row).ok()?;
            let waiting = engine.waiting(&inst);
            let subs = engine.subscriptions(&inst);
            let sub = |kind: &str, name: &str| {
                subs.iter()
                    .find(|s| s.kind == kind && s.name == name)
                    .map(|s| s.element_id.clone())
            };
            let found = match event {
                Event::TimersDue => waiting
                    .iter()
                    .filter(|w| w.due.is_some())
                    .min_by_key(|w| w.due)
                    .map(|w| w.element_id.clone()),
                Event::CompleteTask {
                    task_id: Some(t), ..
                } => Some(t.clone()),
                Event::Callback {
                    correlation_key, ..
                } => waiting
                    .iter()
                    .find(|w| w.correlation_key.as_ref() == Some(correlation_key))
                    .map(|w| w.element_id.clone()),
                Event::Message { name, .. } => sub("message", name),
                Event::Signal { name, .. } => sub("signal", name),
                _ => None,
            };
            found
                .or_else(|| waiting.first().map(|w| w.element_id.clone()))
                .or_else(|| {
                    let process = engine.deployment.processes.get(inst.process as usize)?;
                    Some(process.id.clone())
                })
        }));
        if let Ok(Some(element)) = from_state {
            return element;
        }
        self.store()
            .definition(row.process_definition_id, false)
            .map(|d| d.process_key)
            .unwrap_or_else(|_| "process".into())
    }

    /// The open internal incident of `guid` beside the engine's incidents (what
    /// `GetProcessInstanceByIdQuery` lists).
    pub(crate) fn with_internal_incident(
        &self,
        guid: &str,
        mut incidents: Vec<Incident>,
    ) -> Result<Vec<Incident>, Error> {
        if self.stopped.maybe(guid) {
            if let Some(row) = self.store().internal_incident(guid)? {
                incidents.push(Incident {
                    element_id: row.element_id,
                    message: row.message,
                });
            }
        }
        Ok(incidents)
    }

    /// RetryIncidentCommand on an instance with an open internal incident: sets `variables`
    /// (when the engine has no incident of its own to retry with them), then applies a step
    /// that resolves the incident in its transaction and puts the timer row back: the engine's
    /// `Retry` when the engine has incidents too, else one that fires what is due now. None
    /// when the instance has no internal incident (the engine's retry applies).
    pub(crate) fn retry_stopped(
        &self,
        guid: &str,
        variables: &Map<String, Value>,
        caller: &Caller,
    ) -> Result<Option<Stepped>, Error> {
        if !self.stopped.maybe(guid) {
            return Ok(None);
        }
        if self.store().internal_incident(guid)?.is_none() {
            self.stopped.remove(guid);
            return Ok(None);
        }
        let row = self.instance_row(guid)?;
        let (engine, inst) = guard("loading the instance", || self.load(&row))?;
        let event = if engine.incidents(&inst).is_empty() {
            if !variables.is_empty() {
                let set = Event::SetVariables {
                    variables: variables.clone(),
                };
                self.step(guid, set, caller)?;
            }
            Event::TimersDue
        } else {
            Event::Retry {
                variables: variables.clone(),
            }
        };
        let stepped = self.step_with(guid, event, caller, Extra::Retry)?;
        self.stopped.remove(guid);
        tracing::info!(instance = guid, "an internal incident was retried");
        Ok(Some(stepped))
    }
}
