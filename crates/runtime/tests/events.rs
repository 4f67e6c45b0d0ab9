//! Events out: subscriptions at three levels, custom webhooks with secrets and transforms,
//! Standard Webhooks signatures, retries with backoff on a virtual clock, redelivery, validation,
//! and that a failed command enqueues nothing. A real HTTP receiver on 127.0.0.1 records what
//! arrives; `deliver_due` sends synchronously (no sender thread).

use base64::Engine as _;
use baton_engine::{Clock, VirtualClock};
use baton_runtime::{Reply, Runtime};
use baton_store::Durability;
use baton_testkit::{Received, Receiver};
use hmac::Mac;
use jiff::SignedDuration;
use serde_json::{json, Value};
use std::sync::Arc;

const MODEL: &str = r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="Review_Flow" isExecutable="true">
    <bpmn:startEvent id="Start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="Review"/>
    <bpmn:userTask id="Review" name="Manager review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Review" targetRef="End"/>
    <bpmn:endEvent id="End"/>
  </bpmn:process>
</bpmn:definitions>"#;

const OTHER: &str = r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d2">
  <bpmn:process id="Other_Flow" isExecutable="true">
    <bpmn:startEvent id="S"/>
    <bpmn:sequenceFlow id="g1" sourceRef="S" targetRef="Wait"/>
    <bpmn:userTask id="Wait"/>
    <bpmn:sequenceFlow id="g2" sourceRef="Wait" targetRef="E"/>
    <bpmn:endEvent id="E"/>
  </bpmn:process>
</bpmn:definitions>"#;

struct T {
    rt: Runtime,
    clock: Arc<VirtualClock>,
    _dir: tempfile::TempDir,
}

fn setup() -> T {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock::new(VirtualClock::default_start()));
    let rt = Runtime::open(&dir.path().join("e.db"), Durability::Normal, clock.clone()).unwrap();
    let t = T {
        rt,
        clock,
        _dir: dir,
    };
    t.run("DeployProcessDefinitionCommand", json!({"bpmnXml": MODEL}));
    t.run("DeployProcessDefinitionCommand", json!({"bpmnXml": OTHER}));
    t
}

impl T {
    fn run(&self, cmd: &str, data: Value) -> Value {
        let r = self.rt.execute(cmd, &data, None);
        assert!(r.is_successful, "{cmd}: {r:?}");
        r.data
    }
    fn refused(&self, cmd: &str, data: Value) -> Reply {
        let r = self.rt.execute(cmd, &data, None);
        assert!(!r.is_successful, "{cmd} should be refused: {r:?}");
        r
    }
    fn deliveries(&self) -> Vec<Value> {
        self.run("GetDeliveryListQuery", json!({"pageSize": 100}))["items"]
            .as_array()
            .unwrap()
            .clone()
    }
    fn start(&self, key: &str, extra: Value) -> String {
        let mut data =
            json!({"processKey": key, "variables": {"amount": 10}, "correlationId": "C-1"});
        if let (Some(d), Value::Object(e)) = (data.as_object_mut(), extra) {
            d.extend(e);
        }
        self.run("StartProcessInstanceCommand", data)["instanceGuid"]
            .as_str()
            .unwrap()
            .to_string()
    }
    fn advance(&self, secs: i64) {
        self.clock
            .set(self.clock.now() + SignedDuration::from_secs(secs));
    }
}

fn field_of(r: &Reply) -> String {
    r.errors
        .first()
        .map(|e| e.field.clone())
        .unwrap_or_default()
}

fn verify(secret: &str, r: &Received) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let signed = format!(
        "{}.{}.{}",
        r.headers["webhook-id"], r.headers["webhook-timestamp"], r.body
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(signed.as_bytes());
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    r.headers["webhook-signature"]
        .split(' ')
        .any(|s| s == expected)
}

