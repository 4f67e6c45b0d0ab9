//! Incoming webhooks through the axum router (`oneshot`, no socket): a configuration is
//! prepared once and kept, yet every update, deactivation, activation and deletion reaches the
//! very next request; a request's log row is written in the transaction of the step it
//! causes, so a step that fails leaves one row that says so and no trace of the step, and a
//! step retried after a lost race still leaves exactly one row.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use baton_testkit::{template, Door, ADMIN};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

const URL: &str = "/webhook/gateway/callback";

struct Server {
    door: Door,
}

impl Server {
    /// A runtime with the payment-approval template deployed and one instance per payment id
    /// waiting for the gateway's callback; answers the instances' guids.
    async fn with_payments(ids: &[&str]) -> (Server, Vec<String>) {
        let s = Server { door: Door::new() };
        s.ok(
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": template("payment-approval/PaymentApprovalProcess.bpmn")}),
        )
        .await;
        let mut guids = Vec::new();
        for id in ids {
            let started = s
                .ok(
                    "StartProcessInstanceCommand",
                    json!({"processKey": "PaymentApprovalProcess", "variables": {"paymentId": id, "amount": 50000}}),
                )
                .await;
            guids.push(started["instanceGuid"].as_str().unwrap().to_string());
        }
        (s, guids)
    }

    async fn ok(&self, cmd: &str, data: Value) -> Value {
        let (code, body) = self.door.exec(ADMIN, cmd, data).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        assert_eq!(body["isSuccessful"], true, "{cmd}: {body}");
        body["data"].clone()
    }

    /// POSTs `body` to the gateway's door, signed (HMAC-SHA256, hex) with `secret`.
    async fn hook(&self, secret: &str, body: &Value) -> (StatusCode, Value) {
        let body = body.to_string();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        let sig = hex::encode(mac.finalize().into_bytes());
        let req = Request::post(URL)
            .header("x-signature", sig)
            .body(Body::from(body))
            .unwrap();
        self.door.send(req).await
    }

