//! The in-memory host behind `baton simulate`, `baton test` and `baton bench`.
//!
//! A `Simulation` holds a few instances of one deployment and a virtual clock, and applies
//! scenario steps to them the way the durable runtime applies commands: `complete` is
//! SignalProcessInstance, `callback` is ReturnCallback, `advance` moves the clock and fires what
//! falls due, in order. It does no I/O: the CLI reads files and hands text in.
//!
//! Scenario JSON is read by hand rather than with serde derive so that every error names the
//! step (1-based) and the field, which is what an analyst needs to fix a test file.

use crate::api::{CommandError, Effect, Event, User};
use crate::clock::{Clock, VirtualClock};
use crate::exec::{Ctx, Engine, Instance};
use jiff::Timestamp;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// A parsed scenario file.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    pub name: Option<String>,
    /// Model files named by the scenario, relative to it.
    pub model: Vec<String>,
    pub process: Option<String>,
    pub variables: Map<String, Value>,
    pub clock: Option<Timestamp>,
    /// user -> teams; present means access control is enforced.
    pub users: Option<HashMap<String, Vec<String>>>,
    pub steps: Vec<Step>,
    pub expect: Option<Expect>,
}

#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based position in the file, for messages.
    pub index: usize,
    pub action: Action,
    pub user: Option<String>,
    pub expect_error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Action {
    Complete {
        task: String,
        data: Value,
    },
    Callback {
        key: String,
        data: Value,
    },
    Message {
        name: String,
        key: Option<String>,
        data: Map<String, Value>,
    },
    Signal {
        name: String,
        data: Map<String, Value>,
    },
    Advance(jiff::Span),
    Cancel,
    SetVariables(Map<String, Value>),
}

#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub state: Option<String>,
    pub variables: Option<Map<String, Value>>,
    pub visits: Vec<String>,
    pub never: Vec<String>,
    pub waiting: Option<Vec<String>>,
}

const TOP_FIELDS: &[&str] = &[
    "name",
    "description",
    "model",
    "process",
    "variables",
    "clock",
    "users",
    "steps",
    "expect",
];
const ACTIONS: &[&str] = &[
    "complete",
    "callback",
    "message",
    "signal",
    "advance",
    "cancel",
    "setVariables",
];
const STEP_FIELDS: &[&str] = &["data", "user", "correlationKey", "taskId", "expectError"];
const EXPECT_FIELDS: &[&str] = &["state", "variables", "visits", "never", "waiting"];

fn unknown(field: &str, allowed: &[&str]) -> String {
    format!(
        "unknown field '{field}' (expected one of {})",
        allowed.join(", ")
    )
}

fn string_list(v: &Value, what: &str) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("'{what}' must be a list of strings"))
            })
            .collect(),
        _ => Err(format!("'{what}' must be a list of strings")),
    }
}

fn object(v: &Value, what: &str) -> Result<Map<String, Value>, String> {
    match v {
        Value::Object(m) => Ok(m.clone()),
        Value::Null => Ok(Map::new()),
        _ => Err(format!("'{what}' must be a JSON object")),
    }
}

/// Parses an ISO 8601 duration such as `PT1H` or `P1M` for `advance`.
pub fn parse_span(text: &str) -> Result<jiff::Span, String> {
    text.trim()
        .parse::<jiff::Span>()
        .map_err(|_| format!("'{text}' is not an ISO 8601 duration such as PT1H, P1D or P1M"))
}

impl Scenario {
    /// Reads a scenario from JSON text; errors name the step and field.
    pub fn from_json_text(text: &str) -> Result<Scenario, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "not valid JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            )
        })?;
        Scenario::from_value(&v)
    }

    pub fn from_value(v: &Value) -> Result<Scenario, String> {
        let Value::Object(top) = v else {
            return Err("a scenario must be a JSON object".into());
        };
        let mut sc = Scenario::default();
        for (k, val) in top {
            match k.as_str() {
                "name" => sc.name = val.as_str().map(str::to_string),
                "description" => {}
                "model" => sc.model = string_list(val, "model")?,
                "process" => {
                    sc.process = Some(
                        val.as_str()
                            .ok_or("'process' must be a process id (a string)")?
                            .to_string(),
                    )
                }
                "variables" => sc.variables = object(val, "variables")?,
                "clock" => {
                    let s = val.as_str().ok_or(
                        "'clock' must be an ISO 8601 date-time such as 2026-01-01T00:00:00Z",
                    )?;
                    sc.clock = Some(s.parse::<Timestamp>().map_err(|_| {
                        format!("'clock': '{s}' is not an ISO 8601 date-time such as 2026-01-01T00:00:00Z")
                    })?);
                }
                "users" => {
                    let Value::Object(m) = val else {
                        return Err("'users' must map user names to lists of teams".into());
                    };
                    let mut users = HashMap::new();
                    for (u, teams) in m {
                        users.insert(u.clone(), string_list(teams, &format!("users.{u}"))?);
                    }
                    sc.users = Some(users);
                }
                "steps" => {
                    let Value::Array(steps) = val else {
                        return Err("'steps' must be a list".into());
                    };
                    for (i, s) in steps.iter().enumerate() {
                        sc.steps.push(
                            parse_step(i + 1, s).map_err(|e| format!("step {}: {e}", i + 1))?,
                        );
                    }
                }
                "expect" => {
                    sc.expect = Some(parse_expect(val).map_err(|e| format!("expect: {e}"))?)
                }
                other => return Err(unknown(other, TOP_FIELDS)),
            }
        }
        Ok(sc)
    }
}

