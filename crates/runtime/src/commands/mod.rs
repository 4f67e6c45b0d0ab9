//! The typed input and output of the commands the UI calls, and the TypeScript the UI codes
//! against (`ui/src/generated/commands.ts`, rendered by [`typescript`]).
//!
//! Handlers read their `data` through [`input`], which turns a serde error into a field error
//! that names the field, and build their answer from the output structs. The JSON on the wire
//! is the one API.md shows: these structs only give it names and types. Variables, results and
//! forms stay free JSON (`Record<string, unknown>` / `unknown` in TypeScript).

use crate::Error;
// The change feed's own type is what the UI reads (rendered with the others).
use crate::InstanceChange;
use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ts_rs::{Config, TS};

/// Free JSON in TypeScript: variables, results and forms are `Record<string, unknown>`.
pub struct JsonObject;

impl TS for JsonObject {
    type WithoutGenerics = Self;
    type OptionInnerType = Self;
    fn name(_: &Config) -> String {
        "Record<string, unknown>".into()
    }
    fn inline(cfg: &Config) -> String {
        Self::name(cfg)
    }
}

/// Any JSON value in TypeScript: `unknown`.
pub struct JsonAny;

impl TS for JsonAny {
    type WithoutGenerics = Self;
    type OptionInnerType = Self;
    fn name(_: &Config) -> String {
        "unknown".into()
    }
    fn inline(cfg: &Config) -> String {
        Self::name(cfg)
    }
}

/// A field-level validation error, as the seed 000 envelope shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The answer of every command: `data` on success (and on some failures, e.g. a deploy's
/// `problems`), `errors` when a field was wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<T> {
    pub is_successful: bool,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub data: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub errors: Option<Vec<FieldError>>,
    /// Why it failed (failures only; docs/commands.md "Error codes").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub code: Option<crate::Code>,
}

/// The status of a process instance (`RUNNING` is transient).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[allow(clippy::upper_case_acronyms)]
pub enum InstanceStatus {
    RUNNING,
    WAITING,
    COMPLETED,
    FAILED,
    CANCELLED,
}

/// The status of a CallbackRegistry row (seed 002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub enum CallbackStatus {
    Pending,
    Completed,
    Failed,
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One thing wrong with a model, where it is (`baton lint --json` prints these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub severity: Severity,
    /// The BPMN id of the element, when the problem belongs to one.
    pub element_id: Option<String>,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl From<&baton_engine::Problem> for Problem {
    fn from(p: &baton_engine::Problem) -> Problem {
        Problem {
            severity: match p.severity {
                baton_engine::Severity::Error => Severity::Error,
                baton_engine::Severity::Warning => Severity::Warning,
            },
            element_id: p.element_id.clone(),
            line: p.line,
            column: p.column,
            message: p.message.clone(),
        }
    }
}

impl From<&baton_engine::ParseError> for Problem {
    fn from(e: &baton_engine::ParseError) -> Problem {
        Problem {
            severity: Severity::Error,
            element_id: None,
            line: e.line,
            column: e.column,
            message: e.message.clone(),
        }
    }
}

/// What an instance waits on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WaitingTask {
    pub task_id: String,
    pub element_id: String,
    /// `userTask`, `receiveTask`, `messageCatch`, `timer`, `signalCatch`, `conditionalCatch`,
    /// `eventGateway`, `callActivity`, `retry` (a task whose run failed, waiting for its next
    /// attempt at `due`).
    pub task_type: String,
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub correlation_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub form_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub signal: Option<String>,
    /// When a timer falls due (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub due: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub responsible_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub responsible_team: Option<String>,
    /// Who the task is assigned to (seed 003's assignAction), when anyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub assignee: Option<String>,
    /// The activity's local variables: its input parameters (`camunda:inputOutput`), when it
    /// has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, as = "Option<JsonObject>")]
    pub local_variables: Option<Map<String, Value>>,
}

impl From<baton_engine::Waiting> for WaitingTask {
    fn from(w: baton_engine::Waiting) -> WaitingTask {
        WaitingTask {
            task_id: w.task_id,
            element_id: w.element_id,
            task_type: w.task_type.into(),
            name: w.name,
            correlation_key: w.correlation_key,
            form_key: w.form_key,
            message: w.message,
            signal: w.signal,
            due: w.due.map(|t| t.to_string()),
            responsible_user: w.responsible_user,
            responsible_team: w.responsible_team,
            assignee: w.assignee,
            local_variables: w.local_variables,
        }
    }
}

/// The waits of an instance, as the answers show them.
pub(crate) fn waiting(list: Vec<baton_engine::Waiting>) -> Vec<WaitingTask> {
    list.into_iter().map(WaitingTask::from).collect()
}

/// An open incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    pub element_id: String,
    pub message: String,
}

pub(crate) fn incidents(list: Vec<baton_engine::Incident>) -> Vec<Incident> {
    list.into_iter()
        .map(|i| Incident {
            element_id: i.element_id,
            message: i.message,
        })
        .collect()
}

/// A page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total_count: i64,
}

mod definitions;
mod input;
mod instances;
mod tasks;
mod timers;
mod typescript;

pub use definitions::*;
pub(crate) use input::*;
pub use instances::*;
pub use tasks::*;
pub use timers::*;
pub use typescript::*;
