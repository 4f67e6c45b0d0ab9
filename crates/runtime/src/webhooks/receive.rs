//! The door: finds the configuration, checks the address and the signature, records the
//! request with its verdict, runs what the configuration says and records how it ended.

use super::mapping::apply_mapping;
use super::verify::verify;
use super::{IncomingWebhook, WebhookAnswer};
use crate::jobs::substitute_var;
use crate::{Caller, Error, Runtime};
use baton_store::{NewWebhookRequest, WebhookConfigRow};
use serde_json::{json, Map, Value};

/// Headers whose values are secrets: stored and shown as `[redacted]`.
const REDACTED: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "verif-hash",
    "x-api-key",
];

/// Header values as stored and as executions see them: secrets redacted.
fn header_map(headers: &[(String, String)]) -> Map<String, Value> {
    headers
        .iter()
        .map(|(n, v)| {
            let v = if REDACTED.contains(&n.as_str()) {
                "[redacted]".to_string()
            } else {
                v.clone()
            };
            (n.clone(), json!(v))
        })
        .collect()
}

/// What a received request is, once accepted, for the execution.
pub(super) struct Accepted<'a> {
    pub(super) config: &'a WebhookConfigRow,
    pub(super) method: &'a str,
    pub(super) path: &'a str,
    pub(super) headers: Map<String, Value>,
    pub(super) query: Map<String, Value>,
    pub(super) body: &'a [u8],
    pub(super) remote: String,
    pub(super) received_at: String,
    pub(super) trigger: &'static str,
    pub(super) replay_of: Option<i64>,
}

impl Runtime {
    /// Records a request.
    fn record_request(&self, r: NewWebhookRequest) -> Result<i64, Error> {
        let owned = (
            r.config_id,
            r.received_at.to_string(),
            r.method.to_string(),
            r.path.to_string(),
            r.headers.to_string(),
            r.query.to_string(),
            r.body.to_string(),
            r.remote_addr.to_string(),
            r.trigger.to_string(),
            r.replay_of,
            r.verdict.to_string(),
            r.status_code,
            r.error.map(str::to_string),
        );
        self.write(move |tx| {
            let o = &owned;
            Ok(tx.insert_webhook_request(&NewWebhookRequest {
                config_id: o.0,
                received_at: &o.1,
                method: &o.2,
                path: &o.3,
                headers: &o.4,
                query: &o.5,
                body: &o.6,
                remote_addr: &o.7,
                trigger: &o.8,
                replay_of: o.9,
                verdict: &o.10,
                status_code: o.11,
                error: o.12.as_deref(),
            })?)
        })
    }

    /// Handles a request that reached a webhook door: finds its configuration, checks where it
    /// came from and its signature, records it and runs it. Never panics on any input.
    pub fn receive_webhook(&self, inc: IncomingWebhook) -> WebhookAnswer {
        let span = tracing::info_span!("webhook", path = %inc.path);
        let _entered = span.enter();
        let received_at = self.now();
        let headers = Value::Object(header_map(&inc.headers)).to_string();
        let query = Value::Object(inc.query.clone()).to_string();
        let body_text = inc
            .body
            .as_deref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let remote = inc
            .remote
            .map(|ip| ip.to_canonical().to_string())
            .unwrap_or_else(|| "unknown".into());
        // A refusal is answered even when it cannot be recorded (the log says so).
        let refuse = |config_id: Option<i64>, verdict: &str, status: u16, message: String| {
            let recorded = self.record_request(NewWebhookRequest {
                config_id,
                received_at: &received_at,
                method: &inc.method,
                path: &inc.path,
                headers: &headers,
                query: &query,
                body: &body_text,
                remote_addr: &remote,
                trigger: "live",
                replay_of: None,
                verdict,
                status_code: Some(status as i64),
                error: Some(&message),
            });
            if let Err(e) = recorded {
                tracing::warn!("could not record a refused webhook request: {}", e.line());
            }
            WebhookAnswer::refuse(status, message)
        };
        let found = match &inc.key {
            Some(k) => self.store().webhook_config_by_key(k),
            None => self.store().webhook_config_by_url(&inc.path),
        };
        let config = match found {
            Ok(Some(c)) => c,
            Ok(None) => {
                return refuse(
                    None,
                    "notFound",
                    404,
                    format!("no webhook is configured at {}", inc.path),
                )
            }
            Err(e) => return WebhookAnswer::failed(e.into()),
        };
        if !config.is_active {
            // The caller learns only that nothing listens here; the log says why.
            refuse(
                Some(config.id),
                "inactive",
                404,
                format!("webhook configuration {} is inactive", config.id),
            );
            return WebhookAnswer::refuse(404, format!("no webhook is configured at {}", inc.path));
        }
        let allowed: Vec<String> = serde_json::from_str(&config.allowed_ips).unwrap_or_default();
        if !allowed.is_empty() && !allowed.contains(&remote) {
            return refuse(
                Some(config.id),
                "ipNotAllowed",
                403,
                format!("requests from {remote} are not allowed for this webhook"),
            );
        }
        let Some(body) = inc.body.as_deref() else {
            return refuse(
                Some(config.id),
                "tooLarge",
                413,
                format!("the body is over {} bytes", crate::http::MAX_BODY_BYTES),
            );
        };
        let verification: Value = serde_json::from_str(&config.verification).unwrap_or(Value::Null);
        if let Err(why) = verify(
            &verification,
            &inc.headers,
            body,
            self.clock.now().as_second(),
        ) {
            return refuse(
                Some(config.id),
                "badSignature",
                401,
                format!("signature check failed: {why}"),
            );
        }
        let acc = Accepted {
            config: &config,
            method: &inc.method,
            path: &inc.path,
            headers: header_map(&inc.headers),
            query: inc.query.clone(),
            body,
            remote,
            received_at,
            trigger: "live",
            replay_of: None,
        };
        self.run_accepted(acc).1
    }

