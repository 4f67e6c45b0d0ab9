//! The persisted instance state: it names the model it was written for, and a state read
//! against another model is refused without a change.

mod common;

use baton_engine::{parse, CommandError, Ctx, Engine, Event, Instance, VirtualClock};
use common::{flow, model, H};
use serde_json::{json, Value};

fn engine(xml: &str) -> Engine {
    let dep = parse(&[("test.bpmn", xml)]).expect("parses");
    Engine::new(dep).expect("valid").0
}

fn user_task_model() -> String {
    model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="u"/><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "u"),
        flow("f2", "u", "e")
    ))
}

/// The same shape with one more task: ids differ, so the arenas differ.
fn other_model() -> String {
    model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="u"/><bpmn:task id="t"/><bpmn:endEvent id="e"/>{}{}{}"#,
        flow("f1", "s", "u"),
        flow("f2", "u", "t"),
        flow("f3", "t", "e")
    ))
}

fn ctx(clock: &VirtualClock) -> Ctx<'_> {
    Ctx {
        clock,
        user: None,
        enforce_access: false,
        bus: None,
    }
}

#[test]
fn the_fingerprint_is_stable_and_tells_models_apart() {
    let a = engine(&user_task_model());
    assert_eq!(a.fingerprint(), engine(&user_task_model()).fingerprint());
    assert_ne!(a.fingerprint(), 0);
    // Written down once: a change of the hash would make every stored state unreadable.
    assert_eq!(a.fingerprint(), 0xa935_0cba_f9a5_80e1);
    assert_ne!(a.fingerprint(), engine(&other_model()).fingerprint());
    // Names matter, not only counts: the same shape with a renamed flow differs.
    let renamed = user_task_model().replace(r#"id="f2""#, r#"id="g2""#);
    assert_ne!(a.fingerprint(), engine(&renamed).fingerprint());
}

#[test]
fn a_state_from_another_model_is_refused_and_left_unchanged() {
    let a = engine(&user_task_model());
    let b = engine(&other_model());
    let clock = VirtualClock::new(VirtualClock::default_start());
    let (mut inst, _) = a.start(None, Default::default(), &ctx(&clock)).unwrap();
    assert!(a.check_state(&inst).is_ok());
    let before = serde_json::to_string(&inst).unwrap();
    let err = b
        .apply(
            &mut inst,
            Event::CompleteTask {
                task_id: Some("u".into()),
                data: json!({}),
            },
            &ctx(&clock),
        )
        .unwrap_err();
    match &err {
        CommandError::StateMismatch { state, model } => {
            assert_eq!(*state, a.fingerprint());
            assert_eq!(*model, b.fingerprint());
        }
        other => panic!("expected StateMismatch, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&format!("{:016x}", a.fingerprint()))
            && text.contains(&format!("{:016x}", b.fingerprint())),
        "{text}"
    );
    assert!(b.check_state(&inst).is_err());
    assert_eq!(serde_json::to_string(&inst).unwrap(), before);
    // Read through the other model, it shows nothing rather than the wrong elements.
    assert!(b.waiting(&inst).is_empty() && b.subscriptions(&inst).is_empty());
    assert_eq!(a.waiting(&inst).len(), 1);
    // The right model still takes it.
    a.apply(
        &mut inst,
        Event::CompleteTask {
            task_id: Some("u".into()),
            data: json!({}),
        },
        &ctx(&clock),
    )
    .unwrap();
    assert_eq!(inst.status.as_str(), "COMPLETED");
}

#[test]
fn a_state_written_before_fingerprints_loads_and_is_stamped_by_its_next_step() {
    let a = engine(&user_task_model());
    let clock = VirtualClock::new(VirtualClock::default_start());
    let (inst, _) = a.start(None, Default::default(), &ctx(&clock)).unwrap();
    // An old state: no `model` field, and the walked path it used to carry.
    let mut old: Value = serde_json::to_value(&inst).unwrap();
    let obj = old.as_object_mut().unwrap();
    assert!(obj.remove("model").is_some());
    obj.insert("path".into(), json!([0, 1]));
    let mut inst: Instance = serde_json::from_value(old).expect("an old state still loads");
    assert!(a.check_state(&inst).is_ok());
    // Any model accepts it (it cannot tell), and its next step names the model.
    assert!(engine(&other_model()).check_state(&inst).is_ok());
    a.apply(
        &mut inst,
        Event::SetVariables {
            variables: Default::default(),
        },
        &ctx(&clock),
    )
    .unwrap();
    assert!(engine(&other_model()).check_state(&inst).is_err());
}

#[test]
fn the_state_does_not_grow_with_the_path_walked() {
    // A cycle through an exclusive gateway: every turn passes the task and the gateway.
    let xml = model(&format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:exclusiveGateway id="g" default="more"/>
        <bpmn:userTask id="u"/>
        <bpmn:scriptTask id="count" scriptFormat="rhai"><bpmn:script>n = n + 1;</bpmn:script></bpmn:scriptTask>
        <bpmn:endEvent id="e"/>
        {}{}{}{}
        <bpmn:sequenceFlow id="done" sourceRef="g" targetRef="e"><bpmn:conditionExpression>n &gt;= 100</bpmn:conditionExpression></bpmn:sequenceFlow>"#,
        flow("f1", "s", "g"),
        flow("more", "g", "u"),
        flow("f2", "u", "count"),
        flow("back", "count", "g"),
    ));
    let mut h = H::start(&xml, json!({"n": 0}));
    let size = |h: &H| serde_json::to_string(&h.inst).unwrap().len();
    // The first turn adds `lastUserTaskResult`; from then on only the counter's digits grow.
    h.complete("u", json!({})).unwrap();
    let after_first = size(&h);
    for turn in 2..=100 {
        h.complete("u", json!({})).unwrap();
        assert!(
            size(&h) <= after_first + 4,
            "turn {turn}: {} > {after_first}",
            size(&h)
        );
    }
    assert_eq!(h.inst.status.as_str(), "COMPLETED");
    // The walk itself is still known from the effects: every visit, in order.
    assert_eq!(h.visits("u"), 100);
    assert_eq!(h.visits("g"), 101);
    assert_eq!(h.path().first().map(String::as_str), Some("s"));
    assert_eq!(h.path().last().map(String::as_str), Some("e"));
}