#[test]
fn a_subscription_receives_signed_state_context_and_completed_events() {
    let t = setup();
    let rx = Receiver::start("/hook");
    let sub = t.run(
        "CreateEventSubscriptionCommand",
        json!({"url": rx.url, "events": ["*"]}),
    );
    let secret = sub["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let guid = t.start("Review_Flow", json!({}));
    t.run(
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "taskId": "Review", "callbackData": {"approved": true}}),
    );
    // Start: state.changed + context.changed; signal: state.changed, context.changed, completed.
    assert_eq!(t.rt.deliver_due(), 5);
    let got = rx.wait_for(5);
    assert_eq!(got.len(), 5);
    let bodies: Vec<Value> = got
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    for (r, b) in got.iter().zip(&bodies) {
        assert_eq!(r.method, "POST");
        assert!(verify(&secret, r), "bad signature on {}", r.body);
        assert_eq!(r.headers["webhook-id"], b["id"].as_str().unwrap());
        assert_eq!(
            r.headers["webhook-timestamp"],
            t.clock.now().as_second().to_string()
        );
        assert_eq!(b["apiVersion"], 1);
        assert_eq!(b["environment"], "sandbox");
        assert_eq!(b["workflowRuntimeId"], guid.as_str());
        assert_eq!(b["correlationId"], "C-1");
        assert!(b["workflowDefinitionId"].is_i64());
        assert!(b["workflowCreatedAt"].is_string());
        assert!(b["timestamp"].is_string());
    }
    let names: Vec<&str> = bodies
        .iter()
        .map(|b| b["eventName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "workflow.state.changed",
            "workflow.context.changed",
            "workflow.state.changed",
            "workflow.context.changed",
            "workflow.completed"
        ]
    );
    // Seed 004: `data` is the instance's context; what the event says is at the top level.
    assert_eq!(bodies[0]["previousStatus"], Value::Null);
    assert_eq!(bodies[0]["status"], "WAITING");
    assert_eq!(bodies[0]["waiting"], json!(["Review"]));
    assert_eq!(bodies[0]["state"], "Review");
    assert_eq!(bodies[1]["contextChange"]["changed"]["amount"], 10);
    assert_eq!(bodies[1]["data"]["amount"], 10);
    assert_eq!(bodies[2]["previousStatus"], "WAITING");
    assert_eq!(bodies[2]["status"], "COMPLETED");
    assert_eq!(bodies[2]["previousState"], "Review");
    assert_eq!(bodies[2]["state"], "completed");
    assert_eq!(
        bodies[3]["contextChange"]["changed"]["lastUserTaskResult"]["approved"],
        true
    );
    assert_eq!(bodies[4]["data"]["amount"], 10);
    assert_eq!(bodies[4]["workflowFinalState"], "End");
    // Numbered in order, one number per event of the instance.
    let seqs: Vec<i64> = bodies
        .iter()
        .map(|b| b["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert!(bodies[4]["workflowResolvedAt"].is_string());
    assert!(bodies[0]["workflowResolvedAt"].is_null());
    let log = t.deliveries();
    assert!(log
        .iter()
        .all(|d| d["status"] == "Delivered" && d["attempts"] == 1 && d["lastStatusCode"] == 200));
    // The list never shows the secret.
    let list = t.run("GetEventSubscriptionListQuery", json!({}));
    assert!(!list.to_string().contains(&secret));
    assert_eq!(list["items"][0]["secretSet"], true);
    // Nothing left to send.
    assert_eq!(t.rt.deliver_due(), 0);
}

#[test]
fn definition_and_instance_level_subscriptions_see_only_their_instances() {
    let t = setup();
    let rx_def = Receiver::start("/hook");
    let rx_inst = Receiver::start("/hook");
    t.run(
        "CreateEventSubscriptionCommand",
        json!({"url": rx_def.url, "events": ["workflow.state.changed"], "processKey": "Other_Flow"}),
    );
    t.start("Review_Flow", json!({}));
    let other = t.start("Other_Flow", json!({}));
    let own = t.start(
        "Review_Flow",
        json!({"config": {"subscriptions": [{"type": "webhook", "url": rx_inst.url, "events": ["workflow.completed"]}]}}),
    );
    t.run(
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": own, "taskId": "Review", "callbackData": {}}),
    );
    assert_eq!(t.rt.deliver_due(), 2);
    let def = rx_def.wait_for(1);
    let inst = rx_inst.wait_for(1);
    assert_eq!(def.len(), 1);
    assert_eq!(inst.len(), 1);
    let d: Value = serde_json::from_str(&def[0].body).unwrap();
    assert_eq!(d["workflowRuntimeId"], other.as_str());
    assert_eq!(d["eventName"], "workflow.state.changed");
    let i: Value = serde_json::from_str(&inst[0].body).unwrap();
    assert_eq!(i["workflowRuntimeId"], own.as_str());
    assert_eq!(i["eventName"], "workflow.completed");
    // The instance-level subscription got a generated secret and signs with it.
    let subs = t.run(
        "GetEventSubscriptionListQuery",
        json!({"instanceGuid": own}),
    );
    assert_eq!(subs["totalCount"], 1);
    assert!(inst[0].headers["webhook-signature"].starts_with("v1,"));
}

#[test]
fn a_custom_webhook_fires_on_entering_a_named_state_with_secret_headers_and_a_transform() {
    let t = setup();
    let rx = Receiver::start("/hook");
    t.run(
        "CreateCustomWebhookCommand",
        json!({"name": "backend_update_webhook", "url": rx.url, "method": "PUT",
               "stateNames": ["Manager review"],
               "headers": {"authorization": "Bearer {secret.VENDOR_KEY}"},
               "request": {"transform": {"transformer": "jmespath",
                                         "mapping": "{success_result: state, who: workflowRuntimeId}"}}}),
    );
    let guid = t.start("Other_Flow", json!({}));
    assert_eq!(t.rt.deliver_due(), 0, "Other_Flow has no 'Manager review'");
    let guid2 = t.start("Review_Flow", json!({}));
    // The secret is not set yet: the attempt fails with a clear error and is retried.
    assert_eq!(t.rt.deliver_due(), 1);
    let log = t.deliveries();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "Pending");
    assert!(
        log[0]["lastError"]
            .as_str()
            .unwrap()
            .contains("'VENDOR_KEY', which is not set"),
        "{log:?}"
    );
    t.run(
        "SetSecretCommand",
        json!({"name": "VENDOR_KEY", "value": "k-123"}),
    );
    t.advance(10);
    assert_eq!(t.rt.deliver_due(), 1);
    let got = rx.wait_for(1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].method, "PUT");
    assert_eq!(got[0].headers["authorization"], "Bearer k-123");
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body, json!({"success_result": "Review", "who": guid2}));
    assert_ne!(guid, guid2);
    let log = t.deliveries();
    assert_eq!(log[0]["status"], "Delivered");
    assert_eq!(log[0]["attempts"], 2);
    // The secret value is never answered.
    let hooks = t.run("GetCustomWebhookListQuery", json!({}));
    assert!(!hooks.to_string().contains("k-123"));
}

