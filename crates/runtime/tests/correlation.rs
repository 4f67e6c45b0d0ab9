//! Correlation on a real SQLite file: buffered messages and callbacks, duplicates, thrown
//! signals delivered through the outbox, and many threads racing on one instance or key
//! (group commit must neither lose nor double a step).

use baton_engine::Clock;
use baton_runtime::{Caller, Reply};
use baton_testkit::models::callback_flow;
use baton_testkit::{deploy, history_kinds, ok, open_in, Model};
use serde_json::json;

/// Waits for message OrderPaid keyed by `orderId`.
fn message_wait() -> String {
    Model::process("OrderFlow")
        .message("M", "OrderPaid")
        .start("s")
        .catch_message("c", "M")
        .props(&[("correlationKey", "orderId")])
        .end("e")
        .chain(&["s", "c", "e"])
        .xml()
}

#[test]
fn a_message_sent_before_the_wait_is_buffered_for_its_ttl_and_correlates_when_the_subscription_opens(
) {
    let dir = tempfile::tempdir().unwrap();
    let (rt, clock) = open_in(dir.path());
    let def = deploy(&rt, &message_wait());

    // Nobody waits and no TTL: discarded (Camunda 8 publish semantics).
    let r = ok(rt.execute(
        "CorrelateMessageCommand",
        &json!({"messageName": "OrderPaid", "correlationKey": "O-1"}),
        None,
    ));
    assert_eq!(
        (r["correlated"].clone(), r["buffered"].clone()),
        (json!(false), json!(false))
    );

    // With a TTL: buffered, then the instance that subscribes takes it at once, with its variables.
    let r = ok(rt.execute(
        "CorrelateMessageCommand",
        &json!({"messageName": "OrderPaid", "correlationKey": "O-2", "ttlSeconds": 60, "variables": {"paidBy": "card"}}),
        None,
    ));
    assert_eq!(r["buffered"], true);
    let other = ok(rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processDefinitionId": def, "variables": {"orderId": "O-9"}}),
        None,
    ));
    assert_eq!(
        other["status"], "WAITING",
        "a different key does not take it"
    );
    let s = ok(rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processDefinitionId": def, "variables": {"orderId": "O-2"}}),
        None,
    ));
    assert_eq!(s["status"], "COMPLETED");
    let guid = s["instanceGuid"].as_str().unwrap();
    let inst = ok(rt.execute(
        "GetProcessInstanceByIdQuery",
        &json!({"instanceGuid": guid}),
        None,
    ));
    assert_eq!(inst["variables"]["paidBy"], "card");
    let buf = ok(rt.execute(
        "GetMessageBufferListQuery",
        &json!({"status": "Correlated"}),
        None,
    ));
    assert_eq!(buf["items"][0]["instanceGuid"], guid);

    // Past its TTL a buffered message is Expired and never delivered.
    ok(rt.execute(
        "CorrelateMessageCommand",
        &json!({"messageName": "OrderPaid", "correlationKey": "O-3", "ttlSeconds": 30}),
        None,
    ));
    clock.set(clock.now() + jiff::SignedDuration::from_secs(31));
    let late = ok(rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processDefinitionId": def, "variables": {"orderId": "O-3"}}),
        None,
    ));
    assert_eq!(late["status"], "WAITING");
    let expired = ok(rt.execute(
        "GetMessageBufferListQuery",
        &json!({"status": "Expired"}),
        None,
    ));
    assert_eq!(expired["totalCount"], 1);

    // The waiting one correlates directly now, and a repeated messageId is a duplicate.
    let m = json!({"messageName": "OrderPaid", "correlationKey": "O-3", "messageId": "evt-1"});
    let first = ok(rt.execute("CorrelateMessageCommand", &m, None));
    assert_eq!(
        (first["correlated"].clone(), first["duplicate"].clone()),
        (json!(true), json!(false))
    );
    let again = ok(rt.execute("CorrelateMessageCommand", &m, None));
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["instanceGuid"], late["instanceGuid"]);
}

