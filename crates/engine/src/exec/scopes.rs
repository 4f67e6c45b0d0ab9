//! Scopes and tokens: the bookkeeping every other rule is written in.
//!
//! Rules owned here:
//! - **Live count.** A scope counts its live tokens; adding a token increments, removing one
//!   decrements. Scope slot 0 is the root and is never freed; other freed slots (scopes and
//!   tokens) are reused, lowest first.
//! - **A token ends** (`consume`): its subscriptions go, it is removed, and its scope is
//!   completed if that was the last token. `consume_silently` removes without completing (a
//!   join absorbing an arrival, terminate, an interrupted token).
//! - **A scope completes** when it has no live token:
//!   the root ends the instance COMPLETED (subscriptions and compensation records cleared, the
//!   root's variables stay as the result); a multi-instance inner instance reports to its body;
//!   an embedded sub-process hands its local variables and compensation records to its token,
//!   which leaves the activity (an event sub-process's holder token just ends); a called
//!   process copies its variables back into the caller and its token leaves the call activity
//!   (what completed inside a called process is not compensated from the caller); a
//!   compensation scope resumes its waiting thrower or ends its holder token.
//! - **Cancel** a scope: cancel each of its tokens, drop its subscriptions, cancel and drop its
//!   owner-less child scopes (multi-instance inner instances). Cancel a token: its child scope
//!   is cancelled first; a receive task closes its callback as `Cancelled`; a failed token's
//!   incident is withdrawn; an `ElementCancelled` effect is emitted except for a compensation
//!   holder (bookkeeping, not an element that ran).
//! - **Incident**: a failure while running marks the token `Failed`, emits `IncidentRaised` and
//!   records the incident on the element; the token waits for `Retry`.
//! - **Retries**: a task with a `failedJobRetryTimeCycle` is tried again before any incident.
//!   A failed attempt with attempts left marks the token `Retrying`, counts it on the token,
//!   emits `AttemptFailed` and subscribes a `Retry` timer at the cycle's wait; when it is due
//!   the token runs its node again. The last attempt's failure opens the incident as above
//!   (and the count starts again, for a retry by hand). The count goes when the token moves
//!   on. A runaway stop never retries: running again would only run away again.
//! - **Variables** (Camunda's rule): a read looks from the innermost scope outwards and stops at
//!   the root or at a called process's root; a write goes to the innermost scope that already
//!   has the variable, else to the root (of the called process, inside a call activity).
//!   Scripts and expressions see the variables visible from the token's scope.

use super::{
    Ctx, Engine, IncidentRec, Instance, Run, Scope, ScopeId, ScopeKind, Token, TokenId, TokenState,
};
use crate::api::{Effect, Status};
use crate::model::{NodeId, NodeKind, ScriptId};
use crate::script::{ScriptError, ScriptInput, ScriptOutcome};
use jiff::Timestamp;
use serde_json::{Map, Value};
use std::collections::HashMap;

impl Engine {
    /// A token reached its end: remove it and complete its scope if that was the last one.
    pub(super) fn consume(&self, run: &mut Run, t: TokenId) {
        let scope = run.inst.tok(t).scope;
        self.disarm(run, t);
        run.inst.remove_token(t);
        self.close_scope_if_empty(run, scope);
    }

    /// Removes a token without completing its scope (joins, terminate, interrupt).
    pub(super) fn consume_silently(&self, run: &mut Run, t: TokenId) {
        self.disarm(run, t);
        run.inst.remove_token(t);
    }

