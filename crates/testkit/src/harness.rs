//! A real `Runtime` on a real SQLite file in a temporary folder, with a virtual clock the test
//! moves, and the few calls every runtime test repeats (run a command, deploy, start).

use baton_engine::{Clock, VirtualClock};
use baton_runtime::{Reply, Runtime};
use baton_store::Durability;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Opens a runtime on `path` with `Durability::Normal` and this clock.
pub fn open_runtime(path: &Path, clock: &Arc<VirtualClock>) -> Runtime {
    Runtime::open(path, Durability::Normal, clock.clone())
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

/// Opens a runtime on `dir/baton.db` on a fresh virtual clock; answers both.
pub fn open_in(dir: &Path) -> (Runtime, Arc<VirtualClock>) {
    let clock = virtual_clock();
    (open_runtime(&dir.join("baton.db"), &clock), clock)
}

/// Deploys a model as the owner; answers its `processDefinitionId`.
pub fn deploy(rt: &Runtime, xml: &str) -> Value {
    ok(rt.execute(
        "DeployProcessDefinitionCommand",
        &json!({"bpmnXml": xml}),
        None,
    ))["processDefinitionId"]
        .clone()
}

/// The kinds of an instance's history entries, oldest first.
pub fn history_kinds(rt: &Runtime, guid: &str) -> Vec<String> {
    kinds_of(&ok(rt.execute(
        "GetInstanceHistoryQuery",
        &json!({"instanceGuid": guid}),
        None,
    )))
}

/// A virtual clock at the engine's default start (2026-01-01T00:00:00Z).
pub fn virtual_clock() -> Arc<VirtualClock> {
    Arc::new(VirtualClock::new(VirtualClock::default_start()))
}

/// The data of a successful reply; panics naming the message and errors otherwise.
pub fn ok(reply: Reply) -> Value {
    assert!(reply.is_successful, "expected success: {reply:?}");
    reply.data
}

/// The field of the first error of a refused reply ("" when it names none).
pub fn field_of(reply: &Reply) -> String {
    assert!(!reply.is_successful, "expected a refusal: {reply:?}");
    reply
        .errors
        .first()
        .map(|e| e.field.clone())
        .unwrap_or_default()
}

/// A runtime over `baton.db` in its own temporary folder, on a virtual clock.
pub struct TestRuntime {
    pub rt: Arc<Runtime>,
    pub clock: Arc<VirtualClock>,
    pub dir: tempfile::TempDir,
}

impl Default for TestRuntime {
    fn default() -> Self {
        Self::new()
    }
}

impl TestRuntime {
    /// A fresh database at the default start time.
    pub fn new() -> TestRuntime {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let clock = virtual_clock();
        let rt = Arc::new(open_runtime(&dir.path().join("baton.db"), &clock));
        TestRuntime { rt, clock, dir }
    }

    /// The database file.
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("baton.db")
    }

    /// Closes this runtime and opens the same file again (the clock is kept).
    pub fn reopen(self) -> TestRuntime {
        let TestRuntime { rt, clock, dir } = self;
        drop(rt);
        let rt = Arc::new(open_runtime(&dir.path().join("baton.db"), &clock));
        TestRuntime { rt, clock, dir }
    }

    /// Runs a command as the owner and answers the reply, whatever it is.
    pub fn reply(&self, cmd: &str, data: Value) -> Reply {
        self.rt.execute(cmd, &data, None)
    }

    /// Runs a command as the owner; panics unless it succeeds; answers its data.
    pub fn run(&self, cmd: &str, data: Value) -> Value {
        let reply = self.rt.execute(cmd, &data, None);
        assert!(reply.is_successful, "{cmd} {data}: {reply:?}");
        reply.data
    }

    /// Runs a command that must be refused; answers the reply.
    pub fn refused(&self, cmd: &str, data: Value) -> Reply {
        let reply = self.rt.execute(cmd, &data, None);
        assert!(!reply.is_successful, "{cmd} {data} should fail: {reply:?}");
        reply
    }

    /// Deploys a model; answers the deploy's data.
    pub fn deploy(&self, xml: &str) -> Value {
        self.run("DeployProcessDefinitionCommand", json!({"bpmnXml": xml}))
    }

    /// Starts the latest version of `key` with these variables; answers the instance guid.
    pub fn start(&self, key: &str, variables: Value) -> String {
        let d = self.run(
            "StartProcessInstanceCommand",
            json!({"processKey": key, "variables": variables}),
        );
        d["instanceGuid"]
            .as_str()
            .expect("an instanceGuid")
            .to_string()
    }

    /// The instance as `GetProcessInstanceByIdQuery` shows it.
    pub fn instance(&self, guid: &str) -> Value {
        self.run("GetProcessInstanceByIdQuery", json!({"instanceGuid": guid}))
    }

    /// The kinds of the instance's history entries, oldest first.
    pub fn history_kinds(&self, guid: &str) -> Vec<String> {
        history_kinds(&self.rt, guid)
    }

    /// Moves the virtual clock forward by `secs` seconds.
    pub fn advance(&self, secs: i64) {
        advance(&self.clock, secs);
    }
}

/// Moves a virtual clock forward by `secs` seconds.
pub fn advance(clock: &VirtualClock, secs: i64) {
    let next = clock
        .now()
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .expect("a time in range");
    clock.set(next);
}

/// The `kind` of each entry of a `GetInstanceHistoryQuery` answer.
pub fn kinds_of(history: &Value) -> Vec<String> {
    history
        .as_array()
        .expect("history is an array")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}
