//! The action operations of seed 003 that act on one open action without completing it:
//! `cancelAction` (the task leaves along its cancel exception, docs/webhook-apps.md),
//! `assignAction` and `cancelActionAssignment` (the task holds an assignee, or none).
//!
//! Who may: an administrator, or the action's assignee (cancelling it or its assignment); an
//! administrator assigns anyone the task allows, a user may take an open, unassigned action for
//! themself. In delegation mode the application's own user must be allowed too.

use super::{acted, b64, may_take, on_behalf, user_caller, Action};
use crate::{Caller, Code, Error, Runtime};
use baton_engine::Event;
use baton_store::{UserRow, WebhookAppRow};
use serde_json::{json, Value};

impl Runtime {
    /// Refuses `caller` (and, in delegation, the application's own user) unless an
    /// administrator or the action's assignee: who may cancel an action or its assignment.
    fn admin_or_assignee(
        &self,
        app: &WebhookAppRow,
        caller: &Caller,
        delegated: bool,
        a: &Action,
        what: &str,
    ) -> Result<(), Error> {
        let allowed = |c: &Caller| {
            c.admin
                || a.task
                    .assignee
                    .as_ref()
                    .is_some_and(|x| c.user.as_ref().is_some_and(|u| &u.name == x))
        };
        let mut who = vec![caller.clone()];
        if delegated {
            who.push(self.hook_app_self(app)?);
        }
        for c in who {
            if !allowed(&c) {
                return Err(Error::forbidden(format!(
                    "{} may not {what} action {} of request {}: only an administrator or the action's assignee ({}) may",
                    c.name(),
                    a.act,
                    a.req,
                    a.task.assignee.as_deref().unwrap_or("nobody")
                )));
            }
        }
        Ok(())
    }

    pub(super) fn hook_cancel_action(
        &self,
        app: &WebhookAppRow,
        input: &Value,
    ) -> Result<Value, Error> {
        let (caller, delegator) = self.hook_caller(app, input, true)?;
        let a = self.hook_action(input)?;
        self.hook_read(&caller, &a)?;
        self.admin_or_assignee(app, &caller, delegator.is_some(), &a, "cancel")?;
        let event = Event::CancelTask {
            task_id: a.task.task_id.clone(),
        };
        let task = a.task.task_id.as_str();
        let extra = acted(app, "cancelAction", Some(task), delegator.as_ref());
        let s = self
            .step_with(&a.guid, event, &caller, extra)
            .map_err(|e| {
                // The engine refuses a task without a cancel exception: say which action.
                if e.is(Code::Rejected) {
                    Error::field(
                        a.field,
                        format!(
                            "{}: action {} of request {} cannot be cancelled: {}",
                            a.field,
                            a.act,
                            a.req,
                            e.line()
                        ),
                    )
                    .with_code(Code::Rejected)
                } else {
                    e
                }
            })?;
        self.number_actions(&a.guid, &s.engine, &s.inst)?;
        let mut out = a.answer();
        out["type"] = json!("CANCEL");
        out["exception"] = json!({
            "message": format!("action {} of request {} cancelled", a.act, a.req),
            "source": a.task.name.clone().unwrap_or(a.task.task_id.clone()),
        });
        out["requestStatus"] = json!(s.inst.status.as_str());
        on_behalf(&mut out, delegator.as_ref());
        Ok(out)
    }

