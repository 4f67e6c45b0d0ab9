//! The rhai script host: compiles every script and expression of a deployment once, then runs
//! them against an instance's variables under operation, depth and size limits.
//!
//! What a script sees (DESIGN §4): the instance variables it names, `context` (every visible
//! variable as a map), `formData`, `currentUser`, `execution` (`getVariable`, `setVariable`,
//! `hasVariable`) and `now()`. `throw "msg"` rejects on purpose ([`ScriptErrorKind::Thrown`]).
//!
//! The command bus: `doQuery(name, data)` runs a query at once through the bus the host lends
//! ([`BusGuard`]) and answers its data. `doCmd(name, data)` does not run anything: in a script
//! task or a ServerScript it queues the command ([`ScriptHost::run_with_commands`]) and answers
//! the receipt `#{queued: true, command: name}`; the executor makes each queued command an effect
//! of the step only if the script succeeded, and the host runs it after the step committed. In
//! conditions and other expressions (and a job's code) `doCmd` is refused: they must not change
//! anything, and a gateway may evaluate a condition without taking its flow.
//!
//! Differences from Camunda/JUEL that are deliberate or known:
//! - Integer arithmetic is rhai's: `7 / 2` is `3` (JUEL gives `3.5`). Write `7.0 / 2` for a
//!   fraction. Not "fixed", because rewriting numeric semantics would surprise rhai authors.
//! - JUEL word operators (`and or not eq ne lt gt le ge div mod`), `null` and single-quoted strings
//!   are translated before compiling, outside strings and comments and only as whole words. A
//!   variable named like one of those words therefore cannot be read in an expression. `empty x`
//!   is not supported.
//! - A plain assignment to a variable that does not exist (`total = 5`) creates it, as in
//!   Camunda's JavaScript; rhai alone would fail. Reading one that does not exist is an error.
//! - `execution.getVariable(name)` reads the variables as they were when the script started,
//!   plus earlier `setVariable` calls; not plain assignments made by the script in between.
//! - `print`/`debug` go nowhere; `eval`, `import` and rhai's wall-clock `timestamp()` are not
//!   available (time comes from the engine's clock through `now()`).

mod js;
mod language;
mod lex;
#[cfg(test)]
mod tests;

pub use js::{JS_OPERATIONS_PER_CHECK, MAX_JS_MEMORY, MAX_JS_STACK};
pub use language::{language_note, languages_of, script_languages, ScriptLanguage, ScriptRead};

use crate::model::{Language, ScriptId, Source};
use rhai::packages::{
    BasicArrayPackage, BasicBlobPackage, BasicMapPackage, BasicMathPackage, BitFieldPackage,
    CorePackage, LogicPackage, MoreStringPackage, Package,
};
use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Position, Scope, AST};
use serde_json::{Map, Value};
use std::cell::{Cell, RefCell};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Operations one run may perform. A runaway `loop {}` hits this in milliseconds (release). A
/// JavaScript run spends the same budget on QuickJS's count of calls and loop turns, checked
/// every [`JS_OPERATIONS_PER_CHECK`] (see docs/scripting.md, "Limits and the sandbox").
pub const MAX_OPERATIONS: u64 = 1_000_000;
/// Nested function calls (recursion depth).
pub const MAX_CALL_LEVELS: usize = 64;
/// Nesting depth of expressions at top level and inside functions.
pub const MAX_EXPR_DEPTH: usize = 64;
pub const MAX_FN_EXPR_DEPTH: usize = 32;
/// Bytes in one string.
pub const MAX_STRING_SIZE: usize = 1 << 20;
/// Items in one array, entries in one map. Kept modest because rhai re-measures a whole array on
/// every change, so growing one to the limit costs the square of it.
pub const MAX_ARRAY_SIZE: usize = 10_000;
pub const MAX_MAP_SIZE: usize = 10_000;
/// A safety net behind the deterministic limits above: some operations cost time in proportion
/// to the data they touch (the size check of a large array), so a script can stay under the
/// operation limit and still take seconds. Checked every [`TIME_CHECK_EVERY`] operations.
pub const MAX_RUN_TIME: std::time::Duration = std::time::Duration::from_secs(2);
const TIME_CHECK_EVERY: u64 = 256;
/// How deeply a value leaving a script may nest (converting it back to JSON recurses).
const MAX_VALUE_DEPTH: usize = 128;

