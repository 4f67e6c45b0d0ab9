//! Incoming webhooks are idempotent when the sender gives an id (issue 11 item 3): Standard
//! Webhooks' `webhook-id`, Stripe's event id, Paystack's event and `data.id`. A repeat for the
//! same configuration is answered 200 as a duplicate with the first request's outcome, runs
//! nothing (no second instance, callback or code run), and the request log shows it; identical
//! requests sent at once run once; a sender's retry of a failure runs; the ids are kept on disk
//! (a restart remembers them) under the log's retention. Through the doors served on 127.0.0.1
//! over a real SQLite file, with requests signed as each gateway signs them.

use base64::Engine as _;
use baton_engine::Clock as _;
use baton_testkit::{post_to, Door, Model, Served, ADMIN};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::sync::{Arc, Barrier};

struct Site {
    door: Door,
    served: Served,
}

fn site() -> Site {
    let door = Door::new();
    door.t.deploy(
        &Model::process("Paid")
            .start("S")
            .user_task("Review")
            .end("E")
            .flow("S", "Review")
            .flow("Review", "E")
            .xml(),
    );
    let served = Served::start(door.st.clone());
    Site { door, served }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

const PAYSTACK_SECRET: &str = "sk_test_paystack_0123456789";
const STRIPE_SECRET: &str = "whsec_stripe_test_0123456789";
const STANDARD_KEY: &[u8] = b"standard-webhooks-test-key-32byt";

/// A Paystack event as Paystack sends it: `event`, and `data.id` (its transaction's id).
fn paystack_event(id: i64, reference: &str) -> String {
    json!({"event": "charge.success", "data": {"id": id, "domain": "test", "status": "success",
        "reference": reference, "amount": 50000, "currency": "NGN",
        "customer": {"email": "john@example.com"}}})
    .to_string()
}

/// A Stripe event as Stripe sends it (`id` is the event's `evt_...`).
fn stripe_event(id: &str) -> String {
    json!({"id": id, "object": "event", "api_version": "2024-06-20", "created": 1767225600,
        "type": "payment_intent.succeeded", "livemode": false,
        "data": {"object": {"id": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "object": "payment_intent",
            "amount": 2000, "currency": "usd", "status": "succeeded"}}})
    .to_string()
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

    /// The seconds of the runtime's clock (signed timestamps must be near it).
    fn now(&self) -> i64 {
        self.door.t.clock.now().as_second()
    }

    fn post(&self, path: &str, headers: &[(String, String)], body: &str) -> (u16, Value) {
        post_to(&self.served.url(path), headers, body)
    }

    fn paystack(&self, path: &str, body: &str) -> (u16, Value) {
        let sig = hex(&hmac512(PAYSTACK_SECRET.as_bytes(), body.as_bytes()));
        self.post(path, &[("x-paystack-signature".into(), sig)], body)
    }

    fn stripe_headers(&self, body: &str) -> Vec<(String, String)> {
        let t = self.now();
        let sig = hex(&hmac256(
            STRIPE_SECRET.as_bytes(),
            format!("{t}.{body}").as_bytes(),
        ));
        vec![("stripe-signature".into(), format!("t={t},v1={sig}"))]
    }

    fn standard_headers(&self, id: &str, body: &str) -> Vec<(String, String)> {
        let t = self.now();
        let sig = base64::engine::general_purpose::STANDARD
            .encode(hmac256(STANDARD_KEY, format!("{id}.{t}.{body}").as_bytes()));
        vec![
            ("webhook-id".into(), id.into()),
            ("webhook-timestamp".into(), t.to_string()),
            ("webhook-signature".into(), format!("v1,{sig}")),
        ]
    }

    fn instances(&self, key: &str) -> usize {
        let d = self.ok(
            "GetProcessInstanceListQuery",
            json!({"processKey": key, "pageSize": 100}),
        );
        d["totalCount"].as_u64().unwrap() as usize
    }

    /// The request log, newest first.
    fn log(&self) -> Vec<Value> {
        let d = self.ok("GetWebhookRequestListQuery", json!({"pageSize": 100}));
        d["items"].as_array().unwrap().clone()
    }
}

fn standard_secret() -> String {
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(STANDARD_KEY)
    )
}

