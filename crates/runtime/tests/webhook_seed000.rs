//! Seed 000's payment flow as the seed prints it (issue 11 item 3), through the doors served on
//! 127.0.0.1 over a real SQLite file: Step 1's `CreateWebHookConfigCommand` (name, url,
//! executionType 3, processDefinitionId 50, no verification) is accepted and marked unverified
//! in its answer, by id and in the list; Step 2's Paystack callback, sent as printed, starts
//! process 50 with the webhook's data; a repeat carrying the sender's id runs nothing twice;
//! the whole flow (Steps 1-4) resumes the process that waits for the payment.

use baton_testkit::{Door, Model, Served, ADMIN};
use serde_json::{json, Value};

/// Seed 000, "Step 1: Create Payment Webhook", verbatim.
const STEP_1: &str = r#"{
"cmd": "CreateWebHookConfigCommand",
"data": {
"name": "Paystack Payment Callback",
"url": "/webhook/paystack/payment",
"executionType": 3,
"processDefinitionId": 50
}
}"#;

/// Seed 000, "Step 2: Paystack Sends Callback", the body verbatim.
const STEP_2: &str = r#"{
"event": "charge.success",
"data": {
"reference": "REF123456",
"amount": 50000,
"customer": { "email": "john@example.com" }
}
}"#;

struct Site {
    /// Holds the runtime and its database file.
    _door: Door,
    served: Served,
}

impl Site {
    fn ok(&self, cmd: &str, data: Value) -> Value {
        let (code, out) = self.served.exec(ADMIN, cmd, data);
        assert_eq!(
            (code, &out["isSuccessful"]),
            (200, &json!(true)),
            "{cmd}: {out}"
        );
        out["data"].clone()
    }

    /// `POST path` with a raw body and these headers; the status and the JSON answer.
    fn post(
        &self,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Value) {
        self.served.send(path, token, headers, body)
    }
}

/// Seed 000, "Step 4: Original Process Resumes", verbatim.
const STEP_4: &str = r#"{
"cmd": "ReturnCallbackCommand",
"data": {
"correlationKey": "REF123456",
"result": { "status": "success", "amount": 50000 }
}
}"#;

/// A server whose process definition 50 is seed 000's payment process ("Process (ID=50)
/// starts with webhook data in Context variable"): 49 other definitions come first.
fn site() -> Site {
    site_with(
        &Model::process("PaystackPayment")
            .start("S")
            .user_task("PostTransaction")
            .end("E")
            .flow("S", "PostTransaction")
            .flow("PostTransaction", "E")
            .xml(),
    )
}

/// As `site`, with `payment` (process key `PaystackPayment`) as definition 50.
fn site_with(payment: &str) -> Site {
    let door = Door::new();
    for i in 1..50 {
        let key = format!("Filler{i}");
        door.t.deploy(
            &Model::process(&key)
                .start("S")
                .end("E")
                .flow("S", "E")
                .xml(),
        );
    }
    let d = door.t.deploy(payment);
    assert_eq!(d["processDefinitionId"], 50, "{d}");
    let served = Served::start(door.st.clone());
    Site {
        _door: door,
        served,
    }
}

fn instances(s: &Site) -> Vec<Value> {
    let d = s.ok(
        "GetProcessInstanceListQuery",
        json!({"processKey": "PaystackPayment", "pageSize": 50}),
    );
    d["items"].as_array().unwrap().clone()
}