/// What a script or expression may see besides the instance variables.
pub struct ScriptInput<'a> {
    /// Looks up a visible variable by name (the executor walks the scope chain).
    pub lookup: &'a dyn Fn(&str) -> Option<Value>,
    /// Every visible variable, merged innermost-wins; used only when a script names `context`.
    pub all: &'a dyn Fn() -> Map<String, Value>,
    /// `formData` (the submitted callback data) for ServerScript.
    pub form_data: Option<&'a Value>,
    /// `currentUser`.
    pub current_user: Option<&'a str>,
    /// What `now()` answers (the engine's Clock, never the wall clock).
    pub now: jiff::Timestamp,
}

/// The result of running a script: its value, the variables it wrote and the commands it queued.
#[derive(Debug, Clone, Default)]
pub struct ScriptOutcome {
    pub value: Value,
    /// Top-level `let` bindings, assignments to visible variables, `context.x = ..` and
    /// `execution.setVariable(..)`, in the order first written.
    pub writes: Vec<(String, Value)>,
    /// What `doCmd(name, data)` queued, in call order (only from
    /// [`ScriptHost::run_with_commands`]; a script that fails queues nothing).
    pub commands: Vec<QueuedCommand>,
}

/// A command a script asked for with `doCmd(name, data)`. It is not run by the script: the
/// executor turns it into an effect of the step (`Effect::CommandQueued`), which the host runs
/// after the step committed.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedCommand {
    pub name: String,
    pub data: Value,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ScriptError {
    pub kind: ScriptErrorKind,
    pub message: String,
    /// Position inside the script text (1-based), when rhai knows it.
    pub line: Option<u32>,
    pub column: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptErrorKind {
    /// The script does not compile.
    Compile,
    /// `throw "msg"`: the script rejected on purpose (ServerScript rejections).
    Thrown,
    /// Operation, depth, size or time limit reached.
    Limit,
    /// Any other runtime error (unknown variable, type mismatch, ...).
    Runtime,
}

impl ScriptError {
    pub(crate) fn new(kind: ScriptErrorKind, message: impl Into<String>, pos: Position) -> Self {
        ScriptError {
            kind,
            message: message.into(),
            line: pos.line().map(|l| l as u32),
            column: pos.position().map(|c| c as u32),
        }
    }
}

/// One compiled script, in the language it was read as.
enum Compiled {
    Rhai(RhaiScript),
    Js(js::JsScript),
}

/// One compiled rhai script and what the lexical scan found out about it.
struct RhaiScript {
    ast: AST,
    /// Instance variables it may read (special names removed).
    vars: Vec<lex::FreeIdent>,
    context: Option<bool>,
    execution: bool,
    form_data: bool,
    current_user: bool,
}

/// Compiles every script of a deployment once and runs them under limits.
pub struct ScriptHost {
    engine: Engine,
    scripts: Vec<Result<Compiled, ScriptError>>,
    /// The operation limit the engine was built with (for messages).
    operations: u64,
    /// How long one run may take (see [`MAX_RUN_TIME`]).
    time: std::time::Duration,
    /// Memory one JavaScript run may hold (see [`MAX_JS_MEMORY`]).
    memory: usize,
}

thread_local! {
    /// What `now()` answers during the current run. A native function cannot see the run's
    /// input, and the engine is shared by every run, so the value is handed over per thread.
    static NOW: Cell<jiff::Timestamp> = const { Cell::new(jiff::Timestamp::UNIX_EPOCH) };
    /// When the current run must stop (see [`MAX_RUN_TIME`]).
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Has the run under way on this thread passed its time limit? A run that did while
/// [`short_runs`] holds is marked [`outgrown`].
pub(crate) fn past_deadline() -> bool {
    let past = matches!(DEADLINE.with(|c| c.get()), Some(d) if Instant::now() > d);
    if past && SHORT.with(|c| c.get()).is_some() {
        OUTGROWN.with(|c| c.set(true));
    }
    past
}

thread_local! {
    /// The time limit of every run while a [`ShortRuns`] guard lives on this thread.
    static SHORT: Cell<Option<std::time::Duration>> = const { Cell::new(None) };
    /// Whether a run stopped at that limit.
    static OUTGROWN: Cell<bool> = const { Cell::new(false) };
}

/// Runs on this thread get at most `limit` each, for as long as the guard lives: a host that
/// computes a step where a long script must not run (an async worker thread, which other
/// requests share) sets it, and asks [`outgrown`] after the step. A run that reaches the limit
/// stops as on its own time limit; the step computed with it is to be thrown away and computed
/// again where the usual limit holds (the engine's steps are pure, so that is safe).
pub fn short_runs(limit: std::time::Duration) -> ShortRuns {
    ShortRuns(
        SHORT.with(|c| c.replace(Some(limit))),
        OUTGROWN.with(|c| c.replace(false)),
    )
}

/// Whether a run stopped at the [`short_runs`] limit since the guard was set.
pub fn outgrown() -> bool {
    OUTGROWN.with(|c| c.get())
}

/// See [`short_runs`]; restores what was set before when dropped.
pub struct ShortRuns(Option<std::time::Duration>, bool);

impl Drop for ShortRuns {
    fn drop(&mut self) {
        SHORT.with(|c| c.set(self.0));
        OUTGROWN.with(|c| c.set(self.1));
    }
}

/// The command bus a host lends to scripts, for `doQuery(name, data)`: it runs the named query
/// and answers its `data`, or the reason it failed. The engine only calls it; what it does (and
/// any I/O) is the host's. `doCmd` never reaches the bus: commands are queued (see
/// [`QueuedCommand`]) and run by the host after the step commits.
pub type Bus = Arc<dyn Fn(&str, &Value) -> Result<Value, String> + Send + Sync>;

thread_local! {
    /// The bus lent for the engine call under way on this thread (see [`BusGuard`]).
    static BUS: RefCell<Option<Bus>> = const { RefCell::new(None) };
    /// The commands `doCmd` queued during the current run; None where `doCmd` is refused
    /// (conditions, expressions, a job's code).
    static QUEUE: RefCell<Option<Vec<QueuedCommand>>> = const { RefCell::new(None) };
}

/// Lends a bus to the scripts that run on this thread until dropped (then restores the
/// previous one, so nested engine calls see their own).
pub struct BusGuard(Option<Bus>);

impl BusGuard {
    pub fn lend(bus: Option<Bus>) -> Self {
        BusGuard(BUS.with(|b| b.replace(bus)))
    }
}

impl Drop for BusGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        BUS.with(|b| *b.borrow_mut() = previous);
    }
}

