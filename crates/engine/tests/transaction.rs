//! Transactions: a cancel end event cancels what else runs in its transaction, compensates what
//! completed there (the last completed first), then leaves by the transaction's cancel boundary
//! event; and the places a cancel event may not stand are refused at deploy with a position.
//! Camunda 7's TransactionSubProcessTest models are read from ../shared/corpora when it is there.

mod common;
use baton_engine::validate::validate_stored;
use baton_engine::{parse, Effect, Event, Severity, Status};
use common::undo::*;
use common::*;
use serde_json::json;

/// A booking transaction: the hotel and the flight are booked (scripts with script handlers),
/// then a review decides (`ok`); meanwhile an approval waits and a one-hour reminder timer runs.
/// A review that is not ok reaches the cancel end event; the cancel boundary leads to
/// `afterCancel`, which may then throw compensation at process level (`compensateAfter`).
fn booking() -> String {
    let tx = format!(
        r#"<bpmn:transaction id="tx">
<bpmn:startEvent id="txStart"/>
<bpmn:parallelGateway id="fork"/>
{hotel}
{flight}
<bpmn:userTask id="review"/>
<bpmn:exclusiveGateway id="decide" default="toCancel"/>
<bpmn:endEvent id="txEnd"/>
<bpmn:endEvent id="cancelEnd"><bpmn:cancelEventDefinition/></bpmn:endEvent>
<bpmn:userTask id="approve"/>
<bpmn:endEvent id="approved"/>
<bpmn:intermediateCatchEvent id="reminder"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:endEvent id="reminded"/>
{t1}{t2}{t3}{t4}{t5}{t6}{t7}{t8}{t9}{t10}{t11}
</bpmn:transaction>"#,
        hotel = compensable("bookHotel", "undoHotel", ""),
        flight = compensable("bookFlight", "undoFlight", ""),
        t1 = flow("t1", "txStart", "fork"),
        t2 = flow("t2", "fork", "bookHotel"),
        t3 = flow("t3", "bookHotel", "bookFlight"),
        t4 = flow("t4", "bookFlight", "review"),
        t5 = flow("t5", "review", "decide"),
        t6 = cflow("t6", "decide", "txEnd", "ok == true"),
        t7 = flow("toCancel", "decide", "cancelEnd"),
        t8 = flow("t8", "fork", "approve"),
        t9 = flow("t9", "approve", "approved"),
        t10 = flow("t10", "fork", "reminder"),
        t11 = flow("t11", "reminder", "reminded"),
    );
    model(&format!(
        r#"<bpmn:startEvent id="start"/>
{tx}
<bpmn:boundaryEvent id="txCancelled" attachedToRef="tx"><bpmn:cancelEventDefinition/></bpmn:boundaryEvent>
<bpmn:userTask id="afterCancel"/>
<bpmn:exclusiveGateway id="again" default="toEnd"/>
<bpmn:intermediateThrowEvent id="compensateAfter"><bpmn:compensateEventDefinition/></bpmn:intermediateThrowEvent>
<bpmn:userTask id="afterTx"/>
<bpmn:endEvent id="end"/>
{f1}{f2}{f3}{f4}{f5}{f6}{f7}{f8}"#,
        f1 = flow("f1", "start", "tx"),
        f2 = flow("f2", "tx", "afterTx"),
        f3 = flow("f3", "afterTx", "end"),
        f4 = flow("f4", "txCancelled", "afterCancel"),
        f5 = flow("f5", "afterCancel", "again"),
        f6 = cflow("f6", "again", "compensateAfter", "compensate == true"),
        f7 = flow("toEnd", "again", "end"),
        f8 = flow("f8", "compensateAfter", "end"),
    ))
}