#[test]
fn a_failing_receiver_is_retried_with_backoff_then_delivered_and_redeliver_sends_again() {
    let t = setup();
    let rx = Receiver::start("/hook");
    rx.answers.lock().unwrap().extend([500, 503]);
    t.run(
        "CreateEventSubscriptionCommand",
        json!({"url": rx.url, "events": ["workflow.state.changed"]}),
    );
    t.start("Review_Flow", json!({}));
    assert_eq!(t.rt.deliver_due(), 1);
    let d = &t.deliveries()[0];
    assert_eq!(d["status"], "Pending");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["lastStatusCode"], 500);
    let id = d["id"].as_str().unwrap().to_string();
    // Not due before the 10 s backoff.
    t.advance(9);
    assert_eq!(t.rt.deliver_due(), 0);
    t.advance(1);
    assert_eq!(t.rt.deliver_due(), 1);
    let d = &t.deliveries()[0];
    assert_eq!(
        (d["attempts"].clone(), d["lastStatusCode"].clone()),
        (json!(2), json!(503))
    );
    // The second backoff is a minute.
    t.advance(59);
    assert_eq!(t.rt.deliver_due(), 0);
    t.advance(1);
    assert_eq!(t.rt.deliver_due(), 1);
    let d = &t.deliveries()[0];
    assert_eq!(d["status"], "Delivered");
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["lastStatusCode"], 200);
    assert_eq!(rx.wait_for(3).len(), 3);
    // All three carried the same webhook-id (receivers deduplicate on it).
    assert!(rx.wait_for(3).iter().all(|r| r.headers["webhook-id"] == id));
    // Redeliver: a new attempt on the same row, now.
    let r = t.run("RedeliverCommand", json!({"id": id}));
    assert_eq!(r["attempts"], 4);
    assert_eq!(r["status"], "Delivered");
    assert_eq!(rx.wait_for(4).len(), 4);
    assert_eq!(t.deliveries().len(), 1);
    let f = t.refused("RedeliverCommand", json!({"id": "nope"}));
    assert_eq!(field_of(&f), "id");
}

