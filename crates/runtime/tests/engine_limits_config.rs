//! The engine limits an administrator sets (issue 10, docs/limits.md): a lower work budget or
//! cardinality stops a model that passes with the defaults, lint and deploy check against the
//! configured values, a bad setting is refused naming its field and changes nothing, the
//! setting survives a restart on the same SQLite file and is for administrators only; recurring
//! jobs' code runs under the configured script limits; and the instances one definition may
//! start per second: the start past the limit is refused (RATE_LIMITED, 429 at the HTTP door),
//! accepted again once the runtime's clock moved on, a timer start over it fires later instead
//! of being lost, message starts and `doCmd` starts count while a call activity's called
//! processes do not.

use baton_testkit::{Door, Model, Served, TestRuntime, ADMIN};
use serde_json::{json, Value};

/// A diagram loop: `i` counts up to `upto`, three elements a round (about 600 steps for 200).
fn counting_loop() -> String {
    Model::process("Count")
        .start("s")
        .script_task("inc", "i = i + 1;")
        .exclusive("gw")
        .end("e")
        .chain(&["s", "inc", "gw"])
        .flow_if("gw", "inc", "i < upto")
        .flow_if("gw", "e", "i >= upto")
        .xml()
}

/// A multi-instance task run `n` times (from a variable).
fn many(card: &str) -> String {
    Model::process("Many")
        .start("s")
        .raw(
            "each",
            &format!(
                r#"<bpmn:task id="each"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>{card}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:task>"#
            ),
        )
        .end("e")
        .chain(&["s", "each", "e"])
        .xml()
}

fn status(t: &TestRuntime, guid: &str) -> (String, Value) {
    let i = t.instance(guid);
    (
        i["status"].as_str().unwrap().to_string(),
        i["incidents"].clone(),
    )
}

fn set(t: &TestRuntime, limits: Value) -> Value {
    t.run("SetEngineLimitsCommand", limits)
}

#[test]
fn a_lower_work_budget_stops_a_model_that_passes_with_the_defaults() {
    let t = TestRuntime::new();
    t.deploy(&counting_loop());
    let vars = json!({"i": 0, "upto": 200});
    let ok = t.start("Count", vars.clone());
    assert_eq!(status(&t, &ok).0, "COMPLETED");

    let d = set(&t, json!({"maxSteps": 100}));
    assert_eq!(d["maxSteps"], 100);
    // The definition deployed before runs under the new budget from its next command on.
    let stopped = t.start("Count", vars.clone());
    let (st, incidents) = status(&t, &stopped);
    assert_eq!(st, "FAILED", "{incidents}");
    assert!(
        incidents[0]["message"]
            .as_str()
            .unwrap()
            .contains("after 100 steps"),
        "{incidents}"
    );
    // Back to the default (null): it passes again.
    let d = set(&t, json!({"maxSteps": null}));
    assert_eq!(d["maxSteps"], 1_000_000);
    let again = t.start("Count", vars);
    assert_eq!(status(&t, &again).0, "COMPLETED");
}

#[test]
fn a_lower_cardinality_stops_a_run_and_is_checked_at_deploy_and_by_lint() {
    let t = TestRuntime::new();
    t.deploy(&many("${n}"));
    let ok = t.start("Many", json!({"n": 50}));
    assert_eq!(status(&t, &ok).0, "COMPLETED");
    let fixed = many("50");
    let report = t.run("ValidateProcessDefinitionQuery", json!({"bpmnXml": fixed}));
    assert_eq!(report["problems"], json!([]), "{report}");

    set(&t, json!({"maxCardinality": 10}));
    let stopped = t.start("Many", json!({"n": 50}));
    let (st, incidents) = status(&t, &stopped);
    assert_eq!(st, "FAILED");
    assert!(
        incidents[0]["message"]
            .as_str()
            .unwrap()
            .contains("limit of 10 instances"),
        "{incidents}"
    );
    // Lint (ValidateProcessDefinitionQuery) and deploy hold a fixed value to the same limit.
    let report = t.run("ValidateProcessDefinitionQuery", json!({"bpmnXml": fixed}));
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    assert_eq!(problems[0]["elementId"], "each");
    let refused = t.refused("DeployProcessDefinitionCommand", json!({"bpmnXml": fixed}));
    assert_eq!(refused.errors[0].field, "bpmnXml");
    assert!(refused.errors[0].message.contains("each"), "{refused:?}");
}

