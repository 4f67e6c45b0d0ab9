//! The harness shared by the scheduling test files: a runtime on a real SQLite file with a
//! virtual clock, its command helpers, and the models both files use.
#![allow(dead_code)]

use baton_engine::VirtualClock;
use baton_runtime::{Reply, Runtime};
use baton_store::Durability;
use baton_testkit::{ok, Model};
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

pub struct T {
    pub rt: Runtime,
    pub clock: Arc<VirtualClock>,
}

pub fn open(db: &Path, clock: &Arc<VirtualClock>) -> T {
    T {
        rt: Runtime::open(db, Durability::Normal, clock.clone()).unwrap(),
        clock: clock.clone(),
    }
}

impl T {
    pub fn run(&self, cmd: &str, data: Value) -> Value {
        ok(self.rt.execute(cmd, &data, None))
    }
    pub fn refused(&self, cmd: &str, data: Value) -> Reply {
        let r = self.rt.execute(cmd, &data, None);
        assert!(!r.is_successful, "{cmd} should be refused: {r:?}");
        r
    }
    pub fn field(&self, cmd: &str, data: Value, field: &str) -> String {
        let r = self.refused(cmd, data);
        assert_eq!(
            r.errors.first().map(|e| e.field.as_str()),
            Some(field),
            "{r:?}"
        );
        r.errors[0].message.clone()
    }
    pub fn deploy(&self, xml: &str) -> i64 {
        self.run("DeployProcessDefinitionCommand", json!({"bpmnXml": xml}))["processDefinitionId"]
            .as_i64()
            .unwrap()
    }
    pub fn start(&self, key: &str) -> String {
        self.run("StartProcessInstanceCommand", json!({"processKey": key}))["instanceGuid"]
            .as_str()
            .unwrap()
            .to_string()
    }
    pub fn instance(&self, guid: &str) -> Value {
        self.run("GetProcessInstanceByIdQuery", json!({"instanceGuid": guid}))
    }
    pub fn status(&self, guid: &str) -> String {
        self.instance(guid)["status"].as_str().unwrap().to_string()
    }
    pub fn path(&self, guid: &str) -> Vec<String> {
        let p = self.instance(guid)["path"].clone();
        p.as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect()
    }
    pub fn timers(&self, kind: &str) -> Vec<Value> {
        self.run("GetTimerListQuery", json!({"kind": kind}))["items"]
            .as_array()
            .unwrap()
            .clone()
    }
    pub fn t0(&self) -> Timestamp {
        VirtualClock::default_start()
    }
    /// Moves the clock to t0 + `secs` and fires what is due.
    pub fn at(&self, secs: i64) -> baton_runtime::FireReport {
        self.clock.set(self.t0() + SignedDuration::from_secs(secs));
        self.rt.fire_due()
    }
    pub fn instances_of(&self, key: &str) -> i64 {
        self.run("GetProcessInstanceListQuery", json!({"processKey": key}))["totalCount"]
            .as_i64()
            .unwrap()
    }
}

pub fn stamp(t: Timestamp) -> String {
    format!("{t:.6}")
}

/// Start -> intermediate timer (PT30M) -> end.
pub fn wait_30m() -> String {
    Model::process("Wait30")
        .start("s")
        .catch_timer("wait", "timeDuration", "PT30M")
        .end("e")
        .chain(&["s", "wait", "e"])
        .xml()
}
