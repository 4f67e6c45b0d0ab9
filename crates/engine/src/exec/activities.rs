//! Activities and tasks, and how a token leaves a node along its sequence flows.
//!
//! Rules owned here:
//! - **Tasks that do not wait**: task, manual, service and business-rule tasks complete at
//!   once. A script task runs its script (its writes and, with `resultVariable`, its value go to
//!   the variables; a failure is an incident naming line and column). A send task throws a
//!   message (`MessageThrown`: the task's message name or id, its evaluated correlation key,
//!   the visible variables) and completes.
//! - **Tasks that wait**: a user task parks its token (`TaskWaiting`) and arms its boundary
//!   events. A receive task evaluates its correlation key (a failure is an incident), registers
//!   a callback (`CallbackRegistered`; plus `TaskWaiting` in form mode), schedules its
//!   `TimeoutMinutes` expiry if it has one (saturating at the largest timestamp), and arms its
//!   boundary events.
//! - **Leaving an activity**: its subscriptions are dropped, compensation remembers it if it
//!   could be undone later, a standard loop may run it again (see `multi.rs`), else it leaves
//!   along its flows.
//! - **Entering** a node records `ElementEntered`; **leaving** records `ElementCompleted`.
//! - **Outgoing flows**: none: the token ends. One flow without a condition: it moves there.
//!   Otherwise every flow without a condition or with a true one is taken, in document order,
//!   else the default flow; none at all is an incident ("no outgoing flow ... has a true
//!   condition"), a failing condition is an incident naming the flow. Several taken flows fork
//!   the token: the first flow keeps it, each other flow gets a new token, and the first flow
//!   runs first (depth-first, as Camunda does). A token remembers the flow it arrived through.
//! - The inner instance of a multi-instance activity does not take the flows: it ends there
//!   and the body decides.

use super::{Done, Engine, Instance, Run, ScopeId, ScopeKind, SubKind, TokenId, TokenState};
use crate::api::Effect;
use crate::model::{FlowId, FlowNode, NodeId, TaskKind};
use crate::script::{QueuedCommand, ScriptError};
use jiff::Timestamp;
use serde_json::{Map, Value};

