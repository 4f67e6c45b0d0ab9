//! Transactions: a transaction sub-process cancelled by its cancel end event.
//!
//! Rules owned here:
//! - **Where cancel events may stand** (checked at deploy, see `validate`): a cancel end event
//!   directly inside a transaction, and exactly one cancel boundary event on that transaction.
//!   A cancel boundary event waits on nothing: only its transaction's cancel end event
//!   triggers it.
//! - **Reaching a cancel end event**: first everything else running in the transaction ends as
//!   cancelled (its tasks, callbacks, timers, inner sub-processes and the transaction's event
//!   sub-processes), then the activities that completed in the transaction are compensated, the
//!   last completed first, as a compensation end event that waits for completion would do
//!   (`compensation.rs`).
//! - **Leaving**: once the last handler finished (at once when nothing completed that can be
//!   compensated), the cancel end event completes and the transaction is left by its cancel
//!   boundary event. The transaction itself ends cancelled, not completed, so nothing outside
//!   it can compensate it again. A multi-instance transaction is left as a whole, by the
//!   boundary on its body.

use super::{Catcher, Engine, Run, TokenId};
use crate::api::Effect;
use crate::model::{NodeKind, Trigger};

impl Engine {
    /// A token reached a cancel end event: cancel what else runs in its transaction, then
    /// compensate what completed there; `leave_cancelled_transaction` follows.
    pub(super) fn cancel_transaction(&self, run: &mut Run, t: TokenId) {
        if self.cancel_catcher(run, t).is_none() {
            let id = self.node(run.inst.tok(t).node).id.clone();
            return self.raise_incident(
                run,
                t,
                format!("cancel end event '{id}' is not directly inside a transaction with a cancel boundary event, so there is nowhere to leave by"),
            );
        }
        let scope = run.inst.tok(t).scope;
        self.cancel_scope_except(run, scope, t);
        self.throw_compensation(run, t, false, true);
    }

    /// Compensation after a cancel end event is done: the end event completes and its
    /// transaction is left by the cancel boundary event.
    pub(super) fn leave_cancelled_transaction(&self, run: &mut Run, t: TokenId) {
        run.effects.push(Effect::ElementCompleted {
            element_id: self.node(run.inst.tok(t).node).id.clone(),
        });
        match self.cancel_catcher(run, t) {
            Some(catcher) => {
                self.consume_silently(run, t);
                self.catch_thrown(run, catcher, None, "");
            }
            // Not reached: `cancel_transaction` found the boundary, and nothing removes it.
            None => self.consume(run, t),
        }
    }

    /// The cancel boundary event of the transaction that token `t` (at a cancel end event)
    /// runs in directly, as the catcher that leaves by it.
    fn cancel_catcher(&self, run: &Run, t: TokenId) -> Option<Catcher> {
        let scope = run.inst.tok(t).scope;
        let container = run.inst.scope(scope).container?;
        if !matches!(&self.node(container).kind, NodeKind::SubProcess(sp) if sp.transaction) {
            return None;
        }
        let catcher = self.find_catcher(run.inst, scope, |trig| matches!(trig, Trigger::Cancel))?;
        match catcher {
            Catcher::Boundary {
                owner, boundary, ..
            } if matches!(self.node(boundary).kind, NodeKind::Boundary { attached_to, .. } if attached_to == container) => {
                Some(Catcher::Boundary {
                    owner,
                    boundary,
                    interrupting: true,
                })
            }
            _ => None,
        }
    }
}
