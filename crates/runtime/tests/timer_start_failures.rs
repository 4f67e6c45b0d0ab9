//! A timer start event whose start fails, on a real SQLite file and a virtual clock: its attempts
//! with the back-off (1 minute, then 5), the incident after the third, no more firing, the
//! incident in GetIncidentListQuery, RetryIncidentCommand that re-arms it, a new version that
//! replaces it; and everything else (another timer start event, an instance's timer, a job,
//! queries) going on meanwhile. The last test runs `Host` (the real scheduler thread and HTTP on
//! 127.0.0.1) on a file whose timer start event fails.

mod common;

use baton_engine::{User, VirtualClock};
use baton_runtime::host::{Host, HostConfig};
use baton_runtime::{InstanceChange, PanicSite};
use baton_testkit::{agent, virtual_clock, Model};
use common::*;
use jiff::SignedDuration;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// `Bad`: a timer start event every hour (R/PT1H) and a script that records the start.
fn hourly(key: &str) -> String {
    Model::process(key)
        .start_timer("tick", "timeCycle", "R/PT1H")
        .script_task("note", "let started = true;")
        .end("e")
        .chain(&["tick", "note", "e"])
        .xml()
}

/// `Good`: a timer start event every 7 minutes.
fn beat() -> String {
    Model::process("Good")
        .start_timer("beat", "timeCycle", "R/PT7M")
        .end("e")
        .flow_id("f", "beat", "e")
        .xml()
}

/// `Wait10`: start, an intermediate timer of 10 minutes, end.
fn wait_10m() -> String {
    Model::process("Wait10")
        .start("s")
        .catch_timer("wait", "timeDuration", "PT10M")
        .end("e")
        .chain(&["s", "wait", "e"])
        .xml()
}

fn secs(t: &T, s: i64) -> jiff::Timestamp {
    t.t0() + SignedDuration::from_secs(s)
}

/// Moves the clock to t0 + `s` through every due time on the way; answers what fired.
fn until(t: &T, s: i64) -> baton_runtime::FireReport {
    t.rt.advance(&t.clock, secs(t, s))
}

/// The start timer row of `key`'s newest version, if it has one.
fn start_row(t: &T, element: &str) -> Option<Value> {
    t.timers("start")
        .into_iter()
        .find(|r| r["elementId"] == element)
}

