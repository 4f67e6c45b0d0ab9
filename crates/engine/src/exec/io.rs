//! Input and output parameters of an activity (`camunda:inputOutput`).
//!
//! Rules owned here:
//! - **Its own scope**: an activity with parameters runs in a scope of its own
//!   (`ScopeKind::Local`), between its token and the scope around it. When it starts, its inputs
//!   are evaluated in the order written, each seeing the variables around the activity and the
//!   inputs before it, and become that scope's variables: the activity's local variables.
//! - **Writes**: what the activity writes goes where it would without parameters (a variable
//!   that exists is updated where it lives, else it is created at the process), except that a
//!   variable named like an input stays local.
//! - **Completing**: the outputs are evaluated in the activity's scope, in the order written,
//!   and set around it as any write is; then the scope goes, and the inputs with it (a
//!   compensation handler still sees them, as the activity's local variables).
//! - **Values**: a text is a string; one `${...}` is that expression's value; words with
//!   expressions in them are one string; a list and a map hold values of their own; an inline
//!   script gives the value it ends with; an empty parameter is null.
//! - **Failures**: an input or output that fails to evaluate is an incident at the activity that
//!   names the parameter. A failing input leaves nothing behind, so a retry evaluates every
//!   input again; after a failing output the activity runs again on retry.
//! - Boundary events leave from the scope around the activity, and a cancelled activity's scope
//!   goes with it (see `boundaries.rs`, `scopes.rs`).

use super::{Engine, Run, ScopeId, ScopeKind, TokenId};
use crate::model::{IoParam, IoValue, TemplatePart};
use serde_json::{Map, Value};

impl Engine {
    /// Opens the parameters' scope of the activity at token `t`, if it has parameters and it is
    /// not open yet (a retry). False when an input failed: the incident is raised.
    pub(super) fn open_io(&self, run: &mut Run, t: TokenId) -> bool {
        let tok = run.inst.tok(t);
        let (scope, node) = (tok.scope, tok.node);
        let Some(io) = &self.node(node).io else {
            return true;
        };
        if run.inst.params_scope(t).is_some() {
            return true;
        }
        let (process, container) = {
            let s = run.inst.scope(scope);
            (s.process, s.container)
        };
        let local = run.inst.new_scope(
            Some(scope),
            None,
            process,
            container,
            ScopeKind::Local { node },
            Map::new(),
        );
        run.inst.rehome_token(t, Some(local));
        for p in &io.inputs {
            match self.io_eval(run, local, &p.value) {
                Ok(v) => {
                    run.inst.scope_mut(local).vars.insert(p.name.clone(), v);
                }
                Err(e) => {
                    run.inst.rehome_token(t, None);
                    run.inst.drop_scope(local);
                    self.incident(run, t, failed("input", p, &e));
                    return false;
                }
            }
        }
        true
    }

    /// Closes the parameters' scope of the activity at token `t` as it completes: evaluates its
    /// outputs, moves the token out, sets them around it. Answers the activity's local
    /// variables (for compensation), or `None` when an output failed (the incident is raised).
    pub(super) fn close_io(&self, run: &mut Run, t: TokenId) -> Option<Map<String, Value>> {
        let Some(local) = run.inst.params_scope(t) else {
            return Some(Map::new());
        };
        let node = run.inst.tok(t).node;
        let outputs = self
            .node(node)
            .io
            .as_ref()
            .map_or(&[][..], |io| &io.outputs);
        let mut values = Vec::with_capacity(outputs.len());
        for p in outputs {
            match self.io_eval(run, local, &p.value) {
                Ok(v) => values.push((p.name.clone(), v)),
                Err(e) => {
                    self.incident(run, t, failed("output", p, &e));
                    return None;
                }
            }
        }
        let around = run.inst.scope(local).parent.unwrap_or(0);
        let vars = std::mem::take(&mut run.inst.scope_mut(local).vars);
        run.inst.rehome_token(t, None);
        run.inst.remove_subs_of_scope(local);
        run.inst.drop_scope(local);
        for (name, v) in values {
            self.set_var(run, around, name, v);
        }
        Some(vars)
    }

    /// The value of a parameter, evaluated in `scope`.
    /// (The parser bounds how deep lists and maps nest.)
    fn io_eval(&self, run: &Run, scope: ScopeId, v: &IoValue) -> Result<Value, String> {
        let eval = |id| {
            self.eval_value(run.inst, scope, id, run.now)
                .map_err(|e| e.message)
        };
        Ok(match v {
            IoValue::Null => Value::Null,
            IoValue::Text(t) => Value::String(t.clone()),
            IoValue::Expr(s) => eval(s.id)?,
            IoValue::Template(parts) => {
                let mut out = String::new();
                for p in parts {
                    match p {
                        TemplatePart::Text(t) => out.push_str(t),
                        TemplatePart::Expr(s) => match eval(s.id)? {
                            Value::String(s) => out.push_str(&s),
                            other => out.push_str(&other.to_string()),
                        },
                    }
                }
                Value::String(out)
            }
            IoValue::List(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.io_eval(run, scope, i))
                    .collect::<Result<_, _>>()?,
            ),
            IoValue::Map(entries) => {
                let mut m = Map::new();
                for (k, i) in entries {
                    let key = match self.io_eval(run, scope, k)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    m.insert(key, self.io_eval(run, scope, i)?);
                }
                Value::Object(m)
            }
            IoValue::Script(s) => {
                self.run_script(run.inst, scope, s.id, run.now, None, None)
                    .map_err(|e| e.message)?
                    .value
            }
            IoValue::Resource(r) => return Err(format!("script resource '{r}' cannot be read")),
        })
    }
}

/// The incident text for a parameter that failed.
fn failed(which: &str, p: &IoParam, e: &str) -> String {
    format!("{which} parameter '{}' failed: {e}", p.name)
}
