//! The door: finds the configuration, checks the address and the signature, records the
//! request with its verdict, runs what the configuration says and records how it ended.

use super::cache::{Lookup, Prepared};
use super::log::{Kept, Pending, Row};
use super::mapping::searchable;
use super::verify::verify;
use super::{IncomingWebhook, WebhookAnswer};
use crate::jobs::substitute_var;
use crate::{Caller, Error, Runtime};
use serde_json::{json, Map, Value};
use std::sync::Arc;

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

/// At least what a request's log row can hold, in bytes (its body, headers and query as text,
/// its path, and room for an outcome or an error).
pub(super) fn recorded_at_most(inc: &IncomingWebhook) -> i64 {
    let headers: usize = inc.headers.iter().map(|(n, v)| n.len() + v.len() + 8).sum();
    let query: usize = inc
        .query
        .iter()
        .map(|(k, v)| k.len() + v.to_string().len() + 8)
        .sum();
    let body = inc.body.as_ref().map_or(0, Vec::len);
    i64::try_from(body + headers + query + inc.path.len() + 4096).unwrap_or(i64::MAX)
}

/// A JSON object as stored text.
fn text_of(m: &Map<String, Value>) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
}

/// What a received request is, once accepted, for the execution.
pub(super) struct Accepted<'a> {
    pub(super) config: &'a Prepared,
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

/// Where the request log holds a request the door answered (`WebhookRequestEvent`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Logged {
    /// The request's row and its verdict, when one was written.
    pub kept: Option<Kept>,
    /// The configuration it reached, when one was found.
    pub config_id: Option<i64>,
}

impl Runtime {
    /// Records a request in its own transaction.
    fn record_row(
        &self,
        row: Row,
        verdict: &'static str,
        status: Option<i64>,
        outcome: Option<String>,
        error: Option<String>,
    ) -> Result<(), Error> {
        self.write(move |tx| row.insert(tx, verdict, status, outcome.as_deref(), error.as_deref()))
    }

    /// Handles a request that reached a webhook door: finds its configuration, checks where it
    /// came from and its signature, records it and runs it. Never panics on any input.
    pub fn receive_webhook(&self, inc: IncomingWebhook) -> WebhookAnswer {
        let answer = crate::ready(async { Ok(self.receive_in(Hook::Thread, &inc).await) });
        answer.unwrap_or_else(WebhookAnswer::failed)
    }

    /// `receive_webhook` for an async task: a callback or a start the configuration runs waits
    /// for its group commit as a task, holding no thread (see `Runtime::execute_async`).
    /// Everything before that wait (the signature, the mapping, the step) is done on the
    /// polling thread: a door goes through `Runtime::receive_webhook_off_workers`, which polls
    /// it on its worker only while nothing in it can block there (`inline`). The request is
    /// borrowed: an attempt that stops leaves it to the run that follows.
    pub async fn receive_webhook_async(self: &Arc<Self>, inc: &IncomingWebhook) -> WebhookAnswer {
        self.receive_in(Hook::Task(self), inc).await
    }

    async fn receive_in(&self, hook: Hook<'_>, inc: &IncomingWebhook) -> WebhookAnswer {
        let added = recorded_at_most(inc);
        let path = inc.path.clone();
        let span = tracing::info_span!("webhook", path = %path);
        let (logged, answer) = tracing::Instrument::instrument(self.receive(hook, inc), span).await;
        if crate::inline::stopped() {
            // Run again on a blocking thread (`inline`): that run counts and answers.
            return answer;
        }
        if self.webhook_log_counted(added) {
            // A retention pass is due: it ends before the answer, as it always has.
            match hook {
                Hook::Thread => {
                    self.prune_pass(false);
                }
                Hook::Task(rt) => {
                    let rt = rt.clone();
                    let _ = tokio::task::spawn_blocking(move || rt.prune_pass(false)).await;
                }
            }
        }
        self.publish_webhook_request(&path, answer.status, logged);
        answer
    }

