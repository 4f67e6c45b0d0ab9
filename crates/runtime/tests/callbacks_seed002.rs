//! Callbacks exactly as seed 002 says, on a real SQLite file (and the HTTP door on 127.0.0.1
//! where the answer's shape matters): a webhook-mode receive task (no form) is completed only by
//! ReturnCallbackCommand, SignalProcessInstanceCommand is refused there and keeps submitting
//! forms; a duplicate callback with another result is not applied but answered and recorded as
//! a conflict, its payload kept; `InitiatedBy` holds the user who started the instance.

use baton_engine::{User, VirtualClock};
use baton_runtime::{Code, Reply, Runtime};
use baton_store::Durability;
use baton_testkit::{Door, Served, ADMIN};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

/// Seed 002's Example 1 (baton_testkit::seeds).
fn example_1() -> String {
    baton_testkit::seeds::SEED002_EXAMPLE_1.to_string()
}

/// A process whose JavaScript script task reads `InitiatedBy` as seed 000's process
/// authorization does, then waits on a user task.
fn who_started() -> String {
    r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://baton.dev/tests">
<bpmn:process id="WhoStarted" isExecutable="true">
<bpmn:startEvent id="s"/>
<bpmn:scriptTask id="Read" scriptFormat="javascript"><bpmn:script>var initiator = execution.getVariable('InitiatedBy');
execution.setVariable('seenInitiator', initiator === null || initiator === undefined ? 'nobody' : initiator);</bpmn:script></bpmn:scriptTask>
<bpmn:userTask id="Look"/>
<bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Read"/>
<bpmn:sequenceFlow id="f2" sourceRef="Read" targetRef="Look"/>
<bpmn:sequenceFlow id="f3" sourceRef="Look" targetRef="e"/>
</bpmn:process>
</bpmn:definitions>
"#
    .to_string()
}

/// A receive task with neither a form nor a correlation key (nothing can call it back), a
/// user task in parallel with a webhook-mode receive task.
fn plain_waits() -> String {
    r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:custom="http://baton.dev/schema/custom" id="d" targetNamespace="http://baton.dev/tests">
<bpmn:process id="PlainWaits" isExecutable="true">
<bpmn:startEvent id="s"/>
<bpmn:receiveTask id="Plain"/>
<bpmn:parallelGateway id="fork"/>
<bpmn:userTask id="Approve"/>
<bpmn:receiveTask id="Gateway"><bpmn:extensionElements><custom:properties>
<custom:property name="correlationKey" value="context.ref"/>
</custom:properties></bpmn:extensionElements></bpmn:receiveTask>
<bpmn:parallelGateway id="join"/>
<bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Plain"/>
<bpmn:sequenceFlow id="f2" sourceRef="Plain" targetRef="fork"/>
<bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="Approve"/>
<bpmn:sequenceFlow id="f4" sourceRef="fork" targetRef="Gateway"/>
<bpmn:sequenceFlow id="f5" sourceRef="Approve" targetRef="join"/>
<bpmn:sequenceFlow id="f6" sourceRef="Gateway" targetRef="join"/>
<bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="e"/>
</bpmn:process>
</bpmn:definitions>
"#
    .to_string()
}

fn open(path: &Path) -> Runtime {
    Runtime::open(
        path,
        Durability::Full,
        Arc::new(VirtualClock::new(VirtualClock::default_start())),
    )
    .unwrap()
}

fn ok(r: &Reply) -> Value {
    assert!(r.is_successful, "{r:?}");
    r.data.clone()
}

fn mary() -> User {
    User {
        name: "mary".into(),
        teams: vec!["MANAGERS".into()],
    }
}

/// A runtime on a fresh file with Example 1 deployed and mary created; answers the instance
/// mary started for `PAYMENT-12345`.
fn payment_started(rt: &Runtime) -> String {
    ok(&rt.execute(
        "DeployProcessDefinitionCommand",
        &json!({"bpmnXml": example_1()}),
        None,
    ));
    ok(&rt.execute(
        "CreateUserCommand",
        &json!({"userName": "mary", "teams": ["MANAGERS"]}),
        None,
    ));
    let started = ok(&rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processKey": "PaymentApprovalProcess", "variables": {"paymentId": "PAYMENT-12345", "amount": 300}}),
        Some(&mary()),
    ));
    assert_eq!(started["waiting"][0]["taskId"], "Task_WaitForPayment");
    started["instanceGuid"].as_str().unwrap().to_string()
}

fn instance(rt: &Runtime, guid: &str) -> Value {
    ok(&rt.execute(
        "GetProcessInstanceByIdQuery",
        &json!({"instanceGuid": guid}),
        None,
    ))
}

