//! Incoming webhooks are idempotent when the sender gives an id (docs/webhooks.md
//! "Repeated deliveries"): a request whose configuration already handled the same id is
//! answered as a duplicate (200, `duplicate: true`, the first request's outcome), runs nothing,
//! and is logged with verdict `duplicate`.
//!
//! The sender's id ([`sender_id`]), first rule that applies:
//! 1. a `webhook-id` header (Standard Webhooks; any configuration): `webhook-id:<id>`;
//! 2. Stripe (the configuration's scheme is `stripe`, or a `Stripe-Signature` header came): the
//!    JSON body's `id` (the event's `evt_...`): `stripe:<id>`;
//! 3. Paystack (scheme `paystack`, or an `x-paystack-signature` header came): the JSON body's
//!    `event` and `data.id` (Paystack's id of the transaction, transfer, refund... the event is
//!    about): `paystack:<event>:<data.id>`.
//!
//! Ids over 200 bytes are kept as their SHA-256. Replays (`ReplayWebhookRequestCommand`) are
//! never deduplicated: an administrator asks to run a request again.
//!
//! How a repeat is found, without a check-then-act:
//! - An id is claimed in `webhook_seen` (its key is the configuration and the id) inside the
//!   transaction that records the request: the step's, when the request resumed or started an
//!   instance (see `log`), else the door's own write. Only a request that ran claims it (its
//!   step committed, or it was answered 200): a sender retries what failed, and that retry must
//!   run.
//! - Before running, the door reads whether the id was claimed already; while one request of
//!   an id runs, another of the same id (same configuration) waits for it in this process
//!   ([`InFlight`]) and then finds the claim. So two identical requests at once run once.
//! - Should two requests of an id still meet (two processes on one file), the second claim
//!   fails inside its transaction: the step rolls back whole, and the request is answered and
//!   logged as the duplicate it is.
//!
//! The claims leave with their requests' rows (the log's retention, `retention`), so an id is
//! remembered as long as the request that handled it is kept.

use super::log::{Kept, Row};
use super::WebhookAnswer;
use crate::{Error, Runtime};
use serde_json::{json, Map, Value};
use sha2::Digest;
use std::collections::HashSet;
use std::sync::{Condvar, Mutex};

/// Ids longer than this (bytes, with their source) are kept as their SHA-256.
const LONGEST_ID: usize = 200;

/// The sender's id of a request, by the rules of the module's comment; None when it gave none.
/// `scheme`: the configuration's verification scheme; `headers` in lower case.
pub(super) fn sender_id(
    scheme: &str,
    headers: &Map<String, Value>,
    body: Option<&Value>,
) -> Option<String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    if let Some(id) = header("webhook-id") {
        return Some(kept("webhook-id", id));
    }
    let body = body?.as_object()?;
    if scheme == "stripe" || header("stripe-signature").is_some() {
        return match body.get("id") {
            Some(Value::String(id)) if !id.is_empty() => Some(kept("stripe", id)),
            _ => None,
        };
    }
    if scheme == "paystack" || header("x-paystack-signature").is_some() {
        let event = body.get("event").and_then(Value::as_str)?;
        let id = match body.get("data")?.get("id")? {
            Value::Number(n) => n.to_string(),
            Value::String(s) if !s.is_empty() => s.clone(),
            _ => return None,
        };
        return Some(kept("paystack", &format!("{event}:{id}")));
    }
    None
}

/// `source:id`, or `source:sha256:<hex>` for a long id.
fn kept(source: &str, id: &str) -> String {
    if source.len() + 1 + id.len() <= LONGEST_ID {
        return format!("{source}:{id}");
    }
    let digest = sha2::Sha256::digest(id.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{source}:sha256:{hex}")
}

/// The sender ids of requests running now, per configuration: a second request of one waits
/// until the first is done.
#[derive(Default)]
pub(crate) struct InFlight {
    held: Mutex<HashSet<(i64, String)>>,
    freed: Condvar,
}

/// A held id; released (and its waiters woken) when dropped, also when the request panics.
pub(super) struct Held<'a> {
    owner: &'a InFlight,
    key: (i64, String),
}

