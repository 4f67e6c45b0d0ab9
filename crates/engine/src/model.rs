//! The parsed BPMN model.
//!
//! Design decision: every flow node of every process in a deployment lives in ONE arena
//! (`Deployment::nodes`) addressed by a `NodeId` index, and every sequence flow in a second arena.
//! Nested sub-processes are not nested structs: a node records its containing scope
//! (`parent`), and a sub-process records the nodes it contains. A call activity therefore needs no
//! cross-file lookup at run time: the called process is just another scope in the same arena.
//! Executing is index arithmetic, never a string lookup, which is what makes the engine fast.
//!
//! Scripts and expressions appear here as source text with a `ScriptId`; the compiled form lives
//! in the `ScriptHost` (see `script.rs`) so the model stays plain, serialisable data.

use serde::Serialize;
use std::collections::HashMap;

/// Index of a flow node in `Deployment::nodes`.
pub type NodeId = u32;
/// Index of a sequence flow in `Deployment::flows`.
pub type FlowId = u32;
/// Index of a compiled script or expression in the `ScriptHost`.
pub type ScriptId = u32;

/// Where an element starts in its source file (1-based line and column).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Span {
    pub line: u32,
    pub column: u32,
}

/// A script or expression as written in the model, plus where it was written.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// The text, with a surrounding `${...}` / `#{...}` already removed.
    pub text: String,
    /// Index into the script host once compiled (assigned by `Deployment::compile`).
    #[serde(skip)]
    pub id: ScriptId,
    pub span: Span,
}

/// The language a script or expression is written in, as its model marks it. The script host
/// decides from this which engine compiles it (see `script.rs`, "Which language").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Language {
    /// No marker where BPMN has one (`scriptFormat`, `language`), or `rhai`/`juel`.
    #[default]
    Rhai,
    /// `javascript`, `js`, `ecmascript` (and their `text/`/`application/` media types).
    JavaScript,
    /// Where BPMN has no marker (a ServerScript property, a job's code): rhai when the text
    /// compiles as rhai, else JavaScript; a leading `// language: javascript` (or `rhai`)
    /// comment decides instead.
    Detect,
    /// A marker naming a language Baton does not run (`groovy`), as written.
    Other(String),
}

impl Language {
    /// The language a `scriptFormat` or `language` attribute names (absent: rhai).
    pub fn from_marker(marker: Option<&str>) -> Language {
        let Some(m) = marker.map(str::trim).filter(|m| !m.is_empty()) else {
            return Language::Rhai;
        };
        let lower = m.to_ascii_lowercase();
        let name = lower
            .strip_prefix("text/")
            .or_else(|| lower.strip_prefix("application/"))
            .unwrap_or(&lower);
        match name {
            "rhai" | "juel" => Language::Rhai,
            "javascript" | "js" | "ecmascript" | "x-javascript" | "es6" => Language::JavaScript,
            _ => Language::Other(m.to_string()),
        }
    }
}

/// Every process found in the files of one deployment.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Deployment {
    pub processes: Vec<Process>,
    pub nodes: Vec<FlowNode>,
    pub flows: Vec<SequenceFlow>,
    /// `message` element id -> message name (a ref to an undeclared id keeps the id as the name).
    pub messages: HashMap<String, String>,
    /// `signal` element id -> signal name.
    pub signals: HashMap<String, String>,
    /// `error` element id -> (errorCode, name).
    pub errors: HashMap<String, (Option<String>, Option<String>)>,
    /// `escalation` element id -> (escalationCode, name).
    pub escalations: HashMap<String, (Option<String>, Option<String>)>,
    /// Every script and expression, in `ScriptId` order (filled by the parser).
    pub sources: Vec<Source>,
    /// Source file name per process index, for messages.
    #[serde(skip)]
    pub files: Vec<String>,
    /// Per `ScriptId`: where each line of the source text begins in its file. Lets a compile
    /// error at line 3 of a script point at the right line of the BPMN file, including attribute
    /// values whose newlines were written as `&#10;`. Empty when unknown.
    #[serde(skip)]
    pub source_lines: Vec<Vec<Span>>,
    /// Per `ScriptId`: the language the model marks the source with (see [`Language`]). A
    /// source past the end of this list is [`Language::Rhai`].
    #[serde(skip)]
    pub source_languages: Vec<Language>,
    /// `default` attributes that name no outgoing flow of their node: (node, the id written).
    /// Kept for validation; `default_flow` stays `None` for these nodes.
    #[serde(skip)]
    pub unresolved_defaults: Vec<(NodeId, String)>,
}

