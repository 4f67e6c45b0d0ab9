//! The least a durable webhook receiver can do, as a yardstick for `cargo xtask bench-webhook`.
//!
//! For each `POST /webhook/bench/paystack` it checks the Paystack signature (hex HMAC-SHA512 of
//! the body), reads `data.reference` from the JSON, and, in a transaction it commits under
//! `synchronous=FULL` before answering 200, marks the pending row of that reference completed
//! and logs the request. Commits are grouped: one writer thread takes every request waiting
//! and commits them together, as Baton's group commit does. Nothing else: no process, no
//! engine step, no history, no mapping. What Baton answers per second next to this (and next
//! to a bare echo) says how much of the gap to the echo any durable receiver pays on this
//! machine, and how much is Baton's own.
//!
//! `webhook_floor ADDR DB SECRET PREFIX COUNT`: serves on ADDR with a new SQLite file DB in
//! which the references PREFIX0 .. PREFIX{COUNT-1} are pending.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use rusqlite::{params, Connection};
use std::sync::mpsc;
use tokio::sync::oneshot;

type Job = (String, Bytes, oneshot::Sender<StatusCode>);

#[derive(Clone)]
struct Floor {
    secret: std::sync::Arc<Vec<u8>>,
    writer: mpsc::Sender<Job>,
}

async fn hook(
    State(f): State<Floor>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let signed = headers
        .get("x-paystack-signature")
        .and_then(|v| hex::decode(v.as_bytes()).ok());
    let Some(signature) = signed else {
        return (StatusCode::UNAUTHORIZED, "unsigned");
    };
    let mut mac = Hmac::<sha2::Sha512>::new_from_slice(&f.secret).expect("any key length");
    mac.update(&body);
    if mac.verify_slice(&signature).is_err() {
        return (StatusCode::UNAUTHORIZED, "bad signature");
    }
    let reference = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.pointer("/data/reference")?.as_str().map(str::to_string));
    let Some(reference) = reference else {
        return (StatusCode::UNPROCESSABLE_ENTITY, "no data.reference");
    };
    let (tx, rx) = oneshot::channel();
    if f.writer.send((reference, body, tx)).is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "writer stopped");
    }
    match rx.await {
        Ok(StatusCode::OK) => (StatusCode::OK, "ok"),
        Ok(other) => (other, "not pending"),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "writer failed"),
    }
}

fn open(db: &str, prefix: &str, count: u64) -> rusqlite::Result<Connection> {
    let c = Connection::open(db)?;
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE pending(id INTEGER PRIMARY KEY, reference TEXT NOT NULL UNIQUE,
                              status TEXT NOT NULL, result TEXT);
         CREATE TABLE requests(id INTEGER PRIMARY KEY, at REAL NOT NULL, reference TEXT NOT NULL,
                               status INTEGER NOT NULL, body TEXT NOT NULL);",
    )?;
    let tx = c.unchecked_transaction()?;
    {
        let mut s = tx.prepare("INSERT INTO pending(reference, status) VALUES (?1, 'Pending')")?;
        for i in 0..count {
            s.execute([format!("{prefix}{i}")])?;
        }
    }
    tx.commit()?;
    Ok(c)
}

/// Commits every request waiting, together, then answers each.
fn write_all(c: &mut Connection, jobs: mpsc::Receiver<Job>) -> rusqlite::Result<()> {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        batch.extend(jobs.try_iter().take(255));
        let tx = c.transaction()?;
        let mut answers = Vec::with_capacity(batch.len());
        {
            let mut done = tx.prepare_cached(
                "UPDATE pending SET status = 'Completed', result = ?2
                 WHERE reference = ?1 AND status = 'Pending'",
            )?;
            let mut log = tx.prepare_cached(
                "INSERT INTO requests(at, reference, status, body) VALUES (julianday('now'), ?1, ?2, ?3)",
            )?;
            for (reference, body, reply) in batch {
                let text = String::from_utf8_lossy(&body);
                let status = if done.execute(params![reference, text])? == 1 {
                    200
                } else {
                    422
                };
                log.execute(params![reference, status, text])?;
                answers.push((reply, status));
            }
        }
        tx.commit()?;
        for (reply, status) in answers {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let _ = reply.send(code);
        }
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, db, secret, prefix, count] = &args[..] else {
        eprintln!("usage: webhook_floor ADDR DB SECRET PREFIX COUNT");
        std::process::exit(2);
    };
    let count: u64 = count.parse().unwrap_or_else(|_| {
        eprintln!("COUNT: '{count}' is not a number");
        std::process::exit(2);
    });
    let mut conn = open(db, prefix, count).unwrap_or_else(|e| {
        eprintln!("{db}: {e}");
        std::process::exit(1);
    });
    let (writer, jobs) = mpsc::channel();
    std::thread::spawn(move || {
        if let Err(e) = write_all(&mut conn, jobs) {
            eprintln!("the writer stopped: {e}");
            std::process::exit(1);
        }
    });
    let state = Floor {
        secret: std::sync::Arc::new(secret.clone().into_bytes()),
        writer,
    };
    let app = Router::new()
        .route("/webhook/bench/paystack", post(hook))
        .with_state(state);
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr.as_str())
            .await
            .unwrap_or_else(|e| {
                eprintln!("{addr}: {e}");
                std::process::exit(1);
            });
        println!("listening on {}", listener.local_addr().expect("bound"));
        axum::serve(listener, app).await.expect("serve");
    });
}
