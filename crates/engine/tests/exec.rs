//! Executor tests through the public API: parse -> Engine::new -> start/apply, asserting the
//! path taken, variables, waiting states, incidents and effects.

mod common;
use baton_engine::{Clock, Effect, Event, Status, User};
use common::*;
use serde_json::{json, Map, Value};

#[test]
fn script_tasks_in_sequence_update_variables() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:scriptTask id="a" scriptFormat="rhai"><bpmn:script>counter = counter + 1; let doubled = counter * 2;</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "a"),
        flow("f2", "a", "e")
    ));
    let h = H::start(&xml, json!({"counter": 4}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.path(), ["s", "a", "e"]);
    assert_eq!(h.var("counter"), json!(5));
    assert_eq!(h.var("doubled"), json!(10));
}

#[test]
fn exclusive_gateway_takes_first_true_condition_else_default() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="g" default="fd"/><bpmn:endEvent id="big"/><bpmn:endEvent id="small"/><bpmn:endEvent id="other"/>{}{}{}{}"#,
        flow("f0", "s", "g"),
        cflow("fb", "g", "big", "${amount &gt; 100}"),
        cflow("fs", "g", "small", "amount &gt; 0"),
        flow("fd", "g", "other")
    ));
    assert_eq!(
        H::start(&xml, json!({"amount": 500})).path(),
        ["s", "g", "big"]
    );
    assert_eq!(
        H::start(&xml, json!({"amount": 5})).path(),
        ["s", "g", "small"]
    );
    assert_eq!(
        H::start(&xml, json!({"amount": -1})).path(),
        ["s", "g", "other"]
    );
}

#[test]
fn exclusive_gateway_without_match_raises_incident_and_retry_fixes_it() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="g"/><bpmn:endEvent id="a"/><bpmn:endEvent id="b"/>{}{}{}"#,
        flow("f0", "s", "g"),
        cflow("fa", "g", "a", "x == 1"),
        cflow("fb", "g", "b", "x == 2")
    ));
    let mut h = H::start(&xml, json!({"x": 3}));
    assert_eq!(h.inst.status, Status::Failed);
    let inc = h.engine.incidents(&h.inst);
    assert_eq!(inc.len(), 1);
    assert_eq!(inc[0].element_id, "g");
    assert!(
        inc[0].message.contains("no outgoing flow"),
        "{}",
        inc[0].message
    );
    h.apply(Event::Retry {
        variables: vars(json!({"x": 2})),
    })
    .unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.path().last().unwrap(), "b");
    assert!(h.engine.incidents(&h.inst).is_empty());
}

#[test]
fn script_error_is_an_incident_on_the_task() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:scriptTask id="bad" scriptFormat="rhai"><bpmn:script>let y = missing + 1;</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "bad"),
        flow("f2", "bad", "e")
    ));
    let mut h = H::start(&xml, json!({}));
    assert_eq!(h.inst.status, Status::Failed);
    assert_eq!(h.engine.incidents(&h.inst)[0].element_id, "bad");
    assert!(h
        .effects
        .iter()
        .any(|e| matches!(e, Effect::IncidentRaised { element_id, .. } if element_id == "bad")));
    h.apply(Event::Retry {
        variables: vars(json!({"missing": 1})),
    })
    .unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.var("y"), json!(2));
}

