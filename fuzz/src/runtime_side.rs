//! The runtime's readers under fuzzing: the scenario reader (run as `baton test` runs it), the
//! command doors' JSON and the incoming webhook doors with their signature schemes.
//!
//! Every request goes through the real axum router (`http::app`, no socket) over a runtime on
//! a database in memory and a virtual clock. `doors` and `webhook_signatures` build a fresh
//! runtime for each input, so a reproducer replays the same way every time (the regression
//! tests call these). The fuzz targets call `doors_reusing` and `webhook_signatures_reusing`,
//! which keep one runtime for up to `REUSE` inputs (building one costs far more than an input):
//! see `Reused` for when a runtime is dropped early. Like `engine_side.rs`, this file is
//! included by crates/runtime/tests/fuzz_regressions.rs and uses only crates that test can see.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode};
use base64::Engine as _;
use baton_engine::sim::Scenario;
use baton_engine::VirtualClock;
use baton_runtime::http::{app, AppState};
use baton_runtime::simulate::Simulation;
use baton_runtime::{Bootstrap, Runtime};
use hmac::{Hmac, Mac};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

/// The administrator's token of every fuzzed runtime.
pub const ADMIN: &str = "fuzz-admin-token-0123456789";

const LOAN: &str = include_str!("../../bpmn-templates/loan-approval/LoanApprovalProcess.bpmn");
const PAYMENT: &str =
    include_str!("../../bpmn-templates/payment-approval/PaymentApprovalProcess.bpmn");
const INVOICE: &str =
    include_str!("../../bpmn-templates/invoice-reminders/InvoiceReminderProcess.bpmn");
const WEBHOOK: &str = include_str!("../../bpmn-templates/webhook-payment/WebhookPaymentFlow.bpmn");

// ---------------------------------------------------------------------------------------------
// The scenario reader

/// The scenario reader, then the scenario run on the template its `model` names, exactly as
/// `baton test` runs one: start, steps, `expect` checks, the report. Every outcome is a report
/// or an error text.
pub fn scenario(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let sc = match Scenario::from_json_text(&text) {
        Ok(sc) => sc,
        Err(e) => {
            assert!(!e.is_empty(), "a refused scenario says why");
            return;
        }
    };
    let named = sc.model.first().map(String::as_str).unwrap_or_default();
    let model = if named.contains("Payment") && named.contains("Webhook") {
        WEBHOOK
    } else if named.contains("Payment") {
        PAYMENT
    } else if named.contains("Invoice") {
        INVOICE
    } else {
        LOAN
    };
    let Ok(sim) = Simulation::new(&[("model.bpmn", model)], &sc, None) else {
        return;
    };
    let Ok(guid) = sim.start(sc.variables.clone()) else {
        return;
    };
    let mut error = sim.run_steps(&guid, &sc.steps).err();
    if error.is_none() {
        if let Some(expect) = &sc.expect {
            let fails = sim.check(&guid, expect);
            if !fails.is_empty() {
                error = Some(fails.join("; "));
            }
        }
    }
    let report = sim.report(&guid, error.as_deref());
    assert!(report.is_object(), "a report is a JSON object: {report}");
}

// ---------------------------------------------------------------------------------------------
// A runtime behind the doors

fn tokio() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime")
    })
}

/// A fresh runtime behind the router: the administrator (`ADMIN`), bob in TELLERS with his
/// own token, the loan template deployed with one instance waiting at the manager's review,
/// and an incoming webhook application.
struct World {
    state: Arc<AppState>,
    bob: String,
    guid: String,
    hook: String,
}

fn ok(rt: &Runtime, cmd: &str, data: Value) -> Value {
    let reply = rt.execute(cmd, &data, None);
    assert!(reply.is_successful, "setting up: {cmd}: {}", reply.message);
    reply.data
}

impl World {
    fn new() -> World {
        let clock = Arc::new(VirtualClock::new(VirtualClock::default_start()));
        let rt = Arc::new(Runtime::open_in_memory(clock).expect("a runtime in memory"));
        rt.lend_bus_to_scripts();
        assert_eq!(rt.bootstrap(Some(ADMIN)), Ok(Bootstrap::Given));
        ok(
            &rt,
            "CreateUserCommand",
            json!({"userName": "bob", "teams": ["TELLERS"]}),
        );
        let bob = ok(&rt, "CreateApiTokenCommand", json!({"userName": "bob"}))["token"]
            .as_str()
            .expect("a token")
            .to_string();
        let def = ok(
            &rt,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": LOAN}),
        )["processDefinitionId"]
            .clone();
        let guid = ok(
            &rt,
            "StartProcessInstanceCommand",
            json!({"processDefinitionId": def, "variables": {"applicant": "Ada", "amount": 1500}}),
        )["instanceGuid"]
            .as_str()
            .expect("a guid")
            .to_string();
        let hook = ok(
            &rt,
            "CreateIncomingWebhookApplicationCommand",
            json!({"name": "fuzz", "impersonateUserName": "bob"}),
        )["token"]
            .as_str()
            .expect("a hook token")
            .to_string();
        World {
            state: Arc::new(AppState { runtime: rt }),
            bob,
            guid,
            hook,
        }
    }

