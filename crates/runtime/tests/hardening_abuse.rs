//! Abuse from outside (issue 10), through the doors served on 127.0.0.1: the webhook request
//! log keeps bodies of accepted requests only and stays within its age and size; each address
//! is rate-limited on the doors without a token (429, Retry-After, nothing recorded); a body
//! over the limit is answered after the token check and in the door's envelope; URLs given by
//! non-administrators cannot reach loopback or private addresses, at the command and again at
//! send time; a webhook application cannot delegate past its own rights; signed timestamps at
//! the ends of i64 are refused, and the server keeps answering through all of it.

use baton_runtime::http::MAX_BODY_BYTES;
use baton_testkit::{agent, Door, Model, Served, ADMIN};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// A door and its server on 127.0.0.1.
struct Site {
    door: Door,
    served: Served,
}

fn site() -> Site {
    let door = Door::new();
    let served = Served::start(door.st.clone());
    Site { door, served }
}

/// An answer: status, Retry-After, JSON body (Null when not JSON).
type Answered = (u16, Option<String>, Value);

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

    /// `POST path` with these headers and raw body, no token.
    fn raw(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answered {
        let mut req = agent().post(&self.served.url(path));
        for (n, v) in headers {
            req = req.set(n, v);
        }
        let resp = match req.send_bytes(body) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("POST {path}: {e}"),
        };
        let status = resp.status();
        let retry = resp.header("retry-after").map(str::to_string);
        let text = resp.into_string().unwrap_or_default();
        (
            status,
            retry,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    fn requests(&self) -> Vec<Value> {
        let d = self.ok("GetWebhookRequestListQuery", json!({"pageSize": 50}));
        d["items"].as_array().unwrap().clone()
    }

    /// The server still answers a query.
    fn alive(&self) {
        self.ok("GetUserListQuery", json!({}));
    }
}

#[test]
fn refused_requests_keep_metadata_only_and_accepted_ones_keep_their_body() {
    let s = site();
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "open", "url": "/webhook/open",
        "executionType": 2, "executionCode": "request.body.n * 2",
        "verification": {"scheme": "none"}}),
    );
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "signed", "url": "/webhook/signed",
        "executionType": 2, "executionCode": "1",
        "verification": {"scheme": "hmacSha256", "secret": "s3"}}),
    );
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "far", "url": "/webhook/far",
        "executionType": 2, "executionCode": "1",
        "verification": {"scheme": "none"}, "allowedIPs": ["203.0.113.7"]}),
    );
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "mapped", "url": "/webhook/mapped",
        "executionType": 0, "commandName": "GetUserListQuery",
        "commandData": {"n": "abs(body.name)"},
        "verification": {"scheme": "none"}}),
    );

    let secret = b"card 4111 1111 1111 1111";
    let (code, _, _) = s.raw("/webhook/nobody", &[], secret);
    assert_eq!(code, 404);
    let (code, _, _) = s.raw("/webhook/signed", &[("x-signature", "00")], secret);
    assert_eq!(code, 401);
    let (code, _, _) = s.raw("/webhook/far", &[], secret);
    assert_eq!(code, 403);
    let (code, _, out) = s.raw("/webhook/mapped", &[], br#"{"name": "x"}"#);
    assert_eq!(code, 422, "{out}");
    assert!(
        out["message"].as_str().unwrap().contains("mapping failed"),
        "{out}"
    );
    let (code, _, out) = s.raw("/webhook/open", &[], br#"{"n": 21}"#);
    assert_eq!((code, &out["data"]["value"]), (200, &json!(42)), "{out}");

    let log = s.requests();
    let seen: Vec<(&str, &str, i64)> = log
        .iter()
        .map(|r| {
            (
                r["verdict"].as_str().unwrap(),
                r["body"].as_str().unwrap(),
                r["size"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("accepted", r#"{"n": 21}"#, 9),
            ("badMapping", "", 13),
            ("ipNotAllowed", "", secret.len() as i64),
            ("badSignature", "", secret.len() as i64),
            ("notFound", "", secret.len() as i64),
        ]
    );
    for r in &log {
        assert_eq!(r["remoteAddr"], "127.0.0.1", "{r}");
        assert!(r["receivedAt"].is_string() && r["path"].is_string(), "{r}");
    }
    // A refused request has nothing to run again.
    let refused = log[3]["id"].clone();
    let (_, out) = s
        .served
        .exec(ADMIN, "ReplayWebhookRequestCommand", json!({"id": refused}));
    assert_eq!(out["isSuccessful"], false);
    assert_eq!(out["errors"][0]["field"], "id", "{out}");
    assert!(
        out["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("only accepted requests"),
        "{out}"
    );
    s.alive();
}

/// Requests keep the log near its size limit as they come, whether or not the pass sums the
/// whole log each time (it skips the sum while its estimate is well under the limit).
#[test]
fn a_stream_of_requests_keeps_the_log_near_its_size_limit() {
    let s = site();
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "open", "url": "/webhook/open",
        "executionType": 2, "executionCode": "1", "verification": {"scheme": "none"}}),
    );
    // Without a rate limit: 300 requests from one address.
    s.ok(
        "SetSecuritySettingsCommand",
        json!({"webhookLogMaxMegabytes": 1, "rateLimitPerMinute": 0}),
    );
    let body = vec![b'x'; 64 * 1024];
    for _ in 0..300 {
        assert_eq!(s.raw("/webhook/open", &[], &body).0, 200);
    }
    let total = s.ok("GetWebhookRequestListQuery", json!({"pageSize": 1}))["totalCount"]
        .as_i64()
        .unwrap();
    // 300 rows of 64 KiB were written; a pass runs every 64 requests, so at most 1 MiB plus
    // what came in since the last pass stays (16 rows + 64).
    assert!(
        (16..=16 + 64).contains(&total),
        "{total} rows of 64 KiB left with a 1 MiB limit"
    );
    s.alive();
}

#[test]
fn the_request_log_is_kept_within_its_age_and_its_size() {
    let s = site();
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "open", "url": "/webhook/open",
        "executionType": 2, "executionCode": "1", "verification": {"scheme": "none"}}),
    );
    let defaults = s.ok("GetSecuritySettingsQuery", json!({}));
    assert_eq!(defaults["webhookLogMaxAgeDays"], 7);
    assert_eq!(defaults["webhookLogMaxMegabytes"], 100);
    let big = vec![b'x'; 400 * 1024];
    for _ in 0..5 {
        assert_eq!(s.raw("/webhook/open", &[], &big).0, 200);
    }
    assert_eq!(s.requests().len(), 5);

    // 1 MiB: the oldest rows go at once, the newest stay.
    let set = s.ok(
        "SetSecuritySettingsCommand",
        json!({"webhookLogMaxMegabytes": 1}),
    );
    assert_eq!(set["webhookLogMaxMegabytes"], 1);
    assert_eq!(set["webhookLogMaxAgeDays"], 7, "the others are kept");
    let left = s.requests();
    assert_eq!(left.len(), 2, "two rows of 400 KiB fit in 1 MiB");
    let ids: Vec<i64> = left.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [5, 4], "the newest are kept");

    // Age: a day later, with a one-day retention, the next request's pass removes the rest.
    s.ok(
        "SetSecuritySettingsCommand",
        json!({"webhookLogMaxAgeDays": 1, "webhookLogMaxMegabytes": 0}),
    );
    s.door.t.advance(2 * 86_400);
    assert_eq!(s.raw("/webhook/open", &[], b"{}").0, 200);
    let left = s.requests();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["id"], 6);
    // Request ids never meet a removed one.
    assert_eq!(s.raw("/webhook/nobody", &[], b"{}").0, 404);
    assert_eq!(s.requests()[0]["id"], 7);

    // Bad settings name the field.
    let (_, out) = s.served.exec(
        ADMIN,
        "SetSecuritySettingsCommand",
        json!({"rateLimitBurst": -1}),
    );
    assert_eq!(out["isSuccessful"], false);
    assert_eq!(out["errors"][0]["field"], "rateLimitBurst", "{out}");
    s.alive();
}

