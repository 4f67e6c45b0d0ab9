//! The scheduler: one durable timer table (see baton_store's `schedule`) and one thread that
//! sleeps until its earliest row is due.
//!
//! - An instance's row holds its earliest pending BPMN timer (intermediate catch, boundary,
//!   event sub-process start, a callback's TimeoutMinutes). Every step rewrites it in the step's
//!   own transaction, so the table never disagrees with the instance state. Firing it applies
//!   the engine's `TimersDue` event, which fires everything due, earliest first.
//! - A definition's row per timer start event (its newest version only) starts an instance and
//!   moves on to the next repetition in the same transaction. A start that fails is tried
//!   again after a back-off and then stops with an incident of the start event (see
//!   `start_failures`).
//! - A recurring job's row holds its next run (see `jobs`).
//!
//! Rules users rely on (docs/scheduling.md):
//! - Never early: a row fires when the clock has reached its due time, and the engine checks
//!   again before it fires anything.
//! - Misfires: a timer that fell due while Baton was closed fires once when it opens. A cycle
//!   does not catch up the repetitions it missed: it fires once and goes on with the first
//!   repetition after now, keeping its phase. Jobs follow their `misfirePolicy`.
//! - No busy polling: the thread asks SQLite for the earliest due time (an index lookup) and
//!   sleeps until then, or until a step writes an earlier one and wakes it.

mod start_failures;

use crate::{Caller, Code, Error, Extra, Runtime};
use baton_engine::retry::RetryCycle;
use baton_engine::timer::Schedule;
use baton_engine::{Engine, Event, Instance};
use baton_store::TimerRow;
use jiff::Timestamp;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How many threads fire due timers at once (their steps share group commits).
const FIRE_WORKERS: usize = 8;
/// Due rows read per round.
const FIRE_BATCH: i64 = 2048;
/// The longest the scheduler sleeps without looking (a clock change is noticed by then).
const MAX_SLEEP: Duration = Duration::from_secs(30);
/// A timer whose firing failed (an instance's, a job's; a timer start event put off by the start
/// rate) is tried again this much later. A timer start event that failed follows
/// `start_failures` instead.
const RETRY_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);
/// The longest a background loop waits between passes that find their work still due.
const STUCK_PAUSE: Duration = Duration::from_secs(1);
/// How long a background loop whose pass panicked waits before its next pass.
const PANIC_PAUSE: jiff::SignedDuration = jiff::SignedDuration::from_secs(1);

/// A due time as the timer table stores it: UTC, six fractional digits, rounded up so that a
/// row is never due before the timer it stands for.
pub(crate) fn due_text(t: Timestamp) -> String {
    let ns = t.as_nanosecond();
    let rem = ns.rem_euclid(1000);
    let up = if rem == 0 { ns } else { ns + (1000 - rem) };
    format!("{:.6}", Timestamp::from_nanosecond(up).unwrap_or(t))
}

pub(crate) fn parse_due(s: &str) -> Result<Timestamp, Error> {
    s.parse()
        .map_err(|e| Error::internal(format!("stored time '{s}' is unreadable: {e}")))
}

/// What one pass over the due timers did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FireReport {
    /// Rows fired: instance timers, timer start events, job runs claimed.
    pub fired: usize,
    /// Rows whose firing failed (tried again a minute later, or, when the failure gave the
    /// instance an internal incident, when that is retried; a timer start event after its
    /// back-off, or when its incident is retried).
    pub failed: usize,
}

#[derive(Default)]
pub(crate) struct WakeState {
    /// The due time the scheduler sleeps for (None: not sleeping, or nothing due).
    pub(crate) planned: Option<String>,
    pub(crate) kicked: bool,
    pub(crate) stop: bool,
}

/// Wakes the scheduler thread when a timer earlier than the one it sleeps for is written.
#[derive(Default)]
pub(crate) struct Wake {
    pub(crate) state: Mutex<WakeState>,
    pub(crate) cv: Condvar,
    /// Set with `state.stop`, read without the lock by long passes between their rows, so a
    /// stop never waits for a pass that keeps finding work (a timer cycle of microseconds).
    halted: AtomicBool,
}

impl Wake {
    /// Whether the thread on this wake was told to stop.
    pub(crate) fn stopping(&self) -> bool {
        self.halted.load(Ordering::Acquire)
    }

