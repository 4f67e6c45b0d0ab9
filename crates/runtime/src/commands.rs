//! The typed input and output of the commands the UI calls, and the TypeScript the UI codes
//! against (`ui/src/generated/commands.ts`, rendered by [`typescript`]).
//!
//! Handlers read their `data` through [`input`], which turns a serde error into a field error
//! that names the field, and build their answer from the output structs. The JSON on the wire
//! is the one API.md shows: these structs only give it names and types. Variables, results and
//! forms stay free JSON (`Record<string, unknown>` / `unknown` in TypeScript).

use crate::Fail;
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

/// A change of a process instance, published after the commit of every step that wrote one
/// (the change feed's `InstanceChange`, as the UI reads it; a test checks that the two agree).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceChange {
    pub instance_guid: String,
    pub process_key: String,
    pub process_definition_id: i64,
    /// `WAITING`, `COMPLETED`, `FAILED`, `CANCELLED` or `RUNNING`.
    #[ts(as = "InstanceStatus")]
    pub status: String,
    /// RFC 3339.
    pub at: String,
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
    /// `eventGateway`, `callActivity`.
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

// ---------------------------------------------------------------------------------------------
// Process definitions

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct DeployProcessDefinitionInput {
    #[serde(deserialize_with = "de::text")]
    pub bpmn_xml: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    /// `{formKey: formJson}`: the forms the model's FormKeys name.
    #[serde(default, deserialize_with = "de::forms")]
    #[ts(as = "Option<JsonObject>")]
    pub forms: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeployProcessDefinitionOutput {
    pub process_definition_id: i64,
    pub process_key: String,
    pub version: i64,
    pub warnings: Vec<Problem>,
}

/// The `data` of a deploy or a validation that failed: every problem, with its element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ProblemsData {
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ValidateProcessDefinitionInput {
    #[serde(deserialize_with = "de::text")]
    pub bpmn_xml: String,
}

/// A process of a model and its size (flow nodes and sequence flows at every depth).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProcessSummary {
    pub id: String,
    pub flow_nodes: u32,
    pub sequence_flows: u32,
}

/// What `baton lint --json` prints and ValidateProcessDefinitionQuery answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ValidateProcessDefinitionOutput {
    pub processes: Vec<ProcessSummary>,
    pub problems: Vec<Problem>,
}

/// Lints one model text: its processes and every problem (errors and warnings). `file` names
/// the text in the parse error. A text that cannot be read as BPMN answers the parse error.
pub fn lint(
    file: &str,
    xml: &str,
) -> Result<ValidateProcessDefinitionOutput, baton_engine::ParseError> {
    let dep = baton_engine::parse(&[(file, xml)])?;
    let processes = dep
        .processes
        .iter()
        .map(|p| ProcessSummary {
            id: p.id.clone(),
            flow_nodes: p.all_nodes.len() as u32,
            sequence_flows: p.all_flows.len() as u32,
        })
        .collect();
    let problems = match baton_engine::Engine::new(dep) {
        Ok((_, warnings)) => warnings,
        Err(problems) => problems,
    };
    Ok(ValidateProcessDefinitionOutput {
        processes,
        problems: problems.iter().map(Problem::from).collect(),
    })
}

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct GetProcessDefinitionListInput {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub process_key: Option<String>,
    #[serde(default, deserialize_with = "de::page")]
    pub page_number: Option<i64>,
    #[serde(default, deserialize_with = "de::page")]
    pub page_size: Option<i64>,
}

/// A deployed definition in a list (without its XML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProcessDefinitionSummary {
    pub process_definition_id: i64,
    pub process_key: String,
    pub version: i64,
    pub name: Option<String>,
    /// `{formKey: formJson}` as deployed.
    #[ts(as = "JsonObject")]
    pub forms: Value,
    pub deployed_at: String,
}

impl From<baton_store::Definition> for ProcessDefinitionSummary {
    fn from(d: baton_store::Definition) -> Self {
        ProcessDefinitionSummary {
            process_definition_id: d.process_definition_id,
            process_key: d.process_key,
            version: d.version,
            name: d.name,
            forms: d.forms,
            deployed_at: d.deployed_at,
        }
    }
}

pub type GetProcessDefinitionListOutput = Page<ProcessDefinitionSummary>;