/// One `<process>`.
#[derive(Debug, Clone, Serialize)]
pub struct Process {
    pub id: String,
    pub name: Option<String>,
    pub is_executable: bool,
    /// The file it came from (as given to the parser).
    pub file: String,
    pub span: Span,
    /// Flow nodes directly inside the process (not inside sub-processes).
    pub children: Vec<NodeId>,
    /// Every node of this process at any depth, for counting and lookups.
    pub all_nodes: Vec<NodeId>,
    pub all_flows: Vec<FlowId>,
    /// Lane name -> node ids (informational).
    pub lanes: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SequenceFlow {
    pub id: String,
    pub name: Option<String>,
    pub source: NodeId,
    pub target: NodeId,
    pub condition: Option<Source>,
    pub span: Span,
}

/// A flow node: event, activity or gateway.
#[derive(Debug, Clone, Serialize)]
pub struct FlowNode {
    pub id: String,
    pub name: Option<String>,
    pub kind: NodeKind,
    /// The process this node belongs to (index into `Deployment::processes`).
    pub process: u32,
    /// The sub-process that directly contains this node; `None` at process level.
    pub parent: Option<NodeId>,
    pub incoming: Vec<FlowId>,
    pub outgoing: Vec<FlowId>,
    /// Boundary events attached to this activity.
    pub boundaries: Vec<NodeId>,
    /// `default` attribute of a gateway or activity.
    pub default_flow: Option<FlowId>,
    /// Multi-instance or standard loop characteristics of an activity.
    pub looping: Option<Looping>,
    /// Extension properties (`custom:property`, `camunda:property`, ...) by name, plus the
    /// `camunda:*` attributes that Baton understands (`camunda:formKey` becomes `FormKey`,
    /// `camunda:assignee` becomes `ResponsibleUser`, `camunda:candidateGroups` becomes
    /// `ResponsibleTeam`).
    pub properties: Vec<(String, String)>,
    /// Expressions from properties that the engine evaluates (`correlationKey`, `ServerScript`).
    pub correlation_key: Option<Source>,
    pub server_script: Option<Source>,
    /// The properties above that the executor uses, read once by the parser (see [`TaskSpec`]).
    #[serde(skip)]
    pub spec: TaskSpec,
    /// `isForCompensation="true"`: a compensation handler, reached through an association from
    /// a compensation boundary event rather than through sequence flows.
    pub for_compensation: bool,
    /// For a compensation boundary event: the node its `association` points to (the handler).
    /// `None` when no association leaves it (validation reports that).
    pub compensation_handler: Option<NodeId>,
    /// `camunda:inputOutput`: the activity's input and output parameters.
    pub io: Option<IoMapping>,
    pub span: Span,
}

/// An activity's input and output parameters (`camunda:inputOutput`). Inputs are evaluated when
/// the activity starts, against the variables it can see, and become its local variables;
/// outputs are evaluated when it completes, against those, and are set around it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IoMapping {
    pub inputs: Vec<IoParam>,
    pub outputs: Vec<IoParam>,
}

/// One `camunda:inputParameter` or `camunda:outputParameter`.
#[derive(Debug, Clone, Serialize)]
pub struct IoParam {
    pub name: String,
    pub value: IoValue,
    pub span: Span,
}

/// The value of a parameter, as written.
#[derive(Debug, Clone, Serialize)]
pub enum IoValue {
    /// An empty parameter: null.
    Null,
    /// Text without `${...}`: that string.
    Text(String),
    /// Text that is one `${...}` expression (or `#{...}`): its value, of any type.
    Expr(Source),
    /// Text mixing words and `${...}` expressions: one string, each expression's value written
    /// in its place.
    Template(Vec<TemplatePart>),
    /// `camunda:list`: each value in order.
    List(Vec<IoValue>),
    /// `camunda:map`: each entry's key (a text or an expression) and value.
    Map(Vec<(IoValue, IoValue)>),
    /// `camunda:script` written inline: the value the script ends with.
    Script(Source),
    /// `camunda:script` with a `resource`: refused at deploy (Baton reads no other files).
    Resource(String),
}

