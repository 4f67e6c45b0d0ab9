//! Through the real HTTP door, a start or a task's completion is computed on the door's async
//! worker (or, when that could block the worker, on a blocking thread: `inline`) and waits for
//! its commit as the request's task (`execute_off_workers`). What follows the commit must
//! still happen before the answer, as on the blocking path: a buffered message the new wait
//! matches is delivered (the caller sees the instance continue), and a command a script queued
//! with `doCmd` has run.

use baton_testkit::http::{Door, Served};
use baton_testkit::models::order_flow;
use baton_testkit::Model;
use serde_json::{json, Value};

/// Child: start -> end (what the parents' scripts start).
fn child() -> String {
    Model::process("Child")
        .start("s")
        .end("e")
        .chain(&["s", "e"])
        .xml()
}

fn exec(served: &Served, cmd: &str, data: Value) -> Value {
    served.execute_ok(cmd, data)
}

#[test]
fn a_start_meets_its_buffered_message_before_the_door_answers() {
    let door = Door::new();
    door.t.deploy(&order_flow());
    let served = Served::start(door.st.clone());
    let m = exec(
        &served,
        "CorrelateMessageCommand",
        json!({"messageName": "Paid", "correlationKey": "O-7", "ttlSeconds": 60,
               "variables": {"amount": 5}}),
    );
    assert_eq!(m["buffered"], true, "{m}");
    let s = exec(
        &served,
        "StartProcessInstanceCommand",
        json!({"processKey": "OrderFlow", "variables": {"orderId": "O-7"}}),
    );
    assert_eq!(s["status"], "COMPLETED", "the caller sees it continue: {s}");
    let guid = s["instanceGuid"].as_str().unwrap();
    let inst = door.t.instance(guid);
    assert_eq!(inst["variables"]["amount"], 5, "{inst}");
}

#[test]
fn a_completion_whose_script_queues_a_command_answers_after_it_ran() {
    let door = Door::new();
    door.t.deploy(&child());
    let parent = Model::process("Parent")
        .start("s")
        .user_task("approve")
        .script_task(
            "run",
            r#"doCmd("StartProcessInstanceCommand", #{processKey: "Child", variables: #{from: "parent"}});"#,
        )
        .end("e")
        .chain(&["s", "approve", "run", "e"])
        .xml();
    door.t.deploy(&parent);
    let served = Served::start(door.st.clone());
    let s = exec(
        &served,
        "StartProcessInstanceCommand",
        json!({"processKey": "Parent"}),
    );
    assert_eq!(s["status"], "WAITING", "{s}");
    let children = || {
        exec(
            &served,
            "GetProcessInstanceListQuery",
            json!({"processKey": "Child"}),
        )["totalCount"]
            .clone()
    };
    assert_eq!(children(), 0);
    let done = exec(
        &served,
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": s["instanceGuid"], "taskId": "approve", "callbackData": {}}),
    );
    assert_eq!(done["status"], "COMPLETED", "{done}");
    // Read right after the answer: the queued start already ran, once.
    assert_eq!(children(), 1);
}

#[test]
fn two_starts_at_once_wait_on_the_writers_thread_and_still_deliver_before_answering() {
    // Held at the gate together, the two starts are async commands under way at once, so
    // neither commits in place: both wait for the writer's thread as tasks, and what follows
    // their commits (a buffered message, a queued command) runs on a blocking thread again.
    let door = Door::new();
    door.t.deploy(&order_flow());
    door.t.deploy(&child());
    let parent = Model::process("Parent")
        .start("s")
        .script_task(
            "run",
            r#"doCmd("StartProcessInstanceCommand", #{processKey: "Child"});"#,
        )
        .user_task("later")
        .end("e")
        .chain(&["s", "run", "later", "e"])
        .xml();
    door.t.deploy(&parent);
    let served = Served::start(door.st.clone());
    exec(
        &served,
        "CorrelateMessageCommand",
        json!({"messageName": "Paid", "correlationKey": "O-8", "ttlSeconds": 60,
               "variables": {"amount": 8}}),
    );
    door.t.rt.hold_steps(true);
    let (order, parent) = std::thread::scope(|s| {
        let order = s.spawn(|| {
            exec(
                &served,
                "StartProcessInstanceCommand",
                json!({"processKey": "OrderFlow", "variables": {"orderId": "O-8"}}),
            )
        });
        let parent = s.spawn(|| {
            exec(
                &served,
                "StartProcessInstanceCommand",
                json!({"processKey": "Parent"}),
            )
        });
        let held = door.t.rt.steps_held(2, std::time::Duration::from_secs(10));
        door.t.rt.hold_steps(false);
        assert_eq!(held, 2, "both starts reached the gate");
        (order.join().unwrap(), parent.join().unwrap())
    });
    assert_eq!(order["status"], "COMPLETED", "{order}");
    assert_eq!(parent["status"], "WAITING", "{parent}");
    let children = exec(
        &served,
        "GetProcessInstanceListQuery",
        json!({"processKey": "Child"}),
    );
    assert_eq!(children["totalCount"], 1, "{children}");
}

#[test]
fn a_start_whose_script_runs_long_is_computed_again_on_a_blocking_thread_and_counted_once() {
    // The door first computes a start on its async worker, where a script gets only a short
    // time; this one needs longer, so that attempt is thrown away and the start runs again
    // where the usual limit holds. It completes once, its queued start runs once, and with one
    // start a second allowed for its key, the thrown-away attempt did not use the allowance.
    let door = Door::new();
    door.t.deploy(&child());
    let slow = Model::process("Slow")
        .start("s")
        .script_task(
            "crunch",
            r#"let total = 0; for n in 0..200000 { total += n; } doCmd("StartProcessInstanceCommand", #{processKey: "Child"});"#,
        )
        .end("e")
        .chain(&["s", "crunch", "e"])
        .xml();
    door.t.deploy(&slow);
    let served = Served::start(door.st.clone());
    exec(
        &served,
        "SetEngineLimitsCommand",
        json!({"maxInstancesPerSecond": 1}),
    );
    let s = exec(
        &served,
        "StartProcessInstanceCommand",
        json!({"processKey": "Slow"}),
    );
    assert_eq!(s["status"], "COMPLETED", "{s}");
    let inst = door.t.instance(s["instanceGuid"].as_str().unwrap());
    assert_eq!(
        inst["variables"]["total"],
        (0..200_000i64).sum::<i64>(),
        "{inst}"
    );
    let count = |key: &str| {
        exec(
            &served,
            "GetProcessInstanceListQuery",
            json!({"processKey": key}),
        )["totalCount"]
            .clone()
    };
    assert_eq!(count("Slow"), 1, "one instance, not one per attempt");
    assert_eq!(count("Child"), 1, "the queued start ran once");
}