/// `doQuery(name, data)`: runs a query now, through the lent bus. It reads the last committed
/// state, which is also what the step's write is checked against (the host re-applies the step
/// when the instance changed in between), so a step never commits on top of what it did not see.
pub(crate) fn bus_query(name: &str, data: Value) -> Result<Value, String> {
    let bus = BUS.with(|b| b.borrow().clone());
    let Some(bus) = bus else {
        return Err(
            "doQuery is not available here: scripts reach the command bus in baton serve and the desktop app, not in simulate or while a buffered message is delivered"
                .into(),
        );
    };
    if !name.ends_with("Query") {
        return Err(format!(
            "doQuery runs queries only; '{name}' changes data (use doCmd)"
        ));
    }
    bus(name, &data).map_err(|m| format!("doQuery('{name}') failed: {m}"))
}

/// `doCmd(name, data)`: queues the command for after the step commits and answers a receipt,
/// `{queued: true, command: name}` (not the command's answer: it has not run yet).
pub(crate) fn queue_command(name: &str, data: Value) -> Result<Value, String> {
    if name.ends_with("Query") {
        return Err(format!(
            "doCmd queues commands; '{name}' only reads (use doQuery, which answers now)"
        ));
    }
    QUEUE.with(|q| match q.borrow_mut().as_mut() {
        Some(queue) => {
            queue.push(QueuedCommand {
                name: name.to_string(),
                data,
            });
            Ok(serde_json::json!({"queued": true, "command": name}))
        }
        None => Err(
            "doCmd is not available here: only a script task or a ServerScript may queue a command (it runs after the step commits); conditions and expressions must not change anything"
                .into(),
        ),
    })
}

fn rhai_query(name: &str, data: &Dynamic) -> Result<Dynamic, Box<EvalAltResult>> {
    Ok(to_dynamic(&bus_query(name, command_data(data)?)?))
}

fn rhai_command(name: &str, data: &Dynamic) -> Result<Dynamic, Box<EvalAltResult>> {
    Ok(to_dynamic(&queue_command(name, command_data(data)?)?))
}

/// A command's `data` as JSON: `{}` when the script passed none.
fn command_data(data: &Dynamic) -> Result<Value, Box<EvalAltResult>> {
    if data.is_unit() {
        Ok(Value::Object(Map::new()))
    } else {
        to_json(data).map_err(|e| e.message.into())
    }
}

/// Opens the `doCmd` queue for one run (or closes it, with `open` false) and restores the
/// previous one when dropped, so a nested run never sees or steals the outer run's commands.
pub(crate) struct QueueGuard(Option<Vec<QueuedCommand>>);

impl QueueGuard {
    pub(crate) fn set(open: bool) -> Self {
        QueueGuard(QUEUE.with(|q| q.replace(open.then(Vec::new))))
    }
    /// The commands queued so far in this run.
    pub(crate) fn take(&self) -> Vec<QueuedCommand> {
        QUEUE.with(|q| {
            q.borrow_mut()
                .as_mut()
                .map(std::mem::take)
                .unwrap_or_default()
        })
    }
}

