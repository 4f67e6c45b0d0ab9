//! Buffered messages and callbacks: what arrived before anything waited for it, delivered by
//! the functions that deliver live ones once a wait for it has committed.
//!
//! The rules (docs/runtime.md says them for users):
//! - CorrelateMessageCommand and ReturnCallbackCommand with `ttlSeconds` > 0 and nothing waiting
//!   keep the entry with who sent it (`keep`: the stored payload holds the sender beside the
//!   data; GetMessageBufferListQuery shows the data only).
//! - After a step commits with a wait that may match (a webhook-mode receive task with a key, a
//!   message subscription), each live entry that matches, oldest first, is delivered as a live
//!   one is (`callback_to`, `offer_message`): one step of its own, in its own transaction, run
//!   as the entry's sender. That step claims the entry (`Buffered` -> `Correlated`) in its own
//!   transaction, and a claim that finds the entry taken or past its TTL fails the step before
//!   it writes anything. So an entry is applied at most once, and a crash between the wait's
//!   commit and the delivery leaves it `Buffered`: the next start delivers it (`deliver_buffered`).
//! - An entry the instance refuses (its ServerScript throws, the sender may not complete the
//!   task) is marked `Expired` rather than retried forever. A callback whose key was completed
//!   (by a live callback in between, or by an older entry kept for the same key) is a
//!   duplicate, checked as a live one is: `Expired`, and when its result differs from the one
//!   applied, a conflict kept in the instance's history (`settle_duplicates`). Any other failure (the disk, a step
//!   that kept losing races) leaves it `Buffered`, and the scheduler makes a pass over the
//!   whole buffer later (`retry_buffered_if_due`): [`RETRY_FIRST`] after the failure, twice as
//!   long after each pass that failed again, at most [`RETRY_MOST`] apart, until a pass has no
//!   failure. An entry's TTL bounds how long it is tried.
//! - An instance with an internal incident (a step of it panicked, see `isolation`) is not
//!   offered entries by a pass: the retry of its incident delivers them, as any step does.
//! - A panic in this delivery code after the step that opened the wait committed never fails
//!   that step: it is logged and left to the retry pass.
//! - The command whose step opened the wait answers after these deliveries, with the instance
//!   as they left it (as when the entry had arrived after the wait).
//! - While no live entry can exist (`Live`), a step looks for none: no query, no transaction.
//! - After keeping an entry, its command looks once more for a waiter (`kept`): a wait that
//!   committed between the command's first look and the keeping would miss it otherwise.

use crate::correlation::{may_drain, Callback};
use crate::{Caller, Code, Error, Extra, Runtime, Stepped};
use baton_engine::{Engine, Instance, User};
use baton_store::BufferedRow;
use jiff::Timestamp;
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The most buffered entries delivered after one step (each may open new waits).
const MAX_DRAIN: usize = 1000;
/// Entries read per round of a pass over the whole buffer.
const PASS_BATCH: i64 = 100;
/// The first pass over the buffer after a failed delivery comes this much later.
pub(crate) const RETRY_FIRST: jiff::SignedDuration = jiff::SignedDuration::from_secs(5);
/// Passes after failed passes come at most this far apart.
pub(crate) const RETRY_MOST: jiff::SignedDuration = jiff::SignedDuration::from_secs(300);

/// The keys of a stored payload that carries its sender (`keep`).
const DATA: &str = "$data";
const SENDER: &str = "$sender";

/// Whether the buffer may hold a live entry. A counter rather than a flag: every entry kept
/// moves it on, and a pass that found nothing clears it only if nothing was kept meanwhile.
pub(crate) struct Live {
    generation: AtomicU64,
    /// A pass over the whole buffer is due (set at start: a wait may have committed just
    /// before a stop, its delivery not).
    pass_due: AtomicBool,
    /// The pass after a failed delivery.
    retry: Mutex<Retry>,
}

/// When the next pass after a failed delivery is due, and how many failed in a row.
#[derive(Default)]
struct Retry {
    due: Option<Timestamp>,
    failures: u32,
}

/// How long after its `failures`-th failure in a row the next pass comes.
fn backoff(failures: u32) -> jiff::SignedDuration {
    let doublings = failures.saturating_sub(1).min(16);
    let secs = RETRY_FIRST.as_secs().saturating_mul(1 << doublings);
    jiff::SignedDuration::from_secs(secs.min(RETRY_MOST.as_secs()))
}

impl Default for Live {
    fn default() -> Live {
        Live {
            generation: AtomicU64::new(1),
            pass_due: AtomicBool::new(true),
            retry: Mutex::default(),
        }
    }
}

