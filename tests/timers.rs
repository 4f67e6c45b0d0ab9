//! `baton serve` with real time: a short BPMN timer fires on its own (never early), a timer
//! pending when the server is killed fires once after the restart, and a recurring job runs
//! every second.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::Served;

fn model(id: &str, duration: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d_{id}">
  <bpmn:process id="{id}" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#
    )
}

fn ok(v: Option<Value>) -> Value {
    let v = v.expect("the server answers");
    assert_eq!(v["isSuccessful"], true, "{v}");
    v["data"].clone()
}

/// Polls until `done` holds; a correctness deadline, generous on a loaded machine.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what} did not happen within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn seconds_between(a: &Value, b: &Value) -> f64 {
    let a: jiff::Timestamp = a.as_str().unwrap().parse().unwrap();
    let b: jiff::Timestamp = b.as_str().unwrap().parse().unwrap();
    b.duration_since(a).as_secs_f64()
}

#[test]
fn real_timers_fire_in_serve_and_a_pending_one_survives_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("timers.db");
    let server = Served::start(&db, &["--token", "test-token-0123456789"]);
    ok(server.execute(
        "test-token-0123456789",
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": model("OneSecond", "PT1S")}),
    ));
    ok(server.execute(
        "test-token-0123456789",
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": model("TwoSeconds", "PT2S")}),
    ));

    // PT1S fires on its own, not before a second has passed.
    let g = ok(server.execute(
        "test-token-0123456789",
        "StartProcessInstanceCommand",
        json!({"processKey": "OneSecond"}),
    ))["instanceGuid"]
        .clone();
    let inst = || {
        ok(server.execute(
            "test-token-0123456789",
            "GetProcessInstanceByIdQuery",
            json!({"instanceGuid": g}),
        ))
    };
    eventually("the PT1S timer", || inst()["status"] == "COMPLETED");
    let i = inst();
    assert!(
        seconds_between(&i["startedAt"], &i["endedAt"]) >= 1.0,
        "fired early: {i}"
    );

    // A PT2S timer is pending when the server is killed; it fires once after the restart.
    let g2 = ok(server.execute(
        "test-token-0123456789",
        "StartProcessInstanceCommand",
        json!({"processKey": "TwoSeconds"}),
    ))["instanceGuid"]
        .clone();
    server.kill();
    std::thread::sleep(Duration::from_secs(3));
    let server = Served::start(&db, &["--token", "test-token-0123456789"]);
    let inst = || {
        ok(server.execute(
            "test-token-0123456789",
            "GetProcessInstanceByIdQuery",
            json!({"instanceGuid": g2}),
        ))
    };
    eventually("the timer that fell due while the server was down", || {
        inst()["status"] == "COMPLETED"
    });
    let path = inst()["path"].clone();
    assert_eq!(path, json!(["s", "wait", "e"]), "fired exactly once");
    let timers = ok(server.execute("test-token-0123456789", "GetTimerListQuery", json!({})));
    assert_eq!(timers["totalCount"], 0, "{timers}");

    // A job every second (6-field cron) runs on its own and records its runs.
    let id = ok(server.execute(
        "test-token-0123456789",
        "CreateRecurringJobCommand",
        json!({"name": "pulse", "cronExpression": "* * * * * *", "executionType": 2, "executionCode": "40 + 2"}),
    ))["id"]
        .clone();
    let runs = || {
        ok(server.execute(
            "test-token-0123456789",
            "GetRecurringJobRunListQuery",
            json!({"id": id}),
        ))["items"]
            .as_array()
            .unwrap()
            .clone()
    };
    eventually("two runs of the every-second job", || {
        runs().iter().filter(|r| r["status"] == "Succeeded").count() >= 2
    });
    assert!(runs()
        .iter()
        .filter(|r| r["status"] == "Succeeded")
        .all(|r| r["result"]["value"] == 42));
    ok(server.execute(
        "test-token-0123456789",
        "DeleteRecurringJobCommand",
        json!({"id": id}),
    ));
}