    fn runtime(&self) -> &Runtime {
        &self.state.runtime
    }

    /// Sends one request through the router; answers the status and the body's bytes.
    fn send(&self, req: Request<Body>) -> (StatusCode, Vec<u8>) {
        let router = app(self.state.clone());
        tokio().block_on(async move {
            let resp = router.oneshot(req).await.expect("the router answers");
            let status = resp.status();
            let body = resp.into_body().collect().await.expect("a body").to_bytes();
            (status, body.to_vec())
        })
    }
}

/// How many inputs one runtime serves at most before a fresh one is built (a few
/// milliseconds each, against well under one for most inputs).
const REUSE: u32 = 64;

/// A world kept between the inputs of one fuzzing process, with the number it served.
#[derive(Default)]
struct Reused {
    world: Option<World>,
    served: u32,
}

impl Reused {
    /// The kept world, or a fresh one (`build`) when there is none or it served `REUSE` inputs.
    fn take_world(&mut self, build: fn() -> World) -> World {
        match self.world.take() {
            Some(w) if self.served < REUSE => {
                self.served += 1;
                w
            }
            _ => {
                self.served = 1;
                build()
            }
        }
    }

    fn give_back(&mut self, w: World) {
        self.world = Some(w);
    }
}

thread_local! {
    static DOORS: RefCell<Reused> = RefCell::default();
    static HOOKS: RefCell<Reused> = RefCell::default();
}

impl World {
    /// Whether the next input may run on this world: both tokens still open the command door
    /// and the waiting instance still waits.
    fn intact(&self) -> bool {
        let query = |token: &str| {
            let req = Request::post("/api/v1/execute")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::from(
                    json!({"cmd": "GetProcessInstanceByIdQuery", "data": {"instanceGuid": self.guid}})
                        .to_string(),
                ))
                .expect("a request");
            let (status, body) = self.send(req);
            status.is_success()
                && serde_json::from_slice::<Value>(&body)
                    .is_ok_and(|v| v["data"]["status"] == "WAITING")
        };
        query(ADMIN) && query(&self.bob)
    }
}

/// What every door answer must be, whatever was sent: a status below 500 (bad input is the
/// caller's fault; 500 means Baton failed or a command's thread died) and a JSON body that
/// carries no panic text.
fn check_answer(door: &str, status: StatusCode, body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body);
    assert!(
        !status.is_server_error(),
        "{door} answered {status} to bad input: {text}"
    );
    let v: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!("{door} answered {status} with a body that is not JSON ({e}): {text}")
    });
    assert!(
        !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
        "{door} answered panic text: {text}"
    );
    v
}

// ---------------------------------------------------------------------------------------------
// The command doors

/// Requests separated by this line run in order on the same runtime (so an input can deploy,
/// then start, then signal).
pub const NEXT_REQUEST: &str = "\n--- next request ---\n";

/// The command doors' JSON. Each request of the input is one line of choice, then the body:
/// the first byte picks the door and the caller (`/api/v1/execute`, `/api/core/cmd` and
/// `/api/bpm/cmd` as the administrator, `/api/bpm/cmd` and `/api/v1/execute` as bob, who may
/// do little, and `/hooks/{token}` of the webhook application); `@guid` in the body stands for
/// the waiting instance's guid.
pub fn doors(data: &[u8]) {
    doors_on(&World::new(), data);
}

/// `doors` on a runtime kept from earlier inputs (see `Reused`). After each input the world is
/// checked: when the administrator's or bob's token no longer opens a door, or the waiting
/// instance no longer waits, the next input gets a fresh one, so that what one input changed
/// does not hide the paths of the next ones.
pub fn doors_reusing(data: &[u8]) {
    DOORS.with(|cell| {
        let mut reused = cell.borrow_mut();
        let w = reused.take_world(World::new);
        doors_on(&w, data);
        if w.intact() {
            reused.give_back(w);
        }
    });
}

