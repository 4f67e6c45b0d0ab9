//! The bounds of a JavaScript run besides memory and stack: the operation budget and the run
//! time (QuickJS's interrupt handler), promise rejections nothing handled, and the plain answer
//! a script gets when it reaches for files, network or modules.

use super::{caught_error, Shape};
use crate::script::{past_deadline, ScriptError};
use rquickjs::{CaughtError, Ctx, Value as JsValue};
use std::cell::{Cell, RefCell};

/// How many operations QuickJS performs between two calls of the interrupt handler: it counts
/// down one for every function call, every backward jump (a loop's turn) and every turn of the
/// array methods' own loops (`map`, `forEach`, `reduce`, `find`, ...), and calls the handler at
/// zero (`JS_INTERRUPT_COUNTER_INIT` in QuickJS). The operation budget is spent in steps of
/// this size. Work inside one built-in call that does not loop through JavaScript (a long
/// `'x'.repeat(n)`, a big `JSON.stringify`) is bounded by the memory limit and the run time.
pub const JS_OPERATIONS_PER_CHECK: u64 = 10_000;

thread_local! {
    /// The operation budget of the JavaScript run under way on this thread: (spent, limit).
    /// None outside a run (compiling never stops on it).
    static BUDGET: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}

/// Sets the run's operation budget; restores the previous one (an outer run's) when dropped.
pub(super) struct BudgetGuard(Option<(u64, u64)>);

impl BudgetGuard {
    pub(super) fn set(limit: u64) -> Self {
        BudgetGuard(BUDGET.with(|b| b.replace(Some((0, limit)))))
    }

    /// No budget until dropped: what the host does (preparing a thread's context inside the run
    /// that first needs it) is not the script's to pay for.
    pub(super) fn pause() -> Self {
        BudgetGuard(BUDGET.with(|b| b.replace(None)))
    }
}

impl Drop for BudgetGuard {
    fn drop(&mut self) {
        BUDGET.with(|b| b.set(self.0));
    }
}

/// The interrupt handler of every JavaScript runtime: stops the run (QuickJS throws an
/// `InternalError: interrupted` that `try`/`catch` cannot catch) once it spent its operation
/// budget or passed its time. The budget is spent [`JS_OPERATIONS_PER_CHECK`] at a time, so a
/// run stops at most that many operations past its limit (and may stop up to that many before
/// it: QuickJS's countdown carries over from the thread's previous run).
pub(super) fn interrupt() -> bool {
    budget_spent_with(JS_OPERATIONS_PER_CHECK) || past_deadline()
}

/// Charges `ops` to the run under way; true when it has now spent more than its budget.
fn budget_spent_with(ops: u64) -> bool {
    BUDGET.with(|b| match b.get() {
        Some((spent, limit)) => {
            let spent = spent.saturating_add(ops);
            b.set(Some((spent, limit)));
            spent > limit
        }
        None => false,
    })
}

/// Has the run under way spent more than its operation budget?
pub(super) fn budget_spent() -> bool {
    budget_spent_with(0)
}

thread_local! {
    /// Promises of the run under way that were rejected with no handler (by address), with the
    /// error each one means, the script's shape for positions and the run's memory limit for
    /// the message that names it. None outside a run.
    static UNHANDLED: RefCell<Option<Rejections>> = const { RefCell::new(None) };
}

struct Rejections {
    shape: Shape,
    memory: usize,
    open: Vec<(usize, ScriptError)>,
}

/// Collects the run's unhandled rejections; restores an outer run's collection when dropped.
pub(super) struct RejectionGuard(Option<Rejections>);

impl RejectionGuard {
    pub(super) fn set(shape: Shape, memory: usize) -> Self {
        RejectionGuard(UNHANDLED.with(|u| {
            u.replace(Some(Rejections {
                shape,
                memory,
                open: Vec::new(),
            }))
        }))
    }

    /// The first rejection nothing handled by the end of the run, if any.
    pub(super) fn first(&self) -> Option<ScriptError> {
        UNHANDLED.with(|u| {
            u.borrow_mut()
                .as_mut()
                .and_then(|r| (!r.open.is_empty()).then(|| r.open.swap_remove(0).1))
        })
    }
}

impl Drop for RejectionGuard {
    fn drop(&mut self) {
        let outer = self.0.take();
        UNHANDLED.with(|u| *u.borrow_mut() = outer);
    }
}

/// QuickJS tells this when a promise is rejected with no handler (`handled` false) and when a
/// handler is attached later (`handled` true). A rejection still unhandled when the run ends is
/// the run's error, as an uncaught exception would be: so `await import('fs')` inside an async
/// function, or a failing `.then` chain, is a script error and not silence.
pub(super) fn track_rejection<'js>(
    _ctx: Ctx<'js>,
    promise: JsValue<'js>,
    reason: JsValue<'js>,
    handled: bool,
) {
    // SAFETY: reads the object pointer of a value QuickJS just handed us (a promise); the
    // address is only compared, never followed.
    let key = unsafe { rquickjs::qjs::JS_VALUE_GET_PTR(promise.as_raw()) } as usize;
    UNHANDLED.with(|u| {
        let mut u = u.borrow_mut();
        let Some(r) = u.as_mut() else { return };
        if handled {
            r.open.retain(|(k, _)| *k != key);
            return;
        }
        let caught = match reason.clone().into_exception() {
            Some(ex) => CaughtError::Exception(ex),
            None => CaughtError::Value(reason),
        };
        let mut e = caught_error(caught, r.shape, r.memory);
        if !e.message.starts_with("script stopped:") {
            e.message = format!(
                "a promise was rejected and nothing handled it: {}",
                e.message
            );
        }
        r.open.push((key, e));
    });
}

/// Names a script may try for files, network, processes, timers or modules, none of which
/// exist here; using one is a ReferenceError that says so.
pub(super) const NO_IO: &[&str] = &[
    "require",
    "module",
    "exports",
    "process",
    "Buffer",
    "fetch",
    "XMLHttpRequest",
    "WebSocket",
    "importScripts",
    "navigator",
    "window",
    "document",
    "std",
    "os",
    "Deno",
    "Bun",
    "setTimeout",
    "setInterval",
    "setImmediate",
    "queueMicrotask",
    "performance",
];

/// What a script that reaches for the outside is told.
pub(super) const NO_IO_WHY: &str = "a script has no file system, network, processes, timers or modules (doQuery and doCmd reach the host's commands)";

/// Does a line of `text` begin with an `import` or `export` statement (which a script, not being
/// a module, cannot have)?
pub(super) fn module_statement(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start();
        ["import", "export"].iter().any(|k| {
            l.strip_prefix(k)
                .and_then(|r| r.chars().next())
                .is_some_and(|c| c.is_whitespace() || c == '{' || c == '*' || c == '"' || c == '\'')
        })
    })
}
