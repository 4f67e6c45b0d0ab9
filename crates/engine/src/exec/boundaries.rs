//! Subscriptions: what a waiting token or scope listens for (catch events, event-gateway
//! targets, boundary events, event sub-process starts) and what happens when one fires.
//!
//! Rules owned here:
//! - **Subscribe**: a message subscription takes the trigger's name, else the node's message,
//!   else its id, and the correlation key evaluated now (failure: incident). A signal without a
//!   name listens on the node id. A timer evaluates its date, duration or cycle now (constant
//!   texts are parsed once at load) and emits `TimerScheduled`. A conditional starts "not true".
//! - **Arming boundaries**: when an activity starts waiting (task, sub-process, call activity,
//!   multi-instance body) its message, signal, timer and conditional boundary events subscribe,
//!   owned by its token; a multi-instance inner instance arms none (the body owns them). A
//!   failing boundary is an incident on the activity. Leaving or cancelling disarms them all.
//! - **A boundary fires**: interrupting cancels the activity; non-interrupting keeps it, and
//!   its message and signal subscriptions stay, a one-shot timer is spent, a conditional waits
//!   to become false and true again, a cycle timer re-arms. Either way a token starts at the
//!   boundary event.
//! - **An event sub-process start fires**: interrupting cancels its scope first; non-interrupting
//!   re-arms as above. The event sub-process then starts in that scope.
//! - **A catch event or event-gateway target fires**: the waiting token's subscriptions all
//!   go (the other gateway targets lose); at a gateway the token moves to the target that
//!   happened, enters it and passes it (a receive task target completes with no data).
//! - **Receive-task timeout**: at `TimeoutMinutes` its callback closes `Expired` (no callback
//!   or message completes it any more); a timer boundary on the task, if any, fires at once.
//! - **Cycle timers**: repetitions missed while nothing ran are not caught up: it fires once
//!   and the next due time is the first after now, keeping the cycle's phase; no next: spent.
//! - **Conditional events** fire when their condition goes from false to true (a failing
//!   condition counts as false), one per pass.

use super::activities::value_to_key;
use super::{
    Engine, Instance, Run, ScopeId, ScopeKind, Sub, SubKind, TimerParser, TokenId, TokenState,
};
use crate::api::Effect;
use crate::model::{FlowNode, NodeId, NodeKind, TaskKind, TimerDef, Trigger};
use crate::timer;
use jiff::Timestamp;
use serde_json::Value;

impl Engine {
    /// Creates the subscription for a catching trigger (evaluating its key or time now).
    pub(super) fn subscribe(
        &self,
        run: &mut Run,
        token: Option<TokenId>,
        scope: ScopeId,
        node_id: NodeId,
        trigger: &Trigger,
    ) -> Result<(), String> {
        let node = self.node(node_id);
        let kind = match trigger {
            // A multiple event: a subscription for each of its definitions.
            Trigger::Multiple { each, .. } => {
                for t in each {
                    self.subscribe(run, token, scope, node_id, t)?;
                }
                return Ok(());
            }
            Trigger::Message(name) => {
                let name = name
                    .clone()
                    .or_else(|| node.spec.message.clone())
                    .unwrap_or_else(|| node.id.clone());
                let key = match &node.correlation_key {
                    Some(src) => match self.eval_value(run.inst, scope, src.id, run.now) {
                        Ok(v) => value_to_key(&v),
                        Err(e) => return Err(format!("correlation key failed: {}", e.message)),
                    },
                    None => None,
                };
                SubKind::Message { name, key }
            }
            Trigger::Signal(Some(name)) => SubKind::Signal { name: name.clone() },
            Trigger::Signal(None) => SubKind::Signal {
                name: node.id.clone(),
            },
            Trigger::Timer(def) => {
                let due = self.timer_due(run.inst, scope, def, run.now)?;
                run.effects.push(Effect::TimerScheduled {
                    element_id: node.id.clone(),
                    due,
                });
                SubKind::Timer { due, fired: 0 }
            }
            Trigger::Conditional(Some(_)) => SubKind::Conditional { was_true: false },
            _ => return Ok(()),
        };
        run.inst.add_sub(token, scope, node_id, kind);
        Ok(())
    }

    pub(super) fn timer_schedule(
        &self,
        inst: &Instance,
        scope: ScopeId,
        def: &TimerDef,
        now: Timestamp,
    ) -> Result<timer::Schedule, String> {
        let (src, parse): (_, TimerParser) = match def {
            TimerDef::Date(s) => (s, timer::parse_date),
            TimerDef::Duration(s) => (s, timer::parse_duration),
            TimerDef::Cycle(s) => (s, timer::parse_cycle),
            TimerDef::Missing => {
                return Err("timer has no timeDate, timeDuration or timeCycle".into())
            }
        };
        if let Some(s) = self.timers.get(&src.id) {
            return Ok(s.clone());
        }
        // An expression: evaluate it, then parse what it yields.
        let v = self
            .eval_value(inst, scope, src.id, now)
            .map_err(|e| format!("timer expression failed: {}", e.message))?;
        let text = match v {
            Value::String(s) => s,
            other => other.to_string(),
        };
        parse(&text).map_err(|e| e.0)
    }

