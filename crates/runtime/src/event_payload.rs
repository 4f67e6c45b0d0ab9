//! Which events a step raises and what their payloads hold (docs/events.md, seed 004).
//!
//! Every payload has seed 004's fields (`id`, `eventName`, `apiVersion`, `timestamp`,
//! `assignedAt`, `assignee`, `workflowCreatedAt`, `workflowResolvedAt`, `workflowDefinitionId`,
//! `workflowRuntimeId`, `ballerineEntityId`, `correlationId`, `environment`, `data`), with `data`
//! the instance's variables after the step (its context), plus Baton's `processKey` and
//! `sequence`, plus what the event itself says at the top level (`previousState` and `state`,
//! `workflowFinalState`, `contextChange`, `changedDocuments`, ...).

use crate::events::StepEvents;
use baton_engine::model::NodeKind;
use baton_engine::Effect;
use baton_store::{EventSource, Tx};
use serde_json::{json, Map, Value};

/// The `environment` every event payload names (seed 004: `sandbox` or `production`).
/// `baton serve` takes it from BATON_ENVIRONMENT; the desktop app and tests run as `sandbox`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Environment {
    #[default]
    Sandbox,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Sandbox => "sandbox",
            Environment::Production => "production",
        }
    }
}

impl std::str::FromStr for Environment {
    type Err = String;

    fn from_str(s: &str) -> Result<Environment, String> {
        match s.trim() {
            "sandbox" => Ok(Environment::Sandbox),
            "production" => Ok(Environment::Production),
            other => Err(format!(
                "'{other}' is not an environment: events name `sandbox` or `production`"
            )),
        }
    }
}

impl crate::Runtime {
    /// Sets the `environment` the event payloads of this runtime name from now on.
    pub fn set_environment(&self, environment: Environment) {
        self.production.store(
            environment == Environment::Production,
            std::sync::atomic::Ordering::Release,
        );
    }

    /// The `environment` the event payloads name (see `set_environment`).
    pub fn environment(&self) -> Environment {
        if self.production.load(std::sync::atomic::Ordering::Acquire) {
            Environment::Production
        } else {
            Environment::Sandbox
        }
    }
}

pub(crate) const STATE_CHANGED: &str = "workflow.state.changed";
pub(crate) const CONTEXT_CHANGED: &str = "workflow.context.changed";
pub(crate) const COMPLETED: &str = "workflow.completed";
pub(crate) const DOCUMENT_CHANGED: &str = "workflow.context.document.changed";
pub(crate) const DOCUMENT_UPDATED: &str = "workflow.context.document.updated";
pub(crate) const DOCUMENT_COMPLETED: &str = "workflow.context.document.completed";
/// The event of a custom webhook: an instance entered one of its states.
pub(crate) const STATE_ENTERED: &str = "workflow.state.entered";

/// The process variable whose list the document events watch (seed 004's `context.documents`).
const DOCUMENTS: &str = "documents";
/// A document's `decision.status` values that end its review (`workflow.context.document.completed`).
const FINAL_DECISIONS: [&str; 2] = ["approved", "rejected"];

/// One event of a step: its name and its own top-level fields.
pub(crate) struct Event {
    pub name: &'static str,
    pub fields: Map<String, Value>,
}

fn event(name: &'static str, fields: Value) -> Event {
    let Value::Object(fields) = fields else {
        unreachable!("event fields are built as objects")
    };
    Event { name, fields }
}

/// Where an instance is, as one string: the elements it waits in (ids, sorted, joined by `,`),
/// or, waiting nowhere, its status in lower case (`completed`, `failed`, `cancelled`).
pub(crate) fn state_text(status: &str, waits: &[String]) -> String {
    if waits.is_empty() {
        status.to_ascii_lowercase()
    } else {
        waits.join(",")
    }
}