fn incidents(t: &T, open_only: bool) -> Vec<Value> {
    t.run("GetIncidentListQuery", json!({"openOnly": open_only}))["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn start_incidents(t: &T, open_only: bool) -> Vec<Value> {
    incidents(t, open_only)
        .into_iter()
        .filter(|i| i["kind"] == "timerStart")
        .collect()
}

/// The reference in "internal error; reference XXXXXXXX" inside `text`.
fn reference(text: &str) -> String {
    let at = text
        .find("internal error; reference ")
        .unwrap_or_else(|| panic!("no reference in {text:?}"));
    text[at + "internal error; reference ".len()..][..8].to_string()
}

/// One attempt of `Bad` at t0 + `s` whose step panics: it fails alone.
fn failing_attempt(t: &T, s: i64) {
    t.rt.panic_next(PanicSite::Step, 1);
    let r = t.at(s);
    assert_eq!((r.fired, r.failed), (0, 1), "at {s}: {r:?}");
    assert_eq!(
        t.rt.panic_next(PanicSite::Step, 0),
        0,
        "the panic was raised"
    );
}

fn job_runs(t: &T, id: i64) -> Vec<Value> {
    t.run("GetRecurringJobRunListQuery", json!({"id": id}))["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_failing_timer_start_backs_off_stops_with_an_incident_and_a_retry_re_arms_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let clock = virtual_clock();
    let t = open(&db, &clock);
    let bad = t.deploy(&hourly("Bad"));
    t.deploy(&beat());
    t.deploy(&wait_10m());
    let job = t.run(
        "CreateRecurringJobCommand",
        json!({"name": "tally", "cronExpression": "5,35 * * * *", "executionType": 2, "executionCode": "40 + 2"}),
    )["id"]
        .as_i64()
        .unwrap();

    // Until the hour everything fires: Good every 7 minutes (8 times by 56 minutes), the job
    // at :05 and :35. An instance waits 10 minutes from 3100 s (due at 3700 s).
    until(&t, 3100);
    let w = t.start("Wait10");
    let r = until(&t, 3599);
    assert_eq!(r.failed, 0, "{r:?}");
    assert_eq!(t.instances_of("Good"), 8);
    let row = start_row(&t, "tick").expect("Bad's timer row");
    assert_eq!(row["dueAt"], stamp(secs(&t, 3600)));
    assert_eq!(
        (row["retries"].as_i64(), row["lastError"].clone()),
        (Some(3), Value::Null)
    );

    // Attempt 1 at the hour fails: counted, tried again a minute later.
    failing_attempt(&t, 3600);
    assert_eq!(t.instances_of("Bad"), 0);
    let row = start_row(&t, "tick").expect("still armed");
    assert_eq!(row["dueAt"], stamp(secs(&t, 3660)), "{row}");
    assert_eq!(row["retries"], 2, "{row}");
    let first = row["lastError"].as_str().unwrap().to_string();
    assert!(first.starts_with("internal error; reference "), "{first}");
    assert!(!first.contains("panic"), "no panic text: {first}");
    assert!(start_incidents(&t, false).is_empty(), "no incident yet");
    assert_eq!(until(&t, 3659).fired, 0, "nothing early");

    // Attempt 2 a minute later fails: the next is five minutes later.
    failing_attempt(&t, 3660);
    let row = start_row(&t, "tick").unwrap();
    assert_eq!(row["dueAt"], stamp(secs(&t, 3960)), "{row}");
    assert_eq!(row["retries"], 1, "{row}");
    assert_ne!(
        row["lastError"],
        first.as_str(),
        "each failure its own reference"
    );

    // Meanwhile the rest goes on: Good at 3780 s, the instance's timer at 3700 s, the job at
    // 3900 s, and queries.
    let r = until(&t, 3959);
    assert_eq!((r.fired, r.failed), (3, 0), "{r:?}");
    assert_eq!(t.instances_of("Good"), 9);
    assert_eq!(t.status(&w), "COMPLETED");
    let runs = job_runs(&t, job);
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert_eq!(runs[0]["status"], "Succeeded", "{runs:?}");

    // Attempt 3 fails: the start event stops firing and has an incident.
    failing_attempt(&t, 3960);
    assert!(start_row(&t, "tick").is_none(), "Bad left the timer table");
    let opened = start_incidents(&t, true);
    assert_eq!(opened.len(), 1, "{opened:?}");
    let inc = &opened[0];
    assert_eq!(inc["instanceGuid"], Value::Null);
    assert_eq!(inc["processDefinitionId"].as_i64(), Some(bad));
    assert_eq!(inc["processKey"], "Bad");
    assert_eq!(inc["elementId"], "tick");
    assert_eq!(inc["attempts"], 3);
    assert_eq!(inc["resolvedAt"], Value::Null);
    assert_eq!(inc["createdAt"], stamp(secs(&t, 3960)));
    let message = inc["message"].as_str().unwrap();
    assert!(
        message.contains("'tick' stopped after 3 failed attempts")
            && message.contains("RetryIncidentCommand"),
        "{message}"
    );
    assert!(
        !message.contains("panic") && !message.contains("purpose"),
        "{message}"
    );
    reference(message);

    // It never fires again on its own; Good, the job and new instances go on.
    let r = until(&t, 4 * 3600 + 60);
    assert_eq!(r.failed, 0, "{r:?}");
    assert_eq!(t.instances_of("Bad"), 0);
    assert_eq!(t.instances_of("Good"), 34, "every 7 minutes until 4h01");
    assert_eq!(job_runs(&t, job).len(), 8);
    let w2 = t.start("Wait10");
    until(&t, 4 * 3600 + 60 + 600);
    assert_eq!(t.status(&w2), "COMPLETED");

    // The incident survives a restart.
    drop(t);
    let t = open(&db, &clock);
    assert_eq!(start_incidents(&t, true).len(), 1);
    assert!(start_row(&t, "tick").is_none());

    // Only an administrator retries it.
    let bob = User {
        name: "bob".into(),
        teams: vec![],
    };
    let retry = json!({"processDefinitionId": bad, "elementId": "tick"});
    let refused = t.rt.execute("RetryIncidentCommand", &retry, Some(&bob));
    assert_eq!(
        refused.code.map(|c| c.as_str()),
        Some("FORBIDDEN"),
        "{refused:?}"
    );
    let seen = baton_testkit::ok(t.rt.execute("GetIncidentListQuery", &json!({}), Some(&bob)));
    assert_eq!(
        seen["items"][0]["elementId"], "tick",
        "anyone sees it: {seen}"
    );

    // A retry whose attempt fails again: the incident is open again at once, with the
    // reference the answer shows.
    t.rt.panic_next(PanicSite::Step, 1);
    let again = t.rt.execute("RetryIncidentCommand", &retry, None);
    assert!(!again.is_successful, "{again:?}");
    assert_eq!(again.code.map(|c| c.as_str()), Some("INTERNAL"));
    let opened = start_incidents(&t, true);
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(
        reference(opened[0]["message"].as_str().unwrap()),
        reference(&again.message)
    );
    assert!(start_row(&t, "tick").is_none());

    // A retry that works: it starts an instance now and re-arms the cycle in its phase.
    let done = t.run("RetryIncidentCommand", retry.clone());
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let guid = done["instanceGuid"].as_str().unwrap();
    assert_eq!(t.instance(guid)["variables"]["started"], true);
    assert_eq!(t.instances_of("Bad"), 1);
    assert!(start_incidents(&t, true).is_empty());
    // Two incidents in all: the first, resolved by the retry that failed, and the one that
    // retry opened.
    let all = start_incidents(&t, false);
    assert_eq!(all.len(), 2, "{all:?}");
    for i in &all {
        assert_eq!(i["resolution"], "retried", "{i}");
        assert_eq!(i["resolvedAt"], stamp(secs(&t, 4 * 3600 + 660)), "{i}");
    }
    assert_ne!(all[0]["id"], all[1]["id"]);
    let row = start_row(&t, "tick").expect("armed again");
    assert_eq!(
        row["dueAt"],
        stamp(secs(&t, 5 * 3600)),
        "keeps its phase: {row}"
    );
    assert_eq!(
        (row["retries"].as_i64(), row["lastError"].clone()),
        (Some(3), Value::Null)
    );
    let refused = t.refused("RetryIncidentCommand", retry);
    assert_eq!(refused.code.map(|c| c.as_str()), Some("NOT_FOUND"));

    // And it fires on its own again.
    let r = until(&t, 6 * 3600);
    assert_eq!(r.failed, 0, "{r:?}");
    assert_eq!(t.instances_of("Bad"), 3);
}

#[test]
fn a_definition_that_cannot_be_read_stops_its_timer_start_and_a_new_version_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let clock = virtual_clock();
    let v1 = {
        let t = open(&db, &clock);
        t.deploy(&beat());
        t.deploy(&hourly("Bad"))
    };
    // The stored model is damaged behind Baton's back: every start fails (no panic).
    let conn = rusqlite::Connection::open(&db).unwrap();
    let changed = conn
        .execute(
            "UPDATE definitions SET bpmn_xml = 'not a model' WHERE id = ?1",
            [v1],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(conn);
    let t = open(&db, &clock);
    for (at, retries) in [(3600, Some(2)), (3660, Some(1)), (3960, None)] {
        let r = t.at(at);
        assert_eq!(r.failed, 1, "at {at}: {r:?}");
        let row = start_row(&t, "tick");
        assert_eq!(
            row.as_ref().map(|r| r["retries"].as_i64().unwrap()),
            retries
        );
        if let Some(row) = row {
            let e = row["lastError"].as_str().unwrap();
            assert!(!e.contains("stored definition"), "no detail: {e}");
            reference(e);
        }
    }
    let opened = start_incidents(&t, true);
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0]["processDefinitionId"].as_i64(), Some(v1));
    assert_eq!(t.instances_of("Bad"), 0);
    // Good went on beside it (every 7 minutes; it fired once at 3600 s after the jump).
    assert!(t.instances_of("Good") >= 1);

    // A new version replaces the start event: the incident is resolved as replaced and the new
    // version's timer start event fires.
    let v2 = t.deploy(&hourly("Bad"));
    assert!(start_incidents(&t, true).is_empty());
    let all = start_incidents(&t, false);
    assert_eq!(
        (all[0]["resolution"].as_str(), all[0]["resolvedAt"].as_str()),
        (Some("replaced"), Some(stamp(secs(&t, 3960)).as_str()))
    );
    let row = start_row(&t, "tick").unwrap();
    assert_eq!(row["processDefinitionId"].as_i64(), Some(v2));
    let r = t.at(3960 + 3600);
    assert_eq!(r.failed, 0, "{r:?}");
    let list = t.run("GetProcessInstanceListQuery", json!({"processKey": "Bad"}));
    assert_eq!(list["totalCount"], 1, "{list}");
    assert_eq!(list["items"][0]["processDefinitionId"].as_i64(), Some(v2));
    // A replaced incident cannot be retried.
    let r = t.refused(
        "RetryIncidentCommand",
        json!({"processDefinitionId": v1, "elementId": "tick"}),
    );
    assert_eq!(r.code.map(|c| c.as_str()), Some("NOT_FOUND"));
}

