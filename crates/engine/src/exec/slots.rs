//! Slot bookkeeping: which token and scope slots are free, how many multi-instance inner
//! instances are alive, and which tokens and scopes own subscriptions.
//!
//! Rules owned here:
//! - **Slots**: a new token or scope takes the lowest free slot, else a new one at the end
//!   (scope slot 0 is the root and is never freed). Finding that slot costs a heap operation,
//!   not a scan, so starting N inner instances of a multi-instance activity costs N, not N².
//! - **Subscriptions** are removed by owner token, by scope or by id; a token or scope that owns
//!   none is skipped without looking at the others, so a step does not pay for every
//!   subscription the instance holds.
//! - The bookkeeping is not part of the state: it is rebuilt from the state on first use after
//!   the state was read, and every change to tokens, scopes and subscriptions goes through the
//!   methods here so it stays true.

use super::{Instance, Scope, ScopeId, ScopeKind, Sub, SubKind, Token, TokenId};
use crate::model::NodeId;
use serde_json::{Map, Value};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// What [`Instance`] knows about its own slots; see the module comment.
#[derive(Debug, Clone, Default)]
pub(super) struct Slots {
    free_tokens: BinaryHeap<Reverse<TokenId>>,
    free_scopes: BinaryHeap<Reverse<ScopeId>>,
    /// Live `MiInner` scopes.
    mi_inner: u64,
    /// Subscriptions per owner token and per scope (absent: none).
    subs_by_token: HashMap<TokenId, u32>,
    subs_by_scope: HashMap<ScopeId, u32>,
}

impl Slots {
    fn build(inst: &Instance) -> Slots {
        let mut s = Slots::default();
        for (i, t) in inst.tokens.iter().enumerate() {
            if t.is_none() {
                s.free_tokens.push(Reverse(i as TokenId));
            }
        }
        for (i, x) in inst.scopes.iter().enumerate().skip(1) {
            match x {
                None => s.free_scopes.push(Reverse(i as ScopeId)),
                Some(Scope {
                    kind: ScopeKind::MiInner { .. },
                    ..
                }) => s.mi_inner += 1,
                Some(_) => {}
            }
        }
        for sub in &inst.subs {
            s.count_sub(sub, 1);
        }
        s
    }

    fn count_sub(&mut self, sub: &Sub, add: i32) {
        fn bump(m: &mut HashMap<u32, u32>, k: u32, add: i32) {
            let n = m.get(&k).copied().unwrap_or(0).saturating_add_signed(add);
            if n == 0 {
                m.remove(&k);
            } else {
                m.insert(k, n);
            }
        }
        if let Some(t) = sub.token {
            bump(&mut self.subs_by_token, t, add);
        }
        bump(&mut self.subs_by_scope, sub.scope, add);
    }
}

impl Instance {
    /// The slot bookkeeping, rebuilt from the state when it was just read.
    fn slots(&mut self) -> &mut Slots {
        if self.slots.is_none() {
            self.slots = Some(Box::new(Slots::build(self)));
        }
        self.slots.as_mut().expect("just built")
    }

    pub(super) fn add_token(&mut self, tok: Token) -> TokenId {
        let scope = tok.scope;
        if let Some(s) = self.scopes.get_mut(scope as usize).and_then(|s| s.as_mut()) {
            s.live += 1;
        }
        match self.slots().free_tokens.pop() {
            Some(Reverse(i)) => {
                self.tokens[i as usize] = Some(tok);
                i
            }
            None => {
                self.tokens.push(Some(tok));
                (self.tokens.len() - 1) as TokenId
            }
        }
    }

    pub(super) fn remove_token(&mut self, t: TokenId) {
        if let Some(tok) = self.tokens.get_mut(t as usize).and_then(|x| x.take()) {
            self.slots().free_tokens.push(Reverse(t));
            if let Some(s) = self
                .scopes
                .get_mut(tok.scope as usize)
                .and_then(|s| s.as_mut())
            {
                s.live = s.live.saturating_sub(1);
            }
        }
    }

