//! One test per BPMN element kind not already covered in exec.rs; COVERAGE.md points here.

mod common;
use baton_engine::{parse, Clock, Ctx, Effect, Engine, Event, Status, VirtualClock};
use common::*;
use serde_json::{json, Map};

fn msg(name: &str, key: Option<&str>) -> Event {
    Event::Message {
        name: name.into(),
        correlation_key: key.map(str::to_string),
        variables: Map::new(),
    }
}
fn sig(name: &str) -> Event {
    Event::Signal {
        name: name.into(),
        variables: Map::new(),
    }
}
const DECLS: &str = r#"<bpmn:message id="M" name="Go"/><bpmn:signal id="S" name="Alarm"/><bpmn:error id="E" errorCode="E1"/><bpmn:escalation id="X" escalationCode="X1"/>"#;

// ----- start events -------------------------------------------------------------------------

#[test]
fn start_event_message_timer_signal_start_the_instance() {
    for def in [
        r#"<bpmn:messageEventDefinition messageRef="M"/>"#,
        r#"<bpmn:timerEventDefinition><bpmn:timeDate>2026-02-01T00:00:00Z</bpmn:timeDate></bpmn:timerEventDefinition>"#,
        r#"<bpmn:signalEventDefinition signalRef="S"/>"#,
    ] {
        let body = format!(
            r#"<bpmn:startEvent id="s">{def}</bpmn:startEvent><bpmn:endEvent id="e"/>{}"#,
            flow("f", "s", "e")
        );
        let h = H::start(&model_with(DECLS, &body), json!({}));
        assert_eq!(h.inst.status, Status::Completed, "{def}");
        assert_eq!(h.path(), ["s", "e"]);
    }
}

#[test]
fn conditional_start_event_starts_only_when_true() {
    let body = format!(
        r#"<bpmn:startEvent id="s"><bpmn:conditionalEventDefinition><bpmn:condition>${{amount &gt; 100}}</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:startEvent><bpmn:endEvent id="e"/>{}"#,
        flow("f", "s", "e")
    );
    let xml = model(&body);
    assert_eq!(
        H::start(&xml, json!({"amount": 500})).inst.status,
        Status::Completed
    );
    assert!(H::try_start(&xml, json!({"amount": 5}))
        .err()
        .unwrap_or_default()
        .contains("start condition"));
}

// ----- end events ---------------------------------------------------------------------------

#[test]
fn message_and_signal_end_events_emit_effects() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:parallelGateway id="fork"/><bpmn:endEvent id="em"><bpmn:messageEventDefinition messageRef="M"/></bpmn:endEvent><bpmn:endEvent id="es"><bpmn:signalEventDefinition signalRef="S"/></bpmn:endEvent>{}{}{}"#,
        flow("f0", "s", "fork"),
        flow("f1", "fork", "em"),
        flow("f2", "fork", "es")
    );
    let h = H::start(&model_with(DECLS, &body), json!({"k": 1}));
    assert_eq!(h.inst.status, Status::Completed);
    assert!(h.effects.iter().any(|e| matches!(e, Effect::MessageThrown { name, element_id, .. } if name == "Go" && element_id == "em")));
    assert!(h.effects.iter().any(|e| matches!(e, Effect::SignalThrown { name, variables, .. } if name == "Alarm" && variables["k"] == 1)));
}

#[test]
fn escalation_end_event_in_subprocess_triggers_non_interrupting_boundary() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:subProcess id="sub"><bpmn:startEvent id="ss"/><bpmn:parallelGateway id="sf"/><bpmn:endEvent id="esc"><bpmn:escalationEventDefinition escalationRef="X"/></bpmn:endEvent><bpmn:userTask id="inner"/><bpmn:endEvent id="se"/>{}{}{}{}</bpmn:subProcess><bpmn:boundaryEvent id="b" attachedToRef="sub" cancelActivity="false"><bpmn:escalationEventDefinition escalationRef="X"/></bpmn:boundaryEvent><bpmn:userTask id="handle"/><bpmn:endEvent id="e"/><bpmn:endEvent id="he"/>{}{}{}{}"#,
        flow("a", "ss", "sf"),
        flow("b1", "sf", "esc"),
        flow("b2", "sf", "inner"),
        flow("b3", "inner", "se"),
        flow("f1", "s", "sub"),
        flow("f2", "sub", "e"),
        flow("f3", "b", "handle"),
        flow("f4", "handle", "he")
    );
    let mut h = H::start(&model_with(DECLS, &body), json!({}));
    assert_eq!(
        h.waiting(),
        ["handle", "inner"],
        "escalation handled while the sub-process goes on"
    );
    assert_eq!(h.var("escalationCode"), json!("X1"));
    h.complete("inner", json!({})).unwrap();
    h.complete("handle", json!({})).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.visits("e"), 1);
}

