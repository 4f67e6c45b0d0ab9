//! Incoming webhooks through the axum router (`oneshot`, no socket): the configuration commands
//! and their validation, 403 for non-administrators, every verification scheme accepting a
//! correctly signed request and refusing a wrong one, allowedIPs, the Paystack template started
//! by a `charge.success`, a JMESPath mapping resuming a waiting receive task, the request log
//! with its verdicts, and replay.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use baton_engine::Clock;
use baton_testkit::{template, Door, ADMIN};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::net::SocketAddr;

/// bob (team TELLERS, with a token) on a fresh runtime with a virtual clock.
struct Server {
    door: Door,
    bob: String,
}

fn server() -> Server {
    let door = Door::new();
    let bob = door.user("bob", &["TELLERS"]).token;
    Server { door, bob }
}

impl Server {
    async fn exec(&self, token: &str, cmd: &str, data: Value) -> (StatusCode, Value) {
        self.door.exec(token, cmd, data).await
    }

    /// An administrator's command that must succeed; answers its data.
    async fn ok(&self, cmd: &str, data: Value) -> Value {
        let (code, body) = self.exec(ADMIN, cmd, data).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        assert_eq!(body["isSuccessful"], true, "{cmd}: {body}");
        body["data"].clone()
    }

    /// An administrator's command refused with a field error: answers the field.
    async fn field_error(&self, cmd: &str, data: Value) -> (String, String) {
        let (code, body) = self.exec(ADMIN, cmd, data).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        assert_eq!(body["isSuccessful"], false, "{cmd}: {body}");
        let e = &body["errors"][0];
        (
            e["field"].as_str().unwrap_or_default().to_string(),
            e["message"].as_str().unwrap_or_default().to_string(),
        )
    }

    /// POSTs to a webhook door, without a bearer token, from `remote` when given.
    async fn hook(
        &self,
        path: &str,
        headers: &[(&str, String)],
        body: impl Into<Vec<u8>>,
        remote: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = Request::post(path);
        for (n, v) in headers {
            req = req.header(*n, v);
        }
        let mut req = req.body(Body::from(body.into())).unwrap();
        if let Some(r) = remote {
            let addr: SocketAddr = r.parse().unwrap();
            req.extensions_mut().insert(ConnectInfo(addr));
        }
        self.door.send(req).await
    }

