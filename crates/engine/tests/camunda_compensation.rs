//! Camunda 7's compensation test models (CompensateEventTest), run by Baton with the expectations
//! of Camunda's JUnit tests. The models are read from ../shared/corpora/camunda7 at run time;
//! without it each test says it skipped. Each test names the Camunda test method it mirrors.

mod common;

use baton_engine::{parse, Effect, Engine, Event, Status};
use common::{corpus, Run};
use serde_json::{json, Value};

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
        r.submit(task_id);
    }
}

/// Completes a task with variables (Camunda's `completeTaskWithVariable`). Camunda's task
/// variables are process variables, where a plain submission lands in `lastUserTaskResult`
/// only (seed 002): they are given as variables.
fn complete_with(r: &mut Run, task_id: &str, data: Value) {
    let Value::Object(variables) = data.clone() else {
        panic!("task variables are an object: {data}");
    };
    r.apply(Event::CompleteTaskWithVariables {
        task_id: Some(task_id.into()),
        data,
        variables,
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
    r.submit("bookHotel");
    r.submit("bookFlight");
    r.submit("throwCompensation");
    assert_eq!(r.task_names(), ["Cancel Flight", "Cancel Hotel"]);
    r.submit("undoBookHotel");
    assert_eq!(
        r.inst.status,
        Status::Waiting,
        "the throw waits for every handler"
    );
    r.submit("undoBookFlight");
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
    r.submit("scopeTask");
    r.submit("beforeCompensate");
    assert_eq!(waiting_ids(&r), ["undoScopeTask"]);
    r.submit("undoScopeTask");
    r.submit("beforeEnd");
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
    r.submit("scopeTask");
    r.submit("outerTask");
    r.submit("beforeCompensate");
    assert_eq!(waiting_ids(&r), ["undoScopeTask"]);
    r.submit("undoScopeTask");
    r.submit("beforeEnd");
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
    r.submit("undoSubprocess");
    r.submit("beforeEnd");
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
    r.submit("activity");
    assert_eq!(waiting_ids(&r), ["subProcessTask"]);
    r.submit("subProcessTask");
    assert_eq!(waiting_ids(&r), ["beforeEnd"]);
    r.submit("beforeEnd");
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
    r.submit("bookHotel");
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
    r.submit("bookHotel");
    r.submit("beforeEnd");
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
    r.submit("throwCompensation");
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
    r.submit("bookFlight");
    r.submit("bookHotel");
    complete_with(&mut r, "validateBooking", json!({"valid": false}));
    assert_eq!(r.task_names(), ["Cancel Flight"]);
    r.submit("cancelFlight");
    assert_eq!(r.task_names(), ["Cancel Hotel"]);
    r.submit("cancelHotel");
    assert_eq!(r.task_names(), ["Update Customer Record"]);
    r.submit("updateCustomerRecord");
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
    r.submit("bookHotel");
    r.submit("bookFlight");
    complete_with(&mut r, "validateBooking", json!({"valid": false}));
    assert_eq!(r.task_names(), ["Cancel Hotel"]);
    r.submit("cancelHotel");
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
    r.submit("bookFlight");
    r.submit("bookHotel");
    r.submit("bookFlight");
    r.submit("bookHotel");
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
    r.submit("bookHotel");
    r.submit("bookFlight");
    r.submit("throwCompensation");
    assert_eq!(r.task_names(), ["Cancel Flight"]);
    r.submit("undoBookFlight");
    assert_eq!(r.task_names(), ["Cancel Hotel"]);
    r.submit("undoBookHotel");
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
    r.submit("bookHotel");
    r.submit("bookFlight");
    r.submit("throwCompensation");
    assert_eq!(r.task_names(), ["Cancel Hotel"]);
    r.submit("undoBookHotel");
    assert_eq!(r.task_names(), ["Cancel Flight"]);
    r.submit("undoBookFlight");
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
    r.submit("bookHotel");
    r.submit("bookFlight");
    r.submit("throwCompensation");
    assert_eq!(r.task_names(), ["Cancel Hotel"]);
    r.submit("undoBookHotel");
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
    r.submit("innerTask");
    assert_eq!(waiting_ids(&r), ["task1", "task2"]);
    r.submit("task1");
    assert_eq!(waiting_ids(&r), ["task2"]);
    r.submit("task2");
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
    r.submit("innerTask");
    assert_eq!(waiting_ids(&r), ["task"]);
    r.submit("task");
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
