//! Every error answer of every door carries `errors` as a list (empty when no field was wrong),
//! 401 and 413 included, always as JSON in the door's envelope (issue 11 item 3; seed 000's
//! "Error Response" and seed 001's "Error:" shapes). Through the doors served on 127.0.0.1 over
//! a real SQLite file: the command doors (`/api/v1/execute`, `/api/core/cmd`, `/api/bpm/cmd`),
//! the event stream, the webhook doors (`/webhook/...`), incoming webhook applications
//! (`/hooks/{token}`) and API paths no door takes.

use baton_runtime::http::MAX_BODY_BYTES;
use baton_testkit::{agent, Door, Model, Served, ADMIN};
use serde_json::{json, Value};

struct Site {
    door: Door,
    served: Served,
}

fn site() -> Site {
    let door = Door::new();
    let served = Served::start(door.st.clone());
    Site { door, served }
}

/// An answer: status, content type, the body as JSON (Null when it is not JSON) and as text.
struct Answered {
    status: u16,
    content_type: String,
    json: Value,
    text: String,
}

impl Site {
    fn ok(&self, cmd: &str, data: Value) -> Value {
        let (code, out) = self.served.exec(ADMIN, cmd, data);
        assert_eq!(
            (code, &out["isSuccessful"]),
            (200, &json!(true)),
            "{cmd}: {out}"
        );
        out["data"].clone()
    }

