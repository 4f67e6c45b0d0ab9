//! Seed 004's events, checked against the seed's own texts: every field of its webhook
//! structure in every payload, `workflow.state.changed` on entering each wait state (not only
//! on status changes), the document events, `workflowFinalState`, per-instance sequence numbers,
//! and the seed's curl to `POST /api/v1/external/workflows/run` against a real server on
//! 127.0.0.1, its deliveries received by a real HTTP receiver on 127.0.0.1.

use baton_runtime::host::{Host, HostConfig};
use baton_testkit::{agent, Received, Receiver, TestRuntime};
use serde_json::{json, Value};

/// Seed 004's "Webhook Structure", exactly as the seed prints it (comments included).
const SEED_STRUCTURE: &str = r#"{
"id": "uuid",
"eventName": "workflow.context.document.completed",
"apiVersion": 1,
"timestamp": "ISO_STRING",
"assignedAt": "ISO_STRING",
"assignee": {
"id": "assigneeId",
"firstName": "firstName",
"lastName": "lastName",
"email": "email"
},
"workflowCreatedAt": "ISO_STRING",
"workflowResolvedAt": "ISO_STRING",
"workflowDefinitionId": "uuid",
"workflowRuntimeId": "uuid",
"ballerineEntityId": "uuid",
"correlationId": "uuid",
"environment": "sandbox", // or production
"data": {} // updateContext
}"#;

/// Seed 004's `workflow.completed` example, as the seed prints it.
const SEED_COMPLETED: &str = r#"{
"eventName": "workflow.completed",
"workflowFinalState": "approved", // Possible values: "approved", "rejected", "auto_approved", "auto_rejected"
"data": {
"documents": [
{
"id": "9fe6060a-53ae-4a71-b57e-336a24a16cc3",
"category": "business_document",
"decision": {
"status": "approved",
"revisionReason": "",
"rejectionReason": ""
}
}
]
}
}"#;

/// Seed 004's full run request: the curl's `--data`, verbatim (its trailing comma included).
const SEED_RUN_BODY: &str = r#"{
"context": {
"documents": [
{
"properties": {},
"pages": [
{
"metadata": {
"pageNumber": 1
},
"provider": "http",
"type": "jpg",
"uri": "https://upload.wikimedia.org/wikipedia/commons/s.jpg"
}
],
"category": "proof_of_ownership",
"type": "property_rate",
"version": 1,
"issuer": {
"country": "US"
}
},
],
"entity": {
"data": {
"companyName": "YTO CENTRE",
"additionalInfo": {
},
"businessType": "SMB"
},
"id": "0a5212e0-ba12422222011b7",
"type": "business"
}
},
"config": {
"subscriptions": [
{
"type": "webhook",
"url": "https://webhook.site/b58610f1-93fc-4922-96c6-87d259f245b8",
"events": [
"workflow.completed"
]
}
]
},
"workflowId": "mp0h897g68v"
}"#;

/// The subscription URL in the seed's texts.
const SEED_URL: &str = "https://webhook.site/b58610f1-93fc-4922-96c6-87d259f245b8";

/// The seed's workflow: a manual review, then a decision that approves the documents.
const SEED_WORKFLOW: &str = r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="mp0h897g68v" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="manual_review" name="Manual review"/>
    <bpmn:scriptTask id="decide" scriptFormat="javascript"><bpmn:script>var docs = execution.getVariable('documents');
docs[0].id = '9fe6060a-53ae-4a71-b57e-336a24a16cc3';
docs[0].decision = { status: 'approved', revisionReason: '', rejectionReason: '' };
execution.setVariable('documents', docs);</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="approved"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="manual_review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="manual_review" targetRef="decide"/>
    <bpmn:sequenceFlow id="f3" sourceRef="decide" targetRef="approved"/>
  </bpmn:process>
</bpmn:definitions>"#;

