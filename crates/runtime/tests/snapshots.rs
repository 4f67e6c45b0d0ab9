//! The answers of every command on the bus, as snapshots: each test runs a short story through
//! `POST /api/v1/execute` (the axum router over a real `Runtime` on a real SQLite file, on a
//! virtual clock) and records every step's HTTP status and JSON envelope, success and the main
//! failures, in one snapshot per concept under `tests/snapshots/`. A change to any command's
//! wire format shows up as a diff of these files.
//!
//! What is not deterministic is redacted before comparing: instance guids (and any guid inside a
//! message) become `<guid-N>`, numbered in order of appearance so that answers about the same
//! instance still show it; API tokens, webhook keys and subscription secrets become fixed
//! placeholders (insta redactions, see `settings()`). Timestamps come from the virtual clock and
//! database ids from a fresh file, so they stay as they are.
//!
//! How a mismatch behaves (insta 1.43, pinned): with `INSTA_UPDATE` unset (insta's `auto`) a
//! snapshot that differs, or is missing, FAILS the test. Outside CI insta also writes the new
//! answer beside the old one as `*.snap.new` for review (never over the `.snap`); with `CI` set
//! (as CI runs) it writes nothing. So `cargo test` never accepts a new answer by itself. To
//! accept reviewed changes on purpose (`cargo insta` is not needed):
//!
//! ```text
//! INSTA_UPDATE=always cargo test -p baton-runtime --test snapshots
//! git diff crates/runtime/tests/snapshots/    # read every changed answer before committing
//! rm -f crates/runtime/tests/snapshots/*.snap.new
//! ```
//!
//! In CI, a setting that would write or force-pass snapshots (`INSTA_UPDATE` = always, force
//! or unseen; `INSTA_FORCE_PASS`) is refused by `guard_ci()` so a mismatch cannot pass there.

#[path = "snapshot_cases/definitions.rs"]
mod cases_definitions;
#[path = "snapshot_cases/doors.rs"]
mod cases_doors;
#[path = "snapshot_cases/engine_limits.rs"]
mod cases_engine_limits;
#[path = "snapshot_cases/events.rs"]
mod cases_events;
#[path = "snapshot_cases/forms.rs"]
mod cases_forms;
#[path = "snapshot_cases/instances.rs"]
mod cases_instances;
#[path = "snapshot_cases/jobs.rs"]
mod cases_jobs;
#[path = "snapshot_cases/messages.rs"]
mod cases_messages;
#[path = "snapshot_cases/simulation.rs"]
mod cases_simulation;
#[path = "snapshot_cases/users.rs"]
mod cases_users;
#[path = "snapshot_cases/webhooks.rs"]
mod cases_webhooks;

use baton_testkit::{Door, TestUser, ADMIN};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// A door with the administrator (`ADMIN`), bob (team TELLERS) and mary (team MANAGERS).
pub struct Story {
    pub door: Door,
    pub bob: TestUser,
    pub mary: TestUser,
    steps: Vec<Value>,
}

impl Default for Story {
    fn default() -> Self {
        Self::new()
    }
}

impl Story {
    pub fn new() -> Story {
        guard_ci();
        let door = Door::new();
        let bob = door.user("bob", &["TELLERS"]);
        let mary = door.user("mary", &["MANAGERS"]);
        Story {
            door,
            bob,
            mary,
            steps: Vec::new(),
        }
    }

    /// Runs `cmd` as the administrator, records the answer under `step`, and answers it.
    pub async fn admin(&mut self, step: &str, cmd: &str, data: Value) -> Value {
        self.call(step, ADMIN.to_string().as_str(), cmd, data).await
    }

    /// Runs `cmd` with `token`, records `{step, cmd, status, answer}`, and answers the envelope.
    pub async fn call(&mut self, step: &str, token: &str, cmd: &str, data: Value) -> Value {
        let (status, answer) = self.door.exec(token, cmd, data).await;
        self.steps.push(json!({
            "step": step,
            "cmd": cmd,
            "status": status.as_u16(),
            "answer": answer.clone(),
        }));
        answer
    }

    /// `POST path` without a token (the webhook doors); records `{step, path, status, answer}`.
    pub async fn post(&mut self, step: &str, path: &str, body: Value) -> Value {
        self.post_as(step, path, None, body).await
    }