#[test]
fn settings_are_for_administrators_and_survive_a_restart() {
    let door = Door::new();
    let bob = door.user("bob", &[]);
    let served = Served::start(door.st.clone());
    let (code, _) = served.exec(&bob.token, "GetSecuritySettingsQuery", json!({}));
    assert_eq!(code, 403);
    let (code, _) = served.exec(
        &bob.token,
        "SetSecuritySettingsCommand",
        json!({"rateLimitBurst": 1}),
    );
    assert_eq!(code, 403);
    let (code, out) = served.exec(
        ADMIN,
        "SetSecuritySettingsCommand",
        json!({"rateLimitBurst": 7, "allowPrivateOutboundUrls": true}),
    );
    assert_eq!(code, 200, "{out}");
    drop(served);
    let Door { t, .. } = door;
    let t = t.reopen();
    let d = t.run("GetSecuritySettingsQuery", json!({}));
    assert_eq!(d["rateLimitBurst"], 7);
    assert_eq!(d["allowPrivateOutboundUrls"], true);
    assert_eq!(d["rateLimitPerMinute"], 600);
}

#[test]
fn each_address_is_rate_limited_on_the_doors_without_a_token() {
    let s = site();
    s.ok(
        "SetSecuritySettingsCommand",
        json!({"rateLimitPerMinute": 60, "rateLimitBurst": 3}),
    );
    for _ in 0..3 {
        assert_eq!(s.raw("/webhook/nobody", &[], b"{}").0, 404);
    }
    let (code, retry, out) = s.raw("/webhook/nobody", &[], b"{}");
    assert_eq!(code, 429, "{out}");
    assert_eq!(retry.as_deref(), Some("1"));
    assert_eq!(out["isSuccessful"], false);
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("too many requests"),
        "{out}"
    );
    // The other door without a token draws from the same bucket, in its own envelope.
    let (code, retry, out) = s.raw("/hooks/wh_nothing", &[], b"{}");
    assert_eq!((code, retry.as_deref()), (429, Some("1")), "{out}");
    assert_eq!(out["errors"][0]["code"], "REJECTED", "{out}");
    // Refused requests are not recorded.
    assert_eq!(s.requests().len(), 3);
    // The doors with a token are not limited.
    for _ in 0..5 {
        s.alive();
    }
    // A second later one more token is there.
    s.door.t.advance(1);
    assert_eq!(s.raw("/webhook/nobody", &[], b"{}").0, 404);
    assert_eq!(s.raw("/webhook/nobody", &[], b"{}").0, 429);
    // Off: no limit.
    s.ok(
        "SetSecuritySettingsCommand",
        json!({"rateLimitPerMinute": 0}),
    );
    for _ in 0..10 {
        assert_eq!(s.raw("/webhook/nobody", &[], b"{}").0, 404);
    }
}

