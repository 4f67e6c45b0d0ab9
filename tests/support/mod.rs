//! A real `baton serve` child for the CLI tests: started on a free loopback port, killed when
//! the test ends (also when it fails, so no server outlives its test and holds its pipes).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

pub struct Served {
    child: Child,
    /// host:port it listens on.
    pub addr: String,
    /// What it printed before the address line (the first start's token line).
    pub before: Vec<String>,
}

impl Served {
    /// Starts `baton serve --db DB --listen 127.0.0.1:0 EXTRA...` and waits for its address.
    pub fn start(db: &std::path::Path, extra: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .args([
                "serve",
                "--db",
                db.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .env_remove("BATON_TOKEN")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map_while(Result::ok);
        let mut before = Vec::new();
        let addr = loop {
            let Some(l) = lines.next() else {
                let _ = child.kill();
                panic!("serve exited before printing its address; it printed {before:?}");
            };
            if let Some(rest) = l.split("http://").nth(1) {
                break rest.split_whitespace().next().unwrap().to_string();
            }
            before.push(l);
        };
        Served {
            child,
            addr,
            before,
        }
    }

    /// Kills the server with SIGKILL: no shutdown path runs.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `POST /api/v1/execute` over a fresh connection; the raw HTTP answer, or `None` when the
    /// server is gone.
    pub fn post(&self, token: Option<&str>, body: &str) -> Option<String> {
        post(&self.addr, token, body)
    }
}

impl Served {
    /// Runs a bus command and answers the JSON envelope (`None` when the server is gone).
    pub fn execute(
        &self,
        token: &str,
        cmd: &str,
        data: serde_json::Value,
    ) -> Option<serde_json::Value> {
        let out = self.post(
            Some(token),
            &serde_json::json!({"cmd": cmd, "data": data}).to_string(),
        )?;
        let (_, body) = out.split_once("\r\n\r\n")?;
        serde_json::from_str(body).ok()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn post(addr: &str, token: Option<&str>, body: &str) -> Option<String> {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    write!(
        s,
        "POST /api/v1/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}
