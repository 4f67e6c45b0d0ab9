//! The typed command structs did not change the JSON on the wire: representative answers keep
//! the shape (keys in order, and the JSON type of every value) that the handlers answered when
//! they built their JSON by hand. The expected shapes below were captured from those handlers.

use baton_engine::VirtualClock;
use baton_runtime::{Reply, Runtime};
use baton_store::Durability;
use serde_json::{json, Value};
use std::sync::Arc;

const NS: &str = r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:custom="http://baton.dev/schema/custom""#;

fn model(id: &str, decls: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d_{id}">{decls}<bpmn:process id="{id}" isExecutable="true">{body}</bpmn:process></bpmn:definitions>"#
    )
}

fn flow(id: &str, s: &str, t: &str) -> String {
    format!(r#"<bpmn:sequenceFlow id="{id}" sourceRef="{s}" targetRef="{t}"/>"#)
}

/// A webhook-mode receive task keyed by `ref`.
fn callback_wait() -> String {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:receiveTask id="Callback"><bpmn:extensionElements><custom:properties><custom:property name="correlationKey" value="context.ref"/></custom:properties></bpmn:extensionElements></bpmn:receiveTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "Callback"),
        flow("f2", "Callback", "e")
    );
    model("CallbackFlow", "", &body)
}

/// A script task that throws when `amount` > 100.
fn failing_script() -> String {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:scriptTask id="Calc" scriptFormat="rhai"><bpmn:script>if amount &gt; 100 {{ throw "too large" }}; total = amount * 2;</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "Calc"),
        flow("f2", "Calc", "e")
    );
    model("Calc", "", &body)
}

/// A signal catch on `Alarm`.
fn signal_wait() -> String {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="WaitAlarm"><bpmn:signalEventDefinition signalRef="S"/></bpmn:intermediateCatchEvent><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "WaitAlarm"),
        flow("f2", "WaitAlarm", "e")
    );
    model("AlarmFlow", r#"<bpmn:signal id="S" name="Alarm"/>"#, &body)
}

fn template(path: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../bpmn-templates/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The structure of a JSON value: objects keep their keys in order, arrays show their first
/// item, scalars become their JSON type.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.first().map(shape).into_iter().collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => json!("null"),
    }
}

/// The whole envelope's shape, as text (so that key order counts), with its message and field
/// errors verbatim.
fn envelope_shape(r: &Reply) -> String {
    let mut v = shape(&serde_json::to_value(r).unwrap());
    v["message"] = json!(r.message);
    if !r.errors.is_empty() {
        v["errors"] = serde_json::to_value(&r.errors).unwrap();
    }
    v.to_string()
}

