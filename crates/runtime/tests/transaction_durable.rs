//! A transaction cancelled on a real SQLite file: the callback it waited on is closed as
//! cancelled in the registry, the history says what ended how, and the instance goes on by the
//! cancel boundary event after the runtime is reopened.

use baton_testkit::TestRuntime;
use serde_json::json;

const NS: &str = r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:custom="http://baton.dev/schema/custom" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#;

/// A transaction in which a bank confirmation (a callback on `context.ref`) and a review run
/// side by side; a review that says `cancel` reaches the cancel end event.
fn model() -> String {
    format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d"><bpmn:process id="Order" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:transaction id="tx">
  <bpmn:startEvent id="txStart"/>
  <bpmn:parallelGateway id="fork"/>
  <bpmn:receiveTask id="WaitBank"><bpmn:extensionElements><custom:properties><custom:property name="correlationKey" value="context.ref"/></custom:properties></bpmn:extensionElements></bpmn:receiveTask>
  <bpmn:endEvent id="bankDone"/>
  <bpmn:scriptTask id="Reserve" scriptFormat="rhai"><bpmn:script>let reserved = true;</bpmn:script></bpmn:scriptTask>
  <bpmn:boundaryEvent id="ReserveComp" attachedToRef="Reserve"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
  <bpmn:scriptTask id="Release" isForCompensation="true" scriptFormat="rhai"><bpmn:script>let released = true;</bpmn:script></bpmn:scriptTask>
  <bpmn:association id="a1" sourceRef="ReserveComp" targetRef="Release"/>
  <bpmn:userTask id="Review"/>
  <bpmn:exclusiveGateway id="decide" default="toDone"/>
  <bpmn:endEvent id="reviewed"/>
  <bpmn:endEvent id="cancelEnd"><bpmn:cancelEventDefinition/></bpmn:endEvent>
  <bpmn:sequenceFlow id="t1" sourceRef="txStart" targetRef="fork"/>
  <bpmn:sequenceFlow id="t2" sourceRef="fork" targetRef="WaitBank"/>
  <bpmn:sequenceFlow id="t3" sourceRef="WaitBank" targetRef="bankDone"/>
  <bpmn:sequenceFlow id="t4" sourceRef="fork" targetRef="Reserve"/>
  <bpmn:sequenceFlow id="t5" sourceRef="Reserve" targetRef="Review"/>
  <bpmn:sequenceFlow id="t6" sourceRef="Review" targetRef="decide"/>
  <bpmn:sequenceFlow id="t7" sourceRef="decide" targetRef="cancelEnd"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">lastUserTaskResult.cancel == true</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="toDone" sourceRef="decide" targetRef="reviewed"/>
</bpmn:transaction>
<bpmn:boundaryEvent id="cancelled" attachedToRef="tx"><bpmn:cancelEventDefinition/></bpmn:boundaryEvent>
<bpmn:userTask id="Apologise"/>
<bpmn:endEvent id="end"/>
<bpmn:endEvent id="endCancelled"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="tx"/>
<bpmn:sequenceFlow id="f2" sourceRef="tx" targetRef="end"/>
<bpmn:sequenceFlow id="f3" sourceRef="cancelled" targetRef="Apologise"/>
<bpmn:sequenceFlow id="f4" sourceRef="Apologise" targetRef="endCancelled"/>
</bpmn:process></bpmn:definitions>"#
    )
}

/// `kind:elementId` of each history entry, oldest first.
fn entries(hist: &serde_json::Value) -> Vec<String> {
    hist.as_array()
        .expect("a list")
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["kind"].as_str().unwrap_or(""),
                e["elementId"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn a_cancelled_transaction_closes_its_callback_and_goes_on_by_the_boundary_after_a_reopen() {
    let t = TestRuntime::new();
    t.deploy(&model());
    let guid = t.start("Order", json!({"ref": "R-1"}));
    let open = t.run("GetCallbackRegistryListQuery", json!({}));
    assert_eq!(open[0]["CorrelationKey"], "R-1", "{open}");
    assert_eq!(open[0]["Status"], "Pending", "{open}");

    t.run(
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "taskId": "Review", "callbackData": {"cancel": true}}),
    );
    let view = t.instance(&guid);
    assert_eq!(view["status"], "WAITING", "{view}");
    assert_eq!(view["waiting"][0]["taskId"], "Apologise", "{view}");
    assert_eq!(view["waiting"].as_array().map(Vec::len), Some(1), "{view}");
    assert_eq!(view["variables"]["released"], true, "{view}");

    // The bank confirmation no longer waits: its registry row is closed (seed 002's statuses
    // have no "Cancelled"; a callback closed by the process is "Failed"), and a late callback
    // is refused in words.
    let callbacks = t.run("GetCallbackRegistryListQuery", json!({}));
    assert_eq!(callbacks[0]["Status"], "Failed", "{callbacks}");
    let late = t.refused(
        "ReturnCallbackCommand",
        json!({"correlationKey": "R-1", "callbackData": {"status": "ok"}}),
    );
    assert!(late.message.contains("nothing waits for it"), "{late:?}");

    // The history: the callback and its task cancelled, the reservation released, then the
    // cancel end event completed and the transaction cancelled, then the boundary.
    let hist = entries(&t.run("GetInstanceHistoryQuery", json!({"instanceGuid": guid})));
    let at = |what: &str| {
        hist.iter()
            .position(|h| h == what)
            .unwrap_or_else(|| panic!("{what} not in {hist:?}"))
    };
    assert!(
        at("callbackClosed:WaitBank") < at("elementEntered:Release"),
        "{hist:?}"
    );
    assert!(
        at("elementCancelled:WaitBank") < at("elementEntered:Release"),
        "{hist:?}"
    );
    assert!(
        at("elementCompleted:Release") < at("elementCompleted:cancelEnd"),
        "{hist:?}"
    );
    assert!(
        at("elementCompleted:cancelEnd") < at("elementCancelled:tx"),
        "{hist:?}"
    );
    assert!(
        at("elementCancelled:tx") < at("elementEntered:cancelled"),
        "{hist:?}"
    );
    assert!(
        !hist.contains(&"elementCompleted:tx".to_string()),
        "{hist:?}"
    );

    // The state is on disk: a reopened runtime goes on from the boundary.
    let t = t.reopen();
    t.run(
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "taskId": "Apologise", "callbackData": {}}),
    );
    let done = t.instance(&guid);
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let path: Vec<&str> = done["path"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert!(path.contains(&"endCancelled"), "{path:?}");
    assert!(!path.contains(&"end"), "{path:?}");
}