#[test]
fn uncaught_error_end_event_ends_like_a_none_end_event() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:endEvent id="err"><bpmn:errorEventDefinition errorRef="E"/></bpmn:endEvent>{}"#,
        flow("f", "s", "err")
    );
    assert_eq!(
        H::start(&model_with(DECLS, &body), json!({})).inst.status,
        Status::Completed
    );
}

// ----- intermediate events -------------------------------------------------------------------

#[test]
fn intermediate_throw_none_signal_message_and_link() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="none"/><bpmn:intermediateThrowEvent id="ts"><bpmn:signalEventDefinition signalRef="S"/></bpmn:intermediateThrowEvent><bpmn:intermediateThrowEvent id="tm"><bpmn:messageEventDefinition messageRef="M"/></bpmn:intermediateThrowEvent><bpmn:intermediateThrowEvent id="jump"><bpmn:linkEventDefinition name="L"/></bpmn:intermediateThrowEvent><bpmn:intermediateCatchEvent id="land"><bpmn:linkEventDefinition name="L"/></bpmn:intermediateCatchEvent><bpmn:endEvent id="e"/>{}{}{}{}{}"#,
        flow("f1", "s", "none"),
        flow("f2", "none", "ts"),
        flow("f3", "ts", "tm"),
        flow("f4", "tm", "jump"),
        flow("f5", "land", "e")
    );
    let h = H::start(&model_with(DECLS, &body), json!({}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.path(), ["s", "none", "ts", "tm", "jump", "land", "e"]);
    assert!(h
        .effects
        .iter()
        .any(|e| matches!(e, Effect::SignalThrown { element_id, .. } if element_id == "ts")));
    assert!(h
        .effects
        .iter()
        .any(|e| matches!(e, Effect::MessageThrown { element_id, .. } if element_id == "tm")));
}

#[test]
fn signal_thrown_by_the_instance_reaches_its_own_catch_event() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:parallelGateway id="fork"/><bpmn:intermediateCatchEvent id="c"><bpmn:signalEventDefinition signalRef="S"/></bpmn:intermediateCatchEvent><bpmn:userTask id="u"/><bpmn:intermediateThrowEvent id="t"><bpmn:signalEventDefinition signalRef="S"/></bpmn:intermediateThrowEvent><bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>{}{}{}{}{}{}"#,
        flow("f0", "s", "fork"),
        flow("f1", "fork", "c"),
        flow("f2", "fork", "u"),
        flow("f3", "u", "t"),
        flow("f4", "t", "e2"),
        flow("f5", "c", "e1")
    );
    let mut h = H::start(&model_with(DECLS, &body), json!({}));
    assert_eq!(h.waiting(), ["c", "u"]);
    h.complete("u", json!({})).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
}

#[test]
fn intermediate_escalation_throw_caught_by_event_subprocess() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="raise"><bpmn:escalationEventDefinition escalationRef="X"/></bpmn:intermediateThrowEvent><bpmn:userTask id="after"/><bpmn:endEvent id="e"/>{}{}{}<bpmn:subProcess id="esp" triggeredByEvent="true"><bpmn:startEvent id="es" isInterrupting="false"><bpmn:escalationEventDefinition escalationRef="X"/></bpmn:startEvent><bpmn:scriptTask id="note" scriptFormat="rhai"><bpmn:script>let escalated = true;</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="ee"/>{}{}</bpmn:subProcess>"#,
        flow("f1", "s", "raise"),
        flow("f2", "raise", "after"),
        flow("f3", "after", "e"),
        flow("g1", "es", "note"),
        flow("g2", "note", "ee")
    );
    let mut h = H::start(&model_with(DECLS, &body), json!({}));
    assert_eq!(h.var("escalated"), json!(true));
    assert_eq!(
        h.waiting(),
        ["after"],
        "non-interrupting: the main flow went on"
    );
    h.complete("after", json!({})).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
}

