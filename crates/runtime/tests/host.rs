//! The `Host` over a real SQLite file and real HTTP on 127.0.0.1: commands through `execute`,
//! the change feed and its Server-Sent Events door, the embedded web UI, a shutdown that
//! finishes the request under way and stops every thread, and one host per database.

use baton_runtime::host::{lock_path, Host, HostConfig, HostError, UiAssets};
use baton_runtime::InstanceChange;
use baton_testkit::{agent, Model};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::{mpsc, Arc};
use std::time::Duration;

const TEMPLATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../bpmn-templates/payment-approval/PaymentApprovalProcess.bpmn"
);
const TOKEN: &str = "host-test-token-0123456789";

fn start(db: &Path, ui: Option<UiAssets>) -> Host {
    Host::start(HostConfig {
        listen: Some("127.0.0.1:0".into()),
        token: Some(TOKEN.into()),
        ui,
        ..HostConfig::new(db)
    })
    .unwrap_or_else(|e| panic!("the host did not start: {e}"))
}

fn ok(answer: Value) -> Value {
    assert_eq!(answer["isSuccessful"], true, "{answer}");
    answer["data"].clone()
}

fn deploy_template(host: &Host) -> i64 {
    let xml = std::fs::read_to_string(TEMPLATE).unwrap();
    ok(host.execute(&json!({"cmd": "DeployProcessDefinitionCommand", "data": {"bpmnXml": xml}})))
        ["processDefinitionId"]
        .as_i64()
        .unwrap()
}

fn start_request(payment: &str) -> Value {
    json!({"cmd": "StartProcessInstanceCommand",
           "data": {"processKey": "PaymentApprovalProcess", "variables": {"paymentId": payment, "amount": 10}}})
}

fn url(host: &Host, path: &str) -> String {
    format!("http://{}{path}", host.address().unwrap())
}

/// Runs `f` on a thread and fails the test if it has not returned within `secs`.
fn within<T: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("{what} did not finish within {secs} s"))
}

#[test]
fn host_runs_commands_as_the_owner_and_publishes_each_committed_change() {
    let dir = tempfile::tempdir().unwrap();
    let host = start(&dir.path().join("nested/folder/baton.db"), None);
    assert!(host.address().unwrap().port() > 0);
    let definition = deploy_template(&host);
    let mut changes = host.subscribe();
    let started = ok(host.execute(&start_request("PAY-1")));
    let guid = started["instanceGuid"].as_str().unwrap().to_string();
    // Published after the commit, before the command answered.
    let change: InstanceChange = changes.try_recv().expect("a change for the start");
    assert_eq!(change.instance_guid, guid);
    assert_eq!(change.process_key, "PaymentApprovalProcess");
    assert_eq!(change.process_definition_id, definition);
    assert_eq!(change.status, "WAITING");
    change
        .at
        .parse::<jiff::Timestamp>()
        .expect("`at` is RFC 3339");
    let wire = serde_json::to_value(&change).unwrap();
    for key in [
        "instanceGuid",
        "processKey",
        "processDefinitionId",
        "status",
        "at",
    ] {
        assert!(wire.get(key).is_some(), "{key} in {wire}");
    }
    // A query writes nothing and publishes nothing; a cancel does.
    ok(host
        .execute(&json!({"cmd": "GetProcessInstanceByIdQuery", "data": {"instanceGuid": guid}})));
    assert!(changes.try_recv().is_err());
    ok(host
        .execute(&json!({"cmd": "CancelProcessInstanceCommand", "data": {"instanceGuid": guid}})));
    let cancelled = changes.try_recv().expect("a change for the cancel");
    assert_eq!(
        (cancelled.instance_guid.as_str(), cancelled.status.as_str()),
        (guid.as_str(), "CANCELLED")
    );
    // Bad requests answer the envelope with the field at fault.
    let bad = host.execute(&json!({"data": {}}));
    assert_eq!(bad["isSuccessful"], false);
    assert_eq!(bad["errors"][0]["field"], "cmd", "{bad}");
    let unknown = host.execute(&json!({"cmd": "NoSuchCommand"}));
    assert_eq!(unknown["isSuccessful"], false);
    assert!(
        unknown["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("NoSuchCommand"),
        "{unknown}"
    );
    host.shutdown();
}

/// Reads Server-Sent Events until one named `name` arrives; answers its data.
fn next_event(lines: &mut impl BufRead, name: &str) -> Value {
    let mut current = None;
    loop {
        let mut line = String::new();
        let n = lines.read_line(&mut line).expect("the stream is readable");
        assert!(n > 0, "the event stream ended before an `{name}` event");
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(event) = line.strip_prefix("event: ") {
            current = Some(event.to_string());
        } else if let Some(data) = line.strip_prefix("data: ") {
            if current.as_deref() == Some(name) {
                return serde_json::from_str(data).expect("the data is JSON");
            }
        } else if line.is_empty() {
            current = None;
        }
    }
}

#[test]
fn the_event_stream_needs_a_token_and_carries_changes_made_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let host = start(&dir.path().join("sse.db"), None);
    deploy_template(&host);
    let agent = agent();
    match agent.get(&url(&host, "/api/v1/events")).call() {
        Err(ureq::Error::Status(401, _)) => {}
        other => panic!("without a token: {other:?}"),
    }
    match agent
        .get(&url(&host, "/api/v1/events"))
        .set("Authorization", "Bearer not-a-token")
        .call()
    {
        Err(ureq::Error::Status(401, _)) => {}
        other => panic!("with a wrong token: {other:?}"),
    }
    let stream = agent
        .get(&url(&host, "/api/v1/events"))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    assert_eq!(stream.content_type(), "text/event-stream");
    let mut lines = BufReader::new(stream.into_reader());
    // Subscribed once the headers are here: a start through the HTTP door shows up.
    let started: Value = agent
        .post(&url(&host, "/api/v1/execute"))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .set("Content-Type", "application/json")
        .send_string(&start_request("PAY-SSE").to_string())
        .unwrap()
        .into_string()
        .map(|s| serde_json::from_str(&s).unwrap())
        .unwrap();
    let guid = ok(started)["instanceGuid"].as_str().unwrap().to_string();
    let event = next_event(&mut lines, "instance");
    assert_eq!(event["instanceGuid"], guid.as_str(), "{event}");
    assert_eq!(event["processKey"], "PaymentApprovalProcess");
    assert_eq!(event["status"], "WAITING");
    // A shutdown ends the stream instead of waiting for the client to leave.
    within(30, "the shutdown with an open event stream", move || {
        host.shutdown()
    });
    let mut rest = String::new();
    let _ = lines.read_to_string(&mut rest);
}

