//! Events out (API.md "Events out", seed 004): subscriptions, custom webhooks, the delivery log
//! and the sender.
//!
//! - A step writes its events as `deliveries` rows in its own transaction (`enqueue`, called by
//!   `write_step`): a committed step always has its deliveries, a rolled-back one has none.
//!   Without any subscription or custom webhook (`Runtime::events_on`), a step does not even
//!   look.
//! - The sender (`spawn_sender`, or `deliver_due` in tests) sends `Pending` rows whose
//!   `next_attempt_at` has come, signed per Standard Webhooks for subscriptions, with their own
//!   headers and transformed body for custom webhooks. 2xx: `Delivered`; otherwise the row is
//!   tried again after a backoff, and `Failed` after `MAX_ATTEMPTS`. It sleeps until the earliest
//!   due row, or until a step enqueued one. Each attempt records the status code and the first
//!   2 KiB of the answer's body (`lastResponseBody`), or the error when there was no answer.

use crate::event_payload::{self, Event};
use crate::{object, opt_text, paging, text, Answer, Error, Indexed, Runtime};
use base64::Engine as _;
use baton_engine::{Effect, Engine, Instance};
use baton_store::{Attempt, DeliveryRow, NewDelivery, Tx};
use hmac::Mac;
use jiff::SignedDuration;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// The events a subscription may name (besides `*`).
pub(crate) const EVENTS: &[&str] = &[
    event_payload::STATE_CHANGED,
    event_payload::CONTEXT_CHANGED,
    event_payload::COMPLETED,
    event_payload::DOCUMENT_CHANGED,
    event_payload::DOCUMENT_UPDATED,
    event_payload::DOCUMENT_COMPLETED,
];
/// Attempts before a delivery is `Failed`.
pub(crate) const MAX_ATTEMPTS: i64 = 7;
/// The wait after the Nth failed attempt (N = 1..6).
const BACKOFF_SECS: [i64; 6] = [10, 60, 300, 1800, 7200, 21600];
/// How long one request may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Due rows read per round.
const SEND_BATCH: i64 = 256;

/// What a step changed, for its events.
pub(crate) struct StepEvents<'a> {
    pub engine: &'a Engine,
    pub inst: &'a Instance,
    pub guid: &'a str,
    pub before: &'a Indexed,
    pub after: &'a Indexed,
    /// The history's `variablesChanged` data, when variables changed.
    pub change: Option<&'a Value>,
    pub effects: &'a [Effect],
    pub now: &'a str,
    /// The `environment` the payloads name.
    pub environment: crate::Environment,
}

/// Who receives an event: (url, subscription id, custom webhook id).
type Taker<'a> = (&'a str, Option<i64>, Option<i64>);