fn registry(rt: &Runtime, guid: &str) -> Vec<Value> {
    ok(&rt.execute(
        "GetCallbackRegistryListQuery",
        &json!({"instanceGuid": guid}),
        None,
    ))
    .as_array()
    .unwrap()
    .clone()
}

#[test]
fn a_webhook_mode_receive_task_refuses_a_signal_and_takes_the_gateways_callback() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(&dir.path().join("baton.db"));
    let guid = payment_started(&rt);
    let before = instance(&rt, &guid);

    // Seed 002's submission, aimed at the webhook wait: by its starter, by the owner, with and
    // without taskId, in the current and the legacy field.
    for (who, data) in [
        (
            Some(mary()),
            json!({"instanceGuid": guid, "callbackData": {"status": "success"}}),
        ),
        (
            None,
            json!({"instanceGuid": guid, "callbackData": {"status": "success"}, "taskId": "Task_WaitForPayment"}),
        ),
        (
            None,
            json!({"instanceGuid": guid, "signalPayload": {"status": "success"}}),
        ),
    ] {
        let r = rt.execute("SignalProcessInstanceCommand", &data, who.as_ref());
        assert!(!r.is_successful, "{r:?}");
        assert_eq!(r.code, Some(Code::Rejected), "{r:?}");
        assert!(
            r.message.contains("ReturnCallbackCommand")
                && r.message.contains("PAYMENT-12345")
                && r.message.contains("Task_WaitForPayment"),
            "the refusal names the command, the key and the task: {}",
            r.message
        );
    }
    // Nothing moved: still waiting there, its registry row Pending.
    let still = instance(&rt, &guid);
    assert_eq!(still["waiting"], before["waiting"]);
    assert_eq!(still["variables"], before["variables"]);
    let rows = registry(&rt, &guid);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Status"], "Pending");

    // The gateway's real result arrives and is applied.
    let gateway = json!({"status": "success", "transactionId": "TXN-884", "amount": 300});
    let cb = ok(&rt.execute(
        "ReturnCallbackCommand",
        &json!({"correlationKey": "PAYMENT-12345", "result": gateway}),
        None,
    ));
    assert_eq!(cb["duplicate"], false);
    assert_eq!(cb["callbackStatus"], "Completed");
    assert!(cb.get("conflict").is_none(), "{cb}");
    let i = instance(&rt, &guid);
    assert_eq!(i["variables"]["lastReceiveTaskResult"], gateway);
    assert_eq!(i["waiting"][0]["taskId"], "Task_ReviewPayment");
    let rows = registry(&rt, &guid);
    assert_eq!(rows[0]["Status"], "Completed");
    assert_eq!(
        serde_json::from_str::<Value>(rows[0]["ResultData"].as_str().unwrap()).unwrap(),
        gateway
    );

    // The form-mode review still takes SignalProcessInstanceCommand, as the seed shows, and a
    // ReturnCallbackCommand on its key is no way to complete it.
    let r = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {"comments": "no decision"}}),
        Some(&mary()),
    );
    assert!(
        !r.is_successful && r.message.contains("Decision is required"),
        "{r:?}"
    );
    let done = ok(&rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {"decision": "approve", "comments": "ok"}}),
        Some(&mary()),
    ));
    assert_eq!(done["taskType"], "receiveTask");
    assert_eq!(done["result"]["approved"], true);
    assert_eq!(done["result"]["reviewedBy"], "mary");
    assert_eq!(done["status"], "COMPLETED");
    let rows = registry(&rt, &guid);
    assert!(rows.iter().all(|r| r["Status"] == "Completed"), "{rows:?}");
}

