//! Failures as callers see them, over real HTTP on 127.0.0.1 and a real SQLite file: a
//! database that refuses writes (read-only) or has no room left (full disk) answers 500 with
//! code INTERNAL, a reference and no SQL, logs the detail under that reference, and leaves
//! nothing half-written; business failures keep HTTP 200 (or 403 / 400 / 401) with their code.

use baton_runtime::host::{Host, HostConfig};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

const TEMPLATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../bpmn-templates/payment-approval/PaymentApprovalProcess.bpmn"
);
const ADMIN: &str = "errors-test-admin-token-0123456789";

// ---------------------------------------------------------------------------------------------
// The log: every test's tracing output goes to one buffer, so a test can find its reference.

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log() -> &'static LogBuffer {
    static LOG: OnceLock<LogBuffer> = OnceLock::new();
    LOG.get_or_init(|| {
        let buffer = LogBuffer::default();
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .init();
        buffer
    })
}

/// The log lines that mention `needle`.
fn log_lines(needle: &str) -> Vec<String> {
    let bytes = log().0.lock().unwrap().clone();
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// A host on a real file and a real port, and a client.

fn start(db: &Path) -> Host {
    log();
    Host::start(HostConfig {
        listen: Some("127.0.0.1:0".into()),
        token: Some(ADMIN.into()),
        ..HostConfig::new(db)
    })
    .unwrap_or_else(|e| panic!("the host did not start: {e}"))
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(5))
        .timeout_read(Duration::from_secs(60))
        .build()
}