impl InFlight {
    /// Holds `(config, id)` when no other request does.
    pub(super) fn try_hold(&self, config: i64, id: &str) -> Option<Held<'_>> {
        let key = (config, id.to_string());
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        // `then`, not `then_some`: a `Held` made when the id is taken would be dropped here,
        // locking this mutex again and releasing the other request's hold.
        held.insert(key.clone()).then(|| Held { owner: self, key })
    }

    /// Holds `(config, id)`, after waiting for a request that holds it.
    pub(super) fn hold(&self, config: i64, id: &str) -> Held<'_> {
        let key = (config, id.to_string());
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        while held.contains(&key) {
            held = self.freed.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        held.insert(key.clone());
        Held { owner: self, key }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut held = self.owner.held.lock().unwrap_or_else(|p| p.into_inner());
        held.remove(&self.key);
        self.owner.freed.notify_all();
    }
}

impl Runtime {
    /// The request that handled `id` for configuration `config` already, if one did.
    pub(super) fn handled_by(&self, config: i64, id: &str) -> Result<Option<i64>, Error> {
        Ok(self.store().webhook_seen(config, id)?)
    }

    /// A request whose claim of its id failed (another request holds it): answered and logged
    /// as that request's duplicate.
    pub(super) fn repeat_found(&self, row: Row) -> (Option<Kept>, WebhookAnswer) {
        let first = match (row.config_id, row.sender_id.as_deref()) {
            (Some(c), Some(id)) => self.handled_by(c, id),
            _ => Ok(None),
        };
        match first {
            Ok(Some(first)) => self.duplicate(row, first),
            Ok(None) => (
                None,
                WebhookAnswer::failed(Error::internal(
                    "a sender id's claim failed, and no request holds it",
                )),
            ),
            Err(e) => (None, WebhookAnswer::failed(e)),
        }
    }

