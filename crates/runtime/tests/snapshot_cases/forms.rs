//! Task forms (seed 002's GetTaskFormQuery): a form for a team refused to others and to callers
//! without a token, failures that still answer `data.status`, and the administrator's
//! `publicForms` switch.

use crate::Story;
use baton_testkit::Model;
use serde_json::{json, Value};

fn form_task(process: &str, task: &str, props: &[(&str, &str)]) -> String {
    Model::process(process)
        .start("s")
        .user_task(task)
        .props(props)
        .end("e")
        .chain(&["s", task, "e"])
        .xml()
}

fn seed_request(guid: &Value) -> Value {
    json!({"cmd": "GetTaskFormQuery", "data": {"instanceGuid": guid}})
}

#[tokio::test]
async fn public_forms() {
    let mut s = Story::new();
    let bob = s.bob.token.clone();
    for xml in [
        form_task("Survey", "Fill", &[("FormKey", "survey-form")]),
        form_task(
            "Review",
            "Approve",
            &[("FormKey", "review-form"), ("ResponsibleTeam", "MANAGERS")],
        ),
    ] {
        s.admin(
            "deploy",
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": xml}),
        )
        .await;
    }
    let open = s
        .admin(
            "start a survey",
            "StartProcessInstanceCommand",
            json!({"processKey": "Survey", "correlationId": "S-1", "variables": {"topic": "lunch"}}),
        )
        .await["data"]["instanceGuid"]
        .clone();
    let review = s
        .call(
            "bob starts a review (for MANAGERS)",
            &bob,
            "StartProcessInstanceCommand",
            json!({"processKey": "Review", "variables": {"amount": 10}}),
        )
        .await["data"]["instanceGuid"]
        .clone();
    s.admin(
        "public forms are on by default",
        "GetFormSettingsQuery",
        json!({}),
    )
    .await;
    // (The successful loads, whose context holds every variable, are in public_task_forms.rs
    // and instances.snap.)
    s.post(
        "the review's form without a token: as an instance that does not exist",
        "/api/core/cmd",
        seed_request(&review),
    )
    .await;
    s.post(
        "without a token, by correlation id: refused",
        "/api/core/cmd",
        json!({"cmd": "GetTaskFormQuery", "data": {"correlationId": "S-1"}}),
    )
    .await;
    s.post(
        "any other command without a token",
        "/api/core/cmd",
        json!({"cmd": "GetProcessInstanceByIdQuery", "data": {"instanceGuid": open}}),
    )
    .await;
    s.call(
        "bob started the review but is not in MANAGERS",
        &bob,
        "GetTaskFormQuery",
        json!({"instanceGuid": review}),
    )
    .await;
    s.call(
        "a non-administrator may not change the setting",
        &bob,
        "SetFormSettingsCommand",
        json!({"publicForms": false}),
    )
    .await;
    s.admin(
        "not true or false",
        "SetFormSettingsCommand",
        json!({"publicForms": "off"}),
    )
    .await;
    s.admin(
        "turn public forms off",
        "SetFormSettingsCommand",
        json!({"publicForms": false}),
    )
    .await;
    s.post(
        "the survey's form without a token, now off",
        "/api/core/cmd",
        seed_request(&open),
    )
    .await;
    s.check("public_forms");
}
