//! Callbacks and correlation: completing user and receive tasks from outside, webhook
//! callbacks by correlation key, access checks, and finding who waits for a message.
//!
//! Rules owned here:
//! - **CompleteTask** names a waiting user task or receive task by id (without an id there must
//!   be exactly one); otherwise `NotWaiting`, listing what waits. An expired receive task
//!   (`TimeoutMinutes` passed) refuses submissions.
//! - **Access** (when the host enforces it): a task with `ResponsibleUser` and/or
//!   `ResponsibleTeam` (comma-separated lists) accepts only a signed-in user named in the list
//!   or a member of one of the teams; otherwise `Forbidden`.
//! - **ServerScript** runs before anything changes, with the submitted data as form data: a
//!   throw refuses the submission (`Rejected`) and the task keeps waiting. Its writes (its
//!   `setVariable` calls) and, if not null, its value (which replaces the submitted data as the
//!   result) are applied.
//! - **Results** (seed 002): a user task stores `lastUserTaskResult` and leaves; a receive task
//!   emits `CallbackCompleted`, stores `lastReceiveTaskResult` and leaves. The submitted or
//!   called-back fields are NOT written as process variables: a model copies what it needs
//!   (a ServerScript's `setVariable`, a script task, a condition reading the result).
//! - **Callback** by key completes the receive task waiting on that key in webhook mode; a
//!   key waited on in form mode or expired is refused, saying why; else a message subscription
//!   waiting on that key accepts it (its data stored as `lastReceiveTaskResult`); else
//!   `NoMatch`.
//! - **Message lookup**: a subscription whose name matches and whose key matches (either side
//!   missing matches) first, then a non-expired receive task waiting for that message name.

use super::{Ctx, Engine, Instance, MessageTarget, Run, SubKind, TokenId, TokenState};
use crate::api::{CommandError, Effect, User};
use crate::model::FlowNode;
use crate::script::ScriptOutcome;
use jiff::Timestamp;
use serde_json::{Map, Value};

