//! Simulation sessions: the designer's step-by-step simulation on the command bus.
//!
//! A session is a [`Simulation`] (an in-memory runtime on a virtual clock) kept between
//! commands, so the designer can start the open diagram, apply one scenario step at a time,
//! go back to any earlier step and take another branch, and save what was done as a scenario
//! file. Nothing is persisted: sessions live in memory on the runtime, at most
//! [`MAX_SESSIONS`], and one unused for [`IDLE_MINUTES`] on the runtime's own clock is dropped
//! when any session command next runs.
//!
//! | command                  | data                                            | answer       |
//! |--------------------------|-------------------------------------------------|--------------|
//! | StartSimulationCommand   | bpmnXml, processKey?, variables?, clock?,       | SimView      |
//! |                          | startedBy?, users?                              |              |
//! | SimulationStepCommand    | sessionId, step (an API.md scenario step)       | SimView      |
//! | SimulationBackCommand    | sessionId, toStep                               | SimView      |
//! | GetSimulationQuery       | sessionId                                       | SimView      |
//! | EndSimulationCommand     | sessionId                                       | {sessionId}  |
//! | RunScenarioQuery         | bpmnXml, scenario                               | test result  |
//!
//! `startedBy` and `users` are a scenario file's: the user who starts the instance (scripts see
//! them as `InitiatedBy`), and the users with their teams, which hold each step to its task's
//! ResponsibleUser / ResponsibleTeam (a step names who takes it with `user`). They are checked
//! as a scenario file's are, and the session's `scenario` carries them.
//!
//! Steps are applied exactly as `baton test` applies them ([`Simulation::step`]); one extension
//! is accepted, `{"advance": "nextTimer"}`, recorded as the `advance` duration it amounted to,
//! so the recorded scenario replays the same way. A step the engine refuses answers REJECTED
//! (field `step`) and leaves the session as it was: when the refused step moved anything (a
//! clock that went forward before a timer failed), the session is rebuilt from its steps.
//!
//! `visited` lists, in order, the elements the instance entered (from its history) and the
//! sequence flow that led into each: the incoming flow whose source the instance touched last
//! (entered or left). That is the flow the token took for everything but a node reached from two
//! sources in the same instant, where it names the later one.

use crate::simulate::Simulation;
use crate::{object, text, Answer, Error, Runtime};
use baton_engine::model::Deployment;
use baton_engine::sim::{Scenario, Step};
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// At most this many sessions live at once; starting another drops the least recently used.
pub const MAX_SESSIONS: usize = 32;
/// A session unused this long (on the runtime's clock) is dropped.
pub const IDLE_MINUTES: i64 = 30;

/// The sessions of one runtime.
#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    session: Arc<Mutex<Session>>,
    last_used: Timestamp,
}

/// What a session was started with, and the steps applied since.
struct Session {
    id: String,
    xml: String,
    process: Option<String>,
    variables: Map<String, Value>,
    clock: Timestamp,
    people: People,
    live: Live,
    steps: Vec<Recorded>,
}

/// Who the session's instance runs as: a scenario's `startedBy` and `users`.
struct People {
    /// Parsed: only `started_by`, `users` and `roles` are set.
    parsed: Scenario,
    /// As given, for the session's scenario.
    given: Map<String, Value>,
}

impl People {
    /// `startedBy` and `users` of `data`, each checked as a scenario file's (errors name the
    /// field).
    fn of(data: &Value) -> Result<People, Error> {
        let mut given = Map::new();
        for field in ["startedBy", "users"] {
            if let Some(v) = data.get(field).filter(|v| !v.is_null()) {
                given.insert(field.to_string(), v.clone());
            }
        }
        let mut parsed = Scenario::default();
        for (field, v) in &given {
            let one =
                Scenario::from_value(&json!({ field: v })).map_err(|e| Error::field(field, e))?;
            match field.as_str() {
                "startedBy" => parsed.started_by = one.started_by,
                _ => (parsed.users, parsed.roles) = (one.users, one.roles),
            }
        }
        Ok(People { parsed, given })
    }
}

/// The running simulation of a session.
struct Live {
    sim: Simulation,
    guid: String,
    /// Everything visited so far, start included.
    visited: Vec<Visit>,
    /// The instance's variables after the last step.
    variables: Map<String, Value>,
    /// What the start itself visited.
    start_visited: Vec<Visit>,
    start_variables: Map<String, Value>,
}

