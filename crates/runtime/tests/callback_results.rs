//! Seed 002's callback rules, the remaining parts, on a real SQLite file and a real HTTP
//! receiver on 127.0.0.1:
//! - results land in `lastReceiveTaskResult` / `lastUserTaskResult` only, never merged over
//!   the process variables, in `serve`'s command path and in simulation alike; a model copies
//!   what it wants at the top (docs/callbacks.md);
//! - a receive task's `WebhookUrl` is notified when its callback completes: a signed POST from
//!   the delivery sender, retried, written in the step's own transaction, held to the outbound
//!   URL rule;
//! - buffered callbacks are conflict-checked like live ones.

use base64::Engine as _;
use baton_engine::sim::Scenario;
use baton_engine::{Clock, User, VirtualClock};
use baton_runtime::simulate::Simulation;
use baton_runtime::{Reply, Runtime};
use baton_store::Durability;
use baton_testkit::seeds::{SEED002_EXAMPLE_1, SEED002_EXAMPLE_2};
use baton_testkit::{Received, Receiver};
use hmac::Mac;
use jiff::SignedDuration;
use serde_json::{json, Value};
use std::sync::Arc;

const KEY: &str = "PAYMENT-12345";
/// A Standard Webhooks key (`whsec_` and base64 of 24 bytes).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn open(path: &std::path::Path, clock: &Arc<VirtualClock>) -> Runtime {
    Runtime::open(path, Durability::Full, clock.clone()).unwrap()
}

fn clock() -> Arc<VirtualClock> {
    Arc::new(VirtualClock::new(VirtualClock::default_start()))
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

/// Deploys `xml`; creates mary (MANAGERS) unless she exists.
fn deploy(rt: &Runtime, xml: &str) {
    ok(&rt.execute(
        "DeployProcessDefinitionCommand",
        &json!({"bpmnXml": xml}),
        None,
    ));
    let mary = json!({"userName": "mary", "teams": ["MANAGERS"]});
    let known = ok(&rt.execute("GetUserListQuery", &json!({}), None));
    if !known.to_string().contains("\"mary\"") {
        ok(&rt.execute("CreateUserCommand", &mary, None));
    }
}

fn start(rt: &Runtime, key: &str, variables: Value) -> String {
    ok(&rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processKey": key, "variables": variables}),
        Some(&mary()),
    ))["instanceGuid"]
        .as_str()
        .unwrap()
        .to_string()
}

fn variables(rt: &Runtime, guid: &str) -> Value {
    ok(&rt.execute(
        "GetProcessInstanceByIdQuery",
        &json!({"instanceGuid": guid}),
        None,
    ))["variables"]
        .clone()
}

fn names(vars: &Value) -> Vec<String> {
    let mut v: Vec<String> = vars.as_object().unwrap().keys().cloned().collect();
    v.sort();
    v
}

