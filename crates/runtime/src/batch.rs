//! Group commit. A command computes its step outside the store's lock, then hands the writes
//! to `Runtime::write` as a job. Jobs queue; whoever takes the lock next runs every queued job,
//! each in its own savepoint (a failing job undoes only its own writes), and commits them all
//! with one COMMIT, so one disk sync acknowledges many commands. No job's answer is released
//! before the COMMIT that holds its writes returned. With one client at a time a batch holds
//! one job, which is the plain one-transaction-per-step path.

use crate::{Error, Runtime};
use baton_store::{Store, Tx};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Run = Box<dyn FnOnce(&Tx) -> Result<(), Error> + Send>;

pub(crate) struct Job {
    run: Run,
    done: mpsc::Sender<Result<(), Error>>,
}

/// The most jobs one COMMIT carries.
const MAX_BATCH: usize = 512;

impl Runtime {
    /// Runs `f` in a write transaction, possibly together with other commands' writes, and
    /// answers its result once the transaction committed.
    pub(crate) fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Tx) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
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
                    return Err(Error::internal("the write was lost"))
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
        v.ok_or_else(|| Error::internal("the write produced no result"))
    }
}

fn run_batch(store: &mut Store, jobs: Vec<Job>) {
    tracing::trace!(jobs = jobs.len(), "group commit");
    let tx = match store.transaction() {
        Ok(t) => t,
        Err(e) => {
            let e = Error::from(e);
            for j in jobs {
                let _ = j.done.send(Err(e.clone()));
            }
            return;
        }
    };
    let mut committed = Vec::with_capacity(jobs.len());
    for job in jobs {
        let sp = match tx.savepoint() {
            Ok(sp) => sp,
            Err(e) => {
                let _ = job.done.send(Err(Error::from(e)));
                continue;
            }
        };
        match (job.run)(&sp).and_then(|()| sp.commit().map_err(Error::from)) {
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
            let mut e = Error::from(e);
            e.message = format!("the commit failed, nothing was saved: {}", e.message);
            for d in committed {
                let _ = d.send(Err(e.clone()));
            }
        }
    }
}
