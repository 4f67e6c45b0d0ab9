//! `POST /api/v1/external/workflows/run` (seed 004's curl): starts an instance from
//! `{"workflowId", "context", "config"}` with `Authorization: Bearer <token>`, as
//! StartProcessInstanceCommand does (the same rights, `config.subscriptions` as the
//! instance's own event subscriptions, docs/events.md).
//!
//! - `workflowId`: a definition id (a number, or a string of digits), else a process key (its
//!   newest version). BPMN process ids never start with a digit, so the two cannot be mistaken.
//! - `context`: the instance's variables. A string `context.entity.id` becomes the instance's
//!   correlation id (seed 004: the id of the entity in the caller's own system).
//! - The body may have a comma before a closing `]` or `}` (seed 004's own example does); it is
//!   otherwise JSON.
//!
//! Answers 200 with `workflowDefinitionId`, `workflowRuntimeId`, `ballerineEntityId` (the
//! business key, null here), `instanceGuid`, `status` and `waiting`; a failure answers the seed
//! 000 envelope (`isSuccessful: false`, `message`, `code`, `errors`) with a REST status
//! (`status_of`: 400 bad input, 401, 403, 404 unknown workflow, 409, 422, 429, 500).

use crate::http::{AppState, MAX_BODY_BYTES};
use crate::{Code, Error};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The handler of `POST /api/v1/external/workflows/run`.
pub async fn run_workflow(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
) -> Response {
    let (parts, body) = req.into_parts();
    // The same check as every door: the token, and an administrator's X-Baton-Act-As.
    let caller = match crate::http::caller_of(&state, &parts.headers).await {
        Ok(c) => c,
        Err(e) => return refuse(e),
    };
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(e) if e.to_string().contains("length limit") => {
            let e = Error::new(
                Code::BadRequest,
                format!("the body is over {MAX_BODY_BYTES} bytes"),
            );
            let mut r = refuse(e);
            *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return r;
        }
        Err(e) => {
            return refuse(Error::new(
                Code::BadRequest,
                format!("the body could not be read: {e}"),
            ))
        }
    };
    let body = match parse(&bytes) {
        Ok(b) => b,
        Err(e) => return refuse(e),
    };
    let rt = state.runtime.clone();
    let prepared = tokio::task::spawn_blocking(move || prepare(&rt, &body)).await;
    let (def, correlation, data) = match prepared {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return refuse(e),
        Err(e) => return refuse(Error::internal(format!("the start's thread failed: {e}"))),
    };
    let reply = match state
        .runtime
        .clone()
        .execute_off_workers("StartProcessInstanceCommand".into(), data, caller)
        .await
    {
        Ok(r) => r,
        Err(e) => return refuse(Error::internal(format!("the start's thread failed: {e}"))),
    };
    if !reply.is_successful {
        let status = status_of(reply.code.unwrap_or(Code::Rejected));
        let body = json!({"isSuccessful": false, "message": reply.message, "code": reply.code,
                          "errors": reply.errors});
        return (status, Json(body)).into_response();
    }
    let started = reply.data;
    let answer = json!({
        "workflowDefinitionId": def,
        "workflowRuntimeId": started["instanceGuid"],
        "ballerineEntityId": null,
        "correlationId": correlation,
        "instanceGuid": started["instanceGuid"],
        "status": started["status"],
        "waiting": started["waiting"],
    });
    (StatusCode::OK, Json(answer)).into_response()
}

/// A failure in the seed 000 envelope, `errors` always present, with its code's status.
fn refuse(e: Error) -> Response {
    let e = e.public();
    let body = json!({"isSuccessful": false, "message": e.message, "code": e.code,
                      "errors": e.fields});
    (status_of(e.code), Json(body)).into_response()
}