#[test]
fn seed_002_results_land_in_last_receive_and_last_user_task_result_only() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(&dir.path().join("baton.db"), &clock());
    deploy(&rt, SEED002_EXAMPLE_1);
    deploy(&rt, SEED002_EXAMPLE_2);

    // Example 1: the gateway's webhook (ReturnCallbackCommand: correlationKey, payload).
    let guid = start(
        &rt,
        "PaymentApprovalProcess",
        json!({"paymentId": KEY, "amount": 300}),
    );
    let gateway = json!({"status": "success", "transactionId": "TXN-884", "amount": 999});
    ok(&rt.execute(
        "ReturnCallbackCommand",
        &json!({"correlationKey": KEY, "result": gateway}),
        None,
    ));
    let vars = variables(&rt, &guid);
    assert_eq!(vars["lastReceiveTaskResult"], gateway);
    assert_eq!(
        names(&vars),
        [
            "InitiatedBy",
            "amount",
            "lastReceiveTaskResult",
            "paymentId"
        ],
        "nothing of the callback merged at the top: {vars}"
    );
    assert_eq!(vars["amount"], 300, "the process's own amount is untouched");

    // The manager's form, as the seed submits it.
    let form_data = json!({"decision": "approve", "comments": "matches the invoice"});
    let done = ok(&rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": form_data, "taskId": "Task_ReviewPayment"}),
        Some(&mary()),
    ));
    assert_eq!(done["taskType"], "receiveTask");
    let vars = variables(&rt, &guid);
    assert_eq!(done["result"], vars["lastReceiveTaskResult"]);
    assert_eq!(vars["lastReceiveTaskResult"]["approved"], true);
    assert_eq!(vars["lastReceiveTaskResult"]["reviewedBy"], "mary");
    assert_eq!(
        names(&vars),
        [
            "InitiatedBy",
            "amount",
            "lastReceiveTaskResult",
            "paymentId"
        ],
        "neither decision nor comments at the top: {vars}"
    );

    // Example 2: the user task, submitted with the legacy field.
    let guid = start(&rt, "LoanApprovalProcess", json!({"applicant": "Ada"}));
    let form_data = json!({"decision": "approve", "approvedAmount": 5000, "note": "x"});
    let done = ok(&rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "signalPayload": form_data}),
        Some(&mary()),
    ));
    assert_eq!(done["taskType"], "userTask");
    assert_eq!(done["status"], "COMPLETED");
    let vars = variables(&rt, &guid);
    assert_eq!(
        vars["lastUserTaskResult"],
        json!({"approved": true, "approvedAmount": 5000, "approvedBy": "mary"})
    );
    assert_eq!(
        names(&vars),
        ["InitiatedBy", "applicant", "lastUserTaskResult"],
        "{vars}"
    );
}

/// The docs' ways to have a field at the top: a script task copies the gateway's transaction
/// id, the review's ServerScript sets `reviewDecision`, a condition reads the review's result.
fn copies_at_the_top() -> String {
    r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:custom="http://baton.dev/schema/custom" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://baton.dev/tests">
<bpmn:process id="CopyFlow" isExecutable="true">
<bpmn:startEvent id="s"/>
<bpmn:receiveTask id="Wait"><bpmn:extensionElements><custom:properties>
<custom:property name="correlationKey" value="context.paymentId"/>
</custom:properties></bpmn:extensionElements></bpmn:receiveTask>
<bpmn:scriptTask id="Copy" scriptFormat="javascript"><bpmn:script>execution.setVariable('transactionId', execution.getVariable('lastReceiveTaskResult').transactionId);</bpmn:script></bpmn:scriptTask>
<bpmn:userTask id="Review"><bpmn:extensionElements><custom:properties>
<custom:property name="ServerScript" value="if (!formData.decision) { throw new Error('Decision is required'); }
execution.setVariable('reviewDecision', formData.decision);
return { decision: formData.decision, reviewedBy: currentUser };"/>
</custom:properties></bpmn:extensionElements></bpmn:userTask>
<bpmn:exclusiveGateway id="ok" default="no"/>
<bpmn:endEvent id="approved"/>
<bpmn:endEvent id="rejected"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Wait"/>
<bpmn:sequenceFlow id="f2" sourceRef="Wait" targetRef="Copy"/>
<bpmn:sequenceFlow id="f3" sourceRef="Copy" targetRef="Review"/>
<bpmn:sequenceFlow id="f4" sourceRef="Review" targetRef="ok"/>
<bpmn:sequenceFlow id="yes" sourceRef="ok" targetRef="approved"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${lastUserTaskResult.decision == "approve"}</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="no" sourceRef="ok" targetRef="rejected"/>
</bpmn:process>
</bpmn:definitions>
"#
    .to_string()
}

