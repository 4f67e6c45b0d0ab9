//! JavaScript beside rhai: QuickJS (through rquickjs), sandboxed and bounded like rhai.
//!
//! Why QuickJS and how it is held (figures in BENCHMARKS.md and docs/scripting.md): a QuickJS
//! context starts in microseconds, so every run gets a FRESH context on a runtime kept per
//! thread. Nothing a script does to its globals or to the built-in prototypes can reach another
//! run, and the compiled host stays `Send + Sync` (it keeps only text; QuickJS objects never
//! leave the thread that made them). Boa was measured too and starts a context far slower.
//!
//! The sandbox: the context has only the language itself (no `std`/`os` modules, which belong to
//! QuickJS's command-line tool and are not built here; no `fetch`, timers, `Promise` jobs,
//! `performance` or `WeakRef`). `Date` is the engine's clock (`new Date()` and `Date.now()` answer
//! the clock's time), `console.*` goes nowhere. Limits: an operation budget and the run time
//! (both checked by QuickJS's interrupt handler, see `bounds::interrupt`), [`MAX_JS_MEMORY`] of
//! memory and [`MAX_JS_STACK`] of stack per runtime.
//!
//! How a text runs: a body with a top-level `return` (as the seeds write ServerScripts) is
//! wrapped in a function and called; any other text (a condition, a Camunda-style script task)
//! is evaluated inside a function so that its last expression is its value and its `var`s stay
//! local. Writes: `execution.setVariable(name, value)`, `context.x = ..`, and assignments to a
//! variable the script did not declare (an existing one, or a new one: as in Camunda).

use super::lex::{self, FreeIdent};
use super::{
    bus_query, past_deadline, queue_command, QueueGuard, RunGuard, ScriptError, ScriptErrorKind,
    ScriptInput, ScriptOutcome, CONTEXT, CURRENT_USER, EXECUTION, FORM_DATA,
};
mod bounds;

pub use bounds::JS_OPERATIONS_PER_CHECK;
use bounds::{
    budget_spent, interrupt, module_statement, track_rejection, BudgetGuard, RejectionGuard, NO_IO,
    NO_IO_WHY,
};
use rquickjs::context::intrinsic;
use rquickjs::function::Opt;
use rquickjs::{
    CatchResultExt, CaughtError, Context, Ctx, Exception, Function, Object, Persistent, Runtime,
    Value as JsValue,
};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// Memory one thread's JavaScript runtime may hold by default (every run on that thread shares
/// it; a run's memory is freed when it ends). `Limits::script_memory` sets it.
pub const MAX_JS_MEMORY: usize = 64 << 20;
/// Stack the JavaScript interpreter may use (deep recursion stops here, not at the thread's end).
pub const MAX_JS_STACK: usize = 256 << 10;

/// The language features a run's context has: no Performance (wall clock), no WeakRef
/// (collection order), no typed arrays or Proxy (not needed by scripts). Promise is there because
/// QuickJS needs it for `async` functions and `import()`; their jobs run before the run ends.
type Features = (
    intrinsic::Date,
    intrinsic::Eval,
    intrinsic::RegExpCompiler,
    intrinsic::RegExp,
    intrinsic::Json,
    intrinsic::MapSet,
    intrinsic::Promise,
);

/// The file name errors carry for the script's own code.
const FILE: &str = "script";
/// `(function () {` before a body with a top-level return; on the body's first line, so line
/// numbers stay the body's own.
const WRAP_OPEN: &str = "(function () {";
/// Around a text that is one expression (most conditions): compiled once per thread as well.
const EXPR_OPEN: &str = "(function () { return (";
const EXPR_CLOSE: &str = "\n); })";

/// Names the host provides or the language has: never looked up as instance variables.
const BUILT_IN: &[&str] = &[
    "Date",
    "Math",
    "JSON",
    "Object",
    "Array",
    "String",
    "Number",
    "Boolean",
    "Error",
    "TypeError",
    "RangeError",
    "SyntaxError",
    "ReferenceError",
    "RegExp",
    "Map",
    "Set",
    "Symbol",
    "BigInt",
    "parseInt",
    "parseFloat",
    "isNaN",
    "isFinite",
    "NaN",
    "Infinity",
    "undefined",
    "console",
    "doQuery",
    "doCmd",
    "now",
    "globalThis",
    "arguments",
    "typeof",
    "instanceof",
    "delete",
    "of",
    "class",
    "extends",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One expression (`amount > 1000`): wrapped in a function that returns it.
    Expression,
    /// The body has a top-level `return`: wrapped in a function and called.
    Body,
    /// Statements or an expression: the last expression's value is the value.
    Completion,
}