#[test]
fn a_bad_setting_is_refused_naming_its_field_and_nothing_changes() {
    let t = TestRuntime::new();
    set(&t, json!({"maxSteps": 5_000}));
    let before = t.run("GetEngineLimitsQuery", json!({}));
    for (given, field) in [
        (json!({"maxCardinality": 7, "maxSteps": 0}), "maxSteps"),
        (json!({"maxCallDepth": 1e12}), "maxCallDepth"),
        (json!({"scriptTimeMillis": "2s"}), "scriptTimeMillis"),
        (json!({"scriptMemoryMiB": 5000}), "scriptMemoryMiB"),
        (json!({"minTimerCycleSeconds": 0}), "minTimerCycleSeconds"),
        (
            json!({"maxInstancesPerSecond": -1}),
            "maxInstancesPerSecond",
        ),
        (json!({"maxStep": 10}), "maxStep"),
    ] {
        let r = t.refused("SetEngineLimitsCommand", given.clone());
        assert_eq!(r.code.map(|c| c.as_str()), Some("INVALID"), "{r:?}");
        assert_eq!(r.errors[0].field, field, "{given}: {r:?}");
        assert!(r.errors[0].message.contains(field), "{r:?}");
        assert_eq!(t.run("GetEngineLimitsQuery", json!({})), before, "{given}");
    }
    let r = t.refused("SetEngineLimitsCommand", json!({}));
    assert!(r.message.contains("maxSteps"), "{r:?}");
    // Nothing stored changed either: a restart reads the same.
    let t = t.reopen();
    assert_eq!(t.run("GetEngineLimitsQuery", json!({})), before);
}

#[test]
fn the_setting_survives_a_restart_and_is_for_administrators_only() {
    let door = Door::new();
    let bob = door.user("bob", &[]);
    let served = Served::start(door.st.clone());
    let (code, out) = served.exec(&bob.token, "GetEngineLimitsQuery", json!({}));
    assert_eq!(code, 403, "{out}");
    let (code, out) = served.exec(
        &bob.token,
        "SetEngineLimitsCommand",
        json!({"maxSteps": 100}),
    );
    assert_eq!(code, 403, "{out}");
    let (code, out) = served.exec(
        ADMIN,
        "SetEngineLimitsCommand",
        json!({"maxSteps": 100, "scriptOperations": 5_000}),
    );
    assert_eq!((code, &out["isSuccessful"]), (200, &json!(true)), "{out}");
    let (code, out) = served.exec(ADMIN, "GetEngineLimitsQuery", json!({}));
    assert_eq!(code, 200);
    assert_eq!(out["data"]["maxSteps"], 100);
    drop(served);
    let Door { t, .. } = door;
    let t = t.reopen();
    let d = t.run("GetEngineLimitsQuery", json!({}));
    assert_eq!(d["maxSteps"], 100);
    assert_eq!(d["scriptOperations"], 5_000);
    assert_eq!(d["maxCardinality"], 100_000);
    assert_eq!(d["maxInstancesPerSecond"], 0);
    // And it applies after the restart.
    t.deploy(&counting_loop());
    let g = t.start("Count", json!({"i": 0, "upto": 200}));
    assert_eq!(status(&t, &g).0, "FAILED");
}

#[test]
fn recurring_jobs_code_runs_under_the_configured_script_limits() {
    let t = TestRuntime::new();
    let busy = "let n = 0; for i in 0..20000 { n += i; } n";
    let job = t.run(
        "CreateRecurringJobCommand",
        json!({"name": "busy", "cronExpression": "0 9 * * *", "executionType": 2, "executionCode": busy}),
    );
    let id = job["id"].clone();
    let run = t.run("ExecuteRecurringJobCommand", json!({"id": id}));
    assert_eq!(run["status"], "Succeeded", "{run}");
    set(&t, json!({"scriptOperations": 1_000}));
    let r = t.refused("ExecuteRecurringJobCommand", json!({"id": id}));
    assert!(r.message.contains("more than 1000 operations"), "{r:?}");
}

fn wait_task(key: &str) -> String {
    Model::process(key)
        .start("s")
        .user_task("u")
        .end("e")
        .chain(&["s", "u", "e"])
        .xml()
}

#[test]
fn one_definition_starts_at_most_its_rate_and_again_once_time_moved_on() {
    let door = Door::new();
    let t = &door.t;
    t.deploy(&wait_task("Busy"));
    t.deploy(&wait_task("Other"));
    set(t, json!({"maxInstancesPerSecond": 3}));
    for _ in 0..3 {
        t.start("Busy", json!({}));
    }
    let r = t.refused("StartProcessInstanceCommand", json!({"processKey": "Busy"}));
    assert_eq!(r.code.map(|c| c.as_str()), Some("RATE_LIMITED"), "{r:?}");
    assert!(r.message.contains("'Busy'"), "{}", r.message);
    assert!(r.message.contains("at most 3 instance"), "{}", r.message);
    // Another definition has its own allowance.
    t.start("Other", json!({}));
    // At the HTTP door: 429 in the command envelope.
    let served = Served::start(door.st.clone());
    let (code, out, retry) = served.post_reading(
        "/api/v1/execute",
        Some(ADMIN),
        &json!({"cmd": "StartProcessInstanceCommand", "data": {"processKey": "Busy"}}),
        "retry-after",
    );
    assert_eq!(code, 429, "{out}");
    assert_eq!(out["code"], "RATE_LIMITED", "{out}");
    // The allowance refills within a second: the answer says so.
    assert_eq!(retry.as_deref(), Some("1"), "{out}");
    // The runtime's clock moves a second on: the allowance is back (and no more).
    t.advance(1);
    for _ in 0..3 {
        t.start("Busy", json!({}));
    }
    t.refused("StartProcessInstanceCommand", json!({"processKey": "Busy"}));
    let listed = t.run(
        "GetProcessInstanceListQuery",
        json!({"processKey": "Busy", "pageSize": 50}),
    );
    assert_eq!(listed["totalCount"], 6);
    // 0 is no limit.
    set(t, json!({"maxInstancesPerSecond": 0}));
    for _ in 0..10 {
        t.start("Busy", json!({}));
    }
}