#[test]
fn intermediate_timer_waits_the_duration() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "wait"),
        flow("f2", "wait", "e")
    );
    let mut h = H::start(&model(&body), json!({}));
    assert_eq!(h.engine.waiting(&h.inst)[0].task_type, "timer");
    h.advance(86_399);
    assert_eq!(h.inst.status, Status::Waiting);
    h.advance(1);
    assert_eq!(h.inst.status, Status::Completed);
}

#[test]
fn intermediate_conditional_catch_waits_until_variables_make_it_true() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="c"><bpmn:conditionalEventDefinition><bpmn:condition>approved == true</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "c"),
        flow("f2", "c", "e")
    );
    let mut h = H::start(&model(&body), json!({"approved": false}));
    assert_eq!(h.inst.status, Status::Waiting);
    h.apply(Event::SetVariables {
        variables: vars(json!({"approved": true})),
    })
    .unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    // True on arrival: passes straight through.
    assert_eq!(
        H::start(&model(&body), json!({"approved": true}))
            .inst
            .status,
        Status::Completed
    );
}

// ----- boundary events ---------------------------------------------------------------------

fn boundary_model(def: &str, interrupting: bool) -> String {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="u"/><bpmn:boundaryEvent id="b" attachedToRef="u" cancelActivity="{interrupting}">{def}</bpmn:boundaryEvent><bpmn:endEvent id="done"/><bpmn:endEvent id="side"/>{}{}{}"#,
        flow("f1", "s", "u"),
        flow("f2", "u", "done"),
        flow("f3", "b", "side")
    );
    model_with(DECLS, &body)
}

#[test]
fn message_and_signal_boundaries_interrupting_and_not() {
    for (def, ev) in [
        (
            r#"<bpmn:messageEventDefinition messageRef="M"/>"#,
            msg("Go", None),
        ),
        (
            r#"<bpmn:signalEventDefinition signalRef="S"/>"#,
            sig("Alarm"),
        ),
    ] {
        let mut h = H::start(&boundary_model(def, true), json!({}));
        h.apply(ev.clone()).unwrap();
        assert_eq!(h.inst.status, Status::Completed, "interrupting {def}");
        assert_eq!(h.path(), ["s", "u", "b", "side"]);

        let mut h = H::start(&boundary_model(def, false), json!({}));
        h.apply(ev.clone()).unwrap();
        h.apply(ev).unwrap();
        assert_eq!(
            h.visits("side"),
            2,
            "non-interrupting {def} fires each time"
        );
        assert_eq!(h.waiting(), ["u"]);
        h.complete("u", json!({})).unwrap();
        assert_eq!(h.inst.status, Status::Completed);
    }
}

#[test]
fn conditional_boundary_interrupting_and_not() {
    let def = r#"<bpmn:conditionalEventDefinition><bpmn:condition>risk &gt; 5</bpmn:condition></bpmn:conditionalEventDefinition>"#;
    let mut h = H::start(&boundary_model(def, true), json!({"risk": 1}));
    assert_eq!(h.waiting(), ["u"]);
    h.apply(Event::SetVariables {
        variables: vars(json!({"risk": 9})),
    })
    .unwrap();
    assert_eq!(h.path(), ["s", "u", "b", "side"]);

    let mut h = H::start(&boundary_model(def, false), json!({"risk": 1}));
    h.apply(Event::SetVariables {
        variables: vars(json!({"risk": 9})),
    })
    .unwrap();
    h.apply(Event::SetVariables {
        variables: vars(json!({"risk": 10})),
    })
    .unwrap();
    assert_eq!(
        h.visits("side"),
        1,
        "fires when the condition becomes true, not while it stays true"
    );
    h.apply(Event::SetVariables {
        variables: vars(json!({"risk": 0})),
    })
    .unwrap();
    h.apply(Event::SetVariables {
        variables: vars(json!({"risk": 7})),
    })
    .unwrap();
    assert_eq!(h.visits("side"), 2);
    assert_eq!(h.waiting(), ["u"]);
}