/// Every kind of wait state in a row, then two at once.
const WAITS: &str = r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:custom="http://baton.dev/schema/custom" id="d">
  <bpmn:message id="Msg" name="DocsArrived"/>
  <bpmn:process id="Waits" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="collection_flow"/>
    <bpmn:intermediateCatchEvent id="cooling_off"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="docs_arrived"><bpmn:messageEventDefinition messageRef="Msg"/></bpmn:intermediateCatchEvent>
    <bpmn:receiveTask id="vendor_check"><bpmn:extensionElements><custom:properties>
      <custom:property name="correlationKey" value="context.ref"/>
    </custom:properties></bpmn:extensionElements></bpmn:receiveTask>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:userTask id="manual_review"/>
    <bpmn:userTask id="risk_check"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:endEvent id="done"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="collection_flow"/>
    <bpmn:sequenceFlow id="f2" sourceRef="collection_flow" targetRef="cooling_off"/>
    <bpmn:sequenceFlow id="f3" sourceRef="cooling_off" targetRef="docs_arrived"/>
    <bpmn:sequenceFlow id="f4" sourceRef="docs_arrived" targetRef="vendor_check"/>
    <bpmn:sequenceFlow id="f5" sourceRef="vendor_check" targetRef="fork"/>
    <bpmn:sequenceFlow id="f6" sourceRef="fork" targetRef="manual_review"/>
    <bpmn:sequenceFlow id="f7" sourceRef="fork" targetRef="risk_check"/>
    <bpmn:sequenceFlow id="f8" sourceRef="manual_review" targetRef="join"/>
    <bpmn:sequenceFlow id="f9" sourceRef="risk_check" targetRef="join"/>
    <bpmn:sequenceFlow id="f10" sourceRef="join" targetRef="done"/>
  </bpmn:process>
</bpmn:definitions>"#;

/// A task done again: the instance leaves it and enters it anew in one step.
const LOOP: &str = r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="Rework" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="fix"/>
    <bpmn:scriptTask id="count" scriptFormat="rhai"><bpmn:script>rounds = rounds + 1;</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="again" default="out"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fix"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fix" targetRef="count"/>
    <bpmn:sequenceFlow id="f3" sourceRef="count" targetRef="again"/>
    <bpmn:sequenceFlow id="back" sourceRef="again" targetRef="fix"><bpmn:conditionExpression>rounds &lt; 2</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="out" sourceRef="again" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

