//! Incoming webhooks (API.md "Webhooks in", seeds 000 and 001): a payment gateway or any other
//! service POSTs to a configured path, Baton checks where it came from and its signature, then
//! runs what the configuration says, as the owner (administrator), like recurring jobs.
//!
//! A configuration is reached at its `url` (a path under `/webhook/`) or, when it has none, at
//! `/webhook/k/{key}` for a generated key. Execution types as for jobs: 0 one bus command whose
//! data is a JMESPath mapping `{field: expression}` evaluated against the request
//! (`{"body", "headers", "query", ...}`); 1 a command chain (`"$previous"` and `"$request"`
//! paths substituted); 2 rhai `executionCode` with `request` in scope; 3 start a process with
//! the JSON body's fields as variables plus `webhook` (headers, query, remoteAddr, receivedAt,
//! configId).
//!
//! Every request is recorded in the request log with its verdict, whatever happens; secrets
//! (the verification secret, `verif-hash`, `authorization`, cookies) are never stored in the log
//! nor answered by a query. Only accepted requests keep their body; the others keep their
//! metadata (time, path, verdict, size, address). The log is kept within the administrator's
//! age and size (`retention`), and each address is rate-limited before anything is read or
//! recorded (`limits`, settings in `settings`); behind a reverse proxy the administrator trusts,
//! the client's address is the one the proxy reports (`proxy`).

//!
//! Files: `config` (the configuration commands and their checks), `verify` (signature schemes),
//! `mapping` (JMESPath `commandData`), `receive` (the door: checks, the request log, running a
//! configuration), `requests` (the request inspector and replay), `cache` (configurations
//! prepared once, until a configuration command changes one), `log` (a request's log row
//! written in the transaction of the step it causes), `settings` (the administrator's limits),
//! `limits` (rate limits per address, refusals counted), `retention` (pruning the log, also in
//! the background), `outbound` (where URLs given by non-administrators may point), `proxy`
//! (the client's address behind a trusted reverse proxy).

mod cache;
mod config;
mod dedupe;
mod limits;
mod log;
mod mapping;
pub(crate) mod outbound;
mod proxy;
mod receive;
mod requests;
mod retention;
mod settings;
mod verify;

pub(crate) use cache::Cache;
pub(crate) use log::armed;
pub(crate) use receive::Logged;
pub(crate) use verify::standard_key;

use crate::{Door, Error};
use serde_json::{json, Map, Value};
use std::net::IpAddr;

/// Where every configuration lives.
pub const URL_PREFIX: &str = "/webhook/";
/// The paths of generated keys: `/webhook/k/{key}`.
pub const KEY_PREFIX: &str = "/webhook/k/";

/// A request as the HTTP door received it.
#[derive(Debug, Clone)]
pub struct IncomingWebhook {
    /// `Some(key)` for `/webhook/k/{key}`, else the path is matched against configured urls.
    pub key: Option<String>,
    pub method: String,
    pub path: String,
    /// Header names in lower case; a repeated header's values joined with ", ".
    pub headers: Vec<(String, String)>,
    pub query: Map<String, Value>,
    /// Where it came from (None when unknown): the socket's address, or what a trusted proxy
    /// reported (`Runtime::client_ip`).
    pub remote: Option<IpAddr>,
    /// The body, or None when it was over the limit.
    pub body: Option<Vec<u8>>,
}

/// What the door answers.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookAnswer {
    pub status: u16,
    pub body: Value,
}

impl WebhookAnswer {
    pub(super) fn refuse(status: u16, message: impl Into<String>) -> WebhookAnswer {
        WebhookAnswer {
            status,
            body: json!({"isSuccessful": false, "message": message.into(), "errors": []}),
        }
    }

    /// A request whose configuration failed, or that could not be recorded: the status from
    /// the one table (`Code::http_status`, 422 or 500), the code beside the message, an
    /// internal detail logged and replaced by a reference.
    /// A failure's field errors are its `errors` (seed 000's envelope), and its message says
    /// them too ("Validation failed (field: message)"), as the request log keeps it.
    pub(super) fn failed(e: Error) -> WebhookAnswer {
        let e = e.public();
        let message = if e.fields.is_empty() || e.message != crate::error::VALIDATION_FAILED {
            e.message.clone()
        } else {
            let fields: Vec<String> = e
                .fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect();
            format!("{} ({})", e.message, fields.join("; "))
        };
        WebhookAnswer {
            status: e.code.http_status(Door::Webhook),
            body: json!({"isSuccessful": false, "message": message, "errors": e.fields, "code": e.code}),
        }
    }
}

fn hook_id(data: &Value, field: &'static str) -> Result<i64, Error> {
    match data.get(field) {
        None | Some(Value::Null) => Err(Error::field(field, format!("{field} is required"))),
        Some(v) => v
            .as_i64()
            .filter(|n| *n > 0)
            .ok_or_else(|| Error::field(field, format!("{field} must be a whole number"))),
    }
}
