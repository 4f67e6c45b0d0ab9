//! One waiting task from outside, besides completing it: who holds it, and cancelling it alone.
//!
//! Rules owned here:
//! - **Which task**: a user task or a receive task (either mode) parked now, named by its id;
//!   otherwise `NotWaiting`, listing what waits. A multi-instance inner task is not one task of
//!   its own (its instances share the element id) and is refused.
//! - **Assignee**: such a task may hold one assignee, a user name. `AssignTask` sets it (or,
//!   with None, drops it) and emits `TaskAssigned` with the previous one; assigning the one it
//!   holds, or dropping none, changes nothing and emits nothing. The token forgets its assignee
//!   when it leaves the task (or runs it again in a loop). While a task holds an assignee and
//!   the host enforces access, only that user may complete it (ResponsibleUser /
//!   ResponsibleTeam are checked as well). The host decides who may be assigned.
//! - **Cancel one task**: `CancelTask` leaves the task along its *cancel exception*, as seed
//!   003's cancelAction requires one ("the action must have a cancel or default exception
//!   defined in the transition"): an interrupting error boundary event on the task whose code is
//!   `CANCEL`, else one without a code (it catches every error: the default exception). The task
//!   is cancelled (`ElementCancelled`; a receive task's callback closes `Cancelled`), `errorCode`
//!   is set to `CANCEL` where the task ran, and the boundary event's token continues along its
//!   outgoing flows; the rest of the instance goes on as it was. A task without such a boundary
//!   event is refused (`NoMatch`, saying what to model) and nothing changes. Cancelling never
//!   ends the instance by itself: it ends only if that path reaches an end with nothing else
//!   left.

use super::{Catcher, Ctx, Engine, Instance, Run, ScopeKind, TokenId, TokenState};
use crate::api::{CommandError, Effect, User};
use crate::model::{NodeId, NodeKind, Trigger};

/// The error code a cancel exception catches.
pub const CANCEL_CODE: &str = "CANCEL";

impl Engine {
    /// The parked user or receive task `task_id` (not a multi-instance inner one).
    fn waiting_task(&self, inst: &Instance, task_id: &str) -> Result<TokenId, CommandError> {
        let waiting: Vec<TokenId> = inst
            .live_tokens()
            .filter(|(_, t)| {
                matches!(
                    t.state,
                    TokenState::UserTask | TokenState::ReceiveTask { .. }
                )
            })
            .map(|(i, _)| i)
            .collect();
        let found: Vec<TokenId> = waiting
            .iter()
            .copied()
            .filter(|&t| self.node(inst.tok(t).node).id == task_id)
            .collect();
        match found.as_slice() {
            [] if waiting.is_empty() => Err(CommandError::NotWaiting(format!(
                "task '{task_id}' is not waiting: no task is waiting"
            ))),
            [] => Err(CommandError::NotWaiting(format!(
                "task '{task_id}' is not waiting (waiting: {})",
                waiting
                    .iter()
                    .map(|&t| self.node(inst.tok(t).node).id.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
            [one] => {
                let tok = inst.tok(*one);
                let inner = matches!(inst.scope(tok.scope).kind, ScopeKind::MiInner { node } if node == tok.node);
                if inner {
                    return Err(CommandError::NotWaiting(format!(
                        "task '{task_id}' is a multi-instance task: its instances cannot be assigned or cancelled one by one"
                    )));
                }
                Ok(*one)
            }
            _ => Err(CommandError::NotWaiting(format!(
                "task '{task_id}' waits more than once: its instances cannot be assigned or cancelled one by one"
            ))),
        }
    }

    pub(super) fn assign_task(
        &self,
        inst: &mut Instance,
        task_id: &str,
        assignee: Option<String>,
    ) -> Result<Vec<Effect>, CommandError> {
        if assignee.as_deref().is_some_and(|a| a.trim().is_empty()) {
            return Err(CommandError::Invalid(
                "the assignee must be a user name, not empty".into(),
            ));
        }
        let t = self.waiting_task(inst, task_id)?;
        let previous = inst.tok(t).assignee.clone();
        if previous == assignee {
            return Ok(Vec::new());
        }
        inst.tok_mut(t).assignee = assignee.clone();
        Ok(vec![Effect::TaskAssigned {
            task_id: task_id.to_string(),
            assignee,
            previous,
        }])
    }

    /// The task's cancel exception: its interrupting error boundary event for `CANCEL`, else
    /// its interrupting one without a code.
    fn cancel_exception(&self, task: NodeId) -> Option<NodeId> {
        let interrupting_error = |b: &NodeId| match &self.node(*b).kind {
            NodeKind::Boundary {
                trigger: Trigger::Error(code),
                cancel_activity: true,
                ..
            } => Some(code.clone()),
            _ => None,
        };
        let boundaries = &self.node(task).boundaries;
        boundaries
            .iter()
            .find(|b| interrupting_error(b) == Some(Some(CANCEL_CODE.to_string())))
            .or_else(|| {
                boundaries
                    .iter()
                    .find(|b| interrupting_error(b) == Some(None))
            })
            .copied()
    }

    pub(super) fn cancel_task(
        &self,
        inst: &mut Instance,
        task_id: &str,
        ctx: &Ctx,
    ) -> Result<Vec<Effect>, CommandError> {
        let t = self.waiting_task(inst, task_id)?;
        let boundary = self.cancel_exception(inst.tok(t).node).ok_or_else(|| {
            CommandError::NoMatch(format!(
                "task '{task_id}' has no cancel exception: attach an interrupting error boundary event with errorCode {CANCEL_CODE} (or without an errorRef) to say where a cancelled task goes"
            ))
        })?;
        let mut run = Run::new(inst, ctx);
        let c = Catcher::Boundary {
            owner: t,
            boundary,
            interrupting: true,
        };
        self.catch_thrown(&mut run, c, Some(CANCEL_CODE.to_string()), "errorCode");
        self.run(&mut run);
        Ok(run.finish())
    }

    /// A task holding an assignee may be completed by that user only (when access is enforced).
    pub(super) fn check_assignee(
        &self,
        inst: &Instance,
        t: TokenId,
        user: Option<&User>,
    ) -> Result<(), CommandError> {
        let Some(assignee) = &inst.tok(t).assignee else {
            return Ok(());
        };
        if user.is_some_and(|u| &u.name == assignee) {
            return Ok(());
        }
        Err(CommandError::Forbidden(format!(
            "task '{}' is assigned to user '{assignee}'",
            self.node(inst.tok(t).node).id
        )))
    }
}
