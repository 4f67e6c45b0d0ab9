//! The event stream (`GET /api/v1/events`) beyond instance changes, over real HTTP on
//! 127.0.0.1: an administrator's feed carries one `webhook-request` event for each request the
//! door answered, accepted or refused, with its path, its status, the request log's row and its
//! verdict; a non-administrator's feed carries none (the request log is the administrator's).
//! Also: every feed carries a `job-run` event when a recurring job's run starts and when it ends.

use baton_testkit::{Door, Served, ADMIN};
use serde_json::{json, Value};
use std::io::BufRead;

/// The events of a stream, in order, as (name, data).
struct Feed(Box<dyn BufRead>);

impl Feed {
    fn open(served: &Served, token: &str) -> Feed {
        let stream = baton_testkit::agent()
            .get(&served.url("/api/v1/events"))
            .set("Authorization", &format!("Bearer {token}"))
            .call()
            .expect("the feed opens");
        Feed(Box::new(std::io::BufReader::new(stream.into_reader())))
    }

    /// The next event; fails after 20 s without one (keep-alive comments do not count).
    fn next(&mut self) -> (String, Value) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut name = String::from("message");
        loop {
            assert!(std::time::Instant::now() < deadline, "no event within 20 s");
            let mut line = String::new();
            let n = self.0.read_line(&mut line).expect("the stream is readable");
            assert!(n > 0, "the event stream ended");
            let line = line.trim_end_matches(['\r', '\n']);
            if let Some(event) = line.strip_prefix("event: ") {
                name = event.to_string();
            } else if let Some(data) = line.strip_prefix("data: ") {
                return (name, serde_json::from_str(data).expect("JSON data"));
            }
        }
    }
}

#[test]
fn an_administrators_feed_carries_each_answered_webhook_request_and_a_users_feed_none() {
    let door = Door::new();
    let bob = door.user("bob", &["BLUE"]);
    let echo = door.t.run(
        "CreateWebHookConfigCommand",
        json!({"name": "echo", "url": "/webhook/feed/echo", "executionType": 0,
               "commandName": "GetUserListQuery", "verification": {"scheme": "none"}}),
    )["id"]
        .clone();
    let signed = door.t.run(
        "CreateWebHookConfigCommand",
        json!({"name": "signed", "url": "/webhook/feed/signed", "executionType": 0,
               "commandName": "GetUserListQuery",
               "verification": {"scheme": "paystack", "secret": "sk_test"}}),
    )["id"]
        .clone();
    assert!(echo.is_i64() && signed.is_i64() && echo != signed);
    let served = Served::start(door.st.clone());
    let mut admin = Feed::open(&served, ADMIN);
    let mut users = Feed::open(&served, &bob.token);

    // Accepted, then refused for its missing signature: one event each, in order.
    let (status, answer) = served.post("/webhook/feed/echo", None, &json!({"n": 1}));
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = served.post("/webhook/feed/signed", None, &json!({"n": 2}));
    assert_eq!(status, 401, "{answer}");
    let (name, first) = admin.next();
    assert_eq!(name, "webhook-request", "{first}");
    assert_eq!(first["path"], "/webhook/feed/echo");
    assert_eq!(first["statusCode"], 200);
    assert!(
        first["at"].as_str().is_some_and(|a| a.ends_with('Z')),
        "{first}"
    );
    let (name, second) = admin.next();
    assert_eq!(name, "webhook-request", "{second}");
    assert_eq!(second["path"], "/webhook/feed/signed");
    assert_eq!(second["statusCode"], 401);

    // Nothing configured at a path: refused and logged without a configuration.
    let (status, answer) = served.post("/webhook/feed/nowhere", None, &json!({"n": 3}));
    assert_eq!(status, 404, "{answer}");
    let (name, third) = admin.next();
    assert_eq!(name, "webhook-request", "{third}");
    assert_eq!(third["statusCode"], 404);
    assert_eq!(third["configId"], Value::Null, "{third}");

    // The same delivery twice (one sender id): run once, then logged as its duplicate.
    for n in [4, 5] {
        let sent = baton_testkit::agent()
            .post(&served.url("/webhook/feed/echo"))
            .set("webhook-id", "msg_feed_1")
            .set("Content-Type", "application/json")
            .send_string(&json!({"n": n}).to_string());
        assert_eq!(sent.map(|r| r.status()).ok(), Some(200));
    }
    let (_, fourth) = admin.next();
    let (_, fifth) = admin.next();

    // Each event says how the log recorded the request: its verdict.
    let verdicts = [&first, &second, &third, &fourth, &fifth].map(|e| e["verdict"].clone());
    assert_eq!(
        verdicts,
        [
            "accepted",
            "badSignature",
            "notFound",
            "accepted",
            "duplicate"
        ]
        .map(Value::from),
    );

    // Each event names the row the log gained and the configuration it reached.
    let log = door
        .t
        .run("GetWebhookRequestListQuery", json!({"pageSize": 10}))["items"]
        .clone();
    let row = |event: &Value| {
        let id = &event["requestId"];
        assert!(id.is_i64(), "no request id: {event}");
        log.as_array()
            .unwrap()
            .iter()
            .find(|r| &r["id"] == id)
            .unwrap_or_else(|| panic!("{event} names no row of {log}"))
            .clone()
    };
    for (event, config) in [
        (&first, &echo),
        (&second, &signed),
        (&third, &Value::Null),
        (&fourth, &echo),
        (&fifth, &echo),
    ] {
        assert_eq!(&event["configId"], config, "{event}");
        let row = row(event);
        assert_eq!(row["path"], event["path"], "{row}");
        assert_eq!(row["statusCode"], event["statusCode"], "{row}");
        assert_eq!(row["verdict"], event["verdict"], "{row}");
        assert_eq!(&row["configId"], config, "{row}");
    }
    assert_ne!(first["requestId"], second["requestId"]);
    assert_eq!(row(&fifth)["duplicateOf"], fourth["requestId"]);

    // Bob's feed skipped both: the next thing it carries is his own instance's start.
    door.t.deploy(
        &baton_testkit::Model::process("Mine")
            .start("s")
            .user_task("T")
            .end("e")
            .chain(&["s", "T", "e"])
            .xml(),
    );
    let rt = &door.t.rt;
    let as_bob = rt
        .acting_as(&baton_runtime::Caller::owner(), "bob")
        .unwrap();
    let started = rt.execute_as(
        "StartProcessInstanceCommand",
        &json!({"processKey": "Mine"}),
        &as_bob,
    );
    assert!(started.is_successful, "{started:?}");
    let (name, event) = users.next();
    assert_eq!(name, "instance", "bob's feed carried a request: {event}");
    assert_eq!(event["instanceGuid"], started.data["instanceGuid"]);
}