impl Drop for QueueGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        QUEUE.with(|q| *q.borrow_mut() = previous);
    }
}

/// Sets the per-run thread state; restores the previous state when the run ends, however it ends.
pub(crate) struct RunGuard(jiff::Timestamp, Option<Instant>);

impl RunGuard {
    pub(crate) fn set(now: jiff::Timestamp, time: std::time::Duration) -> Self {
        let time = match SHORT.with(|c| c.get()) {
            Some(short) => time.min(short),
            None => time,
        };
        let deadline = Instant::now().checked_add(time);
        RunGuard(
            NOW.with(|c| c.replace(now)),
            DEADLINE.with(|c| c.replace(deadline)),
        )
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        NOW.with(|c| c.set(self.0));
        DEADLINE.with(|c| c.set(self.1));
    }
}

/// The token `on_progress` stops a run with, to tell a timeout from other terminations.
const TIMED_OUT: &str = "baton: run time limit";

/// `execution` inside a script. Shared state so that copies (`let e = execution;`) still record.
#[derive(Clone)]
struct Execution(Arc<Mutex<ExecState>>);

struct ExecState {
    visible: Map<String, Value>,
    writes: Vec<(String, Dynamic)>,
}

impl Execution {
    fn with<R>(&self, f: impl FnOnce(&mut ExecState) -> R) -> R {
        // A poisoned lock can only follow a panic elsewhere; the data is still usable.
        let mut guard = match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }
}

/// Builds the one rhai engine every run uses; tests and production share this function.
pub fn build_engine() -> Engine {
    build_engine_with(MAX_OPERATIONS)
}

/// [`build_engine`] with another operation limit (see `Limits::script_operations`).
pub fn build_engine_with(operations: u64) -> Engine {
    // `Engine::new()` would install a file module resolver and print to stdout: start raw and add
    // only what scripts need. The time package is left out on purpose (wall clock).
    let mut engine = Engine::new_raw();
    engine.set_max_strings_interned(1024);
    for module in [
        CorePackage::new().as_shared_module(),
        BitFieldPackage::new().as_shared_module(),
        LogicPackage::new().as_shared_module(),
        BasicMathPackage::new().as_shared_module(),
        BasicArrayPackage::new().as_shared_module(),
        BasicBlobPackage::new().as_shared_module(),
        BasicMapPackage::new().as_shared_module(),
        MoreStringPackage::new().as_shared_module(),
    ] {
        engine.register_global_module(module);
    }
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    engine.disable_symbol("eval");
    engine.disable_symbol("import");
    engine.set_strict_variables(false);
    engine.set_max_operations(operations);
    engine.set_max_call_levels(MAX_CALL_LEVELS);
    engine.set_max_expr_depths(MAX_EXPR_DEPTH, MAX_FN_EXPR_DEPTH);
    engine.set_max_string_size(MAX_STRING_SIZE);
    engine.set_max_array_size(MAX_ARRAY_SIZE);
    engine.set_max_map_size(MAX_MAP_SIZE);
    engine.set_max_modules(0);
    engine.on_progress(|ops| {
        if ops % TIME_CHECK_EVERY != 0 {
            return None;
        }
        past_deadline().then(|| Dynamic::from(ImmutableString::from(TIMED_OUT)))
    });

    // rhai's `sleep` blocks the thread where no operation is counted, so no time limit could
    // stop it: a script must not wait (a timer event does). Registered here, these answer
    // before the core package's own.
    engine.register_fn("sleep", |_: rhai::INT| -> Result<(), Box<EvalAltResult>> {
        Err(NO_SLEEP.into())
    });
    engine.register_fn(
        "sleep",
        |_: rhai::FLOAT| -> Result<(), Box<EvalAltResult>> { Err(NO_SLEEP.into()) },
    );
    engine.register_fn("now", || -> ImmutableString {
        NOW.with(|c| c.get()).to_string().into()
    });
    engine.register_fn("doQuery", |name: ImmutableString, data: Dynamic| {
        rhai_query(&name, &data)
    });
    engine.register_fn("doQuery", |name: ImmutableString| {
        rhai_query(&name, &Dynamic::UNIT)
    });
    engine.register_fn("doCmd", |name: ImmutableString, data: Dynamic| {
        rhai_command(&name, &data)
    });
    engine.register_fn("doCmd", |name: ImmutableString| {
        rhai_command(&name, &Dynamic::UNIT)
    });

    engine.register_type_with_name::<Execution>("Execution");
    engine.register_fn(
        "getVariable",
        |e: &mut Execution, name: ImmutableString| -> Dynamic {
            e.with(|s| {
                if let Some((_, v)) = s
                    .writes
                    .iter()
                    .rev()
                    .find(|(n, _)| n.as_str() == name.as_str())
                {
                    return v.clone();
                }
                s.visible
                    .get(name.as_str())
                    .map(to_dynamic)
                    .unwrap_or(Dynamic::UNIT)
            })
        },
    );
    engine.register_fn(
        "hasVariable",
        |e: &mut Execution, name: ImmutableString| -> bool {
            e.with(|s| {
                s.writes.iter().any(|(n, _)| n.as_str() == name.as_str())
                    || s.visible.contains_key(name.as_str())
            })
        },
    );
    engine.register_fn(
        "setVariable",
        |e: &mut Execution, name: ImmutableString, value: Dynamic| {
            e.with(|s| s.writes.push((name.to_string(), value)));
        },
    );
    engine.register_fn("to_string", |_: &mut Execution| -> ImmutableString {
        "execution".into()
    });
    engine.register_fn("to_debug", |_: &mut Execution| -> ImmutableString {
        "execution".into()
    });
    engine
}

