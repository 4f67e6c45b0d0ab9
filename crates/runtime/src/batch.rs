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
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::Thread;

type Run = Box<dyn FnMut(&Tx) -> Result<(), Error> + Send>;

struct Job {
    run: Run,
    /// Whether `run` may be called again after a rollback (see the module's comment).
    again: bool,
    done: Answer,
}

/// The answer side of a job's `Signal`. A job dropped unanswered (a panic in a batch) answers
/// that its write was lost, so its thread does not wait for ever.
struct Answer(Arc<Signal>);

impl Answer {
    fn send(&self, r: Result<(), Error>) {
        self.0.send(r);
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        if !self.0.is_done() {
            self.0.send(Err(Error::internal("the write was lost")));
        }
    }
}

/// The most jobs one COMMIT carries.
const MAX_BATCH: usize = 512;

/// The most batches one thread commits in a row before it hands the lead on (its own command
/// waits meanwhile, so this bounds how long the lead delays it).
const MAX_RUN: usize = 8;

/// The queue of write jobs and whether a thread leads (runs batches). A leader commits the
/// queued jobs, wakes exactly the threads whose jobs it committed, and goes on with the next
/// batch while jobs wait (at most `MAX_RUN` batches), then hands the lead to the thread of the
/// oldest waiting job. A thread that waits is woken once: with its answer, or to lead.
#[derive(Default)]
pub(crate) struct Commits {
    queue: Mutex<Queue>,
    tasks: TaskLeader,
    /// The runtime, for the task leader's thread (set by `Runtime::execute_async`).
    pub(crate) home: std::sync::OnceLock<std::sync::Weak<Runtime>>,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    leading: bool,
}

const WAITING: u8 = 0;
const DONE: u8 = 1;
const LEAD: u8 = 2;

/// Who waits for a job: a thread that parks, or an async task that is woken.
enum Waiter {
    Thread(Thread),
    Task(Mutex<Option<Waker>>),
}

/// How a waiting thread hears of its job: the answer once committed, or that it now leads.
/// Only the thread that waits parks; `unpark` costs a system call only when it is parked. A
/// task's job is only ever answered (the writer's own thread leads for tasks, see
/// `TaskLeader`).
struct Signal {
    state: AtomicU8,
    answer: Mutex<Option<Result<(), Error>>>,
    /// The committed job's closure, dropped by whoever takes the answer: what it captured was
    /// allocated on the waiting side, and freeing it there keeps that work off the writer.
    spent: Mutex<Option<Run>>,
    waiter: Waiter,
}

impl Signal {
    fn new() -> Arc<Signal> {
        Arc::new(Signal {
            state: AtomicU8::new(WAITING),
            answer: Mutex::new(None),
            spent: Mutex::new(None),
            waiter: Waiter::Thread(std::thread::current()),
        })
    }

    fn for_task() -> Arc<Signal> {
        Arc::new(Signal {
            state: AtomicU8::new(WAITING),
            answer: Mutex::new(None),
            spent: Mutex::new(None),
            waiter: Waiter::Task(Mutex::new(None)),
        })
    }

    fn send(&self, r: Result<(), Error>) {
        *self.answer.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
        self.state.store(DONE, Ordering::Release);
        match &self.waiter {
            Waiter::Thread(t) => t.unpark(),
            Waiter::Task(w) => {
                let waker = w.lock().unwrap_or_else(|p| p.into_inner()).take();
                if let Some(w) = waker {
                    w.wake();
                }
            }
        }
    }

    /// Whether a thread waits for this job (it can take the lead).
    fn has_thread(&self) -> bool {
        matches!(self.waiter, Waiter::Thread(_))
    }

    fn lead(&self) {
        self.state.store(LEAD, Ordering::Release);
        if let Waiter::Thread(t) = &self.waiter {
            t.unpark();
        }
    }

