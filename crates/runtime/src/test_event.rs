//! SendTestEventCommand: one `webhook.test` event sent now to an event subscription or a custom
//! webhook, so that whoever set up the receiver sees it answer before any instance runs.
//!
//! The event is a delivery like any other (signed the same way, its attempt recorded, listed by
//! GetDeliveryListQuery, retried by the sender when the receiver fails, sent again by
//! RedeliverCommand). Its payload has the shape of every event out (docs/events.md) with no
//! instance: the instance's fields are null and `data` is empty.

use crate::{Answer, Error, Runtime};
use baton_store::NewDelivery;
use serde_json::{json, Value};

/// The event name of a test delivery.
pub(crate) const EVENT: &str = "webhook.test";

/// The test event's payload, delivery `id`, at `now`.
fn payload(id: &str, now: &str, environment: crate::Environment) -> Value {
    json!({
        "id": id,
        "eventName": EVENT,
        "apiVersion": 1,
        "sequence": null,
        "timestamp": now,
        "assignedAt": null,
        "assignee": null,
        "workflowCreatedAt": null,
        "workflowResolvedAt": null,
        "workflowDefinitionId": null,
        "processKey": null,
        "workflowRuntimeId": null,
        "ballerineEntityId": null,
        "correlationId": null,
        "environment": environment.as_str(),
        "data": {},
        "test": true,
    })
}

/// The one id the command takes: `subscriptionId` or `customWebhookId`.
enum Target {
    Subscription(i64),
    CustomWebhook(i64),
}

fn target(data: &Value) -> Result<Target, Error> {
    let id = |field: &'static str| -> Result<Option<i64>, Error> {
        match data.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_i64().filter(|n| *n > 0).map(Some).ok_or_else(|| {
                Error::field(field, format!("{field} must be a whole number above 0"))
            }),
        }
    };
    match (id("subscriptionId")?, id("customWebhookId")?) {
        (Some(s), None) => Ok(Target::Subscription(s)),
        (None, Some(c)) => Ok(Target::CustomWebhook(c)),
        (Some(_), Some(_)) => Err(Error::field(
            "customWebhookId",
            "give subscriptionId or customWebhookId, not both".into(),
        )),
        (None, None) => Err(Error::field(
            "subscriptionId",
            "subscriptionId (or customWebhookId) is required".into(),
        )),
    }
}

impl Runtime {
    /// SendTestEventCommand (`subscriptionId` or `customWebhookId`): writes one `webhook.test`
    /// delivery to that receiver, sends it now, and answers the delivery as recorded.
    pub(crate) fn send_test_event(&self, data: &Value) -> Answer {
        let (url, subscription_id, custom_webhook_id) = match target(data)? {
            Target::Subscription(id) => {
                let s = self.store().event_subscription(id)?.ok_or_else(|| {
                    Error::no_such("subscriptionId", format!("no event subscription {id}"))
                })?;
                (s.url, Some(id), None)
            }
            Target::CustomWebhook(id) => {
                let w = self.store().custom_webhook(id)?.ok_or_else(|| {
                    Error::no_such("customWebhookId", format!("no custom webhook {id}"))
                })?;
                (w.url, None, Some(id))
            }
        };
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.now();
        let body = payload(&id, &now, self.environment()).to_string();
        {
            let (id, now) = (id.clone(), now.clone());
            self.write(move |tx| {
                Ok(tx.insert_delivery(&NewDelivery {
                    id: &id,
                    subscription_id,
                    custom_webhook_id,
                    event_name: EVENT,
                    payload: &body,
                    url: &url,
                    at: &now,
                    instance_guid: None,
                    sequence: None,
                    secret_name: None,
                })?)
            })?;
        }
        let row = self
            .store()
            .delivery(&id)?
            .ok_or_else(|| Error::internal(format!("the test delivery {id} was not stored")))?;
        let row = self.attempt(&row).map_err(Error::internal)?;
        Ok(("Test event sent".into(), crate::events::delivery_json(&row)))
    }
}