#[test]
fn a_model_copies_what_it_wants_at_the_top_in_serve_and_in_simulation_alike() {
    let xml = copies_at_the_top();
    // Through the command bus on a file.
    let dir = tempfile::tempdir().unwrap();
    let rt = open(&dir.path().join("baton.db"), &clock());
    deploy(&rt, &xml);
    let guid = start(&rt, "CopyFlow", json!({"paymentId": "P-7"}));
    ok(&rt.execute(
        "ReturnCallbackCommand",
        &json!({"correlationKey": "P-7", "result": {"transactionId": "TXN-1", "status": "success"}}),
        None,
    ));
    ok(&rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {"decision": "approve"}}),
        Some(&mary()),
    ));
    let served = variables(&rt, &guid);
    assert_eq!(served["transactionId"], "TXN-1");
    assert_eq!(served["reviewDecision"], "approve");
    assert_eq!(served["lastUserTaskResult"]["decision"], "approve");
    assert!(served.get("status").is_none(), "{served}");
    assert!(served.get("decision").is_none(), "{served}");
    let history = ok(&rt.execute(
        "GetInstanceHistoryQuery",
        &json!({"instanceGuid": guid}),
        None,
    ));
    assert!(history.to_string().contains("\"approved\""), "{history}");

    // The same steps in simulation (`baton simulate` / `baton test`).
    let sc = Scenario::from_value(&json!({
        "variables": {"paymentId": "P-7"},
        "users": {"mary": ["MANAGERS"]},
        "steps": [
            {"callback": "P-7", "data": {"transactionId": "TXN-1", "status": "success"}},
            {"complete": "Review", "data": {"decision": "approve"}, "user": "mary"}
        ],
        "expect": {"state": "COMPLETED", "visits": ["approved"], "never": ["rejected"],
                   "variables": {"transactionId": "TXN-1", "reviewDecision": "approve"}}
    }))
    .unwrap();
    let sim = Simulation::new(&[("copy.bpmn", xml.as_str())], &sc, None).unwrap();
    let sguid = sim.start(sc.variables.clone()).unwrap();
    sim.run_steps(&sguid, &sc.steps).unwrap();
    let failures = sim.check(&sguid, sc.expect.as_ref().unwrap());
    assert!(failures.is_empty(), "{failures:?}");
    let simulated = sim.instance(&sguid).unwrap()["variables"].clone();
    let mut without_starter = served.clone();
    without_starter
        .as_object_mut()
        .unwrap()
        .remove("InitiatedBy");
    assert_eq!(simulated, without_starter);
}

/// Standard Webhooks: `v1,` base64 HMAC-SHA256 of `id.timestamp.body` with the key's bytes.
fn signed_by(secret: &str, r: &Received) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(
        format!(
            "{}.{}.{}",
            r.headers["webhook-id"], r.headers["webhook-timestamp"], r.body
        )
        .as_bytes(),
    );
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    r.headers["webhook-signature"] == expected
}

/// Example 1 with a `WebhookUrl` on both receive tasks.
fn example_1_notifying(url: &str) -> String {
    let prop = format!("<custom:property name=\"WebhookUrl\" value=\"{url}\"/>\n");
    SEED002_EXAMPLE_1.replace(
        "<custom:property name=\"correlationKey\" value=\"context.paymentId\"/>\n",
        &format!("<custom:property name=\"correlationKey\" value=\"context.paymentId\"/>\n{prop}"),
    )
}

fn deliveries(rt: &Runtime) -> Vec<Value> {
    let mut items = ok(&rt.execute("GetDeliveryListQuery", &json!({"pageSize": 100}), None))
        ["items"]
        .as_array()
        .unwrap()
        .clone();
    items.reverse(); // oldest first
    items
}

fn set_secret(rt: &Runtime, name: &str, value: &str) {
    ok(&rt.execute(
        "SetSecretCommand",
        &json!({"name": name, "value": value}),
        None,
    ));
}

/// Starts Example 1 on `KEY` and returns its payment callback; answers the instance.
fn start_and_pay(rt: &Runtime) -> String {
    let guid = start(
        rt,
        "PaymentApprovalProcess",
        json!({"paymentId": KEY, "amount": 300}),
    );
    ok(&rt.execute(
        "ReturnCallbackCommand",
        &json!({"correlationKey": KEY, "result": {"status": "success"}}),
        None,
    ));
    guid
}

fn allow_private(rt: &Runtime, allow: bool) {
    ok(&rt.execute(
        "SetSecuritySettingsCommand",
        &json!({"allowPrivateOutboundUrls": allow}),
        None,
    ));
}

