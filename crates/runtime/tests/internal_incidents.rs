//! Internal incidents, on a real SQLite file: a step that fails inside Baton (a panic, from the
//! runtime's test hook `panic_next`) gives its instance an incident with a plain message and
//! the reference of the log line, shows the instance `FAILED`, stops its timer from being
//! tried again and again, and is retried by `RetryIncidentCommand`; everything else goes on.
//! Also here: buffered deliveries that failed are tried again by the scheduler with a backoff,
//! and the outbox delivery stops between batches when the scheduler is told to stop.

use baton_runtime::host::{Host, HostConfig};
use baton_runtime::{InstanceChange, PanicSite};
use baton_testkit::models::{alarm_flow, callback_flow, order_flow};
use baton_testkit::{agent, Model, TestRuntime};
use serde_json::{json, Value};
use std::time::Duration;

fn timer(key: &str, duration: &str) -> String {
    Model::process(key)
        .start("s")
        .catch_timer("wait", "timeDuration", duration)
        .end("e")
        .chain(&["s", "wait", "e"])
        .xml()
}

fn quick() -> String {
    Model::process("Quick")
        .start("s")
        .end("e")
        .chain(&["s", "e"])
        .xml()
}

/// No answer shows a panic's text.
fn assert_no_panic_text(v: &Value) {
    let text = v.to_string().to_lowercase();
    for word in ["panic", "on purpose"] {
        assert!(!text.contains(word), "'{word}' is shown: {v}");
    }
}

/// The open incidents of `guid` as GetIncidentListQuery lists them.
fn open_incidents(t: &TestRuntime, guid: &str) -> Vec<Value> {
    let list = t.run("GetIncidentListQuery", json!({}));
    assert_no_panic_text(&list);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["instanceGuid"] == guid)
        .cloned()
        .collect()
}

fn timers_of(t: &TestRuntime, guid: &str) -> i64 {
    t.run("GetTimerListQuery", json!({"instanceGuid": guid}))["totalCount"]
        .as_i64()
        .unwrap()
}

/// Another instance still starts and completes, and a query answers.
fn everything_else_works(t: &TestRuntime) {
    let d = t.run(
        "StartProcessInstanceCommand",
        json!({"processKey": "Quick"}),
    );
    assert_eq!(d["status"], "COMPLETED", "{d}");
    t.run("GetProcessInstanceListQuery", json!({}));
}

#[test]
fn a_timer_whose_step_panics_raises_an_incident_and_fires_again_only_on_retry() {
    let t = TestRuntime::new();
    t.deploy(&quick());
    t.deploy(&timer("Wait", "PT10S"));
    let guids: Vec<String> = (0..3).map(|_| t.start("Wait", json!({}))).collect();
    t.rt.panic_next(PanicSite::Step, 1);
    t.advance(11);
    let report = t.rt.fire_due();
    assert_eq!((report.fired, report.failed), (2, 1), "{report:?}");
    let status = |g: &String| t.instance(g)["status"].as_str().unwrap().to_string();
    let failed: Vec<&String> = guids.iter().filter(|g| status(g) == "FAILED").collect();
    assert_eq!(failed.len(), 1, "one timer failed, two fired");
    let guid = failed[0].clone();
    assert_eq!(guids.iter().filter(|g| status(g) == "COMPLETED").count(), 2);

    // The instance shows the incident at the timer's element, with a plain message and the
    // reference of the log line; so do the incident list and the history.
    let inst = t.instance(&guid);
    assert_no_panic_text(&inst);
    let incidents = inst["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{inst}");
    assert_eq!(incidents[0]["elementId"], "wait");
    let message = incidents[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Stopped by an internal error while firing its timers (reference "),
        "{message}"
    );
    let listed = open_incidents(&t, &guid);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["message"], message);
    let list = t.run(
        "GetProcessInstanceListQuery",
        json!({"processKey": "Wait", "status": "FAILED"}),
    );
    assert_eq!(list["totalCount"], 1, "{list}");
    assert!(t
        .history_kinds(&guid)
        .contains(&"incidentRaised".to_string()));

    // Its timer is not tried again: an hour later nothing fires.
    assert_eq!(timers_of(&t, &guid), 0);
    t.advance(3600);
    let report = t.rt.fire_due();
    assert_eq!(report.fired + report.failed, 0, "{report:?}");
    assert_eq!(status(&guid), "FAILED");
    everything_else_works(&t);

    // The retry fires the due timer: the instance completes, the incident is resolved.
    let retried = t.run("RetryIncidentCommand", json!({"instanceGuid": guid}));
    assert_eq!(retried["status"], "COMPLETED", "{retried}");
    assert_eq!(retried["incidents"], json!([]));
    assert_eq!(status(&guid), "COMPLETED");
    assert!(open_incidents(&t, &guid).is_empty());
    let all = t.run("GetIncidentListQuery", json!({"openOnly": false}));
    assert!(all["items"][0]["resolvedAt"].is_string(), "{all}");
}