/// One step applied, as the session answers it.
struct Recorded {
    /// The step as a scenario file holds it (`nextTimer` resolved to a duration).
    step: Value,
    visited: Vec<Visit>,
    changed: Map<String, Value>,
    removed: Vec<String>,
}

#[derive(Clone, PartialEq)]
struct Visit {
    flow: bool,
    id: String,
}

impl Visit {
    fn json(&self) -> Value {
        json!({"kind": if self.flow { "flow" } else { "element" }, "id": self.id})
    }
}

fn visits_json(v: &[Visit]) -> Value {
    Value::Array(v.iter().map(Visit::json).collect())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn session_id(data: &Value) -> Result<&str, Error> {
    text(data, "sessionId")
}

/// A failure the scenario step met: REJECTED with the engine's message, on field `step`.
fn refused(message: String) -> Error {
    let mut e = Error::rejected(message.clone());
    e.fields.push(crate::FieldError {
        field: "step".into(),
        message,
    });
    e
}

/// An ISO 8601 duration for `d` (hours, minutes and seconds; `PT0S` for none).
fn iso_duration(d: SignedDuration) -> String {
    let total = d.as_secs().max(0);
    let nanos = if d.as_secs() < 0 {
        0
    } else {
        d.subsec_nanos().max(0)
    };
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    let mut out = String::from("PT");
    if h > 0 {
        out += &format!("{h}H");
    }
    if m > 0 {
        out += &format!("{m}M");
    }
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out += &format!("{s}.{}S", frac.trim_end_matches('0'));
    } else if s > 0 || out == "PT" {
        out += &format!("{s}S");
    }
    out
}

/// The elements entered and the flows into them, in history order, from `rows` of history
/// (`kind`, element id).
fn visited_of(dep: &Deployment, rows: &[(String, Option<String>)]) -> Vec<Visit> {
    // element id -> the last history position that touched it (entered or left).
    let mut touched: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, (kind, id)) in rows.iter().enumerate() {
        let Some(id) = id.as_deref() else { continue };
        match kind.as_str() {
            "elementEntered" => {
                if let Some(node) = dep.node_by_id(id) {
                    let via = dep
                        .node(node)
                        .incoming
                        .iter()
                        .map(|&f| dep.flow(f))
                        .filter_map(|f| {
                            touched
                                .get(dep.node(f.source).id.as_str())
                                .map(|&at| (at, f.id.as_str()))
                        })
                        .max_by_key(|(at, _)| *at);
                    if let Some((_, flow)) = via {
                        out.push(Visit {
                            flow: true,
                            id: flow.to_string(),
                        });
                    }
                }
                out.push(Visit {
                    flow: false,
                    id: id.to_string(),
                });
                touched.insert(id, i);
            }
            "elementCompleted" | "elementCancelled" => {
                touched.insert(id, i);
            }
            _ => {}
        }
    }
    out
}

impl Live {
    /// Starts the instance of a new simulation of `xml`.
    fn begin(
        xml: &str,
        process: Option<&str>,
        variables: &Map<String, Value>,
        clock: Timestamp,
        people: &People,
    ) -> Result<Live, Error> {
        let scenario = Scenario {
            process: process.map(str::to_string),
            clock: Some(clock),
            ..people.parsed.clone()
        };
        let sim = Simulation::deploying(xml, &scenario)?;
        let guid = sim.start(variables.clone()).map_err(|e| {
            Error::field(
                if process.is_some() {
                    "processKey"
                } else {
                    "bpmnXml"
                },
                e,
            )
        })?;
        let mut live = Live {
            sim,
            guid,
            visited: Vec::new(),
            variables: Map::new(),
            start_visited: Vec::new(),
            start_variables: Map::new(),
        };
        let (visited, vars) = live.read()?;
        live.start_visited = visited;
        live.start_variables = vars.clone();
        live.variables = vars;
        Ok(live)
    }

    /// What happened since the last read: the new visits, and the variables now.
    fn read(&mut self) -> Result<(Vec<Visit>, Map<String, Value>), Error> {
        let rt = self.sim.runtime();
        let rows: Vec<(String, Option<String>)> = rt
            .store()
            .history(&self.guid)?
            .into_iter()
            .map(|r| (r.kind, r.element_id))
            .collect();
        let engine = rt.engine(self.sim.definition_id())?;
        let all = visited_of(&engine.deployment, &rows);
        let new = all[self.visited.len().min(all.len())..].to_vec();
        self.visited = all;
        let inst = self.instance()?;
        let vars = inst["variables"].as_object().cloned().unwrap_or_default();
        Ok((new, vars))
    }