#[test]
fn webhook_url_is_notified_signed_and_retried_when_its_callback_completes() {
    let rx = Receiver::start("/payment-done");
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let rt = open(&dir.path().join("baton.db"), &clock);
    deploy(&rt, &example_1_notifying(&rx.url));
    allow_private(&rt, true);
    set_secret(&rt, "callbackWebhook", SECRET);
    let guid = start(
        &rt,
        "PaymentApprovalProcess",
        json!({"paymentId": KEY, "amount": 300}),
    );
    let rows = ok(&rt.execute(
        "GetCallbackRegistryListQuery",
        &json!({"instanceGuid": guid}),
        None,
    ));
    assert_eq!(rows[0]["WebhookUrl"], json!(rx.url));
    assert!(deliveries(&rt).is_empty(), "nothing completed yet");

    // The gateway calls back: the step that completes the callback writes the notification.
    let gateway = json!({"status": "success", "transactionId": "TXN-884"});
    ok(&rt.execute(
        "ReturnCallbackCommand",
        &json!({"correlationKey": KEY, "result": gateway}),
        None,
    ));
    let d = deliveries(&rt);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["eventName"], "callback.completed");
    assert_eq!(d[0]["status"], "Pending");
    assert_eq!(d[0]["url"], json!(rx.url));

    // The receiver fails once: retried after the backoff, with the same id, signed each time.
    rx.answers.lock().unwrap().push_back(503);
    assert_eq!(rt.deliver_due(), 1);
    let first = rx.next();
    assert!(signed_by(SECRET, &first), "{first:?}");
    assert_eq!(deliveries(&rt)[0]["status"], "Pending");
    clock.set(clock.now() + SignedDuration::from_secs(10));
    assert_eq!(rt.deliver_due(), 1);
    let second = rx.next();
    assert!(signed_by(SECRET, &second), "{second:?}");
    assert_eq!(first.headers["webhook-id"], second.headers["webhook-id"]);
    assert_eq!(deliveries(&rt)[0]["status"], "Delivered");
    let body: Value = serde_json::from_str(&second.body).unwrap();
    assert_eq!(body["eventName"], "callback.completed");
    assert_eq!(body["id"], json!(second.headers["webhook-id"]));
    assert_eq!(body["instanceGuid"], json!(guid));
    assert_eq!(body["taskId"], "Task_WaitForPayment");
    assert_eq!(body["correlationKey"], KEY);
    assert_eq!(body["status"], "Completed");
    assert_eq!(body["result"], gateway);
    // Numbered among the instance's events out, in the body and the header alike.
    assert!(body["sequence"].as_i64().is_some_and(|n| n >= 1), "{body}");
    assert_eq!(
        second.headers["baton-sequence"],
        body["sequence"].to_string()
    );
    let registry = ok(&rt.execute(
        "GetCallbackRegistryListQuery",
        &json!({"instanceGuid": guid, "status": "Completed"}),
        None,
    ));
    assert_eq!(body["completedAt"], registry[0]["CompletedAt"]);

    // A refused form submission (its ServerScript throws) rolls back: no notification.
    let r = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {"comments": "no decision"}}),
        Some(&mary()),
    );
    assert!(!r.is_successful, "{r:?}");
    assert_eq!(deliveries(&rt).len(), 1);
    // The accepted one notifies with the ServerScript's result.
    ok(&rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {"decision": "approve", "comments": "ok"}}),
        Some(&mary()),
    ));
    assert_eq!(rt.deliver_due(), 1);
    let review = rx.next();
    assert!(signed_by(SECRET, &review));
    let body: Value = serde_json::from_str(&review.body).unwrap();
    assert_eq!(body["taskId"], "Task_ReviewPayment");
    assert_eq!(body["result"]["approved"], true);
    assert_eq!(body["result"]["reviewedBy"], "mary");
    // A duplicate callback completes nothing and notifies nobody.
    ok(&rt.execute(
        "ReturnCallbackCommand",
        &json!({"correlationKey": KEY, "result": {"status": "failed"}}),
        None,
    ));
    assert_eq!(deliveries(&rt).len(), 2);
    assert_eq!(rt.deliver_due(), 0);
    rx.nothing();
}