/// The subscription events of a step, in the order they are numbered and sent.
pub(crate) fn step_events(s: &StepEvents) -> Vec<Event> {
    let status = s.inst.status.as_str();
    let mut out = Vec::new();
    // Wait states entered by this step (a loop back into the same task is a new entry).
    let entered: Vec<&str> = s
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::ElementEntered { element_id } => Some(element_id.as_str()),
            _ => None,
        })
        .filter(|id| s.after.waits.iter().any(|w| w == id))
        .collect();
    if s.before.status != Some(status) || s.before.waits != s.after.waits || !entered.is_empty() {
        let previous = s.before.status.map(|st| state_text(st, &s.before.waits));
        out.push(event(
            STATE_CHANGED,
            json!({"previousState": previous, "state": state_text(status, &s.after.waits),
                   "previousStatus": s.before.status, "status": status,
                   "previousWaiting": s.before.waits, "waiting": s.after.waits,
                   "enteredStates": entered}),
        ));
    }
    if let Some(change) = s.change {
        out.push(event(CONTEXT_CHANGED, json!({"contextChange": change})));
        if touches_documents(change) {
            out.extend(document_events(s, status));
        }
    }
    if status == "COMPLETED" && s.before.status != Some("COMPLETED") {
        out.push(event(
            COMPLETED,
            json!({"workflowFinalState": final_state(s)}),
        ));
    }
    out
}

/// Whether a `variablesChanged` value names the `documents` variable.
fn touches_documents(change: &Value) -> bool {
    change
        .get("changed")
        .and_then(Value::as_object)
        .is_some_and(|c| c.contains_key(DOCUMENTS))
        || change
            .get("removed")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|n| n == DOCUMENTS))
}