impl Engine {
    pub(super) fn complete_task(
        &self,
        inst: &mut Instance,
        task_id: Option<&str>,
        data: Value,
        variables: Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<Vec<Effect>, CommandError> {
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
        let names = |ids: &[TokenId]| -> String {
            ids.iter()
                .map(|&t| self.node(inst.tok(t).node).id.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let t = match task_id {
            Some(id) => {
                let found: Vec<TokenId> = waiting
                    .iter()
                    .copied()
                    .filter(|&t| self.node(inst.tok(t).node).id == id)
                    .collect();
                match found.first() {
                    Some(&t) => t,
                    None if waiting.is_empty() => {
                        return Err(CommandError::NotWaiting(format!(
                            "task '{id}' is not waiting: no task is waiting"
                        )))
                    }
                    None => {
                        return Err(CommandError::NotWaiting(format!(
                            "task '{id}' is not waiting (waiting: {})",
                            names(&waiting)
                        )))
                    }
                }
            }
            None => match waiting.as_slice() {
                [one] => *one,
                [] => return Err(CommandError::NotWaiting("no task is waiting".into())),
                many => {
                    return Err(CommandError::NotWaiting(format!(
                        "{} tasks are waiting ({}); say which one with taskId",
                        many.len(),
                        names(many)
                    )))
                }
            },
        };
        let node = self.node(inst.tok(t).node);
        if let TokenState::ReceiveTask { expired: true, .. } = inst.tok(t).state {
            return Err(CommandError::NotWaiting(format!(
                "the callback of task '{}' has expired (TimeoutMinutes); it no longer accepts submissions",
                node.id
            )));
        }
        if ctx.enforce_access {
            self.check_access(node, ctx.user)?;
            self.check_assignee(inst, t, ctx.user)?;
        }
        let now = ctx.clock.now();
        // The ServerScript runs before anything changes: a throw leaves the task waiting.
        let outcome = self.server_script(inst, t, &data, ctx, now)?;
        let mut run = Run::new(inst, ctx);
        run.now = now;
        let is_user = matches!(run.inst.tok(t).state, TokenState::UserTask);
        if !variables.is_empty() {
            let scope = run.inst.tok(t).scope;
            self.set_vars(&mut run, scope, variables);
        }
        self.accept_submission(&mut run, t, data, outcome, is_user);
        self.run(&mut run);
        Ok(run.finish())
    }

    pub(super) fn callback(
        &self,
        inst: &mut Instance,
        key: &str,
        data: Value,
        ctx: &Ctx,
    ) -> Result<Vec<Effect>, CommandError> {
        let found = inst
            .live_tokens()
            .find(|(_, t)| {
                matches!(&t.state, TokenState::ReceiveTask { key: Some(k), form: false, expired: false } if k == key)
            })
            .map(|(i, _)| i);
        let Some(t) = found else {
            // Say why when the key is known but not open to a webhook callback.
            for (_, tok) in inst.live_tokens() {
                if let TokenState::ReceiveTask {
                    key: Some(k),
                    form,
                    expired,
                } = &tok.state
                {
                    if k == key && *expired {
                        return Err(CommandError::NoMatch(format!(
                            "the callback for correlation key '{key}' on task '{}' has expired (TimeoutMinutes)",
                            self.node(tok.node).id
                        )));
                    }
                    if k == key && *form {
                        return Err(CommandError::NoMatch(format!(
                            "no task waits for a webhook callback with correlation key '{key}': task '{}' waits on that key for a form submission (SignalProcessInstanceCommand)",
                            self.node(tok.node).id
                        )));
                    }
                }
            }
            // A message catch event waiting on this key also accepts a callback.
            if let Some(i) = inst
                .find_sub(|s| matches!(&s.kind, SubKind::Message { key: Some(k), .. } if k == key))
            {
                let mut run = Run::new(inst, ctx);
                let scope = run.inst.subs[i].scope;
                self.set_var(&mut run, scope, "lastReceiveTaskResult".into(), data);
                self.trigger_sub(&mut run, i);
                self.run(&mut run);
                return Ok(run.finish());
            }
            return Err(CommandError::NoMatch(format!(
                "no task waits for a callback with correlation key '{key}'"
            )));
        };
        let now = ctx.clock.now();
        let outcome = self.server_script(inst, t, &data, ctx, now)?;
        let mut run = Run::new(inst, ctx);
        run.now = now;
        self.accept_submission(&mut run, t, data, outcome, false);
        self.run(&mut run);
        Ok(run.finish())
    }

    pub(super) fn check_access(
        &self,
        node: &FlowNode,
        user: Option<&User>,
    ) -> Result<(), CommandError> {
        let ru = node
            .spec
            .responsible_user
            .as_deref()
            .filter(|s| !s.trim().is_empty());
        let rt = node
            .spec
            .responsible_team
            .as_deref()
            .filter(|s| !s.trim().is_empty());
        if ru.is_none() && rt.is_none() {
            return Ok(());
        }
        let Some(user) = user else {
            let who = match (ru, rt) {
                (Some(u), _) => format!("user '{u}'"),
                (None, Some(t)) => format!("team {t}"),
                _ => unreachable!("checked above"),
            };
            return Err(CommandError::Forbidden(format!(
                "task '{}' is assigned to {who}; a signed-in user is required",
                node.id
            )));
        };
        if let Some(u) = ru {
            if split_list(u).any(|x| x == user.name) {
                return Ok(());
            }
        }
        if let Some(t) = rt {
            if split_list(t).any(|team| user.teams.iter().any(|ut| ut == team)) {
                return Ok(());
            }
        }
        let mut rule = Vec::new();
        if let Some(u) = ru {
            rule.push(format!("user '{u}'"));
        }
        if let Some(t) = rt {
            rule.push(format!("members of team {t}"));
        }
        Err(CommandError::Forbidden(format!(
            "user '{}' is not allowed to complete task '{}': it is assigned to {}",
            user.name,
            node.id,
            rule.join(" or ")
        )))
    }

    pub(super) fn server_script(
        &self,
        inst: &Instance,
        t: TokenId,
        data: &Value,
        ctx: &Ctx,
        now: Timestamp,
    ) -> Result<Option<ScriptOutcome>, CommandError> {
        let tok = inst.tok(t);
        let node = self.node(tok.node);
        let Some(src) = &node.server_script else {
            return Ok(None);
        };
        let user = ctx.user.map(|u| u.name.as_str());
        match self.run_script(inst, tok.scope, src.id, now, Some(data), user) {
            Ok(o) => Ok(Some(o)),
            Err(e) => Err(CommandError::Rejected {
                task_id: node.id.clone(),
                message: e.message,
            }),
        }
    }

    /// Applies an accepted submission: variables, result variable, callback row, then moves on.
    pub(super) fn accept_submission(
        &self,
        run: &mut Run,
        t: TokenId,
        data: Value,
        outcome: Option<ScriptOutcome>,
        is_user: bool,
    ) {
        let scope = run.inst.tok(t).scope;
        let mut result = data.clone();
        if let Some(o) = outcome {
            for (k, v) in o.writes {
                self.set_var(run, scope, k, v);
            }
            let element = &self.node(run.inst.tok(t).node).id;
            super::activities::queue_commands(run, element, o.commands);
            if !o.value.is_null() {
                result = o.value;
            }
        }
        // Seed 002: the result lands in `lastUserTaskResult` / `lastReceiveTaskResult` only,
        // never merged over the process variables (a model copies what it wants at the top).
        if is_user {
            self.set_var(run, scope, "lastUserTaskResult".into(), result);
            self.leave_activity(run, t);
        } else {
            self.finish_receive(run, t, result);
        }
    }

    pub(super) fn finish_receive(&self, run: &mut Run, t: TokenId, result: Value) {
        let tok = run.inst.tok(t);
        let scope = tok.scope;
        let node = self.node(tok.node);
        let key = match &tok.state {
            TokenState::ReceiveTask { key, .. } => key.clone(),
            _ => None,
        };
        run.effects.push(Effect::CallbackCompleted {
            task_id: node.id.clone(),
            correlation_key: key,
            result: result.clone(),
        });
        self.set_var(run, scope, "lastReceiveTaskResult".into(), result);
        self.leave_activity(run, t);
    }

    pub(super) fn find_message_sub(
        &self,
        inst: &Instance,
        name: &str,
        key: Option<&str>,
    ) -> Option<MessageTarget> {
        let key_ok = |k: &Option<String>| match (key, k) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        };
        if let Some(i) = inst.find_sub(
            |s| matches!(&s.kind, SubKind::Message { name: n, key: k } if n == name && key_ok(k)),
        ) {
            return Some(MessageTarget::Sub(i));
        }
        inst.live_tokens()
            .find(|(_, t)| match &t.state {
                TokenState::ReceiveTask {
                    key: k,
                    expired: false,
                    ..
                } => {
                    let node = self.node(t.node);
                    node.spec.message.as_ref().unwrap_or(&node.id) == name && key_ok(k)
                }
                _ => false,
            })
            .map(|(i, _)| MessageTarget::Receive(i))
    }
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|x| !x.is_empty())
}
