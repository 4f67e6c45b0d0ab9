//! The command bus: every operation is a named command with a JSON `data` object, dispatched by
//! one function over the engine and the store.
//!
//! Each command that changes an instance follows one path (`step` / `persist`): load the
//! instance's state and its revision, apply one engine event, then write the new state, its
//! callback rows, subscriptions, inbox entries, incidents, history and outbox rows in ONE
//! transaction; then deliver anything buffered for what the instance now waits on, each entry as
//! a step of its own (`buffered`), and only then answer.
//! Nothing is acknowledged before it is committed. Two commands racing on one instance cannot
//! both win: the write checks the revision it read, and the loser re-reads and re-applies.
//!
//! Modules: `instances` (definitions and instances), `correlation` (callbacks, messages,
//! signals, the buffer and the outbox), `access` (users, teams, tokens), `http` (the doors),
//! `error` (the one error type, its codes and their statuses), `reply` (the envelope).

mod access;
mod batch;
mod buffered;
mod bus;
mod callback_notify;
pub mod commands;
pub use access::{ActAsError, Bootstrap, FIRST_ADMIN};
pub use commands::FieldError;
mod changes;
pub use changes::{InstanceChange, JobRunEvent, WebhookRequestEvent};
mod correlation;
pub mod engine_limits;
pub use engine_limits::EngineSettings;
pub mod error;
pub use error::{Code, Door, Error};
mod reply;
pub use reply::Reply;
mod event_payload;
mod events;
pub mod external_run;
pub mod host;
mod hot;
mod inline;
mod step;
mod test_event;
use step::{write_step, Prepared};
pub mod http;
mod instances;
mod isolation;
pub use isolation::PanicSite;
mod lanes;
pub use lanes::COMMAND_LANES;
mod jobs;
mod queued;
mod readers;
pub use queued::DEFAULT_DEPTH as DEFAULT_COMMAND_DEPTH;
pub mod scenario_files;
mod schedule;
mod sim_session;
pub mod simulate;
mod walked;
mod webhook_apps;
pub mod webhooks;
pub use event_payload::Environment;
pub use events::{spawn_sender, SenderHandle};
pub use schedule::{spawn_scheduler, FireReport, SchedulerHandle};
pub use webhook_apps::HookAnswer;

use baton_engine::{Clock, Ctx, Effect, Engine, Event, Instance, User};
use baton_store::{Durability, InstanceRow, Store, StoreError, SubscriptionRow, Tx, UserTaskRow};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

/// The wall clock, for `serve` and the desktop app (simulations use the engine's VirtualClock).
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

type Answer = Result<(String, Value), Error>;
type Handler = fn(&Runtime, &Value, &Caller) -> Answer;

/// Who runs a command.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The user behind the token (`currentUser` in scripts). None: the desktop owner or a tool.
    pub user: Option<User>,
    /// Administrators deploy, manage users and tokens, and are not held to ResponsibleUser /
    /// ResponsibleTeam.
    pub admin: bool,
}

impl Caller {
    /// The desktop owner, the CLI or a test: every command, no task-level checks.
    pub fn owner() -> Caller {
        Caller {
            user: None,
            admin: true,
        }
    }
    /// A non-administrator, held to ResponsibleUser / ResponsibleTeam.
    pub fn user(user: User) -> Caller {
        Caller {
            user: Some(user),
            admin: false,
        }
    }
    /// Nobody signed in, held to ResponsibleUser / ResponsibleTeam (a scenario step without a
    /// user when the scenario lists users).
    pub fn anonymous() -> Caller {
        Caller {
            user: None,
            admin: false,
        }
    }
    fn ctx<'a>(&'a self, clock: &'a dyn Clock) -> Ctx<'a> {
        Ctx {
            clock,
            user: self.user.as_ref(),
            enforce_access: !self.admin,
            bus: None,
        }
    }
    fn name(&self) -> &str {
        match (&self.user, self.admin) {
            (Some(u), _) => u.name.as_str(),
            (None, true) => "owner",
            // No token: a public form's reader (or a scenario step without a user).
            (None, false) => "anonymous",
        }
    }
}

/// The answer when a command kept losing the race for its instance.
pub(crate) const KEPT_CHANGING: &str = "the instance kept changing under this command; try again";

