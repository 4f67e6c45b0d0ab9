//! The test harness shared by the executor test files.
#![allow(dead_code)]

use baton_engine::{
    parse, Clock, Ctx, Effect, Engine, Event, Instance, Problem, User, VirtualClock,
};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

pub mod undo;

pub const NS: &str = r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:custom="http://baton.dev/schema/custom" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#;

pub fn model(body: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d"><bpmn:process id="p" isExecutable="true">{body}</bpmn:process></bpmn:definitions>"#
    )
}

pub struct H {
    pub engine: Engine,
    pub clock: VirtualClock,
    pub inst: Instance,
    pub effects: Vec<Effect>,
}

pub fn vars(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

impl H {
    pub fn start(xml: &str, v: Value) -> H {
        Self::try_start(xml, v).unwrap_or_else(|e| panic!("start failed: {e}"))
    }
    pub fn try_start(xml: &str, v: Value) -> Result<H, String> {
        Self::try_start_files(&[xml], None, v)
    }
    /// Several files (a caller and its callees) and the process to start (None: the only
    /// executable one).
    pub fn try_start_files(xmls: &[&str], process: Option<&str>, v: Value) -> Result<H, String> {
        let names: Vec<String> = (0..xmls.len()).map(|i| format!("test{i}.bpmn")).collect();
        let files: Vec<(&str, &str)> = names
            .iter()
            .map(String::as_str)
            .zip(xmls.iter().copied())
            .collect();
        let dep = parse(&files).map_err(|e| e.to_string())?;
        let (engine, _) = Engine::new(dep).map_err(|p| format!("invalid model: {p:?}"))?;
        let clock = VirtualClock::new(VirtualClock::default_start());
        let ctx = Ctx {
            clock: &clock,
            user: None,
            enforce_access: false,
            bus: None,
        };
        let (inst, effects) = engine
            .start(process, vars(v), &ctx)
            .map_err(|e| e.to_string())?;
        Ok(H {
            engine,
            clock,
            inst,
            effects,
        })
    }
    pub fn apply(&mut self, e: Event) -> Result<(), String> {
        let ctx = Ctx {
            clock: &self.clock,
            user: None,
            enforce_access: false,
            bus: None,
        };
        let eff = self
            .engine
            .apply(&mut self.inst, e, &ctx)
            .map_err(|e| e.to_string())?;
        self.effects.extend(eff);
        Ok(())
    }
    pub fn apply_as(&mut self, e: Event, user: &User) -> Result<(), String> {
        let ctx = Ctx {
            clock: &self.clock,
            user: Some(user),
            enforce_access: true,
            bus: None,
        };
        let eff = self
            .engine
            .apply(&mut self.inst, e, &ctx)
            .map_err(|e| e.to_string())?;
        self.effects.extend(eff);
        Ok(())
    }
    pub fn complete(&mut self, task: &str, data: Value) -> Result<(), String> {
        self.apply(Event::CompleteTask {
            task_id: Some(task.into()),
            data,
        })
    }
    pub fn advance(&mut self, secs: i64) {
        let target = self.clock.now() + jiff::SignedDuration::from_secs(secs);
        while let Some(due) = self.engine.next_timer(&self.inst).filter(|d| *d <= target) {
            self.clock.set(due);
            self.apply(Event::TimersDue).expect("timers fire");
        }
        self.clock.set(target);
    }
    /// The flow-node ids entered so far, in order (from the `ElementEntered` effects).
    pub fn path(&self) -> Vec<String> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::ElementEntered { element_id } => Some(element_id.clone()),
                _ => None,
            })
            .collect()
    }
    pub fn var(&self, k: &str) -> Value {
        self.engine
            .variables(&self.inst)
            .get(k)
            .cloned()
            .unwrap_or(Value::Null)
    }
    pub fn waiting(&self) -> Vec<String> {
        let mut w: Vec<String> = self
            .engine
            .waiting(&self.inst)
            .into_iter()
            .map(|w| w.task_id)
            .collect();
        w.sort();
        w
    }
    pub fn visits(&self, id: &str) -> usize {
        self.path().iter().filter(|p| *p == id).count()
    }
}

pub fn flow(id: &str, s: &str, t: &str) -> String {
    format!(r#"<bpmn:sequenceFlow id="{id}" sourceRef="{s}" targetRef="{t}"/>"#)
}
pub fn cflow(id: &str, s: &str, t: &str, cond: &str) -> String {
    format!(
        r#"<bpmn:sequenceFlow id="{id}" sourceRef="{s}" targetRef="{t}"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{cond}</bpmn:conditionExpression></bpmn:sequenceFlow>"#
    )
}

/// A model with definitions-level declarations (messages, signals, errors, escalations).
pub fn model_with(decls: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d">{decls}<bpmn:process id="p" isExecutable="true">{body}</bpmn:process></bpmn:definitions>"#
    )
}

// ----- Camunda 7 corpus (camunda_conformance.rs, camunda_compensation.rs) -------------------

pub fn corpus(rel: &str) -> Option<String> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/camunda7/bpmn")
        .join(rel);
    match std::fs::read_to_string(&p) {
        Ok(t) => Some(t),
        Err(_) => {
            println!("skipped: ../shared/corpora/camunda7 not found ({rel})");
            None
        }
    }
}

/// The same harness by the name the Camunda conformance tests use.
pub type Run = H;

impl H {
    pub fn start_files(xmls: &[&str], process: Option<&str>, v: Value) -> H {
        Self::try_start_files(xmls, process, v).unwrap_or_else(|e| panic!("start failed: {e}"))
    }
    /// Names of the waiting user tasks, sorted (Camunda's tests assert task names).
    pub fn task_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .engine
            .waiting(&self.inst)
            .into_iter()
            .filter(|w| w.task_type == "userTask")
            .map(|w| w.name.unwrap_or(w.task_id))
            .collect();
        v.sort();
        v
    }
    /// Completes a user task with no data, expecting the engine to accept it.
    pub fn submit(&mut self, task_id: &str) {
        self.apply(Event::CompleteTask {
            task_id: Some(task_id.into()),
            data: json!({}),
        })
        .expect("completes");
    }
}

/// What validation says of one model.
pub fn problems(xml: &str) -> Vec<Problem> {
    baton_engine::validate(&parse(&[("m.bpmn", xml)]).expect("parses"), &[])
}

/// The problem on element `id` whose message contains `needle`; panics listing them all when
/// there is none.
pub fn problem_on(xml: &str, id: &str, needle: &str) -> Problem {
    let ps = problems(xml);
    ps.iter()
        .find(|p| p.element_id.as_deref() == Some(id) && p.message.contains(needle))
        .cloned()
        .unwrap_or_else(|| panic!("no problem on '{id}' containing '{needle}' in {ps:#?}"))
}
