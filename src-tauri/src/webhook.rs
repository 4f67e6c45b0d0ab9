//! The window's way to the webhook doors. The desktop window may talk only to its command
//! channel (its CSP allows Tauri's IPC and nothing on the network), so it cannot POST to the
//! listener on 127.0.0.1; the `webhook` command hands the same request to the runtime in-process
//! instead: `{path, headers, body}` in, `{status, body}` out, where `status` and `body` are
//! what the HTTP door would have answered. The request goes through the same checks (rate limit,
//! allowed IPs, signature, size, idempotency) and into the same request log, from 127.0.0.1.
//!
//! Paths: `/webhook/k/{key}` and `/webhook/{...}` (webhook configurations) and
//! `/hooks/{token}` (incoming webhook applications), each with an optional `?query`. The
//! mapping from the window's request to the runtime's is `incoming`, tested below without Tauri.

use baton_runtime::http::MAX_BODY_BYTES;
use baton_runtime::webhooks::IncomingWebhook;
use baton_runtime::Runtime;
use serde_json::{json, Map, Value};
use std::net::{IpAddr, Ipv4Addr};

/// Where a request from the window comes from, as the request log records it.
pub const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Which door a request is for.
#[derive(Debug)]
pub enum Door {
    /// A webhook configuration (by key or by its URL path).
    Config(IncomingWebhook),
    /// An incoming webhook application; the body is None when it is over the limit.
    App {
        token: String,
        body: Option<Vec<u8>>,
    },
}

/// The door's answer as the window gets it.
pub fn answer(status: u16, body: Value) -> Value {
    json!({"status": status, "body": body})
}

/// A refusal before any door was reached (the request itself is malformed, or names no door).
fn refused(status: u16, message: String, code: &str) -> Value {
    answer(
        status,
        json!({"isSuccessful": false, "message": message, "errors": [], "code": code}),
    )
}

/// Reads the window's `{path, headers?, body?}`. `path` is the URL's path with an optional
/// query (a full `http://host:port/...` URL is accepted too: only its path and query count);
/// `headers` an object of strings; `body` a string. Errors answer what the door would: 400 for
/// a request that cannot be read, 404 for a path no door serves.
pub fn incoming(request: &Value) -> Result<Door, Value> {
    let bad = |m: &str| refused(400, m.to_string(), "BAD_REQUEST");
    let Some(obj) = request.as_object() else {
        return Err(bad("the request must be an object {path, headers, body}"));
    };
    let Some(raw) = obj.get("path").and_then(Value::as_str) else {
        return Err(bad("path is required (a string such as /webhook/k/KEY)"));
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    match obj.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (name, value) in h {
                let Some(value) = value.as_str() else {
                    return Err(bad(&format!("header '{name}' must be a string")));
                };
                let name = name.trim().to_ascii_lowercase();
                match headers.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, v)) => {
                        v.push_str(", ");
                        v.push_str(value);
                    }
                    None => headers.push((name, value.to_string())),
                }
            }
        }
        Some(_) => return Err(bad("headers must be an object of strings")),
    }
    let body = match obj.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        Some(_) => return Err(bad("body must be a string (the request's text)")),
    };
    if !headers.iter().any(|(n, _)| n == "content-length") {
        headers.push(("content-length".into(), body.len().to_string()));
    }
    // The body over the limit is not handed over; the door records and refuses it (413).
    let body = (body.len() <= MAX_BODY_BYTES).then_some(body);

    let after_origin = match raw.find("://") {
        Some(i) => {
            let rest = &raw[i + 3..];
            rest.find('/').map_or("/", |j| &rest[j..])
        }
        None => raw,
    };
    let (path, query) = after_origin.split_once('?').unwrap_or((after_origin, ""));
    let path = path.split('#').next().unwrap_or_default();
    let query = query.split('#').next().unwrap_or_default();
    let nowhere = || refused(404, format!("no webhook door at {path}"), "NOT_FOUND");

    if let Some(token) = path.strip_prefix("/hooks/") {
        if token.is_empty() || token.contains('/') {
            return Err(nowhere());
        }
        let token = decode(token).ok_or_else(|| bad("the token in the path is not UTF-8"))?;
        return Ok(Door::App { token, body });
    }
    if !path.starts_with("/webhook/") || path.len() == "/webhook/".len() {
        return Err(nowhere());
    }
    let key = match path.strip_prefix("/webhook/k/") {
        Some(k) if !k.is_empty() && !k.contains('/') => {
            Some(decode(k).ok_or_else(|| bad("the key in the path is not UTF-8"))?)
        }
        _ => None,
    };
    Ok(Door::Config(IncomingWebhook {
        key,
        method: "POST".into(),
        path: path.to_string(),
        headers,
        query: parse_query(query),
        remote: Some(LOCAL),
        body,
    }))
}