    /// Waits until the job is answered (`Some`) or this thread is to lead (`None`).
    fn wait(&self) -> Option<Result<(), Error>> {
        loop {
            match self.state.load(Ordering::Acquire) {
                DONE => return Some(self.take()),
                LEAD => {
                    self.state.store(WAITING, Ordering::Relaxed);
                    return None;
                }
                _ => std::thread::park(),
            }
        }
    }

    fn take(&self) -> Result<(), Error> {
        // What the closure captured goes first: its owner may take it back (an `Arc` shared
        // with the closure is then its own again).
        drop(self.spent.lock().unwrap_or_else(|p| p.into_inner()).take());
        self.answer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_else(|| Err(Error::internal("the write was lost")))
    }

    fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) == DONE
    }

    /// The answer, after this thread led: its own job was in its first batch.
    fn answered(&self) -> Result<(), Error> {
        if self.is_done() {
            self.take()
        } else {
            Err(Error::internal("the write was lost"))
        }
    }
}

/// A task's job, answered once the transaction that holds its writes committed.
struct Committed<T> {
    signal: Arc<Signal>,
    slot: Arc<Mutex<Option<T>>>,
}

impl<T> Future for Committed<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if !self.signal.is_done() {
            if let Waiter::Task(w) = &self.signal.waiter {
                *w.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
            }
            // Answered between the check and the waker's registration: not woken, so look again.
            if !self.signal.is_done() {
                return Poll::Pending;
            }
        }
        self.signal.take()?;
        let v = self.slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        Poll::Ready(v.ok_or_else(|| Error::internal("the write produced no result")))
    }
}

/// The thread that leads for async tasks: a task should not wait for disk syncs on an async
/// worker, so when a task's job finds nobody leading this thread takes the lead (unless the
/// task is the only async command under way, see `write_again_async`). Started on the first
/// such job; it ends within a second of its runtime.
#[derive(Default)]
struct TaskLeader {
    /// None when the thread could not be started (then callers lead in place).
    thread: std::sync::OnceLock<Option<Thread>>,
    wanted: AtomicBool,
    /// Async commands under way (`Runtime::execute_async`).
    under_way: AtomicUsize,
}

/// Counts an async command as under way while it lives.
pub(crate) struct UnderWay<'a>(&'a Commits);