impl Live {
    /// After an entry was kept (its transaction committed).
    fn kept(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
    fn maybe(&self) -> bool {
        self.generation.load(Ordering::Acquire) != 0
    }
    fn retry(&self) -> std::sync::MutexGuard<'_, Retry> {
        self.retry.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The payload to store for an entry: the data and who sent it.
pub(crate) fn keep(data: &Value, sender: &Caller) -> String {
    let user = sender.user.as_ref();
    json!({
        DATA: data,
        SENDER: {
            "user": user.map(|u| &u.name),
            "teams": user.map(|u| &u.teams),
            "admin": sender.admin,
        },
    })
    .to_string()
}

/// The data of a stored payload (an entry kept before senders were stored is all data), and
/// the sender as stored, if any.
fn unwrap(payload: &str) -> (Value, Option<Value>) {
    let mut v: Value = serde_json::from_str(payload).unwrap_or(json!({}));
    if let Some(m) = v.as_object_mut() {
        if m.len() == 2 && m.contains_key(DATA) && m.contains_key(SENDER) {
            let sender = m.remove(SENDER);
            return (m.remove(DATA).unwrap_or(Value::Null), sender);
        }
    }
    (v, None)
}

/// An entry as GetMessageBufferListQuery shows it: its data, not its sender.
pub(crate) fn shown(mut row: BufferedRow) -> BufferedRow {
    let (data, sender) = unwrap(&row.payload);
    if sender.is_some() {
        row.payload = data.to_string();
    }
    row
}

/// Whether a wait of `inst` matches the entry.
fn waits_for(engine: &Engine, inst: &Instance, row: &BufferedRow) -> bool {
    if inst.status.is_ended() {
        return false;
    }
    match row.kind.as_str() {
        "callback" => engine.waiting(inst).iter().any(|w| {
            w.task_type == "receiveTask"
                && w.form_key.is_none()
                && w.correlation_key.is_some()
                && w.correlation_key == row.correlation_key
        }),
        _ => engine.subscriptions(inst).iter().any(|s| {
            s.kind == "message"
                && Some(&s.name) == row.name.as_ref()
                && (s.correlation_key.is_none()
                    || row.correlation_key.is_none()
                    || s.correlation_key == row.correlation_key)
        }),
    }
}

/// How an offer of one entry ended.
enum Offered {
    Applied(Stepped),
    /// Refused by every instance offered (or a duplicate): it is Expired now.
    Dropped,
    /// Already taken, past its TTL, or no instance waits for it any more: nothing to do.
    Gone,
}

/// An instance a committed step left with waits that may match: its guid, model and state.
type Reached = (String, Arc<Engine>, Instance);

thread_local! {
    /// While this thread delivers buffered entries: the instances whose later steps committed
    /// with waits that may match, left to the outer loop (no recursion through nested steps).
    static DRAINING: RefCell<Option<Vec<Reached>>> =
        const { RefCell::new(None) };
}

/// Ends this thread's delivery loop, also when a step panics.
struct Draining;

impl Draining {
    fn start() -> Draining {
        DRAINING.with(|d| *d.borrow_mut() = Some(Vec::new()));
        Draining
    }
    fn nested() -> Vec<Reached> {
        DRAINING.with(|d| {
            d.borrow_mut()
                .as_mut()
                .map(std::mem::take)
                .unwrap_or_default()
        })
    }
}

impl Drop for Draining {
    fn drop(&mut self) {
        DRAINING.with(|d| d.borrow_mut().take());
    }
}

impl Runtime {
    /// After a step of `guid` committed (`persist`): delivers each live entry its waits match,
    /// oldest first, each as its own step; then the same for the instances those steps reached.
    /// Answers the instance as the deliveries left it.
    /// Whether `deliver_buffered_to` may have entries to deliver to this instance (it then runs
    /// steps, each waiting for its own commit).
    pub(crate) fn may_deliver_buffered(&self, engine: &Engine, inst: &Instance) -> bool {
        self.buffered.maybe() && may_drain(engine, inst)
    }

    pub(crate) fn deliver_buffered_to(
        &self,
        guid: &str,
        engine: &Arc<Engine>,
        inst: Instance,
    ) -> Instance {
        if !self.may_deliver_buffered(engine, &inst) {
            return inst;
        }
        // The step committed: a panic in here (a bug) must not fail it.
        let committed = inst.clone();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.drain_from(guid, engine, inst)
        }))
        .unwrap_or_else(|panic| {
            let e = Error::internal(format!(
                "delivering buffered entries panicked: {}",
                crate::isolation::panic_text(&*panic)
            ))
            .public();
            tracing::warn!(
                instance = guid,
                "buffered entries were not delivered ({}); a later pass tries again",
                e.message
            );
            self.buffered_delivery_failed();
            committed
        })
    }

    /// `deliver_buffered_to`'s work.
    fn drain_from(&self, guid: &str, engine: &Arc<Engine>, inst: Instance) -> Instance {
        let nested = DRAINING.with(|d| match d.borrow_mut().as_mut() {
            Some(list) => {
                list.push((guid.to_string(), engine.clone(), inst.clone()));
                true
            }
            None => false,
        });
        if nested {
            return inst;
        }
        let _draining = Draining::start();
        let mut pending =
            std::collections::VecDeque::from([(guid.to_string(), engine.clone(), inst.clone())]);
        let (mut latest, mut budget, mut applied) = (inst, MAX_DRAIN, false);
        while let Some((g, mut engine, mut inst)) = pending.pop_front() {
            // Each entry is offered to an instance once per pass: one it did not take (taken
            // elsewhere, or the instance moved on meanwhile) ends this instance's turn.
            let mut offered = std::collections::HashSet::new();
            while budget > 0 && may_drain(&engine, &inst) {
                let row = match self.match_for(&engine, &inst) {
                    Ok(Some(row)) if offered.insert(row.id) => row,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(
                            instance = g,
                            "cannot read the message buffer: {}",
                            e.line()
                        );
                        self.buffered_delivery_failed();
                        break;
                    }
                };
                budget -= 1;
                match self.offer(&row, std::slice::from_ref(&g)) {
                    Ok(Offered::Applied(s)) => {
                        applied = true;
                        (engine, inst) = (s.engine, s.inst);
                    }
                    Ok(Offered::Dropped | Offered::Gone) => {}
                    Err(e) => {
                        // It stays Buffered: a later pass (`retry_buffered_if_due`), a later
                        // step of this instance or the next start delivers it.
                        tracing::warn!(
                            buffer = row.id,
                            instance = g,
                            "a buffered entry was not delivered: {}",
                            e.line()
                        );
                        self.buffered_delivery_failed();
                        break;
                    }
                }
                for n in Draining::nested() {
                    if n.0 != g {
                        pending.push_back(n);
                    }
                }
            }
            if g == guid {
                latest = inst;
            }
        }
        if applied {
            self.forget_buffer_if_empty();
        }
        latest
    }

    /// The oldest live entry one of the instance's waits matches: callbacks first, then
    /// messages, as the waits are listed.
    fn match_for(&self, engine: &Engine, inst: &Instance) -> Result<Option<BufferedRow>, Error> {
        let now = self.now();
        for w in engine.waiting(inst) {
            if w.task_type != "receiveTask" || w.form_key.is_some() {
                continue;
            }
            if let Some(key) = w.correlation_key.as_deref() {
                if let Some(row) = self
                    .store()
                    .next_buffered("callback", None, Some(key), &now)?
                {
                    return Ok(Some(row));
                }
            }
        }
        for s in engine.subscriptions(inst) {
            if s.kind != "message" {
                continue;
            }
            let key = s.correlation_key.as_deref();
            if let Some(row) = self
                .store()
                .next_buffered("message", Some(&s.name), key, &now)?
            {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    /// Offers one entry to `guids`, in order, as a live delivery with the entry's sender and its
    /// claim. When every instance offered refused it (and one of them still waits for it), or
    /// it duplicates a completed callback, the entry is Expired.
    fn offer(&self, row: &BufferedRow, guids: &[String]) -> Result<Offered, Error> {
        let (data, sender) = unwrap(&row.payload);
        let caller = self.sender(sender.as_ref())?;
        let extra = Extra::Claim { buffer_id: row.id };
        let outcome = match row.kind.as_str() {
            "callback" => {
                let key = row.correlation_key.as_deref().unwrap_or_default();
                let mut outcome = Err(Error::rejected("no instance waits for it"));
                for g in guids {
                    outcome = self.callback_to(g, key, data.clone(), &caller, extra.clone());
                    if matches!(&outcome, Err(e) if refused(e)) {
                        continue;
                    }
                    break;
                }
                match outcome {
                    Ok(Callback::Stepped(s)) => {
                        // The key is completed now (unless the step waits on it again): the
                        // other entries kept for it are duplicates of this result.
                        if let Err(e) = self.settle_duplicates(key) {
                            tracing::warn!(
                                key,
                                "duplicates of a buffered callback were not settled: {}",
                                e.line()
                            );
                            self.buffered_delivery_failed();
                        }
                        Ok(Some(s))
                    }
                    Ok(Callback::Duplicate(_)) => {
                        // A live callback completed the key first: this entry (and any other
                        // kept for the key) is a duplicate, conflict-checked as a live one.
                        self.settle_duplicates(key)?;
                        return Ok(Offered::Dropped);
                    }
                    Err(e) => Err(e),
                }
            }
            "message" => {
                let variables = match data {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                let name = row.name.as_deref().unwrap_or_default();
                self.offer_message(
                    guids,
                    name,
                    &row.correlation_key,
                    &variables,
                    &caller,
                    &|_| extra.clone(),
                )
                .map(|o| o.map(|(_, s)| s))
            }
            other => Err(Error::internal(format!("buffered entry of kind '{other}'"))),
        };
        match outcome {
            Ok(Some(s)) => Ok(Offered::Applied(s)),
            // The claim failed: taken by another delivery, or its TTL ran out.
            Err(e) if e.is(Code::Duplicate) => Ok(Offered::Gone),
            Err(e) if !refused(&e) => Err(e),
            // Refused: by the instance, or it no longer waits for it (it moved on in between).
            Ok(None) | Err(_) => {
                if self.one_still_waits(row, guids) {
                    tracing::info!(
                        buffer = row.id,
                        "a buffered entry was refused; it is Expired"
                    );
                    self.drop_entry(row.id)
                } else {
                    Ok(Offered::Gone)
                }
            }
        }
    }

    fn one_still_waits(&self, row: &BufferedRow, guids: &[String]) -> bool {
        guids.iter().any(|g| {
            let Ok(stored) = self.instance_row(g) else {
                return false;
            };
            self.load(&stored)
                .is_ok_and(|(engine, inst)| waits_for(&engine, &inst, row))
        })
    }

    /// When a callback key's newest webhook-mode row is Completed (nothing waits on it again):
    /// every live entry kept for that key is a duplicate of the applied result, handled as a
    /// live duplicate is (`correlation::duplicate_callback`): not applied, and one whose result
    /// differs is a conflict, its payload kept in the instance's history (`callbackConflict`,
    /// shown on the CallbackRegistry row). Each entry is Expired in the transaction that keeps
    /// its conflict. Answers how many entries it settled.
    fn settle_duplicates(&self, key: &str) -> Result<usize, Error> {
        let Some(done) = self.store().latest_callback(key)? else {
            return Ok(0);
        };
        if done.status != "Completed" {
            return Ok(0);
        }
        let mut settled = 0;
        // Each round Expires the entry it read, so this ends; the bound is a guard.
        for _ in 0..MAX_DRAIN {
            let now = self.now();
            let Some(entry) = self
                .store()
                .next_buffered("callback", None, Some(key), &now)?
            else {
                break;
            };
            let (data, _) = unwrap(&entry.payload);
            let conflict = crate::correlation::is_conflict(&done, &data);
            let row = done.clone();
            let k = key.to_string();
            let dropped = self.write(move |tx| {
                let dropped = tx.drop_buffered(entry.id)?;
                if dropped && conflict {
                    crate::correlation::keep_conflict(tx, &k, &row, &data, &now)?;
                }
                Ok(dropped)
            })?;
            if !dropped {
                break;
            }
            settled += 1;
        }
        Ok(settled)
    }

    fn drop_entry(&self, id: i64) -> Result<Offered, Error> {
        self.write(move |tx| Ok(tx.drop_buffered(id)?))?;
        Ok(Offered::Dropped)
    }

    /// Who sent an entry, as stored: a user is reloaded for their current teams (kept as they
    /// were if the user is no longer stored). An entry kept before senders were stored runs as
    /// the owner, as thrown messages do.
    fn sender(&self, stored: Option<&Value>) -> Result<Caller, Error> {
        let Some(s) = stored else {
            return Ok(Caller::owner());
        };
        let admin = s["admin"].as_bool().unwrap_or(false);
        let Some(name) = s["user"].as_str() else {
            return Ok(Caller { user: None, admin });
        };
        let teams = match self.store().user(name)? {
            Some(row) => row.teams,
            None => serde_json::from_value(s["teams"].clone()).unwrap_or_default(),
        };
        Ok(Caller {
            user: Some(User {
                name: name.to_string(),
                teams,
            }),
            admin,
        })
    }

    /// After an entry was kept (committed): from now on steps look for it, and an instance
    /// that waits for it already gets it. Answers whether one took it.
    pub(crate) fn kept(&self, row: &BufferedRow) -> Result<bool, Error> {
        self.buffered.kept();
        self.place(row)
    }

    /// Finds the instances that wait for an entry now and offers it to them (not to those
    /// with an internal incident: its retry delivers it).
    fn place(&self, row: &BufferedRow) -> Result<bool, Error> {
        let mut guids = match row.kind.as_str() {
            "callback" => {
                let key = row.correlation_key.as_deref().unwrap_or_default();
                self.store()
                    .pending_callback(key)?
                    .filter(|r| r.form_key.is_none())
                    .map(|r| vec![r.parent_instance_id])
                    .unwrap_or_default()
            }
            _ => {
                let name = row.name.as_deref().unwrap_or_default();
                let key = row.correlation_key.as_deref();
                self.store().subscribers("message", name, key)?
            }
        };
        guids.retain(|g| !self.stopped.maybe(g));
        if guids.is_empty() {
            return Ok(false);
        }
        Ok(matches!(self.offer(row, &guids)?, Offered::Applied(_)))
    }

    /// Delivers every live buffered entry an instance waits for now, oldest entry first, as
    /// each would have been delivered when its wait committed. Runs once after the runtime
    /// opens (with the outbox) and when a pass is due after a failed delivery
    /// (`retry_buffered_if_due`); stops early when the scheduler is told to stop. Answers how
    /// many entries were applied.
    pub fn deliver_buffered(&self) -> usize {
        let (mut after, mut applied) = (0, 0);
        loop {
            let rows = match self.store().live_buffered(&self.now(), after, PASS_BATCH) {
                Ok(rows) if !rows.is_empty() => rows,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!("cannot read the message buffer: {e}");
                    self.buffered_delivery_failed();
                    return applied;
                }
            };
            for row in rows {
                // A stopping scheduler leaves the rest Buffered for the next start.
                if self.wake.stopping() {
                    return applied;
                }
                after = row.id;
                match self.place(&row) {
                    Ok(true) => applied += 1,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(
                            buffer = row.id,
                            "a buffered entry was not delivered: {}",
                            e.line()
                        );
                        self.buffered_delivery_failed();
                    }
                }
            }
        }
        self.forget_buffer_if_empty();
        applied
    }

    /// The pass `deliver_buffered` once after start (called with the outbox's delivery).
    pub(crate) fn deliver_buffered_once(&self) {
        if self.buffered.pass_due.swap(false, Ordering::AcqRel) {
            self.deliver_buffered();
        }
    }

    /// After a delivery failed for another reason than a refusal: plans a pass over the buffer
    /// (unless one is planned), later after each failure in a row, and wakes the scheduler.
    fn buffered_delivery_failed(&self) {
        let due = {
            let mut r = self.buffered.retry();
            if r.due.is_some() {
                return;
            }
            r.failures = r.failures.saturating_add(1);
            let due = self.clock.now() + backoff(r.failures);
            r.due = Some(due);
            due
        };
        self.wake_for(Some(&crate::schedule::due_text(due)));
    }

    /// When the pass after a failed delivery is due (as the timer table writes times).
    pub(crate) fn buffered_retry_due(&self) -> Option<String> {
        self.buffered.retry().due.map(crate::schedule::due_text)
    }

    /// The scheduler's part: makes the pass over the buffer when it is due. A pass without a
    /// failure ends the retries (a failure plans the next one, see `buffered_delivery_failed`).
    /// Answers how many entries it applied.
    pub(crate) fn retry_buffered_if_due(&self) -> usize {
        {
            let mut r = self.buffered.retry();
            match r.due {
                Some(due) if due <= self.clock.now() => r.due = None,
                _ => return 0,
            }
        }
        let applied = self.deliver_buffered();
        let mut r = self.buffered.retry();
        if r.due.is_none() {
            r.failures = 0;
        }
        applied
    }

    /// Stops looking after steps when no live entry is left, unless one was kept meanwhile.
    fn forget_buffer_if_empty(&self) {
        let generation = self.buffered.generation.load(Ordering::Acquire);
        if generation == 0 {
            return;
        }
        if let Ok(rows) = self.store().live_buffered(&self.now(), 0, 1) {
            if rows.is_empty() {
                let _ = self.buffered.generation.compare_exchange(
                    generation,
                    0,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
        }
    }
}

/// Whether a delivery failed because the instance refused it or no longer waits for it.
fn refused(e: &Error) -> bool {
    matches!(
        e.code,
        Code::Rejected | Code::Forbidden | Code::Invalid | Code::NotFound
    )
}
