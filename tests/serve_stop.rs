//! `baton serve` as a process: the web UI at `/`, one server per database, and a clean stop on
//! SIGINT (Ctrl-C) and SIGTERM with exit code 0, within seconds even while it is busy, with
//! nothing acknowledged lost.

#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Serve {
    child: Child,
    addr: String,
}

/// Starts `baton serve` on a free port; answers once it printed its web UI line.
fn serve(db: &std::path::Path) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["serve", "--db", db.to_str().unwrap()])
        .args([
            "--listen",
            "127.0.0.1:0",
            "--token",
            "stop-test-token-0123456789",
        ])
        .env_remove("BATON_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let addr = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("serve printed no web UI line; it printed {seen:?}"));
        if let Some(url) = line.strip_prefix("web UI: http://") {
            break url.trim_end_matches('/').to_string();
        }
        seen.push(line);
    };
    assert!(
        seen.iter()
            .any(|l| l.contains(&format!("on http://{addr} "))),
        "{seen:?}"
    );
    Serve { child, addr }
}

fn get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Sends `signal` and waits (at most 30 s) for the exit.
fn stop(s: Serve, signal: i32) -> ExitStatus {
    stop_timed(s, signal).0
}

/// As `stop`, also answering how long the exit took after the signal.
fn stop_timed(s: Serve, signal: i32) -> (ExitStatus, Duration) {
    let Serve { mut child, .. } = s;
    let pid = child.id() as i32;
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let (tx, exited) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let sent = std::time::Instant::now();
    match exited.recv_timeout(Duration::from_secs(30)) {
        Ok(status) => (status.unwrap(), sent.elapsed()),
        Err(_) => {
            // SAFETY: as above; the test fails either way.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("serve did not stop within 30 s of signal {signal}");
        }
    }
}

#[test]
fn serve_shows_the_web_ui_refuses_a_second_server_and_stops_cleanly_on_signals() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    let first = serve(&db);
    let page = get(&first.addr, "/");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.to_ascii_lowercase()
            .contains("content-security-policy: default-src 'self'"),
        "{page}"
    );

    // A second server on the same database is refused, with the reason, and exit code 2.
    let second = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["serve", "--db", db.to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("BATON_TOKEN")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{said}");
    assert!(
        said.contains("another Baton is using this database"),
        "{said}"
    );
    assert!(said.contains(db.to_str().unwrap()), "{said}");

    // Ctrl-C: exit 0, the port closed.
    let addr = first.addr.clone();
    let status = stop(first, libc::SIGINT);
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(std::net::TcpStream::connect(&addr).is_err());

    // The database is free again; SIGTERM stops it the same way.
    let again = serve(&db);
    let status = stop(again, libc::SIGTERM);
    assert_eq!(status.code(), Some(0), "{status:?}");

    // A taken address is exit code 2 and names the address.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["serve", "--db", db.to_str().unwrap(), "--listen", &address])
        .env_remove("BATON_TOKEN")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains(&address), "{said}");
}

/// A one-letter administrator token is refused before anything is opened (exit 2, in words).
#[test]
fn a_guessable_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("weak.db");
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["serve", "--db", db.to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0", "--token", "a"])
        .env_remove("BATON_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at least 16 characters"), "{err}");
    assert!(!db.exists(), "nothing is created for a refused start");
}

/// BATON_ENVIRONMENT takes `sandbox` or `production` (seed 004); anything else is refused
/// before anything is opened, naming the variable and the value (exit 2).
#[test]
fn an_unknown_environment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("env.db");
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["serve", "--db", db.to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0"])
        .env("BATON_ENVIRONMENT", "staging")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("BATON_ENVIRONMENT") && err.contains("'staging'"),
        "{err}"
    );
    assert!(!db.exists(), "nothing is created for a refused start");
}

const TOKEN: &str = "stop-test-token-0123456789";

/// A bus command over a fresh connection: the envelope, or None once the server is gone.
fn execute(addr: &str, cmd: &str, data: serde_json::Value) -> Option<serde_json::Value> {
    let body = serde_json::json!({"cmd": cmd, "data": data}).to_string();
    let out = support::post(addr, Some(TOKEN), &body)?;
    let (_, body) = out.split_once("\r\n\r\n")?;
    serde_json::from_str(body).ok()
}

fn deploy(addr: &str, xml: &str) {
    let answer = execute(
        addr,
        "DeployProcessDefinitionCommand",
        serde_json::json!({"bpmnXml": xml}),
    )
    .unwrap();
    assert_eq!(answer["isSuccessful"], true, "{answer}");
}

/// Ctrl-C while clients start instances and the scheduler fires timers: the process ends
/// within a few seconds (every loop stops: a loop left running would keep it alive), and every
/// start it acknowledged is there after a restart.
#[test]
fn ctrl_c_stops_a_busy_server_promptly_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("busy.db");
    let first = serve(&db);
    let addr = first.addr.clone();
    // Blink: a timer a few milliseconds long, so the scheduler fires all the time. Park: a user
    // task, so an acknowledged instance stays to be found.
    deploy(
        &addr,
        r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="Blink" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition><bpmn:timeDuration>PT0.005S</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="w"/>
    <bpmn:sequenceFlow id="f2" sourceRef="w" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#,
    );
    deploy(
        &addr,
        r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="Park" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="t"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#,
    );

    // Two clients start instances until the server is gone; each keeps what was acknowledged.
    let (acked_tx, acked) = mpsc::channel::<(String, String)>();
    let clients: Vec<_> = ["Blink", "Park"]
        .into_iter()
        .map(|key| {
            let (addr, acked_tx) = (addr.clone(), acked_tx.clone());
            std::thread::spawn(move || {
                let data = serde_json::json!({"processKey": key});
                while let Some(answer) = execute(&addr, "StartProcessInstanceCommand", data.clone())
                {
                    if answer["isSuccessful"] == true {
                        let guid = answer["data"]["instanceGuid"].as_str().unwrap().to_string();
                        if acked_tx.send((key.to_string(), guid)).is_err() {
                            return;
                        }
                    }
                }
            })
        })
        .collect();
    drop(acked_tx);
    let mut seen = Vec::new();
    while seen.len() < 60 {
        seen.push(
            acked
                .recv_timeout(Duration::from_secs(60))
                .expect("starts are acknowledged"),
        );
    }

    let (status, took) = stop_timed(first, libc::SIGINT);
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(
        took < Duration::from_secs(5),
        "serve took {took:?} to stop after Ctrl-C"
    );
    for c in clients {
        c.join().unwrap();
    }
    seen.extend(acked.try_iter());

    // Every acknowledged start is there after a restart; the parked ones still wait.
    let again = serve(&db);
    for (key, guid) in &seen {
        let answer = execute(
            &again.addr,
            "GetProcessInstanceByIdQuery",
            serde_json::json!({"instanceGuid": guid}),
        )
        .unwrap();
        assert_eq!(
            answer["isSuccessful"], true,
            "{key} {guid} was acknowledged, then lost: {answer}"
        );
        if key == "Park" {
            assert_eq!(answer["data"]["status"], "WAITING", "{answer}");
        }
    }
    let (status, took) = stop_timed(again, libc::SIGTERM);
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(
        took < Duration::from_secs(5),
        "serve took {took:?} to stop after SIGTERM"
    );
}