fn parse_step(index: usize, v: &Value) -> Result<Step, String> {
    let Value::Object(m) = v else {
        return Err("a step must be a JSON object such as {\"complete\": \"TaskId\"}".into());
    };
    let mut action_key = None;
    for k in m.keys() {
        if ACTIONS.contains(&k.as_str()) {
            if let Some(prev) = action_key {
                return Err(format!(
                    "has two actions, '{prev}' and '{k}'; one step does one thing"
                ));
            }
            action_key = Some(k.as_str());
        } else if !STEP_FIELDS.contains(&k.as_str()) {
            let mut all: Vec<&str> = ACTIONS.to_vec();
            all.extend_from_slice(STEP_FIELDS);
            return Err(unknown(k, &all));
        }
    }
    let Some(key) = action_key else {
        return Err(format!(
            "says nothing to do (expected one of {})",
            ACTIONS.join(", ")
        ));
    };
    let val = &m[key];
    let data = m.get("data").cloned().unwrap_or(Value::Object(Map::new()));
    let text = |what: &str| -> Result<String, String> {
        val.as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("'{key}' must be {what} (a string)"))
    };
    let action = match key {
        "complete" => Action::Complete {
            task: text("a task id")?,
            data,
        },
        "callback" => Action::Callback {
            key: text("a correlation key")?,
            data,
        },
        "message" => Action::Message {
            name: text("a message name")?,
            key: match m.get("correlationKey") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => Some(other.to_string()),
            },
            data: object(&data, "data")?,
        },
        "signal" => Action::Signal {
            name: text("a signal name")?,
            data: object(&data, "data")?,
        },
        "advance" => {
            let s = val
                .as_str()
                .ok_or("'advance' must be an ISO 8601 duration such as PT1H")?;
            Action::Advance(parse_span(s).map_err(|e| format!("'advance': {e}"))?)
        }
        "cancel" => Action::Cancel,
        "setVariables" => Action::SetVariables(object(val, "setVariables")?),
        _ => unreachable!("key comes from ACTIONS"),
    };
    if m.contains_key("taskId") && !matches!(action, Action::Complete { .. }) {
        return Err("'taskId' only goes with 'complete'".into());
    }
    Ok(Step {
        index,
        action,
        user: match m.get("user") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err("'user' must be a user name (a string)".into()),
        },
        expect_error: match m.get("expectError") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(
                    "'expectError' must be a piece of the expected error message (a string)".into(),
                )
            }
        },
    })
}

fn parse_expect(v: &Value) -> Result<Expect, String> {
    let Value::Object(m) = v else {
        return Err("must be a JSON object".into());
    };
    let mut e = Expect::default();
    for (k, val) in m {
        match k.as_str() {
            "state" => {
                e.state = Some(
                    val.as_str()
                        .ok_or("'state' must be a string such as COMPLETED")?
                        .to_string(),
                )
            }
            "variables" => e.variables = Some(object(val, "variables")?),
            "visits" => e.visits = string_list(val, "visits")?,
            "never" => e.never = string_list(val, "never")?,
            "waiting" => e.waiting = Some(string_list(val, "waiting")?),
            other => return Err(unknown(other, EXPECT_FIELDS)),
        }
    }
    Ok(e)
}

/// Instances of one deployment on a virtual clock.
pub struct Simulation<'e> {
    pub engine: &'e Engine,
    pub clock: VirtualClock,
    /// The first is the instance the scenario started.
    pub instances: Vec<Instance>,
    pub users: HashMap<String, Vec<String>>,
    pub enforce_access: bool,
    /// Every effect, in order (for tests and the history view).
    pub effects: Vec<Effect>,
    keep_effects: bool,
    /// The flow nodes the first instance entered, in order: the instance state does not keep
    /// its walk, so the simulation collects it from the `ElementEntered` effects.
    path: Vec<String>,
}

