//! `failedJobRetryTimeCycle` on a task: a failed run is tried again after the cycle's waits,
//! with no incident until the last attempt failed; the attempts count and the wait survive a
//! stored state; an interrupting boundary event ends the waiting; a task without a cycle opens
//! its incident at once, as before.
mod common;

use baton_engine::{parse, Clock, Effect, Engine, Event, Status};
use common::{flow, model, H};
use jiff::SignedDuration;
use serde_json::json;

/// start -> script task `pay` (fails while `ready` is false) [-> boundary] -> end.
fn paying(cycle: Option<&str>, boundary: &str) -> String {
    let ext = cycle.map_or(String::new(), |c| {
        format!(
            "<bpmn:extensionElements><camunda:failedJobRetryTimeCycle>{c}</camunda:failedJobRetryTimeCycle></bpmn:extensionElements>"
        )
    });
    model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:scriptTask id="pay" scriptFormat="rhai">{ext}<bpmn:script>if !ready {{ throw "the gateway is down"; }} charged = true;</bpmn:script></bpmn:scriptTask>{boundary}<bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "pay"),
        flow("f2", "pay", "e"),
    ))
}

fn failed_attempts(h: &H) -> Vec<(u32, u32, jiff::Timestamp)> {
    h.effects
        .iter()
        .filter_map(|e| match e {
            Effect::AttemptFailed {
                element_id,
                message,
                attempt,
                attempts,
                retry_at,
            } => {
                assert_eq!(element_id, "pay");
                assert!(message.contains("the gateway is down"), "{message}");
                Some((*attempt, *attempts, *retry_at))
            }
            _ => None,
        })
        .collect()
}

fn incidents(h: &H) -> usize {
    h.effects
        .iter()
        .filter(|e| matches!(e, Effect::IncidentRaised { .. }))
        .count()
}

#[test]
fn a_failing_task_is_tried_at_each_wait_and_the_last_failure_opens_the_incident() {
    let mut h = H::start(&paying(Some("R3/PT1M,PT5M"), ""), json!({"ready": false}));
    let t0 = h.clock.now();
    assert_eq!(
        h.inst.status,
        Status::Waiting,
        "a retry is a wait, not a failure"
    );
    assert_eq!(
        failed_attempts(&h),
        [(1, 3, t0 + SignedDuration::from_mins(1))]
    );
    assert_eq!(incidents(&h), 0);
    let w = h.engine.waiting(&h.inst);
    assert_eq!(w.len(), 1);
    assert_eq!((w[0].task_id.as_str(), w[0].task_type), ("pay", "retry"));
    assert_eq!(w[0].due, Some(t0 + SignedDuration::from_mins(1)));
    assert_eq!(
        h.engine.next_timer(&h.inst),
        Some(t0 + SignedDuration::from_mins(1))
    );

    // Not before its time.
    h.advance(59);
    assert_eq!(failed_attempts(&h).len(), 1);
    // The second attempt at one minute, then five minutes to the third, the last.
    h.advance(1);
    assert_eq!(
        failed_attempts(&h)[1],
        (2, 3, t0 + SignedDuration::from_mins(6))
    );
    assert_eq!(h.inst.status, Status::Waiting);
    h.advance(5 * 60);
    assert_eq!(
        failed_attempts(&h).len(),
        2,
        "the third failure is no retry"
    );
    assert_eq!(incidents(&h), 1);
    assert_eq!(h.inst.status, Status::Failed);
    assert_eq!(h.engine.incidents(&h.inst)[0].element_id, "pay");
    assert_eq!(h.engine.next_timer(&h.inst), None);

    // Retried by hand after a fix: it runs, and the instance completes.
    h.apply(Event::Retry {
        variables: common::vars(json!({"ready": true})),
    })
    .unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.var("charged"), json!(true));
}

#[test]
fn a_retry_that_succeeds_goes_on_and_the_count_does_not_outlive_the_task() {
    let mut h = H::start(&paying(Some("R2/PT10M"), ""), json!({"ready": false}));
    // Variables set meanwhile do not run the task early.
    h.apply(Event::SetVariables {
        variables: common::vars(json!({"ready": true})),
    })
    .unwrap();
    assert_eq!(h.inst.status, Status::Waiting);
    assert_eq!(h.var("charged"), json!(null));

    // The state is stored and read back between the attempts, as the runtime does.
    let text = serde_json::to_string(&h.inst).unwrap();
    assert!(text.contains("\"failures\":1"), "{text}");
    h.inst = serde_json::from_str(&text).unwrap();
    h.advance(10 * 60);
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.var("charged"), json!(true));
    assert_eq!(incidents(&h), 0);
    let text = serde_json::to_string(&h.inst).unwrap();
    assert!(!text.contains("failures"), "{text}");
}

#[test]
fn an_interrupting_boundary_timer_ends_the_waiting_for_a_retry() {
    let boundary = format!(
        r#"<bpmn:boundaryEvent id="late" attachedToRef="pay"><bpmn:timerEventDefinition><bpmn:timeDuration>PT30M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:endEvent id="gaveUp"/>{}"#,
        flow("f3", "late", "gaveUp")
    );
    let mut h = H::start(
        &paying(Some("R5/PT20M"), &boundary),
        json!({"ready": false}),
    );
    h.advance(20 * 60);
    assert_eq!(failed_attempts(&h).len(), 2);
    h.advance(10 * 60);
    assert_eq!(h.inst.status, Status::Completed);
    assert!(h.path().contains(&"gaveUp".to_string()), "{:?}", h.path());
    assert_eq!(h.engine.next_timer(&h.inst), None, "no retry is left");
    h.advance(60 * 60);
    assert_eq!(failed_attempts(&h).len(), 2);
}