/// What a script that calls `sleep` is told.
const NO_SLEEP: &str =
    "sleep is not available: a script must not wait (use a timer event in the diagram to wait)";

const CONTEXT: &str = "context";
const EXECUTION: &str = "execution";
const FORM_DATA: &str = "formData";
const CURRENT_USER: &str = "currentUser";

impl ScriptHost {
    pub fn new() -> Self {
        Self::with_limits(MAX_OPERATIONS, MAX_RUN_TIME)
    }

    /// A host whose runs stop after `operations` operations (rhai's count, or QuickJS's calls
    /// and loop turns for JavaScript) or `time` of wall time (`Limits::script_operations`,
    /// `Limits::script_time`).
    pub fn with_limits(operations: u64, time: std::time::Duration) -> Self {
        ScriptHost {
            engine: build_engine_with(operations),
            scripts: Vec::new(),
            operations,
            time,
            memory: MAX_JS_MEMORY,
        }
    }

    /// The memory a JavaScript run may hold (`Limits::script_memory`; rhai has no heap limit of
    /// its own, its operation count bounds it).
    pub fn with_memory(mut self, bytes: usize) -> Self {
        self.memory = bytes;
        self
    }

    /// A host for one rhai script outside any process: compiled now, run as script 0. The
    /// error carries the line and column rhai reports.
    pub fn single(text: &str) -> Result<Self, ScriptError> {
        Self::single_as(text, &Language::Rhai)
    }

    /// [`ScriptHost::single`] in the given language; a recurring job's or a webhook's code
    /// passes [`Language::Detect`] (see `docs/scripting.md`, "Which language").
    pub fn single_as(text: &str, language: &Language) -> Result<Self, ScriptError> {
        let mut host = ScriptHost::new();
        let compiled = host.compile(text, language)?;
        host.scripts = vec![Ok(compiled)];
        Ok(host)
    }

    /// Compiles `sources` (index = ScriptId) as rhai. Returns the sources that failed to compile.
    pub fn compile_all(&mut self, sources: &[Source]) -> Vec<(ScriptId, ScriptError)> {
        self.compile_with_languages(sources, &[])
    }

    /// Compiles `sources` (index = ScriptId), each in the language `languages` gives for it
    /// (`Deployment::source_languages`; a source past its end is rhai). Returns the sources
    /// that failed to compile.
    pub fn compile_with_languages(
        &mut self,
        sources: &[Source],
        languages: &[Language],
    ) -> Vec<(ScriptId, ScriptError)> {
        let mut failed = Vec::new();
        self.scripts = sources
            .iter()
            .enumerate()
            .map(|(i, src)| {
                let language = languages.get(i).unwrap_or(&Language::Rhai);
                let compiled = self.compile(&src.text, language);
                if let Err(e) = &compiled {
                    failed.push((i as ScriptId, e.clone()));
                }
                compiled
            })
            .collect();
        failed
    }

    /// The language script `id` was read as; None when it does not exist or did not compile.
    pub fn language(&self, id: ScriptId) -> Option<ScriptLanguage> {
        match self.scripts.get(id as usize)? {
            Ok(Compiled::Rhai(_)) => Some(ScriptLanguage::Rhai),
            Ok(Compiled::Js(_)) => Some(ScriptLanguage::JavaScript),
            Err(_) => None,
        }
    }