/// Writes a step's deliveries (in the step's transaction). Answers whether it wrote any.
///
/// Each event that has at least one taker (a subscription that wants it, a custom webhook whose
/// state was entered) takes the instance's next number (`sequence`), in this transaction: the
/// numbers of one instance's deliveries follow the order of its committed steps.
pub(crate) fn enqueue(tx: &Tx, s: &StepEvents) -> Result<bool, Error> {
    let Some(src) = tx.event_source(s.guid)? else {
        return Ok(false);
    };
    let subs = tx.subscriptions_for(&src.process_key, s.guid)?;
    let hooks = tx.custom_webhooks_for(&src.process_key)?;
    if subs.is_empty() && hooks.is_empty() {
        return Ok(false);
    }
    let mut planned: Vec<(Event, Vec<Taker>)> = Vec::new();
    if !subs.is_empty() {
        let wanted: Vec<Vec<String>> = subs
            .iter()
            .map(|sub| serde_json::from_str(&sub.events).unwrap_or_default())
            .collect();
        for e in event_payload::step_events(s) {
            let takers: Vec<_> = subs
                .iter()
                .zip(&wanted)
                .filter(|(_, w)| w.iter().any(|n| n == "*" || n == e.name))
                .map(|(sub, _)| (sub.url.as_str(), Some(sub.id), None))
                .collect();
            if !takers.is_empty() {
                planned.push((e, takers));
            }
        }
    }
    if !hooks.is_empty() {
        let status = s.inst.status.as_str();
        for e in s.effects {
            let Effect::ElementEntered { element_id } = e else {
                continue;
            };
            let name = s
                .engine
                .deployment
                .node_by_id(element_id)
                .and_then(|n| s.engine.deployment.node(n).name.clone());
            let takers: Vec<_> = hooks
                .iter()
                .filter(|hook| {
                    let states: Vec<String> =
                        serde_json::from_str(&hook.state_names).unwrap_or_default();
                    states
                        .iter()
                        .any(|st| st == element_id || name.as_deref() == Some(st.as_str()))
                })
                .map(|hook| (hook.url.as_str(), None, Some(hook.id)))
                .collect();
            if !takers.is_empty() {
                let e = event_payload::state_entered(element_id, name.as_deref(), status);
                planned.push((e, takers));
            }
        }
    }
    if planned.is_empty() {
        return Ok(false);
    }
    let first = tx.next_event_sequence(s.guid, planned.len() as i64)?;
    let assignment = event_payload::assignment(tx, s)?;
    for (sequence, (e, takers)) in (first..).zip(&planned) {
        for (url, subscription_id, custom_webhook_id) in takers {
            let id = uuid::Uuid::new_v4().to_string();
            let payload =
                event_payload::envelope(&src, s, &assignment, e, &id, sequence).to_string();
            tx.insert_delivery(&NewDelivery {
                id: &id,
                subscription_id: *subscription_id,
                custom_webhook_id: *custom_webhook_id,
                event_name: e.name,
                payload: &payload,
                url,
                at: s.now,
                instance_guid: Some(s.guid),
                sequence: Some(sequence),
                secret_name: None,
            })?;
        }
    }
    Ok(true)
}

/// `config.subscriptions` of StartProcessInstanceCommand: `[{"url", "events", "secret"?}]`,
/// as (url, events JSON, secret).
pub(crate) fn config_subscriptions(data: &Value) -> Result<Vec<(String, String, String)>, Error> {
    let config = object(data, "config")?;
    let list = match config.get("subscriptions") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(l)) => l,
        Some(_) => {
            return Err(Error::field(
                "config",
                "config.subscriptions must be a list of {url, events, secret?}".into(),
            ))
        }
    };
    let mut out = Vec::new();
    for (i, s) in list.iter().enumerate() {
        if !s.is_object() {
            return Err(Error::field(
                "config",
                format!("config.subscriptions[{i}] must be an object {{url, events, secret?}}"),
            ));
        }
        let prefix = |m: String| format!("config.subscriptions[{i}].{m}");
        match s.get("type") {
            None | Some(Value::Null) => {}
            Some(Value::String(t)) if t == "webhook" => {}
            Some(t) => {
                return Err(Error::field(
                    "config",
                    prefix(format!("type must be \"webhook\" (the only kind), not {t}")),
                ))
            }
        }
        let url = check_url(s, "url").map_err(|m| Error::field("config", prefix(m)))?;
        let events = check_events(s).map_err(|m| Error::field("config", prefix(m)))?;
        let secret = check_secret(s).map_err(|m| Error::field("config", prefix(m)))?;
        out.push((url, events, secret));
    }
    Ok(out)
}

fn check_url(data: &Value, field: &str) -> Result<String, String> {
    match data.get(field) {
        Some(Value::String(u)) => {
            let rest = u
                .strip_prefix("http://")
                .or_else(|| u.strip_prefix("https://"));
            match rest {
                Some(host) if !host.trim().is_empty() && !u.contains(char::is_whitespace) => {
                    Ok(u.clone())
                }
                _ => Err(format!(
                    "{field} must be an http:// or https:// address, not '{u}'"
                )),
            }
        }
        None | Some(Value::Null) => Err(format!("{field} is required")),
        Some(_) => Err(format!("{field} must be a string")),
    }
}

