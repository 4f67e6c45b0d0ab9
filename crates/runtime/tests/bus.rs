//! The command bus on a real SQLite file: the seed 002 payment flow end to end, validation
//! errors naming fields, duplicate callbacks, and state surviving a reopen.

use baton_engine::{User, VirtualClock};
use baton_runtime::Runtime;
use baton_store::Durability;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn template() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bpmn-templates/payment-approval/PaymentApprovalProcess.bpmn");
    std::fs::read_to_string(p).unwrap()
}

fn open(path: &Path) -> Runtime {
    Runtime::open(path, Durability::Full, Arc::new(VirtualClock::new(VirtualClock::default_start()))).unwrap()
}

fn ok(r: &baton_runtime::Reply) -> &Value {
    assert!(r.is_successful, "{r:?}");
    &r.data
}

#[test]
fn payment_flow_through_the_bus_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let guid;
    {
        let rt = open(&db);
        let dep = rt.execute("DeployProcessDefinitionCommand", &json!({"bpmnXml": template(), "name": "Payments"}), None);
        let def = ok(&dep).clone();
        assert_eq!(def["processKey"], "PaymentApprovalProcess");
        assert_eq!(def["version"], 1);
        let started = rt.execute(
            "StartProcessInstanceCommand",
            &json!({"processDefinitionId": def["processDefinitionId"], "variables": {"paymentId": "PAY-7", "amount": 300}}),
            None,
        );
        let s = ok(&started).clone();
        assert_eq!(s["status"], "WAITING");
        assert_eq!(s["waiting"][0]["taskId"], "Task_WaitForPayment");
        guid = s["instanceGuid"].as_str().unwrap().to_string();
        let rows = rt.execute("GetCallbackRegistryListQuery", &json!({"status": "Pending"}), None);
        assert_eq!(ok(&rows)[0]["CorrelationKey"], "PAY-7");
        assert_eq!(ok(&rows)[0]["MessageRef"], "PaymentProcessed");
    }
    // A new process opens the same file: the instance and its pending callback are there.
    let rt = open(&db);
    let cb = rt.execute("ReturnCallbackCommand", &json!({"correlationKey": "PAY-7", "result": {"status": "success"}}), None);
    assert_eq!(ok(&cb)["callbackStatus"], "Completed");
    let again = rt.execute("ReturnCallbackCommand", &json!({"correlationKey": "PAY-7", "result": {"status": "success"}}), None);
    assert!(!again.is_successful, "a second delivery is refused");
    // ReturnCallback does not complete the form-mode review, which has the same key.
    assert!(again.message.contains("PAY-7"), "{}", again.message);

    let mary = User { name: "mary".into(), teams: vec!["MANAGERS".into()] };
    let bob = User { name: "bob".into(), teams: vec!["TELLERS".into()] };
    let denied = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {"decision": "approve"}, "taskId": "Task_ReviewPayment"}),
        Some(&bob),
    );
    assert!(!denied.is_successful && denied.message.contains("MANAGERS"), "{denied:?}");
    let rejected = rt.execute("SignalProcessInstanceCommand", &json!({"instanceGuid": guid, "signalPayload": {}}), Some(&mary));
    assert!(!rejected.is_successful && rejected.message.contains("Decision is required"), "{rejected:?}");
    let done = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "signalPayload": {"decision": "approve", "comments": "ok"}}),
        Some(&mary),
    );
    let d = ok(&done);
    assert_eq!(d["status"], "COMPLETED");
    assert_eq!(d["taskType"], "receiveTask");
    assert_eq!(d["result"]["approved"], true);
    let inst = rt.execute("GetProcessInstanceByIdQuery", &json!({"instanceGuid": guid}), None);
    let i = ok(&inst);
    assert_eq!(i["variables"]["paymentStatus"], "POSTED");
    assert_eq!(i["processKey"], "PaymentApprovalProcess");
    assert!(i["endedAt"].is_string());
    let rows = rt.execute("GetCallbackRegistryListQuery", &json!({"instanceGuid": guid}), None);
    let statuses: Vec<&str> = ok(&rows).as_array().unwrap().iter().map(|r| r["Status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["Completed", "Completed"]);
}

#[test]
fn validation_errors_name_the_field_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(&dir.path().join("b.db"));
    let r = rt.execute("DeployProcessDefinitionCommand", &json!({}), None);
    assert_eq!(r.errors[0].field, "bpmnXml");
    let r = rt.execute("DeployProcessDefinitionCommand", &json!({"bpmnXml": "<definitions><process id='p'>"}), None);
    assert_eq!(r.errors[0].field, "bpmnXml");
    assert!(r.errors[0].message.contains("line 1"), "{r:?}");
    let r = rt.execute("StartProcessInstanceCommand", &json!({"processDefinitionId": 99}), None);
    assert_eq!(r.errors[0].field, "processDefinitionId");
    let r = rt.execute("StartProcessInstanceCommand", &json!({"processDefinitionId": "x"}), None);
    assert!(r.errors[0].message.contains("integer"), "{r:?}");
    let r = rt.execute("SignalProcessInstanceCommand", &json!({"instanceGuid": "nope"}), None);
    assert_eq!(r.errors[0].field, "instanceGuid");
    let r = rt.execute("NoSuchCommand", &json!({}), None);
    assert_eq!(r.errors[0].field, "cmd");
    let list = rt.execute("GetProcessDefinitionListQuery", &json!({}), None);
    assert_eq!(ok(&list)["totalCount"], 0, "nothing was stored by the failed deploys");
}
