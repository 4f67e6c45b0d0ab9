//! The engine's public vocabulary: events in, effects out, errors as typed values.
//!
//! The executor is `apply(instance, event) -> effects`. Effects are plain values the host
//! (the in-memory `Simulation`, later the durable runtime) carries out: register a callback,
//! schedule a timer, broadcast a signal thrown by a process, ...

use serde::Serialize;
use serde_json::{Map, Value};

/// The status of a process instance (API.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Running,
    Waiting,
    Completed,
    Failed,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Waiting => "WAITING",
            Status::Completed => "COMPLETED",
            Status::Failed => "FAILED",
            Status::Cancelled => "CANCELLED",
        }
    }
    pub fn is_ended(self) -> bool {
        matches!(self, Status::Completed | Status::Cancelled)
    }
}

/// The user on whose behalf a command runs.
#[derive(Debug, Clone, Default)]
pub struct User {
    pub name: String,
    pub teams: Vec<String>,
}

/// Something that happens to an instance from outside.
#[derive(Debug, Clone)]
pub enum Event {
    /// SignalProcessInstanceCommand: submit `data` to a waiting userTask or receiveTask.
    /// With `task_id` None the single waiting form task is used.
    CompleteTask {
        task_id: Option<String>,
        data: Value,
    },
    /// `CompleteTask` that also sets `variables` (in the task's scope, before its result) in
    /// the same step: for operations whose fields are process data by definition (seed 003's
    /// `completeAction` parameters). A plain submission sets none (seed 002: its result lands
    /// in `lastUserTaskResult` / `lastReceiveTaskResult` only).
    CompleteTaskWithVariables {
        task_id: Option<String>,
        data: Value,
        variables: Map<String, Value>,
    },
    /// ReturnCallbackCommand: a webhook-mode receiveTask (or message catch) waiting on this key.
    Callback {
        correlation_key: String,
        data: Value,
    },
    /// A message by name, optionally with a correlation key; `variables` are set on delivery.
    Message {
        name: String,
        correlation_key: Option<String>,
        variables: Map<String, Value>,
    },
    /// A signal by name, delivered to every subscription of this instance.
    Signal {
        name: String,
        variables: Map<String, Value>,
    },
    /// Fire every timer due at the clock's `now`.
    TimersDue,
    /// Re-evaluate conditional events after variables changed from outside.
    SetVariables { variables: Map<String, Value> },
    /// CancelProcessInstanceCommand.
    Cancel { reason: Option<String> },
    /// RetryIncidentCommand: set `variables`, then retry every element with an open incident.
    Retry { variables: Map<String, Value> },
    /// Hold `assignee` on a waiting user task or receive task (None: drop the one it holds).
    AssignTask {
        task_id: String,
        assignee: Option<String>,
    },
    /// Cancel one waiting user task or receive task: it leaves along its cancel exception (an
    /// interrupting error boundary event with code `CANCEL`, else one catching every error).
    CancelTask { task_id: String },
}

/// What the host must carry out after an event was applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Effect {
    /// A userTask (or form-mode receiveTask) is waiting for a form submission.
    #[serde(rename_all = "camelCase")]
    TaskWaiting {
        task_id: String,
        task_type: &'static str,
        form_key: Option<String>,
    },
    /// A receiveTask arrived: register a CallbackRegistry row (status Pending).
    #[serde(rename_all = "camelCase")]
    CallbackRegistered {
        task_id: String,
        correlation_key: Option<String>,
        message: Option<String>,
        form: Option<String>,
        timeout_minutes: Option<f64>,
        webhook_url: Option<String>,
    },
    /// A CallbackRegistry row is completed with this result.
    #[serde(rename_all = "camelCase")]
    CallbackCompleted {
        task_id: String,
        correlation_key: Option<String>,
        result: Value,
    },
    /// A CallbackRegistry row is no longer waited for (task cancelled or timed out).
    #[serde(rename_all = "camelCase")]
    CallbackClosed {
        task_id: String,
        correlation_key: Option<String>,
        status: &'static str,
    },
    /// The earliest timer of this instance is now due at `due` (None: no timers left).
    #[serde(rename_all = "camelCase")]
    TimerScheduled {
        element_id: String,
        due: jiff::Timestamp,
    },
    /// A message was thrown (end event, intermediate throw, send task).
    #[serde(rename_all = "camelCase")]
    MessageThrown {
        element_id: String,
        name: String,
        correlation_key: Option<String>,
        variables: Map<String, Value>,
    },
    /// A signal was thrown: the host broadcasts it to every other instance.
    #[serde(rename_all = "camelCase")]
    SignalThrown {
        element_id: String,
        name: String,
        variables: Map<String, Value>,
    },
    /// An incident was opened on an element; the instance is FAILED until retried.
    #[serde(rename_all = "camelCase")]
    IncidentRaised { element_id: String, message: String },
    /// A token reached an element (the instance's history: what happened, in order).
    #[serde(rename_all = "camelCase")]
    ElementEntered { element_id: String },
    /// An element finished and its token moved on (an end event: when reached).
    #[serde(rename_all = "camelCase")]
    ElementCompleted { element_id: String },
    /// An attempt at a task with a `failedJobRetryTimeCycle` failed and attempts are left: the
    /// task runs again at `retry_at` (attempt `attempt` of at most `attempts` failed).
    #[serde(rename_all = "camelCase")]
    AttemptFailed {
        element_id: String,
        message: String,
        attempt: u32,
        attempts: u32,
        retry_at: jiff::Timestamp,
    },
    /// An element was left unfinished: an interrupting event, a terminate end, a cancel.
    #[serde(rename_all = "camelCase")]
    ElementCancelled { element_id: String },
    /// The instance ended (COMPLETED or CANCELLED).
    #[serde(rename_all = "camelCase")]
    Ended { status: Status },
    /// A script task or ServerScript at `element_id` called `doCmd(name, data)` and succeeded:
    /// the host runs the command after this step commits (never when the step fails), once.
    #[serde(rename_all = "camelCase")]
    CommandQueued {
        element_id: String,
        name: String,
        data: Value,
    },
    /// A waiting task now holds `assignee` (None: nobody), instead of `previous`.
    #[serde(rename_all = "camelCase")]
    TaskAssigned {
        task_id: String,
        assignee: Option<String>,
        previous: Option<String>,
    },
}