    /// The answer to a request, and where the log holds it: its row's id (None when no row was
    /// written) and its configuration's (None when no configuration was found).
    async fn receive(&self, hook: Hook<'_>, inc: &IncomingWebhook) -> (Logged, WebhookAnswer) {
        let received_at = self.now();
        let headers = header_map(&inc.headers);
        let remote = inc
            .remote
            .map(|ip| ip.to_canonical().to_string())
            .unwrap_or_else(|| "unknown".into());
        // What arrived: the body's length, or what the sender declared of one over the limit.
        let size = match inc.body.as_deref() {
            Some(b) => b.len() as i64,
            None => inc
                .headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .and_then(|(_, v)| v.trim().parse::<i64>().ok())
                .unwrap_or(crate::http::MAX_BODY_BYTES as i64 + 1),
        };
        // A refusal is answered even when it cannot be recorded (the log says so). Its body is
        // not kept: anyone can send one.
        let refuse =
            |config_id: Option<i64>, verdict: &'static str, status: u16, message: String| {
                let unlogged = Logged {
                    kept: None,
                    config_id,
                };
                if crate::inline::may_stop() {
                    // Recording blocks: the door refuses it again on a blocking thread.
                    let e = crate::inline::needs_thread("a refusal");
                    return (unlogged, WebhookAnswer::failed(e));
                }
                let recorded = self.next_request_id().and_then(|id| {
                    let row = Row {
                        id,
                        config_id,
                        received_at: received_at.clone(),
                        method: inc.method.clone(),
                        path: inc.path.clone(),
                        headers: text_of(&headers),
                        query: text_of(&inc.query),
                        body: String::new(),
                        size,
                        remote_addr: remote.clone(),
                        trigger: "live",
                        replay_of: None,
                        sender_id: None,
                        duplicate_of: None,
                    };
                    self.record_row(
                        row,
                        verdict,
                        Some(status as i64),
                        None,
                        Some(message.clone()),
                    )
                    .map(|()| id)
                });
                let logged = match recorded {
                    Ok(id) => Logged {
                        kept: Some(Kept { id, verdict }),
                        config_id,
                    },
                    Err(e) => {
                        tracing::warn!("could not record a refused webhook request: {}", e.line());
                        unlogged
                    }
                };
                (logged, WebhookAnswer::refuse(status, message))
            };
        let lookup = match &inc.key {
            Some(k) => Lookup::Key(k.clone()),
            None => Lookup::Url(inc.path.clone()),
        };
        let config = match self.prepared(&lookup) {
            Ok(Some(c)) => c,
            Ok(None) => {
                return refuse(
                    None,
                    "notFound",
                    404,
                    format!("no webhook is configured at {}", inc.path),
                )
            }
            Err(e) => return (Logged::default(), WebhookAnswer::failed(e)),
        };
        let id = config.row.id;
        let unlogged = Logged {
            kept: None,
            config_id: Some(id),
        };
        // On an async worker only a callback runs (`inline`): anything else may block.
        if crate::inline::may_stop() && !runs_on_worker(&config) {
            let e = crate::inline::needs_thread("this configuration");
            return (unlogged, WebhookAnswer::failed(e));
        }
        if !config.row.is_active {
            // The caller learns only that nothing listens here; the log says why.
            let (logged, _) = refuse(
                Some(id),
                "inactive",
                404,
                format!("webhook configuration {id} is inactive"),
            );
            let answer =
                WebhookAnswer::refuse(404, format!("no webhook is configured at {}", inc.path));
            return (logged, answer);
        }
        if !config.allowed.is_empty() && !config.allowed.contains(&remote) {
            return refuse(
                Some(id),
                "ipNotAllowed",
                403,
                format!("requests from {remote} are not allowed for this webhook"),
            );
        }
        let Some(body) = inc.body.as_deref() else {
            return refuse(
                Some(id),
                "tooLarge",
                413,
                format!("the body is over {} bytes", crate::http::MAX_BODY_BYTES),
            );
        };
        if let Err(why) = verify(
            &config.verification,
            &inc.headers,
            body,
            self.clock.now().as_second(),
        ) {
            return refuse(
                Some(id),
                "badSignature",
                401,
                format!("signature check failed: {why}"),
            );
        }
        let acc = Accepted {
            config: &config,
            method: &inc.method,
            path: &inc.path,
            headers,
            query: inc.query.clone(),
            body,
            remote,
            received_at,
            trigger: "live",
            replay_of: None,
        };
        let (kept, answer) = self.run_accepted_in(hook, acc).await;
        let logged = Logged {
            kept,
            config_id: Some(id),
        };
        (logged, answer)
    }

    /// Runs an accepted request and records it with how it ended: in the transaction of the
    /// step it caused when there is one (see `log`), else in one write of its own.
    pub(super) fn run_accepted(&self, a: Accepted) -> (Option<Kept>, WebhookAnswer) {
        let ran = crate::ready(async { Ok(self.run_accepted_in(Hook::Thread, a).await) });
        ran.unwrap_or_else(|e| (None, WebhookAnswer::failed(e)))
    }

    async fn run_accepted_in(
        &self,
        hook: Hook<'_>,
        a: Accepted<'_>,
    ) -> (Option<Kept>, WebhookAnswer) {
        let exec = a.config.row.execution_type;
        let parsed: Option<Value> = serde_json::from_slice(a.body).ok();
        let body_text = String::from_utf8_lossy(a.body).into_owned();
        let id = match self.next_request_id() {
            Ok(id) => id,
            // Not recorded, not run: the sender is told to try again (5xx).
            Err(e) => return (None, WebhookAnswer::failed(e)),
        };
        let _lent = Lent { rt: self, id };
        let row = Row {
            id,
            config_id: Some(a.config.row.id),
            received_at: a.received_at.clone(),
            method: a.method.to_string(),
            path: a.path.to_string(),
            headers: text_of(&a.headers),
            query: text_of(&a.query),
            body: String::new(),
            size: a.body.len() as i64,
            remote_addr: a.remote.clone(),
            trigger: a.trigger,
            replay_of: a.replay_of,
            sender_id: None,
            duplicate_of: None,
        };
        if exec == 3 && !matches!(parsed, Some(Value::Object(_))) {
            // Refused: the body is not kept.
            let m = "the body must be a JSON object: its fields become the process variables";
            return match self.record_row(row, "badBody", Some(400), None, Some(m.into())) {
                Ok(()) => (
                    Some(Kept {
                        id,
                        verdict: "badBody",
                    }),
                    WebhookAnswer::refuse(400, m),
                ),
                Err(e) => (None, WebhookAnswer::failed(e)),
            };
        }
        // The sender's id, when it gave one (`dedupe`; a replay runs again on purpose).
        let scheme = a.config.verification["scheme"].as_str().unwrap_or("none");
        let sender = (a.trigger == "live")
            .then(|| super::dedupe::sender_id(scheme, &a.headers, parsed.as_ref()))
            .flatten();
        // A mapping sees only the fields it may read (type 0); the others see the request.
        let mapping = a.config.mapping.as_ref();
        let keep = |name| mapping.is_none_or(|m| m.may_read(name));
        let body_value = match parsed {
            Some(v) => v,
            None => Value::String(body_text.clone()),
        };
        let mut request = Map::new();
        request.insert("body".into(), body_value);
        request.insert(
            "headers".into(),
            Value::Object(if keep("headers") {
                a.headers
            } else {
                Map::new()
            }),
        );
        request.insert(
            "query".into(),
            Value::Object(if keep("query") { a.query } else { Map::new() }),
        );
        request.insert("method".into(), json!(a.method));
        request.insert("path".into(), json!(a.path));
        request.insert("remoteAddr".into(), json!(a.remote));
        request.insert("receivedAt".into(), json!(a.received_at));
        request.insert("configId".into(), json!(a.config.row.id));
        request.insert("requestId".into(), json!(id));
        let request = Value::Object(request);
        // A mapping that fails on this request refuses it: metadata only, like the others.
        let mapped = match &a.config.mapping {
            Some(m) if exec == 0 => match searchable(&request).and_then(|input| m.apply(&input)) {
                Ok(v) => Some(v),
                Err(e) => {
                    let m = format!("commandData mapping failed: {e}");
                    let answer = WebhookAnswer {
                        status: 422,
                        body: json!({"isSuccessful": false, "message": m, "errors": [], "code": crate::Code::Rejected}),
                    };
                    return match self.record_row(row, "badMapping", Some(422), None, Some(m)) {
                        Ok(()) => (
                            Some(Kept {
                                id,
                                verdict: "badMapping",
                            }),
                            answer,
                        ),
                        Err(e) => (None, WebhookAnswer::failed(e)),
                    };
                }
            },
            _ => None,
        };
        // A repeat of an id this configuration handled runs nothing; one of an id running now
        // waits for it (`dedupe`).
        let config_id = a.config.row.id;
        let _held = match &sender {
            Some(s) => {
                let held = if crate::inline::may_stop() {
                    // Waiting for another request with the same id would block the worker.
                    match self.webhook_cache.in_flight.try_hold(config_id, s) {
                        Some(held) => held,
                        None => {
                            let e = crate::inline::needs_thread("a wait for the same sender id");
                            return (None, WebhookAnswer::failed(e));
                        }
                    }
                } else {
                    self.webhook_cache.in_flight.hold(config_id, s)
                };
                match self.handled_by(config_id, s) {
                    Ok(None) => Some(held),
                    Ok(Some(_)) if crate::inline::may_stop() => {
                        let e = crate::inline::needs_thread("recording a duplicate");
                        return (None, WebhookAnswer::failed(e));
                    }
                    Ok(Some(first)) => {
                        let row = Row {
                            sender_id: sender.clone(),
                            ..row
                        };
                        return self.duplicate(row, first);
                    }
                    Err(e) => return (None, WebhookAnswer::failed(e)),
                }
            }
            None => None,
        };
        let row = Row {
            body: body_text,
            sender_id: sender,
            ..row
        };
        let (pending, outcome) = match hook {
            Hook::Thread => {
                let armed = Pending::arm(row);
                let outcome = self.perform_hook(hook, a.config, &request, mapped).await;
                (armed.0.clone(), outcome)
            }
            Hook::Task(rt) => {
                let pending = Pending::new(row);
                let run = self.perform_hook(hook, a.config, &request, mapped);
                let outcome = pending.clone().carried_by(run).await;
                if crate::inline::stopped() {
                    // Nothing was written: the door runs the request again (`inline`).
                    let e = crate::inline::needs_thread("the request");
                    return (None, WebhookAnswer::failed(e));
                }
                // A step committed the row and the command answered: nothing is left to write,
                // so the task answers without a thread.
                if outcome.is_ok() && pending.is_committed() && !pending.raced() {
                    return (Some(Kept::accepted(id)), Self::answered(outcome));
                }
                let rt = rt.clone();
                let finished =
                    tokio::task::spawn_blocking(move || rt.finish_accepted(&pending, outcome));
                return finished.await.unwrap_or_else(|e| {
                    (None, WebhookAnswer::failed(Error::internal(e.to_string())))
                });
            }
        };
        self.finish_accepted(&pending, outcome)
    }

    /// The answer to a request whose configuration ran to `outcome`.
    fn answered(outcome: Result<Value, Error>) -> WebhookAnswer {
        match outcome {
            Ok(v) => WebhookAnswer {
                status: 200,
                body: json!({"isSuccessful": true, "data": v}),
            },
            Err(e) => WebhookAnswer::failed(e),
        }
    }

    /// After the configuration ran: records how the request ended unless its step did, and
    /// answers it.
    fn finish_accepted(
        &self,
        pending: &Pending,
        outcome: Result<Value, Error>,
    ) -> (Option<Kept>, WebhookAnswer) {
        let id = pending.row().id;
        if pending.raced() {
            // Another request claimed the id first: this one's step was rolled back.
            return self.repeat_found(pending.row().clone());
        }
        let out = match &outcome {
            Ok(v) => (!pending.is_committed()).then(|| v.to_string()),
            Err(_) => None,
        };
        let answer = Self::answered(outcome);
        let err = (answer.status != 200)
            .then(|| answer.body["message"].as_str().map(str::to_string))
            .flatten();
        let status = answer.status as i64;
        let written = if !pending.is_committed() {
            // No step carried the row: one write with how it ended.
            let row = pending.row().clone();
            self.record_row(row, "accepted", Some(status), out, err)
        } else if status != 200 {
            // A step committed the row, then the command failed after it: say so.
            self.write(move |tx| {
                Ok(tx.finish_webhook_request(id, "accepted", status, None, err.as_deref())?)
            })
        } else {
            Ok(())
        };
        if written
            .as_ref()
            .is_err_and(|e| e.is(crate::Code::Duplicate))
        {
            return self.repeat_found(pending.row().clone());
        }
        if let Err(e) = written {
            tracing::warn!(
                request = id,
                "could not record how a webhook request ended: {}",
                e.line()
            );
            if !pending.is_committed() {
                // Its only write failed: the log has no row for it.
                return (None, answer);
            }
        }
        (Some(Kept::accepted(id)), answer)
    }

    /// What a configuration does with an accepted request; `Ok` holds its outcome.
    /// `mapped`: type 0's `commandData` as the mapping made it for this request.
    async fn perform_hook(
        &self,
        hook: Hook<'_>,
        prepared: &Prepared,
        request: &Value,
        mapped: Option<Value>,
    ) -> Result<Value, Error> {
        let config = prepared.config.as_ref().map_err(Error::internal)?;
        match prepared.row.execution_type {
            0 => {
                let data = mapped.unwrap_or(Value::Null);
                let data = if data.is_object() { data } else { json!({}) };
                let cmd = config["commandName"].as_str().unwrap_or_default();
                self.run_hook_command(hook, cmd, &data).await
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
                self.run_hook_command(hook, "StartProcessInstanceCommand", &data)
                    .await
            }
        }
    }

    /// Runs a configuration's command as the owner, waiting for its commit as `hook` says.
    async fn run_hook_command(
        &self,
        hook: Hook<'_>,
        cmd: &str,
        data: &Value,
    ) -> Result<Value, Error> {
        let reply = match hook {
            Hook::Thread => self.execute_as(cmd, data, &Caller::owner()),
            Hook::Task(rt) => rt.execute_async(cmd, data, &Caller::owner()).await,
        };
        reply.into_error_with_fields()
    }
}

