//! Many subscriptions of one instance handled in one command: timers due at once fire earliest
//! first, whatever fires first may cancel the others, removed subscriptions are never written
//! nor seen again, and a signal reaches every catch event that waits for it. (The engine marks a
//! removed subscription and compacts later, so that these cost N log N, not N²; the
//! `timers due at once` group of `cargo bench -p baton-engine --bench multi_instance`
//! measures it.)
mod common;

use baton_engine::{Clock, Effect, Event, Instance, Status};
use common::{flow, model, model_with, H};
use serde_json::{json, Map, Value};

fn timer_catch(id: &str, duration: &str) -> String {
    format!(
        r#"<bpmn:intermediateCatchEvent id="{id}"><bpmn:timerEventDefinition><bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"#
    )
}

/// A parallel sub-process of `${n}` inner instances; `inner` is its body between `is` and `ie`
/// (it must use `is` and `ie` in its flows).
fn mi_sub(inner: &str) -> String {
    model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:subProcess id="a"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>${{n}}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics><bpmn:startEvent id="is"/>{inner}<bpmn:endEvent id="ie"/></bpmn:subProcess><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "a"),
        flow("f2", "a", "e")
    ))
}

fn completed(h: &H, id: &str) -> usize {
    h.effects
        .iter()
        .filter(|e| matches!(e, Effect::ElementCompleted { element_id } if element_id == id))
        .count()
}

/// The subscriptions a stored state holds.
fn stored_subs(inst: &Instance) -> usize {
    serde_json::to_value(inst).unwrap()["subs"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn thousands_of_timers_due_at_once_fire_in_one_command() {
    let xml = mi_sub(&format!(
        "{}{}{}",
        timer_catch("w", "PT1H"),
        flow("g1", "is", "w"),
        flow("g2", "w", "ie")
    ));
    let mut h = H::start(&xml, json!({"n": 5000}));
    assert_eq!(h.inst.status, Status::Waiting);
    assert_eq!(stored_subs(&h.inst), 5000);
    h.clock
        .set(h.clock.now() + jiff::SignedDuration::from_hours(2));
    h.apply(Event::TimersDue).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(completed(&h, "w"), 5000);
    assert_eq!(stored_subs(&h.inst), 0);
}

/// Each inner instance waits on two timers in parallel (1 h and 2 h). After 90 minutes the
/// first of each fired: their subscriptions are gone from the state, the others stay and fire
/// later, also after the state was written and read back.
#[test]
fn fired_timers_leave_the_state_and_the_rest_fire_after_a_reload() {
    let inner = format!(
        r#"<bpmn:parallelGateway id="fork"/>{}{}<bpmn:parallelGateway id="join"/>{}{}{}{}{}{}"#,
        timer_catch("one", "PT1H"),
        timer_catch("two", "PT2H"),
        flow("g1", "is", "fork"),
        flow("g2", "fork", "one"),
        flow("g3", "fork", "two"),
        flow("g4", "one", "join"),
        flow("g5", "two", "join"),
        flow("g6", "join", "ie")
    );
    let mut h = H::start(&mi_sub(&inner), json!({"n": 300}));
    assert_eq!(stored_subs(&h.inst), 600);
    h.clock
        .set(h.clock.now() + jiff::SignedDuration::from_mins(90));
    h.apply(Event::TimersDue).unwrap();
    assert_eq!((completed(&h, "one"), completed(&h, "two")), (300, 0));
    assert_eq!(h.inst.status, Status::Waiting);
    let stored = serde_json::to_value(&h.inst).unwrap();
    let subs = stored["subs"].as_array().unwrap();
    assert_eq!(subs.len(), 300, "only the 2 h timers are written");
    // Read back, the state goes on where it stood.
    h.inst = serde_json::from_value(stored).unwrap();
    assert_eq!(h.engine.next_timer(&h.inst), {
        let started = baton_engine::VirtualClock::default_start();
        Some(started + jiff::SignedDuration::from_hours(2))
    });
    h.clock
        .set(h.clock.now() + jiff::SignedDuration::from_hours(1));
    h.apply(Event::TimersDue).unwrap();
    assert_eq!(completed(&h, "two"), 300);
    assert_eq!(h.inst.status, Status::Completed);
}

/// Timers due at once fire earliest first; an interrupting boundary timer that fires first
/// cancels the activity and its inner timers, which then do not fire.
#[test]
fn the_earliest_due_fires_first_and_may_cancel_the_rest() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:parallelGateway id="fork"/>{}{}{}<bpmn:subProcess id="box"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>200</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics><bpmn:startEvent id="is"/>{}<bpmn:endEvent id="ie"/>{}{}</bpmn:subProcess><bpmn:boundaryEvent id="cut" attachedToRef="box"><bpmn:timerEventDefinition><bpmn:timeDuration>PT30M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/><bpmn:endEvent id="e3"/><bpmn:endEvent id="e4"/>{}{}{}{}{}{}{}{}{}"#,
        timer_catch("t3", "PT3H"),
        timer_catch("t1", "PT1H"),
        timer_catch("t2", "PT2H"),
        timer_catch("inner", "PT1H"),
        flow("i1", "is", "inner"),
        flow("i2", "inner", "ie"),
        flow("f0", "s", "fork"),
        flow("f1", "fork", "t3"),
        flow("f2", "fork", "t1"),
        flow("f3", "fork", "t2"),
        flow("f4", "fork", "box"),
        flow("f5", "t1", "e1"),
        flow("f6", "t2", "e2"),
        flow("f7", "t3", "e3"),
        flow("f8", "cut", "e4")
    ));
    let mut h = H::start(&xml, json!({}));
    h.clock
        .set(h.clock.now() + jiff::SignedDuration::from_hours(4));
    h.apply(Event::TimersDue).unwrap();
    let fired: Vec<String> = h
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::ElementCompleted { element_id }
                if ["t1", "t2", "t3", "cut", "inner"].contains(&element_id.as_str()) =>
            {
                Some(element_id.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(fired, ["cut", "t1", "t2", "t3"]);
    assert_eq!(h.inst.status, Status::Completed);
}

/// A signal thrown inside the instance reaches every catch event waiting for it, each once.
#[test]
fn a_signal_reaches_thousands_of_catch_events_once_each() {
    let inner = format!(
        r#"<bpmn:intermediateCatchEvent id="c"><bpmn:signalEventDefinition signalRef="go"/></bpmn:intermediateCatchEvent>{}{}"#,
        flow("g1", "is", "c"),
        flow("g2", "c", "ie")
    );
    let body = format!(
        r#"<bpmn:startEvent id="s"/><bpmn:subProcess id="a"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>${{n}}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics><bpmn:startEvent id="is"/>{inner}<bpmn:endEvent id="ie"/></bpmn:subProcess><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "a"),
        flow("f2", "a", "e")
    );
    let xml = model_with(r#"<bpmn:signal id="go" name="go"/>"#, &body);
    let mut h = H::start(&xml, json!({"n": 3000}));
    assert_eq!(stored_subs(&h.inst), 3000);
    h.apply(Event::Signal {
        name: "go".into(),
        variables: Map::<String, Value>::new(),
    })
    .unwrap();
    assert_eq!(completed(&h, "c"), 3000);
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(stored_subs(&h.inst), 0);
}