/// A request whose row could not be written (the file refuses writes) is announced without a row.
#[test]
fn a_request_the_log_could_not_keep_is_announced_without_a_request_id() {
    let door = Door::new();
    let config = door.t.run(
        "CreateWebHookConfigCommand",
        json!({"name": "echo", "url": "/webhook/feed/full", "executionType": 0,
               "commandName": "GetUserListQuery", "verification": {"scheme": "none"}}),
    )["id"]
        .clone();
    let served = Served::start(door.st.clone());
    let mut admin = Feed::open(&served, ADMIN);
    door.t.rt.simulate_store_faults(true, false).unwrap();
    let (status, answer) = served.post("/webhook/feed/full", None, &json!({"n": 1}));
    door.t.rt.simulate_store_faults(false, false).unwrap();
    let (name, event) = admin.next();
    assert_eq!(name, "webhook-request", "{event}");
    assert_eq!(event["statusCode"], status, "{answer}");
    assert_eq!(event["configId"], config, "{event}");
    let log = door.t.run("GetWebhookRequestListQuery", json!({}));
    assert_eq!(log["totalCount"], 0, "{log} {answer}");
    assert_eq!(event["requestId"], Value::Null, "{event}");
    assert_eq!(event["verdict"], Value::Null, "{event}");
}

#[test]
fn every_feed_carries_a_job_run_as_it_starts_and_as_it_ends() {
    let door = Door::new();
    let bob = door.user("bob", &["BLUE"]);
    // A job that changes no instance: without these events nothing would tell a view.
    let job = door.t.run(
        "CreateRecurringJobCommand",
        json!({"name": "tick", "cronExpression": "0 0 1 1 *", "timeZone": "UTC",
               "executionType": 2, "executionCode": "40 + 2"}),
    );
    let served = Served::start(door.st.clone());
    let mut admin = Feed::open(&served, ADMIN);
    let mut users = Feed::open(&served, &bob.token);
    let (status, ran) = served.post(
        "/api/v1/execute",
        Some(ADMIN),
        &json!({"cmd": "ExecuteRecurringJobCommand", "data": {"id": job["id"]}}),
    );
    assert_eq!(status, 200, "{ran}");
    let run_id = ran["data"]["runId"].clone();
    for feed in [&mut admin, &mut users] {
        let (name, started) = feed.next();
        assert_eq!(name, "job-run", "{started}");
        assert_eq!(started["jobId"], job["id"], "{started}");
        assert_eq!(started["runId"], run_id, "{started}");
        assert_eq!(started["status"], "Running", "{started}");
        let (name, ended) = feed.next();
        assert_eq!(name, "job-run", "{ended}");
        assert_eq!(ended["runId"], run_id, "{ended}");
        assert_eq!(ended["status"], "Succeeded", "{ended}");
        assert!(
            ended["at"].as_str().is_some_and(|a| a.ends_with('Z')),
            "{ended}"
        );
    }
}
