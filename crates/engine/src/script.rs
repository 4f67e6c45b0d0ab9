//! PLACEHOLDER: the rhai script host. Interface fixed here; implementation by the scripting work.
use crate::model::{ScriptId, Source};
use serde_json::{Map, Value};

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

/// The result of running a script: its value, and the variables it wrote.
#[derive(Debug, Clone, Default)]
pub struct ScriptOutcome {
    pub value: Value,
    /// Top-level `let` bindings, assignments to visible variables, `context.x = ..` and
    /// `execution.setVariable(..)`, in the order first written.
    pub writes: Vec<(String, Value)>,
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

/// Compiles every script of a deployment once and runs them under limits.
pub struct ScriptHost {}

impl ScriptHost {
    pub fn new() -> Self {
        ScriptHost {}
    }
    /// Compiles `sources` (index = ScriptId). Returns the sources that failed to compile.
    pub fn compile_all(&mut self, sources: &[Source]) -> Vec<(ScriptId, ScriptError)> {
        let _ = sources;
        todo!()
    }
    /// Runs a script (or evaluates an expression) and returns its value and writes.
    pub fn run(&self, id: ScriptId, input: &ScriptInput) -> Result<ScriptOutcome, ScriptError> {
        let _ = (id, input);
        todo!()
    }
    /// Evaluates a condition; anything but a boolean is an error naming the type it got.
    pub fn condition(&self, id: ScriptId, input: &ScriptInput) -> Result<bool, ScriptError> {
        let _ = (id, input);
        todo!()
    }
}

impl Default for ScriptHost {
    fn default() -> Self {
        Self::new()
    }
}