#[test]
fn a_receiver_that_never_answers_2xx_ends_failed_after_seven_attempts() {
    let t = setup();
    let rx = Receiver::start("/hook");
    rx.answers.lock().unwrap().extend([500; 7]);
    t.run(
        "CreateEventSubscriptionCommand",
        json!({"url": rx.url, "events": ["workflow.state.changed"]}),
    );
    t.start("Review_Flow", json!({}));
    for wait in [0, 10, 60, 300, 1800, 7200, 21600] {
        t.advance(wait);
        assert_eq!(t.rt.deliver_due(), 1, "after {wait} s");
    }
    let d = &t.deliveries()[0];
    assert_eq!(d["status"], "Failed");
    assert_eq!(d["attempts"], 7);
    assert_eq!(d["nextAttemptAt"], Value::Null);
    t.advance(86400);
    assert_eq!(t.rt.deliver_due(), 0);
    let failed = t.run("GetDeliveryListQuery", json!({"status": "Failed"}));
    assert_eq!(failed["totalCount"], 1);
}

#[test]
fn a_failed_command_enqueues_nothing_and_no_subscription_means_no_deliveries() {
    let t = setup();
    let guid = t.start("Review_Flow", json!({}));
    assert!(t.deliveries().is_empty());
    let rx = Receiver::start("/hook");
    t.run(
        "CreateEventSubscriptionCommand",
        json!({"url": rx.url, "events": ["*"]}),
    );
    t.refused(
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "taskId": "NoSuchTask", "callbackData": {}}),
    );
    t.refused(
        "StartProcessInstanceCommand",
        json!({"processKey": "Review_Flow", "config": {"subscriptions": [{"url": "ftp://x", "events": ["*"]}]}}),
    );
    assert!(t.deliveries().is_empty());
    assert_eq!(t.rt.deliver_due(), 0);
}

#[test]
fn bad_input_is_refused_naming_the_field() {
    let t = setup();
    let cases = [
        (
            "CreateEventSubscriptionCommand",
            json!({"events": ["*"]}),
            "url",
        ),
        (
            "CreateEventSubscriptionCommand",
            json!({"url": "ftp://x", "events": ["*"]}),
            "url",
        ),
        (
            "CreateEventSubscriptionCommand",
            json!({"url": "http://x"}),
            "events",
        ),
        (
            "CreateEventSubscriptionCommand",
            json!({"url": "http://x", "events": ["workflow.nope"]}),
            "events",
        ),
        (
            "CreateEventSubscriptionCommand",
            json!({"url": "http://x", "events": ["*"], "secret": "plain"}),
            "secret",
        ),
        ("DeleteEventSubscriptionCommand", json!({"id": 99}), "id"),
        (
            "SetSecretCommand",
            json!({"name": "A B", "value": "v"}),
            "name",
        ),
        ("SetSecretCommand", json!({"name": "A"}), "value"),
        (
            "CreateCustomWebhookCommand",
            json!({"url": "http://x", "stateNames": ["A"]}),
            "name",
        ),
        (
            "CreateCustomWebhookCommand",
            json!({"name": "n", "url": "x", "stateNames": ["A"]}),
            "url",
        ),
        (
            "CreateCustomWebhookCommand",
            json!({"name": "n", "url": "http://x", "stateNames": ["A"], "method": "GET"}),
            "method",
        ),
        (
            "CreateCustomWebhookCommand",
            json!({"name": "n", "url": "http://x"}),
            "stateNames",
        ),
        (
            "CreateCustomWebhookCommand",
            json!({"name": "n", "url": "http://x", "stateNames": ["A"], "headers": {"x": 1}}),
            "headers",
        ),
        (
            "CreateCustomWebhookCommand",
            json!({"name": "n", "url": "http://x", "stateNames": ["A"], "headers": {"x": "{secret.A"}}),
            "headers",
        ),
        (
            "CreateCustomWebhookCommand",
            json!({"name": "n", "url": "http://x", "stateNames": ["A"], "request": {"transform": {"transformer": "jq", "mapping": "."}}}),
            "request",
        ),
        (
            "CreateCustomWebhookCommand",
            json!({"name": "n", "url": "http://x", "stateNames": ["A"], "request": {"transform": {"transformer": "jmespath", "mapping": "{a:"}}}),
            "request",
        ),
        ("GetDeliveryListQuery", json!({"status": "Lost"}), "status"),
        (
            "StartProcessInstanceCommand",
            json!({"processKey": "Review_Flow", "config": {"subscriptions": [{"url": "http://x"}]}}),
            "config",
        ),
    ];
    for (cmd, data, field) in cases {
        let r = t.refused(cmd, data.clone());
        assert_eq!(field_of(&r), field, "{cmd} {data}: {r:?}");
    }
    // Administrators only.
    let user = baton_engine::User {
        name: "bob".into(),
        teams: vec![],
    };
    let r = t.rt.execute(
        "SetSecretCommand",
        &json!({"name": "A", "value": "v"}),
        Some(&user),
    );
    assert_eq!(r.code, Some(baton_runtime::Code::Forbidden));
    // A secret given in the right form is kept and answered once.
    let s = t.run(
        "CreateEventSubscriptionCommand",
        json!({"url": "https://example.test/h", "events": ["workflow.completed"], "secret": "whsec_c2VjcmV0LWtleQ=="}),
    );
    assert_eq!(s["secret"], "whsec_c2VjcmV0LWtleQ==");
    let id = s["id"].clone();
    t.run("DeleteEventSubscriptionCommand", json!({"id": id}));
    assert_eq!(
        t.run("GetEventSubscriptionListQuery", json!({}))["totalCount"],
        0
    );
}