#[test]
fn a_start_put_off_by_the_start_rate_is_not_a_failed_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    t.deploy(&hourly("Bad"));
    t.run(
        "SetEngineLimitsCommand",
        json!({"maxInstancesPerSecond": 1}),
    );
    t.clock.set(secs(&t, 3600));
    // A command start takes the one start of that second.
    t.start("Bad");
    let r = t.rt.fire_due();
    assert_eq!((r.fired, r.failed), (0, 1), "{r:?}");
    let row = start_row(&t, "tick").unwrap();
    assert_eq!(
        (row["retries"].as_i64(), row["lastError"].clone()),
        (Some(3), Value::Null)
    );
    assert_eq!(row["dueAt"], stamp(secs(&t, 3660)));
    let r = t.at(3660);
    assert_eq!((r.fired, r.failed), (1, 0), "{r:?}");
    // It went on from the hour it stood for.
    assert_eq!(
        start_row(&t, "tick").unwrap()["dueAt"],
        stamp(secs(&t, 7200))
    );
}

#[test]
fn retry_incident_names_an_instance_or_a_timer_start_event() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    let cases = [
        (json!({}), "instanceGuid", "instanceGuid is required"),
        (
            json!({"instanceGuid": " "}),
            "instanceGuid",
            "instanceGuid is required",
        ),
        (
            json!({"elementId": "tick"}),
            "processDefinitionId",
            "processDefinitionId is required with elementId",
        ),
        (
            json!({"processDefinitionId": 1}),
            "elementId",
            "elementId is required with processDefinitionId",
        ),
        (
            json!({"instanceGuid": "x", "processDefinitionId": 1, "elementId": "tick"}),
            "instanceGuid",
            "not both",
        ),
        (
            json!({"processDefinitionId": "one", "elementId": "tick"}),
            "processDefinitionId",
            "must be an integer",
        ),
        (
            json!({"processDefinitionId": 7, "elementId": "tick"}),
            "elementId",
            "has no open incident",
        ),
    ];
    for (data, field, words) in cases {
        let message = t.field("RetryIncidentCommand", data.clone(), field);
        assert!(message.contains(words), "{data}: {message}");
    }
}