#[test]
fn a_callback_notification_needs_its_secret_and_keeps_to_the_outbound_url_rule() {
    let rx = Receiver::start("/payment-done");
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let rt = open(&dir.path().join("baton.db"), &clock);
    deploy(&rt, &example_1_notifying(&rx.url));
    allow_private(&rt, true);
    let guid = start_and_pay(&rt);
    // No secret set: the attempt fails naming it, nothing is sent, it is retried.
    assert_eq!(rt.deliver_due(), 1);
    let d = &deliveries(&rt)[0];
    assert_eq!(d["status"], "Pending", "{d}");
    let error = d["lastError"].as_str().unwrap();
    assert!(
        error.contains("callbackWebhook") && error.contains("SetSecretCommand"),
        "{error}"
    );
    rx.nothing();
    set_secret(&rt, "callbackWebhook", SECRET);
    clock.set(clock.now() + SignedDuration::from_secs(10));
    assert_eq!(rt.deliver_due(), 1);
    assert!(signed_by(SECRET, &rx.next()));
    assert_eq!(deliveries(&rt)[0]["status"], "Delivered");

    // Private addresses not allowed: the next notification to 127.0.0.1 is refused at once.
    allow_private(&rt, false);
    ok(&rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {"decision": "reject"}}),
        Some(&mary()),
    ));
    assert_eq!(rt.deliver_due(), 1);
    let d = deliveries(&rt);
    assert_eq!(d.len(), 2);
    assert_eq!(d[1]["status"], "Failed", "{:?}", d[1]);
    let error = d[1]["lastError"].as_str().unwrap();
    assert!(
        error.contains("127.0.0.1") && error.contains("loopback"),
        "{error}"
    );
    rx.nothing();
}

#[test]
fn buffered_duplicate_callbacks_are_conflict_checked_like_live_ones() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(&dir.path().join("baton.db"), &clock());
    deploy(&rt, SEED002_EXAMPLE_1);
    // Three callbacks arrive before any payment waits: kept for 10 minutes.
    let first = json!({"status": "success", "transactionId": "TXN-1"});
    let second = json!({"status": "failed", "transactionId": "TXN-1", "reason": "reversed"});
    for result in [&first, &second, &first] {
        let kept = ok(&rt.execute(
            "ReturnCallbackCommand",
            &json!({"correlationKey": KEY, "result": result, "ttlSeconds": 600}),
            None,
        ));
        assert_eq!(kept["callbackStatus"], "Buffered", "{kept}");
    }
    // The payment starts: the oldest entry is applied, the others are duplicates of it.
    let guid = start(
        &rt,
        "PaymentApprovalProcess",
        json!({"paymentId": KEY, "amount": 300}),
    );
    let vars = variables(&rt, &guid);
    assert_eq!(vars["lastReceiveTaskResult"], first);
    let buffer = ok(&rt.execute("GetMessageBufferListQuery", &json!({}), None));
    let statuses: Vec<&str> = buffer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, ["Correlated", "Expired", "Expired"], "{buffer}");
    // The one that differs is a conflict, kept as the live path keeps it; the identical repeat
    // is a plain duplicate.
    let rows = ok(&rt.execute(
        "GetCallbackRegistryListQuery",
        &json!({"instanceGuid": guid}),
        None,
    ));
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["CallbackTaskId"] == "Task_WaitForPayment")
        .unwrap()
        .clone();
    assert_eq!(row["ConflictCount"], 1, "{row}");
    assert_eq!(
        serde_json::from_str::<Value>(row["ConflictingResult"].as_str().unwrap()).unwrap(),
        second
    );
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
    let data: Value = match &kept[0]["data"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    };
    assert_eq!(data["result"], second);
    assert_eq!(data["correlationKey"], KEY);
    // A live repeat now answers exactly as a live duplicate does, and counts as one more.
    let live = ok(&rt.execute(
        "ReturnCallbackCommand",
        &json!({"correlationKey": KEY, "result": second}),
        None,
    ));
    assert_eq!(live["duplicate"], true);
    assert_eq!(live["conflict"], true);
}

