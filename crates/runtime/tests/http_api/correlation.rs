//! Correlation over HTTP: callbacks (resumed once, buffered only when asked), messages
//! (delivered, buffered, discarded, deduplicated) and signals (every subscribed instance).

use crate::*;

const CALLBACK: &str = "ReturnCallbackCommand";
const CORRELATE: &str = "CorrelateMessageCommand";
const BROADCAST: &str = "BroadcastSignalCommand";
const REGISTRY: &str = "GetCallbackRegistryListQuery";
const BUFFER: &str = "GetMessageBufferListQuery";
const TTL_MSG: &str = "ttlSeconds must be a whole number of seconds, 0 or more";

#[tokio::test]
async fn return_callback_resumes_once_and_buffers_only_when_asked() {
    let s = server();
    let pay = s.deploy(&payment()).await;

    // The payment template: the webhook receive task registers its key.
    let (p, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": pay, "variables": {"paymentId": "PAY-1", "amount": 300}}),
        )
        .await;
    assert_eq!(d["waiting"][0]["taskId"], "Task_WaitForPayment");
    let rows = s
        .case(case(
            ADMIN,
            REGISTRY,
            json!({"status": "Pending"}),
            ok_with(&[
                ("/0/ParentInstanceId", json!(p)),
                ("/0/CallbackTaskId", json!("Task_WaitForPayment")),
                ("/0/CorrelationKey", json!("PAY-1")),
                ("/0/MessageRef", json!("PaymentProcessed")),
                ("/0/TimeoutMinutes", json!(1440.0)),
            ]),
        ))
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    let d = s
        .ok(
            &s.bob,
            CALLBACK,
            json!({"correlationKey": "PAY-1", "result": {"status": "success"}}),
        )
        .await;
    assert_eq!(
        d,
        json!({"instanceGuid": p, "status": "WAITING", "callbackStatus": "Completed", "duplicate": false})
    );
    let i = s.instance(&p).await;
    assert_eq!(i["waiting"][0]["taskId"], "Task_ReviewPayment");
    assert_eq!(
        i["variables"]["lastReceiveTaskResult"],
        json!({"status": "success"})
    );
    // A gateway retry while the review (same key, form mode) waits does not resume anything.
    // (Its answer is not asserted: today it is isSuccessful false, not the documented duplicate.)
    let before = s.snapshot(&p).await;
    let (code, _) = s
        .exec(
            ADMIN,
            CALLBACK,
            json!({"correlationKey": "PAY-1", "result": {"status": "success"}}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        s.snapshot(&p).await,
        before,
        "the review is not completed by a webhook callback"
    );
    s.table(vec![
        case(
            ADMIN,
            REGISTRY,
            json!({"instanceGuid": p, "status": "Completed"}),
            ok_with(&[
                ("/0/CallbackTaskId", json!("Task_WaitForPayment")),
                ("/0/ResultData", json!(r#"{"status":"success"}"#)),
            ]),
        ),
        // The review is a form-mode receive task: GetTaskFormQuery shows it, MANAGERS submit it.
        case(
            ADMIN,
            "GetTaskFormQuery",
            json!({"instanceGuid": p}),
            ok_with(&[
                ("/taskType", json!("receiveTask")),
                ("/formKey", json!("payment-review-form")),
            ]),
        ),
        case(
            &s.mary,
            "SignalProcessInstanceCommand",
            json!({"instanceGuid": p, "signalPayload": {"decision": "approve", "comments": "fine"}}),
            ok_with(&[
                ("/status", json!("COMPLETED")),
                ("/taskType", json!("receiveTask")),
                ("/result/reviewedBy", json!("mary")),
            ]),
        ),
    ])
    .await;
    let i = s.instance(&p).await;
    assert_eq!(
        (
            i["variables"]["paymentStatus"].clone(),
            i["variables"]["postedBy"].clone()
        ),
        (json!("POSTED"), json!("mary"))
    );
    // A gateway retry after the review: a duplicate, the instance is not resumed again.
    s.case(case(
        ADMIN,
        CALLBACK,
        json!({"correlationKey": "PAY-1", "result": {"status": "success"}}),
        ok_with(&[("/duplicate", json!(true)), ("/status", json!("COMPLETED"))]),
    ))
    .await;

    // A second delivery to a webhook-only flow: isSuccessful, duplicate, resumed once.
    let cb = s.deploy(&callback_wait()).await;
    let (r, _) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": cb, "variables": {"ref": "R-1"}}),
        )
        .await;
    s.case(case(
        ADMIN,
        CALLBACK,
        json!({"correlationKey": "R-1", "result": {"n": 1}}),
        ok_with(&[
            ("/status", json!("COMPLETED")),
            ("/duplicate", json!(false)),
        ]),
    ))
    .await;
    let before = s.snapshot(&r).await;
    let (code, v) = s
        .exec(
            ADMIN,
            CALLBACK,
            json!({"correlationKey": "R-1", "result": {"n": 1}}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["isSuccessful"], true, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("Duplicate callback: 'R-1'"),
        "{v}"
    );
    assert_eq!(
        v["data"],
        json!({"instanceGuid": r, "status": "COMPLETED", "callbackStatus": "Completed", "duplicate": true})
    );
    assert_eq!(
        s.snapshot(&r).await,
        before,
        "the duplicate changed nothing"
    );
    let kinds = s.history(&r).await;
    assert_eq!(
        (
            count_of(&kinds, "callbackCompleted"),
            count_of(&kinds, "ended")
        ),
        (1, 1),
        "{kinds:?}"
    );
    assert_eq!(
        s.instance(&r).await["variables"]["lastReceiveTaskResult"],
        json!({"n": 1}),
        "the first result stays"
    );
    // A repeat with another result is not applied either, but answered as a conflict.
    let (_, v) = s
        .exec(
            ADMIN,
            CALLBACK,
            json!({"correlationKey": "R-1", "result": {"n": 2}}),
        )
        .await;
    assert_eq!(
        v["data"],
        json!({"instanceGuid": r, "status": "COMPLETED", "callbackStatus": "Completed", "duplicate": true, "conflict": true})
    );
    assert_eq!(
        s.instance(&r).await,
        before.0,
        "the conflict changed nothing"
    );

    s.table(vec![
        // An unknown key without ttlSeconds: a business failure, nothing buffered.
        case(
            ADMIN,
            CALLBACK,
            json!({"correlationKey": "R-2", "result": {"ok": true}}),
            refused(has(&["'R-2'", "ttlSeconds"])),
        ),
        // Field errors.
        case(
            ADMIN,
            CALLBACK,
            json!({"correlationKey": "R-2", "ttlSeconds": -5}),
            field_msg("ttlSeconds", is(TTL_MSG)),
        ),
        case(
            ADMIN,
            CALLBACK,
            json!({"correlationKey": "R-2", "ttlSeconds": "60"}),
            field("ttlSeconds"),
        ),
        case(
            ADMIN,
            CALLBACK,
            json!({"correlationKey": "R-2", "ttlSeconds": 1.5}),
            field("ttlSeconds"),
        ),
        case(
            ADMIN,
            CALLBACK,
            json!({"result": {}}),
            field("correlationKey"),
        ),
        case(
            ADMIN,
            CALLBACK,
            json!({"correlationKey": 7}),
            field("correlationKey"),
        ),
    ])
    .await;
    assert_eq!(s.count(BUFFER, json!({})).await, 0);

    // With ttlSeconds: buffered, and an instance started later with that key resumes at once.
    let b = s
        .case(case(
            ADMIN,
            CALLBACK,
            json!({"correlationKey": "R-2", "result": {"ok": true}, "ttlSeconds": 300}),
            ok_with(&[
                ("/callbackStatus", json!("Buffered")),
                ("/duplicate", json!(false)),
                ("/expiresAt", json!("2026-01-01T00:05:00.000000Z")),
            ]),
        ))
        .await;
    s.case(case(
        ADMIN,
        BUFFER,
        json!({"status": "Buffered"}),
        ok_with(&[
            ("/totalCount", json!(1)),
            ("/items/0/id", b["bufferId"].clone()),
            ("/items/0/kind", json!("callback")),
            ("/items/0/correlationKey", json!("R-2")),
        ]),
    ))
    .await;
    let (r2, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": cb, "variables": {"ref": "R-2"}}),
        )
        .await;
    assert_eq!(
        d["status"], "COMPLETED",
        "the buffered callback completed the receive task on arrival"
    );
    assert_eq!(
        s.instance(&r2).await["variables"]["lastReceiveTaskResult"],
        json!({"ok": true})
    );
    s.table(vec![
        case(
            ADMIN,
            REGISTRY,
            json!({"instanceGuid": r2}),
            ok_with(&[
                ("/0/Status", json!("Completed")),
                ("/0/ResultData", json!(r#"{"ok":true}"#)),
            ]),
        ),
        case(
            ADMIN,
            BUFFER,
            json!({"status": "Correlated"}),
            ok_with(&[("/items/0/instanceGuid", json!(r2))]),
        ),
        case(
            ADMIN,
            BUFFER,
            json!({"status": "Buffered"}),
            ok_with(&[("/totalCount", json!(0))]),
        ),
    ])
    .await;
    // ... and the next instance with that key does not get it again.
    let (_, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": cb, "variables": {"ref": "R-2"}}),
        )
        .await;
    assert_eq!(d["status"], "WAITING");

    // Past its TTL a buffered callback is Expired and never delivered.
    s.ok(
        ADMIN,
        CALLBACK,
        json!({"correlationKey": "R-3", "ttlSeconds": 30}),
    )
    .await;
    s.advance(31);
    let (_, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": cb, "variables": {"ref": "R-3"}}),
        )
        .await;
    assert_eq!(d["status"], "WAITING");
    let got = s
        .table(vec![
            case(
                ADMIN,
                BUFFER,
                json!({"status": "Expired"}),
                ok_with(&[
                    ("/totalCount", json!(1)),
                    ("/items/0/correlationKey", json!("R-3")),
                ]),
            ),
            // The registry query's own validation.
            case(
                ADMIN,
                REGISTRY,
                json!({"status": "Done"}),
                field_msg(
                    "status",
                    is("status must be Pending, Completed, Failed or Expired, not 'Done'"),
                ),
            ),
            case(
                ADMIN,
                REGISTRY,
                json!({"instanceGuid": 4}),
                field("instanceGuid"),
            ),
            case(ADMIN, REGISTRY, json!({"status": "Pending"}), ok()),
            case(ADMIN, BUFFER, json!({"status": "Pending"}), field("status")),
        ])
        .await;
    let keys: BTreeSet<String> = got[3]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["CorrelationKey"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, set(&["R-2", "R-3"]));
}

#[tokio::test]
async fn correlate_message_delivers_buffers_discards_and_deduplicates() {
    let s = server();
    let def = s.deploy(&message_wait()).await;
    let (o1, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": def, "variables": {"orderId": "O-1"}}),
        )
        .await;
    assert_eq!(
        (d["status"].clone(), d["waiting"][0]["taskId"].clone()),
        (json!("WAITING"), json!("WaitPaid"))
    );

    // A different key does not reach it.
    let before = s.snapshot(&o1).await;
    let d = s
        .ok(
            ADMIN,
            CORRELATE,
            json!({"messageName": "Paid", "correlationKey": "O-9"}),
        )
        .await;
    assert_eq!(
        d,
        json!({"correlated": false, "buffered": false, "duplicate": false})
    );
    assert_eq!(s.snapshot(&o1).await, before);
    assert_eq!(
        s.count(BUFFER, json!({})).await,
        0,
        "ttlSeconds 0: discarded, not buffered"
    );

    // Correlated: the waiting instance resumes with the message's variables.
    let d = s.ok(&s.bob, CORRELATE, json!({"messageName": "Paid", "correlationKey": "O-1", "variables": {"paidBy": "card"}})).await;
    assert_eq!(
        d,
        json!({"correlated": true, "buffered": false, "instanceGuid": o1, "status": "COMPLETED", "duplicate": false})
    );
    let i = s.instance(&o1).await;
    assert_eq!(
        (i["status"].clone(), i["variables"]["paidBy"].clone()),
        (json!("COMPLETED"), json!("card"))
    );

    // Field errors.
    s.table(vec![
        case(
            ADMIN,
            CORRELATE,
            json!({"correlationKey": "O-1"}),
            field("messageName"),
        ),
        case(
            ADMIN,
            CORRELATE,
            json!({"messageName": ""}),
            field("messageName"),
        ),
        case(
            ADMIN,
            CORRELATE,
            json!({"messageName": "Paid", "ttlSeconds": -1}),
            field_msg("ttlSeconds", is(TTL_MSG)),
        ),
        case(
            ADMIN,
            CORRELATE,
            json!({"messageName": "Paid", "variables": [1]}),
            field("variables"),
        ),
        case(
            ADMIN,
            CORRELATE,
            json!({"messageName": "Paid", "correlationKey": 2}),
            field("correlationKey"),
        ),
        case(
            ADMIN,
            CORRELATE,
            json!({"messageName": "Paid", "messageId": 3}),
            field("messageId"),
        ),
    ])
    .await;
    assert_eq!(s.count(BUFFER, json!({})).await, 0);

    // ttlSeconds > 0 and nobody waits: buffered, then consumed by the instance that subscribes.
    let d = s
        .case(case(
            ADMIN,
            CORRELATE,
            json!({"messageName": "Paid", "correlationKey": "O-2", "ttlSeconds": 60, "variables": {"paidBy": "wire"}}),
            ok_with(&[
                ("/correlated", json!(false)),
                ("/buffered", json!(true)),
                ("/duplicate", json!(false)),
                ("/expiresAt", json!("2026-01-01T00:01:00.000000Z")),
            ]),
        ))
        .await;
    s.case(case(
        ADMIN,
        BUFFER,
        json!({"status": "Buffered"}),
        ok_with(&[
            ("/items/0/id", d["bufferId"].clone()),
            ("/items/0/kind", json!("message")),
            ("/items/0/name", json!("Paid")),
        ]),
    ))
    .await;
    let (other, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": def, "variables": {"orderId": "O-3"}}),
        )
        .await;
    assert_eq!(d["status"], "WAITING", "another key does not take it");
    let (o2, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": def, "variables": {"orderId": "O-2"}}),
        )
        .await;
    assert_eq!(
        d["status"], "COMPLETED",
        "the buffered message was taken on subscription"
    );
    assert_eq!(s.instance(&o2).await["variables"]["paidBy"], "wire");
    s.table(vec![
        case(
            ADMIN,
            BUFFER,
            json!({"status": "Correlated"}),
            ok_with(&[
                ("/totalCount", json!(1)),
                ("/items/0/instanceGuid", json!(o2)),
            ]),
        ),
        case(
            ADMIN,
            BUFFER,
            json!({"status": "Buffered"}),
            ok_with(&[("/totalCount", json!(0))]),
        ),
        // The same messageId twice: the second is a duplicate and delivers nothing.
        case(
            ADMIN,
            CORRELATE,
            json!({"messageName": "Paid", "correlationKey": "O-3", "messageId": "evt-1", "variables": {"n": 1}}),
            ok_with(&[
                ("/correlated", json!(true)),
                ("/instanceGuid", json!(other)),
                ("/duplicate", json!(false)),
            ]),
        ),
    ])
    .await;
    let before = s.snapshot(&other).await;
    let (code, v) = s.exec(ADMIN, CORRELATE, json!({"messageName": "Paid", "correlationKey": "O-3", "messageId": "evt-1", "variables": {"n": 2}})).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["isSuccessful"], true);
    assert!(v["message"].as_str().unwrap().contains("evt-1"), "{v}");
    assert_eq!(
        (
            v["data"]["duplicate"].clone(),
            v["data"]["instanceGuid"].clone()
        ),
        (json!(true), json!(other))
    );
    assert_eq!(s.snapshot(&other).await, before);
    assert_eq!(before.0["variables"]["n"], 1);
    // A buffered message's id too: a repeat is a duplicate, not a second buffer entry.
    let buf = json!({"messageName": "Paid", "correlationKey": "O-4", "messageId": "evt-2", "ttlSeconds": 60});
    s.table(vec![
        case(
            ADMIN,
            CORRELATE,
            buf.clone(),
            ok_with(&[("/buffered", json!(true))]),
        ),
        case(
            ADMIN,
            CORRELATE,
            buf,
            ok_with(&[("/duplicate", json!(true)), ("/buffered", json!(true))]),
        ),
        case(
            ADMIN,
            BUFFER,
            json!({"status": "Buffered"}),
            ok_with(&[("/totalCount", json!(1))]),
        ),
    ])
    .await;

    // Past its TTL: Expired, never delivered.
    s.advance(61);
    let (_, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": def, "variables": {"orderId": "O-4"}}),
        )
        .await;
    assert_eq!(d["status"], "WAITING");
    assert_eq!(s.count(BUFFER, json!({"status": "Expired"})).await, 1);
}

#[tokio::test]
async fn broadcast_signal_reaches_every_subscribed_instance() {
    let s = server();
    let def = s.deploy(&signal_wait()).await;
    let loan_def = s.deploy(&loan()).await;
    let (a, _) = s.start(ADMIN, json!({"processDefinitionId": def})).await;
    let (b, _) = s.start(ADMIN, json!({"processDefinitionId": def})).await;
    let (l, _) = s
        .start(ADMIN, json!({"processDefinitionId": loan_def}))
        .await;
    let loan_before = s.snapshot(&l).await;

    s.table(vec![
        case(ADMIN, BROADCAST, json!({}), field("signalName")),
        case(
            ADMIN,
            BROADCAST,
            json!({"signalName": 1}),
            field("signalName"),
        ),
        case(
            ADMIN,
            BROADCAST,
            json!({"signalName": "Alarm", "variables": "loud"}),
            field_msg("variables", is("variables must be a JSON object")),
        ),
    ])
    .await;
    assert_eq!(
        s.instance(&a).await["status"],
        "WAITING",
        "a refused broadcast resumed nothing"
    );

    let got = s
        .table(vec![
            // Another name reaches nobody.
            case(
                ADMIN,
                BROADCAST,
                json!({"signalName": "Fire"}),
                ok_with(&[("", json!({"instances": [], "started": []}))]),
            ),
            case(
                &s.bob,
                BROADCAST,
                json!({"signalName": "Alarm", "variables": {"level": 3}}),
                ok_with(&[("/started", json!([]))]),
            ),
        ])
        .await;
    let reached: BTreeSet<String> = got[1]["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_string())
        .collect();
    assert_eq!(reached, set(&[&a, &b]));
    for g in [&a, &b] {
        let i = s.instance(g).await;
        assert_eq!(
            (i["status"].clone(), i["variables"]["level"].clone()),
            (json!("COMPLETED"), json!(3))
        );
    }
    assert_eq!(
        s.snapshot(&l).await,
        loan_before,
        "an instance that does not listen is untouched"
    );
    // Nothing listens any more.
    s.case(case(
        ADMIN,
        BROADCAST,
        json!({"signalName": "Alarm"}),
        ok_with(&[("/instances", json!([]))]),
    ))
    .await;
    for g in [&a, &b] {
        assert_eq!(count_of(&s.history(g).await, "ended"), 1);
    }
}