#[test]
fn error_boundary_on_call_activity_catches_error_from_called_process() {
    let xml = format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d">{DECLS}
        <bpmn:process id="main" isExecutable="true"><bpmn:startEvent id="s"/><bpmn:callActivity id="call" calledElement="child"/><bpmn:boundaryEvent id="b" attachedToRef="call"><bpmn:errorEventDefinition errorRef="E"/></bpmn:boundaryEvent><bpmn:endEvent id="ok"/><bpmn:endEvent id="failed"/>{}{}{}</bpmn:process>
        <bpmn:process id="child" isExecutable="true"><bpmn:startEvent id="cs"/><bpmn:endEvent id="boom"><bpmn:errorEventDefinition errorRef="E"/></bpmn:endEvent>{}</bpmn:process></bpmn:definitions>"#,
        flow("f1", "s", "call"),
        flow("f2", "call", "ok"),
        flow("f3", "b", "failed"),
        flow("c1", "cs", "boom")
    );
    let h = H::start(&xml, json!({}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.path(), ["s", "call", "cs", "boom", "b", "failed"]);
    assert_eq!(h.var("errorCode"), json!("E1"));
}

#[test]
fn error_event_subprocess_catches_error_in_its_scope() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:endEvent id="boom"><bpmn:errorEventDefinition errorRef="E"/></bpmn:endEvent>{}<bpmn:subProcess id="esp" triggeredByEvent="true"><bpmn:startEvent id="es"><bpmn:errorEventDefinition errorRef="E"/></bpmn:startEvent><bpmn:endEvent id="ee"/>{}</bpmn:subProcess>"#,
        flow("f1", "s", "boom"),
        flow("g1", "es", "ee")
    );
    let h = H::start(&model_with(DECLS, &body), json!({}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.path(), ["s", "boom", "esp", "es", "ee"]);
}

// ----- tasks ---------------------------------------------------------------------------------

#[test]
fn pass_through_tasks_and_send_task() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:task id="t"/><bpmn:manualTask id="m"/><bpmn:serviceTask id="sv"/><bpmn:businessRuleTask id="br"/><bpmn:sendTask id="send" messageRef="M"/><bpmn:endEvent id="e"/>{}{}{}{}{}{}"#,
        flow("f1", "s", "t"),
        flow("f2", "t", "m"),
        flow("f3", "m", "sv"),
        flow("f4", "sv", "br"),
        flow("f5", "br", "send"),
        flow("f6", "send", "e")
    );
    let h = H::start(&model_with(DECLS, &body), json!({}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.path(), ["s", "t", "m", "sv", "br", "send", "e"]);
    assert!(h.effects.iter().any(|e| matches!(e, Effect::MessageThrown { name, element_id, .. } if name == "Go" && element_id == "send")));
}

#[test]
fn receive_task_form_mode_is_completed_by_a_form_submission() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:receiveTask id="Review"><bpmn:extensionElements><custom:properties><custom:property name="form" value="review-form"/><custom:property name="correlationKey" value="context.id"/></custom:properties></bpmn:extensionElements></bpmn:receiveTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "Review"),
        flow("f2", "Review", "e")
    );
    let mut h = H::start(&model(&body), json!({"id": "P-1"}));
    let w = &h.engine.waiting(&h.inst)[0];
    assert_eq!(
        (
            w.task_type,
            w.form_key.as_deref(),
            w.correlation_key.as_deref()
        ),
        ("receiveTask", Some("review-form"), Some("P-1"))
    );
    h.apply(Event::CompleteTask {
        task_id: None,
        data: json!({"decision": "approve"}),
    })
    .unwrap();
    assert_eq!(
        h.var("lastReceiveTaskResult"),
        json!({"decision": "approve"})
    );
    assert!(h
        .effects
        .iter()
        .any(|e| matches!(e, Effect::CallbackCompleted { task_id, .. } if task_id == "Review")));
}