/// JSON with `//` comments (as the seed prints it), read as JSON.
fn seed_json(text: &str) -> Value {
    let clean: String = text
        .lines()
        .map(|l| match l.find("//") {
            // The seed's comments follow a value; none of its strings holds "//" before a comment.
            Some(i) if !l[..i].contains("https:") => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    // Seed 004's run body has a comma before a closing bracket; JSON has none.
    let clean = clean.replace("},\n]", "}\n]");
    serde_json::from_str(&clean).unwrap_or_else(|e| panic!("seed text: {e}\n{clean}"))
}

/// Checks that `payload` has every field of seed 004's structure, each of the seed's type or
/// null where Baton has no value; answers the fields that were null.
fn check_seed_fields(payload: &Value) -> Vec<String> {
    let seed = seed_json(SEED_STRUCTURE);
    let mut nulls = Vec::new();
    for (field, example) in seed.as_object().unwrap() {
        let got = payload
            .get(field)
            .unwrap_or_else(|| panic!("seed field {field} missing from {payload}"));
        if got.is_null() {
            nulls.push(field.clone());
            continue;
        }
        let same_kind = match (example, got) {
            (Value::String(_), Value::String(_))
            | (Value::Number(_), Value::Number(_))
            | (Value::Object(_), Value::Object(_)) => true,
            // Baton's definitions are numbered, not uuids.
            (Value::String(_), Value::Number(_)) => field == "workflowDefinitionId",
            _ => false,
        };
        assert!(same_kind, "{field}: seed {example}, got {got}");
    }
    nulls
}

fn subscribe_all(t: &TestRuntime, url: &str) {
    t.run(
        "CreateEventSubscriptionCommand",
        json!({"url": url, "events": ["*"]}),
    );
}

fn states(got: &[Received]) -> Vec<(Value, Value)> {
    got.iter()
        .filter(|r| r.json()["eventName"] == "workflow.state.changed")
        .map(|r| (r.json()["previousState"].clone(), r.json()["state"].clone()))
        .collect()
}

#[test]
fn every_seed_field_is_in_every_event_and_data_is_the_context() {
    let t = TestRuntime::new();
    t.deploy(SEED_WORKFLOW);
    let rx = Receiver::start("/hook");
    subscribe_all(&t, &rx.url);
    let context = seed_json(SEED_RUN_BODY)["context"].clone();
    let guid = t.run(
        "StartProcessInstanceCommand",
        json!({"processKey": "mp0h897g68v", "variables": context, "businessKey": "BIZ-1",
               "correlationId": "0a5212e0-ba12422222011b7"}),
    )["instanceGuid"]
        .as_str()
        .unwrap()
        .to_string();
    t.run(
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "taskId": "manual_review", "callbackData": {}}),
    );
    let sent = t.rt.deliver_due();
    let got = rx.take(sent);
    let names: Vec<String> = got
        .iter()
        .map(|r| r.json()["eventName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "workflow.state.changed",
            "workflow.context.changed",
            "workflow.context.document.changed",
            "workflow.state.changed",
            "workflow.context.changed",
            "workflow.context.document.changed",
            "workflow.context.document.completed",
            "workflow.completed",
        ]
    );
    for r in &got {
        let mut nulls = check_seed_fields(&r.json());
        nulls.sort();
        // Baton has no case assignee; the start's events come before the instance ended.
        let started = r.json()["sequence"].as_i64().unwrap() <= 3;
        let mut expected = vec!["assignedAt", "assignee"];
        if started {
            expected.push("workflowResolvedAt");
        }
        assert_eq!(nulls, expected, "{}", r.json());
        assert_eq!(r.json()["ballerineEntityId"], "BIZ-1");
        assert_eq!(r.json()["correlationId"], "0a5212e0-ba12422222011b7");
        assert_eq!(r.json()["workflowRuntimeId"], guid.as_str());
        assert_eq!(r.json()["environment"], "sandbox");
        // data is the instance's context: the seed's context as it stands after the step.
        assert_eq!(
            r.json()["data"]["entity"],
            context["entity"],
            "{}",
            r.json()
        );
        assert_eq!(
            r.json()["data"]["documents"][0]["category"],
            "proof_of_ownership"
        );
    }
    // The completed event against the seed's own example: the same fields, the same values.
    let completed = &got.last().unwrap().json();
    let seed = seed_json(SEED_COMPLETED);
    assert_eq!(completed["eventName"], seed["eventName"]);
    assert_eq!(completed["workflowFinalState"], seed["workflowFinalState"]);
    let (mine, theirs) = (
        &completed["data"]["documents"][0],
        &seed["data"]["documents"][0],
    );
    for field in ["id", "decision"] {
        assert_eq!(mine[field], theirs[field], "documents[0].{field}");
    }
    assert!(completed["workflowResolvedAt"].is_string());
    // The document events say which documents changed and how.
    assert_eq!(got[2].json()["changedDocuments"][0]["change"], "added");
    assert_eq!(got[5].json()["changedDocuments"][0]["change"], "updated");
    assert_eq!(
        got[6].json()["changedDocuments"][0]["decision"]["status"],
        "approved"
    );
    // No document.updated: the instance had ended when its documents changed.
    assert!(!names
        .iter()
        .any(|n| n == "workflow.context.document.updated"));
}

