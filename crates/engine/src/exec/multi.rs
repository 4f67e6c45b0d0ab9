//! Multi-instance activities and standard loops.
//!
//! Rules owned here:
//! - **Standard loop**: after each run the count goes up; the activity runs again while the
//!   loop condition is true and the count is below `loopMaximum` (a failing condition is an
//!   incident). With `testBefore`, a false condition before the first run skips the activity
//!   (it is entered and left). Leaving the loop resets the count.
//! - **Multi-instance**: the number of instances is the length of the collection (must be a
//!   list; unset or another type is an incident) or `loopCardinality` (a whole number of 0 or
//!   more, at most `Limits::max_cardinality`; more is an incident, as is a parallel start that
//!   would pass `Limits::max_live_inner_instances` alive in the instance, nested ones
//!   included, or the command's work budget). Zero instances: the activity is entered and left. Otherwise a
//!   body scope holds `nrOfInstances`, `nrOfActiveInstances`, `nrOfCompletedInstances`, the
//!   body's token arms the boundary events, and inner instances start: all at once (parallel)
//!   or one at a time (sequential). Each inner instance has its own scope with `loopCounter`
//!   (0-based) and the element variable bound to its item.
//! - **Completion**: each finished inner instance updates the counters; the activity is done
//!   when all completed or the completion condition (read in the finished inner instance's
//!   scope; failing is an incident on the body) is true. Then inner instances still running
//!   are cancelled, the inner instances that completed become compensable in the scope around
//!   the activity, and the body's token leaves the activity. Sequential: else the next starts.

use super::{Engine, Run, ScopeId, ScopeKind, TokenId, TokenState};
use crate::model::Looping;
use serde_json::{Map, Value};

impl Engine {
    /// A standard loop with `testBefore` about to run for the first time: a false condition
    /// skips the activity (entered, then left along its flows). True when the token was dealt
    /// with here (skipped, or an incident).
    pub(super) fn loop_skips(&self, run: &mut Run, t: TokenId) -> bool {
        let tok = run.inst.tok(t);
        let (node_id, tok_scope) = (tok.node, tok.scope);
        let Some(Looping::Standard {
            condition: Some(c),
            test_before: true,
            ..
        }) = &self.node(node_id).looping
        else {
            return false;
        };
        match self.eval_condition(run.inst, tok_scope, c.id, run.now) {
            Ok(true) => false,
            Ok(false) => {
                self.enter(run, node_id);
                self.take_outgoing(run, t);
                true
            }
            Err(e) => {
                self.incident(run, t, format!("loop condition failed: {}", e.message));
                true
            }
        }
    }

    /// A standard-loop activity finished one run: it runs again while its condition holds and
    /// `loopMaximum` is not reached. True when the token was dealt with here (queued to run
    /// again, or an incident); false when it leaves the activity (its count reset).
    pub(super) fn repeat_standard_loop(&self, run: &mut Run, t: TokenId) -> bool {
        let tok = run.inst.tok(t);
        let (tok_scope, tok_loops) = (tok.scope, tok.loops);
        let Some(Looping::Standard {
            condition, maximum, ..
        }) = &self.node(tok.node).looping
        else {
            return false;
        };
        let loops = tok_loops + 1;
        run.inst.tok_mut(t).loops = loops;
        let again = match condition {
            Some(c) if maximum.is_none_or(|m| (loops as u64) < m) => {
                match self.eval_condition(run.inst, tok_scope, c.id, run.now) {
                    Ok(b) => b,
                    Err(e) => {
                        self.incident(run, t, format!("loop condition failed: {}", e.message));
                        return true;
                    }
                }
            }
            _ => false,
        };
        if again {
            run.inst.tok_mut(t).state = TokenState::Ready;
            run.stack.push(t);
            return true;
        }
        run.inst.tok_mut(t).loops = 0;
        false
    }

