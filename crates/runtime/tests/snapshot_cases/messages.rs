//! Messages, callbacks and signals: return a callback, correlate a message (delivered,
//! buffered, discarded, duplicate), broadcast a signal, the message buffer.

use crate::Story;
use baton_testkit::models::{alarm_flow, callback_flow, order_flow};
use serde_json::{json, Value};

fn guid(v: &Value) -> String {
    v["data"]["instanceGuid"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn callbacks() {
    let mut s = Story::new();
    s.admin(
        "deploy CallbackFlow",
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": callback_flow()}),
    )
    .await;
    s.admin(
        "start one waiting for R-1",
        "StartProcessInstanceCommand",
        json!({"processKey": "CallbackFlow", "context": {"ref": "R-1"}}),
    )
    .await;
    s.admin(
        "the callback registry while it waits",
        "GetCallbackRegistryListQuery",
        json!({"status": "Pending"}),
    )
    .await;
    s.admin(
        "return the callback",
        "ReturnCallbackCommand",
        json!({"correlationKey": "R-1", "result": {"paid": true}}),
    )
    .await;
    s.admin(
        "return it again: a duplicate",
        "ReturnCallbackCommand",
        json!({"correlationKey": "R-1", "result": {"paid": true}}),
    )
    .await;
    s.admin(
        "a callback nobody waits for, not buffered",
        "ReturnCallbackCommand",
        json!({"correlationKey": "R-2"}),
    )
    .await;
    s.admin(
        "a callback nobody waits for yet, buffered for 60 s",
        "ReturnCallbackCommand",
        json!({"correlationKey": "R-3", "result": {"early": true}, "ttlSeconds": 60}),
    )
    .await;
    s.admin(
        "a callback with a negative ttl",
        "ReturnCallbackCommand",
        json!({"correlationKey": "R-4", "ttlSeconds": -1}),
    )
    .await;
    s.admin(
        "a callback without a correlation key",
        "ReturnCallbackCommand",
        json!({}),
    )
    .await;
    s.admin("the buffer", "GetMessageBufferListQuery", json!({}))
        .await;
    s.admin(
        "start the one R-3 was for: the buffered callback completes it",
        "StartProcessInstanceCommand",
        json!({"processKey": "CallbackFlow", "context": {"ref": "R-3"}}),
    )
    .await;
    s.admin(
        "the buffer after",
        "GetMessageBufferListQuery",
        json!({"status": "Correlated"}),
    )
    .await;
    s.admin(
        "the buffer with a bad status",
        "GetMessageBufferListQuery",
        json!({"status": "Lost"}),
    )
    .await;
    s.check("callbacks");
}

#[tokio::test]
async fn messages_and_signals() {
    let mut s = Story::new();
    for (step, xml) in [
        ("deploy OrderFlow", order_flow()),
        ("deploy AlarmFlow", alarm_flow()),
    ] {
        s.admin(
            step,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": xml}),
        )
        .await;
    }
    let o = s
        .admin(
            "start an order waiting for Paid",
            "StartProcessInstanceCommand",
            json!({"processKey": "OrderFlow", "variables": {"orderId": "O-1"}}),
        )
        .await;
    let order = guid(&o);
    s.admin(
        "correlate Paid for O-1 with a message id",
        "CorrelateMessageCommand",
        json!({"messageName": "Paid", "correlationKey": "O-1", "variables": {"amount": 3}, "messageId": "m-1"}),
    )
    .await;
    s.admin(
        "the same message id again: a duplicate",
        "CorrelateMessageCommand",
        json!({"messageName": "Paid", "correlationKey": "O-1", "messageId": "m-1"}),
    )
    .await;
    s.admin(
        "Paid for an order nobody waits for: discarded",
        "CorrelateMessageCommand",
        json!({"messageName": "Paid", "correlationKey": "O-2"}),
    )
    .await;
    s.admin(
        "Paid for O-3 with a ttl: buffered",
        "CorrelateMessageCommand",
        json!({"messageName": "Paid", "correlationKey": "O-3", "ttlSeconds": 30}),
    )
    .await;
    s.admin(
        "a message without a name",
        "CorrelateMessageCommand",
        json!({"correlationKey": "O-1"}),
    )
    .await;
    s.admin(
        "the completed order",
        "GetProcessInstanceByIdQuery",
        json!({"instanceGuid": order}),
    )
    .await;
    s.advance(31);
    s.admin(
        "the buffer once the ttl passed",
        "GetMessageBufferListQuery",
        json!({}),
    )
    .await;
    s.admin(
        "start two alarms",
        "StartProcessInstanceCommand",
        json!({"processKey": "AlarmFlow"}),
    )
    .await;
    s.admin(
        "and another",
        "StartProcessInstanceCommand",
        json!({"processKey": "AlarmFlow"}),
    )
    .await;
    s.admin(
        "broadcast Alarm",
        "BroadcastSignalCommand",
        json!({"signalName": "Alarm", "variables": {"level": 2}}),
    )
    .await;
    s.admin(
        "broadcast a signal nobody waits for",
        "BroadcastSignalCommand",
        json!({"signalName": "Quiet"}),
    )
    .await;
    s.admin(
        "broadcast without a name",
        "BroadcastSignalCommand",
        json!({}),
    )
    .await;
    s.check("messages_and_signals");
}