    fn compile(&self, text: &str, language: &Language) -> Result<Compiled, ScriptError> {
        match language {
            Language::Rhai => self.compile_rhai(text).map(Compiled::Rhai),
            Language::JavaScript => js::compile(text).map(Compiled::Js),
            Language::Other(name) => Err(ScriptError::new(
                ScriptErrorKind::Compile,
                format!(
                    "'{name}' is not a language Baton runs: write the script in rhai or JavaScript"
                ),
                Position::NONE,
            )),
            Language::Detect => match language::marked(text) {
                Some(ScriptLanguage::Rhai) => self.compile_rhai(text).map(Compiled::Rhai),
                Some(ScriptLanguage::JavaScript) => js::compile(text).map(Compiled::Js),
                None => match self.compile_rhai(text) {
                    Ok(c) => Ok(Compiled::Rhai(c)),
                    Err(rhai_err) => match js::compile(text) {
                        Ok(c) => Ok(Compiled::Js(c)),
                        Err(js_err) => Err(language::neither(text, rhai_err, js_err)),
                    },
                },
            },
        }
    }

    fn compile_rhai(&self, text: &str) -> Result<RhaiScript, ScriptError> {
        let scanned = lex::scan(text);
        let ast = self.engine.compile(&scanned.text).map_err(|e| {
            let limit = matches!(*e.0, rhai::ParseErrorType::ExprTooDeep);
            let kind = if limit {
                ScriptErrorKind::Limit
            } else {
                ScriptErrorKind::Compile
            };
            ScriptError::new(kind, e.0.to_string(), e.1)
        })?;
        let mut c = RhaiScript {
            ast,
            vars: Vec::new(),
            context: None,
            execution: false,
            form_data: false,
            current_user: false,
        };
        for f in scanned.free {
            match f.name.as_str() {
                CONTEXT => c.context = Some(f.mutated),
                EXECUTION => c.execution = true,
                FORM_DATA => c.form_data = true,
                CURRENT_USER => c.current_user = true,
                _ => c.vars.push(f),
            }
        }
        Ok(c)
    }

    /// Runs a script (or evaluates an expression) and returns its value and writes. `doCmd` is
    /// refused here: conditions, expressions and a job's code must not change anything.
    pub fn run(&self, id: ScriptId, input: &ScriptInput) -> Result<ScriptOutcome, ScriptError> {
        self.run_queuing(id, input, false)
    }

    /// Runs a script that may queue commands (a script task, a ServerScript): `doCmd` answers a
    /// receipt and the outcome carries the commands in call order. A script that fails queues
    /// nothing.
    pub fn run_with_commands(
        &self,
        id: ScriptId,
        input: &ScriptInput,
    ) -> Result<ScriptOutcome, ScriptError> {
        self.run_queuing(id, input, true)
    }

