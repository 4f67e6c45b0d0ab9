//! The HTTP doors to the command bus (DESIGN.md §3):
//! `POST /api/v1/execute` and `POST /api/core/cmd` take `{"cmd", "data"}` and answer the seed 000
//! envelope; `POST /api/bpm/cmd` takes `{"$type": NAME, ...fields}` and answers
//! `{"success", "data", "message", "errors": [str]}` (seed 001).
//!
//! Status codes (API.md): 200 for a handled command, success or business failure; 400 for
//! malformed JSON or an unknown command; 401 without a live bearer token (tokens are checked
//! against the hashes in the database); 403 when the token's user may not do this; 413 for a
//! body over the limit (answered after the token check, in the door's envelope: the body is
//! read by the handler, not by an extractor that would answer first in plain text); 429 with
//! Retry-After from the doors without a token when one address sends too fast
//! (`webhooks::limits`); 500 when Baton itself failed (a reference, never the detail). Each
//! failure's status comes from its code (`Code::http_status`, error.rs), the one table.
//!
//! `POST /webhook/{path}` and `POST /webhook/k/{key}` are the incoming webhook doors
//! (`webhooks.rs`, docs/webhooks.md): no bearer token (the signature is the authentication),
//! every request recorded with its verdict. `POST /hooks/{token}` is an incoming webhook
//! application (`webhook_apps.rs`, docs/webhook-apps.md): the private URL is the secret. Commands run on tokio's blocking pool: SQLite and scripts never stall
//! the async workers. `app(state)` builds the router so tests call it with `oneshot`, no socket.
//!
//! `GET /api/v1/events` streams the change feed as Server-Sent Events (bearer token required):
//! `event: instance` with an `InstanceChange` as JSON for each committed step, a `: keep-alive`
//! comment every 15 s, and `event: lagged` (`{"missed": n}`) when the client fell so far behind
//! that changes were dropped (reload what you show). Every other GET outside the API is the web
//! UI (`app_with` and `UiAssets`): its files, `index.html` for anything unknown (the UI routes
//! with `#/...`), a strict CSP on `index.html`, and a page saying how to build the UI when the
//! binary has none.

use crate::{Caller, Code, Door, Error, Reply, Runtime};
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct AppState {
    pub runtime: Arc<Runtime>,
}

/// The built web UI: every file under ui/dist, by its path relative to it (`index.html`,
/// `assets/index-1a2b3c.js`).
#[derive(Debug, Clone, Copy)]
pub struct UiAssets {
    pub files: &'static [(&'static str, &'static [u8])],
}

impl UiAssets {
    fn get(&self, path: &str) -> Option<&'static [u8]> {
        self.files
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, bytes)| *bytes)
    }
}

/// What the doors serve besides the commands.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    /// The web UI served at `/` (None: a page saying how to build it).
    pub ui: Option<UiAssets>,
    /// Becomes `true` when the server stops: open event streams end, so that a graceful
    /// shutdown does not wait for them.
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
}

/// The doors without a web UI (`/` says how to build one); event streams end when their client
/// leaves.
pub fn app(state: Arc<AppState>) -> Router {
    app_with(state, AppOptions::default())
}