    pub(super) fn new_scope(
        &mut self,
        parent: Option<ScopeId>,
        owner: Option<TokenId>,
        process: u32,
        container: Option<NodeId>,
        kind: ScopeKind,
        vars: Map<String, Value>,
    ) -> ScopeId {
        let inner = matches!(kind, ScopeKind::MiInner { .. });
        let s = Some(Scope {
            parent,
            owner,
            process,
            container,
            kind,
            vars,
            live: 0,
            done: Vec::new(),
        });
        let slots = self.slots();
        if inner {
            slots.mi_inner += 1;
        }
        // Slot 0 is always the root; freed slots after it are reused, lowest first.
        match slots.free_scopes.pop() {
            Some(Reverse(i)) => {
                self.scopes[i as usize] = s;
                i
            }
            None => {
                self.scopes.push(s);
                (self.scopes.len() - 1) as ScopeId
            }
        }
    }

    pub(super) fn drop_scope(&mut self, s: ScopeId) {
        if s == 0 {
            return;
        }
        let Some(old) = self.scopes.get_mut(s as usize).and_then(|x| x.take()) else {
            return;
        };
        let slots = self.slots();
        slots.free_scopes.push(Reverse(s));
        if matches!(old.kind, ScopeKind::MiInner { .. }) {
            slots.mi_inner = slots.mi_inner.saturating_sub(1);
        }
    }

    /// How many called processes run around `scope` (0 outside any call activity).
    pub(super) fn call_depth(&self, mut scope: ScopeId) -> u32 {
        let mut depth = 0;
        while let Some(Some(s)) = self.scopes.get(scope as usize) {
            if matches!(s.kind, ScopeKind::Call) {
                depth += 1;
            }
            match s.parent {
                Some(p) => scope = p,
                None => break,
            }
        }
        depth
    }

    /// Multi-instance inner instances alive in this instance (nested ones included).
    pub(super) fn live_inner_instances(&mut self) -> u64 {
        self.slots().mi_inner
    }

    pub(super) fn add_sub(
        &mut self,
        token: Option<TokenId>,
        scope: ScopeId,
        node: NodeId,
        kind: SubKind,
    ) {
        let id = self.next_sub;
        self.next_sub += 1;
        let sub = Sub {
            id,
            token,
            scope,
            node,
            kind,
        };
        self.slots().count_sub(&sub, 1);
        self.subs.push(sub);
    }

    /// Removes the subscriptions `remove` picks, keeping the counts true.
    fn remove_subs_where(&mut self, remove: impl Fn(&Sub) -> bool) {
        let mut slots = self
            .slots
            .take()
            .unwrap_or_else(|| Box::new(Slots::build(self)));
        self.subs.retain(|s| {
            let gone = remove(s);
            if gone {
                slots.count_sub(s, -1);
            }
            !gone
        });
        self.slots = Some(slots);
    }

    /// Removes every subscription owned by token `t`.
    pub(super) fn remove_subs_of_token(&mut self, t: TokenId) {
        if self.slots().subs_by_token.contains_key(&t) {
            self.remove_subs_where(|s| s.token == Some(t));
        }
    }

    /// Removes every subscription that lives in `scope`.
    pub(super) fn remove_subs_of_scope(&mut self, scope: ScopeId) {
        if self.slots().subs_by_scope.contains_key(&scope) {
            self.remove_subs_where(|s| s.scope == scope);
        }
    }

    /// Removes the subscription with this id.
    pub(super) fn remove_sub(&mut self, id: u32) {
        self.remove_subs_where(|s| s.id == id);
    }

    /// Removes every subscription.
    pub(super) fn clear_subs(&mut self) {
        self.subs.clear();
        let slots = self.slots();
        slots.subs_by_token.clear();
        slots.subs_by_scope.clear();
    }
}
