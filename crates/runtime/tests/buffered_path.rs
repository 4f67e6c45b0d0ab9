//! Buffered messages and callbacks take the path of live ones, on a real SQLite file: after the
//! step that opens a matching wait commits, each entry is delivered as its own step, as the
//! user who sent it, claiming the entry in that step's transaction: applied once, never lost
//! by a failure between the two steps, never applied past its TTL, and one entry reaches one
//! instance.

use baton_engine::User;
use baton_runtime::Runtime;
use baton_testkit::models::order_flow;
use baton_testkit::{advance, ok, Model, TestRuntime};
use serde_json::{json, Value};
use std::sync::Arc;

/// A webhook-mode receive task keyed by `context.ref` whose ServerScript records who sent the
/// callback (`currentUser`).
fn callback_flow() -> String {
    Model::process("CallbackFlow")
        .start("s")
        .receive_task("Callback")
        .props(&[
            ("correlationKey", "context.ref"),
            ("ServerScript", "let calledBy = currentUser;"),
        ])
        .end("e")
        .chain(&["s", "Callback", "e"])
        .xml()
}

fn user(name: &str) -> User {
    User {
        name: name.into(),
        teams: vec![],
    }
}

/// Runs a command as a (non-administrator) user; panics unless it succeeds.
fn run_as(rt: &Runtime, who: &str, cmd: &str, data: Value) -> Value {
    ok(rt.execute(cmd, &data, Some(&user(who))))
}

