//! `failedJobRetryTimeCycle` on a task, on a real SQLite file and a virtual clock: a failing
//! script task waits for its next attempt as a durable instance timer (WAITING, no incident,
//! `attemptFailed` in the history, the wait in the instance's view), survives a restart of the
//! runtime between attempts, and opens its incident only when the last attempt failed; the
//! incident is retried by hand as any other.

mod common;

use baton_engine::VirtualClock;
use baton_testkit::{virtual_clock, Model};
use common::*;
use jiff::SignedDuration;
use serde_json::{json, Value};

/// `Charge`: start, the script task `pay` (fails while `ready` is false) with `cycle` as an
/// extension property, end.
fn charge(cycle: &str) -> String {
    Model::process("Charge")
        .start("s")
        .script_task(
            "pay",
            r#"if !ready { throw "the gateway is down"; } charged = true;"#,
        )
        .props(&[("failedJobRetryTimeCycle", cycle)])
        .end("e")
        .chain(&["s", "pay", "e"])
        .xml()
}

/// Starts `Charge` with `ready` false (its task fails); answers the instance.
fn start_unready(t: &T) -> String {
    t.run(
        "StartProcessInstanceCommand",
        json!({"processKey": "Charge", "variables": {"ready": false}}),
    )["instanceGuid"]
        .as_str()
        .unwrap()
        .to_string()
}

fn history(t: &T, guid: &str) -> Vec<Value> {
    t.run("GetInstanceHistoryQuery", json!({"instanceGuid": guid}))
        .as_array()
        .unwrap()
        .clone()
}

fn attempts(t: &T, guid: &str) -> Vec<Value> {
    history(t, guid)
        .into_iter()
        .filter(|e| e["kind"] == "attemptFailed")
        .map(|e| match &e["data"] {
            Value::String(text) => serde_json::from_str(text).unwrap(),
            data => data.clone(),
        })
        .collect()
}

fn open_incidents(t: &T) -> usize {
    t.run("GetIncidentListQuery", json!({}))["items"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn a_failing_task_waits_durably_for_each_attempt_and_the_last_failure_opens_the_incident() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("retries.db");
    let clock: std::sync::Arc<VirtualClock> = virtual_clock();
    let t = open(&db, &clock);
    t.deploy(&charge("R3/PT1M,PT5M"));
    let guid = start_unready(&t);
    let minute = t.t0() + SignedDuration::from_mins(1);
    assert_eq!(t.status(&guid), "WAITING");
    assert_eq!(open_incidents(&t), 0);
    let first = attempts(&t, &guid);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["elementId"], "pay");
    assert_eq!(
        (first[0]["attempt"].clone(), first[0]["attempts"].clone()),
        (json!(1), json!(3))
    );
    assert!(
        first[0]["message"]
            .as_str()
            .unwrap()
            .contains("the gateway is down"),
        "{}",
        first[0]
    );
    let waiting = &t.instance(&guid)["waiting"][0];
    assert_eq!(
        (waiting["taskId"].clone(), waiting["taskType"].clone()),
        (json!("pay"), json!("retry"))
    );
    let timers = t.timers("instance");
    assert_eq!(timers.len(), 1);
    assert_eq!(timers[0]["dueAt"], stamp(minute));

    // A restart between attempts loses nothing: the wait is a stored timer.
    drop(t);
    let t = open(&db, &clock);
    t.at(59);
    assert_eq!(attempts(&t, &guid).len(), 1, "not before its time");
    t.at(60);
    let second = attempts(&t, &guid);
    assert_eq!(second.len(), 2);
    assert_eq!(second[1]["attempt"], 2);
    assert_eq!(t.status(&guid), "WAITING");
    assert_eq!(
        t.timers("instance")[0]["dueAt"],
        stamp(t.t0() + SignedDuration::from_mins(6))
    );

    // The third attempt is the last: its failure is the incident, and nothing waits any more.
    t.at(6 * 60);
    assert_eq!(attempts(&t, &guid).len(), 2);
    assert_eq!(t.status(&guid), "FAILED");
    assert_eq!(open_incidents(&t), 1);
    assert!(t.timers("instance").is_empty());

    // Retried by hand with the fix: it runs and completes.
    t.run(
        "RetryIncidentCommand",
        json!({"instanceGuid": guid, "variables": {"ready": true}}),
    );
    assert_eq!(t.status(&guid), "COMPLETED");
    assert_eq!(t.instance(&guid)["variables"]["charged"], true);
    assert_eq!(open_incidents(&t), 0);
}

#[test]
fn retry_incident_runs_a_waiting_attempt_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("now.db"), &virtual_clock());
    t.deploy(&charge("R5/PT1H"));
    let guid = start_unready(&t);
    assert_eq!(t.status(&guid), "WAITING");
    // The gateway is back: no need to wait the hour.
    let answer = t.run(
        "RetryIncidentCommand",
        json!({"instanceGuid": guid, "variables": {"ready": true}}),
    );
    assert_eq!(answer["status"], "COMPLETED");
    assert_eq!(t.instance(&guid)["variables"]["charged"], true);
    assert!(t.timers("instance").is_empty(), "the hour's timer is gone");
    // It ended: a second retry is refused in words.
    let refused = t.refused("RetryIncidentCommand", json!({"instanceGuid": guid}));
    assert!(refused.message.contains("COMPLETED"), "{refused:?}");
}

#[test]
fn a_cycle_on_a_task_that_does_not_read_is_refused_at_deploy_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("bad.db"), &virtual_clock());
    let r = t.refused(
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": charge("R3/P1M")}),
    );
    let text = format!("{r:?}");
    assert!(
        text.contains("task 'pay': failedJobRetryTimeCycle") && text.contains("months or years"),
        "{text}"
    );
    assert!(
        text.contains("line"),
        "the refusal gives a position: {text}"
    );
}