    pub(super) fn enter_mi_body(&self, run: &mut Run, t: TokenId) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        let Some(Looping::Multi(mi)) = &self.node(node_id).looping else {
            return;
        };
        let (total, items) = if let Some(coll) = &mi.collection {
            match self.eval_value(run.inst, scope, coll.id, run.now) {
                Ok(Value::Array(a)) => (a.len() as u32, Some(a)),
                Ok(Value::Null) => {
                    return self.incident(run, t, format!("collection '{}' is not set", coll.text))
                }
                Ok(other) => {
                    return self.incident(
                        run,
                        t,
                        format!(
                            "collection '{}' is not a list (got {})",
                            coll.text,
                            type_word(&other)
                        ),
                    )
                }
                Err(e) => {
                    return self.incident(run, t, format!("collection failed: {}", e.message))
                }
            }
        } else if let Some(card) = &mi.cardinality {
            match self.eval_value(run.inst, scope, card.id, run.now) {
                Ok(v) => match whole_number(&v) {
                    Some(n) if n <= self.limits.max_cardinality => (n as u32, None),
                    Some(n) => {
                        return self.incident(
                            run,
                            t,
                            format!(
                                "loopCardinality is {n}, more than the limit of {} instances",
                                self.limits.max_cardinality
                            ),
                        )
                    }
                    None => {
                        return self.incident(
                            run,
                            t,
                            format!("loopCardinality must be a whole number of 0 or more, got {v}"),
                        )
                    }
                },
                Err(e) => {
                    return self.incident(run, t, format!("loopCardinality failed: {}", e.message))
                }
            }
        } else {
            return self.incident(
                run,
                t,
                "multi-instance has neither loopCardinality nor a collection".into(),
            );
        };
        let limits = &self.limits;
        if u64::from(total) > limits.max_cardinality {
            return self.incident(
                run,
                t,
                format!(
                    "the collection has {total} items, more than the limit of {} instances",
                    limits.max_cardinality
                ),
            );
        }
        let launch = if mi.sequential { 1 } else { total };
        let live = run.inst.live_inner_instances();
        if live + u64::from(launch) > limits.max_live_inner_instances {
            return self.incident(
                run,
                t,
                format!(
                    "starting {launch} instances with {live} already running in this process instance would pass the limit of {} instances at once",
                    limits.max_live_inner_instances
                ),
            );
        }
        if !self.charge(run, u64::from(launch)) {
            return self.stop_runaway(run, t);
        }
        self.enter(run, node_id);
        if total == 0 {
            return self.take_outgoing(run, t);
        }
        let mut vars = Map::new();
        vars.insert("nrOfInstances".into(), total.into());
        vars.insert("nrOfCompletedInstances".into(), 0.into());
        vars.insert("nrOfActiveInstances".into(), 0.into());
        let process = run.inst.scope(scope).process;
        let container = run.inst.scope(scope).container;
        let body = run.inst.new_scope(
            Some(scope),
            Some(t),
            process,
            container,
            ScopeKind::MiBody {
                node: node_id,
                total,
                completed: 0,
                active: 0,
                next: 0,
                items,
            },
            vars,
        );
        run.inst.tok_mut(t).state = TokenState::InScope(body);
        self.arm_boundaries(run, t);
        let mut started = Vec::new();
        for _ in 0..launch {
            started.push(self.spawn_mi_inner(run, body));
        }
        for nt in started.into_iter().rev() {
            run.stack.push(nt);
        }
    }

    pub(super) fn spawn_mi_inner(&self, run: &mut Run, body: ScopeId) -> TokenId {
        let (process, container) = {
            let s = run.inst.scope(body);
            (s.process, s.container)
        };
        let ScopeKind::MiBody {
            node,
            next,
            active,
            ref items,
            ..
        } = run.inst.scope(body).kind
        else {
            unreachable!("spawn_mi_inner is only called with a multi-instance body")
        };
        let item = items
            .as_ref()
            .map(|a| a.get(next as usize).cloned().unwrap_or(Value::Null));
        let mut vars = Map::new();
        vars.insert("loopCounter".into(), next.into());
        if let Some(Looping::Multi(mi)) = &self.node(node).looping {
            if let (Some(ev), Some(item)) = (&mi.element_variable, item) {
                vars.insert(ev.clone(), item);
            }
        }
        if let ScopeKind::MiBody { next, active, .. } = &mut run.inst.scope_mut(body).kind {
            *next += 1;
            *active += 1;
        }
        run.inst
            .scope_mut(body)
            .vars
            .insert("nrOfActiveInstances".into(), (active + 1).into());
        let inner = run.inst.new_scope(
            Some(body),
            None,
            process,
            container,
            ScopeKind::MiInner { node },
            vars,
        );
        run.new_token(inner, node)
    }

    /// An inner instance finished: count it, check the completion condition, go on.
    pub(super) fn mi_inner_done(&self, run: &mut Run, inner: ScopeId, body: ScopeId) {
        let ScopeKind::MiBody {
            node,
            total,
            completed,
            active,
            next,
            ..
        } = run.inst.scope(body).kind
        else {
            return;
        };
        let (completed, active) = (completed + 1, active.saturating_sub(1));
        if let ScopeKind::MiBody {
            completed: c,
            active: a,
            ..
        } = &mut run.inst.scope_mut(body).kind
        {
            *c = completed;
            *a = active;
        }
        {
            let v = &mut run.inst.scope_mut(body).vars;
            v.insert("nrOfCompletedInstances".into(), completed.into());
            v.insert("nrOfActiveInstances".into(), active.into());
        }
        let Some(Looping::Multi(mi)) = &self.node(node).looping else {
            return;
        };
        let mut done = completed >= total;
        if !done {
            if let Some(cc) = &mi.completion_condition {
                match self.eval_condition(run.inst, inner, cc.id, run.now) {
                    Ok(b) => done = b,
                    Err(e) => {
                        run.inst.drop_scope(inner);
                        let owner = run.inst.scope(body).owner.unwrap_or(u32::MAX);
                        return self.incident(
                            run,
                            owner,
                            format!("completionCondition failed: {}", e.message),
                        );
                    }
                }
            }
        }
        run.inst.drop_scope(inner);
        let owner = run.inst.scope(body).owner;
        if done {
            // Cancel the inner instances still running, then the body token moves on. The inner
            // instances that completed become compensable in the scope around the activity.
            let completed = std::mem::take(&mut run.inst.scope_mut(body).done);
            let around = run.inst.scope(body).parent;
            self.cancel_scope(run, body);
            run.inst.drop_scope(body);
            if let Some(s) = around.and_then(|p| run.inst.scopes.get_mut(p as usize)) {
                if let Some(s) = s.as_mut() {
                    s.done.extend(completed);
                }
            }
            if let Some(o) = owner {
                run.inst.tok_mut(o).state = TokenState::Ready;
                self.disarm(run, o);
                self.take_outgoing(run, o);
            }
        } else if mi.sequential && next < total {
            // Counted against the command's work; the run loop stops when it is spent.
            self.charge(run, 1);
            let nt = self.spawn_mi_inner(run, body);
            run.stack.push(nt);
        }
    }
}

/// A `loopCardinality` value as a whole number of 0 or more: an integer, a float without a
/// fraction (1e308 reads as a very large number, NaN and infinities as none) or a text holding one.
fn whole_number(v: &Value) -> Option<u64> {
    let f = match v {
        Value::Number(n) => match n.as_u64() {
            Some(u) => return Some(u),
            None => n.as_f64()?,
        },
        Value::String(s) => {
            let s = s.trim();
            match s.parse::<u64>() {
                Ok(u) => return Some(u),
                Err(_) => s.parse::<f64>().ok()?,
            }
        }
        _ => return None,
    };
    (f.is_finite() && f >= 0.0 && f.fract() == 0.0).then(|| f.min(u64::MAX as f64) as u64)
}

fn type_word(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
