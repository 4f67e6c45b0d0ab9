//! Work an async door polls on its own worker thread, with a way out to a blocking thread.
//!
//! Handing a request to a blocking thread and back costs two thread wake-ups, and on a small
//! machine those cost more than a webhook's whole step. So a door may first poll the work on
//! its worker ([`attempt`]), where nothing may block for long: no disk sync, no long script, no
//! wait for another request. Where the work would do one of these before it has written
//! anything, it stops ([`needs_thread`]) and the door runs it again, from the start, on a
//! blocking thread. That is safe because nothing was written: the group commit refuses a
//! blocking write from the worker ([`may_stop`] in `batch`), a step's scripts run under a
//! short time limit and a step that reached it is thrown away ([`compute`]), and engine steps
//! are pure. Once a step committed, nothing stops any more: what follows after the commit
//! (queued commands, buffered deliveries, the request log's bookkeeping) is handed to a
//! blocking thread by the code that runs it.

use crate::Error;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The most one script run may take on a worker thread; a step whose script needs longer is
/// computed again on a blocking thread, under the usual limit.
const SHORT_SCRIPT: Duration = Duration::from_millis(5);

#[derive(Default)]
struct Inline {
    stopped: AtomicBool,
    committed: AtomicBool,
}

tokio::task_local! {
    static INLINE: Inline;
}

/// Polls `work` on the calling task. None when it stopped because it needs a blocking thread
/// (and wrote nothing).
///
/// `work` is boxed, as in `isolation::guard_async`: a command's future is tens of KiB.
pub(crate) fn attempt<T>(work: impl Future<Output = T>) -> impl Future<Output = Option<T>> {
    let work = Box::pin(work);
    INLINE.scope(Inline::default(), async move {
        let value = work.await;
        let stopped = INLINE.with(|i| i.stopped.load(Ordering::Acquire));
        (!stopped).then_some(value)
    })
}

/// Whether the current task is an [`attempt`] (it runs on an async worker).
pub(crate) fn on_worker() -> bool {
    INLINE.try_with(|_| ()).is_ok()
}

/// Whether the current task is an [`attempt`] that may still stop: nothing committed yet.
pub(crate) fn may_stop() -> bool {
    INLINE
        .try_with(|i| !i.committed.load(Ordering::Acquire))
        .unwrap_or(false)
}

/// Runs `engine_call` (it may run scripts). In an attempt that may still stop, each script
/// gets [`SHORT_SCRIPT`], and a computation in which one reached it is thrown away: the attempt
/// stops. Elsewhere scripts have their usual limit.
pub(crate) fn compute<T>(engine_call: impl FnOnce() -> T) -> Result<T, Error> {
    if !may_stop() {
        return Ok(engine_call());
    }
    let _short = baton_engine::script::short_runs(SHORT_SCRIPT);
    let value = engine_call();
    if baton_engine::script::outgrown() {
        return Err(needs_thread("a long script"));
    }
    Ok(value)
}

/// Stops the current attempt: `what` needs a blocking thread. The error only unwinds the work;
/// the door runs it again and nobody sees it.
pub(crate) fn needs_thread(what: &str) -> Error {
    let _ = INLINE.try_with(|i| i.stopped.store(true, Ordering::Release));
    Error::unwinding(format!("{what} needs a blocking thread"))
}

/// Whether the current attempt stopped (see [`needs_thread`]).
pub(crate) fn stopped() -> bool {
    INLINE
        .try_with(|i| i.stopped.load(Ordering::Acquire))
        .unwrap_or(false)
}

/// A step of the current attempt committed: from here on it finishes where it is.
pub(crate) fn committed() {
    let _ = INLINE.try_with(|i| i.committed.store(true, Ordering::Release));
}