#[test]
fn a_callback_before_its_receive_task_waits_only_when_asked_and_a_second_one_is_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _) = open_in(dir.path());
    let def = deploy(&rt, &callback_flow());
    let unknown = rt.execute(
        "ReturnCallbackCommand",
        &json!({"correlationKey": "R-1", "result": {"ok": true}}),
        None,
    );
    assert!(!unknown.is_successful);
    assert!(
        unknown.message.contains("R-1") && unknown.message.contains("ttlSeconds"),
        "{}",
        unknown.message
    );
    let bad = rt.execute(
        "ReturnCallbackCommand",
        &json!({"correlationKey": "R-1", "ttlSeconds": "soon"}),
        None,
    );
    assert_eq!(bad.errors[0].field, "ttlSeconds");

    let b = ok(rt.execute(
        "ReturnCallbackCommand",
        &json!({"correlationKey": "R-1", "result": {"ok": true}, "ttlSeconds": 300}),
        None,
    ));
    assert_eq!(b["callbackStatus"], "Buffered");
    let s = ok(rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processDefinitionId": def, "variables": {"ref": "R-1"}}),
        None,
    ));
    assert_eq!(
        s["status"], "COMPLETED",
        "the buffered callback completed the receive task on arrival"
    );
    let guid = s["instanceGuid"].as_str().unwrap();
    let rows = ok(rt.execute(
        "GetCallbackRegistryListQuery",
        &json!({"instanceGuid": guid}),
        None,
    ));
    assert_eq!(rows[0]["Status"], "Completed");
    assert_eq!(rows[0]["ResultData"], r#"{"ok":true}"#);

    let dup = ok(rt.execute(
        "ReturnCallbackCommand",
        &json!({"correlationKey": "R-1", "result": {"ok": false}}),
        None,
    ));
    assert_eq!(
        (dup["duplicate"].clone(), dup["instanceGuid"].as_str()),
        (json!(true), Some(guid))
    );
    assert_eq!(
        history_kinds(&rt, guid)
            .iter()
            .filter(|k| *k == "callbackCompleted")
            .count(),
        1
    );
}

#[test]
fn racing_deliveries_of_one_callback_resume_the_instance_once() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _) = open_in(dir.path());
    let def = deploy(&rt, &callback_flow());
    let s = ok(rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processDefinitionId": def, "variables": {"ref": "RACE"}}),
        None,
    ));
    let guid = s["instanceGuid"].as_str().unwrap().to_string();
    let replies: Vec<Reply> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..8)
            .map(|i| {
                let rt = &rt;
                sc.spawn(move || {
                    rt.execute(
                        "ReturnCallbackCommand",
                        &json!({"correlationKey": "RACE", "result": {"n": i}}),
                        None,
                    )
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let fresh = replies
        .iter()
        .filter(|r| r.is_successful && r.data["duplicate"] == false)
        .count();
    let dups = replies
        .iter()
        .filter(|r| r.is_successful && r.data["duplicate"] == true)
        .count();
    assert_eq!((fresh, dups), (1, 7), "{replies:?}");
    let kinds = history_kinds(&rt, &guid);
    assert_eq!(
        kinds.iter().filter(|k| *k == "callbackCompleted").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "ended").count(),
        1,
        "{kinds:?}"
    );
}

#[test]
fn many_clients_at_once_commit_every_step_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _) = open_in(dir.path());
    let def = deploy(&rt, &callback_flow());
    std::thread::scope(|sc| {
        for c in 0..8 {
            let (rt, def) = (&rt, &def);
            sc.spawn(move || {
                for i in 0..25 {
                    let key = format!("K-{c}-{i}");
                    let s = ok(rt.execute(
                        "StartProcessInstanceCommand",
                        &json!({"processDefinitionId": def, "variables": {"ref": key}}),
                        None,
                    ));
                    assert_eq!(s["status"], "WAITING");
                    let cb = ok(rt.execute(
                        "ReturnCallbackCommand",
                        &json!({"correlationKey": key, "result": {}}),
                        None,
                    ));
                    assert_eq!(
                        (cb["status"].clone(), cb["duplicate"].clone()),
                        (json!("COMPLETED"), json!(false))
                    );
                }
            });
        }
    });
    let done = ok(rt.execute(
        "GetProcessInstanceListQuery",
        &json!({"status": "COMPLETED", "pageSize": 1}),
        None,
    ));
    assert_eq!(done["totalCount"], 200);
    let pending = ok(rt.execute(
        "GetCallbackRegistryListQuery",
        &json!({"status": "Pending"}),
        None,
    ));
    assert_eq!(pending.as_array().unwrap().len(), 0);
    let completed = ok(rt.execute(
        "GetCallbackRegistryListQuery",
        &json!({"status": "Completed"}),
        None,
    ));
    assert_eq!(completed.as_array().unwrap().len(), 200);
}

