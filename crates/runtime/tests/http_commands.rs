//! Every command the bus dispatches, through the axum router (`oneshot`, no socket): success,
//! each validation error (field-level in the `/api/v1/execute` envelope, "field: message" strings
//! in the `/api/bpm/cmd` `$type` form), 401 for a missing, wrong or revoked token, 403 for what a
//! user may not do, and that a refused command leaves the stored data as it was.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use baton_engine::{Clock, VirtualClock};
use baton_runtime::http::{app, AppState};
use baton_runtime::{Bootstrap, Runtime};
use baton_store::Durability;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use tower::ServiceExt;

const ADMIN: &str = "admin-token";

// ----- models ---------------------------------------------------------------------------------

const NS: &str = r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:custom="http://baton.dev/schema/custom""#;

fn model(id: &str, decls: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d_{id}">{decls}<bpmn:process id="{id}" isExecutable="true">{body}</bpmn:process></bpmn:definitions>"#
    )
}

fn flow(id: &str, s: &str, t: &str) -> String {
    format!(r#"<bpmn:sequenceFlow id="{id}" sourceRef="{s}" targetRef="{t}"/>"#)
}

fn props(pairs: &[(&str, &str)]) -> String {
    let p: String = pairs
        .iter()
        .map(|(n, v)| format!(r#"<custom:property name="{n}" value="{v}"/>"#))
        .collect();
    format!("<bpmn:extensionElements><custom:properties>{p}</custom:properties></bpmn:extensionElements>")
}

/// `OrderFlow`: an intermediate catch of message `Paid`, keyed by the variable `orderId`.
fn message_wait() -> String {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="WaitPaid">{}<bpmn:messageEventDefinition messageRef="M"/></bpmn:intermediateCatchEvent><bpmn:endEvent id="e"/>{}{}"#,
        props(&[("correlationKey", "orderId")]),
        flow("f1", "s", "WaitPaid"),
        flow("f2", "WaitPaid", "e")
    );
    model("OrderFlow", r#"<bpmn:message id="M" name="Paid"/>"#, &body)
}

/// `CallbackFlow`: one webhook-mode receive task keyed by `ref`.
fn callback_wait() -> String {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:receiveTask id="Callback">{}</bpmn:receiveTask><bpmn:endEvent id="e"/>{}{}"#,
        props(&[("correlationKey", "context.ref")]),
        flow("f1", "s", "Callback"),
        flow("f2", "Callback", "e")
    );
    model("CallbackFlow", "", &body)
}

/// `AlarmFlow`: an intermediate catch of signal `Alarm`.
fn signal_wait() -> String {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="WaitAlarm"><bpmn:signalEventDefinition signalRef="S"/></bpmn:intermediateCatchEvent><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "WaitAlarm"),
        flow("f2", "WaitAlarm", "e")
    );
    model("AlarmFlow", r#"<bpmn:signal id="S" name="Alarm"/>"#, &body)
}

/// `Calc`: a script task that throws when `amount` > 100 (an incident), else sets `total`.
fn failing_script() -> String {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:scriptTask id="Calc" scriptFormat="rhai"><bpmn:script>if amount &gt; 100 {{ throw "too large" }}; total = amount * 2;</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "Calc"),
        flow("f2", "Calc", "e")
    );
    model("Calc", "", &body)
}

/// `Chores`: three user tasks in parallel, open to everyone, to bob, and to team TELLERS.
fn chores() -> String {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:parallelGateway id="fork"/>
           <bpmn:userTask id="Open"/>
           <bpmn:userTask id="ForBob">{}</bpmn:userTask>
           <bpmn:userTask id="ForTellers">{}</bpmn:userTask>
           <bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/><bpmn:endEvent id="e3"/>{}{}{}{}{}{}{}"#,
        props(&[("ResponsibleUser", "bob")]),
        props(&[("ResponsibleTeam", "TELLERS")]),
        flow("f0", "s", "fork"),
        flow("f1", "fork", "Open"),
        flow("f2", "fork", "ForBob"),
        flow("f3", "fork", "ForTellers"),
        flow("f4", "Open", "e1"),
        flow("f5", "ForBob", "e2"),
        flow("f6", "ForTellers", "e3")
    );
    model("Chores", "", &body)
}

fn template(path: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../bpmn-templates/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn loan() -> String {
    template("loan-approval/LoanApprovalProcess.bpmn")
}

fn loan_form() -> Value {
    serde_json::from_str(&template("loan-approval/forms/loan-review-form.form.json")).unwrap()
}

fn payment() -> String {
    template("payment-approval/PaymentApprovalProcess.bpmn")
}

// ----- the server -----------------------------------------------------------------------------

/// A server with the administrator's token `admin-token`, bob (team TELLERS) and mary (team
/// MANAGERS), both non-administrators with a token each, on a virtual clock the test moves.
struct Server {
    st: Arc<AppState>,
    clock: Arc<VirtualClock>,
    bob: String,
    bob_token_id: i64,
    mary: String,
    _dir: tempfile::TempDir,
}

fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock::new(VirtualClock::default_start()));
    let runtime = Runtime::open(
        &dir.path().join("cmds.db"),
        Durability::Normal,
        clock.clone(),
    )
    .unwrap();
    assert_eq!(runtime.bootstrap(Some(ADMIN)).unwrap(), Bootstrap::Given);
    let mut tokens = Vec::new();
    for (name, team) in [("bob", "TELLERS"), ("mary", "MANAGERS")] {
        let r = runtime.execute(
            "CreateUserCommand",
            &json!({"userName": name, "teams": [team]}),
            None,
        );
        assert!(r.is_successful, "{r:?}");
        let r = runtime.execute("CreateApiTokenCommand", &json!({"userName": name}), None);
        assert!(r.is_successful, "{r:?}");
        tokens.push((
            r.data["token"].as_str().unwrap().to_string(),
            r.data["id"].as_i64().unwrap(),
        ));
    }
    let (bob, bob_token_id) = tokens[0].clone();
    let mary = tokens[1].0.clone();
    Server {
        st: Arc::new(AppState {
            runtime: Arc::new(runtime),
        }),
        clock,
        bob,
        bob_token_id,
        mary,
        _dir: dir,
    }
}

impl Server {
    async fn post(&self, path: &str, auth: Option<&str>, body: String) -> (StatusCode, Value) {
        let mut req = Request::post(path).header("content-type", "application/json");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = app(self.st.clone())
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

    /// `POST /api/v1/execute` with a bearer token.
    async fn exec(&self, token: &str, cmd: &str, data: Value) -> (StatusCode, Value) {
        self.post(
            "/api/v1/execute",
            Some(&format!("Bearer {token}")),
            json!({"cmd": cmd, "data": data}).to_string(),
        )
        .await
    }

    /// `POST /api/bpm/cmd` with a bearer token; `body` carries `$type`.
    async fn bpm(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.post(
            "/api/bpm/cmd",
            Some(&format!("Bearer {token}")),
            body.to_string(),
        )
        .await
    }

    /// A command that succeeds: 200, `isSuccessful: true`, no errors. Answers `data`.
    async fn ok(&self, token: &str, cmd: &str, data: Value) -> Value {
        let (code, v) = self.exec(token, cmd, data.clone()).await;
        assert_eq!(code, StatusCode::OK, "{cmd} {data}: {v}");
        assert_eq!(v["isSuccessful"], true, "{cmd} {data}: {v}");
        assert!(v.get("errors").is_none(), "{v}");
        v["data"].clone()
    }

    /// A business failure: 200, `isSuccessful: false`, no field errors. Answers the message.
    async fn refused(&self, token: &str, cmd: &str, data: Value) -> String {
        let (code, v) = self.exec(token, cmd, data.clone()).await;
        assert_eq!(code, StatusCode::OK, "{cmd} {data}: {v}");
        assert_eq!(v["isSuccessful"], false, "{cmd} {data}: {v}");
        assert!(
            v.get("errors").is_none(),
            "a business failure names no field: {v}"
        );
        assert!(v.get("data").is_none(), "{v}");
        v["message"].as_str().unwrap().to_string()
    }

    /// A validation error: 200, `isSuccessful: false`, "Validation failed" and one field error.
    /// Answers `errors[0]` as (field, message).
    async fn invalid(&self, token: &str, cmd: &str, data: Value) -> (String, String) {
        let (code, v) = self.exec(token, cmd, data.clone()).await;
        assert_eq!(code, StatusCode::OK, "{cmd} {data}: {v}");
        assert_eq!(v["isSuccessful"], false, "{cmd} {data}: {v}");
        assert_eq!(v["message"], "Validation failed", "{v}");
        assert_eq!(v["errors"].as_array().map(Vec::len), Some(1), "{v}");
        (
            v["errors"][0]["field"].as_str().unwrap().to_string(),
            v["errors"][0]["message"].as_str().unwrap().to_string(),
        )
    }

    /// Asserts a validation error on `field` and answers its message.
    async fn field(&self, token: &str, cmd: &str, data: Value, field: &str) -> String {
        let (f, m) = self.invalid(token, cmd, data.clone()).await;
        assert_eq!(f, field, "{cmd} {data}: {m}");
        m
    }

    /// 403 with the execute envelope. Answers the message.
    async fn forbidden(&self, token: &str, cmd: &str, data: Value) -> String {
        let (code, v) = self.exec(token, cmd, data.clone()).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "{cmd} {data}: {v}");
        assert_eq!(v["isSuccessful"], false, "{v}");
        v["message"].as_str().unwrap().to_string()
    }

    async fn deploy(&self, xml: &str) -> Value {
        self.ok(
            ADMIN,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": xml}),
        )
        .await["processDefinitionId"]
            .clone()
    }

    async fn start(&self, token: &str, data: Value) -> (String, Value) {
        let d = self.ok(token, "StartProcessInstanceCommand", data).await;
        (d["instanceGuid"].as_str().unwrap().to_string(), d)
    }

    async fn instance(&self, guid: &str) -> Value {
        self.ok(
            ADMIN,
            "GetProcessInstanceByIdQuery",
            json!({"instanceGuid": guid}),
        )
        .await
    }

    async fn history(&self, guid: &str) -> Vec<String> {
        let h = self
            .ok(
                ADMIN,
                "GetInstanceHistoryQuery",
                json!({"instanceGuid": guid}),
            )
            .await;
        h.as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    }

    /// What a refused command must leave alone: the instance as the query shows it, and its history.
    async fn snapshot(&self, guid: &str) -> (Value, Vec<String>) {
        (self.instance(guid).await, self.history(guid).await)
    }

    async fn count(&self, cmd: &str, data: Value) -> i64 {
        self.ok(ADMIN, cmd, data).await["totalCount"]
            .as_i64()
            .unwrap()
    }
}

fn count_of(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

fn guids(items: &Value) -> BTreeSet<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["instanceGuid"].as_str().unwrap().to_string())
        .collect()
}

// ----- doors: 401, 400, the envelopes ---------------------------------------------------------

#[tokio::test]
async fn every_door_answers_401_without_a_live_bearer_token() {
    let s = server();
    let execute = json!({"cmd": "GetUserListQuery", "data": {}}).to_string();
    let typed = json!({"$type": "GetUserListQuery"}).to_string();
    for (path, body) in [
        ("/api/v1/execute", &execute),
        ("/api/core/cmd", &execute),
        ("/api/bpm/cmd", &typed),
    ] {
        for auth in [
            None,
            Some("Bearer wrong-token"),
            Some("Bearer "),
            Some("Basic admin-token"),
            Some("admin-token"),
        ] {
            let (code, v) = s.post(path, auth, body.clone()).await;
            assert_eq!(code, StatusCode::UNAUTHORIZED, "{path} with {auth:?}: {v}");
            // Each door answers in its own envelope.
            let flag = if path == "/api/bpm/cmd" {
                "success"
            } else {
                "isSuccessful"
            };
            assert_eq!(v[flag], false, "{v}");
            assert_eq!(v["message"], "missing or invalid bearer token");
        }
        // The scheme is case-insensitive; the live token passes on every door.
        let (code, _) = s.post(path, Some("bearer admin-token"), body.clone()).await;
        assert_eq!(code, StatusCode::OK, "{path}");
    }
    // A 401 runs nothing: a CreateUser with a wrong token creates no user.
    let create = json!({"cmd": "CreateUserCommand", "data": {"userName": "eve"}}).to_string();
    assert_eq!(
        s.post("/api/v1/execute", Some("Bearer nope"), create)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.count("GetUserListQuery", json!({})).await,
        3,
        "admin, bob, mary"
    );
}

