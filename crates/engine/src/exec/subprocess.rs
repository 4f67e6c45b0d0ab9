//! Sub-processes, event sub-processes and call activities: activities that run a scope.
//!
//! Rules owned here:
//! - **Embedded sub-process**: its token parks (`InScope`), its boundaries arm, its event
//!   sub-process starts subscribe, and a token starts at its none start event (else its first
//!   start event; none: it completes at once). It completes when its scope has no token left.
//! - **Call activity**: the called process (by id, among the files given; missing is an
//!   incident) runs in a child scope that gets a copy of every variable visible to the caller
//!   and is isolated from it; on completion its variables are copied back (see `scopes.rs`).
//!   Call activities nest at most `Limits::max_call_depth` deep: the one that would go deeper
//!   gets an incident, so a process calling itself stops at once instead of filling memory.
//! - **Event sub-process**: its start events subscribe when the scope around it starts and
//!   live as long as that scope. When one fires, a holder token for the event sub-process is
//!   put in the scope (so the scope cannot complete while it runs), it is entered, and its
//!   start event runs in a child scope of its own; when that scope empties, the holder ends.

use super::{Engine, IncidentRec, Run, ScopeId, ScopeKind, TokenId, TokenState};
use crate::model::{NodeId, NodeKind};
use serde_json::Map;

impl Engine {
    /// An embedded sub-process starts: its token parks while a child scope runs from the
    /// sub-process's start event (none: the scope completes at once).
    pub(super) fn enter_subprocess(&self, run: &mut Run, t: TokenId) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        let process = run.inst.scope(scope).process;
        let child = run.inst.new_scope(
            Some(scope),
            Some(t),
            process,
            Some(node_id),
            ScopeKind::Sub,
            Map::new(),
        );
        run.inst.tok_mut(t).state = TokenState::InScope(child);
        self.arm_boundaries(run, t);
        self.open_scope_subs(run, child);
        match self.pick_start(process, Some(node_id)) {
            Some(s) => {
                let nt = run.new_token(child, s);
                run.stack.push(nt);
            }
            None => self.close_scope_if_empty(run, child),
        }
    }

    /// A call activity starts the called process in a child scope of its own, with a copy of
    /// every variable the caller can see.
    pub(super) fn enter_call_activity(&self, run: &mut Run, t: TokenId, called_element: &str) {
        let Some((pidx, _)) = self.deployment.process_by_id(called_element) else {
            return self.incident(
                run,
                t,
                format!("calls process '{called_element}', which is not in the files given"),
            );
        };
        let scope = run.inst.tok(t).scope;
        let depth = run.inst.call_depth(scope) + 1;
        let max = self.limits.max_call_depth;
        if depth > max {
            return self.incident(
                run,
                t,
                format!("calls process '{called_element}' {depth} levels deep, more than the limit of {max} nested call activities (a process that calls itself without end?)"),
            );
        }
        if !self.charge(run, 1) {
            return self.stop_runaway(run, t);
        }
        let vars = run.inst.visible_vars(scope);
        let child = run.inst.new_scope(
            Some(scope),
            Some(t),
            pidx as u32,
            None,
            ScopeKind::Call,
            vars,
        );
        run.inst.tok_mut(t).state = TokenState::InScope(child);
        self.arm_boundaries(run, t);
        self.open_scope_subs(run, child);
        match self.pick_start(pidx as u32, None) {
            Some(s) => {
                let nt = run.new_token(child, s);
                run.stack.push(nt);
            }
            None => self.close_scope_if_empty(run, child),
        }
    }

    /// Registers the event sub-process start subscriptions of a newly started scope.
    pub(super) fn open_scope_subs(&self, run: &mut Run, scope: ScopeId) {
        let s = run.inst.scope(scope);
        let Some(starts) = self.event_starts.get(&(s.process, s.container)) else {
            return;
        };
        for &st in starts {
            if let NodeKind::StartEvent { trigger, .. } = &self.node(st).kind {
                if let Err(msg) = self.subscribe(run, None, scope, st, trigger) {
                    run.inst.incidents.push(IncidentRec {
                        token: u32::MAX,
                        element_id: self.node(st).id.clone(),
                        message: msg,
                    });
                }
            }
        }
    }

    pub(super) fn start_event_subprocess(
        &self,
        run: &mut Run,
        scope: ScopeId,
        esp: NodeId,
        start: NodeId,
    ) {
        // The event sub-process is parked as a token in the scope it belongs to, so that scope
        // does not complete while it runs.
        let holder = run.new_token(scope, esp);
        self.enter(run, esp);
        let process = run.inst.scope(scope).process;
        let child = run.inst.new_scope(
            Some(scope),
            Some(holder),
            process,
            Some(esp),
            ScopeKind::Sub,
            Map::new(),
        );
        run.inst.tok_mut(holder).state = TokenState::InScope(child);
        self.open_scope_subs(run, child);
        let st = run.new_token(child, start);
        run.stack.push(st);
    }
}