const TOKEN: &str = "timer-start-failures-token-0123456789";

/// `POST /api/v1/execute` on the host's port; answers `data` of a successful answer.
fn ok_over_http(host: &Host, cmd: &str, data: Value) -> Value {
    let url = format!("http://{}/api/v1/execute", host.address().unwrap());
    let resp = agent()
        .post(&url)
        .set("authorization", &format!("Bearer {TOKEN}"))
        .send_string(&json!({"cmd": cmd, "data": data}).to_string())
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    let body: Value = serde_json::from_str(&resp.into_string().unwrap()).unwrap();
    assert_eq!(body["isSuccessful"], true, "{cmd}: {body}");
    body["data"].clone()
}

/// Starts an instance of `key` over HTTP and waits (at most 60 s) for the change feed to show
/// it COMPLETED.
fn run_to_completion(host: &Host, key: &str) {
    let mut feed: tokio::sync::broadcast::Receiver<InstanceChange> = host.subscribe();
    let started = ok_over_http(
        host,
        "StartProcessInstanceCommand",
        json!({"processKey": key}),
    );
    let guid = started["instanceGuid"].as_str().unwrap().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || loop {
        match feed.blocking_recv() {
            Ok(c) if c.instance_guid == guid && c.status == "COMPLETED" => {
                let _ = tx.send(());
                return;
            }
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(_) => return,
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{key} did not complete"));
}

#[test]
fn the_server_keeps_serving_while_a_timer_start_fails_on_its_scheduler() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    // Deployed in 2025 (a virtual clock), due on 1 June 2025: due at once when the server
    // starts. Its stored model is damaged before then, so its start fails.
    let v1 = {
        let clock = Arc::new(VirtualClock::new("2025-01-01T00:00:00Z".parse().unwrap()));
        let t = open(&db, &clock);
        t.deploy(
            &Model::process("Bad")
                .start_timer("at", "timeDate", "2025-06-01T00:00:00Z")
                .end("e")
                .flow_id("f", "at", "e")
                .xml(),
        )
    };
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE definitions SET bpmn_xml = 'not a model' WHERE id = ?1",
        [v1],
    )
    .unwrap();
    drop(conn);
    let host = Host::start(HostConfig {
        listen: Some("127.0.0.1:0".into()),
        token: Some(TOKEN.into()),
        ..HostConfig::new(db)
    })
    .unwrap();
    ok_over_http(
        &host,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": Model::process("Tick")
            .start("s")
            .catch_timer("wait", "timeDuration", "PT0.1S")
            .end("e")
            .chain(&["s", "wait", "e"])
            .xml()}),
    );
    // Other timers fire on the scheduler meanwhile. The second one is fired in a later pass
    // than Bad's first attempt (Bad was due first), so that attempt is recorded by then.
    run_to_completion(&host, "Tick");
    run_to_completion(&host, "Tick");
    let timers = ok_over_http(&host, "GetTimerListQuery", json!({"kind": "start"}));
    let row = &timers["items"][0];
    assert_eq!(row["elementId"], "at", "{timers}");
    assert_eq!(row["retries"], 2, "one failed attempt: {timers}");
    let error = row["lastError"].as_str().unwrap();
    assert!(
        error.starts_with("internal error; reference ") && !error.contains("stored definition"),
        "{error}"
    );
    let incidents = ok_over_http(&host, "GetIncidentListQuery", json!({}));
    assert_eq!(incidents["totalCount"], 0, "attempts are left: {incidents}");
    let list = ok_over_http(
        &host,
        "GetProcessInstanceListQuery",
        json!({"processKey": "Tick"}),
    );
    assert_eq!(list["totalCount"], 2, "{list}");
    host.shutdown();
}

