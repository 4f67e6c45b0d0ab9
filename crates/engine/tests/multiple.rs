//! BPMN "multiple" events (several event definitions on one event): a catch event, a boundary
//! event and an event sub-process start go on at the first of their events, an intermediate
//! catch marked `parallelMultiple` once all of them happened, a throw sends each of its
//! messages and signals, and a process starts on any message or signal of its multiple start
//! event. What a multiple event cannot hold is refused at deploy with its position.

mod common;
use baton_engine::{Effect, Event, Severity, Status};
use common::*;
use serde_json::{json, Map};

const DECLS: &str = r#"<bpmn:message id="Paid" name="paid"/><bpmn:signal id="Stop" name="stop"/>"#;
const PAID: &str = r#"<bpmn:messageEventDefinition messageRef="Paid"/>"#;
const STOP: &str = r#"<bpmn:signalEventDefinition signalRef="Stop"/>"#;
const HOUR: &str = r#"<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>"#;

fn paid() -> Event {
    Event::Message {
        name: "paid".into(),
        correlation_key: None,
        variables: Map::new(),
    }
}

fn stop() -> Event {
    Event::Signal {
        name: "stop".into(),
        variables: Map::new(),
    }
}

/// start -> catch (`defs`, `attrs` on the event) -> end.
fn catching(attrs: &str, defs: &str) -> String {
    model_with(
        DECLS,
        &format!(
            r#"<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="wait" {attrs}>{defs}</bpmn:intermediateCatchEvent><bpmn:endEvent id="e"/>{}{}"#,
            flow("f1", "s", "wait"),
            flow("f2", "wait", "e"),
        ),
    )
}

#[test]
fn a_multiple_catch_event_goes_on_at_the_first_of_its_events_and_drops_the_rest() {
    let xml = catching("", &format!("{PAID}{STOP}{HOUR}"));
    // The message first: the signal and the timer no longer wait.
    let mut h = H::start(&xml, json!({}));
    assert_eq!(h.inst.status, Status::Waiting);
    assert!(h.engine.next_timer(&h.inst).is_some());
    h.apply(paid()).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.engine.next_timer(&h.inst), None);
    assert!(
        h.apply(stop()).is_err(),
        "nothing waits for the signal any more"
    );

    // The hour passes first: the timer takes it.
    let mut h = H::start(&xml, json!({}));
    h.advance(3600);
    assert_eq!(h.inst.status, Status::Completed);
    assert!(
        h.apply(paid()).is_err(),
        "nothing waits for the message any more"
    );
}

#[test]
fn a_parallel_multiple_catch_event_waits_for_all_of_its_events() {
    let xml = catching(r#"parallelMultiple="true""#, &format!("{PAID}{STOP}"));
    let mut h = H::start(&xml, json!({}));
    h.apply(stop()).unwrap();
    assert_eq!(
        h.inst.status,
        Status::Waiting,
        "the message has not come yet"
    );
    assert_eq!(h.visits("e"), 0);
    // The same signal again changes nothing: it happened already.
    assert!(h.apply(stop()).is_err());
    h.apply(paid()).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.path(), ["s", "wait", "e"]);
}

#[test]
fn a_multiple_boundary_event_interrupts_its_task_at_the_first_of_its_events() {
    let xml = model_with(
        DECLS,
        &format!(
            r#"<bpmn:startEvent id="s"/><bpmn:userTask id="work"/><bpmn:boundaryEvent id="b" attachedToRef="work">{PAID}{HOUR}</bpmn:boundaryEvent><bpmn:endEvent id="done"/><bpmn:endEvent id="interrupted"/>{}{}{}"#,
            flow("f1", "s", "work"),
            flow("f2", "work", "done"),
            flow("f3", "b", "interrupted"),
        ),
    );
    let mut h = H::start(&xml, json!({}));
    h.advance(3600);
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.visits("interrupted"), 1);
    assert_eq!(h.visits("done"), 0);
    assert!(
        h.apply(paid()).is_err(),
        "the message boundary went with the task"
    );

    let mut h = H::start(&xml, json!({}));
    h.apply(paid()).unwrap();
    assert_eq!(h.visits("interrupted"), 1);
    assert_eq!(
        h.engine.next_timer(&h.inst),
        None,
        "the timer went with the task"
    );
}

#[test]
fn a_multiple_event_sub_process_start_runs_on_either_event() {
    let xml = model_with(
        DECLS,
        &format!(
            r#"<bpmn:startEvent id="s"/><bpmn:userTask id="work"/><bpmn:endEvent id="done"/>
<bpmn:subProcess id="esp" triggeredByEvent="true"><bpmn:startEvent id="esStart">{PAID}{STOP}</bpmn:startEvent><bpmn:endEvent id="esEnd"/>{}</bpmn:subProcess>{}{}"#,
            flow("e1", "esStart", "esEnd"),
            flow("f1", "s", "work"),
            flow("f2", "work", "done"),
        ),
    );
    for event in [paid(), stop()] {
        let mut h = H::start(&xml, json!({}));
        h.apply(event).unwrap();
        assert_eq!(
            h.inst.status,
            Status::Completed,
            "interrupting: the task is cancelled"
        );
        assert_eq!(h.visits("esEnd"), 1);
        assert_eq!(h.visits("done"), 0);
    }
}