/// The `events` list as JSON: `*` or known event names.
fn check_events(data: &Value) -> Result<String, String> {
    let list = match data.get("events") {
        Some(Value::Array(l)) if !l.is_empty() => l,
        None | Some(Value::Null) => {
            return Err("events is required: a list of event names, or [\"*\"]".into())
        }
        _ => return Err("events must be a non-empty list of event names, or [\"*\"]".into()),
    };
    let mut names = Vec::new();
    for v in list {
        match v.as_str() {
            Some(n) if n == "*" || EVENTS.contains(&n) => names.push(n),
            Some(n) => {
                return Err(format!(
                    "events: unknown event '{n}'; use * or one of {}",
                    EVENTS.join(", ")
                ))
            }
            None => return Err("events must hold event names (strings)".into()),
        }
    }
    Ok(json!(names).to_string())
}

/// The given `secret` (a Standard Webhooks `whsec_<base64>`), or a new one.
fn check_secret(data: &Value) -> Result<String, String> {
    match data.get("secret") {
        None | Some(Value::Null) => Ok(new_secret()),
        Some(Value::String(s)) => {
            crate::webhooks::standard_key(s).map_err(|e| format!("secret: {e}"))?;
            Ok(s.clone())
        }
        Some(_) => Err("secret must be a string whsec_<base64>".into()),
    }
}

/// `whsec_` and the base64 of 24 random bytes.
fn new_secret() -> String {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.truncate(24);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn id_of(data: &Value) -> Result<i64, Error> {
    match data.get("id") {
        None | Some(Value::Null) => Err(Error::field("id", "id is required".into())),
        Some(v) => v
            .as_i64()
            .ok_or_else(|| Error::field("id", "id must be an integer".into())),
    }
}

/// The `{secret.NAME}` references of a header value, resolved.
fn resolve_secrets(
    header: &str,
    value: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("{secret.") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "{secret.".len()..];
        let Some(end) = after.find('}') else {
            return Err(format!(
                "header '{header}': a {{secret.NAME}} reference is not closed"
            ));
        };
        let name = &after[..end];
        let secret = lookup(name).ok_or_else(|| {
            format!("header '{header}' names secret '{name}', which is not set (SetSecretCommand)")
        })?;
        out.push_str(&secret);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The Standard Webhooks signature header value of a body.
pub(crate) fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let key = crate::webhooks::standard_key(secret)?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key)
        .map_err(|e| format!("the secret cannot key an HMAC: {e}"))?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The header with a delivery's number within its instance (rows from before schema v12 have
/// none).
pub(crate) const SEQUENCE_HEADER: &str = "baton-sequence";

pub(crate) fn sequence_header(row: &DeliveryRow) -> Option<(String, String)> {
    row.sequence
        .map(|n| (SEQUENCE_HEADER.to_string(), n.to_string()))
}

/// How much of a receiver's answer body a delivery keeps (`lastResponseBody`).
pub(crate) const RESPONSE_KEPT: usize = 2048;