/// One JavaScript script, checked at deploy; each thread compiles it again once (a body) or
/// evaluates its text each run (a completion: conditions are short).
pub(crate) struct JsScript {
    /// Its key in each thread's cache of compiled functions.
    key: u64,
    text: String,
    shape: Shape,
    vars: Vec<FreeIdent>,
    context: Option<bool>,
    execution: bool,
    form_data: bool,
    current_user: bool,
}

thread_local! {
    /// This thread's JavaScript context, made on first use. Taken out for a run and put back
    /// after, so a run nested inside another (a query that runs a script) makes its own.
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

/// Gives every compiled script a key for the per-thread cache of compiled functions.
static NEXT_KEY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
/// Compiled functions one thread keeps (cleared when full).
const CACHE_SIZE: usize = 1024;

/// A runtime and the one context every run on this thread shares, prepared by [`PRELUDE`]:
/// the clock's `Date`, `doQuery`/`doCmd`, and every built-in frozen.
struct Held {
    /// What the prelude answered: `setNow(ms, text)`, `reset()`, `baseline` (global names).
    set_now: Option<Persistent<Function<'static>>>,
    reset: Option<Persistent<Function<'static>>>,
    baseline: HashSet<String>,
    /// How many own properties the global object has between runs.
    baseline_count: usize,
    /// Globals the host set for the run under way (removed after it).
    added: Vec<String>,
    /// Body-shaped scripts compiled in this context, by script key.
    compiled: HashMap<u64, Persistent<Function<'static>>>,
    ctx: Option<Context>,
    rt: Option<Runtime>,
    /// The memory limit the runtime has now (see `with_held`).
    memory: usize,
}

impl Held {
    fn new() -> Result<Held, ScriptError> {
        let start = |e: rquickjs::Error| limit_or_runtime(format!("JavaScript cannot start: {e}"));
        let rt = Runtime::new().map_err(start)?;
        rt.set_memory_limit(MAX_JS_MEMORY);
        rt.set_max_stack_size(MAX_JS_STACK);
        rt.set_interrupt_handler(Some(Box::new(interrupt)));
        rt.set_host_promise_rejection_tracker(Some(Box::new(track_rejection)));
        let ctx = Context::custom::<Features>(&rt).map_err(start)?;
        let mut held = Held {
            set_now: None,
            reset: None,
            baseline: HashSet::new(),
            baseline_count: 0,
            added: Vec::new(),
            compiled: HashMap::new(),
            ctx: None,
            rt: None,
            memory: MAX_JS_MEMORY,
        };
        // Preparing the context may happen inside the run that first needs it: neither that
        // run's operation budget nor its time pays for it (a deadline past any clock is none).
        let paused = (
            BudgetGuard::pause(),
            RunGuard::set(jiff::Timestamp::UNIX_EPOCH, std::time::Duration::MAX),
        );
        ctx.with(|ctx| prepare(&ctx, &mut held)).map_err(start)?;
        drop(paused);
        held.ctx = Some(ctx);
        held.rt = Some(rt);
        Ok(held)
    }
}

fn prepare<'js>(ctx: &Ctx<'js>, held: &mut Held) -> rquickjs::Result<()> {
    let query = Function::new(ctx.clone(), |name: String, data: String| {
        bridge(&data, |v| bus_query(&name, v))
    })?;
    let command = Function::new(ctx.clone(), |name: String, data: String| {
        bridge(&data, |v| queue_command(&name, v))
    })?;
    let mut options = rquickjs::context::EvalOptions::default();
    options.filename = Some("baton".into());
    let prelude: Function = ctx.eval_with_options(PRELUDE, options)?;
    let host: Object = prelude.call((ctx.globals(), query, command))?;
    let set_now: Function = host.get("setNow")?;
    held.set_now = Some(Persistent::save(ctx, set_now));
    let reset: Function = host.get("reset")?;
    held.reset = Some(Persistent::save(ctx, reset));
    let names: Vec<String> = host.get("baseline")?;
    held.baseline = names.into_iter().collect();
    held.baseline_count = global_count(&ctx.globals());
    Ok(())
}