    /// Records an accepted request, runs it, records how it ended.
    pub(super) fn run_accepted(&self, a: Accepted) -> (Option<i64>, WebhookAnswer) {
        let headers = Value::Object(a.headers.clone()).to_string();
        let query = Value::Object(a.query.clone()).to_string();
        let body_text = String::from_utf8_lossy(a.body).into_owned();
        let parsed: Option<Value> = serde_json::from_slice(a.body).ok();
        let new = |verdict, status: Option<i64>, error: Option<&str>| -> Result<i64, Error> {
            self.record_request(NewWebhookRequest {
                config_id: Some(a.config.id),
                received_at: &a.received_at,
                method: a.method,
                path: a.path,
                headers: &headers,
                query: &query,
                body: &body_text,
                remote_addr: &a.remote,
                trigger: a.trigger,
                replay_of: a.replay_of,
                verdict,
                status_code: status,
                error,
            })
        };
        if a.config.execution_type == 3 && !matches!(parsed, Some(Value::Object(_))) {
            let m = "the body must be a JSON object: its fields become the process variables";
            return match new("badBody", Some(400), Some(m)) {
                Ok(id) => (Some(id), WebhookAnswer::refuse(400, m)),
                Err(e) => (None, WebhookAnswer::failed(e)),
            };
        }
        // Not recorded, not run: the sender is told to try again (5xx).
        let request_id = match new("accepted", None, None) {
            Ok(id) => id,
            Err(e) => return (None, WebhookAnswer::failed(e)),
        };
        let request = json!({
            "body": parsed.clone().unwrap_or_else(|| json!(body_text)),
            "headers": a.headers,
            "query": a.query,
            "method": a.method,
            "path": a.path,
            "remoteAddr": a.remote,
            "receivedAt": a.received_at,
            "configId": a.config.id,
            "requestId": request_id,
        });
        let outcome = self.perform_hook(a.config, &request);
        let (answer, out, err) = match outcome {
            Ok(v) => (
                WebhookAnswer {
                    status: 200,
                    body: json!({"isSuccessful": true, "data": v}),
                },
                Some(v.to_string()),
                None,
            ),
            Err(e) => {
                let answer = WebhookAnswer::failed(e);
                let message = answer.body["message"].as_str().map(str::to_string);
                (answer, None, message)
            }
        };
        let verdict_status = answer.status as i64;
        let written = self.write(move |tx| {
            Ok(tx.finish_webhook_request(
                request_id,
                "accepted",
                verdict_status,
                out.as_deref(),
                err.as_deref(),
            )?)
        });
        if let Err(e) = written {
            tracing::warn!(
                request = request_id,
                "could not record how a webhook request ended: {}",
                e.line()
            );
        }
        (Some(request_id), answer)
    }

    /// What a configuration does with an accepted request; `Ok` holds its outcome.
    fn perform_hook(&self, row: &WebhookConfigRow, request: &Value) -> Result<Value, Error> {
        let config: Value = serde_json::from_str(&row.config).map_err(|e| {
            Error::internal(format!("stored webhook configuration is unreadable: {e}"))
        })?;
        let run =
            |cmd: &str, data: &Value| self.execute_as(cmd, data, &Caller::owner()).into_error();
        match row.execution_type {
            0 => {
                let data = apply_mapping(&config["commandData"], request)
                    .map_err(|e| Error::rejected(format!("commandData mapping failed: {e}")))?;
                let data = if data.is_object() { data } else { json!({}) };
                run(config["commandName"].as_str().unwrap_or_default(), &data)
            }
            1 => self.run_chain(&config["commandChain"], |data| {
                substitute_var(data, "$request", request)
            }),
            2 => self.run_code(
                config["executionCode"].as_str().unwrap_or_default(),
                "request",
                request.clone(),
            ),
            _ => {
                let mut vars = match &config["variables"] {
                    Value::Object(m) => m.clone(),
                    _ => Map::new(),
                };
                if let Value::Object(body) = &request["body"] {
                    vars.extend(body.clone());
                }
                vars.insert(
                    "webhook".into(),
                    json!({
                        "headers": request["headers"],
                        "query": request["query"],
                        "remoteAddr": request["remoteAddr"],
                        "receivedAt": request["receivedAt"],
                        "configId": request["configId"],
                    }),
                );
                let mut data = json!({"variables": vars});
                if let Some(id) = config.get("processDefinitionId") {
                    data["processDefinitionId"] = id.clone();
                } else {
                    data["processKey"] = config["processKey"].clone();
                }
                run("StartProcessInstanceCommand", &data)
            }
        }
    }
}