/// `Paced`: like `hourly`, with the start event's retry cycle written as Camunda writes it.
fn paced(cycle: &str) -> String {
    let start = format!(
        r#"<bpmn:startEvent id="tick" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"><bpmn:extensionElements><camunda:failedJobRetryTimeCycle>{cycle}</camunda:failedJobRetryTimeCycle></bpmn:extensionElements>{}</bpmn:startEvent>"#,
        baton_testkit::model::timer("timeCycle", "R/PT1H")
    );
    Model::process("Paced")
        .raw("tick", &start)
        .script_task("note", "let started = true;")
        .end("e")
        .chain(&["tick", "note", "e"])
        .xml()
}

#[test]
fn a_timer_start_events_retry_cycle_sets_its_attempts_and_waits() {
    let dir = tempfile::tempdir().unwrap();
    let clock = virtual_clock();
    let t = open(&dir.path().join("t.db"), &clock);
    // Four attempts: the first retry 2 minutes after the first failure, every later one 10.
    let def = t.deploy(&paced("R4/PT2M,PT10M"));
    let row = start_row(&t, "tick").unwrap();
    assert_eq!(row["retries"], 4, "{row}");
    for (at, next, retries) in [(3600, 3720, 3), (3720, 4320, 2), (4320, 4920, 1)] {
        failing_attempt(&t, at);
        let row = start_row(&t, "tick").unwrap();
        assert_eq!(row["dueAt"], stamp(secs(&t, next)), "after {at}: {row}");
        assert_eq!(row["retries"], retries, "after {at}: {row}");
        assert_eq!(until(&t, next - 1).fired, 0, "nothing before {next}");
    }
    failing_attempt(&t, 4920);
    assert!(start_row(&t, "tick").is_none(), "stopped after the 4th");
    let opened = start_incidents(&t, true);
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0]["attempts"], 4);
    assert!(
        opened[0]["message"]
            .as_str()
            .unwrap()
            .contains("stopped after 4 failed attempts"),
        "{}",
        opened[0]
    );
    // A retry of the incident is one attempt: its failure opens the incident again at once.
    let retry = json!({"processDefinitionId": def, "elementId": "tick"});
    t.rt.panic_next(PanicSite::Step, 1);
    assert!(
        !t.rt
            .execute("RetryIncidentCommand", &retry, None)
            .is_successful
    );
    assert_eq!(start_incidents(&t, true).len(), 1);
    assert_eq!(t.run("RetryIncidentCommand", retry)["status"], "COMPLETED");
    assert_eq!(t.instances_of("Paced"), 1);

    // As an extension property, one attempt: the first failure is the incident.
    let once = hourly("Once").replacen(
        r#"<bpmn:startEvent id="tick">"#,
        r#"<bpmn:startEvent id="tick"><bpmn:extensionElements><custom:properties><custom:property name="failedJobRetryTimeCycle" value="R1/PT1M"/></custom:properties></bpmn:extensionElements>"#,
        1,
    );
    assert!(once.contains("R1/PT1M"), "{once}");
    let t2 = open(&dir.path().join("t2.db"), &virtual_clock());
    t2.deploy(&once);
    assert_eq!(start_row(&t2, "tick").unwrap()["retries"], 1);
    failing_attempt(&t2, 3600);
    assert!(start_row(&t2, "tick").is_none());
    assert_eq!(start_incidents(&t2, true)[0]["attempts"], 1);
}