/// How many own properties (names and symbols) `g` has; counted in C, no array is made.
fn global_count(g: &Object) -> usize {
    g.own_keys::<rquickjs::Atom>(rquickjs::object::Filter::new().string().symbol())
        .len()
}

impl Drop for Held {
    fn drop(&mut self) {
        self.set_now = None;
        self.reset = None;
        self.compiled.clear();
        self.ctx = None;
        if let Some(rt) = self.rt.take() {
            // Once the context's cycles are collected nothing may be left. If something is (an
            // allocation failure QuickJS could not unwind cleanly), the runtime is not freed:
            // QuickJS aborts the process when a runtime with live objects is freed, and a leak
            // is the lesser harm.
            rt.run_gc();
            if rt.is_job_pending() || rt.memory_usage().obj_count > 0 {
                std::mem::forget(rt);
            }
        }
    }
}

/// Runs `f` in this thread's context. The context is dropped (a fresh one next time) when the
/// run hit a limit or left something on the global object that cannot be removed.
fn with_held<R>(
    memory: usize,
    f: impl FnOnce(&mut Held, &Ctx<'_>) -> Result<R, ScriptError>,
) -> Result<R, ScriptError> {
    let mut held = match HELD.with(|h| h.borrow_mut().take()) {
        Some(h) => h,
        None => Held::new()?,
    };
    // The run's memory limit (engines built with other limits share this thread's runtime).
    if held.memory != memory {
        if let Some(rt) = &held.rt {
            rt.set_memory_limit(memory);
        }
        held.memory = memory;
    }
    let Some(context) = held.ctx.clone() else {
        return Err(runtime_error("JavaScript context missing".into()));
    };
    // SAFETY: the runtime pointer is live (`held` owns the runtime); the call only records
    // where this thread's stack is now, so the stack limit is measured from this frame.
    unsafe { rquickjs::qjs::JS_UpdateStackTop(context.get_runtime_ptr()) };
    let (out, clean) = context.with(|ctx| {
        let out = f(&mut held, &ctx);
        // What the host set is removed by name; anything else the run added is found by
        // counting (cheap) and removed by the prelude's `reset` (rarely needed).
        let g = ctx.globals();
        for name in held.added.drain(..) {
            let _ = g.remove(name.as_str());
        }
        let clean = global_count(&g) == held.baseline_count
            || held
                .reset
                .clone()
                .and_then(|r| r.restore(&ctx).ok())
                .and_then(|r| r.call::<_, bool>(()).ok())
                .unwrap_or(false);
        (out, clean)
    });
    let limit = matches!(&out, Err(e) if e.kind == ScriptErrorKind::Limit);
    if clean && !limit {
        HELD.with(|h| {
            let mut slot = h.borrow_mut();
            if slot.is_none() {
                *slot = Some(held);
            }
        });
    }
    out
}

fn runtime_error(message: String) -> ScriptError {
    ScriptError {
        kind: ScriptErrorKind::Runtime,
        message,
        line: None,
        column: None,
    }
}

fn limit_or_runtime(message: String) -> ScriptError {
    let mut e = runtime_error(message);
    if e.message.contains("Allocation") || e.message.contains("out of memory") {
        e.kind = ScriptErrorKind::Limit;
    }
    e
}

/// Checks `text` and decides its shape. Nothing of it runs.
pub(crate) fn compile(text: &str) -> Result<JsScript, ScriptError> {
    if text.contains('\0') {
        return Err(ScriptError {
            kind: ScriptErrorKind::Compile,
            message: "the script contains a NUL character".into(),
            line: None,
            column: None,
        });
    }
    // The text an Expression runs: the script's own, or one expression statement without its
    // final `;` (`counter = counter + 1;`, as Camunda-style script tasks are written), whose
    // value is the same and which then compiles once instead of at every run.
    let mut run_text = text;
    let shape = with_held(MAX_JS_MEMORY, |_, ctx| {
        if compiles(ctx, text).is_ok() {
            for candidate in [Some(text), one_statement(text)].into_iter().flatten() {
                let expression = format!("{EXPR_OPEN}{candidate}{EXPR_CLOSE}");
                if compiles(ctx, &expression).is_ok() {
                    run_text = candidate;
                    return Ok(Shape::Expression);
                }
            }
            return Ok(Shape::Completion);
        }
        compiles(ctx, &format!("{WRAP_OPEN}{text}\n}})"))
            .map(|_| Shape::Body)
            .map_err(|caught| {
                let mut e = caught_error(caught, Shape::Body, MAX_JS_MEMORY);
                e.kind = ScriptErrorKind::Compile;
                if module_statement(text) {
                    e.message = format!(
                        "import and export are not available: {NO_IO_WHY} ({})",
                        e.message
                    );
                }
                e
            })
    })?;
    let mut script = JsScript {
        key: NEXT_KEY.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        text: run_text.to_string(),
        shape,
        vars: Vec::new(),
        context: None,
        execution: false,
        form_data: false,
        current_user: false,
    };
    // The rhai scanner's free identifiers serve here too: it knows strings, comments and
    // property names; listing too many only costs a lookup.
    for f in lex::scan(text).free {
        match f.name.as_str() {
            CONTEXT => script.context = Some(f.mutated),
            EXECUTION => script.execution = true,
            FORM_DATA => script.form_data = true,
            CURRENT_USER => script.current_user = true,
            n if BUILT_IN.contains(&n) => {}
            _ => script.vars.push(f),
        }
    }
    Ok(script)
}

/// `text` without its final `;`, when what is left may be one expression statement whose value
/// as an expression is the statement's: not when it begins with `{` (a block as a statement, an
/// object as an expression), `function`, `class` or `async` (declarations as statements), or
/// when the `;` ends a comment's line.
fn one_statement(text: &str) -> Option<&str> {
    let body = text.trim_end().strip_suffix(';')?;
    if body.lines().last().is_some_and(|l| l.contains("//")) {
        return None;
    }
    let mut rest = body.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("//") {
            rest = r
                .split_once('\n')
                .map_or("", |(_, after)| after)
                .trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/")?.1.trim_start();
        } else {
            break;
        }
    }
    let declares = ["function", "class", "async"].iter().any(|k| {
        rest.strip_prefix(k)
            .is_some_and(|r| !r.starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$'))
    });
    (!rest.is_empty() && !rest.starts_with('{') && !declares).then_some(body)
}

/// Compiles `src` as a global script without running it.
fn compiles<'js>(ctx: &Ctx<'js>, src: &str) -> Result<(), CaughtError<'js>> {
    let source = std::ffi::CString::new(src).map_err(|e| CaughtError::Error(e.into()))?;
    let flags = rquickjs::qjs::JS_EVAL_TYPE_GLOBAL | rquickjs::qjs::JS_EVAL_FLAG_COMPILE_ONLY;
    // SAFETY: `source` is NUL-terminated and outlives the call; the context is live (we are
    // inside its `with`). The compiled function is owned by `JsValue::from_raw`, which frees it;
    // an exception is taken off the context by `catch`.
    unsafe {
        let v = rquickjs::qjs::JS_Eval(
            ctx.as_raw().as_ptr(),
            source.as_ptr(),
            src.len() as _,
            c"script".as_ptr(),
            flags as i32,
        );
        if rquickjs::qjs::JS_IsException(v) {
            return Err(Err::<(), _>(rquickjs::Error::Exception)
                .catch(ctx)
                .unwrap_err());
        }
        drop(JsValue::from_raw(ctx.clone(), v));
    }
    Ok(())
}