/// The answer is a duplicate of request `first`.
fn is_duplicate_of(out: &Value, first: &Value) {
    assert_eq!(out["isSuccessful"], true, "{out}");
    assert_eq!(out["duplicate"], true, "{out}");
    assert_eq!(out["data"]["firstRequestId"], *first, "{out}");
    assert!(
        out["message"].as_str().unwrap().contains("not run again"),
        "{out}"
    );
}

#[test]
fn a_standard_webhooks_repeat_starts_no_second_instance_and_the_log_shows_it() {
    let s = site();
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "std", "url": "/webhook/std", "executionType": 3, "processKey": "Paid",
            "verification": {"scheme": "standardWebhooks", "secret": standard_secret()}}),
    );
    let body = r#"{"type": "invoice.paid", "data": {"invoice": "in_1"}}"#;
    let headers = s.standard_headers("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", body);
    let (code, first) = s.post("/webhook/std", &headers, body);
    assert_eq!(
        (code, &first["isSuccessful"]),
        (200, &json!(true)),
        "{first}"
    );
    assert_eq!(first.get("duplicate"), None);
    let (code, again) = s.post("/webhook/std", &headers, body);
    assert_eq!(code, 200, "{again}");
    let log = s.log();
    is_duplicate_of(&again, &log[1]["id"]);
    assert_eq!(
        again["data"]["firstOutcome"]["instanceGuid"],
        first["data"]["instanceGuid"]
    );
    assert_eq!(again["data"]["firstStatusCode"], 200);
    assert_eq!(s.instances("Paid"), 1);
    // The log: the first accepted with its id, the repeat a duplicate pointing at it, no body.
    assert_eq!(log[1]["verdict"], "accepted");
    assert_eq!(
        log[1]["senderId"],
        "webhook-id:msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    );
    assert_eq!(log[0]["verdict"], "duplicate");
    assert_eq!(log[0]["statusCode"], 200);
    assert_eq!(log[0]["duplicateOf"], log[1]["id"]);
    assert_eq!(log[0]["senderId"], log[1]["senderId"]);
    assert_eq!(log[0]["body"], "");
    assert_eq!(log[0]["outcome"]["firstRequestId"], log[1]["id"]);
    // Another id runs.
    let other = s.standard_headers("msg_other", body);
    let (code, out) = s.post("/webhook/std", &other, body);
    assert_eq!((code, out.get("duplicate")), (200, None), "{out}");
    assert_eq!(s.instances("Paid"), 2);
    // The log filtered by verdict: the one duplicate, the two accepted; an unknown verdict is
    // refused naming the field.
    let by = |verdict: &str| {
        let d = s.ok(
            "GetWebhookRequestListQuery",
            json!({"verdict": verdict, "pageSize": 100}),
        );
        let ids: Vec<Value> = d["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].clone())
            .collect();
        (d["totalCount"].clone(), ids)
    };
    assert_eq!(by("duplicate"), (json!(1), vec![log[0]["id"].clone()]));
    assert_eq!(by("accepted").0, json!(2));
    let (_, out) = s.served.exec(
        ADMIN,
        "GetWebhookRequestListQuery",
        json!({"verdict": "refused"}),
    );
    assert_eq!(out["errors"][0]["field"], "verdict", "{out}");
    // Replaying the duplicate's row is refused, naming the request to replay; replaying the
    // first runs it again, on purpose.
    let (_, out) = s.served.exec(
        ADMIN,
        "ReplayWebhookRequestCommand",
        json!({"id": log[0]["id"]}),
    );
    let said = out["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        said.contains(&format!("replay request {}", log[1]["id"])),
        "{out}"
    );
    s.ok("ReplayWebhookRequestCommand", json!({"id": log[1]["id"]}));
    assert_eq!(s.instances("Paid"), 3);
}

/// A site where "Pay" waits in a receive task keyed by `context.reference`, resumed by a
/// Paystack configuration at /webhook/paystack/payment (ReturnCallbackCommand).
fn paystack_site() -> Site {
    let s = site();
    s.door.t.deploy(
        &Model::process("Pay")
            .start("S")
            .receive_task("Wait")
            .props(&[("correlationKey", "context.reference")])
            .end("E")
            .flow("S", "Wait")
            .flow("Wait", "E")
            .xml(),
    );
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "paystack", "url": "/webhook/paystack/payment", "executionType": 0,
            "commandName": "ReturnCallbackCommand",
            "commandData": {"correlationKey": "body.data.reference",
                "result": "{status: body.data.status, amount: body.data.amount}"},
            "verification": {"scheme": "paystack", "secret": PAYSTACK_SECRET}}),
    );
    s
}