#[test]
fn parallel_join_waits_for_every_branch_and_sees_all_results() {
    let mut body = String::from(
        r#"<bpmn:startEvent id="s"/><bpmn:parallelGateway id="fork"/><bpmn:parallelGateway id="join"/><bpmn:endEvent id="e"/>"#,
    );
    body += &flow("f0", "s", "fork");
    for i in 1..=3 {
        body += &format!(
            r#"<bpmn:scriptTask id="t{i}" scriptFormat="rhai"><bpmn:script>let b{i} = 1;</bpmn:script></bpmn:scriptTask>"#
        );
        body += &flow(&format!("a{i}"), "fork", &format!("t{i}"));
        body += &flow(&format!("b{i}"), &format!("t{i}"), "join");
    }
    body += &flow("fe", "join", "e");
    let h = H::start(&model(&body), json!({}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.visits("join"), 3, "join entered once per arriving token");
    assert_eq!(h.visits("e"), 1, "join fires exactly once");
    for i in 1..=3 {
        assert_eq!(h.var(&format!("b{i}")), json!(1));
    }
}

#[test]
fn parallel_join_holds_until_user_task_branch_completes() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:parallelGateway id="fork"/><bpmn:userTask id="u"/><bpmn:task id="auto"/><bpmn:parallelGateway id="join"/><bpmn:endEvent id="e"/>{}{}{}{}{}{}"#,
        flow("f0", "s", "fork"),
        flow("f1", "fork", "u"),
        flow("f2", "fork", "auto"),
        flow("f3", "u", "join"),
        flow("f4", "auto", "join"),
        flow("f5", "join", "e")
    );
    let mut h = H::start(&model(&body), json!({}));
    assert_eq!(h.inst.status, Status::Waiting);
    assert_eq!(h.waiting(), ["u"]);
    assert!(!h.path().contains(&"e".to_string()));
    h.complete("u", json!({"ok": true})).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.var("lastUserTaskResult"), json!({"ok": true}));
}

#[test]
fn inclusive_join_waits_only_for_taken_branches() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:inclusiveGateway id="split"/><bpmn:userTask id="ua"/><bpmn:userTask id="ub"/><bpmn:userTask id="uc"/><bpmn:inclusiveGateway id="join"/><bpmn:endEvent id="e"/>{}{}{}{}{}{}{}{}"#,
        flow("f0", "s", "split"),
        cflow("fa", "split", "ua", "a"),
        cflow("fb", "split", "ub", "b"),
        cflow("fc", "split", "uc", "c"),
        flow("ga", "ua", "join"),
        flow("gb", "ub", "join"),
        flow("gc", "uc", "join"),
        flow("fe", "join", "e")
    );
    let mut h = H::start(&model(&body), json!({"a": true, "b": false, "c": true}));
    assert_eq!(h.waiting(), ["ua", "uc"]);
    h.complete("ua", json!({})).unwrap();
    assert_eq!(
        h.inst.status,
        Status::Waiting,
        "uc still running, join must wait"
    );
    h.complete("uc", json!({})).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.visits("e"), 1);
    assert_eq!(h.visits("ub"), 0);
}

#[test]
fn user_task_completion_sets_last_user_task_result_and_server_script_can_reject() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="Review"><bpmn:extensionElements><custom:properties><custom:property name="FormKey" value="review-form"/><custom:property name="ServerScript" value="if formData.decision == () {{ throw &quot;Decision is required&quot;; }} #{{ approved: formData.decision == &quot;approve&quot;, by: currentUser }}"/></custom:properties></bpmn:extensionElements></bpmn:userTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "Review"),
        flow("f2", "Review", "e")
    );
    let mut h = H::start(&model(&body), json!({}));
    assert!(h.effects.iter().any(|e| matches!(e, Effect::TaskWaiting { task_id, form_key: Some(f), .. } if task_id == "Review" && f == "review-form")));
    let err = h.complete("Review", json!({"comments": "x"})).unwrap_err();
    assert!(err.contains("Decision is required"), "{err}");
    assert_eq!(
        h.waiting(),
        ["Review"],
        "a rejected submission leaves the task waiting"
    );
    assert_eq!(
        h.var("comments"),
        Value::Null,
        "nothing of a rejected submission is stored"
    );
    h.complete("Review", json!({"decision": "approve"}))
        .unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.var("lastUserTaskResult")["approved"], json!(true));
    // Seed 002: the submitted fields are not merged over the process variables.
    assert_eq!(h.var("decision"), Value::Null);
}

