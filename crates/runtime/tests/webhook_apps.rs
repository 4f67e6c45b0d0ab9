//! Incoming webhook applications (seed 003) through the axum router (`oneshot`, no socket): the
//! app commands and 403 for non-administrators, the private URL `/hooks/{token}`, request and
//! action numbering, typed parameters, delegation enforcing ResponsibleUser / ResponsibleTeam,
//! and the `{"errors": [{"message"}]}` answers. Seed 003's action operations, ids and who acted,
//! on a served door: tests/webhook_apps_seed003.rs.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use baton_testkit::{Door, Model, ADMIN};
use serde_json::{json, Value};

/// `Review`: `Check` (for bob), then `Approve` (for team MANAGERS).
fn review() -> String {
    Model::process("Review")
        .process_name("Order review")
        .start("s")
        .user_task("Check")
        .named("Check the order")
        .props(&[("ResponsibleUser", "bob")])
        .user_task("Approve")
        .named("Approve the order")
        .props(&[("ResponsibleTeam", "MANAGERS")])
        .end("e")
        .chain(&["s", "Check", "Approve", "e"])
        .xml()
}

/// bob (team TELLERS, with a token), carol (team MANAGERS, without one) and `Review` deployed.
struct Server {
    door: Door,
    bob: String,
}

fn server() -> Server {
    let door = Door::new();
    let bob = door.user("bob", &["TELLERS"]).token;
    door.t.run(
        "CreateUserCommand",
        json!({"userName": "carol", "teams": ["MANAGERS"]}),
    );
    door.t.run(
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": review(), "name": "Order review"}),
    );
    Server { door, bob }
}

impl Server {
    async fn exec(&self, token: &str, cmd: &str, data: Value) -> (StatusCode, Value) {
        self.door.exec(token, cmd, data).await
    }

    async fn post_raw(&self, url: &str, body: &str) -> (StatusCode, Value) {
        let req = Request::post(url)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.door.send(req).await
    }

