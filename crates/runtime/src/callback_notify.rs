//! Notifying a receive task's `WebhookUrl` (seed 002's CallbackRegistry field "for webhook
//! notifications") when its callback completes.
//!
//! The rules (docs/callbacks.md says them for users):
//! - When a step completes a CallbackRegistry row that has a `WebhookUrl` (a ReturnCallbackCommand,
//!   a form submission on a form-mode receive task, a message that completes the task), that
//!   step's transaction also writes one delivery (`callback.completed`) to that URL: a
//!   committed step always has its notification, a rolled-back one has none.
//! - The delivery sender sends it like any other delivery (retries with backoff, `Failed` after
//!   the last attempt, listed by GetDeliveryListQuery, sent again by RedeliverCommand), signed
//!   per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the
//!   secret the receive task names (`WebhookSecretName`), else the one named [`SECRET`]
//!   (SetSecretCommand, a `whsec_` key). Until that secret is set, each attempt fails with an
//!   error naming it and is retried.
//! - The URL is a model's, and models travel: it is held to the rule for URLs a
//!   non-administrator gave (docs/security.md "Outbound URLs"): unless
//!   `allowPrivateOutboundUrls` is on, the sender resolves it at every attempt and refuses
//!   loopback, private and link-local addresses (the delivery ends `Failed`, naming the
//!   address).

use crate::Error;
use baton_store::{DeliveryRow, NewDelivery, Tx};
use serde_json::{json, Value};

/// The event name of a callback notification (its delivery rows' `eventName`).
pub(crate) const EVENT: &str = "callback.completed";
/// The name of the secret (SetSecretCommand) that signs callback notifications.
pub(crate) const SECRET: &str = "callbackWebhook";

/// A completed callback, as its notification tells it.
pub(crate) struct Completed<'a> {
    pub guid: &'a str,
    pub task_id: &'a str,
    pub correlation_key: Option<&'a str>,
    pub result: &'a Value,
    /// When the step completed it (the step's time).
    pub at: &'a str,
}

/// The notification's body; `sequence`: its number among the instance's events out.
fn body(id: &str, c: &Completed, sequence: i64) -> Value {
    json!({
        "id": id,
        "eventName": EVENT,
        "sequence": sequence,
        "timestamp": c.at,
        "instanceGuid": c.guid,
        "taskId": c.task_id,
        "correlationKey": c.correlation_key,
        "status": "Completed",
        "result": c.result,
        "completedAt": c.at,
    })
}

/// Writes the notification of `c` to `url`, in the transaction of the step that completed it;
/// `secret`: the name of the secret that signs it, when the task names its own.
pub(crate) fn enqueue(
    tx: &Tx,
    url: &str,
    c: &Completed,
    secret: Option<&str>,
) -> Result<(), Error> {
    let id = uuid::Uuid::new_v4().to_string();
    // Numbered with the instance's other events out (seed 004's ordering), in the same step.
    let sequence = tx.next_event_sequence(c.guid, 1)?;
    let payload = body(&id, c, sequence).to_string();
    // The sender checks URLs it finds here on every attempt (`Runtime::outbound_checked`).
    tx.mark_outbound_checked(url, c.at)?;
    tx.insert_delivery(&NewDelivery {
        id: &id,
        subscription_id: None,
        custom_webhook_id: None,
        event_name: EVENT,
        payload: &payload,
        url,
        at: c.at,
        instance_guid: Some(c.guid),
        sequence: Some(sequence),
        secret_name: secret,
    })?;
    Ok(())
}

/// Whether a delivery row is a callback notification.
pub(crate) fn is_notification(row: &DeliveryRow) -> bool {
    row.event_name == EVENT && row.subscription_id.is_none() && row.custom_webhook_id.is_none()
}

/// The headers of a notification's attempt at `timestamp` (Unix seconds), signed with the
/// secret its row names (its task's `WebhookSecretName`), else [`SECRET`], as `secret` finds
/// it. An error (no secret, or not a `whsec_` key) fails the attempt, which is retried.
pub(crate) fn headers(
    row: &DeliveryRow,
    timestamp: i64,
    secret: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, String> {
    let name = row.secret_name.as_deref().unwrap_or(SECRET);
    let key = secret(name).ok_or_else(|| {
        format!(
            "this callback notification is signed with the secret '{name}', which is not set (SetSecretCommand with a whsec_ value)"
        )
    })?;
    let signature = crate::events::sign(&key, &row.id, timestamp, &row.payload)
        .map_err(|e| format!("secret '{name}': {e}"))?;
    Ok([
        ("content-type".into(), "application/json".into()),
        ("webhook-id".into(), row.id.clone()),
        ("webhook-timestamp".into(), timestamp.to_string()),
        ("webhook-signature".into(), signature),
    ]
    .into_iter()
    .chain(crate::events::sequence_header(row))
    .collect())
}