/// Sends a whole request on a raw connection and answers the status line's code and the body.
fn raw_http(s: &Site, path: &str, token: Option<&str>, body: &[u8]) -> (u16, Value) {
    let mut c = std::net::TcpStream::connect(s.served.address).unwrap();
    let auth = token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        c,
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n{auth}content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    c.write_all(body).unwrap();
    let mut text = String::new();
    c.read_to_string(&mut text).unwrap();
    let code = text[9..12].parse().unwrap();
    let json = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (code, serde_json::from_str(json).unwrap_or(Value::Null))
}

#[test]
fn a_body_over_the_limit_is_answered_after_the_token_and_in_the_doors_envelope() {
    let s = site();
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    let (code, out) = raw_http(&s, "/api/v1/execute", Some(ADMIN), &big);
    assert_eq!(code, 413);
    assert_eq!(out["isSuccessful"], false, "{out}");
    assert_eq!(out["code"], "BAD_REQUEST");
    assert!(
        out["message"].as_str().unwrap().contains("1048576"),
        "{out}"
    );
    let (code, out) = raw_http(&s, "/api/bpm/cmd", Some(ADMIN), &big);
    assert_eq!(code, 413);
    assert_eq!(
        out,
        json!({"success": false, "data": null, "message": "the body is over 1048576 bytes", "errors": []})
    );
    let (code, out) = raw_http(&s, "/hooks/wh_nothing", None, &big);
    assert_eq!(code, 413);
    assert_eq!(out["errors"][0]["code"], "BAD_REQUEST", "{out}");
    // Exactly at the limit is read (and is then just bad JSON).
    let (code, out) = raw_http(&s, "/api/v1/execute", Some(ADMIN), &big[1..]);
    assert_eq!(code, 400, "{out}");
    s.alive();
}

