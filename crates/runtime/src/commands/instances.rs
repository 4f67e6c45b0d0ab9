//! Instances: start, signal, callbacks, messages, signals, cancel, retry, reads, history.

use super::*;

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
    /// A duplicate whose result differs from the one applied (not applied either; kept in
    /// the instance's history as `callbackConflict`). Present only then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub conflict: Option<bool>,
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
    /// The instance whose incidents are retried (required unless `processDefinitionId` and
    /// `elementId` name a timer start event's incident).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub instance_guid: Option<String>,
    /// With `elementId`, instead of `instanceGuid`: the timer start event whose incident is
    /// retried (administrators; the answer is the instance its attempt started).
    #[serde(default, deserialize_with = "de::opt_integer")]
    pub process_definition_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub element_id: Option<String>,
    /// Variables to set before the failed element runs again (for a timer start event: the
    /// variables the instance starts with).
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
    #[serde(default, deserialize_with = "de::page_number")]
    pub page_number: Option<i64>,
    #[serde(default, deserialize_with = "de::page_size")]
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
