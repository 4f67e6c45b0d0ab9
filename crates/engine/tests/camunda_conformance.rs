//! Camunda 7's own engine test models, run by Baton, with the expectations of Camunda's JUnit
//! tests (camunda/camunda-bpm-platform, engine/src/test/java/org/camunda/bpm/engine/test/bpmn/).
//! The models are read from ../shared/corpora/camunda7 at run time; without it each test says it
//! skipped. Each test names the Camunda test method whose assertions it mirrors.

use baton_engine::{parse, Clock, Ctx, Effect, Engine, Event, Instance, Status, VirtualClock};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

fn corpus(rel: &str) -> Option<String> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/camunda7/bpmn")
        .join(rel);
    match std::fs::read_to_string(&p) {
        Ok(t) => Some(t),
        Err(_) => {
            println!("skipped: ../shared/corpora/camunda7 not found ({rel})");
            None
        }
    }
}

struct Run {
    engine: Engine,
    clock: VirtualClock,
    inst: Instance,
    effects: Vec<Effect>,
}

impl Run {
    fn start(xml: &str, vars: Value) -> Run {
        Run::start_files(&[xml], None, vars)
    }
    /// Several files (a caller and its callees) and the process to start.
    fn start_files(xmls: &[&str], process: Option<&str>, vars: Value) -> Run {
        let files: Vec<(String, &str)> = xmls
            .iter()
            .enumerate()
            .map(|(i, x)| (format!("f{i}.bpmn"), *x))
            .collect();
        let refs: Vec<(&str, &str)> = files.iter().map(|(n, x)| (n.as_str(), *x)).collect();
        let (engine, _) = Engine::new(parse(&refs).expect("parses")).expect("valid");
        let clock = VirtualClock::new(VirtualClock::default_start());
        let ctx = Ctx {
            clock: &clock,
            user: None,
            enforce_access: false,
            bus: None,
        };
        let (inst, effects) = engine
            .start(process, vars.as_object().cloned().unwrap_or_default(), &ctx)
            .expect("starts");
        Run {
            engine,
            clock,
            inst,
            effects,
        }
    }
    fn apply(&mut self, e: Event) -> Result<(), String> {
        let ctx = Ctx {
            clock: &self.clock,
            user: None,
            enforce_access: false,
            bus: None,
        };
        let eff = self
            .engine
            .apply(&mut self.inst, e, &ctx)
            .map_err(|e| e.to_string())?;
        self.effects.extend(eff);
        Ok(())
    }
    /// Names of the waiting user tasks, sorted (Camunda's tests assert task names).
    fn task_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .engine
            .waiting(&self.inst)
            .into_iter()
            .filter(|w| w.task_type == "userTask")
            .map(|w| w.name.unwrap_or(w.task_id))
            .collect();
        v.sort();
        v
    }
    fn complete(&mut self, task_id: &str) {
        self.apply(Event::CompleteTask {
            task_id: Some(task_id.into()),
            data: json!({}),
        })
        .expect("completes");
    }
    fn advance_secs(&mut self, secs: i64) {
        let target = self.clock.now() + jiff::SignedDuration::from_secs(secs);
        while let Some(due) = self.engine.next_timer(&self.inst).filter(|d| *d <= target) {
            self.clock.set(due);
            self.apply(Event::TimersDue).unwrap();
        }
        self.clock.set(target);
    }
}

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
    r.complete("subProcessTask");
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
        r.complete("miTasks");
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
    r.advance_secs(3600 + 5);
    assert_eq!(r.task_names(), ["Third Task"]);
    assert_eq!(r.engine.next_timer(&r.inst), None);
    r.complete("thirdTask");
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
    r.complete("subprocessTask");
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
    r.complete("taskInSubprocess");
    assert_eq!(r.inst.status, Status::Completed);

    let mut r = Run::start(&xml, json!({"input": 2}));
    r.complete("taskInSubprocess");
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
    r.complete("taskAfterMessage");
    assert_eq!(r.inst.status, Status::Completed);

    let mut r = Run::start(&xml, json!({}));
    r.complete("task");
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
    r.complete("task");
    assert_eq!(
        r.inst.status,
        Status::Waiting,
        "the event sub-process keeps the scope alive"
    );
    r.complete("eventSubProcessTask");
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
    r.complete("preTerminateTask");
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
    r.complete("preNormalEnd");
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
    r.complete("preNormalEnd");
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
    r.complete("waitAfterLink1");
    assert_eq!(w(&r), ["waitAfterLink2"]);
    r.complete("waitAfterLink2");
    assert_eq!(r.inst.status, Status::Completed);
}