/// The first `RESPONSE_KEPT` bytes of an answer body, as text: invalid UTF-8 becomes U+FFFD,
/// and a character cut in two at the limit is left out. Reading stops at the limit (a large or
/// endless body is not read further); a body that fails midway keeps what arrived.
fn response_start(reader: impl std::io::Read) -> String {
    use std::io::Read as _;
    let mut bytes = Vec::with_capacity(256);
    let _ = reader.take(RESPONSE_KEPT as u64).read_to_end(&mut bytes);
    let mut end = bytes.len();
    if let Err(e) = std::str::from_utf8(&bytes) {
        if e.error_len().is_none() {
            // An incomplete character at the end: the limit cut it.
            end = e.valid_up_to();
        }
    }
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// A request ready to send.
struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// How an attempt went.
enum Sent {
    /// The receiver answered (any status): its status and the start of its body
    /// (`RESPONSE_KEPT` bytes at most, as text).
    Answered(u16, String),
    /// No answer: connection, TLS or timeout, or the request could not be built.
    Error(String),
    /// It can never be sent (its subscription or webhook is gone).
    Gone(String),
}

/// The running delivery sender; `stop` ends it.
pub type SenderHandle = crate::schedule::BackgroundThread;

/// Starts the delivery sender thread for `rt` (serve; tests call `deliver_due`).
pub fn spawn_sender(rt: Arc<Runtime>) -> SenderHandle {
    crate::schedule::BackgroundThread::spawn(
        rt,
        "baton-sender",
        |rt| &rt.send_wake,
        |rt| rt.sender_loop(),
    )
}

impl Runtime {
    /// Reads whether any subscription or custom webhook exists (on open and after a delete).
    pub(crate) fn refresh_events_on(&self) {
        let on = self.store().has_event_targets().unwrap_or(true);
        self.events_on.store(on, Ordering::Release);
    }

    fn sender_loop(self: &Arc<Self>) {
        tracing::info!("delivery sender started");
        self.send_wake.run(&*self.clock, || {
            let sent = self.deliver_due();
            if sent > 0 {
                tracing::debug!(sent, "deliveries attempted");
            }
            self.store().next_delivery_due().ok().flatten()
        });
        tracing::info!("delivery sender stopped");
    }

    /// Sends every pending delivery due at the clock's now, once each, and answers how many
    /// attempts were made. Tests on a virtual clock call this after moving the clock.
    pub fn deliver_due(&self) -> usize {
        let mut seen = HashSet::new();
        let mut attempts = 0;
        loop {
            let now = self.now();
            let rows = match self.store().due_deliveries(&now, SEND_BATCH) {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!("cannot read the delivery log: {e}");
                    break;
                }
            };
            let rows: Vec<DeliveryRow> = rows
                .into_iter()
                .filter(|r| seen.insert(r.id.clone()))
                .collect();
            if rows.is_empty() {
                break;
            }
            for row in rows {
                // A stopping sender leaves the rest pending for the next start.
                if self.send_wake.stopping() {
                    return attempts;
                }
                if let Err(e) = self.attempt(&row) {
                    tracing::warn!(delivery = %row.id, "cannot record a delivery attempt: {e}");
                }
                attempts += 1;
            }
        }
        attempts
    }

    /// Sends one delivery now and records the attempt. Answers the row as recorded.
    pub(crate) fn attempt(&self, row: &DeliveryRow) -> Result<DeliveryRow, String> {
        // A panic while building or sending the request (a bug) is recorded as a failed
        // attempt with its reference, retried like any other failure; the sender goes on.
        let sent = crate::isolation::guard("a delivery", || {
            self.panics.hit(crate::PanicSite::Delivery);
            Ok(match self.request_for(row) {
                Ok(req) => self.send(&req),
                Err(not_sent) => not_sent,
            })
        })
        .unwrap_or_else(|e| Sent::Error(e.public().line()));
        let now = self.clock.now();
        let at = format!("{now:.6}");
        let attempts = row.attempts + 1;
        let retry_at = |attempts: i64| -> Option<String> {
            let i = (attempts - 1).clamp(0, BACKOFF_SECS.len() as i64 - 1) as usize;
            (attempts < MAX_ATTEMPTS)
                .then(|| format!("{:.6}", now + SignedDuration::from_secs(BACKOFF_SECS[i])))
        };
        let (status, next, code, error, delivered) = match &sent {
            Sent::Answered(c, _) if (200..300).contains(c) => {
                ("Delivered", None, Some(*c as i64), None, Some(at.clone()))
            }
            Sent::Answered(c, _) => {
                let next = retry_at(attempts);
                let status = if next.is_some() { "Pending" } else { "Failed" };
                (
                    status,
                    next,
                    Some(*c as i64),
                    Some(format!("the receiver answered HTTP {c}")),
                    None,
                )
            }
            Sent::Error(e) => {
                let next = retry_at(attempts);
                let status = if next.is_some() { "Pending" } else { "Failed" };
                (status, next, None, Some(e.clone()), None)
            }
            Sent::Gone(e) => ("Failed", None, None, Some(e.clone()), None),
        };
        let response = match sent {
            Sent::Answered(_, body) => Some(body),
            _ => None,
        };
        let id = row.id.clone();
        let written = self
            .write(move |tx| {
                Ok(tx.record_attempt(
                    &id,
                    &Attempt {
                        status,
                        next_attempt_at: next.as_deref(),
                        status_code: code,
                        error: error.as_deref(),
                        delivered_at: delivered.as_deref(),
                        response: response.as_deref(),
                    },
                )?)
            })
            .map_err(|e| e.line())?;
        if !written {
            return Err(format!("delivery {} is gone", row.id));
        }
        self.store()
            .delivery(&row.id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("delivery {} is gone", row.id))
    }

    /// The request a delivery sends: signed for a subscription, the webhook's own headers and
    /// transformed body for a custom webhook.
    fn request_for(&self, row: &DeliveryRow) -> Result<Request, Sent> {
        let store_err = |e: baton_store::StoreError| Sent::Error(e.to_string());
        if crate::callback_notify::is_notification(row) {
            let ts = self.clock.now().as_second();
            let lookup = |name: &str| self.store().secret(name).ok().flatten();
            let headers = crate::callback_notify::headers(row, ts, &lookup).map_err(Sent::Error)?;
            return Ok(Request {
                method: "POST".into(),
                url: row.url.clone(),
                headers,
                body: row.payload.clone(),
            });
        }
        if let Some(sid) = row.subscription_id {
            let sub = self
                .store()
                .event_subscription(sid)
                .map_err(store_err)?
                .ok_or_else(|| Sent::Gone(format!("event subscription {sid} was deleted")))?;
            let ts = self.clock.now().as_second();
            let signature = sign(&sub.secret, &row.id, ts, &row.payload).map_err(Sent::Gone)?;
            return Ok(Request {
                method: "POST".into(),
                url: row.url.clone(),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("webhook-id".into(), row.id.clone()),
                    ("webhook-timestamp".into(), ts.to_string()),
                    ("webhook-signature".into(), signature),
                ]
                .into_iter()
                .chain(sequence_header(row))
                .collect(),
                body: row.payload.clone(),
            });
        }
        let hid = row.custom_webhook_id.unwrap_or_default();
        let hook = self
            .store()
            .custom_webhook(hid)
            .map_err(store_err)?
            .ok_or_else(|| Sent::Gone(format!("custom webhook {hid} was deleted")))?;
        let payload: Value = serde_json::from_str(&row.payload)
            .map_err(|e| Sent::Gone(format!("stored payload unreadable: {e}")))?;
        let body = match hook.transform.as_deref() {
            Some(t) => {
                let t: Value = serde_json::from_str(t)
                    .map_err(|e| Sent::Gone(format!("stored transform unreadable: {e}")))?;
                let mapping = t.get("mapping").and_then(Value::as_str).unwrap_or("@");
                let compiled = jmespath::compile(mapping)
                    .map_err(|e| Sent::Gone(format!("transform '{mapping}': {e}")))?;
                let found = compiled
                    .search(&payload)
                    .map_err(|e| Sent::Error(format!("transform '{mapping}': {e}")))?;
                serde_json::to_string(&*found)
                    .map_err(|e| Sent::Error(format!("transform '{mapping}': {e}")))?
            }
            None => row.payload.clone(),
        };
        let stored: Map<String, Value> = serde_json::from_str(&hook.headers).unwrap_or_default();
        let lookup = |name: &str| self.store().secret(name).ok().flatten();
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("webhook-id".to_string(), row.id.clone()),
        ];
        headers.extend(sequence_header(row));
        for (name, value) in &stored {
            let value = value.as_str().unwrap_or_default();
            let resolved = resolve_secrets(name, value, &lookup).map_err(Sent::Error)?;
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.clone(), resolved));
        }
        Ok(Request {
            method: hook.method,
            url: row.url.clone(),
            headers,
            body,
        })
    }

    /// Sends one request. No redirect is followed (a 3xx is the receiver's answer), so a
    /// receiver cannot bounce a delivery elsewhere. A URL a non-administrator gave goes through
    /// the checked client (docs/security.md, `webhooks::outbound`): resolved at every attempt,
    /// refused for good when its host now reaches a private address.
    fn send(&self, req: &Request) -> Sent {
        let checked;
        let agent = if self.outbound_checked(&req.url) {
            checked = self.checked_agent(SEND_TIMEOUT);
            &checked
        } else {
            self.http_client.get_or_init(|| {
                ureq::AgentBuilder::new()
                    .timeout(SEND_TIMEOUT)
                    .redirects(0)
                    .build()
            })
        };
        let mut r = agent.request(&req.method, &req.url);
        for (n, v) in &req.headers {
            r = r.set(n, v);
        }
        match r.send_string(&req.body) {
            Ok(resp) => Sent::Answered(resp.status(), response_start(resp.into_reader())),
            Err(ureq::Error::Status(code, resp)) => {
                Sent::Answered(code, response_start(resp.into_reader()))
            }
            Err(ureq::Error::Transport(t)) => {
                let mut text = t.to_string();
                let mut source = std::error::Error::source(&t);
                while let Some(e) = source {
                    text.push_str(&format!(": {e}"));
                    source = e.source();
                }
                if text.contains(crate::webhooks::outbound::REFUSED_MARK) {
                    Sent::Gone(text)
                } else {
                    Sent::Error(text)
                }
            }
        }
    }

    /// CreateEventSubscriptionCommand: `url`, `events`, `processKey?`, `secret?`.
    pub(crate) fn create_subscription(&self, data: &Value) -> Answer {
        let url = check_url(data, "url").map_err(|m| Error::field("url", m))?;
        let events = check_events(data).map_err(|m| Error::field("events", m))?;
        let process_key = opt_text(data, "processKey")?.map(str::to_string);
        let secret = check_secret(data).map_err(|m| Error::field("secret", m))?;
        let now = self.now();
        let (s, u, e, k) = (
            secret.clone(),
            url.clone(),
            events.clone(),
            process_key.clone(),
        );
        let id = self.write(move |tx| {
            Ok(tx.insert_event_subscription(&u, &e, k.as_deref(), None, &s, &now)?)
        })?;
        self.events_on.store(true, Ordering::Release);
        let events: Value = serde_json::from_str(&events).unwrap_or(Value::Null);
        Ok((
            "Event subscription created".into(),
            json!({"id": id, "url": url, "events": events, "processKey": process_key, "secret": secret}),
        ))
    }

    pub(crate) fn delete_subscription(&self, data: &Value) -> Answer {
        let id = id_of(data)?;
        let existed = self.write(move |tx| Ok(tx.delete_event_subscription(id)?))?;
        if !existed {
            return Err(Error::no_such("id", format!("no event subscription {id}")));
        }
        self.refresh_events_on();
        Ok(("Event subscription deleted".into(), json!({"id": id})))
    }

    /// GetEventSubscriptionListQuery (`instanceGuid?`): never the secrets.
    pub(crate) fn list_subscriptions(&self, data: &Value) -> Answer {
        let guid = opt_text(data, "instanceGuid")?;
        let rows = self.store().event_subscriptions(guid)?;
        let items: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({"id": r.id, "url": r.url,
                       "events": serde_json::from_str::<Value>(&r.events).unwrap_or(Value::Null),
                       "processKey": r.process_key, "instanceGuid": r.instance_guid,
                       "isActive": r.is_active, "secretSet": true, "createdAt": r.created_at})
            })
            .collect();
        Ok((
            "OK".into(),
            json!({"items": items, "totalCount": items.len()}),
        ))
    }

    /// SetSecretCommand: `name`, `value` (never answered).
    pub(crate) fn set_secret(&self, data: &Value) -> Answer {
        let name = text(data, "name")?.to_string();
        if !baton_engine::validate::is_secret_name(&name) {
            return Err(Error::field(
                "name",
                "name must be up to 128 letters, digits, _, - or .".into(),
            ));
        }
        let value = match data.get("value") {
            Some(Value::String(v)) if !v.is_empty() => v.clone(),
            Some(Value::String(_)) | None | Some(Value::Null) => {
                return Err(Error::field("value", "value is required".into()))
            }
            Some(_) => return Err(Error::field("value", "value must be a string".into())),
        };
        let n = name.clone();
        self.write(move |tx| Ok(tx.set_secret(&n, &value)?))?;
        Ok(("Secret set".into(), json!({"name": name})))
    }

    /// CreateCustomWebhookCommand: `name`, `url`, `method?`, `stateNames`, `headers?`,
    /// `request.transform?`, `processKey?`.
    pub(crate) fn create_custom_webhook(&self, data: &Value) -> Answer {
        let name = text(data, "name")?.to_string();
        let url = check_url(data, "url").map_err(|m| Error::field("url", m))?;
        let method = match data.get("method") {
            None | Some(Value::Null) => "POST".to_string(),
            Some(Value::String(m))
                if ["POST", "PUT", "PATCH"].contains(&m.to_ascii_uppercase().as_str()) =>
            {
                m.to_ascii_uppercase()
            }
            Some(_) => {
                return Err(Error::field(
                    "method",
                    "method must be POST, PUT or PATCH".into(),
                ))
            }
        };
        let states: Vec<String> = match data.get("stateNames") {
            Some(Value::Array(l)) if !l.is_empty() => l
                .iter()
                .map(|v| {
                    v.as_str()
                        .filter(|s| !s.trim().is_empty())
                        .map(str::to_string)
                        .ok_or_else(|| {
                            Error::field(
                                "stateNames",
                                "stateNames must hold element ids or names (strings)".into(),
                            )
                        })
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(Error::field(
                    "stateNames",
                    "stateNames is required: a non-empty list of element ids or names".into(),
                ))
            }
        };
        let headers = object(data, "headers")?;
        for (h, v) in &headers {
            let Some(v) = v.as_str() else {
                return Err(Error::field(
                    "headers",
                    format!("headers.{h} must be a string"),
                ));
            };
            let valid_name = !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid_name || v.contains(['\r', '\n']) {
                return Err(Error::field(
                    "headers",
                    format!("headers.{h} is not a valid header name and value"),
                ));
            }
            // Only the syntax now: the secrets themselves are looked up at delivery time.
            resolve_secrets(h, v, &|_| Some(String::new()))
                .map_err(|m| Error::field("headers", m))?;
        }
        let transform = match data.get("request").and_then(|r| r.get("transform")) {
            None | Some(Value::Null) => None,
            Some(t) => {
                let transformer = t.get("transformer").and_then(Value::as_str);
                let mapping = t.get("mapping").and_then(Value::as_str);
                match (transformer, mapping) {
                    (Some("jmespath"), Some(m)) => {
                        jmespath::compile(m).map_err(|e| {
                            Error::field("request", format!("request.transform.mapping '{m}': {e}"))
                        })?;
                        Some(json!({"transformer": "jmespath", "mapping": m}).to_string())
                    }
                    _ => {
                        return Err(Error::field(
                            "request",
                            "request.transform must be {\"transformer\": \"jmespath\", \"mapping\": \"<expression>\"}".into(),
                        ))
                    }
                }
            }
        };
        if data
            .get("request")
            .is_some_and(|r| !r.is_null() && !r.is_object())
        {
            return Err(Error::field(
                "request",
                "request must be a JSON object".into(),
            ));
        }
        let process_key = opt_text(data, "processKey")?.map(str::to_string);
        let now = self.now();
        let states_json = json!(states).to_string();
        let headers_json = Value::Object(headers.clone()).to_string();
        let (n, u, m, k) = (
            name.clone(),
            url.clone(),
            method.clone(),
            process_key.clone(),
        );
        let id = self.write(move |tx| {
            Ok(tx.insert_custom_webhook(
                &n,
                &u,
                &m,
                &states_json,
                &headers_json,
                transform.as_deref(),
                k.as_deref(),
                &now,
            )?)
        })?;
        self.events_on.store(true, Ordering::Release);
        Ok((
            "Custom webhook created".into(),
            json!({"id": id, "name": name, "url": url, "method": method, "stateNames": states,
                   "processKey": process_key}),
        ))
    }

    pub(crate) fn delete_custom_webhook(&self, data: &Value) -> Answer {
        let id = id_of(data)?;
        let existed = self.write(move |tx| Ok(tx.delete_custom_webhook(id)?))?;
        if !existed {
            return Err(Error::no_such("id", format!("no custom webhook {id}")));
        }
        self.refresh_events_on();
        Ok(("Custom webhook deleted".into(), json!({"id": id})))
    }

    pub(crate) fn list_custom_webhooks(&self) -> Answer {
        let rows = self.store().custom_webhooks()?;
        let items: Vec<Value> = rows
            .iter()
            .map(|r| {
                let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
                json!({"id": r.id, "name": r.name, "url": r.url, "method": r.method,
                       "stateNames": parse(&r.state_names), "headers": parse(&r.headers),
                       "request": r.transform.as_deref().map(|t| json!({"transform": parse(t)})),
                       "processKey": r.process_key, "createdAt": r.created_at})
            })
            .collect();
        Ok((
            "OK".into(),
            json!({"items": items, "totalCount": items.len()}),
        ))
    }

    /// GetDeliveryListQuery (`status?`, `instanceGuid?`, `pageNumber`, `pageSize`): newest first.
    pub(crate) fn list_deliveries(&self, data: &Value) -> Answer {
        let status = opt_text(data, "status")?;
        if let Some(s) = status {
            if !["Pending", "Delivered", "Failed"].contains(&s) {
                return Err(Error::field(
                    "status",
                    format!("status must be Pending, Delivered or Failed, not '{s}'"),
                ));
            }
        }
        let instance = opt_text(data, "instanceGuid")?;
        let event = opt_text(data, "eventName")?;
        if let Some(e) = event {
            let known = [
                event_payload::STATE_ENTERED,
                crate::callback_notify::EVENT,
                crate::test_event::EVENT,
            ];
            if !EVENTS.contains(&e) && !known.contains(&e) {
                return Err(Error::field(
                    "eventName",
                    format!("no event is named '{e}' (one of {})", EVENTS.join(", ")),
                ));
            }
        }
        let (page, size) = paging(data)?;
        let (rows, total) = self
            .store()
            .deliveries(status, instance, event, page, size)?;
        let items: Vec<Value> = rows.iter().map(delivery_json).collect();
        Ok(("OK".into(), json!({"items": items, "totalCount": total})))
    }

    /// RedeliverCommand (`id`): sends the delivery again now, as a new attempt on its row.
    pub(crate) fn redeliver(&self, data: &Value) -> Answer {
        let id = text(data, "id")?;
        let row = self
            .store()
            .delivery(id)?
            .ok_or_else(|| Error::no_such("id", format!("no delivery '{id}'")))?;
        let row = self.attempt(&row).map_err(Error::internal)?;
        Ok(("Delivery attempted".into(), delivery_json(&row)))
    }
}