    fn run_queuing(
        &self,
        id: ScriptId,
        input: &ScriptInput,
        queue: bool,
    ) -> Result<ScriptOutcome, ScriptError> {
        let script = match self.scripts.get(id as usize) {
            Some(Ok(Compiled::Rhai(c))) => c,
            Some(Ok(Compiled::Js(c))) => {
                return js::run(c, input, queue, self.operations, self.time, self.memory)
            }
            Some(Err(e)) => return Err(e.clone()),
            None => {
                return Err(ScriptError::new(
                    ScriptErrorKind::Runtime,
                    format!("there is no script {id} in this deployment"),
                    Position::NONE,
                ))
            }
        };

        let mut scope = Scope::with_capacity(script.vars.len() + 2);
        // Scope index -> (name, value pushed) for every variable whose change must be noticed.
        let mut watched: Vec<(usize, &str, Value)> = Vec::new();
        for f in &script.vars {
            match (input.lookup)(&f.name) {
                Some(v) => {
                    if f.mutated {
                        watched.push((scope.len(), &f.name, v.clone()));
                    }
                    scope.push_dynamic(f.name.as_str(), to_dynamic(&v));
                }
                None if f.assigned => {
                    watched.push((scope.len(), &f.name, Value::Null));
                    scope.push_dynamic(f.name.as_str(), Dynamic::UNIT);
                }
                None => {}
            }
        }
        let mut context: Option<(usize, Map<String, Value>)> = None;
        if let Some(mutated) = script.context {
            let all = (input.all)();
            let idx = scope.len();
            scope.push_dynamic(
                CONTEXT,
                Dynamic::from_map(all.iter().map(|(k, v)| (k.into(), to_dynamic(v))).collect()),
            );
            if mutated {
                context = Some((idx, all));
            }
        }
        let execution = if script.execution {
            let e = Execution(Arc::new(Mutex::new(ExecState {
                visible: (input.all)(),
                writes: Vec::new(),
            })));
            scope.push_dynamic(EXECUTION, Dynamic::from(e.clone()));
            Some(e)
        } else {
            None
        };
        if script.form_data {
            scope.push_dynamic(
                FORM_DATA,
                input.form_data.map(to_dynamic).unwrap_or(Dynamic::UNIT),
            );
        }
        if script.current_user {
            scope.push_dynamic(
                CURRENT_USER,
                input
                    .current_user
                    .map(|u| Dynamic::from(ImmutableString::from(u)))
                    .unwrap_or(Dynamic::UNIT),
            );
        }
        let pushed = scope.len();

        let (result, commands) = {
            let _run = RunGuard::set(input.now, self.time);
            let queued = QueueGuard::set(queue);
            let result = self
                .engine
                .eval_ast_with_scope::<Dynamic>(&mut scope, &script.ast);
            (result, queued.take())
        };
        let value = result.map_err(|e| eval_error(*e, self.operations, self.time))?;

        let mut writes: Vec<(String, Value)> = Vec::new();
        fn put(writes: &mut Vec<(String, Value)>, name: &str, value: Value) {
            match writes.iter_mut().find(|(n, _)| n == name) {
                Some(w) => w.1 = value,
                None => writes.push((name.to_string(), value)),
            }
        }
        let entries: Vec<(&str, bool, &Dynamic)> =
            if watched.is_empty() && context.is_none() && scope.len() == pushed {
                Vec::new()
            } else {
                // `iter_raw` walks from the newest entry back; index by position from the oldest.
                let mut e: Vec<_> = scope.iter_raw().collect();
                e.reverse();
                e
            };
        // (b) pushed variables that changed.
        for (idx, name, before) in &watched {
            if let Some((_, _, now)) = entries.get(*idx) {
                let after = to_json(now)?;
                if after != *before {
                    put(&mut writes, name, after);
                }
            }
        }
        // (a) top-level `let`/`const` (and rhai shadowing of a pushed name).
        for (name, _, v) in entries.iter().skip(pushed) {
            // Function pointers (closures) are script-local helpers, not data worth keeping.
            if matches!(*name, CONTEXT | EXECUTION | FORM_DATA | CURRENT_USER) || v.is_fnptr() {
                continue;
            }
            put(&mut writes, name, to_json(v)?);
        }
        // (c) `context.x = ..`.
        if let Some((idx, before)) = &context {
            if let Some((_, _, now)) = entries.get(*idx) {
                if let Value::Object(after) = to_json(now)? {
                    for (k, v) in after {
                        if before.get(&k) != Some(&v) {
                            put(&mut writes, &k, v);
                        }
                    }
                }
            }
        }
        // (d) `execution.setVariable(..)`.
        if let Some(e) = execution {
            let set = e.with(|s| std::mem::take(&mut s.writes));
            for (name, v) in set {
                put(&mut writes, &name, to_json(&v)?);
            }
        }
        Ok(ScriptOutcome {
            value: to_json(&value)?,
            writes,
            commands,
        })
    }

    /// Evaluates a condition; anything but a boolean is an error naming the type it got.
    pub fn condition(&self, id: ScriptId, input: &ScriptInput) -> Result<bool, ScriptError> {
        let out = self.run(id, input)?;
        match out.value {
            Value::Bool(b) => Ok(b),
            other => {
                let kind = match &other {
                    Value::Null => "nothing",
                    Value::Number(_) => "a number",
                    Value::String(_) => "a string",
                    Value::Array(_) => "a list",
                    Value::Object(_) => "a map",
                    Value::Bool(_) => "a boolean",
                };
                let mut shown = other.to_string();
                if shown.len() > 80 {
                    let cut = (0..=80)
                        .rev()
                        .find(|&i| shown.is_char_boundary(i))
                        .unwrap_or(0);
                    shown.truncate(cut);
                    shown.push('…');
                }
                Err(ScriptError::new(
                    ScriptErrorKind::Runtime,
                    format!("condition must be true or false, got {kind} ({shown})"),
                    Position::NONE,
                ))
            }
        }
    }
}

impl Default for ScriptHost {
    fn default() -> Self {
        Self::new()
    }
}

/// JSON -> rhai. Integers stay integers, objects become maps.
pub fn to_dynamic(v: &Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Dynamic::from(ImmutableString::from(s.as_str())),
        Value::Array(a) => Dynamic::from_array(a.iter().map(to_dynamic).collect()),
        Value::Object(o) => {
            Dynamic::from_map(o.iter().map(|(k, v)| (k.into(), to_dynamic(v))).collect())
        }
    }
}

/// rhai -> JSON. Fails only for values nested deeper than [`MAX_VALUE_DEPTH`].
pub fn to_json(v: &Dynamic) -> Result<Value, ScriptError> {
    to_json_at(v, 0)
}