    /// `POST path` with an optional bearer token; records `{step, path, status, answer}`.
    pub async fn post_as(
        &mut self,
        step: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> Value {
        let auth = token.map(|t| format!("Bearer {t}"));
        let (status, answer) = self
            .door
            .post(path, auth.as_deref(), body.to_string())
            .await;
        self.steps.push(json!({
            "step": step,
            "path": path,
            "status": status.as_u16(),
            "answer": answer.clone(),
        }));
        answer
    }

    /// Moves the virtual clock.
    pub fn advance(&self, secs: i64) {
        self.door.t.advance(secs);
    }

    /// Compares the recorded steps with the snapshot `name`.
    pub fn check(self, name: &str) {
        let steps = number_guids(Value::Array(self.steps));
        settings().bind(|| insta::assert_json_snapshot!(name, steps));
    }
}

/// Where the snapshots live and what is redacted.
fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s.add_redaction(".**.token", "[token]");
    s.add_redaction(".**.key", "[webhook key]");
    s.add_redaction(".**.secret", "[secret]");
    s
}

/// Refuses snapshot settings that would let a mismatch pass in CI.
fn guard_ci() {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    if !ci {
        return;
    }
    let update = std::env::var("INSTA_UPDATE").unwrap_or_default();
    assert!(
        !matches!(update.as_str(), "always" | "1" | "force" | "unseen"),
        "INSTA_UPDATE={update} would accept changed answers in CI; unset it"
    );
    assert!(
        std::env::var("INSTA_FORCE_PASS").is_err(),
        "INSTA_FORCE_PASS would pass changed answers in CI; unset it"
    );
}

/// Replaces every guid (in keys, strings and inside messages) with `<guid-N>`, N in order of
/// first appearance, and every 32-hex-digit key (webhook URLs) with `<key-N>` the same way.
fn number_guids(v: Value) -> Value {
    let mut seen = HashMap::new();
    walk(v, &mut seen)
}

fn walk(v: Value, seen: &mut HashMap<String, usize>) -> Value {
    match v {
        Value::String(s) => Value::String(replace_guids(&s, seen)),
        Value::Array(a) => Value::Array(a.into_iter().map(|x| walk(x, seen)).collect()),
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, x) in o {
                let k = replace_guids(&k, seen);
                let x = walk(x, seen);
                out.insert(k, x);
            }
            Value::Object(out)
        }
        other => other,
    }
}

fn replace_guids(s: &str, seen: &mut HashMap<String, usize>) -> String {
    let bytes = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < s.len() {
        let starts_word = i == 0 || !bytes[i - 1].is_ascii_hexdigit();
        if i + 36 <= s.len() && is_guid(&bytes[i..i + 36]) {
            let guid = &s[i..i + 36];
            let n = seen.len() + 1;
            let n = *seen.entry(guid.to_string()).or_insert(n);
            out.push_str(&format!("<guid-{n}>"));
            i += 36;
        } else if starts_word && hex_run(&bytes[i..]) == 32 {
            // A guid in its simple form: webhook keys in URLs (`/webhook/k/KEY`, `/hooks/wh_KEY`).
            let key = &s[i..i + 32];
            let n = seen.len() + 1;
            let n = *seen.entry(key.to_string()).or_insert(n);
            out.push_str(&format!("<key-{n}>"));
            i += 32;
        } else {
            let c = s[i..].chars().next().expect("a char");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn hex_run(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_hexdigit()).count()
}

fn is_guid(b: &[u8]) -> bool {
    b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

#[test]
fn guids_are_numbered_in_order_and_kept_apart() {
    let v = json!({"a": "3f2a0000-0000-4000-8000-000000000001",
                   "m": "instance 3f2a0000-0000-4000-8000-000000000002 and 3f2a0000-0000-4000-8000-000000000001",
                   "u": "/webhook/k/db53a44891584bb3b7c1bab8a9cd3a25",
                   "n": "not-a-guid"});
    assert_eq!(
        number_guids(v),
        json!({"a": "<guid-1>", "m": "instance <guid-2> and <guid-1>",
               "u": "/webhook/k/<key-3>", "n": "not-a-guid"})
    );
}

#[test]
fn every_command_on_the_bus_has_a_snapshot() {
    // The bus's commands, as `handler` in src/bus.rs lists them; each must appear in a story
    // below (checked against the snapshot files so a new command without one fails here).
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots");
    let mut all = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "snap") {
            all.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/bus.rs")).unwrap();
    let start = src.find("fn handler(").expect("the handler table");
    let table = &src[start..start + src[start..].find("_ => return None").unwrap()];
    let mut missing = Vec::new();
    let mut count = 0;
    for line in table.lines() {
        let Some(cmd) = line.trim().strip_prefix('"') else {
            continue;
        };
        let cmd = &cmd[..cmd.find('"').unwrap()];
        count += 1;
        if !all.contains(&format!("\"cmd\": \"{cmd}\"")) {
            missing.push(cmd.to_string());
        }
    }
    assert!(
        count >= 50,
        "the handler table was not read ({count} commands)"
    );
    assert!(
        missing.is_empty(),
        "commands without a snapshot: {missing:?}"
    );
}