    async fn hook(&self, url: &str, op: &str, input: Value) -> Value {
        let (code, body) = self
            .post_raw(
                url,
                &json!({"operation": op, "args": {"input": input}}).to_string(),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{body}");
        body
    }

    /// Creates an app (as the administrator) and answers its URL.
    async fn new_app(&self, impersonate: Option<&str>) -> String {
        let (code, r) = self
            .exec(
                ADMIN,
                "CreateIncomingWebhookApplicationCommand",
                json!({"name": "ERP", "description": "orders", "impersonateUserName": impersonate}),
            )
            .await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(r["isSuccessful"], true, "{r}");
        r["data"]["url"].as_str().unwrap().to_string()
    }

    async fn instance(&self, guid: &str) -> Value {
        let (_, r) = self
            .exec(
                ADMIN,
                "GetProcessInstanceByIdQuery",
                json!({"instanceGuid": guid}),
            )
            .await;
        r["data"].clone()
    }
}

fn error(body: &Value) -> &str {
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {body}"))
}

#[tokio::test]
async fn apps_are_created_listed_and_deleted_by_administrators_only() {
    let s = server();
    let (code, _) = s
        .exec(
            &s.bob,
            "CreateIncomingWebhookApplicationCommand",
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (code, _) = s
        .exec(
            &s.bob,
            "DeleteIncomingWebhookApplicationCommand",
            json!({"id": 1}),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (_, r) = s
        .exec(
            ADMIN,
            "CreateIncomingWebhookApplicationCommand",
            json!({"name": "x", "impersonateUserName": "nobody"}),
        )
        .await;
    assert_eq!(r["isSuccessful"], false);
    assert_eq!(r["errors"][0]["field"], "impersonateUserName");
    let (_, r) = s
        .exec(ADMIN, "CreateIncomingWebhookApplicationCommand", json!({}))
        .await;
    assert_eq!(r["errors"][0]["field"], "name");

    let (_, r) = s
        .exec(
            ADMIN,
            "CreateIncomingWebhookApplicationCommand",
            json!({"name": "ERP", "description": "orders", "impersonateUserName": "bob"}),
        )
        .await;
    let id = r["data"]["id"].as_i64().unwrap();
    let token = r["data"]["token"].as_str().unwrap().to_string();
    let url = r["data"]["url"].as_str().unwrap().to_string();
    assert_eq!(url, format!("/hooks/{token}"));

    let (_, list) = s
        .exec(ADMIN, "GetIncomingWebhookApplicationListQuery", json!({}))
        .await;
    let items = list["data"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "ERP");
    assert_eq!(items[0]["impersonateUserName"], "bob");
    assert!(
        !list.to_string().contains(&token),
        "the list shows no token"
    );

    let (_, r) = s
        .exec(
            ADMIN,
            "DeleteIncomingWebhookApplicationCommand",
            json!({"id": id}),
        )
        .await;
    assert_eq!(r["isSuccessful"], true, "{r}");
    let (code, body) = s
        .post_raw(
            &url,
            &json!({"operation": "createRequest", "args": {"input": {"processName": "Review"}}})
                .to_string(),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert!(error(&body).contains("no incoming webhook application"));
}

#[tokio::test]
async fn create_request_numbers_requests_and_types_parameters() {
    let s = server();
    let url = s.new_app(None).await;
    let r = s
        .hook(
            &url,
            "createRequest",
            json!({"processName": "Review", "clientMutationId": "m-1", "parameters": [
                {"name": "CUSTOMER", "textValue": "ACME"},
                {"name": "AMOUNT", "numericValue": 12.5},
                {"name": "DUE", "dateTimeValue": "2026-03-01T10:00:00Z"},
                {"name": "PO", "fileValue": {"name": "po.pdf", "contentType": "application/pdf", "url": "file:///tmp/po.pdf"}}
            ]}),
        )
        .await;
    assert_eq!(r["number"], 1, "{r}");
    assert_eq!(r["clientMutationId"], "m-1");
    assert_eq!(r["onBehalfOf"], Value::Null);
    assert!(r["requestId"].is_string());
    let inst = s.instance(r["instanceGuid"].as_str().unwrap()).await;
    assert_eq!(inst["variables"]["CUSTOMER"], "ACME");
    assert_eq!(inst["variables"]["AMOUNT"], 12.5);
    assert_eq!(inst["variables"]["DUE"], "2026-03-01T10:00:00Z");
    assert_eq!(inst["variables"]["PO"]["name"], "po.pdf");

    // By the deployed name too, and a specific version; numbers go on.
    let r = s
        .hook(
            &url,
            "createRequest",
            json!({"processName": "Order review", "processVersion": 1}),
        )
        .await;
    assert_eq!(r["number"], 2, "{r}");
    assert_eq!(r["clientMutationId"], Value::Null);
    let r = s
        .hook(
            &url,
            "createRequest",
            json!({"processName": "Review", "processVersion": 7}),
        )
        .await;
    assert!(error(&r).contains("no version 7"), "{r}");
}

#[tokio::test]
async fn complete_action_resumes_tasks_and_enforces_responsibility() {
    let s = server();
    let url = s.new_app(None).await;
    let r = s
        .hook(&url, "createRequest", json!({"processName": "Review"}))
        .await;
    let guid = r["instanceGuid"].as_str().unwrap().to_string();
    let n = r["number"].as_i64().unwrap();

    // Check is bob's: carol may not complete it, an unknown user may not either.
    let r = s
        .hook(
            &url,
            "completeAction",
            json!({"requestNumber": n, "actionNumber": 1, "onBehalfOfUserName": "carol"}),
        )
        .await;
    assert!(r["errors"].is_array(), "{r}");
    let r = s
        .hook(
            &url,
            "completeAction",
            json!({"requestNumber": n, "actionNumber": 1, "onBehalfOfUserName": "nobody"}),
        )
        .await;
    assert!(error(&r).contains("no user named 'nobody'"), "{r}");

    let r = s
        .hook(
            &url,
            "completeAction",
            json!({"requestNumber": n, "actionNumber": 1, "onBehalfOfUserName": "bob",
                   "clientMutationId": "c-1",
                   "parameters": [{"name": "CHECKED", "textValue": "yes"}]}),
        )
        .await;
    assert_eq!(r["clientMutationId"], "c-1", "{r}");
    assert_eq!(r["requestNumber"], n);
    assert_eq!(r["number"], 1);
    assert_eq!(r["activityName"], "Check the order");
    assert_eq!(r["onBehalfOfUserName"], "bob");
    let inst = s.instance(&guid).await;
    // Seed 003: the parameters are the request's data, and the task's result too.
    assert_eq!(inst["variables"]["CHECKED"], "yes");
    assert_eq!(inst["variables"]["lastUserTaskResult"]["CHECKED"], "yes");
    assert_eq!(inst["waiting"][0]["taskId"], "Approve");

    // Action 1 is done; Approve is action 2, for MANAGERS.
    let r = s
        .hook(
            &url,
            "completeAction",
            json!({"requestNumber": n, "actionNumber": 1}),
        )
        .await;
    assert!(error(&r).contains("not open"), "{r}");
    let r = s
        .hook(
            &url,
            "completeAction",
            json!({"requestNumber": n, "actionNumber": 2, "onBehalfOfUserName": "bob"}),
        )
        .await;
    assert!(r["errors"].is_array(), "{r}");
    let r = s
        .hook(
            &url,
            "completeAction",
            json!({"requestNumber": n, "actionNumber": 2, "onBehalfOfUserName": "carol"}),
        )
        .await;
    assert_eq!(r["activityName"], "Approve the order", "{r}");
    assert_eq!(s.instance(&guid).await["status"], "COMPLETED");
}

#[tokio::test]
async fn impersonated_user_is_held_to_responsibility() {
    let s = server();
    let url = s.new_app(Some("carol")).await;
    let r = s
        .hook(&url, "createRequest", json!({"processName": "Review"}))
        .await;
    let n = r["number"].as_i64().unwrap();
    let r = s
        .hook(
            &url,
            "completeAction",
            json!({"requestNumber": n, "actionNumber": 1}),
        )
        .await;
    assert!(
        r["errors"].is_array(),
        "carol may not complete bob's task: {r}"
    );
}

#[tokio::test]
async fn update_dataset_and_cancel_request() {
    let s = server();
    let url = s.new_app(None).await;
    let r = s
        .hook(&url, "createRequest", json!({"processName": "Review"}))
        .await;
    let guid = r["instanceGuid"].as_str().unwrap().to_string();
    let n = r["number"].as_i64().unwrap();
    let r = s
        .hook(
            &url,
            "updateRequestDataset",
            json!({"number": n, "clientMutationId": "u", "parameters": [{"name": "NOTE", "textValue": "rush"}]}),
        )
        .await;
    assert_eq!(r["number"], n, "{r}");
    assert_eq!(r["clientMutationId"], "u");
    assert_eq!(s.instance(&guid).await["variables"]["NOTE"], "rush");
    // By id as well; delegation is not supported here.
    let id = r["id"].as_str().unwrap().to_string();
    let r = s
        .hook(
            &url,
            "updateRequestDataset",
            json!({"id": id, "parameters": [{"name": "NOTE", "textValue": "later"}]}),
        )
        .await;
    assert_eq!(r["number"], n, "{r}");
    let r = s
        .hook(
            &url,
            "updateRequestDataset",
            json!({"number": n, "onBehalfOfUserName": "bob", "parameters": [{"name": "NOTE", "textValue": "x"}]}),
        )
        .await;
    assert!(error(&r).contains("delegation"), "{r}");
    // A non-administrator has no system access.
    let bob_url = s.new_app(Some("bob")).await;
    let r = s
        .hook(
            &bob_url,
            "updateRequestDataset",
            json!({"number": n, "parameters": [{"name": "NOTE", "textValue": "x"}]}),
        )
        .await;
    assert!(error(&r).contains("system access"), "{r}");

    let r = s.hook(&url, "cancelRequest", json!({"number": n})).await;
    assert_eq!(r["number"], n, "{r}");
    assert_eq!(s.instance(&guid).await["status"], "CANCELLED");
    let r = s.hook(&url, "cancelRequest", json!({"number": 99})).await;
    assert!(error(&r).contains("no request number 99"), "{r}");
}

#[tokio::test]
async fn errors_name_the_problem() {
    let s = server();
    let url = s.new_app(None).await;
    let (code, body) = s.post_raw("/hooks/wh_nope", "{}").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert!(body["errors"][0]["message"].is_string());
    let (code, body) = s.post_raw(&url, "{not json").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(error(&body).contains("malformed JSON"));

    let r = s
        .hook(&url, "dropTables", json!({"clientMutationId": "z"}))
        .await;
    assert!(error(&r).contains("unknown operation 'dropTables'"), "{r}");
    let (code, body) = s.post_raw(&url, r#"{"operation": "createRequest"}"#).await;
    assert_eq!(code, StatusCode::OK);
    assert!(error(&body).contains("args.input"), "{body}");
    let r = s.hook(&url, "createRequest", json!({})).await;
    assert!(error(&r).contains("processName is required"), "{r}");
    let r = s
        .hook(&url, "createRequest", json!({"processName": "Nope"}))
        .await;
    assert!(error(&r).contains("no process named 'Nope'"), "{r}");
    let r = s
        .hook(
            &url,
            "createRequest",
            json!({"processName": "Review", "parameters": [{"name": "A"}]}),
        )
        .await;
    assert!(error(&r).contains("parameters[0]"), "{r}");
    let r = s
        .hook(
            &url,
            "createRequest",
            json!({"processName": "Review", "parameters": [{"name": "D", "dateTimeValue": "soon"}]}),
        )
        .await;
    assert!(error(&r).contains("dateTimeValue"), "{r}");
    let r = s
        .hook(&url, "completeAction", json!({"actionNumber": 1}))
        .await;
    assert!(error(&r).contains("requestNumber is required"), "{r}");
    let r = s
        .hook(&url, "createRequest", json!({"processName": "Review"}))
        .await;
    let n = r["number"].as_i64().unwrap();
    let r = s
        .hook(
            &url,
            "assignAction",
            json!({"requestNumber": n, "actionNumber": 1}),
        )
        .await;
    assert!(
        error(&r).contains("assigneeUserName or assigneeId is required"),
        "{r}"
    );
    assert_eq!(r["errors"][0]["field"], "assigneeUserName", "{r}");
    let r = s
        .hook(
            &url,
            "cancelAction",
            json!({"requestNumber": n, "actionNumber": 7}),
        )
        .await;
    assert!(error(&r).contains("has no action number 7"), "{r}");
    assert_eq!(r["errors"][0]["field"], "actionNumber", "{r}");
}

#[tokio::test]
async fn an_application_acting_as_a_user_cancels_only_what_that_user_may_cancel() {
    let s = server();
    // Carol's application starts a request; bob's may not cancel it: its first task is his, so
    // he may see it, but he neither started it nor shares a team with carol. It goes on waiting.
    let carol_url = s.new_app(Some("carol")).await;
    let r = s
        .hook(
            &carol_url,
            "createRequest",
            json!({"processName": "Review"}),
        )
        .await;
    let (guid, n) = (
        r["instanceGuid"].as_str().unwrap().to_string(),
        r["number"].as_i64().unwrap(),
    );
    let bob_url = s.new_app(Some("bob")).await;
    let r = s
        .hook(&bob_url, "cancelRequest", json!({"number": n}))
        .await;
    assert!(error(&r).contains("but not cancel it"), "{r}");
    assert_eq!(r["errors"][0]["code"], "FORBIDDEN");
    assert_eq!(s.instance(&guid).await["status"], "WAITING");
    // Carol's own application may.
    let r = s
        .hook(&carol_url, "cancelRequest", json!({"number": n}))
        .await;
    assert_eq!(r["number"], n, "{r}");
    assert_eq!(s.instance(&guid).await["status"], "CANCELLED");
}
