//! Through the real HTTP door, a webhook callback is first computed on the door's own async
//! worker (`inline`); whatever could block that worker stops the attempt before it wrote
//! anything and the request runs again on a blocking thread. From outside, nothing tells the
//! two apart: a long script still runs to its end under the usual limit, a command it queued
//! runs once, and every request, refused or accepted, leaves exactly one row in the log.

use baton_testkit::http::{Door, Served};
use baton_testkit::Model;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

const URL: &str = "/webhook/gateway/slow";
const SECRET: &str = "whsec_worker";

fn exec(served: &Served, cmd: &str, data: Value) -> Value {
    served.execute_ok(cmd, data)
}

/// POSTs `body` to the gateway's door, signed (HMAC-SHA256, hex) with `secret`.
fn hook(served: &Served, secret: &str, body: &Value) -> (u16, Value) {
    signed(served, URL, secret, body)
}

/// POSTs `body` to `url`, signed with `secret` as the configurations here check it.
fn signed(served: &Served, url: &str, secret: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let sig = hex::encode(mac.finalize().into_bytes());
    served.send(url, None, &[("x-signature", &sig)], &body)
}

/// A served runtime with: Child (start -> end); Slow (start -> a webhook-mode receive task on
/// `context.ref` -> a script that loops well past the worker's short limit, keeps its sum and
/// queues a start of Child -> end); a configuration that maps the gateway's `ref` to
/// ReturnCallbackCommand.
fn served() -> (Door, Served) {
    let door = Door::new();
    door.t.deploy(
        &Model::process("Child")
            .start("s")
            .end("e")
            .chain(&["s", "e"])
            .xml(),
    );
    door.t.deploy(
        &Model::process("Slow")
            .start("s")
            .receive_task("wait")
            .props(&[("correlationKey", "context.ref")])
            .script_task(
                "crunch",
                r#"let total = 0; for n in 0..200000 { total += n; } doCmd("StartProcessInstanceCommand", #{processKey: "Child"});"#,
            )
            .end("e")
            .chain(&["s", "wait", "crunch", "e"])
            .xml(),
    );
    let served = Served::start(door.st.clone());
    exec(
        &served,
        "CreateWebHookConfigCommand",
        json!({"name": "gateway", "url": URL, "executionType": 0,
               "commandName": "ReturnCallbackCommand",
               "commandData": {"correlationKey": "body.ref", "result": "{status: body.status}"},
               "verification": {"scheme": "hmacSha256", "secret": SECRET}}),
    );
    (door, served)
}

fn requests(served: &Served) -> Vec<Value> {
    exec(
        served,
        "GetWebhookRequestListQuery",
        json!({"pageSize": 100}),
    )["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn children(served: &Served) -> Value {
    exec(
        served,
        "GetProcessInstanceListQuery",
        json!({"processKey": "Child"}),
    )["totalCount"]
        .clone()
}

#[test]
fn a_callback_whose_step_runs_a_long_script_completes_once_under_the_usual_limit() {
    let (door, served) = served();
    let started = exec(
        &served,
        "StartProcessInstanceCommand",
        json!({"processKey": "Slow", "variables": {"ref": "P-1"}}),
    );
    assert_eq!(started["status"], "WAITING", "{started}");
    let guid = started["instanceGuid"].as_str().unwrap().to_string();
    let (status, answer) = hook(&served, SECRET, &json!({"ref": "P-1", "status": "paid"}));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["status"], "COMPLETED", "{answer}");
    let inst = door.t.instance(&guid);
    assert_eq!(inst["status"], "COMPLETED", "{inst}");
    assert_eq!(
        inst["variables"]["total"],
        (0..200_000i64).sum::<i64>(),
        "the script ran to its end: {inst}"
    );
    assert_eq!(children(&served), 1, "the queued start ran once");
    let log = requests(&served);
    assert_eq!(log.len(), 1, "one row for the request: {log:?}");
    assert_eq!(log[0]["verdict"], "accepted", "{}", log[0]);
    assert_eq!(
        log[0]["outcome"]["instanceGuid"],
        guid.as_str(),
        "{}",
        log[0]
    );
    // The same callback again finds nothing waiting: answered as a duplicate, logged once more.
    let (status, again) = hook(&served, SECRET, &json!({"ref": "P-1", "status": "paid"}));
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["data"]["duplicate"], true, "{again}");
    assert_eq!(children(&served), 1, "a duplicate runs nothing");
    let ids: Vec<Value> = requests(&served).iter().map(|r| r["id"].clone()).collect();
    assert_eq!(
        ids,
        [json!(2), json!(1)],
        "numbered without a gap, newest first"
    );
}

#[test]
fn refusals_and_failures_at_the_door_are_each_recorded_once() {
    let (_door, served) = served();
    // A wrong signature, a path nobody configured, a key nothing waits on.
    let (status, answer) = hook(&served, "not-the-secret", &json!({"ref": "P-2"}));
    assert_eq!(status, 401, "{answer}");
    let (status, answer) = served.send("/webhook/nobody/here", None, &[], "{}");
    assert_eq!(status, 404, "{answer}");
    let (status, answer) = hook(&served, SECRET, &json!({"ref": "P-404", "status": "paid"}));
    assert_eq!(status, 422, "the command's refusal: {answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains("P-404"),
        "{answer}"
    );
    let log = requests(&served);
    let verdicts: Vec<&str> = log.iter().map(|r| r["verdict"].as_str().unwrap()).collect();
    assert_eq!(
        verdicts,
        ["accepted", "notFound", "badSignature"],
        "newest first, one row each: {log:?}"
    );
    assert_eq!(log[0]["statusCode"], 422, "{}", log[0]);
}