/// A second Standard Webhooks key, for the review task's own notifications.
const REVIEW_SECRET: &str = "whsec_C2VjB25kIHJldmlldyBrZXkgZm9yIHRlc3Rz";

#[test]
fn a_receive_task_signs_its_notification_with_the_secret_it_names() {
    let rx = Receiver::start("/payment-done");
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let rt = open(&dir.path().join("baton.db"), &clock);
    // Only the review task names a secret of its own; the payment task keeps the shared one.
    let xml = example_1_notifying(&rx.url).replacen(
        "<!-- Form mode: has form, needs human approval -->\n",
        "<custom:property name=\"WebhookSecretName\" value=\"reviewHook\"/>\n",
        1,
    );
    assert!(xml.contains("reviewHook"), "the review task carries it");
    deploy(&rt, &xml);
    allow_private(&rt, true);
    set_secret(&rt, "callbackWebhook", SECRET);
    let guid = start_and_pay(&rt);
    assert_eq!(rt.deliver_due(), 1);
    let payment = rx.next();
    assert!(
        signed_by(SECRET, &payment),
        "the shared secret: {payment:?}"
    );

    // The review task's notification waits for its own secret, naming it.
    ok(&rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {"decision": "approve", "comments": "ok"}}),
        Some(&mary()),
    ));
    assert_eq!(rt.deliver_due(), 1);
    let d = deliveries(&rt);
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!(d[1]["status"], "Pending", "{}", d[1]);
    let error = d[1]["lastError"].as_str().unwrap();
    assert!(
        error.contains("'reviewHook'") && !error.contains("callbackWebhook"),
        "{error}"
    );
    rx.nothing();
    set_secret(&rt, "reviewHook", REVIEW_SECRET);
    clock.set(clock.now() + SignedDuration::from_secs(10));
    assert_eq!(rt.deliver_due(), 1);
    let review = rx.next();
    assert!(signed_by(REVIEW_SECRET, &review), "its own: {review:?}");
    assert!(!signed_by(SECRET, &review), "not the shared one");
    let body: Value = serde_json::from_str(&review.body).unwrap();
    assert_eq!(body["taskId"], "Task_ReviewPayment");
    assert_eq!(deliveries(&rt)[1]["status"], "Delivered");
}

#[test]
fn a_secret_name_that_cannot_be_one_is_refused_at_deploy_and_one_without_a_url_warned() {
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let rt = open(&dir.path().join("baton.db"), &clock);
    let named = |name: &str| {
        SEED002_EXAMPLE_1.replacen(
            "<!-- Form mode: has form, needs human approval -->\n",
            &format!("<custom:property name=\"WebhookSecretName\" value=\"{name}\"/>\n"),
            1,
        )
    };
    let xml = named("review hook!");
    let r = rt.execute(
        "DeployProcessDefinitionCommand",
        &json!({"bpmnXml": xml}),
        None,
    );
    assert!(!r.is_successful, "{r:?}");
    let p = &r.data["problems"][0];
    assert_eq!(p["elementId"], "Task_ReviewPayment", "{p}");
    let line = xml
        .lines()
        .position(|l| l.contains("WebhookSecretName"))
        .unwrap()
        + 1;
    assert_eq!(p["line"], line, "{p}");
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .contains("WebhookSecretName 'review hook!' is not a secret's name"),
        "{p}"
    );
    // Without a WebhookUrl there is nothing to sign: deployed, with a warning.
    let r = ok(&rt.execute(
        "DeployProcessDefinitionCommand",
        &json!({"bpmnXml": named("reviewHook")}),
        None,
    ));
    let warned = r["warnings"].to_string();
    assert!(
        warned.contains("WebhookSecretName has no effect without a WebhookUrl"),
        "{r}"
    );
}