#[test]
fn responsible_team_is_enforced() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="T"><bpmn:extensionElements><custom:properties><custom:property name="ResponsibleTeam" value="MANAGERS"/></custom:properties></bpmn:extensionElements></bpmn:userTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "T"),
        flow("f2", "T", "e")
    );
    let mut h = H::start(&model(&body), json!({}));
    let bob = User {
        name: "bob".into(),
        teams: vec!["CLERKS".into()],
    };
    let err = h
        .apply_as(
            Event::CompleteTask {
                task_id: None,
                data: json!({}),
            },
            &bob,
        )
        .unwrap_err();
    assert!(err.contains("MANAGERS") && err.contains("bob"), "{err}");
    let mary = User {
        name: "mary".into(),
        teams: vec!["MANAGERS".into()],
    };
    h.apply_as(
        Event::CompleteTask {
            task_id: None,
            data: json!({}),
        },
        &mary,
    )
    .unwrap();
    assert_eq!(h.inst.status, Status::Completed);
}

#[test]
fn receive_task_webhook_mode_registers_callback_and_resumes_on_key() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:receiveTask id="Wait"><bpmn:extensionElements><custom:properties><custom:property name="correlationKey" value="context.paymentId"/><custom:property name="message" value="PaymentProcessed"/></custom:properties></bpmn:extensionElements></bpmn:receiveTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "Wait"),
        flow("f2", "Wait", "e")
    );
    let mut h = H::start(&model(&body), json!({"paymentId": "PAY-1"}));
    assert!(h.effects.iter().any(|e| matches!(e, Effect::CallbackRegistered { correlation_key: Some(k), message: Some(m), .. } if k == "PAY-1" && m == "PaymentProcessed")));
    let err = h
        .apply(Event::Callback {
            correlation_key: "PAY-2".into(),
            data: json!({}),
        })
        .unwrap_err();
    assert!(err.contains("PAY-2"), "{err}");
    h.apply(Event::Callback {
        correlation_key: "PAY-1".into(),
        data: json!({"status": "success"}),
    })
    .unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.var("lastReceiveTaskResult"), json!({"status": "success"}));
    assert!(h
        .effects
        .iter()
        .any(|e| matches!(e, Effect::CallbackCompleted { task_id, .. } if task_id == "Wait")));
    // A second delivery finds nothing to resume.
    assert!(h
        .apply(Event::Callback {
            correlation_key: "PAY-1".into(),
            data: json!({})
        })
        .is_err());
}

#[test]
fn timer_boundary_interrupts_waiting_task() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="u"/><bpmn:boundaryEvent id="late" attachedToRef="u"><bpmn:timerEventDefinition><bpmn:timeDuration>PT30M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:endEvent id="done"/><bpmn:endEvent id="timedOut"/>{}{}{}"#,
        flow("f1", "s", "u"),
        flow("f2", "u", "done"),
        flow("f3", "late", "timedOut")
    );
    let mut h = H::start(&model(&body), json!({}));
    h.advance(29 * 60);
    assert_eq!(h.waiting(), ["u"], "never fires early");
    h.advance(60);
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.path(), ["s", "u", "late", "timedOut"]);
}

#[test]
fn non_interrupting_timer_cycle_boundary_fires_each_time_and_task_stays() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="u"/><bpmn:boundaryEvent id="remind" attachedToRef="u" cancelActivity="false"><bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT10M</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:endEvent id="done"/><bpmn:endEvent id="reminded"/>{}{}{}"#,
        flow("f1", "s", "u"),
        flow("f2", "u", "done"),
        flow("f3", "remind", "reminded")
    );
    let mut h = H::start(&model(&body), json!({}));
    h.advance(3600);
    assert_eq!(h.visits("remind"), 3);
    assert_eq!(h.waiting(), ["u"]);
    h.complete("u", json!({})).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
}