fn doors_on(w: &World, data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for request in text.split(NEXT_REQUEST).take(8) {
        let mut chars = request.chars();
        let Some(pick) = chars.next() else { continue };
        let body = chars.as_str().replace("@guid", &w.guid);
        let hook = format!("/hooks/{}", w.hook);
        let (path, token) = match pick as u32 % 6 {
            0 => ("/api/v1/execute", Some(ADMIN)),
            1 => ("/api/core/cmd", Some(ADMIN)),
            2 => ("/api/bpm/cmd", Some(ADMIN)),
            3 => ("/api/bpm/cmd", Some(w.bob.as_str())),
            4 => ("/api/v1/execute", Some(w.bob.as_str())),
            _ => (hook.as_str(), None),
        };
        let mut req = Request::post(path).header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req.body(Body::from(body)).expect("a request");
        let (status, answer) = w.send(req);
        check_answer(path, status, &answer);
    }
    // Whatever ran, the runtime still answers a plain query.
    let after = w
        .runtime()
        .execute("GetProcessDefinitionListQuery", &json!({}), None);
    assert!(
        after.is_successful,
        "the runtime stopped answering: {}",
        after.message
    );
}

// ---------------------------------------------------------------------------------------------
// The webhook doors and their signature schemes

/// The configurations every webhook world has: (url, verification, how it runs).
fn webhook_configs() -> Vec<(&'static str, Value, Value)> {
    let std_secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(STANDARD_KEY)
    );
    let code = json!({"executionType": 2, "executionCode": "request.body"});
    vec![
        (
            "/webhook/standard",
            json!({"scheme": "standardWebhooks", "secret": std_secret}),
            code.clone(),
        ),
        (
            "/webhook/paystack",
            json!({"scheme": "paystack", "secret": PAYSTACK}),
            json!({"executionType": 0, "commandName": "GetProcessInstanceListQuery",
                   "commandData": {"status": "body.status", "pageSize": "body.size"}}),
        ),
        (
            "/webhook/stripe",
            json!({"scheme": "stripe", "secret": STRIPE}),
            json!({"executionType": 3, "processKey": "LoanApprovalProcess"}),
        ),
        (
            "/webhook/flutterwave",
            json!({"scheme": "flutterwave", "secret": FLUTTERWAVE}),
            json!({"executionType": 1, "commandChain": [
                {"commandName": "GetUserListQuery", "commandData": {}},
                {"commandName": "CorrelateMessageCommand",
                 "commandData": {"messageName": "$request.body.message", "correlationKey": "$request.body.key"}}
            ]}),
        ),
        (
            "/webhook/hmac",
            json!({"scheme": "hmacSha256", "secret": HMAC}),
            code.clone(),
        ),
        (
            "/webhook/hub",
            json!({"scheme": "hmacSha256", "secret": HMAC, "header": "x-hub-signature-256"}),
            code.clone(),
        ),
        ("/webhook/open", json!({"scheme": "none"}), code),
    ]
}

const STANDARD_KEY: &[u8] = b"a standard webhooks key";
const PAYSTACK: &str = "sk_test_fuzz";
const STRIPE: &str = "whsec_stripe_fuzz";
const FLUTTERWAVE: &str = "flutterwave-hash";
const HMAC: &str = "hmac-secret";

fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

fn hmac512(key: &[u8], body: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<sha2::Sha512>::new_from_slice(key).expect("any key length");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.trim())
}

/// The header a sender that knows the secret would add for this configuration, computed from
/// the request's own id and timestamp headers (None when it lacks what the scheme signs).
fn signature(config: usize, headers: &[(String, String)], body: &[u8]) -> Option<(String, String)> {
    match config {
        0 => {
            let id = header(headers, "webhook-id")?;
            let ts = header(headers, "webhook-timestamp")?;
            let mac = hmac256(
                STANDARD_KEY,
                &[id.as_bytes(), b".", ts.as_bytes(), b".", body],
            );
            let sig = base64::engine::general_purpose::STANDARD.encode(mac);
            Some(("webhook-signature".into(), format!("v1,{sig}")))
        }
        1 => Some((
            "x-paystack-signature".into(),
            hex::encode(hmac512(PAYSTACK.as_bytes(), body)),
        )),
        2 => {
            let ts = header(headers, "stripe-timestamp")?;
            let mac = hmac256(STRIPE.as_bytes(), &[ts.as_bytes(), b".", body]);
            Some((
                "stripe-signature".into(),
                format!("t={ts},v1={}", hex::encode(mac)),
            ))
        }
        3 => Some(("verif-hash".into(), FLUTTERWAVE.into())),
        4 => Some((
            "x-signature".into(),
            format!("sha256={}", hex::encode(hmac256(HMAC.as_bytes(), &[body]))),
        )),
        5 => Some((
            "x-hub-signature-256".into(),
            hex::encode(hmac256(HMAC.as_bytes(), &[body])),
        )),
        _ => None,
    }
}