#[test]
fn a_retry_that_fails_again_keeps_one_incident_with_the_new_reference_and_the_state_survives_a_restart(
) {
    let t = TestRuntime::new();
    t.deploy(&quick());
    t.deploy(&timer("Wait", "PT10S"));
    let guid = t.start("Wait", json!({}));
    t.rt.panic_next(PanicSite::Step, 1);
    t.advance(11);
    assert_eq!(t.rt.fire_due().failed, 1);
    let first = open_incidents(&t, &guid)[0]["message"].clone();

    t.rt.panic_next(PanicSite::Step, 1);
    let refused = t.refused("RetryIncidentCommand", json!({"instanceGuid": guid}));
    let answer = serde_json::to_value(&refused).unwrap();
    assert_no_panic_text(&answer);
    let reference = refused
        .message
        .strip_prefix("internal error; reference ")
        .unwrap_or_else(|| panic!("{answer}"))
        .to_string();
    let open = open_incidents(&t, &guid);
    assert_eq!(open.len(), 1, "one incident per instance: {open:?}");
    assert_ne!(open[0]["message"], first);
    assert!(
        open[0]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("(reference {reference})")),
        "the incident names the reference the caller saw: {open:?}"
    );

    // After a restart it is still there, still FAILED, still not fired by the scheduler.
    let t = t.reopen();
    assert_eq!(t.instance(&guid)["status"], "FAILED");
    assert_eq!(t.instance(&guid)["incidents"].as_array().unwrap().len(), 1);
    t.advance(120);
    t.rt.fire_due();
    assert_eq!(t.instance(&guid)["status"], "FAILED");
    everything_else_works(&t);
    let retried = t.run(
        "RetryIncidentCommand",
        json!({"instanceGuid": guid, "variables": {"fixed": true}}),
    );
    assert_eq!(retried["status"], "COMPLETED", "{retried}");
    assert_eq!(t.instance(&guid)["variables"]["fixed"], true);
}

#[test]
fn other_steps_keep_a_stopped_instance_failed_and_a_cancel_resolves_its_incident() {
    let t = TestRuntime::new();
    t.deploy(&quick());
    t.deploy(
        &Model::process("Two")
            .start("s")
            .user_task("a")
            .user_task("b")
            .end("e")
            .chain(&["s", "a", "b", "e"])
            .xml(),
    );
    let guid = t.start("Two", json!({}));
    t.rt.panic_next(PanicSite::Step, 1);
    let refused = t.refused(
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "taskId": "a", "callbackData": {}}),
    );
    assert_no_panic_text(&serde_json::to_value(&refused).unwrap());
    let inst = t.instance(&guid);
    assert_eq!(inst["status"], "FAILED", "{inst}");
    assert_eq!(inst["incidents"][0]["elementId"], "a", "{inst}");
    assert!(inst["incidents"][0]["message"]
        .as_str()
        .unwrap()
        .contains("while completing task 'a'"));

    // The same command again succeeds; the incident stays open until it is retried.
    t.run(
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "taskId": "a", "callbackData": {}}),
    );
    let inst = t.instance(&guid);
    assert_eq!(inst["status"], "FAILED", "{inst}");
    assert_eq!(inst["waiting"][0]["taskId"], "b", "{inst}");
    everything_else_works(&t);

    // A cancel ends the instance and resolves it.
    t.run(
        "CancelProcessInstanceCommand",
        json!({"instanceGuid": guid}),
    );
    assert_eq!(t.instance(&guid)["status"], "CANCELLED");
    assert!(open_incidents(&t, &guid).is_empty());
}