#[test]
fn a_cycle_that_missed_repetitions_fires_once_and_keeps_its_phase() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="u"/><bpmn:boundaryEvent id="remind" attachedToRef="u" cancelActivity="false"><bpmn:timerEventDefinition><bpmn:timeCycle>R5/PT10M</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:endEvent id="done"/><bpmn:endEvent id="reminded"/>{}{}{}"#,
        flow("f1", "s", "u"),
        flow("f2", "u", "done"),
        flow("f3", "remind", "reminded")
    );
    let mut h = H::start(&model(&body), json!({}));
    let t0 = h.clock.now();
    // The app was closed for 35 minutes: the reminders due at 10, 20 and 30 fire once.
    h.clock.set(t0 + jiff::SignedDuration::from_mins(35));
    h.apply(Event::TimersDue).unwrap();
    assert_eq!(h.visits("remind"), 1);
    assert_eq!(
        h.engine.next_timer(&h.inst),
        Some(t0 + jiff::SignedDuration::from_mins(40))
    );
    // Nothing is early: at 39:59 nothing fires; at 40 the next one does.
    h.clock
        .set(t0 + jiff::SignedDuration::from_secs(40 * 60 - 1));
    h.apply(Event::TimersDue).unwrap();
    assert_eq!(h.visits("remind"), 1);
    h.clock.set(t0 + jiff::SignedDuration::from_mins(40));
    h.apply(Event::TimersDue).unwrap();
    assert_eq!(h.visits("remind"), 2);
}

#[test]
fn error_end_event_in_subprocess_is_caught_by_boundary() {
    let body = format!(
        r#"<bpmn:error id="Err1" errorCode="E42"/><bpmn:startEvent id="s"/><bpmn:subProcess id="sub"><bpmn:startEvent id="ss"/><bpmn:endEvent id="boom"><bpmn:errorEventDefinition errorRef="Err1"/></bpmn:endEvent>{}</bpmn:subProcess><bpmn:boundaryEvent id="caught" attachedToRef="sub"><bpmn:errorEventDefinition errorRef="Err1"/></bpmn:boundaryEvent><bpmn:endEvent id="ok"/><bpmn:endEvent id="handled"/>{}{}{}"#,
        flow("sf", "ss", "boom"),
        flow("f1", "s", "sub"),
        flow("f2", "sub", "ok"),
        flow("f3", "caught", "handled")
    );
    // The error element belongs at definitions level; put it there.
    let xml = model(&body)
        .replace(r#"<bpmn:error id="Err1" errorCode="E42"/>"#, "")
        .replace(
            r#"<bpmn:process id="p""#,
            r#"<bpmn:error id="Err1" errorCode="E42"/><bpmn:process id="p""#,
        );
    let h = H::start(&xml, json!({}));
    assert_eq!(h.inst.status, Status::Completed);
    assert!(h.path().contains(&"handled".to_string()));
    assert!(!h.path().contains(&"ok".to_string()));
}

#[test]
fn message_intermediate_catch_correlates_by_name_and_key() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="c"><bpmn:extensionElements><custom:properties><custom:property name="correlationKey" value="orderId"/></custom:properties></bpmn:extensionElements><bpmn:messageEventDefinition messageRef="M"/></bpmn:intermediateCatchEvent><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "c"),
        flow("f2", "c", "e")
    );
    let xml = model(&body).replace(
        r#"<bpmn:process id="p""#,
        r#"<bpmn:message id="M" name="OrderPaid"/><bpmn:process id="p""#,
    );
    let mut h = H::start(&xml, json!({"orderId": "O-7"}));
    assert_eq!(h.engine.waiting(&h.inst)[0].task_type, "messageCatch");
    let wrong = Event::Message {
        name: "OrderPaid".into(),
        correlation_key: Some("O-8".into()),
        variables: Map::new(),
    };
    assert!(h.apply(wrong).is_err());
    h.apply(Event::Message {
        name: "OrderPaid".into(),
        correlation_key: Some("O-7".into()),
        variables: vars(json!({"paid": 1})),
    })
    .unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.var("paid"), json!(1));
}

