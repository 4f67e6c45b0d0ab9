//! The doors themselves: what is not a command, and the same commands through the `$type`
//! form (`/api/bpm/cmd`) and the core door (`/api/core/cmd`), whose envelopes differ from
//! `/api/v1/execute`.

use crate::Story;
use baton_testkit::{Model, ADMIN};
use serde_json::json;

#[tokio::test]
async fn doors() {
    let mut s = Story::new();
    s.admin("an unknown command", "NoSuchCommand", json!({}))
        .await;
    s.admin(
        "data that is not an object",
        "GetUserListQuery",
        json!([1, 2]),
    )
    .await;
    s.call(
        "a token nobody holds",
        "wrong-token-0123456789",
        "GetUserListQuery",
        json!({}),
    )
    .await;
    s.check("doors");
}

#[tokio::test]
async fn typed_and_core_doors() {
    let mut s = Story::new();
    let bob = s.bob.token.clone();
    let xml = Model::process("Review")
        .start("s")
        .user_task("Check")
        .props(&[("ResponsibleTeam", "MANAGERS")])
        .end("e")
        .chain(&["s", "Check", "e"])
        .xml();
    let typed = "/api/bpm/cmd";
    let core = "/api/core/cmd";
    s.post_as(
        "$type: deploy",
        typed,
        Some(ADMIN),
        json!({"$type": "DeployProcessDefinitionCommand", "bpmnXml": xml}),
    )
    .await;
    s.post_as(
        "$type: a field error",
        typed,
        Some(ADMIN),
        json!({"$type": "CreateUserCommand", "userName": "bob"}),
    )
    .await;
    s.post_as(
        "$type: a business failure",
        typed,
        Some(ADMIN),
        json!({"$type": "ReturnCallbackCommand", "correlationKey": "NOPE-1"}),
    )
    .await;
    s.post_as(
        "$type: forbidden",
        typed,
        Some(&bob),
        json!({"$type": "DeployProcessDefinitionCommand", "bpmnXml": xml}),
    )
    .await;
    s.post_as(
        "$type: an unknown command",
        typed,
        Some(ADMIN),
        json!({"$type": "LaunchRocketCommand"}),
    )
    .await;
    s.post_as(
        "$type: no $type",
        typed,
        Some(ADMIN),
        json!({"userName": "x"}),
    )
    .await;
    s.post_as(
        "$type: no token",
        typed,
        None,
        json!({"$type": "GetUserListQuery"}),
    )
    .await;
    s.post_as(
        "core: start",
        core,
        Some(ADMIN),
        json!({"cmd": "StartProcessInstanceCommand", "data": {"processKey": "Review"}}),
    )
    .await;
    s.post_as(
        "core: a non-administrator may not create users",
        core,
        Some(&bob),
        json!({"cmd": "CreateUserCommand", "data": {"userName": "x"}}),
    )
    .await;
    s.post_as(
        "core: an unknown command",
        core,
        Some(ADMIN),
        json!({"cmd": "LaunchRocketCommand", "data": {}}),
    )
    .await;
    s.post_as(
        "execute: no cmd",
        "/api/v1/execute",
        Some(ADMIN),
        json!({"data": {}}),
    )
    .await;
    s.check("typed_and_core_doors");
}
