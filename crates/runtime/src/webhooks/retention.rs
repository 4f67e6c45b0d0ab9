//! Keeps the webhook request log within the administrator's age and size (settings
//! `webhookLogMaxAgeDays`, `webhookLogMaxMegabytes`). Requests themselves drive it: after every
//! `PASS_EVERY` recorded requests, or the first one `PASS_INTERVAL_SECS` after the last pass,
//! one pass removes at most `BATCH` of the oldest rows in one short write; a pass that found a
//! full batch makes the next request run another. Changing the settings prunes at once.
//!
//! A log that receives nothing does not grow, but its rows still age: the scheduler's thread
//! also calls [`Runtime::prune_webhook_log_if_due`] on each of its wake-ups (at least every
//! 30 s), which runs a background pass once at start and then every `BACKGROUND_EVERY_SECS`
//! (an hour), so a quiet server still honours the administrator's age. A background pass
//! removes at most `BACKGROUND_PASSES` batches; when that was not enough, the next wake-up goes
//! on without waiting the hour.

use crate::Runtime;
use jiff::SignedDuration;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Recorded requests between passes.
const PASS_EVERY: u64 = 64;
/// Seconds after which the next recorded request runs a pass anyway.
const PASS_INTERVAL_SECS: i64 = 60;
/// Rows one pass looks at, at most.
const BATCH: i64 = 1_000;
/// Passes `prune_webhook_log_now` runs at most (a settings change on a large log).
const MAX_PASSES_NOW: usize = 1_000;

/// Seconds between background passes.
const BACKGROUND_EVERY_SECS: i64 = 3_600;
/// Batches one background pass removes at most (the scheduler's thread runs it).
const BACKGROUND_PASSES: usize = 50;

/// When the log was last pruned and how many rows were written since.
#[derive(Default)]
pub(crate) struct Retention {
    since_pass: AtomicU64,
    /// Seconds on the runtime's clock at the last pass (0: none yet).
    last_pass: AtomicI64,
    running: AtomicBool,
    /// Seconds on the runtime's clock at the last background pass (0: none yet).
    last_background: AtomicI64,
    /// The last background pass left rows to remove: the next call goes on at once.
    behind: AtomicBool,
    /// Background passes made, for whoever waits for one.
    background: Mutex<u64>,
    ran: Condvar,
    /// An upper bound of the log's size in bytes: its sum at the last pass that summed it, plus
    /// what each request recorded since could have added (see `webhook_log_grew`). While it is
    /// under `ESTIMATE_MARGIN` of the limit, a pass does not sum the log again.
    estimate: AtomicI64,
    estimate_known: AtomicBool,
}

/// The share of the size limit (in tenths) under which the estimate spares a pass the sum.
const ESTIMATE_MARGIN: i64 = 9;

impl Runtime {
    /// Called once a request's row was written (`added`: at least what the row holds, in
    /// bytes): runs a pass when one is due.
    pub(super) fn webhook_log_grew(&self, added: i64) {
        if self.webhook_log_counted(added) {
            self.prune_pass(false);
        }
    }

    /// `webhook_log_grew` without the pass: true when one is due (the caller runs
    /// `prune_pass(false)`, on a thread that may block).
    pub(super) fn webhook_log_counted(&self, added: i64) -> bool {
        let r = &self.webhook_cache.retention;
        r.estimate.fetch_add(added.max(0), Ordering::AcqRel);
        let n = r.since_pass.fetch_add(1, Ordering::AcqRel) + 1;
        let now = self.clock.now().as_second();
        let last = r.last_pass.load(Ordering::Acquire);
        n >= PASS_EVERY || now.saturating_sub(last) >= PASS_INTERVAL_SECS
    }