/// How many times a command re-reads and re-applies when another command changed its instance.
const MAX_ATTEMPTS: usize = 16;

pub struct Runtime {
    /// The connection every write goes through (group commit, `batch`).
    store: Mutex<Store>,
    /// The connections for reads (a small pool, `readers`): in WAL mode they read the last
    /// commit while a write is under way, so commands prepare their steps while another batch
    /// is being synced.
    readers: readers::Readers,
    /// Write jobs waiting for the next group commit, and who runs it (see `batch`).
    commits: batch::Commits,
    /// Test hook: step commits to fail on purpose (see `fail_next_step_commits`).
    step_faults: Arc<queued::StepFaults>,
    /// Whether the message buffer may hold a live entry (see `buffered`).
    buffered: buffered::Live,
    /// Test hook: panics to raise on purpose (see `panic_next`).
    panics: isolation::Panics,
    /// Test hook: a gate steps wait at (see `hold_steps`).
    gate: isolation::Gate,
    /// The instances that may have an open internal incident (see `isolation`).
    stopped: isolation::Stopped,
    /// The command lane of the async doors (see `lanes`).
    lanes: lanes::Lanes,
    /// How deeply `doCmd` commands may nest (see `queued`).
    command_depth: std::sync::atomic::AtomicU32,
    /// Incoming webhooks' prepared configurations and request numbering.
    webhook_cache: webhooks::Cache,
    engines: Mutex<HashMap<i64, Arc<Engine>>>,
    /// The limits engines are built with, and the per-definition start buckets.
    engine_limits: engine_limits::Held,
    /// process key -> its newest definition id.
    latest: Mutex<HashMap<String, i64>>,
    clock: Arc<dyn Clock>,
    /// Set while the outbox is being delivered, so nested commands leave it to the outer loop.
    delivering: AtomicBool,
    /// Wakes the scheduler when a timer earlier than the one it sleeps for was written.
    wake: schedule::Wake,
    /// Passes of the scheduler loop so far (benchmarks check that an idle scheduler sleeps).
    scheduler_wakeups: AtomicU64,
    /// The threads of job runs the scheduler started (joined when it stops).
    job_threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// Recurring jobs with a run under way, and whether another run is queued behind it.
    running_jobs: Mutex<HashMap<i64, bool>>,
    /// Set by `lend_bus_to_scripts`: lets scripts call `doQuery` on this runtime (`doCmd` needs
    /// no bus: queued commands run from the outbox, see `queued`).
    bus_home: std::sync::OnceLock<std::sync::Weak<Runtime>>,
    /// Whether any event subscription or custom webhook exists: without one, steps skip events
    /// entirely (no query at all).
    events_on: AtomicBool,
    /// Whether event payloads name `production` rather than `sandbox` (see `set_environment`).
    production: AtomicBool,
    /// Wakes the delivery sender when a step enqueued a delivery.
    send_wake: schedule::Wake,
    /// The HTTP client of the delivery sender (built on first use).
    http_client: std::sync::OnceLock<ureq::Agent>,
    /// The change feed: one `InstanceChange` per committed step (see `changes`).
    changes: changes::Feed,
    /// The states this runtime committed last, parsed (see `hot`).
    hot: Mutex<hot::Hot>,
    /// Every user sees every instance (a simulation: one author, only task rules apply); see
    /// `access` "Who sees what".
    instances_open: AtomicBool,
    /// The designer's simulation sessions (see `sim_session`).
    sim_sessions: sim_session::Sessions,
}

fn text<'a>(data: &'a Value, field: &'static str) -> Result<&'a str, Error> {
    match data.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(Error::field(field, format!("{field} is required")))
        }
        Some(_) => Err(Error::field(field, format!("{field} must be a string"))),
    }
}

fn opt_text<'a>(data: &'a Value, field: &'static str) -> Result<Option<&'a str>, Error> {
    match data.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::field(field, format!("{field} must be a string"))),
    }
}

fn object(data: &Value, field: &'static str) -> Result<Map<String, Value>, Error> {
    match data.get(field) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(Error::field(
            field,
            format!("{field} must be a JSON object"),
        )),
    }
}

/// `pageNumber` and `pageSize` of a listing (defaults 1 and 20), each within its bound
/// (`commands::page_bound`).
fn paging(data: &Value) -> Result<(i64, i64), Error> {
    let num = |field: &'static str, default: i64| match data.get(field) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => commands::page_bound(field, v),
    };
    Ok((num("pageNumber", 1)?, num("pageSize", 20)?))
}