/// Hands the window's request to its door and answers `{status, body}`.
pub fn send(rt: &Runtime, request: &Value) -> Value {
    let door = match incoming(request) {
        Ok(door) => door,
        Err(refusal) => return refusal,
    };
    // Rate-limited per address like the listener (nothing is read or recorded when refused).
    if let Err(wait) = rt.admit_unauthenticated(Some(LOCAL)) {
        let message = format!("too many requests from this address; try again in {wait} s");
        return refused(429, message, "RATE_LIMITED");
    }
    match door {
        Door::Config(inc) => {
            let a = rt.receive_webhook(inc);
            answer(a.status, a.body)
        }
        Door::App { body: None, .. } => answer(
            413,
            json!({"errors": [{"message": format!("the body is over the limit of {MAX_BODY_BYTES} bytes"), "code": "TOO_LARGE"}]}),
        ),
        Door::App {
            token,
            body: Some(body),
        } => {
            let a = rt.receive_hook_app(&token, &body);
            answer(a.status, a.body)
        }
    }
}

/// `%XX` decoded (and `+` as a space when `plus`); None when the result is not UTF-8.
fn percent_decode(s: &str, plus: bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn decode(segment: &str) -> Option<String> {
    percent_decode(segment, false)
}

/// `a=1&b=two` as `{"a": "1", "b": "two"}` (form decoding; the last of a repeated name wins,
/// as the listener's).
fn parse_query(q: &str) -> Map<String, Value> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((
                percent_decode(k, true)?,
                Value::String(percent_decode(v, true)?),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(door: Door) -> IncomingWebhook {
        match door {
            Door::Config(inc) => inc,
            other => panic!("expected a configuration's door, got {other:?}"),
        }
    }

    #[test]
    fn a_keyed_path_its_headers_and_body_map_to_the_door() {
        let inc = config(
            incoming(&json!({
                "path": "http://127.0.0.1:7410/webhook/k/abc123?source=ui&note=a+b%21",
                "headers": {"Content-Type": "application/json", "Webhook-Signature": "v1,xyz"},
                "body": "{\"a\":1}"
            }))
            .unwrap(),
        );
        assert_eq!(inc.key.as_deref(), Some("abc123"));
        assert_eq!(inc.path, "/webhook/k/abc123");
        assert_eq!(inc.method, "POST");
        assert_eq!(inc.remote, Some(LOCAL));
        assert_eq!(inc.body.as_deref(), Some(&b"{\"a\":1}"[..]));
        assert!(inc
            .headers
            .contains(&("webhook-signature".into(), "v1,xyz".into())));
        assert!(inc
            .headers
            .contains(&("content-type".into(), "application/json".into())));
        assert!(inc.headers.contains(&("content-length".into(), "7".into())));
        assert_eq!(
            Value::Object(inc.query),
            json!({"source": "ui", "note": "a b!"})
        );
    }

    #[test]
    fn a_configured_url_path_has_no_key_and_apps_go_to_their_door() {
        let inc =
            config(incoming(&json!({"path": "/webhook/paystack/payment", "body": "{}"})).unwrap());
        assert_eq!(
            (inc.key, inc.path.as_str()),
            (None, "/webhook/paystack/payment")
        );
        // A deeper path under /webhook/k/ is a configured URL, as on the listener.
        let inc = config(incoming(&json!({"path": "/webhook/k/a/b"})).unwrap());
        assert_eq!(inc.key, None);
        match incoming(&json!({"path": "/hooks/wh_1", "body": "{}"})).unwrap() {
            Door::App { token, body } => {
                assert_eq!(token, "wh_1");
                assert_eq!(body.as_deref(), Some(&b"{}"[..]));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_body_over_the_limit_is_handed_over_as_none_so_the_door_records_a_413() {
        let big = " ".repeat(MAX_BODY_BYTES + 1);
        let inc = config(incoming(&json!({"path": "/webhook/x", "body": big})).unwrap());
        assert_eq!(inc.body, None);
        assert!(inc
            .headers
            .contains(&("content-length".into(), (MAX_BODY_BYTES + 1).to_string())));
    }

    #[test]
    fn bad_requests_and_unknown_paths_are_refused_in_the_doors_envelope() {
        for (request, status, words) in [
            (json!("nope"), 400, "must be an object"),
            (json!({}), 400, "path is required"),
            (
                json!({"path": "/webhook/x", "headers": []}),
                400,
                "headers must be an object",
            ),
            (
                json!({"path": "/webhook/x", "headers": {"a": 1}}),
                400,
                "header 'a' must be a string",
            ),
            (
                json!({"path": "/webhook/x", "body": {"a": 1}}),
                400,
                "body must be a string",
            ),
            (
                json!({"path": "/api/v1/execute"}),
                404,
                "no webhook door at /api/v1/execute",
            ),
            (json!({"path": "/webhook/"}), 404, "no webhook door"),
            (json!({"path": "/hooks/"}), 404, "no webhook door"),
        ] {
            let r = incoming(&request).expect_err("refused");
            assert_eq!(r["status"], status, "{request}: {r}");
            assert_eq!(r["body"]["isSuccessful"], false, "{r}");
            assert!(
                r["body"]["message"].as_str().unwrap().contains(words),
                "{request}: {r}"
            );
        }
    }

    /// The whole way on a real runtime over a real SQLite file: a keyed configuration answers
    /// and logs the request from 127.0.0.1; a wrong signature is refused with 401 and logged.
    #[test]
    fn a_request_reaches_the_runtime_and_its_request_log() {
        let dir =
            std::env::temp_dir().join(format!("baton-desktop-webhook-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rt = baton_runtime::open_default(&dir.join("w.db")).unwrap();
        let created = rt.execute(
            "CreateWebHookConfigCommand",
            &json!({"name": "k", "executionType": 0, "commandName": "GetUserListQuery",
                    "verification": {"scheme": "none"}}),
            None,
        );
        assert!(created.is_successful, "{created:?}");
        let url = created.data["url"].as_str().unwrap().to_string();
        let r = send(
            &rt,
            &json!({"path": url, "headers": {"content-type": "application/json"}, "body": "{}"}),
        );
        assert_eq!(r["status"], 200, "{r}");
        assert_eq!(r["body"]["isSuccessful"], true, "{r}");
        let r = send(&rt, &json!({"path": "/webhook/k/none-such", "body": "{}"}));
        assert_eq!(r["status"], 404, "{r}");

        let log = rt.execute("GetWebhookRequestListQuery", &json!({}), None);
        assert!(log.is_successful, "{log:?}");
        let items = log.data["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{:?}", log.data);
        assert!(
            items.iter().all(|i| i.to_string().contains("127.0.0.1")),
            "{:?}",
            log.data
        );
        drop(rt);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