/// What `execution` reads and records during one run.
struct ExecState {
    visible: Map<String, Value>,
    writes: Vec<(String, Value)>,
}

/// Runs a compiled script against `input` under the operation budget `operations` (see
/// [`bounds::interrupt`]) and the run time limit `time`.
pub(crate) fn run(
    script: &JsScript,
    input: &ScriptInput,
    queue: bool,
    operations: u64,
    time: std::time::Duration,
    memory: usize,
) -> Result<ScriptOutcome, ScriptError> {
    let _run = RunGuard::set(input.now, time);
    let _budget = BudgetGuard::set(operations);
    let queued = QueueGuard::set(queue);
    let limits = (operations, time.as_secs_f64(), memory);
    let rejections = RejectionGuard::set(script.shape, memory);
    let (value, writes) = with_held(memory, |held, ctx| {
        run_in(held, ctx, script, input).map_err(|c| run_error(c, script.shape, limits))
    })?;
    if let Some(e) = rejections.first() {
        return Err(e);
    }
    Ok(ScriptOutcome {
        value,
        writes,
        commands: queued.take(),
    })
}

type Writes = Vec<(String, Value)>;

fn run_in<'js>(
    held: &mut Held,
    ctx: &Ctx<'js>,
    script: &JsScript,
    input: &ScriptInput,
) -> Result<(Value, Writes), CaughtError<'js>> {
    let g = ctx.globals();
    if let Some(set_now) = &held.set_now {
        let set_now = set_now.clone().restore(ctx).catch(ctx)?;
        set_now
            .call::<_, ()>((input.now.as_millisecond() as f64, input.now.to_string()))
            .catch(ctx)?;
    }

    // Instance variables the script names: globals, so that an undeclared name is an error and
    // an assignment is seen afterwards.
    let mut watched: Vec<(&str, Option<Value>)> = Vec::new();
    for f in &script.vars {
        if held.baseline.contains(&f.name) {
            continue;
        }
        match (input.lookup)(&f.name) {
            Some(v) => {
                held.added.push(f.name.clone());
                g.set(f.name.as_str(), to_js(ctx, &v)?).catch(ctx)?;
                if f.mutated {
                    watched.push((&f.name, Some(v)));
                }
            }
            None if f.assigned => {
                // A new variable the script may create (`b1 = 1;`) lands on the global object:
                // removed by name after the run, not by the prelude's slower `reset`.
                held.added.push(f.name.clone());
                watched.push((&f.name, None));
            }
            None => {}
        }
    }
    let mut context_before = None;
    if let Some(mutated) = script.context {
        let all = (input.all)();
        held.added.push(CONTEXT.into());
        g.set(CONTEXT, to_js(ctx, &Value::Object(all.clone()))?)
            .catch(ctx)?;
        if mutated {
            context_before = Some(all);
        }
    }
    let exec = if script.execution {
        let state = Rc::new(RefCell::new(ExecState {
            visible: (input.all)(),
            writes: Vec::new(),
        }));
        held.added.push(EXECUTION.into());
        g.set(EXECUTION, execution_object(ctx, &state).catch(ctx)?)
            .catch(ctx)?;
        Some(state)
    } else {
        None
    };
    if script.form_data {
        let form = match input.form_data {
            Some(v) if !v.is_null() => v.clone(),
            _ => Value::Object(Map::new()),
        };
        held.added.push(FORM_DATA.into());
        g.set(FORM_DATA, to_js(ctx, &form)?).catch(ctx)?;
    }
    if script.current_user {
        let user = input
            .current_user
            .map(|u| Value::String(u.to_string()))
            .unwrap_or(Value::Null);
        held.added.push(CURRENT_USER.into());
        g.set(CURRENT_USER, to_js(ctx, &user)?).catch(ctx)?;
    }

    // Statements are evaluated by a direct `eval` inside a function (key 0): their `var`s are
    // the function's, not globals, and their value is the last expression's.
    let (key, wrapped) = match script.shape {
        Shape::Body => (script.key, format!("{WRAP_OPEN}{}\n}})", script.text)),
        Shape::Expression => (
            script.key,
            format!("{EXPR_OPEN}{}{EXPR_CLOSE}", script.text),
        ),
        Shape::Completion => (0, "(function (src) { return eval(src); })".to_string()),
    };
    let f: Function = match held.compiled.get(&key) {
        Some(f) => f.clone().restore(ctx).catch(ctx)?,
        None => {
            let f: Function = eval(ctx, &wrapped)?;
            if held.compiled.len() >= CACHE_SIZE {
                held.compiled.clear();
            }
            held.compiled.insert(key, Persistent::save(ctx, f.clone()));
            f
        }
    };
    let result: JsValue = match script.shape {
        Shape::Completion => f.call((script.text.as_str(),)).catch(ctx)?,
        _ => f.call(()).catch(ctx)?,
    };
    // Promise jobs (`.then` callbacks, `async` functions) run now, within the run's time.
    while ctx.execute_pending_job() {
        if past_deadline() || budget_spent() {
            return Err(CaughtError::Error(rquickjs::Error::Unknown));
        }
    }
    let value = to_json(ctx, result)?;

    let mut writes: Writes = Vec::new();
    fn put(writes: &mut Writes, name: &str, value: Value) {
        match writes.iter_mut().find(|(n, _)| n == name) {
            Some(w) => w.1 = value,
            None => writes.push((name.to_string(), value)),
        }
    }
    for (name, before) in watched {
        if before.is_none() && !g.contains_key(name).catch(ctx)? {
            continue;
        }
        let after = to_json(ctx, g.get(name).catch(ctx)?)?;
        if before.as_ref() != Some(&after) {
            put(&mut writes, name, after);
        }
    }
    if let Some(before) = context_before {
        if let Value::Object(after) = to_json(ctx, g.get(CONTEXT).catch(ctx)?)? {
            for (k, v) in after {
                if before.get(&k) != Some(&v) {
                    put(&mut writes, &k, v);
                }
            }
        }
    }
    if let Some(state) = exec {
        for (name, v) in std::mem::take(&mut state.borrow_mut().writes) {
            put(&mut writes, &name, v);
        }
    }
    Ok((value, writes))
}