/// Where a step's new state goes.
enum Target {
    Insert(InstanceRow),
    Update {
        guid: String,
        rev: i64,
        definition_id: i64,
    },
}

impl Target {
    fn guid(&self) -> &str {
        match self {
            Target::Insert(r) => &r.instance_guid,
            Target::Update { guid, .. } => guid,
        }
    }

    fn definition_id(&self) -> i64 {
        match self {
            Target::Insert(r) => r.process_definition_id,
            Target::Update { definition_id, .. } => *definition_id,
        }
    }
}

/// What the instance listened for and showed before a step, to write only what changed.
#[derive(Default)]
struct Indexed {
    subs: Vec<SubscriptionRow>,
    tasks: Vec<UserTaskRow>,
    incidents: bool,
    /// The instance's earliest pending timer, as the timer table stores it.
    timer: Option<String>,
    /// The process-level variables, for the history's `variablesChanged`.
    vars: Map<String, Value>,
    /// The instance's status (None: a new instance), for `workflow.state.changed`.
    status: Option<&'static str>,
    /// The elements it waits in (sorted, each once), for `workflow.state.changed`.
    waits: Vec<String>,
}

/// What a step changes in the task inbox: tasks gone, tasks added, tasks whose assignee changed.
type TaskChanges<'a> = (Vec<&'a str>, Vec<&'a UserTaskRow>, Vec<&'a UserTaskRow>);

/// Whether a wait is a form task (one row of the task inbox).
fn in_inbox(w: &baton_engine::Waiting) -> bool {
    w.task_type == "userTask" || (w.task_type == "receiveTask" && w.form_key.is_some())
}

impl Indexed {
    fn of(engine: &Engine, inst: &Instance, guid: &str, now: &str) -> Indexed {
        let subs = engine
            .subscriptions(inst)
            .into_iter()
            .map(|s| SubscriptionRow {
                kind: s.kind.into(),
                name: s.name,
                correlation_key: s.correlation_key,
                element_id: s.element_id,
            })
            .collect();
        let waiting = engine.waiting(inst);
        let mut waits: Vec<String> = waiting.iter().map(|w| w.element_id.clone()).collect();
        waits.sort_unstable();
        waits.dedup();
        let tasks = waiting
            .into_iter()
            .filter(in_inbox)
            .map(|w| UserTaskRow {
                instance_guid: guid.into(),
                task_id: w.task_id,
                task_type: w.task_type.into(),
                name: w.name,
                form_key: w.form_key,
                responsible_user: w.responsible_user,
                responsible_team: w.responsible_team,
                created_at: now.into(),
                assignee: w.assignee,
            })
            .collect();
        Indexed {
            subs,
            tasks,
            incidents: !engine.incidents(inst).is_empty(),
            timer: engine.next_timer(inst).map(schedule::due_text),
            vars: engine.variables(inst),
            status: Some(inst.status.as_str()),
            waits,
        }
    }

    /// The tasks of `before` that this index no longer has, its tasks `before` did not have (by
    /// task id), and the tasks both have whose assignee changed.
    fn task_changes<'a>(&'a self, before: &'a Indexed) -> TaskChanges<'a> {
        let has = |tasks: &[UserTaskRow], id: &str| tasks.iter().any(|t| t.task_id == id);
        let gone = before
            .tasks
            .iter()
            .filter(|t| !has(&self.tasks, &t.task_id))
            .map(|t| t.task_id.as_str())
            .collect();
        let added = self
            .tasks
            .iter()
            .filter(|t| !has(&before.tasks, &t.task_id))
            .collect();
        let reassigned = self
            .tasks
            .iter()
            .filter(|t| {
                before
                    .tasks
                    .iter()
                    .any(|b| b.task_id == t.task_id && b.assignee != t.assignee)
            })
            .collect();
        (gone, added, reassigned)
    }
}

/// A committed step.
struct Stepped {
    engine: Arc<Engine>,
    inst: Instance,
    /// The waits before the event was applied (which task a signal completed).
    before: Vec<baton_engine::Waiting>,
}

