//! Gateways: exclusive, parallel, inclusive, complex and event-based.
//!
//! Rules owned here:
//! - **Exclusive**: the first outgoing flow (document order, default excluded) whose condition
//!   is absent or true, else the default flow. No flow at all: the token ends if the gateway has
//!   no outgoing flows, else an incident. A failing condition is an incident.
//! - **Parallel split**: a token on every outgoing flow. **Parallel join** (more than one
//!   incoming flow): an arriving token waits (`Joined`); the join fires when as many tokens have
//!   arrived in the same scope as the gateway has incoming flows (arrivals are counted, as
//!   Camunda does, not matched per flow): the arriving token goes on, exactly incoming-1 others
//!   are absorbed, extra arrivals stay for the next firing.
//! - **Inclusive split**: every outgoing flow whose condition is absent or true, else the
//!   default; none is an incident. **Inclusive join**: an arriving token waits; once no token
//!   can move any more, a join fires when no live token in its scope stands on a node from
//!   which the join can still be reached (its reverse reach, including through activities a
//!   boundary event is attached to). Firing absorbs every other token waiting at it in that
//!   scope and splits as above.
//! - **Complex** with several incoming flows behaves as an inclusive join; otherwise as an
//!   exclusive gateway.
//! - **Event-based**: the token waits (`Catching`) on one subscription per target (catch
//!   events and receive tasks after it); the first to happen wins and cancels the others (see
//!   `boundaries.rs`).

use super::{Engine, Run, ScopeId, TokenId, TokenState};
use crate::model::{Deployment, FlowId, GatewayKind, NodeId, NodeKind, TaskKind, Trigger};
use std::collections::HashSet;

impl Engine {
    pub(super) fn gateway(&self, run: &mut Run, t: TokenId, kind: GatewayKind) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        let node = self.node(node_id);
        let via = tok.via;
        match kind {
            GatewayKind::Exclusive | GatewayKind::Complex => {
                if kind == GatewayKind::Complex && node.incoming.len() > 1 {
                    // Treated as an inclusive join (documented in COVERAGE.md).
                    return self.inclusive_gateway(run, t, via);
                }
                match self.select_flows(run.inst, scope, node, true, run.now) {
                    Ok(chosen) => match chosen.first() {
                        Some(&f) => self.move_token(run, t, f),
                        None if node.outgoing.is_empty() => self.consume(run, t),
                        None => self.incident(run, t, no_flow(&node.id)),
                    },
                    Err(msg) => self.incident(run, t, msg),
                }
            }
            GatewayKind::Parallel => {
                if node.incoming.len() > 1 {
                    run.inst.tok_mut(t).state = TokenState::Joined(via.unwrap_or(u32::MAX));
                    let arrived: Vec<TokenId> = run
                        .inst
                        .live_tokens()
                        .filter(|(_, x)| {
                            x.scope == scope
                                && x.node == node_id
                                && matches!(x.state, TokenState::Joined(_))
                        })
                        .map(|(i, _)| i)
                        .collect();
                    // Camunda counts arrivals: the join fires once as many tokens as incoming flows arrived.
                    if arrived.len() < node.incoming.len() {
                        return;
                    }
                    let mut others = node.incoming.len() - 1;
                    for &a in &arrived {
                        if a != t && others > 0 {
                            self.consume_silently(run, a);
                            others -= 1;
                        }
                    }
                    run.inst.tok_mut(t).state = TokenState::Ready;
                }
                let outs = node.outgoing.clone();
                if outs.is_empty() {
                    self.consume(run, t)
                } else {
                    self.fork(run, t, &outs)
                }
            }
            GatewayKind::Inclusive => self.inclusive_gateway(run, t, via),
            GatewayKind::EventBased => {
                run.inst.tok_mut(t).state = TokenState::Catching;
                for &f in &node.outgoing {
                    let target = self.deployment.flow(f).target;
                    let tnode = self.node(target);
                    let trig = match &tnode.kind {
                        NodeKind::IntermediateCatch { trigger } => Some(trigger.clone()),
                        NodeKind::Task(TaskKind::Receive) => Some(Trigger::Message(Some(
                            tnode.spec.message.as_ref().unwrap_or(&tnode.id).clone(),
                        ))),
                        _ => None,
                    };
                    if let Some(trig) = trig {
                        if let Err(msg) = self.subscribe(run, Some(t), scope, target, &trig) {
                            return self.incident(run, t, msg);
                        }
                    }
                }
            }
        }
    }

    pub(super) fn inclusive_gateway(&self, run: &mut Run, t: TokenId, via: Option<FlowId>) {
        let node_id = run.inst.tok(t).node;
        let node = self.node(node_id);
        if node.incoming.len() > 1 {
            run.inst.tok_mut(t).state = TokenState::Joined(via.unwrap_or(u32::MAX));
            // Whether it can fire is decided once nothing else can move (see `fire_inclusive_joins`).
            return;
        }
        self.inclusive_split(run, t);
    }

    pub(super) fn inclusive_split(&self, run: &mut Run, t: TokenId) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        let node = self.node(node_id);
        match self.select_flows(run.inst, scope, node, false, run.now) {
            Ok(chosen) if chosen.is_empty() && node.outgoing.is_empty() => self.consume(run, t),
            Ok(chosen) if chosen.is_empty() => self.incident(run, t, no_flow(&node.id)),
            Ok(chosen) => self.fork(run, t, &chosen),
            Err(msg) => self.incident(run, t, msg),
        }
    }

    /// Fires an inclusive join whose every possible arrival has arrived. True if one fired.
    pub(super) fn fire_inclusive_joins(&self, run: &mut Run) -> bool {
        let candidates: Vec<(TokenId, ScopeId, NodeId)> = run
            .inst
            .live_tokens()
            .filter(|(_, x)| {
                matches!(x.state, TokenState::Joined(_))
                    && self.inclusive_reach.contains_key(&x.node)
            })
            .map(|(i, x)| (i, x.scope, x.node))
            .collect();
        for &(t, scope, g) in &candidates {
            let reach = &self.inclusive_reach[&g];
            let blocked = run.inst.live_tokens().any(|(_, x)| {
                x.scope == scope
                    && !(x.node == g && matches!(x.state, TokenState::Joined(_)))
                    && reach.contains(&x.node)
            });
            if blocked {
                continue;
            }
            for &(o, s2, g2) in &candidates {
                if o != t && s2 == scope && g2 == g {
                    self.consume_silently(run, o);
                }
            }
            run.inst.tok_mut(t).state = TokenState::Ready;
            self.inclusive_split(run, t);
            return true;
        }
        false
    }
}

pub(super) fn reverse_reach(d: &Deployment, g: NodeId) -> HashSet<NodeId> {
    let mut seen = HashSet::new();
    let mut stack = vec![g];
    while let Some(n) = stack.pop() {
        for &f in &d.node(n).incoming {
            let src = d.flow(f).source;
            if seen.insert(src) {
                stack.push(src);
                if let NodeKind::Boundary { attached_to, .. } = d.node(src).kind {
                    if seen.insert(attached_to) {
                        stack.push(attached_to);
                    }
                }
            }
        }
    }
    // Link throw events reach their catch events' successors.
    seen
}

fn no_flow(gateway: &str) -> String {
    format!(
        "no outgoing flow of gateway '{gateway}' has a true condition and there is no default flow"
    )
}