    fn instance(&self) -> Result<Value, Error> {
        self.sim.instance(&self.guid).map_err(Error::internal)
    }

    /// How many history entries the instance has, and the clock: what a refused step may
    /// have moved.
    fn mark(&self) -> (usize, Timestamp) {
        let n = self
            .sim
            .runtime()
            .store()
            .history(&self.guid)
            .map(|h| h.len())
            .unwrap_or(usize::MAX);
        (n, self.sim.now())
    }

    /// Applies one step; answers it as recorded.
    fn apply(&mut self, step: &Value) -> Result<Recorded, Error> {
        let step = self.resolve(step)?;
        let parsed = parse(&step)?;
        self.sim.step(&self.guid, &parsed).map_err(refused)?;
        let before = std::mem::take(&mut self.variables);
        let (visited, now) = self.read()?;
        let mut changed = Map::new();
        for (k, v) in &now {
            if before.get(k) != Some(v) {
                changed.insert(k.clone(), v.clone());
            }
        }
        let removed = before
            .keys()
            .filter(|k| !now.contains_key(*k))
            .cloned()
            .collect();
        self.variables = now;
        Ok(Recorded {
            step,
            visited,
            changed,
            removed,
        })
    }

    /// `{"advance": "nextTimer"}` as the duration to the next due timer; other steps as given.
    fn resolve(&self, step: &Value) -> Result<Value, Error> {
        if step.get("advance").and_then(Value::as_str) != Some("nextTimer") {
            return Ok(step.clone());
        }
        let due = self.sim.next_timer().ok_or_else(|| {
            refused("no timer is scheduled: nothing to advance the clock to".into())
        })?;
        let span = due.duration_since(self.sim.now());
        let mut out = step.clone();
        out["advance"] = Value::String(iso_duration(span));
        Ok(out)
    }
}

/// One scenario step, read as a scenario file's step is (errors on field `step`).
fn parse(step: &Value) -> Result<Step, Error> {
    if !step.is_object() {
        return Err(Error::field(
            "step",
            "step must be a scenario step such as {\"complete\": \"TaskId\", \"data\": {}}".into(),
        ));
    }
    if step.get("expectError").is_some() {
        return Err(Error::field(
            "step",
            "expectError belongs in a saved scenario; a session step either happens or is refused"
                .into(),
        ));
    }
    let sc = Scenario::from_value(&json!({ "steps": [step] })).map_err(|e| {
        let e = e.strip_prefix("step 1: ").unwrap_or(&e).to_string();
        Error::field("step", e)
    })?;
    sc.steps
        .into_iter()
        .next()
        .ok_or_else(|| Error::field("step", "step is required".into()))
}

impl Session {
    /// The session rebuilt from its start with its first `n` steps.
    fn rebuild(&mut self, n: usize) -> Result<(), Error> {
        let mut live = Live::begin(
            &self.xml,
            self.process.as_deref(),
            &self.variables,
            self.clock,
            &self.people,
        )?;
        let mut steps = Vec::with_capacity(n);
        for r in self.steps.iter().take(n) {
            let again = live.apply(&r.step).map_err(|e| {
                Error::internal(format!("replaying step {}: {}", steps.len() + 1, e.line()))
            })?;
            steps.push(again);
        }
        self.live = live;
        self.steps = steps;
        Ok(())
    }

    /// The SimView answer.
    fn view(&self) -> Result<Value, Error> {
        let live = &self.live;
        let inst = live.instance()?;
        let waiting: Vec<Value> = inst["waiting"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|w| {
                let mut m = Map::new();
                for (from, to) in [
                    ("elementId", "elementId"),
                    ("taskId", "taskId"),
                    ("taskType", "taskType"),
                    ("name", "name"),
                    ("formKey", "formKey"),
                    ("correlationKey", "correlationKey"),
                    ("message", "messageName"),
                    ("signal", "signalName"),
                    ("due", "timerDue"),
                    ("localVariables", "localVariables"),
                ] {
                    if !w[from].is_null() {
                        m.insert(to.into(), w[from].clone());
                    }
                }
                Value::Object(m)
            })
            .collect();
        let steps: Vec<Value> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, r)| {
                json!({
                    "index": i + 1,
                    "step": r.step,
                    "visited": visits_json(&r.visited),
                    "changed": r.changed,
                    "removed": r.removed,
                })
            })
            .collect();
        let process = match &self.process {
            Some(p) => Value::String(p.clone()),
            None => inst["processKey"].clone(),
        };
        let mut scenario = json!({
            "process": process,
            "variables": self.variables,
            "clock": self.clock.to_string(),
        });
        if let Value::Object(m) = &mut scenario {
            m.extend(self.people.given.clone());
            let steps = self.steps.iter().map(|r| r.step.clone()).collect();
            m.insert("steps".into(), Value::Array(steps));
        }
        Ok(json!({
            "sessionId": self.id,
            "instanceGuid": live.guid,
            "status": inst["status"],
            "clock": live.sim.now().to_string(),
            "nextTimer": live.sim.next_timer().map(|t| t.to_string()),
            "variables": inst["variables"],
            "waiting": waiting,
            "incidents": inst["incidents"],
            "steps": steps,
            "start": {
                "visited": visits_json(&live.start_visited),
                "variables": live.start_variables,
            },
            "scenario": scenario,
            "taken": coverage(&live.visited),
        }))
    }
}