    pub(super) fn hook_assign_action(
        &self,
        app: &WebhookAppRow,
        input: &Value,
    ) -> Result<Value, Error> {
        let (caller, delegator) = self.hook_caller(app, input, true)?;
        let a = self.hook_action(input)?;
        self.hook_read(&caller, &a)?;
        let (assignee, field) = self.hook_assignee(input)?;
        // An administrator assigns anyone; a user may take an open action for themself.
        let mut who = vec![caller.clone()];
        if delegator.is_some() {
            who.push(self.hook_app_self(app)?);
        }
        for c in &who {
            if c.admin {
                continue;
            }
            let me = c.user.as_ref().map(|u| u.name.as_str());
            if me != Some(assignee.user_name.as_str()) {
                return Err(Error::forbidden(format!(
                    "{} may not assign action {} of request {} to '{}': only an administrator assigns others (a user may take an action for themself)",
                    c.name(),
                    a.act,
                    a.req,
                    assignee.user_name
                )));
            }
            if let Some(held) = a
                .task
                .assignee
                .as_ref()
                .filter(|h| **h != assignee.user_name)
            {
                return Err(Error::forbidden(format!(
                    "action {} of request {} is assigned to '{held}': only an administrator may reassign it",
                    a.act, a.req
                )));
            }
        }
        let as_caller = user_caller(&assignee);
        if !assignee.is_admin && !may_take(as_caller.user.as_ref(), &a.task) {
            return Err(Error::field(
                field,
                format!(
                    "{field}: user '{}' may not work on action {} of request {} (task '{}' is for {})",
                    assignee.user_name,
                    a.act,
                    a.req,
                    a.task.task_id,
                    responsible(&a.task)
                ),
            )
            .with_code(Code::Forbidden));
        }
        let event = Event::AssignTask {
            task_id: a.task.task_id.clone(),
            assignee: Some(assignee.user_name.clone()),
        };
        let task = a.task.task_id.as_str();
        let extra = acted(app, "assignAction", Some(task), delegator.as_ref());
        self.step_with(&a.guid, event, &caller, extra)?;
        let mut out = a.answer();
        out["assigneeId"] = json!(b64(&format!("User:{}", assignee.id)));
        out["assigneeUserName"] = json!(assignee.user_name);
        on_behalf(&mut out, delegator.as_ref());
        Ok(out)
    }

    /// `assigneeUserName` or `assigneeId` (both: the same user), and the field that named it.
    fn hook_assignee(&self, input: &Value) -> Result<(UserRow, &'static str), Error> {
        let by_name = match input.get("assigneeUserName") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(self.hook_user_named("assigneeUserName", s)?),
            Some(_) => {
                return Err(Error::field(
                    "assigneeUserName",
                    "assigneeUserName must be a string".into(),
                ))
            }
        };
        let by_id = match input.get("assigneeId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(self.hook_user_id("assigneeId", s)?),
            Some(_) => {
                return Err(Error::field(
                    "assigneeId",
                    "assigneeId must be a string (User:N in base64)".into(),
                ))
            }
        };
        match (by_name, by_id) {
            (Some(a), Some(b)) if a.user_name != b.user_name => Err(Error::field(
                "assigneeId",
                format!(
                    "assigneeId names user '{}' but assigneeUserName names '{}': give one, or both for the same user",
                    b.user_name, a.user_name
                ),
            )),
            (Some(a), _) => Ok((a, "assigneeUserName")),
            (None, Some(b)) => Ok((b, "assigneeId")),
            (None, None) => Err(Error::field(
                "assigneeUserName",
                "assigneeUserName or assigneeId is required".into(),
            )),
        }
    }

    pub(super) fn hook_cancel_assignment(
        &self,
        app: &WebhookAppRow,
        input: &Value,
    ) -> Result<Value, Error> {
        // The seed: no delegation mode for this operation.
        let (caller, _) = self.hook_caller(app, input, false)?;
        let a = self.hook_action(input)?;
        self.hook_read(&caller, &a)?;
        if a.task.assignee.is_none() {
            return Err(Error::field(
                a.field,
                format!(
                    "{}: action {} of request {} is not assigned",
                    a.field, a.act, a.req
                ),
            )
            .with_code(Code::Rejected));
        }
        self.admin_or_assignee(app, &caller, false, &a, "cancel the assignment of")?;
        let event = Event::AssignTask {
            task_id: a.task.task_id.clone(),
            assignee: None,
        };
        let task = a.task.task_id.as_str();
        let extra = acted(app, "cancelActionAssignment", Some(task), None);
        self.step_with(&a.guid, event, &caller, extra)?;
        let mut out = a.answer();
        out["onBehalfOf"] = Value::Null;
        Ok(out)
    }
}

/// Who a task is for, in words.
fn responsible(task: &baton_engine::Waiting) -> String {
    match (&task.responsible_user, &task.responsible_team) {
        (Some(u), Some(t)) => format!("user {u} or team {t}"),
        (Some(u), None) => format!("user {u}"),
        (None, Some(t)) => format!("team {t}"),
        (None, None) => "anyone".into(),
    }
}
