//! `Runtime::execute_async`: the same commands from async tasks. A start or a task's completion
//! waits for its group commit without holding a thread; its answer, what it stores and what a
//! failure leaves must be exactly those of the blocking `execute_as`.

use baton_runtime::{Caller, PanicSite, Reply, Runtime};
use baton_testkit::{Model, TestRuntime};
use serde_json::{json, Value};
use std::sync::Arc;

fn tasks() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn run(t: &tokio::runtime::Runtime, rt: &Arc<Runtime>, cmd: &str, data: Value) -> Reply {
    t.block_on(rt.execute_async(cmd, &data, &Caller::owner()))
}

/// start -> approve (user task) -> end.
fn one_task() -> String {
    Model::process("Approval")
        .start("s")
        .user_task("approve")
        .end("e")
        .chain(&["s", "approve", "e"])
        .xml()
}

/// The parts of an answer that do not name the instance or the time.
fn shape(r: &Reply) -> Value {
    let mut v = serde_json::to_value(r).unwrap();
    if let Some(d) = v.get_mut("data").and_then(Value::as_object_mut) {
        d.remove("instanceGuid");
    }
    v
}

#[test]
fn a_start_and_a_completion_from_tasks_answer_and_store_what_the_blocking_api_does() {
    let t = tasks();
    let tr = TestRuntime::new();
    tr.deploy(&one_task());
    let start = json!({"processKey": "Approval", "variables": {"amount": 5}});
    let blocking = tr.reply("StartProcessInstanceCommand", start.clone());
    let from_task = run(&t, &tr.rt, "StartProcessInstanceCommand", start);
    assert!(from_task.is_successful, "{from_task:?}");
    assert_eq!(shape(&from_task), shape(&blocking));

    let guid = from_task.data["instanceGuid"].as_str().unwrap().to_string();
    let signal = |guid: &str| json!({"instanceGuid": guid, "taskId": "approve", "callbackData": {"ok": true}});
    let done = run(&t, &tr.rt, "SignalProcessInstanceCommand", signal(&guid));
    let other = blocking.data["instanceGuid"].as_str().unwrap();
    let done_blocking = tr.reply("SignalProcessInstanceCommand", signal(other));
    assert_eq!(done.data["status"], "COMPLETED", "{done:?}");
    assert_eq!(shape(&done), shape(&done_blocking));
    // Stored as the blocking API stores it: the same history, read back from the file.
    assert_eq!(tr.history_kinds(&guid), tr.history_kinds(other));
    let read = tr.instance(&guid);
    assert_eq!(read["status"], "COMPLETED", "{read}");
    assert_eq!(
        read["variables"]["lastUserTaskResult"]["ok"], true,
        "{read}"
    );

    // The same refusals, with the same codes and fields.
    let refusals = [
        ("NoSuchCommand", json!({})),
        ("StartProcessInstanceCommand", json!({"processKey": "Nope"})),
        (
            "SignalProcessInstanceCommand",
            json!({"instanceGuid": guid, "taskId": "approve"}),
        ),
        ("SignalProcessInstanceCommand", json!({"taskId": 3})),
        ("StartProcessInstanceCommand", json!([])),
    ];
    for (cmd, data) in refusals {
        let a = run(&t, &tr.rt, cmd, data.clone());
        let b = tr.reply(cmd, data.clone());
        assert!(!a.is_successful, "{cmd} {data}: {a:?}");
        assert_eq!(shape(&a), shape(&b), "{cmd} {data}");
    }
    // Any other command runs as well (here a query).
    let q = json!({"instanceGuid": guid});
    let a = run(&t, &tr.rt, "GetProcessInstanceByIdQuery", q.clone());
    assert_eq!(
        shape(&a),
        shape(&tr.reply("GetProcessInstanceByIdQuery", q))
    );
}

#[test]
fn many_tasks_at_once_each_drive_their_own_instance_to_the_end() {
    let t = tasks();
    let tr = TestRuntime::new();
    tr.deploy(&one_task());
    let rt = tr.rt.clone();
    let guids: Vec<String> = t.block_on(async {
        let handles: Vec<_> = (0..48)
            .map(|i| {
                let rt = rt.clone();
                tokio::spawn(async move {
                    let owner = Caller::owner();
                    let start = json!({"processKey": "Approval", "variables": {"i": i}});
                    let s = rt
                        .execute_async("StartProcessInstanceCommand", &start, &owner)
                        .await;
                    assert!(s.is_successful, "{s:?}");
                    let guid = s.data["instanceGuid"].as_str().unwrap().to_string();
                    let done = json!({"instanceGuid": guid, "callbackData": {"by": i}});
                    let d = rt
                        .execute_async("SignalProcessInstanceCommand", &done, &owner)
                        .await;
                    assert_eq!(d.data["status"], "COMPLETED", "{d:?}");
                    guid
                })
            })
            .collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    });
    for (i, guid) in guids.iter().enumerate() {
        let read = tr.instance(guid);
        assert_eq!(read["status"], "COMPLETED", "{read}");
        assert_eq!(read["variables"]["i"], i, "{read}");
        assert_eq!(read["variables"]["lastUserTaskResult"]["by"], i, "{read}");
    }
}