/// `elements` and `flows` of `visited`, each once, in the order first visited.
fn coverage(visited: &[Visit]) -> Value {
    let (mut elements, mut flows) = (Vec::new(), Vec::new());
    let mut seen = HashSet::new();
    for v in visited {
        if seen.insert((v.flow, v.id.as_str())) {
            if v.flow { &mut flows } else { &mut elements }.push(v.id.clone());
        }
    }
    json!({"elements": elements, "flows": flows})
}

impl Runtime {
    /// The session `data.sessionId` names (NOT_FOUND on field `sessionId` when there is none);
    /// drops the idle ones first.
    fn sim_session(&self, data: &Value) -> Result<Arc<Mutex<Session>>, Error> {
        let id = session_id(data)?;
        let now = self.clock.now();
        let mut map = lock(&self.sim_sessions.map);
        expire(&mut map, now);
        let entry = map.get_mut(id).ok_or_else(|| {
            Error::no_such(
                "sessionId",
                format!("no simulation session '{id}' (it ended, or was unused for {IDLE_MINUTES} minutes)"),
            )
        })?;
        entry.last_used = now;
        Ok(entry.session.clone())
    }

    /// StartSimulationCommand.
    pub(crate) fn start_simulation(&self, data: &Value) -> Answer {
        let xml = text(data, "bpmnXml")?;
        let process = crate::opt_text(data, "processKey")?.filter(|p| !p.trim().is_empty());
        let variables = object(data, "variables")?;
        let clock = match data.get("clock") {
            None | Some(Value::Null) => baton_engine::VirtualClock::default_start(),
            Some(Value::String(s)) => s.parse::<Timestamp>().map_err(|_| {
                Error::field(
                    "clock",
                    format!(
                        "clock '{s}' is not an RFC 3339 date-time such as 2026-01-01T00:00:00Z"
                    ),
                )
            })?,
            Some(_) => return Err(Error::field("clock", "clock must be a string".into())),
        };
        let people = People::of(data)?;
        let live = Live::begin(xml, process, &variables, clock, &people)?;
        let session = Session {
            id: format!("sim-{}", uuid::Uuid::new_v4().simple()),
            xml: xml.to_string(),
            process: process.map(str::to_string),
            variables,
            clock,
            people,
            live,
            steps: Vec::new(),
        };
        let view = session.view()?;
        let now = self.clock.now();
        let mut map = lock(&self.sim_sessions.map);
        expire(&mut map, now);
        while map.len() >= MAX_SESSIONS {
            let oldest = map
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(
            session.id.clone(),
            Entry {
                session: Arc::new(Mutex::new(session)),
                last_used: now,
            },
        );
        Ok(("Simulation started".into(), view))
    }

    /// SimulationStepCommand.
    pub(crate) fn simulation_step(&self, data: &Value) -> Answer {
        let session = self.sim_session(data)?;
        let step = data
            .get("step")
            .filter(|s| !s.is_null())
            .ok_or_else(|| Error::field("step", "step is required".into()))?;
        let mut s = lock(&session);
        let mark = s.live.mark();
        match s.live.apply(step) {
            Ok(r) => {
                s.steps.push(r);
                Ok(("Step applied".into(), s.view()?))
            }
            Err(e) => {
                if s.live.mark() != mark {
                    let n = s.steps.len();
                    s.rebuild(n)?;
                }
                Err(e)
            }
        }
    }

    /// SimulationBackCommand.
    pub(crate) fn simulation_back(&self, data: &Value) -> Answer {
        let session = self.sim_session(data)?;
        let mut s = lock(&session);
        let n = s.steps.len();
        let to = match data.get("toStep") {
            Some(v) => v.as_u64().filter(|&x| x as usize <= n),
            None => None,
        }
        .ok_or_else(|| {
            Error::field(
                "toStep",
                format!("toStep must be a whole number from 0 to {n} (the steps taken so far)"),
            )
        })?;
        s.rebuild(to as usize)?;
        Ok((format!("Back to step {to}"), s.view()?))
    }

    /// GetSimulationQuery.
    pub(crate) fn get_simulation(&self, data: &Value) -> Answer {
        let session = self.sim_session(data)?;
        let s = lock(&session);
        Ok(("OK".into(), s.view()?))
    }

    /// EndSimulationCommand.
    pub(crate) fn end_simulation(&self, data: &Value) -> Answer {
        let id = session_id(data)?;
        let now = self.clock.now();
        let mut map = lock(&self.sim_sessions.map);
        expire(&mut map, now);
        map.remove(id)
            .ok_or_else(|| Error::no_such("sessionId", format!("no simulation session '{id}'")))?;
        Ok(("Simulation ended".into(), json!({ "sessionId": id })))
    }

    /// RunScenarioQuery: what `baton test` says for `scenario` on `bpmnXml`, with the report
    /// `baton simulate` prints and the path coverage of the run.
    pub(crate) fn run_scenario(&self, data: &Value) -> Answer {
        let xml = text(data, "bpmnXml")?;
        let sc = match data.get("scenario") {
            Some(v @ Value::Object(_)) => {
                Scenario::from_value(v).map_err(|e| Error::field("scenario", e))?
            }
            None | Some(Value::Null) => {
                return Err(Error::field("scenario", "scenario is required".into()))
            }
            Some(_) => {
                return Err(Error::field(
                    "scenario",
                    "scenario must be a JSON object (a scenario file's content)".into(),
                ))
            }
        };
        let sim = Simulation::deploying(xml, &sc)?;
        let guid = match sim.start(sc.variables.clone()) {
            Ok(g) => g,
            Err(e) => {
                let e = format!("cannot start: {e}");
                return Ok((
                    "Scenario failed".into(),
                    json!({"passed": false, "failures": [e], "report":
                        {"state": null, "path": [], "variables": {}, "waiting": [], "incidents": [], "error": e},
                        "coverage": {"elements": [], "flows": []}}),
                ));
            }
        };
        let mut failures = Vec::new();
        match sim.run_steps(&guid, &sc.steps) {
            Err(e) => failures.push(e),
            Ok(()) => {
                if let Some(expect) = &sc.expect {
                    failures.extend(sim.check(&guid, expect));
                }
            }
        }
        let error = (!failures.is_empty()).then(|| failures.join("; "));
        let report = sim.report(&guid, error.as_deref());
        let rows: Vec<(String, Option<String>)> = sim
            .runtime()
            .store()
            .history(&guid)?
            .into_iter()
            .map(|r| (r.kind, r.element_id))
            .collect();
        let engine = sim.runtime().engine(sim.definition_id())?;
        let passed = failures.is_empty();
        Ok((
            if passed {
                "Scenario passed"
            } else {
                "Scenario failed"
            }
            .into(),
            json!({
                "passed": passed,
                "failures": failures,
                "report": report,
                "coverage": coverage(&visited_of(&engine.deployment, &rows)),
            }),
        ))
    }
}

/// Drops the sessions unused for [`IDLE_MINUTES`] at `now`.
fn expire(map: &mut HashMap<String, Entry>, now: Timestamp) {
    let idle = SignedDuration::from_mins(IDLE_MINUTES);
    map.retain(|_, e| now.duration_since(e.last_used) < idle);
}

#[cfg(test)]
mod tests {
    use super::iso_duration;
    use jiff::SignedDuration;

    #[test]
    fn durations_read_back_as_iso_8601() {
        assert_eq!(iso_duration(SignedDuration::from_secs(0)), "PT0S");
        assert_eq!(iso_duration(SignedDuration::from_secs(86_400)), "PT24H");
        assert_eq!(iso_duration(SignedDuration::from_secs(3_725)), "PT1H2M5S");
        assert_eq!(iso_duration(SignedDuration::from_millis(1_500)), "PT1.5S");
        assert_eq!(iso_duration(SignedDuration::from_secs(-5)), "PT0S");
        for d in ["PT24H", "PT1H2M5S", "PT1.5S", "PT0S"] {
            assert!(baton_engine::sim::parse_span(d).is_ok(), "{d}");
        }
    }
}