    pub(super) fn close_scope_if_empty(&self, run: &mut Run, scope: ScopeId) {
        let Some(s) = run.inst.scopes.get(scope as usize).and_then(|s| s.as_ref()) else {
            return;
        };
        if s.live > 0 {
            return;
        }
        let parent = s.parent;
        let owner = s.owner;
        match s.kind {
            ScopeKind::Root => {
                // The root scope stays (its variables are the result); the instance is done.
                run.inst.clear_subs();
                run.inst.scope_mut(scope).done.clear();
                run.inst.status = Status::Completed;
                run.effects.push(Effect::Ended {
                    status: Status::Completed,
                });
            }
            ScopeKind::MiInner { .. } => {
                if let Some(body) = parent {
                    self.mi_inner_done(run, scope, body);
                }
            }
            ScopeKind::MiBody { .. } => {}
            // Its token left without completing (`io.rs` closes it on completion): the scope
            // around no longer counts the activity.
            ScopeKind::Local { .. } => {
                run.inst.remove_subs_of_scope(scope);
                run.inst.drop_scope(scope);
                if let Some(p) = parent {
                    self.release_local(run, p);
                }
            }
            ScopeKind::Sub | ScopeKind::Call => {
                let is_call = matches!(s.kind, ScopeKind::Call);
                // The scope is dropped below: its variables and compensable activities move out.
                let s = run.inst.scope_mut(scope);
                let vars = std::mem::take(&mut s.vars);
                let inner = std::mem::take(&mut s.done);
                run.inst.remove_subs_of_scope(scope);
                run.inst.drop_scope(scope);
                let Some(o) = owner else { return };
                let Some(p) = parent else { return };
                if is_call {
                    // The called process hands its variables back to the caller. What completed
                    // in it is not compensated from the caller (as in Camunda 7).
                    self.set_vars(run, p, vars);
                    run.inst.tok_mut(o).state = TokenState::Ready;
                    return self.leave_activity(run, o);
                }
                let holder_node = run.inst.tok(o).node;
                let is_event_sub = matches!(&self.node(holder_node).kind, NodeKind::SubProcess(sp) if sp.triggered_by_event);
                run.inst.tok_mut(o).state = TokenState::Ready;
                if is_event_sub {
                    self.consume(run, o);
                } else {
                    self.leave_activity_with(run, o, inner, vars);
                }
            }
            ScopeKind::Compensation { resume } => {
                run.inst.remove_subs_of_scope(scope);
                run.inst.drop_scope(scope);
                let Some(o) = owner else { return };
                if run.inst.tokens.get(o as usize).is_none_or(|x| x.is_none()) {
                    return;
                }
                if resume {
                    self.after_compensation(run, o);
                } else {
                    self.consume(run, o);
                }
            }
        }
    }

    /// A parameters' scope inside `scope` went without its activity completing: `scope` stops
    /// counting it, and completes if that was the last.
    fn release_local(&self, run: &mut Run, scope: ScopeId) {
        if let Some(Some(s)) = run.inst.scopes.get_mut(scope as usize) {
            s.live = s.live.saturating_sub(1);
        }
        self.close_scope_if_empty(run, scope);
    }

    /// Cancels everything inside a scope: its tokens, their child scopes, its subscriptions.
    pub(super) fn cancel_scope(&self, run: &mut Run, scope: ScopeId) {
        let index = CancelIndex::of(run.inst);
        self.cancel_scope_in(run, scope, &index);
    }

    /// Cancels everything inside a scope except token `keep` (a transaction's cancel end
    /// event, which goes on to compensate what completed there).
    pub(super) fn cancel_scope_except(&self, run: &mut Run, scope: ScopeId, keep: TokenId) {
        let index = CancelIndex::of(run.inst);
        self.cancel_scope_but(run, scope, &index, Some(keep));
    }

    fn cancel_scope_in(&self, run: &mut Run, scope: ScopeId, index: &CancelIndex) {
        self.cancel_scope_but(run, scope, index, None);
    }

    fn cancel_scope_but(
        &self,
        run: &mut Run,
        scope: ScopeId,
        index: &CancelIndex,
        keep: Option<TokenId>,
    ) {
        for &t in index.tokens.get(&scope).into_iter().flatten() {
            if Some(t) != keep {
                self.cancel_token_in(run, t, Some(index));
            }
        }
        run.inst.remove_subs_of_scope(scope);
        // Child scopes without an owner token (multi-instance inner instances).
        for &c in index.orphans.get(&scope).into_iter().flatten() {
            if run.inst.scopes.get(c as usize).is_some_and(|s| s.is_some()) {
                self.cancel_scope_in(run, c, index);
                run.inst.drop_scope(c);
            }
        }
    }

    pub(super) fn cancel_token(&self, run: &mut Run, t: TokenId) {
        self.cancel_token_in(run, t, None);
    }