fn eval<'js, T: rquickjs::FromJs<'js>>(ctx: &Ctx<'js>, src: &str) -> Result<T, CaughtError<'js>> {
    let mut options = rquickjs::context::EvalOptions::default();
    options.filename = Some(FILE.into());
    // Sloppy, as Camunda's JavaScript: assigning an undeclared name creates a variable.
    options.strict = false;
    ctx.eval_with_options(src, options).catch(ctx)
}

/// Prepares a thread's context once: the engine's clock behind `Date` and `now()` (set before
/// each run), a silent `console`, `doQuery` and `doCmd`; then freezes every built-in reachable
/// from the global object (so no run can change what the next one sees) and fixes the global
/// names. `reset()` removes what a run added to the global object; false when it cannot.
const PRELUDE: &str = r#"(function (g, query, command) {
  var clock = { ms: 0, text: '' };
  var RealDate = g.Date;
  var ClockDate = function Date() {
    if (!new.target) { return new RealDate(clock.ms).toString(); }
    if (arguments.length === 0) { return new RealDate(clock.ms); }
    return new RealDate(...arguments);
  };
  ClockDate.prototype = RealDate.prototype;
  Object.defineProperty(RealDate.prototype, 'constructor', { value: ClockDate, writable: true, configurable: true });
  ClockDate.now = function now() { return clock.ms; };
  ClockDate.parse = RealDate.parse;
  ClockDate.UTC = RealDate.UTC;
  g.Date = ClockDate;
  g.now = function now() { return clock.text; };
  var quiet = function () {};
  g.console = { log: quiet, info: quiet, warn: quiet, error: quiet, debug: quiet, trace: quiet };
  function answer(text) {
    var a = JSON.parse(text);
    if ('error' in a) { throw new Error(a.error); }
    return a.ok;
  }
  g.doQuery = function doQuery(name, data) { return answer(query(String(name), data === undefined ? '{}' : JSON.stringify(data))); };
  g.doCmd = function doCmd(name, data) { return answer(command(String(name), data === undefined ? '{}' : JSON.stringify(data))); };

  var seen = new Set([g]);
  function freeze(o) {
    if ((typeof o !== 'object' && typeof o !== 'function') || o === null || seen.has(o)) { return; }
    seen.add(o);
    Object.freeze(o);
    freeze(Object.getPrototypeOf(o));
    Reflect.ownKeys(o).forEach(function (k) {
      var d = Object.getOwnPropertyDescriptor(o, k);
      if ('value' in d) { freeze(d.value); } else { freeze(d.get); freeze(d.set); }
    });
  }
  var hidden = [
    function* () {}, async function () {}, async function* () {}, () => {},
    [][Symbol.iterator](), new Map()[Symbol.iterator](), new Set()[Symbol.iterator](),
    ''[Symbol.iterator](), /x/[Symbol.matchAll](''), Promise.resolve(), new Error('x')
  ];
  var baseline = Reflect.ownKeys(g);
  baseline.forEach(function (k) {
    freeze(g[k]);
    var d = Object.getOwnPropertyDescriptor(g, k);
    if ('value' in d) { Object.defineProperty(g, k, { writable: false, configurable: false }); }
  });
  hidden.forEach(function (h) { freeze(Object.getPrototypeOf(h)); });
  var fixed = new Set(baseline);
  return {
    setNow: function (ms, text) { clock.ms = ms; clock.text = text; },
    reset: function () {
      var left = true;
      Reflect.ownKeys(g).forEach(function (k) {
        if (!fixed.has(k) && !delete g[k]) { left = false; }
      });
      return left;
    },
    baseline: baseline.filter(function (k) { return typeof k === 'string'; })
  };
})"#;