// ----- compensation (CompensateEventTest) -----------------------------------------------------

const COMP: &str = "event/compensate/CompensateEventTest.";

/// Ids of the waiting tasks (user and receive), sorted.
fn waiting_ids(r: &Run) -> Vec<String> {
    let mut v: Vec<String> = r
        .engine
        .waiting(&r.inst)
        .into_iter()
        .map(|w| w.task_id)
        .collect();
    v.sort();
    v
}

/// Completes `times` waiting tasks with this id (Camunda's `completeTasks(name, times)`).
fn complete_n(r: &mut Run, task_id: &str, times: usize) {
    let open = waiting_ids(r).iter().filter(|w| *w == task_id).count();
    assert!(
        open >= times,
        "{open} open '{task_id}' tasks, expected at least {times}: {:?}",
        waiting_ids(r)
    );
    for _ in 0..times {
        r.complete(task_id);
    }
}

/// Completes a task with variables (Camunda's `completeTaskWithVariable`).
fn complete_with(r: &mut Run, task_id: &str, data: Value) {
    r.apply(Event::CompleteTask {
        task_id: Some(task_id.into()),
        data,
    })
    .expect("completes");
}

/// The supported compensation models validate without a compensation problem.
fn no_compensation_problem(xml: &str) {
    let d = parse(&[("m.bpmn", xml)]).expect("parses");
    let problems = baton_engine::validate(&d, &[]);
    let comp: Vec<_> = problems
        .iter()
        .filter(|p| p.message.contains("compensat"))
        .collect();
    assert!(comp.is_empty(), "{comp:#?}");
}

fn entered(r: &Run, id: &str) -> usize {
    r.effects
        .iter()
        .filter(|e| matches!(e, Effect::ElementEntered { element_id } if element_id == id))
        .count()
}