struct Run {
    rt: Runtime,
    shapes: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Run {
    fn new() -> Run {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(VirtualClock::new(VirtualClock::default_start()));
        let rt = Runtime::open(&dir.path().join("shapes.db"), Durability::Normal, clock).unwrap();
        Run {
            rt,
            shapes: Vec::new(),
            _dir: dir,
        }
    }

    /// Runs a command and records the shape of its answer under `label`.
    fn run(&mut self, label: &str, cmd: &str, data: Value) -> Value {
        let r = self.rt.execute(cmd, &data, None);
        self.shapes.push((label.to_string(), envelope_shape(&r)));
        r.data
    }
}

#[test]
fn representative_answers_keep_their_shape() {
    let mut run = Run::new();
    let form: Value =
        serde_json::from_str(&template("loan-approval/forms/loan-review-form.form.json")).unwrap();
    let loan = template("loan-approval/LoanApprovalProcess.bpmn");
    let d = run.run(
        "deploy",
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": loan, "name": "Loans", "forms": {"loan-review-form": form}}),
    );
    let def = d["processDefinitionId"].clone();
    run.run(
        "definitions",
        "GetProcessDefinitionListQuery",
        json!({"pageSize": 5}),
    );
    run.run(
        "definition",
        "GetProcessDefinitionByIdQuery",
        json!({"processDefinitionId": def}),
    );
    let s = run.run(
        "start",
        "StartProcessInstanceCommand",
        json!({"processKey": "LoanApprovalProcess", "variables": {"applicant": "Ada", "requestedAmount": 250000},
               "businessKey": "B-1"}),
    );
    let guid = s["instanceGuid"].clone();
    run.run(
        "instance",
        "GetProcessInstanceByIdQuery",
        json!({"instanceGuid": guid}),
    );
    run.run(
        "instances",
        "GetProcessInstanceListQuery",
        json!({"status": "WAITING"}),
    );
    run.run(
        "taskForm",
        "GetTaskFormQuery",
        json!({"instanceGuid": guid}),
    );
    run.run("tasks", "GetTaskListQuery", json!({}));
    run.run(
        "signal",
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "callbackData": {"decision": "approve", "approvedAmount": 200000}}),
    );
    run.run(
        "history",
        "GetInstanceHistoryQuery",
        json!({"instanceGuid": guid}),
    );

    run.run(
        "deployCallback",
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": callback_wait()}),
    );
    let c = run.run(
        "startCallback",
        "StartProcessInstanceCommand",
        json!({"processKey": "CallbackFlow", "variables": {"ref": "R-1"}}),
    );
    run.run(
        "callbacks",
        "GetCallbackRegistryListQuery",
        json!({"instanceGuid": c["instanceGuid"]}),
    );
    run.run(
        "callback",
        "ReturnCallbackCommand",
        json!({"correlationKey": "R-1", "result": {"ok": true}}),
    );
    run.run(
        "callbackDuplicate",
        "ReturnCallbackCommand",
        json!({"correlationKey": "R-1", "result": {"ok": true}}),
    );
    run.run(
        "callbackBuffered",
        "ReturnCallbackCommand",
        json!({"correlationKey": "R-2", "result": {}, "ttlSeconds": 60}),
    );
    let c2 = run.run(
        "startCallback2",
        "StartProcessInstanceCommand",
        json!({"processKey": "CallbackFlow", "variables": {"ref": "R-3"}}),
    );
    run.run(
        "cancel",
        "CancelProcessInstanceCommand",
        json!({"instanceGuid": c2["instanceGuid"], "reason": "test"}),
    );

    run.run(
        "messageDiscarded",
        "CorrelateMessageCommand",
        json!({"messageName": "Nobody"}),
    );
    run.run(
        "messageBuffered",
        "CorrelateMessageCommand",
        json!({"messageName": "Later", "correlationKey": "K", "ttlSeconds": 60, "messageId": "m-1"}),
    );
    run.run(
        "messageDuplicate",
        "CorrelateMessageCommand",
        json!({"messageName": "Later", "correlationKey": "K", "ttlSeconds": 60, "messageId": "m-1"}),
    );

    run.run(
        "deployAlarm",
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": signal_wait()}),
    );
    run.run(
        "startAlarm",
        "StartProcessInstanceCommand",
        json!({"processKey": "AlarmFlow"}),
    );
    run.run(
        "broadcast",
        "BroadcastSignalCommand",
        json!({"signalName": "Alarm", "variables": {"loud": true}}),
    );

    run.run(
        "deployCalc",
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": failing_script()}),
    );
    let f = run.run(
        "startFailing",
        "StartProcessInstanceCommand",
        json!({"processKey": "Calc", "variables": {"amount": 500}}),
    );
    run.run(
        "instanceFailed",
        "GetProcessInstanceByIdQuery",
        json!({"instanceGuid": f["instanceGuid"]}),
    );
    run.run(
        "retry",
        "RetryIncidentCommand",
        json!({"instanceGuid": f["instanceGuid"], "variables": {"amount": 5}}),
    );
    run.run(
        "cron",
        "GetCronPreviewQuery",
        json!({"cronExpression": "0 9 * * MON-FRI", "timeZone": "Europe/Paris", "count": 2}),
    );
    run.run(
        "badPage",
        "GetProcessInstanceListQuery",
        json!({"pageSize": "x"}),
    );
    run.run("missingGuid", "GetProcessInstanceByIdQuery", json!({}));
    run.run(
        "unknownInstance",
        "CancelProcessInstanceCommand",
        json!({"instanceGuid": "nope"}),
    );

    let got: Vec<String> = run
        .shapes
        .iter()
        .map(|(label, s)| format!("{label} {s}"))
        .collect();
    if std::env::var("BATON_PRINT_SHAPES").is_ok() {
        for line in &got {
            println!("{line}");
        }
    }
    let expected: Vec<&str> = EXPECTED.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g, e.trim(), "an answer changed shape");
    }
}