#[test]
fn the_sender_thread_wakes_when_a_step_enqueues_a_delivery() {
    let t = setup();
    let rx = Receiver::start("/hook");
    t.run(
        "CreateEventSubscriptionCommand",
        json!({"url": rx.url, "events": ["workflow.state.changed"]}),
    );
    let T { rt, clock, _dir } = t;
    let rt = Arc::new(rt);
    let sender = baton_runtime::spawn_sender(rt.clone());
    let r = rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processKey": "Review_Flow"}),
        None,
    );
    assert!(r.is_successful, "{r:?}");
    assert_eq!(rx.wait_for(1).len(), 1);
    sender.stop();
    let log = rt.execute("GetDeliveryListQuery", &json!({}), None).data;
    assert_eq!(log["items"][0]["status"], "Delivered");
    drop(clock);
}

#[test]
fn a_delivery_that_panics_is_a_failed_attempt_retried_on_its_backoff() {
    let t = setup();
    let rx = Receiver::start("/hook");
    t.run(
        "CreateEventSubscriptionCommand",
        json!({"url": rx.url, "events": ["workflow.state.changed"]}),
    );
    t.start("Review_Flow", json!({}));
    t.rt.panic_next(baton_runtime::PanicSite::Delivery, 1);
    assert_eq!(t.rt.deliver_due(), 1);
    let d = &t.deliveries()[0];
    assert_eq!(d["status"], "Pending", "{d}");
    assert_eq!(d["attempts"], 1);
    let error = d["lastError"].as_str().unwrap_or_default();
    assert!(error.starts_with("internal error; reference "), "{d}");
    assert!(!error.contains("on purpose"), "no panic text: {d}");
    // The sender goes on: the next attempt, after the backoff, is delivered.
    t.advance(10);
    assert_eq!(t.rt.deliver_due(), 1);
    let d = &t.deliveries()[0];
    assert_eq!(
        (d["status"].clone(), d["attempts"].clone()),
        (json!("Delivered"), json!(2))
    );
    assert_eq!(rx.wait_for(1).len(), 1);
}