#[test]
fn a_duplicate_with_another_result_is_not_applied_but_answered_and_kept_as_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let guid;
    let first = json!({"status": "success", "transactionId": "TXN-1"});
    let second = json!({"status": "failed", "transactionId": "TXN-1", "reason": "reversed"});
    {
        let rt = open(&db);
        guid = payment_started(&rt);
        ok(&rt.execute(
            "ReturnCallbackCommand",
            &json!({"correlationKey": "PAYMENT-12345", "result": first}),
            None,
        ));
        // The gateway retries with the same result: a plain duplicate, as before.
        let again = rt.execute(
            "ReturnCallbackCommand",
            &json!({"correlationKey": "PAYMENT-12345", "result": first}),
            None,
        );
        let d = ok(&again);
        assert_eq!(d["duplicate"], true);
        assert!(d.get("conflict").is_none(), "{d}");
        assert!(again.message.starts_with("Duplicate callback"), "{again:?}");
        assert!(registry(&rt, &guid)[0].get("ConflictCount").is_none());

        // Then with another result: still not applied, but said.
        let other = rt.execute(
            "ReturnCallbackCommand",
            &json!({"correlationKey": "PAYMENT-12345", "result": second}),
            None,
        );
        let d = ok(&other);
        assert_eq!(
            d,
            json!({"instanceGuid": guid, "status": "WAITING", "callbackStatus": "Completed", "duplicate": true, "conflict": true})
        );
        assert!(
            other.message.contains("another result") && other.message.contains("not applied"),
            "{other:?}"
        );
        let i = instance(&rt, &guid);
        assert_eq!(i["variables"]["lastReceiveTaskResult"], first);
        assert_eq!(i["waiting"][0]["taskId"], "Task_ReviewPayment");
    }
    // Kept on disk: a new process on the same file reads the conflict back.
    let rt = open(&db);
    let rows = registry(&rt, &guid);
    let row = rows
        .iter()
        .find(|r| r["CallbackTaskId"] == "Task_WaitForPayment")
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(row["ResultData"].as_str().unwrap()).unwrap(),
        first
    );
    assert_eq!(row["ConflictCount"], 1);
    assert_eq!(
        serde_json::from_str::<Value>(row["ConflictingResult"].as_str().unwrap()).unwrap(),
        second
    );
    assert!(row["LastConflictAt"].is_string(), "{row}");
    // The form-mode row on the same key has no conflict.
    let review = rows
        .iter()
        .find(|r| r["CallbackTaskId"] == "Task_ReviewPayment")
        .unwrap();
    assert!(review.get("ConflictCount").is_none(), "{review}");
    // The history keeps the payload.
    let history = ok(&rt.execute(
        "GetInstanceHistoryQuery",
        &json!({"instanceGuid": guid}),
        None,
    ));
    let kept: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "callbackConflict")
        .collect();
    assert_eq!(kept.len(), 1, "{history}");
    assert_eq!(kept[0]["elementId"], "Task_WaitForPayment");
    let data: Value = match &kept[0]["data"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    };
    assert_eq!(data["result"], second);
    assert_eq!(data["correlationKey"], "PAYMENT-12345");

    // After the instance completed, a third result is a conflict too; the count grows.
    ok(&rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {"decision": "reject"}}),
        Some(&mary()),
    ));
    let third = json!({"status": "chargeback"});
    let d = ok(&rt.execute(
        "ReturnCallbackCommand",
        &json!({"correlationKey": "PAYMENT-12345", "result": third}),
        None,
    ));
    assert_eq!(
        (d["status"].clone(), d["conflict"].clone()),
        (json!("COMPLETED"), json!(true))
    );
    let rows = registry(&rt, &guid);
    let row = rows
        .iter()
        .find(|r| r["CallbackTaskId"] == "Task_WaitForPayment")
        .unwrap();
    assert_eq!(row["ConflictCount"], 2);
    assert_eq!(row["ConflictingResult"], json!(third.to_string()));
    assert_eq!(
        instance(&rt, &guid)["variables"]["lastReceiveTaskResult"]["approved"],
        false
    );
}

#[test]
fn signals_still_complete_forms_user_tasks_and_receive_tasks_nothing_calls_back() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(&dir.path().join("baton.db"));
    ok(&rt.execute(
        "DeployProcessDefinitionCommand",
        &json!({"bpmnXml": plain_waits()}),
        None,
    ));
    let guid = ok(&rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processKey": "PlainWaits", "variables": {"ref": "R-9"}}),
        None,
    ))["instanceGuid"]
        .as_str()
        .unwrap()
        .to_string();
    // A receive task with neither a form nor a key: a signal completes it.
    let d = ok(&rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {"seen": true}}),
        None,
    ));
    assert_eq!(d["taskType"], "receiveTask");
    assert_eq!(d["waiting"].as_array().unwrap().len(), 2, "{d}");
    // Two tasks wait: without taskId the signal says which.
    let r = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {}}),
        None,
    );
    assert_eq!(r.code, Some(Code::Rejected), "{r:?}");
    assert!(
        r.message.contains("2 tasks are waiting") && r.message.contains("taskId"),
        "{r:?}"
    );
    // The webhook-mode one is refused by name; the user task is completed.
    let r = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {}, "taskId": "Gateway"}),
        None,
    );
    assert!(
        r.code == Some(Code::Rejected)
            && r.message.contains("ReturnCallbackCommand")
            && r.message.contains("'R-9'"),
        "{r:?}"
    );
    let d = ok(&rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {"ok": true}, "taskId": "Approve"}),
        None,
    ));
    assert_eq!(d["taskType"], "userTask");
    // Only the webhook wait is left: a signal without taskId is refused, the callback ends it.
    let r = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {}}),
        None,
    );
    assert!(
        r.code == Some(Code::Rejected) && r.message.contains("ReturnCallbackCommand"),
        "{r:?}"
    );
    let d = ok(&rt.execute(
        "ReturnCallbackCommand",
        &json!({"correlationKey": "R-9", "result": {"paid": true}}),
        None,
    ));
    assert_eq!(d["status"], "COMPLETED");
    // An ended instance is answered as before.
    let r = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {}}),
        None,
    );
    assert_eq!(r.code, Some(Code::Rejected), "{r:?}");
}