#[test]
fn event_based_gateway_takes_first_event_and_cancels_the_rest() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:eventBasedGateway id="g"/><bpmn:intermediateCatchEvent id="sig"><bpmn:signalEventDefinition signalRef="S"/></bpmn:intermediateCatchEvent><bpmn:intermediateCatchEvent id="tm"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent><bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>{}{}{}{}{}"#,
        flow("f0", "s", "g"),
        flow("f1", "g", "sig"),
        flow("f2", "g", "tm"),
        flow("f3", "sig", "e1"),
        flow("f4", "tm", "e2")
    );
    let xml = model(&body).replace(
        r#"<bpmn:process id="p""#,
        r#"<bpmn:signal id="S" name="alert"/><bpmn:process id="p""#,
    );
    let mut h = H::start(&xml, json!({}));
    assert_eq!(h.waiting(), ["sig", "tm"]);
    h.apply(Event::Signal {
        name: "alert".into(),
        variables: Map::new(),
    })
    .unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.path(), ["s", "g", "sig", "e1"]);
    assert_eq!(
        h.engine.next_timer(&h.inst),
        None,
        "the timer was cancelled"
    );
}

#[test]
fn multi_instance_parallel_over_collection_with_loop_counter() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:scriptTask id="each" scriptFormat="rhai"><bpmn:multiInstanceLoopCharacteristics camunda:collection="items" camunda:elementVariable="item"/><bpmn:script>total = total + item; seen.push(loopCounter);</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "each"),
        flow("f2", "each", "e")
    );
    let h = H::start(
        &model(&body),
        json!({"items": [1, 2, 3, 4], "total": 0, "seen": []}),
    );
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.var("total"), json!(10));
    assert_eq!(h.var("seen"), json!([0, 1, 2, 3]));
    assert_eq!(
        h.var("item"),
        Value::Null,
        "element variable is local to the inner instance"
    );
}

#[test]
fn multi_instance_sequential_user_tasks_with_completion_condition() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="vote"><bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:loopCardinality>5</bpmn:loopCardinality><bpmn:completionCondition>nrOfCompletedInstances &gt;= 2</bpmn:completionCondition></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "vote"),
        flow("f2", "vote", "e")
    );
    let mut h = H::start(&model(&body), json!({}));
    assert_eq!(h.waiting(), ["vote"]);
    h.complete("vote", json!({})).unwrap();
    assert_eq!(h.waiting(), ["vote"]);
    h.complete("vote", json!({})).unwrap();
    assert_eq!(
        h.inst.status,
        Status::Completed,
        "completion condition ends the loop after 2 of 5"
    );
}

#[test]
fn call_activity_child_gets_copy_and_hands_variables_back() {
    let xml = format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d">
        <bpmn:process id="parent" isExecutable="true"><bpmn:startEvent id="s"/><bpmn:callActivity id="call" calledElement="child"/><bpmn:endEvent id="e"/>{}{}</bpmn:process>
        <bpmn:process id="child" isExecutable="true"><bpmn:startEvent id="cs"/><bpmn:scriptTask id="work" scriptFormat="rhai"><bpmn:script>let result = input * 3;</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="ce"/>{}{}</bpmn:process>
        </bpmn:definitions>"#,
        flow("f1", "s", "call"),
        flow("f2", "call", "e"),
        flow("c1", "cs", "work"),
        flow("c2", "work", "ce")
    );
    let h = H::start(&xml, json!({"input": 7}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.var("result"), json!(21));
    assert_eq!(h.path(), ["s", "call", "cs", "work", "ce", "e"]);
}

#[test]
fn interrupting_message_event_subprocess_cancels_the_main_flow() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="u"/><bpmn:endEvent id="e"/>{}{}<bpmn:subProcess id="esp" triggeredByEvent="true"><bpmn:startEvent id="es"><bpmn:messageEventDefinition messageRef="Cancel"/></bpmn:startEvent><bpmn:endEvent id="ee"/>{}</bpmn:subProcess>"#,
        flow("f1", "s", "u"),
        flow("f2", "u", "e"),
        flow("ef", "es", "ee")
    );
    let xml = model(&body).replace(
        r#"<bpmn:process id="p""#,
        r#"<bpmn:message id="Cancel" name="cancelOrder"/><bpmn:process id="p""#,
    );
    let mut h = H::start(&xml, json!({}));
    h.apply(Event::Message {
        name: "cancelOrder".into(),
        correlation_key: None,
        variables: Map::new(),
    })
    .unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert!(h.waiting().is_empty());
    assert_eq!(h.path(), ["s", "u", "esp", "es", "ee"]);
}

