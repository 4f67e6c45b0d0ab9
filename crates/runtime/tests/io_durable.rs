//! Input and output parameters on a real SQLite file: a waiting task's local variables survive
//! a reopen, its output lands on the process when it completes, and its inputs do not.

use baton_testkit::TestRuntime;
use serde_json::json;

const NS: &str = r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn""#;

fn model() -> String {
    format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d"><bpmn:process id="Quote" isExecutable="true">
<bpmn:startEvent id="s"/>
<bpmn:userTask id="Approve">
  <bpmn:extensionElements><camunda:inputOutput>
    <camunda:inputParameter name="net">${{price * qty}}</camunda:inputParameter>
    <camunda:outputParameter name="approvedTotal">${{net + lastUserTaskResult.fee}}</camunda:outputParameter>
  </camunda:inputOutput></bpmn:extensionElements>
</bpmn:userTask>
<bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Approve"/>
<bpmn:sequenceFlow id="f2" sourceRef="Approve" targetRef="e"/>
</bpmn:process></bpmn:definitions>"#
    )
}

#[test]
fn a_waiting_tasks_inputs_survive_a_reopen_and_its_output_lands_on_the_process() {
    let t = TestRuntime::new();
    t.deploy(&model());
    let guid = t.start("Quote", json!({"price": 20, "qty": 3}));
    let view = t.instance(&guid);
    assert_eq!(view["status"], "WAITING", "{view}");
    assert!(view["variables"].get("net").is_none(), "{view}");
    assert_eq!(
        view["waiting"][0]["localVariables"],
        json!({"net": 60}),
        "{view}"
    );

    let t = t.reopen();
    let view = t.instance(&guid);
    assert_eq!(
        view["waiting"][0]["localVariables"],
        json!({"net": 60}),
        "{view}"
    );
    t.run(
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "taskId": "Approve", "callbackData": {"fee": 5}}),
    );
    let done = t.instance(&guid);
    assert_eq!(done["status"], "COMPLETED", "{done}");
    // 20 * 3 was kept with the waiting task across the reopen, plus the fee given.
    assert_eq!(done["variables"]["approvedTotal"], 65, "{done}");
    assert!(done["variables"].get("net").is_none(), "{done}");
}