#[test]
fn initiated_by_holds_the_user_who_started_the_instance() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(&dir.path().join("baton.db"));
    ok(&rt.execute(
        "DeployProcessDefinitionCommand",
        &json!({"bpmnXml": who_started()}),
        None,
    ));
    ok(&rt.execute(
        "CreateUserCommand",
        &json!({"userName": "mary", "teams": ["MANAGERS"]}),
        None,
    ));
    let start = |vars: Value, user: Option<&User>| -> Value {
        let guid = ok(&rt.execute(
            "StartProcessInstanceCommand",
            &json!({"processKey": "WhoStarted", "variables": vars}),
            user,
        ))["instanceGuid"]
            .as_str()
            .unwrap()
            .to_string();
        instance(&rt, &guid)["variables"].clone()
    };
    // A signed-in user: their name, read by the seed's own line.
    let v = start(json!({"amount": 1}), Some(&mary()));
    assert_eq!(v["InitiatedBy"], "mary");
    assert_eq!(v["seenInitiator"], "mary");
    // Nobody starts as someone else: a given value is replaced by the caller's name.
    let v = start(json!({"InitiatedBy": "boss"}), Some(&mary()));
    assert_eq!(v["InitiatedBy"], "mary");
    assert_eq!(v["seenInitiator"], "mary");
    // Without a user (the owner, the CLI, Baton's own starts): the value given, else none.
    let v = start(json!({"InitiatedBy": "batch-7"}), None);
    assert_eq!(v["InitiatedBy"], "batch-7");
    let v = start(json!({}), None);
    assert!(v.get("InitiatedBy").is_none(), "{v}");
    assert_eq!(v["seenInitiator"], "nobody");
}

#[test]
fn the_http_door_refuses_the_signal_and_answers_the_conflict() {
    let door = Door::new();
    let mary = door.user("mary", &["MANAGERS"]);
    let served = Served::start(door.st.clone());
    let (status, dep) = served.exec(
        ADMIN,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": example_1()}),
    );
    assert_eq!(status, 200, "{dep}");
    let (_, started) = served.exec(
        &mary.token,
        "StartProcessInstanceCommand",
        json!({"processKey": "PaymentApprovalProcess", "variables": {"paymentId": "PAYMENT-12345"}}),
    );
    let guid = started["data"]["instanceGuid"]
        .as_str()
        .unwrap()
        .to_string();
    // Seed 002's frontend call, aimed at the webhook wait.
    let (status, refused) = served.exec(
        &mary.token,
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "callbackData": {"status": "success"}}),
    );
    assert_eq!(
        status, 200,
        "a business failure keeps 200 on this door: {refused}"
    );
    assert_eq!(refused["isSuccessful"], false);
    assert_eq!(refused["code"], "REJECTED");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("ReturnCallbackCommand") && message.contains("PAYMENT-12345"),
        "{refused}"
    );
    let (_, i) = served.exec(
        ADMIN,
        "GetProcessInstanceByIdQuery",
        json!({"instanceGuid": guid}),
    );
    assert_eq!(i["data"]["waiting"][0]["taskId"], "Task_WaitForPayment");
    assert_eq!(i["data"]["variables"]["InitiatedBy"], "mary");

    let (_, first) = served.exec(
        ADMIN,
        "ReturnCallbackCommand",
        json!({"correlationKey": "PAYMENT-12345", "result": {"status": "success"}}),
    );
    assert_eq!(
        first["data"],
        json!({"instanceGuid": guid, "status": "WAITING", "callbackStatus": "Completed", "duplicate": false})
    );
    let (status, conflict) = served.exec(
        ADMIN,
        "ReturnCallbackCommand",
        json!({"correlationKey": "PAYMENT-12345", "result": {"status": "failed"}}),
    );
    assert_eq!(status, 200);
    assert_eq!(conflict["isSuccessful"], true, "{conflict}");
    assert_eq!(
        conflict["data"],
        json!({"instanceGuid": guid, "status": "WAITING", "callbackStatus": "Completed", "duplicate": true, "conflict": true})
    );
    let (_, rows) = served.exec(
        ADMIN,
        "GetCallbackRegistryListQuery",
        json!({"instanceGuid": guid, "status": "Completed"}),
    );
    let row = &rows["data"][0];
    assert_eq!(row["ResultData"], r#"{"status":"success"}"#);
    assert_eq!(row["ConflictingResult"], r#"{"status":"failed"}"#);
    assert_eq!(row["ConflictCount"], 1);
}