#[test]
fn a_paystack_repeat_resumes_its_callback_once() {
    let s = paystack_site();
    let body = paystack_event(302961, "REF123456");
    // Nobody waits for REF123456 yet: the first delivery fails, and Paystack's retry of the
    // same event must run, not be taken for a duplicate.
    let (code, out) = s.paystack("/webhook/paystack/payment", &body);
    assert_eq!(code, 422, "{out}");
    let guid = s.ok(
        "StartProcessInstanceCommand",
        json!({"processKey": "Pay", "variables": {"reference": "REF123456"}}),
    )["instanceGuid"]
        .clone();
    let (code, first) = s.paystack("/webhook/paystack/payment", &body);
    assert_eq!(
        (code, &first["isSuccessful"]),
        (200, &json!(true)),
        "{first}"
    );
    assert_eq!(first.get("duplicate"), None, "{first}");
    let inst = s.ok("GetProcessInstanceByIdQuery", json!({"instanceGuid": guid}));
    assert_eq!(inst["status"], "COMPLETED");
    // The repeat: a duplicate; the instance's history and its callback registry row are as the
    // first delivery left them (no second ReturnCallbackCommand, not even a duplicate one).
    let history = s.ok("GetInstanceHistoryQuery", json!({"instanceGuid": guid}));
    let registry = s.ok(
        "GetCallbackRegistryListQuery",
        json!({"instanceGuid": guid}),
    );
    assert!(registry.to_string().contains("Completed"), "{registry}");
    let (code, again) = s.paystack("/webhook/paystack/payment", &body);
    assert_eq!(code, 200, "{again}");
    let log = s.log();
    is_duplicate_of(&again, &log[1]["id"]);
    assert_eq!(log[1]["senderId"], "paystack:charge.success:302961");
    assert_eq!(
        s.ok("GetInstanceHistoryQuery", json!({"instanceGuid": guid})),
        history,
        "the repeat added nothing to the history"
    );
    assert_eq!(
        s.ok(
            "GetCallbackRegistryListQuery",
            json!({"instanceGuid": guid})
        ),
        registry
    );
    // Another event about the same transaction (another name) is another delivery: it runs
    // (and is refused by the callback, which was completed).
    let refund = body.replace("charge.success", "refund.processed");
    let (code, out) = s.paystack("/webhook/paystack/payment", &refund);
    assert_eq!(out.get("duplicate"), None, "{code} {out}");
}

#[test]
fn a_stripe_repeat_runs_no_code_and_answers_the_first_outcome() {
    let s = site();
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "stripe", "url": "/webhook/stripe", "executionType": 2,
            "executionCode": "request.requestId",
            "verification": {"scheme": "stripe", "secret": STRIPE_SECRET}}),
    );
    let body = stripe_event("evt_1NG8Du2eZvKYlo2CUI79vXWy");
    let (code, first) = s.post("/webhook/stripe", &s.stripe_headers(&body), &body);
    assert_eq!(
        (code, &first["isSuccessful"]),
        (200, &json!(true)),
        "{first}"
    );
    // The code answers the id of the request that ran it.
    let ran_as = first["data"]["value"].clone();
    // Stripe signs each delivery anew (a new t=): the repeat is the same event.
    s.door.t.advance(30);
    let (code, again) = s.post("/webhook/stripe", &s.stripe_headers(&body), &body);
    assert_eq!(code, 200, "{again}");
    is_duplicate_of(&again, &ran_as);
    assert_eq!(again["data"]["firstOutcome"]["value"], ran_as);
    let log = s.log();
    assert_eq!(log[0]["verdict"], "duplicate");
    assert_eq!(log[0]["senderId"], "stripe:evt_1NG8Du2eZvKYlo2CUI79vXWy");
    let accepted = log.iter().filter(|r| r["verdict"] == "accepted").count();
    assert_eq!(accepted, 1, "the code ran once");
    // A repeat with a wrong signature is refused as before (401), not answered as a duplicate.
    let (code, _) = s.post(
        "/webhook/stripe",
        &[("stripe-signature".into(), "t=1,v1=00".into())],
        &body,
    );
    assert_eq!(code, 401);
}

