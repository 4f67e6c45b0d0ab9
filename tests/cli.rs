//! The `baton` binary end to end: JSON shapes and exit codes from API.md, and bad input.

mod support;

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use support::Served;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cli")
        .join(name)
}

fn baton(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .output()
        .expect("baton runs")
}

fn f(name: &str) -> String {
    fixture(name).display().to_string()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn simulate_prints_state_path_variables_and_waiting() {
    let out = baton(&[
        "simulate",
        &f("review.bpmn"),
        "--vars",
        r#"{"amount": 5000}"#,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["state"], "WAITING");
    assert_eq!(v["path"], serde_json::json!(["Start", "Gw", "Task_Review"]));
    assert_eq!(v["variables"]["amount"], 5000);
    assert_eq!(v["waiting"][0]["taskId"], "Task_Review");
    assert_eq!(v["waiting"][0]["taskType"], "userTask");
    assert_eq!(v["waiting"][0]["elementId"], "Task_Review");
    assert_eq!(v["waiting"][0]["formKey"], "review-form");
    assert_eq!(v["error"], Value::Null);

    let out = baton(&[
        "simulate",
        &f("review.bpmn"),
        "--vars",
        r#"{"amount": 5}"#,
        "--json",
    ]);
    let v = json(&out);
    assert_eq!(v["state"], "COMPLETED");
    assert_eq!(
        v["path"],
        serde_json::json!(["Start", "Gw", "Task_Small", "End_S"])
    );
    assert_eq!(v["variables"]["size"], "small");
}

#[test]
fn simulate_with_scenario_applies_steps_and_checks_access() {
    let out = baton(&[
        "simulate",
        &f("review.bpmn"),
        "--scenario",
        &f("review.scenario.json"),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["state"], "COMPLETED");
    assert_eq!(v["variables"]["lastUserTaskResult"]["approved"], true);
}

#[test]
fn a_step_for_a_task_that_is_not_waiting_exits_1_and_says_which_step() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("s.json");
    std::fs::write(
        &sc,
        r#"{"variables": {"amount": 1}, "steps": [{"complete": "Task_Review"}]}"#,
    )
    .unwrap();
    let out = baton(&[
        "simulate",
        &f("review.bpmn"),
        "--scenario",
        sc.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(
        v["state"], "COMPLETED",
        "the JSON still shows where the instance stands"
    );
    let err = v["error"].as_str().unwrap();
    assert!(
        err.starts_with("step 1:") && err.contains("Task_Review") && err.contains("not waiting"),
        "{err}"
    );
    assert!(stderr(&out).contains("step 1"));
}

#[test]
fn scenario_with_unknown_field_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("s.json");
    std::fs::write(&sc, r#"{"steps": [{"complete": "A"}, {"compelte": "B"}]}"#).unwrap();
    let out = baton(&[
        "simulate",
        &f("review.bpmn"),
        "--scenario",
        sc.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("step 2") && e.contains("'compelte'"), "{e}");
}

#[test]
fn unreadable_models_and_bad_vars_exit_2_with_position() {
    let out = baton(&["simulate", &f("broken.bpmn")]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("broken.bpmn:5:") && e.contains("malformed XML"),
        "{e}"
    );

    let out = baton(&["simulate", &f("pom.xml")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a BPMN file"), "{}", stderr(&out));

    let out = baton(&["simulate", &f("not-executable.bpmn")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("executable"), "{}", stderr(&out));

    let out = baton(&["simulate", &f("review.bpmn"), "--vars", "{amount: 1}"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--vars"), "{}", stderr(&out));

    let out = baton(&["simulate", &f("missing.bpmn")]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn lint_counts_nodes_and_reports_problems() {
    let out = baton(&["lint", &f("review.bpmn"), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v = json(&out);
    assert_eq!(v["processes"][0]["id"], "Review");
    assert_eq!(v["processes"][0]["flowNodes"], 6);
    assert_eq!(v["processes"][0]["sequenceFlows"], 5);
    assert_eq!(v["problems"], serde_json::json!([]));

    let out = baton(&["lint", &f("not-executable.bpmn"), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let p = &v["problems"][0];
    assert_eq!(p["severity"], "error");
    assert!(p["line"].as_u64().unwrap() >= 1 && p["column"].as_u64().unwrap() >= 1);

    let out = baton(&["lint", &f("broken.bpmn"), "--json"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn lint_refuses_a_timeout_minutes_that_cannot_give_a_due_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timeout.bpmn");
    let xml = |value: &str| {
        format!(
            r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:custom="http://baton.dev/schema/custom" id="d">
  <bpmn:process id="Pay" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:receiveTask id="Wait"><bpmn:extensionElements><custom:properties>
      <custom:property name="TimeoutMinutes" value="{value}"/>
    </custom:properties></bpmn:extensionElements></bpmn:receiveTask>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Wait" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"#
        )
    };
    let file = path.display().to_string();
    for value in ["1e10", "inf"] {
        std::fs::write(&path, xml(value)).unwrap();
        let out = baton(&["lint", &file, "--json"]);
        assert_eq!(out.status.code(), Some(1), "{value}: {}", stderr(&out));
        let p = &json(&out)["problems"][0];
        assert_eq!(p["severity"], "error");
        assert_eq!(p["elementId"], "Wait");
        assert_eq!(
            (p["line"].as_u64(), p["column"].as_u64()),
            (Some(6), Some(7))
        );
        assert!(
            p["message"].as_str().unwrap().contains("TimeoutMinutes"),
            "{p}"
        );
        let out = baton(&["lint", &file]);
        assert_eq!(out.status.code(), Some(1));
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(
            text.contains("Wait") && text.contains(&format!("TimeoutMinutes '{value}'")),
            "{text}"
        );
    }
    std::fs::write(&path, xml("1440")).unwrap();
    assert_eq!(baton(&["lint", &file]).status.code(), Some(0));
}

#[test]
fn bench_reports_rate_and_end_state() {
    let out = baton(&[
        "bench",
        &f("review.bpmn"),
        "--vars",
        r#"{"amount": 1}"#,
        "--instances",
        "200",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["instances"], 200);
    assert_eq!(v["state"], "COMPLETED");
    assert!(v["instancesPerSecond"].as_f64().unwrap() > 0.0);
    assert!(v["seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(v["lastVariables"]["size"], "small");
}

#[test]
fn bench_runs_on_the_runtime_unless_told_engine_only() {
    let run = |extra: &[&str]| {
        let mut args = vec![
            "bench",
            "--vars",
            r#"{"amount": 1}"#,
            "--instances",
            "20",
            "--json",
        ];
        let model = f("review.bpmn");
        args.insert(1, &model);
        args.extend_from_slice(extra);
        let out = baton(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        json(&out)
    };
    let on_runtime = run(&[]);
    assert_eq!(on_runtime["on"], "runtime");
    let engine_only = run(&["--engine-only"]);
    assert_eq!(engine_only["on"], "engine");
    for v in [&on_runtime, &engine_only] {
        assert_eq!(v["state"], "COMPLETED", "{v}");
        assert_eq!(v["lastVariables"]["size"], "small", "{v}");
    }
    // Engine-only has no store to write to: not with --durable.
    let out = baton(&[
        "bench",
        &f("review.bpmn"),
        "--instances",
        "1",
        "--engine-only",
        "--durable",
        "x.db",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn simulate_runs_a_call_into_another_file_and_the_process_option_picks_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(
            &p,
            format!(
                r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="{name}">
{body}
</bpmn:definitions>"#
            ),
        )
        .unwrap();
        p.display().to_string()
    };
    let parent = file(
        "parent.bpmn",
        r#"<bpmn:process id="Parent" isExecutable="true">
  <bpmn:startEvent id="ps"/>
  <bpmn:callActivity id="Call" calledElement="Child"/>
  <bpmn:endEvent id="pe"/>
  <bpmn:sequenceFlow id="p1" sourceRef="ps" targetRef="Call"/>
  <bpmn:sequenceFlow id="p2" sourceRef="Call" targetRef="pe"/>
</bpmn:process>"#,
    );
    let child = file(
        "child.bpmn",
        r#"<bpmn:process id="Child" isExecutable="true">
  <bpmn:startEvent id="cs"/>
  <bpmn:scriptTask id="Work" scriptFormat="rhai"><bpmn:script>let done = true;</bpmn:script></bpmn:scriptTask>
  <bpmn:endEvent id="ce"/>
  <bpmn:sequenceFlow id="c1" sourceRef="cs" targetRef="Work"/>
  <bpmn:sequenceFlow id="c2" sourceRef="Work" targetRef="ce"/>
</bpmn:process>"#,
    );
    let out = baton(&["simulate", &parent, &child, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["state"], "COMPLETED", "{v}");
    assert_eq!(
        v["path"],
        serde_json::json!(["ps", "Call", "cs", "Work", "ce", "pe"]),
        "{v}"
    );
    assert_eq!(v["variables"]["done"], true, "{v}");

    let out = baton(&["simulate", &parent, &child, "--process", "Child", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["path"], serde_json::json!(["cs", "Work", "ce"]), "{v}");
    assert_eq!(v["variables"]["done"], true, "{v}");
}

#[test]
fn test_command_runs_scenarios_and_summarises() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "review.bpmn",
        "review.scenario.json",
        "review.failing.scenario.json",
    ] {
        std::fs::copy(fixture(name), dir.path().join(name)).unwrap();
    }
    let junit = dir.path().join("junit.xml");
    let out = baton(&[
        "test",
        dir.path().to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("1 passed, 1 failed"), "{text}");
    assert!(
        text.contains("FAIL") && text.contains("expected state WAITING, got COMPLETED"),
        "{text}"
    );
    let xml = std::fs::read_to_string(junit).unwrap();
    assert!(
        xml.contains("tests=\"2\"") && xml.contains("<failure"),
        "{xml}"
    );

    std::fs::remove_file(dir.path().join("review.failing.scenario.json")).unwrap();
    let out = baton(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let empty = tempfile::tempdir().unwrap();
    let out = baton(&["test", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn serve_answers_the_command_bus_over_real_http_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    let server = Served::start(&db, &["--token", "cli-test-token-0123456789"]);
    let list = r#"{"cmd": "GetProcessDefinitionListQuery", "data": {}}"#;
    let denied = server.post(None, list).unwrap();
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");
    let listed = server
        .post(Some("cli-test-token-0123456789"), list)
        .unwrap();
    assert!(
        listed.starts_with("HTTP/1.1 200") && listed.contains("\"totalCount\":0"),
        "{listed}"
    );
    server.kill();
    assert!(db.exists(), "the database file was created");
}

#[test]
fn durable_bench_commits_every_instance_to_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let out = baton(&[
        "bench",
        &f("review.bpmn"),
        "--vars",
        r#"{"amount": 1}"#,
        "--instances",
        "50",
        "--json",
        "--durable",
        db.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["durable"], true);
    assert_eq!(v["state"], "COMPLETED");
    // The instances are really in the file: reopen it through the bus.
    let out = baton(&[
        "bench",
        &f("review.bpmn"),
        "--instances",
        "1",
        "--json",
        "--durable",
        db.to_str().unwrap(),
        "--sync",
        "sometimes",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--sync"), "{}", stderr(&out));
    let rt = baton_runtime_probe(&db);
    assert_eq!(rt, 50);
}

/// Counts the instances in a Baton database with the store crate.
fn baton_runtime_probe(db: &std::path::Path) -> i64 {
    let s = baton_store::Store::open(db, baton_store::Durability::Full).unwrap();
    s.instances(None, None, None, 1, 1).unwrap().1
}

#[test]
fn a_first_serve_creates_the_admin_and_prints_its_token_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("first.db");
    let server = Served::start(&db, &[]);
    let token = server
        .before
        .iter()
        .find_map(|l| l.split(": ").nth(1).filter(|t| t.starts_with("bt_")))
        .expect("a token is printed");
    let token = token.to_string();
    let users = server
        .post(Some(&token), r#"{"cmd": "GetUserListQuery", "data": {}}"#)
        .unwrap();
    assert!(
        users.starts_with("HTTP/1.1 200")
            && users.contains(r#""userName":"admin""#)
            && users.contains(r#""isAdmin":true"#),
        "{users}"
    );
    server.kill();
    // A restart prints no new token, and the first one still works.
    let server = Served::start(&db, &[]);
    assert!(
        server.before.iter().all(|l| !l.contains("bt_")),
        "{:?}",
        server.before
    );
    let listed = server
        .post(
            Some(&token),
            r#"{"cmd": "GetApiTokenListQuery", "data": {}}"#,
        )
        .unwrap();
    assert!(
        listed.starts_with("HTTP/1.1 200") && !listed.contains(&token),
        "the secret is never listed: {listed}"
    );
    assert!(server
        .post(Some("bt_wrong"), "{}")
        .unwrap()
        .starts_with("HTTP/1.1 401"));
}

#[test]
fn timers_bench_fires_every_timer_due_at_once_and_leaves_the_future_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("timers.db");
    let out = baton(&[
        "bench",
        "--timers",
        "200",
        "--durable",
        db.to_str().unwrap(),
        "--clients",
        "4",
        "--idle-timers",
        "20",
        "--idle-seconds",
        "0.2",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["timers"], 200);
    assert_eq!(v["completed"], 200, "{v}");
    assert_eq!(v["timersLeft"], 0, "{v}");
    assert!(v["fireWakeups"].as_u64().is_some_and(|n| n >= 1), "{v}");
    assert_eq!(v["idleTimersLeft"], 20, "{v}");
    assert!(v["idleWakeups"].is_u64(), "{v}");
    // The file agrees: 200 instances ended, 20 still wait on their timers.
    let s = baton_store::Store::open(&db, baton_store::Durability::Full).unwrap();
    assert_eq!(
        s.instances(Some("COMPLETED"), None, None, 1, 1).unwrap().1,
        200
    );
    assert_eq!(
        s.instances(Some("WAITING"), None, None, 1, 1).unwrap().1,
        20
    );
    assert_eq!(s.timer_count().unwrap(), 20);

    // The file now exists: a second run refuses it rather than count old instances.
    let again = baton(&["bench", "--timers", "5", "--durable", db.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("new database file"),
        "{}",
        stderr(&again)
    );
    // Timers mode needs --durable, and takes no model.
    let no_db = baton(&["bench", "--timers", "5"]);
    assert_eq!(no_db.status.code(), Some(2));
    assert!(stderr(&no_db).contains("--durable"), "{}", stderr(&no_db));
}