static FAKE_UI: &[(&str, &[u8])] = &[
    (
        "index.html",
        b"<!doctype html><title>Baton</title><script type=\"module\" src=\"/assets/app-3f2a.js\"></script>",
    ),
    ("assets/app-3f2a.js", b"console.log('baton')"),
    ("assets/app-3f2a.css", b"body{}"),
    ("favicon.svg", b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
];

const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

fn get(path: &str, host: &Host) -> (u16, Option<String>, Option<String>, Option<String>, String) {
    let r = match agent().get(&url(host, path)).call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {path}: {e}"),
    };
    let head = |name: &str| r.header(name).map(str::to_string);
    let (status, ctype, csp, cache) = (
        r.status(),
        head("content-type"),
        head("content-security-policy"),
        head("cache-control"),
    );
    (status, ctype, csp, cache, r.into_string().unwrap())
}

#[test]
fn the_web_ui_is_served_with_its_csp_and_index_html_for_unknown_paths() {
    let dir = tempfile::tempdir().unwrap();
    let host = start(&dir.path().join("ui.db"), Some(UiAssets { files: FAKE_UI }));
    let index = String::from_utf8(FAKE_UI[0].1.to_vec()).unwrap();

    let (status, ctype, csp, cache, body) = get("/", &host);
    assert_eq!(status, 200);
    assert_eq!(ctype.as_deref(), Some("text/html; charset=utf-8"));
    assert_eq!(csp.as_deref(), Some(CSP));
    assert_eq!(cache.as_deref(), Some("no-cache"));
    assert_eq!(body, index);

    let (status, ctype, csp, cache, body) = get("/assets/app-3f2a.js", &host);
    assert_eq!(status, 200);
    assert_eq!(ctype.as_deref(), Some("text/javascript; charset=utf-8"));
    assert_eq!(csp, None);
    assert_eq!(
        cache.as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(body, "console.log('baton')");
    assert_eq!(
        get("/assets/app-3f2a.css", &host).1.as_deref(),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(
        get("/favicon.svg", &host).1.as_deref(),
        Some("image/svg+xml")
    );

    // A path the UI routes itself (or a reload on one) answers the page.
    let (status, _, csp, _, body) = get("/instances/some-guid", &host);
    assert_eq!(
        (status, csp.as_deref(), body.as_str()),
        (200, Some(CSP), index.as_str())
    );
    // A missing script is not answered with the page; unknown API paths stay 404.
    assert_eq!(get("/assets/gone-0000.js", &host).0, 404);
    let (status, ctype, _, _, body) = get("/api/v1/nothing-here", &host);
    assert_eq!(status, 404);
    assert_eq!(ctype.as_deref(), Some("application/json"));
    assert!(body.contains("/api/v1/nothing-here"), "{body}");
    assert_eq!(get("/webhook", &host).0, 404);
    match agent().post(&url(&host, "/somewhere")).send_string("x") {
        Err(ureq::Error::Status(404, _)) => {}
        other => panic!("POST to a UI path: {other:?}"),
    }
    // The doors are unchanged beside the UI.
    match agent()
        .post(&url(&host, "/api/v1/execute"))
        .send_string("{}")
    {
        Err(ureq::Error::Status(401, _)) => {}
        other => panic!("the execute door without a token: {other:?}"),
    }
    host.shutdown();

    // Built without a UI: `/` says how to build it, other paths are 404.
    let host = start(&dir.path().join("ui.db"), None);
    let (status, ctype, csp, _, body) = get("/", &host);
    assert_eq!(status, 200);
    assert_eq!(ctype.as_deref(), Some("text/html; charset=utf-8"));
    assert_eq!(csp.as_deref(), Some(CSP));
    assert!(body.contains("npm run build"), "{body}");
    assert_eq!(get("/instances", &host).0, 404);
    host.shutdown();
}

/// Sends a start whose body is held back until the server asked for it (`Expect:
/// 100-continue`): once `100 Continue` arrived, the request is under way in the server.
fn start_held_back(addr: std::net::SocketAddr) -> (TcpStream, String) {
    let body = start_request("PAY-INFLIGHT").to_string();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST /api/v1/execute HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "the server closed early");
        got.push(byte[0]);
    }
    let head = String::from_utf8(got).unwrap();
    assert!(head.starts_with("HTTP/1.1 100"), "{head}");
    (s, body)
}

