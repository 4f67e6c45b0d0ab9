//! The webhook path in process, without HTTP: where `cargo xtask bench-webhook`'s time goes
//! once the socket and the HTTP parsing are taken away.
//!
//! `webhook_path DB N TASKS MODE` opens a runtime on a new SQLite file DB (synchronous=FULL, as
//! `baton serve`), deploys the bench's model and its Paystack-style configuration (signature,
//! JMESPath mapping, ReturnCallbackCommand), starts N instances waiting on references R-0 ..
//! R-{N-1}, then sends one signed `charge.success` request for each from TASKS tokio tasks
//! (two worker threads, as on a 2-core machine), in reference order. MODE says how a request is
//! run:
//! - `worker`: as the HTTP door runs it (`receive_webhook_off_workers`): on the task's worker,
//!   or again on a blocking thread when it could block there;
//! - `blocking`: everything up to the wait for the commit on a blocking thread (the door before
//!   it computed callbacks on its worker).
//!
//! With a fifth argument `start`, the requests go instead to a StartProcess configuration
//! (type 3, the same signature) that starts one instance of the model per request, and no
//! instances are started first.
//!
//! It prints the requests per second, the process's CPU time per request (user + system, all
//! threads) and the bytes it wrote per request (the write-ahead log and its checkpoints).
//! Linux only (it reads /proc/self).

use baton_runtime::webhooks::IncomingWebhook;
use baton_runtime::{Caller, Runtime};
use hmac::{Hmac, Mac};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const MODEL: &str = include_str!("../../../xtask/bench/WebhookBench.bpmn");
const SECRET: &str = "sk_test_bench_webhook_0123456789abcdef";
const PATH: &str = "/webhook/bench/paystack";
const START_PATH: &str = "/webhook/bench/start";

/// CPU seconds this process used (user + system), from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields[i].parse::<f64>().expect("a number of clock ticks");
    (ticks(11) + ticks(12)) / 100.0
}

/// Bytes this process wrote, from /proc/self/io.
fn bytes_written() -> f64 {
    let io = std::fs::read_to_string("/proc/self/io").expect("/proc/self/io");
    io.lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("wchar in /proc/self/io")
}

fn request(i: usize, path: &str) -> IncomingWebhook {
    let body = format!(
        r#"{{"event":"charge.success","data":{{"id":{i},"status":"success","reference":"R-{i}","amount":50000,"currency":"NGN","customer":{{"email":"payer@example.com"}}}}}}"#
    );
    let mut mac = Hmac::<sha2::Sha512>::new_from_slice(SECRET.as_bytes()).expect("any key");
    mac.update(body.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    IncomingWebhook {
        key: None,
        method: "POST".into(),
        path: path.into(),
        headers: vec![
            ("host".into(), "127.0.0.1".into()),
            ("content-type".into(), "application/json".into()),
            ("x-paystack-signature".into(), signature),
        ],
        query: Default::default(),
        remote: Some(std::net::Ipv4Addr::LOCALHOST.into()),
        body: Some(body.into_bytes()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (db, n, tasks, mode, starts) = match args.as_slice() {
        [_, db, n, tasks, mode] => (db, n, tasks, mode, false),
        [_, db, n, tasks, mode, what] if what == "start" => (db, n, tasks, mode, true),
        _ => {
            eprintln!("usage: webhook_path DB N TASKS worker|blocking [start]");
            std::process::exit(2);
        }
    };
    let n: usize = n.parse().expect("N: a whole number");
    let tasks: usize = tasks.parse().expect("TASKS: a whole number");
    let on_worker = match mode.as_str() {
        "worker" => true,
        "blocking" => false,
        _ => panic!("MODE: worker or blocking"),
    };
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{db}{suffix}"));
    }
    let rt = Arc::new(
        Runtime::open(
            std::path::Path::new(db),
            baton_store::Durability::Full,
            Arc::new(baton_runtime::SystemClock),
        )
        .expect("a runtime"),
    );
    let owner = Caller::owner();
    let setup = |cmd: &str, data: serde_json::Value| {
        let reply = rt.execute_as(cmd, &data, &owner);
        assert!(reply.is_successful, "{cmd}: {}", reply.message);
    };
    setup("DeployProcessDefinitionCommand", json!({"bpmnXml": MODEL}));
    setup(
        "CreateWebHookConfigCommand",
        json!({"name": "bench", "url": PATH, "executionType": 0,
               "commandName": "ReturnCallbackCommand",
               "commandData": {"correlationKey": "body.data.reference",
                               "result": "{status: body.data.status, amount: body.data.amount, reference: body.data.reference}"},
               "verification": {"scheme": "paystack", "secret": SECRET}}),
    );
    setup(
        "CreateWebHookConfigCommand",
        json!({"name": "bench-start", "url": START_PATH, "executionType": 3,
               "processKey": "WebhookBench", "variables": {"reference": "started-by-webhook"},
               "verification": {"scheme": "paystack", "secret": SECRET}}),
    );
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // The instances, started from the same tasks (none when the requests start them).
    let n_started = if starts { 0 } else { n };
    let next = Arc::new(AtomicUsize::new(0));
    tokio.block_on(async {
        let mut all = Vec::new();
        for _ in 0..tasks {
            let (rt, next) = (rt.clone(), next.clone());
            all.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n_started {
                        return;
                    }
                    let data = json!({"processKey": "WebhookBench", "variables": {"reference": format!("R-{i}")}});
                    let reply = rt
                        .execute_async("StartProcessInstanceCommand", &data, &Caller::owner())
                        .await;
                    assert!(reply.is_successful, "start {i}: {}", reply.message);
                }
            }));
        }
        for t in all {
            t.await.expect("a start task");
        }
    });
    // Signed before the clock starts, taken in reference order.
    let path = if starts { START_PATH } else { PATH };
    let mut requests: Vec<IncomingWebhook> = (0..n).map(|i| request(i, path)).collect();
    requests.reverse();
    let requests = Arc::new(Mutex::new(requests));
    let (cpu, bytes, wall) = (cpu_seconds(), bytes_written(), std::time::Instant::now());
    tokio.block_on(async {
        let mut all = Vec::new();
        for _ in 0..tasks {
            let (rt, requests) = (rt.clone(), requests.clone());
            all.push(tokio::spawn(async move {
                loop {
                    let Some(r) = requests.lock().expect("the requests").pop() else {
                        return;
                    };
                    let answer = if on_worker {
                        rt.clone().receive_webhook_off_workers(r).await
                    } else {
                        rt.clone().receive_webhook_blocking_first(r).await
                    }
                    .expect("the request ran");
                    assert_eq!(answer.status, 200, "{}", answer.body);
                }
            }));
        }
        for t in all {
            t.await.expect("a request task");
        }
    });
    let wall = wall.elapsed().as_secs_f64();
    let (cpu, bytes) = (cpu_seconds() - cpu, bytes_written() - bytes);
    println!(
        "{mode}{}: {n} requests from {tasks} tasks: {:.0} requests/s, {:.1} µs CPU and {:.0} bytes written per request",
        if starts { " (starts)" } else { "" },
        n as f64 / wall,
        cpu * 1e6 / n as f64,
        bytes / n as f64
    );
}