/// What a door's task holds while a request runs. Each layer that took a command's future by
/// value (the attempt, the panic guard, the log's carrier, the blocking fallback) used to keep
/// it twice, so a webhook request's future grew to tens of KiB, copied on every move. Each
/// layer now boxes what it wraps. In a debug build the request's future was 85 KiB before.
#[test]
fn a_door_holds_a_small_future_per_request() {
    let door = baton_testkit::TestRuntime::new();
    let incoming = baton_runtime::webhooks::IncomingWebhook {
        key: None,
        method: "POST".into(),
        path: URL.into(),
        headers: vec![("content-type".into(), "application/json".into())],
        query: Default::default(),
        remote: None,
        body: Some(b"{}".to_vec()),
    };
    let webhook = door.rt.clone().receive_webhook_off_workers(incoming);
    let command = door.rt.clone().execute_off_workers(
        "ReturnCallbackCommand".into(),
        json!({"correlationKey": "P-1"}),
        baton_runtime::Caller::owner(),
    );
    for (what, size) in [
        ("a webhook request", std::mem::size_of_val(&webhook)),
        ("a command", std::mem::size_of_val(&command)),
    ] {
        assert!(size <= 4096, "{what}'s future is {size} bytes");
    }
}

/// A StartProcess configuration (type 3, WorkflowGen's incoming webhooks) is tried on the
/// door's worker; a first step with a long script stops that attempt and the start runs again
/// on a blocking thread. From outside the two ways look the same, and that is what this holds:
/// one instance with the body's fields, a command its script queued run once, and one log row
/// per request, numbered without a gap. (That starts do run on the worker shows in
/// `examples/webhook_path.rs ... start`, BENCHMARKS.md.)
#[test]
fn a_webhook_start_runs_once_whether_its_first_step_is_short_or_long() {
    let (door, served) = served();
    door.t.deploy(
        &Model::process("Quick")
            .start("s")
            .receive_task("wait")
            .props(&[("correlationKey", "context.ref")])
            .end("e")
            .chain(&["s", "wait", "e"])
            .xml(),
    );
    door.t.deploy(
        &Model::process("SlowStart")
            .start("s")
            .script_task(
                "crunch",
                r#"let total = 0; for n in 0..200000 { total += n; } doCmd("StartProcessInstanceCommand", #{processKey: "Child"});"#,
            )
            .receive_task("wait")
            .props(&[("correlationKey", "context.ref")])
            .end("e")
            .chain(&["s", "crunch", "wait", "e"])
            .xml(),
    );
    for (name, key) in [("quick", "Quick"), ("slow", "SlowStart")] {
        exec(
            &served,
            "CreateWebHookConfigCommand",
            json!({"name": name, "url": format!("/webhook/start/{name}"), "executionType": 3,
                   "processKey": key,
                   "verification": {"scheme": "hmacSha256", "secret": SECRET}}),
        );
    }
    let (status, quick) = signed(
        &served,
        "/webhook/start/quick",
        SECRET,
        &json!({"ref": "Q-1"}),
    );
    assert_eq!(status, 200, "{quick}");
    assert_eq!(quick["data"]["status"], "WAITING", "{quick}");
    let q = door
        .t
        .instance(quick["data"]["instanceGuid"].as_str().unwrap());
    assert_eq!(q["variables"]["ref"], "Q-1", "{q}");

    let (status, slow) = signed(
        &served,
        "/webhook/start/slow",
        SECRET,
        &json!({"ref": "S-1"}),
    );
    assert_eq!(status, 200, "{slow}");
    assert_eq!(slow["data"]["status"], "WAITING", "{slow}");
    let s = door
        .t
        .instance(slow["data"]["instanceGuid"].as_str().unwrap());
    assert_eq!(
        s["variables"]["total"],
        (0..200_000i64).sum::<i64>(),
        "the script ran to its end: {s}"
    );
    assert_eq!(children(&served), 1, "the queued start ran once");
    for key in ["Quick", "SlowStart"] {
        let n = exec(
            &served,
            "GetProcessInstanceListQuery",
            json!({"processKey": key}),
        )["totalCount"]
            .clone();
        assert_eq!(n, 1, "one instance of {key}");
    }
    let log = requests(&served);
    let rows: Vec<(Value, Value, Value)> = log
        .iter()
        .map(|r| {
            (
                r["id"].clone(),
                r["verdict"].clone(),
                r["outcome"]["instanceGuid"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                json!(2),
                json!("accepted"),
                slow["data"]["instanceGuid"].clone()
            ),
            (
                json!(1),
                json!("accepted"),
                quick["data"]["instanceGuid"].clone()
            ),
        ],
        "one row a request, numbered without a gap, newest first"
    );
}
