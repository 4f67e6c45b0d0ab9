//! The HTTP doors over a `TestRuntime`: through the axum router without a socket (`Door`, for
//! tests of answers and statuses), or served on 127.0.0.1 with a small blocking client
//! (`Served`, for tests of the real transport).

use crate::harness::TestRuntime;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use baton_runtime::http::{app, AppState};
use baton_runtime::Bootstrap;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

/// The administrator's token every `Door` registers.
pub const ADMIN: &str = "admin-token-0123456789";

/// A user made by `Door::user`: its token and the token's id.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub name: String,
    pub token: String,
    pub token_id: i64,
}

/// The router over a fresh runtime whose administrator holds `ADMIN`.
pub struct Door {
    pub t: TestRuntime,
    pub st: Arc<AppState>,
}

impl Default for Door {
    fn default() -> Self {
        Self::new()
    }
}

impl Door {
    pub fn new() -> Door {
        Self::with_admin(ADMIN)
    }

    /// A door whose administrator token is `admin`.
    pub fn with_admin(admin: &str) -> Door {
        let t = TestRuntime::new();
        assert_eq!(t.rt.bootstrap(Some(admin)).unwrap(), Bootstrap::Given);
        let st = Arc::new(AppState {
            runtime: t.rt.clone(),
        });
        Door { t, st }
    }

    /// Creates a non-administrator in these teams with one API token.
    pub fn user(&self, name: &str, teams: &[&str]) -> TestUser {
        self.t.run(
            "CreateUserCommand",
            json!({"userName": name, "teams": teams}),
        );
        let d = self
            .t
            .run("CreateApiTokenCommand", json!({"userName": name}));
        TestUser {
            name: name.into(),
            token: d["token"].as_str().expect("a token").into(),
            token_id: d["id"].as_i64().expect("a token id"),
        }
    }

    /// Any request: `POST path` with a JSON body and an optional `authorization` header.
    pub async fn post(&self, path: &str, auth: Option<&str>, body: String) -> (StatusCode, Value) {
        let mut req = Request::post(path).header("content-type", "application/json");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        self.send(req.body(Body::from(body)).expect("a request"))
            .await
    }

    /// Sends a request through the router; answers the status and the body as JSON (Null when
    /// it is not JSON).
    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let resp = app(self.st.clone()).oneshot(req).await.expect("an answer");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("a body").to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// `POST /api/v1/execute` with a bearer token.
    pub async fn exec(&self, token: &str, cmd: &str, data: Value) -> (StatusCode, Value) {
        self.post(
            "/api/v1/execute",
            Some(&format!("Bearer {token}")),
            json!({"cmd": cmd, "data": data}).to_string(),
        )
        .await
    }

    /// `POST /api/bpm/cmd` with a bearer token; `body` carries `$type`.
    pub async fn bpm(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.post(
            "/api/bpm/cmd",
            Some(&format!("Bearer {token}")),
            body.to_string(),
        )
        .await
    }
}

/// A response's status and its body as JSON (Null when it is not JSON).
pub async fn answer(resp: axum::response::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("a body").to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The HTTP doors served on 127.0.0.1 (a free port) on their own tokio runtime thread, over a
/// runtime the test keeps driving (virtual clock and all). Stops when dropped.
pub struct Served {
    pub address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    /// Serves `app(state)` on 127.0.0.1:0.
    pub fn start(state: Arc<AppState>) -> Served {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.set_nonblocking(true).expect("non-blocking");
        let address = listener.local_addr().expect("an address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a tokio runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
                axum::serve(
                    listener,
                    app(state).into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .expect("the server ran");
            });
        });
        Served {
            address,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// `POST {path}` with a JSON body and an optional bearer token; answers the status and the
    /// body as JSON (Null when it is not JSON). Never fails on a 4xx/5xx status.
    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let (status, body, _) = self.post_reading(path, token, body, "");
        (status, body)
    }

    /// As `post`, and answers the value of the response header `header` too.
    pub fn post_reading(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
        header: &str,
    ) -> (u16, Value, Option<String>) {
        let mut req = agent()
            .post(&self.url(path))
            .set("content-type", "application/json");
        if let Some(t) = token {
            req = req.set("authorization", &format!("Bearer {t}"));
        }
        let resp = match req.send_string(&body.to_string()) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("POST {path}: {e}"),
        };
        let status = resp.status();
        let value = resp.header(header).map(str::to_string);
        let text = resp.into_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            value,
        )
    }

    /// `POST /api/v1/execute` as the admin; answers the reply's `data` once it asserted that
    /// the command succeeded (200, `isSuccessful`), naming the command when it did not.
    pub fn execute_ok(&self, cmd: &str, data: Value) -> Value {
        let body = serde_json::json!({"cmd": cmd, "data": data});
        let (status, answer) = self.post("/api/v1/execute", Some(ADMIN), &body);
        assert_eq!(status, 200, "{cmd}: {answer}");
        assert_eq!(answer["isSuccessful"], true, "{cmd}: {answer}");
        answer["data"].clone()
    }

    /// `POST {path}` with a raw body, an optional bearer token and more headers (a JSON
    /// content type unless they give one); answers the status and the body as JSON.
    pub fn send(
        &self,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Value) {
        let mut all: Vec<(String, String)> = Vec::new();
        if let Some(t) = token {
            all.push(("authorization".into(), format!("Bearer {t}")));
        }
        all.extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        post_to(&self.url(path), &all, body)
    }

    /// `POST /api/v1/execute` with a bearer token.
    pub fn exec(&self, token: &str, cmd: &str, data: Value) -> (u16, Value) {
        self.post(
            "/api/v1/execute",
            Some(token),
            &json!({"cmd": cmd, "data": data}),
        )
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A blocking HTTP client with bounded waits.
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(5))
        .timeout_read(Duration::from_secs(30))
        .build()
}

/// `POST url` with a raw body and these headers (a JSON content type unless they give one);
/// answers the status and the body as JSON (Null when it is not JSON). Never fails on a
/// 4xx/5xx status.
pub fn post_to(url: &str, headers: &[(String, String)], body: &str) -> (u16, Value) {
    let mut req = agent().post(url);
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        req = req.set("content-type", "application/json");
    }
    for (n, v) in headers {
        req = req.set(n, v);
    }
    let resp = match req.send_string(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {url}: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}