impl<'a> UnderWay<'a> {
    pub(crate) fn new(commits: &'a Commits) -> UnderWay<'a> {
        commits.tasks.under_way.fetch_add(1, Ordering::AcqRel);
        UnderWay(commits)
    }
}

impl Drop for UnderWay<'_> {
    fn drop(&mut self) {
        self.0.tasks.under_way.fetch_sub(1, Ordering::AcqRel);
    }
}

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

    /// `write_again` for an async task: the writes join the next group commit and the future
    /// is ready once they committed. A task that finds nobody leading hands the lead to the
    /// writer's own thread (`TaskLeader`), so tasks hold no thread while they wait; but the
    /// only async command under way commits its one batch in place, where two thread
    /// hand-offs would cost more than the commit.
    pub(crate) fn write_again_async<T: Send + 'static>(
        &self,
        f: impl FnMut(&Tx) -> Result<T, Error> + Send + 'static,
    ) -> impl Future<Output = Result<T, Error>> + Send + 'static {
        let signal = Signal::for_task();
        let (slot, lead) = self.enqueue(true, signal.clone(), f);
        if lead {
            let alone = self.commits.tasks.under_way.load(Ordering::Acquire) <= 1;
            if alone && !crate::inline::on_worker() {
                // The only async command under way: commit its batch here rather than pay two
                // thread hand-offs for it. Jobs that queue meanwhile go to the writer's own
                // thread, so a task's worker commits at most one batch. Never on an async
                // worker thread (`inline`): a disk sync there would stall its other tasks.
                self.lead(Some(&signal), 1);
            } else {
                self.lead_for_tasks();
            }
        }
        Committed { signal, slot }
    }

    fn submit<T: Send + 'static>(
        &self,
        again: bool,
        f: impl FnMut(&Tx) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        // A blocking write from an async worker: the work goes to a blocking thread instead,
        // while it has written nothing (`inline`).
        if crate::inline::may_stop() {
            return Err(crate::inline::needs_thread("a blocking write"));
        }
        let done = Signal::new();
        let (slot, lead) = self.enqueue(again, done.clone(), f);
        let answer = if lead {
            self.lead(Some(&done), MAX_RUN);
            done.answered()
        } else {
            match done.wait() {
                Some(r) => r,
                None => {
                    self.lead(Some(&done), MAX_RUN);
                    done.answered()
                }
            }
        };
        answer?;
        let v = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        v.ok_or_else(|| Error::internal("the write produced no result"))
    }

    /// Queues a job whose result goes to the slot answered; true when the caller must see to
    /// the lead (nobody led).
    #[allow(clippy::type_complexity)]
    fn enqueue<T: Send + 'static>(
        &self,
        again: bool,
        done: Arc<Signal>,
        mut f: impl FnMut(&Tx) -> Result<T, Error> + Send + 'static,
    ) -> (Arc<Mutex<Option<T>>>, bool) {
        let slot: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
        let out = slot.clone();
        let run: Run = Box::new(move |tx| {
            // A job that panics fails alone (the batch takes its writes back like any failed
            // job's) and the leader goes on: a panic must not leave the writer to nobody.
            let v = crate::isolation::guard("a write", || f(tx))?;
            *out.lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
            Ok(())
        });
        let mut q = self.commits.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.jobs.push(Job {
            run,
            again,
            done: Answer(done),
        });
        (slot, !std::mem::replace(&mut q.leading, true))
    }

    /// Lets the task leader's thread lead; the caller leads in place when there is no such
    /// thread (see `wake_task_leader`).
    fn lead_for_tasks(&self) {
        if !self.wake_task_leader() {
            self.lead(None, usize::MAX);
        }
    }

    /// Wakes the task leader's thread to lead (started on first use). False when there is none:
    /// a runtime not shared in an `Arc`, or a system that could not start the thread.
    fn wake_task_leader(&self) -> bool {
        let Some(home) = self.commits.home.get() else {
            return false;
        };
        let tasks = &self.commits.tasks;
        let thread = tasks.thread.get_or_init(|| {
            let home = home.clone();
            std::thread::Builder::new()
                .name("baton-writer".into())
                .spawn(move || loop {
                    let Some(rt) = home.upgrade() else { return };
                    if rt.commits.tasks.wanted.swap(false, Ordering::AcqRel) {
                        rt.lead(None, usize::MAX);
                    }
                    drop(rt);
                    std::thread::park_timeout(std::time::Duration::from_secs(1));
                })
                .ok()
                .map(|h| h.thread().clone())
        });
        let Some(thread) = thread else {
            return false;
        };
        tasks.wanted.store(true, Ordering::Release);
        thread.unpark();
        true
    }

    /// Commits batches while jobs wait (this thread's own job is among the first batch: the
    /// lead is taken only with an empty queue or handed to the oldest job's thread), at most
    /// `runs_at_most` once its own job is answered, then gives the lead up or hands it on.
    /// Without a job of its own (the task leader) it leads until the queue is empty.
    fn lead(&self, mine: Option<&Signal>, runs_at_most: usize) {
        let _guard = Abdicate(self);
        let mut store = self.writer();
        // A COMMIT that takes the write-ahead log past its size leaves the checkpoint (the copy
        // of the log into the database file, with two disk syncs) to this thread, which runs
        // it after the batch's commands were answered: they go on meanwhile.
        store.defer_checkpoints(true);
        let mut runs = 0;
        let mut hand_on = false;
        loop {
            let jobs: Vec<Job> = {
                let mut q = self.commits.queue.lock().unwrap_or_else(|p| p.into_inner());
                let n = q.jobs.len().min(MAX_BATCH);
                if n == 0 {
                    q.leading = false;
                    break;
                }
                if runs >= runs_at_most && mine.is_some_and(|m| m.is_done()) {
                    // Enough: the oldest waiting job's thread leads on (its job is first).
                    hand_on = !q.jobs[0].done.0.has_thread();
                    if !hand_on {
                        q.jobs[0].done.0.lead();
                    }
                    break;
                }
                q.jobs.drain(..n).collect()
            };
            runs += 1;
            run_batch(&mut store, jobs);
            if let Err(e) = store.checkpoint_if_due() {
                tracing::warn!("a checkpoint of the write-ahead log failed: {e}");
            }
        }
        drop(store);
        if hand_on {
            // A task's job is oldest: the writer's thread leads on.
            self.lead_for_tasks();
        }
    }
}

