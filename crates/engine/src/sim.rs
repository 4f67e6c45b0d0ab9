//! Scenario files: what `baton simulate`, `baton test` and `baton bench` read.
//!
//! A scenario names a model, start variables, users with their teams, a start time for the
//! virtual clock, steps (complete a task, return a callback, correlate a message, broadcast a
//! signal, advance the clock, cancel, set variables) and expectations. The runtime runs it
//! (`baton_runtime::simulate`), each step as the command `serve` runs for it; the engine only
//! reads the file, so that the engine, the runtime and the CLI agree on one format.
//!
//! Scenario JSON is read by hand rather than with serde derive so that every error names the
//! step (1-based) and the field, which is what an analyst needs to fix a test file.

use jiff::Timestamp;
use serde_json::{Map, Value};
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
    /// user -> role (`GetUserRoleQuery`), for the users listed with `{"teams", "role"}`.
    pub roles: HashMap<String, String>,
    /// The user who starts the instance (`InitiatedBy`); None: the owner, as the CLI runs.
    pub started_by: Option<String>,
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
    "startedBy",
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

/// A user of `users`: a list of teams, or `{"teams": [...], "role": "MANAGER"}`.
fn user_entry(v: &Value, user: &str) -> Result<(Vec<String>, Option<String>), String> {
    let Value::Object(m) = v else {
        return Ok((string_list(v, &format!("users.{user}"))?, None));
    };
    let mut out = (Vec::new(), None);
    for (k, val) in m {
        match k.as_str() {
            "teams" => out.0 = string_list(val, &format!("users.{user}.teams"))?,
            "role" => {
                let role = val
                    .as_str()
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .ok_or_else(|| format!("'users.{user}.role' must be text such as MANAGER"))?;
                out.1 = Some(role.to_string());
            }
            other => {
                return Err(format!(
                    "users.{user}: {}",
                    unknown(other, &["teams", "role"])
                ))
            }
        }
    }
    Ok(out)
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
        let v: Value = serde_json::from_str(text)
            .map_err(|e| format!("not valid JSON at {}", json_error_at(&e)))?;
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
                    for (u, given) in m {
                        let (teams, role) = user_entry(given, u)?;
                        users.insert(u.clone(), teams);
                        if let Some(r) = role {
                            sc.roles.insert(u.clone(), r);
                        }
                    }
                    sc.users = Some(users);
                }
                "startedBy" => {
                    let name = val
                        .as_str()
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .ok_or("'startedBy' must be a user name such as \"mary\"")?;
                    sc.started_by = Some(name.to_string());
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

/// Where JSON stopped being JSON and why, said once: `line 3, column 7: expected value`
/// (serde_json's own text ends with the position again, which is left out).
pub fn json_error_at(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let tail = format!(" at line {} column {}", e.line(), e.column());
    let why = text.strip_suffix(&tail).unwrap_or(&text);
    format!("line {}, column {}: {why}", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_json_error_says_its_position_once() {
        let e = serde_json::from_str::<Value>("{\"steps\": [").unwrap_err();
        assert_eq!(
            json_error_at(&e),
            "line 1, column 11: EOF while parsing a list"
        );
    }

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
        for bad in [r#"{"startedBy": 3}"#, r#"{"startedBy": " "}"#] {
            let e = Scenario::from_json_text(bad).unwrap_err();
            assert!(e.contains("'startedBy' must be a user name"), "{bad}: {e}");
        }
        let sc = Scenario::from_json_text(r#"{"startedBy": "mary"}"#).unwrap();
        assert_eq!(sc.started_by.as_deref(), Some("mary"));
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_equal(&json!(10), &json!(10.0)));
        assert!(!json_equal(&json!(10), &json!("10")));
        assert!(json_equal(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
    }
}
