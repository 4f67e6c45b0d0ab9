//! Slot bookkeeping: which token and scope slots are free, how many multi-instance inner
//! instances are alive, and which tokens and scopes own subscriptions.
//!
//! Rules owned here:
//! - **Slots**: a new token or scope takes the lowest free slot, else a new one at the end
//!   (scope slot 0 is the root and is never freed). Finding that slot costs a heap operation,
//!   not a scan, so starting N inner instances of a multi-instance activity costs N, not N².
//! - **Subscriptions** are kept in id order (the order they were made). They are removed by
//!   owner token, by scope or by id. Removing one marks it `gone` where it stands (found by its
//!   id, or through its owner token's list of ids) and it is compacted away once the gone ones
//!   outnumber the live ones; so firing N timers, or delivering a signal to N catch events, in
//!   one command costs N log N, not N². Every reader skips gone ones (`live_subs`,
//!   `find_sub`, `sub_index`) and they are never written (`write_live_subs`). A scope that owns
//!   none is skipped without looking at the others; removing those of a scope that owns some
//!   looks at every subscription.
//! - The bookkeeping is not part of the state: it is rebuilt from the state on first use after
//!   the state was read, and every change to tokens, scopes and subscriptions goes through the
//!   methods here so it stays true.

use super::{Instance, Scope, ScopeId, ScopeKind, Sub, SubKind, Token, TokenId};
use crate::model::NodeId;
use jiff::Timestamp;
use serde::ser::{SerializeSeq, Serializer};
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
    /// The ids of the live subscriptions each token owns (absent: none).
    subs_by_token: HashMap<TokenId, Vec<u32>>,
    /// Live subscriptions per scope (absent: none).
    subs_by_scope: HashMap<ScopeId, u32>,
    /// Subscriptions marked gone and not yet compacted away.
    gone: usize,
}

/// What the counts key a subscription by.
#[derive(Clone, Copy)]
struct SubOwners {
    id: u32,
    token: Option<TokenId>,
    scope: ScopeId,
}

impl SubOwners {
    fn of(s: &Sub) -> SubOwners {
        SubOwners {
            id: s.id,
            token: s.token,
            scope: s.scope,
        }
    }
}

/// Gone subscriptions are compacted away once there are more than this many and more than live
/// ones.
const COMPACT_AFTER: usize = 64;

/// Writes only the live subscriptions (`Instance::subs`).
pub(super) fn write_live_subs<S: Serializer>(subs: &[Sub], s: S) -> Result<S::Ok, S::Error> {
    let live = subs.iter().filter(|x| !x.gone);
    let mut seq = s.serialize_seq(Some(live.clone().count()))?;
    for sub in live {
        seq.serialize_element(sub)?;
    }
    seq.end()
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
            if sub.gone {
                s.gone += 1;
            } else {
                s.count_sub(SubOwners::of(sub), 1);
            }
        }
        s
    }

    fn count_sub(&mut self, sub: SubOwners, add: i32) {
        if let Some(t) = sub.token {
            if add > 0 {
                self.subs_by_token.entry(t).or_default().push(sub.id);
            } else if let Some(ids) = self.subs_by_token.get_mut(&t) {
                if let Some(at) = ids.iter().position(|&i| i == sub.id) {
                    ids.swap_remove(at);
                }
                if ids.is_empty() {
                    self.subs_by_token.remove(&t);
                }
            }
        }
        let m = &mut self.subs_by_scope;
        let n = m
            .get(&sub.scope)
            .copied()
            .unwrap_or(0)
            .saturating_add_signed(add);
        if n == 0 {
            m.remove(&sub.scope);
        } else {
            m.insert(sub.scope, n);
        }
    }
}