/// How a command waits for the commit of its step: its thread parks (the blocking API), or its
/// async task is woken (`execute_async`), holding no thread meanwhile.
#[derive(Clone, Copy)]
enum Wait {
    Thread,
    Task,
}

/// The answer of a future that never waits: the blocking API runs the same async code as the
/// task API, with `Wait::Thread`, whose every await is ready at once.
fn ready<T>(f: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(r) => r,
        std::task::Poll::Pending => Err(Error::internal("a blocking step had to wait")),
    }
}

/// Something to write in the same transaction as the step (exactly-once bookkeeping).
#[derive(Clone)]
enum Extra {
    None,
    /// Remember a `messageId` with its answer; a concurrent twin makes this step a duplicate.
    Receipt {
        message_id: String,
        outcome: String,
    },
    /// The step applies a buffered entry: consume it, or fail as a duplicate when it was
    /// taken or its TTL ran out (see `buffered`).
    Claim {
        buffer_id: i64,
    },
    /// The step fires the instance's due timers: rewrite its timer row whatever it was.
    Timers,
    /// The step retries an internal incident: resolve it and rewrite the timer row (see
    /// `isolation`).
    Retry,
    /// The step starts an instance for a timer start event: move that event's timer row on.
    StartTimer {
        definition_id: i64,
        element_id: String,
        next: Option<String>,
        fired: i64,
    },
    /// The new instance's own event subscriptions (`config.subscriptions`): url, events JSON,
    /// secret.
    Subscribe(Vec<(String, String, String)>),
    /// The step is an operation of an incoming webhook application: write who acted (an
    /// `actedBy` history event with this JSON, on `element` when it acted on a task) and, when
    /// it starts a request, give the request its number.
    Hook {
        number_request: bool,
        acted: String,
        element: Option<String>,
    },
}

impl Runtime {
    /// Opens the database at `path` (created if missing), then delivers what the outbox still holds.
    pub fn open(
        path: &Path,
        durability: Durability,
        clock: Arc<dyn Clock>,
    ) -> Result<Runtime, StoreError> {
        let rt = Runtime::opened(path, durability, clock)?;
        rt.deliver_outbox_safely();
        Ok(rt)
    }

    /// As `open`, but leaves the outbox for later (`Host` delivers it on the scheduler's thread
    /// once it listens, so pending work never delays or stops a start).
    pub(crate) fn opened(
        path: &Path,
        durability: Durability,
        clock: Arc<dyn Clock>,
    ) -> Result<Runtime, StoreError> {
        let more = path.to_path_buf();
        Runtime::on(
            Store::open(path, durability)?,
            readers::Readers::new(
                Store::open(path, durability)?,
                Box::new(move || Store::open(&more, durability)),
            ),
            clock,
        )
    }

    /// A runtime over a fresh database in memory (gone when the runtime is dropped): what
    /// `baton simulate`, `baton test` and `baton bench` run on, with a `VirtualClock`.
    pub fn open_in_memory(clock: Arc<dyn Clock>) -> Result<Runtime, StoreError> {
        let name = simulate::memory_name();
        let more = name.clone();
        let rt = Runtime::on(
            Store::open_memory(&name)?,
            readers::Readers::new(
                Store::open_memory(&name)?,
                Box::new(move || Store::open_memory(&more)),
            ),
            clock,
        )?;
        rt.deliver_outbox_safely();
        Ok(rt)
    }

    /// A runtime on a write and a read connection to one database; runs left `Running` by a
    /// process that stopped are marked Interrupted (before any scheduler claims new ones).
    fn on(
        store: Store,
        readers: readers::Readers,
        clock: Arc<dyn Clock>,
    ) -> Result<Runtime, StoreError> {
        let rt = Runtime {
            store: Mutex::new(store),
            readers,
            commits: batch::Commits::default(),
            step_faults: Arc::default(),
            buffered: buffered::Live::default(),
            panics: isolation::Panics::default(),
            gate: isolation::Gate::default(),
            stopped: isolation::Stopped::default(),
            lanes: lanes::Lanes::default(),
            command_depth: std::sync::atomic::AtomicU32::new(queued::DEFAULT_DEPTH),
            webhook_cache: webhooks::Cache::default(),
            engines: Mutex::new(HashMap::new()),
            engine_limits: engine_limits::Held::default(),
            latest: Mutex::new(HashMap::new()),
            clock,
            delivering: AtomicBool::new(false),
            wake: schedule::Wake::default(),
            scheduler_wakeups: AtomicU64::new(0),
            job_threads: Mutex::new(Vec::new()),
            running_jobs: Mutex::new(HashMap::new()),
            bus_home: std::sync::OnceLock::new(),
            events_on: AtomicBool::new(false),
            production: AtomicBool::new(false),
            send_wake: schedule::Wake::default(),
            http_client: std::sync::OnceLock::new(),
            changes: changes::channel(),
            hot: Mutex::default(),
            instances_open: AtomicBool::new(false),
            sim_sessions: sim_session::Sessions::default(),
        };
        rt.refresh_events_on();
        rt.recover_jobs();
        rt.stopped.load(&rt.store());
        Ok(rt)
    }