/// A piece of an [`IoValue::Template`].
#[derive(Debug, Clone, Serialize)]
pub enum TemplatePart {
    Text(String),
    Expr(Source),
}

/// The most minutes `TimeoutMinutes` may say: ten years of 365 days. Checked at deploy and by
/// `baton lint`, so a callback's due time always stays far inside the range of a timestamp.
pub const MAX_TIMEOUT_MINUTES: f64 = 5_256_000.0;

/// A node's extension properties that the executor uses, resolved once when the model is parsed
/// so that running a step never looks a property up by name.
#[derive(Debug, Clone, Default)]
pub struct TaskSpec {
    /// The form a task shows: `FormKey`, else `form` on a user task; `form`, else `FormKey`
    /// elsewhere (a receive task's own form wins over the designer's form key).
    pub form_key: Option<String>,
    /// `ResponsibleUser` as written (a comma-separated list of user names).
    pub responsible_user: Option<String>,
    /// `ResponsibleTeam` as written (a comma-separated list of team names).
    pub responsible_team: Option<String>,
    /// `message` (or a receive/send task's `messageRef`, as a message name).
    pub message: Option<String>,
    /// `WebhookUrl` of a receive task.
    pub webhook_url: Option<String>,
    /// `WebhookSecretName` of a receive task: the secret (SetSecretCommand) that signs its
    /// `WebhookUrl` notification instead of the shared `callbackWebhook`.
    pub webhook_secret_name: Option<String>,
    /// `resultVariable` (or `camunda:resultVariable`) of a script task.
    pub result_variable: Option<String>,
    /// `TimeoutMinutes` as a number, when it reads as one (validation refuses any value that is
    /// not finite, positive and at most [`MAX_TIMEOUT_MINUTES`]).
    pub timeout_minutes: Option<f64>,
    /// `TimeoutMinutes` as a duration: `None` when absent or not positive; saturated at the
    /// largest duration when too large to represent (only reachable without validation).
    pub timeout: Option<jiff::SignedDuration>,
    /// Where `TimeoutMinutes` was written (its property element), for validation messages.
    pub timeout_span: Span,
    /// `failedJobRetryTimeCycle` as read (see [`crate::retry`]): `None` when absent or
    /// unreadable (validation reports an unreadable one on a timer start event or a task).
    pub retry_cycle: Option<crate::retry::RetryCycle>,
    /// A task's `failedJobRetryTimeCycle` written as an expression (`${retryCycle}`): the
    /// cycle is what it yields, read each time the task fails (set by the parser).
    pub retry_expr: Option<Source>,
    /// Where `failedJobRetryTimeCycle` was written, for validation messages.
    pub retry_span: Span,
    /// Where `WebhookSecretName` was written, for validation messages.
    pub secret_span: Span,
}

impl TaskSpec {
    /// Reads the spec of a node from its properties (after the parser has filled them);
    /// `span_of` answers where a property was written.
    pub fn resolve(node: &FlowNode, span_of: &dyn Fn(&str) -> Span) -> TaskSpec {
        let prop = |name: &str| node.property(name).map(str::to_string);
        let form_key = if matches!(node.kind, NodeKind::Task(TaskKind::User)) {
            prop("FormKey").or_else(|| prop("form"))
        } else {
            prop("form").or_else(|| prop("FormKey"))
        };
        let timeout_minutes = node
            .property("TimeoutMinutes")
            .and_then(|s| s.trim().parse::<f64>().ok());
        let timeout = timeout_minutes.filter(|m| *m > 0.0).map(|m| {
            jiff::SignedDuration::try_from_secs_f64(m * 60.0).unwrap_or(jiff::SignedDuration::MAX)
        });
        TaskSpec {
            form_key,
            responsible_user: prop("ResponsibleUser"),
            responsible_team: prop("ResponsibleTeam"),
            message: prop("message"),
            webhook_url: prop("WebhookUrl"),
            webhook_secret_name: prop("WebhookSecretName")
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty()),
            result_variable: prop("resultVariable").or_else(|| prop("camunda:resultVariable")),
            timeout_minutes,
            timeout,
            timeout_span: span_of("TimeoutMinutes"),
            retry_cycle: node
                .property(crate::parse::RETRY_CYCLE)
                .and_then(|t| crate::retry::RetryCycle::parse(t).ok()),
            retry_expr: None,
            retry_span: span_of(crate::parse::RETRY_CYCLE),
            secret_span: span_of("WebhookSecretName"),
        }
    }
}