#[test]
fn a_thrown_signal_reaches_other_waiting_instances_through_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _) = open_in(dir.path());
    let catcher = Model::process("Catcher")
        .signal("S", "Alarm")
        .start("s")
        .catch_signal("c", "S")
        .end("e")
        .chain(&["s", "c", "e"])
        .xml();
    let thrower = Model::process("Thrower")
        .signal("S", "Alarm")
        .start("s")
        .throw_signal("t", "S")
        .end("e")
        .chain(&["s", "t", "e"])
        .xml();
    let c = deploy(&rt, &catcher);
    let t = deploy(&rt, &thrower);
    let waiting: Vec<String> = (0..3)
        .map(|_| {
            ok(rt.execute(
                "StartProcessInstanceCommand",
                &json!({"processDefinitionId": c}),
                None,
            ))["instanceGuid"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let th = ok(rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processDefinitionId": t}),
        None,
    ));
    assert_eq!(th["status"], "COMPLETED");
    for g in &waiting {
        let i = ok(rt.execute(
            "GetProcessInstanceByIdQuery",
            &json!({"instanceGuid": g}),
            None,
        ));
        assert_eq!(i["status"], "COMPLETED", "the thrown signal reached {g}");
    }
    // Nothing waits any more: a broadcast reaches nobody.
    let b = ok(rt.execute(
        "BroadcastSignalCommand",
        &json!({"signalName": "Alarm"}),
        None,
    ));
    assert_eq!(b["instances"], json!([]));
}

#[test]
fn incidents_are_listed_while_open_and_resolved_by_a_successful_retry() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _) = open_in(dir.path());
    let calc = Model::process("Calc")
        .start("s")
        .script_task(
            "Calc",
            r#"if amount > 100 { throw "too large" }; total = amount * 2;"#,
        )
        .end("e")
        .chain(&["s", "Calc", "e"])
        .xml();
    let def = deploy(&rt, &calc);
    let s = ok(rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processDefinitionId": def, "variables": {"amount": 500}}),
        None,
    ));
    assert_eq!(s["status"], "FAILED");
    let guid = s["instanceGuid"].as_str().unwrap();
    let open = ok(rt.execute("GetIncidentListQuery", &json!({}), None));
    assert_eq!(open["items"][0]["elementId"], "Calc");
    assert!(open["items"][0]["message"]
        .as_str()
        .unwrap()
        .contains("too large"));
    let r = ok(rt.execute(
        "RetryIncidentCommand",
        &json!({"instanceGuid": guid, "variables": {"amount": 5}}),
        None,
    ));
    assert_eq!(r["status"], "COMPLETED");
    assert_eq!(
        ok(rt.execute("GetIncidentListQuery", &json!({}), None))["totalCount"],
        0
    );
    let all = ok(rt.execute("GetIncidentListQuery", &json!({"openOnly": false}), None));
    assert!(all["items"][0]["resolvedAt"].is_string());
}

#[test]
fn the_inbox_shows_a_user_only_what_they_may_work_on() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _) = open_in(dir.path());
    let xml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../bpmn-templates/loan-approval/LoanApprovalProcess.bpmn"
    ))
    .unwrap();
    let def = deploy(&rt, &xml);
    ok(rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processDefinitionId": def, "variables": {"applicant": "Ada"}}),
        None,
    ));
    ok(rt.execute(
        "CreateUserCommand",
        &json!({"userName": "mary", "teams": ["MANAGERS"]}),
        None,
    ));
    ok(rt.execute(
        "CreateUserCommand",
        &json!({"userName": "bob", "teams": ["TELLERS"]}),
        None,
    ));
    let as_user = |name: &str, teams: &[&str]| {
        let u = baton_engine::User {
            name: name.into(),
            teams: teams.iter().map(|t| t.to_string()).collect(),
        };
        ok(rt.execute_as("GetTaskListQuery", &json!({}), &Caller::user(u)))["totalCount"].clone()
    };
    assert_eq!(as_user("mary", &["MANAGERS"]), 1);
    assert_eq!(as_user("bob", &["TELLERS"]), 0);
    // The owner may look at anyone's inbox; a user's teams come from the store.
    assert_eq!(
        ok(rt.execute("GetTaskListQuery", &json!({"userName": "mary"}), None))["totalCount"],
        1
    );
    assert_eq!(
        ok(rt.execute("GetTaskListQuery", &json!({"userName": "bob"}), None))["totalCount"],
        0
    );
}