    async fn requests(&self, config_id: Option<i64>) -> Vec<Value> {
        let data = match config_id {
            Some(id) => json!({"configId": id, "pageSize": 100}),
            None => json!({"pageSize": 100}),
        };
        self.ok("GetWebhookRequestListQuery", data).await["items"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn now_secs(&self) -> i64 {
        self.door.t.clock.now().as_second()
    }
}

/// A code config answering the body's `n`, with the given verification.
fn echo(url: &str, verification: Value) -> Value {
    json!({"name": "echo", "url": url, "executionType": 2, "executionCode": "request.body.n", "verification": verification})
}

fn hmac256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

fn hmac512(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<sha2::Sha512>::new_from_slice(key).unwrap();
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

// ----- configuration commands -------------------------------------------------------------------

#[tokio::test]
async fn config_commands_work_and_hide_code_and_secrets() {
    let s = server();
    let created = s
        .ok(
            "CreateWebHookConfigCommand",
            json!({"name": "pay", "url": "/webhook/paystack/payment", "executionType": 2,
                   "executionCode": "request.body.n", "verification": {"scheme": "paystack", "secret": "sk_test"},
                   "allowedIPs": ["52.31.139.75"]}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["url"], "/webhook/paystack/payment");
    assert_eq!(created["key"], Value::Null);
    assert!(!created.to_string().contains("sk_test"), "{created}");

    // Without a url a key is generated and the path to call is /webhook/k/{key}.
    let keyed = s
        .ok(
            "CreateWebHookConfigCommand",
            json!({"name": "k", "executionType": 0, "commandName": "GetUserListQuery", "verification": {"scheme": "none"}}),
        )
        .await;
    let key = keyed["key"].as_str().unwrap().to_string();
    assert_eq!(keyed["url"], format!("/webhook/k/{key}"));

    let list = s
        .ok(
            "GetWebHookConfigListQuery",
            json!({"pageNumber": 1, "pageSize": 10}),
        )
        .await;
    assert_eq!(list["totalCount"], 2);
    assert_eq!(list["items"][0]["executionCode"], Value::Null);
    assert_eq!(
        list["items"][0]["verification"],
        json!({"scheme": "paystack", "secretSet": true})
    );
    assert!(!list.to_string().contains("sk_test"));
    let page2 = s
        .ok(
            "GetWebHookConfigListQuery",
            json!({"pageNumber": 2, "pageSize": 1}),
        )
        .await;
    assert_eq!(page2["items"][0]["name"], "k");

    let one = s.ok("GetWebHookConfigByIdQuery", json!({"id": id})).await;
    assert_eq!(one["executionCode"], "request.body.n");
    assert_eq!(one["allowedIPs"], json!(["52.31.139.75"]));
    assert!(!one.to_string().contains("sk_test"));

    let found = s.ok("LookupWebHookByKeyCommand", json!({"key": key})).await;
    assert_eq!(found["name"], "k");
    let (f, _) = s
        .field_error("LookupWebHookByKeyCommand", json!({"key": "nokeyhere"}))
        .await;
    assert_eq!(f, "key");

    // An update without a secret for the same scheme keeps the stored one.
    let updated = s
        .ok(
            "UpdateWebHookConfigCommand",
            json!({"id": id, "name": "paystack", "verification": {"scheme": "paystack"}, "allowedIPs": []}),
        )
        .await;
    assert_eq!(updated["config"]["name"], "paystack");
    assert_eq!(updated["config"]["verification"]["secretSet"], true);
    let body = br#"{"n": 1}"#;
    let sig = hex::encode(hmac512(b"sk_test", body));
    let (code, _) = s
        .hook(
            "/webhook/paystack/payment",
            &[("x-paystack-signature", sig)],
            body.to_vec(),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK);

    let off = s
        .ok("DeactivateWebHookConfigCommand", json!({"id": id}))
        .await;
    assert_eq!(off["isActive"], false);
    let on = s
        .ok("ActivateWebHookConfigCommand", json!({"id": id}))
        .await;
    assert_eq!(on["isActive"], true);
    s.ok("DeleteWebHookConfigCommand", json!({"id": id})).await;
    let (f, _) = s
        .field_error("GetWebHookConfigByIdQuery", json!({"id": id}))
        .await;
    assert_eq!(f, "id");
    for cmd in [
        "DeleteWebHookConfigCommand",
        "ActivateWebHookConfigCommand",
        "DeactivateWebHookConfigCommand",
        "UpdateWebHookConfigCommand",
    ] {
        let (f, _) = s.field_error(cmd, json!({"id": 999})).await;
        assert_eq!(f, "id", "{cmd}");
    }
    // The request made before the deletion stays in the log, without its configuration.
    let log = s.requests(None).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["configId"], Value::Null);
}

#[tokio::test]
async fn config_validation_names_the_field() {
    let s = server();
    let base = echo("/webhook/a", json!({"scheme": "none"}));
    let with = |k: &str, v: Value| {
        let mut d = base.clone();
        d[k] = v;
        d
    };
    let cases = [
        (with("name", json!("")), "name"),
        (with("url", json!("/hooks/a")), "url"),
        (with("url", json!("/webhook/k/reserved")), "url"),
        (with("url", json!("/webhook/a b")), "url"),
        (with("executionType", json!(7)), "executionType"),
        (with("executionCode", json!("let x = ;")), "executionCode"),
        (
            with("verification", json!({"scheme": "md5"})),
            "verification",
        ),
        (
            with("verification", json!({"scheme": "paystack"})),
            "verification",
        ),
        (
            with(
                "verification",
                json!({"scheme": "standardWebhooks", "secret": "plain"}),
            ),
            "verification",
        ),
        (
            with(
                "verification",
                json!({"scheme": "paystack", "secret": "s", "header": "x"}),
            ),
            "verification",
        ),
        (
            with("allowedIPs", json!(["1.2.3.4", "not-an-ip"])),
            "allowedIPs",
        ),
        (with("allowedIPs", json!("1.2.3.4")), "allowedIPs"),
        (with("isActive", json!("yes")), "isActive"),
        (with("key", json!("bad key!")), "key"),
        (
            json!({"name": "c", "url": "/webhook/c", "executionType": 0, "commandName": "NoSuchCommand", "verification": {"scheme": "none"}}),
            "commandName",
        ),
        (
            json!({"name": "c", "url": "/webhook/c", "executionType": 0, "commandName": "GetUserListQuery",
                   "commandData": {"x": "body.[["}, "verification": {"scheme": "none"}}),
            "commandData",
        ),
        (
            json!({"name": "c", "url": "/webhook/c", "executionType": 1, "commandChain": [], "verification": {"scheme": "none"}}),
            "commandChain",
        ),
        (
            json!({"name": "c", "url": "/webhook/c", "executionType": 3, "processKey": "Nope", "verification": {"scheme": "none"}}),
            "processKey",
        ),
    ];
    for (data, field) in cases {
        let (f, m) = s
            .field_error("CreateWebHookConfigCommand", data.clone())
            .await;
        assert_eq!(f, field, "{data}: {m}");
    }
    s.ok("CreateWebHookConfigCommand", base.clone()).await;
    let (f, m) = s
        .field_error("CreateWebHookConfigCommand", base.clone())
        .await;
    assert_eq!(f, "url", "{m}");
    assert_eq!(
        s.ok("GetWebHookConfigListQuery", json!({})).await["totalCount"],
        1
    );
    let (f, _) = s
        .field_error("GetWebHookConfigListQuery", json!({"pageSize": 0}))
        .await;
    assert_eq!(f, "pageSize");
}

#[tokio::test]
async fn non_administrators_may_not_manage_webhooks() {
    let s = server();
    let id = s
        .ok(
            "CreateWebHookConfigCommand",
            echo("/webhook/x", json!({"scheme": "none"})),
        )
        .await["id"]
        .clone();
    for (cmd, data) in [
        (
            "CreateWebHookConfigCommand",
            echo("/webhook/y", json!({"scheme": "none"})),
        ),
        ("UpdateWebHookConfigCommand", json!({"id": id, "name": "z"})),
        ("DeleteWebHookConfigCommand", json!({"id": id})),
        ("ActivateWebHookConfigCommand", json!({"id": id})),
        ("DeactivateWebHookConfigCommand", json!({"id": id})),
        ("ReplayWebhookRequestCommand", json!({"id": 1})),
        // The request log holds what gateways sent (payment and personal data).
        ("GetWebhookRequestListQuery", json!({})),
    ] {
        let (code, body) = s.exec(&s.bob, cmd, data).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "{cmd}: {body}");
    }
    let (code, _) = s.exec(&s.bob, "GetWebHookConfigListQuery", json!({})).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        s.ok("GetWebHookConfigByIdQuery", json!({"id": id})).await["name"],
        "echo"
    );
}

// ----- verification schemes ---------------------------------------------------------------------

#[tokio::test]
async fn every_scheme_accepts_a_signed_request_and_refuses_a_wrong_one() {
    let s = server();
    let body = br#"{"n": 42}"#.to_vec();
    let now = s.now_secs();

    // Standard Webhooks.
    let key = b"a standard secret";
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    );
    s.ok(
        "CreateWebHookConfigCommand",
        echo(
            "/webhook/std",
            json!({"scheme": "standardWebhooks", "secret": secret}),
        ),
    )
    .await;
    let signed = |ts: i64, k: &[u8]| {
        let mut msg = format!("msg_1.{ts}.").into_bytes();
        msg.extend_from_slice(&body);
        format!(
            "v1,bm90IGl0 v1,{}",
            base64::engine::general_purpose::STANDARD.encode(hmac256(k, &msg))
        )
    };
    let std_headers = |ts: i64, sig: String| {
        vec![
            ("webhook-id", "msg_1".to_string()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", sig),
        ]
    };
    let (code, out) = s
        .hook(
            "/webhook/std",
            &std_headers(now, signed(now, key)),
            body.clone(),
            None,
        )
        .await;
    assert_eq!(
        (code, &out["data"]["value"]),
        (StatusCode::OK, &json!(42)),
        "{out}"
    );
    assert_eq!(out["isSuccessful"], true);
    let (code, _) = s
        .hook(
            "/webhook/std",
            &std_headers(now, signed(now, b"wrong")),
            body.clone(),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let old = now - 301;
    let (code, out) = s
        .hook(
            "/webhook/std",
            &std_headers(old, signed(old, key)),
            body.clone(),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{out}");
    let (code, _) = s.hook("/webhook/std", &[], body.clone(), None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);

    // Paystack.
    s.ok(
        "CreateWebHookConfigCommand",
        echo(
            "/webhook/ps",
            json!({"scheme": "paystack", "secret": "sk_live"}),
        ),
    )
    .await;
    let good = hex::encode(hmac512(b"sk_live", &body));
    let (code, _) = s
        .hook(
            "/webhook/ps",
            &[("x-paystack-signature", good)],
            body.clone(),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let bad = hex::encode(hmac512(b"sk_other", &body));
    let (code, _) = s
        .hook(
            "/webhook/ps",
            &[("x-paystack-signature", bad)],
            body.clone(),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);

    // Stripe.
    s.ok(
        "CreateWebHookConfigCommand",
        echo(
            "/webhook/stripe",
            json!({"scheme": "stripe", "secret": "whsec_stripe"}),
        ),
    )
    .await;
    let stripe = |t: i64, k: &[u8]| {
        let mut msg = format!("{t}.").into_bytes();
        msg.extend_from_slice(&body);
        format!("t={t},v1=00ff,v1={}", hex::encode(hmac256(k, &msg)))
    };
    let (code, _) = s
        .hook(
            "/webhook/stripe",
            &[("Stripe-Signature", stripe(now, b"whsec_stripe"))],
            body.clone(),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = s
        .hook(
            "/webhook/stripe",
            &[("Stripe-Signature", stripe(now, b"nope"))],
            body.clone(),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, _) = s
        .hook(
            "/webhook/stripe",
            &[("Stripe-Signature", stripe(now + 600, b"whsec_stripe"))],
            body.clone(),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);

    // Flutterwave.
    s.ok(
        "CreateWebHookConfigCommand",
        echo(
            "/webhook/flw",
            json!({"scheme": "flutterwave", "secret": "flw-hash"}),
        ),
    )
    .await;
    let (code, _) = s
        .hook(
            "/webhook/flw",
            &[("verif-hash", "flw-hash".into())],
            body.clone(),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = s
        .hook(
            "/webhook/flw",
            &[("verif-hash", "flw-hasX".into())],
            body.clone(),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);

    // Generic HMAC-SHA256, default header and a named one with the sha256= prefix.
    s.ok(
        "CreateWebHookConfigCommand",
        echo(
            "/webhook/h1",
            json!({"scheme": "hmacSha256", "secret": "k1"}),
        ),
    )
    .await;
    let (code, _) = s
        .hook(
            "/webhook/h1",
            &[("x-signature", hex::encode(hmac256(b"k1", &body)))],
            body.clone(),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = s
        .hook(
            "/webhook/h1",
            &[("x-signature", hex::encode(hmac256(b"k2", &body)))],
            body.clone(),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    s.ok(
        "CreateWebHookConfigCommand",
        echo(
            "/webhook/h2",
            json!({"scheme": "hmacSha256", "secret": "k1", "header": "X-Hub-Signature-256"}),
        ),
    )
    .await;
    let sig = format!("sha256={}", hex::encode(hmac256(b"k1", &body)));
    let (code, _) = s
        .hook(
            "/webhook/h2",
            &[("x-hub-signature-256", sig)],
            body.clone(),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = s
        .hook(
            "/webhook/h2",
            &[("x-hub-signature-256", "sha256=zz".into())],
            body.clone(),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);

    // The flutterwave secret (its header) never reaches the request log.
    let log = s.requests(None).await;
    assert!(!serde_json::to_string(&log).unwrap().contains("flw-hash"));
    let verdicts: Vec<&str> = log.iter().map(|r| r["verdict"].as_str().unwrap()).collect();
    assert_eq!(verdicts.iter().filter(|v| **v == "accepted").count(), 6);
    assert_eq!(verdicts.iter().filter(|v| **v == "badSignature").count(), 9);
}

#[tokio::test]
async fn allowed_ips_refuse_other_addresses() {
    let s = server();
    let mut cfg = echo("/webhook/ips", json!({"scheme": "none"}));
    cfg["allowedIPs"] = json!(["52.31.139.75", "2001:db8::1"]);
    let id = s.ok("CreateWebHookConfigCommand", cfg).await["id"]
        .as_i64()
        .unwrap();
    let body = br#"{"n": 1}"#.to_vec();
    let (code, _) = s
        .hook("/webhook/ips", &[], body.clone(), Some("52.31.139.75:4000"))
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = s
        .hook(
            "/webhook/ips",
            &[],
            body.clone(),
            Some("[2001:db8::1]:4000"),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, out) = s
        .hook("/webhook/ips", &[], body.clone(), Some("10.0.0.9:4000"))
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{out}");
    // X-Forwarded-For is not trusted; no socket address is "unknown" and refused.
    let (code, _) = s
        .hook(
            "/webhook/ips",
            &[("x-forwarded-for", "52.31.139.75".into())],
            body.clone(),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let log = s.requests(Some(id)).await;
    assert_eq!(log[0]["verdict"], "ipNotAllowed");
    assert_eq!(log[0]["remoteAddr"], "unknown");
    assert_eq!(log[1]["remoteAddr"], "10.0.0.9");
    assert_eq!(log[3]["verdict"], "accepted");
}

// ----- executions -------------------------------------------------------------------------------

#[tokio::test]
async fn paystack_charge_success_runs_the_payment_template() {
    let s = server();
    s.ok(
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": template("webhook-payment/WebhookPaymentFlow.bpmn")}),
    )
    .await;
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "paystack", "url": "/webhook/paystack/payment", "executionType": 3,
               "processKey": "WebhookPaymentFlow", "verification": {"scheme": "paystack", "secret": "sk_test_1"}}),
    )
    .await;
    let body = json!({"event": "charge.success", "data": {"reference": "REF123456", "amount": 50000, "customer": {"email": "john@example.com"}}}).to_string();
    let sig = hex::encode(hmac512(b"sk_test_1", body.as_bytes()));
    let (code, out) = s
        .hook(
            "/webhook/paystack/payment?source=test",
            &[
                ("x-paystack-signature", sig),
                ("content-type", "application/json".into()),
            ],
            body.clone(),
            Some("52.31.139.75:443"),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{out}");
    let guid = out["data"]["instanceGuid"].as_str().unwrap();
    let inst = s
        .ok("GetProcessInstanceByIdQuery", json!({"instanceGuid": guid}))
        .await;
    assert_eq!(inst["status"], "COMPLETED", "{inst}");
    let v = &inst["variables"];
    assert_eq!(v["posted"], true);
    assert_eq!(v["postedAmount"], 50000);
    assert_eq!(v["reference"], "REF123456");
    assert_eq!(v["confirmationSent"], true);
    assert_eq!(v["confirmationTo"], "john@example.com");
    assert_eq!(v["webhook"]["remoteAddr"], "52.31.139.75");
    assert_eq!(v["webhook"]["query"], json!({"source": "test"}));
    assert_eq!(v["webhook"]["headers"]["content-type"], "application/json");
    assert!(v["webhook"]["configId"].is_i64());

    // Not JSON: recorded, 400, nothing started.
    let junk = b"\xff\x00not json".to_vec();
    let sig = hex::encode(hmac512(b"sk_test_1", &junk));
    let (code, _) = s
        .hook(
            "/webhook/paystack/payment",
            &[("x-paystack-signature", sig)],
            junk,
            None,
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let list = s.ok("GetProcessInstanceListQuery", json!({})).await;
    assert_eq!(list["totalCount"], 1, "{list}");
    let log = s.requests(None).await;
    assert_eq!(log[0]["verdict"], "badBody");
    assert_eq!(log[0]["statusCode"], 400);
}

#[tokio::test]
async fn jmespath_mapping_resumes_a_waiting_receive_task() {
    let s = server();
    s.ok(
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": template("payment-approval/PaymentApprovalProcess.bpmn")}),
    )
    .await;
    let started = s
        .ok("StartProcessInstanceCommand", json!({"processKey": "PaymentApprovalProcess", "variables": {"paymentId": "PAY-1001", "amount": 50000}}))
        .await;
    let guid = started["instanceGuid"].as_str().unwrap().to_string();
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "gateway", "url": "/webhook/gateway/callback", "executionType": 0,
               "commandName": "ReturnCallbackCommand",
               "commandData": {"correlationKey": "body.data.paymentId",
                               "result": "{status: body.data.status, gatewayReference: body.data.ref, via: headers.\"x-gateway\"}"},
               "verification": {"scheme": "hmacSha256", "secret": "gw"}}),
    )
    .await;
    let body = json!({"event": "payment.completed", "data": {"paymentId": "PAY-1001", "status": "success", "ref": "PSK-778"}}).to_string();
    let sig = hex::encode(hmac256(b"gw", body.as_bytes()));
    let (code, out) = s
        .hook(
            "/webhook/gateway/callback",
            &[("x-signature", sig.clone()), ("x-gateway", "psk".into())],
            body.clone(),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{out}");
    let inst = s
        .ok("GetProcessInstanceByIdQuery", json!({"instanceGuid": guid}))
        .await;
    let waiting: Vec<&str> = inst["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["taskId"].as_str().unwrap())
        .collect();
    assert_eq!(waiting, ["Task_ReviewPayment"], "{inst}");

    // A second delivery for a key nobody waits on fails: 422, recorded with its error.
    let body2 = json!({"data": {"paymentId": "PAY-9", "status": "success"}}).to_string();
    let sig2 = hex::encode(hmac256(b"gw", body2.as_bytes()));
    let (code, out) = s
        .hook(
            "/webhook/gateway/callback",
            &[("x-signature", sig2)],
            body2,
            None,
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
    assert_eq!(out["isSuccessful"], false);
    let log = s.requests(None).await;
    assert_eq!(
        (log[0]["verdict"].as_str(), log[0]["statusCode"].as_i64()),
        (Some("accepted"), Some(422))
    );
    assert!(
        log[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("PAY-9")),
        "{}",
        log[0]
    );
    assert_eq!(log[1]["statusCode"], 200);
    assert!(log[1]["outcome"].is_object(), "{}", log[1]);
}

#[tokio::test]
async fn command_chains_and_code_see_the_request() {
    let s = server();
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "chain", "url": "/webhook/chain", "executionType": 1,
               "commandChain": [
                   {"commandName": "CreateUserCommand", "commandData": {"userName": "$request.body.user"}},
                   {"commandName": "GetUserListQuery", "commandData": {}}
               ],
               "verification": {"scheme": "none"}}),
    )
    .await;
    let (code, out) = s
        .hook("/webhook/chain", &[], r#"{"user": "carol"}"#, None)
        .await;
    assert_eq!(code, StatusCode::OK, "{out}");
    assert!(out["data"]["result"].to_string().contains("carol"), "{out}");
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "code", "url": "/webhook/code", "executionType": 2,
               "executionCode": "if request.query.kind == \"x\" { request.body.a + 1 } else { throw \"no kind\" }",
               "verification": {"scheme": "none"}}),
    )
    .await;
    let (code, out) = s
        .hook("/webhook/code?kind=x", &[], r#"{"a": 1}"#, None)
        .await;
    assert_eq!(
        (code, out["data"]["value"].clone()),
        (StatusCode::OK, json!(2)),
        "{out}"
    );
    let (code, out) = s.hook("/webhook/code", &[], "plain text", None).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
}

// ----- the request log and replay ---------------------------------------------------------------

#[tokio::test]
async fn the_request_log_records_every_verdict_and_replays() {
    let s = server();
    s.ok(
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": template("webhook-payment/WebhookPaymentFlow.bpmn")}),
    )
    .await;
    let created = s
        .ok(
            "CreateWebHookConfigCommand",
            json!({"name": "keyed", "executionType": 3, "processKey": "WebhookPaymentFlow", "verification": {"scheme": "flutterwave", "secret": "h"}}),
        )
        .await;
    let (id, path) = (
        created["id"].as_i64().unwrap(),
        created["url"].as_str().unwrap().to_string(),
    );
    let body =
        json!({"event": "charge.failed", "data": {"reference": "R", "amount": 1}}).to_string();
    let good = [("verif-hash", "h".to_string())];

    let (code, _) = s.hook("/webhook/nothing/here", &[], "{}", None).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = s.hook("/webhook/k/unknownkey", &[], "{}", None).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = s.hook(&path, &[], body.clone(), None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, out) = s.hook(&path, &good, body.clone(), None).await;
    assert_eq!(code, StatusCode::OK, "{out}");
    let big = vec![b' '; baton_runtime::http::MAX_BODY_BYTES + 1];
    let (code, _) = s.hook(&path, &good, big, None).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
    s.ok("DeactivateWebHookConfigCommand", json!({"id": id}))
        .await;
    let (code, out) = s.hook(&path, &good, body.clone(), None).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{out}");

    let all = s.requests(None).await;
    let verdicts: Vec<&str> = all.iter().map(|r| r["verdict"].as_str().unwrap()).collect();
    assert_eq!(
        verdicts,
        [
            "inactive",
            "tooLarge",
            "accepted",
            "badSignature",
            "notFound",
            "notFound"
        ]
    );
    assert_eq!(all[0]["statusCode"], 404);
    assert_eq!(all[2]["headers"]["verif-hash"], "[redacted]");
    assert_eq!(all[2]["body"], body);
    assert_eq!(all[2]["trigger"], "live");
    assert_eq!(all[4]["configId"], Value::Null);
    assert_eq!(s.requests(Some(id)).await.len(), 4);

    // Replay runs the accepted request again (the configuration must be active).
    let accepted = all[2]["id"].as_i64().unwrap();
    let (f, _) = s
        .field_error("ReplayWebhookRequestCommand", json!({"id": accepted}))
        .await;
    assert_eq!(f, "id");
    s.ok("ActivateWebHookConfigCommand", json!({"id": id}))
        .await;
    let replayed = s
        .ok("ReplayWebhookRequestCommand", json!({"id": accepted}))
        .await;
    assert_eq!(replayed["statusCode"], 200);
    assert!(replayed["outcome"]["instanceGuid"].is_string());
    let log = s.requests(Some(id)).await;
    assert_eq!(log[0]["trigger"], "replay");
    assert_eq!(log[0]["replayOf"], accepted);
    assert_eq!(log[0]["verdict"], "accepted");
    assert_eq!(
        s.ok("GetProcessInstanceListQuery", json!({})).await["totalCount"],
        2
    );
    let (f, _) = s
        .field_error("ReplayWebhookRequestCommand", json!({"id": all[4]["id"]}))
        .await;
    assert_eq!(f, "id");
    let (f, _) = s
        .field_error("ReplayWebhookRequestCommand", json!({"id": 9999}))
        .await;
    assert_eq!(f, "id");
}
