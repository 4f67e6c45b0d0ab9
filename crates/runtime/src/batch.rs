//! Group commit. A command computes its step outside the store's lock, then hands the writes
//! to `Runtime::write` as a job. Jobs queue; whoever takes the lock next runs every queued job,
//! each after the first in its own savepoint (a failing job undoes only its own writes; a
//! failing first job rolls back the transaction, which holds nothing else), and commits them all
//! with one COMMIT, so one disk sync acknowledges many commands. No job's answer is released
//! before the COMMIT that holds its writes returned. With one client at a time a batch holds
//! one job, which is the plain one-transaction-per-step path.

use crate::{Fail, Runtime};
use baton_store::{Store, Tx};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Run = Box<dyn FnOnce(&Tx) -> Result<(), Fail> + Send>;

pub(crate) struct Job {
    run: Run,
    done: mpsc::Sender<Result<(), Fail>>,
}

/// The most jobs one COMMIT carries.
const MAX_BATCH: usize = 512;

impl Runtime {
    /// Runs `f` in a write transaction, possibly together with other commands' writes, and
    /// answers its result once the transaction committed.
    pub(crate) fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Tx) -> Result<T, Fail> + Send + 'static,
    ) -> Result<T, Fail> {
        let slot: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
        let out = slot.clone();
        let (done, finished) = mpsc::channel();
        let run: Run = Box::new(move |tx| {
            let v = f(tx)?;
            *out.lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
            Ok(())
        });
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Job { run, done });
        loop {
            // Done by another leader's batch: answer without touching the store.
            match finished.try_recv() {
                Ok(r) => {
                    r?;
                    break;
                }
                Err(mpsc::TryRecvError::Disconnected) => {
                    return Err(Fail::Business("the write was lost".into()))
                }
                Err(mpsc::TryRecvError::Empty) => {}
            }
            let mut leading = self.leader.lock().unwrap_or_else(|p| p.into_inner());
            if *leading {
                // Someone is committing a batch: wait for it to finish, then look again.
                let _unused = self
                    .batch_done
                    .wait(leading)
                    .unwrap_or_else(|p| p.into_inner());
                continue;
            }
            *leading = true;
            drop(leading);
            {
                let mut store = self.writer();
                let jobs: Vec<Job> = {
                    let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                    let n = q.len().min(MAX_BATCH);
                    q.drain(..n).collect()
                };
                if !jobs.is_empty() {
                    run_batch(&mut store, jobs);
                }
            }
            *self.leader.lock().unwrap_or_else(|p| p.into_inner()) = false;
            self.batch_done.notify_all();
        }
        let v = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        v.ok_or_else(|| Fail::Business("the write produced no result".into()))
    }
}

fn run_batch(store: &mut Store, jobs: Vec<Job>) {
    tracing::trace!(jobs = jobs.len(), "group commit");
    let mut jobs = jobs.into_iter();
    while let Some(first) = jobs.next() {
        let tx = match store.transaction() {
            Ok(t) => t,
            Err(e) => {
                for j in std::iter::once(first).chain(jobs) {
                    let _ = j.done.send(Err(Fail::Business(e.to_string())));
                }
                return;
            }
        };
        // The first job needs no savepoint: when it fails, rolling the whole transaction back
        // undoes only its writes, and the next job opens a new one. (A savepoint makes SQLite
        // copy every page the job touches into a sub-journal first.)
        if let Err(f) = (first.run)(&tx) {
            drop(tx);
            let _ = first.done.send(Err(f));
            continue;
        }
        let mut committed = Vec::with_capacity(jobs.len() + 1);
        committed.push(first.done);
        for job in jobs.by_ref() {
            let sp = match tx.savepoint() {
                Ok(sp) => sp,
                Err(e) => {
                    let _ = job.done.send(Err(Fail::from(e)));
                    continue;
                }
            };
            match (job.run)(&sp).and_then(|()| sp.commit().map_err(Fail::from)) {
                Ok(()) => committed.push(job.done),
                Err(f) => {
                    let _ = job.done.send(Err(f));
                }
            }
        }
        match tx.commit() {
            Ok(()) => {
                for d in committed {
                    let _ = d.send(Ok(()));
                }
            }
            Err(e) => {
                for d in committed {
                    let _ = d.send(Err(Fail::Business(format!(
                        "the commit failed, nothing was saved: {e}"
                    ))));
                }
            }
        }
    }
}