#[test]
fn shutdown_answers_the_request_under_way_then_closes_the_port_and_stops_every_thread() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("stop.db");
    let host = start(&db, None);
    deploy_template(&host);
    let addr = host.address().unwrap();
    let runtime = Arc::clone(host.runtime());
    let (mut held, body) = start_held_back(addr);
    let mut changes = host.subscribe();
    let (stopped_tx, stopped) = mpsc::channel();
    let stopper = std::thread::spawn(move || {
        host.shutdown();
        let _ = stopped_tx.send(());
    });
    // The request under way is finished and answered even though the stop came first.
    held.write_all(body.as_bytes()).unwrap();
    let mut answer = String::new();
    held.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let envelope: Value = serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
    let guid = ok(envelope)["instanceGuid"].as_str().unwrap().to_string();
    assert_eq!(changes.blocking_recv().unwrap().instance_guid, guid);
    stopped
        .recv_timeout(Duration::from_secs(30))
        .expect("shutdown returns");
    stopper.join().unwrap();
    // The port is closed, and the scheduler, the sender and the server let go of the
    // runtime: their threads have ended.
    assert!(TcpStream::connect(addr).is_err(), "{addr} still accepts");
    assert_eq!(Arc::strong_count(&runtime), 1);
    drop(runtime);
    // What was answered is in the database for the next start.
    let again = start(&db, None);
    let found = ok(again
        .execute(&json!({"cmd": "GetProcessInstanceByIdQuery", "data": {"instanceGuid": guid}})));
    assert_eq!(found["status"], "WAITING", "{found}");
    again.shutdown();
}