#[tokio::test]
async fn without_a_token_a_large_body_is_a_401_not_a_413() {
    let door = Door::new();
    let big = " ".repeat(MAX_BODY_BYTES + 1);
    for path in ["/api/v1/execute", "/api/core/cmd", "/api/bpm/cmd"] {
        let (code, out) = door.post(path, None, big.clone()).await;
        assert_eq!(code.as_u16(), 401, "{path}: {out}");
        let (code, out) = door
            .post(path, Some("Bearer wrong-token-0123456789"), big.clone())
            .await;
        assert_eq!(code.as_u16(), 401, "{path}: {out}");
        assert!(out.is_object(), "{path}: JSON, not plain text");
    }
}

/// A receiver on 127.0.0.1 that counts requests and answers `status` (with `location`).
fn receiver(status: u16, location: Option<String>) -> (String, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/in", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(0));
    let g = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            *g.lock().unwrap() += 1;
            let loc = location
                .as_ref()
                .map(|l| format!("location: {l}\r\n"))
                .unwrap_or_default();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\n{loc}content-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, got)
}

fn review() -> String {
    Model::process("Review")
        .start("s")
        .user_task("Check")
        .end("e")
        .chain(&["s", "Check", "e"])
        .xml()
}

#[test]
fn outbound_urls_from_non_administrators_cannot_reach_private_addresses() {
    let s = site();
    let bob = s.door.user("bob", &[]);
    s.ok(
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": review()}),
    );
    let (url, got) = receiver(200, None);
    let start = |token: &str, url: &str| {
        s.served.exec(
            token,
            "StartProcessInstanceCommand",
            json!({"processKey": "Review",
            "config": {"subscriptions": [{"url": url, "events": ["workflow.completed"]}]}}),
        )
    };
    for bad in [
        url.as_str(),
        "http://localhost:9/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/",
        "http://10.0.0.1/",
        "http://127.0.0.1\\@example.com/",
    ] {
        let (code, out) = start(&bob.token, bad);
        assert_eq!(
            (code, &out["isSuccessful"]),
            (200, &json!(false)),
            "{bad}: {out}"
        );
        assert_eq!(out["errors"][0]["field"], "config", "{bad}: {out}");
        let m = out["errors"][0]["message"].as_str().unwrap();
        assert!(m.starts_with("config.subscriptions[0].url: "), "{m}");
        assert!(m.contains("allowPrivateOutboundUrls"), "{m}");
    }
    // Nothing was started by the refused commands.
    let (_, list) = s
        .served
        .exec(ADMIN, "GetProcessInstanceListQuery", json!({}));
    assert_eq!(list["data"]["totalCount"], 0, "{list}");
    // An administrator's URL is theirs to choose.
    let (_, out) = start(ADMIN, &url);
    assert_eq!(out["isSuccessful"], true, "{out}");

    // Allowed by an administrator: bob's URL is taken (and remembered as his).
    s.ok(
        "SetSecuritySettingsCommand",
        json!({"allowPrivateOutboundUrls": true}),
    );
    let (_, out) = start(&bob.token, &url);
    assert_eq!(out["isSuccessful"], true, "{out}");
    let guid = out["data"]["instanceGuid"].as_str().unwrap().to_string();
    // Then no longer allowed: at send time the URL is checked again and refused for good,
    // nothing reaches the receiver (as when a name is pointed at a private address later).
    s.ok(
        "SetSecuritySettingsCommand",
        json!({"allowPrivateOutboundUrls": false}),
    );
    s.ok(
        "SignalProcessInstanceCommand",
        json!({"instanceGuid": guid, "taskId": "Check", "callbackData": {}}),
    );
    assert_eq!(s.door.t.rt.deliver_due(), 1);
    let d = s.ok("GetDeliveryListQuery", json!({}));
    let row = &d["items"][0];
    assert_eq!(row["status"], "Failed", "{d}");
    assert!(
        row["lastError"]
            .as_str()
            .unwrap()
            .contains("outbound URL policy"),
        "{d}"
    );
    assert_eq!(*got.lock().unwrap(), 0);
}

