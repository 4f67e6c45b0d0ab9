//! Compensation: undoing completed activities, the last completed first.
//!
//! Rules owned here:
//! - **What is remembered**: an activity that completes with a compensation boundary event
//!   (its handler), or a sub-process with a compensation event sub-process or with compensable
//!   activities inside, leaves a record in the scope it ran in, in completion order, with its
//!   local variables. A multi-instance inner instance records in the body, which hands its
//!   records to the surrounding scope only when the whole activity completes. An activity with
//!   its own handler is undone by that handler alone (its inside is not compensated).
//! - **A throw** (intermediate or end, optionally with `activityRef`) takes the records of its
//!   scope (only those of the referenced activity) and, inside an event sub-process, of the
//!   scopes around it; each record is taken once, so an activity is compensated at most once.
//!   Nothing to compensate: the thrower goes on at once.
//! - **Running the handlers**: in a compensation scope owned by the thrower (waiting) or by a
//!   holder token (not waiting), records are started in completion order from the stack so the
//!   last completed runs first. A handler that needs the activity's variables runs in a scope
//!   holding them; a sub-process without a handler runs its compensation event sub-process
//!   with its inner records, else compensates its inner records, last first.
//! - **Going on**: with `waitForCompletion` the thrower goes on when the compensation scope
//!   empties, otherwise at once. An intermediate throw leaves along its flows; an end event
//!   completes and ends its token; a transaction's cancel end event leaves the transaction by
//!   its cancel boundary event (`transaction.rs`).

use super::{Done, Engine, Run, ScopeId, ScopeKind, TokenId, TokenState};
use crate::api::Effect;
use crate::model::{NodeKind, Trigger};
use serde_json::{Map, Value};

impl Engine {
    /// An activity completed: if compensation could undo it later, remember it in the scope it
    /// ran in (an inner instance of a multi-instance activity: in the body, which hands what it
    /// remembered to the surrounding scope only once the whole activity completed).
    pub(super) fn remember_completion(
        &self,
        run: &mut Run,
        t: TokenId,
        inner: Vec<Done>,
        local: Map<String, Value>,
    ) {
        let tok = run.inst.tok(t);
        let (scope, node) = (tok.scope, tok.node);
        if inner.is_empty() && self.comp_handlers.is_empty() && self.comp_esps.is_empty() {
            return;
        }
        let own_handler = self.comp_handlers.contains_key(&node);
        if !own_handler && !self.comp_esps.contains_key(&node) && inner.is_empty() {
            return;
        }
        let s = run.inst.scope(scope);
        let (target, vars) = match s.kind {
            ScopeKind::MiInner { node: n } if n == node => {
                let mut vars = s.vars.clone();
                vars.extend(local);
                (s.parent.unwrap_or(scope), vars)
            }
            _ => (scope, local),
        };
        // An activity with its own handler is undone by that handler alone.
        let inner = if own_handler { Vec::new() } else { inner };
        if let Some(Some(s)) = run.inst.scopes.get_mut(target as usize) {
            s.done.push(Done { node, vars, inner });
        }
    }

