//! The view of an instance from outside: what it waits on, what it listens for, its
//! variables, its incidents and its next timer. Read-only; nothing here changes the state.
//!
//! Rules owned here:
//! - **Waiting**: one entry per parked user task (with its form key), receive task (key,
//!   message, form key in form mode), and per subscription of a token parked at a catch event
//!   or event-based gateway (message, signal, timer with its due time, conditional); boundary
//!   events and receive-task timeouts are not listed. Entries carry the task's responsible user
//!   and team, and a task's assignee when it holds one.
//! - **Subscriptions**: every message and signal subscription (with key and element), plus
//!   each non-expired receive task as a message subscription.
//! - **Variables** are the process-level (root scope) variables.
//! - **Next timer**: the earliest due time among timers and receive-task timeouts.
//! - A state written for another model (see `Engine::check_state`) shows no waits and no
//!   subscriptions: its node indices would name the wrong elements, or none.

use super::{Engine, Instance, Sub, SubKind, TokenState};
use crate::api::{Incident, Subscription, Waiting};
use crate::model::NodeKind;
use jiff::Timestamp;
use serde_json::{Map, Value};
use std::collections::HashMap;

impl Engine {
    /// What the instance waits on now. Nothing for a state of another model (its indices mean
    /// nothing here; [`Engine::check_state`] says why).
    pub fn waiting(&self, inst: &Instance) -> Vec<Waiting> {
        let mut out = Vec::new();
        if self.check_state(inst).is_err() {
            return out;
        }
        // Each token's subscriptions, in order, found in one pass (not one pass per token).
        let mut by_token: HashMap<u32, Vec<&Sub>> = HashMap::new();
        for s in inst.live_subs() {
            if let Some(t) = s.token {
                by_token.entry(t).or_default().push(s);
            }
        }
        for (i, t) in inst.live_tokens() {
            let node = self.node(t.node);
            let base = |task_type: &'static str| Waiting {
                task_id: node.id.clone(),
                element_id: node.id.clone(),
                task_type,
                name: node.name.clone(),
                correlation_key: None,
                form_key: None,
                message: None,
                signal: None,
                due: None,
                responsible_user: node.spec.responsible_user.clone(),
                responsible_team: node.spec.responsible_team.clone(),
                assignee: None,
                local_variables: inst.params_scope(i).map(|l| inst.scope(l).vars.clone()),
            };
            match &t.state {
                TokenState::UserTask => {
                    let mut w = base("userTask");
                    w.form_key = node.spec.form_key.clone();
                    w.assignee = t.assignee.clone();
                    out.push(w);
                }
                TokenState::ReceiveTask { key, form, .. } => {
                    let mut w = base("receiveTask");
                    w.correlation_key = key.clone();
                    w.message = node.spec.message.clone();
                    if *form {
                        w.form_key = node.spec.form_key.clone();
                    }
                    w.assignee = t.assignee.clone();
                    out.push(w);
                }
                TokenState::Retrying => {
                    // A task waiting for its next attempt: when it is due.
                    let mut w = base("retry");
                    w.due = by_token
                        .get(&i)
                        .into_iter()
                        .flatten()
                        .find_map(|s| match s.kind {
                            SubKind::Retry { due } => Some(due),
                            _ => None,
                        });
                    out.push(w);
                }
                TokenState::Catching => {
                    for s in by_token.get(&i).into_iter().flatten() {
                        let sn = self.node(s.node);
                        if matches!(sn.kind, NodeKind::Boundary { .. }) {
                            continue;
                        }
                        let mut w = base("");
                        w.task_id = sn.id.clone();
                        w.element_id = sn.id.clone();
                        w.name = sn.name.clone();
                        match &s.kind {
                            SubKind::Message { name, key } => {
                                w.task_type = "messageCatch";
                                w.message = Some(name.clone());
                                w.correlation_key = key.clone();
                            }
                            SubKind::Signal { name } => {
                                w.task_type = "signalCatch";
                                w.signal = Some(name.clone());
                            }
                            SubKind::Timer { due, .. } => {
                                w.task_type = "timer";
                                w.due = Some(*due);
                            }
                            SubKind::Conditional { .. } => w.task_type = "conditionalCatch",
                            SubKind::CallbackTimeout { .. } | SubKind::Retry { .. } => continue,
                        }
                        out.push(w);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Every message and signal the instance listens for now (see [`Subscription`]). Nothing for
    /// a state of another model.
    pub fn subscriptions(&self, inst: &Instance) -> Vec<Subscription> {
        let mut out = Vec::new();
        if self.check_state(inst).is_err() {
            return out;
        }
        for s in inst.live_subs() {
            let element_id = self.node(s.node).id.clone();
            match &s.kind {
                SubKind::Message { name, key } => out.push(Subscription {
                    kind: "message",
                    name: name.clone(),
                    correlation_key: key.clone(),
                    element_id,
                }),
                SubKind::Signal { name } => out.push(Subscription {
                    kind: "signal",
                    name: name.clone(),
                    correlation_key: None,
                    element_id,
                }),
                _ => {}
            }
        }
        for (_, t) in inst.live_tokens() {
            if let TokenState::ReceiveTask {
                key,
                expired: false,
                ..
            } = &t.state
            {
                let node = self.node(t.node);
                let name = node.spec.message.as_ref().unwrap_or(&node.id).clone();
                out.push(Subscription {
                    kind: "message",
                    name,
                    correlation_key: key.clone(),
                    element_id: node.id.clone(),
                });
            }
        }
        out
    }

    /// The process-level variables.
    pub fn variables(&self, inst: &Instance) -> Map<String, Value> {
        match inst.scopes.first() {
            Some(Some(s)) => s.vars.clone(),
            _ => Map::new(),
        }
    }

    /// The local variables of activity `element_id` while a token is in it: its input
    /// parameters and what stays local with them (`io.rs`); `None` when no token is there or
    /// the activity has no parameters.
    pub fn local_variables(&self, inst: &Instance, element_id: &str) -> Option<Map<String, Value>> {
        inst.live_tokens()
            .filter(|(_, tok)| self.node(tok.node).id == element_id)
            .find_map(|(i, _)| inst.params_scope(i))
            .map(|l| inst.scope(l).vars.clone())
    }

    pub fn incidents(&self, inst: &Instance) -> Vec<Incident> {
        inst.incidents
            .iter()
            .map(|r| Incident {
                element_id: r.element_id.clone(),
                message: r.message.clone(),
            })
            .collect()
    }

    /// The earliest pending timer.
    pub fn next_timer(&self, inst: &Instance) -> Option<Timestamp> {
        inst.live_subs()
            .filter_map(|s| match s.kind {
                SubKind::Timer { due, .. }
                | SubKind::CallbackTimeout { due }
                | SubKind::Retry { due } => Some(due),
                _ => None,
            })
            .min()
    }
}