/// This door's status for a failure: the usual REST statuses (seed 004's server answers this
/// way), not the command doors' "200 for a business failure".
fn status_of(code: Code) -> StatusCode {
    match code {
        Code::Invalid | Code::BadRequest | Code::UnknownCommand => StatusCode::BAD_REQUEST,
        Code::Unauthorized => StatusCode::UNAUTHORIZED,
        Code::Forbidden => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::Conflict | Code::Duplicate => StatusCode::CONFLICT,
        Code::Rejected => StatusCode::UNPROCESSABLE_ENTITY,
        Code::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The body as a JSON object; a comma before a closing bracket is forgiven.
fn parse(bytes: &[u8]) -> Result<Map<String, Value>, Error> {
    let parsed = match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => Ok(v),
        Err(first) => std::str::from_utf8(bytes)
            .ok()
            .and_then(without_trailing_commas)
            .and_then(|fixed| serde_json::from_str::<Value>(&fixed).ok())
            .ok_or(first),
    };
    match parsed {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Error::new(
            Code::BadRequest,
            "the body must be a JSON object {workflowId, context, config}",
        )),
        Err(e) => Err(Error::new(
            Code::BadRequest,
            format!("malformed JSON at {}", baton_engine::sim::json_error_at(&e)),
        )),
    }
}

/// `text` without the commas that stand right before a `]` or `}` (outside strings), or None
/// when it has none.
fn without_trailing_commas(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped, mut dropped) = (false, false, false);
    for (i, &c) in chars.iter().enumerate() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ',' {
            let next = chars[i + 1..].iter().find(|n| !n.is_whitespace());
            if matches!(next, Some(']' | '}')) {
                dropped = true;
                continue;
            }
        }
        out.push(c);
    }
    dropped.then_some(out)
}

/// The definition, the correlation id and StartProcessInstanceCommand's data for a body.
fn prepare(
    rt: &crate::Runtime,
    body: &Map<String, Value>,
) -> Result<(i64, Option<String>, Value), Error> {
    let (id, key) = match body.get("workflowId") {
        Some(Value::Number(n)) => (Some(n.as_i64().ok_or_else(bad_workflow_id)?), None),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            (Some(s.parse().map_err(|_| bad_workflow_id())?), None)
        }
        Some(Value::String(s)) if !s.trim().is_empty() => (None, Some(s.as_str())),
        None | Some(Value::Null) => {
            return Err(Error::field(
                "workflowId",
                "workflowId is required: a process key or a process definition id".into(),
            ))
        }
        Some(_) => return Err(bad_workflow_id()),
    };
    // Its errors name the field this door calls workflowId.
    let def = rt.resolve_definition(id, key).map_err(|mut e| {
        for f in &mut e.fields {
            f.field = "workflowId".into();
        }
        e
    })?;
    let context = match body.get("context") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(Error::field(
                "context",
                "context must be a JSON object (the instance's variables)".into(),
            ))
        }
    };
    let correlation = context
        .get("entity")
        .and_then(|e| e.get("id"))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string);
    let mut data = json!({"processDefinitionId": def, "variables": context});
    if let Some(config) = body.get("config").filter(|c| !c.is_null()) {
        data["config"] = config.clone();
    }
    if let Some(c) = &correlation {
        data["correlationId"] = json!(c);
    }
    Ok((def, correlation, data))
}

fn bad_workflow_id() -> Error {
    Error::field(
        "workflowId",
        "workflowId must be a process key or a process definition id".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_commas_go_but_commas_in_strings_stay() {
        assert_eq!(
            without_trailing_commas("{\"a\": [1, 2,\n ],}").unwrap(),
            "{\"a\": [1, 2\n ]}"
        );
        assert_eq!(without_trailing_commas("{\"a\": \",]\"}"), None);
        assert_eq!(
            without_trailing_commas("{\"a\": \"x\\\",]\",}").unwrap(),
            "{\"a\": \"x\\\",]\"}"
        );
        assert!(parse(b"[1]").is_err());
        let e = parse(b"{\"a\": }").unwrap_err();
        assert!(e.message.contains("line 1"), "{}", e.message);
    }
}