#[test]
fn message_and_signal_start_events_start_new_instances_when_nothing_waits() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _) = open_in(dir.path());
    let by_message = Model::process("OnOrder")
        .message("M", "OrderPlaced")
        .start_message("s", "M")
        .user_task("Pack")
        .end("e")
        .chain(&["s", "Pack", "e"])
        .xml();
    let by_signal = Model::process("OnAlarm")
        .signal("S", "Alarm")
        .start_signal("s", "S")
        .end("e")
        .chain(&["s", "e"])
        .xml();
    deploy(&rt, &by_message);
    deploy(&rt, &by_signal);
    let m = json!({"messageName": "OrderPlaced", "correlationKey": "O-1", "variables": {"sku": "A1"}, "messageId": "order-1"});
    let r = ok(rt.execute("CorrelateMessageCommand", &m, None));
    assert_eq!(
        (r["started"].clone(), r["status"].clone()),
        (json!(true), json!("WAITING"))
    );
    let guid = r["instanceGuid"].as_str().unwrap();
    let inst = ok(rt.execute(
        "GetProcessInstanceByIdQuery",
        &json!({"instanceGuid": guid}),
        None,
    ));
    assert_eq!(
        (
            inst["variables"]["sku"].clone(),
            inst["correlationId"].clone()
        ),
        (json!("A1"), json!("O-1"))
    );
    // The same messageId again starts nothing.
    let again = ok(rt.execute("CorrelateMessageCommand", &m, None));
    assert_eq!(again["duplicate"], true);
    assert_eq!(
        ok(rt.execute(
            "GetProcessInstanceListQuery",
            &json!({"processKey": "OnOrder"}),
            None
        ))["totalCount"],
        1
    );

    let b = ok(rt.execute(
        "BroadcastSignalCommand",
        &json!({"signalName": "Alarm"}),
        None,
    ));
    assert_eq!(b["started"].as_array().unwrap().len(), 1);
    assert_eq!(
        ok(rt.execute(
            "GetProcessInstanceListQuery",
            &json!({"processKey": "OnAlarm", "status": "COMPLETED"}),
            None
        ))["totalCount"],
        1
    );
}

#[test]
fn a_callback_for_a_form_mode_task_is_refused_and_points_to_the_form_submission() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _) = open_in(dir.path());
    let form_flow = Model::process("FormFlow")
        .start("s")
        .receive_task("Review")
        .props(&[("correlationKey", "context.ref"), ("form", "review-form")])
        .end("e")
        .chain(&["s", "Review", "e"])
        .xml();
    let def = deploy(&rt, &form_flow);
    let guid = ok(rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processDefinitionId": def, "variables": {"ref": "R-1"}}),
        None,
    ))["instanceGuid"]
        .clone();
    let rows = ok(rt.execute(
        "GetCallbackRegistryListQuery",
        &json!({"status": "Pending"}),
        None,
    ));
    assert_eq!(
        (
            rows[0]["CorrelationKey"].clone(),
            rows[0]["FormKey"].clone()
        ),
        (json!("R-1"), json!("review-form"))
    );
    let r = rt.execute(
        "ReturnCallbackCommand",
        &json!({"correlationKey": "R-1", "result": {}}),
        None,
    );
    assert!(
        !r.is_successful
            && r.message.contains("Review")
            && r.message.contains("SignalProcessInstanceCommand"),
        "{r:?}"
    );
    // The task still waits, and the form submission completes it and its registry row.
    let i = ok(rt.execute(
        "GetProcessInstanceByIdQuery",
        &json!({"instanceGuid": guid}),
        None,
    ));
    assert_eq!(i["waiting"][0]["taskId"], "Review");
    let done = ok(rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {"ok": true}}),
        None,
    ));
    assert_eq!(done["status"], "COMPLETED");
    let rows = ok(rt.execute(
        "GetCallbackRegistryListQuery",
        &json!({"status": "Completed"}),
        None,
    ));
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
}
