//! One command against an instance: start it, apply one event, run the tokens it released.
//!
//! Rules owned here:
//! - **Start.** `start`/`start_at` pick the process (the one named; else the only executable
//!   one; else the first executable process no call activity calls) and its start event (the
//!   one named; else the first none start event of the process level; else its first start
//!   event). A conditional start event starts only when its condition is true for the given
//!   variables (false or failing: `CommandError::Invalid`, no instance). The root scope holds
//!   the start variables; the event sub-process starts of the process level subscribe first.
//! - **Refusal before change.** `apply` on an ended instance (COMPLETED, CANCELLED) is
//!   `CommandError::Ended`. Every event that names something that does not wait (no such
//!   message, signal, task, key; retry without an incident) is refused before the instance is
//!   touched: on `Err` the instance is exactly as before.
//! - **Events.** A message goes to the first subscription (catch event, boundary, event
//!   sub-process start, event-gateway target) whose name matches and whose key matches (a
//!   missing key on either side matches), else to a receive task waiting for that message; its
//!   variables are written where the subscription lives. A signal reaches *every* subscription
//!   of that name; its variables go to the process level. `TimersDue` fires every timer due at
//!   the clock, the earliest first (ties: the older subscription first), looking again after
//!   each firing. `SetVariables` writes at the process level and re-evaluates conditional
//!   events. `Cancel` cancels every token and scope (closing callbacks as `Cancelled`), clears
//!   incidents and ends CANCELLED. `Retry` writes its variables and runs each failed token again
//!   from its node. `AssignTask` and `CancelTask` act on one waiting task (see `tasks.rs`).
//! - **Run loop.** Tokens run depth-first from a stack until none is `Ready`; then inclusive
//!   joins whose every possible arrival is in fire (one at a time, re-running the stack), then
//!   conditional events whose condition became true (at most 100 rounds). More than
//!   1,000,000 node executions in one command is taken as an endless loop: every runnable token
//!   gets an incident instead.
//! - **Status** after a command: an open incident makes it FAILED; otherwise WAITING, or
//!   COMPLETED when the root scope has no token left (set where the root empties).
//! - **Execute.** A `Ready` token first becomes a multi-instance body if its activity has one
//!   (unless it already is an inner instance), or skips a test-before standard loop whose
//!   condition is false; then its node is entered (an `ElementEntered` effect) and its kind
//!   decides what happens (the other files of this module).

use super::{
    Ctx, Engine, Instance, MessageTarget, Run, Scope, ScopeKind, SubKind, TokenId, TokenState,
};
use crate::api::{CommandError, Effect, Event, Status};
use crate::model::{Looping, NodeId, NodeKind, Trigger};
use serde_json::{Map, Value};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