fn cancelled(h: &H) -> Vec<String> {
    let mut v: Vec<String> = h
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::ElementCancelled { element_id } => Some(element_id.clone()),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_cancel_end_event_cancels_the_rest_compensates_last_first_and_leaves_by_the_boundary() {
    let mut h = H::start(
        &booking(),
        json!({"log": [], "ok": false, "compensate": false}),
    );
    assert_eq!(h.waiting(), ["approve", "reminder", "review"]);
    assert!(h.engine.next_timer(&h.inst).is_some(), "the reminder waits");
    h.complete("review", json!({})).unwrap();

    // The approval and the reminder ended cancelled, and so did the transaction itself.
    assert_eq!(cancelled(&h), ["approve", "reminder", "tx"]);
    assert_eq!(h.engine.next_timer(&h.inst), None, "no timer is left");
    // What completed in the transaction was undone, the last completed first.
    assert_eq!(
        log(&h),
        ["bookHotel", "bookFlight", "undoFlight", "undoHotel"]
    );
    // The cancel end event completes after the handlers; the transaction never completes.
    let hist = history(&h);
    let at = |w: &str| position(&hist, w);
    assert!(at("-undoHotel") < at("-cancelEnd"), "{hist:?}");
    assert!(at("-cancelEnd") < at("+txCancelled"), "{hist:?}");
    assert!(!hist.contains(&"-tx".to_string()), "{hist:?}");
    assert_eq!(h.waiting(), ["afterCancel"]);
    h.submit("afterCancel");
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.visits("afterTx"), 0);
}

#[test]
fn a_transaction_that_is_not_cancelled_completes_and_leaves_by_its_flow() {
    let mut h = H::start(&booking(), json!({"log": [], "ok": true}));
    h.complete("review", json!({})).unwrap();
    h.submit("approve");
    assert_eq!(h.waiting(), ["reminder"]);
    h.advance(3600);
    assert_eq!(h.waiting(), ["afterTx"]);
    assert!(cancelled(&h).is_empty(), "{:?}", cancelled(&h));
    assert_eq!(log(&h), ["bookHotel", "bookFlight"]);
    h.submit("afterTx");
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.visits("txCancelled"), 0);
}

#[test]
fn a_cancelled_transaction_is_not_compensated_again_from_outside() {
    let mut h = H::start(
        &booking(),
        json!({"log": [], "ok": false, "compensate": true}),
    );
    h.complete("review", json!({})).unwrap();
    h.submit("afterCancel");
    assert_eq!(h.inst.status, Status::Completed);
    // The process-level throw found nothing: the cancelled transaction did not complete.
    assert_eq!(
        log(&h),
        ["bookHotel", "bookFlight", "undoFlight", "undoHotel"]
    );
    assert_eq!(h.visits("compensateAfter"), 1);
}

#[test]
fn a_cancel_with_nothing_to_compensate_leaves_at_once() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="start"/>
<bpmn:transaction id="tx">
<bpmn:startEvent id="txStart"/>
<bpmn:endEvent id="cancelEnd"><bpmn:cancelEventDefinition/></bpmn:endEvent>
{t1}
</bpmn:transaction>
<bpmn:boundaryEvent id="txCancelled" attachedToRef="tx"><bpmn:cancelEventDefinition/></bpmn:boundaryEvent>
<bpmn:endEvent id="normal"/>
<bpmn:endEvent id="aborted"/>
{f1}{f2}{f3}"#,
        t1 = flow("t1", "txStart", "cancelEnd"),
        f1 = flow("f1", "start", "tx"),
        f2 = flow("f2", "tx", "normal"),
        f3 = flow("f3", "txCancelled", "aborted"),
    ));
    let h = H::start(&xml, json!({}));
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.visits("aborted"), 1);
    assert_eq!(h.visits("normal"), 0);
    assert_eq!(cancelled(&h), ["tx"]);
}

#[test]
fn camunda_compensate_subprocess_in_a_cancelled_transaction() {
    // TransactionSubProcessTest.testCompensateSubprocess: the cancel end event compensates the
    // sub-process completed in the transaction (its inner task's handler, a user task), and once
    // that handler is done the instance leaves by the cancel boundary event to "afterCancel".
    let Some(xml) = corpus(
        "subprocess/transaction/TransactionSubProcessTest.testCompensateSubprocess.bpmn20.xml",
    ) else {
        return;
    };
    let mut r = Run::start(&xml, json!({}));
    assert_eq!(r.waiting(), ["innerTask"]);
    r.submit("innerTask");
    // Camunda sets the variables on the instance before completing the task.
    r.apply(Event::SetVariables {
        variables: vars(json!({"cancelTx": true, "compensate": false})),
    })
    .unwrap();
    r.submit("beforeCancel");
    assert_eq!(r.waiting(), ["undoInnerTask"]);
    assert_eq!(r.inst.status, Status::Waiting);
    r.submit("undoInnerTask");
    assert_eq!(r.waiting(), ["afterCancel"]);
    r.submit("afterCancel");
    assert_eq!(r.inst.status, Status::Completed);
    assert_eq!(r.visits("afterTx"), 0);
}

