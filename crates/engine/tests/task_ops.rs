//! One waiting task from outside (exec/tasks.rs): holding an assignee, and cancelling one task
//! along its cancel exception while the rest of the instance goes on.

mod common;
use baton_engine::{Effect, Event, Instance, Status, User};
use common::*;
use serde_json::json;

const CANCEL_ERR: &str = r#"<bpmn:error id="Cancel" errorCode="CANCEL"/>"#;

/// Two user tasks in parallel; `a` has the boundaries given, `b` none.
fn parallel(boundaries: &str) -> String {
    model_with(
        CANCEL_ERR,
        &format!(
            r#"<bpmn:startEvent id="s"/><bpmn:parallelGateway id="fork"/><bpmn:userTask id="a" name="Approve"/><bpmn:userTask id="b"/><bpmn:endEvent id="ea"/><bpmn:endEvent id="eb"/>{boundaries}{}{}{}{}{}"#,
            flow("f0", "s", "fork"),
            flow("f1", "fork", "a"),
            flow("f2", "fork", "b"),
            flow("f3", "a", "ea"),
            flow("f4", "b", "eb"),
        ),
    )
}

fn cancel_boundary(id: &str, error_ref: Option<&str>, to: &str) -> String {
    let def = match error_ref {
        Some(r) => format!(r#"<bpmn:errorEventDefinition errorRef="{r}"/>"#),
        None => "<bpmn:errorEventDefinition/>".into(),
    };
    format!(
        r#"<bpmn:boundaryEvent id="{id}" attachedToRef="a">{def}</bpmn:boundaryEvent><bpmn:endEvent id="{to}"/>{}"#,
        flow(&format!("f_{id}"), id, to)
    )
}

fn assignee_of(h: &H, task: &str) -> Option<String> {
    h.engine
        .waiting(&h.inst)
        .into_iter()
        .find(|w| w.task_id == task)
        .and_then(|w| w.assignee)
}

#[test]
fn assign_and_unassign_show_in_waiting_and_effects() {
    let mut h = H::start(&parallel(""), json!({}));
    assert_eq!(assignee_of(&h, "a"), None);
    h.effects.clear();
    h.apply(Event::AssignTask {
        task_id: "a".into(),
        assignee: Some("ann".into()),
    })
    .unwrap();
    assert_eq!(assignee_of(&h, "a").as_deref(), Some("ann"));
    assert_eq!(assignee_of(&h, "b"), None);
    assert_eq!(
        h.effects,
        [Effect::TaskAssigned {
            task_id: "a".into(),
            assignee: Some("ann".into()),
            previous: None
        }]
    );
    assert_eq!(h.inst.status, Status::Waiting);
    // The same assignee again changes nothing.
    h.effects.clear();
    h.apply(Event::AssignTask {
        task_id: "a".into(),
        assignee: Some("ann".into()),
    })
    .unwrap();
    assert!(h.effects.is_empty());
    // It survives writing and reading the state.
    let text = serde_json::to_string(&h.inst).unwrap();
    h.inst = serde_json::from_str::<Instance>(&text).unwrap();
    assert_eq!(assignee_of(&h, "a").as_deref(), Some("ann"));
    h.apply(Event::AssignTask {
        task_id: "a".into(),
        assignee: None,
    })
    .unwrap();
    assert_eq!(assignee_of(&h, "a"), None);
    assert_eq!(
        h.effects.last(),
        Some(&Effect::TaskAssigned {
            task_id: "a".into(),
            assignee: None,
            previous: Some("ann".into())
        })
    );
    // JSON of the waiting entry carries `assignee` only when there is one.
    let w = serde_json::to_value(h.engine.waiting(&h.inst)).unwrap();
    assert!(w[0].get("assignee").is_none(), "{w}");
}

#[test]
fn an_assigned_task_is_completed_by_its_assignee_only() {
    let mut h = H::start(&parallel(""), json!({}));
    h.apply(Event::AssignTask {
        task_id: "a".into(),
        assignee: Some("ann".into()),
    })
    .unwrap();
    let bob = User {
        name: "bob".into(),
        teams: vec![],
    };
    let ann = User {
        name: "ann".into(),
        teams: vec![],
    };
    let complete = || Event::CompleteTask {
        task_id: Some("a".into()),
        data: json!({}),
    };
    let err = h.apply_as(complete(), &bob).unwrap_err();
    assert!(err.contains("assigned to user 'ann'"), "{err}");
    assert_eq!(h.waiting(), ["a", "b"]);
    h.apply_as(complete(), &ann).unwrap();
    assert_eq!(h.waiting(), ["b"]);
}

#[test]
fn a_task_forgets_its_assignee_when_it_is_entered_again() {
    // a -> count -> back to a once.
    let xml = model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="a"/><bpmn:scriptTask id="count" scriptFormat="rhai"><bpmn:script>n = n + 1;</bpmn:script></bpmn:scriptTask><bpmn:exclusiveGateway id="g" default="out"/><bpmn:endEvent id="e"/>{}{}{}{}{}"#,
        flow("f0", "s", "a"),
        flow("f1", "a", "count"),
        flow("f2", "count", "g"),
        cflow("back", "g", "a", "n &lt; 2"),
        flow("out", "g", "e"),
    ));
    let mut h = H::start(&xml, json!({"n": 0}));
    h.apply(Event::AssignTask {
        task_id: "a".into(),
        assignee: Some("ann".into()),
    })
    .unwrap();
    h.complete("a", json!({})).unwrap();
    assert_eq!(h.waiting(), ["a"]);
    assert_eq!(assignee_of(&h, "a"), None);
}