/// A request's number, handed back when its attempt on the worker stopped (`inline`): the run
/// again takes it anew.
struct Lent<'a> {
    rt: &'a Runtime,
    id: i64,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if crate::inline::stopped() {
            self.rt.give_back_request_id(self.id);
        }
    }
}

/// Whether an accepted request for `config` may run on an async worker (`inline`): one command
/// that waits for its commit as a task, whose writes are one step's. That is a StartProcess
/// configuration (type 3, WorkflowGen's incoming webhooks), or a native command (type 0) that
/// is a callback (`ReturnCallbackCommand`), a start or a form task's completion
/// (`SignalProcessInstanceCommand`). Anything else (a chain, code, another command) runs on a
/// blocking thread.
fn runs_on_worker(config: &Prepared) -> bool {
    match config.row.execution_type {
        3 => true,
        0 => config.config.as_ref().is_ok_and(|c| {
            c["commandName"]
                .as_str()
                .is_some_and(crate::bus::waits_as_task)
        }),
        _ => false,
    }
}

/// How a request's command waits for its commit: holding the thread that runs it, or as the
/// async task of `Runtime::receive_webhook_async` (which holds the runtime it needs).
#[derive(Clone, Copy)]
enum Hook<'a> {
    Thread,
    Task(&'a Arc<Runtime>),
}