#[test]
fn seed_000_step_1_is_accepted_and_marked_unverified() {
    let s = site();
    let (code, out) = s.post("/api/v1/execute", Some(ADMIN), &[], STEP_1);
    assert_eq!((code, &out["isSuccessful"]), (200, &json!(true)), "{out}");
    let d = &out["data"];
    assert_eq!(d["url"], "/webhook/paystack/payment");
    assert_eq!(d["verified"], false, "{out}");
    let warning = d["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains("anyone who knows its URL can call it"),
        "{out}"
    );
    assert!(
        out["message"].as_str().unwrap().contains("unverified"),
        "{out}"
    );
    assert_eq!(d["config"]["verification"]["scheme"], "none");
    assert_eq!(d["config"]["processDefinitionId"], 50);
    let id = d["id"].clone();

    // By id and in the list: marked the same way.
    let by_id = s.ok("GetWebHookConfigByIdQuery", json!({"id": id}));
    assert_eq!(by_id["verified"], false);
    assert!(by_id["warning"]
        .as_str()
        .unwrap()
        .contains("anyone who knows its URL"));
    let list = s.ok("GetWebHookConfigListQuery", json!({}));
    assert_eq!(list["items"][0]["verified"], false);
    assert_eq!(list["items"][0]["warning"], by_id["warning"]);

    // Seed 001's door takes the same fields ("$type" beside them).
    let (code, out) = s.post(
        "/api/bpm/cmd",
        Some(ADMIN),
        &[],
        r#"{"$type": "CreateWebHookConfigCommand", "name": "Paystack (bpm)", "url": "/webhook/paystack/bpm", "executionType": 3, "processDefinitionId": 50}"#,
    );
    assert_eq!((code, &out["success"]), (200, &json!(true)), "{out}");
    assert_eq!(out["data"]["verified"], false);

    // A signed configuration is verified and has no warning.
    let signed = s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "signed", "url": "/webhook/paystack/signed", "executionType": 3,
            "processDefinitionId": 50, "verification": {"scheme": "paystack", "secret": "sk_test_x"}}),
    );
    assert_eq!(signed["verified"], true);
    assert_eq!(signed["warnings"], json!([]));
    assert_eq!(signed["config"]["warning"], Value::Null);
    // allowedIPs without a signature: still unverified, and the warning says who may call.
    let by_ip = s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "by address", "url": "/webhook/paystack/ip", "executionType": 3,
            "processDefinitionId": 50, "allowedIPs": ["52.31.139.75", "52.49.173.169"]}),
    );
    assert_eq!(by_ip["verified"], false);
    assert!(by_ip["warnings"][0]
        .as_str()
        .unwrap()
        .contains("allowedIPs"));
    // Updating a configuration to a signature check takes the mark off.
    let updated = s.ok(
        "UpdateWebHookConfigCommand",
        json!({"id": id, "verification": {"scheme": "paystack", "secret": "sk_test_y"}}),
    );
    assert_eq!(updated["verified"], true);
}

#[test]
fn seed_000_step_2_starts_process_50_and_a_repeat_with_the_senders_id_runs_once() {
    let s = site();
    let (code, out) = s.post("/api/v1/execute", Some(ADMIN), &[], STEP_1);
    assert_eq!(code, 200, "{out}");

    // Step 2, as printed: no signature, no sender id. Process 50 starts with the body's fields.
    let (code, out) = s.post("/webhook/paystack/payment", None, &[], STEP_2);
    assert_eq!((code, &out["isSuccessful"]), (200, &json!(true)), "{out}");
    let guid = out["data"]["instanceGuid"].as_str().unwrap().to_string();
    let inst = s.ok("GetProcessInstanceByIdQuery", json!({"instanceGuid": guid}));
    assert_eq!(inst["processDefinitionId"], 50);
    assert_eq!(inst["variables"]["event"], "charge.success");
    assert_eq!(inst["variables"]["data"]["reference"], "REF123456");
    assert_eq!(inst["variables"]["data"]["amount"], 50000);
    // Without an id a second identical request is a second delivery: nothing says otherwise.
    let (code, _) = s.post("/webhook/paystack/payment", None, &[], STEP_2);
    assert_eq!(code, 200);
    assert_eq!(instances(&s).len(), 2);

    // The same body with a Standard Webhooks id: the first runs, the repeat is a duplicate.
    let id = [("webhook-id", "msg_2b6uBJ0XvRJG0JM1T0l0Z0Yq3qW")];
    let (code, first) = s.post("/webhook/paystack/payment", None, &id, STEP_2);
    assert_eq!(
        (code, &first["isSuccessful"]),
        (200, &json!(true)),
        "{first}"
    );
    let (code, again) = s.post("/webhook/paystack/payment", None, &id, STEP_2);
    assert_eq!(code, 200, "{again}");
    assert_eq!(again["isSuccessful"], true, "{again}");
    assert_eq!(again["duplicate"], true, "{again}");
    assert_eq!(
        again["data"]["firstOutcome"]["instanceGuid"], first["data"]["instanceGuid"],
        "{again}"
    );
    assert_eq!(instances(&s).len(), 3, "the repeat started nothing");

    // The request log shows it.
    let log = s.ok("GetWebhookRequestListQuery", json!({"pageSize": 10}));
    let newest = &log["items"][0];
    assert_eq!(newest["verdict"], "duplicate", "{newest}");
    assert_eq!(
        newest["senderId"],
        "webhook-id:msg_2b6uBJ0XvRJG0JM1T0l0Z0Yq3qW"
    );
    assert_eq!(newest["duplicateOf"], log["items"][1]["id"]);
    assert_eq!(log["items"][1]["verdict"], "accepted");
}