#[test]
fn state_changed_fires_on_entering_each_wait_state_with_previous_and_new_state() {
    let t = TestRuntime::new();
    t.deploy(WAITS);
    let rx = Receiver::start("/hook");
    t.run(
        "CreateEventSubscriptionCommand",
        json!({"url": rx.url, "events": ["workflow.state.changed", "workflow.completed"]}),
    );
    let guid = t.start("Waits", json!({"ref": "VC-7"}));
    t.run(
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "taskId": "collection_flow", "callbackData": {}}),
    );
    t.advance(61);
    t.rt.fire_due();
    t.run(
        "CorrelateMessageCommand",
        json!({"messageName": "DocsArrived"}),
    );
    t.run(
        "ReturnCallbackCommand",
        json!({"correlationKey": "VC-7", "result": {"ok": true}}),
    );
    for task in ["manual_review", "risk_check"] {
        t.run(
            "SignalProcessInstanceCommand",
            json!({"instanceGuid": guid, "taskId": task, "callbackData": {}}),
        );
    }
    let sent = t.rt.deliver_due();
    let got = rx.take(sent);
    assert!(rx.rest().is_empty());
    let s = |p: Option<&str>, n: &str| (json!(p), json!(n));
    assert_eq!(
        states(&got),
        [
            s(None, "collection_flow"),
            s(Some("collection_flow"), "cooling_off"),
            s(Some("cooling_off"), "docs_arrived"),
            s(Some("docs_arrived"), "vendor_check"),
            s(Some("vendor_check"), "manual_review,risk_check"),
            s(Some("manual_review,risk_check"), "risk_check"),
            s(Some("risk_check"), "completed"),
        ]
    );
    // Status and the wait lists beside the state.
    let timer = &got[1].json();
    assert_eq!(
        (
            timer["previousStatus"].clone(),
            timer["status"].clone(),
            timer["waiting"].clone(),
            timer["enteredStates"].clone()
        ),
        (
            json!("WAITING"),
            json!("WAITING"),
            json!(["cooling_off"]),
            json!(["cooling_off"])
        )
    );
    let two = &got[4].json();
    assert_eq!(two["waiting"], json!(["manual_review", "risk_check"]));
    assert_eq!(two["previousWaiting"], json!(["vendor_check"]));
    let last = got.last().unwrap();
    assert_eq!(last.json()["eventName"], "workflow.completed");
    assert_eq!(last.json()["workflowFinalState"], "done");
    // Numbered 1, 2, 3, ... in the order of the instance's steps, in the payload and a header.
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r.json()["sequence"], json!(i + 1), "{}", r.json());
        assert_eq!(r.headers["baton-sequence"], (i + 1).to_string());
    }
    // The delivery log keeps each delivery's instance and number.
    let log = t.run(
        "GetDeliveryListQuery",
        json!({"instanceGuid": guid, "pageSize": 100}),
    );
    assert_eq!(log["totalCount"], json!(got.len()));
    let mut seqs: Vec<i64> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["instanceGuid"], guid.as_str());
            d["sequence"].as_i64().unwrap()
        })
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=got.len() as i64).collect::<Vec<_>>());
}

#[test]
fn entering_the_same_task_again_is_a_state_change_and_numbers_are_per_instance() {
    let t = TestRuntime::new();
    t.deploy(LOOP);
    let rx = Receiver::start("/hook");
    t.run(
        "CreateEventSubscriptionCommand",
        json!({"url": rx.url, "events": ["workflow.state.changed"]}),
    );
    let a = t.start("Rework", json!({"rounds": 0}));
    let b = t.start("Rework", json!({"rounds": 0}));
    t.run(
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": a, "taskId": "fix", "callbackData": {}}),
    );
    let sent = t.rt.deliver_due();
    let got = rx.take(sent);
    let of = |guid: &str| -> Vec<Value> {
        got.iter()
            .filter(|r| r.json()["workflowRuntimeId"] == guid)
            .map(|r| r.json())
            .collect()
    };
    let (a_events, b_events) = (of(&a), of(&b));
    assert_eq!(a_events.len(), 2);
    assert_eq!(a_events[1]["previousState"], "fix");
    assert_eq!(a_events[1]["state"], "fix");
    assert_eq!(a_events[1]["enteredStates"], json!(["fix"]));
    assert_eq!(a_events[1]["data"]["rounds"], 1);
    // Each instance counts from 1.
    let seq = |v: &[Value]| v.iter().map(|e| e["sequence"].clone()).collect::<Vec<_>>();
    assert_eq!(seq(&a_events), [json!(1), json!(2)]);
    assert_eq!(seq(&b_events), [json!(1)]);
}

/// A review that rejects the first document and then waits again.
const DOCS: &str = r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="Docs" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="review"/>
    <bpmn:scriptTask id="decide" scriptFormat="javascript"><bpmn:script>var docs = execution.getVariable('documents');
docs[0].decision = { status: 'rejected', rejectionReason: 'blurred' };
execution.setVariable('documents', docs);</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="revisions"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="decide"/>
    <bpmn:sequenceFlow id="f3" sourceRef="decide" targetRef="revisions"/>
    <bpmn:sequenceFlow id="f4" sourceRef="revisions" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