#[test]
fn compensate_subprocess_inside_subprocess() {
    // CompensateEventTest.testCompensateSubprocessInsideSubprocess: throwing at process level
    // compensates the completed outer sub-process and, inside it, the nested one: both handlers
    // are active at once; completing them ends the process.
    let Some(xml) = corpus(&format!(
        "{COMP}testCompensateSubprocessInsideSubprocess.bpmn20.xml"
    )) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({}));
    r.complete("bookHotel");
    r.complete("bookFlight");
    r.complete("throwCompensation");
    assert_eq!(r.task_names(), ["Cancel Flight", "Cancel Hotel"]);
    r.complete("undoBookHotel");
    assert_eq!(
        r.inst.status,
        Status::Waiting,
        "the throw waits for every handler"
    );
    r.complete("undoBookFlight");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn compensate_activity_in_subprocess() {
    // CompensateEventTest.testCompensateActivityInSubprocess: activityRef names the completed
    // sub-process, whose inner task is compensated.
    let Some(xml) = corpus(&format!(
        "{COMP}testCompensateActivityInSubprocess.bpmn20.xml"
    )) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({}));
    r.complete("scopeTask");
    r.complete("beforeCompensate");
    assert_eq!(waiting_ids(&r), ["undoScopeTask"]);
    r.complete("undoScopeTask");
    r.complete("beforeEnd");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn compensate_activity_in_concurrent_subprocess() {
    // CompensateEventTest.testCompensateActivityInConcurrentSubprocess
    let Some(xml) = corpus(&format!(
        "{COMP}testCompensateActivityInConcurrentSubprocess.bpmn20.xml"
    )) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({}));
    r.complete("scopeTask");
    r.complete("outerTask");
    r.complete("beforeCompensate");
    assert_eq!(waiting_ids(&r), ["undoScopeTask"]);
    r.complete("undoScopeTask");
    r.complete("beforeEnd");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn compensate_subprocess_with_boundary_event() {
    // CompensateEventTest.testCompensateSubprocessWithBoundaryEvent (CAM-3628): the handler on
    // the sub-process itself runs.
    let Some(xml) = corpus(&format!(
        "{COMP}testCompensateSubprocessWithBoundaryEvent.bpmn20.xml"
    )) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({}));
    assert_eq!(waiting_ids(&r), ["undoSubprocess"]);
    r.complete("undoSubprocess");
    r.complete("beforeEnd");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn subprocess_as_compensation_handler() {
    // CompensateEventTest.testSubprocessCompensationHandler: the handler is a sub-process whose
    // task must be completed before the throw goes on to "beforeEnd".
    let Some(xml) = corpus(&format!(
        "{COMP}testSubprocessCompensationHandler.bpmn20.xml"
    )) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({}));
    r.complete("activity");
    assert_eq!(waiting_ids(&r), ["subProcessTask"]);
    r.complete("subProcessTask");
    assert_eq!(waiting_ids(&r), ["beforeEnd"]);
    r.complete("beforeEnd");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn compensate_activity_ref_multi_instance_activity() {
    // CompensateEventTest.testCompensateActivityRefMiActivity: one handler per completed
    // instance of the multi-instance task.
    let Some(xml) = corpus(&format!(
        "{COMP}testCompensateActivityRefMiActivity.bpmn20.xml"
    )) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({}));
    complete_n(&mut r, "bookHotel", 5);
    complete_with(&mut r, "task", json!({"accept": false}));
    assert_eq!(r.engine.waiting(&r.inst).len(), 5);
    complete_n(&mut r, "undoBookHotel", 5);
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn compensate_activity_ref_multi_instance_subprocess() {
    // CompensateEventTest.testCompensateActivityRefMiSubprocess: each completed instance of the
    // sub-process has its inner task compensated.
    let Some(xml) = corpus(&format!(
        "{COMP}testCompensateActivityRefMiSubprocess.bpmn20.xml"
    )) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({}));
    complete_n(&mut r, "bookHotel", 5);
    complete_with(&mut r, "task", json!({"accept": false}));
    assert_eq!(r.engine.waiting(&r.inst).len(), 5);
    complete_n(&mut r, "undoBookHotel", 5);
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn concurrent_multi_instance_activity_is_not_compensated_before_it_completes() {
    // CompensateEventTest.testCompensateConcurrentMiActivity
    let Some(xml) = corpus(&format!(
        "{COMP}testCompensateConcurrentMiActivity.bpmn20.xml"
    )) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({}));
    complete_n(&mut r, "bookHotel", 4);
    complete_with(&mut r, "parallelTask", json!({"accept": false}));
    assert!(!waiting_ids(&r).contains(&"undoBookHotel".to_string()));
    r.complete("bookHotel");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn concurrent_multi_instance_subprocess_is_not_compensated_before_it_completes() {
    // CompensateEventTest.testCompensateConcurrentMiSubprocess
    let Some(xml) = corpus(&format!(
        "{COMP}testCompensateConcurrentMiSubprocess.bpmn20.xml"
    )) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({}));
    complete_n(&mut r, "bookHotel", 4);
    complete_with(&mut r, "parallelTask", json!({"accept": false}));
    assert!(!waiting_ids(&r).contains(&"undoBookHotel".to_string()));
    r.complete("bookHotel");
    r.complete("beforeEnd");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn compensation_end_event_compensates_each_multi_instance_subprocess_instance() {
    // CompensateEventTest.testActivityInstanceTreeForMiSubprocess (compensationMiSubprocess):
    // after the throw, the end event waits and five handlers are active.
    let Some(xml) = corpus(&format!("{COMP}compensationMiSubprocess.bpmn20.xml")) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({}));
    complete_n(&mut r, "bookHotel", 5);
    r.complete("throwCompensation");
    assert_eq!(waiting_ids(&r), vec!["undoBookHotel"; 5]);
    assert_eq!(r.inst.status, Status::Waiting);
    complete_n(&mut r, "undoBookHotel", 5);
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn compensation_event_subprocess_with_scope() {
    // CompensateEventTest.testCompensationEventSubProcessWithScope: the compensation event
    // sub-process compensates the flight, then the hotel, then runs its own task.
    let Some(xml) = corpus(&format!("{COMP}testCompensationEventSubProcess.bpmn20.xml")) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({}));
    r.complete("bookFlight");
    r.complete("bookHotel");
    complete_with(&mut r, "validateBooking", json!({"valid": false}));
    assert_eq!(r.task_names(), ["Cancel Flight"]);
    r.complete("cancelFlight");
    assert_eq!(r.task_names(), ["Cancel Hotel"]);
    r.complete("cancelHotel");
    assert_eq!(r.task_names(), ["Update Customer Record"]);
    r.complete("updateCustomerRecord");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn compensation_event_subprocess_with_activity_ref() {
    // CompensateEventTest.testCompensationEventSubProcessWithActivityRef: only the named
    // sub-process's compensation event sub-process runs.
    let Some(xml) = corpus(&format!(
        "{COMP}testCompensationEventSubProcessWithActivityRef.bpmn20.xml"
    )) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({}));
    r.complete("bookHotel");
    r.complete("bookFlight");
    complete_with(&mut r, "validateBooking", json!({"valid": false}));
    assert_eq!(r.task_names(), ["Cancel Hotel"]);
    r.complete("cancelHotel");
    assert_eq!(r.inst.status, Status::Completed);
    assert_eq!(entered(&r, "cancelFlight"), 0);
}