    /// The loop of a background thread: `pass` does the work due now and answers the next due
    /// time; then the thread sleeps until that time (at most `MAX_SLEEP`), an earlier `offer`,
    /// or a stop. An offer that arrives during a pass makes the next pass start at once.
    ///
    /// A pass that answers a due time already past runs again at once, twice; after that the
    /// loop waits 10 ms, then twice as long each time (at most `STUCK_PAUSE`) until a pass
    /// answers a time in the future. Work due now is done by the next pass, but a row that
    /// stays due because nothing could be written (a full disk) does not turn the loop into a
    /// busy wait.
    pub(crate) fn run(
        &self,
        clock: &dyn baton_engine::Clock,
        mut pass: impl FnMut() -> Option<String>,
    ) {
        let mut overdue = 0u32;
        loop {
            {
                let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
                if s.stop {
                    return;
                }
                s.kicked = false;
                s.planned = None;
            }
            // A pass that panics (a bug) is logged; the loop pauses and goes on.
            let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut pass))
                .unwrap_or_else(|panic| {
                    tracing::error!(
                        "a pass of a background loop panicked: {}; trying again in {} s",
                        crate::isolation::panic_text(&*panic),
                        PANIC_PAUSE.as_secs()
                    );
                    Some(due_text(clock.now() + PANIC_PAUSE))
                });
            let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if s.stop {
                return;
            }
            if s.kicked {
                continue;
            }
            let wait = match next.as_deref().map(parse_due) {
                Some(Ok(due)) => {
                    let left = clock.now().duration_until(due);
                    if left.is_negative() || left.is_zero() {
                        overdue += 1;
                        if overdue <= 2 {
                            continue;
                        }
                        let factor = 1u32 << (overdue - 3).min(16);
                        (Duration::from_millis(10) * factor).min(STUCK_PAUSE)
                    } else {
                        overdue = 0;
                        Duration::try_from(left).unwrap_or(MAX_SLEEP).min(MAX_SLEEP)
                    }
                }
                _ => {
                    overdue = 0;
                    MAX_SLEEP
                }
            };
            let mut s = s;
            s.planned = next;
            let (s, _) = self
                .cv
                .wait_timeout_while(s, wait, |s| !s.kicked && !s.stop)
                .unwrap_or_else(|p| p.into_inner());
            if s.stop {
                return;
            }
        }
    }

    pub(crate) fn offer(&self, due: &str) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.planned.as_deref().is_none_or(|p| due < p) {
            s.kicked = true;
            self.cv.notify_all();
        }
    }
}

