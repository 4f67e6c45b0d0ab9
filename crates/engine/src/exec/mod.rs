//! The executor: a token game over the model's arenas.
//!
//! State is a tree of *scopes* (the process instance, each embedded sub-process, each called
//! process, each multi-instance body and each of its inner instances) and a set of *tokens*, each
//! sitting at one flow node inside one scope. An activity that contains other nodes (sub-process,
//! call activity, multi-instance body) keeps its token parked (`InScope`) while its child scope
//! runs; when the child scope has no tokens left the parked token moves on. A process instance is
//! complete when its root scope has no tokens left.
//!
//! Waiting for the outside world is a *subscription* (message, signal, timer, conditional) owned
//! by a token (a catch event, an event-based gateway, a boundary event armed while its activity
//! waits) or by a scope (the start event of an event sub-process). User and receive tasks are
//! tokens parked at the task. `apply` takes one external event, runs every token it releases
//! until all are waiting again, and returns the effects as values.
//!
//! Compensation: when an activity that compensation could undo completes (it has a compensation
//! boundary event, or it is a sub-process with a compensation event sub-process or with such
//! activities inside), a `Done` record is kept in the scope it ran in, in completion order; a
//! completed sub-process carries the records of its inside with it. A compensation throw or end
//! event takes the records of its scope (all, or `activityRef`'s) and starts their handlers in a
//! `Compensation` scope owned by the thrower, the last completed first; the thrower goes on when
//! that scope empties. A record is taken once, so an activity is compensated at most once.
//!
//! Where each rule lives: `step` (start, apply, the run loop), `scopes` (tokens, scopes,
//! variables, cancellation, incidents), `activities` (tasks, leaving along sequence flows),
//! `gateways`, `events` (throw, catch, end; where errors and escalations are caught),
//! `boundaries` (subscriptions and what fires them), `subprocess` (embedded, event and called),
//! `multi` (multi-instance and standard loops), `compensation`, `callbacks` (completing tasks,
//! callbacks, access, message lookup), `tasks` (assigning and cancelling one waiting task) and
//! `view` (what the host reads). This file holds the
//! state types, so every part sees their fields, and the tables computed once per model.
//!
//! Error rule: a command that cannot be applied (wrong task, rejected submission, no such
//! subscription) is detected *before* anything changes and returned as `CommandError`; a failure
//! while running (script error, no flow selected) is not a command error but an *incident*
//! recorded on the element, and the instance becomes FAILED until retried.
//!
//! Persisted state: an `Instance` names processes, nodes and flows by arena index, so it also
//! carries the fingerprint of the model it was written for ([`Engine::fingerprint`]); `apply`
//! refuses it against any other model, and hosts call [`Engine::check_state`] on a state they
//! load before reading it through the views. It keeps no history: the walk is in the
//! `ElementEntered` effects, so its size follows what is live now, not how long it ran.

use crate::api::{CommandError, Effect, Status, User};
use crate::clock::Clock;
use crate::limits::Limits;
use crate::model::{
    Deployment, FlowId, FlowNode, GatewayKind, NodeId, NodeKind, ScriptId, TimerDef, Trigger,
};
use crate::script::ScriptHost;
use crate::timer;
use crate::validate::{validate_stored_with, validate_with, Problem, Severity};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

mod activities;
mod boundaries;
mod callbacks;
mod compensation;
mod events;
mod gateways;
mod io;
mod multi;
mod scopes;
mod slots;
mod step;
mod subprocess;
mod tasks;
mod transaction;
mod view;

type ScopeId = u32;
type TimerParser = fn(&str) -> Result<timer::Schedule, timer::TimerError>;

type TokenId = u32;

