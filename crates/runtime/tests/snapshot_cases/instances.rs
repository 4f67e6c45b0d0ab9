//! Instances and tasks: start, signal, cancel, retry, the instance queries, history, incidents,
//! the task form and the inbox, the callback registry.

use crate::Story;
use baton_testkit::models::{calc, chores};
use serde_json::{json, Value};

fn guid(v: &Value) -> String {
    v["data"]["instanceGuid"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn instances() {
    let mut s = Story::new();
    let bob = s.bob.token.clone();
    let mary = s.mary.token.clone();
    s.admin(
        "deploy Chores",
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": chores(), "forms": {"open-form": {"components": [{"key": "ok", "type": "checkbox"}]}}}),
    )
    .await;
    let started = s
        .admin(
            "start by key with variables, context, business key and correlation id",
            "StartProcessInstanceCommand",
            json!({"processKey": "Chores", "variables": {"n": 1}, "context": {"ref": "R-1"},
                   "businessKey": "B-1", "correlationId": "C-1"}),
        )
        .await;
    let g = guid(&started);
    s.call(
        "start by definition id, as bob",
        &bob,
        "StartProcessInstanceCommand",
        json!({"processDefinitionId": 1}),
    )
    .await;
    s.admin(
        "start an unknown key",
        "StartProcessInstanceCommand",
        json!({"processKey": "Nope"}),
    )
    .await;
    s.admin(
        "start without a key or id",
        "StartProcessInstanceCommand",
        json!({}),
    )
    .await;
    s.admin(
        "start with variables that are not an object",
        "StartProcessInstanceCommand",
        json!({"processKey": "Chores", "variables": [1]}),
    )
    .await;
    s.admin(
        "get the instance",
        "GetProcessInstanceByIdQuery",
        json!({"instanceGuid": g}),
    )
    .await;
    s.admin(
        "get an unknown instance",
        "GetProcessInstanceByIdQuery",
        json!({"instanceGuid": "00000000-0000-4000-8000-000000000000"}),
    )
    .await;
    s.admin(
        "get without instanceGuid",
        "GetProcessInstanceByIdQuery",
        json!({}),
    )
    .await;
    s.call("bob's inbox", &bob, "GetTaskListQuery", json!({}))
        .await;
    s.call("mary's inbox", &mary, "GetTaskListQuery", json!({}))
        .await;
    s.admin(
        "the inbox of team TELLERS, page size 2",
        "GetTaskListQuery",
        json!({"team": "TELLERS", "pageSize": 2}),
    )
    .await;
    s.admin(
        "the task form of the open task",
        "GetTaskFormQuery",
        json!({"instanceGuid": g, "taskId": "Open"}),
    )
    .await;
    s.admin(
        "the task form by correlation id",
        "GetTaskFormQuery",
        json!({"correlationId": "C-1", "taskId": "ForBob"}),
    )
    .await;
    s.admin(
        "the task form of a task that does not wait",
        "GetTaskFormQuery",
        json!({"instanceGuid": g, "taskId": "Nope"}),
    )
    .await;
    s.admin(
        "the task form without an instance",
        "GetTaskFormQuery",
        json!({}),
    )
    .await;
    s.call(
        "mary may not complete bob's task",
        &mary,
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": g, "taskId": "ForBob", "callbackData": {"ok": true}}),
    )
    .await;
    s.call(
        "bob completes his task",
        &bob,
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": g, "taskId": "ForBob", "callbackData": {"ok": true}}),
    )
    .await;
    s.admin(
        "signal a task that no longer waits",
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": g, "taskId": "ForBob", "callbackData": {}}),
    )
    .await;
    s.admin(
        "signal the legacy way (signalPayload, no taskId) with two tasks waiting",
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": g, "signalPayload": {"ok": 1}}),
    )
    .await;
    s.admin(
        "signal an unknown instance",
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": "00000000-0000-4000-8000-000000000000", "callbackData": {}}),
    )
    .await;
    s.admin(
        "signal without instanceGuid",
        "SignalProcessInstanceCommand",
        json!({"callbackData": {}}),
    )
    .await;
    s.admin(
        "the callback registry of the instance",
        "GetCallbackRegistryListQuery",
        json!({"instanceGuid": g}),
    )
    .await;
    s.admin(
        "the callback registry with a bad status",
        "GetCallbackRegistryListQuery",
        json!({"status": "Lost"}),
    )
    .await;
    s.admin(
        "list running instances of Chores",
        "GetProcessInstanceListQuery",
        json!({"status": "RUNNING", "processKey": "Chores"}),
    )
    .await;
    s.admin(
        "list with an unknown status",
        "GetProcessInstanceListQuery",
        json!({"status": "Sleeping"}),
    )
    .await;
    s.admin(
        "cancel with a reason",
        "CancelProcessInstanceCommand",
        json!({"instanceGuid": g, "reason": "no longer needed"}),
    )
    .await;
    s.admin(
        "cancel it again",
        "CancelProcessInstanceCommand",
        json!({"instanceGuid": g}),
    )
    .await;
    s.admin(
        "cancel an unknown instance",
        "CancelProcessInstanceCommand",
        json!({"instanceGuid": "00000000-0000-4000-8000-000000000000"}),
    )
    .await;
    s.admin(
        "the history of the cancelled instance",
        "GetInstanceHistoryQuery",
        json!({"instanceGuid": g}),
    )
    .await;
    s.admin(
        "the history of an unknown instance",
        "GetInstanceHistoryQuery",
        json!({"instanceGuid": "00000000-0000-4000-8000-000000000000"}),
    )
    .await;
    s.check("instances");
}

#[tokio::test]
async fn incidents() {
    let mut s = Story::new();
    s.admin(
        "deploy Calc",
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": calc()}),
    )
    .await;
    s.admin(
        "a small amount completes",
        "StartProcessInstanceCommand",
        json!({"processKey": "Calc", "variables": {"amount": 2}}),
    )
    .await;
    let failed = s
        .admin(
            "a large amount raises an incident",
            "StartProcessInstanceCommand",
            json!({"processKey": "Calc", "variables": {"amount": 500}}),
        )
        .await;
    let g = guid(&failed);
    s.admin("the open incidents", "GetIncidentListQuery", json!({}))
        .await;
    s.admin(
        "retry with the same variables fails again",
        "RetryIncidentCommand",
        json!({"instanceGuid": g}),
    )
    .await;
    s.admin(
        "retry with a smaller amount completes",
        "RetryIncidentCommand",
        json!({"instanceGuid": g, "variables": {"amount": 5}}),
    )
    .await;
    s.admin(
        "retry an instance without an incident",
        "RetryIncidentCommand",
        json!({"instanceGuid": g}),
    )
    .await;
    s.admin(
        "retry without instanceGuid",
        "RetryIncidentCommand",
        json!({}),
    )
    .await;
    s.admin(
        "incidents after the retry",
        "GetIncidentListQuery",
        json!({"instanceGuid": g}),
    )
    .await;
    s.admin(
        "the completed instance",
        "GetProcessInstanceByIdQuery",
        json!({"instanceGuid": g}),
    )
    .await;
    s.admin(
        "its history",
        "GetInstanceHistoryQuery",
        json!({"instanceGuid": g}),
    )
    .await;
    s.admin(
        "list completed instances",
        "GetProcessInstanceListQuery",
        json!({"status": "COMPLETED"}),
    )
    .await;
    s.check("incidents");
}