#[test]
fn the_sender_follows_no_redirect() {
    let s = site();
    s.ok(
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": review()}),
    );
    let (inner, inner_got) = receiver(200, None);
    let (outer, outer_got) = receiver(302, Some(inner));
    s.ok(
        "CreateEventSubscriptionCommand",
        json!({"url": outer, "events": ["*"]}),
    );
    s.ok(
        "StartProcessInstanceCommand",
        json!({"processKey": "Review"}),
    );
    assert!(s.door.t.rt.deliver_due() >= 1);
    assert!(*outer_got.lock().unwrap() >= 1);
    assert_eq!(
        *inner_got.lock().unwrap(),
        0,
        "the redirect was not followed"
    );
    let d = s.ok("GetDeliveryListQuery", json!({}));
    assert_eq!(d["items"][0]["lastStatusCode"], 302, "{d}");
}

#[test]
fn an_application_cannot_delegate_past_its_own_rights() {
    let s = site();
    let approve = Model::process("Approve")
        .start("s")
        .user_task("Sign")
        .props(&[("ResponsibleTeam", "MANAGERS")])
        .end("e")
        .chain(&["s", "Sign", "e"])
        .xml();
    s.ok(
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": approve}),
    );
    s.door.user("bob", &["TELLERS"]);
    s.door.user("carol", &["MANAGERS"]);
    let app = |imp: Option<&str>| {
        s.ok(
            "CreateIncomingWebhookApplicationCommand",
            json!({"name": "ERP", "impersonateUserName": imp}),
        )["url"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let as_bob = app(Some("bob"));
    let as_owner = app(None);
    let op = |url: &str, op: &str, input: Value| {
        let (code, out) = s.served.post(
            url,
            None,
            &json!({"operation": op, "args": {"input": input}}),
        );
        assert_eq!(code, 200, "{out}");
        out
    };
    // bob is no administrator: his app cannot act as one.
    let out = op(
        &as_bob,
        "createRequest",
        json!({"processName": "Approve", "onBehalfOfUserName": "admin"}),
    );
    assert_eq!(out["errors"][0]["code"], "FORBIDDEN", "{out}");
    assert!(
        out["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("administrator 'admin'"),
        "{out}"
    );
    // Nor complete, for carol, a task bob may not work on.
    let out = op(&as_bob, "createRequest", json!({"processName": "Approve"}));
    let n = out["number"].as_i64().expect("a request");
    let out = op(
        &as_bob,
        "completeAction",
        json!({"requestNumber": n, "actionNumber": 1, "onBehalfOfUserName": "carol"}),
    );
    assert_eq!(out["errors"][0]["code"], "FORBIDDEN", "{out}");
    // The owner's app may, for carol (a MANAGER) and for the administrator.
    let out = op(
        &as_owner,
        "completeAction",
        json!({"requestNumber": n, "actionNumber": 1, "onBehalfOfUserName": "carol"}),
    );
    assert_eq!(out["requestStatus"], "COMPLETED", "{out}");
    let out = op(
        &as_owner,
        "createRequest",
        json!({"processName": "Approve", "onBehalfOfUserName": "admin"}),
    );
    assert_eq!(out["onBehalfOfUserName"], "admin", "{out}");
    s.alive();
}

#[test]
fn signed_timestamps_at_the_ends_of_i64_are_refused_not_a_crash() {
    let s = site();
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "stripe", "url": "/webhook/stripe",
        "executionType": 2, "executionCode": "1",
        "verification": {"scheme": "stripe", "secret": "whsec_x"}}),
    );
    let now = 1_767_225_600_i64; // the virtual clock's start, 2026-01-01
    for t in [i64::MIN, now.wrapping_sub(i64::MIN), i64::MAX, i64::MIN + 1] {
        let h = format!("t={t},v1=00");
        let (code, _, out) = s.raw("/webhook/stripe", &[("stripe-signature", &h)], b"{}");
        assert_eq!(code, 401, "{t}: {out}");
    }
    let log = s.requests();
    assert!(log.iter().all(|r| r["verdict"] == "badSignature"));
    assert!(
        log[0]["error"]
            .as_str()
            .unwrap()
            .contains("more than 300 seconds"),
        "{}",
        log[0]
    );
    s.alive();
}