    pub(super) fn timer_due(
        &self,
        inst: &Instance,
        scope: ScopeId,
        def: &TimerDef,
        now: Timestamp,
    ) -> Result<Timestamp, String> {
        let sched = self.timer_schedule(inst, scope, def, now)?;
        // Constant durations and cycles were checked at deploy; dates (and whatever an
        // expression yields) can only be checked now.
        sched.check(&self.limits, now, true).map_err(|e| e.0)?;
        Ok(sched.first_due(now))
    }

    /// Arms the boundary events of an activity that now waits.
    pub(super) fn arm_boundaries(&self, run: &mut Run, t: TokenId) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        // Inner multi-instance tokens do not own the boundaries: the body does.
        if let ScopeKind::MiInner { node } = run.inst.scope(scope).kind {
            if node == node_id {
                return;
            }
        }
        let boundaries = &self.node(node_id).boundaries;
        for &b in boundaries {
            if let NodeKind::Boundary { trigger, .. } = &self.node(b).kind {
                match trigger {
                    Trigger::Conditional(Some(_)) => {
                        // Evaluated by the conditional pass at the end of this step.
                        run.inst.add_sub(
                            Some(t),
                            scope,
                            b,
                            SubKind::Conditional { was_true: false },
                        );
                    }
                    Trigger::Message(_)
                    | Trigger::Signal(_)
                    | Trigger::Timer(_)
                    | Trigger::Multiple { .. } => {
                        if let Err(msg) = self.subscribe(run, Some(t), scope, b, trigger) {
                            // The boundary's own definition failed: no retry of the task fixes it.
                            return self.raise_incident(
                                run,
                                t,
                                format!("boundary event '{}': {msg}", self.node(b).id),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Removes every subscription owned by a token (boundaries, catch, gateway targets).
    pub(super) fn disarm(&self, run: &mut Run, t: TokenId) {
        run.inst.remove_subs_of_token(t);
    }

    /// A subscription fired.
    pub(super) fn trigger_sub(&self, run: &mut Run, i: usize) {
        let sub = run.inst.subs[i].clone();
        let node = self.node(sub.node);
        match &node.kind {
            NodeKind::Boundary {
                attached_to: _,
                cancel_activity,
                trigger,
            } => {
                let Some(owner) = sub.token else { return };
                let scope = run.inst.outer_scope(owner);
                let cyclic = self.rearm_cycle(run, i, &sub, trigger);
                if *cancel_activity {
                    self.cancel_token(run, owner);
                } else if !cyclic {
                    // Non-interrupting: messages and signals stay subscribed, a one-shot timer is spent.
                    match &mut run.inst.subs[i].kind {
                        SubKind::Conditional { was_true } => *was_true = true,
                        SubKind::Timer { .. } => run.inst.remove_sub(sub.id),
                        _ => {}
                    }
                }
                let nt = run.new_token(scope, sub.node);
                run.stack.push(nt);
            }
            NodeKind::StartEvent {
                interrupting,
                trigger,
            } => {
                // An event sub-process start.
                let scope = sub.scope;
                let Some(esp) = node.parent else { return };
                if *interrupting {
                    self.cancel_scope(run, scope);
                } else if !self.rearm_cycle(run, i, &sub, trigger) {
                    match &mut run.inst.subs[i].kind {
                        SubKind::Conditional { was_true } => *was_true = true,
                        SubKind::Timer { .. } => run.inst.remove_sub(sub.id),
                        _ => {}
                    }
                }
                self.start_event_subprocess(run, scope, esp, sub.node);
            }
            _ => {
                if let SubKind::Retry { .. } = sub.kind {
                    // The next attempt of a task whose last one failed (see `scopes.rs`).
                    run.inst.remove_sub(sub.id);
                    let Some(t) = sub.token else { return };
                    let tok = run.inst.tok_mut(t);
                    if tok.state == TokenState::Retrying {
                        tok.state = TokenState::Ready;
                        run.stack.push(t);
                    }
                    return;
                }
                if let SubKind::CallbackTimeout { .. } = sub.kind {
                    // TimeoutMinutes: the callback row expires; a timer boundary drawn on the task fires.
                    run.inst.remove_sub(sub.id);
                    let Some(t) = sub.token else { return };
                    let key = match &mut run.inst.tok_mut(t).state {
                        TokenState::ReceiveTask { key, expired, .. } => {
                            *expired = true;
                            key.clone()
                        }
                        _ => None,
                    };
                    run.effects.push(Effect::CallbackClosed {
                        task_id: node.id.clone(),
                        correlation_key: key,
                        status: "Expired",
                    });
                    if let Some(bi) = run
                        .inst
                        .find_sub(|s| s.token == Some(t) && matches!(s.kind, SubKind::Timer { .. }))
                    {
                        self.trigger_sub(run, bi);
                    }
                    return;
                }
                // A catch event or an event-based gateway target.
                let Some(t) = sub.token else { return };
                let tok = run.inst.tok(t);
                let gateway_wait = tok.node != sub.node;
                if !gateway_wait && Self::waits_for_all(node) {
                    // Parallel multiple: this one happened; go on once none is left.
                    run.inst.remove_sub(sub.id);
                    if run.inst.live_subs().any(|s| s.token == Some(t)) {
                        return;
                    }
                }
                self.disarm(run, t);
                if gateway_wait {
                    // Event-based gateway: the token moves to the event that happened and passes it.
                    let tok = run.inst.tok_mut(t);
                    tok.node = sub.node;
                    tok.state = TokenState::Ready;
                    tok.failures = 0;
                    self.enter(run, sub.node);
                    if let NodeKind::Task(TaskKind::Receive) = node.kind {
                        let data = Value::Null;
                        self.finish_receive(run, t, data);
                    } else {
                        self.take_outgoing(run, t);
                    }
                } else {
                    run.inst.tok_mut(t).state = TokenState::Ready;
                    self.take_outgoing(run, t);
                }
            }
        }
    }

    /// An intermediate catch event marked `parallelMultiple`: it goes on once every one of its
    /// events happened.
    fn waits_for_all(node: &FlowNode) -> bool {
        matches!(
            node.kind,
            NodeKind::IntermediateCatch {
                trigger: Trigger::Multiple { parallel: true, .. }
            }
        )
    }

    /// For a cycle timer that repeats: re-arm it. True when re-armed.
    pub(super) fn rearm_cycle(
        &self,
        run: &mut Run,
        i: usize,
        sub: &Sub,
        trigger: &Trigger,
    ) -> bool {
        // A multiple event with one timer: that timer is the one that fired.
        let trigger = match trigger {
            Trigger::Multiple { each, .. } => {
                let mut timers = each.iter().filter(|t| matches!(t, Trigger::Timer(_)));
                match (timers.next(), timers.next()) {
                    (Some(t), None) => t,
                    _ => return false,
                }
            }
            t => t,
        };
        let (SubKind::Timer { due, fired }, Trigger::Timer(def @ TimerDef::Cycle(_))) =
            (&sub.kind, trigger)
        else {
            return false;
        };
        let Ok(sched) = self.timer_schedule(run.inst, sub.scope, def, run.now) else {
            return false;
        };
        // Misfire policy: repetitions that fell due while nobody was running (the app was
        // closed, the clock jumped) are not caught up one by one. The cycle fires once now
        // and keeps its phase: the next due time is the first one after now.
        match sched.next_due_after(*due, fired + 1, run.now) {
            Some(next) => {
                run.inst.subs[i].kind = SubKind::Timer {
                    due: next,
                    fired: fired + 1,
                };
                run.effects.push(Effect::TimerScheduled {
                    element_id: self.node(sub.node).id.clone(),
                    due: next,
                });
                true
            }
            None => {
                run.inst.remove_sub(sub.id);
                true
            }
        }
    }

    pub(super) fn fire_conditionals(&self, run: &mut Run) -> bool {
        let conds: Vec<(u32, ScopeId, NodeId, bool)> = run
            .inst
            .live_subs()
            .filter_map(|s| match s.kind {
                SubKind::Conditional { was_true } => Some((s.id, s.scope, s.node, was_true)),
                _ => None,
            })
            .collect();
        for (id, scope, node, was_true) in conds {
            let Some(src) = (match &self.node(node).kind {
                NodeKind::StartEvent {
                    trigger: Trigger::Conditional(c),
                    ..
                }
                | NodeKind::IntermediateCatch {
                    trigger: Trigger::Conditional(c),
                }
                | NodeKind::Boundary {
                    trigger: Trigger::Conditional(c),
                    ..
                } => c.as_ref(),
                _ => None,
            }) else {
                continue;
            };
            if run
                .inst
                .scopes
                .get(scope as usize)
                .is_none_or(|s| s.is_none())
            {
                continue;
            }
            let now_true = self
                .eval_condition(run.inst, scope, src.id, run.now)
                .unwrap_or(false);
            let Some(i) = run.inst.sub_index(id) else {
                continue;
            };
            if now_true && !was_true {
                self.trigger_sub(run, i);
                return true;
            }
            if !now_true && was_true {
                run.inst.subs[i].kind = SubKind::Conditional { was_true: false };
            }
        }
        false
    }
}