impl<'e> Simulation<'e> {
    /// Starts the scenario's instance.
    pub fn start(
        engine: &'e Engine,
        scenario: &Scenario,
        process: Option<&str>,
        variables: Map<String, Value>,
    ) -> Result<Self, CommandError> {
        let clock = VirtualClock::new(scenario.clock.unwrap_or_else(VirtualClock::default_start));
        let mut sim = Simulation {
            engine,
            clock,
            instances: Vec::with_capacity(1),
            users: scenario.users.clone().unwrap_or_default(),
            enforce_access: scenario.users.is_some(),
            effects: Vec::new(),
            keep_effects: true,
            path: Vec::new(),
        };
        let ctx = Ctx {
            clock: &sim.clock,
            user: None,
            enforce_access: false,
            bus: None,
        };
        let (inst, effects) =
            engine.start(process.or(scenario.process.as_deref()), variables, &ctx)?;
        sim.instances.push(inst);
        sim.handle_effects(0, effects);
        Ok(sim)
    }

    /// Do not keep effects, nor the walked path (bench: nothing grows per instance).
    pub fn forget_effects(&mut self) {
        self.keep_effects = false;
        self.effects.clear();
        self.path.clear();
    }

    pub fn main(&self) -> &Instance {
        &self.instances[0]
    }

    fn user(&self, name: Option<&str>) -> Option<User> {
        name.map(|n| User {
            name: n.to_string(),
            teams: self.users.get(n).cloned().unwrap_or_default(),
        })
    }

    fn apply_to(
        &mut self,
        i: usize,
        event: Event,
        user: Option<&User>,
    ) -> Result<(), CommandError> {
        let ctx = Ctx {
            clock: &self.clock,
            user,
            enforce_access: self.enforce_access,
            bus: None,
        };
        let effects = self.engine.apply(&mut self.instances[i], event, &ctx)?;
        self.handle_effects(i, effects);
        Ok(())
    }

