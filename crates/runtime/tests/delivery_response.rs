//! A delivery keeps the start of its receiver's answer (`lastResponseBody`: the first 2 KiB as
//! text, any status) from a real HTTP receiver on 127.0.0.1 over a real SQLite file: in
//! GetDeliveryListQuery, RedeliverCommand and SendTestEventCommand answers; a long body is cut
//! at 2 KiB, bytes that are not UTF-8 are replaced, and an attempt that got no answer keeps no
//! body (its error says why). The body survives a restart.

use baton_engine::{Clock, VirtualClock};
use baton_runtime::Runtime;
use baton_store::Durability;
use jiff::SignedDuration;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// The answers a receiver still has to give: (status, body), in order.
type Queue = Arc<Mutex<VecDeque<(u16, Vec<u8>)>>>;

/// A receiver on 127.0.0.1 answering the queued (status, body) pairs in order, then 200 with
/// an empty body; each request's body goes down `got`.
struct Answering {
    url: String,
    answers: Queue,
    got: mpsc::Receiver<String>,
}

impl Answering {
    fn start() -> Answering {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let answers: Queue = Arc::default();
        let queued = answers.clone();
        let (tx, got) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0usize;
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        if k.trim().eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                let (status, answer) = queued.lock().unwrap().pop_front().unwrap_or((200, vec![]));
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    answer.len()
                );
                let _ = stream.write_all(&answer);
                let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
            }
        });
        Answering { url, answers, got }
    }

    fn answer(&self, status: u16, body: &[u8]) {
        self.answers
            .lock()
            .unwrap()
            .push_back((status, body.to_vec()));
    }

    /// Waits for the next request (the sender waits for the answer, so it has arrived).
    fn next(&self) -> String {
        self.got
            .recv_timeout(Duration::from_secs(20))
            .expect("a request")
    }
}

const MODEL: &str = r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="Review_Flow" isExecutable="true">
    <bpmn:startEvent id="Start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="Review"/>
    <bpmn:userTask id="Review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Review" targetRef="End"/>
    <bpmn:endEvent id="End"/>
  </bpmn:process>
</bpmn:definitions>"#;

fn open(path: &Path, clock: Arc<VirtualClock>) -> Runtime {
    Runtime::open(path, Durability::Normal, clock).unwrap()
}

fn run(rt: &Runtime, cmd: &str, data: Value) -> Value {
    let r = rt.execute(cmd, &data, None);
    assert!(r.is_successful, "{cmd}: {r:?}");
    r.data
}

fn only_delivery(rt: &Runtime) -> Value {
    let list = run(rt, "GetDeliveryListQuery", json!({"pageSize": 10}));
    assert_eq!(list["totalCount"], 1, "{list}");
    list["items"][0].clone()
}

#[test]
fn each_attempt_keeps_the_start_of_the_receivers_answer_in_every_answer_that_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let clock = Arc::new(VirtualClock::new(VirtualClock::default_start()));
    let rt = open(&path, clock.clone());
    let rx = Answering::start();
    run(
        &rt,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": MODEL}),
    );
    let sub = run(
        &rt,
        "CreateEventSubscriptionCommand",
        json!({"url": rx.url, "events": ["workflow.state.changed"]}),
    );

    // A failing answer keeps its body beside its status code.
    rx.answer(503, b"the receiver is down for maintenance");
    run(
        &rt,
        "StartProcessInstanceCommand",
        json!({"processKey": "Review_Flow"}),
    );
    assert_eq!(rt.deliver_due(), 1);
    rx.next();
    let d = only_delivery(&rt);
    assert_eq!(
        (&d["status"], &d["lastStatusCode"], &d["lastResponseBody"]),
        (
            &json!("Pending"),
            &json!(503),
            &json!("the receiver is down for maintenance")
        ),
        "{d}"
    );
    let id = d["id"].as_str().unwrap().to_string();

    // The retry's 2xx answer replaces it.
    rx.answer(200, b"thanks");
    clock.set(clock.now() + SignedDuration::from_secs(10));
    assert_eq!(rt.deliver_due(), 1);
    rx.next();
    let d = only_delivery(&rt);
    assert_eq!(
        (&d["status"], &d["lastResponseBody"]),
        (&json!("Delivered"), &json!("thanks"))
    );

    // RedeliverCommand answers the new body: a long one is cut at 2 KiB.
    let long = "x".repeat(5000);
    rx.answer(200, long.as_bytes());
    let r = run(&rt, "RedeliverCommand", json!({"id": id}));
    rx.next();
    assert_eq!(r["lastResponseBody"], json!("x".repeat(2048)), "{r}");

    // An empty answer is an empty body, not none.
    let r = run(&rt, "RedeliverCommand", json!({"id": id}));
    rx.next();
    assert_eq!(r["lastResponseBody"], json!(""), "{r}");

    // SendTestEventCommand answers it too; bytes that are not UTF-8 are replaced.
    rx.answer(400, b"bad \xff request");
    let t = run(
        &rt,
        "SendTestEventCommand",
        json!({"subscriptionId": sub["id"]}),
    );
    rx.next();
    assert_eq!(
        (&t["lastStatusCode"], &t["lastResponseBody"]),
        (&json!(400), &json!("bad \u{fffd} request")),
        "{t}"
    );

    // It is kept in the database: the same after a restart.
    drop(rt);
    let rt = open(&path, clock.clone());
    let list = run(
        &rt,
        "GetDeliveryListQuery",
        json!({"eventName": "webhook.test"}),
    );
    assert_eq!(
        list["items"][0]["lastResponseBody"],
        json!("bad \u{fffd} request")
    );
}

#[test]
fn an_attempt_without_an_answer_keeps_no_body() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock::new(VirtualClock::default_start()));
    let rt = open(&dir.path().join("r.db"), clock.clone());
    let rx = Answering::start();
    // A port nobody listens on: bind one, then let it go.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    let sub = run(
        &rt,
        "CreateEventSubscriptionCommand",
        json!({"url": rx.url, "events": ["workflow.completed"]}),
    );
    rx.answer(500, b"oops");
    let d = run(
        &rt,
        "SendTestEventCommand",
        json!({"subscriptionId": sub["id"]}),
    );
    rx.next();
    assert_eq!(d["lastResponseBody"], "oops");
    assert_eq!(d["lastError"], "the receiver answered HTTP 500");

    let gone = run(
        &rt,
        "CreateEventSubscriptionCommand",
        json!({"url": closed, "events": ["workflow.completed"]}),
    );
    let d = run(
        &rt,
        "SendTestEventCommand",
        json!({"subscriptionId": gone["id"]}),
    );
    assert_eq!(d["status"], "Pending", "{d}");
    assert_eq!(d["lastStatusCode"], Value::Null, "{d}");
    assert_eq!(d["lastResponseBody"], Value::Null, "{d}");
    assert!(
        d["lastError"].as_str().is_some_and(|e| !e.is_empty()),
        "{d}"
    );
}
