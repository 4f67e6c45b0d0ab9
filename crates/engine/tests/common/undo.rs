//! Building blocks for compensation and transaction models: script and user tasks with
//! compensation handlers, and what a run logged and entered.

use super::H;
use baton_engine::Effect;

/// A script task that appends `entry` to the `log` array and runs `extra`.
pub fn script(id: &str, entry: &str, extra: &str) -> String {
    format!(
        r#"<bpmn:scriptTask id="{id}" scriptFormat="rhai"><bpmn:script>log = log + ["{entry}"]; {extra}</bpmn:script></bpmn:scriptTask>"#
    )
}

/// A script task `id` with a compensation boundary event linked to a script handler `undo`.
pub fn compensable(id: &str, undo: &str, extra: &str) -> String {
    format!(
        r#"{task}
<bpmn:boundaryEvent id="{id}_comp" attachedToRef="{id}"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
<bpmn:scriptTask id="{undo}" isForCompensation="true" scriptFormat="rhai"><bpmn:script>log = log + ["{undo}"]; {extra}</bpmn:script></bpmn:scriptTask>
<bpmn:association id="{id}_assoc" sourceRef="{id}_comp" targetRef="{undo}"/>"#,
        task = script(id, id, "")
    )
}

/// A user task `id` with a compensation boundary event linked to a user task handler `undo`.
pub fn compensable_user(id: &str, undo: &str) -> String {
    format!(
        r#"<bpmn:userTask id="{id}"/>
<bpmn:boundaryEvent id="{id}_comp" attachedToRef="{id}"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
<bpmn:userTask id="{undo}" isForCompensation="true"/>
<bpmn:association id="{id}_assoc" sourceRef="{id}_comp" targetRef="{undo}"/>"#
    )
}

pub fn throw(id: &str, attrs: &str) -> String {
    format!(
        r#"<bpmn:intermediateThrowEvent id="{id}"><bpmn:compensateEventDefinition {attrs}/></bpmn:intermediateThrowEvent>"#
    )
}

pub fn log(h: &H) -> Vec<String> {
    h.var("log")
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Element ids of `ElementEntered` / `ElementCompleted` effects, as "+id" / "-id".
pub fn history(h: &H) -> Vec<String> {
    h.effects
        .iter()
        .filter_map(|e| match e {
            Effect::ElementEntered { element_id } => Some(format!("+{element_id}")),
            Effect::ElementCompleted { element_id } => Some(format!("-{element_id}")),
            _ => None,
        })
        .collect()
}

pub fn position(hist: &[String], what: &str) -> usize {
    hist.iter()
        .position(|x| x == what)
        .unwrap_or_else(|| panic!("{what} not in {hist:?}"))
}