impl FlowNode {
    /// The value of an extension property, by exact name.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn is_activity(&self) -> bool {
        matches!(
            self.kind,
            NodeKind::Task(_) | NodeKind::SubProcess(_) | NodeKind::CallActivity { .. }
        )
    }
    /// A BPMN-ish type name for messages and JSON (`userTask`, `exclusiveGateway`, ...).
    pub fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }
}

#[derive(Debug, Clone, Serialize)]
pub enum NodeKind {
    StartEvent {
        trigger: Trigger,
        /// `isInterrupting` (only meaningful in event sub-processes).
        interrupting: bool,
    },
    EndEvent {
        trigger: Trigger,
    },
    IntermediateCatch {
        trigger: Trigger,
    },
    IntermediateThrow {
        trigger: Trigger,
    },
    Boundary {
        attached_to: NodeId,
        trigger: Trigger,
        /// `cancelActivity`: true means interrupting.
        cancel_activity: bool,
    },
    Task(TaskKind),
    SubProcess(SubProcess),
    CallActivity {
        /// `calledElement`: a process id in the same deployment.
        called_element: String,
    },
    Gateway(GatewayKind),
}

impl NodeKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeKind::StartEvent { .. } => "startEvent",
            NodeKind::EndEvent { .. } => "endEvent",
            NodeKind::IntermediateCatch { .. } => "intermediateCatchEvent",
            NodeKind::IntermediateThrow { .. } => "intermediateThrowEvent",
            NodeKind::Boundary { .. } => "boundaryEvent",
            NodeKind::Task(t) => t.type_name(),
            NodeKind::SubProcess(s) if s.triggered_by_event => "eventSubProcess",
            NodeKind::SubProcess(s) if s.transaction => "transaction",
            NodeKind::SubProcess(_) => "subProcess",
            NodeKind::CallActivity { .. } => "callActivity",
            NodeKind::Gateway(GatewayKind::Exclusive) => "exclusiveGateway",
            NodeKind::Gateway(GatewayKind::Parallel) => "parallelGateway",
            NodeKind::Gateway(GatewayKind::Inclusive) => "inclusiveGateway",
            NodeKind::Gateway(GatewayKind::EventBased) => "eventBasedGateway",
            NodeKind::Gateway(GatewayKind::Complex) => "complexGateway",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub enum TaskKind {
    Task,
    User,
    Manual,
    Service,
    Send,
    Receive,
    BusinessRule,
    /// A script task; `script` is `None` when it had no `<script>` body.
    Script {
        format: Option<String>,
        script: Option<Source>,
    },
}