/// Captured from the handlers before they answered typed structs.
const EXPECTED: &str = r#"
deploy {"isSuccessful":"bool","message":"Process definition deployed","data":{"processDefinitionId":"number","processKey":"string","version":"number","warnings":[]}}
definitions {"isSuccessful":"bool","message":"OK","data":{"items":[{"processDefinitionId":"number","processKey":"string","version":"number","name":"string","forms":{"loan-review-form":{"type":"string","id":"string","schemaVersion":"number","components":[{"type":"string","key":"string","label":"string","readonly":"bool"}]}},"deployedAt":"string"}],"totalCount":"number"}}
definition {"isSuccessful":"bool","message":"OK","data":{"processDefinitionId":"number","processKey":"string","version":"number","name":"string","bpmnXml":"string","forms":{"loan-review-form":{"type":"string","id":"string","schemaVersion":"number","components":[{"type":"string","key":"string","label":"string","readonly":"bool"}]}},"deployedAt":"string"}}
start {"isSuccessful":"bool","message":"Process instance started","data":{"instanceGuid":"string","status":"string","waiting":[{"taskId":"string","elementId":"string","taskType":"string","name":"string","formKey":"string","responsibleTeam":"string"}]}}
instance {"isSuccessful":"bool","message":"OK","data":{"instanceGuid":"string","processDefinitionId":"number","processKey":"string","status":"string","businessKey":"string","correlationId":"null","variables":{"applicant":"string","requestedAmount":"number"},"waiting":[{"taskId":"string","elementId":"string","taskType":"string","name":"string","formKey":"string","responsibleTeam":"string"}],"incidents":[],"path":["string"],"startedAt":"string","endedAt":"null"}}
instances {"isSuccessful":"bool","message":"OK","data":{"items":[{"instanceGuid":"string","processDefinitionId":"number","status":"string","businessKey":"string","correlationId":"null","startedAt":"string","endedAt":"null"}],"totalCount":"number"}}
taskForm {"isSuccessful":"bool","message":"OK","data":{"status":"string","taskType":"string","taskId":"string","formKey":"string","formJson":{"type":"string","id":"string","schemaVersion":"number","components":[{"type":"string","key":"string","label":"string","readonly":"bool"}]},"context":{"applicant":"string","requestedAmount":"number"},"metadata":{"instanceGuid":"string","taskName":"string","responsibleUser":"null","responsibleTeam":"string"}}}
tasks {"isSuccessful":"bool","message":"OK","data":{"items":[{"instanceGuid":"string","taskId":"string","taskType":"string","name":"string","formKey":"string","responsibleUser":"null","responsibleTeam":"string","createdAt":"string","assignee":"null"}],"totalCount":"number"}}
signal {"isSuccessful":"bool","message":"Task completed","data":{"instanceGuid":"string","status":"string","taskType":"string","result":{"approved":"bool","approvedAmount":"number","approvedBy":"null"},"waiting":[]}}
history {"isSuccessful":"bool","message":"OK","data":[{"at":"string","kind":"string","elementId":"null","data":"string","seq":"number"}]}
deployCallback {"isSuccessful":"bool","message":"Process definition deployed","data":{"processDefinitionId":"number","processKey":"string","version":"number","warnings":[]}}
startCallback {"isSuccessful":"bool","message":"Process instance started","data":{"instanceGuid":"string","status":"string","waiting":[{"taskId":"string","elementId":"string","taskType":"string","name":"null","correlationKey":"string"}]}}
callbacks {"isSuccessful":"bool","message":"OK","data":[{"Id":"number","ParentInstanceId":"string","CallbackTaskId":"string","CorrelationKey":"string","CallbackType":"string","Status":"string","ParentProcessState":"string","ResultData":"null","CompletedAt":"null","WebhookUrl":"null","MessageRef":"null","TimeoutMinutes":"null","FormKey":"null"}]}
callback {"isSuccessful":"bool","message":"Callback processed","data":{"instanceGuid":"string","status":"string","callbackStatus":"string","duplicate":"bool"}}
callbackDuplicate {"isSuccessful":"bool","message":"Duplicate callback: 'R-1' was already completed at 2026-01-01T00:00:00.000000Z; the instance was not resumed again","data":{"instanceGuid":"string","status":"string","callbackStatus":"string","duplicate":"bool"}}
callbackBuffered {"isSuccessful":"bool","message":"Callback buffered until a receive task registers its key","data":{"callbackStatus":"string","bufferId":"number","expiresAt":"string","duplicate":"bool"}}
startCallback2 {"isSuccessful":"bool","message":"Process instance started","data":{"instanceGuid":"string","status":"string","waiting":[{"taskId":"string","elementId":"string","taskType":"string","name":"null","correlationKey":"string"}]}}
cancel {"isSuccessful":"bool","message":"Process instance cancelled","data":{"instanceGuid":"string","status":"string"}}
messageDiscarded {"isSuccessful":"bool","message":"No instance waits for this message; it was discarded (ttlSeconds 0)","data":{"correlated":"bool","buffered":"bool","duplicate":"bool"}}
messageBuffered {"isSuccessful":"bool","message":"Message buffered: no instance waits for it yet","data":{"correlated":"bool","buffered":"bool","expiresAt":"string","bufferId":"number","duplicate":"bool"}}
messageDuplicate {"isSuccessful":"bool","message":"Duplicate message: messageId 'm-1' was already received; nothing was delivered again","data":{"correlated":"bool","buffered":"bool","expiresAt":"string","duplicate":"bool"}}
deployAlarm {"isSuccessful":"bool","message":"Process definition deployed","data":{"processDefinitionId":"number","processKey":"string","version":"number","warnings":[]}}
startAlarm {"isSuccessful":"bool","message":"Process instance started","data":{"instanceGuid":"string","status":"string","waiting":[{"taskId":"string","elementId":"string","taskType":"string","name":"null","signal":"string"}]}}
broadcast {"isSuccessful":"bool","message":"Signal broadcast","data":{"instances":["string"],"started":[]}}
deployCalc {"isSuccessful":"bool","message":"Process definition deployed","data":{"processDefinitionId":"number","processKey":"string","version":"number","warnings":[]}}
startFailing {"isSuccessful":"bool","message":"Process instance started","data":{"instanceGuid":"string","status":"string","waiting":[]}}
instanceFailed {"isSuccessful":"bool","message":"OK","data":{"instanceGuid":"string","processDefinitionId":"number","processKey":"string","status":"string","businessKey":"null","correlationId":"null","variables":{"amount":"number"},"waiting":[],"incidents":[{"elementId":"string","message":"string"}],"path":["string"],"startedAt":"string","endedAt":"null"}}
retry {"isSuccessful":"bool","message":"Incident retried","data":{"instanceGuid":"string","status":"string","incidents":[]}}
cron {"isSuccessful":"bool","message":"OK","data":{"cronExpression":"string","timeZone":"string","nextRunTimes":["string"],"localTimes":["string"]}}
badPage {"isSuccessful":"bool","message":"Validation failed","errors":[{"field":"pageSize","message":"pageSize must be a whole number, 1 or more"}],"code":"string"}
missingGuid {"isSuccessful":"bool","message":"Validation failed","errors":[{"field":"instanceGuid","message":"instanceGuid is required"}],"code":"string"}
unknownInstance {"isSuccessful":"bool","message":"Validation failed","errors":[{"field":"instanceGuid","message":"no process instance 'nope'"}],"code":"string"}
"#;
