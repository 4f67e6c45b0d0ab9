//! What was left of the abuse limits (issue 10), through the doors served on 127.0.0.1: the
//! webhook request log is pruned in the background too, so a quiet server still honours its
//! age and size; behind a reverse proxy the administrator trusts, each client has its own
//! rate-limit bucket, and nobody else can choose one with a header; requests refused by the
//! rate limits are counted for administrators.

use baton_engine::VirtualClock;
use baton_runtime::host::{Host, HostConfig};
use baton_runtime::webhooks::IncomingWebhook;
use baton_runtime::Runtime;
use baton_store::Durability;
use baton_testkit::{agent, Door, Served, ADMIN};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

struct Site {
    door: Door,
    served: Served,
}

fn site() -> Site {
    let door = Door::new();
    let served = Served::start(door.st.clone());
    Site { door, served }
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

    /// The field a refused command names.
    fn refused_field(&self, cmd: &str, data: Value) -> (String, String) {
        let (code, out) = self.served.exec(ADMIN, cmd, data);
        assert_eq!((code, &out["isSuccessful"]), (200, &json!(false)), "{out}");
        (
            out["errors"][0]["field"]
                .as_str()
                .unwrap_or_default()
                .into(),
            out["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .into(),
        )
    }

    /// `POST path` with these headers and body, no token: the status.
    fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
        let mut req = agent().post(&self.served.url(path));
        for (n, v) in headers {
            req = req.set(n, v);
        }
        match req.send_bytes(body) {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(code, _)) => code,
            Err(e) => panic!("POST {path}: {e}"),
        }
    }

    /// `POST /webhook/nobody` as if a proxy had forwarded it from `xff`.
    fn from(&self, xff: &str) -> u16 {
        self.post("/webhook/nobody", &[("x-forwarded-for", xff)], b"{}")
    }

    fn log(&self) -> Value {
        self.ok("GetWebhookRequestListQuery", json!({"pageSize": 100}))
    }

    fn rows(&self) -> usize {
        self.log()["items"].as_array().unwrap().len()
    }

    fn rt(&self) -> &Arc<Runtime> {
        &self.door.t.rt
    }

    fn open_hook(&self) {
        self.ok(
            "CreateWebHookConfigCommand",
            json!({"name": "open", "url": "/webhook/open",
            "executionType": 2, "executionCode": "1", "verification": {"scheme": "none"}}),
        );
    }
}

fn never() -> bool {
    false
}

#[test]
fn the_background_pass_honours_retention_on_a_quiet_server() {
    let s = site();
    s.open_hook();
    let rt = s.rt();
    // The first pass runs at once (the start), whatever the log holds.
    rt.prune_webhook_log_if_due(&never);
    assert_eq!(rt.wait_webhook_log_background(1, Duration::ZERO), 1);

    // Age: nothing arrives for two days; the hourly pass removes what is older than a day.
    s.ok(
        "SetSecuritySettingsCommand",
        json!({"webhookLogMaxAgeDays": 1}),
    );
    for _ in 0..3 {
        assert_eq!(s.post("/webhook/open", &[], b"{}"), 200);
    }
    s.door.t.advance(2 * 86_400);
    assert_eq!(s.rows(), 3, "nothing prunes without a request or a pass");
    rt.prune_webhook_log_if_due(&never);
    assert_eq!(rt.wait_webhook_log_background(2, Duration::ZERO), 2);
    assert_eq!(s.rows(), 0, "a quiet server still honours the age");

    // Size: the log grows past 1 MiB between passes (too few requests to run one of theirs).
    s.ok(
        "SetSecuritySettingsCommand",
        json!({"webhookLogMaxAgeDays": 0, "webhookLogMaxMegabytes": 1}),
    );
    let big = vec![b'x'; 400 * 1024];
    for _ in 0..3 {
        assert_eq!(s.post("/webhook/open", &[], &big), 200);
    }
    assert_eq!(s.rows(), 3);
    // Within the hour after the last background pass, none runs.
    s.door.t.advance(59 * 60);
    rt.prune_webhook_log_if_due(&never);
    assert_eq!(rt.wait_webhook_log_background(3, Duration::ZERO), 2);
    assert_eq!(s.rows(), 3);
    // An hour after it, one does, and keeps the newest rows that fit.
    s.door.t.advance(60);
    rt.prune_webhook_log_if_due(&never);
    assert_eq!(rt.wait_webhook_log_background(3, Duration::ZERO), 3);
    assert_eq!(s.rows(), 2);

    // A pass told to stop removes nothing and goes on at the next call, not an hour later.
    for _ in 0..2 {
        assert_eq!(s.post("/webhook/open", &[], &big), 200);
    }
    assert_eq!(s.rows(), 4);
    s.door.t.advance(3_600);
    rt.prune_webhook_log_if_due(&|| true);
    assert_eq!(s.rows(), 4);
    rt.prune_webhook_log_if_due(&never);
    assert_eq!(rt.wait_webhook_log_background(5, Duration::ZERO), 5);
    assert_eq!(s.rows(), 2);
}