impl Engine {
    pub(super) fn task(&self, run: &mut Run, t: TokenId, kind: &TaskKind) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        let node = self.node(node_id);
        match kind {
            TaskKind::Task | TaskKind::Manual | TaskKind::Service | TaskKind::BusinessRule => {
                self.leave_activity(run, t)
            }
            TaskKind::Send => {
                let name = node.spec.message.as_ref().unwrap_or(&node.id).clone();
                let key = match &node.correlation_key {
                    Some(src) => match self.eval_value(run.inst, scope, src.id, run.now) {
                        Ok(v) => value_to_key(&v),
                        Err(e) => {
                            return self.incident(
                                run,
                                t,
                                format!("correlation key failed: {}", e.message),
                            )
                        }
                    },
                    None => None,
                };
                let variables = run.inst.visible_vars(scope);
                run.effects.push(Effect::MessageThrown {
                    element_id: node.id.clone(),
                    name,
                    correlation_key: key,
                    variables,
                });
                self.leave_activity(run, t)
            }
            TaskKind::Script { script, .. } => {
                if let Some(src) = script {
                    match self.run_script(run.inst, scope, src.id, run.now, None, None) {
                        Ok(out) => {
                            for (k, v) in out.writes {
                                self.set_var(run, scope, k, v);
                            }
                            if let Some(rv) = &node.spec.result_variable {
                                self.set_var(run, scope, rv.clone(), out.value);
                            }
                            queue_commands(run, &node.id, out.commands);
                        }
                        Err(e) => return self.incident(run, t, script_failure(&e)),
                    }
                }
                self.leave_activity(run, t)
            }
            TaskKind::User => {
                run.inst.tok_mut(t).state = TokenState::UserTask;
                run.effects.push(Effect::TaskWaiting {
                    task_id: node.id.clone(),
                    task_type: "userTask",
                    form_key: node.spec.form_key.clone(),
                });
                self.arm_boundaries(run, t);
            }
            TaskKind::Receive => {
                let key = match &node.correlation_key {
                    Some(src) => match self.eval_value(run.inst, scope, src.id, run.now) {
                        Ok(v) => value_to_key(&v),
                        Err(e) => {
                            return self.incident(
                                run,
                                t,
                                format!("correlation key failed: {}", e.message),
                            )
                        }
                    },
                    None => None,
                };
                let form = node.spec.form_key.clone();
                // A due time past the largest timestamp saturates there (it never comes), as
                // timers do; validation keeps TimeoutMinutes far below that.
                let due = node
                    .spec
                    .timeout
                    .map(|d| run.now.checked_add(d).unwrap_or(Timestamp::MAX));
                run.inst.tok_mut(t).state = TokenState::ReceiveTask {
                    key: key.clone(),
                    form: form.is_some(),
                    expired: false,
                };
                run.effects.push(Effect::CallbackRegistered {
                    task_id: node.id.clone(),
                    correlation_key: key,
                    message: node.spec.message.clone(),
                    form: form.clone(),
                    timeout_minutes: node.spec.timeout_minutes,
                    webhook_url: node.spec.webhook_url.clone(),
                });
                if form.is_some() {
                    run.effects.push(Effect::TaskWaiting {
                        task_id: node.id.clone(),
                        task_type: "receiveTask",
                        form_key: form,
                    });
                }
                if let Some(due) = due {
                    run.inst
                        .add_sub(Some(t), scope, node_id, SubKind::CallbackTimeout { due });
                    run.effects.push(Effect::TimerScheduled {
                        element_id: node.id.clone(),
                        due,
                    });
                }
                self.arm_boundaries(run, t);
            }
        }
    }

    /// An activity finished its work: standard loop, multi-instance inner completion, or outgoing flows.
    pub(super) fn leave_activity(&self, run: &mut Run, t: TokenId) {
        self.leave_activity_with(run, t, Vec::new(), Map::new());
    }

    /// `leave_activity` for a sub-process: `inner` is what completed compensable inside it and
    /// `local` its own variables, kept if the sub-process can be compensated later.
    pub(super) fn leave_activity_with(
        &self,
        run: &mut Run,
        t: TokenId,
        inner: Vec<Done>,
        local: Map<String, Value>,
    ) {
        self.disarm(run, t);
        // Its output parameters are set around it, and its inputs go (`io.rs`).
        let mut local = local;
        match self.close_io(run, t) {
            Some(io_vars) => local.extend(io_vars),
            None => return,
        }
        // A task's assignee and failed attempts are its own: the token forgets them when it
        // leaves (or loops).
        let tok = run.inst.tok_mut(t);
        tok.assignee = None;
        tok.failures = 0;
        self.remember_completion(run, t, inner, local);
        if self.repeat_standard_loop(run, t) {
            return;
        }
        self.take_outgoing(run, t);
    }

    /// Records that a token reached `node`: an `ElementEntered` effect. The walked path is not
    /// kept in the state (it would grow with every loop); hosts rebuild it from these effects.
    pub(super) fn enter(&self, run: &mut Run, node: NodeId) {
        run.effects.push(Effect::ElementEntered {
            element_id: self.node(node).id.clone(),
        });
    }

    /// Moves a token along the node's outgoing flows (conditions on activity flows honoured).
    pub(super) fn take_outgoing(&self, run: &mut Run, t: TokenId) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        run.effects.push(Effect::ElementCompleted {
            element_id: self.node(node_id).id.clone(),
        });
        // The inner instance of a multi-instance activity ends here; the body decides what's next.
        if let ScopeKind::MiInner { node } = run.inst.scope(scope).kind {
            if node == node_id {
                self.consume(run, t);
                return;
            }
        }
        let node = self.node(node_id);
        match node.outgoing.len() {
            0 => self.consume(run, t),
            1 if self.deployment.flow(node.outgoing[0]).condition.is_none() => {
                self.move_token(run, t, node.outgoing[0])
            }
            _ => match self.select_flows(run.inst, scope, node, false, run.now) {
                Ok(chosen) if chosen.is_empty() => self.incident(
                    run,
                    t,
                    format!("no outgoing flow of '{}' has a true condition", node.id),
                ),
                Ok(chosen) => self.fork(run, t, &chosen),
                Err(msg) => self.incident(run, t, msg),
            },
        }
    }

    /// The outgoing flows a token takes: those without a condition or with a true one, in
    /// document order (only the first when `first_only`, as an exclusive gateway does), else the
    /// default flow. Empty when nothing can be taken; `Err` when a condition fails to evaluate.
    pub(super) fn select_flows(
        &self,
        inst: &Instance,
        scope: ScopeId,
        node: &FlowNode,
        first_only: bool,
        now: Timestamp,
    ) -> Result<Vec<FlowId>, String> {
        let mut chosen = Vec::with_capacity(node.outgoing.len());
        for &f in &node.outgoing {
            if Some(f) == node.default_flow {
                continue;
            }
            let take = match &self.deployment.flow(f).condition {
                None => true,
                Some(c) => self.eval_condition(inst, scope, c.id, now).map_err(|e| {
                    format!(
                        "condition of flow '{}' failed: {}",
                        self.deployment.flow(f).id,
                        e.message
                    )
                })?,
            };
            if take {
                chosen.push(f);
                if first_only {
                    break;
                }
            }
        }
        if chosen.is_empty() {
            chosen.extend(node.default_flow);
        }
        Ok(chosen)
    }

    pub(super) fn fork(&self, run: &mut Run, t: TokenId, flows: &[FlowId]) {
        let scope = run.inst.tok(t).scope;
        // Push in reverse so the first flow runs first (depth-first, like Camunda).
        for (i, &f) in flows.iter().enumerate().rev() {
            if i == 0 {
                self.move_token(run, t, f);
            } else {
                let nt = run.new_token(scope, self.deployment.flow(f).target);
                run.inst.tok_mut(nt).via = Some(f);
                run.stack.push(nt);
            }
        }
    }

    pub(super) fn move_token(&self, run: &mut Run, t: TokenId, f: FlowId) {
        let target = self.deployment.flow(f).target;
        let tok = run.inst.tok_mut(t);
        tok.node = target;
        tok.state = TokenState::Ready;
        tok.loops = 0;
        tok.failures = 0;
        tok.via = Some(f);
        run.stack.push(t);
    }
}

pub(super) fn value_to_key(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The commands a script that succeeded queued with `doCmd`, as effects of the step in call
/// order; the host runs them after the step commits.
pub(super) fn queue_commands(run: &mut Run, element_id: &str, commands: Vec<QueuedCommand>) {
    for c in commands {
        run.effects.push(Effect::CommandQueued {
            element_id: element_id.to_string(),
            name: c.name,
            data: c.data,
        });
    }
}

pub(super) fn script_failure(e: &ScriptError) -> String {
    match (e.line, e.column) {
        (Some(l), Some(c)) => format!("script failed at line {l}, column {c}: {}", e.message),
        _ => format!("script failed: {}", e.message),
    }
}