/// POSTs `body` to `path` (with a bearer token when given); answers the status and the JSON.
fn post(host: &Host, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let url = format!("http://{}{path}", host.address().unwrap());
    let mut req = agent().post(&url).set("content-type", "application/json");
    if let Some(t) = token {
        req = req.set("authorization", &format!("Bearer {t}"));
    }
    let resp = match req.send_string(body) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {path}: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Runs a command at `/api/v1/execute` as the administrator.
fn exec(host: &Host, cmd: &str, data: Value) -> (u16, Value) {
    exec_as(host, ADMIN, cmd, data)
}

fn exec_as(host: &Host, token: &str, cmd: &str, data: Value) -> (u16, Value) {
    let body = json!({"cmd": cmd, "data": data}).to_string();
    post(host, "/api/v1/execute", Some(token), &body)
}

fn ok(host: &Host, cmd: &str, data: Value) -> Value {
    let (status, v) = exec(host, cmd, data);
    assert_eq!(
        (status, &v["isSuccessful"]),
        (200, &json!(true)),
        "{cmd}: {v}"
    );
    v["data"].clone()
}

fn deploy(host: &Host) -> i64 {
    let xml = std::fs::read_to_string(TEMPLATE).unwrap();
    ok(
        host,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": xml}),
    )["processDefinitionId"]
        .as_i64()
        .unwrap()
}

fn start_payment(host: &Host, payment: &str) -> String {
    let data = json!({"processKey": "PaymentApprovalProcess", "variables": {"paymentId": payment, "amount": 10}});
    let v = ok(host, "StartProcessInstanceCommand", data);
    assert_eq!(v["status"], "WAITING", "{v}");
    v["instanceGuid"].as_str().unwrap().to_string()
}

/// An internal failure as the caller sees it: 500, code INTERNAL, a reference and nothing of
/// SQLite's words. Answers the reference.
fn assert_internal(status: u16, v: &Value, what: &str) -> String {
    assert_eq!(status, 500, "{what}: {v}");
    assert_eq!(v["isSuccessful"], false, "{what}: {v}");
    assert_eq!(v["code"], "INTERNAL", "{what}: {v}");
    let message = v["message"].as_str().unwrap_or_default();
    let reference = message
        .strip_prefix("internal error; reference ")
        .unwrap_or_else(|| panic!("{what}: no reference in {v}"));
    assert_eq!(reference.len(), 8, "{what}: {v}");
    let text = v.to_string().to_ascii_lowercase();
    for leak in [
        "sql",
        "insert",
        "update ",
        "select",
        "readonly",
        "read-only",
        "disk",
        "full",
        "database",
    ] {
        assert!(!text.contains(leak), "{what} leaks '{leak}': {v}");
    }
    reference.to_string()
}

/// Everything the database holds that a step writes, row by row, read from the file itself
/// (a connection of its own, as another process would).
fn rows(db: &Path) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut out = Vec::new();
    for table in [
        "definitions",
        "instances",
        "history",
        "callback_registry",
        "subscriptions",
        "user_tasks",
        "message_buffer",
        "message_receipts",
        "incidents",
        "outbox",
        "timers",
        "users",
        "team_members",
        "webhook_configs",
        "webhook_requests",
        "webhook_apps",
        "request_numbers",
    ] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))
            .unwrap();
        let n = stmt.column_count();
        let found: Vec<String> = stmt
            .query_map([], |r| {
                let cols: Vec<String> = (0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect();
                Ok(format!("{table}: {}", cols.join(" | ")))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        out.extend(found);
    }
    out
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A webhook at /webhook/pay that returns the callback named by the body's `ref`.
fn webhook(host: &Host) {
    ok(
        host,
        "CreateWebHookConfigCommand",
        json!({"name": "pay", "url": "/webhook/pay", "executionType": 0,
               "commandName": "ReturnCallbackCommand",
               "commandData": {"correlationKey": "body.ref", "result": "body"},
               "verification": {"scheme": "none"}}),
    );
}

// ---------------------------------------------------------------------------------------------

#[test]
fn a_database_that_refuses_writes_answers_500_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let host = start(&db);
    deploy(&host);
    webhook(&host);
    let app = ok(
        &host,
        "CreateIncomingWebhookApplicationCommand",
        json!({"name": "crm"}),
    );
    let app_url = app["url"].as_str().unwrap().to_string();
    let guid = start_payment(&host, "PAY-1");
    let before = rows(&db);

    host.runtime().simulate_store_faults(true, false).unwrap();
    // Every write path, through every door.
    let writes = [
        (
            "ReturnCallbackCommand",
            json!({"correlationKey": "PAY-1", "result": {"status": "paid"}}),
        ),
        (
            "StartProcessInstanceCommand",
            json!({"processKey": "PaymentApprovalProcess", "variables": {"paymentId": "PAY-2"}}),
        ),
        (
            "CancelProcessInstanceCommand",
            json!({"instanceGuid": guid}),
        ),
        (
            "CorrelateMessageCommand",
            json!({"messageName": "Nobody", "messageId": "m-1", "ttlSeconds": 60}),
        ),
        ("CreateUserCommand", json!({"userName": "carol"})),
        (
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": std::fs::read_to_string(TEMPLATE).unwrap()}),
        ),
    ];
    let mut references = Vec::new();
    for (cmd, data) in writes {
        let (status, v) = exec(&host, cmd, data);
        references.push((cmd, assert_internal(status, &v, cmd)));
    }
    // The seed 001 door: its own four keys, and the same status.
    let (status, v) = post(
        &host,
        "/api/bpm/cmd",
        Some(ADMIN),
        &json!({"$type": "ReturnCallbackCommand", "correlationKey": "PAY-1", "result": {}})
            .to_string(),
    );
    assert_eq!(status, 500, "{v}");
    assert_eq!(v["success"], false, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("internal error; reference "),
        "{v}"
    );
    // A gateway's webhook: not recorded, not run, told to try again.
    let (status, v) = post(&host, "/webhook/pay", None, r#"{"ref": "PAY-1"}"#);
    assert_internal(status, &v, "webhook");
    // A webhook application's operation.
    let (status, v) = post(
        &host,
        &app_url,
        None,
        &json!({"operation": "createRequest", "args": {"input": {"processName": "PaymentApprovalProcess", "parameters": [{"name": "paymentId", "textValue": "PAY-3"}]}}}).to_string(),
    );
    assert_eq!(status, 500, "{v}");
    assert_eq!(v["errors"][0]["code"], "INTERNAL", "{v}");
    // Reads still answer.
    let v = ok(
        &host,
        "GetProcessInstanceByIdQuery",
        json!({"instanceGuid": guid}),
    );
    assert_eq!(v["status"], "WAITING");

    // The detail is in the log, in the command's span, under the reference it answered.
    for (cmd, reference) in &references {
        let lines = log_lines(reference);
        assert!(
            lines
                .iter()
                .any(|l| l.contains(cmd) && l.contains("read-only")),
            "{cmd}: no log line with the reference {reference} and the detail: {lines:#?}"
        );
    }

    host.runtime().simulate_store_faults(false, false).unwrap();
    // Nothing was half-written: every row is as it was.
    assert_eq!(rows(&db), before, "rows changed while writes were refused");
    // And the instance carries on from where it was.
    let v = ok(
        &host,
        "ReturnCallbackCommand",
        json!({"correlationKey": "PAY-1", "result": {"status": "paid"}}),
    );
    assert_eq!(v["callbackStatus"], "Completed", "{v}");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM callback_registry WHERE status = 'Completed'"
        ),
        1
    );
    let (status, _) = post(&host, "/webhook/pay", None, r#"{"ref": "PAY-9"}"#);
    assert_eq!(
        status, 422,
        "a webhook for an unknown key is a business failure"
    );
    host.shutdown();
}

#[test]
fn a_full_disk_answers_500_and_leaves_no_step_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let host = start(&db);
    deploy(&host);
    let first = start_payment(&host, "PAY-0");
    host.runtime().simulate_store_faults(false, true).unwrap();

    // A step that needs room answers 500 and leaves every row as it was.
    let before = rows(&db);
    let big = "x".repeat(256 * 1024);
    let (status, v) = exec(
        &host,
        "StartProcessInstanceCommand",
        json!({"processKey": "PaymentApprovalProcess", "variables": {"paymentId": "PAY-BIG", "blob": big}}),
    );
    let reference = assert_internal(status, &v, "a start with a large variable");
    let (status, v) = exec(
        &host,
        "ReturnCallbackCommand",
        json!({"correlationKey": "PAY-0", "result": {"blob": big}}),
    );
    assert_internal(status, &v, "a callback with a large result");
    assert_eq!(rows(&db), before, "rows changed on a full disk");
    assert!(
        log_lines(&reference)
            .iter()
            .any(|l| l.contains("StartProcessInstanceCommand") && l.contains("disk is full")),
        "no log line for {reference}"
    );

    // Small steps fill the last pages until one does not fit: every step that answered
    // success is whole, the one that failed left nothing.
    let mut started = vec![first.clone()];
    let mut failed = None;
    for i in 1..5000 {
        let (status, v) = exec(
            &host,
            "StartProcessInstanceCommand",
            json!({"processKey": "PaymentApprovalProcess", "variables": {"paymentId": format!("PAY-{i}"), "amount": i}}),
        );
        if status == 200 {
            assert_eq!(v["isSuccessful"], true, "{v}");
            started.push(v["data"]["instanceGuid"].as_str().unwrap().to_string());
        } else {
            assert_internal(status, &v, "a start on a full disk");
            failed = Some(i);
            break;
        }
    }
    let failed = failed.expect("the disk never filled up");
    assert!(started.len() >= 2, "no room at all: nothing to check");
    let instances = count(&db, "SELECT COUNT(*) FROM instances");
    assert_eq!(
        instances,
        started.len() as i64,
        "an instance row without its answer"
    );
    // Each instance has its callback row, its history and its timer; no row names anything else.
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM callback_registry"),
        instances,
        "callback rows"
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(DISTINCT instance_guid) FROM history WHERE instance_guid IN (SELECT guid FROM instances)"
        ),
        instances,
        "history"
    );
    for (table, column) in [
        ("history", "instance_guid"),
        ("callback_registry", "parent_instance_id"),
    ] {
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) FROM {table} WHERE {column} NOT IN (SELECT guid FROM instances)")
            ),
            0,
            "{table} rows of an instance that was never written"
        );
    }
    let failed_key = format!("PAY-{failed}");
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT COUNT(*) FROM callback_registry WHERE correlation_key = '{failed_key}'"
            )
        ),
        0
    );

    // With room again, the same work goes through and the waiting instances still resume.
    host.runtime().simulate_store_faults(false, false).unwrap();
    start_payment(&host, &failed_key);
    let v = ok(
        &host,
        "ReturnCallbackCommand",
        json!({"correlationKey": "PAY-0", "result": {"status": "paid"}}),
    );
    assert_eq!(v["instanceGuid"], first.as_str());
    host.shutdown();
}