/// Sends `n` copies of one request at once (released together); answers their answers.
fn at_once(
    url: String,
    headers: Vec<(String, String)>,
    body: String,
    n: usize,
) -> Vec<(u16, Value)> {
    let gate = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (gate, url, headers, body) =
                (gate.clone(), url.clone(), headers.clone(), body.clone());
            std::thread::spawn(move || {
                gate.wait();
                post_to(&url, &headers, &body)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn identical_requests_at_once_run_once() {
    let s = site();
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "start", "url": "/webhook/start", "executionType": 3, "processKey": "Paid",
            "verification": {"scheme": "paystack", "secret": PAYSTACK_SECRET}}),
    );
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "code", "url": "/webhook/code", "executionType": 2,
            "executionCode": "request.requestId"}),
    );
    // A process start (its claim rides in the step's transaction), 8 at once.
    let body = paystack_event(4242, "REF-AT-ONCE");
    let sig = hex(&hmac512(PAYSTACK_SECRET.as_bytes(), body.as_bytes()));
    let answers = at_once(
        s.served.url("/webhook/start"),
        vec![("x-paystack-signature".into(), sig)],
        body,
        8,
    );
    assert!(answers.iter().all(|(c, _)| *c == 200), "{answers:?}");
    let ran: Vec<&Value> = answers
        .iter()
        .map(|(_, a)| a)
        .filter(|a| a.get("duplicate").is_none())
        .collect();
    assert_eq!(ran.len(), 1, "{answers:?}");
    assert_eq!(s.instances("Paid"), 1);
    let guid = &ran[0]["data"]["instanceGuid"];
    for (_, a) in &answers {
        if a.get("duplicate").is_some() {
            assert_eq!(a["data"]["firstOutcome"]["instanceGuid"], *guid, "{a}");
        }
    }
    // Code (no step: the door's own write claims the id), 8 at once, a webhook-id each.
    let answers = at_once(
        s.served.url("/webhook/code"),
        vec![("webhook-id".into(), "msg_at_once".into())],
        "{}".into(),
        8,
    );
    let ran: Vec<&Value> = answers
        .iter()
        .map(|(_, a)| a)
        .filter(|a| a.get("duplicate").is_none())
        .collect();
    assert_eq!(ran.len(), 1, "{answers:?}");
    let by = &ran[0]["data"]["value"];
    assert!(answers
        .iter()
        .filter(|(_, a)| a.get("duplicate").is_some())
        .all(|(_, a)| a["data"]["firstRequestId"] == *by));
    let log = s.log();
    let accepted = log
        .iter()
        .filter(|r| r["senderId"] == "webhook-id:msg_at_once" && r["verdict"] == "accepted")
        .count();
    let duplicates = log
        .iter()
        .filter(|r| r["senderId"] == "webhook-id:msg_at_once" && r["verdict"] == "duplicate")
        .count();
    assert_eq!((accepted, duplicates), (1, 7));
}

/// The same for a callback, which the door computes on its async worker: the first of the
/// eight holds the id there, and each of the others finds it held, leaves the worker and waits
/// for it on a blocking thread (a refused hold once locked the holders' set twice, which hung
/// both workers).
#[test]
fn identical_callbacks_at_once_resume_their_instance_once() {
    let s = paystack_site();
    let guid = s.ok(
        "StartProcessInstanceCommand",
        json!({"processKey": "Pay", "variables": {"reference": "REF-CB-AT-ONCE"}}),
    )["instanceGuid"]
        .clone();
    let body = paystack_event(5151, "REF-CB-AT-ONCE");
    let sig = hex(&hmac512(PAYSTACK_SECRET.as_bytes(), body.as_bytes()));
    let answers = at_once(
        s.served.url("/webhook/paystack/payment"),
        vec![("x-paystack-signature".into(), sig)],
        body,
        8,
    );
    assert!(answers.iter().all(|(c, _)| *c == 200), "{answers:?}");
    let ran = answers
        .iter()
        .filter(|(_, a)| a.get("duplicate").is_none())
        .count();
    assert_eq!(ran, 1, "{answers:?}");
    let inst = s.ok("GetProcessInstanceByIdQuery", json!({"instanceGuid": guid}));
    assert_eq!(inst["status"], "COMPLETED", "{inst}");
    let verdicts: Vec<Value> = s.log().iter().map(|r| r["verdict"].clone()).collect();
    let accepted = verdicts.iter().filter(|v| *v == "accepted").count();
    let duplicates = verdicts.iter().filter(|v| *v == "duplicate").count();
    assert_eq!((accepted, duplicates), (1, 7), "{verdicts:?}");
}