/// A world with one webhook configuration per signature scheme (and each execution type).
fn webhook_world() -> World {
    let w = World::new();
    for (url, verification, run) in webhook_configs() {
        let mut config = json!({"name": url, "url": url, "verification": verification});
        if let (Some(c), Value::Object(r)) = (config.as_object_mut(), run) {
            c.extend(r);
        }
        ok(w.runtime(), "CreateWebHookConfigCommand", config);
    }
    w
}

/// The incoming webhook doors and their signature schemes. The input is: a byte that picks
/// the configuration (standard webhooks, paystack, stripe, flutterwave, hmacSha256 with its
/// default header and with a named one, none), a byte of flags (1: the harness signs the body
/// as a sender with the secret would, from the request's own id and timestamp headers; 2: the
/// request comes from 127.0.0.1), then `name: value` header lines, an empty line and the body.
/// `stripe-timestamp` is the harness's input for the `t=` it signs; `@now` in a header value
/// stands for the runtime's clock in seconds.
///
/// Rules checked: every answer is below 500, JSON, without panic text; a request signed with
/// the right secret and a timestamp within the tolerance is never refused as unsigned (401).
pub fn webhook_signatures(data: &[u8]) {
    if data.len() >= 2 {
        webhook_signatures_on(&webhook_world(), data);
    }
}

/// `webhook_signatures` on a runtime kept from earlier inputs (see `Reused`). Webhook requests
/// cannot change the configurations or the users; `REUSE` stays below the rate limit's burst
/// (100), so requests "from 127.0.0.1" are never refused for the earlier ones.
pub fn webhook_signatures_reusing(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    HOOKS.with(|cell| {
        let mut reused = cell.borrow_mut();
        let w = reused.take_world(webhook_world);
        webhook_signatures_on(&w, data);
        reused.give_back(w);
    });
}

fn webhook_signatures_on(w: &World, data: &[u8]) {
    let [pick, flags, rest @ ..] = data else {
        return;
    };
    let config = *pick as usize % 7;
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (rest, &[][..]),
    };
    let now = VirtualClock::default_start().as_second();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in String::from_utf8_lossy(head).lines() {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim().replace("@now", &now.to_string());
            let name = name.trim().to_ascii_lowercase();
            // Only what a client can send (the request builder refuses an invalid name or
            // value): a header the request will not carry must not be what gets signed.
            if HeaderName::from_bytes(name.as_bytes()).is_ok()
                && HeaderValue::from_str(&value).is_ok()
            {
                headers.push((name, value));
            }
        }
    }
    let signed = flags & 1 == 1;
    if signed {
        if let Some((name, value)) = signature(config, &headers, body) {
            headers.retain(|(n, _)| *n != name);
            headers.push((name, value));
        }
    }
    let url = webhook_configs()[config].0;
    let mut req = Request::post(url);
    let mut sent: Vec<(String, String)> = Vec::new();
    for (name, value) in &headers {
        // Only what a client can send: the request builder refuses an invalid name or value.
        let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            continue;
        };
        req = req.header(n, v);
        sent.push((name.clone(), value.clone()));
    }
    let Ok(mut req) = req.body(Body::from(body.to_vec())) else {
        return;
    };
    if flags & 2 == 2 {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    }
    let (status, answer) = w.send(req);
    check_answer(url, status, &answer);
    if signed && status == StatusCode::UNAUTHORIZED {
        // A request the harness signed was refused: only right when what it signed was not
        // what the scheme checks (a missing or stale timestamp; a repeated id, timestamp or
        // signature header, which the door reads as one value joined with commas).
        let fresh = |name: &str| {
            header(&sent, name)
                .and_then(|t| t.parse::<i64>().ok())
                .is_some_and(|t| (now as i128 - t as i128).abs() <= 300)
        };
        let once = |name: &str| sent.iter().filter(|(n, _)| n == name).count() == 1;
        let expected = match config {
            0 => {
                !(fresh("webhook-timestamp")
                    && once("webhook-timestamp")
                    && once("webhook-id")
                    && once("webhook-signature"))
            }
            2 => !(fresh("stripe-timestamp") && once("stripe-signature")),
            _ => false,
        };
        assert!(
            expected,
            "{url} refused a correctly signed request: {}",
            String::from_utf8_lossy(&answer)
        );
    }
}
