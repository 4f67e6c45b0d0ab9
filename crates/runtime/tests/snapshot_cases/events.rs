//! Events out: subscriptions, secrets, custom webhooks, deliveries and redelivery.

use crate::Story;
use baton_testkit::Model;
use serde_json::json;

fn review() -> String {
    Model::process("Review_Flow")
        .start("s")
        .user_task("Manager")
        .named("Manager review")
        .end("e")
        .chain(&["s", "Manager", "e"])
        .xml()
}

#[tokio::test]
async fn events_out() {
    let mut s = Story::new();
    let bob = s.bob.token.clone();
    s.admin(
        "deploy Review_Flow",
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": review()}),
    )
    .await;
    s.admin(
        "subscribe to every event (a secret is made)",
        "CreateEventSubscriptionCommand",
        json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]}),
    )
    .await;
    s.admin(
        "subscribe to one process's completions with a given secret",
        "CreateEventSubscriptionCommand",
        json!({"url": "https://example.test/h", "events": ["workflow.completed"],
               "processKey": "Review_Flow", "secret": "whsec_c2VjcmV0LWtleQ=="}),
    )
    .await;
    s.admin(
        "subscribe with an ftp url",
        "CreateEventSubscriptionCommand",
        json!({"url": "ftp://x", "events": ["*"]}),
    )
    .await;
    s.admin(
        "subscribe to an unknown event",
        "CreateEventSubscriptionCommand",
        json!({"url": "http://x", "events": ["workflow.nope"]}),
    )
    .await;
    s.admin(
        "subscribe with a plain secret",
        "CreateEventSubscriptionCommand",
        json!({"url": "http://x", "events": ["*"], "secret": "plain"}),
    )
    .await;
    s.admin(
        "list subscriptions (secrets are not shown)",
        "GetEventSubscriptionListQuery",
        json!({}),
    )
    .await;
    s.admin(
        "set a secret",
        "SetSecretCommand",
        json!({"name": "VENDOR_KEY", "value": "k-123"}),
    )
    .await;
    s.admin(
        "set a secret with a space in its name",
        "SetSecretCommand",
        json!({"name": "A B", "value": "v"}),
    )
    .await;
    s.admin(
        "set a secret without a value",
        "SetSecretCommand",
        json!({"name": "A"}),
    )
    .await;
    s.call(
        "a non-administrator may not set secrets",
        &bob,
        "SetSecretCommand",
        json!({"name": "A", "value": "v"}),
    )
    .await;
    s.admin(
        "create a custom webhook on entering a state",
        "CreateCustomWebhookCommand",
        json!({"name": "backend_update", "url": "http://127.0.0.1:9/custom", "method": "PUT",
               "stateNames": ["Manager review"],
               "headers": {"authorization": "Bearer {secret.VENDOR_KEY}"},
               "request": {"transform": {"transformer": "jmespath", "mapping": "{id: instanceGuid}"}}}),
    )
    .await;
    s.admin(
        "create one with GET",
        "CreateCustomWebhookCommand",
        json!({"name": "n", "url": "http://x", "stateNames": ["A"], "method": "GET"}),
    )
    .await;
    s.admin(
        "create one with a bad mapping",
        "CreateCustomWebhookCommand",
        json!({"name": "n", "url": "http://x", "stateNames": ["A"],
               "request": {"transform": {"transformer": "jmespath", "mapping": "{a:"}}}),
    )
    .await;
    s.admin(
        "list custom webhooks",
        "GetCustomWebhookListQuery",
        json!({}),
    )
    .await;
    s.admin(
        "start a review: deliveries are queued",
        "StartProcessInstanceCommand",
        json!({"processKey": "Review_Flow"}),
    )
    .await;
    s.admin(
        "the deliveries",
        "GetDeliveryListQuery",
        json!({"pageSize": 100}),
    )
    .await;
    s.admin(
        "deliveries with an unknown status",
        "GetDeliveryListQuery",
        json!({"status": "Lost"}),
    )
    .await;
    s.admin(
        "redeliver an unknown delivery",
        "RedeliverCommand",
        json!({"id": "nope"}),
    )
    .await;
    s.admin(
        "a test event to an unknown subscription",
        "SendTestEventCommand",
        json!({"subscriptionId": 99}),
    )
    .await;
    s.admin(
        "deliveries of an unknown event",
        "GetDeliveryListQuery",
        json!({"eventName": "workflow.nope"}),
    )
    .await;
    s.admin(
        "delete the custom webhook",
        "DeleteCustomWebhookCommand",
        json!({"id": 1}),
    )
    .await;
    s.admin(
        "delete an unknown custom webhook",
        "DeleteCustomWebhookCommand",
        json!({"id": 99}),
    )
    .await;
    s.admin(
        "delete the second subscription",
        "DeleteEventSubscriptionCommand",
        json!({"id": 2}),
    )
    .await;
    s.admin(
        "delete an unknown subscription",
        "DeleteEventSubscriptionCommand",
        json!({"id": 99}),
    )
    .await;
    s.check("events_out");
}