pub(crate) fn delivery_json(r: &DeliveryRow) -> Value {
    json!({"id": r.id, "subscriptionId": r.subscription_id, "customWebhookId": r.custom_webhook_id,
           "eventName": r.event_name,
           "payload": serde_json::from_str::<Value>(&r.payload).unwrap_or(Value::Null),
           "url": r.url, "status": r.status, "attempts": r.attempts,
           "nextAttemptAt": r.next_attempt_at, "lastStatusCode": r.last_status_code,
           "lastError": r.last_error, "lastResponseBody": r.last_response,
           "createdAt": r.created_at, "deliveredAt": r.delivered_at,
           "instanceGuid": r.instance_guid, "sequence": r.sequence})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_keeps_its_first_two_kib_as_text() {
        assert_eq!(response_start(&b"thanks"[..]), "thanks");
        assert_eq!(response_start(&b""[..]), "");
        let long = "a".repeat(RESPONSE_KEPT + 500);
        assert_eq!(response_start(long.as_bytes()).len(), RESPONSE_KEPT);
        // A character the limit cuts in two is left out; invalid bytes become U+FFFD.
        let mut cut = "a".repeat(RESPONSE_KEPT - 1).into_bytes();
        cut.extend_from_slice("é and more".as_bytes());
        assert_eq!(response_start(&cut[..]), "a".repeat(RESPONSE_KEPT - 1));
        assert_eq!(response_start(&b"ok \xff\xfe!"[..]), "ok \u{fffd}\u{fffd}!");
    }

    #[test]
    fn secret_references_resolve_and_unknown_ones_fail() {
        let lookup = |n: &str| (n == "KEY").then(|| "s3cr3t".to_string());
        assert_eq!(
            resolve_secrets("authorization", "Bearer {secret.KEY}", &lookup).unwrap(),
            "Bearer s3cr3t"
        );
        let err = resolve_secrets("x", "{secret.NOPE}", &lookup).unwrap_err();
        assert!(err.contains("'NOPE'"), "{err}");
        assert!(resolve_secrets("x", "{secret.KEY", &lookup).is_err());
    }

    #[test]
    fn generated_secrets_are_standard_webhooks_keys_of_24_bytes() {
        let s = new_secret();
        assert_eq!(crate::webhooks::standard_key(&s).unwrap().len(), 24);
        assert_ne!(s, new_secret());
    }
}