#[test]
fn an_unreadable_retry_cycle_is_refused_at_deploy_naming_the_element_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let clock = virtual_clock();
    let t = open(&dir.path().join("t.db"), &clock);
    for (cycle, says) in [
        ("R0/PT5M", "asks for 0 attempts"),
        ("R3/soon", "'soon' in 'R3/soon' is not an ISO 8601 duration"),
        ("R3/P1M", "months or years"),
        ("R3/P4000D", "longer than a timer may wait"),
    ] {
        let xml = paced(cycle);
        let refused = t.refused("DeployProcessDefinitionCommand", json!({"bpmnXml": xml}));
        let problems = refused.data["problems"].as_array().expect("problems");
        assert_eq!(problems.len(), 1, "{cycle}: {problems:?}");
        let p = &problems[0];
        let message = p["message"].as_str().unwrap();
        assert!(
            message.starts_with("timer start event 'tick': failedJobRetryTimeCycle")
                && message.contains(says),
            "{cycle}: {message}"
        );
        // Where the cycle is written: the whole model is one line.
        let column = xml.find("<camunda:failedJobRetryTimeCycle").unwrap() + 1;
        assert_eq!(
            (
                p["elementId"].as_str(),
                p["line"].as_u64(),
                p["column"].as_u64()
            ),
            (Some("tick"), Some(1), Some(column as u64)),
            "{p}"
        );
    }
    assert!(t.timers("start").is_empty(), "nothing was deployed");
}
