//! Camunda 7's own engine test models, run by Baton, with the expectations of Camunda's JUnit
//! tests (camunda/camunda-bpm-platform, engine/src/test/java/org/camunda/bpm/engine/test/bpmn/).
//! The models are read from ../shared/corpora/camunda7 at run time; without it each test says it
//! skipped. Each test names the Camunda test method whose assertions it mirrors.

mod common;

use baton_engine::{parse, Ctx, Effect, Engine, Event, Status, VirtualClock};
use common::{corpus, Run};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

#[test]
fn exclusive_gateway_diverging() {
    // ExclusiveGatewayTest.testDivergingExclusiveGateway: input i leads to "Task i".
    let Some(xml) = corpus("gateway/ExclusiveGatewayTest.testDivergingExclusiveGateway.bpmn20.xml")
    else {
        return;
    };
    for i in 1..=3 {
        let r = Run::start(&xml, json!({ "input": i }));
        assert_eq!(r.task_names(), [format!("Task {i}")]);
    }
}

#[test]
fn exclusive_gateway_default_flow() {
    // ExclusiveGatewayTest.testDefaultSequenceFlow
    let Some(xml) = corpus("gateway/ExclusiveGatewayTest.testDefaultSequenceFlow.bpmn20.xml")
    else {
        return;
    };
    assert_eq!(
        Run::start(&xml, json!({"input": 1})).task_names(),
        ["Input is one"]
    );
    assert_eq!(
        Run::start(&xml, json!({"input": 3})).task_names(),
        ["Input is three"]
    );
    assert_eq!(
        Run::start(&xml, json!({"input": 5})).task_names(),
        ["Default input"]
    );
}

#[test]
fn exclusive_gateway_multiple_valid_conditions_takes_the_first() {
    // ExclusiveGatewayTest.testMultipleValidConditions: input 5 matches flows 2 and 3; "Task 2".
    let Some(xml) = corpus("gateway/ExclusiveGatewayTest.testMultipleValidConditions.bpmn20.xml")
    else {
        return;
    };
    assert_eq!(
        Run::start(&xml, json!({"input": 5})).task_names(),
        ["Task 2"]
    );
}

#[test]
fn exclusive_gateway_no_flow_selected() {
    // ExclusiveGatewayTest.testNoSequenceFlowSelected: Camunda throws "No outgoing sequence flow";
    // Baton opens an incident on the gateway instead (the instance can be retried).
    let Some(xml) = corpus("gateway/ExclusiveGatewayTest.testNoSequenceFlowSelected.bpmn20.xml")
    else {
        return;
    };
    let r = Run::start(&xml, json!({"input": 4}));
    assert_eq!(r.inst.status, Status::Failed);
    let inc = r.engine.incidents(&r.inst);
    assert_eq!(inc[0].element_id, "exclusiveGw");
    assert!(
        inc[0].message.contains("no outgoing flow"),
        "{}",
        inc[0].message
    );
}

#[test]
fn inclusive_gateway_diverging() {
    // InclusiveGatewayTest.testDivergingInclusiveGateway: input i activates 4 - i tasks.
    let Some(xml) = corpus("gateway/InclusiveGatewayTest.testDivergingInclusiveGateway.bpmn20.xml")
    else {
        return;
    };
    for i in 1..=3 {
        assert_eq!(
            Run::start(&xml, json!({ "input": i })).task_names().len(),
            4 - i as usize
        );
    }
}

#[test]
fn inclusive_gateway_default_flow() {
    // InclusiveGatewayTest.testDefaultSequenceFlow
    let Some(xml) = corpus("gateway/InclusiveGatewayTest.testDefaultSequenceFlow.bpmn20.xml")
    else {
        return;
    };
    assert_eq!(
        Run::start(&xml, json!({"input": 1})).task_names(),
        ["Input is one", "Input is three or one"]
    );
    assert_eq!(
        Run::start(&xml, json!({"input": 3})).task_names(),
        ["Input is three or one"]
    );
    assert_eq!(
        Run::start(&xml, json!({"input": 5})).task_names(),
        ["Default input"]
    );
}

