//! Events: start events the host triggers, end events, intermediate throw and catch events,
//! and where errors and escalations are caught.
//!
//! Rules owned here:
//! - **Start events the host sees**: top-level start events of executable processes whose
//!   trigger is a named message or signal start an instance on it (`starts_on`); timer start
//!   events need a fixed date, duration or cycle (an expression has no instance to read).
//! - **End events**: none ends its token. Terminate ends every token and child scope of its
//!   scope, then completes that scope. Error: caught by the innermost catcher (below), else it
//!   behaves as a none end event (Camunda 7). Escalation: see below. Message and signal end
//!   events throw, then end. Compensation: see `compensation.rs`; cancel: `transaction.rs`.
//! - **Multiple events** (several definitions): caught when any one happens (an intermediate
//!   catch marked `parallelMultiple`: once all happened); thrown as each message and signal;
//!   a multiple start event starts on any of its messages and signals.
//! - **Intermediate throw**: signal and message throw and go on; link jumps to the catch link
//!   of that name in the same container (none: incident); escalation and compensation below.
//! - **Intermediate catch**: message, signal and timer wait on a subscription; a conditional
//!   goes on at once when true, else waits until it becomes true; link catch and none pass.
//! - **Thrown signals** are published (`SignalThrown`) and also reach this instance's own
//!   signal subscriptions in the same command. **Thrown messages** are published
//!   (`MessageThrown`, name from the event, its message or its id; key evaluated; a failing
//!   key is dropped) for the host to correlate.
//! - **Catching errors and escalations**: from the thrower's scope outwards, a scope's event
//!   sub-process start with a matching code (or no code) catches, except an event sub-process
//!   does not catch what is thrown inside itself; then the boundary events of the activity that
//!   owns the scope (a multi-instance inner instance defers to its body; a compensation scope's
//!   owner catches nothing). A boundary catch cancels the activity when interrupting and starts
//!   a token at the boundary; an event sub-process catch cancels the scope when interrupting
//!   and starts the event sub-process. The code is written to `errorCode`/`escalationCode`.
//! - **Escalation**: an interrupting catcher takes the thrower's token; a non-interrupting one
//!   starts and the thrower goes on (an end event ends). Uncaught, the thrower just goes on.

use super::activities::value_to_key;
use super::{Catcher, Engine, Instance, Run, ScopeId, ScopeKind, SubKind, TokenId, TokenState};
use crate::api::Effect;
use crate::model::{NodeId, NodeKind, TimerDef, Trigger};
use crate::timer;
use serde_json::{Map, Value};

impl Engine {
    /// The top-level start events of executable processes that a message (`"message"`) or a
    /// signal (`"signal"`) of this name starts: `(process id, start event id)`.
    pub fn starts_on(&self, kind: &str, name: &str) -> Vec<(String, String)> {
        self.top_level_starts()
            .filter(|(_, _, trigger)| {
                let on = |t: &Trigger| match t {
                    Trigger::Message(Some(m)) => kind == "message" && m == name,
                    Trigger::Signal(Some(s)) => kind == "signal" && s == name,
                    _ => false,
                };
                match trigger {
                    Trigger::Multiple { each, .. } => each.iter().any(on),
                    t => on(t),
                }
            })
            .map(|(p, n, _)| (p.to_string(), n.to_string()))
            .collect()
    }

    /// The timer start events of executable processes (top level): `(process id, start event
    /// id, schedule)`. A schedule given as an expression cannot be read without an instance and
    /// answers an error the host reports.
    pub fn timer_starts(&self) -> Vec<(String, String, Result<timer::Schedule, String>)> {
        self.top_level_starts()
            .filter_map(|(p, n, trigger)| match trigger {
                Trigger::Timer(def) => Some((p, n, def)),
                _ => None,
            })
            .map(|(p, n, def)| {
                let src = match def {
                    TimerDef::Date(s) | TimerDef::Duration(s) | TimerDef::Cycle(s) => Some(s),
                    TimerDef::Missing => None,
                };
                let sched = src.and_then(|s| self.timers.get(&s.id)).cloned().ok_or_else(|| {
                    format!(
                        "timer start event '{n}' needs a fixed timeDate, timeDuration or timeCycle to be scheduled (an expression has no instance to read from)"
                    )
                });
                // A definition deployed before the limits (only warned about then) is not
                // scheduled: a cycle of microseconds would start instances without end.
                let from = crate::clock::VirtualClock::default_start();
                let sched = sched.and_then(|s| match s.check(&self.limits, from, false) {
                    Ok(()) => Ok(s),
                    Err(e) => Err(format!("timer start event '{n}' is not scheduled: {e}")),
                });
                (p.to_string(), n.to_string(), sched)
            })
            .collect()
    }

