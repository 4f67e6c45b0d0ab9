//! The HTTP doors to the command bus (DESIGN.md §3):
//! `POST /api/v1/execute` and `POST /api/core/cmd` take `{"cmd", "data"}` and answer the seed 000
//! envelope; `POST /api/bpm/cmd` takes `{"$type": NAME, ...fields}` and answers
//! `{"success", "data", "message", "errors": [str]}` (seed 001).
//!
//! Status codes (API.md): 200 for a handled command, success or business failure; 400 for
//! malformed JSON or an unknown command; 401 without a live bearer token (tokens are checked
//! against the hashes in the database); 403 when the token's user may not do this; 413 for a
//! body over the limit. Commands run on tokio's blocking pool: SQLite and scripts never stall
//! the async workers. `app(state)` builds the router so tests call it with `oneshot`, no socket.

use crate::{Caller, Outcome, Reply, Runtime};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct AppState {
    pub runtime: Runtime,
}

pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/v1/execute", post(execute))
        .route("/api/core/cmd", post(execute))
        .route("/api/bpm/cmd", post(bpm_cmd))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let h = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = h.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty())
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"isSuccessful": false, "message": "missing or invalid bearer token"}))).into_response()
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"isSuccessful": false, "message": message}))).into_response()
}

fn parse_body(body: &Bytes) -> Result<Map<String, Value>, Box<Response>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Box::new(bad_request("the body must be a JSON object".into()))),
        Err(e) => Err(Box::new(bad_request(format!("malformed JSON at line {}, column {}: {e}", e.line(), e.column())))),
    }
}

fn status(reply: &Reply) -> StatusCode {
    match reply.outcome {
        Outcome::Done | Outcome::Refused => StatusCode::OK,
        Outcome::Forbidden => StatusCode::FORBIDDEN,
        Outcome::UnknownCommand => StatusCode::BAD_REQUEST,
    }
}

/// Authenticates, then runs the command off the async workers.
async fn run(state: Arc<AppState>, headers: &HeaderMap, cmd: String, data: Value) -> Result<Reply, Response> {
    let token = bearer(headers).map(str::to_string).ok_or_else(unauthorized)?;
    let joined = tokio::task::spawn_blocking(move || {
        let caller: Caller = state.runtime.authenticate(&token)?;
        Some(state.runtime.execute_as(&cmd, &data, &caller))
    })
    .await;
    match joined {
        Ok(Some(reply)) => Ok(reply),
        Ok(None) => Err(unauthorized()),
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"isSuccessful": false, "message": format!("the command failed: {e}")})))
            .into_response()),
    }
}

async fn execute(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    if bearer(&headers).is_none() {
        return unauthorized();
    }
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let Some(cmd) = body.get("cmd").and_then(Value::as_str) else {
        return bad_request("the body needs \"cmd\" (the command name) and \"data\"".into());
    };
    let data = body.get("data").cloned().unwrap_or(json!({}));
    match run(state, &headers, cmd.to_string(), data).await {
        Ok(reply) => (status(&reply), Json(reply)).into_response(),
        Err(r) => r,
    }
}

async fn bpm_cmd(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    if bearer(&headers).is_none() {
        return unauthorized();
    }
    let mut body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let Some(Value::String(cmd)) = body.remove("$type") else {
        return bad_request("the body needs \"$type\" (the command name)".into());
    };
    match run(state, &headers, cmd, Value::Object(body)).await {
        Ok(reply) => {
            let errors: Vec<String> = reply.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
            let body = json!({"success": reply.is_successful, "data": reply.data, "message": reply.message, "errors": errors});
            (status(&reply), Json(body)).into_response()
        }
        Err(r) => r,
    }
}