#[test]
fn shutdown_stops_a_scheduler_that_never_runs_out_of_due_timers() {
    // Hundreds of timers of a millisecond fall due while the scheduler fires them: each pass
    // over the due timers finds more (issue: the timer loop kept running after Ctrl-C).
    let xml = Model::process("Busy")
        .start("s")
        .catch_timer("tick", "timeDuration", "PT0.001S")
        .end("e")
        .chain(&["s", "tick", "e"])
        .xml();
    let dir = tempfile::tempdir().unwrap();
    let host = start(&dir.path().join("busy.db"), None);
    let runtime = Arc::clone(host.runtime());
    let mut changes = host.subscribe();
    ok(host.execute(&json!({"cmd": "DeployProcessDefinitionCommand", "data": {"bpmnXml": xml}})));
    let start = json!({"cmd": "StartProcessInstanceCommand", "data": {"processKey": "Busy"}});
    for _ in 0..500 {
        ok(host.execute(&start));
    }
    // Wait until the scheduler is busy firing.
    let mut fired = 0;
    while fired < 3 {
        match changes.blocking_recv() {
            Ok(c) if c.status == "COMPLETED" => fired += 1,
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(e) => panic!("the change feed ended: {e}"),
        }
    }
    within(15, "the shutdown of a busy scheduler", move || {
        host.shutdown()
    });
    assert_eq!(Arc::strong_count(&runtime), 1);
}

#[test]
fn a_second_host_on_the_same_database_is_refused_until_the_first_stops() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("one.db");
    let first = start(&db, None);
    let second = Host::start(HostConfig {
        listen: Some("127.0.0.1:0".into()),
        ..HostConfig::new(&db)
    });
    match second {
        Err(e @ HostError::Locked { .. }) => {
            let message = e.to_string();
            assert!(message.contains(&db.display().to_string()), "{message}");
            assert!(message.contains("another Baton"), "{message}");
            assert!(
                message.contains(&lock_path(&db).display().to_string()),
                "{message}"
            );
            assert!(
                message.contains(&std::process::id().to_string()),
                "{message}"
            );
        }
        Err(e) => panic!("refused for the wrong reason: {e}"),
        Ok(_) => panic!("a second host opened a database in use"),
    }
    first.shutdown();
    let second = Host::start(HostConfig::new(&db)).expect("allowed once the first stopped");
    assert_eq!(second.address(), None);
    ok(second.execute(&json!({"cmd": "GetProcessInstanceListQuery", "data": {}})));
    second.shutdown();
}

#[test]
fn a_bad_address_or_database_is_an_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let db = dir.path().join("a.db");
    for listen in [address.as_str(), "not an address"] {
        match Host::start(HostConfig {
            listen: Some(listen.into()),
            ..HostConfig::new(&db)
        }) {
            Err(e @ HostError::Address { .. }) => {
                assert!(e.to_string().contains(listen), "{e}")
            }
            Err(e) => panic!("{listen}: wrong error {e}"),
            Ok(_) => panic!("{listen}: started"),
        }
    }
    // A folder where the database should be.
    let folder = dir.path().join("folder.db");
    std::fs::create_dir(&folder).unwrap();
    match Host::start(HostConfig::new(&folder)) {
        Err(e @ HostError::Database { .. }) => {
            assert!(e.to_string().contains(&folder.display().to_string()), "{e}")
        }
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("opened a folder as a database"),
    }
    // A file where its folder should be.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    match Host::start(HostConfig::new(file.join("b.db"))) {
        Err(e @ HostError::Folder { .. }) => {
            assert!(e.to_string().contains(&file.display().to_string()), "{e}")
        }
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("started under a file"),
    }
    // The failed starts let go of the lock.
    start(&db, None).shutdown();
}

#[test]
fn a_host_starts_and_stops_inside_another_tokio_runtime() {
    // As in the desktop app, whose shell has a tokio runtime of its own.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested.db");
    let shell = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = shell.block_on(async move {
        let host = start(&db, None);
        let addr = host.address().unwrap();
        let mut changes = host.subscribe();
        deploy_template(&host);
        ok(host.execute(&start_request("PAY-NESTED")));
        assert_eq!(changes.recv().await.unwrap().status, "WAITING");
        host.shutdown();
        addr
    });
    assert!(TcpStream::connect(addr).is_err(), "{addr} still accepts");
}

/// The desktop shell shares one Host between the threads that run commands.
#[test]
fn a_host_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<baton_runtime::host::Host>();
}

#[test]
fn a_short_administrator_token_is_refused_with_its_length() {
    let dir = tempfile::tempdir().unwrap();
    let config = baton_runtime::host::HostConfig {
        token: Some("a".into()),
        ..baton_runtime::host::HostConfig::new(dir.path().join("weak.db"))
    };
    match baton_runtime::host::Host::start(config) {
        Err(e @ baton_runtime::host::HostError::WeakToken(1)) => {
            assert!(e.to_string().contains("at least 16"), "{e}")
        }
        Err(other) => panic!("expected a weak-token refusal, got {other}"),
        Ok(_) => panic!("a one-letter token was accepted"),
    }
}