fn documents(vars: &Map<String, Value>) -> &[Value] {
    vars.get(DOCUMENTS)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn decision(doc: Option<&Value>) -> Option<&str> {
    doc?.get("decision")?.get("status")?.as_str()
}

/// The document events of a step that changed `documents`: `changed` for any added, updated
/// or removed entry; `updated` for entries that were there before, while the instance is still
/// active; `completed` for entries whose `decision.status` became approved or rejected.
fn document_events(s: &StepEvents, status: &str) -> Vec<Event> {
    let before = documents(&s.before.vars);
    let after = documents(&s.after.vars);
    let entry = |i: usize, doc: &Value, change: &str| {
        json!({"index": i, "id": doc.get("id"), "category": doc.get("category"),
               "type": doc.get("type"), "decision": doc.get("decision"), "change": change})
    };
    let (mut changed, mut updated, mut completed) = (Vec::new(), Vec::new(), Vec::new());
    for (i, doc) in after.iter().enumerate() {
        let old = before.get(i);
        if old == Some(doc) {
            continue;
        }
        let kind = if old.is_some() { "updated" } else { "added" };
        changed.push(entry(i, doc, kind));
        if old.is_some() {
            updated.push(entry(i, doc, kind));
        }
        let now = decision(Some(doc));
        if now.is_some_and(|d| FINAL_DECISIONS.contains(&d)) && decision(old) != now {
            completed.push(entry(i, doc, kind));
        }
    }
    for (i, doc) in before.iter().enumerate().skip(after.len()) {
        changed.push(entry(i, doc, "removed"));
    }
    let active = !matches!(status, "COMPLETED" | "CANCELLED");
    let mut out = Vec::new();
    for (name, list) in [
        (DOCUMENT_CHANGED, changed),
        (DOCUMENT_UPDATED, if active { updated } else { Vec::new() }),
        (DOCUMENT_COMPLETED, completed),
    ] {
        if !list.is_empty() {
            out.push(event(name, json!({"changedDocuments": list})));
        }
    }
    out
}

/// `workflowFinalState`: the process variable `workflowFinalState` when the model set one
/// (seed 004's `approved`, `rejected`, ...), else the id of the end event the instance ended at.
fn final_state(s: &StepEvents) -> Value {
    if let Some(Value::String(v)) = s.after.vars.get("workflowFinalState") {
        return json!(v);
    }
    let dep = &s.engine.deployment;
    let end = s.effects.iter().rev().find_map(|e| match e {
        Effect::ElementCompleted { element_id } => dep
            .node_by_id(element_id)
            .filter(|n| matches!(dep.node(*n).kind, NodeKind::EndEvent { .. }))
            .map(|_| element_id.clone()),
        _ => None,
    });
    json!(end)
}

/// A custom webhook's event for entering `element_id` (its name when it has one).
pub(crate) fn state_entered(element_id: &str, name: Option<&str>, status: &str) -> Event {
    event(
        STATE_ENTERED,
        json!({"state": element_id, "stateName": name, "status": status}),
    )
}

/// The assignee the payloads show: seed 004's `assignee` object and `assignedAt`, or nulls.
pub(crate) struct Assignment {
    assignee: Value,
    assigned_at: Value,
}

/// The first waiting task (by element id) that holds an assignee after the step, with the time
/// it was given one: this step's time when the step assigned it, else its newest
/// `taskAssigned` history event.
pub(crate) fn assignment(tx: &Tx, s: &StepEvents) -> Result<Assignment, crate::Error> {
    let mut held: Vec<(String, String)> = s
        .engine
        .waiting(s.inst)
        .into_iter()
        .filter_map(|w| w.assignee.map(|a| (w.task_id, a)))
        .collect();
    held.sort();
    let Some((task, user)) = held.into_iter().next() else {
        return Ok(Assignment {
            assignee: Value::Null,
            assigned_at: Value::Null,
        });
    };
    let now = s.effects.iter().any(|e| {
        matches!(e, Effect::TaskAssigned { task_id, assignee: Some(a), .. }
                 if *task_id == task && *a == user)
    });
    let at = if now {
        Some(s.now.to_string())
    } else {
        tx.task_assigned_at(s.guid, &task)?
    };
    Ok(Assignment {
        // Baton's users have a name and no first name, last name or email.
        assignee: json!({"id": user, "firstName": null, "lastName": null, "email": null,
                         "taskId": task}),
        assigned_at: json!(at),
    })
}

/// The whole payload of one delivery.
pub(crate) fn envelope(
    src: &EventSource,
    s: &StepEvents,
    assignment: &Assignment,
    e: &Event,
    id: &str,
    sequence: i64,
) -> Value {
    let mut p = json!({
        "id": id,
        "eventName": e.name,
        "apiVersion": 1,
        "sequence": sequence,
        "timestamp": s.now,
        "assignedAt": assignment.assigned_at,
        "assignee": assignment.assignee,
        "workflowCreatedAt": src.started_at,
        "workflowResolvedAt": src.ended_at,
        "workflowDefinitionId": src.definition_id,
        "processKey": src.process_key,
        "workflowRuntimeId": s.guid,
        "ballerineEntityId": src.business_key,
        "correlationId": src.correlation_id,
        "environment": s.environment.as_str(),
        "data": s.after.vars,
    });
    if let Value::Object(m) = &mut p {
        for (k, v) in &e.fields {
            m.insert(k.clone(), v.clone());
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_is_the_waits_or_the_status() {
        assert_eq!(state_text("WAITING", &["Review".into()]), "Review");
        assert_eq!(state_text("WAITING", &["A".into(), "B".into()]), "A,B");
        assert_eq!(state_text("COMPLETED", &[]), "completed");
    }

    #[test]
    fn a_change_touches_documents_when_it_names_them() {
        assert!(touches_documents(
            &json!({"changed": {"documents": []}, "removed": []})
        ));
        assert!(touches_documents(
            &json!({"changed": {}, "removed": ["documents"]})
        ));
        assert!(!touches_documents(
            &json!({"changed": {"x": 1}, "removed": []})
        ));
    }
}
