//! The request log as administrators see it: the inspector and replay (of accepted requests:
//! the others keep no body).

use super::cache::Prepared;
use super::hook_id;
use super::receive::Accepted;
use crate::{paging, Answer, Code, Error, Runtime};
use baton_store::WebhookRequestRow;
use serde_json::{json, Map, Value};

fn request_view(r: &WebhookRequestRow) -> Value {
    let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap_or(Value::Null);
    json!({
        "id": r.id,
        "configId": r.config_id,
        "receivedAt": r.received_at,
        "method": r.method,
        "path": r.path,
        "headers": parse(&r.headers),
        "query": parse(&r.query),
        "body": r.body,
        "size": r.size,
        "remoteAddr": r.remote_addr,
        "trigger": r.trigger,
        "replayOf": r.replay_of,
        "verdict": r.verdict,
        "statusCode": r.status_code,
        "outcome": r.outcome.as_deref().map(parse),
        "error": r.error,
        "senderId": r.sender_id,
        "duplicateOf": r.duplicate_of,
    })
}

/// What the request log records as a request's verdict (GetWebhookRequestListQuery's filter).
const VERDICTS: &[&str] = &[
    "accepted",
    "duplicate",
    "notFound",
    "inactive",
    "ipNotAllowed",
    "tooLarge",
    "badSignature",
    "badBody",
    "badMapping",
];

impl Runtime {
    /// GetWebhookRequestListQuery: received requests, newest first, and beside them what the
    /// rate limits refused since start (`rateLimited`: those are not in the log).
    pub(crate) fn hook_requests(&self, data: &Value) -> Answer {
        let (page, size) = paging(data)?;
        let config = match data.get("configId") {
            None | Some(Value::Null) => None,
            Some(_) => Some(hook_id(data, "configId")?),
        };
        let verdict = match data.get("verdict") {
            None | Some(Value::Null) => None,
            Some(Value::String(v)) if VERDICTS.contains(&v.as_str()) => Some(v.as_str()),
            Some(other) => {
                return Err(Error::field(
                    "verdict",
                    format!("verdict {other} is not one of {}", VERDICTS.join(", ")),
                ))
            }
        };
        let (rows, total) = self.store().webhook_requests(config, verdict, page, size)?;
        let items: Vec<Value> = rows.iter().map(request_view).collect();
        Ok((
            "OK".into(),
            json!({"items": items, "totalCount": total, "pageNumber": page, "pageSize": size,
                "rateLimited": self.rate_limited_view()}),
        ))
    }

    /// ReplayWebhookRequestCommand: runs a recorded request again through its configuration,
    /// without checking its signature; records a new request (trigger `replay`).
    pub(crate) fn replay_hook(&self, data: &Value) -> Answer {
        let id = hook_id(data, "id")?;
        let found = self.store().webhook_request(id)?;
        let req = found.ok_or_else(|| Error::no_such("id", format!("no webhook request {id}")))?;
        if let (Some(first), "duplicate") = (req.duplicate_of, req.verdict.as_str()) {
            return Err(Error::field(
                "id",
                format!("webhook request {id} was a duplicate of request {first} and ran nothing: replay request {first}"),
            )
            .with_code(Code::Rejected));
        }
        if req.verdict != "accepted" {
            // Refused requests keep no body: there is nothing to run again.
            return Err(Error::field(
                "id",
                format!(
                    "webhook request {id} was refused ({}): only accepted requests keep their body and can be replayed",
                    req.verdict
                ),
            )
            .with_code(Code::Rejected));
        }
        let config_id = req.config_id.ok_or_else(|| {
            Error::field(
                "id",
                format!("webhook request {id} has no configuration to run it through (unknown path, or the configuration was deleted)"),
            )
            .with_code(Code::Rejected)
        })?;
        let found = self.store().webhook_config(config_id)?;
        let config = found.ok_or_else(|| {
            Error::no_such(
                "id",
                format!("webhook configuration {config_id} no longer exists"),
            )
        })?;
        if !config.is_active {
            return Err(Error::field(
                "id",
                format!("webhook configuration {config_id} is inactive; activate it to replay its requests"),
            )
            .with_code(Code::Rejected));
        }
        let as_map = |t: &str| match serde_json::from_str(t) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let prepared = Prepared::of(config);
        let acc = Accepted {
            config: &prepared,
            method: &req.method,
            path: &req.path,
            headers: as_map(&req.headers),
            query: as_map(&req.query),
            body: req.body.as_bytes(),
            remote: req.remote_addr.clone(),
            received_at: self.now(),
            trigger: "replay",
            replay_of: Some(id),
        };
        // The replay's row holds what the original held, and room for its outcome.
        let added =
            (req.body.len() + req.headers.len() + req.query.len() + req.path.len() + 4096) as i64;
        let (kept, answer) = self.run_accepted(acc);
        let request_id = kept.map(|k| k.id);
        self.webhook_log_grew(added);
        if answer.status == 200 {
            Ok((
                format!("Webhook request {id} replayed"),
                json!({"requestId": request_id, "statusCode": answer.status, "outcome": answer.body["data"]}),
            ))
        } else {
            // The run's failure, already logged and fit to show, under its own code.
            let code =
                serde_json::from_value(answer.body["code"].clone()).unwrap_or(Code::Rejected);
            Err(Error::answered(
                code,
                format!(
                    "replay of webhook request {id} failed ({}; recorded as request {}): {}",
                    answer.status,
                    request_id
                        .map(|i| i.to_string())
                        .unwrap_or_else(|| "not recorded".into()),
                    answer.body["message"].as_str().unwrap_or_default()
                ),
            ))
        }
    }
}