impl TaskKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            TaskKind::Task => "task",
            TaskKind::User => "userTask",
            TaskKind::Manual => "manualTask",
            TaskKind::Service => "serviceTask",
            TaskKind::Send => "sendTask",
            TaskKind::Receive => "receiveTask",
            TaskKind::BusinessRule => "businessRuleTask",
            TaskKind::Script { .. } => "scriptTask",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SubProcess {
    /// `triggeredByEvent="true"`: an event sub-process.
    pub triggered_by_event: bool,
    /// `<transaction>`: a sub-process that a cancel end event inside it can cancel (see
    /// `exec/transaction.rs`).
    pub transaction: bool,
    /// Nodes directly inside (not inside nested sub-processes).
    pub children: Vec<NodeId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GatewayKind {
    Exclusive,
    Parallel,
    Inclusive,
    EventBased,
    Complex,
}

/// What an event waits for or throws.
#[derive(Debug, Clone, Serialize)]
pub enum Trigger {
    None,
    /// Message by name (resolved from `messageRef`); `None` when the ref is missing.
    Message(Option<String>),
    Timer(TimerDef),
    /// Signal by name (resolved from `signalRef`).
    Signal(Option<String>),
    /// Error by code; `None` catches every error.
    Error(Option<String>),
    /// Escalation by code; `None` catches every escalation.
    Escalation(Option<String>),
    Conditional(Option<Source>),
    /// Link by name.
    Link(String),
    Terminate,
    /// A compensation event. On a throw or end event: compensate `activity` (the id written in
    /// `activityRef`), or every completed activity of the scope when `None`; with `wait`
    /// (`waitForCompletion`, true unless written `false`) the thrower goes on only after every
    /// handler finished. On a boundary event or an event sub-process start both are unused.
    Compensate {
        activity: Option<String>,
        wait: bool,
    },
    Cancel,
    /// Several event definitions on one event (BPMN "multiple"): caught when any one of them
    /// happens (with `parallel`, BPMN's "parallel multiple": once all of them happened); thrown
    /// as each of them.
    Multiple {
        parallel: bool,
        each: Vec<Trigger>,
    },
}

impl Trigger {
    /// The event definition's kind as BPMN names it ("message", "timer", ...).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Trigger::None => "none",
            Trigger::Message(_) => "message",
            Trigger::Timer(_) => "timer",
            Trigger::Signal(_) => "signal",
            Trigger::Error(_) => "error",
            Trigger::Escalation(_) => "escalation",
            Trigger::Conditional(_) => "conditional",
            Trigger::Link(_) => "link",
            Trigger::Terminate => "terminate",
            Trigger::Compensate { .. } => "compensation",
            Trigger::Cancel => "cancel",
            Trigger::Multiple { .. } => "multiple",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub enum TimerDef {
    /// `timeDate`: an ISO 8601 date-time (or an expression yielding one).
    Date(Source),
    /// `timeDuration`: an ISO 8601 duration such as `PT30M` or `P1M`.
    Duration(Source),
    /// `timeCycle`: `R5/PT10S`, `R/2026-01-01T00:00:00Z/P1D`, or a cron expression.
    Cycle(Source),
    /// A timer event definition with no time given.
    Missing,
}

#[derive(Debug, Clone, Serialize)]
pub enum Looping {
    Standard {
        condition: Option<Source>,
        test_before: bool,
        maximum: Option<u64>,
        /// `loopMaximum` as written, so that validation can refuse one that is not a whole
        /// number (`maximum` is then `None`: no maximum).
        #[serde(skip)]
        maximum_text: Option<String>,
    },
    Multi(MultiInstance),
}

#[derive(Debug, Clone, Serialize)]
pub struct MultiInstance {
    pub sequential: bool,
    pub cardinality: Option<Source>,
    /// `camunda:collection`: an expression yielding an array (or a variable name).
    pub collection: Option<Source>,
    /// `camunda:elementVariable`.
    pub element_variable: Option<String>,
    pub completion_condition: Option<Source>,
}

impl Deployment {
    pub fn node(&self, id: NodeId) -> &FlowNode {
        &self.nodes[id as usize]
    }
    pub fn flow(&self, id: FlowId) -> &SequenceFlow {
        &self.flows[id as usize]
    }
    pub fn process_by_id(&self, id: &str) -> Option<(usize, &Process)> {
        self.processes.iter().enumerate().find(|(_, p)| p.id == id)
    }
    /// Finds a node by its BPMN id (first match across processes).
    pub fn node_by_id(&self, id: &str) -> Option<NodeId> {
        self.nodes
            .iter()
            .position(|n| n.id == id)
            .map(|i| i as NodeId)
    }
    /// The nodes directly inside a scope: a process (`None` parent) or a sub-process.
    pub fn children_of(&self, process: u32, scope: Option<NodeId>) -> &[NodeId] {
        match scope {
            None => &self.processes[process as usize].children,
            Some(n) => match &self.node(n).kind {
                NodeKind::SubProcess(sp) => &sp.children,
                _ => &[],
            },
        }
    }
}