    /// `METHOD path` with these headers and raw body.
    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answered {
        let mut req = agent().request(method, &self.served.url(path));
        for (n, v) in headers {
            req = req.set(n, v);
        }
        let resp = match req.send_bytes(body) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let content_type = resp.header("content-type").unwrap_or_default().to_string();
        let text = resp.into_string().unwrap_or_default();
        Answered {
            status,
            content_type,
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answered {
        self.send("POST", path, headers, body)
    }
}

/// The answer is `status`, JSON, with `errors` a list; answers that list.
fn refused(a: &Answered, status: u16, what: &str) -> Vec<Value> {
    assert_eq!(a.status, status, "{what}: {}", a.text);
    assert!(
        a.content_type.starts_with("application/json"),
        "{what}: answered {} ({}), not JSON",
        a.content_type,
        a.text
    );
    match &a.json["errors"] {
        Value::Array(items) => items.clone(),
        other => panic!("{what}: `errors` is {other}, not a list: {}", a.text),
    }
}

/// Seed 000's envelope: `isSuccessful: false`, a message, `errors` a list; answers `errors`.
fn seed000(a: &Answered, status: u16, what: &str) -> Vec<Value> {
    let errors = refused(a, status, what);
    assert_eq!(a.json["isSuccessful"], false, "{what}: {}", a.text);
    assert!(a.json["message"].is_string(), "{what}: {}", a.text);
    errors
}

/// Seed 001's envelope: exactly `success`, `data`, `message`, `errors` (strings).
fn seed001(a: &Answered, status: u16, what: &str) -> Vec<Value> {
    let errors = refused(a, status, what);
    let mut keys: Vec<&String> = a.json.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["data", "errors", "message", "success"], "{what}");
    assert_eq!(a.json["success"], false, "{what}");
    assert!(errors.iter().all(Value::is_string), "{what}: {}", a.text);
    errors
}

const JSON: (&str, &str) = ("content-type", "application/json");

fn bearer(token: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}

#[test]
fn the_command_doors_answer_errors_on_every_refusal() {
    let s = site();
    let admin = bearer(ADMIN);
    let auth = [JSON, (admin.0, admin.1.as_str())];
    let execute = |path: &str, headers: &[(&str, &str)], body: &[u8]| s.post(path, headers, body);
    for path in ["/api/v1/execute", "/api/core/cmd"] {
        // 400: malformed JSON, no `cmd`, an unknown command.
        let a = execute(path, &auth, b"{not json");
        assert_eq!(seed000(&a, 400, "malformed"), Vec::<Value>::new());
        assert_eq!(a.json["code"], "BAD_REQUEST");
        seed000(&execute(path, &auth, br#"{"data": {}}"#), 400, "no cmd");
        let a = execute(path, &auth, br#"{"cmd": "NoSuchCommand", "data": {}}"#);
        seed000(&a, 400, "unknown command");
        // 401: no token, a wrong token (JSON, never plain text).
        let a = execute(path, &[JSON], br#"{"cmd": "GetUserListQuery", "data": {}}"#);
        assert_eq!(seed000(&a, 401, "no token"), Vec::<Value>::new());
        assert_eq!(a.json["code"], "UNAUTHORIZED");
        let wrong = bearer("not-a-live-token-at-all");
        let a = execute(
            path,
            &[JSON, (wrong.0, wrong.1.as_str())],
            br#"{"cmd": "GetUserListQuery", "data": {}}"#,
        );
        seed000(&a, 401, "wrong token");
        // 413: a body over the limit (after the token check).
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        let a = execute(path, &auth, &big);
        assert_eq!(seed000(&a, 413, "too large"), Vec::<Value>::new());
        // 200 business failure: the field errors are the list.
        let a = execute(
            path,
            &auth,
            br#"{"cmd": "StartProcessInstanceCommand", "data": {}}"#,
        );
        let errors = seed000(&a, 200, "validation");
        assert!(!errors.is_empty(), "{}", a.text);
        assert!(errors[0]["field"].is_string() && errors[0]["message"].is_string());
        let a = execute(
            path,
            &auth,
            br#"{"cmd": "GetProcessInstanceByIdQuery", "data": {"instanceGuid": "00000000-0000-0000-0000-000000000000"}}"#,
        );
        seed000(&a, 200, "not found");
    }

    // 403: a user who is not an administrator.
    let bob = s.door.user("bob", &["TELLERS"]);
    let b = bearer(&bob.token);
    let a = s.post(
        "/api/v1/execute",
        &[JSON, (b.0, b.1.as_str())],
        br#"{"cmd": "CreateWebHookConfigCommand", "data": {"name": "x", "executionType": 2, "executionCode": "1"}}"#,
    );
    seed000(&a, 403, "not an administrator");
    assert_eq!(a.json["code"], "FORBIDDEN");

    // Seed 001's door: the same refusals in its four keys.
    let bpm = "/api/bpm/cmd";
    seed001(&s.post(bpm, &auth, b"{not json"), 400, "bpm malformed");
    seed001(
        &s.post(bpm, &[JSON], br#"{"$type": "GetUserListQuery"}"#),
        401,
        "bpm no token",
    );
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    seed001(&s.post(bpm, &auth, &big), 413, "bpm too large");
    seed001(
        &s.post(
            bpm,
            &[JSON, (b.0, b.1.as_str())],
            br#"{"$type": "CreateWebHookConfigCommand", "name": "x", "executionType": 2, "executionCode": "1"}"#,
        ),
        403,
        "bpm forbidden",
    );
    let a = s.post(bpm, &auth, br#"{"$type": "StartProcessInstanceCommand"}"#);
    let errors = seed001(&a, 200, "bpm validation");
    assert!(!errors.is_empty(), "{}", a.text);

    // 429: the doors without a token share one bucket per address; a form's load without a
    // token is answered in the door's envelope.
    s.ok(
        "SetSecuritySettingsCommand",
        json!({"rateLimitPerMinute": 60, "rateLimitBurst": 1}),
    );
    let form = br#"{"cmd": "GetTaskFormQuery", "data": {"instanceGuid": "00000000-0000-0000-0000-000000000000"}}"#;
    let mut limited = None;
    for _ in 0..3 {
        let a = s.post("/api/v1/execute", &[JSON], form);
        if a.status == 429 {
            limited = Some(a);
            break;
        }
    }
    let a = limited.expect("the third form load without a token is rate-limited");
    seed000(&a, 429, "rate-limited form");
    let a = s.post(
        bpm,
        &[JSON],
        br#"{"$type": "GetTaskFormQuery", "instanceGuid": "00000000-0000-0000-0000-000000000000"}"#,
    );
    assert_eq!(a.status, 429, "{}", a.text);
    assert!(a.json["errors"].is_array(), "{}", a.text);
    assert_eq!(a.json["success"], false);

    // The event stream's 401.
    let a = s.send("GET", "/api/v1/events", &[], b"");
    seed000(&a, 401, "event stream without a token");
}

#[test]
fn paths_and_methods_no_door_takes_answer_json_with_errors() {
    let s = site();
    let a = s.post("/api/v1/nothing", &[JSON], b"{}");
    assert_eq!(seed000(&a, 404, "unknown API path"), Vec::<Value>::new());
    assert_eq!(a.json["code"], "NOT_FOUND");
    seed000(
        &s.send("GET", "/api/v1/nothing", &[], b""),
        404,
        "GET unknown",
    );
    let a = s.send("GET", "/api/v1/execute", &[], b"");
    seed000(&a, 405, "GET on a POST door");
    seed001(
        &s.send("PUT", "/api/bpm/cmd", &[JSON], b"{}"),
        405,
        "PUT bpm",
    );
    seed000(
        &s.send("GET", "/webhook/paystack/payment", &[], b""),
        405,
        "GET webhook",
    );
    let a = s.send("GET", "/hooks/wh_anything", &[], b"");
    let errors = refused(&a, 405, "GET hook app");
    assert!(errors[0]["message"].is_string(), "{}", a.text);
    // A path whose parameter is not UTF-8 once decoded: 400 in JSON, not axum's plain text.
    seed000(
        &s.post("/webhook/k/%FF%FE", &[JSON], b"{}"),
        400,
        "unreadable key",
    );
    let a = s.post("/hooks/%FF%FE", &[JSON], b"{}");
    let errors = refused(&a, 400, "unreadable token");
    assert!(errors[0]["message"].is_string(), "{}", a.text);
}

#[test]
fn the_webhook_doors_answer_errors_on_every_refusal() {
    let s = site();
    s.door.t.deploy(
        &Model::process("Paid")
            .start("S")
            .user_task("Review")
            .end("E")
            .flow("S", "Review")
            .flow("Review", "E")
            .xml(),
    );
    let create = |data: Value| s.ok("CreateWebHookConfigCommand", data);
    create(
        json!({"name": "signed", "url": "/webhook/signed", "executionType": 3,
        "processKey": "Paid", "verification": {"scheme": "paystack", "secret": "sk_test_1"}}),
    );
    create(
        json!({"name": "only one address", "url": "/webhook/ip", "executionType": 3,
        "processKey": "Paid", "allowedIPs": ["203.0.113.7"]}),
    );
    create(
        json!({"name": "start", "url": "/webhook/start", "executionType": 3, "processKey": "Paid"}),
    );
    create(
        json!({"name": "failing", "url": "/webhook/failing", "executionType": 0,
        "commandName": "StartProcessInstanceCommand", "commandData": {}}),
    );

    let a = s.post("/webhook/nobody", &[JSON], b"{}");
    assert_eq!(seed000(&a, 404, "not found"), Vec::<Value>::new());
    seed000(
        &s.post("/webhook/k/nokey0000", &[JSON], b"{}"),
        404,
        "no key",
    );
    let a = s.post(
        "/webhook/signed",
        &[JSON],
        br#"{"event": "charge.success"}"#,
    );
    seed000(&a, 401, "unsigned");
    seed000(&s.post("/webhook/ip", &[JSON], b"{}"), 403, "address");
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    seed000(&s.post("/webhook/start", &[JSON], &big), 413, "too large");
    seed000(
        &s.post("/webhook/start", &[JSON], b"[1, 2]"),
        400,
        "bad body",
    );
    // 422: the configured command failed; its field errors are the list.
    let a = s.post("/webhook/failing", &[JSON], b"{}");
    let errors = seed000(&a, 422, "command failed");
    assert!(!errors.is_empty(), "{}", a.text);
    assert!(errors[0]["field"].is_string(), "{}", a.text);
    // Accepted: a success, no `errors`.
    let a = s.post("/webhook/start", &[JSON], b"{}");
    assert_eq!((a.status, &a.json["isSuccessful"]), (200, &json!(true)));

    // 429 on the webhook door and on a webhook application's.
    s.ok(
        "SetSecuritySettingsCommand",
        json!({"rateLimitPerMinute": 60, "rateLimitBurst": 1}),
    );
    let mut codes = Vec::new();
    for _ in 0..3 {
        let a = s.post("/webhook/nobody", &[JSON], b"{}");
        codes.push(a.status);
        if a.status == 429 {
            seed000(&a, 429, "rate-limited webhook");
            assert_eq!(a.json["code"], "RATE_LIMITED");
        }
    }
    assert!(codes.contains(&429), "{codes:?}");
    let a = s.post("/hooks/wh_nothing", &[JSON], b"{}");
    let errors = refused(&a, 429, "rate-limited application");
    assert!(errors[0]["message"].is_string());
}

#[test]
fn webhook_applications_answer_errors_on_every_refusal() {
    let s = site();
    let app = s.ok(
        "CreateIncomingWebhookApplicationCommand",
        json!({"name": "ERP"}),
    );
    let url = app["url"].as_str().unwrap().to_string();
    let a = s.post("/hooks/wh_no_such_application", &[JSON], b"{}");
    let errors = refused(&a, 404, "unknown application");
    assert!(errors[0]["message"].is_string(), "{}", a.text);
    let errors = refused(&s.post(&url, &[JSON], b"{not json"), 400, "malformed");
    assert!(errors[0]["message"].is_string());
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    let errors = refused(&s.post(&url, &[JSON], &big), 413, "too large");
    assert!(errors[0]["message"].is_string());
    // An operation that fails: 200 with the list.
    let a = s.post(
        &url,
        &[JSON],
        br#"{"operation": "noSuchOperation", "args": {"input": {}}}"#,
    );
    let errors = refused(&a, 200, "unknown operation");
    assert!(!errors.is_empty(), "{}", a.text);
}

#[test]
fn the_external_run_door_answers_errors_on_every_refusal() {
    let s = site();
    let path = "/api/v1/external/workflows/run";
    let admin = bearer(ADMIN);
    let auth = [JSON, (admin.0, admin.1.as_str())];
    let run = br#"{"workflowId": "NoSuchWorkflow", "context": {}, "config": {}}"#;
    seed000(&s.post(path, &[JSON], run), 401, "external without a token");
    let wrong = bearer("not-a-live-token-at-all");
    seed000(
        &s.post(path, &[JSON, (wrong.0, wrong.1.as_str())], run),
        401,
        "external wrong token",
    );
    seed000(
        &s.post(path, &auth, b"{not json"),
        400,
        "external malformed",
    );
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    seed000(&s.post(path, &auth, &big), 413, "external too large");
    seed000(&s.post(path, &auth, run), 404, "external unknown workflow");
    seed000(&s.send("GET", path, &[], b""), 405, "external GET");
}