#[tokio::test]
async fn bad_requests_unknown_commands_and_data_that_is_not_an_object() {
    let s = server();
    // Unknown command: 400 on both envelopes, naming the field `cmd`.
    for path in ["/api/v1/execute", "/api/core/cmd"] {
        let (code, v) = s
            .post(
                path,
                Some("Bearer admin-token"),
                json!({"cmd": "LaunchRocketCommand", "data": {}}).to_string(),
            )
            .await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(v["isSuccessful"], false);
        assert_eq!(v["errors"][0]["field"], "cmd");
        assert_eq!(
            v["errors"][0]["message"],
            "unknown command 'LaunchRocketCommand'"
        );
    }
    let (code, v) = s.bpm(ADMIN, json!({"$type": "LaunchRocketCommand"})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(v["success"], false);
    assert_eq!(
        v["errors"],
        json!(["cmd: unknown command 'LaunchRocketCommand'"])
    );
    // The name is checked before `data`: an unknown command with a bad `data` is still a 400.
    let (code, v) = s
        .post(
            "/api/v1/execute",
            Some("Bearer admin-token"),
            json!({"cmd": "Nope", "data": [1]}).to_string(),
        )
        .await;
    assert_eq!(
        (code, v["errors"][0]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("cmd")),
        "{v}"
    );
    // The token is checked before the body: a wrong token with a malformed body is a 401.
    let (code, _) = s
        .post("/api/v1/execute", Some("Bearer wrong"), "{}".into())
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, v) = s
        .post("/api/bpm/cmd", Some("Bearer wrong"), "not json".into())
        .await;
    assert_eq!(
        (code, v["success"].clone()),
        (StatusCode::UNAUTHORIZED, json!(false)),
        "{v}"
    );

    // Missing cmd / $type, a $type that is not a string, a body that is not an object, bad JSON.
    let (code, v) = s
        .post(
            "/api/v1/execute",
            Some("Bearer admin-token"),
            json!({"data": {}}).to_string(),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("\"cmd\""), "{v}");
    let (code, v) = s
        .post(
            "/api/v1/execute",
            Some("Bearer admin-token"),
            json!({"cmd": 7, "data": {}}).to_string(),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{v}");
    let (code, v) = s.bpm(ADMIN, json!({"userName": "x"})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().contains("$type"), "{v}");
    let (code, _) = s.bpm(ADMIN, json!({"$type": 5})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let (code, v) = s
        .post(
            "/api/v1/execute",
            Some("Bearer admin-token"),
            "[1, 2]".into(),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(v["message"], "the body must be a JSON object");
    let (code, v) = s
        .post(
            "/api/bpm/cmd",
            Some("Bearer admin-token"),
            "{\"$type\": ".into(),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("malformed JSON at line 1"),
        "{v}"
    );

    // `data` that is not an object: a field error on "data", HTTP 200, nothing runs.
    for data in [json!([1, 2]), json!("userName"), json!(null), json!(3)] {
        let m = s.field(ADMIN, "CreateUserCommand", data, "data").await;
        assert_eq!(m, "data must be a JSON object");
    }
    assert_eq!(s.count("GetUserListQuery", json!({})).await, 3);
    // A missing `data` is an empty object.
    let (code, v) = s
        .post(
            "/api/v1/execute",
            Some("Bearer admin-token"),
            json!({"cmd": "GetTeamListQuery"}).to_string(),
        )
        .await;
    assert_eq!(
        (code, v["isSuccessful"].clone()),
        (StatusCode::OK, json!(true)),
        "{v}"
    );
}

#[tokio::test]
async fn the_type_form_answers_success_data_message_and_string_errors() {
    let s = server();
    let keys = |v: &Value| {
        v.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    let envelope: BTreeSet<String> = ["success", "data", "message", "errors"]
        .iter()
        .map(|k| k.to_string())
        .collect();

    // Success: every key present, errors an empty list; the fields of the body are the data.
    let (code, v) = s
        .bpm(
            ADMIN,
            json!({"$type": "DeployProcessDefinitionCommand", "bpmnXml": loan(), "name": "Loans"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(keys(&v), envelope, "{v}");
    assert_eq!(
        (v["success"].clone(), v["errors"].clone()),
        (json!(true), json!([]))
    );
    assert_eq!(v["message"], "Process definition deployed");
    assert_eq!(v["data"]["processKey"], "LoanApprovalProcess");
    let def = v["data"]["processDefinitionId"].clone();
    let (_, v) = s
        .bpm(
            ADMIN,
            json!({"$type": "GetProcessDefinitionByIdQuery", "processDefinitionId": def}),
        )
        .await;
    assert_eq!(v["data"]["name"], "Loans");

    // Validation errors: "field: message" strings, data null, HTTP 200.
    let (code, v) = s
        .bpm(
            ADMIN,
            json!({"$type": "CreateUserCommand", "userName": "bob"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(keys(&v), envelope, "{v}");
    assert_eq!(v["success"], false);
    assert_eq!(v["data"], Value::Null);
    assert_eq!(v["message"], "Validation failed");
    assert_eq!(v["errors"], json!(["userName: user 'bob' already exists"]));
    let (_, v) = s.bpm(ADMIN, json!({"$type": "StartProcessInstanceCommand", "processDefinitionId": def, "variables": [1]})).await;
    assert_eq!(
        v["errors"],
        json!(["variables: variables must be a JSON object"])
    );
    let (_, v) = s
        .bpm(
            ADMIN,
            json!({"$type": "GetProcessInstanceListQuery", "pageSize": 0}),
        )
        .await;
    assert_eq!(
        v["errors"],
        json!(["pageSize: pageSize must be a whole number, 1 or more"])
    );

    // A business failure: success false, no errors, the reason in the message.
    let (code, v) = s
        .bpm(
            ADMIN,
            json!({"$type": "ReturnCallbackCommand", "correlationKey": "NOPE-1"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        (v["success"].clone(), v["errors"].clone(), v["data"].clone()),
        (json!(false), json!([]), Value::Null)
    );
    assert!(v["message"].as_str().unwrap().contains("NOPE-1"), "{v}");

    // 403 in the $type form keeps its envelope.
    let (code, v) = s
        .bpm(
            &s.bob,
            json!({"$type": "DeployProcessDefinitionCommand", "bpmnXml": loan()}),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert_eq!(keys(&v), envelope, "{v}");
    assert_eq!(v["success"], false);
    assert_eq!(
        s.count("GetProcessDefinitionListQuery", json!({})).await,
        1,
        "bob deployed nothing"
    );

    // A start and a form submission with the legacy `signalPayload`, all in the $type form.
    let (_, v) = s.bpm(&s.mary, json!({"$type": "StartProcessInstanceCommand", "processKey": "LoanApprovalProcess", "variables": {"applicant": "Ada"}})).await;
    assert_eq!(
        (v["success"].clone(), v["data"]["status"].clone()),
        (json!(true), json!("WAITING")),
        "{v}"
    );
    let guid = v["data"]["instanceGuid"].clone();
    let (code, v) = s
        .bpm(&s.mary, json!({"$type": "SignalProcessInstanceCommand", "instanceGuid": guid, "signalPayload": {"decision": "approve", "approvedAmount": 900}}))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["data"]["status"], "COMPLETED");
    assert_eq!(
        v["data"]["result"],
        json!({"approved": true, "approvedAmount": 900, "approvedBy": "mary"})
    );
}

// ----- definitions ----------------------------------------------------------------------------

#[tokio::test]
async fn deploy_and_definition_queries() {
    let s = server();
    let deployed = s
        .ok(
            ADMIN,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": loan(), "name": "Loans", "forms": {"loan-review-form": loan_form()}}),
        )
        .await;
    assert_eq!(deployed["processKey"], "LoanApprovalProcess");
    assert_eq!(deployed["version"], 1);
    assert!(deployed["warnings"].is_array(), "{deployed}");
    let v1 = deployed["processDefinitionId"].as_i64().unwrap();
    let again = s
        .ok(
            ADMIN,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": loan()}),
        )
        .await;
    assert_eq!(
        again["version"], 2,
        "a second deploy of a key is its next version"
    );
    let v2 = again["processDefinitionId"].as_i64().unwrap();
    assert_ne!(v1, v2);
    let other = s.deploy(&callback_wait()).await;

    // By id: the XML and forms as deployed.
    let d = s
        .ok(
            ADMIN,
            "GetProcessDefinitionByIdQuery",
            json!({"processDefinitionId": v1}),
        )
        .await;
    assert_eq!(d["processDefinitionId"], v1);
    assert_eq!(d["name"], "Loans");
    assert_eq!(d["version"], 1);
    assert_eq!(d["bpmnXml"], loan());
    assert_eq!(d["forms"]["loan-review-form"], loan_form());
    assert!(
        d["deployedAt"]
            .as_str()
            .unwrap()
            .starts_with("2026-01-01T00:00:00"),
        "{d}"
    );
    // By key: the newest version.
    let d = s
        .ok(
            ADMIN,
            "GetProcessDefinitionByIdQuery",
            json!({"processKey": "LoanApprovalProcess"}),
        )
        .await;
    assert_eq!(
        (d["processDefinitionId"].as_i64(), d["version"].clone()),
        (Some(v2), json!(2))
    );
    assert_eq!(d["forms"], json!({}));
    // Any user may read definitions.
    assert_eq!(
        s.ok(
            &s.bob,
            "GetProcessDefinitionByIdQuery",
            json!({"processDefinitionId": v1})
        )
        .await["processKey"],
        "LoanApprovalProcess"
    );
    let m = s
        .field(
            ADMIN,
            "GetProcessDefinitionByIdQuery",
            json!({"processDefinitionId": 999}),
            "processDefinitionId",
        )
        .await;
    assert_eq!(m, "no process definition 999");
    let m = s
        .field(
            ADMIN,
            "GetProcessDefinitionByIdQuery",
            json!({"processDefinitionId": "one"}),
            "processDefinitionId",
        )
        .await;
    assert!(m.contains("integer"), "{m}");
    s.field(
        ADMIN,
        "GetProcessDefinitionByIdQuery",
        json!({}),
        "processDefinitionId",
    )
    .await;
    s.field(
        ADMIN,
        "GetProcessDefinitionByIdQuery",
        json!({"processKey": "Nope"}),
        "processKey",
    )
    .await;
    s.field(
        ADMIN,
        "GetProcessDefinitionByIdQuery",
        json!({"processKey": 12}),
        "processKey",
    )
    .await;

    // The list: newest first, without the XML; paging and a key filter.
    let list = s
        .ok(ADMIN, "GetProcessDefinitionListQuery", json!({}))
        .await;
    assert_eq!(list["totalCount"], 3);
    let ids: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["processDefinitionId"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![other.as_i64().unwrap(), v2, v1]);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i.get("bpmnXml").is_none()),
        "{list}"
    );
    let page = s
        .ok(
            ADMIN,
            "GetProcessDefinitionListQuery",
            json!({"pageNumber": 2, "pageSize": 2}),
        )
        .await;
    assert_eq!(page["totalCount"], 3);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["processDefinitionId"], v1);
    let keyed = s
        .ok(
            ADMIN,
            "GetProcessDefinitionListQuery",
            json!({"processKey": "CallbackFlow"}),
        )
        .await;
    assert_eq!(
        (
            keyed["totalCount"].clone(),
            keyed["items"][0]["processDefinitionId"].clone()
        ),
        (json!(1), other)
    );
    let m = s
        .field(
            ADMIN,
            "GetProcessDefinitionListQuery",
            json!({"pageSize": 0}),
            "pageSize",
        )
        .await;
    assert_eq!(m, "pageSize must be a whole number, 1 or more");
    s.field(
        ADMIN,
        "GetProcessDefinitionListQuery",
        json!({"pageNumber": 0}),
        "pageNumber",
    )
    .await;
    s.field(
        ADMIN,
        "GetProcessDefinitionListQuery",
        json!({"pageNumber": "2"}),
        "pageNumber",
    )
    .await;
    s.field(
        ADMIN,
        "GetProcessDefinitionListQuery",
        json!({"processKey": ["a"]}),
        "processKey",
    )
    .await;
}

#[tokio::test]
async fn deploy_refusals_store_nothing() {
    let s = server();
    let m = s
        .field(
            ADMIN,
            "DeployProcessDefinitionCommand",
            json!({}),
            "bpmnXml",
        )
        .await;
    assert_eq!(m, "bpmnXml is required");
    s.field(
        ADMIN,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": "   "}),
        "bpmnXml",
    )
    .await;
    let m = s
        .field(
            ADMIN,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": 42}),
            "bpmnXml",
        )
        .await;
    assert_eq!(m, "bpmnXml must be a string");

    // Malformed XML: the message names the line and column.
    let broken = format!("<?xml version=\"1.0\"?>\n<bpmn:definitions {NS} id=\"d\">\n  <bpmn:process id=\"p\" isExecutable=\"true\">\n    <bpmn:startEvent id=\"s\">\n  </bpmn:process>\n</bpmn:definitions>");
    let m = s
        .field(
            ADMIN,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": broken}),
            "bpmnXml",
        )
        .await;
    let (line, rest) = m
        .strip_prefix("line ")
        .and_then(|r| r.split_once(", column "))
        .unwrap_or_else(|| panic!("no line/column in {m:?}"));
    let line: u32 = line.parse().unwrap_or_else(|_| panic!("{m:?}"));
    let column: u32 = rest
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{m:?}"));
    assert!(
        (4..=5).contains(&line) && column >= 1,
        "the unclosed startEvent is on line 4, closed wrongly on line 5: {m}"
    );

    // Well-formed XML that is not a valid model: still bpmnXml, with line and column.
    let dangling = model(
        "Bad",
        "",
        &format!(
            r#"<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>{}"#,
            flow("f1", "s", "Missing")
        ),
    );
    let m = s
        .field(
            ADMIN,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": dangling}),
            "bpmnXml",
        )
        .await;
    assert!(m.starts_with("line ") && m.contains(", column "), "{m}");

    // forms must be an object mapping form keys to form JSON.
    for forms in [json!("loan-review-form"), json!([loan_form()]), json!(1)] {
        let m = s
            .field(
                ADMIN,
                "DeployProcessDefinitionCommand",
                json!({"bpmnXml": loan(), "forms": forms}),
                "forms",
            )
            .await;
        assert_eq!(m, "forms must map form keys to form JSON");
    }
    s.field(
        ADMIN,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": loan(), "name": 5}),
        "name",
    )
    .await;

    // A non-administrator may not deploy, even a valid model (and is told before any validation).
    let m = s
        .forbidden(
            &s.bob,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": loan()}),
        )
        .await;
    assert!(
        m.contains("DeployProcessDefinitionCommand") && m.contains("bob"),
        "{m}"
    );
    s.forbidden(&s.mary, "DeployProcessDefinitionCommand", json!({}))
        .await;

    assert_eq!(
        s.count("GetProcessDefinitionListQuery", json!({})).await,
        0,
        "nothing was stored by the refused deploys"
    );
    s.field(
        ADMIN,
        "StartProcessInstanceCommand",
        json!({"processKey": "LoanApprovalProcess"}),
        "processKey",
    )
    .await;
}

// ----- instances ------------------------------------------------------------------------------

#[tokio::test]
async fn start_by_id_or_key_and_its_validation_errors() {
    let s = server();
    let v1 = s.deploy(&loan()).await;
    let v2 = s.deploy(&loan()).await;

    let (g1, d) = s
        .start(ADMIN, json!({"processDefinitionId": v1, "variables": {"applicant": "Ada", "requestedAmount": 500}, "businessKey": "LOAN-1", "correlationId": "C-1"}))
        .await;
    assert_eq!(d["status"], "WAITING");
    assert_eq!(d["waiting"].as_array().unwrap().len(), 1);
    assert_eq!(d["waiting"][0]["taskId"], "Task_ManagerReview");
    assert_eq!(d["waiting"][0]["taskType"], "userTask");
    assert_eq!(d["waiting"][0]["responsibleTeam"], "MANAGERS");
    let i = s.instance(&g1).await;
    assert_eq!(i["processDefinitionId"], v1);
    assert_eq!(i["processKey"], "LoanApprovalProcess");
    assert_eq!(
        (i["businessKey"].clone(), i["correlationId"].clone()),
        (json!("LOAN-1"), json!("C-1"))
    );
    assert_eq!(i["variables"]["applicant"], "Ada");
    assert_eq!(i["variables"]["requestedAmount"], 500);
    assert_eq!(i["status"], "WAITING");
    assert_eq!(i["endedAt"], Value::Null);
    assert!(
        i["startedAt"]
            .as_str()
            .unwrap()
            .starts_with("2026-01-01T00:00:00"),
        "{i}"
    );

    // By key: the newest version. Non-administrators may start.
    let (g2, _) = s
        .start(
            &s.bob,
            json!({"processKey": "LoanApprovalProcess", "context": {"applicant": "Bo"}}),
        )
        .await;
    let i = s.instance(&g2).await;
    assert_eq!(i["processDefinitionId"], v2);
    assert_eq!(
        i["variables"]["applicant"], "Bo",
        "`context` is accepted as the variables"
    );
    assert_eq!(i["businessKey"], Value::Null);

    // Refusals name their field and start nothing.
    let m = s
        .field(
            ADMIN,
            "StartProcessInstanceCommand",
            json!({"processDefinitionId": 4242}),
            "processDefinitionId",
        )
        .await;
    assert_eq!(m, "no process definition 4242");
    let m = s
        .field(
            ADMIN,
            "StartProcessInstanceCommand",
            json!({"processKey": "NoSuchProcess"}),
            "processKey",
        )
        .await;
    assert!(m.contains("NoSuchProcess"), "{m}");
    s.field(
        ADMIN,
        "StartProcessInstanceCommand",
        json!({"processKey": 1}),
        "processKey",
    )
    .await;
    s.field(
        ADMIN,
        "StartProcessInstanceCommand",
        json!({"processDefinitionId": "v1"}),
        "processDefinitionId",
    )
    .await;
    let m = s
        .field(
            ADMIN,
            "StartProcessInstanceCommand",
            json!({}),
            "processDefinitionId",
        )
        .await;
    assert_eq!(m, "processDefinitionId or processKey is required");
    for vars in [json!([1, 2]), json!("applicant=Ada"), json!(5)] {
        let m = s
            .field(
                ADMIN,
                "StartProcessInstanceCommand",
                json!({"processDefinitionId": v1, "variables": vars}),
                "variables",
            )
            .await;
        assert_eq!(m, "variables must be a JSON object");
    }
    for bk in [json!(17), json!({"k": 1}), json!(["LOAN-2"])] {
        let m = s
            .field(
                ADMIN,
                "StartProcessInstanceCommand",
                json!({"processDefinitionId": v1, "businessKey": bk}),
                "businessKey",
            )
            .await;
        assert_eq!(m, "businessKey must be a string");
    }
    s.field(
        ADMIN,
        "StartProcessInstanceCommand",
        json!({"processDefinitionId": v1, "correlationId": 3}),
        "correlationId",
    )
    .await;
    assert_eq!(
        s.count("GetProcessInstanceListQuery", json!({})).await,
        2,
        "no refused start created an instance"
    );
}

#[tokio::test]
async fn signal_completes_a_form_task_with_callback_data_or_the_legacy_signal_payload() {
    let s = server();
    let def = s.deploy(&loan()).await;

    // callbackData, by a member of the responsible team.
    let (a, _) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": def, "variables": {"applicant": "Ada"}}),
        )
        .await;
    let d = s
        .ok(&s.mary, "SignalProcessInstanceCommand", json!({"instanceGuid": a, "taskId": "Task_ManagerReview", "callbackData": {"decision": "approve", "approvedAmount": 1000}}))
        .await;
    assert_eq!(d["instanceGuid"], a.as_str());
    assert_eq!(d["status"], "COMPLETED");
    assert_eq!(d["taskType"], "userTask");
    assert_eq!(
        d["result"],
        json!({"approved": true, "approvedAmount": 1000, "approvedBy": "mary"})
    );
    assert_eq!(d["waiting"], json!([]));
    let i = s.instance(&a).await;
    assert_eq!(i["variables"]["lastUserTaskResult"]["approved"], true);
    assert!(i["endedAt"].is_string());

    // The legacy field name does the same.
    let (b, _) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": def, "variables": {"applicant": "Bo"}}),
        )
        .await;
    let d = s
        .ok(
            &s.mary,
            "SignalProcessInstanceCommand",
            json!({"instanceGuid": b, "signalPayload": {"decision": "decline"}}),
        )
        .await;
    assert_eq!(d["status"], "COMPLETED");
    assert_eq!(d["result"]["approved"], false);
    assert_eq!(d["result"]["approvedBy"], "mary");
    assert_eq!(
        s.instance(&b).await["variables"]["lastUserTaskResult"]["approved"],
        false
    );
    // When both are sent, callbackData wins.
    let (c, _) = s.start(ADMIN, json!({"processDefinitionId": def})).await;
    let d = s
        .ok(&s.mary, "SignalProcessInstanceCommand", json!({"instanceGuid": c, "callbackData": {"decision": "decline"}, "signalPayload": {"decision": "approve", "approvedAmount": 1}}))
        .await;
    assert_eq!(d["result"]["approved"], false, "{d}");

    // Refusals leave the waiting instance exactly as it was.
    let (w, _) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": def, "variables": {"applicant": "Wu"}}),
        )
        .await;
    let before = s.snapshot(&w).await;
    assert_eq!(before.0["waiting"][0]["taskId"], "Task_ManagerReview");

    // 403: bob is not in MANAGERS.
    let m = s.forbidden(&s.bob, "SignalProcessInstanceCommand", json!({"instanceGuid": w, "callbackData": {"decision": "approve", "approvedAmount": 5}})).await;
    assert!(
        m.contains("bob") && m.contains("MANAGERS") && m.contains("Task_ManagerReview"),
        "{m}"
    );
    assert_eq!(
        s.snapshot(&w).await,
        before,
        "a forbidden submission changes nothing"
    );
    // A task that is not waiting: a business failure, not a field error.
    let m = s
        .refused(
            &s.mary,
            "SignalProcessInstanceCommand",
            json!({"instanceGuid": w, "taskId": "Task_Nope", "callbackData": {}}),
        )
        .await;
    assert_eq!(
        m,
        "task 'Task_Nope' is not waiting (waiting: Task_ManagerReview)"
    );
    assert_eq!(s.snapshot(&w).await, before);
    // The ServerScript rejects the submission.
    let m = s
        .refused(
            &s.mary,
            "SignalProcessInstanceCommand",
            json!({"instanceGuid": w, "callbackData": {"decision": "approve"}}),
        )
        .await;
    assert!(m.contains("Approved amount is required"), "{m}");
    assert_eq!(s.snapshot(&w).await, before);
    // Field errors.
    let m = s
        .field(
            ADMIN,
            "SignalProcessInstanceCommand",
            json!({"instanceGuid": "no-such-guid", "callbackData": {}}),
            "instanceGuid",
        )
        .await;
    assert_eq!(m, "no process instance 'no-such-guid'");
    s.field(
        ADMIN,
        "SignalProcessInstanceCommand",
        json!({"callbackData": {}}),
        "instanceGuid",
    )
    .await;
    s.field(
        ADMIN,
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": 12}),
        "instanceGuid",
    )
    .await;
    let m = s
        .field(
            &s.mary,
            "SignalProcessInstanceCommand",
            json!({"instanceGuid": w, "callbackData": "approve"}),
            "callbackData",
        )
        .await;
    assert!(m.starts_with("callbackData must be a JSON object"), "{m}");
    let m = s
        .field(
            &s.mary,
            "SignalProcessInstanceCommand",
            json!({"instanceGuid": w, "signalPayload": [1]}),
            "signalPayload",
        )
        .await;
    assert!(m.starts_with("signalPayload must be a JSON object"), "{m}");
    s.field(
        &s.mary,
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": w, "taskId": 3, "callbackData": {}}),
        "taskId",
    )
    .await;
    assert_eq!(
        s.snapshot(&w).await,
        before,
        "no refused signal changed the instance"
    );

    // An ended instance takes no more submissions.
    let m = s.refused(&s.mary, "SignalProcessInstanceCommand", json!({"instanceGuid": a, "callbackData": {"decision": "approve", "approvedAmount": 1}})).await;
    assert_eq!(m, "instance is COMPLETED, not waiting");
}

#[tokio::test]
async fn cancel_retry_and_incidents() {
    let s = server();
    let calc = s.deploy(&failing_script()).await;
    let loan_def = s.deploy(&loan()).await;

    // A failing script task: FAILED with an open incident.
    let (f, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": calc, "variables": {"amount": 500}}),
        )
        .await;
    assert_eq!(d["status"], "FAILED");
    let i = s.instance(&f).await;
    assert_eq!(i["incidents"][0]["elementId"], "Calc");
    let open = s.ok(ADMIN, "GetIncidentListQuery", json!({})).await;
    assert_eq!(open["totalCount"], 1);
    assert_eq!(open["items"][0]["instanceGuid"], f.as_str());
    assert_eq!(open["items"][0]["elementId"], "Calc");
    assert!(
        open["items"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too large"),
        "{open}"
    );
    assert_eq!(open["items"][0]["resolvedAt"], Value::Null);
    s.field(
        ADMIN,
        "GetIncidentListQuery",
        json!({"openOnly": "yes"}),
        "openOnly",
    )
    .await;
    assert_eq!(
        s.ok(&s.bob, "GetIncidentListQuery", json!({"openOnly": true}))
            .await["totalCount"],
        1
    );

    // Field errors on retry change nothing.
    let before = s.snapshot(&f).await;
    let m = s
        .field(
            ADMIN,
            "RetryIncidentCommand",
            json!({"instanceGuid": f, "variables": "amount=5"}),
            "variables",
        )
        .await;
    assert_eq!(m, "variables must be a JSON object");
    s.field(
        ADMIN,
        "RetryIncidentCommand",
        json!({"instanceGuid": "nope"}),
        "instanceGuid",
    )
    .await;
    s.field(ADMIN, "RetryIncidentCommand", json!({}), "instanceGuid")
        .await;
    assert_eq!(s.snapshot(&f).await, before);
    // Retried without a fix: it fails again, one incident still open.
    let d = s
        .ok(ADMIN, "RetryIncidentCommand", json!({"instanceGuid": f}))
        .await;
    assert_eq!(d["status"], "FAILED");
    assert_eq!(d["incidents"].as_array().unwrap().len(), 1);
    assert_eq!(d["incidents"][0]["elementId"], "Calc");
    let open = s.ok(ADMIN, "GetIncidentListQuery", json!({})).await;
    assert!(
        open["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["instanceGuid"] == f.as_str() && i["elementId"] == "Calc"),
        "{open}"
    );
    assert_eq!(
        open["totalCount"], 1,
        "a failed retry keeps the one open incident: {open}"
    );
    // Retried with a fix: completes, the incident is resolved.
    let d = s
        .ok(
            ADMIN,
            "RetryIncidentCommand",
            json!({"instanceGuid": f, "variables": {"amount": 7}}),
        )
        .await;
    assert_eq!(
        (d["status"].clone(), d["incidents"].clone()),
        (json!("COMPLETED"), json!([]))
    );
    assert_eq!(s.instance(&f).await["variables"]["total"], 14);
    assert_eq!(s.count("GetIncidentListQuery", json!({})).await, 0);
    let all = s
        .ok(ADMIN, "GetIncidentListQuery", json!({"openOnly": false}))
        .await;
    assert_eq!(all["totalCount"], 1, "{all}");
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["resolvedAt"].is_string()),
        "{all}"
    );
    // Nothing to retry any more.
    let m = s
        .refused(ADMIN, "RetryIncidentCommand", json!({"instanceGuid": f}))
        .await;
    assert!(m.contains("COMPLETED"), "{m}");
    let (w, _) = s
        .start(ADMIN, json!({"processDefinitionId": loan_def}))
        .await;
    let m = s
        .refused(ADMIN, "RetryIncidentCommand", json!({"instanceGuid": w}))
        .await;
    assert_eq!(m, "the instance has no open incident to retry");

    // Cancel a waiting instance: CANCELLED, ended, out of the inbox.
    assert_eq!(s.count("GetTaskListQuery", json!({})).await, 1);
    let before = s.snapshot(&w).await;
    s.field(
        ADMIN,
        "CancelProcessInstanceCommand",
        json!({"instanceGuid": w, "reason": 5}),
        "reason",
    )
    .await;
    s.field(
        ADMIN,
        "CancelProcessInstanceCommand",
        json!({}),
        "instanceGuid",
    )
    .await;
    let m = s
        .field(
            ADMIN,
            "CancelProcessInstanceCommand",
            json!({"instanceGuid": "gone"}),
            "instanceGuid",
        )
        .await;
    assert_eq!(m, "no process instance 'gone'");
    assert_eq!(s.snapshot(&w).await, before);
    let d = s
        .ok(
            &s.bob,
            "CancelProcessInstanceCommand",
            json!({"instanceGuid": w, "reason": "duplicate application"}),
        )
        .await;
    assert_eq!(d, json!({"instanceGuid": w, "status": "CANCELLED"}));
    let i = s.instance(&w).await;
    assert_eq!(
        (i["status"].clone(), i["waiting"].clone()),
        (json!("CANCELLED"), json!([]))
    );
    assert!(i["endedAt"].is_string());
    assert_eq!(
        s.count("GetTaskListQuery", json!({})).await,
        0,
        "the cancelled task left the inbox"
    );
    assert_eq!(
        s.history(&w).await.last().map(String::as_str),
        Some("ended")
    );
    // Twice: refused, still cancelled once.
    let m = s
        .refused(
            ADMIN,
            "CancelProcessInstanceCommand",
            json!({"instanceGuid": w}),
        )
        .await;
    assert_eq!(m, "instance is CANCELLED, not waiting");
    assert_eq!(count_of(&s.history(&w).await, "ended"), 1);
    let m = s
        .refused(
            &s.mary,
            "SignalProcessInstanceCommand",
            json!({"instanceGuid": w, "callbackData": {"decision": "decline"}}),
        )
        .await;
    assert_eq!(m, "instance is CANCELLED, not waiting");
    assert_eq!(
        s.count(
            "GetProcessInstanceListQuery",
            json!({"status": "CANCELLED"})
        )
        .await,
        1
    );
}

#[tokio::test]
async fn instance_queries_list_and_history() {
    let s = server();
    let loan_def = s.deploy(&loan()).await;
    let calc = s.deploy(&failing_script()).await;
    let (w1, _) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": loan_def, "businessKey": "B-1"}),
        )
        .await;
    let (w2, _) = s
        .start(ADMIN, json!({"processDefinitionId": loan_def}))
        .await;
    let (done, _) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": calc, "variables": {"amount": 1}}),
        )
        .await;
    let (failed, _) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": calc, "variables": {"amount": 101}}),
        )
        .await;

    // GetProcessInstanceByIdQuery.
    let i = s
        .ok(
            &s.bob,
            "GetProcessInstanceByIdQuery",
            json!({"instanceGuid": done}),
        )
        .await;
    assert_eq!(i["status"], "COMPLETED");
    assert_eq!(i["processKey"], "Calc");
    assert_eq!(i["processDefinitionId"], calc);
    assert_eq!(i["variables"], json!({"amount": 1, "total": 2}));
    assert_eq!(
        (i["waiting"].clone(), i["incidents"].clone()),
        (json!([]), json!([]))
    );
    let m = s
        .field(
            ADMIN,
            "GetProcessInstanceByIdQuery",
            json!({"instanceGuid": "0000"}),
            "instanceGuid",
        )
        .await;
    assert_eq!(m, "no process instance '0000'");
    let m = s
        .field(
            ADMIN,
            "GetProcessInstanceByIdQuery",
            json!({}),
            "instanceGuid",
        )
        .await;
    assert_eq!(m, "instanceGuid is required");

    // GetProcessInstanceListQuery: by status, by key, paged.
    let all = s.ok(ADMIN, "GetProcessInstanceListQuery", json!({})).await;
    assert_eq!(all["totalCount"], 4);
    assert_eq!(
        guids(&all["items"]),
        [&w1, &w2, &done, &failed].into_iter().cloned().collect()
    );
    let waiting = s
        .ok(
            ADMIN,
            "GetProcessInstanceListQuery",
            json!({"status": "WAITING"}),
        )
        .await;
    assert_eq!(
        guids(&waiting["items"]),
        [w1.clone(), w2.clone()].into_iter().collect()
    );
    let failed_list = s
        .ok(
            ADMIN,
            "GetProcessInstanceListQuery",
            json!({"status": "FAILED"}),
        )
        .await;
    assert_eq!(
        guids(&failed_list["items"]),
        [failed.clone()].into_iter().collect()
    );
    let calc_list = s
        .ok(
            ADMIN,
            "GetProcessInstanceListQuery",
            json!({"processKey": "Calc"}),
        )
        .await;
    assert_eq!(
        guids(&calc_list["items"]),
        [done.clone(), failed.clone()].into_iter().collect()
    );
    let one = s
        .ok(
            ADMIN,
            "GetProcessInstanceListQuery",
            json!({"pageSize": 1, "pageNumber": 2}),
        )
        .await;
    assert_eq!(
        (
            one["totalCount"].clone(),
            one["items"].as_array().unwrap().len()
        ),
        (json!(4), 1)
    );
    let b1 = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instanceGuid"] == w1.as_str())
        .unwrap();
    assert_eq!(b1["businessKey"], "B-1");
    assert!(b1.get("state").is_none(), "the engine state is not listed");
    let m = s
        .field(
            ADMIN,
            "GetProcessInstanceListQuery",
            json!({"status": "DONE"}),
            "status",
        )
        .await;
    assert_eq!(
        m,
        "status must be RUNNING, WAITING, COMPLETED, FAILED or CANCELLED, not 'DONE'"
    );
    s.field(
        ADMIN,
        "GetProcessInstanceListQuery",
        json!({"status": "waiting"}),
        "status",
    )
    .await;
    s.field(
        ADMIN,
        "GetProcessInstanceListQuery",
        json!({"status": 1}),
        "status",
    )
    .await;
    s.field(
        ADMIN,
        "GetProcessInstanceListQuery",
        json!({"pageSize": -3}),
        "pageSize",
    )
    .await;
    s.field(
        ADMIN,
        "GetProcessInstanceListQuery",
        json!({"processKey": 9}),
        "processKey",
    )
    .await;

    // GetInstanceHistoryQuery: append-only, in order, with the element of each event.
    let h = s
        .ok(
            &s.mary,
            "GetInstanceHistoryQuery",
            json!({"instanceGuid": failed}),
        )
        .await;
    let items = h.as_array().unwrap();
    let events: Vec<(&str, &str)> = items
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["elementId"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("variablesChanged", "-"),
            ("elementEntered", "s"),
            ("elementCompleted", "s"),
            ("elementEntered", "Calc"),
            ("incidentRaised", "Calc")
        ],
        "{h}"
    );
    let vars: Value = serde_json::from_str(items[0]["data"].as_str().unwrap()).unwrap();
    assert_eq!(vars["changed"]["amount"], 101, "{vars}");
    let h = s.history(&w1).await;
    assert_eq!(
        h.iter()
            .filter(|k| !k.starts_with("element") && *k != "variablesChanged")
            .collect::<Vec<_>>(),
        ["taskWaiting"]
    );
    s.ok(
        &s.mary,
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": w1, "callbackData": {"decision": "decline"}}),
    )
    .await;
    let h = s
        .ok(
            ADMIN,
            "GetInstanceHistoryQuery",
            json!({"instanceGuid": w1}),
        )
        .await;
    let kinds: Vec<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"taskWaiting") && kinds.contains(&"elementCompleted"),
        "{kinds:?}"
    );
    assert_eq!(kinds.last(), Some(&"ended"));
    let seqs: Vec<i64> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let m = s
        .field(
            ADMIN,
            "GetInstanceHistoryQuery",
            json!({"instanceGuid": "missing"}),
            "instanceGuid",
        )
        .await;
    assert_eq!(m, "no process instance 'missing'");
    s.field(ADMIN, "GetInstanceHistoryQuery", json!({}), "instanceGuid")
        .await;
}