#[test]
fn cancelling_one_task_leaves_along_its_cancel_exception_and_the_rest_goes_on() {
    let mut h = H::start(
        &parallel(&cancel_boundary("onCancel", Some("Cancel"), "cancelled")),
        json!({}),
    );
    h.apply(Event::AssignTask {
        task_id: "a".into(),
        assignee: Some("ann".into()),
    })
    .unwrap();
    h.effects.clear();
    h.apply(Event::CancelTask {
        task_id: "a".into(),
    })
    .unwrap();
    assert!(
        h.effects.contains(&Effect::ElementCancelled {
            element_id: "a".into()
        }),
        "{:?}",
        h.effects
    );
    assert_eq!(h.path(), ["onCancel", "cancelled"]);
    assert_eq!(h.var("errorCode"), json!("CANCEL"));
    assert_eq!(h.waiting(), ["b"]);
    assert_eq!(h.inst.status, Status::Waiting);
    h.complete("b", json!({})).unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.visits("ea"), 0);
}

#[test]
fn the_cancel_code_wins_over_a_catch_all_which_is_the_default_exception() {
    let both = format!(
        "{}{}",
        cancel_boundary("any", None, "viaAny"),
        cancel_boundary("onCancel", Some("Cancel"), "viaCancel")
    );
    let mut h = H::start(&parallel(&both), json!({}));
    h.apply(Event::CancelTask {
        task_id: "a".into(),
    })
    .unwrap();
    assert_eq!(h.visits("viaCancel"), 1);
    assert_eq!(h.visits("viaAny"), 0);

    let mut h = H::start(
        &parallel(&cancel_boundary("any", None, "viaAny")),
        json!({}),
    );
    h.apply(Event::CancelTask {
        task_id: "a".into(),
    })
    .unwrap();
    assert_eq!(h.visits("viaAny"), 1);
}

#[test]
fn a_task_without_a_cancel_exception_is_refused_and_nothing_changes() {
    // An error boundary for another code is no cancel exception.
    let other = model_with(
        r#"<bpmn:error id="Other" errorCode="E1"/>"#,
        &format!(
            r#"<bpmn:startEvent id="s"/><bpmn:userTask id="a"/><bpmn:endEvent id="e"/><bpmn:boundaryEvent id="be" attachedToRef="a"><bpmn:errorEventDefinition errorRef="Other"/></bpmn:boundaryEvent><bpmn:endEvent id="x"/>{}{}{}"#,
            flow("f0", "s", "a"),
            flow("f1", "a", "e"),
            flow("f2", "be", "x"),
        ),
    );
    for xml in [parallel(""), other] {
        let mut h = H::start(&xml, json!({}));
        let before = serde_json::to_string(&h.inst).unwrap();
        let n = h.effects.len();
        let err = h
            .apply(Event::CancelTask {
                task_id: "a".into(),
            })
            .unwrap_err();
        assert!(err.contains("task 'a' has no cancel exception"), "{err}");
        assert!(err.contains("errorCode CANCEL"), "{err}");
        assert_eq!(serde_json::to_string(&h.inst).unwrap(), before);
        assert_eq!(h.effects.len(), n);
    }
}

#[test]
fn unknown_or_finished_tasks_are_refused_by_name() {
    let mut h = H::start(
        &parallel(&cancel_boundary("onCancel", Some("Cancel"), "cancelled")),
        json!({}),
    );
    let err = h
        .apply(Event::CancelTask {
            task_id: "nope".into(),
        })
        .unwrap_err();
    assert_eq!(err, "task 'nope' is not waiting (waiting: a, b)");
    h.complete("a", json!({})).unwrap();
    let err = h
        .apply(Event::AssignTask {
            task_id: "a".into(),
            assignee: Some("ann".into()),
        })
        .unwrap_err();
    assert_eq!(err, "task 'a' is not waiting (waiting: b)");
    let err = h
        .apply(Event::AssignTask {
            task_id: "b".into(),
            assignee: Some(" ".into()),
        })
        .unwrap_err();
    assert!(err.contains("assignee"), "{err}");
    h.complete("b", json!({})).unwrap();
    let err = h
        .apply(Event::CancelTask {
            task_id: "b".into(),
        })
        .unwrap_err();
    assert_eq!(err, "instance is COMPLETED, not waiting");
}

#[test]
fn a_cancelled_receive_task_closes_its_callback() {
    let xml = model_with(
        CANCEL_ERR,
        &format!(
            r#"<bpmn:startEvent id="s"/><bpmn:receiveTask id="a"><bpmn:extensionElements><custom:properties><custom:property name="correlationKey" value="key"/><custom:property name="formKey" value="pay"/></custom:properties></bpmn:extensionElements></bpmn:receiveTask><bpmn:endEvent id="e"/>{}{}{}"#,
            flow("f0", "s", "a"),
            flow("f1", "a", "e"),
            cancel_boundary("onCancel", Some("Cancel"), "cancelled"),
        ),
    );
    let mut h = H::start(&xml, json!({"key": "k1"}));
    assert_eq!(h.waiting(), ["a"], "{:?}", h.engine.incidents(&h.inst));
    h.apply(Event::CancelTask {
        task_id: "a".into(),
    })
    .unwrap();
    assert!(
        h.effects.iter().any(|e| matches!(
            e,
            Effect::CallbackClosed { task_id, status: "Cancelled", .. } if task_id == "a"
        )),
        "{:?}",
        h.effects
    );
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.visits("cancelled"), 1);
}