#[test]
fn compensate_sequential_multi_instance_subprocess_with_compensation_event_subprocess() {
    // CompensateEventTest.testCompensateMiSubprocessWithCompensationEventSubProcess
    let Some(xml) = corpus(&format!(
        "{COMP}testCompensateMiSubprocessWithCompensationEventSubProcess.bpmn20.xml"
    )) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({"flights": ["STS-14", "STS-28"]}));
    r.complete("bookFlight");
    r.complete("bookHotel");
    r.complete("bookFlight");
    r.complete("bookHotel");
    complete_with(&mut r, "validateBooking", json!({"valid": false}));
    complete_n(&mut r, "cancelFlight", 2);
    complete_n(&mut r, "cancelHotel", 2);
    complete_n(&mut r, "updateCustomerRecord", 2);
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn compensate_parallel_multi_instance_subprocess_with_compensation_event_subprocess() {
    // CompensateEventTest.testCompensateParallelMiSubprocessWithCompensationEventSubProcess
    let Some(xml) = corpus(&format!(
        "{COMP}testCompensateParallelMiSubprocessWithCompensationEventSubProcess.bpmn20.xml"
    )) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({"flights": ["STS-14", "STS-28"]}));
    complete_n(&mut r, "bookFlight", 2);
    complete_n(&mut r, "bookHotel", 2);
    complete_with(&mut r, "validateBooking", json!({"valid": false}));
    complete_n(&mut r, "cancelFlight", 2);
    complete_n(&mut r, "cancelHotel", 2);
    complete_n(&mut r, "updateCustomerRecord", 2);
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn compensation_event_subprocess_without_boundary_events() {
    // CompensateEventTest.testCompensationEventSubprocessWithoutBoundaryEvents
    let Some(xml) = corpus(&format!(
        "{COMP}testCompensationEventSubprocessWithoutBoundaryEvents.bpmn20.xml"
    )) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({}));
    r.complete("bookHotel");
    r.complete("bookFlight");
    r.complete("throwCompensation");
    assert_eq!(r.task_names(), ["Cancel Flight"]);
    r.complete("undoBookFlight");
    assert_eq!(r.task_names(), ["Cancel Hotel"]);
    r.complete("undoBookHotel");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn compensation_event_subprocess_rethrows_compensation() {
    // CompensateEventTest.testCompensationEventSubprocessReThrowCompensationEvent: the outer
    // compensation event sub-process throws compensation again, reaching the nested one.
    let Some(xml) = corpus(&format!(
        "{COMP}testCompensationEventSubprocessReThrowCompensationEvent.bpmn20.xml"
    )) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({}));
    r.complete("bookHotel");
    r.complete("bookFlight");
    r.complete("throwCompensation");
    assert_eq!(r.task_names(), ["Cancel Hotel"]);
    r.complete("undoBookHotel");
    assert_eq!(r.task_names(), ["Cancel Flight"]);
    r.complete("undoBookFlight");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn compensation_event_subprocess_consumes_compensation() {
    // CompensateEventTest.testCompensationEventSubprocessConsumeCompensationEvent: without a
    // throw in the outer compensation event sub-process, the nested one never runs.
    let Some(xml) = corpus(&format!(
        "{COMP}testCompensationEventSubprocessConsumeCompensationEvent.bpmn20.xml"
    )) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({}));
    r.complete("bookHotel");
    r.complete("bookFlight");
    r.complete("throwCompensation");
    assert_eq!(r.task_names(), ["Cancel Hotel"]);
    r.complete("undoBookHotel");
    assert_eq!(r.inst.status, Status::Completed);
    assert_eq!(entered(&r, "undoBookFlight"), 0);
}