#[test]
fn runaway_script_becomes_an_incident() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:scriptTask id="spin" scriptFormat="rhai"><bpmn:script>let i = 0; loop {{ i += 1; }}</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "spin"),
        flow("f2", "spin", "e")
    ));
    let h = H::start(&xml, json!({}));
    assert_eq!(h.inst.status, Status::Failed);
    assert_eq!(h.engine.incidents(&h.inst)[0].element_id, "spin");
}

#[test]
fn instance_state_survives_a_json_round_trip() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="u"/><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "u"),
        flow("f2", "u", "e")
    );
    let mut h = H::start(&model(&body), json!({"a": 1}));
    let text = serde_json::to_string(&h.inst).unwrap();
    h.inst = serde_json::from_str(&text).unwrap();
    h.complete("u", json!({"b": 2})).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.var("a"), json!(1));
    assert_eq!(h.var("lastUserTaskResult"), json!({"b": 2}));
}

#[test]
fn completing_a_task_that_is_not_waiting_is_an_error_and_changes_nothing() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="u"/><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "u"),
        flow("f2", "u", "e")
    );
    let mut h = H::start(&model(&body), json!({}));
    let before = serde_json::to_string(&h.inst).unwrap();
    let err = h.complete("nope", json!({"x": 1})).unwrap_err();
    assert!(err.contains("nope") && err.contains("u"), "{err}");
    assert_eq!(serde_json::to_string(&h.inst).unwrap(), before);
    h.complete("u", json!({})).unwrap();
    let err = h.complete("u", json!({})).unwrap_err();
    assert!(err.contains("COMPLETED"), "{err}");
}

#[test]
fn standard_loop_repeats_until_condition_false() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:scriptTask id="inc" scriptFormat="rhai"><bpmn:standardLoopCharacteristics><bpmn:loopCondition>n &lt; 5</bpmn:loopCondition></bpmn:standardLoopCharacteristics><bpmn:script>n = n + 1;</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "inc"),
        flow("f2", "inc", "e")
    ));
    let h = H::start(&xml, json!({"n": 0}));
    assert_eq!(h.var("n"), json!(5));
    assert_eq!(h.visits("inc"), 5);
}

#[test]
fn terminate_end_event_ends_every_branch() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:parallelGateway id="fork"/><bpmn:userTask id="u"/><bpmn:endEvent id="t"><bpmn:terminateEventDefinition/></bpmn:endEvent>{}{}{}"#,
        flow("f0", "s", "fork"),
        flow("f1", "fork", "u"),
        flow("f2", "fork", "t")
    );
    let h = H::start(&model(&body), json!({}));
    assert_eq!(h.inst.status, Status::Completed);
    assert!(h.waiting().is_empty());
}

#[test]
fn cancel_closes_pending_callbacks() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:receiveTask id="r"><bpmn:extensionElements><custom:properties><custom:property name="correlationKey" value="k"/></custom:properties></bpmn:extensionElements></bpmn:receiveTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "r"),
        flow("f2", "r", "e")
    );
    let mut h = H::start(&model(&body), json!({"k": "K1"}));
    h.apply(Event::Cancel { reason: None }).unwrap();
    assert_eq!(h.inst.status, Status::Cancelled);
    assert!(h.effects.iter().any(|e| matches!(
        e,
        Effect::CallbackClosed {
            status: "Cancelled",
            ..
        }
    )));
}

#[test]
fn timers_due_with_nothing_due_leaves_the_instance_waiting_as_it_was() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "w"),
        flow("f2", "w", "e")
    ));
    let mut h = H::start(&xml, json!({}));
    let before = serde_json::to_string(&h.inst).unwrap();
    h.apply(Event::TimersDue).unwrap();
    assert_eq!(h.inst.status.as_str(), "WAITING");
    assert_eq!(serde_json::to_string(&h.inst).unwrap(), before);
}