    /// `index`: the instance's tokens and owner-less scopes by scope, when a cancellation
    /// under way built it already (cancelling creates nothing, so it stays good).
    fn cancel_token_in(&self, run: &mut Run, t: TokenId, index: Option<&CancelIndex>) {
        let Some(tok) = run.inst.tokens.get(t as usize).and_then(|x| x.clone()) else {
            return;
        };
        // A holder of compensation work is bookkeeping, not an element that was running.
        let mut holder = false;
        match &tok.state {
            TokenState::InScope(child) => {
                let child = *child;
                holder = matches!(
                    run.inst.scopes.get(child as usize),
                    Some(Some(Scope {
                        kind: ScopeKind::Compensation { resume: false },
                        ..
                    }))
                );
                match index {
                    Some(index) => self.cancel_scope_in(run, child, index),
                    None => self.cancel_scope(run, child),
                }
                run.inst.drop_scope(child);
            }
            TokenState::ReceiveTask { key, .. } => {
                run.effects.push(Effect::CallbackClosed {
                    task_id: self.node(tok.node).id.clone(),
                    correlation_key: key.clone(),
                    status: "Cancelled",
                });
            }
            TokenState::Failed => run.inst.incidents.retain(|r| r.token != t),
            _ => {}
        }
        if !holder {
            run.effects.push(Effect::ElementCancelled {
                element_id: self.node(tok.node).id.clone(),
            });
        }
        let local = run.inst.params_scope(t);
        self.disarm(run, t);
        run.inst.remove_token(t);
        // An activity's parameters' scope goes with it, and the scope around stops counting it
        // (without completing: whoever cancels decides what happens to that scope).
        if let Some(local) = local {
            let parent = run.inst.scope(local).parent;
            run.inst.remove_subs_of_scope(local);
            run.inst.drop_scope(local);
            if let Some(Some(s)) = parent.and_then(|p| run.inst.scopes.get_mut(p as usize)) {
                s.live = s.live.saturating_sub(1);
            }
        }
    }

    /// A failure at token `t`'s node: another attempt later when the node is a task whose retry
    /// cycle has attempts left, else an incident.
    pub(super) fn incident(&self, run: &mut Run, t: TokenId, message: String) {
        let Some(tok) = run.inst.tokens.get(t as usize).and_then(|x| x.as_ref()) else {
            return self.raise_incident(run, t, message);
        };
        let node = self.node(tok.node);
        let cycle = match (&node.kind, &node.spec.retry_cycle, &node.spec.retry_expr) {
            (NodeKind::Task(_), Some(c), _) => c.clone(),
            (NodeKind::Task(_), None, Some(src)) => {
                match self.retry_cycle_of(run.inst, tok.scope, src, run.now) {
                    Ok(c) => c,
                    Err(why) => {
                        let message =
                            format!("{message} (no retry: failedJobRetryTimeCycle {why})");
                        return self.raise_incident(run, t, message);
                    }
                }
            }
            _ => return self.raise_incident(run, t, message),
        };
        let failures = tok.failures + 1;
        if failures >= cycle.attempts() {
            run.inst.tok_mut(t).failures = 0;
            return self.raise_incident(run, t, message);
        }
        let retry_at = run
            .now
            .saturating_add(cycle.wait_after(i64::from(failures)))
            .unwrap_or(Timestamp::MAX);
        let (scope, node_id) = (tok.scope, tok.node);
        // The task now waits: its boundary events listen meanwhile, as on any waiting task
        // (armed once: a task that failed after it began waiting has them already).
        if run.inst.find_sub(|s| s.token == Some(t)).is_none() {
            self.arm_boundaries(run, t);
            if run.inst.tok(t).state == TokenState::Failed {
                return;
            }
        }
        let tok = run.inst.tok_mut(t);
        tok.failures = failures;
        tok.state = TokenState::Retrying;
        run.inst.add_sub(
            Some(t),
            scope,
            node_id,
            super::SubKind::Retry { due: retry_at },
        );
        run.effects.push(Effect::AttemptFailed {
            element_id: node.id.clone(),
            message,
            attempt: failures,
            attempts: cycle.attempts(),
            retry_at,
        });
    }

    /// The retry cycle a task's expression yields now, held to the same limits as a cycle
    /// written out (checked at deploy); the error says what it yielded and why it cannot be used.
    fn retry_cycle_of(
        &self,
        inst: &Instance,
        scope: ScopeId,
        src: &crate::model::Source,
        now: Timestamp,
    ) -> Result<crate::retry::RetryCycle, String> {
        let value = self
            .eval_value(inst, scope, src.id, now)
            .map_err(|e| format!("the expression '{}' failed: {}", src.text, e.message))?;
        let text = match value {
            Value::String(s) => s,
            other => other.to_string(),
        };
        let cycle = crate::retry::RetryCycle::parse(&text)
            .map_err(|why| format!("the expression '{}' gave '{text}': {why}", src.text))?;
        match cycle.too_long_for(self.limits.max_timer_wait) {
            Some(why) => Err(format!(
                "the expression '{}' gave '{text}': it {why}",
                src.text
            )),
            None => Ok(cycle),
        }
    }