#[test]
fn ids_are_kept_per_configuration_across_a_restart_and_under_the_logs_retention() {
    let door = Door::new();
    door.t.deploy(
        &Model::process("Paid")
            .start("S")
            .user_task("Review")
            .end("E")
            .flow("S", "Review")
            .flow("Review", "E")
            .xml(),
    );
    let served = Served::start(door.st.clone());
    let s = Site { door, served };
    for url in ["/webhook/a", "/webhook/b"] {
        s.ok(
            "CreateWebHookConfigCommand",
            json!({"name": url, "url": url, "executionType": 3, "processKey": "Paid"}),
        );
    }
    let id = vec![("webhook-id".to_string(), "msg_kept".to_string())];
    assert_eq!(s.post("/webhook/a", &id, "{}").1.get("duplicate"), None);
    // The same id at another configuration is another delivery.
    assert_eq!(s.post("/webhook/b", &id, "{}").1.get("duplicate"), None);
    assert_eq!(s.instances("Paid"), 2);

    // A restart: the ids are on disk.
    let Site { door, served } = s;
    drop(served);
    let Door { t, st } = door;
    drop(st);
    let t = t.reopen();
    let st = Arc::new(baton_runtime::http::AppState {
        runtime: t.rt.clone(),
    });
    let served = Served::start(st.clone());
    let s = Site {
        door: Door { t, st },
        served,
    };
    let (code, out) = s.post("/webhook/a", &id, "{}");
    assert_eq!((code, &out["duplicate"]), (200, &json!(true)), "{out}");
    assert_eq!(s.instances("Paid"), 2);

    // Eight days on, a log kept 7 days forgets the requests and the ids they handled: the same
    // id runs again.
    s.door.t.advance(8 * 24 * 3600);
    s.ok(
        "SetSecuritySettingsCommand",
        json!({"webhookLogMaxAgeDays": 7}),
    );
    assert!(s.log().is_empty(), "{:?}", s.log());
    let (code, out) = s.post("/webhook/a", &id, "{}");
    assert_eq!((code, out.get("duplicate")), (200, None), "{out}");
    assert_eq!(s.instances("Paid"), 3);
}

/// The unique key decides even when the check before running could not see the other claim
/// (another process writing the same file): the id is claimed by someone else while this
/// request's step is being prepared; the step's transaction then fails on the key, rolls back
/// whole, and the request is answered and logged as the duplicate it is.
#[test]
fn a_claim_made_while_the_step_runs_rolls_the_step_back() {
    let s = site();
    let config = s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "start", "url": "/webhook/start", "executionType": 3, "processKey": "Paid"}),
    )["id"]
        .as_i64()
        .unwrap();
    let rt = s.door.t.rt.clone();
    rt.hold_steps(true);
    let url = s.served.url("/webhook/start");
    let sent = std::thread::spawn(move || {
        post_to(
            &url,
            &[("webhook-id".into(), "msg_raced".into())],
            r#"{"n": 1}"#,
        )
    });
    assert_eq!(rt.steps_held(1, std::time::Duration::from_secs(30)), 1);
    // Another writer of the file claims the id for a request of its own.
    let mut other =
        baton_store::Store::open(&s.door.t.db(), baton_store::Durability::Normal).unwrap();
    let tx = other.transaction().unwrap();
    assert!(tx
        .claim_webhook_sender_id(config, "webhook-id:msg_raced", 1_000_000)
        .unwrap());
    tx.commit().unwrap();
    rt.hold_steps(false);
    let (code, out) = sent.join().unwrap();
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["duplicate"], true, "{out}");
    assert_eq!(out["data"]["firstRequestId"], 1_000_000);
    assert_eq!(s.instances("Paid"), 0, "the step was rolled back");
    let log = s.log();
    assert_eq!(log[0]["verdict"], "duplicate", "{log:?}");
    assert_eq!(log[0]["duplicateOf"], 1_000_000);
}