    /// Signals thrown by one instance reach the others; thrown messages reach a waiting one.
    fn handle_effects(&mut self, from: usize, effects: Vec<Effect>) {
        let mut follow = Vec::new();
        for e in &effects {
            match e {
                Effect::ElementEntered { element_id } if from == 0 && self.keep_effects => {
                    self.path.push(element_id.clone());
                }
                Effect::SignalThrown {
                    name, variables, ..
                } => {
                    for j in 0..self.instances.len() {
                        if j != from {
                            follow.push((
                                j,
                                Event::Signal {
                                    name: name.clone(),
                                    variables: variables.clone(),
                                },
                                true,
                            ));
                        }
                    }
                }
                Effect::MessageThrown {
                    name,
                    correlation_key,
                    variables,
                    ..
                } => {
                    for j in 0..self.instances.len() {
                        if j != from {
                            follow.push((
                                j,
                                Event::Message {
                                    name: name.clone(),
                                    correlation_key: correlation_key.clone(),
                                    variables: variables.clone(),
                                },
                                false,
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        if self.keep_effects {
            self.effects.extend(effects);
        }
        let mut delivered_message = false;
        for (j, ev, broadcast) in follow {
            if !broadcast && delivered_message {
                continue;
            }
            if self.apply_to(j, ev, None).is_ok() && !broadcast {
                delivered_message = true;
            }
        }
    }

    /// Applies one step. `Err` carries the message a scenario author sees.
    pub fn step(&mut self, step: &Step) -> Result<(), String> {
        let user = self.user(step.user.as_deref());
        match &step.action {
            Action::Complete { task, data } => {
                let target = (0..self.instances.len()).find(|&i| {
                    self.engine
                        .waiting(&self.instances[i])
                        .iter()
                        .any(|w| &w.task_id == task)
                });
                // Not waiting anywhere: the main instance words the error.
                let i = target.unwrap_or_default();
                self.apply_to(
                    i,
                    Event::CompleteTask {
                        task_id: Some(task.clone()),
                        data: data.clone(),
                    },
                    user.as_ref(),
                )
                .map_err(|e| match e {
                    CommandError::Ended(status) => {
                        format!("task '{task}' is not waiting: the instance is {status}")
                    }
                    other => other.to_string(),
                })
            }
            Action::Callback { key, data } => {
                let mut last = None;
                for i in 0..self.instances.len() {
                    match self.apply_to(
                        i,
                        Event::Callback {
                            correlation_key: key.clone(),
                            data: data.clone(),
                        },
                        user.as_ref(),
                    ) {
                        Ok(()) => return Ok(()),
                        Err(e @ CommandError::NoMatch(_)) | Err(e @ CommandError::Ended(_)) => {
                            last = Some(e)
                        }
                        Err(e) => return Err(e.to_string()),
                    }
                }
                Err(last.map(|e| e.to_string()).unwrap_or_else(|| {
                    format!("no task waits for a callback with correlation key '{key}'")
                }))
            }
            Action::Message { name, key, data } => {
                for i in 0..self.instances.len() {
                    let ev = Event::Message {
                        name: name.clone(),
                        correlation_key: key.clone(),
                        variables: data.clone(),
                    };
                    match self.apply_to(i, ev, user.as_ref()) {
                        Ok(()) => return Ok(()),
                        Err(CommandError::NoMatch(_)) | Err(CommandError::Ended(_)) => {}
                        Err(e) => return Err(e.to_string()),
                    }
                }
                Err(match key {
                    Some(k) => {
                        format!("no instance waits for message '{name}' with correlation key '{k}'")
                    }
                    None => format!("no instance waits for message '{name}'"),
                })
            }
            Action::Signal { name, data } => {
                let mut delivered = 0;
                for i in 0..self.instances.len() {
                    if self
                        .apply_to(
                            i,
                            Event::Signal {
                                name: name.clone(),
                                variables: data.clone(),
                            },
                            user.as_ref(),
                        )
                        .is_ok()
                    {
                        delivered += 1;
                    }
                }
                if delivered == 0 {
                    return Err(format!("no instance waits for signal '{name}'"));
                }
                Ok(())
            }
            Action::Advance(span) => self.advance(*span),
            Action::Cancel => self
                .apply_to(0, Event::Cancel { reason: None }, user.as_ref())
                .map_err(|e| e.to_string()),
            Action::SetVariables(vars) => self
                .apply_to(
                    0,
                    Event::SetVariables {
                        variables: vars.clone(),
                    },
                    user.as_ref(),
                )
                .map_err(|e| e.to_string()),
        }
    }

    /// Moves the clock, firing every timer that falls due on the way, earliest first.
    pub fn advance(&mut self, span: jiff::Span) -> Result<(), String> {
        let now = self.clock.now();
        let target = now
            .to_zoned(jiff::tz::TimeZone::UTC)
            .checked_add(span)
            .map(|z| z.timestamp())
            .map_err(|e| format!("cannot advance the clock by {span}: {e}"))?;
        loop {
            let next = (0..self.instances.len())
                .filter_map(|i| self.engine.next_timer(&self.instances[i]).map(|d| (d, i)))
                .filter(|(d, _)| *d <= target)
                .min();
            let Some((due, i)) = next else { break };
            self.clock.set(due);
            if let Err(e) = self.apply_to(i, Event::TimersDue, None) {
                return Err(format!("timer at {due} could not fire: {e}"));
            }
        }
        self.clock.set(target);
        Ok(())
    }

    /// Runs the steps in order. A step with `expectError` must fail with that text and the run
    /// goes on; any other failure stops the run. Returns the first failure.
    pub fn run_steps(&mut self, steps: &[Step]) -> Result<(), String> {
        for s in steps {
            let r = self.step(s);
            match (&s.expect_error, r) {
                (None, Ok(())) => {}
                (None, Err(e)) => return Err(format!("step {}: {e}", s.index)),
                (Some(want), Ok(())) => {
                    return Err(format!(
                        "step {} expected an error containing '{want}', but it succeeded",
                        s.index
                    ))
                }
                (Some(want), Err(e)) => {
                    if !e.contains(want.as_str()) {
                        return Err(format!("step {} expected an error containing '{want}', but the error was '{e}'", s.index));
                    }
                }
            }
        }
        Ok(())
    }

    /// The report `baton simulate` prints (API.md shape).
    pub fn report(&self, error: Option<&str>) -> Value {
        let inst = self.main();
        let waiting: Vec<Value> = self
            .engine
            .waiting(inst)
            .into_iter()
            .map(|w| {
                let mut m = Map::new();
                m.insert("taskId".into(), json!(w.task_id));
                m.insert("taskType".into(), json!(w.task_type));
                m.insert("elementId".into(), json!(w.element_id));
                if let Some(n) = w.name {
                    m.insert("name".into(), json!(n));
                }
                if let Some(k) = w.correlation_key {
                    m.insert("correlationKey".into(), json!(k));
                }
                if let Some(k) = w.form_key {
                    m.insert("formKey".into(), json!(k));
                }
                if let Some(d) = w.due {
                    m.insert("due".into(), json!(d.to_string()));
                }
                Value::Object(m)
            })
            .collect();
        json!({
            "state": inst.status.as_str(),
            "path": self.path,
            "variables": self.engine.variables(inst),
            "waiting": waiting,
            "incidents": self.engine.incidents(inst),
            "error": error,
        })
    }

    /// The flow nodes the first instance entered so far, in order.
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// Whether the first instance entered `element_id` at least once.
    pub fn visited(&self, element_id: &str) -> bool {
        self.path.iter().any(|p| p == element_id)
    }

    /// Checks a scenario's expectations; each failure is one sentence.
    pub fn check(&self, expect: &Expect) -> Vec<String> {
        let inst = self.main();
        let mut fails = Vec::new();
        let waiting: Vec<String> = self
            .engine
            .waiting(inst)
            .into_iter()
            .map(|w| w.task_id)
            .collect();
        if let Some(state) = &expect.state {
            if !state.eq_ignore_ascii_case(inst.status.as_str()) {
                let at = if waiting.is_empty() {
                    String::new()
                } else {
                    format!(" at {}", waiting.join(", "))
                };
                let inc = self.engine.incidents(inst);
                let why = inc
                    .first()
                    .map(|i| format!(" ({}: {})", i.element_id, i.message))
                    .unwrap_or_default();
                fails.push(format!(
                    "expected state {}, got {}{at}{why}",
                    state.to_uppercase(),
                    inst.status.as_str()
                ));
            }
        }
        if let Some(vars) = &expect.variables {
            let actual = self.engine.variables(inst);
            for (k, want) in vars {
                match actual.get(k) {
                    None => fails.push(format!(
                        "expected variable '{k}' = {want}, but it is not set"
                    )),
                    Some(got) if !json_equal(got, want) => {
                        fails.push(format!("expected variable '{k}' = {want}, got {got}"))
                    }
                    _ => {}
                }
            }
        }
        for v in &expect.visits {
            if !self.visited(v) {
                fails.push(format!(
                    "expected the instance to pass '{v}', but it never did"
                ));
            }
        }
        for v in &expect.never {
            if self.visited(v) {
                fails.push(format!(
                    "expected the instance never to pass '{v}', but it did"
                ));
            }
        }
        if let Some(want) = &expect.waiting {
            let mut a = waiting.clone();
            let mut b = want.clone();
            a.sort();
            b.sort();
            if a != b {
                fails.push(format!(
                    "expected waiting [{}], got [{}]",
                    b.join(", "),
                    a.join(", ")
                ));
            }
        }
        fails
    }
}

/// JSON equality where 10 == 10.0 and objects compare as subsets-equal.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_top_level_field_is_named() {
        let e = Scenario::from_json_text(r#"{"steps": [], "varaibles": {}}"#).unwrap_err();
        assert!(e.contains("unknown field 'varaibles'"), "{e}");
    }

    #[test]
    fn step_errors_name_step_and_field() {
        let e = Scenario::from_json_text(r#"{"steps": [{"complete": "A"}, {"compelte": "B"}]}"#)
            .unwrap_err();
        assert!(e.starts_with("step 2: unknown field 'compelte'"), "{e}");
        let e = Scenario::from_json_text(r#"{"steps": [{"advance": "soon"}]}"#).unwrap_err();
        assert!(
            e.starts_with("step 1: 'advance'") && e.contains("ISO 8601"),
            "{e}"
        );
        let e = Scenario::from_json_text(r#"{"steps": [{"complete": 5}]}"#).unwrap_err();
        assert!(e.contains("'complete' must be a task id"), "{e}");
        let e = Scenario::from_json_text(r#"{"steps": [{"user": "x"}]}"#).unwrap_err();
        assert!(e.contains("says nothing to do"), "{e}");
        let e = Scenario::from_json_text(r#"{"steps": [{"complete": "A", "cancel": true}]}"#)
            .unwrap_err();
        assert!(e.contains("two actions"), "{e}");
        let e = Scenario::from_json_text(r#"{"expect": {"stat": "COMPLETED"}}"#).unwrap_err();
        assert!(e.contains("expect: unknown field 'stat'"), "{e}");
        let e = Scenario::from_json_text("{\"steps\": [\n}").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_equal(&json!(10), &json!(10.0)));
        assert!(!json_equal(&json!(10), &json!("10")));
        assert!(json_equal(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
    }
}