#[test]
fn without_a_cycle_the_first_failure_opens_the_incident() {
    let h = H::start(&paying(None, ""), json!({"ready": false}));
    assert_eq!(h.inst.status, Status::Failed);
    assert_eq!(incidents(&h), 1);
    assert!(failed_attempts(&h).is_empty());
}

/// The same task with its cycle as a Camunda property (`camunda:property`), not an element.
fn paying_with_property(cycle: &str) -> String {
    paying(None, "").replace(
        r#"<bpmn:scriptTask id="pay" scriptFormat="rhai">"#,
        &format!(
            r#"<bpmn:scriptTask id="pay" scriptFormat="rhai"><bpmn:extensionElements><camunda:properties><camunda:property name="failedJobRetryTimeCycle" value="{cycle}"/></camunda:properties></bpmn:extensionElements>"#
        ),
    )
}

#[test]
fn a_cycle_written_as_an_expression_is_read_from_the_variables_when_the_task_fails() {
    for xml in [
        paying(Some("${cycle}"), ""),
        paying_with_property("${cycle}"),
    ] {
        let mut h = H::start(&xml, json!({"ready": false, "cycle": "R2/PT2M"}));
        let t0 = h.clock.now();
        assert_eq!(h.inst.status, Status::Waiting, "{:?}", h.effects);
        assert_eq!(
            failed_attempts(&h),
            [(1, 2, t0 + SignedDuration::from_mins(2))]
        );
        // Read again at each failure: the variable now asks for more attempts.
        h.apply(Event::SetVariables {
            variables: common::vars(json!({"cycle": "R3/PT2M"})),
        })
        .unwrap();
        h.advance(120);
        assert_eq!(
            failed_attempts(&h)[1],
            (2, 3, t0 + SignedDuration::from_mins(4))
        );
        h.advance(120);
        assert_eq!(incidents(&h), 1);
        assert_eq!(h.inst.status, Status::Failed);
    }
}

#[test]
fn an_expression_that_gives_no_cycle_opens_the_incident_saying_why() {
    for (vars, says) in [
        (
            json!({"ready": false, "cycle": "soon"}),
            "the expression 'cycle' gave 'soon': ",
        ),
        (json!({"ready": false}), "the expression 'cycle' failed: "),
        (
            json!({"ready": false, "cycle": "R2/P100000D"}),
            "longer than a timer may wait here",
        ),
    ] {
        let h = H::start(&paying(Some("${cycle}"), ""), vars.clone());
        assert_eq!(h.inst.status, Status::Failed, "{vars}");
        assert!(failed_attempts(&h).is_empty());
        let incident = &h.engine.incidents(&h.inst)[0];
        assert_eq!(incident.element_id, "pay");
        assert!(
            incident.message.contains("the gateway is down")
                && incident
                    .message
                    .contains("no retry: failedJobRetryTimeCycle")
                && incident.message.contains(says),
            "{vars}: {}",
            incident.message
        );
    }
}

#[test]
fn a_task_cycle_that_does_not_read_is_refused_at_deploy_naming_the_task() {
    for (cycle, says) in [
        ("R3/five minutes", "is not an ISO 8601 duration"),
        ("R0/PT1M", "asks for 0 attempts"),
    ] {
        let dep = parse(&[("t.bpmn", paying(Some(cycle), "").as_str())]).unwrap();
        let problems = match Engine::new(dep) {
            Err(p) => format!("{p:?}"),
            Ok(_) => panic!("{cycle} was accepted"),
        };
        assert!(
            problems.contains("task 'pay': failedJobRetryTimeCycle") && problems.contains(says),
            "{cycle}: {problems}"
        );
    }
}

#[test]
fn retry_runs_a_waiting_attempt_now_and_its_count_goes_on() {
    let mut h = H::start(&paying(Some("R3/PT1H"), ""), json!({"ready": false}));
    let t0 = h.clock.now();
    // Still failing: that run is the second attempt, and the next waits its hour from now.
    h.advance(60);
    h.apply(Event::Retry {
        variables: common::vars(json!({})),
    })
    .unwrap();
    assert_eq!(
        failed_attempts(&h)[1],
        (
            2,
            3,
            t0 + SignedDuration::from_secs(60) + SignedDuration::from_hours(1)
        )
    );
    assert_eq!(h.inst.status, Status::Waiting);
    // Fixed: the run succeeds at once, and no attempt is left waiting.
    h.apply(Event::Retry {
        variables: common::vars(json!({"ready": true})),
    })
    .unwrap();
    assert_eq!(h.inst.status, Status::Completed);
    assert_eq!(h.var("charged"), json!(true));
    assert_eq!(h.engine.next_timer(&h.inst), None);
    assert_eq!(incidents(&h), 0);
}

#[test]
fn each_inner_instance_of_a_multi_instance_task_has_its_own_attempts() {
    let xml = model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:scriptTask id="pay" scriptFormat="rhai"><bpmn:extensionElements><camunda:failedJobRetryTimeCycle>R2/PT1M</camunda:failedJobRetryTimeCycle></bpmn:extensionElements><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics><bpmn:script>if !ready {{ throw "the gateway is down"; }}</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "pay"),
        flow("f2", "pay", "e"),
    ));
    let mut h = H::start(&xml, json!({"ready": false}));
    assert_eq!(
        failed_attempts(&h).len(),
        3,
        "one failed attempt per inner instance"
    );
    assert_eq!(h.inst.status, Status::Waiting);
    h.advance(60);
    assert_eq!(
        incidents(&h),
        3,
        "each inner instance's second failure is its incident"
    );
    assert_eq!(h.inst.status, Status::Failed);
    h.apply(Event::Retry {
        variables: common::vars(json!({"ready": true})),
    })
    .unwrap();
    assert_eq!(h.inst.status, Status::Completed);
}
