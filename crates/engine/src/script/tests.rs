//! `doCmd` queues, `doQuery` asks the lent bus: the script host's side, then the executor's
//! (only a script that succeeded leaves `Effect::CommandQueued`).

use super::*;
use crate::{parse, Ctx, Effect, Engine, VirtualClock};
use serde_json::json;

fn host(text: &str) -> ScriptHost {
    ScriptHost::single(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn input<'a>(
    lookup: &'a dyn Fn(&str) -> Option<Value>,
    all: &'a dyn Fn() -> Map<String, Value>,
) -> ScriptInput<'a> {
    ScriptInput {
        lookup,
        all,
        form_data: None,
        current_user: None,
        now: jiff::Timestamp::UNIX_EPOCH,
    }
}

fn run(text: &str, commands: bool) -> Result<ScriptOutcome, ScriptError> {
    let (lookup, all) = (|_: &str| None, Map::new);
    let h = host(text);
    if commands {
        h.run_with_commands(0, &input(&lookup, &all))
    } else {
        h.run(0, &input(&lookup, &all))
    }
}

#[test]
fn do_cmd_queues_in_call_order_and_answers_a_receipt() {
    let out = run(
        r#"let r = doCmd("StartProcessInstanceCommand", #{processKey: "A"}); doCmd("CancelProcessInstanceCommand"); r"#,
        true,
    )
    .unwrap();
    assert_eq!(
        out.value,
        json!({"queued": true, "command": "StartProcessInstanceCommand"})
    );
    assert_eq!(
        out.commands,
        vec![
            QueuedCommand {
                name: "StartProcessInstanceCommand".into(),
                data: json!({"processKey": "A"}),
            },
            QueuedCommand {
                name: "CancelProcessInstanceCommand".into(),
                data: json!({}),
            },
        ]
    );
}

#[test]
fn do_cmd_is_refused_where_nothing_may_change_and_for_queries() {
    let e = run(r#"doCmd("StartProcessInstanceCommand", #{})"#, false).unwrap_err();
    assert!(e.message.contains("doCmd is not available here"), "{e}");
    let e = run(r#"doCmd("GetTaskListQuery", #{})"#, true).unwrap_err();
    assert!(e.message.contains("use doQuery"), "{e}");
    let e = run(r#"doQuery("GetTaskListQuery", #{})"#, true).unwrap_err();
    assert!(e.message.contains("doQuery is not available here"), "{e}");
}

#[test]
fn a_script_that_fails_queues_nothing_and_leaves_nothing_for_the_next_run() {
    let e = run(
        r#"doCmd("StartProcessInstanceCommand", #{}); throw "no";"#,
        true,
    )
    .unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Thrown);
    let out = run("1", true).unwrap();
    assert!(out.commands.is_empty(), "{:?}", out.commands);
    // The queue is closed again after a run: a plain run still refuses.
    assert!(run(r#"doCmd("X", #{})"#, false).is_err());
}

const NS: &str = r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:custom="http://baton.dev/schema/custom""#;

fn model(body: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d"><bpmn:process id="p" isExecutable="true">{body}</bpmn:process></bpmn:definitions>"#
    )
}

/// start -> script task `run` (`code`) -> end.
fn scripted(code: &str) -> String {
    model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:scriptTask id="run" scriptFormat="rhai"><bpmn:script><![CDATA[{code}]]></bpmn:script></bpmn:scriptTask><bpmn:endEvent id="e"/>
        <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="run"/><bpmn:sequenceFlow id="f2" sourceRef="run" targetRef="e"/>"#
    ))
}

fn start(xml: &str) -> Vec<Effect> {
    let dep = parse(&[("t.bpmn", xml)]).unwrap();
    let (engine, _) = Engine::new(dep).unwrap_or_else(|p| panic!("{p:?}"));
    let clock = VirtualClock::new(VirtualClock::default_start());
    let ctx = Ctx {
        clock: &clock,
        user: None,
        enforce_access: false,
        bus: None,
    };
    engine.start(None, Map::new(), &ctx).unwrap().1
}

fn queued(effects: &[Effect]) -> Vec<&Effect> {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::CommandQueued { .. }))
        .collect()
}

#[test]
fn a_script_task_that_succeeds_makes_its_commands_effects_of_the_step() {
    let effects = start(&scripted(
        r#"doCmd("StartProcessInstanceCommand", #{processKey: "Child"});"#,
    ));
    assert_eq!(
        queued(&effects),
        vec![&Effect::CommandQueued {
            element_id: "run".into(),
            name: "StartProcessInstanceCommand".into(),
            data: json!({"processKey": "Child"}),
        }]
    );
    assert!(effects.iter().any(|e| matches!(e, Effect::Ended { .. })));
}

#[test]
fn a_script_task_that_throws_after_do_cmd_leaves_an_incident_and_no_command() {
    let effects = start(&scripted(
        r#"doCmd("StartProcessInstanceCommand", #{processKey: "Child"}); throw "stop";"#,
    ));
    assert!(queued(&effects).is_empty(), "{effects:?}");
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::IncidentRaised { element_id, .. } if element_id == "run")));
}

#[test]
fn a_condition_that_calls_do_cmd_is_an_incident() {
    let xml = model(
        r#"<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="g"/><bpmn:endEvent id="e"/>
        <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
        <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="e"><bpmn:conditionExpression><![CDATA[${doCmd("X", #{}) != ()}]]></bpmn:conditionExpression></bpmn:sequenceFlow>"#,
    );
    let effects = start(&xml);
    assert!(queued(&effects).is_empty());
    let incident = effects.iter().find_map(|e| match e {
        Effect::IncidentRaised { message, .. } => Some(message.clone()),
        _ => None,
    });
    assert!(
        incident
            .as_deref()
            .is_some_and(|m| m.contains("doCmd is not available here")),
        "{effects:?}"
    );
}

#[test]
fn a_run_past_the_short_limit_stops_and_says_so_and_the_usual_limit_holds_again_after() {
    let long = "let t = 0; for n in 0..200000 { t += n; } t";
    let short = short_runs(std::time::Duration::from_micros(1));
    let stopped = run(long, false);
    assert!(outgrown(), "the run reached the short limit");
    let e = stopped.expect_err("stopped at the short limit");
    assert_eq!(e.kind, ScriptErrorKind::Limit, "{e}");
    drop(short);
    assert!(!outgrown(), "the guard's end clears the mark");
    let done = run(long, false).expect("the usual limit lets it finish");
    assert_eq!(done.value, json!((0..200_000i64).sum::<i64>()));
    assert!(!outgrown());
}

#[test]
fn a_run_within_the_short_limit_is_not_marked() {
    let _short = short_runs(std::time::Duration::from_secs(5));
    let done = run("1 + 2", false).expect("a short run");
    assert_eq!(done.value, json!(3));
    assert!(!outgrown());
}