/// Calls the bus (or the queue) with `data` (JSON text); answers `{"ok": value}` or
/// `{"error": message}`, which the prelude turns into the value or a thrown `Error` (a
/// ServerScript reports that as a rejection, as rhai does).
fn bridge(data: &str, call: impl FnOnce(Value) -> Result<Value, String>) -> String {
    let data: Value = serde_json::from_str(data).unwrap_or(Value::Null);
    let data = if data.is_null() {
        Value::Object(Map::new())
    } else {
        data
    };
    match call(data) {
        Ok(v) => serde_json::json!({ "ok": v }).to_string(),
        Err(m) => serde_json::json!({ "error": m }).to_string(),
    }
}

/// `execution`: `getVariable`, `setVariable`, `hasVariable`, `getVariables`.
fn execution_object<'js>(
    ctx: &Ctx<'js>,
    state: &Rc<RefCell<ExecState>>,
) -> rquickjs::Result<Object<'js>> {
    let o = Object::new(ctx.clone())?;
    let s = state.clone();
    o.set(
        "getVariable",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, name: String| {
            let s = s.borrow();
            let v = s
                .writes
                .iter()
                .rev()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v)
                .or_else(|| s.visible.get(&name));
            match v {
                Some(v) => ctx.json_parse(v.to_string()),
                None => Ok(JsValue::new_null(ctx)),
            }
        })?,
    )?;
    let s = state.clone();
    o.set(
        "hasVariable",
        Function::new(ctx.clone(), move |name: String| {
            let s = s.borrow();
            s.writes.iter().any(|(n, _)| *n == name) || s.visible.contains_key(&name)
        })?,
    )?;
    let s = state.clone();
    o.set(
        "getVariables",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>| {
            let s = s.borrow();
            let mut all = s.visible.clone();
            for (n, v) in &s.writes {
                all.insert(n.clone(), v.clone());
            }
            ctx.json_parse(Value::Object(all).to_string())
        })?,
    )?;
    let s = state.clone();
    o.set(
        "setVariable",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, name: String, value: Opt<JsValue<'js>>| {
                let value = match value.0 {
                    Some(v) => json_of(&ctx, v)?,
                    None => Value::Null,
                };
                s.borrow_mut().writes.push((name, value));
                Ok::<_, rquickjs::Error>(())
            },
        )?,
    )?;
    Ok(o)
}