#[test]
fn document_events_are_accepted_and_fire_when_the_documents_change() {
    let t = TestRuntime::new();
    t.deploy(DOCS);
    let rx = Receiver::start("/hook");
    for name in [
        "workflow.context.document.changed",
        "workflow.context.document.updated",
        "workflow.context.document.completed",
    ] {
        t.run(
            "CreateEventSubscriptionCommand",
            json!({"url": rx.url, "events": [name]}),
        );
    }
    // The seed's first example: an instance subscribed to its document changes only.
    let own = Receiver::start("/hook");
    let config = seed_json(
        r#"{
"config": {
"subscriptions": [
{
"type": "webhook",
"url": "https://webhook.site/b58610f1-93fc-4922-96c6-87d259f245b8",
"events": [
"workflow.context.document.changed"
]
}
]
}
}"#,
    )["config"]
        .to_string()
        .replace(SEED_URL, &own.url);
    let config: Value = serde_json::from_str(&config).unwrap();
    let guid = t.run(
        "StartProcessInstanceCommand",
        json!({"processKey": "Docs", "config": config,
               "variables": {"documents": [{"category": "id", "decision": {"status": "pending"}}]}}),
    )["instanceGuid"]
        .as_str()
        .unwrap()
        .to_string();
    // The start added a document: changed only.
    assert_eq!(t.rt.deliver_due(), 2);
    let first = rx.take(1);
    assert_eq!(
        first[0].json()["eventName"],
        "workflow.context.document.changed"
    );
    assert_eq!(first[0].json()["changedDocuments"][0]["change"], "added");
    // The review rejects it while the case goes on: changed, updated and completed.
    t.run(
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "taskId": "review", "callbackData": {}}),
    );
    assert_eq!(t.rt.deliver_due(), 4);
    let got = rx.take(3);
    let mut names: Vec<String> = got
        .iter()
        .map(|r| r.json()["eventName"].as_str().unwrap().to_string())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "workflow.context.document.changed",
            "workflow.context.document.completed",
            "workflow.context.document.updated"
        ]
    );
    for r in &got {
        let doc = &r.json()["changedDocuments"][0];
        assert_eq!(doc["index"], 0);
        assert_eq!(doc["change"], "updated");
        assert_eq!(doc["decision"]["status"], "rejected");
        assert_eq!(
            r.json()["data"]["documents"][0]["decision"]["rejectionReason"],
            "blurred"
        );
    }
    // The instance's own subscription got its one event per change, numbered as the same
    // events were for the other subscribers.
    let mine = own.take(2);
    let seq = |r: &Received| r.json()["sequence"].as_i64().unwrap();
    assert_eq!(mine.iter().map(seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(seq(&first[0]), 1);
    let mut others: Vec<i64> = got.iter().map(seq).collect();
    others.sort_unstable();
    assert_eq!(others, [2, 3, 4]);
    assert!(rx.rest().is_empty() && own.rest().is_empty());
    // An unknown name is still refused, naming the field.
    let bad = t.refused(
        "CreateEventSubscriptionCommand",
        json!({"url": rx.url, "events": ["workflow.context.document.nope"]}),
    );
    assert_eq!(bad.errors[0].field, "events");
}

const TOKEN: &str = "seed-004-admin-token-secret";

fn host(db: &std::path::Path) -> Host {
    Host::start(HostConfig {
        listen: Some("127.0.0.1:0".into()),
        token: Some(TOKEN.into()),
        ..HostConfig::new(db)
    })
    .unwrap_or_else(|e| panic!("the host did not start: {e}"))
}

/// POSTs `body` as the seed's curl does: the same headers, the body as given.
fn curl(host: &Host, token: &str, body: &str) -> (u16, Value) {
    let url = format!(
        "http://{}/api/v1/external/workflows/run",
        host.address().unwrap()
    );
    let r = agent()
        .post(&url)
        .set("Content-Type", "application/json")
        .set("Authorization", &format!("Bearer {token}"))
        .send_string(body);
    match r {
        Ok(resp) => (
            resp.status(),
            serde_json::from_str(&resp.into_string().unwrap()).unwrap(),
        ),
        Err(ureq::Error::Status(code, resp)) => (
            code,
            serde_json::from_str(&resp.into_string().unwrap()).unwrap(),
        ),
        Err(e) => panic!("the request failed: {e}"),
    }
}

fn exec(host: &Host, cmd: &str, data: Value) -> Value {
    let answer = host.execute(&json!({"cmd": cmd, "data": data}));
    assert_eq!(answer["isSuccessful"], true, "{cmd}: {answer}");
    answer["data"].clone()
}

#[test]
fn the_seeds_curl_starts_an_instance_whose_subscription_receives_workflow_completed() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(&dir.path().join("baton.db"));
    exec(
        &host,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": SEED_WORKFLOW}),
    );
    let rx = Receiver::start("/hook");
    // The seed's body, verbatim but for the one URL, which points at the local receiver.
    let body = SEED_RUN_BODY.replace(SEED_URL, &rx.url);
    let (status, answer) = curl(&host, TOKEN, &body);
    assert_eq!(status, 200, "{answer}");
    let guid = answer["workflowRuntimeId"].as_str().unwrap().to_string();
    assert_eq!(answer["instanceGuid"], guid.as_str());
    assert_eq!(answer["status"], "WAITING");
    assert_eq!(answer["correlationId"], "0a5212e0-ba12422222011b7");
    assert!(answer["workflowDefinitionId"].is_i64());
    let inst = exec(
        &host,
        "GetProcessInstanceByIdQuery",
        json!({"instanceGuid": guid}),
    );
    assert_eq!(
        inst["variables"]["entity"]["data"]["companyName"],
        "YTO CENTRE"
    );
    assert_eq!(
        inst["variables"]["documents"][0]["pages"][0]["metadata"]["pageNumber"],
        1
    );
    let subs = exec(
        &host,
        "GetEventSubscriptionListQuery",
        json!({"instanceGuid": guid}),
    );
    assert_eq!(subs["items"][0]["url"], rx.url.as_str());
    assert_eq!(subs["items"][0]["events"], json!(["workflow.completed"]));
    // The review is done: the decision approves the documents and the instance completes.
    exec(
        &host,
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "taskId": "manual_review", "callbackData": {}}),
    );
    // The sender thread of the running server delivers it.
    let got = rx.take(1);
    let b = &got[0].json();
    assert_eq!(b["eventName"], "workflow.completed");
    assert_eq!(b["workflowRuntimeId"], guid.as_str());
    assert_eq!(b["workflowFinalState"], "approved");
    assert_eq!(b["data"]["documents"][0]["decision"]["status"], "approved");
    assert_eq!(b["correlationId"], "0a5212e0-ba12422222011b7");
    check_seed_fields(b);
    assert!(got[0].headers["webhook-signature"].starts_with("v1,"));
    assert_eq!(got[0].headers["webhook-id"], b["id"].as_str().unwrap());
    assert_eq!(got[0].headers["baton-sequence"], b["sequence"].to_string());
    host.shutdown();
    assert!(rx.rest().is_empty(), "only the one event it subscribed to");
}