#[test]
fn a_multiple_throw_event_sends_each_of_its_messages_and_signals() {
    let xml = model_with(
        DECLS,
        &format!(
            r#"<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="tell">{PAID}{STOP}</bpmn:intermediateThrowEvent><bpmn:endEvent id="bye">{STOP}{PAID}</bpmn:endEvent>{}{}"#,
            flow("f1", "s", "tell"),
            flow("f2", "tell", "bye"),
        ),
    );
    let h = H::start(&xml, json!({}));
    assert_eq!(h.inst.status, Status::Completed);
    let thrown: Vec<String> = h
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::MessageThrown {
                element_id, name, ..
            } => Some(format!("{element_id}: message {name}")),
            Effect::SignalThrown {
                element_id, name, ..
            } => Some(format!("{element_id}: signal {name}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        thrown,
        [
            "tell: message paid",
            "tell: signal stop",
            "bye: signal stop",
            "bye: message paid"
        ]
    );
}

#[test]
fn a_multiple_start_event_starts_the_process_on_any_of_its_messages_and_signals() {
    let xml = model_with(
        DECLS,
        &format!(
            r#"<bpmn:startEvent id="s">{PAID}{STOP}</bpmn:startEvent><bpmn:endEvent id="e"/>{}"#,
            flow("f1", "s", "e"),
        ),
    );
    let h = H::start(&xml, json!({}));
    let on = |kind: &str, name: &str| h.engine.starts_on(kind, name);
    assert_eq!(on("message", "paid"), [("p".to_string(), "s".to_string())]);
    assert_eq!(on("signal", "stop"), [("p".to_string(), "s".to_string())]);
    assert!(on("message", "stop").is_empty());
}

#[test]
fn what_a_multiple_event_cannot_hold_is_refused_naming_the_event() {
    let error = |xml: &str, id: &str, needle: &str| {
        let p = problem_on(xml, id, needle);
        assert_eq!(p.severity, Severity::Error, "{p:?}");
        assert!(p.line >= 1 && p.column >= 1, "{p:?}");
    };
    // A throw cannot wait for an hour.
    let throw = model_with(
        DECLS,
        &format!(
            r#"<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="t">{PAID}{HOUR}</bpmn:intermediateThrowEvent><bpmn:endEvent id="e"/>{}{}"#,
            flow("f1", "s", "t"),
            flow("f2", "t", "e"),
        ),
    );
    error(&throw, "t", "has a timer definition among several");
    // A catch cannot terminate.
    let catch = catching("", &format!("{PAID}<bpmn:terminateEventDefinition/>"));
    error(&catch, "wait", "has a terminate definition among several");
    // Parallel multiple only on an intermediate catch event.
    let boundary = model_with(
        DECLS,
        &format!(
            r#"<bpmn:startEvent id="s"/><bpmn:userTask id="work"/><bpmn:boundaryEvent id="b" attachedToRef="work" parallelMultiple="true">{PAID}{STOP}</bpmn:boundaryEvent><bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/>{}{}{}"#,
            flow("f1", "s", "work"),
            flow("f2", "work", "e"),
            flow("f3", "b", "e2"),
        ),
    );
    error(&boundary, "b", "parallel multiple");
    // A process's own multiple start: messages and signals only.
    let start = model_with(
        DECLS,
        &format!(
            r#"<bpmn:startEvent id="s">{PAID}{HOUR}</bpmn:startEvent><bpmn:endEvent id="e"/>{}"#,
            flow("f1", "s", "e"),
        ),
    );
    error(&start, "s", "multiple start event with a timer");
    // What runs says nothing about "multiple".
    let fine = catching(r#"parallelMultiple="true""#, &format!("{PAID}{STOP}{HOUR}"));
    let ps = problems(&fine);
    assert!(
        ps.iter().all(|p| !p.message.contains("multiple")),
        "{ps:#?}"
    );
}

#[test]
fn a_non_interrupting_multiple_boundary_with_a_cycle_fires_at_each_repetition() {
    let xml = model_with(
        DECLS,
        &format!(
            r#"<bpmn:startEvent id="s"/><bpmn:userTask id="work"/><bpmn:boundaryEvent id="remind" attachedToRef="work" cancelActivity="false">{PAID}<bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:endEvent id="done"/><bpmn:endEvent id="reminded"/>{}{}{}"#,
            flow("f1", "s", "work"),
            flow("f2", "work", "done"),
            flow("f3", "remind", "reminded"),
        ),
    );
    let mut h = H::start(&xml, json!({}));
    h.advance(5 * 3600);
    assert_eq!(h.visits("reminded"), 3, "R3: three reminders");
    h.apply(paid()).unwrap();
    assert_eq!(
        h.visits("reminded"),
        4,
        "and the message, which stays subscribed"
    );
    h.submit("work");
    assert_eq!(h.inst.status, Status::Completed);
}