/// JSON -> JavaScript.
fn to_js<'js>(ctx: &Ctx<'js>, v: &Value) -> Result<JsValue<'js>, CaughtError<'js>> {
    ctx.json_parse(v.to_string()).catch(ctx)
}

/// JavaScript -> JSON, as `JSON.stringify` sees it (a `Date` becomes its ISO 8601 text,
/// `undefined` and functions become null or are left out).
fn json_of<'js>(ctx: &Ctx<'js>, v: JsValue<'js>) -> rquickjs::Result<Value> {
    let Some(text) = ctx.json_stringify(v)? else {
        return Ok(Value::Null);
    };
    let text = text.to_string()?;
    serde_json::from_str(&text).map_err(|e| {
        // A plain value is thrown: an Error's message cannot be set once Error.prototype is
        // frozen.
        let message = format!("script stopped: a value it produced cannot be kept ({e})");
        match rquickjs::String::from_str(ctx.clone(), &message) {
            Ok(m) => ctx.throw(m.into_value()),
            Err(e) => e,
        }
    })
}

fn to_json<'js>(ctx: &Ctx<'js>, v: JsValue<'js>) -> Result<Value, CaughtError<'js>> {
    json_of(ctx, v).catch(ctx)
}

/// Maps what a run threw to the host's kinds; the position is the script's own line and column.
/// `limits` is the run's (operation budget, seconds, memory in bytes), for the message of the
/// one it reached.
fn run_error(caught: CaughtError, shape: Shape, limits: (u64, f64, usize)) -> ScriptError {
    let (operations, seconds, memory) = limits;
    let spent = budget_spent();
    let timed_out = past_deadline();
    let mut e = caught_error(caught, shape, memory);
    if (spent || timed_out) && e.kind != ScriptErrorKind::Thrown {
        e.kind = ScriptErrorKind::Limit;
        e.message = if spent {
            format!("script stopped: it ran more than {operations} operations (an endless loop?)")
        } else {
            format!("script stopped: it ran longer than {seconds} seconds")
        };
    }
    e
}