#[test]
fn the_host_prunes_the_log_once_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    {
        // Requests recorded long ago, then the server stayed down.
        let clock = Arc::new(VirtualClock::new("2000-01-01T00:00:00Z".parse().unwrap()));
        let rt = Runtime::open(&db, Durability::Normal, clock).expect("the database opens");
        let r = rt.execute(
            "CreateWebHookConfigCommand",
            &json!({"name": "open", "url": "/webhook/open",
            "executionType": 2, "executionCode": "1", "verification": {"scheme": "none"}}),
            None,
        );
        assert!(r.is_successful, "{r:?}");
        for _ in 0..3 {
            let answer = rt.receive_webhook(IncomingWebhook {
                key: None,
                method: "POST".into(),
                path: "/webhook/open".into(),
                headers: vec![],
                query: Map::new(),
                remote: None,
                body: Some(b"{}".to_vec()),
            });
            assert_eq!(answer.status, 200, "{answer:?}");
        }
    }
    let host = Host::start(HostConfig::new(&db)).expect("the host starts");
    // No request arrives: the scheduler's thread runs the first pass on its own.
    let passes = host
        .runtime()
        .wait_webhook_log_background(1, Duration::from_secs(30));
    assert!(passes >= 1, "no background pass within 30 s");
    let list = host.execute(&json!({"cmd": "GetWebhookRequestListQuery", "data": {}}));
    assert_eq!(list["data"]["totalCount"], 0, "{list}");
    host.shutdown();
}