/// The doors, the event stream and the web UI.
pub fn app_with(state: Arc<AppState>, options: AppOptions) -> Router {
    let AppOptions { ui, stop } = options;
    Router::new()
        .route(
            "/api/v1/events",
            get(
                move |State(state): State<Arc<AppState>>, headers: HeaderMap| {
                    events(state, headers, stop.clone())
                },
            ),
        )
        .route("/api/v1/execute", post(execute))
        .route("/api/core/cmd", post(execute))
        .route("/api/bpm/cmd", post(bpm_cmd))
        .route("/webhook/k/{key}", post(webhook_by_key))
        .route("/webhook/{*rest}", post(webhook_by_url))
        .route("/hooks/{token}", post(hook_app))
        .route(
            "/api/v1/external/workflows/run",
            post(crate::external_run::run_workflow),
        )
        .fallback(move |method: axum::http::Method, uri: axum::http::Uri| {
            std::future::ready(static_file(ui, &method, uri.path()))
        })
        .method_not_allowed_fallback(|method: axum::http::Method, uri: axum::http::Uri| {
            std::future::ready(wrong_method(&method, uri.path()))
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// How often an idle event stream sends a `: keep-alive` comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `GET /api/v1/events`: the change feed as Server-Sent Events. The subscription is made
/// before the answer's headers are sent, so a change committed after they arrive is in the
/// stream.
async fn events(
    state: Arc<AppState>,
    headers: HeaderMap,
    stop: Option<tokio::sync::watch::Receiver<bool>>,
) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use tokio::sync::broadcast::error::RecvError;
    let who = match caller(&state, Shape::Execute, &headers).await {
        Ok(who) => who,
        Err(refused) => return refused,
    };
    let changes = state.runtime.subscribe_changes();
    // The request log is an administrator's: only their feed carries its requests.
    let requests = who
        .admin
        .then(|| state.runtime.subscribe_webhook_requests());
    // Anyone may read a job's runs: every feed carries them.
    let runs = state.runtime.subscribe_job_runs();
    let filter = crate::changes::FeedFilter::new(state.runtime.clone(), &who);
    let start = (changes, requests, runs, stop, filter);
    let stream = futures_util::stream::unfold(
        start,
        |(mut changes, mut requests, mut runs, mut stop, mut filter)| async move {
            let event = loop {
                let next = tokio::select! {
                    next = changes.recv() => Next::Change(next),
                    next = next_request(&mut requests) => Next::Request(next),
                    next = runs.recv() => Next::Run(next),
                    // Stopping (or the server that could stop it is gone): end the stream.
                    _ = stopped(&mut stop) => return None,
                };
                break match next {
                    Next::Change(Ok(change)) => {
                        // A caller sees the changes of the instances they may read, no others
                        // (an administrator sees all; others mostly decided in memory).
                        if !filter.admits(&change).await {
                            continue;
                        }
                        Event::default()
                            .event("instance")
                            .data(serde_json::to_string(&change).unwrap_or_default())
                    }
                    Next::Request(Ok(request)) => Event::default()
                        .event("webhook-request")
                        .data(serde_json::to_string(&request).unwrap_or_default()),
                    Next::Run(Ok(run)) => Event::default()
                        .event("job-run")
                        .data(serde_json::to_string(&run).unwrap_or_default()),
                    Next::Change(Err(RecvError::Lagged(missed)))
                    | Next::Request(Err(RecvError::Lagged(missed)))
                    | Next::Run(Err(RecvError::Lagged(missed))) => Event::default()
                        .event("lagged")
                        .data(json!({ "missed": missed }).to_string()),
                    Next::Change(Err(RecvError::Closed))
                    | Next::Request(Err(RecvError::Closed))
                    | Next::Run(Err(RecvError::Closed)) => return None,
                };
            };
            Some((
                Ok::<_, std::convert::Infallible>(event),
                (changes, requests, runs, stop, filter),
            ))
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
        .into_response()
}

/// What an event stream received next.
enum Next {
    Change(Result<crate::InstanceChange, tokio::sync::broadcast::error::RecvError>),
    Request(Result<crate::WebhookRequestEvent, tokio::sync::broadcast::error::RecvError>),
    Run(Result<crate::JobRunEvent, tokio::sync::broadcast::error::RecvError>),
}

/// The next webhook request of a feed that carries them; never, for one that does not.
async fn next_request(
    requests: &mut Option<tokio::sync::broadcast::Receiver<crate::WebhookRequestEvent>>,
) -> Result<crate::WebhookRequestEvent, tokio::sync::broadcast::error::RecvError> {
    match requests {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

/// Resolves once the server stops (or the sender that could stop it is gone); never without one.
async fn stopped(stop: &mut Option<tokio::sync::watch::Receiver<bool>>) {
    match stop {
        Some(stop) => {
            let _ = stop.wait_for(|stopped| *stopped).await;
        }
        None => std::future::pending().await,
    }
}

/// The Content-Security-Policy of the web UI's page.
pub const UI_CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Paths that belong to the API: never answered with the UI's page.
fn is_api(path: &str) -> bool {
    ["api", "webhook", "hooks"]
        .iter()
        .any(|p| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
}

/// A refusal made before any door's handler ran (no such endpoint, a method the path does not
/// take, a path that cannot be read), in the envelope of the door the path belongs to, with
/// `errors`: seed 001's at `/api/bpm/...`, a webhook application's at `/hooks/...`, seed 000's
/// elsewhere.
fn door_refusal(path: &str, status: StatusCode, message: String, code: Code) -> Response {
    let path = path.trim_start_matches('/');
    let body = if path.starts_with("api/bpm/") {
        json!({"success": false, "data": null, "message": message, "errors": []})
    } else if path == "hooks" || path.starts_with("hooks/") {
        json!({"errors": [{"message": message, "code": code}]})
    } else {
        plain_refusal(message, code)
    };
    (status, Json(body)).into_response()
}

/// A path that exists, asked with a method it does not take (`GET /api/v1/execute`): 405 with
/// the methods it takes, in its door's envelope.
fn wrong_method(method: &axum::http::Method, path: &str) -> Response {
    let message = format!("{path} takes POST, not {method}");
    let mut r = door_refusal(
        path,
        StatusCode::METHOD_NOT_ALLOWED,
        message,
        Code::BadRequest,
    );
    r.headers_mut().insert(
        axum::http::header::ALLOW,
        axum::http::HeaderValue::from_static("POST"),
    );
    r
}

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "wasm" => "application/wasm",
        "bpmn" | "xml" => "application/xml",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The page `/` shows when this binary was built without the web UI.
const NO_UI_PAGE: &str = "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Baton</title></head>
<body style=\"font-family: sans-serif; max-width: 40em; margin: 3em auto\">
<h1>Baton</h1>
<p>This Baton was built without its web UI. The API answers at <code>POST /api/v1/execute</code>.</p>
<p>To get the UI, build it and then Baton:</p>
<pre>cd ui &amp;&amp; npm ci &amp;&amp; npm run build &amp;&amp; cd .. &amp;&amp; cargo build --release</pre>
<p>(<code>cargo xtask run</code> does both.)</p>
</body></html>
";

fn page(body: &'static [u8], path: &str, cache: &'static str) -> Response {
    use axum::http::header;
    let mut response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type(path)),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response();
    if path == "index.html" {
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            axum::http::HeaderValue::from_static(UI_CSP),
        );
        // The token may be in the address (`?token=`) until the page drops it.
        h.insert(
            header::REFERRER_POLICY,
            axum::http::HeaderValue::from_static("no-referrer"),
        );
        h.insert(
            header::X_FRAME_OPTIONS,
            axum::http::HeaderValue::from_static("DENY"),
        );
    }
    response
}

/// Every request no route took: the web UI's files for GET and HEAD outside the API.
fn static_file(ui: Option<UiAssets>, method: &axum::http::Method, path: &str) -> Response {
    let path = path.trim_start_matches('/');
    if is_api(path) {
        let message = format!("no such endpoint: {method} /{path}");
        return door_refusal(path, StatusCode::NOT_FOUND, message, Code::NotFound);
    }
    if method != axum::http::Method::GET && method != axum::http::Method::HEAD {
        return StatusCode::NOT_FOUND.into_response();
    }
    let path = if path.is_empty() { "index.html" } else { path };
    let Some(ui) = ui.filter(|u| u.get("index.html").is_some()) else {
        return if path == "index.html" {
            page(NO_UI_PAGE.as_bytes(), path, "no-cache")
        } else {
            StatusCode::NOT_FOUND.into_response()
        };
    };
    match ui.get(path) {
        // Vite's hashed names change with their content: cache them for good.
        Some(body) if path.starts_with("assets/") => {
            page(body, path, "public, max-age=31536000, immutable")
        }
        Some(body) => page(body, path, "no-cache"),
        // A missing script or style is a 404, not the page (the browser would refuse it).
        None if path.starts_with("assets/") => StatusCode::NOT_FOUND.into_response(),
        None => page(
            ui.get("index.html").unwrap_or_default(),
            "index.html",
            "no-cache",
        ),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let h = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// Which envelope an error answer uses: seed 000's `isSuccessful` or seed 001's `success`.
#[derive(Clone, Copy)]
enum Shape {
    Execute,
    Bpm,
}

/// A failure at a command door, in the door's envelope, with the status of its code (the one
/// table, `Code::http_status`). An internal detail is logged and replaced by a reference.
fn refuse(door: Shape, e: Error) -> Response {
    let e = e.public();
    let status = StatusCode::from_u16(e.code.http_status(Door::Command))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match door {
        Shape::Execute => json!({"isSuccessful": false, "message": e.message,
            "errors": e.fields, "code": e.code}),
        // Seed 001's shape is exactly these four keys: no code (the status still tells).
        Shape::Bpm => json!({"success": false, "data": null, "message": e.message,
            "errors": bpm_errors(&e.fields)}),
    };
    (status, Json(body)).into_response()
}

/// Seed 001's `errors`: one string per wrong field ("field: message").
fn bpm_errors(fields: &[crate::FieldError]) -> Vec<String> {
    fields
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect()
}

/// A refusal in seed 000's envelope, `errors` empty: the doors that answer without a command
/// (an API path that does not exist, a method a path does not take, the webhook door's rate
/// limit).
pub(crate) fn plain_refusal(message: String, code: Code) -> Value {
    json!({"isSuccessful": false, "message": message, "errors": [], "code": code})
}

fn unauthorized(door: Shape) -> Response {
    refuse(
        door,
        Error::new(Code::Unauthorized, "missing or invalid bearer token"),
    )
}

fn bad_request(door: Shape, message: String) -> Response {
    refuse(door, Error::new(Code::BadRequest, message))
}

/// The answer to a body over [`MAX_BODY_BYTES`] at a command door: 413 in the door's envelope.
fn too_large(door: Shape) -> Response {
    let message = format!("the body is over {MAX_BODY_BYTES} bytes");
    let body = match door {
        Shape::Execute => plain_refusal(message, Code::BadRequest),
        Shape::Bpm => json!({"success": false, "data": null, "message": message, "errors": []}),
    };
    (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
}

/// Reads a command's body up to the limit. Called after the token check: a caller without a
/// live token learns nothing, not even the limit.
async fn read_body(door: Shape, body: Body) -> Result<Bytes, Box<Response>> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            // The limit's error is the only one that says "length limit"; anything else is a
            // body the client did not finish sending.
            Box::new(if e.to_string().contains("length limit") {
                too_large(door)
            } else {
                bad_request(door, format!("the body could not be read: {e}"))
            })
        })
}

fn parse_body(door: Shape, body: &Bytes) -> Result<Map<String, Value>, Box<Response>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Box::new(bad_request(
            door,
            "the body must be a JSON object".into(),
        ))),
        Err(e) => Err(Box::new(bad_request(
            door,
            format!("malformed JSON at {}", baton_engine::sim::json_error_at(&e)),
        ))),
    }
}

fn status(reply: &Reply) -> StatusCode {
    StatusCode::from_u16(reply.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A command's answer with its status; a 429 (`RATE_LIMITED`: a process's
/// `maxInstancesPerSecond`, whose bucket refills within a second) says when to try again.
fn answered(reply: &Reply, body: impl serde::Serialize) -> Response {
    let status = status(reply);
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
    }
    response
}

/// A command whose thread ended without an answer (it panicked): internal, the panic text in
/// the log only.
fn internal(door: Shape, e: tokio::task::JoinError) -> Response {
    refuse(
        door,
        Error::internal(format!("the command's thread failed: {e}")),
    )
}

/// Checks the bearer token against the database before the body is even read, so a caller
/// without a live token learns nothing about what the body should hold.
async fn caller(
    state: &Arc<AppState>,
    door: Shape,
    headers: &HeaderMap,
) -> Result<Caller, Response> {
    caller_of(state, headers).await.map_err(|e| refuse(door, e))
}

/// The caller a request's bearer token names, acting as the user its `X-Baton-Act-As` header
/// names when it has one (an administrator's "act as"). Every door with a token checks it here:
/// UNAUTHORIZED for no live token, BAD_REQUEST for an act-as header that is not plain text,
/// and what `acting_as` answers for a user who does not exist or a caller who may not act.
pub(crate) async fn caller_of(state: &Arc<AppState>, headers: &HeaderMap) -> Result<Caller, Error> {
    let unauthorized = || Error::new(Code::Unauthorized, "missing or invalid bearer token");
    let token = bearer(headers)
        .map(str::to_string)
        .ok_or_else(unauthorized)?;
    let act_as = headers
        .get(ACT_AS)
        .map(|v| v.to_str().map(|s| s.trim().to_string()))
        .transpose()
        .map_err(|_| {
            Error::new(
                Code::BadRequest,
                "actAs: the X-Baton-Act-As header must be a user name in plain text",
            )
        })?
        .filter(|s| !s.is_empty());
    let state = state.clone();
    let found = tokio::task::spawn_blocking(move || -> Result<Option<Caller>, Error> {
        // A token that cannot be checked (the file is unreadable) is an internal failure, not
        // a wrong token.
        let Some(caller) = state.runtime.token_caller(&token)? else {
            return Ok(None);
        };
        Ok(Some(match act_as {
            Some(name) => state.runtime.acting_as(&caller, &name)?,
            None => caller,
        }))
    })
    .await;
    match found {
        Ok(Ok(Some(caller))) => Ok(caller),
        Ok(Ok(None)) => Err(unauthorized()),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(Error::internal(format!("the token check failed: {e}"))),
    }
}

/// An administrator's request to run a command as another user (the task inbox's "act as").
pub const ACT_AS: &str = "x-baton-act-as";

/// The caller of a command door: `Some` for a live bearer token (`caller`), `None` for a
/// request with neither an `Authorization` nor an act-as header, which may only load a public
/// form (`public_form`, seed 002's "Auth: Optional"). A wrong token is a 401 as always.
async fn caller_or_nobody(
    state: &Arc<AppState>,
    door: Shape,
    headers: &HeaderMap,
) -> Result<Option<Caller>, Response> {
    if headers.get(axum::http::header::AUTHORIZATION).is_none() && headers.get(ACT_AS).is_none() {
        return Ok(None);
    }
    caller(state, door, headers).await.map(Some)
}

/// The most a request without a token may send (a form's load is a few dozen bytes).
pub const MAX_BODY_BYTES_WITHOUT_TOKEN: usize = 16 * 1024;

/// Reads a command's body: up to the limit with a token; without one, up to
/// [`MAX_BODY_BYTES_WITHOUT_TOKEN`], and whatever fails is the 401 (the caller learns nothing).
async fn read_command_body(
    door: Shape,
    who: &Option<Caller>,
    body: Body,
) -> Result<Bytes, Box<Response>> {
    match who {
        Some(_) => read_body(door, body).await,
        None => axum::body::to_bytes(body, MAX_BODY_BYTES_WITHOUT_TOKEN)
            .await
            .map_err(|_| Box::new(unauthorized(door))),
    }
}

/// Who runs `cmd`: the token's caller; without a token, nobody (`Caller::anonymous`) for a
/// form's load, rate-limited per address like the other doors without a token (the runtime
/// then says whether the form is public); any other command without a token is the 401 it
/// always was.
fn public_form(
    state: &Arc<AppState>,
    door: Shape,
    who: Option<Caller>,
    cmd: &str,
    parts: &axum::http::request::Parts,
) -> Result<Caller, Box<Response>> {
    if let Some(who) = who {
        return Ok(who);
    }
    if cmd != crate::access::PUBLIC_FORM_COMMAND {
        return Err(Box::new(unauthorized(door)));
    }
    let remote = state.runtime.client_ip(remote_ip(parts), &parts.headers);
    if let Err(wait) = state.runtime.admit_unauthenticated(remote) {
        // `data.status` too: seed 002's frontend reads it first.
        let message = too_many(wait);
        let data = json!({"status": Code::RateLimited, "message": message});
        let body = match door {
            Shape::Execute => json!({"isSuccessful": false, "message": message,
                "code": Code::RateLimited, "data": data, "errors": []}),
            Shape::Bpm => json!({"success": false, "data": data, "message": message, "errors": []}),
        };
        return Err(Box::new(limited(wait, body)));
    }
    Ok(Caller::anonymous())
}

/// Runs the command off the async workers (commands through the command lane, see `lanes`).
async fn run(
    state: Arc<AppState>,
    door: Shape,
    caller: Caller,
    cmd: String,
    data: Value,
) -> Result<Reply, Response> {
    let runtime = state.runtime.clone();
    runtime
        .execute_off_workers(cmd, data, caller)
        .await
        .map_err(|e| internal(door, e))
}

async fn execute(State(state): State<Arc<AppState>>, req: axum::extract::Request) -> Response {
    let door = Shape::Execute;
    let (parts, body) = req.into_parts();
    let who = match caller_or_nobody(&state, door, &parts.headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body = match read_command_body(door, &who, body).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let body = match parse_body(door, &body) {
        Ok(b) => b,
        Err(_) if who.is_none() => return unauthorized(door),
        Err(r) => return *r,
    };
    let Some(cmd) = body.get("cmd").and_then(Value::as_str) else {
        if who.is_none() {
            return unauthorized(door);
        }
        return bad_request(
            door,
            "the body needs \"cmd\" (the command name) and \"data\"".into(),
        );
    };
    let who = match public_form(&state, door, who, cmd, &parts) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let data = body.get("data").cloned().unwrap_or(json!({}));
    match run(state, door, who, cmd.to_string(), data).await {
        Ok(reply) => answered(&reply, &reply),
        Err(r) => r,
    }
}

async fn bpm_cmd(State(state): State<Arc<AppState>>, req: axum::extract::Request) -> Response {
    let door = Shape::Bpm;
    let (parts, body) = req.into_parts();
    let who = match caller_or_nobody(&state, door, &parts.headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body = match read_command_body(door, &who, body).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let mut body = match parse_body(door, &body) {
        Ok(b) => b,
        Err(_) if who.is_none() => return unauthorized(door),
        Err(r) => return *r,
    };
    let Some(Value::String(cmd)) = body.remove("$type") else {
        if who.is_none() {
            return unauthorized(door);
        }
        return bad_request(door, "the body needs \"$type\" (the command name)".into());
    };
    let who = match public_form(&state, door, who, &cmd, &parts) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    match run(state, door, who, cmd, Value::Object(body)).await {
        Ok(reply) => {
            let errors = bpm_errors(&reply.errors);
            let body = json!({"success": reply.is_successful, "data": reply.data, "message": reply.message, "errors": errors});
            answered(&reply, body)
        }
        Err(r) => r,
    }
}

async fn webhook_by_key(
    State(state): State<Arc<AppState>>,
    key: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
    req: axum::extract::Request,
) -> Response {
    match key {
        Ok(axum::extract::Path(key)) => receive_webhook(state, Some(key), req).await,
        Err(e) => unreadable_path(req.uri().path(), e),
    }
}

/// A path whose parameter cannot be read (not UTF-8 once decoded): 400 in the door's
/// envelope, instead of axum's plain-text answer.
fn unreadable_path(path: &str, e: axum::extract::rejection::PathRejection) -> Response {
    let message = format!("the path cannot be read: {}", e.body_text());
    door_refusal(path, StatusCode::BAD_REQUEST, message, Code::BadRequest)
}

async fn webhook_by_url(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
) -> Response {
    receive_webhook(state, None, req).await
}

/// Hands a webhook request to the runtime. The remote address comes from the socket
/// (`ConnectInfo`, set by `baton serve`), or from a proxy the administrator trusts
/// (`Runtime::client_ip`); the body is read up to the limit so that an oversized one is still
/// recorded (413).
async fn receive_webhook(
    state: Arc<AppState>,
    key: Option<String>,
    req: axum::extract::Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let remote = state.runtime.client_ip(remote_ip(&parts), &parts.headers);
    if let Err(wait) = state.runtime.admit_unauthenticated(remote) {
        let body = plain_refusal(too_many(wait), Code::RateLimited);
        return limited(wait, body);
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match headers.iter_mut().find(|(n, _)| n == name.as_str()) {
            Some((_, v)) => {
                v.push_str(", ");
                v.push_str(&value);
            }
            None => headers.push((name.as_str().to_string(), value)),
        }
    }
    let query: Map<String, Value> =
        axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|q| {
                q.0.into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect()
            })
            .unwrap_or_default();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .ok()
        .map(|b| b.to_vec());
    let incoming = crate::webhooks::IncomingWebhook {
        key,
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        headers,
        query,
        remote,
        body,
    };
    // Like a command from the other doors: one of the command places, off the async workers.
    let runtime = state.runtime.clone();
    match runtime.receive_webhook_off_workers(incoming).await {
        Ok(answer) => {
            let code =
                StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (code, Json(answer.body)).into_response()
        }
        Err(e) => internal(Shape::Execute, e),
    }
}

/// The socket's address (`ConnectInfo`, set by `baton serve`); None for in-process callers.
fn remote_ip(parts: &axum::http::request::Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

fn too_many(wait: u64) -> String {
    format!("too many requests from this address; try again in {wait} s")
}

/// 429 with Retry-After and the door's body. Nothing was read or recorded.
fn limited(wait: u64, body: Value) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(axum::http::header::RETRY_AFTER, wait.to_string())],
        Json(body),
    )
        .into_response()
}

/// `POST /hooks/{token}`: an incoming webhook application (seed 003, `webhook_apps.rs`). No
/// bearer token: the private URL is the secret. Rate-limited per address before anything is
/// read; a body over the limit is a 413 in the door's `errors` envelope.
async fn hook_app(
    State(state): State<Arc<AppState>>,
    token: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
    req: axum::extract::Request,
) -> Response {
    let token = match token {
        Ok(axum::extract::Path(token)) => token,
        Err(e) => return unreadable_path(req.uri().path(), e),
    };
    let (parts, body) = req.into_parts();
    let hook_error = |status: StatusCode, message: String, code: Code| {
        (
            status,
            Json(json!({"errors": [{"message": message, "code": code}]})),
        )
            .into_response()
    };
    let remote = state.runtime.client_ip(remote_ip(&parts), &parts.headers);
    if let Err(wait) = state.runtime.admit_unauthenticated(remote) {
        let body = json!({"errors": [{"message": too_many(wait), "code": Code::Rejected}]});
        return limited(wait, body);
    }
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(e) if e.to_string().contains("length limit") => {
            return hook_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is over {MAX_BODY_BYTES} bytes"),
                Code::BadRequest,
            )
        }
        Err(e) => {
            return hook_error(
                StatusCode::BAD_REQUEST,
                format!("the body could not be read: {e}"),
                Code::BadRequest,
            )
        }
    };
    let runtime = state.runtime.clone();
    match runtime
        .run_off_workers(move |rt| rt.receive_hook_app(&token, &body))
        .await
    {
        Ok(answer) => {
            let code =
                StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (code, Json(answer.body)).into_response()
        }
        Err(e) => {
            let e = Error::internal(format!("the operation's thread failed: {e}")).public();
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"errors": [{"message": e.message, "code": e.code}]})),
            )
                .into_response()
        }
    }
}
