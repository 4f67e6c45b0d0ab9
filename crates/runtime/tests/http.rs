//! The HTTP doors through the router (`oneshot`, no socket): envelopes, `$type`, status codes.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use baton_engine::VirtualClock;
use baton_runtime::http::{app, AppState, MAX_BODY_BYTES};
use baton_runtime::{Bootstrap, Runtime};
use baton_store::Durability;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

/// A server's state with the administrator's token `admin-token` and bob (team TELLERS), whose
/// token is answered.
fn state(dir: &std::path::Path) -> (Arc<AppState>, String) {
    let runtime = Runtime::open(
        &dir.join("h.db"),
        Durability::Normal,
        Arc::new(VirtualClock::new(VirtualClock::default_start())),
    )
    .unwrap();
    assert_eq!(
        runtime.bootstrap(Some("admin-token")).unwrap(),
        Bootstrap::Given
    );
    let r = runtime.execute(
        "CreateUserCommand",
        &json!({"userName": "bob", "teams": ["TELLERS"]}),
        None,
    );
    assert!(r.is_successful, "{r:?}");
    let r = runtime.execute("CreateApiTokenCommand", &json!({"userName": "bob"}), None);
    let bob = r.data["token"].as_str().unwrap().to_string();
    (
        Arc::new(AppState {
            runtime: Arc::new(runtime),
        }),
        bob,
    )
}

async fn call(
    state: &Arc<AppState>,
    path: &str,
    token: Option<&str>,
    body: String,
) -> (StatusCode, Value) {
    let mut req = Request::post(path).header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = app(state.clone())
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn template() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../bpmn-templates/loan-approval/LoanApprovalProcess.bpmn"
    ))
    .unwrap()
}

#[tokio::test]
async fn execute_envelope_and_bpm_type_form() {
    let dir = tempfile::tempdir().unwrap();
    let (st, bob) = state(dir.path());
    let deploy = json!({"cmd": "DeployProcessDefinitionCommand", "data": {"bpmnXml": template()}})
        .to_string();
    let (code, v) = call(&st, "/api/v1/execute", Some("admin-token"), deploy).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["isSuccessful"], true);
    let def = v["data"]["processDefinitionId"].clone();

    let start = json!({"$type": "StartProcessInstanceCommand", "processDefinitionId": def, "variables": {"applicant": "Ada"}}).to_string();
    let (code, v) = call(&st, "/api/bpm/cmd", Some("admin-token"), start).await;
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
    let (_, v) = call(&st, "/api/core/cmd", Some("admin-token"), sig.to_string()).await;
    assert_eq!(v["data"]["status"], "COMPLETED", "{v}");

    // Validation errors: field-level in the envelope, strings in the $type form.
    let (code, v) = call(
        &st,
        "/api/bpm/cmd",
        Some("admin-token"),
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
    let dir = tempfile::tempdir().unwrap();
    let (st, _) = state(dir.path());
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
        call(&st, "/api/v1/execute", Some("admin-token"), body)
            .await
            .0,
        StatusCode::OK
    );
    let (code, v) = call(
        &st,
        "/api/v1/execute",
        Some("admin-token"),
        "{not json".into(),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("malformed JSON"));
    let (code, _) = call(
        &st,
        "/api/v1/execute",
        Some("admin-token"),
        json!({"cmd": "Nope", "data": {}}).to_string(),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let (code, _) = call(
        &st,
        "/api/bpm/cmd",
        Some("admin-token"),
        json!({"processKey": "x"}).to_string(),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "no $type");
    let big = format!(
        "{{\"cmd\": \"X\", \"data\": {{\"pad\": \"{}\"}}}}",
        "a".repeat(MAX_BODY_BYTES + 10)
    );
    assert_eq!(
        call(&st, "/api/v1/execute", Some("admin-token"), big)
            .await
            .0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}