    /// Lets scripts query this runtime's command bus (`doQuery(name, data)`) as the user whose
    /// command runs the script (`doCmd` works without it: see `queued`). `baton serve` does this; a runtime that is
    /// not shared in an `Arc` answers scripts that the bus is not available.
    pub fn lend_bus_to_scripts(self: &Arc<Self>) {
        let _ = self.bus_home.set(Arc::downgrade(self));
    }

    /// The engine context for a caller, with the bus when it is lent.
    fn ctx<'a>(&'a self, caller: &'a Caller) -> Ctx<'a> {
        let mut ctx = caller.ctx(&*self.clock);
        if let Some(home) = self.bus_home.get() {
            let (home, caller) = (home.clone(), caller.clone());
            let bus: baton_engine::script::Bus = Arc::new(move |name: &str, data: &Value| {
                let rt = home.upgrade().ok_or("Baton is shutting down")?;
                rt.execute_as(name, data, &caller).into_result()
            });
            ctx.bus = Some(bus);
        }
        ctx
    }

    /// Test hook, for failure tests only: makes the write connection refuse writes as a
    /// read-only file does, or as a full disk does (see `Store::simulate_faults`); both false
    /// restores it. Reads are not affected.
    #[doc(hidden)]
    pub fn simulate_store_faults(&self, read_only: bool, full: bool) -> Result<(), StoreError> {
        self.writer().simulate_faults(read_only, full)
    }

    /// Timestamps as stored: RFC 3339 UTC with exactly six fractional digits, so they also sort
    /// and compare correctly as text.
    fn now(&self) -> String {
        format!("{:.6}", self.clock.now())
    }

