//! Keeps the webhook request log within the administrator's age and size (settings
//! `webhookLogMaxAgeDays`, `webhookLogMaxMegabytes`). Requests themselves drive it: after every
//! `PASS_EVERY` recorded requests, or the first one `PASS_INTERVAL_SECS` after the last pass,
//! one pass removes at most `BATCH` of the oldest rows in one short write; a pass that found a
//! full batch makes the next request run another. Changing the settings prunes at once.
//! No thread of its own: a log that receives nothing does not grow.

use crate::Runtime;
use jiff::SignedDuration;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Recorded requests between passes.
const PASS_EVERY: u64 = 64;
/// Seconds after which the next recorded request runs a pass anyway.
const PASS_INTERVAL_SECS: i64 = 60;
/// Rows one pass looks at, at most.
const BATCH: i64 = 1_000;
/// Passes `prune_webhook_log_now` runs at most (a settings change on a large log).
const MAX_PASSES_NOW: usize = 1_000;

/// When the log was last pruned and how many rows were written since.
#[derive(Default)]
pub(crate) struct Retention {
    since_pass: AtomicU64,
    /// Seconds on the runtime's clock at the last pass (0: none yet).
    last_pass: AtomicI64,
    running: AtomicBool,
}

impl Runtime {
    /// Called once a request's row was written: runs a pass when one is due.
    pub(super) fn webhook_log_grew(&self) {
        let r = &self.webhook_cache.retention;
        let n = r.since_pass.fetch_add(1, Ordering::AcqRel) + 1;
        let now = self.clock.now().as_second();
        let last = r.last_pass.load(Ordering::Acquire);
        if n < PASS_EVERY && now.saturating_sub(last) < PASS_INTERVAL_SECS {
            return;
        }
        self.prune_pass();
    }

    /// Prunes until the log is within its limits (or `MAX_PASSES_NOW` passes were made).
    pub(crate) fn prune_webhook_log_now(&self) {
        for _ in 0..MAX_PASSES_NOW {
            if !self.prune_pass() {
                break;
            }
        }
    }

    /// One bounded pass; answers whether another is due. One pass runs at a time: a request
    /// that finds one under way goes on.
    fn prune_pass(&self) -> bool {
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