/// Step 3's process 50 as seed 000 tells it, in the seeds' JavaScript: it posts the transaction
/// and returns the callback to the waiting process ("Returns callback to waiting process").
fn payment_process() -> String {
    Model::process("PaystackPayment")
        .start("S")
        .js_script_task(
            "PostTransaction",
            "var data = execution.getVariable('data');\n\
             execution.setVariable('posted', { reference: data.reference, amount: data.amount });",
        )
        .js_script_task(
            "ReturnCallback",
            "var data = execution.getVariable('data');\n\
             doCmd('ReturnCallbackCommand', {\n\
               correlationKey: data.reference,\n\
               result: { status: 'success', amount: data.amount }\n\
             });",
        )
        .end("E")
        .chain(&["S", "PostTransaction", "ReturnCallback", "E"])
        .xml()
}

/// The process that triggered the payment: it waits in a webhook-mode receive task keyed by
/// its `reference`.
fn checkout() -> String {
    Model::process("Checkout")
        .start("S")
        .receive_task("WaitForPayment")
        .props(&[("correlationKey", "context.reference")])
        .end("E")
        .chain(&["S", "WaitForPayment", "E"])
        .xml()
}

#[test]
fn seed_000_whole_payment_flow_resumes_the_process_that_waits_for_the_payment() {
    let s = site_with(&payment_process());
    s.ok(
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": checkout()}),
    );
    let start = |reference: &str| {
        let d = s.ok(
            "StartProcessInstanceCommand",
            json!({"processKey": "Checkout", "variables": {"reference": reference}}),
        );
        d["instanceGuid"].as_str().unwrap().to_string()
    };
    let waiting = start("REF123456");
    let status = |guid: &str| s.ok("GetProcessInstanceByIdQuery", json!({"instanceGuid": guid}));
    assert_eq!(status(&waiting)["status"], "WAITING");

    // Steps 1 and 2 as printed: the webhook starts process 50, whose script returns the
    // callback (Step 3); the waiting process resumes with Step 4's result.
    let (code, out) = s.post("/api/v1/execute", Some(ADMIN), &[], STEP_1);
    assert_eq!(code, 200, "{out}");
    let (code, out) = s.post("/webhook/paystack/payment", None, &[], STEP_2);
    assert_eq!((code, &out["isSuccessful"]), (200, &json!(true)), "{out}");
    let payment = out["data"]["instanceGuid"].as_str().unwrap().to_string();
    let p = status(&payment);
    assert_eq!(p["status"], "COMPLETED", "{p}");
    assert_eq!(
        p["variables"]["posted"],
        json!({"reference": "REF123456", "amount": 50000})
    );
    let resumed = status(&waiting);
    assert_eq!(resumed["status"], "COMPLETED", "{resumed}");
    let expected = json!({"status": "success", "amount": 50000});
    assert_eq!(resumed["variables"]["lastReceiveTaskResult"], expected);
    // The result went to lastReceiveTaskResult only (seed 002), not over the variables.
    assert_eq!(resumed["variables"].get("amount"), None, "{resumed}");

    // Step 4 as printed, sent by a client for the next payment on the same reference.
    let next = start("REF123456");
    let (code, out) = s.post("/api/v1/execute", Some(ADMIN), &[], STEP_4);
    assert_eq!((code, &out["isSuccessful"]), (200, &json!(true)), "{out}");
    let resumed = status(&next);
    assert_eq!(resumed["status"], "COMPLETED", "{resumed}");
    assert_eq!(resumed["variables"]["lastReceiveTaskResult"], expected);
    // Sent again, it finds nothing waiting: a duplicate, and nothing moves.
    let (_, again) = s.post("/api/v1/execute", Some(ADMIN), &[], STEP_4);
    assert_eq!(again["isSuccessful"], true, "{again}");
    assert_eq!(again["data"]["duplicate"], true, "{again}");
}