    /// A read connection: sees what is committed, never a write under way. Hold it only for
    /// the reads at hand (other commands share the pool).
    fn store(&self) -> readers::Reader<'_> {
        self.readers.get()
    }

    /// The write connection (hold it only for a transaction).
    fn writer(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn engine(&self, definition_id: i64) -> Result<Arc<Engine>, Error> {
        if let Some(e) = self
            .engines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&definition_id)
        {
            return Ok(e.clone());
        }
        let def = self.store().definition(definition_id, true)?;
        let xml = def.bpmn_xml.unwrap_or_default();
        let dep = baton_engine::parse(&[(def.process_key.as_str(), xml.as_str())])
            .map_err(|e| Error::internal(format!("stored definition {definition_id}: {e}")))?;
        let (engine, _) = Engine::reload_with_limits(dep, self.limits()).map_err(|p| {
            Error::internal(format!("stored definition is invalid: {:?}", p.first()))
        })?;
        let engine = Arc::new(engine);
        self.engines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(definition_id, engine.clone());
        Ok(engine)
    }

    fn load(&self, row: &InstanceRow) -> Result<(Arc<Engine>, Instance), Error> {
        let engine = self.engine(row.process_definition_id)?;
        let inst: Instance = serde_json::from_str(&row.state).map_err(|e| {
            isolation::unfollowable(Error::internal(format!("stored state unreadable: {e}")))
        })?;
        // A state written for another model would name the wrong elements: refuse it here,
        // before any view or step reads it. Either stops a step's instance (`isolation`).
        engine
            .check_state(&inst)
            .map_err(|e| isolation::unfollowable(e.into()))?;
        Ok((engine, inst))
    }

    fn instance_row(&self, guid: &str) -> Result<InstanceRow, Error> {
        self.store().instance(guid).map_err(|e| match e {
            StoreError::NotFound(_) => {
                Error::no_such("instanceGuid", format!("no process instance '{guid}'"))
            }
            other => other.into(),
        })
    }

    /// Loads an instance, applies one event and commits; re-reads and re-applies when another
    /// command changed the instance in between.
    fn step(&self, guid: &str, event: Event, caller: &Caller) -> Result<Stepped, Error> {
        self.step_with(guid, event, caller, Extra::None)
    }

    fn step_with(
        &self,
        guid: &str,
        event: Event,
        caller: &Caller,
        extra: Extra,
    ) -> Result<Stepped, Error> {
        ready(self.step_in(Wait::Thread, guid, event, caller, extra))
    }

    /// `step_with`, its writes waiting for their commit as `wait` says.
    async fn step_in(
        &self,
        wait: Wait,
        guid: &str,
        event: Event,
        caller: &Caller,
        extra: Extra,
    ) -> Result<Stepped, Error> {
        for _ in 0..MAX_ATTEMPTS {
            // A panic in the step (a bug met by this instance) fails this command only.
            let attempt = isolation::guard_async(
                "the step",
                self.try_step(wait, guid, &event, caller, &extra),
            )
            .await;
            match attempt {
                Ok(Some(stepped)) => return Ok(stepped),
                Ok(None) => continue,
                // A step that panicked gives the instance an internal incident.
                Err(e) => return Err(self.stopped_step(guid, &event, e)),
            }
        }
        Err(Error::conflict(KEPT_CHANGING))
    }

    /// One try of `step_with`: None when the instance changed under it (try again).
    async fn try_step(
        &self,
        wait: Wait,
        guid: &str,
        event: &Event,
        caller: &Caller,
        extra: &Extra,
    ) -> Result<Option<Stepped>, Error> {
        // The state this runtime committed last, else the stored row.
        let hot = self.hot().take(guid);
        let cached = hot.is_some();
        let (rev, definition_id, engine, mut inst) = match hot {
            Some(h) => (
                h.rev,
                h.definition_id,
                self.engine(h.definition_id)?,
                h.inst,
            ),
            None => {
                let row = self.instance_row(guid)?;
                let (engine, inst) = self.load(&row)?;
                (row.rev, row.process_definition_id, engine, inst)
            }
        };
        let now = self.now();
        let before_waits = engine.waiting(&inst);
        let before = Indexed::of(&engine, &inst, guid, &now);
        // On an async worker, a step whose script runs long is computed again on a blocking
        // thread (`inline`).
        let applied =
            inline::compute(|| engine.apply(&mut inst, event.clone(), &self.ctx(caller)))?;
        let effects = match applied {
            Ok(effects) => effects,
            // A cached state may be behind the stored one: refuse only on the stored state.
            Err(_) if cached => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let target = Target::Update {
            guid: guid.to_string(),
            rev,
            definition_id,
        };
        let persisted = self
            .persist_in(
                wait,
                target,
                engine.clone(),
                inst,
                effects,
                before,
                caller,
                extra.clone(),
            )
            .await;
        match persisted {
            Err(e) if e.is(Code::Conflict) => Ok(None),
            Err(e) => Err(e),
            Ok(inst) => Ok(Some(Stepped {
                engine,
                inst,
                before: before_waits,
            })),
        }
    }

    /// The cache of committed states.
    fn hot(&self) -> std::sync::MutexGuard<'_, hot::Hot> {
        self.hot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes a step (in a group commit, see `batch`): state, effects and indexes. After the
    /// commit delivers the outbox, then the buffered entries the instance's waits match, each
    /// as its own step. Answers the instance as committed and as those deliveries left it.
    /// `persist`, its writes waiting for their commit as `wait` says.
    #[allow(clippy::too_many_arguments)]
    async fn persist_in(
        &self,
        wait: Wait,
        target: Target,
        engine: Arc<Engine>,
        inst: Instance,
        effects: Vec<Effect>,
        before: Indexed,
        caller: &Caller,
        extra: Extra,
    ) -> Result<Instance, Error> {
        let caller = caller.clone();
        let now = self.now();
        // Some(the environment the payloads name) when the step's events are written.
        let events = (self.events_on.load(std::sync::atomic::Ordering::Acquire)
            || matches!(extra, Extra::Subscribe(_)))
        .then(|| self.environment());
        let definition_id = target.definition_id();
        // The revision this write gives the row (`update_instance` adds one).
        let rev = match &target {
            Target::Insert(_) => 0,
            Target::Update { rev, .. } => rev + 1,
        };
        let feed_engine = engine.clone();
        let faults = self.step_faults.clone();
        let update = matches!(target, Target::Update { .. });
        let stopped = update && self.stopped.maybe(target.guid());
        // A webhook request's log row rides in this step's transaction (webhooks::log).
        let hook_log = webhooks::armed();
        let log_row = hook_log.clone();
        // The test hooks stand for a slow or a failing step: on an async worker, such a step
        // runs again on a blocking thread (`inline`), where it waits or panics.
        if inline::may_stop() && (self.gate.is_closed() || self.panics.owes(PanicSite::Step)) {
            return Err(inline::needs_thread("a held or failing step"));
        }
        // Everything that needs no transaction is done here, in the command's own thread: the
        // writer that runs the group commit is the one serial part of a step.
        let prepared = isolation::guard("preparing the step", || {
            self.panics.hit(PanicSite::Step);
            self.gate.pass();
            Prepared::of(&engine, &inst, &effects, target.guid(), &now, &before)
        })?;
        // A `doCmd` of this step nests one level below the command that runs it (see `queued`).
        let depth = queued::depth();
        let guid = target.guid().to_string();
        let at = now.clone();
        let inst = Arc::new(inst);
        let step = inst.clone();
        let run = move |tx: &Tx| {
            let written = queued::at_depth(depth, || {
                write_step(
                    tx, &target, &engine, &step, &effects, &before, &prepared, &caller, &extra,
                    &now, events, stopped,
                )
            })?;
            if let Some(row) = &log_row {
                row.write(tx, target.guid(), step.status.as_str())?;
            }
            if update {
                faults.check()?;
            }
            Ok(written)
        };
        // The step only reads what it captured, so it can run again after a rollback.
        let (queued, timer, sent) = match wait {
            Wait::Thread => self.write_again(run)?,
            Wait::Task => {
                let written = self.write_again_async(run).await?;
                inline::committed();
                written
            }
        };
        if let Some(row) = hook_log {
            row.committed();
        }
        let now = at;
        let inst = Arc::try_unwrap(inst).unwrap_or_else(|shared| (*shared).clone());
        // Committed: the next step of this instance starts from here.
        if inst.status.is_ended() {
            self.hot().forget(&guid);
        } else {
            let entry = hot::Entry {
                rev,
                definition_id,
                inst: inst.clone(),
            };
            self.hot().put(&guid, entry);
        }
        // Live views hear of it (nothing is built when nobody listens).
        if self.changes_watched() {
            let g = guid.clone();
            self.publish_step(g, &feed_engine, &inst, definition_id, now);
        }
        if let Some(due) = timer {
            self.wake.offer(&due);
        }
        if let Some(due) = sent {
            self.send_wake.offer(&due);
        }
        // Commands its scripts queued, and buffered entries its waits match (each delivered
        // as its own step, `buffered`): both run scripts and wait for commits of their own, so
        // a task hands them to a blocking thread.
        let handed = matches!(wait, Wait::Task)
            && (queued || self.may_deliver_buffered(&feed_engine, &inst));
        let rest = move |rt: &Runtime, inst| {
            if queued {
                rt.deliver_outbox_safely();
            }
            rt.deliver_buffered_to(&guid, &feed_engine, inst)
        };
        if handed {
            if let (Some(rt), Ok(tokio)) = (self.home(), tokio::runtime::Handle::try_current()) {
                let committed = inst.clone();
                let ran = tokio.spawn_blocking(move || rest(&rt, inst)).await;
                return Ok(ran.unwrap_or_else(|e| {
                    // The step committed: answer it; a later pass delivers what is left.
                    tracing::warn!("a step's deliveries did not run: {e}");
                    committed
                }));
            }
        }
        Ok(rest(self, inst))
    }

    /// This runtime, when it is shared in an `Arc` that async commands were run on.
    fn home(&self) -> Option<Arc<Runtime>> {
        self.commits.home.get().and_then(std::sync::Weak::upgrade)
    }
}

/// Opens a runtime on the system clock with full durability (convenience for binaries).
pub fn open_default(path: &Path) -> Result<Runtime, StoreError> {
    Runtime::open(path, Durability::Full, Arc::new(SystemClock))
}
