//! Steps decide on the stored state even when another writer moved an instance on behind this
//! runtime's back (a second runtime on the same file stands for another process): a runtime
//! keeps the states it committed last in memory, and that must never change an answer. Also:
//! the inbox rows follow the tasks step by step.

use baton_engine::VirtualClock;
use baton_runtime::{Reply, Runtime};
use baton_store::{Durability, Store};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

const NS: &str = r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL""#;

/// start -> first -> second -> end, two user tasks in a row.
fn two_tasks() -> String {
    format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d"><bpmn:process id="two" isExecutable="true">
        <bpmn:startEvent id="s"/>
        <bpmn:userTask id="first"/>
        <bpmn:userTask id="second"/>
        <bpmn:endEvent id="e"/>
        <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="first"/>
        <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="second"/>
        <bpmn:sequenceFlow id="f3" sourceRef="second" targetRef="e"/>
        </bpmn:process></bpmn:definitions>"#
    )
}

fn open(path: &Path) -> Runtime {
    let clock = Arc::new(VirtualClock::new(VirtualClock::default_start()));
    Runtime::open(path, Durability::Normal, clock).unwrap()
}

fn ok(r: Reply) -> Value {
    assert!(r.is_successful, "{r:?}");
    r.data
}

fn signal(rt: &Runtime, guid: &str, task: &str) -> Reply {
    rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "taskId": task, "callbackData": {"by": task}}),
        None,
    )
}

/// A deployed model and a started instance of it, on runtime `a`.
fn started(a: &Runtime) -> String {
    ok(a.execute(
        "DeployProcessDefinitionCommand",
        &json!({"bpmnXml": two_tasks()}),
        None,
    ));
    let s = ok(a.execute(
        "StartProcessInstanceCommand",
        &json!({"processKey": "two"}),
        None,
    ));
    s["instanceGuid"].as_str().unwrap().to_string()
}

fn inbox(db: &Path, guid: &str) -> Vec<String> {
    let store = Store::open(db, Durability::Normal).unwrap();
    let (tasks, _) = store.user_tasks(None, None, 1, 500).unwrap();
    tasks
        .into_iter()
        .filter(|t| t.instance_guid == guid)
        .map(|t| t.task_id)
        .collect()
}

#[test]
fn a_task_that_only_the_stored_state_has_is_completed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let (a, b) = (open(&db), open(&db));
    let guid = started(&a);
    assert_eq!(inbox(&db, &guid), ["first"]);
    // Another writer completes `first`: only the stored state waits on `second`.
    ok(signal(&b, &guid, "first"));
    assert_eq!(inbox(&db, &guid), ["second"]);
    let done = ok(signal(&a, &guid, "second"));
    assert_eq!(done["status"], "COMPLETED");
    assert!(inbox(&db, &guid).is_empty());
    // And the task `a` last saw waiting is refused, as the stored state says.
    let again = signal(&a, &guid, "first");
    assert!(!again.is_successful, "{again:?}");
}

#[test]
fn a_step_on_an_instance_another_writer_changed_writes_on_top_of_that_change() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let (a, b) = (open(&db), open(&db));
    let guid = started(&a);
    ok(signal(&a, &guid, "first"));
    // `a` holds the state waiting on `second`; another writer cancels the instance.
    ok(b.execute(
        "CancelProcessInstanceCommand",
        &json!({"instanceGuid": guid}),
        None,
    ));
    let late = signal(&a, &guid, "second");
    assert!(!late.is_successful, "{late:?}");
    let inst = ok(a.execute(
        "GetProcessInstanceByIdQuery",
        &json!({"instanceGuid": guid}),
        None,
    ));
    assert_eq!(inst["status"], "CANCELLED");
    assert!(inbox(&db, &guid).is_empty());
    // The history holds the two steps that happened, not the refused one.
    let history = ok(a.execute(
        "GetInstanceHistoryQuery",
        &json!({"instanceGuid": guid}),
        None,
    ));
    let completed: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "elementCompleted")
        .map(|e| e["elementId"].as_str().unwrap())
        .collect();
    assert_eq!(completed, ["s", "first"]);
}
