//! Definitions: deploy, validate, get by id or key, list.

use crate::Story;
use baton_testkit::Model;
use serde_json::json;

fn review() -> String {
    Model::process("Review")
        .start("s")
        .user_task("Check")
        .named("Check the order")
        .props(&[("FormKey", "check-form")])
        .end("e")
        .chain(&["s", "Check", "e"])
        .xml()
}

/// A model with an error (a flow to nowhere).
fn broken() -> String {
    Model::process("Broken")
        .start("s")
        .end("e")
        .flow("s", "nowhere")
        .xml()
}

#[tokio::test]
async fn definitions() {
    let mut s = Story::new();
    let xml = review();
    let bob = s.bob.token.clone();
    s.admin(
        "validate a good model",
        "ValidateProcessDefinitionQuery",
        json!({"bpmnXml": xml}),
    )
    .await;
    s.admin(
        "validate a model with a flow to nowhere",
        "ValidateProcessDefinitionQuery",
        json!({"bpmnXml": broken()}),
    )
    .await;
    s.admin(
        "validate text that is not XML",
        "ValidateProcessDefinitionQuery",
        json!({"bpmnXml": "hello <not xml"}),
    )
    .await;
    s.admin(
        "validate without bpmnXml",
        "ValidateProcessDefinitionQuery",
        json!({}),
    )
    .await;
    s.admin(
        "deploy with a name and a form",
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": xml, "name": "Order review", "forms": {"check-form": {"components": []}}}),
    )
    .await;
    s.admin(
        "deploy the same key again: version 2",
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": xml}),
    )
    .await;
    s.admin(
        "deploy a broken model",
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": broken()}),
    )
    .await;
    s.admin(
        "deploy without bpmnXml",
        "DeployProcessDefinitionCommand",
        json!({"name": "x"}),
    )
    .await;
    s.admin(
        "deploy with bpmnXml of the wrong type",
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": 5}),
    )
    .await;
    s.call(
        "a non-administrator may not deploy",
        &bob,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": xml}),
    )
    .await;
    s.admin(
        "get by id",
        "GetProcessDefinitionByIdQuery",
        json!({"processDefinitionId": 1}),
    )
    .await;
    s.admin(
        "get the latest by key",
        "GetProcessDefinitionByIdQuery",
        json!({"processKey": "Review"}),
    )
    .await;
    s.admin(
        "get an unknown id",
        "GetProcessDefinitionByIdQuery",
        json!({"processDefinitionId": 999}),
    )
    .await;
    s.admin(
        "get an unknown key",
        "GetProcessDefinitionByIdQuery",
        json!({"processKey": "Nope"}),
    )
    .await;
    s.admin(
        "get without id or key",
        "GetProcessDefinitionByIdQuery",
        json!({}),
    )
    .await;
    s.call(
        "list, as a user",
        &bob,
        "GetProcessDefinitionListQuery",
        json!({}),
    )
    .await;
    s.admin(
        "list one key, page size 1",
        "GetProcessDefinitionListQuery",
        json!({"processKey": "Review", "pageSize": 1, "pageNumber": 2}),
    )
    .await;
    s.admin(
        "list with a page size of 0",
        "GetProcessDefinitionListQuery",
        json!({"pageSize": 0}),
    )
    .await;
    s.check("definitions");
}