/// One failure a row: what is sent, the status and code that come back, and a word of the
/// message (which keeps the words it always had).
struct Case {
    name: &'static str,
    token: Option<&'static str>,
    path: &'static str,
    body: String,
    status: u16,
    code: Option<&'static str>,
    says: &'static str,
}

#[test]
fn business_failures_answer_their_code_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let host = start(&db);
    deploy(&host);
    webhook(&host);
    ok(&host, "CreateUserCommand", json!({"userName": "bob"}));
    let bob = ok(&host, "CreateApiTokenCommand", json!({"userName": "bob"}))["token"]
        .as_str()
        .unwrap()
        .to_string();
    let bob: &'static str = Box::leak(bob.into_boxed_str());
    let done = start_payment(&host, "PAY-DONE");
    ok(
        &host,
        "CancelProcessInstanceCommand",
        json!({"instanceGuid": done}),
    );
    let cmd = |cmd: &str, data: Value| json!({"cmd": cmd, "data": data}).to_string();
    let cases = [
        Case {
            name: "unknown instance",
            token: Some(ADMIN),
            path: "/api/v1/execute",
            body: cmd(
                "GetProcessInstanceByIdQuery",
                json!({"instanceGuid": "no-such-guid"}),
            ),
            status: 200,
            code: Some("NOT_FOUND"),
            says: "no process instance 'no-such-guid'",
        },
        Case {
            name: "unknown definition",
            token: Some(ADMIN),
            path: "/api/v1/execute",
            body: cmd(
                "StartProcessInstanceCommand",
                json!({"processDefinitionId": 999}),
            ),
            status: 200,
            code: Some("NOT_FOUND"),
            says: "no process definition 999",
        },
        Case {
            name: "bad field",
            token: Some(ADMIN),
            path: "/api/v1/execute",
            body: cmd("GetProcessInstanceListQuery", json!({"pageSize": "x"})),
            status: 200,
            code: Some("INVALID"),
            says: "pageSize must be a whole number",
        },
        Case {
            name: "task no longer waiting",
            token: Some(ADMIN),
            path: "/api/v1/execute",
            body: cmd(
                "SignalProcessInstanceCommand",
                json!({"instanceGuid": done, "callbackData": {}}),
            ),
            status: 200,
            code: Some("REJECTED"),
            says: "instance is CANCELLED, not waiting",
        },
        Case {
            name: "nothing waits for the key",
            token: Some(ADMIN),
            path: "/api/v1/execute",
            body: cmd(
                "ReturnCallbackCommand",
                json!({"correlationKey": "NOBODY", "result": {}}),
            ),
            status: 200,
            code: Some("NOT_FOUND"),
            says: "no pending callback for correlation key 'NOBODY'",
        },
        Case {
            name: "name taken",
            token: Some(ADMIN),
            path: "/api/v1/execute",
            body: cmd("CreateUserCommand", json!({"userName": "bob"})),
            status: 200,
            code: Some("CONFLICT"),
            says: "user 'bob' already exists",
        },
        Case {
            name: "forbidden",
            token: Some(bob),
            path: "/api/v1/execute",
            body: cmd("DeployProcessDefinitionCommand", json!({"bpmnXml": "<x/>"})),
            status: 403,
            code: Some("FORBIDDEN"),
            says: "needs an administrator; bob is not one",
        },
        Case {
            name: "unknown command",
            token: Some(ADMIN),
            path: "/api/core/cmd",
            body: cmd("NoSuchCommand", json!({})),
            status: 400,
            code: Some("UNKNOWN_COMMAND"),
            says: "unknown command 'NoSuchCommand'",
        },
        Case {
            name: "malformed JSON",
            token: Some(ADMIN),
            path: "/api/v1/execute",
            body: "{".into(),
            status: 400,
            code: Some("BAD_REQUEST"),
            says: "malformed JSON",
        },
        Case {
            name: "no token",
            token: None,
            path: "/api/v1/execute",
            body: cmd("GetUserListQuery", json!({})),
            status: 401,
            code: Some("UNAUTHORIZED"),
            says: "missing or invalid bearer token",
        },
        Case {
            name: "a webhook whose command fails",
            token: None,
            path: "/webhook/pay",
            body: json!({"ref": "NOBODY"}).to_string(),
            status: 422,
            code: Some("NOT_FOUND"),
            says: "no pending callback for correlation key 'NOBODY'",
        },
        Case {
            name: "a repeated messageId is answered, not refused",
            token: Some(ADMIN),
            path: "/api/v1/execute",
            body: cmd(
                "CorrelateMessageCommand",
                json!({"messageName": "Nobody", "messageId": "m-1"}),
            ),
            status: 200,
            code: None,
            says: "",
        },
    ];
    for case in &cases {
        // The messageId case is sent twice: the second is the duplicate.
        if case.code.is_none() {
            post(&host, case.path, case.token, &case.body);
        }
        let (status, v) = post(&host, case.path, case.token, &case.body);
        assert_eq!(status, case.status, "{}: {v}", case.name);
        assert_eq!(
            v["code"].as_str(),
            case.code,
            "{}: the code in {v}",
            case.name
        );
        match case.code {
            Some(_) => {
                assert_eq!(v["isSuccessful"], false, "{}: {v}", case.name);
                assert!(
                    v.to_string().contains(case.says),
                    "{}: '{}' not in {v}",
                    case.name,
                    case.says
                );
            }
            None => {
                assert_eq!(v["isSuccessful"], true, "{}: {v}", case.name);
                assert_eq!(v["data"]["duplicate"], true, "{}: {v}", case.name);
            }
        }
    }
    // Field errors keep their envelope beside the code.
    let (_, v) = exec(
        &host,
        "GetProcessInstanceByIdQuery",
        json!({"instanceGuid": "no-such-guid"}),
    );
    assert_eq!(v["message"], "Validation failed");
    assert_eq!(v["errors"][0]["field"], "instanceGuid");
    // The seed 001 door keeps its four keys: no code there.
    let (status, v) = post(
        &host,
        "/api/bpm/cmd",
        Some(bob),
        &json!({"$type": "CreateUserCommand", "userName": "x"}).to_string(),
    );
    assert_eq!(status, 403);
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["data", "errors", "message", "success"], "{v}");
    // A success never carries a code.
    let (_, v) = exec(&host, "GetUserListQuery", json!({}));
    assert!(v.get("code").is_none(), "{v}");
    host.shutdown();
}