impl Effect {
    /// The effect's name as it appears in history (`callbackRegistered`, `ended`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Effect::TaskWaiting { .. } => "taskWaiting",
            Effect::CallbackRegistered { .. } => "callbackRegistered",
            Effect::CallbackCompleted { .. } => "callbackCompleted",
            Effect::CallbackClosed { .. } => "callbackClosed",
            Effect::TimerScheduled { .. } => "timerScheduled",
            Effect::MessageThrown { .. } => "messageThrown",
            Effect::SignalThrown { .. } => "signalThrown",
            Effect::IncidentRaised { .. } => "incidentRaised",
            Effect::AttemptFailed { .. } => "attemptFailed",
            Effect::ElementEntered { .. } => "elementEntered",
            Effect::ElementCompleted { .. } => "elementCompleted",
            Effect::ElementCancelled { .. } => "elementCancelled",
            Effect::Ended { .. } => "ended",
            Effect::CommandQueued { .. } => "commandQueued",
            Effect::TaskAssigned { .. } => "taskAssigned",
        }
    }
}

/// Something an instance listens for by name, wherever it sits (catch event, event-gateway
/// branch, boundary event, event sub-process start, receive task). The host indexes these so a
/// message or signal finds its instances without loading every waiting one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// `message` or `signal`.
    pub kind: &'static str,
    pub name: String,
    /// None: any key is accepted.
    pub correlation_key: Option<String>,
    pub element_id: String,
}

/// A wait state, as API.md shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Waiting {
    pub task_id: String,
    pub element_id: String,
    /// `userTask`, `receiveTask`, `messageCatch`, `timer`, `signalCatch`, `conditionalCatch`,
    /// `eventGateway`, `callActivity`, `retry` (a task waiting for its next attempt; `due` says
    /// when).
    pub task_type: &'static str,
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<jiff::Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible_team: Option<String>,
    /// Who the task is assigned to (`Event::AssignTask`), when anyone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// The activity's local variables (its input parameters), when it has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_variables: Option<serde_json::Map<String, serde_json::Value>>,
}

/// An open incident.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    pub element_id: String,
    pub message: String,
}

/// Why a command could not be applied. The instance is unchanged when this is returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    /// No process with that id, or no executable process at all.
    #[error("{0}")]
    NoProcess(String),
    /// The instance has ended (COMPLETED or CANCELLED).
    #[error("instance is {0}, not waiting")]
    Ended(&'static str),
    /// No waiting task matches (wrong task id, nothing waiting, ambiguous).
    #[error("{0}")]
    NotWaiting(String),
    /// Nothing in this instance waits for that message / signal / key.
    #[error("{0}")]
    NoMatch(String),
    /// The ServerScript threw: the submission is rejected and the task keeps waiting.
    #[error("submission rejected by {task_id}: {message}")]
    Rejected { task_id: String, message: String },
    /// ResponsibleUser / ResponsibleTeam check failed.
    #[error("{0}")]
    Forbidden(String),
    /// The start failed before any state existed (e.g. the start condition is false).
    #[error("{0}")]
    Invalid(String),
    /// The state was written against another model (its fingerprint differs from this
    /// model's): it cannot be read here. A host error, not the caller's: the definition or the
    /// state row is wrong.
    #[error(
        "the instance state was written for model {state:016x}, not for this model ({model:016x})"
    )]
    StateMismatch { state: u64, model: u64 },
}