fn buffer(t: &TestRuntime, status: &str) -> Value {
    t.run("GetMessageBufferListQuery", json!({"status": status}))
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

/// Buffers callback `key` as `gateway` for `ttl` seconds; answers its bufferId.
fn buffer_callback(t: &TestRuntime, key: &str, ttl: i64) -> Value {
    let b = run_as(
        &t.rt,
        "gateway",
        "ReturnCallbackCommand",
        json!({"correlationKey": key, "result": {"paid": true}, "ttlSeconds": ttl}),
    );
    assert_eq!(b["callbackStatus"], "Buffered", "{b}");
    b["bufferId"].clone()
}

fn start_callback_flow(t: &TestRuntime, key: &str) -> Value {
    t.run(
        "StartProcessInstanceCommand",
        json!({"processKey": "CallbackFlow", "context": {"ref": key}}),
    )
}

#[test]
fn a_buffered_message_and_a_buffered_callback_are_applied_once_as_their_sender() {
    let t = TestRuntime::new();
    t.deploy(&order_flow());
    t.deploy(&callback_flow());

    // A message from `bank` before anyone waits; the instance is started by `clerk`.
    let m = run_as(
        &t.rt,
        "bank",
        "CorrelateMessageCommand",
        json!({"messageName": "Paid", "correlationKey": "O-1", "ttlSeconds": 60,
               "messageId": "pay-1", "variables": {"amount": 12}}),
    );
    assert_eq!(m["buffered"], true);
    let s = run_as(
        &t.rt,
        "clerk",
        "StartProcessInstanceCommand",
        json!({"processKey": "OrderFlow", "variables": {"orderId": "O-1"}}),
    );
    assert_eq!(s["status"], "COMPLETED", "the caller sees it continue: {s}");
    let order = s["instanceGuid"].as_str().unwrap().to_string();
    let inst = t.instance(&order);
    assert_eq!(inst["status"], "COMPLETED");
    assert_eq!(inst["variables"]["amount"], 12);
    let correlated = buffer(&t, "Correlated");
    assert_eq!(correlated["totalCount"], 1);
    assert_eq!(correlated["items"][0]["instanceGuid"], order.as_str());
    assert_eq!(
        correlated["items"][0]["payload"], r#"{"amount":12}"#,
        "the buffer shows the data as sent"
    );
    // The wait and the delivery are two steps; the message was applied once.
    let kinds = t.history_kinds(&order);
    assert_eq!(count(&kinds, "ended"), 1, "{kinds:?}");
    // The same messageId again is a duplicate, delivered nowhere.
    let again = run_as(
        &t.rt,
        "bank",
        "CorrelateMessageCommand",
        json!({"messageName": "Paid", "correlationKey": "O-1", "messageId": "pay-1"}),
    );
    assert_eq!(again["duplicate"], true);

    // A callback from `gateway` before its receive task registers the key.
    let id = buffer_callback(&t, "R-1", 300);
    let c = start_callback_flow(&t, "R-1");
    assert_eq!(c["status"], "COMPLETED", "{c}");
    let guid = c["instanceGuid"].as_str().unwrap().to_string();
    let inst = t.instance(&guid);
    assert_eq!(inst["variables"]["calledBy"], "gateway");
    let rows = t.run(
        "GetCallbackRegistryListQuery",
        json!({"instanceGuid": guid}),
    );
    assert_eq!(rows[0]["Status"], "Completed");
    assert_eq!(rows[0]["ResultData"], r#"{"paid":true}"#);
    assert_eq!(count(&t.history_kinds(&guid), "callbackCompleted"), 1);
    let correlated = buffer(&t, "Correlated");
    assert!(correlated["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == id && r["instanceGuid"] == guid.as_str()));
    // A gateway retry of the same key is a duplicate; the instance is not resumed again.
    let dup = run_as(
        &t.rt,
        "gateway",
        "ReturnCallbackCommand",
        json!({"correlationKey": "R-1", "result": {"paid": true}}),
    );
    assert_eq!(dup["duplicate"], true);
    assert_eq!(count(&t.history_kinds(&guid), "callbackCompleted"), 1);
    assert_eq!(t.rt.deliver_buffered(), 0, "nothing is left to deliver");
}

#[test]
fn commands_a_buffered_entry_queues_run_as_its_sender() {
    let t = TestRuntime::new();
    let flow = Model::process("Queue")
        .message("M", "Go")
        .start("s")
        .catch_message("WaitGo", "M")
        .props(&[("correlationKey", "name")])
        .script_task("make", r#"doCmd("CreateUserCommand", #{userName: name});"#)
        .end("e")
        .chain(&["s", "WaitGo", "make", "e"])
        .xml();
    t.deploy(&flow);
    let users = |t: &TestRuntime| t.run("GetUserListQuery", json!({})).to_string();
    // Sent by a user who may not create users; the wait is opened by the owner, who may.
    run_as(
        &t.rt,
        "bank",
        "CorrelateMessageCommand",
        json!({"messageName": "Go", "correlationKey": "by-bank", "ttlSeconds": 60}),
    );
    let guid = t.start("Queue", json!({"name": "by-bank"}));
    assert_eq!(t.instance(&guid)["status"], "COMPLETED");
    assert!(
        !users(&t).contains("by-bank"),
        "the command ran as the sender, who is no administrator"
    );
    assert_eq!(count(&t.history_kinds(&guid), "commandFailed"), 1);
    // Sent by the owner: the same command, run as the owner, succeeds.
    t.run(
        "CorrelateMessageCommand",
        json!({"messageName": "Go", "correlationKey": "by-owner", "ttlSeconds": 60}),
    );
    let guid = t.start("Queue", json!({"name": "by-owner"}));
    assert_eq!(t.instance(&guid)["status"], "COMPLETED");
    assert!(users(&t).contains("by-owner"));
    assert_eq!(count(&t.history_kinds(&guid), "commandFailed"), 0);
}

#[test]
fn a_failure_between_the_wait_and_the_delivery_leaves_the_entry_buffered_for_the_next_start() {
    let t = TestRuntime::new();
    t.deploy(&callback_flow());
    buffer_callback(&t, "R-9", 300);
    // Every commit of a step on an existing instance fails: the start (a new instance) commits
    // its wait; the delivery, a step of its own, never does.
    t.rt.fail_next_step_commits(1_000);
    let s = start_callback_flow(&t, "R-9");
    t.rt.fail_next_step_commits(0);
    assert_eq!(s["status"], "WAITING", "{s}");
    let guid = s["instanceGuid"].as_str().unwrap().to_string();
    assert_eq!(buffer(&t, "Buffered")["totalCount"], 1, "not lost");
    assert_eq!(buffer(&t, "Correlated")["totalCount"], 0, "not applied");
    let rows = t.run(
        "GetCallbackRegistryListQuery",
        json!({"instanceGuid": guid}),
    );
    assert_eq!(rows[0]["Status"], "Pending");

    // The process stops here and starts again: the entry is delivered once, as it was sent.
    let t = t.reopen();
    let inst = t.instance(&guid);
    assert_eq!(inst["status"], "COMPLETED", "{inst}");
    assert_eq!(inst["variables"]["calledBy"], "gateway");
    assert_eq!(buffer(&t, "Buffered")["totalCount"], 0);
    assert_eq!(
        buffer(&t, "Correlated")["items"][0]["instanceGuid"],
        guid.as_str()
    );
    assert_eq!(count(&t.history_kinds(&guid), "callbackCompleted"), 1);
    let t = t.reopen();
    assert_eq!(count(&t.history_kinds(&guid), "callbackCompleted"), 1);
}

#[test]
fn a_pass_delivers_what_a_failed_delivery_left_without_a_restart() {
    let t = TestRuntime::new();
    t.deploy(&order_flow());
    run_as(
        &t.rt,
        "bank",
        "CorrelateMessageCommand",
        json!({"messageName": "Paid", "correlationKey": "O-7", "ttlSeconds": 60,
               "variables": {"amount": 7}}),
    );
    t.rt.fail_next_step_commits(1_000);
    let guid = t.start("OrderFlow", json!({"orderId": "O-7"}));
    t.rt.fail_next_step_commits(0);
    assert_eq!(t.instance(&guid)["status"], "WAITING");
    assert_eq!(t.rt.deliver_buffered(), 1);
    assert_eq!(t.rt.deliver_buffered(), 0);
    let inst = t.instance(&guid);
    assert_eq!(inst["status"], "COMPLETED");
    assert_eq!(inst["variables"]["amount"], 7);
}

#[test]
fn a_buffered_entry_whose_ttl_ran_out_is_not_applied() {
    let t = TestRuntime::new();
    t.deploy(&order_flow());
    t.deploy(&callback_flow());
    run_as(
        &t.rt,
        "bank",
        "CorrelateMessageCommand",
        json!({"messageName": "Paid", "correlationKey": "O-3", "ttlSeconds": 30}),
    );
    advance(&t.clock, 31);
    let s = t.run(
        "StartProcessInstanceCommand",
        json!({"processKey": "OrderFlow", "variables": {"orderId": "O-3"}}),
    );
    assert_eq!(s["status"], "WAITING", "{s}");
    assert_eq!(buffer(&t, "Expired")["totalCount"], 1);

    // Left buffered by a failed delivery, then its TTL runs out before the next start.
    buffer_callback(&t, "R-3", 30);
    t.rt.fail_next_step_commits(1_000);
    let c = start_callback_flow(&t, "R-3");
    t.rt.fail_next_step_commits(0);
    assert_eq!(c["status"], "WAITING");
    advance(&t.clock, 31);
    let t = t.reopen();
    let guid = c["instanceGuid"].as_str().unwrap();
    assert_eq!(t.instance(guid)["status"], "WAITING");
    assert_eq!(buffer(&t, "Correlated")["totalCount"], 0);
    assert_eq!(buffer(&t, "Expired")["totalCount"], 2);
}

#[test]
fn two_instances_waiting_on_one_key_take_one_entry_between_them() {
    let t = TestRuntime::new();
    t.deploy(&order_flow());
    run_as(
        &t.rt,
        "bank",
        "CorrelateMessageCommand",
        json!({"messageName": "Paid", "correlationKey": "O-5", "ttlSeconds": 60}),
    );
    // Eight instances open the same wait at once: the entry goes to exactly one.
    let rt: &Arc<Runtime> = &t.rt;
    let answers: Vec<Value> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                sc.spawn(move || {
                    ok(rt.execute(
                        "StartProcessInstanceCommand",
                        &json!({"processKey": "OrderFlow", "variables": {"orderId": "O-5"}}),
                        None,
                    ))
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let done = |answers: &[Value]| {
        answers
            .iter()
            .filter(|a| {
                let guid = a["instanceGuid"].as_str().unwrap();
                t.instance(guid)["status"] == "COMPLETED"
            })
            .count()
    };
    assert_eq!(done(&answers), 1);
    assert_eq!(buffer(&t, "Correlated")["totalCount"], 1);

    // Two instances already waiting when the entry is left buffered, then passes racing.
    run_as(
        &t.rt,
        "bank",
        "CorrelateMessageCommand",
        json!({"messageName": "Paid", "correlationKey": "O-6", "ttlSeconds": 60}),
    );
    t.rt.fail_next_step_commits(1_000);
    let a = t.start("OrderFlow", json!({"orderId": "O-6"}));
    let b = t.start("OrderFlow", json!({"orderId": "O-6"}));
    t.rt.fail_next_step_commits(0);
    let applied: usize = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..4).map(|_| sc.spawn(|| rt.deliver_buffered())).collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(applied, 1);
    let statuses = [
        t.instance(&a)["status"].clone(),
        t.instance(&b)["status"].clone(),
    ];
    assert_eq!(
        statuses.iter().filter(|s| *s == "COMPLETED").count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(buffer(&t, "Correlated")["totalCount"], 2);
}