impl Instance {
    /// The slot bookkeeping, rebuilt from the state when it was just read (and the
    /// subscriptions put in id order, should a state have them otherwise).
    fn slots(&mut self) -> &mut Slots {
        if self.slots.is_none() {
            if !self.subs.is_sorted_by_key(|s| s.id) {
                self.subs.sort_by_key(|s| s.id);
            }
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

    /// Moves token `t` into its activity's parameters' scope `local` (`io.rs`), or back out to
    /// that scope's parent (`local: None`). The scope around still counts the activity as one
    /// of its live tokens meanwhile, so it cannot complete under it.
    pub(super) fn rehome_token(&mut self, t: TokenId, local: Option<ScopeId>) {
        let Some(tok) = self.tokens.get(t as usize).and_then(|x| x.as_ref()) else {
            return;
        };
        let from = tok.scope;
        let to = match local {
            Some(l) => l,
            None => match self.scopes.get(from as usize).and_then(|s| s.as_ref()) {
                Some(s) => s.parent.unwrap_or(from),
                None => return,
            },
        };
        match local {
            Some(l) => {
                if let Some(s) = self.scopes.get_mut(l as usize).and_then(|s| s.as_mut()) {
                    s.live += 1;
                }
            }
            None => {
                if let Some(s) = self.scopes.get_mut(from as usize).and_then(|s| s.as_mut()) {
                    s.live = s.live.saturating_sub(1);
                }
            }
        }
        if let Some(Some(tok)) = self.tokens.get_mut(t as usize) {
            tok.scope = to;
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
            gone: false,
        };
        self.slots().count_sub(SubOwners::of(&sub), 1);
        self.subs.push(sub);
    }

    /// The live subscriptions, in id order.
    pub(super) fn live_subs(&self) -> impl Iterator<Item = &Sub> + Clone {
        self.subs.iter().filter(|s| !s.gone)
    }

    /// Where the first live subscription `pick` accepts stands.
    pub(super) fn find_sub(&self, pick: impl Fn(&Sub) -> bool) -> Option<usize> {
        self.subs.iter().position(|s| !s.gone && pick(s))
    }

    /// Where the live subscription with this id stands (a binary search: ids are in order).
    pub(super) fn sub_index(&mut self, id: u32) -> Option<usize> {
        self.slots();
        let i = self.subs.binary_search_by_key(&id, |s| s.id).ok()?;
        (!self.subs[i].gone).then_some(i)
    }

    /// Adds to `due` (earliest first) the live timers and receive-task timeouts due at `now`
    /// among the subscriptions with ids from `from` on; answers the id to start from next time.
    pub(super) fn due_subs_from(
        &mut self,
        from: u32,
        now: Timestamp,
        due: &mut BinaryHeap<Reverse<(Timestamp, u32)>>,
    ) -> u32 {
        self.slots();
        let start = self.subs.partition_point(|s| s.id < from);
        for s in self.live_subs_from(start) {
            if let SubKind::Timer { due: d, .. }
            | SubKind::CallbackTimeout { due: d }
            | SubKind::Retry { due: d } = s.kind
            {
                if d <= now {
                    due.push(Reverse((d, s.id)));
                }
            }
        }
        self.next_sub
    }

    fn live_subs_from(&self, start: usize) -> impl Iterator<Item = &Sub> {
        self.subs[start..].iter().filter(|s| !s.gone)
    }

    /// Marks the subscription at `i` gone, keeping the counts true.
    fn mark_gone(&mut self, i: usize) {
        if self.subs[i].gone {
            return;
        }
        self.subs[i].gone = true;
        let owners = SubOwners::of(&self.subs[i]);
        let slots = self.slots();
        slots.count_sub(owners, -1);
        slots.gone += 1;
    }

    /// Drops the gone subscriptions once they outnumber the live ones (so that each removal
    /// costs a constant share of the pass).
    fn compact_subs(&mut self) {
        let gone = self.slots().gone;
        if gone > COMPACT_AFTER && gone * 2 > self.subs.len() {
            self.subs.retain(|s| !s.gone);
            self.slots().gone = 0;
        }
    }

    /// Removes every subscription owned by token `t`.
    pub(super) fn remove_subs_of_token(&mut self, t: TokenId) {
        let Some(ids) = self.slots().subs_by_token.get(&t).cloned() else {
            return;
        };
        for id in ids {
            if let Some(i) = self.sub_index(id) {
                self.mark_gone(i);
            }
        }
        self.compact_subs();
    }

    /// Removes every subscription that lives in `scope`.
    pub(super) fn remove_subs_of_scope(&mut self, scope: ScopeId) {
        if !self.slots().subs_by_scope.contains_key(&scope) {
            return;
        }
        for i in 0..self.subs.len() {
            if !self.subs[i].gone && self.subs[i].scope == scope {
                self.mark_gone(i);
            }
        }
        self.compact_subs();
    }

    /// Removes the subscription with this id.
    pub(super) fn remove_sub(&mut self, id: u32) {
        if let Some(i) = self.sub_index(id) {
            self.mark_gone(i);
            self.compact_subs();
        }
    }

    /// Removes every subscription.
    pub(super) fn clear_subs(&mut self) {
        self.subs.clear();
        let slots = self.slots();
        slots.subs_by_token.clear();
        slots.subs_by_scope.clear();
        slots.gone = 0;
    }
}