#[test]
fn a_timer_start_over_the_rate_fires_later_and_is_not_lost() {
    let t = TestRuntime::new();
    let xml = Model::process("Ticking")
        .start_timer("tick", "timeCycle", "R/PT1H")
        .user_task("u")
        .end("e")
        .chain(&["tick", "u", "e"])
        .xml();
    t.deploy(&xml);
    set(&t, json!({"maxInstancesPerSecond": 1}));
    let count = |t: &TestRuntime| {
        t.run(
            "GetProcessInstanceListQuery",
            json!({"processKey": "Ticking"}),
        )["totalCount"]
            .as_i64()
            .unwrap()
    };
    // At the hour a command start takes the one start of that second first.
    t.advance(3600);
    t.start("Ticking", json!({}));
    let report = t.rt.fire_due();
    assert_eq!(report.fired, 0, "{report:?}");
    assert_eq!(count(&t), 1);
    let timers = t.run("GetTimerListQuery", json!({"kind": "start"}));
    let due = timers["items"][0]["dueAt"].as_str().unwrap().to_string();
    assert!(
        due > format!("{:.6}", baton_engine::Clock::now(&*t.clock)),
        "the timer start waits for later: {timers}"
    );
    // Later it fires: the instance is started, not lost.
    t.advance(120);
    let report = t.rt.fire_due();
    assert_eq!(report.fired, 1, "{report:?}");
    assert_eq!(count(&t), 2);
}

/// Two processes in one definition: `Caller` calls `Callee` three times (a multi-instance call
/// activity) and waits on a user task.
fn caller_and_callee() -> String {
    let ns = r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL""#;
    format!(
        r#"<?xml version="1.0"?><bpmn:definitions {ns} id="d"><bpmn:process id="Caller" isExecutable="true"><bpmn:startEvent id="s"/><bpmn:callActivity id="call" calledElement="Callee"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:callActivity><bpmn:userTask id="u"/><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call"/><bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="u"/><bpmn:sequenceFlow id="f3" sourceRef="u" targetRef="e"/></bpmn:process><bpmn:process id="Callee" isExecutable="false"><bpmn:startEvent id="cs"/><bpmn:endEvent id="ce"/><bpmn:sequenceFlow id="c1" sourceRef="cs" targetRef="ce"/></bpmn:process></bpmn:definitions>"#
    )
}

#[test]
fn message_starts_and_do_cmd_starts_count_and_call_activities_do_not() {
    let t = TestRuntime::new();
    t.deploy(
        &Model::process("OnOrder")
            .message("M", "OrderPlaced")
            .start_message("s", "M")
            .user_task("Pack")
            .end("e")
            .chain(&["s", "Pack", "e"])
            .xml(),
    );
    t.deploy(&wait_task("Child"));
    t.deploy(
        &Model::process("Parent")
            .start("s")
            .script_task(
                "run",
                r#"doCmd("StartProcessInstanceCommand", #{processKey: "Child"}); doCmd("StartProcessInstanceCommand", #{processKey: "Child"});"#,
            )
            .user_task("u")
            .end("e")
            .chain(&["s", "run", "u", "e"])
            .xml(),
    );
    t.deploy(&caller_and_callee());
    set(&t, json!({"maxInstancesPerSecond": 1}));

    // A message start event: the second message this second is refused, nothing started.
    let m = |key: &str| json!({"messageName": "OrderPlaced", "correlationKey": key});
    let r = t.run("CorrelateMessageCommand", m("O-1"));
    assert_eq!(r["started"], true, "{r}");
    let r = t.refused("CorrelateMessageCommand", m("O-2"));
    assert_eq!(r.code.map(|c| c.as_str()), Some("RATE_LIMITED"), "{r:?}");
    assert!(r.message.contains("'OnOrder'"), "{}", r.message);

    // doCmd: the first start of Child runs, the second is a failed command in the history.
    let parent = t.start("Parent", json!({}));
    let children = t.run(
        "GetProcessInstanceListQuery",
        json!({"processKey": "Child"}),
    );
    assert_eq!(children["totalCount"], 1, "{children}");
    let h = t.run("GetInstanceHistoryQuery", json!({"instanceGuid": parent}));
    let failed: Vec<&Value> = h
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "commandFailed")
        .collect();
    assert_eq!(failed.len(), 1, "{h}");
    assert!(
        failed[0]["data"]
            .as_str()
            .unwrap()
            .contains("maxInstancesPerSecond"),
        "{h}"
    );

    // A call activity's three called processes are part of one start, not three more.
    let caller = t.start("Caller", json!({}));
    let i = t.instance(&caller);
    assert_eq!(i["status"], "WAITING", "{i}");
    assert_eq!(i["waiting"][0]["taskId"], "u", "{i}");
}