/// Gives the lead up when a batch panics (a bug in a job): the next waiting job's thread
/// leads, or the task leader for a task's job.
struct Abdicate<'a>(&'a Runtime);

impl Drop for Abdicate<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut q = self
                .0
                .commits
                .queue
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match q.jobs.first() {
                Some(job) if job.done.0.has_thread() => job.done.0.lead(),
                // Without a task leader the next write leads (never this panicking thread).
                Some(_) if !self.0.wake_task_leader() => q.leading = false,
                Some(_) => {}
                None => q.leading = false,
            }
        }
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
                    j.done.send(Err(e.clone()));
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
                    job.done.send(Err(f));
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
                first.done.send(Err(f));
                continue;
            }
            committed.push(first);
        }
        for mut job in others.by_ref() {
            let sp = match tx.savepoint() {
                Ok(sp) => sp,
                Err(e) => {
                    job.done.send(Err(Error::from(e)));
                    continue;
                }
            };
            match (job.run)(&sp).and_then(|()| sp.commit().map_err(Error::from)) {
                Ok(()) => committed.push(job),
                Err(f) => {
                    job.done.send(Err(f));
                }
            }
        }
        let result = tx.commit().map_err(|e| {
            let mut e = Error::from(e);
            e.message = format!("the commit failed, nothing was saved: {}", e.message);
            e
        });
        for Job { run, done, .. } in committed {
            *done.0.spent.lock().unwrap_or_else(|p| p.into_inner()) = Some(run);
            done.send(result.clone());
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job that creates user `name` and then fails or not; answers through `rx`.
    fn job(name: &'static str, again: bool, fail: Option<bool>) -> (Job, Arc<Signal>) {
        let rx = Signal::new();
        let done = Answer(rx.clone());
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
        let ok: Vec<bool> = answers.iter().map(|rx| rx.take().is_ok()).collect();
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
            assert!(rx.take().is_err());
            assert!(names(&store).is_empty());
        }
    }

    #[test]
    fn every_write_from_many_threads_is_answered_with_its_own_result_once_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.db");
        let rt = Runtime::open(
            &path,
            baton_store::Durability::Normal,
            std::sync::Arc::new(crate::SystemClock),
        )
        .unwrap();
        const THREADS: usize = 24;
        const WRITES: usize = 40;
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let rt = &rt;
                s.spawn(move || {
                    for i in 0..WRITES {
                        let name = format!("u{t}-{i}");
                        let mine = name.clone();
                        let fail = i % 7 == 3;
                        let r = rt.write_again(move |tx| {
                            tx.create_user(&mine, false, "t")?;
                            if fail {
                                return Err(Error::rejected("after writing"));
                            }
                            Ok(mine.clone())
                        });
                        match r {
                            Ok(v) => assert!(!fail && v == name, "{t}/{i}: answered {v}"),
                            Err(e) => assert!(fail, "{t}/{i}: {}", e.message),
                        }
                    }
                });
            }
        });
        // Every write that was answered Ok is in the file; none that failed is.
        let store = Store::open(&path, baton_store::Durability::Normal).unwrap();
        let stored = names(&store);
        let expected = THREADS * (0..WRITES).filter(|i| i % 7 != 3).count();
        assert_eq!(stored.len(), expected);
        assert!(stored.iter().all(|n| {
            let i: usize = n.rsplit('-').next().unwrap().parse().unwrap();
            i % 7 != 3
        }));
        // The lead was given up: a write after the storm is committed at once.
        assert_eq!(rt.write(|_| Ok(7)).unwrap(), 7);
    }

    /// A user-creating write that fails after writing when `fail`.
    fn create(name: String, fail: bool) -> impl FnMut(&Tx) -> Result<String, Error> {
        move |tx| {
            tx.create_user(&name, false, "t")?;
            if fail {
                return Err(Error::rejected("after writing"));
            }
            Ok(name.clone())
        }
    }

    #[test]
    fn tasks_and_threads_writing_at_once_each_get_their_own_answer_once_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.db");
        let rt = Arc::new(
            Runtime::open(
                &path,
                baton_store::Durability::Normal,
                std::sync::Arc::new(crate::SystemClock),
            )
            .unwrap(),
        );
        let _ = rt.commits.home.set(Arc::downgrade(&rt));
        const TASKS: usize = 32;
        const THREADS: usize = 4;
        const WRITES: usize = 30;
        let tasks = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        std::thread::scope(|s| {
            // Threads use the blocking API meanwhile: they lead or are answered by the
            // task leader, and the task leader answers them.
            for t in 0..THREADS {
                let rt = &rt;
                s.spawn(move || {
                    for i in 0..WRITES {
                        let fail = i % 5 == 1;
                        let name = format!("thread{t}-{i}");
                        match rt.write_again(create(name.clone(), fail)) {
                            Ok(v) => assert!(!fail && v == name, "{name}: answered {v}"),
                            Err(e) => assert!(fail, "{name}: {}", e.message),
                        }
                    }
                });
            }
            tasks.block_on(async {
                let handles: Vec<_> = (0..TASKS)
                    .map(|t| {
                        let rt = rt.clone();
                        tokio::spawn(async move {
                            // Counted as async commands, so they go to the writer's thread;
                            // the others, alone, lead in place.
                            let _counted = (t % 2 == 0).then(|| UnderWay::new(&rt.commits));
                            for i in 0..WRITES {
                                let fail = i % 5 == 1;
                                let name = format!("task{t}-{i}");
                                match rt.write_again_async(create(name.clone(), fail)).await {
                                    Ok(v) => assert!(!fail && v == name, "{name}: answered {v}"),
                                    Err(e) => assert!(fail, "{name}: {}", e.message),
                                }
                            }
                        })
                    })
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
            });
        });
        let store = Store::open(&path, baton_store::Durability::Normal).unwrap();
        let stored = names(&store);
        let per_client = (0..WRITES).filter(|i| i % 5 != 1).count();
        assert_eq!(stored.len(), (TASKS + THREADS) * per_client);
        assert!(stored.iter().all(|n| {
            let i: usize = n.rsplit('-').next().unwrap().parse().unwrap();
            i % 5 != 1
        }));
        // The lead was given up: a blocking write after the storm is committed at once.
        assert_eq!(rt.write(|_| Ok(7)).unwrap(), 7);
    }

    #[test]
    fn a_task_of_a_runtime_not_in_an_arc_leads_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::open(
            &dir.path().join("b.db"),
            baton_store::Durability::Normal,
            std::sync::Arc::new(crate::SystemClock),
        )
        .unwrap();
        let tasks = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let v = tasks.block_on(rt.write_again_async(create("solo".into(), false)));
        assert_eq!(v.unwrap(), "solo");
        let failed = tasks.block_on(rt.write_again_async(create("no".into(), true)));
        assert!(failed.is_err());
        assert_eq!(names(&rt.writer()), ["solo"]);
    }
}
