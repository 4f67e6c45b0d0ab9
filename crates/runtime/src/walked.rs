//! The path an instance walked, read back from its history.
//!
//! The engine's instance state does not keep the walk (it would grow with every turn of a
//! loop, and the state is rewritten on every step). Every step's `ElementEntered` effects are
//! already in the history, in order; `Store::history` expands the rows that hold a whole step
//! (or a run of element events) into one entry per event. The path is the entered element ids
//! in history order, every visit included, the same list the engine kept before.

use baton_store::{Store, StoreError};

/// The kind of one element event, as `Effect::kind` names it.
const ENTERED: &str = "elementEntered";

/// The flow-node ids instance `guid` entered, in order (empty for an unknown instance).
pub(crate) fn walked(store: &Store, guid: &str) -> Result<Vec<String>, StoreError> {
    let mut path = Vec::new();
    for row in store.history(guid)? {
        if row.kind == ENTERED {
            path.extend(row.element_id);
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use crate::{Reply, Runtime};
    use baton_engine::VirtualClock;
    use baton_store::Durability;
    use serde_json::{json, Value};
    use std::sync::Arc;

    const NS: &str = r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL""#;

    fn ok(r: Reply) -> Value {
        assert!(r.is_successful, "{r:?}");
        r.data
    }

    /// A cycle through an exclusive gateway: 100 turns through a user task, then the end.
    fn loop_model() -> String {
        format!(
            r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d"><bpmn:process id="turns" isExecutable="true">
            <bpmn:startEvent id="s"/>
            <bpmn:exclusiveGateway id="g" default="more"/>
            <bpmn:userTask id="u"/>
            <bpmn:scriptTask id="count" scriptFormat="rhai"><bpmn:script>n = n + 1;</bpmn:script></bpmn:scriptTask>
            <bpmn:endEvent id="e"/>
            <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
            <bpmn:sequenceFlow id="more" sourceRef="g" targetRef="u"/>
            <bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="count"/>
            <bpmn:sequenceFlow id="back" sourceRef="count" targetRef="g"/>
            <bpmn:sequenceFlow id="done" sourceRef="g" targetRef="e"><bpmn:conditionExpression>n &gt;= 100</bpmn:conditionExpression></bpmn:sequenceFlow>
            </bpmn:process></bpmn:definitions>"#
        )
    }

    #[test]
    fn the_state_stays_flat_while_the_path_lists_every_visit() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(VirtualClock::new(VirtualClock::default_start()));
        let rt = Runtime::open(&dir.path().join("walk.db"), Durability::Normal, clock).unwrap();
        let deploy = json!({"bpmnXml": loop_model()});
        ok(rt.execute("DeployProcessDefinitionCommand", &deploy, None));
        let start = json!({"processKey": "turns", "variables": {"n": 0}});
        let started = ok(rt.execute("StartProcessInstanceCommand", &start, None));
        let guid = started["instanceGuid"].as_str().unwrap().to_string();
        let state_len = || rt.store().instance(&guid).unwrap().state.len();
        let signal = json!({"instanceGuid": guid, "taskId": "u", "signalPayload": {}});
        // The first turn adds `lastUserTaskResult`; from then on only the counter's digits grow.
        ok(rt.execute("SignalProcessInstanceCommand", &signal, None));
        let first = state_len();
        for turn in 2..=100 {
            ok(rt.execute("SignalProcessInstanceCommand", &signal, None));
            assert!(
                state_len() <= first + 4,
                "turn {turn}: {} > {first}",
                state_len()
            );
        }
        let inst = ok(rt.execute(
            "GetProcessInstanceByIdQuery",
            &json!({"instanceGuid": guid}),
            None,
        ));
        assert_eq!(inst["status"], "COMPLETED");
        let path: Vec<&str> = inst["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut want = vec!["s", "g"];
        for _ in 0..100 {
            want.extend(["u", "count", "g"]);
        }
        want.push("e");
        assert_eq!(path, want);
    }
}