#[test]
fn receive_task_timeout_minutes_expires_the_callback_and_fires_timer_boundary() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:receiveTask id="Wait"><bpmn:extensionElements><custom:properties><custom:property name="correlationKey" value="ref"/><custom:property name="TimeoutMinutes" value="30"/></custom:properties></bpmn:extensionElements></bpmn:receiveTask><bpmn:boundaryEvent id="late" attachedToRef="Wait"><bpmn:timerEventDefinition><bpmn:timeDuration>PT2H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:endEvent id="e"/><bpmn:endEvent id="expired"/>{}{}{}"#,
        flow("f1", "s", "Wait"),
        flow("f2", "Wait", "e"),
        flow("f3", "late", "expired")
    );
    let mut h = H::start(&model(&body), json!({"ref": "R1"}));
    h.advance(30 * 60);
    assert!(h.effects.iter().any(|e| matches!(
        e,
        Effect::CallbackClosed {
            status: "Expired",
            ..
        }
    )));
    assert_eq!(h.path(), ["s", "Wait", "late", "expired"]);
}

// ----- sub-processes -------------------------------------------------------------------------

#[test]
fn non_interrupting_timer_event_subprocess_runs_beside_the_main_flow() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="u"/><bpmn:endEvent id="e"/>{}{}<bpmn:subProcess id="esp" triggeredByEvent="true"><bpmn:startEvent id="es" isInterrupting="false"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent><bpmn:scriptTask id="remind" scriptFormat="rhai"><bpmn:script>let reminded = true;</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="ee"/>{}{}</bpmn:subProcess>"#,
        flow("f1", "s", "u"),
        flow("f2", "u", "e"),
        flow("g1", "es", "remind"),
        flow("g2", "remind", "ee")
    );
    let mut h = H::start(&model(&body), json!({}));
    h.advance(3600);
    assert_eq!(h.var("reminded"), json!(true));
    assert_eq!(h.waiting(), ["u"]);
    h.complete("u", json!({})).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
}

#[test]
fn nested_embedded_subprocesses_complete_outward() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:subProcess id="outer"><bpmn:startEvent id="os"/><bpmn:subProcess id="inner"><bpmn:startEvent id="is"/><bpmn:userTask id="u"/><bpmn:endEvent id="ie"/>{}{}</bpmn:subProcess><bpmn:endEvent id="oe"/>{}{}</bpmn:subProcess><bpmn:endEvent id="e"/>{}{}"#,
        flow("a1", "is", "u"),
        flow("a2", "u", "ie"),
        flow("b1", "os", "inner"),
        flow("b2", "inner", "oe"),
        flow("c1", "s", "outer"),
        flow("c2", "outer", "e")
    );
    let mut h = H::start(&model(&body), json!({}));
    h.complete("u", json!({"x": 1})).unwrap();
    assert_eq!(
        h.path(),
        ["s", "outer", "os", "inner", "is", "u", "ie", "oe", "e"]
    );
    assert_eq!(
        h.var("lastUserTaskResult"),
        json!({"x": 1}),
        "written to the instance when no inner scope has it"
    );
}

#[test]
fn multi_instance_parallel_cardinality_sets_nr_of_variables() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="u"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>${{3}}</bpmn:loopCardinality><bpmn:completionCondition>nrOfCompletedInstances == nrOfInstances - 1</bpmn:completionCondition></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "u"),
        flow("f2", "u", "e")
    );
    let mut h = H::start(&model(&body), json!({}));
    assert_eq!(
        h.engine.waiting(&h.inst).len(),
        3,
        "three parallel instances"
    );
    h.complete("u", json!({})).unwrap();
    assert_eq!(h.engine.waiting(&h.inst).len(), 2);
    h.complete("u", json!({})).unwrap();
    assert_eq!(
        h.inst.status,
        Status::Completed,
        "completion condition cancels the third"
    );
}

#[test]
fn endless_loop_without_wait_state_becomes_an_incident() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="m"/><bpmn:task id="spin"/><bpmn:exclusiveGateway id="check" default="out"/><bpmn:endEvent id="e"/>{}{}{}{}{}"#,
        flow("f0", "s", "m"),
        flow("f1", "m", "spin"),
        flow("f2", "spin", "check"),
        cflow("back", "check", "m", "again"),
        flow("out", "check", "e")
    );
    let mut h = H::start(&model(&body), json!({"again": true}));
    assert_eq!(h.inst.status, Status::Failed);
    assert!(h.engine.incidents(&h.inst)[0]
        .message
        .contains("endless loop"));
    h.apply(Event::Retry {
        variables: vars(json!({"again": false})),
    })
    .unwrap();
    assert_eq!(h.inst.status, Status::Completed);
}

