//! Simulation sessions and RunScenarioQuery: the designer's step-by-step simulation.

use crate::Story;
use baton_testkit::Model;
use serde_json::json;

/// start -> review (user task) -> approved? -> yes / no (the default flow, f4).
fn review() -> String {
    Model::process("Sim_Review")
        .start("s")
        .user_task("Review")
        .named("Review")
        .exclusive("ok")
        .attr("default", "f4")
        .end("yes")
        .end("no")
        .chain(&["s", "Review", "ok"])
        .flow_if("ok", "yes", "lastUserTaskResult.approved == true")
        .flow("ok", "no")
        .xml()
}

#[tokio::test]
async fn simulation() {
    let mut s = Story::new();
    let bob = s.bob.token.clone();
    let v = s
        .admin(
            "start a session",
            "StartSimulationCommand",
            json!({"bpmnXml": review(), "variables": {"amount": 5}}),
        )
        .await;
    let id = v["data"]["sessionId"].clone();
    s.admin(
        "start a session on a model that does not parse",
        "StartSimulationCommand",
        json!({"bpmnXml": "<bpmn:definitions\n<oops"}),
    )
    .await;
    s.admin(
        "start with a clock that is not a date-time",
        "StartSimulationCommand",
        json!({"bpmnXml": review(), "clock": "soon"}),
    )
    .await;
    s.call(
        "a user who is not an administrator",
        &bob,
        "StartSimulationCommand",
        json!({"bpmnXml": review()}),
    )
    .await;
    s.admin(
        "complete the review, approved",
        "SimulationStepCommand",
        json!({"sessionId": id, "step": {"complete": "Review", "data": {"approved": true}}}),
    )
    .await;
    s.admin(
        "a step the engine refuses (the instance has ended)",
        "SimulationStepCommand",
        json!({"sessionId": id, "step": {"complete": "Review", "data": {}}}),
    )
    .await;
    s.admin(
        "a step that is not a scenario step",
        "SimulationStepCommand",
        json!({"sessionId": id, "step": {"compelte": "Review"}}),
    )
    .await;
    s.admin(
        "back to the start",
        "SimulationBackCommand",
        json!({"sessionId": id, "toStep": 0}),
    )
    .await;
    s.admin(
        "back past the steps taken",
        "SimulationBackCommand",
        json!({"sessionId": id, "toStep": 3}),
    )
    .await;
    s.admin(
        "advance to the next timer when there is none",
        "SimulationStepCommand",
        json!({"sessionId": id, "step": {"advance": "nextTimer"}}),
    )
    .await;
    s.admin(
        "read the session",
        "GetSimulationQuery",
        json!({"sessionId": id}),
    )
    .await;
    s.admin("end it", "EndSimulationCommand", json!({"sessionId": id}))
        .await;
    s.admin(
        "read a session that ended",
        "GetSimulationQuery",
        json!({"sessionId": id}),
    )
    .await;
    s.admin(
        "run a scenario that passes",
        "RunScenarioQuery",
        json!({"bpmnXml": review(), "scenario": {
            "steps": [{"complete": "Review", "data": {"approved": false}}],
            "expect": {"state": "COMPLETED", "visits": ["no"]}}}),
    )
    .await;
    s.admin(
        "run a scenario that fails",
        "RunScenarioQuery",
        json!({"bpmnXml": review(), "scenario": {
            "steps": [{"complete": "Review", "data": {"approved": false}}],
            "expect": {"visits": ["yes"]}}}),
    )
    .await;
    s.admin(
        "run a scenario with a step that is not one",
        "RunScenarioQuery",
        json!({"bpmnXml": review(), "scenario": {"steps": [{"complete": 5}]}}),
    )
    .await;
    s.check("simulation");
}