/// A definition by `processDefinitionId`, or the newest version of `processKey`.
#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct DefinitionRef {
    #[serde(default, deserialize_with = "de::opt_integer")]
    pub process_definition_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub process_key: Option<String>,
}

pub type GetProcessDefinitionByIdInput = DefinitionRef;

/// A deployed definition with its XML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProcessDefinition {
    pub process_definition_id: i64,
    pub process_key: String,
    pub version: i64,
    pub name: Option<String>,
    pub bpmn_xml: String,
    #[ts(as = "JsonObject")]
    pub forms: Value,
    pub deployed_at: String,
}

impl From<baton_store::Definition> for ProcessDefinition {
    fn from(d: baton_store::Definition) -> Self {
        ProcessDefinition {
            process_definition_id: d.process_definition_id,
            process_key: d.process_key,
            version: d.version,
            name: d.name,
            bpmn_xml: d.bpmn_xml.unwrap_or_default(),
            forms: d.forms,
            deployed_at: d.deployed_at,
        }
    }
}

pub type GetProcessDefinitionByIdOutput = ProcessDefinition;

// ---------------------------------------------------------------------------------------------
// Instances

/// An event subscription of one instance (seed 004's `config.subscriptions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct InstanceSubscription {
    /// An http:// or https:// address.
    pub url: String,
    /// Event names such as `workflow.state.changed`, or `["*"]`.
    pub events: Vec<String>,
    /// A Standard Webhooks secret `whsec_<base64>`; generated when absent.
    pub secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct StartConfig {
    pub subscriptions: Option<Vec<InstanceSubscription>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct StartProcessInstanceInput {
    /// The definition to start; or `processKey` for the newest version of a key.
    #[serde(default, deserialize_with = "de::opt_integer")]
    pub process_definition_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub process_key: Option<String>,
    #[serde(default, deserialize_with = "de::opt_object")]
    #[ts(as = "Option<JsonObject>")]
    pub variables: Option<Map<String, Value>>,
    /// The seed's name for `variables`.
    #[serde(default, deserialize_with = "de::opt_object")]
    #[ts(as = "Option<JsonObject>")]
    pub context: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub business_key: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub correlation_id: Option<String>,
    /// Checked by the handler (its messages name the subscription at fault).
    #[serde(default)]
    #[ts(as = "Option<StartConfig>")]
    pub config: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StartProcessInstanceOutput {
    pub instance_guid: String,
    #[ts(as = "InstanceStatus")]
    pub status: String,
    pub waiting: Vec<WaitingTask>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct SignalProcessInstanceInput {
    #[serde(deserialize_with = "de::text")]
    pub instance_guid: String,
    /// The submitted form (a JSON object).
    #[serde(default)]
    #[ts(as = "Option<JsonObject>")]
    pub callback_data: Option<Value>,
    /// The legacy name of `callbackData`.
    #[serde(default)]
    #[ts(as = "Option<JsonObject>")]
    pub signal_payload: Option<Value>,
    /// The waiting task to complete, when the instance waits on more than one.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub task_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SignalProcessInstanceOutput {
    pub instance_guid: String,
    #[ts(as = "InstanceStatus")]
    pub status: String,
    /// `userTask` or `receiveTask`.
    pub task_type: String,
    /// What landed in `lastUserTaskResult` / `lastReceiveTaskResult`.
    #[ts(as = "JsonAny")]
    pub result: Value,
    pub waiting: Vec<WaitingTask>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct ReturnCallbackInput {
    #[serde(deserialize_with = "de::text")]
    pub correlation_key: String,
    /// The callback's payload (`{}` when absent).
    #[serde(default, deserialize_with = "de::present")]
    #[ts(as = "JsonAny")]
    pub result: Option<Value>,
    /// Keep the callback this long when no receive task has registered the key yet.
    #[serde(default, deserialize_with = "de::seconds")]
    pub ttl_seconds: Option<i64>,
}

/// A callback processed (`instanceGuid`, `status`), a duplicate (`duplicate: true`) or
/// buffered (`callbackStatus: "Buffered"`, `bufferId`, `expiresAt`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReturnCallbackOutput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub instance_guid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, as = "Option<InstanceStatus>")]
    pub status: Option<String>,
    /// `Completed` or `Buffered`.
    pub callback_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub buffer_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub expires_at: Option<String>,
    pub duplicate: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct CorrelateMessageInput {
    #[serde(deserialize_with = "de::text")]
    pub message_name: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub correlation_key: Option<String>,
    #[serde(default, deserialize_with = "de::opt_object")]
    #[ts(as = "Option<JsonObject>")]
    pub variables: Option<Map<String, Value>>,
    /// A repeated `messageId` is answered as a duplicate.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub message_id: Option<String>,
    /// Keep the message this long when nothing waits for it (0: discard it).
    #[serde(default, deserialize_with = "de::seconds")]
    pub ttl_seconds: Option<i64>,
}

/// Correlated to an instance, started one (`started`), buffered or discarded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct CorrelateMessageOutput {
    pub correlated: bool,
    pub buffered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub started: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub process_definition_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub instance_guid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional, as = "Option<InstanceStatus>")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub buffer_id: Option<i64>,
    pub duplicate: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct BroadcastSignalInput {
    #[serde(deserialize_with = "de::text")]
    pub signal_name: String,
    #[serde(default, deserialize_with = "de::opt_object")]
    #[ts(as = "Option<JsonObject>")]
    pub variables: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BroadcastSignalOutput {
    /// The instances the signal resumed.
    pub instances: Vec<String>,
    /// The instances its signal start events started.
    pub started: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct CancelProcessInstanceInput {
    #[serde(deserialize_with = "de::text")]
    pub instance_guid: String,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CancelProcessInstanceOutput {
    pub instance_guid: String,
    #[ts(as = "InstanceStatus")]
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct RetryIncidentInput {
    #[serde(deserialize_with = "de::text")]
    pub instance_guid: String,
    /// Variables to set before the failed element runs again.
    #[serde(default, deserialize_with = "de::opt_object")]
    #[ts(as = "Option<JsonObject>")]
    pub variables: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RetryIncidentOutput {
    pub instance_guid: String,
    #[ts(as = "InstanceStatus")]
    pub status: String,
    /// The incidents still open.
    pub incidents: Vec<Incident>,
}

/// A query on one instance.
#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct InstanceRef {
    #[serde(deserialize_with = "de::text")]
    pub instance_guid: String,
}

pub type GetProcessInstanceByIdInput = InstanceRef;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProcessInstance {
    pub instance_guid: String,
    pub process_definition_id: i64,
    pub process_key: Option<String>,
    #[ts(as = "InstanceStatus")]
    pub status: String,
    pub business_key: Option<String>,
    pub correlation_id: Option<String>,
    #[ts(as = "JsonObject")]
    pub variables: Map<String, Value>,
    pub waiting: Vec<WaitingTask>,
    pub incidents: Vec<Incident>,
    /// Flow-node ids in the order they were entered.
    pub path: Vec<String>,
    pub started_at: String,
    pub ended_at: Option<String>,
}

pub type GetProcessInstanceByIdOutput = ProcessInstance;

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct GetProcessInstanceListInput {
    #[serde(default, deserialize_with = "de::opt_text")]
    #[ts(as = "Option<InstanceStatus>")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub process_key: Option<String>,
    #[serde(default, deserialize_with = "de::page")]
    pub page_number: Option<i64>,
    #[serde(default, deserialize_with = "de::page")]
    pub page_size: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProcessInstanceSummary {
    pub instance_guid: String,
    pub process_definition_id: i64,
    #[ts(as = "InstanceStatus")]
    pub status: String,
    pub business_key: Option<String>,
    pub correlation_id: Option<String>,
    pub started_at: String,
    pub ended_at: Option<String>,
}

impl From<&baton_store::InstanceRow> for ProcessInstanceSummary {
    fn from(r: &baton_store::InstanceRow) -> Self {
        ProcessInstanceSummary {
            instance_guid: r.instance_guid.clone(),
            process_definition_id: r.process_definition_id,
            status: r.status.clone(),
            business_key: r.business_key.clone(),
            correlation_id: r.correlation_id.clone(),
            started_at: r.started_at.clone(),
            ended_at: r.ended_at.clone(),
        }
    }
}

pub type GetProcessInstanceListOutput = Page<ProcessInstanceSummary>;

pub type GetInstanceHistoryInput = InstanceRef;

/// One event of an instance's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub at: String,
    /// `elementEntered`, `elementCompleted`, `elementCancelled`, `variablesChanged`,
    /// `callbackRegistered`, `incidentRaised`, ...
    pub kind: String,
    pub element_id: Option<String>,
    /// The event's details as JSON text.
    pub data: Option<String>,
    /// 1, 2, ... in order.
    pub seq: i64,
}

/// The history, oldest event first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GetInstanceHistoryOutput(pub Vec<HistoryEntry>);

// ---------------------------------------------------------------------------------------------
// Tasks and callbacks

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct GetTaskFormInput {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub instance_guid: Option<String>,
    /// Finds the instance by the `correlationId` it was started with.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub correlation_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub task_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TaskFormMetadata {
    pub instance_guid: String,
    pub task_name: Option<String>,
    pub responsible_user: Option<String>,
    pub responsible_team: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GetTaskFormOutput {
    /// `SUCCESS`.
    pub status: String,
    /// `userTask` or `receiveTask`.
    pub task_type: String,
    pub task_id: String,
    pub form_key: Option<String>,
    /// The form-js schema deployed for `formKey` (null when none).
    #[ts(as = "JsonAny")]
    pub form_json: Value,
    /// The instance's variables.
    #[ts(as = "JsonObject")]
    pub context: Map<String, Value>,
    pub metadata: TaskFormMetadata,
}

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct GetTaskListInput {
    /// An administrator's view of what this user may work on.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub user_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub team: Option<String>,
    #[serde(default, deserialize_with = "de::page")]
    pub page_number: Option<i64>,
    #[serde(default, deserialize_with = "de::page")]
    pub page_size: Option<i64>,
}

/// An open form task (userTask or form-mode receiveTask).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TaskItem {
    pub instance_guid: String,
    pub task_id: String,
    pub task_type: String,
    pub name: Option<String>,
    pub form_key: Option<String>,
    pub responsible_user: Option<String>,
    pub responsible_team: Option<String>,
    pub created_at: String,
}

impl From<baton_store::UserTaskRow> for TaskItem {
    fn from(r: baton_store::UserTaskRow) -> Self {
        TaskItem {
            instance_guid: r.instance_guid,
            task_id: r.task_id,
            task_type: r.task_type,
            name: r.name,
            form_key: r.form_key,
            responsible_user: r.responsible_user,
            responsible_team: r.responsible_team,
            created_at: r.created_at,
        }
    }
}

pub type GetTaskListOutput = Page<TaskItem>;

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct GetCallbackRegistryListInput {
    #[serde(default, deserialize_with = "de::opt_text")]
    #[ts(as = "Option<CallbackStatus>")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub instance_guid: Option<String>,
}

/// A CallbackRegistry row, with the field names of seed 002.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "PascalCase")]
pub struct CallbackRegistryEntry {
    pub id: i64,
    pub parent_instance_id: String,
    pub callback_task_id: String,
    pub correlation_key: Option<String>,
    pub callback_type: String,
    #[ts(as = "CallbackStatus")]
    pub status: String,
    pub parent_process_state: Option<String>,
    pub result_data: Option<String>,
    pub completed_at: Option<String>,
    pub webhook_url: Option<String>,
    pub message_ref: Option<String>,
    pub timeout_minutes: Option<f64>,
    /// Set for a form-mode receive task; absent (null) in webhook mode.
    pub form_key: Option<String>,
}

impl From<baton_store::CallbackRow> for CallbackRegistryEntry {
    fn from(r: baton_store::CallbackRow) -> Self {
        CallbackRegistryEntry {
            id: r.id,
            parent_instance_id: r.parent_instance_id,
            callback_task_id: r.callback_task_id,
            correlation_key: r.correlation_key,
            callback_type: r.callback_type,
            status: r.status,
            parent_process_state: r.parent_process_state,
            result_data: r.result_data,
            completed_at: r.completed_at,
            webhook_url: r.webhook_url,
            message_ref: r.message_ref,
            timeout_minutes: r.timeout_minutes,
            form_key: r.form_key,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GetCallbackRegistryListOutput(pub Vec<CallbackRegistryEntry>);

// ---------------------------------------------------------------------------------------------
// Timers

#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct GetCronPreviewInput {
    #[serde(deserialize_with = "de::text")]
    pub cron_expression: String,
    /// An IANA zone name (default `UTC`).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub time_zone: Option<String>,
    /// How many run times (default 5).
    #[serde(default, deserialize_with = "de::preview_count")]
    pub count: Option<i64>,
    /// Preview from this RFC 3339 time instead of now.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GetCronPreviewOutput {
    pub cron_expression: String,
    pub time_zone: String,
    /// The next run times in UTC (RFC 3339).
    pub next_run_times: Vec<String>,
    /// The same times in the job's zone, with their offset.
    pub local_times: Vec<String>,
}

/// The most run times a cron preview answers.
pub(crate) const MAX_PREVIEW: i64 = 100;

// ---------------------------------------------------------------------------------------------
// Reading `data`

/// Reads a command's `data` into its typed input. A field of the wrong type, or a required one
/// missing, becomes a field error that names the field.
pub(crate) fn input<T: DeserializeOwned>(data: &Value) -> Result<T, Fail> {
    serde_path_to_error::deserialize(data).map_err(|e| {
        let path = e.path().clone();
        let inner = e.into_inner().to_string();
        let field = path.iter().find_map(|s| match s {
            serde_path_to_error::Segment::Map { key } => Some(key.clone()),
            _ => None,
        });
        let (field, message) = if let Some(rule) = inner.strip_prefix(de::RULE) {
            let field = field.unwrap_or_else(|| "data".into());
            let message = format!("{field} {rule}");
            (field, message)
        } else if let Some(name) = inner
            .strip_prefix("missing field `")
            .and_then(|s| s.strip_suffix('`'))
        {
            let name = match &field {
                Some(parent) => format!("{parent}.{name}"),
                None => name.to_string(),
            };
            let message = format!("{name} is required");
            (field.unwrap_or_else(|| name.clone()), message)
        } else {
            match field {
                Some(field) => {
                    let message = format!("{path}: {inner}");
                    (field, message)
                }
                None => ("data".to_string(), inner),
            }
        };
        Fail::Invalid(vec![FieldError { field, message }], Value::Null)
    })
}

/// Field errors in one line (for failures that become a message).
pub(crate) fn describe(errors: &[FieldError]) -> String {
    let list: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    list.join("; ")
}

/// A typed answer as the bus carries it.
pub(crate) fn output<T: Serialize>(message: impl Into<String>, value: &T) -> crate::Answer {
    let data = serde_json::to_value(value)
        .map_err(|e| Fail::Business(format!("answer could not be written: {e}")))?;
    Ok((message.into(), data))
}

/// The field readers: each checks one kind of value and says what is wrong in words that
/// follow the field's name ([`input`] puts the name in front).
mod de {
    use super::*;

    /// Marks a message that follows the field's name.
    pub(super) const RULE: &str = "\u{1}";

    fn rule<E: serde::de::Error>(message: impl std::fmt::Display) -> E {
        E::custom(format_args!("{RULE}{message}"))
    }

    /// A required, non-blank string.
    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) if !s.trim().is_empty() => Ok(s),
            Value::String(_) | Value::Null => Err(rule("is required")),
            _ => Err(rule("must be a string")),
        }
    }

    /// An optional string (null: absent).
    pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            _ => Err(rule("must be a string")),
        }
    }

    /// An optional JSON object (null: absent).
    pub fn opt_object<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Map<String, Value>>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::Object(m) => Ok(Some(m)),
            _ => Err(rule("must be a JSON object")),
        }
    }

    /// A deploy's forms: an object of form keys to form JSON.
    pub fn forms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Map<String, Value>>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::Object(m) => Ok(Some(m)),
            _ => Err(rule("must map form keys to form JSON")),
        }
    }

    /// Any JSON value, null included (absent: None).
    pub fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        Value::deserialize(d).map(Some)
    }

    /// An optional integer that satisfies `ok`; anything else is refused with `rule_text`.
    fn opt_int_where<'de, D: Deserializer<'de>>(
        d: D,
        ok: impl Fn(i64) -> bool,
        rule_text: impl std::fmt::Display,
    ) -> Result<Option<i64>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            v => v
                .as_i64()
                .filter(|n| ok(*n))
                .map(Some)
                .ok_or_else(|| rule(rule_text)),
        }
    }

    /// An optional integer.
    pub fn opt_integer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        opt_int_where(d, |_| true, "must be an integer")
    }

    /// A page number or size: a whole number, 1 or more.
    pub fn page<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        opt_int_where(d, |n| n >= 1, "must be a whole number, 1 or more")
    }

    /// A number of seconds, 0 or more.
    pub fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        opt_int_where(
            d,
            |n| n >= 0,
            "must be a whole number of seconds, 0 or more",
        )
    }

    /// How many cron run times to preview.
    pub fn preview_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        opt_int_where(
            d,
            |n| (1..=MAX_PREVIEW).contains(&n),
            format_args!("must be a whole number from 1 to {MAX_PREVIEW}"),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// TypeScript

/// Lists every command the UI calls with its input and output types, and every type the
/// generated file declares.
macro_rules! typescript_table {
    (commands { $($name:literal => $input:ty, $output:ty;)* } types { $($ty:ty),* $(,)? }) => {
        /// The commands with typed input and output, in the order the generated file lists them.
        pub const TYPED_COMMANDS: &[&str] = &[$($name),*];

        fn command_entries(cfg: &Config) -> Vec<(&'static str, String, String)> {
            vec![$(($name, <$input as TS>::name(cfg), <$output as TS>::name(cfg))),*]
        }

        fn declarations(cfg: &Config) -> Vec<(String, Option<String>, String)> {
            vec![$((<$ty as TS>::ident(cfg), <$ty as TS>::docs(), <$ty as TS>::decl(cfg))),*]
        }
    };
}

typescript_table! {
    commands {
        "DeployProcessDefinitionCommand" => DeployProcessDefinitionInput, DeployProcessDefinitionOutput;
        "ValidateProcessDefinitionQuery" => ValidateProcessDefinitionInput, ValidateProcessDefinitionOutput;
        "GetProcessDefinitionListQuery" => GetProcessDefinitionListInput, Page<ProcessDefinitionSummary>;
        "GetProcessDefinitionByIdQuery" => DefinitionRef, ProcessDefinition;
        "StartProcessInstanceCommand" => StartProcessInstanceInput, StartProcessInstanceOutput;
        "SignalProcessInstanceCommand" => SignalProcessInstanceInput, SignalProcessInstanceOutput;
        "ReturnCallbackCommand" => ReturnCallbackInput, ReturnCallbackOutput;
        "CorrelateMessageCommand" => CorrelateMessageInput, CorrelateMessageOutput;
        "BroadcastSignalCommand" => BroadcastSignalInput, BroadcastSignalOutput;
        "CancelProcessInstanceCommand" => CancelProcessInstanceInput, CancelProcessInstanceOutput;
        "RetryIncidentCommand" => RetryIncidentInput, RetryIncidentOutput;
        "GetProcessInstanceByIdQuery" => InstanceRef, ProcessInstance;
        "GetProcessInstanceListQuery" => GetProcessInstanceListInput, Page<ProcessInstanceSummary>;
        "GetInstanceHistoryQuery" => InstanceRef, GetInstanceHistoryOutput;
        "GetTaskFormQuery" => GetTaskFormInput, GetTaskFormOutput;
        "GetTaskListQuery" => GetTaskListInput, Page<TaskItem>;
        "GetCallbackRegistryListQuery" => GetCallbackRegistryListInput, GetCallbackRegistryListOutput;
        "GetCronPreviewQuery" => GetCronPreviewInput, GetCronPreviewOutput;
    }
    types {
        Envelope<()>, FieldError, Problem, Severity, ProblemsData, InstanceChange, InstanceStatus,
        CallbackStatus, WaitingTask, Incident, Page<()>,
        DeployProcessDefinitionInput, DeployProcessDefinitionOutput,
        ValidateProcessDefinitionInput, ProcessSummary, ValidateProcessDefinitionOutput,
        GetProcessDefinitionListInput, ProcessDefinitionSummary, DefinitionRef, ProcessDefinition,
        InstanceSubscription, StartConfig, StartProcessInstanceInput, StartProcessInstanceOutput,
        SignalProcessInstanceInput, SignalProcessInstanceOutput,
        ReturnCallbackInput, ReturnCallbackOutput, CorrelateMessageInput, CorrelateMessageOutput,
        BroadcastSignalInput, BroadcastSignalOutput,
        CancelProcessInstanceInput, CancelProcessInstanceOutput,
        RetryIncidentInput, RetryIncidentOutput,
        InstanceRef, ProcessInstance, GetProcessInstanceListInput, ProcessInstanceSummary,
        HistoryEntry, GetInstanceHistoryOutput,
        GetTaskFormInput, TaskFormMetadata, GetTaskFormOutput, GetTaskListInput, TaskItem,
        GetCallbackRegistryListInput, CallbackRegistryEntry, GetCallbackRegistryListOutput,
        GetCronPreviewInput, GetCronPreviewOutput,
    }
}

/// Where the generated file lives, relative to the repository root.
pub const TYPESCRIPT_PATH: &str = "ui/src/generated/commands.ts";

/// The text of `ui/src/generated/commands.ts`: every input and output type, the envelope, the
/// problem and change types, `CommandName` and the `Commands` map from a command's name to its
/// input and output.
pub fn typescript() -> String {
    let cfg = Config::new().with_large_int("number");
    let mut out = String::new();
    out.push_str(
        "// Generated from crates/runtime/src/commands.rs by ts-rs: do not edit.\n\
         // Regenerate with: BATON_UPDATE_TYPES=1 cargo test -p baton-runtime --test ts_types\n\n",
    );
    for (_, docs, decl) in declarations(&cfg) {
        if let Some(docs) = docs {
            out.push_str(&docs);
        }
        out.push_str("export ");
        out.push_str(&pretty(decl.trim()));
        out.push_str("\n\n");
    }
    let entries = command_entries(&cfg);
    out.push_str("/** The name of every command with typed input and output. */\n");
    out.push_str("export type CommandName =\n");
    for (i, (name, _, _)) in entries.iter().enumerate() {
        let end = if i + 1 == entries.len() { ";" } else { "" };
        out.push_str(&format!("  | \"{name}\"{end}\n"));
    }
    out.push_str("\n/** Each command's `data` (input) and its answer's `data` (output). */\n");
    out.push_str("export interface Commands {\n");
    for (name, input, output) in &entries {
        out.push_str(&format!(
            "  \"{name}\": {{ input: {input}; output: {output} }};\n"
        ));
    }
    out.push_str("}\n");
    out
}

/// Puts each member of an object type on its own line: `type X = { a: A, /** doc */ b: B, };`
/// becomes one member (and its doc comment) per line.
fn pretty(decl: &str) -> String {
    let Some((head, body)) = decl.split_once(" = ") else {
        return decl.to_string();
    };
    let body = body.trim_end_matches(';').trim();
    let Some(inner) = body.strip_prefix('{').and_then(|b| b.strip_suffix('}')) else {
        return decl.to_string();
    };
    let mut members = Vec::new();
    let (mut depth, mut start, mut in_comment, mut in_string) = (0i32, 0, false, false);
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &inner[i..];
        if in_comment {
            if rest.starts_with("*/") {
                in_comment = false;
                i += 1;
            }
        } else if in_string {
            if bytes[i] == b'"' {
                in_string = false;
            }
        } else if rest.starts_with("/*") {
            in_comment = true;
        } else {
            match bytes[i] {
                b'"' => in_string = true,
                b'{' | b'<' | b'[' | b'(' => depth += 1,
                b'}' | b'>' | b']' | b')' => depth -= 1,
                b',' if depth == 0 => {
                    members.push(inner[start..i].trim());
                    start = i + 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    members.push(inner[start..].trim());
    let mut out = format!("{head} = {{\n");
    for m in members.into_iter().filter(|m| !m.is_empty()) {
        let (doc, member) = match m.find("*/") {
            Some(end) if m.starts_with("/**") => (Some(&m[..end + 2]), m[end + 2..].trim()),
            _ => (None, m),
        };
        if let Some(doc) = doc {
            for line in doc.lines() {
                let line = line.trim();
                let line = if line.starts_with('*') {
                    format!(" {line}")
                } else {
                    line.to_string()
                };
                out.push_str(&format!("  {line}\n"));
            }
        }
        out.push_str(&format!("  {member};\n"));
    }
    out.push_str("};");
    out
}