#[test]
fn server_script_written_the_seed_way_rejects_with_its_message() {
    // Seed 002 writes `throw new Error('...')` and `===`; both read as rhai.
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="T"><bpmn:extensionElements><custom:properties><custom:property name="ServerScript" value="if (formData.decision === ()) {{ throw new Error('Decision is required'); }}"/></custom:properties></bpmn:extensionElements></bpmn:userTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "T"),
        flow("f2", "T", "e")
    );
    let mut h = H::start(&model(&body), json!({}));
    let err = h.complete("T", json!({})).unwrap_err();
    assert!(err.ends_with("Decision is required"), "{err}");
    h.complete("T", json!({"decision": "approve"})).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
}

fn receive_with_timeout(minutes: &str) -> String {
    model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:receiveTask id="Wait"><bpmn:extensionElements><custom:properties><custom:property name="TimeoutMinutes" value="{minutes}"/></custom:properties></bpmn:extensionElements></bpmn:receiveTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "Wait"),
        flow("f2", "Wait", "e")
    ))
}

fn expired(h: &H) -> bool {
    h.effects.iter().any(|e| {
        matches!(
            e,
            Effect::CallbackClosed {
                status: "Expired",
                ..
            }
        )
    })
}

#[test]
fn receive_task_timeout_minutes_expires_at_its_due_time_to_the_second() {
    let mut h = H::start(&receive_with_timeout("1.5"), json!({}));
    let start = h.clock.now();
    assert!(h.effects.iter().any(|e| matches!(
        e,
        Effect::CallbackRegistered { timeout_minutes: Some(m), .. } if *m == 1.5
    )));
    assert!(h.effects.iter().any(|e| matches!(
        e,
        Effect::TimerScheduled { element_id, due } if element_id == "Wait" && *due == start + jiff::SignedDuration::from_secs(90)
    )));
    h.advance(89);
    assert!(!expired(&h), "expired before 90 s");
    h.advance(1);
    assert!(expired(&h), "not expired at 90 s");
}

#[test]
fn a_timeout_past_the_last_timestamp_saturates_instead_of_panicking() {
    // Validation refuses such values; here the spec is forced past it to show the executor holds.
    let mut dep = parse(&[("t.bpmn", receive_with_timeout("30").as_str())]).unwrap();
    let wait = dep.nodes.iter_mut().find(|n| n.id == "Wait").unwrap();
    wait.spec.timeout_minutes = Some(f64::INFINITY);
    wait.spec.timeout = Some(jiff::SignedDuration::MAX);
    let (engine, _) = Engine::new(dep).unwrap();
    let clock = VirtualClock::new(VirtualClock::default_start());
    let ctx = Ctx {
        clock: &clock,
        user: None,
        enforce_access: false,
        bus: None,
    };
    let (inst, effects) = engine.start(None, Map::new(), &ctx).unwrap();
    assert_eq!(inst.status, Status::Waiting);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::TimerScheduled { due, .. } if *due == jiff::Timestamp::MAX
    )));
}

#[test]
fn a_definition_deployed_before_the_timeout_check_reloads_with_a_warning() {
    for (value, timer) in [("0", false), ("abc", false), ("inf", true)] {
        let xml = receive_with_timeout(value);
        assert!(Engine::new(parse(&[("t.bpmn", xml.as_str())]).unwrap()).is_err());
        let (engine, warnings) = Engine::reload(parse(&[("t.bpmn", xml.as_str())]).unwrap())
            .unwrap_or_else(|p| panic!("{value}: {p:?}"));
        assert!(
            warnings
                .iter()
                .any(|p| p.element_id.as_deref() == Some("Wait")
                    && p.message.contains("TimeoutMinutes")),
            "{value}: {warnings:?}"
        );
        let clock = VirtualClock::new(VirtualClock::default_start());
        let ctx = Ctx {
            clock: &clock,
            user: None,
            enforce_access: false,
            bus: None,
        };
        let (inst, effects) = engine.start(None, Map::new(), &ctx).unwrap();
        assert_eq!(inst.status, Status::Waiting, "{value}");
        let timers: Vec<_> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::TimerScheduled { due, .. } => Some(*due),
                _ => None,
            })
            .collect();
        let want = if timer {
            vec![jiff::Timestamp::MAX]
        } else {
            vec![]
        };
        assert_eq!(timers, want, "{value}");
    }
}