#[test]
fn a_test_event_is_sent_at_once_signed_and_the_log_filters_by_event_name() {
    let t = setup();
    let rx = Receiver::start("/hook");
    let sub = t.run(
        "CreateEventSubscriptionCommand",
        json!({"url": rx.url, "events": ["workflow.completed"]}),
    );
    let secret = sub["secret"].as_str().unwrap().to_string();
    // Sent now, whatever events the subscription takes; the answer is the delivery as recorded.
    let d = t.run("SendTestEventCommand", json!({"subscriptionId": sub["id"]}));
    assert_eq!(
        (&d["status"], &d["attempts"], &d["lastStatusCode"]),
        (&json!("Delivered"), &json!(1), &json!(200)),
        "{d}"
    );
    assert_eq!(d["eventName"], "webhook.test");
    let got = rx.wait_for(1);
    assert_eq!(got.len(), 1);
    assert!(verify(&secret, &got[0]), "{:?}", got[0]);
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["eventName"], "webhook.test");
    assert_eq!(body["test"], true);
    assert_eq!(body["workflowRuntimeId"], Value::Null);
    assert_eq!(body["data"], json!({}));
    // A receiver that fails: recorded as a failed attempt, retried by the sender later.
    rx.answers.lock().unwrap().push_back(503);
    let d = t.run("SendTestEventCommand", json!({"subscriptionId": sub["id"]}));
    assert_eq!(
        (&d["status"], &d["lastStatusCode"]),
        (&json!("Pending"), &json!(503))
    );
    t.advance(10);
    assert_eq!(t.rt.deliver_due(), 1);

    // The log by event name: the two test events; then an instance's completion.
    let guid = t.start("Review_Flow", json!({}));
    t.run(
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "taskId": "Review", "callbackData": {}}),
    );
    let by = |name: &str| {
        t.run("GetDeliveryListQuery", json!({"eventName": name}))["totalCount"].clone()
    };
    assert_eq!(by("webhook.test"), 2);
    assert_eq!(by("workflow.completed"), 1);
    assert_eq!(by("workflow.state.changed"), 0);

    // Bad input names its field.
    for (data, field) in [
        (json!({}), "subscriptionId"),
        (json!({"subscriptionId": 999}), "subscriptionId"),
        (json!({"customWebhookId": 999}), "customWebhookId"),
        (json!({"subscriptionId": "x"}), "subscriptionId"),
        (
            json!({"subscriptionId": sub["id"], "customWebhookId": 1}),
            "customWebhookId",
        ),
    ] {
        assert_eq!(
            field_of(&t.refused("SendTestEventCommand", data.clone())),
            field,
            "{data}"
        );
    }
    assert_eq!(
        field_of(&t.refused(
            "GetDeliveryListQuery",
            json!({"eventName": "workflow.nope"})
        )),
        "eventName"
    );
}

/// Seed 004's `environment` is `sandbox` or `production`: a runtime set to production says so in
/// every payload, the test event's included, from the next event on.
#[test]
fn the_environment_set_on_the_runtime_is_named_in_every_payload() {
    let t = setup();
    assert_eq!(t.rt.environment(), baton_runtime::Environment::Sandbox);
    let rx = Receiver::start("/hook");
    let sub = t.run(
        "CreateEventSubscriptionCommand",
        json!({"url": rx.url, "events": ["workflow.completed"]}),
    );
    let environments = |n: usize| -> Vec<String> {
        rx.wait_for(n)
            .iter()
            .map(|r| {
                let b: Value = serde_json::from_str(&r.body).unwrap();
                b["environment"].as_str().unwrap().to_string()
            })
            .collect()
    };
    t.run("SendTestEventCommand", json!({"subscriptionId": sub["id"]}));
    t.rt.set_environment(baton_runtime::Environment::Production);
    t.run("SendTestEventCommand", json!({"subscriptionId": sub["id"]}));
    let guid = t.start("Review_Flow", json!({}));
    t.run(
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "taskId": "Review", "callbackData": {}}),
    );
    assert_eq!(t.rt.deliver_due(), 1);
    assert_eq!(environments(3), ["sandbox", "production", "production"]);
    // What `baton serve` reads from BATON_ENVIRONMENT: the two names, nothing else.
    assert_eq!(
        "production".parse::<baton_runtime::Environment>(),
        Ok(baton_runtime::Environment::Production)
    );
    let bad = "local".parse::<baton_runtime::Environment>().unwrap_err();
    assert!(bad.contains("'local'") && bad.contains("sandbox"), "{bad}");
}