/// A deployment with its scripts compiled: immutable, shared by all of its instances.
pub struct Engine {
    pub deployment: Deployment,
    pub scripts: ScriptHost,
    /// Per inclusive join gateway: the nodes (same container) from which it can be reached.
    inclusive_reach: HashMap<NodeId, HashSet<NodeId>>,
    /// Event sub-process start events per container (`None` key part = process level).
    event_starts: HashMap<(u32, Option<NodeId>), Vec<NodeId>>,
    /// Link catch events per container and link name.
    link_targets: HashMap<(u32, Option<NodeId>, String), NodeId>,
    /// Timer schedules parsed once per constant timer text (by ScriptId of the source).
    timers: HashMap<ScriptId, timer::Schedule>,
    has_conditionals: bool,
    /// Per activity with a compensation boundary event: the handler its association names.
    comp_handlers: HashMap<NodeId, NodeId>,
    /// Per sub-process with a compensation event sub-process: (that event sub-process, its
    /// compensation start event).
    comp_esps: HashMap<NodeId, (NodeId, NodeId)>,
    /// Per compensation throw or end event with an `activityRef`: the activity it names.
    comp_refs: HashMap<NodeId, NodeId>,
    /// See [`Engine::fingerprint`].
    fingerprint: u64,
    /// The bounds its commands run under (see [`Limits`]).
    limits: Limits,
}

/// What a command runs with.
pub struct Ctx<'a> {
    pub clock: &'a dyn Clock,
    /// The user submitting (for `currentUser` and access checks).
    pub user: Option<&'a User>,
    /// Enforce ResponsibleUser / ResponsibleTeam.
    pub enforce_access: bool,
    /// The command bus `doQuery` calls; None where there is none (`doCmd` only queues).
    pub bus: Option<crate::script::Bus>,
}

/// The state of one process instance. Serialisable; refers to the model only by index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    pub status: Status,
    /// Index of the started process in the deployment.
    pub process: u32,
    scopes: Vec<Option<Scope>>,
    tokens: Vec<Option<Token>>,
    /// In id order. Removed ones may stay a while marked `gone` (see `slots.rs`); they are
    /// never written.
    #[serde(serialize_with = "slots::write_live_subs")]
    subs: Vec<Sub>,
    next_sub: u32,
    incidents: Vec<IncidentRec>,
    /// The [`Engine::fingerprint`] of the model this state was written against; 0 in states
    /// written before fingerprints existed (accepted against any model).
    #[serde(default)]
    model: u64,
    /// Free slots and counts, rebuilt after the state is read (see `slots.rs`).
    #[serde(skip)]
    slots: Option<Box<slots::Slots>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Scope {
    parent: Option<ScopeId>,
    /// The token (in the parent scope) parked while this scope runs.
    owner: Option<TokenId>,
    /// Which process's nodes run here, and the sub-process that contains them (None: process level).
    process: u32,
    container: Option<NodeId>,
    kind: ScopeKind,
    vars: Map<String, Value>,
    /// Live tokens in this scope.
    live: u32,
    /// Completed activities of this scope that can still be compensated, in completion order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    done: Vec<Done>,
}