/// A background thread of the runtime (the scheduler, the delivery sender): it sleeps on its
/// `Wake` and ends when stopped or dropped.
pub struct BackgroundThread {
    rt: Arc<Runtime>,
    wake: fn(&Runtime) -> &Wake,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The running scheduler thread; `stop` ends it.
pub type SchedulerHandle = BackgroundThread;

impl BackgroundThread {
    pub(crate) fn spawn(
        rt: Arc<Runtime>,
        name: &str,
        wake: fn(&Runtime) -> &Wake,
        body: fn(&Arc<Runtime>),
    ) -> BackgroundThread {
        let worker = rt.clone();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(&worker))
            .unwrap_or_else(|e| panic!("the {name} thread cannot start: {e}"));
        BackgroundThread {
            rt,
            wake,
            thread: Some(thread),
        }
    }

    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        {
            let wake = (self.wake)(&self.rt);
            let mut s = wake.state.lock().unwrap_or_else(|p| p.into_inner());
            s.stop = true;
            wake.halted.store(true, Ordering::Release);
            wake.cv.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for BackgroundThread {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Starts the scheduler thread for `rt` (serve and the desktop app; tests call `fire_due`).
pub fn spawn_scheduler(rt: Arc<Runtime>) -> SchedulerHandle {
    BackgroundThread::spawn(
        rt,
        "baton-scheduler",
        |rt| &rt.wake,
        |rt| rt.scheduler_loop(),
    )
}

impl Runtime {
    /// How many passes the scheduler loop has made (each one looks for due timers, then
    /// sleeps); an idle scheduler makes one per wake-up, not one per poll interval.
    pub fn scheduler_wakeups(&self) -> u64 {
        self.scheduler_wakeups.load(Ordering::Relaxed)
    }

    fn scheduler_loop(self: &Arc<Self>) {
        tracing::info!("scheduler started");
        // What the outbox still holds from the last run is delivered here, once the host
        // listens: a row that cannot be delivered never delays or stops a start.
        self.deliver_outbox_safely();
        self.wake.run(&*self.clock, || {
            self.scheduler_wakeups.fetch_add(1, Ordering::Relaxed);
            self.prune_webhook_log_if_due(&|| self.wake.stopping());
            let report = self.fire_due_detached();
            if report.fired + report.failed > 0 {
                tracing::debug!(fired = report.fired, failed = report.failed, "timers fired");
            }
            // Buffered entries whose delivery failed are tried again (see `buffered`).
            self.retry_buffered_if_due();
            let next = self.store().next_due().ok().flatten();
            match (next, self.buffered_retry_due()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        });
        // Runs under way finish (their scripts and commands are bounded) before the scheduler
        // counts as stopped, so nothing of this runtime outlives a host's shutdown.
        let runs: Vec<_> = std::mem::take(&mut *self.job_threads());
        for run in runs {
            let _ = run.join();
        }
        tracing::info!("scheduler stopped");
    }

    /// Fires every timer due at the clock's now, job runs included, and answers when all of
    /// them are done; then makes the pass over the message buffer if one is due after a failed
    /// delivery (see `buffered`). Tests on a virtual clock call this after moving the clock.
    pub fn fire_due(&self) -> FireReport {
        let report = self.fire_rounds(&|claim| self.run_claim(claim));
        self.retry_buffered_if_due();
        report
    }

    /// Simulation on a virtual clock: moves `clock` to `to` through every due time on the way,
    /// earliest first, firing timers and job runs at their own times (so nothing is a misfire
    /// and everything happens in order). `clock` must be the clock this runtime was opened with.
    pub fn advance(&self, clock: &baton_engine::VirtualClock, to: Timestamp) -> FireReport {
        let mut report = FireReport::default();
        loop {
            let next = self
                .store()
                .next_due()
                .ok()
                .flatten()
                .and_then(|d| parse_due(&d).ok());
            match next {
                Some(due) if due <= to => clock.set(due),
                _ => break,
            }
            let r = self.fire_due();
            report.fired += r.fired;
            report.failed += r.failed;
            if r.fired + r.failed == 0 {
                // Due but nothing fired (the row waits for a retry): do not spin.
                break;
            }
        }
        clock.set(to);
        let r = self.fire_due();
        report.fired += r.fired;
        report.failed += r.failed;
        report
    }

    /// As `fire_due`, but job runs go to their own threads so a long job never holds up the
    /// timers (and a job still running when it is due again meets its overlap policy).
    fn fire_due_detached(self: &Arc<Self>) -> FireReport {
        let rt = self.clone();
        self.fire_rounds(&move |claim| {
            let worker = rt.clone();
            let spawned = std::thread::Builder::new()
                .name("baton-job".into())
                .spawn(move || worker.run_claim(claim));
            match spawned {
                Ok(thread) => {
                    let mut threads = rt.job_threads();
                    threads.retain(|t| !t.is_finished());
                    threads.push(thread);
                }
                // No thread to be had: the run is carried out here rather than left Running.
                Err(e) => {
                    tracing::warn!(
                        "cannot start a thread for a job run ({e}); running it in the scheduler's"
                    );
                    rt.run_claim(claim);
                }
            }
        })
    }

    /// The threads of job runs under way.
    fn job_threads(&self) -> std::sync::MutexGuard<'_, Vec<std::thread::JoinHandle<()>>> {
        self.job_threads.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fire_rounds(&self, run_job: &(dyn Fn(crate::jobs::Claim) + Sync)) -> FireReport {
        let mut report = FireReport::default();
        let mut seen = HashSet::new();
        // A stopping scheduler leaves what is still due for the next start (nothing is lost:
        // the rows stay in the timer table).
        while !self.wake.stopping() {
            let now = self.clock.now();
            let due = self.store().due_timers(&due_text(now), FIRE_BATCH);
            let rows: Vec<TimerRow> = match due {
                Ok(rows) => rows
                    .into_iter()
                    .filter(|r| seen.insert((r.id, r.due_at.clone())))
                    .collect(),
                Err(e) => {
                    tracing::warn!("cannot read the timer table: {e}");
                    break;
                }
            };
            if rows.is_empty() {
                break;
            }
            let next = AtomicUsize::new(0);
            let fired = AtomicUsize::new(0);
            let failed = AtomicUsize::new(0);
            std::thread::scope(|scope| {
                for _ in 0..FIRE_WORKERS.min(rows.len()) {
                    scope.spawn(|| loop {
                        if self.wake.stopping() {
                            break;
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(row) = rows.get(i) else { break };
                        // A row whose firing panics (a bug) fails alone, like any other
                        // failed firing: the other rows and the scheduler go on.
                        let outcome =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                self.fire_one(row, now, run_job)
                            }))
                            .unwrap_or_else(|panic| {
                                Err(Error::internal(format!(
                                    "firing it panicked: {}",
                                    crate::isolation::panic_text(&*panic)
                                )))
                            });
                        match outcome {
                            Ok(()) => fired.fetch_add(1, Ordering::Relaxed),
                            Err(e) => {
                                self.defer(row, now, e);
                                failed.fetch_add(1, Ordering::Relaxed)
                            }
                        };
                    });
                }
            });
            report.fired += fired.into_inner();
            report.failed += failed.into_inner();
        }
        report
    }

    fn fire_one(
        &self,
        row: &TimerRow,
        now: Timestamp,
        run_job: &(dyn Fn(crate::jobs::Claim) + Sync),
    ) -> Result<(), Error> {
        match row.kind.as_str() {
            "instance" => {
                let guid = row.instance_guid.as_deref().unwrap_or_default();
                self.step_with(guid, Event::TimersDue, &Caller::owner(), Extra::Timers)
                    .map(|_| ())
            }
            "start" => self.fire_start(row, now, Map::new()).map(|_| ()),
            "job" => {
                if let Some(claim) = self.claim_scheduled(row, now)? {
                    run_job(claim);
                }
                Ok(())
            }
            other => Err(Error::internal(format!("unknown timer kind '{other}'"))),
        }
    }

    /// A row whose firing failed: dropped when its instance has ended (nothing to fire any
    /// more), left out when the failure gave its instance an internal incident (its retry
    /// writes the row back, see `isolation`), a timer start event's failure counted (see
    /// `start_failures`), otherwise tried again a minute later, so one bad row never blocks
    /// the others.
    fn defer(&self, row: &TimerRow, now: Timestamp, error: Error) {
        if row.kind == "start" && !error.is(Code::RateLimited) {
            self.start_failed(row, now, error);
            return;
        }
        let error = error.line();
        if let Some(guid) = row.instance_guid.as_deref() {
            if row.kind == "instance" && self.stopped.maybe(guid) {
                tracing::warn!(timer = row.id, instance = guid, "a timer could not fire: {error}; it waits for RetryIncidentCommand on its instance's internal incident");
                return;
            }
        }
        let ended = row
            .instance_guid
            .as_deref()
            .and_then(|g| self.store().instance(g).ok())
            .is_none_or(|i| matches!(i.status.as_str(), "COMPLETED" | "CANCELLED"));
        let later = due_text(now + RETRY_AFTER);
        let dropped = ended && row.kind == "instance";
        tracing::warn!(timer = row.id, kind = %row.kind, "a timer could not fire: {error}; {}", if dropped { "its instance has ended, the timer is dropped" } else { "trying again in a minute" });
        let row = row.clone();
        let outcome = self.write(move |tx| {
            match row.kind.as_str() {
                "instance" => tx.set_instance_timer(
                    row.instance_guid.as_deref().unwrap_or_default(),
                    (!ended).then_some(later.as_str()),
                )?,
                // Put off (the start rate), not failed: the attempt does not count.
                "start" => {
                    tx.retry_start_timer(
                        row.definition_id.unwrap_or_default(),
                        row.element_id.as_deref().unwrap_or_default(),
                        &later,
                        None,
                    )?;
                }
                _ => tx.set_job_timer(row.job_id.unwrap_or_default(), Some(&later))?,
            }
            Ok(())
        });
        if let Err(e) = outcome {
            tracing::warn!("and the timer table could not be updated: {}", e.line());
        }
    }

    /// A timer start event fell due: start an instance there (with `variables`) and move the
    /// row to the next repetition (or remove it), in one transaction. Answers the instance, or
    /// None when a newer version replaced the definition (the row is removed).
    pub(crate) fn fire_start(
        &self,
        row: &TimerRow,
        now: Timestamp,
        variables: Map<String, Value>,
    ) -> Result<Option<(String, Arc<Engine>, Instance)>, Error> {
        let def = row.definition_id.unwrap_or_default();
        let element = row.element_id.clone().unwrap_or_default();
        let definition = self.store().definition(def, false)?;
        let newest = self
            .store()
            .definitions(Some(&definition.process_key), 1, 1)?
            .0;
        if newest.first().map(|d| d.process_definition_id) != Some(def) {
            // A newer version replaced this one's timer start events.
            self.write(move |tx| Ok(tx.set_start_timer(def, &element, None, 0)?))?;
            return Ok(None);
        }
        let engine = self.engine(def)?;
        let sched = engine
            .timer_starts()
            .into_iter()
            .find(|(_, id, _)| *id == element)
            .ok_or_else(|| {
                Error::internal(format!(
                    "definition {def} has no timer start event '{element}'"
                ))
            })?
            .2
            .map_err(Error::internal)?;
        let fired = row.fired + 1;
        // A row tried again after a failure goes on from the repetition it stands for.
        let planned = row.planned_at.as_deref().unwrap_or(&row.due_at);
        let next = next_repetition(&sched, parse_due(planned)?, fired as u32, now).map(due_text);
        let extra = Extra::StartTimer {
            definition_id: def,
            element_id: element.clone(),
            next,
            fired,
        };
        let started = self.start_process_instance(
            def,
            None,
            Some(&element),
            variables,
            None,
            None,
            &Caller::owner(),
            extra,
        )?;
        Ok(Some(started))
    }

    /// Writes the start timers of a definition just deployed (inside its deploy transaction)
    /// and removes those of the versions it replaces. Answers warnings for timer start events
    /// that cannot be scheduled, and the earliest due time written.
    pub(crate) fn schedule_starts(
        &self,
        tx: &baton_store::Tx,
        engine: &baton_engine::Engine,
        definition_id: i64,
        process_key: &str,
    ) -> Result<(Vec<baton_engine::Problem>, Option<String>), Error> {
        tx.drop_start_timers(process_key, definition_id)?;
        let now = self.clock.now();
        // The incidents of the versions replaced are resolved with them.
        tx.replace_start_incidents(process_key, definition_id, &self.now())?;
        let mut warnings = Vec::new();
        let mut earliest: Option<String> = None;
        for (_, element, sched) in engine.timer_starts() {
            match sched {
                Ok(s) => {
                    let due = due_text(s.first_due(now));
                    tx.set_start_timer(definition_id, &element, Some(&due), 0)?;
                    if earliest.as_ref().is_none_or(|e| due < *e) {
                        earliest = Some(due);
                    }
                }
                Err(m) => {
                    let span = engine
                        .deployment
                        .node_by_id(&element)
                        .map(|n| engine.deployment.node(n).span);
                    warnings.push(baton_engine::Problem {
                        severity: baton_engine::Severity::Warning,
                        element_id: Some(element.clone()),
                        line: span.map(|s| s.line).unwrap_or(0),
                        column: span.map(|s| s.column).unwrap_or(0),
                        message: m,
                    });
                }
            }
        }
        Ok((warnings, earliest))
    }

    pub(crate) fn wake_for(&self, due: Option<&str>) {
        if let Some(d) = due {
            self.wake.offer(d);
        }
    }

    /// GetTimerListQuery: pending timers, earliest first (`instanceGuid?`, `kind?`, paged).
    /// A non-administrator sees the timers of the instances they may read, and every start and
    /// job timer.
    pub(crate) fn timer_list(&self, data: &Value, caller: &crate::Caller) -> crate::Answer {
        let guid = crate::opt_text(data, "instanceGuid")?;
        let kind = crate::opt_text(data, "kind")?;
        if let Some(k) = kind {
            if !["instance", "start", "job"].contains(&k) {
                return Err(Error::field(
                    "kind",
                    format!("kind must be instance, start or job, not '{k}'"),
                ));
            }
        }
        let (page, size) = crate::paging(data)?;
        let viewer = self.viewer_of(caller);
        let (rows, total) = self
            .store()
            .timers(kind, guid, viewer.as_ref(), page, size)?;
        let mut cycles: std::collections::HashMap<(i64, String), RetryCycle> = Default::default();
        let items: Vec<Value> = rows
            .iter()
            .map(|r| {
                let mut item = json!({"kind": r.kind, "instanceGuid": r.instance_guid, "processDefinitionId": r.definition_id,
                       "elementId": r.element_id, "jobId": r.job_id, "dueAt": r.due_at, "fired": r.fired});
                // A timer start event's attempts left and its last error (Camunda's job
                // retries and exception message).
                if r.kind == "start" {
                    let (def, element) = (
                        r.definition_id.unwrap_or_default(),
                        r.element_id.clone().unwrap_or_default(),
                    );
                    let cycle = cycles
                        .entry((def, element))
                        .or_insert_with_key(|(d, e)| self.start_retry(*d, e));
                    item["retries"] = json!(cycle.retries_left(r.failures));
                    item["lastError"] = json!(r.last_error);
                }
                item
            })
            .collect();
        Ok(("OK".into(), json!({"items": items, "totalCount": total})))
    }
}

/// The next due time of a repeating schedule after a firing, skipping repetitions already in
/// the past (fire once, keep the phase). None for one-shot schedules and exhausted cycles.
pub(crate) fn next_repetition(
    sched: &Schedule,
    due: Timestamp,
    fired: u32,
    now: Timestamp,
) -> Option<Timestamp> {
    // Jumps over the missed repetitions of a fixed-length cycle instead of stepping through
    // them one period at a time.
    sched.next_due_after(due, fired, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A pass that keeps answering a due time already past (a row that could not be moved
    /// because nothing can be written) does not make the loop spin: after two passes at once
    /// it waits 10 ms, 20 ms, 40 ms... Over half a second that is a handful of passes, where a
    /// loop without the pause makes thousands.
    #[test]
    fn a_loop_whose_work_stays_due_backs_off_instead_of_spinning() {
        let wake = Arc::new(Wake::default());
        let clock = Arc::new(baton_engine::VirtualClock::new(
            baton_engine::VirtualClock::default_start(),
        ));
        let passes = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let (w, c, n) = (wake.clone(), clock.clone(), passes.clone());
        let thread = std::thread::spawn(move || {
            w.run(&*c, || {
                n.fetch_add(1, Ordering::Relaxed);
                Some("2000-01-01T00:00:00.000000Z".into())
            });
        });
        std::thread::sleep(Duration::from_millis(500));
        let seen = passes.load(Ordering::Relaxed);
        {
            let mut s = wake.state.lock().unwrap();
            s.stop = true;
            wake.halted.store(true, Ordering::Release);
            wake.cv.notify_all();
        }
        thread.join().expect("the loop ended without panicking");
        // 3 at once, then 10 + 20 + 40 + 80 + 160 ms: 8 by 310 ms, 9 by 630 ms.
        assert!((3..=10).contains(&seen), "{seen} passes in 500 ms");
    }

    /// A background loop whose pass panics goes on with its next pass (the scheduler and the
    /// sender keep serving after a bug met by one pass).
    #[test]
    fn a_loop_whose_pass_panics_runs_its_next_pass() {
        let wake = Arc::new(Wake::default());
        let clock = Arc::new(baton_engine::VirtualClock::new(
            baton_engine::VirtualClock::default_start(),
        ));
        let (passed, passes) = mpsc::channel();
        let (w, c) = (wake.clone(), clock.clone());
        let thread = std::thread::spawn(move || {
            let mut n = 0;
            w.run(&*c, || {
                n += 1;
                let _ = passed.send(n);
                if n == 1 {
                    panic!("a pass that panics (test)");
                }
                None
            });
        });
        let wait = Duration::from_secs(30);
        assert_eq!(passes.recv_timeout(wait), Ok(1));
        // The loop pauses after the panic; an earlier due time wakes it at once.
        wake.offer("2000-01-01T00:00:00.000000Z");
        assert_eq!(passes.recv_timeout(wait), Ok(2));
        {
            let mut s = wake.state.lock().unwrap();
            s.stop = true;
            wake.halted.store(true, Ordering::Release);
            wake.cv.notify_all();
        }
        thread.join().expect("the loop ended without panicking");
    }
}
