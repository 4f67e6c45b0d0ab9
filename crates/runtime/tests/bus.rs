//! The command bus on a real SQLite file: the seed 002 payment flow end to end, validation
//! errors naming fields, duplicate callbacks, and state surviving a reopen.

use baton_engine::{User, VirtualClock};
use baton_runtime::Runtime;
use baton_store::Durability;
use baton_testkit::Model;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

fn template() -> String {
    baton_testkit::template("payment-approval/PaymentApprovalProcess.bpmn")
}

fn open(path: &Path) -> Runtime {
    Runtime::open(
        path,
        Durability::Full,
        Arc::new(VirtualClock::new(VirtualClock::default_start())),
    )
    .unwrap()
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
        let dep = rt.execute(
            "DeployProcessDefinitionCommand",
            &json!({"bpmnXml": template(), "name": "Payments"}),
            None,
        );
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
        let rows = rt.execute(
            "GetCallbackRegistryListQuery",
            &json!({"status": "Pending"}),
            None,
        );
        assert_eq!(ok(&rows)[0]["CorrelationKey"], "PAY-7");
        assert_eq!(ok(&rows)[0]["MessageRef"], "PaymentProcessed");
    }
    // A new process opens the same file: the instance and its pending callback are there.
    let rt = open(&db);
    let cb = rt.execute(
        "ReturnCallbackCommand",
        &json!({"correlationKey": "PAY-7", "result": {"status": "success"}}),
        None,
    );
    assert_eq!(ok(&cb)["callbackStatus"], "Completed");
    let again = rt.execute(
        "ReturnCallbackCommand",
        &json!({"correlationKey": "PAY-7", "result": {"status": "success"}}),
        None,
    );
    // The gateway retries: a duplicate, even though the form-mode review now waits on the same
    // key; the review is not completed by it.
    assert!(
        again.is_successful && ok(&again)["duplicate"] == true,
        "{again:?}"
    );
    let waiting = rt.execute(
        "GetProcessInstanceByIdQuery",
        &json!({"instanceGuid": guid}),
        None,
    );
    assert_eq!(ok(&waiting)["waiting"][0]["taskId"], "Task_ReviewPayment");

    let mary = User {
        name: "mary".into(),
        teams: vec!["MANAGERS".into()],
    };
    let bob = User {
        name: "bob".into(),
        teams: vec!["TELLERS".into()],
    };
    let denied = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {"decision": "approve"}, "taskId": "Task_ReviewPayment"}),
        Some(&bob),
    );
    // Bob neither started it nor may work on its task: to him it does not exist.
    assert_eq!(
        denied.code,
        Some(baton_runtime::Code::NotFound),
        "{denied:?}"
    );
    let rejected = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "signalPayload": {}}),
        Some(&mary),
    );
    assert!(
        !rejected.is_successful && rejected.message.contains("Decision is required"),
        "{rejected:?}"
    );
    let done = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "signalPayload": {"decision": "approve", "comments": "ok"}}),
        Some(&mary),
    );
    let d = ok(&done);
    assert_eq!(d["status"], "COMPLETED");
    assert_eq!(d["taskType"], "receiveTask");
    assert_eq!(d["result"]["approved"], true);
    let inst = rt.execute(
        "GetProcessInstanceByIdQuery",
        &json!({"instanceGuid": guid}),
        None,
    );
    let i = ok(&inst);
    assert_eq!(i["variables"]["paymentStatus"], "POSTED");
    assert_eq!(i["processKey"], "PaymentApprovalProcess");
    assert!(i["endedAt"].is_string());
    let rows = rt.execute(
        "GetCallbackRegistryListQuery",
        &json!({"instanceGuid": guid}),
        None,
    );
    let statuses: Vec<&str> = ok(&rows)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["Completed", "Completed"]);
}

#[test]
fn validation_errors_name_the_field_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(&dir.path().join("b.db"));
    let r = rt.execute("DeployProcessDefinitionCommand", &json!({}), None);
    assert_eq!(r.errors[0].field, "bpmnXml");
    let r = rt.execute(
        "DeployProcessDefinitionCommand",
        &json!({"bpmnXml": "<definitions><process id='p'>"}),
        None,
    );
    assert_eq!(r.errors[0].field, "bpmnXml");
    assert!(r.errors[0].message.contains("line 1"), "{r:?}");
    let r = rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processDefinitionId": 99}),
        None,
    );
    assert_eq!(r.errors[0].field, "processDefinitionId");
    let r = rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processDefinitionId": "x"}),
        None,
    );
    assert!(r.errors[0].message.contains("integer"), "{r:?}");
    let r = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": "nope"}),
        None,
    );
    assert_eq!(r.errors[0].field, "instanceGuid");
    let r = rt.execute("NoSuchCommand", &json!({}), None);
    assert_eq!(r.errors[0].field, "cmd");
    let list = rt.execute("GetProcessDefinitionListQuery", &json!({}), None);
    assert_eq!(
        ok(&list)["totalCount"],
        0,
        "nothing was stored by the failed deploys"
    );
}