#[test]
fn pending_compensation_does_not_keep_the_process_alive() {
    // CompensateEventTest.testConcurrentExecutionsAndPendingCompensation: after the sub-process
    // completed (its task stays compensable), only task1 and task2 remain; then it ends.
    let Some(xml) = corpus(&format!(
        "{COMP}testConcurrentExecutionsAndPendingCompensation.bpmn20.xml"
    )) else {
        return;
    };
    no_compensation_problem(&xml);
    let mut r = Run::start(&xml, json!({}));
    r.complete("innerTask");
    assert_eq!(waiting_ids(&r), ["task1", "task2"]);
    r.complete("task1");
    assert_eq!(waiting_ids(&r), ["task2"]);
    r.complete("task2");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn completed_transaction_leaves_no_compensation_running() {
    // CompensateEventTest.testActivityInstanceTreeWithoutEventScope: after the transaction
    // completed only "task" is active.
    let Some(xml) = corpus(&format!(
        "{COMP}testActivityInstanceTreeWithoutEventScope.bpmn20.xml"
    )) else {
        return;
    };
    let mut r = Run::start(&xml, json!({}));
    r.complete("innerTask");
    assert_eq!(waiting_ids(&r), ["task"]);
    r.complete("task");
    assert_eq!(r.inst.status, Status::Completed);
}

#[test]
fn compensation_boundary_before_or_after_its_task_deploys_and_runs() {
    // CompensateEventTest.testCompensateOrder: both models deploy whatever the element order
    // (their boundary has no handler, so the throw compensates nothing and goes on).
    for file in [
        "compensation_reference-before.bpmn",
        "compensation_reference-after.bpmn",
    ] {
        let Some(xml) = corpus(&format!("event/compensate/{file}")) else {
            return;
        };
        let r = Run::start(&xml, json!({}));
        assert_eq!(r.inst.status, Status::Completed, "{file}");
    }
}

#[test]
fn invalid_compensation_models_are_rejected_with_a_position() {
    // CompensationEventParseInvalidProcessTest: each model is refused, naming the element.
    for (file, element, needle) in [
        (
            "multipleCompensationEventSubProcesses",
            "compensationScope2",
            "more than one event sub-process started by compensation",
        ),
        (
            "compensationEventSubProcessesAtProcessLevel",
            "compensationScope",
            "only inside an embedded sub-process",
        ),
        (
            "compensationEventSubprocessAndBoundaryEvent",
            "subprocess",
            "both a compensation boundary event and an event sub-process",
        ),
        (
            "invalidOutgoingSequenceflow",
            "undoTask",
            "has an outgoing sequence flow",
        ),
        (
            "invalidIncomingSequenceflow",
            "task",
            "has an incoming sequence flow",
        ),
    ] {
        let Some(xml) = corpus(&format!(
            "event/compensate/CompensationEventParseInvalidProcessTest.{file}.bpmn20.xml"
        )) else {
            return;
        };
        let problems = Engine::new(parse(&[("m.bpmn", &xml)]).expect("parses"))
            .err()
            .unwrap_or_else(|| panic!("{file} must be refused"));
        let p = problems
            .iter()
            .find(|p| p.element_id.as_deref() == Some(element) && p.message.contains(needle))
            .unwrap_or_else(|| {
                panic!("{file}: no problem on '{element}' with '{needle}': {problems:#?}")
            });
        assert_eq!(p.severity, baton_engine::Severity::Error, "{file}");
        assert!(p.line > 1 && p.column >= 1, "{file}: {p:?}");
    }
}