/// `memory`: the run's memory limit in bytes, for the message when it was reached.
fn caught_error(caught: CaughtError, shape: Shape, memory: usize) -> ScriptError {
    use ScriptErrorKind::*;
    match caught {
        CaughtError::Error(e) => limit_or_runtime(e.to_string()),
        CaughtError::Exception(ex) => {
            let name: String = ex.get("name").unwrap_or_default();
            let message = ex.message().unwrap_or_default();
            let (line, column) = ex
                .stack()
                .and_then(|s| position(&s, shape))
                .or_else(|| line_property(&ex, shape))
                .unzip();
            let (kind, message) = match (name.as_str(), message.as_str()) {
                ("InternalError", "interrupted") => {
                    (Limit, "script stopped: it ran out of time".to_string())
                }
                ("RangeError", m) if m.contains("call stack") => (
                    Limit,
                    "script stopped: function calls nested too deeply (endless recursion?)"
                        .to_string(),
                ),
                ("InternalError", m) if m.contains("stack overflow") => (
                    Limit,
                    "script stopped: function calls nested too deeply (endless recursion?)"
                        .to_string(),
                ),
                (_, m) if m.contains("out of memory") => (
                    Limit,
                    format!(
                        "script stopped: it used more than {} MiB of memory",
                        memory >> 20
                    ),
                ),
                (_, m) if m.starts_with("script stopped:") => (Limit, m.to_string()),
                ("ReferenceError", m) if m.starts_with("could not load module") => (
                    Runtime,
                    format!("import is not available: {} ({m})", NO_IO_WHY),
                ),
                ("ReferenceError", m)
                    if m.strip_suffix(" is not defined")
                        .is_some_and(|n| NO_IO.contains(&n)) =>
                {
                    (Runtime, format!("ReferenceError: {m}: {NO_IO_WHY}"))
                }
                ("Error", m) => (Thrown, m.to_string()),
                ("", m) => (Thrown, m.to_string()),
                (n, m) => (Runtime, format!("{n}: {m}")),
            };
            ScriptError {
                kind,
                message,
                line,
                column,
            }
        }
        CaughtError::Value(v) => {
            let message = if let Some(s) = v.as_string().and_then(|s| s.to_string().ok()) {
                s
            } else if let Some(m) = v
                .as_object()
                .and_then(|o| o.get::<_, Option<String>>("message").ok().flatten())
            {
                m
            } else if v.is_null() || v.is_undefined() {
                "script threw without a message".to_string()
            } else {
                v.ctx()
                    .json_stringify(v.clone())
                    .ok()
                    .flatten()
                    .and_then(|s| s.to_string().ok())
                    .unwrap_or_else(|| "script threw a value".to_string())
            };
            let kind = if message.starts_with("script stopped:") {
                Limit
            } else {
                Thrown
            };
            ScriptError {
                kind,
                message,
                line: None,
                column: None,
            }
        }
    }
}

/// A SyntaxError's own `lineNumber`/`columnNumber`, when QuickJS gives them.
fn line_property(ex: &Exception, shape: Shape) -> Option<(u32, u32)> {
    let line: u32 = ex.get::<_, Option<u32>>("lineNumber").ok().flatten()?;
    let column: u32 = ex
        .get::<_, Option<u32>>("columnNumber")
        .ok()
        .flatten()
        .unwrap_or(1);
    Some(adjust(line, column, shape))
}

/// The innermost frame of `stack` in the script's own code (`script:3:7`, or `<input>:3:7`
/// inside the evaluated text), as the body's line and column.
fn position(stack: &str, shape: Shape) -> Option<(u32, u32)> {
    for frame in stack.lines() {
        for file in [FILE, "<input>"] {
            let Some(at) = frame.find(&format!("{file}:")) else {
                continue;
            };
            let rest = &frame[at + file.len() + 1..];
            let mut parts = rest.split(|c: char| !c.is_ascii_digit());
            let line: u32 = parts.next()?.parse().ok()?;
            let column: u32 = parts.next().and_then(|c| c.parse().ok()).unwrap_or(1);
            // A frame of the Completion runner (`script:1`) is not the script's own text.
            if file == FILE && shape == Shape::Completion {
                continue;
            }
            return Some(adjust(line, column, shape));
        }
    }
    None
}

/// Positions in a wrapped body: the wrapper sits before the body's first line.
fn adjust(line: u32, column: u32, shape: Shape) -> (u32, u32) {
    let open = match shape {
        Shape::Body => WRAP_OPEN,
        Shape::Expression => EXPR_OPEN,
        Shape::Completion => "",
    };
    if line == 1 {
        (1, column.saturating_sub(open.chars().count() as u32).max(1))
    } else {
        (line, column)
    }
}