/// Pack (team WAREHOUSE, with a Shutdown signal boundary), wait for OrderPaid keyed by
/// `orderId`, then a script that divides by `divisor`.
fn msg_model() -> String {
    Model::process("Orders")
        .message("M", "OrderPaid")
        .signal("S", "Shutdown")
        .start("s")
        .user_task("Pack")
        .props(&[("FormKey", "pack-form"), ("ResponsibleTeam", "WAREHOUSE")])
        .catch_message("Paid", "M")
        .props(&[("correlationKey", "orderId")])
        .script_task("Ship", "let shipped = weight / divisor;")
        .end("e")
        .boundary_signal("Stop", "Pack", "S")
        .end("stopped")
        .chain(&["s", "Pack", "Paid", "Ship", "e"])
        .flow("Stop", "stopped")
        .xml()
}

#[test]
fn forms_task_list_messages_signals_incidents_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(&dir.path().join("m.db"));
    let form = json!({"type": "default", "components": [{"type": "textfield", "key": "box"}]});
    let dep = rt.execute(
        "DeployProcessDefinitionCommand",
        &json!({"bpmnXml": msg_model(), "forms": {"pack-form": form}}),
        None,
    );
    let def = ok(&dep)["processDefinitionId"].clone();
    let start = |order: &str| {
        let r = rt.execute(
            "StartProcessInstanceCommand",
            &json!({"processDefinitionId": def, "variables": {"orderId": order, "weight": 10, "divisor": 0}, "correlationId": order}),
            None,
        );
        ok(&r)["instanceGuid"].as_str().unwrap().to_string()
    };
    let a = start("O-1");
    let b = start("O-2");

    let f = rt.execute("GetTaskFormQuery", &json!({"correlationId": "O-1"}), None);
    let f = ok(&f);
    assert_eq!(f["status"], "SUCCESS");
    assert_eq!(f["formKey"], "pack-form");
    assert_eq!(f["formJson"], form);
    assert_eq!(f["context"]["orderId"], "O-1");

    let list = rt.execute("GetTaskListQuery", &json!({"team": "WAREHOUSE"}), None);
    assert_eq!(ok(&list)["totalCount"], 2);
    let list = rt.execute(
        "GetTaskListQuery",
        &json!({"team": "SALES", "userName": "zoe"}),
        None,
    );
    assert_eq!(
        ok(&list)["totalCount"],
        0,
        "not offered outside the responsible team"
    );

    // Signal: b is stopped by the boundary; a is packed and waits for payment.
    let sig = rt.execute(
        "BroadcastSignalCommand",
        &json!({"signalName": "Shutdown"}),
        None,
    );
    assert_eq!(ok(&sig)["instances"].as_array().unwrap().len(), 2);
    let _ = b;
    let a2 = start("O-3");
    let packed = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": a2, "callbackData": {"box": "L"}}),
        None,
    );
    assert_eq!(ok(&packed)["status"], "WAITING");
    let none = rt.execute(
        "CorrelateMessageCommand",
        &json!({"messageName": "OrderPaid", "correlationKey": "O-9"}),
        None,
    );
    assert_eq!(ok(&none)["correlated"], false);
    let paid = rt.execute(
        "CorrelateMessageCommand",
        &json!({"messageName": "OrderPaid", "correlationKey": "O-3"}),
        None,
    );
    assert_eq!(ok(&paid)["instanceGuid"], a2.as_str());
    // weight / divisor with divisor 0 fails: an incident, FAILED, then retried with a fix.
    assert_eq!(ok(&paid)["status"], "FAILED");
    let failed = rt.execute(
        "GetProcessInstanceListQuery",
        &json!({"status": "FAILED"}),
        None,
    );
    assert_eq!(ok(&failed)["totalCount"], 1);
    let fixed = rt.execute(
        "RetryIncidentCommand",
        &json!({"instanceGuid": a2, "variables": {"divisor": 2}}),
        None,
    );
    assert_eq!(ok(&fixed)["status"], "COMPLETED");
    let inst = rt.execute(
        "GetProcessInstanceByIdQuery",
        &json!({"instanceGuid": a2}),
        None,
    );
    assert_eq!(ok(&inst)["variables"]["shipped"], 5);
    let hist = rt.execute(
        "GetInstanceHistoryQuery",
        &json!({"instanceGuid": a2}),
        None,
    );
    let kinds: Vec<&str> = ok(&hist)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"taskWaiting")
            && kinds.contains(&"incidentRaised")
            && kinds.contains(&"ended"),
        "{kinds:?}"
    );
    let all = rt.execute(
        "GetProcessInstanceListQuery",
        &json!({"processKey": "Orders"}),
        None,
    );
    assert_eq!(ok(&all)["totalCount"], 3);
    let _ = a;
}
