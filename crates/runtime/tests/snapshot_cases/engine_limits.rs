//! The engine limits an administrator sets, and a start over the per-definition rate.

use crate::Story;
use serde_json::json;

#[tokio::test]
async fn engine_limits() {
    let mut s = Story::new();
    let bob = s.bob.token.clone();
    s.admin("the limits (defaults)", "GetEngineLimitsQuery", json!({}))
        .await;
    s.admin(
        "change two of them",
        "SetEngineLimitsCommand",
        json!({"maxSteps": 200000, "maxInstancesPerSecond": 1}),
    )
    .await;
    s.admin(
        "a value out of range",
        "SetEngineLimitsCommand",
        json!({"maxSteps": 0}),
    )
    .await;
    s.admin(
        "an unknown limit",
        "SetEngineLimitsCommand",
        json!({"maxEverything": 1}),
    )
    .await;
    s.admin("nothing to set", "SetEngineLimitsCommand", json!({}))
        .await;
    s.admin(
        "back to the default",
        "SetEngineLimitsCommand",
        json!({"maxSteps": null}),
    )
    .await;
    s.call(
        "a non-administrator may not read them",
        &bob,
        "GetEngineLimitsQuery",
        json!({}),
    )
    .await;
    s.call(
        "nor change them",
        &bob,
        "SetEngineLimitsCommand",
        json!({"maxCallDepth": 8}),
    )
    .await;
    let xml = baton_testkit::Model::process("Once")
        .start("s")
        .user_task("u")
        .end("e")
        .chain(&["s", "u", "e"])
        .xml();
    s.admin(
        "deploy a process",
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": xml}),
    )
    .await;
    s.admin(
        "the one start this second",
        "StartProcessInstanceCommand",
        json!({"processKey": "Once"}),
    )
    .await;
    s.admin(
        "a second start in the same second is rate limited",
        "StartProcessInstanceCommand",
        json!({"processKey": "Once"}),
    )
    .await;
    s.check("engine_limits");
}