    /// The background pass: runs when none ran yet since start, an hour after the last one,
    /// or at once when the last one could not finish; otherwise does nothing (two atomic
    /// reads). The scheduler's thread calls it on each wake-up; `stop` is asked between
    /// batches so that a large backlog never holds a shutdown.
    pub fn prune_webhook_log_if_due(&self, stop: &dyn Fn() -> bool) {
        let r = &self.webhook_cache.retention;
        let now = self.clock.now().as_second();
        let last = r.last_background.load(Ordering::Acquire);
        let due = last == 0
            || now.saturating_sub(last) >= BACKGROUND_EVERY_SECS
            || now < last
            || r.behind.load(Ordering::Acquire);
        if !due {
            return;
        }
        // 0 means "never": a clock at the epoch still counts as having run.
        r.last_background.store(now.max(1), Ordering::Release);
        let mut more = false;
        for _ in 0..BACKGROUND_PASSES {
            if stop() {
                more = true;
                break;
            }
            more = self.prune_pass(true);
            if !more {
                break;
            }
        }
        r.behind.store(more, Ordering::Release);
        let mut n = r.background.lock().unwrap_or_else(|p| p.into_inner());
        *n += 1;
        r.ran.notify_all();
    }

    /// Waits up to `timeout` until at least `count` background passes of the request log were
    /// made since start; answers how many were. For tests of the host and for tools.
    #[doc(hidden)]
    pub fn wait_webhook_log_background(&self, count: u64, timeout: Duration) -> u64 {
        let r = &self.webhook_cache.retention;
        let n = r.background.lock().unwrap_or_else(|p| p.into_inner());
        let (n, _) = r
            .ran
            .wait_timeout_while(n, timeout, |n| *n < count)
            .unwrap_or_else(|p| p.into_inner());
        *n
    }

    /// Prunes until the log is within its limits (or `MAX_PASSES_NOW` passes were made).
    pub(crate) fn prune_webhook_log_now(&self) {
        for _ in 0..MAX_PASSES_NOW {
            if !self.prune_pass(true) {
                break;
            }
        }
    }

    /// One bounded pass; answers whether another is due. One pass runs at a time: a request
    /// that finds one under way goes on.
    pub(super) fn prune_pass(&self, background: bool) -> bool {
        let r = &self.webhook_cache.retention;
        if r.running.swap(true, Ordering::AcqRel) {
            return false;
        }
        let s = self.security();
        let now = self.clock.now();
        let before = (s.webhook_log_max_age_days > 0)
            .then(|| {
                now.checked_sub(SignedDuration::from_hours(s.webhook_log_max_age_days * 24))
                    .ok()
            })
            .flatten()
            .map(|t| format!("{t:.6}"));
        let max_bytes = (s.webhook_log_max_megabytes > 0)
            .then(|| s.webhook_log_max_megabytes.saturating_mul(1024 * 1024));
        // Summing the whole log is the costly part of a pass: skipped while the estimate says
        // the log is well under its size (the background pass always sums, to re-anchor it).
        let summed = max_bytes.filter(|max| {
            background
                || !r.estimate_known.load(Ordering::Acquire)
                || r.estimate.load(Ordering::Acquire) > max / 10 * ESTIMATE_MARGIN
        });
        let max_bytes = summed;
        let estimated_before = r.estimate.load(Ordering::Acquire);
        let pruned = if before.is_none() && max_bytes.is_none() {
            Ok(None)
        } else {
            self.write(move |tx| {
                Ok(Some(tx.prune_webhook_requests(
                    before.as_deref(),
                    max_bytes,
                    BATCH,
                )?))
            })
        };
        r.last_pass.store(now.as_second(), Ordering::Release);
        let more = match pruned {
            Ok(Some(p)) => {
                if let Some(total) = p.total_after {
                    // The sum, plus whatever requests added while the pass ran (some of them
                    // may be in the sum too: the bound stays an upper bound).
                    r.estimate
                        .fetch_add(total - estimated_before, Ordering::AcqRel);
                    r.estimate_known.store(true, Ordering::Release);
                }
                if p.rows > 0 {
                    tracing::info!(rows = p.rows, bytes = p.bytes, "webhook request log pruned");
                }
                p.more
            }
            Ok(None) => false,
            Err(e) => {
                tracing::warn!("cannot prune the webhook request log: {}", e.line());
                false
            }
        };
        // A full batch: the next request runs another pass.
        r.since_pass
            .store(if more { PASS_EVERY } else { 0 }, Ordering::Release);
        r.running.store(false, Ordering::Release);
        more
    }
}
