//! The HTTP doors to the command bus (DESIGN.md §3):
//! `POST /api/v1/execute` and `POST /api/core/cmd` take `{"cmd", "data"}` and answer the seed 000
//! envelope; `POST /api/bpm/cmd` takes `{"$type": NAME, ...fields}` and answers
//! `{"success", "data", "message", "errors": [str]}` (seed 001).
//!
//! Status codes (API.md): 200 for a handled command, success or business failure; 400 for
//! malformed JSON or an unknown command; 401 without a valid bearer token; 413 for a body over
//! the limit. `app(state)` builds the router so tests call it with `oneshot`, no socket.

use crate::{Caller, Reply, Runtime};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use baton_engine::User;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct AppState {
    pub runtime: Runtime,
    /// Bearer token -> the user it acts as.
    pub tokens: HashMap<String, TokenUser>,
}

/// The user behind a token. An administrator is not held to ResponsibleUser / ResponsibleTeam.
pub struct TokenUser {
    pub user: User,
    pub admin: bool,
}

impl TokenUser {
    fn caller(&self) -> Caller<'_> {
        Caller { user: Some(&self.user), enforce_access: !self.admin }
    }
}

pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/v1/execute", post(execute))
        .route("/api/core/cmd", post(execute))
        .route("/api/bpm/cmd", post(bpm_cmd))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

fn user<'a>(state: &'a AppState, headers: &HeaderMap) -> Option<&'a TokenUser> {
    let h = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let token = h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))?.trim();
    state.tokens.get(token)
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

fn unknown_command(reply: &Reply) -> bool {
    !reply.is_successful && reply.errors.iter().any(|e| e.field == "cmd")
}

async fn execute(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(user) = user(&state, &headers) else { return unauthorized() };
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let Some(cmd) = body.get("cmd").and_then(Value::as_str) else {
        return bad_request("the body needs \"cmd\" (the command name) and \"data\"".into());
    };
    let data = body.get("data").cloned().unwrap_or(json!({}));
    let reply = state.runtime.execute_as(cmd, &data, &user.caller());
    let status = if unknown_command(&reply) { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    (status, Json(reply)).into_response()
}

async fn bpm_cmd(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(user) = user(&state, &headers) else { return unauthorized() };
    let mut body = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let Some(Value::String(cmd)) = body.remove("$type") else {
        return bad_request("the body needs \"$type\" (the command name)".into());
    };
    let reply = state.runtime.execute_as(&cmd, &Value::Object(body), &user.caller());
    let status = if unknown_command(&reply) { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let errors: Vec<String> = reply.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
    (status, Json(json!({"success": reply.is_successful, "data": reply.data, "message": reply.message, "errors": errors})))
        .into_response()
}