    /// A compensation throw or end event: the completed activities of its scope (only those of
    /// `activityRef` when `by_ref`) are compensated, the last completed first, each at most once.
    /// Inside an event sub-process the scope around it counts too. With `wait` the thrower goes
    /// on once every handler finished; without, at once. Nothing to compensate: it just goes on.
    pub(super) fn throw_compensation(&self, run: &mut Run, t: TokenId, by_ref: bool, wait: bool) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        let only = self.comp_refs.get(&node_id).copied();
        // Scopes whose completed activities this throw reaches, outermost first (older first).
        let mut sources = vec![scope];
        let mut at = scope;
        loop {
            let s = run.inst.scope(at);
            let in_event_sub = matches!(s.kind, ScopeKind::Sub)
                && s.container.is_some_and(|c| {
                    matches!(&self.node(c).kind, NodeKind::SubProcess(sp) if sp.triggered_by_event)
                });
            match s.parent {
                Some(p) if in_event_sub && sources.len() < 64 => {
                    sources.insert(0, p);
                    at = p;
                }
                _ => break,
            }
        }
        let mut recs = Vec::new();
        for src in sources {
            let Some(Some(s)) = run.inst.scopes.get_mut(src as usize) else {
                continue;
            };
            if by_ref {
                let (hit, keep) = std::mem::take(&mut s.done)
                    .into_iter()
                    .partition(|r| Some(r.node) == only);
                s.done = keep;
                recs.extend::<Vec<Done>>(hit);
            } else {
                recs.append(&mut s.done);
            }
        }
        if recs.is_empty() {
            return self.after_compensation(run, t);
        }
        let (process, container) = {
            let s = run.inst.scope(scope);
            (s.process, s.container)
        };
        // Waiting: the thrower itself owns the handlers' scope. Not waiting: a holder token
        // keeps the thrower's scope open while they run, and the thrower goes on at once.
        let owner = if wait {
            t
        } else {
            run.new_token(scope, node_id)
        };
        let comp = run.inst.new_scope(
            Some(scope),
            Some(owner),
            process,
            container,
            ScopeKind::Compensation { resume: wait },
            Map::new(),
        );
        run.inst.tok_mut(owner).state = TokenState::InScope(comp);
        // Pushed in completion order, so the last completed runs first.
        for r in recs {
            self.spawn_compensation(run, comp, r, 0);
        }
        if run.inst.scope(comp).live == 0 {
            run.inst.drop_scope(comp);
            if wait {
                run.inst.tok_mut(t).state = TokenState::Ready;
            } else {
                self.consume_silently(run, owner);
            }
            return self.after_compensation(run, t);
        }
        if !wait {
            self.after_compensation(run, t);
        }
    }

    /// Starts undoing one completed activity inside the compensation scope `parent`: its
    /// handler, else its compensation event sub-process, else (a sub-process) the activities
    /// that completed inside it, last first.
    pub(super) fn spawn_compensation(&self, run: &mut Run, parent: ScopeId, rec: Done, depth: u32) {
        let handler = self.comp_handlers.get(&rec.node).copied();
        let esp = match handler {
            Some(_) => None,
            None => self.comp_esps.get(&rec.node).copied(),
        };
        // A handler that needs none of the activity's variables runs right in `parent`; else a
        // holder at the activity opens a scope with them (for a sub-process without a handler
        // of its own: the sub-process re-created around its compensation).
        let own_scope = handler.is_none() || !rec.vars.is_empty();
        let target = if own_scope {
            let holder = run.new_token(parent, rec.node);
            let (process, around) = {
                let s = run.inst.scope(parent);
                (s.process, s.container)
            };
            let container = match handler {
                None => Some(rec.node),
                Some(_) => around,
            };
            let c = run.inst.new_scope(
                Some(parent),
                Some(holder),
                process,
                container,
                ScopeKind::Compensation { resume: false },
                rec.vars,
            );
            run.inst.tok_mut(holder).state = TokenState::InScope(c);
            c
        } else {
            parent
        };
        if let Some(h) = handler {
            let nt = run.new_token(target, h);
            run.stack.push(nt);
        } else if let Some((esp, start)) = esp {
            // Its throw events compensate what completed inside the sub-process.
            run.inst.scope_mut(target).done = rec.inner;
            self.start_event_subprocess(run, target, esp, start);
        } else if depth < 256 {
            for r in rec.inner {
                self.spawn_compensation(run, target, r, depth + 1);
            }
        }
        if own_scope && run.inst.scope(target).live == 0 {
            // Nothing to run after all: never leave an empty scope waiting.
            let holder = run.inst.scope(target).owner;
            run.inst.drop_scope(target);
            if let Some(h) = holder {
                self.consume_silently(run, h);
            }
        }
    }

    /// The thrower of a compensation goes on: an intermediate throw event along its flows, an
    /// end event completes and ends its token.
    pub(super) fn after_compensation(&self, run: &mut Run, t: TokenId) {
        run.inst.tok_mut(t).state = TokenState::Ready;
        let node = run.inst.tok(t).node;
        if let NodeKind::EndEvent {
            trigger: Trigger::Cancel,
        } = self.node(node).kind
        {
            return self.leave_cancelled_transaction(run, t);
        }
        if let NodeKind::EndEvent { .. } = self.node(node).kind {
            run.effects.push(Effect::ElementCompleted {
                element_id: self.node(node).id.clone(),
            });
            self.consume(run, t);
        } else {
            self.take_outgoing(run, t);
        }
    }
}