fn to_json_at(v: &Dynamic, depth: usize) -> Result<Value, ScriptError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(ScriptError::new(
            ScriptErrorKind::Limit,
            format!("script stopped: a value it produced is nested more than {MAX_VALUE_DEPTH} levels deep"),
            Position::NONE,
        ));
    }
    if v.is_shared() {
        return to_json_at(&v.flatten_clone(), depth);
    }
    if v.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = v.as_int() {
        return Ok(Value::from(i));
    }
    if let Ok(f) = v.as_float() {
        return Ok(serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null));
    }
    if let Ok(c) = v.as_char() {
        return Ok(Value::String(c.to_string()));
    }
    if let Some(s) = v.read_lock::<ImmutableString>() {
        return Ok(Value::String(s.to_string()));
    }
    if let Some(a) = v.read_lock::<Array>() {
        return a
            .iter()
            .map(|x| to_json_at(x, depth + 1))
            .collect::<Result<_, _>>()
            .map(Value::Array);
    }
    if let Some(m) = v.read_lock::<rhai::Map>() {
        let mut out = Map::with_capacity(m.len());
        for (k, x) in m.iter() {
            out.insert(k.to_string(), to_json_at(x, depth + 1)?);
        }
        return Ok(Value::Object(out));
    }
    if let Some(b) = v.read_lock::<rhai::Blob>() {
        return Ok(Value::Array(b.iter().map(|&x| Value::from(x)).collect()));
    }
    Ok(Value::String(v.to_string()))
}

/// Maps a rhai runtime error to the host's kinds and plain-language messages.
fn eval_error(err: EvalAltResult, operations: u64, time: std::time::Duration) -> ScriptError {
    use EvalAltResult as E;
    use ScriptErrorKind::*;
    match err {
        E::ErrorRuntime(value, pos) => ScriptError::new(Thrown, thrown_message(&value), pos),
        E::ErrorInFunctionCall(name, _, inner, pos) => {
            let mut e = eval_error(*inner, operations, time);
            if e.kind == Runtime {
                e.message = format!("in function '{name}': {}", e.message);
            }
            if e.line.is_none() {
                e.line = pos.line().map(|l| l as u32);
                e.column = pos.position().map(|c| c as u32);
            }
            e
        }
        E::ErrorInModule(_, inner, _) => eval_error(*inner, operations, time),
        E::ErrorTooManyOperations(pos) => ScriptError::new(
            Limit,
            format!("script stopped: it ran more than {operations} operations (an endless loop?)"),
            pos,
        ),
        E::ErrorStackOverflow(pos) => ScriptError::new(
            Limit,
            format!("script stopped: function calls nested more than {MAX_CALL_LEVELS} levels deep (endless recursion?)"),
            pos,
        ),
        E::ErrorDataTooLarge(what, pos) => ScriptError::new(
            Limit,
            format!(
                "script stopped: {} grew over the limit (strings {MAX_STRING_SIZE} bytes, lists {MAX_ARRAY_SIZE} items, maps {MAX_MAP_SIZE} entries)",
                what.to_lowercase()
            ),
            pos,
        ),
        E::ErrorTooManyVariables(pos) => ScriptError::new(Limit, "script stopped: it declared too many variables", pos),
        E::ErrorTerminated(_, pos) => ScriptError::new(
            Limit,
            format!("script stopped: it ran longer than {} seconds", time.as_secs_f64()),
            pos,
        ),
        E::ErrorParsing(rhai::ParseErrorType::ExprTooDeep, pos) => {
            ScriptError::new(Limit, "script stopped: expression nested too deeply", pos)
        }
        E::ErrorVariableNotFound(name, pos) => ScriptError::new(Runtime, format!("unknown variable '{name}'"), pos),
        E::ErrorFunctionNotFound(sig, pos) => {
            ScriptError::new(Runtime, format!("no function or operator matches '{sig}' (unknown name or wrong argument types)"), pos)
        }
        E::ErrorPropertyNotFound(name, pos) => ScriptError::new(Runtime, format!("unknown property '{name}'"), pos),
        mut other => {
            let pos = other.take_position();
            ScriptError::new(Runtime, other.to_string(), pos)
        }
    }
}

/// The message of `throw value`: a string as is, a map's `message` field, else the value shown.
fn thrown_message(value: &Dynamic) -> String {
    if value.is_unit() {
        return "script threw without a message".to_string();
    }
    if let Some(s) = value.read_lock::<ImmutableString>() {
        return s.to_string();
    }
    if let Some(m) = value.read_lock::<rhai::Map>() {
        if let Some(msg) = m.get("message") {
            return msg.to_string();
        }
    }
    value.to_string()
}