    /// Opens an incident on token `t`'s node (no retry).
    pub(super) fn raise_incident(&self, run: &mut Run, t: TokenId, message: String) {
        let element_id = match run.inst.tokens.get(t as usize).and_then(|x| x.as_ref()) {
            Some(tok) => self.node(tok.node).id.clone(),
            None => String::new(),
        };
        if let Some(tok) = run.inst.tokens.get_mut(t as usize).and_then(|x| x.as_mut()) {
            tok.state = TokenState::Failed;
        }
        run.effects.push(Effect::IncidentRaised {
            element_id: element_id.clone(),
            message: message.clone(),
        });
        run.inst.incidents.push(IncidentRec {
            token: t,
            element_id,
            message,
        });
    }

    pub(super) fn set_vars(&self, run: &mut Run, scope: ScopeId, vars: Map<String, Value>) {
        for (k, v) in vars {
            self.set_var(run, scope, k, v);
        }
    }

    /// Camunda's rule: write to the scope where the variable exists, else to the instance
    /// (or to the called process's root inside a call activity).
    pub(super) fn set_var(&self, run: &mut Run, scope: ScopeId, name: String, value: Value) {
        run.inst.set_var(scope, name, value);
    }

    pub(super) fn run_script(
        &self,
        inst: &Instance,
        scope: ScopeId,
        id: ScriptId,
        now: Timestamp,
        form_data: Option<&Value>,
        user: Option<&str>,
    ) -> Result<ScriptOutcome, ScriptError> {
        let lookup = |name: &str| inst.lookup(scope, name).cloned();
        let all = || inst.visible_vars(scope);
        let input = ScriptInput {
            lookup: &lookup,
            all: &all,
            form_data,
            current_user: user,
            now,
        };
        self.scripts.run_with_commands(id, &input)
    }

    pub(super) fn eval_condition(
        &self,
        inst: &Instance,
        scope: ScopeId,
        id: ScriptId,
        now: Timestamp,
    ) -> Result<bool, ScriptError> {
        let lookup = |name: &str| inst.lookup(scope, name).cloned();
        let all = || inst.visible_vars(scope);
        let input = ScriptInput {
            lookup: &lookup,
            all: &all,
            form_data: None,
            current_user: None,
            now,
        };
        self.scripts.condition(id, &input)
    }

    pub(super) fn eval_value(
        &self,
        inst: &Instance,
        scope: ScopeId,
        id: ScriptId,
        now: Timestamp,
    ) -> Result<Value, ScriptError> {
        // An expression, not a script task: `doCmd` is refused (plain `run`).
        let lookup = |name: &str| inst.lookup(scope, name).cloned();
        let all = || inst.visible_vars(scope);
        let input = ScriptInput {
            lookup: &lookup,
            all: &all,
            form_data: None,
            current_user: None,
            now,
        };
        self.scripts.run(id, &input).map(|o| o.value)
    }
}

impl<'a, 'c> Run<'a, 'c> {
    pub(super) fn new(inst: &'a mut Instance, ctx: &'a Ctx<'c>) -> Self {
        let now = ctx.clock.now();
        inst.status = if inst.status == Status::Failed {
            Status::Failed
        } else {
            Status::Running
        };
        Run {
            inst,
            ctx,
            now,
            effects: Vec::new(),
            stack: Vec::new(),
            pending_signals: Vec::new(),
            work: 0,
        }
    }
    pub(super) fn new_token(&mut self, scope: ScopeId, node: NodeId) -> TokenId {
        self.inst.add_token(Token {
            scope,
            node,
            state: TokenState::Ready,
            loops: 0,
            via: None,
            assignee: None,
            failures: 0,
        })
    }
    pub(super) fn finish(self) -> Vec<Effect> {
        let _ = self.ctx;
        self.effects
    }
}