    /// The request log, newest first.
    async fn requests(&self) -> Vec<Value> {
        self.ok("GetWebhookRequestListQuery", json!({"pageSize": 100}))
            .await["items"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// The task ids an instance waits in.
    async fn waiting(&self, guid: &str) -> Vec<String> {
        let inst = self
            .ok("GetProcessInstanceByIdQuery", json!({"instanceGuid": guid}))
            .await;
        inst["waiting"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["taskId"].as_str().unwrap().to_string())
            .collect()
    }
}

/// ReturnCallbackCommand with the correlation key at `key_at` in the request.
fn gateway(key_at: &str, secret: &str) -> Value {
    json!({"name": "gateway", "url": URL, "executionType": 0,
           "commandName": "ReturnCallbackCommand",
           "commandData": {"correlationKey": key_at, "result": "{status: body.status}"},
           "verification": {"scheme": "hmacSha256", "secret": secret}})
}

const RESUMED: &str = "Task_ReviewPayment";

#[tokio::test]
async fn every_configuration_change_reaches_the_next_request() {
    let (s, guids) = Server::with_payments(&["PAY-1", "PAY-2", "PAY-3", "PAY-4"]).await;
    let id = s
        .ok(
            "CreateWebHookConfigCommand",
            gateway("body.paymentId", "one"),
        )
        .await["id"]
        .clone();
    let (code, out) = s
        .hook("one", &json!({"paymentId": "PAY-1", "status": "success"}))
        .await;
    assert_eq!(code, StatusCode::OK, "{out}");
    assert_eq!(s.waiting(&guids[0]).await, [RESUMED]);

    // A new mapping and a new secret: the old secret is refused, the new mapping is used.
    let mut changed = gateway("body.payment.id", "two");
    changed["id"] = id.clone();
    s.ok("UpdateWebHookConfigCommand", changed).await;
    let moved = json!({"payment": {"id": "PAY-2"}, "status": "success"});
    let (code, out) = s.hook("one", &moved).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{out}");
    let (code, out) = s.hook("two", &moved).await;
    assert_eq!(code, StatusCode::OK, "{out}");
    assert_eq!(out["data"]["instanceGuid"], guids[1].as_str(), "{out}");
    assert_eq!(s.waiting(&guids[1]).await, [RESUMED]);

    // Off, on, gone: each is seen by the next request.
    s.ok("DeactivateWebHookConfigCommand", json!({"id": id}))
        .await;
    let third = json!({"payment": {"id": "PAY-3"}, "status": "success"});
    let (code, out) = s.hook("two", &third).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{out}");
    s.ok("ActivateWebHookConfigCommand", json!({"id": id}))
        .await;
    let (code, out) = s.hook("two", &third).await;
    assert_eq!(code, StatusCode::OK, "{out}");
    s.ok("DeleteWebHookConfigCommand", json!({"id": id})).await;
    let fourth = json!({"payment": {"id": "PAY-4"}, "status": "success"});
    let (code, out) = s.hook("two", &fourth).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{out}");
    assert_ne!(s.waiting(&guids[3]).await, [RESUMED]);

    // Created again at the same url: the new one answers.
    s.ok("CreateWebHookConfigCommand", gateway("body.ref", "three"))
        .await;
    let (code, out) = s
        .hook("three", &json!({"ref": "PAY-4", "status": "success"}))
        .await;
    assert_eq!(code, StatusCode::OK, "{out}");
    assert_eq!(s.waiting(&guids[3]).await, [RESUMED]);

    let verdicts: Vec<(String, i64)> = s
        .requests()
        .await
        .iter()
        .rev()
        .map(|r| {
            (
                r["verdict"].as_str().unwrap().to_string(),
                r["statusCode"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("accepted", 200),
        ("badSignature", 401),
        ("accepted", 200),
        ("inactive", 404),
        ("accepted", 200),
        ("notFound", 404),
        ("accepted", 200),
    ];
    let expected: Vec<(String, i64)> = expected.iter().map(|(v, c)| (v.to_string(), *c)).collect();
    assert_eq!(verdicts, expected);
}

#[tokio::test]
async fn a_request_whose_step_fails_leaves_one_row_that_says_so() {
    let (s, guids) = Server::with_payments(&["PAY-1"]).await;
    s.ok(
        "CreateWebHookConfigCommand",
        gateway("body.paymentId", "gw"),
    )
    .await;
    let before = s.waiting(&guids[0]).await;
    let rt = &s.door.t.rt;
    // Every commit of the step fails (rolled back): the runtime gives up after its retries.
    rt.fail_next_step_commits(1_000);
    let body = json!({"paymentId": "PAY-1", "status": "success"});
    let (code, out) = s.hook("gw", &body).await;
    rt.fail_next_step_commits(0);
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
    assert_eq!(out["code"], "CONFLICT", "{out}");
    assert_eq!(s.waiting(&guids[0]).await, before, "the step was not kept");
    let log = s.requests().await;
    assert_eq!(
        log.len(),
        1,
        "one row, none left by the failed commits: {log:?}"
    );
    assert_eq!(log[0]["verdict"], "accepted");
    assert_eq!(log[0]["statusCode"], 422);
    assert_eq!(log[0]["outcome"], Value::Null);
    assert!(
        log[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("kept changing")),
        "{}",
        log[0]
    );
    assert_eq!(log[0]["body"], body.to_string());

    // Sent again, with one lost race on the way: one more row, the step's own.
    rt.fail_next_step_commits(1);
    let (code, out) = s.hook("gw", &body).await;
    assert_eq!(rt.fail_next_step_commits(0), 0, "the fault was used");
    assert_eq!(code, StatusCode::OK, "{out}");
    assert_eq!(s.waiting(&guids[0]).await, [RESUMED]);
    let log = s.requests().await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0]["statusCode"], 200);
    assert_eq!(log[0]["error"], Value::Null);
    assert_eq!(log[0]["outcome"]["instanceGuid"], guids[0].as_str());
    assert_eq!(log[0]["body"], body.to_string());
    assert!(log[0]["id"].as_i64() > log[1]["id"].as_i64());
}