#[test]
fn a_step_that_panics_or_whose_commit_fails_in_a_task_leaves_what_the_blocking_api_leaves() {
    let t = tasks();
    let tr = TestRuntime::new();
    tr.deploy(&one_task());
    let start = json!({"processKey": "Approval"});

    // A start that panics: an internal error with a reference, nothing stored.
    tr.rt.panic_next(PanicSite::Step, 1);
    let r = run(&t, &tr.rt, "StartProcessInstanceCommand", start.clone());
    assert_eq!(
        tr.rt.panic_next(PanicSite::Step, 0),
        0,
        "the panic was raised"
    );
    assert!(!r.is_successful);
    assert!(r.message.starts_with("internal error; reference "), "{r:?}");
    let list = tr.run(
        "GetProcessInstanceListQuery",
        json!({"processKey": "Approval"}),
    );
    assert_eq!(list["totalCount"], 0, "{list}");

    // A completion whose step panics: the instance gets an internal incident at the task,
    // and the same completion succeeds once retried.
    let s = run(&t, &tr.rt, "StartProcessInstanceCommand", start);
    let guid = s.data["instanceGuid"].as_str().unwrap().to_string();
    let signal = json!({"instanceGuid": guid, "taskId": "approve", "callbackData": {}});
    tr.rt.panic_next(PanicSite::Step, 1);
    let r = run(&t, &tr.rt, "SignalProcessInstanceCommand", signal.clone());
    assert!(!r.is_successful, "{r:?}");
    let seen = tr.instance(&guid);
    assert_eq!(seen["status"], "FAILED", "{seen}");
    assert_eq!(seen["incidents"][0]["elementId"], "approve", "{seen}");
    let r = run(&t, &tr.rt, "SignalProcessInstanceCommand", signal.clone());
    assert_eq!(r.data["status"], "COMPLETED", "{r:?}");

    // A completion whose commit fails every time: refused as the blocking API refuses it
    // (the instance kept changing), and nothing of it stored.
    let s = run(
        &t,
        &tr.rt,
        "StartProcessInstanceCommand",
        json!({"processKey": "Approval"}),
    );
    let guid = s.data["instanceGuid"].as_str().unwrap().to_string();
    let signal = json!({"instanceGuid": guid, "taskId": "approve", "callbackData": {}});
    tr.rt.fail_next_step_commits(100);
    let r = run(&t, &tr.rt, "SignalProcessInstanceCommand", signal.clone());
    let blocking = tr.reply("SignalProcessInstanceCommand", signal);
    tr.rt.fail_next_step_commits(0);
    assert!(!r.is_successful, "{r:?}");
    assert_eq!(shape(&r), shape(&blocking));
    let seen = tr.instance(&guid);
    assert_eq!(seen["status"], "WAITING", "{seen}");
    assert_eq!(seen["waiting"][0]["taskId"], "approve", "{seen}");
}

#[test]
fn a_callback_from_a_task_answers_as_the_blocking_api_live_duplicate_and_unknown() {
    let t = tasks();
    let tr = TestRuntime::new();
    tr.deploy(
        &Model::process("Pay")
            .start("s")
            .receive_task("Wait")
            .props(&[("correlationKey", "context.ref")])
            .end("e")
            .chain(&["s", "Wait", "e"])
            .xml(),
    );
    let start = |r: &str| tr.start("Pay", json!({"ref": r}));
    let (a, b) = (start("A-1"), start("B-1"));
    let callback = |key: &str| json!({"correlationKey": key, "result": {"paid": true}});
    let from_task = run(&t, &tr.rt, "ReturnCallbackCommand", callback("A-1"));
    let blocking = tr.reply("ReturnCallbackCommand", callback("B-1"));
    assert_eq!(
        from_task.data["callbackStatus"], "Completed",
        "{from_task:?}"
    );
    assert_eq!(from_task.data["status"], "COMPLETED", "{from_task:?}");
    assert_eq!(shape(&from_task), shape(&blocking));
    assert_eq!(tr.history_kinds(&a), tr.history_kinds(&b));
    // The same callback again is a duplicate, from either side; an unknown key is refused.
    for (cmd_data, what) in [(callback("A-1"), "duplicate"), (callback("C-9"), "unknown")] {
        let x = run(&t, &tr.rt, "ReturnCallbackCommand", cmd_data.clone());
        let y = tr.reply("ReturnCallbackCommand", cmd_data);
        assert_eq!(shape(&x), shape(&y), "{what}");
    }
}