impl Instance {
    pub(super) fn tok(&self, t: TokenId) -> &Token {
        self.tokens[t as usize]
            .as_ref()
            .expect("token id refers to a live token")
    }
    pub(super) fn tok_mut(&mut self, t: TokenId) -> &mut Token {
        self.tokens[t as usize]
            .as_mut()
            .expect("token id refers to a live token")
    }
    pub(super) fn scope(&self, s: ScopeId) -> &Scope {
        self.scopes[s as usize]
            .as_ref()
            .expect("scope id refers to a live scope")
    }
    pub(super) fn scope_mut(&mut self, s: ScopeId) -> &mut Scope {
        self.scopes[s as usize]
            .as_mut()
            .expect("scope id refers to a live scope")
    }
    pub(super) fn live_tokens(&self) -> impl Iterator<Item = (TokenId, &Token)> {
        self.tokens
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.as_ref().map(|t| (i as TokenId, t)))
    }
    /// The parameters' scope the activity at token `t` stands in (`io.rs`), if it has one.
    pub(super) fn params_scope(&self, t: TokenId) -> Option<ScopeId> {
        let tok = self.tokens.get(t as usize)?.as_ref()?;
        let s = self.scopes.get(tok.scope as usize)?.as_ref()?;
        matches!(s.kind, ScopeKind::Local { node } if node == tok.node).then_some(tok.scope)
    }

    /// The scope around the activity at token `t`: outside its parameters' scope, if it has
    /// one (where its boundary events start their tokens).
    pub(super) fn outer_scope(&self, t: TokenId) -> ScopeId {
        match self.params_scope(t) {
            Some(local) => self.scope(local).parent.unwrap_or(local),
            None => self.tok(t).scope,
        }
    }

    /// Variable lookup: innermost scope first, stopping at a called process's boundary.
    pub(super) fn lookup(&self, mut scope: ScopeId, name: &str) -> Option<&Value> {
        loop {
            let s = self.scopes.get(scope as usize)?.as_ref()?;
            if let Some(v) = s.vars.get(name) {
                return Some(v);
            }
            if matches!(s.kind, ScopeKind::Root | ScopeKind::Call) {
                return None;
            }
            scope = s.parent?;
        }
    }

    /// Every variable visible from a scope, innermost winning.
    pub(super) fn visible_vars(&self, mut scope: ScopeId) -> Map<String, Value> {
        let mut chain = Vec::new();
        while let Some(Some(s)) = self.scopes.get(scope as usize) {
            chain.push(s);
            if matches!(s.kind, ScopeKind::Root | ScopeKind::Call) {
                break;
            }
            match s.parent {
                Some(p) => scope = p,
                None => break,
            }
        }
        let mut out = Map::new();
        for s in chain.into_iter().rev() {
            for (k, v) in &s.vars {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }

    pub(super) fn set_var(&mut self, start: ScopeId, name: String, value: Value) {
        let mut scope = start;
        loop {
            let Some(Some(s)) = self.scopes.get(scope as usize) else {
                return;
            };
            if s.vars.contains_key(&name) || matches!(s.kind, ScopeKind::Root | ScopeKind::Call) {
                if let Some(Some(s)) = self.scopes.get_mut(scope as usize) {
                    s.vars.insert(name, value);
                }
                return;
            }
            match s.parent {
                Some(p) => scope = p,
                None => return,
            }
        }
    }
}

/// Every live token by its scope and every owner-less scope by its parent, in slot order: one
/// pass over the instance, so cancelling a scope with N inner instances costs N, not N².
struct CancelIndex {
    tokens: HashMap<ScopeId, Vec<TokenId>>,
    orphans: HashMap<ScopeId, Vec<ScopeId>>,
}

impl CancelIndex {
    fn of(inst: &Instance) -> CancelIndex {
        let mut tokens: HashMap<ScopeId, Vec<TokenId>> = HashMap::new();
        for (i, t) in inst.live_tokens() {
            tokens.entry(t.scope).or_default().push(i);
        }
        let mut orphans: HashMap<ScopeId, Vec<ScopeId>> = HashMap::new();
        for (i, s) in inst.scopes.iter().enumerate() {
            if let Some(Scope {
                parent: Some(p),
                owner: None,
                ..
            }) = s
            {
                orphans.entry(*p).or_default().push(i as ScopeId);
            }
        }
        CancelIndex { tokens, orphans }
    }
}