    /// Answers and logs `row` (not run) as a repeat of request `first`: 200, `duplicate: true`,
    /// the first request's outcome as its log holds it. The log's row holds no body and, as its
    /// outcome, only which request it repeats. Answers the row too, None when it could not be
    /// written.
    pub(super) fn duplicate(&self, row: Row, first: i64) -> (Option<Kept>, WebhookAnswer) {
        let shown = match self.store().webhook_request(first) {
            Ok(Some(r)) => {
                let outcome = r
                    .outcome
                    .as_deref()
                    .and_then(|o| serde_json::from_str::<Value>(o).ok());
                json!({"firstReceivedAt": r.received_at, "firstStatusCode": r.status_code,
                    "firstOutcome": outcome})
            }
            _ => json!({"firstReceivedAt": null, "firstStatusCode": null, "firstOutcome": null}),
        };
        let id = row.sender_id.clone().unwrap_or_default();
        let mut data = json!({"duplicate": true, "senderId": id, "firstRequestId": first});
        if let (Value::Object(d), Value::Object(s)) = (&mut data, shown) {
            d.extend(s);
        }
        let message =
            format!("duplicate: {id} was handled by webhook request {first}; not run again");
        // The log keeps the pointer, not a copy of the first outcome (bounded like any row).
        let outcome =
            json!({"duplicate": true, "senderId": id, "firstRequestId": first}).to_string();
        let row = Row {
            duplicate_of: Some(first),
            body: String::new(),
            ..row
        };
        let row_id = row.id;
        let recorded =
            self.write(move |tx| row.insert(tx, "duplicate", Some(200), Some(&outcome), None));
        let logged = match recorded {
            Ok(()) => Some(Kept {
                id: row_id,
                verdict: "duplicate",
            }),
            Err(e) => {
                tracing::warn!("could not record a duplicate webhook request: {}", e.line());
                None
            }
        };
        let answer = WebhookAnswer {
            status: 200,
            body: json!({"isSuccessful": true, "duplicate": true, "message": message, "data": data}),
        };
        (logged, answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_id_is_refused_to_a_second_try_and_stays_held_until_its_holder_drops_it() {
        let in_flight = InFlight::default();
        let first = in_flight.try_hold(1, "evt_1").expect("a free id is held");
        assert!(in_flight.try_hold(1, "evt_1").is_none(), "taken: refused");
        assert!(
            in_flight.try_hold(1, "evt_1").is_none(),
            "still taken: the refusal released nothing"
        );
        let other_config = in_flight.try_hold(2, "evt_1");
        assert!(other_config.is_some(), "ids are per configuration");
        drop(first);
        assert!(in_flight.try_hold(1, "evt_1").is_some(), "free again");
    }

    fn headers(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), json!(v)))
            .collect()
    }

    #[test]
    fn each_sender_names_its_id_its_own_way() {
        let none = headers(&[]);
        let sw = headers(&[("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")]);
        assert_eq!(
            sender_id("standardWebhooks", &sw, None).as_deref(),
            Some("webhook-id:msg_p5jXN8AQM9LWM0D4loKWxJek")
        );
        // Any configuration takes the header, whatever its body.
        assert!(sender_id("none", &sw, Some(&json!([1]))).is_some());

        let stripe = json!({"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "object": "event",
            "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1"}}});
        assert_eq!(
            sender_id("stripe", &none, Some(&stripe)).as_deref(),
            Some("stripe:evt_1NG8Du2eZvKYlo2CUI79vXWy")
        );
        let signed = headers(&[("stripe-signature", "t=1,v1=ab")]);
        assert!(sender_id("none", &signed, Some(&stripe)).is_some());
        // Not a Stripe request: a body's `id` means nothing.
        assert_eq!(sender_id("hmacSha256", &none, Some(&stripe)), None);

        let paystack = json!({"event": "charge.success", "data": {"id": 302961,
            "reference": "qTPrJoy9Bx", "amount": 10000}});
        assert_eq!(
            sender_id("paystack", &none, Some(&paystack)).as_deref(),
            Some("paystack:charge.success:302961")
        );
        let signed = headers(&[("x-paystack-signature", "abc")]);
        assert!(sender_id("none", &signed, Some(&paystack)).is_some());
        // Seed 000's own callback has no data.id: no id.
        let seed = json!({"event": "charge.success", "data": {"reference": "REF123456",
            "amount": 50000, "customer": {"email": "john@example.com"}}});
        assert_eq!(sender_id("paystack", &none, Some(&seed)), None);
        assert_eq!(sender_id("none", &none, Some(&paystack)), None);

        // A long id is kept as its hash: bounded, and still one per id.
        let long = "x".repeat(5_000);
        let h = headers(&[("webhook-id", long.as_str())]);
        let kept = sender_id("none", &h, None).unwrap();
        assert!(kept.starts_with("webhook-id:sha256:") && kept.len() < LONGEST_ID);
        assert_eq!(sender_id("none", &h, None).unwrap(), kept);
    }

    #[test]
    fn a_held_id_waits_for_its_holder() {
        let f = std::sync::Arc::new(InFlight::default());
        let first = f.hold(1, "a");
        // Another id, or the same id of another configuration, does not wait.
        drop(f.hold(1, "b"));
        drop(f.hold(2, "a"));
        let (tx, rx) = std::sync::mpsc::channel();
        let f2 = f.clone();
        let t = std::thread::spawn(move || {
            let _second = f2.hold(1, "a");
            tx.send(()).unwrap();
        });
        assert!(
            rx.try_recv().is_err(),
            "the second waits while the first holds"
        );
        drop(first);
        rx.recv().unwrap();
        t.join().unwrap();
    }
}