#[test]
fn simple_subprocess() {
    // SubProcessTest.testSimpleSubProcess: the task inside waits; completing it ends the process.
    let Some(xml) = corpus("subprocess/SubProcessTest.testSimpleSubProcess.bpmn20.xml") else {
        return;
    };
    let mut r = Run::start(&xml, json!({}));
    assert_eq!(r.task_names(), ["Task in subprocess"]);
    r.submit("subProcessTask");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn parallel_multi_instance_user_tasks() {
    // MultiInstanceTest.testParallelUserTasks: loopCardinality ${5-2} creates three tasks at once.
    let Some(xml) = corpus("multiinstance/MultiInstanceTest.testParallelUserTasks.bpmn20.xml")
    else {
        return;
    };
    let mut r = Run::start(&xml, json!({}));
    assert_eq!(r.engine.waiting(&r.inst).len(), 3);
    for _ in 0..3 {
        r.submit("miTasks");
    }
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn multiple_timers_on_user_task_earliest_wins() {
    // BoundaryTimerEventTest.testMultipleTimersOnUserTask: PT1H, PT2H, PT3H on one task; after
    // an hour the PT1H timer has fired and "Third Task" is active; the other timers are gone.
    let Some(xml) =
        corpus("event/timer/BoundaryTimerEventTest.testMultipleTimersOnUserTask.bpmn20.xml")
    else {
        return;
    };
    let mut r = Run::start(&xml, json!({}));
    assert_eq!(r.task_names(), ["First Task"]);
    r.advance(3600 + 5);
    assert_eq!(r.task_names(), ["Third Task"]);
    assert_eq!(r.engine.next_timer(&r.inst), None);
    r.submit("thirdTask");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn signal_thrown_by_one_process_is_caught_by_another() {
    // SignalEventTests.testSignalCatchIntermediate (catchAlertSignal + throwAlertSignal): the
    // catching instance waits until the throwing instance runs, then ends.
    let Some(catch) = corpus("event/signal/SignalEventTests.catchAlertSignal.bpmn20.xml") else {
        return;
    };
    let Some(throw) = corpus("event/signal/SignalEventTests.throwAlertSignal.bpmn20.xml") else {
        return;
    };
    let mut catcher = Run::start(&catch, json!({}));
    assert_eq!(catcher.inst.status, Status::Waiting);
    let thrower = Run::start(&throw, json!({}));
    let thrown: Vec<(String, Map<String, Value>)> = thrower
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::SignalThrown {
                name, variables, ..
            } => Some((name.clone(), variables.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(thrown.len(), 1, "the throwing process throws one signal");
    let (name, _) = thrown[0].clone();
    catcher
        .apply(Event::Signal {
            name,
            variables: Map::new(),
        })
        .unwrap();
    assert_eq!(catcher.inst.status, Status::Completed);
}

#[test]
fn every_camunda_model_reads_without_panicking() {
    let root =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/camunda7/bpmn");
    if !root.is_dir() {
        println!("skipped: ../shared/corpora/camunda7 not found");
        return;
    }
    let mut stack = vec![root];
    let (mut files, mut runnable) = (0, 0);
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            files += 1;
            let ok = std::panic::catch_unwind(|| {
                let d = parse(&[("m", text.as_str())]).ok()?;
                let (engine, _) = Engine::new(d).ok()?;
                // Starting must not panic either (an error is fine: no start event, ...).
                let clock = VirtualClock::new(VirtualClock::default_start());
                let ctx = Ctx {
                    clock: &clock,
                    user: None,
                    enforce_access: false,
                    bus: None,
                };
                Some(engine.start(None, Map::new(), &ctx).is_ok())
            });
            match ok {
                Err(_) => panic!("panicked on {}", p.display()),
                Ok(Some(_)) => runnable += 1,
                Ok(None) => {}
            }
        }
    }
    println!("camunda7: {files} files, {runnable} valid and started without panic");
    assert!(runnable > 300);
}

#[test]
fn error_on_embedded_subprocess_is_caught_by_boundary() {
    // BoundaryErrorEventTest.testCatchErrorOnEmbeddedSubprocess
    let Some(xml) =
        corpus("event/error/BoundaryErrorEventTest.testCatchErrorOnEmbeddedSubprocess.bpmn20.xml")
    else {
        return;
    };
    let mut r = Run::start(&xml, json!({}));
    assert_eq!(r.task_names(), ["subprocessTask"]);
    r.submit("subprocessTask");
    assert_eq!(r.task_names(), ["task after catching the error"]);
}

#[test]
fn deeply_nested_error_is_caught_by_the_matching_boundary() {
    // BoundaryErrorEventTest.testDeeplyNestedErrorThrown: error1 is caught on subprocess2 and the
    // process ends; error2 is caught on subprocess1 and "task after catch" is active.
    let Some(xml) =
        corpus("event/error/BoundaryErrorEventTest.testDeeplyNestedErrorThrown.bpmn20.xml")
    else {
        return;
    };
    let mut r = Run::start(&xml, json!({"input": 1}));
    assert_eq!(r.task_names(), ["Nested task"]);
    r.submit("taskInSubprocess");
    assert_eq!(r.inst.status, Status::Completed);

    let mut r = Run::start(&xml, json!({"input": 2}));
    r.submit("taskInSubprocess");
    assert_eq!(r.task_names(), ["task after catch"]);
}

#[test]
fn error_event_subprocess_takes_precedence_over_boundary() {
    // ErrorEventSubProcessTest.testEventSubprocessTakesPrecedence
    let Some(xml) = corpus(
        "event/error/ErrorEventSubProcessTest.testEventSubprocessTakesPrecedence.bpmn20.xml",
    ) else {
        return;
    };
    let r = Run::start(&xml, json!({}));
    assert_eq!(r.task_names(), ["Escalated Task"]);
}

#[test]
fn single_boundary_message_event() {
    // MessageBoundaryEventTest.testSingleBoundaryMessageEvent: the message moves the token to
    // taskAfterMessage; without it, completing the task leads to taskAfterTask.
    let Some(xml) =
        corpus("event/message/MessageBoundaryEventTest.testSingleBoundaryMessageEvent.bpmn20.xml")
    else {
        return;
    };
    let mut r = Run::start(&xml, json!({}));
    r.apply(Event::Message {
        name: "messageName".into(),
        correlation_key: None,
        variables: Map::new(),
    })
    .unwrap();
    let w: Vec<String> = r
        .engine
        .waiting(&r.inst)
        .into_iter()
        .map(|w| w.task_id)
        .collect();
    assert_eq!(w, ["taskAfterMessage"]);
    r.submit("taskAfterMessage");
    assert_eq!(r.inst.status, Status::Completed);

    let mut r = Run::start(&xml, json!({}));
    r.submit("task");
    let w: Vec<String> = r
        .engine
        .waiting(&r.inst)
        .into_iter()
        .map(|w| w.task_id)
        .collect();
    assert_eq!(w, ["taskAfterTask"]);
    assert!(
        r.apply(Event::Message {
            name: "messageName".into(),
            correlation_key: None,
            variables: Map::new()
        })
        .is_err(),
        "the boundary subscription is gone once the task completed"
    );
}

#[test]
fn non_interrupting_message_event_subprocess_in_embedded_subprocess() {
    // MessageEventSubprocessTest.testNonInterruptingInEmbeddedSubprocess: the message adds a
    // second task beside the first; the instance ends when both are done.
    let Some(xml) = corpus("event/message/MessageEventSubprocessTest.testNonInterruptingInEmbeddedSubprocess.bpmn20.xml") else { return };
    let mut r = Run::start(&xml, json!({}));
    r.apply(Event::Message {
        name: "newMessage".into(),
        correlation_key: None,
        variables: Map::new(),
    })
    .unwrap();
    let mut w: Vec<String> = r
        .engine
        .waiting(&r.inst)
        .into_iter()
        .map(|w| w.task_id)
        .collect();
    w.sort();
    assert_eq!(w, ["eventSubProcessTask", "task"]);
    r.submit("task");
    assert_eq!(
        r.inst.status,
        Status::Waiting,
        "the event sub-process keeps the scope alive"
    );
    r.submit("eventSubProcessTask");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn terminate_end_event_ends_the_whole_process() {
    // TerminateEndEventTest.testProcessTerminate: completing the task before the terminate end
    // event ends the instance, cancelling the other branch.
    let Some(xml) = corpus("event/end/TerminateEndEventTest.testProcessTerminate.bpmn") else {
        return;
    };
    let mut r = Run::start(&xml, json!({}));
    assert_eq!(
        r.task_names(),
        ["check before end", "check before termination"]
    );
    r.submit("preTerminateTask");
    assert_eq!(r.inst.status, Status::Completed);
    assert!(r.task_names().is_empty());
}

#[test]
fn terminate_in_subprocess_ends_only_the_subprocess() {
    // TerminateEndEventTest.testTerminateInSubProcess: the parent goes on.
    let Some(xml) = corpus("event/end/TerminateEndEventTest.testTerminateInSubProcess.bpmn") else {
        return;
    };
    let mut r = Run::start(&xml, json!({}));
    assert_eq!(r.inst.status, Status::Waiting);
    assert_eq!(r.task_names(), ["check before normal end"]);
    r.submit("preNormalEnd");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn terminate_in_called_process_ends_only_the_call() {
    // TerminateEndEventTest.testTerminateInCallActivity (with subProcessTerminate.bpmn as callee)
    let Some(caller) = corpus("event/end/TerminateEndEventTest.testTerminateInCallActivity.bpmn")
    else {
        return;
    };
    let Some(callee) = corpus("event/end/TerminateEndEventTest.subProcessTerminate.bpmn") else {
        return;
    };
    let mut r = Run::start_files(
        &[&caller, &callee],
        Some("terminateEndEventExample"),
        json!({}),
    );
    assert_eq!(r.inst.status, Status::Waiting);
    assert_eq!(r.task_names(), ["check before end"]);
    r.submit("preNormalEnd");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn link_events_jump_between_parts_of_the_diagram() {
    // LinkEventTest.testValidEventLink: waits at waitAfterLink1, then waitAfterLink2, then ends.
    let Some(xml) = corpus("event/link/LinkEventTest.testValidEventLink.bpmn20.xml") else {
        return;
    };
    let mut r = Run::start(&xml, json!({}));
    let w = |r: &Run| {
        r.engine
            .waiting(&r.inst)
            .into_iter()
            .map(|w| w.task_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(w(&r), ["waitAfterLink1"]);
    r.submit("waitAfterLink1");
    assert_eq!(w(&r), ["waitAfterLink2"]);
    r.submit("waitAfterLink2");
    assert_eq!(r.inst.status, Status::Completed);
}