#[test]
fn the_run_door_refuses_bad_requests_with_the_field_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(&dir.path().join("baton.db"));
    exec(
        &host,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": SEED_WORKFLOW}),
    );
    // The seed's body exactly as printed (its URL unreachable here: nothing is sent in this
    // test before the server stops) is accepted.
    let (status, answer) = curl(&host, TOKEN, SEED_RUN_BODY);
    assert_eq!(status, 200, "{answer}");
    // Without the token, or with a wrong one: 401 in the seed 000 envelope, with errors.
    for token in ["", "wrong-token-of-some-length"] {
        let (status, answer) = curl(&host, token, SEED_RUN_BODY);
        assert_eq!(status, 401, "{answer}");
        assert_eq!(answer["isSuccessful"], false);
        assert!(answer["errors"].is_array());
    }
    let cases: [(&str, &str); 6] = [
        (r#"{"context": {}}"#, "workflowId"),
        (r#"{"workflowId": "NoSuchProcess"}"#, "workflowId"),
        (r#"{"workflowId": 999}"#, "workflowId"),
        (r#"{"workflowId": ["x"]}"#, "workflowId"),
        (
            r#"{"workflowId": "mp0h897g68v", "context": [1]}"#,
            "context",
        ),
        (
            r#"{"workflowId": "mp0h897g68v", "config": {"subscriptions": [{"type": "email", "url": "http://x", "events": ["*"]}]}}"#,
            "config",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = curl(&host, TOKEN, body);
        let expected = if body.contains("999") || body.contains("NoSuch") {
            404
        } else {
            400
        };
        assert_eq!(status, expected, "{body}: {answer}");
        assert_eq!(answer["isSuccessful"], false, "{body}");
        assert_eq!(answer["errors"][0]["field"], field, "{body}: {answer}");
    }
    // Malformed JSON names its line.
    let (status, answer) = curl(&host, TOKEN, "{\n\"workflowId\": }");
    assert_eq!(status, 400);
    assert!(
        answer["message"].as_str().unwrap().contains("line 2"),
        "{answer}"
    );
    assert_eq!(answer["errors"], json!([]));
    // A body over the limit: 413, JSON, errors.
    let big = format!(
        r#"{{"workflowId": "mp0h897g68v", "context": {{"blob": "{}"}}}}"#,
        "x".repeat(baton_runtime::http::MAX_BODY_BYTES)
    );
    let (status, answer) = curl(&host, TOKEN, &big);
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["errors"], json!([]));
    host.shutdown();
}

/// Two tasks at once, so that one can stay assigned while the other completes.
const PAIR: &str = r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="Pair" name="Pair" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:userTask id="a"/>
    <bpmn:userTask id="b"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fork"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="a"/>
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="b"/>
    <bpmn:sequenceFlow id="f4" sourceRef="a" targetRef="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="b" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

#[test]
fn an_assigned_task_is_the_payloads_assignee_with_the_time_it_was_assigned() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(&dir.path().join("baton.db"));
    exec(
        &host,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": PAIR}),
    );
    let rx = Receiver::start("/hook");
    exec(
        &host,
        "CreateEventSubscriptionCommand",
        json!({"url": rx.url, "events": ["workflow.state.changed"]}),
    );
    let app = exec(
        &host,
        "CreateIncomingWebhookApplicationCommand",
        json!({"name": "ERP"}),
    );
    let hook = |op: &str, input: Value| -> Value {
        let url = format!(
            "http://{}{}",
            host.address().unwrap(),
            app["url"].as_str().unwrap()
        );
        let body = json!({"operation": op, "args": {"input": input}}).to_string();
        let r = agent()
            .post(&url)
            .set("Content-Type", "application/json")
            .send_string(&body)
            .unwrap_or_else(|e| panic!("{op}: {e}"));
        serde_json::from_str(&r.into_string().unwrap()).unwrap()
    };
    let r = hook("createRequest", json!({"processName": "Pair"}));
    let guid = r["instanceGuid"].as_str().unwrap().to_string();
    let n = r["number"].as_i64().unwrap();
    let started = rx.take(1);
    assert_eq!(started[0].json()["assignee"], Value::Null);
    assert_eq!(started[0].json()["assignedAt"], Value::Null);
    let r = hook(
        "assignAction",
        json!({"requestNumber": n, "actionNumber": 1, "assigneeUserName": "admin"}),
    );
    assert!(r.get("errors").is_none(), "{r}");
    let inst = exec(
        &host,
        "GetProcessInstanceByIdQuery",
        json!({"instanceGuid": guid}),
    );
    let waiting = inst["waiting"].as_array().unwrap();
    let held = waiting
        .iter()
        .find(|w| w["assignee"] == "admin")
        .unwrap_or_else(|| panic!("no assigned task in {inst}"));
    let other = waiting.iter().find(|w| w["assignee"] != "admin").unwrap();
    let (held, other) = (
        held["taskId"].as_str().unwrap().to_string(),
        other["taskId"].as_str().unwrap(),
    );
    // The other task completes: the instance waits only in the assigned one.
    exec(
        &host,
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "taskId": other, "callbackData": {}}),
    );
    let got = rx.take(1);
    let b = &got[0].json();
    assert_eq!(b["state"], held.as_str());
    assert_eq!(b["assignee"]["id"], "admin");
    assert_eq!(b["assignee"]["taskId"], held.as_str());
    for absent in ["firstName", "lastName", "email"] {
        assert_eq!(b["assignee"][absent], Value::Null, "{b}");
    }
    // Assigned in an earlier step: before this event, after the instance started.
    let assigned_at = b["assignedAt"].as_str().unwrap();
    assert!(assigned_at <= b["timestamp"].as_str().unwrap(), "{b}");
    assert!(
        assigned_at >= b["workflowCreatedAt"].as_str().unwrap(),
        "{b}"
    );
    assert_ne!(assigned_at, b["timestamp"].as_str().unwrap(), "{b}");
    check_seed_fields(b);
    host.shutdown();
}