// ----- forms and the inbox --------------------------------------------------------------------

#[tokio::test]
async fn task_form_and_the_inbox_per_user() {
    let s = server();
    let loan_def = s
        .ok(
            ADMIN,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": loan(), "forms": {"loan-review-form": loan_form()}}),
        )
        .await["processDefinitionId"]
        .clone();
    let chores = s.deploy(&chores()).await;
    let (l, _) = s.start(ADMIN, json!({"processDefinitionId": loan_def, "variables": {"applicant": "Ada"}, "correlationId": "APP-1"})).await;
    let (c, d) = s.start(ADMIN, json!({"processDefinitionId": chores})).await;
    assert_eq!(d["waiting"].as_array().unwrap().len(), 3, "{d}");

    // GetTaskFormQuery by guid or by correlation id.
    let f = s
        .ok(&s.mary, "GetTaskFormQuery", json!({"instanceGuid": l}))
        .await;
    assert_eq!(f["status"], "SUCCESS");
    assert_eq!(
        (f["taskType"].clone(), f["taskId"].clone()),
        (json!("userTask"), json!("Task_ManagerReview"))
    );
    assert_eq!(f["formKey"], "loan-review-form");
    assert_eq!(f["formJson"], loan_form());
    assert_eq!(f["context"]["applicant"], "Ada");
    assert_eq!(f["metadata"]["instanceGuid"], l.as_str());
    assert_eq!(f["metadata"]["taskName"], "Manager Review");
    assert_eq!(f["metadata"]["responsibleTeam"], "MANAGERS");
    let by_corr = s
        .ok(ADMIN, "GetTaskFormQuery", json!({"correlationId": "APP-1"}))
        .await;
    assert_eq!(by_corr, f);
    // Three tasks wait in Chores: taskId picks one; a form without a deployed form JSON is null.
    let f = s
        .ok(
            ADMIN,
            "GetTaskFormQuery",
            json!({"instanceGuid": c, "taskId": "ForTellers"}),
        )
        .await;
    assert_eq!(
        (f["taskId"].clone(), f["formJson"].clone()),
        (json!("ForTellers"), Value::Null)
    );
    assert_eq!(f["metadata"]["responsibleTeam"], "TELLERS");
    let m = s
        .refused(
            ADMIN,
            "GetTaskFormQuery",
            json!({"instanceGuid": l, "taskId": "Nope"}),
        )
        .await;
    assert_eq!(m, format!("instance {l} has no waiting form task 'Nope'"));
    let m = s
        .field(ADMIN, "GetTaskFormQuery", json!({}), "instanceGuid")
        .await;
    assert_eq!(m, "instanceGuid or correlationId is required");
    s.field(
        ADMIN,
        "GetTaskFormQuery",
        json!({"instanceGuid": "xyz"}),
        "instanceGuid",
    )
    .await;
    s.field(
        ADMIN,
        "GetTaskFormQuery",
        json!({"correlationId": "APP-404"}),
        "correlationId",
    )
    .await;
    s.field(
        ADMIN,
        "GetTaskFormQuery",
        json!({"instanceGuid": l, "taskId": 1}),
        "taskId",
    )
    .await;

    // GetTaskListQuery: the administrator sees everything, a user only their own and their teams'.
    let task_ids = |v: &Value| -> BTreeSet<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["taskId"].as_str().unwrap().to_string())
            .collect()
    };
    let set = |ids: &[&str]| -> BTreeSet<String> { ids.iter().map(|s| s.to_string()).collect() };
    let all = s.ok(ADMIN, "GetTaskListQuery", json!({})).await;
    assert_eq!(all["totalCount"], 4);
    assert_eq!(
        task_ids(&all),
        set(&["Task_ManagerReview", "Open", "ForBob", "ForTellers"])
    );
    let bob = s.ok(&s.bob, "GetTaskListQuery", json!({})).await;
    assert_eq!(
        (bob["totalCount"].clone(), task_ids(&bob)),
        (json!(3), set(&["Open", "ForBob", "ForTellers"]))
    );
    let mary = s.ok(&s.mary, "GetTaskListQuery", json!({})).await;
    assert_eq!(
        (mary["totalCount"].clone(), task_ids(&mary)),
        (json!(2), set(&["Task_ManagerReview", "Open"]))
    );
    let row = mary["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["taskId"] == "Task_ManagerReview")
        .unwrap();
    assert_eq!(
        (row["instanceGuid"].as_str(), row["formKey"].as_str()),
        (Some(l.as_str()), Some("loan-review-form"))
    );
    // A user cannot look into someone else's inbox; the administrator can.
    let peek = s
        .ok(
            &s.bob,
            "GetTaskListQuery",
            json!({"userName": "mary", "team": "MANAGERS"}),
        )
        .await;
    assert_eq!(task_ids(&peek), set(&["Open", "ForBob", "ForTellers"]));
    let as_mary = s
        .ok(ADMIN, "GetTaskListQuery", json!({"userName": "mary"}))
        .await;
    assert_eq!(task_ids(&as_mary), set(&["Task_ManagerReview", "Open"]));
    let tellers = s
        .ok(ADMIN, "GetTaskListQuery", json!({"team": "TELLERS"}))
        .await;
    assert_eq!(task_ids(&tellers), set(&["Open", "ForTellers"]));
    let paged = s
        .ok(&s.bob, "GetTaskListQuery", json!({"pageSize": 2}))
        .await;
    assert_eq!(
        (
            paged["totalCount"].clone(),
            paged["items"].as_array().unwrap().len()
        ),
        (json!(3), 2)
    );
    s.field(
        &s.bob,
        "GetTaskListQuery",
        json!({"pageSize": 0}),
        "pageSize",
    )
    .await;
    s.field(ADMIN, "GetTaskListQuery", json!({"team": 7}), "team")
        .await;

    // ResponsibleUser: mary may not complete bob's task, bob may; it leaves the inbox.
    let before = s.snapshot(&c).await;
    let m = s
        .forbidden(
            &s.mary,
            "SignalProcessInstanceCommand",
            json!({"instanceGuid": c, "taskId": "ForBob", "callbackData": {}}),
        )
        .await;
    assert!(m.contains("mary") && m.contains("ForBob"), "{m}");
    assert_eq!(s.snapshot(&c).await, before);
    let d = s
        .ok(
            &s.bob,
            "SignalProcessInstanceCommand",
            json!({"instanceGuid": c, "taskId": "ForBob", "callbackData": {"done": true}}),
        )
        .await;
    assert_eq!(d["status"], "WAITING");
    assert_eq!(d["waiting"].as_array().unwrap().len(), 2);
    assert_eq!(
        task_ids(&s.ok(&s.bob, "GetTaskListQuery", json!({})).await),
        set(&["Open", "ForTellers"])
    );
    // Several tasks wait and no taskId: a business failure, nothing changes.
    let before = s.snapshot(&c).await;
    let m = s
        .refused(
            ADMIN,
            "SignalProcessInstanceCommand",
            json!({"instanceGuid": c, "callbackData": {}}),
        )
        .await;
    assert!(m.contains("say which one with taskId"), "{m}");
    assert_eq!(s.snapshot(&c).await, before);
}