#[test]
fn only_a_trusted_proxy_may_say_who_the_client_is() {
    let s = site();
    s.ok(
        "SetSecuritySettingsCommand",
        json!({"rateLimitPerMinute": 60, "rateLimitBurst": 1}),
    );
    let defaults = s.ok("GetSecuritySettingsQuery", json!({}));
    assert_eq!(defaults["trustedProxies"], json!([]));
    assert_eq!(defaults["clientAddressHeader"], "X-Forwarded-For");

    // Nobody trusted: a spoofed X-Forwarded-For changes nothing; every request is 127.0.0.1's.
    assert_eq!(s.from("198.51.100.1"), 404);
    assert_eq!(s.from("198.51.100.2"), 429);
    assert_eq!(
        s.post(
            "/webhook/nobody",
            &[("forwarded", "for=198.51.100.3")],
            b"{}"
        ),
        429
    );
    let log = s.log();
    assert_eq!(log["items"][0]["remoteAddr"], "127.0.0.1", "{log}");

    // The proxy on 127.0.0.1 trusted: each forwarded client has its own bucket.
    let set = s.ok(
        "SetSecuritySettingsCommand",
        json!({"trustedProxies": ["127.0.0.1", "10.0.0.0/8"]}),
    );
    assert_eq!(set["trustedProxies"], json!(["127.0.0.1", "10.0.0.0/8"]));
    assert_eq!(s.from("198.51.100.1"), 404);
    assert_eq!(s.from("198.51.100.2"), 404);
    assert_eq!(s.from("198.51.100.1"), 429);
    // What the client wrote itself (left of what the proxies appended) is not believed.
    assert_eq!(s.from("198.51.100.9, 198.51.100.2"), 429);
    // Through a second trusted proxy (10.1.2.3), the client is the one it reported.
    assert_eq!(s.from("198.51.100.2, 198.51.100.4, 10.1.2.3"), 404);
    assert_eq!(s.from("198.51.100.4"), 429);
    // No header, or one that cannot be read: the proxy's own bucket.
    assert_eq!(s.post("/webhook/nobody", &[], b"{}"), 404);
    assert_eq!(s.from("unknown"), 429);
    // The other door without a token takes the same address.
    assert_eq!(
        s.post(
            "/hooks/wh_nothing",
            &[("x-forwarded-for", "198.51.100.1")],
            b"{}"
        ),
        429
    );
    assert_ne!(
        s.post(
            "/hooks/wh_nothing",
            &[("x-forwarded-for", "198.51.100.5")],
            b"{}"
        ),
        429
    );
    // The log records the client's address.
    let log = s.log();
    assert_eq!(log["items"][0]["remoteAddr"], "127.0.0.1", "{log}");
    assert_eq!(log["items"][1]["remoteAddr"], "198.51.100.4", "{log}");

    // Forwarded instead: X-Forwarded-For is then whatever the client sent, and ignored.
    s.ok(
        "SetSecuritySettingsCommand",
        json!({"clientAddressHeader": "Forwarded", "rateLimitPerMinute": 0}),
    );
    s.ok(
        "CreateWebHookConfigCommand",
        json!({"name": "far", "url": "/webhook/far", "executionType": 2, "executionCode": "1",
        "verification": {"scheme": "none"}, "allowedIPs": ["2001:db8:cafe::17"]}),
    );
    let far = |headers: &[(&str, &str)]| s.post("/webhook/far", headers, b"{}");
    assert_eq!(
        far(&[("forwarded", r#"for="[2001:db8:cafe::17]:4711""#)]),
        200
    );
    assert_eq!(far(&[("x-forwarded-for", "2001:db8:cafe::17")]), 403);
    assert_eq!(far(&[]), 403);

    // Bad settings name the field; nothing changes.
    let (field, message) = s.refused_field(
        "SetSecuritySettingsCommand",
        json!({"trustedProxies": ["10.0.0.1", "proxy.example"]}),
    );
    assert_eq!(field, "trustedProxies");
    assert!(message.contains("trustedProxies[1]"), "{message}");
    let (field, _) = s.refused_field(
        "SetSecuritySettingsCommand",
        json!({"trustedProxies": "10.0.0.1"}),
    );
    assert_eq!(field, "trustedProxies");
    let (field, message) = s.refused_field(
        "SetSecuritySettingsCommand",
        json!({"clientAddressHeader": "X-Real-IP"}),
    );
    assert_eq!(field, "clientAddressHeader");
    assert!(message.contains("X-Forwarded-For, Forwarded"), "{message}");
    let (field, _) = s.refused_field(
        "SetSecuritySettingsCommand",
        json!({"trustedProxies": ["10.0.0.0/33"]}),
    );
    assert_eq!(field, "trustedProxies");
    let now = s.ok("GetSecuritySettingsQuery", json!({}));
    assert_eq!(now["trustedProxies"], json!(["127.0.0.1", "10.0.0.0/8"]));
    assert_eq!(now["clientAddressHeader"], "Forwarded");
}

#[test]
fn requests_refused_by_the_rate_limit_are_counted_for_administrators() {
    let s = site();
    s.ok(
        "SetSecuritySettingsCommand",
        json!({"rateLimitPerMinute": 60, "rateLimitBurst": 2, "trustedProxies": ["127.0.0.1"]}),
    );
    let quiet = s.log();
    assert_eq!(
        quiet["rateLimited"],
        json!({"total": 0, "addressCount": 0, "addresses": [], "otherAddresses": 0})
    );
    let secret = b"card 4111 1111 1111 1111";
    for _ in 0..2 {
        assert_eq!(s.from("203.0.113.9"), 404);
    }
    for _ in 0..5 {
        assert_eq!(
            s.post(
                "/webhook/nobody",
                &[("x-forwarded-for", "203.0.113.9")],
                secret
            ),
            429
        );
    }
    // A second later one request passes, the next (at the other door) is refused again.
    s.door.t.advance(1);
    assert_eq!(s.from("203.0.113.9"), 404);
    assert_eq!(
        s.post("/hooks/wh_x", &[("x-forwarded-for", "203.0.113.9")], b"{}"),
        429
    );
    for _ in 0..2 {
        s.from("2001:db8:1:2::1");
    }
    assert_eq!(s.from("2001:db8:1:2::ffff"), 429, "one bucket per /64");

    let log = s.log();
    let limited = &log["rateLimited"];
    assert_eq!(limited["total"], 7, "{limited}");
    assert_eq!(limited["addressCount"], 2);
    let first = &limited["addresses"][0];
    assert_eq!(first["address"], "203.0.113.9", "{limited}");
    assert_eq!(first["count"], 6);
    assert_eq!(first["firstAt"], "2026-01-01T00:00:00.000000Z");
    assert_eq!(first["lastAt"], "2026-01-01T00:00:01.000000Z");
    assert_eq!(limited["addresses"][1]["address"], "2001:db8:1:2::/64");
    assert_eq!(limited["addresses"][1]["count"], 1);
    // Counted, not recorded: the log holds the admitted requests only, and nothing of a body.
    assert_eq!(log["totalCount"], 5, "{log}");
    assert!(!log.to_string().contains("4111"));
    // Administrators only.
    let bob = s.door.user("bob", &[]);
    let (code, _) = s
        .served
        .exec(&bob.token, "GetWebhookRequestListQuery", json!({}));
    assert_eq!(code, 403);
}