#[test]
fn camunda_compensate_subprocess_after_a_completed_transaction() {
    // The same model's other way: the transaction completes, and a compensation thrown after it
    // undoes the inner task of the sub-process that completed inside it.
    let Some(xml) = corpus(
        "subprocess/transaction/TransactionSubProcessTest.testCompensateSubprocess.bpmn20.xml",
    ) else {
        return;
    };
    let mut r = Run::start(&xml, json!({"cancelTx": false, "compensate": true}));
    r.submit("innerTask");
    r.submit("beforeCancel");
    assert_eq!(r.waiting(), ["afterTx"]);
    r.submit("afterTx");
    assert_eq!(r.waiting(), ["undoInnerTask"]);
    r.submit("undoInnerTask");
    assert_eq!(r.inst.status, Status::Completed);
    assert_eq!(r.visits("afterCancel"), 0);
}

// ----- where a cancel event may stand ---------------------------------------------------------

#[test]
fn camunda_cancel_events_outside_a_transaction_are_refused() {
    // TransactionSubProcessTest.testCancelEndNoTransactionFails and
    // testCancelBoundaryNoTransactionFails: both deployments fail.
    for (file, id, needle) in [
        (
            "testCancelEndNoTransactionFails",
            "failure",
            "is not directly inside a transaction",
        ),
        (
            "testCancelBoundaryNoTransactionFails",
            "catchCancelTx",
            "is not attached to a transaction",
        ),
    ] {
        let Some(xml) = corpus(&format!(
            "subprocess/transaction/TransactionSubProcessTest.{file}.bpmn20.xml"
        )) else {
            return;
        };
        let p = problem_on(&xml, id, needle);
        assert_eq!(p.severity, Severity::Error, "{file}: {p:?}");
        assert!(p.line > 1, "{file}: {p:?}");
        assert!(H::try_start(&xml, json!({})).is_err(), "{file} deploys");
    }
}

/// A transaction `tx` holding `inner`, with `boundaries` attached, in a process.
fn transaction(inner: &str, boundaries: &str) -> String {
    model(&format!(
        r#"<bpmn:startEvent id="start"/>
<bpmn:transaction id="tx"><bpmn:startEvent id="txStart"/>{inner}</bpmn:transaction>
{boundaries}
<bpmn:endEvent id="end"/>
{f1}{f2}"#,
        f1 = flow("f1", "start", "tx"),
        f2 = flow("f2", "tx", "end"),
    ))
}

const CANCEL_END: &str = r#"<bpmn:endEvent id="cancelEnd"><bpmn:cancelEventDefinition/></bpmn:endEvent><bpmn:sequenceFlow id="t1" sourceRef="txStart" targetRef="cancelEnd"/>"#;

fn cancel_boundary(id: &str) -> String {
    format!(
        r#"<bpmn:boundaryEvent id="{id}" attachedToRef="tx"><bpmn:cancelEventDefinition/></bpmn:boundaryEvent><bpmn:endEvent id="{id}End"/><bpmn:sequenceFlow id="{id}Flow" sourceRef="{id}" targetRef="{id}End"/>"#
    )
}

#[test]
fn misplaced_cancel_events_are_refused_naming_the_element() {
    // A transaction cancelled with no cancel boundary event to leave by.
    let p = problem_on(
        &transaction(CANCEL_END, ""),
        "cancelEnd",
        "no cancel boundary event",
    );
    assert_eq!(p.severity, Severity::Error);
    assert!(p.message.contains("attach one to 'tx'"), "{p:?}");
    // Two cancel boundary events on one transaction.
    let two = format!("{}{}", cancel_boundary("c1"), cancel_boundary("c2"));
    problem_on(
        &transaction(CANCEL_END, &two),
        "c1",
        "more than one cancel boundary",
    );
    // A cancel end event in a sub-process inside the transaction is not directly inside it.
    let nested = format!(
        r#"<bpmn:subProcess id="inner"><bpmn:startEvent id="s"/><bpmn:endEvent id="cancelEnd"><bpmn:cancelEventDefinition/></bpmn:endEvent>{}</bpmn:subProcess>{}"#,
        flow("i1", "s", "cancelEnd"),
        flow("t0", "txStart", "inner"),
    );
    problem_on(
        &transaction(&nested, &cancel_boundary("c1")),
        "cancelEnd",
        "is not directly inside a transaction",
    );
    // A cancel intermediate throw event is no BPMN event at all.
    let throw = r#"<bpmn:intermediateThrowEvent id="oops"><bpmn:cancelEventDefinition/></bpmn:intermediateThrowEvent><bpmn:sequenceFlow id="t1" sourceRef="txStart" targetRef="oops"/>"#;
    problem_on(
        &transaction(throw, &cancel_boundary("c1")),
        "oops",
        "can only be an end event inside a transaction or a boundary event",
    );
    // The well-placed pair has no problem about cancelling.
    let ok = problems(&transaction(CANCEL_END, &cancel_boundary("c1")));
    assert!(ok.iter().all(|p| !p.message.contains("cancel")), "{ok:#?}");
}