// ----- correlation: callbacks, messages, signals ----------------------------------------------

#[tokio::test]
async fn return_callback_resumes_once_and_buffers_only_when_asked() {
    let s = server();
    let pay = s
        .ok(
            ADMIN,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": payment()}),
        )
        .await["processDefinitionId"]
        .clone();

    // The payment template: the webhook receive task registers its key.
    let (p, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": pay, "variables": {"paymentId": "PAY-1", "amount": 300}}),
        )
        .await;
    assert_eq!(d["waiting"][0]["taskId"], "Task_WaitForPayment");
    let rows = s
        .ok(
            ADMIN,
            "GetCallbackRegistryListQuery",
            json!({"status": "Pending"}),
        )
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["ParentInstanceId"], p.as_str());
    assert_eq!(rows[0]["CallbackTaskId"], "Task_WaitForPayment");
    assert_eq!(rows[0]["CorrelationKey"], "PAY-1");
    assert_eq!(rows[0]["MessageRef"], "PaymentProcessed");
    assert_eq!(rows[0]["TimeoutMinutes"], 1440.0);
    let d = s
        .ok(
            &s.bob,
            "ReturnCallbackCommand",
            json!({"correlationKey": "PAY-1", "result": {"status": "success"}}),
        )
        .await;
    assert_eq!(
        d,
        json!({"instanceGuid": p, "status": "WAITING", "callbackStatus": "Completed", "duplicate": false})
    );
    let i = s.instance(&p).await;
    assert_eq!(i["waiting"][0]["taskId"], "Task_ReviewPayment");
    assert_eq!(
        i["variables"]["lastReceiveTaskResult"],
        json!({"status": "success"})
    );
    // A gateway retry while the review (same key, form mode) waits does not resume anything.
    // (Its answer is not asserted: today it is isSuccessful false, not the documented duplicate.)
    let before = s.snapshot(&p).await;
    let (code, _) = s
        .exec(
            ADMIN,
            "ReturnCallbackCommand",
            json!({"correlationKey": "PAY-1", "result": {"status": "success"}}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        s.snapshot(&p).await,
        before,
        "the review is not completed by a webhook callback"
    );
    let rows = s
        .ok(
            ADMIN,
            "GetCallbackRegistryListQuery",
            json!({"instanceGuid": p, "status": "Completed"}),
        )
        .await;
    assert_eq!(rows[0]["CallbackTaskId"], "Task_WaitForPayment");
    assert_eq!(rows[0]["ResultData"], r#"{"status":"success"}"#);
    // The review is a form-mode receive task: GetTaskFormQuery shows it, MANAGERS submit it.
    let f = s
        .ok(ADMIN, "GetTaskFormQuery", json!({"instanceGuid": p}))
        .await;
    assert_eq!(
        (f["taskType"].clone(), f["formKey"].clone()),
        (json!("receiveTask"), json!("payment-review-form"))
    );
    let d = s.ok(&s.mary, "SignalProcessInstanceCommand", json!({"instanceGuid": p, "signalPayload": {"decision": "approve", "comments": "fine"}})).await;
    assert_eq!(
        (d["status"].clone(), d["taskType"].clone()),
        (json!("COMPLETED"), json!("receiveTask"))
    );
    assert_eq!(d["result"]["reviewedBy"], "mary");
    let i = s.instance(&p).await;
    assert_eq!(
        (
            i["variables"]["paymentStatus"].clone(),
            i["variables"]["postedBy"].clone()
        ),
        (json!("POSTED"), json!("mary"))
    );
    // A gateway retry after the review: a duplicate, the instance is not resumed again.
    let d = s
        .ok(
            ADMIN,
            "ReturnCallbackCommand",
            json!({"correlationKey": "PAY-1", "result": {"status": "success"}}),
        )
        .await;
    assert_eq!(
        (d["duplicate"].clone(), d["status"].clone()),
        (json!(true), json!("COMPLETED"))
    );

    // A second delivery to a webhook-only flow: isSuccessful, duplicate, resumed once.
    let cb = s.deploy(&callback_wait()).await;
    let (r, _) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": cb, "variables": {"ref": "R-1"}}),
        )
        .await;
    let first = s
        .ok(
            ADMIN,
            "ReturnCallbackCommand",
            json!({"correlationKey": "R-1", "result": {"n": 1}}),
        )
        .await;
    assert_eq!(
        (first["status"].clone(), first["duplicate"].clone()),
        (json!("COMPLETED"), json!(false))
    );
    let before = s.snapshot(&r).await;
    let (code, v) = s
        .exec(
            ADMIN,
            "ReturnCallbackCommand",
            json!({"correlationKey": "R-1", "result": {"n": 2}}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["isSuccessful"], true, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("Duplicate callback: 'R-1'"),
        "{v}"
    );
    assert_eq!(
        v["data"],
        json!({"instanceGuid": r, "status": "COMPLETED", "callbackStatus": "Completed", "duplicate": true})
    );
    assert_eq!(
        s.snapshot(&r).await,
        before,
        "the duplicate changed nothing"
    );
    let kinds = s.history(&r).await;
    assert_eq!(
        (
            count_of(&kinds, "callbackCompleted"),
            count_of(&kinds, "ended")
        ),
        (1, 1),
        "{kinds:?}"
    );
    assert_eq!(
        s.instance(&r).await["variables"]["lastReceiveTaskResult"],
        json!({"n": 1}),
        "the first result stays"
    );

    // An unknown key without ttlSeconds: a business failure, nothing buffered.
    let m = s
        .refused(
            ADMIN,
            "ReturnCallbackCommand",
            json!({"correlationKey": "R-2", "result": {"ok": true}}),
        )
        .await;
    assert!(m.contains("'R-2'") && m.contains("ttlSeconds"), "{m}");
    assert_eq!(s.count("GetMessageBufferListQuery", json!({})).await, 0);
    // Field errors.
    let m = s
        .field(
            ADMIN,
            "ReturnCallbackCommand",
            json!({"correlationKey": "R-2", "ttlSeconds": -5}),
            "ttlSeconds",
        )
        .await;
    assert_eq!(m, "ttlSeconds must be a whole number of seconds, 0 or more");
    s.field(
        ADMIN,
        "ReturnCallbackCommand",
        json!({"correlationKey": "R-2", "ttlSeconds": "60"}),
        "ttlSeconds",
    )
    .await;
    s.field(
        ADMIN,
        "ReturnCallbackCommand",
        json!({"correlationKey": "R-2", "ttlSeconds": 1.5}),
        "ttlSeconds",
    )
    .await;
    s.field(
        ADMIN,
        "ReturnCallbackCommand",
        json!({"result": {}}),
        "correlationKey",
    )
    .await;
    s.field(
        ADMIN,
        "ReturnCallbackCommand",
        json!({"correlationKey": 7}),
        "correlationKey",
    )
    .await;
    assert_eq!(s.count("GetMessageBufferListQuery", json!({})).await, 0);

    // With ttlSeconds: buffered, and an instance started later with that key resumes at once.
    let b = s
        .ok(
            ADMIN,
            "ReturnCallbackCommand",
            json!({"correlationKey": "R-2", "result": {"ok": true}, "ttlSeconds": 300}),
        )
        .await;
    assert_eq!(
        (b["callbackStatus"].clone(), b["duplicate"].clone()),
        (json!("Buffered"), json!(false))
    );
    assert_eq!(b["expiresAt"], "2026-01-01T00:05:00.000000Z");
    let buffered = s
        .ok(
            ADMIN,
            "GetMessageBufferListQuery",
            json!({"status": "Buffered"}),
        )
        .await;
    assert_eq!(buffered["totalCount"], 1);
    assert_eq!(buffered["items"][0]["id"], b["bufferId"]);
    assert_eq!(
        (
            buffered["items"][0]["kind"].clone(),
            buffered["items"][0]["correlationKey"].clone()
        ),
        (json!("callback"), json!("R-2"))
    );
    let (r2, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": cb, "variables": {"ref": "R-2"}}),
        )
        .await;
    assert_eq!(
        d["status"], "COMPLETED",
        "the buffered callback completed the receive task on arrival"
    );
    assert_eq!(
        s.instance(&r2).await["variables"]["lastReceiveTaskResult"],
        json!({"ok": true})
    );
    let rows = s
        .ok(
            ADMIN,
            "GetCallbackRegistryListQuery",
            json!({"instanceGuid": r2}),
        )
        .await;
    assert_eq!(
        (rows[0]["Status"].clone(), rows[0]["ResultData"].clone()),
        (json!("Completed"), json!(r#"{"ok":true}"#))
    );
    let correlated = s
        .ok(
            ADMIN,
            "GetMessageBufferListQuery",
            json!({"status": "Correlated"}),
        )
        .await;
    assert_eq!(correlated["items"][0]["instanceGuid"], r2.as_str());
    assert_eq!(
        s.count("GetMessageBufferListQuery", json!({"status": "Buffered"}))
            .await,
        0
    );
    // ... and the next instance with that key does not get it again.
    let (_, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": cb, "variables": {"ref": "R-2"}}),
        )
        .await;
    assert_eq!(d["status"], "WAITING");

    // Past its TTL a buffered callback is Expired and never delivered.
    s.ok(
        ADMIN,
        "ReturnCallbackCommand",
        json!({"correlationKey": "R-3", "ttlSeconds": 30}),
    )
    .await;
    s.clock
        .set(s.clock.now() + jiff::SignedDuration::from_secs(31));
    let (_, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": cb, "variables": {"ref": "R-3"}}),
        )
        .await;
    assert_eq!(d["status"], "WAITING");
    let expired = s
        .ok(
            ADMIN,
            "GetMessageBufferListQuery",
            json!({"status": "Expired"}),
        )
        .await;
    assert_eq!(
        (
            expired["totalCount"].clone(),
            expired["items"][0]["correlationKey"].clone()
        ),
        (json!(1), json!("R-3"))
    );

    // The registry query's own validation.
    let m = s
        .field(
            ADMIN,
            "GetCallbackRegistryListQuery",
            json!({"status": "Done"}),
            "status",
        )
        .await;
    assert_eq!(
        m,
        "status must be Pending, Completed, Failed or Expired, not 'Done'"
    );
    s.field(
        ADMIN,
        "GetCallbackRegistryListQuery",
        json!({"instanceGuid": 4}),
        "instanceGuid",
    )
    .await;
    let pending = s
        .ok(
            &s.bob,
            "GetCallbackRegistryListQuery",
            json!({"status": "Pending"}),
        )
        .await;
    let keys: BTreeSet<&str> = pending
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["CorrelationKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["R-2", "R-3"].into_iter().collect());
    s.field(
        ADMIN,
        "GetMessageBufferListQuery",
        json!({"status": "Pending"}),
        "status",
    )
    .await;
}

#[tokio::test]
async fn correlate_message_delivers_buffers_discards_and_deduplicates() {
    let s = server();
    let def = s.deploy(&message_wait()).await;
    let (o1, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": def, "variables": {"orderId": "O-1"}}),
        )
        .await;
    assert_eq!(
        (d["status"].clone(), d["waiting"][0]["taskId"].clone()),
        (json!("WAITING"), json!("WaitPaid"))
    );

    // A different key does not reach it.
    let before = s.snapshot(&o1).await;
    let d = s
        .ok(
            ADMIN,
            "CorrelateMessageCommand",
            json!({"messageName": "Paid", "correlationKey": "O-9"}),
        )
        .await;
    assert_eq!(
        d,
        json!({"correlated": false, "buffered": false, "duplicate": false})
    );
    assert_eq!(s.snapshot(&o1).await, before);
    assert_eq!(
        s.count("GetMessageBufferListQuery", json!({})).await,
        0,
        "ttlSeconds 0: discarded, not buffered"
    );

    // Correlated: the waiting instance resumes with the message's variables.
    let d = s.ok(&s.bob, "CorrelateMessageCommand", json!({"messageName": "Paid", "correlationKey": "O-1", "variables": {"paidBy": "card"}})).await;
    assert_eq!(
        d,
        json!({"correlated": true, "buffered": false, "instanceGuid": o1, "status": "COMPLETED", "duplicate": false})
    );
    let i = s.instance(&o1).await;
    assert_eq!(
        (i["status"].clone(), i["variables"]["paidBy"].clone()),
        (json!("COMPLETED"), json!("card"))
    );

    // Field errors.
    s.field(
        ADMIN,
        "CorrelateMessageCommand",
        json!({"correlationKey": "O-1"}),
        "messageName",
    )
    .await;
    s.field(
        ADMIN,
        "CorrelateMessageCommand",
        json!({"messageName": ""}),
        "messageName",
    )
    .await;
    let m = s
        .field(
            ADMIN,
            "CorrelateMessageCommand",
            json!({"messageName": "Paid", "ttlSeconds": -1}),
            "ttlSeconds",
        )
        .await;
    assert_eq!(m, "ttlSeconds must be a whole number of seconds, 0 or more");
    s.field(
        ADMIN,
        "CorrelateMessageCommand",
        json!({"messageName": "Paid", "variables": [1]}),
        "variables",
    )
    .await;
    s.field(
        ADMIN,
        "CorrelateMessageCommand",
        json!({"messageName": "Paid", "correlationKey": 2}),
        "correlationKey",
    )
    .await;
    s.field(
        ADMIN,
        "CorrelateMessageCommand",
        json!({"messageName": "Paid", "messageId": 3}),
        "messageId",
    )
    .await;
    assert_eq!(s.count("GetMessageBufferListQuery", json!({})).await, 0);

    // ttlSeconds > 0 and nobody waits: buffered, then consumed by the instance that subscribes.
    let d = s.ok(ADMIN, "CorrelateMessageCommand", json!({"messageName": "Paid", "correlationKey": "O-2", "ttlSeconds": 60, "variables": {"paidBy": "wire"}})).await;
    assert_eq!(
        (
            d["correlated"].clone(),
            d["buffered"].clone(),
            d["duplicate"].clone()
        ),
        (json!(false), json!(true), json!(false))
    );
    assert_eq!(d["expiresAt"], "2026-01-01T00:01:00.000000Z");
    let buffered = s
        .ok(
            ADMIN,
            "GetMessageBufferListQuery",
            json!({"status": "Buffered"}),
        )
        .await;
    assert_eq!(buffered["items"][0]["id"], d["bufferId"]);
    assert_eq!(
        (
            buffered["items"][0]["kind"].clone(),
            buffered["items"][0]["name"].clone()
        ),
        (json!("message"), json!("Paid"))
    );
    let (other, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": def, "variables": {"orderId": "O-3"}}),
        )
        .await;
    assert_eq!(d["status"], "WAITING", "another key does not take it");
    let (o2, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": def, "variables": {"orderId": "O-2"}}),
        )
        .await;
    assert_eq!(
        d["status"], "COMPLETED",
        "the buffered message was taken on subscription"
    );
    assert_eq!(s.instance(&o2).await["variables"]["paidBy"], "wire");
    let correlated = s
        .ok(
            ADMIN,
            "GetMessageBufferListQuery",
            json!({"status": "Correlated"}),
        )
        .await;
    assert_eq!(
        (
            correlated["totalCount"].clone(),
            correlated["items"][0]["instanceGuid"].clone()
        ),
        (json!(1), json!(o2))
    );
    assert_eq!(
        s.count("GetMessageBufferListQuery", json!({"status": "Buffered"}))
            .await,
        0
    );

    // The same messageId twice: the second is a duplicate and delivers nothing.
    let m = json!({"messageName": "Paid", "correlationKey": "O-3", "messageId": "evt-1", "variables": {"n": 1}});
    let first = s.ok(ADMIN, "CorrelateMessageCommand", m.clone()).await;
    assert_eq!(
        (
            first["correlated"].clone(),
            first["instanceGuid"].clone(),
            first["duplicate"].clone()
        ),
        (json!(true), json!(other), json!(false))
    );
    let before = s.snapshot(&other).await;
    let (code, v) = s.exec(ADMIN, "CorrelateMessageCommand", json!({"messageName": "Paid", "correlationKey": "O-3", "messageId": "evt-1", "variables": {"n": 2}})).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["isSuccessful"], true);
    assert!(v["message"].as_str().unwrap().contains("evt-1"), "{v}");
    assert_eq!(
        (
            v["data"]["duplicate"].clone(),
            v["data"]["instanceGuid"].clone()
        ),
        (json!(true), json!(other))
    );
    assert_eq!(s.snapshot(&other).await, before);
    assert_eq!(before.0["variables"]["n"], 1);
    // A buffered message's id too: a repeat is a duplicate, not a second buffer entry.
    let buf = json!({"messageName": "Paid", "correlationKey": "O-4", "messageId": "evt-2", "ttlSeconds": 60});
    assert_eq!(
        s.ok(ADMIN, "CorrelateMessageCommand", buf.clone()).await["buffered"],
        true
    );
    let again = s.ok(ADMIN, "CorrelateMessageCommand", buf).await;
    assert_eq!(
        (again["duplicate"].clone(), again["buffered"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(
        s.count("GetMessageBufferListQuery", json!({"status": "Buffered"}))
            .await,
        1
    );

    // Past its TTL: Expired, never delivered.
    s.clock
        .set(s.clock.now() + jiff::SignedDuration::from_secs(61));
    let (_, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": def, "variables": {"orderId": "O-4"}}),
        )
        .await;
    assert_eq!(d["status"], "WAITING");
    assert_eq!(
        s.count("GetMessageBufferListQuery", json!({"status": "Expired"}))
            .await,
        1
    );
}

#[tokio::test]
async fn broadcast_signal_reaches_every_subscribed_instance() {
    let s = server();
    let def = s.deploy(&signal_wait()).await;
    let loan_def = s.deploy(&loan()).await;
    let (a, _) = s.start(ADMIN, json!({"processDefinitionId": def})).await;
    let (b, _) = s.start(ADMIN, json!({"processDefinitionId": def})).await;
    let (l, _) = s
        .start(ADMIN, json!({"processDefinitionId": loan_def}))
        .await;
    let loan_before = s.snapshot(&l).await;

    s.field(ADMIN, "BroadcastSignalCommand", json!({}), "signalName")
        .await;
    s.field(
        ADMIN,
        "BroadcastSignalCommand",
        json!({"signalName": 1}),
        "signalName",
    )
    .await;
    let m = s
        .field(
            ADMIN,
            "BroadcastSignalCommand",
            json!({"signalName": "Alarm", "variables": "loud"}),
            "variables",
        )
        .await;
    assert_eq!(m, "variables must be a JSON object");
    assert_eq!(
        s.instance(&a).await["status"],
        "WAITING",
        "a refused broadcast resumed nothing"
    );

    // Another name reaches nobody.
    let d = s
        .ok(
            ADMIN,
            "BroadcastSignalCommand",
            json!({"signalName": "Fire"}),
        )
        .await;
    assert_eq!(d, json!({"instances": [], "started": []}));
    let d = s
        .ok(
            &s.bob,
            "BroadcastSignalCommand",
            json!({"signalName": "Alarm", "variables": {"level": 3}}),
        )
        .await;
    let reached: BTreeSet<String> = d["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_string())
        .collect();
    assert_eq!(reached, [a.clone(), b.clone()].into_iter().collect());
    assert_eq!(d["started"], json!([]));
    for g in [&a, &b] {
        let i = s.instance(g).await;
        assert_eq!(
            (i["status"].clone(), i["variables"]["level"].clone()),
            (json!("COMPLETED"), json!(3))
        );
    }
    assert_eq!(
        s.snapshot(&l).await,
        loan_before,
        "an instance that does not listen is untouched"
    );
    // Nothing listens any more.
    assert_eq!(
        s.ok(
            ADMIN,
            "BroadcastSignalCommand",
            json!({"signalName": "Alarm"})
        )
        .await["instances"],
        json!([])
    );
    for g in [&a, &b] {
        assert_eq!(count_of(&s.history(g).await, "ended"), 1);
    }
}

// ----- users, teams and tokens ----------------------------------------------------------------

#[tokio::test]
async fn users_and_teams() {
    let s = server();
    let users = |v: &Value| -> BTreeSet<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_string())
            .collect()
    };

    let d = s
        .ok(
            ADMIN,
            "CreateUserCommand",
            json!({"userName": "carol", "teams": ["AUDIT", "MANAGERS"]}),
        )
        .await;
    assert_eq!(
        d,
        json!({"userName": "carol", "isAdmin": false, "teams": ["AUDIT", "MANAGERS"]})
    );
    let d = s
        .ok(
            ADMIN,
            "CreateUserCommand",
            json!({"userName": "root2", "isAdmin": true}),
        )
        .await;
    assert_eq!(
        (d["isAdmin"].clone(), d["teams"].clone()),
        (json!(true), json!([]))
    );
    let list = s.ok(&s.bob, "GetUserListQuery", json!({})).await;
    assert_eq!(list["totalCount"], 5);
    assert_eq!(
        users(&list),
        ["admin", "bob", "carol", "mary", "root2"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    let carol = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["userName"] == "carol")
        .unwrap();
    let carol_teams: BTreeSet<&str> = carol["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(carol_teams, ["AUDIT", "MANAGERS"].into_iter().collect());
    assert_eq!(carol["isAdmin"], false);
    let admin = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["userName"] == "admin")
        .unwrap();
    assert_eq!(admin["isAdmin"], true);

    // CreateUserCommand refusals create nobody.
    let m = s
        .field(
            ADMIN,
            "CreateUserCommand",
            json!({"userName": "carol"}),
            "userName",
        )
        .await;
    assert_eq!(m, "user 'carol' already exists");
    s.field(ADMIN, "CreateUserCommand", json!({}), "userName")
        .await;
    s.field(
        ADMIN,
        "CreateUserCommand",
        json!({"userName": "a,b"}),
        "userName",
    )
    .await;
    s.field(
        ADMIN,
        "CreateUserCommand",
        json!({"userName": "x".repeat(101)}),
        "userName",
    )
    .await;
    s.field(
        ADMIN,
        "CreateUserCommand",
        json!({"userName": "dave", "isAdmin": "yes"}),
        "isAdmin",
    )
    .await;
    s.field(
        ADMIN,
        "CreateUserCommand",
        json!({"userName": "dave", "teams": "AUDIT"}),
        "teams",
    )
    .await;
    s.field(
        ADMIN,
        "CreateUserCommand",
        json!({"userName": "dave", "teams": ["AUDIT", 3]}),
        "teams",
    )
    .await;
    s.field(
        ADMIN,
        "CreateUserCommand",
        json!({"userName": "dave", "teams": ["A,B"]}),
        "teams",
    )
    .await;
    let m = s
        .forbidden(&s.bob, "CreateUserCommand", json!({"userName": "dave"}))
        .await;
    assert!(
        m.contains("CreateUserCommand needs an administrator") && m.contains("bob"),
        "{m}"
    );
    assert_eq!(
        users(&s.ok(ADMIN, "GetUserListQuery", json!({})).await).len(),
        5,
        "nobody was created"
    );
    // A user created as administrator is one: their token deploys.
    let root2 = s
        .ok(ADMIN, "CreateApiTokenCommand", json!({"userName": "root2"}))
        .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    s.ok(
        &root2,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": loan()}),
    )
    .await;

    // Teams.
    let teams = s.ok(&s.mary, "GetTeamListQuery", json!({})).await;
    let members = |v: &Value, team: &str| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["team"] == team)
            .map(|t| {
                let mut m: Vec<String> = t["members"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u.as_str().unwrap().to_string())
                    .collect();
                m.sort();
                m
            })
            .unwrap_or_default()
    };
    assert_eq!(members(&teams, "MANAGERS"), ["carol", "mary"]);
    assert_eq!(members(&teams, "TELLERS"), ["bob"]);
    assert_eq!(members(&teams, "AUDIT"), ["carol"]);
    assert_eq!(teams["totalCount"], 3);

    // bob may not complete a MANAGERS task until he is added to the team; then he may at once.
    let def = s.deploy(&loan()).await;
    let (l, _) = s.start(ADMIN, json!({"processDefinitionId": def})).await;
    let submit = json!({"instanceGuid": l, "callbackData": {"decision": "decline"}});
    s.forbidden(&s.bob, "SignalProcessInstanceCommand", submit.clone())
        .await;
    s.forbidden(
        &s.bob,
        "AddUserToTeamCommand",
        json!({"userName": "bob", "team": "MANAGERS"}),
    )
    .await;
    assert_eq!(
        members(
            &s.ok(ADMIN, "GetTeamListQuery", json!({})).await,
            "MANAGERS"
        ),
        ["carol", "mary"],
        "a forbidden add changes nothing"
    );
    let d = s
        .ok(
            ADMIN,
            "AddUserToTeamCommand",
            json!({"userName": "bob", "team": "MANAGERS"}),
        )
        .await;
    assert_eq!(
        d,
        json!({"userName": "bob", "team": "MANAGERS", "changed": true})
    );
    let (_, v) = s
        .exec(
            ADMIN,
            "AddUserToTeamCommand",
            json!({"userName": "bob", "team": "MANAGERS"}),
        )
        .await;
    assert_eq!(
        (v["isSuccessful"].clone(), v["data"]["changed"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(v["message"], "User was already in the team");
    assert_eq!(
        members(
            &s.ok(ADMIN, "GetTeamListQuery", json!({})).await,
            "MANAGERS"
        ),
        ["bob", "carol", "mary"]
    );
    assert_eq!(
        s.ok(&s.bob, "GetTaskListQuery", json!({})).await["totalCount"],
        1,
        "the task is in bob's inbox now"
    );
    let d = s.ok(&s.bob, "SignalProcessInstanceCommand", submit).await;
    assert_eq!(
        (d["status"].clone(), d["result"]["approvedBy"].clone()),
        (json!("COMPLETED"), json!("bob"))
    );

    let m = s
        .field(
            ADMIN,
            "AddUserToTeamCommand",
            json!({"userName": "zed", "team": "MANAGERS"}),
            "userName",
        )
        .await;
    assert!(m.contains("zed"), "{m}");
    s.field(
        ADMIN,
        "AddUserToTeamCommand",
        json!({"userName": "bob"}),
        "team",
    )
    .await;
    s.field(
        ADMIN,
        "AddUserToTeamCommand",
        json!({"team": "MANAGERS"}),
        "userName",
    )
    .await;
    s.field(
        ADMIN,
        "AddUserToTeamCommand",
        json!({"userName": "bob", "team": "A,B"}),
        "team",
    )
    .await;

    // Remove.
    s.forbidden(
        &s.mary,
        "RemoveUserFromTeamCommand",
        json!({"userName": "bob", "team": "MANAGERS"}),
    )
    .await;
    assert_eq!(
        members(
            &s.ok(ADMIN, "GetTeamListQuery", json!({})).await,
            "MANAGERS"
        ),
        ["bob", "carol", "mary"]
    );
    let d = s
        .ok(
            ADMIN,
            "RemoveUserFromTeamCommand",
            json!({"userName": "bob", "team": "MANAGERS"}),
        )
        .await;
    assert_eq!(
        d,
        json!({"userName": "bob", "team": "MANAGERS", "changed": true})
    );
    let (_, v) = s
        .exec(
            ADMIN,
            "RemoveUserFromTeamCommand",
            json!({"userName": "bob", "team": "MANAGERS"}),
        )
        .await;
    assert_eq!(
        (v["message"].clone(), v["data"]["changed"].clone()),
        (json!("User was not in the team"), json!(false))
    );
    let m = s
        .field(
            ADMIN,
            "RemoveUserFromTeamCommand",
            json!({"userName": "zed", "team": "MANAGERS"}),
            "userName",
        )
        .await;
    assert!(m.contains("zed"), "{m}");
    s.field(
        ADMIN,
        "RemoveUserFromTeamCommand",
        json!({"userName": "bob"}),
        "team",
    )
    .await;
    assert_eq!(
        members(
            &s.ok(ADMIN, "GetTeamListQuery", json!({})).await,
            "MANAGERS"
        ),
        ["carol", "mary"]
    );
    // Out of the team, out of its tasks again.
    let (l2, _) = s.start(ADMIN, json!({"processDefinitionId": def})).await;
    s.forbidden(
        &s.bob,
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": l2, "callbackData": {"decision": "decline"}}),
    )
    .await;
    assert_eq!(s.instance(&l2).await["status"], "WAITING");
}

#[tokio::test]
async fn api_tokens_create_list_and_revoke() {
    let s = server();
    // A user makes a token for themself; it works right away.
    let mine = s
        .ok(&s.bob, "CreateApiTokenCommand", json!({"label": "laptop"}))
        .await;
    assert_eq!(
        (mine["userName"].clone(), mine["label"].clone()),
        (json!("bob"), json!("laptop"))
    );
    let bob2 = mine["token"].as_str().unwrap().to_string();
    assert!(bob2.starts_with("bt_") && bob2.len() > 20, "{bob2}");
    assert_ne!(bob2, s.bob);
    let bob2_id = mine["id"].as_i64().unwrap();
    let (_, again) = s.exec(&bob2, "GetTaskListQuery", json!({})).await;
    assert_eq!(
        again["isSuccessful"], true,
        "the new token authenticates as bob: {again}"
    );
    s.forbidden(&bob2, "CreateUserCommand", json!({"userName": "x"}))
        .await;
    let explicit = s
        .ok(&s.bob, "CreateApiTokenCommand", json!({"userName": "bob"}))
        .await;
    assert_eq!(explicit["userName"], "bob");

    // ... not for someone else.
    let before = s.ok(ADMIN, "GetApiTokenListQuery", json!({})).await["totalCount"].clone();
    let m = s
        .forbidden(&s.bob, "CreateApiTokenCommand", json!({"userName": "mary"}))
        .await;
    assert!(
        m.contains("only an administrator") && m.contains("mary"),
        "{m}"
    );
    assert_eq!(
        s.ok(ADMIN, "GetApiTokenListQuery", json!({})).await["totalCount"],
        before,
        "no token was made"
    );
    // The administrator makes tokens for anyone (themself by default), not for unknown users.
    let for_mary = s
        .ok(
            ADMIN,
            "CreateApiTokenCommand",
            json!({"userName": "mary", "label": "ci"}),
        )
        .await;
    let mary2 = for_mary["token"].as_str().unwrap().to_string();
    assert_eq!(
        s.ok(&mary2, "GetTaskListQuery", json!({})).await["totalCount"],
        0
    );
    let admin2 = s.ok(ADMIN, "CreateApiTokenCommand", json!({})).await;
    assert_eq!(admin2["userName"], "admin");
    let m = s
        .field(
            ADMIN,
            "CreateApiTokenCommand",
            json!({"userName": "ghost"}),
            "userName",
        )
        .await;
    assert!(m.contains("ghost"), "{m}");
    s.field(
        ADMIN,
        "CreateApiTokenCommand",
        json!({"userName": 1}),
        "userName",
    )
    .await;
    s.field(
        &s.bob,
        "CreateApiTokenCommand",
        json!({"label": 2}),
        "label",
    )
    .await;
    assert_eq!(
        s.ok(ADMIN, "GetApiTokenListQuery", json!({})).await["totalCount"].as_i64(),
        Some(before.as_i64().unwrap() + 2)
    );

    // GetApiTokenListQuery: a user sees their own, the administrator all; never a secret.
    let secrets = [
        ADMIN.to_string(),
        s.bob.clone(),
        s.mary.clone(),
        bob2.clone(),
        mary2.clone(),
        admin2["token"].as_str().unwrap().to_string(),
    ];
    let (code, raw) = s.exec(&s.bob, "GetApiTokenListQuery", json!({})).await;
    assert_eq!(code, StatusCode::OK);
    let bobs = &raw["data"];
    let owners: BTreeSet<&str> = bobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["userName"].as_str().unwrap())
        .collect();
    assert_eq!(owners, ["bob"].into_iter().collect());
    assert_eq!(bobs["totalCount"], 3);
    let (_, all_raw) = s.exec(ADMIN, "GetApiTokenListQuery", json!({})).await;
    let all = &all_raw["data"];
    let owners: BTreeSet<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["userName"].as_str().unwrap())
        .collect();
    assert_eq!(owners, ["admin", "bob", "mary"].into_iter().collect());
    let allowed: BTreeSet<&str> = ["id", "userName", "label", "createdAt", "revokedAt"]
        .into_iter()
        .collect();
    for item in all["items"].as_array().unwrap() {
        let keys: BTreeSet<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, allowed, "{item}");
    }
    for body in [raw.to_string(), all_raw.to_string()] {
        for secret in &secrets {
            assert!(
                !body.contains(secret.as_str()),
                "a token secret is in the list: {body}"
            );
        }
    }
    let laptop = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == bob2_id)
        .unwrap();
    assert_eq!(
        (laptop["label"].clone(), laptop["revokedAt"].clone()),
        (json!("laptop"), Value::Null)
    );

    // RevokeApiTokenCommand: the owner or an administrator; a revoked token gets 401 at once.
    let m = s
        .forbidden(&s.mary, "RevokeApiTokenCommand", json!({"id": bob2_id}))
        .await;
    assert!(m.contains("belongs to bob"), "{m}");
    assert_eq!(
        s.exec(&bob2, "GetUserListQuery", json!({})).await.0,
        StatusCode::OK,
        "a forbidden revoke revokes nothing"
    );
    s.field(&s.bob, "RevokeApiTokenCommand", json!({}), "id")
        .await;
    s.field(&s.bob, "RevokeApiTokenCommand", json!({"id": "1"}), "id")
        .await;
    let m = s
        .field(ADMIN, "RevokeApiTokenCommand", json!({"id": 9999}), "id")
        .await;
    assert_eq!(m, "no API token 9999");
    let (_, v) = s
        .exec(&s.bob, "RevokeApiTokenCommand", json!({"id": bob2_id}))
        .await;
    assert_eq!(
        (v["isSuccessful"].clone(), v["message"].clone()),
        (json!(true), json!("API token revoked"))
    );
    assert_eq!(v["data"], json!({"id": bob2_id, "revoked": true}));
    for (path, body) in [
        (
            "/api/v1/execute",
            json!({"cmd": "GetUserListQuery", "data": {}}),
        ),
        (
            "/api/core/cmd",
            json!({"cmd": "GetUserListQuery", "data": {}}),
        ),
        ("/api/bpm/cmd", json!({"$type": "GetUserListQuery"})),
    ] {
        let (code, v) = s
            .post(path, Some(&format!("Bearer {bob2}")), body.to_string())
            .await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{path}: {v}");
    }
    assert_eq!(
        s.exec(&s.bob, "GetUserListQuery", json!({})).await.0,
        StatusCode::OK,
        "bob's other token still works"
    );
    let list = s.ok(&s.bob, "GetApiTokenListQuery", json!({})).await;
    let laptop = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == bob2_id)
        .unwrap();
    assert!(
        laptop["revokedAt"].as_str().unwrap().starts_with("2026-"),
        "{laptop}"
    );
    let (_, v) = s
        .exec(ADMIN, "RevokeApiTokenCommand", json!({"id": bob2_id}))
        .await;
    assert_eq!(
        (v["isSuccessful"].clone(), v["message"].clone()),
        (json!(true), json!("API token was already revoked"))
    );

    // The administrator revokes bob's first token: bob is locked out of every command.
    s.ok(
        ADMIN,
        "RevokeApiTokenCommand",
        json!({"id": s.bob_token_id}),
    )
    .await;
    let (code, _) = s.exec(&s.bob, "GetTaskListQuery", json!({})).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, _) = s.exec(&s.bob, "CreateApiTokenCommand", json!({})).await;
    assert_eq!(
        code,
        StatusCode::UNAUTHORIZED,
        "a revoked token cannot mint a new one"
    );
    assert_eq!(
        s.exec(&s.mary, "GetTaskListQuery", json!({})).await.0,
        StatusCode::OK
    );
}

// ----- recurring jobs and timers over HTTP ---------------------------------------------------

#[tokio::test]
async fn recurring_jobs_over_http_admins_manage_and_everyone_reads() {
    let s = server();
    let job = json!({"name": "eod", "cronExpression": "0 18 * * MON-FRI", "timeZone": "Africa/Lagos", "executionType": 2, "executionCode": "\"done\""});
    // Jobs run with administrator rights: only administrators create, change, run or delete them.
    for cmd in [
        "CreateRecurringJobCommand",
        "UpdateRecurringJobCommand",
        "ExecuteRecurringJobCommand",
        "DeleteRecurringJobCommand",
    ] {
        let m = s.forbidden(&s.bob, cmd, job.clone()).await;
        assert!(m.contains("administrator"), "{m}");
    }
    let created = s.ok(ADMIN, "CreateRecurringJobCommand", job.clone()).await;
    let id = created["id"].clone();
    assert!(
        created["nextRunAt"]
            .as_str()
            .unwrap()
            .ends_with("17:00:00.000000Z"),
        "{created}"
    );
    // Reading is open to every user; the list hides the code, the single view shows it.
    let list = s.ok(&s.bob, "GetRecurringJobListQuery", json!({})).await;
    assert_eq!(list["totalCount"], 1);
    assert!(list["items"][0].get("executionCode").is_none());
    assert_eq!(
        s.ok(&s.bob, "GetRecurringJobByIdQuery", json!({"id": id}))
            .await["executionCode"],
        "\"done\""
    );
    // The $type door: a field error names the field.
    let (code, v) = s.bpm(ADMIN, json!({"$type": "CreateRecurringJobCommand", "name": "x", "cronExpression": "0 0 31 2 *", "executionType": 9})).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["success"], false);
    assert!(
        v["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("executionType:"),
        "{v}"
    );
    let run = s
        .ok(ADMIN, "ExecuteRecurringJobCommand", json!({"id": id}))
        .await;
    assert_eq!(
        (run["status"].clone(), run["result"]["value"].clone()),
        (json!("Succeeded"), json!("done"))
    );
    let runs = s
        .ok(&s.bob, "GetRecurringJobRunListQuery", json!({"id": id}))
        .await;
    assert_eq!(runs["items"][0]["trigger"], "manual");
    let preview = s
        .ok(
            &s.bob,
            "GetCronPreviewQuery",
            json!({"cronExpression": "0 18 * * MON-FRI", "timeZone": "Africa/Lagos", "count": 2}),
        )
        .await;
    assert_eq!(preview["nextRunTimes"].as_array().unwrap().len(), 2);
    let timers = s
        .ok(&s.bob, "GetTimerListQuery", json!({"kind": "job"}))
        .await;
    assert_eq!(timers["items"][0]["jobId"], id);
    s.field(&s.bob, "GetTimerListQuery", json!({"kind": "cron"}), "kind")
        .await;
    s.ok(ADMIN, "DeleteRecurringJobCommand", json!({"id": id}))
        .await;
    assert_eq!(s.count("GetRecurringJobListQuery", json!({})).await, 0);
}