// ----- through the real server ---------------------------------------------------------------

const TOKEN: &str = "internal-incidents-token-0123456789";

/// `POST /api/v1/execute` on the host's port: the answer (any status).
fn over_http(host: &Host, cmd: &str, data: Value) -> Value {
    let url = format!("http://{}/api/v1/execute", host.address().unwrap());
    let sent = agent()
        .post(&url)
        .set("authorization", &format!("Bearer {TOKEN}"))
        .send_string(&json!({"cmd": cmd, "data": data}).to_string());
    let resp = match sent {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{cmd}: {e}"),
    };
    let body: Value = serde_json::from_str(&resp.into_string().unwrap()).unwrap();
    assert_no_panic_text(&body);
    body
}

fn ok_over_http(host: &Host, cmd: &str, data: Value) -> Value {
    let body = over_http(host, cmd, data);
    assert_eq!(body["isSuccessful"], true, "{cmd}: {body}");
    body["data"].clone()
}

/// Waits (at most 60 s) for `guid` to reach `status` on the change feed.
fn wait_for(mut feed: tokio::sync::broadcast::Receiver<InstanceChange>, guid: &str, status: &str) {
    let (tx, rx) = std::sync::mpsc::channel();
    let (g, st) = (guid.to_string(), status.to_string());
    std::thread::spawn(move || loop {
        match feed.blocking_recv() {
            Ok(c) if c.instance_guid == g && c.status == st => {
                let _ = tx.send(());
                return;
            }
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(_) => return,
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{guid} did not reach {status}"));
}

#[test]
fn the_server_shows_a_timer_that_panicked_as_an_incident_and_fires_it_on_retry() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(HostConfig {
        listen: Some("127.0.0.1:0".into()),
        token: Some(TOKEN.into()),
        ..HostConfig::new(dir.path().join("server.db"))
    })
    .unwrap();
    for xml in [quick(), timer("Soon", "PT1S"), timer("Tick", "PT0.1S")] {
        ok_over_http(
            &host,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": xml}),
        );
    }
    let feed = host.subscribe();
    let soon = ok_over_http(
        &host,
        "StartProcessInstanceCommand",
        json!({"processKey": "Soon"}),
    );
    let soon = soon["instanceGuid"].as_str().unwrap().to_string();
    // The scheduler fires its timer a second later, and that step panics.
    host.runtime().panic_next(PanicSite::Step, 1);
    wait_for(feed, &soon, "FAILED");

    // The scheduler goes on: another timer fires; queries answer; the incident is listed.
    let feed = host.subscribe();
    let tick = ok_over_http(
        &host,
        "StartProcessInstanceCommand",
        json!({"processKey": "Tick"}),
    );
    wait_for(feed, tick["instanceGuid"].as_str().unwrap(), "COMPLETED");
    let inst = ok_over_http(
        &host,
        "GetProcessInstanceByIdQuery",
        json!({"instanceGuid": soon}),
    );
    assert_eq!(inst["status"], "FAILED", "{inst}");
    assert_eq!(inst["incidents"][0]["elementId"], "wait", "{inst}");
    let incidents = ok_over_http(&host, "GetIncidentListQuery", json!({}));
    assert_eq!(incidents["totalCount"], 1, "{incidents}");
    let timers = ok_over_http(&host, "GetTimerListQuery", json!({"instanceGuid": soon}));
    assert_eq!(
        timers["totalCount"], 0,
        "not tried again on its own: {timers}"
    );

    // The user retries it: the timer fires.
    let retried = ok_over_http(&host, "RetryIncidentCommand", json!({"instanceGuid": soon}));
    assert_eq!(retried["status"], "COMPLETED", "{retried}");
    let incidents = ok_over_http(&host, "GetIncidentListQuery", json!({}));
    assert_eq!(incidents["totalCount"], 0, "{incidents}");
    host.shutdown();
}

/// Buffers a callback for `key` (a TTL of 10 minutes).
fn buffer_callback(t: &TestRuntime, key: &str) {
    let b = t.run(
        "ReturnCallbackCommand",
        json!({"correlationKey": key, "result": {"paid": true}, "ttlSeconds": 600}),
    );
    assert_eq!(b["callbackStatus"], "Buffered", "{b}");
}

fn buffered(t: &TestRuntime, status: &str) -> i64 {
    t.run("GetMessageBufferListQuery", json!({"status": status}))["totalCount"]
        .as_i64()
        .unwrap()
}

#[test]
fn a_buffered_delivery_that_panics_raises_an_incident_and_its_retry_delivers_the_entry() {
    let t = TestRuntime::new();
    t.deploy(&quick());
    t.deploy(&callback_flow());
    buffer_callback(&t, "R-1");
    // The delivery after the start fails (every commit of an update fails): left Buffered.
    t.rt.fail_next_step_commits(1_000);
    let guid = t.run(
        "StartProcessInstanceCommand",
        json!({"processKey": "CallbackFlow", "context": {"ref": "R-1"}}),
    )["instanceGuid"]
        .as_str()
        .unwrap()
        .to_string();
    t.rt.fail_next_step_commits(0);
    // A pass delivers it, and its step panics.
    t.rt.panic_next(PanicSite::Step, 1);
    assert_eq!(t.rt.deliver_buffered(), 0);
    let inst = t.instance(&guid);
    assert_eq!(inst["status"], "FAILED", "{inst}");
    assert_eq!(inst["incidents"][0]["elementId"], "Callback", "{inst}");
    assert!(inst["incidents"][0]["message"]
        .as_str()
        .unwrap()
        .contains("while applying the callback for key 'R-1'"));
    assert_eq!(buffered(&t, "Buffered"), 1, "not lost");

    // Later passes leave the stopped instance alone (within the entry's TTL).
    t.advance(300);
    t.rt.fire_due();
    assert_eq!(t.rt.deliver_buffered(), 0);
    assert_eq!(buffered(&t, "Buffered"), 1);
    everything_else_works(&t);

    // Its retry delivers the entry, as any step of it does.
    let retried = t.run("RetryIncidentCommand", json!({"instanceGuid": guid}));
    assert_eq!(retried["status"], "COMPLETED", "{retried}");
    assert_eq!(buffered(&t, "Correlated"), 1);
    assert!(open_incidents(&t, &guid).is_empty());
}

/// Makes a stored instance's state one the engine cannot follow (no scopes left), as a corrupt
/// or hand-edited row would be: its next step panics inside the engine.
fn poison(db: &std::path::Path, guid: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let changed = conn
        .execute(
            "UPDATE instances SET state = json_set(state, '$.scopes', json('[]')) WHERE guid = ?1",
            [guid],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

#[test]
fn a_signal_from_the_outbox_whose_step_panics_raises_an_incident_on_that_receiver_alone() {
    let t = TestRuntime::new();
    t.deploy(&quick());
    t.deploy(&alarm_flow());
    t.deploy(
        &Model::process("Ring")
            .signal("S", "Alarm")
            .start("s")
            .throw_signal("ring", "S")
            .end("e")
            .chain(&["s", "ring", "e"])
            .xml(),
    );
    let poisoned = t.start("AlarmFlow", json!({}));
    let healthy = t.start("AlarmFlow", json!({}));
    poison(&t.db(), &poisoned);
    // A new process reads the poisoned row (not the state it kept in memory).
    let t = t.reopen();

    // The thrower commits; the outbox delivers its signal: one receiver completes, the
    // poisoned one gets an incident (the engine panicked on its state).
    let ring = t.start("Ring", json!({}));
    assert_eq!(t.instance(&ring)["status"], "COMPLETED");
    assert_eq!(t.instance(&healthy)["status"], "COMPLETED");
    let open = open_incidents(&t, &poisoned);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        open[0]["elementId"], "WaitAlarm",
        "the catch event, from the index"
    );
    let message = open[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Stopped by an internal error while delivering signal 'Alarm' (reference "
        ),
        "{message}"
    );
    let failed = t.run(
        "GetProcessInstanceListQuery",
        json!({"processKey": "AlarmFlow", "status": "FAILED"}),
    );
    assert_eq!(
        failed["items"][0]["instanceGuid"],
        poisoned.as_str(),
        "{failed}"
    );
    everything_else_works(&t);

    // A retry resolves it (the signal was a delivery, not something the instance keeps; no
    // timer is due): the next signal stops it again, with a new reference.
    let retried = t.run("RetryIncidentCommand", json!({"instanceGuid": poisoned}));
    assert_eq!(retried["incidents"], json!([]), "{retried}");
    assert!(open_incidents(&t, &poisoned).is_empty());
    t.start("Ring", json!({}));
    let again = open_incidents(&t, &poisoned);
    assert_eq!(again.len(), 1, "{again:?}");
    assert_ne!(again[0]["message"], open[0]["message"]);
    everything_else_works(&t);
}

#[test]
fn a_stored_state_that_cannot_be_read_stops_its_instance_once_instead_of_failing_every_minute() {
    let t = TestRuntime::new();
    t.deploy(&quick());
    t.deploy(&timer("Wait", "PT10S"));
    let broken = t.start("Wait", json!({}));
    let fine = t.start("Wait", json!({}));
    let conn = rusqlite::Connection::open(t.db()).unwrap();
    conn.execute(
        "UPDATE instances SET state = '{\"not\": \"a state\"}' WHERE guid = ?1",
        [&broken],
    )
    .unwrap();
    drop(conn);
    let t = t.reopen();
    t.advance(11);
    let report = t.rt.fire_due();
    assert_eq!((report.fired, report.failed), (1, 1), "{report:?}");
    assert_eq!(t.instance(&fine)["status"], "COMPLETED");
    let open = open_incidents(&t, &broken);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        open[0]["elementId"], "Wait",
        "the process: the state names nothing"
    );
    assert!(
        open[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Stopped by an internal error while firing its timers (reference "),
        "{open:?}"
    );
    assert_eq!(timers_of(&t, &broken), 0, "not tried every minute");
    t.advance(3600);
    let report = t.rt.fire_due();
    assert_eq!(report.fired + report.failed, 0, "{report:?}");
    everything_else_works(&t);
    // A retry meets the same state: refused with a reference, the incident stays open.
    let refused = t.refused("RetryIncidentCommand", json!({"instanceGuid": broken}));
    assert!(
        refused.message.starts_with("internal error; reference "),
        "{refused:?}"
    );
    assert_eq!(open_incidents(&t, &broken).len(), 1);
}

// ----- buffered deliveries that failed are tried again ----------------------------------------

/// How many step commits a delivery uses up when every commit fails (it gives up after the
/// runtime's attempts); 0 when no delivery was tried.
fn commits_tried(t: &TestRuntime, armed: usize) -> usize {
    armed - t.rt.fail_next_step_commits(armed)
}

#[test]
fn a_failed_buffered_delivery_is_tried_again_by_the_scheduler_later_after_each_failure() {
    let t = TestRuntime::new();
    t.deploy(&quick());
    t.deploy(&callback_flow());
    buffer_callback(&t, "R-2");
    const ARMED: usize = 1_000_000;
    // Every commit of an update fails: the start commits its wait, the delivery does not.
    t.rt.fail_next_step_commits(ARMED);
    let s = t.run(
        "StartProcessInstanceCommand",
        json!({"processKey": "CallbackFlow", "context": {"ref": "R-2"}}),
    );
    assert_eq!(s["status"], "WAITING", "{s}");
    let guid = s["instanceGuid"].as_str().unwrap().to_string();
    let per_delivery = commits_tried(&t, ARMED);
    assert!(per_delivery > 0, "the delivery was tried once");

    // The first pass comes 5 s after the failure (not before), and fails again.
    t.advance(4);
    t.rt.fire_due();
    assert_eq!(commits_tried(&t, ARMED), 0, "no pass before 5 s");
    t.advance(1);
    t.rt.fire_due();
    assert_eq!(commits_tried(&t, ARMED), per_delivery, "a pass at 5 s");
    // The next one 10 s after that, then 20 s.
    t.advance(9);
    t.rt.fire_due();
    assert_eq!(commits_tried(&t, ARMED), 0, "no pass before 10 s");
    t.advance(1);
    t.rt.fire_due();
    assert_eq!(commits_tried(&t, ARMED), per_delivery, "a pass at 10 s");
    t.advance(19);
    t.rt.fire_due();
    assert_eq!(commits_tried(&t, ARMED), 0, "no pass before 20 s");
    assert_eq!(buffered(&t, "Buffered"), 1);
    everything_else_works(&t);

    // The disk is well again: the next pass delivers it, once, and the passes end.
    t.rt.fail_next_step_commits(0);
    t.advance(1);
    t.rt.fire_due();
    let inst = t.instance(&guid);
    assert_eq!(inst["status"], "COMPLETED", "{inst}");
    assert_eq!(buffered(&t, "Correlated"), 1);
    assert_eq!(buffered(&t, "Buffered"), 0);
    assert_eq!(
        t.run(
            "GetCallbackRegistryListQuery",
            json!({"instanceGuid": guid})
        )[0]["Status"],
        "Completed"
    );
    t.rt.fail_next_step_commits(ARMED);
    t.advance(3600);
    t.rt.fire_due();
    assert_eq!(
        commits_tried(&t, ARMED),
        0,
        "no pass after one without a failure"
    );
    t.rt.fail_next_step_commits(0);
}

#[test]
fn passes_after_failures_come_at_most_five_minutes_apart() {
    let t = TestRuntime::new();
    t.deploy(&order_flow());
    t.run(
        "CorrelateMessageCommand",
        json!({"messageName": "Paid", "correlationKey": "O-9", "ttlSeconds": 86400}),
    );
    const ARMED: usize = 1_000_000;
    t.rt.fail_next_step_commits(ARMED);
    let guid = t.start("OrderFlow", json!({"orderId": "O-9"}));
    let per_delivery = commits_tried(&t, ARMED);
    // 5, 10, 20, 40, 80, 160 s, then 300 s (not 320) and 300 s again.
    for wait in [5, 10, 20, 40, 80, 160, 300, 300] {
        t.advance(wait - 1);
        t.rt.fire_due();
        assert_eq!(commits_tried(&t, ARMED), 0, "no pass before {wait} s");
        t.advance(1);
        t.rt.fire_due();
        assert_eq!(commits_tried(&t, ARMED), per_delivery, "a pass at {wait} s");
    }
    t.rt.fail_next_step_commits(0);
    t.advance(300);
    t.rt.fire_due();
    assert_eq!(t.instance(&guid)["status"], "COMPLETED");
}

// ----- the outbox stops between batches when the scheduler stops ------------------------------

#[test]
fn the_outbox_delivery_stops_between_batches_when_the_scheduler_is_stopped() {
    let t = TestRuntime::new();
    t.deploy(&quick());
    // 250 pending rows (a message no one waits for: each is marked failed when delivered),
    // written behind the runtime's back, as rows left by a stop would be.
    let conn = rusqlite::Connection::open(t.db()).unwrap();
    for _ in 0..250 {
        conn.execute(
            "INSERT INTO outbox (instance_guid, event, payload, created_at) VALUES (NULL, 'messageThrown', '{\"name\":\"nobody\",\"variables\":{}}', '2026-01-01T00:00:00.000000Z')",
            [],
        )
        .unwrap();
    }
    let pending = || -> i64 {
        conn.query_row(
            "SELECT count(*) FROM outbox WHERE delivered_at IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    // The scheduler delivers the outbox first; the hook holds it after its first batch.
    t.rt.hold_outbox_between_batches(true);
    let scheduler = baton_runtime::spawn_scheduler(t.rt.clone());
    assert!(
        t.rt.outbox_held(Duration::from_secs(60)),
        "the delivery reached the end of its first batch"
    );
    let left = pending();
    assert!(
        left > 0 && left < 250,
        "one batch was delivered: {left} left"
    );
    // Stopping lets the hook go; the delivery sees the stop before its next batch.
    scheduler.stop();
    assert_eq!(pending(), left, "the rest is left for the next start");
    t.rt.hold_outbox_between_batches(false);
    everything_else_works(&t);

    // The next start delivers the rest.
    let t = t.reopen();
    assert_eq!(pending(), 0);
    everything_else_works(&t);
}