#[test]
fn a_stored_definition_with_a_misplaced_cancel_event_still_loads_with_a_warning() {
    let d = parse(&[("m.bpmn", transaction(CANCEL_END, "").as_str())]).unwrap();
    let ps = validate_stored(&d, &[]);
    let p = ps
        .iter()
        .find(|p| p.element_id.as_deref() == Some("cancelEnd"))
        .expect("a problem on cancelEnd");
    assert_eq!(p.severity, Severity::Warning, "{p:?}");
}

#[test]
fn a_cancel_end_event_without_a_boundary_in_a_stored_definition_is_an_incident() {
    // Deployed before the check: the instance stops at the event with an incident that says
    // why, instead of leaving the transaction half cancelled.
    let d = parse(&[("m.bpmn", transaction(CANCEL_END, "").as_str())]).unwrap();
    let (engine, _) = baton_engine::Engine::reload(d).expect("a stored definition reloads");
    let clock = baton_engine::VirtualClock::new(baton_engine::VirtualClock::default_start());
    let ctx = baton_engine::Ctx {
        clock: &clock,
        user: None,
        enforce_access: false,
        bus: None,
    };
    let (inst, _) = engine.start(None, Default::default(), &ctx).unwrap();
    assert_eq!(inst.status, Status::Failed);
    let incidents = engine.incidents(&inst);
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0].element_id, "cancelEnd");
    assert!(
        incidents[0].message.contains("nowhere to leave by"),
        "{incidents:?}"
    );
}

#[test]
fn a_cancelled_instance_of_a_multi_instance_transaction_leaves_the_whole_activity() {
    // Each instance is a transaction of its own: the second one's cancel undoes its own booking
    // (not the first instance's), and the activity is left as a whole by the boundary on it;
    // the third instance never starts.
    let xml = model(&format!(
        r#"<bpmn:startEvent id="start"/>
<bpmn:transaction id="tx">
<bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:loopCardinality>3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>
<bpmn:startEvent id="txStart"/>
{book}
<bpmn:userTask id="review"/>
<bpmn:exclusiveGateway id="decide" default="toEnd"/>
<bpmn:endEvent id="txEnd"/>
<bpmn:endEvent id="cancelEnd"><bpmn:cancelEventDefinition/></bpmn:endEvent>
{t1}{t2}{t3}{t4}{t5}
</bpmn:transaction>
<bpmn:boundaryEvent id="txCancelled" attachedToRef="tx"><bpmn:cancelEventDefinition/></bpmn:boundaryEvent>
<bpmn:userTask id="afterCancel"/>
<bpmn:endEvent id="end"/>
{f1}{f2}{f3}"#,
        book = compensable("book", "undo", ""),
        t1 = flow("t1", "txStart", "book"),
        t2 = flow("t2", "book", "review"),
        t3 = flow("t3", "review", "decide"),
        t4 = cflow("t4", "decide", "cancelEnd", "loopCounter == 1"),
        t5 = flow("toEnd", "decide", "txEnd"),
        f1 = flow("f1", "start", "tx"),
        f2 = flow("f2", "tx", "end"),
        f3 = flow("f3", "txCancelled", "afterCancel"),
    ));
    let mut h = H::start(&xml, json!({"log": []}));
    h.submit("review");
    h.submit("review");
    assert_eq!(log(&h), ["book", "book", "undo"]);
    assert_eq!(h.waiting(), ["afterCancel"]);
    assert_eq!(h.visits("txStart"), 2);
    assert!(
        cancelled(&h).contains(&"tx".to_string()),
        "{:?}",
        cancelled(&h)
    );
    h.submit("afterCancel");
    assert_eq!(h.inst.status, Status::Completed);
}
