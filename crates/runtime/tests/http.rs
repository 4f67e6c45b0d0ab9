//! The HTTP doors through the router (`oneshot`, no socket): envelopes, `$type`, status codes.

use axum::http::StatusCode;
use baton_runtime::http::MAX_BODY_BYTES;
use baton_testkit::{Door, ADMIN};
use serde_json::{json, Value};

/// A server with the administrator's token `ADMIN` and bob (team TELLERS), whose token is
/// answered.
fn state() -> (Door, String) {
    let door = Door::new();
    let bob = door.user("bob", &["TELLERS"]).token;
    (door, bob)
}

/// `POST path` with an optional bearer token.
async fn call(door: &Door, path: &str, token: Option<&str>, body: String) -> (StatusCode, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    door.post(path, auth.as_deref(), body).await
}

fn template() -> String {
    baton_testkit::template("loan-approval/LoanApprovalProcess.bpmn")
}

#[tokio::test]
async fn execute_envelope_and_bpm_type_form() {
    let (st, bob) = state();
    let deploy = json!({"cmd": "DeployProcessDefinitionCommand", "data": {"bpmnXml": template()}})
        .to_string();
    let (code, v) = call(&st, "/api/v1/execute", Some(ADMIN), deploy).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["isSuccessful"], true);
    let def = v["data"]["processDefinitionId"].clone();

    let start = json!({"$type": "StartProcessInstanceCommand", "processDefinitionId": def, "variables": {"applicant": "Ada"}}).to_string();
    // bob starts it (so he may read it), but its first task is for team MANAGERS.
    let (code, v) = call(&st, "/api/bpm/cmd", Some(&bob), start).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["success"], true);
    assert_eq!(v["data"]["waiting"][0]["taskId"], "Task_ManagerReview");
    let guid = v["data"]["instanceGuid"].as_str().unwrap().to_string();

    // bob is not in MANAGERS: 403, and the task keeps waiting.
    let sig = json!({"cmd": "SignalProcessInstanceCommand", "data": {"instanceGuid": guid, "callbackData": {"decision": "decline"}}});
    let (code, v) = call(&st, "/api/core/cmd", Some(&bob), sig.to_string()).await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert_eq!(v["isSuccessful"], false);
    assert!(v["message"].as_str().unwrap().contains("MANAGERS"), "{v}");
    // The administrator is not held to the team rule.
    let (_, v) = call(&st, "/api/core/cmd", Some(ADMIN), sig.to_string()).await;
    assert_eq!(v["data"]["status"], "COMPLETED", "{v}");

    // Validation errors: field-level in the envelope, strings in the $type form.
    let (code, v) = call(
        &st,
        "/api/bpm/cmd",
        Some(ADMIN),
        json!({"$type": "StartProcessInstanceCommand"}).to_string(),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["success"], false);
    assert!(
        v["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("processDefinitionId"),
        "{v}"
    );
}

#[tokio::test]
async fn status_codes_for_bad_requests() {
    let (st, _) = state();
    let body = json!({"cmd": "GetProcessDefinitionListQuery", "data": {}}).to_string();
    assert_eq!(
        call(&st, "/api/v1/execute", None, body.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&st, "/api/v1/execute", Some("wrong"), body.clone())
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&st, "/api/v1/execute", Some(ADMIN), body).await.0,
        StatusCode::OK
    );
    let (code, v) = call(&st, "/api/v1/execute", Some(ADMIN), "{not json".into()).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("malformed JSON"));
    let (code, _) = call(
        &st,
        "/api/v1/execute",
        Some(ADMIN),
        json!({"cmd": "Nope", "data": {}}).to_string(),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let (code, _) = call(
        &st,
        "/api/bpm/cmd",
        Some(ADMIN),
        json!({"processKey": "x"}).to_string(),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "no $type");
    let big = format!(
        "{{\"cmd\": \"X\", \"data\": {{\"pad\": \"{}\"}}}}",
        "a".repeat(MAX_BODY_BYTES + 10)
    );
    assert_eq!(
        call(&st, "/api/v1/execute", Some(ADMIN), big).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}