/// A completed activity that compensation can still undo: it has a compensation handler, or it
/// is a sub-process with a compensation event sub-process or with such activities inside.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Done {
    node: NodeId,
    /// Local variables when it completed (a sub-process's own, a multi-instance inner
    /// instance's element variable and `loopCounter`): its handler sees them again.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    vars: Map<String, Value>,
    /// For a sub-process without a handler of its own: what completed inside it, compensated
    /// by its compensation event sub-process or, without one, in reverse order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    inner: Vec<Done>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum ScopeKind {
    /// The process instance itself.
    Root,
    /// An embedded or event sub-process.
    Sub,
    /// A called process: variables are isolated from the caller.
    Call,
    /// A multi-instance body for `node`.
    MiBody {
        node: NodeId,
        total: u32,
        completed: u32,
        active: u32,
        next: u32,
        items: Option<Vec<Value>>,
    },
    /// One inner instance of a multi-instance activity.
    MiInner { node: NodeId },
    /// The input and output parameters' scope of activity `node` (`io.rs`): its token stands
    /// inside, and its variables are the activity's local variables.
    Local { node: NodeId },
    /// Compensation handlers at work. Its owner is the throw event waiting for them (`resume`:
    /// it goes on when this scope empties) or a holder token that is simply removed then (a
    /// completed sub-process re-created around its inner handlers, an activity's variables
    /// restored for its handler, a throw that does not wait).
    Compensation { resume: bool },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Token {
    scope: ScopeId,
    node: NodeId,
    state: TokenState,
    /// Times a standard-loop activity has run.
    loops: u32,
    /// The sequence flow it arrived through (joins count arrivals per flow).
    via: Option<FlowId>,
    /// Who a waiting user or receive task is assigned to (see `tasks.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    assignee: Option<String>,
    /// Failed attempts at its node so far, while the node's `failedJobRetryTimeCycle` has
    /// attempts left (see `scopes.rs`, "Retries"); 0 once it moves on.
    #[serde(default, skip_serializing_if = "is_zero")]
    failures: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum TokenState {
    /// About to execute its node.
    Ready,
    /// Parked at a user task (form mode).
    UserTask,
    /// Parked at a receive task, with its evaluated correlation key.
    ReceiveTask {
        key: Option<String>,
        form: bool,
        /// `TimeoutMinutes` passed: the callback row is Expired and no callback resumes it.
        #[serde(default)]
        expired: bool,
    },
    /// Parked while a child scope runs.
    InScope(ScopeId),
    /// Parked at a catch event or event-based gateway; its subscriptions say what for.
    Catching,
    /// Arrived at a joining gateway through `flow`.
    Joined(FlowId),
    /// An incident is open on this token's node.
    Failed,
    /// An attempt at its node failed and the node's retry cycle has attempts left: a `Retry`
    /// subscription runs the node again when due.
    Retrying,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Sub {
    id: u32,
    /// The token that waits (catch event, gateway, boundary owner). None for event sub-process starts.
    token: Option<TokenId>,
    /// The scope it lives in (for event sub-process starts: the scope they can interrupt).
    scope: ScopeId,
    /// The catching node: boundary event, catch event, event-gateway target, event sub-process start.
    node: NodeId,
    kind: SubKind,
    /// Removed, not yet compacted away (see `slots.rs`).
    #[serde(skip)]
    gone: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum SubKind {
    Message {
        name: String,
        key: Option<String>,
    },
    Signal {
        name: String,
    },
    Timer {
        due: Timestamp,
        fired: u32,
    },
    Conditional {
        was_true: bool,
    },
    /// `TimeoutMinutes` on a receive task: expires its callback.
    CallbackTimeout {
        due: Timestamp,
    },
    /// The next attempt of a `Retrying` token's node.
    Retry {
        due: Timestamp,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct IncidentRec {
    token: TokenId,
    element_id: String,
    message: String,
}

/// One `apply` in progress.
struct Run<'a, 'c> {
    inst: &'a mut Instance,
    ctx: &'a Ctx<'c>,
    now: Timestamp,
    effects: Vec<Effect>,
    stack: Vec<TokenId>,
    /// Set when a signal thrown inside this instance must also reach this instance.
    pending_signals: Vec<(String, Map<String, Value>)>,
    /// The work this command did so far, against `Limits::max_steps`: flow-node executions,
    /// multi-instance inner instances and called processes started.
    work: u64,
}

/// Where a thrown error or escalation is caught.
enum Catcher {
    Boundary {
        owner: TokenId,
        boundary: NodeId,
        interrupting: bool,
    },
    EventSub {
        scope: ScopeId,
        start: NodeId,
        interrupting: bool,
    },
}

enum MessageTarget {
    Sub(usize),
    Receive(TokenId),
}

impl Engine {
    /// Compiles every script once, validates, and precomputes lookup tables.
    /// Returns the warnings on success, every problem when any is an error.
    /// Runs under [`Limits::default`]; see [`Engine::with_limits`].
    pub fn new(deployment: Deployment) -> Result<(Engine, Vec<Problem>), Vec<Problem>> {
        Self::build(deployment, false, Limits::default())
    }

    /// [`Engine::new`] under the host's own limits: they are checked against the model's
    /// constant values (a timer cycle too fast is an error) and bound every command.
    pub fn with_limits(
        deployment: Deployment,
        limits: Limits,
    ) -> Result<(Engine, Vec<Problem>), Vec<Problem>> {
        Self::build(deployment, false, limits)
    }

    /// [`Engine::reload`] under the host's own limits.
    pub fn reload_with_limits(
        deployment: Deployment,
        limits: Limits,
    ) -> Result<(Engine, Vec<Problem>), Vec<Problem>> {
        Self::build(deployment, true, limits)
    }

    /// The limits this engine's commands run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Builds the engine of a definition deployed before, whose instances must keep running:
    /// deploy checks added since then are warnings here (see [`validate_stored`]).
    pub fn reload(deployment: Deployment) -> Result<(Engine, Vec<Problem>), Vec<Problem>> {
        Self::build(deployment, true, Limits::default())
    }

    fn build(
        deployment: Deployment,
        stored: bool,
        limits: Limits,
    ) -> Result<(Engine, Vec<Problem>), Vec<Problem>> {
        let mut scripts = ScriptHost::with_limits(limits.script_operations, limits.script_time)
            .with_memory(limits.script_memory);
        let script_errors =
            scripts.compile_with_languages(&deployment.sources, &deployment.source_languages);
        let problems = if stored {
            validate_stored_with(&deployment, &script_errors, &limits)
        } else {
            validate_with(&deployment, &script_errors, &limits)
        };
        if problems.iter().any(|p| p.severity == Severity::Error) {
            return Err(problems);
        }
        let mut engine = Engine {
            deployment,
            scripts,
            inclusive_reach: HashMap::new(),
            event_starts: HashMap::new(),
            link_targets: HashMap::new(),
            timers: HashMap::new(),
            has_conditionals: false,
            comp_handlers: HashMap::new(),
            comp_esps: HashMap::new(),
            comp_refs: HashMap::new(),
            fingerprint: 0,
            limits,
        };
        engine.fingerprint = fingerprint(&engine.deployment);
        engine.precompute();
        Ok((engine, problems))
    }

    fn precompute(&mut self) {
        let d = &self.deployment;
        for (i, n) in d.nodes.iter().enumerate() {
            let id = i as NodeId;
            match &n.kind {
                NodeKind::Gateway(GatewayKind::Inclusive) if n.incoming.len() > 1 => {
                    self.inclusive_reach
                        .insert(id, gateways::reverse_reach(d, id));
                }
                NodeKind::SubProcess(sp) if sp.triggered_by_event => {
                    for &c in &sp.children {
                        if matches!(d.node(c).kind, NodeKind::StartEvent { .. }) {
                            self.event_starts
                                .entry((n.process, n.parent))
                                .or_default()
                                .push(c);
                        }
                    }
                }
                NodeKind::IntermediateCatch {
                    trigger: Trigger::Link(name),
                } => {
                    self.link_targets
                        .insert((n.process, n.parent, name.clone()), id);
                }
                _ => {}
            }
            match &n.kind {
                NodeKind::Boundary {
                    attached_to,
                    trigger: Trigger::Compensate { .. },
                    ..
                } => {
                    if let Some(h) = n.compensation_handler {
                        self.comp_handlers.entry(*attached_to).or_insert(h);
                    }
                }
                NodeKind::StartEvent {
                    trigger: Trigger::Compensate { .. },
                    ..
                } => {
                    let esp = n.parent.filter(|&e| {
                        matches!(&d.node(e).kind, NodeKind::SubProcess(sp) if sp.triggered_by_event)
                    });
                    if let Some((esp, Some(sp))) = esp.map(|e| (e, d.node(e).parent)) {
                        self.comp_esps.entry(sp).or_insert((esp, id));
                    }
                }
                NodeKind::IntermediateThrow {
                    trigger:
                        Trigger::Compensate {
                            activity: Some(a), ..
                        },
                }
                | NodeKind::EndEvent {
                    trigger:
                        Trigger::Compensate {
                            activity: Some(a), ..
                        },
                } => {
                    let found = d.processes[n.process as usize]
                        .all_nodes
                        .iter()
                        .copied()
                        .find(|&x| d.node(x).id == *a);
                    if let Some(target) = found {
                        self.comp_refs.insert(id, target);
                    }
                }
                _ => {}
            }
            let trig = match &n.kind {
                NodeKind::StartEvent { trigger, .. }
                | NodeKind::IntermediateCatch { trigger }
                | NodeKind::Boundary { trigger, .. } => Some(trigger),
                _ => None,
            };
            // A multiple event's definitions each count as the event's own.
            let each: Vec<&Trigger> = match trig {
                Some(Trigger::Multiple { each, .. }) => each.iter().collect(),
                Some(t) => vec![t],
                None => Vec::new(),
            };
            for trig in each {
                match trig {
                    Trigger::Conditional(_) => self.has_conditionals = true,
                    Trigger::Timer(def) => {
                        let parsed = match def {
                            TimerDef::Date(s) if !s.text.contains("${") => {
                                Some((s.id, timer::parse_date(&s.text)))
                            }
                            TimerDef::Duration(s) if !s.text.contains("${") => {
                                Some((s.id, timer::parse_duration(&s.text)))
                            }
                            TimerDef::Cycle(s) if !s.text.contains("${") => {
                                Some((s.id, timer::parse_cycle(&s.text)))
                            }
                            _ => None,
                        };
                        if let Some((sid, Ok(sched))) = parsed {
                            self.timers.insert(sid, sched);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn node(&self, id: NodeId) -> &FlowNode {
        self.deployment.node(id)
    }

    /// A stable hash of the model's shape as a state refers to it: the process ids, node ids
    /// and flow ids in arena order. A state names processes, nodes and flows by arena index, so
    /// it can only be read against a model whose arenas hold the same elements in the same
    /// order; the same files parse to the same fingerprint on every machine and every run.
    /// Never 0 (0 marks states written before fingerprints).
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Whether `inst` can be read against this model: its fingerprint is this model's, or 0 (a
    /// state written before fingerprints). Otherwise `CommandError::StateMismatch`, naming both.
    /// `apply` checks it itself; the views (`waiting`, `variables`, ...) do not, so a host calls
    /// this on a state it loads before reading it.
    pub fn check_state(&self, inst: &Instance) -> Result<(), CommandError> {
        if inst.model == 0 || inst.model == self.fingerprint {
            return Ok(());
        }
        Err(CommandError::StateMismatch {
            state: inst.model,
            model: self.fingerprint,
        })
    }
}

/// FNV-1a (64-bit) over the process, node and flow ids in arena order, each id preceded by a
/// tag byte and its length so that no two different lists hash the same bytes. Written here
/// rather than taken from `std` because std's hasher is seeded per process.
fn fingerprint(d: &Deployment) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    };
    let ids = d
        .processes
        .iter()
        .map(|p| (b'p', p.id.as_str()))
        .chain(d.nodes.iter().map(|n| (b'n', n.id.as_str())))
        .chain(d.flows.iter().map(|f| (b'f', f.id.as_str())));
    for (tag, id) in ids {
        feed(&[tag]);
        feed(&(id.len() as u64).to_le_bytes());
        feed(id.as_bytes());
    }
    if h == 0 {
        1
    } else {
        h
    }
}
