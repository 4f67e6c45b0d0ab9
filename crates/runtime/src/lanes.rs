//! Two lanes from the async doors to the blocking threads, so queries never queue behind writes.
//!
//! Commands run scripts and wait for disk syncs, so a door never lets one hold an async worker:
//! a start, a task's completion or a callback is tried on the worker only as long as nothing
//! in it can block there (`inline`), and everything else runs on tokio's blocking threads.
//! Those threads are a bounded pool (512), and a task waits for a free one in arrival order:
//! without a bound of their own, a burst of slow commands (scripts near their time limit,
//! hundreds of starts at once) took every thread and an unrelated query waited behind all of
//! them. So a command first waits, asynchronously and holding no thread, for one of
//! [`COMMAND_LANES`] places; queries skip that wait. However many commands are under way, the
//! pool keeps threads for queries, and a query is answered as fast as the read connection
//! allows (reads never wait for a write: see `Runtime::store`).

use crate::{Caller, Reply, Runtime};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// How many commands from the async doors run at once; the rest wait their turn without
/// holding a thread. Group commit needs far fewer than this to fill its batches.
pub const COMMAND_LANES: usize = 128;

/// The places of the command lane.
pub(crate) struct Lanes {
    commands: Arc<tokio::sync::Semaphore>,
}

impl Default for Lanes {
    fn default() -> Self {
        Lanes {
            commands: Arc::new(tokio::sync::Semaphore::new(COMMAND_LANES)),
        }
    }
}

/// Whether a command only reads (it takes the query lane).
fn is_query(cmd: &str) -> bool {
    cmd.ends_with("Query")
}

impl Runtime {
    /// Runs `cmd` for an async door, after a place in the command lane for anything but a
    /// query (see the module's comment): a start, a task's completion or a callback on the
    /// door's worker when nothing in it blocks (see below), anything else on a blocking thread.
    /// Errs only when a blocking thread could not run the command to its end (it panicked past
    /// `dispatch`, or the runtime is shutting down).
    pub async fn execute_off_workers(
        self: Arc<Self>,
        cmd: String,
        data: Value,
        caller: Caller,
    ) -> Result<Reply, tokio::task::JoinError> {
        let _place = if is_query(&cmd) {
            None
        } else {
            // The semaphore is never closed, so acquiring only waits.
            self.lanes.commands.clone().acquire_owned().await.ok()
        };
        if !crate::bus::waits_as_task(&cmd) {
            return tokio::task::spawn_blocking(move || self.execute_as(&cmd, &data, &caller))
                .await;
        }
        // A start, a task's completion or a callback computes its step on this worker and waits
        // for its group commit as the door's task, so no thread sleeps through it. What could
        // block the worker (a long script, a blocking write) stops that attempt before anything
        // is written (`inline`), and the command runs again: its step on a blocking thread, up
        // to the wait for its commit, which is again the door's task's.
        let attempt = crate::inline::attempt(self.execute_async(&cmd, &data, &caller)).await;
        if let Some(reply) = attempt {
            return Ok(reply);
        }
        first_poll_blocking(async move { self.execute_async(&cmd, &data, &caller).await }).await
    }

    /// An incoming webhook for an async door, after a place in the command lane. A callback is
    /// checked and its step computed on the door's own worker, and its wait for the commit
    /// holds no thread (`inline`); whatever may block (another configuration, a long script, a
    /// refusal to record) runs again from the start as `execute_off_workers` runs a start: on
    /// a blocking thread up to the commit, then on the door's task.
    pub async fn receive_webhook_off_workers(
        self: Arc<Self>,
        incoming: crate::webhooks::IncomingWebhook,
    ) -> Result<crate::webhooks::WebhookAnswer, tokio::task::JoinError> {
        let _place = self.lanes.commands.clone().acquire_owned().await.ok();
        // First on this worker; whatever needs a thread runs again on one (`inline`).
        if let Some(answer) = crate::inline::attempt(self.receive_webhook_async(&incoming)).await {
            return Ok(answer);
        }
        first_poll_blocking(async move { self.receive_webhook_async(&incoming).await }).await
    }

    /// `receive_webhook_off_workers` without the attempt on the worker: everything up to the
    /// wait for the commit on a blocking thread, as the door ran every request before. For
    /// comparisons (`examples/webhook_path.rs`); a door has no reason to call it.
    #[doc(hidden)]
    pub async fn receive_webhook_blocking_first(
        self: Arc<Self>,
        incoming: crate::webhooks::IncomingWebhook,
    ) -> Result<crate::webhooks::WebhookAnswer, tokio::task::JoinError> {
        let _place = self.lanes.commands.clone().acquire_owned().await.ok();
        first_poll_blocking(async move { self.receive_webhook_async(&incoming).await }).await
    }

    /// As `execute_off_workers` for any other work a door runs that may run commands or
    /// scripts (a webhook application's request): on a blocking thread, after a place in the
    /// command lane.
    pub async fn run_off_workers<T: Send + 'static>(
        self: Arc<Self>,
        work: impl FnOnce(&Runtime) -> T + Send + 'static,
    ) -> Result<T, tokio::task::JoinError> {
        let _place = self.lanes.commands.clone().acquire_owned().await.ok();
        tokio::task::spawn_blocking(move || work(&self)).await
    }
}

/// Polls `work` once on a blocking thread (everything up to its first wait: reads, scripts,
/// a step), then awaits the rest on the caller's task.
/// `work` is boxed before the returned future holds it (see `isolation::guard_async`).
fn first_poll_blocking<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
) -> impl Future<Output = Result<T, tokio::task::JoinError>> {
    let mut work: Pin<Box<dyn Future<Output = T> + Send>> = Box::pin(work);
    async move {
        let (work, first) = tokio::task::spawn_blocking(move || {
            let first = work.as_mut().poll(&mut Context::from_waker(Waker::noop()));
            (work, first)
        })
        .await?;
        Ok(match first {
            Poll::Ready(answer) => answer,
            Poll::Pending => work.await,
        })
    }
}
