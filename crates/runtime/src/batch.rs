//! Group commit. A command computes its step outside the store's lock, then hands the writes
//! to `Runtime::write` as a job. Jobs queue; whoever takes the lock next runs every queued job
//! and commits them all with one COMMIT, so one disk sync acknowledges many commands. No job's
//! answer is released before the COMMIT that holds its writes returned. With one client at a
//! time a batch holds one job, which is the plain one-transaction-per-step path.
//!
//! A failing job undoes only its own writes, in one of two ways:
//! - A job that can run again (`write_again`: an engine step, whose closure only reads what it
//!   captured) runs without a savepoint. When it fails having written nothing (the common
//!   case: a revision conflict, a duplicate), there is nothing to undo. When it fails after
//!   writing, the transaction rolls back and the jobs that had succeeded in it run again in a
//!   new one. These jobs run first in a batch, before any job that cannot run again.
//! - Any other job runs in its own savepoint (SQLite copies each page it touches into the
//!   savepoint's journal first), except the first job of a transaction, whose failure rolls
//!   back a transaction that holds nothing else.

use crate::{Error, Runtime};
use baton_store::{Store, Tx};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Run = Box<dyn FnMut(&Tx) -> Result<(), Error> + Send>;

pub(crate) struct Job {
    run: Run,
    /// Whether `run` may be called again after a rollback (see the module's comment).
    again: bool,
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
        let mut f = Some(f);
        self.submit(false, move |tx| match f.take() {
            Some(f) => f(tx),
            None => Err(Error::internal("a write ran twice")),
        })
    }

    /// `write` for a closure that can run again with the same result when its transaction was
    /// rolled back (it changes nothing but the database): it needs no savepoint.
    pub(crate) fn write_again<T: Send + 'static>(
        &self,
        f: impl FnMut(&Tx) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        self.submit(true, f)
    }

    fn submit<T: Send + 'static>(
        &self,
        again: bool,
        mut f: impl FnMut(&Tx) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let slot: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
        let out = slot.clone();
        let (done, finished) = mpsc::channel();
        let run: Run = Box::new(move |tx| {
            // A job that panics fails alone (the batch takes its writes back like any failed
            // job's) and the leader goes on: a panic must not leave the writer to nobody.
            let v = crate::isolation::guard("a write", || f(tx))?;
            *out.lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
            Ok(())
        });
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Job { run, again, done });
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
    let (mut again, others): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(|j| j.again);
    let mut others = others.into_iter();
    'transaction: loop {
        let tx = match store.transaction() {
            Ok(t) => t,
            Err(e) => {
                let e = Error::from(e);
                for j in again.into_iter().chain(others) {
                    let _ = j.done.send(Err(e.clone()));
                }
                return;
            }
        };
        let mut committed: Vec<Job> = Vec::with_capacity(again.len() + others.len());
        // The jobs that can run again, without savepoints.
        let mut pending = std::mem::take(&mut again).into_iter();
        while let Some(mut job) = pending.next() {
            let changes = tx.total_changes();
            match (job.run)(&tx) {
                Ok(()) => committed.push(job),
                Err(f) => {
                    let _ = job.done.send(Err(f));
                    if tx.total_changes() != changes || !tx.is_open() {
                        // It wrote before failing: undo everything, run the others again.
                        drop(tx);
                        again = committed.into_iter().chain(pending).collect();
                        continue 'transaction;
                    }
                }
            }
        }
        // The others, each in a savepoint but the transaction's first.
        if committed.is_empty() {
            let Some(mut first) = others.next() else {
                return;
            };
            if let Err(f) = (first.run)(&tx) {
                drop(tx);
                let _ = first.done.send(Err(f));
                continue;
            }
            committed.push(first);
        }
        for mut job in others.by_ref() {
            let sp = match tx.savepoint() {
                Ok(sp) => sp,
                Err(e) => {
                    let _ = job.done.send(Err(Error::from(e)));
                    continue;
                }
            };
            match (job.run)(&sp).and_then(|()| sp.commit().map_err(Error::from)) {
                Ok(()) => committed.push(job),
                Err(f) => {
                    let _ = job.done.send(Err(f));
                }
            }
        }
        let result = tx.commit().map_err(|e| {
            let mut e = Error::from(e);
            e.message = format!("the commit failed, nothing was saved: {}", e.message);
            e
        });
        for Job { run, done, .. } in committed {
            // What the closure captured goes first: its owner may take it back.
            drop(run);
            let _ = done.send(result.clone());
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job that creates user `name` and then fails or not; answers through `rx`.
    fn job(
        name: &'static str,
        again: bool,
        fail: Option<bool>,
    ) -> (Job, mpsc::Receiver<Result<(), Error>>) {
        let (done, rx) = mpsc::channel();
        let run: Run = Box::new(move |tx| match fail {
            // Errors before writing anything.
            Some(false) => Err(Error::conflict("changed by another command")),
            // Errors after writing.
            Some(true) => {
                tx.create_user(name, false, "t")?;
                Err(Error::rejected("after writing"))
            }
            None => {
                tx.create_user(name, false, "t")?;
                Ok(())
            }
        });
        (Job { run, again, done }, rx)
    }

    fn names(store: &Store) -> Vec<String> {
        let mut v: Vec<String> = store
            .users()
            .unwrap()
            .into_iter()
            .map(|u| u.user_name)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_job_that_fails_after_writing_takes_only_its_own_writes_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store =
            Store::open(&dir.path().join("b.db"), baton_store::Durability::Normal).unwrap();
        let cases = [
            ("a", true, None),
            ("b", true, Some(true)),
            ("c", false, None),
            ("d", true, Some(false)),
            ("e", false, Some(true)),
            ("f", true, None),
            ("g", false, None),
        ];
        let (jobs, answers): (Vec<Job>, Vec<_>) = cases
            .iter()
            .map(|(n, again, fail)| job(n, *again, *fail))
            .unzip();
        run_batch(&mut store, jobs);
        let ok: Vec<bool> = answers
            .iter()
            .map(|rx| rx.recv().unwrap().is_ok())
            .collect();
        assert_eq!(ok, [true, false, true, false, false, true, true]);
        assert_eq!(names(&store), ["a", "c", "f", "g"]);
    }

    #[test]
    fn a_lone_job_that_fails_after_writing_leaves_nothing() {
        for again in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let mut store =
                Store::open(&dir.path().join("b.db"), baton_store::Durability::Normal).unwrap();
            let (j, rx) = job("x", again, Some(true));
            run_batch(&mut store, vec![j]);
            assert!(rx.recv().unwrap().is_err());
            assert!(names(&store).is_empty());
        }
    }
}