impl Engine {
    /// Starts an instance of `process_id` (or the only executable process).
    pub fn start(
        &self,
        process_id: Option<&str>,
        variables: Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<(Instance, Vec<Effect>), CommandError> {
        self.start_at(process_id, None, variables, ctx)
    }

    /// Starts an instance at a chosen start event (`start_event`, e.g. the message start event
    /// a message arrived for), or at the default one.
    pub fn start_at(
        &self,
        process_id: Option<&str>,
        start_event: Option<&str>,
        variables: Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<(Instance, Vec<Effect>), CommandError> {
        let _bus = crate::script::BusGuard::lend(ctx.bus.clone());
        let d = &self.deployment;
        let pidx = match process_id {
            Some(id) => d.process_by_id(id).map(|(i, _)| i).ok_or_else(|| {
                CommandError::NoProcess(format!("no process with id '{id}' in the files given"))
            })?,
            None => {
                let exec: Vec<usize> = d
                    .processes
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.is_executable)
                    .map(|(i, _)| i)
                    .collect();
                match exec.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(CommandError::NoProcess(
                            "the files contain no executable process".into(),
                        ))
                    }
                    many => {
                        // Several executable processes (e.g. a caller and its callees): take the
                        // first one that nobody calls.
                        let called: HashSet<&str> = d
                            .nodes
                            .iter()
                            .filter_map(|n| match &n.kind {
                                NodeKind::CallActivity { called_element } => {
                                    Some(called_element.as_str())
                                }
                                _ => None,
                            })
                            .collect();
                        *many
                            .iter()
                            .find(|&&i| !called.contains(d.processes[i].id.as_str()))
                            .unwrap_or(&many[0])
                    }
                }
            }
        };
        let start = match start_event {
            Some(id) => d
                .children_of(pidx as u32, None)
                .iter()
                .copied()
                .find(|&c| {
                    self.node(c).id == id
                        && matches!(self.node(c).kind, NodeKind::StartEvent { .. })
                })
                .ok_or_else(|| {
                    CommandError::NoProcess(format!(
                        "process '{}' has no start event '{id}'",
                        d.processes[pidx].id
                    ))
                })?,
            None => self.pick_start(pidx as u32, None).ok_or_else(|| {
                CommandError::NoProcess(format!(
                    "process '{}' has no start event",
                    d.processes[pidx].id
                ))
            })?,
        };
        let mut inst = Instance {
            status: Status::Running,
            process: pidx as u32,
            scopes: Vec::with_capacity(1),
            tokens: Vec::with_capacity(2),
            subs: Vec::new(),
            next_sub: 0,
            model: self.fingerprint,
            incidents: Vec::new(),
            slots: None,
        };
        inst.scopes.push(Some(Scope {
            parent: None,
            owner: None,
            process: pidx as u32,
            container: None,
            kind: ScopeKind::Root,
            vars: variables,
            live: 0,
            done: Vec::new(),
        }));
        // A conditional start event starts only when its condition holds.
        if let NodeKind::StartEvent {
            trigger: Trigger::Conditional(Some(src)),
            ..
        } = &self.node(start).kind
        {
            let now = ctx.clock.now();
            match self.eval_condition(&inst, 0, src.id, now) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(CommandError::Invalid(format!(
                        "the start condition of '{}' is false for these variables",
                        self.node(start).id
                    )))
                }
                Err(e) => {
                    return Err(CommandError::Invalid(format!(
                        "the start condition of '{}' failed: {}",
                        self.node(start).id,
                        e.message
                    )))
                }
            }
        }
        let mut run = Run::new(&mut inst, ctx);
        self.open_scope_subs(&mut run, 0);
        let t = run.new_token(0, start);
        run.stack.push(t);
        self.run(&mut run);
        let effects = run.finish();
        Ok((inst, effects))
    }

    /// The start event a scope begins with: a none start event, else the first start event.
    pub(super) fn pick_start(&self, process: u32, container: Option<NodeId>) -> Option<NodeId> {
        let children = self.deployment.children_of(process, container);
        let starts = children.iter().copied().filter(|&c| {
            matches!(self.node(c).kind, NodeKind::StartEvent { .. })
                && self.node(c).incoming.is_empty()
        });
        let mut first = None;
        for s in starts {
            if let NodeKind::StartEvent {
                trigger: Trigger::None,
                ..
            } = self.node(s).kind
            {
                return Some(s);
            }
            first.get_or_insert(s);
        }
        first
    }

    /// Applies an event. On `Err` the instance is unchanged. A state written for another model
    /// is refused (`CommandError::StateMismatch`, see [`Engine::check_state`]).
    pub fn apply(
        &self,
        inst: &mut Instance,
        event: Event,
        ctx: &Ctx,
    ) -> Result<Vec<Effect>, CommandError> {
        self.check_state(inst)?;
        let effects = self.apply_event(inst, event, ctx)?;
        // A state written before fingerprints is accepted, and names its model from now on.
        inst.model = self.fingerprint;
        Ok(effects)
    }

    fn apply_event(
        &self,
        inst: &mut Instance,
        event: Event,
        ctx: &Ctx,
    ) -> Result<Vec<Effect>, CommandError> {
        let _bus = crate::script::BusGuard::lend(ctx.bus.clone());
        if inst.status.is_ended() {
            return Err(CommandError::Ended(inst.status.as_str()));
        }
        match event {
            Event::CompleteTask { task_id, data } => {
                self.complete_task(inst, task_id.as_deref(), data, Map::new(), ctx)
            }
            Event::CompleteTaskWithVariables {
                task_id,
                data,
                variables,
            } => self.complete_task(inst, task_id.as_deref(), data, variables, ctx),
            Event::Callback {
                correlation_key,
                data,
            } => self.callback(inst, &correlation_key, data, ctx),
            Event::Message {
                name,
                correlation_key,
                variables,
            } => {
                let now = ctx.clock.now();
                let sub = self
                    .find_message_sub(inst, &name, correlation_key.as_deref())
                    .ok_or_else(|| match &correlation_key {
                        Some(k) => CommandError::NoMatch(format!(
                            "nothing waits for message '{name}' with key '{k}'"
                        )),
                        None => {
                            CommandError::NoMatch(format!("nothing waits for message '{name}'"))
                        }
                    })?;
                let mut run = Run::new(inst, ctx);
                run.now = now;
                match sub {
                    MessageTarget::Sub(i) => {
                        let scope = run.inst.subs[i].scope;
                        self.set_vars(&mut run, scope, variables);
                        self.trigger_sub(&mut run, i);
                    }
                    MessageTarget::Receive(t) => {
                        let scope = run.inst.tok(t).scope;
                        self.set_vars(&mut run, scope, variables.clone());
                        self.finish_receive(&mut run, t, Value::Object(variables));
                    }
                }
                self.run(&mut run);
                Ok(run.finish())
            }
            Event::Signal { name, variables } => {
                let matches: Vec<u32> = inst
                    .live_subs()
                    .filter(|s| matches!(&s.kind, SubKind::Signal { name: n } if *n == name))
                    .map(|s| s.id)
                    .collect();
                if matches.is_empty() {
                    return Err(CommandError::NoMatch(format!(
                        "nothing waits for signal '{name}'"
                    )));
                }
                let mut run = Run::new(inst, ctx);
                if !variables.is_empty() {
                    self.set_vars(&mut run, 0, variables);
                }
                for id in matches {
                    if let Some(i) = run.inst.sub_index(id) {
                        self.trigger_sub(&mut run, i);
                    }
                }
                self.run(&mut run);
                Ok(run.finish())
            }
            Event::TimersDue => {
                let now = ctx.clock.now();
                let mut run = Run::new(inst, ctx);
                // Earliest due first (by id among equals). A firing may cancel others (skipped
                // when their turn comes: gone, or no longer due at that time) and add others
                // (looked at among the newest subscriptions only), so each timer costs a heap
                // operation, not a pass over every subscription.
                let mut due_now = BinaryHeap::new();
                let mut seen = 0;
                loop {
                    seen = run.inst.due_subs_from(seen, now, &mut due_now);
                    let Some(Reverse((due, id))) = due_now.pop() else {
                        break;
                    };
                    let Some(i) = run.inst.sub_index(id) else {
                        continue;
                    };
                    match run.inst.subs[i].kind {
                        SubKind::Timer { due: d, .. }
                        | SubKind::CallbackTimeout { due: d }
                        | SubKind::Retry { due: d }
                            if d == due => {}
                        _ => continue,
                    }
                    self.trigger_sub(&mut run, i);
                    self.run(&mut run);
                }
                // Nothing was due: the instance still waits (not RUNNING, as `Run::new` left it).
                self.update_status(&mut run);
                Ok(run.finish())
            }
            Event::SetVariables { variables } => {
                let mut run = Run::new(inst, ctx);
                self.set_vars(&mut run, 0, variables);
                self.run(&mut run);
                Ok(run.finish())
            }
            Event::Cancel { reason: _ } => {
                let mut run = Run::new(inst, ctx);
                self.cancel_scope(&mut run, 0);
                run.inst.incidents.clear();
                run.inst.status = Status::Cancelled;
                run.effects.push(Effect::Ended {
                    status: Status::Cancelled,
                });
                Ok(run.effects)
            }
            Event::Retry { variables } => {
                // Tasks waiting for their next attempt (a retry cycle) run now, as the
                // incidents' elements do; their count of failed attempts goes on.
                let retrying: Vec<TokenId> = inst
                    .live_tokens()
                    .filter(|(_, t)| t.state == TokenState::Retrying)
                    .map(|(i, _)| i)
                    .collect();
                if inst.incidents.is_empty() && retrying.is_empty() {
                    return Err(CommandError::NotWaiting(
                        "the instance has no open incident to retry".into(),
                    ));
                }
                let mut run = Run::new(inst, ctx);
                self.set_vars(&mut run, 0, variables);
                for &t in &retrying {
                    if let Some(i) = run
                        .inst
                        .find_sub(|s| s.token == Some(t) && matches!(s.kind, SubKind::Retry { .. }))
                    {
                        let id = run.inst.subs[i].id;
                        run.inst.remove_sub(id);
                    }
                    run.inst.tok_mut(t).state = TokenState::Ready;
                }
                let failed: Vec<TokenId> = run.inst.incidents.drain(..).map(|r| r.token).collect();
                run.stack.extend(retrying.into_iter().rev());
                for t in failed.into_iter().rev() {
                    if let Some(tok) = run.inst.tokens.get_mut(t as usize).and_then(|t| t.as_mut())
                    {
                        tok.state = TokenState::Ready;
                        run.stack.push(t);
                    }
                }
                self.run(&mut run);
                Ok(run.finish())
            }
            Event::AssignTask { task_id, assignee } => self.assign_task(inst, &task_id, assignee),
            Event::CancelTask { task_id } => self.cancel_task(inst, &task_id, ctx),
        }
    }

    pub(super) fn run(&self, run: &mut Run) {
        let mut rounds = 0u32;
        loop {
            while let Some(t) = run.stack.pop() {
                if run.inst.tokens.get(t as usize).is_some_and(|x| x.is_some()) {
                    run.work += 1;
                    if run.work > self.limits.max_steps {
                        self.stop_runaway(run, t);
                        break;
                    }
                    self.execute(run, t);
                }
                while let Some((name, vars)) = run.pending_signals.pop() {
                    self.deliver_signal_internally(run, &name, vars);
                }
            }
            if !self.inclusive_reach.is_empty() && self.fire_inclusive_joins(run) {
                continue;
            }
            if self.has_conditionals && rounds < 100 && self.fire_conditionals(run) {
                rounds += 1;
                continue;
            }
            break;
        }
        self.update_status(run);
    }

    /// The command's work budget ran out (`Limits::max_steps`) at token `t`: a cycle with no
    /// wait state, or a call activity calling its own process, would never return. Every
    /// runnable token gets an incident instead, naming where it stood, so the instance can be
    /// fixed and retried.
    pub(super) fn stop_runaway(&self, run: &mut Run, t: TokenId) {
        let max = self.limits.max_steps;
        let msg = |node: &str| {
            format!("stopped at '{node}' after {max} steps in one command without reaching a wait state (an endless loop in the diagram, or a call activity that calls its own process?)")
        };
        let at = run.inst.tok(t).node;
        self.raise_incident(run, t, msg(&self.node(at).id));
        while let Some(o) = run.stack.pop() {
            let ready = run.inst.tokens.get(o as usize).and_then(|x| x.as_ref());
            if let Some(node) = ready
                .filter(|x| x.state == TokenState::Ready)
                .map(|x| x.node)
            {
                self.raise_incident(run, o, msg(&self.node(node).id));
            }
        }
    }

    /// Charges `n` units of work to the command (multi-instance inner instances, a called
    /// process about to start). False when that goes past `Limits::max_steps`: the caller
    /// raises the incident.
    pub(super) fn charge(&self, run: &mut Run, n: u64) -> bool {
        run.work = run.work.saturating_add(n);
        run.work <= self.limits.max_steps
    }

    pub(super) fn update_status(&self, run: &mut Run) {
        let inst = &mut *run.inst;
        if inst.status.is_ended() {
            return;
        }
        if !inst.incidents.is_empty() {
            inst.status = Status::Failed;
        } else if inst
            .scopes
            .first()
            .and_then(|s| s.as_ref())
            .is_some_and(|s| s.live == 0)
        {
            // Only reachable when the root never had a token (no start event ran).
            inst.status = Status::Completed;
        } else if !inst.incidents.is_empty() {
            inst.status = Status::Failed;
        } else {
            inst.status = Status::Waiting;
        }
    }

    pub(super) fn execute(&self, run: &mut Run, t: TokenId) {
        let tok = run.inst.tok(t);
        if tok.state != TokenState::Ready {
            return;
        }
        let (node_id, tok_scope, tok_loops) = (tok.node, tok.scope, tok.loops);
        let node = self.node(node_id);
        // A multi-instance activity first becomes a body that spawns its inner instances.
        if let Some(Looping::Multi(_)) = &node.looping {
            let scope = run.inst.scope(tok_scope);
            let inner = matches!(scope.kind, ScopeKind::MiInner { node } if node == node_id);
            if !inner {
                self.enter_mi_body(run, t);
                return;
            }
        }
        if tok_loops == 0 && self.loop_skips(run, t) {
            return;
        }
        self.enter(run, node_id);
        if node.io.is_some() && node.is_activity() && !self.open_io(run, t) {
            return;
        }
        match &node.kind {
            NodeKind::StartEvent { .. } | NodeKind::Boundary { .. } => self.take_outgoing(run, t),
            NodeKind::EndEvent { trigger } => self.end_event(run, t, trigger),
            NodeKind::IntermediateThrow { trigger } => self.throw_event(run, t, trigger),
            NodeKind::IntermediateCatch { trigger } => self.catch_event(run, t, trigger),
            NodeKind::Task(kind) => self.task(run, t, kind),
            NodeKind::SubProcess(_) => self.enter_subprocess(run, t),
            NodeKind::CallActivity { called_element } => {
                self.enter_call_activity(run, t, called_element)
            }
            NodeKind::Gateway(kind) => self.gateway(run, t, *kind),
        }
    }
}
