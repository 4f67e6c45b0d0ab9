//! `baton serve` as a process: the web UI at `/`, one server per database, and a clean stop on
//! SIGINT (Ctrl-C) and SIGTERM with exit code 0.

#![cfg(unix)]

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
    let Serve { mut child, .. } = s;
    let pid = child.id() as i32;
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let (tx, exited) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    match exited.recv_timeout(Duration::from_secs(30)) {
        Ok(status) => status.unwrap(),
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