    /// How timer start event `element` is tried again when its start fails: its
    /// `failedJobRetryTimeCycle`, else the default (see [`crate::retry`]).
    pub fn start_retry(&self, element: &str) -> crate::retry::RetryCycle {
        self.deployment
            .node_by_id(element)
            .and_then(|n| self.deployment.node(n).spec.retry_cycle.clone())
            .unwrap_or_default()
    }

    /// `(process id, start event id, trigger)` of the top-level start events of executable
    /// processes.
    pub(super) fn top_level_starts(&self) -> impl Iterator<Item = (&str, &str, &Trigger)> + '_ {
        let d = &self.deployment;
        d.processes
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_executable)
            .flat_map(move |(i, p)| {
                d.children_of(i as u32, None).iter().filter_map(move |c| {
                    match &self.node(*c).kind {
                        NodeKind::StartEvent { trigger, .. } => {
                            Some((p.id.as_str(), self.node(*c).id.as_str(), trigger))
                        }
                        _ => None,
                    }
                })
            })
    }

    pub(super) fn end_event(&self, run: &mut Run, t: TokenId, trigger: &Trigger) {
        if let Trigger::Compensate { activity, wait } = trigger {
            // Completed (and its token ended) once compensation is done, see `after_compensation`.
            return self.throw_compensation(run, t, activity.is_some(), *wait);
        }
        if let Trigger::Cancel = trigger {
            // Completed once the transaction's compensation is done, see `transaction.rs`.
            return self.cancel_transaction(run, t);
        }
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        run.effects.push(Effect::ElementCompleted {
            element_id: self.node(node_id).id.clone(),
        });
        match trigger {
            Trigger::Terminate => {
                // Terminate ends the scope it is in: every token and sub-scope there.
                let sid = scope;
                self.consume_silently(run, t);
                self.cancel_scope(run, sid);
                self.close_scope_if_empty(run, sid);
            }
            Trigger::Error(code) => {
                match self.find_catcher(run.inst, scope, |trig| match trig {
                    Trigger::Error(c) => c.is_none() || c == code,
                    _ => false,
                }) {
                    Some(c) => {
                        self.consume_silently(run, t);
                        self.catch_thrown(run, c, code.clone(), "errorCode");
                    }
                    // Uncaught: behaves as a none end event (Camunda 7).
                    None => self.consume(run, t),
                }
            }
            Trigger::Escalation(code) => self.throw_escalation(run, t, code, true),
            Trigger::Message(name) => {
                self.throw_message(run, scope, node_id, name.as_deref());
                self.consume(run, t);
            }
            Trigger::Signal(Some(name)) => {
                self.throw_signal(run, scope, node_id, name);
                self.consume(run, t);
            }
            Trigger::Multiple { each, .. } => {
                self.throw_each(run, scope, node_id, each);
                self.consume(run, t);
            }
            _ => self.consume(run, t),
        }
    }

    pub(super) fn throw_event(&self, run: &mut Run, t: TokenId, trigger: &Trigger) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        match trigger {
            Trigger::Signal(Some(name)) => {
                self.throw_signal(run, scope, node_id, name);
                self.take_outgoing(run, t)
            }
            Trigger::Message(name) => {
                self.throw_message(run, scope, node_id, name.as_deref());
                self.take_outgoing(run, t)
            }
            Trigger::Escalation(code) => self.throw_escalation(run, t, code, false),
            Trigger::Multiple { each, .. } => {
                self.throw_each(run, scope, node_id, each);
                self.take_outgoing(run, t)
            }
            Trigger::Compensate { activity, wait } => {
                self.throw_compensation(run, t, activity.is_some(), *wait)
            }
            Trigger::Link(name) => {
                let process = run.inst.scope(scope).process;
                let parent = self.node(node_id).parent;
                match self.link_targets.get(&(process, parent, name.clone())) {
                    Some(&target) => {
                        let tok = run.inst.tok_mut(t);
                        tok.node = target;
                        tok.state = TokenState::Ready;
                        tok.failures = 0;
                        run.stack.push(t);
                    }
                    None => self.incident(
                        run,
                        t,
                        format!("no link catch event named '{name}' in the same scope"),
                    ),
                }
            }
            _ => self.take_outgoing(run, t),
        }
    }

    /// An escalation thrown by an end event (`ends`) or an intermediate throw event. An
    /// interrupting catcher takes the token; otherwise the thrower goes on after the catcher started.
    pub(super) fn throw_escalation(
        &self,
        run: &mut Run,
        t: TokenId,
        code: &Option<String>,
        ends: bool,
    ) {
        let scope = run.inst.tok(t).scope;
        let caught = self.find_catcher(run.inst, scope, |trig| match trig {
            Trigger::Escalation(c) => c.is_none() || c == code,
            _ => false,
        });
        let interrupting = matches!(
            caught,
            Some(Catcher::Boundary {
                interrupting: true,
                ..
            }) | Some(Catcher::EventSub {
                interrupting: true,
                ..
            })
        );
        if let Some(c) = caught {
            if interrupting {
                self.consume_silently(run, t);
                return self.catch_thrown(run, c, code.clone(), "escalationCode");
            }
            self.catch_thrown(run, c, code.clone(), "escalationCode");
        }
        if ends {
            self.consume(run, t);
        } else if run.inst.tokens.get(t as usize).is_some_and(|x| x.is_some()) {
            self.take_outgoing(run, t);
        }
    }

    pub(super) fn catch_event(&self, run: &mut Run, t: TokenId, trigger: &Trigger) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        match trigger {
            Trigger::Message(_)
            | Trigger::Signal(_)
            | Trigger::Timer(_)
            | Trigger::Multiple { .. } => {
                run.inst.tok_mut(t).state = TokenState::Catching;
                if let Err(msg) = self.subscribe(run, Some(t), scope, node_id, trigger) {
                    self.incident(run, t, msg)
                }
            }
            Trigger::Conditional(Some(c)) => {
                match self.eval_condition(run.inst, scope, c.id, run.now) {
                    Ok(true) => self.take_outgoing(run, t),
                    Ok(false) => {
                        run.inst.tok_mut(t).state = TokenState::Catching;
                        run.inst.add_sub(
                            Some(t),
                            scope,
                            node_id,
                            SubKind::Conditional { was_true: false },
                        );
                    }
                    Err(e) => self.incident(run, t, format!("condition failed: {}", e.message)),
                }
            }
            _ => self.take_outgoing(run, t),
        }
    }

    /// A multiple throw event: each of its messages and signals, in the order written.
    fn throw_each(&self, run: &mut Run, scope: ScopeId, node: NodeId, each: &[Trigger]) {
        for trigger in each {
            match trigger {
                Trigger::Message(name) => self.throw_message(run, scope, node, name.as_deref()),
                Trigger::Signal(Some(name)) => self.throw_signal(run, scope, node, name),
                // Anything else is refused at deploy (`validate`).
                _ => {}
            }
        }
    }

    pub(super) fn throw_signal(&self, run: &mut Run, scope: ScopeId, node: NodeId, name: &str) {
        let variables = run.inst.visible_vars(scope);
        run.effects.push(Effect::SignalThrown {
            element_id: self.node(node).id.clone(),
            name: name.to_string(),
            variables,
        });
        run.pending_signals.push((name.to_string(), Map::new()));
    }

    pub(super) fn deliver_signal_internally(
        &self,
        run: &mut Run,
        name: &str,
        _vars: Map<String, Value>,
    ) {
        let ids: Vec<u32> = run
            .inst
            .live_subs()
            .filter(|s| matches!(&s.kind, SubKind::Signal { name: n } if n == name))
            .map(|s| s.id)
            .collect();
        for id in ids {
            if let Some(i) = run.inst.sub_index(id) {
                self.trigger_sub(run, i);
            }
        }
    }

    pub(super) fn throw_message(
        &self,
        run: &mut Run,
        scope: ScopeId,
        node: NodeId,
        name: Option<&str>,
    ) {
        let n = self.node(node);
        let name = name
            .or(n.spec.message.as_deref())
            .unwrap_or(&n.id)
            .to_string();
        let key = n
            .correlation_key
            .as_ref()
            .and_then(|src| self.eval_value(run.inst, scope, src.id, run.now).ok())
            .and_then(|v| value_to_key(&v));
        let variables = run.inst.visible_vars(scope);
        run.effects.push(Effect::MessageThrown {
            element_id: n.id.clone(),
            name,
            correlation_key: key,
            variables,
        });
    }

    /// Finds the innermost catcher for an error or escalation thrown in `scope`.
    pub(super) fn find_catcher(
        &self,
        inst: &Instance,
        mut scope: ScopeId,
        matches: impl Fn(&Trigger) -> bool,
    ) -> Option<Catcher> {
        let mut came_from: Option<NodeId> = None;
        loop {
            let s = inst.scope(scope);
            if matches!(s.kind, ScopeKind::Root | ScopeKind::Sub | ScopeKind::Call) {
                if let Some(starts) = self.event_starts.get(&(s.process, s.container)) {
                    for &st in starts {
                        if let NodeKind::StartEvent {
                            trigger,
                            interrupting,
                        } = &self.node(st).kind
                        {
                            // An event sub-process does not catch what is thrown inside itself.
                            let own = came_from.is_some() && came_from == self.node(st).parent;
                            if matches(trigger) && !own {
                                return Some(Catcher::EventSub {
                                    scope,
                                    start: st,
                                    interrupting: *interrupting,
                                });
                            }
                        }
                    }
                }
            }
            // A compensation scope's owner is a throw event or a holder at an activity that
            // already completed: its boundary events catch nothing any more.
            let owner = s
                .owner
                .filter(|_| !matches!(s.kind, ScopeKind::Compensation { .. }));
            if let Some(owner) = owner {
                let owner_tok = inst.tok(owner);
                let on = owner_tok.node;
                // The inner instance of a multi-instance activity does not own its boundaries;
                // they are found one level up, on the body's token.
                let inner = matches!(inst.scope(owner_tok.scope).kind, ScopeKind::MiInner { node } if node == on);
                let boundaries: &[NodeId] = if inner {
                    &[]
                } else {
                    &self.node(on).boundaries
                };
                for &b in boundaries {
                    if let NodeKind::Boundary {
                        trigger,
                        cancel_activity,
                        ..
                    } = &self.node(b).kind
                    {
                        if matches(trigger) {
                            return Some(Catcher::Boundary {
                                owner,
                                boundary: b,
                                interrupting: *cancel_activity,
                            });
                        }
                    }
                }
            }
            came_from = s.container;
            scope = s.parent?;
        }
    }

    pub(super) fn catch_thrown(&self, run: &mut Run, c: Catcher, code: Option<String>, var: &str) {
        match c {
            Catcher::Boundary {
                owner,
                boundary,
                interrupting,
            } => {
                let scope = run.inst.outer_scope(owner);
                if interrupting {
                    self.cancel_token(run, owner);
                }
                let nt = run.new_token(scope, boundary);
                if let Some(code) = code {
                    self.set_var(run, scope, var.to_string(), Value::String(code));
                }
                run.stack.push(nt);
            }
            Catcher::EventSub {
                scope,
                start,
                interrupting,
            } => {
                let Some(esp) = self.node(start).parent else {
                    return;
                };
                if interrupting {
                    self.cancel_scope(run, scope);
                }
                if let Some(code) = code {
                    self.set_var(run, scope, var.to_string(), Value::String(code));
                }
                self.start_event_subprocess(run, scope, esp, start);
            }
        }
    }
}
